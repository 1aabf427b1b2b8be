"""The command line end to end: `python -m bpcore ...` in a subprocess, on each backend.

The conftest's autouse fixture swaps backends inside this process only; a subprocess picks its
backend from BPCORE_BACKEND, so every test here takes the `backend` fixture and passes it on.
Subprocesses run in tmp_path so the source tree next to the tests is never imported by accident.
"""
import csv
import gzip
import io
import os
import signal
import re
import subprocess
import sys

import numpy as np
import pytest

import bpcore
from bpcore import _backend, cli
from bpcore.progress import make_progress
from bpcore.schedules import Cosine, InverseScaling, StepDecay
from bpcore.training import split_rows


def run(backend, cwd, *args, pythonpath=None):
    env = dict(os.environ, BPCORE_BACKEND=backend)
    if pythonpath is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(pythonpath),
                                                          env.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, "-m", "bpcore", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def accuracy(stdout):
    match = re.search(r"test accuracy: ([\d.]+)%", stdout)
    assert match, stdout
    return float(match.group(1))


def write_csv(path, header, rows):
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def read_csv(text):
    rows = list(csv.reader(io.StringIO(text)))
    return rows[0], rows[1:]


def blobs(n=90, seed=0):
    """Three well-separated clusters with string labels, in 2 features."""
    rng = np.random.default_rng(seed)
    centres = {"red": (0.0, 0.0), "green": (5.0, 5.0), "blue": (0.0, 8.0)}
    rows = []
    for i in range(n):
        name = list(centres)[i % 3]
        x, y = np.array(centres[name]) + rng.normal(scale=0.5, size=2)
        rows.append([f"{x:.5f}", name, f"{y:.5f}"])  # the target sits between the features
    return rows


