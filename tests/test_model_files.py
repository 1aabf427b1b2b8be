"""Model files: exact round trips, atomic saves, and loads that refuse every damaged or
hostile file with a ValueError (never another exception, a crash, a hang or a huge allocation)."""
import dataclasses
import gc
import io
import os
import pickle
import signal
import stat
import struct
import subprocess
import sys
import tracemalloc
import warnings
import zipfile

import numpy as np
import pytest

import bpcore
from bpcore import io as model_io


def trained(dtype="float64", sizes=(3, 4, 2), **kwargs):
    rng = np.random.default_rng(1)
    net = bpcore.Network(list(sizes), dtype=dtype, seed=2, **kwargs)
    X = rng.normal(size=(6, sizes[0]))
    Y = rng.uniform(size=(6, sizes[-1]))
    if kwargs.get("loss") == "cross_entropy":
        Y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], size=6)]
    net.fit(X, Y, epochs=3, lr=0.3)
    return net, X


def flat(net):
    return np.concatenate([np.concatenate([w.ravel(), b]) for w, b in zip(net.weights, net.biases)])


def entries(path):
    with np.load(path, allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}


def write_zip(path, members):
    """A .npz by hand: `members` maps entry names (without .npy) to arrays or raw bytes."""
    with zipfile.ZipFile(path, "w") as archive:
        for key, value in members.items():
            if isinstance(value, bytes):
                archive.writestr(key + ".npy", value)
            else:
                buffer = io.BytesIO()
                np.lib.format.write_array(buffer, np.asanyarray(value), allow_pickle=True)
                archive.writestr(key + ".npy", buffer.getvalue())


def npy_claiming(shape, descr="<f8", data=b"\0" * 64):
    """.npy bytes whose header claims `shape` but which hold only `data`."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": descr, "fortran_order": False,
                                                  "shape": shape})
    return buffer.getvalue() + data


# ---- round trips ----------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("kwargs", [
    {},
    {"activation": "relu", "output": "identity"},
    {"activation": "tanh", "output": "softmax", "loss": "cross_entropy"},
    {"activation": "leaky_relu", "output": "sigmoid", "loss": "binary_cross_entropy"},
], ids=["sigmoid-mse", "relu-identity", "tanh-softmax", "leaky-bce"])
def test_round_trip_gives_identical_predictions(dtype, kwargs, tmp_path):
    net, X = trained(dtype, **kwargs)
    path = tmp_path / "model.npz"
    net.save(path)
    loaded = bpcore.load(path)
    assert isinstance(loaded, bpcore.Network)
    assert (loaded.sizes, loaded.activation, loaded.output, loaded.loss_name, loaded.dtype) == (
        net.sizes, net.activation, net.output, net.loss_name, net.dtype)
    assert np.array_equal(flat(loaded), flat(net))
    assert np.array_equal(loaded.predict(X), net.predict(X))
    assert loaded.predict(X).dtype == np.dtype(dtype)
    # str paths work too, and saving again over the file gives the same content
    loaded.save(str(path))
    assert np.array_equal(bpcore.load(str(path)).predict(X), net.predict(X))


def test_a_bytes_path_is_written_and_read_like_a_str_one(tmp_path):
    # open() takes bytes paths; the temporary file beside the target once could not
    net = bpcore.Network([3, 2], seed=0)
    path = os.fsencode(tmp_path / "model.npz")
    net.save(path)
    assert os.listdir(tmp_path) == ["model.npz"]
    np.testing.assert_array_equal(bpcore.load(path).get_state()["parameters"],
                                  net.get_state()["parameters"])


def test_saved_file_is_a_plain_npz_without_pickles(tmp_path):
    net, _ = trained()
    net.save(tmp_path / "model.npz")
    with zipfile.ZipFile(tmp_path / "model.npz") as archive:
        for name in archive.namelist():
            array = np.lib.format.read_array(archive.open(name), allow_pickle=False)
            assert array.dtype.kind != "O", name


def test_load_of_a_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        bpcore.load(tmp_path / "nothing.npz")


# ---- atomic saves ---------------------------------------------------------------------------

def fail_savez(file, *args, **kwargs):
    file.write(b"PK\x03\x04 half a zip file")
    raise OSError("disk full (simulated)")


def fail_replace(source, target):
    raise OSError("rename failed (simulated)")


def fail_fsync(fd):
    raise OSError("fsync failed (simulated)")


def interrupt_savez(file, *args, **kwargs):
    file.write(b"PK\x03\x04")
    raise KeyboardInterrupt


@pytest.mark.parametrize("target, fake, error", [
    ("np.savez", fail_savez, OSError),
    ("os.replace", fail_replace, OSError),
    ("os.fsync", fail_fsync, OSError),
    ("np.savez", interrupt_savez, KeyboardInterrupt),
])
def test_a_failed_save_keeps_the_old_file_and_leaves_no_temporary(target, fake, error, tmp_path,
                                                                  monkeypatch):
    old, X = trained()
    path = tmp_path / "model.npz"
    old.save(path)
    good_bytes = path.read_bytes()
    new, _ = trained(activation="tanh")
    module, name = target.split(".")
    with monkeypatch.context() as patch:
        patch.setattr(getattr(model_io, module), name, fake)
        with pytest.raises(error):
            new.save(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]
    assert path.read_bytes() == good_bytes
    assert np.array_equal(bpcore.load(path).predict(X), old.predict(X))
    # and a save that fails on a new path leaves nothing at all
    with monkeypatch.context() as patch:
        patch.setattr(getattr(model_io, module), name, fake)
        with pytest.raises(error):
            new.save(tmp_path / "other.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]


@pytest.fixture
def umask():
    """Set the process's umask for one test and put the old one back."""
    old = os.umask(0o022)
    yield os.umask
    os.umask(old)


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_saved_files_get_the_permissions_open_would_give(mask, umask, tmp_path):
    umask(mask)
    net, _ = trained()
    with open(tmp_path / "plain", "w"):
        pass
    net.save(tmp_path / "model.npz")
    expected = os.stat(tmp_path / "plain").st_mode & 0o777
    assert expected == 0o666 & ~mask
    assert os.stat(tmp_path / "model.npz").st_mode & 0o777 == expected


def test_overwriting_a_file_keeps_its_mode(umask, tmp_path):
    net, _ = trained()
    path = tmp_path / "model.npz"
    net.save(path)
    os.chmod(path, 0o640)
    umask(0o077)
    net.save(path)
    assert os.stat(path).st_mode & 0o777 == 0o640


