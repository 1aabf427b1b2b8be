"""Model files: one .npz per network, no pickle, written atomically and validated on load."""
from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import Any, BinaryIO, Literal, overload

import numpy as np
import numpy.typing as npt

from ._files import (EXTRA_PREFIX, FORMAT_VERSION, GENERATOR_ENTRIES, MAX_EXTRA_BYTES,
                     MAX_EXTRA_TOTAL, OPTIMIZER_PREFIX, joined, write_atomically, write_model)
from ._layout import parameter_count
from ._spec import (DTYPES, HIDDEN_ACTIVATIONS, LOSSES, MAX_LAYERS, MAX_PARAMETERS,
                    OUTPUT_ACTIVATIONS, check_pairing)
from ._validation import checked_path
from .network import Network
from .optim import Optimizer, OptimizerState

# What a model file's entries may claim in all, read: INFLATION times the file's size, or
# INFLATED_FREE bytes where that is more. Deflate packs about 1032 bytes of zeros into one, so
# a file of compressed zeros of 8 MB made load allocate 16 GB. bpcore writes its entries
# uncompressed (what they claim is about the file's size); a model compressed by
# numpy.savez_compressed claims about 1.1 to 3 times its size (weights do not compress, a
# fresh optimizer state of zeros does).
INFLATION = 16
INFLATED_FREE = 1 << 26

__all__ = ["save", "load", "write_atomically"]



def save(network: Network, path: str | os.PathLike[str],
         extra: Mapping[str, npt.ArrayLike] | None = None) -> None:
    """Write `network` to `path` (.npz) atomically: a temporary file in the same folder is
    written, flushed to disk, then renamed over `path`, so a good file is never half replaced.

    The file holds the network's sizes, activations, loss, dtype and parameters, its
    optimizer's state (SGD's velocity, Adam's moments and step count, ...) and its
    generator's state, so that save, load and training on gives bit for bit the weights
    that training on without saving gives (when the generator is numpy's PCG64, the default;
    for another kind it warns, and the loaded network shuffles with the generator of
    ``seed=0``); nothing is pickled. It gets the permissions a
    plain ``open(path, "w")`` would give: a new file 0o666 less the umask, an existing one
    keeps its mode.

    Parameters
    ----------
    network : Network
        The network to write.
    path : str or os.PathLike
        Where to write; ``.npz`` is the usual suffix (none is added).
    extra : mapping of str to array_like, optional
        Arrays stored beside the network, for callers such as the command line that keep
        input scaling or class names with the model; ``load(path, with_extra=True)`` returns
        them. Names must start with ``"meta_"``; values must hold numbers or strings, never
        objects.

    Raises
    ------
    ValueError
        If a name in `extra` does not start with ``"meta_"``, the network's weights or biases
        hold NaN or infinity, or its optimizer's state is one `load` would refuse (it would
        refuse the file); if `path` is a device, pipe or socket, or leads through /dev or
        /proc (/dev/stdout: the file a stream goes to). Nothing is written.
    TypeError
        If a value in `extra` holds something other than numbers or strings.
    OSError
        If the file cannot be written (IsADirectoryError for a folder, and for a path that
        is empty or ends in a separator); no temporary file is left behind.

    Warns
    -----
    UserWarning
        If the network's generator is not a PCG64 one, whose state the file cannot hold.

    See Also
    --------
    bpcore.Network.save : The same, without `extra`.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> import bpcore
    >>> from bpcore.io import save, load
    >>> net = bpcore.Network([2, 3, 1], seed=0)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "net.npz")
    ...     save(net, path, extra={"meta_classes": np.array(["no", "yes"])})
    ...     copy, extra = load(path, with_extra=True)
    >>> extra["meta_classes"]
    array(['no', 'yes'], dtype='<U3')
    """
    write_model(network.get_state(), path, extra)


def _scalar_text(archive: np.lib.npyio.NpzFile[Any], key: str, options: Sequence[str],
                 path: str) -> str:
    value = _read(archive, key, path, max_bytes=4096)
    if value.dtype.kind != "U" or value.shape != () or str(value) not in options:
        raise ValueError(f"{path}: entry {key!r} must be one of {', '.join(options)}, got "
                         f"{value!r}")
    return str(value)


def _read(archive: np.lib.npyio.NpzFile[Any], key: str, path: str,
          max_bytes: int) -> npt.NDArray[Any]:
    """One array of the archive, refusing anything larger than it can legitimately be."""
    assert archive.zip is not None  # numpy's stubs allow None, which only a closed archive has
    info = archive.zip.getinfo(key + ".npy")
    if info.file_size > max_bytes:
        raise ValueError(f"{path}: entry {key!r} claims {info.file_size} bytes, more than the "
                         f"{max_bytes} its sizes allow")
    # numpy allocates the shape a header claims before reading the data: check it first
    with archive.zip.open(info) as file:
        version = np.lib.format.read_magic(file)
        read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                       else np.lib.format.read_array_header_2_0)
        shape, _, dtype = read_header(file)
    if dtype.hasobject or math.prod(shape) * dtype.itemsize > info.file_size:
        raise ValueError(f"{path}: entry {key!r} claims {dtype} of shape {shape}, which its "
                         f"{info.file_size} bytes cannot hold")
    return archive[key]


