"""Grid search over bpcore networks, spread over a Dask cluster through joblib.

    python examples/dask_grid_search.py                      # a local cluster: 2 processes
    python examples/dask_grid_search.py --workers 4
    python examples/dask_grid_search.py --scheduler tcp://scheduler:8786   # a real cluster
    python examples/dask_grid_search.py --compare            # also run it serially and check

Needs `pip install "bpcore[dask]"` (scikit-learn, dask and distributed). Without --scheduler
the script starts a LocalCluster of worker processes on the loopback interface. On a real
cluster, start a scheduler (`dask scheduler`) and workers (`dask worker tcp://scheduler:8786`,
one thread each suits bpcore: an sgd or adam fit runs its epochs in compiled code that releases
the GIL, with its BLAS held to one thread)
on machines that have the same bpcore, NumPy and scikit-learn installed, and pass the
scheduler's address. Only the estimators and the data travel to the workers (pickled); each
fit runs where the scheduler puts it, and the search's result does not depend on where.
"""
import argparse
import time

import joblib
import numpy as np
from dask.distributed import Client, LocalCluster
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from bpcore.datasets import load_iris
from bpcore.sklearn import MLPClassifier


def make_search(n_jobs):
    model = make_pipeline(StandardScaler(), MLPClassifier(max_iter=2000, random_state=0))
    grid = {"mlpclassifier__hidden_layer_sizes": [(8,), (16,), (32,)],
            "mlpclassifier__learning_rate_init": [0.003, 0.01, 0.03],
            "mlpclassifier__alpha": [1e-4, 1e-2]}
    cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    return GridSearchCV(model, grid, cv=cv, n_jobs=n_jobs)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="a running scheduler, e.g. tcp://scheduler:8786 (default: start a "
                             "local cluster)")
    parser.add_argument("--workers", type=int, default=2,
                        help="worker processes of the local cluster (default 2)")
    parser.add_argument("--compare", action="store_true",
                        help="run the same search serially and check the results are equal")
    args = parser.parse_args()

    X, y = load_iris()
    if args.scheduler:
        client, cluster = Client(args.scheduler), None   # e.g. Client("tcp://scheduler:8786")
    else:
        cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address=None)
        client = Client(cluster)
    try:
        print(f"cluster: {client.scheduler_info()['address']} with "
              f"{len(client.scheduler_info()['workers'])} workers")
        start = time.perf_counter()
        with joblib.parallel_backend("dask"):
            search = make_search(n_jobs=-1).fit(X, y)
        spread_seconds = time.perf_counter() - start
    finally:
        client.close()
        if cluster is not None:
            cluster.close()

    n_fits = len(search.cv_results_["params"]) * search.n_splits_
    print(f"{n_fits} fits on the cluster in {spread_seconds:.1f} s")
    print(f"best parameters: {search.best_params_}")
    print(f"best cross-validated accuracy: {search.best_score_:.4f}")
    order = np.argsort(search.cv_results_["rank_test_score"])[:5]
    for index in order:
        print(f"  {search.cv_results_['mean_test_score'][index]:.4f} "
              f"+- {search.cv_results_['std_test_score'][index]:.4f}  "
              f"{search.cv_results_['params'][index]}")

    if args.compare:
        start = time.perf_counter()
        serial = make_search(n_jobs=None).fit(X, y)
        print(f"serially in {time.perf_counter() - start:.1f} s")
        assert serial.best_params_ == search.best_params_
        np.testing.assert_allclose(serial.cv_results_["mean_test_score"],
                                   search.cv_results_["mean_test_score"], rtol=0, atol=1e-12)
        print("the serial search gives the same result")


if __name__ == "__main__":
    main()
