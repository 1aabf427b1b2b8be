"""The plain NumPy network the benchmarks compare against.

It lives in the package as `bpcore.bench.numpy_baseline` (so `bpcore bench` works from an
installed wheel, where this folder is absent); this module re-exports it for the
pytest-benchmark suite.
"""
from bpcore.bench.numpy_baseline import NumpyNetwork

__all__ = ["NumpyNetwork"]
