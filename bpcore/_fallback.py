"""Pure-Python twin of the compiled kernels (`src/_kernels.pyx`): Python and NumPy only.

Same names, signatures (the table in `bpcore/_backend.py`), buffer layout
(`bpcore/_layout.py`), in-place semantics and error types as the compiled module, and the same
formulas in the same order, so both backends train alike. tests/test_twins.py holds the two
to that.
"""
from __future__ import annotations

import math
import operator
import sys
from typing import Any

import numpy as np
import numpy.typing as npt

from ._layout import Floats, Indices, layer_blocks, layer_parameters, parameter_count, unit_count
from ._numpy_math import EXP, SOFTMAX, activate, derivative, softplus, xlogx
from ._spec import (ACTIVATIONS, LEAKY_SLOPE, LOSSES, MAX_LAYERS, MAX_WIDTH, OPTIMIZERS as SPECS,
                    ROW_SUM_TOLERANCE, pairing_error)

__all__ = ["ACTIVATIONS", "LOSSES", "OPTIMIZERS", "LIMITS", "OPTIMIZER_SHAPES", "forward",
           "forward_one", "forward_rows", "backward", "parameter_gradients", "batch_loss",
           "loss_gradients", "update", "step_one", "step_rows", "step_direct", "train_epoch",
           "permutation", "samples_fit"]

MSE, BINARY_CROSS_ENTROPY, CROSS_ENTROPY, POISSON = (LOSSES[name] for name in (
    "mse", "binary_cross_entropy", "cross_entropy", "poisson"))
SGD, ADAM, RPROP = (SPECS[name].code for name in ("sgd", "adam", "rprop"))
OPTIMIZERS = {name: spec.code for name, spec in SPECS.items()}
# what the compiled module reports of its compiled-in constants, for the same test
LIMITS = {"MAX_WIDTH": MAX_WIDTH, "MAX_LAYERS": MAX_LAYERS, "LEAKY_SLOPE": LEAKY_SLOPE,
          "ROW_SUM_TOLERANCE": ROW_SUM_TOLERANCE}
OPTIMIZER_SHAPES = {spec.code: (len(spec.settings), len(spec.state))
                    for spec in SPECS.values()}
# step_direct's longest scalar state, as the compiled module's (src/kernels/wrappers.pxi)
MAX_SCALARS = 8
_NAMES = {code: name for name, code in ACTIVATIONS.items()}
_LOSS_NAMES = {code: name for name, code in LOSSES.items()}


# ---- checks, as in the compiled wrappers (src/kernels/checks.pxi), with its error types ----

def _index(value: object) -> int:
    # what Cython's Py_ssize_t argument takes: an int or anything with __index__ (TypeError)
    # that fits in a C ssize_t (OverflowError)
    index = operator.index(value)  # type: ignore[arg-type]
    if not -sys.maxsize - 1 <= index <= sys.maxsize:
        raise OverflowError("Python int too large to convert to C ssize_t")
    return index


def _floating(name: str, value: Any, ndim: int) -> np.dtype[Any]:
    """The dtype of the first floating buffer of a call, which picks the compiled
    specialisation: anything but a float32 or float64 array of `ndim` dimensions matches none."""
    if (not isinstance(value, np.ndarray) or value.dtype not in (np.float32, np.float64)
            or value.ndim != ndim):
        raise TypeError(f"No matching signature found (for {name})")
    dtype: np.dtype[Any] = value.dtype
    _buffer(name, value, ndim, dtype)
    return dtype


def _buffer(name: str, value: Any, ndim: int, dtype: Any, writeable: bool = False) -> None:
    """The checks of a typed memoryview argument: an ndarray (TypeError), then its dimensions,
    dtype, C-contiguity and, when written to, writeability (ValueError)."""
    if not isinstance(value, np.ndarray):
        raise TypeError(f"{name}: a bytes-like object is required, not {type(value).__name__!r}")
    if value.ndim != ndim:
        raise ValueError(f"{name}: buffer has wrong number of dimensions (expected {ndim}, "
                         f"got {value.ndim})")
    if value.dtype != dtype:
        raise ValueError(f"{name}: buffer dtype mismatch, expected {np.dtype(dtype)} but got "
                         f"{value.dtype}")
    if not value.flags.c_contiguous:
        raise ValueError(f"{name}: ndarray is not C-contiguous")
    if writeable and not value.flags.writeable:
        raise ValueError(f"{name}: buffer source array is read-only")


def _check_sizes(sizes: Any) -> list[int]:
    _buffer("sizes", sizes, 1, np.intp)
    widths = [int(width) for width in sizes]
    if len(widths) < 2:
        raise ValueError(f"sizes must hold at least 2 layer widths, got {len(widths)}")
    if len(widths) > MAX_LAYERS + 1:
        raise ValueError(f"sizes must hold 2 to {MAX_LAYERS + 1} layer widths, got "
                         f"{len(widths)}")
    for width in widths:
        if not 1 <= width <= MAX_WIDTH:
            raise ValueError(f"sizes must be widths in [1, {MAX_WIDTH}], got {width}")
    return widths


