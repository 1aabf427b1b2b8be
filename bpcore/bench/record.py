"""What `bpcore bench` keeps besides its table: the machine it ran on, and the run as JSON.

`machine()` describes where the timings were taken (CPU, the kernels' SIMD variant and build
flags, the BLAS libraries loaded and their threads, versions); `header_lines` turns it into the
few lines printed above the table. `--json PATH` writes the rows and the machine with
`write_run`, and `--compare A.json B.json` reads two such files back with `read_run` and prints
`format_comparison`, running nothing.

The file is one JSON object: {"bpcore_bench": FORMAT_VERSION, "machine": {...}, "scale": ...,
"rows": [row_to_dict(row), ...]}. NaN and infinities are written as Python's json writes them
(NaN, Infinity), which its reader accepts: a missed target with no value survives the trip.
"""
from __future__ import annotations

import datetime
import json
import math
import os
import platform
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .table import IMPLEMENTATIONS, TABLE_WIDTH, Row, Target, format_ratio, format_value

FORMAT_KEY = "bpcore_bench"  # the key that marks a bpcore bench file; its value: the version
FORMAT_VERSION = 1
# CPU features that decide which kernels and BLAS code paths can run, as /proc/cpuinfo names them
CPU_FEATURES = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512dq", "avx512vl",
                "avx512_bf16", "avx512_fp16", "amx_tile")
# environment variables that change the timings (threads, BLAS kernel choice, bpcore's choices)
ENVIRONMENT = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_CORETYPE",
               "OPENBLAS_L2_SIZE", "BPCORE_BACKEND", "BPCORE_SIMD")


class BenchFileError(ValueError):
    """A --json target that cannot be written, or a --compare file that is not a bench run."""


# ---- the machine ----

def _cpuinfo() -> dict[str, str]:
    """The first processor's fields of /proc/cpuinfo (Linux); empty elsewhere."""
    fields: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as file:
            for line in file:
                if not line.strip():
                    break  # one processor is enough: they are alike
                name, _, value = line.partition(":")
                fields[name.strip()] = value.strip()
    except OSError:
        pass
    return fields


def _package_of(path: str) -> str:
    """The installed package that ships a shared library: numpy for
    .../site-packages/numpy.libs/libscipy_openblas64_.so, torch for .../torch/lib/libgomp.so;
    "" for a system library. Two libraries of one kind (NumPy's and SciPy's OpenBLAS) are
    told apart by this, not by their file names."""
    parts = os.path.normpath(path).split(os.sep)
    for index, part in enumerate(parts[:-2]):
        if part in ("site-packages", "dist-packages"):
            package = parts[index + 1]
            return package[:-len(".libs")] if package.endswith(".libs") else package
    return ""


