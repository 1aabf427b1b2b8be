"""`bpcore export` and `bpcore import`: models written by `bpcore train` travel as ONNX,
PyTorch and FANN files that give, on raw inputs, what `bpcore predict` gives; networks from
FANN and ONNX files become model files that `bpcore predict` runs. Bad input exits with
status 2 and one line, and writes nothing.

The command line runs in this process (cli.main), on the backend the autouse fixture chose.
"""
import csv
import ctypes
import io
import re
import subprocess
import sys

import numpy as np
import pytest

import bpcore
from bpcore import cli
from bpcore.bench.fann import doublefann


def main_in_process(capsys, *args):
    """cli.main as a CompletedProcess (a usage error's SystemExit gives the status)."""
    try:
        status = cli.main([str(arg) for arg in args])
    except SystemExit as exit:
        status = exit.code
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(args, status, out, err)


def ok(result):
    assert result.returncode == 0, (result.stdout, result.stderr)
    return result


def assert_bad_input(result, fragment):
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bpcore: error: "), result.stderr
    assert fragment in lines[0], lines[0]
    assert result.stdout == ""


def write_csv(path, header, rows):
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def read_csv(text):
    rows = list(csv.reader(io.StringIO(text)))
    return rows[0], rows[1:]


def blobs(n=60, seed=0):
    """Three clusters with string labels in 2 features, the target between them, at a mean
    and scale far from 0 and 1 so that the standardisation matters."""
    rng = np.random.default_rng(seed)
    centres = {"red": (10.0, -3.0), "green": (14.0, 2.0), "blue": (10.0, 5.0)}
    rows = []
    for i in range(n):
        name = list(centres)[i % 3]
        x, y = np.array(centres[name]) + rng.normal(scale=1.5, size=2)
        rows.append([f"{x:.5f}", name, f"{y:.5f}"])
    return rows


