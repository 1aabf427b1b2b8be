"""Sample weights: the weighted loss and its gradients, training with weights against
training on repeated or absent rows, the held-out share of weights, and bad weights."""
import warnings

import numpy as np
import pytest

import bpcore
from bpcore.training import split_rows

LOSSES = {  # loss -> (output activation, targets for n samples of 2 outputs)
    "mse": ("identity", lambda rng, n: rng.normal(size=(n, 2))),
    "cross_entropy": ("softmax", lambda rng, n: np.eye(2)[rng.integers(0, 2, n)]),
    "binary_cross_entropy": ("sigmoid", lambda rng, n: rng.integers(0, 2, (n, 2)).astype(float)),
    "poisson": ("exp", lambda rng, n: rng.poisson(1.5, (n, 2)).astype(float)),
}


def data(n=12, loss="mse", seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 3)), LOSSES[loss][1](rng, n)


def network(loss="mse", dtype="float64", seed=3):
    return bpcore.Network([3, 5, 4, 2], activation="tanh", output=LOSSES[loss][0], loss=loss,
                          dtype=dtype, seed=seed)


def weights(n=12, seed=1):
    """Weights in [0, 3), one of them zero."""
    w = np.random.default_rng(seed).uniform(0, 3, n)
    w[2] = 0.0
    return w


def parameters(net):
    return net.get_state()["parameters"]


# ---- the weighted loss and its gradients ----

@pytest.mark.parametrize("loss", list(LOSSES))
def test_weighted_gradients_are_the_weighted_losss_derivatives(backend, loss,
                                                              central_differences):
    X, Y = data(loss=loss)
    w = weights()
    net = network(loss)
    analytic = net.gradients(X, Y, sample_weight=w)
    plain = net.gradients(X, Y)
    gradients = [a for pair in zip(analytic.weights, analytic.biases) for a in pair]
    worst = 0.0
    for gradient, numeric in zip(gradients, central_differences(net, X, Y, sample_weight=w)):
        error = np.abs(gradient - numeric) / np.maximum(1.0, np.maximum(np.abs(gradient),
                                                                        np.abs(numeric)))
        worst = max(worst, float(error.max()))
    # central differences in float64 with eps 1e-6: truncation ~eps^2, rounding ~1e-16/eps
    assert worst < 1e-7
    # and the weights matter: the unweighted gradients are not these
    assert not np.allclose(analytic.weights[0], plain.weights[0], rtol=1e-3)


@pytest.mark.parametrize("loss", list(LOSSES))
def test_weighted_loss_and_gradients_are_weighted_means_of_the_samples(backend, loss):
    X, Y = data(loss=loss)
    w = weights()
    net = network(loss)
    singles = [net.gradients(X[i:i + 1], Y[i:i + 1]) for i in range(len(X))]
    expected_loss = sum(w[i] * net.loss(X[i:i + 1], Y[i:i + 1]) for i in range(len(X))) / w.sum()
    assert net.loss(X, Y, sample_weight=w) == pytest.approx(expected_loss, rel=1e-12)
    given = net.gradients(X, Y, sample_weight=w)
    plain = net.gradients(X, Y)
    assert given.loss == pytest.approx(expected_loss, rel=1e-12)
    for layer in range(len(net.weights)):
        expected = sum(w[i] * singles[i].weights[layer] for i in range(len(X))) / w.sum()
        np.testing.assert_allclose(given.weights[layer], expected, rtol=1e-10, atol=1e-14)
        expected = sum(w[i] * singles[i].biases[layer] for i in range(len(X))) / w.sum()
        np.testing.assert_allclose(given.biases[layer], expected, rtol=1e-10, atol=1e-14)
        # every sample's deltas scaled by its weight over the mean weight
        scale = (w / w.mean())[:, None]
        np.testing.assert_allclose(given.deltas[layer], plain.deltas[layer] * scale,
                                   rtol=1e-12, atol=1e-15)


def test_a_weighted_step_follows_the_weighted_gradient(backend):
    X, Y = data()
    w = weights()
    net, start = network(), network()
    gradients = net.gradients(X, Y, sample_weight=w)
    expected_loss = net.loss(X, Y, sample_weight=w)
    assert net.step(X, Y, lr=0.1, sample_weight=w) == expected_loss
    for weights_now, biases_now, start_w, start_b, grad_w, grad_b in zip(
            net.weights, net.biases, start.weights, start.biases,
            gradients.weights, gradients.biases):
        np.testing.assert_allclose(weights_now, start_w - 0.1 * grad_w, rtol=1e-14, atol=1e-16)
        np.testing.assert_allclose(biases_now, start_b - 0.1 * grad_b, rtol=1e-14, atol=1e-16)
    assert not np.array_equal(parameters(net), parameters(start))