def test_saving_through_a_symbolic_link_replaces_the_file_it_names(tmp_path):
    # as open(path, "w") would: the link stays, the file it points to gets the new network
    net, X = trained()
    (tmp_path / "models").mkdir()
    real, link = tmp_path / "models" / "model.npz", tmp_path / "latest.npz"
    trained(activation="tanh")[0].save(real)
    link.symlink_to(real)
    net.save(link)
    assert link.is_symlink() and os.readlink(link) == str(real)
    np.testing.assert_array_equal(bpcore.load(real).predict(X), net.predict(X))
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == ["model.npz"]


def test_files_the_command_line_writes_get_normal_permissions(umask, tmp_path):
    from bpcore import cli
    umask(0o022)
    data = tmp_path / "data.csv"
    rng = np.random.default_rng(0)
    rows = "\n".join(f"{a:.3f},{b:.3f},{'yes' if a > b else 'no'}"
                     for a, b in rng.normal(size=(20, 2)))
    data.write_text("a,b,label\n" + rows + "\n")
    model, predictions = tmp_path / "model.npz", tmp_path / "predictions.csv"
    assert cli.main(["train", str(data), "--target", "label", "--epochs", "2", "--quiet",
                     "--out", str(model)]) == 0
    predictions.write_text("old\n")
    os.chmod(predictions, 0o664)
    assert cli.main(["predict", str(model), str(data), "--out", str(predictions)]) == 0
    assert os.stat(model).st_mode & 0o777 == 0o644
    assert os.stat(predictions).st_mode & 0o777 == 0o664
    assert predictions.read_text() != "old\n"


def test_the_deepest_network_the_kernels_take_saves_and_loads(tmp_path):
    # io once capped files at 1000 layers while networks could have 4096: a saved model that
    # could not be loaded
    from bpcore._spec import MAX_LAYERS
    net = bpcore.Network([1] * (MAX_LAYERS + 1), activation="identity", output="identity",
                         seed=0)
    net.save(tmp_path / "deep.npz")
    loaded = bpcore.load(tmp_path / "deep.npz")
    assert loaded.sizes == net.sizes
    np.testing.assert_array_equal(loaded.predict([[0.5]]), net.predict([[0.5]]))


def test_save_into_a_missing_folder_fails_cleanly(tmp_path):
    net, _ = trained()
    with pytest.raises(FileNotFoundError) as info:
        net.save(tmp_path / "no" / "such" / "model.npz")
    # the error names the user's path, not a temporary file
    assert info.value.filename == str(tmp_path / "no" / "such" / "model.npz")
    assert ".tmp" not in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_save_into_a_folder_that_refuses_files_names_the_users_path(tmp_path,
                                                                   refuse_new_files):
    net, _ = trained()
    with pytest.raises(PermissionError) as info:
        net.save(tmp_path / "model.npz")
    assert info.value.filename == str(tmp_path / "model.npz")
    assert ".tmp" not in str(info.value) and "a1b2c3" not in str(info.value)
    assert "cannot create a file in folder" in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_save_onto_a_folder_names_the_folder_and_leaves_nothing(tmp_path):
    net, _ = trained()
    (tmp_path / "model.npz").mkdir()
    with pytest.raises(IsADirectoryError) as info:
        net.save(tmp_path / "model.npz")
    assert info.value.filename == str(tmp_path / "model.npz")
    assert ".tmp" not in str(info.value)
    assert [path.name for path in tmp_path.iterdir()] == ["model.npz"]


@pytest.mark.parametrize("name", ["model.npz/", ""])
def test_save_to_a_path_naming_no_file_writes_nothing(tmp_path, monkeypatch, name):
    # "model.npz/" names a folder, as open() reads it: the save wrote model.npz
    monkeypatch.chdir(tmp_path)
    net, _ = trained()
    with pytest.raises(IsADirectoryError, match="the path is empty or ends in a separator"):
        net.save(name)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(not os.path.exists("/proc/self/fd"), reason="needs Linux's /proc")
def test_save_through_dev_stdout_leaves_the_file_stdout_goes_to(tmp_path):
    # /dev/stdout leads through /proc to the file a shell redirected stdout to: the rename
    # replaced that file (a log, say), and the shell's later writes went to the deleted one
    log = tmp_path / "log.txt"
    log.write_text("before\n")
    link = tmp_path / "out.npz"
    link.symlink_to("/dev/stdout")
    (tmp_path / "fd").symlink_to("/proc/self/fd")  # a link to a folder on the way
    code = ("import sys, bpcore\n"
            "for path in sys.argv[1:]:\n"
            "    try:\n"
            "        bpcore.Network([2, 1]).save(path)\n"
            "    except ValueError as error:\n"
            "        print(error, file=sys.stderr)\n")
    with open(log, "a") as out:
        result = subprocess.run([sys.executable, "-c", code, "/dev/stdout", str(link),
                                 "/proc/self/fd/1", "//proc/self/fd/1", str(tmp_path / "fd/1"),
                                 "/dev/fd/1"], stdout=out, stderr=subprocess.PIPE, text=True,
                                timeout=60, cwd=tmp_path)  # not the checkout: its bpcore
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("leads to a device or a process's stream") == 6, result.stderr
    assert log.read_text() == "before\n" and link.is_symlink()
    # plain files under /dev (/dev/shm, a tmpfs) and a folder named dev are files to write
    (tmp_path / "dev").mkdir()
    for path in [tmp_path / "dev" / "model.npz"] + (
            [f"/dev/shm/bpcore-test-{os.getpid()}.npz"] if os.path.isdir("/dev/shm") else []):
        try:
            bpcore.Network([2, 1]).save(path)
            assert bpcore.load(path).sizes == (2, 1)
        finally:
            if os.path.exists(path):
                os.unlink(path)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo (POSIX)")
def test_save_onto_a_pipe_refuses_and_leaves_the_pipe(tmp_path):
    # a named pipe (or a device such as /dev/null): the rename over it would put a regular
    # file in its place (for root, /dev/null itself), so nothing is written
    net, _ = trained()
    pipe = tmp_path / "model.npz"
    os.mkfifo(pipe)
    with pytest.raises(ValueError, match="is not a regular file"):
        net.save(pipe)
    assert stat.S_ISFIFO(os.stat(pipe).st_mode)
    assert [path.name for path in tmp_path.iterdir()] == ["model.npz"]
    link = tmp_path / "link.npz"  # a symbolic link to it too: the writer follows links
    link.symlink_to(pipe)
    with pytest.raises(ValueError, match="link.npz' is not a regular file"):
        net.save(link)
    assert stat.S_ISFIFO(os.stat(pipe).st_mode) and link.is_symlink()


