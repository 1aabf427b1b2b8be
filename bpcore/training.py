"""The training loop behind `Network.fit` and `bpcore train`: epochs, shuffling, stopping
rules, validation, rollback.

`train` drives a trainer: something that trains a model on given rows (for the Network,
compiled calls of whole batches, between which Python acts on Ctrl-C), takes and restores
snapshots of the model, and measures its loss. It knows nothing of kernels or layers: it
decides what runs, when to stop, and what to keep.
"""
from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt

from . import _backend
from ._layout import Floats, Indices
from ._validation import KEPT, DivergenceError
from .schedules import ReduceOnPlateau, rate_at


@dataclass
class History:
    """What `Network.fit` returns: what the training did.

    Attributes
    ----------
    losses : list of float
        The loss of every epoch run, in order: the mean over the samples of each sample's loss
        (weighted by `sample_weight` when given), measured just before the step that used it;
        for L-BFGS, the loss after each iteration.
    epochs : int
        How many epochs ran (``len(losses)``).
    stop_reason : {"epochs", "tol", "patience", "callback", "converged", "stalled"}
        Why training stopped: all `epochs` ran, the watched loss reached `tol`, `patience`
        epochs passed without a lower watched loss, the callback returned True, L-BFGS
        converged (its gradient or loss stopped changing), or L-BFGS's line search found no
        lower point.
    val_losses : list of float
        The loss on the validation data at the end of every epoch, when there are such data;
        otherwise empty.
    val_accuracies : list of float
        For the cross-entropy losses, the share of validation samples classified right at the
        end of every epoch (for "binary_cross_entropy", every output on the right side of
        0.5), weighted by the validation samples' weights when they have some; otherwise
        empty.
    best_epoch : int or None
        When the best parameters are restored at the end: the epoch whose parameters the
        model keeps (the lowest watched loss); otherwise None.
    best_loss : float or None
        That epoch's watched loss, or None.
    lrs : list of float
        The learning rate of every epoch (a schedule's, times any reduction on a plateau);
        for Rprop its first step size, `lr`; empty for L-BFGS.
    times : list of float
        The wall time of every epoch in seconds, its validation included.

    Examples
    --------
    >>> import numpy as np
    >>> import bpcore
    >>> X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    >>> net = bpcore.Network([2, 1], seed=0)
    >>> history = net.fit(X, [0.0, 1.0, 1.0, 1.0], epochs=3)
    >>> history.epochs, len(history.losses), history.stop_reason, history.lrs
    (3, 3, 'epochs', [0.1, 0.1, 0.1])
    """
    losses: list[float] = field(default_factory=list)
    epochs: int = 0
    stop_reason: str = "epochs"
    val_losses: list[float] = field(default_factory=list)
    val_accuracies: list[float] = field(default_factory=list)
    best_epoch: int | None = None
    best_loss: float | None = None
    lrs: list[float] = field(default_factory=list)
    times: list[float] = field(default_factory=list)

    def __repr__(self) -> str:
        # the lists summed up: a long run has thousands of entries in each
        def brief(values: list[float]) -> str:
            if len(values) <= 3:
                return "[" + ", ".join(f"{value:.4g}" for value in values) + "]"
            return f"[{values[0]:.4g}, {values[1]:.4g}, ..., {values[-1]:.4g}] ({len(values)})"
        return (f"History(epochs={self.epochs}, stop_reason={self.stop_reason!r}, "
                f"losses={brief(self.losses)}, val_losses={brief(self.val_losses)}, "
                f"best_epoch={self.best_epoch}, best_loss={self.best_loss!r})")


class _Measures(Protocol):
    """What the rules after each epoch need of a model: snapshots and measures."""

    def snapshot(self) -> Any: ...

    def restore(self, saved: Any) -> None: ...

    def loss(self, X: Floats, Y: Floats, weights: Floats | None = None) -> float: ...

    def accuracy(self, X: Floats, Y: Floats, weights: Floats | None = None) -> float | None: ...


class _Trainer(_Measures, Protocol):
    """What `train` drives (for a Network, what `Network.fit` makes of it)."""

    def train_rows(self, order: Indices) -> tuple[float, bool]: ...

    def set_rate(self, rate: float) -> None: ...


class _Reporter(Protocol):
    def __call__(self, epoch: int, loss: float, **metrics: float) -> None: ...


