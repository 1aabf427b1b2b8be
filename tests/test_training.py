"""The training loop's validation, early stopping and best-state restore; optimizer objects;
and the network's public state (get_state/set_state)."""
import warnings
from collections import Counter

import numpy as np
import pytest

import bpcore
from bpcore import _backend, _fallback
from bpcore.optim import SGD, OptimizerState


def classification(n=60, seed=0, noise=False):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    labels = rng.integers(0, 3, n) if noise else (X[:, 0] > 0).astype(int) + (X[:, 1] > 1)
    return X, np.eye(3)[labels]


def network(seed=1, dtype="float64"):
    return bpcore.Network([4, 8, 3], activation="tanh", output="softmax",
                          loss="cross_entropy", dtype=dtype, seed=seed)


def parameters(net):
    return net.get_state()["parameters"]


# ---- validation, early stopping, best-state restore ----

def test_validation_losses_are_the_loss_after_each_epoch():
    X, Y = classification()
    Xv, Yv = classification(seed=1)
    net = network()
    after = []
    history = net.fit(X, Y, epochs=6, lr=0.05, validation_data=(Xv, Yv), restore_best=False,
                      callback=lambda epoch, loss: after.append(net.loss(Xv, Yv)))
    assert history.val_losses == after and len(after) == 6
    assert history.best_epoch is None and history.best_loss is None


def test_restore_best_keeps_the_epoch_of_the_lowest_validation_loss():
    # noise labels and a large learning rate: the validation loss rises and falls
    X, Y = classification(noise=True)
    Xv, Yv = classification(seed=1, noise=True)
    net = network()
    history = net.fit(X, Y, epochs=30, lr=0.3, validation_data=(Xv, Yv), restore_best=True)
    best = int(np.argmin(history.val_losses))
    assert best < history.epochs - 1  # the test means something: the last was not the best
    assert history.best_epoch == best + 1
    assert history.best_loss == min(history.val_losses)
    assert net.loss(Xv, Yv) == min(history.val_losses)


def test_patience_watches_the_validation_loss_and_restores_the_best():
    X, Y = classification(noise=True)
    Xv, Yv = classification(seed=1, noise=True)
    net = network()
    history = net.fit(X, Y, epochs=500, lr=0.3, validation_data=(Xv, Yv), patience=3,
                      restore_best=True)
    assert history.stop_reason == "patience" and history.epochs < 500
    assert history.epochs - history.best_epoch == 3
    assert min(history.val_losses[history.best_epoch:]) >= history.best_loss
    assert net.loss(Xv, Yv) == history.best_loss


def test_a_callback_stop_still_counts_its_epoch_for_the_best():
    # a learnable problem and a small step: every epoch improves, so the epoch the callback
    # stops at is the best, and restore_best must keep it (not the one before)
    X, Y = classification()
    net = network()
    at_stop = {}

    def stop_at_5(epoch, loss):
        if epoch == 5:
            at_stop["parameters"] = parameters(net)
        return epoch == 5

    history = net.fit(X, Y, epochs=50, lr=0.01, validation_data=(X, Y), restore_best=True,
                      callback=stop_at_5)
    assert history.stop_reason == "callback" and history.epochs == 5
    assert history.val_losses == sorted(history.val_losses, reverse=True)
    assert history.best_epoch == 5
    np.testing.assert_array_equal(parameters(net), at_stop["parameters"])


def test_restore_best_without_validation_keeps_the_last_epoch():
    # an epoch's loss is a running mean over its steps, not the loss of its final
    # parameters: going back to the epoch of the lowest one would often keep worse ones
    X, Y = classification(noise=True)
    net = network()
    history = net.fit(X, Y, epochs=25, lr=0.3)  # restore_best by default
    assert int(np.argmin(history.losses)) < history.epochs - 1  # a lower epoch existed
    assert history.best_epoch is None and history.best_loss is None
    twin = network()
    twin.fit(X, Y, epochs=25, lr=0.3, restore_best=False)
    for ours, theirs in zip(net.weights + net.biases, twin.weights + twin.biases):
        np.testing.assert_array_equal(ours, theirs)
    # the training loss itself, as validation data, is what to keep the best of
    net = network()
    history = net.fit(X, Y, epochs=25, lr=0.3, validation_data=(X, Y))
    assert net.loss(X, Y) == history.best_loss == min(history.val_losses)


