"""The scikit-learn estimator rows of `bpcore bench`: `bpcore.sklearn` against scikit-learn.

bpcore's MLPClassifier and scikit-learn's get the same constructor parameters (the drop-in
promise of issue 14) and the same data, and each is timed in this process:

- fit, for each solver ('sgd', 'adam', 'lbfgs'): on the bundled digits (64-100-10, max_iter
  200) and on a 20,000-row synthetic set from scikit-learn's make_classification (20 features,
  max_iter cut to 20 to keep the bench short). tol=0 and n_iter_no_change=max_iter, so that
  'sgd' and 'adam' run every iteration (L-BFGS may still stop on its own criteria). A row's
  note gives how far the two fitted coefs_ are apart and both n_iter_.
  For 'sgd' and 'adam' the note also gives the floor: the same epochs' matrix products alone
  (forward, weight gradients, backward deltas of every batch) timed in NumPy, which any
  implementation computes; both fit times are also given as multiples of it.
- predict and predict_proba latency of the fitted digits 'adam' classifiers, on one row and
  on 10,000 rows (the digits tiled).

Inputs are standardised (each column to mean 0, standard deviation 1), as scikit-learn's
documentation asks for MLPs. scikit-learn is imported only inside the functions.
"""
from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .._backend import use_backend
from .._layout import Floats
from .table import Row, Target

__all__ = ["SOLVER_TARGETS", "FitCase", "LatencyCase", "coefs_difference", "estimator_pair",
           "estimator_rows", "fit_cases", "latency_cases", "load_data"]

# the least scikit-learn's fit time over bpcore's (compiled) should be, per solver
SOLVER_TARGETS = {"sgd": 10.0, "adam": 10.0, "lbfgs": 3.0}
LATENCY_SOLVER = "adam"  # the fitted digits classifiers the latency rows call


@dataclass(frozen=True)
class FitCase:
    """One fit comparison: a data set and a solver."""
    key: str
    title: str
    data: str  # "digits" or "synthetic"
    n_samples: int  # rows used: the first n of the digits, or make_classification's n_samples
    solver: str
    hidden: tuple[int, ...]
    max_iter: int


@dataclass(frozen=True)
class LatencyCase:
    """One latency comparison: a method of the fitted classifiers and the rows per call."""
    key: str
    title: str
    method: str  # "predict" or "predict_proba"
    n_rows: int


def fit_cases(scale: str) -> list[FitCase]:
    """The fit rows of a scale; "smoke" shrinks them for the tests."""
    smoke = scale == "smoke"
    hidden = (8,) if smoke else (100,)
    widths = "-".join(map(str, hidden))
    n_digits, digits_iter = (200, 2) if smoke else (1797, 200)
    n_synthetic, synthetic_iter = (500, 2) if smoke else (20000, 20)
    rows = "" if n_digits == 1797 else f" {n_digits} rows"
    return [
        *(FitCase(f"sklearn_fit_digits_{solver}",
                  f"vs sklearn fit, {solver}: digits{rows} 64-{widths}-10, max_iter {digits_iter}",
                  "digits", n_digits, solver, hidden, digits_iter) for solver in SOLVER_TARGETS),
        *(FitCase(f"sklearn_fit_synthetic_{solver}",
                  f"vs sklearn fit, {solver}: synthetic {n_synthetic}x20, max_iter cut to "
                  f"{synthetic_iter}", "synthetic", n_synthetic, solver, hidden, synthetic_iter)
          for solver in SOLVER_TARGETS),
    ]


def latency_cases(scale: str) -> list[LatencyCase]:
    """The latency rows of a scale: each method on one row and on many (10,000; smoke 500)."""
    widths = "-".join(map(str, fit_cases(scale)[0].hidden))
    many = 500 if scale == "smoke" else 10000
    return [LatencyCase(f"sklearn_{method}_{'one' if n == 1 else 'many'}",
                        f"vs sklearn {method}: {n} row{'s' if n > 1 else ''}, digits "
                        f"{LATENCY_SOLVER} 64-{widths}-10", method, n)
            for method in ("predict", "predict_proba") for n in (1, many)]


@functools.cache
def load_data(data: str, n_samples: int) -> tuple[Floats, npt.NDArray[np.int64]]:
    """(X standardised, y) of a FitCase's data set; the arrays are shared, not to be changed."""
    if data == "digits":
        from ..datasets import load_digits
        X, y = load_digits()
        X, y = X[:n_samples], y[:n_samples]
    elif data == "synthetic":
        from sklearn.datasets import make_classification
        X, y = make_classification(n_samples=n_samples, n_features=20, n_informative=10,
                                   random_state=0)
    else:
        raise ValueError(f"data must be 'digits' or 'synthetic', got {data!r}")
    scale = X.std(axis=0)
    return (X - X.mean(axis=0)) / np.where(scale > 0, scale, 1.0), y.astype(np.int64)


