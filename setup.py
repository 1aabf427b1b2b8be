"""Build the compiled kernels; everything else about the package is in pyproject.toml.

Environment switches, read at build time:
  BPCORE_DEBUG=1        bounds and wraparound checks on, -O0 -g (for debugging and sanitizers)
  BPCORE_NATIVE=1       add -march=native (opt-in: the wheel then runs only on this CPU family)
  BPCORE_PURE_PYTHON=1  build no extension at all: a pure wheel that runs on the fallback
  BPCORE_EXTRA_CFLAGS   extra compiler and linker flags, split on spaces (e.g. sanitizers)
"""
import os
import sys

from setuptools import Extension, setup


def extensions():
    if os.environ.get("BPCORE_PURE_PYTHON") == "1":
        return []
    # A normal build needs Cython; fail loudly rather than ship a wheel without the kernels.
    import numpy
    from Cython.Build import cythonize

    debug = os.environ.get("BPCORE_DEBUG") == "1"
    # -fno-math-errno: sqrt need not set errno, so its loops vectorise (Adam's update);
    # -fno-trapping-math: a comparison may be evaluated whichever way a choice goes, so loops
    # of choices vectorise into blends (Rprop's update, derivative masks). Neither changes a
    # result (only floating-point exception flags, which bpcore never reads), unlike
    # -ffast-math, which is never used
    compile_args = (["-O0", "-g"] if debug
                    else ["-O3", "-fno-math-errno", "-fno-trapping-math"])
    if os.environ.get("BPCORE_NATIVE") == "1":
        compile_args.append("-march=native")
    extra = os.environ.get("BPCORE_EXTRA_CFLAGS", "").split()
    if sys.platform == "win32":
        compile_args, extra = (["/Od"] if debug else ["/O2"]), []
    def extension(name, source):
        return Extension(
            name,
            [source],
            include_dirs=[numpy.get_include()],
            extra_compile_args=compile_args + extra,
            extra_link_args=extra,
            define_macros=[("NPY_NO_DEPRECATED_API", "NPY_2_0_API_VERSION"),
                           ("BPCORE_BUILD_FLAGS", '"' + " ".join(compile_args + extra) + '"')],
        )

    # bpcore._blas holds SciPy's BLAS once per process; the kernels cimport it
    # (bpcore/_blas.pxd) along with the codes and limits of bpcore/_spec.pxd.
    return cythonize(
        [extension("bpcore._blas", "src/_blas.pyx"),
         extension("bpcore._kernels", "src/_kernels.pyx")],
        include_path=["."],
        # the generated C of a debug build and of a normal one are kept apart: cythonize
        # regenerates only C older than its sources, so a shared file would keep the other
        # mode's directives (BPCORE_DEBUG=1 without bounds checks, or the reverse)
        build_dir="build/cython-debug" if debug else "build/cython",
        compiler_directives={
            "language_level": 3,
            "boundscheck": debug,
            "wraparound": debug,
            "initializedcheck": debug,
            "cdivision": True,
        },
    )


setup(ext_modules=extensions())