def linear(n=120, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    y = 3.0 * X[:, 0] - 2.0 * X[:, 1] + 50.0
    return [[f"{a:.6f}", f"{b:.6f}", f"{t:.6f}"] for (a, b), t in zip(X, y)]


def main_in_process(capsys, *args):
    """cli.main in this process, as a CompletedProcess (a usage error's SystemExit gives the
    status); quicker than a subprocess where nothing read at import matters."""
    try:
        status = cli.main([str(arg) for arg in args])
    except SystemExit as exit:
        status = exit.code
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(args, status, out, err)


def noise(n=80, seed=0):
    """Two random features and labels that are pure noise: the network can only memorise."""
    rng = np.random.default_rng(seed)
    return [[f"{a:.4f}", f"{b:.4f}", rng.choice(["yes", "no"])]
            for a, b in rng.normal(size=(n, 2))]


def assert_bad_input(result, fragment):
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bpcore: error: "), result.stderr
    assert fragment in lines[0], lines[0]


# ---- demo ----

def test_demo_iris(backend, tmp_path):
    result = run(backend, tmp_path, "demo", "--dataset", "iris", "--quiet")
    assert result.returncode == 0, result.stderr
    assert "4-4-4-3" in result.stdout
    assert "100 epochs of sgd (lr 0.01, one sample per step)" in result.stdout
    assert accuracy(result.stdout) >= 90.0
    assert f"backend: {backend}" in result.stdout
    assert "training time:" in result.stdout
    assert result.stderr == ""  # quiet: no progress


def test_demo_digits_reaches_95_percent(backend, tmp_path):
    result = run(backend, tmp_path, "demo")
    assert result.returncode == 0, result.stderr
    assert "64-32-10" in result.stdout and "450 test samples" in result.stdout
    # the first line says which recipe trains: the one cli.DEMOS holds
    recipe = cli.DEMOS["digits"]
    words = cli._recipe(recipe["optimizer"], recipe["batch_size"])
    assert f"{recipe['epochs']} epochs of {words}" in result.stdout
    assert ("40 epochs of sgd (lr 0.1, momentum 0.9, nesterov, weight decay 0.001, batch size "
            "32)") in result.stdout
    assert accuracy(result.stdout) >= 95.0
    assert f"backend: {backend}" in result.stdout
    # stderr is a pipe, not a terminal: plain lines with the running loss, the first epoch's
    # and the last one's among them
    epochs = re.findall(r"^epoch +(\d+)/40  loss ([\d.e-]+)$", result.stderr, re.MULTILINE)
    assert epochs[0][0] == "1" and epochs[-1][0] == "40", result.stderr
    assert float(epochs[-1][1]) < float(epochs[0][1])


def test_demo_recipe_words_name_the_settings_that_are_not_defaults(backend):
    assert cli._recipe(bpcore.SGD(lr=0.01), 1) == "sgd (lr 0.01, one sample per step)"
    assert (cli._recipe(bpcore.SGD(lr=0.05, momentum=0.9, nesterov=True), 8)
            == "sgd (lr 0.05, momentum 0.9, nesterov, batch size 8)")
    assert (cli._recipe(bpcore.Rprop(weight_decay=0.01), 100)
            == "rprop (lr 0.1, weight decay 0.01, batch size 100)")


def test_demo_seed_changes_the_split(backend, tmp_path):
    first = run(backend, tmp_path, "demo", "--dataset", "iris", "--quiet", "--epochs", "20")
    again = run(backend, tmp_path, "demo", "--dataset", "iris", "--quiet", "--epochs", "20")
    other = run(backend, tmp_path, "demo", "--dataset", "iris", "--quiet", "--epochs", "20",
                "--seed", "5")
    loss = re.compile(r"training loss with the final weights \(all training rows\): ([\d.e+-]+)")
    assert loss.search(first.stdout).group(1) == loss.search(again.stdout).group(1)
    assert loss.search(first.stdout).group(1) != loss.search(other.stdout).group(1)


def test_demo_summary_says_which_loss_it_prints(backend, capsys):
    result = main_in_process(capsys, "demo", "--dataset", "iris", "--epochs", "5")
    assert result.returncode == 0, result.stderr
    match = re.search(r"^training loss with the final weights \(all training rows\): "
                      r"([\d.e+-]+); the last epoch's mean over its steps: ([\d.e+-]+)$",
                      result.stdout, re.MULTILINE)
    assert match, result.stdout
    assert np.isfinite(float(match.group(1)))
    # the second figure is the one progress showed for the last epoch
    last_epoch = re.search(r"^epoch 5/5  loss ([\d.e+-]+)$", result.stderr, re.MULTILINE)
    assert last_epoch, result.stderr
    assert match.group(2) == last_epoch.group(1)


def test_loss_plot_has_whole_epoch_ticks(backend):
    pytest.importorskip("matplotlib", reason="the loss plot needs matplotlib")
    pyplot = cli._require_matplotlib()
    figure = cli._loss_figure(pyplot, [1.0, 0.6, 0.5], "three epochs")
    try:
        axes = figure.axes[0]
        low, high = axes.get_xlim()
        ticks = [tick for tick in axes.get_xticks() if low <= tick <= high]
        assert ticks and all(float(tick).is_integer() for tick in ticks), ticks
    finally:
        pyplot.close(figure)


def test_plot_without_matplotlib_exits_before_training(backend, tmp_path):
    blocker = tmp_path / "blocker" / "matplotlib"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('matplotlib blocked by the test')\n")
    result = run(backend, tmp_path, "demo", "--dataset", "iris", "--plot", "loss.png",
                 pythonpath=tmp_path / "blocker")
    assert_bad_input(result, 'pip install "bpcore[plot]"')
    assert result.stdout == ""  # nothing trained, nothing reported
    assert not (tmp_path / "loss.png").exists()


def test_plot_writes_a_png(backend, tmp_path):
    pytest.importorskip("matplotlib")
    result = run(backend, tmp_path, "demo", "--dataset", "iris", "--quiet", "--epochs", "30",
                 "--plot", "loss.png")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "loss curve saved to loss.png" in result.stdout


@pytest.mark.parametrize("name", ["loss.txt", "loss"])
def test_plot_format_is_checked_before_training(backend, tmp_path, capsys, name):
    pytest.importorskip("matplotlib")
    result = main_in_process(capsys, "demo", "--dataset", "iris", "--quiet",
                             "--plot", tmp_path / name)
    assert_bad_input(result, f"{tmp_path / name}: ")
    assert ".png, .pdf, .svg" in result.stderr
    assert result.stdout == ""  # nothing trained, nothing reported
    assert list(tmp_path.iterdir()) == []


# ---- train and predict ----

def test_train_predict_classification_with_string_labels(backend, tmp_path):
    write_csv(tmp_path / "train.csv", ["x", "colour", "y"], blobs())
    result = run(backend, tmp_path, "train", "train.csv", "--target", "colour", "--hidden", "8",
                 "--epochs", "30", "--lr", "0.05", "--out", "colours.npz")
    assert result.returncode == 0, result.stderr
    assert "validation accuracy" in result.stdout
    assert re.search(r"^epoch 30/30  loss [\d.e-]+  val_loss [\d.e-]+$", result.stderr,
                     re.MULTILINE), result.stderr
    network, extra = bpcore.io.load(tmp_path / "colours.npz", with_extra=True)
    assert network.sizes == (2, 8, 3) and network.output == "softmax"
    assert extra["meta_classes"].tolist() == ["blue", "green", "red"]
    assert extra["meta_features"].tolist() == ["x", "y"]
    assert str(extra["meta_target"]) == "colour"
    assert extra["meta_mean"].shape == extra["meta_std"].shape == (2,)

    # new points, once without the target column and once with it (ignored, by name)
    fresh = blobs(n=30, seed=1)
    write_csv(tmp_path / "new.csv", ["y", "x"], [[row[2], row[0]] for row in fresh])
    write_csv(tmp_path / "labelled.csv", ["x", "colour", "y"], fresh)
    for data in ("new.csv", "labelled.csv"):
        result = run(backend, tmp_path, "predict", "colours.npz", data)
        assert result.returncode == 0, result.stderr
        header, rows = read_csv(result.stdout)
        assert header == ["colour"]
        predicted = [row[0] for row in rows]
        assert len(predicted) == 30
        assert np.mean([p == row[1] for p, row in zip(predicted, fresh)]) >= 0.9

    result = run(backend, tmp_path, "predict", "colours.npz", "new.csv", "--out", "out.csv")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "wrote 30 predictions to out.csv\n"  # as train says "model saved"
    assert (tmp_path / "out.csv").read_text().splitlines()[0] == "colour"


def test_train_predict_regression(backend, tmp_path):
    write_csv(tmp_path / "prices.csv", ["a", "b", "price"], linear())
    result = run(backend, tmp_path, "train", "prices.csv", "--target", "price", "--hidden", "",
                 "--epochs", "40", "--quiet")
    assert result.returncode == 0, result.stderr
    assert "model saved to model.npz" in result.stdout
    network, extra = bpcore.io.load(tmp_path / "model.npz", with_extra=True)
    assert network.sizes == (2, 1) and network.output == "identity"
    assert "meta_classes" not in extra
    fresh = linear(n=20, seed=3)
    write_csv(tmp_path / "fresh.csv", ["a", "b"], [row[:2] for row in fresh])
    result = run(backend, tmp_path, "predict", "model.npz", "fresh.csv")
    assert result.returncode == 0, result.stderr
    header, rows = read_csv(result.stdout)
    assert header == ["price"]
    predicted = np.array([float(row[0]) for row in rows])
    expected = np.array([float(row[2]) for row in fresh])
    assert np.abs(predicted - expected).max() < 0.5  # the target's std is about 3.6
    # a .gz output is gzip, as a .gz input is read (it was plain text under that name)
    result = run(backend, tmp_path, "predict", "model.npz", "fresh.csv", "--out", "p.csv.gz")
    assert result.returncode == 0, result.stderr
    with gzip.open(tmp_path / "p.csv.gz", "rt", newline="") as file:
        assert read_csv(file.read()) == (header, rows)


@pytest.mark.parametrize("options, fragment", [
    (["--out", ""], "the model file's path is empty"),
    (["--out", "model.npz/"], "model file model.npz/ ends in a separator, which names a folder"),
    (["--out", "/dev/null"], "model file: '/dev/null' is not a regular file (a device, pipe "
                             "or socket)"),
    (["--hidden", "99999999"], "argument --hidden: a layer width must be at most 16777216, "
                               "got 99999999"),
    # 2 PiB: beyond any x86-64 address space, so refused whatever the overcommit setting
    (["--hidden", "16777216,16777216"], "sizes [2, 16777216, 16777216, 1] make "
                                        "281,475,060,596,737 parameters (2.1e+06 GiB as "
                                        "float64), more memory than could be allocated")])
def test_train_refuses_an_unwritable_out_or_an_impossible_network_before_training(
        tmp_path, capsys, monkeypatch, options, fragment):
    # an empty --out was refused after training, "model.npz/" wrote model.npz, a width past
    # the kernels' limit was named sizes[1], and a network too large printed a traceback
    monkeypatch.chdir(tmp_path)
    write_csv(tmp_path / "prices.csv", ["a", "b", "price"], linear())
    result = main_in_process(capsys, "train", "prices.csv", "--target", "price", *options)
    assert_bad_input(result, fragment)
    assert "epoch" not in result.stdout and "training loss" not in result.stdout
    assert sorted(path.name for path in tmp_path.iterdir()) == ["prices.csv"]


@pytest.mark.parametrize("name, fragment", [
    ("loop1", "cannot write model file loop1: Too many levels of symbolic links"),
    ("m" * 300 + ".npz", "File name too long")])
def test_train_refuses_a_loop_of_links_or_a_name_too_long_before_training(
        tmp_path, capsys, monkeypatch, name, fragment):
    # both passed the checks before training and failed after it
    monkeypatch.chdir(tmp_path)
    (tmp_path / "loop1").symlink_to("loop2")
    (tmp_path / "loop2").symlink_to("loop1")
    write_csv(tmp_path / "prices.csv", ["a", "b", "price"], linear())
    result = main_in_process(capsys, "train", "prices.csv", "--target", "price", "--out", name)
    assert_bad_input(result, fragment)
    assert "training loss" not in result.stdout


def test_columns_near_the_limits_of_float64_are_standardised_too(backend, tmp_path):
    # the square of 1e200 overflows: the std was inf, a model predict refused; that of 1e-200
    # underflows: std 0, taken for a constant column, and the feature was lost
    scales = np.array([1e200, 1e-200, 1e200])
    table = np.array(linear(), dtype=float) * scales
    write_csv(tmp_path / "wide.csv", ["a", "b", "price"], table.tolist())
    result = run(backend, tmp_path, "train", "wide.csv", "--target", "price", "--hidden", "",
                 "--epochs", "40", "--quiet")
    assert result.returncode == 0, result.stderr
    _, extra = bpcore.io.load(tmp_path / "model.npz", with_extra=True)
    for key in ("meta_std", "meta_target_std"):
        assert np.isfinite(extra[key]).all() and (extra[key] != 1.0).all(), (key, extra[key])
    fresh = np.array(linear(n=20, seed=3), dtype=float) * scales
    write_csv(tmp_path / "fresh.csv", ["a", "b"], fresh[:, :2].tolist())
    result = run(backend, tmp_path, "predict", "model.npz", "fresh.csv")
    assert result.returncode == 0, result.stderr
    predicted = np.array([float(row[0]) for row in read_csv(result.stdout)[1]])
    assert np.abs(predicted / 1e200 - fresh[:, 2] / 1e200).max() < 0.5


def test_integer_target_is_classes_unless_regression(backend, tmp_path):
    rows = [[f"{v:.3f}", str(int(v > 0) + 2 * int(v > 1))] for v in np.linspace(-2, 2, 60)]
    write_csv(tmp_path / "ints.csv", ["v", "level"], rows)
    result = run(backend, tmp_path, "train", "ints.csv", "--target", "level", "--epochs", "5",
                 "--quiet", "--out", "classes.npz")
    assert result.returncode == 0, result.stderr
    _, extra = bpcore.io.load(tmp_path / "classes.npz", with_extra=True)
    assert extra["meta_classes"].tolist() == ["0", "1", "3"]
    result = run(backend, tmp_path, "predict", "classes.npz", "ints.csv")
    assert {row[0] for row in read_csv(result.stdout)[1]} <= {"0", "1", "3"}

    result = run(backend, tmp_path, "train", "ints.csv", "--target", "level", "--epochs", "5",
                 "--quiet", "--regression", "--out", "numbers.npz")
    assert result.returncode == 0, result.stderr
    network, extra = bpcore.io.load(tmp_path / "numbers.npz", with_extra=True)
    assert network.sizes[-1] == 1 and "meta_classes" not in extra


@pytest.mark.parametrize("labels, warned", [
    ([str(1000 + i) for i in range(40)], ", and if it is a number, --regression"),
    ([f"row{i}" if i < 30 else f"pair{i // 2}" for i in range(40)], ""),  # 30 single, 5 pairs
    ([f"row{i // 2}" for i in range(40)], None),  # 20 classes of 2 rows: no warning
])
def test_a_target_with_a_class_for_most_rows_gets_a_warning(backend, tmp_path, labels, warned):
    # an id column given as the target trains a classifier of one class per row
    rows = [[f"{v:.3f}", label] for v, label in zip(np.linspace(-2, 2, 40), labels)]
    write_csv(tmp_path / "ids.csv", ["v", "id"], rows)
    result = run(backend, tmp_path, "train", "ids.csv", "--target", "id", "--epochs", "1",
                 "--quiet", "--validation-fraction", "0")
    assert result.returncode == 0, result.stderr
    singles = sum(labels.count(label) == 1 for label in labels)
    message = (f"bpcore: warning: the target 'id' has {len(set(labels))} classes in 40 rows, "
               f"{singles} of them with a single row to learn from; if it is an id, give "
               f"another --target{warned}\n")
    assert result.stderr == ("" if warned is None else message), result.stderr


def test_a_feature_that_counts_the_rows_gets_a_warning(backend, tmp_path):
    # a row number left among the features: named, with the option that leaves it out
    rows = [[str(7 + i), f"{v:.3f}", str(int(v > 0))] for i, v in enumerate(np.linspace(-2, 2, 40))]
    write_csv(tmp_path / "rows.csv", ["row no", "v", "label"], rows)
    arguments = ["train", "rows.csv", "--target", "label", "--epochs", "1", "--quiet"]
    result = run(backend, tmp_path, *arguments)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ("bpcore: warning: column 'row no' counts the rows up by one, like an "
                             "id; if it is not a feature, --ignore 'row no' leaves it out\n")
    result = run(backend, tmp_path, *arguments, "--ignore", "row no")
    assert result.returncode == 0 and result.stderr == "", result.stderr


def test_labels_that_only_look_like_integers_are_classes_of_text(backend, tmp_path, capsys):
    # "+-5" passed a test of digits after its signs, then stopped train in int()
    rows = [[f"{v:.3f}", "+-5" if v > 0 else "3"] for v in np.linspace(-2, 2, 40)]
    write_csv(tmp_path / "signs.csv", ["v", "label"], rows)
    result = main_in_process(capsys, "train", tmp_path / "signs.csv", "--target", "label",
                             "--epochs", "1", "--quiet", "--out", tmp_path / "model.npz")
    assert result.returncode == 0, result.stderr
    _, extra = bpcore.io.load(tmp_path / "model.npz", with_extra=True)
    assert extra["meta_classes"].tolist() == ["+-5", "3"]  # sorted as text


def test_float_target_of_whole_numbers_gets_a_hint(backend, tmp_path):
    # 0.0 and 1.0, as a table written with floats gives class labels: a regression, said so
    rows = [[f"{v:.3f}", f"{float(v > 0):.1f}"] for v in np.linspace(-2, 2, 40)]
    write_csv(tmp_path / "floats.csv", ["v", "label"], rows)
    result = run(backend, tmp_path, "train", "floats.csv", "--target", "label", "--epochs", "2")
    assert result.returncode == 0, result.stderr
    assert ("regression (losses are on the standardised target); the target holds only the "
            "whole numbers 0, 1, written with decimals: written as integers they would be "
            "classes") in result.stderr
    # --quiet hides that line, not the hint: it becomes a warning
    result = run(backend, tmp_path, "train", "floats.csv", "--target", "label", "--epochs", "2",
                 "--quiet")
    assert result.returncode == 0, result.stderr
    assert ("bpcore: warning: 'label' is trained as a regression; the target holds only the "
            "whole numbers 0, 1") in result.stderr
    result = run(backend, tmp_path, "train", "floats.csv", "--target", "label", "--epochs", "2",
                 "--quiet", "--regression")  # asked for: nothing to warn about
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert cli._whole_numbers(np.array([3.0, -1.0, 3.0])) != ""
    assert cli._whole_numbers(np.array([0.0, 0.5, 1.0])) == ""  # not whole numbers
    assert cli._whole_numbers(np.arange(11.0)) == ""  # too many values to be class labels


def test_patience_stops_and_keeps_the_best_weights(backend, tmp_path):
    # labels that are pure noise: the validation loss soon rises as the network memorises
    write_csv(tmp_path / "noise.csv", ["a", "b", "label"], noise())
    result = run(backend, tmp_path, "train", "noise.csv", "--target", "label", "--epochs",
                 "500", "--lr", "0.05", "--hidden", "32", "--patience", "2", "--quiet")
    assert result.returncode == 0, result.stderr
    match = re.search(r"stopped after epoch (\d+): no lower validation loss for 2 epochs; "
                      r"restored the weights of epoch (\d+), which had the lowest validation "
                      r"loss \(([\d.e+-]+)\)", result.stdout)
    assert match, result.stdout
    assert int(match.group(2)) == int(match.group(1)) - 2
    # the saved weights are the restored ones: the summary's validation loss is the best one
    assert f"validation loss {match.group(3)}," in result.stdout


PATIENCE_MESSAGE = (r"{ending}; restored the weights of epoch (\d+), which had the lowest "
                    r"{watched} loss \(([\d.e+-]+)\)")


def test_patience_without_validation_restores_the_lowest_training_loss(backend, tmp_path,
                                                                       capsys):
    # Without validation rows --patience watches the loss of all training rows; a high lr on
    # noise makes it rise after a few epochs.
    write_csv(tmp_path / "noise.csv", ["a", "b", "label"], noise())
    result = main_in_process(capsys, "train", tmp_path / "noise.csv", "--target", "label",
                             "--validation-fraction", "0", "--patience", "2", "--epochs", "300",
                             "--lr", "0.3", "--hidden", "32", "--quiet",
                             "--out", tmp_path / "model.npz")
    assert result.returncode == 0, result.stderr
    pattern = PATIENCE_MESSAGE.format(
        ending=r"stopped after epoch (\d+): no lower training loss for 2 epochs",
        watched="training")
    match = re.search(pattern, result.stdout)
    assert match, result.stdout
    stopped, restored, best = match.groups()
    assert int(restored) == int(stopped) - 2
    # the model has the restored weights: its training loss is the lowest one, not the last
    assert re.search(rf"^training loss with the final weights {re.escape(best)}; trained by "
                     rf"sgd \(lr 0.3, batch size 1\)$", result.stdout, re.MULTILINE), result.stdout
    assert (tmp_path / "model.npz").exists()


def test_patience_restores_the_best_epoch_when_the_epochs_run_out(backend, tmp_path, capsys):
    # patience longer than the run: training ends on the epoch budget, and the epoch with the
    # lowest validation loss (early on, as the network memorises noise) is still restored
    write_csv(tmp_path / "noise.csv", ["a", "b", "label"], noise())
    result = main_in_process(capsys, "train", tmp_path / "noise.csv", "--target", "label",
                             "--patience", "1000", "--epochs", "30", "--lr", "0.2",
                             "--hidden", "32", "--quiet", "--out", tmp_path / "model.npz")
    assert result.returncode == 0, result.stderr
    pattern = PATIENCE_MESSAGE.format(ending="trained all 30 epochs", watched="validation")
    match = re.search(pattern, result.stdout)
    assert match, result.stdout
    restored, best = match.groups()
    assert int(restored) < 30
    assert f"validation loss {best}," in result.stdout


# ---- train's optimizers, schedules and sample weights ----

def train_blobs(capsys, tmp_path, *args, data="train.csv", out="model.npz"):
    """Train a 2-5-3 classifier of the blobs in tmp_path/data for 6 quiet epochs in this
    process; the result, and the saved network with its extra entries."""
    result = main_in_process(capsys, "train", tmp_path / data, "--target", "colour",
                             "--hidden", "5", "--epochs", "6", "--quiet",
                             "--out", tmp_path / out, *args)
    assert result.returncode == 0, result.stderr
    network, extra = bpcore.io.load(tmp_path / out, with_extra=True)
    return result, network, extra


def inputs_as_trained(path, extra):
    """X and Y of the blobs CSV at `path` as train gave them to fit: standardised with the
    statistics the model stores, the classes one-hot in the model's order."""
    table = bpcore.datasets.read_table(path)
    X = (table.numeric(extra["meta_features"].tolist()) - extra["meta_mean"]) / extra["meta_std"]
    classes = extra["meta_classes"].tolist()
    Y = np.eye(len(classes))[[classes.index(cell) for cell in table.text("colour")]]
    return X, Y


def fit_as_train_does(X, Y, **settings):
    """The network train builds for the blobs (hidden 5, seed 0), fitted as train fits it
    without --patience."""
    network = bpcore.Network([X.shape[1], 5, Y.shape[1]], activation="tanh", output="softmax",
                             loss="cross_entropy", seed=0)
    network.fit(X, Y, epochs=6, restore_best=False, **settings)
    return network


def same_parameters(first, second):
    return all(np.array_equal(a, b) for a, b in zip(first.weights + first.biases,
                                                    second.weights + second.biases))


@pytest.mark.parametrize("args, settings, words", [
    (["--optimizer", "adam"], dict(optimizer=bpcore.Adam()), "adam (lr 0.001, batch size 1)"),
    (["--optimizer", "adam", "--lr", "0.01", "--beta1", "0.8", "--beta2", "0.99", "--eps",
      "1e-6", "--weight-decay", "0.01", "--decoupled", "--batch-size", "8"],
     dict(optimizer=bpcore.Adam(lr=0.01, beta1=0.8, beta2=0.99, eps=1e-6, weight_decay=0.01,
                                decoupled=True), batch_size=8),
     "adam (lr 0.01, weight decay 0.01, beta1 0.8, beta2 0.99, eps 1e-06, decoupled, "
     "batch size 8)"),
    (["--momentum", "0.9", "--nesterov", "--batch-size", "4"],
     dict(optimizer=bpcore.SGD(lr=0.01, momentum=0.9, nesterov=True), batch_size=4),
     "sgd (lr 0.01, momentum 0.9, nesterov, batch size 4)"),
    (["--optimizer", "rprop", "--lr", "0.05", "--eta-minus", "0.4", "--eta-plus", "1.1",
      "--step-min", "1e-5", "--step-max", "10", "--weight-decay", "0.001"],
     dict(optimizer=bpcore.Rprop(lr=0.05, eta_minus=0.4, eta_plus=1.1, step_min=1e-5,
                                 step_max=10.0, weight_decay=0.001)),
     "rprop (lr 0.05, weight decay 0.001, eta minus 0.4, eta plus 1.1, step min 1e-05, "
     "step max 10, full batch)"),
    (["--optimizer", "lbfgs", "--max-iter", "4", "--weight-decay", "0.001"],
     dict(optimizer=bpcore.LBFGS(max_iter=4, weight_decay=0.001)),
     "lbfgs (weight decay 0.001, max iter 4)"),
    (["--optimizer", "lbfgs"], dict(optimizer=bpcore.LBFGS()), "lbfgs"),
    (["--lr", "0.05", "--lr-schedule", "step:factor=0.5,every=2"],
     dict(optimizer=bpcore.SGD(lr=StepDecay(0.05, factor=0.5, every=2))),
     "sgd (lr 0.05 on schedule step:factor=0.5,every=2, batch size 1)"),
    (["--lr", "0.05", "--lr-schedule", "cosine:period=4,min_lr=0.001,restarts=true"],
     dict(optimizer=bpcore.SGD(lr=Cosine(0.05, period=4, min_lr=0.001, restarts=True))),
     "sgd (lr 0.05 on schedule cosine:period=4,min_lr=0.001,restarts=true, batch size 1)"),
])
def test_train_options_reach_fit(backend, tmp_path, capsys, args, settings, words):
    # The model train saves is the one Network.fit gives with the same settings, bit for
    # bit, and the summary line says how it was trained.
    write_csv(tmp_path / "train.csv", ["x", "colour", "y"], blobs())
    result, network, extra = train_blobs(capsys, tmp_path, "--validation-fraction", "0", *args)
    X, Y = inputs_as_trained(tmp_path / "train.csv", extra)
    assert same_parameters(network, fit_as_train_does(X, Y, **settings))
    assert f"; trained by {words}\n" in result.stdout, result.stdout
    _, default, _ = train_blobs(capsys, tmp_path, "--validation-fraction", "0", out="sgd.npz")
    assert not same_parameters(network, default)


def test_invscaling_counts_the_training_rows_as_samples_per_epoch(backend, tmp_path, capsys):
    write_csv(tmp_path / "train.csv", ["x", "colour", "y"], blobs())
    result, network, extra = train_blobs(capsys, tmp_path, "--optimizer", "adam", "--lr",
                                         "0.05", "--lr-schedule", "invscaling:power=0.5")
    X, Y = inputs_as_trained(tmp_path / "train.csv", extra)
    # the split train makes: --validation-fraction 0.2 of each class, drawn from the seed
    train, held = split_rows(len(X), Y.argmax(axis=1), 0.2, np.random.default_rng(0))

    def fitted(samples_per_epoch):
        schedule = InverseScaling(0.05, power=0.5, samples_per_epoch=samples_per_epoch)
        return fit_as_train_does(X[train], Y[train], optimizer=bpcore.Adam(lr=schedule),
                                 validation_data=(X[held], Y[held]))

    assert same_parameters(network, fitted(len(train)))
    assert not same_parameters(network, fitted(1))
    assert "trained by adam (lr 0.05 on schedule invscaling:power=0.5, batch size 1)" in \
        result.stdout


def test_reduce_lr_on_plateau_reaches_fit(backend, tmp_path, capsys):
    # On noise the validation loss soon stalls, so the rule lowers the rate within the run.
    write_csv(tmp_path / "noise.csv", ["a", "b", "label"], noise())
    arguments = ["train", tmp_path / "noise.csv", "--target", "label", "--hidden", "16",
                 "--lr", "0.2", "--epochs", "15", "--quiet"]
    result = main_in_process(capsys, *arguments, "--reduce-lr-on-plateau",
                             "--out", tmp_path / "plateau.npz")
    assert result.returncode == 0, result.stderr
    assert "trained by sgd (lr 0.2, lr reduced on plateaus, batch size 1)" in result.stdout
    assert main_in_process(capsys, *arguments, "--out", tmp_path / "plain.npz").returncode == 0
    network, extra = bpcore.io.load(tmp_path / "plateau.npz", with_extra=True)
    table = bpcore.datasets.read_table(tmp_path / "noise.csv")
    X = (table.numeric(["a", "b"]) - extra["meta_mean"]) / extra["meta_std"]
    labels = np.array([extra["meta_classes"].tolist().index(c) for c in table.text("label")])
    Y = np.eye(2)[labels]
    train, held = split_rows(len(X), labels, 0.2, np.random.default_rng(0))
    expected = bpcore.Network([2, 16, 2], activation="tanh", output="softmax",
                              loss="cross_entropy", seed=0)
    history = expected.fit(X[train], Y[train], epochs=15, lr=0.2, restore_best=False,
                           validation_data=(X[held], Y[held]), reduce_lr_on_plateau=True)
    assert min(history.lrs) < 0.2  # the rule did act
    assert same_parameters(network, expected)
    assert not same_parameters(network, bpcore.io.load(tmp_path / "plain.npz"))


def weighted_blobs():
    """The blobs with a weight column between the target and the second feature."""
    return [[x, colour, str(i % 4), y] for i, (x, colour, y) in enumerate(blobs())]


def test_sample_weight_column_weights_fit_and_is_no_feature(backend, tmp_path, capsys):
    write_csv(tmp_path / "train.csv", ["x", "colour", "w", "y"], weighted_blobs())
    result, network, extra = train_blobs(capsys, tmp_path, "--sample-weight", "w",
                                         "--validation-fraction", "0", "--batch-size", "4")
    assert network.sizes == (2, 5, 3)
    assert extra["meta_features"].tolist() == ["x", "y"]
    assert str(extra["meta_sample_weight"]) == "w"
    X, Y = inputs_as_trained(tmp_path / "train.csv", extra)
    weights = np.arange(len(X)) % 4
    expected = fit_as_train_does(X, Y, lr=0.01, batch_size=4, sample_weight=weights)
    assert same_parameters(network, expected)
    assert not same_parameters(network, fit_as_train_does(X, Y, lr=0.01, batch_size=4))
    # the summary's loss is the weighted one fit minimised
    loss = expected.loss(X, Y, sample_weight=weights)
    assert result.stdout.startswith(f"training loss with the final weights {loss:.4g}; trained "
                                    f"by sgd (lr 0.01, batch size 4, rows weighted by 'w')\n"
                                    ), result.stdout


def test_sample_weights_weigh_the_validation_rows_too(backend, tmp_path, capsys):
    write_csv(tmp_path / "train.csv", ["x", "colour", "w", "y"], weighted_blobs())
    result, network, extra = train_blobs(capsys, tmp_path, "--sample-weight", "w")
    X, Y = inputs_as_trained(tmp_path / "train.csv", extra)
    weights = np.arange(len(X)) % 4
    train, held = split_rows(len(X), Y.argmax(axis=1), 0.2, np.random.default_rng(0))
    expected = fit_as_train_does(X[train], Y[train], lr=0.01, sample_weight=weights[train],
                                 validation_data=(X[held], Y[held], weights[held]))
    assert same_parameters(network, expected)
    loss = expected.loss(X[held], Y[held], sample_weight=weights[held])
    assert f", validation loss {loss:.4g}, " in result.stdout, result.stdout


def test_predict_ignores_the_sample_weight_column(backend, tmp_path, capsys):
    write_csv(tmp_path / "train.csv", ["x", "colour", "w", "y"], weighted_blobs())
    train_blobs(capsys, tmp_path, "--sample-weight", "w")
    fresh = weighted_blobs()[:12]
    write_csv(tmp_path / "with_weights.csv", ["w", "y", "x"],
              [[w, y, x] for x, _, w, y in fresh])
    write_csv(tmp_path / "features.csv", ["x", "y"], [[x, y] for x, _, _, y in fresh])
    outputs = []
    for data in ("with_weights.csv", "features.csv", "train.csv"):
        result = run(backend, tmp_path, "predict", "model.npz", data)
        assert result.returncode == 0, result.stderr
        outputs.append(read_csv(result.stdout))
    assert outputs[0] == outputs[1]
    assert outputs[0][1] == outputs[2][1][:12]
    write_csv(tmp_path / "wide.csv", ["x", "colour", "w", "y", "z"], [[*fresh[0], "1"]])
    assert_bad_input(run(backend, tmp_path, "predict", "model.npz", "wide.csv"),
                     "wide.csv has 3 feature columns (besides the target 'colour' and the "
                     "sample weights 'w'), but the model expects 2; not the model's: 'z'")


def test_ignored_columns_are_no_features_in_train_and_predict(backend, tmp_path, capsys):
    # an id and a text column beside the features: --ignore leaves them out of the model,
    # which then is the one trained on the features alone, and predict skips them too
    rows = [[f"row{i}", x, colour, str(1000 + i), y] for i, (x, colour, y) in enumerate(blobs())]
    write_csv(tmp_path / "train.csv", ["name", "x", "colour", "id", "y"], rows)
    result, network, extra = train_blobs(capsys, tmp_path, "--ignore", "id, name")
    assert network.sizes == (2, 5, 3)
    assert extra["meta_features"].tolist() == ["x", "y"]
    assert extra["meta_ignored"].tolist() == ["id", "name"]
    write_csv(tmp_path / "plain.csv", ["x", "colour", "y"], blobs())
    _, plain, _ = train_blobs(capsys, tmp_path, data="plain.csv", out="plain.npz")
    assert same_parameters(network, plain)
    outputs = [read_csv(run(backend, tmp_path, "predict", model, data).stdout)
               for model, data in (("model.npz", "train.csv"), ("model.npz", "plain.csv"),
                                   ("plain.npz", "plain.csv"))]
    assert outputs[0] == outputs[1] == outputs[2] and len(outputs[0][1]) == 90
    write_csv(tmp_path / "short.csv", ["name", "x", "id"], [row[:2] + row[3:4] for row in rows])
    assert_bad_input(run(backend, tmp_path, "predict", "model.npz", "short.csv"),
                     "short.csv has 1 feature column (besides the ignored 'name', 'id'), but "
                     "the model expects 2; missing: 'y'")
    # --ignore given twice: both lists count
    _, twice, extra = train_blobs(capsys, tmp_path, "--ignore", "id", "--ignore", "name",
                                  out="twice.npz")
    assert extra["meta_ignored"].tolist() == ["id", "name"] and same_parameters(twice, plain)
    # an ignored column that is also a feature, in a file train did not write
    kept = dict(np.load(tmp_path / "model.npz"))
    np.savez(tmp_path / "edited.npz", **dict(kept, meta_ignored=np.array(["id", "x"])))
    assert_bad_input(run(backend, tmp_path, "predict", "edited.npz", "train.csv"),
                     "edited.npz: its entry meta_ignored must be a list of column names apart "
                     "from meta_features, got array(['id', 'x']")


def test_predict_ignore_leaves_more_columns_out(backend, tmp_path, capsys):
    # a file to predict with columns train never saw: --ignore leaves them out, and the
    # outputs are those of the file without them
    write_csv(tmp_path / "train.csv", ["x", "colour", "y"], blobs())
    train_blobs(capsys, tmp_path)
    fresh = blobs(n=12, seed=1)
    write_csv(tmp_path / "plain.csv", ["x", "y"], [[x, y] for x, _, y in fresh])
    write_csv(tmp_path / "extra.csv", ["note", "x", "batch id", "y"],
              [[f"n{i}", x, str(i), y] for i, (x, _, y) in enumerate(fresh)])
    expected = run(backend, tmp_path, "predict", "model.npz", "plain.csv")
    assert expected.returncode == 0, expected.stderr
    for args in (["--ignore", "note,batch id"], ["--ignore", "note", "--ignore", "batch id"]):
        result = run(backend, tmp_path, "predict", "model.npz", "extra.csv", *args)
        assert result.returncode == 0, result.stderr
        assert read_csv(result.stdout) == read_csv(expected.stdout)
    # without it, the message names the option, quoted for the shell
    assert_bad_input(run(backend, tmp_path, "predict", "model.npz", "extra.csv"),
                     "extra.csv has 4 feature columns, but the model expects 2; not the "
                     "model's: 'note' and 'batch id'; --ignore 'note,batch id' leaves them out")
    assert_bad_input(run(backend, tmp_path, "predict", "model.npz", "extra.csv", "--ignore",
                         "note,batch"),
                     "--ignore names 'batch', not among the columns of extra.csv: 'note', "
                     "'x', 'batch id', 'y'")
    assert_bad_input(run(backend, tmp_path, "predict", "model.npz", "extra.csv", "--ignore",
                         "note,batch id,y"),
                     "--ignore names 'y', a feature the model was trained on")
    # a name with a comma in it, in double quotes as in a CSV header: the hint quotes it so
    write_csv(tmp_path / "comma.csv", ["x", "note, free text", "y"],
              [[x, f"n{i}", y] for i, (x, _, y) in enumerate(fresh)])
    assert_bad_input(run(backend, tmp_path, "predict", "model.npz", "comma.csv"),
                     """not the model's: 'note, free text'; --ignore '"note, free text"' """
                     "leaves it out")
    result = run(backend, tmp_path, "predict", "model.npz", "comma.csv", "--ignore",
                 '"note, free text"')
    assert result.returncode == 0, result.stderr
    assert read_csv(result.stdout) == read_csv(expected.stdout)
    assert_bad_input(run(backend, tmp_path, "predict", "model.npz", "comma.csv", "--ignore",
                         ' "note, free text", x '),
                     "--ignore names 'x', a feature the model was trained on")
    # given without its quotes, the name is two that are not columns: the message says how
    assert_bad_input(run(backend, tmp_path, "predict", "model.npz", "comma.csv", "--ignore",
                         "note, free text"),
                     "--ignore names 'note' and 'free text', not among the columns of "
                     "comma.csv: 'x', 'note, free text', 'y'; a name with a comma goes in "
                     """double quotes: --ignore '"note, free text"'""")
    # a model without column names reads every column left
    network = bpcore.Network([2, 3], output="softmax", loss="cross_entropy", seed=0)
    network.save(tmp_path / "plain.npz")
    (tmp_path / "data.csv").write_text("p,id,q\n0.5,7,-1\n2,8,3\n")
    assert_bad_input(run(backend, tmp_path, "predict", "plain.npz", "data.csv"),
                     "data.csv has 3 feature columns, but the model expects 2; --ignore COLUMNS "
                     "leaves out the column that is not a feature (the model reads the others "
                     "in the file's order)")
    result = run(backend, tmp_path, "predict", "plain.npz", "data.csv", "--ignore", "id")
    assert result.returncode == 0, result.stderr
    np.testing.assert_allclose(np.array(read_csv(result.stdout)[1], dtype=float),
                               network.predict([[0.5, -1], [2, 3]]), rtol=1e-12)


@pytest.mark.parametrize("args, fragment", [
    (["--ignore", "idd,my name,nom"], "--ignore names 'idd' and 'nom', not among the columns "
                                      "of "),
    (["--ignore", "id,,x"], "argument --ignore: expected column names separated by commas"),
    (["--ignore", "id,\nx"], "argument --ignore: expected column names separated by commas, "
                              "such as id,notes (in double quotes, a name with a comma in "
                              "it), got 'id,\\nx'"),
    (["--ignore", ""], "argument --ignore: expected column names separated by commas"),
    (["--ignore", 'id,"my name'], "argument --ignore: expected column names separated by "),
    (["--ignore", '"my" name'], "argument --ignore: expected column names separated by "),
    (["--ignore", '"id,x"'], "--ignore names 'id,x', not among the columns of "),
    # spaces within a name are kept in the one-line message ('my  name' is not 'my name')
    (["--ignore", "my  name"], "--ignore names 'my  name', not among the columns of "),
    (["--ignore", "colour"], "--ignore names 'colour', the --target column, which is never a "
                             "feature"),
    (["--ignore", "id", "--sample-weight", "id"], "--ignore names 'id', the --sample-weight"),
    (["--ignore", "x,y,id,my name", "--ignore", "x"], "train.csv: no feature columns besides "
                                                      "the target 'colour' and the ignored "
                                                      "'x', 'y', 'id', 'my name'"),
    # the hint names the column of the cell the message names (a later row of 'x' is text too)
    ([], "train.csv, line 2: column 'my name' must hold numbers, got 'row0'; if it is not a "
         "feature, --ignore 'my name' leaves it out"),
    (["--ignore", "my name"], "train.csv, line 4: column 'x' must hold numbers, got 'n/a'; if "
                              "it is not a feature, --ignore x leaves it out"),
    # no hint for an empty cell or NaN in a column of numbers
    (["--ignore", "my name,x"], "train.csv, line 7: empty cell in column 'id' (missing values "
                                "are not supported)"),
])
def test_train_refuses_bad_ignored_columns(backend, tmp_path, capsys, args, fragment):
    rows = [[f"row{i}", x, colour, str(i), y] for i, (x, colour, y) in enumerate(blobs(n=30))]
    rows[2][1], rows[5][3] = "n/a", ""
    write_csv(tmp_path / "train.csv", ["my name", "x", "colour", "id", "y"], rows)
    result = main_in_process(capsys, "train", tmp_path / "train.csv", "--target", "colour",
                             "--epochs", "2", "--out", tmp_path / "model.npz", *args)
    assert_bad_input(result, fragment)
    assert ("if it is not a feature" in fragment) == ("if it is not a feature" in result.stderr)
    assert result.stdout == ""
    assert not (tmp_path / "model.npz").exists()


@pytest.mark.parametrize("weights, args, fragment", [
    (["1", "2", "-1"], [], "weights.csv, line 4: the sample weight column 'w' holds -1; "
                           "weights must be >= 0"),
    (["1", "heavy", "1"], [], "weights.csv, line 3: column 'w' must hold numbers, got 'heavy'"),
    (["1", "nan", "1"], [], "weights.csv, line 3: column 'w' holds 'nan'"),
    (["0", "0", "0"], [], "weights.csv: the sample weight column 'w' is all zero"),
    (["1e308", "1e308", "1"], [], "weights.csv: the sample weight column 'w' sums past "
                                  "float64's range; only the weights' ratios matter: divide "
                                  "them by their largest, 1e+308"),
    (["1", "1", "1"], ["--sample-weight", "colour"],
     "--sample-weight colour names the target column"),
    (["1", "1", "1"], ["--sample-weight", "wt"], "weights.csv: no column named 'wt'"),
])
def test_train_refuses_bad_sample_weights(backend, tmp_path, capsys, weights, args, fragment):
    rows = [[row[0], row[1], weights[i % 3], row[2]] for i, row in enumerate(blobs(n=30))]
    write_csv(tmp_path / "weights.csv", ["x", "colour", "w", "y"], rows)
    result = main_in_process(capsys, "train", tmp_path / "weights.csv", "--target", "colour",
                             "--epochs", "2", "--out", tmp_path / "model.npz",
                             *(args or ["--sample-weight", "w"]))
    assert_bad_input(result, fragment)
    assert result.stdout == ""
    assert not (tmp_path / "model.npz").exists()


@pytest.mark.parametrize("weighted, fragment", [
    ("held", "the sample weight column 'w' is zero on all 8 training rows"),
    ("train", "the sample weight column 'w' is zero on all 2 rows held out for validation"),
])
def test_train_refuses_sample_weights_zero_on_one_side_of_the_split(backend, tmp_path, capsys,
                                                                     weighted, fragment):
    # the split of a regression's 10 rows that train draws with --seed 0
    train, held = split_rows(10, None, 0.2, np.random.default_rng(0))
    weights = np.zeros(10, dtype=int)
    weights[held if weighted == "held" else train] = 1
    rows = [[f"{row[0]}", str(weight), row[2]] for row, weight in zip(linear(n=10), weights)]
    write_csv(tmp_path / "weights.csv", ["a", "w", "price"], rows)
    result = main_in_process(capsys, "train", tmp_path / "weights.csv", "--target", "price",
                             "--sample-weight", "w", "--out", tmp_path / "model.npz")
    assert_bad_input(result, fragment)
    assert "(--validation-fraction 0.2); each side needs a weight > 0" in result.stderr
    assert not (tmp_path / "model.npz").exists()


@pytest.mark.parametrize("args, fragment", [
    # an option of another optimizer than the one chosen
    (["--beta1", "0.8"], "--beta1 does not apply to --optimizer sgd (the default); it is an "
                         "option of adam (sgd takes --lr, --momentum, --nesterov and "
                         "--weight-decay)"),
    (["--optimizer", "adam", "--momentum", "0.9"],
     "--momentum does not apply to --optimizer adam; it is an option of sgd (adam takes --lr, "
     "--weight-decay, --beta1, --beta2, --eps, --decoupled and --eps-hat)"),
    (["--optimizer", "adam", "--nesterov"], "--nesterov does not apply to --optimizer adam"),
    (["--optimizer", "sgd", "--decoupled"], "--decoupled does not apply to --optimizer sgd;"),
    (["--optimizer", "adam", "--eta-plus", "1.5"], "it is an option of rprop"),
    (["--optimizer", "rprop", "--eps", "1e-6"], "--eps does not apply to --optimizer rprop"),
    (["--max-iter", "5"], "--max-iter does not apply to --optimizer sgd (the default); it is "
                          "an option of lbfgs"),
    (["--optimizer", "lbfgs", "--lr", "0.1"],
     "--lr does not apply to --optimizer lbfgs; it is an option of sgd, adam and rprop (lbfgs "
     "takes --weight-decay and --max-iter)"),
    (["--optimizer", "lbfgs", "--batch-size", "8"],
     "--batch-size does not apply to --optimizer lbfgs, which takes all training rows at once"),
    (["--optimizer", "rprop", "--lr-schedule", "constant"],
     "--lr-schedule does not apply to --optimizer rprop, which has no learning rate to "
     "schedule; it is for sgd and adam"),
    (["--optimizer", "lbfgs", "--reduce-lr-on-plateau"],
     "--reduce-lr-on-plateau does not apply to --optimizer lbfgs"),
    # settings the optimizer refuses
    (["--nesterov"], "--nesterov needs --momentum > 0, got no --momentum"),
    (["--momentum", "0", "--nesterov"], "--nesterov needs --momentum > 0, got --momentum 0"),
    (["--optimizer", "rprop", "--step-min", "60"], "--step-min 60 is above --step-max 50"),
    (["--optimizer", "adam", "--beta2", "1"], "argument --beta2: expected a number in [0, 1), "
                                             "got 1"),
    (["--optimizer", "rprop", "--eta-minus", "1"], "--eta-minus: expected a number in (0, 1)"),
    (["--optimizer", "rprop", "--eta-plus", "1"], "--eta-plus: expected a number in (1, inf)"),
    (["--optimizer", "lbfgs", "--max-iter", "2.5"],
     "argument --max-iter: expected an integer >= 1, got '2.5'"),
    (["--optimizer", "lbfgs", "--max-iter", "0"], "expected an integer >= 1, got 0"),
    (["--optimizer", "nadam"], "argument --optimizer: invalid choice: 'nadam'"),
    # schedules: every name, key and value is checked, naming what is allowed
    (["--lr-schedule", "linear"],
     "argument --lr-schedule: unknown schedule 'linear'; expected one of: constant | "
     "invscaling[:power=X,samples_per_epoch=N] | step[:factor=X,every=N] | "
     "exponential[:gamma=X] | cosine:period=N[,min_lr=X,restarts=true|false,period_factor=N]"),
    (["--lr-schedule", "cosine"], "cosine needs period=... (cosine:period=N[,min_lr=X,"),
    (["--lr-schedule", "step:gamma=0.5"], "step has no setting 'gamma'; its settings are "
                                          "factor, every (step[:factor=X,every=N])"),
    (["--lr-schedule", "constant:lr=1"], "constant has no setting 'lr'; it has no settings"),
    (["--lr-schedule", "step:every=2.5"], "step: every must be an integer, got '2.5'"),
    (["--lr-schedule", "exponential:gamma=fast"], "exponential: gamma must be a number, got "
                                                  "'fast'"),
    (["--lr-schedule", "step:factor"], "step: factor needs a value"),
    (["--lr-schedule", "step:factor=0.5,factor=0.2"], "step: factor is given twice"),
    (["--lr-schedule", "cosine:period=9,restarts=yes"],
     "cosine: restarts must be true or false, got 'yes'"),
    (["--lr-schedule", "step:factor=2"],
     "argument --lr-schedule step:factor=2: factor must be a finite number in (0, 1], got 2"),
    (["--lr-schedule", "cosine:period=9,min_lr=0.1"],  # above --lr's default 0.01
     "min_lr must be a finite number in [0, 0.01], got 0.1"),
    (["--lr-schedule", "cosine:period=3"],  # no rate after its period, and --epochs is 5
     "argument --lr-schedule cosine:period=3: Cosine(period=3, min_lr=0.0) has no rate > 0 "
     "after epoch 3"),
])
def test_train_refuses_options_that_do_not_combine(backend, tmp_path, capsys, args, fragment):
    write_csv(tmp_path / "train.csv", ["x", "colour", "y"], blobs())
    result = main_in_process(capsys, "train", tmp_path / "train.csv", "--target", "colour",
                             "--epochs", "5", "--out", tmp_path / "model.npz", *args)
    assert_bad_input(result, fragment)
    assert result.stderr.rstrip().endswith("(see bpcore train --help)"), result.stderr
    assert result.stdout == ""
    assert not (tmp_path / "model.npz").exists()


def test_train_help_lists_every_optimizer_option(backend, capsys):
    result = main_in_process(capsys, "train", "--help")
    assert result.returncode == 0
    for option in cli.OPTIMIZER_OPTIONS:
        assert f"--{option.replace('_', '-')}" in result.stdout
    for name in bpcore.schedules.SCHEDULES:
        assert cli._schedule_keys(name) in " ".join(result.stdout.split())
    assert "cosine: period (needed), min_lr, restarts (true or false), period_factor" in \
        " ".join(result.stdout.split())
    assert "--sample-weight COLUMN" in result.stdout


# ---- bad input: one line, exit 2, nothing written ----

BAD_FILES = {
    "empty.csv": "",
    "header_only.csv": "a,b,label\n",
    "ragged.csv": "a,b,label\n1,2,x\n3,4\n",
    "text.csv": "a,b,label\n1,2,x\n3,four,y\n",
    "nan.csv": "a,b,label\n1,2,x\n3,nan,y\n",
    "hole.csv": "a,b,label\n1,2,x\n3,,y\n",
    "no_label.csv": "a,b,label\n1,2,x\n3,4,\n",
    "one_class.csv": "a,b,label\n1,2,x\n3,4,x\n",
}


@pytest.mark.parametrize("name, fragment", [
    ("missing.csv", "missing.csv: no such file"),
    ("empty.csv", "empty.csv is empty"),
    ("header_only.csv", "no data rows"),
    ("ragged.csv", "ragged.csv, line 3: 2 values, but the header has 3 columns"),
    ("text.csv", "text.csv, line 3: column 'b' must hold numbers, got 'four'"),
    ("nan.csv", "nan.csv, line 3: column 'b' holds 'nan'"),
    ("hole.csv", "hole.csv, line 3: empty cell in column 'b'"),
    ("no_label.csv", "no_label.csv, line 3: empty cell in column 'label'"),
    ("one_class.csv", "only one class"),
])
def test_train_rejects_bad_data(backend, tmp_path, name, fragment):
    for file, text in BAD_FILES.items():
        (tmp_path / file).write_text(text)
    result = run(backend, tmp_path, "train", name, "--target", "label", "--epochs", "1",
                 "--out", "model.npz")
    assert_bad_input(result, fragment)
    assert not (tmp_path / "model.npz").exists()


def test_train_refuses_an_unwritable_folder_before_training(backend, tmp_path, capsys,
                                                           refuse_new_files):
    write_csv(tmp_path / "train.csv", ["x", "colour", "y"], blobs())
    result = main_in_process(capsys, "train", tmp_path / "train.csv", "--target", "colour",
                             "--out", tmp_path / "model.npz")
    assert_bad_input(result, f"cannot write model file {tmp_path / 'model.npz'}: folder "
                             f"{tmp_path}: Permission denied")
    assert result.stdout == ""  # nothing trained: the summary is not printed
    assert not (tmp_path / "model.npz").exists()


@pytest.mark.parametrize("args, fragment", [
    (["--target", "nope"], "no column named 'nope'; the columns are 'x', 'colour', 'y'"),
    (["--target", "colour", "--regression"], "--regression needs a numeric target"),
    # the network's pairing rules, in the options' words
    (["--target", "colour", "--output-activation", "sigmoid", "--loss", "cross_entropy"],
     "--loss cross_entropy needs --output-activation softmax, got --output-activation sigmoid"),
    (["--target", "colour", "--output-activation", "softmax", "--loss", "mse"],
     "a softmax output needs --loss cross_entropy, got --loss mse"),
    (["--target", "colour", "--output-activation", "identity", "--loss", "poisson"],
     "--loss poisson needs --output-activation exp, got --output-activation identity"),
    (["--target", "colour", "--lr", "-1"], "--lr: expected a number in (0, inf), got -1"),
    (["--target", "colour", "--momentum", "1"], "--momentum: expected a number in [0, 1)"),
    (["--target", "colour", "--epochs", "0"], "--epochs: expected a positive integer, got 0"),
    (["--target", "colour", "--seed", "-1"], "--seed: expected an integer >= 0, got -1"),
    (["--target", "colour", "--hidden", "8,x"], "--hidden: expected layer widths such as 32,16"),
    (["--target", "colour", "--out", "no/such/folder/m.npz"], "folder"),
])
def test_train_rejects_bad_settings(backend, tmp_path, args, fragment):
    write_csv(tmp_path / "train.csv", ["x", "colour", "y"], blobs())
    result = run(backend, tmp_path, "train", "train.csv", "--epochs", "1", *args)
    assert_bad_input(result, fragment)
    assert not (tmp_path / "model.npz").exists()
    assert not (tmp_path / "no").exists()


@pytest.mark.parametrize("args, fragments", [
    # a regression target (prices about 50, with decimals) under a head made for classes
    (["--loss", "cross_entropy"],
     ["--loss cross_entropy needs a class target, but the target 'price' holds numbers in [",
      "not all integers, so it is a regression; drop --loss (class labels"]),
    (["--output-activation", "softmax"], ["--output-activation softmax needs a class target",
                                          "drop --output-activation"]),
    (["--loss", "binary_cross_entropy"],
     ["--loss binary_cross_entropy needs a class target or numbers in [0, 1]", "drop --loss"]),
    (["--output-activation", "sigmoid", "--loss", "binary_cross_entropy"],
     ["--output-activation sigmoid with --loss binary_cross_entropy needs a class target",
      "drop --output-activation and --loss"]),
    # bounded outputs cannot reach the target's values, which they see unstandardised
    (["--output-activation", "sigmoid"], ["--output-activation sigmoid gives outputs in [0, 1]",
                                          "drop --output-activation"]),
    (["--output-activation", "tanh"], ["--output-activation tanh gives outputs in [-1, 1]"]),
])
def test_regression_target_refuses_a_head_for_classes(backend, tmp_path, capsys, args,
                                                      fragments):
    write_csv(tmp_path / "prices.csv", ["a", "b", "price"], linear(n=30))
    result = main_in_process(capsys, "train", tmp_path / "prices.csv", "--target", "price",
                             "--epochs", "1", "--out", tmp_path / "model.npz", *args)
    for fragment in fragments:
        assert_bad_input(result, fragment)
    assert "Y must lie in" not in result.stderr  # the API's wording, about one row
    assert result.stdout == ""
    assert not (tmp_path / "model.npz").exists()


def test_whole_numbers_with_decimals_under_a_head_for_classes(backend, tmp_path, capsys):
    # 0.0 and 1.0 are numbers to train: the refusal says they would be classes as integers
    rows = [[f"{v:.3f}", f"{float(v > 0):.1f}"] for v in np.linspace(-2, 2, 30)]
    write_csv(tmp_path / "flags.csv", ["v", "flag"], rows)
    result = main_in_process(capsys, "train", tmp_path / "flags.csv", "--target", "flag",
                             "--epochs", "1", "--out", tmp_path / "model.npz",
                             "--output-activation", "softmax")
    assert_bad_input(result, "--output-activation softmax needs a class target, but the target "
                             "'flag' holds the whole numbers 0, 1 written with decimals, so it "
                             "is a regression (written as integers they would be classes); "
                             "drop --output-activation")
    assert not (tmp_path / "model.npz").exists()


def test_integer_target_made_a_regression_is_told_how_to_classify(backend, tmp_path, capsys):
    rows = [[f"{v:.3f}", str(int(v > 0) + 2 * int(v > 1))] for v in np.linspace(-2, 2, 30)]
    write_csv(tmp_path / "ints.csv", ["v", "level"], rows)
    result = main_in_process(capsys, "train", tmp_path / "ints.csv", "--target", "level",
                             "--regression", "--loss", "cross_entropy", "--epochs", "1",
                             "--out", tmp_path / "model.npz")
    assert_bad_input(result, "--regression makes the integer target 'level' a regression; "
                             "drop --regression to make its values classes")
    assert not (tmp_path / "model.npz").exists()


def test_numeric_target_in_the_unit_interval_may_use_binary_cross_entropy(backend, tmp_path,
                                                                          capsys):
    # probabilities are a regression a sigmoid output with binary cross-entropy can learn
    rows = [[f"{v:.3f}", f"{1 / (1 + np.exp(-2 * v)):.4f}"] for v in np.linspace(-2, 2, 30)]
    write_csv(tmp_path / "odds.csv", ["v", "p"], rows)
    result = main_in_process(capsys, "train", tmp_path / "odds.csv", "--target", "p",
                             "--loss", "binary_cross_entropy", "--epochs", "2", "--quiet",
                             "--out", tmp_path / "model.npz")
    assert result.returncode == 0, result.stderr
    network = bpcore.io.load(tmp_path / "model.npz")
    assert network.output == "sigmoid" and network.sizes[-1] == 1


@pytest.mark.parametrize("text, args, fragment", [
    # a single row "trains" to loss 0: refused, with or without a validation split
    ("a,t\n1,2.5\n", ["--validation-fraction", "0"], "1 data row(s) leave 1 to train on; "
                                                      "training needs at least 2"),
    ("a,t\n1,2.5\n", [], "1 data row(s), 1 of them held out for validation "
                         "(--validation-fraction 0.2) leave 0 to train on"),
    ("a,label\n1,x\n2,y\n", [], "2 data row(s), 1 of them held out for validation "
                                "(--validation-fraction 0.2) leave 1 to train on"),
    # 3 of the 5 a's and the only b held out: the training rows are all of one class
    ("a,label\n" + "".join(f"{i},a\n" for i in range(5)) + "9,b\n",
     ["--validation-fraction", "0.6"], "the 2 training rows left after holding out 4 for "
                                       "validation are all of class 'a'"),
])
def test_train_refuses_data_too_small_to_train_on(backend, tmp_path, capsys, text, args,
                                                  fragment):
    (tmp_path / "tiny.csv").write_text(text)
    target = text.split("\n")[0].split(",")[-1]
    result = main_in_process(capsys, "train", tmp_path / "tiny.csv", "--target", target,
                             "--epochs", "2", "--out", tmp_path / "model.npz", *args)
    assert_bad_input(result, fragment)
    assert result.stdout == ""
    assert not (tmp_path / "model.npz").exists()


@pytest.mark.parametrize("args, fragment", [
    # the output activation and the output file have names that cannot be mixed up
    (["train", "train.csv", "--target", "colour", "--output", "sigmoid"],
     "unrecognized option --output; did you mean --output-activation or --out? "
     "(see bpcore train --help)"),
    (["predict", "model.npz", "train.csv", "--output", "p.csv"],
     "unrecognized option --output; did you mean --out? (see bpcore predict --help)"),
    # an unknown option is reported as such, not as the required option it misspells
    (["train", "train.csv", "--traget", "colour"],
     "unrecognized option --traget; did you mean --target? (see bpcore train --help)"),
    (["train", "train.csv", "--target=colour", "--lr=0.1", "--epoch=3"],
     "unrecognized option --epoch; did you mean --epochs? (see bpcore train --help)"),
    # an abbreviation is told what it starts, not other near misses as well
    (["train", "train.csv", "--targ", "colour"],
     "unrecognized option --targ; did you mean --target? (see bpcore train --help)"),
    # no abbreviations: --val is not --validation-fraction
    (["train", "train.csv", "--target", "colour", "--val", "0"],
     "unrecognized option --val; did you mean --validation-fraction"),
    (["demo", "--datset", "iris"], "did you mean --dataset? (see bpcore demo --help)"),
    (["info", "--frobnicate"], "unrecognized option --frobnicate (see bpcore info --help)"),
    (["--frobnicate", "info"], "unrecognized option --frobnicate (see bpcore --help)"),
    (["info", "extra"], "unrecognized arguments: extra (see bpcore info --help)"),
    # the format given without its option, taken for OUT
    (["export", "model.npz", "fann", "model.net"],
     "unrecognized arguments: model.net; did you mean --to fann? (see bpcore export --help)"),
    (["import", "model.net", "fann", "model.npz"],
     "unrecognized arguments: model.npz; did you mean --from fann? (see bpcore import --help)"),
    # a misspelt subcommand or choice: the nearest one, if any is near
    (["trian", "train.csv"], "invalid choice: 'trian' (choose from 'demo', 'train', "
                             "'predict', 'export', 'import', 'bench', 'info'); did you mean "
                             "train? (see bpcore --help)"),
    (["frobnicate"], "'bench', 'info') (see bpcore --help)"),
    (["train", "train.csv", "--target", "colour", "--optimizer", "adma"],
     "argument --optimizer: invalid choice: 'adma' (choose from "),
    (["train", "train.csv", "--target", "colour", "--optimizer", "adma"],
     "); did you mean adam? (see bpcore train --help)"),
    (["train", "train.csv"],
     "the following arguments are required: --target (see bpcore train --help)"),
])
def test_unknown_options_point_at_the_subcommand(backend, tmp_path, capsys, monkeypatch, args,
                                                 fragment):
    monkeypatch.chdir(tmp_path)
    write_csv(tmp_path / "train.csv", ["x", "colour", "y"], blobs())
    result = main_in_process(capsys, *args)
    assert_bad_input(result, fragment)
    assert result.stdout == ""
    assert not (tmp_path / "model.npz").exists()


def test_train_help_shows_target_as_required(backend, capsys):
    result = main_in_process(capsys, "train", "--help")
    assert result.returncode == 0
    usage = " ".join(result.stdout.split("\n\n")[0].split())
    assert "--target COLUMN" in usage and "[--target COLUMN]" not in usage, usage
    assert "--output-activation" in result.stdout and "--out OUT" in result.stdout


def test_a_learning_rate_that_raises_the_loss_is_warned_about_in_one_line(backend, tmp_path,
                                                                          capsys):
    # Full-batch gradient descent on a linear regression with lr 3 (above the stable limit for
    # standardised inputs): the error grows by a constant factor every step, the loss with it.
    write_csv(tmp_path / "prices.csv", ["a", "b", "price"], linear(n=30))
    result = main_in_process(capsys, "train", tmp_path / "prices.csv", "--target", "price",
                             "--hidden", "", "--batch-size", "30", "--epochs", "5", "--lr", "3",
                             "--validation-fraction", "0", "--quiet",
                             "--out", tmp_path / "model.npz")
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("bpcore: warning: ") and "learning rate" in lines[0], lines[0]
    assert "RuntimeWarning" not in result.stderr and "warnings.warn" not in result.stderr


@pytest.fixture
def trained(tmp_path, capsys):
    """A classifier of `blobs` saved by the command line as tmp_path/model.npz (trained in
    this process to save a subprocess; the predict under test runs in a subprocess)."""
    write_csv(tmp_path / "train.csv", ["x", "colour", "y"], blobs())
    status = cli.main(["train", str(tmp_path / "train.csv"), "--target", "colour",
                       "--epochs", "2", "--quiet", "--out", str(tmp_path / "model.npz")])
    assert status == 0, capsys.readouterr().err
    return tmp_path / "model.npz"


@pytest.mark.parametrize("model, data, fragment", [
    ("missing.npz", "good.csv", "missing.npz: no such model file"),
    ("junk.npz", "good.csv", "junk.npz is not a bpcore model file"),
    ("good.csv", "good.csv", "good.csv is not a bpcore model file"),
    ("model.npz", "missing.csv", "missing.csv: no such file"),
    ("model.npz", "empty.csv", "empty.csv is empty"),
    ("model.npz", "narrow.csv", "narrow.csv has 1 feature column, but the model expects 2; "
                                "missing: 'y'"),
    ("model.npz", "wide.csv", "wide.csv has 3 feature columns (besides the target 'colour'), "
                              "but the model expects 2; not the model's: 'z'"),
    ("model.npz", "renamed.csv", "lacks column 'y'"),
    ("model.npz", "text.csv", "text.csv, line 3: column 'y' must hold numbers, got 'high'"),
    ("model.npz", "ragged.csv", "ragged.csv, line 2: 1 value,"),
])
def test_predict_rejects_bad_input(backend, tmp_path, trained, model, data, fragment):
    files = {"good.csv": "x,y\n1,2\n", "empty.csv": "", "narrow.csv": "x\n1\n",
             "wide.csv": "x,y,z,colour\n1,2,3,red\n", "renamed.csv": "x,z\n1,2\n",
             "text.csv": "x,y\n1,2\n3,high\n", "ragged.csv": "x,y\n1\n"}
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "junk.npz").write_bytes(b"this is not a zip archive")
    result = run(backend, tmp_path, "predict", model, data, "--out", "predictions.csv")
    assert_bad_input(result, fragment)
    assert result.stdout == ""
    assert not (tmp_path / "predictions.csv").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".bpcore-")]


