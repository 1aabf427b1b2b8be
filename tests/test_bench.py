"""The benchmark code runs (tiny sizes, no timing assertions): every case is in the table and
every ratio is a positive number. The FANN and scikit-learn comparisons appear as rows when
their library is installed and as a note line when it is not."""
import collections
import contextlib
import math
import re

import numpy as np
import pytest

import bpcore
from bpcore import _backend, bench
from bpcore.bench.fann import Fann, connection_count
from bpcore.bench.numpy_baseline import NumpyNetwork

CASE_KEYS = ["tiny_online", "mid_online", "mid_batch_f32", "mid_batch_f64", "large_batch_f32",
             "predict", "step", "two_threads", "memory_mid_batch_f64", "memory_large_batch_f32"]
FANN_KEYS = ["fann_tiny", "fann_mid"]
SKLEARN_KEYS = ["sklearn_digits"]
HAVE_FANN = bench.fann_library() is not None
HAVE_SKLEARN = bench._sklearn() is not None


@pytest.fixture(scope="module")
def rows():
    # the benchmark swaps the backend itself and restores it afterwards
    return bench.collect("smoke")


class CountingKernels:
    """Forwards to `kernels`, counting the calls under `name` in `counts`."""

    def __init__(self, kernels, name, counts):
        self.kernels, self.name, self.counts = kernels, name, counts

    def __getattr__(self, attribute):
        value = getattr(self.kernels, attribute)
        if not callable(value):
            return value

        def counted(*args, **kwargs):
            self.counts[self.name] += 1
            return value(*args, **kwargs)
        return counted


def test_collect_runs_each_column_on_its_backend_and_restores_the_choice(monkeypatch, backend):
    """The compiled and fallback columns run on the kernels they name, switched with
    use_backend, and the kernels this test runs on are back in place afterwards."""
    expected = {"cython", "python"} if bench._have_compiled() else {"python"}
    counts, use_backend = collections.Counter(), bench.use_backend

    @contextlib.contextmanager
    def counting(choice):
        with use_backend(choice) as kernels, use_backend(
                CountingKernels(kernels, choice, counts)) as counted:
            yield counted
    monkeypatch.setattr(bench, "use_backend", counting)
    before = _backend.kernels
    bench.collect("smoke")
    assert _backend.kernels is before and bpcore.backend == backend
    assert set(counts) == expected


def test_every_case_has_a_row(rows, backend):
    expected = (CASE_KEYS + (FANN_KEYS if HAVE_FANN else [])
                + (SKLEARN_KEYS if HAVE_SKLEARN else []))
    assert [row.key for row in rows] == expected


def test_ratios_are_positive_numbers(rows, backend):
    for row in rows:
        assert row.ratios, row.key
        for name, ratio in row.ratios.items():
            assert math.isfinite(ratio) and ratio > 0, (row.key, name, ratio)
        for target in row.targets:
            assert math.isfinite(target.value) and target.value > 0, (row.key, target)


def test_training_flops_counts_each_product_once():
    # 2-3-1: forward 2*3 + 3*1 multiply-adds, back-propagated delta 3*1, weight gradients
    # 2*3 + 3*1: 21 multiply-adds, 42 operations
    assert bench.training_flops((2, 3, 1)) == 42
    assert bench.training_flops((5, 7)) == 2 * 2 * 35  # one layer: no delta to propagate


def test_mini_batch_rows_state_their_throughput(rows, backend):
    for row in rows:
        if row.key.startswith(("mid_batch", "large_batch")):
            rates = dict(re.findall(r"(\w+) (\d+\.\d)", row.note.split("GFLOP/s")[1]))
            assert set(rates) == set(row.values) and all(float(r) > 0 for r in rates.values())


def test_other_library_rows(rows, backend):
    by_key = {row.key: row for row in rows}
    for key in FANN_KEYS if HAVE_FANN else []:
        assert set(by_key[key].ratios) == {"fann"}
        assert [target.name for target in by_key[key].targets] == ["fann/compiled"]
        assert "connections" in by_key[key].note
    for key in SKLEARN_KEYS if HAVE_SKLEARN else []:
        assert set(by_key[key].ratios) == {"sklearn"}
        assert [target.name for target in by_key[key].targets] == ["sklearn/compiled"]
        assert "training accuracy" in by_key[key].note


def test_main_prints_one_table(capsys, backend):
    assert bench.main(["--smoke", "--quiet"]) == 0
    out = capsys.readouterr().out
    for row in bench.collect("smoke"):
        assert (row.label or row.title) in out
    # every ratio printed in the table parses as a positive number
    ratios = [float(text) for text in re.findall(r"(\d+\.\d+)x", out)]
    assert ratios and all(ratio > 0 for ratio in ratios)
    assert ("vs FANN incremental" in out) == HAVE_FANN
    assert ("note: FANN" in out) == (not HAVE_FANN)
    assert ("vs scikit-learn MLPClassifier" in out) == HAVE_SKLEARN
    assert ("note: scikit-learn" in out) == (not HAVE_SKLEARN)


