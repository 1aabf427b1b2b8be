"""Per-epoch progress for training: a reporter of the running loss.

Internal: what ``Network.fit(progress=True)`` and the command line show; users ask for it
with that flag, not by calling this module (it is not in the API reference).

`make_progress(total_epochs)` returns a callable `progress(epoch, loss, **metrics)` that the
training loop calls after every epoch (it returns None, so it never stops training), with a
`close()`:
  - a tqdm bar with the loss as its postfix when the stream is a terminal,
  - plain lines otherwise (`epoch 3/50  loss 0.1234`), which logs and pipes keep: the first
    epoch, then at most one a second (LINE_INTERVAL), and the last epoch reported, printed by
    `close()` if training stopped before `total_epochs`,
  - nothing at all with quiet=True, or without a stream (sys.stderr None).
A stream that fails to take a line (a closed pipe) ends the reporting, not the training.
Extra keyword metrics (e.g. `val_loss=0.2`) are shown next to the loss.
"""
from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable
from typing import Any, Protocol, TextIO

__all__: list[str] = []  # internal (see above): bpcore.network and bpcore.cli import it

LINE_INTERVAL = 1.0  # seconds between two plain lines, at least (a log, not a flood)


class Progress(Protocol):
    """What `make_progress` returns: a fit callback that reports, and `close()`."""

    def __call__(self, epoch: int, loss: float, **metrics: float) -> None: ...

    def close(self) -> None: ...


def _format(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


class _Silent:
    def __call__(self, epoch: int, loss: float, **metrics: float) -> None:
        return None

    def close(self) -> None:
        return None


class _Lines:
    """Plain lines on a stream that is not a terminal: the first epoch (training has started),
    then an epoch only once LINE_INTERVAL seconds of `clock` have passed since the last line,
    and the last epoch, so a fast run of a thousand epochs is a few lines, not a thousand."""

    def __init__(self, total_epochs: int, stream: TextIO,
                 clock: Callable[[], float]) -> None:
        self.total_epochs = total_epochs
        self.stream: TextIO | None = stream  # None once writing to it failed
        self.clock = clock
        self._width = len(str(total_epochs))
        self._printed_at: float | None = None  # clock() at the last line printed
        self._pending: str | None = None  # the latest epoch's line, when it was held back

    def __call__(self, epoch: int, loss: float, **metrics: float) -> None:
        parts = [f"epoch {epoch:>{self._width}}/{self.total_epochs}", f"loss {_format(loss)}"]
        parts += [f"{name} {_format(value)}" for name, value in metrics.items()]
        now = self.clock()
        if (self._printed_at is None or epoch >= self.total_epochs
                or now - self._printed_at >= LINE_INTERVAL):
            self._print("  ".join(parts))
            self._printed_at = now
        else:
            self._pending = "  ".join(parts)
        return None

    def _print(self, line: str) -> None:
        self._pending = None
        if self.stream is None:
            return
        try:
            print(line, file=self.stream, flush=True)
        except (OSError, ValueError):  # a closed pipe or stream: report no more, train on
            self.stream = None

    def close(self) -> None:
        # training stopped early (patience, tol, a callback, an error): show its last epoch
        if self._pending is not None:
            self._print(self._pending)


class _Bar:
    """A tqdm bar counting epochs, the latest loss as its postfix."""

    def __init__(self, total_epochs: int, stream: TextIO, tqdm: Any) -> None:
        self._bar: Any = tqdm(total=total_epochs, file=stream, unit="epoch", desc="training",
                              dynamic_ncols=True, leave=True)

    def __call__(self, epoch: int, loss: float, **metrics: float) -> None:
        if self._bar is None:
            return None
        try:
            self._bar.set_postfix({"loss": _format(loss),
                                   **{name: _format(value) for name, value in metrics.items()}},
                                  refresh=False)
            self._bar.update(max(epoch - self._bar.n, 0))
        except (OSError, ValueError):  # the terminal went away: report no more, train on
            self._bar = None
        return None

    def close(self) -> None:
        if self._bar is not None:
            with contextlib.suppress(OSError, ValueError):
                self._bar.close()


def _is_terminal(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):  # no isatty, or a closed stream
        return False


def make_progress(total_epochs: int, quiet: bool = False, stream: TextIO | None = None,
                  clock: Callable[[], float] = time.monotonic) -> Progress:
    """A fit callback reporting each epoch's loss on `stream` (default: sys.stderr at call time).

    `clock` (seconds) spaces the plain lines written when `stream` is not a terminal; a test
    passes a fake one. Call `close()` when training ends, also when it stops early or fails."""
    stream = sys.stderr if stream is None else stream
    if quiet or stream is None:  # sys.stderr is None in a process started without one
        return _Silent()
    if _is_terminal(stream):
        try:
            from tqdm import tqdm
        except ImportError:  # a declared dependency, but fall back to lines rather than fail
            pass
        else:
            return _Bar(total_epochs, stream, tqdm)
    return _Lines(total_epochs, stream, clock)
