"""Optimizers beyond plain SGD: Adam and AdamW against PyTorch, the two backends against each
other, and their state (moments, step count) on the network: kept, rolled back, reset."""
import warnings

import numpy as np
import pytest

import bpcore
from bpcore import _backend


def data(n=24, n_in=5, n_out=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, n_in)), rng.normal(size=(n, n_out))


def network(dtype="float64", seed=0, sizes=(5, 7, 3)):
    return bpcore.Network(list(sizes), activation="tanh", output="identity", loss="mse",
                          dtype=dtype, seed=seed)


def parameters(net):
    return net.get_state()["parameters"]


@pytest.mark.parametrize("weight_decay", [0.0, 0.05])
@pytest.mark.parametrize("decoupled", [False, True])
@pytest.mark.parametrize("batch_size", [1, 8])
def test_adam_follows_torch(backend, decoupled, weight_decay, batch_size):
    torch = pytest.importorskip("torch", reason="the trajectory oracle is torch.optim")
    X, Y = data()
    net = network()
    layers = []
    for weights, biases in zip(net.weights, net.biases):
        layer = torch.nn.Linear(weights.shape[1], weights.shape[0], dtype=torch.float64)
        with torch.no_grad():
            layer.weight.copy_(torch.from_numpy(weights.copy()))
            layer.bias.copy_(torch.from_numpy(biases.copy()))
        layers.append(layer)
    # weight decay on the weights only, as bpcore applies it: the biases in a group without
    groups = [{"params": [layer.weight for layer in layers], "weight_decay": weight_decay},
              {"params": [layer.bias for layer in layers], "weight_decay": 0.0}]
    kind = torch.optim.AdamW if decoupled else torch.optim.Adam
    reference = kind(groups, lr=0.01, betas=(0.8, 0.99), eps=1e-7)
    optimizer = bpcore.Adam(lr=0.01, beta1=0.8, beta2=0.99, eps=1e-7,
                            weight_decay=weight_decay, decoupled=decoupled)
    for step in range(20):
        rows = slice((step * batch_size) % len(X), (step * batch_size) % len(X) + batch_size)
        x, y = X[rows], Y[rows]
        loss = net.step(x[0] if batch_size == 1 else x, y[0] if batch_size == 1 else y,
                        optimizer=optimizer)
        reference.zero_grad()
        h = torch.from_numpy(x)
        for i, layer in enumerate(layers):
            h = layer(h)
            if i < len(layers) - 1:
                h = torch.tanh(h)
        torch_loss = 0.5 * ((h - torch.from_numpy(y)) ** 2).sum(dim=1).mean()
        torch_loss.backward()
        reference.step()
        assert loss == pytest.approx(torch_loss.item(), rel=1e-10)
    for weights, biases, layer in zip(net.weights, net.biases, layers):
        np.testing.assert_allclose(weights, layer.weight.detach().numpy(), rtol=1e-10,
                                   atol=1e-14)
        np.testing.assert_allclose(biases, layer.bias.detach().numpy(), rtol=1e-10, atol=1e-14)
    assert net.get_state()["optimizer"]["step"] == 20