def test_predict_names_the_target_once_when_it_is_also_ignored(backend, tmp_path, trained):
    # it said "besides the target 'colour' and the ignored 'colour'"
    (tmp_path / "wide.csv").write_text("x,y,z,colour\n1,2,3,red\n")
    result = run(backend, tmp_path, "predict", "model.npz", "wide.csv", "--ignore", "colour")
    assert_bad_input(result, "wide.csv has 3 feature columns (besides the target 'colour'), "
                             "but the model expects 2; not the model's: 'z'")


@pytest.mark.parametrize("key, value", [
    ("meta_features", np.array("x")),  # 0-d: "iteration over a 0-d array" was the message
    ("meta_mean", np.array([True, False])),  # booleans: were read as 1 and 0
    ("meta_std", np.array(["a", "b"])),
    ("meta_classes", np.array([["blue", "green", "red"]])),  # 2-D: printed as one class
    ("meta_target", np.array(["a", "b"]))])
def test_predict_names_a_damaged_entry_of_the_model_file(backend, tmp_path, trained, key,
                                                          value):
    network, extra = bpcore.io.load(trained, with_extra=True)
    extra[key] = value
    bpcore.io.save(network, tmp_path / "damaged.npz", extra=extra)
    (tmp_path / "good.csv").write_text("x,y\n1,2\n")
    result = run(backend, tmp_path, "predict", "damaged.npz", "good.csv")
    assert_bad_input(result, f"damaged.npz: its entry {key} does not fit the network [2, 16, 3]")


