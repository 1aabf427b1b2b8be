"""The one place that chooses the kernels: compiled `bpcore._kernels` or `bpcore._fallback`.

BPCORE_BACKEND=auto (default) takes the compiled module when it imports and otherwise warns and
uses the fallback; `cython` insists on the compiled module; `python` forces the fallback.
The rest of the package reads `_backend.kernels` at call time and never imports either directly.
"""
import os
import warnings

BUILD_HINT = ("build it with `pip install .` (or `pip install -e .` in a checkout; needs a C "
              "compiler), or set BPCORE_BACKEND=python to use the pure-Python fallback")


def select(choice):
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


kernels, name = select(os.environ.get("BPCORE_BACKEND", "auto").strip().lower() or "auto")
