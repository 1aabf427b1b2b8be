# Type stub of the compiled module built from src/_kernels.pyx; bpcore/_fallback.py has the
# same functions. Floating buffers are float32 or float64 (one dtype per call), C-contiguous.
from typing import Any

import numpy as np
import numpy.typing as npt

_Floats = npt.NDArray[np.floating[Any]]
_Indices = npt.NDArray[np.intp]

BUILD_FLAGS: str
ACTIVATIONS: dict[str, int]
LOSSES: dict[str, int]

def forward(params: _Floats, sizes: _Indices, activations: _Indices, X: _Floats, A: _Floats,
            Z: _Floats) -> None: ...
def forward_one(params: _Floats, sizes: _Indices, activations: _Indices, x: _Floats,
                out: _Floats) -> bool: ...
def step_one(params: _Floats, velocity: _Floats, sizes: _Indices, activations: _Indices,
             loss: int, x: _Floats, y: _Floats, lr: float, momentum: float,
             weight_decay: float) -> tuple[float, int] | None: ...
def blas_loaded() -> bool: ...
def backward(params: _Floats, sizes: _Indices, activations: _Indices, loss: int, Y: _Floats,
             A: _Floats, D: _Floats) -> None: ...
def parameter_gradients(sizes: _Indices, X: _Floats, A: _Floats, D: _Floats,
                        grads: _Floats) -> None: ...
def batch_loss(loss: int, A_out: _Floats, Z: _Floats, Y: _Floats) -> float: ...
def sgd_update(params: _Floats, grads: _Floats, velocity: _Floats, sizes: _Indices, lr: float,
               momentum: float, weight_decay: float) -> None: ...
def train_epoch(params: _Floats, velocity: _Floats, sizes: _Indices, activations: _Indices,
                loss: int, X: _Floats, Y: _Floats, order: _Indices, batch_size: int, lr: float,
                momentum: float, weight_decay: float) -> float: ...
