"""scikit-learn compatible estimators on top of `bpcore.Network`: MLPRegressor and MLPClassifier.

This module imports without scikit-learn. The estimator protocol that scikit-learn's tools rely
on (`get_params`, `set_params`, `fit`, `predict`, `score`, `__sklearn_is_fitted__`,
`__sklearn_tags__`) is written out here rather than inherited, so the estimators work the same
with or without scikit-learn installed; only `__sklearn_tags__` (called by scikit-learn itself)
and the error and warning classes import it, lazily, when it is there. Pipelines, clone,
cross-validation, GridSearchCV and joblib's threading, loky and Dask backends all work on them.

The constructor only stores its arguments, under the names `Network.fit` uses (`lr`, `epochs`,
`batch_size`, `momentum`, `weight_decay`, `tol`, `patience`); `fit` builds a fresh network of
widths (n_features, *hidden_layer_sizes, n_outputs) and trains it. `partial_fit` makes one pass
over the data it is given and keeps the network (and its momentum) between calls.

Fitted attributes: `network_` (the `bpcore.Network`), `n_features_in_`, `n_outputs_`,
`loss_curve_` (the loss of every epoch so far), `n_iter_` (epochs run), `stop_reason_`, and
for the classifier `classes_`, for the regressor `y_mean_` and `y_scale_` (the target
standardization); `feature_names_in_` when X was a DataFrame with string columns.
"""
from __future__ import annotations

import inspect
import numbers
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import numpy.typing as npt

from .network import Network

if TYPE_CHECKING:
    from typing_extensions import Self

_E = TypeVar("_E", bound=Exception)

__all__ = ["MLPRegressor", "MLPClassifier", "NotFittedError"]


# ---- scikit-learn's exception and warning classes when it is installed, look-alikes otherwise ----

class _NotFittedError(ValueError, AttributeError):
    """Raised by predict and friends before fit (scikit-learn's NotFittedError when installed)."""


class _DataConversionWarning(UserWarning):
    """y had to be reshaped (scikit-learn's DataConversionWarning when installed)."""


def _sklearn_class(name: str, fallback: type[_E]) -> type[_E]:
    # scikit-learn's class has the fallback's bases, so it stands in for the fallback's type
    try:
        from sklearn import exceptions
    except ImportError:
        return fallback
    found: type[_E] = getattr(exceptions, name)
    return found


def __getattr__(name: str) -> type[_NotFittedError]:
    # `bpcore.sklearn.NotFittedError` is scikit-learn's class when it can be imported, so
    # `except sklearn.exceptions.NotFittedError` catches it; resolved on access, not at import
    if name == "NotFittedError":
        return _sklearn_class("NotFittedError", _NotFittedError)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# ---- input checks, with the messages scikit-learn's own estimators give ----

def _is_sparse(values: object) -> bool:
    return type(values).__module__.startswith("scipy.sparse")


def _feature_names(X: object) -> npt.NDArray[np.object_] | None:
    """The column names of a DataFrame-like X when they are all strings, else None."""
    columns = getattr(X, "columns", None)
    if columns is None or isinstance(X, np.ndarray):
        return None
    names = np.asarray(list(columns), dtype=object)
    if len(names) and all(isinstance(name, str) for name in names):
        return names
    return None


def _as_numbers(values: npt.ArrayLike | None, name: str,
                what: str) -> npt.NDArray[Any]:
    """`values` as a float64 or (for ints and bools) numeric array; TypeError/ValueError else."""
    if values is None:
        raise ValueError(f"{what} requires {name} to be passed, but the target {name} is None"
                         if name == "y" else f"Expected array-like (array or non-string "
                         f"sequence), got None for {name}")
    if _is_sparse(values):
        raise TypeError(f"Sparse data was passed for {name}, but dense data is required; "
                        f"convert it with {name}.toarray()")
    array = np.asarray(values)
    if array.dtype.kind == "c":
        raise ValueError(f"Complex data not supported: {name} has dtype {array.dtype}")
    if array.dtype.kind == "O":
        # object arrays of numbers are fine; float() of a dict or None raises the TypeError
        # "float() argument must be a string or a real number" that scikit-learn expects
        if any(isinstance(item, complex) for item in array.flat):
            raise ValueError(f"Complex data not supported: {name} holds complex numbers")
        array = array.astype(np.float64)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold numbers, got dtype {array.dtype}")
    return array


def _check_finite(array: npt.NDArray[Any], name: str) -> None:
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        kind = "NaN" if np.isnan(array).any() else "infinity"
        raise ValueError(f"Input {name} contains {kind}; {name} must be finite (no NaN or inf)")


def _check_lengths(X: npt.NDArray[Any], y: npt.NDArray[Any]) -> None:
    if len(y) != X.shape[0]:
        raise ValueError(f"Found input variables with inconsistent numbers of samples: X has "
                         f"{X.shape[0]}, y has {len(y)}")


