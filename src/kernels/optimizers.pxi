# ---- 3. optimizers: one GIL-free update rule each, and the walks over the layers ------------
#
# An optimizer's update rule is one inline point function: it moves one parameter p, given its
# gradient g, with the optimizer's state for that parameter (entries `stride` apart, one per
# state array) and hyperparameters read once per block. Two loops apply it: to a block of
# parameters with a gradient vector (mini-batches, Network.step), and to a row of weights whose
# gradient is the outer-product row d_j * x of one sample (the fused online step: one pass over
# the weights, no gradient buffer). Weight decay applies to the weights only (`decay`).
# Settings and state are named in bpcore/_spec.py OPTIMIZERS. Adding an optimizer:
# CONTRIBUTING.md.


# -- SGD. settings: lr, momentum, nesterov, weight_decay; state: the velocity v.
# PyTorch's formulation: g += weight_decay p; v = momentum v + g; p -= lr v, or with Nesterov
# momentum p -= lr (g + momentum v). With momentum 0 this is plain SGD, p -= lr g, and the
# velocity is left alone.

cdef inline void sgd_point(floating* p, floating g, floating* v, floating lr, floating momentum,
                           floating weight_decay, int kind) noexcept nogil:
    # kind: 0 plain, 1 momentum, 2 Nesterov momentum, 3 plain without weight decay (a
    # constant in each loop below). Kind 3 skips g + 0 p, which for every finite p gives
    # the same p - lr g bits as kind 0 (g + 0 p differs from g only for g = -0 and p +0 or
    # positive, where p - lr (-0) and p - lr (+0) are both p; for p = -0 they are not, but
    # there g + 0 p is g) with half the arithmetic of the online step's update loop
    if kind == 3:
        p[0] = p[0] - lr * g
        return
    g = g + weight_decay * p[0]
    if kind == 0:
        p[0] = p[0] - lr * g
    else:
        v[0] = momentum * v[0] + g
        if kind == 2:
            g = g + momentum * v[0]
        else:
            g = v[0]
        p[0] = p[0] - lr * g


cdef inline int sgd_kind(const double* settings, bint decay) noexcept nogil:
    if settings[1] == 0:
        return 0 if decay and settings[3] != 0 else 3
    return 2 if settings[2] != 0 else 1


cdef inline void sgd_update(floating* params, const floating* grads, floating* state,
                     Py_ssize_t stride, Py_ssize_t n, const double* settings,
                     bint decay) noexcept nogil:
    cdef Py_ssize_t i
    cdef floating lr = <floating>settings[0], momentum = <floating>settings[1]
    cdef floating weight_decay = <floating>(settings[3] if decay else 0.0)
    cdef int kind = sgd_kind(settings, decay)
    if kind == 3:  # one loop each, so that each compiles without a branch inside
        for i in range(n):
            sgd_point(&params[i], grads[i], &state[i], lr, momentum, weight_decay, 3)
    elif kind == 0:
        for i in range(n):
            sgd_point(&params[i], grads[i], &state[i], lr, momentum, weight_decay, 0)
    elif kind == 1:
        for i in range(n):
            sgd_point(&params[i], grads[i], &state[i], lr, momentum, weight_decay, 1)
    else:
        for i in range(n):
            sgd_point(&params[i], grads[i], &state[i], lr, momentum, weight_decay, 2)


cdef inline void sgd_update_outer(floating* params, floating d, const floating* x, floating* state,
                           Py_ssize_t stride, Py_ssize_t n, const double* settings,
                           bint decay) noexcept nogil:
    cdef Py_ssize_t i
    cdef floating lr = <floating>settings[0], momentum = <floating>settings[1]
    cdef floating weight_decay = <floating>(settings[3] if decay else 0.0)
    cdef int kind = sgd_kind(settings, decay)
    # the gradient as network_gradients computes it for one sample: 0 + d x_i
    if kind == 3:
        for i in range(n):
            sgd_point(&params[i], <floating>0 + d * x[i], &state[i], lr, momentum,
                      weight_decay, 3)
    elif kind == 0:
        for i in range(n):
            sgd_point(&params[i], <floating>0 + d * x[i], &state[i], lr, momentum,
                      weight_decay, 0)
    elif kind == 1:
        for i in range(n):
            sgd_point(&params[i], <floating>0 + d * x[i], &state[i], lr, momentum,
                      weight_decay, 1)
    else:
        for i in range(n):
            sgd_point(&params[i], <floating>0 + d * x[i], &state[i], lr, momentum,
                      weight_decay, 2)


