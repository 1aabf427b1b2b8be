# Compiler directives are set once, in setup.py (BPCORE_DEBUG=1 turns the bounds checks on).
"""Compiled kernels of bpcore: forward pass, local gradients, SGD updates, whole epochs.

Design, from the inside out (the order of this file):
1. one-point math as small `cdef inline ... noexcept nogil` functions (sigmoid, softplus);
2. loops over one layer or one flat vector, on raw pointers, GIL-free;
3. loops over the whole network and over a whole epoch, GIL-free: no Python per sample or batch;
4. thin `def` wrappers on top: check every length the loops rely on (so no call can read or
   write out of bounds), then release the GIL and call 3.

Matrix products of a layer (forward, back-propagated deltas, weight gradients) go to SciPy's
BLAS (`scipy.linalg.cython_blas`, GIL-free) once the layer has BLAS_MIN_WORK multiply-adds;
one sample uses gemv, and smaller layers keep the plain loops, which win below the crossover.
SciPy is loaded on the first call that needs it (importing scipy.linalg takes about half a
second, which small networks and `import bpcore` should not pay); without SciPy every product
stays on the plain loops.
An online (batch 1) step fuses the gradient into the SGD update: one pass over the parameters.

Memory layout shared with `bpcore/_layout.py` and `bpcore/_fallback.py`:
- parameters are one flat vector; layer l holds W[l] (sizes[l+1] x sizes[l], row-major)
  followed by b[l] (sizes[l+1]);
- activations A and local gradients D of a batch of n samples are flat vectors holding one
  (n, sizes[l+1]) row-major block per layer, layer after layer;
- Z holds the output layer's pre-activations z[L], (n, sizes[-1]), for the stable losses.
Every floating argument of one call has the same dtype (the `floating` fused type).
"""
from libc.math cimport exp, log, log1p, tanh, fabs
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy
from libc.limits cimport INT_MAX
from cython cimport floating
from cpython.pycapsule cimport PyCapsule_GetName, PyCapsule_GetPointer

cimport numpy as cnp
import numpy as np

cnp.import_array()

cdef enum:
    IDENTITY = 0
    SIGMOID = 1
    TANH = 2
    RELU = 3
    LEAKY_RELU = 4
    SOFTMAX = 5

cdef enum:
    MSE = 0
    BINARY_CROSS_ENTROPY = 1
    CROSS_ENTROPY = 2

cdef extern from *:
    """
    #ifndef BPCORE_BUILD_FLAGS
    #define BPCORE_BUILD_FLAGS "not recorded"
    #endif
    """
    const char* BPCORE_BUILD_FLAGS

# the compiler flags setup.py used for this module, for `bpcore info`
BUILD_FLAGS = BPCORE_BUILD_FLAGS.decode()

# slope of leaky_relu for z < 0
cdef double LEAKY_SLOPE = 0.01

# A layer's matrix product goes to BLAS when it has at least this many multiply-adds
# (n samples * n_in * n_out); below it the plain loops win (no call and packing overhead).
# Measured crossover on a 2-core x86-64: see benchmarks/ and bpcore/bench.py.
cdef Py_ssize_t BLAS_MIN_WORK = 1024


# BLAS routines, taken from SciPy's cython_blas capsules by load_blas(); NULL until then
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
cdef bint blas_tried = False


cdef inline bint blas_worth(Py_ssize_t n, Py_ssize_t n_in, Py_ssize_t n_out) noexcept nogil:
    # BLAS takes int sizes: blocks past INT_MAX entries stay on the plain loops
    return (n * n_in * n_out >= BLAS_MIN_WORK and n * n_in <= INT_MAX and
            n * n_out <= INT_MAX and n_in * n_out <= INT_MAX)


cdef inline bint use_blas(Py_ssize_t n, Py_ssize_t n_in, Py_ssize_t n_out) noexcept nogil:
    return dgemm != NULL and blas_worth(n, n_in, n_out)


cdef void *blas_routine(dict capsules, str name) except NULL:
    capsule = capsules[name]
    return PyCapsule_GetPointer(capsule, PyCapsule_GetName(capsule))


cdef load_blas(const Py_ssize_t* sizes, Py_ssize_t n_layers, Py_ssize_t n):
    """Load SciPy's BLAS once, if some layer of this call is large enough to use it."""
    global dgemm, sgemm, dgemv, sgemv, blas_tried
    cdef Py_ssize_t l
    if blas_tried:
        return
    for l in range(n_layers):
        if blas_worth(n, sizes[l], sizes[l + 1]):
            break
    else:
        return
    blas_tried = True
    try:
        from scipy.linalg import cython_blas
    except ImportError:  # no SciPy: the plain loops do every product
        return
    capsules = cython_blas.__pyx_capi__
    sgemm = <sgemm_t>blas_routine(capsules, "sgemm")
    dgemv = <dgemv_t>blas_routine(capsules, "dgemv")
    sgemv = <sgemv_t>blas_routine(capsules, "sgemv")
    dgemm = <dgemm_t>blas_routine(capsules, "dgemm")  # last: use_blas checks this one


def blas_loaded():
    """Whether SciPy's BLAS has been loaded for the large matrix products."""
    return dgemm != NULL

ACTIVATIONS = {"identity": IDENTITY, "sigmoid": SIGMOID, "tanh": TANH, "relu": RELU,
               "leaky_relu": LEAKY_RELU, "softmax": SOFTMAX}
LOSSES = {"mse": MSE, "binary_cross_entropy": BINARY_CROSS_ENTROPY,
          "cross_entropy": CROSS_ENTROPY}


# ---- 1. one-point math ----------------------------------------------------------------------

