# ---- 4. whole steps and epochs, GIL-free: no Python per sample or batch ------------------------


cdef void batch_step(Py_ssize_t optimizer, floating* params, floating* state, double* settings,
                     const Py_ssize_t* sizes, const Py_ssize_t* activations,
                     Py_ssize_t n_layers, Py_ssize_t loss, const floating* X,
                     const floating* Y, const floating* weights, Py_ssize_t n, floating* A,
                     floating* Z, floating* D, floating* grads, double* lse, double* cost,
                     bint clipped_loss, floating* first_t, floating* copy_t) noexcept nogil:
    # one optimizer step on the batch X, Y of n samples with their mean gradient, fused into
    # the update (block by block with the scratch `grads`); cost gets the batch's summed loss
    # before the step (clipped_loss: the cross-entropies as scikit-learn computes them);
    # weights (NULL: none) scale each sample's loss and gradient; lse: scratch of n entries;
    # first_t: NULL, or W[0]^T standing in for W[0] (first_transposed); copy_t: NULL, or
    # scratch for network_forward's copies of W^T
    cdef Py_ssize_t units = total_units(sizes, n_layers), n_out = sizes[n_layers]
    network_forward(params, sizes, activations, n_layers, X, A, Z, n, lse, first_t, copy_t)
    if clipped_loss and (loss == BINARY_CROSS_ENTROPY or loss == CROSS_ENTROPY):
        cost[0] = clipped_loss_sum(A + n * (units - n_out), Y, weights, n, n_out, loss,
                                   machine_epsilon(params))
    else:
        cost[0] = batch_loss_sum(A + n * (units - n_out), Z, Y, weights, n, n_out, loss,
                                 lse if activations[n_layers - 1] == SOFTMAX else NULL)
    if n == 1:
        network_online_step(optimizer, params, state, sizes, activations, n_layers, loss, X,
                            Y, weights, A, D, settings)
    else:
        network_backward(params, sizes, activations, n_layers, loss, Y, weights, A, D, n)
        network_batch_update(optimizer, params, state, sizes, n_layers, X, A, D, n, grads,
                             settings, first_t)


# The first layer's forward product Z = A W[0]^T, with W[0] stored (n_out, n_in), is one with
# a transposed operand to BLAS, which OpenBLAS's AVX-512 (SkylakeX) kernels run on a slow
# path in the small-matrix regime: 7.9 us against 4.6 untransposed for a batch of 32 through
# 64 -> 128 (float32, benchmarks/forward_split.py). Unlike every later layer, the first has no
# backward product that needs W[0] as it is, so an epoch of plain SGD mini-batches (whose
# update is the gradient's product itself) keeps W[0]^T instead, transposed once at the start
# and back at the end: the first layer's forward product then runs untransposed, and its
# update (W[0]^T += -lr/n a[0]^T delta) is an A^T B product as every gradient's is. (Other
# optimizers update W[0] element by element with their state, as stored: their steps, and
# every layer's forward product, copy W^T afresh where that pays, see copy_pays.)
# Only in the small-matrix regime (at most SMALL_PRODUCT multiply-adds): beyond it BLAS packs
# both operands whatever their layout, and a transpose of a large W[0] is not free.
cdef Py_ssize_t SMALL_PRODUCT = 1 << 20


cdef inline bint first_transposed(Py_ssize_t optimizer, double* settings,
                                  const Py_ssize_t* sizes, Py_ssize_t n) noexcept nogil:
    # whether a step on n samples runs with W[0]^T (the batches of epoch's scratch first_t)
    return (optimizer == SGD and sgd_kind(settings, True) == 3 and n > 1
            and n * sizes[0] * sizes[1] <= SMALL_PRODUCT and use_blas(n, sizes[0], sizes[1]))


cdef inline double machine_epsilon(const floating* params) noexcept nogil:
    # the parameters' dtype's epsilon (numpy.finfo(dtype).eps), by the fused type
    return 1.1920928955078125e-07 if floating is float else 2.220446049250313e-16