@overload
def load(path: str | os.PathLike[str], with_extra: Literal[False] = False) -> Network: ...


@overload
def load(path: str | os.PathLike[str],
         with_extra: Literal[True]) -> tuple[Network, dict[str, npt.NDArray[Any]]]: ...


@overload
def load(path: str | os.PathLike[str],
         with_extra: bool) -> Network | tuple[Network, dict[str, npt.NDArray[Any]]]: ...


def load(path: str | os.PathLike[str],
         with_extra: bool = False) -> Network | tuple[Network, dict[str, npt.NDArray[Any]]]:
    """Read a network written by `bpcore.io.save`, checking every entry; ValueError if
    anything is off.

    Nothing is unpickled, and the sizes a file claims are checked against its length before
    the network is allocated, so a small file cannot make it allocate a huge one. Files of
    format version 2 (this version's) give the network its saved optimizer state and
    generator; files of version 1 (bpcore before it) hold neither, and give a fresh
    optimizer state and the generator of ``seed=0``.

    Parameters
    ----------
    path : str or os.PathLike
        A file that `bpcore.io.save`, `bpcore.Network.save` or ``bpcore train`` wrote.
    with_extra : bool, default False
        Also return the ``"meta_"`` arrays that `bpcore.io.save` stored beside the network.

    Returns
    -------
    Network or tuple of (Network, dict of str to ndarray)
        The network, with the saved parameters; with ``with_extra=True`` the pair
        (network, extra).

    Raises
    ------
    TypeError
        If `with_extra` is not True or False.
    OSError
        If the file cannot be opened (FileNotFoundError, IsADirectoryError, ...).
    ValueError
        If the file is not a bpcore model ("... is not a bpcore model file ...") or an entry
        is damaged, missing, inconsistent or not finite; the message names the entry.
    MemoryError
        If the network the file holds (with its optimizer state) does not fit in memory.

    Examples
    --------
    >>> import os, tempfile
    >>> import bpcore
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = os.path.join(folder.name, "net.npz")
    >>> bpcore.Network([4, 8, 3], output="softmax", loss="cross_entropy").save(path)
    >>> bpcore.load(path).sizes
    (4, 8, 3)
    >>> notes = os.path.join(folder.name, "notes.csv")
    >>> with open(notes, "w") as file:
    ...     _ = file.write("x,y\\n1,2\\n")
    >>> bpcore.load(notes)
    Traceback (most recent call last):
        ...
    ValueError: ...notes.csv is not a bpcore model file (not an .npz archive; ...)
    >>> folder.cleanup()
    """
    path = checked_path(path)
    if not isinstance(with_extra, (bool, np.bool_)):  # "no" would count as true
        raise TypeError(f"with_extra must be True or False, got {with_extra!r}")
    if os.path.exists(path) and not os.path.isdir(path) and not os.path.isfile(path):
        # a named pipe would block the open until a writer came; a device never ends
        raise ValueError(f"{path} is not a bpcore model file (not a regular file: a device, "
                         f"pipe or socket)")
    with open(path, "rb") as file:  # FileNotFoundError, IsADirectoryError ... as they are
        # open here, not by np.load, which leaves its file open when the archive is damaged
        return _load_from(file, path, with_extra)