def _check_network(params: Floats, sizes: Any, activations: Any) -> list[int]:
    widths = _check_sizes(sizes)
    _buffer("activations", activations, 1, np.intp)
    if len(activations) != len(widths) - 1:
        raise ValueError(f"activations must hold {len(widths) - 1} codes, got "
                         f"{len(activations)}")
    for layer, code in enumerate(activations):
        if code not in _NAMES or (code in (SOFTMAX, EXP) and layer < len(widths) - 2):
            raise ValueError(f"activation code {code} is not valid for layer {layer}")
    _check_length("params", len(params), parameter_count(widths))
    return widths


def _check_loss(loss: int, output_activation: int) -> None:
    if loss not in _LOSS_NAMES:
        raise ValueError(f"loss code {loss} is not valid")
    if pairing_error(_NAMES[int(output_activation)], _LOSS_NAMES[loss]) is not None:
        raise ValueError(f"loss code {loss} does not fit output activation {output_activation}")


def _check_optimizer(optimizer: int, settings: Any, state: Floats, n_params: int) -> None:
    _buffer("settings", settings, 1, np.float64, writeable=True)
    if optimizer not in OPTIMIZER_SHAPES:
        raise ValueError(f"optimizer code {optimizer} is not valid")
    n_settings, n_state = OPTIMIZER_SHAPES[optimizer]
    _check_length("settings", len(settings), n_settings)
    _check_length("state", len(state), n_state * n_params)


def _weights(weights: Any, dtype: np.dtype[Any], n: int) -> Floats | None:
    """The samples' weights: None (none) for an empty vector, else one per sample."""
    _buffer("weights", weights, 1, dtype)
    if len(weights) == 0:
        return None
    _check_length("weights", len(weights), n)
    result: Floats = weights
    return result


def _check_length(name: str, got: int, expected: int) -> None:
    if got != expected:
        raise ValueError(f"{name} must have {expected} entries, got {got}")


# ---- optimizers: one update function each (src/kernels/optimizers.pxi) ----

def _sgd_update(params: Floats, grads: Floats, state: list[Floats], settings: Floats,
                decay: bool) -> None:
    # settings: lr, momentum, nesterov, weight_decay; state: the velocity v. PyTorch's
    # formulation: g += weight_decay p; v = momentum v + g; p -= lr v, or with Nesterov
    # momentum p -= lr (g + momentum v). With momentum 0 this is plain SGD, p -= lr g, and the
    # velocity is left alone.
    kind = params.dtype.type
    lr, momentum = kind(settings[0]), kind(settings[1])
    weight_decay = kind(settings[3] if decay else 0.0)
    if settings[1] == 0 and weight_decay == 0:  # the same bits as with g + 0 p, for finite p
        params -= lr * grads
        return
    g = grads + weight_decay * params
    if settings[1] == 0:
        params -= lr * g
        return
    velocity = state[0]
    velocity[...] = momentum * velocity + g
    params -= lr * (g + momentum * velocity if settings[2] != 0 else velocity)


def _adam_update(params: Floats, grads: Floats, state: list[Floats], settings: Floats,
                 decay: bool) -> None:
    # settings: lr, beta1, beta2, eps, weight_decay, decoupled, eps_hat, step; state: the
    # moments m and v. PyTorch's formulation (src/kernels/optimizers.pxi has the same,
    # operation by operation): g += weight_decay p (or, decoupled, p *= 1 - lr weight_decay);
    # m = beta1 m + (1 - beta1) g; v = beta2 v + (1 - beta2) g^2;
    # p -= lr / (1 - beta1^t) m / (sqrt(v) / sqrt(1 - beta2^t) + eps); with eps_hat, eps is
    # added to the uncorrected sqrt(v): eps / sqrt(1 - beta2^t) in this formula
    kind = params.dtype.type
    lr, beta1, beta2, eps = (float(value) for value in settings[:4])
    weight_decay = float(settings[4]) if decay else 0.0
    decoupled, step = settings[5] != 0, settings[7]
    inverse_bias2_sqrt = 1.0 / math.sqrt(1.0 - beta2 ** step)
    if settings[6] != 0:
        eps = eps * inverse_bias2_sqrt
    m, v = state
    g = grads
    if decoupled:
        params *= kind(1.0 - lr * weight_decay)
    else:
        g = grads + kind(weight_decay) * params
    m += kind(1.0 - beta1) * (g - m)
    v[...] = v * kind(beta2) + kind(1.0 - beta2) * g * g
    # times the reciprocal of sqrt(1 - beta2^t), not divided by it: one division fewer per
    # parameter in the compiled loop, as there
    denominator = np.sqrt(v) * kind(inverse_bias2_sqrt) + kind(eps)
    params -= kind(lr / (1.0 - beta1 ** step)) * m / denominator


def _rprop_update(params: Floats, grads: Floats, state: list[Floats], settings: Floats,
                  decay: bool) -> None:
    # settings: lr (the first step size), eta_minus, eta_plus, step_min, step_max,
    # weight_decay, step; state: each parameter's step size s and previous gradient. iRprop-
    # in PyTorch's formulation (src/kernels/optimizers.pxi has the same, operation by
    # operation): g += weight_decay p; where g has the previous gradient's sign,
    # s = min(s eta_plus, step_max); where the sign flipped, s = max(s eta_minus, step_min)
    # and g = 0; then p -= sign(g) s and the previous gradient = g. Step 1 starts s at lr.
    kind = params.dtype.type
    lr, eta_minus, eta_plus, step_min, step_max = (kind(value) for value in settings[:5])
    weight_decay = kind(settings[5] if decay else 0.0)
    size, previous = state
    g = grads + weight_decay * params
    product = g * previous
    factor = np.where(product > 0, eta_plus, np.where(product < 0, eta_minus, kind(1)))
    g = np.where(product < 0, kind(0), g)
    start = np.full_like(size, lr) if settings[6] == 1 else size
    size[...] = np.minimum(np.maximum(start * factor, step_min), step_max)
    params -= np.sign(g) * size
    previous[...] = g


