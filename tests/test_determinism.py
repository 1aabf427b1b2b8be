"""Determinism: a seed fixes everything, and bpcore neither reads nor changes NumPy's global
random state."""
import numpy as np
import pytest

import bpcore


def data():
    rng = np.random.default_rng(42)
    return rng.normal(size=(30, 4)), rng.uniform(size=(30, 2))


def train(seed, **kwargs):
    X, Y = data()
    net = bpcore.Network([4, 6, 2], activation="tanh", seed=seed)
    history = net.fit(X, Y, epochs=20, lr=0.2, shuffle=True, **kwargs)
    return net, history


@pytest.mark.parametrize("kwargs", [{}, {"batch_size": 4, "momentum": 0.9, "weight_decay": 1e-3}])
def test_same_seed_gives_bitwise_identical_training(kwargs):
    first, history = train(123, **kwargs)
    second, history2 = train(123, **kwargs)
    assert history.losses == history2.losses
    for a, b in zip(first.weights + first.biases, second.weights + second.biases):
        assert np.array_equal(a, b)
    X, _ = data()
    assert np.array_equal(first.predict(X), second.predict(X))


def test_different_seeds_differ():
    first, _ = train(1)
    second, _ = train(2)
    assert not np.array_equal(first.weights[0], second.weights[0])


def test_seed_accepts_a_generator_and_a_sequence():
    a = bpcore.Network([4, 6, 2], seed=np.random.default_rng(9))
    b = bpcore.Network([4, 6, 2], seed=9)
    assert np.array_equal(a.weights[0], b.weights[0])
    c, d = bpcore.Network([4, 6, 2], seed=[1, 2]), bpcore.Network([4, 6, 2], seed=[1, 2])
    assert np.array_equal(c.weights[1], d.weights[1])


def everything():
    """Every public operation that might touch randomness; returns what it produced."""
    X, Y = data()
    net = bpcore.Network([4, 6, 2], activation="relu", seed=5)
    history = net.fit(X, Y, epochs=5, lr=0.1, batch_size=3, shuffle=True)
    net.step(X, Y, lr=0.1, momentum=0.5)
    g = net.gradients(X, Y)
    return [history.losses, net.predict(X), net.loss(X, Y), g.weights[0]] + net.weights


def test_global_numpy_random_state_is_neither_read_nor_changed():
    state = np.random.get_state()
    np.random.seed(0)
    state_0 = np.random.get_state()
    first = everything()
    after = np.random.get_state()
    assert after[0] == state_0[0] and np.array_equal(after[1], state_0[1]) and after[2:] == state_0[2:]
    np.random.seed(987654)
    second = everything()
    for a, b in zip(first, second):
        assert np.array_equal(a, b)
    np.random.set_state(state)


def test_seed_none_draws_fresh_entropy_not_the_global_state():
    np.random.seed(0)
    a = bpcore.Network([4, 6, 2])
    np.random.seed(0)
    b = bpcore.Network([4, 6, 2])
    assert not np.array_equal(a.weights[0], b.weights[0])


def test_fit_draws_only_from_the_networks_own_generator():
    # the network draws its initial weights, then one 64-bit word per epoch (the seed of the
    # epoch's order), all from numpy.random.default_rng(seed) and from nothing else
    net, history = train(77)
    rng = np.random.default_rng(77)
    bpcore.Network([4, 6, 2], activation="tanh", seed=rng)
    rng.bit_generator.random_raw(history.epochs)
    assert history.epochs > 1
    assert net._rng.bit_generator.state == rng.bit_generator.state
