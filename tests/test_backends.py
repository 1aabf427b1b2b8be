"""The compiled and pure-Python backends: the choice of backend, and that both train alike."""
import os
import subprocess
import sys

import numpy as np
import pytest

import bpcore
from bpcore import _backend, _fallback


def test_backend_names_the_kernels_in_use(backend):
    assert bpcore.backend == backend
    expected = "bpcore._fallback" if backend == "python" else "bpcore._kernels"
    assert _backend.kernels.__name__ == expected


def test_both_backends_expose_the_same_kernels(backend):
    kernels = _backend.kernels
    for name in ["forward", "backward", "parameter_gradients", "batch_loss", "sgd_update",
                 "train_epoch"]:
        assert callable(getattr(kernels, name))
    assert kernels.ACTIVATIONS == _fallback.ACTIVATIONS
    assert kernels.LOSSES == _fallback.LOSSES


def test_compiled_module_is_a_built_extension(backend):
    if backend != "cython":
        pytest.skip("about the compiled module")
    path = _backend.kernels.__file__
    assert path.endswith((".so", ".pyd")), path


def run_python(code, **env):
    environment = {**os.environ, **env}
    # from /, so that a source checkout in the working directory is not imported instead
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=environment, cwd="/")


def test_environment_variable_forces_the_fallback():
    result = run_python("import bpcore; print(bpcore.backend)", BPCORE_BACKEND="python")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "python"


def test_unknown_backend_name_is_refused():
    result = run_python("import bpcore", BPCORE_BACKEND="fortran")
    assert result.returncode != 0
    assert "BPCORE_BACKEND must be 'auto', 'cython' or 'python', got 'fortran'" in result.stderr


BLOCK_KERNELS = ("import sys; sys.modules['bpcore._kernels'] = None\n")


def test_cython_backend_fails_loudly_without_the_extension():
    result = run_python(BLOCK_KERNELS + "import bpcore", BPCORE_BACKEND="cython")
    assert result.returncode != 0
    assert "ImportError" in result.stderr and "pip install" in result.stderr


def test_auto_backend_warns_and_falls_back_without_the_extension():
    result = run_python(BLOCK_KERNELS + "import bpcore; print(bpcore.backend)",
                        BPCORE_BACKEND="auto")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "python"
    assert "RuntimeWarning" in result.stderr and "fallback" in result.stderr


def train_on(kernels, dtype, batch_size, monkeypatch, momentum=0.0, weight_decay=0.0):
    monkeypatch.setattr(_backend, "kernels", kernels)
    rng = np.random.default_rng(5)
    X = rng.normal(size=(50, 6))
    Y = np.eye(3)[rng.integers(0, 3, 50)]
    network = bpcore.Network([6, 8, 5, 3], activation="tanh", output="softmax",
                             loss="cross_entropy", dtype=dtype, seed=11)
    history = network.fit(X, Y, epochs=1, lr=0.05, batch_size=batch_size, momentum=momentum,
                          weight_decay=weight_decay)
    return network, history


@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-10), ("float32", 1e-4)])
@pytest.mark.parametrize("batch_size", [1, 8])
@pytest.mark.parametrize("momentum, weight_decay", [(0.0, 0.0), (0.9, 1e-3)])
def test_backends_train_alike(backend, dtype, rtol, batch_size, momentum, weight_decay,
                              monkeypatch):
    if backend != "cython":
        pytest.skip("compares both backends in one run")
    compiled = _backend.kernels
    a, history_a = train_on(compiled, dtype, batch_size, monkeypatch, momentum, weight_decay)
    b, history_b = train_on(_fallback, dtype, batch_size, monkeypatch, momentum, weight_decay)
    start = bpcore.Network([6, 8, 5, 3], activation="tanh", output="softmax",
                           loss="cross_entropy", dtype=dtype, seed=11)
    for wa, wb, w0 in zip(a.weights + a.biases, b.weights + b.biases,
                          start.weights + start.biases):
        assert wa.dtype == np.dtype(dtype)
        # entries near zero come from cancellation, so they are held to the layer's scale
        np.testing.assert_allclose(wa, wb, rtol=rtol, atol=rtol * np.abs(wb).max())
        assert not np.array_equal(wa, w0)  # training moved every layer
    assert history_a.losses[0] == pytest.approx(history_b.losses[0], rel=rtol)
