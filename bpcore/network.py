"""The public Network: a thin layer over the kernels chosen in `_backend`.

Notation (that of docs/mathematics.md): layer l has weights W[l] (n_out, n_in) and biases b[l];
z[l] = W[l] a[l-1] + b[l], a[l] = f(z[l]), a[0] = x. Here `layer` counts weight matrices from
0, so `weights[0]` maps the inputs to the first hidden layer. Samples are rows of X.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias, cast

import numpy as np
import numpy.typing as npt

from . import _backend
from ._files import write_model
from ._layout import (Floats, Indices, aligned_zeros, as_sizes, first_not_finite, layer_blocks,
                      layer_parameters, parameter_count, realigned, unit_count)
from ._spec import (ACTIVATIONS, DTYPES, HIDDEN_ACTIVATIONS, LOSSES, MAX_LAYERS, MAX_WIDTH,
                    OUTPUT_ACTIVATIONS, check_pairing)
from ._validation import (KEPT, DivergenceError, as_int, as_read, as_samples, as_targets,
                          check, choice, dense, kind_name, real_array, refusing_signature)
from .explain import Explanation, Factor, chain_rule
from .optim import LBFGS, SGD, Adam, Optimizer, OptimizerState, Rprop
from .schedules import ReduceOnPlateau
from .training import (CHANGED, History, Watch, data_changed, minimize, rate_advice,
                       split_rows, train)

__all__ = ["Network", "Gradients", "History", "Explanation", "Factor"]

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
        ``weights[i]`` feeds (delta[i + 1] in the numbering of docs/mathematics.md), one
        row per sample: shape (n_samples, n_out).
    loss : float
        The batch's mean cost C (without any weight-decay penalty).
    outputs : ndarray or None
        The network's outputs a[L] for the batch, one row per sample: shape
        (n_samples, n_out), as `Network.predict` gives them for a 2-D X.

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
    outputs: Floats | None = None

    def __repr__(self) -> str:
        # the arrays' shapes, not their values: the deltas and outputs have a row per sample
        def brief(array: Floats) -> str:
            return f"<{'x'.join(map(str, array.shape))} {array.dtype}>"

        def briefs(arrays: list[Floats]) -> str:
            return "[" + ", ".join(map(brief, arrays)) + "]"
        outputs = "None" if self.outputs is None else brief(self.outputs)
        return (f"Gradients(weights={briefs(self.weights)}, biases={briefs(self.biases)}, "
                f"deltas={briefs(self.deltas)}, loss={self.loss!r}, outputs={outputs})")


# Parameters times samples trained per compiled call in fit: about 0.25 s at most even where
# each sample streams the weights from memory (online steps on a million-parameter network),
# and one call per epoch for a small network.
CHUNK_WORK = 50_000_000

_NOT_FINITE_BEFORE = ("the loss is not finite ({loss}) before the step, at the parameters the "
                      "network has now, so no learning rate helps from here. If X or Y are in "
                      "the billions or more, scale them; if earlier steps made the parameters "
                      "this large, go back to parameters kept from before those steps "
                      "(set_state, load) or make a new Network, and from there step with "
                      "{smaller}")
_UNDONE = "the step made a parameter non-finite and was undone; try {smaller}"


def _check_callback(callback: object) -> None:
    """fit's callback must be callable as callback(epoch, loss): checked before any epoch,
    which a wrong one would otherwise train before its TypeError."""
    if not callable(callback):
        raise TypeError(f"callback must be callable or None, got {type(callback).__name__}")
    refused = refusing_signature(callback, 1, 0.5)
    if refused is not None:
        raise TypeError(f"callback must take two arguments, callback(epoch, loss), got "
                        f"{callback!r} with parameters {refused}")


def _shrinking_decay(optimizer: Optimizer) -> float:
    """The weight decay that shrinks the weights by lr * weight_decay times themselves each
    step (SGD's, through its velocity when it has momentum; AdamW's), which a divergence's
    advice weighs; 0 for the others."""
    if isinstance(optimizer, SGD) or (isinstance(optimizer, Adam) and optimizer.decoupled):
        return optimizer.weight_decay
    return 0.0


def _smaller_step(optimizer: Optimizer) -> str:
    """What a step's divergence advises, as fit's does: a smaller rate, and less momentum.
    step and train_epoch refuse a schedule for lr before any step, so it is a number here."""
    return rate_advice(cast(float, optimizer.lr),
                       optimizer.momentum if isinstance(optimizer, SGD) else 0.0,
                       _shrinking_decay(optimizer))


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
    output : {"sigmoid", "tanh", "relu", "leaky_relu", "identity", "softmax", "exp"}
        The activation of the output layer, default "sigmoid"; "softmax" and "exp" only with
        their losses (below), and "softmax" over at least 2 outputs.
    loss : {"mse", "binary_cross_entropy", "cross_entropy", "poisson"}, default "mse"
        The cost C of one sample. "mse" is 0.5 * sum_j (a_j - y_j)^2, with any output but
        softmax and exp. "binary_cross_entropy" needs ``output="sigmoid"`` and targets in
        [0, 1]. "cross_entropy" needs ``output="softmax"`` (and softmax needs it), with each
        row of Y one-hot or probabilities summing to 1. "poisson" is the half Poisson
        deviance sum_j y_j log(y_j / a_j) - y_j + a_j (scikit-learn's), for counts or rates
        y >= 0; it needs ``output="exp"`` (and exp needs it). All three are computed from
        the output's z (softplus, log-sum-exp, e^z - y z), so they never take log(0).
    dtype : {"float32", "float64"} or the numpy dtype, default "float64"
        The type of the parameters and of all arithmetic; inputs are converted to it.
    seed : int, sequence of int, SeedSequence, BitGenerator, Generator or None, default None
        Seed of the network's generator (``numpy.random.default_rng``). The same seed gives
        the same initial weights and the same shuffling; None takes fresh entropy.

    Attributes
    ----------
    activation : str
        The hidden layers' activation (read-only).
    output : str
        The output layer's activation (read-only).
    loss_name : str
        The loss given as `loss` (read-only; the method `loss` computes it).
    sizes, dtype, weights, biases
        Properties; see their own help (``sizes`` and ``dtype`` are read-only).

    Raises
    ------
    TypeError
        If `sizes` is not a sequence, or a width is not an int.
    ValueError
        If `sizes` has fewer than 2 widths or a width below 1, a name is not one listed
        above, `output` and `loss` do not pair as described, or a softmax output has one
        unit.
    MemoryError
        If the parameters do not fit in memory; the message gives their count and size.

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

    _sizes: tuple[int, ...]
    _dtype: np.dtype[np.floating[Any]]
    # _optimizer's last optimizer and what it was made from (a class default: networks
    # pickled before it existed unpickle without it)
    _optimizer_cache: tuple[tuple[object, ...], Optimizer] | None = None

    def __init__(self, sizes: Sequence[int] | npt.NDArray[np.integer[Any]],
                 activation: str = "sigmoid", output: str = "sigmoid", loss: str = "mse",
                 dtype: npt.DTypeLike = "float64", seed: Seed = None) -> None:
        if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__len__"):
            raise TypeError(f"sizes must be a sequence of layer widths such as (4, 4, 4, 1), "
                            f"got {sizes!r}")
        if isinstance(sizes, np.ndarray) and sizes.ndim != 1:  # np.array([[2, 3, 1]])
            raise ValueError(f"sizes must be one sequence of layer widths such as (4, 4, 4, 1), "
                             f"got an array of shape {sizes.shape}")
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
        # read-only through the properties below: the kernels' codes are made from them once
        self._activation = choice(activation, "activation", HIDDEN_ACTIVATIONS)
        self._output_activation = choice(output, "output", OUTPUT_ACTIVATIONS)
        self._loss_name = choice(loss, "loss", tuple(LOSSES))
        check_pairing(self.output, self.loss_name)
        if self.output == "softmax" and self._sizes[-1] < 2:
            raise ValueError(f"a softmax output needs at least 2 units (over one it is always "
                             f"1, and nothing trains), got sizes[-1] = {self._sizes[-1]}; for "
                             f"two classes give 2 outputs, or output='sigmoid' with "
                             f"loss='binary_cross_entropy'")
        if isinstance(dtype, str) or dtype is None:
            name: npt.DTypeLike = dtype
        else:
            name = np.dtype(dtype).name if isinstance(dtype, (type, np.dtype)) else dtype
        self._dtype = np.dtype(choice(name, "dtype", DTYPES))
        try:
            self._rng = np.random.default_rng(seed)
        except (TypeError, ValueError) as error:  # NumPy's message does not name the argument
            raise type(error)(f"seed must be a non-negative int, a sequence of them, a "
                              f"SeedSequence, BitGenerator, Generator or None, got {seed!r} "
                              f"({error})") from None
        count = parameter_count(self._sizes)
        try:
            self._params = aligned_zeros(count, self._dtype)
        except (MemoryError, ValueError):  # NumPy names a uint8 array, or its dimension limit
            shown = (str(list(self._sizes)) if len(self._sizes) <= 8 else
                     f"[{', '.join(map(str, self._sizes[:3]))}, ..., {self._sizes[-1]}] "
                     f"({len(self._sizes)} widths)")
            raise MemoryError(f"sizes {shown} make {count:,} parameters "
                              f"({count * self._dtype.itemsize / 2**30:.3g} GiB as "
                              f"{self._dtype.name}), more memory than could be allocated"
                              ) from None
        # the optimizer's state (SGD's velocity), kept between calls
        self._state = OptimizerState("sgd", len(self._params), self._dtype)
        self._sizes_array = as_sizes(self._sizes)
        names = [self.activation] * (len(self._sizes) - 2) + [self.output]
        # the kernels' codes of every layer's activation, and of the loss
        self._activation_codes = np.array([ACTIVATIONS[n] for n in names], dtype=np.intp)
        self._loss_code = LOSSES[self.loss_name]
        self._settings_cache: tuple[Any, ...] | None = None  # see _step_settings
        self._initialise()

    def _initialise(self) -> None:
        relu_like = self.activation in ("relu", "leaky_relu")
        for weights, _ in layer_parameters(self._params, self._sizes):
            n_out, n_in = weights.shape
            limit = np.sqrt(6.0 / n_in) if relu_like else np.sqrt(6.0 / (n_in + n_out))
            weights[...] = self._rng.uniform(-limit, limit, size=(n_out, n_in))

    # ---- what the network is ----

    @property
    def activation(self) -> str:
        """str: the hidden layers' activation, as given (read-only: make a new network to
        change it)."""
        return self._activation

    @property
    def output(self) -> str:
        """str: the output layer's activation, as given (read-only)."""
        return self._output_activation

    @property
    def loss_name(self) -> str:
        """str: the loss given as `loss` (read-only; the method `loss` computes it)."""
        return self._loss_name

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

        The arrays are writable views of the network's parameters: writing into them
        (``net.weights[0][...] = W``) changes the network, and so does assigning a layer
        (``net.weights[0] = W``, W of that layer's shape exactly).

        Examples
        --------
        >>> import bpcore
        >>> net = bpcore.Network([2, 1], seed=0)
        >>> net.weights[0][...] = [[1.0, -1.0]]
        >>> net.predict([3.0, 3.0])
        array([0.5])
        """
        return LayerViews("weights", [w for w, _ in layer_parameters(self._params, self._sizes)])

    @property
    def biases(self) -> list[Floats]:
        """list of ndarray: b for each layer, ``biases[i]`` of shape (sizes[i + 1],); writable
        views of the network's parameters, like `weights`."""
        return LayerViews("biases", [b for _, b in layer_parameters(self._params, self._sizes)])

    def __repr__(self) -> str:
        return (f"Network({list(self._sizes)}, activation={self.activation!r}, "
                f"output={self.output!r}, loss={self.loss_name!r}, dtype={self._dtype.name!r})")

    def __getstate__(self) -> dict[str, Any]:
        # the names' old keys too, which bpcore before they were read-only reads back
        state = dict(self.__dict__)
        state.update(activation=self._activation, output=self._output_activation,
                     loss_name=self._loss_name)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        # unpickled arrays are NumPy's own allocations: the parameters aligned again, as
        # __init__ makes them (bpcore/_layout.py's ALIGNMENT says why)
        for old, new in (("activation", "_activation"), ("output", "_output_activation"),
                         ("loss_name", "_loss_name")):  # pickled before they were read-only
            if old in state:
                state[new] = state.pop(old)
        self.__dict__.update(state)
        self._params = realigned(self._params)

    # ---- the kernels' view of the network ----

    def _forward(self, X: Floats) -> tuple[Floats, Floats]:
        """Run the forward pass; return the flat activations A and the output's z[L]."""
        n = X.shape[0]
        A = np.empty(n * unit_count(self._sizes), dtype=self._dtype)
        Z = np.empty((n, self._sizes[-1]), dtype=self._dtype)
        _backend.kernels.forward(self._params, self._sizes_array, self._activation_codes, X, A,
                                 Z)
        return A, Z

    def _output(self, A: Floats, n: int) -> Floats:
        return A[len(A) - n * self._sizes[-1]:].reshape(n, self._sizes[-1])

    def _inputs(self, X: npt.ArrayLike, name: str = "X") -> tuple[Floats, bool]:
        samples: tuple[Floats, bool] = as_samples(X, name, self._sizes[0], self._dtype)
        return samples

    def _data(self, X: npt.ArrayLike, Y: npt.ArrayLike) -> tuple[Floats, Floats]:
        # arrays of numbers, converted as the general path converts them, are checked in one
        # compiled pass, without NumPy's temporary arrays (4,096 float32 rows of 64 inputs
        # and 10 one-hot targets: 23 us against 55; given in float64, 65 against 107; 4,000
        # rows of the tiny case 1.9 against 6.2); the rest, and every refusal with its
        # message, is the general path's
        if (type(X) is np.ndarray and type(Y) is np.ndarray and X.ndim == 2
                and X.dtype.kind in "iuf" and Y.dtype.kind in "iuf"
                and X.shape[1] == self._sizes[0]):
            targets = Y.reshape(-1, 1) if Y.ndim == 1 and self._sizes[-1] == 1 else Y
            if targets.ndim == 2 and targets.shape[1] == self._sizes[-1]:
                inputs, targets = as_read(X, self._dtype), as_read(targets, self._dtype)
                if _backend.kernels.samples_fit(inputs, targets, self._loss_code):
                    return inputs, targets
        X, single = self._inputs(X)
        Y = self._targets(Y, X.shape[0], single)
        return X, Y

    def _targets(self, Y: npt.ArrayLike, n: int, single: bool, name: str = "Y",
                 x_name: str = "X") -> Floats:
        targets: Floats = as_targets(Y, n, self._sizes[-1], single, self._dtype, self.loss_name,
                                     name, x_name)
        return targets

    def _weights(self, sample_weight: object, n: int,
                 name: str = "sample_weight") -> Floats:
        """The kernels' weights: `sample_weight` checked and scaled to mean 1 (so that the mean
        of weighted losses is the weighted mean), or an empty vector for None."""
        if sample_weight is None:
            return self._kernel_weights(None)
        weights = _checked_weights(sample_weight, n, name)
        largest = weights.max()
        if largest == 0:
            raise ValueError(f"{name} must not be all zero")
        # divided by the largest first, so that the sum neither overflows nor underflows;
        # equal weights become exactly 1
        weights = weights / largest
        scaled: Floats = np.ascontiguousarray(weights * (n / weights.sum()), dtype=self._dtype)
        return scaled

    def _kernel_weights(self, weights: Floats | None) -> Floats:
        """Weights as the kernels take them: an empty vector for none."""
        return np.empty(0, dtype=self._dtype) if weights is None else weights

    def _loss_of(self, A: Floats, Z: Floats, Y: Floats, weights: Floats | None = None) -> float:
        n: int = Y.shape[0]
        return _backend.kernels.batch_loss(self._loss_code, self._output(A, n), Z, Y,
                                           self._kernel_weights(weights)) / n

    def _backward(self, X: Floats, Y: Floats,
                  weights: Floats | None = None) -> tuple[Floats, Floats, Floats, float]:
        """Forward and backward pass: (A, D, flat gradients, loss) for the batch X, Y, each
        sample weighted by `weights` (from `_weights`; None: not weighted)."""
        kernels = _backend.kernels
        weights = self._kernel_weights(weights)
        A, Z = self._forward(X)
        D = np.empty_like(A)
        grads = np.empty_like(self._params)
        kernels.backward(self._params, self._sizes_array, self._activation_codes,
                         self._loss_code, Y, A, D, weights)
        kernels.parameter_gradients(self._sizes_array, X, A, D, grads)
        return A, D, grads, self._loss_of(A, Z, Y, weights)

    def _accuracy(self, X: Floats, Y: Floats, weights: Floats | None = None) -> float | None:
        """The (weighted) share of samples classified right, for the cross-entropy losses;
        else None."""
        if self.loss_name not in ("binary_cross_entropy", "cross_entropy"):
            return None
        A, _ = self._forward(X)
        output = self._output(A, X.shape[0])
        if self.loss_name == "cross_entropy":
            right = output.argmax(axis=1) == Y.argmax(axis=1)
        else:  # every output on the right side of 0.5
            right = ((output > 0.5) == (Y > 0.5)).all(axis=1)
        if weights is not None and len(weights):
            return float(np.average(right, weights=weights))
        return float(right.mean())

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
            A new array of the network's dtype. A C-contiguous ndarray of that dtype, one
            sample (1-D) or a batch (2-D), takes the low-latency path (one kernel call, no
            conversions).

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
        if type(X) is np.ndarray and X.ndim <= 2:
            # samples as the network stores them: the low-latency path (online control
            # loops), one kernel call that returns None for anything else
            direct = (_backend.kernels.forward_one if X.ndim == 1
                      else _backend.kernels.forward_rows)
            out = direct(self._params, self._sizes_array, self._activation_codes, X)
            if out is not None:
                return out
        X, single = self._inputs(X)
        output = self._output(self._forward(X)[0], X.shape[0]).copy()
        outputs: Floats = output[0] if single else output
        return outputs

    def loss(self, X: npt.ArrayLike, Y: npt.ArrayLike,
             sample_weight: npt.ArrayLike | None = None) -> float:
        """The mean over the samples of the cost C, without any weight-decay penalty.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_in), or (n_in,) for one sample
            Inputs, one sample per row.
        Y : array_like of shape (n_samples, n_out), or (n_samples,) when n_out is 1
            Targets, one row per sample (for one sample also (n_out,), or a number when n_out
            is 1). In [0, 1] for the cross-entropy losses; for "cross_entropy" each row sums
            to 1 (one-hot or probabilities); >= 0 for "poisson".
        sample_weight : array_like of shape (n_samples,) or None, default None
            Each sample's weight, >= 0 and not all zero: the loss is then the weighted mean
            sum_i w_i C_i / sum_i w_i.

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
            differ, Y is out of range for the loss, or sample_weight is not one finite
            weight >= 0 per sample, or all zero.

        Examples
        --------
        >>> import bpcore
        >>> net = bpcore.Network([1, 1], output="identity", seed=0)
        >>> net.weights[0][...] = 2.0
        >>> net.loss([[1.0], [2.0]], [1.0, 1.0])
        2.5
        """
        X, Y = self._data(X, Y)
        weights = self._weights(sample_weight, X.shape[0])
        return self._loss_of(*self._forward(X), Y, weights)

    def gradients(self, X: npt.ArrayLike, Y: npt.ArrayLike,
                  sample_weight: npt.ArrayLike | None = None) -> Gradients:
        """Backpropagation on the batch X, Y without changing the network.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_in), or (n_in,) for one sample
            Inputs, one sample per row.
        Y : array_like of shape (n_samples, n_out), or (n_samples,) when n_out is 1
            Targets, as for `loss`.
        sample_weight : array_like of shape (n_samples,) or None, default None
            Each sample's weight, as for `loss`: the gradients and loss are then weighted
            means, and each sample's deltas are scaled by its weight over the mean weight.

        Returns
        -------
        Gradients
            dC/dW and dC/db of every layer (means over the samples, shaped like `weights`
            and `biases`), every sample's local gradients delta, and the mean loss.

        Raises
        ------
        TypeError, ValueError
            If X, Y or sample_weight do not fit the network, as for `loss`.

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
        A, D, grads, loss = self._backward(X, Y, self._weights(sample_weight, X.shape[0]))
        layers = layer_parameters(grads, self._sizes)
        return Gradients(weights=[w for w, _ in layers], biases=[b for _, b in layers],
                         deltas=layer_blocks(D, self._sizes, X.shape[0]), loss=loss,
                         outputs=self._output(A, X.shape[0]))

    # ---- the optimizer's state, and what a diverged step restores ----

    def _optimizer(self, optimizer: object, lr: object, momentum: object,
                   weight_decay: object, default_lr: float | None) -> Optimizer:
        """The optimizer that `fit` or `step` was asked for: SGD from lr, momentum and
        weight_decay (None: `default_lr`, 0 and 0) when `optimizer` is None, else the named
        or given one, beside which none of the three may be given. The last one made from
        numbers or a name is kept (a few microseconds of checks in every call of a loop of
        `fit(..., epochs=1)`); one with a schedule is not, so the network stays picklable."""
        key = (type(optimizer), optimizer, type(lr), lr, type(momentum), momentum,
               type(weight_decay), weight_decay, default_lr)
        kept = self._optimizer_cache
        if kept is not None and kept[0] == key:
            return kept[1]
        chosen = self._new_optimizer(optimizer, lr, momentum, weight_decay, default_lr)
        if (optimizer is None or isinstance(optimizer, str)) and not callable(
                getattr(chosen, "lr", None)):
            self._optimizer_cache = (key, chosen)
        return chosen

    def _new_optimizer(self, optimizer: object, lr: object, momentum: object,
                       weight_decay: object, default_lr: float | None) -> Optimizer:
        if optimizer is None:
            if lr is None and default_lr is None:
                raise TypeError("lr, a learning rate, is needed unless an optimizer is given; "
                                "got neither")
            # SGD checks the values' types and ranges
            settings: dict[str, Any] = {
                "lr": default_lr if lr is None else lr,
                "momentum": 0.0 if momentum is None else momentum,
                "weight_decay": 0.0 if weight_decay is None else weight_decay}
            return SGD(**settings)
        given = {name: value for name, value in
                 (("lr", lr), ("momentum", momentum), ("weight_decay", weight_decay))
                 if value is not None}
        if given:
            raise ValueError(f"pass {', '.join(given)} to the optimizer, not beside it: got "
                             f"optimizer={optimizer!r} and "
                             + ", ".join(f"{name}={value!r}" for name, value in given.items()))
        if isinstance(optimizer, str):
            if optimizer not in Optimizer.classes:
                raise ValueError(f"optimizer must be the name of one ("
                                 f"{', '.join(map(repr, Optimizer.classes))}; lower case), an "
                                 f"optimizer object such as bpcore.optim.SGD(lr=0.1), or None; "
                                 f"got {optimizer!r}")
            return Optimizer.classes[optimizer]()
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"optimizer must be None, a name such as 'sgd' or an optimizer "
                            f"object such as bpcore.optim.SGD(lr=0.1), got "
                            f"{type(optimizer).__name__} {optimizer!r}")
        return optimizer

    def _step_settings(self, optimizer: object, lr: object, momentum: object,
                       weight_decay: object) -> tuple[Optimizer, Floats]:
        """`step`'s optimizer and kernel settings (their scalar state as it was when they were
        made: refresh them). The last ones are kept, so that online steps with the same
        arguments skip the checks: the very same objects pass at once, equal ones of the same
        types after a comparison."""
        cached = self._settings_cache
        if (cached is not None and cached[1] is optimizer and cached[3] is lr
                and cached[5] is momentum and cached[7] is weight_decay
                and self._state.name == cached[-2].name):
            return cached[-2], cached[-1]
        key = (type(optimizer), optimizer, type(lr), lr, type(momentum), momentum,
               type(weight_decay), weight_decay)
        if cached is None or cached[:8] != key or self._state.name != cached[-2].name:
            chosen = self._optimizer(optimizer, lr, momentum, weight_decay, None)
            if isinstance(chosen, LBFGS):
                raise ValueError("optimizer 'lbfgs' trains on the whole data set in fit; step "
                                 "takes 'sgd', 'adam' or 'rprop'")
            if callable(chosen.lr):
                raise TypeError(f"step takes lr as a number; a schedule lr(epoch) is for fit, "
                                f"got {chosen.lr!r}")
            cached = self._settings_cache = (*key, chosen, self._settings(chosen))
        return cached[-2], cached[-1]

    def _step_failed(self, optimizer: Optimizer, X: Floats, Y: Floats, loss: float,
                     outcome: int) -> None:
        """Raise what the outcome (2, 3 or 4) of `step_direct`'s undone step on X, Y calls for
        (the samples as they passed it)."""
        if outcome == 2:
            raise self._unusable() or DivergenceError(
                _NOT_FINITE_BEFORE.format(loss=loss, smaller=_smaller_step(optimizer)))
        if outcome == 3:
            n = X.shape[0] if X.ndim == 2 else 1
            raise self._unusable() or self._undone(optimizer, X.reshape(n, -1),
                                                   Y.reshape(n, -1))
        raise DivergenceError(f"the step was undone: {self._state_overflowed(optimizer)}")

    def _settings(self, optimizer: Optimizer) -> Floats:
        """The kernels' settings vector for `optimizer`, with the network's scalar state of
        it; a different kind of optimizer than the last starts from fresh state."""
        if self._state.name != optimizer.name:
            self._state = OptimizerState(optimizer.name, len(self._params), self._dtype)
        return self._state.settings_for(optimizer)

    def _snapshot(self, optimizer: Optimizer) -> tuple[Floats, OptimizerState | None]:
        """What a step of `optimizer` that diverges must restore: the parameters, and the
        optimizer's state unless the step leaves it alone."""
        return self._params.copy(), self._state.copy() if optimizer.changes_state() else None

    def _unusable(self) -> ValueError | None:
        """The error to raise instead of a DivergenceError when the parameters a step or
        epoch started from were not finite (set so from outside: training never keeps
        them), as no learning rate cures that; None when they are finite."""
        bad = first_not_finite(self._params, self._sizes)
        if bad is None:
            return None
        return ValueError(f"the network's {bad} hold NaN or infinity, and no training step "
                          f"can start from them (set so from outside: training never keeps "
                          f"them): set finite values (through weights, biases or "
                          f"set_state) or make a new Network")

    def _gradient_overflow(self, X: Floats, Y: Floats, weights: Floats | None = None,
                           loss_too: bool = False) -> str | None:
        """What to say when the gradient of the loss on X, Y overflows the network's dtype at
        its parameters (data too large for the dtype: no learning rate helps), or with
        loss_too the loss itself, else None. On the way out of a divergence only: a forward
        and backward pass over X."""
        with np.errstate(all="ignore"):
            *_, grads, loss = self._backward(X, Y, weights)
        if np.isfinite(grads).all() and (np.isfinite(loss) or not loss_too):
            return None
        wider = ", or use dtype='float64'" if self._dtype == np.float32 else ""
        what = "the gradient" if np.isfinite(loss) else "the loss"
        return (f"{what} overflows {self._dtype} at the parameters the network keeps "
                f"(its loss there is {loss:.3g}), so no learning rate helps from there: scale "
                f"X and Y, for example to unit variance{wider}; if earlier training made the "
                f"parameters this large, start over with a smaller learning rate")

    def _undone(self, optimizer: Optimizer, X: Floats, Y: Floats,
                weights: Floats | None = None) -> DivergenceError:
        """The error of a step on X, Y that made a parameter non-finite and was undone."""
        overflow = self._gradient_overflow(X, Y, weights)
        if overflow is not None:
            return DivergenceError(f"the step made a parameter non-finite and was undone: "
                                   f"{overflow}")
        return DivergenceError(_UNDONE.format(smaller=_smaller_step(optimizer)))

    def _state_overflowed(self, optimizer: Optimizer) -> str:
        """What to say when training left the parameters finite but not the optimizer's state:
        Adam's v, the squared gradients, overflows float32 from gradients of about 2e19 on,
        while its steps (about lr) keep the parameters finite and then stall. No learning
        rate cures that."""
        wider = ", or use dtype='float64'" if self._dtype == np.float32 else ""
        return (f"the {optimizer.name} optimizer's state overflowed {self._dtype} (the "
                f"gradients are too large for it); scale X and Y, for example to unit "
                f"variance{wider}")

    def _restore(self, saved: tuple[Floats, OptimizerState | None]) -> None:
        self._params[...] = saved[0]
        if saved[1] is not None:
            self._state.assign(saved[1])

    def get_state(self) -> dict[str, Any]:
        """A copy of everything the network is: its description, parameters and optimizer
        state; `set_state` takes it back, and converters read it.

        Returns
        -------
        dict
            ``sizes`` (tuple of int), ``activation``, ``output``, ``loss``, ``dtype`` (str),
            ``parameters`` (a copy of the flat parameter vector: layer after layer, the
            weights ``weights[i]`` row by row then the biases ``biases[i]``), and
            ``optimizer``: a dict with the optimizer's ``name`` (e.g. "sgd") and a copy of
            each of its state arrays by name (SGD's ``velocity``, shaped like
            ``parameters``), and any scalar state by name; and ``generator``: the state of
            the generator that shuffles the samples in `fit` and draws validation rows, as
            ``numpy.random.PCG64().state`` gives it (a dict of ints), so that a copy
            continues training exactly as the original. A network whose seed was a
            generator of another kind than numpy's default PCG64 has no ``generator`` entry.

        Examples
        --------
        >>> import bpcore
        >>> net = bpcore.Network([2, 3, 1], seed=0)
        >>> state = net.get_state()
        >>> state["sizes"], state["parameters"].shape, sorted(state["optimizer"])
        ((2, 3, 1), (13,), ['name', 'velocity'])
        >>> state["generator"]["bit_generator"]
        'PCG64'
        """
        state = {"sizes": self._sizes, "activation": self.activation, "output": self.output,
                 "loss": self.loss_name, "dtype": self._dtype.name,
                 "parameters": self._params.copy(), "optimizer": self._state.to_dict()}
        # numpy builds a new dict of ints on every read: the copy is the caller's
        generator = self._rng.bit_generator.state
        if generator.get("bit_generator") == "PCG64":
            state["generator"] = generator
        return state

    def set_state(self, state: dict[str, Any]) -> None:
        """Set the parameters, optimizer state and generator from a dictionary like
        `get_state`'s.

        Only ``parameters``, ``optimizer`` and ``generator`` are set, each if present (a
        state without ``generator`` leaves the generator alone); ``sizes``, ``activation``,
        ``output`` and ``loss``, if present, must describe this network; ``dtype`` is not
        checked: the parameters are converted to the network's. Any other entry is an error.
        ``generator`` must be the state of a PCG64 generator (numpy's default, the one a
        Network makes from its seed), as `get_state` gives it.

        Parameters
        ----------
        state : dict
            As `get_state` returns it, or part of it.

        Raises
        ------
        TypeError
            If `state` is not a dict, an array does not hold real numbers, or the generator's
            state is not a dict of ints.
        ValueError
            If it describes another network, or an array, the optimizer's name or the
            generator's state does not fit; nothing is changed then.

        Examples
        --------
        >>> import numpy as np
        >>> import bpcore
        >>> net = bpcore.Network([2, 3, 1], seed=0)
        >>> twin = bpcore.Network([2, 3, 1], seed=1)
        >>> twin.set_state(net.get_state())
        >>> bool(np.array_equal(twin.predict([0.5, 0.5]), net.predict([0.5, 0.5])))
        True
        """
        if not isinstance(state, dict):
            raise TypeError(f"state must be a dict like get_state()'s, got "
                            f"{type(state).__name__}")
        unknown = sorted(map(str, set(state) - _STATE_KEYS))
        if unknown:
            raise ValueError(f"state has unknown entries {', '.join(map(repr, unknown))}; "
                             f"get_state() gives {', '.join(map(repr, sorted(_STATE_KEYS)))}")
        mine = {"sizes": self._sizes, "activation": self.activation, "output": self.output,
                "loss": self.loss_name}
        for key, value in mine.items():
            if key in state and _described(state[key], key) != value:
                raise ValueError(f"state describes another network: {key} {state[key]!r}, "
                                 f"but this network's is {value!r}")
        parameters = None
        if "parameters" in state:
            parameters = real_array(state["parameters"], "state['parameters']",
                                    self._params.shape, self._dtype)
        optimizer = None
        if "optimizer" in state:
            optimizer = OptimizerState.from_dict(state["optimizer"], len(self._params),
                                                 self._dtype)
        generator = None
        if "generator" in state:
            generator = _generator_state(state["generator"])
        if parameters is not None:
            self._params[...] = parameters
        if optimizer is not None:
            self._state.assign(optimizer, adopt=True)  # from_dict's own arrays
        if generator is not None:
            if not isinstance(self._rng.bit_generator, np.random.PCG64):
                # seeded with another kind: the network's generator becomes a PCG64 one
                self._rng = np.random.Generator(np.random.PCG64(0))
            # in place, so that a `fit` holding the generator (a rollback) draws on from it
            self._rng.bit_generator.state = generator

    def step(self, X: npt.ArrayLike, Y: npt.ArrayLike, lr: float | None = None,
             momentum: float | None = None, weight_decay: float | None = None,
             optimizer: Optimizer | str | None = None,
             sample_weight: npt.ArrayLike | None = None) -> float:
        """One in-place optimizer step on the batch X, Y, with the batch's mean gradient.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_in), or (n_in,) for one sample
            Inputs, one sample per row. Without sample_weight, X and Y that are
            C-contiguous, aligned ndarrays of the network's dtype, 1-D for one sample or 2-D
            for a batch (Y may be 1-D for one output), take one kernel call (about a
            microsecond for one sample, a few for a small batch: online learning); anything
            else is converted and checked first, with the same result.
        Y : array_like of shape (n_samples, n_out), or (n_samples,) when n_out is 1
            Targets, as for `loss`.
        lr : float or None, default None
            Learning rate of SGD, > 0; needed unless `optimizer` is given.
        momentum : float in [0, 1) or None, default None (0)
            SGD's momentum, PyTorch's formulation: v = momentum * v + g, then W -= lr * v,
            where g is the gradient plus weight_decay * W, with one velocity v per parameter
            kept on the network. With momentum 0 it is plain SGD, W -= lr * g, and the
            velocity is neither used nor changed.
        weight_decay : float >= 0 or None, default None (0)
            Adds weight_decay * W to the gradient of every weight (not the biases): an L2
            penalty weight_decay / 2 * sum W^2, which the returned loss does not include.
        optimizer : Optimizer, str or None, default None
            None: SGD with lr, momentum and weight_decay. Otherwise an optimizer object such
            as ``bpcore.Adam(lr=0.01)`` or ``bpcore.SGD(lr=0.1, momentum=0.9, nesterov=True)``,
            or the name of one ("sgd", "adam", "rprop") with its defaults; then lr, momentum
            and weight_decay must not be given (a ValueError). The optimizer's state
            (velocity, moments, step sizes) carries across `step` and `fit` calls with the
            same kind of optimizer, and starts afresh when the kind changes.
        sample_weight : array_like of shape (n_samples,) or None, default None
            Each sample's weight, >= 0 and not all zero: the step follows the weighted mean
            gradient of this batch, sum_i w_i g_i / sum_i w_i, and the returned loss is the
            weighted mean (so one sample's weight has no effect: it is the whole batch). Note
            that `fit` scales weights over all its training rows instead, so that a batch
            of heavy samples takes a larger step there than the same batch here.

        Returns
        -------
        float
            The batch's mean loss before the step.

        Raises
        ------
        TypeError
            If X or Y do not hold real numbers, lr, momentum or weight_decay is not a real
            number, neither lr nor optimizer is given, or optimizer is of another type.
        ValueError
            If X or Y do not fit the network (as for `loss`), lr, momentum or weight_decay
            is out of range or given beside an optimizer, or the optimizer's name is unknown,
            or the network's parameters hold NaN or infinity where the step would start.
        DivergenceError
            If the loss is not finite before the step, or the step makes a parameter or the
            optimizer's state non-finite (Adam's squared gradients can overflow float32 while
            the parameters stay finite); then the step is undone. A subclass of ValueError.

        Examples
        --------
        >>> import bpcore
        >>> net = bpcore.Network([1, 1], output="identity", seed=0)
        >>> net.weights[0][...] = 2.0
        >>> net.step([[1.0]], [[1.0]], lr=0.5)
        0.5
        >>> net.weights[0], net.biases[0]
        (array([[1.5]]), array([-0.5]))
        >>> from bpcore.optim import SGD
        >>> net.step([[1.0]], [[1.0]], optimizer=SGD(lr=0.5))
        0.0
        """
        # a step refused or undone leaves the optimizer as it was, also where another kind of
        # optimizer's fresh state had replaced it (a rollback restores a state in place)
        before = self._state
        try:
            if type(X) is np.ndarray and type(Y) is np.ndarray and sample_weight is None:
                # the low-latency path (online learning, small batches): one kernel call
                # takes samples as the network stores them, leaves the rest to the general path
                chosen, settings = self._step_settings(optimizer, lr, momentum, weight_decay)
                state = self._state
                result = _backend.kernels.step_direct(
                    self._params, state.arrays, state.scalars, self._sizes_array,
                    self._activation_codes, self._loss_code, X, Y, chosen.code, settings)
                if result is not None:
                    if result[1] != 1:
                        self._step_failed(chosen, X, Y, *result)
                    return result[0]
            X, Y = self._data(X, Y)
            n = X.shape[0]
            weights = self._weights(sample_weight, n)
            chosen, settings = self._step_settings(optimizer, lr, momentum, weight_decay)
            self._state.refresh(settings)  # as a rollback or fit may have changed them
            saved = self._snapshot(chosen)
            # the batch as one batch of an epoch, without records as fit's, so that fit's
            # steps are this step to the last bit (the kernels may fold the update into the
            # gradient's product, and keep W[0] transposed for it); non-finite results are
            # undone below
            with np.errstate(over="ignore", invalid="ignore"):
                total = _backend.kernels.train_epoch(
                    self._params, self._state.arrays, self._sizes_array,
                    self._activation_codes, self._loss_code, X, Y, weights,
                    np.arange(n, dtype=np.intp), n, chosen.code, settings)
            loss = float(total / n)
            if not np.isfinite(loss):
                self._restore(saved)
                raise self._unusable() or DivergenceError(
                    _NOT_FINITE_BEFORE.format(loss=loss, smaller=_smaller_step(chosen)))
            self._state.keep(settings)
            if not np.isfinite(self._params).all():
                self._restore(saved)
                raise self._unusable() or self._undone(chosen, X, Y, weights)
            if chosen.changes_state() and not np.isfinite(self._state.arrays).all():
                self._restore(saved)
                raise DivergenceError(
                    f"the step was undone: {self._state_overflowed(chosen)}")
            return loss
        except Exception:
            self._state = before
            raise

    def train_epoch(self, X: npt.ArrayLike, Y: npt.ArrayLike, optimizer: Optimizer,
                    order: npt.ArrayLike | None = None, batch_size: int = 1,
                    sample_weight: npt.ArrayLike | None = None,
                    summed_penalty: bool = False,
                    clipped_loss: bool = False) -> npt.NDArray[np.float64]:
        """One pass over the rows X[order], one optimizer step per batch, in compiled code.

        The loop `fit` runs each epoch, for callers who make their own epochs: their own row
        order, stopping rules and learning rates (`bpcore.sklearn` runs scikit-learn's
        epochs on it). The batches are order[0:batch_size], order[batch_size:2 * batch_size],
        ...; the last may be shorter. Nothing is checked for divergence: check the weights
        afterwards if that matters.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_in)
            Inputs, one sample per row.
        Y : array_like of shape (n_samples, n_out), or (n_samples,) when n_out is 1
            Targets, as for `loss`.
        optimizer : Optimizer
            An SGD, Adam or Rprop object with a number as lr. Its state (velocity, moments,
            step sizes) carries on from earlier `step`, `fit` and `train_epoch` calls with the
            same kind of optimizer, as in `step`.
        order : array_like of int or None, default None
            The rows to take, in this order (rows may repeat or be left out); None: all of
            them in order.
        batch_size : int >= 1, default 1
            Rows per step.
        sample_weight : array_like of shape (n_samples,) or None, default None
            Each sample's weight, finite and >= 0, used as given (not rescaled). Without
            summed_penalty a batch steps with sum_i w_i g_i / batch rows.
        summed_penalty : bool, default False
            False: the optimizer's weight_decay is added to each batch's gradient as it is, as
            in `step` and `fit`. True: weight decay is an L2 penalty weight_decay / 2 * sum W^2
            on each batch's summed loss, as scikit-learn's MLPs scale their alpha: a batch
            steps with its weighted mean gradient sum_i w_i g_i / S and weight decay
            weight_decay / S, where S is its weight sum (its row count without weights); a
            batch whose weights are all zero takes no step.
        clipped_loss : bool, default False
            True: the losses returned for the cross-entropies are scikit-learn's values, from
            the output probabilities clipped to [eps, 1 - eps] (eps the dtype's machine
            epsilon), which differ from bpcore's exact ones where an output saturates. The
            steps are the same either way.

        Returns
        -------
        ndarray of shape (n_batches, 3), float64
            Per batch: its summed loss just before its step (each sample's loss times its
            weight; with summed_penalty, times its weight over the batch's mean weight), its
            weight sum S, and sum W^2 over the weights (not the biases) just before its step.

        Raises
        ------
        TypeError
            If X, Y, order or sample_weight do not hold numbers of the right kind, optimizer
            is not an SGD, Adam or Rprop object with a number as lr, or summed_penalty or
            clipped_loss is not True or False.
        ValueError
            If X or Y do not fit the network, order holds a row number out of range,
            batch_size < 1, or sample_weight has the wrong length or a negative or
            non-finite weight.

        Examples
        --------
        >>> import numpy as np
        >>> import bpcore
        >>> net = bpcore.Network([2, 1], output="identity", seed=0)
        >>> X, y = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]), np.array([1.0, -1.0, 0.0])
        >>> records = net.train_epoch(X, y, bpcore.SGD(lr=0.1), order=[2, 0, 1], batch_size=2)
        >>> records.shape, records[:, 1].tolist()
        ((2, 3), [2.0, 1.0])
        """
        X, Y = self._data(X, Y)
        n = X.shape[0]
        if not isinstance(optimizer, Optimizer) or isinstance(optimizer, LBFGS):
            raise TypeError(f"optimizer must be an SGD, Adam or Rprop object, got "
                            f"{type(optimizer).__name__} {optimizer!r}")
        if callable(optimizer.lr):
            raise TypeError(f"train_epoch takes the optimizer's lr as a number, not a "
                            f"schedule, got {optimizer.lr!r}")
        batch_size = as_int(batch_size, "batch_size", 1)
        for name, flag in (("summed_penalty", summed_penalty), ("clipped_loss", clipped_loss)):
            if not isinstance(flag, (bool, np.bool_)):
                raise TypeError(f"{name} must be True or False, got {flag!r}")
        rows = np.arange(n, dtype=np.intp) if order is None else np.asarray(order)
        if rows.size == 0:
            rows = rows.astype(np.intp)  # [] is float64 to numpy
        if rows.ndim != 1 or rows.dtype.kind not in "iu":
            raise TypeError(f"order must be a 1-D array of row numbers, got "
                            f"{rows.ndim}-D dtype {rows.dtype}")
        if len(rows) and (rows.min() < 0 or rows.max() >= n):
            raise ValueError(f"order must hold row numbers in [0, {n}), got values in "
                             f"[{rows.min()}, {rows.max()}]")
        rows = np.require(rows, dtype=np.intp, requirements=["C", "A", "E"])
        weights = self._kernel_weights(None)
        if sample_weight is not None:  # as given: not scaled
            weights = np.require(_checked_weights(sample_weight, n, "sample_weight"),
                                 dtype=self._dtype, requirements=["C", "A", "E"])
        batch_size = min(batch_size, max(len(rows), 1))
        records = np.zeros((-(-len(rows) // batch_size), 3))
        settings = self._settings(optimizer)
        # Python acts on Ctrl-C only between compiled calls: chunks of whole batches
        chunk = max(1, CHUNK_WORK // (len(self._params) * batch_size)) * batch_size
        for start in range(0, len(rows), chunk):
            part = rows[start:start + chunk]
            first = start // batch_size
            _backend.kernels.train_epoch(
                self._params, self._state.arrays, self._sizes_array, self._activation_codes,
                self._loss_code, X, Y, weights, part, batch_size, optimizer.code, settings,
                bool(summed_penalty), records[first:first - (-len(part) // batch_size)],
                bool(clipped_loss))
            self._state.keep(settings)
        return records

    def fit(self, X: npt.ArrayLike, Y: npt.ArrayLike, epochs: int = 100,
            lr: float | Callable[[int], float] | None = None, batch_size: int | None = None,
            momentum: float | None = None, weight_decay: float | None = None,
            optimizer: Optimizer | str | None = None, shuffle: bool = True,
            tol: float | None = None, patience: int | None = None,
            callback: Callable[[int, float], bool | None] | None = None,
            progress: bool = False,
            validation_data: tuple[npt.ArrayLike, ...] | None = None,
            validation_fraction: float | None = None, restore_best: bool = True,
            sample_weight: npt.ArrayLike | None = None,
            reduce_lr_on_plateau: bool | ReduceOnPlateau | None = None) -> History:
        """Train the network in place by stochastic gradient descent or another optimizer.

        Each epoch visits every sample once, in an order the network's own generator
        shuffles (unless shuffle=False), taking one step per batch of `batch_size` samples
        with the batch's mean gradient. The loss of an epoch is the mean of the samples'
        losses, each measured just before the step that uses it. Training stops after
        `epochs`, or once the watched loss is <= tol, or after `patience` epochs without a
        lower one, or when callback(epoch, loss) returns True. The watched loss is the
        validation loss when there are validation data, else the epoch's loss.
        Epochs run in compiled chunks of whole batches, so Ctrl-C is acted on within about
        a quarter of a second even in a long epoch (or one batch, where a single batch
        takes longer).

        Parameters
        ----------
        X : array_like of shape (n_samples, n_in)
            Inputs, one sample per row (n_in = ``sizes[0]``); converted to the network's
            dtype.
        Y : array_like of shape (n_samples, n_out), or (n_samples,) when n_out is 1
            Targets (n_out = ``sizes[-1]``). In [0, 1] for the cross-entropy losses; for
            "cross_entropy" each row sums to 1 (one-hot or probabilities); >= 0 for "poisson".
        epochs : int, default 100
            The most epochs to run (for L-BFGS, iterations, unless it sets max_iter).
        lr : float, callable or None, default None (0.1)
            SGD's learning rate, > 0, or a schedule lr(epoch) -> float, epochs counting
            from 1 (see `bpcore.schedules`). The command line's ``bpcore train`` defaults
            to 0.01 instead.
        batch_size : int or None, default None
            Samples per step. None is 1 (online learning: one step per sample), except for
            Rprop, a full-batch method, where it is all of them. The last batch of an epoch
            may be smaller; a batch_size of n_samples or more takes one full-batch step
            per epoch. L-BFGS always takes the whole data set.
        momentum : float in [0, 1) or None, default None (0)
            SGD's momentum, PyTorch's formulation: v = momentum * v + g, then W -= lr * v,
            where g is the gradient plus weight_decay * W, with one velocity v per
            parameter kept on the network. With momentum 0 it is plain SGD, W -= lr * g,
            and the velocity is neither used nor changed.
        weight_decay : float >= 0 or None, default None (0)
            Adds weight_decay * W to the gradient of every weight (not the biases): an L2
            penalty weight_decay / 2 * sum W^2, which the epoch losses do not include.
        optimizer : Optimizer, str or None, default None
            None: SGD with lr, momentum and weight_decay. Otherwise an optimizer object
            (`bpcore.SGD`, `bpcore.Adam`, `bpcore.Rprop`, `bpcore.LBFGS`), or the name of
            one ("sgd", "adam", "rprop", "lbfgs") with its defaults; then lr, momentum and
            weight_decay must not be given (a ValueError). The optimizer's state carries
            across `step` and `fit` calls with the same kind of optimizer, and starts
            afresh when the kind changes (or on `reset_optimizer`).
        shuffle : bool, default True
            Reorder the samples at the start of every epoch, drawing from the network's own
            generator (so the network's seed makes it repeatable); False visits them in the
            order given.
        tol : float >= 0 or None, default None
            Stop once the watched loss is <= tol.
        patience : int >= 1 or None, default None
            Stop after `patience` epochs in a row without a watched loss below the best so
            far.
        callback : callable or None, default None
            Called as callback(epoch, loss) after every epoch, epochs counting from 1, with
            the epoch's training loss (``History.losses[-1]``; the validation loss is in
            ``History.val_losses``); returning True (any true value) stops training, None or
            False goes on. A `step` with another kind of optimizer in it (or
            `reset_optimizer`) makes the next epoch start the fit's optimizer afresh, as
            between calls. Under L-BFGS a callback that changes the parameters stops
            training there, keeping its change, with a RuntimeWarning (L-BFGS goes on only
            from its own iterate).
        progress : bool, default False
            Show the epochs and their loss (and validation loss) on stderr while training.
        validation_data : tuple (X_val, Y_val) or (X_val, Y_val, sample_weight_val), or None
            Samples to evaluate at the end of every epoch, shaped like X and Y: their loss
            goes to ``History.val_losses`` (and, for the cross-entropy losses, the share
            classified right to ``History.val_accuracies``), and `tol`, `patience`,
            `reduce_lr_on_plateau` and `restore_best` watch it.
        validation_fraction : float in (0, 1) or None, default None
            Hold this share of the samples (and of their weights) out of training as
            validation data, drawn with the network's generator, the same share of every
            class for the cross-entropy losses (for "binary_cross_entropy", of every pattern
            of outputs on either side of 0.5); at least one sample in all, so that on a few
            samples the share held out can be well above `validation_fraction` (1 of 2 for
            0.01); not with `validation_data`.
        restore_best : bool, default True
            With validation data, end with the parameters (and optimizer state) the network
            had at the end of the epoch with the lowest validation loss;
            ``History.best_epoch`` and ``History.best_loss`` say which and what it was.
            Without validation data it has no effect (an epoch's own loss is a running mean
            over its steps, not the loss of its final parameters): the network keeps the
            last epoch's parameters, as with False. To keep the parameters of the lowest
            training loss, pass ``validation_data=(X, Y)``.
        sample_weight : array_like of shape (n_samples,) or None, default None
            Each sample's weight, >= 0 and not all zero: every loss becomes the weighted
            mean, and every step follows the weighted gradient. Weights are scaled to mean
            1 over the training samples, so a batch's step is the plain mean of its
            samples' gradients times their scaled weights: with full batches, integer
            weights train as repeating each row that many times.
        reduce_lr_on_plateau : bool, ReduceOnPlateau or None, default None
            Reduce the learning rate when the watched loss stalls: True is
            ``bpcore.schedules.ReduceOnPlateau()`` (times 0.2 after 3 epochs in a row
            without a gain of 1e-4, like scikit-learn's "adaptive"), or give a rule of
            your own. Multiplies a schedule's rate. Not for Rprop or L-BFGS.

        Returns
        -------
        History
            The loss of every epoch run (``losses``), how many ran (``epochs``), why
            training stopped (``stop_reason``: "epochs", "tol", "patience", "callback" or,
            for L-BFGS, "converged" or "stalled"), the validation losses and accuracies, the
            epoch kept (``best_epoch``, ``best_loss``) and each epoch's rate and wall time
            (``lrs``, ``times``).

        Raises
        ------
        TypeError
            If an argument has the wrong type: e.g. a float `epochs`, a `shuffle` that is
            not a bool, a `callback` that is not callable, X or Y not holding real numbers.
        ValueError
            If an argument is out of range, X and Y do not fit the network (widths,
            numbers of samples, NaN or infinity, targets out of range for the loss),
            validation data do not fit it, or sample_weight is not one finite weight >= 0
            per sample, or all zero, or a schedule returns a rate that is not finite and
            > 0 in any of the epochs (all are checked before the first trains), or the
            network's parameters hold NaN or infinity (set so from outside) where the first
            epoch would start.
        DivergenceError
            If the loss, a parameter or the optimizer's state (Adam's squared gradients can
            overflow float32 while the parameters stay finite) becomes NaN or infinite in an
            epoch: the network keeps the parameters (and optimizer state and generator) from
            before that epoch; for L-BFGS, if the gradient at the start is too large to step
            along. A subclass of ValueError.
        KeyboardInterrupt
            On Ctrl-C the network gets back the parameters, optimizer state and generator
            it had at the start of the interrupted epoch, so that training on is training
            as if that epoch had not begun, and the exception is raised again with a message
            that says which epoch they are from.

        Warns
        -----
        RuntimeWarning
            If the last epoch's loss is above the first epoch's, suggesting a smaller
            learning rate.

        See Also
        --------
        step : One step on one batch, for loops of your own.
        bpcore.schedules : Learning-rate schedules.

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
        n = X.shape[0]
        weights = None if sample_weight is None else self._weights(sample_weight, n)
        validation: tuple[Floats, ...] | None = None
        if validation_data is not None:
            validation = self._validation(validation_data)
        if validation_fraction is not None and validation is not None:
            raise ValueError("give validation_data or validation_fraction, not both")
        if not isinstance(restore_best, (bool, np.bool_)):
            raise TypeError(f"restore_best must be True or False, got {restore_best!r}")
        epochs = check("epochs", epochs)
        chosen = self._optimizer(optimizer, lr, momentum, weight_decay, 0.1)
        if batch_size is not None:
            batch_size = check("batch_size", batch_size)
            if isinstance(chosen, LBFGS):
                raise ValueError(f"optimizer 'lbfgs' takes the whole data set at once; do not "
                                 f"give batch_size (got {batch_size})")
        if not isinstance(shuffle, (bool, np.bool_)):
            raise TypeError(f"shuffle must be True or False, got {shuffle!r}")
        tol = None if tol is None else check("tol", tol)
        patience = None if patience is None else check("patience", patience)
        if callback is not None:
            _check_callback(callback)
        if not isinstance(progress, (bool, np.bool_)):
            raise TypeError(f"progress must be True or False, got {progress!r}")
        plateau = self._plateau(reduce_lr_on_plateau, chosen)
        if callable(getattr(chosen, "lr", None)):
            for epoch in range(1, epochs + 1):  # a schedule fails before anything changes
                chosen.rate(epoch)
        # last, as it draws from the generator: a refused call leaves everything as it was
        if validation_fraction is not None:
            X, Y, weights, validation = self._held_out(X, Y, weights, validation_fraction)
        if batch_size is None:  # Rprop and L-BFGS are full-batch methods
            batch_size = X.shape[0] if isinstance(chosen, (Rprop, LBFGS)) else 1
        reporter = None
        if progress:
            from .progress import make_progress
            reporter = make_progress(epochs if not isinstance(chosen, LBFGS)
                                     else chosen.max_iter or epochs)
        watch: Watch = "validation" if validation is not None else "epoch"
        # Only a validation loss is the loss of an epoch's final parameters: an epoch's own
        # loss is a running mean over its steps, which would often pick worse parameters than
        # the last (and the exact loss would cost a forward pass over X per epoch)
        restore_best = bool(restore_best) and validation is not None
        run = None
        try:
            if isinstance(chosen, LBFGS):
                kept, self._state = self._state, OptimizerState("lbfgs", len(self._params),
                                                                self._dtype)
                try:
                    return minimize(_LBFGSRun(self, X, Y, weights, chosen), X, Y,
                                    max_iter=chosen.max_iter or epochs, tol=chosen.tol,
                                    history_size=chosen.history, stop_tol=tol,
                                    patience=patience, callback=callback, reporter=reporter,
                                    validation=validation, watch=watch,
                                    restore_best=restore_best, weights=weights)
                except DivergenceError:  # raised at the start, before any change
                    self._state = kept
                    raise
                except KeyboardInterrupt as interrupt:  # before any iteration: no change
                    if getattr(interrupt, "epochs", None) == 0:
                        self._state = kept
                    raise
            run = _FitRun(self, X, Y, weights, batch_size, chosen)
            advice = None
            if isinstance(chosen, Rprop):  # its lr is only a first step size
                advice = (f"full batches (batch_size >= the number of samples, Rprop's "
                          f"default; got {batch_size}) or a smaller first step lr="
                          f"{chosen.lr:g}" if batch_size < X.shape[0] else
                          f"a smaller step_max={chosen.step_max:g}, or a smaller first step "
                          f"lr={chosen.lr:g}")
            return train(run, X, Y, epochs=epochs, lr=chosen.lr, shuffle=bool(shuffle),
                         rng=self._rng, tol=tol, patience=patience, callback=callback,
                         reporter=reporter, validation=validation, watch=watch,
                         restore_best=restore_best, plateau=plateau, advice=advice,
                         momentum=chosen.momentum if isinstance(chosen, SGD) else 0.0,
                         weight_decay=_shrinking_decay(chosen))
        except DivergenceError as diverged:
            # the parameters are back where the diverged epoch started; every whole epoch
            # ends finite, so non-finite ones are where the call started
            unusable = self._unusable()
            if unusable is not None:
                raise unusable from None
            if run is None:  # L-BFGS: its message says what to do
                raise
            if data_changed(X, Y, weights):
                error = DivergenceError(f"training diverged in epoch {run.epochs}: {CHANGED}; "
                                        f"{KEPT}")
                error.history = diverged.history
                raise error from None
            # two causes no learning rate cures: an overflowed optimizer state, and a
            # gradient that overflows the dtype where the epoch started (or, in the first
            # epoch, a loss that does: before any step)
            cause = (self._state_overflowed(chosen) if run.overflowed_state
                     else self._gradient_overflow(X, Y, weights, run.epochs == 1))
            if cause is None:
                raise
            error = DivergenceError(f"training diverged in epoch {run.epochs}: {cause}; {KEPT}")
            error.history = diverged.history
            raise error from None
        finally:
            if reporter is not None:
                reporter.close()

    def reset_optimizer(self) -> None:
        """Forget the optimizer's state (velocity, moments, step sizes, step count): the next
        `fit` or `step` starts it afresh, as a new network would.

        Examples
        --------
        >>> import bpcore
        >>> net = bpcore.Network([1, 1], seed=0)
        >>> _ = net.step([[1.0]], [[0.0]], optimizer=bpcore.Adam())
        >>> net.get_state()["optimizer"]["step"]
        1.0
        >>> net.reset_optimizer()
        >>> net.get_state()["optimizer"]["name"]
        'sgd'
        """
        self._state = OptimizerState("sgd", len(self._params), self._dtype)
        self._settings_cache = None

    def _validation(self, given: object) -> tuple[Floats, ...]:
        """validation_data checked: (X_val, Y_val) or with the samples' weights, scaled."""
        if not isinstance(given, (tuple, list)) or len(given) not in (2, 3):
            what = (f"a {type(given).__name__} of length {len(given)}"
                    if isinstance(given, (tuple, list)) else type(given).__name__)
            raise TypeError(f"validation_data must be a pair (X_val, Y_val) or a triple "
                            f"(X_val, Y_val, sample_weight_val), got {what}")
        X_val, single = self._inputs(given[0], "validation_data's X")
        Y_val = self._targets(given[1], X_val.shape[0], single, "validation_data's Y",
                              "validation_data's X")
        if len(given) == 2 or given[2] is None:
            return X_val, Y_val
        return X_val, Y_val, self._weights(given[2], X_val.shape[0],
                                           "validation_data's sample_weight")

    def _plateau(self, given: object, optimizer: Optimizer) -> ReduceOnPlateau | None:
        """fit's reduce_lr_on_plateau as a rule, or None."""
        if given is None or given is False:
            return None
        rule = ReduceOnPlateau() if given is True else given
        if not isinstance(rule, ReduceOnPlateau):
            raise TypeError(f"reduce_lr_on_plateau must be True, False, None or a "
                            f"bpcore.schedules.ReduceOnPlateau, got {type(given).__name__} "
                            f"{given!r}")
        if isinstance(optimizer, (Rprop, LBFGS)):
            raise ValueError(f"reduce_lr_on_plateau does not apply to optimizer "
                             f"{optimizer.name!r}, which has no learning rate to reduce")
        return rule

    def _held_out(self, X: Floats, Y: Floats, weights: Floats | None, fraction: object
                  ) -> tuple[Floats, Floats, Floats | None, tuple[Floats, ...]]:
        """X, Y and the weights (scaled to mean 1 again) without a share `fraction` of their
        rows, and those rows."""
        try:
            share: float = check("validation_fraction", fraction)
        except ValueError:
            share = 0.0
        if share == 0:
            raise ValueError(f"validation_fraction must be a finite number in (0, 1) (None "
                             f"holds out nothing), got {fraction!r}")
        labels = None  # the classes to stratify by: one-hot rows, or the 0/1 outputs' pattern
        if self.loss_name == "cross_entropy":
            labels = Y.argmax(axis=1)
        elif self.loss_name == "binary_cross_entropy":
            labels = np.unique(Y > 0.5, axis=0, return_inverse=True)[1].reshape(-1)
        generator = self._rng.bit_generator.state
        train, held = split_rows(X.shape[0], labels, share, self._rng)
        try:
            if len(train) == 0:
                raise ValueError(f"validation_fraction={share:g} holds out all {X.shape[0]} "
                                 f"samples, leaving none to train on")
            if weights is None:
                return X[train], Y[train], None, (X[held], Y[held])
            for rows, which in ((held, "held-out"), (train, "training")):
                if not weights[rows].any():  # a few weighted samples, none drawn to one side
                    raise ValueError(
                        f"validation_fraction={share:g} drew {which} rows whose sample_weight "
                        f"are all zero ({np.count_nonzero(weights)} of {len(weights)} samples "
                        f"weigh more than zero); pass the validation rows yourself, "
                        f"validation_data=(X_val, Y_val, sample_weight_val), or weight more "
                        f"samples")
            return X[train], Y[train], self._weights(
                weights[train], len(train), "sample_weight of the training rows"), (
                X[held], Y[held], self._weights(weights[held], len(held),
                                                "sample_weight of the held-out rows"))
        except ValueError:
            self._rng.bit_generator.state = generator  # as if the call had not been made
            raise

    def explain(self, x: npt.ArrayLike, y: npt.ArrayLike, layer: int, j: int,
                k: int) -> Explanation:
        """The chain-rule factors of the gradient of ``weights[layer][j, k]`` for one sample.

        The factors are named in docs/mathematics.md's numbering, where a[0] = x and
        ``weights[layer]`` is W[l] with l = layer + 1, so layer=0 is printed as W[1]; rows
        and columns (j, k) count from 0 in both. The chain rule is dC/dW[l]_jk = dC/da[l]_j *
        da[l]_j/dz[l]_j * dz[l]_j/dW[l]_jk, where dC/da[l]_j = sum_i W[l+1]_ij delta[l+1]_i
        for a hidden layer and a[l]_j - y_j for the output under mse; for the fused losses
        the first two factors are one, a - y.

        Parameters
        ----------
        x : array_like of shape (n_in,), or (1, n_in) (one row of X)
            One sample's inputs.
        y : array_like of shape (n_out,) or (1, n_out), or a number when n_out is 1
            Its targets.
        layer : int
            Which weight matrix: ``weights[layer]``, from 0 to ``len(sizes) - 2``; the
            printout calls it W[layer + 1].
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
        x, _ = self._inputs(x, "x")
        if x.shape[0] != 1:  # one row of X is one sample too, as one row of Y is for y
            raise ValueError(f"x must be one sample (a 1-D array of {self._sizes[0]} values, "
                             f"or one row of them), got shape {x.shape}")
        try:
            y = self._targets(y, 1, True, "y", "x")
        except ValueError:
            n_out = self._sizes[-1]
            try:
                shape: tuple[int, ...] | None = np.shape(y)
            except ValueError:  # ragged nested lists: the general message names them
                shape = None
            if shape is not None and shape not in ((n_out,), (1, n_out)):
                # for one sample, not the general message about (n_samples, n_out)
                raise ValueError(f"y must be one sample's targets, a 1-D array of {n_out} "
                                 f"value{'s' if n_out > 1 else ''}, got shape {shape}") from None
            raise
        n_layers = len(self._sizes) - 1
        layer = as_int(layer, "layer", 0)
        if layer >= n_layers:
            raise ValueError(f"layer must be in [0, {n_layers - 1}], got {layer}")
        n_out, n_in = self._sizes[layer + 1], self._sizes[layer]
        j, k = as_int(j, "j", 0), as_int(k, "k", 0)
        for name, index, bound in (("j", j, n_out), ("k", k, n_in)):
            if index >= bound:
                # W[layer + 1]: docs/mathematics.md's numbering, which the printout's factor
                # names use
                raise ValueError(f"{name} must be in [0, {bound - 1}] to index W[{layer + 1}] "
                                 f"(weights[{layer}]) of shape ({n_out}, {n_in}), got "
                                 f"{name}={index}")
        A, D, grads, _ = self._backward(x, y)
        functions = [self.activation] * (n_layers - 1) + [self.output]
        return chain_rule([x] + layer_blocks(A, self._sizes, 1), layer_blocks(D, self._sizes, 1),
                          self.weights, float(layer_parameters(grads, self._sizes)[layer][0][j, k]),
                          y, functions, self.loss_name, layer, j, k)

    # ---- files ----

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the network to one .npz file (no pickle), atomically; `bpcore.load` reads it.

        The file holds the sizes, activations, loss, dtype and parameters, the optimizer's
        state (SGD's velocity, Adam's moments and step count, ...) and the state of the
        generator that shuffles in `fit`, so that the loaded network trains on exactly as
        this one would (when that generator is numpy's PCG64, the default; for another kind
        `save` warns, and the loaded network shuffles with the generator of ``seed=0``). It
        is written to a temporary file that is then renamed over `path`, so readers see the
        old file or the whole new one, and gets the permissions
        ``open(path, "w")`` would give (the umask applies; an existing file keeps its mode).

        Parameters
        ----------
        path : str or os.PathLike
            Where to write; ``.npz`` is the usual suffix (none is added).

        Raises
        ------
        ValueError
            If the weights or biases hold NaN or infinity, or the optimizer's state is one
            `bpcore.load` would refuse (it would refuse the file); if `path` is a device, pipe
            or socket, or leads through /dev or /proc (/dev/stdout: the file a stream goes
            to, which the rename would replace). Nothing is written.
        OSError
            If the file cannot be written (IsADirectoryError for a folder, and for a path that
            is empty or ends in a separator); no temporary file is left behind.

        Warns
        -----
        UserWarning
            If the network's generator is not a PCG64 one, whose state the file cannot hold.

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
        write_model(self.get_state(), path)


class LayerViews(list):  # type: ignore[type-arg]
    """Views of a network's parameter arrays, made afresh on each access (`Network.weights`
    and `biases`; transposed, the scikit-learn estimators' ``coefs_``): assigning an item
    writes into the network instead of into this throwaway list. What would change the
    list's length or order (append, pop, del, sort, ...) is a TypeError; a copy or a pickle
    of it is a plain list of arrays of its own.

    Parameters
    ----------
    name : str
        What the list is called in errors (``"weights"``, ``"coefs_"``).
    arrays : list of ndarray
        The views, one per layer.
    transpose : bool, default False
        Hold each view transposed (scikit-learn's (n_in, n_out) orientation).

    Examples
    --------
    >>> import numpy as np
    >>> import bpcore
    >>> net = bpcore.Network([2, 3, 1], seed=0)
    >>> net.weights[1] = np.ones((1, 3))
    >>> net.weights[1]
    array([[1., 1., 1.]])
    >>> net.weights[1] = np.ones(3)
    Traceback (most recent call last):
    ...
    ValueError: weights[1] must have shape (1, 3), got an array of shape (3,)
    """

    def __init__(self, name: str, arrays: list[Floats], transpose: bool = False) -> None:
        super().__init__(array.T if transpose else array for array in arrays)
        self._name = name

    def __setitem__(self, index: Any, value: Any) -> None:
        if not isinstance(index, (int, np.integer)):
            raise TypeError(f"assign one layer at a time: {self._name}[i] = array")
        view = self[index]
        array = dense(value, f"{self._name}[{index}]")  # objects that are numbers: float64
        if array.dtype.kind not in "iuf":
            raise TypeError(f"{self._name}[{index}] must hold real numbers (int or float), got "
                            f"{kind_name(array.dtype)} (dtype {array.dtype})")
        if array.shape != view.shape:
            raise ValueError(f"{self._name}[{index}] must have shape {view.shape}, got an "
                             f"array of shape {array.shape}")
        with np.errstate(over="ignore", invalid="ignore"):
            cast = array.astype(view.dtype)
        if not np.isfinite(cast).all():  # predict would give NaN, and save refuse them
            if np.isfinite(array).all():
                raise ValueError(f"{self._name}[{index}] must hold numbers within "
                                 f"{view.dtype}'s range, got {np.abs(array).max():g}")
            raise ValueError(f"{self._name}[{index}] must hold finite numbers, got NaN or "
                             f"infinity")
        view[...] = cast

    def _fixed(self, *args: Any, **kwargs: Any) -> Any:
        """Refused: the list's length and order are the network's layers (append, extend,
        insert, pop, remove, clear, sort, reverse, del, += and \\*= all come here).

        Parameters
        ----------
        *args, **kwargs
            What the list method would take.

        Returns
        -------
        None
            Never: it raises.

        Raises
        ------
        TypeError
            Always; ``weights[i] = array`` assigns a layer.

        Examples
        --------
        >>> import bpcore
        >>> bpcore.Network([2, 1]).weights.append(None)
        Traceback (most recent call last):
        ...
        TypeError: a network's weights hold one array per layer, in the layers' order, ...
        """
        raise TypeError(f"a network's {self._name} hold one array per layer, in the layers' "
                        f"order, both fixed by its sizes: assign a layer with "
                        f"{self._name}[i] = array")

    append = extend = insert = pop = remove = clear = sort = reverse = _fixed
    __delitem__ = __iadd__ = __imul__ = _fixed

    def __reduce_ex__(self, protocol: Any) -> Any:
        # copied or pickled, the views are a plain list of arrays, no longer the network's
        return list, (list(self),)

    def assign(self, values: Any) -> None:
        """Write every layer.

        Parameters
        ----------
        values : iterable of array_like
            One array per layer, each of its layer's shape.

        Examples
        --------
        >>> import numpy as np
        >>> import bpcore
        >>> net = bpcore.Network([2, 3, 1], seed=0)
        >>> net.biases.assign([np.zeros(3), [0.5]])
        >>> net.biases[1]
        array([0.5])
        """
        values = list(values)
        if len(values) != len(self):
            raise ValueError(f"{self._name} must have {len(self)} arrays, one per layer, got "
                             f"{len(values)}")
        for index, value in enumerate(values):
            self[index] = value


# what get_state gives and set_state takes
_STATE_KEYS = {"sizes", "activation", "output", "loss", "dtype", "parameters", "optimizer",
               "generator"}


class _Run:
    """What the training loops need of a network besides training it: snapshots and
    measures."""

    def __init__(self, network: Network, X: Floats, Y: Floats, weights: Floats | None,
                 optimizer: Optimizer) -> None:
        self.network, self.X, self.Y, self.optimizer = network, X, Y, optimizer
        self.weights = network._kernel_weights(weights)
        self.kernels = _backend.kernels

    def snapshot(self) -> tuple[Floats, OptimizerState | None]:
        return self.network._snapshot(self.optimizer)

    def restore(self, saved: tuple[Floats, OptimizerState | None]) -> None:
        self.network._restore(saved)

    def loss(self, X: Floats, Y: Floats, weights: Floats | None = None) -> float:
        network = self.network
        return network._loss_of(*network._forward(X), Y, weights)

    def accuracy(self, X: Floats, Y: Floats, weights: Floats | None = None) -> float | None:
        return self.network._accuracy(X, Y, weights)


class _FitRun(_Run):
    """What `bpcore.training.train` drives when `Network.fit` trains a network on X, Y."""

    def __init__(self, network: Network, X: Floats, Y: Floats, weights: Floats | None,
                 batch_size: int, optimizer: Optimizer) -> None:
        super().__init__(network, X, Y, weights, optimizer)
        self.batch_size = min(batch_size, X.shape[0])
        # Python acts on Ctrl-C only between compiled calls, so the rows go in chunks of
        # whole batches of about CHUNK_WORK parameter-samples: the same steps in the same order.
        n_params = len(network._params)
        self.chunk = max(1, CHUNK_WORK // (n_params * self.batch_size)) * self.batch_size
        self.settings = network._settings(optimizer)
        self.epochs = 0  # the calls of train_rows: the epoch each one trains
        self.overflowed_state = False  # whether the last epoch overflowed the optimizer's state

    def train_rows(self, order: Indices) -> tuple[float, bool]:
        network = self.network
        if network._state.name != self.optimizer.name:
            # a callback stepped with another kind of optimizer, or reset it: as for step,
            # that kind starts afresh (its arrays would be read as this one's), at this rate
            rate = self.settings[0]
            self.settings = network._settings(self.optimizer)
            self.settings[0] = rate
        state, settings = network._state, self.settings
        state.refresh(settings)  # the scalar state, as a rollback may have restored it
        total = 0.0
        for start in range(0, len(order), self.chunk):
            total += self.kernels.train_epoch(
                network._params, state.arrays, network._sizes_array,
                network._activation_codes, network._loss_code, self.X, self.Y, self.weights,
                order[start:start + self.chunk], self.batch_size, self.optimizer.code, settings)
            state.keep(settings)
        self.epochs += 1
        if not np.isfinite(network._params).all():
            return total, False
        if self.optimizer.changes_state() and not np.isfinite(state.arrays).all():
            # an overflowed state (Adam's v in float32): the parameters, finite, would stall
            self.overflowed_state = True
            return total, False
        return total, True

    def set_rate(self, rate: float) -> None:
        self.settings[0] = rate  # every kernel optimizer's first setting is its rate


class _LBFGSRun(_Run):
    """What `bpcore.training.minimize` drives when `Network.fit` uses L-BFGS: the objective
    (mean loss plus weight_decay / 2 * sum W^2) and its gradient in one compiled call."""

    def __init__(self, network: Network, X: Floats, Y: Floats, weights: Floats | None,
                 optimizer: LBFGS) -> None:
        super().__init__(network, X, Y, weights, optimizer)
        self.decay = np.zeros(len(network._params))  # weight_decay on weights, 0 on biases
        for w, _ in layer_parameters(self.decay, network._sizes):
            w[...] = optimizer.weight_decay
        self.point = np.empty_like(network._params)  # the parameters being evaluated
        self.grads = np.empty_like(network._params)

    def parameters(self) -> npt.NDArray[np.float64]:
        return self.network._params.astype(np.float64)

    def set_parameters(self, theta: npt.NDArray[np.float64]) -> None:
        self.network._params[...] = theta

    def objective(self, theta: npt.NDArray[np.float64]
                  ) -> tuple[float, float, npt.NDArray[np.float64]]:
        network = self.network
        self.point[...] = theta
        with np.errstate(over="ignore", invalid="ignore"):  # SciPy backs off from infinities
            total = self.kernels.loss_gradients(
                self.point, network._sizes_array, network._activation_codes, network._loss_code,
                self.X, self.Y, self.weights, self.grads)
            loss = total / self.X.shape[0]
            point = self.point.astype(np.float64)
            penalty = 0.5 * float(np.dot(self.decay * point, point))
            gradient = self.grads.astype(np.float64) + self.decay * point
        return loss + penalty, loss, gradient


def _checked_weights(sample_weight: object, n: int, name: str) -> npt.NDArray[np.float64]:
    """`sample_weight` as float64, checked: one finite weight >= 0 per sample."""
    weights = dense(sample_weight, name)
    if weights.dtype.kind not in "iuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {weights.dtype}")
    if weights.shape != (n,):
        raise ValueError(f"{name} must have one weight per sample, shape ({n},), got "
                         f"shape {weights.shape}")
    checked = weights.astype(np.float64)
    if not np.isfinite(checked).all():
        bad = np.flatnonzero(~np.isfinite(checked))
        raise ValueError(f"{name} must hold finite numbers >= 0, got {checked[bad[0]]:g} at "
                         f"sample {bad[0]}" + (f" and {len(bad) - 1} more" if len(bad) > 1
                                               else ""))
    if (checked < 0).any():
        raise ValueError(f"{name} must hold finite numbers >= 0, got values in "
                         f"[{checked.min():g}, {checked.max():g}]")
    return checked


def _described(value: object, key: str) -> object:
    """A `state[key]` value in the form Network keeps it, to compare with its own."""
    if key == "sizes":
        try:
            return tuple(int(width) for width in value)  # type: ignore[attr-defined]
        except (TypeError, ValueError):
            return value
    return value


def _generator_state(value: object) -> dict[str, Any]:
    """`state['generator']` checked: a PCG64 generator's state as numpy reports it, rebuilt
    of plain ints so that the caller's dict is not kept."""
    where = "state['generator']"
    like = ("a PCG64 generator's state like get_state()['generator']: {'bit_generator': "
            "'PCG64', 'state': {'state': int, 'inc': int}, 'has_uint32': int, 'uinteger': int}")
    if not isinstance(value, dict):
        raise TypeError(f"{where} must be {like}; got {type(value).__name__} {value!r}")
    if value.get("bit_generator") != "PCG64":
        # Network makes PCG64 generators (numpy's default); no other kind is supported
        raise ValueError(f"{where} must be {like}; got bit_generator "
                         f"{value.get('bit_generator')!r}")
    inner = value.get("state")
    if (set(value) != {"bit_generator", "state", "has_uint32", "uinteger"}
            or not isinstance(inner, dict) or set(inner) != {"state", "inc"}):
        raise ValueError(f"{where} must be {like}; got {value!r}")
    # each int and the bits it fits in
    ints = {"['state']['state']": (inner["state"], 128), "['state']['inc']": (inner["inc"], 128),
            "['has_uint32']": (value["has_uint32"], 1), "['uinteger']": (value["uinteger"], 32)}
    for name, (number, bits) in ints.items():
        if isinstance(number, bool) or not isinstance(number, (int, np.integer)):
            raise TypeError(f"{where}{name} must be an int, got {type(number).__name__} "
                            f"{number!r}")
        if not 0 <= number < 1 << bits:
            raise ValueError(f"{where}{name} must be in [0, 2**{bits}), got {number}")
    if inner["inc"] % 2 == 0:  # PCG64's increment is always odd
        raise ValueError(f"{where}['state']['inc'] must be odd, got {inner['inc']}")
    return {"bit_generator": "PCG64",
            "state": {"state": int(inner["state"]), "inc": int(inner["inc"])},
            "has_uint32": int(value["has_uint32"]), "uinteger": int(value["uinteger"])}
