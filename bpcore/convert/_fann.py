"""FANN's text network files (``FANN_FLO_2.1``, what ``fann_save`` writes), read and written in
Python: no FANN library is needed.

The file, as FANN 2.2's fann_save_internal_fd writes it and fann_create_from_fd reads it back
with fscanf, key after key in a fixed order: the version line, the training parameters,
``layer_sizes=`` (each layer counts a bias neuron, the output layer too), ``scale_included=``,
then one ``(num_inputs, activation_function, activation_steepness)`` per neuron (input and bias
neurons included) and one ``(connected_to_neuron, weight)`` per connection, neuron after
neuron; a neuron's bias is its connection to the last neuron (the bias) of the layer before.

A FANN neuron computes f(s * z) on its weighted sum z, with its own steepness s and FANN's
sigmoid being 1 / (1 + exp(-2 s z)): loading folds s (2 s for the sigmoid) into the neuron's
weights and bias, and saving writes steepnesses that need no folding (0.5 for the sigmoid, 1
otherwise), so the weights travel unchanged.
"""
from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from .._spec import MAX_LAYERS, MAX_WIDTH
from .._validation import checked_path
from ..io import write_atomically
from ..network import Network
from ._common import check_finite, layers_of, network_of

_VERSION = "FANN_FLO_2.1"
_SOURCE = "not a FANN network file"
_CANNOT = "a FANN network bpcore cannot express"  # a good file of what bpcore has not

# enum fann_activationfunc_enum: FANN 2.2 has codes 0 to 17, FANN 2.3 adds 18 and 19
_FANN_NAMES = (
    "FANN_LINEAR", "FANN_THRESHOLD", "FANN_THRESHOLD_SYMMETRIC", "FANN_SIGMOID",
    "FANN_SIGMOID_STEPWISE", "FANN_SIGMOID_SYMMETRIC", "FANN_SIGMOID_SYMMETRIC_STEPWISE",
    "FANN_GAUSSIAN", "FANN_GAUSSIAN_SYMMETRIC", "FANN_GAUSSIAN_STEPWISE", "FANN_ELLIOT",
    "FANN_ELLIOT_SYMMETRIC", "FANN_LINEAR_PIECE", "FANN_LINEAR_PIECE_SYMMETRIC",
    "FANN_SIN_SYMMETRIC", "FANN_COS_SYMMETRIC", "FANN_SIN", "FANN_COS",
    "FANN_LINEAR_PIECE_RECT", "FANN_LINEAR_PIECE_RECT_LEAKY")

# bpcore activation -> (FANN code, the steepness written: f(s z) is then bpcore's f(z))
_SAVED = {"identity": (0, 1.0), "sigmoid": (3, 0.5), "tanh": (5, 1.0), "relu": (18, 1.0),
          "leaky_relu": (19, 1.0)}
# what each FANN version runs correctly (FANN 2.2 runs codes 18 and 19 as garbage, no error)
_SAVABLE = {"2.2": ("sigmoid", "tanh", "identity"),
            "2.3": ("sigmoid", "tanh", "identity", "relu", "leaky_relu")}

# FANN code -> (bpcore activation, the factor of the steepness folded into the weights)
_EXACT = {0: ("identity", 1.0), 3: ("sigmoid", 2.0), 5: ("tanh", 1.0), 18: ("relu", 1.0),
          19: ("leaky_relu", 1.0)}
# the piecewise-linear approximations, loaded as the exact function with approximate=True
_STEPWISE = {4: ("sigmoid", 2.0), 6: ("tanh", 1.0)}
# how far each approximation is from the exact function, at most (near s z = -0.98)
_STEPWISE_ERROR = {4: 0.0332, 6: 0.0664}

