"""bpcore.schedules: each schedule against its formula and against the library it copies
(scikit-learn's invscaling, PyTorch's SGDR), the reduce-on-plateau rule on loss sequences whose
multipliers follow from the rule by hand, and bad input. Nothing here runs the kernels; the
autouse fixture still runs every test on both backends."""
import dataclasses
import doctest
import math

import numpy as np
import pytest

import bpcore
from bpcore import schedules
from bpcore.schedules import (SCHEDULES, Constant, Cosine, Exponential, InverseScaling,
                              PlateauTracker, ReduceOnPlateau, StepDecay, rate_at)

EPOCHS = range(1, 301)


def rates(schedule, epochs=EPOCHS):
    return np.array([schedule(epoch) for epoch in epochs])


def test_the_module_examples_run():
    # tests/test_docstrings.py runs the examples of the modules it lists; these too, here
    failed, attempted = doctest.testmod(
        schedules, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert attempted > 0
    assert failed == 0


# --- the schedules against their formulas ---------------------------------------------------

def test_constant():
    assert np.all(rates(Constant(0.25)) == 0.25)


@pytest.mark.parametrize("power, per_epoch", [(0.5, 1), (0.25, 1), (1.0, 7), (0.0, 3)])
def test_inverse_scaling_formula(power, per_epoch):
    schedule = InverseScaling(0.3, power=power, samples_per_epoch=per_epoch)
    assert schedule(1) == 0.3
    expected = [0.3 / ((epoch - 1) * per_epoch + 1) ** power for epoch in EPOCHS]
    np.testing.assert_allclose(rates(schedule), expected, rtol=1e-12, atol=0)
    if per_epoch == 1:
        np.testing.assert_allclose(rates(schedule), [0.3 / epoch ** power for epoch in EPOCHS],
                                   rtol=1e-12, atol=0)


@pytest.mark.parametrize("power, n_samples", [(0.5, 1), (0.5, 150), (0.8, 33)])
def test_inverse_scaling_is_scikit_learns(power, n_samples):
    # the rate scikit-learn's SGD optimizer holds during each epoch, driven as its MLP drives
    # it: the count of samples seen grows by the training rows after every epoch
    module = pytest.importorskip("sklearn.neural_network._stochastic_optimizers")
    optimizer = module.SGDOptimizer([np.zeros(1)], learning_rate_init=0.02,
                                    lr_schedule="invscaling", power_t=power)
    theirs, seen = [], 0
    for _ in EPOCHS:
        theirs.append(optimizer.learning_rate)
        seen += n_samples
        optimizer.iteration_ends(seen)
    ours = rates(InverseScaling(0.02, power=power, samples_per_epoch=n_samples))
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=0)


@pytest.mark.parametrize("factor, every", [(0.5, 10), (0.9, 1), (1.0, 3), (0.1, 7)])
def test_step_decay(factor, every):
    expected, rate = [], 0.4
    for epoch in EPOCHS:  # the rate multiplied by factor at the start of every `every` epochs
        if epoch > 1 and (epoch - 1) % every == 0:
            rate *= factor
        expected.append(rate)
    np.testing.assert_allclose(rates(StepDecay(0.4, factor=factor, every=every)), expected,
                               rtol=1e-12, atol=0)


@pytest.mark.parametrize("gamma", [0.95, 0.5, 1.0])
def test_exponential(gamma):
    expected = [0.4 * gamma ** (epoch - 1) for epoch in EPOCHS]
    np.testing.assert_allclose(rates(Exponential(0.4, gamma=gamma)), expected, rtol=1e-12, atol=0)
    assert Exponential(0.4, gamma=gamma)(1) == 0.4


def torch_warm_restarts(lr, period, period_factor, min_lr, epochs):
    """The rate PyTorch's SGDR scheduler sets for each epoch: read before each step."""
    torch = pytest.importorskip("torch")
    parameter = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.SGD([parameter], lr=lr)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(
        optimizer, T_0=period, T_mult=period_factor, eta_min=min_lr)
    found = []
    for _ in epochs:
        found.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return np.array(found)