@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-10), ("float32", 1e-4)])
@pytest.mark.parametrize("batch_size", [1, 6])
@pytest.mark.parametrize("decoupled", [False, True])
@pytest.mark.parametrize("sizes", [(5, 7, 3), (20, 64, 32, 3)], ids=["loops", "blas"])
def test_adam_trains_alike_on_both_backends(backend, dtype, rtol, batch_size, decoupled, sizes):
    if backend != "cython":
        pytest.skip("compares both backends in one run")
    X, Y = data(n=30, n_in=sizes[0], n_out=sizes[-1])
    nets = []
    for name in ("cython", "python"):
        with _backend.use_backend(name):
            net = network(dtype, sizes=sizes)
            net.fit(X, Y, epochs=3, batch_size=batch_size, shuffle=False,
                    optimizer=bpcore.Adam(lr=0.01, weight_decay=0.01, decoupled=decoupled))
            nets.append(net)
    a, b = (net.get_state() for net in nets)
    scale = np.abs(b["parameters"]).max()
    np.testing.assert_allclose(a["parameters"], b["parameters"], rtol=rtol, atol=rtol * scale)
    for moment in ("m", "v"):
        reference = b["optimizer"][moment]
        np.testing.assert_allclose(a["optimizer"][moment], reference, rtol=rtol,
                                   atol=rtol * np.abs(reference).max())
    assert a["optimizer"]["step"] == b["optimizer"]["step"] == 3 * -(-30 // batch_size)


@pytest.mark.parametrize("batch_size", [1, 4])
def test_an_adam_epoch_takes_the_steps_that_step_takes(backend, batch_size):
    X, Y = data(n=12)
    optimizer = bpcore.Adam(lr=0.02, weight_decay=0.01)
    a, b = network(), network()
    a.fit(X, Y, epochs=2, batch_size=batch_size, shuffle=False, optimizer=optimizer)
    for _ in range(2):
        for start in range(0, 12, batch_size):
            rows = slice(start, start + batch_size)
            if batch_size == 1:
                b.step(X[start], Y[start], optimizer=optimizer)  # the one-sample kernel
            else:
                b.step(X[rows], Y[rows], optimizer=optimizer)
    state_a, state_b = a.get_state(), b.get_state()
    np.testing.assert_array_equal(state_a["parameters"], state_b["parameters"])
    for key in ("m", "v", "step"):
        np.testing.assert_array_equal(state_a["optimizer"][key], state_b["optimizer"][key])


@pytest.mark.parametrize("one_sample", [True, False])
def test_a_diverged_adam_step_restores_the_moments_and_the_step_count(backend, one_sample):
    X, Y = data(n=4)
    net = network()
    net.step(X, Y, optimizer=bpcore.Adam(lr=0.01))
    before = net.get_state()
    huge = bpcore.Adam(lr=1e308)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(bpcore.DivergenceError, match="undone"):
            net.step(X[0] if one_sample else X, Y[0] if one_sample else Y, optimizer=huge)
    after = net.get_state()
    np.testing.assert_array_equal(after["parameters"], before["parameters"])
    for key in ("m", "v", "step"):
        np.testing.assert_array_equal(after["optimizer"][key], before["optimizer"][key])


def test_the_state_follows_the_kind_of_optimizer(backend):
    X, Y = data()
    net = network()
    net.fit(X, Y, epochs=1, lr=0.05, momentum=0.9)
    assert np.any(net.get_state()["optimizer"]["velocity"])
    net.fit(X, Y, epochs=1, optimizer="adam")
    state = net.get_state()["optimizer"]
    assert state["name"] == "adam" and state["step"] == len(X) and np.any(state["m"])
    net.fit(X, Y, epochs=1, optimizer="adam")
    assert net.get_state()["optimizer"]["step"] == 2 * len(X)  # carried across calls
    net.step(X[:3], Y[:3], lr=0.05)  # back to SGD: a fresh velocity (momentum 0 leaves it)
    state = net.get_state()["optimizer"]
    assert state["name"] == "sgd" and not np.any(state["velocity"])


def test_adam_state_round_trips_and_continues_bit_for_bit(backend):
    X, Y = data()
    optimizer = bpcore.Adam(lr=0.01)
    net = network()
    net.fit(X, Y, epochs=2, batch_size=5, shuffle=False, optimizer=optimizer)
    twin = network(seed=4)
    twin.set_state(net.get_state())
    for trained in (net, twin):
        trained.fit(X, Y, epochs=2, batch_size=5, shuffle=False, optimizer=optimizer)
    a, b = net.get_state(), twin.get_state()
    np.testing.assert_array_equal(a["parameters"], b["parameters"])
    assert a["optimizer"]["step"] == b["optimizer"]["step"]


@pytest.mark.parametrize("settings, error, message", [
    ({"beta1": 1.0}, ValueError, r"beta1 must be a finite number in \[0, 1\)"),
    ({"beta2": -0.1}, ValueError, r"beta2 must be a finite number in \[0, 1\)"),
    ({"eps": 0.0}, ValueError, r"eps must be a finite number in \(0, inf\)"),
    ({"lr": float("nan")}, ValueError, "lr must be a finite number"),
    ({"weight_decay": -1.0}, ValueError, "weight_decay must be a finite number"),
    ({"decoupled": "yes"}, TypeError, "decoupled must be True or False"),
    ({"beta1": "0.9"}, TypeError, "beta1 must be a real number"),
])
def test_bad_adam_settings_are_refused(settings, error, message):
    with pytest.raises(error, match=message):
        bpcore.Adam(**settings)