def test_predict_out_to_dev_stdout_is_refused_with_the_way_to_stdout(backend, tmp_path,
                                                                     trained):
    (tmp_path / "good.csv").write_text("x,y\n1,2\n")
    result = run(backend, tmp_path, "predict", "model.npz", "good.csv", "--out", "/dev/stdout")
    assert_bad_input(result, "output file: '/dev/stdout' leads to a device or a process's "
                             "stream")
    assert result.stderr.rstrip().endswith("(without --out, predict writes to stdout)")


@pytest.mark.parametrize("args, victim", [
    (["predict", "model.npz", "train.csv", "--out", "model.npz"], "model.npz"),
    (["predict", "model.npz", "train.csv", "--out", "sub/../train.csv"], "train.csv"),
    (["predict", "model.npz", "train.csv", "--out", "alias.npz"], "model.npz"),  # a symlink
    (["train", "train.csv", "--target", "colour", "--epochs", "1", "--out", "train.csv"],
     "train.csv"),
    (["train", "train.csv", "--target", "colour", "--epochs", "1", "--out", "./alias.csv"],
     "train.csv"),
])
def test_out_never_overwrites_an_input(backend, tmp_path, trained, capsys, monkeypatch, args,
                                       victim):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    os.symlink("model.npz", tmp_path / "alias.npz")
    os.symlink("train.csv", tmp_path / "alias.csv")
    before = {path.name: path.read_bytes() for path in tmp_path.iterdir() if path.is_file()}
    capsys.readouterr()  # the fixture's training report
    result = main_in_process(capsys, *args)
    assert_bad_input(result, f"is the same file as the input {victim}")
    assert result.stdout == ""
    after = {path.name: path.read_bytes() for path in tmp_path.iterdir() if path.is_file()}
    assert after == before