# The lines between the version line and layer_sizes, in fann_save's order: (key, kind, the
# value libdoublefann 2.2 writes for a new network). Kinds: "u" an unsigned int (%u), "f" a
# float (%f or %.20e), "u*"/"f*" a list whose length the key before gives.
_HEADER = (
    ("num_layers", "u", ""),  # the network's own
    ("learning_rate", "f", "0.700000"),
    ("connection_rate", "f", "1.000000"),
    ("network_type", "u", "0"),
    ("learning_momentum", "f", "0.000000"),
    ("training_algorithm", "u", "2"),
    ("train_error_function", "u", "1"),
    ("train_stop_function", "u", "0"),
    ("cascade_output_change_fraction", "f", "0.010000"),
    ("quickprop_decay", "f", "-0.000100"),
    ("quickprop_mu", "f", "1.750000"),
    ("rprop_increase_factor", "f", "1.200000"),
    ("rprop_decrease_factor", "f", "0.500000"),
    ("rprop_delta_min", "f", "0.000000"),
    ("rprop_delta_max", "f", "50.000000"),
    ("rprop_delta_zero", "f", "0.100000"),
    ("cascade_output_stagnation_epochs", "u", "12"),
    ("cascade_candidate_change_fraction", "f", "0.010000"),
    ("cascade_candidate_stagnation_epochs", "u", "12"),
    ("cascade_max_out_epochs", "u", "150"),
    ("cascade_min_out_epochs", "u", "50"),
    ("cascade_max_cand_epochs", "u", "150"),
    ("cascade_min_cand_epochs", "u", "50"),
    ("cascade_num_candidate_groups", "u", "2"),
    ("bit_fail_limit", "f", "3.49999999999999977796e-01"),
    ("cascade_candidate_limit", "f", "1.00000000000000000000e+03"),
    ("cascade_weight_multiplier", "f", "4.00000000000000022204e-01"),
    ("cascade_activation_functions_count", "u", "10"),
    ("cascade_activation_functions", "u*", "3 5 7 8 10 11 14 15 16 17 "),
    ("cascade_activation_steepnesses_count", "u", "4"),
    ("cascade_activation_steepnesses", "f*",
     "2.50000000000000000000e-01 5.00000000000000000000e-01 7.50000000000000000000e-01 "
     "1.00000000000000000000e+00 "),
)
_NEURONS = "neurons (num_inputs, activation_function, activation_steepness)"
_CONNECTIONS = "connections (connected_to_neuron, weight)"

# what fscanf's %u and %le accept, less what no network needs (nan, inf, hexadecimal); an
# unsigned int of FANN has at most 10 digits. Each digit of a number matches one way only
# ("\d+\.?\d*" would split a run of digits between its two parts in every way, and a long run
# followed by a wrong character would take a time quadratic in its length to refuse)
_UINT = r"\d{1,10}"
_FLOAT = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_PATTERNS = {"u": re.compile(_UINT), "f": re.compile(_FLOAT)}
_EXPECTED = {"u": "an unsigned integer of at most 10 digits (FANN's %u)", "f": "a number"}
# one entry as fscanf's "(%u, %u, %le) " and "(%u, %le) " read it: a blank in the format
# matches any whitespace, none included
_NEURON = re.compile(rf"\(\s*({_UINT}),\s*({_UINT}),\s*({_FLOAT})\)\s*")
_CONNECTION = re.compile(rf"\(\s*({_UINT}),\s*({_FLOAT})\)\s*")
# the shortest entries ("(0,0,0)", "(0,0)"): a line of n characters holds at most n / that
_SHORTEST_NEURON, _SHORTEST_CONNECTION = 7, 5
# a sparse network is loaded dense: its dense form may hold this many weights per byte of
# the file (connection rates down to about 1/500), so a small file cannot claim huge layers
_DENSE_PER_BYTE = 16
_DENSE_ALWAYS = 1 << 20


