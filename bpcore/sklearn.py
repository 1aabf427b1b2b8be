"""scikit-learn's MLPClassifier and MLPRegressor on bpcore's compiled kernels: change one import.

``from bpcore.sklearn import MLPClassifier`` instead of ``from sklearn.neural_network import
MLPClassifier``: the same constructor parameters with the same defaults and meanings, the same
fitted attributes, methods, warnings and exceptions, and the same numbers. Given the same
random_state, the initial weights are drawn with scikit-learn's generator calls and Glorot
bounds, the rows are shuffled and split with its calls, and every update is its update (SGD
with its momentum, Adam with its epsilon, its L2 scaling by each batch's weight sum), so that in
float64 the fitted ``coefs_`` agree with scikit-learn's to rounding, and ``n_iter_`` is the same.
Each epoch runs in one compiled call (`bpcore.Network.train_epoch`); L-BFGS runs SciPy's
L-BFGS-B, as scikit-learn does, on bpcore's compiled gradients.

One parameter is added: ``dtype``, 'float64' (default) or 'float32', the precision the network
computes in. scikit-learn follows X's dtype instead; a float32 X with the default dtype is
computed in float64 here.

Differences, on purpose: negative sample weights, negative targets under ``loss='poisson'``
and ``momentum=1`` are refused (ValueError; scikit-learn accepts them, the last two giving NaN
or a velocity that never decays), as is a warm start or partial_fit after the regressor's
loss changed (scikit-learn trains its fitted output layer under the new loss). Besides, a
mini-batch whose sample weights are all zero takes no step (scikit-learn raises
ZeroDivisionError), and sparse X is accepted and made dense.

This module needs scikit-learn (``pip install "bpcore[sklearn]"``). `from_sklearn` and
`to_sklearn` convert fitted estimators both ways.
"""
from __future__ import annotations

import contextlib
import copy
import os
import threading
import warnings
from collections.abc import Callable
from itertools import chain
from typing import Any

import numpy as np
import numpy.typing as npt

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, _fit_context
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import accuracy_score, r2_score
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier as _SklearnClassifier
    from sklearn.neural_network import MLPRegressor as _SklearnRegressor
    from sklearn.preprocessing import LabelBinarizer
    from sklearn.utils import check_random_state, shuffle
    from sklearn.utils._param_validation import StrOptions
    from sklearn.utils.metaestimators import available_if
    from sklearn.utils.multiclass import (_check_partial_fit_first_call, type_of_target,
                                          unique_labels)
    from sklearn.utils.optimize import _check_optimize_result
    from sklearn.utils.validation import (_check_sample_weight, check_is_fitted, column_or_1d,
                                          validate_data)
except ImportError as error:  # pragma: no cover - the test extra installs scikit-learn
    raise ImportError(f"bpcore.sklearn needs scikit-learn >= 1.7 (pip install "
                      f"'bpcore[sklearn]'): {error}") from error

from ._layout import parameter_count
from ._spec import MAX_WIDTH
from .network import LayerViews, Network
from .optim import SGD, Adam

__all__ = ["MLPClassifier", "MLPRegressor", "from_sklearn", "to_sklearn"]

# scikit-learn's activation names -> bpcore's
_ACTIVATIONS = {"identity": "identity", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu"}
# scikit-learn's out_activation_ -> bpcore's output activation and loss
_HEADS = {"identity": ("identity", "mse"), "exp": ("exp", "poisson"),
          "logistic": ("sigmoid", "binary_cross_entropy"), "softmax": ("softmax", "cross_entropy")}
# the fitted attributes from_sklearn and to_sklearn carry over, where present
_FITTED = ("n_features_in_", "feature_names_in_", "n_outputs_", "n_layers_", "out_activation_",
           "classes_", "loss_", "best_loss_", "loss_curve_", "validation_scores_",
           "best_validation_score_", "n_iter_", "t_", "_label_binarizer",
           "_no_improvement_count")


# What scikit-learn's stochastic optimizer is made with at the start of fit (and of the first
# partial_fit): later partial_fit calls keep these, but read alpha afresh.
_OPTIMIZER_SETTINGS = ("solver", "learning_rate", "learning_rate_init", "power_t", "momentum",
                       "nesterovs_momentum", "beta_1", "beta_2", "epsilon")


class _OneBlasThread:
    """BLAS held to one thread while any stochastic fit runs: counted, so that concurrent fits
    in threads give the process its own limits back only when the last one ends. (OpenBLAS
    ignores a limit set from a thread other than the main one once a limit was set and lifted
    in the process, measured with 0.3.31: fits in threads may then keep its threads.)"""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.users = 0
        self.limits: Any = None
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._after_fork_in_child)

    def __enter__(self) -> None:
        from threadpoolctl import threadpool_limits
        with self.lock:
            if self.users == 0:  # finding the loaded libraries takes about 2 ms
                self.limits = threadpool_limits(limits=1, user_api="blas")
            self.users += 1

    def __exit__(self, *exception: object) -> None:
        with self.lock:
            if self.users == 0:  # a child forked inside a fit: its limits are back already
                return
            self.users -= 1
            if self.users == 0:
                self.limits.restore_original_limits()

    def _after_fork_in_child(self) -> None:
        # A child forked while another thread held the lock (a fit setting or lifting the
        # limit) would wait for it forever, and one forked while fits ran would keep BLAS on
        # one thread: the fits' threads do not exist in the child.
        self.lock = threading.Lock()
        if self.users and self.limits is not None:
            with contextlib.suppress(Exception):  # best effort: the libraries' state is theirs
                self.limits.restore_original_limits()
        self.users = 0


_ONE_BLAS_THREAD = _OneBlasThread()
_ONE_THREAD_WORK = 1_000_000  # rows times parameters of an epoch from which the limit is set


