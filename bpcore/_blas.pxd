# SciPy's BLAS for the compiled kernels, loaded once per process in bpcore._blas: every kernel
# module (and any SIMD variant of it) cimports these instead of holding BLAS state of its own.
from cython cimport floating

# Load SciPy's BLAS (once) if some layer of a call on n samples is big enough to use it.
cdef int load(const Py_ssize_t* sizes, Py_ssize_t n_layers, Py_ssize_t n) except -1

# Whether SciPy's BLAS has been loaded.
cdef bint is_loaded() noexcept nogil

# Whether the loaded BLAS runs small products A B^T (row-major) on a slow path, so that a
# forward product pays for a copy of W^T (OpenBLAS's AVX-512 kernels; see transposed_slow).
cdef bint takes_transposed_slow() noexcept nogil

# Whether the kernels take small matrix products themselves (where they are faster than the
# loaded BLAS's kernels; see own_products).
cdef bint takes_own_products() noexcept nogil

# A layer's matrix product goes to BLAS when it has at least this many multiply-adds
# (n samples * n_in * n_out); below it the plain loops win (no call and packing overhead).
# Measured crossover on a 2-core x86-64: see benchmarks/ and bpcore/bench/. A compile-time
# constant, so that the kernels test it inline before calling use_blas.
cdef enum:
    BLAS_MIN_WORK = 1024

# Whether a layer's product of n samples goes to BLAS (loaded, and past the crossover).
cdef bint use_blas(Py_ssize_t n, Py_ssize_t n_in, Py_ssize_t n_out) noexcept nogil

# C = alpha op(A) op(B) + beta C on C-order blocks, in BLAS's column-major terms.
cdef void gemm(char transa, char transb, Py_ssize_t m, Py_ssize_t n, Py_ssize_t k,
               double alpha, const floating* a, Py_ssize_t lda, const floating* b,
               Py_ssize_t ldb, double beta, floating* c, Py_ssize_t ldc) noexcept nogil