# optimizer code -> its update of one block of parameters, given views of its state arrays
_UPDATES = {SGD: _sgd_update, ADAM: _adam_update, RPROP: _rprop_update}


def _begin_step(optimizer: int, settings: Floats) -> None:
    # once per step, before the walk: where an optimizer advances scalar state it keeps at
    # the end of `settings`: Adam's and Rprop's step counts; SGD keeps none
    if optimizer in (ADAM, RPROP):
        settings[-1] += 1


def _network_update(params: Floats, grads: Floats, state: Floats, sizes: list[int],
                    optimizer: int, settings: Floats) -> None:
    # one optimizer step over every layer: weights with weight decay, biases without
    _begin_step(optimizer, settings)
    n_params, n_state = len(params), OPTIMIZER_SHAPES[optimizer][1]
    state_layers = [layer_parameters(state[i * n_params:(i + 1) * n_params], sizes)
                    for i in range(n_state)]
    for layer, ((w, b), (gw, gb)) in enumerate(zip(layer_parameters(params, sizes),
                                                  layer_parameters(grads, sizes))):
        for part, (p, g) in enumerate(((w, gw), (b, gb))):
            _UPDATES[optimizer](p, g, [arrays[layer][part] for arrays in state_layers],
                                settings, part == 0)


# ---- kernels ----

def _silent() -> np.errstate:
    """NumPy's floating-point warnings off, as the compiled loops are silent: an overflow
    (e^z of a large z, say) gives infinity or NaN, which the callers check for."""
    return np.errstate(over="ignore", invalid="ignore", divide="ignore")


def forward(params: Floats, sizes: Indices, activations: Indices, X: Floats, A: Floats,
            Z: Floats) -> None:
    """Forward pass of the n samples in the rows of X: fills A (every layer) and Z (z[L])."""
    dtype = _floating("params", params, 1)
    widths = _check_network(params, sizes, activations)
    _buffer("X", X, 2, dtype)
    _buffer("A", A, 1, dtype, writeable=True)
    _buffer("Z", Z, 2, dtype, writeable=True)
    n = X.shape[0]
    _check_length("X's second dimension", X.shape[1], widths[0])
    _check_length("A", len(A), n * unit_count(widths))
    _check_length("Z's first dimension", Z.shape[0], n)
    _check_length("Z's second dimension", Z.shape[1], widths[-1])
    if n == 0:
        return
    inputs = X
    with _silent():
        for (weights, biases), block, code in zip(layer_parameters(params, widths),
                                                  layer_blocks(A, widths, n), activations):
            z = inputs @ weights.T + biases  # z[l] = W[l] a[l-1] + b[l]
            block[...] = activate(z, code)
            inputs = block
    Z[...] = z


_LOW = np.uint64(0xFFFFFFFF)
_32 = np.uint64(32)


def _high_product(a: npt.NDArray[np.uint64], b: npt.NDArray[np.uint64]
                  ) -> npt.NDArray[np.uint64]:
    """The high 64 bits of each 128-bit product a * b, from 32-bit halves (as the C helper)."""
    al, ah, bl, bh = a & _LOW, a >> _32, b & _LOW, b >> _32
    low, cross1, cross2 = al * bl, al * bh, ah * bl
    middle = (low >> _32) + (cross1 & _LOW) + (cross2 & _LOW)
    high: npt.NDArray[np.uint64] = ah * bh + (cross1 >> _32) + (cross2 >> _32) + (middle >> _32)
    return high


