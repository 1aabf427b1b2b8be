"""How long one exp and one sigmoid take when each waits for the last: the kernels' own exp
against the C library's.

    python benchmarks/exp_latency.py

A tiny network's online step (4-4-4-1 sigmoid) is a chain: each layer's sigmoids wait for its
dot products, and the next layer for those sigmoids. So there what counts is an exp's latency,
not its throughput in a long vectorised loop (where the kernels' own is the faster). This
builds a small C program around the kernels' C helpers as they are in
src/kernels/module.pxi (the block of C in its first `cdef extern from *`) with the flags of
the kernel module in use (its BUILD_FLAGS), and times chains of dependent calls: x = -e^x / 2,
and the sigmoid as the kernels compute it, with `bpcore_exp_nonpositive` and with libm's exp.
Needs gcc and a source checkout.
"""
import os
import re
import subprocess
import sys
import tempfile

from bpcore import _backend

SOURCE = os.path.join(os.path.dirname(__file__), os.pardir, "src", "kernels", "module.pxi")

DRIVER = r"""
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
typedef ssize_t Py_ssize_t;
#include "helpers.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}
static double own_sigmoid(double z) {
    double e = bpcore_exp_nonpositive(-fabs(z));
    return (z >= 0 ? 1.0 : e) / (1.0 + e);
}
static double libm_sigmoid(double z) {
    double e = exp(-fabs(z));
    return (z >= 0 ? 1.0 : e) / (1.0 + e);
}
#define CHAIN(label, step) do { \
    double best = 1e30, x = 0; \
    for (int round = 0; round < 5; round++) { \
        double start = now(); \
        x = seed; \
        for (long i = 0; i < N; i++) x = step; \
        best = fmin(best, now() - start); \
    } \
    printf("%-22s %6.2f ns  (%.6f)\n", label, best / N * 1e9, x); \
} while (0)

int main(void) {
    volatile double seed = -0.3;  /* not a constant the compiler could fold */
    const long N = 10000000;
    CHAIN("kernels' exp", -0.5 * bpcore_exp_nonpositive(x));
    CHAIN("libm's exp", -0.5 * exp(x));
    CHAIN("kernels' sigmoid", -own_sigmoid(x));
    CHAIN("libm's sigmoid", -libm_sigmoid(x));
    return 0;
}
"""


def helpers():
    """The C of module.pxi's first verbatim block."""
    with open(SOURCE, encoding="utf-8") as file:
        text = file.read()
    found = re.search(r'cdef extern from \*:\n    """\n(.*?)\n    """', text, re.S)
    if found is None:
        sys.exit(f"no block of C found in {SOURCE}")
    return found.group(1)


def main():
    flags = _backend.kernels.BUILD_FLAGS.split()
    if "-O0" in flags:
        sys.exit("the kernels in use are a debug build (-O0): time an optimised one")
    with tempfile.TemporaryDirectory() as folder:
        with open(os.path.join(folder, "helpers.h"), "w", encoding="utf-8") as file:
            file.write(helpers())
        with open(os.path.join(folder, "chain.c"), "w", encoding="utf-8") as file:
            file.write(DRIVER)
        program = os.path.join(folder, "chain")
        subprocess.run(["gcc", *flags, "-o", program, os.path.join(folder, "chain.c"), "-lm"],
                       check=True)
        print(f"{_backend.kernels.SIMD} flags: {' '.join(flags)}")
        print("one call waiting for the last, best of 5 chains of 10^7:")
        sys.stdout.flush()
        subprocess.run([program], check=True)


if __name__ == "__main__":
    main()
