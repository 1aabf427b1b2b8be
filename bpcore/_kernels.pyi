# Type stub of the compiled module built from src/_kernels.pyx (+ src/kernels/*.pxi);
# bpcore/_fallback.py has the same functions. The signatures are those of the `Kernels` table
# in bpcore/_backend.py (tests/test_twins.py checks all three). Floating buffers are float32 or
# float64 (one dtype per call), C-contiguous; an optimizer's `settings` is float64.
from typing import Any

import numpy as np
import numpy.typing as npt

_Floats = npt.NDArray[np.floating[Any]]
_Indices = npt.NDArray[np.intp]

BUILD_FLAGS: str
BOUNDS_CHECKED: bool
SIMD: str
ACTIVATIONS: dict[str, int]
LOSSES: dict[str, int]
OPTIMIZERS: dict[str, int]
LIMITS: dict[str, float]
OPTIMIZER_SHAPES: dict[int, tuple[int, int]]
FIRST_LAYER_TRANSPOSED_UP_TO: int

def blas_loaded() -> bool: ...
def blas_kernels() -> str: ...
def forward_copies(n: int, n_in: int, n_out: int) -> bool: ...
def cpu_runs() -> list[str]: ...
def permutation(n: int, seed: int) -> _Indices: ...
def forward(params: _Floats, sizes: _Indices, activations: _Indices, X: _Floats, A: _Floats,
            Z: _Floats) -> None: ...
def forward_one(params: _Floats, sizes: _Indices, activations: _Indices,
                x: _Floats) -> _Floats | None: ...
def backward(params: _Floats, sizes: _Indices, activations: _Indices, loss: int, Y: _Floats,
             A: _Floats, D: _Floats, weights: _Floats) -> None: ...
def parameter_gradients(sizes: _Indices, X: _Floats, A: _Floats, D: _Floats,
                        grads: _Floats) -> None: ...
def batch_loss(loss: int, A_out: _Floats, Z: _Floats, Y: _Floats, weights: _Floats) -> float: ...
def loss_gradients(params: _Floats, sizes: _Indices, activations: _Indices, loss: int,
                   X: _Floats, Y: _Floats, weights: _Floats, grads: _Floats) -> float: ...
def update(params: _Floats, grads: _Floats, state: _Floats, sizes: _Indices, optimizer: int,
           settings: _Floats) -> None: ...
def step_one(params: _Floats, state: _Floats, sizes: _Indices, activations: _Indices,
             loss: int, x: _Floats, y: _Floats, optimizer: int,
             settings: _Floats) -> tuple[float, int] | None: ...
def train_epoch(params: _Floats, state: _Floats, sizes: _Indices, activations: _Indices,
                loss: int, X: _Floats, Y: _Floats, weights: _Floats, order: _Indices,
                batch_size: int, optimizer: int, settings: _Floats,
                summed_penalty: bool = ..., records: _Floats | None = ...,
                clipped_loss: bool = ...) -> float: ...
