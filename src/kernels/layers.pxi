# ---- 2. loops over one layer and over the whole network --------------------------------------

cdef void layer_forward(const floating* weights, const floating* biases,
                        const floating* inputs, floating* outputs, floating* z_out,
                        Py_ssize_t n, Py_ssize_t n_in, Py_ssize_t n_out,
                        Py_ssize_t activation, double* lse,
                        const floating* transposed) noexcept nogil:
    # z = W a_in + b and a = f(z) for n samples (rows); z_out keeps z when not NULL; lse: see
    # activate_rows; transposed: NULL, or W^T (n_in, n_out), the same weights, for BLAS
    cdef Py_ssize_t s, j, k
    cdef const floating* x
    cdef const floating* w
    cdef floating* y
    cdef floating acc
    cdef const floating* pending = NULL  # biases for activate_rows to add
    cdef double beta = 0.0
    if use_blas(n, n_in, n_out):
        # Z^T (n_out, n) = W (n_out, n_in) X^T (n_in, n), then b added to every row: by
        # activate_rows, in its pass over Z, unless z_out keeps z. One sample's product (a
        # gemv in BLAS) still starts from b: one row costs nothing to copy. (Where BLAS sums
        # a product in one piece, as OpenBLAS's small-matrix kernels do, the order makes no
        # difference; where it splits the sum, b joins it in another order than when Z
        # started from b: past a few hundred inputs with OpenBLAS.)
        if n == 1:
            memcpy(outputs, biases, n_out * sizeof(floating))
            beta = 1.0
        if transposed != NULL and n_in * n_out <= COPY_ENTRIES:
            # the same product with no operand transposed, to BLAS or to the own kernel where
            # it takes it: as predict's on a copy of W^T (copy_pays) takes it
            product(c'N', c'N', n_out, n, n_in, 1.0, transposed, n_out, inputs, n_in, beta,
                    outputs, n_out)
        elif transposed != NULL:  # plain SGD's W[0]^T of more weights than a copy holds
            gemm(c'N', c'N', n_out, n, n_in, 1.0, transposed, n_out, inputs, n_in, beta,
                 outputs, n_out)
        else:
            product(c'T', c'N', n_out, n, n_in, 1.0, weights, n_in, inputs, n_in, beta,
                    outputs, n_out)
        if n > 1:
            if z_out != NULL:
                add_rows(outputs, biases, n, n_out)
            else:
                pending = biases
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
    activate_rows(outputs, n, n_out, activation, lse, pending)


cdef void transpose(const floating* source, floating* target, Py_ssize_t rows,
                    Py_ssize_t cols) noexcept nogil:
    # target (cols, rows) = source (rows, cols)^T, a copy of every entry
    if floating is double:
        bpcore_transpose_d(source, target, rows, cols)
    else:
        bpcore_transpose_f(source, target, rows, cols)


# OpenBLAS's AVX-512 (SkylakeX) kernels run the forward product Z = A W^T (W stored
# (n_out, n_in), a transposed operand to BLAS) on a slow small-matrix path for batches of a
# few dozen rows: 64 -> 128 and 128 -> 64 in batches of 32 take 7.8 us, and 4.6 untransposed
# (EPYC Zen 4, float32; 13.6 against 9.2 in float64; benchmarks/forward_split.py). Where the
# untransposed product was 1.09 to 2.7 times as fast over a grid of shapes timed on that Zen 4
# (batches of 32 to 256, n_out >= 32, n_in <= 128, at most 2^18 multiply-adds), a forward pass
# copies W^T first (the blocked transpose of module.pxi, at most COPY_ENTRIES entries) and runs
# the product untransposed. Fewer rows, or more inputs, and the copy costs more than it saves.
# Only with those kernels (bpcore._blas asks OpenBLAS which it runs: takes_transposed_slow):
# its Haswell kernels, which AVX2 CPUs get, take both layouts at one speed, on an EPYC Zen 5
# with AVX-512 too (OPENBLAS_CORETYPE=Haswell), and there the copies only cost (2% to 3% of
# a 64-128-64-10 epoch in batches of 32, where with the SkylakeX kernels on the same CPU
# they save 7% to 13%).
cdef enum:
    COPY_ENTRIES = 8192  # 2^18 multiply-adds / 32 rows


cdef inline bint copy_pays(Py_ssize_t n, Py_ssize_t n_in, Py_ssize_t n_out,
                           bint single) noexcept nogil:
    # whether a forward product of n rows through n_in -> n_out, of float (single) or
    # double, runs on a fresh copy of W^T: with those kernels, or where the own kernel of
    # module.pxi takes the product (it runs only untransposed operands)
    if not use_blas(n, n_in, n_out):
        return False
    if n_in * n_out <= COPY_ENTRIES and own_takes(single, n, n_out, n_in, False):
        return True
    return (n >= 32 and n_out >= 32 and n_in <= 128 and n * n_in * n_out <= 32 * COPY_ENTRIES
            and takes_transposed_slow())


