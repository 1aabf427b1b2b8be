"""Side-by-side timings of bpcore's backends, plain NumPy and PyTorch (CPU, when installed).

Run: `pytest benchmarks/ --benchmark-only` (add `--benchmark-columns=min,mean,ops` to taste).
The same workloads as `bpcore bench`, whose table gives the ratios in one run, including its
comparisons with FANN's incremental training and scikit-learn's MLPClassifier (skipped when
the library is not installed; `bpcore.bench.estimators` holds the latter's cases).
"""
import warnings

import numpy as np
import pytest
from numpy_baseline import NumpyNetwork

from bpcore import bench
from bpcore._backend import use_backend
from bpcore.bench import estimators
from bpcore.bench.fann import Fann, connection_count

CASES = {case.key: case for case in bench.cases("default")}
IMPLEMENTATIONS = ["compiled", "fallback", "numpy", "torch"]
TRAINING = ["tiny_online", "mid_online", "mid_batch_f32", "mid_batch_f64", "large_batch_f32"]


def _trainer(key, implementation):
    case = CASES[key]
    X, Y = bench._data(case)
    compiled = bench._have_compiled()
    if implementation == "compiled" and not compiled:
        pytest.skip("bpcore._kernels is not built")
    if implementation == "torch" and bench._torch() is None:
        pytest.skip("PyTorch is not installed")
    if implementation == "numpy":
        baseline = NumpyNetwork.like(bench._network(case))
        rng = np.random.default_rng(0)
        return lambda: baseline.fit(X, Y, epochs=1, lr=case.lr, batch_size=case.batch_size,
                                    rng=rng)
    return bench._trainers(case, X, Y, compiled)[implementation]


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize("key", TRAINING)
def test_train_epoch(benchmark, key, implementation):
    benchmark.group = f"one epoch: {CASES[key].title}"
    slow = implementation in ("fallback", "numpy", "torch") or key == "large_batch_f32"
    train = _trainer(key, implementation)
    if slow:
        benchmark.pedantic(train, rounds=3, iterations=1, warmup_rounds=1)
    else:
        benchmark(train)


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_predict_one_sample(benchmark, implementation):
    benchmark.group = "predict latency: 4-4-4-1, one sample"
    case = CASES["tiny_online"]
    network = bench._network(case)
    x = np.random.default_rng(3).standard_normal(case.sizes[0])
    if implementation == "numpy":
        benchmark(NumpyNetwork.like(network).predict, x)
        return
    if implementation == "torch":
        torch = bench._torch()
        if torch is None:
            pytest.skip("PyTorch is not installed")
        model = bench._torch_model(torch, network)

        def predict(x):
            with torch.inference_mode():
                return model(torch.from_numpy(x)).numpy()
        benchmark(predict, x)
        return
    if implementation == "compiled" and not bench._have_compiled():
        pytest.skip("bpcore._kernels is not built")
    with use_backend(bench.BACKENDS[implementation]):
        benchmark(network.predict, x)


FANN_CASES = {case.key: case for case in bench.fann_cases("default")}


@pytest.mark.parametrize("implementation", ["compiled", "fann"])
@pytest.mark.parametrize("key", list(FANN_CASES))
def test_fann_online_epoch(benchmark, key, implementation):
    """One online epoch, in the rows' order: Network.fit against FANN's fann_train_epoch
    (FANN_TRAIN_INCREMENTAL, same network, starting weights and data; compare per sample)."""
    case = FANN_CASES[key]
    benchmark.group = (f"FANN comparison, one epoch of {case.n_samples} samples, "
                       f"{connection_count(case.sizes)} connections: {case.title}")
    lib = bench.fann_library()
    if lib is None:
        pytest.skip("FANN (libdoublefann, Debian package libfann-dev) is not installed")
    if not bench._have_compiled():
        pytest.skip("bpcore._kernels is not built")
    X, Y = bench._data(case)
    network = bench._network(case)
    if implementation == "fann":
        benchmark(Fann(lib, network, X, Y, case.lr).train_epoch)
        return

    def train():
        with use_backend("cython"):
            network.fit(X, Y, epochs=1, lr=case.lr, batch_size=1, shuffle=False)
    benchmark(train)


FIT_CASES = {case.key: case for case in estimators.fit_cases("default")}


@pytest.mark.parametrize("implementation", ["compiled", "sklearn"])
@pytest.mark.parametrize("key", list(FIT_CASES))
def test_sklearn_classifier_fit(benchmark, key, implementation):
    """bpcore.sklearn.MLPClassifier against scikit-learn's, the same parameters: one fit."""
    case = FIT_CASES[key]
    benchmark.group = f"scikit-learn comparison: {case.title}"
    if bench._sklearn() is None:
        pytest.skip("scikit-learn is not installed")
    if not bench._have_compiled():
        pytest.skip("bpcore._kernels is not built")
    from sklearn.exceptions import ConvergenceWarning
    X, y = estimators.load_data(case.data, case.n_samples)
    ours, theirs = estimators.estimator_pair(case)
    estimator = theirs if implementation == "sklearn" else ours

    def fit():
        with warnings.catch_warnings():  # max_iter reached: wanted, every iteration runs
            warnings.simplefilter("ignore", ConvergenceWarning)
            estimator.fit(X, y)
    with use_backend("cython"):
        benchmark.pedantic(fit, rounds=3, iterations=1, warmup_rounds=1)