class _Reader:
    """The lines of a FANN file, read in order; `fail` makes the ValueError of a file that
    is not a FANN network, `unsupported` that of one bpcore cannot express."""

    def __init__(self, path: str, text: str) -> None:
        self.path, self.size = path, len(text)
        self.lines = text.split("\n")
        self.index = 0

    def fail(self, reason: str) -> ValueError:
        return ValueError(f"{_SOURCE}: {self.path}: {reason}")

    def unsupported(self, reason: str) -> ValueError:
        return ValueError(f"{_CANNOT}: {self.path}: {reason}")

    def line(self, key: str) -> str:
        """The value of the next line, which must be ``key=value``."""
        if self.index >= len(self.lines):
            raise self.fail(f"it ends before the {key} line (a truncated file?)")
        line = self.lines[self.index].rstrip("\r")
        self.index += 1
        if not line.startswith(key + "="):
            raise self.fail(f"line {self.index} is {_shown(line)}, expected {key}=...")
        return line[len(key) + 1:]

    def value(self, key: str, kind: str) -> str:
        text = self.line(key).strip()
        if not _PATTERNS[kind].fullmatch(text):
            expected = _EXPECTED[kind]
            raise self.fail(f"{key} is {_shown(text)}, expected {expected}")
        return text

    def values(self, key: str, kind: str, count: int) -> list[str]:
        items = self.line(key).split()
        if len(items) != count:
            raise self.fail(f"{key} holds {len(items)} values, but its count says {count}")
        for item in items:
            if not _PATTERNS[kind].fullmatch(item):
                raise self.fail(f"{key} holds {_shown(item)}, expected {_EXPECTED[kind]}")
        return items

    def rest_is_blank(self) -> bool:
        return all(not line.strip() for line in self.lines[self.index:])


def _shown(text: str) -> str:
    """`text` for an error message: quoted, and cut short if long."""
    return repr(text if len(text) <= 60 else text[:57] + "...")


def _read_text(path: str) -> str:
    with open(path, "rb") as file:  # a missing file raises the usual OSError
        start = file.read(64)  # enough to know the version, before reading any large file
        version = start.split(b"\n", 1)[0].rstrip(b"\r")
        if version == _VERSION.encode():
            start += file.read()
    if version != _VERSION.encode():
        if version.startswith(b"FANN_FIX_"):
            reason = (f"it is a fixed-point FANN file ({version.decode('ascii', 'replace')}), "
                      f"whose weights are scaled integers; save the network with fann_save, "
                      f"not fann_save_to_fixed")
        elif version.startswith(b"FANN_FLO_"):
            reason = (f"it is a FANN file of another version "
                      f"({version.decode('ascii', 'replace')}), expected {_VERSION}")
        else:
            reason = f"it does not start with the line {_VERSION}"
        raise ValueError(f"{_SOURCE}: {path}: {reason}")
    try:
        return start.decode("ascii")
    except UnicodeDecodeError as error:
        raise ValueError(f"{_SOURCE}: {path}: byte {error.start} is not ASCII text") from None


def _activation(code: int, layer: int, approximate: bool,
                unsupported: Callable[[str], ValueError]) -> tuple[str, float]:
    """The bpcore activation and steepness factor of FANN activation `code`."""
    if code in _EXACT:
        return _EXACT[code]
    name = _FANN_NAMES[code] if code < len(_FANN_NAMES) else "an unknown activation"
    if code in _STEPWISE:
        if approximate:
            return _STEPWISE[code]
        exact, bound = _STEPWISE[code][0], _STEPWISE_ERROR[code]
        default = " (FANN's default)" if code == 4 else ""
        raise unsupported(f"layer {layer} uses {name} ({code}), a piecewise-linear "
                          f"approximation of {exact}{default}; pass approximate=True to load "
                          f"it as the exact {exact}, whose outputs then differ from FANN's (by "
                          f"up to {bound} per neuron, more through several layers)")
    supported = ", ".join(f"{_FANN_NAMES[c]} ({c})" for c in sorted(_EXACT))
    raise unsupported(f"layer {layer} uses {name} ({code}), which bpcore has no activation "
                      f"for; it loads {supported}")


