# Compiler directives are set once, in setup.py.
"""bpcore.bench._reference: the plain reference loops of `bpcore bench`'s floors,
built for the x86-64 baseline with the kernels' flags (see src/reference/module.pxi).
Not used by the library.
"""
include "reference/module.pxi"
