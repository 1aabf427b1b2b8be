"""Where a training case's time goes: `bpcore bench`'s row against its compiled epoch alone.

    python benchmarks/epoch_parts.py                 # tiny_online and mid_online, full scale
    python benchmarks/epoch_parts.py mid_batch_f32 --scale default

The bench times `Network.fit(X, Y, epochs=1)`: Python's checks and set-up of the call, the
shuffle of the rows (the kernels' permutation) and the compiled epoch. This times, in
alternating rounds (best of each), the case's floor (`bpcore.bench.floors`: the plain C loop for
tiny_online, the memory bound for mid_online, the products alone in their fastest layouts for
the mini-batch cases), the compiled epoch alone over the rows in order and in one fixed shuffled
order (the kernel call `fit` makes, through bpcore.network._FitRun), and `fit` itself, in ns per
sample, each with floor / its time (the efficiency the bench would give it). Every call starts
from the network's starting weights, as the bench's do (how fast the online step runs depends on
how many ReLU units fire). Needs bpcore built from source with the compiled kernels in use (the
reference module of the floors).
"""
import argparse
import time

import numpy as np

from bpcore import _backend, bench
from bpcore.bench import floors
from bpcore.network import _FitRun
from bpcore.optim import SGD

ROUNDS = 15
CASES = ("tiny_online", "mid_online", "mid_batch_f32", "mid_batch_f64")


def parts(case):
    """name -> a call training (or timing) one epoch of the case."""
    X, Y = bench._data(case)
    network = bench._network(case)
    run = _FitRun(network, X, Y, None, case.batch_size, SGD(lr=case.lr))
    in_order = np.arange(len(X), dtype=np.intp)
    shuffled = np.random.default_rng(0).permutation(len(X)).astype(np.intp)
    if case.key == "tiny_online":
        floor = floors.online_epoch(case, X, Y, bench._network)
    elif case.key == "mid_online":
        floor = floors.bound_passes(case)
    else:
        floor, _ = floors.minibatch_epoch(case, 2.0, bench._seconds)
    start = network.get_state()["parameters"]

    def from_start(call):
        def timed():
            network._params[...] = start
            call()
        return timed
    return len(X), {
        "floor": floor,
        "compiled epoch, rows in order": from_start(lambda: run.train_rows(in_order)),
        "compiled epoch, rows shuffled": from_start(lambda: run.train_rows(shuffled)),
        "fit(epochs=1), as the bench": from_start(
            lambda: network.fit(X, Y, epochs=1, lr=case.lr, batch_size=case.batch_size)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="*", help=f"{', '.join(CASES)} (default: the first two)")
    parser.add_argument("--scale", choices=["default", "full"], default="full")
    args = parser.parse_args()
    if _backend.kernels is not _backend.compiled():
        parser.error("the compiled kernels are not in use (BPCORE_BACKEND=python?)")
    for key in args.cases:
        if key not in CASES:
            parser.error(f"a case must be one of {', '.join(CASES)}, got {key!r}")
    for key in args.cases or CASES[:2]:
        case = next(case for case in bench.cases(args.scale) if case.key == key)
        n, calls = parts(case)
        best = dict.fromkeys(calls, float("inf"))
        for _ in range(ROUNDS):
            for name, call in calls.items():
                start = time.perf_counter()
                call()
                best[name] = min(best[name], time.perf_counter() - start)
        print(f"{case.title}, {n} samples:")
        for name, seconds in best.items():
            print(f"  {name:32s} {seconds / n * 1e9:9.1f} ns per sample"
                  f"  (floor / this {best['floor'] / seconds:.2f})")


if __name__ == "__main__":
    main()
