# ---- 6. the Python-facing wrappers: check, release the GIL, call the loops above ------------

ACTIVATIONS = {"identity": IDENTITY, "sigmoid": SIGMOID, "tanh": TANH, "relu": RELU,
               "leaky_relu": LEAKY_RELU, "softmax": SOFTMAX, "exp": EXP}
LOSSES = {"mse": MSE, "binary_cross_entropy": BINARY_CROSS_ENTROPY,
          "cross_entropy": CROSS_ENTROPY, "poisson": POISSON}
OPTIMIZERS = {"sgd": SGD, "adam": ADAM, "rprop": RPROP}
# the rest of bpcore/_spec.py as compiled in, for the test that compares them
LIMITS = {"MAX_WIDTH": MAX_WIDTH, "MAX_LAYERS": MAX_LAYERS, "LEAKY_SLOPE": LEAKY_SLOPE,
          "ROW_SUM_TOLERANCE": ROW_SUM_TOLERANCE}
OPTIMIZER_SHAPES = {code: (SETTINGS_LENGTH[code], STATE_ARRAYS[code])
                    for code in range(N_OPTIMIZERS)}
# the most multiply-adds of the first layer's product (per batch) with which a plain SGD epoch
# keeps W[0] transposed (epochs.pxi's SMALL_PRODUCT), for the bench's account of the layouts
FIRST_LAYER_TRANSPOSED_UP_TO = SMALL_PRODUCT


cdef bint bounds_checked():
    # Whether Cython checks memoryview bounds in this build (the boundscheck directive, on
    # only with BPCORE_DEBUG=1): index 1 of a length-1 view, inside a longer array so that
    # the unchecked read stays within memory.
    cdef double[::1] probe = np.zeros(2)[:1]
    cdef Py_ssize_t i = 1
    try:
        probe[i] = 0
    except IndexError:
        return True
    return False


# True in a debug build (BPCORE_DEBUG=1), whose memoryview accesses are bounds-checked
BOUNDS_CHECKED = bounds_checked()


def blas_loaded():
    """Whether SciPy's BLAS has been loaded for the large matrix products."""
    return blas_is_loaded()


cdef int load_blas_as_a_step() except -1:
    # SciPy's BLAS loaded as a training step of a layer big enough for it would load it
    cdef Py_ssize_t sizes[2]
    sizes[0], sizes[1] = 64, 64
    return load_blas(sizes, 1, 32)


def blas_kernels():
    """The name OpenBLAS gives the kernels it runs ("Haswell", "SkylakeX", ...) for SciPy's
    BLAS, loaded first as a fit would load it; they decide whether forward products run on
    copies of W^T (forward_copies). "" where that BLAS is not OpenBLAS or SciPy is missing."""
    load_blas_as_a_step()
    if not blas_is_loaded():
        return ""
    from scipy.linalg import cython_blas
    from bpcore._blas import core_name
    return core_name(cython_blas.__file__)


def forward_copies(Py_ssize_t n, Py_ssize_t n_in, Py_ssize_t n_out, bint single=False):
    """Whether a training step's forward product of n rows through n_in -> n_out inputs and
    outputs, in float32 (single) or float64, runs untransposed on a copy of W^T (with this
    BLAS and its kernels, loaded first as the step would load them), for the bench's account
    of the layouts."""
    cdef Py_ssize_t sizes[2]
    if n < 1 or n_in < 1 or n_out < 1:
        raise ValueError(f"n, n_in and n_out must be at least 1, got {n}, {n_in}, {n_out}")
    sizes[0], sizes[1] = n_in, n_out
    load_blas(sizes, 1, n)
    return copy_pays(n, n_in, n_out, single)


