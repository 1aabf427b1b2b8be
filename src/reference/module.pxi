# The reference loops of `bpcore bench`'s floors, included by each shell (src/_reference*.pyx):
# the same source built for the x86-64 baseline, AVX2+FMA and AVX-512 with the kernels' flags
# (setup.py), so that a floor and the row it bounds are compiled alike. Not used by the library.
#
# Design, from the inside out: plain loops on raw pointers (`cdef ... noexcept nogil`), then
# thin `def` wrappers that check lengths and release the GIL. bpcore.bench.floors times them:
# 1. online_epoch      the plainest C loop of bpcore's online SGD epoch (the online rows' floor);
# 2. parameter_passes  one read pass and one read-write pass over the parameters, the least
#                      memory traffic of an online step that changes every weight (the
#                      online bound);
# 3. gemm_sequence     matrix products back to back through bpcore._blas, nothing between
#                      them (the mini-batch rows' floor);
# 4. empty             a bare compiled call (the predict row's floor);
# 5. fma_peak          AVX2 fused multiply-adds with nothing else, the most arithmetic a core
#                      does (what bounds the kernels' own small products).
from libc.limits cimport INT_MAX
from libc.math cimport exp, fabs, log
from libc.stdlib cimport free, malloc
from cython cimport floating

from bpcore._blas cimport gemm, is_loaded as blas_is_loaded, load as load_blas

cdef extern from *:
    """
    #ifndef BPCORE_BUILD_FLAGS
    #define BPCORE_BUILD_FLAGS "not recorded"
    #endif
    #ifndef BPCORE_SIMD
    #define BPCORE_SIMD "baseline"
    #endif
    """
    const char* BPCORE_BUILD_FLAGS
    const char* BPCORE_SIMD

cdef extern from *:
    """
    /* `iterations` rounds of 12 independent 256-bit fused multiply-adds (10 or more in
       flight keep two FMA units of 4 cycles' latency busy), on 12 registers of sums that
       tend to a / (1 - m): no overflow, no subnormals. Each starts from its own value, or
       the compiler, seeing twelve equal sums, computes one. Returns a sum of them (so that
       the loop is not removed); -1 where the CPU has no AVX2 and FMA or the compiler is
       not GCC or Clang on x86-64. The kernels' own products use these instructions in every
       SIMD variant (src/kernels/module.pxi). */
    #if defined(__GNUC__) && defined(__x86_64__)
    #include <immintrin.h>
    #define BPCORE_PEAK_LOOP(T, SET, FMA, ADD, STORE, LANES, iterations) do {             \
        T m = SET(0.999), a = SET(0.001);                                                  \
        T s0 = SET(0), s1 = SET(.01), s2 = SET(.02), s3 = SET(.03), s4 = SET(.04);         \
        T s5 = SET(.05), s6 = SET(.06), s7 = SET(.07), s8 = SET(.08), s9 = SET(.09);       \
        T s10 = SET(.1), s11 = SET(.11);                                                   \
        Py_ssize_t i, j;                                                                   \
        for (i = 0; i < iterations; i++) {                                                 \
            s0 = FMA(s0, m, a); s1 = FMA(s1, m, a); s2 = FMA(s2, m, a);                    \
            s3 = FMA(s3, m, a); s4 = FMA(s4, m, a); s5 = FMA(s5, m, a);                    \
            s6 = FMA(s6, m, a); s7 = FMA(s7, m, a); s8 = FMA(s8, m, a);                    \
            s9 = FMA(s9, m, a); s10 = FMA(s10, m, a); s11 = FMA(s11, m, a);                \
        }                                                                                  \
        s0 = ADD(ADD(ADD(s0, s1), ADD(s2, s3)), ADD(ADD(s4, s5), ADD(s6, s7)));            \
        s0 = ADD(s0, ADD(ADD(s8, s9), ADD(s10, s11)));                                     \
        STORE(lanes, s0);                                                                  \
        for (j = 0; j < LANES; j++) total += lanes[j];                                     \
    } while (0)
    __attribute__((target("avx2,fma")))
    static double bpcore_fma_peak_run(int single, Py_ssize_t iterations) {
        double total = 0;
        if (single) {
            float lanes[8];
            BPCORE_PEAK_LOOP(__m256, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_add_ps,
                             _mm256_storeu_ps, 8, iterations);
        } else {
            double lanes[4];
            BPCORE_PEAK_LOOP(__m256d, _mm256_set1_pd, _mm256_fmadd_pd, _mm256_add_pd,
                             _mm256_storeu_pd, 4, iterations);
        }
        return total;
    }
    static double bpcore_fma_peak(int single, Py_ssize_t iterations) {
        __builtin_cpu_init();
        if (!(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))) return -1;
        return bpcore_fma_peak_run(single, iterations);
    }
    #else
    static double bpcore_fma_peak(int single, Py_ssize_t iterations) { return -1; }
    #endif
    """
    double bpcore_fma_peak(int single, Py_ssize_t iterations) noexcept nogil

