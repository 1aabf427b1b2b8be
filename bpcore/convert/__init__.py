"""Networks in other formats: ONNX, PyTorch and FANN files, and scikit-learn's MLPs.

Every converter reads and writes a Network through its public state, and checks what it
reads: a file or module that is not a fully connected network bpcore can run gets a
ValueError that says why, and a writer writes nothing when it fails.

- `to_onnx` / `from_onnx`: an ONNX model of the forward pass (needs ``bpcore[onnx]``);
- `to_torch` / `from_torch`: a ``torch.nn.Sequential`` (needs PyTorch);
- `save_fann` / `load_fann`: FANN's text network files (``FANN_FLO_2.1``), nothing to install;
- `to_sklearn` / `from_sklearn`: scikit-learn's MLPClassifier / MLPRegressor, from
  `bpcore.sklearn` (needs scikit-learn; imported when first used).

Examples
--------
>>> import os, tempfile
>>> import numpy as np
>>> import bpcore
>>> from bpcore.convert import load_fann, save_fann
>>> net = bpcore.Network([2, 3, 1], activation="tanh", seed=0)
>>> with tempfile.TemporaryDirectory() as folder:
...     path = os.path.join(folder, "net.net")
...     save_fann(net, path)
...     back = load_fann(path)
>>> back
Network([2, 3, 1], activation='tanh', output='sigmoid', loss='mse', dtype='float64')
>>> bool(np.array_equal(back.predict([[0.5, -1.0]]), net.predict([[0.5, -1.0]])))
True
"""
from __future__ import annotations

from typing import Any

from ._fann import load_fann, save_fann
from ._onnx import from_onnx, to_onnx
from ._torch import from_torch, to_torch

__all__ = ["to_onnx", "from_onnx", "to_torch", "from_torch", "load_fann", "save_fann",
           "to_sklearn", "from_sklearn"]


def __getattr__(name: str) -> Any:
    # bpcore.sklearn needs scikit-learn to import: only these two names wait for it
    if name in ("to_sklearn", "from_sklearn"):
        from .. import sklearn
        return getattr(sklearn, name)
    raise AttributeError(f"module 'bpcore.convert' has no attribute {name!r}")