def test_a_rising_loss_warns_at_the_callers_line():
    X = np.linspace(-1, 1, 10)[:, None]
    net = bpcore.Network([1, 1], output="identity", seed=0)
    net.weights[0][...] = 2.0
    with pytest.warns(RuntimeWarning, match="smaller than lr") as caught:
        net.fit(X, 2 * X, epochs=5, lr=0.1, weight_decay=5.0)
    assert caught[0].filename == __file__


class _Scripted:
    """A model for bpcore.training.train whose epochs have the given training losses and
    validation losses, one per epoch; its state is the number of the epoch it is at."""

    def __init__(self, losses, val_losses):
        self.losses, self.val_losses, self.epoch = losses, val_losses, 0

    def train_rows(self, order):
        self.epoch += 1
        return self.losses[self.epoch - 1] * len(order), True

    def set_rate(self, rate):
        pass

    def snapshot(self):
        return self.epoch

    def restore(self, saved):
        self.epoch = saved

    def loss(self, X, Y, weights=None):
        return self.val_losses[self.epoch - 1]

    def accuracy(self, X, Y, weights=None):
        return None


@pytest.mark.parametrize("val_losses, kept, warned", [
    ([1.0, 0.4, 0.5, 0.9], 2, None),  # the last epoch's loss rose, but it is not kept
    ([1.0, 0.9, 0.8, 0.7], 4, "training ended with a loss (0.9) above the first epoch's (0.5)"),
    ([1.0, 2.0, 0.3, 0.9], 3, "training kept epoch 3, with a loss (0.7) above the first "
                              "epoch's (0.5)")])
def test_the_rising_loss_warning_looks_at_the_epoch_kept(val_losses, kept, warned):
    # with restore_best it compared the last epoch's loss, not the kept one's (the CLI's
    # --patience warned of a rise while the model it saved was 8 times better)
    from bpcore.training import train
    model = _Scripted([0.5, 0.3, 0.7, 0.9], val_losses)
    X = np.zeros((4, 1))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = train(model, X, X, epochs=4, lr=0.1, shuffle=False,
                        rng=np.random.default_rng(0), validation=(X, X), watch="validation",
                        restore_best=True)
    assert history.best_epoch == kept and model.epoch == kept
    messages = [str(w.message) for w in caught]
    assert (messages == []) if warned is None else (len(messages) == 1
                                                    and messages[0].startswith(warned))


@pytest.mark.parametrize("validation_data, error, message", [
    ((np.zeros((5, 3)), np.zeros((5, 3))), ValueError, "validation_data's X has 3 features"),
    ((np.zeros((5, 4)), np.zeros((5, 2))), ValueError, "validation_data's Y has 2 outputs"),
    ((np.zeros((5, 4)), np.zeros((4, 3))), ValueError,
     "validation_data's Y has 4 samples, but validation_data's X has 5"),
    ((np.zeros((5, 4)), np.full((5, 3), np.nan)), ValueError, "validation_data's Y must be"),
    ((np.zeros((5, 4)),), TypeError, "a pair .* got a tuple of length 1"),
    (np.zeros((5, 4)), TypeError, "a pair .* got ndarray"),
])
def test_bad_validation_data_is_refused_before_training(validation_data, error, message):
    X, Y = classification()
    net = network()
    before = parameters(net)
    with pytest.raises(error, match=message):
        net.fit(X, Y, epochs=2, validation_data=validation_data)
    np.testing.assert_array_equal(parameters(net), before)


def test_restore_best_must_be_a_bool():
    X, Y = classification()
    with pytest.raises(TypeError, match="restore_best must be True or False"):
        network().fit(X, Y, epochs=1, restore_best="yes")


# ---- optimizer objects ----

