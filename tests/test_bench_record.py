"""What `bpcore bench` records: the machine header, the --json file and --compare of two files.

One smoke run of the bench for the whole module (it takes a few seconds); the rest works on
its file, or on rows and files made here. No timing is asserted."""
import contextlib
import datetime
import io
import json
import math
import os
import re
import sys

import pytest

import bpcore
from bpcore import _backend, bench, cli
from bpcore.bench import record
from bpcore.bench.table import TABLE_WIDTH

MACHINE_KEYS = {"cpu", "cpu_model", "cpu_features", "arch", "logical_cpus", "usable_cpus",
                "os", "python", "numpy", "scipy", "bpcore", "backend", "simd", "simd_variants",
                "build_flags", "blas", "torch", "environment", "date"}
LIBRARY_KEYS = {"user_api", "internal_api", "version", "architecture", "num_threads", "filepath",
                "package"}


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    """`bpcore bench --smoke --quiet --json PATH`, once: (path, its stdout, the rows it printed)."""
    folder = tmp_path_factory.mktemp("run")
    path = str(folder / "run.json")
    printed, original = [], bench.format_table

    def format_table(rows, **kwargs):
        printed.append(list(rows))
        return original(rows, **kwargs)
    out = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(out):
        patch.setattr(bench, "format_table", format_table)
        status = bench.main(["--smoke", "--quiet", "--json", path])
    assert status == 0 and len(printed) == 1
    return path, out.getvalue(), printed[0]


def as_json(rows):
    """Rows as text: equal exactly when every field is, NaN included (NaN != NaN as a float)."""
    return [json.dumps(record.row_to_dict(row), sort_keys=True) for row in rows]


def a_row(key, compiled, **ratios):
    return bench.Row(key, f"case {key}", "s/sample", {"compiled": compiled, "numpy": 2 * compiled},
                     ratios={"numpy": 2.0, **ratios})


def save(path, rows, scale="default"):
    record.write_run(str(path), {"cpu": "test CPU"}, scale, rows)
    return str(path)


# ---- the machine ----

def test_machine_says_where_the_bench_runs(backend):
    machine = record.machine()
    assert set(machine) == MACHINE_KEYS
    assert isinstance(machine["cpu"], str) and machine["cpu"]
    if record._cpuinfo().get("cpu family"):  # Linux on x86: the family and model too
        assert re.fullmatch(r"family \d+ model \d+", machine["cpu_model"])
        assert record.header_lines(machine)[0].startswith(
            f"cpu: {machine['cpu']}, {machine['cpu_model']} (")
    else:
        assert machine["cpu_model"] is None
    assert machine["logical_cpus"] == os.cpu_count()
    assert machine["bpcore"] == bpcore.__version__
    assert machine["backend"] == backend == bpcore.backend
    assert isinstance(machine["simd"], str) and machine["simd"]
    try:
        flags = _backend.compiled().BUILD_FLAGS
    except ImportError:
        flags = "compiled module not importable"
    assert machine["build_flags"] == flags
    assert set(machine["cpu_features"]) <= set(record.CPU_FEATURES)
    date = datetime.datetime.fromisoformat(machine["date"])
    assert date.utcoffset() == datetime.timedelta(0)
    assert abs(datetime.datetime.now(datetime.timezone.utc) - date).total_seconds() < 3600
    if machine["blas"] != "threadpoolctl not installed":
        # numpy is loaded, so its BLAS at least is listed
        assert any(library["user_api"] == "blas" for library in machine["blas"])
        for library in machine["blas"]:
            assert set(library) == LIBRARY_KEYS and os.sep not in library["filepath"]
    torch = machine["torch"]
    assert torch == "not installed" or (set(torch) == {"version", "threads"}
                                        and torch["threads"] >= 1)
    assert json.loads(json.dumps(machine)) == machine  # JSON-ready as it is


def test_machine_without_threadpoolctl_says_so(monkeypatch, backend):
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)  # `import threadpoolctl` now fails
    machine = record.machine()
    assert machine["blas"] == "threadpoolctl not installed"
    assert "BLAS: threadpoolctl not installed" in record.header_lines(machine)


def test_package_of_a_library_names_who_ships_it():
    site = os.path.join(os.sep, "venv", "lib", "python3.11", "site-packages")
    assert record._package_of(os.path.join(site, "numpy.libs", "libopenblas.so")) == "numpy"
    assert record._package_of(os.path.join(site, "torch", "lib", "libgomp.so.1")) == "torch"
    assert record._package_of(os.path.join(os.sep, "usr", "lib", "libopenblas.so")) == ""


