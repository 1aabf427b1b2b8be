"""The compiled module changes no floating-point mode (no -ffast-math: subnormals survive and
NaN checks still fire), in this process and in a fresh one."""
import math
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import bpcore
from bpcore import _backend
from bpcore._spec import ACTIVATIONS

TINY = np.finfo(np.float64).tiny  # smallest normal double, 2.2e-308


def subnormals_work():
    """True when subnormals are neither flushed to zero (FTZ) nor read as zero (DAZ)."""
    x = np.array([TINY, 5e-324])
    halved = x[:1] / np.float64(2.0)        # a result below the normal range: FTZ makes it 0
    doubled = x[1:] * np.float64(2.0)        # a subnormal operand: DAZ reads it as 0
    x32 = np.array([np.finfo(np.float32).tiny], dtype=np.float32) / np.float32(4.0)
    return bool(halved[0] > 0 and doubled[0] == 1e-323 and x32[0] > 0)


def test_subnormals_survive_importing_the_compiled_kernels():
    import importlib
    try:
        importlib.import_module("bpcore._kernels")
    except ImportError:
        pytest.skip("compiled kernels not built")
    assert np.finfo(np.float64).smallest_subnormal > 0
    assert np.finfo(np.float32).smallest_subnormal > 0
    assert subnormals_work()


def test_a_fresh_process_keeps_its_floating_point_mode_across_the_import():
    script = textwrap.dedent(f"""
        import numpy as np
        def probe():
            x = np.array([{TINY!r}, 5e-324])
            return float((x[:1] / 2.0)[0]), float((x[1:] * 2.0)[0])
        before = probe()
        import bpcore._kernels
        import bpcore
        net = bpcore.Network([2, 3, 1], seed=0)
        net.fit(np.ones((4, 2)), np.ones((4, 1)) / 2, epochs=2)
        after = probe()
        assert before[0] > 0 and before[1] == 1e-323, before
        assert after == before, (before, after)
        assert np.finfo(np.float64).smallest_subnormal > 0
        print("ok", before, after)
    """)
    # from /, so that a source checkout in the working directory is not imported instead
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=120, cwd="/")
    if ("No module named 'bpcore._kernels'" in result.stderr
            and os.environ.get("BPCORE_BACKEND") != "cython"):
        pytest.skip("compiled kernels not built")
    assert result.returncode == 0 and "ok" in result.stdout, result.stdout + result.stderr


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_kernels_compute_subnormal_values(dtype, backend):
    # identity network y = 0.5 x: halving the smallest normal must give a subnormal, not zero
    net = bpcore.Network([1, 1], activation="identity", output="identity", dtype=dtype, seed=0)
    net.weights[0][...] = 0.5
    tiny = np.finfo(dtype).tiny
    out = net.predict(np.array([[tiny]], dtype=dtype))
    assert out[0, 0] == np.array(tiny, dtype=dtype) / 2 and out[0, 0] > 0
    # and a subnormal input is read as itself (no denormals-are-zero)
    sub = np.finfo(dtype).smallest_subnormal
    net.weights[0][...] = 4.0
    assert net.predict(np.array([[sub]], dtype=dtype))[0, 0] == 4 * sub
    assert subnormals_work()


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "leaky_relu", "identity"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_nan_in_the_weights_reaches_the_outputs(activation, dtype, backend):
    net = bpcore.Network([2, 3, 2], activation=activation, dtype=dtype, seed=0)
    X = np.array([[1.0, 2.0], [-1.0, 0.5]])
    assert np.isfinite(net.predict(X)).all()
    net.weights[0][:, 0] = np.nan   # every hidden unit sees the NaN
    out = net.predict(X)
    assert np.isnan(out).all()      # never silently finite (as -ffast-math could make it)
    assert np.isnan(net.loss(X, np.zeros((2, 2))))


@pytest.mark.parametrize("output, loss", [("sigmoid", "mse"), ("sigmoid", "binary_cross_entropy"),
                                          ("softmax", "cross_entropy"), ("identity", "mse")])
def test_nan_in_the_output_layer_reaches_the_outputs_and_the_loss(output, loss, backend):
    net = bpcore.Network([2, 2], output=output, loss=loss, seed=0)
    net.biases[0][0] = np.nan
    X, Y = np.array([[1.0, 2.0]]), np.array([[1.0, 0.0]])
    assert np.isnan(net.predict(X)[0, 0])
    assert np.isnan(net.loss(X, Y))


@pytest.mark.parametrize("where", ["weights", "biases"])
def test_fit_and_step_refuse_to_train_a_network_holding_nan(where, backend):
    net = bpcore.Network([2, 3, 1], activation="relu", seed=0)
    getattr(net, where)[0][1] = np.nan
    X, Y = np.array([[1.0, 2.0], [0.5, -1.0]]), np.array([[1.0], [0.0]])
    # a ValueError naming the array, not a DivergenceError blaming the rate
    # (tests/test_divergence.py covers every optimizer)
    for train in (lambda: net.fit(X, Y, epochs=3, lr=0.1), lambda: net.step(X, Y, lr=0.1)):
        with pytest.raises(ValueError, match=rf"{where}\[0\] hold NaN") as info:
            train()
        assert type(info.value) is ValueError


def test_nan_compares_as_in_ieee(backend):
    # relu must pass NaN through (z < 0 is false for NaN), not turn it into 0
    net = bpcore.Network([1, 1], activation="relu", output="relu", seed=0)
    net.weights[0][...] = 1.0
    net.biases[0][...] = np.nan
    assert np.isnan(net.predict([1.0])[0])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("n", [3, 64, 65, 185])
def test_compiled_sigmoid_is_its_formula_over_libm_exp_to_the_bit(dtype, n):
    # The kernels' sigmoid runs in blocks (the exps, then the selects and divisions): each
    # value must still be e = exp(-|z|), (1 if z >= 0 else e) / (1 + e) in double, rounded
    # to the dtype once, with the exp of the C library CPython's math.exp also calls; NaN,
    # infinities, overflowing exps and subnormals included, across block boundaries of 64.
    try:
        kernels = _backend.compiled()
    except ImportError:
        pytest.skip("the compiled kernels are not built")
    rng = np.random.default_rng(n)
    special = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-310, -1e-310, 3.0e38, -3.0e38, 745.2,
               -745.2, 710.0, -710.0, 36.7, -36.7, 1e-8, -1e-8]
    values = np.concatenate([special, 30 * rng.standard_normal(n)])[:n]
    X = values.astype(dtype).reshape(-1, 1)  # n samples of one input, through one unit
    sizes = np.array([1, 1], dtype=np.intp)
    params = np.array([1.0, 0.0], dtype=dtype)  # z = 1 x + 0 = x (and +0 for x = -0)
    A = np.empty(n, dtype=dtype)
    Z = np.empty((n, 1), dtype=dtype)
    kernels.forward(params, sizes, np.array([ACTIVATIONS["sigmoid"]], dtype=np.intp), X, A, Z)
    for x, got in zip(X[:, 0], A):
        z = float(x) + 0.0
        e = math.exp(-abs(z))
        expected = np.array((1.0 if z >= 0 else e) / (1.0 + e)).astype(dtype)
        if np.isnan(expected):
            assert np.isnan(got), x
        else:
            assert got.tobytes() == expected.tobytes(), (x, got, expected)