def prices(n=60, seed=0, offset=10.0):
    """A regression target near 80 (inside the [-150, 150] FANN clamps a linear output to,
    unless `offset` moves it)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(loc=[20.0, -4.0], scale=[3.0, 0.5], size=(n, 2))
    y = 3.0 * X[:, 0] - 2.0 * X[:, 1] + offset + np.sin(X[:, 0])
    return [[f"{a:.6f}", f"{b:.6f}", f"{t:.6f}"] for (a, b), t in zip(X, y)]


# (data, header, target, train options): the models these tests export
KINDS = {
    "classifier": (blobs, ["x", "colour", "y"], "colour", []),
    "sigmoid classifier": (blobs, ["x", "colour", "y"], "colour",
                           ["--output-activation", "sigmoid"]),
    "regressor": (prices, ["a", "b", "price"], "price", []),
}


class Trained:
    """A model that `bpcore train` wrote in tmp_path, new data for it, and what predict
    gives on that data."""

    def __init__(self, tmp_path, capsys, kind, *options):
        data, header, target, extra_options = KINDS[kind]
        self.tmp_path, self.kind = tmp_path, kind
        self.model = tmp_path / "model.npz"
        write_csv(tmp_path / "train.csv", header, data())
        ok(main_in_process(capsys, "train", tmp_path / "train.csv", "--target", target,
                           "--hidden", "5", "--epochs", "5", "--quiet", "--out", self.model,
                           *extra_options, *options))
        self.network, self.extra = bpcore.io.load(self.model, with_extra=True)
        features = [str(name) for name in self.extra["meta_features"]]
        # new rows, their columns in another order than the network reads them
        fresh = [dict(zip(header, row)) for row in data(n=12, seed=1)]
        self.data = write_csv(tmp_path / "new.csv", features[::-1],
                              [[row[name] for name in features[::-1]] for row in fresh])
        self.X = np.array([[float(row[name]) for name in features] for row in fresh])
        header, rows = read_csv(ok(main_in_process(capsys, "predict", self.model,
                                                   self.data)).stdout)
        self.printed = [row[0] for row in rows]

    def expected(self):
        """The outputs the exported network must give on self.X: the regressor's are the
        numbers predict printed; the classifier's are the probabilities predict takes the
        classes from (it prints only the classes, checked by check_outputs)."""
        if "meta_classes" not in self.extra:
            return np.array(self.printed, dtype=float).reshape(-1, 1)
        return self.network.predict((self.X - self.extra["meta_mean"])
                                    / self.extra["meta_std"])

    def check_outputs(self, outputs, rtol):
        outputs = np.asarray(outputs, dtype=np.float64)
        expected = self.expected()
        assert outputs.shape == expected.shape
        np.testing.assert_allclose(outputs, expected, rtol=rtol,
                                   atol=rtol * np.abs(expected).max())
        if "meta_classes" in self.extra:
            classes = self.extra["meta_classes"]
            assert [str(classes[i]) for i in outputs.argmax(axis=1)] == self.printed


def files_in(folder):
    return {path.name: path.read_bytes() for path in folder.iterdir() if path.is_file()}


def export(capsys, trained, form, out, *options):
    before = trained.model.read_bytes()
    result = ok(main_in_process(capsys, "export", trained.model, "--to", form, out, *options))
    assert result.stderr == ""
    assert trained.model.read_bytes() == before  # the folding changed a copy
    assert result.stdout.count("\n") == 1 and str(out) in result.stdout
    words = "-".join(map(str, trained.network.sizes))
    assert f"network {words} (" in result.stdout
    assert "input standardisation folded into the first layer" in result.stdout
    assert ("target scaling folded into the last layer" in result.stdout) == (
        trained.kind == "regressor")
    assert "inputs: " + ", ".join(trained.extra["meta_features"]) in result.stdout
    if "meta_classes" in trained.extra:
        assert (f"outputs: the classes {', '.join(trained.extra['meta_classes'])}, in this "
                f"order") in result.stdout
    return result


# ---- export: the exported network gives what predict gives ----

@pytest.mark.parametrize("kind", ["classifier", "regressor"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_export_onnx_gives_what_predict_gives(backend, tmp_path, capsys, kind, dtype):
    pytest.importorskip("onnx", reason="--to onnx needs the onnx package")
    onnxruntime = pytest.importorskip("onnxruntime", reason="runs the exported model")
    trained = Trained(tmp_path, capsys, kind, "--dtype", dtype)
    export(capsys, trained, "onnx", tmp_path / "model.onnx")
    session = onnxruntime.InferenceSession(str(tmp_path / "model.onnx"),
                                           providers=["CPUExecutionProvider"])
    (outputs,) = session.run(None, {session.get_inputs()[0].name: trained.X.astype(dtype)})
    # float64: the folded sums round differently from predict's (x - mean) / std; float32:
    # those roundings are of float32's size (2**-24), times the few terms of each sum
    trained.check_outputs(outputs, rtol=1e-9 if dtype == "float64" else 1e-4)


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_export_torch_gives_what_predict_gives(backend, tmp_path, capsys, kind):
    torch = pytest.importorskip("torch", reason="--to torch needs PyTorch")
    trained = Trained(tmp_path, capsys, kind)
    export(capsys, trained, "torch", tmp_path / "model.pt")
    module = torch.load(tmp_path / "model.pt", weights_only=False)  # a whole module: pickled
    assert isinstance(module, torch.nn.Sequential)
    with torch.no_grad():
        outputs = module(torch.from_numpy(trained.X)).numpy()
    trained.check_outputs(outputs, rtol=1e-9)


def fann_runner():
    """FANN's double-precision library with what run_with_fann calls, or None where it is
    not installed."""
    ann, values = ctypes.c_void_p, ctypes.POINTER(ctypes.c_double)
    return doublefann({"fann_create_from_file": (ann, [ctypes.c_char_p]),
                       "fann_run": (values, [ann, values]), "fann_destroy": (None, [ann])})


def run_with_fann(library, path, X, n_outputs):
    """FANN's own outputs for the rows of X, from the network file `path`."""
    network = library.fann_create_from_file(str(path).encode())
    assert network, f"FANN could not load {path}"
    try:
        outputs = []
        for row in np.ascontiguousarray(X, dtype=np.float64):
            result = library.fann_run(network, row.ctypes.data_as(ctypes.POINTER(ctypes.c_double)))
            outputs.append([result[i] for i in range(n_outputs)])
        return np.array(outputs)
    finally:
        library.fann_destroy(network)


