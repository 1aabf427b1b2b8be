"""The kernels' own small matrix products against the BLAS the kernels load (SciPy's).

    python benchmarks/own_products.py            # the eight products of a 64-128-64-10 step
    python benchmarks/own_products.py --grid     # a grid of shapes, under a minute

Where OpenBLAS runs its Haswell kernels, a training step's small products go to a kernel of
bpcore's own (src/kernels/module.pxi, own_takes). This times, through the compiled module's
`matrix_product` (the product repeated in one call, so that no Python runs between them),
each product both ways: own kernel and BLAS's gemm, alternating, best of 5 rounds, in
microseconds per product. The default run takes the eight products of one plain SGD step of
the bench's mid mini-batch case (batch 32) in float32 and float64 as bpcore lays them out
(forward X W^T on a copy of W^T, backward D W, gradients D^T A); --grid prints BLAS's time
over the own kernel's (above 1: the own kernel is faster) for rows 2 to 256, shared
dimensions 10 to 1024 and columns 10 to 1024, with X stored as it is and transposed. Needs a
CPU with AVX2 and FMA (the own kernel's instructions).

The default run also gives each product's GFLOP/s (2 m n k operations) and what share it is of
this core's FMA peak: AVX2 fused multiply-adds with nothing else
(bpcore.bench._reference.fma_peak), timed in the same run, the most arithmetic the core does
with the own kernel's instructions.
"""
import sys
import time

import numpy as np

from bpcore import _backend
from bpcore.bench import floors

ROUNDS = 5


def fma_peak(single, iterations=2_000_000):
    """GFLOP/s of the reference module's fma_peak, best of ROUNDS."""
    reference = floors.reference_module("baseline")  # its loop is AVX2 in every variant
    if reference is None:
        sys.exit("bpcore.bench._reference is not built: build bpcore from source")
    best = float("inf")
    for _ in range(ROUNDS):
        start = time.perf_counter()
        reference.fma_peak(single, iterations)
        best = min(best, time.perf_counter() - start)
    lanes = 8 if single else 4
    return 2 * reference.FMA_PEAK_CHAINS * lanes * iterations / best / 1e9


def microseconds(kernels, X, Y, C, transposed, own, repeats):
    kernels.matrix_product(X, Y, C, 1.0, 0.0, transposed, own, 1)  # BLAS loaded, caches warm
    start = time.perf_counter()
    kernels.matrix_product(X, Y, C, 1.0, 0.0, transposed, own, repeats)
    return (time.perf_counter() - start) / repeats * 1e6


def both(kernels, m, n, k, transposed, dtype, work=2e6):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((k, m) if transposed else (m, k)).astype(dtype)
    Y = rng.standard_normal((k, n)).astype(dtype)
    C = np.zeros((m, n), dtype=dtype)
    repeats = max(1, int(work / (m * n * k)))
    best = {True: float("inf"), False: float("inf")}
    for _ in range(ROUNDS):
        for own in (True, False):
            best[own] = min(best[own], microseconds(kernels, X, Y, C, transposed, own, repeats))
    return best[True], best[False]


def rate(multiply_adds, microseconds, peak):
    gflops = 2 * multiply_adds / microseconds / 1e3
    return f"{gflops:.1f} GFLOP/s, {gflops / peak:.0%} of the peak"


def step(kernels):
    # (rows, columns, shared dimension, X transposed, what): 64-128-64-10, batch 32
    products = [(32, 128, 64, False, "forward 64 -> 128"),
                (32, 64, 128, False, "forward 128 -> 64"),
                (32, 10, 64, False, "forward 64 -> 10"),
                (32, 64, 10, False, "backward 10 -> 64"),
                (32, 128, 64, False, "backward 64 -> 128"),
                (10, 64, 32, True, "gradient W[2]"), (64, 128, 32, True, "gradient W[1]"),
                (128, 64, 32, True, "gradient W[0]")]
    for dtype in ("float32", "float64"):
        peak = fma_peak(dtype == "float32")
        print(f"{dtype}: this core's FMA peak {peak:.1f} GFLOP/s")
        totals = [0.0, 0.0]
        for m, n, k, transposed, what in products:
            own, blas = both(kernels, m, n, k, transposed, dtype)
            totals[0] += own
            totals[1] += blas
            print(f"{dtype} {what} ({m} x {k} times {k} x {n}): own {own:.2f} us "
                  f"({rate(m * n * k, own, peak)}), BLAS {blas:.2f} us "
                  f"({rate(m * n * k, blas, peak)}), BLAS / own {blas / own:.2f}", flush=True)
        work = sum(m * n * k for m, n, k, _, _ in products)
        print(f"{dtype} the eight products: own {totals[0]:.2f} us "
              f"({rate(work, totals[0], peak)}), BLAS {totals[1]:.2f} us "
              f"({rate(work, totals[1], peak)}), BLAS / own {totals[1] / totals[0]:.2f}")
    print("(BLAS / own above 1: the own kernel is faster. A step takes each product where the "
          "kernel took it\nfaster on a grid of shapes (own_takes), here all eight. The shared "
          "machine moves single\nproducts by tens of percent: run it more than once.)")


def grid(kernels):
    sides = (10, 32, 64, 128, 256, 512, 1024)
    for dtype in ("float32", "float64"):
        for transposed in (False, True):
            print(f"{dtype}, X{'^T' if transposed else ''}: BLAS / own for columns "
                  + " ".join(f"{n:>5}" for n in sides))
            for m in (2, 8, 32, 128, 256):
                for k in sides:
                    ratios = []
                    for n in sides:
                        own, blas = both(kernels, m, n, k, transposed, dtype, work=4e6)
                        ratios.append(blas / own)
                    print(f"  {m:4d} rows, {k:4d} shared: "
                          + " ".join(f"{r:5.2f}" for r in ratios), flush=True)


def main():
    kernels = _backend.compiled()
    if not kernels.own_products_run():
        sys.exit("this CPU does not run the kernels' own products (no AVX2 and FMA)")
    print(f"BLAS kernels: {kernels.blas_kernels() or 'not OpenBLAS'}; SIMD variant {kernels.SIMD}")
    grid(kernels) if "--grid" in sys.argv[1:] else step(kernels)


if __name__ == "__main__":
    main()