cdef inline double sigmoid(double z) noexcept nogil:
    # 1 / (1 + e^-z) for z >= 0 and e^z / (1 + e^z) below, so exp never overflows; the sign
    # picks the numerator (a select, not a branch: the sign of z is close to random)
    cdef double e = exp(-fabs(z))
    return (1.0 if z >= 0 else e) / (1.0 + e)


cdef inline double softplus(double z) noexcept nogil:
    # log(1 + e^z) = max(z, 0) + log(1 + e^-|z|), finite for every finite z
    return (z if z > 0 else 0.0) + log1p(exp(-fabs(z)))


# ---- 2. loops over one layer ----------------------------------------------------------------

cdef void activate_rows(floating* z, Py_ssize_t rows, Py_ssize_t n,
                       Py_ssize_t activation) noexcept nogil:
    # a = f(z) in place, for `rows` samples of one layer of width n. The element-wise
    # activations run one loop over the whole block and select rather than branch: the sign
    # of z is close to random, and a mispredicted branch per element took about as long as
    # the matrix products on a 64-128-64-10 relu mini-batch (perf, float32).
    cdef Py_ssize_t i, j
    cdef floating v
    cdef floating* row
    cdef double top, total
    if activation == SOFTMAX:
        # e^(z_j - max z) / sum_i e^(z_i - max z), row by row
        for i in range(rows):
            row = z + i * n
            top = row[0]
            for j in range(1, n):
                if row[j] > top:
                    top = row[j]
            total = 0.0
            for j in range(n):
                row[j] = exp(row[j] - top)
                total += row[j]
            for j in range(n):
                row[j] = row[j] / total
    elif activation == SIGMOID:
        for i in range(rows * n):
            z[i] = sigmoid(z[i])
    elif activation == TANH:
        for i in range(rows * n):
            z[i] = tanh(z[i])
    elif activation == RELU:
        for i in range(rows * n):
            v = z[i]
            z[i] = 0 if v < 0 else v  # NaN passes through
    elif activation == LEAKY_RELU:
        for i in range(rows * n):
            v = z[i]
            z[i] = <floating>(LEAKY_SLOPE * v) if v < 0 else v


cdef void times_derivative(floating* d, const floating* a, Py_ssize_t n,
                           Py_ssize_t activation) noexcept nogil:
    # d *= f'(z) element by element, with f'(z) written in terms of a = f(z) so that z need not
    # be kept for hidden layers; one branch-free loop per activation, as in activate_rows
    cdef Py_ssize_t i
    cdef floating one = 1, zero = 0, slope = <floating>LEAKY_SLOPE
    if activation == SIGMOID:
        for i in range(n):
            d[i] = d[i] * (a[i] * (one - a[i]))
    elif activation == TANH:
        for i in range(n):
            d[i] = d[i] * (one - a[i] * a[i])
    elif activation == RELU:
        for i in range(n):
            d[i] = d[i] * (one if a[i] > 0 else zero)
    elif activation == LEAKY_RELU:
        for i in range(n):
            d[i] = d[i] * (one if a[i] > 0 else slope)


cdef void layer_forward(const floating* weights, const floating* biases,
                        const floating* inputs, floating* outputs, floating* z_out,
                        Py_ssize_t n, Py_ssize_t n_in, Py_ssize_t n_out,
                        Py_ssize_t activation) noexcept nogil:
    # z = W a_in + b and a = f(z) for n samples (rows); z_out keeps z when not NULL
    cdef Py_ssize_t s, j, k
    cdef const floating* x
    cdef const floating* w
    cdef floating* y
    cdef floating acc
    if use_blas(n, n_in, n_out):
        # Z^T (n_out, n) = W (n_out, n_in) X^T (n_in, n) + b, with Z^T first set to b
        for s in range(n):
            memcpy(outputs + s * n_out, biases, n_out * sizeof(floating))
        gemm(c'T', c'N', n_out, n, n_in, 1.0, weights, n_in, inputs, n_in, 1.0, outputs, n_out)
    else:
        for s in range(n):
            x = inputs + s * n_in
            y = outputs + s * n_out
            for j in range(n_out):
                w = weights + j * n_in
                acc = biases[j]
                for k in range(n_in):
                    acc = acc + w[k] * x[k]
                y[j] = acc
    if z_out != NULL:
        memcpy(z_out, outputs, n * n_out * sizeof(floating))
    activate_rows(outputs, n, n_out, activation)


cdef double sample_loss(const floating* a, const floating* z, const floating* y,
                        Py_ssize_t n_out, Py_ssize_t loss) noexcept nogil:
    # the cost C of one sample, from the output a[L] and its pre-activation z[L]
    cdef Py_ssize_t j
    cdef double total = 0.0, diff, top, lse
    if loss == MSE:
        # 0.5 * sum_j (a_j - y_j)^2
        for j in range(n_out):
            diff = a[j] - y[j]
            total += diff * diff
        return 0.5 * total
    if loss == BINARY_CROSS_ENTROPY:
        # -y log a - (1-y) log(1-a) with a = sigmoid(z) is softplus(z) - y z
        for j in range(n_out):
            total += softplus(z[j]) - y[j] * z[j]
        return total
    # cross-entropy of softmax: sum_j y_j (logsumexp(z) - z_j)
    top = z[0]
    for j in range(1, n_out):
        if z[j] > top:
            top = z[j]
    for j in range(n_out):
        total += exp(z[j] - top)
    lse = top + log(total)
    total = 0.0
    for j in range(n_out):
        total += y[j] * (lse - z[j])
    return total