def _check_random_state(random_state: object) -> int | np.random.SeedSequence | None:
    """A seed for numpy.random.default_rng: None, an int, a SeedSequence, or one drawn from a
    RandomState or Generator (which advances it, as scikit-learn estimators do)."""
    if random_state is None or isinstance(random_state, np.random.SeedSequence):
        return random_state
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if random_state < 0:
            raise ValueError(f"random_state must be a non-negative int, got {random_state}")
        return int(random_state)
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(np.iinfo(np.int32).max))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(np.iinfo(np.int64).max))
    raise ValueError(f"random_state must be None, an int, a numpy RandomState or Generator, "
                     f"got {random_state!r}")


def _hidden_sizes(hidden_layer_sizes: Any) -> tuple[int, ...]:
    if isinstance(hidden_layer_sizes, numbers.Integral) and not isinstance(hidden_layer_sizes,
                                                                           bool):
        hidden_layer_sizes = (hidden_layer_sizes,)
    if isinstance(hidden_layer_sizes, (str, bytes)) or not hasattr(hidden_layer_sizes, "__iter__"):
        raise TypeError(f"hidden_layer_sizes must be an int or a sequence of ints such as "
                        f"(32,) or (64, 32), got {hidden_layer_sizes!r}")
    sizes = tuple(hidden_layer_sizes)
    for width in sizes:
        if isinstance(width, bool) or not isinstance(width, numbers.Integral) or width < 1:
            raise ValueError(f"hidden_layer_sizes must hold positive ints, got "
                             f"{hidden_layer_sizes!r}")
    return tuple(int(width) for width in sizes)


# ---- the shared estimator machinery ----

