"""The benchmark code runs (tiny sizes, no timing assertions): every case is in the table and
every ratio is a positive number."""
import math
import re

import pytest

from bpcore import bench
from bpcore._numpy_baseline import NumpyNetwork

CASE_KEYS = ["tiny_online", "mid_online", "mid_batch_f32", "mid_batch_f64", "large_batch_f32",
             "predict", "two_threads", "memory_mid_batch_f64", "memory_large_batch_f32"]


@pytest.fixture(scope="module")
def rows():
    # the benchmark swaps the backend itself and restores it afterwards
    return bench.collect("smoke")


def test_every_case_has_a_row(rows, backend):
    assert [row.key for row in rows] == CASE_KEYS


def test_ratios_are_positive_numbers(rows, backend):
    for row in rows:
        assert row.ratios, row.key
        for name, ratio in row.ratios.items():
            assert math.isfinite(ratio) and ratio > 0, (row.key, name, ratio)
        if row.target_name:
            assert math.isfinite(row.target_value) and row.target_value > 0, row.key


def test_main_prints_one_table(capsys, backend):
    assert bench.main(["--smoke", "--quiet"]) == 0
    out = capsys.readouterr().out
    for row in bench.collect("smoke"):
        assert row.title in out
    # every ratio printed in the table parses as a positive number
    ratios = [float(text) for text in re.findall(r"(\d+\.\d+)x", out)]
    assert ratios and all(ratio > 0 for ratio in ratios)


def test_numpy_baseline_learns(backend):
    case = bench.cases("smoke")[0]
    X, Y = bench._data(case)
    baseline = NumpyNetwork.like(bench._network(case))
    losses = baseline.fit(X, Y, epochs=30, lr=0.5, batch_size=1, rng=0)
    assert losses[-1] < losses[0]
