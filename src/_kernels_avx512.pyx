# Compiler directives are set once, in setup.py (BPCORE_DEBUG=1 turns the bounds checks on).
"""bpcore's compiled kernels built for AVX-512 (F, BW, CD, DQ, VL), AVX2 and FMA: the same
source as src/_kernels.pyx (see its docstring), compiled with those instructions by setup.py.
Private: bpcore/_backend.py imports this module only on a CPU that runs them (importing it
elsewhere may crash the process with an illegal instruction).
"""
include "kernels/module.pxi"