@pytest.mark.parametrize("where, value", [("weights", np.nan), ("biases", np.inf),
                                          ("weights", -np.inf)])
def test_save_refuses_a_network_that_load_would_refuse(where, value, tmp_path):
    # NaN or infinity in the parameters: load refuses such a file, so save writes none, and
    # a file already there stays as it was
    net, _ = trained()
    net.save(tmp_path / "model.npz")
    before = (tmp_path / "model.npz").read_bytes()
    getattr(net, where)[-1][0] = value
    layer = len(net.sizes) - 2
    with pytest.raises(ValueError, match=rf"{where}\[{layer}\] hold NaN or infinity"):
        net.save(tmp_path / "model.npz")
    with pytest.raises(ValueError, match="hold NaN or infinity"):
        bpcore.io.save(net, tmp_path / "other.npz", extra={"meta_note": "x"})
    assert (tmp_path / "model.npz").read_bytes() == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["model.npz"]


def test_save_refuses_optimizer_state_that_load_would_refuse(tmp_path):
    # float32 Adam on an input of 1e11: v = g^2 overflows while the weight stays finite (fit
    # and step undo that; train_epoch, for loops of one's own, checks nothing)
    net = bpcore.Network([1, 1], output="identity", dtype="float32", seed=0)
    net.train_epoch([[1e11]], [[0.0]], bpcore.Adam())
    assert not np.isfinite(net.get_state()["optimizer"]["v"]).all()
    with pytest.raises(ValueError, match=r"adam state 'v' holds NaN or infinity.*"
                                         r"reset_optimizer\(\)"):
        net.save(tmp_path / "model.npz")
    assert list(tmp_path.iterdir()) == []
    net.reset_optimizer()
    net.save(tmp_path / "model.npz")
    assert bpcore.load(tmp_path / "model.npz").sizes == (1, 1)


def test_save_refuses_any_optimizer_state_load_would_refuse(tmp_path, monkeypatch):
    # every check of load's, not only the finite one: a negative Adam v (once left by a fit
    # whose callback stepped with Rprop) made a file that never loaded
    net = bpcore.Network([2, 3, 1], seed=0)
    net.step([[1.0, 2.0]], [[1.0]], optimizer=bpcore.Adam())
    state = net.get_state()
    state["optimizer"]["v"][0] = -1.0
    monkeypatch.setattr(net, "get_state", lambda: state)
    with pytest.raises(ValueError, match=r"^cannot save a network whose optimizer state load "
                                         r"would refuse \(.*\['v'\] must hold numbers >= 0.*"
                                         r"reset_optimizer\(\) drops the state$"):
        net.save(tmp_path / "model.npz")
    assert list(tmp_path.iterdir()) == []


# ---- files load must refuse -----------------------------------------------------------------

def spoil(arrays, **changes):
    arrays = dict(arrays)
    for key, value in changes.items():
        if value is None:
            del arrays[key]
        else:
            arrays[key] = value
    return arrays


def bad_files(good):
    """(id, how to write the bad file given its path) for every kind of bad file."""
    w0 = good["weights_0"]
    cases = {
        "empty file": lambda p: p.write_bytes(b""),
        "not a zip": lambda p: p.write_bytes(b"hello, this is text and not a model\n" * 20),
        "random bytes": lambda p: p.write_bytes(np.random.default_rng(0).bytes(3000)),
        "zip magic then garbage": lambda p: p.write_bytes(b"PK\x03\x04" + b"\x00" * 100),
        "plain npy": lambda p: np.save(p.open("wb"), w0),
        "pickle": lambda p: p.write_bytes(pickle.dumps({"weights_0": w0})),
        "empty zip": lambda p: write_zip(p, {}),
        "zip of other files": lambda p: zipfile.ZipFile(p, "w").close() or _zip_text(p),
        "missing entry": lambda p: write_zip(p, spoil(good, biases_1=None)),
        "missing format_version": lambda p: write_zip(p, spoil(good, format_version=None)),
        "missing activation": lambda p: write_zip(p, spoil(good, activation=None)),
        "extra entry": lambda p: write_zip(p, spoil(good, bonus=np.zeros(3))),
        "extra layer": lambda p: write_zip(p, spoil(good, weights_2=np.zeros((1, 2)),
                                                    biases_2=np.zeros(1))),
        "wrong shape": lambda p: write_zip(p, spoil(good, weights_0=w0.T.copy())),
        "wrong bias shape": lambda p: write_zip(p, spoil(good, biases_0=np.zeros(5))),
        "scalar weights": lambda p: write_zip(p, spoil(good, weights_0=np.float64(1.0))),
        "wrong dtype float32": lambda p: write_zip(p, spoil(good, weights_0=w0.astype(np.float32))),
        "wrong dtype int": lambda p: write_zip(p, spoil(good, weights_0=w0.astype(np.int64))),
        "big-endian weights": lambda p: write_zip(p, spoil(good, weights_0=w0.astype(">f8"))),
        "object weights": lambda p: write_zip(p, spoil(good, weights_0=w0.astype(object))),
        "object activation": lambda p: write_zip(p, spoil(good, activation=np.array("sigmoid", dtype=object))),
        "object sizes": lambda p: write_zip(p, spoil(good, sizes=np.array([3, 4, 2], dtype=object))),
        "format_version 3": lambda p: write_zip(p, spoil(good, format_version=np.array(3))),
        "format_version 0": lambda p: write_zip(p, spoil(good, format_version=np.array(0))),
        "format_version text": lambda p: write_zip(p, spoil(good, format_version=np.array("1"))),
        "format_version float": lambda p: write_zip(p, spoil(good, format_version=np.array(1.0))),
        "format_version vector": lambda p: write_zip(p, spoil(good, format_version=np.array([1]))),
        "unknown activation": lambda p: write_zip(p, spoil(good, activation=np.array("swish"))),
        "softmax hidden": lambda p: write_zip(p, spoil(good, activation=np.array("softmax"))),
        "unknown output": lambda p: write_zip(p, spoil(good, output=np.array("linear"))),
        "unknown loss": lambda p: write_zip(p, spoil(good, loss=np.array("hinge"))),
        "bytes activation": lambda p: write_zip(p, spoil(good, activation=np.array(b"sigmoid"))),
        "activation list": lambda p: write_zip(p, spoil(good, activation=np.array(["sigmoid"]))),
        "softmax with mse": lambda p: write_zip(p, spoil(good, output=np.array("softmax"))),
        "dtype float16": lambda p: write_zip(p, spoil(good, dtype=np.array("float16"))),
        "dtype says float32": lambda p: write_zip(p, spoil(good, dtype=np.array("float32"))),
        "nan weights": lambda p: write_zip(p, spoil(good, weights_1=_with(good["weights_1"], np.nan))),
        "inf biases": lambda p: write_zip(p, spoil(good, biases_0=_with(good["biases_0"], -np.inf))),
        "sizes one layer": lambda p: write_zip(p, spoil(good, sizes=np.array([3]))),
        "sizes zero width": lambda p: write_zip(p, spoil(good, sizes=np.array([3, 0, 2]))),
        "sizes negative": lambda p: write_zip(p, spoil(good, sizes=np.array([3, -4, 2]))),
        "sizes float": lambda p: write_zip(p, spoil(good, sizes=np.array([3.0, 4.0, 2.0]))),
        "sizes 2-D": lambda p: write_zip(p, spoil(good, sizes=np.array([[3, 4, 2]]))),
        "sizes disagree": lambda p: write_zip(p, spoil(good, sizes=np.array([3, 5, 2]))),
        "sizes absurd": lambda p: write_zip(p, spoil(good, sizes=np.array([3, 2**40, 2]))),
        "sizes overflow int64": lambda p: write_zip(p, spoil(good, sizes=np.array([3, 2**62, 2**62]))),
        "sizes unsigned huge": lambda p: write_zip(p, spoil(good, sizes=np.array([3, 2**63, 2], dtype=np.uint64))),
        "too many layers": lambda p: write_zip(p, spoil(good, sizes=np.ones(5000, dtype=np.int64))),
        # zip-bomb-like: headers claiming enormous shapes over a few bytes of data
        "header claims 2**40 weights": lambda p: write_zip(p, spoil(good, weights_0=npy_claiming((2**40,)))),
        "header claims 1e6 x 1e6": lambda p: write_zip(p, spoil(good, weights_0=npy_claiming((10**6, 10**6)))),
        "header claims right shape, short data": lambda p: write_zip(p, spoil(good, weights_0=npy_claiming((4, 3), data=b"\0" * 8))),
        "header shape overflows": lambda p: write_zip(p, spoil(good, weights_1=npy_claiming((2**62, 2**62)))),
        "sizes header claims 2**40": lambda p: write_zip(p, spoil(good, sizes=npy_claiming((2**40,), "<i8"))),
        "huge header length": lambda p: write_zip(p, spoil(good, weights_0=b"\x93NUMPY\x02\x00" + struct.pack("<I", 2**31) + b"{'descr'")),
        "header not a dict": lambda p: write_zip(p, spoil(good, weights_0=b"\x93NUMPY\x01\x00" + struct.pack("<H", 10) + b"__import__")),
        "zip directory claims huge entry": lambda p: _claim_huge_entry(p, good),
        # sizes claiming a big network whose entries are small: refused before allocating it
        "sizes claim 2**28 hidden units": lambda p: write_zip(p, spoil(good, sizes=np.array([3, 2**28, 2]))),
        "sizes claim 2**24 hidden units": lambda p: write_zip(p, spoil(good, sizes=np.array([3, 2**24, 2]))),
    }
    cases.update({case: (lambda p, change=change: write_zip(p, spoil(good, **change(good))))
                  for case, (change, _) in STATE_CASES.items()})
    return cases


