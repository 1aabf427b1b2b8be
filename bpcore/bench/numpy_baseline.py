"""The plain NumPy network a competent user would write instead of using bpcore.

Used only by the benchmarks (`bpcore.bench`, `benchmarks/`), as the "what would I otherwise
write" yardstick: one list of weight matrices W[l] (n_out, n_in) and bias vectors b[l], a
forward pass vectorised over the rows of a batch, backpropagation with matrix products per
batch, and plain SGD, or an optimizer's update (`NumpySGD`, `NumpyAdam`, `NumpyRprop`: PyTorch's
formulations, one vectorised expression per array). It does the same work as `Network.fit` (it
also reports the mean loss of every epoch), with no Python loop over samples inside a batch and
nothing deliberately slow.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from .._layout import Floats

if TYPE_CHECKING:
    from ..network import Network, Seed


def _activate(z: Floats, name: str) -> Floats:
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-z))
    if name == "tanh":
        return np.tanh(z)
    if name == "relu":
        return np.maximum(z, 0)
    if name == "softmax":
        e = np.exp(z - z.max(axis=1, keepdims=True))
        probabilities: Floats = e / e.sum(axis=1, keepdims=True)
        return probabilities
    return z  # identity


def _derivative(a: Floats, name: str) -> Floats | npt.NDArray[np.bool_] | int:
    """f'(z) written in terms of a = f(z)."""
    if name == "sigmoid":
        return a * (1 - a)
    if name == "tanh":
        return 1 - a * a
    if name == "relu":
        return a > 0
    return 1


class NumpySGD:
    """SGD with optional (Nesterov) momentum, PyTorch's formulation: v = momentum v + g, then
    p -= lr v, or with Nesterov p -= lr (g + momentum v); one velocity per array."""

    def __init__(self, lr: float, momentum: float = 0.0, nesterov: bool = False) -> None:
        self.lr, self.momentum, self.nesterov = lr, momentum, nesterov
        self.velocities: dict[int, Floats] = {}

    def update(self, key: int, parameter: Floats, gradient: Floats) -> None:
        """Move `parameter` (in place) against its mean gradient; `key` names its state."""
        if self.momentum:
            velocity = self.velocities.setdefault(key, np.zeros_like(parameter))
            velocity *= self.momentum
            velocity += gradient
            gradient = gradient + self.momentum * velocity if self.nesterov else velocity
        parameter -= self.lr * gradient


class NumpyAdam:
    """Adam, PyTorch's formulation: bias-corrected moments, eps added to the corrected
    sqrt(v)."""

    def __init__(self, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8) -> None:
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.moments: dict[int, tuple[Floats, Floats]] = {}
        self.steps: dict[int, int] = {}

    def update(self, key: int, parameter: Floats, gradient: Floats) -> None:
        """Move `parameter` (in place) by Adam's step; `key` names its moments."""
        if key not in self.moments:
            self.moments[key] = (np.zeros_like(parameter), np.zeros_like(parameter))
        m, v = self.moments[key]
        step = self.steps[key] = self.steps.get(key, 0) + 1
        m *= self.beta1
        m += (1 - self.beta1) * gradient
        v *= self.beta2
        v += (1 - self.beta2) * gradient * gradient
        denominator = np.sqrt(v) / math.sqrt(1 - self.beta2 ** step) + self.eps
        parameter -= self.lr / (1 - self.beta1 ** step) * m / denominator


class NumpyRprop:
    """iRprop-, PyTorch's formulation: a step size per parameter, times eta_plus while the
    gradient keeps its sign and times eta_minus (and no move) when it flips."""

    def __init__(self, lr: float = 0.01, eta_minus: float = 0.5, eta_plus: float = 1.2,
                 step_min: float = 1e-6, step_max: float = 50.0) -> None:
        self.lr, self.eta_minus, self.eta_plus = lr, eta_minus, eta_plus
        self.step_min, self.step_max = step_min, step_max
        self.state: dict[int, tuple[Floats, Floats]] = {}  # key: (step sizes, previous gradient)

    def update(self, key: int, parameter: Floats, gradient: Floats) -> None:
        """Move `parameter` (in place) by its step sizes; `key` names its state."""
        if key not in self.state:
            self.state[key] = (np.full_like(parameter, self.lr), np.zeros_like(parameter))
        step_size, previous = self.state[key]
        sign = np.sign(gradient * previous)
        step_size *= np.where(sign > 0, self.eta_plus, np.where(sign < 0, self.eta_minus, 1.0))
        np.clip(step_size, self.step_min, self.step_max, out=step_size)
        gradient = np.where(sign < 0, 0, gradient)  # a flipped sign: no move, a fresh start
        parameter -= np.sign(gradient) * step_size
        previous[...] = gradient


