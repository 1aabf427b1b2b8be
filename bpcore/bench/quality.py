"""The recommended recipe for small tabular data, and the `bpcore bench` rows measuring it.

`recipe` is the one place the recipe is written, for the docs (docs/training.md, docs/performance.md), `bpcore demo` and the bench:
standardise the inputs with the training rows' mean and standard deviation (for regression the
targets too, undone at prediction), then one hidden layer of 32 relu units trained by iRprop-
on the full batch for 100 epochs with an L2 weight decay of 0.005 (0.03 for regression).

Why these: on scikit-learn's bundled iris, wine, breast_cancer, digits and diabetes (a grid
over L-BFGS, Adam and Rprop, hidden sizes 16 to 64, relu and tanh, weight decay 1e-4 to 3e-2,
with and without validation-based early stopping, on 5 stratified or random 75/25 splits; the
finalists on 10 more) this was the fastest setting within a test sample or two of the best on
every set. Early stopping on a held-out tenth (validation_fraction, patience) cost accuracy on
the small sets (a dozen validation rows), and a full batch keeps each epoch one compiled step.
Regression takes a stronger weight decay: on diabetes 0.005 gave a mean R^2 of 0.32 and 0.03
gave 0.43 (5 splits), where the same decay cost accuracy on digits.

The quality rows compare the recipe with scikit-learn's MLPClassifier / MLPRegressor with all
their defaults (random_state set per split), given the same standardisation as the recipe: a
StandardScaler of the inputs, which scikit-learn's documentation asks for, and for regression
of the targets too (TransformedTargetRegressor; on the raw diabetes targets its MLPRegressor
does not converge and scores an R^2 below -1), on those five data sets: the mean test score (accuracy,
or R^2 for diabetes) and the mean fit time over a fixed set of splits, each split's fit time
the best of ROUNDS fits with bpcore's and scikit-learn's alternating, each after SETTLE
seconds of rest (so that neither is timed while the other's idle BLAS threads still spin;
not at the "smoke" scale, which checks that the rows run).
scikit-learn is imported only when the rows run.
"""
from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from .._backend import use_backend
from .._layout import Floats
from ..network import Network
from ..optim import Rprop
from .table import Row, Target

__all__ = ["DATA_SETS", "HIDDEN", "Predictor", "quality_rows", "recipe", "splits"]

# the recipe's settings (see the module's docstring for how they were chosen)
HIDDEN = 32  # units in the one hidden layer
ACTIVATION = "relu"
EPOCHS = 100  # full-batch Rprop steps
# L2 on the weights (not the biases), relative to the mean loss, by task
WEIGHT_DECAY = {"classification": 5e-3, "regression": 3e-2}

# scikit-learn's bundled data set (its load_ function's suffix) -> task
DATA_SETS: dict[str, Literal["classification", "regression"]] = {
    "iris": "classification", "wine": "classification", "breast_cancer": "classification",
    "digits": "classification", "diabetes": "regression"}
TEST_SHARE = 0.25
# seconds of rest before each timed fit: OpenBLAS's idle threads keep spinning about 0.1 s
# after its last product, and NumPy's copy (scikit-learn's) and SciPy's (bpcore's) are two
# libraries, each with its own threads, on the same cores; a fit timed right after the
# other library's ran measured up to 2.5x slower on a 2-core machine
SETTLE = 0.25
ROUNDS = {"full": 3, "default": 2, "smoke": 1}  # timed fits per split and library: the best


def _standardise(values: Floats) -> tuple[Floats, Floats]:
    """The columns' mean and standard deviation (1 where a column is constant)."""
    scale = values.std(axis=0)
    return values.mean(axis=0), np.where(scale > 0, scale, 1.0)


@dataclass
class Predictor:
    """What `recipe` returns: a trained network and the scaling around it.

    Attributes
    ----------
    network : Network
        The trained network; it sees standardised inputs.
    mean, scale : ndarray
        The training inputs' column means and standard deviations.
    classes : ndarray or None
        For classification, the labels in the order of the network's outputs; else None.
    target_mean, target_scale : ndarray or None
        For regression, the training targets' means and standard deviations; else None.

    Examples
    --------
    >>> import numpy as np
    >>> from bpcore.bench.quality import recipe
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> model = recipe(X, ["a", "a", "b", "b"], "classification", seed=0)
    >>> model.classes.tolist(), model.predict([[0.2], [2.9]]).tolist()
    (['a', 'b'], ['a', 'b'])
    """
    network: Network
    mean: Floats
    scale: Floats
    classes: npt.NDArray[Any] | None = None
    target_mean: Floats | None = None
    target_scale: Floats | None = None

    def predict(self, X: npt.ArrayLike) -> npt.NDArray[Any]:
        """Class labels (classification) or target values (regression) for the rows of X.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
            Inputs on the training data's scale (not standardised).

        Returns
        -------
        ndarray
            Shape (n_samples,): labels, or values for a 1-D training target; (n_samples,
            n_targets) for a 2-D one.

        Examples
        --------
        >>> import numpy as np
        >>> from bpcore.bench.quality import recipe
        >>> X = np.linspace(-1, 1, 40).reshape(-1, 1)
        >>> model = recipe(X, 3 * X.ravel() + 5, "regression", seed=0)
        >>> bool(np.allclose(model.predict([[0.0], [0.5]]), [5.0, 6.5], atol=0.2))
        True
        """
        outputs = self.network.predict((np.asarray(X, dtype=np.float64) - self.mean)
                                       / self.scale)
        if self.classes is not None:
            labels: npt.NDArray[Any] = self.classes[outputs.argmax(axis=1)]
            return labels
        assert self.target_mean is not None and self.target_scale is not None
        values: Floats = outputs * self.target_scale + self.target_mean
        return values[:, 0] if self.target_mean.ndim == 0 else values