class _BaseMLP:
    """What MLPRegressor and MLPClassifier share: the parameters, the estimator protocol,
    input validation and training."""

    # "regressor" / "classifier", also read by scikit-learn < 1.6
    _estimator_type: str | None = None

    # fitted attributes, set by fit and partial_fit
    network_: Network
    n_features_in_: int
    feature_names_in_: npt.NDArray[np.object_]
    n_outputs_: int
    loss_curve_: list[float]
    n_iter_: int
    stop_reason_: str | None

    def __init__(self, hidden_layer_sizes: int | Sequence[int] = (32,),
                 activation: str = "relu", lr: float = 0.01, epochs: int = 200,
                 batch_size: int = 32, momentum: float = 0.9, weight_decay: float = 0.0,
                 shuffle: bool = True, tol: float | None = None, patience: int | None = None,
                 random_state: (int | np.random.RandomState | np.random.Generator
                                | np.random.SeedSequence | None) = None,
                 dtype: str = "float64") -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.lr = lr
        self.epochs = epochs
        self.batch_size = batch_size
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.shuffle = shuffle
        self.tol = tol
        self.patience = patience
        self.random_state = random_state
        self.dtype = dtype

    # ---- the estimator protocol ----

    @classmethod
    def _get_param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return sorted(name for name, parameter in signature.parameters.items()
                      if name != "self" and parameter.kind != parameter.VAR_KEYWORD)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor's parameters as a dict (with `name__param` entries of nested
        estimators when deep).

        Parameters
        ----------
        deep : bool, default True
            Also list the parameters of parameter values that are estimators themselves
            (none are, by default), as scikit-learn does.

        Returns
        -------
        dict of str to object
            Parameter names and their current values.

        Examples
        --------
        >>> from bpcore.sklearn import MLPRegressor
        >>> params = MLPRegressor(lr=0.05).get_params()
        >>> params["lr"], params["epochs"], params["hidden_layer_sizes"]
        (0.05, 200, (32,))
        """
        params: dict[str, Any] = {}
        for name in self._get_param_names():
            value = getattr(self, name)
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                params.update((f"{name}__{key}", item)
                              for key, item in value.get_params().items())
            params[name] = value
        return params

    def set_params(self, **params: Any) -> Self:
        """Set constructor parameters (no checks until fit); returns self.

        Parameters
        ----------
        **params : object
            New values by parameter name; ``name__param`` sets a parameter of a nested
            estimator.

        Returns
        -------
        self
            The estimator, so calls can be chained.

        Raises
        ------
        ValueError
            If a name is not one of the constructor's parameters.

        Examples
        --------
        >>> from bpcore.sklearn import MLPClassifier
        >>> MLPClassifier().set_params(lr=0.1, epochs=50)
        MLPClassifier(epochs=50, lr=0.1)
        >>> MLPClassifier().set_params(learning_rate=0.1)
        Traceback (most recent call last):
            ...
        ValueError: Invalid parameter 'learning_rate' for estimator MLPClassifier(). ...
        """
        valid = self._get_param_names()
        nested: dict[str, dict[str, Any]] = {}
        for key, value in params.items():
            name, _, sub = key.partition("__")
            if name not in valid:
                raise ValueError(f"Invalid parameter {name!r} for estimator {self!r}. Valid "
                                 f"parameters are: {valid!r}.")
            if sub:
                nested.setdefault(name, {})[sub] = value
            else:
                setattr(self, name, value)
        for name, sub_params in nested.items():
            getattr(self, name).set_params(**sub_params)
        return self

    def __repr__(self) -> str:
        defaults = {name: parameter.default for name, parameter
                    in inspect.signature(type(self).__init__).parameters.items()}
        changed = []
        for name in self._get_param_names():
            value = getattr(self, name)
            default = defaults.get(name, inspect.Parameter.empty)
            same = value is default or (type(value) is type(default) and _equal(value, default))
            if not same:
                changed.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(changed)})"

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "network_")

    def __sklearn_tags__(self) -> Any:
        # called only by scikit-learn (>= 1.6), so importing it here is safe
        from sklearn.utils import InputTags, Tags, TargetTags
        return Tags(estimator_type=self._estimator_type, target_tags=TargetTags(required=True),
                    input_tags=InputTags())

    # ---- checks ----

    def _check_fitted(self) -> None:
        if not hasattr(self, "network_"):
            error = _sklearn_class("NotFittedError", _NotFittedError)
            raise error(f"This {type(self).__name__} instance is not fitted yet. Call 'fit' "
                        f"with appropriate arguments before using this estimator.")

    def _validate_X(self, X: npt.ArrayLike, reset: bool) -> npt.NDArray[np.float64]:
        """X as a 2-D finite float64 array; with reset, remember its width (and column names),
        otherwise check them against what fit saw."""
        names = _feature_names(X)
        X = _as_numbers(X, "X", type(self).__name__)
        if X.ndim != 2:
            raise ValueError(f"Expected 2D array, got {X.ndim}D array instead: X must have "
                             f"shape (n_samples, n_features). Reshape your data using "
                             f"X.reshape(-1, 1) for a single feature or X.reshape(1, -1) for "
                             f"a single sample")
        if X.shape[0] < 1:
            raise ValueError(f"Found array with 0 sample(s) (shape={X.shape}) while a minimum "
                             f"of 1 is required.")
        if X.shape[1] < 1:
            raise ValueError(f"Found array with 0 feature(s) (shape={X.shape}) while a minimum "
                             f"of 1 is required.")
        X = X.astype(np.float64, copy=False)
        _check_finite(X, "X")
        if reset:
            self.n_features_in_ = X.shape[1]
            if names is not None:
                self.feature_names_in_ = names
            elif hasattr(self, "feature_names_in_"):
                del self.feature_names_in_
        else:
            self._check_feature_names(names)
            if X.shape[1] != self.n_features_in_:
                raise ValueError(f"X has {X.shape[1]} features, but {type(self).__name__} is "
                                 f"expecting {self.n_features_in_} features as input")
        return X

    def _check_feature_names(self, names: npt.NDArray[np.object_] | None) -> None:
        fitted = getattr(self, "feature_names_in_", None)
        name = type(self).__name__
        if fitted is None and names is not None:
            warnings.warn(f"X has feature names, but {name} was fitted without feature names",
                          UserWarning, stacklevel=3)
        elif fitted is not None and names is None:
            warnings.warn(f"X does not have valid feature names, but {name} was fitted with "
                          f"feature names", UserWarning, stacklevel=3)
        elif fitted is not None and names is not None and (
                len(fitted) != len(names) or (fitted != names).any()):
            raise ValueError(f"The feature names should match those that were passed during "
                             f"fit: fitted with {list(fitted)}, got {list(names)}")

    # ---- training ----

    def _new_network(self, n_outputs: int, output: str, loss: str) -> None:
        sizes = (self.n_features_in_, *_hidden_sizes(self.hidden_layer_sizes), n_outputs)
        self.network_ = Network(sizes, activation=self.activation, output=output, loss=loss,
                                dtype=self.dtype, seed=_check_random_state(self.random_state))
        self.n_outputs_ = n_outputs
        self.loss_curve_ = []
        self.n_iter_ = 0
        self.stop_reason_ = None

    def _train(self, X: npt.NDArray[np.float64], Y: npt.NDArray[np.float64], epochs: int,
               stopping: bool = True) -> Self:
        history = self.network_.fit(
            X, Y, epochs=epochs, lr=self.lr, batch_size=self.batch_size,
            momentum=self.momentum, weight_decay=self.weight_decay, shuffle=self.shuffle,
            tol=self.tol if stopping else None, patience=self.patience if stopping else None,
            restore_best=False)  # as scikit-learn's MLPs without early stopping
        self.loss_curve_ = self.loss_curve_ + [float(loss) for loss in history.losses]
        self.n_iter_ += history.epochs
        self.stop_reason_ = history.stop_reason
        return self

    def _outputs(self, X: npt.ArrayLike) -> npt.NDArray[np.float64]:
        self._check_fitted()
        X = self._validate_X(X, reset=False)
        return self.network_.predict(X).astype(np.float64, copy=False)


def _equal(a: Any, b: Any) -> bool:
    try:
        return bool(np.all(a == b)) and np.shape(a) == np.shape(b)
    except Exception:
        return False


# ---- the estimators ----

class MLPRegressor(_BaseMLP):
    """A fully-connected network regressor trained by SGD (bpcore.Network underneath).

    Hidden layers use `activation`, the output is linear and the loss mean squared error; y may
    be 1-D or 2-D (several outputs), and predict returns the same shape. The network learns the
    standardized targets (y - y_mean_) / y_scale_, so plain SGD works whatever the targets'
    units; `loss_curve_` and `tol` are in those standardized units. Scale X yourself (e.g. a
    StandardScaler in a Pipeline). `tol` and `patience` are Network.fit's: stop once an epoch's
    loss is <= tol, or after `patience` epochs without a lower loss. `score` is R^2.

    The constructor only stores the parameters; `fit` checks them and raises TypeError or
    ValueError naming the one that is wrong.

    Parameters
    ----------
    hidden_layer_sizes : int or sequence of int, default (32,)
        Widths of the hidden layers: the network's sizes are (n_features,
        *hidden_layer_sizes, n_outputs).
    activation : {"relu", "sigmoid", "tanh", "leaky_relu", "identity"}, default "relu"
        Activation of the hidden layers (leaky_relu has slope 0.01).
    lr : float, default 0.01
        Learning rate, > 0.
    epochs : int, default 200
        The most epochs `fit` runs; `partial_fit` runs one.
    batch_size : int, default 32
        Samples per SGD step; 1 is online learning.
    momentum : float in [0, 1), default 0.9
        As in `Network.fit`: v = momentum * v - lr * (g + weight_decay * W), then W += v.
    weight_decay : float >= 0, default 0.0
        L2 penalty on the weights, not the biases, as in `Network.fit`.
    shuffle : bool, default True
        Reorder the samples every epoch, drawing from the network's generator.
    tol : float >= 0 or None, default None
        `fit` stops once an epoch's loss is <= tol.
    patience : int >= 1 or None, default None
        `fit` stops after `patience` epochs without a lower loss.
    random_state : int, RandomState, Generator, SeedSequence or None, default None
        Seed of the initial weights and the shuffling: an int makes `fit` repeatable. A
        RandomState or Generator gives a seed drawn from it (advancing it) at each fit.
    dtype : {"float32", "float64"}, default "float64"
        The network's arithmetic; predictions are float64 either way.

    Attributes
    ----------
    network_ : Network
        The trained network.
    n_features_in_ : int
        The number of features X had in fit.
    feature_names_in_ : ndarray of str
        X's column names, when X in fit was a DataFrame whose columns are all strings.
    n_outputs_ : int
        The number of targets: 1 for a 1-D y.
    loss_curve_ : list of float
        The loss of every epoch so far, in standardized units.
    n_iter_ : int
        Epochs run so far.
    stop_reason_ : str
        Why the last training stopped, as `History.stop_reason`.
    y_mean_, y_scale_ : ndarray of shape (n_outputs,)
        The targets' mean and standard deviation (1 where it is 0), from fit's y.

    See Also
    --------
    MLPClassifier : The classifier on the same network.
    bpcore.Network : The network underneath, for direct use.

    Examples
    --------
    >>> import numpy as np
    >>> from bpcore.sklearn import MLPRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(-1, 1, size=(40, 2))
    >>> y = 3 * X[:, 0] - 2 * X[:, 1] + 10
    >>> reg = MLPRegressor(hidden_layer_sizes=(16,), lr=0.05, epochs=100, batch_size=8,
    ...                    random_state=0).fit(X, y)
    >>> reg.predict(X[:3]).shape, reg.score(X, y) > 0.99, reg.n_iter_
    ((3,), True, 100)
    """

    _estimator_type = "regressor"
    _y_ndim: int
    y_mean_: npt.NDArray[np.float64]
    y_scale_: npt.NDArray[np.float64]

    def __sklearn_tags__(self) -> Any:
        from sklearn.utils import RegressorTags
        tags = super().__sklearn_tags__()
        tags.regressor_tags = RegressorTags()
        tags.target_tags.multi_output = True
        return tags

    def _validate_y(self, y: npt.ArrayLike, X: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
        y = _as_numbers(y, "y", type(self).__name__).astype(np.float64, copy=False)
        if y.ndim not in (1, 2) or (y.ndim == 2 and y.shape[1] < 1):
            raise ValueError(f"y must be 1-D (n_samples,) or 2-D (n_samples, n_outputs), got "
                             f"shape {y.shape}")
        _check_lengths(X, y)
        _check_finite(y, "y")
        return y

    def _start(self, y: npt.NDArray[np.float64]) -> None:
        """A new network for targets like y, and the target scaling taken from y."""
        self._y_ndim = y.ndim
        Y = y.reshape(len(y), -1)
        self.y_mean_ = Y.mean(axis=0)
        scale = Y.std(axis=0)
        self.y_scale_ = np.where(scale > 0, scale, 1.0)
        self._new_network(Y.shape[1], "identity", "mse")

    def _scaled(self, y: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return (y.reshape(len(y), -1) - self.y_mean_) / self.y_scale_

    def fit(self, X: npt.ArrayLike, y: npt.ArrayLike) -> Self:
        """Train a new network for `epochs` epochs (fewer if tol or patience stop it).

        Any network from an earlier fit is replaced.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
            Inputs, one sample per row: finite numbers (a DataFrame also records its
            column names).
        y : array_like of shape (n_samples,) or (n_samples, n_outputs)
            Targets, finite numbers.

        Returns
        -------
        self
            The fitted estimator.

        Raises
        ------
        ValueError
            If X is not 2-D, X or y hold NaN or infinity or have different numbers of
            samples, or a constructor parameter is out of range.
        TypeError
            If X or y are sparse or not numbers, or a constructor parameter has the wrong
            type.
        bpcore.DivergenceError
            If training diverges (lower `lr`).

        Examples
        --------
        >>> import numpy as np
        >>> from bpcore.sklearn import MLPRegressor
        >>> X = np.linspace(-1, 1, 20).reshape(-1, 1)
        >>> reg = MLPRegressor(epochs=30, random_state=0).fit(X, 2 * X[:, 0])
        >>> reg.n_iter_, len(reg.loss_curve_), reg.stop_reason_
        (30, 30, 'epochs')
        """
        X = self._validate_X(X, reset=True)
        y = self._validate_y(y, X)
        self._start(y)
        return self._train(X, self._scaled(y), self.epochs)

    def partial_fit(self, X: npt.ArrayLike, y: npt.ArrayLike) -> Self:
        """One epoch over X, y: the first call builds the network and fixes the target scaling
        from its y; later calls go on training the same network.

        The network and its momentum persist between calls; `tol` and `patience` do not
        apply.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
            Inputs, one sample per row; as many features on every call.
        y : array_like of shape (n_samples,) or (n_samples, n_outputs)
            Targets, with as many outputs on every call.

        Returns
        -------
        self
            The estimator, trained one more epoch.

        Raises
        ------
        ValueError, TypeError
            As for `fit`, and ValueError if X's features or y's outputs differ from the
            first call's.

        Examples
        --------
        >>> import numpy as np
        >>> from bpcore.sklearn import MLPRegressor
        >>> X = np.linspace(-1, 1, 20).reshape(-1, 1)
        >>> reg = MLPRegressor(random_state=0)
        >>> for _ in range(3):
        ...     reg = reg.partial_fit(X, 2 * X[:, 0])
        >>> reg.n_iter_
        3
        """
        first = not hasattr(self, "network_")
        X = self._validate_X(X, reset=first)
        y = self._validate_y(y, X)
        if first:
            self._start(y)
        elif (1 if y.ndim == 1 else y.shape[1]) != self.n_outputs_:
            raise ValueError(f"y has {1 if y.ndim == 1 else y.shape[1]} outputs, but "
                             f"{type(self).__name__} was fitted with {self.n_outputs_}")
        return self._train(X, self._scaled(y), 1, stopping=False)

    def predict(self, X: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Predicted targets: (n_samples,) if fit saw a 1-D y, else (n_samples, n_outputs).

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
            Inputs with the features fit saw.

        Returns
        -------
        ndarray of float64, shape (n_samples,) or (n_samples, n_outputs)
            The predictions, in the targets' own units.

        Raises
        ------
        NotFittedError
            Before fit (`bpcore.sklearn.NotFittedError`: scikit-learn's when installed).
        ValueError
            If X is not 2-D, not finite, or has a different number of features than in fit.

        Examples
        --------
        >>> import numpy as np
        >>> from bpcore.sklearn import MLPRegressor
        >>> X = np.linspace(-1, 1, 20).reshape(-1, 1)
        >>> Y = np.hstack([X, -X])
        >>> MLPRegressor(epochs=5, random_state=0).fit(X, Y).predict(X[:3]).shape
        (3, 2)
        """
        outputs = self._outputs(X) * self.y_scale_ + self.y_mean_
        return outputs[:, 0] if self._y_ndim == 1 else outputs

    def score(self, X: npt.ArrayLike, y: npt.ArrayLike,
              sample_weight: npt.ArrayLike | None = None) -> float:
        """R^2 of the predictions (averaged uniformly over outputs), as scikit-learn's.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
            Inputs.
        y : array_like of shape (n_samples,) or (n_samples, n_outputs)
            Their true targets.
        sample_weight : array_like of shape (n_samples,) or None, default None
            Weights of the samples; None weighs them equally.

        Returns
        -------
        float
            1 - (sum of squared residuals) / (sum of squared deviations from y's mean): 1.0
            for perfect predictions, 0.0 for always predicting the mean, lower for worse.

        Raises
        ------
        NotFittedError, ValueError
            As for `predict`.

        Examples
        --------
        >>> import numpy as np
        >>> from bpcore.sklearn import MLPRegressor
        >>> X = np.linspace(-1, 1, 20).reshape(-1, 1)
        >>> reg = MLPRegressor(lr=0.05, epochs=200, batch_size=4, random_state=0)
        >>> reg.fit(X, 2 * X[:, 0]).score(X, 2 * X[:, 0]) > 0.99
        True
        """
        predicted = self.predict(X)
        y = np.asarray(y, dtype=np.float64)
        if y.ndim == 1:
            y, predicted = y.reshape(-1, 1), predicted.reshape(-1, 1)
        weights = None if sample_weight is None else np.asarray(sample_weight, np.float64)
        residual = np.average((y - predicted) ** 2, axis=0, weights=weights)
        total = np.average((y - np.average(y, axis=0, weights=weights)) ** 2, axis=0,
                           weights=weights)
        with np.errstate(divide="ignore", invalid="ignore"):
            r2 = np.where(total > 0, 1 - residual / np.where(total > 0, total, 1),
                          np.where(residual == 0, 1.0, 0.0))
        return float(np.mean(r2))


