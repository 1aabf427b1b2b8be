"""bpcore.sklearn's MLPClassifier / MLPRegressor reproduce the installed scikit-learn's numbers.

Given the same random_state, both draw the same initial weights, shuffle and split with the same
generator calls and apply the same updates (bpcore/sklearn.py says how).
So in float64, for 'sgd' and 'adam':
- coefs_ and intercepts_ agree to 1e-8 relative, per array:
  max|ours - theirs| <= 1e-8 * max|theirs|;
- n_iter_ and t_ are equal: the stopping rules fire at the same epoch;
- loss_curve_, loss_ and best_loss_ agree to 1e-8 relative;
- validation_scores_ agree to 1e-8 (accuracies are then equal: they move in steps of 1/n_val);
- the same number of ConvergenceWarnings is raised;
- predict is equal, predict_proba and score agree to 1e-8.
For 'lbfgs': the final loss_ to 1e-6 relative and the same n_iter_.

Why 1e-8: the two implementations sum in different orders (BLAS against bpcore's kernels), which
costs about 1e-16 relative per operation; over the ~100 updates of these small fits that grows by a
few orders of magnitude at most, far from 1e-8 on any x86-64 CPU. A formula that differs from
scikit-learn's (where Adam's eps sits, how alpha is scaled, the momentum form under a changing
learning rate) shows up as 1e-3 or more.

The grid is not a cartesian product: each case is one dict, and together they cover every
solver, activation, learning_rate, momentum/Nesterov setting, early stopping on and off, shuffle
on and off, batch_size 'auto' and 40 (150 rows: a short last batch), alpha 0 and > 0, regression
with 1 and 2 outputs, 2 and 3+ classes, string labels and multilabel targets. tol and
n_iter_no_change are chosen so that the stopping rules fire in some cases and max_iter (with its
ConvergenceWarning) ends others.
"""
import functools
import inspect
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")

from sklearn.base import clone  # noqa: E402
from sklearn.datasets import (make_classification, make_multilabel_classification,  # noqa: E402
                              make_regression)
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.neural_network import MLPClassifier as SkMLPClassifier  # noqa: E402
from sklearn.neural_network import MLPRegressor as SkMLPRegressor  # noqa: E402

import bpcore  # noqa: E402
from bpcore.sklearn import MLPClassifier, MLPRegressor, from_sklearn, to_sklearn  # noqa: E402

RTOL = 1e-8          # stochastic solvers: parameters, losses, scores
LBFGS_RTOL = 1e-6    # lbfgs: the final loss
CONVERT_RTOL = 1e-12  # from_sklearn / to_sklearn: the same weights, so only the forward pass rounds

# sample_weight in MLP fit arrived in scikit-learn 1.7
HAS_SAMPLE_WEIGHT = "sample_weight" in inspect.signature(SkMLPClassifier.fit).parameters
needs_sample_weight = pytest.mark.skipif(
    not HAS_SAMPLE_WEIGHT, reason="the installed scikit-learn's MLP has no sample_weight")


# ---- data: 150 rows x 5 standardized features ----

def standardized(values):
    return (values - values.mean(axis=0)) / values.std(axis=0)


@functools.cache
def data(kind):
    """(X, y) of one kind of problem; the same arrays every call (read-only, so no test edits
    them)."""
    if kind in ("wine_raw", "breast_cancer_raw"):
        # unscaled inputs, as a beginner passes them: outputs saturate, and the cross-entropy
        # values that drive the tol rule are scikit-learn's clipped ones
        from sklearn.datasets import load_breast_cancer, load_wine
        X, y = (load_wine if kind == "wine_raw" else load_breast_cancer)(return_X_y=True)
        X.flags.writeable = False
        y.flags.writeable = False
        return X, y
    if kind in ("regression_counts", "regression_counts2"):
        # Poisson counts, for loss='poisson': rates exp(X w) with w small enough to stay near 1
        rng = np.random.RandomState(0)
        X = rng.normal(size=(150, 5))
        n_outputs = 1 if kind == "regression_counts" else 2
        rates = np.exp(0.3 * X @ rng.uniform(-1, 1, size=(5, n_outputs)))
        y = rng.poisson(rates).astype(np.float64)
        y = y.ravel() if n_outputs == 1 else y
    elif kind in ("regression", "regression2"):
        X, y = make_regression(n_samples=150, n_features=5, n_informative=4, noise=10.0,
                               n_targets=1 if kind == "regression" else 2, random_state=0)
        y = standardized(y)  # targets near 1: sgd with these learning rates stays finite
    elif kind == "multilabel":
        X, y = make_multilabel_classification(n_samples=150, n_features=5, n_classes=3,
                                              random_state=0)
    else:
        n_classes = {"binary": 2, "binary_strings": 2, "multiclass": 3,
                     "multiclass_strings": 4}[kind]
        X, y = make_classification(n_samples=150, n_features=5, n_informative=3,
                                   n_redundant=1, n_classes=n_classes,
                                   n_clusters_per_class=1, random_state=0)
        if kind == "binary_strings":
            # "yes" for class 0: the sorted classes_ do not follow the generator's numbering
            y = np.array(["yes", "no"])[y]
        elif kind == "multiclass_strings":
            y = np.array(["owl", "cat", "emu", "bat"])[y]
    X = standardized(X)
    X.flags.writeable = False
    y.flags.writeable = False
    return X, y