# What the loop watches for tol, patience, the plateau rule and the best parameters: the
# epoch's mean loss, or the loss at the end of the epoch on the validation data.
Watch = Literal["epoch", "validation"]

# validation data: samples and targets, and optionally the samples' weights
Validation = tuple[Floats, ...]


def train(trainer: _Trainer, X: Floats, Y: Floats, *,
          epochs: int, lr: float | Callable[[int], float], shuffle: bool,
          rng: np.random.Generator, tol: float | None = None, patience: int | None = None,
          callback: Callable[[int, float], bool | None] | None = None,
          reporter: _Reporter | None = None,
          validation: Validation | None = None, watch: Watch = "epoch",
          restore_best: bool = False, plateau: ReduceOnPlateau | None = None,
          advice: str | None = None, momentum: float = 0.0,
          weight_decay: float = 0.0) -> History:
    """Train on X, Y for up to `epochs` epochs through `trainer`: the loop behind
    `Network.fit`.

    Each epoch sets the learning rate (`lr`, or lr(epoch) for a schedule, times the
    reduction `plateau` has made), then visits the rows in an order drawn from `rng`
    (unless shuffle is False) and hands it to ``trainer.train_rows``. An epoch that makes
    the loss or a parameter non-finite is undone (the snapshot from before it is restored)
    and raises DivergenceError; Ctrl-C undoes the interrupted epoch and raises
    KeyboardInterrupt saying which parameters the model keeps. After each whole epoch come
    the validation, `reporter`, the best-so-far bookkeeping, `plateau`, then `callback`,
    then the `tol` and `patience` rules on the watched loss.

    Parameters
    ----------
    trainer : object
        With these methods: ``train_rows(order)`` trains the model on the rows X[order] (in
        whatever batches it likes) and returns their summed loss and whether every parameter
        is still finite; ``set_rate(rate)`` sets the learning rate for the next rows;
        ``snapshot()`` returns what ``restore(saved)`` takes to put the model back as it was;
        ``loss(X, Y, weights=None)`` is the model's (weighted) mean loss on some data;
        ``accuracy(X, Y, weights=None)`` its (weighted) share of right answers, or None where
        that means nothing.
    X, Y : ndarray
        The training samples and targets, one row per sample, as the model takes them.
    epochs : int
        The most epochs to run.
    lr : float or callable
        The learning rate, or a schedule lr(epoch) -> float (`bpcore.schedules`).
    shuffle : bool
        Draw a new order of the rows every epoch; False visits them in order.
    rng : numpy.random.Generator
        What draws the orders.
    tol : float or None, default None
        Stop once the watched loss is <= tol.
    patience : int or None, default None
        Stop after `patience` epochs without a watched loss below the lowest so far.
    callback : callable or None, default None
        ``callback(epoch, loss)`` after every epoch; True stops training.
    reporter : callable or None, default None
        ``reporter(epoch, loss)`` after every epoch, with ``val_loss=`` when there is
        validation data (e.g. `bpcore.progress.make_progress`).
    validation : tuple (X_val, Y_val) or (X_val, Y_val, weights), or None, default None
        Data whose loss is measured after every epoch (``History.val_losses``).
    watch : {"epoch", "validation"}, default "epoch"
        The loss `tol`, `patience`, `plateau` and `restore_best` watch: the epoch's mean
        loss, or the validation loss.
    restore_best : bool, default False
        End with the state of the epoch with the lowest watched loss.
    plateau : ReduceOnPlateau or None, default None
        Reduce the rate when the watched loss stalls (`bpcore.schedules.ReduceOnPlateau`).
    advice : str or None, default None
        What to try when the loss diverges or rises; None suggests a smaller learning rate
        than the epoch's, and less momentum where `momentum` (the optimizer's) is not 0.
    momentum : float, default 0.0
        The optimizer's momentum, for that advice.
    weight_decay : float, default 0.0
        The optimizer's weight decay, for that advice.

    Returns
    -------
    History
        The losses, the number of epochs, why training stopped, the rates and times of the
        epochs and, with `restore_best`, the epoch kept.

    Raises
    ------
    DivergenceError
        If an epoch makes the loss or a parameter non-finite (that epoch is undone).
    KeyboardInterrupt
        On Ctrl-C, with the last whole epoch kept.
    ValueError, TypeError
        If a schedule returns something that is not a finite rate > 0.

    Warns
    -----
    RuntimeWarning
        If the last epoch's loss is above the first's.

    Examples
    --------
    The training loop around the public `Network.step`, one sample at a time:

    >>> import numpy as np
    >>> import bpcore
    >>> from bpcore.schedules import Exponential
    >>> from bpcore.training import train
    >>> net = bpcore.Network([1, 1], output="identity", seed=0)
    >>> class Online:
    ...     rate = 0.1
    ...     def train_rows(self, order):
    ...         total = sum(net.step(X[i], Y[i], lr=self.rate) for i in order)
    ...         return total, bool(np.isfinite(net.weights[0]).all())
    ...     def set_rate(self, rate):
    ...         self.rate = rate
    ...     def snapshot(self):
    ...         return net.get_state()
    ...     def restore(self, saved):
    ...         net.set_state(saved)
    ...     def loss(self, X, Y, weights=None):
    ...         return net.loss(X, Y, sample_weight=weights)
    ...     def accuracy(self, X, Y, weights=None):
    ...         return None
    >>> X, Y = np.array([[0.0], [1.0]]), np.array([[1.0], [3.0]])
    >>> history = train(Online(), X, Y, epochs=50, lr=Exponential(0.2, gamma=0.99),
    ...                 shuffle=False, rng=np.random.default_rng(0))
    >>> history.epochs, history.losses[-1] < history.losses[0], history.lrs[1]
    (50, True, 0.198)
    """
    if watch == "validation" and validation is None:
        raise ValueError("watching the validation loss needs validation data")
    history = History()
    rules = _Rules(trainer, tol, patience, callback, reporter, validation, watch,
                   restore_best, plateau, history)
    try:
        _epochs(trainer, X, epochs, lr, shuffle, rng, rules,
                advice, momentum, weight_decay)
    except DivergenceError as error:
        error.history = history  # the epochs before the one that diverged
        raise
    except KeyboardInterrupt as interrupt:
        if interrupt.args:  # raised inside an epoch, which was undone: it says so
            raise
        # between epochs (shuffling, progress, the callback): the last epoch is whole
        when = f"after epoch {history.epochs}" if history.epochs else "before epoch 1"
        raise KeyboardInterrupt(f"training interrupted {when}; the network keeps the "
                                f"parameters {_kept(history.epochs)}") from None
    rules.finish()
    # the epoch whose parameters the model keeps: with restore_best, not always the last
    kept = history.best_epoch or history.epochs
    if kept > 1 and history.losses[kept - 1] > history.losses[0]:
        ended = ("training ended with a loss" if kept == history.epochs else
                 f"training kept epoch {kept}, with a loss")
        warnings.warn(f"{ended} ({history.losses[kept - 1]:.4g}) above the first epoch's "
                      f"({history.losses[0]:.4g}); try "
                      f"{advice or rate_advice(history.lrs[-1], momentum, weight_decay)}",
                      RuntimeWarning, stacklevel=3)
    return history