cdef inline Py_ssize_t decay_slot(Py_ssize_t optimizer) noexcept nogil:
    # where an optimizer's weight_decay sits in its settings
    if optimizer == SGD:
        return 3
    return 4 if optimizer == ADAM else 5


cdef double squared_weights(const floating* params, const Py_ssize_t* sizes,
                            Py_ssize_t n_layers) noexcept nogil:
    # sum of W[l]^2 over every layer's weights (not the biases), in float64
    cdef Py_ssize_t l, i, n_weights, offset = 0
    cdef double total = 0.0
    for l in range(n_layers):
        n_weights = sizes[l + 1] * sizes[l]
        for i in range(n_weights):
            total += <double>params[offset + i] * <double>params[offset + i]
        offset += n_weights + sizes[l + 1]
    return total


cdef double epoch(Py_ssize_t optimizer, floating* params, floating* state, double* settings,
                  const Py_ssize_t* sizes, const Py_ssize_t* activations, Py_ssize_t n_layers,
                  Py_ssize_t loss, const floating* X, const floating* Y,
                  const floating* weights, const Py_ssize_t* order, Py_ssize_t n_order,
                  Py_ssize_t batch_size, floating* X_batch, floating* Y_batch,
                  floating* W_batch, floating* A, floating* Z, floating* D,
                  floating* grads, double* lse, bint summed_penalty, double* records,
                  bint clipped_loss, floating* first_t, floating* copy_t) noexcept nogil:
    # One pass over the samples in `order`, one step per batch; returns the summed loss of
    # every sample (times its weight, unless weights is NULL), each measured just before the
    # step that uses it. With summed_penalty, weight decay is an L2 penalty on each batch's
    # summed loss (scikit-learn's alpha): the batch's gradient is the weighted mean
    # sum w g / sum w and its weight decay the optimizer's divided by the batch's weight sum
    # S (its row count without weights); a batch of weight sum 0 takes no step. records
    # (NULL: none) gets one row per batch: its summed loss as stepped, S, and sum W^2 just
    # before its step. clipped_loss: the cross-entropies' values as scikit-learn computes
    # them (from the probabilities clipped to [eps, 1 - eps]). first_t: NULL, or scratch for
    # W[0]^T (sizes[0] x sizes[1]) for the batches first_transposed takes; W[0] is up to date
    # on return and whenever a batch is not one of them or records are made. copy_t: NULL,
    # or scratch of COPY_ENTRIES for the forward products' copies of W^T (copy_pays).
    cdef Py_ssize_t start = 0, s, b, row, batch = 0
    cdef bint live = False  # whether first_t holds the current W[0], not params
    cdef Py_ssize_t n_in = sizes[0], n_out = sizes[n_layers]
    cdef Py_ssize_t slot = decay_slot(optimizer)
    cdef double total = 0.0, cost, weight_sum, decay = settings[slot]
    cdef const floating* x
    cdef const floating* y
    cdef const floating* w = NULL
    while start < n_order:
        b = batch_size if start + batch_size <= n_order else n_order - start
        if b == 1:  # one sample: its own rows of X and Y, no copy
            x = X + order[start] * n_in
            y = Y + order[start] * n_out
            if start + 1 < n_order:
                # the next sample's rows, shuffled and so at random in X and Y: fetched
                # while this step runs (64-128-64-10 online, 2 MB of X: 2% of the epoch)
                bpcore_prefetch(X + order[start + 1] * n_in, n_in * sizeof(floating))
                bpcore_prefetch(Y + order[start + 1] * n_out, n_out * sizeof(floating))
            if weights != NULL:
                w = weights + order[start]
        else:
            for s in range(b):
                row = order[start + s]
                memcpy(X_batch + s * n_in, X + row * n_in, n_in * sizeof(floating))
                memcpy(Y_batch + s * n_out, Y + row * n_out, n_out * sizeof(floating))
            # the next batch's rows, at random in X and Y: fetched while this step runs
            # (64-128-64-10 in batches of 32, float64: the gathers took 5% of an epoch)
            for s in range(start + b, min(start + 2 * b, n_order)):
                bpcore_prefetch(X + order[s] * n_in, n_in * sizeof(floating))
                bpcore_prefetch(Y + order[s] * n_out, n_out * sizeof(floating))
            x, y = X_batch, Y_batch
            if weights != NULL:
                for s in range(b):
                    W_batch[s] = weights[order[start + s]]
                w = W_batch
        weight_sum = b
        if weights != NULL:
            weight_sum = 0.0
            for s in range(b):
                weight_sum += weights[order[start + s]]
        if records != NULL:
            records[3 * batch + 1] = weight_sum
            records[3 * batch + 2] = squared_weights(params, sizes, n_layers)
        cost = 0.0
        if summed_penalty:
            settings[slot] = decay / weight_sum
            if weights != NULL and b == 1:
                w = NULL  # sum w g / sum w of one sample is its own gradient
            elif weights != NULL:
                for s in range(b):  # to mean 1 in the batch: sum w g / sum w
                    W_batch[s] = <floating>(W_batch[s] * (b / weight_sum))
        if first_t != NULL and records == NULL and first_transposed(optimizer, settings,
                                                                    sizes, b):
            if not live:
                transpose(params, first_t, sizes[1], sizes[0])
                live = True
        elif live:
            transpose(first_t, params, sizes[0], sizes[1])
            live = False
        if not (summed_penalty and weight_sum == 0):
            batch_step(optimizer, params, state, settings, sizes, activations, n_layers, loss,
                       x, y, w, b, A, Z, D, grads, lse, &cost, clipped_loss,
                       first_t if live else NULL, copy_t)
        if records != NULL:
            records[3 * batch] = cost
        total += cost
        start += b
        batch += 1
    if live:
        transpose(first_t, params, sizes[0], sizes[1])
    settings[slot] = decay
    return total