def test_train_out_never_replaces_a_file_that_is_not_a_model(backend, tmp_path, trained,
                                                             capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "other.csv").write_text("x,y\n1,2\n")  # data a slip of --out names
    capsys.readouterr()  # the fixture's training report
    args = ["train", "train.csv", "--target", "colour", "--epochs", "1", "--quiet"]
    result = main_in_process(capsys, *args, "--out", "other.csv")
    assert_bad_input(result, "--out other.csv is a file that is not a bpcore model (an .npz "
                             "archive); writing would replace it")
    assert (tmp_path / "other.csv").read_text() == "x,y\n1,2\n"
    # a model, or an empty file, is replaced, as before
    (tmp_path / "empty.npz").write_bytes(b"")
    for name in ("model.npz", "empty.npz"):
        assert main_in_process(capsys, *args, "--out", name).returncode == 0
        assert bpcore.load(tmp_path / name).sizes[0] == 2  # features x and y


def test_same_file_compares_paths_of_files_not_yet_written(tmp_path):
    assert cli._same_file(str(tmp_path / "a" / ".." / "x.csv"), str(tmp_path / "x.csv"))
    assert not cli._same_file(str(tmp_path / "x.csv"), str(tmp_path / "y.csv"))
    (tmp_path / "x.csv").write_text("a\n1\n")
    (tmp_path / "y.csv").write_text("a\n1\n")  # equal contents, another file
    assert not cli._same_file(str(tmp_path / "x.csv"), str(tmp_path / "y.csv"))
    os.link(tmp_path / "x.csv", tmp_path / "hard.csv")
    assert cli._same_file(str(tmp_path / "hard.csv"), str(tmp_path / "x.csv"))