def load_fann(path: str | os.PathLike[str], approximate: bool = False) -> Network:
    """Read a network from a FANN network file (``FANN_FLO_2.1``, what ``fann_save`` writes).

    The network must be layered (FANN's standard or sparse networks, not shortcut ones),
    every neuron of a layer must have the same activation and all hidden layers the same
    one. FANN's activations map to bpcore's: FANN_LINEAR to identity, FANN_SIGMOID to
    sigmoid, FANN_SIGMOID_SYMMETRIC to tanh, and FANN 2.3's FANN_LINEAR_PIECE_RECT and
    FANN_LINEAR_PIECE_RECT_LEAKY (slope 0.01) to relu and leaky_relu. Each neuron's
    steepness s is folded into its weights and bias (multiplied by 2 s for the sigmoid,
    which FANN defines as 1 / (1 + exp(-2 s z)), by s otherwise), so the network computes
    what FANN computes. A sparse network (connection rate below 1) is loaded dense, with
    zero weights for the connections it lacks.

    FANN clamps s * z to [-150 / s, 150 / s] before the activation, and the loaded network
    has no such bound: a linear or ReLU neuron of FANN never goes beyond 150 / s in absolute
    value; a sigmoid or tanh neuron is within rounding of its limits at the bound while s is
    at most 8, but with a steeper one FANN's outputs stop short of them (at tanh(150 / s)
    and 1 / (1 + exp(-300 / s)): 0.905 for s = 100) where bpcore's reach them.

    Parameters
    ----------
    path : str or os.PathLike
        The FANN file.
    approximate : bool, default False
        Also load FANN_SIGMOID_STEPWISE (FANN's default activation) and
        FANN_SIGMOID_SYMMETRIC_STEPWISE, FANN's piecewise-linear approximations, as the
        exact sigmoid and tanh. The approximations are off by up to 0.0332 (sigmoid) and
        0.0664 (tanh) per neuron, and the errors grow through the layers: measured against
        libfann 2.2 on random networks of 1 to 4 layers with inputs in [-3, 3], the outputs
        differed by up to 0.009 (sigmoid) and 0.018 (tanh) with FANN's starting weights
        (in [-0.1, 0.1]), 0.05 and 0.12 with weights in [-1, 1], 0.07 and 0.46 with
        weights in [-3, 3]. Good for a first look, not where outputs must match FANN's.

    Returns
    -------
    Network
        A float64 network (FANN's doublefann computes in double) with the loss mse.

    Raises
    ------
    OSError
        If the file cannot be read.
    TypeError
        If `approximate` is not True or False.
    ValueError
        "not a FANN network file: <path>: <reason>" if it is not a ``FANN_FLO_2.1``
        network file (another format, fixed point, damaged, truncated, counts that do not
        add up, weights that are not finite numbers); "a FANN network bpcore cannot
        express: <path>: <reason>" if it holds a shortcut network, input or output scaling
        (``scale_included=1``), an activation without a bpcore equivalent, a stepwise one
        without `approximate`, layers mixing activations, or hidden layers with different
        activations.

    See Also
    --------
    save_fann : Write a network as a FANN file.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from bpcore import Network
    >>> from bpcore.convert import load_fann, save_fann
    >>> net = Network([2, 3, 1], activation="tanh", output="sigmoid", seed=0)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     save_fann(net, os.path.join(folder, "xor.net"))
    ...     again = load_fann(os.path.join(folder, "xor.net"))
    >>> again
    Network([2, 3, 1], activation='tanh', output='sigmoid', loss='mse', dtype='float64')
    >>> X = np.array([[0.5, -1.0], [2.0, 0.25]])
    >>> bool(np.array_equal(again.predict(X), net.predict(X)))
    True
    """
    if not isinstance(approximate, (bool, np.bool_)):  # "no" would load approximately
        raise TypeError(f"approximate must be True or False, got {approximate!r}")
    path = checked_path(path)
    reader = _Reader(path, _read_text(path))
    reader.index = 1  # past the version line
    fail = reader.fail

    header: dict[str, str] = {}
    for key, kind, _ in _HEADER:
        if kind.endswith("*"):
            reader.values(key, kind[0], int(header[key + "_count"]))
        else:
            header[key] = reader.value(key, kind)
    if header["network_type"] == "1":
        raise reader.unsupported("it is a shortcut network (network_type=1), whose layers "
                                 "connect to every layer before them; bpcore loads layered "
                                 "networks (network_type=0)")
    if header["network_type"] != "0":
        raise fail(f"network_type is {header['network_type']}, expected 0 (layered)")
    layer_count = int(header["num_layers"])
    if not 2 <= layer_count <= MAX_LAYERS + 1:
        raise fail(f"num_layers is {layer_count}, expected 2 to {MAX_LAYERS + 1}")
    dense = float(header["connection_rate"]) >= 1  # as fann_run decides

    widths = [int(size) for size in reader.values("layer_sizes", "u", layer_count)]
    for layer, width in enumerate(widths):  # each counts its bias neuron
        if not 2 <= width <= MAX_WIDTH + 1:
            raise fail(f"layer {layer} has {width} neurons (its bias included), expected 2 "
                       f"to {MAX_WIDTH + 1}")
    scale = reader.value("scale_included", "u")
    if scale != "0":
        raise reader.unsupported(f"scale_included is {scale}: the file holds input and output "
                                 f"scaling, which bpcore networks cannot hold (expected "
                                 f"scale_included=0)")

    neuron_count = sum(widths)
    line = reader.line(_NEURONS)
    if neuron_count > len(line) // _SHORTEST_NEURON + 1:
        raise fail(f"layer_sizes adds up to {neuron_count} neurons, more than the neurons "
                   f"line can hold")
    neurons = _entries(line, _NEURON, neuron_count, "neuron",
                       "(num_inputs, activation_function, activation_steepness)",
                       f"the {neuron_count} neurons of layer_sizes", fail)
    inputs = np.array([int(match[1]) for match in neurons], dtype=np.int64)
    codes = np.array([int(match[2]) for match in neurons], dtype=np.int64)
    steepness = np.array([float(match[3]) for match in neurons], dtype=np.float64)

    _check_counts(widths, inputs, dense, fail)
    connection_count = int(inputs.sum())
    line = reader.line(_CONNECTIONS)
    if connection_count > len(line) // _SHORTEST_CONNECTION + 1:
        raise fail(f"the neurons claim {connection_count} connections, more than the "
                   f"connections line can hold")
    connections = _entries(line, _CONNECTION, connection_count, "connection",
                           "(connected_to_neuron, weight) with a number as weight",
                           f"the {connection_count} connections the neurons claim", fail)
    sources = np.array([int(match[1]) for match in connections], dtype=np.int64)
    weights = np.array([float(match[2]) for match in connections], dtype=np.float64)
    if not reader.rest_is_blank():
        raise fail("there is more text after the connections line")
    if not np.isfinite(weights).all():
        raise fail(f"connection {int(np.argmin(np.isfinite(weights)))} has a weight too "
                   f"large for a double")

    dense_size = sum(n_out * n_in for n_in, n_out in zip(widths[:-1], widths[1:]))
    limit = max(_DENSE_PER_BYTE * reader.size, _DENSE_ALWAYS)
    if dense_size > limit:
        raise fail(f"its layers would hold {dense_size} weights when loaded dense, more than "
                   f"{limit} for a file of {reader.size} bytes")
    return _network(widths, inputs, codes, steepness, sources, weights, dense, approximate,
                    path, fail, reader.unsupported)


