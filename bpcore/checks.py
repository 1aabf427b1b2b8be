"""Gradient checking: backpropagation against central finite differences."""
from __future__ import annotations

import math
import numbers

import numpy as np
import numpy.typing as npt

from .network import Network


def numerical_gradients(network: Network, X: npt.ArrayLike, Y: npt.ArrayLike,
                        eps: float = 1e-6) -> npt.NDArray[np.float64]:
    """dC/dp for every parameter p by central differences (C(p + eps) - C(p - eps)) / (2 eps),
    as one flat vector in the layout of the network's parameters.

    Each parameter is nudged in place and put back exactly, so the network ends as it began.
    A float32 network is differentiated on a float64 copy of it (the same function at the
    same parameters, computed wider), since float32 rounding would drown a step of 1e-6.
    This takes two forward passes per parameter: meant for small networks and batches.

    Parameters
    ----------
    network : Network
        The network whose cost C (`bpcore.Network.loss`) is differentiated.
    X : array_like of shape (n_samples, n_in)
        Inputs, one sample per row.
    Y : array_like of shape (n_samples, n_out), or (n_samples,) when n_out is 1
        Targets, as for `bpcore.Network.loss`.
    eps : float, default 1e-6
        The step of the differences, > 0.

    Returns
    -------
    ndarray of float64, shape (n_parameters,)
        Layer after layer, the weights ``weights[i]`` row by row then the biases
        ``biases[i]``.

    Raises
    ------
    TypeError
        If `network` is not a `bpcore.Network`, `eps` is not a real number, or X or Y do
        not hold real numbers.
    ValueError
        If `eps` is not a positive finite number, or X or Y do not fit the network, as for
        `bpcore.Network.loss`.

    Examples
    --------
    >>> import numpy as np
    >>> import bpcore
    >>> from bpcore.checks import numerical_gradients
    >>> net = bpcore.Network([2, 3, 1], seed=0)
    >>> X, Y = np.array([[0.0, 1.0], [1.0, 0.5]]), np.array([1.0, 0.0])
    >>> numeric = numerical_gradients(net, X, Y)
    >>> numeric.shape
    (13,)
    >>> g = net.gradients(X, Y)
    >>> bool(np.allclose(numeric[:6], g.weights[0].ravel(), atol=1e-8))
    True
    """
    eps = _checked(network, eps)
    network = _float64(network)
    # the weights and biases are writable views of the network's parameters, in their order
    blocks = [block.reshape(-1) for pair in zip(network.weights, network.biases) for block in pair]
    numeric = np.empty(sum(len(block) for block in blocks), dtype=np.float64)
    i = 0
    for block in blocks:
        for index in range(len(block)):
            kept = block[index]
            block[index] = kept + eps
            above = network.loss(X, Y)
            block[index] = kept - eps
            below = network.loss(X, Y)
            block[index] = kept
            numeric[i] = (above - below) / (2 * eps)
            i += 1
    return numeric


def check_gradients(network: Network, X: npt.ArrayLike, Y: npt.ArrayLike,
                    eps: float = 1e-6) -> float:
    """Largest error of backpropagation's gradients against central differences.

    Each parameter's error is ``|analytic - numeric| / max(1, |analytic|, |numeric|)``: relative
    for gradients larger than 1, absolute below (where a relative error would only measure
    the finite differences' own rounding). A float32 network is checked on a float64 copy,
    since float32 rounding would drown a step of 1e-6. Expect 1e-7 or less
    (tests/test_gradients.py holds every hidden activation with every output and loss to
    that; the largest measured there is about 1e-8, the example below about 1e-10), except
    where the differences cannot follow the gradient: a relu or leaky_relu unit whose z lies
    within eps of its kink at 0 (zero biases on inputs of 0, say) gives an error up to that
    unit's share of the gradient, and a large loss (1e4 and more) rounding errors of about
    1e-16 * loss / eps. Check at random parameters and inputs, away from kinks.

    Parameters
    ----------
    network : Network
        The network to check; it is left unchanged.
    X : array_like of shape (n_samples, n_in)
        Inputs, one sample per row; a few samples are enough.
    Y : array_like of shape (n_samples, n_out), or (n_samples,) when n_out is 1
        Targets, as for `bpcore.Network.loss`.
    eps : float, default 1e-6
        The step of the central differences, > 0.

    Returns
    -------
    float
        The largest error over all parameters.

    Raises
    ------
    ValueError
        If `eps` is not a positive finite number, or X or Y do not fit the network.
    TypeError
        If `network` is not a `bpcore.Network`, `eps` is not a real number, or X or Y do
        not hold real numbers.

    Examples
    --------
    >>> import numpy as np
    >>> import bpcore
    >>> net = bpcore.Network([3, 4, 2], activation="tanh", output="softmax",
    ...                      loss="cross_entropy", seed=0)
    >>> X = np.random.default_rng(0).normal(size=(5, 3))
    >>> Y = np.eye(2)[[0, 1, 1, 0, 1]]
    >>> bpcore.check_gradients(net, X, Y) < 1e-6
    True
    """
    eps = _checked(network, eps)
    network = _float64(network)
    g = network.gradients(X, Y)
    analytic = np.concatenate([np.concatenate([w.ravel(), b]) for w, b in zip(g.weights, g.biases)])
    numeric = numerical_gradients(network, X, Y, eps)
    scale = np.maximum(1.0, np.maximum(np.abs(analytic), np.abs(numeric)))
    return float(np.max(np.abs(analytic - numeric) / scale))


def _checked(network: object, eps: object) -> float:
    """`eps` as a float, once it and `network` are found to be what the checks take."""
    if not isinstance(network, Network):
        raise TypeError(f"network must be a bpcore.Network, got {type(network).__name__}")
    if isinstance(eps, (bool, np.bool_)) or not isinstance(eps, numbers.Real):
        raise TypeError(f"eps must be a real number, got {type(eps).__name__} {eps!r}")
    try:
        value = float(eps)
    except OverflowError:  # an int past float's range
        value = math.inf
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"eps must be a positive finite number, got {eps!r}")
    return value


def _float64(network: Network) -> Network:
    """`network` itself in float64, or a float64 copy of its parameters."""
    if network.dtype == np.float64:
        return network
    state = network.get_state()
    wide = Network(state["sizes"], activation=state["activation"], output=state["output"],
                   loss=state["loss"], dtype="float64")
    wide.set_state({"parameters": state["parameters"]})
    return wide