cdef void update_vector(floating* params, const floating* grads, floating* velocity,
                        Py_ssize_t n, double lr, double momentum,
                        double weight_decay) noexcept nogil:
    # v = momentum v - lr (g + weight_decay p); p += v. With momentum 0 this is plain SGD,
    # p -= lr (g + weight_decay p) (the same numbers), and the velocity is left alone.
    cdef Py_ssize_t i
    cdef floating g
    if momentum == 0:
        for i in range(n):
            g = grads[i] + <floating>weight_decay * params[i]
            params[i] = params[i] - <floating>lr * g
        return
    for i in range(n):
        g = grads[i] + <floating>weight_decay * params[i]
        velocity[i] = <floating>momentum * velocity[i] - <floating>lr * g
        params[i] = params[i] + velocity[i]


cdef inline void gemm(char transa, char transb, Py_ssize_t m, Py_ssize_t n, Py_ssize_t k,
                      double alpha, const floating* a, Py_ssize_t lda, const floating* b,
                      Py_ssize_t ldb, double beta, floating* c, Py_ssize_t ldc) noexcept nogil:
    # C = alpha op(A) op(B) + beta C in BLAS's column-major terms: a C-order (rows, cols)
    # block is, to BLAS, its (cols, rows) transpose with leading dimension cols
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


# ---- 3. loops over the network and over an epoch ----------------------------------------------

cdef inline Py_ssize_t total_units(const Py_ssize_t* sizes, Py_ssize_t n_layers) noexcept nogil:
    cdef Py_ssize_t l, total = 0
    for l in range(n_layers):
        total += sizes[l + 1]
    return total


cdef inline Py_ssize_t parameter_count(const Py_ssize_t* sizes, Py_ssize_t n_layers) noexcept nogil:
    cdef Py_ssize_t l, total = 0
    for l in range(n_layers):
        total += sizes[l + 1] * (sizes[l] + 1)
    return total


cdef void network_forward(const floating* params, const Py_ssize_t* sizes,
                          const Py_ssize_t* activations, Py_ssize_t n_layers,
                          const floating* X, floating* A, floating* Z,
                          Py_ssize_t n) noexcept nogil:
    # a[0] = x; z[l] = W[l] a[l-1] + b[l]; a[l] = f(z[l]), layer after layer
    cdef Py_ssize_t l, n_in, n_out
    cdef const floating* p = params
    cdef const floating* inputs = X
    cdef floating* outputs = A
    for l in range(n_layers):
        n_in = sizes[l]
        n_out = sizes[l + 1]
        layer_forward(p, p + n_out * n_in, inputs, outputs,
                      Z if l == n_layers - 1 else NULL, n, n_in, n_out, activations[l])
        p += n_out * (n_in + 1)
        inputs = outputs
        outputs += n * n_out


