"""Every test runs on both backends: the autouse `backend` fixture switches the kernels the
package runs on (`bpcore._backend.use_backend`) for each parametrized run.

When the compiled module is missing the "cython" runs are skipped, unless BPCORE_BACKEND=cython
(as in CI), where importing bpcore itself already fails: the compiled path cannot be skipped
silently there.
"""
import errno
import importlib
import os
import tempfile

import numpy as np
import pytest
from hypothesis import settings

import bpcore
from bpcore import _backend, _fallback

BACKENDS = ["cython", "python"]

# Hypothesis profiles, picked by HYPOTHESIS_PROFILE (pytest's --hypothesis-profile overrides):
# - "default": derandomized (a test's examples follow from its code) with no example database,
#   so every run on every machine checks the same examples;
# - "explore": new random examples each run; --hypothesis-seed=N repeats a run (a derandomized
#   profile would ignore the seed). CI runs tests/test_properties.py under many seeds.
# A test's own @settings(max_examples=...) keeps the rest of the loaded profile.
settings.register_profile("default", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False, database=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def kernels_of(name):
    if name == "python":
        return _fallback
    try:
        return importlib.import_module("bpcore._kernels")
    except ImportError as error:
        if os.environ.get("BPCORE_BACKEND") == "cython":
            pytest.fail(f"BPCORE_BACKEND=cython but bpcore._kernels does not import: {error}")
        pytest.skip(f"compiled kernels not built: {error}")


@pytest.fixture(params=BACKENDS, autouse=True)
def backend(request):
    """The name of the backend this run of the test uses."""
    kernels_of(request.param)  # skips, or fails under BPCORE_BACKEND=cython, without them
    with _backend.use_backend(request.param):
        assert bpcore.backend == request.param
        yield request.param


def same_state(a, b):
    """Two get_state() dicts are equal, arrays bit for bit."""
    assert a.keys() == b.keys()
    for key in a:
        if isinstance(a[key], dict):
            same_state(a[key], b[key])
        elif isinstance(a[key], np.ndarray):
            np.testing.assert_array_equal(a[key], b[key])
        else:
            assert a[key] == b[key], key


@pytest.fixture
def assert_same_state():
    """`same_state`, for tests that check a refused or failed call changed nothing."""
    return same_state


def central_differences(network, X, Y, sample_weight=None, eps=1e-6):
    """dC/dW and dC/db of every layer (W[0], b[0], W[1], ...) by (C(p + eps) - C(p - eps)) /
    2 eps, written out independently of bpcore.check_gradients; C is the (weighted) mean
    loss, changed through the network's views of its parameters."""
    result = []
    for array in [a for pair in zip(network.weights, network.biases) for a in pair]:
        numeric = np.zeros(array.shape)
        for index in np.ndindex(array.shape):
            kept = array[index]
            array[index] = kept + eps
            above = network.loss(X, Y, sample_weight=sample_weight)
            array[index] = kept - eps
            below = network.loss(X, Y, sample_weight=sample_weight)
            array[index] = kept
            numeric[index] = (above - below) / (2 * eps)
        result.append(numeric)
    return result


@pytest.fixture(name="central_differences")
def central_differences_fixture():
    """`central_differences`, for the gradient checks of several test files."""
    return central_differences


@pytest.fixture(params=[True, False], ids=["copies", "no-copies"])
def copies(request):
    """Whether forward products take copies of W^T this run (where copy_pays in
    src/kernels/layers.pxi says so): they do only where BLAS runs A B^T slowly, which
    bpcore._blas decides from its kernels; both paths, on any machine, by telling it which.
    The kernels' own products, which take copies of their own, are off (see own_products)."""
    try:
        from bpcore import _blas
    except ImportError:  # no compiled kernels: the fallback has no copies to take
        yield request.param
        return
    _backend.compiled().forward_copies(32, 64, 64)  # loads BLAS: its own decision first
    before, own_before = _blas.transposed_slow(request.param), _blas.own_products(False)
    try:
        yield request.param
    finally:
        _blas.transposed_slow(before)
        _blas.own_products(own_before)


@pytest.fixture(params=[True, False], ids=["own-products", "blas-products"])
def own_products(request):
    """Whether the training steps' small matrix products run on the kernels' own kernel this
    run (own_takes in src/kernels/module.pxi: where it beats OpenBLAS's Haswell kernels,
    which bpcore._blas decides from the kernels it loads) or all go to BLAS; both paths on
    any machine whose CPU runs the kernel (AVX2 and FMA), by telling bpcore._blas which."""
    try:
        from bpcore import _blas
    except ImportError:
        pytest.skip("the compiled kernels are not built")
    kernels = _backend.compiled()
    if request.param and not kernels.own_products_run():
        pytest.skip("this CPU does not run the kernels' own products (no AVX2 and FMA)")
    kernels.forward_copies(32, 64, 64)  # loads BLAS: its own decision first
    before = _blas.own_products(request.param)
    try:
        yield request.param
    finally:
        _blas.own_products(before)


@pytest.fixture
def refuse_new_files(monkeypatch):
    """Every new temporary file fails as in a folder without write permission (which root,
    as CI runs, does not meet), with the error naming the file it tried."""
    def refuse(*args, dir=None, prefix="tmp", suffix="", **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied",
                              os.path.join(dir or "", f"{prefix}a1b2c3{suffix}"))
    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    monkeypatch.setattr(tempfile, "TemporaryFile", refuse)
