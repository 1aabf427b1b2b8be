"""bpcore.sklearn: the estimators pass scikit-learn's own estimator checks, work in its tools
(Pipeline, cross_val_score, GridSearchCV on threads), learn iris and digits about as well as
scikit-learn's MLPClassifier, and pickle.

Like every test, these run on both backends (tests/conftest.py). The heavy ones (the ~110
estimator checks, digits, the comparison with scikit-learn) take the `backend` fixture and run
only on "cython": on the pure-Python fallback they take minutes and test nothing the backend
tests do not already (the two backends train alike to 1e-10). The small tests run on both.
"""
import pickle
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")

import joblib  # noqa: E402  (scikit-learn depends on it)
from sklearn.exceptions import ConvergenceWarning, NotFittedError  # noqa: E402
from sklearn.model_selection import (GridSearchCV, StratifiedKFold, cross_val_score,  # noqa: E402
                                     train_test_split)
from sklearn.neural_network import MLPClassifier as SklearnMLPClassifier  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import bpcore  # noqa: E402
from bpcore.datasets import load_digits, load_iris  # noqa: E402
from bpcore.sklearn import MLPClassifier, MLPRegressor  # noqa: E402

# The estimators implement the estimator protocol themselves instead of inheriting from
# BaseEstimator (so bpcore.sklearn imports without scikit-learn); scikit-learn warns about
# that when collecting the checks, but every check passes.
NOT_BASE_ESTIMATOR = "ignore:Estimator .* does not inherit from `sklearn.base.BaseEstimator`"
pytestmark = pytest.mark.filterwarnings(NOT_BASE_ESTIMATOR)


def expected_failed_checks(estimator):
    """Checks known to fail, by name with the reason; none at present. (check_array_api_input
    skips itself unless SCIPY_ARRAY_API=1; the estimators do not claim array API support.)"""
    return {}


with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Estimator .* does not inherit")
    estimator_checks = parametrize_with_checks(
        [MLPRegressor(), MLPClassifier()], expected_failed_checks=expected_failed_checks)


@estimator_checks
def test_scikit_learn_estimator_checks(estimator, check, backend):
    if backend == "python":
        pytest.skip("the ~110 checks take minutes on the fallback; both backends train alike")
    check(estimator)


def iris_split(seed=0):
    X, y = load_iris()
    return train_test_split(X, y, test_size=0.25, stratify=y, random_state=seed)


# ---- small tests, on both backends ----

def test_classifier_learns_iris_with_string_labels(backend):
    X_train, X_test, y_train, y_test = iris_split()
    model = make_pipeline(StandardScaler(), MLPClassifier(epochs=30, random_state=0))
    model.fit(X_train, y_train)
    classifier = model[-1]
    assert classifier.classes_.tolist() == ["setosa", "versicolor", "virginica"]
    assert classifier.network_.sizes == (4, 32, 3)
    assert classifier.network_.output == "softmax"
    assert classifier.n_iter_ == len(classifier.loss_curve_) == 30
    assert classifier.loss_curve_[-1] < classifier.loss_curve_[0]
    probabilities = model.predict_proba(X_test)
    assert probabilities.shape == (len(X_test), 3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-12)
    assert set(model.predict(X_test)) <= set(classifier.classes_)
    assert model.score(X_test, y_test) >= 0.9


def test_binary_classifier_has_one_sigmoid_output(backend):
    X, y = load_iris()
    keep = y != "setosa"
    classifier = MLPClassifier(hidden_layer_sizes=(8,), epochs=20, random_state=0)
    classifier.fit(StandardScaler().fit_transform(X[keep]), y[keep])
    assert classifier.network_.sizes == (4, 8, 1)
    assert classifier.network_.loss_name == "binary_cross_entropy"
    probabilities = classifier.predict_proba(StandardScaler().fit_transform(X[keep]))
    assert probabilities.shape == (keep.sum(), 2)
    assert classifier.score(StandardScaler().fit_transform(X[keep]), y[keep]) >= 0.85