# the compiler flags setup.py used for this module
BUILD_FLAGS = BPCORE_BUILD_FLAGS.decode()
# the instruction set this module was compiled for: "baseline", "avx2" or "avx512"
SIMD = BPCORE_SIMD.decode()

HIDDEN = ("sigmoid", "relu")  # the hidden activations online_epoch knows
OUTPUTS = {"sigmoid": "mse", "softmax": "cross_entropy"}  # its outputs, each with its loss


# ---- 1. online SGD, one sample at a time ------------------------------------------------------

cdef inline double sigmoid(double z) noexcept nogil:
    # bpcore's stable form (src/kernels/math.pxi): 1 / (1 + e^-z) for z >= 0, e^z / (1 + e^z)
    # below, with libm's exp, as the plainest C has it (bpcore's kernels compute their exps
    # with their own arithmetic, within about an ulp of libm's: the results agree to
    # rounding, not bit for bit)
    cdef double e = exp(-fabs(z))
    return (1.0 if z >= 0 else e) / (1.0 + e)


cdef inline Py_ssize_t parameter_count(const Py_ssize_t* sizes, Py_ssize_t n_layers) noexcept nogil:
    cdef Py_ssize_t l, total = 0
    for l in range(n_layers):
        total += sizes[l + 1] * (sizes[l] + 1)
    return total


