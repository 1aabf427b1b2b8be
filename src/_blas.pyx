"""SciPy's BLAS for the compiled kernels: loaded once per process, shared by every kernel module.

The matrix products of a layer go to `scipy.linalg.cython_blas` (GIL-free) once the layer has
BLAS_MIN_WORK multiply-adds; smaller layers keep the kernels' plain loops, which win below the
crossover. SciPy is loaded on the first call that needs it (importing scipy.linalg takes about
half a second, which small networks and `import bpcore` should not pay); without SciPy every
product stays on the plain loops. `bpcore/_blas.pxd` declares what kernel modules cimport.
"""
from libc.limits cimport INT_MAX
from cpython.pycapsule cimport PyCapsule_GetName, PyCapsule_GetPointer

# BLAS routines, taken from SciPy's cython_blas capsules by load(); NULL until then
ctypedef void (*dgemm_t)(char*, char*, int*, int*, int*, double*, double*, int*, double*,
                         int*, double*, double*, int*) noexcept nogil
ctypedef void (*sgemm_t)(char*, char*, int*, int*, int*, float*, float*, int*, float*, int*,
                         float*, float*, int*) noexcept nogil
ctypedef void (*dgemv_t)(char*, int*, int*, double*, double*, int*, double*, int*, double*,
                         double*, int*) noexcept nogil
ctypedef void (*sgemv_t)(char*, int*, int*, float*, float*, int*, float*, int*, float*,
                         float*, int*) noexcept nogil
cdef dgemm_t dgemm = NULL
cdef sgemm_t sgemm = NULL
cdef dgemv_t dgemv = NULL
cdef sgemv_t sgemv = NULL
cdef bint tried = False
# whether the loaded BLAS runs a small product with a transposed second operand on a slow path
# (SLOW_CORES): 1 or 0, decided by load or told by transposed_slow; -1 until either
cdef int slow = -1
# whether the kernels take small products themselves (own_products): 1 or 0, decided by load
# or told by own_products; -1 until either
cdef int own = -1

# OpenBLAS's AVX-512 kernels: SkylakeX (measured on an EPYC Zen 4 and a Zen 5: a small
# product A B^T, row-major, up to 2.7 times as slow as the same product with B^T stored; see
# src/kernels/layers.pxi), and Cooperlake and SapphireRapids, which OpenBLAS builds on
# SkylakeX's kernels (not measured: no such CPU here).
# Its Haswell kernels, which it runs on AVX2 CPUs (and wherever OPENBLAS_CORETYPE=Haswell),
# take both layouts at one speed (an EPYC Zen 5, benchmarks/forward_split.py).
SLOW_CORES = ("skylakex", "cooperlake", "sapphirerapids")

# OpenBLAS's Haswell kernels (AVX2 CPUs; "Zen" is its name for them on AMD's): on an EPYC Zen
# 3 the kernels' own products (src/kernels/module.pxi) ran the small ones, where they take
# them (own_takes), 1.1 to 2.4 times as fast as these kernels (most of a 64-128-64-10 step's).
OWN_CORES = ("haswell", "zen")


cdef inline bint worth(Py_ssize_t n, Py_ssize_t n_in, Py_ssize_t n_out) noexcept nogil:
    # BLAS takes int sizes: blocks past INT_MAX entries stay on the plain loops
    return (n * n_in * n_out >= BLAS_MIN_WORK and n * n_in <= INT_MAX and
            n * n_out <= INT_MAX and n_in * n_out <= INT_MAX)


cdef bint use_blas(Py_ssize_t n, Py_ssize_t n_in, Py_ssize_t n_out) noexcept nogil:
    return dgemm != NULL and worth(n, n_in, n_out)


cdef void *routine(dict capsules, str name) except NULL:
    capsule = capsules[name]
    return PyCapsule_GetPointer(capsule, PyCapsule_GetName(capsule))


cdef int load(const Py_ssize_t* sizes, Py_ssize_t n_layers, Py_ssize_t n) except -1:
    global dgemm, sgemm, dgemv, sgemv, tried, slow, own
    cdef Py_ssize_t l
    if tried:
        return 0
    for l in range(n_layers):
        if worth(n, sizes[l], sizes[l + 1]):
            break
    else:
        return 0
    tried = True
    try:
        from scipy.linalg import cython_blas
    except ImportError:  # no SciPy: the plain loops do every product
        return 0
    capsules = cython_blas.__pyx_capi__
    try:
        core = core_name(cython_blas.__file__).lower()
    except Exception:  # whatever the library does, the kernels still get their BLAS
        core = ""
    if slow < 0:
        slow = core in SLOW_CORES
    if own < 0:
        own = core in OWN_CORES
    sgemm = <sgemm_t>routine(capsules, "sgemm")
    dgemv = <dgemv_t>routine(capsules, "dgemv")
    sgemv = <sgemv_t>routine(capsules, "sgemv")
    dgemm = <dgemm_t>routine(capsules, "dgemm")  # last: use_blas checks this one
    return 0