@pytest.mark.parametrize("period, period_factor, min_lr",
                         [(10, 1, 0.0), (7, 2, 0.001), (1, 1, 0.01), (3, 3, 0.0), (1, 2, 0.0)])
def test_cosine_with_restarts_is_pytorchs(period, period_factor, min_lr):
    ours = rates(Cosine(0.1, period, min_lr=min_lr, restarts=True, period_factor=period_factor))
    theirs = torch_warm_restarts(0.1, period, period_factor, min_lr, EPOCHS)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=0)


@pytest.mark.parametrize("period, min_lr", [(50, 0.0), (13, 0.002), (1, 0.0)])
def test_cosine_without_restarts(period, min_lr):
    schedule = Cosine(0.1, period, min_lr=min_lr)
    within = range(1, period + 1)
    # the first period is SGDR's; epoch e has t = e - 1 of T = period
    np.testing.assert_allclose(rates(schedule, within),
                               torch_warm_restarts(0.1, period, 1, min_lr, within),
                               rtol=1e-12, atol=0)
    expected = [min_lr + (0.1 - min_lr) * (1 + math.cos(math.pi * (epoch - 1) / period)) / 2
                for epoch in within]
    np.testing.assert_allclose(rates(schedule, within), expected, rtol=1e-12, atol=0)
    assert schedule(1) == 0.1
    assert schedule(period) > min_lr  # still annealing in the period's last epoch
    after = range(period + 1, period + 20)
    if min_lr > 0:
        assert np.all(rates(schedule, after) == min_lr)
    else:
        for epoch in after:
            with pytest.raises(ValueError, match=rf"period={period}.*min_lr.*epoch {epoch}"):
                schedule(epoch)


def test_cosine_restarts_are_at_the_ends_of_growing_periods():
    schedule = Cosine(0.1, 2, restarts=True, period_factor=3)
    starts = [1, 3, 9, 27]  # periods of 2, 6, 18 epochs
    assert [epoch for epoch in range(1, 30) if schedule(epoch) == 0.1] == starts


def test_every_schedule_gives_lr_in_epoch_1():
    for schedule in [Constant(0.3), InverseScaling(0.3, 0.7, 11), StepDecay(0.3, 0.1, 1),
                     Exponential(0.3, 0.1), Cosine(0.3, 4, 0.1, True, 2)]:
        assert schedule(1) == 0.3, schedule


# --- the objects -----------------------------------------------------------------------------

def test_the_table_names_every_schedule():
    assert SCHEDULES == {"constant": Constant, "invscaling": InverseScaling, "step": StepDecay,
                         "exponential": Exponential, "cosine": Cosine}


@pytest.mark.parametrize("schedule", [Constant(0.1), InverseScaling(0.1, 0.25, 4),
                                      StepDecay(0.1, 0.3, 2), Exponential(0.1, 0.9),
                                      Cosine(0.1, 5, 0.01, True, 2), ReduceOnPlateau(0.5, 3)])
def test_frozen_and_repr_round_trips(schedule):
    assert eval(repr(schedule), vars(schedules)) == schedule
    with pytest.raises(dataclasses.FrozenInstanceError):
        schedule.lr = 1.0


def test_numbers_are_stored_as_float_and_int():
    schedule = Cosine(np.float32(0.5), np.int64(4), 0, np.bool_(True), np.int32(2))
    assert [type(getattr(schedule, name)) for name in
            ["lr", "period", "min_lr", "restarts", "period_factor"]] == [
        float, int, float, bool, int]
    assert type(InverseScaling(1).lr) is float
    assert type(ReduceOnPlateau(patience=np.int64(3)).patience) is int


# --- bad input -------------------------------------------------------------------------------

