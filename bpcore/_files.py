"""Writing model files: the .npz entries of a network's state, written atomically.

The lowest layer of model files, below the network (whose `save` uses it) and `bpcore.io`
(which reads the files back, and re-exports `write_atomically`). It works on the dictionary
of `Network.get_state()`, never on a network.
"""
from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
import warnings
from collections.abc import Callable, Mapping
from typing import IO, Any

import numpy as np
import numpy.typing as npt

from ._layout import first_not_finite, layer_parameters
from ._validation import SEPARATORS, checked_path
from .optim import OptimizerState

# Version 1: format_version, sizes, activation, output, loss, dtype, weights_<i>, biases_<i>.
# Version 2 adds the optimizer's state: "optimizer" (its name) and "optimizer_<name>" for each
# of its state arrays (the network's dtype) and scalars (float64); and, when the generator is
# numpy's PCG64, its state in GENERATOR_ENTRIES. "meta_" entries are the caller's.
FORMAT_VERSION = 2
EXTRA_PREFIX = "meta_"
OPTIMIZER_PREFIX = "optimizer_"
# The bit generator's name ("PCG64"), its 128-bit state and increment (each as two uint64:
# high half, low half), then has_uint32 and uinteger (uint64 scalars)
GENERATOR_ENTRIES = ("generator", "generator_state", "generator_inc", "generator_has_uint32",
                     "generator_uinteger")
_LOW_64 = (1 << 64) - 1
MAX_EXTRA_BYTES = 1 << 26  # 64 MiB for each "meta_" entry, its header included
MAX_EXTRA_TOTAL = 1 << 28  # 256 MiB for all of them
MAX_EXTRA_KEY = 200  # characters in an entry's name


def write_model(state: Mapping[str, Any], path: str | os.PathLike[str],
                extra: Mapping[str, npt.ArrayLike] | None = None) -> None:
    """Write the network whose `get_state()` is `state` to `path` (.npz), atomically, with
    the "meta_" arrays of `extra` beside it; see `bpcore.io.save`."""
    path = checked_path(path)
    checked = check_extra(extra or {})
    # Any, not NDArray: savez's stub would otherwise match these to its allow_pickle argument
    arrays: dict[str, Any] = {
        "format_version": np.array(FORMAT_VERSION, dtype=np.int64),
        "sizes": np.array(state["sizes"], dtype=np.int64),
        "activation": np.array(state["activation"]),
        "output": np.array(state["output"]),
        "loss": np.array(state["loss"]),
        "dtype": np.array(np.dtype(state["dtype"]).name),
    }
    bad = first_not_finite(state["parameters"], state["sizes"])
    if bad is not None:  # load refuses them: a file that never loads
        raise ValueError(f"cannot save a network whose {bad} hold NaN or infinity: a model "
                         f"file must load back")
    for layer, (weights, biases) in enumerate(layer_parameters(state["parameters"],
                                                               state["sizes"])):
        arrays[f"weights_{layer}"] = weights
        arrays[f"biases_{layer}"] = biases
    optimizer = state["optimizer"]
    arrays["optimizer"] = np.array(optimizer["name"])
    for name, value in optimizer.items():
        if name != "name":  # a state array (the network's dtype) or a float64 scalar
            if not np.isfinite(value).all():  # load refuses these too
                raise ValueError(f"cannot save a network whose {optimizer['name']} state "
                                 f"{name!r} holds NaN or infinity: a model file must load "
                                 f"back; reset_optimizer() drops the state")
            arrays[OPTIMIZER_PREFIX + name] = (np.asarray(value) if np.ndim(value)
                                               else np.array(value, dtype=np.float64))
    try:  # as load reads it back (Adam's v >= 0, Rprop's step sizes > 0, ...)
        OptimizerState.from_dict(optimizer, len(state["parameters"]), np.dtype(state["dtype"]))
    except (TypeError, ValueError) as error:
        raise ValueError(f"cannot save a network whose optimizer state load would refuse "
                         f"({error}): a model file must load back; reset_optimizer() drops "
                         f"the state") from None
    generator = state.get("generator")  # absent for a generator of another kind than PCG64
    if generator is None:
        warnings.warn("the network's generator is not numpy's PCG64, whose state is all a "
                      "model file holds: the loaded network shuffles in fit with the generator "
                      "of seed=0, so training it on differs from training this one on",
                      UserWarning, stacklevel=3)  # the caller of Network.save or io.save
    else:
        arrays.update(zip(GENERATOR_ENTRIES, (
            np.array(generator["bit_generator"]),
            _halves(generator["state"]["state"]), _halves(generator["state"]["inc"]),
            np.array(generator["has_uint32"], dtype=np.uint64),
            np.array(generator["uinteger"], dtype=np.uint64))))
    arrays.update(checked)

    def write(file: IO[bytes]) -> None:
        # every array is numbers or text (checked above), so nothing is pickled; savez's own
        # allow_pickle argument is not passed: NumPy 2.0 would store it as an array
        np.savez(file, **arrays)

    write_atomically(path, write)