# -- Adam (AdamW when decoupled). settings: lr, beta1, beta2, eps, weight_decay, decoupled,
# eps_hat, step; state: the moments m and v, `stride` entries apart. PyTorch's formulation:
# g += weight_decay p (or, decoupled, p *= 1 - lr weight_decay); m = beta1 m + (1 - beta1) g;
# v = beta2 v + (1 - beta2) g^2; p -= lr / (1 - beta1^t) m / (sqrt(v) / sqrt(1 - beta2^t) + eps).
# With eps_hat (scikit-learn's and Keras' formulation) eps is added to the uncorrected sqrt(v),
# which is the same as eps / sqrt(1 - beta2^t) in the formula above.

cdef struct AdamStep:
    # one step's constants, read and rounded to the parameters' precision once per block;
    # passed by value so that the loops see plain locals (no aliasing with the parameters)
    double lr, beta1, beta2, eps, weight_decay, step_size, inverse_bias2_sqrt
    bint decoupled


cdef inline AdamStep adam_step(const double* settings, bint decay) noexcept nogil:
    # the step's constants, from the settings (the step count t already advanced)
    cdef AdamStep a
    cdef double t = settings[ADAM_SETTINGS - 1]
    a.lr, a.beta1, a.beta2, a.eps = settings[0], settings[1], settings[2], settings[3]
    a.weight_decay = settings[4] if decay else 0.0
    a.decoupled = settings[5] != 0
    a.step_size = a.lr / (1.0 - pow(a.beta1, t))
    a.inverse_bias2_sqrt = 1.0 / sqrt(1.0 - pow(a.beta2, t))
    if settings[6] != 0:  # eps_hat: eps added to the uncorrected sqrt(v)
        a.eps = a.eps * a.inverse_bias2_sqrt
    return a


cdef inline void adam_point(floating* p, floating g, floating* m, floating* v, AdamStep a,
                            bint decoupled) noexcept nogil:
    # every operation in the parameters' precision, as the fallback's NumPy does; the
    # constants' casts do not depend on the parameter and are hoisted out of the loops;
    # sqrt(v) is multiplied by 1 / sqrt(1 - beta2^t), not divided by sqrt(1 - beta2^t): one
    # division per parameter fewer (Adam's step was 1.52x SGD's on the mid float64 case,
    # now 1.38x), within a rounding of PyTorch's numbers
    if decoupled:
        p[0] = p[0] * <floating>(1.0 - a.lr * a.weight_decay)
    else:
        g = g + <floating>a.weight_decay * p[0]
    m[0] = m[0] + <floating>(1.0 - a.beta1) * (g - m[0])
    v[0] = v[0] * <floating>a.beta2 + <floating>(1.0 - a.beta2) * g * g
    p[0] = p[0] - <floating>a.step_size * m[0] / (
        <floating>sqrt(v[0]) * <floating>a.inverse_bias2_sqrt + <floating>a.eps)


cdef inline void adam_update(floating* params, const floating* grads, floating* state,
                             Py_ssize_t stride, Py_ssize_t n, const double* settings,
                             bint decay) noexcept nogil:
    cdef Py_ssize_t i
    cdef AdamStep a = adam_step(settings, decay)
    if a.decoupled:  # two loops, so that each compiles without a branch inside
        for i in range(n):
            adam_point(&params[i], grads[i], &state[i], &state[i + stride], a, True)
    else:
        for i in range(n):
            adam_point(&params[i], grads[i], &state[i], &state[i + stride], a, False)


cdef inline void adam_update_outer(floating* params, floating d, const floating* x,
                                   floating* state, Py_ssize_t stride, Py_ssize_t n,
                                   AdamStep a) noexcept nogil:
    # a: the step's constants, made once per layer by the caller (made here, two pow() per
    # row, a one-sample Adam step of a 4-4-4-1 network took 1.87-1.99 us; 1.6-1.7 now)
    cdef Py_ssize_t i
    # the gradient as network_gradients computes it for one sample: 0 + d x_i
    if a.decoupled:
        for i in range(n):
            adam_point(&params[i], <floating>0 + d * x[i], &state[i], &state[i + stride], a,
                       True)
    else:
        for i in range(n):
            adam_point(&params[i], <floating>0 + d * x[i], &state[i], &state[i + stride], a,
                       False)


