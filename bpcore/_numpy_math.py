"""One-point math on whole NumPy arrays: activations f(z), their derivatives f'(z) written in
terms of a = f(z), and the stable pieces of the losses. The fallback kernels and `explain`
compute with these; the compiled kernels have the same formulas in src/kernels/math.pxi."""
from __future__ import annotations

import numpy as np

from ._layout import Floats
from ._spec import ACTIVATIONS, LEAKY_SLOPE

IDENTITY, SIGMOID, TANH, RELU, LEAKY_RELU, SOFTMAX, EXP = (
    ACTIVATIONS[name] for name in ("identity", "sigmoid", "tanh", "relu", "leaky_relu",
                                   "softmax", "exp"))


def sigmoid(z: Floats) -> Floats:
    # 1 / (1 + e^-z), branching on the sign so exp never overflows
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(z.dtype, copy=False)


def softplus(z: Floats) -> Floats:
    # log(1 + e^z) = max(z, 0) + log(1 + e^-|z|)
    return np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))


def activate(z: Floats, activation: int) -> Floats:
    """a = f(z) for a (n, width) block; `activation` is a code of bpcore/_spec.py."""
    if activation == SOFTMAX:
        with np.errstate(over="ignore"):  # z - max z is -inf for logits near the largest double
            e = np.exp(z - z.max(axis=1, keepdims=True))
        probabilities: Floats = e / e.sum(axis=1, keepdims=True)
        return probabilities
    if activation == SIGMOID:
        return sigmoid(z)
    if activation == TANH:
        return np.tanh(z)
    if activation == RELU:
        return np.where(z < 0, 0, z).astype(z.dtype, copy=False)
    if activation == LEAKY_RELU:
        return np.where(z < 0, z * z.dtype.type(LEAKY_SLOPE), z)
    if activation == EXP:
        return exp(z)
    return z


def exp(z: Floats) -> Floats:
    # e^z in float64, then rounded to z's dtype, as the compiled loop computes it; inf where
    # it overflows, silently like the compiled kernels
    with np.errstate(over="ignore"):
        result: Floats = np.exp(z.astype(np.float64)).astype(z.dtype, copy=False)
    return result


def xlogx(y: Floats) -> Floats:
    # y log y, 0 at y = 0 (the limit), for targets y >= 0
    positive = y > 0
    return np.where(positive, y * np.log(np.where(positive, y, 1.0)), 0.0)


def derivative(a: Floats, activation: int) -> Floats:
    """f'(z) written in terms of a = f(z); softmax and exp are output-only and their losses
    fuse the output's delta, so they are never asked for."""
    if activation == SIGMOID:
        return a * (1 - a)
    if activation == TANH:
        return 1 - a * a
    if activation == RELU:
        return (a > 0).astype(a.dtype)
    if activation == LEAKY_RELU:
        return np.where(a > 0, 1, LEAKY_SLOPE).astype(a.dtype)
    return np.ones_like(a)