def matrix_product(const floating[:, ::1] X not None, const floating[:, ::1] Y not None,
                   floating[:, ::1] C not None, double alpha=1.0, double beta=0.0,
                   bint x_transposed=False, bint own=True, Py_ssize_t repeats=1):
    """C = alpha op(X) Y + beta C in place (op(X) = X^T where x_transposed), by the own kernel
    of the training steps' small products (own) or by BLAS's gemm, whatever own_takes would
    choose: for the tests, which check the kernel on its edges, and repeated `repeats` times
    in one call for benchmarks/own_products.py. ValueError where the shapes do not fit, or
    own is asked where it cannot run (see own_products_run)."""
    cdef Py_ssize_t m = C.shape[0], n = C.shape[1], k = X.shape[0] if x_transposed else X.shape[1]
    cdef Py_ssize_t r
    if (X.shape[1] if x_transposed else X.shape[0]) != m or Y.shape[0] != k or Y.shape[1] != n:
        raise ValueError(f"shapes do not fit: X {tuple(X.shape)[:2]}, Y {tuple(Y.shape)[:2]}, "
                         f"C {tuple(C.shape)[:2]}, x_transposed {bool(x_transposed)}")
    if m == 0 or n == 0 or k == 0:
        raise ValueError("every dimension must be at least 1")
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    if own and not OWN_RUNS:
        raise ValueError("the own kernel does not run on this CPU (no AVX2 and FMA)")
    load_blas_as_a_step()
    if not own and not blas_is_loaded():
        raise ValueError("SciPy's BLAS is not available")
    with nogil:
        for r in range(repeats):
            if not own:  # gemm's column-major terms: C^T (n, m) = Y^T (n, k) op(X)^T (k, m)
                gemm(c'N', c'T' if x_transposed else c'N', n, m, k, alpha, &Y[0, 0], n,
                     &X[0, 0], X.shape[1], beta, &C[0, 0], n)
            elif floating is double:
                bpcore_own_product_d(m, n, k, alpha, &X[0, 0], X.shape[1], x_transposed,
                                     &Y[0, 0], n, beta, &C[0, 0], n)
            else:
                bpcore_own_product_f(m, n, k, <float>alpha, &X[0, 0], X.shape[1], x_transposed,
                                     &Y[0, 0], n, <float>beta, &C[0, 0], n)


def own_products_run():
    """Whether this module's own small-product kernel can run on this CPU (x86-64 with AVX2
    and FMA); whether the training steps take it is own_products_taken."""
    return bool(OWN_RUNS)


def own_products_taken():
    """Whether the training steps' small products go to this module's own kernel (where
    own_takes says so) rather than to BLAS: the CPU runs it and bpcore._blas decided so from
    the BLAS's kernels (loaded first, as a step would load them), or a test told it so."""
    load_blas_as_a_step()
    return bool(OWN_RUNS and takes_own_products())


cdef enum:
    # Networks with at most this many units (all layers, plus the output's z) run
    # `forward_one` on scratch on the stack: no malloc and free per call;
    STACK_UNITS = 512
    # and with fewer parameters than this the call keeps the GIL: releasing and taking it
    # back costs more than the arithmetic of such a network
    GIL_FREE_PARAMS = 4096
    # and `permutation` of fewer rows than this (tens of microseconds)
    GIL_FREE_ROWS = 65536
    # and `step_direct` keeps the end of settings it writes the scalar state into (the
    # optimizers have one scalar, the step count; longer scalars go the general path)
    MAX_SCALARS = 8


def permutation(Py_ssize_t n, Py_ssize_t seed):
    """A new intp array holding 0 .. n-1 in an order drawn from `seed` (in [0, 2^63)): the
    rows of an epoch, shuffled at about a quarter of NumPy's permutation's time. The same n
    and seed give the same order on every machine and in both kernel modules."""
    if n < 0:
        raise ValueError(f"n must be at least 0, got {n}")
    if seed < 0:
        raise ValueError(f"seed must be at least 0, got {seed}")
    cdef cnp.ndarray order = np.empty(n, dtype=np.intp)
    cdef Py_ssize_t* data = <Py_ssize_t*>cnp.PyArray_DATA(order)
    if n < GIL_FREE_ROWS:
        bpcore_permutation(data, n, <uint64_t>seed)
    else:
        with nogil:
            bpcore_permutation(data, n, <uint64_t>seed)
    return order


def samples_fit(cnp.ndarray X not None, cnp.ndarray Y not None, Py_ssize_t loss):
    """Whether the samples X and targets Y pass the general path's checks as they are: both
    2-D, C-contiguous, aligned, in this machine's byte order and of one dtype, float32 or
    float64, with the same number of rows and at least one row and column; finite; and
    targets `loss` accepts, each row's sum within half the tolerance of 1 for the
    cross-entropy (targets_fit: the general path sums in another order, so a row near the
    edge is left to it). `Network`'s checks of training data in one pass, without NumPy's
    temporary arrays; False sends the caller to the general path, which converts, decides
    and reports. Widths are the caller's to check."""
    cdef int kind = cnp.PyArray_TYPE(X)
    cdef Py_ssize_t n = cnp.PyArray_DIM(X, 0) if cnp.PyArray_NDIM(X) == 2 else 0
    cdef bint fit
    if loss not in (MSE, BINARY_CROSS_ENTROPY, CROSS_ENTROPY, POISSON):
        raise ValueError(f"loss code {loss} is not valid")
    if ((kind != cnp.NPY_FLOAT64 and kind != cnp.NPY_FLOAT32) or not rows_of(X, kind)
            or not rows_of(Y, kind) or n == 0 or cnp.PyArray_DIM(Y, 0) != n
            or cnp.PyArray_DIM(X, 1) == 0 or cnp.PyArray_DIM(Y, 1) == 0):
        return False
    with nogil:
        if kind == cnp.NPY_FLOAT64:
            fit = rows_fit(<const double*>cnp.PyArray_DATA(X), cnp.PyArray_DIM(X, 1),
                           <const double*>cnp.PyArray_DATA(Y), cnp.PyArray_DIM(Y, 1), n, loss)
        else:
            fit = rows_fit(<const float*>cnp.PyArray_DATA(X), cnp.PyArray_DIM(X, 1),
                           <const float*>cnp.PyArray_DATA(Y), cnp.PyArray_DIM(Y, 1), n, loss)
    return fit