def test_regressor_fits_one_and_several_outputs(backend):
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(60, 3))
    Y = np.column_stack([1000 * X @ [1.0, -2.0, 0.5] + 5000, np.sin(2 * X[:, 0])])
    single = MLPRegressor(hidden_layer_sizes=(16,), epochs=60, random_state=0).fit(X, Y[:, 0])
    assert single.predict(X).shape == (60,)
    assert single.score(X, Y[:, 0]) > 0.9  # targets in the thousands: learnt standardized
    double = MLPRegressor(hidden_layer_sizes=(16,), epochs=60, random_state=0).fit(X, Y)
    assert double.predict(X).shape == (60, 2)
    assert double.n_outputs_ == 2 and double.network_.output == "identity"
    assert double.score(X, Y) > 0.8


def test_partial_fit_trains_one_epoch_per_call(backend):
    X_train, X_test, y_train, y_test = iris_split()
    X_train = StandardScaler().fit(X_train).transform(X_train)
    classifier = MLPClassifier(random_state=0)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        classifier.partial_fit(X_train, y_train)
    classes = ["setosa", "versicolor", "virginica"]
    classifier.partial_fit(X_train[:40], y_train[:40], classes=classes)
    network = classifier.network_
    for start in range(40, len(X_train), 40):
        classifier.partial_fit(X_train[start:start + 40], y_train[start:start + 40])
    assert classifier.network_ is network
    assert classifier.n_iter_ == len(classifier.loss_curve_) == 3
    with pytest.raises(ValueError, match="not the same"):
        classifier.partial_fit(X_train, y_train, classes=["setosa", "versicolor"])
    with pytest.raises(ValueError, match="not in classes_"):
        classifier.partial_fit(X_train[:2], ["setosa", "rose"])
    with pytest.raises(ValueError, match="X has 3 features, but MLPClassifier is expecting 4"):
        classifier.partial_fit(X_train[:, :3], y_train)


def test_errors_before_fit_and_on_bad_input(backend):
    classifier = MLPClassifier(random_state=0)  # a fixed start: the same run on every machine
    with pytest.raises(NotFittedError):
        classifier.predict(np.zeros((2, 4)))
    X, y = load_iris()
    classifier.set_params(epochs=2).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        classifier.predict(X[:, :3])
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        classifier.predict(bad)
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        MLPClassifier(epochs=1).fit(X, X[:, 0])
    with pytest.raises(ValueError, match="learning rate|lr must"):
        MLPClassifier(lr=-1.0).fit(X, y)
    with pytest.raises(ValueError, match="activation must be one of"):
        MLPRegressor(activation="swish").fit(X, X[:, 0])


def test_params_round_trip_and_clone(backend):
    classifier = MLPClassifier(hidden_layer_sizes=(8, 4), lr=0.05)
    params = classifier.get_params()
    assert params["hidden_layer_sizes"] == (8, 4) and params["lr"] == 0.05
    assert repr(classifier) == "MLPClassifier(hidden_layer_sizes=(8, 4), lr=0.05)"
    copy = sklearn.clone(classifier)
    assert copy.get_params() == params and copy is not classifier
    with pytest.raises(ValueError, match="Invalid parameter 'learning_rate'"):
        classifier.set_params(learning_rate=0.1)


def test_estimators_and_networks_pickle_to_identical_predictions(backend):
    X_train, X_test, y_train, _ = iris_split()
    model = make_pipeline(StandardScaler(), MLPClassifier(epochs=5, random_state=1))
    model.fit(X_train, y_train)
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict_proba(X_test), model.predict_proba(X_test))
    np.testing.assert_array_equal(restored.predict(X_test), model.predict(X_test))
    network = pickle.loads(pickle.dumps(model[-1].network_))
    X_scaled = model[0].transform(X_test)
    np.testing.assert_array_equal(network.predict(X_scaled), model[-1].network_.predict(X_scaled))
    # the generator state travels too: training the copy goes on exactly like the original
    regressor = MLPRegressor(hidden_layer_sizes=(4,), epochs=3, random_state=2)
    regressor.fit(X_train[:, :3], X_train[:, 3])
    twin = pickle.loads(pickle.dumps(regressor))
    regressor.partial_fit(X_train[:, :3], X_train[:, 3])
    twin.partial_fit(X_train[:, :3], X_train[:, 3])
    np.testing.assert_array_equal(twin.predict(X_test[:, :3]), regressor.predict(X_test[:, :3]))


