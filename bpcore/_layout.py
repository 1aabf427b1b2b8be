"""Where each layer lives in bpcore's flat buffers (shared by the network and the fallback).

Parameters are one flat vector: layer l holds W[l] (sizes[l+1] x sizes[l], row-major) then
b[l] (sizes[l+1]). Activations A and local gradients D of n samples hold one (n, sizes[l+1])
block per layer, layer after layer. The compiled kernels use the same layout.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

# The buffers' types: floating arrays are float32 or float64, sizes and codes are intp.
Floats: TypeAlias = npt.NDArray[np.floating[Any]]
Indices: TypeAlias = npt.NDArray[np.intp]


# The byte boundary the long-lived buffers (parameters, optimizer state) start on: a cache
# line, which is also the widest vector (AVX-512). NumPy's own allocations are only sure to
# be 16-byte aligned, and a 64-128-64-10 online epoch took 20% longer when the parameters
# started 16 bytes past a 32-byte boundary (every other vector load splits a cache line).
ALIGNMENT = 64


def aligned_zeros(n: int, dtype: npt.DTypeLike) -> Floats:
    """A zeroed 1-D array of n entries of `dtype` whose data start on an ALIGNMENT-byte
    boundary (a view into a slightly longer buffer, which it keeps alive)."""
    dtype = np.dtype(dtype)
    raw = np.zeros(n * dtype.itemsize + ALIGNMENT, dtype=np.uint8)
    start = -raw.ctypes.data % ALIGNMENT
    array: Floats = raw[start:start + n * dtype.itemsize].view(dtype)
    return array


def aligned_copy(values: Floats) -> Floats:
    """A 1-D copy of `values` made by aligned_zeros."""
    array = aligned_zeros(values.size, values.dtype)
    array[...] = values.ravel()
    return array


def realigned(values: Floats) -> Floats:
    """`values` itself when it is 1-D and starts on an ALIGNMENT-byte boundary (so that a
    shallow copy.copy still shares it), else an aligned_copy (an unpickled array)."""
    if values.ndim == 1 and values.ctypes.data % ALIGNMENT == 0:
        return values
    return aligned_copy(values)


def parameter_count(sizes: Sequence[int]) -> int:
    return sum(n_out * (n_in + 1) for n_in, n_out in zip(sizes[:-1], sizes[1:]))


def unit_count(sizes: Sequence[int]) -> int:
    return sum(sizes[1:])


def layer_parameters(params: Floats, sizes: Sequence[int]) -> list[tuple[Floats, Floats]]:
    """The views (W[l], b[l]) of every layer into the flat parameter vector."""
    views, offset = [], 0
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        weights = params[offset:offset + n_out * n_in].reshape(n_out, n_in)
        offset += n_out * n_in
        views.append((weights, params[offset:offset + n_out]))
        offset += n_out
    return views


def first_not_finite(params: Floats, sizes: Sequence[int]) -> str | None:
    """"weights[l]" or "biases[l]" for the first layer array of `params` holding NaN or
    infinity, or None when every entry is finite."""
    return first_not_finite_layer(layer_parameters(params, sizes))


def first_not_finite_layer(layers: Iterable[tuple[npt.NDArray[Any], npt.NDArray[Any]]]
                           ) -> str | None:
    """first_not_finite of layers given as (weights, biases) pairs of arrays."""
    for layer, (weights, biases) in enumerate(layers):
        for name, values in (("weights", weights), ("biases", biases)):
            if not np.isfinite(values).all():
                return f"{name}[{layer}]"
    return None


def layer_blocks(buffer: Floats, sizes: Sequence[int], n: int) -> list[Floats]:
    """The (n, sizes[l+1]) views of every layer into a flat activations or deltas buffer."""
    blocks, offset = [], 0
    for width in sizes[1:]:
        blocks.append(buffer[offset:offset + n * width].reshape(n, width))
        offset += n * width
    return blocks


def as_sizes(sizes: npt.ArrayLike) -> Indices:
    return np.ascontiguousarray(sizes, dtype=np.intp)
