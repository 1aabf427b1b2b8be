"""Build the compiled kernels; everything else about the package is in pyproject.toml.

Environment switches, read at build time:
  BPCORE_DEBUG=1        bounds and wraparound checks on, -O0 -g (for debugging and sanitizers)
  BPCORE_NATIVE=1       add -march=native and build no SIMD variants (opt-in: the wheel then
                        runs only on this CPU family)
  BPCORE_PURE_PYTHON=1  build no extension at all: a pure wheel that runs on the fallback
  BPCORE_EXTRA_CFLAGS   extra compiler and linker flags, split on spaces (e.g. sanitizers)
  BPCORE_VARIANTS       the SIMD variants to build beside the baseline on x86-64, split on
                        spaces: "avx2 avx512" when unset, "" for none (test builds that need
                        only the variants their CPU runs, such as .ci/sanitize's)
"""
import os
import platform
import shlex
import subprocess
import sys
import sysconfig

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.errors import CCompilerError, CompileError, PlatformError


def compiler_accepts(flag):
    """Whether the C compiler the build will run (CC, else Python's) compiles with `flag`:
    Clang refuses some of GCC's flags outright."""
    compiler = shlex.split(os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc")
    try:
        result = subprocess.run([*compiler, flag, "-x", "c", "-c", "-", "-o", os.devnull],
                                input="int bpcore_flag_check;\n", capture_output=True,
                                text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return False
    return result.returncode == 0


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
    # -ffast-math, which is never used. -falign-loops=64: every loop starts on a 64-byte line,
    # so that where a hot loop lands does not move with unrelated code: a change elsewhere in
    # the module once made the 64-128-64-10 online step 15% slower (the same instructions,
    # 32 bytes further on; EPYC Zen 4). -fno-tree-loop-distribute-patterns (GCC's; Clang 14
    # refuses it): a loop that zeroes or copies a row stays a loop instead of becoming a call
    # of memset or memcpy, which for the rows of a few entries of small layers costs more
    # than the copy (the tiny online epoch 146 -> 132 ns per sample, EPYC Zen 5; the other
    # cases unchanged)
    # -g0: no debug information (Python's own CFLAGS ask for -g): it was four fifths of the
    # wheel's bytes, and its build paths made two builds of one source differ
    compile_args = (["-O0", "-g"] if debug
                    else ["-O3", "-g0", "-fno-math-errno", "-fno-trapping-math",
                          "-falign-loops=64"])
    if not debug and sys.platform != "win32" and compiler_accepts(
            "-fno-tree-loop-distribute-patterns"):
        compile_args.append("-fno-tree-loop-distribute-patterns")
    native = os.environ.get("BPCORE_NATIVE") == "1"
    if native:
        compile_args.append("-march=native")
    extra = os.environ.get("BPCORE_EXTRA_CFLAGS", "").split()
    if sys.platform == "win32":
        compile_args, extra = (["/Od"] if debug else ["/O2"]), []
    def extension(name, source, simd="baseline", simd_args=()):
        flags = compile_args + list(simd_args) + extra
        return Extension(
            name,
            [source],
            include_dirs=[numpy.get_include()],
            extra_compile_args=flags,
            extra_link_args=extra,
            define_macros=[("NPY_NO_DEPRECATED_API", "NPY_2_0_API_VERSION"),
                           ("BPCORE_BUILD_FLAGS", '"' + " ".join(flags) + '"'),
                           ("BPCORE_SIMD", f'"{simd}"')],
        )

    # bpcore._blas holds SciPy's BLAS once per process; the kernels cimport it
    # (bpcore/_blas.pxd) along with the codes and limits of bpcore/_spec.pxd.
    # bpcore.bench._reference: the plain C loops `bpcore bench` measures its floors with (not
    # used by the library), built with the kernels' flags, variant for variant
    shells = {"bpcore._kernels": "src/_kernels", "bpcore.bench._reference": "src/_reference"}
    modules = [extension("bpcore._blas", "src/_blas.pyx")]
    modules += [extension(name, f"{shell}.pyx") for name, shell in shells.items()]
    # The portable modules target the x86-64 baseline (SSE2); on x86-64 with GCC or Clang the
    # same sources are also compiled for AVX2+FMA and for AVX-512, and bpcore/_backend.py
    # imports the best variant the CPU runs. -ffp-contract=off: no multiply and add is fused
    # into an FMA, so every variant rounds as the baseline does and gives the same bits.
    if (not native and sys.platform != "win32"
            and platform.machine().lower() in ("x86_64", "amd64")):
        avx2 = ["-mavx2", "-mfma", "-ffp-contract=off"]
        # 256-bit vectors (GCC's choice for Intel's AVX-512 cores): 512-bit code lowers the
        # clock of a whole core on some Xeons (Skylake-SP, Cascade Lake), BLAS included, and on
        # Zen 4 it was no faster (measured); the variant still gains AVX-512's masked loops
        avx512 = avx2 + ["-mavx512f", "-mavx512bw", "-mavx512cd", "-mavx512dq", "-mavx512vl",
                         "-mprefer-vector-width=256"]
        variants = {"avx2": avx2, "avx512": avx512}
        chosen = os.environ.get("BPCORE_VARIANTS", " ".join(variants)).split()
        unknown = sorted(set(chosen) - set(variants))
        if unknown:
            raise SystemExit(f"BPCORE_VARIANTS must name variants among "
                             f"{' '.join(variants)}, got {' '.join(unknown)}")
        for name, shell in shells.items():
            modules += [extension(f"{name}_{simd}", f"{shell}_{simd}.pyx", simd, variants[simd])
                        for simd in variants if simd in chosen]
    return cythonize(
        modules,
        nthreads=os.cpu_count() or 1,
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


class BuildExtensions(build_ext):
    """build_ext that says, when the C compiler fails or is missing, what to do next, and
    links without the run-time search path some Pythons' link command carries (pyenv's:
    -Wl,-rpath,<its lib folder>): the modules need no library there, and a wheel must not
    name a folder of the machine that built it."""

    def build_extensions(self):
        linker = list(getattr(self.compiler, "linker_so", None) or [])
        kept, skip = [], False
        for part in linker:
            if skip:  # the folder of a two-part "-Wl,-rpath -Wl,<folder>"
                skip = False
            elif part in ("-Wl,-rpath", "-Wl,-R"):
                skip = True
            elif not part.startswith(("-Wl,-rpath,", "-Wl,-rpath=", "-Wl,-R")):
                kept.append(part)
        if linker:
            self.compiler.linker_so = kept
        super().build_extensions()

    def run(self):
        try:
            super().run()
        except (CCompilerError, CompileError, PlatformError):
            sys.stderr.write(
                "\nbpcore: its compiled kernels did not build (the error follows). They need a "
                "C compiler (gcc or clang) and Python's headers; on Debian or Ubuntu: apt-get "
                "install gcc python3-dev. Without them, BPCORE_PURE_PYTHON=1 builds a "
                "pure-Python bpcore that runs the same arithmetic in NumPy, much slower.\n\n")
            raise


# the kernels are compiled three times (the SIMD variants): one compiler per core
setup(ext_modules=extensions(), cmdclass={"build_ext": BuildExtensions},
      options={"build_ext": {"parallel": os.cpu_count() or 1}})