BAD_ARGUMENTS = [
    # (class, keyword arguments, exception, the message must mention)
    (Constant, {"lr": 0}, ValueError, r"lr .*\(0, inf\).* 0\.0"),
    (Constant, {"lr": -1.0}, ValueError, r"lr .*-1\.0"),
    (Constant, {"lr": math.nan}, ValueError, r"lr .*nan"),
    (Constant, {"lr": math.inf}, ValueError, r"lr .*inf"),
    (Constant, {"lr": "0.1"}, TypeError, r"lr .*str '0\.1'"),
    (Constant, {"lr": True}, TypeError, r"lr .*bool True"),
    (Constant, {"lr": None}, TypeError, r"lr .*None"),
    (InverseScaling, {"lr": 0.1, "power": -0.5}, ValueError, r"power .*\[0, inf\).*-0\.5"),
    (InverseScaling, {"lr": 0.1, "power": math.inf}, ValueError, r"power .*inf"),
    (InverseScaling, {"lr": 0.1, "power": "half"}, TypeError, r"power .*'half'"),
    (InverseScaling, {"lr": 0.1, "samples_per_epoch": 0}, ValueError,
     r"samples_per_epoch .*at least 1.* 0"),
    (InverseScaling, {"lr": 0.1, "samples_per_epoch": 2.0}, TypeError,
     r"samples_per_epoch .*int.*2\.0"),
    (InverseScaling, {"lr": 0.1, "samples_per_epoch": True}, TypeError,
     r"samples_per_epoch .*bool True"),
    (InverseScaling, {"lr": -0.1}, ValueError, r"lr .*-0\.1"),
    (StepDecay, {"lr": 0.1, "factor": 0}, ValueError, r"factor .*\(0, 1\].* 0\.0"),
    (StepDecay, {"lr": 0.1, "factor": 1.5}, ValueError, r"factor .*1\.5"),
    (StepDecay, {"lr": 0.1, "factor": math.nan}, ValueError, r"factor .*nan"),
    (StepDecay, {"lr": 0.1, "factor": [0.5]}, TypeError, r"factor .*list"),
    (StepDecay, {"lr": 0.1, "every": 0}, ValueError, r"every .*at least 1.* 0"),
    (StepDecay, {"lr": 0.1, "every": 2.5}, TypeError, r"every .*2\.5"),
    (StepDecay, {"lr": "a"}, TypeError, r"lr .*'a'"),
    (Exponential, {"lr": 0.1, "gamma": 0.0}, ValueError, r"gamma .*\(0, 1\].* 0\.0"),
    (Exponential, {"lr": 0.1, "gamma": 1.01}, ValueError, r"gamma .*1\.01"),
    (Exponential, {"lr": 0.1, "gamma": -math.inf}, ValueError, r"gamma .*-inf"),
    (Exponential, {"lr": 0.1, "gamma": None}, TypeError, r"gamma .*None"),
    (Exponential, {"lr": 0.0}, ValueError, r"lr .*0\.0"),
    (Cosine, {"lr": 0.1, "period": 0}, ValueError, r"period .*at least 1.* 0"),
    (Cosine, {"lr": 0.1, "period": 10.0}, TypeError, r"period .*float 10\.0"),
    (Cosine, {"lr": 0.1, "period": False}, TypeError, r"period .*bool False"),
    (Cosine, {"lr": 0.1, "period": 5, "min_lr": -0.01}, ValueError,
     r"min_lr .*\[0, 0\.1\].*-0\.01"),
    (Cosine, {"lr": 0.1, "period": 5, "min_lr": 0.2}, ValueError, r"min_lr .*\[0, 0\.1\].*0\.2"),
    (Cosine, {"lr": 0.1, "period": 5, "min_lr": math.nan}, ValueError, r"min_lr .*nan"),
    (Cosine, {"lr": 0.1, "period": 5, "min_lr": "0"}, TypeError, r"min_lr .*str '0'"),
    (Cosine, {"lr": 0.1, "period": 5, "restarts": 1}, TypeError, r"restarts .*True or False.*1"),
    (Cosine, {"lr": 0.1, "period": 5, "restarts": "yes"}, TypeError, r"restarts .*'yes'"),
    (Cosine, {"lr": 0.1, "period": 5, "restarts": True, "period_factor": 0}, ValueError,
     r"period_factor .*at least 1.* 0"),
    (Cosine, {"lr": 0.1, "period": 5, "restarts": True, "period_factor": 1.5}, TypeError,
     r"period_factor .*1\.5"),
    (Cosine, {"lr": 0.1, "period": 5, "period_factor": 2}, ValueError,
     r"period_factor must be 1 without restarts.* 2"),
    (Cosine, {"lr": math.inf, "period": 5}, ValueError, r"lr .*inf"),
    (ReduceOnPlateau, {"factor": 0.0}, ValueError, r"factor .*\(0, 1\).* 0\.0"),
    (ReduceOnPlateau, {"factor": 1.0}, ValueError, r"factor .*\(0, 1\).* 1\.0"),
    (ReduceOnPlateau, {"factor": -0.5}, ValueError, r"factor .*-0\.5"),
    (ReduceOnPlateau, {"factor": "0.2"}, TypeError, r"factor .*str '0\.2'"),
    (ReduceOnPlateau, {"patience": -1}, ValueError, r"patience .*at least 0.* -1"),
    (ReduceOnPlateau, {"patience": 2.0}, TypeError, r"patience .*float 2\.0"),
    (ReduceOnPlateau, {"patience": None}, TypeError, r"patience .*None"),
    (ReduceOnPlateau, {"tol": -1e-4}, ValueError, r"tol .*\[0, inf\).*-0\.0001"),
    (ReduceOnPlateau, {"tol": math.nan}, ValueError, r"tol .*nan"),
    (ReduceOnPlateau, {"tol": True}, TypeError, r"tol .*bool True"),
    (ReduceOnPlateau, {"min_lr": -1.0}, ValueError, r"min_lr .*\[0, inf\).*-1\.0"),
    (ReduceOnPlateau, {"min_lr": math.inf}, ValueError, r"min_lr .*inf"),
    (ReduceOnPlateau, {"min_lr": b"0"}, TypeError, r"min_lr .*bytes"),
]


