"""Pure-Python twin of the compiled kernels (`src/_kernels.pyx`): Python and NumPy only.

Same names, signatures, buffer layout (`bpcore/_layout.py`) and in-place semantics as the
compiled module, and the same formulas in the same order, so both backends train alike.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeAlias

import numpy as np

from ._layout import (MAX_LAYERS, MAX_WIDTH, Floats, Indices, layer_blocks, layer_parameters,
                      parameter_count, unit_count)

# The compiled module takes intp arrays (bpcore/_kernels.pyi); this twin also takes sequences.
_Sizes: TypeAlias = Indices | Sequence[int]

IDENTITY, SIGMOID, TANH, RELU, LEAKY_RELU, SOFTMAX = range(6)
MSE, BINARY_CROSS_ENTROPY, CROSS_ENTROPY = range(3)
LEAKY_SLOPE = 0.01

ACTIVATIONS = {"identity": IDENTITY, "sigmoid": SIGMOID, "tanh": TANH, "relu": RELU,
               "leaky_relu": LEAKY_RELU, "softmax": SOFTMAX}
LOSSES = {"mse": MSE, "binary_cross_entropy": BINARY_CROSS_ENTROPY,
          "cross_entropy": CROSS_ENTROPY}


# ---- one-point math, on whole arrays ----

def _sigmoid(z: Floats) -> Floats:
    # 1 / (1 + e^-z), branching on the sign so exp never overflows
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(z.dtype, copy=False)


def _softplus(z: Floats) -> Floats:
    # log(1 + e^z) = max(z, 0) + log(1 + e^-|z|)
    return np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))


def _activate(z: Floats, activation: int) -> Floats:
    """a = f(z) for a (n, width) block."""
    if activation == SOFTMAX:
        e = np.exp(z - z.max(axis=1, keepdims=True))
        probabilities: Floats = e / e.sum(axis=1, keepdims=True)
        return probabilities
    if activation == SIGMOID:
        return _sigmoid(z)
    if activation == TANH:
        return np.tanh(z)
    if activation == RELU:
        return np.where(z < 0, 0, z).astype(z.dtype, copy=False)
    if activation == LEAKY_RELU:
        return np.where(z < 0, z * z.dtype.type(LEAKY_SLOPE), z)
    return z


def derivative(a: Floats, activation: int) -> Floats:
    """f'(z) written in terms of a = f(z)."""
    if activation == SIGMOID:
        return a * (1 - a)
    if activation == TANH:
        return 1 - a * a
    if activation == RELU:
        return (a > 0).astype(a.dtype)
    if activation == LEAKY_RELU:
        return np.where(a > 0, 1, LEAKY_SLOPE).astype(a.dtype)
    return np.ones_like(a)


# ---- checks, as in the compiled wrappers ----



def _check_sizes(sizes: _Sizes) -> list[int]:
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


def _check_network(params: Floats, sizes: _Sizes, activations: Indices) -> list[int]:
    sizes = _check_sizes(sizes)
    if len(activations) != len(sizes) - 1:
        raise ValueError(f"activations must hold {len(sizes) - 1} codes, got {len(activations)}")
    for layer, code in enumerate(activations):
        if not IDENTITY <= code <= SOFTMAX or (code == SOFTMAX and layer < len(sizes) - 2):
            raise ValueError(f"activation code {code} is not valid for layer {layer}")
    _check_length("params", len(params), parameter_count(sizes))
    return sizes


def _check_loss(loss: int, output_activation: int) -> None:
    if loss not in (MSE, BINARY_CROSS_ENTROPY, CROSS_ENTROPY):
        raise ValueError(f"loss code {loss} is not valid")
    if (loss == CROSS_ENTROPY) != (output_activation == SOFTMAX) or (
            loss == BINARY_CROSS_ENTROPY and output_activation != SIGMOID):
        raise ValueError(f"loss code {loss} does not fit output activation {output_activation}")


def _check_length(name: str, got: int, expected: int) -> None:
    if got != expected:
        raise ValueError(f"{name} must have {expected} entries, got {got}")