@pytest.mark.parametrize("batch_size", [1, 7])
def test_an_sgd_object_trains_as_its_settings_do(batch_size):
    X, Y = classification()
    a, b, c = network(), network(), network()
    a.fit(X, Y, epochs=3, lr=0.05, momentum=0.9, weight_decay=1e-3, batch_size=batch_size)
    b.fit(X, Y, epochs=3, batch_size=batch_size,
          optimizer=SGD(lr=0.05, momentum=0.9, weight_decay=1e-3))
    c.fit(X, Y, epochs=3, batch_size=batch_size, optimizer="sgd")
    np.testing.assert_array_equal(parameters(a), parameters(b))
    assert not np.array_equal(parameters(a), parameters(c))
    d = network()
    d.fit(X, Y, epochs=3, batch_size=batch_size)  # the defaults: SGD(lr=0.1)
    np.testing.assert_array_equal(parameters(c), parameters(d))
    # and step, one sample on the fast path and a batch on the general one
    e, f = network(), network()
    for net, kwargs in ((e, {"lr": 0.05, "momentum": 0.9}),
                        (f, {"optimizer": SGD(lr=0.05, momentum=0.9)})):
        net.step(X[0], Y[0], **kwargs)
        net.step(X[:5], Y[:5], **kwargs)
    np.testing.assert_array_equal(parameters(e), parameters(f))


@pytest.mark.parametrize("call, error, message", [
    (lambda net, X, Y: net.fit(X, Y, optimizer="adagrad"), ValueError,
     r"optimizer must be the name of one \('sgd', 'adam', 'rprop', 'lbfgs'; lower case\)"),
    (lambda net, X, Y: net.fit(X, Y, lr=0.1, optimizer=SGD(lr=0.01)), ValueError,
     "pass lr to the optimizer"),
    (lambda net, X, Y: net.fit(X, Y, momentum=0.0, optimizer="sgd"), ValueError,
     "pass momentum to the optimizer"),
    (lambda net, X, Y: net.fit(X, Y, optimizer=0.1), TypeError,
     "optimizer must be None, a name"),
    (lambda net, X, Y: net.fit(X, Y, lr=0.5, optimizer=SGD()), ValueError,
     "pass lr to the optimizer, not beside it"),
    (lambda net, X, Y: net.step(X, Y, momentum=0.5, optimizer="sgd"), ValueError,
     "pass momentum to the optimizer"),
    (lambda net, X, Y: net.step(X, Y), TypeError, "lr, a learning rate, is needed unless"),
    (lambda net, X, Y: net.step(X[0], Y[0]), TypeError, "lr, a learning rate, is needed"),
    (lambda net, X, Y: net.fit(X, Y, lr=np.ones(2), optimizer="sgd"), ValueError,
     "pass lr to the optimizer"),
    (lambda net, X, Y: SGD(lr=-1.0), ValueError, r"lr must be a finite number in \(0, inf\)"),
    (lambda net, X, Y: SGD(momentum="0.5"), TypeError, "momentum must be a real number"),
])
def test_bad_optimizer_arguments_are_refused(call, error, message):
    X, Y = classification(n=10)
    net = network()
    before = parameters(net)
    with pytest.raises(error, match=message):
        call(net, X, Y)
    np.testing.assert_array_equal(parameters(net), before)


# ---- the public state ----

def test_state_round_trips_and_continues_training_bit_for_bit():
    X, Y = classification()
    net = network()
    net.fit(X, Y, epochs=2, lr=0.05, momentum=0.9, batch_size=5, shuffle=False)
    state = net.get_state()
    assert state["optimizer"]["name"] == "sgd"
    assert np.any(state["optimizer"]["velocity"] != 0)
    twin = network(seed=9)
    twin.set_state(state)
    for trained in (net, twin):
        trained.fit(X, Y, epochs=2, lr=0.05, momentum=0.9, batch_size=5, shuffle=False)
    np.testing.assert_array_equal(parameters(net), parameters(twin))
    np.testing.assert_array_equal(net.get_state()["optimizer"]["velocity"],
                                  twin.get_state()["optimizer"]["velocity"])


def test_get_state_is_a_copy():
    net = network()
    state = net.get_state()
    state["parameters"][:] = 0
    state["optimizer"]["velocity"][:] = 1
    assert np.any(parameters(net) != 0)
    assert not np.any(net.get_state()["optimizer"]["velocity"])


