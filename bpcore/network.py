"""The public Network: a thin layer over the kernels chosen in `_backend`.

Notation (the reference article's): layer l has weights W[l] (n_out, n_in) and biases b[l];
z[l] = W[l] a[l-1] + b[l], a[l] = f(z[l]), a[0] = x. Here `layer` counts weight matrices from
0, so `weights[0]` maps the inputs to the first hidden layer. Samples are rows of X.
"""
from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
import numpy.typing as npt

from . import _backend, _fallback
from ._layout import (MAX_LAYERS, MAX_WIDTH, Floats, Indices, as_sizes, layer_blocks,
                      layer_parameters, parameter_count, unit_count)
from ._validation import (DivergenceError, as_int, as_real, as_samples, as_targets, choice)

if TYPE_CHECKING:
    from ._backend import Kernels
    from .progress import Progress

HIDDEN_ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "identity")
OUTPUT_ACTIVATIONS = HIDDEN_ACTIVATIONS + ("softmax",)
LOSSES = ("mse", "binary_cross_entropy", "cross_entropy")
DTYPES = ("float32", "float64")

# What `numpy.random.default_rng` takes as its seed.
Seed: TypeAlias = (int | Sequence[int] | np.random.SeedSequence | np.random.BitGenerator
                   | np.random.Generator | None)


@dataclass
class Gradients:
    """dC/dW[l] and dC/db[l] (means over the batch), the local gradients delta[l] of every
    sample (n, n_l), and the loss C of the batch."""
    weights: list[Floats]
    biases: list[Floats]
    deltas: list[Floats]
    loss: float


@dataclass
class History:
    """What `fit` did: the mean loss of every epoch, how many epochs ran and why it stopped
    ("epochs", "tol", "patience" or "callback")."""
    losses: list[float] = field(default_factory=list)
    epochs: int = 0
    stop_reason: str = "epochs"


@dataclass
class Factor:
    name: str
    formula: str
    value: float


@dataclass
class Explanation:
    """The chain-rule factors of one weight's gradient for one sample, and their product."""
    factors: list[Factor]
    product: float
    gradient: float

    def __str__(self) -> str:
        lines = [f"{f.name:<28} = {f.formula:<34} = {f.value: .10g}" for f in self.factors]
        lines.append(f"{'product':<28} = {' * '.join(f.name for f in self.factors)}")
        lines.append(f"{'':<28} = {self.product: .10g}   (gradient: {self.gradient: .10g})")
        return "\n".join(lines)


# Parameters times samples trained per compiled call in fit: about 0.25 s at most even where
# each sample streams the weights from memory (online steps on a million-parameter network),
# and one call per epoch for a small network.
CHUNK_WORK = 50_000_000

_NOT_FINITE_BEFORE = ("the loss is not finite ({loss}) before the step; the network's outputs "
                      "have overflowed, most likely after earlier steps; try a learning rate "
                      "smaller than lr={lr:g}")
_UNDONE = ("the step made a parameter non-finite and was undone; try a learning rate smaller "
           "than lr={lr:g}")


def _check_pairing(output: str, loss: str) -> None:
    if output == "softmax" and loss != "cross_entropy":
        raise ValueError(f"a softmax output needs loss='cross_entropy', got loss={loss!r}")
    if loss == "cross_entropy" and output != "softmax":
        raise ValueError(f"loss='cross_entropy' needs output='softmax', got output={output!r}")
    if loss == "binary_cross_entropy" and output != "sigmoid":
        raise ValueError(f"loss='binary_cross_entropy' needs output='sigmoid', got "
                         f"output={output!r}")