cdef void network_backward(const floating* params, const Py_ssize_t* sizes,
                           const Py_ssize_t* activations, Py_ssize_t n_layers, Py_ssize_t loss,
                           const floating* Y, const floating* A, floating* D,
                           Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t l, s, j, k, i, n_here, n_next
    cdef Py_ssize_t n_out = sizes[n_layers]
    cdef Py_ssize_t block = n * (total_units(sizes, n_layers) - n_out)  # start of layer L
    cdef const floating* a = A + block
    cdef floating* d = D + block
    cdef const floating* w
    cdef floating* d_row
    cdef const floating* d_next_row
    cdef floating d_j
    # delta[L] = dC/da[L] * f'(z[L]) = (a - y) f'(z[L]) for mse,
    # fused to a - y for sigmoid + binary cross-entropy and softmax + cross-entropy
    for i in range(n * n_out):
        d[i] = a[i] - Y[i]
    if loss == MSE:
        times_derivative(d, a, n * n_out, activations[n_layers - 1])
    # delta[l] = (W[l+1]^T delta[l+1]) * f'(z[l]), from the output back to the first layer
    for l in range(n_layers - 2, -1, -1):
        n_here = sizes[l + 1]
        n_next = sizes[l + 2]
        block -= n * n_here
        w = params + parameter_count(sizes, l + 1)  # W[l+1] follows the layers before it
        if use_blas(n, n_here, n_next):
            # delta[l]^T (n_here, n) = W[l+1]^T (n_here, n_next) delta[l+1]^T (n_next, n)
            gemm(c'N', c'N', n_here, n, n_next, 1.0, w, n_here, D + block + n * n_here, n_next,
                 0.0, D + block, n_here)
        else:
            for s in range(n):
                d_row = D + block + s * n_here
                d_next_row = D + block + n * n_here + s * n_next
                for k in range(n_here):
                    d_row[k] = 0
                for j in range(n_next):
                    d_j = d_next_row[j]
                    for k in range(n_here):
                        d_row[k] = d_row[k] + w[j * n_here + k] * d_j
        times_derivative(D + block, A + block, n * n_here, activations[l])


cdef void network_gradients(const Py_ssize_t* sizes, Py_ssize_t n_layers,
                            const floating* X, const floating* A, const floating* D,
                            floating* grads, Py_ssize_t n) noexcept nogil:
    # dC/dW[l] = mean over samples of delta[l] a[l-1]^T;  dC/db[l] = mean of delta[l]
    cdef Py_ssize_t l, s, j, k, n_in, n_out, block = 0
    cdef floating* g = grads
    cdef floating* row
    cdef const floating* inputs = X
    cdef const floating* d
    cdef floating d_j
    cdef floating scale = <floating>(1.0 / n)
    for l in range(n_layers):
        n_in = sizes[l]
        n_out = sizes[l + 1]
        if n > 1 and use_blas(n, n_in, n_out):  # one sample: the axpy loops below win
            # dC/dW^T (n_in, n_out) = scale * a[l-1]^T (n_in, n) delta[l] (n, n_out)
            gemm(c'N', c'T', n_in, n_out, n, scale, inputs, n_in, D + block, n_out, 0.0, g, n_in)
            for j in range(n_out):
                g[n_out * n_in + j] = 0
            for s in range(n):
                d = D + block + s * n_out
                for j in range(n_out):
                    g[n_out * n_in + j] = g[n_out * n_in + j] + d[j]
            for j in range(n_out):
                g[n_out * n_in + j] = g[n_out * n_in + j] * scale
            g += n_out * (n_in + 1)
            inputs = A + block
            block += n * n_out
            continue
        for k in range(n_out * (n_in + 1)):
            g[k] = 0
        for s in range(n):
            d = D + block + s * n_out
            for j in range(n_out):
                d_j = d[j]
                row = g + j * n_in
                for k in range(n_in):
                    row[k] = row[k] + d_j * inputs[s * n_in + k]
                g[n_out * n_in + j] = g[n_out * n_in + j] + d_j
        for k in range(n_out * (n_in + 1)):
            g[k] = g[k] * scale
        g += n_out * (n_in + 1)
        inputs = A + block
        block += n * n_out


cdef void network_update(floating* params, const floating* grads, floating* velocity,
                         const Py_ssize_t* sizes, Py_ssize_t n_layers,
                         double lr, double momentum, double weight_decay) noexcept nogil:
    # L2 weight decay applies to the weights, not to the biases
    cdef Py_ssize_t l, n_weights, offset = 0
    for l in range(n_layers):
        n_weights = sizes[l + 1] * sizes[l]
        update_vector(params + offset, grads + offset, velocity + offset, n_weights,
                      lr, momentum, weight_decay)
        offset += n_weights
        update_vector(params + offset, grads + offset, velocity + offset, sizes[l + 1],
                      lr, momentum, 0.0)
        offset += sizes[l + 1]


cdef void network_batch_step(floating* params, floating* velocity, const Py_ssize_t* sizes,
                             Py_ssize_t n_layers, const floating* X, const floating* A,
                             const floating* D, floating* sums, Py_ssize_t n, double lr,
                             double momentum, double weight_decay) noexcept nogil:
    # One mini-batch SGD step (network_gradients then network_update) without a gradient
    # buffer. Above the BLAS crossover one gemm per layer adds -(lr / n) delta^T a[l-1] to the
    # velocity scaled by the momentum (or, with momentum 0, to the weights scaled by
    # 1 - lr weight_decay). Below it, `sums` (one layer width) gathers sum_s delta_j a_k for
    # one row j at a time, and the update is update_vector's arithmetic exactly.
    cdef Py_ssize_t l, s, j, k, n_in, n_out, block = 0
    cdef floating* p = params
    cdef floating* v = velocity
    cdef const floating* inputs = X
    cdef const floating* d
    cdef floating scale = <floating>(1.0 / n)
    cdef bint plain = momentum == 0
    for l in range(n_layers):
        n_in = sizes[l]
        n_out = sizes[l + 1]
        if use_blas(n, n_in, n_out):
            # (n_in, n_out) blocks: W^T or v^T = beta W^T or v^T - (lr / n) a[l-1]^T delta[l]
            if plain:
                gemm(c'N', c'T', n_in, n_out, n, -lr / n, inputs, n_in, D + block, n_out,
                     1.0 - lr * weight_decay, p, n_in)
            else:
                gemm(c'N', c'T', n_in, n_out, n, -lr / n, inputs, n_in, D + block, n_out,
                     momentum, v, n_in)
                for k in range(n_out * n_in):
                    v[k] = v[k] - <floating>lr * (<floating>weight_decay * p[k])
                    p[k] = p[k] + v[k]
        else:
            for j in range(n_out):
                for k in range(n_in):
                    sums[k] = 0
                for s in range(n):
                    d = D + block + s * n_out
                    for k in range(n_in):
                        sums[k] = sums[k] + d[j] * inputs[s * n_in + k]
                for k in range(n_in):
                    sums[k] = sums[k] * scale
                update_vector(p + j * n_in, sums, v + j * n_in, n_in, lr, momentum,
                              weight_decay)
        p += n_out * n_in
        v += n_out * n_in
        for j in range(n_out):  # biases: the mean delta, no weight decay
            sums[j] = 0
        for s in range(n):
            d = D + block + s * n_out
            for j in range(n_out):
                sums[j] = sums[j] + d[j]
        for j in range(n_out):
            sums[j] = sums[j] * scale
        update_vector(p, sums, v, n_out, lr, momentum, 0.0)
        p += n_out
        v += n_out
        inputs = A + block
        block += n * n_out


cdef void network_online_step(floating* params, floating* velocity, const Py_ssize_t* sizes,
                              Py_ssize_t n_layers, const floating* x, const floating* A,
                              const floating* D, double lr, double momentum,
                              double weight_decay) noexcept nogil:
    # One sample's gradient (dC/dW[l] = delta[l] a[l-1]^T, dC/db[l] = delta[l]) fused into its
    # SGD step: the same arithmetic as network_gradients (n = 1, scale 1) then network_update,
    # element by element, but one pass over params (and velocity) and no gradient buffer.
    cdef Py_ssize_t l, j, k, n_in, n_out, block = 0
    cdef floating* p = params
    cdef floating* v = velocity
    cdef floating* p_row
    cdef floating* v_row
    cdef const floating* inputs = x
    cdef floating d_j, g
    cdef floating lr_ = <floating>lr, momentum_ = <floating>momentum
    cdef floating decay = <floating>weight_decay, no_decay = <floating>0.0
    for l in range(n_layers):
        n_in = sizes[l]
        n_out = sizes[l + 1]
        for j in range(n_out):
            d_j = D[block + j]
            p_row = p + j * n_in
            v_row = v + j * n_in
            if momentum == 0:  # plain SGD, as in update_vector: the velocity is left alone
                for k in range(n_in):
                    g = (<floating>0 + d_j * inputs[k]) + decay * p_row[k]
                    p_row[k] = p_row[k] - lr_ * g
                continue
            for k in range(n_in):
                # v = momentum v - lr (g + weight_decay p); p += v
                g = (<floating>0 + d_j * inputs[k]) + decay * p_row[k]
                v_row[k] = momentum_ * v_row[k] - lr_ * g
                p_row[k] = p_row[k] + v_row[k]
        p += n_out * n_in
        v += n_out * n_in
        for j in range(n_out):  # biases: no weight decay
            g = (<floating>0 + D[block + j]) + no_decay * p[j]
            if momentum == 0:
                p[j] = p[j] - lr_ * g
                continue
            v[j] = momentum_ * v[j] - lr_ * g
            p[j] = p[j] + v[j]
        p += n_out
        v += n_out
        inputs = A + block
        block += n_out


cdef double batch_loss_sum(const floating* A_out, const floating* Z, const floating* Y,
                           Py_ssize_t n, Py_ssize_t n_out, Py_ssize_t loss) noexcept nogil:
    cdef Py_ssize_t s
    cdef double total = 0.0
    for s in range(n):
        total += sample_loss(A_out + s * n_out, Z + s * n_out, Y + s * n_out, n_out, loss)
    return total


cdef double epoch(floating* params, floating* velocity, const Py_ssize_t* sizes,
                  const Py_ssize_t* activations, Py_ssize_t n_layers, Py_ssize_t loss,
                  const floating* X, const floating* Y, const Py_ssize_t* order,
                  Py_ssize_t n_order, Py_ssize_t batch_size, double lr, double momentum,
                  double weight_decay, floating* X_batch, floating* Y_batch, floating* A,
                  floating* Z, floating* D, floating* sums) noexcept nogil:
    # one pass over the samples in `order`, one SGD step per batch; returns the summed loss of
    # every sample, each measured just before the step that uses it
    cdef Py_ssize_t start = 0, s, b, row
    cdef Py_ssize_t n_in = sizes[0], n_out = sizes[n_layers]
    cdef Py_ssize_t units = total_units(sizes, n_layers)
    cdef double total = 0.0
    cdef const floating* x
    cdef const floating* y
    while start < n_order:
        b = batch_size if start + batch_size <= n_order else n_order - start
        if b == 1:  # one sample: its own rows of X and Y, no copy
            x = X + order[start] * n_in
            y = Y + order[start] * n_out
        else:
            for s in range(b):
                row = order[start + s]
                memcpy(X_batch + s * n_in, X + row * n_in, n_in * sizeof(floating))
                memcpy(Y_batch + s * n_out, Y + row * n_out, n_out * sizeof(floating))
            x, y = X_batch, Y_batch
        network_forward(params, sizes, activations, n_layers, x, A, Z, b)
        total += batch_loss_sum(A + b * (units - n_out), Z, y, b, n_out, loss)
        network_backward(params, sizes, activations, n_layers, loss, y, A, D, b)
        if b == 1:
            network_online_step(params, velocity, sizes, n_layers, x, A, D, lr, momentum,
                                weight_decay)
        else:
            network_batch_step(params, velocity, sizes, n_layers, x, A, D, sums, b, lr,
                               momentum, weight_decay)
        start += b
    return total


# ---- 4. Python-facing wrappers --------------------------------------------------------------

# Widths and depth beyond these could overflow the buffer-length arithmetic (no machine holds
# such a network anyway), so the wrappers refuse them.
cdef Py_ssize_t MAX_WIDTH = 1 << 24
cdef Py_ssize_t MAX_LAYERS = 1 << 12


cdef int check_widths(const Py_ssize_t* sizes, Py_ssize_t n_layers) except -1:
    cdef Py_ssize_t l
    if n_layers < 1 or n_layers > MAX_LAYERS:
        raise ValueError(f"sizes must hold 2 to {MAX_LAYERS + 1} layer widths, got "
                         f"{n_layers + 1}")
    for l in range(n_layers + 1):
        if not 1 <= sizes[l] <= MAX_WIDTH:
            raise ValueError(f"sizes must be widths in [1, {MAX_WIDTH}], got {sizes[l]}")
    return 0


cdef Py_ssize_t check_sizes(const Py_ssize_t[::1] sizes) except -1:
    """Return the number of weight layers after checking that sizes are sensible widths."""
    if sizes.shape[0] < 2:
        raise ValueError(f"sizes must hold at least 2 layer widths, got {sizes.shape[0]}")
    check_widths(&sizes[0], sizes.shape[0] - 1)
    return sizes.shape[0] - 1


cdef int check_codes_and_params(const Py_ssize_t* sizes, Py_ssize_t n_layers,
                                const Py_ssize_t* codes, Py_ssize_t n_codes,
                                Py_ssize_t n_params) except -1:
    """One valid activation code per layer (softmax only last) and params of the right length."""
    cdef Py_ssize_t l
    if n_codes != n_layers:
        raise ValueError(f"activations must hold {n_layers} codes, got {n_codes}")
    for l in range(n_layers):
        if not IDENTITY <= codes[l] <= SOFTMAX or (codes[l] == SOFTMAX and l < n_layers - 1):
            raise ValueError(f"activation code {codes[l]} is not valid for layer {l}")
    check_length("params", n_params, parameter_count(sizes, n_layers))
    return 0


cdef Py_ssize_t check_network(const Py_ssize_t[::1] sizes, const Py_ssize_t[::1] activations,
                              Py_ssize_t n_params) except -1:
    """Return the number of weight layers after checking sizes, activation codes and params."""
    cdef Py_ssize_t n_layers = check_sizes(sizes)
    check_codes_and_params(&sizes[0], n_layers, &activations[0], activations.shape[0], n_params)
    return n_layers


cdef check_length(str name, Py_ssize_t got, Py_ssize_t expected):
    if got != expected:
        raise ValueError(f"{name} must have {expected} entries, got {got}")


cdef check_loss(Py_ssize_t loss, Py_ssize_t output_activation):
    if loss not in (MSE, BINARY_CROSS_ENTROPY, CROSS_ENTROPY):
        raise ValueError(f"loss code {loss} is not valid")
    if (loss == CROSS_ENTROPY) != (output_activation == SOFTMAX) or (
            loss == BINARY_CROSS_ENTROPY and output_activation != SIGMOID):
        raise ValueError(f"loss code {loss} does not fit output activation {output_activation}")


cdef bint all_finite(const floating* x, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n):
        if not (x[i] - x[i] == 0):  # false for NaN and for +-infinity
            return False
    return True


cdef bint one_sample_arrays(cnp.ndarray params, cnp.ndarray sizes, cnp.ndarray activations,
                            tuple floats, tuple written):
    """What the one-sample wrappers take: params float32 or float64 and `floats` of its dtype,
    sizes and activations intp, every array 1-D and C-contiguous, `written` writeable."""
    cdef int kind = cnp.PyArray_TYPE(params)
    if kind != cnp.NPY_FLOAT64 and kind != cnp.NPY_FLOAT32:
        return False
    for array in (params, sizes, activations) + floats:
        if cnp.PyArray_NDIM(array) != 1 or not cnp.PyArray_IS_C_CONTIGUOUS(array):
            return False
    for array in floats:
        if cnp.PyArray_TYPE(array) != kind:
            return False
    for array in written:
        if not cnp.PyArray_ISWRITEABLE(array):
            return False
    return (cnp.PyArray_TYPE(sizes) == cnp.NPY_INTP
            and cnp.PyArray_TYPE(activations) == cnp.NPY_INTP)


cdef Py_ssize_t checked_layers(cnp.ndarray params, cnp.ndarray sizes,
                               cnp.ndarray activations) except -1:
    """The number of weight layers, after checking the widths, the codes and params' length."""
    cdef Py_ssize_t n_layers = cnp.PyArray_DIM(sizes, 0) - 1
    cdef const Py_ssize_t* widths = <const Py_ssize_t*>cnp.PyArray_DATA(sizes)
    check_widths(widths, n_layers)
    check_codes_and_params(widths, n_layers, <const Py_ssize_t*>cnp.PyArray_DATA(activations),
                           cnp.PyArray_DIM(activations, 0), cnp.PyArray_DIM(params, 0))
    return n_layers


cdef bint forward_one_sample(const floating* params, const Py_ssize_t* sizes,
                             const Py_ssize_t* activations, Py_ssize_t n_layers,
                             const floating* x, floating* out) noexcept nogil:
    # network_forward for one sample, with scratch from malloc; False if x is not finite or
    # memory ran out (the caller then takes the general path, which reports either)
    cdef Py_ssize_t units = total_units(sizes, n_layers), n_out = sizes[n_layers]
    cdef floating* scratch
    if not all_finite(x, sizes[0]):
        return False
    scratch = <floating*>malloc((units + n_out) * sizeof(floating))
    if scratch == NULL:
        return False
    network_forward(params, sizes, activations, n_layers, x, scratch, scratch + units, 1)
    memcpy(out, scratch + units - n_out, n_out * sizeof(floating))
    free(scratch)
    return True


def forward_one(cnp.ndarray params, cnp.ndarray sizes, cnp.ndarray activations,
                cnp.ndarray x, cnp.ndarray out):
    """The output a[L] of one sample x (1-D) into out (1-D), for the latency of `predict`.

    Returns True when done; False, with out untouched, when x holds NaN or infinity or the
    arrays are not all C-contiguous of one floating dtype (the caller then takes the general
    path, which converts or reports them). Checks every length it relies on.
    """
    cdef int kind = cnp.PyArray_TYPE(params)
    cdef Py_ssize_t n_layers
    cdef const Py_ssize_t* widths = <const Py_ssize_t*>cnp.PyArray_DATA(sizes)
    cdef const Py_ssize_t* codes = <const Py_ssize_t*>cnp.PyArray_DATA(activations)
    cdef bint done
    if not one_sample_arrays(params, sizes, activations, (x, out), (out,)):
        return False
    n_layers = checked_layers(params, sizes, activations)
    check_length("x", cnp.PyArray_DIM(x, 0), widths[0])
    check_length("out", cnp.PyArray_DIM(out, 0), widths[n_layers])
    load_blas(widths, n_layers, 1)
    if kind == cnp.NPY_FLOAT64:
        with nogil:
            done = forward_one_sample(<const double*>cnp.PyArray_DATA(params), widths, codes,
                                      n_layers, <const double*>cnp.PyArray_DATA(x),
                                      <double*>cnp.PyArray_DATA(out))
    else:
        with nogil:
            done = forward_one_sample(<const float*>cnp.PyArray_DATA(params), widths, codes,
                                      n_layers, <const float*>cnp.PyArray_DATA(x),
                                      <float*>cnp.PyArray_DATA(out))
    return done


cdef bint targets_fit(const floating* y, Py_ssize_t n_out, Py_ssize_t loss) noexcept nogil:
    # the checks of bpcore._validation.as_targets on one finite sample's targets
    cdef Py_ssize_t j
    cdef double total = 0.0
    if loss == MSE:
        return True
    for j in range(n_out):
        if not 0 <= y[j] <= 1:
            return False
        total += y[j]
    return loss == BINARY_CROSS_ENTROPY or fabs(total - 1.0) <= 1e-5


cdef int step_one_sample(floating* params, floating* velocity, const Py_ssize_t* sizes,
                         const Py_ssize_t* activations, Py_ssize_t n_layers, Py_ssize_t loss,
                         const floating* x, const floating* y, double lr, double momentum,
                         double weight_decay, double* cost) noexcept nogil:
    # One online SGD step, as an epoch of one sample does it. Returns 0 when x or y do not
    # pass the checks of the general path or memory ran out (nothing changed; the caller
    # takes the general path, which reports the input), 1 after the step, 2 when the cost
    # was not finite (nothing changed), 3 when the step made a parameter non-finite and was
    # undone.
    cdef Py_ssize_t units = total_units(sizes, n_layers), n_out = sizes[n_layers]
    cdef Py_ssize_t n_params = parameter_count(sizes, n_layers)
    cdef bint keep_velocity = momentum != 0
    cdef floating* scratch
    cdef floating* A
    cdef floating* D
    cdef floating* Z
    cdef floating* saved
    if not (all_finite(x, sizes[0]) and all_finite(y, n_out) and targets_fit(y, n_out, loss)):
        return 0
    scratch = <floating*>malloc((2 * units + n_out + n_params * (2 if keep_velocity else 1))
                                * sizeof(floating))
    if scratch == NULL:
        return 0
    A, D = scratch, scratch + units
    Z, saved = scratch + 2 * units, scratch + 2 * units + n_out
    network_forward(params, sizes, activations, n_layers, x, A, Z, 1)
    cost[0] = sample_loss(A + units - n_out, Z, y, n_out, loss)
    if not (cost[0] - cost[0] == 0):
        free(scratch)
        return 2
    network_backward(params, sizes, activations, n_layers, loss, y, A, D, 1)
    memcpy(saved, params, n_params * sizeof(floating))
    if keep_velocity:
        memcpy(saved + n_params, velocity, n_params * sizeof(floating))
    network_online_step(params, velocity, sizes, n_layers, x, A, D, lr, momentum, weight_decay)
    if all_finite(params, n_params):
        free(scratch)
        return 1
    memcpy(params, saved, n_params * sizeof(floating))
    if keep_velocity:
        memcpy(velocity, saved + n_params, n_params * sizeof(floating))
    free(scratch)
    return 3


def step_one(cnp.ndarray params, cnp.ndarray velocity, cnp.ndarray sizes,
             cnp.ndarray activations, Py_ssize_t loss, cnp.ndarray x, cnp.ndarray y,
             double lr, double momentum, double weight_decay):
    """One SGD step on one sample x, y (1-D), for the latency of `Network.step`.

    Returns None, with nothing changed, when x or y hold values the general path refuses
    (NaN, infinity, targets the loss does not accept) or the arrays are not all C-contiguous
    of one floating dtype: the caller then takes the general path, which converts or reports
    them. Otherwise returns (cost, outcome): the sample's cost before the step and 1 (stepped),
    2 (the cost was not finite: nothing changed) or 3 (a parameter became non-finite: the
    step was undone). Checks every length it relies on.
    """
    cdef int kind = cnp.PyArray_TYPE(params)
    cdef Py_ssize_t n_layers
    cdef const Py_ssize_t* widths = <const Py_ssize_t*>cnp.PyArray_DATA(sizes)
    cdef const Py_ssize_t* codes = <const Py_ssize_t*>cnp.PyArray_DATA(activations)
    cdef int outcome
    cdef double cost = 0.0
    if not one_sample_arrays(params, sizes, activations, (velocity, x, y), (params, velocity)):
        return None
    n_layers = checked_layers(params, sizes, activations)
    check_loss(loss, codes[n_layers - 1])
    check_length("velocity", cnp.PyArray_DIM(velocity, 0), cnp.PyArray_DIM(params, 0))
    check_length("x", cnp.PyArray_DIM(x, 0), widths[0])
    check_length("y", cnp.PyArray_DIM(y, 0), widths[n_layers])
    load_blas(widths, n_layers, 1)
    if kind == cnp.NPY_FLOAT64:
        with nogil:
            outcome = step_one_sample(
                <double*>cnp.PyArray_DATA(params), <double*>cnp.PyArray_DATA(velocity),
                widths, codes, n_layers, loss, <const double*>cnp.PyArray_DATA(x),
                <const double*>cnp.PyArray_DATA(y), lr, momentum, weight_decay, &cost)
    else:
        with nogil:
            outcome = step_one_sample(
                <float*>cnp.PyArray_DATA(params), <float*>cnp.PyArray_DATA(velocity),
                widths, codes, n_layers, loss, <const float*>cnp.PyArray_DATA(x),
                <const float*>cnp.PyArray_DATA(y), lr, momentum, weight_decay, &cost)
    return None if outcome == 0 else (cost, outcome)


def forward(const floating[::1] params, const Py_ssize_t[::1] sizes,
            const Py_ssize_t[::1] activations, const floating[:, ::1] X,
            floating[::1] A, floating[:, ::1] Z):
    """Forward pass of the n samples in the rows of X: fills A (every layer) and Z (z[L])."""
    cdef Py_ssize_t n_layers = check_network(sizes, activations, params.shape[0])
    cdef Py_ssize_t n = X.shape[0]
    check_length("X's second dimension", X.shape[1], sizes[0])
    check_length("A", A.shape[0], n * total_units(&sizes[0], n_layers))
    check_length("Z's first dimension", Z.shape[0], n)
    check_length("Z's second dimension", Z.shape[1], sizes[n_layers])
    if n == 0:
        return
    load_blas(&sizes[0], n_layers, n)
    with nogil:
        network_forward(&params[0], &sizes[0], &activations[0], n_layers, &X[0, 0], &A[0],
                        &Z[0, 0], n)


def backward(const floating[::1] params, const Py_ssize_t[::1] sizes,
             const Py_ssize_t[::1] activations, Py_ssize_t loss, const floating[:, ::1] Y,
             const floating[::1] A, floating[::1] D):
    """Local gradients delta[l] of every layer into D, from the activations A of `forward`."""
    cdef Py_ssize_t n_layers = check_network(sizes, activations, params.shape[0])
    cdef Py_ssize_t n = Y.shape[0]
    check_loss(loss, activations[n_layers - 1])
    check_length("Y's second dimension", Y.shape[1], sizes[n_layers])
    check_length("A", A.shape[0], n * total_units(&sizes[0], n_layers))
    check_length("D", D.shape[0], A.shape[0])
    if n == 0:
        return
    load_blas(&sizes[0], n_layers, n)
    with nogil:
        network_backward(&params[0], &sizes[0], &activations[0], n_layers, loss, &Y[0, 0],
                         &A[0], &D[0], n)


def parameter_gradients(const Py_ssize_t[::1] sizes, const floating[:, ::1] X,
                        const floating[::1] A, const floating[::1] D, floating[::1] grads):
    """Mean over the batch of dC/dW[l] = delta[l] a[l-1]^T and dC/db[l] = delta[l], into grads."""
    cdef Py_ssize_t n_layers = check_sizes(sizes)
    cdef Py_ssize_t n = X.shape[0]
    check_length("X's second dimension", X.shape[1], sizes[0])
    check_length("A", A.shape[0], n * total_units(&sizes[0], n_layers))
    check_length("D", D.shape[0], A.shape[0])
    check_length("grads", grads.shape[0], parameter_count(&sizes[0], n_layers))
    if n == 0:
        raise ValueError("X must hold at least one sample, got 0")
    load_blas(&sizes[0], n_layers, n)
    with nogil:
        network_gradients(&sizes[0], n_layers, &X[0, 0], &A[0], &D[0], &grads[0], n)


def batch_loss(Py_ssize_t loss, const floating[:, ::1] A_out, const floating[:, ::1] Z,
               const floating[:, ::1] Y):
    """Sum over the samples of the cost C, from the output activations and z[L]."""
    if loss not in (MSE, BINARY_CROSS_ENTROPY, CROSS_ENTROPY):
        raise ValueError(f"loss code {loss} is not valid")
    if not (A_out.shape[0] == Z.shape[0] == Y.shape[0] and A_out.shape[1] == Z.shape[1] == Y.shape[1]):
        raise ValueError("A_out, Z and Y must have the same shape")
    if A_out.shape[0] == 0 or A_out.shape[1] == 0:
        return 0.0
    cdef double total
    with nogil:
        total = batch_loss_sum(&A_out[0, 0], &Z[0, 0], &Y[0, 0], A_out.shape[0],
                               A_out.shape[1], loss)
    return total


def sgd_update(floating[::1] params, const floating[::1] grads, floating[::1] velocity,
               const Py_ssize_t[::1] sizes, double lr, double momentum, double weight_decay):
    """In place: v = momentum v - lr (g + weight_decay W); params += v (no decay on biases)."""
    cdef Py_ssize_t n_layers = check_sizes(sizes)
    check_length("params", params.shape[0], parameter_count(&sizes[0], n_layers))
    check_length("grads", grads.shape[0], params.shape[0])
    check_length("velocity", velocity.shape[0], params.shape[0])
    with nogil:
        network_update(&params[0], &grads[0], &velocity[0], &sizes[0], n_layers, lr, momentum,
                       weight_decay)


def train_epoch(floating[::1] params, floating[::1] velocity, const Py_ssize_t[::1] sizes,
                const Py_ssize_t[::1] activations, Py_ssize_t loss, const floating[:, ::1] X,
                const floating[:, ::1] Y, const Py_ssize_t[::1] order, Py_ssize_t batch_size,
                double lr, double momentum, double weight_decay):
    """One epoch of SGD over the rows X[order] in one GIL-free call; returns the summed loss.

    batch_size 1 is the online (per-sample) epoch; each batch takes one step with the mean
    gradient of its samples. Scratch is allocated once here, never per sample or per batch.
    """
    cdef Py_ssize_t n_layers = check_network(sizes, activations, params.shape[0])
    cdef Py_ssize_t i, n = X.shape[0], n_order = order.shape[0]
    check_loss(loss, activations[n_layers - 1])
    check_length("X's second dimension", X.shape[1], sizes[0])
    check_length("Y's second dimension", Y.shape[1], sizes[n_layers])
    check_length("Y", Y.shape[0], n)
    check_length("velocity", velocity.shape[0], params.shape[0])
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    for i in range(n_order):
        if not 0 <= order[i] < n:
            raise ValueError(f"order must hold row numbers in [0, {n}), got {order[i]}")
    if n_order == 0:
        return 0.0
    batch_size = min(batch_size, n_order)
    dtype = np.float32 if floating is float else np.float64
    cdef floating[:, ::1] X_batch = np.empty((batch_size, sizes[0]), dtype=dtype)
    cdef floating[:, ::1] Y_batch = np.empty((batch_size, sizes[n_layers]), dtype=dtype)
    cdef floating[::1] A = np.empty(batch_size * total_units(&sizes[0], n_layers), dtype=dtype)
    cdef floating[::1] D = np.empty(A.shape[0], dtype=dtype)
    cdef floating[:, ::1] Z = np.empty((batch_size, sizes[n_layers]), dtype=dtype)
    cdef floating[::1] sums = np.empty(max(sizes), dtype=dtype)
    cdef double total
    load_blas(&sizes[0], n_layers, batch_size)
    with nogil:
        total = epoch(&params[0], &velocity[0], &sizes[0], &activations[0], n_layers, loss,
                      &X[0, 0], &Y[0, 0], &order[0], n_order, batch_size, lr, momentum,
                      weight_decay, &X_batch[0, 0], &Y_batch[0, 0], &A[0], &Z[0, 0], &D[0],
                      &sums[0])
    return total