# -- Rprop, the iRprop- variant. settings: lr (the first step size), eta_minus, eta_plus,
# step_min, step_max, weight_decay, step; state: each parameter's step size s and previous
# gradient, `stride` entries apart. PyTorch's formulation: g += weight_decay p; where g has the
# previous gradient's sign, s = min(s eta_plus, step_max); where the sign flipped,
# s = max(s eta_minus, step_min) and g = 0 (that parameter does not move this time and the
# next step counts as a fresh start); then p -= sign(g) s and the previous gradient = g.
# Step 1 starts every s at lr (the state's step sizes are not read).

cdef struct RpropStep:
    double lr, eta_minus, eta_plus, step_min, step_max, weight_decay


cdef inline RpropStep rprop_step(const double* settings, bint decay) noexcept nogil:
    cdef RpropStep r
    r.lr, r.eta_minus, r.eta_plus = settings[0], settings[1], settings[2]
    r.step_min, r.step_max = settings[3], settings[4]
    r.weight_decay = settings[5] if decay else 0.0
    return r


cdef inline void rprop_point(floating* p, floating g, floating* s, floating* previous,
                             RpropStep r, bint first) noexcept nogil:
    # every choice a selection of values, never a branch around work: the signs are
    # unpredictable, and with -fno-trapping-math the loops vectorise into blends
    cdef floating size = <floating>r.lr if first else s[0]
    cdef floating product, sign
    g = g + <floating>r.weight_decay * p[0]
    product = g * previous[0]
    size = size * (<floating>r.eta_plus if product > 0 else
                   (<floating>r.eta_minus if product < 0 else <floating>1))
    size = <floating>r.step_min if size < <floating>r.step_min else size
    size = <floating>r.step_max if size > <floating>r.step_max else size
    g = <floating>0 if product < 0 else g  # a flipped sign: no move now, a fresh start next
    sign = <floating>1 if g > 0 else (<floating>-1 if g < 0 else <floating>0)
    p[0] = p[0] - sign * size
    s[0] = size
    previous[0] = g


cdef inline void rprop_update(floating* params, const floating* grads, floating* state,
                              Py_ssize_t stride, Py_ssize_t n, const double* settings,
                              bint decay) noexcept nogil:
    cdef Py_ssize_t i
    cdef RpropStep r = rprop_step(settings, decay)
    if settings[6] == 1:  # two loops, so that each compiles without a branch inside
        for i in range(n):
            rprop_point(&params[i], grads[i], &state[i], &state[i + stride], r, True)
    else:
        for i in range(n):
            rprop_point(&params[i], grads[i], &state[i], &state[i + stride], r, False)


cdef inline void rprop_update_outer(floating* params, floating d, const floating* x,
                                    floating* state, Py_ssize_t stride, Py_ssize_t n,
                                    const double* settings, bint decay) noexcept nogil:
    cdef Py_ssize_t i
    cdef RpropStep r = rprop_step(settings, decay)
    # the gradient as network_gradients computes it for one sample: 0 + d x_i
    if settings[6] == 1:
        for i in range(n):
            rprop_point(&params[i], <floating>0 + d * x[i], &state[i], &state[i + stride], r,
                        True)
    else:
        for i in range(n):
            rprop_point(&params[i], <floating>0 + d * x[i], &state[i], &state[i + stride], r,
                        False)


# -- the switches from optimizer codes to update loops

cdef inline void begin_step(Py_ssize_t optimizer, double* settings) noexcept nogil:
    # once per step, before a walk: where an optimizer advances scalar state it keeps at the
    # end of `settings`: Adam's and Rprop's step counts; SGD keeps none
    if optimizer == ADAM:
        settings[ADAM_SETTINGS - 1] = settings[ADAM_SETTINGS - 1] + 1
    elif optimizer == RPROP:
        settings[RPROP_SETTINGS - 1] = settings[RPROP_SETTINGS - 1] + 1


cdef inline void update_block(Py_ssize_t optimizer, floating* params, const floating* grads,
                              floating* state, Py_ssize_t stride, Py_ssize_t n,
                              const double* settings, bint decay) noexcept nogil:
    if optimizer == SGD:
        sgd_update(params, grads, state, stride, n, settings, decay)
    elif optimizer == ADAM:
        adam_update(params, grads, state, stride, n, settings, decay)
    elif optimizer == RPROP:
        rprop_update(params, grads, state, stride, n, settings, decay)