def _entries(line: str, pattern: re.Pattern[str], count: int, name: str, expected: str,
             claimed: str, fail: Callable[[str], ValueError]) -> list[re.Match[str]]:
    """The `count` parenthesised entries of a neurons or connections line, each matched by
    `pattern`, with nothing after them."""
    found = []
    position = len(line) - len(line.lstrip())
    for index in range(count):
        match = pattern.match(line, position)
        if match is None:
            shown = _shown(line[position:position + 30].rstrip("\r"))
            raise fail(f"{name} {index} of {count} is {shown}, expected {expected}")
        found.append(match)
        position = match.end()
    if line[position:].strip():
        raise fail(f"the {name}s line holds more than {claimed}")
    return found


def _check_counts(widths: list[int], inputs: npt.NDArray[np.int64], dense: bool,
                  fail: Callable[[str], ValueError]) -> None:
    """Each neuron's number of connections fits FANN's layered layout: none for input and
    bias neurons, one per neuron of the layer before (its bias included) when dense, 1 to
    that many when sparse."""
    if inputs[:widths[0]].any():
        raise fail(f"input neuron {int(np.argmax(inputs[:widths[0]] > 0))} has connections")
    first = widths[0]
    for layer in range(1, len(widths)):
        n_in, bias = widths[layer - 1] - 1, first + widths[layer] - 1
        if inputs[bias]:
            raise fail(f"the bias neuron of layer {layer} has {inputs[bias]} connections, "
                       f"expected 0")
        counts = inputs[first:bias]
        if dense and (counts != n_in + 1).any():
            neuron = int(np.argmax(counts != n_in + 1))
            raise fail(f"neuron {neuron} of layer {layer} has {counts[neuron]} connections; "
                       f"in a fully connected network (connection_rate=1) it has "
                       f"{n_in + 1}, one per neuron of the layer before")
        if ((counts == 0) | (counts > n_in + 1)).any():
            neuron = int(np.argmax((counts == 0) | (counts > n_in + 1)))
            raise fail(f"neuron {neuron} of layer {layer} has {counts[neuron]} connections, "
                       f"expected 1 to {n_in + 1}")
        first = bias + 1