class _Rules:
    """What happens after each whole epoch (or L-BFGS iteration): validation, reports, the
    best state so far, the plateau rule, the callback and the stopping rules."""

    def __init__(self, trainer: _Measures, tol: float | None,
                 patience: int | None, callback: Callable[[int, float], bool | None] | None,
                 reporter: _Reporter | None, validation: Validation | None, watch: Watch,
                 restore_best: bool, plateau: ReduceOnPlateau | None,
                 history: History) -> None:
        self.trainer = trainer
        self.tol, self.patience, self.callback, self.reporter = tol, patience, callback, reporter
        self.validation, self.watch, self.restore_best = validation, watch, restore_best
        self.plateau = None if plateau is None else plateau.tracker()
        self.history = history
        self.best_epoch, self.best_loss = 0, math.inf  # the lowest watched loss so far
        self.best: Any = None  # its snapshot, when it is to be restored
        self.started = time.perf_counter()
        self.base = math.nan  # the schedule's rate of the current epoch

    def rate(self, base: float) -> float:
        """The coming epoch's rate: `base` (the schedule's) times the plateau rule's factor."""
        self.base = base
        return base if self.plateau is None else base * self.plateau.multiplier

    def end_epoch(self, epoch: int, loss: float) -> bool:
        """Record a whole epoch with mean loss `loss`; True when training is to stop."""
        history, trainer = self.history, self.trainer
        history.losses.append(loss)
        history.epochs = epoch
        metrics = {}
        if self.validation is not None:
            history.val_losses.append(trainer.loss(*self.validation))
            metrics["val_loss"] = history.val_losses[-1]
            accuracy = trainer.accuracy(*self.validation)
            if accuracy is not None:
                history.val_accuracies.append(accuracy)
        now = time.perf_counter()
        history.times.append(now - self.started)
        self.started = now
        if self.reporter is not None:
            self.reporter(epoch, loss, **metrics)
        watched = history.val_losses[-1] if self.watch == "validation" else loss
        # the first epoch is the best so far even if its watched loss is not finite
        if self.best_epoch == 0 or watched < self.best_loss:
            self.best_epoch, self.best_loss = epoch, watched
            if self.restore_best:
                self.best = trainer.snapshot()
        if self.plateau is not None and math.isfinite(watched):
            self.plateau.observe(watched, self.base)
        if self.callback is not None and _stops(self.callback(epoch, loss)):
            history.stop_reason = "callback"
        elif self.tol is not None and watched <= self.tol:
            history.stop_reason = "tol"
        elif self.patience is not None and epoch - self.best_epoch >= self.patience:
            history.stop_reason = "patience"
        else:
            return False
        return True

    def finish(self) -> None:
        """Put back the best state, when asked to and it is not the last."""
        history = self.history
        if self.restore_best and self.best is not None:
            if self.best_epoch != history.epochs:
                self.trainer.restore(self.best)
            history.best_epoch, history.best_loss = self.best_epoch, self.best_loss