# Damaged optimizer and generator entries (format version 2): how to spoil the good entries
# (an SGD network's), and the entry the error must name.
STATE_CASES = {
    "no optimizer": (lambda g: {"optimizer": None}, "optimizer"),
    "unknown optimizer": (lambda g: {"optimizer": np.array("rmsprop")}, "optimizer"),
    "optimizer name as bytes": (lambda g: {"optimizer": np.array(b"sgd")}, "optimizer"),
    "optimizer of another kind": (lambda g: {"optimizer": np.array("adam")}, "optimizer_m"),
    "no velocity": (lambda g: {"optimizer_velocity": None}, "optimizer_velocity"),
    "unknown optimizer entry": (lambda g: {"optimizer_speed": g["optimizer_velocity"]},
                                "optimizer_speed"),
    "velocity for another parameter count": (
        lambda g: {"optimizer_velocity": np.zeros(len(g["optimizer_velocity"]) + 1)},
        "optimizer_velocity"),
    "velocity 2-D": (lambda g: {"optimizer_velocity": g["optimizer_velocity"][None]},
                     "optimizer_velocity"),
    "velocity float32": (lambda g: {"optimizer_velocity": g["optimizer_velocity"].astype(
        np.float32)}, "optimizer_velocity"),
    "velocity text": (lambda g: {"optimizer_velocity": g["optimizer_velocity"].astype(str)},
                      "optimizer_velocity"),
    "velocity nan": (lambda g: {"optimizer_velocity": _with(g["optimizer_velocity"], np.nan)},
                     "optimizer_velocity"),
    "velocity header claims 2**40": (lambda g: {"optimizer_velocity": npy_claiming((2**40,))},
                                     "optimizer_velocity"),
    "no generator": (lambda g: {"generator": None}, "generator_state"),
    "no generator_inc": (lambda g: {"generator_inc": None}, "generator_inc"),
    "generator of another kind": (lambda g: {"generator": np.array("MT19937")}, "generator"),
    "generator_state int64": (lambda g: {"generator_state": g["generator_state"].astype(
        np.int64)}, "generator_state"),
    "generator_state 3 halves": (lambda g: {"generator_state": np.zeros(3, np.uint64)},
                                 "generator_state"),
    "generator_state big-endian": (lambda g: {"generator_state": g["generator_state"].astype(
        ">u8")}, "generator_state"),
    "generator_inc even": (lambda g: {"generator_inc": g["generator_inc"] - np.uint64([0, 1])},
                           "generator_inc"),
    "generator_has_uint32 2": (lambda g: {"generator_has_uint32": np.array(2, np.uint64)},
                               "generator_has_uint32"),
    "generator_uinteger 2**32": (lambda g: {"generator_uinteger": np.array(2**32, np.uint64)},
                                 "generator_uinteger"),
    "generator_uinteger text": (lambda g: {"generator_uinteger": np.array("0")},
                                "generator_uinteger"),
    "version 1 with optimizer entries": (lambda g: {"format_version": np.array(1)},
                                         "optimizer"),
}


def _with(array, value):
    array = array.copy()
    array.flat[1] = value
    return array


def _zip_text(path):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "not arrays")