def test_predict_with_a_plain_model_writes_raw_outputs(backend, tmp_path):
    network = bpcore.Network([2, 3], output="softmax", loss="cross_entropy", seed=0)
    network.save(tmp_path / "plain.npz")
    (tmp_path / "data.csv").write_text("p,q\n0.5,-1\n2,3\n")
    result = run(backend, tmp_path, "predict", "plain.npz", "data.csv")
    assert result.returncode == 0, result.stderr
    header, rows = read_csv(result.stdout)
    assert header == ["output_0", "output_1", "output_2"]
    np.testing.assert_allclose(np.array(rows, dtype=float),
                               network.predict([[0.5, -1], [2, 3]]), rtol=1e-12)


# ---- bench, info, usage ----

def test_bench_passes_its_arguments_to_the_benchmark(backend, tmp_path):
    result = run(backend, tmp_path, "bench", "--smoke", "--quiet")
    assert result.returncode == 0, result.stderr
    assert "tiny online (f64)" in result.stdout
    assert re.search(r"^case .* compiled .* numpy ", result.stdout, re.MULTILINE), result.stdout
    refused = run(backend, tmp_path, "bench", "--fast")
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "error: unrecognized arguments: --fast" in refused.stderr


def test_info(backend, tmp_path):
    result = run(backend, tmp_path, "info")
    assert result.returncode == 0, result.stderr
    assert f"bpcore {bpcore.__version__}" in result.stdout
    assert f"active backend: {backend}" in result.stdout
    assert "float32, float64" in result.stdout
    compiled = "compiled module: importable" in result.stdout
    assert compiled == (backend == "cython") or backend == "python"
    if compiled:  # the flags setup.py compiled with: optimised, portable
        flags = next(line for line in result.stdout.splitlines() if line.startswith("build flags:"))
        assert "-O" in flags and "-ffast-math" not in flags
        # SciPy's BLAS, as the kernels' own check names it (the child has this environment)
        name = _backend.compiled().blas_kernels()
        copies = _backend.compiled().forward_copies(32, 64, 64)
        own = _backend.compiled().own_products_taken()
        blas = next(line for line in result.stdout.splitlines() if line.startswith("BLAS:"))
        assert (f"OpenBLAS with its {name} kernels" if name else "its kernels unknown") in blas
        assert f"small products on bpcore's own kernel: {'yes' if own else 'no'};" in blas
        assert blas.endswith("copies of W^T: " + ("yes" if copies else "no"))


