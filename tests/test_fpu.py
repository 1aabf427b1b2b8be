"""The compiled module changes no floating-point mode (no -ffast-math: subnormals survive and
NaN checks still fire), in this process and in a fresh one."""
import math
import os
import subprocess
import sys
import textwrap
import warnings

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


def test_cross_entropy_of_logits_near_the_largest_double_is_finite(backend):
    # z = [1.7e308, -1.7e308]: logsumexp(z) - z_2 is infinite, but its target is 0, so its
    # term is 0 (not 0 * inf = NaN); the loss is that of a certain right answer, 0, and fit
    # has nothing to learn (no DivergenceError), without a NumPy warning on either backend
    net = bpcore.Network([2, 2], output="softmax", loss="cross_entropy", seed=0)
    net.weights[0][...] = np.eye(2)
    net.biases[0][...] = 0.0
    X, Y = np.array([[1.7e308, -1.7e308]]), np.array([[1.0, 0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert net.predict(X).tolist() == [[1.0, 0.0]]
        assert net.loss(X, Y) == 0.0
        assert net.fit(X, Y, epochs=2, lr=0.1).losses == [0.0, 0.0]


@pytest.mark.parametrize("output, loss", [("identity", "mse"),
                                          ("sigmoid", "binary_cross_entropy"),
                                          ("softmax", "cross_entropy"), ("exp", "poisson")])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_overflowed_units_give_no_numpy_warning_and_the_compiled_results(output, loss, dtype,
                                                                         backend):
    # pre-activations beyond the dtype's range: infinities and NaN in the outputs, the loss or
    # the gradients, the same on both backends, and no NumPy warning (the compiled loops are
    # silent; the callers check for them)
    net = bpcore.Network([2, 3, 2], activation="relu", output=output, loss=loss, dtype=dtype,
                         seed=0)
    big = 1e150 if dtype == "float64" else 1e18
    for w in net.weights:
        w[...] = big
    X, Y = np.array([[big, big], [1.0, 1.0]]), np.array([[1.0, 0.0], [0.0, 1.0]])

    def results():
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            gradients = net.gradients(X, Y)
            return ([net.predict(X), net.loss(X, Y), gradients.loss] + gradients.weights
                    + gradients.deltas)
    ours = results()
    assert not all(np.isfinite(part).all() for part in ours)  # the case overflows
    if backend == "cython":
        with _backend.use_backend("python"):
            for compiled, fallback in zip(ours, results()):
                np.testing.assert_allclose(compiled, fallback, rtol=1e-6)  # NaN, inf alike


def test_nan_compares_as_in_ieee(backend):
    # relu must pass NaN through (z < 0 is false for NaN), not turn it into 0
    net = bpcore.Network([1, 1], activation="relu", output="relu", seed=0)
    net.weights[0][...] = 1.0
    net.biases[0][...] = np.nan
    assert np.isnan(net.predict([1.0])[0])


def _compiled_kernels():
    """The compiled kernels module (a skip where it is not built)."""
    try:
        return _backend.compiled()
    except ImportError:
        pytest.skip("the compiled kernels are not built")


def _compiled_activation(name, values, dtype):
    """The compiled kernels' activation `name` of each value, through a 1-1 network
    (z = 1 x + -0 = x, -0 included)."""
    kernels = _compiled_kernels()
    X = np.asarray(values, dtype=dtype).reshape(-1, 1)  # samples of one input, one unit
    sizes = np.array([1, 1], dtype=np.intp)
    params = np.array([1.0, -0.0], dtype=dtype)
    A = np.empty(len(X), dtype=dtype)
    Z = np.empty((len(X), 1), dtype=dtype)
    kernels.forward(params, sizes, np.array([ACTIVATIONS[name]], dtype=np.intp), X, A, Z)
    return X[:, 0], A


def _sigmoid_over_libm(z):
    """(1 if z >= 0 else e) / (1 + e) with e = exp(-|z|) from the C library (math.exp)."""
    z = float(z)
    e = math.exp(-abs(z))
    return (1.0 if z >= 0 else e) / (1.0 + e)


def _assert_same_values(X, A, reference, dtype):
    """Each A is reference(x) rounded to dtype, to the bit (NaN for NaN)."""
    for x, got in zip(X, A):
        expected = np.array(reference(float(x))).astype(dtype)
        if np.isnan(expected):
            assert np.isnan(got), x
        else:
            assert got.tobytes() == expected.tobytes(), (x, got, expected)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_compiled_sigmoid_at_the_edges_of_exp(dtype):
    # NaN, infinities, exps that underflow to subnormals or to 0, and subnormal inputs: the
    # same values as the formula over libm's exp
    special = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-310, -1e-310, 3.0e38, -3.0e38, 745.2,
               -745.2, 746.0, -746.0, 710.0, -710.0, 708.5, -708.5, 744.4, -744.4, 36.7,
               -36.7, 1e-8, -1e-8]
    X, A = _compiled_activation("sigmoid", special, dtype)
    _assert_same_values(X, A, _sigmoid_over_libm, dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_compiled_sigmoid_is_its_formula_to_within_its_exps_error(dtype):
    # The kernels' exp (bpcore_exp_nonpositive) is within 1.1 ulp of e^x (glibc's within
    # 0.51), so the two e differ by at most 1.61 ulp; (1 if z >= 0 else e) / (1 + e) passes
    # that on shrunk by 1 / (1 + e) <= 1, and its own two roundings can each move it by half
    # an ulp more: at most 3 ulp apart in double, and 1 in float32 after the one rounding to
    # it. Below -37 the sigmoid is e itself (1 + e rounds to 1): a direct check of the exp,
    # subnormal results included.
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.uniform(-750, 750, 20000), rng.uniform(-40, 40, 20000),
                             rng.uniform(-1, 1, 20000), -rng.uniform(700, 746, 5000)])
    X, A = _compiled_activation("sigmoid", values, dtype)
    expected = np.array([_sigmoid_over_libm(x) for x in X]).astype(dtype)
    np.testing.assert_array_max_ulp(A, expected, maxulp=3 if dtype == "float64" else 1)
    below = X < -37
    assert below.sum() > 10000
    np.testing.assert_array_max_ulp(A[below], expected[below], maxulp=2)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_compiled_tanh_at_its_edges(dtype):
    # the kernels' tanh (bpcore_tanh, from an expm1 of their own) keeps the signs of zeros,
    # NaN, the infinities, subnormals and tiny values as libm's does, and is +-1 from 20 on
    special = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-310, -1e-310, 5e-324, 3.0e38, -3.0e38,
               20.0, -20.0, 40.0, 1e-8, -1e-8, 1e-20]
    X, A = _compiled_activation("tanh", special, dtype)
    _assert_same_values(X, A, math.tanh, dtype)


