# Type stub of the compiled module built from src/_reference.pyx (src/reference/module.pxi),
# and of its SIMD variants _reference_avx2 and _reference_avx512: the plain reference loops of
# `bpcore bench`'s floors (bpcore.bench.floors), not used by the library.
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

_Floats = npt.NDArray[np.floating[Any]]

BUILD_FLAGS: str
SIMD: str
HIDDEN: tuple[str, ...]
OUTPUTS: dict[str, str]

def online_epoch(params: npt.NDArray[np.float64], sizes: Sequence[int],
                 X: npt.NDArray[np.float64], Y: npt.NDArray[np.float64], lr: float,
                 hidden: str, output: str) -> float: ...
def parameter_passes(params: _Floats, vector: _Floats, repeats: int,
                     step: float = ...) -> float: ...
def gemm_sequence(products: npt.NDArray[np.intp], a: _Floats, b: _Floats, c: _Floats,
                  repeats: int) -> None: ...
def empty(x: object) -> None: ...

FMA_PEAK_CHAINS: int

def fma_peak(single: bool, iterations: int) -> float: ...