NumpyOptimizer = NumpySGD | NumpyAdam | NumpyRprop


class NumpyNetwork:
    """A fully-connected network trained by SGD (or a NumPy optimizer), in idiomatic
    vectorised NumPy."""

    dtype: np.dtype[Any]
    weights: list[Floats]
    biases: list[Floats]
    activations: list[str]
    loss_name: str

    def __init__(self, weights: Sequence[npt.ArrayLike], biases: Sequence[npt.ArrayLike],
                 activation: str = "sigmoid", output: str = "sigmoid", loss: str = "mse",
                 dtype: npt.DTypeLike = "float64") -> None:
        self.dtype = np.dtype(dtype)
        self.weights = [np.array(w, dtype=self.dtype) for w in weights]
        self.biases = [np.array(b, dtype=self.dtype) for b in biases]
        self.activations = [activation] * (len(self.weights) - 1) + [output]
        self.loss_name = loss

    @classmethod
    def like(cls, network: Network) -> NumpyNetwork:
        """A NumPy twin of a bpcore Network, starting from the same weights."""
        return cls(network.weights, network.biases, network.activation, network.output,
                   network.loss_name, network.dtype)

    def _forward(self, x: Floats) -> list[Floats]:
        outputs = [x]
        for weights, biases, name in zip(self.weights, self.biases, self.activations):
            outputs.append(_activate(outputs[-1] @ weights.T + biases, name))
        return outputs

    def predict(self, X: npt.ArrayLike) -> Floats:
        X = np.asarray(X, dtype=self.dtype)
        single = X.ndim == 1
        outputs = self._forward(X[None, :] if single else X)[-1]
        return outputs[0] if single else outputs

    def _loss(self, a: Floats, y: Floats) -> np.floating[Any]:
        if self.loss_name == "mse":
            return 0.5 * np.sum((a - y) ** 2)
        if self.loss_name == "cross_entropy":
            return -np.sum(y * np.log(np.clip(a, 1e-12, None)))
        a = np.clip(a, 1e-12, 1 - 1e-12)
        return -np.sum(y * np.log(a) + (1 - y) * np.log(1 - a))

    def step(self, x: Floats, y: Floats, lr: float,
             optimizer: NumpyOptimizer | None = None) -> np.floating[Any]:
        """One SGD step on the batch (x, y), or a step of `optimizer` (then lr is unused);
        returns the summed loss before the step."""
        outputs = self._forward(x)
        a = outputs[-1]
        loss = self._loss(a, y)
        delta = a - y  # fused for softmax + cross-entropy and sigmoid + binary cross-entropy
        if self.loss_name == "mse":
            delta = delta * _derivative(a, self.activations[-1])
        scale = lr / x.shape[0]
        for layer in range(len(self.weights) - 1, -1, -1):
            grad_w = delta.T @ outputs[layer]
            grad_b = delta.sum(axis=0)
            if layer > 0:  # delta[l] = (W[l+1]^T delta[l+1]) * f'(z[l]), before W changes
                delta = (delta @ self.weights[layer]) * _derivative(
                    outputs[layer], self.activations[layer - 1])
            if optimizer is None:
                self.weights[layer] -= scale * grad_w
                self.biases[layer] -= scale * grad_b
            else:  # the optimizers take the batch's mean gradient
                grad_w *= 1 / x.shape[0]
                grad_b *= 1 / x.shape[0]
                optimizer.update(2 * layer, self.weights[layer], grad_w)
                optimizer.update(2 * layer + 1, self.biases[layer], grad_b)
        return loss

    def fit(self, X: npt.ArrayLike, Y: npt.ArrayLike, epochs: int = 1, lr: float = 0.1,
            batch_size: int = 1, rng: Seed = None,
            optimizer: NumpyOptimizer | None = None) -> list[float]:
        """SGD (or `optimizer`) over shuffled batches; returns the mean loss of every epoch."""
        rng = np.random.default_rng(rng)
        X = np.asarray(X, dtype=self.dtype)
        Y = np.asarray(Y, dtype=self.dtype).reshape(X.shape[0], -1)
        losses = []
        for _ in range(epochs):
            order = rng.permutation(X.shape[0])
            total: float | np.floating[Any] = 0.0
            for start in range(0, X.shape[0], batch_size):
                rows = order[start:start + batch_size]
                total += self.step(X[rows], Y[rows], lr, optimizer)
            losses.append(float(total) / X.shape[0])
        return losses