def test_imports_and_works_without_scikit_learn():
    # a child process where `import sklearn` fails, as on an install without the extra
    code = textwrap.dedent("""
        import sys
        sys.modules["sklearn"] = None
        import numpy as np
        import bpcore.sklearn as bs
        assert "sklearn" not in [m for m in sys.modules if sys.modules[m] is not None]
        X = np.random.default_rng(0).normal(size=(40, 3))
        y = np.where(X[:, 0] > 0, "yes", "no")
        c = bs.MLPClassifier(hidden_layer_sizes=(4,), epochs=20, random_state=0)
        assert c.set_params(lr=0.05) is c and c.get_params()["lr"] == 0.05
        try:
            c.predict(X)
        except ValueError as error:
            assert isinstance(error, AttributeError) and error.__class__ is bs.NotFittedError
        else:
            raise AssertionError("predict before fit did not raise")
        assert c.fit(X, y).score(X, y) > 0.8
        r = bs.MLPRegressor(hidden_layer_sizes=(4,), epochs=20, random_state=0).fit(X, X[:, 1])
        assert r.score(X, X[:, 1]) > 0.5
        print("ok")
    """)
    # from /, so that a source checkout in the working directory is not imported instead
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, cwd="/")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


# ---- scikit-learn's tools, on the compiled backend ----

def test_pipeline_cross_val_score_and_threaded_grid_search(backend):
    if backend == "python":
        pytest.skip("a dozen fits: slow on the fallback; the small tests above cover it")
    X, y = load_iris()
    model = make_pipeline(StandardScaler(), MLPClassifier(epochs=40, random_state=0))
    cv = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
    scores = cross_val_score(model, X, y, cv=cv)
    assert scores.shape == (3,) and scores.mean() > 0.9

    grid = {"mlpclassifier__hidden_layer_sizes": [(8,), (16,)],
            "mlpclassifier__lr": [0.01, 0.03]}
    serial = GridSearchCV(model, grid, cv=cv).fit(X, y)
    with joblib.parallel_backend("threading"):
        threaded = GridSearchCV(model, grid, cv=cv, n_jobs=2).fit(X, y)
    assert threaded.best_params_ == serial.best_params_
    np.testing.assert_array_equal(threaded.cv_results_["mean_test_score"],
                                  serial.cv_results_["mean_test_score"])
    assert threaded.best_score_ > 0.9
    assert isinstance(threaded.best_estimator_[-1].network_, bpcore.Network)


def mean_accuracies(load, seeds, epochs=200, hidden=(32,)):
    """Mean test accuracy of bpcore's and scikit-learn's MLPClassifier (same hidden sizes and
    number of epochs, each with its defaults otherwise) over a few seeded stratified splits."""
    X, y = load()
    ours, theirs = [], []
    for seed in seeds:
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=0.25, stratify=y, random_state=seed)
        ours.append(make_pipeline(StandardScaler(), MLPClassifier(
            hidden_layer_sizes=hidden, epochs=epochs, random_state=seed))
            .fit(X_train, y_train).score(X_test, y_test))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            theirs.append(make_pipeline(StandardScaler(), SklearnMLPClassifier(
                hidden_layer_sizes=hidden, max_iter=epochs, random_state=seed))
                .fit(X_train, y_train).score(X_test, y_test))
    return float(np.mean(ours)), float(np.mean(theirs))


@pytest.mark.parametrize("load", [load_iris, load_digits], ids=["iris", "digits"])
def test_accuracy_matches_scikit_learn(load, backend):
    if backend == "python":
        pytest.skip("200 epochs of digits take minutes on the fallback")
    ours, theirs = mean_accuracies(load, seeds=[0, 1, 2])
    print(f"{load.__name__}: bpcore {ours:.4f}, scikit-learn {theirs:.4f}")
    assert ours >= theirs - 0.02
    assert ours >= 0.9
