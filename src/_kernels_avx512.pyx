# Compiler directives are set once, in setup.py (BPCORE_DEBUG=1 turns the bounds checks on).
"""bpcore's compiled kernels built for AVX-512 (F, BW, CD, DQ, VL), AVX2 and FMA: the same source as src/_kernels.pyx
(see its docstring), compiled with those instructions by setup.py. bpcore/_backend.py imports
this module only on a CPU that runs them.
"""
include "kernels/module.pxi"