cdef double plain_online_epoch(double* params, const Py_ssize_t* sizes, Py_ssize_t n_layers,
                               const double* X, const double* Y, Py_ssize_t n_samples,
                               double lr, bint relu, bint softmax, double* a, double* delta,
                               double* z_out) noexcept nogil:
    # One epoch of SGD with batch 1, the rows in order; returns the summed loss, each sample's
    # measured before its step (as bpcore's epoch does). a and delta hold every layer's
    # activations and deltas, layer after layer (the input not included); z_out the output
    # layer's z. params: layer l is W[l] (sizes[l+1] x sizes[l], row-major) then b[l].
    cdef Py_ssize_t s, l, j, k, n_in, n_out, units = 0
    cdef Py_ssize_t n_first = sizes[0], n_last = sizes[n_layers]
    cdef double total = 0.0, cost, acc, top, sum_exp, d_j
    cdef double* w
    cdef double* a_l
    cdef double* d_l
    cdef double* d_next
    cdef const double* inputs
    cdef const double* x
    cdef const double* y
    for l in range(n_layers):
        units += sizes[l + 1]
    for s in range(n_samples):
        x = X + s * n_first
        y = Y + s * n_last
        # forward: z = W a_in + b, a = f(z), layer after layer
        w = params
        inputs = x
        a_l = a
        for l in range(n_layers):
            n_in = sizes[l]
            n_out = sizes[l + 1]
            for j in range(n_out):
                acc = w[n_out * n_in + j]  # the bias
                for k in range(n_in):
                    acc = acc + w[j * n_in + k] * inputs[k]
                a_l[j] = acc
            if l < n_layers - 1:
                for j in range(n_out):
                    if relu:
                        a_l[j] = 0 if a_l[j] < 0 else a_l[j]
                    else:
                        a_l[j] = sigmoid(a_l[j])
            else:
                for j in range(n_out):
                    z_out[j] = a_l[j]
                if softmax:  # e^(z_j - max z) / sum_i e^(z_i - max z)
                    top = a_l[0]
                    for j in range(1, n_out):
                        if a_l[j] > top:
                            top = a_l[j]
                    sum_exp = 0.0
                    for j in range(n_out):
                        a_l[j] = exp(a_l[j] - top)
                        sum_exp += a_l[j]
                    for j in range(n_out):
                        a_l[j] = a_l[j] / sum_exp
                else:
                    for j in range(n_out):
                        a_l[j] = sigmoid(a_l[j])
            w += n_out * (n_in + 1)
            inputs = a_l
            a_l += n_out
        # the sample's loss: 0.5 sum (a - y)^2 (mse), or sum y_j (logsumexp(z) - z_j)
        a_l = a + units - n_last
        cost = 0.0
        if softmax:
            top = z_out[0]
            for j in range(1, n_last):
                if z_out[j] > top:
                    top = z_out[j]
            sum_exp = 0.0
            for j in range(n_last):
                sum_exp += exp(z_out[j] - top)
            top = top + log(sum_exp)
            for j in range(n_last):
                cost += y[j] * (top - z_out[j])
        else:
            for j in range(n_last):
                acc = a_l[j] - y[j]
                cost += acc * acc
            cost = 0.5 * cost
        total += cost
        # output delta: a - y, times sigmoid'(z) = a (1 - a) for mse (softmax with
        # cross-entropy fuses to a - y)
        d_l = delta + units - n_last
        for j in range(n_last):
            d_l[j] = a_l[j] - y[j]
            if not softmax:
                d_l[j] = d_l[j] * (a_l[j] * (1.0 - a_l[j]))
        # backward, with the weights before this step's update:
        # delta[l] = (W[l+1]^T delta[l+1]) * f'(z[l]), f' written in terms of a = f(z)
        w = params + parameter_count(sizes, n_layers)  # one past the end
        for l in range(n_layers - 2, -1, -1):
            n_in = sizes[l + 1]  # this hidden layer's width
            n_out = sizes[l + 2]
            w -= n_out * (n_in + 1)  # W[l+1]
            d_next = d_l
            d_l = d_next - n_in
            a_l = a_l - n_in
            for k in range(n_in):
                d_l[k] = 0
            for j in range(n_out):
                d_j = d_next[j]
                for k in range(n_in):
                    d_l[k] = d_l[k] + w[j * n_in + k] * d_j
            for k in range(n_in):
                if relu:
                    d_l[k] = d_l[k] * (1.0 if a_l[k] > 0 else 0.0)
                else:
                    d_l[k] = d_l[k] * (a_l[k] * (1.0 - a_l[k]))
        # update: W[l] -= lr delta[l] a[l-1]^T, b[l] -= lr delta[l]
        w = params
        inputs = x
        d_l = delta
        for l in range(n_layers):
            n_in = sizes[l]
            n_out = sizes[l + 1]
            for j in range(n_out):
                d_j = d_l[j]
                for k in range(n_in):
                    w[j * n_in + k] = w[j * n_in + k] - lr * (d_j * inputs[k])
            w += n_out * n_in
            for j in range(n_out):
                w[j] = w[j] - lr * d_l[j]
            w += n_out
            inputs = a + (d_l - delta)  # this layer's activations feed the next
            d_l += n_out
    return total