def _claim_huge_entry(path, good):
    write_zip(path, good)
    data = bytearray(path.read_bytes())
    # patch the uncompressed size of weights_0.npy in the central directory to ~4 GiB
    central = data.find(b"PK\x01\x02")
    while central != -1:
        name_length = struct.unpack_from("<H", data, central + 28)[0]
        if data[central + 46:central + 46 + name_length] == b"weights_0.npy":
            struct.pack_into("<I", data, central + 24, 0xFFFFFFF0)
            break
        central = data.find(b"PK\x01\x02", central + 4)
    assert central != -1
    path.write_bytes(bytes(data))


GOOD = None


def good_entries(tmp_path_factory):
    global GOOD
    if GOOD is None:
        net, _ = trained()
        path = tmp_path_factory.mktemp("good") / "model.npz"
        net.save(path)
        GOOD = entries(path)
    return GOOD


BAD_IDS = list(bad_files({"weights_0": np.zeros((4, 3))}))


def test_a_model_too_large_for_memory_is_a_memory_error_not_a_bad_file(tmp_path, monkeypatch):
    # it was reported as "not a valid bpcore model file (MemoryError: ...)"
    path = tmp_path / "model.npz"
    bpcore.Network([3, 4, 2], seed=0).save(path)

    def refuse(*args, **kwargs):
        raise MemoryError("sizes [3, 4, 2] make 26 parameters, more memory than could be "
                          "allocated")

    monkeypatch.setattr(bpcore.io, "Network", refuse)
    with pytest.raises(MemoryError, match=r"^.*model\.npz: reading the model needs more memory "
                                          r"than could be allocated \(sizes \[3, 4, 2\]"):
        bpcore.load(path)


@pytest.mark.parametrize("extra, message", [
    ({"meta_big": np.zeros(9_000_000)}, r"extra\['meta_big'\] holds 72000000 bytes; an extra "
                                        r"entry may hold at most 67104768"),
    ({"meta_a\x00": 1}, r"without NUL or '/'"),
    ({"meta_" + "a" * 300: 1}, r"at most 200 characters"),
    ({f"meta_{i}": np.zeros(5_000_000, np.int32) for i in range(14)},
     r"the extra entries hold \d+ bytes in all; they may hold at most 268435456")])
def test_io_save_refuses_extra_entries_load_would_refuse(tmp_path, extra, message):
    # each one made a file that load refused (or a KeyError, or a struct.error)
    with pytest.raises(ValueError, match=message):
        bpcore.io.save(bpcore.Network([2, 1]), tmp_path / "model.npz", extra=extra)
    assert list(tmp_path.iterdir()) == []


def test_load_refuses_extra_entries_claiming_too_much_in_all(tmp_path, monkeypatch):
    # entries of compressed zeros, each within its own limit, inflated together: a file of
    # 790 KB took 850 MB
    path = tmp_path / "model.npz"
    bpcore.io.save(bpcore.Network([2, 1]), path, extra={"meta_a": np.zeros(1000),
                                                        "meta_b": np.zeros(1000)})
    assert len(bpcore.io.load(path, with_extra=True)[1]) == 2
    monkeypatch.setattr(bpcore.io, "MAX_EXTRA_TOTAL", 12_000)
    with pytest.raises(ValueError, match=r"its extra entries claim 16\d{3} bytes in all, more "
                                         r"than the 12000 that extra entries may take"):
        bpcore.io.load(path, with_extra=True)
    assert bpcore.load(path).sizes == (2, 1)  # the network alone reads no extra entry


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo (POSIX)")
def test_load_refuses_a_pipe_at_once_and_a_with_extra_that_is_not_a_bool(tmp_path):
    # open() of a named pipe waits for a writer: load hung
    os.mkfifo(tmp_path / "model.npz")
    with pytest.raises(ValueError, match=r"is not a bpcore model file \(not a regular file"):
        bpcore.load(tmp_path / "model.npz")
    bpcore.Network([2, 1]).save(tmp_path / "real.npz")
    with pytest.raises(TypeError, match=r"^with_extra must be True or False, got 'no'$"):
        bpcore.io.load(tmp_path / "real.npz", with_extra="no")


@pytest.mark.parametrize("case", BAD_IDS)
def test_load_refuses_a_bad_file_with_value_error(case, tmp_path, tmp_path_factory):
    good = good_entries(tmp_path_factory)
    path = tmp_path / "model.npz"
    bad_files(good)[case](path)
    tracemalloc.start()
    try:
        with pytest.raises(ValueError) as info:
            bpcore.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert type(info.value) is ValueError  # not a subclass such as DivergenceError
    # never an invitation to unpickle: numpy's own message for unknown files suggests it
    assert "pickle" not in str(info.value).lower()
    # refused before allocating anything of the size the file claims
    assert peak < 50 * 2**20, f"load allocated {peak} bytes before refusing"


@pytest.mark.parametrize("case", ["empty file", "not a zip", "random bytes", "plain npy",
                                  "pickle", "zip magic then garbage"])
def test_a_file_that_is_no_model_is_named_so(case, tmp_path, tmp_path_factory):
    path = tmp_path / "model.npz"
    bad_files(good_entries(tmp_path_factory))[case](path)
    with pytest.raises(ValueError, match=f"^{path} is not a bpcore model file"):
        bpcore.load(path)


def test_the_good_entries_do_load(tmp_path, tmp_path_factory):
    # the bad cases above differ from this one only in what they spoil
    path = tmp_path / "model.npz"
    write_zip(path, good_entries(tmp_path_factory))
    assert bpcore.load(path).sizes == (3, 4, 2)


def test_compressed_files_load(tmp_path, tmp_path_factory):
    path = tmp_path / "model.npz"
    np.savez_compressed(path, **good_entries(tmp_path_factory))
    assert bpcore.load(path).sizes == (3, 4, 2)


