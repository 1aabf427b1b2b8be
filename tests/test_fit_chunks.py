"""fit runs an epoch in chunks of whole batches, so Ctrl-C is acted on within the epoch: the
chunks give the same numbers as one call, an interrupt keeps the last whole epoch and says so,
and a run that ends worse than it started is warned about."""
import os
import signal
import warnings

import numpy as np
import pytest

import bpcore
from bpcore import _backend
from bpcore import network as network_module


class CountingKernels:
    """The active kernels, with train_epoch counted and optionally interrupted after call k."""

    def __init__(self, kernels, interrupt_after=None):
        self._kernels = kernels
        self.calls = 0
        self.interrupt_after = interrupt_after

    def __getattr__(self, name):
        return getattr(self._kernels, name)

    def train_epoch(self, *args):
        total = self._kernels.train_epoch(*args)
        self.calls += 1
        if self.calls == self.interrupt_after:
            # as a Ctrl-C arriving during that compiled call: Python raises KeyboardInterrupt
            # as soon as the call returns to the interpreter
            os.kill(os.getpid(), signal.SIGINT)
        return total


def parameters(network):
    return len(network.get_state()["parameters"])


def problem(n=40, sizes=(5, 16, 16, 3)):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(n, sizes[0]))
    Y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], n)]
    network = bpcore.Network(sizes, activation="tanh", output="softmax", loss="cross_entropy",
                             seed=4)
    return network, X, Y