cdef bint copies_pay(const Py_ssize_t* sizes, Py_ssize_t n_layers, Py_ssize_t n,
                     bint single) noexcept nogil:
    # whether a forward pass of n rows copies any layer's W^T (so needs copy_t)
    cdef Py_ssize_t l
    for l in range(n_layers):
        if copy_pays(n, sizes[l], sizes[l + 1], single):
            return True
    return False


cdef void network_forward(const floating* params, const Py_ssize_t* sizes,
                          const Py_ssize_t* activations, Py_ssize_t n_layers,
                          const floating* X, floating* A, floating* Z,
                          Py_ssize_t n, double* lse, const floating* first_t,
                          floating* copy_t) noexcept nogil:
    # a[0] = x; z[l] = W[l] a[l-1] + b[l]; a[l] = f(z[l]), layer after layer; Z gets the
    # output layer's z, and lse (NULL: not wanted) each sample's logsumexp(z[L]) for a softmax
    # output (activate_rows); first_t: NULL, or W[0]^T (see first_transposed); copy_t: NULL,
    # or scratch of COPY_ENTRIES for a copy of W[l]^T where copy_pays
    cdef Py_ssize_t l, n_in, n_out
    cdef const floating* p = params
    cdef const floating* inputs = X
    cdef floating* outputs = A
    cdef const floating* transposed
    for l in range(n_layers):
        n_in = sizes[l]
        n_out = sizes[l + 1]
        transposed = first_t if l == 0 else NULL
        if (transposed == NULL and copy_t != NULL
                and copy_pays(n, n_in, n_out, floating is float)):
            transpose(p, copy_t, n_out, n_in)
            transposed = copy_t
        layer_forward(p, p + n_out * n_in, inputs, outputs,
                      Z if l == n_layers - 1 else NULL, n, n_in, n_out, activations[l],
                      lse if l == n_layers - 1 else NULL, transposed)
        p += n_out * (n_in + 1)
        inputs = outputs
        outputs += n * n_out


cdef void output_deltas(const Py_ssize_t* sizes, const Py_ssize_t* activations,
                        Py_ssize_t n_layers, Py_ssize_t loss, const floating* Y,
                        const floating* weights, const floating* A, floating* D,
                        Py_ssize_t n) noexcept nogil:
    # delta[L] = dC/da[L] * f'(z[L]) = (a - y) f'(z[L]) for mse, fused to a - y for
    # sigmoid + binary cross-entropy, softmax + cross-entropy and exp + poisson, into D's
    # last block. weights: NULL, or each sample's weight, which scales its delta[L] and so
    # (the map being linear) all of its local gradients: the weighted mean gradient is then
    # the plain mean
    cdef Py_ssize_t s, j, i
    cdef Py_ssize_t n_out = sizes[n_layers]
    cdef Py_ssize_t block = n * (total_units(sizes, n_layers) - n_out)  # start of layer L
    cdef const floating* a = A + block
    cdef floating* d = D + block
    for i in range(n * n_out):
        d[i] = a[i] - Y[i]
    if loss == MSE:
        times_derivative(d, a, n * n_out, activations[n_layers - 1])
    if weights != NULL:
        for s in range(n):
            for j in range(n_out):
                d[s * n_out + j] = d[s * n_out + j] * weights[s]


cdef void network_backward(const floating* params, const Py_ssize_t* sizes,
                           const Py_ssize_t* activations, Py_ssize_t n_layers, Py_ssize_t loss,
                           const floating* Y, const floating* weights, const floating* A,
                           floating* D, Py_ssize_t n) noexcept nogil:
    # every layer's local gradients delta[l] into D, for n samples (weights: see output_deltas)
    cdef Py_ssize_t l, s, j, k, n_here, n_next
    cdef Py_ssize_t block = n * (total_units(sizes, n_layers) - sizes[n_layers])
    cdef const floating* w
    cdef floating* d_row
    cdef const floating* d_next_row
    cdef floating d_j
    output_deltas(sizes, activations, n_layers, loss, Y, weights, A, D, n)
    # delta[l] = (W[l+1]^T delta[l+1]) * f'(z[l]), from the output back to the first layer
    for l in range(n_layers - 2, -1, -1):
        n_here = sizes[l + 1]
        n_next = sizes[l + 2]
        block -= n * n_here
        w = params + parameter_count(sizes, l + 1)  # W[l+1] follows the layers before it
        # one sample keeps the plain loops: the order of network_online_step's sums, so that
        # a one-sample step is this gradient and network_update to the bit
        if n > 1 and use_blas(n, n_here, n_next):
            # delta[l]^T (n_here, n) = W[l+1]^T (n_here, n_next) delta[l+1]^T (n_next, n)
            product(c'N', c'N', n_here, n, n_next, 1.0, w, n_here, D + block + n * n_here,
                    n_next, 0.0, D + block, n_here)
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


