"""bpcore.sklearn's MLPClassifier / MLPRegressor are drop-in replacements for scikit-learn's: the
same constructor (plus `dtype`), the same exceptions and warnings for the same bad input, its
estimator checks pass, and they work in its tools (clone, pipelines, grid searches, pickle).

The numbers themselves (coefs_, n_iter_, losses, predictions equal to scikit-learn's) are tested
in tests/test_sklearn_parity.py. Where a test asks "does ours raise like scikit-learn's?", it
calls scikit-learn's estimator with the same input and compares, rather than restating what
scikit-learn does.
"""
import inspect
import pickle
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")

from sklearn.base import clone  # noqa: E402
from sklearn.datasets import make_classification, make_regression  # noqa: E402
from sklearn.exceptions import (ConvergenceWarning, DataConversionWarning,  # noqa: E402
                                NotFittedError)
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score  # noqa: E402
from sklearn.neural_network import MLPClassifier as SkMLPClassifier  # noqa: E402
from sklearn.neural_network import MLPRegressor as SkMLPRegressor  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils._param_validation import InvalidParameterError  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402
from sklearn.utils.validation import check_is_fitted  # noqa: E402

import bpcore  # noqa: E402
from bpcore.sklearn import MLPClassifier, MLPRegressor, from_sklearn, to_sklearn  # noqa: E402

PAIRS = [(MLPClassifier, SkMLPClassifier), (MLPRegressor, SkMLPRegressor)]
PAIR_IDS = ["classifier", "regressor"]


def classification(n=60, n_classes=3, seed=0):
    X, y = make_classification(n_samples=n, n_features=4, n_informative=3, n_redundant=0,
                               n_classes=n_classes, n_clusters_per_class=1, random_state=seed)
    return X, y


def regression(n=60, seed=0):
    X, y = make_regression(n_samples=n, n_features=4, noise=1.0, random_state=seed)
    return X, y / y.std()


def data_for(estimator_class):
    return classification() if estimator_class is MLPClassifier else regression()