@pytest.mark.parametrize("optimizer", [
    pytest.param(bpcore.SGD(lr=0.1, momentum=0.9, weight_decay=0.01), id="sgd"),
    pytest.param(bpcore.Adam(lr=0.01, weight_decay=0.01), id="adam"),
    pytest.param(bpcore.Rprop(lr=0.01), id="rprop"),
])
def test_weighted_steps_are_steps_on_repeated_rows(backend, optimizer):
    X, Y = data()
    w = np.random.default_rng(2).integers(0, 4, len(X))
    rows = np.repeat(np.arange(len(X)), w)
    a, b = network(), network()
    for _ in range(3):
        loss_a = a.step(X, Y, optimizer=optimizer, sample_weight=w)
        loss_b = b.step(X[rows], Y[rows], optimizer=optimizer)
        assert loss_a == pytest.approx(loss_b, rel=1e-12)
    np.testing.assert_allclose(parameters(a), parameters(b), rtol=1e-12, atol=1e-15)


def test_one_samples_weight_is_the_whole_batch(backend):
    X, Y = data()
    a, b = network(), network()
    # scaled to mean 1 it is 1, up to the rounding of 49 * (1 / 49)
    assert a.step(X[:1], Y[:1], lr=0.1, sample_weight=[49.0]) == pytest.approx(
        b.step(X[:1], Y[:1], lr=0.1), rel=1e-15)
    np.testing.assert_allclose(parameters(a), parameters(b), rtol=1e-15, atol=1e-17)


# ---- training with weights ----

# Full batches, so that each step takes the weighted mean of every row's gradient: with
# integer weights that is the mean over the repeated rows, up to rounding (the weights are
# scaled by n / sum(w), then each sample's delta and loss times its weight are summed in
# another order than the repeated rows are). The runs are short enough that those roundings
# (about 1e-16) are not amplified past 1e-9: L-BFGS's line searches amplify them fastest
# (measured 5e-14 after its 10 iterations here, 4e-10 after 40).
FULL_BATCH = [
    pytest.param(bpcore.SGD(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01), 30,
                 id="sgd"),
    pytest.param(bpcore.Adam(lr=0.01, weight_decay=0.01), 30, id="adam"),
    pytest.param(bpcore.Rprop(lr=0.01, weight_decay=0.01), 30, id="rprop"),
    pytest.param(bpcore.LBFGS(max_iter=10, weight_decay=1e-3), None, id="lbfgs"),
]


def full_batch_fit(net, X, Y, optimizer, epochs, **kwargs):
    batches = {} if isinstance(optimizer, bpcore.LBFGS) else {"batch_size": 1000}
    return net.fit(X, Y, epochs=epochs or 100, optimizer=optimizer, shuffle=False,
                   restore_best=False, **batches, **kwargs)


@pytest.mark.parametrize("optimizer, epochs", FULL_BATCH)
def test_integer_weights_train_as_repeated_rows(backend, optimizer, epochs):
    X, Y = data()
    w = np.random.default_rng(2).integers(0, 4, len(X))
    assert 0 in w and w.max() > 1
    rows = np.repeat(np.arange(len(X)), w)
    weighted, repeated = network(), network()
    history = full_batch_fit(weighted, X, Y, optimizer, epochs, sample_weight=w)
    expected = full_batch_fit(repeated, X[rows], Y[rows], optimizer, epochs)
    assert history.epochs == expected.epochs
    np.testing.assert_allclose(history.losses, expected.losses, rtol=1e-9)
    scale = np.abs(parameters(repeated)).max()
    np.testing.assert_allclose(parameters(weighted), parameters(repeated), rtol=1e-9,
                               atol=1e-9 * scale)
    # the weights mattered: unweighted training ends elsewhere
    plain = network()
    full_batch_fit(plain, X, Y, optimizer, epochs)
    assert not np.allclose(parameters(plain), parameters(weighted), rtol=1e-6)