cdef inline void update_outer(Py_ssize_t optimizer, floating* params, floating d,
                              const floating* x, floating* state, Py_ssize_t stride,
                              Py_ssize_t n, const double* settings, bint decay,
                              const AdamStep* adam) noexcept nogil:
    # adam: Adam's constants of this step, with and without weight decay (adam[decay])
    if optimizer == SGD:
        sgd_update_outer(params, d, x, state, stride, n, settings, decay)
    elif optimizer == ADAM:
        adam_update_outer(params, d, x, state, stride, n, adam[1 if decay else 0])
    elif optimizer == RPROP:
        rprop_update_outer(params, d, x, state, stride, n, settings, decay)


# -- the walks over the layers

cdef void network_update(Py_ssize_t optimizer, floating* params, const floating* grads,
                         floating* state, const Py_ssize_t* sizes, Py_ssize_t n_layers,
                         double* settings) noexcept nogil:
    # one step from a gradient vector: every layer's weights with weight decay, then its biases
    cdef Py_ssize_t l, n_weights, offset = 0
    cdef Py_ssize_t stride = parameter_count(sizes, n_layers)
    begin_step(optimizer, settings)
    for l in range(n_layers):
        n_weights = sizes[l + 1] * sizes[l]
        update_block(optimizer, params + offset, grads + offset, state + offset, stride,
                     n_weights, settings, True)
        offset += n_weights
        update_block(optimizer, params + offset, grads + offset, state + offset, stride,
                     sizes[l + 1], settings, False)
        offset += sizes[l + 1]


cdef void network_batch_update(Py_ssize_t optimizer, floating* params, floating* state,
                               const Py_ssize_t* sizes, Py_ssize_t n_layers, const floating* X,
                               const floating* A, const floating* D, Py_ssize_t n,
                               floating* g, double* settings, floating* first_t) noexcept nogil:
    # One step with the batch's mean gradient, computed block by block (network_gradients'
    # blocks, the same numbers) into the scratch g and applied while it is in cache; plain
    # SGD without weight decay instead adds a BLAS layer's update to W in its gradient's
    # product (the same sum, rounded in another order: not network_gradients' numbers), and
    # to first_t instead of W[0] when first_t is not NULL (see first_transposed).
    cdef Py_ssize_t l, first, rows, n_in, n_out, block = 0, offset = 0
    cdef Py_ssize_t stride = parameter_count(sizes, n_layers)
    cdef const floating* inputs = X
    begin_step(optimizer, settings)
    for l in range(n_layers):
        n_in = sizes[l]
        n_out = sizes[l + 1]
        rows = block_rows(n_in)
        first = 0
        if (optimizer == SGD and sgd_kind(settings, True) == 3 and n > 1
                and use_blas(n, n_in, n_out)):
            # plain SGD without weight decay: W += (-lr / n) delta^T a[l-1] in the product
            # itself, the gradient never written to scratch and read back (one rounding
            # order of the same sum; large mini-batch case 11% faster)
            if l == 0 and first_t != NULL:  # W[0]^T += (-lr / n) a[0]^T delta
                product(c'N', c'T', n_out, n_in, n, -settings[0] / n, D + block, n_out,
                        inputs, n_in, 1.0, first_t, n_out)
            else:
                product(c'N', c'T', n_in, n_out, n, -settings[0] / n, inputs, n_in,
                        D + block, n_out, 1.0, params + offset, n_in)
            first = n_out
        while first < n_out:
            weight_gradients(inputs, D + block, n, n_in, n_out, first,
                             min(rows, n_out - first), g)
            update_block(optimizer, params + offset + first * n_in, g,
                         state + offset + first * n_in, stride,
                         min(rows, n_out - first) * n_in, settings, True)
            first += rows
        offset += n_out * n_in
        bias_gradients(D + block, n, n_out, g)
        update_block(optimizer, params + offset, g, state + offset, stride, n_out, settings,
                     False)
        offset += n_out
        inputs = A + block
        block += n * n_out


cdef void online_layer_update(Py_ssize_t optimizer, floating* layer, floating* state,
                              Py_ssize_t stride, Py_ssize_t n_in, Py_ssize_t n_out,
                              const floating* inputs, const floating* d, floating* d_in,
                              double* settings) noexcept nogil:
    # network_online_step's pass over one layer (W then b, at `layer`) for every optimizer
    # but plain SGD: row j's share of delta[l-1] (d_in, NULL for the first layer), then its
    # update. A function of its own, so that Adam's constants (made here once per layer, not
    # per row, for a step whose count is already advanced) do not weigh on the plain path's
    # frame: with them in network_online_step, the 4-4-4-1 SGD epoch went from 205 to 265 ns
    # per sample on a Xeon (model 167).
    cdef Py_ssize_t j, k
    cdef floating* w
    cdef floating d_j
    cdef AdamStep adam[2]
    if optimizer == ADAM:
        adam[0] = adam_step(settings, False)
        adam[1] = adam_step(settings, True)
    for j in range(n_out):
        w = layer + j * n_in
        d_j = d[j]
        if d_in != NULL:  # delta[l-1] += W[l][j, :] delta_j, before row j changes
            for k in range(n_in):
                d_in[k] = d_in[k] + w[k] * d_j
        update_outer(optimizer, w, d_j, inputs, state + j * n_in, stride, n_in, settings,
                     True, adam)
    # the biases: gradient 1 * delta, without weight decay
    update_outer(optimizer, layer + n_out * n_in, <floating>1, d, state + n_out * n_in,
                 stride, n_out, settings, False, adam)