def test_header_names_cpu_simd_blas_flags_and_versions(backend):
    machine = record.machine()
    lines = record.header_lines(machine)
    text = " ".join(line.strip() for line in lines)
    assert all(len(line) <= TABLE_WIDTH for line in lines), max(lines, key=len)
    for value in (machine["cpu"], f"SIMD variant {machine['simd']}", machine["build_flags"],
                  f"numpy {machine['numpy']}", f"bpcore {bpcore.__version__}", machine["date"]):
        assert str(value) in text, value
    for library in machine["blas"] if isinstance(machine["blas"], list) else []:
        assert f"{library['num_threads']} threads" in text
        assert not library["architecture"] or f"kernel {library['architecture']}" in text


def test_header_of_an_older_or_partial_file_shows_what_it_has():
    lines = record.header_lines({"cpu": "Some CPU", "blas": [], "environment": {"X": "1"}})
    assert lines[0].startswith("cpu: Some CPU") and "SIMD variant ?" in lines[1]
    assert "BLAS: none loaded" in lines and lines[-1].endswith("environment X=1")


def test_long_header_lines_continue_indented():
    lines = record.header_lines({"build_flags": " ".join(["-mflag"] * 60)}, width=80)
    flags = [line for line in lines if "-mflag" in line]
    assert len(flags) > 2 and all(len(line) <= 80 for line in lines)
    assert all(line.startswith("  ") for line in flags[1:])
    assert " ".join(line.strip() for line in flags).count("-mflag") == 60


# ---- --json ----

def test_json_file_holds_the_printed_rows_and_the_machine(smoke_run, backend):
    path, out, printed = smoke_run
    with open(path, encoding="utf-8") as file:
        document = json.load(file)
    assert list(document) == ["bpcore_bench", "machine", "scale", "rows"]
    assert document["bpcore_bench"] == record.FORMAT_VERSION == 1
    assert document["scale"] == "smoke" and set(document["machine"]) == MACHINE_KEYS
    run = record.read_run(path)
    assert as_json(run.rows) == as_json(printed) and len(run.rows) == len(printed) > 10
    assert bench.format_table(run.rows) in out  # the loaded rows print as the table did
    assert "cpu:" not in out and "wrote" not in out  # --quiet: the table only


def test_json_write_leaves_only_the_file(smoke_run, backend):
    path, _, _ = smoke_run
    assert os.listdir(os.path.dirname(path)) == ["run.json"]


def test_a_run_replaces_an_older_file_whole(tmp_path, backend):
    path = save(tmp_path / "run.json", [a_row(f"row{i}", 1e-6) for i in range(50)])
    save(path, [a_row("only", 2e-6)])
    assert [row.key for row in record.read_run(path).rows] == ["only"]
    assert os.listdir(tmp_path) == ["run.json"]


def test_nan_and_infinities_round_trip(tmp_path, backend):
    row = bench.Row("odd", "odd values", "s/sample",
                    {"compiled": 1e-6, "numpy": math.inf, "torch": math.nan},
                    ratios={"numpy": math.inf, "torch": math.nan}, label="odd", note="n",
                    targets=[bench.Target("torch/compiled", math.nan, 1.0),
                             bench.Target("numpy/compiled", -math.inf, 4.0)])
    loaded = record.read_run(save(tmp_path / "odd.json", [row])).rows[0]
    assert as_json([loaded]) == as_json([row])
    assert math.isnan(loaded.values["torch"]) and loaded.values["numpy"] == math.inf
    assert math.isnan(loaded.targets[0].value) and loaded.targets[1].value == -math.inf
    assert str(loaded.targets[0]).endswith("MISSED")


