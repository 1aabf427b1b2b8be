"""bpcore: small, fast fully-connected networks trained by backpropagation and SGD.

The hot loops are compiled Cython (`bpcore._kernels`); `bpcore._fallback` is a pure-Python twin.
`bpcore.backend` names the active one ("cython" or "python"); BPCORE_BACKEND chooses it.
"""
from . import _backend
from ._validation import DivergenceError
from ._version import __version__
from .checks import check_gradients
from .io import load
from .network import Explanation, Gradients, History, Network

__all__ = ["Network", "load", "check_gradients", "DivergenceError", "Gradients", "History",
           "Explanation", "backend", "__version__"]


def __getattr__(name: str) -> str:
    if name == "backend":  # read at access time, so it always names the kernels in use
        return _backend.name
    raise AttributeError(f"module 'bpcore' has no attribute {name!r}")