@pytest.mark.skipif(np.finfo(np.longdouble).nmant < 63,
                    reason="needs NumPy's long double to be x87's 80-bit one (x86 Linux)")
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_compiled_tanh_is_within_its_error_bound(dtype):
    # bpcore_tanh is within 2.7 ulp of tanh (the worst found: 2.65), so within 3 of the
    # long double tanhl (64-bit significand: 2^-11 ulp of a double off at most) in double,
    # and within 1 in float32 after the one rounding to it
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.uniform(-25, 25, 20000), rng.uniform(-2, 2, 20000),
                             rng.uniform(-0.5, 0.5, 20000), rng.uniform(-1e-4, 1e-4, 5000)])
    X, A = _compiled_activation("tanh", values, dtype)
    exact = np.tanh(X.astype(np.longdouble))
    ulp = np.spacing(np.abs(exact).astype(dtype)).astype(np.longdouble)
    assert (np.abs(A.astype(np.longdouble) - exact) / ulp).max() <= (
        3 if dtype == "float64" else 1)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("n_out", [3, 10, 64, 65])
def test_compiled_softmax_of_a_batch_is_each_rows_to_the_bit(dtype, n_out):
    # activate_rows takes the softmax of short rows eight at a time, interleaved (and of the
    # rest, and of rows wider than its block, one by one): every row is the value of the
    # one-row pass. One input, weights powers of two and biases -0, so z = x * 2^k is exact;
    # rows of every range, NaN and the infinities among them, 8 + 8 + 5 rows.
    kernels = _compiled_kernels()
    rng = np.random.default_rng(0)
    x = np.concatenate([[np.nan, np.inf, -np.inf, 0.0, 3e38, -1e-30],
                        rng.standard_normal(8) * 30, rng.uniform(-1e4, 1e4, 7)])
    X = x.astype(dtype).reshape(-1, 1)
    sizes = np.array([1, n_out], dtype=np.intp)
    scales = 2.0 ** np.arange(-(n_out // 2), n_out - n_out // 2)
    params = np.concatenate([rng.permutation(scales), np.full(n_out, -0.0)]).astype(dtype)
    codes = np.array([ACTIVATIONS["softmax"]], dtype=np.intp)

    def softmax(rows):
        A = np.empty(len(rows) * n_out, dtype=dtype)
        kernels.forward(params, sizes, codes, rows, A, np.empty((len(rows), n_out), dtype))
        return A.reshape(len(rows), n_out)

    batch = softmax(X)
    assert np.isfinite(batch[6:]).all() and np.isnan(batch[0]).all()
    for i in range(len(X)):
        assert batch[i].tobytes() == softmax(X[i:i + 1])[0].tobytes(), (i, X[i])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("weighted", [False, True])
def test_compiled_loss_of_a_softmax_batch_as_stepped_is_its_samples_losses(dtype, weighted):
    # A training step takes each sample's logsumexp from its softmax's exps (softmax_rows'
    # for eight rows at a time, the row-by-row pass's for the rest), where batch_loss
    # computes its own: the same arithmetic, so the batch's loss as stepped is batch_loss's
    # to the bit. 3 -> 10 on 21 rows (8 + 8 + 5) stays on the plain loops, so both forward
    # passes give the same z; targets are probabilities, so every term counts.
    kernels = _compiled_kernels()
    rng = np.random.default_rng(1)
    X = (rng.standard_normal((21, 3)) * 5).astype(dtype)
    Y = rng.dirichlet(np.ones(10), 21).astype(dtype)
    Y /= Y.sum(axis=1, keepdims=True)  # row sums of 1 to within the dtype's rounding
    weights = rng.uniform(0.5, 2.0, 21) if weighted else None
    net = bpcore.Network([3, 10], output="softmax", loss="cross_entropy", dtype=dtype, seed=0)
    with _backend.use_backend("cython"):
        A, Z = net._forward(X)
        expected = kernels.batch_loss(net._loss_code, net._output(A, 21), Z, Y,
                                      net._kernel_weights(None if weights is None else
                                                          weights.astype(dtype)))
        records = net.train_epoch(X, Y, bpcore.SGD(lr=0.1), batch_size=21,
                                  sample_weight=weights)
    assert records.shape == (1, 3)
    assert records[0, 0] == expected