def estimators(kind, **params):
    """(bpcore's estimator, scikit-learn's estimator) for this kind of problem, same params."""
    if kind.startswith("regression"):
        return MLPRegressor(**params), SkMLPRegressor(**params)
    return MLPClassifier(**params), SkMLPClassifier(**params)


def sample_weights(n, seed=1):
    return np.random.RandomState(seed).uniform(0.2, 2.0, size=n)


def convergence_warnings(method, *args, **kwargs):
    """Call method(*args, **kwargs); return how many ConvergenceWarnings it raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        method(*args, **kwargs)
    return sum(issubclass(warning.category, ConvergenceWarning) for warning in caught)


# ---- comparisons ----

def relative_difference(ours, theirs):
    """max|ours - theirs| / max|theirs| (0 when both are all zero)."""
    ours, theirs = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
    assert ours.shape == theirs.shape
    difference = np.max(np.abs(ours - theirs), initial=0.0)
    scale = np.max(np.abs(theirs), initial=0.0)
    return difference / scale if scale > 0 else difference


def assert_arrays_close(ours, theirs, name, rtol=RTOL):
    assert len(ours) == len(theirs), f"{name}: {len(ours)} arrays, scikit-learn has {len(theirs)}"
    for i, (a, b) in enumerate(zip(ours, theirs)):
        assert a.shape == b.shape, f"{name}[{i}]: shape {a.shape}, scikit-learn {b.shape}"
        assert a.dtype == b.dtype, f"{name}[{i}]: dtype {a.dtype}, scikit-learn {b.dtype}"
        difference = relative_difference(a, b)
        assert difference <= rtol, f"{name}[{i}] differs by {difference:.3g} relative"


def assert_close_or_both_none(ours, theirs, name, rtol=RTOL, atol=0.0):
    if theirs is None:
        assert ours is None, f"{name}: {ours!r}, scikit-learn None"
        return
    assert ours is not None, f"{name}: None, scikit-learn {theirs!r}"
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol, err_msg=name)


def assert_same_fit(ours, theirs):
    """The fitted state of a stochastic-solver fit matches scikit-learn's (see the docstring)."""
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.t_ == theirs.t_
    assert ours.n_layers_ == theirs.n_layers_
    assert ours.n_outputs_ == theirs.n_outputs_
    assert ours.out_activation_ == theirs.out_activation_
    assert ours.n_features_in_ == theirs.n_features_in_
    if hasattr(theirs, "classes_"):
        np.testing.assert_array_equal(ours.classes_, theirs.classes_)
    assert_arrays_close(ours.coefs_, theirs.coefs_, "coefs_")
    assert_arrays_close(ours.intercepts_, theirs.intercepts_, "intercepts_")
    assert len(ours.loss_curve_) == len(theirs.loss_curve_)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=RTOL, atol=0,
                               err_msg="loss_curve_")
    np.testing.assert_allclose(ours.loss_, theirs.loss_, rtol=RTOL, atol=0, err_msg="loss_")
    assert_close_or_both_none(ours.best_loss_, theirs.best_loss_, "best_loss_")
    # scores are accuracies or R^2, of order 1: an absolute 1e-8
    assert_close_or_both_none(ours.validation_scores_, theirs.validation_scores_,
                              "validation_scores_", rtol=0, atol=RTOL)
    assert_close_or_both_none(ours.best_validation_score_, theirs.best_validation_score_,
                              "best_validation_score_", rtol=0, atol=RTOL)
    assert isinstance(ours.network_, bpcore.Network)


