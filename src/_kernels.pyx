# Compiler directives are set once, in setup.py (BPCORE_DEBUG=1 turns the bounds checks on).
"""Compiled kernels of bpcore: forward pass, local gradients, optimizer updates, whole epochs.

This file is a thin shell: the kernels are the pieces in src/kernels/, included in this order,
from the inside out:
1. math.pxi        one-point math (`cdef inline ... noexcept nogil`: softplus) and
                   loops over one flat block (activations, derivatives, losses);
2. layers.pxi      the loops over one layer and over the whole network (forward, backward,
                   parameter gradients), on raw pointers, GIL-free;
3. optimizers.pxi  one GIL-free update function per optimizer, and the walk over the layers;
4. epochs.pxi      whole steps and whole epochs, GIL-free: no Python per sample or batch;
5. checks.pxi      the checks of every length the loops rely on (so no call can read or write
                   out of bounds);
6. wrappers.pxi    thin `def` wrappers: check, release the GIL, call 4.
Codes and limits come from bpcore/_spec.pxd (mirroring bpcore/_spec.py); SciPy's BLAS, for
the large matrix products, from the separate module bpcore._blas (bpcore/_blas.pxd), loaded
once per process. The SIMD variants src/_kernels_avx2.pyx and src/_kernels_avx512.pyx are
shells like this one, compiled with those instruction sets (setup.py); bpcore/_backend.py
imports the best one the CPU runs.

Memory layout shared with `bpcore/_layout.py` and `bpcore/_fallback.py`:
- parameters are one flat vector; layer l holds W[l] (sizes[l+1] x sizes[l], row-major)
  followed by b[l] (sizes[l+1]);
- activations A and local gradients D of a batch of n samples are flat vectors holding one
  (n, sizes[l+1]) row-major block per layer, layer after layer;
- Z holds the output layer's pre-activations z[L], (n, sizes[-1]), for the stable losses;
- an optimizer's state holds its arrays (each as long as the parameters) one after the other,
  its settings (float64) its hyperparameters then any scalar state.
Every floating argument of one call has the same dtype (the `floating` fused type).
"""
include "kernels/module.pxi"
