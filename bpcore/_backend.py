"""The one place that chooses the kernels: compiled `bpcore._kernels` or `bpcore._fallback`.

BPCORE_BACKEND=auto (default) takes the compiled module when it imports and otherwise warns and
uses the fallback; `cython` insists on the compiled module; `python` forces the fallback. The
compiled kernels exist in SIMD variants, the same source built for the x86-64 baseline, for
AVX2+FMA and for AVX-512 (setup.py); BPCORE_SIMD=auto (default) takes the best one this CPU
runs, and `baseline`, `avx2` or `avx512` insists on one (ImportError if the CPU cannot run it
or it is not built). Every variant rounds alike and gives the same results. The choice is made
once, at import. The rest of the package reads `_backend.kernels` at call time
and never imports a kernel module itself; tests and the benchmarks switch kernels for a while
with `use_backend`.

`Kernels` below is the one table of the kernels' signatures: both modules must match it, which
tests/test_twins.py checks parameter by parameter and error type by error type.
"""
from __future__ import annotations

import contextlib
import glob
import importlib
import importlib.util
import os
import warnings
from collections.abc import Iterator
from typing import Any, Protocol

from ._layout import Floats, Indices

BACKENDS = ("cython", "python")
SIMD_VARIANTS = ("baseline", "avx2", "avx512")  # the compiled variants, best last


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
    return ("this installation of bpcore has no compiled module (a pure-Python wheel, built "
            "with BPCORE_PURE_PYTHON=1); reinstall it from source with a C compiler (`pip "
            "install --no-binary bpcore bpcore`, or `pip install .` in a checkout)")


class Kernels(Protocol):
    """What both kernel modules provide, in the memory layout of `bpcore/_layout.py`.

    Floating buffers are 1-D or 2-D C-contiguous float32 or float64, one dtype per call;
    `sizes` and `activations` are 1-D intp arrays; `loss` and `optimizer` are codes from
    `bpcore/_spec.py`. An optimizer's `settings` is a float64 vector (its hyperparameters,
    then any scalar state it keeps) and its `state` one vector holding each of its state
    arrays (each as long as `params`) one after the other; both are updated in place.
    `weights` is each sample's weight, or an empty vector for none.
    """

    ACTIVATIONS: dict[str, int]
    LOSSES: dict[str, int]
    OPTIMIZERS: dict[str, int]

    def permutation(self, n: int, seed: int) -> Indices: ...

    def samples_fit(self, X: Floats, Y: Floats, loss: int) -> bool: ...

    def forward(self, params: Floats, sizes: Indices, activations: Indices, X: Floats,
                A: Floats, Z: Floats) -> None: ...

    def forward_one(self, params: Floats, sizes: Indices, activations: Indices,
                    x: Floats) -> Floats | None: ...

    def forward_rows(self, params: Floats, sizes: Indices, activations: Indices,
                     X: Floats) -> Floats | None: ...

    def backward(self, params: Floats, sizes: Indices, activations: Indices, loss: int,
                 Y: Floats, A: Floats, D: Floats, weights: Floats) -> None: ...

    def parameter_gradients(self, sizes: Indices, X: Floats, A: Floats, D: Floats,
                            grads: Floats) -> None: ...

    def batch_loss(self, loss: int, A_out: Floats, Z: Floats, Y: Floats,
                   weights: Floats) -> float: ...

    def loss_gradients(self, params: Floats, sizes: Indices, activations: Indices, loss: int,
                       X: Floats, Y: Floats, weights: Floats, grads: Floats) -> float: ...

    def update(self, params: Floats, grads: Floats, state: Floats, sizes: Indices,
               optimizer: int, settings: Floats) -> None: ...

    def step_one(self, params: Floats, state: Floats, sizes: Indices, activations: Indices,
                 loss: int, x: Floats, y: Floats, optimizer: int,
                 settings: Floats) -> tuple[float, int] | None: ...

    def step_rows(self, params: Floats, state: Floats, sizes: Indices, activations: Indices,
                  loss: int, X: Floats, Y: Floats, optimizer: int,
                  settings: Floats) -> tuple[float, int] | None: ...

    def step_direct(self, params: Floats, state: Floats, scalars: Floats, sizes: Indices,
                    activations: Indices, loss: int, X: Floats, Y: Floats, optimizer: int,
                    settings: Floats) -> tuple[float, int] | None: ...

    def train_epoch(self, params: Floats, state: Floats, sizes: Indices,
                    activations: Indices, loss: int, X: Floats, Y: Floats, weights: Floats,
                    order: Indices, batch_size: int, optimizer: int, settings: Floats,
                    summed_penalty: bool = False, records: Floats | None = None,
                    clipped_loss: bool = False) -> float: ...