def assert_same_predictions(ours, theirs, X, y, rtol=RTOL):
    """predict, predict_proba, predict_log_proba and score agree with scikit-learn's."""
    if hasattr(theirs, "classes_"):
        np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
        probabilities = theirs.predict_proba(X)
        ours_probabilities = ours.predict_proba(X)
        assert ours_probabilities.shape == probabilities.shape
        # probabilities lie in [0, 1]: an absolute tolerance
        np.testing.assert_allclose(ours_probabilities, probabilities, rtol=0, atol=rtol)
        # log-probabilities where the probability is not lost to rounding (1 - p near p = 1)
        kept = probabilities > 1e-10
        np.testing.assert_allclose(ours.predict_log_proba(X)[kept],
                                   theirs.predict_log_proba(X)[kept], rtol=0, atol=1e3 * rtol)
        assert ours.score(X, y) == theirs.score(X, y)
    else:
        predictions = theirs.predict(X)
        assert ours.predict(X).shape == predictions.shape
        assert relative_difference(ours.predict(X), predictions) <= rtol
        np.testing.assert_allclose(ours.score(X, y), theirs.score(X, y), rtol=0, atol=rtol)


def fit_both(kind, params, sample_weight=None):
    """Fit bpcore's and scikit-learn's estimator on `kind`'s data; check they match."""
    X, y = data(kind)
    ours, theirs = estimators(kind, **params)
    fit_params = {} if sample_weight is None else {"sample_weight": sample_weight}
    try:
        theirs_warnings = convergence_warnings(theirs.fit, X, y, **fit_params)
    except TypeError as error:  # e.g. 1.7's early stopping with string labels (isnan on text)
        pytest.skip(f"scikit-learn {sklearn.__version__} itself fails on this case: {error}")
    ours_warnings = convergence_warnings(ours.fit, X, y, **fit_params)
    assert ours_warnings == theirs_warnings
    return ours, theirs


# ---- the grid of stochastic-solver fits ----

BASE = dict(hidden_layer_sizes=(7, 4), max_iter=20, random_state=0)

