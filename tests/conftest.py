"""Every test runs on both backends: the autouse `backend` fixture switches the kernels the
package runs on (`bpcore._backend.use_backend`) for each parametrized run.

When the compiled module is missing the "cython" runs are skipped, unless BPCORE_BACKEND=cython
(as in CI), where importing bpcore itself already fails: the compiled path cannot be skipped
silently there.
"""
import importlib
import os

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