def _network(widths: list[int], inputs: npt.NDArray[np.int64], codes: npt.NDArray[np.int64],
             steepness: npt.NDArray[np.float64], sources: npt.NDArray[np.int64],
             weights: npt.NDArray[np.float64], dense: bool, approximate: bool, path: str,
             fail: Callable[[str], ValueError],
             unsupported: Callable[[str], ValueError]) -> Network:
    """The network of the neurons and connections read, checked against FANN's layout
    (`fail`) and against what a bpcore network can be (`unsupported`)."""
    starts = np.concatenate([[0], np.cumsum(widths)]).tolist()
    first_connection = np.concatenate([[0], np.cumsum(inputs)])
    layer_weights, layer_biases, names = [], [], []
    for layer in range(1, len(widths)):
        n_in, n_out = widths[layer - 1] - 1, widths[layer] - 1  # less the bias neurons
        first, bias = starts[layer], starts[layer + 1] - 1
        counts = inputs[first:bias]
        layer_codes = set(codes[first:bias].tolist())
        if len(layer_codes) > 1:
            used = ", ".join(_FANN_NAMES[c] if c < len(_FANN_NAMES) else str(c)
                             for c in sorted(layer_codes))
            raise unsupported(f"layer {layer} mixes the activations {used}; the neurons of a "
                              f"bpcore layer share one")
        name, factor = _activation(layer_codes.pop(), layer, approximate, unsupported)
        slopes = steepness[first:bias]
        if not (np.isfinite(slopes) & (slopes > 0)).all():
            neuron = int(np.argmin(np.isfinite(slopes) & (slopes > 0)))
            raise fail(f"neuron {neuron} of layer {layer} has the steepness {slopes[neuron]}, "
                       f"expected a positive number")
        # the connections of this layer's neurons, as (row, column) of [W | b]
        begin, end = int(first_connection[first]), int(first_connection[bias])
        columns = sources[begin:end] - starts[layer - 1]
        if dense:  # fann_run takes the layer before in order, whatever the file says
            expected = np.tile(np.arange(n_in + 1), n_out)
            if (columns != expected).any():
                index = int(np.argmax(columns != expected))
                raise fail(f"connection {begin + index} (layer {layer}) goes to neuron "
                           f"{sources[begin + index]}, where a fully connected network's goes "
                           f"to neuron {starts[layer - 1] + int(expected[index])}")
        elif ((columns < 0) | (columns > n_in)).any():  # sparse: any neuron of the layer before
            index = int(np.argmax((columns < 0) | (columns > n_in)))
            raise fail(f"connection {begin + index} (layer {layer}) goes to neuron "
                       f"{sources[begin + index]}, not to one of layer {layer - 1} (neurons "
                       f"{starts[layer - 1]} to {starts[layer] - 1})")
        rows = np.repeat(np.arange(n_out), counts)
        full = np.zeros((n_out, n_in + 1))
        # an overflow is refused below, by its own ValueError, not by numpy's warning
        with np.errstate(over="ignore", invalid="ignore"):
            np.add.at(full, (rows, columns), weights[begin:end])  # as FANN adds them all
            # f(s z) with z = W x + b is f(z') with z' = (s W) x + s b; FANN's sigmoid
            # takes 2 s
            full *= (factor * slopes)[:, None]
        if not np.isfinite(full).all():
            raise fail(f"layer {layer}'s weights times its neurons' steepness overflow a "
                       f"double")
        layer_weights.append(full[:, :n_in])
        layer_biases.append(full[:, n_in])
        names.append(name)
    # network_of refuses hidden layers of different activations: a bpcore network has one
    return network_of(layer_weights, layer_biases, names, np.float64, f"{_CANNOT}: {path}")