def raised(call):
    """The exception call() raises, or None; warnings (ConvergenceWarning...) are silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            call()
        except Exception as error:  # noqa: BLE001 - the type is what is compared
            return error
    return None


def assert_raises_like_scikit_learn(ours_call, theirs_call):
    """ours_call raises an exception of exactly the type theirs_call raises (or neither raises);
    returns our exception."""
    theirs = raised(theirs_call)
    ours = raised(ours_call)
    assert type(ours) is type(theirs), f"ours: {ours!r}; scikit-learn: {theirs!r}"
    return ours


# ---- the constructor: scikit-learn's, plus dtype ----

@pytest.mark.parametrize("ours, theirs", PAIRS, ids=PAIR_IDS)
def test_constructor_is_scikit_learns_plus_dtype(ours, theirs):
    ours_parameters = list(inspect.signature(ours).parameters.values())
    theirs_parameters = list(inspect.signature(theirs).parameters.values())
    # the same names, order, kinds (positional or keyword-only) and defaults ...
    assert [(p.name, p.kind, p.default) for p in ours_parameters[:-1]] == \
        [(p.name, p.kind, p.default) for p in theirs_parameters]
    # ... and one keyword-only addition
    dtype = ours_parameters[-1]
    assert (dtype.name, dtype.kind, dtype.default) == ("dtype", dtype.KEYWORD_ONLY, "float64")
    assert ours().get_params() == {**theirs().get_params(), "dtype": "float64"}


@pytest.mark.parametrize("ours, theirs", PAIRS, ids=PAIR_IDS)
def test_clone_set_params_and_repr(ours, theirs):
    params = dict(hidden_layer_sizes=(8, 4), solver="sgd", learning_rate_init=0.05,
                  early_stopping=True, random_state=3)
    estimator = ours(**params, dtype="float32")
    copy = clone(estimator)
    assert copy is not estimator and copy.get_params() == estimator.get_params()
    assert "dtype='float32'" in repr(estimator) and "learning_rate_init=0.05" in repr(estimator)
    assert estimator.set_params(alpha=0.5, dtype="float64") is estimator
    assert estimator.get_params()["alpha"] == 0.5 and estimator.get_params()["dtype"] == "float64"
    error = assert_raises_like_scikit_learn(lambda: estimator.set_params(lr=0.1),
                                            lambda: theirs().set_params(lr=0.1))
    assert isinstance(error, ValueError) and "lr" in str(error)
    # a clone of a fitted estimator is not fitted
    X, y = data_for(ours)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator.set_params(max_iter=3).fit(X, y)
    check_is_fitted(estimator)
    with pytest.raises(NotFittedError):
        check_is_fitted(clone(estimator))


# ---- bad parameters and bad data: the same exception types as scikit-learn ----

BAD_PARAMETERS = [
    dict(alpha=-1.0), dict(activation="swish"), dict(solver="newton"), dict(batch_size=0),
    dict(batch_size="big"), dict(learning_rate="fast"), dict(learning_rate_init=0.0),
    dict(power_t=-0.5), dict(max_iter=0), dict(max_iter=2.5), dict(shuffle=1),
    dict(random_state=-1), dict(random_state="seed"), dict(tol=-1e-3), dict(verbose=-1),
    dict(warm_start="no"), dict(momentum=1.5), dict(momentum=-0.1),
    dict(nesterovs_momentum=None), dict(early_stopping="yes"), dict(validation_fraction=1.0),
    dict(beta_1=1.0), dict(beta_2=-0.1), dict(epsilon=0.0), dict(n_iter_no_change=0),
    dict(n_iter_no_change=2.5), dict(max_fun=0), dict(hidden_layer_sizes=0),
    dict(hidden_layer_sizes="7"), dict(hidden_layer_sizes=[3, 0]),
    dict(early_stopping=True, validation_fraction=0.0),
]


@pytest.mark.parametrize("ours, theirs", PAIRS, ids=PAIR_IDS)
@pytest.mark.parametrize("params", BAD_PARAMETERS,
                         ids=["-".join(f"{k}={v}" for k, v in p.items()) for p in BAD_PARAMETERS])
def test_bad_parameters_raise_like_scikit_learn(ours, theirs, params):
    X, y = data_for(ours)
    # the constructor stores; fit validates (scikit-learn's convention, which clone relies on)
    settings = {"max_iter": 2, **params}
    estimator = ours(**settings)
    assert estimator.get_params()[next(iter(params))] is next(iter(params.values()))
    error = assert_raises_like_scikit_learn(lambda: estimator.fit(X, y),
                                            lambda: theirs(**settings).fit(X, y))
    assert isinstance(error, ValueError)
    if isinstance(error, InvalidParameterError):
        assert f"'{next(iter(params))}' parameter" in str(error)
    elif "hidden_layer_sizes" in params:
        assert "hidden_layer_sizes" in str(error)


@pytest.mark.parametrize("ours", [MLPClassifier, MLPRegressor])
@pytest.mark.parametrize("hidden, kind, message", [
    ((4, 2.5), TypeError, "hidden_layer_sizes[1] must be a whole number of units, got 2.5"),
    ((True,), TypeError, "hidden_layer_sizes[0] must be a whole number of units, got True"),
    ((3, None), TypeError, "hidden_layer_sizes[1] must be a whole number of units, got None"),
    (("10",), TypeError, "hidden_layer_sizes[0] must be a whole number of units, got '10'"),
    ((8, 2**24 + 1), ValueError, f"hidden_layer_sizes[1] must be at most {2**24} units"),
    (2**25, ValueError, f"hidden_layer_sizes must be at most {2**24} units"),  # one number
])
def test_hidden_layer_sizes_entries_that_are_no_widths_are_named(ours, hidden, kind, message):
    """Entries scikit-learn's parameter check lets through (it checks the container only):
    a clear error naming the entry, where scikit-learn fails inside NumPy or takes True for
    one unit. Too wide is bpcore's own limit."""
    X, y = data_for(ours)
    with pytest.raises(kind) as raised:
        ours(hidden_layer_sizes=hidden, max_iter=2).fit(X, y)
    assert message in str(raised.value)


@pytest.mark.parametrize("ours, theirs", PAIRS, ids=PAIR_IDS)
def test_a_width_below_one_is_scikit_learns_error_before_any_type_error(ours, theirs):
    X, y = data_for(ours)
    error = assert_raises_like_scikit_learn(
        lambda: ours(hidden_layer_sizes=(2.5, -1), max_iter=2).fit(X, y),
        lambda: theirs(hidden_layer_sizes=(2.5, -1), max_iter=2).fit(X, y))
    assert "hidden_layer_sizes must be > 0" in str(error)


def test_regressor_bad_loss_and_both_bad_dtype():
    X, y = regression()
    assert_raises_like_scikit_learn(lambda: MLPRegressor(loss="huber").fit(X, y),
                                    lambda: SkMLPRegressor(loss="huber").fit(X, y))
    for ours, (X, y) in [(MLPRegressor, regression()), (MLPClassifier, classification())]:
        for dtype in ("float16", "float"):
            with pytest.raises(InvalidParameterError, match="'dtype' parameter"):
                ours(dtype=dtype, max_iter=2).fit(X, y)