def rate_advice(rate: float, momentum: float = 0.0, weight_decay: float = 0.0) -> str:
    """What a divergence advises: a learning rate smaller than `rate`, less momentum where
    the optimizer has some, and a smaller weight decay where rate * weight_decay passes 1
    (fit's epochs here, and Network's one-call steps).

    Parameters
    ----------
    rate : float
        The learning rate the diverged epoch or step ran with.
    momentum : float, default 0.0
        The optimizer's momentum; 0 for none (and for optimizers without one).
    weight_decay : float, default 0.0
        The optimizer's weight decay, where it shrinks the weights in proportion to the rate
        (SGD's; AdamW's, given with momentum 0).

    Returns
    -------
    str
        The advice, to follow "try ".

    Examples
    --------
    >>> from bpcore.training import rate_advice
    >>> rate_advice(0.5)
    'a learning rate smaller than lr=0.5'
    >>> rate_advice(0.01, momentum=0.9)
    'a learning rate smaller than lr=0.01, or less momentum than momentum=0.9'
    >>> rate_advice(0.1, weight_decay=30.0)
    'a weight_decay smaller than 30 (lr * weight_decay is 3: past 2 the decay alone makes \
the weights grow), or a learning rate smaller than lr=0.1'
    """
    less = f", or less momentum than momentum={momentum:g}" if momentum else ""
    advice = f"a learning rate smaller than lr={rate:g}{less}"
    # the decay alone: W *= 1 - lr * weight_decay a step, or with momentum m (the decay in
    # the velocity) a recurrence whose weights grow once lr * weight_decay passes 2 (1 + m)
    bound = 2 * (1 + momentum)
    if rate * weight_decay > bound / 2:
        advice = (f"a weight_decay smaller than {weight_decay:g} (lr * weight_decay is "
                  f"{rate * weight_decay:g}: past {bound:g} the decay alone makes the weights "
                  f"grow), or {advice}")
    return advice


def _stops(answer: object) -> bool:
    """Whether a callback's return value asks training to stop: its truth (None goes on),
    or a TypeError naming the callback for a value that has none, such as an array."""
    try:
        return bool(answer)
    except (TypeError, ValueError):
        raise TypeError(f"callback must return True to stop training, or None or False to go "
                        f"on, got {type(answer).__name__} {answer!r:.60}") from None


def _shuffled(rng: np.random.Generator, n: int) -> Indices:
    """0 .. n-1 in a random order, for an epoch: the kernels' permutation (a quarter of
    NumPy's time) seeded by one raw draw of rng's bit generator (its top 63 bits with NumPy's
    default PCG64), so that rng's seed makes it repeatable. One draw, always: _rewind counts
    on it."""
    order: Indices = _backend.kernels.permutation(n, rng.bit_generator.random_raw() >> 1)
    return order