CASES = [
    # sgd, constant rate: Nesterov, classic and no momentum
    ("regression", dict(solver="sgd", activation="relu", learning_rate_init=0.01,
                        momentum=0.9, nesterovs_momentum=True, batch_size=40)),
    ("binary", dict(solver="sgd", activation="tanh", learning_rate_init=0.05,
                    momentum=0.9, nesterovs_momentum=False, shuffle=False)),
    ("multiclass", dict(solver="sgd", activation="logistic", learning_rate_init=0.1,
                        momentum=0.0, early_stopping=True, n_iter_no_change=3)),
    ("regression", dict(solver="sgd", activation="identity", learning_rate_init=0.01,
                        alpha=0.5, tol=1e-2, n_iter_no_change=3)),
    ("multilabel", dict(solver="sgd", activation="logistic", learning_rate_init=0.1,
                        batch_size=40, random_state=3)),
    # sgd, invscaling: the rate changes at each epoch's end, the velocity carries the old one
    ("regression2", dict(solver="sgd", activation="tanh", learning_rate="invscaling",
                         learning_rate_init=0.05, momentum=0.9, batch_size=40)),
    ("multiclass_strings", dict(solver="sgd", activation="relu", learning_rate="invscaling",
                                learning_rate_init=0.1, power_t=0.25, momentum=0.5,
                                nesterovs_momentum=False, early_stopping=True, shuffle=False,
                                batch_size=40, n_iter_no_change=2)),
    ("binary_strings", dict(solver="sgd", activation="identity", learning_rate="invscaling",
                            learning_rate_init=0.1, alpha=0.0, nesterovs_momentum=False)),
    # sgd, adaptive: the rate is divided by 5 after n_iter_no_change + 1 bad epochs, and the
    # fit stops once it is <= 1e-6 (here within max_iter=30)
    ("binary", dict(solver="sgd", activation="identity", learning_rate="adaptive",
                    learning_rate_init=0.01, momentum=0.5, tol=0.05, n_iter_no_change=1,
                    max_iter=30, batch_size=40)),
    ("regression", dict(solver="sgd", activation="relu", learning_rate="adaptive",
                        learning_rate_init=0.05, early_stopping=True, tol=0.01,
                        n_iter_no_change=2, validation_fraction=0.2)),
    ("multiclass", dict(solver="sgd", activation="tanh", learning_rate="adaptive",
                        learning_rate_init=0.2, momentum=0.9, tol=1e-2, n_iter_no_change=2,
                        shuffle=False, random_state=4)),
    # adam (ignores learning_rate, power_t, momentum and nesterovs_momentum)
    ("regression", dict(solver="adam", activation="relu", learning_rate_init=0.01)),
    ("binary_strings", dict(solver="adam", activation="tanh", learning_rate_init=0.01,
                            early_stopping=True, shuffle=False, n_iter_no_change=3,
                            random_state=2)),
    ("multiclass", dict(solver="adam", activation="logistic", learning_rate_init=0.02,
                        alpha=0.1, batch_size=40)),
    ("multilabel", dict(solver="adam", activation="identity", learning_rate_init=0.01,
                        early_stopping=True, tol=0.01, n_iter_no_change=2, batch_size=40)),
    ("regression2", dict(solver="adam", activation="relu", learning_rate_init=0.01,
                         shuffle=False, tol=1e-2, n_iter_no_change=2)),
    ("multiclass_strings", dict(solver="adam", activation="tanh", learning_rate_init=0.01,
                                beta_1=0.8, beta_2=0.99, epsilon=1e-6, batch_size=40)),
    ("binary", dict(solver="adam", activation="relu", learning_rate="invscaling",
                    momentum=0.2, nesterovs_momentum=False, learning_rate_init=0.01,
                    validation_fraction=0.2, early_stopping=True)),
    ("regression", dict(solver="adam", activation="tanh", learning_rate_init=0.01,
                        n_iter_no_change=np.inf, tol=0.5, batch_size=64)),
    # loss='poisson': an exponential output, with 1 and 2 outputs
    ("regression_counts", dict(loss="poisson", solver="adam", activation="relu",
                               learning_rate_init=0.01)),
    ("regression_counts2", dict(loss="poisson", solver="sgd", activation="tanh",
                                learning_rate_init=0.01, momentum=0.9, early_stopping=True,
                                n_iter_no_change=3, batch_size=40)),
    # raw (unscaled) inputs: saturated outputs, scikit-learn's clipped loss values
    ("wine_raw", dict(solver="adam", activation="relu", hidden_layer_sizes=(20,),
                      max_iter=200)),
    ("breast_cancer_raw", dict(solver="sgd", activation="relu", hidden_layer_sizes=(20,),
                               max_iter=30, random_state=4)),
    # layer sizes as an int, and no hidden layer at all
    ("multiclass", dict(solver="sgd", activation="relu", learning_rate_init=0.05,
                        hidden_layer_sizes=5)),
    ("binary", dict(solver="adam", activation="relu", learning_rate_init=0.05,
                    hidden_layer_sizes=())),
]


def case_id(case):
    kind, params = case
    return kind + "-" + "-".join(f"{key}={value}" for key, value in params.items())


@pytest.mark.parametrize("kind, params", CASES, ids=[case_id(case) for case in CASES])
def test_stochastic_solver_fit_matches_scikit_learn(kind, params):
    ours, theirs = fit_both(kind, {**BASE, **params})
    assert_same_fit(ours, theirs)
    X, y = data(kind)
    assert_same_predictions(ours, theirs, X, y)


