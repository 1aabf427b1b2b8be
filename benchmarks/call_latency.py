"""The latency of `Network.step` and `Network.predict` on one sample and on small batches:
the one-call paths (`step_direct`, which steps as `step_one` or `step_rows`, and
`forward_one`, `forward_rows`) against the general path, which converts and checks the arrays in NumPy first.

    python benchmarks/call_latency.py
    python benchmarks/call_latency.py --sizes 64 128 64 10 --rows 1 32

The general path is timed on the same arrays, with kernels whose one-call functions decline
(return None, as they do for arrays they cannot take as they are). Each figure is the best of
7 runs of a loop of calls, in microseconds per call.
"""
import argparse
import time

import numpy as np

import bpcore
from bpcore import _backend


class Declining:
    """The kernels in use, except that the one-call functions leave every call to the
    general path."""

    def __init__(self, kernels):
        # the module's attributes copied in (no lookup through a method on every call)
        self.__dict__.update((name, getattr(kernels, name)) for name in dir(kernels)
                             if not name.startswith("__"))
        for name in ("step_direct", "forward_one", "forward_rows"):
            setattr(self, name, lambda *arguments: None)


def best_us(call, repeats):
    for _ in range(max(1, repeats // 10)):
        call()
    best = float("inf")
    for _ in range(7):
        start = time.perf_counter()
        for _ in range(repeats):
            call()
        best = min(best, (time.perf_counter() - start) / repeats)
    return best * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[4, 4, 4, 1])
    parser.add_argument("--rows", type=int, nargs="+", default=[1, 4, 32],
                        help="batch sizes (1: one 1-D sample)")
    parser.add_argument("--repeats", type=int, default=5000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"bpcore {bpcore.__version__} on the {bpcore.backend} kernels, {args.sizes}, "
          f"float64, SGD lr=0.01; us per call, one call / general path")
    for n in args.rows:
        network = bpcore.Network(args.sizes, seed=0)
        X = rng.random((n, args.sizes[0]))
        Y = rng.random((n, args.sizes[-1]))
        if n == 1:
            X, Y = X[0], Y[0]
        times = {}
        for path, kernels in (("one call", _backend.kernels),
                              ("general", Declining(_backend.kernels))):
            with _backend.use_backend(kernels):
                times["predict", path] = best_us(lambda: network.predict(X), args.repeats)
                times["step", path] = best_us(lambda: network.step(X, Y, lr=0.01),
                                              args.repeats)
        for what in ("predict", "step"):
            one, general = times[what, "one call"], times[what, "general"]
            print(f"  {what:7s} {n:4d} row{'s' if n > 1 else ' '}  {one:7.2f} / {general:7.2f}"
                  f"  ({general / one:.1f}x)")


if __name__ == "__main__":
    main()
