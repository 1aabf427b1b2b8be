"""A ctypes binding of the FANN C library (libdoublefann, Debian package libfann-dev), for the
benchmark's comparison with FANN's incremental training; nothing else in bpcore uses it.

`fann_library()` loads it with the prototypes used here, or returns None when it is absent
(`doublefann(prototypes)` with any others: the tests check bpcore.convert's files with it);
`Fann` builds the FANN twin of a sigmoid/MSE Network: same widths, starting weights and data.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools
import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._layout import Floats
from ..network import Network

_FANN_SIGMOID = 3  # enum fann_activationfunc_enum
_FANN_TRAIN_INCREMENTAL = 0  # enum fann_train_enum
_FANN_ERRORFUNC_LINEAR = 0  # enum fann_errorfunc_enum: plain (target - output), as our MSE


class _FannConnection(ctypes.Structure):
    """struct fann_connection of libdoublefann (fann_type is double)."""
    _fields_ = [("from_neuron", ctypes.c_uint), ("to_neuron", ctypes.c_uint),
                ("weight", ctypes.c_double)]


class _FannTrainData(ctypes.Structure):
    """struct fann_train_data of libdoublefann (FANN 2.2, fann_train.h)."""
    _fields_ = [("errno_f", ctypes.c_int), ("error_log", ctypes.c_void_p),
                ("errstr", ctypes.c_char_p), ("num_data", ctypes.c_uint),
                ("num_input", ctypes.c_uint), ("num_output", ctypes.c_uint),
                ("input", ctypes.POINTER(ctypes.POINTER(ctypes.c_double))),
                ("output", ctypes.POINTER(ctypes.POINTER(ctypes.c_double)))]


def doublefann(prototypes: dict[str, tuple[Any, list[Any]]]) -> ctypes.CDLL | None:
    """libdoublefann (FANN with double weights, to match float64), its functions named in
    `prototypes` given their (restype, argtypes), or None when it is not installed or lacks
    one of them. Each call loads a handle of its own, so callers' prototypes never clash."""
    name = ctypes.util.find_library("doublefann")
    if name is None:
        return None
    try:
        lib = ctypes.CDLL(name)
        for function, (restype, argtypes) in prototypes.items():
            pointer = getattr(lib, function)
            pointer.restype, pointer.argtypes = restype, argtypes
    except (OSError, AttributeError):  # unloadable, or an unexpected FANN version
        return None
    return lib


@functools.lru_cache(maxsize=1)
def fann_library() -> ctypes.CDLL | None:
    """libdoublefann with the prototypes the benchmark uses, or None when it is not
    installed."""
    ann, uint, double = ctypes.c_void_p, ctypes.c_uint, ctypes.c_double
    data = ctypes.POINTER(_FannTrainData)
    connections = ctypes.POINTER(_FannConnection)
    prototypes: dict[str, tuple[Any, list[Any]]] = {
        "fann_create_standard_array": (ann, [uint, ctypes.POINTER(uint)]),
        "fann_destroy": (None, [ann]),
        "fann_get_total_connections": (uint, [ann]),
        "fann_get_connection_array": (None, [ann, connections]),
        "fann_set_weight_array": (None, [ann, connections, uint]),
        "fann_set_activation_function_hidden": (None, [ann, ctypes.c_int]),
        "fann_set_activation_function_output": (None, [ann, ctypes.c_int]),
        "fann_set_activation_steepness_hidden": (None, [ann, double]),
        "fann_set_activation_steepness_output": (None, [ann, double]),
        "fann_set_training_algorithm": (None, [ann, ctypes.c_int]),
        "fann_set_train_error_function": (None, [ann, ctypes.c_int]),
        "fann_set_learning_rate": (None, [ann, ctypes.c_float]),
        "fann_set_learning_momentum": (None, [ann, ctypes.c_float]),
        "fann_run": (ctypes.POINTER(double), [ann, ctypes.POINTER(double)]),
        "fann_create_train": (data, [uint, uint, uint]),
        "fann_destroy_train": (None, [data]),
        "fann_train_epoch": (ctypes.c_float, [ann, data]),
    }
    return doublefann(prototypes)


def connection_count(sizes: Sequence[int]) -> int:
    """Weights plus biases, as FANN counts its connections (a bias neuron per layer)."""
    return sum((n_in + 1) * n_out for n_in, n_out in zip(sizes[:-1], sizes[1:]))


