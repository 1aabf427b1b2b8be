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
    """What `Network.gradients` returns: backpropagation's results for one batch.

    Attributes
    ----------
    weights : list of ndarray
        ``weights[i]`` is dC/dW for ``Network.weights[i]``, same shape (n_out, n_in), the
        mean over the batch's samples.
    biases : list of ndarray
        ``biases[i]`` is dC/db for ``Network.biases[i]``, shape (n_out,), the mean over the
        batch.
    deltas : list of ndarray
        ``deltas[i]`` holds the local gradients delta = dC/dz of the layer that
        ``weights[i]`` feeds (delta[i + 1] in the article's numbering), one row per sample:
        shape (n_samples, n_out).
    loss : float
        The batch's mean cost C (without any weight-decay penalty).

    Examples
    --------
    >>> import numpy as np
    >>> import bpcore
    >>> net = bpcore.Network([2, 3, 1], seed=0)
    >>> g = net.gradients(np.ones((4, 2)), np.zeros(4))
    >>> [w.shape for w in g.weights], [d.shape for d in g.deltas]
    ([(3, 2), (1, 3)], [(4, 3), (4, 1)])
    """
    weights: list[Floats]
    biases: list[Floats]
    deltas: list[Floats]
    loss: float


@dataclass
class History:
    """What `Network.fit` returns: what the training did.

    Attributes
    ----------
    losses : list of float
        The loss of every epoch run, in order: the mean over the samples of each sample's loss,
        measured just before the step that used it.
    epochs : int
        How many epochs ran (``len(losses)``).
    stop_reason : {"epochs", "tol", "patience", "callback"}
        Why training stopped: all `epochs` ran, an epoch's loss reached `tol`, `patience`
        epochs passed without a lower loss, or the callback returned True.

    Examples
    --------
    >>> import numpy as np
    >>> import bpcore
    >>> X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    >>> net = bpcore.Network([2, 1], seed=0)
    >>> history = net.fit(X, [0.0, 1.0, 1.0, 1.0], epochs=3)
    >>> history.epochs, len(history.losses), history.stop_reason
    (3, 3, 'epochs')
    """
    losses: list[float] = field(default_factory=list)
    epochs: int = 0
    stop_reason: str = "epochs"


@dataclass
class Factor:
    """One factor of the chain rule in an `Explanation`.

    Attributes
    ----------
    name : str
        The partial derivative, e.g. ``"da[1]_0/dz[1]_0"``.
    formula : str
        How it is computed, with the numbers it is computed from.
    value : float
        Its value.

    Examples
    --------
    >>> import bpcore
    >>> net = bpcore.Network([2, 1], seed=0)
    >>> net.explain([1.0, 2.0], [0.0], layer=0, j=0, k=1).factors[-1].name
    'dz[1]_0/dW[1]_01'
    """
    name: str
    formula: str
    value: float