def estimator_pair(case: FitCase) -> tuple[Any, Any]:
    """(bpcore's, scikit-learn's) unfitted MLPClassifier with the same parameters: every
    iteration runs for 'sgd' and 'adam' (no tolerance, no patience), the rest defaults."""
    from sklearn.neural_network import MLPClassifier as SklearnClassifier

    from ..sklearn import MLPClassifier
    settings: dict[str, Any] = dict(
        hidden_layer_sizes=case.hidden, solver=case.solver, max_iter=case.max_iter, tol=0.0,
        n_iter_no_change=case.max_iter, random_state=0)
    return MLPClassifier(**settings), SklearnClassifier(**settings)


def products_floor(X: Floats, sizes: list[int], batch_size: int, epochs: int) -> float:
    """Seconds NumPy takes for just the matrix products of `epochs` mini-batch epochs of a
    network of `sizes` on X: per batch the forward products, each layer's weight gradient
    a^T delta and the deltas passed back (no activations, losses or updates)."""
    import time
    rng = np.random.default_rng(0)
    weights = [rng.normal(size=(n_in, n_out)) for n_in, n_out in zip(sizes[:-1], sizes[1:])]
    start = time.perf_counter()
    for _ in range(epochs):
        for first in range(0, len(X), batch_size):
            activations = [X[first:first + batch_size]]
            for w in weights:
                activations.append(activations[-1] @ w)
            delta = activations[-1]
            for layer in range(len(weights) - 1, -1, -1):
                activations[layer].T @ delta
                if layer:
                    delta = delta @ weights[layer].T
    return time.perf_counter() - start


def coefs_difference(ours: list[Floats], theirs: list[Floats]) -> float:
    """max over layers of max|ours - theirs| / max|theirs|: 0 for the same weights."""
    return max(float(np.max(np.abs(a - b)) / np.max(np.abs(b))) for a, b in zip(ours, theirs))


# the bench's timer: each function's best time, in rounds that alternate between them
Times = Callable[[Mapping[str, Callable[[], object]], float], dict[str, float]]


def _fit_row(case: FitCase, reference: str, backend: str, budget: float,
             times: Times) -> tuple[Row, Any, Any]:
    """The row of one FitCase and the two fitted estimators."""
    from sklearn.exceptions import ConvergenceWarning
    X, y = load_data(case.data, case.n_samples)
    ours, theirs = estimator_pair(case)

    def fitter(estimator: Any) -> Callable[[], object]:
        def fit() -> object:
            with warnings.catch_warnings():  # max_iter reached: wanted, every iteration runs
                warnings.simplefilter("ignore", ConvergenceWarning)
                return estimator.fit(X, y)
        return fit
    with use_backend(backend):  # around the timing: time the fits, not the switch
        values = times({reference: fitter(ours), "sklearn": fitter(theirs)}, budget)
    mine = values[reference]
    row = Row(case.key, case.title, "s/fit", values,
              ratios={"sklearn": values["sklearn"] / mine})
    row.note = (f"coefs_ max relative difference {coefs_difference(ours.coefs_, theirs.coefs_):.1e}"
                f"; n_iter_ bpcore {ours.n_iter_}, sklearn {theirs.n_iter_}")
    if case.solver != "lbfgs":
        sizes = [X.shape[1], *case.hidden, ours.n_outputs_]  # two classes: one output
        floor = min(products_floor(X, sizes, min(200, len(X)), ours.n_iter_) for _ in range(2))
        row.note += (f"; products alone (NumPy) {floor:.3g} s: sklearn "
                     f"{values['sklearn'] / floor:.1f}x it, bpcore {mine / floor:.1f}x")
    row.targets.append(Target(f"sklearn/{reference}", row.ratios["sklearn"],
                              SOLVER_TARGETS[case.solver]))
    return row, ours, theirs


def _latency_row(case: LatencyCase, ours: Any, theirs: Any, X: Floats, reference: str,
                 backend: str, budget: float, times: Times) -> Row:
    rows = np.tile(X, (-(-case.n_rows // len(X)), 1))[:case.n_rows]  # the digits, repeated
    with use_backend(backend):
        values = times({reference: lambda: getattr(ours, case.method)(rows),
                        "sklearn": lambda: getattr(theirs, case.method)(rows)}, budget)
    return Row(case.key, case.title, "s/call", values,
               ratios={"sklearn": values["sklearn"] / values[reference]})


def estimator_rows(scale: str, reference: str, backend: str, budget: float, times: Times,
                   progress: Callable[[str], object] | None = None) -> list[Row]:
    """The fit rows, then the latency rows. `reference` is bpcore's column ("compiled" or
    "fallback") and `backend` its `use_backend` choice; `times(functions, budget)` times the
    two libraries' calls (the bench's best of rounds that alternate between them, about
    `budget` per function). Needs scikit-learn."""
    rows, fitted = [], None
    for case in fit_cases(scale):
        if progress:
            progress(case.title)
        row, ours, theirs = _fit_row(case, reference, backend, budget, times)
        rows.append(row)
        if case.data == "digits" and case.solver == LATENCY_SOLVER:
            fitted = ours, theirs, load_data(case.data, case.n_samples)[0]
    assert fitted is not None, "fit_cases holds the digits with LATENCY_SOLVER"
    for latency in latency_cases(scale):
        if progress:
            progress(latency.title)
        rows.append(_latency_row(latency, *fitted, reference, backend, budget, times))
    return rows
