"""What every converter shares: a Network's layers as plain arrays, and a Network built from
layers read elsewhere (checked: shapes that chain, one hidden activation, a known output)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from .._layout import first_not_finite_layer
from .._spec import DTYPES, HIDDEN_ACTIVATIONS, OUTPUT_ACTIVATIONS
from ..network import Network

# the loss a network read from elsewhere gets: the one its output pairs with (mse otherwise)
_LOSS_OF_OUTPUT = {"softmax": "cross_entropy", "exp": "poisson"}


class Layers(NamedTuple):
    """A network as converters see it: ``weights[i]`` of shape (n_out, n_in) and
    ``biases[i]`` of shape (n_out,), layer after layer, copies in the network's dtype; the
    activation after each layer (the hidden one, repeated, then the output's)."""

    weights: list[npt.NDArray[Any]]
    biases: list[npt.NDArray[Any]]
    activations: list[str]
    dtype: np.dtype[Any]


def layers_of(net: object, name: str = "net") -> Layers:
    """The layers of `net`, read through its public state; TypeError if it is not a Network."""
    if not isinstance(net, Network):
        hint = ""
        if hasattr(net, "network_"):  # a fitted bpcore.sklearn estimator
            hint = (f"; for a fitted {type(net).__name__}, pass its network_ (the network "
                    f"alone: not its classes_, nor any scaling in a pipeline before it)")
        elif hasattr(net, "fit") and hasattr(net, "get_params"):  # another estimator
            hint = (f"; an estimator's network is its network_ once fitted (scikit-learn's "
                    f"own MLPs through bpcore.sklearn.from_sklearn first)")
        raise TypeError(f"{name} must be a bpcore.Network, got {type(net).__name__}{hint}")
    # its description from the public attributes: get_state() would copy every parameter
    # and the optimizer's arrays too, only for the weights to be copied again below
    count = len(net.sizes) - 1
    activations = [net.activation] * (count - 1) + [net.output]
    return Layers([w.copy() for w in net.weights], [b.copy() for b in net.biases],
                  activations, net.dtype)


def check_finite(layers: Layers, target: str, name: str = "net") -> None:
    """A ValueError naming the first layer array that holds NaN or infinity, as `save` refuses
    them; `target` is the format the layers are for, such as "an ONNX model". Exporters call
    it after their own arguments' checks."""
    bad = first_not_finite_layer(zip(layers.weights, layers.biases))
    if bad is not None:
        raise ValueError(f"{name}'s {bad} hold NaN or infinity (not finite): {target} of them "
                         f"would compute NaN; train or set finite values first")


def network_of(weights: Sequence[npt.ArrayLike], biases: Sequence[npt.ArrayLike],
               activations: Sequence[str], dtype: npt.DTypeLike, source: str) -> Network:
    """A Network with these layers, or a ValueError that starts with `source` (such as "not
    an ONNX model of a fully connected network") and says what does not fit.

    `activations` holds one bpcore activation name per layer; every hidden layer must have the
    same one (a bpcore network has one hidden activation). The loss is the one the output
    pairs with: cross_entropy after softmax, poisson after exp, mse otherwise.
    """
    if not (len(weights) == len(biases) == len(activations)) or not weights:
        raise ValueError(f"{source}: {len(weights)} weight matrices, {len(biases)} bias vectors "
                         f"and {len(activations)} activations, expected the same number >= 1")
    dtype = np.dtype(dtype)
    if dtype.name not in DTYPES:
        raise ValueError(f"{source}: parameters of type {dtype.name}, expected one of "
                         f"{', '.join(DTYPES)}")
    matrices = [np.asarray(w) for w in weights]
    vectors = [np.asarray(b) for b in biases]
    sizes: list[int] = []
    for i, (w, b) in enumerate(zip(matrices, vectors)):
        if w.ndim != 2 or b.ndim != 1 or b.shape[0] != w.shape[0] or min(w.shape) < 1:
            raise ValueError(f"{source}: layer {i} has weights of shape {w.shape} and biases of "
                             f"shape {b.shape}, expected (n_out, n_in) and (n_out,)")
        if sizes and w.shape[1] != sizes[-1]:
            raise ValueError(f"{source}: layer {i} takes {w.shape[1]} inputs, but the layer "
                             f"before it gives {sizes[-1]}")
        if not sizes:
            sizes.append(w.shape[1])
        sizes.append(w.shape[0])
        if not (np.isfinite(w).all() and np.isfinite(b).all()):
            raise ValueError(f"{source}: layer {i} has weights or biases that are not finite")
    hidden, output = list(activations[:-1]), activations[-1]
    for i, name in enumerate(hidden):
        if name not in HIDDEN_ACTIVATIONS:
            raise ValueError(f"{source}: hidden layer {i} has activation {name!r}, expected one "
                             f"of {', '.join(HIDDEN_ACTIVATIONS)}")
    if len(set(hidden)) > 1:
        raise ValueError(f"{source}: its hidden layers have the activations "
                         f"{', '.join(hidden)}; a bpcore network has one hidden activation")
    if output not in OUTPUT_ACTIVATIONS:
        raise ValueError(f"{source}: the output layer has activation {output!r}, expected one of "
                         f"{', '.join(OUTPUT_ACTIVATIONS)}")
    net = Network(sizes, activation=hidden[0] if hidden else "sigmoid", output=output,
                  loss=_LOSS_OF_OUTPUT.get(output, "mse"), dtype=dtype.name, seed=0)
    for target, w in zip(net.weights, matrices):
        target[...] = w
    for target, b in zip(net.biases, vectors):
        target[...] = b
    return net