def _rewind(rng: np.random.Generator, start: Mapping[str, Any] | None, epochs: int) -> None:
    """Put rng back where it stood after `epochs` shuffled epochs from the state `start`
    (None: fit does not shuffle, and rng was not drawn from)."""
    if start is not None:
        rng.bit_generator.state = start
        rng.bit_generator.random_raw(epochs)


def _epochs(trainer: _Trainer, X: Floats, epochs: int, lr: float | Callable[[int], float],
            shuffle: bool, rng: np.random.Generator, rules: _Rules,
            advice: str | None, momentum: float, weight_decay: float) -> None:
    """The epochs of `train`, recorded through `rules` once each is whole and finite."""
    n = X.shape[0]
    history = rules.history
    # an undone epoch gives its draw back too (training on is then as if it never ran): rng
    # is rewound from its state here, kept once rather than before every epoch's draw
    start = rng.bit_generator.state if shuffle else None
    for epoch in range(1, epochs + 1):
        rate = rules.rate(rate_at(lr, epoch))
        trainer.set_rate(rate)
        saved = None
        try:
            order = _shuffled(rng, n) if shuffle else np.arange(n, dtype=np.intp)
            saved = trainer.snapshot()
            total, finite = trainer.train_rows(order)
            loss = total / n
            if not (math.isfinite(loss) and finite):
                trainer.restore(saved)
                _rewind(rng, start, epoch - 1)
                raise DivergenceError(
                    f"training diverged in epoch {epoch} (loss {loss}); {KEPT}; try "
                    f"{advice or rate_advice(rate, momentum, weight_decay)}")
            history.lrs.append(rate)
            stop = rules.end_epoch(epoch, loss)
        except KeyboardInterrupt:
            if history.epochs == epoch:  # the epoch was already whole and recorded
                raise
            if saved is not None:  # back to the last whole epoch
                trainer.restore(saved)
            _rewind(rng, start, epoch - 1)
            raise KeyboardInterrupt(f"training interrupted in epoch {epoch}; the network "
                                    f"keeps the parameters {_kept(epoch - 1)}") from None
        if stop:
            break


class _FullBatch(_Measures, Protocol):
    """What `minimize` drives: a trainer that also evaluates the full-batch objective."""

    def parameters(self) -> npt.NDArray[np.float64]: ...

    def set_parameters(self, theta: npt.NDArray[np.float64]) -> None: ...

    def objective(self, theta: npt.NDArray[np.float64]
                  ) -> tuple[float, float, npt.NDArray[np.float64]]: ...