@pytest.mark.parametrize("kind", ["sigmoid classifier", "regressor"])
@pytest.mark.parametrize("version", [None, "2.3"])
def test_export_fann_gives_what_predict_gives(backend, tmp_path, capsys, kind, version):
    trained = Trained(tmp_path, capsys, kind)
    options = [] if version is None else ["--fann-version", version]
    export(capsys, trained, "fann", tmp_path / "model.net", *options)
    assert (tmp_path / "model.net").read_text().startswith("FANN_FLO_2.1\n")
    # read back by `bpcore import`, and run by `bpcore predict` on the raw columns in the
    # order the export line names
    raw = write_csv(tmp_path / "raw.csv", list(trained.extra["meta_features"]), trained.X)
    result = ok(main_in_process(capsys, "import", tmp_path / "model.net", "--from", "fann",
                                tmp_path / "back.npz"))
    assert "back.npz" in result.stdout and "raw outputs" in result.stdout
    header, rows = read_csv(ok(main_in_process(capsys, "predict", tmp_path / "back.npz",
                                               raw)).stdout)
    assert header == [f"output_{i}" for i in range(trained.network.sizes[-1])]
    trained.check_outputs(np.array(rows, dtype=float), rtol=1e-9)


@pytest.mark.parametrize("kind", ["sigmoid classifier", "regressor"])
def test_exported_fann_file_runs_in_fann(backend, tmp_path, capsys, kind):
    library = fann_runner()
    if library is None:
        pytest.skip("FANN's libdoublefann is not installed (Debian: libfann-dev)")
    trained = Trained(tmp_path, capsys, kind)
    export(capsys, trained, "fann", tmp_path / "model.net")
    outputs = run_with_fann(library, tmp_path / "model.net", trained.X,
                            trained.network.sizes[-1])
    trained.check_outputs(outputs, rtol=1e-9)


def test_export_to_fann_warns_when_the_targets_reach_fann_clamp(backend, tmp_path, capsys):
    write_csv(tmp_path / "big.csv", ["a", "b", "price"], prices(offset=1000.0))
    ok(main_in_process(capsys, "train", tmp_path / "big.csv", "--target", "price", "--epochs",
                       "2", "--quiet", "--out", tmp_path / "big.npz"))
    result = ok(main_in_process(capsys, "export", tmp_path / "big.npz", "--to", "fann",
                                tmp_path / "big.net"))
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "bpcore: warning: FANN clamps a linear output to [-150, 150]"), result.stderr
    assert (tmp_path / "big.net").exists() and "wrote the FANN network" in result.stdout
    library = fann_runner()
    if library is not None:  # the warning tells the truth
        X = np.array([[20.0, -4.0]])
        assert run_with_fann(library, tmp_path / "big.net", X, 1)[0, 0] == 150.0


@pytest.mark.parametrize("form, name, named", [("fann", "model.onnx", "ONNX model"),
                                              ("onnx", "model.NET", "FANN network"),
                                              ("fann", "model.pt", "PyTorch module")])
def test_export_warns_when_out_is_named_for_another_format(backend, tmp_path, capsys, form,
                                                           name, named):
    if form == "onnx":
        pytest.importorskip("onnx", reason="--to onnx needs onnx")
    write_csv(tmp_path / "small.csv", ["a", "b", "price"], prices())
    ok(main_in_process(capsys, "train", tmp_path / "small.csv", "--target", "price",
                       "--epochs", "2", "--quiet", "--out", tmp_path / "small.npz"))
    result = ok(main_in_process(capsys, "export", tmp_path / "small.npz", "--to", form,
                                tmp_path / name))
    written = "ONNX model" if form == "onnx" else "FANN network"
    article = "an" if form == "onnx" else "a"
    assert result.stderr.splitlines() == [
        f"bpcore: warning: {tmp_path / name} ends in the suffix of a file of {named}s, but "
        f"--to {form} wrote {article} {written} into it"], result.stderr
    assert f"wrote the {written} {tmp_path / name}" in result.stdout