def recipe(X_train: npt.ArrayLike, y_train: npt.ArrayLike,
           task: Literal["classification", "regression"], seed: int | None = None
           ) -> Predictor:
    """Train bpcore's recommended model for small tabular data.

    Standardises the inputs with the training rows' mean and standard deviation (and, for
    regression, the targets, undone at prediction), then trains a network with one hidden
    layer of HIDDEN (32) relu units by iRprop- on the full batch for EPOCHS (100) epochs,
    with an L2 weight decay of WEIGHT_DECAY (0.005; 0.03 for regression): softmax and
    cross-entropy for classification, a linear output and the squared error for regression.

    Parameters
    ----------
    X_train : array_like of shape (n_samples, n_features)
        Training inputs, real numbers.
    y_train : array_like of shape (n_samples,), or (n_samples, n_targets) for regression
        Class labels (any values numpy can sort) or real targets.
    task : {"classification", "regression"}
        What y_train holds.
    seed : int or None, default None
        Seed of the network's starting weights.

    Returns
    -------
    Predictor
        Its ``predict(X)`` gives labels or target values; ``network`` is the trained network.

    Raises
    ------
    ValueError
        If task is not one of the two, X_train is not 2-D, y_train does not have one entry
        per row, or (classification) holds fewer than two classes; what `Network.fit` raises
        for data it cannot train on (e.g. NaN).

    Examples
    --------
    >>> import numpy as np
    >>> from bpcore.datasets import load_iris
    >>> from bpcore.bench.quality import recipe
    >>> X, y = load_iris()
    >>> test = np.random.default_rng(0).permutation(len(X)) < 30  # 30 test rows
    >>> model = recipe(X[~test], y[~test], "classification", seed=0)
    >>> float(np.mean(model.predict(X[test]) == y[test])) > 0.9
    True
    """
    if task not in ("classification", "regression"):
        raise ValueError(f"task must be 'classification' or 'regression', got {task!r}")
    X = np.asarray(X_train, dtype=np.float64)
    y = np.asarray(y_train)
    if X.ndim != 2:
        raise ValueError(f"X_train must be 2-D (n_samples, n_features), got shape {X.shape}")
    if y.ndim not in (1, 2) or len(y) != len(X) or (task == "classification" and y.ndim != 1):
        expected = "(n_samples,)" if task == "classification" else "(n_samples,) or 2-D"
        raise ValueError(f"y_train must have shape {expected} with n_samples={len(X)} as in "
                         f"X_train, got shape {y.shape}")
    mean, scale = _standardise(X)
    inputs = (X - mean) / scale
    optimizer = Rprop(weight_decay=WEIGHT_DECAY[task])
    if task == "classification":
        classes, labels = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise ValueError(f"y_train must hold at least 2 classes, got {classes.tolist()}")
        network = Network([X.shape[1], HIDDEN, len(classes)], activation=ACTIVATION,
                          output="softmax", loss="cross_entropy", seed=seed)
        # without validation data the last epoch's parameters are kept: no extra loss pass
        network.fit(inputs, np.eye(len(classes))[labels], epochs=EPOCHS, optimizer=optimizer,
                    restore_best=False)
        return Predictor(network, mean, scale, classes=classes)
    targets = y.astype(np.float64)
    target_mean, target_scale = _standardise(targets)
    standardised = ((targets - target_mean) / target_scale).reshape(len(X), -1)
    network = Network([X.shape[1], HIDDEN, standardised.shape[1]], activation=ACTIVATION,
                      output="identity", loss="mse", seed=seed)
    network.fit(inputs, standardised, epochs=EPOCHS, optimizer=optimizer, restore_best=False)
    return Predictor(network, mean, scale, target_mean=target_mean, target_scale=target_scale)


