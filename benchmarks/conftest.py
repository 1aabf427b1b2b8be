"""pytest-benchmark suite: `pytest benchmarks/ --benchmark-only` (run from the repository root).

Each workload is timed for the compiled kernels, the fallback, plain NumPy and (when installed)
PyTorch, grouped per workload so pytest-benchmark prints them side by side.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))  # for `numpy_baseline`