def forward_one(cnp.ndarray params not None, cnp.ndarray sizes not None,
                cnp.ndarray activations not None, cnp.ndarray x not None):
    """The output a[L] of one sample x (1-D), as a new 1-D array: the latency of `predict`.

    Returns None when x is not what the network takes as it is (NaN or infinity, another
    length) or the arrays are not all 1-D, C-contiguous, aligned and in native byte order, of
    one floating dtype (sizes and activations intp): the caller then takes the general path,
    which converts or reports them. Checks every length it relies on, with no allocation but the output's.
    """
    cdef int kind = cnp.PyArray_TYPE(params)
    cdef Py_ssize_t n_layers, units
    cdef cnp.npy_intp n_out
    cdef const Py_ssize_t* widths
    cdef const Py_ssize_t* codes
    cdef double stack64[STACK_UNITS]  # one per dtype: no float read through a double
    cdef float stack32[STACK_UNITS]
    cdef void* stack = <void*>stack64 if kind == cnp.NPY_FLOAT64 else <void*>stack32
    cdef void* scratch
    cdef cnp.ndarray out
    cdef bint done
    if ((kind != cnp.NPY_FLOAT64 and kind != cnp.NPY_FLOAT32) or not vector_of(params, kind)
            or not vector_of(x, kind) or not vector_of(sizes, cnp.NPY_INTP)
            or not vector_of(activations, cnp.NPY_INTP)):
        return None
    n_layers = checked_layers(params, sizes, activations)
    widths = <const Py_ssize_t*>cnp.PyArray_DATA(sizes)
    codes = <const Py_ssize_t*>cnp.PyArray_DATA(activations)
    if cnp.PyArray_DIM(x, 0) != widths[0]:
        return None
    n_out = widths[n_layers]
    units = total_units(widths, n_layers) + n_out
    load_blas(widths, n_layers, 1)
    out = cnp.PyArray_EMPTY(1, &n_out, kind, 0)
    scratch = stack if units <= STACK_UNITS else malloc(units * sizeof(double))
    if scratch == NULL:
        raise MemoryError(f"no memory for the {units} units of one sample")
    if cnp.PyArray_DIM(params, 0) < GIL_FREE_PARAMS:
        done = forward_one_into(params, codes, widths, n_layers, x, out, scratch)
    else:
        with nogil:
            done = forward_one_into(params, codes, widths, n_layers, x, out, scratch)
    if scratch != stack:
        free(scratch)
    return out if done else None


cdef inline bint forward_one_into(cnp.ndarray params, const Py_ssize_t* codes,
                                  const Py_ssize_t* widths, Py_ssize_t n_layers, cnp.ndarray x,
                                  cnp.ndarray out, void* scratch) noexcept nogil:
    # forward_one_sample on params' dtype (the arrays were checked to share it)
    if cnp.PyArray_TYPE(params) == cnp.NPY_FLOAT64:
        return forward_one_sample(<const double*>cnp.PyArray_DATA(params), widths, codes,
                                  n_layers, <const double*>cnp.PyArray_DATA(x),
                                  <double*>cnp.PyArray_DATA(out), <double*>scratch)
    return forward_one_sample(<const float*>cnp.PyArray_DATA(params), widths, codes, n_layers,
                              <const float*>cnp.PyArray_DATA(x), <float*>cnp.PyArray_DATA(out),
                              <float*>scratch)