def _check_dtypes(*arrays: Floats) -> None:
    if len({array.dtype for array in arrays}) != 1:
        raise TypeError("No matching signature found: all floating buffers must share one dtype")


# ---- kernels ----

def forward(params: Floats, sizes: _Sizes, activations: Indices, X: Floats, A: Floats,
            Z: Floats) -> None:
    """Forward pass of the n samples in the rows of X: fills A (every layer) and Z (z[L])."""
    sizes = _check_network(params, sizes, activations)
    _check_dtypes(params, X, A, Z)
    n = X.shape[0]
    _check_length("X's second dimension", X.shape[1], sizes[0])
    _check_length("A", len(A), n * unit_count(sizes))
    _check_length("Z's first dimension", Z.shape[0], n)
    _check_length("Z's second dimension", Z.shape[1], sizes[-1])
    inputs = X
    for (weights, biases), block, code in zip(layer_parameters(params, sizes),
                                              layer_blocks(A, sizes, n), activations):
        z = inputs @ weights.T + biases  # z[l] = W[l] a[l-1] + b[l]
        block[...] = _activate(z, code)
        inputs = block
    Z[...] = z


def forward_one(params: Floats, sizes: Indices, activations: Indices, x: Floats,
                out: Floats) -> bool:
    """The output a[L] of one sample x (1-D) into out (1-D), for the latency of `predict`.

    Returns True when done; False, with out untouched, when x holds NaN or infinity or the
    arrays are not all C-contiguous of one floating dtype (the caller then takes the general
    path, which converts or reports them). Checks every length it relies on.
    """
    arrays = (params, sizes, activations, x, out)
    if params.dtype not in (np.float32, np.float64) or any(
            a.ndim != 1 or not a.flags.c_contiguous for a in arrays):
        return False
    if (x.dtype != params.dtype or out.dtype != params.dtype or sizes.dtype != np.intp
            or activations.dtype != np.intp or not out.flags.writeable):
        return False
    widths = _check_network(params, sizes, activations)
    _check_length("x", len(x), widths[0])
    _check_length("out", len(out), widths[-1])
    if not np.isfinite(x).all():
        return False
    A = np.empty(unit_count(widths), dtype=params.dtype)
    Z = np.empty((1, widths[-1]), dtype=params.dtype)
    forward(params, sizes, activations, x.reshape(1, -1), A, Z)
    out[...] = A[len(A) - len(out):]
    return True


def step_one(params: Floats, velocity: Floats, sizes: Indices, activations: Indices, loss: int,
             x: Floats, y: Floats, lr: float, momentum: float,
             weight_decay: float) -> tuple[float, int] | None:
    """One SGD step on one sample x, y (1-D), for the latency of `Network.step`.

    Returns None, with nothing changed, when x or y hold values the general path refuses
    (NaN, infinity, targets the loss does not accept) or the arrays are not all C-contiguous
    of one floating dtype: the caller then takes the general path, which converts or reports
    them. Otherwise returns (cost, outcome): the sample's cost before the step and 1 (stepped),
    2 (the cost was not finite: nothing changed) or 3 (a parameter became non-finite: the
    step was undone). Checks every length it relies on.
    """
    arrays = (params, velocity, sizes, activations, x, y)
    if params.dtype not in (np.float32, np.float64) or any(
            a.ndim != 1 or not a.flags.c_contiguous for a in arrays):
        return None
    if (velocity.dtype != params.dtype or x.dtype != params.dtype or y.dtype != params.dtype
            or sizes.dtype != np.intp or activations.dtype != np.intp
            or not params.flags.writeable or not velocity.flags.writeable):
        return None
    widths = _check_network(params, sizes, activations)
    _check_loss(loss, activations[-1])
    _check_length("velocity", len(velocity), len(params))
    _check_length("x", len(x), widths[0])
    _check_length("y", len(y), widths[-1])
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        return None
    if loss != MSE and (y.min() < 0 or y.max() > 1 or (
            loss == CROSS_ENTROPY and abs(y.sum(dtype=np.float64) - 1) > 1e-5)):
        return None
    units, n_out = unit_count(widths), widths[-1]
    X, Y = x.reshape(1, -1), y.reshape(1, -1)
    A, Z = np.empty(units, dtype=params.dtype), np.empty((1, n_out), dtype=params.dtype)
    D, grads = np.empty_like(A), np.empty_like(params)
    with np.errstate(over="ignore", invalid="ignore"):  # as silent as the compiled loops
        forward(params, sizes, activations, X, A, Z)
        cost = batch_loss(loss, A[units - n_out:].reshape(1, n_out), Z, Y)
        if not np.isfinite(cost):
            return cost, 2
        backward(params, sizes, activations, loss, Y, A, D)
        parameter_gradients(sizes, X, A, D, grads)
        saved = params.copy(), velocity.copy() if momentum else None
        sgd_update(params, grads, velocity, sizes, lr, momentum, weight_decay)
    if np.isfinite(params).all():
        return cost, 1
    params[...] = saved[0]
    if saved[1] is not None:
        velocity[...] = saved[1]
    return cost, 3