cdef void network_online_step(Py_ssize_t optimizer, floating* params, floating* state,
                              const Py_ssize_t* sizes, const Py_ssize_t* activations,
                              Py_ssize_t n_layers, Py_ssize_t loss, const floating* x,
                              const floating* y, const floating* weights, const floating* A,
                              floating* D, double* settings) noexcept nogil:
    # One sample's step after its forward pass (A), backpropagation fused into the update: one
    # pass over the parameters, from the output layer back. Each row j of W[l] is read once
    # for its share W[l][j, :] delta_j of W[l]^T delta[l] (with the weights before the step,
    # as backpropagation has it) and then, while in cache, updated with its gradient
    # delta_j a[l-1]^T; then delta[l-1] = (W[l]^T delta[l]) * f'(z[l-1]). The same numbers
    # as network_backward's plain loops, network_gradients (n = 1) and network_update, with
    # the weights streamed from memory once instead of three times (backward, gradient,
    # update) and without a gradient buffer. weights: see output_deltas.
    cdef Py_ssize_t l, j, k, n_in, n_out
    cdef Py_ssize_t stride = parameter_count(sizes, n_layers), offset = stride
    cdef Py_ssize_t block = total_units(sizes, n_layers)
    cdef const floating* inputs
    cdef const floating* d
    cdef floating* d_in
    cdef floating* w
    cdef floating d_j
    cdef bint plain = optimizer == SGD and sgd_kind(settings, True) == 3, sparse
    cdef floating lr = <floating>settings[0]
    output_deltas(sizes, activations, n_layers, loss, y, weights, A, D, 1)
    begin_step(optimizer, settings)
    for l in range(n_layers - 1, -1, -1):
        n_in = sizes[l]
        n_out = sizes[l + 1]
        offset -= n_out * (n_in + 1)  # layer l's parameters: W[l] then b[l]
        block -= n_out  # layer l's units in A and D
        d = D + block
        inputs = x if l == 0 else A + block - n_in
        d_in = NULL
        if l > 0:
            d_in = D + block - n_in  # delta[l-1]
            for k in range(n_in):
                d_in[k] = 0
        if plain:
            # plain SGD without weight decay (sgd_point's kind 3, the same operations),
            # with no dispatch per row: what small layers (4-4-4-1) spend their time on.
            # A hidden ReLU unit that did not fire has delta_j = +-0, and its row would only
            # add +-0 W[l][j, k] to delta[l-1] (a sum that starts at +0 is never -0, so that
            # changes no bit) and subtract lr (0 + +-0 a_k) = +0 from each weight (no change
            # either): such rows are skipped, about half of a ReLU layer's, while a[l-1] is
            # finite (an infinite a_k would make 0 a_k NaN). An infinite weight would make
            # +-0 W[l][j, k] NaN too: after a step that overflowed (a diverged epoch, which
            # fit undoes) the skipped rows can leave NaN out of delta[l-1] that a full pass
            # would spread.
            sparse = (l < n_layers - 1 and activations[l] == RELU
                      and all_finite(inputs, n_in))
            for j in range(n_out):
                d_j = d[j]
                if sparse and d_j == 0:
                    continue
                w = params + offset + j * n_in
                if l > 0:
                    for k in range(n_in):
                        d_in[k] = d_in[k] + w[k] * d_j
                for k in range(n_in):
                    w[k] = w[k] - lr * (<floating>0 + d_j * inputs[k])
            w = params + offset + n_out * n_in
            for j in range(n_out):
                w[j] = w[j] - lr * (<floating>0 + <floating>1 * d[j])
        else:
            online_layer_update(optimizer, params + offset, state + offset, stride, n_in,
                                n_out, inputs, d, d_in, settings)
        if l > 0:
            times_derivative(d_in, A + block - n_in, n_in, activations[l - 1])