@dataclass
class Explanation:
    """What `Network.explain` returns: the chain-rule factors of one weight's gradient for
    one sample, and their product. ``str()`` of it is a table of the factors.

    Attributes
    ----------
    factors : list of Factor
        The factors, from the cost back to the weight.
    product : float
        Their product.
    gradient : float
        The same derivative as backpropagation computes it (`Network.gradients`), to compare
        with `product`.

    Examples
    --------
    >>> import bpcore
    >>> net = bpcore.Network([2, 3, 1], seed=0)
    >>> explanation = net.explain([0.0, 1.0], [1.0], layer=0, j=0, k=1)
    >>> [factor.name for factor in explanation.factors]
    ['dC/da[1]_0', 'da[1]_0/dz[1]_0', 'dz[1]_0/dW[1]_01']
    >>> abs(explanation.product - explanation.gradient) < 1e-12
    True
    """
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

    Samples are rows: inputs X have shape (n_samples, n_in) with n_in = ``sizes[0]``, and
    targets Y and outputs have shape (n_samples, n_out) with n_out = ``sizes[-1]``.
    Weights start Glorot-uniform (He-uniform for relu and leaky_relu), biases at zero, drawn
    from the network's own generator ``numpy.random.default_rng(seed)``, which also shuffles
    the samples in `fit`; no global random state is used.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths from inputs to outputs, e.g. ``(4, 8, 3)``: 4 inputs, one hidden layer
        of 8 units, 3 outputs. At least 2 widths, each at least 1.
    activation : {"sigmoid", "tanh", "relu", "leaky_relu", "identity"}, default "sigmoid"
        The activation f of every hidden layer; leaky_relu has slope 0.01 below zero.
    output : {"sigmoid", "tanh", "relu", "leaky_relu", "identity", "softmax"}, default "sigmoid"
        The activation of the output layer.
    loss : {"mse", "binary_cross_entropy", "cross_entropy"}, default "mse"
        The cost C of one sample. "mse" is 0.5 * sum_j (a_j - y_j)^2, with any output but
        softmax. "binary_cross_entropy" needs ``output="sigmoid"`` and targets in [0, 1].
        "cross_entropy" needs ``output="softmax"`` (and softmax needs it), with each row of
        Y one-hot or probabilities summing to 1. Both cross-entropies are computed from the
        output's z with log-sum-exp and softplus, so they never take log(0).
    dtype : {"float32", "float64"} or the numpy dtype, default "float64"
        The type of the parameters and of all arithmetic; inputs are converted to it.
    seed : int, sequence of int, SeedSequence, BitGenerator, Generator or None, default None
        Seed of the network's generator (`numpy.random.default_rng`). The same seed gives
        the same initial weights and the same shuffling; None takes fresh entropy.

    Attributes
    ----------
    activation : str
        The hidden layers' activation.
    output : str
        The output layer's activation.
    loss_name : str
        The loss given as `loss` (the method `loss` computes it).
    sizes, dtype, weights, biases
        Properties; see their own help.

    Raises
    ------
    TypeError
        If `sizes` is not a sequence, or a width is not an int.
    ValueError
        If `sizes` has fewer than 2 widths or a width below 1, a name is not one listed
        above, or `output` and `loss` do not pair as described.

    See Also
    --------
    bpcore.load : Read a network that `save` wrote.

    Examples
    --------
    >>> import numpy as np
    >>> import bpcore
    >>> net = bpcore.Network([2, 3, 1], activation="tanh", output="sigmoid", seed=0)
    >>> net
    Network([2, 3, 1], activation='tanh', output='sigmoid', loss='mse', dtype='float64')
    >>> [w.shape for w in net.weights], [b.shape for b in net.biases]
    ([(3, 2), (1, 3)], [(3,), (1,)])
    >>> net.predict(np.zeros((5, 2))).shape
    (5, 1)
    >>> bpcore.Network([4, 3], output="softmax")
    Traceback (most recent call last):
        ...
    ValueError: a softmax output needs loss='cross_entropy', got loss='mse'
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
        """tuple of int: the layer widths from inputs to outputs, as given."""
        return self._sizes

    @property
    def dtype(self) -> np.dtype[np.floating[Any]]:
        """numpy.dtype: float32 or float64, the type of the parameters and arithmetic."""
        return self._dtype

    @property
    def weights(self) -> list[Floats]:
        """list of ndarray: W for each layer, ``weights[i]`` of shape (sizes[i + 1], sizes[i])
        mapping layer i to layer i + 1 (layer 0 is the inputs).

        The arrays are writable views of the network's parameters: writing to them changes
        the network.

        Examples
        --------
        >>> import bpcore
        >>> net = bpcore.Network([2, 1], seed=0)
        >>> net.weights[0][...] = [[1.0, -1.0]]
        >>> net.predict([3.0, 3.0])
        array([0.5])
        """
        return [weights for weights, _ in layer_parameters(self._params, self._sizes)]

    @property
    def biases(self) -> list[Floats]:
        """list of ndarray: b for each layer, ``biases[i]`` of shape (sizes[i + 1],); writable
        views of the network's parameters, like `weights`."""
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
        """The network's outputs a[L] for the samples in X (the forward pass).

        Parameters
        ----------
        X : array_like of shape (n_samples, n_in), or (n_in,) for one sample
            Inputs, one sample per row; converted to the network's dtype.

        Returns
        -------
        ndarray of shape (n_samples, n_out), or (n_out,) for a 1-D X
            A new array of the network's dtype. A 1-D ndarray of that dtype takes the
            low-latency path (one kernel call, no conversions).

        Raises
        ------
        TypeError
            If X does not hold real numbers.
        ValueError
            If X is not 1-D or 2-D, has no samples, the wrong number of features, or NaN or
            infinity.

        Examples
        --------
        >>> import numpy as np
        >>> import bpcore
        >>> net = bpcore.Network([2, 3, 1], seed=0)
        >>> net.predict(np.zeros((4, 2))).shape, net.predict([0.0, 1.0]).shape
        ((4, 1), (1,))
        >>> net.predict(np.zeros((4, 3)))
        Traceback (most recent call last):
            ...
        ValueError: X has 3 features, but the network expects 2
        """
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
        """The mean over the samples of the cost C, without any weight-decay penalty.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_in), or (n_in,) for one sample
            Inputs, one sample per row.
        Y : array_like of shape (n_samples, n_out), or (n_samples,) when n_out is 1
            Targets, one row per sample (for one sample also (n_out,), or a number when n_out
            is 1). In [0, 1] for the cross-entropy losses; for "cross_entropy" each row sums
            to 1 (one-hot or probabilities).

        Returns
        -------
        float
            The loss; for "mse" the mean of 0.5 * sum_j (a_j - y_j)^2.

        Raises
        ------
        TypeError
            If X or Y do not hold real numbers.
        ValueError
            If X or Y do not fit the network (see `predict`), their numbers of samples
            differ, or Y is out of range for the loss.

        Examples
        --------
        >>> import bpcore
        >>> net = bpcore.Network([1, 1], output="identity", seed=0)
        >>> net.weights[0][...] = 2.0
        >>> net.loss([[1.0], [2.0]], [1.0, 1.0])
        2.5
        """
        X, Y = self._data(X, Y)
        return self._loss_of(*self._forward(X), Y)

    def gradients(self, X: npt.ArrayLike, Y: npt.ArrayLike) -> Gradients:
        """Backpropagation on the batch X, Y without changing the network.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_in), or (n_in,) for one sample
            Inputs, one sample per row.
        Y : array_like of shape (n_samples, n_out), or (n_samples,) when n_out is 1
            Targets, as for `loss`.

        Returns
        -------
        Gradients
            dC/dW and dC/db of every layer (means over the samples, shaped like `weights`
            and `biases`), every sample's local gradients delta, and the mean loss.

        Raises
        ------
        TypeError, ValueError
            If X or Y do not fit the network, as for `loss`.

        See Also
        --------
        bpcore.check_gradients : Compare these with finite differences.

        Examples
        --------
        >>> import numpy as np
        >>> import bpcore
        >>> net = bpcore.Network([2, 3, 1], seed=0)
        >>> g = net.gradients(np.ones((4, 2)), np.zeros(4))
        >>> [w.shape for w in g.weights], [b.shape for b in g.biases]
        ([(3, 2), (1, 3)], [(3,), (1,)])
        """
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
        """One in-place SGD step on the batch X, Y, with the batch's mean gradient.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_in), or (n_in,) for one sample
            Inputs, one sample per row. A 1-D X and Y that are ndarrays of the network's
            dtype take one kernel call (a few microseconds: online learning).
        Y : array_like of shape (n_samples, n_out), or (n_samples,) when n_out is 1
            Targets, as for `loss`.
        lr : float
            Learning rate, > 0.
        momentum : float in [0, 1), default 0.0
            The update is v = momentum * v - lr * (g + weight_decay * W), then W += v, with
            one velocity v per parameter kept on the network (across `step` and `fit`
            calls; not saved). With momentum 0 it is plain SGD, W -= lr * (g + weight_decay
            * W), and the velocity is neither used nor changed.
        weight_decay : float >= 0, default 0.0
            Adds weight_decay * W to the gradient of every weight (not the biases): an L2
            penalty weight_decay / 2 * sum W^2, which the returned loss does not include.

        Returns
        -------
        float
            The batch's mean loss before the step.

        Raises
        ------
        TypeError
            If X or Y do not hold real numbers, or lr, momentum or weight_decay is not a
            real number.
        ValueError
            If X or Y do not fit the network (as for `loss`), or lr, momentum or
            weight_decay is out of range.
        DivergenceError
            If the loss is not finite before the step, or the step makes a parameter
            non-finite; in the second case the step is undone. A subclass of ValueError.

        Examples
        --------
        >>> import bpcore
        >>> net = bpcore.Network([1, 1], output="identity", seed=0)
        >>> net.weights[0][...] = 2.0
        >>> net.step([[1.0]], [[1.0]], lr=0.5)
        0.5
        >>> net.weights[0], net.biases[0]
        (array([[1.5]]), array([-0.5]))
        """
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
        with np.errstate(over="ignore", invalid="ignore"):  # non-finite results are undone below
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
        """Train the network in place by stochastic gradient descent.

        Each epoch visits every sample once, in an order the network's own generator
        shuffles (unless shuffle=False), taking one step per batch of `batch_size` samples
        with the batch's mean gradient. The loss of an epoch is the mean of the samples'
        losses, each measured just before the step that uses it. Training stops after
        `epochs`, or once an epoch's loss is <= tol, or after `patience` epochs without a
        lower loss, or when callback(epoch, loss) returns True. Epochs run in compiled
        chunks of whole batches, so Ctrl-C is acted on within about a quarter of a second even
        in a long epoch (or one batch, where a single batch takes longer).

        Parameters
        ----------
        X : array_like of shape (n_samples, n_in)
            Inputs, one sample per row (n_in = ``sizes[0]``); converted to the network's
            dtype.
        Y : array_like of shape (n_samples, n_out), or (n_samples,) when n_out is 1
            Targets (n_out = ``sizes[-1]``). In [0, 1] for the cross-entropy losses; for
            "cross_entropy" each row sums to 1 (one-hot or probabilities).
        epochs : int, default 100
            The most epochs to run, at least 1.
        lr : float, default 0.1
            Learning rate, > 0.
        batch_size : int, default 1
            Samples per step. 1 is online learning (one step per sample, the article's SGD);
            the last batch of an epoch may be smaller, and a batch_size of n_samples or more
            takes one full-batch step per epoch.
        momentum : float in [0, 1), default 0.0
            The update is v = momentum * v - lr * (g + weight_decay * W), then W += v, with
            one velocity v per parameter kept on the network (across `step` and `fit`
            calls; not saved). With momentum 0 it is plain SGD, W -= lr * (g + weight_decay
            * W), and the velocity is neither used nor changed.
        weight_decay : float >= 0, default 0.0
            Adds weight_decay * W to the gradient of every weight (not the biases): an L2
            penalty weight_decay / 2 * sum W^2, which the epoch losses do not include.
        shuffle : bool, default True
            Reorder the samples at the start of every epoch, drawing from the network's own
            generator (so the network's seed makes it repeatable); False visits them in the
            order given.
        tol : float >= 0 or None, default None
            Stop once an epoch's loss is <= tol.
        patience : int >= 1 or None, default None
            Stop after `patience` epochs in a row without a loss below the best so far. The
            network keeps the last epoch's parameters, not the best.
        callback : callable or None, default None
            Called as callback(epoch, loss) after every epoch, epochs counting from 1;
            returning True stops training.
        progress : bool, default False
            Show the epochs and their loss on stderr while training.

        Returns
        -------
        History
            The loss of every epoch run (``losses``), how many ran (``epochs``) and why
            training stopped (``stop_reason``: "epochs", "tol", "patience" or "callback").

        Raises
        ------
        TypeError
            If an argument has the wrong type: e.g. a float `epochs`, a `shuffle` that is
            not a bool, a `callback` that is not callable, X or Y not holding real numbers.
        ValueError
            If an argument is out of range, or X and Y do not fit the network (widths,
            numbers of samples, NaN or infinity, targets out of range for the loss).
        DivergenceError
            If the loss or a parameter becomes NaN or infinite in an epoch: the network
            keeps the parameters from before that epoch. A subclass of ValueError.
        KeyboardInterrupt
            On Ctrl-C the network gets back the parameters it had at the start of the
            interrupted epoch, and the exception is raised again with a message that says
            which epoch they are from.

        Warns
        -----
        RuntimeWarning
            If the last epoch's loss is above the first epoch's, suggesting a smaller
            learning rate.

        See Also
        --------
        step : One step on one batch, for loops of your own.

        Examples
        --------
        XOR, learned online with momentum:

        >>> import numpy as np
        >>> import bpcore
        >>> X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
        >>> y = np.array([0, 1, 1, 0], dtype=float)
        >>> net = bpcore.Network([2, 3, 1], activation="tanh", seed=1)
        >>> history = net.fit(X, y, epochs=500, lr=0.5, momentum=0.9, tol=1e-3)
        >>> history.stop_reason, history.losses[-1] <= 1e-3
        ('tol', True)
        >>> net.predict(X).round().ravel()
        array([0., 1., 1., 0.])
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
        try:
            self._epochs(X, Y, epochs, lr, batch_size, momentum, weight_decay, shuffle, tol,
                         patience, callback, reporter, history)
        except KeyboardInterrupt as interrupt:
            if interrupt.args:  # raised inside an epoch, which was undone: it says so
                raise
            # between epochs (shuffling, progress, the callback): the last epoch is whole
            when = f"after epoch {history.epochs}" if history.epochs else "before epoch 1"
            raise KeyboardInterrupt(f"training interrupted {when}; the network keeps the "
                                    f"parameters {_kept(history.epochs)}") from None
        if history.epochs > 1 and history.losses[-1] > history.losses[0]:
            warnings.warn(f"training ended with a loss ({history.losses[-1]:.4g}) above the "
                          f"first epoch's ({history.losses[0]:.4g}); try a learning rate "
                          f"smaller than lr={lr:g}", RuntimeWarning, stacklevel=3)
        return history

    def _epochs(self, X: Floats, Y: Floats, epochs: int, lr: float, batch_size: int,
                momentum: float, weight_decay: float, shuffle: bool, tol: float | None,
                patience: int | None, callback: Callable[[int, float], bool | None] | None,
                reporter: Progress | None, history: History) -> None:
        """The epochs of `fit`, recorded in `history` once each is whole and finite."""
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
                loss = total / n
                if not (np.isfinite(loss) and np.isfinite(self._params).all()):
                    self._restore(saved)
                    raise DivergenceError(
                        f"training diverged in epoch {epoch} (loss {loss}); the network keeps "
                        f"the parameters from before that epoch; try a learning rate smaller "
                        f"than lr={lr:g}")
                history.losses.append(loss)
                history.epochs = epoch
            except KeyboardInterrupt:
                if history.epochs == epoch:  # the epoch was already whole and recorded
                    raise
                if saved is not None:  # back to the last whole epoch
                    self._restore(saved)
                raise KeyboardInterrupt(f"training interrupted in epoch {epoch}; the network "
                                        f"keeps the parameters {_kept(epoch - 1)}") from None
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

        Parameters
        ----------
        x : array_like of shape (n_in,)
            One sample's inputs.
        y : array_like of shape (n_out,), or a number when n_out is 1
            Its targets.
        layer : int
            Which weight matrix: ``weights[layer]``, from 0 to ``len(sizes) - 2``.
        j : int
            Row of the weight: the unit it feeds, in [0, sizes[layer + 1]).
        k : int
            Column of the weight: the unit it comes from, in [0, sizes[layer]).

        Returns
        -------
        Explanation
            The factors (name, formula, value), their product, and the gradient
            backpropagation computes, which the product equals up to rounding. ``print`` it
            for a table.

        Raises
        ------
        TypeError
            If layer, j or k is not an int, or x or y do not hold real numbers.
        ValueError
            If x is not one sample, y does not fit it, or layer, j or k is out of range.

        Examples
        --------
        >>> import bpcore
        >>> net = bpcore.Network([2, 3, 1], seed=0)
        >>> explanation = net.explain([0.0, 1.0], [1.0], layer=1, j=0, k=2)
        >>> [factor.name for factor in explanation.factors]
        ['dC/da[2]_0', 'da[2]_0/dz[2]_0', 'dz[2]_0/dW[2]_02']
        >>> abs(explanation.product - explanation.gradient) < 1e-12
        True
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
        """Write the network to one .npz file (no pickle), atomically; `bpcore.load` reads it.

        The file holds the sizes, activations, loss, dtype and parameters; not the momentum
        velocity nor the generator's state. It is written to a temporary file that is then
        renamed over `path`, so readers see the old file or the whole new one, and gets the
        permissions ``open(path, "w")`` would give (the umask applies; an existing file
        keeps its mode).

        Parameters
        ----------
        path : str or os.PathLike
            Where to write; ``.npz`` is the usual suffix (none is added).

        Raises
        ------
        OSError
            If the file cannot be written; no temporary file is left behind.

        See Also
        --------
        bpcore.io.save : The same, with extra arrays stored beside the network.

        Examples
        --------
        >>> import os, tempfile
        >>> import numpy as np
        >>> import bpcore
        >>> net = bpcore.Network([2, 3, 1], seed=0)
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     net.save(os.path.join(folder, "net.npz"))
        ...     copy = bpcore.load(os.path.join(folder, "net.npz"))
        >>> copy
        Network([2, 3, 1], activation='sigmoid', output='sigmoid', loss='mse', dtype='float64')
        >>> all(np.array_equal(a, b) for a, b in zip(copy.weights, net.weights))
        True
        """
        from .io import save
        save(self, path)


def _kept(epoch: int) -> str:
    """Which parameters an interrupted fit leaves, for its KeyboardInterrupt."""
    return f"from the end of epoch {epoch}" if epoch else "it had before fit"


def _optimiser(lr: float, momentum: float,
               weight_decay: float) -> tuple[float, float, float]:
    return (as_real(lr, "lr", 0.0, low_open=True),
            as_real(momentum, "momentum", 0.0, 1.0, high_open=True),
            as_real(weight_decay, "weight_decay", 0.0))