def forward_rows(cnp.ndarray params not None, cnp.ndarray sizes not None,
                 cnp.ndarray activations not None, cnp.ndarray X not None):
    """The outputs a[L] of the rows of X (2-D), as a new (n, n_out) array: the latency of
    `predict` on a batch.

    Returns None when X is not what the network takes as it is (NaN or infinity, another
    width, no rows) or the arrays are not as `forward_one` takes them, X 2-D: the caller then
    takes the general path, which converts or reports them. The same products as `forward`
    (the same bits). Checks every length it relies on.
    """
    cdef int kind = cnp.PyArray_TYPE(params)
    cdef Py_ssize_t n_layers, units, entries, copies
    cdef cnp.npy_intp shape[2]
    cdef const Py_ssize_t* widths
    cdef const Py_ssize_t* codes
    cdef char* scratch
    cdef cnp.ndarray out
    cdef bint done
    if ((kind != cnp.NPY_FLOAT64 and kind != cnp.NPY_FLOAT32) or not vector_of(params, kind)
            or not rows_of(X, kind) or not vector_of(sizes, cnp.NPY_INTP)
            or not vector_of(activations, cnp.NPY_INTP)):
        return None
    n_layers = checked_layers(params, sizes, activations)
    widths = <const Py_ssize_t*>cnp.PyArray_DATA(sizes)
    codes = <const Py_ssize_t*>cnp.PyArray_DATA(activations)
    shape[0], shape[1] = cnp.PyArray_DIM(X, 0), widths[n_layers]
    if cnp.PyArray_DIM(X, 1) != widths[0] or shape[0] == 0:
        return None
    units = total_units(widths, n_layers)
    load_blas(widths, n_layers, shape[0])
    # the copies of W^T the forward wrapper makes (after load_blas, as there)
    copies = (COPY_ENTRIES if copies_pay(widths, n_layers, shape[0], kind == cnp.NPY_FLOAT32)
              else 0)
    entries = shape[0] * (units + shape[1]) + copies
    out = cnp.PyArray_EMPTY(2, shape, kind, 0)
    scratch = <char*>PyMem_RawMalloc(
        entries * (sizeof(double) if kind == cnp.NPY_FLOAT64 else sizeof(float)))
    if scratch == NULL:
        raise MemoryError(f"no memory for the units of {shape[0]} samples")
    with nogil:
        if kind == cnp.NPY_FLOAT64:
            done = forward_rows_sample(
                <const double*>cnp.PyArray_DATA(params), widths, codes, n_layers,
                <const double*>cnp.PyArray_DATA(X), shape[0], <double*>cnp.PyArray_DATA(out),
                <double*>scratch,
                <double*>scratch + (entries - copies) if copies > 0 else NULL)
        else:
            done = forward_rows_sample(
                <const float*>cnp.PyArray_DATA(params), widths, codes, n_layers,
                <const float*>cnp.PyArray_DATA(X), shape[0], <float*>cnp.PyArray_DATA(out),
                <float*>scratch, <float*>scratch + (entries - copies) if copies > 0 else NULL)
    PyMem_RawFree(scratch)
    return out if done else None


def step_one(cnp.ndarray params not None, cnp.ndarray state not None,
             cnp.ndarray sizes not None, cnp.ndarray activations not None, Py_ssize_t loss,
             cnp.ndarray x not None, cnp.ndarray y not None, Py_ssize_t optimizer,
             cnp.ndarray settings not None):
    """One optimizer step on one sample x, y (1-D), for the latency of `Network.step`.

    Returns None, with nothing changed, when x or y hold values the general path refuses
    (NaN, infinity, targets the loss does not accept) or the arrays are not all C-contiguous
    of one floating dtype (settings float64): the caller then takes the general path, which
    converts or reports them. Otherwise returns (cost, outcome): the sample's cost before the
    step and 1 (stepped), 2 (the cost was not finite: nothing changed), 3 (a parameter
    became non-finite) or 4 (the optimizer's state did); after 3 and 4 the step is undone.
    Checks every length it relies on.
    """
    cdef double cost = 0.0
    cdef int outcome = one_step(params, state, sizes, activations, loss, x, y, optimizer,
                                settings, &cost)
    return None if outcome == 0 else (cost, outcome)


cdef int one_step(cnp.ndarray params, cnp.ndarray state, cnp.ndarray sizes,
                  cnp.ndarray activations, Py_ssize_t loss, cnp.ndarray x, cnp.ndarray y,
                  Py_ssize_t optimizer, cnp.ndarray settings, double* cost) except -1:
    # step_one, its outcome 0 for None; networks of fewer than GIL_FREE_PARAMS parameters
    # keep the GIL, as in forward_one (taking it back costs more than such a step)
    cdef int kind = cnp.PyArray_TYPE(params)
    cdef Py_ssize_t n_layers, n_settings, n_state
    cdef const Py_ssize_t* widths = <const Py_ssize_t*>cnp.PyArray_DATA(sizes)
    cdef const Py_ssize_t* codes = <const Py_ssize_t*>cnp.PyArray_DATA(activations)
    cdef double* values
    cdef int outcome
    cdef void* p = cnp.PyArray_DATA(params)
    cdef void* v = cnp.PyArray_DATA(state)
    cdef const void* a = cnp.PyArray_DATA(x)
    cdef const void* b = cnp.PyArray_DATA(y)
    n_layers = step_arguments(params, state, sizes, activations, loss, optimizer, settings,
                              (x, y), 1)
    if n_layers < 0:
        return 0
    check_length("x", cnp.PyArray_DIM(x, 0), widths[0])
    check_length("y", cnp.PyArray_DIM(y, 0), widths[n_layers])
    n_settings = cnp.PyArray_DIM(settings, 0)
    n_state = STATE_ARRAYS[optimizer]
    values = <double*>cnp.PyArray_DATA(settings)
    load_blas(widths, n_layers, 1)
    if cnp.PyArray_DIM(params, 0) < GIL_FREE_PARAMS:
        return one_sample_step(kind == cnp.NPY_FLOAT64, optimizer, p, v, values, n_settings,
                               n_state, widths, codes, n_layers, loss, a, b, cost)
    with nogil:
        outcome = one_sample_step(kind == cnp.NPY_FLOAT64, optimizer, p, v, values, n_settings,
                                  n_state, widths, codes, n_layers, loss, a, b, cost)
    return outcome