@pytest.mark.parametrize("optimizer, epochs", FULL_BATCH)
def test_a_zero_weight_is_an_absent_row(backend, optimizer, epochs):
    X, Y = data()
    w = np.ones(len(X))
    w[[0, 5, 6]] = 0.0
    kept = w > 0
    weighted, absent = network(), network()
    history = full_batch_fit(weighted, X, Y, optimizer, epochs, sample_weight=w)
    expected = full_batch_fit(absent, X[kept], Y[kept], optimizer, epochs)
    np.testing.assert_allclose(history.losses, expected.losses, rtol=1e-9)
    scale = np.abs(parameters(absent)).max()
    np.testing.assert_allclose(parameters(weighted), parameters(absent), rtol=1e-9,
                               atol=1e-9 * scale)


@pytest.mark.parametrize("loss", list(LOSSES))
@pytest.mark.parametrize("optimizer, batch_size", [
    (bpcore.SGD(lr=0.01, momentum=0.9), 1), (bpcore.Adam(lr=0.01), 5),
    (bpcore.Rprop(lr=0.01), None), (bpcore.LBFGS(max_iter=5), None)])
def test_weights_of_one_train_bit_for_bit_as_no_weights(backend, loss, optimizer, batch_size):
    # a scaled weight of exactly 1.0 (n / n) times a delta is that delta
    X, Y = data(n=20, loss=loss)
    a, b = network(loss), network(loss)
    epochs = {"batch_size": batch_size} if batch_size else {}
    history = a.fit(X, Y, epochs=3, optimizer=optimizer, validation_fraction=0.2, **epochs)
    weighted = b.fit(X, Y, epochs=3, optimizer=optimizer, validation_fraction=0.2,
                     sample_weight=np.ones(20), **epochs)
    np.testing.assert_array_equal(parameters(a), parameters(b))
    assert history.best_epoch == weighted.best_epoch
    np.testing.assert_allclose(history.losses, weighted.losses, rtol=1e-14)
    np.testing.assert_allclose(history.val_losses, weighted.val_losses, rtol=1e-14)


@pytest.mark.parametrize("loss", list(LOSSES))
def test_weights_of_one_report_bit_for_bit_the_same_losses(backend, loss, request):
    X, Y = data(n=20, loss=loss)
    net = network(loss)
    values = [(net.loss(X[:k], Y[:k]), net.loss(X[:k], Y[:k], sample_weight=np.ones(k)))
              for k in range(2, 21)]
    assert [plain for plain, _ in values] == [weighted for _, weighted in values]


def test_uniform_weights_train_as_no_weights(backend):
    X, Y = data()
    a, b = network(), network()
    a.fit(X, Y, epochs=3, batch_size=4, optimizer="adam")
    b.fit(X, Y, epochs=3, batch_size=4, optimizer="adam", sample_weight=np.full(len(X), 49.0))
    np.testing.assert_allclose(parameters(a), parameters(b), rtol=1e-12, atol=1e-15)


def test_validation_fraction_holds_out_the_weights_of_its_rows(backend):
    X, Y = data(n=40, loss="cross_entropy")
    w = weights(40)
    net = network("cross_entropy")
    # what the network's generator will draw: the split first, then the epochs' orders
    replay = np.random.default_rng()
    replay.bit_generator.state = net._rng.bit_generator.state
    train, held = split_rows(40, Y.argmax(axis=1), 0.25, replay)
    history = net.fit(X, Y, epochs=3, lr=0.05, validation_fraction=0.25, sample_weight=w,
                      restore_best=False)
    twin = network("cross_entropy")
    twin._rng.bit_generator.state = replay.bit_generator.state
    expected = twin.fit(X[train], Y[train], epochs=3, lr=0.05, sample_weight=w[train],
                        validation_data=(X[held], Y[held], w[held]), restore_best=False)
    # the same up to the rounding of scaling the weights twice (all rows, then the share)
    np.testing.assert_allclose(history.val_losses, expected.val_losses, rtol=1e-12)
    np.testing.assert_allclose(history.losses, expected.losses, rtol=1e-12)
    np.testing.assert_allclose(parameters(net), parameters(twin), rtol=1e-12, atol=1e-15)
    weighted = net.loss(X[held], Y[held], sample_weight=w[held])
    assert history.val_losses[-1] == pytest.approx(weighted, rel=1e-12)
    assert weighted != pytest.approx(net.loss(X[held], Y[held]), rel=1e-6)