# Weight gradients are computed in blocks of rows of about GRADIENT_BLOCK entries, so that a
# mini-batch step can apply each block's update while it is still in cache, with scratch of one
# block instead of a gradient buffer the size of the network; network_gradients uses the same
# blocks, so that Network.gradients gives the numbers a mini-batch step applies (except where
# plain SGD folds its update into the product: network_batch_update). Each block is one BLAS
# call: 2^18 entries (1 MiB in float32) make a large layer's gradient four calls instead of
# sixteen: the large bench case's steps (784-1024-1024-10, batch 256, float32) on an Intel
# Xeon (family 6 model 207), 2^16 -> 2^18, builds alternating, best of five: Nesterov 13.6 to
# 12.3 ms, Adam 15.5 to 12.9, Rprop 14.7 to 12.9; 2^21 (whole layers) gained little more.
# (When plain SGD's step still went through blocks, 2^16 to 2^22 had measured alike for it.)
cdef Py_ssize_t GRADIENT_BLOCK = 1 << 18


cdef inline Py_ssize_t block_rows(Py_ssize_t n_in) noexcept nogil:
    return max(1, GRADIENT_BLOCK // n_in)


cdef Py_ssize_t gradient_scratch(const Py_ssize_t* sizes, Py_ssize_t n_layers) noexcept nogil:
    # the entries of the largest block of weight gradients, or of bias gradients
    cdef Py_ssize_t l, largest = 1
    for l in range(n_layers):
        largest = max(largest, min(block_rows(sizes[l]), sizes[l + 1]) * sizes[l],
                      sizes[l + 1])
    return largest


cdef void weight_gradients(const floating* inputs, const floating* deltas, Py_ssize_t n,
                           Py_ssize_t n_in, Py_ssize_t n_out, Py_ssize_t first,
                           Py_ssize_t rows, floating* g) noexcept nogil:
    # rows first .. first + rows - 1 of one layer's dC/dW = mean over the n samples of
    # delta[l] a[l-1]^T, into g (rows, n_in); `deltas` is the layer's (n, n_out) block
    cdef Py_ssize_t s, j, k
    cdef floating d_j
    cdef floating* row
    cdef floating scale = <floating>(1.0 / n)
    if n > 1 and use_blas(n, n_in, n_out):  # one sample: the axpy loops below win
        # dC/dW^T (n_in, rows) = scale * a[l-1]^T (n_in, n) delta[l][:, rows] (n, rows)
        product(c'N', c'T', n_in, rows, n, scale, inputs, n_in, deltas + first, n_out, 0.0,
                g, n_in)
        return
    for k in range(rows * n_in):
        g[k] = 0
    for s in range(n):
        for j in range(rows):
            d_j = deltas[s * n_out + first + j]
            row = g + j * n_in
            for k in range(n_in):
                row[k] = row[k] + d_j * inputs[s * n_in + k]
    for k in range(rows * n_in):
        g[k] = g[k] * scale


cdef enum:
    BIAS_LANES = 32  # columns of one pass of bias_gradients' sums


cdef void bias_gradients(const floating* deltas, Py_ssize_t n, Py_ssize_t n_out,
                         floating* g) noexcept nogil:
    # dC/db = mean over the n samples of delta[l], into g (n_out): each column summed in
    # sample order, BIAS_LANES columns at a time in a local block, which the compiler keeps
    # in vector registers where it has enough (AVX: 32 floats or doubles in 4 or 8 of its
    # 16). Summed in g itself, each sample's add waited on the store of the last (3% of a
    # 64-128-64-10 mini-batch step, perf, float32).
    cdef Py_ssize_t s, j, first = 0
    cdef floating scale = <floating>(1.0 / n)
    cdef floating sums[BIAS_LANES]
    while first + BIAS_LANES <= n_out:
        for j in range(BIAS_LANES):
            sums[j] = 0
        for s in range(n):
            for j in range(BIAS_LANES):
                sums[j] = sums[j] + deltas[s * n_out + first + j]
        for j in range(BIAS_LANES):
            g[first + j] = sums[j] * scale
        first += BIAS_LANES
    for j in range(first, n_out):
        g[j] = 0
    for s in range(n):
        for j in range(first, n_out):
            g[j] = g[j] + deltas[s * n_out + j]
    for j in range(first, n_out):
        g[j] = g[j] * scale


cdef void network_gradients(const Py_ssize_t* sizes, Py_ssize_t n_layers,
                            const floating* X, const floating* A, const floating* D,
                            floating* grads, Py_ssize_t n) noexcept nogil:
    # dC/dW[l] = mean over samples of delta[l] a[l-1]^T;  dC/db[l] = mean of delta[l]
    cdef Py_ssize_t l, first, n_in, n_out, rows, block = 0
    cdef floating* g = grads
    cdef const floating* inputs = X
    for l in range(n_layers):
        n_in = sizes[l]
        n_out = sizes[l + 1]
        rows = block_rows(n_in)
        first = 0
        while first < n_out:
            weight_gradients(inputs, D + block, n, n_in, n_out, first,
                             min(rows, n_out - first), g + first * n_in)
            first += rows
        g += n_out * n_in
        bias_gradients(D + block, n, n_out, g)
        g += n_out
        inputs = A + block
        block += n * n_out