def test_json_into_a_missing_folder_fails_before_the_run(tmp_path, monkeypatch, capsys,
                                                          backend):
    def collect(*args, **kwargs):
        raise AssertionError("the bench ran although --json cannot be written")
    monkeypatch.setattr(bench, "collect", collect)
    path = tmp_path / "missing" / "run.json"
    assert bench.main(["--smoke", "--quiet", "--json", str(path)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "does not exist" in err and "Traceback" not in err
    assert not path.parent.exists() and os.listdir(tmp_path) == []
    assert bench.main(["--smoke", "--quiet", "--json", str(tmp_path)]) == 2  # a folder
    assert "is a directory" in capsys.readouterr().err


def test_json_folder_gone_by_the_end_of_the_run_is_an_error(tmp_path, monkeypatch, capsys,
                                                            backend):
    folder = tmp_path / "out"
    folder.mkdir()
    rows = [a_row("one", 1e-6)]

    def collect(*args, **kwargs):
        folder.rmdir()  # removed while the bench ran
        return rows
    monkeypatch.setattr(bench, "collect", collect)
    assert bench.main(["--smoke", "--quiet", "--json", str(folder / "run.json")]) == 2
    captured = capsys.readouterr()
    assert "case one" in captured.out  # the table was printed
    assert str(folder / "run.json") in captured.err and "Traceback" not in captured.err
    assert os.listdir(tmp_path) == []


# ---- --compare ----

def compare_lines(capsys, *args):
    assert bench.main(["--compare", *args]) == 0
    return capsys.readouterr().out.splitlines()


def test_compare_a_run_with_itself(smoke_run, capsys, backend):
    path, _, printed = smoke_run
    lines = compare_lines(capsys, path, path)
    assert lines[0] == f"A: {path} (scale smoke)" and f"B: {path} (scale smoke)" in lines
    table = {line.split()[0]: line for line in lines if line.strip()}
    for row in printed:
        # a key gives way (its middle shown as "...") only where ratios of 1,000 and more
        # widen the other columns; the ends stay, and every row keeps a line of its own
        shown = [key for key in table if key == row.key or (
            "..." in key and row.key.startswith(key.split("...")[0])
            and row.key.endswith(key.split("...")[1]))]
        assert len(shown) == 1, (row.key, shown)
        table[row.key] = table[shown[0]]
        if row.values.get("compiled"):
            assert " 1.00x " in table[row.key], table[row.key]
        for name, ratio in row.ratios.items():
            if name in ("numpy", "torch", "jax", "floor"):  # not the fallback: see format_comparison
                assert f"{record._short_ratio(ratio)}/{record._short_ratio(ratio)}" in (
                    table[row.key])
    assert not any(line.startswith("only in") for line in lines)
    assert all(len(line) <= TABLE_WIDTH for line in lines), max(lines, key=len)


def test_compare_gives_b_speedup_over_a_and_rows_of_one_run(tmp_path, capsys, backend):
    a = save(tmp_path / "a.json", [a_row("both", 4e-6, fann=1.5), a_row("gone", 1e-6)])
    b = save(tmp_path / "b.json", [a_row("both", 1e-6, fann=3.0), a_row("new", 1e-6)])
    lines = compare_lines(capsys, a, b, "--quiet")
    assert not any(line.startswith(("A:", "B:", "  cpu:")) for line in lines)  # no headers
    both = next(line for line in lines if line.startswith("both"))
    assert "4 us" in both and "1 us" in both and "4.00x" in both  # A's time / B's
    assert "2.00/2.00" in both and "fann 1.50/3.00" in both
    assert f"only in A ({a}): gone" in lines and f"only in B ({b}): new" in lines
    assert not any(line.startswith(("gone", "new")) for line in lines)


def test_compare_fits_the_width_whatever_the_ratios(tmp_path, capsys, backend):
    # the widest cells every column can have: ratios past 10,000 (a peer's first call, a
    # missing floor), the longest keys, the other library's name; CI once met one of them
    key = "step_nesterov_large_batch_momentum_f32"
    huge = {"numpy": 12345.0, "torch": 98765.4, "jax": 1.5e7, "floor": 0.001, "sklearn": 4321.0}
    rows = [a_row(key, 1.23e-6, **huge), a_row(key.replace("f32", "f64"), 1.5e-6, **huge),
            a_row("short", 9.99, fann=2.5)]
    a, b = save(tmp_path / "a.json", rows), save(tmp_path / "b.json", rows[:2] + [
        a_row("short", 9.99e-5, fann=2.5)])  # speedup 1e5: that column is wide too
    lines = compare_lines(capsys, a, b, "--quiet")
    assert all(len(line) <= TABLE_WIDTH for line in lines), max(lines, key=len)
    wide = [line for line in lines if line.startswith(key[:10])]
    # the names' middles give way, their ends tell them apart
    assert [line.split()[0][-3:] for line in wide] == ["f32", "f64"] and "..." in wide[0]
    assert "1e4/1e4" in wide[0] and "2e7/2e7" in wide[0] and "sklearn 4321/4321" in wide[0]
    assert "1.2e4" not in wide[0]  # not a ratio that takes more than its four characters
    assert next(line for line in lines if line.startswith("short ")).endswith("fann 2.50/2.50")


@pytest.mark.parametrize("ratio, text", [(0.971, "0.97"), (59.24, "59.2"), (237.4, "237"),
                                         (9.996, "10.0"), (99.96, "100"), (9999.4, "9999"),
                                         (9999.6, "1e4"), (98765.0, "1e5"), (1.5e7, "2e7"),
                                         (float("inf"), "inf")])
def test_short_ratios_take_four_characters_at_most(ratio, text):
    assert record._short_ratio(ratio) == text


def test_compare_warns_when_the_scales_differ(tmp_path, capsys, backend):
    a = save(tmp_path / "a.json", [a_row("one", 1e-6)], scale="smoke")
    b = save(tmp_path / "b.json", [a_row("one", 1e-6)], scale="full")
    assert any("A ran at scale smoke and B at full" in line
               for line in compare_lines(capsys, a, b))


@pytest.mark.parametrize("content, message", [
    (None, "No such file"),
    ('{"bpcore_bench": 1, "machine": {', "is not JSON"),
    (b"\xff\xfe not text", "is not JSON"),
    ('{"machine": {}, "scale": "smoke", "rows": []}', "no 'bpcore_bench' key"),
    ("[1, 2]", "not an object"),
    ('{"bpcore_bench": 2}', "of format 2; this bpcore reads format 1"),
    ('{"bpcore_bench": 1, "machine": {}, "scale": "smoke"}', "'rows' list"),
    ('{"bpcore_bench": 1, "machine": {}, "scale": "smoke", "rows": [{"key": "x"}]}',
     "row 0: 'title' must be a string"),
    ('{"bpcore_bench": 1, "machine": {}, "scale": "s", "rows": [{"key": "x", "title": "t", '
     '"unit": "s", "values": {"compiled": "fast"}}]}', "values['compiled'] must be a number"),
], ids=["missing", "truncated", "not-utf8", "no-key", "array", "version", "no-rows",
        "row-field", "row-value"])
def test_compare_refuses_a_file_that_is_not_a_bench_run(tmp_path, capsys, content, message,
                                                        backend):
    good = save(tmp_path / "good.json", [a_row("one", 1e-6)])
    bad = tmp_path / "bad.json"
    if content is not None:
        bad.write_bytes(content if isinstance(content, bytes) else content.encode())
    for args in ([good, str(bad)], [str(bad), good]):
        assert bench.main(["--compare", *args]) == 2
        captured = capsys.readouterr()
        assert captured.out == ""
        assert str(bad) in captured.err and message in captured.err, captured.err
        assert captured.err.startswith("bpcore: error: ") and "Traceback" not in captured.err
    assert cli.main(["bench", "--compare", good, str(bad)]) == 2  # through `bpcore bench`
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("option", [["--smoke"], ["--full"], ["--json", "x.json"], ["--wide"],
                                    ["--targets"]])
def test_compare_runs_nothing_so_takes_no_run_options(tmp_path, capsys, option, backend):
    path = save(tmp_path / "a.json", [a_row("one", 1e-6)])
    with pytest.raises(SystemExit) as exit_info:
        bench.main(["--compare", path, path, *option])
    assert exit_info.value.code == 2
    assert "cannot be combined" in capsys.readouterr().err
    assert os.listdir(tmp_path) == ["a.json"]


def test_one_scale_per_run(capsys):
    # --smoke --full ran the smoke scale silently
    with pytest.raises(SystemExit) as exit_info:
        bench.main(["--smoke", "--full"])
    assert exit_info.value.code == 2
    assert "--full: not allowed with argument --smoke" in capsys.readouterr().err


def test_compare_takes_exactly_two_files(tmp_path, capsys, backend):
    path = save(tmp_path / "a.json", [a_row("one", 1e-6)])
    with pytest.raises(SystemExit) as exit_info:
        bench.main(["--compare", path])
    assert exit_info.value.code == 2 and "expected 2 arguments" in capsys.readouterr().err


def test_main_prints_the_header_above_the_table(monkeypatch, capsys, backend):
    monkeypatch.setattr(bench, "collect", lambda *args, **kwargs: [a_row("one", 1e-6)])
    monkeypatch.setattr(record, "machine", lambda: {"cpu": "Header CPU", "simd": "avx2"})
    assert bench.main(["--smoke"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "cpu: Header CPU (?), ? logical CPUs"
    assert "SIMD variant avx2" in lines[1]
    assert any(line.startswith("case") for line in lines[2:])  # the table, below the header
    assert bench.main(["--smoke", "--quiet"]) == 0
    assert "Header CPU" not in capsys.readouterr().out
