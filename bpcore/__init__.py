"""bpcore: small, fast fully-connected networks trained by backpropagation.

The hot loops are compiled Cython (`bpcore._kernels`); `bpcore._fallback` is a pure-Python twin.
`bpcore.backend` names the active one ("cython" or "python"); BPCORE_BACKEND chooses it.

Start with `Network` (``help(bpcore.Network)`` lists the activations and losses) and its
`Network.fit`, which trains by SGD or the optimizers `SGD`, `Adam`, `Rprop` and `LBFGS`, with the
learning-rate schedules of `bpcore.schedules`; `load` reads a saved network, `check_gradients` tests backpropagation against finite
differences. `bpcore.datasets` holds two small bundled data sets, `bpcore.sklearn`
drop-in replacements for scikit-learn's MLPClassifier and MLPRegressor.

Examples
--------
>>> import numpy as np
>>> import bpcore
>>> X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)  # samples are rows
>>> y = np.array([0, 1, 1, 0], dtype=float)
>>> net = bpcore.Network([2, 3, 1], activation="tanh", seed=1)
>>> history = net.fit(X, y, epochs=500, lr=0.5, momentum=0.9, tol=1e-3)
>>> net.predict(X).round().ravel()
array([0., 1., 1., 0.])
>>> bpcore.backend in ("cython", "python")
True
"""
import sys as _sys
import warnings as _warnings

from ._command_line import report as _report
from ._command_line import started_as_command_line as _started_as_command_line

# on the command line, what choosing the kernels reports takes its one-line form
_COMMAND_LINE = _started_as_command_line(getattr(_sys, "orig_argv", []),
                                         (getattr(_sys, "argv", None) or [""])[0])
try:
    with _warnings.catch_warnings(record=_COMMAND_LINE) as _caught:
        from . import _backend  # chooses the kernels, from BPCORE_BACKEND
except (ValueError, ImportError) as _error:
    if _COMMAND_LINE:  # a bad BPCORE_BACKEND is bad input like any other: exit status 2
        _report("error", _error)
        raise SystemExit(2) from None
    raise
for _warning in _caught or []:  # e.g. running on the fallback, and why
    _report("warning", _warning.message)
from ._validation import DivergenceError
from ._version import __version__
from .checks import check_gradients
from .io import load
from .network import Explanation, Gradients, History, Network
from . import schedules
from .optim import LBFGS, SGD, Adam, Rprop

__all__ = ["Network", "load", "check_gradients", "DivergenceError", "Gradients", "History",
           "Explanation", "SGD", "Adam", "Rprop", "LBFGS", "schedules", "backend", "__version__"]


def __getattr__(name: str) -> str:
    if name == "backend":  # read at access time, so it always names the kernels in use
        return _backend.name
    raise AttributeError(f"module 'bpcore' has no attribute {name!r}")