cdef inline int one_sample_step(bint doubles, Py_ssize_t optimizer, void* params, void* state,
                                double* values, Py_ssize_t n_settings, Py_ssize_t n_state,
                                const Py_ssize_t* widths, const Py_ssize_t* codes,
                                Py_ssize_t n_layers, Py_ssize_t loss, const void* x,
                                const void* y, double* cost) noexcept nogil:
    if doubles:
        return step_one_sample(optimizer, <double*>params, <double*>state, values, n_settings,
                               n_state, widths, codes, n_layers, loss, <const double*>x,
                               <const double*>y, cost)
    return step_one_sample(optimizer, <float*>params, <float*>state, values, n_settings,
                           n_state, widths, codes, n_layers, loss, <const float*>x,
                           <const float*>y, cost)


def step_rows(cnp.ndarray params not None, cnp.ndarray state not None,
              cnp.ndarray sizes not None, cnp.ndarray activations not None, Py_ssize_t loss,
              cnp.ndarray X not None, cnp.ndarray Y not None, Py_ssize_t optimizer,
              cnp.ndarray settings not None):
    """One optimizer step on the batch X, Y (2-D, one sample per row) with its mean
    gradient, as `train_epoch` takes a batch of all the rows in order: the latency of
    `Network.step` on a mini-batch.

    Returns None, with nothing changed, when X or Y hold values the general path refuses
    (NaN, infinity, targets the loss does not accept), have no rows, or the arrays are not
    as `step_one` takes them (X and Y 2-D, C-contiguous and aligned): the caller then takes
    the general path, which converts or reports them. Otherwise returns (cost, outcome): the
    batch's summed cost before the step and 1 (stepped), 2 (the cost was not finite), 3 (a
    parameter became non-finite) or 4 (the optimizer's state did); after 2, 3 and 4 the
    step is undone (parameters, state and settings as they were). Checks every length it
    relies on.
    """
    cdef double cost = 0.0
    cdef int outcome = rows_step(params, state, sizes, activations, loss, X, Y, optimizer,
                                 settings, &cost)
    return None if outcome == 0 else (cost, outcome)


cdef int rows_step(cnp.ndarray params, cnp.ndarray state, cnp.ndarray sizes,
                   cnp.ndarray activations, Py_ssize_t loss, cnp.ndarray X, cnp.ndarray Y,
                   Py_ssize_t optimizer, cnp.ndarray settings, double* cost) except -1:
    # step_rows, its outcome 0 for None
    cdef int kind = cnp.PyArray_TYPE(params)
    cdef Py_ssize_t n_layers, n_settings, n_state, n
    cdef const Py_ssize_t* widths = <const Py_ssize_t*>cnp.PyArray_DATA(sizes)
    cdef const Py_ssize_t* codes = <const Py_ssize_t*>cnp.PyArray_DATA(activations)
    cdef double* values
    cdef int outcome
    n_layers = step_arguments(params, state, sizes, activations, loss, optimizer, settings,
                              (X, Y), 2)
    if n_layers < 0:
        return 0
    n = cnp.PyArray_DIM(X, 0)
    check_length("X's second dimension", cnp.PyArray_DIM(X, 1), widths[0])
    check_length("Y's second dimension", cnp.PyArray_DIM(Y, 1), widths[n_layers])
    check_length("Y", cnp.PyArray_DIM(Y, 0), n)
    if n == 0:
        return 0
    n_settings = cnp.PyArray_DIM(settings, 0)
    n_state = STATE_ARRAYS[optimizer]
    values = <double*>cnp.PyArray_DATA(settings)
    load_blas(widths, n_layers, n)
    if kind == cnp.NPY_FLOAT64:
        with nogil:
            outcome = step_rows_batch(
                optimizer, <double*>cnp.PyArray_DATA(params), <double*>cnp.PyArray_DATA(state),
                values, n_settings, n_state, widths, codes, n_layers, loss,
                <const double*>cnp.PyArray_DATA(X), <const double*>cnp.PyArray_DATA(Y), n,
                cost)
    else:
        with nogil:
            outcome = step_rows_batch(
                optimizer, <float*>cnp.PyArray_DATA(params), <float*>cnp.PyArray_DATA(state),
                values, n_settings, n_state, widths, codes, n_layers, loss,
                <const float*>cnp.PyArray_DATA(X), <const float*>cnp.PyArray_DATA(Y), n, cost)
    if outcome == -1:
        raise MemoryError(f"no memory for a step on {n} samples")
    return outcome