class _BaseMLP(BaseEstimator):
    """What MLPClassifier and MLPRegressor share: initialisation, the solvers, prediction."""

    _parameter_constraints: dict[str, list[Any]] = {
        **_SklearnRegressor._parameter_constraints,
        "dtype": [StrOptions({"float64", "float32"})],
    }

    # ---- fitted weights: views of the network's parameters in scikit-learn's orientation

    @property
    def coefs_(self) -> LayerViews:
        """Each layer's weights, shape (n_in, n_out): views of `network_`'s (transposed);
        ``coefs_[i] = W`` (W of that layer's shape exactly) writes W into the network, and
        so does ``coefs_ = [W0, W1, ...]``."""
        return LayerViews("coefs_", self._network().weights, transpose=True)

    @coefs_.setter
    def coefs_(self, coefs: list[npt.ArrayLike]) -> None:
        self.coefs_.assign(coefs)

    @property
    def intercepts_(self) -> LayerViews:
        """Each layer's biases, shape (n_out,): views of `network_`'s;
        ``intercepts_[i] = b`` and ``intercepts_ = [b0, b1, ...]`` write into it, as
        `coefs_`."""
        return LayerViews("intercepts_", self._network().biases)

    @intercepts_.setter
    def intercepts_(self, intercepts: list[npt.ArrayLike]) -> None:
        self.intercepts_.assign(intercepts)

    def _network(self) -> Network:
        if "network_" not in vars(self):
            raise AttributeError(f"This {type(self).__name__} instance is not fitted yet: it "
                                 f"has no coefs_ or intercepts_")
        network: Network = self.network_
        return network

    def __setstate__(self, state: dict[str, Any]) -> None:
        if "network_" in state and "n_layers_" not in state:
            # pickled by bpcore before the drop-in estimators: other parameters, and the old
            # regressor predicted through target scaling that this one does not know
            raise ValueError(f"this {type(self).__name__} was pickled by an earlier bpcore, "
                             f"whose estimators had other parameters (lr, epochs) and state; "
                             f"it cannot be loaded as the drop-in estimator: fit it again")
        super().__setstate__(state)

    def __sklearn_is_fitted__(self) -> bool:
        return "network_" in vars(self)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    # ---- fit

    def _fit(self, X: Any, y: Any, sample_weight: Any = None, incremental: bool = False) -> Any:
        hidden = self.hidden_layer_sizes
        several = hasattr(hidden, "__iter__")
        hidden = list(hidden) if several else [hidden]
        if any(size <= 0 for size in hidden
               if isinstance(size, (int, float, np.integer, np.floating))):
            raise ValueError(f"hidden_layer_sizes must be > 0, got {hidden}.")
        for i, size in enumerate(hidden):
            name = f"hidden_layer_sizes[{i}]" if several else "hidden_layer_sizes"
            if isinstance(size, (bool, np.bool_)) or not isinstance(size, (int, np.integer)):
                raise TypeError(f"{name} must be a whole number of units, got {size!r}")
            if size > MAX_WIDTH:
                raise ValueError(f"{name} must be at most {MAX_WIDTH} units in bpcore, got "
                                 f"{size}")
        first_pass = "network_" not in vars(self) or (not self.warm_start and not incremental)
        if self.solver == "sgd" and self.momentum >= 1:
            raise ValueError(f"momentum must be below 1 in bpcore.sklearn (a velocity that "
                             f"never decays), got {self.momentum}")
        if not first_pass:  # before anything is validated (and set) for this pass
            self._check_same_output()
        X, y = self._validate_input(X, y, incremental, reset=first_pass)
        if self.loss == "poisson" and (y < 0).any():
            raise ValueError(f"y must be >= 0 for loss='poisson' (counts or rates), got "
                             f"values down to {y.min():g}")
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
            if (sample_weight < 0).any():
                raise ValueError(f"sample_weight must be >= 0 in bpcore.sklearn, got "
                                 f"{sample_weight.min():g}")
            with np.errstate(over="ignore"):
                total = sample_weight.sum()
            if not np.isfinite(total):  # the weighted losses' mean would be 0: no training
                raise ValueError(f"sample_weight sums past float64's range; only the weights' "
                                 f"ratios matter: divide them by their largest, "
                                 f"{sample_weight.max():g}")
        X = np.ascontiguousarray(X.toarray() if hasattr(X, "toarray") else X, dtype=self.dtype)
        Y = y.reshape(-1, 1) if y.ndim == 1 else y
        finite = np.ones(1, dtype=bool)  # float64 y: validated finite already
        if self.dtype == "float32" and Y.dtype != np.float32:
            with np.errstate(over="ignore"):
                finite = np.isfinite(Y.astype(np.float32))
        if not finite.all():  # finite in float64, beyond float32's range
            at = tuple(int(i) for i in np.argwhere(~finite)[0][:y.ndim])
            raise ValueError(f"y must be finite in {self.dtype}, the estimator's dtype, but "
                             f"y[{', '.join(map(str, at))}] = {float(y[at]):g} is beyond its "
                             f"range: scale y, or use dtype='float64'")
        fitted = self._network().sizes[-1] if not first_pass else Y.shape[1]
        if Y.shape[1] != fitted:
            outputs = "output" if Y.shape[1] == 1 else "outputs"
            raise ValueError(f"y has {Y.shape[1]} {outputs}, but the fitted network has "
                             f"{fitted}: a warm start or partial_fit trains it on; fit with "
                             f"warm_start=False for a new one")
        self.n_outputs_ = Y.shape[1]
        self._random_state = check_random_state(self.random_state)
        if first_pass:
            self._initialize(Y, [X.shape[1]] + hidden + [self.n_outputs_])
        else:
            self._follow_parameters()
        if self.solver == "lbfgs":
            self._fit_lbfgs(X, Y, sample_weight)
        else:
            self._fit_stochastic(X, Y, sample_weight, incremental)
        if not all(np.isfinite(array).all() for array in chain(self._network().weights,
                                                                self._network().biases)):
            raise ValueError("Solver produced non-finite parameter weights. The input data may"
                             " contain large values and need to be preprocessed.")
        return self

    def _initialize(self, Y: npt.NDArray[Any], units: list[int]) -> None:
        """A new network with scikit-learn's initial weights: for each layer, coef then
        intercept drawn uniformly in +-sqrt(factor / (fan_in + fan_out)) from its generator."""
        self.n_iter_, self.t_ = 0, 0
        self.n_layers_ = len(units)
        if not self._is_classifier():
            self.out_activation_ = "exp" if self.loss == "poisson" else "identity"
        elif self._label_binarizer.y_type_ == "multiclass":
            self.out_activation_ = "softmax"
        else:
            self.out_activation_ = "logistic"
        output, loss = _HEADS[self.out_activation_]
        network = Network(units, activation=_ACTIVATIONS[self.activation], output=output,
                          loss=loss, dtype=self.dtype, seed=0)
        factor = 2.0 if self.activation == "logistic" else 6.0
        for weights, biases in zip(network.weights, network.biases):
            fan_out, fan_in = weights.shape
            bound = np.sqrt(factor / (fan_in + fan_out))
            weights[...] = self._random_state.uniform(-bound, bound, (fan_in, fan_out)).T
            biases[...] = self._random_state.uniform(-bound, bound, fan_out)
        self.network_ = network
        self._best: list[npt.NDArray[Any]] | None = self._parameters()
        if self.solver != "lbfgs":
            self.loss_curve_: Any = []
            self._no_improvement_count = 0
            if self.early_stopping:
                # Any: None or a list / number, as scikit-learn's (a warm start that turns
                # early stopping on or off then fails as there)
                self.validation_scores_: Any = []
                self.best_validation_score_: Any = -np.inf
                self.best_loss_: Any = None
            else:
                self.best_loss_ = np.inf
                self.validation_scores_ = None
                self.best_validation_score_ = None

    def _check_same_output(self) -> None:
        """A warm start or partial_fit trains the fitted output layer on: refused when the
        regressor's loss now needs another one."""
        if not self._is_classifier():
            output = "exp" if self.loss == "poisson" else "identity"
            if output != self.out_activation_:
                raise ValueError(f"loss={self.loss!r} needs an {output} output and the fitted "
                                 f"network has an {self.out_activation_} one: a warm start "
                                 f"or partial_fit trains the fitted network on; fit with "
                                 f"warm_start=False for a new one")

    def _follow_parameters(self) -> None:
        """A warm start after set_params(activation=...) or (dtype=...) trains on with the new
        one from the same weights, as scikit-learn (which reads activation at each pass)."""
        self.network_ = self._following()

    def _following(self) -> Network:
        """The fitted network, or after set_params(activation=...) or (dtype=...) a new one
        with them and its weights: predict computes with it (as scikit-learn reads
        activation at each pass) and leaves the fitted model as it is."""
        old = self._network()
        activation = _ACTIVATIONS[self.activation]
        if old.activation == activation and old.dtype == np.dtype(self.dtype):
            return old
        state = old.get_state()
        network = Network(old.sizes, activation=activation, output=old.output,
                          loss=old.loss_name, dtype=self.dtype, seed=0)
        network.set_state({"parameters": state["parameters"], "optimizer": state["optimizer"]})
        return network

    def _parameters(self) -> list[npt.NDArray[Any]]:
        """A copy of the weights and biases, layer by layer."""
        network = self._network()
        return [array.copy() for array in chain(network.weights, network.biases)]

    def _set_parameters(self, saved: list[npt.NDArray[Any]]) -> None:
        network = self._network()
        for array, value in zip(chain(network.weights, network.biases), saved, strict=True):
            array[...] = value

    def _data_loss(self, loss: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """bpcore's mean loss as scikit-learn reports it: its squared error is also averaged
        over the outputs (its gradient is not: it is the gradient of bpcore's)."""
        return loss / self.n_outputs_ if self.out_activation_ == "identity" else loss

    def _fit_stochastic(self, X: npt.NDArray[Any], Y: npt.NDArray[Any],
                        sample_weight: npt.NDArray[np.float64] | None,
                        incremental: bool) -> None:
        network = self._network()
        if not incremental or not hasattr(self, "_learning_rate"):
            network.reset_optimizer()  # velocities, moments and step count start afresh
            self._learning_rate = float(self.learning_rate_init)
            # the settings scikit-learn's optimizer object is made with here, and keeps
            # through later partial_fit calls whatever set_params changes in between
            self._settings = {name: getattr(self, name) for name in _OPTIMIZER_SETTINGS}
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        rows = np.arange(X.shape[0])
        early_stopping = self.early_stopping
        if early_stopping:
            stratify = Y if self._is_classifier() and self.n_outputs_ == 1 else None
            rows, validation = train_test_split(rows, random_state=self._random_state,
                                                test_size=self.validation_fraction,
                                                stratify=stratify)
            if len(validation) < 2:
                raise ValueError("The validation set is too small. Increase "
                                 "'validation_fraction' or the size of your dataset.")
            X_val, y_val = X[validation], self._labels(Y[validation])
            weight_val = None if sample_weight is None else sample_weight[validation]
        n = len(rows)
        if self.batch_size == "auto":
            batch_size = min(200, n)
        else:
            if self.batch_size > n:
                warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is "
                              "going to be clipped")
            batch_size = int(np.clip(self.batch_size, 1, n))
        batch_rows = np.diff(np.append(np.arange(0, n, batch_size), n))
        targets = Y.astype(self.dtype)
        order = np.arange(n)
        # Mini-batch products are too small for BLAS threads to pay off, and where the other
        # cores are busy their spinning made fits many times slower (measured: 11 s instead
        # of 0.3 s with two busy processes on 2 cores); one thread was as fast on an idle
        # machine (digits and a 20,000-row set, sgd and adam).
        # (not for a small partial_fit, whose products are single-threaded anyway and for which
        # the 2 ms the limit takes would be most of the call)
        limit = n * parameter_count(network.sizes) >= _ONE_THREAD_WORK
        if limit:
            _ONE_BLAS_THREAD.__enter__()
        try:
            self.n_iter_ = 0
            for _ in range(self.max_iter):
                if self.shuffle:  # composed onto the last order, as scikit-learn does
                    order = shuffle(order, random_state=self._random_state)
                records = network.train_epoch(X, targets, self._optimizer(), order=rows[order],
                                              batch_size=batch_size,
                                              sample_weight=sample_weight,
                                              summed_penalty=True, clipped_loss=True)
                self._end_epoch(records, batch_rows, n)
                if early_stopping:
                    score = self._validation_score(X_val, y_val, weight_val)
                    self._count_validation(score)
                else:
                    self._count_loss()
                settings = self._settings
                if settings["solver"] == "sgd" and settings["learning_rate"] == "invscaling":
                    self._change_rate(settings["learning_rate_init"]
                                      / (self.t_ + 1) ** settings["power_t"])
                if self._no_improvement_count > self.n_iter_no_change:
                    if self._stops(early_stopping):
                        break
                    self._no_improvement_count = 0
                if incremental:
                    break
                if self.n_iter_ == self.max_iter:
                    warnings.warn(f"Stochastic Optimizer: Maximum iterations ({self.max_iter})"
                                  f" reached and the optimization hasn't converged yet.",
                                  ConvergenceWarning)
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.")
        finally:
            if limit:
                _ONE_BLAS_THREAD.__exit__()
        if early_stopping:
            if self._best is not None:
                self._set_parameters(self._best)
            # as in scikit-learn, the best weights are now the fitted ones themselves: a
            # warm-started fit that never beats the best score keeps its last weights
            self._best = None

    def _optimizer(self) -> SGD | Adam:
        """The step's optimizer: `_settings` (kept across partial_fit calls) and alpha (read
        afresh, as scikit-learn's loss and gradient do)."""
        settings = self._settings
        if settings["solver"] == "adam":
            return Adam(lr=float(settings["learning_rate_init"]),
                        beta1=float(settings["beta_1"]), beta2=float(settings["beta_2"]),
                        eps=float(settings["epsilon"]), weight_decay=float(self.alpha),
                        eps_hat=True)
        momentum = float(settings["momentum"])
        return SGD(lr=self._learning_rate, momentum=momentum,
                   nesterov=bool(settings["nesterovs_momentum"]) and momentum > 0,
                   weight_decay=float(self.alpha))

    def _change_rate(self, rate: float) -> None:
        """A new SGD learning rate. scikit-learn's velocity is a step (it holds the rate it
        was made with), bpcore's a gradient: rescaled so that the next step is the same."""
        if rate != self._learning_rate and self._settings["momentum"] > 0:
            state = self._network().get_state()["optimizer"]
            if state["name"] == "sgd":
                with np.errstate(over="ignore"):
                    state["velocity"] *= self._learning_rate / rate
                # a diverged fit's velocity is not finite (its parameters follow at the next
                # step): no trajectory is left to keep, set_state would refuse it, and
                # scikit-learn's own checks (early stopping's best weights) take it from there
                if np.isfinite(state["velocity"]).all():
                    self._network().set_state({"optimizer": state})
        self._learning_rate = rate

    def _end_epoch(self, records: npt.NDArray[np.float64], batch_rows: npt.NDArray[Any],
                   n: int) -> None:
        """loss_, loss_curve_, n_iter_ and t_ after an epoch, from its batches' records: each
        batch's mean data loss plus alpha / 2 * sum W^2 over its weight sum, by row count."""
        sums, weight_sums, squares = records.T
        with np.errstate(divide="ignore", invalid="ignore"):
            batch_loss = self._data_loss(sums / batch_rows) + np.where(
                weight_sums > 0, 0.5 * self.alpha * squares / weight_sums, 0.0)
        accumulated = 0.0
        for loss, rows in zip(batch_loss.tolist(), batch_rows.tolist()):
            accumulated += loss * rows
        self.n_iter_ += 1
        self.loss_ = np.float64(accumulated / n)
        self.t_ += n
        self.loss_curve_.append(self.loss_)
        if self.verbose:
            print(f"Iteration {self.n_iter_}, loss = {self.loss_:.8f}")

    def _validation_score(self, X: npt.NDArray[Any], y: npt.NDArray[Any],
                          weights: npt.NDArray[np.float64] | None) -> float:
        predicted = self._predict_dense(X)
        if predicted.dtype.kind == "f" and not np.isfinite(predicted).all():
            return np.nan
        function = accuracy_score if self._is_classifier() else r2_score
        score: float = function(y, predicted, sample_weight=weights)
        return score

    def _count_validation(self, score: float) -> None:
        # None after a fit without early stopping: then, as in scikit-learn, an AttributeError
        self.validation_scores_.append(score)
        if self.verbose:
            print(f"Validation score: {score:f}")
        if score < self.best_validation_score_ + self.tol:
            self._no_improvement_count += 1
        else:
            self._no_improvement_count = 0
        if score > self.best_validation_score_:
            self.best_validation_score_ = score
            self._best = self._parameters()

    def _count_loss(self) -> None:
        if self.loss_ > self.best_loss_ - self.tol:
            self._no_improvement_count += 1
        else:
            self._no_improvement_count = 0
        if self.loss_ < self.best_loss_:
            self.best_loss_ = self.loss_

    def _stops(self, early_stopping: bool) -> bool:
        """After n_iter_no_change epochs without improvement: stop, or (SGD with an adaptive
        rate) divide the rate by 5 and go on while it stays above 1e-6."""
        what = "Validation score" if early_stopping else "Training loss"
        message = (f"{what} did not improve more than tol={self.tol:f} for "
                   f"{self.n_iter_no_change} consecutive epochs.")
        if self._settings["solver"] == "sgd" and self._settings["learning_rate"] == "adaptive":
            if self._learning_rate > 1e-6:
                self._change_rate(self._learning_rate / 5.0)
                if self.verbose:
                    print(f"{message} Setting learning rate to {self._learning_rate:f}")
                return False
            message += " Learning rate too small."
        if self.verbose:
            print(f"{message} Stopping.")
        return True

    def _fit_lbfgs(self, X: npt.NDArray[Any], Y: npt.NDArray[Any],
                   sample_weight: npt.NDArray[np.float64] | None) -> None:
        """SciPy's L-BFGS-B on scikit-learn's objective, its parameter layout (every layer's
        coef, then every intercept) and its options."""
        import scipy.optimize
        network = self._network()
        targets = Y.astype(self.dtype)
        total = float(X.shape[0] if sample_weight is None else sample_weight.sum())
        shapes = [weights.shape for weights in network.weights]
        n_weights = sum(rows * columns for rows, columns in shapes)

        def unpack(theta: npt.NDArray[np.float64]) -> None:
            start = 0
            for weights in network.weights:
                n_out, n_in = weights.shape
                weights[...] = theta[start:start + n_in * n_out].reshape(n_in, n_out).T
                start += n_in * n_out
            for biases in network.biases:
                biases[...] = theta[start:start + len(biases)]
                start += len(biases)

        def objective(theta: npt.NDArray[np.float64]) -> tuple[float, npt.NDArray[np.float64]]:
            unpack(theta)
            gradients = network.gradients(X, targets, sample_weight=sample_weight)
            assert gradients.outputs is not None
            squares = sum(float(np.dot(c.ravel(), c.ravel())) for c in self.coefs_)
            data_loss = (self._data_loss(np.array(gradients.loss))
                         if self.out_activation_ in ("identity", "exp") else
                         _log_loss(Y, gradients.outputs, sample_weight,
                                   self.out_activation_ == "logistic"))
            loss = float(data_loss) + 0.5 * self.alpha * squares / total
            gradient = np.empty_like(theta)
            start = 0
            for weights, grad in zip(network.weights, gradients.weights):
                size = weights.size
                gradient[start:start + size] = (grad + self.alpha / total * weights).T.ravel()
                start += size
            gradient[n_weights:] = np.concatenate(gradients.biases)
            return loss, gradient

        start = np.concatenate([c.ravel() for c in self.coefs_] + self.intercepts_)
        result = scipy.optimize.minimize(
            objective, start.astype(np.float64), method="L-BFGS-B", jac=True,
            options={"maxfun": self.max_fun, "maxiter": self.max_iter, "gtol": self.tol})
        self.n_iter_ = _check_optimize_result("lbfgs", result, self.max_iter)
        self.loss_ = np.float64(result.fun)
        unpack(result.x)

    # ---- prediction

    def _forward(self, X: Any) -> npt.NDArray[Any]:
        return self._dense_outputs(X, self._predict_dense)

    def _dense_outputs(self, X: Any, predict: Callable[[npt.NDArray[Any]], npt.NDArray[Any]]
                       ) -> npt.NDArray[Any]:
        """predict(X as _inputs gives it); where the network refuses an X that skipped
        scikit-learn's checks (NaN, infinity), the error of those checks, as scikit-learn's
        MLPs give it."""
        inputs = self._inputs(X)
        try:
            return predict(inputs)
        except ValueError:
            if inputs is X:
                validate_data(self, X, accept_sparse=["csr", "csc"], reset=False)
            raise

    def _inputs(self, X: Any) -> npt.NDArray[Any]:
        """X checked as scikit-learn checks it at prediction, made dense. A float ndarray of
        the right width for a model fitted without feature names skips scikit-learn's checks
        (a tenth of a millisecond per call): the network checks that it is finite."""
        check_is_fitted(self)
        if (type(X) is np.ndarray and X.ndim == 2 and X.dtype in (np.float64, np.float32)
                and X.shape[1] == self.n_features_in_ and X.shape[0] > 0
                and "feature_names_in_" not in vars(self)):
            return X
        X = validate_data(self, X, accept_sparse=["csr", "csc"], reset=False)
        dense: npt.NDArray[Any] = X.toarray() if hasattr(X, "toarray") else X
        return dense

    def _predict_dense(self, X: npt.NDArray[Any]) -> npt.NDArray[Any]:
        """The network's outputs, shape (n_samples, n_outputs_)."""
        outputs: npt.NDArray[Any] = self._following().predict(
            np.ascontiguousarray(X, dtype=self.dtype))
        return outputs.reshape(X.shape[0], -1)

    def _is_classifier(self) -> bool:
        return isinstance(self, ClassifierMixin)

    def _validate_input(self, X: Any, y: Any, incremental: bool,
                        reset: bool) -> tuple[Any, npt.NDArray[Any]]:
        raise NotImplementedError  # each estimator checks its own kind of y

    def _labels(self, Y: npt.NDArray[Any]) -> npt.NDArray[Any]:
        return Y


