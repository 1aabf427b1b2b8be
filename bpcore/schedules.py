"""Learning-rate schedules, and the reduce-on-plateau rule.

A learning rate is a float or a callable ``lr(epoch) -> float``, epochs counting from 1. Each
schedule here is such a callable: a small frozen dataclass holding its hyperparameters, checked
on construction, whose call gives the rate of one epoch from the epoch alone. `rate_at` is what
the training loop calls for every epoch: it checks what a schedule (the user's own too) returns.

`ReduceOnPlateau` is not a function of the epoch: it watches the monitored loss, as
scikit-learn's ``learning_rate="adaptive"`` does, and gives a multiplier for the rate.

Examples
--------
>>> from bpcore.schedules import StepDecay, rate_at
>>> schedule = StepDecay(0.1, factor=0.5, every=2)
>>> [rate_at(schedule, epoch) for epoch in range(1, 6)]
[0.1, 0.1, 0.05, 0.05, 0.025]
>>> rate_at(lambda epoch: 0.1 - 0.05 * epoch, 2)
Traceback (most recent call last):
    ...
ValueError: lr(epoch) must return a finite number > 0, got 0.0 at epoch 2: the rate has fallen
to zero by then; give fewer epochs (patience or tol end training before them anyway) or a
schedule that stops falling
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np

from ._validation import as_int, as_real, check

__all__ = ["Constant", "InverseScaling", "StepDecay", "Exponential", "Cosine",
           "ReduceOnPlateau", "PlateauTracker", "LearningRate", "rate_at", "SCHEDULES"]

# what an optimizer's (and fit's) `lr` may be
LearningRate: TypeAlias = float | Callable[[int], float]


def _set_real(obj: Any, name: str, low: float, high: float = math.inf, low_open: bool = False,
              high_open: bool = False) -> None:
    """Check the float field `name` of the frozen dataclass `obj` and store it as a float."""
    value = as_real(getattr(obj, name), name, low, high, low_open, high_open)
    object.__setattr__(obj, name, value)


def _set_int(obj: Any, name: str, minimum: int) -> None:
    object.__setattr__(obj, name, as_int(getattr(obj, name), name, minimum))


def _set_lr(obj: Any) -> None:
    object.__setattr__(obj, "lr", check("lr", obj.lr))


@dataclass(frozen=True)
class Constant:
    """The same rate every epoch.

    Attributes
    ----------
    lr : float
        The rate, > 0.

    Raises
    ------
    TypeError
        If `lr` is not a real number.
    ValueError
        If `lr` is not finite, or <= 0.

    Examples
    --------
    >>> from bpcore.schedules import Constant
    >>> Constant(0.1)(1), Constant(0.1)(500)
    (0.1, 0.1)
    """

    lr: float

    def __post_init__(self) -> None:
        _set_lr(self)

    def __call__(self, epoch: int) -> float:
        """The rate of `epoch` (counting from 1): `lr`."""
        as_int(epoch, "epoch", 1)
        return self.lr


@dataclass(frozen=True)
class InverseScaling:
    """The rate falls as a power of the number of samples seen: scikit-learn's ``invscaling``.

    During epoch e the rate is ``lr / ((e - 1) * samples_per_epoch + 1) ** power``: `lr` in
    epoch 1, and ``lr / e ** power`` with ``samples_per_epoch=1``.

    This is scikit-learn's MLP (``solver="sgd", learning_rate="invscaling"``) exactly:
    there the optimizer starts at ``learning_rate_init``, and at the end of each epoch it
    adds the epoch's training rows to its sample count ``t`` and sets the rate to
    ``learning_rate_init / (t + 1) ** power_t``; so the rate changes once per epoch, not
    per batch. With ``lr=learning_rate_init``, ``power=power_t`` and `samples_per_epoch` the
    number of training rows (after any validation split), the rates are the same numbers.

    Attributes
    ----------
    lr : float
        The rate of epoch 1, > 0.
    power : float
        The exponent, >= 0 (scikit-learn's ``power_t``, whose default is 0.5).
    samples_per_epoch : int
        The samples one epoch counts, >= 1.

    Raises
    ------
    TypeError
        If `lr` or `power` is not a real number, or `samples_per_epoch` not an int.
    ValueError
        If a number is not finite, `lr` <= 0, `power` < 0 or `samples_per_epoch` < 1.

    Examples
    --------
    >>> from bpcore.schedules import InverseScaling
    >>> schedule = InverseScaling(0.1, power=0.5)
    >>> schedule(1), schedule(4)
    (0.1, 0.05)
    >>> InverseScaling(0.1, samples_per_epoch=3)(2)  # 0.1 / (3 + 1) ** 0.5
    0.05
    """

    lr: float
    power: float = 0.5
    samples_per_epoch: int = 1

    def __post_init__(self) -> None:
        _set_lr(self)
        _set_real(self, "power", 0.0)
        _set_int(self, "samples_per_epoch", 1)

    def __call__(self, epoch: int) -> float:
        """The rate of `epoch` (counting from 1)."""
        # scikit-learn's count t of the samples seen before this epoch, and its formula
        seen = (as_int(epoch, "epoch", 1) - 1) * self.samples_per_epoch
        scale: float = (seen + 1) ** self.power  # typeshed types int ** float as Any
        return self.lr / scale


@dataclass(frozen=True)
class StepDecay:
    """The rate is multiplied by `factor` every `every` epochs: ``lr * factor ** ((e - 1) //
    every)`` in epoch e.

    Attributes
    ----------
    lr : float
        The rate of the first `every` epochs, > 0.
    factor : float
        The multiplier, in (0, 1].
    every : int
        Epochs between two decays, >= 1.

    Raises
    ------
    TypeError
        If `lr` or `factor` is not a real number, or `every` not an int.
    ValueError
        If `lr` is not finite or <= 0, `factor` is outside (0, 1] or `every` < 1.

    Examples
    --------
    >>> from bpcore.schedules import StepDecay
    >>> schedule = StepDecay(0.1, factor=0.5, every=10)
    >>> schedule(10), schedule(11), schedule(21)
    (0.1, 0.05, 0.025)
    """

    lr: float
    factor: float = 0.5
    every: int = 10

    def __post_init__(self) -> None:
        _set_lr(self)
        _set_real(self, "factor", 0.0, 1.0, low_open=True)
        _set_int(self, "every", 1)

    def __call__(self, epoch: int) -> float:
        """The rate of `epoch` (counting from 1)."""
        return self.lr * self.factor ** ((as_int(epoch, "epoch", 1) - 1) // self.every)


@dataclass(frozen=True)
class Exponential:
    """The rate is multiplied by `gamma` every epoch: ``lr * gamma ** (e - 1)`` in epoch e.

    Attributes
    ----------
    lr : float
        The rate of epoch 1, > 0.
    gamma : float
        The multiplier, in (0, 1].

    Raises
    ------
    TypeError
        If `lr` or `gamma` is not a real number.
    ValueError
        If `lr` is not finite or <= 0, or `gamma` is outside (0, 1].

    Examples
    --------
    >>> from bpcore.schedules import Exponential
    >>> schedule = Exponential(0.1, gamma=0.5)
    >>> schedule(1), schedule(2), schedule(3)
    (0.1, 0.05, 0.025)
    """

    lr: float
    gamma: float = 0.95

    def __post_init__(self) -> None:
        _set_lr(self)
        _set_real(self, "gamma", 0.0, 1.0, low_open=True)

    def __call__(self, epoch: int) -> float:
        """The rate of `epoch` (counting from 1)."""
        return self.lr * self.gamma ** (as_int(epoch, "epoch", 1) - 1)


@dataclass(frozen=True)
class Cosine:
    """Cosine annealing from `lr` down towards `min_lr`, with optional warm restarts (SGDR).

    In epoch e the rate is ``min_lr + (lr - min_lr) * (1 + cos(pi * t / T)) / 2``, where T is
    the length of the current period and t the epochs since it began: epochs 1 to `period`
    have t = 0 to period - 1, so epoch 1 has `lr` and epoch `period` is still above
    `min_lr`. (PyTorch's CosineAnnealingLR reaches ``eta_min`` at T_cur = T_max, which is
    the first epoch after the period here.)

    Without restarts the rate is `min_lr` from epoch period + 1 on; with ``min_lr=0``
    there is no such rate, and asking for it is an error: give ``period`` at least the
    number of epochs. With restarts, epoch period + 1 begins a new period at `lr`, each
    period `period_factor` times as long as the one before: the rates of PyTorch's
    ``CosineAnnealingWarmRestarts(T_0=period, T_mult=period_factor, eta_min=min_lr)``,
    epoch e having the rate it sets after e - 1 calls of its ``step()``.

    Attributes
    ----------
    lr : float
        The rate at the start of every period, > 0.
    period : int
        The length in epochs of the first period, >= 1.
    min_lr : float
        The rate the cosine falls towards, in [0, lr].
    restarts : bool
        Whether a new period begins at `lr` when one ends.
    period_factor : int
        How many times longer each period is than the one before, >= 1; other than 1 only
        with ``restarts=True``.

    Raises
    ------
    TypeError
        If `lr` or `min_lr` is not a real number, `period` or `period_factor` not an int, or
        `restarts` not a bool.
    ValueError
        If `lr` is not finite or <= 0, `period` < 1, `min_lr` is outside [0, lr],
        `period_factor` < 1, or `period_factor` is not 1 without restarts; and from a
        call, for an epoch after the period when ``min_lr=0`` and there are no restarts.

    Examples
    --------
    >>> from bpcore.schedules import Cosine
    >>> schedule = Cosine(0.1, period=4, min_lr=0.01)
    >>> [round(schedule(epoch), 4) for epoch in range(1, 7)]
    [0.1, 0.0868, 0.055, 0.0232, 0.01, 0.01]
    >>> restarting = Cosine(0.1, period=2, restarts=True, period_factor=2)
    >>> [round(restarting(epoch), 4) for epoch in range(1, 8)]
    [0.1, 0.05, 0.1, 0.0854, 0.05, 0.0146, 0.1]
    """

    lr: float
    period: int
    min_lr: float = 0.0
    restarts: bool = False
    period_factor: int = 1

    def __post_init__(self) -> None:
        _set_lr(self)
        _set_int(self, "period", 1)
        _set_real(self, "min_lr", 0.0, self.lr)
        if not isinstance(self.restarts, (bool, np.bool_)):
            raise TypeError(f"restarts must be True or False, got "
                            f"{type(self.restarts).__name__} {self.restarts!r}")
        object.__setattr__(self, "restarts", bool(self.restarts))
        _set_int(self, "period_factor", 1)
        if self.period_factor != 1 and not self.restarts:
            raise ValueError(f"period_factor must be 1 without restarts (it sets the length "
                             f"of the periods after a restart), got {self.period_factor}")

    def __call__(self, epoch: int) -> float:
        """The rate of `epoch` (counting from 1)."""
        since = as_int(epoch, "epoch", 1) - 1  # epochs since the first period began
        length = self.period
        if not self.restarts and since >= length:
            if self.min_lr == 0.0:
                raise ValueError(
                    f"Cosine(period={self.period}, min_lr=0.0) has no rate > 0 after epoch "
                    f"{self.period}, got epoch {epoch}; give a period of at least the number "
                    f"of epochs, min_lr > 0 or restarts=True")
            return self.min_lr
        while since >= length:  # skip whole periods: a few steps, lengths grow geometrically
            since -= length
            length *= self.period_factor
        # PyTorch's formula, operation by operation, so that the rates are the same floats
        return self.min_lr + (self.lr - self.min_lr) * (1 + math.cos(math.pi * since / length)) / 2


@dataclass(frozen=True)
class ReduceOnPlateau:
    """Divide the rate when the monitored loss stops falling: scikit-learn's ``adaptive``.

    A rule, not a schedule: `tracker` gives an object that sees the monitored loss once per
    epoch and returns the multiplier for the rate from the next epoch on. The rule, as
    scikit-learn's MLP applies it (``_update_no_improvement_count`` and the optimizer's
    ``trigger_stopping``): the best loss starts at infinity; after each epoch, a loss above
    ``best - tol`` adds one to a count of stalled epochs and any other loss sets the count
    to 0; a loss below the best becomes the best (however small the gain). When the count
    exceeds `patience`, the multiplier is multiplied by `factor` and the count restarts
    from 0 (the best loss stays). So the rate falls on the (patience + 1)-th stalled epoch
    in a row.

    The defaults are scikit-learn's rule as its documentation still words it ("two
    consecutive epochs" fail to improve by `tol`, then the rate is divided by 5), and as its
    code was before ``n_iter_no_change`` (a count above 2). Its MLP today uses
    ``n_iter_no_change``, default 10, as the patience: ``ReduceOnPlateau(patience=10)``
    gives its default rule. Where scikit-learn stops training once the rate is at most
    1e-6, the multiplier here stops at `min_lr`, and training goes on (fit's `patience`
    and `tol` stop it). Given a validation score, scikit-learn watches for a rise;
    here the monitored value is always a loss, which should fall.

    Attributes
    ----------
    factor : float
        The multiplier applied at each reduction, in (0, 1).
    patience : int
        How many stalled epochs in a row are tolerated, >= 0; one more reduces the rate.
    tol : float
        The least fall below the best loss that counts as an improvement, >= 0.
    min_lr : float
        The rate a reduction never goes below, >= 0, at the rate of the epoch it happens in:
        a falling schedule multiplied by the rule goes on below it.

    Raises
    ------
    TypeError
        If `factor`, `tol` or `min_lr` is not a real number, or `patience` not an int.
    ValueError
        If `factor` is outside (0, 1), `patience` < 0, or `tol` or `min_lr` is not finite
        or < 0.

    Examples
    --------
    >>> from bpcore.schedules import ReduceOnPlateau
    >>> tracker = ReduceOnPlateau(factor=0.5, patience=1).tracker()
    >>> [tracker.observe(loss, lr=0.1) for loss in [1.0, 0.9, 0.95, 0.92, 0.8]]
    [1.0, 1.0, 1.0, 0.5, 0.5]
    """

    factor: float = 0.2
    patience: int = 2
    tol: float = 1e-4
    min_lr: float = 0.0

    def __post_init__(self) -> None:
        _set_real(self, "factor", 0.0, 1.0, low_open=True, high_open=True)
        _set_int(self, "patience", 0)
        _set_real(self, "tol", 0.0)
        _set_real(self, "min_lr", 0.0)

    def tracker(self) -> PlateauTracker:
        """A fresh tracker of this rule: best loss infinite, no stalled epochs, multiplier 1.

        Returns
        -------
        PlateauTracker
            Give it each epoch's monitored loss with `PlateauTracker.observe`.

        Examples
        --------
        >>> from bpcore.schedules import ReduceOnPlateau
        >>> ReduceOnPlateau().tracker().multiplier
        1.0
        """
        return PlateauTracker(self)


class PlateauTracker:
    """The state of one training run under a `ReduceOnPlateau` rule.

    Parameters
    ----------
    rule : ReduceOnPlateau
        The rule it applies.

    Attributes
    ----------
    rule : ReduceOnPlateau
        The rule it applies.
    multiplier : float
        What the rate is multiplied by from the next epoch on; starts at 1.
    best : float
        The lowest loss seen; starts at infinity.
    stalled : int
        Epochs in a row whose loss was not below ``best - tol``, since the last reduction.

    Examples
    --------
    >>> from bpcore.schedules import ReduceOnPlateau
    >>> tracker = ReduceOnPlateau(patience=0).tracker()
    >>> tracker.observe(1.0, lr=0.1), tracker.observe(1.0, lr=0.1)
    (1.0, 0.2)
    """

    def __init__(self, rule: ReduceOnPlateau) -> None:
        if not isinstance(rule, ReduceOnPlateau):
            raise TypeError(f"rule must be a ReduceOnPlateau, got {type(rule).__name__}")
        self.rule = rule
        self.multiplier = 1.0
        self.best = math.inf
        self.stalled = 0

    def observe(self, loss: float, lr: float) -> float:
        """Count one epoch's monitored loss; the multiplier for the rate from then on.

        Parameters
        ----------
        loss : float
            The epoch's monitored loss (training or validation), finite.
        lr : float
            The rate the multiplier applies to, > 0: the schedule's rate (or the fixed
            rate) before the multiplier. A reduction stops where ``lr * multiplier`` would
            go below the rule's `min_lr`; with a falling schedule the floor is kept
            relative to the `lr` of the epoch that reduces.

        Returns
        -------
        float
            The multiplier, in (0, 1]: the same as before, or smaller after a reduction.

        Examples
        --------
        >>> from bpcore.schedules import ReduceOnPlateau
        >>> tracker = ReduceOnPlateau(factor=0.1, patience=0, min_lr=0.02).tracker()
        >>> [tracker.observe(1.0, lr=0.5) for _ in range(3)]
        [1.0, 0.1, 0.04]
        """
        loss = as_real(loss, "loss", -math.inf)
        lr = check("lr", lr)
        rule = self.rule
        if loss > self.best - rule.tol:
            self.stalled += 1
        else:
            self.stalled = 0
        if loss < self.best:
            self.best = loss
        if self.stalled > rule.patience:
            self.stalled = 0
            # the floor min_lr / lr, but a reduction never raises the multiplier
            floor = min(self.multiplier, rule.min_lr / lr)
            self.multiplier = max(self.multiplier * rule.factor, floor)
        return self.multiplier

    def __repr__(self) -> str:
        return (f"PlateauTracker(rule={self.rule!r}, multiplier={self.multiplier!r}, "
                f"best={self.best!r}, stalled={self.stalled!r})")


def rate_at(lr: LearningRate, epoch: int, name: str = "lr") -> float:
    """The learning rate of one epoch: `lr` itself, or ``lr(epoch)`` checked.

    Parameters
    ----------
    lr : float or callable
        A rate (the caller has checked it) or a schedule: ``lr(epoch) -> float``.
    epoch : int
        The epoch, counting from 1.
    name : str, default "lr"
        What error messages call `lr`.

    Returns
    -------
    float
        The rate, finite and > 0.

    Raises
    ------
    TypeError
        When ``lr(epoch)`` is not a real number.
    ValueError
        When it is not finite or not > 0.

    Examples
    --------
    >>> from bpcore.schedules import Exponential, rate_at
    >>> rate_at(0.1, 3), rate_at(Exponential(0.1, gamma=0.5), 3)
    (0.1, 0.025)
    >>> rate_at(lambda epoch: float("nan"), 7, name="optimizer.lr")
    Traceback (most recent call last):
        ...
    ValueError: optimizer.lr(epoch) must return a finite number > 0, got nan at epoch 7
    """
    as_int(epoch, "epoch", 1)
    if not callable(lr):
        return float(check("lr", lr, name))
    rate = lr(epoch)
    if isinstance(rate, bool) or not isinstance(rate, numbers.Real):
        raise TypeError(f"{name}(epoch) must return a real number, got "
                        f"{type(rate).__name__} {rate!r} at epoch {epoch}")
    rate = float(rate)
    if not (math.isfinite(rate) and rate > 0):
        # fit checks every epoch's rate first: a decay that reaches 0 (or rounds to it) at an
        # epoch that early stopping would never have run is the usual way to get here
        fallen = (": the rate has fallen to zero by then; give fewer epochs (patience or tol "
                  "end training before them anyway) or a schedule that stops falling"
                  if rate == 0 and epoch > 1 else "")
        raise ValueError(f"{name}(epoch) must return a finite number > 0, got {rate!r} "
                         f"at epoch {epoch}{fallen}")
    return rate


# schedule name -> class: the names the command line's --lr-schedule takes
SCHEDULES: dict[str, type[Any]] = {"constant": Constant, "invscaling": InverseScaling,
                                   "step": StepDecay, "exponential": Exponential,
                                   "cosine": Cosine}