def online_epoch(double[::1] params, sizes, const double[:, ::1] X, const double[:, ::1] Y,
                 double lr, str hidden, str output):
    """One epoch of online SGD (batch 1, the rows in order) over X, Y, updating `params` in
    place; returns the summed loss, each sample's measured just before its step.

    The plainest C loop of bpcore's arithmetic, float64: `params` is bpcore's flat layout
    (layer after layer, W row-major then b), `hidden` is "sigmoid" or "relu", `output`
    "sigmoid" (with mse, 0.5 sum (a - y)^2) or "softmax" (with cross-entropy).
    Its forward sums run in order (no -ffast-math, as in the kernels' own loops), so they do
    not vectorise: where bpcore's online products go to BLAS's gemv (64-128-64-10) this loop
    is slower than bpcore, and `parameter_passes` is the floor that bounds such a case."""
    cdef Py_ssize_t l, n_layers = len(sizes) - 1, units = 0, n_samples = X.shape[0]
    cdef Py_ssize_t* widths
    cdef double* scratch
    cdef double total = 0.0
    cdef bint relu = hidden == "relu", softmax = output == "softmax"
    if hidden not in HIDDEN:
        raise ValueError(f"hidden must be one of {', '.join(HIDDEN)}, got {hidden!r}")
    if output not in OUTPUTS:
        raise ValueError(f"output must be one of {', '.join(OUTPUTS)}, got {output!r}")
    if n_layers < 1 or any(int(width) < 1 for width in sizes):
        raise ValueError(f"sizes must be at least two positive widths, got {list(sizes)}")
    widths = <Py_ssize_t*>malloc((n_layers + 1) * sizeof(Py_ssize_t))
    if widths == NULL:
        raise MemoryError()
    for l in range(n_layers + 1):
        widths[l] = sizes[l]
        if l > 0:
            units += widths[l]
    try:
        if params.shape[0] != parameter_count(widths, n_layers):
            raise ValueError(f"params must have {parameter_count(widths, n_layers)} entries for "
                             f"sizes {list(sizes)}, got {params.shape[0]}")
        if X.shape[1] != widths[0] or Y.shape[1] != widths[n_layers] or Y.shape[0] != n_samples:
            raise ValueError(f"X and Y must be ({n_samples}, {widths[0]}) and "
                             f"({n_samples}, {widths[n_layers]}), got ({X.shape[0]}, {X.shape[1]}) "
                             f"and ({Y.shape[0]}, {Y.shape[1]})")
        scratch = <double*>malloc((2 * units + widths[n_layers]) * sizeof(double))
        if scratch == NULL:
            raise MemoryError()
        if n_samples > 0:
            with nogil:
                total = plain_online_epoch(&params[0], widths, n_layers, &X[0, 0], &Y[0, 0],
                                           n_samples, lr, relu, softmax, scratch,
                                           scratch + units, scratch + 2 * units)
        free(scratch)
    finally:
        free(widths)
    return total


# ---- 2. the least memory traffic of an online step that changes every weight ------------------

cdef enum:
    LANES = 16  # independent partial sums of the read pass, so that it vectorises


cdef double passes(floating* params, Py_ssize_t n, const floating* vector, Py_ssize_t m,
                   Py_ssize_t repeats, floating step) noexcept nogil:
    # per repeat: dot = params . vector tiled (every parameter read once, as a forward pass
    # reads every weight), then params -= step * vector tiled (every parameter read and
    # written once, as a fused backward and update does); returns the last dot
    cdef Py_ssize_t r, start, i, j, rows_end, lane
    cdef floating partial[LANES]
    cdef double dot = 0.0
    for r in range(repeats):
        for lane in range(LANES):
            partial[lane] = 0
        start = 0
        while start < n:  # rows of m parameters, like a layer's rows of weights
            rows_end = min(m, n - start)
            j = 0
            # the sum in LANES independent chains: without -ffast-math a single running sum
            # would be one long dependency chain, bound by the add latency, not by memory
            while j + LANES <= rows_end:
                for lane in range(LANES):
                    partial[lane] = partial[lane] + params[start + j + lane] * vector[j + lane]
                j += LANES
            while j < rows_end:
                partial[0] = partial[0] + params[start + j] * vector[j]
                j += 1
            start += m
        dot = 0.0
        for lane in range(LANES):
            dot += partial[lane]
        start = 0
        while start < n:
            rows_end = min(m, n - start)
            for i in range(rows_end):
                params[start + i] = params[start + i] - step * vector[i]
            start += m
    return dot


def parameter_passes(floating[::1] params, const floating[::1] vector, Py_ssize_t repeats,
                     double step=0.0):
    """`repeats` times: one read pass over `params` (their dot product with `vector` repeated
    along them), then one read-write pass (params -= step * vector, repeated likewise).
    Returns the last dot product (so that no compiler may drop the read pass)."""
    cdef double dot
    if vector.shape[0] < 1:
        raise ValueError("vector must have at least one entry, got 0")
    if repeats < 0:
        raise ValueError(f"repeats must be >= 0, got {repeats}")
    if params.shape[0] == 0:
        return 0.0
    with nogil:
        dot = passes(&params[0], params.shape[0], &vector[0], vector.shape[0], repeats,
                     <floating>step)
    return dot


# ---- 3. matrix products back to back ----------------------------------------------------------