class Fann:
    """A FANN twin of a sigmoid/MSE bpcore Network: same widths and starting weights, trained
    by FANN_TRAIN_INCREMENTAL (one weight update per sample, no momentum) on (X, Y), in the
    rows' order, one C call (fann_train_epoch) per epoch."""

    def __init__(self, lib: ctypes.CDLL, network: Network, X: Floats, Y: Floats,
                 lr: float) -> None:
        if (network.activation, network.output, network.loss_name) != ("sigmoid", "sigmoid",
                                                                         "mse"):
            raise ValueError("the FANN twin needs a sigmoid network with the mse loss")
        self.lib, self.sizes = lib, tuple(network.sizes)
        widths = (ctypes.c_uint * len(self.sizes))(*self.sizes)
        self.ann = ctypes.c_void_p(lib.fann_create_standard_array(len(self.sizes), widths))
        if not self.ann:
            raise MemoryError("fann_create_standard_array failed")
        self._finalizer = weakref.finalize(self, lib.fann_destroy, self.ann)
        lib.fann_set_activation_function_hidden(self.ann, _FANN_SIGMOID)
        lib.fann_set_activation_function_output(self.ann, _FANN_SIGMOID)
        # FANN's sigmoid is 1 / (1 + exp(-2 s z)): steepness s = 0.5 (its default) is ours
        lib.fann_set_activation_steepness_hidden(self.ann, 0.5)
        lib.fann_set_activation_steepness_output(self.ann, 0.5)
        lib.fann_set_training_algorithm(self.ann, _FANN_TRAIN_INCREMENTAL)
        lib.fann_set_train_error_function(self.ann, _FANN_ERRORFUNC_LINEAR)
        lib.fann_set_learning_rate(self.ann, lr)
        lib.fann_set_learning_momentum(self.ann, 0.0)
        self.n_connections = int(lib.fann_get_total_connections(self.ann))
        self.set_weights(network.weights, network.biases)
        X = np.ascontiguousarray(X, dtype=np.float64)
        Y = np.ascontiguousarray(Y, dtype=np.float64).reshape(X.shape[0], -1)
        self.data = lib.fann_create_train(X.shape[0], X.shape[1], Y.shape[1])
        if not self.data:
            raise MemoryError("fann_create_train failed")
        self._data_finalizer = weakref.finalize(self, lib.fann_destroy_train, self.data)
        rows = self.data.contents
        for index in range(X.shape[0]):  # setup only: FANN owns its rows
            ctypes.memmove(rows.input[index], X[index].ctypes.data, X.shape[1] * 8)
            ctypes.memmove(rows.output[index], Y[index].ctypes.data, Y.shape[1] * 8)

    def _places(self) -> Any:
        """FANN's connection array and, per connection, (layer, to, from) in our terms;
        from == n_in is the bias."""
        connections = (_FannConnection * self.n_connections)()
        self.lib.fann_get_connection_array(self.ann, connections)
        starts = np.cumsum([0] + [width + 1 for width in self.sizes])  # + a bias neuron
        places = []
        for connection in connections:
            layer = int(np.searchsorted(starts, connection.to_neuron, side="right")) - 1
            places.append((layer - 1, connection.to_neuron - int(starts[layer]),
                           connection.from_neuron - int(starts[layer - 1])))
        return connections, places

    def set_weights(self, weights: Sequence[Floats], biases: Sequence[Floats]) -> None:
        connections, places = self._places()
        for connection, (layer, to, source) in zip(connections, places):
            connection.weight = float(biases[layer][to] if source == weights[layer].shape[1]
                                      else weights[layer][to, source])
        self.lib.fann_set_weight_array(self.ann, connections, self.n_connections)

    def weights(self) -> tuple[list[Floats], list[Floats]]:
        """The current weights and biases, shaped as Network.weights and Network.biases."""
        weights: list[Floats] = [np.zeros((n_out, n_in)) for n_in, n_out
                                 in zip(self.sizes[:-1], self.sizes[1:])]
        biases: list[Floats] = [np.zeros(n_out) for n_out in self.sizes[1:]]
        connections, places = self._places()
        for connection, (layer, to, source) in zip(connections, places):
            if source == weights[layer].shape[1]:
                biases[layer][to] = connection.weight
            else:
                weights[layer][to, source] = connection.weight
        return weights, biases

    def train_epoch(self) -> float:
        return float(self.lib.fann_train_epoch(self.ann, self.data))
