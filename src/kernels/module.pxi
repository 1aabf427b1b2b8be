# The whole kernel module, included by each shell (src/_kernels*.pyx): one per instruction set,
# the same source compiled with other flags (setup.py), chosen at import by bpcore/_backend.py.
from libc.math cimport exp, log, log1p, fabs, pow, sqrt
from libc.stdlib cimport free, malloc
from cpython.mem cimport PyMem_RawFree, PyMem_RawMalloc
from libc.stdint cimport uint64_t
from libc.string cimport memcpy, memmove
from cython cimport floating

cimport numpy as cnp
import numpy as np

from bpcore._spec cimport *
from bpcore._blas cimport BLAS_MIN_WORK, gemm, is_loaded as blas_is_loaded, load as load_blas
from bpcore._blas cimport takes_own_products, takes_transposed_slow, use_blas as blas_takes

cnp.import_array()

cdef extern from *:
    """
    #include <float.h>
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
    /* target (cols x rows) = source (rows x cols)^T, both row-major, in blocks of 32 x 32
       (each block's source and target lines stay in cache while it is copied), each block
       in tiles: 8 x 8 float and 4 x 4 double with AVX (the avx2 and avx512 variants), else
       4 x 4 float and 2 x 2 double with SSE2 (every x86-64 CPU); plain loops the edges and
       any other CPU; a copy of every entry either way. 128 x 64 on an EPYC Zen 5: float
       0.60 us and double 1.07 with AVX, 0.78 and 1.75 with SSE2; the 16 x 16 blocks of SSE2
       tiles this replaced took 0.99 and 2.13 (unblocked, on a Zen 4: 1.35 and 4.0). */
    #if defined(__AVX__)
    #include <immintrin.h>
    #define BPCORE_TILE_F 8
    #define BPCORE_TILE_D 4
    #elif defined(__SSE2__)
    #include <emmintrin.h>
    #define BPCORE_TILE_F 4
    #define BPCORE_TILE_D 2
    #endif
    #define BPCORE_TRANSPOSE_BLOCK 32
    #if defined(__AVX__)
    static inline void bpcore_tile_f(const float* s, float* t, Py_ssize_t rows, Py_ssize_t cols) {
        /* t[k * rows + m] = s[m * cols + k] for m, k < 8: rows interleaved in pairs, then
           pairs of pairs, then the 128-bit halves swapped between the two groups of four */
        __m256 r0 = _mm256_loadu_ps(s), r1 = _mm256_loadu_ps(s + cols);
        __m256 r2 = _mm256_loadu_ps(s + 2 * cols), r3 = _mm256_loadu_ps(s + 3 * cols);
        __m256 r4 = _mm256_loadu_ps(s + 4 * cols), r5 = _mm256_loadu_ps(s + 5 * cols);
        __m256 r6 = _mm256_loadu_ps(s + 6 * cols), r7 = _mm256_loadu_ps(s + 7 * cols);
        __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
        __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
        __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
        __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
        __m256 q0 = _mm256_shuffle_ps(t0, t2, 0x44), q1 = _mm256_shuffle_ps(t0, t2, 0xEE);
        __m256 q2 = _mm256_shuffle_ps(t1, t3, 0x44), q3 = _mm256_shuffle_ps(t1, t3, 0xEE);
        __m256 q4 = _mm256_shuffle_ps(t4, t6, 0x44), q5 = _mm256_shuffle_ps(t4, t6, 0xEE);
        __m256 q6 = _mm256_shuffle_ps(t5, t7, 0x44), q7 = _mm256_shuffle_ps(t5, t7, 0xEE);
        _mm256_storeu_ps(t, _mm256_permute2f128_ps(q0, q4, 0x20));
        _mm256_storeu_ps(t + rows, _mm256_permute2f128_ps(q1, q5, 0x20));
        _mm256_storeu_ps(t + 2 * rows, _mm256_permute2f128_ps(q2, q6, 0x20));
        _mm256_storeu_ps(t + 3 * rows, _mm256_permute2f128_ps(q3, q7, 0x20));
        _mm256_storeu_ps(t + 4 * rows, _mm256_permute2f128_ps(q0, q4, 0x31));
        _mm256_storeu_ps(t + 5 * rows, _mm256_permute2f128_ps(q1, q5, 0x31));
        _mm256_storeu_ps(t + 6 * rows, _mm256_permute2f128_ps(q2, q6, 0x31));
        _mm256_storeu_ps(t + 7 * rows, _mm256_permute2f128_ps(q3, q7, 0x31));
    }
    static inline void bpcore_tile_d(const double* s, double* t, Py_ssize_t rows, Py_ssize_t cols) {
        __m256d r0 = _mm256_loadu_pd(s), r1 = _mm256_loadu_pd(s + cols);
        __m256d r2 = _mm256_loadu_pd(s + 2 * cols), r3 = _mm256_loadu_pd(s + 3 * cols);
        __m256d t0 = _mm256_unpacklo_pd(r0, r1), t1 = _mm256_unpackhi_pd(r0, r1);
        __m256d t2 = _mm256_unpacklo_pd(r2, r3), t3 = _mm256_unpackhi_pd(r2, r3);
        _mm256_storeu_pd(t, _mm256_permute2f128_pd(t0, t2, 0x20));
        _mm256_storeu_pd(t + rows, _mm256_permute2f128_pd(t1, t3, 0x20));
        _mm256_storeu_pd(t + 2 * rows, _mm256_permute2f128_pd(t0, t2, 0x31));
        _mm256_storeu_pd(t + 3 * rows, _mm256_permute2f128_pd(t1, t3, 0x31));
    }
    #elif defined(__SSE2__)
    static inline void bpcore_tile_f(const float* s, float* t, Py_ssize_t rows, Py_ssize_t cols) {
        __m128 r0 = _mm_loadu_ps(s), r1 = _mm_loadu_ps(s + cols);
        __m128 r2 = _mm_loadu_ps(s + 2 * cols), r3 = _mm_loadu_ps(s + 3 * cols);
        _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
        _mm_storeu_ps(t, r0);
        _mm_storeu_ps(t + rows, r1);
        _mm_storeu_ps(t + 2 * rows, r2);
        _mm_storeu_ps(t + 3 * rows, r3);
    }
    static inline void bpcore_tile_d(const double* s, double* t, Py_ssize_t rows, Py_ssize_t cols) {
        __m128d r0 = _mm_loadu_pd(s), r1 = _mm_loadu_pd(s + cols);
        _mm_storeu_pd(t, _mm_unpacklo_pd(r0, r1));
        _mm_storeu_pd(t + rows, _mm_unpackhi_pd(r0, r1));
    }
    #endif
    /* one function per type: the same loops around each type's tile */
    #if defined(BPCORE_TILE_F)
    #define BPCORE_TILES(TILE, SIZE)                                                         \
                for (; i + SIZE <= bottom; i += SIZE) {                                      \
                    for (j = left; j + SIZE <= right; j += SIZE)                             \
                        TILE(source + i * cols + j, target + j * rows + i, rows, cols);      \
                    for (; j < right; j++)                                                   \
                        for (k = 0; k < SIZE; k++)                                           \
                            target[j * rows + i + k] = source[(i + k) * cols + j];           \
                }
    #else
    #define BPCORE_TILES(TILE, SIZE)
    #endif
    #define BPCORE_TRANSPOSE(NAME, TYPE, TILE, SIZE)                                         \
    static void NAME(const TYPE* source, TYPE* target, Py_ssize_t rows, Py_ssize_t cols) {   \
        Py_ssize_t top, left, bottom, right, i, j, k;                                        \
        for (top = 0; top < rows; top += BPCORE_TRANSPOSE_BLOCK) {                           \
            bottom = rows - top < BPCORE_TRANSPOSE_BLOCK ? rows : top + BPCORE_TRANSPOSE_BLOCK; \
            for (left = 0; left < cols; left += BPCORE_TRANSPOSE_BLOCK) {                    \
                right = cols - left < BPCORE_TRANSPOSE_BLOCK ? cols : left + BPCORE_TRANSPOSE_BLOCK; \
                i = top;                                                                     \
                BPCORE_TILES(TILE, SIZE)                                                     \
                for (; i < bottom; i++)                                                      \
                    for (j = left; j < right; j++)                                           \
                        target[j * rows + i] = source[i * cols + j];                         \
            }                                                                                \
        }                                                                                    \
        (void)k;                                                                             \
    }
    BPCORE_TRANSPOSE(bpcore_transpose_f, float, bpcore_tile_f, BPCORE_TILE_F)
    BPCORE_TRANSPOSE(bpcore_transpose_d, double, bpcore_tile_d, BPCORE_TILE_D)
    /* The kernels' own small matrix products (own_takes, below, says where they take them):
       C (m x n) = alpha X Y + beta C, all row-major, X (m x k) with leading dimension ldx,
       or stored transposed (k x m) where xt, Y (k x n); C is not read where beta is 0. Each
       entry of C is one sum over k in order, each term added by an FMA (fma(x, y, sum) from
       0), then scaled: the same bits whatever the variant, since every variant runs this
       same AVX2 and FMA code (only where the CPU has them: own_takes), and whatever the
       tile an entry falls in. Tiles of 6 rows by 2 vectors (16 float or 8 double columns)
       keep 12 sums in registers and read each row of Y once per 6 rows of C, with no copy
       of either operand; the last columns, fewer than a tile's, go in one tile whose second
       vector (or, for a vector's worth or less, its only one) loads and stores under a mask.
       (Tiles of 4 rows took the eight products of a 64-128-64-10 step of 32 rows 6% longer
       in float and 10% in double; unrolling the loop over k, or taking the tiles column
       block by column block, gained nothing.) Against OpenBLAS's Haswell kernels on an EPYC
       Zen 3 (benchmarks/own_products.py --grid), float32: 3 to 10 times as fast for 2 rows,
       1.7 to 2.3 for 32 rows of 32 to 128 columns and terms, slower past 256 columns or 2^20
       multiply-adds (no packing for the cache); float64 1.1 to 1.9 for 32 rows of 32 to 128
       columns and terms. Fewer columns than a tile (own_takes has the figures): before the
       tile of a vector and a masked one, 9 to 15 columns went in two masked tiles, each of
       6 sums, whose FMAs waited on each other (slower than OpenBLAS in float; 32 rows of
       64 terms by 10 columns: 1.86 us, then 1.32). */
    #if defined(__GNUC__) && (defined(__x86_64__) || defined(_M_X64))
    #include <immintrin.h>
    #define BPCORE_OWN_PRODUCTS 1
    #define BPCORE_AVX2_FMA __attribute__((target("avx2,fma")))
    /* v as computed, rounded: the compiler may not fuse the multiplication that made it into
       the addition that uses it (which -ffp-contract=off forbids only where it is given: not
       in the baseline's flags nor in BPCORE_NATIVE builds) */
    #define BPCORE_ROUNDED(v) __asm__("" : "+x"(v))
    #define BPCORE_OWN_TILE(NAME, T, V, LANES, SET1, LOAD, MLOAD, MSTORE, STORE, FMA, MUL, ADD,  \
                            ZERO)                                                           \
    static inline __attribute__((always_inline)) BPCORE_AVX2_FMA void NAME(                  \
            const int rows, const int xt, const int masked, Py_ssize_t k, T alpha,          \
            const T* x, Py_ssize_t ldx, const T* y, Py_ssize_t ldy, T beta, T* c,           \
            Py_ssize_t ldc, int width) {                                                    \
        /* rows (<= 6) of C by 2 LANES columns (masked 0), by width (<= LANES) columns      \
           under a mask (masked 1), or by LANES + width (masked 2: the second vector under  \
           the mask); rows, xt and masked are constants where it is inlined, so that its    \
           loop over k has no branch and keeps every sum in a register */                   \
        V sums[6][2], y0, y1 = ZERO(), a;                                                   \
        __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(width * (8 / LANES)),           \
                                          _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));       \
        Py_ssize_t p;                                                                       \
        int r;                                                                              \
        for (r = 0; r < rows; r++) sums[r][0] = sums[r][1] = ZERO();                        \
        for (p = 0; p < k; p++) {                                                           \
            if (masked == 1) y0 = MLOAD(y + p * ldy, mask);                                 \
            else {                                                                          \
                y0 = LOAD(y + p * ldy);                                                     \
                y1 = masked ? MLOAD(y + p * ldy + LANES, mask) : LOAD(y + p * ldy + LANES); \
            }                                                                               \
            for (r = 0; r < rows; r++) {                                                    \
                a = SET1(xt ? x[p * ldx + r] : x[r * ldx + p]);                             \
                sums[r][0] = FMA(a, y0, sums[r][0]);                                        \
                if (masked != 1) sums[r][1] = FMA(a, y1, sums[r][1]);                       \
            }                                                                               \
        }                                                                                   \
        for (r = 0; r < rows; r++) {                                                        \
            T* row = c + r * ldc;                                                           \
            V old0, old1;                                                                   \
            if (alpha != 1) {                                                               \
                sums[r][0] = MUL(SET1(alpha), sums[r][0]);                                  \
                sums[r][1] = MUL(SET1(alpha), sums[r][1]);                                  \
                BPCORE_ROUNDED(sums[r][0]);                                                 \
                BPCORE_ROUNDED(sums[r][1]);                                                 \
            }                                                                               \
            if (masked == 1) {                                                              \
                if (beta != 0) {                                                            \
                    old0 = MUL(SET1(beta), MLOAD(row, mask));                               \
                    BPCORE_ROUNDED(old0);                                                   \
                    sums[r][0] = ADD(sums[r][0], old0);                                     \
                }                                                                           \
                MSTORE(row, mask, sums[r][0]);                                              \
            } else {                                                                        \
                if (beta != 0) {                                                            \
                    old0 = MUL(SET1(beta), LOAD(row));                                      \
                    old1 = MUL(SET1(beta), masked ? MLOAD(row + LANES, mask)                \
                                                  : LOAD(row + LANES));                     \
                    BPCORE_ROUNDED(old0);                                                   \
                    BPCORE_ROUNDED(old1);                                                   \
                    sums[r][0] = ADD(sums[r][0], old0);                                     \
                    sums[r][1] = ADD(sums[r][1], old1);                                     \
                }                                                                           \
                STORE(row, sums[r][0]);                                                     \
                if (masked) MSTORE(row + LANES, mask, sums[r][1]);                          \
                else STORE(row + LANES, sums[r][1]);                                        \
            }                                                                               \
        }                                                                                   \
    }
    BPCORE_OWN_TILE(bpcore_own_tile_f, float, __m256, 8, _mm256_set1_ps, _mm256_loadu_ps,
                    _mm256_maskload_ps, _mm256_maskstore_ps, _mm256_storeu_ps, _mm256_fmadd_ps,
                    _mm256_mul_ps, _mm256_add_ps, _mm256_setzero_ps)
    BPCORE_OWN_TILE(bpcore_own_tile_d, double, __m256d, 4, _mm256_set1_pd, _mm256_loadu_pd,
                    _mm256_maskload_pd, _mm256_maskstore_pd, _mm256_storeu_pd, _mm256_fmadd_pd,
                    _mm256_mul_pd, _mm256_add_pd, _mm256_setzero_pd)
    /* one tile, its rows, xt and masked made constants */
    #define BPCORE_OWN_CALL(TILE, ROWS, XT, MASKED)                                         \
        TILE(ROWS, XT, MASKED, k, alpha, xi, ldx, y + j, ldy, beta, ci + j, ldc, width)
    #define BPCORE_OWN_ROWS(TILE, XT, MASKED)                                               \
        switch (rows) {                                                                     \
        case 6: BPCORE_OWN_CALL(TILE, 6, XT, MASKED); break;                                \
        case 5: BPCORE_OWN_CALL(TILE, 5, XT, MASKED); break;                                \
        case 4: BPCORE_OWN_CALL(TILE, 4, XT, MASKED); break;                                \
        case 3: BPCORE_OWN_CALL(TILE, 3, XT, MASKED); break;                                \
        case 2: BPCORE_OWN_CALL(TILE, 2, XT, MASKED); break;                                \
        default: BPCORE_OWN_CALL(TILE, 1, XT, MASKED);                                      \
        }
    #define BPCORE_OWN_PRODUCT(NAME, T, TILE, LANES)                                        \
    static BPCORE_AVX2_FMA void NAME(Py_ssize_t m, Py_ssize_t n, Py_ssize_t k, T alpha,     \
            const T* x, Py_ssize_t ldx, int xt, const T* y, Py_ssize_t ldy, T beta, T* c,   \
            Py_ssize_t ldc) {                                                               \
        Py_ssize_t i, j, rest;                                                              \
        int rows, width;                                                                    \
        for (i = 0; i < m; i += 6) {                                                        \
            const T* xi = xt ? x + i : x + i * ldx;                                         \
            T* ci = c + i * ldc;                                                            \
            rows = m - i < 6 ? (int)(m - i) : 6;                                            \
            for (j = 0; j < n; j += 2 * LANES) {                                            \
                /* whole tiles, then the last columns in one tile: a second vector under  \
                   the mask where they are more than a vector (12 sums in flight, not two \
                   tiles of 6 each waiting on their FMAs), else one vector under it */      \
                rest = n - j;                                                               \
                if (rest >= 2 * LANES) {                                                    \
                    width = 0;                                                              \
                    if (xt) { BPCORE_OWN_ROWS(TILE, 1, 0) }                                 \
                    else { BPCORE_OWN_ROWS(TILE, 0, 0) }                                    \
                } else if (rest > LANES) {                                                  \
                    width = (int)(rest - LANES);                                            \
                    if (xt) { BPCORE_OWN_ROWS(TILE, 1, 2) }                                 \
                    else { BPCORE_OWN_ROWS(TILE, 0, 2) }                                    \
                } else {                                                                    \
                    width = (int)rest;                                                      \
                    if (xt) { BPCORE_OWN_ROWS(TILE, 1, 1) }                                 \
                    else { BPCORE_OWN_ROWS(TILE, 0, 1) }                                    \
                }                                                                           \
            }                                                                               \
        }                                                                                   \
    }
    BPCORE_OWN_PRODUCT(bpcore_own_product_f, float, bpcore_own_tile_f, 8)
    BPCORE_OWN_PRODUCT(bpcore_own_product_d, double, bpcore_own_tile_d, 4)
    #else
    #define BPCORE_OWN_PRODUCTS 0  /* never called: own_takes is false */
    static void bpcore_own_product_f(Py_ssize_t m, Py_ssize_t n, Py_ssize_t k, float alpha,
            const float* x, Py_ssize_t ldx, int xt, const float* y, Py_ssize_t ldy, float beta,
            float* c, Py_ssize_t ldc) {}
    static void bpcore_own_product_d(Py_ssize_t m, Py_ssize_t n, Py_ssize_t k, double alpha,
            const double* x, Py_ssize_t ldx, int xt, const double* y, Py_ssize_t ldy,
            double beta, double* c, Py_ssize_t ldc) {}
    #endif
    /* The elementwise exps of sigmoid, tanh and softmax, as plain arithmetic that the
       compiler vectorises: a loop of libm calls runs one element at a time (per element,
       in a long loop with AVX2 on an EPYC Zen 5: exp 1.1 ns against libm's 2.9, tanh 1.2
       against 8.0). Only IEEE additions, multiplications and (tanh's) one division, each
       rounded once (the SIMD variants build without contraction to FMA), so the same bits
       on every variant and whatever the C library. Where arithmetic keeps extended
       precision between operations (x87, FLT_EVAL_METHOD != 0: 32-bit x86 built without
       SSE2 math) n below would not come out whole, so libm's exp and tanh serve there.
       bpcore_exp_reduced: x = n ln2 + r with |r| <= ln2 / 2 (n rounded by the 1.5 * 2^52
       trick, ln2 in two parts so that n ln2_hi is exact; r = x when n = 0); returns
       e^r - 1 = r + r^2 Q(r), Q the Taylor terms 1/2! to 1/13! (truncation below 1e-17)
       in Estrin's order, and sets *n. */
    #define BPCORE_SHIFT 6755399441055744.0  /* 1.5 * 2^52: (x + it) - it is x rounded whole */
    static inline double bpcore_exp_reduced(double x, double* n) {
        const double inv_ln2 = 1.4426950408889634;
        const double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10;
        double r, r2, r4, q0, q1, q2, q3, q4, q5, q;
        *n = (x * inv_ln2 + BPCORE_SHIFT) - BPCORE_SHIFT;
        r = (x - *n * ln2_hi) - *n * ln2_lo;
        r2 = r * r;
        r4 = r2 * r2;
        q0 = 1.0 / 2 + r * (1.0 / 6);
        q1 = 1.0 / 24 + r * (1.0 / 120);
        q2 = 1.0 / 720 + r * (1.0 / 5040);
        q3 = 1.0 / 40320 + r * (1.0 / 362880);
        q4 = 1.0 / 3628800 + r * (1.0 / 39916800);
        q5 = 1.0 / 479001600 + r * (1.0 / 6227020800.0);
        q = (q0 + q1 * r2) + (q2 + q3 * r2) * r4 + (q4 + q5 * r2) * (r4 * r4);
        return r + r2 * q;
    }
    /* 2^n for a whole n in -1022 .. 1023, from its bits */
    static inline double bpcore_power2(double n) {
        double t = n + BPCORE_SHIFT, p;
        uint64_t bits;
        memcpy(&bits, &t, sizeof bits);
        bits = (bits << 52) + ((uint64_t)1023 << 52);
        memcpy(&p, &bits, sizeof p);
        return p;
    }
    #if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD != 0
    #define BPCORE_LIBM_EXP 1
    #endif
    /* e^x for x <= 0 (and NaN), within 1.1 ulp of e^x (glibc's: 0.51; the worst found 1.05,
       where 1 + u is near sqrt(2), over 2e7 random arguments and a search near the
       reduction's boundaries against 200-bit references): 2^n in two normal halves, so
       that subnormal results round once; below -746, 0. */
    static inline double bpcore_exp_nonpositive(double x) {
    #ifdef BPCORE_LIBM_EXP
        return exp(x);
    #else
        double n, half, u;
        x = x < -746.0 ? -746.0 : x;  /* NaN passes */
        u = bpcore_exp_reduced(x, &n);
        half = (n * 0.5 + BPCORE_SHIFT) - BPCORE_SHIFT;  /* n = half + (n - half), >= -538 */
        return ((1.0 + u) * bpcore_power2(half)) * bpcore_power2(n - half);
    #endif
    }
    /* e^x - 1 for x <= 0 (and NaN), within 1.3 ulp (the worst found 1.25): 2^n (1 + u) - 1
       as (2^n - 1) + 2^n u, exact where n = 0 (small |x|) but for u's own rounding; below
       -40, -1 (as e^x - 1 rounds there). */
    static inline double bpcore_expm1_nonpositive(double x) {
        double n, u, p;
        x = x < -40.0 ? -40.0 : x;
        u = bpcore_exp_reduced(x, &n);
        p = bpcore_power2(n);
        return (p - 1.0) + p * u;
    }
    /* tanh(z) = sign(z) (1 - e^-2|z|) / (1 + e^-2|z|), from e^-2|z| - 1 so that small |z|
       lose nothing to cancellation: within 2.7 ulp (glibc 2.36's: 2.2; the worst found
       2.65, searched as the exp); +-0, NaN and the infinities as tanh has them. */
    static inline double bpcore_tanh(double z) {
    #ifdef BPCORE_LIBM_EXP
        return tanh(z);
    #else
        double m = bpcore_expm1_nonpositive(-2.0 * fabs(z));
        return copysign(-m / (2.0 + m), z);
    #endif
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
    bint BPCORE_OWN_PRODUCTS
    void bpcore_own_product_f(Py_ssize_t m, Py_ssize_t n, Py_ssize_t k, float alpha,
                              const float* x, Py_ssize_t ldx, bint xt, const float* y,
                              Py_ssize_t ldy, float beta, float* c,
                              Py_ssize_t ldc) noexcept nogil
    void bpcore_own_product_d(Py_ssize_t m, Py_ssize_t n, Py_ssize_t k, double alpha,
                              const double* x, Py_ssize_t ldx, bint xt, const double* y,
                              Py_ssize_t ldy, double beta, double* c,
                              Py_ssize_t ldc) noexcept nogil
    double bpcore_exp_nonpositive(double x) noexcept nogil
    double bpcore_tanh(double z) noexcept nogil

# the compiler flags setup.py used for this module, for `bpcore info`
BUILD_FLAGS = BPCORE_BUILD_FLAGS.decode()
# the instruction set this module was compiled for: "baseline", "avx2" or "avx512"
SIMD = BPCORE_SIMD.decode()


cdef inline bint use_blas(Py_ssize_t n, Py_ssize_t n_in, Py_ssize_t n_out) noexcept nogil:
    # bpcore._blas's test, with its size test made here first, inline: the layers of a small
    # network (4-4-4-1) then skip a call into another module per layer and sample
    return n * n_in * n_out >= BLAS_MIN_WORK and blas_takes(n, n_in, n_out)


# whether this module's own products can run here (x86-64 with AVX2 and FMA)
cdef bint OWN_RUNS = BPCORE_OWN_PRODUCTS and bpcore_cpu_runs(1)


cdef inline bint own_takes(bint single, Py_ssize_t m, Py_ssize_t n, Py_ssize_t k,
                           bint xt) noexcept nogil:
    # whether the product C (m, n) = X (m, k) Y (k, n), row-major, X stored transposed where
    # xt, of float (single) or double goes to the own kernel: with OpenBLAS's Haswell kernels
    # (takes_own_products), two rows or more (one is a gemv), in the region where it was
    # faster than them on an EPYC Zen 3 over a grid of shapes (2 to 1,024 rows, 1 to 1,024
    # columns, 10 to 1,024 terms, X transposed or not, each product timed both ways in
    # alternating rounds, best of 3 or 5): float 1.0 to 8 times as fast there, double (half
    # as many columns per tile, where OpenBLAS's own kernel comes closer to the CPU's limit)
    # 1.0 to 5
    if not (OWN_RUNS and m >= 2 and takes_own_products()):
        return False
    if single:
        if n > 256 or m > 128 or m * n * k > 1 << 20:
            return False
        if n >= 16:
            return True
        # fewer columns than a tile: 9 to 15 (the second vector under the mask) 1.06 to 8.9
        # times as fast up to 32 rows, 1.05 to 2.6 up to 128 with 64 terms or more; 1 to 8
        # (one vector under the mask) 1.5 to 7 for up to 8 rows, and with X transposed (a
        # gradient's D^T A) 1.14 to 2.4 up to 128 rows with 32 terms or more
        if n >= 9:
            return m <= 32 or k >= 64
        return m <= 8 or (xt and k >= 32)
    # (fewer than 16 columns: 1.1 to 1.8 times as fast up to 2,000 rows, 0.9 at 20,000)
    return n <= 128 and ((n < 16 and k <= 1024 and m <= 2048) or m * n * k <= 1 << 18
                         or (m <= 16 and n * k <= 1 << 15))


cdef inline void product(char transa, char transb, Py_ssize_t m, Py_ssize_t n, Py_ssize_t k,
                         double alpha, const floating* a, Py_ssize_t lda, const floating* b,
                         Py_ssize_t ldb, double beta, floating* c,
                         Py_ssize_t ldc) noexcept nogil:
    # bpcore._blas's gemm, in its column-major terms, or the own kernel where it takes the
    # product: C^T (n, m) = op(B)^T (n, k) A^T (k, m) row-major, with A not transposed
    # (alpha 0: BLAS reads neither A nor B, so their NaN stay out of C; plain SGD's lr 0)
    if transa == c'N' and alpha != 0 and own_takes(floating is float, n, m, k, transb == c'T'):
        if floating is double:
            bpcore_own_product_d(n, m, k, alpha, b, ldb, transb == c'T', a, lda, beta, c, ldc)
        else:
            bpcore_own_product_f(n, m, k, <float>alpha, b, ldb, transb == c'T', a, lda,
                                 <float>beta, c, ldc)
        return
    gemm(transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)


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
