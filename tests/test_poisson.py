"""The Poisson output: activation "exp" (output only) with loss "poisson", the half Poisson
deviance sum_j y_j log(y_j / a_j) - y_j + a_j that scikit-learn's MLPRegressor(loss='poisson')
minimises, on both kernel backends."""
import warnings

import numpy as np
import pytest
from scipy.special import xlogy

import bpcore
from bpcore import _backend, _fallback, _spec

HIDDEN = ["sigmoid", "tanh", "relu", "leaky_relu", "identity"]


def counts(n=40, n_in=3, n_out=2, seed=0):
    """Inputs and Poisson counts whose log-rate is linear in them; some counts are 0."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_in))
    rate = np.exp(0.3 + X @ rng.normal(scale=0.6, size=(n_in, n_out)))
    Y = rng.poisson(rate).astype(np.float64)
    assert (Y == 0).any() and (Y > 1).any()  # both branches of y log y are exercised
    return X, Y


def half_deviance(Y, P, weights=None):
    """Mean over samples (weighted) of sum_j xlogy(y, y / p) - y + p, written independently."""
    per_sample = (xlogy(Y, Y / P) - Y + P).sum(axis=1)
    return np.average(per_sample, weights=weights)


def poisson_network(hidden="relu", sizes=(3, 5, 2), dtype="float64", seed=3):
    return bpcore.Network(list(sizes), activation=hidden, output="exp", loss="poisson",
                          dtype=dtype, seed=seed)


def flat(net):
    return np.concatenate([np.concatenate([w.ravel(), b]) for w, b in zip(net.weights,
                                                                          net.biases)])


# ---- the table and the pairings --------------------------------------------------------------

def test_exp_is_an_output_activation_only():
    assert "exp" in _spec.OUTPUT_ACTIVATIONS and "exp" not in _spec.HIDDEN_ACTIVATIONS
    assert "poisson" in _spec.LOSSES
    with pytest.raises(ValueError, match="activation must be one of .*got 'exp'"):
        bpcore.Network([3, 4, 1], activation="exp", output="exp", loss="poisson")


@pytest.mark.parametrize("output, loss, message", [
    ("exp", "mse", "an exp output needs loss='poisson', got loss='mse'"),
    ("exp", "cross_entropy", "loss='cross_entropy' needs output='softmax', got output='exp'"),
    ("identity", "poisson", "loss='poisson' needs output='exp', got output='identity'"),
    ("sigmoid", "poisson", "loss='poisson' needs output='exp', got output='sigmoid'"),
    ("softmax", "poisson", "a softmax output needs loss='cross_entropy', got loss='poisson'"),
])
def test_bad_pairings_are_refused_with_the_reason(output, loss, message):
    with pytest.raises(ValueError, match=message):
        bpcore.Network([3, 4, 2], activation="relu", output=output, loss=loss)


def kernels(backend):
    return _fallback if backend == "python" else _backend.compiled()


@pytest.mark.parametrize("output, loss", [("exp", "mse"), ("identity", "poisson"),
                                          ("exp", "cross_entropy"), ("softmax", "poisson")])
def test_the_kernels_refuse_bad_pairings_and_a_hidden_exp(backend, output, loss):
    k = kernels(backend)
    sizes = np.array([3, 4, 2], dtype=np.intp)
    n_params = 4 * 4 + 2 * 5
    X, Y = np.zeros((2, 3)), np.ones((2, 2))
    codes = np.array([k.ACTIVATIONS["relu"], k.ACTIVATIONS[output]], dtype=np.intp)
    with pytest.raises(ValueError, match="does not fit output activation"):
        k.loss_gradients(np.zeros(n_params), sizes, codes, k.LOSSES[loss], X, Y,
                         np.empty(0), np.empty(n_params))
    hidden_exp = np.array([k.ACTIVATIONS["exp"]] * 2, dtype=np.intp)
    with pytest.raises(ValueError, match="activation code .* is not valid for layer 0"):
        k.forward(np.zeros(n_params), sizes, hidden_exp, X, np.empty(2 * 6), np.empty((2, 2)))


# ---- the numbers -----------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_predict_is_e_to_the_output_pre_activation(dtype):
    net = poisson_network(dtype=dtype)
    X, _ = counts()
    hidden = np.maximum(X @ net.weights[0].astype(np.float64).T + net.biases[0], 0)
    expected = np.exp(hidden @ net.weights[1].astype(np.float64).T + net.biases[1])
    rtol = 1e-12 if dtype == "float64" else 1e-5
    np.testing.assert_allclose(net.predict(X), expected, rtol=rtol)
    np.testing.assert_allclose(net.predict(X[0]), expected[0], rtol=rtol)  # the one-row path


@pytest.mark.parametrize("hidden", HIDDEN)
def test_loss_is_the_half_poisson_deviance(hidden):
    net = poisson_network(hidden)
    X, Y = counts()
    P = net.predict(X)
    assert net.loss(X, Y) == pytest.approx(half_deviance(Y, P), rel=1e-12)
    weights = np.random.default_rng(5).uniform(0.0, 3.0, size=len(X))
    assert net.loss(X, Y, sample_weight=weights) == pytest.approx(
        half_deviance(Y, P, weights), rel=1e-12)
    # a zero count costs exactly the predicted rate (xlogy(0, 0) = 0, no NaN)
    zero = np.zeros_like(Y[:1])
    assert net.loss(X[:1], zero) == pytest.approx(P[0].sum(), rel=1e-12)


def test_loss_matches_scikit_learns_poisson_loss():
    base = pytest.importorskip("sklearn.neural_network._base")
    net = poisson_network()
    X, Y = counts()
    assert net.loss(X, Y) == pytest.approx(
        base.LOSS_FUNCTIONS["poisson"](Y, net.predict(X)), rel=1e-12)


@pytest.mark.parametrize("hidden", HIDDEN)
@pytest.mark.parametrize("weighted", [False, True])
def test_gradients_match_central_differences(hidden, weighted, central_differences):
    net = poisson_network(hidden, sizes=(3, 5, 4, 2), seed=7)
    X, Y = counts(n=8)
    weights = np.random.default_rng(2).uniform(0.5, 2.0, size=len(X)) if weighted else None
    g = net.gradients(X, Y, sample_weight=weights)
    analytic = [a for pair in zip(g.weights, g.biases) for a in pair]
    for a, n in zip(analytic, central_differences(net, X, Y, weights)):
        np.testing.assert_allclose(a, n, rtol=1e-6, atol=1e-7)
    assert max(np.abs(a).max() for a in analytic) > 1e-2  # not a vacuous comparison
    # the canonical link: the output's delta is a - y (scaled by weight / mean weight)
    scale = 1.0 if weights is None else (weights / weights.mean())[:, None]
    np.testing.assert_allclose(g.deltas[-1], (net.predict(X) - Y) * scale, rtol=1e-12)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_both_backends_compute_the_same_epoch(dtype):
    try:
        compiled = _backend.compiled()
    except ImportError as error:
        pytest.skip(f"the compiled kernels do not import: {error}")
    net = poisson_network("tanh", sizes=(3, 6, 2), dtype=dtype)
    X, Y = (a.astype(dtype) for a in counts())
    weights = np.random.default_rng(4).uniform(0.5, 2.0, size=len(X)).astype(dtype)
    sizes = np.array(net.sizes, dtype=np.intp)
    codes = np.array([compiled.ACTIVATIONS["tanh"], compiled.ACTIVATIONS["exp"]], np.intp)
    loss = compiled.LOSSES["poisson"]
    order = np.random.default_rng(6).permutation(len(X)).astype(np.intp)
    rtol = 1e-10 if dtype == "float64" else 1e-4
    results = []
    for k in (compiled, _fallback):
        params = flat(net)
        grads = np.empty_like(params)
        total = k.loss_gradients(params, sizes, codes, loss, X, Y, weights, grads)
        settings = np.array([0.01, 0.9, 0.999, 1e-8, 0.0, 0.0, 0.0, 0.0])  # Adam
        state = np.zeros(2 * len(params), dtype=dtype)
        epoch_loss = k.train_epoch(params, state, sizes, codes, loss, X, Y, weights, order, 8,
                                   compiled.OPTIMIZERS["adam"], settings)
        results.append((total, grads, epoch_loss, params))
    (t1, g1, e1, p1), (t2, g2, e2, p2) = results
    assert t1 == pytest.approx(t2, rel=rtol)
    np.testing.assert_allclose(g1, g2, rtol=rtol, atol=rtol * np.abs(g1).max())
    assert e1 == pytest.approx(e2, rel=rtol)
    np.testing.assert_allclose(p1, p2, rtol=rtol, atol=rtol)
    assert not np.array_equal(p1, flat(net))  # the epoch did step


@pytest.mark.parametrize("dtype, z", [("float64", 800.0), ("float32", 100.0)])
def test_an_overflowing_rate_is_infinity_without_warnings(dtype, z):
    net = poisson_network(sizes=(3, 1), dtype=dtype)
    net.weights[0][...] = 0
    net.biases[0][...] = z  # e^z overflows the dtype
    y = np.array([[1.0], [2.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isinf(net.predict(np.zeros((2, 3)))).all()
        assert np.isinf(net.predict(np.zeros(3, dtype=dtype))).all()
        # the loss is computed in float64 from z: finite where e^z fits in a float64
        with np.errstate(over="ignore"):
            expected = (xlogy(y, y) - y * z - y + np.exp(z)).mean()
        assert net.loss(np.zeros((2, 3)), y) == pytest.approx(expected, rel=1e-12)
        with pytest.raises(bpcore.DivergenceError):
            net.step(np.zeros((2, 3)), y, lr=0.1)


# ---- bad targets -----------------------------------------------------------------------------

def test_negative_targets_are_refused_everywhere(assert_same_state):
    net = poisson_network()
    X, Y = counts()
    Y[3, 1] = -1.0
    before = net.get_state()
    message = r"Y must be >= 0 for loss='poisson' \(counts or rates\), got values in \[-1, "
    for call in (lambda: net.loss(X, Y), lambda: net.gradients(X, Y),
                 lambda: net.step(X, Y, lr=0.1), lambda: net.fit(X, Y, epochs=2, lr=0.1),
                 lambda: net.train_epoch(X, Y, bpcore.SGD(lr=0.1)),
                 lambda: net.step(X[3], Y[3], lr=0.1)):  # one sample: the fast path's check
        with pytest.raises(ValueError, match=message):
            call()
    with pytest.raises(ValueError, match="Y must be finite"):
        net.loss(X[:1], [[np.nan, 1.0]])
    assert_same_state(net.get_state(), before)


def test_the_one_sample_step_leaves_negative_targets_to_the_general_path(backend):
    k = kernels(backend)
    net = poisson_network()
    params = flat(net)
    sizes = np.array(net.sizes, dtype=np.intp)
    codes = np.array([k.ACTIVATIONS["relu"], k.ACTIVATIONS["exp"]], dtype=np.intp)
    state = np.zeros(len(params))
    settings = np.array([0.1, 0.0, 0.0, 0.0])  # SGD
    x = np.array([0.5, -1.0, 2.0])
    refused = k.step_one(params, state, sizes, codes, k.LOSSES["poisson"], x,
                         np.array([2.0, -0.5]), k.OPTIMIZERS["sgd"], settings)
    assert refused is None
    np.testing.assert_array_equal(params, flat(net))
    cost, outcome = k.step_one(params, state, sizes, codes, k.LOSSES["poisson"], x,
                               np.array([2.0, 0.0]), k.OPTIMIZERS["sgd"], settings)
    assert outcome == 1 and not np.array_equal(params, flat(net))
    assert cost == pytest.approx(half_deviance(np.array([[2.0, 0.0]]),
                                               net.predict(x[None])), rel=1e-12)


# ---- files and training ----------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_save_and_load_round_trip(dtype, tmp_path):
    net = poisson_network(dtype=dtype)
    X, Y = counts()
    net.fit(X, Y, epochs=2, optimizer="adam")
    net.save(tmp_path / "poisson.npz")
    loaded = bpcore.load(tmp_path / "poisson.npz")
    assert (loaded.output, loaded.loss_name, loaded.dtype) == ("exp", "poisson", np.dtype(dtype))
    np.testing.assert_array_equal(loaded.predict(X), net.predict(X))
    assert loaded.loss(X, Y) == net.loss(X, Y)


@pytest.mark.parametrize("optimizer", ["adam", "lbfgs", "sgd"])
def test_training_lowers_the_loss_below_the_best_constant_rate(optimizer):
    X, Y = counts(n=200, seed=1)
    net = poisson_network(sizes=(3, 8, 2), seed=0)
    start = net.loss(X, Y)
    kwargs = {"lr": 0.005, "batch_size": 10} if optimizer == "sgd" else {"optimizer": optimizer}
    net.fit(X, Y, epochs=60, **kwargs)
    constant = half_deviance(Y, np.broadcast_to(Y.mean(axis=0), Y.shape))  # the best constant
    assert net.loss(X, Y) < min(start, constant) * 0.8
