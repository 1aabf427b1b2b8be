"""The one table of what a network is made of, shared by every module and both kernel twins.

Names and the integer codes the kernels take for activations, losses and optimizers; which
output activation each loss needs; the limits of a network's shape. The compiled kernels
mirror the codes and limits in `bpcore/_spec.pxd`; tests/test_twins.py checks that both
kernel modules agree with this file. Nothing here imports the rest of the package.
"""
from __future__ import annotations

from typing import NamedTuple

# activation name -> code; "softmax" and "exp" only as the output
ACTIVATIONS = {"identity": 0, "sigmoid": 1, "tanh": 2, "relu": 3, "leaky_relu": 4,
               "softmax": 5, "exp": 6}
HIDDEN_ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "identity")
OUTPUT_ACTIVATIONS = HIDDEN_ACTIVATIONS + ("softmax", "exp")
LEAKY_SLOPE = 0.01  # slope of leaky_relu below zero

# loss name -> code
LOSSES = {"mse": 0, "binary_cross_entropy": 1, "cross_entropy": 2, "poisson": 3}



class OptimizerSpec(NamedTuple):
    """What the kernels take for one optimizer: its code, the names of the float64 `settings`
    vector's entries (hyperparameters first, then any scalar state such as a step count) and
    of the arrays, each as long as the parameters, in its `state` vector."""

    code: int
    settings: tuple[str, ...]
    state: tuple[str, ...]


# optimizer name -> its spec; each has one update function per kernel module and one class in
# bpcore/optim.py (CONTRIBUTING.md says how to add one)
OPTIMIZERS = {
    "sgd": OptimizerSpec(0, ("lr", "momentum", "nesterov", "weight_decay"), ("velocity",)),
    "adam": OptimizerSpec(1, ("lr", "beta1", "beta2", "eps", "weight_decay", "decoupled",
                              "eps_hat", "step"), ("m", "v")),
    "rprop": OptimizerSpec(2, ("lr", "eta_minus", "eta_plus", "step_min", "step_max",
                               "weight_decay", "step"), ("step_size", "previous")),
}

DTYPES = ("float32", "float64")

# how far from 1 a row of cross-entropy targets may sum (one-hot rows or probabilities)
ROW_SUM_TOLERANCE = 1e-5

# Limits of a network's shape: beyond them the buffer-length arithmetic of the compiled
# wrappers could overflow (no machine holds such a network anyway).
MAX_WIDTH = 1 << 24
MAX_LAYERS = 1 << 12  # weight layers, so a network has at most MAX_LAYERS + 1 widths
MAX_PARAMETERS = 1 << 31  # model files claiming more are refused before anything is allocated


def pairing_error(output: str, loss: str) -> str | None:
    """Why `output` and `loss` cannot go together, or None when they can."""
    if output == "softmax" and loss != "cross_entropy":
        return f"a softmax output needs loss='cross_entropy', got loss={loss!r}"
    if loss == "cross_entropy" and output != "softmax":
        return f"loss='cross_entropy' needs output='softmax', got output={output!r}"
    if loss == "binary_cross_entropy" and output != "sigmoid":
        return f"loss='binary_cross_entropy' needs output='sigmoid', got output={output!r}"
    if output == "exp" and loss != "poisson":
        return f"an exp output needs loss='poisson', got loss={loss!r}"
    if loss == "poisson" and output != "exp":
        return f"loss='poisson' needs output='exp', got output={output!r}"
    return None


def check_pairing(output: str, loss: str) -> None:
    """Raise ValueError when the output activation and the loss do not go together."""
    error = pairing_error(output, loss)
    if error is not None:
        raise ValueError(error)
