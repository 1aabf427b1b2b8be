"""Checks at the public entry points: each bad input becomes one clear ValueError or TypeError
naming the argument, what was expected and what was given."""
from __future__ import annotations

import inspect
import math
import numbers
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from ._layout import Floats
from ._spec import ROW_SUM_TOLERANCE


class DivergenceError(ValueError):
    """Training produced a non-finite loss or parameter (NaN or infinity).

    Raised by `Network.fit` and `Network.step`; the network keeps the parameters it had
    before the epoch or step that diverged (from `fit`, not those of its best epoch so far).
    The message suggests a smaller learning rate, the usual cure (and less momentum, where
    the optimizer has it). A subclass of ValueError.

    Attributes
    ----------
    history : History or None
        From `fit`: the `History` of the epochs before the one that diverged (their losses,
        validation losses and rates; no epochs when the first one diverged). None from
        `step`, and from an L-BFGS fit refused at its start.

    Examples
    --------
    >>> import numpy as np
    >>> import bpcore
    >>> net = bpcore.Network([1, 1], output="identity", seed=0)
    >>> X = np.array([[1e10], [2e10], [3e10], [4e10]])
    >>> try:
    ...     net.fit(X, np.zeros(4), lr=1e300)
    ... except bpcore.DivergenceError as error:
    ...     print(error)
    ...     print(error.history.epochs, "epochs finished")
    training diverged in epoch 1 (loss ...); the network keeps the parameters from before
    that epoch; try a learning rate smaller than lr=1e+300
    0 epochs finished
    >>> bool(np.isfinite(net.weights[0]).all())
    True
    """

    history: Any = None


# what a DivergenceError of fit says of the parameters (the command line, which writes no
# model then, leaves it out)
KEPT = "the network keeps the parameters from before that epoch"


def dense(values: object, name: str) -> npt.NDArray[Any]:
    """np.asarray(values), refusing what it would misread: SciPy's sparse matrices and arrays
    (an array of one Python object), masked arrays with masked entries (their mask dropped,
    the values beneath it read) and arrays of Python objects other than real numbers (those
    of real numbers come as float64)."""
    if type(values) is np.ndarray and values.dtype.kind != "O":  # fit checks every call's
        return values
    sparse = sys.modules.get("scipy.sparse")  # a sparse input has imported it
    if sparse is not None and sparse.issparse(values):
        raise TypeError(f"{name} must be a dense array, got a sparse {type(values).__name__}: "
                        f"pass {name}.toarray()")
    if isinstance(values, np.ma.MaskedArray) and np.ma.is_masked(values):
        raise TypeError(f"{name} is a masked array with masked entries, which bpcore would "
                        f"read as the values beneath: fill them or drop their rows first")
    if values is None:  # else "got Python objects (dtype object)"
        raise TypeError(f"{name} must hold real numbers (int or float), got None")
    try:
        array = np.asarray(values)
    except ValueError as error:  # rows of different lengths, for one
        if "inhomogeneous" in str(error):  # NumPy's words for it
            raise ValueError(f"{name} must be a rectangular array of numbers, but its rows (or "
                             f"their entries) differ in length") from None
        raise ValueError(f"{name} must be a rectangular array of numbers: {error}") from None
    if array.dtype.kind == "O":
        held = _objects(array, name)
        if held is not None:
            raise TypeError(f"{name} must hold real numbers (int or float), got {held}")
        return array.astype(np.float64)
    return array


def kind_name(dtype: np.dtype[Any]) -> str:
    """What an array of `dtype` that is not of real numbers holds, in words, for messages."""
    return {"b": "booleans", "c": "complex numbers", "U": "strings", "S": "bytes",
            "M": "dates and times", "m": "time spans"}.get(dtype.kind, "values")


