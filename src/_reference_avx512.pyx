# Compiler directives are set once, in setup.py.
"""bpcore.bench._reference_avx512: the plain reference loops of `bpcore bench`'s floors,
built for AVX-512, AVX2 and FMA with the kernels' flags (see src/reference/module.pxi).
Not used by the library.
"""
include "reference/module.pxi"