cdef enum:
    LINE = 64  # a cache line, in bytes


cdef inline Py_ssize_t lines(Py_ssize_t size) noexcept nogil:
    # `size` bytes rounded up to whole cache lines (at least one)
    return max(1, (size + LINE - 1) // LINE) * LINE


cdef double epoch_in_scratch(Py_ssize_t optimizer, floating* params, floating* state,
                             double* settings, const Py_ssize_t* sizes,
                             const Py_ssize_t* activations, Py_ssize_t n_layers, Py_ssize_t loss,
                             const floating* X, const floating* Y, const floating* weights,
                             const Py_ssize_t* order, Py_ssize_t n_order, Py_ssize_t batch_size,
                             bint summed_penalty, double* records, bint clipped_loss,
                             bint* out_of_memory) noexcept nogil:
    # `epoch` with its scratch, for train_epoch and step_rows alike (so that a step is an
    # epoch's batch to the bit, in the same layouts): 1 <= batch_size <= n_order, and BLAS
    # loaded (load_blas) for batch_size. Sets out_of_memory, with nothing changed, when the
    # scratch cannot be had.
    # The scratch: one allocation, each block on a cache line of its own (aligned loads; see
    # bpcore/_layout.py's ALIGNMENT), none per sample or batch
    cdef Py_ssize_t units = total_units(sizes, n_layers), n_out = sizes[n_layers]
    cdef Py_ssize_t item = sizeof(floating)
    cdef Py_ssize_t x_bytes = lines(batch_size * sizes[0] * item)
    cdef Py_ssize_t y_bytes = lines(batch_size * n_out * item)
    cdef Py_ssize_t a_bytes = lines(batch_size * units * item)  # A, and D alike
    cdef Py_ssize_t w_bytes = lines(batch_size * item)
    cdef Py_ssize_t lse_bytes = lines(batch_size * sizeof(double))  # logsumexps, for softmax
    # a block of gradients for mini-batches; an online step fuses its gradient into the update
    cdef Py_ssize_t g_bytes = lines(
        (gradient_scratch(sizes, n_layers) if batch_size > 1 else 1) * item)
    # W[0]^T, where the epoch's batches, or its last shorter one, take it (first_transposed)
    cdef bint transposable = records == NULL and (
        first_transposed(optimizer, settings, sizes, batch_size)
        or first_transposed(optimizer, settings, sizes, n_order % batch_size))
    cdef Py_ssize_t t_bytes = lines(sizes[0] * sizes[1] * item) if transposable else 0
    # the forward products' copies of W^T, where the batches take them (copy_pays)
    cdef Py_ssize_t c_bytes = lines(COPY_ENTRIES * item) if (
        copies_pay(sizes, n_layers, batch_size, floating is float)
        or copies_pay(sizes, n_layers, n_order % batch_size, floating is float)) else 0
    # PyMem_RawMalloc: tracemalloc sees it (the bench's memory rows), and no GIL is needed
    cdef char* raw = <char*>PyMem_RawMalloc(x_bytes + 2 * y_bytes + 2 * a_bytes + w_bytes
                                            + lse_bytes + g_bytes + t_bytes + c_bytes + LINE)
    if raw == NULL:
        out_of_memory[0] = True
        return 0.0
    cdef char* X_batch = raw + (LINE - <size_t>raw % LINE) % LINE
    cdef char* Y_batch = X_batch + x_bytes
    cdef char* Z = Y_batch + y_bytes
    cdef char* A = Z + y_bytes
    cdef char* D = A + a_bytes
    cdef char* W_batch = D + a_bytes
    cdef char* lse = W_batch + w_bytes
    cdef char* grads = lse + lse_bytes
    cdef char* first_t = grads + g_bytes if transposable else NULL
    cdef char* copy_t = grads + g_bytes + t_bytes if c_bytes > 0 else NULL
    cdef double total = epoch(optimizer, params, state, settings, sizes, activations, n_layers,
                              loss, X, Y, weights, order, n_order, batch_size,
                              <floating*>X_batch, <floating*>Y_batch, <floating*>W_batch,
                              <floating*>A, <floating*>Z, <floating*>D, <floating*>grads,
                              <double*>lse, summed_penalty, records, clipped_loss,
                              <floating*>first_t, <floating*>copy_t)
    PyMem_RawFree(raw)
    return total


cdef struct StepCopy:
    # what a step changes, kept to undo it, in one allocation: the settings, then the
    # parameters and the state (the dtype's entries; after whole doubles, so aligned)
    double* settings
    void* values


cdef bint keep_step(StepCopy* copy, const floating* params, Py_ssize_t n_params,
                    const floating* state, Py_ssize_t n_state, const double* settings,
                    Py_ssize_t n_settings) noexcept nogil:
    # copies of the parameters, the n_state state entries and the settings into `copy`;
    # False, with nothing kept, when memory ran out
    copy.settings = <double*>malloc(n_settings * sizeof(double)
                                    + (n_params + n_state) * sizeof(floating))
    if copy.settings == NULL:
        return False
    copy.values = copy.settings + n_settings
    cdef floating* values = <floating*>copy.values
    memcpy(copy.settings, settings, n_settings * sizeof(double))
    memcpy(values, params, n_params * sizeof(floating))
    memcpy(values + n_params, state, n_state * sizeof(floating))
    return True


cdef void end_step(StepCopy* copy, bint undo, floating* params, Py_ssize_t n_params,
                   floating* state, Py_ssize_t n_state, double* settings,
                   Py_ssize_t n_settings) noexcept nogil:
    # the step's parameters, state and settings back from `copy` when undo; frees the copy
    cdef const floating* values = <const floating*>copy.values
    if undo:
        memcpy(params, values, n_params * sizeof(floating))
        memcpy(state, values + n_params, n_state * sizeof(floating))
        memcpy(settings, copy.settings, n_settings * sizeof(double))
    free(copy.settings)


cdef inline int stepped(Py_ssize_t optimizer, const double* settings,
                        const floating* params, Py_ssize_t n_params, const floating* state,
                        Py_ssize_t n_state) noexcept nogil:
    # after a step: 1 when the parameters and the optimizer's state are finite, 3 when a
    # parameter is not, 4 when only the state is not (Adam's v, squared gradients, overflows
    # float32 while the step, about lr, keeps the parameters finite). The state is read only
    # where the step changes it: not plain SGD's velocity (momentum 0), as Optimizer's
    # changes_state says
    if not all_finite(params, n_params):
        return 3
    if optimizer == SGD and settings[1] == 0:
        return 1
    return 1 if all_finite(state, n_state) else 4


cdef int step_one_sample(Py_ssize_t optimizer, floating* params, floating* state,
                         double* settings, Py_ssize_t n_settings, Py_ssize_t n_state,
                         const Py_ssize_t* sizes, const Py_ssize_t* activations,
                         Py_ssize_t n_layers, Py_ssize_t loss, const floating* x,
                         const floating* y, double* cost) noexcept nogil:
    # One step on one sample, as an epoch of one sample takes it. Returns 0 when x or y do not
    # pass the checks of the general path or memory ran out (nothing changed; the caller
    # takes the general path, which reports the input), 1 after the step, 2 when the cost
    # was not finite (nothing changed), 3 when the step made a parameter non-finite and 4
    # when it made the optimizer's state non-finite (see stepped): both undone (parameters,
    # state and settings restored).
    cdef Py_ssize_t units = total_units(sizes, n_layers), n_out = sizes[n_layers]
    cdef Py_ssize_t n_params = parameter_count(sizes, n_layers), n_entries = n_state * n_params
    cdef floating* A
    cdef StepCopy copy
    cdef double lse
    cdef int outcome
    if not rows_fit(x, sizes[0], y, n_out, 1, loss):
        return 0
    A = <floating*>malloc((2 * units + n_out) * sizeof(floating))  # A, then D, then Z
    if A == NULL:
        return 0
    network_forward(params, sizes, activations, n_layers, x, A, A + 2 * units, 1, &lse, NULL,
                    NULL)
    cost[0] = sample_loss(A + units - n_out, A + 2 * units, y, n_out, loss,
                          &lse if activations[n_layers - 1] == SOFTMAX else NULL)
    if not (cost[0] - cost[0] == 0):
        free(A)
        return 2
    if not keep_step(&copy, params, n_params, state, n_entries, settings, n_settings):
        free(A)
        return 0
    network_online_step(optimizer, params, state, sizes, activations, n_layers, loss, x, y,
                        NULL, A, A + units, settings)
    outcome = stepped(optimizer, settings, params, n_params, state, n_entries)
    end_step(&copy, outcome != 1, params, n_params, state, n_entries, settings, n_settings)
    free(A)
    return outcome


cdef int step_rows_batch(Py_ssize_t optimizer, floating* params, floating* state,
                         double* settings, Py_ssize_t n_settings, Py_ssize_t n_state,
                         const Py_ssize_t* sizes, const Py_ssize_t* activations,
                         Py_ssize_t n_layers, Py_ssize_t loss, const floating* X,
                         const floating* Y, Py_ssize_t n, double* cost) noexcept nogil:
    # One step on the batch of the n >= 1 rows of X, Y, as an epoch of that one batch takes
    # it (epoch_in_scratch, the rows in order, BLAS loaded for n); cost gets the batch's
    # summed cost before the step. Returns 0 when a row of X or Y does not pass the checks of
    # the general path (nothing changed; the caller takes that path, which reports it), -1
    # when memory ran out (nothing changed), 1 after the step, 2 when the cost was not
    # finite, 3 when the step made a parameter non-finite and 4 the optimizer's state (see
    # stepped): in all three the step is undone (parameters, state and settings restored).
    cdef Py_ssize_t s, n_out = sizes[n_layers]
    cdef Py_ssize_t n_params = parameter_count(sizes, n_layers), n_entries = n_state * n_params
    cdef Py_ssize_t* order
    cdef StepCopy copy
    cdef bint out_of_memory = False
    cdef int outcome = 2
    if not rows_fit(X, sizes[0], Y, n_out, n, loss):
        return 0
    order = <Py_ssize_t*>malloc(n * sizeof(Py_ssize_t))
    if order == NULL:
        return -1
    if not keep_step(&copy, params, n_params, state, n_entries, settings, n_settings):
        free(order)
        return -1
    for s in range(n):
        order[s] = s
    cost[0] = epoch_in_scratch(optimizer, params, state if n_state > 0 else NULL, settings,
                               sizes, activations, n_layers, loss, X, Y, NULL, order, n, n,
                               False, NULL, False, &out_of_memory)
    free(order)
    if out_of_memory:  # nothing changed
        end_step(&copy, False, params, n_params, state, n_entries, settings, n_settings)
        return -1
    if cost[0] - cost[0] == 0:
        outcome = stepped(optimizer, settings, params, n_params, state, n_entries)
    end_step(&copy, outcome != 1, params, n_params, state, n_entries, settings, n_settings)
    return outcome


cdef bint forward_one_sample(const floating* params, const Py_ssize_t* sizes,
                             const Py_ssize_t* activations, Py_ssize_t n_layers,
                             const floating* x, floating* out,
                             floating* scratch) noexcept nogil:
    # network_forward for one sample into out, with scratch of total_units + sizes[-1]
    # entries; False if x is not finite (the caller then takes the general path, which
    # reports it)
    cdef Py_ssize_t units = total_units(sizes, n_layers), n_out = sizes[n_layers]
    if not all_finite(x, sizes[0]):
        return False
    network_forward(params, sizes, activations, n_layers, x, scratch, scratch + units, 1,
                    NULL, NULL, NULL)
    memcpy(out, scratch + units - n_out, n_out * sizeof(floating))
    return True


cdef bint forward_rows_sample(const floating* params, const Py_ssize_t* sizes,
                              const Py_ssize_t* activations, Py_ssize_t n_layers,
                              const floating* X, Py_ssize_t n, floating* out, floating* scratch,
                              floating* copy_t) noexcept nogil:
    # network_forward for the n rows of X into out (n, sizes[-1]), with scratch of
    # n * (total_units + sizes[-1]) entries and copy_t as the forward wrapper's (the same
    # products, the same bits); False if X is not finite (the caller then takes the general
    # path, which reports it)
    cdef Py_ssize_t units = total_units(sizes, n_layers), n_out = sizes[n_layers]
    if not all_finite(X, n * sizes[0]):
        return False
    network_forward(params, sizes, activations, n_layers, X, scratch, scratch + n * units, n,
                    NULL, NULL, copy_t)
    memcpy(out, scratch + n * (units - n_out), n * n_out * sizeof(floating))
    return True


cdef double loss_gradients_all(const floating* params, const Py_ssize_t* sizes,
                               const Py_ssize_t* activations, Py_ssize_t n_layers,
                               Py_ssize_t loss, const floating* X, const floating* Y,
                               const floating* weights, Py_ssize_t n, floating* A, floating* Z,
                               floating* D, floating* grads, floating* copy_t) noexcept nogil:
    # the summed (weighted) loss of the n samples and their mean gradient into grads: what
    # full-batch methods such as L-BFGS evaluate, once per iteration; copy_t: as forward's
    cdef Py_ssize_t units = total_units(sizes, n_layers), n_out = sizes[n_layers]
    cdef double total
    network_forward(params, sizes, activations, n_layers, X, A, Z, n, NULL, NULL, copy_t)
    total = batch_loss_sum(A + n * (units - n_out), Z, Y, weights, n, n_out, loss, NULL)
    network_backward(params, sizes, activations, n_layers, loss, Y, weights, A, D, n)
    network_gradients(sizes, n_layers, X, A, D, grads, n)
    return total