def test_train_and_import_warn_when_a_model_file_is_named_for_another_format(backend, tmp_path,
                                                                           capsys):
    write_csv(tmp_path / "small.csv", ["a", "b", "price"], prices())
    result = ok(main_in_process(capsys, "train", tmp_path / "small.csv", "--target", "price",
                                "--epochs", "2", "--quiet", "--out", tmp_path / "small.net"))
    assert result.stderr.splitlines() == [
        f"bpcore: warning: {tmp_path / 'small.net'} ends in the suffix of a file of FANN "
        f"networks, but holds a bpcore model (an .npz file)"], result.stderr
    network = bpcore.io.load(tmp_path / "small.net")  # written all the same, and loads
    ok(main_in_process(capsys, "export", tmp_path / "small.net", "--to", "fann",
                       tmp_path / "real.net"))
    result = ok(main_in_process(capsys, "import", tmp_path / "real.net", "--from", "fann",
                                tmp_path / "back.csv"))
    assert result.stderr.splitlines() == [
        f"bpcore: warning: {tmp_path / 'back.csv'} ends in the suffix of a file of CSV tables, "
        f"but holds a bpcore model (an .npz file)"], result.stderr
    assert bpcore.io.load(tmp_path / "back.csv").sizes == network.sizes
    result = ok(main_in_process(capsys, "import", tmp_path / "real.net", "--from", "fann",
                                tmp_path / "back.npz"))
    assert result.stderr == ""