@pytest.mark.parametrize("cls, arguments, error, message", BAD_ARGUMENTS,
                         ids=[f"{case[0].__name__}-{case[1]}" for case in BAD_ARGUMENTS])
def test_bad_arguments(cls, arguments, error, message):
    with pytest.raises(error, match=message):
        cls(**arguments)


@pytest.mark.parametrize("schedule", [Constant(0.1), InverseScaling(0.1), StepDecay(0.1),
                                      Exponential(0.1), Cosine(0.1, 3)])
def test_epochs_count_from_one(schedule):
    with pytest.raises(ValueError, match="epoch must be at least 1, got 0"):
        schedule(0)
    with pytest.raises(TypeError, match="epoch must be an int, got float 1.0"):
        schedule(1.0)
    with pytest.raises(TypeError, match="epoch must be an int, got bool True"):
        schedule(True)


# --- rate_at ---------------------------------------------------------------------------------

def test_rate_at_passes_a_rate_through_and_calls_a_schedule():
    assert rate_at(0.125, 9) == 0.125
    assert rate_at(Exponential(0.4, gamma=0.5), 3) == 0.1
    assert rate_at(lambda epoch: 1 / epoch, 4) == 0.25
    assert rate_at(lambda epoch: 2, 1) == 2.0 and type(rate_at(lambda epoch: 2, 1)) is float
    assert type(rate_at(lambda epoch: np.float32(0.5), 1)) is float
    epochs_asked = []
    rate_at(lambda epoch: epochs_asked.append(epoch) or 0.1, 17)
    assert epochs_asked == [17]


@pytest.mark.parametrize("result", [0, 0.0, -1, -1e-300, math.nan, math.inf, -math.inf,
                                    np.float64(math.nan)])