def step_direct(cnp.ndarray params not None, cnp.ndarray state not None,
                cnp.ndarray scalars not None, cnp.ndarray sizes not None,
                cnp.ndarray activations not None, Py_ssize_t loss, cnp.ndarray X not None,
                cnp.ndarray Y not None, Py_ssize_t optimizer, cnp.ndarray settings not None):
    """`Network.step`'s low-latency path in one call: `step_one` where X and Y are 1-D,
    `step_rows` where X is 2-D (Y 2-D, or 1-D for a network of one output), with the
    optimizer's scalar state `scalars` (float64, OptimizerState.scalars) written into the end
    of settings first and taken back after, as OptimizerState.refresh and keep do.

    Returns None, with nothing changed, where those return None, where the samples' lengths
    do not fit the network or their dimensions are none of these, or where scalars is not a
    writeable float64 vector no longer than settings (nor than MAX_SCALARS): the caller then
    takes the general path, which converts or reports them. Where they raise, settings' end is
    given back as it was. Otherwise returns (the mean cost of the samples before the step,
    outcome), outcome as theirs.
    """
    cdef int ndim = cnp.PyArray_NDIM(X)
    cdef double kept[MAX_SCALARS]  # settings' end as it was
    cdef Py_ssize_t n_scalars = cnp.PyArray_DIM(scalars, 0) if cnp.PyArray_NDIM(scalars) else 0
    cdef Py_ssize_t n_units, n = 1
    cdef const Py_ssize_t* widths
    cdef double* tail
    cdef double cost = 0.0
    cdef int outcome
    if not (vector_of(scalars, cnp.NPY_FLOAT64) and cnp.PyArray_ISWRITEABLE(scalars)
            and vector_of(settings, cnp.NPY_FLOAT64) and cnp.PyArray_ISWRITEABLE(settings)
            and n_scalars <= cnp.PyArray_DIM(settings, 0) and n_scalars <= MAX_SCALARS
            and vector_of(sizes, cnp.NPY_INTP)
            and cnp.PyArray_DIM(sizes, 0) >= 2):
        return None
    widths = <const Py_ssize_t*>cnp.PyArray_DATA(sizes)
    n_units = cnp.PyArray_DIM(sizes, 0)
    if ndim == 1 and cnp.PyArray_NDIM(Y) == 1:
        if (cnp.PyArray_DIM(X, 0) != widths[0]
                or cnp.PyArray_DIM(Y, 0) != widths[n_units - 1]):
            return None
    elif ndim == 2:
        n = cnp.PyArray_DIM(X, 0)
        if cnp.PyArray_NDIM(Y) == 1 and widths[n_units - 1] == 1:
            Y = cnp.PyArray_Reshape(Y, (-1, 1))  # ndarray's: a subclass's may return anything
        if (cnp.PyArray_NDIM(Y) != 2 or cnp.PyArray_DIM(X, 1) != widths[0]
                or cnp.PyArray_DIM(Y, 0) != n or cnp.PyArray_DIM(Y, 1) != widths[n_units - 1]):
            return None
    else:
        return None
    tail = <double*>cnp.PyArray_DATA(settings) + cnp.PyArray_DIM(settings, 0) - n_scalars
    memcpy(kept, tail, n_scalars * sizeof(double))
    # memmove: scalars may be a view of settings' end
    memmove(tail, cnp.PyArray_DATA(scalars), n_scalars * sizeof(double))
    try:
        if ndim == 1:
            outcome = one_step(params, state, sizes, activations, loss, X, Y, optimizer,
                               settings, &cost)
        else:
            outcome = rows_step(params, state, sizes, activations, loss, X, Y, optimizer,
                                settings, &cost)
    except BaseException:
        memcpy(tail, kept, n_scalars * sizeof(double))
        raise
    if outcome == 0:
        memcpy(tail, kept, n_scalars * sizeof(double))
        return None
    memmove(cnp.PyArray_DATA(scalars), tail, n_scalars * sizeof(double))
    return (cost / n, outcome)


