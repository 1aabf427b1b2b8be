# ---- 5. the checks of the Python-facing wrappers: every length the loops rely on -----------

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
    """One valid activation code per layer (softmax and exp only last) and params of the right
    length."""
    cdef Py_ssize_t l
    if n_codes != n_layers:
        raise ValueError(f"activations must hold {n_layers} codes, got {n_codes}")
    for l in range(n_layers):
        if not IDENTITY <= codes[l] <= EXP or (
                (codes[l] == SOFTMAX or codes[l] == EXP) and l < n_layers - 1):
            raise ValueError(f"activation code {codes[l]} is not valid for layer {l}")
    check_length("params", n_params, parameter_count(sizes, n_layers))
    return 0


cdef Py_ssize_t check_network(const Py_ssize_t[::1] sizes, const Py_ssize_t[::1] activations,
                              Py_ssize_t n_params) except -1:
    """Return the number of weight layers after checking sizes, activation codes and params."""
    cdef Py_ssize_t n_layers = check_sizes(sizes)
    if activations.shape[0] != n_layers:  # before &activations[0], an empty view's included
        raise ValueError(f"activations must hold {n_layers} codes, got {activations.shape[0]}")
    check_codes_and_params(&sizes[0], n_layers, &activations[0], n_layers, n_params)
    return n_layers


cdef check_length(str name, Py_ssize_t got, Py_ssize_t expected):
    if got != expected:
        raise ValueError(f"{name} must have {expected} entries, got {got}")


cdef check_loss(Py_ssize_t loss, Py_ssize_t output_activation):
    if loss not in (MSE, BINARY_CROSS_ENTROPY, CROSS_ENTROPY, POISSON):
        raise ValueError(f"loss code {loss} is not valid")
    # the pairings of bpcore/_spec.py pairing_error
    if ((loss == CROSS_ENTROPY) != (output_activation == SOFTMAX)
            or (loss == POISSON) != (output_activation == EXP)
            or (loss == BINARY_CROSS_ENTROPY and output_activation != SIGMOID)):
        raise ValueError(f"loss code {loss} does not fit output activation {output_activation}")


cdef inline bint vector_of(cnp.ndarray array, int kind):
    # a 1-D C-contiguous, aligned array of dtype number `kind` in this machine's byte order
    return (cnp.PyArray_NDIM(array) == 1 and cnp.PyArray_IS_C_CONTIGUOUS(array)
            and cnp.PyArray_TYPE(array) == kind and cnp.PyArray_ISNOTSWAPPED(array)
            and cnp.PyArray_ISALIGNED(array))


cdef inline bint rows_of(cnp.ndarray array, int kind):
    # a 2-D C-contiguous, aligned array of dtype number `kind` in this machine's byte order
    return (cnp.PyArray_NDIM(array) == 2 and cnp.PyArray_IS_C_CONTIGUOUS(array)
            and cnp.PyArray_TYPE(array) == kind and cnp.PyArray_ISNOTSWAPPED(array)
            and cnp.PyArray_ISALIGNED(array))


cdef bint one_sample_arrays(cnp.ndarray params, cnp.ndarray sizes, cnp.ndarray activations,
                            tuple floats, tuple written):
    """What the one-sample wrappers take: params float32 or float64 and `floats` of its dtype,
    sizes and activations intp, every array 1-D, C-contiguous, aligned and in this machine's
    byte order (`vector_of`), `written` writeable."""
    cdef int kind = cnp.PyArray_TYPE(params)
    if kind != cnp.NPY_FLOAT64 and kind != cnp.NPY_FLOAT32:
        return False
    if not (vector_of(params, kind) and vector_of(sizes, cnp.NPY_INTP)
            and vector_of(activations, cnp.NPY_INTP)):
        return False
    for array in floats:
        if not vector_of(array, kind):
            return False
    for array in written:
        if not cnp.PyArray_ISWRITEABLE(array):
            return False
    return True


cdef Py_ssize_t checked_layers(cnp.ndarray params, cnp.ndarray sizes,
                               cnp.ndarray activations) except -1:
    """The number of weight layers, after checking the widths, the codes and params' length."""
    cdef Py_ssize_t n_layers = cnp.PyArray_DIM(sizes, 0) - 1
    cdef const Py_ssize_t* widths = <const Py_ssize_t*>cnp.PyArray_DATA(sizes)
    check_widths(widths, n_layers)
    check_codes_and_params(widths, n_layers, <const Py_ssize_t*>cnp.PyArray_DATA(activations),
                           cnp.PyArray_DIM(activations, 0), cnp.PyArray_DIM(params, 0))
    return n_layers




cdef Py_ssize_t step_arguments(cnp.ndarray params, cnp.ndarray state, cnp.ndarray sizes,
                               cnp.ndarray activations, Py_ssize_t loss, Py_ssize_t optimizer,
                               cnp.ndarray settings, tuple samples, int ndim) except -2:
    """The checks step_one and step_rows share: the number of weight layers, or -1 when the
    arrays are not what they take (one_sample_arrays, `samples` of params' dtype with `ndim`
    dimensions as vector_of or rows_of, settings a writeable float64 vector); errors for
    inconsistent ones."""
    cdef int kind = cnp.PyArray_TYPE(params)
    if not one_sample_arrays(params, sizes, activations, (state,), (params, state)):
        return -1
    for array in samples:
        if not (vector_of(array, kind) if ndim == 1 else rows_of(array, kind)):
            return -1
    if not vector_of(settings, cnp.NPY_FLOAT64) or not cnp.PyArray_ISWRITEABLE(settings):
        return -1
    cdef Py_ssize_t n_layers = checked_layers(params, sizes, activations)
    check_loss(loss, (<const Py_ssize_t*>cnp.PyArray_DATA(activations))[n_layers - 1])
    check_optimizer(optimizer, cnp.PyArray_DIM(settings, 0), cnp.PyArray_DIM(state, 0),
                    cnp.PyArray_DIM(params, 0))
    return n_layers


# settings entries and state arrays of each optimizer, by code (bpcore/_spec.py OPTIMIZERS)
cdef Py_ssize_t[N_OPTIMIZERS] SETTINGS_LENGTH = [SGD_SETTINGS, ADAM_SETTINGS, RPROP_SETTINGS]
cdef Py_ssize_t[N_OPTIMIZERS] STATE_ARRAYS = [SGD_STATE, ADAM_STATE, RPROP_STATE]


cdef int check_optimizer(Py_ssize_t optimizer, Py_ssize_t n_settings, Py_ssize_t n_state,
                         Py_ssize_t n_params) except -1:
    """A known optimizer code, settings of its length and state of its arrays' length."""
    if not 0 <= optimizer < N_OPTIMIZERS:
        raise ValueError(f"optimizer code {optimizer} is not valid")
    check_length("settings", n_settings, SETTINGS_LENGTH[optimizer])
    check_length("state", n_state, STATE_ARRAYS[optimizer] * n_params)
    return 0


cdef const floating* weights_of(const floating[::1] weights, Py_ssize_t n) except? NULL:
    # the samples' weights: NULL (none) for an empty vector, else one per sample
    if weights.shape[0] == 0:
        return NULL
    check_length("weights", weights.shape[0], n)
    return &weights[0]
