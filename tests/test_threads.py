"""Threads: the compiled kernels release the GIL, so shared networks and parallel training must
give exactly the serial results."""
import multiprocessing
import os
import threading

import numpy as np
import pytest

import bpcore


def data(n=400, n_in=8, n_out=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, n_in)), rng.uniform(size=(n, n_out))


def run_in_threads(functions):
    """Run each function in its own thread, started together; return their results in order."""
    barrier = threading.Barrier(len(functions))
    results, errors = [None] * len(functions), []

    def worker(i, function):
        try:
            barrier.wait()
            results[i] = function()
        except BaseException as error:  # reported in the main thread
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(i, f)) for i, f in enumerate(functions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
        assert not thread.is_alive(), "a thread did not finish"
    if errors:
        raise errors[0]
    return results


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_concurrent_predict_on_one_network_matches_serial(dtype):
    X, _ = data()
    net = bpcore.Network([8, 32, 16, 3], activation="tanh", dtype=dtype, seed=5)
    inputs = [X[i::4] * (i + 1) for i in range(4)]  # different data for each thread
    serial = [net.predict(x) for x in inputs]
    before = net.get_state()["parameters"].copy()

    def many(x):
        return lambda: [net.predict(x) for _ in range(25)]

    for outputs, expected in zip(run_in_threads([many(x) for x in inputs]), serial):
        for output in outputs:
            assert np.array_equal(output, expected)
    assert np.array_equal(net.get_state()["parameters"], before)  # predict never writes the parameters


@pytest.mark.parametrize("kwargs", [{"batch_size": 1}, {"batch_size": 16, "momentum": 0.9}])
def test_fit_of_two_networks_in_two_threads_matches_serial(kwargs):
    X1, Y1 = data(n=100, seed=1)
    X2, Y2 = data(n=100, seed=2)

    def make(seed):
        return bpcore.Network([8, 16, 3], activation="relu", seed=seed)

    serial = [make(1), make(2)]
    serial[0].fit(X1, Y1, epochs=15, lr=0.05, **kwargs)
    serial[1].fit(X2, Y2, epochs=15, lr=0.05, **kwargs)

    threaded = [make(1), make(2)]
    histories = run_in_threads([
        lambda: threaded[0].fit(X1, Y1, epochs=15, lr=0.05, **kwargs),
        lambda: threaded[1].fit(X2, Y2, epochs=15, lr=0.05, **kwargs),
    ])
    for net, twin, history in zip(threaded, serial, histories):
        assert history.epochs == 15
        assert np.array_equal(net.get_state()["parameters"], twin.get_state()["parameters"])
        assert np.array_equal(net.get_state()["optimizer"]["velocity"], twin.get_state()["optimizer"]["velocity"])
    assert not np.array_equal(threaded[0].get_state()["parameters"], make(1).get_state()["parameters"])


def test_predict_in_threads_while_another_network_trains():
    X, Y = data(n=100)
    shared = bpcore.Network([8, 16, 3], seed=7)
    expected = shared.predict(X)
    trainee, twin = bpcore.Network([8, 16, 3], seed=8), bpcore.Network([8, 16, 3], seed=8)
    twin.fit(X, Y, epochs=10, lr=0.1)
    results = run_in_threads([lambda: trainee.fit(X, Y, epochs=10, lr=0.1)]
                             + [lambda: [shared.predict(X) for _ in range(20)]] * 3)
    for outputs in results[1:]:
        assert all(np.array_equal(output, expected) for output in outputs)
    assert np.array_equal(trainee.get_state()["parameters"], twin.get_state()["parameters"])


def _fit_in_child(queue):
    import warnings

    from threadpoolctl import threadpool_info

    from bpcore.sklearn import MLPClassifier
    # 2,000 rows of a network of 1,251 parameters: enough work for the fit to set the limit
    X = np.random.default_rng(0).normal(size=(2000, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # max_iter=2 does not converge
        MLPClassifier(hidden_layer_sizes=(250,), max_iter=2, random_state=0).fit(X, X[:, 0] > 0)
    queue.put([pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"])


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork (POSIX)")
# JAX (imported by an earlier test where it is installed) warns at every fork of its process
@pytest.mark.filterwarnings("ignore:os.fork\\(\\) was called:RuntimeWarning")
def test_a_child_forked_during_an_estimators_fit_neither_hangs_nor_keeps_one_blas_thread():
    # the estimators hold BLAS to one thread under a lock while a stochastic fit runs: a child
    # forked while another thread held that lock waited for it forever in its own fit, and
    # one forked while a fit ran kept BLAS on one thread after its fit
    pytest.importorskip("sklearn", reason="the estimators need scikit-learn")
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from bpcore import sklearn as estimators
    before = [pool["num_threads"] for pool in threadpoolctl.threadpool_info()
              if pool["user_api"] == "blas"]
    context = multiprocessing.get_context("fork")
    shared = estimators._ONE_BLAS_THREAD
    for hold in (shared.lock, shared):  # a fit setting the limit; a fit running
        queue = context.Queue()
        with hold:
            child = context.Process(target=_fit_in_child, args=(queue,))
            child.start()
            child.join(timeout=60)
        hung = child.is_alive()
        if hung:
            child.kill()
            child.join()
        assert not hung and child.exitcode == 0
        assert queue.get(timeout=10) == before