def _log_loss(Y: npt.NDArray[Any], probabilities: npt.NDArray[Any],
              sample_weight: npt.NDArray[np.float64] | None, binary: bool) -> float:
    """scikit-learn's cross-entropy of 0/1 targets Y: from the probabilities clipped to
    [eps, 1 - eps], summed over the outputs (binary: both classes of each output). L-BFGS's
    line search compares these values, where an output saturates too, so they are its."""
    from scipy.special import xlogy
    eps = np.finfo(probabilities.dtype).eps
    p = np.clip(probabilities.reshape(Y.shape), eps, 1 - eps)
    terms = xlogy(Y, p) + xlogy(1 - Y, 1 - p) if binary else xlogy(Y, p)
    return float(-np.average(terms, weights=sample_weight, axis=0).sum())


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """scikit-learn's MLPClassifier, on bpcore's compiled kernels.

    Takes exactly the parameters of ``sklearn.neural_network.MLPClassifier``, with its defaults
    and meanings (see its documentation), and reproduces its numbers: the same random_state
    gives the same initial weights, shuffles, validation split and updates, so that with
    float64 the fitted ``coefs_`` agree with scikit-learn's to rounding. Two-class, multiclass
    (softmax) and multilabel (a 2-D 0/1 y) classification, as scikit-learn does them.

    Parameters
    ----------
    hidden_layer_sizes, activation, solver, alpha, batch_size, learning_rate
    learning_rate_init, power_t, max_iter, shuffle, random_state, tol, verbose, warm_start
    momentum, nesterovs_momentum, early_stopping, validation_fraction, beta_1, beta_2
    epsilon, n_iter_no_change, max_fun
        As in scikit-learn, with its defaults.
    dtype : {'float64', 'float32'}, default 'float64'
        The precision of the network (scikit-learn follows X's dtype instead).

    Attributes
    ----------
    coefs_, intercepts_, loss_, best_loss_, loss_curve_, validation_scores_
    best_validation_score_, n_iter_, t_, n_layers_, n_outputs_, out_activation_, classes_
    n_features_in_, feature_names_in_
        As in scikit-learn. ``coefs_`` and ``intercepts_`` are views of ``network_``'s parameters.
    network_ : bpcore.Network
        The fitted network (sigmoid or softmax output).

    Raises
    ------
    ValueError, TypeError
        From fit and partial_fit: for a parameter outside scikit-learn's allowed values
        (its InvalidParameterError is both), hidden_layer_sizes that are not whole numbers
        from 1 to 2**24, or ``momentum >= 1`` with sgd; for the data, see `MLPClassifier.fit`.
    sklearn.exceptions.NotFittedError
        From predict, predict_proba, predict_log_proba and score before a fit.

    See Also
    --------
    MLPRegressor : The regressor.
    from_sklearn : A fitted scikit-learn MLP as a bpcore one.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from bpcore.sklearn import MLPClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MLPClassifier(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=500,
    ...                     random_state=0).fit(X, y)
    >>> clf.coefs_[0].shape, clf.classes_.tolist()
    ((4, 8), [0, 1, 2])
    >>> clf.score(X, y) > 0.9
    True
    """

    def __init__(self, hidden_layer_sizes: Any = (100,), activation: str = "relu", *,
                 solver: str = "adam", alpha: float = 0.0001, batch_size: Any = "auto",
                 learning_rate: str = "constant", learning_rate_init: float = 0.001,
                 power_t: float = 0.5, max_iter: int = 200, shuffle: bool = True,
                 random_state: Any = None, tol: float = 1e-4, verbose: Any = False,
                 warm_start: bool = False, momentum: float = 0.9,
                 nesterovs_momentum: bool = True, early_stopping: bool = False,
                 validation_fraction: float = 0.1, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-8, n_iter_no_change: Any = 10, max_fun: int = 15000,
                 dtype: str = "float64") -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.dtype = dtype

    _parameter_constraints = {
        key: value for key, value in _BaseMLP._parameter_constraints.items() if key != "loss"}
    loss = "log_loss"  # scikit-learn's classifier has this fixed attribute, not a parameter

    def _validate_input(self, X: Any, y: Any, incremental: bool,
                        reset: bool) -> tuple[Any, npt.NDArray[Any]]:
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
                             dtype=(np.float64, np.float32), reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start:
                if set(classes) != set(self.classes_):
                    raise ValueError(f"warm_start can only be used where `y` has the same "
                                     f"classes as in the previous call to fit. Previously got "
                                     f"{self.classes_}, `y` has {classes}")
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(f"`y` has classes not in `self.classes_`. `self.classes_` has "
                                 f"{self.classes_}. 'y' has {classes}.")
        return X, self._label_binarizer.transform(y).astype(bool)

    def _labels(self, Y: npt.NDArray[Any]) -> npt.NDArray[Any]:
        labels: npt.NDArray[Any] = self._label_binarizer.inverse_transform(Y)
        return labels

    def _predict_dense(self, X: npt.NDArray[Any]) -> npt.NDArray[Any]:
        outputs = super()._predict_dense(X)
        kind, classes = self._label_binarizer.y_type_, self.classes_
        # LabelBinarizer.inverse_transform's rules, without its checks (most of the time of
        # a one-row predict): the first largest output, or each output above 0.5
        labels: npt.NDArray[Any]
        if kind == "multiclass":
            labels = classes[outputs.argmax(axis=1)]
            return labels
        if kind == "binary" and len(classes) == 2:
            labels = classes[(outputs[:, 0] > 0.5).astype(np.intp)]
            return labels
        return self._labels(outputs.ravel() if self.n_outputs_ == 1 else outputs)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> MLPClassifier:
        """Fit the model to X and y, as scikit-learn's MLPClassifier.fit.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The inputs.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The labels (a 2-D 0/1 array for multilabel classification).
        sample_weight : array-like of shape (n_samples,) or None, default None
            Each sample's weight, >= 0.

        Returns
        -------
        MLPClassifier
            self, fitted.

        Raises
        ------
        ValueError
            If X is not 2-D or holds NaN or infinity, y has another number of samples, a
            sample weight is negative, early stopping leaves fewer than 2 validation
            samples, training made the weights non-finite, or (with warm_start) y has
            other classes than the last fit.

        Examples
        --------
        >>> from sklearn.datasets import load_iris
        >>> from bpcore.sklearn import MLPClassifier
        >>> X, y = load_iris(return_X_y=True)
        >>> clf = MLPClassifier(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=500,
        ...                     random_state=0)
        >>> clf.fit(X, y).n_iter_ > 0
        True
        """
        result: MLPClassifier = self._fit(X, y, sample_weight=sample_weight, incremental=False)
        return result

    @available_if(lambda estimator: estimator._stochastic())
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None,
                    classes: Any = None) -> MLPClassifier:
        """One epoch over X and y, as scikit-learn's MLPClassifier.partial_fit (sgd, adam).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The inputs.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The labels.
        sample_weight : array-like of shape (n_samples,) or None, default None
            Each sample's weight, >= 0.
        classes : array of shape (n_classes,) or None, default None
            Every class, needed on the first call.

        Returns
        -------
        MLPClassifier
            self, trained one epoch more.

        Raises
        ------
        ValueError
            As fit; also if `classes` is missing on the first call, y has a class not in
            it, or early_stopping is True.
        AttributeError
            With solver="lbfgs": partial_fit exists for sgd and adam only.

        Examples
        --------
        >>> from sklearn.datasets import load_iris
        >>> from bpcore.sklearn import MLPClassifier
        >>> X, y = load_iris(return_X_y=True)
        >>> clf = MLPClassifier(hidden_layer_sizes=(8,), random_state=0)
        >>> clf = clf.partial_fit(X, y, classes=[0, 1, 2]).partial_fit(X, y)
        >>> clf.n_iter_, clf.t_
        (1, 300)
        """
        if _check_partial_fit_first_call(self, classes):
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
        result: MLPClassifier = self._fit(X, y, sample_weight=sample_weight, incremental=True)
        return result

    def _stochastic(self) -> bool:
        if self.solver not in ("sgd", "adam"):
            raise AttributeError(f"partial_fit is only available for stochastic optimizers. "
                                 f"{self.solver} is not stochastic.")
        return True

    def predict(self, X: Any) -> npt.NDArray[Any]:
        """The predicted classes (for multilabel y, a 0/1 row per sample).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The inputs.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The classes.

        Raises
        ------
        NotFittedError
            Before fit.
        ValueError
            If X has another number of features than in fit, or holds NaN or infinity.

        Examples
        --------
        >>> from sklearn.datasets import load_iris
        >>> from bpcore.sklearn import MLPClassifier
        >>> X, y = load_iris(return_X_y=True)
        >>> clf = MLPClassifier(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=500,
        ...                     random_state=0)
        >>> clf.fit(X, y).predict(X[:2]).tolist()
        [0, 0]
        """
        return self._forward(X)

    def predict_proba(self, X: Any) -> npt.NDArray[Any]:
        """The probability of each class (two columns for two classes, as scikit-learn).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The inputs.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            The probabilities (for multilabel y, each label's).

        Raises
        ------
        NotFittedError, ValueError
            As `predict`.

        Examples
        --------
        >>> from sklearn.datasets import load_iris
        >>> from bpcore.sklearn import MLPClassifier
        >>> X, y = load_iris(return_X_y=True)
        >>> clf = MLPClassifier(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=500,
        ...                     random_state=0)
        >>> clf.fit(X, y).predict_proba(X[:2]).shape
        (2, 3)
        """
        outputs = self._dense_outputs(X, lambda dense: _BaseMLP._predict_dense(self, dense))
        if self.n_outputs_ == 1:
            p = outputs.ravel()
            return np.vstack([1 - p, p]).T
        return outputs

    def predict_log_proba(self, X: Any) -> npt.NDArray[Any]:
        """The log of `predict_proba`.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The inputs.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            The log-probabilities.

        Raises
        ------
        NotFittedError, ValueError
            As `predict`.

        Examples
        --------
        >>> from sklearn.datasets import load_iris
        >>> from bpcore.sklearn import MLPClassifier
        >>> X, y = load_iris(return_X_y=True)
        >>> clf = MLPClassifier(hidden_layer_sizes=(8,), solver="lbfgs", max_iter=500,
        ...                     random_state=0)
        >>> clf.fit(X, y).predict_log_proba(X[:2]).shape
        (2, 3)
        """
        logs: npt.NDArray[Any] = np.log(self.predict_proba(X))
        return logs

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, _BaseMLP):
    """scikit-learn's MLPRegressor, on bpcore's compiled kernels.

    Takes exactly the parameters of ``sklearn.neural_network.MLPRegressor``, with its defaults
    and meanings (see its documentation), and reproduces its numbers: the same random_state
    gives the same initial weights, shuffles, validation split and updates, so that with
    float64 the fitted ``coefs_`` agree with scikit-learn's to rounding. One or more outputs.
    ``loss='poisson'`` has an exponential output, as scikit-learn's.

    Parameters
    ----------
    loss, hidden_layer_sizes, activation, solver, alpha, batch_size, learning_rate
    learning_rate_init, power_t, max_iter, shuffle, random_state, tol, verbose, warm_start
    momentum, nesterovs_momentum, early_stopping, validation_fraction, beta_1, beta_2
    epsilon, n_iter_no_change, max_fun
        As in scikit-learn, with its defaults.
    dtype : {'float64', 'float32'}, default 'float64'
        The precision of the network (scikit-learn follows X's dtype instead).

    Attributes
    ----------
    coefs_, intercepts_, loss_, best_loss_, loss_curve_, validation_scores_
    best_validation_score_, n_iter_, t_, n_layers_, n_outputs_, out_activation_
    n_features_in_, feature_names_in_
        As in scikit-learn. ``coefs_`` and ``intercepts_`` are views of ``network_``'s parameters.
    network_ : bpcore.Network
        The fitted network (identity output and mse loss, or exp and poisson).

    Raises
    ------
    ValueError, TypeError
        From fit and partial_fit, for a bad parameter, as `MLPClassifier`'s, or when a warm
        start or partial_fit would train on after ``set_params(loss=...)`` changed the output
        layer the loss needs; for the data, see `MLPRegressor.fit`.
    sklearn.exceptions.NotFittedError
        From predict and score before a fit.

    See Also
    --------
    MLPClassifier : The classifier.
    from_sklearn : A fitted scikit-learn MLP as a bpcore one.

    Examples
    --------
    >>> import numpy as np
    >>> from bpcore.sklearn import MLPRegressor
    >>> X = np.linspace(-1, 1, 50).reshape(-1, 1)
    >>> reg = MLPRegressor(hidden_layer_sizes=(16,), solver="lbfgs", random_state=0)
    >>> reg = reg.fit(X, X.ravel() ** 2)
    >>> reg.predict(X[:3]).shape, reg.score(X, X.ravel() ** 2) > 0.9
    ((3,), True)
    """

    def __init__(self, loss: str = "squared_error", hidden_layer_sizes: Any = (100,),
                 activation: str = "relu", *, solver: str = "adam", alpha: float = 0.0001,
                 batch_size: Any = "auto", learning_rate: str = "constant",
                 learning_rate_init: float = 0.001, power_t: float = 0.5, max_iter: int = 200,
                 shuffle: bool = True, random_state: Any = None, tol: float = 1e-4,
                 verbose: Any = False, warm_start: bool = False, momentum: float = 0.9,
                 nesterovs_momentum: bool = True, early_stopping: bool = False,
                 validation_fraction: float = 0.1, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-8, n_iter_no_change: Any = 10, max_fun: int = 15000,
                 dtype: str = "float64") -> None:
        self.loss = loss
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.dtype = dtype

    def _validate_input(self, X: Any, y: Any, incremental: bool,
                        reset: bool) -> tuple[Any, npt.NDArray[Any]]:
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
                             y_numeric=True, dtype=(np.float64, np.float32), reset=reset)
        if y.dtype.kind not in "biuf":  # scikit-learn fails on text when it computes with it
            raise TypeError(f"y must hold numbers, got dtype {y.dtype}")
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        return X, y

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> MLPRegressor:
        """Fit the model to X and y, as scikit-learn's MLPRegressor.fit.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The inputs.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The targets.
        sample_weight : array-like of shape (n_samples,) or None, default None
            Each sample's weight, >= 0.

        Returns
        -------
        MLPRegressor
            self, fitted.

        Raises
        ------
        ValueError
            As `MLPClassifier.fit` (but for the classes), or if y < 0 with
            ``loss='poisson'``.
        TypeError
            If y does not hold numbers.

        Examples
        --------
        >>> import numpy as np
        >>> from bpcore.sklearn import MLPRegressor
        >>> X = np.linspace(-1, 1, 40).reshape(-1, 1)
        >>> reg = MLPRegressor(hidden_layer_sizes=(8,), solver="lbfgs", random_state=0)
        >>> reg.fit(X, X.ravel() ** 2).n_outputs_
        1
        """
        result: MLPRegressor = self._fit(X, y, sample_weight=sample_weight, incremental=False)
        return result

    # scikit-learn's MLPRegressor offers partial_fit for every solver (with lbfgs it runs a
    # whole fit); so does this one
    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None) -> MLPRegressor:
        """One epoch over X and y, as scikit-learn's MLPRegressor.partial_fit.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The inputs.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            The targets.
        sample_weight : array-like of shape (n_samples,) or None, default None
            Each sample's weight, >= 0.

        Returns
        -------
        MLPRegressor
            self, trained one epoch more.

        Raises
        ------
        ValueError, TypeError
            As fit; also ValueError if early_stopping is True.

        Examples
        --------
        >>> import numpy as np
        >>> from bpcore.sklearn import MLPRegressor
        >>> X = np.linspace(-1, 1, 40).reshape(-1, 1)
        >>> reg = MLPRegressor(hidden_layer_sizes=(8,), random_state=0)
        >>> reg.partial_fit(X, X.ravel()).partial_fit(X, X.ravel()).t_
        80
        """
        result: MLPRegressor = self._fit(X, y, sample_weight=sample_weight, incremental=True)
        return result

    def predict(self, X: Any) -> npt.NDArray[Any]:
        """The predicted targets.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The inputs.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_outputs)
            The predictions (1-D for one output).

        Raises
        ------
        NotFittedError
            Before fit.
        ValueError
            If X has another number of features than in fit, or is not finite.

        Examples
        --------
        >>> import numpy as np
        >>> from bpcore.sklearn import MLPRegressor
        >>> X = np.linspace(-1, 1, 40).reshape(-1, 1)
        >>> reg = MLPRegressor(hidden_layer_sizes=(8,), solver="lbfgs", random_state=0)
        >>> reg.fit(X, np.column_stack([X.ravel(), -X.ravel()])).predict(X[:3]).shape
        (3, 2)
        """
        outputs = self._forward(X)
        return outputs.ravel() if outputs.shape[1] == 1 else outputs