def test_poisson_refuses_negative_targets():
    """An intended difference: scikit-learn's Poisson loss turns negative targets into NaN;
    bpcore refuses them before training."""
    X, y = regression()
    with pytest.raises(ValueError, match="poisson"):
        MLPRegressor(loss="poisson", max_iter=2).fit(X, y - y.max() - 1.0)
    fitted = MLPRegressor(loss="poisson", max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fitted.fit(X, np.abs(y))
    assert fitted.out_activation_ == "exp" and fitted.network_.output == "exp"
    assert (fitted.predict(X) > 0).all()


def test_sample_weights_summing_past_float64_are_refused():
    # their mean weighted the losses by 0: the fit reported a loss of 0 and trained nothing
    # (scikit-learn's sgd and adam raise a ValueError too, after training)
    for ours, (X, y) in [(MLPRegressor, regression()), (MLPClassifier, classification())]:
        weights = np.ones(len(X))
        weights[:3] = 1e308
        for solver in ("sgd", "adam", "lbfgs"):
            with pytest.raises(ValueError, match=r"^sample_weight sums past float64's range; "
                                                 r"only the weights' ratios matter"):
                ours(solver=solver, max_iter=2).fit(X, y, sample_weight=weights)


def test_negative_sample_weights_are_refused():
    """An intended difference: scikit-learn accepts negative weights; bpcore refuses them."""
    for ours, (X, y) in [(MLPRegressor, regression()), (MLPClassifier, classification())]:
        weights = np.ones(len(X))
        weights[3] = -0.5
        for call in (lambda e: e.fit(X, y, sample_weight=weights),
                     lambda e: e.partial_fit(X, y, sample_weight=weights,
                                             **({"classes": np.unique(y)}
                                                if ours is MLPClassifier else {}))):
            with pytest.raises(ValueError, match="sample_weight"):
                call(ours(solver="sgd", max_iter=2))
        # zero weights are fine
        weights[3] = 0.0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            ours(max_iter=2).fit(X, y, sample_weight=weights)


def with_nan(values, where=(0, 0)):
    values = np.array(values, dtype=float)
    values[where] = np.nan
    return values


# (name, the estimators it applies to, (X, y) -> (X, y, fit's keyword arguments, parameters))
BAD_DATA = [
    ("X NaN", "both", lambda X, y: (with_nan(X), y, {}, {})),
    ("X inf", "both", lambda X, y: (np.where(X > 1, np.inf, X), y, {}, {})),
    ("X 1-D", "both", lambda X, y: (X[:, 0], y, {}, {})),
    ("X no rows", "both", lambda X, y: (X[:0], y[:0], {}, {})),
    ("X strings", "both", lambda X, y: (X.astype(str).astype(object) + "a", y, {}, {})),
    ("X complex", "both", lambda X, y: (X + 1j, y, {}, {})),
    ("lengths differ", "both", lambda X, y: (X[:-1], y, {}, {})),
    ("sample_weight length", "both",
     lambda X, y: (X, y, {"sample_weight": np.ones(len(X) - 1)}, {})),
    ("sample_weight 2-D", "both",
     lambda X, y: (X, y, {"sample_weight": np.ones((len(X), 1))}, {})),
    ("too small validation set", "both",
     lambda X, y: (X[:10], y[:10], {}, {"early_stopping": True})),
    ("y NaN", "regressor", lambda X, y: (X, with_nan(y, 0), {}, {})),
    ("y continuous", "classifier", lambda X, y: (X, X[:, 0], {}, {})),
]
BAD_DATA_CASES = [(ours, theirs, name, make) for name, applies, make in BAD_DATA
                  for (ours, theirs), kind in zip(PAIRS, PAIR_IDS) if applies in ("both", kind)]


@pytest.mark.parametrize("ours, theirs, name, make", BAD_DATA_CASES,
                         ids=[f"{ours.__name__}-{name}" for ours, _, name, _ in BAD_DATA_CASES])
def test_bad_data_raises_like_scikit_learn(ours, theirs, name, make):
    X, y, fit_params, params = make(*data_for(ours))
    settings = dict(hidden_layer_sizes=(5,), max_iter=3, random_state=0, **params)
    error = assert_raises_like_scikit_learn(lambda: ours(**settings).fit(X, y, **fit_params),
                                            lambda: theirs(**settings).fit(X, y, **fit_params))
    assert isinstance(error, ValueError)


def test_one_class_fits_like_scikit_learn():
    X, y = classification()
    y = np.full(len(X), "only")
    settings = dict(hidden_layer_sizes=(5,), max_iter=3, random_state=0)
    ours, theirs = MLPClassifier(**settings), SkMLPClassifier(**settings)
    assert assert_raises_like_scikit_learn(lambda: ours.fit(X, y),
                                           lambda: theirs.fit(X, y)) is None
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    assert ours.predict_proba(X).shape == theirs.predict_proba(X).shape


@pytest.mark.parametrize("ours, theirs", PAIRS, ids=PAIR_IDS)
def test_before_fit_and_bad_input_at_prediction(ours, theirs):
    X, y = data_for(ours)
    methods = ["predict", "predict_proba", "predict_log_proba"] if ours is MLPClassifier \
        else ["predict"]
    for method in methods:
        with pytest.raises(NotFittedError):
            getattr(ours(), method)(X)
    with pytest.raises(NotFittedError):
        ours().score(X, y)
    assert not hasattr(ours(), "coefs_") and not hasattr(ours(), "network_")
    settings = dict(hidden_layer_sizes=(5,), max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fitted, reference = ours(**settings).fit(X, y), theirs(**settings).fit(X, y)
    infinite = np.array(X, dtype=float)
    infinite[1, 2] = -np.inf
    for method in methods:
        for bad in (X[:, :3], with_nan(X), infinite, X[0], np.zeros((0, X.shape[1]))):
            error = assert_raises_like_scikit_learn(lambda: getattr(fitted, method)(bad),
                                                    lambda: getattr(reference, method)(bad))
            assert isinstance(error, ValueError)
            if not np.isfinite(bad).all():  # the same words: "Input X contains NaN."
                assert str(error) == str(raised(lambda: getattr(reference, method)(bad)))


def test_partial_fit_errors_like_scikit_learn():
    X, y = classification()
    sk = SkMLPClassifier(hidden_layer_sizes=(5,), random_state=0)
    ours = MLPClassifier(hidden_layer_sizes=(5,), random_state=0)
    # the first call needs the classes
    error = assert_raises_like_scikit_learn(lambda: ours.partial_fit(X, y),
                                            lambda: sk.partial_fit(X, y))
    assert isinstance(error, ValueError) and "classes" in str(error)
    ours.partial_fit(X, y, classes=[0, 1, 2])
    sk.partial_fit(X, y, classes=[0, 1, 2])
    # later calls: other classes, an unknown label, the wrong number of features
    for bad in [lambda e: e.partial_fit(X, y, classes=[0, 1]),
                lambda e: e.partial_fit(X[:2], [0, 7]),
                lambda e: e.partial_fit(X[:, :3], y)]:
        error = assert_raises_like_scikit_learn(lambda: bad(ours), lambda: bad(sk))
        assert isinstance(error, ValueError)
    # partial_fit validates the parameters as fit does
    for params in (dict(alpha=-1.0), dict(momentum=2.0, solver="sgd")):
        error = assert_raises_like_scikit_learn(
            lambda: MLPClassifier(**params).partial_fit(X, y, classes=[0, 1, 2]),
            lambda: SkMLPClassifier(**params).partial_fit(X, y, classes=[0, 1, 2]))
        assert isinstance(error, InvalidParameterError)
        assert f"'{next(iter(params))}' parameter" in str(error)
    with pytest.raises(InvalidParameterError, match="'dtype' parameter"):
        MLPClassifier(dtype="float16").partial_fit(X, y, classes=[0, 1, 2])
    # partial_fit does not early-stop
    for ours_class, theirs_class, (X, y), extra in [
            (MLPClassifier, SkMLPClassifier, classification(), {"classes": [0, 1, 2]}),
            (MLPRegressor, SkMLPRegressor, regression(), {})]:
        error = assert_raises_like_scikit_learn(
            lambda: ours_class(early_stopping=True).partial_fit(X, y, **extra),
            lambda: theirs_class(early_stopping=True).partial_fit(X, y, **extra))
        assert isinstance(error, ValueError) and "early_stopping" in str(error)
    # lbfgs has no partial_fit in the classifier (scikit-learn's regressor keeps it: a whole fit)
    assert not hasattr(SkMLPClassifier(solver="lbfgs"), "partial_fit")
    assert not hasattr(MLPClassifier(solver="lbfgs"), "partial_fit")
    assert hasattr(MLPClassifier(solver="sgd"), "partial_fit")
    assert hasattr(MLPRegressor(solver="lbfgs"), "partial_fit") == \
        hasattr(SkMLPRegressor(solver="lbfgs"), "partial_fit")


def test_warm_start_with_other_classes_raises_like_scikit_learn():
    X, y = classification()
    settings = dict(hidden_layer_sizes=(5,), max_iter=3, random_state=0, warm_start=True)
    ours, theirs = MLPClassifier(**settings), SkMLPClassifier(**settings)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours.fit(X, y)
        theirs.fit(X, y)
    keep = y < 2
    error = assert_raises_like_scikit_learn(lambda: ours.fit(X[keep], y[keep]),
                                            lambda: theirs.fit(X[keep], y[keep]))
    assert isinstance(error, ValueError) and "warm_start" in str(error)


@pytest.mark.parametrize("ours, theirs", PAIRS, ids=PAIR_IDS)
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_warnings_like_scikit_learn(ours, theirs):
    X, y = data_for(ours)
    # batch_size larger than the data: clipped, with a UserWarning
    for estimator in (ours(batch_size=500, max_iter=2), theirs(batch_size=500, max_iter=2)):
        with pytest.warns(UserWarning, match="batch_size"):
            estimator.fit(X, y)
    # y as a column: raveled, with a DataConversionWarning
    for estimator in (ours(max_iter=2), theirs(max_iter=2)):
        with pytest.warns(DataConversionWarning):
            estimator.fit(X, y[:, None])
    # max_iter reached
    for estimator in (ours(max_iter=2, tol=0), theirs(max_iter=2, tol=0)):
        with pytest.warns(ConvergenceWarning, match="Maximum iterations"):
            estimator.fit(X, y)


# ---- dtype ----

@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_float32_networks_train_in_float32(solver):
    X, y = classification(n=150)
    X = StandardScaler().fit_transform(X)
    settings = dict(hidden_layer_sizes=(7, 4), solver=solver, max_iter=3, random_state=0,
                    learning_rate_init=0.01)
    ours = MLPClassifier(**settings, dtype="float32")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours.fit(X, y)  # float64 X: computed in float32 all the same
        theirs = SkMLPClassifier(**settings).fit(X.astype(np.float32), y)
    assert ours.network_.dtype == np.float32
    assert all(c.dtype == np.float32 for c in ours.coefs_ + ours.intercepts_)
    assert np.isfinite(ours.loss_)
    probabilities = ours.predict_proba(X)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    if solver == "lbfgs":
        return  # scikit-learn's L-BFGS hands back float64 weights from SciPy
    # scikit-learn's sgd and adam on float32 X compute in float32 too: the same start, the same
    # updates, so after 3 epochs the weights differ only by float32 rounding (eps 1.2e-7),
    # summed in different orders
    for ours_coef, theirs_coef in zip(ours.coefs_, theirs.coefs_):
        assert theirs_coef.dtype == np.float32
        difference = np.max(np.abs(ours_coef - theirs_coef)) / np.max(np.abs(theirs_coef))
        assert difference <= 1e-4


def test_float32_regressor_and_float64_default():
    X, y = regression()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        single = MLPRegressor(hidden_layer_sizes=(5,), max_iter=3, dtype="float32",
                              random_state=0).fit(X, y)
        double = MLPRegressor(hidden_layer_sizes=(5,), max_iter=3, random_state=0).fit(
            X.astype(np.float32), y)
    assert single.coefs_[0].dtype == np.float32 and single.network_.dtype == np.float32
    # the default is float64, even for float32 X (scikit-learn would follow X)
    assert double.coefs_[0].dtype == np.float64 and double.network_.dtype == np.float64
    assert single.predict(X).shape == (len(X),)


# ---- the network, sparse input, feature names ----

def test_network_holds_the_fitted_weights():
    X, y = regression()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        regressor = MLPRegressor(hidden_layer_sizes=(6, 3), max_iter=5, random_state=0).fit(X, y)
    network = regressor.network_
    assert isinstance(network, bpcore.Network)
    assert network.sizes == (4, 6, 3, 1)
    for coef, weights, intercept, biases in zip(regressor.coefs_, network.weights,
                                                regressor.intercepts_, network.biases):
        np.testing.assert_array_equal(coef, weights.T)
        np.testing.assert_array_equal(intercept, biases)
    np.testing.assert_allclose(network.predict(X).ravel(), regressor.predict(X), rtol=1e-12)


def test_sparse_input_predicts_like_dense():
    scipy_sparse = pytest.importorskip("scipy.sparse")
    X, y = classification()
    X[np.abs(X) < 0.5] = 0.0
    settings = dict(hidden_layer_sizes=(5,), max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        dense = MLPClassifier(**settings).fit(X, y)
        sparse = MLPClassifier(**settings).fit(scipy_sparse.csr_matrix(X), y)
    for a, b in zip(dense.coefs_, sparse.coefs_):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=0)
    np.testing.assert_allclose(dense.predict_proba(scipy_sparse.csc_matrix(X)),
                               dense.predict_proba(X), rtol=1e-12)


def test_feature_names_like_scikit_learn():
    pandas = pytest.importorskip("pandas")
    X, y = classification()
    frame = pandas.DataFrame(X, columns=["a", "b", "c", "d"])
    settings = dict(hidden_layer_sizes=(5,), max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = MLPClassifier(**settings).fit(frame, y)
        theirs = SkMLPClassifier(**settings).fit(frame, y)
    np.testing.assert_array_equal(ours.feature_names_in_, theirs.feature_names_in_)
    renamed = frame.rename(columns={"a": "z"})
    error = assert_raises_like_scikit_learn(lambda: ours.predict(renamed),
                                            lambda: theirs.predict(renamed))
    assert isinstance(error, ValueError) and "feature names" in str(error)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        assert not hasattr(MLPClassifier(**settings).fit(X, y), "feature_names_in_")


# ---- scikit-learn's estimator checks ----

def expected_failed_checks(estimator):
    """Checks that cannot pass, by name, with the reason. None at present: scikit-learn's own
    MLPs pass every check with max_iter=100, and these reproduce them."""
    return {}


estimator_checks = parametrize_with_checks(
    [MLPClassifier(max_iter=100), MLPRegressor(max_iter=100)],
    expected_failed_checks=expected_failed_checks)


@estimator_checks
def test_scikit_learn_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


# ---- in scikit-learn's tools; pickling ----

def test_pipeline_cross_val_score_and_threaded_grid_search():
    joblib = pytest.importorskip("joblib")
    X, y = classification(n=120)
    model = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(8,), max_iter=30,
                                                          learning_rate_init=0.01,
                                                          random_state=0))
    cv = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        scores = cross_val_score(model, X, y, cv=cv)
        assert scores.shape == (3,) and scores.mean() > 0.7
        grid = {"mlpclassifier__hidden_layer_sizes": [(4,), (8,)],
                "mlpclassifier__learning_rate_init": [0.01, 0.03]}
        serial = GridSearchCV(model, grid, cv=cv).fit(X, y)
        with joblib.parallel_backend("threading"):
            threaded = GridSearchCV(model, grid, cv=cv, n_jobs=2).fit(X, y)
    assert threaded.best_params_ == serial.best_params_
    np.testing.assert_array_equal(threaded.cv_results_["mean_test_score"],
                                  serial.cv_results_["mean_test_score"])
    assert isinstance(threaded.best_estimator_[-1].network_, bpcore.Network)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_pickled_estimators_predict_and_train_on_identically(solver):
    X, y = classification()
    estimator = MLPClassifier(hidden_layer_sizes=(5,), solver=solver, max_iter=3,
                              random_state=np.random.RandomState(0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator.fit(X, y)
    twin = pickle.loads(pickle.dumps(estimator))
    np.testing.assert_array_equal(twin.predict_proba(X), estimator.predict_proba(X))
    # the optimizer's state and the generator travel too: training goes on exactly alike
    estimator.partial_fit(X, y)
    twin.partial_fit(X, y)
    for a, b in zip(twin.coefs_, estimator.coefs_):
        np.testing.assert_array_equal(a, b)
    assert twin.t_ == estimator.t_


def test_import_without_scikit_learn_says_what_is_missing():
    # a child process where `import sklearn` fails, as on an install without the extra
    code = textwrap.dedent("""
        import sys
        sys.modules["sklearn"] = None
        import bpcore
        try:
            import bpcore.sklearn
        except ImportError as error:
            assert "scikit-learn" in str(error), error
            print("ok")
    """)
    # from /, so that a source checkout in the working directory is not imported instead
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, cwd="/")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_stochastic_fits_hold_blas_to_one_thread(monkeypatch, solver):
    """Mini-batch epochs run with one BLAS thread (threads spinning against busy cores made
    fits many times slower), and the process's limits are back afterwards."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    monkeypatch.setattr(bpcore.sklearn, "_ONE_THREAD_WORK", 0)  # these small fits too

    def blas_threads():
        return [pool["num_threads"] for pool in threadpoolctl.threadpool_info()
                if pool["user_api"] == "blas"]
    before, seen = blas_threads(), []
    original = bpcore.Network.train_epoch

    def watched(self, *args, **kwargs):
        seen.append(blas_threads())
        return original(self, *args, **kwargs)
    monkeypatch.setattr(bpcore.Network, "train_epoch", watched)
    X, y = classification()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        MLPClassifier(solver=solver, max_iter=3, random_state=0).fit(X, y)
    assert seen and all(threads == [1] * len(threads) for threads in seen), seen
    assert blas_threads() == before


def test_text_targets_and_fractional_layer_sizes_are_type_errors():
    X, y = regression()
    with pytest.raises(TypeError, match="y must hold numbers"):
        MLPRegressor(max_iter=2).fit(X, y.astype(str))
    with pytest.raises(TypeError, match=r"hidden_layer_sizes\[0\] must be a whole number"):
        MLPRegressor(hidden_layer_sizes=(10.5,), max_iter=2).fit(X, y)
    with pytest.raises(TypeError):  # scikit-learn's own type, for the same input
        SkMLPRegressor(hidden_layer_sizes=(10.5,), max_iter=2).fit(X, y)


def test_lbfgs_loss_is_a_numpy_float_as_in_scikit_learn():
    X, y = regression()
    ours = MLPRegressor(solver="lbfgs", max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours.fit(X, y)
    assert type(ours.loss_) is np.float64


def test_fits_in_threads_give_the_blas_limits_back_when_the_last_ends(monkeypatch):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    import threading
    monkeypatch.setattr(bpcore.sklearn, "_ONE_THREAD_WORK", 0)  # these small fits too

    def blas_threads():
        return [pool["num_threads"] for pool in threadpoolctl.threadpool_info()
                if pool["user_api"] == "blas"]
    before = blas_threads()
    X, y = classification()
    first_epoch, release = threading.Event(), threading.Event()
    original = bpcore.Network.train_epoch

    def slow_first(self, *args, **kwargs):  # the first fit waits inside its first epoch
        if threading.current_thread().name == "first" and not first_epoch.is_set():
            first_epoch.set()
            release.wait(timeout=30)
        return original(self, *args, **kwargs)

    def fit():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            MLPClassifier(max_iter=2, random_state=0).fit(X, y)
    monkeypatch.setattr(bpcore.Network, "train_epoch", slow_first)
    try:
        first = threading.Thread(target=fit, name="first")
        first.start()
        assert first_epoch.wait(timeout=30)
        fit()  # a second fit starts and ends while the first runs
        # the first still holds the limit (its value is not read here: OpenBLAS ignores a
        # limit set from another thread once one was set and lifted in the process)
        assert bpcore.sklearn._ONE_BLAS_THREAD.users == 1
        release.set()
        first.join(timeout=60)
    finally:
        release.set()
    assert blas_threads() == before


def test_assigning_a_layer_of_coefs_changes_the_model_as_in_scikit_learn():
    X, y = regression()
    models = [MLPRegressor(solver="lbfgs", max_iter=5, random_state=0),
              SkMLPRegressor(solver="lbfgs", max_iter=5, random_state=0)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for model in models:
            model.fit(X, y)
            model.coefs_[0] = np.zeros_like(model.coefs_[0])
            model.intercepts_[1] = np.array([7.0])
    ours, theirs = models
    np.testing.assert_allclose(ours.predict(X[:3]), theirs.predict(X[:3]), rtol=1e-12)
    assert np.all(ours.coefs_[0] == 0) and ours.coefs_[0].shape == theirs.coefs_[0].shape


def test_assigning_coefs_checks_each_layer_and_writes_the_model():
    X, y = regression()
    model = MLPRegressor(hidden_layer_sizes=(3,), solver="lbfgs", max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    shapes = [c.shape for c in model.coefs_]
    with pytest.raises(ValueError, match=r"coefs_\[0\] must have shape"):
        model.coefs_[0] = np.zeros(shapes[0][::-1])
    with pytest.raises(ValueError, match="intercepts_ must have 2 arrays"):
        model.intercepts_ = [np.zeros(3)]
    with pytest.raises(TypeError, match="one layer at a time"):
        model.coefs_[0:1] = [np.zeros(shapes[0])]
    model.coefs_ = [np.full(shape, 0.5) for shape in shapes]
    model.intercepts_ = [np.zeros(3), np.array([2.0])]
    # every hidden unit's ReLU sees 0.5 * sum(x): the output is 2 + 3 * 0.5 * relu(...)
    expected = 2.0 + 1.5 * np.maximum(0.5 * X[:4].sum(axis=1), 0.0)
    np.testing.assert_allclose(model.predict(X[:4]), expected, rtol=1e-12)


def test_warm_start_after_a_new_activation_follows_scikit_learn():
    X, y = regression()
    results = []
    for kind in (MLPRegressor, SkMLPRegressor):
        model = kind(hidden_layer_sizes=(7,), max_iter=5, random_state=0, warm_start=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X, y)
            model.set_params(activation="tanh")
            before = model.predict(X[:5])
            model.fit(X, y)
        results.append((before, model.coefs_[0]))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-12)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-10, atol=1e-14)


def test_a_float32_estimator_names_y_when_y_is_beyond_float32():
    X, y = regression()
    y = y.copy()
    y[3] = 1e39  # finite in float64, as scikit-learn's checks see it
    with pytest.raises(ValueError, match=r"^y must be finite in float32, the estimator's dtype, "
                                         r"but y\[3\] = 1e\+39 is beyond its range"):
        MLPRegressor(hidden_layer_sizes=(3,), dtype="float32").fit(X, y)
    Y = np.column_stack([y, y])
    Y[3, 0] = 0.0
    with pytest.raises(ValueError, match=r"y\[3, 1\] = 1e\+39"):
        MLPRegressor(hidden_layer_sizes=(3,), dtype="float32").fit(X, Y)


def test_predict_after_set_params_leaves_the_fitted_model_as_it_is():
    X, y = regression()
    model = MLPRegressor(hidden_layer_sizes=(7,), max_iter=5, random_state=0, warm_start=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    network, coefs = model.network_, [c.copy() for c in model.coefs_]
    model.set_params(dtype="float32", activation="tanh")
    predicted = model.predict(X[:5])
    # computed as the new parameters say, by a network of the fitted weights
    expected = bpcore.Network(network.sizes, activation="tanh", output="identity",
                              dtype="float32")
    expected.set_state({"parameters": network.get_state()["parameters"]})
    np.testing.assert_array_equal(predicted, expected.predict(X[:5].astype(np.float32))[:, 0])
    assert model.network_ is network and network.activation == "relu"
    for kept, coef in zip(coefs, model.coefs_):
        assert coef.dtype == np.float64
        np.testing.assert_array_equal(coef, kept)
    with warnings.catch_warnings():  # training on takes them up
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    assert model.network_.dtype == np.float32 and model.network_.activation == "tanh"


def test_training_on_under_a_loss_that_needs_another_output_is_refused():
    """An intended difference: scikit-learn trains its identity output under the Poisson
    loss (NaN losses); bpcore refuses, leaves the model as it was, and predicts with it."""
    X, y = regression()
    y = np.abs(y)
    for warm_start, train_on in [(True, "fit"), (False, "partial_fit")]:
        model = MLPRegressor(hidden_layer_sizes=(5,), max_iter=3, random_state=0,
                             warm_start=warm_start)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X, y)
        before, steps = model.predict(X), model.t_
        kept = {name: value for name, value in vars(model).items() if name.endswith("_")
                and np.isscalar(value)}
        model.set_params(loss="poisson")
        with pytest.raises(ValueError, match="loss='poisson' needs an exp output"):
            getattr(model, train_on)(X, np.c_[y, y])  # refused before y is looked at
        np.testing.assert_array_equal(model.predict(X), before)
        assert {name: getattr(model, name) for name in kept} == kept  # n_outputs_ too
        model.set_params(loss="squared_error")
        with pytest.raises(ValueError, match="y has 2 outputs, but the fitted network has 1"):
            getattr(model, train_on)(X, np.c_[y, y])
        assert {name: getattr(model, name) for name in kept} == kept
        model.set_params(loss="squared_error")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            getattr(model, train_on)(X, y)  # back to its own loss: trains on
        assert model.t_ > steps


def test_refusals_come_before_any_weights_are_drawn():
    X, y = regression()
    for model, target in [(MLPRegressor(solver="sgd", momentum=1.0), y),
                          (MLPRegressor(loss="poisson"), y - y.max() - 1)]:
        with pytest.raises(ValueError):
            model.fit(X, target)
        with pytest.raises(NotFittedError):
            model.predict(X)


def test_conversions_copy_what_training_changes():
    X, y = classification()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs = SkMLPClassifier(max_iter=3, random_state=0, warm_start=True).fit(X, y)
        ours = from_sklearn(theirs)
        curve = list(theirs.loss_curve_)
        ours.fit(X, y)
        assert theirs.loss_curve_ == curve and len(ours.loss_curve_) == 2 * len(curve)
        back = to_sklearn(MLPClassifier(max_iter=3, early_stopping=True,
                                        random_state=0).fit(X, y))
        back.set_params(warm_start=True).fit(X, y)  # needs scikit-learn's _best_coefs


def test_a_converted_early_stopping_model_keeps_its_warm_start_epochs_as_scikit_learns():
    # scikit-learn's early-stopping fit leaves _best_coefs the same list as coefs_, so a
    # warm-start fit without a better validation score keeps its epochs' weights; copies
    # made by to_sklearn would have put the old weights back
    X, y = classification()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        native = SkMLPClassifier((16,), max_iter=30, early_stopping=True, random_state=0)
        converted = to_sklearn(MLPClassifier((16,), max_iter=30, early_stopping=True,
                                             random_state=0).fit(X, y))
        for model in (native.fit(X, y), converted):
            before = model.coefs_[0].copy()
            model.set_params(warm_start=True, max_iter=5).fit(X, y)
            assert not np.array_equal(model.coefs_[0], before)


def test_an_estimator_pickled_by_an_earlier_bpcore_is_refused_clearly():
    X, y = regression()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        state = MLPRegressor(max_iter=2, random_state=0).fit(X, y).__getstate__()
    # what the earlier estimators held: a network and target scaling, none of these
    del state["n_layers_"]
    state.update(y_mean_=np.zeros(1), y_scale_=np.ones(1))
    with pytest.raises(ValueError, match="pickled by an earlier bpcore"):
        MLPRegressor().__setstate__(state)


def test_a_small_partial_fit_leaves_the_blas_threads_alone(monkeypatch):
    """Finding the BLAS libraries takes milliseconds: a partial_fit on a few rows skips it."""
    pytest.importorskip("threadpoolctl")
    import threadpoolctl
    calls = []
    original = threadpoolctl.threadpool_limits
    monkeypatch.setattr(threadpoolctl, "threadpool_limits",
                        lambda *args, **kwargs: calls.append(1) or original(*args, **kwargs))
    X, y = classification()
    model = MLPClassifier(hidden_layer_sizes=(8,), random_state=0)
    model.partial_fit(X[:32], y[:32], classes=np.unique(y))
    assert calls == []
    monkeypatch.setattr(bpcore.sklearn, "_ONE_THREAD_WORK", 0)
    model.partial_fit(X[:32], y[:32])
    assert calls == [1]
