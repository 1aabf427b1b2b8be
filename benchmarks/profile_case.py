"""Train one `bpcore bench` case in a loop (on the compiled kernels when built), for a profiler.

    perf record -o /tmp/bpcore.perf python benchmarks/profile_case.py mid_batch_f32
    perf report -i /tmp/bpcore.perf --no-children --sort dso,symbol

The case keys are those of `bpcore.bench.cases` (tiny_online, mid_online, mid_batch_f32,
mid_batch_f64, large_batch_f32). Prints the time per sample of the loop.
"""
import argparse
import time

from bpcore import bench


def main() -> None:
    keys = [case.key for case in bench.cases("default")]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("case", choices=keys)
    parser.add_argument("--seconds", type=float, default=6.0, help="how long to loop")
    args = parser.parse_args()
    case = next(case for case in bench.cases("default") if case.key == args.case)
    X, Y = bench._data(case)
    network = bench._network(case)

    def epoch() -> None:
        network.fit(X, Y, epochs=1, lr=case.lr, batch_size=case.batch_size)
    epoch()  # loads SciPy's BLAS outside the loop
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < args.seconds:
        epoch()
        count += 1
    elapsed = time.perf_counter() - start
    print(f"{case.title}: {elapsed / count / case.n_samples * 1e6:.3g} us per sample "
          f"({count} epochs of {case.n_samples} samples)")


if __name__ == "__main__":
    main()