def forward(const floating[::1] params not None, const Py_ssize_t[::1] sizes not None,
            const Py_ssize_t[::1] activations not None, const floating[:, ::1] X not None,
            floating[::1] A not None, floating[:, ::1] Z not None):
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
    # the copies of W^T a training step's forward pass makes: the same products, the same bits
    cdef floating[::1] C = np.empty(COPY_ENTRIES if copies_pay(&sizes[0], n_layers, n, floating is float) else 0,
                                    dtype=np.float32 if floating is float else np.float64)
    cdef floating* copy_t = &C[0] if C.shape[0] > 0 else NULL
    with nogil:
        network_forward(&params[0], &sizes[0], &activations[0], n_layers, &X[0, 0], &A[0],
                        &Z[0, 0], n, NULL, NULL, copy_t)


def backward(const floating[::1] params not None, const Py_ssize_t[::1] sizes not None,
             const Py_ssize_t[::1] activations not None, Py_ssize_t loss,
             const floating[:, ::1] Y not None, const floating[::1] A not None,
             floating[::1] D not None, const floating[::1] weights not None):
    """Local gradients delta[l] of every layer into D, from the activations A of `forward`;
    each sample's scaled by its weight, unless weights is empty."""
    cdef Py_ssize_t n_layers = check_network(sizes, activations, params.shape[0])
    cdef Py_ssize_t n = Y.shape[0]
    check_loss(loss, activations[n_layers - 1])
    check_length("Y's second dimension", Y.shape[1], sizes[n_layers])
    check_length("A", A.shape[0], n * total_units(&sizes[0], n_layers))
    check_length("D", D.shape[0], A.shape[0])
    cdef const floating* w = weights_of(weights, n)
    if n == 0:
        return
    load_blas(&sizes[0], n_layers, n)
    with nogil:
        network_backward(&params[0], &sizes[0], &activations[0], n_layers, loss, &Y[0, 0],
                         w, &A[0], &D[0], n)


def parameter_gradients(const Py_ssize_t[::1] sizes not None,
                        const floating[:, ::1] X not None, const floating[::1] A not None,
                        const floating[::1] D not None, floating[::1] grads not None):
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


def batch_loss(Py_ssize_t loss, const floating[:, ::1] A_out not None,
               const floating[:, ::1] Z not None, const floating[:, ::1] Y not None,
               const floating[::1] weights not None):
    """Sum over the samples of the cost C (each times its weight, unless weights is empty),
    from the output activations and z[L]."""
    if loss not in (MSE, BINARY_CROSS_ENTROPY, CROSS_ENTROPY, POISSON):
        raise ValueError(f"loss code {loss} is not valid")
    if not (A_out.shape[0] == Z.shape[0] == Y.shape[0]
            and A_out.shape[1] == Z.shape[1] == Y.shape[1]):
        raise ValueError("A_out, Z and Y must have the same shape")
    cdef const floating* w = weights_of(weights, A_out.shape[0])
    if A_out.shape[0] == 0 or A_out.shape[1] == 0:
        return 0.0
    cdef double total
    with nogil:
        total = batch_loss_sum(&A_out[0, 0], &Z[0, 0], &Y[0, 0], w, A_out.shape[0],
                               A_out.shape[1], loss, NULL)
    return total


def loss_gradients(const floating[::1] params not None, const Py_ssize_t[::1] sizes not None,
                   const Py_ssize_t[::1] activations not None, Py_ssize_t loss,
                   const floating[:, ::1] X not None, const floating[:, ::1] Y not None,
                   const floating[::1] weights not None, floating[::1] grads not None):
    """The summed loss of the samples X, Y (weighted, unless weights is empty) and their mean
    gradient into grads, in one GIL-free call: forward, loss, backward, gradients."""
    cdef Py_ssize_t n_layers = check_network(sizes, activations, params.shape[0])
    cdef Py_ssize_t n = X.shape[0]
    check_loss(loss, activations[n_layers - 1])
    check_length("X's second dimension", X.shape[1], sizes[0])
    check_length("Y's second dimension", Y.shape[1], sizes[n_layers])
    check_length("Y", Y.shape[0], n)
    check_length("grads", grads.shape[0], params.shape[0])
    cdef const floating* w = weights_of(weights, n)
    if n == 0:
        raise ValueError("X must hold at least one sample, got 0")
    dtype = np.float32 if floating is float else np.float64
    cdef floating[::1] A = np.empty(n * total_units(&sizes[0], n_layers), dtype=dtype)
    cdef floating[::1] D = np.empty(A.shape[0], dtype=dtype)
    cdef floating[:, ::1] Z = np.empty((n, sizes[n_layers]), dtype=dtype)
    cdef double total
    load_blas(&sizes[0], n_layers, n)
    # forward's copies of W^T, so that the objective is `forward`'s loss to the bit
    cdef floating[::1] C = np.empty(COPY_ENTRIES if copies_pay(&sizes[0], n_layers, n, floating is float) else 0,
                                    dtype=dtype)
    cdef floating* copy_t = &C[0] if C.shape[0] > 0 else NULL
    with nogil:
        total = loss_gradients_all(&params[0], &sizes[0], &activations[0], n_layers, loss,
                                   &X[0, 0], &Y[0, 0], w, n, &A[0], &Z[0, 0], &D[0],
                                   &grads[0], copy_t)
    return total