def as_samples(values: npt.ArrayLike, name: str, width: int,
               dtype: np.dtype[np.floating[Any]], columns: str = "feature",
               given_shape: tuple[int, ...] | None = None) -> tuple[Floats, bool]:
    """`values` as a C-contiguous (n, width) array of `dtype`, and whether it came as one 1-D
    row; `columns` names what its columns are in messages ("feature", "output"), and
    `given_shape` the shape the caller was given them in (values' own, unless told)."""
    array = dense(values, name)
    given_shape = array.shape if given_shape is None else given_shape
    kind = array.dtype.kind
    if kind not in "iuf":
        what = kind_name(array.dtype)
        remedy = f": {name}.astype(float) makes them 0 and 1" if kind == "b" else ""
        raise TypeError(f"{name} must hold real numbers (int or float), got {what} "
                        f"(dtype {array.dtype}){remedy}")
    single = array.ndim == 1
    if single and array.shape[0] == 0:  # not one sample of 0 features: nothing at all
        raise ValueError(f"{name} must hold at least one sample of {width} {columns}"
                         f"{'' if width == 1 else 's'}, got an empty array")
    if single:
        array = array.reshape(1, -1)
    elif array.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (n_samples, {width}) or one 1-D sample, "
                         f"got a {array.ndim}-D array of shape {np.shape(values)}")
    if array.shape[0] == 0:
        raise ValueError(f"{name} must hold at least one sample, got 0 (shape {array.shape})")
    if array.shape[1] != width:
        got = f"{array.shape[1]} {columns}" + ("" if array.shape[1] == 1 else "s")
        # a 1-D array is one sample; where the network takes one value per sample, it was
        # most likely meant as a column of samples
        hint = (f" (a 1-D {name} is one sample: {name}.reshape(-1, 1) makes each value a "
                f"sample)" if single and width == 1 else "")
        raise ValueError(f"{name} has {got}, but the network "
                         f"{'expects' if columns == 'feature' else 'has'} {width}{hint}")
    converted = as_read(array, dtype)
    check_finite(array, converted, name, f"scale {name} or use a float64 network",
                 shape=given_shape)
    return converted, single


def _is_real(item: object) -> bool:
    """Whether an entry of an array of Python objects is a number NumPy reads as one: a real
    number, not a bool (refused as booleans are), an int within 64 bits."""
    if isinstance(item, (bool, np.bool_)) or not isinstance(item, numbers.Real):
        return False
    return not isinstance(item, int) or -2**63 <= item < 2**64


def _objects(array: npt.NDArray[Any], name: str) -> str | None:
    """None when every entry of an array NumPy made of Python objects is a real number (a
    pandas column of object dtype, a list mixing Fraction and float); else what it holds,
    for the message: the object itself (a set, a generator) or its first other entry."""
    kinds = set(map(type, array.flat))  # in C: fast on the way that converts
    if all(issubclass(kind, numbers.Real) and not issubclass(kind, (bool, np.bool_))
           for kind in kinds) and (int not in kinds or all(map(_is_real, array.flat))):
        return None
    if array.ndim == 0:
        item = array.item()
        what = f"an object of type {type(item).__name__}"
        if isinstance(item, (set, frozenset, dict)) or hasattr(item, "__next__"):
            return f"{what}: pass a list or an array of its numbers"
        return what
    position = next(i for i, item in enumerate(array.flat) if not _is_real(item))
    index = ", ".join(map(str, np.unravel_index(position, array.shape)))
    item = array.flat[position]
    what = ("None" if item is None else "an integer beyond 64 bits" if isinstance(item, int)
            and not isinstance(item, bool) else f"of type {type(item).__name__}")
    return f"Python objects (dtype object): {name}[{index}] is {what}"


def as_read(array: npt.NDArray[Any], dtype: np.dtype[np.floating[Any]]) -> Floats:
    """`array` as the kernels read it: C-contiguous, aligned (a view at an odd address is
    C-contiguous, and reading it is undefined behaviour in C), of `dtype`, in native byte
    order; `array` itself when it is so already (np.require takes microseconds even when
    there is nothing to do). A value beyond the dtype's range becomes infinite, silently:
    the caller reports it (check_finite)."""
    if array.dtype == dtype and array.flags.c_contiguous and array.flags.aligned:
        return array
    with np.errstate(over="ignore"):
        converted: Floats = np.require(array, dtype=dtype, requirements=["C", "A", "E"])
    return converted


def check_finite(given: npt.NDArray[Any], converted: Floats, name: str, remedy: str,
                 role: str = ", the network's dtype",
                 shape: tuple[int, ...] | None = None) -> None:
    """A ValueError unless `converted` (`given` in the dtype it needs, which `role` describes)
    is finite, saying whether `given` held NaN or infinity or values beyond the dtype's range
    (then `remedy`), and where the first NaN or infinity is (indexed as `shape`, the caller's
    own, where it has as many entries; given's by default)."""
    if not np.isfinite(converted).all():
        if given.dtype != converted.dtype and np.isfinite(given).all():
            raise ValueError(f"{name} holds values beyond the range of {converted.dtype}{role} "
                             f"(largest magnitude {np.abs(given).max():g}): {remedy}")
        where = _first_not_finite(converted, given.shape if shape is None else shape, name)
        raise ValueError(f"{name} must be finite, but it holds NaN or infinity "
                         f"(as {converted.dtype}{role}){where}")