class Network:
    """A fully-connected network trained by backpropagation and stochastic gradient descent.

    sizes: layer widths from inputs to outputs, e.g. (4, 4, 4, 1). `activation` is f for the
    hidden layers, `output` for the last; `loss` is the cost C. Weights start Glorot-uniform
    (He-uniform for relu variants), biases at zero, drawn from the network's own generator
    `numpy.random.default_rng(seed)`, which also shuffles the samples in `fit`.
    """

    activation: str
    output: str
    loss_name: str
    _sizes: tuple[int, ...]
    _dtype: np.dtype[np.floating[Any]]
    _code_cache: tuple[Kernels, Indices, int]  # set by _codes

    def __init__(self, sizes: Sequence[int] | npt.NDArray[np.integer[Any]],
                 activation: str = "sigmoid", output: str = "sigmoid", loss: str = "mse",
                 dtype: npt.DTypeLike = "float64", seed: Seed = None) -> None:
        if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__len__"):
            raise TypeError(f"sizes must be a sequence of layer widths such as (4, 4, 4, 1), "
                            f"got {sizes!r}")
        if len(sizes) < 2:
            raise ValueError(f"sizes must hold at least 2 layer widths (inputs and outputs), "
                             f"got {list(sizes)}")
        if len(sizes) > MAX_LAYERS + 1:
            raise ValueError(f"sizes must hold at most {MAX_LAYERS + 1} layer widths, got "
                             f"{len(sizes)}")
        self._sizes = tuple(as_int(width, f"sizes[{i}]", 1) for i, width in enumerate(sizes))
        for i, width in enumerate(self._sizes):
            if width > MAX_WIDTH:
                raise ValueError(f"sizes[{i}] must be at most {MAX_WIDTH}, got {width}")
        self.activation = choice(activation, "activation", HIDDEN_ACTIVATIONS)
        self.output = choice(output, "output", OUTPUT_ACTIVATIONS)
        self.loss_name = choice(loss, "loss", LOSSES)
        _check_pairing(self.output, self.loss_name)
        if isinstance(dtype, str) or dtype is None:
            name: npt.DTypeLike = dtype
        else:
            name = np.dtype(dtype).name if isinstance(dtype, (type, np.dtype)) else dtype
        self._dtype = np.dtype(choice(name, "dtype", DTYPES))
        self._rng = np.random.default_rng(seed)
        self._params = np.zeros(parameter_count(self._sizes), dtype=self._dtype)
        self._velocity = np.zeros_like(self._params)  # momentum state, kept between calls
        self._sizes_array = as_sizes(self._sizes)
        self._initialise()

    def _initialise(self) -> None:
        relu_like = self.activation in ("relu", "leaky_relu")
        for weights, _ in layer_parameters(self._params, self._sizes):
            n_out, n_in = weights.shape
            limit = np.sqrt(6.0 / n_in) if relu_like else np.sqrt(6.0 / (n_in + n_out))
            weights[...] = self._rng.uniform(-limit, limit, size=(n_out, n_in))

    # ---- what the network is ----

    @property
    def sizes(self) -> tuple[int, ...]:
        return self._sizes

    @property
    def dtype(self) -> np.dtype[np.floating[Any]]:
        return self._dtype

    @property
    def weights(self) -> list[Floats]:
        """W[l] for each layer, shape (n_out, n_in): writable views of the parameters."""
        return [weights for weights, _ in layer_parameters(self._params, self._sizes)]

    @property
    def biases(self) -> list[Floats]:
        """b[l] for each layer, shape (n_out,): writable views of the parameters."""
        return [biases for _, biases in layer_parameters(self._params, self._sizes)]

    def __getstate__(self) -> dict[str, Any]:
        # the cached kernel codes refer to a module, which cannot travel between processes
        state = self.__dict__.copy()
        state.pop("_code_cache", None)
        return state

    def __repr__(self) -> str:
        return (f"Network({list(self._sizes)}, activation={self.activation!r}, "
                f"output={self.output!r}, loss={self.loss_name!r}, dtype={self._dtype.name!r})")

    # ---- the kernels' view of the network ----

    def _codes(self) -> tuple[Kernels, Indices, int]:
        """Activation codes of every layer and the loss code, in the active backend's terms."""
        kernels = _backend.kernels
        cached = getattr(self, "_code_cache", None)
        if cached is None or cached[0] is not kernels:
            names = [self.activation] * (len(self._sizes) - 2) + [self.output]
            codes = np.array([kernels.ACTIVATIONS[n] for n in names], dtype=np.intp)
            cached = self._code_cache = (kernels, codes, kernels.LOSSES[self.loss_name])
        return cached

    def _forward(self, X: Floats) -> tuple[Floats, Floats]:
        """Run the forward pass; return the flat activations A and the output's z[L]."""
        kernels, codes, _ = self._codes()
        n = X.shape[0]
        A = np.empty(n * unit_count(self._sizes), dtype=self._dtype)
        Z = np.empty((n, self._sizes[-1]), dtype=self._dtype)
        kernels.forward(self._params, self._sizes_array, codes, X, A, Z)
        return A, Z

    def _output(self, A: Floats, n: int) -> Floats:
        return A[len(A) - n * self._sizes[-1]:].reshape(n, self._sizes[-1])

    def _inputs(self, X: npt.ArrayLike, name: str = "X") -> tuple[Floats, bool]:
        samples: tuple[Floats, bool] = as_samples(X, name, self._sizes[0], self._dtype)
        return samples

    def _data(self, X: npt.ArrayLike, Y: npt.ArrayLike) -> tuple[Floats, Floats]:
        X, single = self._inputs(X)
        Y = self._targets(Y, X.shape[0], single)
        return X, Y

    def _targets(self, Y: npt.ArrayLike, n: int, single: bool) -> Floats:
        targets: Floats = as_targets(Y, n, self._sizes[-1], single, self._dtype, self.loss_name)
        return targets

    def _loss_of(self, A: Floats, Z: Floats, Y: Floats) -> float:
        kernels, _, loss = self._codes()
        n: int = Y.shape[0]
        return kernels.batch_loss(loss, self._output(A, n), Z, Y) / n

    def _backward(self, X: Floats, Y: Floats) -> tuple[Floats, Floats, Floats, float]:
        """Forward and backward pass: (A, D, flat gradients, loss) for the batch X, Y."""
        kernels, codes, loss = self._codes()
        A, Z = self._forward(X)
        D = np.empty_like(A)
        grads = np.empty_like(self._params)
        kernels.backward(self._params, self._sizes_array, codes, loss, Y, A, D)
        kernels.parameter_gradients(self._sizes_array, X, A, D, grads)
        return A, D, grads, self._loss_of(A, Z, Y)

    # ---- public API ----

    def predict(self, X: npt.ArrayLike) -> Floats:
        """Outputs a[L] for the rows of X, shape (n_samples, n_out); a 1-D x gives (n_out,)."""
        if type(X) is np.ndarray and X.ndim == 1 and X.dtype == self._dtype:
            # one sample as the network stores it: the low-latency path (online control loops)
            kernels, codes, _ = self._codes()
            out = np.empty(self._sizes[-1], dtype=self._dtype)
            if (X.shape[0] == self._sizes[0]
                    and kernels.forward_one(self._params, self._sizes_array, codes, X, out)):
                return out
        X, single = self._inputs(X)
        output = self._output(self._forward(X)[0], X.shape[0]).copy()
        outputs: Floats = output[0] if single else output
        return outputs

    def loss(self, X: npt.ArrayLike, Y: npt.ArrayLike) -> float:
        """Mean over the samples of the cost C (without the weight-decay penalty)."""
        X, Y = self._data(X, Y)
        return self._loss_of(*self._forward(X), Y)

    def gradients(self, X: npt.ArrayLike, Y: npt.ArrayLike) -> Gradients:
        """dC/dW[l], dC/db[l] (means over the samples) and every sample's delta[l]."""
        X, Y = self._data(X, Y)
        _, D, grads, loss = self._backward(X, Y)
        layers = layer_parameters(grads, self._sizes)
        return Gradients(weights=[w for w, _ in layers], biases=[b for _, b in layers],
                         deltas=layer_blocks(D, self._sizes, X.shape[0]), loss=loss)

    def _saved_state(self, momentum: float) -> tuple[Floats, Floats | None]:
        """What a diverged update must restore: the parameters, and the velocity when the
        update uses it (with momentum 0 the kernels leave the velocity alone)."""
        return self._params.copy(), self._velocity.copy() if momentum else None

    def _restore(self, saved: tuple[Floats, Floats | None]) -> None:
        self._params[...] = saved[0]
        if saved[1] is not None:
            self._velocity[...] = saved[1]

    def _step_one(self, x: Floats, y: Floats, lr: float, momentum: float,
                  weight_decay: float) -> float | None:
        """`step` on one sample in one kernel call; None when the kernel leaves x, y to the
        general path (which converts them or reports what is wrong with them)."""
        if x.shape[0] != self._sizes[0] or y.shape[0] != self._sizes[-1]:
            return None
        kernels, codes, loss_code = self._codes()
        result = kernels.step_one(self._params, self._velocity, self._sizes_array, codes,
                                  loss_code, x, y, lr, momentum, weight_decay)
        if result is None:
            return None
        loss, outcome = result
        if outcome == 2:
            raise DivergenceError(_NOT_FINITE_BEFORE.format(loss=loss, lr=lr))
        if outcome == 3:
            raise DivergenceError(_UNDONE.format(lr=lr))
        return float(loss)

    def step(self, X: npt.ArrayLike, Y: npt.ArrayLike, lr: float, momentum: float = 0.0,
             weight_decay: float = 0.0) -> float:
        """One in-place SGD step on the batch X, Y; returns the mean loss before the step."""
        if (type(X) is np.ndarray and type(Y) is np.ndarray and X.ndim == 1 and Y.ndim == 1
                and X.dtype == self._dtype and Y.dtype == self._dtype):
            # one sample as the network stores it: the low-latency path (online learning)
            loss = self._step_one(X, Y, *_optimiser(lr, momentum, weight_decay))
            if loss is not None:
                return loss
        X, Y = self._data(X, Y)
        lr, momentum, weight_decay = _optimiser(lr, momentum, weight_decay)
        _, _, grads, loss = self._backward(X, Y)
        if not np.isfinite(loss):
            raise DivergenceError(_NOT_FINITE_BEFORE.format(loss=loss, lr=lr))
        saved = self._saved_state(momentum)
        _backend.kernels.sgd_update(self._params, grads, self._velocity, self._sizes_array,
                                    lr, momentum, weight_decay)
        if not np.isfinite(self._params).all():
            self._restore(saved)
            raise DivergenceError(_UNDONE.format(lr=lr))
        return loss

    def fit(self, X: npt.ArrayLike, Y: npt.ArrayLike, epochs: int = 100, lr: float = 0.1,
            batch_size: int = 1, momentum: float = 0.0, weight_decay: float = 0.0,
            shuffle: bool = True, tol: float | None = None, patience: int | None = None,
            callback: Callable[[int, float], bool | None] | None = None,
            progress: bool = False) -> History:
        """Train by SGD, each epoch in one compiled call; returns a History.

        batch_size=1 is online learning (one step per sample, the article's SGD). The loss of
        an epoch is the mean of the samples' losses, each measured just before its step.
        Stops after `epochs`, when the epoch loss <= tol, after `patience` epochs without a
        lower loss, or when callback(epoch, loss) returns True. progress=True shows each
        epoch's loss on stderr (a progress bar on a terminal, a line per epoch otherwise).
        """
        X, Y = self._data(X, Y)
        epochs = as_int(epochs, "epochs", 1)
        batch_size = as_int(batch_size, "batch_size", 1)
        lr, momentum, weight_decay = _optimiser(lr, momentum, weight_decay)
        if not isinstance(shuffle, (bool, np.bool_)):
            raise TypeError(f"shuffle must be True or False, got {shuffle!r}")
        tol = None if tol is None else as_real(tol, "tol", 0.0)
        patience = None if patience is None else as_int(patience, "patience", 1)
        if callback is not None and not callable(callback):
            raise TypeError(f"callback must be callable or None, got {type(callback).__name__}")
        if not isinstance(progress, (bool, np.bool_)):
            raise TypeError(f"progress must be True or False, got {progress!r}")
        reporter = None
        if progress:
            from .progress import make_progress
            reporter = make_progress(epochs)
        try:
            return self._fit(X, Y, epochs, lr, batch_size, momentum, weight_decay, shuffle,
                             tol, patience, callback, reporter)
        finally:
            if reporter is not None:
                reporter.close()

    def _fit(self, X: Floats, Y: Floats, epochs: int, lr: float, batch_size: int,
             momentum: float, weight_decay: float, shuffle: bool, tol: float | None,
             patience: int | None, callback: Callable[[int, float], bool | None] | None,
             reporter: Progress | None) -> History:
        history = History()
        whole = [0]  # the epoch whose parameters the network holds (0: those before fit)
        try:
            self._epochs(X, Y, epochs, lr, batch_size, momentum, weight_decay, shuffle, tol,
                         patience, callback, reporter, history, whole)
        except KeyboardInterrupt:
            kept = f"from the end of epoch {whole[0]}" if whole[0] else "it had before fit"
            raise KeyboardInterrupt(f"training interrupted in epoch {whole[0] + 1}; the network "
                                    f"keeps the parameters {kept}") from None
        if history.epochs > 1 and history.losses[-1] > history.losses[0]:
            warnings.warn(f"training ended with a loss ({history.losses[-1]:.4g}) above the "
                          f"first epoch's ({history.losses[0]:.4g}); try a learning rate "
                          f"smaller than lr={lr:g}", RuntimeWarning, stacklevel=3)
        return history

    def _epochs(self, X: Floats, Y: Floats, epochs: int, lr: float, batch_size: int,
                momentum: float, weight_decay: float, shuffle: bool, tol: float | None,
                patience: int | None, callback: Callable[[int, float], bool | None] | None,
                reporter: Progress | None, history: History, whole: list[int]) -> None:
        kernels, codes, loss_code = self._codes()
        n = X.shape[0]
        batch_size = min(batch_size, n)
        # Python acts on Ctrl-C only between compiled calls, so an epoch runs in chunks of
        # whole batches of about CHUNK_WORK parameter-samples: the same steps in the same order.
        chunk = max(1, CHUNK_WORK // (len(self._params) * batch_size)) * batch_size
        best, stale = np.inf, 0
        for epoch in range(1, epochs + 1):
            order = (self._rng.permutation(n) if shuffle else np.arange(n)).astype(np.intp,
                                                                                   copy=False)
            saved = None
            try:
                saved = self._saved_state(momentum)
                total = 0.0
                for start in range(0, n, chunk):
                    total += kernels.train_epoch(self._params, self._velocity,
                                                 self._sizes_array, codes, loss_code, X, Y,
                                                 order[start:start + chunk], batch_size, lr,
                                                 momentum, weight_decay)
                whole[0] = epoch
            except KeyboardInterrupt:
                if saved is not None:  # back to the last whole epoch
                    self._restore(saved)
                raise
            loss = total / n
            if not (np.isfinite(loss) and np.isfinite(self._params).all()):
                self._restore(saved)
                whole[0] = epoch - 1
                raise DivergenceError(
                    f"training diverged in epoch {epoch} (loss {loss}); the network keeps the "
                    f"parameters from before that epoch; try a learning rate smaller than "
                    f"lr={lr:g}")
            history.losses.append(loss)
            history.epochs = epoch
            if reporter is not None:
                reporter(epoch, loss)
            if callback is not None and callback(epoch, loss):
                history.stop_reason = "callback"
                break
            if tol is not None and loss <= tol:
                history.stop_reason = "tol"
                break
            if loss < best:
                best, stale = loss, 0
            else:
                stale += 1
            if patience is not None and stale >= patience:
                history.stop_reason = "patience"
                break

    def explain(self, x: npt.ArrayLike, y: npt.ArrayLike, layer: int, j: int,
                k: int) -> Explanation:
        """The chain-rule factors of dC/dW[layer][j, k] for one sample (x, y), and their product.

        In the article's numbering, where a[0] = x and `weights[layer]` is W[l] with
        l = layer + 1: dC/dW[l]_jk = dC/da[l]_j * da[l]_j/dz[l]_j * dz[l]_j/dW[l]_jk, where
        dC/da[l]_j = sum_i W[l+1]_ij delta[l+1]_i for a hidden layer and a[l]_j - y_j for the
        output under mse; for the fused losses the first two factors are one, a - y.
        """
        x, single = self._inputs(x, "x")
        if not single:
            raise ValueError(f"x must be one sample (a 1-D array of {self._sizes[0]} values), "
                             f"got shape {x.shape}")
        y = self._targets(y, 1, True)
        n_layers = len(self._sizes) - 1
        layer = as_int(layer, "layer", 0)
        if layer >= n_layers:
            raise ValueError(f"layer must be in [0, {n_layers - 1}], got {layer}")
        n_out, n_in = self._sizes[layer + 1], self._sizes[layer]
        j, k = as_int(j, "j", 0), as_int(k, "k", 0)
        if j >= n_out or k >= n_in:
            raise ValueError(f"(j, k) must index W[{layer}] of shape ({n_out}, {n_in}), "
                             f"got ({j}, {k})")
        A, D, grads, _ = self._backward(x, y)
        activations = [x] + layer_blocks(A, self._sizes, 1)
        deltas = layer_blocks(D, self._sizes, 1)
        a_out = float(activations[layer + 1][0, j])
        f = self.output if layer == n_layers - 1 else self.activation
        # in the article's numbering weights[layer] is W[l] with l = layer + 1, and a[0] = x
        l = layer + 1
        factors = []
        if layer == n_layers - 1 and self.loss_name != "mse":
            factors.append(Factor(f"dC/dz[{l}]_{j}", f"a - y (fused {f} + {self.loss_name})",
                                  float(deltas[layer][0, j])))
        else:
            if layer == n_layers - 1:
                upstream = a_out - float(y[0, j])
                formula = f"a - y = {a_out:.6g} - {float(y[0, j]):.6g}"
            else:
                w_next = layer_parameters(self._params, self._sizes)[layer + 1][0]
                upstream = float(w_next[:, j].astype(np.float64) @ deltas[layer + 1][0])
                formula = f"sum_i W[{l + 1}]_i{j} delta[{l + 1}]_i"
            factors.append(Factor(f"dC/da[{l}]_{j}", formula, upstream))
            factors.append(Factor(f"da[{l}]_{j}/dz[{l}]_{j}", f"{f}'(z) from a = {a_out:.6g}",
                                  float(_fallback.derivative(np.array([a_out]),
                                                             _fallback.ACTIVATIONS[f])[0])))
        factors.append(Factor(f"dz[{l}]_{j}/dW[{l}]_{j}{k}", f"a[{layer}]_{k}" + (
            " = x_k" if layer == 0 else ""), float(activations[layer][0, k])))
        product = float(np.prod([factor.value for factor in factors]))
        gradient = float(layer_parameters(grads, self._sizes)[layer][0][j, k])
        return Explanation(factors=factors, product=product, gradient=gradient)

    # ---- files ----

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the network to one .npz file (no pickle), atomically: see bpcore.io."""
        from .io import save
        save(self, path)


def _optimiser(lr: float, momentum: float,
               weight_decay: float) -> tuple[float, float, float]:
    return (as_real(lr, "lr", 0.0, low_open=True),
            as_real(momentum, "momentum", 0.0, 1.0, high_open=True),
            as_real(weight_decay, "weight_decay", 0.0))