def backward(params: Floats, sizes: _Sizes, activations: Indices, loss: int, Y: Floats,
             A: Floats, D: Floats) -> None:
    """Local gradients delta[l] of every layer into D, from the activations A of `forward`."""
    sizes = _check_network(params, sizes, activations)
    _check_loss(loss, activations[-1])
    _check_dtypes(params, Y, A, D)
    n = Y.shape[0]
    _check_length("Y's second dimension", Y.shape[1], sizes[-1])
    _check_length("A", len(A), n * unit_count(sizes))
    _check_length("D", len(D), len(A))
    a_blocks, d_blocks = layer_blocks(A, sizes, n), layer_blocks(D, sizes, n)
    layers = layer_parameters(params, sizes)
    # delta[L] = (a - y) f'(z[L]) for mse, fused to a - y for the cross-entropies
    if loss == MSE:
        d_blocks[-1][...] = (a_blocks[-1] - Y) * derivative(a_blocks[-1], activations[-1])
    else:
        d_blocks[-1][...] = a_blocks[-1] - Y
    # delta[l] = (W[l+1]^T delta[l+1]) * f'(z[l])
    for layer in range(len(layers) - 2, -1, -1):
        weights_next = layers[layer + 1][0]
        d_blocks[layer][...] = (d_blocks[layer + 1] @ weights_next) * derivative(
            a_blocks[layer], activations[layer])


def parameter_gradients(sizes: _Sizes, X: Floats, A: Floats, D: Floats,
                        grads: Floats) -> None:
    """Mean over the batch of dC/dW[l] = delta[l] a[l-1]^T and dC/db[l] = delta[l], into grads."""
    sizes = _check_sizes(sizes)
    _check_dtypes(X, A, D, grads)
    n = X.shape[0]
    _check_length("X's second dimension", X.shape[1], sizes[0])
    _check_length("A", len(A), n * unit_count(sizes))
    _check_length("D", len(D), len(A))
    _check_length("grads", len(grads), parameter_count(sizes))
    if n == 0:
        raise ValueError("X must hold at least one sample, got 0")
    scale = grads.dtype.type(1.0 / n)
    inputs = [X] + layer_blocks(A, sizes, n)[:-1]
    for (grad_w, grad_b), deltas, a_in in zip(layer_parameters(grads, sizes),
                                              layer_blocks(D, sizes, n), inputs):
        grad_w[...] = (deltas.T @ a_in) * scale
        grad_b[...] = deltas.sum(axis=0) * scale


def batch_loss(loss: int, A_out: Floats, Z: Floats, Y: Floats) -> float:
    """Sum over the samples of the cost C, from the output activations and z[L]."""
    if loss not in (MSE, BINARY_CROSS_ENTROPY, CROSS_ENTROPY):
        raise ValueError(f"loss code {loss} is not valid")
    if not A_out.shape == Z.shape == Y.shape:
        raise ValueError("A_out, Z and Y must have the same shape")
    _check_dtypes(A_out, Z, Y)
    if A_out.size == 0:
        return 0.0
    a, z, y = (np.asarray(v, dtype=np.float64) for v in (A_out, Z, Y))
    if loss == MSE:
        return float(0.5 * ((a - y) ** 2).sum())
    if loss == BINARY_CROSS_ENTROPY:
        return float((_softplus(z) - y * z).sum())
    top = z.max(axis=1, keepdims=True)
    lse = top + np.log(np.exp(z - top).sum(axis=1, keepdims=True))
    return float((y * (lse - z)).sum())