def _first_not_finite(array: npt.NDArray[Any], shape: tuple[int, ...], name: str) -> str:
    """', first at X[3, 1] (nan)': where the first non-finite entry of `array` is, in C
    order, as an index into `shape` (the array as given, where it has as many entries), for
    an error message; nothing for a single number."""
    if array.ndim == 0 or len(shape) == 0:
        return ""
    flat = int(np.flatnonzero(~np.isfinite(array.ravel()))[0])
    where = np.unravel_index(flat, shape if math.prod(shape) == array.size else array.shape)
    return f", first at {name}[{', '.join(map(str, where))}] ({array.ravel()[flat]})"


def as_targets(values: npt.ArrayLike, n_samples: int, n_outputs: int, single_sample: bool,
               dtype: np.dtype[np.floating[Any]], loss: str, name: str = "Y",
               x_name: str = "X") -> Floats:
    """Targets Y as an (n_samples, n_outputs) array; 1-D is accepted for one output or one
    sample (X 1-D, or of one row), and a number for one sample of one output."""
    array = dense(values, name)
    given_shape = array.shape
    if array.ndim == 0 and n_outputs == 1 and (single_sample or n_samples == 1):
        array = array.reshape(1, 1)
    elif array.ndim == 0:
        raise ValueError(f"{name} is one number, but " + (
            f"the network has {n_outputs} outputs" if n_outputs > 1 else
            f"{x_name} has {n_samples} samples: give one target per sample"))
    elif array.ndim == 1 and (single_sample or n_samples == 1) and array.shape[0] == n_outputs:
        array = array.reshape(1, -1)
    elif array.ndim == 1 and n_outputs == 1:
        array = array.reshape(-1, 1)
    elif array.ndim == 1 and (single_sample or n_samples == 1):
        values = f"{array.shape[0]} value{'s' if array.shape[0] != 1 else ''}"
        raise ValueError(f"{name} holds {values} for the one sample of {x_name}, but the "
                         f"network has {n_outputs} outputs")
    elif array.ndim == 1:
        raise ValueError(f"{name} must be 2-D (n_samples, {n_outputs}) for a network with "
                         f"{n_outputs} outputs, got a 1-D array of shape {array.shape}"
                         + (" (one-hot encode class labels)" if loss == "cross_entropy" else ""))
    targets, _ = as_samples(array, name, n_outputs, dtype, "output", given_shape)
    if targets.shape[0] != n_samples:
        raise ValueError(f"{name} has {targets.shape[0]} samples, but {x_name} has {n_samples}")
    if loss in ("binary_cross_entropy", "cross_entropy") and (
            targets.min() < 0 or targets.max() > 1):
        raise ValueError(f"{name} must lie in [0, 1] for loss={loss!r}, got values in "
                         f"[{targets.min() + 0.0:g}, {targets.max() + 0.0:g}]")  # -0 as 0
    if loss == "poisson" and targets.min() < 0:
        raise ValueError(f"{name} must be >= 0 for loss='poisson' (counts or rates), got values "
                         f"in [{targets.min() + 0.0:g}, {targets.max() + 0.0:g}]")
    if loss == "cross_entropy":
        # einsum: the row sums of a (n, few) array at a third of sum(axis=1)'s time (fit
        # checks every call's targets: 44 against 18 us for 2,048 rows of 10)
        sums = np.einsum("ij->i", targets, dtype=np.float64)
        worst = np.abs(sums - 1).max()
        if worst > ROW_SUM_TOLERANCE:
            raise ValueError(f"each row of {name} must sum to 1 (within {ROW_SUM_TOLERANCE:g}) "
                             f"for loss='cross_entropy' (one-hot or probabilities), got a row "
                             f"summing to {float(sums[np.argmax(np.abs(sums - 1))])!r}")
    return targets


def real_array(value: object, name: str, shape: tuple[int, ...], dtype: np.dtype[Any],
               role: str = ", the network's dtype") -> Floats:
    """`value` as a finite array of `shape`, converted to `dtype` (state set from outside;
    `role` says what dtype that is, in messages)."""
    if value is None:
        raise TypeError(f"{name} must be an array of real numbers, got None")
    array = np.asarray(value)
    if array.dtype.kind not in "iuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {array.dtype}")
    if array.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {array.shape}")
    with np.errstate(over="ignore"):  # a value beyond the dtype's range: reported below
        # no copy where it has the dtype: every caller copies it into arrays of its own (a
        # copy here had loading a model's optimizer state hold each state array three times)
        converted: Floats = array.astype(dtype, copy=False)
    check_finite(array, converted, name, "use a float64 network", role)
    return converted