def test_rate_at_refuses_a_rate_not_finite_and_positive(result):
    # a rate of zero after the first epoch is one that has fallen there: the message says so
    fallen = ": the rate has fallen to zero by then; .*" if float(result) == 0 else ""
    with pytest.raises(ValueError, match=r"^lr\(epoch\) must return a finite number > 0, got "
                                         rf"{float(result)!r} at epoch 5{fallen}$"):
        rate_at(lambda epoch: result, 5)
    with pytest.raises(ValueError, match=rf"^optimizer\.lr\(epoch\) .* at epoch 2{fallen}$"):
        rate_at(lambda epoch: result, 2, name="optimizer.lr")
    with pytest.raises(ValueError, match=r"at epoch 1$"):  # zero from the start: not fallen
        rate_at(lambda epoch: result, 1)


def test_a_decay_that_underflows_within_the_epochs_fit_is_given_is_named_so():
    X, Y = np.eye(2), np.eye(2)
    net = bpcore.Network([2, 2], output="softmax", loss="cross_entropy", seed=0)
    with pytest.raises(ValueError, match=r"got 0.0 at epoch \d+: the rate has fallen to zero by "
                                         r"then; give fewer epochs"):
        net.fit(X, Y, epochs=20_000, lr=Exponential(0.1, gamma=0.95), patience=5)


@pytest.mark.parametrize("result", ["x", None, True, [0.1], np.array([0.1]), 1j])
def test_rate_at_refuses_a_rate_not_a_number(result):
    with pytest.raises(TypeError, match=rf"^lr\(epoch\) must return a real number, got "
                                        rf"{type(result).__name__} .* at epoch 3$"):
        rate_at(lambda epoch: result, 3)


def test_rate_at_checks_the_epoch_and_a_plain_rate():
    with pytest.raises(ValueError, match="epoch must be at least 1, got 0"):
        rate_at(0.1, 0)
    with pytest.raises(ValueError, match=r"net\.lr .*-0\.1"):
        rate_at(-0.1, 1, name="net.lr")


def test_a_schedule_past_its_end_fails_in_rate_at():
    # Exponential underflows to 0 after some thousand epochs: the loop must not train on it
    with pytest.raises(ValueError, match=r"got 0\.0 at epoch 20000"):
        rate_at(Exponential(0.1, gamma=0.9), 20000)
    with pytest.raises(ValueError, match="min_lr"):
        rate_at(Cosine(0.1, 10), 11)


# --- ReduceOnPlateau -------------------------------------------------------------------------

def multipliers(rule, losses, lr=1.0):
    tracker = rule.tracker()
    return [tracker.observe(loss, lr) for loss in losses]


def test_plateau_defaults_are_scikit_learns_documented_rule():
    rule = ReduceOnPlateau()
    assert (rule.factor, rule.patience, rule.tol, rule.min_lr) == (0.2, 2, 1e-4, 0.0)


def test_plateau_reduces_after_patience_stalled_epochs():
    # patience 2: the third stalled epoch in a row reduces; the count then starts again, so
    # it takes three more stalled epochs to reduce again
    losses = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    #  stalled: 0    1    2    3->0 1    2    3->0
    assert multipliers(ReduceOnPlateau(factor=0.5, patience=2), losses) == [
        1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25]


def test_plateau_count_resets_on_an_improvement():
    losses = [4.0, 4.0, 4.0, 2.0, 2.0, 2.0, 2.0]
    #  stalled: 0    1    2    0    1    2    3->0: one reduction, at the last epoch
    assert multipliers(ReduceOnPlateau(factor=0.5, patience=2), losses) == [
        1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.5]


def test_plateau_patience_zero_reduces_at_every_stalled_epoch():
    losses = [1.0, 2.0, 0.5, 0.5, 0.5]
    assert multipliers(ReduceOnPlateau(factor=0.5, patience=0), losses) == [
        1.0, 0.5, 0.5, 0.25, 0.125]


