"""The JAX peer of `bpcore bench` (bpcore.bench.jax_peer) computes what bpcore computes: one
jitted epoch equals `Network.fit(..., epochs=1, shuffle=False)` from the same weights, the
online step loop equals fit with batch_size=1, and the jitted predict equals
`Network.predict`. Correctness only; the timings belong to `bpcore bench`."""
import sys

import numpy as np
import pytest

pytest.importorskip("jax", reason="jax is not installed: the JAX peer of the bench is optional")

import bpcore  # noqa: E402
from bpcore.bench import Case, jax_peer  # noqa: E402

KINDS = [("sigmoid", "sigmoid", "mse"), ("relu", "softmax", "cross_entropy")]
SIZES = (5, 7, 6, 4)
N = 10  # batch size 3 leaves a last batch of one row


def setup(kind, dtype, batch_size, lr=0.5):
    activation, output, loss = kind
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N, SIZES[0])).astype(dtype)
    if loss == "cross_entropy":
        Y = np.eye(SIZES[-1], dtype=dtype)[rng.integers(0, SIZES[-1], N)]
    else:
        Y = rng.uniform(size=(N, SIZES[-1])).astype(dtype)
    case = Case("test", "test", SIZES, activation, output, loss, dtype, batch_size, N, lr=lr)

    def network():  # the same starting weights each time
        return bpcore.Network(SIZES, activation=activation, output=output, loss=loss,
                              dtype=dtype, seed=1)
    return case, network, X, Y


def assert_same_parameters(trainer, network, start, rtol):
    """The trainer's parameters equal the network's to rtol of each layer's largest entry
    (rounding errors scale with it, and an entry near zero has no meaningful relative error),
    in the network's dtype, after a change of the weights well above that tolerance (so the
    comparison could fail)."""
    got = trainer.weights() + trainer.biases()
    expected = network.weights + network.biases
    for mine, theirs in zip(got, expected):
        assert mine.dtype == network.dtype
        assert mine.shape == theirs.shape
        np.testing.assert_allclose(mine, theirs, rtol=rtol, atol=rtol * np.abs(theirs).max())
    moved = max(np.abs(after - before).max() / np.abs(after).max()
                for after, before in zip(network.weights, start))
    assert moved > 10 * rtol


# float64: 1e-10. float32 rounds at about 6e-8 relative per operation, and XLA sums products
# and computes exp/log in other orders and formulas than bpcore (log-softmax and autodiff
# against bpcore's fused a - y): a few ulps per step, grown over the epoch's steps (about 2e-7
# of each layer's largest entry on an AVX2 machine). 1e-4 of it leaves a margin of hundreds
# for other CPUs' summation orders, and is still at least ten times below the epoch's change
# of the weights (checked). Each dtype must stay itself: no other float type in the program.
PRECISIONS = [("float64", 0.5, 1e-10, "f32"), ("float32", 0.1, 1e-4, "f64")]


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind[2])
@pytest.mark.parametrize("batch_size", [1, 3, N])
@pytest.mark.parametrize("dtype, lr, rtol, other", PRECISIONS, ids=["float64", "float32"])
def test_epoch_equals_fit(kind, batch_size, dtype, lr, rtol, other):
    case, network, X, Y = setup(kind, dtype, batch_size, lr=lr)
    trainer = jax_peer.epoch_trainer(case, network(), X, Y)
    trainer()
    reference = network()
    start = [weights.copy() for weights in reference.weights]
    reference.fit(X, Y, epochs=1, lr=case.lr, batch_size=batch_size, shuffle=False)
    assert_same_parameters(trainer, reference, start, rtol=rtol)
    assert other not in trainer.hlo_text()


def test_each_call_continues_training_and_order_picks_the_rows():
    case, network, X, Y = setup(KINDS[1], "float64", 3)
    order = np.random.default_rng(5).permutation(N)
    trainer = jax_peer.epoch_trainer(case, network(), X, Y, order=order)
    trainer()
    trainer()
    reference = network()
    start = [weights.copy() for weights in reference.weights]
    reference.fit(X[order], Y[order], epochs=2, lr=case.lr, batch_size=3, shuffle=False)
    assert_same_parameters(trainer, reference, start, rtol=1e-10)


def test_shuffled_epochs_differ_from_the_rows_order_and_from_each_other():
    case, network, X, Y = setup(KINDS[1], "float64", 3)
    in_order = jax_peer.epoch_trainer(case, network(), X, Y)
    shuffled = [jax_peer.epoch_trainer(case, network(), X, Y, shuffle=True, seed=seed)
                for seed in (0, 1)]
    for trainer in [in_order, *shuffled]:
        trainer()
    first = [trainer.weights()[0] for trainer in [in_order, *shuffled]]
    assert not np.allclose(first[0], first[1])
    assert not np.allclose(first[1], first[2])


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind[2])
def test_online_steps_equal_fit_with_batch_size_1(kind):
    case, network, X, Y = setup(kind, "float64", 1)
    trainer = jax_peer.step_trainer(case, network(), X, Y)
    trainer()
    trainer()
    reference = network()
    start = [weights.copy() for weights in reference.weights]
    reference.fit(X, Y, epochs=2, lr=case.lr, batch_size=1, shuffle=False)
    assert_same_parameters(trainer, reference, start, rtol=1e-10)


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind[2])
def test_predict_equals_network_predict(kind):
    _, network, X, _ = setup(kind, "float64", 1)
    net = network()
    predict = jax_peer.predict_function(net)
    for x in X:
        got = predict(x)
        assert isinstance(got, np.ndarray) and got.dtype == np.float64
        np.testing.assert_allclose(got, net.predict(x), rtol=1e-12, atol=1e-12)


def test_refuses_what_it_cannot_compute():
    case, network, X, Y = setup(KINDS[0], "float64", 3)
    leaky = bpcore.Network(SIZES, activation="leaky_relu", dtype="float64", seed=1)
    with pytest.raises(ValueError, match="activation"):
        jax_peer.epoch_trainer(case, leaky, X, Y)
    with pytest.raises(ValueError, match="X must have shape"):
        jax_peer.epoch_trainer(case, network(), X[:, 1:], Y)
    with pytest.raises(ValueError, match="order must be a permutation"):
        jax_peer.epoch_trainer(case, network(), X, Y, order=np.zeros(N, dtype=int))
    with pytest.raises(ValueError, match="order or shuffle"):
        jax_peer.epoch_trainer(case, network(), X, Y, order=np.arange(N), shuffle=True)


def test_available_says_whether_jax_imports(monkeypatch):
    assert jax_peer.available()
    monkeypatch.setitem(sys.modules, "jax", None)  # import jax now raises ImportError
    assert not jax_peer.available()