def test_load_refuses_a_compressed_file_claiming_far_more_than_its_size(tmp_path, monkeypatch,
                                                                         tmp_path_factory):
    # compressed zeros: a crafted file of 8.4 MB (sizes [2**24, 32, 1]) made load allocate 16 GB
    net = bpcore.Network([64, 4096, 1])
    for weights in net.weights:
        weights[...] = 0
    net.save(tmp_path / "plain.npz")
    with np.load(tmp_path / "plain.npz") as plain:
        np.savez_compressed(tmp_path / "zeros.npz", **dict(plain))
    size = os.path.getsize(tmp_path / "zeros.npz")
    assert bpcore.load(tmp_path / "zeros.npz").sizes == (64, 4096, 1)  # under INFLATED_FREE
    monkeypatch.setattr(bpcore.io, "INFLATED_FREE", 0)
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=rf"zeros.npz: its entries claim \d+ bytes once "
                                             rf"read, more than 16 times the file's {size} "
                                             rf"bytes \(a file of compressed zeros"):
            bpcore.load(tmp_path / "zeros.npz")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**20, f"load allocated {peak} bytes before refusing"
    # a compressed model that is not mostly zeros still loads, and the plain file
    np.savez_compressed(tmp_path / "model.npz", **good_entries(tmp_path_factory))
    assert bpcore.load(tmp_path / "model.npz").sizes == (3, 4, 2)
    assert bpcore.load(tmp_path / "plain.npz").sizes == (64, 4096, 1)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_load_holds_a_model_at_most_about_twice_at_once(tmp_path, optimizer):
    # the network, its default state, the entries read and the state made of them: each
    # state array was also copied twice more (real_array's astype and assign), 2.56 times
    # the file's bytes at the peak with SGD's velocity, 2.67 with Adam's state
    net = bpcore.Network([200, 400, 400, 10], seed=0)
    net.fit(np.zeros((4, 200)), np.zeros((4, 10)), epochs=1, optimizer=optimizer, batch_size=4)
    net.save(tmp_path / "model.npz")
    size = os.path.getsize(tmp_path / "model.npz")
    tracemalloc.start()
    try:
        loaded = bpcore.load(tmp_path / "model.npz")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2.3 * size, f"load's peak was {peak / size:.2f} times the file's size"
    assert_same_state(loaded, net)


def test_load_names_the_file_when_network_refuses_its_sizes(tmp_path, monkeypatch):
    # a width past MAX_WIDTH in a file large enough to hold it: Network's own message, which
    # named no file
    bpcore.Network([3, 4, 2]).save(tmp_path / "model.npz")
    monkeypatch.setattr(bpcore.network, "MAX_WIDTH", 3)
    with pytest.raises(ValueError, match=rf"^{tmp_path / 'model.npz'}: sizes\[1\] must be at "
                                         rf"most 3, got 4$"):
        bpcore.load(tmp_path / "model.npz")


def test_meta_entries_do_not_count_as_unexpected(tmp_path, tmp_path_factory):
    path = tmp_path / "model.npz"
    write_zip(path, spoil(good_entries(tmp_path_factory), meta_scale=np.ones(3)))
    assert bpcore.load(path).sizes == (3, 4, 2)


@pytest.mark.parametrize("call", ["save", "load", "save_fann", "load_fann", "read_table"])
@pytest.mark.parametrize("path", [5, None, 2.5])
def test_a_path_that_is_no_path_is_named_so(call, path):
    from bpcore.convert import load_fann, save_fann
    from bpcore.datasets import read_table
    net = bpcore.Network([2, 1])
    calls = {"save": lambda: net.save(path), "load": lambda: bpcore.load(path),
             "save_fann": lambda: save_fann(net, path), "load_fann": lambda: load_fann(path),
             "read_table": lambda: read_table(path)}
    with pytest.raises(TypeError, match=rf"^path must be a file's path \(str, bytes or "
                                        rf"os.PathLike\), got {type(path).__name__}$"):
        calls[call]()


def test_converters_given_an_estimator_say_where_its_network_is():
    pytest.importorskip("sklearn", reason="scikit-learn is optional")
    from bpcore.convert import save_fann
    from bpcore.sklearn import MLPRegressor
    estimator = MLPRegressor(hidden_layer_sizes=(3,))
    with pytest.raises(TypeError, match=r"got MLPRegressor; an estimator's network is its "
                                        r"network_ once fitted"):
        save_fann(estimator, "model.net")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimator.fit(np.arange(20.0).reshape(10, 2), np.arange(10.0))
    with pytest.raises(TypeError, match=r"for a fitted MLPRegressor, pass its network_"):
        save_fann(estimator, "model.net")
    # scikit-learn's own MLP: converted first; and no hint for what is no estimator
    from sklearn.neural_network import MLPRegressor as Theirs
    with pytest.raises(TypeError, match=r"through bpcore.sklearn.from_sklearn first\)$"):
        save_fann(Theirs(), "model.net")
    with pytest.raises(TypeError, match=r"^net must be a bpcore.Network, got SGD$"):
        save_fann(bpcore.SGD(), "model.net")


def test_entries_that_do_not_match_are_named(tmp_path, tmp_path_factory):
    path = tmp_path / "model.npz"
    write_zip(path, spoil(good_entries(tmp_path_factory), stray=np.ones(3), biases_1=None))
    with pytest.raises(ValueError, match=r"\(unexpected: 'stray'; missing: 'biases_1'\)$"):
        bpcore.load(path)


# ---- fuzzing --------------------------------------------------------------------------------

class Hang(Exception):
    pass


def _alarm(signum, frame):
    raise Hang("load took more than 10 s")


def test_a_file_cut_short_is_said_to_be_damaged_and_is_closed(tmp_path):
    net, _ = trained()
    net.save(tmp_path / "model.npz")
    data = (tmp_path / "model.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[:len(data) // 2])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ValueError, match="or is one damaged or cut short: it starts as "
                                             "a zip archive does"):
            bpcore.load(tmp_path / "cut.npz")
        gc.collect()  # an open file left behind warns as it is collected
    assert [str(w.message) for w in caught if w.category is ResourceWarning] == []


def mutations(data, seed=20240611):
    """About 2000 damaged copies of `data`: truncations at many offsets, single and multiple
    random byte flips at random positions, and zeroed ranges."""
    rng = np.random.default_rng(seed)
    n = len(data)
    for cut in sorted(set(np.linspace(0, n - 1, 300).astype(int).tolist())):
        yield f"truncated at {cut}", data[:cut]
    for i in range(1500):
        flipped = bytearray(data)
        position = int(rng.integers(n))
        flipped[position] ^= int(rng.integers(1, 256))
        yield f"byte {position} flipped ({i})", bytes(flipped)
    for i in range(200):
        flipped = bytearray(data)
        for position in rng.integers(n, size=int(rng.integers(2, 9))):
            flipped[int(position)] = int(rng.integers(256))
        yield f"several bytes changed ({i})", bytes(flipped)
    for i in range(50):
        zeroed = bytearray(data)
        start, length = int(rng.integers(n)), int(rng.integers(1, 64))
        zeroed[start:start + length] = bytes(len(zeroed[start:start + length]))
        yield f"range zeroed at {start} ({i})", bytes(zeroed)