cdef void products_in_turn(const Py_ssize_t[:, ::1] products, const floating* a,
                           const floating* b, floating* c, Py_ssize_t repeats) noexcept nogil:
    # C = op(A) op(B) in row-major terms, each product's operands after the previous one's.
    # A C-order block is to column-major BLAS its transpose, so C^T = op(B)^T op(A)^T is
    # the call: B first, with the same transpose flags.
    cdef Py_ssize_t r, p, m, n, k, lda, ldb
    cdef const floating* a_p
    cdef const floating* b_p
    cdef floating* c_p
    cdef char transa, transb
    for r in range(repeats):
        a_p, b_p, c_p = a, b, c
        for p in range(products.shape[0]):
            m, n, k = products[p, 2], products[p, 3], products[p, 4]
            # stored as is, A is (m, k) and B (k, n); transposed, (k, m) and (n, k)
            transa = c'T' if products[p, 0] else c'N'
            transb = c'T' if products[p, 1] else c'N'
            lda = m if products[p, 0] else k
            ldb = k if products[p, 1] else n
            gemm(transb, transa, n, m, k, 1.0, b_p, ldb, a_p, lda, 0.0, c_p, n)
            a_p += m * k
            b_p += k * n
            c_p += m * n


def gemm_sequence(const Py_ssize_t[:, ::1] products, const floating[::1] a,
                  const floating[::1] b, floating[::1] c, Py_ssize_t repeats):
    """`repeats` times, the matrix products C = op(A) op(B) of `products` one after the other
    through bpcore._blas (SciPy's BLAS, as the kernels call it), with nothing between them.

    Each row of `products` is (transa, transb, m, n, k): C is (m, n) row-major; A is stored
    (m, k) row-major when transa is 0 and as its transpose, (k, m), when 1; B likewise (k, n)
    or (n, k). Product i's A, B and C follow product i-1's in `a`, `b` and `c`.
    Raises RuntimeError when SciPy's BLAS cannot be loaded."""
    cdef Py_ssize_t p, need_a = 0, need_b = 0, need_c = 0, m, n, k
    cdef Py_ssize_t probe[2]
    if products.shape[1] != 5:
        raise ValueError(f"products must have 5 columns (transa, transb, m, n, k), "
                         f"got {products.shape[1]}")
    if repeats < 0:
        raise ValueError(f"repeats must be >= 0, got {repeats}")
    for p in range(products.shape[0]):
        m, n, k = products[p, 2], products[p, 3], products[p, 4]
        if not (0 < m <= INT_MAX and 0 < n <= INT_MAX and 0 < k <= INT_MAX
                and products[p, 0] in (0, 1) and products[p, 1] in (0, 1)):
            raise ValueError(f"product {p} must be transa, transb in 0 or 1 and m, n, k "
                             f"positive, got {(products[p, 0], products[p, 1], m, n, k)}")
        need_a += m * k
        need_b += k * n
        need_c += m * n
    for name, need, have in (("a", need_a, a.shape[0]), ("b", need_b, b.shape[0]),
                             ("c", need_c, c.shape[0])):
        if have < need or have == 0:
            raise ValueError(f"{name} must have at least {max(need, 1)} entries for these "
                             f"products, got {have}")
    # bpcore._blas loads SciPy's BLAS for a product past its crossover: ask for a big one
    probe[0], probe[1] = 1 << 20, 1
    load_blas(probe, 1, 1)
    if not blas_is_loaded():
        raise RuntimeError("SciPy's BLAS could not be loaded (is SciPy installed?)")
    with nogil:
        products_in_turn(products, &a[0], &b[0], &c[0], repeats)


# ---- 4. a bare call ---------------------------------------------------------------------------

def empty(x):
    """Do nothing with x: the cost of calling a compiled function from Python."""
    return None


# ---- 5. the arithmetic's own limit ------------------------------------------------------------

FMA_PEAK_CHAINS = 12  # independent 256-bit fused multiply-adds per iteration of fma_peak


def fma_peak(bint single, Py_ssize_t iterations):
    """`iterations` rounds of FMA_PEAK_CHAINS independent AVX2 fused multiply-adds (8 float32
    or 4 float64 lanes each) and nothing else, without the GIL: timed, the most arithmetic
    one core does, 2 * FMA_PEAK_CHAINS * lanes * iterations operations. Returns a sum of the
    results (finite, between 0 and 96). Raises RuntimeError on a CPU without AVX2 and FMA."""
    cdef double total
    if iterations < 1:
        raise ValueError(f"iterations must be at least 1, got {iterations}")
    with nogil:
        total = bpcore_fma_peak(single, iterations)
    if total < 0:
        raise RuntimeError("this CPU (or compiler) has no AVX2 and FMA: no FMA peak to measure")
    return total
