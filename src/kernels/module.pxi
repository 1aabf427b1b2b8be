# The whole kernel module, included by each shell (src/_kernels*.pyx): one per instruction set,
# the same source compiled with other flags (setup.py), chosen at import by bpcore/_backend.py.
from libc.math cimport exp, log, log1p, tanh, fabs, pow, sqrt
from libc.stdlib cimport free, malloc
from cpython.mem cimport PyMem_RawFree, PyMem_RawMalloc
from libc.stdint cimport uint64_t
from libc.string cimport memcpy
from cython cimport floating

cimport numpy as cnp
import numpy as np

from bpcore._spec cimport *
from bpcore._blas cimport BLAS_MIN_WORK, gemm, is_loaded as blas_is_loaded, load as load_blas
from bpcore._blas cimport takes_transposed_slow, use_blas as blas_takes

cnp.import_array()

cdef extern from *:
    """
    #ifndef BPCORE_BUILD_FLAGS
    #define BPCORE_BUILD_FLAGS "not recorded"
    #endif
    #ifndef BPCORE_SIMD
    #define BPCORE_SIMD "baseline"
    #endif
    /* Whether this CPU (and its operating system, which must save the wide registers) runs
       the instructions of a variant: 0 baseline, 1 avx2 (AVX2 and FMA), 2 avx512 (and
       AVX-512 F, BW, CD, DQ and VL). GCC and Clang's builtins read CPUID and XGETBV. */
    static int bpcore_cpu_runs(int level) {
    #if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
        int avx2;
        __builtin_cpu_init();
        avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
        if (level == 1) return avx2;
        if (level == 2) return avx2 && __builtin_cpu_supports("avx512f")
            && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512cd")
            && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
    #endif
        return level == 0;
    }
    /* Ask the cache for the `bytes` (at least 1) bytes from p on, every 64-byte line they
       touch, without waiting for them: for data the next step will read (a no-op without GCC
       or Clang). */
    static inline void bpcore_prefetch(const void* p, Py_ssize_t bytes) {
    #if defined(__GNUC__)
        uintptr_t line = (uintptr_t)p & ~(uintptr_t)63, last = (uintptr_t)p + (uintptr_t)(bytes - 1);
        for (; line <= last; line += 64) __builtin_prefetch((const void*)line);
    #endif
    }
    /* target (cols x rows) = source (rows x cols)^T, both row-major, in blocks of 16 x 16
       (each block's source and target lines stay in cache while it is copied: 128 x 64
       double 1.4 us against 4.0 unblocked, float 0.83 against 1.35, EPYC Zen 4): SSE2
       (every x86-64 CPU) moves 4 x 4 float and 2 x 2 double tiles, plain loops the edges
       and any other CPU; a copy of every entry either way. */
    #if defined(__SSE2__)
    #include <emmintrin.h>
    #endif
    #define BPCORE_TRANSPOSE_BLOCK 16
    static void bpcore_transpose_f(const float* source, float* target, Py_ssize_t rows,
                                   Py_ssize_t cols) {
        Py_ssize_t top, left, bottom, right, i, j;
        for (top = 0; top < rows; top += BPCORE_TRANSPOSE_BLOCK) {
            bottom = rows - top < BPCORE_TRANSPOSE_BLOCK ? rows : top + BPCORE_TRANSPOSE_BLOCK;
            for (left = 0; left < cols; left += BPCORE_TRANSPOSE_BLOCK) {
                right = cols - left < BPCORE_TRANSPOSE_BLOCK ? cols : left + BPCORE_TRANSPOSE_BLOCK;
                i = top;
    #if defined(__SSE2__)
                for (; i + 4 <= bottom; i += 4) {
                    for (j = left; j + 4 <= right; j += 4) {
                        __m128 r0 = _mm_loadu_ps(source + i * cols + j);
                        __m128 r1 = _mm_loadu_ps(source + (i + 1) * cols + j);
                        __m128 r2 = _mm_loadu_ps(source + (i + 2) * cols + j);
                        __m128 r3 = _mm_loadu_ps(source + (i + 3) * cols + j);
                        _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
                        _mm_storeu_ps(target + j * rows + i, r0);
                        _mm_storeu_ps(target + (j + 1) * rows + i, r1);
                        _mm_storeu_ps(target + (j + 2) * rows + i, r2);
                        _mm_storeu_ps(target + (j + 3) * rows + i, r3);
                    }
                    for (; j < right; j++) {
                        target[j * rows + i] = source[i * cols + j];
                        target[j * rows + i + 1] = source[(i + 1) * cols + j];
                        target[j * rows + i + 2] = source[(i + 2) * cols + j];
                        target[j * rows + i + 3] = source[(i + 3) * cols + j];
                    }
                }
    #endif
                for (; i < bottom; i++)
                    for (j = left; j < right; j++)
                        target[j * rows + i] = source[i * cols + j];
            }
        }
    }
    static void bpcore_transpose_d(const double* source, double* target, Py_ssize_t rows,
                                   Py_ssize_t cols) {
        Py_ssize_t top, left, bottom, right, i, j;
        for (top = 0; top < rows; top += BPCORE_TRANSPOSE_BLOCK) {
            bottom = rows - top < BPCORE_TRANSPOSE_BLOCK ? rows : top + BPCORE_TRANSPOSE_BLOCK;
            for (left = 0; left < cols; left += BPCORE_TRANSPOSE_BLOCK) {
                right = cols - left < BPCORE_TRANSPOSE_BLOCK ? cols : left + BPCORE_TRANSPOSE_BLOCK;
                i = top;
    #if defined(__SSE2__)
                for (; i + 2 <= bottom; i += 2) {
                    for (j = left; j + 2 <= right; j += 2) {
                        __m128d r0 = _mm_loadu_pd(source + i * cols + j);
                        __m128d r1 = _mm_loadu_pd(source + (i + 1) * cols + j);
                        _mm_storeu_pd(target + j * rows + i, _mm_unpacklo_pd(r0, r1));
                        _mm_storeu_pd(target + (j + 1) * rows + i, _mm_unpackhi_pd(r0, r1));
                    }
                    for (; j < right; j++) {
                        target[j * rows + i] = source[i * cols + j];
                        target[j * rows + i + 1] = source[(i + 1) * cols + j];
                    }
                }
    #endif
                for (; i < bottom; i++)
                    for (j = left; j < right; j++)
                        target[j * rows + i] = source[i * cols + j];
            }
        }
    }
    /* The high 64 bits of the 128-bit product a * b: one instruction where the compiler has
       128-bit integers (GCC, Clang), else from 32-bit halves, as bpcore/_fallback.py's
       permutation does in NumPy. */
    static inline uint64_t bpcore_high_product(uint64_t a, uint64_t b) {
    #if defined(__SIZEOF_INT128__)
        return (uint64_t)(((unsigned __int128)a * b) >> 64);
    #else
        uint64_t al = a & 0xFFFFFFFFu, ah = a >> 32, bl = b & 0xFFFFFFFFu, bh = b >> 32;
        uint64_t low = al * bl, cross1 = al * bh, cross2 = ah * bl;
        uint64_t middle = (low >> 32) + (cross1 & 0xFFFFFFFFu) + (cross2 & 0xFFFFFFFFu);
        return ah * bh + (cross1 >> 32) + (cross2 >> 32) + (middle >> 32);
    #endif
    }
    /* order = a permutation of 0 .. n-1: Fisher-Yates from the top, the k-th swap (k = 1, 2,
       ...) taking for position i = n - k the row floor(r_k * (i + 1) / 2^64), where r_k is
       SplitMix64's k-th output from `seed` (Steele, Lea and Flood 2014). */
    static void bpcore_permutation(Py_ssize_t* order, Py_ssize_t n, uint64_t seed) {
        Py_ssize_t i, j, kept;
        uint64_t z;
        for (i = 0; i < n; i++) order[i] = i;
        for (i = n - 1; i > 0; i--) {
            seed += 0x9E3779B97F4A7C15u;
            z = seed;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
            z ^= z >> 31;
            j = (Py_ssize_t)bpcore_high_product(z, (uint64_t)i + 1);
            kept = order[i];
            order[i] = order[j];
            order[j] = kept;
        }
    }
    """
    const char* BPCORE_BUILD_FLAGS
    const char* BPCORE_SIMD
    int bpcore_cpu_runs(int level) nogil
    void bpcore_prefetch(const void* p, Py_ssize_t bytes) noexcept nogil
    void bpcore_transpose_f(const float* source, float* target, Py_ssize_t rows,
                            Py_ssize_t cols) noexcept nogil
    void bpcore_transpose_d(const double* source, double* target, Py_ssize_t rows,
                            Py_ssize_t cols) noexcept nogil
    void bpcore_permutation(Py_ssize_t* order, Py_ssize_t n, uint64_t seed) noexcept nogil

# the compiler flags setup.py used for this module, for `bpcore info`
BUILD_FLAGS = BPCORE_BUILD_FLAGS.decode()
# the instruction set this module was compiled for: "baseline", "avx2" or "avx512"
SIMD = BPCORE_SIMD.decode()


cdef inline bint use_blas(Py_ssize_t n, Py_ssize_t n_in, Py_ssize_t n_out) noexcept nogil:
    # bpcore._blas's test, with its size test made here first, inline: the layers of a small
    # network (4-4-4-1) then skip a call into another module per layer and sample
    return n * n_in * n_out >= BLAS_MIN_WORK and blas_takes(n, n_in, n_out)


def cpu_runs():
    """The SIMD variants this CPU can run, best last: ["baseline", "avx2", "avx512"] or a prefix
    of it (read from the CPU at each call; a variant never runs where this says no)."""
    return [name for level, name in enumerate(("baseline", "avx2", "avx512"))
            if bpcore_cpu_runs(level)]

include "math.pxi"
include "layers.pxi"
include "optimizers.pxi"
include "epochs.pxi"
include "checks.pxi"
include "wrappers.pxi"