def _simd_choice() -> str:
    choice = os.environ.get("BPCORE_SIMD", "auto").strip().lower() or "auto"
    if choice not in ("auto",) + SIMD_VARIANTS:
        raise ValueError(f"BPCORE_SIMD must be 'auto', 'baseline', 'avx2' or 'avx512', "
                         f"got {choice!r}")
    return choice


def _module_name(variant: str) -> str:
    return f"{__package__}._kernels" + ("" if variant == "baseline" else f"_{variant}")


def simd_module(variant: str) -> Any:
    """The compiled kernels built for `variant` (one of SIMD_VARIANTS). Raises ImportError when
    this CPU cannot run it (checked before the module is loaded, whose code could not run
    here) or when it is not built (a platform other than x86-64, or BPCORE_NATIVE=1)."""
    if variant not in SIMD_VARIANTS:
        raise ValueError(f"variant must be one of {', '.join(SIMD_VARIANTS)}, got {variant!r}")
    from . import _kernels  # the baseline, which also reads the CPU's features
    if variant == "baseline":
        return _kernels
    if variant not in _kernels.cpu_runs():
        raise ImportError(f"this CPU cannot run bpcore's {variant} kernels (it runs "
                          f"{', '.join(_kernels.cpu_runs())})")
    try:
        return importlib.import_module(_module_name(variant))
    except ImportError as error:
        raise ImportError(f"bpcore's {variant} kernels are not built in this installation "
                          f"({error})") from error


def simd_variants() -> list[str]:
    """The compiled SIMD variants this installation has and this CPU runs, best last."""
    variants = []
    for variant in SIMD_VARIANTS:
        try:
            simd_module(variant)
        except ImportError:
            continue
        variants.append(variant)
    return variants


def built_variants() -> list[str]:
    """The compiled SIMD variants this installation has, whether or not this CPU runs them
    (found, not imported: importing one the CPU cannot run is refused), best last."""
    return [variant for variant in SIMD_VARIANTS
            if importlib.util.find_spec(_module_name(variant)) is not None]


def compiled() -> Any:
    """The compiled kernel module (the SIMD variant BPCORE_SIMD chooses), for reports of how
    it was built (`bpcore info`); raises ImportError with the reason when it does not
    import."""
    try:
        from . import _kernels
    except ImportError as error:
        raise ImportError(_why_not_compiled(error)) from error
    choice = _simd_choice()
    if choice != "auto":
        try:
            return simd_module(choice)
        except ImportError as error:
            raise ImportError(f"BPCORE_SIMD={choice}, but {error}") from error
    for variant in reversed(SIMD_VARIANTS[1:]):
        with contextlib.suppress(ImportError):
            return simd_module(variant)
    return _kernels


def load(choice: str) -> tuple[Kernels, str]:
    """Return (kernels module, backend name) for `choice` in auto, cython, python."""
    if choice not in ("auto",) + BACKENDS:
        raise ValueError(f"BPCORE_BACKEND must be 'auto', 'cython' or 'python', got {choice!r}")
    _simd_choice()  # a misspelt BPCORE_SIMD is an error whichever backend runs
    if choice != "python":
        try:
            from . import _kernels  # noqa: F401 (whether any compiled module imports)
        except ImportError as error:
            reason = _why_not_compiled(error)
            if choice == "cython":
                raise ImportError(f"BPCORE_BACKEND=cython, but {reason}.") from error
            warnings.warn(f"bpcore uses its slower pure-Python fallback because {reason}; "
                          f"BPCORE_BACKEND=python chooses the fallback without this warning.",
                          RuntimeWarning, stacklevel=3)
        else:
            return compiled(), "cython"  # a BPCORE_SIMD variant it cannot load is an error
    from . import _fallback
    return _fallback, "python"


@contextlib.contextmanager
def use_backend(choice: str | Kernels) -> Iterator[Kernels]:
    """Within the block, the package runs on other kernels: "cython", "python" or a kernels
    object (e.g. a wrapper that counts calls). For tests and benchmarks: the switch is
    process-wide, so no other thread should train meanwhile.

    Raises ImportError for "cython" when the compiled module does not import, and ValueError
    for an unknown name.
    """
    global kernels, name
    if isinstance(choice, str):
        if choice not in BACKENDS:
            raise ValueError(f"backend must be 'cython' or 'python', got {choice!r}")
        chosen, chosen_name = load(choice)
    else:
        chosen, chosen_name = choice, name
    saved = kernels, name
    kernels, name = chosen, chosen_name
    try:
        yield chosen
    finally:
        kernels, name = saved


kernels: Kernels
name: str
kernels, name = load(os.environ.get("BPCORE_BACKEND", "auto").strip().lower() or "auto")


def simd() -> str:
    """The SIMD variant of the kernels in use ("baseline", "avx2" or "avx512"), or "none" on
    the fallback."""
    return str(getattr(kernels, "SIMD", "none"))