def test_no_command_is_a_usage_error(backend, tmp_path):
    assert_bad_input(run(backend, tmp_path), "required: COMMAND")
    assert_bad_input(run(backend, tmp_path, "predict", "model.npz"), "required: DATA.csv")


def test_main_is_importable_for_the_console_script():
    from bpcore.__main__ import main
    assert main(["info"]) == 0


def test_bad_backend_variable_is_one_line_and_exit_2(backend, tmp_path):
    result = run("cyton", tmp_path, "info")
    assert_bad_input(result, "'auto', 'cython' or 'python', got 'cyton'")
    assert result.stdout == ""
    # the console script too (it imports the package before bpcore.__main__ runs)
    script = os.path.join(os.path.dirname(sys.executable), "bpcore")
    if os.path.exists(script):
        result = subprocess.run([script, "info"], cwd=tmp_path, capture_output=True, text=True,
                                env=dict(os.environ, BPCORE_BACKEND="cyton"), timeout=120)
        assert_bad_input(result, "'auto', 'cython' or 'python', got 'cyton'")


def test_stdout_closed_before_writing_ends_quietly(backend, tmp_path):
    # a pipe whose reader is already gone: the first write fails, whenever it happens
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        process = subprocess.run([sys.executable, "-m", "bpcore", "info"], cwd=tmp_path,
                                 env=dict(os.environ, BPCORE_BACKEND=backend), stdout=write_end,
                                 stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(write_end)
    assert process.stderr == ""
    assert process.returncode == 141  # 128 + SIGPIPE, as for a C tool


BIG_PREDICTION_ROWS = 20_000  # about 1.2 MB of predictions: far more than a pipe holds


def big_prediction_files(tmp_path):
    network = bpcore.Network([2, 3], output="softmax", loss="cross_entropy", seed=0)
    network.save(tmp_path / "plain.npz")
    rows = np.random.default_rng(0).normal(size=(BIG_PREDICTION_ROWS, 2))
    write_csv(tmp_path / "data.csv", ["p", "q"], rows.round(4).tolist())


def stdout_env(backend, unbuffered):
    """The environment with PYTHONUNBUFFERED set or removed, whatever this machine has."""
    env = {name: value for name, value in os.environ.items() if name != "PYTHONUNBUFFERED"}
    if unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    return dict(env, BPCORE_BACKEND=backend)


def test_unbuffered_predict_into_a_pipe_writes_every_row(backend, tmp_path):
    # Under PYTHONUNBUFFERED, Python's text stdout drops whatever a short write left over;
    # the output must be whole, and the same as with buffered stdout.
    big_prediction_files(tmp_path)
    outputs = {}
    for unbuffered in (False, True):
        result = subprocess.run([sys.executable, "-m", "bpcore", "predict", "plain.npz",
                                 "data.csv"], cwd=tmp_path, env=stdout_env(backend, unbuffered),
                                capture_output=True, timeout=120)
        assert result.returncode == 0 and result.stderr == b"", result.stderr
        outputs[unbuffered] = result.stdout
    lines = outputs[True].decode().splitlines()
    assert len(lines) == 1 + BIG_PREDICTION_ROWS
    assert lines[0] == "output_0,output_1,output_2" and len(lines[-1].split(",")) == 3
    assert outputs[True] == outputs[False]


@pytest.mark.parametrize("unbuffered", [False, True], ids=["buffered", "PYTHONUNBUFFERED"])
def test_predict_into_head_ends_quietly(backend, tmp_path, unbuffered):
    # `bpcore predict ... | head -1`: more output than a pipe holds, the reader leaves after
    # one line, so the writer meets the closed pipe in the middle of its output. Unbuffered,
    # that middle is a short write, which Python's text stdout would silently drop (exit 0).
    big_prediction_files(tmp_path)
    process = subprocess.Popen([sys.executable, "-m", "bpcore", "predict", "plain.npz",
                                "data.csv"], cwd=tmp_path, env=stdout_env(backend, unbuffered),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert process.stdout.readline() == b"output_0,output_1,output_2\n"
        process.stdout.close()
        stderr = process.stderr.read().decode()
        status = process.wait(timeout=120)
    finally:
        process.kill()
        process.wait()
    assert stderr == ""
    assert status == 141


# ---- progress ----

class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_lines_when_not_a_terminal():
    stream = io.StringIO()
    progress = make_progress(12, stream=stream)
    assert progress(3, 0.123456) is None
    progress(12, 0.5, val_loss=0.25)
    progress.close()
    assert stream.getvalue().splitlines() == ["epoch  3/12  loss 0.1235",
                                              "epoch 12/12  loss 0.5  val_loss 0.25"]


def test_progress_bar_on_a_terminal():
    pytest.importorskip("tqdm")
    stream = FakeTerminal()
    progress = make_progress(4, stream=stream)
    for epoch in range(1, 5):
        assert progress(epoch, 1.0 / epoch) is None
    progress.close()
    text = stream.getvalue()
    assert "4/4" in text and "loss=0.25" in text and "epoch 1/4" not in text


def test_progress_quiet_is_silent():
    stream = FakeTerminal()
    progress = make_progress(4, quiet=True, stream=stream)
    progress(1, 0.5)
    progress.close()
    assert stream.getvalue() == ""


def test_progress_as_a_fit_callback():
    stream = io.StringIO()
    progress = make_progress(3, stream=stream)
    network = bpcore.Network([2, 2, 1], seed=0)
    history = network.fit([[0, 0], [1, 1]], [0, 1], epochs=3, callback=progress)
    progress.close()
    assert history.epochs == 3 and history.stop_reason == "epochs"
    lines = stream.getvalue().splitlines()  # at most a line a second, first and last always
    assert lines[0].startswith("epoch 1/3  loss ") and lines[-1].startswith("epoch 3/3  loss ")


# preexec_fn makes subprocess fork, and JAX (imported by an earlier test where it is
# installed) warns at every fork of its process; this child only resets SIGINT and execs
@pytest.mark.filterwarnings("ignore:os.fork\\(\\) was called:RuntimeWarning")
# SIGTERM (timeout, systemd): it killed the process where it stood, and a model being saved
# left its temporary file
@pytest.mark.parametrize("signal_name, status", [("SIGINT", 130), ("SIGTERM", 143)])
def test_ctrl_c_during_training_exits_130_and_writes_nothing(backend, tmp_path, signal_name,
                                                              status):
    data = write_csv(tmp_path / "data.csv", ["x", "species", "y"], blobs(300))
    process = subprocess.Popen(
        [sys.executable, "-m", "bpcore", "train", str(data), "--target", "species",
         "--epochs", "1000000", "--out", str(tmp_path / "model.npz")],
        cwd=tmp_path, env=dict(os.environ, BPCORE_BACKEND=backend), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
        # as a terminal's Ctrl-C finds it: a runner started in the background by a shell
        # without job control hands its children SIGINT ignored, and Python then keeps it so
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        # progress off a terminal always shows the first epoch: training has begun
        for line in process.stderr:
            if line.startswith("epoch"):
                break
        process.send_signal(getattr(signal, signal_name))
        out, err = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == status, err
    assert "Traceback" not in err and ("interrupted" in err) == (signal_name == "SIGINT")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.csv"]


@pytest.mark.parametrize("orig_argv, argv0, expected", [
    (["python", "-m", "bpcore", "info"], "-m", True),
    (["python", "-u", "-m", "bpcore", "info"], "-m", True),
    (["python", "-X", "dev", "-W", "error", "-I", "-m", "bpcore"], "-m", True),
    (["python", "-mbpcore", "info"], "-m", True),
    (["/venv/bin/python", "/venv/bin/bpcore", "info"], "/venv/bin/bpcore", True),
    (["python", "bpcore.exe"], "C:/venv/Scripts/bpcore.exe", True),
    (["python", "-m", "bpcore.sklearn"], "-m", False),
    (["python", "-m", "pytest", "-m", "bpcore"], "-m", False),
    (["python", "script.py", "-m", "bpcore"], "script.py", False),
    (["python", "-c", "import bpcore", "-m", "bpcore"], "-c", False),
    (["python"], "", False),
])
def test_the_command_line_is_recognised_however_python_is_started(orig_argv, argv0, expected):
    from bpcore._command_line import started_as_command_line
    assert started_as_command_line(orig_argv, argv0) is expected


def test_bad_backend_variable_with_interpreter_options_is_one_line(backend, tmp_path):
    result = subprocess.run([sys.executable, "-u", "-X", "dev", "-m", "bpcore", "info"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120,
                            env=dict(os.environ, BPCORE_BACKEND="cyton"))
    assert_bad_input(result, "'auto', 'cython' or 'python', got 'cyton'")


def test_a_closed_stdout_is_no_crash(backend, tmp_path):
    # started with file descriptor 1 closed (`bpcore info >&-`), Python's sys.stdout is None
    result = subprocess.run(["sh", "-c", 'exec "$0" -m bpcore info >&-', sys.executable],
                            cwd=tmp_path, stderr=subprocess.PIPE, text=True, timeout=120,
                            env=dict(os.environ, BPCORE_BACKEND=backend))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


@pytest.mark.parametrize("flags", [["--loss", "poisson"], ["--output-activation", "exp"]])
def test_train_counts_with_poisson_picks_the_matching_head(backend, tmp_path, flags):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    counts = rng.poisson(np.exp(0.5 * X[:, 0]))
    write_csv(tmp_path / "counts.csv", ["a", "b", "n"],
              [[f"{a:.4f}", f"{b:.4f}", str(c)] for (a, b), c in zip(X, counts)])
    result = run(backend, tmp_path, "train", "counts.csv", "--target", "n", "--regression",
                 "--epochs", "5", "--quiet", *flags)
    assert result.returncode == 0, result.stderr
    network = bpcore.io.load(tmp_path / "model.npz")
    assert (network.output, network.loss_name) == ("exp", "poisson")


def test_train_warns_when_the_model_is_worse_than_predicting_the_mean(backend, tmp_path):
    write_csv(tmp_path / "train.csv", ["x", "colour", "y"], blobs())
    frequencies = np.unique([row[1] for row in blobs()], return_counts=True)[1] / 90
    # one epoch: fit's own warning of a loss that rose needs two, and one is enough
    result = run(backend, tmp_path, "train", "train.csv", "--target", "colour", "--lr", "1e6",
                 "--epochs", "1", "--quiet", "--validation-fraction", "0")
    assert result.returncode == 0, result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr
    match = re.search(r"^bpcore: warning: the training loss \(([\d.e+]+)\) is more than 10% "
                      r"above that of predicting the training targets' mean for every row "
                      r"\(([\d.]+)\): the model is worse than none; try a smaller --lr$",
                      result.stderr, re.MULTILINE)
    assert match, result.stderr
    assert float(match.group(1)) > 1000
    # every class a third of the rows: the mean's cross-entropy is log 3
    assert float(match.group(2)) == pytest.approx(-(frequencies * np.log(frequencies)).sum(),
                                                  rel=1e-3)
    # a rate too small to move the network far from its start in one epoch, on classes of
    # 81 and 9 rows (the mean's cross-entropy 0.33; about log 2 for the untrained network's
    # even odds): better than the untrained network, so the hint is the other way
    write_csv(tmp_path / "rare.csv", ["x", "kind", "y"],
              [[x, "rare" if i < 9 else "common", y] for i, (x, _, y) in enumerate(blobs())])
    result = run(backend, tmp_path, "train", "rare.csv", "--target", "kind", "--lr", "1e-4",
                 "--epochs", "1", "--quiet", "--validation-fraction", "0")
    assert result.returncode == 0, result.stderr
    assert re.search(r"the model is worse than none; try a larger --lr or more --epochs \(the "
                     r"untrained network's loss was [\d.]+\)$", result.stderr), result.stderr
    result = run(backend, tmp_path, "train", "train.csv", "--target", "colour", "--lr", "0.05",
                 "--epochs", "30", "--quiet")
    assert result.returncode == 0 and "warning" not in result.stderr, result.stderr
    # a model that learnt nothing ties with the mean (labels of noise, weight decay strong
    # enough to keep every weight near 0): no warning, whichever way the roundings go
    write_csv(tmp_path / "noise.csv", ["a", "b", "label"], noise())
    for optimizer in (["--optimizer", "lbfgs", "--weight-decay", "100"],
                      ["--lr", "0.01", "--weight-decay", "10"]):
        result = run(backend, tmp_path, "train", "noise.csv", "--target", "label", "--quiet",
                     "--epochs", "30", *optimizer)
        assert result.returncode == 0 and "warning" not in result.stderr, result.stderr
    # targets all alike: the mean's loss is 0, and a good fit's a little above it
    write_csv(tmp_path / "flat.csv", ["a", "b", "y"], [[row[0], row[1], "3.0"] for row in noise()])
    result = run(backend, tmp_path, "train", "flat.csv", "--target", "y", "--quiet",
                 "--epochs", "30", "--regression")
    assert result.returncode == 0 and "warning" not in result.stderr, result.stderr


@pytest.mark.parametrize("output, loss, targets", [
    ("identity", "mse", lambda rng: rng.normal(3.0, 2.0, (50, 2))),
    ("softmax", "cross_entropy", lambda rng: np.eye(4)[rng.integers(0, 3, 50)]),
    ("sigmoid", "binary_cross_entropy", lambda rng: (rng.random((50, 2)) < [0.2, 0.7]) * 1.0),
    ("exp", "poisson", lambda rng: rng.poisson(3.0, (50, 1)) * 1.0),
    ("tanh", "mse", lambda rng: rng.uniform(-1, 1, (50, 1))),
    ("relu", "mse", lambda rng: rng.uniform(0, 4, (50, 2))),
    ("leaky_relu", "mse", lambda rng: rng.normal([-2.0, 3.0], 1.0, (50, 2))),
])
def test_constant_loss_is_the_loss_of_the_targets_mean(output, loss, targets):
    rng = np.random.default_rng(0)
    Y = targets(rng)
    X = rng.normal(size=(50, 3))
    weights = rng.uniform(0.5, 2.0, 50)
    network = bpcore.Network([3, 5, Y.shape[1]], output=output, loss=loss, seed=0)
    got = cli._constant_loss(network, X, Y, weights)
    mean = np.average(Y, axis=0, weights=weights)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_row = {
            "mse": 0.5 * ((Y - mean) ** 2).sum(axis=1),
            "cross_entropy": -(Y * np.log(np.maximum(mean, 1e-12))).sum(axis=1),
            "binary_cross_entropy":
                -(Y * np.log(mean) + (1 - Y) * np.log(1 - mean)).sum(axis=1),
            "poisson": (np.where(Y > 0, Y * np.log(Y / mean), 0) - Y + mean).sum(axis=1),
        }[loss]
    assert got == pytest.approx(np.average(per_row, weights=weights), rel=1e-9)


def test_a_diverged_training_says_no_model_was_written(backend, tmp_path, capsys):
    write_csv(tmp_path / "prices.csv", ["a", "b", "price"], linear(n=30))
    result = main_in_process(capsys, "train", tmp_path / "prices.csv", "--target", "price",
                             "--activation", "relu", "--lr", "1e6", "--epochs", "20",
                             "--out", tmp_path / "model.npz")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]  # after the line that says what trains
    assert last.startswith("bpcore: error: training diverged in epoch 1 (loss "), last
    assert "); try a learning rate smaller than lr=1e+06" in last, last
    assert last.endswith("; no model file was written"), last
    assert "the network keeps the parameters" not in result.stderr  # the API's wording
    assert not (tmp_path / "model.npz").exists()