def test_a_diverging_momentum_fit_with_invscaling_ends_as_scikit_learn():
    # the velocity, rescaled at each new rate, goes non-finite with the parameters; early
    # stopping then gives back the best epoch's weights, in both
    rng = np.random.RandomState(0)
    X, y = rng.randn(31, 4) * 10, rng.randn(31)
    params = dict(hidden_layer_sizes=(6, 10, 11), solver="sgd", random_state=91,
                  activation="identity", batch_size=1, learning_rate="invscaling",
                  learning_rate_init=0.1, alpha=0.1, max_iter=2, shuffle=False, momentum=0.9,
                  early_stopping=True, n_iter_no_change=2, tol=0.01)
    models = [MLPRegressor(**params), SkMLPRegressor(**params)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # overflow in scikit-learn's NumPy, convergence
        for model in models:
            model.fit(X, y)
    ours, theirs = models
    assert not np.isfinite(theirs.loss_curve_).all()  # it did diverge
    assert_same_fit(ours, theirs)
    assert_same_predictions(ours, theirs, X, y)


def test_the_grid_covers_every_setting_and_both_ways_to_stop():
    """The grid above really covers what the module docstring says (it is easy to lose a setting
    while editing it), and the fits end in every way: max_iter, the tol rule, early stopping."""
    settings = [{**BASE, **params} for _, params in CASES]
    assert {s.get("solver") for s in settings} == {"sgd", "adam"}
    assert {s.get("activation") for s in settings} == {"identity", "logistic", "tanh", "relu"}
    sgd = [s for s in settings if s["solver"] == "sgd"]
    assert {s.get("learning_rate", "constant") for s in sgd} == {"constant", "invscaling",
                                                                 "adaptive"}
    assert {(s.get("momentum", 0.9) > 0, s.get("nesterovs_momentum", True)) for s in sgd} == {
        (True, True), (True, False), (False, True)}
    assert {s.get("early_stopping", False) for s in settings} == {True, False}
    assert {s.get("shuffle", True) for s in settings} == {True, False}
    assert {s.get("batch_size", "auto") for s in settings} >= {"auto", 40}
    assert {s.get("alpha", 1e-4) for s in settings} >= {0.0, 1e-4, 0.1}
    assert {kind for kind, _ in CASES} == {"regression", "regression2", "binary",
                                          "binary_strings", "multiclass",
                                          "multiclass_strings", "multilabel",
                                          "regression_counts", "regression_counts2",
                                          "wine_raw", "breast_cancer_raw"}
    # how scikit-learn's fits end: some stop early, some run to max_iter
    ends = set()
    for kind, params in CASES:
        X, y = data(kind)
        _, theirs = estimators(kind, **{**BASE, **params})
        warned = convergence_warnings(theirs.fit, X, y)
        ends.add("max_iter" if warned else "stopped")
    assert ends == {"max_iter", "stopped"}


# ---- sample weights ----

@needs_sample_weight
@pytest.mark.parametrize("kind, params", [
    ("regression", dict(solver="sgd", activation="tanh", learning_rate_init=0.01,
                        alpha=0.01, batch_size=40)),
    ("binary", dict(solver="adam", activation="relu", learning_rate_init=0.01,
                    early_stopping=True, n_iter_no_change=3)),
    ("multiclass_strings", dict(solver="sgd", activation="logistic", learning_rate_init=0.1,
                                learning_rate="invscaling", batch_size=40, alpha=0.1)),
    ("multilabel", dict(solver="adam", activation="tanh", learning_rate_init=0.01)),
], ids=["regression-sgd", "binary-adam-early_stopping", "multiclass-sgd-invscaling",
        "multilabel-adam"])
def test_sample_weights_match_scikit_learn(kind, params):
    X, y = data(kind)
    weights = sample_weights(len(X))
    ours, theirs = fit_both(kind, {**BASE, **params}, sample_weight=weights)
    assert_same_fit(ours, theirs)
    assert_same_predictions(ours, theirs, X, y)
    # the weights matter: an unweighted fit ends elsewhere
    unweighted, _ = fit_both(kind, {**BASE, **params})
    assert relative_difference(unweighted.coefs_[0], theirs.coefs_[0]) > 1e3 * RTOL


@needs_sample_weight
def test_scaled_sample_weights_change_the_l2_term_as_in_scikit_learn():
    """scikit-learn divides the L2 term by the batch's weight sum: weights x10 act as alpha/10.
    An estimator that normalised the weights first would give the same fit for both."""
    X, y = data("regression")
    params = dict(BASE, solver="sgd", activation="tanh", learning_rate_init=0.01, alpha=1.0)
    weights = sample_weights(len(X))
    ours, theirs = fit_both("regression", params, sample_weight=10 * weights)
    assert_same_fit(ours, theirs)
    once, _ = fit_both("regression", params, sample_weight=weights)
    assert relative_difference(once.coefs_[0], ours.coefs_[0]) > 1e3 * RTOL


# ---- warm_start and partial_fit: the state kept between calls ----

def test_warm_start_continues_like_scikit_learn():
    X, y = data("regression")
    params = dict(BASE, solver="sgd", activation="tanh", learning_rate="invscaling",
                  learning_rate_init=0.05, warm_start=True, max_iter=5, batch_size=40)
    ours, theirs = estimators("regression", **params)
    for max_iter in (5, 8):
        ours.set_params(max_iter=max_iter)
        theirs.set_params(max_iter=max_iter)
        assert convergence_warnings(ours.fit, X, y) == convergence_warnings(theirs.fit, X, y)
        assert_same_fit(ours, theirs)
    # t_ counts the samples of both fits, the loss curve grows across them, n_iter_ restarts
    assert ours.t_ == 13 * len(X) and len(ours.loss_curve_) == 13 and ours.n_iter_ == 8
    assert_same_predictions(ours, theirs, X, y)


def test_warm_start_after_early_stopping_matches_scikit_learn():
    """After an early-stopped fit, coefs_ *are* scikit-learn's best-weights arrays; the next warm
    fit trains them in place, and its "restore the best" gives those trained arrays back (a
    reference that restored a copy differed by 5e-2)."""
    X, y = data("multiclass")
    params = dict(BASE, solver="adam", activation="relu", learning_rate_init=0.05,
                  early_stopping=True, n_iter_no_change=2, warm_start=True, max_iter=30)
    ours, theirs = estimators("multiclass", **params)
    for _ in range(2):
        assert convergence_warnings(ours.fit, X, y) == convergence_warnings(theirs.fit, X, y)
        assert_same_fit(ours, theirs)
    assert len(theirs.validation_scores_) > theirs.n_iter_  # the lists grew across both fits
    assert_same_predictions(ours, theirs, X, y)


def test_fit_without_warm_start_starts_over():
    X, y = data("binary")
    params = dict(BASE, solver="sgd", activation="tanh", learning_rate_init=0.05)
    ours, theirs = estimators("binary", **params)
    for _ in range(2):
        assert convergence_warnings(ours.fit, X, y) == convergence_warnings(theirs.fit, X, y)
    assert_same_fit(ours, theirs)
    fresh, _ = fit_both("binary", params)
    assert ours.t_ == fresh.t_ and len(ours.loss_curve_) == len(fresh.loss_curve_)
    assert_arrays_close(ours.coefs_, fresh.coefs_, "coefs_ of a refit")


@pytest.mark.parametrize("kind, params", [
    ("multiclass_strings", dict(solver="sgd", activation="relu", learning_rate_init=0.05,
                                batch_size=20)),
    ("binary", dict(solver="adam", activation="tanh", learning_rate_init=0.01)),
    ("regression2", dict(solver="sgd", activation="tanh", learning_rate="invscaling",
                         learning_rate_init=0.05, nesterovs_momentum=False)),
    ("multilabel", dict(solver="adam", activation="logistic", learning_rate_init=0.05)),
], ids=["multiclass-sgd", "binary-adam", "regression2-sgd-invscaling", "multilabel-adam"])
def test_partial_fit_calls_match_scikit_learn(kind, params):
    """Several partial_fit calls on chunks of different sizes: one epoch each, the optimizer's
    state (velocities, Adam's moments and step) kept between calls."""
    X, y = data(kind)
    ours, theirs = estimators(kind, **{**BASE, **params})
    extra = {}  # the classifier needs its classes on the first call (multilabel: the labels)
    if kind == "multilabel":
        extra["classes"] = np.arange(y.shape[1])
    elif not kind.startswith("regression"):
        extra["classes"] = np.unique(y)
    for start, stop in [(0, 60), (60, 150), (0, 150), (30, 100)]:
        ours.partial_fit(X[start:stop], y[start:stop], **extra)
        theirs.partial_fit(X[start:stop], y[start:stop], **extra)
        extra = {}
        assert_same_fit(ours, theirs)
    assert ours.n_iter_ == 1 and ours.t_ == 60 + 90 + 150 + 70
    assert_same_predictions(ours, theirs, X, y)


@pytest.mark.parametrize("solver, change", [
    ("adam", dict(learning_rate_init=0.1, beta_1=0.5, beta_2=0.9, epsilon=1e-3)),
    ("sgd", dict(learning_rate_init=0.2, momentum=0.5, nesterovs_momentum=False)),
    ("sgd", dict(learning_rate="invscaling", power_t=0.9)),
    ("sgd", dict(solver="adam")),
    ("sgd", dict(alpha=0.1, batch_size=7)),  # read afresh by each call, on both sides
], ids=["adam", "sgd", "sgd-schedule", "sgd-to-adam", "alpha-batch"])
def test_partial_fit_keeps_its_optimizer_through_set_params_as_scikit_learn(solver, change):
    """scikit-learn makes its optimizer on the first partial_fit and keeps it: settings changed
    by set_params afterwards do not reach it (but alpha and batch_size do)."""
    X, y = data("binary")
    ours, theirs = estimators("binary", **{**BASE, "solver": solver, "activation": "tanh",
                                           "learning_rate_init": 0.01})
    for estimator in (ours, theirs):
        estimator.partial_fit(X, y, classes=np.unique(y))
        estimator.set_params(**change)
        for _ in range(3):
            estimator.partial_fit(X, y)
    assert_same_fit(ours, theirs)
    assert_same_predictions(ours, theirs, X, y)


@needs_sample_weight
def test_partial_fit_after_fit_with_sample_weights_matches_scikit_learn():
    X, y = data("binary_strings")
    weights = sample_weights(len(X))
    params = dict(BASE, solver="sgd", activation="logistic", learning_rate_init=0.1,
                  batch_size=40)
    ours, theirs = fit_both("binary_strings", params, sample_weight=weights)
    for _ in range(2):
        ours.partial_fit(X, y, sample_weight=weights)
        theirs.partial_fit(X, y, sample_weight=weights)
        assert_same_fit(ours, theirs)
    assert_same_predictions(ours, theirs, X, y)


# ---- random_state: None and RandomState instances ----

def test_random_state_none_draws_from_numpy_global_generator():
    X, y = data("multiclass")
    params = dict(BASE, solver="sgd", activation="tanh", learning_rate_init=0.05,
                  random_state=None)
    ours, theirs = estimators("multiclass", **params)
    np.random.seed(7)
    theirs_warnings = convergence_warnings(theirs.fit, X, y)
    np.random.seed(7)
    assert convergence_warnings(ours.fit, X, y) == theirs_warnings
    assert_same_fit(ours, theirs)


def test_random_state_instance_is_consumed_across_fits_as_in_scikit_learn():
    X, y = data("regression")
    params = dict(BASE, solver="adam", activation="relu", learning_rate_init=0.01,
                  max_iter=5, early_stopping=True)
    ours, theirs = estimators("regression", **params)
    ours.set_params(random_state=np.random.RandomState(11))
    theirs.set_params(random_state=np.random.RandomState(11))
    first = None
    for _ in range(2):
        assert convergence_warnings(ours.fit, X, y) == convergence_warnings(theirs.fit, X, y)
        assert_same_fit(ours, theirs)
        if first is None:
            first = [c.copy() for c in ours.coefs_]
    # the second fit drew new weights from the advanced generator
    assert relative_difference(ours.coefs_[0], first[0]) > 1e3 * RTOL


# ---- lbfgs ----

@pytest.mark.parametrize("kind, params, weighted", [
    ("regression", dict(activation="tanh"), False),
    ("regression2", dict(activation="relu", alpha=0.01), True),
    ("binary_strings", dict(activation="logistic"), False),
    ("multiclass", dict(activation="tanh", alpha=0.1), True),
    ("multilabel", dict(activation="relu"), False),
    ("multiclass_strings", dict(activation="identity", tol=1e-2), False),
    ("regression_counts2", dict(loss="poisson", activation="tanh"), True),
], ids=["regression", "regression2-weighted", "binary_strings", "multiclass-weighted",
        "multilabel", "multiclass_strings-tol", "poisson-weighted"])
def test_lbfgs_final_loss_matches_scikit_learn(kind, params, weighted):
    if weighted and not HAS_SAMPLE_WEIGHT:
        pytest.skip("the installed scikit-learn's MLP has no sample_weight")
    X, y = data(kind)
    weights = sample_weights(len(X)) if weighted else None
    ours, theirs = fit_both(kind, {**BASE, "solver": "lbfgs", "max_iter": 30, **params},
                            sample_weight=weights)
    assert ours.n_iter_ == theirs.n_iter_
    np.testing.assert_allclose(ours.loss_, theirs.loss_, rtol=LBFGS_RTOL, atol=0)
    assert ours.t_ == theirs.t_ == 0
    for name in ("loss_curve_", "best_loss_", "validation_scores_", "best_validation_score_"):
        assert hasattr(ours, name) == hasattr(theirs, name), name


# ---- conversions ----

CONVERTED = [
    ("regression", dict(solver="adam", activation="relu")),
    ("regression2", dict(solver="lbfgs", activation="tanh")),
    ("binary_strings", dict(solver="sgd", activation="logistic", learning_rate_init=0.1)),
    ("multiclass_strings", dict(solver="adam", activation="tanh")),
    ("multilabel", dict(solver="lbfgs", activation="identity")),
    ("regression_counts", dict(loss="poisson", solver="adam", activation="relu")),
]


@pytest.mark.parametrize("kind, params", CONVERTED, ids=[kind for kind, _ in CONVERTED])
def test_from_sklearn_predicts_like_the_sklearn_model(kind, params):
    X, y = data(kind)
    _, theirs = estimators(kind, **{**BASE, **params})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs.fit(X, y)
    ours = from_sklearn(theirs)
    assert type(ours) is (MLPRegressor if kind.startswith("regression") else MLPClassifier)
    assert isinstance(ours.network_, bpcore.Network)
    assert {k: v for k, v in ours.get_params().items() if k != "dtype"} == theirs.get_params()
    assert_arrays_close(ours.coefs_, theirs.coefs_, "coefs_", rtol=0)
    assert_arrays_close(ours.intercepts_, theirs.intercepts_, "intercepts_", rtol=0)
    assert_same_predictions(ours, theirs, X, y, rtol=CONVERT_RTOL)
    # and back: the same model again
    back = to_sklearn(ours)
    assert type(back) is type(theirs)
    assert back.get_params() == theirs.get_params()
    assert_arrays_close(back.coefs_, theirs.coefs_, "coefs_", rtol=0)
    assert_same_predictions(back, theirs, X, y, rtol=CONVERT_RTOL)


def test_conversions_refuse_the_other_librarys_estimator_naming_its_module():
    # the two libraries' classes share their names: the message says which one it got
    with pytest.raises(TypeError, match=r"^estimator must be scikit-learn's MLPClassifier or "
                                        r"MLPRegressor, got bpcore\.sklearn\.MLPClassifier$"):
        from_sklearn(MLPClassifier())
    with pytest.raises(TypeError, match=r"^estimator must be bpcore\.sklearn's MLPClassifier or "
                                        r"MLPRegressor, got sklearn\.neural_network\.\S+"
                                        r"\.MLPRegressor$"):
        to_sklearn(SkMLPRegressor())


def test_from_sklearn_takes_the_dtype_by_name_as_the_estimators_do():
    X, y = data("binary")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs = SkMLPClassifier(hidden_layer_sizes=(3,), max_iter=5, random_state=0).fit(X, y)
    # a numpy type would be kept as the estimator's dtype parameter, which then refuses it
    # at the next fit or clone
    with pytest.raises(TypeError, match=r"^dtype must be the string 'float64' or 'float32', "
                                        r"got <class 'numpy.float32'>: pass dtype='float32'$"):
        from_sklearn(theirs, dtype=np.float32)
    for given, meant in ((float, "float64"), (None, "float64"), (np.dtype("float32"), "float32")):
        with pytest.raises(TypeError, match=rf": pass dtype='{meant}'$"):
            from_sklearn(theirs, dtype=given)
    with pytest.raises(TypeError, match=r"got <class 'numpy.float16'>$"):  # nothing to advise
        from_sklearn(theirs, dtype=np.float16)
    with pytest.raises(ValueError, match="^dtype must be 'float64' or 'float32', got 'float16'$"):
        from_sklearn(theirs, dtype="float16")
    ours = from_sklearn(theirs, dtype="float32")
    assert ours.network_.dtype == np.float32
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        assert clone(ours).fit(X, y).network_.dtype == np.float32


@pytest.mark.parametrize("kind", ["regression2", "binary", "multiclass_strings"])
def test_to_sklearn_predicts_like_the_bpcore_model(kind):
    X, y = data(kind)
    ours, _ = estimators(kind, **BASE, solver="adam", learning_rate_init=0.01)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours.fit(X, y)
    theirs = to_sklearn(ours)
    assert type(theirs) is (SkMLPRegressor if kind.startswith("regression") else SkMLPClassifier)
    assert_arrays_close(theirs.coefs_, ours.coefs_, "coefs_", rtol=0)
    assert_same_predictions(ours, theirs, X, y, rtol=CONVERT_RTOL)