def from_sklearn(estimator: Any, dtype: str = "float64") -> MLPClassifier | MLPRegressor:
    """A fitted scikit-learn MLPClassifier or MLPRegressor as the equivalent bpcore one.

    For fast prediction of models trained elsewhere: the same parameters and fitted
    attributes, and a `network_` holding its weights, so that predictions agree to rounding
    (1e-12 for a float64 model). A warm-start fit then continues as scikit-learn's would;
    partial_fit continues too, but with a fresh optimizer (scikit-learn's velocities or Adam
    moments are not carried over).

    Parameters
    ----------
    estimator : sklearn.neural_network.MLPClassifier or MLPRegressor
        A fitted one.
    dtype : {'float64', 'float32'}, default 'float64'
        The precision of the new estimator's network.

    Returns
    -------
    MLPClassifier or MLPRegressor
        bpcore's estimator of the same kind.

    Raises
    ------
    TypeError
        If estimator is not a scikit-learn MLP, or dtype is not a string (``np.float32``:
        the estimators take the name, ``'float32'``).
    ValueError
        If it is not fitted, its output activation has no bpcore counterpart, or dtype is
        another name.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.neural_network import MLPClassifier as SklearnMLP
    >>> from bpcore.sklearn import from_sklearn
    >>> X, y = load_iris(return_X_y=True)
    >>> theirs = SklearnMLP((8,), solver="lbfgs", max_iter=500, random_state=0).fit(X, y)
    >>> ours = from_sklearn(theirs)
    >>> bool(np.allclose(ours.predict_proba(X), theirs.predict_proba(X), rtol=1e-12))
    True
    """
    if isinstance(estimator, _SklearnClassifier):
        kind: type[_BaseMLP] = MLPClassifier
    elif isinstance(estimator, _SklearnRegressor):
        kind = MLPRegressor
    else:
        raise TypeError(f"estimator must be scikit-learn's MLPClassifier or MLPRegressor, got "
                        f"{type(estimator).__module__}.{type(estimator).__qualname__}")
    if not hasattr(estimator, "coefs_"):
        raise ValueError(f"estimator must be fitted: this {type(estimator).__name__} has no "
                         f"coefs_")
    if not isinstance(dtype, str):  # the estimators' dtype parameter is a name, for clone
        meant = ("float64" if dtype is None or dtype is float else
                 str(getattr(dtype, "name", getattr(dtype, "__name__", ""))))  # np.float32
        advice = f": pass dtype={meant!r}" if meant in ("float64", "float32") else ""
        raise TypeError(f"dtype must be the string 'float64' or 'float32', got {dtype!r}"
                        f"{advice}")
    if dtype not in ("float64", "float32"):
        raise ValueError(f"dtype must be 'float64' or 'float32', got {dtype!r}")
    if estimator.out_activation_ not in _HEADS:
        raise ValueError(f"estimator's output activation {estimator.out_activation_!r} has no "
                         f"bpcore counterpart")
    ours = kind(**estimator.get_params(), dtype=dtype)
    for name in _FITTED:
        if hasattr(estimator, name):  # copies: the two models train on separately
            setattr(ours, name, copy.deepcopy(getattr(estimator, name)))
    units = [estimator.coefs_[0].shape[0]] + [c.shape[1] for c in estimator.coefs_]
    output, loss = _HEADS[estimator.out_activation_]
    ours.network_ = Network(units, activation=_ACTIVATIONS[estimator.activation],
                            output=output, loss=loss, dtype=dtype, seed=0)
    ours.coefs_ = estimator.coefs_
    ours.intercepts_ = estimator.intercepts_
    ours._best = None
    return ours