cdef bint is_loaded() noexcept nogil:
    return dgemm != NULL


def core_name(path):
    """OpenBLAS's name for the kernels it runs ("Haswell", "SkylakeX", ...), asked of the
    library at `path` or one it links (SciPy's cython_blas links its OpenBLAS); "" for
    another BLAS (MKL, BLIS, reference) or a library that cannot be opened."""
    import ctypes
    try:
        library = ctypes.CDLL(path)
    except OSError:
        return ""
    # SciPy's wheels' OpenBLAS prefixes its names with scipy_; a 64-bit-integer build may
    # suffix them with 64_ (as threadpoolctl also tries)
    for name in ("scipy_openblas_get_corename", "openblas_get_corename",
                 "scipy_openblas_get_corename64_", "openblas_get_corename64_"):
        function = getattr(library, name, None)
        if function is not None:
            function.restype = ctypes.c_char_p
            return (function() or b"").decode("ascii", "replace")
    return ""


def transposed_slow(flag=None):
    """Whether the kernels take the loaded BLAS's products A B^T (row-major) for slow, so
    that a forward product runs on a copy of W^T where that pays (src/kernels/layers.pxi):
    decided at load from the BLAS's kernels (SLOW_CORES). flag True or False overrides it
    for the rest of the process (the tests take both paths on any machine); returns the
    value before the call (False while the BLAS is not loaded and nothing overrode it: an
    override then stands in for load's own decision, so restore one only after BLAS has
    loaded)."""
    global slow
    before = slow == 1
    slow = overridden(slow, flag)
    return before


cdef int overridden(int decision, flag) except -2:
    # a decision of load's (1, 0, or -1 before it) as an override flag leaves it: True or
    # False replace it, None keeps it
    if flag is None:
        return decision
    if not isinstance(flag, bool):
        raise TypeError(f"flag must be True, False or None, got {flag!r}")
    return flag


cdef bint takes_transposed_slow() noexcept nogil:
    return slow == 1


def own_products(flag=None):
    """Whether the kernels take small matrix products themselves instead of calling the
    loaded BLAS (where they run them faster: src/kernels/module.pxi): decided at load from the
    BLAS's kernels (OWN_CORES). flag True or False overrides it for the rest of the process
    (the tests take both paths on any machine); returns the value before the call, as
    transposed_slow does."""
    global own
    before = own == 1
    own = overridden(own, flag)
    return before


cdef bint takes_own_products() noexcept nogil:
    return own == 1


cdef void gemm(char transa, char transb, Py_ssize_t m, Py_ssize_t n, Py_ssize_t k,
               double alpha, const floating* a, Py_ssize_t lda, const floating* b,
               Py_ssize_t ldb, double beta, floating* c, Py_ssize_t ldc) noexcept nogil:
    # a C-order (rows, cols) block is, to BLAS, its (cols, rows) transpose with leading
    # dimension cols
    cdef int m_ = <int>m, n_ = <int>n, k_ = <int>k
    cdef int lda_ = <int>lda, ldb_ = <int>ldb, ldc_ = <int>ldc
    cdef double alpha_d = alpha, beta_d = beta
    cdef float alpha_s = <float>alpha, beta_s = <float>beta
    cdef int one = 1, rows_a = m_ if transa == c'N' else k_, cols_a = k_ if transa == c'N' else m_
    if n_ == 1 and transb == c'N':
        # one sample: C = alpha op(A) b + beta C is a matrix-vector product (no packing)
        if floating is double:
            dgemv(&transa, &rows_a, &cols_a, &alpha_d, <double*>a, &lda_, <double*>b, &one,
                  &beta_d, c, &one)
        else:
            sgemv(&transa, &rows_a, &cols_a, &alpha_s, <float*>a, &lda_, <float*>b, &one,
                  &beta_s, c, &one)
        return
    if floating is double:
        dgemm(&transa, &transb, &m_, &n_, &k_, &alpha_d, <double*>a, &lda_, <double*>b, &ldb_,
              &beta_d, c, &ldc_)
    else:
        sgemm(&transa, &transb, &m_, &n_, &k_, &alpha_s, <float*>a, &lda_, <float*>b, &ldb_,
              &beta_s, c, &ldc_)