def test_export_without_scaling_exports_the_network_as_it_is(backend, tmp_path, capsys):
    pytest.importorskip("torch", reason="--to torch needs PyTorch")
    import torch
    network = bpcore.Network([3, 4, 2], activation="relu", output="sigmoid",
                             loss="binary_cross_entropy", seed=1)
    network.save(tmp_path / "plain.npz")
    result = ok(main_in_process(capsys, "export", tmp_path / "plain.npz", "--to", "torch",
                                tmp_path / "plain.pt"))
    assert result.stdout == (f"wrote the PyTorch module {tmp_path / 'plain.pt'}: network 3-4-2 "
                             f"(relu, sigmoid), float64\n")
    X = np.random.default_rng(0).normal(size=(5, 3))
    module = torch.load(tmp_path / "plain.pt", weights_only=False)
    with torch.no_grad():
        outputs = module(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(outputs, network.predict(X), rtol=1e-12, atol=1e-15)


# ---- import: the model file predict runs ----

def test_import_onnx_then_predict_gives_what_the_original_predict_gives(backend, tmp_path,
                                                                       capsys):
    pytest.importorskip("onnx", reason="--from onnx needs the onnx package")
    trained = Trained(tmp_path, capsys, "regressor")
    export(capsys, trained, "onnx", tmp_path / "model.onnx")
    result = ok(main_in_process(capsys, "import", tmp_path / "model.onnx", "--from", "onnx",
                                tmp_path / "back.npz"))
    assert re.match(r"wrote the bpcore model .*back\.npz from the onnx file .*model\.onnx: "
                    r"network 2-5-1 \(tanh, identity\), float64;", result.stdout), result.stdout
    raw = write_csv(tmp_path / "raw.csv", ["p", "q"], trained.X)  # names do not matter
    header, rows = read_csv(ok(main_in_process(capsys, "predict", tmp_path / "back.npz",
                                               raw)).stdout)
    assert header == ["output_0"]
    trained.check_outputs(np.array(rows, dtype=float), rtol=1e-9)


def stepwise(text):
    """A FANN network file with its sigmoid (3) layers made stepwise sigmoids (4): the
    neurons' triples are (inputs, activation, steepness)."""
    changed = re.sub(r"\((\d+), 3, ", r"(\1, 4, ", text)
    assert changed != text
    return changed


def test_import_approximate_reads_stepwise_sigmoids(backend, tmp_path, capsys):
    network = bpcore.Network([2, 3, 1], activation="sigmoid", output="sigmoid",
                             loss="binary_cross_entropy", seed=0)
    network.save(tmp_path / "smooth.npz")
    ok(main_in_process(capsys, "export", tmp_path / "smooth.npz", "--to", "fann",
                       tmp_path / "smooth.net"))
    (tmp_path / "stepwise.net").write_text(stepwise((tmp_path / "smooth.net").read_text()))
    result = main_in_process(capsys, "import", tmp_path / "stepwise.net", "--from", "fann",
                             tmp_path / "out.npz")
    assert_bad_input(result, "stepwise.net")
    # the advice names the command line's option, not load_fann's argument
    assert_bad_input(result, "pass --approximate")
    assert not (tmp_path / "out.npz").exists()
    ok(main_in_process(capsys, "import", tmp_path / "stepwise.net", "--from", "fann",
                       "--approximate", tmp_path / "out.npz"))
    imported = bpcore.load(tmp_path / "out.npz")
    X = np.random.default_rng(0).normal(size=(4, 2))
    np.testing.assert_allclose(imported.predict(X), network.predict(X), rtol=1e-12)


# ---- bad input: exit status 2, one line, nothing written ----

@pytest.fixture
def files(tmp_path, capsys):
    """A classifier and a regressor from `bpcore train`, a FANN file, a damaged FANN file
    and a folder, in tmp_path."""
    Trained(tmp_path, capsys, "classifier")
    (tmp_path / "classifier.npz").write_bytes((tmp_path / "model.npz").read_bytes())
    (tmp_path / "model.npz").unlink()
    Trained(tmp_path, capsys, "regressor")
    ok(main_in_process(capsys, "export", tmp_path / "model.npz", "--to", "fann",
                       tmp_path / "model.net"))
    text = (tmp_path / "model.net").read_text()
    (tmp_path / "damaged.net").write_text(text[:len(text) // 2])
    (tmp_path / "notes.txt").write_text("not a network\n")
    (tmp_path / "folder").mkdir()
    capsys.readouterr()
    return tmp_path


@pytest.mark.parametrize("args, fragment", [
    (["export", "model.npz", "--to", "keras", "out"], "invalid choice: 'keras'"),
    (["export", "model.npz", "out.onnx"], "the following arguments are required: --to"),
    (["export", "missing.npz", "--to", "fann", "out.net"], "missing.npz: no such model file"),
    (["export", "folder", "--to", "fann", "out.net"], "folder is a directory, not a model file"),
    (["export", "notes.txt", "--to", "fann", "out.net"], "notes.txt is not a bpcore model file"),
    (["export", "classifier.npz", "--to", "fann", "out.net"],
     "classifier.npz: cannot export to fann: "),
    (["export", "model.npz", "--to", "fann", "nowhere/out.net"], "does not exist"),
    (["export", "model.npz", "--to", "fann", "folder"], "output file"),
    (["export", "model.npz", "--to", "fann", "model.npz"], "is the same file as the input"),
    (["export", "model.npz", "--to", "onnx", "--fann-version", "2.2", "out.onnx"],
     "--fann-version applies to --to fann, not --to onnx"),
    (["export", "model.npz", "--to", "fann", "--fann-version", "2.1", "out.net"],
     "invalid choice: '2.1'"),
    (["import", "missing.net", "--from", "fann", "out.npz"], "missing.net: no such file"),
    # a FANN file where a bpcore model goes: import converts it
    (["export", "model.net", "--to", "onnx", "out.onnx"],
     "model.net is not a bpcore model file (not an .npz archive; a model is the .npz file "
     "that Network.save or `bpcore train` writes); a FANN file is read by import first: "
     "bpcore import model.net --from fann MODEL.npz"),
    (["import", "damaged.net", "--from", "fann", "out.npz"], "not a FANN network file"),
    (["import", "notes.txt", "--from", "fann", "out.npz"], "not a FANN network file"),
    (["import", "model.net", "--from", "fann", "nowhere/out.npz"], "does not exist"),
    (["import", "model.net", "--from", "fann", "model.net"], "is the same file as the input"),
    (["import", "model.net", "--from", "fann", "notes.txt"],
     "OUT.npz notes.txt is a file that is not a bpcore model (an .npz archive); writing would "
     "replace it"),
    (["export", "model.npz", "--to", "fann", "notes.txt"],
     "OUT notes.txt is a file that is not a FANN file; writing would replace it"),
    (["export", "model.npz", "--to", "onnx", "notes.txt"], "is a file that is not an ONNX model"),
    (["export", "model.npz", "--to", "torch", "model.net"], "is a file that is not a PyTorch file"),
    (["import", "model.net", "--from", "onnx", "--approximate", "out.npz"],
     "--approximate applies to --from fann, not --from onnx"),
    (["import", "model.net", "--from", "pickle", "out.npz"], "invalid choice: 'pickle'"),
])
def test_bad_input_exits_2_and_writes_nothing(backend, files, capsys, monkeypatch, args,
                                              fragment):
    monkeypatch.chdir(files)
    before = files_in(files)
    assert_bad_input(main_in_process(capsys, *args), fragment)
    assert files_in(files) == before
    assert not (files / "nowhere").exists()
    assert list((files / "folder").iterdir()) == []


@pytest.mark.parametrize("form, out", [("fann", "model.net"), ("onnx", "out.onnx"),
                                       ("torch", "out.pt")])
def test_export_replaces_a_file_of_its_own_kind(backend, files, capsys, monkeypatch, form, out):
    # what it refuses to replace (above) is another kind of file; its own kind it replaces
    if form != "fann":
        pytest.importorskip("onnx" if form == "onnx" else "torch",
                            reason=f"--to {form} needs its package")
    monkeypatch.chdir(files)
    for _ in range(2):
        ok(main_in_process(capsys, "export", "model.npz", "--to", form, out))
    start = cli.MODEL_STARTS[form][0]
    assert (files / out).read_bytes()[:len(start)] == start


def test_softmax_to_fann_says_why(backend, files, capsys, monkeypatch):
    monkeypatch.chdir(files)
    result = main_in_process(capsys, "export", "classifier.npz", "--to", "fann", "out.net")
    assert_bad_input(result, "softmax")
    assert_bad_input(result, "--output-activation sigmoid")  # what to do instead
    assert not (files / "out.net").exists()


def test_relu_to_fann_22_names_the_option_that_writes_fann_23(backend, tmp_path, capsys):
    bpcore.Network([2, 3, 1], activation="relu", output="identity").save(tmp_path / "m.npz")
    result = main_in_process(capsys, "export", tmp_path / "m.npz", "--to", "fann",
                             tmp_path / "m.net")
    assert_bad_input(result, "the model has the hidden activation 'relu'")
    assert_bad_input(result, "pass --fann-version 2.3")
    assert not (tmp_path / "m.net").exists()


def test_import_of_a_file_that_is_not_onnx(backend, files, capsys, monkeypatch):
    pytest.importorskip("onnx", reason="--from onnx needs the onnx package")
    monkeypatch.chdir(files)
    before = files_in(files)
    result = main_in_process(capsys, "import", "model.net", "--from", "onnx", "out.npz")
    assert_bad_input(result, "not an ONNX model")
    assert files_in(files) == before


@pytest.mark.parametrize("command, package, hint", [
    (["export", "model.npz", "--to", "onnx", "out.onnx"], "onnx", 'pip install "bpcore[onnx]"'),
    (["import", "model.net", "--from", "onnx", "out.npz"], "onnx", 'pip install "bpcore[onnx]"'),
    (["export", "model.npz", "--to", "torch", "out.pt"], "torch", "pip install torch"),
])
def test_missing_optional_package_says_what_to_install(backend, files, capsys, monkeypatch,
                                                       command, package, hint):
    monkeypatch.chdir(files)
    monkeypatch.setitem(sys.modules, package, None)  # `import package` raises ImportError
    before = files_in(files)
    assert_bad_input(main_in_process(capsys, *command), hint)
    assert files_in(files) == before


def test_target_scaling_that_cannot_be_folded_is_refused(backend, tmp_path, capsys):
    network = bpcore.Network([2, 3, 1], output="sigmoid", loss="mse", seed=0)
    bpcore.io.save(network, tmp_path / "odd.npz",
                   extra={"meta_target_mean": np.array([5.0]),
                          "meta_target_std": np.array([2.0])})
    before = files_in(tmp_path)
    result = main_in_process(capsys, "export", tmp_path / "odd.npz", "--to", "fann",
                             tmp_path / "odd.net")
    assert_bad_input(result, "can be folded only into an identity output, but the output is "
                             "sigmoid")
    assert files_in(tmp_path) == before


def test_help_names_both_commands(backend, capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    text = capsys.readouterr().out
    assert "export" in text and "import" in text
    with pytest.raises(SystemExit):
        cli.main(["import", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--approximate" in text and "output_0, output_1" in text
