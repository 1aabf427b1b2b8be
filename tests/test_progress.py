"""Progress on a stream that is not a terminal: the first epoch, then at most about one line a
second, and always the last epoch, also when training stops early. A fake clock makes the
counts exact; nothing here measures real time."""
import io
import re

import numpy as np

import bpcore
from bpcore.progress import make_progress


class FakeClock:
    """Reads `now`, which the test sets: the epochs' times, in binary fractions of a second so
    that sums are exact."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def run(progress, clock, epochs, seconds_per_epoch, loss=lambda epoch: 1.0 / epoch):
    for epoch in range(1, epochs + 1):
        clock.now = epoch * seconds_per_epoch
        progress(epoch, loss(epoch))


def printed_epochs(stream):
    return [int(re.match(r"epoch +(\d+)/", line).group(1))
            for line in stream.getvalue().splitlines()]


def test_lines_at_most_one_a_second_plus_the_first_and_the_last():
    stream, clock = io.StringIO(), FakeClock()
    progress = make_progress(40, stream=stream, clock=clock)
    run(progress, clock, 40, 0.25)  # 4 epochs a second
    progress.close()
    assert printed_epochs(stream) == [1, 5, 9, 13, 17, 21, 25, 29, 33, 37, 40]


def test_every_epoch_when_epochs_are_slower_than_a_second():
    stream, clock = io.StringIO(), FakeClock()
    progress = make_progress(5, stream=stream, clock=clock)
    for epoch in range(1, 6):
        clock.now = 1.5 * epoch
        progress(epoch, 0.5, val_loss=0.25)
    progress.close()
    assert printed_epochs(stream) == [1, 2, 3, 4, 5]
    assert stream.getvalue().splitlines()[-1] == "epoch 5/5  loss 0.5  val_loss 0.25"


def test_close_prints_the_last_epoch_of_a_run_stopped_early_once():
    stream, clock = io.StringIO(), FakeClock()
    progress = make_progress(1000, stream=stream, clock=clock)
    run(progress, clock, 7, 0.0078125)
    assert printed_epochs(stream) == [1]
    progress.close()
    progress.close()
    assert printed_epochs(stream) == [1, 7]
    assert stream.getvalue().splitlines()[-1] == "epoch    7/1000  loss 0.1429"


def test_close_after_the_last_line_prints_nothing_more():
    stream, clock = io.StringIO(), FakeClock()
    progress = make_progress(3, stream=stream, clock=clock)
    run(progress, clock, 3, 0.0078125)
    progress.close()
    assert printed_epochs(stream) == [1, 3]


def test_as_a_callback_of_a_fit_that_stops_early():
    stream = io.StringIO()
    progress = make_progress(500, stream=stream, clock=FakeClock())  # the time stands still

    def after_epoch(epoch, loss):
        progress(epoch, loss)
        return epoch == 6  # stop early, as patience or a validation split would
    network = bpcore.Network([2, 3, 1], seed=0)
    try:
        history = network.fit([[0, 0], [1, 1]], [0, 1], epochs=500, callback=after_epoch)
    finally:
        progress.close()
    assert history.epochs == 6 and printed_epochs(stream) == [1, 6]


def test_fit_progress_ends_with_the_last_epoch_when_stopped_early(capsys):
    X = np.random.default_rng(0).normal(size=(8, 2))
    history = bpcore.Network([2, 3, 1], seed=0).fit(
        X, (X[:, 0] > 0).astype(float), epochs=1000, progress=True,
        callback=lambda epoch, loss: epoch == 4)
    epochs = [int(epoch) for epoch in re.findall(r"^epoch +(\d+)/1000",
                                                  capsys.readouterr().err, re.MULTILINE)]
    # the middle epochs appear only on a machine slow enough to spend a second on them
    assert history.epochs == 4 and epochs[0] == 1 and epochs[-1] == 4
    assert epochs == sorted(set(epochs))


class _Broken(io.StringIO):
    """A stream whose reader has gone, or that was closed."""

    def __init__(self, error):
        super().__init__()
        self.error = error

    def write(self, text):
        raise self.error


def test_a_stream_that_fails_ends_the_reporting_not_the_training(monkeypatch, capsys):
    # a closed pipe on stderr stopped fit with BrokenPipeError (the epoch trained was kept,
    # its History lost), and with sys.stderr None the lines went to stdout
    X, Y = np.linspace(-1, 1, 20)[:, None], np.linspace(0, 1, 20)[:, None]
    for stream in (_Broken(BrokenPipeError(32, "Broken pipe")),
                   _Broken(ValueError("I/O operation on closed file")), None):
        monkeypatch.setattr("sys.stderr", stream)
        history = bpcore.Network([1, 2, 1], seed=0).fit(X, Y, epochs=3, progress=True)
        assert history.epochs == 3
    assert capsys.readouterr().out == ""
    for error in (BrokenPipeError(32, "Broken pipe"), ValueError("closed")):
        progress = make_progress(3, stream=_Broken(error))
        progress(1, 0.5)
        progress(2, 0.4)
        progress.close()
