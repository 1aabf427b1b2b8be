"""fit's options beyond the optimizer's update: early stopping on validation data with every
optimizer, validation accuracies, learning-rate schedules and the plateau rule in
History.lrs (and in the steps taken), History.times, the optimizer state across calls, and
arguments refused before anything changes."""
import math
import pickle
import warnings

import numpy as np
import pytest

import bpcore
from bpcore.schedules import Exponential, ReduceOnPlateau


def noisy(n=60, seed=0):
    """Classification data with random labels: a network overfits them, so the validation
    loss falls, then rises."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 4)), np.eye(3)[rng.integers(0, 3, n)]


def classifier(seed=1, loss="cross_entropy"):
    output = {"cross_entropy": "softmax", "binary_cross_entropy": "sigmoid", "mse": "identity"}
    return bpcore.Network([4, 8, 3], activation="tanh", output=output[loss], loss=loss,
                          seed=seed)


def regression(n=20, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return X, np.stack([np.sin(X[:, 0]), X[:, 1] * X[:, 2]], axis=1)


def regressor(seed=3, dtype="float64"):
    return bpcore.Network([3, 5, 2], activation="tanh", output="identity", loss="mse", seed=seed,
                          dtype=dtype)


def parameters(net):
    return net.get_state()["parameters"]


# ---- early stopping and the best epoch, with every optimizer ----

EVERY_OPTIMIZER = [
    pytest.param({"lr": 0.3}, id="sgd"),
    pytest.param({"optimizer": bpcore.SGD(lr=0.05, momentum=0.9, nesterov=True),
                  "batch_size": 10}, id="nesterov"),
    pytest.param({"optimizer": bpcore.Adam(lr=0.05)}, id="adam"),
    pytest.param({"optimizer": bpcore.Rprop(lr=0.05)}, id="rprop"),
    pytest.param({"optimizer": bpcore.LBFGS()}, id="lbfgs"),
]


@pytest.mark.parametrize("options", EVERY_OPTIMIZER)
@pytest.mark.parametrize("weighted", [False, True])
def test_restore_best_leaves_the_lowest_validation_loss(backend, assert_same_state, options,
                                                        weighted):
    X, Y = noisy()
    Xv, Yv = noisy(40, seed=1)
    validation = (Xv, Yv, np.linspace(0.5, 2.0, 40)) if weighted else (Xv, Yv)
    net = classifier()
    states = []
    history = net.fit(X, Y, epochs=30, validation_data=validation,
                      callback=lambda epoch, loss: states.append(net.get_state()), **options)
    best = int(np.argmin(history.val_losses))
    assert best < history.epochs - 1  # meaningful: the last epoch was not the best
    assert history.best_epoch == best + 1
    assert history.best_loss == min(history.val_losses)
    assert net.loss(*validation[:2], sample_weight=validation[2] if weighted else None) == min(
        history.val_losses)
    # the optimizer's state went back with the parameters (the generator goes on)
    np.testing.assert_array_equal(parameters(net), states[best]["parameters"])
    assert_same_state(net.get_state()["optimizer"], states[best]["optimizer"])


@pytest.mark.parametrize("loss", ["cross_entropy", "binary_cross_entropy"])
@pytest.mark.parametrize("restore_best", [False, True])
def test_validation_accuracies_are_the_share_classified_right(backend, loss, restore_best):
    X, Y = noisy()
    Xv, Yv = noisy(40, seed=1)
    if loss == "binary_cross_entropy":  # several labels per sample
        Y, Yv = (np.random.default_rng(2).random(Y.shape) < 0.4).astype(float), (
            np.random.default_rng(3).random(Yv.shape) < 0.4).astype(float)

    def accuracy(network):
        output = network.predict(Xv)
        if loss == "cross_entropy":
            return np.mean(output.argmax(axis=1) == Yv.argmax(axis=1))
        return np.mean(((output > 0.5) == (Yv > 0.5)).all(axis=1))

    net = classifier(loss=loss)
    seen = []
    history = net.fit(X, Y, epochs=15, lr=0.3, validation_data=(Xv, Yv),
                      restore_best=restore_best,
                      callback=lambda epoch, _: seen.append(accuracy(net)))
    assert len(history.val_accuracies) == history.epochs == 15
    assert history.val_accuracies == pytest.approx(seen, abs=0)
    assert len(set(seen)) > 1  # the accuracy moved, so the comparison means something
    kept = history.best_epoch if restore_best else history.epochs
    assert accuracy(net) == history.val_accuracies[kept - 1]


def test_mse_has_no_validation_accuracies(backend):
    X, Y = regression()
    history = regressor().fit(X, Y, epochs=3, lr=0.05, validation_data=(X, Y))
    assert len(history.val_losses) == 3 and history.val_accuracies == []


@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
def test_a_tiny_validation_fraction_still_holds_out_a_row(backend, loss):
    # split_rows holds out at least one row, even when every class's share rounds to none
    X, Y = noisy(n=20)
    net = classifier(loss=loss)
    history = net.fit(X, Y, epochs=2, lr=0.05, validation_fraction=0.01)
    assert len(history.val_losses) == 2 and all(map(math.isfinite, history.val_losses))


# ---- History.lrs and History.times ----

@pytest.mark.parametrize("kind", ["sgd", "momentum", "adam"])
def test_a_schedules_rates_are_recorded_and_used(backend, kind):
    X, Y = regression()
    schedule = Exponential(0.05, gamma=0.5)
    make = {"sgd": lambda lr: bpcore.SGD(lr=lr),
            "momentum": lambda lr: bpcore.SGD(lr=lr, momentum=0.9),
            "adam": lambda lr: bpcore.Adam(lr=lr)}[kind]
    net, twin = regressor(), regressor()
    history = net.fit(X, Y, epochs=4, batch_size=len(X), shuffle=False, restore_best=False,
                      optimizer=make(schedule))
    assert history.lrs == [schedule(epoch) for epoch in range(1, 5)]
    for epoch in range(1, 5):  # one full-batch step per epoch at the schedule's rate
        twin.step(X, Y, optimizer=make(schedule(epoch)))
    np.testing.assert_array_equal(parameters(net), parameters(twin))
    other = regressor()
    other.fit(X, Y, epochs=4, batch_size=len(X), shuffle=False, restore_best=False,
              optimizer=make(0.05))
    assert not np.array_equal(parameters(other), parameters(net))  # the schedule mattered


def test_fits_lr_may_be_a_schedule(backend):
    X, Y = regression()
    history = regressor().fit(X, Y, epochs=3, lr=lambda epoch: 0.1 / epoch)
    assert history.lrs == [0.1, 0.05, 0.1 / 3]


@pytest.mark.parametrize("lr", [1e-7, Exponential(1e-7, gamma=0.9)], ids=["fixed", "schedule"])
@pytest.mark.parametrize("kind", ["sgd", "adam"])
def test_the_plateau_rule_divides_the_rate_when_the_loss_stalls(backend, lr, kind):
    X, Y = regression()
    make = bpcore.SGD if kind == "sgd" else bpcore.Adam
    net, twin = regressor(), regressor()
    history = net.fit(X, Y, epochs=8, batch_size=len(X), shuffle=False, optimizer=make(lr=lr),
                      reduce_lr_on_plateau=ReduceOnPlateau(factor=0.5, patience=1, tol=1e-4))
    # a rate of 1e-7 moves the loss by far less than tol: every epoch after the first stalls,
    # and the rule halves the rate after each second stalled epoch in a row (3, 5, 7)
    assert max(history.losses) - min(history.losses) < 1e-5
    multipliers = [1, 1, 1, 0.5, 0.5, 0.25, 0.25, 0.125]
    base = [lr(epoch) if callable(lr) else lr for epoch in range(1, 9)]
    assert history.lrs == [b * m for b, m in zip(base, multipliers)]
    for rate in history.lrs:  # and those rates are the ones the steps took
        twin.step(X, Y, optimizer=make(lr=rate))
    np.testing.assert_array_equal(parameters(net), parameters(twin))


def test_without_a_stall_the_plateau_rule_keeps_the_rate(backend):
    X, Y = regression()
    history = regressor().fit(X, Y, epochs=6, optimizer=bpcore.Adam(lr=0.01),
                              reduce_lr_on_plateau=True)
    assert history.losses == sorted(history.losses, reverse=True)  # it kept improving
    assert history.lrs == [0.01] * 6


@pytest.mark.parametrize("options", EVERY_OPTIMIZER)
def test_every_epoch_has_a_positive_wall_time(backend, options):
    X, Y = noisy()
    history = classifier().fit(X, Y, epochs=5, **options)
    assert len(history.times) == history.epochs == len(history.losses)
    assert all(time > 0 and math.isfinite(time) for time in history.times)
    if isinstance(options.get("optimizer"), bpcore.LBFGS):
        assert history.lrs == []  # L-BFGS has no learning rate
    else:
        assert len(history.lrs) == history.epochs


# ---- schedules that fail ----

@pytest.mark.parametrize("bad", [0.0, math.nan, -1.0, math.inf])
@pytest.mark.parametrize("kind", ["fit-lr", "sgd", "adam"])
def test_a_schedule_failing_in_epoch_1_trains_nothing(backend, assert_same_state, bad, kind):
    X, Y = regression()
    schedule = lambda epoch: bad  # noqa: E731
    options = {"fit-lr": {"lr": schedule}, "sgd": {"optimizer": bpcore.SGD(lr=schedule)},
               "adam": {"optimizer": bpcore.Adam(lr=schedule)}}[kind]
    net = regressor()
    net.step(X, Y, lr=0.1, momentum=0.9)  # a velocity that must survive
    before = net.get_state()
    with pytest.raises(ValueError, match=r"lr\(epoch\) must return a finite number > 0, got "
                                         r".* at epoch 1"):
        net.fit(X, Y, epochs=3, **options)
    assert_same_state(net.get_state(), before)


def test_a_schedule_failing_in_a_later_epoch_trains_nothing_either(backend, assert_same_state):
    # every epoch's rate is checked before the first one trains
    X, Y = regression()
    net = regressor()
    before = net.get_state()
    with pytest.raises(ValueError, match="got 0.0 at epoch 3"):
        net.fit(X, Y, epochs=5, optimizer=bpcore.Adam(lr=lambda epoch: 0.01 if epoch < 3
                                                      else 0.0))
    assert_same_state(net.get_state(), before)


# ---- the optimizer's state across calls ----

@pytest.mark.parametrize("optimizer, batch_size", [
    (bpcore.SGD(lr=0.05, momentum=0.9, nesterov=True), 4), (bpcore.Adam(lr=0.01), 4),
    (bpcore.Rprop(lr=0.01), None)])
def test_state_carries_across_fit_and_step_calls(backend, assert_same_state, optimizer, batch_size):
    X, Y = regression()
    whole, parts = regressor(), regressor()
    options = {"batch_size": batch_size, "shuffle": False, "restore_best": False}
    whole.fit(X, Y, epochs=3, optimizer=optimizer, **options)
    parts.fit(X, Y, epochs=1, optimizer=optimizer, **options)
    parts.fit(X, Y, epochs=1, optimizer=optimizer, **options)
    for start in range(0, len(X), batch_size or len(X)):  # the third epoch by steps
        rows = slice(start, start + (batch_size or len(X)))
        parts.step(X[rows], Y[rows], optimizer=optimizer)
    assert_same_state(whole.get_state(), parts.get_state())


KINDS = {"sgd": bpcore.SGD(lr=0.02, momentum=0.9), "adam": bpcore.Adam(lr=0.01),
         "rprop": bpcore.Rprop(lr=0.01), "lbfgs": bpcore.LBFGS(max_iter=3)}


@pytest.mark.parametrize("first, second", [
    ("adam", "rprop"), ("rprop", "adam"), ("rprop", "sgd"), ("sgd", "adam"), ("lbfgs", "adam"),
    ("adam", "lbfgs"), ("lbfgs", "rprop")])
def test_state_restarts_when_the_kind_changes(backend, assert_same_state, first, second):
    X, Y = regression()
    net = regressor()
    net.fit(X, Y, epochs=3, optimizer=KINDS[first])
    assert net.get_state()["optimizer"]["name"] == first
    clean = regressor(seed=9)  # the same parameters and no optimizer state
    clean.set_state({"parameters": parameters(net)})
    options = {} if second == "lbfgs" else {"batch_size": 5}
    for trained in (net, clean):
        trained.fit(X, Y, epochs=2, optimizer=KINDS[second], shuffle=False, restore_best=False,
                    **options)
    assert_same_state(net.get_state()["optimizer"], clean.get_state()["optimizer"])
    np.testing.assert_array_equal(parameters(net), parameters(clean))
    assert net.get_state()["optimizer"]["name"] == second


@pytest.mark.parametrize("fitted, stepped", [("adam", "rprop"), ("rprop", "adam"),
                                             ("sgd", "adam"), ("adam", "sgd")])
def test_a_callback_stepping_with_another_kind_restarts_the_fits_state(
        backend, assert_same_state, fitted, stepped):
    # Adam's and Rprop's states are both two arrays: the fit's next epoch used to read the
    # other kind's arrays as its own (a negative v, a file load refused) or fail in the kernel
    X, Y = regression()
    net, twin = regressor(), regressor()
    options = {"shuffle": False, "batch_size": 5}

    def callback(epoch, loss):
        if epoch == 1:
            net.step(X[:5], Y[:5], optimizer=KINDS[stepped])

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a loss that rose: beside the point
        net.fit(X, Y, epochs=2, optimizer=KINDS[fitted], callback=callback, **options)
        twin.fit(X, Y, epochs=1, optimizer=KINDS[fitted], **options)
        twin.step(X[:5], Y[:5], optimizer=KINDS[stepped])
        twin.fit(X, Y, epochs=1, optimizer=KINDS[fitted], **options)
    assert net.get_state()["optimizer"]["name"] == fitted
    assert_same_state(net.get_state()["optimizer"], twin.get_state()["optimizer"])
    np.testing.assert_array_equal(parameters(net), parameters(twin))


def test_lbfgs_keeps_no_state(backend):
    X, Y = regression()
    net = regressor()
    net.fit(X, Y, epochs=2, optimizer="adam")
    net.fit(X, Y, optimizer=bpcore.LBFGS(max_iter=3))
    assert net.get_state()["optimizer"] == {"name": "lbfgs"}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_lbfgs_stops_with_a_warning_where_the_callback_changes_the_parameters(backend, dtype):
    # SciPy goes on from its own iterate: the change was dropped without a word
    X, Y = regression()
    net, untouched = regressor(dtype=dtype), regressor(dtype=dtype)
    changed = []

    def nudge(epoch, loss):
        if epoch == 3:
            net.weights[0][0, 0] += 1.0
            changed.append(net.weights[0].copy())
    with pytest.warns(RuntimeWarning, match=r"the callback changed the network's parameters "
                                            r"in iteration 3; L-BFGS goes on only from its own "
                                            r"iterate, so training stopped there"):
        history = net.fit(X, Y, optimizer=bpcore.LBFGS(max_iter=10), callback=nudge)
    assert (history.epochs, history.stop_reason) == (3, "callback")
    np.testing.assert_array_equal(net.weights[0], changed[0])  # the callback's, kept
    # a callback that only looks runs to the end, without a warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        history = untouched.fit(X, Y, optimizer=bpcore.LBFGS(max_iter=10),
                                callback=lambda epoch, loss: None)
    assert history.epochs > 3


@pytest.mark.parametrize("optimizer", [bpcore.SGD(lr=0.05, momentum=0.9), bpcore.Adam(lr=0.01),
                                       bpcore.Rprop(lr=0.01)], ids=["sgd", "adam", "rprop"])
@pytest.mark.parametrize("one_sample", [True, False])
def test_reset_optimizer_starts_the_state_afresh(backend, assert_same_state, optimizer, one_sample):
    X, Y = regression()
    net = regressor()
    for i in range(3):
        net.step(X[i], Y[i], optimizer=optimizer)
    net.reset_optimizer()
    assert net.get_state()["optimizer"]["name"] == "sgd"
    clean = regressor(seed=9)
    clean.set_state({"parameters": parameters(net)})
    for trained in (net, clean):
        if one_sample:  # the one-kernel path, whose settings net had kept
            trained.step(X[5], Y[5], optimizer=optimizer)
        else:
            trained.step(X[5:9], Y[5:9], optimizer=optimizer)
    assert_same_state(net.get_state()["optimizer"], clean.get_state()["optimizer"])
    np.testing.assert_array_equal(parameters(net), parameters(clean))


# ---- arguments refused before anything changes ----

SCHEDULE = Exponential(0.1, gamma=0.9)

BAD_CALLS = [
    (lambda net, X, Y: net.fit(X, Y, optimizer="adagrad"), ValueError,
     r"optimizer must be the name of one \('sgd', 'adam', 'rprop', 'lbfgs'; lower case\).*"
     r"got 'adagrad'"),
    (lambda net, X, Y: net.fit(X, Y, optimizer="Adam"), ValueError,
     "optimizer must be the name of one .*got 'Adam'"),
    (lambda net, X, Y: net.step(X, Y, optimizer="lbfgs2"), ValueError,
     "optimizer must be the name of one"),
    (lambda net, X, Y: net.fit(X, Y, optimizer=bpcore.Adam), TypeError,
     "optimizer must be None, a name .*got type"),
    (lambda net, X, Y: net.fit(X, Y, optimizer="lbfgs", batch_size=len(X)), ValueError,
     "optimizer 'lbfgs' takes the whole data set at once; do not give batch_size"),
    (lambda net, X, Y: net.fit(X, Y, optimizer=bpcore.LBFGS(), batch_size=4), ValueError,
     "do not give batch_size"),
    (lambda net, X, Y: net.fit(X, Y, optimizer="lbfgs", weight_decay=0.1), ValueError,
     "pass weight_decay to the optimizer, not beside it"),
    (lambda net, X, Y: net.step(X, Y, optimizer="lbfgs"), ValueError,
     "optimizer 'lbfgs' trains on the whole data set in fit; step takes"),
    (lambda net, X, Y: net.step(X[0], Y[0], optimizer=bpcore.LBFGS()), ValueError,
     "optimizer 'lbfgs' trains on the whole data set in fit"),
    (lambda net, X, Y: net.step(X, Y, lr=SCHEDULE), TypeError,
     r"step takes lr as a number; a schedule lr\(epoch\) is for fit"),
    (lambda net, X, Y: net.step(X[0], Y[0], optimizer=bpcore.Adam(lr=SCHEDULE)), TypeError,
     "step takes lr as a number"),
    (lambda net, X, Y: net.step(X, Y, optimizer=bpcore.SGD(lr=SCHEDULE, momentum=0.5)),
     TypeError, "step takes lr as a number"),
    (lambda net, X, Y: net.fit(X, Y, optimizer="rprop", reduce_lr_on_plateau=True), ValueError,
     "reduce_lr_on_plateau does not apply to optimizer 'rprop'"),
    (lambda net, X, Y: net.fit(X, Y, optimizer=bpcore.LBFGS(),
                               reduce_lr_on_plateau=ReduceOnPlateau()), ValueError,
     "reduce_lr_on_plateau does not apply to optimizer 'lbfgs'"),
    (lambda net, X, Y: net.fit(X, Y, reduce_lr_on_plateau="yes"), TypeError,
     "reduce_lr_on_plateau must be True, False, None or a bpcore.schedules.ReduceOnPlateau"),
    (lambda net, X, Y: net.fit(X, Y, lr=lambda epoch: "0.1"), TypeError,
     r"lr\(epoch\) must return a real number, got str '0.1' at epoch 1"),
    (lambda net, X, Y: net.fit(X, Y, optimizer="lbfgs", validation_data=(X[:, :2], Y)),
     ValueError, "validation_data's X has 2 features, but the network expects 3"),
    (lambda net, X, Y: net.fit(X, Y, optimizer="rprop", validation_data=(X, Y[:, :1])),
     ValueError, "validation_data's Y has 1 output, but the network has 2"),
    (lambda net, X, Y: net.fit(X[:1], Y[:1], optimizer="adam", validation_fraction=0.5),
     ValueError, "validation_fraction=0.5 holds out all 1 samples, leaving none to train on"),
    (lambda net, X, Y: net.fit(X, Y, validation_fraction=-0.1), ValueError,
     "validation_fraction must be a finite number"),
    (lambda net, X, Y: net.fit(X, Y, validation_fraction=math.nan), ValueError,
     "validation_fraction must be a finite number"),
]


@pytest.mark.parametrize("call, error, message", BAD_CALLS)
def test_bad_arguments_are_refused_and_nothing_changes(backend, assert_same_state, call, error,
                                                       message):
    X, Y = regression()
    net = regressor()
    net.step(X, Y, optimizer=bpcore.Adam(lr=0.01))  # optimizer state that must survive
    before = net.get_state()
    with pytest.raises(error, match=message):
        call(net, X, Y)
    assert_same_state(net.get_state(), before)


@pytest.mark.parametrize("bad", [{"optimizer": "adagrad"}, {"epochs": 0},
                                 {"optimizer": "lbfgs", "batch_size": 4},
                                 {"lr": lambda epoch: 0.0}])
def test_a_refused_fit_with_a_validation_fraction_leaves_the_generator_alone(backend, bad):
    X, Y = regression()
    net = regressor()
    before = net.get_state()
    with pytest.raises(ValueError):
        net.fit(X, Y, validation_fraction=0.25, **bad)
    assert net.get_state()["generator"] == before["generator"]


def test_weights_zero_on_every_training_row_are_refused_with_the_generator_left_alone(
        backend, assert_same_state):
    from bpcore.training import split_rows
    X, Y = regression()
    net = regressor()
    before = net.get_state()
    rng = np.random.default_rng()
    rng.bit_generator.state = before["generator"]
    _, held = split_rows(len(X), None, 0.25, rng)  # the rows fit will hold out
    weights = np.zeros(len(X))
    weights[held] = 1.0
    with pytest.raises(ValueError, match="validation_fraction=0.25 drew training rows whose "
                                         "sample_weight are all zero"):
        net.fit(X, Y, validation_fraction=0.25, sample_weight=weights)
    assert_same_state(net.get_state(), before)


def test_validation_fraction_is_stratified_for_binary_cross_entropy(backend, monkeypatch):
    # 24 rows of one 0/1 output pattern, 8 of another: a quarter of each is held out
    import bpcore.network
    from bpcore.training import split_rows
    seen = []

    def spy(n, labels, fraction, rng):
        seen.append(labels)
        return split_rows(n, labels, fraction, rng)

    monkeypatch.setattr(bpcore.network, "split_rows", spy)
    rng = np.random.default_rng(3)
    X = rng.normal(size=(32, 3))
    Y = np.zeros((32, 2))
    Y[:8, 0] = 1.0
    net = bpcore.Network([3, 2], output="sigmoid", loss="binary_cross_entropy", seed=0)
    history = net.fit(X, Y, epochs=1, validation_fraction=0.25)
    assert history.val_accuracies  # classification: accuracies are recorded
    (labels,) = seen
    assert labels is not None and sorted(np.bincount(labels).tolist()) == [8, 24]
    assert len(set(labels[:8])) == 1 and set(labels[:8]).isdisjoint(labels[8:])


@pytest.mark.parametrize("schedule", [lambda: 0.1, lambda epoch, step: 0.1])
def test_a_schedule_must_take_the_epoch(backend, schedule):
    with pytest.raises(TypeError, match=r"lr must be a number or a schedule lr\(epoch\) "
                                        r"taking the epoch as its one argument"):
        bpcore.SGD(lr=schedule)


def test_lbfgs_refused_at_its_start_keeps_the_optimizer_state(backend, assert_same_state):
    X, Y = regression()
    net = regressor()
    net.step(X, Y, optimizer=bpcore.Adam(lr=0.01))
    net.weights[-1][...] = 1e300  # the loss overflows at the starting point
    before = net.get_state()
    with pytest.raises(bpcore.DivergenceError, match="not finite"):
        net.fit(X, Y, optimizer="lbfgs")
    assert_same_state(net.get_state(), before)


def test_history_repr_is_short_for_a_long_run(backend):
    X, Y = regression()
    history = regressor().fit(X, Y, epochs=300, lr=0.01)
    text = repr(history)
    assert len(text) < 200 and "(300)" in text and "epochs=300" in text


def test_fit_keeps_its_last_optimizer_only_for_the_same_arguments_of_the_same_types():
    X, Y = regression()
    net = bpcore.Network([3, 4, 2], output="identity", seed=0)
    assert net.fit(X, Y, epochs=1, lr=0.05, momentum=0).lrs == [0.05]
    assert net.fit(X, Y, epochs=1, lr=0.02, momentum=0).lrs == [0.02]
    # equal to the last call's 0, but not a number the optimizer takes
    with pytest.raises(TypeError, match="momentum must be a real number"):
        net.fit(X, Y, epochs=1, lr=0.02, momentum=False)
    # fit's default rate is not step's: step has none
    net.fit(X, Y, epochs=1)
    with pytest.raises(TypeError, match="lr, a learning rate, is needed"):
        net.step(X, Y)
    net.fit(X, Y, epochs=1, optimizer="adam")
    assert net.get_state()["optimizer"]["name"] == "adam"
    # a schedule is not kept, so the network still pickles
    net.fit(X, Y, epochs=1, lr=lambda epoch: 0.01)
    assert pickle.loads(pickle.dumps(net)).fit(X, Y, epochs=1, lr=0.02).lrs == [0.02]