def test_set_state_converts_to_the_networks_dtype():
    net = network(dtype="float32")
    twin = network(seed=3)  # float64
    twin.set_state(net.get_state())
    assert twin.get_state()["parameters"].dtype == np.float64
    np.testing.assert_array_equal(twin.get_state()["parameters"], parameters(net))


@pytest.mark.parametrize("change, error, message", [
    (lambda s: s.update(sizes=(4, 9, 3)), ValueError, "describes another network: sizes"),
    (lambda s: s.update(sizes=3), ValueError, "describes another network: sizes 3"),
    (lambda s: s.update(activation="relu"), ValueError, "another network: activation"),
    (lambda s: s.update(parameters=s["parameters"][:-1]), ValueError,
     r"state\['parameters'\] must have shape"),
    (lambda s: s["parameters"].__setitem__(0, np.nan), ValueError,
     r"state\['parameters'\] must be finite"),
    (lambda s: s.update(parameters=s["parameters"].astype(str)), TypeError,
     "must hold real numbers"),
    (lambda s: s.update(optimizer={"name": "rmsprop"}), ValueError,
     "'name' is one of 'sgd', 'adam'"),
    (lambda s: s.update(optimizer={"name": "adam"}), ValueError, "has no 'm' array"),
    (lambda s: s["optimizer"].pop("velocity"), ValueError, "has no 'velocity' array"),
    (lambda s: s["optimizer"].update(velocity=np.zeros(3)), ValueError,
     r"\['velocity'\] must have shape"),
    (lambda s: s.update(paramters=s["parameters"]), ValueError, "unknown entries 'paramters'"),
    (lambda s: s["optimizer"].update(m=s["parameters"]), ValueError,
     r"state\['optimizer'\] has unknown entries 'm'"),
    (lambda s: s.update(optimizer="sgd"), TypeError, r"state\['optimizer'\] must be a dict"),
    (lambda s: s.update(parameters=None), TypeError, "must be an array of real numbers, got None"),
    (lambda s: s.update(optimizer={"name": "adam", "m": s["parameters"],
                                   "v": np.abs(s["parameters"]), "step": -1.0}), ValueError,
     r"\['step'\] must be a whole number >= 0 \(steps taken\), got -1.0"),
    (lambda s: s.update(optimizer={"name": "rprop", "step_size": np.abs(s["parameters"]),
                                   "previous": s["parameters"], "step": 2.5}), ValueError,
     r"\['step'\] must be a whole number >= 0"),
])
def test_bad_state_is_refused_and_changes_nothing(change, error, message):
    net = network()
    X, Y = classification(n=10)
    net.fit(X, Y, epochs=1, lr=0.05, momentum=0.9)
    before = net.get_state()
    state = network(seed=5).get_state()
    state["optimizer"]["velocity"] = np.ones_like(state["optimizer"]["velocity"])
    change(state)
    with pytest.raises(error, match=message):
        net.set_state(state)
    after = net.get_state()
    np.testing.assert_array_equal(after["parameters"], before["parameters"])
    np.testing.assert_array_equal(after["optimizer"]["velocity"],
                                  before["optimizer"]["velocity"])


def test_set_state_takes_parts_and_refuses_non_dicts():
    net, other = network(), network(seed=4)
    net.set_state({"parameters": other.get_state()["parameters"]})
    np.testing.assert_array_equal(parameters(net), parameters(other))
    with pytest.raises(TypeError, match="state must be a dict"):
        net.set_state([1, 2])


def test_optimizer_state_reports_and_restores_by_name():
    state = OptimizerState("sgd", 4, np.dtype("float32"))
    state.named()["velocity"][...] = [1, 2, 3, 4]
    copy = OptimizerState.from_dict(state.to_dict(), 4, np.dtype("float32"))
    np.testing.assert_array_equal(copy.arrays, state.arrays)
    with pytest.raises(ValueError, match="must have shape"):
        OptimizerState.from_dict(state.to_dict(), 5, np.dtype("float32"))


# ---- validation_fraction ----