def sgd_update(params: Floats, grads: Floats, velocity: Floats, sizes: _Sizes,
               lr: float | np.floating[Any], momentum: float | np.floating[Any],
               weight_decay: float) -> None:
    """In place: v = momentum v - lr (g + weight_decay W); params += v (no decay on biases).

    With momentum 0 this is plain SGD, params -= lr (g + weight_decay W), and the velocity is
    left as it is."""
    sizes = _check_sizes(sizes)
    _check_dtypes(params, grads, velocity)
    _check_length("params", len(params), parameter_count(sizes))
    _check_length("grads", len(grads), len(params))
    _check_length("velocity", len(velocity), len(params))
    kind = params.dtype.type
    lr, momentum = kind(lr), kind(momentum)
    for (w, b), (gw, gb), (vw, vb) in zip(layer_parameters(params, sizes),
                                          layer_parameters(grads, sizes),
                                          layer_parameters(velocity, sizes)):
        for p, g, v in ((w, gw + kind(weight_decay) * w, vw), (b, gb + kind(0.0) * b, vb)):
            if momentum == 0:
                p -= lr * g
                continue
            v[...] = momentum * v - lr * g
            p += v


def train_epoch(params: Floats, velocity: Floats, sizes: _Sizes, activations: Indices,
                loss: int, X: Floats, Y: Floats, order: Indices, batch_size: int, lr: float,
                momentum: float, weight_decay: float) -> float:
    """One epoch of SGD over the rows X[order]; returns the summed loss of every sample.

    batch_size 1 is the online (per-sample) epoch; each batch takes one step with the mean
    gradient of its samples.
    """
    sizes_list = _check_network(params, sizes, activations)
    _check_loss(loss, activations[-1])
    _check_dtypes(params, velocity, X, Y)
    n = X.shape[0]
    _check_length("X's second dimension", X.shape[1], sizes_list[0])
    _check_length("Y's second dimension", Y.shape[1], sizes_list[-1])
    _check_length("Y", Y.shape[0], n)
    _check_length("velocity", len(velocity), len(params))
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    order = np.asarray(order)
    if order.dtype != np.intp or order.ndim != 1:
        raise TypeError(f"order must be a 1-D array of row numbers (intp), got dtype "
                        f"{order.dtype} with {order.ndim} dimensions")
    bad = (order < 0) | (order >= n)
    if bad.any():
        raise ValueError(f"order must hold row numbers in [0, {n}), got {order[bad][0]}")
    batch_size = min(batch_size, len(order))
    grads = np.empty_like(params)
    total = 0.0
    with np.errstate(over="ignore", invalid="ignore"):  # as silent as the compiled loops
        for start in range(0, len(order), batch_size):
            total += _train_batch(params, velocity, sizes, activations, loss, X, Y,
                                  order[start:start + batch_size], lr, momentum, weight_decay,
                                  grads)
    return total


def _train_batch(params: Floats, velocity: Floats, sizes: _Sizes, activations: Indices,
                 loss: int, X: Floats, Y: Floats, rows: Indices, lr: float, momentum: float,
                 weight_decay: float, grads: Floats) -> float:
    """One SGD step on the rows X[rows]; returns their summed loss before the step."""
    units, n_out, b = unit_count([int(w) for w in sizes]), int(sizes[-1]), len(rows)
    x, y = X[rows], Y[rows]
    A = np.empty(b * units, dtype=params.dtype)
    D = np.empty_like(A)
    Z = np.empty((b, n_out), dtype=params.dtype)
    forward(params, sizes, activations, x, A, Z)
    total = batch_loss(loss, A[b * (units - n_out):].reshape(b, n_out), Z, y)
    backward(params, sizes, activations, loss, y, A, D)
    parameter_gradients(sizes, x, A, D, grads)
    sgd_update(params, grads, velocity, sizes, lr, momentum, weight_decay)
    return total