@pytest.mark.parametrize("batch_size", [1, 3, 8, 40])
@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_chunked_epochs_give_the_same_numbers_as_one_call(batch_size, momentum, monkeypatch):
    whole, X, Y = problem()
    history_whole = whole.fit(X, Y, epochs=3, lr=0.01, batch_size=batch_size,
                              momentum=momentum)
    chunked, _, _ = problem()
    counter = CountingKernels(_backend.kernels)
    # about two batches per call
    monkeypatch.setattr(network_module, "CHUNK_WORK", 2 * batch_size * parameters(chunked))
    with _backend.use_backend(counter):
        history_chunked = chunked.fit(X, Y, epochs=3, lr=0.01, batch_size=batch_size,
                                      momentum=momentum)
    batches = -(-len(X) // batch_size)
    assert counter.calls == 3 * -(-batches // 2)
    # the same steps in the same order: parameters equal to the last bit; the epoch loss is
    # a sum of the chunks' sums, so only its summation order differs
    np.testing.assert_allclose(history_chunked.losses, history_whole.losses, rtol=1e-12)
    for a, b in zip(chunked.weights + chunked.biases, whole.weights + whole.biases):
        np.testing.assert_array_equal(a, b)


def test_a_large_network_gets_several_calls_per_epoch_and_a_small_one_one(monkeypatch):
    counter = CountingKernels(_backend.kernels)
    small, X, Y = problem(n=200)
    with _backend.use_backend(counter):
        small.fit(X, Y, epochs=2, lr=0.01)
        assert counter.calls == 2
        # 5-16-16-3 has 419 parameters: 200 online samples are 83,800 multiply-adds per epoch
        monkeypatch.setattr(network_module, "CHUNK_WORK", 419 * 50)
        counter.calls = 0
        small.fit(X, Y, epochs=1, lr=0.01)
    assert counter.calls == 4


@pytest.fixture
def sigint_raises():
    """Python's own SIGINT handler, as in a terminal: a runner started in the background by a
    shell without job control inherits SIGINT ignored, and the signal would be dropped."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.mark.parametrize("interrupt_after, message", [
    (15, "interrupted in epoch 2; the network keeps the parameters from the end of epoch 1"),
    (2, "interrupted in epoch 1; the network keeps the parameters it had before fit"),
])
def test_an_interrupt_inside_an_epoch_keeps_the_last_whole_epoch(interrupt_after, message,
                                                                 monkeypatch, sigint_raises):
    network, X, Y = problem()
    before = [w.copy() for w in network.weights + network.biases]
    after_epoch = {}

    def remember(epoch, loss):
        after_epoch[epoch] = [w.copy() for w in network.weights + network.biases]

    counter = CountingKernels(_backend.kernels, interrupt_after=interrupt_after)
    # 40 samples, 4 per call: 10 calls per epoch
    monkeypatch.setattr(network_module, "CHUNK_WORK", 4 * parameters(network))
    with _backend.use_backend(counter), pytest.raises(KeyboardInterrupt, match=message):
        network.fit(X, Y, epochs=5, lr=0.05, momentum=0.9, callback=remember)
    # acted on within the epoch, not after it
    assert counter.calls == interrupt_after
    expected = after_epoch[1] if interrupt_after > 10 else before
    for a, b in zip(network.weights + network.biases, expected):
        np.testing.assert_array_equal(a, b)
    # and the network trains on from there as if the interrupted epoch had not begun: its
    # shuffle's draw is given back too (an uninterrupted twin trained as far agrees)
    twin = problem()[0]
    if interrupt_after > 10:
        twin.fit(X, Y, epochs=1, lr=0.05, momentum=0.9)
    assert twin.get_state()["generator"] == network.get_state()["generator"]
    network.fit(X, Y, epochs=1, lr=0.05, momentum=0.9)
    twin.fit(X, Y, epochs=1, lr=0.05, momentum=0.9)
    for a, b in zip(network.weights + network.biases, twin.weights + twin.biases):
        np.testing.assert_array_equal(a, b)


def test_an_interrupt_between_epochs_keeps_that_epoch():
    network, X, Y = problem()
    kept = {}

    def interrupt(epoch, loss):
        kept[epoch] = [w.copy() for w in network.weights + network.biases]
        if epoch == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt, match="interrupted after epoch 2; the network keeps "
                                                "the parameters from the end of epoch 2"):
        network.fit(X, Y, epochs=5, lr=0.05, callback=interrupt)
    for a, b in zip(network.weights + network.biases, kept[2]):
        np.testing.assert_array_equal(a, b)


def test_training_that_ends_above_its_first_loss_is_warned_about():
    # y = 2x fitted exactly, then a weight decay that pulls the weight towards 0 at every
    # step: the loss can only grow, on any machine
    X = np.linspace(-1, 1, 10)[:, None]
    network = bpcore.Network([1, 1], output="identity", seed=0)
    network.weights[0][...] = 2.0
    with pytest.warns(RuntimeWarning, match="try a learning rate smaller than lr=0.1"):
        history = network.fit(X, 2 * X, epochs=5, lr=0.1, weight_decay=5.0)
    assert history.losses[-1] > history.losses[0]
    quiet, X, Y = problem()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        history = quiet.fit(X, Y, epochs=10, lr=0.05)
    assert history.losses[-1] < history.losses[0]


def test_ctrl_c_in_lbfgs_first_pass_says_so_and_keeps_the_optimizer_state(monkeypatch):
    # the first evaluation of the loss, a pass over all of X, ran outside the handler that
    # names the kept parameters: a bare KeyboardInterrupt, and SGD's velocity was dropped
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(30, 2)), rng.normal(size=(30, 1))
    net = bpcore.Network([2, 3, 1], output="identity", seed=0)
    net.fit(X, Y, epochs=2, momentum=0.9)
    before = net.get_state()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("bpcore.network._LBFGSRun.objective", interrupted)
    with pytest.raises(KeyboardInterrupt, match=r"^training interrupted before iteration 1; "
                                                r"the network keeps the parameters it had "
                                                r"before fit$"):
        net.fit(X, Y, optimizer="lbfgs")
    after = net.get_state()
    assert after["optimizer"]["name"] == "sgd"
    np.testing.assert_array_equal(after["optimizer"]["velocity"], before["optimizer"]["velocity"])
    np.testing.assert_array_equal(after["parameters"], before["parameters"])
