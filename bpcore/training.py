"""The training loop behind `Network.fit` and `bpcore train`: epochs, shuffling, stopping
rules, validation, rollback.

`train` drives a trainer: something that trains a model on given rows (for the Network,
compiled calls of whole batches, between which Python acts on Ctrl-C), takes and restores
snapshots of the model, and measures its loss. It knows nothing of kernels or layers: it
decides what runs, when to stop, and what to keep.
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np
import numpy.typing as npt

from ._layout import Floats, Indices
from ._validation import DivergenceError


@dataclass
class History:
    """What `Network.fit` returns: what the training did.

    Attributes
    ----------
    losses : list of float
        The loss of every epoch run, in order: the mean over the samples of each sample's loss,
        measured just before the step that used it.
    epochs : int
        How many epochs ran (``len(losses)``).
    stop_reason : {"epochs", "tol", "patience", "callback"}
        Why training stopped: all `epochs` ran, the watched loss reached `tol`, `patience`
        epochs passed without a lower watched loss, or the callback returned True.
    val_losses : list of float
        The loss on the validation data at the end of every epoch, when there are such data;
        otherwise empty.
    best_epoch : int or None
        When the best parameters are restored at the end: the epoch whose parameters the
        model keeps (the lowest watched loss); otherwise None.
    best_loss : float or None
        That epoch's watched loss, or None.

    Examples
    --------
    >>> import numpy as np
    >>> import bpcore
    >>> X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    >>> net = bpcore.Network([2, 1], seed=0)
    >>> history = net.fit(X, [0.0, 1.0, 1.0, 1.0], epochs=3)
    >>> history.epochs, len(history.losses), history.stop_reason
    (3, 3, 'epochs')
    """
    losses: list[float] = field(default_factory=list)
    epochs: int = 0
    stop_reason: str = "epochs"
    val_losses: list[float] = field(default_factory=list)
    best_epoch: int | None = None
    best_loss: float | None = None


class _Trainer(Protocol):
    """What `train` drives (for a Network, what `Network.fit` makes of it)."""

    def train_rows(self, order: Indices) -> tuple[float, bool]: ...

    def snapshot(self) -> Any: ...

    def restore(self, saved: Any) -> None: ...

    def loss(self, X: Floats, Y: Floats) -> float: ...


class _Reporter(Protocol):
    def __call__(self, epoch: int, loss: float, **metrics: float) -> None: ...


# What the loop watches for tol, patience and the best parameters: the epoch's mean loss,
# or the loss at the end of the epoch on the validation data or on all training data.
Watch = Literal["epoch", "validation", "training"]


def train(trainer: _Trainer, X: Floats, Y: Floats, *,
          epochs: int, lr: float, shuffle: bool, rng: np.random.Generator,
          tol: float | None = None, patience: int | None = None,
          callback: Callable[[int, float], bool | None] | None = None,
          reporter: _Reporter | None = None,
          validation: tuple[Floats, Floats] | None = None, watch: Watch = "epoch",
          restore_best: bool = False) -> History:
    """Train on X, Y for up to `epochs` epochs through `trainer`: the loop behind
    `Network.fit`.

    Each epoch visits the rows in an order drawn from `rng` (unless shuffle is False) and
    hands it to ``trainer.train_rows``. An epoch that makes the loss or a parameter
    non-finite is undone (the snapshot from before it is restored) and raises
    DivergenceError; Ctrl-C undoes the interrupted epoch and raises KeyboardInterrupt saying
    which parameters the model keeps. After each whole epoch come `reporter`, the best-so-far
    bookkeeping, then `callback`, then the `tol` and `patience` rules on the watched loss.

    Parameters
    ----------
    trainer : object
        With four methods: ``train_rows(order)`` trains the model on the rows X[order] (in
        whatever batches it likes) and returns their summed loss and whether every parameter
        is still finite; ``snapshot()`` returns what ``restore(saved)`` takes to put the
        model back as it was; ``loss(X, Y)`` is the model's mean loss on some data.
    X, Y : ndarray
        The training samples and targets, one row per sample, as the model takes them.
    epochs : int
        The most epochs to run.
    lr : float
        The learning rate, only to suggest a smaller one when training diverges.
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
    validation : tuple (X_val, Y_val) or None, default None
        Data whose loss is measured after every epoch (``History.val_losses``).
    watch : {"epoch", "validation", "training"}, default "epoch"
        The loss `tol`, `patience` and `restore_best` watch: the epoch's mean loss, the
        validation loss, or the loss on all of X, Y at the end of the epoch.
    restore_best : bool, default False
        End with the state of the epoch with the lowest watched loss.

    Returns
    -------
    History
        The losses, the number of epochs, why training stopped and, with `restore_best`,
        the epoch kept.

    Raises
    ------
    DivergenceError
        If an epoch makes the loss or a parameter non-finite (that epoch is undone).
    KeyboardInterrupt
        On Ctrl-C, with the last whole epoch kept.

    Warns
    -----
    RuntimeWarning
        If the last epoch's loss is above the first's.

    Examples
    --------
    The training loop around the public `Network.step`, one sample at a time:

    >>> import numpy as np
    >>> import bpcore
    >>> from bpcore.training import train
    >>> net = bpcore.Network([1, 1], output="identity", seed=0)
    >>> class Online:
    ...     def train_rows(self, order):
    ...         total = sum(net.step(X[i], Y[i], lr=0.1) for i in order)
    ...         return total, bool(np.isfinite(net.weights[0]).all())
    ...     def snapshot(self):
    ...         return net.get_state()
    ...     def restore(self, saved):
    ...         net.set_state(saved)
    ...     def loss(self, X, Y):
    ...         return net.loss(X, Y)
    >>> X, Y = np.array([[0.0], [1.0]]), np.array([[1.0], [3.0]])
    >>> history = train(Online(), X, Y, epochs=50, lr=0.1, shuffle=False,
    ...                 rng=np.random.default_rng(0))
    >>> history.epochs, history.losses[-1] < history.losses[0]
    (50, True)
    """
    if watch == "validation" and validation is None:
        raise ValueError("watching the validation loss needs validation data")
    history = History()
    try:
        _epochs(trainer, X, Y, epochs, lr, shuffle, rng, tol, patience, callback,
                reporter, validation, watch, restore_best, history)
    except KeyboardInterrupt as interrupt:
        if interrupt.args:  # raised inside an epoch, which was undone: it says so
            raise
        # between epochs (shuffling, progress, the callback): the last epoch is whole
        when = f"after epoch {history.epochs}" if history.epochs else "before epoch 1"
        raise KeyboardInterrupt(f"training interrupted {when}; the network keeps the "
                                f"parameters {_kept(history.epochs)}") from None
    if history.epochs > 1 and history.losses[-1] > history.losses[0]:
        warnings.warn(f"training ended with a loss ({history.losses[-1]:.4g}) above the "
                      f"first epoch's ({history.losses[0]:.4g}); try a learning rate "
                      f"smaller than lr={lr:g}", RuntimeWarning, stacklevel=3)
    return history


def _epochs(trainer: _Trainer, X: Floats, Y: Floats,
            epochs: int, lr: float, shuffle: bool, rng: np.random.Generator,
            tol: float | None, patience: int | None,
            callback: Callable[[int, float], bool | None] | None, reporter: _Reporter | None,
            validation: tuple[Floats, Floats] | None, watch: Watch, restore_best: bool,
            history: History) -> None:
    """The epochs of `train`, recorded in `history` once each is whole and finite."""
    n = X.shape[0]
    best_epoch, best_loss = 0, math.inf  # the epoch of the lowest watched loss so far
    best = None  # its snapshot, when it is to be restored
    for epoch in range(1, epochs + 1):
        order = (rng.permutation(n) if shuffle else np.arange(n)).astype(np.intp, copy=False)
        saved = None
        try:
            saved = trainer.snapshot()
            total, finite = trainer.train_rows(order)
            loss = total / n
            if not (np.isfinite(loss) and finite):
                trainer.restore(saved)
                raise DivergenceError(
                    f"training diverged in epoch {epoch} (loss {loss}); the network keeps "
                    f"the parameters from before that epoch; try a learning rate smaller "
                    f"than lr={lr:g}")
            history.losses.append(loss)
            history.epochs = epoch
        except KeyboardInterrupt:
            if history.epochs == epoch:  # the epoch was already whole and recorded
                raise
            if saved is not None:  # back to the last whole epoch
                trainer.restore(saved)
            raise KeyboardInterrupt(f"training interrupted in epoch {epoch}; the network "
                                    f"keeps the parameters {_kept(epoch - 1)}") from None
        metrics = {}
        if validation is not None:
            history.val_losses.append(trainer.loss(*validation))
            metrics["val_loss"] = history.val_losses[-1]
        if reporter is not None:
            reporter(epoch, loss, **metrics)
        if watch == "validation":
            watched = history.val_losses[-1]
        elif watch == "training":
            watched = trainer.loss(X, Y)
        else:
            watched = loss
        # the first epoch is the best so far even if its watched loss is not finite
        if best_epoch == 0 or watched < best_loss:
            best_epoch, best_loss = epoch, watched
            if restore_best:
                best = trainer.snapshot()
        if callback is not None and callback(epoch, loss):
            history.stop_reason = "callback"
            break
        if tol is not None and watched <= tol:
            history.stop_reason = "tol"
            break
        if patience is not None and epoch - best_epoch >= patience:
            history.stop_reason = "patience"
            break
    if restore_best and best is not None:
        if best_epoch != history.epochs:
            trainer.restore(best)
        history.best_epoch, history.best_loss = best_epoch, best_loss


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