def minimize(trainer: _FullBatch, X: Floats, Y: Floats, *, max_iter: int, tol: float,
             history_size: int, callback: Callable[[int, float], bool | None] | None = None,
             patience: int | None = None, stop_tol: float | None = None,
             reporter: _Reporter | None = None, validation: Validation | None = None,
             watch: Watch = "epoch", restore_best: bool = False,
             weights: Floats | None = None) -> History:
    """Full-batch L-BFGS through ``scipy.optimize.minimize(method="L-BFGS-B")``, with the
    rules of `train` after every iteration (each counts as an epoch): the loop behind
    ``Network.fit(optimizer="lbfgs")``.

    The model's parameters change only at the end of each iteration, to that iterate; a
    non-finite objective at the start, or a gradient too large to step along, raises
    DivergenceError, and later SciPy's line search backs off from either.

    Parameters
    ----------
    trainer : object
        A `train` trainer (its ``snapshot``, ``restore``, ``loss`` and ``accuracy``; not
        ``train_rows`` or ``set_rate``) with three more methods: ``parameters()`` and
        ``set_parameters(theta)`` read and write the model's parameters as one float64
        vector; ``objective(theta)`` returns the objective (the mean loss plus any
        penalty), the mean loss, and the objective's gradient at theta.
    X, Y : ndarray
        The training samples and targets.
    max_iter : int
        The most iterations.
    tol : float
        SciPy's ``gtol``: stop when every component of the projected gradient is at most tol.
    history_size : int
        SciPy's ``maxcor``: how many past steps approximate the curvature.
    callback, patience, reporter, validation, watch, restore_best, weights
        As for `train`.
    stop_tol : float or None, default None
        `train`'s `tol`: stop once the watched loss is <= stop_tol.

    Returns
    -------
    History
        As `train`'s, without learning rates; ``stop_reason`` is "converged" or "stalled"
        when SciPy's own tests stopped it.

    Raises
    ------
    DivergenceError
        If the objective is not finite at the start, or its gradient too large to step along.
    KeyboardInterrupt
        On Ctrl-C, with the last whole iteration kept.

    Examples
    --------
    >>> import numpy as np
    >>> import bpcore
    >>> X = np.linspace(-1, 1, 20).reshape(-1, 1)
    >>> net = bpcore.Network([1, 6, 1], activation="tanh", output="identity", seed=0)
    >>> history = net.fit(X, np.sin(3 * X).ravel(), optimizer="lbfgs", epochs=300)
    >>> history.stop_reason in ("converged", "epochs"), history.losses[-1] < 1e-3
    (True, True)
    """
    from scipy.optimize import minimize as scipy_minimize

    history = History()
    rules = _Rules(trainer, stop_tol, patience, callback, reporter, validation, watch,
                   restore_best, None, history)
    theta = trainer.parameters()
    try:
        first, _, gradient = trainer.objective(theta)  # evaluating leaves the model as it is
    except KeyboardInterrupt:  # a pass over all of X: long enough to be interrupted in
        interrupt = KeyboardInterrupt("training interrupted before iteration 1; the network "
                                      "keeps the parameters it had before fit")
        interrupt.epochs = 0  # type: ignore[attr-defined]
        raise interrupt from None
    if not math.isfinite(first):
        raise DivergenceError(f"the loss is not finite ({first}) at the starting parameters")
    if not _usable(gradient):
        raise DivergenceError(f"the gradient at the starting parameters is too large for "
                              f"L-BFGS (the loss there is {first:.3g}): {_SCALE}")
    losses: dict[bytes, float] = {}  # the data loss at the points evaluated, by theta

    def objective(point: npt.NDArray[np.float64]) -> tuple[float, npt.NDArray[np.float64]]:
        value, loss, gradient = trainer.objective(point)
        losses.clear()  # the iterate SciPy reports is the last point it evaluated
        losses[point.tobytes()] = loss
        if not (math.isfinite(value) and _usable(gradient)):
            return math.inf, np.zeros_like(point)  # SciPy's line search backs off from it
        return value, gradient

    def each(intermediate_result: Any) -> None:
        point = intermediate_result.x
        if not np.isfinite(point).all():  # not expected: the objective refuses such points
            done = history.epochs
            raise DivergenceError(f"L-BFGS reached non-finite parameters in iteration "
                                  f"{done + 1}; the network keeps the parameters "
                                  f"{_kept(done)}: {_SCALE}")
        kept = trainer.parameters()  # one copy an iteration, beside a pass over all of X
        trainer.set_parameters(point)
        loss = losses.get(point.tobytes())
        if loss is None:
            loss = trainer.loss(X, Y, weights)
        if not math.isfinite(loss):  # SciPy reported a point whose loss it had refused
            trainer.set_parameters(kept)
            cause = CHANGED if data_changed(X, Y, weights) else _SCALE
            raise DivergenceError(f"the loss became {loss} in iteration {history.epochs + 1}: "
                                  f"{cause}; the network keeps the parameters "
                                  f"{_kept(history.epochs)}")
        # as the model holds the iterate (in float32, rounded), for the callback's changes
        held = trainer.parameters() if callback is not None else None
        if rules.end_epoch(history.epochs + 1, loss):
            raise StopIteration
        if held is not None and not np.array_equal(trainer.parameters(), held):
            # SciPy goes on from its own iterate, which would drop the callback's change
            history.stop_reason = "callback"
            warnings.warn(f"the callback changed the network's parameters in iteration "
                          f"{history.epochs}; L-BFGS goes on only from its own iterate, so "
                          f"training stopped there, with the callback's parameters (fit again "
                          f"to go on from them)", RuntimeWarning, stacklevel=2)
            raise StopIteration

    try:
        result = scipy_minimize(objective, theta, jac=True, method="L-BFGS-B", callback=each,
                                options={"maxiter": max_iter, "gtol": tol,
                                         "maxcor": history_size, "maxfun": 20 * max_iter})
    except KeyboardInterrupt:
        # the model's parameters change only at the end of an iteration (`each`)
        done = history.epochs
        interrupt = KeyboardInterrupt(f"training interrupted in iteration {done + 1}; the "
                                      f"network keeps the parameters {_kept(done)}")
        interrupt.epochs = done  # type: ignore[attr-defined]  # for fit: whether any ran
        raise interrupt from None
    if history.stop_reason == "epochs" and history.epochs < max_iter:
        # SciPy's own tests stopped it: status 0 when they say it converged; otherwise its
        # line search found no lower point (or it ran out of evaluations)
        history.stop_reason = "converged" if result.status == 0 else "stalled"
    # the model holds the last iterate reported (and recorded), or its start if none was
    rules.finish()
    return history


