"""The one place that chooses the kernels: compiled `bpcore._kernels` or `bpcore._fallback`.

BPCORE_BACKEND=auto (default) takes the compiled module when it imports and otherwise warns and
uses the fallback; `cython` insists on the compiled module; `python` forces the fallback.
The rest of the package reads `_backend.kernels` at call time and never imports either directly.
"""
from __future__ import annotations

import glob
import os
import warnings
from typing import Protocol

from ._layout import Floats, Indices


def _why_not_compiled(error: ImportError) -> str:
    """One sentence: why bpcore._kernels did not import, and what to do about it."""
    package = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(package)
    built = glob.glob(os.path.join(package, "_kernels*.so")) + glob.glob(
        os.path.join(package, "_kernels*.pyd"))
    if built:
        return (f"the compiled module {built[0]} does not load ({error}); reinstall bpcore "
                f"to rebuild it for this Python and NumPy")
    if os.path.exists(os.path.join(root, "src", "_kernels.pyx")):
        # the source folder shadows the installed package when Python starts in the checkout
        return (f"bpcore was imported from the source checkout {root}, which has no compiled "
                f"module; run from another folder to use the installed bpcore, or build the "
                f"checkout in place with `pip install -e \".[dev]\" --no-build-isolation` "
                f"(after `pip install \"setuptools>=77\" \"cython>=3\" \"numpy>=2\"`)")
    return ("this installation of bpcore has no compiled module (a pure-Python wheel, or a "
            "build without a C compiler); reinstall it from source with a C compiler "
            "(`pip install .` in a checkout)")


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
            reason = _why_not_compiled(error)
            if choice == "cython":
                raise ImportError(f"BPCORE_BACKEND=cython, but {reason}.") from error
            warnings.warn(f"bpcore uses its slower pure-Python fallback because {reason}; "
                          f"BPCORE_BACKEND=python chooses the fallback without this warning.",
                          RuntimeWarning, stacklevel=3)
    from . import _fallback
    return _fallback, "python"


kernels: Kernels
name: str
kernels, name = select(os.environ.get("BPCORE_BACKEND", "auto").strip().lower() or "auto")