def permutation(n: int, seed: int) -> Indices:
    """A new intp array holding 0 .. n-1 in an order drawn from `seed` (in [0, 2^63)): the
    compiled permutation's Fisher-Yates, its SplitMix64 draws taken at once in NumPy."""
    n, seed = _index(n), _index(seed)
    if n < 0:
        raise ValueError(f"n must be at least 0, got {n}")
    if seed < 0:
        raise ValueError(f"seed must be at least 0, got {seed}")
    order = np.empty(n, dtype=np.intp)  # first, as in C: the same error for a huge n
    order[:] = np.arange(n)
    if n < 2:
        return order
    positions = np.arange(n - 1, 0, -1, dtype=np.uint64)  # i = n - k for the k-th swap
    with np.errstate(over="ignore"):  # uint64 arithmetic wraps, as C's does
        z = np.uint64(seed) + np.arange(1, n, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z ^= z >> np.uint64(31)
        rows = _high_product(z, positions + np.uint64(1)).tolist()
    held = order.tolist()
    for i, j in zip(positions.tolist(), rows):
        held[i], held[j] = held[j], held[i]
    order[:] = held
    return order


def forward_one(params: Floats, sizes: Indices, activations: Indices,
                x: Floats) -> Floats | None:
    """The output a[L] of one sample x (1-D), as a new 1-D array: the latency of `predict`.

    Returns None when x is not what the network takes as it is (NaN or infinity, another
    length) or the arrays are not all 1-D, C-contiguous, aligned and in native byte order, of
    one floating dtype (sizes and activations intp): the caller then takes the general path,
    which converts or reports them. Checks every length it relies on.
    """
    _ndarrays(params=params, sizes=sizes, activations=activations, x=x)
    if not _one_sample_arrays(params, sizes, activations, (x,), ()):
        return None
    widths = _check_network(params, sizes, activations)
    if len(x) != widths[0] or not np.isfinite(x).all():
        return None
    A = np.empty(unit_count(widths), dtype=params.dtype)
    Z = np.empty((1, widths[-1]), dtype=params.dtype)
    forward(params, sizes, activations, x.reshape(1, -1), A, Z)
    return A[len(A) - widths[-1]:].copy()


def forward_rows(params: Floats, sizes: Indices, activations: Indices,
                 X: Floats) -> Floats | None:
    """The outputs a[L] of the rows of X (2-D), as a new (n, n_out) array: the latency of
    `predict` on a batch.

    Returns None when X is not what the network takes as it is (NaN or infinity, another
    width, no rows) or the arrays are not as `forward_one` takes them, X 2-D: the caller then
    takes the general path, which converts or reports them. The same products as `forward`
    (the same bits). Checks every length it relies on.
    """
    _ndarrays(params=params, sizes=sizes, activations=activations, X=X)
    if not (_one_sample_arrays(params, sizes, activations, (), ()) and X.ndim == 2
            and X.dtype == params.dtype and X.flags.c_contiguous and X.flags.aligned):
        return None
    widths = _check_network(params, sizes, activations)
    n = X.shape[0]
    if X.shape[1] != widths[0] or n == 0 or not np.isfinite(X).all():
        return None
    A = np.empty(n * unit_count(widths), dtype=params.dtype)
    Z = np.empty((n, widths[-1]), dtype=params.dtype)
    forward(params, sizes, activations, X, A, Z)
    return A[len(A) - n * widths[-1]:].reshape(n, widths[-1]).copy()


def _ndarrays(**arrays: Any) -> None:
    """The one-sample kernels' arguments are NumPy arrays (`cnp.ndarray`), or a TypeError."""
    for name, value in arrays.items():
        if not isinstance(value, np.ndarray):
            raise TypeError(f"Argument {name!r} has incorrect type (expected numpy.ndarray, "
                            f"got {type(value).__name__})")


def _one_sample_arrays(params: Floats, sizes: Indices, activations: Indices,
                       floats: tuple[Floats, ...], written: tuple[Floats, ...]) -> bool:
    """Whether the arrays are what the one-sample kernels take: params float32 or float64 and
    `floats` of its dtype, sizes and activations intp (all in this machine's byte order),
    every array 1-D, C-contiguous and aligned, `written` writeable. Anything else is left to
    the general path (the caller)."""
    arrays = (params, sizes, activations) + floats
    if params.dtype not in (np.float32, np.float64) or any(
            a.ndim != 1 or not a.flags.c_contiguous or not a.flags.aligned for a in arrays):
        return False
    return (all(a.dtype == params.dtype for a in floats) and sizes.dtype == np.intp
            and activations.dtype == np.intp and all(a.flags.writeable for a in written))


def step_one(params: Floats, state: Floats, sizes: Indices, activations: Indices, loss: int,
             x: Floats, y: Floats, optimizer: int, settings: Floats) -> tuple[float, int] | None:
    """One optimizer step on one sample x, y (1-D), for the latency of `Network.step`.

    Returns None, with nothing changed, when x or y hold values the general path refuses
    (NaN, infinity, targets the loss does not accept) or the arrays are not all C-contiguous
    of one floating dtype (settings float64): the caller then takes the general path, which
    converts or reports them. Otherwise returns (cost, outcome): the sample's cost before the
    step and 1 (stepped), 2 (the cost was not finite: nothing changed), 3 (a parameter
    became non-finite) or 4 (the optimizer's state did); after 3 and 4 the step is undone.
    Checks every length it relies on.
    """
    loss, optimizer = _index(loss), _index(optimizer)
    _ndarrays(x=x, y=y)
    widths = _step_arguments(params, state, sizes, activations, loss, optimizer, settings,
                             (x, y), 1)
    if widths is None:
        return None
    _check_length("x", len(x), widths[0])
    _check_length("y", len(y), widths[-1])
    if not _samples_fit(x, y, loss):
        return None
    units, n_out = unit_count(widths), widths[-1]
    X, Y = x.reshape(1, -1), y.reshape(1, -1)
    A, Z = np.empty(units, dtype=params.dtype), np.empty((1, n_out), dtype=params.dtype)
    D, grads = np.empty_like(A), np.empty_like(params)
    with np.errstate(over="ignore", invalid="ignore"):  # as silent as the compiled loops
        forward(params, sizes, activations, X, A, Z)
        none = np.empty(0, dtype=params.dtype)
        cost = batch_loss(loss, A[units - n_out:].reshape(1, n_out), Z, Y, none)
        if not np.isfinite(cost):
            return cost, 2
        backward(params, sizes, activations, loss, Y, A, D, none)
        parameter_gradients(sizes, X, A, D, grads)
        saved = params.copy(), state.copy(), settings.copy()
        _network_update(params, grads, state, widths, optimizer, settings)
    outcome = _stepped(optimizer, settings, params, state)
    if outcome != 1:
        params[...], state[...], settings[...] = saved
    return cost, outcome


def _stepped(optimizer: int, settings: Floats, params: Floats, state: Floats) -> int:
    """After a step: 1 when the parameters and the optimizer's state are finite, 3 when a
    parameter is not, 4 when only the state is not; the state is read only where the step
    changes it, not plain SGD's velocity (the compiled `stepped`)."""
    if not np.isfinite(params).all():
        return 3
    if optimizer == SGD and settings[1] == 0:
        return 1
    return 1 if np.isfinite(state).all() else 4


def _step_arguments(params: Floats, state: Floats, sizes: Indices, activations: Indices,
                    loss: int, optimizer: int, settings: Floats, samples: tuple[Floats, ...],
                    ndim: int) -> list[int] | None:
    """The checks step_one and step_rows share: the network's widths, or None when the arrays
    are not what they take (`samples` of params' dtype with `ndim` dimensions, C-contiguous
    and aligned; settings a writeable float64 vector); errors for inconsistent ones."""
    _ndarrays(params=params, state=state, sizes=sizes, activations=activations,
              settings=settings)
    if not _one_sample_arrays(params, sizes, activations, (state,), (params, state)):
        return None
    if not all(a.ndim == ndim and a.dtype == params.dtype and a.flags.c_contiguous
               and a.flags.aligned for a in samples):
        return None
    if not (settings.dtype == np.float64 and settings.ndim == 1 and settings.flags.c_contiguous
            and settings.flags.aligned and settings.flags.writeable):
        return None
    widths = _check_network(params, sizes, activations)
    _check_loss(loss, activations[-1])
    _check_optimizer(optimizer, settings, state, len(params))
    return widths


def _samples_fit(X: Floats, Y: Floats, loss: int) -> bool:
    """Whether the one-call steps take the inputs X and targets Y (one sample, 1-D, or one per
    row) as they are: finite, and targets the loss accepts, row sums within half the
    tolerance (the compiled `targets_fit`: a row near the edge is left to the general path,
    which sums in another order)."""
    if not (np.isfinite(X).all() and np.isfinite(Y).all()):
        return False
    if loss == POISSON:
        return bool(Y.min() >= 0)
    if loss in (BINARY_CROSS_ENTROPY, CROSS_ENTROPY) and (Y.min() < 0 or Y.max() > 1):
        return False
    if loss == CROSS_ENTROPY:
        sums = Y.sum(axis=-1, dtype=np.float64)
        return bool(np.abs(sums - 1).max() <= ROW_SUM_TOLERANCE / 2)
    return True


def samples_fit(X: Floats, Y: Floats, loss: int) -> bool:
    """Whether the samples X and targets Y pass the general path's checks as they are: both
    2-D, C-contiguous, aligned and of one dtype, float32 or float64 (in this machine's byte
    order), with the same number of rows and at least one row and column; finite; targets
    `loss` accepts, row sums within half the tolerance (`_samples_fit`). False sends the
    caller to the general path, which converts, decides and reports."""
    loss = _index(loss)
    _ndarrays(X=X, Y=Y)
    if loss not in _LOSS_NAMES:
        raise ValueError(f"loss code {loss} is not valid")
    if not (X.dtype in (np.float32, np.float64) and Y.dtype == X.dtype
            and X.ndim == 2 and Y.ndim == 2 and 0 < len(X) == len(Y) and X.size and Y.size
            and all(a.flags.c_contiguous and a.flags.aligned for a in (X, Y))):
        return False
    return _samples_fit(X, Y, loss)


def step_rows(params: Floats, state: Floats, sizes: Indices, activations: Indices, loss: int,
              X: Floats, Y: Floats, optimizer: int,
              settings: Floats) -> tuple[float, int] | None:
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
    loss, optimizer = _index(loss), _index(optimizer)
    _ndarrays(X=X, Y=Y)
    widths = _step_arguments(params, state, sizes, activations, loss, optimizer, settings,
                             (X, Y), 2)
    if widths is None:
        return None
    n = X.shape[0]
    _check_length("X's second dimension", X.shape[1], widths[0])
    _check_length("Y's second dimension", Y.shape[1], widths[-1])
    _check_length("Y", Y.shape[0], n)
    if n == 0 or not _samples_fit(X, Y, loss):
        return None
    saved = params.copy(), state.copy(), settings.copy()
    with np.errstate(over="ignore", invalid="ignore"):  # as silent as the compiled loops
        cost = train_epoch(params, state, sizes, activations, loss, X, Y,
                           np.empty(0, dtype=params.dtype), np.arange(n, dtype=np.intp), n,
                           optimizer, settings)
    outcome = _stepped(optimizer, settings, params, state) if np.isfinite(cost) else 2
    if outcome != 1:
        params[...], state[...], settings[...] = saved
    return cost, outcome


def step_direct(params: Floats, state: Floats, scalars: Floats, sizes: Indices,
                activations: Indices, loss: int, X: Floats, Y: Floats, optimizer: int,
                settings: Floats) -> tuple[float, int] | None:
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
    loss, optimizer = _index(loss), _index(optimizer)  # before settings change, as Cython's
    _ndarrays(params=params, state=state, scalars=scalars, sizes=sizes,
              activations=activations, X=X, Y=Y, settings=settings)

    def vector(array: npt.NDArray[Any], dtype: type) -> bool:
        return bool(array.ndim == 1 and array.dtype == dtype and array.flags.c_contiguous
                    and array.flags.aligned)

    if not (vector(scalars, np.float64) and scalars.flags.writeable
            and vector(settings, np.float64) and settings.flags.writeable
            and len(scalars) <= min(len(settings), MAX_SCALARS) and vector(sizes, np.intp)
            and len(sizes) >= 2):
        return None
    n_in, n_out, n = int(sizes[0]), int(sizes[-1]), 1
    if X.ndim == 1 and Y.ndim == 1:
        if X.shape[0] != n_in or Y.shape[0] != n_out:
            return None
    elif X.ndim == 2:
        n = X.shape[0]
        if Y.ndim == 1 and n_out == 1:
            Y = np.ndarray.reshape(Y, (-1, 1))  # ndarray's: a subclass's may return anything
        if Y.ndim != 2 or X.shape[1] != n_in or Y.shape != (n, n_out):
            return None
    else:
        return None
    tail = settings[len(settings) - len(scalars):]
    kept = tail.copy()
    tail[...] = scalars  # NumPy copies through a buffer where scalars is a view of tail
    try:
        result = (step_one if X.ndim == 1 else step_rows)(
            params, state, sizes, activations, loss, X, Y, optimizer, settings)
    except BaseException:
        tail[...] = kept
        raise
    if result is None:
        tail[...] = kept
        return None
    scalars[...] = tail
    cost, outcome = result
    return float(cost) / n, outcome


def backward(params: Floats, sizes: Indices, activations: Indices, loss: int, Y: Floats,
             A: Floats, D: Floats, weights: Floats) -> None:
    """Local gradients delta[l] of every layer into D, from the activations A of `forward`;
    each sample's scaled by its weight, unless weights is empty."""
    loss = _index(loss)
    dtype = _floating("params", params, 1)
    widths = _check_network(params, sizes, activations)
    _check_loss(loss, activations[-1])
    _buffer("Y", Y, 2, dtype)
    _buffer("A", A, 1, dtype)
    _buffer("D", D, 1, dtype, writeable=True)
    n = Y.shape[0]
    _check_length("Y's second dimension", Y.shape[1], widths[-1])
    _check_length("A", len(A), n * unit_count(widths))
    _check_length("D", len(D), len(A))
    w = _weights(weights, dtype, n)
    if n == 0:
        return
    a_blocks, d_blocks = layer_blocks(A, widths, n), layer_blocks(D, widths, n)
    layers = layer_parameters(params, widths)
    with _silent():
        # delta[L] = (a - y) f'(z[L]) for mse, fused to a - y for the cross-entropies and
        # poisson
        if loss == MSE:
            d_blocks[-1][...] = (a_blocks[-1] - Y) * derivative(a_blocks[-1], activations[-1])
        else:
            d_blocks[-1][...] = a_blocks[-1] - Y
        if w is not None:  # the map to the other layers is linear: all deltas scale with it
            d_blocks[-1][...] *= w[:, None]
        # delta[l] = (W[l+1]^T delta[l+1]) * f'(z[l])
        for layer in range(len(layers) - 2, -1, -1):
            weights_next = layers[layer + 1][0]
            d_blocks[layer][...] = (d_blocks[layer + 1] @ weights_next) * derivative(
                a_blocks[layer], activations[layer])


def parameter_gradients(sizes: Indices, X: Floats, A: Floats, D: Floats,
                        grads: Floats) -> None:
    """Mean over the batch of dC/dW[l] = delta[l] a[l-1]^T and dC/db[l] = delta[l], into grads."""
    widths = _check_sizes(sizes)
    dtype = _floating("X", X, 2)
    _buffer("A", A, 1, dtype)
    _buffer("D", D, 1, dtype)
    _buffer("grads", grads, 1, dtype, writeable=True)
    n = X.shape[0]
    _check_length("X's second dimension", X.shape[1], widths[0])
    _check_length("A", len(A), n * unit_count(widths))
    _check_length("D", len(D), len(A))
    _check_length("grads", len(grads), parameter_count(widths))
    if n == 0:
        raise ValueError("X must hold at least one sample, got 0")
    scale = grads.dtype.type(1.0 / n)
    inputs = [X] + layer_blocks(A, widths, n)[:-1]
    with _silent():
        for (grad_w, grad_b), deltas, a_in in zip(layer_parameters(grads, widths),
                                                  layer_blocks(D, widths, n), inputs):
            grad_w[...] = (deltas.T @ a_in) * scale
            grad_b[...] = deltas.sum(axis=0) * scale


def batch_loss(loss: int, A_out: Floats, Z: Floats, Y: Floats, weights: Floats) -> float:
    """Sum over the samples of the cost C (each times its weight, unless weights is empty),
    from the output activations and z[L]."""
    loss = _index(loss)
    dtype = _floating("A_out", A_out, 2)
    _buffer("Z", Z, 2, dtype)
    _buffer("Y", Y, 2, dtype)
    if loss not in _LOSS_NAMES:
        raise ValueError(f"loss code {loss} is not valid")
    if not A_out.shape == Z.shape == Y.shape:
        raise ValueError("A_out, Z and Y must have the same shape")
    w = _weights(weights, dtype, A_out.shape[0])
    if A_out.size == 0:
        return 0.0
    a, z, y = (np.asarray(v, dtype=np.float64) for v in (A_out, Z, Y))
    # silent, as the compiled loops: an overflowed output's cost is infinite or NaN (an
    # infinite z in the binary cross-entropy), which the callers check for
    with _silent():
        if loss == MSE:
            costs = 0.5 * (a - y) ** 2
        elif loss == BINARY_CROSS_ENTROPY:
            costs = softplus(z) - y * z
        elif loss == POISSON:
            # half Poisson deviance y log(y / a) - y + a with a = e^z, as y log y - y z - y + e^z
            costs = xlogx(y) - y * z - y + np.exp(z)
        else:
            # z - top overflows to -inf for logits near the largest double
            top = z.max(axis=1, keepdims=True)
            terms = y * (top + np.log(np.exp(z - top).sum(axis=1, keepdims=True)) - z)
            costs = np.where(y != 0, terms, 0.0)  # a zero target's term is 0, not 0 * inf
        if w is None:
            return float(costs.sum())
        return float((costs * w.astype(np.float64)[:, None]).sum())


def loss_gradients(params: Floats, sizes: Indices, activations: Indices, loss: int,
                   X: Floats, Y: Floats, weights: Floats, grads: Floats) -> float:
    """The summed loss of the samples X, Y (weighted, unless weights is empty) and their mean
    gradient into grads: forward, loss, backward, gradients."""
    loss = _index(loss)
    dtype = _floating("params", params, 1)
    widths = _check_network(params, sizes, activations)
    _check_loss(loss, activations[-1])
    _buffer("X", X, 2, dtype)
    _buffer("Y", Y, 2, dtype)
    _buffer("grads", grads, 1, dtype, writeable=True)
    n = X.shape[0]
    _check_length("X's second dimension", X.shape[1], widths[0])
    _check_length("Y's second dimension", Y.shape[1], widths[-1])
    _check_length("Y", Y.shape[0], n)
    _check_length("grads", len(grads), len(params))
    _weights(weights, dtype, n)
    if n == 0:
        raise ValueError("X must hold at least one sample, got 0")
    units, n_out = unit_count(widths), widths[-1]
    A = np.empty(n * units, dtype=dtype)
    D = np.empty_like(A)
    Z = np.empty((n, n_out), dtype=dtype)
    forward(params, sizes, activations, X, A, Z)
    total = batch_loss(loss, A[n * (units - n_out):].reshape(n, n_out), Z, Y, weights)
    backward(params, sizes, activations, loss, Y, A, D, weights)
    parameter_gradients(sizes, X, A, D, grads)
    return total


def update(params: Floats, grads: Floats, state: Floats, sizes: Indices, optimizer: int,
           settings: Floats) -> None:
    """One optimizer step in place from the gradients grads (weight decay on weights only)."""
    optimizer = _index(optimizer)
    dtype = _floating("params", params, 1)
    _buffer("params", params, 1, dtype, writeable=True)
    _buffer("grads", grads, 1, dtype)
    _buffer("state", state, 1, dtype, writeable=True)
    widths = _check_sizes(sizes)
    _check_length("params", len(params), parameter_count(widths))
    _check_length("grads", len(grads), len(params))
    _check_optimizer(optimizer, settings, state, len(params))
    _network_update(params, grads, state, widths, optimizer, settings)


def train_epoch(params: Floats, state: Floats, sizes: Indices, activations: Indices,
                loss: int, X: Floats, Y: Floats, weights: Floats, order: Indices,
                batch_size: int, optimizer: int, settings: Floats, summed_penalty: bool = False,
                records: Floats | None = None, clipped_loss: bool = False) -> float:
    """One epoch over the rows X[order]; returns the summed loss of every sample.

    batch_size 1 is the online (per-sample) epoch; each batch takes one optimizer step with
    the mean gradient of its samples, each sample's loss and gradient times its weight
    unless weights is empty. With summed_penalty, weight decay is an L2 penalty on each
    batch's summed loss (scikit-learn's alpha): a batch steps with its weighted mean gradient
    sum w g / sum w and the optimizer's weight decay divided by its weight sum S (its row
    count without weights); a batch of weight sum 0 takes no step. records, if given, of
    shape (number of batches, 3), gets per batch its summed loss as stepped, S, and sum W^2
    (weights, not biases) just before its step. With clipped_loss, the cross-entropies' loss
    values (returned and recorded; not the gradients) are scikit-learn's: from the output
    probabilities clipped to [eps, 1 - eps], eps the dtype's machine epsilon.
    """
    loss, batch_size, optimizer = _index(loss), _index(batch_size), _index(optimizer)
    dtype = _floating("params", params, 1)
    _buffer("params", params, 1, dtype, writeable=True)
    _buffer("state", state, 1, dtype, writeable=True)
    widths = _check_network(params, sizes, activations)
    _buffer("X", X, 2, dtype)
    _buffer("Y", Y, 2, dtype)
    _buffer("order", order, 1, np.intp)
    _check_loss(loss, activations[-1])
    _check_optimizer(optimizer, settings, state, len(params))
    n = X.shape[0]
    _check_length("X's second dimension", X.shape[1], widths[0])
    _check_length("Y's second dimension", Y.shape[1], widths[-1])
    _check_length("Y", Y.shape[0], n)
    w = _weights(weights, dtype, n)
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    bad = (order < 0) | (order >= n)
    if bad.any():
        raise ValueError(f"order must hold row numbers in [0, {n}), got {order[bad][0]}")
    if len(order) == 0:
        return 0.0  # an epoch over no rows, as in the compiled wrapper
    batch_size = min(batch_size, len(order))
    if records is not None:
        _buffer("records", records, 2, np.float64, writeable=True)
        _check_length("records' first dimension", records.shape[0],
                      -(-len(order) // batch_size))
        _check_length("records' second dimension", records.shape[1], 3)
    # where weight_decay sits in the optimizer's settings
    slot = next(spec.settings.index("weight_decay") for spec in SPECS.values()
                if spec.code == optimizer)
    decay = float(settings[slot])
    grads = np.empty_like(params)
    total = 0.0
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):  # as the compiled loops
        for batch, start in enumerate(range(0, len(order), batch_size)):
            rows = order[start:start + batch_size]
            weight_sum = float(len(rows))
            if w is not None:  # in float64, in order, as the compiled loop sums
                weight_sum = 0.0
                for value in w[rows].tolist():
                    weight_sum += value
            batch_weights = None if w is None else w[rows]
            if records is not None:
                records[batch, 1] = weight_sum
                records[batch, 2] = _squared_weights(params, widths)
            cost = 0.0
            if summed_penalty:
                settings[slot] = decay / weight_sum if weight_sum else math.inf
                if w is not None and weight_sum != 0:  # to mean 1 in the batch: sum w g / sum w
                    batch_weights = ((w[rows].astype(np.float64) * (len(rows) / weight_sum))
                                     .astype(w.dtype) if len(rows) > 1
                                     else np.ones(1, dtype=w.dtype))
            if not (summed_penalty and weight_sum == 0):
                cost = _batch_step(params, state, widths, activations, loss, X, Y,
                                   batch_weights, rows, optimizer, settings, grads,
                                   clipped_loss)
            if records is not None:
                records[batch, 0] = cost
            total += cost
    settings[slot] = decay
    return total


def _clipped_loss(loss: int, outputs: Floats, Y: Floats, weights: Floats) -> float:
    # scikit-learn's value of the cross-entropies (as clipped_loss_sum in
    # src/kernels/math.pxi): the probabilities clipped to [eps, 1 - eps], a term with a zero
    # target counting 0; summed over outputs, then over samples times their weights
    eps = float(np.finfo(outputs.dtype).eps)
    p = np.clip(outputs.astype(np.float64), eps, 1.0 - eps)
    y = Y.astype(np.float64)
    costs = -np.where(y != 0, y * np.log(p), 0.0)
    if loss == BINARY_CROSS_ENTROPY:
        costs -= np.where(y != 1, (1.0 - y) * np.log(1.0 - p), 0.0)
    per_sample = costs.sum(axis=1)
    if len(weights):
        per_sample = per_sample * weights.astype(np.float64)
    return float(per_sample.sum())


def _squared_weights(params: Floats, sizes: list[int]) -> float:
    # sum of W[l]^2 over every layer's weights (not the biases), in float64 (the compiled
    # loop sums in order, NumPy pairwise: the two agree to rounding, not bit for bit)
    total = 0.0
    for weights, _ in layer_parameters(params, sizes):
        flat = weights.astype(np.float64).ravel()
        total += float(np.dot(flat, flat))
    return total


def _batch_step(params: Floats, state: Floats, sizes: list[int], activations: Indices,
                loss: int, X: Floats, Y: Floats, weights: Floats | None, rows: Indices,
                optimizer: int, settings: Floats, grads: Floats,
                clipped_loss: bool = False) -> float:
    """One optimizer step on the rows X[rows] (weights: theirs, or None); returns their
    summed loss before the step."""
    units, n_out, b = unit_count(sizes), sizes[-1], len(rows)
    x, y = X[rows], Y[rows]
    w = np.empty(0, dtype=params.dtype) if weights is None else weights
    A = np.empty(b * units, dtype=params.dtype)
    D = np.empty_like(A)
    Z = np.empty((b, n_out), dtype=params.dtype)
    sizes_array = np.array(sizes, dtype=np.intp)
    forward(params, sizes_array, activations, x, A, Z)
    outputs = A[b * (units - n_out):].reshape(b, n_out)
    if clipped_loss and loss in (BINARY_CROSS_ENTROPY, CROSS_ENTROPY):
        total = _clipped_loss(loss, outputs, y, w)
    else:
        total = batch_loss(loss, outputs, Z, y, w)
    backward(params, sizes_array, activations, loss, y, A, D, w)
    parameter_gradients(sizes_array, x, A, D, grads)
    _network_update(params, grads, state, sizes, optimizer, settings)
    return total