def test_validation_fraction_holds_out_rows_drawn_with_the_networks_generator():
    from bpcore.training import split_rows
    X, Y = classification(n=40)
    net = network()
    # what the network's generator will draw: the split first, then the epochs' orders
    replay = np.random.default_rng()
    replay.bit_generator.state = net._rng.bit_generator.state
    train, held = split_rows(40, Y.argmax(axis=1), 0.25, replay)
    twin = network()
    history = net.fit(X, Y, epochs=4, lr=0.05, validation_fraction=0.25)
    twin._rng.bit_generator.state = replay.bit_generator.state
    expected = twin.fit(X[train], Y[train], epochs=4, lr=0.05,
                        validation_data=(X[held], Y[held]))
    assert len(held) == 10 and history.val_losses == expected.val_losses
    np.testing.assert_array_equal(parameters(net), parameters(twin))
    # stratified: every class loses the same share of its rows
    labels = Y.argmax(axis=1)
    for label in np.unique(labels):
        assert np.sum(labels[held] == label) == round(0.25 * np.sum(labels == label))


@pytest.mark.parametrize("kwargs, error, message", [
    ({"validation_fraction": 0.0}, ValueError, r"must be a finite number in \(0, 1\) \(None "
     r"holds out nothing\), got 0.0"),
    ({"validation_fraction": -0.1}, ValueError, r"must be a finite number in \(0, 1\)"),
    ({"validation_fraction": 1.0}, ValueError, r"validation_fraction must be a finite number"),
    ({"validation_fraction": "0.2"}, TypeError, "validation_fraction must be a real number"),
    ({"validation_fraction": 0.2, "validation_data": (np.zeros((2, 4)), np.eye(3)[:2])},
     ValueError, "validation_data or validation_fraction, not both"),
])
def test_bad_validation_fractions_are_refused(kwargs, error, message):
    X, Y = classification(n=10)
    net = network()
    before = parameters(net)
    with pytest.raises(error, match=message):
        net.fit(X, Y, epochs=1, **kwargs)
    np.testing.assert_array_equal(parameters(net), before)


def test_a_validation_fraction_that_leaves_nothing_to_train_on_is_refused():
    X, Y = classification(n=2)
    with pytest.raises(ValueError, match="holds out all 2 samples"):
        network().fit(X, Y, epochs=1, validation_fraction=0.9)


# ---- the epochs' orders: the kernels' permutation ----

@pytest.mark.parametrize("n", [0, 1, 2, 5, 1000, 70_000])  # 70,000: the compiled call frees the GIL
def test_both_modules_draw_the_same_permutation(n):
    compiled = pytest.importorskip("bpcore._kernels")
    for seed in (0, 1, 12345, 2**62 + 7, 2**63 - 1):  # high seeds use every bit of the product
        order = compiled.permutation(n, seed)
        assert order.dtype == np.intp and order.shape == (n,)
        assert np.array_equal(np.sort(order), np.arange(n))
        assert np.array_equal(_fallback.permutation(n, seed), order)


def test_permutations_are_uniform():
    # every order of 4 rows from 24,000 seeds: each of the 24 expected 1,000 times (sd 31); a
    # generator that favours some orders (a biased swap, a lost draw) is off by hundreds
    counts = Counter(tuple(_backend.kernels.permutation(4, seed)) for seed in range(24_000))
    assert len(counts) == 24
    assert all(800 < count < 1200 for count in counts.values()), counts
    # and where each row lands in 2,000 orders of 50 rows: 40 expected per place (sd 6.2)
    places = np.zeros((50, 50), dtype=int)
    for seed in range(2_000):
        places[np.arange(50), _backend.kernels.permutation(50, seed)] += 1
    assert places.min() > 10 and places.max() < 70


def test_fit_shuffles_with_the_kernels_permutation():
    X = np.random.default_rng(0).normal(size=(9, 2))
    Y = X.sum(axis=1, keepdims=True)
    shuffled, in_order = bpcore.Network([2, 1], seed=3), bpcore.Network([2, 1], seed=3)
    shuffled.fit(X, Y, epochs=1, lr=0.01)
    rng = np.random.default_rng(3)
    bpcore.Network([2, 1], seed=rng)  # the initial weights' draws
    order = _backend.kernels.permutation(9, rng.bit_generator.random_raw() >> 1)
    assert not np.array_equal(order, np.arange(9))
    in_order.fit(X[order], Y[order], epochs=1, lr=0.01, shuffle=False)
    assert np.array_equal(parameters(shuffled), parameters(in_order))