def save_fann(net: Network, path: str | os.PathLike[str], fann_version: str = "2.2") -> None:
    """Write `net` as a FANN network file (``FANN_FLO_2.1``) that FANN loads with
    ``fann_create_from_file`` and runs with the same outputs.

    The file is the one FANN's own ``fann_save`` writes for a network of this shape: a
    standard (fully connected, layered) network with FANN's default training parameters,
    each weight written with 21 significant digits (exactly: the double read back is the
    weight, float32 weights included). Activations become FANN_SIGMOID with steepness 0.5
    (FANN's sigmoid 1 / (1 + exp(-2 s z)) is then bpcore's), FANN_SIGMOID_SYMMETRIC (tanh)
    and FANN_LINEAR with steepness 1, and with ``fann_version="2.3"`` also relu and
    leaky_relu as FANN_LINEAR_PIECE_RECT and FANN_LINEAR_PIECE_RECT_LEAKY (slope 0.01, as
    bpcore's) with steepness 1: the weights need no scaling.

    FANN clamps each neuron's weighted sum to [-150 / s, 150 / s] before the activation:
    sigmoid and tanh neurons are saturated there already, but an identity or relu neuron run
    by FANN never gives more than 150 in absolute value, where bpcore's has no bound.

    Parameters
    ----------
    net : Network
        The network, float32 or float64. Its hidden and output activations must be
        sigmoid, tanh or identity (or relu and leaky_relu with ``fann_version="2.3"``).
    path : str or os.PathLike
        The file to write, replaced atomically; nothing is written if anything fails.
    fann_version : {"2.2", "2.3"}, default "2.2"
        The FANN that will read the file. FANN 2.2 (Debian's and Ubuntu's libfann) has no
        ReLU: it would run FANN 2.3's codes for it wrongly, without an error.

    Raises
    ------
    TypeError
        If `net` is not a bpcore Network, or `fann_version` not a string.
    ValueError
        If `fann_version` is not "2.2" or "2.3"; if an activation has no FANN equivalent
        (softmax and exp outputs: a FANN neuron sees only its own sum, and FANN has no
        exponential; relu and leaky_relu for FANN 2.2); if a weight or bias is not finite.
    OSError
        If the file cannot be written.

    See Also
    --------
    load_fann : Read a FANN network file.

    Examples
    --------
    >>> import os, tempfile
    >>> from bpcore import Network
    >>> from bpcore.convert import save_fann
    >>> net = Network([2, 3, 1], activation="tanh", output="sigmoid", seed=0)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     save_fann(net, os.path.join(folder, "xor.net"))
    ...     with open(os.path.join(folder, "xor.net")) as file:
    ...         lines = file.read().splitlines()
    >>> lines[0], lines[1], lines[-4]
    ('FANN_FLO_2.1', 'num_layers=3', 'layer_sizes=3 4 2 ')
    >>> save_fann(Network([2, 3], output="relu"), "unused.net")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    ValueError: net has the output activation 'relu', which FANN 2.2 does not have: ...
    """
    layers = layers_of(net)
    if not isinstance(fann_version, str):
        raise TypeError(f"fann_version must be the string '2.2' or '2.3', got "
                        f"{fann_version!r} ({type(fann_version).__name__})")
    if fann_version not in _SAVABLE:
        raise ValueError(f"fann_version must be '2.2' or '2.3', got {fann_version!r}")
    for index, name in enumerate(layers.activations):
        place = "output" if index == len(layers.activations) - 1 else "hidden"
        if name in _SAVABLE[fann_version]:
            continue
        if name in _SAVED:  # relu and leaky_relu, for FANN 2.2
            raise ValueError(
                f"net has the {place} activation {name!r}, which FANN 2.2 does not have: "
                f"FANN_LINEAR_PIECE_RECT and FANN_LINEAR_PIECE_RECT_LEAKY came with FANN 2.3, "
                f"and FANN 2.2 would run them wrongly without an error; pass "
                f"fann_version='2.3' if FANN 2.3 will read the file")
        why = ("a FANN neuron's activation sees only its own weighted sum" if name == "softmax"
               else "FANN has no exponential activation")
        raise ValueError(f"net has the {place} activation {name!r}, which FANN cannot "
                         f"express: {why}")
    check_finite(layers, "a FANN network")
    text = _file_text(layers.weights, layers.biases, layers.activations)
    write_atomically(path, lambda file: file.write(text.encode("ascii")))


