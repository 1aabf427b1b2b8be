"""Gradient checking: backpropagation against central finite differences."""
from __future__ import annotations

import copy
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from .network import Network


def numerical_gradients(network: Network, X: npt.ArrayLike, Y: npt.ArrayLike,
                        eps: float = 1e-6) -> npt.NDArray[np.float64]:
    """dC/dp for every parameter p by central differences (C(p + eps) - C(p - eps)) / (2 eps),
    as one flat vector in the layout of the network's parameters."""
    params = network._params
    numeric = np.empty(len(params), dtype=np.float64)
    for i in range(len(params)):
        kept = params[i]
        params[i] = kept + eps
        above = network.loss(X, Y)
        params[i] = kept - eps
        below = network.loss(X, Y)
        params[i] = kept
        numeric[i] = (above - below) / (2 * eps)
    return numeric


def check_gradients(network: Network, X: npt.ArrayLike, Y: npt.ArrayLike,
                    eps: float = 1e-6) -> float:
    """Largest error of backpropagation's gradients against central differences.

    Each parameter's error is |analytic - numeric| / max(1, |analytic|, |numeric|): relative
    for gradients larger than 1, absolute below (where a relative error would only measure
    the finite differences' own rounding). A float32 network is checked on a float64 copy,
    since float32 rounding would drown a step of 1e-6. Expect about 1e-8 or less.
    """
    if not (isinstance(eps, (int, float)) and np.isfinite(eps) and eps > 0):
        raise ValueError(f"eps must be a positive finite number, got {eps!r}")
    if network.dtype != np.float64:
        original, network = network, copy.deepcopy(network)
        network._dtype = np.dtype(np.float64)
        network._params = original._params.astype(np.float64)
        network._velocity = np.zeros_like(network._params)
    g = network.gradients(X, Y)
    analytic = np.concatenate([np.concatenate([w.ravel(), b]) for w, b in zip(g.weights, g.biases)])
    numeric = numerical_gradients(network, X, Y, eps)
    scale = np.maximum(1.0, np.maximum(np.abs(analytic), np.abs(numeric)))
    return float(np.max(np.abs(analytic - numeric) / scale))