def as_int(value: object, name: str, minimum: int) -> int:
    # an int skips the abstract-class check, as in as_real
    if type(value) is not int and (isinstance(value, bool)
                                   or not isinstance(value, numbers.Integral)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return int(value)


def as_real(value: object, name: str, low: float, high: float = np.inf, low_open: bool = False,
            high_open: bool = False) -> float:
    """A finite float in the interval between low and high (ends closed unless told open)."""
    # a float skips the abstract-class check: step on one sample is a few microseconds
    if type(value) is not float and (isinstance(value, bool)
                                     or not isinstance(value, numbers.Real)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    interval = (("(" if low_open else "[") + f"{low:g}, " + f"{high:g}"
                + (")" if high_open or high == np.inf else "]"))
    try:
        number = float(value)
    except OverflowError:  # an int or Fraction past float's range: 10**400
        raise ValueError(f"{name} must be a finite number in {interval}, got a value "
                         f"of type {type(value).__name__} beyond float64's range") from None
    too_low = number <= low if low_open else number < low
    too_high = number >= high if high_open else number > high
    if not math.isfinite(number) or too_low or too_high:
        raise ValueError(f"{name} must be a finite number in {interval}, got {number!r}")
    return number


class Range(NamedTuple):
    """The values a setting may take: a bool, an int (at least `low`), or a finite real
    number between `low` and `high`, each end closed unless marked open."""

    kind: type
    low: float
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False

    def describe(self) -> str:
        if self.kind is bool:
            return "True or False"
        if self.kind is int:
            return f"an integer >= {self.low:g}"
        return ("(" if self.low_open else "[") + f"{self.low:g}, {self.high:g}" + (
            ")" if self.high_open or self.high == math.inf else "]")


# The one table of allowed ranges of every hyperparameter and training setting; the library,
# the optimizers and the command line all check against it.
RANGES = {
    "lr": Range(float, 0.0, low_open=True),
    "momentum": Range(float, 0.0, 1.0, high_open=True),
    "weight_decay": Range(float, 0.0),
    "epochs": Range(int, 1),
    "batch_size": Range(int, 1),
    "patience": Range(int, 1),
    "tol": Range(float, 0.0),
    "validation_fraction": Range(float, 0.0, 1.0, high_open=True),
    "beta1": Range(float, 0.0, 1.0, high_open=True),
    "beta2": Range(float, 0.0, 1.0, high_open=True),
    "eps": Range(float, 0.0, low_open=True),
    "decoupled": Range(bool, 0.0, 1.0),
    "eps_hat": Range(bool, 0.0, 1.0),
    "nesterov": Range(bool, 0.0, 1.0),
    "eta_minus": Range(float, 0.0, 1.0, low_open=True, high_open=True),
    "eta_plus": Range(float, 1.0, low_open=True),
    "step_min": Range(float, 0.0),
    "step_max": Range(float, 0.0, low_open=True),
    "max_iter": Range(int, 1),
    "history": Range(int, 1),
}


def check(name: str, value: object, label: str | None = None) -> Any:
    """`value` checked against RANGES[name] (as an int or a float); errors call it `label`."""
    allowed = RANGES[name]
    label = label or name
    if allowed.kind is bool:
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"{label} must be True or False, got {value!r}")
        return bool(value)
    if allowed.kind is int:
        return as_int(value, label, int(allowed.low))
    return as_real(value, label, allowed.low, allowed.high, allowed.low_open, allowed.high_open)


def refusing_signature(function: Callable[..., Any], *arguments: object) -> str | None:
    """The parameters of `function` when a call with these positional arguments would not
    bind to them, for the TypeError that names the callable; None when it would, and for a
    callable whose signature cannot be read (some builtins: trusted)."""
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return None
    try:
        signature.bind(*arguments)
    except TypeError:
        return str(signature)
    return None


# what ends a folder's path: "model.npz/" names a folder, as open() reads it
SEPARATORS = tuple(filter(None, (os.sep, os.altsep)))


def checked_path(path: str | os.PathLike[str], name: str = "path") -> str:
    """`path` as a str (os.fsdecode: a bytes path too, as open() takes one); a TypeError
    naming the argument `name` for anything that is no path (os's own message names none)."""
    if not isinstance(path, (str, bytes, os.PathLike)):
        raise TypeError(f"{name} must be a file's path (str, bytes or os.PathLike), got "
                        f"{type(path).__name__}")
    return os.fsdecode(path)


def choice(value: object, name: str, options: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, options))}, got {value!r}")
    return value
