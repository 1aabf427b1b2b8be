"""A learning rate that blows up raises DivergenceError, names where it happened, suggests a
smaller learning rate, and leaves the network as it was before the failing epoch or step."""
import re

import numpy as np
import pytest

import bpcore

# The fallback's NumPy arithmetic warns as it overflows (the compiled kernels are silent), and
# fit warns when the loss ends above where it started; the tests are about the DivergenceError
# that follows, so those warnings are expected here.
pytestmark = [
    pytest.mark.filterwarnings("ignore:(overflow|invalid value) encountered:RuntimeWarning"),
    pytest.mark.filterwarnings("ignore:training ended with a loss:RuntimeWarning"),
]


def data(n=8):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 3)), 1000 * rng.normal(size=(n, 1))  # large targets


def network(seed=0):
    # identity output + mse: nothing saturates, so a too-large learning rate grows without bound
    return bpcore.Network([3, 4, 1], activation="identity", output="identity", loss="mse",
                          seed=seed)


def state(net):
    return net.get_state()["parameters"], net.get_state()["optimizer"]["velocity"]


def assert_same_state(net, saved):
    assert np.array_equal(net.get_state()["parameters"], saved[0])
    assert np.array_equal(net.get_state()["optimizer"]["velocity"], saved[1])


def test_divergence_error_is_a_value_error():
    assert issubclass(bpcore.DivergenceError, ValueError)


@pytest.mark.parametrize("kwargs", [
    {"lr": 1e6, "batch_size": 8, "shuffle": False},
    {"lr": 1e6, "batch_size": 1},
    {"lr": 3.0, "batch_size": 8, "shuffle": True},
    {"lr": 1e4, "batch_size": 3, "momentum": 0.9, "weight_decay": 0.01},
])
def test_fit_keeps_the_parameters_of_the_last_finite_epoch(kwargs):
    X, Y = data()
    net = network()
    with pytest.raises(bpcore.DivergenceError) as info:
        net.fit(X, Y, epochs=100_000, **kwargs)
    message = str(info.value)
    match = re.search(r"epoch (\d+)", message)
    assert match, message
    bad_epoch = int(match.group(1))
    assert re.search(r"learning rate smaller than lr=", message), message
    assert f"lr={kwargs['lr']:g}" in message
    # momentum, where the optimizer has it, is named as the other thing to lower
    momentum = kwargs.get("momentum")
    assert message.endswith(f", or less momentum than momentum={momentum:g}" if momentum
                            else f"lr={kwargs['lr']:g}"), message
    assert all(np.isfinite(array).all() for array in state(net))

    # a twin trained for exactly the good epochs, with the same seed, ends where net was left
    twin = network()
    if bad_epoch > 1:
        history = twin.fit(X, Y, epochs=bad_epoch - 1, restore_best=False, **kwargs)
        assert history.epochs == bad_epoch - 1 and np.isfinite(history.losses).all()
    assert_same_state(net, state(twin))
    # and the failing epoch does fail from that state (the epoch number was right)
    if not kwargs.get("shuffle", True):
        with pytest.raises(bpcore.DivergenceError, match=r"epoch 1\b"):
            twin.fit(X, Y, epochs=1, **kwargs)


def test_divergence_in_the_first_epoch_keeps_the_initial_parameters():
    X, Y = data()
    net = network()
    before = state(net)
    generator = net.get_state()["generator"]
    with pytest.raises(bpcore.DivergenceError, match=r"epoch 1\b.*smaller than lr=1e\+300"):
        net.fit(X, Y, epochs=5, lr=1e300)
    assert_same_state(net, before)
    # the epoch's shuffle is undone too: a retry draws the order the failed epoch drew
    assert net.get_state()["generator"] == generator


def test_network_still_trains_after_a_divergence():
    X, Y = data()
    net = network()
    with pytest.raises(bpcore.DivergenceError):
        net.fit(X, Y, epochs=1000, lr=1e6, momentum=0.5)
    loss = net.loss(X, Y)
    history = net.fit(X, Y, epochs=50, lr=1e-3, batch_size=8, shuffle=False)
    assert np.isfinite(history.losses).all() and history.losses[-1] < loss