def _halves(number: int) -> npt.NDArray[np.uint64]:
    """A 128-bit int as two uint64: high half, low half."""
    return np.array([number >> 64, number & _LOW_64], dtype=np.uint64)


def joined(halves: npt.NDArray[np.uint64]) -> int:
    """The 128-bit int that `_halves` stored as two uint64 (high half first)."""
    return int(halves[0]) << 64 | int(halves[1])


def _new_file_mode(path: str) -> int:
    """The mode `open(path, "w")` would leave: an existing file keeps its own, a new one gets
    0o666 less the process's umask."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode) & 0o777  # not setuid, setgid, sticky
    except FileNotFoundError:
        pass
    try:  # Linux reports the umask without changing it (os.umask would, for every thread)
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def write_atomically(path: str | os.PathLike[str],
                     write: Callable[[IO[bytes]], object]) -> None:
    """Call write(file) on a temporary file in `path`'s folder, flush it to disk, give it the
    permissions a plain open(path, "w") would give, then rename it over `path`: readers see the
    old file or the whole new one, never a half-written one, and a failure leaves no trace
    (but a process killed by a signal it does not handle, as SIGTERM's default does, cannot
    remove its temporary file: the ``bpcore`` commands handle SIGTERM and SIGHUP).

    Parameters
    ----------
    path : str or os.PathLike
        The file to create or replace.
    write : callable
        Called once as write(file) with the temporary file, open for writing bytes; its
        return value is ignored.

    Raises
    ------
    ValueError
        If `path` names something other than a regular file or folder (a device, a pipe),
        or leads through /dev or /proc (/dev/stdout: the file stdout goes to).
    OSError
        If the file cannot be written or renamed (IsADirectoryError for a folder, and for a
        path that is empty or ends in a separator). Whatever `write` raises (and anything
        else, KeyboardInterrupt included) also propagates, after the temporary file is
        removed and `path` is left as it was.

    Examples
    --------
    >>> import os, tempfile
    >>> from bpcore.io import write_atomically
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "out.csv")
    ...     write_atomically(path, lambda file: file.write(b"a,b\\n1,2\\n"))
    ...     with open(path) as file:
    ...         print(file.read(), end="")
    ...     print(os.listdir(folder))
    a,b
    1,2
    ['out.csv']
    """
    path = checked_path(path)  # a bytes path too, as open() takes one (mkstemp needs one kind)
    target, folder = writable_target(path)
    temporary = None
    try:
        try:
            handle, temporary = tempfile.mkstemp(prefix=".bpcore-", suffix=".tmp", dir=folder)
        except OSError as error:  # its message would name the temporary file, not path
            raise type(error)(error.errno, f"cannot create a file in folder {folder!r}: "
                              f"{error.strerror}", path) from None
        with os.fdopen(handle, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        # mkstemp creates 0o600 files, and the mode survives the rename
        os.chmod(temporary, _new_file_mode(target))
        os.replace(temporary, target)
        temporary = None
    except BaseException:
        if temporary is not None:
            with contextlib.suppress(FileNotFoundError):  # renamed just before an interrupt
                os.unlink(temporary)
        raise


def writable_target(path: str) -> tuple[str, str]:
    """The file `write_atomically` would replace for `path`, and its folder; the errors it
    would raise for a path that names no file it can write (see its Raises), so that a
    command can refuse such a path before any work."""
    if not path or path.endswith(SEPARATORS):  # realpath drops the ending that open keeps
        raise IsADirectoryError(errno.EISDIR, "names no file: the path is empty or ends in a "
                                "separator, which names a folder", path)
    if _through_the_system(path):
        # /dev/stdout leads through /proc to the file stdout is redirected to: the rename
        # would replace that file, and what the shell writes after it goes nowhere
        raise ValueError(f"{path!r} leads to a device or a process's stream (/dev, /proc): "
                         f"bpcore writes whole files, which would replace what it leads to; "
                         f"give the path of a file")
    try:  # a loop of links, a name too long: what opening it would meet, said now
        os.stat(path)
    except FileNotFoundError:
        pass
    except OSError as error:
        raise type(error)(error.errno, error.strerror, path) from None
    target = os.path.realpath(path)  # as open() does, write through a symbolic link
    folder = os.path.dirname(target)
    if not os.path.isdir(folder):  # else mkstemp's error would name its temporary file
        raise FileNotFoundError(errno.ENOENT, f"no folder {folder!r} to write into", path)
    if os.path.isdir(target):  # else the rename's error would name the temporary file
        raise IsADirectoryError(errno.EISDIR, "is a folder, not a file to write", path)
    if os.path.exists(target) and not os.path.isfile(target):
        # a device (/dev/null), pipe or socket: the rename would replace it with a file
        raise ValueError(f"{path!r} is not a regular file (a device, pipe or socket): bpcore "
                         f"writes whole files, which would replace it; give the path of a "
                         f"file")
    return target, folder


def _through_the_system(path: str) -> bool:
    """Whether `path` leads, through symbolic links, into /proc or through a link that lies
    in /dev (/dev/stdout, /dev/fd/1, /proc/self/fd/1: the file a stream goes to). Folders
    are resolved as the kernel resolves them, the last part one link at a time; a plain file
    or folder under /dev (/dev/shm) is not refused here. POSIX only."""
    if os.name != "posix":
        return False
    for _ in range(40):  # as many links as the kernel follows
        head, tail = os.path.split(os.path.abspath(path))
        path = os.path.join(os.path.realpath(head), tail)
        if path.startswith("/proc/") or path == "/proc":
            return True
        if not os.path.islink(path):
            return False
        if path.startswith("/dev/"):
            return True
        path = os.path.join(os.path.dirname(path), os.readlink(path))
    return False


def check_extra(extra: Mapping[str, npt.ArrayLike]) -> dict[str, npt.NDArray[Any]]:
    checked = {}
    total = 0
    for key, value in extra.items():
        if not isinstance(key, str) or not key.startswith(EXTRA_PREFIX):
            raise ValueError(f"extra keys must be strings starting with {EXTRA_PREFIX!r}, "
                             f"got {key!r}")
        if len(key) > MAX_EXTRA_KEY or "\x00" in key or "/" in key:  # names load reads back
            raise ValueError(f"extra keys must be at most {MAX_EXTRA_KEY} characters, without "
                             f"NUL or '/', got {key[:40]!r}" + ("..." if len(key) > 40 else ""))
        array = np.asarray(value)
        if array.dtype.kind not in "biufU":
            raise TypeError(f"extra[{key!r}] must hold numbers or strings, got dtype "
                            f"{array.dtype}")
        size = array.nbytes + 4096  # the .npy header is at most 4 KiB here
        if size > MAX_EXTRA_BYTES:  # load refuses such an entry: a file that never loads
            raise ValueError(f"extra[{key!r}] holds {array.nbytes} bytes; an extra entry may "
                             f"hold at most {MAX_EXTRA_BYTES - 4096}")
        total += size
        checked[key] = array
    if total > MAX_EXTRA_TOTAL:
        raise ValueError(f"the extra entries hold {total} bytes in all; they may hold at most "
                         f"{MAX_EXTRA_TOTAL}")
    return checked
