"""The one place that chooses the kernels: compiled `bpcore._kernels` or `bpcore._fallback`.

BPCORE_BACKEND=auto (default) takes the compiled module when it imports and otherwise warns and
uses the fallback; `cython` insists on the compiled module; `python` forces the fallback.
The rest of the package reads `_backend.kernels` at call time and never imports either directly.
"""
from __future__ import annotations

import os
import warnings
from typing import Protocol

from ._layout import Floats, Indices

BUILD_HINT = ("build it with `pip install .` (or `pip install -e .` in a checkout; needs a C "
              "compiler), or set BPCORE_BACKEND=python to use the pure-Python fallback")


class Kernels(Protocol):
    """What both kernel modules provide; the compiled one is described by bpcore/_kernels.pyi."""

    ACTIVATIONS: dict[str, int]
    LOSSES: dict[str, int]

    def forward(self, params: Floats, sizes: Indices, activations: Indices, X: Floats,
                A: Floats, Z: Floats) -> None: ...

    def forward_one(self, params: Floats, sizes: Indices, activations: Indices, x: Floats,
                    out: Floats) -> bool: ...

    def step_one(self, params: Floats, velocity: Floats, sizes: Indices, activations: Indices,
                 loss: int, x: Floats, y: Floats, lr: float, momentum: float,
                 weight_decay: float) -> tuple[float, int] | None: ...

    def backward(self, params: Floats, sizes: Indices, activations: Indices, loss: int,
                 Y: Floats, A: Floats, D: Floats) -> None: ...

    def parameter_gradients(self, sizes: Indices, X: Floats, A: Floats, D: Floats,
                            grads: Floats) -> None: ...

    def batch_loss(self, loss: int, A_out: Floats, Z: Floats, Y: Floats) -> float: ...

    def sgd_update(self, params: Floats, grads: Floats, velocity: Floats, sizes: Indices,
                   lr: float, momentum: float, weight_decay: float) -> None: ...

    def train_epoch(self, params: Floats, velocity: Floats, sizes: Indices,
                    activations: Indices, loss: int, X: Floats, Y: Floats, order: Indices,
                    batch_size: int, lr: float, momentum: float, weight_decay: float) -> float: ...


def select(choice: str) -> tuple[Kernels, str]:
    """Return (kernels module, backend name) for `choice` in auto, cython, python."""
    if choice not in ("auto", "cython", "python"):
        raise ValueError(f"BPCORE_BACKEND must be 'auto', 'cython' or 'python', got {choice!r}")
    if choice != "python":
        try:
            from . import _kernels
            return _kernels, "cython"
        except ImportError as error:
            if choice == "cython":
                raise ImportError(f"BPCORE_BACKEND=cython but the compiled module "
                                  f"bpcore._kernels is missing ({error}); {BUILD_HINT}") from error
            warnings.warn(f"bpcore: compiled kernels not available ({error}); using the slower "
                          f"pure-Python fallback. To get them, {BUILD_HINT.split('; ')[0]}",
                          RuntimeWarning, stacklevel=3)
    from . import _fallback
    return _fallback, "python"


kernels: Kernels
name: str
kernels, name = select(os.environ.get("BPCORE_BACKEND", "auto").strip().lower() or "auto")