def test_plateau_tol_and_the_best_loss():
    # tol 0.25 (exact in binary). An epoch stalls when its loss is above best - tol; the best
    # loss follows every fall, however small (scikit-learn's best_loss_)
    rule = ReduceOnPlateau(factor=0.5, patience=0, tol=0.25)
    tracker = rule.tracker()
    assert tracker.observe(1.0, 1.0) == 1.0 and tracker.best == 1.0
    assert tracker.observe(0.75, 1.0) == 1.0  # exactly best - tol: an improvement
    assert tracker.stalled == 0 and tracker.best == 0.75
    assert tracker.observe(0.625, 1.0) == 0.5  # a fall smaller than tol: stalled, reduced
    assert tracker.best == 0.625 and tracker.stalled == 0  # ... and it is the best now
    assert tracker.observe(0.5, 1.0) == 0.25  # 0.5 > 0.625 - 0.25: stalled against the new best
    assert tracker.observe(0.25, 1.0) == 0.25  # 0.25 <= 0.5 - 0.25: an improvement


def test_plateau_rises_are_stalls():
    assert multipliers(ReduceOnPlateau(factor=0.1, patience=1), [1.0, 3.0, 5.0]) == pytest.approx(
        [1.0, 1.0, 0.1], rel=1e-15)


def test_plateau_floor_at_min_lr():
    # lr 0.5 and min_lr 0.125: the multiplier never goes below 0.25
    rule = ReduceOnPlateau(factor=0.5, patience=0, min_lr=0.125)
    assert multipliers(rule, [1.0] * 5, lr=0.5) == [1.0, 0.5, 0.25, 0.25, 0.25]
    # the floor is relative to the rate given: at lr 0.25 it is 0.5
    assert multipliers(rule, [1.0] * 4, lr=0.25) == [1.0, 0.5, 0.5, 0.5]


def test_plateau_floor_never_raises_the_multiplier():
    # a schedule fell below min_lr by itself: a reduction keeps the multiplier where it is
    tracker = ReduceOnPlateau(factor=0.5, patience=0, min_lr=0.1).tracker()
    assert [tracker.observe(1.0, 1.0) for _ in range(3)] == [1.0, 0.5, 0.25]
    assert tracker.observe(1.0, 0.2) == 0.25  # the floor 0.1 / 0.2 = 0.5 is above 0.25
    assert tracker.observe(1.0, 1.0) == 0.125


def test_plateau_trackers_are_independent():
    rule = ReduceOnPlateau(factor=0.5, patience=0)
    first, second = rule.tracker(), rule.tracker()
    assert isinstance(first, PlateauTracker) and first is not second
    first.observe(1.0, 1.0)
    first.observe(1.0, 1.0)
    assert first.multiplier == 0.5
    assert (second.multiplier, second.best, second.stalled) == (1.0, math.inf, 0)
    assert rule == ReduceOnPlateau(factor=0.5, patience=0)  # the rule holds no state
    assert "multiplier=0.5" in repr(first)


@pytest.mark.parametrize("loss, lr, error, message", [
    (math.nan, 0.1, ValueError, r"loss .*nan"),
    (math.inf, 0.1, ValueError, r"loss .*inf"),
    ("1.0", 0.1, TypeError, r"loss .*str '1\.0'"),
    (1.0, 0.0, ValueError, r"lr .*\(0, inf\).*0\.0"),
    (1.0, math.nan, ValueError, r"lr .*nan"),
    (1.0, None, TypeError, r"lr .*None"),
])
def test_plateau_bad_observations(loss, lr, error, message):
    tracker = ReduceOnPlateau().tracker()
    with pytest.raises(error, match=message):
        tracker.observe(loss, lr)
    assert (tracker.multiplier, tracker.best, tracker.stalled) == (1.0, math.inf, 0)


def test_tracker_needs_a_rule():
    with pytest.raises(TypeError, match="rule must be a ReduceOnPlateau, got float"):
        PlateauTracker(0.2)