def test_step_that_overflows_the_parameters_is_undone():
    X, Y = data()
    net = network()
    net.step(X, Y, lr=1e-3, momentum=0.9)  # some velocity to restore as well
    before = state(net)
    with pytest.raises(bpcore.DivergenceError, match=r"learning rate smaller than lr=1e\+306, or "
                                                     r"less momentum than momentum=0\.9$"):
        net.step(X, Y, lr=1e306, momentum=0.9)
    assert_same_state(net, before)


def test_repeated_steps_with_a_huge_learning_rate_stop_with_the_state_before_the_step():
    X, Y = data()
    net = network()
    for _ in range(1000):
        before = state(net)
        try:
            net.step(X, Y, lr=1e6)
        except bpcore.DivergenceError as error:
            message = str(error)
            break
    else:
        pytest.fail("a learning rate of 1e6 never diverged")
    assert_same_state(net, before)
    assert np.isfinite(net.get_state()["parameters"]).all()
    assert "not finite" in message or "non-finite" in message


def test_every_step_divergence_message_suggests_a_smaller_learning_rate():
    X, Y = data()
    net = network()
    with pytest.raises(bpcore.DivergenceError) as info:
        for _ in range(1000):
            net.step(X, Y, lr=1e6)
    assert "learning rate smaller than lr=1e+06" in str(info.value)


@pytest.mark.parametrize("optimizer, bound", [
    (bpcore.SGD(lr=0.1, weight_decay=1e308), "2"),
    (bpcore.SGD(lr=0.1, momentum=0.5, weight_decay=1e308), "3"),
    (bpcore.Adam(lr=0.1, weight_decay=1e308, decoupled=True), "2"),
    (bpcore.SGD(lr=1e6), None)])
def test_a_divergence_from_the_weight_decay_names_it(optimizer, bound):
    # the decay alone grows the weights once lr * weight_decay passes 2 (1 + momentum), with
    # any data; the advice named only the learning rate
    X, Y = data()
    advice = (f"a weight_decay smaller than 1e+308 (lr * weight_decay is 1e+307: past {bound} "
              f"the decay alone makes the weights grow), or a learning rate smaller")
    for call in (lambda net: [net.step(X, Y, optimizer=optimizer) for _ in range(1000)],
                 lambda net: net.fit(X, Y, epochs=50, optimizer=optimizer)):
        with pytest.raises(bpcore.DivergenceError) as info:
            call(network())
        assert (advice in str(info.value)) == (bound is not None), str(info.value)
        assert f"learning rate smaller than lr={optimizer.lr:g}" in str(info.value)


def test_with_momentum_the_decay_is_named_by_its_own_bound():
    from bpcore.training import rate_advice
    # with momentum 0.9 the decay alone grows the weights past lr * weight_decay = 3.8; the
    # advice names it from half that on (1.9), as it does from 1 without momentum
    assert "weight_decay" not in rate_advice(0.1, momentum=0.9, weight_decay=18.0)
    assert "past 3.8 the decay" in rate_advice(0.1, momentum=0.9, weight_decay=40.0)


@pytest.mark.parametrize("optimizer", ["sgd", "lbfgs"])
def test_data_made_nan_during_fit_is_named_not_blamed_on_the_rate(optimizer):
    # a callback wrote NaN into X: SGD's message blamed an overflow, and L-BFGS said
    # "converged" with a NaN loss
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(50, 2)), rng.normal(size=(50, 1))
    net = bpcore.Network([2, 3, 1], output="identity", seed=0)

    def spoil(epoch, loss):
        if epoch == 2:
            X[0, 0] = np.nan

    with pytest.raises(bpcore.DivergenceError, match=r"X, Y or sample_weight hold NaN or "
                                                     r"infinity now, though fit checked them "
                                                     r"at its start") as info:
        net.fit(X, Y, epochs=20, optimizer=optimizer, callback=spoil)
    assert "learning rate" not in str(info.value)
    assert np.isfinite(net.get_state()["parameters"]).all()


def test_float32_divergence_is_caught_too():
    X, Y = data()
    net = bpcore.Network([3, 4, 1], activation="identity", output="identity", dtype="float32",
                         seed=0)
    with pytest.raises(bpcore.DivergenceError, match=r"epoch \d+") as info:
        net.fit(X, Y, epochs=10_000, lr=1e3)
    assert "smaller" in str(info.value)
    assert np.isfinite(net.get_state()["parameters"]).all()