def to_sklearn(estimator: MLPClassifier | MLPRegressor) -> Any:
    """A fitted bpcore MLPClassifier or MLPRegressor as scikit-learn's, with copies of its
    weights (float64) and fitted attributes.

    Parameters
    ----------
    estimator : bpcore.sklearn.MLPClassifier or MLPRegressor
        A fitted one.

    Returns
    -------
    sklearn.neural_network.MLPClassifier or MLPRegressor
        scikit-learn's estimator of the same kind, with the same parameters (but dtype).

    Raises
    ------
    TypeError
        If estimator is not one of bpcore's MLPs.
    ValueError
        If it is not fitted.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_iris
    >>> from bpcore.sklearn import MLPClassifier, to_sklearn
    >>> X, y = load_iris(return_X_y=True)
    >>> ours = MLPClassifier((8,), solver="lbfgs", max_iter=500, random_state=0).fit(X, y)
    >>> theirs = to_sklearn(ours)
    >>> bool(np.allclose(theirs.predict_proba(X), ours.predict_proba(X), rtol=1e-12))
    True
    """
    if not isinstance(estimator, (MLPClassifier, MLPRegressor)):
        raise TypeError(f"estimator must be bpcore.sklearn's MLPClassifier or MLPRegressor, got "
                        f"{type(estimator).__module__}.{type(estimator).__qualname__}")
    if not estimator.__sklearn_is_fitted__():
        raise ValueError(f"estimator must be fitted: this {type(estimator).__name__} has no "
                         f"network_")
    params = estimator.get_params()
    del params["dtype"]
    kind = _SklearnClassifier if isinstance(estimator, MLPClassifier) else _SklearnRegressor
    theirs = kind(**params)
    for name in _FITTED:
        if hasattr(estimator, name):  # copies: the two models train on separately
            setattr(theirs, name, copy.deepcopy(getattr(estimator, name)))
    theirs.coefs_ = [c.astype(np.float64) for c in estimator.coefs_]
    theirs.intercepts_ = [b.astype(np.float64) for b in estimator.intercepts_]
    if estimator.early_stopping:
        # what its warm-start fit restores from: after scikit-learn's own fit, the very lists
        # of coefs_ and intercepts_ (copies would undo the next fit's epochs without a better
        # validation score)
        theirs._best_coefs = theirs.coefs_
        theirs._best_intercepts = theirs.intercepts_
    return theirs