def test_fuzzed_files_either_load_a_valid_network_or_raise_value_error(backend, tmp_path):
    # Reading a file runs no kernel code except the final predict check, and each run takes a
    # few seconds, so this runs once, on the compiled backend (its predict is the riskier one).
    if backend != "cython":
        pytest.skip("file parsing is backend-independent; fuzzed once, on the compiled backend")
    net, X = trained()
    original = tmp_path / "original.npz"
    net.save(original)
    data = original.read_bytes()
    path = tmp_path / "fuzzed.npz"
    outcomes = {"ValueError": 0, "loaded": 0}
    previous = signal.signal(signal.SIGALRM, _alarm)
    try:
        for count, (what, mutated) in enumerate(mutations(data), start=1):
            path.write_bytes(mutated)
            signal.alarm(10)
            try:
                loaded = bpcore.load(path)
            except ValueError:
                outcomes["ValueError"] += 1
                continue
            except Hang:
                pytest.fail(f"{what}: load hung")
            except Exception as error:  # anything else is a bug
                pytest.fail(f"{what}: {type(error).__name__}: {error}")
            finally:
                signal.alarm(0)
            outcomes["loaded"] += 1
            assert loaded.sizes == net.sizes, what
            assert np.isfinite(flat(loaded)).all(), what
            assert np.isfinite(loaded.predict(X)).all(), what
    finally:
        signal.signal(signal.SIGALRM, previous)
    assert count >= 1000
    # both outcomes happen: most damage is caught, some flips hit bytes nothing depends on
    assert outcomes["ValueError"] > 1000, outcomes
    assert outcomes["loaded"] > 0, outcomes


# ---- format version 2: the optimizer's state and the generator travel -----------------------