@pytest.mark.parametrize("value", [np.nan, np.inf])
@pytest.mark.parametrize("where", ["weights", "biases"])
@pytest.mark.parametrize("call", [
    lambda net, X, Y: net.fit(X, Y, epochs=3, lr=0.01),
    lambda net, X, Y: net.fit(X, Y, epochs=3, optimizer="adam", batch_size=4),
    lambda net, X, Y: net.fit(X, Y, epochs=3, optimizer="lbfgs"),
    lambda net, X, Y: net.step(X[0], Y[0], lr=0.01),
    lambda net, X, Y: net.step(X, Y, lr=0.01),
], ids=["fit", "fit-adam", "fit-lbfgs", "step-one", "step-batch"])
def test_parameters_set_to_nan_by_hand_are_named_not_blamed_on_the_learning_rate(
        call, where, value):
    # no learning rate cures them: a plain ValueError (not the DivergenceError a caller may
    # retry with a smaller rate) names the array, and nothing changes
    X, Y = data()
    net = network()
    getattr(net, where)[1][0] = value
    before = net.get_state()["parameters"]
    with pytest.raises(ValueError, match=rf"{where}\[1\] hold NaN or infinity") as info:
        call(net, X, Y)
    assert type(info.value) is ValueError
    np.testing.assert_array_equal(net.get_state()["parameters"], before)


def undone_with(net, call, pattern, epoch, assert_same_state):
    """call() raises a DivergenceError whose message matches `pattern` (and names the epoch
    when `epoch`: fit's), and leaves net as it was."""
    before = net.get_state()
    with pytest.raises(bpcore.DivergenceError, match=pattern) as info:
        call()
    assert ("diverged in epoch 1" in str(info.value)) == epoch
    assert_same_state(net.get_state(), before)


@pytest.mark.parametrize("call, epoch", [
    (lambda net, X, Y: net.fit(X, Y, epochs=3, optimizer="adam"), True),
    (lambda net, X, Y: net.fit(X, Y, epochs=3, optimizer="adam", batch_size=2), True),
    (lambda net, X, Y: net.step(X[0], Y[0], optimizer="adam"), False),  # one sample
    (lambda net, X, Y: net.step(X, Y, optimizer="adam"), False),  # rows: one kernel call
    (lambda net, X, Y: net.step(X.tolist(), Y.tolist(), optimizer="adam"), False),  # general
], ids=["fit-online", "fit-batch", "step-one", "step-rows", "step-general"])
def test_adams_state_overflowing_float32_is_a_divergence_that_is_undone(
        backend, call, epoch, assert_same_state, tmp_path):
    # Adam's v holds the squared gradients: gradients of 3e22 (unscaled data) overflow it in
    # float32, while its step, about lr, keeps the parameters finite. They would then stall
    # without a word (m / sqrt(inf) = 0) and `save` would refuse the state: the step or epoch
    # is undone instead, with what to do, as for any divergence
    net = bpcore.Network([1, 1], activation="identity", output="identity", dtype="float32",
                         seed=0)
    net.step(np.array([0.5], dtype=np.float32), np.array([1.0], dtype=np.float32),
             optimizer="adam")  # an Adam state of its own to keep
    X = np.array([[1e11], [2e11]], dtype=np.float32)
    Y = 3 * X
    undone_with(net, lambda: call(net, X, Y), r"adam optimizer's state overflowed float32 "
                r".*scale X and Y.*dtype='float64'", epoch, assert_same_state)
    net.save(tmp_path / "kept.npz")  # a state a model file holds
    # in float64 the squares fit: the same data train on
    wide = bpcore.Network([1, 1], activation="identity", output="identity", seed=0)
    call(wide, X.astype(np.float64), Y.astype(np.float64))
    assert np.isfinite(wide.get_state()["optimizer"]["v"]).all()