def _file_text(weights: list[npt.NDArray[Any]], biases: list[npt.NDArray[Any]],
               activations: list[str]) -> str:
    """The FANN file of these layers, byte for byte what libdoublefann's fann_save writes."""
    sizes = [weights[0].shape[1]] + [w.shape[0] for w in weights]
    widths = [size + 1 for size in sizes]  # a bias neuron in every layer, the output's too
    starts = np.concatenate([[0], np.cumsum(widths)]).tolist()
    lines = [_VERSION]
    for key, _, default in _HEADER:
        lines.append(f"{key}={len(widths) if key == 'num_layers' else default}")
    lines.append("layer_sizes=" + "".join(f"{width} " for width in widths))
    lines.append("scale_included=0")
    unconnected = f"(0, 0, {0.0:.20e}) "  # input and bias neurons
    neurons = [unconnected * widths[0]]
    for n_in, n_out, name in zip(sizes, sizes[1:], activations):
        code, steepness = _SAVED[name]
        neurons.append(f"({n_in + 1}, {code}, {steepness:.20e}) " * n_out + unconnected)
    lines.append(f"{_NEURONS}=" + "".join(neurons))
    connections = []
    for layer, (w, b) in enumerate(zip(weights, biases)):
        # each neuron's row of [W | b]: its inputs in order, then the bias neuron
        rows = np.hstack([w, b[:, None]]).astype(np.float64)
        sources = list(range(starts[layer], starts[layer] + rows.shape[1]))
        for row in rows.tolist():
            connections.append("".join(f"({source}, {weight:.20e}) "
                                       for source, weight in zip(sources, row)))
    lines.append(f"{_CONNECTIONS}=" + "".join(connections))
    return "\n".join(lines) + "\n"
