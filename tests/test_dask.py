"""A grid search of bpcore.sklearn estimators spread over Dask workers gives exactly the result
of the same search run serially.

The cluster is two worker processes on the loopback interface. Worker processes pick their
kernels when they import bpcore, from BPCORE_BACKEND, not from the conftest fixture that swaps
them in this process, so the cluster is started with BPCORE_BACKEND set to this run's backend:
both sides then train with the same kernels and must agree to the last bit.
"""
import numpy as np
import pytest

pytest.importorskip("sklearn")
distributed = pytest.importorskip("distributed")

import joblib  # noqa: E402
from sklearn.model_selection import GridSearchCV, StratifiedKFold  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from bpcore.datasets import load_iris  # noqa: E402
from bpcore.sklearn import MLPClassifier  # noqa: E402

pytestmark = [
    pytest.mark.slow,
    # distributed may warn about a port or a slow shutdown; neither is what is tested here
    pytest.mark.filterwarnings("ignore::UserWarning:distributed"),
]


def grid_search():
    model = make_pipeline(StandardScaler(),
                          MLPClassifier(max_iter=20, random_state=0, tol=0.1))
    grid = {"mlpclassifier__hidden_layer_sizes": [(4,), (8,)],
            "mlpclassifier__learning_rate_init": [0.01, 0.05]}
    cv = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
    return GridSearchCV(model, grid, cv=cv, n_jobs=-1)


def test_grid_search_on_a_dask_cluster_equals_the_serial_search(backend):
    X, y = load_iris()
    with joblib.parallel_backend("sequential"):
        serial = grid_search().fit(X, y)

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None,
                                  env={"BPCORE_BACKEND": backend}) as cluster, \
            distributed.Client(cluster) as client:
        backends = client.run(lambda: __import__("bpcore").backend)
        assert sorted(backends.values()) == [backend, backend]
        with joblib.parallel_backend("dask"), distributed.get_task_stream(client) as tasks:
            spread = grid_search().fit(X, y)
        # the fits really ran on the workers, not in this process
        assert len(tasks.data) > 0

    assert spread.best_params_ == serial.best_params_
    for key in ("mean_test_score", "std_test_score", "split0_test_score",
                "split1_test_score", "split2_test_score"):
        np.testing.assert_allclose(spread.cv_results_[key], serial.cv_results_[key],
                                   rtol=0, atol=1e-12)
    X_scaled = spread.best_estimator_[0].transform(X)
    np.testing.assert_array_equal(spread.best_estimator_[-1].network_.predict(X_scaled),
                                  serial.best_estimator_[-1].network_.predict(X_scaled))


def test_the_example_script_builds_a_search_that_fits():
    """examples/dask_grid_search.py's grid names parameters the estimators take."""
    import importlib.util
    from pathlib import Path
    path = Path(__file__).resolve().parents[1] / "examples" / "dask_grid_search.py"
    spec = importlib.util.spec_from_file_location("dask_grid_search", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    search = example.make_search(n_jobs=1)
    first = {name: values[0] for name, values in search.param_grid.items()}
    X, y = load_iris()
    model = search.estimator.set_params(**first).fit(X, y)
    assert model.score(X, y) > 0.9