class MLPClassifier(_BaseMLP):
    """A fully-connected network classifier trained by SGD (bpcore.Network underneath).

    Two classes: one sigmoid output unit with binary cross-entropy; more: a softmax output with
    cross-entropy. Labels may be any sortable values (ints, strings, ...); `classes_` holds them
    sorted. `tol` and `patience` are Network.fit's (on the training loss). `score` is accuracy.

    The constructor only stores the parameters; `fit` checks them and raises TypeError or
    ValueError naming the one that is wrong.

    Parameters
    ----------
    hidden_layer_sizes : int or sequence of int, default (32,)
        Widths of the hidden layers: the network's sizes are (n_features,
        *hidden_layer_sizes, 1 for two classes or n_classes).
    activation : {"relu", "sigmoid", "tanh", "leaky_relu", "identity"}, default "relu"
        Activation of the hidden layers (leaky_relu has slope 0.01).
    lr : float, default 0.01
        Learning rate, > 0.
    epochs : int, default 200
        The most epochs `fit` runs; `partial_fit` runs one.
    batch_size : int, default 32
        Samples per SGD step; 1 is online learning.
    momentum : float in [0, 1), default 0.9
        As in `Network.fit`: v = momentum * v - lr * (g + weight_decay * W), then W += v.
    weight_decay : float >= 0, default 0.0
        L2 penalty on the weights, not the biases, as in `Network.fit`.
    shuffle : bool, default True
        Reorder the samples every epoch, drawing from the network's generator.
    tol : float >= 0 or None, default None
        `fit` stops once an epoch's loss is <= tol.
    patience : int >= 1 or None, default None
        `fit` stops after `patience` epochs without a lower loss.
    random_state : int, RandomState, Generator, SeedSequence or None, default None
        Seed of the initial weights and the shuffling: an int makes `fit` repeatable. A
        RandomState or Generator gives a seed drawn from it (advancing it) at each fit.
    dtype : {"float32", "float64"}, default "float64"
        The network's arithmetic; probabilities are float64 either way.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels, sorted.
    network_ : Network
        The trained network.
    n_features_in_ : int
        The number of features X had in fit.
    feature_names_in_ : ndarray of str
        X's column names, when X in fit was a DataFrame whose columns are all strings.
    n_outputs_ : int
        The network's outputs: 1 for two classes, else n_classes.
    loss_curve_ : list of float
        The loss of every epoch so far.
    n_iter_ : int
        Epochs run so far.
    stop_reason_ : str
        Why the last training stopped, as `History.stop_reason`.

    See Also
    --------
    MLPRegressor : The regressor on the same network.
    bpcore.Network : The network underneath, for direct use.

    Examples
    --------
    >>> import numpy as np
    >>> from bpcore.sklearn import MLPClassifier
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0], [4.0], [5.0]])
    >>> y = np.array(["low", "low", "low", "high", "high", "high"])
    >>> clf = MLPClassifier(hidden_layer_sizes=(8,), lr=0.1, epochs=100,
    ...                     random_state=0).fit(X, y)
    >>> clf.classes_
    array(['high', 'low'], dtype='<U4')
    >>> clf.predict([[0.5], [4.5]])
    array(['low', 'high'], dtype='<U4')
    >>> clf.score(X, y)
    1.0
    """

    _estimator_type = "classifier"
    classes_: npt.NDArray[Any]

    def __sklearn_tags__(self) -> Any:
        from sklearn.utils import ClassifierTags
        tags = super().__sklearn_tags__()
        tags.classifier_tags = ClassifierTags()
        return tags

    def _validate_y(self, y: npt.ArrayLike, X: npt.NDArray[Any]) -> npt.NDArray[Any]:
        """y as a 1-D array of class labels; continuous or multi-column targets are refused."""
        name = type(self).__name__
        if y is None:
            raise ValueError(f"{name} requires y to be passed, but the target y is None")
        if _is_sparse(y):
            raise TypeError("Sparse data was passed for y, but dense class labels are required")
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            warnings.warn("A column-vector y was passed when a 1d array was expected. Please "
                          "change the shape of y to (n_samples,), for example using ravel().",
                          _sklearn_class("DataConversionWarning", _DataConversionWarning),
                          stacklevel=3)
            y = y[:, 0]
        if y.ndim != 1:
            raise ValueError(f"y should be a 1d array of class labels, got an array of shape "
                             f"{y.shape} instead")
        _check_lengths(X, y)
        if y.dtype.kind == "c":
            raise ValueError("Complex data not supported: y holds complex numbers")
        if y.dtype.kind == "O":
            kinds = {("text" if isinstance(item, str) else
                      "number" if isinstance(item, numbers.Real) else "other") for item in y}
            if kinds == {"number"}:
                y = y.astype(np.float64)
            elif kinds != {"text"}:
                raise ValueError(f"Unknown label type: y mixes {' and '.join(sorted(kinds))} "
                                 f"labels; use labels of one kind (ints or strings)")
        if y.dtype.kind == "f":
            _check_finite(y, "y")
            if (y != np.round(y)).any():
                raise ValueError("Unknown label type: continuous. A classifier needs class "
                                 "labels; for continuous targets use MLPRegressor")
        return y

    def _targets(self, y: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
        """y as network targets: a 0/1 column for two classes, one-hot rows for more."""
        index = np.searchsorted(self.classes_, y)
        index = np.clip(index, 0, len(self.classes_) - 1)
        unknown = self.classes_[index] != y
        if unknown.any():
            raise ValueError(f"y holds labels not in classes_ {self.classes_.tolist()}: "
                             f"{np.unique(y[unknown]).tolist()}")
        if len(self.classes_) == 2:
            return index.astype(np.float64)
        return np.eye(len(self.classes_))[index]

    def _start(self, classes: npt.NDArray[Any]) -> None:
        classes = np.unique(classes)
        if len(classes) < 2:
            raise ValueError(f"{type(self).__name__} needs at least 2 classes, got 1 class: "
                             f"{classes.tolist()}")
        self.classes_ = classes
        if len(classes) == 2:
            self._new_network(1, "sigmoid", "binary_cross_entropy")
        else:
            self._new_network(len(classes), "softmax", "cross_entropy")

    def fit(self, X: npt.ArrayLike, y: npt.ArrayLike) -> Self:
        """Train a new network for `epochs` epochs (fewer if tol or patience stop it).

        Any network from an earlier fit is replaced; `classes_` are the labels in y.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
            Inputs, one sample per row: finite numbers (a DataFrame also records its
            column names).
        y : array_like of shape (n_samples,)
            Class labels (ints, strings, ...), at least 2 different ones.

        Returns
        -------
        self
            The fitted estimator.

        Raises
        ------
        ValueError
            If X is not 2-D or not finite, y is not 1-D, continuous or has one class, their
            numbers of samples differ, or a constructor parameter is out of range.
        TypeError
            If X or y are sparse or X is not numbers, or a constructor parameter has the
            wrong type.
        bpcore.DivergenceError
            If training diverges (lower `lr`).

        Examples
        --------
        >>> import numpy as np
        >>> from bpcore.sklearn import MLPClassifier
        >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
        >>> clf = MLPClassifier(hidden_layer_sizes=8, lr=0.1, epochs=300, random_state=0)
        >>> clf.fit(X, [0, 1, 2, 1]).score(X, [0, 1, 2, 1])
        1.0
        >>> clf.network_.sizes, clf.network_.output
        ((2, 8, 3), 'softmax')
        """
        X = self._validate_X(X, reset=True)
        y = self._validate_y(y, X)
        self._start(y)
        return self._train(X, self._targets(y), self.epochs)

    def partial_fit(self, X: npt.ArrayLike, y: npt.ArrayLike,
                    classes: Sequence[Any] | npt.NDArray[Any] | None = None) -> Self:
        """One epoch over X, y. The first call needs `classes`, every label that will ever
        occur; later calls go on training the same network.

        The network and its momentum persist between calls; `tol` and `patience` do not
        apply.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
            Inputs, one sample per row; as many features on every call.
        y : array_like of shape (n_samples,)
            Class labels, each one of `classes`.
        classes : array_like of shape (n_classes,) or None, default None
            Every label there will be (at least 2): required on the first call; on later
            calls None or the same labels.

        Returns
        -------
        self
            The estimator, trained one more epoch.

        Raises
        ------
        ValueError
            If `classes` is missing on the first call or differs later, y holds a label not
            in it, or as for `fit`.
        TypeError
            As for `fit`.

        Examples
        --------
        >>> import numpy as np
        >>> from bpcore.sklearn import MLPClassifier
        >>> clf = MLPClassifier(random_state=0)
        >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
        >>> clf = clf.partial_fit(X, ["a", "b", "a", "b"], classes=["a", "b", "c"])
        >>> clf = clf.partial_fit(X, ["c", "c", "a", "b"])
        >>> clf.classes_.tolist(), clf.n_iter_
        (['a', 'b', 'c'], 2)
        """
        first = not hasattr(self, "network_")
        if first and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit")
        X = self._validate_X(X, reset=first)
        y = self._validate_y(y, X)
        if first:
            assert classes is not None  # checked above; tells the type checker
            self._start(self._validate_y(np.asarray(classes), np.empty((len(classes), 0))))
        elif classes is not None and not _equal(np.unique(classes), self.classes_):
            raise ValueError(f"classes={np.unique(classes).tolist()} is not the same as on the "
                             f"first call to partial_fit: {self.classes_.tolist()}")
        return self._train(X, self._targets(y), 1, stopping=False)

    def predict_proba(self, X: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Probability of each class in `classes_` order, shape (n_samples, n_classes).

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
            Inputs with the features fit saw.

        Returns
        -------
        ndarray of float64, shape (n_samples, n_classes)
            Each row sums to 1.

        Raises
        ------
        NotFittedError
            Before fit (`bpcore.sklearn.NotFittedError`: scikit-learn's when installed).
        ValueError
            If X is not 2-D, not finite, or has a different number of features than in fit.

        Examples
        --------
        >>> import numpy as np
        >>> from bpcore.sklearn import MLPClassifier
        >>> X = np.array([[0.0], [1.0], [4.0], [5.0]])
        >>> clf = MLPClassifier(epochs=20, random_state=0).fit(X, ["no", "no", "yes", "yes"])
        >>> proba = clf.predict_proba(X)
        >>> proba.shape, bool(np.allclose(proba.sum(axis=1), 1))
        ((4, 2), True)
        """
        outputs = self._outputs(X)
        if len(self.classes_) == 2:
            return np.hstack([1 - outputs, outputs])
        return outputs

    def predict(self, X: npt.ArrayLike) -> npt.NDArray[Any]:
        """The most probable class of each sample.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
            Inputs with the features fit saw.

        Returns
        -------
        ndarray of shape (n_samples,)
            Labels from `classes_`, of their dtype.

        Raises
        ------
        NotFittedError
            Before fit (`bpcore.sklearn.NotFittedError`: scikit-learn's when installed).
        ValueError
            If X is not 2-D, not finite, or has a different number of features than in fit.

        Examples
        --------
        >>> import numpy as np
        >>> from bpcore.sklearn import MLPClassifier
        >>> X = np.array([[0.0], [1.0], [4.0], [5.0]])
        >>> clf = MLPClassifier(lr=0.1, epochs=100, random_state=0)
        >>> clf.fit(X, [0, 0, 1, 1]).predict([[0.5], [4.5]])
        array([0, 1])
        """
        self._check_fitted()
        predicted: npt.NDArray[Any] = self.classes_[np.argmax(self.predict_proba(X), axis=1)]
        return predicted

    def score(self, X: npt.ArrayLike, y: npt.ArrayLike,
              sample_weight: npt.ArrayLike | None = None) -> float:
        """Accuracy: the (weighted) fraction of samples whose class is predicted right.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
            Inputs.
        y : array_like of shape (n_samples,)
            Their true labels.
        sample_weight : array_like of shape (n_samples,) or None, default None
            Weights of the samples; None weighs them equally.

        Returns
        -------
        float
            From 0.0 to 1.0.

        Raises
        ------
        NotFittedError, ValueError
            As for `predict`.

        Examples
        --------
        >>> import numpy as np
        >>> from bpcore.sklearn import MLPClassifier
        >>> X = np.array([[0.0], [1.0], [4.0], [5.0]])
        >>> clf = MLPClassifier(lr=0.1, epochs=100, random_state=0).fit(X, [0, 0, 1, 1])
        >>> clf.score(X, [0, 0, 1, 1]), clf.score(X, [0, 0, 1, 1], sample_weight=[0, 0, 0, 1])
        (1.0, 1.0)
        """
        right = self.predict(X) == np.asarray(y).reshape(-1)
        weights = None if sample_weight is None else np.asarray(sample_weight, np.float64)
        return float(np.average(right, weights=weights))