def splits(scale: str) -> list[int]:
    """The seeds of the train/test splits (and of both libraries' weights) per bench scale:
    five for "full", two for "default", one for "smoke"."""
    return list(range({"full": 5, "default": 2, "smoke": 1}[scale]))


def _data_sets(scale: str) -> dict[str, Literal["classification", "regression"]]:
    """The data sets of a scale: smoke runs one of each task, the smallest."""
    if scale == "smoke":
        return {name: DATA_SETS[name] for name in ("iris", "diabetes")}
    return dict(DATA_SETS)


def _score(task: str, y_true: npt.NDArray[Any], y_pred: npt.NDArray[Any]) -> float:
    """Accuracy, or R^2 (1 - residual sum of squares / total sum of squares)."""
    if task == "classification":
        return float(np.mean(y_true == y_pred))
    return float(1 - np.sum((y_true - y_pred) ** 2) / np.sum((y_true - y_true.mean()) ** 2))


def _timed(fit: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    result = fit()
    return result, time.perf_counter() - start


def quality_rows(scale: str, reference: str, backend: str,
                 progress: Callable[[str], object] | None = None) -> list[Row]:
    """One row per data set: the recipe against scikit-learn's MLP with its defaults.

    `reference` is bpcore's column ("compiled" or "fallback") and `backend` its
    `use_backend` choice. Each row holds both mean fit times (s/fit), the ratio scikit-learn's
    over the recipe's, the mean test scores in its label and note, and a score Target: for
    accuracy ours/sklearn, for R^2 the unexplained variance (1 - R^2) sklearn/ours, each
    at least 1 when the recipe scores at least as well. Needs scikit-learn."""
    from sklearn import datasets
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    seeds = splits(scale)
    rows, warmed = [], False
    for name, task in _data_sets(scale).items():
        if progress:
            progress(f"recipe vs scikit-learn: {name}")
        X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
        peer = MLPClassifier if task == "classification" else MLPRegressor
        scores: dict[str, list[float]] = {reference: [], "sklearn": []}
        times: dict[str, list[float]] = {reference: [], "sklearn": []}
        for seed in seeds:
            X_train, X_test, y_train, y_test = train_test_split(
                X, y, test_size=TEST_SHARE, random_state=seed,
                stratify=y if task == "classification" else None)
            theirs = make_pipeline(StandardScaler(), peer(random_state=seed))
            if task == "regression":  # standardised targets too, as the recipe's
                theirs = TransformedTargetRegressor(theirs, transformer=StandardScaler())

            def fit_ours() -> Predictor:
                with use_backend(backend):
                    return recipe(X_train, y_train, task, seed)

            def fit_theirs() -> Any:
                with warnings.catch_warnings():  # max_iter reached: their default, kept
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    return theirs.fit(X_train, y_train)
            if not warmed:
                fit_ours(), fit_theirs()  # first calls load SciPy's BLAS and warm caches
                warmed = True
            best = {reference: float("inf"), "sklearn": float("inf")}
            models: dict[str, Any] = {}
            for _ in range(ROUNDS[scale]):  # the best of a few fits, alternating
                for column, fit in ((reference, fit_ours), ("sklearn", fit_theirs)):
                    if scale != "smoke":
                        time.sleep(SETTLE)
                    # the same seeds every round, so the same model
                    models[column], seconds = _timed(fit)
                    best[column] = min(best[column], seconds)
            for column, model in models.items():
                times[column].append(best[column])
                scores[column].append(_score(task, y_test, model.predict(X_test)))
        rows.append(_row(name, task, len(seeds), reference,
                         {column: float(np.mean(values)) for column, values in times.items()},
                         {column: float(np.mean(values)) for column, values in scores.items()}))
    return rows


def _row(name: str, task: str, n_splits: int, reference: str, times: dict[str, float],
         scores: dict[str, float]) -> Row:
    metric = "accuracy" if task == "classification" else "R^2"
    peer = "MLPClassifier" if task == "classification" else "MLPRegressor"
    ours, theirs = scores[reference], scores["sklearn"]
    split_text = f"{n_splits} split{'s' if n_splits > 1 else ''}"
    row = Row(f"quality_{name}",
              f"recipe vs scikit-learn {peer} defaults: {name}, test {metric} {ours:.3f} vs "
              f"{theirs:.3f} (mean of {split_text})", "s/fit", times,
              ratios={"sklearn": times["sklearn"] / times[reference]},
              label=f"recipe vs sklearn: {name}, {metric} {ours:.3f} vs {theirs:.3f}")
    row.note = f"test {metric} bpcore {ours:.4f}, sklearn {theirs:.4f} ({split_text})"
    if task == "classification":
        row.targets.append(Target(f"{metric} ours/sklearn", ours / theirs, 1.0))
    else:  # R^2 may be negative: compare the unexplained variances, both > 0
        row.targets.append(Target("1-R^2 sklearn/ours", (1 - theirs) / (1 - ours), 1.0))
    return row