def test_a_held_out_share_of_zero_weights_is_refused(backend):
    X, Y = data(n=40, loss="cross_entropy")
    net = network("cross_entropy")
    replay = np.random.default_rng()
    replay.bit_generator.state = net._rng.bit_generator.state
    _, held = split_rows(40, Y.argmax(axis=1), 0.25, replay)
    w = np.ones(40)
    w[held] = 0.0
    before = parameters(net)
    with pytest.raises(ValueError, match="validation_fraction=0.25 drew held-out rows whose "
                                         "sample_weight are all"):
        net.fit(X, Y, epochs=2, validation_fraction=0.25, sample_weight=w)
    np.testing.assert_array_equal(parameters(net), before)


# ---- bad weights ----

N = 12
BAD_WEIGHTS = [
    pytest.param(np.ones(N - 1), ValueError,
                 rf"sample_weight must have one weight per sample, shape \({N},\), got shape "
                 rf"\({N - 1},\)", id="short"),
    pytest.param(np.ones((N, 1)), ValueError, rf"sample_weight .*got shape \({N}, 1\)",
                 id="2-D"),
    pytest.param(2.0, ValueError, r"sample_weight .*got shape \(\)", id="scalar"),
    pytest.param(np.r_[-1.0, np.ones(N - 1)], ValueError,
                 "sample_weight must hold finite numbers >= 0", id="negative"),
    pytest.param(np.r_[np.nan, np.ones(N - 1)], ValueError,
                 "sample_weight must hold finite numbers >= 0, got nan at sample 0$", id="nan"),
    pytest.param(np.r_[np.ones(N - 2), np.inf, -np.inf], ValueError,
                 rf"sample_weight must hold finite numbers >= 0, got inf at sample {N - 2} and "
                 r"1 more$", id="inf"),
    pytest.param(np.zeros(N), ValueError, "sample_weight must not be all zero", id="zeros"),
    pytest.param(["1"] * N, TypeError, "sample_weight must hold real numbers", id="strings"),
    pytest.param([1.0] * (N - 1) + [None], TypeError, "sample_weight must hold real numbers",
                 id="none"),
    pytest.param(np.ones(N, dtype=complex), TypeError, "sample_weight must hold real numbers",
                 id="complex"),
]

CALLS = {
    "fit": lambda net, X, Y, w: net.fit(X, Y, epochs=2, sample_weight=w),
    "fit-adam": lambda net, X, Y, w: net.fit(X, Y, epochs=2, optimizer="adam",
                                             sample_weight=w),
    "fit-lbfgs": lambda net, X, Y, w: net.fit(X, Y, epochs=2, optimizer="lbfgs",
                                              sample_weight=w),
    "fit-held-out": lambda net, X, Y, w: net.fit(X, Y, epochs=2, sample_weight=w,
                                                 validation_fraction=0.25),
    "step": lambda net, X, Y, w: net.step(X, Y, lr=0.1, sample_weight=w),
    "step-rprop": lambda net, X, Y, w: net.step(X, Y, optimizer="rprop", sample_weight=w),
    "loss": lambda net, X, Y, w: net.loss(X, Y, sample_weight=w),
    "gradients": lambda net, X, Y, w: net.gradients(X, Y, sample_weight=w),
}


@pytest.mark.parametrize("call", list(CALLS))
@pytest.mark.parametrize("bad, error, message", BAD_WEIGHTS)
def test_bad_sample_weights_are_refused_and_nothing_changes(backend, assert_same_state, call, bad,
                                                            error, message):
    X, Y = data(n=N)
    net = network()
    net.step(X, Y, optimizer="adam")  # some optimizer state that must survive
    before = net.get_state()
    with pytest.raises(error, match=message):
        CALLS[call](net, X, Y, bad)
    assert_same_state(net.get_state(), before)


@pytest.mark.parametrize("bad, error, message", BAD_WEIGHTS)
def test_bad_validation_weights_are_refused_and_nothing_changes(backend, assert_same_state, bad,
                                                                error, message):
    X, Y = data(n=N)
    net = network()
    before = net.get_state()
    with pytest.raises(error, match=message.replace("sample_weight", "validation_data's "
                                                    "sample_weight", 1)):
        net.fit(X, Y, epochs=2, validation_data=(X, Y, bad))
    assert_same_state(net.get_state(), before)


# ---- weights far from 1 ----

@pytest.mark.parametrize("size", [1e308, 5e-324])
def test_weights_of_any_finite_size_give_the_weighted_mean(backend, size):
    X, Y = data(n=4)
    net = network()
    w = np.array([size, size, 0.0, 0.0])  # finite, >= 0, not all zero: valid weights
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        got = net.loss(X, Y, sample_weight=w)
    assert got == pytest.approx(net.loss(X[:2], Y[:2]), rel=1e-12)