def _load_from(file: BinaryIO, path: str,
               with_extra: bool) -> Network | tuple[Network, dict[str, npt.NDArray[Any]]]:
    magic = file.read(4)
    # Look before numpy does: it takes any file that is neither .npz nor .npy for a pickle and
    # says so, which would invite the user to unpickle a text file.
    if magic == b"\x93NUM":
        raise ValueError(f"{path} is not a bpcore model file (a bare .npy array; a model is the "
                         f".npz archive that Network.save or `bpcore train` writes)")
    if magic != b"PK\x03\x04":
        raise ValueError(f"{path} is not a bpcore model file (not an .npz archive; a model is "
                         f"the .npz file that Network.save or `bpcore train` writes)")
    file.seek(0)
    try:
        archive = np.load(file, allow_pickle=False)
    except Exception as error:  # it starts as a zip archive does: one cut short or damaged
        raise ValueError(f"{path} is not a bpcore model file, or is one damaged or cut "
                         f"short: it starts as a zip archive does but does not read as one "
                         f"({type(error).__name__}: {error})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(f"{path} is not a bpcore model file (not an .npz archive)")
    try:
        with archive:
            assert archive.zip is not None  # open
            claimed = sum(info.file_size for info in archive.zip.infolist())
            size = os.path.getsize(path)
            if claimed > max(INFLATED_FREE, INFLATION * size):
                raise ValueError(f"{path}: its entries claim {claimed} bytes once read, more "
                                 f"than {INFLATION} times the file's {size} bytes (a file of "
                                 f"compressed zeros, or a damaged one; bpcore writes its "
                                 f"models uncompressed)")
            network = _network_from(archive, path)
            if not with_extra:
                return network
            keys = [key for key in archive.files if key.startswith(EXTRA_PREFIX)]
            claimed = sum(archive.zip.getinfo(key + ".npy").file_size for key in keys)
            if claimed > MAX_EXTRA_TOTAL:
                raise ValueError(f"{path}: its extra entries claim {claimed} bytes in all, more "
                                 f"than the {MAX_EXTRA_TOTAL} that extra entries may take")
            return network, {key: _read(archive, key, path, max_bytes=MAX_EXTRA_BYTES)
                             for key in keys}
    except ValueError:
        raise
    except MemoryError as error:  # a valid file of a network too large for this machine
        raise MemoryError(f"{path}: reading the model needs more memory than could be "
                          f"allocated" + (f" ({error})" if str(error) else "")) from None
    except Exception as error:  # damaged zip members, bad headers, pickled objects ...
        raise ValueError(f"{path} is not a valid bpcore model file ({type(error).__name__}: "
                         f"{error})") from None


def _check_claimed_sizes(archive: np.lib.npyio.NpzFile[Any], sizes: Sequence[int], itemsize: int,
                         path: str) -> None:
    """Before allocating a network for `sizes`, check that the archive really holds that much
    data: each entry's size must fit its layer (and all of them together what the file's size
    allows, checked before: INFLATION), so a small file claiming huge sizes is refused without
    allocating anything."""
    assert archive.zip is not None  # as in _read: the archive is open
    for layer, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        for key, count in ((f"weights_{layer}", n_out * n_in), (f"biases_{layer}", n_out)):
            nbytes = count * itemsize
            claimed = archive.zip.getinfo(key + ".npy").file_size
            if not nbytes <= claimed <= nbytes + 4096:
                raise ValueError(f"{path}: entry {key!r} holds {claimed} bytes, but sizes "
                                 f"{sizes} need {nbytes} bytes of parameters (plus a header)")


def _network_from(archive: np.lib.npyio.NpzFile[Any], path: str) -> Network:
    keys = {key for key in archive.files if not key.startswith(EXTRA_PREFIX)}
    if "format_version" not in keys:
        raise ValueError(f"{path} is not a bpcore model file (no format_version entry)")
    version = _read(archive, "format_version", path, max_bytes=4096)
    if (version.shape != () or version.dtype.kind not in "iu"
            or int(version) not in range(1, FORMAT_VERSION + 1)):
        raise ValueError(f"{path}: format_version must be an integer from 1 to "
                         f"{FORMAT_VERSION}, got {version!r}")
    sizes = _read(archive, "sizes", path, max_bytes=4096 + 8 * (MAX_LAYERS + 1))
    if sizes.ndim != 1 or sizes.dtype.kind not in "iu" or len(sizes) < 2 or sizes.min() < 1:
        raise ValueError(f"{path}: sizes must be at least 2 positive integers, got {sizes!r}")
    n_parameters = sum(int(a) * (int(b) + 1) for b, a in zip(sizes[:-1], sizes[1:]))
    if n_parameters > MAX_PARAMETERS:
        raise ValueError(f"{path}: sizes {sizes.tolist()} claim {n_parameters} parameters")
    n_layers = len(sizes) - 1
    expected = {"format_version", "sizes", "activation", "output", "loss", "dtype"}
    expected |= {f"{kind}_{layer}" for kind in ("weights", "biases") for layer in range(n_layers)}
    optimizer = None
    if int(version) >= 2:  # the optimizer's entries depend on its name; the generator's are
        expected.add("optimizer")  # absent when it was of another kind than PCG64
        if "optimizer" in keys:
            optimizer = _scalar_text(archive, "optimizer", tuple(Optimizer.classes), path)
            expected |= {OPTIMIZER_PREFIX + name for name in _optimizer_template(optimizer)}
        if "generator" in keys:
            expected |= set(GENERATOR_ENTRIES)
    if keys != expected:
        extra, missing = sorted(keys - expected), sorted(expected - keys)
        described = f"version {int(version)}, sizes {sizes.tolist()}" + (
            f" and optimizer {optimizer!r}" if optimizer else "")
        raise ValueError(f"{path}: entries do not match {described} "
                         f"(unexpected: {', '.join(map(repr, extra)) or 'none'}; "
                         f"missing: {', '.join(map(repr, missing)) or 'none'})")
    activation = _scalar_text(archive, "activation", HIDDEN_ACTIVATIONS, path)
    output = _scalar_text(archive, "output", OUTPUT_ACTIVATIONS, path)
    loss = _scalar_text(archive, "loss", tuple(LOSSES), path)
    dtype = _scalar_text(archive, "dtype", DTYPES, path)
    try:
        check_pairing(output, loss)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None
    _check_claimed_sizes(archive, sizes.tolist(), np.dtype(dtype).itemsize, path)
    try:  # Network's own limits (a width past MAX_WIDTH), in the file's name
        network = Network(sizes.tolist(), activation=activation, output=output, loss=loss,
                          dtype=dtype, seed=0)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None
    for layer, (weights, biases) in enumerate(zip(network.weights, network.biases)):
        for key, target in ((f"weights_{layer}", weights), (f"biases_{layer}", biases)):
            array = _read(archive, key, path, max_bytes=4096 + target.nbytes)
            if array.shape != target.shape or array.dtype != target.dtype:
                raise ValueError(f"{path}: {key} must be {target.dtype} of shape {target.shape}, "
                                 f"got {array.dtype} of shape {array.shape}")
            if not np.isfinite(array).all():
                raise ValueError(f"{path}: {key} holds NaN or infinity")
            target[...] = array
    if optimizer is not None:
        state = {"optimizer": _optimizer_from(archive, optimizer, network, path)}
        if "generator" in keys:
            state["generator"] = _generator_from(archive, path)
        try:  # set_state checks again what the entries hold
            network.set_state(state)
        except (TypeError, ValueError) as error:
            raise ValueError(f"{path}: the optimizer or generator entries do not fit: "
                             f"{error}") from None
    return network


def _optimizer_template(name: str) -> dict[str, Any]:
    """Optimizer `name`'s state entries by name: an empty array for each state array (as long
    as the parameters in a file), a float for each scalar."""
    template = OptimizerState(name, 0, np.dtype(np.float64)).to_dict()
    del template["name"]
    return template


def _optimizer_from(archive: np.lib.npyio.NpzFile[Any], name: str, network: Network,
                    path: str) -> dict[str, Any]:
    """The "optimizer_" entries as `Network.set_state` takes them."""
    n_parameters, dtype = parameter_count(network.sizes), network.dtype
    state: dict[str, Any] = {"name": name}
    for key, value in _optimizer_template(name).items():
        entry = OPTIMIZER_PREFIX + key
        # a state array has the network's dtype and one value per parameter; a scalar float64
        shape, wanted = ((n_parameters,), dtype) if isinstance(value, np.ndarray) else (
            (), np.dtype(np.float64))
        array = _read(archive, entry, path, max_bytes=4096 + math.prod(shape) * wanted.itemsize)
        if array.shape != shape or array.dtype != wanted:
            raise ValueError(f"{path}: entry {entry!r} must be {wanted} of shape {shape}, got "
                             f"{array.dtype} of shape {array.shape}")
        if not np.isfinite(array).all():
            raise ValueError(f"{path}: entry {entry!r} holds NaN or infinity")
        state[key] = array
    return state


def _generator_from(archive: np.lib.npyio.NpzFile[Any], path: str) -> dict[str, Any]:
    """The "generator" entries as `Network.set_state` takes them: a PCG64 state."""
    kind = _scalar_text(archive, "generator", ("PCG64",), path)
    read = {}
    # each entry's shape, and the bound of a scalar (has_uint32 is a flag, uinteger 32 bits)
    for entry, shape, limit in (("generator_state", (2,), None),
                                ("generator_inc", (2,), None),
                                ("generator_has_uint32", (), 2),
                                ("generator_uinteger", (), 1 << 32)):
        array = _read(archive, entry, path, max_bytes=4096)
        if array.shape != shape or array.dtype != np.uint64:
            raise ValueError(f"{path}: entry {entry!r} must be uint64 of shape {shape}, got "
                             f"{array.dtype} of shape {array.shape}")
        if limit is not None and not int(array) < limit:
            raise ValueError(f"{path}: entry {entry!r} must be less than {limit}, got "
                             f"{int(array)}")
        read[entry] = array
    if read["generator_inc"][1] % 2 == 0:  # PCG64's increment is odd
        raise ValueError(f"{path}: entry 'generator_inc' must hold an odd number, got "
                         f"{joined(read['generator_inc'])}")
    return {"bit_generator": kind,
            "state": {"state": joined(read["generator_state"]),
                      "inc": joined(read["generator_inc"])},
            "has_uint32": int(read["generator_has_uint32"]),
            "uinteger": int(read["generator_uinteger"])}