@pytest.mark.parametrize("call, epoch, optimizer", [
    (lambda net, X, Y: net.fit(X, Y, epochs=3, lr=1e-30), True, {"lr": 1e-30}),
    (lambda net, X, Y: net.fit(X, Y, epochs=3, optimizer="adam", batch_size=2), True,
     {"optimizer": "adam"}),
    (lambda net, X, Y: net.step(X[0], Y[0], lr=1e-30), False, {"lr": 1e-30}),  # one sample
    (lambda net, X, Y: net.step(X, Y, lr=1e-30), False, {"lr": 1e-30}),  # rows: one call
    (lambda net, X, Y: net.step(X.tolist(), Y.tolist(), optimizer="adam"), False,
     {"optimizer": "adam"}),  # the general path
], ids=["fit-sgd", "fit-adam", "step-one", "step-rows", "step-general"])
def test_a_gradient_that_overflows_the_dtype_is_no_learning_rate_problem(
        backend, call, epoch, optimizer, assert_same_state):
    # inputs of 1e20 in float32: the gradient (error times input, about 1e40) overflows
    # before any step, so a smaller learning rate cannot help: the message says so, and what
    # does; everything is as before the call
    net = bpcore.Network([2, 3, 1], activation="identity", output="identity", dtype="float32",
                         seed=0)
    net.step(np.ones(2, dtype=np.float32), np.ones(1, dtype=np.float32),
             **optimizer)  # a state of the optimizer's kind to keep
    X = np.array([[1e20, -2e20], [3e20, 1e20]], dtype=np.float32)
    Y = np.array([[1.0], [2.0]], dtype=np.float32)
    undone_with(net, lambda: call(net, X, Y), r"gradient overflows float32 .*no learning rate "
                r"helps from there: scale X and Y.*dtype='float64'", epoch, assert_same_state)


def test_lbfgs_refuses_a_gradient_too_large_to_step_along(backend, monkeypatch):
    # inputs of 1e100: the loss (about 1e200) is finite, but the gradient's squares overflow,
    # and SciPy's first step, scaled by its norm, was NaN everywhere, kept without an error
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(40, 3)) * 1e100, rng.normal(size=(40, 1))
    net = bpcore.Network([3, 4, 1], activation="relu", output="identity", seed=0)
    before = net.get_state()["parameters"]
    with pytest.raises(bpcore.DivergenceError, match="gradient at the starting parameters is "
                       "too large for L-BFGS .*: scale X and Y"):
        net.fit(X, Y, epochs=3, optimizer="lbfgs")
    assert np.array_equal(net.get_state()["parameters"], before)
    # past that check, a non-finite iterate is refused as well, and the start is kept
    monkeypatch.setattr(bpcore.training, "_usable", lambda gradient: True)
    with pytest.raises(bpcore.DivergenceError, match="L-BFGS reached non-finite parameters "
                       "in iteration 1; the network keeps the parameters it had before fit"):
        net.fit(X, Y, epochs=3, optimizer="lbfgs")
    assert np.array_equal(net.get_state()["parameters"], before)


def test_targets_whose_loss_overflows_before_any_step_get_no_rate_advice():
    # (a - y)^2 overflows for y = 1e160 at any parameters: no learning rate helps, in fit
    # as in step
    X, Y = np.ones((4, 2)), np.full((4, 1), 1e160)
    for train in (lambda net: net.fit(X, Y, lr=0.1, epochs=2),
                  lambda net: net.step(X, Y, lr=0.1)):
        net = bpcore.Network([2, 3, 1], seed=0)
        with pytest.raises(bpcore.DivergenceError, match="no learning rate helps") as info:
            train(net)
        assert "scale" in str(info.value)


def test_fit_s_divergence_error_carries_the_history_of_the_finished_epochs():
    X, Y = data()
    net = network()
    with pytest.raises(bpcore.DivergenceError) as info:
        net.fit(X, Y, epochs=1000, lr=lambda epoch: 1e-4 if epoch < 4 else 1e6, batch_size=8,
                shuffle=False)
    history = info.value.history
    assert history.epochs == len(history.losses) == len(history.lrs)
    assert history.epochs >= 3 and history.lrs[:3] == [1e-4] * 3
    assert np.isfinite(history.losses).all()
    assert f"epoch {history.epochs + 1}" in str(info.value)
    with pytest.raises(bpcore.DivergenceError) as info:  # a step keeps no history
        net.step(X, Y, lr=1e300)
    assert info.value.history is None