def _blas() -> list[dict[str, object]] | str:
    """The BLAS and OpenMP libraries loaded in this process, as threadpoolctl reports them."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:  # not a dependency of bpcore: scikit-learn brings it
        return "threadpoolctl not installed"
    try:  # bpcore's kernels call SciPy's BLAS, which loads on first use: load it to list it
        import scipy.linalg.cython_blas  # noqa: F401
    except ImportError:
        pass
    found = [{"user_api": info.get("user_api"), "internal_api": info.get("internal_api"),
              "version": info.get("version"), "architecture": info.get("architecture"),
              "num_threads": info.get("num_threads"),
              "filepath": os.path.basename(str(info.get("filepath", ""))),
              "package": _package_of(str(info.get("filepath", "")))}
             for info in threadpool_info()]
    # in a fixed order (threadpoolctl's is the order of loading, which varies between runs)
    return sorted(found, key=lambda library: (str(library["package"]),
                                              str(library["filepath"])))


def machine() -> dict[str, object]:
    """Where a benchmark runs: CPU, the compiled kernels' SIMD variant and build flags, the BLAS
    libraries and threads, versions, and the time (UTC). JSON-ready: strings, numbers, lists,
    dicts and None."""
    import numpy

    from .. import _backend
    from .._version import __version__
    cpuinfo = _cpuinfo()
    flags = cpuinfo.get("flags", "").split()
    # the compiled column runs the module compiled() names: report its variant and flags
    try:
        module = _backend.compiled()
        build_flags, simd = str(module.BUILD_FLAGS), str(module.SIMD)
        variants = _backend.simd_variants()
    except ImportError:
        build_flags, simd, variants = "compiled module not importable", "none", []
    try:
        import scipy
        scipy_version = str(scipy.__version__)
    except ImportError:
        scipy_version = "not installed"
    torch: dict[str, object] | str
    try:
        import torch as torch_module
        torch = {"version": str(torch_module.__version__),
                 "threads": int(torch_module.get_num_threads())}
    except ImportError:
        torch = "not installed"
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "cpu": cpuinfo.get("model name") or platform.processor() or "unknown",
        # x86's family and model name the microarchitecture where the model name does not
        # (a virtual machine's "AMD EPYC": family 25 is Zen 3 and 4, family 26 Zen 5)
        "cpu_model": (f"family {cpuinfo['cpu family']} model {cpuinfo['model']}"
                      if "cpu family" in cpuinfo and "model" in cpuinfo else None),
        "cpu_features": [name for name in CPU_FEATURES if name in flags],
        "arch": platform.machine(),
        "logical_cpus": os.cpu_count(),
        "usable_cpus": usable,  # fewer than logical_cpus under taskset or a container's limit
        "os": platform.platform(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "numpy": numpy.__version__,
        "scipy": scipy_version,
        "bpcore": __version__,
        "backend": _backend.name,
        "simd": str(simd),
        "simd_variants": variants,
        "build_flags": build_flags,
        "blas": _blas(),
        "torch": torch,
        "environment": {name: os.environ[name] for name in ENVIRONMENT if name in os.environ},
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def _library_line(library: Mapping[str, object]) -> str:
    """`BLAS (scipy): openblas 0.3.27, kernel Haswell, 2 threads, libscipy_openblas.so`."""
    user_api = str(library.get("user_api"))
    kind = {"blas": "BLAS", "openmp": "OpenMP"}.get(user_api, user_api)
    if library.get("package"):
        kind += f" ({library['package']})"  # the package that ships it: which one is whose
    name = str(library.get("internal_api"))
    words = [] if name == user_api else [name + (f" {library['version']}"
                                                 if library.get("version") else "")]
    if library.get("architecture"):
        words.append(f"kernel {library['architecture']}")
    words.append(f"{library.get('num_threads')} threads")
    if library.get("filepath"):
        words.append(str(library["filepath"]))
    return f"{kind}: {', '.join(words)}"


def _of_variants(variants: object) -> str:
    """` (of baseline avx2 avx512)`: the variants this installation has and the CPU runs."""
    if not isinstance(variants, list) or not variants:
        return ""
    return f" (of {' '.join(map(str, variants))})"


def header_lines(machine: Mapping[str, object], width: int = TABLE_WIDTH) -> list[str]:
    """A few short lines on where a run took place, for the top of the bench's output; lines
    longer than `width` continue, indented, on the next. Reads a machine() dict, or one loaded
    from a file (a key it lacks shows as "?")."""
    def get(name: str) -> object:
        return machine.get(name, "?")
    features = machine.get("cpu_features")
    cpus = f"{get('logical_cpus')} logical CPUs"
    if machine.get("usable_cpus") not in (None, machine.get("logical_cpus")):
        cpus += f" ({machine['usable_cpus']} usable)"
    model = machine.get("cpu_model")
    lines = [f"cpu: {get('cpu')}" + (f", {model}" if isinstance(model, str) else "")
             + f" ({get('arch')}), {cpus}"
             + (f", features {' '.join(map(str, features))}"
                if isinstance(features, list) and features else ""),
             f"kernels: bpcore {get('bpcore')}, backend {get('backend')}, "
             f"SIMD variant {get('simd')}{_of_variants(machine.get('simd_variants'))}, "
             f"flags {get('build_flags')}"]
    blas = get("blas")
    if isinstance(blas, list):
        libraries = [library for library in blas if isinstance(library, Mapping)]
        # BLAS first (their order in the process is the order they happened to load)
        libraries.sort(key=lambda library: library.get("user_api") != "blas")
        lines += [_library_line(library) for library in libraries]
        lines += [] if blas else ["BLAS: none loaded"]
    else:
        lines.append(f"BLAS: {blas}")
    torch = get("torch")
    torch_text = (f"torch {torch.get('version')} ({torch.get('threads')} threads)"
                  if isinstance(torch, Mapping) else f"torch {torch}")
    lines.append(f"versions: {get('python')}, numpy {get('numpy')}, scipy {get('scipy')}, "
                 f"{torch_text}; {get('os')}")
    environment = machine.get("environment")
    settings = (" ".join(f"{name}={value}" for name, value in environment.items())
                if isinstance(environment, Mapping) else "")
    lines.append(f"run: {get('date')}" + (f"; environment {settings}" if settings else ""))
    return [part for line in lines
            for part in textwrap.wrap(line, width, subsequent_indent="  ",
                                      break_on_hyphens=False) or [line]]


# ---- rows as JSON ----

def row_to_dict(row: Row) -> dict[str, object]:
    """One table row as plain JSON values (numbers as floats)."""
    return {"key": row.key, "title": row.title, "unit": row.unit,
            "values": {name: float(value) for name, value in row.values.items()},
            "ratios": {name: float(value) for name, value in row.ratios.items()},
            "label": row.label, "note": row.note,
            "targets": [{"name": target.name, "value": float(target.value),
                         "minimum": float(target.minimum)} for target in row.targets]}


def _text(data: Mapping[str, object], name: str, default: str | None = None) -> str:
    value = data.get(name, default)
    if not isinstance(value, str):
        raise ValueError(f"{name!r} must be a string, got {value!r}")
    return value


def _number(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{what} must be a number, got {value!r}")
    return float(value)


def _numbers(data: Mapping[str, object], name: str) -> dict[str, float]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise ValueError(f"{name!r} must be an object of numbers, got {value!r}")
    return {str(key): _number(item, f"{name}[{key!r}]") for key, item in value.items()}


def row_from_dict(data: Mapping[str, object]) -> Row:
    """The Row that row_to_dict gave `data`; ValueError naming the field that is wrong."""
    targets = data.get("targets", [])
    if not isinstance(targets, list) or not all(isinstance(t, dict) for t in targets):
        raise ValueError(f"'targets' must be a list of objects, got {targets!r}")
    return Row(_text(data, "key"), _text(data, "title"), _text(data, "unit"),
               _numbers(data, "values"), ratios=_numbers(data, "ratios"),
               label=_text(data, "label", ""), note=_text(data, "note", ""),
               targets=[Target(_text(target, "name"), _number(target.get("value"), "value"),
                               _number(target.get("minimum"), "minimum"))
                        for target in targets])


# ---- files ----

@dataclass
class Run:
    """A bench run read back from its JSON file."""
    path: str
    machine: dict[str, object]
    scale: str
    rows: list[Row]


def check_writable(path: str) -> None:
    """Fail before the bench runs (which takes a while) if `path` cannot be written."""
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise BenchFileError(f"cannot write --json {path}: it is a directory")
    if not os.path.isdir(folder):
        raise BenchFileError(f"cannot write --json {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise BenchFileError(f"cannot write --json {path}: folder {folder} is not writable")


def write_run(path: str, machine: Mapping[str, object], scale: str, rows: Sequence[Row]) -> None:
    """Write the run to `path` atomically: a reader finds the old file or the whole new one."""
    from ..io import write_atomically
    document = {FORMAT_KEY: FORMAT_VERSION, "machine": dict(machine), "scale": scale,
                "rows": [row_to_dict(row) for row in rows]}
    text = json.dumps(document, indent=1) + "\n"
    try:
        write_atomically(path, lambda file: file.write(text.encode("utf-8")))
    except OSError as error:
        raise BenchFileError(f"cannot write --json {path}: {error.strerror or error}") from error


def read_run(path: str) -> Run:
    """The run saved in `path` by --json; BenchFileError naming the file and what is wrong."""
    try:
        with open(path, "rb") as file:
            data = file.read()
    except OSError as error:
        raise BenchFileError(f"cannot read {path}: {error.strerror or error}") from error
    try:
        document = json.loads(data)
    except ValueError as error:  # JSONDecodeError, or bytes that are not UTF-8
        raise BenchFileError(f"{path} is not JSON ({error}); "
                             f"write a bench file with `bpcore bench --json PATH`") from error
    if not isinstance(document, dict) or FORMAT_KEY not in document:
        found = ("no" if isinstance(document, dict)
                 else f"its top is a JSON {type(document).__name__}, not an object with a")
        raise BenchFileError(f"{path} is not a bpcore bench file: {found} {FORMAT_KEY!r} key; "
                             f"write one with `bpcore bench --json PATH`")
    if document[FORMAT_KEY] != FORMAT_VERSION:
        raise BenchFileError(f"{path} is a bpcore bench file of format "
                             f"{document[FORMAT_KEY]!r}; this bpcore reads format "
                             f"{FORMAT_VERSION}")
    machine, scale, rows = (document.get(name) for name in ("machine", "scale", "rows"))
    if not isinstance(machine, dict) or not isinstance(scale, str) or not isinstance(rows, list):
        raise BenchFileError(f"{path} is damaged: it needs a 'machine' object, a 'scale' string "
                             f"and a 'rows' list")
    loaded = []
    for index, row in enumerate(rows):
        try:
            if not isinstance(row, dict):
                raise ValueError(f"it must be an object, got {row!r}")
            loaded.append(row_from_dict(row))
        except ValueError as error:
            raise BenchFileError(f"{path} is damaged: row {index}: {error}") from error
    return Run(path, machine, scale, loaded)


# ---- two runs side by side ----

def _speedup(a: Row, b: Row) -> str:
    """A's compiled value over B's: above 1, B is faster (or, in MiB, smaller)."""
    mine, theirs = a.values.get("compiled"), b.values.get("compiled")
    if mine is None or theirs is None or not theirs > 0 or not math.isfinite(mine / theirs):
        return "-"
    return format_ratio(mine / theirs)


def _short_ratio(ratio: float) -> str:
    """About three digits, as "0.97", "59.2", "237", at most four characters ("2e4" from
    10,000 on): two of these share a cell."""
    if 9999.5 <= ratio < math.inf:
        mantissa, exponent = f"{ratio:.0e}".split("e")
        return f"{mantissa}e{int(exponent)}"
    # the format by the rounded value: 9.996 is "10.0", not "10.00"
    if round(ratio, 2) < 10:
        return f"{ratio:.2f}"
    return f"{ratio:.1f}" if round(ratio, 1) < 100 else f"{ratio:.0f}"


def _ratio_pair(a: Row, b: Row, name: str | None) -> str:
    if name is None or name not in a.ratios or name not in b.ratios:
        return "-"
    return f"{_short_ratio(a.ratios[name])}/{_short_ratio(b.ratios[name])}"


def _other(a: Row, b: Row) -> str | None:
    """The other library (fann, sklearn) both rows compare with, if any."""
    return next((name for name in a.ratios if name not in IMPLEMENTATIONS and name in b.ratios),
                None)


def format_comparison(a: Run, b: Run, headers: bool = True) -> str:
    """Two runs' rows, matched by key: each run's compiled value, B's speedup over A (A's value
    over B's) and each ratio both runs measured; then the rows only one of them has."""
    lines = []
    if headers:
        for letter, run in (("A", a), ("B", b)):
            lines.append(f"{letter}: {run.path} (scale {run.scale})")
            lines += ["  " + line for line in header_lines(run.machine, TABLE_WIDTH - 2)]
    if a.scale != b.scale:
        lines.append(f"note: A ran at scale {a.scale} and B at {b.scale}: the same case has "
                     f"other sizes in each, so the times do not compare")
    lines += textwrap.wrap("A, B: each run's compiled time (or MiB); speedup: A's over B's "
                           "(above 1: B is faster, or uses less memory); numpy, "
                           "torch, jax, floor, other: A's/B's ratio of their time to the run's "
                           "own compiled time (floor: the efficiency)", TABLE_WIDTH)
    in_b = {row.key: row for row in b.rows}
    pairs = [(row, in_b[row.key]) for row in a.rows if row.key in in_b]
    # the peers' and the floor's ratios that both runs measured somewhere (not the fallback's:
    # the table must fit TABLE_WIDTH, and the fallback is bpcore itself)
    names = [name for name in IMPLEMENTATIONS[2:]
             if any(name in row_a.ratios and name in row_b.ratios for row_a, row_b in pairs)]
    table = [["case", "unit", "A", "B", "speedup", *names, "other"]]
    for row_a, row_b in pairs:
        other = _other(row_a, row_b)
        table.append([row_a.key, row_a.unit, format_value(row_a.values.get("compiled"),
                                                          row_a.unit),
                      format_value(row_b.values.get("compiled"), row_b.unit),
                      _speedup(row_a, row_b),
                      *(_ratio_pair(row_a, row_b, name) for name in names),
                      (f"{other} " + _ratio_pair(row_a, row_b, other)) if other else "-"])
    widths = [max(len(cells[column]) for cells in table) for column in range(len(table[0]))]
    # the cases' names give way where the other columns leave less than TABLE_WIDTH (ratios
    # of 1,000 and more, a long other library's name): their middle, so that the ends that
    # tell them apart ("..._f32", "..._f64") stay
    widths[0] = min(widths[0], max(9, TABLE_WIDTH - sum(widths[1:]) - len(widths) + 1))
    for number, cells in enumerate(table):
        case = cells[0]
        if len(case) > widths[0]:
            tail = (widths[0] - 3) // 2
            case = case[:widths[0] - 3 - tail] + "..." + case[len(case) - tail:]
        lines.append((case.ljust(widths[0]) + " " + cells[1].ljust(widths[1]) + " "
                      + " ".join(cell.rjust(width) for cell, width in zip(cells[2:], widths[2:]))
                      ).rstrip())
        if number == 0:
            lines.append("-" * len(lines[-1]))
    keys_a = {row.key for row in a.rows}
    for letter, run, others in (("A", a, in_b), ("B", b, keys_a)):
        alone = [row.key for row in run.rows if row.key not in others]
        if alone:
            lines += textwrap.wrap(f"only in {letter} ({run.path}): {', '.join(alone)}",
                                   TABLE_WIDTH, subsequent_indent="  ", break_on_hyphens=False)
    return "\n".join(lines)


def compare(path_a: str, path_b: str, headers: bool = True) -> str:
    """`bpcore bench --compare A B`: read both files and format their comparison."""
    return format_comparison(read_run(path_a), read_run(path_b), headers=headers)