def test_missing_libraries_give_notes_not_rows(capsys, monkeypatch, backend):
    monkeypatch.setattr(bench, "fann_library", lambda: None)
    monkeypatch.setattr(bench, "_sklearn", lambda: None)
    assert bench.notes() == [
        "note: FANN (libdoublefann, Debian package libfann-dev) is not installed; the FANN "
        "comparison rows are skipped",
        "note: scikit-learn is not installed; the scikit-learn MLPClassifier comparison row "
        "is skipped"]
    rows = bench.collect("smoke")
    assert [row.key for row in rows] == CASE_KEYS
    capsys.readouterr()
    monkeypatch.setattr(bench, "collect", lambda *args, **kwargs: rows)
    assert bench.main(["--smoke", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "note: FANN" in out and "note: scikit-learn" in out


def test_default_output_fits_120_columns_and_checks_no_targets(capsys, backend):
    assert bench.main(["--smoke"]) == 0
    captured = capsys.readouterr()
    lines = (captured.out + captured.err).splitlines()
    assert any(line.startswith("case") for line in lines)  # the table was printed
    assert all(len(line) <= 120 for line in lines), max(lines, key=len)
    assert ">=" not in captured.out and "MISSED" not in captured.out


def test_default_table_fits_120_columns_with_the_full_titles(rows, backend):
    """The smoke titles are shorter than the default and full ones: fill the table with those,
    and with a title far too long, which is cut short rather than widening the table."""
    cases = bench.cases("full") + bench.fann_cases("full")
    titles = [case.title for case in cases] + [bench.sklearn_case("full").title]
    long_title = "x" * 300
    filled = [bench.Row(f"row{index}", title, "s/sample",
                        {"compiled": 1.23e-6, "fallback": 4.56, "numpy": 1.0, "torch": 1.0,
                         "fann": 9.87e-6}, ratios={"fallback": 3.7e7, "numpy": 1.2e6,
                                                   "torch": 999.999, "fann": 8.02})
              for index, title in enumerate([*titles, long_title])] + list(rows)
    table = bench.format_table(filled)
    assert all(len(line) <= 120 for line in table.splitlines()), max(table.splitlines(), key=len)
    for title in titles:
        assert title in table
    assert long_title not in table and long_title[:40] in table


def test_wide_table_shows_every_time_and_note(rows, backend):
    table = bench.format_table(rows, wide=True)
    for row in rows:
        assert row.title in table
        assert not row.note or row.note in table
    for name in bench.IMPLEMENTATIONS:
        assert name in table.splitlines()[0]
    assert ">=" not in table and "MISSED" not in table


@pytest.mark.parametrize("wide", [False, True])
def test_targets_only_with_the_flag(rows, wide, backend):
    checked = [row for row in rows if row.targets]
    assert checked
    table = bench.format_table(rows, wide=wide, targets=True)
    for row in checked:
        line = next(line for line in table.splitlines() if line.startswith(row.label or row.title)
                    or line.startswith(row.title))
        for target in row.targets:
            assert str(target) in line
    assert ">=" not in bench.format_table(rows, wide=wide)


def test_a_target_says_met_or_missed():
    assert str(bench.Target("numpy/compiled", 4.5, 4.0)) == "numpy/compiled 4.50x >= 4 met"
    assert str(bench.Target("numpy/compiled", 2.36, 4.0)) == "numpy/compiled 2.36x >= 4 MISSED"
    assert str(bench.Target("torch/compiled", float("nan"), 1.0)).endswith("MISSED")


def test_options_reach_the_table(capsys, monkeypatch, rows, backend):
    calls = []

    def collect(scale, **kwargs):
        calls.append(scale)
        return rows
    monkeypatch.setattr(bench, "collect", collect)
    assert bench.main(["--full", "--wide", "--targets", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert calls == ["full"]
    assert "numpy/comp" in out and ">=" in out
    assert bench.main(["--quiet"]) == 0 and calls == ["full", "default"]


@pytest.mark.skipif(not HAVE_FANN, reason="FANN (libdoublefann) is not installed")
def test_fann_twin_is_the_same_network(backend):
    """Same widths, starting weights, outputs and, after one in-order epoch, weights."""
    case = bench.fann_cases("smoke")[1]
    X, Y = bench._data(case)
    network = bench._network(case)
    fann = Fann(bench.fann_library(), network, X, Y, case.lr)
    assert fann.n_connections == connection_count(case.sizes)
    weights, biases = fann.weights()
    for mine, theirs in zip(network.weights + network.biases, weights + biases):
        np.testing.assert_array_equal(mine, theirs)
    fann.train_epoch()
    network.fit(X, Y, epochs=1, lr=case.lr, batch_size=1, shuffle=False)
    weights, biases = fann.weights()
    for mine, theirs in zip(network.weights + network.biases, weights + biases):
        # FANN keeps the learning rate as a C float and clips sigmoid' at outputs 0.01..0.99
        np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-6)


@pytest.mark.skipif(not HAVE_SKLEARN, reason="scikit-learn is not installed")
def test_sklearn_comparison_settings_match(backend):
    ours, theirs = bench._sklearn_estimators(bench.sklearn_case("default"), bench._sklearn())
    assert theirs.hidden_layer_sizes == ours.hidden_layer_sizes
    assert (theirs.batch_size, theirs.learning_rate_init, theirs.momentum, theirs.max_iter) == (
        ours.batch_size, ours.lr, ours.momentum, ours.epochs)
    assert theirs.n_iter_no_change >= theirs.max_iter  # no early stop


def test_numpy_baseline_learns(backend):
    case = bench.cases("smoke")[0]
    X, Y = bench._data(case)
    baseline = NumpyNetwork.like(bench._network(case))
    losses = baseline.fit(X, Y, epochs=30, lr=0.5, batch_size=1, rng=0)
    assert losses[-1] < losses[0]