def update(floating[::1] params not None, const floating[::1] grads not None,
           floating[::1] state not None, const Py_ssize_t[::1] sizes not None,
           Py_ssize_t optimizer, double[::1] settings not None):
    """One optimizer step in place from the gradients grads (weight decay on weights only)."""
    cdef Py_ssize_t n_layers = check_sizes(sizes)
    check_length("params", params.shape[0], parameter_count(&sizes[0], n_layers))
    check_length("grads", grads.shape[0], params.shape[0])
    check_optimizer(optimizer, settings.shape[0], state.shape[0], params.shape[0])
    # an optimizer without state arrays gets an empty state (no &state[0] to take)
    cdef floating* state_data = &state[0] if state.shape[0] > 0 else NULL
    with nogil:
        network_update(optimizer, &params[0], &grads[0], state_data, &sizes[0], n_layers,
                       &settings[0])


def train_epoch(floating[::1] params not None, floating[::1] state not None,
                const Py_ssize_t[::1] sizes not None, const Py_ssize_t[::1] activations not None,
                Py_ssize_t loss, const floating[:, ::1] X not None,
                const floating[:, ::1] Y not None, const floating[::1] weights not None,
                const Py_ssize_t[::1] order not None, Py_ssize_t batch_size,
                Py_ssize_t optimizer, double[::1] settings not None,
                bint summed_penalty=False, double[:, ::1] records=None,
                bint clipped_loss=False):
    """One epoch over the rows X[order] in one GIL-free call; returns the summed loss.

    batch_size 1 is the online (per-sample) epoch; each batch takes one optimizer step with
    the mean gradient of its samples, each sample's loss and gradient times its weight
    unless weights is empty. Scratch is allocated once here, never per sample or per batch.
    With summed_penalty, weight decay is an L2 penalty on each batch's summed loss
    (scikit-learn's alpha): a batch steps with its weighted mean gradient sum w g / sum w and
    the optimizer's weight decay divided by its weight sum S (its row count without weights);
    a batch of weight sum 0 takes no step. records, if given, of shape (number of batches, 3),
    gets per batch its summed loss as stepped, S, and sum W^2 (weights, not biases) just
    before its step. With clipped_loss, the cross-entropies' loss values (returned and
    recorded; not the gradients) are scikit-learn's: from the output probabilities clipped
    to [eps, 1 - eps], eps the dtype's machine epsilon.
    """
    cdef Py_ssize_t n_layers = check_network(sizes, activations, params.shape[0])
    cdef Py_ssize_t i, n = X.shape[0], n_order = order.shape[0]
    check_loss(loss, activations[n_layers - 1])
    check_optimizer(optimizer, settings.shape[0], state.shape[0], params.shape[0])
    check_length("X's second dimension", X.shape[1], sizes[0])
    check_length("Y's second dimension", Y.shape[1], sizes[n_layers])
    check_length("Y", Y.shape[0], n)
    cdef const floating* w = weights_of(weights, n)
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    for i in range(n_order):
        if not 0 <= order[i] < n:
            raise ValueError(f"order must hold row numbers in [0, {n}), got {order[i]}")
    if n_order == 0:
        return 0.0
    batch_size = min(batch_size, n_order)
    cdef double* records_data = NULL
    if records is not None:
        check_length("records' first dimension", records.shape[0],
                     (n_order + batch_size - 1) // batch_size)
        check_length("records' second dimension", records.shape[1], 3)
        records_data = &records[0, 0]
    cdef floating* state_data = &state[0] if state.shape[0] > 0 else NULL
    cdef bint out_of_memory = False
    cdef double total
    # before first_transposed, which asks whether BLAS is loaded: a process's first epoch
    # then takes the layouts every later one does (the same bits)
    load_blas(&sizes[0], n_layers, batch_size)
    with nogil:
        total = epoch_in_scratch(optimizer, &params[0], state_data, &settings[0], &sizes[0],
                                 &activations[0], n_layers, loss, &X[0, 0], &Y[0, 0], w,
                                 &order[0], n_order, batch_size, summed_penalty, records_data,
                                 clipped_loss, &out_of_memory)
    if out_of_memory:
        raise MemoryError()
    return total