@pytest.mark.parametrize("case", list(STATE_CASES))
def test_damaged_optimizer_or_generator_entries_are_named(case, tmp_path, tmp_path_factory):
    path = tmp_path / "model.npz"
    bad_files(good_entries(tmp_path_factory))[case](path)
    with pytest.raises(ValueError) as info:
        bpcore.load(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    assert f"'{STATE_CASES[case][1]}'" in message


def test_a_version_1_file_still_loads(tmp_path, tmp_path_factory):
    # what bpcore wrote before format version 2: no optimizer nor generator entries
    old = {key: value for key, value in good_entries(tmp_path_factory).items()
           if not key.startswith(("optimizer", "generator"))}
    old["format_version"] = np.array(1, dtype=np.int64)
    path = tmp_path / "old.npz"
    np.savez(path, meta_note=np.array("kept"), **old)
    loaded, extra = bpcore.load(path, with_extra=True)
    assert extra == {"meta_note": np.array("kept")}
    np.testing.assert_array_equal(loaded.get_state()["parameters"], np.concatenate(
        [np.concatenate([old[f"weights_{i}"].ravel(), old[f"biases_{i}"]]) for i in range(2)]))
    # a fresh optimizer state, and the generator of seed 0, as version 1 files always gave
    state = loaded.get_state()
    assert state["optimizer"]["name"] == "sgd" and not state["optimizer"]["velocity"].any()
    assert state["generator"] == bpcore.Network([3, 4, 2], seed=0).get_state()["generator"]


def test_a_saved_file_holds_the_optimizer_and_generator_entries(tmp_path):
    net = bpcore.Network([3, 4, 2], seed=2)
    n = len(net.get_state()["parameters"])
    net.set_state({"optimizer": {"name": "adam", "m": np.full(n, 0.5), "v": np.ones(n),
                                 "step": 7.0}})
    net.save(tmp_path / "model.npz")
    saved = entries(tmp_path / "model.npz")
    assert int(saved["format_version"]) == 2
    assert str(saved["optimizer"]) == "adam" and saved["optimizer_step"].dtype == np.float64
    assert not any(key.startswith("meta_") for key in saved)
    generator = net.get_state()["generator"]["state"]
    halves = saved["generator_state"]
    assert halves.dtype == np.uint64
    assert int(halves[0]) << 64 | int(halves[1]) == generator["state"]  # high half first


def numbers(state):
    """A get_state() dict's arrays and numbers, flattened for comparison."""
    out = {"parameters": state["parameters"], "generator": state.get("generator")}
    out.update((f"optimizer {key}", value) for key, value in state["optimizer"].items())
    return out


def assert_same_state(a, b):
    a, b = numbers(a.get_state()), numbers(b.get_state())
    assert a.keys() == b.keys()
    for key in a:
        if isinstance(a[key], np.ndarray):
            assert a[key].dtype == b[key].dtype and np.array_equal(a[key], b[key]), key
        else:
            assert a[key] == b[key], key


# a learning rate that trains the small problem below sensibly, where the default would not
LEARNING_RATES = {"sgd": 0.1, "adam": 0.01, "rprop": 0.01}


def optimizer_cases():
    """Every optimizer known at run time with its defaults (and a sensible lr); SGD also with
    momentum and, where it has it, Nesterov momentum."""
    cases = []
    for name, kind in bpcore.optim.Optimizer.classes.items():
        fields = [field.name for field in dataclasses.fields(kind)]
        settings = {"lr": LEARNING_RATES[name]} if name in LEARNING_RATES and "lr" in fields else {}
        cases.append(pytest.param(name, settings, id=name))
        if name == "sgd":
            cases.append(pytest.param(name, {**settings, "momentum": 0.9}, id="sgd-momentum"))
            if "nesterov" in fields:
                cases.append(pytest.param(name, {**settings, "momentum": 0.9, "nesterov": True},
                                          id="sgd-nesterov"))
    return cases


def problem(dtype):
    rng = np.random.default_rng(7)
    X, Y = rng.normal(size=(10, 3)), rng.uniform(0.1, 0.9, size=(10, 2))
    return (lambda: bpcore.Network([3, 5, 2], dtype=dtype, seed=3)), X, Y


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name, settings", optimizer_cases())
def test_save_load_and_fit_on_gives_the_weights_of_fitting_on(name, settings, dtype, tmp_path):
    make, X, Y = problem(dtype)
    optimizer = bpcore.optim.Optimizer.classes[name](**settings)
    batches = {"batch_size": 2}
    try:  # a full-batch optimizer may refuse mini-batches: then it gets fit's default
        make().fit(X, Y, epochs=1, optimizer=optimizer, **batches)
    except (TypeError, ValueError):
        batches = {}
    run = dict(epochs=3, shuffle=True, optimizer=optimizer, **batches)
    straight, interrupted = make(), make()
    straight.fit(X, Y, **run)
    straight.fit(X, Y, **run)
    interrupted.fit(X, Y, **run)
    interrupted.save(tmp_path / "model.npz")
    loaded = bpcore.load(tmp_path / "model.npz")
    assert_same_state(loaded, interrupted)
    loaded.fit(X, Y, **run)
    assert np.array_equal(loaded.get_state()["parameters"], straight.get_state()["parameters"])
    assert_same_state(loaded, straight)
    # and training did move the weights, through six epochs of shuffled samples
    assert not np.array_equal(straight.get_state()["parameters"], make().get_state()["parameters"])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name, settings", optimizer_cases())
def test_save_load_and_step_on_gives_the_weights_of_stepping_on(name, settings, dtype, tmp_path):
    make, X, Y = problem(dtype)
    X, Y = X.astype(dtype), Y.astype(dtype)  # so that 1-D samples take the one-sample path
    optimizer = bpcore.optim.Optimizer.classes[name](**settings)

    def steps(net):  # a one-sample step, then a batch of two, and so on
        for i in range(0, 9, 3):
            net.step(X[i], Y[i], optimizer=optimizer)
            net.step(X[i + 1:i + 3], Y[i + 1:i + 3], optimizer=optimizer)

    straight, interrupted = make(), make()
    try:
        steps(straight)
    except (TypeError, ValueError) as error:  # e.g. a full-batch method that only fits
        pytest.skip(f"{name} takes no steps: {error}")
    steps(straight)
    steps(interrupted)
    interrupted.save(tmp_path / "model.npz")
    loaded = bpcore.load(tmp_path / "model.npz")
    steps(loaded)
    assert np.array_equal(loaded.get_state()["parameters"], straight.get_state()["parameters"])
    assert_same_state(loaded, straight)


def test_get_state_and_set_state_carry_the_generator(tmp_path):
    net, twin = bpcore.Network([2, 3, 1], seed=5), bpcore.Network([2, 3, 1], seed=6)
    net._rng.random(dtype=np.float32)  # leaves half a 64-bit draw waiting (has_uint32 = 1)
    state = net.get_state()
    assert state["generator"]["has_uint32"] == 1
    state["generator"]["state"]["state"] += 1  # a copy: the network keeps its own
    twin.set_state(net.get_state())
    assert np.array_equal(twin._rng.random(5), net._rng.random(5))
    # through a file too, where the 128-bit numbers are stored as two uint64 each
    net._rng.random(dtype=np.float32)
    net.save(tmp_path / "model.npz")
    loaded = bpcore.load(tmp_path / "model.npz")
    assert np.array_equal(loaded._rng.random(5), net._rng.random(5))
    # a state without a generator leaves it alone
    before = twin.get_state()["generator"]
    twin.set_state({"parameters": net.get_state()["parameters"]})
    assert twin.get_state()["generator"] == before


def test_a_network_seeded_with_another_bit_generator_saves_and_loads(tmp_path):
    net = bpcore.Network([2, 3, 1], seed=np.random.Generator(np.random.MT19937(0)))
    state = net.get_state()
    assert "generator" not in state  # only PCG64 states are stored
    bpcore.Network([2, 3, 1], seed=1).set_state(state)
    # the file cannot hold that generator: save says so, and the loaded network has seed=0's
    with pytest.warns(UserWarning, match="generator is not numpy's PCG64.* seed=0"):
        net.save(tmp_path / "model.npz")
    with pytest.warns(UserWarning, match="generator is not numpy's PCG64"):
        bpcore.io.save(net, tmp_path / "model.npz")
    loaded = bpcore.load(tmp_path / "model.npz")
    assert np.array_equal(loaded.get_state()["parameters"], state["parameters"])
    assert loaded.get_state()["generator"] == bpcore.Network([2, 3, 1], seed=0).get_state()[
        "generator"]
    # and a PCG64 state makes its generator a PCG64 one
    other = bpcore.Network([2, 3, 1], seed=4)
    net.set_state({"generator": other.get_state()["generator"]})
    assert isinstance(net._rng.bit_generator, np.random.PCG64)
    assert np.array_equal(net._rng.random(3), other._rng.random(3))


def _generator(**changes):
    state = np.random.default_rng(0).bit_generator.state
    for key, value in changes.items():
        if key in ("state", "inc"):
            state["state"][key] = value
        elif value is None:
            del state[key]
        else:
            state[key] = value
    return state


@pytest.mark.parametrize("generator, error, message", [
    ([1, 2], TypeError, r"state\['generator'\] must be a PCG64 generator's state"),
    (np.random.MT19937(0).state, ValueError, "got bit_generator 'MT19937'"),
    (_generator(bit_generator="PCG64DXSM"), ValueError, "got bit_generator 'PCG64DXSM'"),
    (_generator(uinteger=None), ValueError, r"state\['generator'\] must be a PCG64"),
    (_generator(extra=1), ValueError, r"state\['generator'\] must be a PCG64"),
    ({**_generator(), "state": {"state": 1}}, ValueError, r"state\['generator'\] must be a PCG64"),
    ({**_generator(), "state": [1, 3]}, ValueError, r"state\['generator'\] must be a PCG64"),
    (_generator(state=1.5), TypeError,
     r"state\['generator'\]\['state'\]\['state'\] must be an int"),
    (_generator(inc="3"), TypeError, r"\['state'\]\['inc'\] must be an int"),
    (_generator(has_uint32=True), TypeError, r"\['has_uint32'\] must be an int"),
    (_generator(state=-1), ValueError, r"\['state'\]\['state'\] must be in \[0, 2\*\*128\)"),
    (_generator(inc=2**128 + 1), ValueError, r"\['state'\]\['inc'\] must be in \[0, 2\*\*128\)"),
    (_generator(inc=4), ValueError, r"\['state'\]\['inc'\] must be odd"),
    (_generator(has_uint32=2), ValueError, r"\['has_uint32'\] must be in"),
    (_generator(uinteger=2**32), ValueError, r"\['uinteger'\] must be in \[0, 2\*\*32\)"),
])
def test_set_state_refuses_a_bad_generator_and_changes_nothing(generator, error, message):
    net, other = bpcore.Network([2, 3, 1], seed=5), bpcore.Network([2, 3, 1], seed=6)
    with pytest.raises(error, match=message):
        net.set_state({"parameters": other.get_state()["parameters"], "generator": generator})
    assert_same_state(net, bpcore.Network([2, 3, 1], seed=5))  # parameters, generator unchanged
