"""Does splitting a mini-batch's forward product into blocks of rows make it faster?

    python benchmarks/forward_split.py
    OPENBLAS_CORETYPE=Haswell python benchmarks/forward_split.py   # the kernels AVX2-only CPUs get

bpcore's forward product of a layer is Z = A W^T with W stored (n_out, n_in), which BLAS sees
as a product with a transposed operand. OpenBLAS's SkylakeX kernels (the ones it picks on
AVX-512 CPUs) run such a product on a fast small-matrix kernel only while the output block is
small, and on their packed path beyond that. This times the two forward products of the
64-128-64-10 mini-batch case (batch 32) whole and split into 2, 4 and 8 blocks of rows, in
bpcore's layout ("NT"), and whole in the untransposed layout ("NN"), through the BLAS the
kernels use (bpcore.bench._reference's gemm_sequence), in microseconds per product. Needs
bpcore built from source (the reference module).

    python benchmarks/forward_split.py --grid       # float32, about 2 minutes

times instead, over a grid of batch sizes and layer widths (the shapes that split at all),
the whole product against the batch split into blocks of at most 1200 / n_out rows (the fast
kernel's output size), and prints the range of the ratio whole / split (above 1: the split is
faster).
"""
import itertools
import sys

from bpcore.bench import _seconds
from bpcore.bench.floors import Product, _required, _sequence

REPEATS = 2000
GRID_REPEATS = 300


def microseconds(products, layout, dtype, repeats=REPEATS, budget=1.0):
    run = _sequence(_required(), [(p, layout) for p in products], dtype, repeats)
    return _seconds(run, budget) / repeats * 1e6


def main():
    for dtype in ("float32", "float64"):
        for m, n, k in ((32, 128, 64), (32, 64, 128)):  # batch x n_out, n_in
            split = {parts: microseconds([Product(m // parts, n, k, "forward", 0)] * parts,
                                         "NT", dtype) for parts in (1, 2, 4, 8)}
            whole_nn = microseconds([Product(m, n, k, "forward", 0)], "NN", dtype)
            print(f"{dtype} batch {m}, {k} -> {n}: " + ", ".join(
                f"{parts} block{'s' if parts > 1 else ''} {value:.2f}"
                for parts, value in split.items()) + f"; untransposed {whole_nn:.2f}")


def grid():
    ratios = []
    for m, k, n in itertools.product((32, 64, 200), (32, 64, 128, 256),
                                     (16, 32, 64, 100, 128, 256)):
        rows = max(1, 1200 // n)
        if rows >= m:
            continue
        blocks = [min(rows, m - start) for start in range(0, m, rows)]
        whole = microseconds([Product(m, n, k, "forward", 0)], "NT", "float32", GRID_REPEATS,
                             0.25)
        split = microseconds([Product(b, n, k, "forward", 0) for b in blocks], "NT", "float32",
                             GRID_REPEATS, 0.25)
        ratios.append(whole / split)
        print(f"batch {m}, {k} -> {n}: whole {whole:.2f}, split into {len(blocks)} {split:.2f}, "
              f"whole / split {whole / split:.2f}", flush=True)
    print(f"whole / split over {len(ratios)} shapes: {min(ratios):.2f} to {max(ratios):.2f}")


if __name__ == "__main__":
    grid() if "--grid" in sys.argv[1:] else main()
