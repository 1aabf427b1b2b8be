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
"""
from bpcore.bench import _seconds
from bpcore.bench.floors import Product, _required, _sequence

REPEATS = 2000


def microseconds(products, layout, dtype):
    run = _sequence(_required(), [(p, layout) for p in products], dtype, REPEATS)
    return _seconds(run, 1.0) / REPEATS * 1e6


def main():
    for dtype in ("float32", "float64"):
        for m, n, k in ((32, 128, 64), (32, 64, 128)):  # batch x n_out, n_in
            split = {parts: microseconds([Product(m // parts, n, k, "forward", 0)] * parts,
                                         "NT", dtype) for parts in (1, 2, 4, 8)}
            whole_nn = microseconds([Product(m, n, k, "forward", 0)], "NN", dtype)
            print(f"{dtype} batch {m}, {k} -> {n}: " + ", ".join(
                f"{parts} block{'s' if parts > 1 else ''} {value:.2f}"
                for parts, value in split.items()) + f"; untransposed {whole_nn:.2f}")


if __name__ == "__main__":
    main()