_SCALE = "scale X and Y, for example to unit variance, or start from smaller parameters"
# why training data that fit checked can hold NaN or infinity later
CHANGED = ("X, Y or sample_weight hold NaN or infinity now, though fit checked them at its "
           "start: they changed during fit (it reads the arrays given, without copying them)")


def data_changed(X: Floats, Y: Floats, weights: Floats | None) -> bool:
    """Whether training data that were checked finite at fit's start no longer are (an array
    changed by a callback or another thread): on the way out of a divergence only.

    Parameters
    ----------
    X, Y : ndarray
        The samples and targets being trained on.
    weights : ndarray or None
        Their sample weights, if any.

    Returns
    -------
    bool
        True when any of them holds NaN or infinity.

    Examples
    --------
    >>> import numpy as np
    >>> from bpcore.training import data_changed
    >>> X, Y = np.zeros((2, 3)), np.zeros((2, 1))
    >>> data_changed(X, Y, None)
    False
    >>> X[0, 0] = np.nan
    >>> data_changed(X, Y, None)
    True
    """
    return not (np.isfinite(X).all() and np.isfinite(Y).all()
                and (weights is None or np.isfinite(weights).all()))


def _usable(gradient: npt.NDArray[np.float64]) -> bool:
    """Whether L-BFGS can step along `gradient`: finite, and so is the sum of its squares
    (SciPy scales its first step by the norm, which overflows from about 1e154 on)."""
    with np.errstate(over="ignore", invalid="ignore"):
        return math.isfinite(float(np.dot(gradient, gradient)))


def _kept(epoch: int) -> str:
    """Which parameters an interrupted training leaves, for its KeyboardInterrupt."""
    return f"from the end of epoch {epoch}" if epoch else "it had before fit"


def split_rows(n: int, labels: npt.NDArray[Any] | None, fraction: float,
               rng: np.random.Generator) -> tuple[Indices, Indices]:
    """Split n rows into training and held-out rows: a share `fraction` of every class held
    out (at least one row in all when fraction > 0), or of all rows when labels is None.

    Parameters
    ----------
    n : int
        The number of rows.
    labels : ndarray of shape (n,) or None
        Each row's class, to hold out the same share of every class (stratified); None
        holds out rows at random.
    fraction : float in [0, 1)
        The share to hold out; 0 holds out nothing.
    rng : numpy.random.Generator
        What draws the rows.

    Returns
    -------
    tuple of ndarray
        The sorted row numbers (train, held_out). The caller checks that enough rows are
        left on either side.

    Examples
    --------
    >>> import numpy as np
    >>> from bpcore.training import split_rows
    >>> labels = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    >>> train, held = split_rows(8, labels, 0.25, np.random.default_rng(0))
    >>> len(train), len(held), labels[held].tolist()
    (6, 2, [0, 1])
    """
    if fraction == 0:
        return np.arange(n), np.arange(0)
    held: list[Any] | npt.NDArray[np.intp]
    held = []
    if labels is not None:
        for label in np.unique(labels):
            members = rng.permutation(np.flatnonzero(labels == label))
            held.extend(members[:int(round(len(members) * fraction))])
    if not held:  # no labels, or every class too small to give a row
        held = list(rng.permutation(n)[:max(1, int(round(n * fraction)))])
    held = np.sort(np.array(held, dtype=np.intp))
    train = np.setdiff1d(np.arange(n), held).astype(np.intp)
    return train, held
