"""The two kernel modules, compiled `bpcore._kernels` and NumPy `bpcore._fallback`, held to the
one table of their signatures: the `Kernels` Protocol in bpcore/_backend.py.

Both modules must have the table's functions with its parameter names in its order (and so must
the type stub bpcore/_kernels.pyi), the constants of bpcore/_spec.py, and the same error types:
each argument of a valid call is spoiled in many ways generated from its kind in the table, one
argument at a time, and both modules must raise the same exception type or return alike.
These tests compare the two modules directly, whichever backend the autouse fixture chose.
"""
import ast
import inspect
import json
import subprocess
import sys
import typing
from pathlib import Path

import numpy as np
import pytest

from bpcore import _backend, _fallback, _spec
from bpcore._layout import Floats, Indices, parameter_count, unit_count
from bpcore.optim import OptimizerState

STUB = Path(_backend.__file__).with_name("_kernels.pyi")
# what the compiled module has beyond the table: BLAS is loaded by the compiled kernels alone,
# which alone copy W^T for BLAS's sake and have a product kernel of their own
COMPILED_ONLY = {"blas_kernels", "blas_loaded", "cpu_runs", "forward_copies", "matrix_product",
                 "own_products_run", "own_products_taken"}

SIZES = [3, 5, 2]
N = 4  # samples
N_PARAMS = parameter_count(SIZES)
N_UNITS = unit_count(SIZES)
SGD = _spec.OPTIMIZERS["sgd"]
HUGE = np.iinfo(np.intp).max


@pytest.fixture(scope="module")
def compiled():
    # the SIMD variant BPCORE_SIMD chooses, so that CI's runs under each variant check each
    try:
        return _backend.compiled()
    except ImportError as error:
        pytest.skip(f"the compiled kernels do not import: {error}")


def table():
    """Function name -> its parameters (without self) in the Protocol."""
    return {name: list(inspect.signature(value).parameters.values())[1:]
            for name, value in vars(_backend.Kernels).items()
            if inspect.isfunction(value) and not name.startswith("_")}


def public_functions(module):
    return {name for name, value in vars(module).items()
            if not name.startswith("_") and callable(value) and not isinstance(value, type)
            and getattr(value, "__module__", None) == module.__name__}


def stub_tree():
    return ast.parse(STUB.read_text(encoding="utf-8"))


# ---- 1. signatures and constants ------------------------------------------------------------

def test_the_table_lists_the_kernels():
    assert {"forward", "backward", "update", "train_epoch"} <= set(table())


def described(parameters):
    return [(p.name, p.kind, p.default) for p in parameters]


def test_both_modules_have_the_tables_parameters_in_its_order(compiled):
    expected = {name: described(parameters) for name, parameters in table().items()}
    mismatches = []
    for module in (compiled, _fallback):
        for name, parameters in expected.items():
            function = getattr(module, name, None)
            got = None if function is None else described(
                inspect.signature(function).parameters.values())
            if got != parameters:
                mismatches.append(f"{module.__name__}.{name}: {got}, the table says {parameters}")
    assert mismatches == []


def test_both_modules_have_exactly_the_tables_functions(compiled):
    assert public_functions(_fallback) == set(table())
    assert public_functions(compiled) - COMPILED_ONLY == set(table())


def test_the_fallback_exports_the_tables_functions():
    # mypy reads a module's __all__ as all it exports: a function missing there makes the
    # fallback no Kernels to `mypy --strict` (_backend.load returns it as one)
    assert set(table()) <= set(_fallback.__all__)


def test_the_stub_declares_the_compiled_modules_functions_with_their_parameters(compiled):
    stubbed = {node.name: [a.arg for a in node.args.posonlyargs + node.args.args
                           + node.args.kwonlyargs]
               for node in stub_tree().body if isinstance(node, ast.FunctionDef)}
    assert set(stubbed) == public_functions(compiled)
    assert set(stubbed) - COMPILED_ONLY == set(table())
    for name, parameters in stubbed.items():
        assert parameters == list(inspect.signature(getattr(compiled, name)).parameters), name


def test_the_stub_declares_the_compiled_modules_constants(compiled):
    declared = {node.target.id for node in stub_tree().body
                if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
                and not node.target.id.startswith("_")}
    constants = {name for name, value in vars(compiled).items()
                 if not name.startswith("_") and not callable(value)
                 and not inspect.ismodule(value)}
    assert declared == constants
    assert set(_backend.Kernels.__annotations__) <= declared


def test_both_modules_have_the_constants_of_the_spec(compiled):
    expected = {
        "ACTIVATIONS": _spec.ACTIVATIONS,
        "LOSSES": _spec.LOSSES,
        "OPTIMIZERS": {name: spec.code for name, spec in _spec.OPTIMIZERS.items()},
        "LIMITS": {"MAX_WIDTH": _spec.MAX_WIDTH, "MAX_LAYERS": _spec.MAX_LAYERS,
                   "LEAKY_SLOPE": _spec.LEAKY_SLOPE,
                   "ROW_SUM_TOLERANCE": _spec.ROW_SUM_TOLERANCE},
        "OPTIMIZER_SHAPES": {spec.code: (len(spec.settings), len(spec.state))
                             for spec in _spec.OPTIMIZERS.values()},
    }
    for module in (compiled, _fallback):
        for name, value in expected.items():
            assert getattr(module, name, None) == value, f"{module.__name__}.{name}"


# ---- 2. error types: a battery of spoiled calls ----------------------------------------------

# valid settings of each optimizer in bpcore/_spec.py (a new optimizer needs an entry)
SETTINGS = {"sgd": [0.1, 0.5, 1.0, 0.01],  # lr, momentum, nesterov, weight_decay
            "adam": [0.01, 0.9, 0.999, 1e-8, 0.01, 0.0, 0.0, 0.0],  # ..., decoupled, eps_hat, step
            # lr, eta_minus, eta_plus, step_min, step_max, weight_decay, step
            "rprop": [0.1, 0.5, 1.2, 1e-6, 50.0, 0.01, 0.0]}


def valid_arguments(dtype=np.float64, optimizer="sgd"):
    """Consistent arguments for every kernel: a [3, 5, 2] sigmoid + mse network, N samples,
    `optimizer` (SGD unless told). Fresh arrays each call (the kernels write into some), the
    same values each time."""
    spec = _spec.OPTIMIZERS[optimizer]
    rng = np.random.default_rng(12)
    normal = lambda *shape: rng.normal(size=shape).astype(dtype)  # noqa: E731
    uniform = lambda *shape: rng.uniform(size=shape).astype(dtype)  # noqa: E731
    return {
        "params": normal(N_PARAMS) * dtype(0.5), "grads": normal(N_PARAMS),
        "state": np.zeros(N_PARAMS * len(spec.state), dtype),
        "sizes": np.array(SIZES, dtype=np.intp),
        "activations": np.full(len(SIZES) - 1, _spec.ACTIVATIONS["sigmoid"], dtype=np.intp),
        "loss": _spec.LOSSES["mse"], "optimizer": spec.code,
        "settings": np.array(SETTINGS[optimizer], dtype=np.float64),
        # the optimizer's scalar state: SGD has none, Adam and Rprop their step count
        "scalars": OptimizerState(optimizer, N_PARAMS, np.dtype(dtype)).scalars + 3.0,
        "X": normal(N, SIZES[0]), "Y": uniform(N, SIZES[-1]), "A": uniform(N * N_UNITS),
        "D": normal(N * N_UNITS), "Z": normal(N, SIZES[-1]), "A_out": uniform(N, SIZES[-1]),
        "order": np.arange(N, dtype=np.intp)[::-1].copy(), "batch_size": 3,
        "summed_penalty": True, "records": np.zeros((-(-N // 3), 3)), "clipped_loss": True,
        "weights": uniform(N) + dtype(0.5),
        "x": normal(SIZES[0]), "y": uniform(SIZES[-1]), "out": np.zeros(SIZES[-1], dtype),
        "n": N, "seed": 2**62 + 12345,
    }


def read_only(array):
    array = array.copy()
    array.flags.writeable = False
    return array


def with_entry(index, value):
    def spoil(array):
        array = array.copy()
        array[index] = value
        return array
    return spoil


def float_spoils(ndim, empty=False):
    """(label, function of the valid array) for a floating buffer of `ndim` dimensions (with
    no entries to set to NaN or infinity when `empty`)."""
    spoils = [
        ("float32", lambda a: a.astype(np.float32)),
        ("float16", lambda a: a.astype(np.float16)),
        ("int64", lambda a: a.astype(np.int64)),
        ("complex128", lambda a: a.astype(np.complex128)),
        ("a list", lambda a: a.tolist()),
        ("a float", lambda a: 1.0),
        ("a 0-d array", lambda a: np.array(1.0)),
        ("read-only", read_only),
    ] + ([] if empty else [
        ("NaN first", with_entry((0,) * ndim, np.nan)),
        ("infinity last", with_entry((-1,) * ndim, np.inf)),
    ])
    if ndim == 1:
        spoils += [
            ("2-D, one row", lambda a: a.reshape(1, -1)),
            ("2-D, one column", lambda a: a.reshape(-1, 1)),
            ("not contiguous", lambda a: np.repeat(a, 2)[::2]),
            ("one entry short", lambda a: a[:-1].copy()),
            ("one entry more", lambda a: np.append(a, a[:1])),
            ("empty", lambda a: a[:0].copy()),
        ]
    else:
        spoils += [
            ("1-D", lambda a: a.ravel()),
            ("3-D", lambda a: a[np.newaxis]),
            ("not contiguous", lambda a: np.repeat(a, 2, axis=1)[:, ::2]),
            ("Fortran order", lambda a: np.asfortranarray(a)),
            ("one row short", lambda a: a[:-1].copy()),
            ("one row more", lambda a: np.concatenate([a, a[:1]])),
            ("no rows", lambda a: a[:0].copy()),
            ("one column short", lambda a: a[:, :-1].copy()),
            ("one column more", lambda a: np.concatenate([a, a[:, :1]], axis=1)),
        ]
    return spoils


INDEX_SPOILS = [
    ("int32", lambda a: a.astype(np.int32)),
    ("uint64", lambda a: a.astype(np.uint64)),
    ("float64", lambda a: a.astype(np.float64)),
    ("a list", lambda a: a.tolist()),
    ("an int", lambda a: int(a[0])),
    ("2-D", lambda a: a.reshape(1, -1)),
    ("not contiguous", lambda a: np.repeat(a, 2)[::2]),
    ("read-only", read_only),
    ("one entry short", lambda a: a[:-1].copy()),
    ("one entry more", lambda a: np.append(a, a[-1:])),
    ("empty", lambda a: a[:0].copy()),
    ("very long", lambda a: np.ones(_spec.MAX_LAYERS + 2, dtype=np.intp)),
] + [(f"{value} {where}", with_entry(index, value))
     for value in (0, -1, _spec.ACTIVATIONS["softmax"], _spec.ACTIVATIONS["exp"], 99, HUGE,
                   -HUGE - 1)
     for where, index in (("first", 0), ("last", -1))]

INT_SPOILS = [(repr(value), lambda _, value=value: value) for value in (
    1.0, 1.5, np.float64(0.0), "0", b"0", [0], np.array([0]), -1, 1, 2, 99, np.int32(0),
    True, HUGE, -HUGE - 1, 2**63, -2**63 - 1, 2**100)]


BOOL_SPOILS = [(repr(value), lambda _, value=value: value) for value in (
    0, 1, 2.5, np.bool_(False), np.float64(1.0), "", "no", None, [])]


def spoils_of(function, parameter, value):
    """The spoils of one argument, from its kind in the table."""
    kind = typing.get_type_hints(getattr(_backend.Kernels, function))[parameter]
    if kind == Floats or kind == Floats | None:
        return float_spoils(value.ndim, empty=value.size == 0)
    if kind is bool:  # read as a truth value by both modules
        return BOOL_SPOILS
    if kind == Indices:
        return INDEX_SPOILS
    assert kind is int, (function, parameter, kind)
    return INT_SPOILS


def describe(result):
    """A return value as both modules should agree on it (not the numbers: other tests hold
    the two to the same numbers, here only the kind of outcome matters)."""
    if isinstance(result, tuple):
        return tuple(describe(part) for part in result)
    if isinstance(result, (float, np.floating)):
        return "finite float" if np.isfinite(result) else "non-finite float"
    if isinstance(result, np.ndarray):
        return f"array {result.shape} {result.dtype}"
    return result


def outcome(module, function, spoil=None, parameter=None, dtype=np.float64, optimizer="sgd"):
    """(exception type, message) or ("returned", result) of one call on fresh arguments."""
    arguments = valid_arguments(dtype, optimizer)
    if parameter is not None:
        arguments[parameter] = spoil(arguments[parameter])
    names = [p.name for p in table()[function]]
    try:
        with np.errstate(all="ignore"):  # NaN spoils: the compiled loops are as silent
            result = getattr(module, function)(*[arguments[name] for name in names])
    except Exception as error:  # noqa: BLE001 -- the type is what is compared
        return type(error).__name__, str(error)
    return "returned", describe(result)


def battery(function):
    """(parameter, label, spoil) of every one-argument spoil of `function`'s valid call."""
    arguments = valid_arguments()
    return [(p.name, label, spoil) for p in table()[function]
            for label, spoil in spoils_of(function, p.name, arguments[p.name])]


@pytest.mark.parametrize("optimizer", sorted(_spec.OPTIMIZERS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("function", sorted(table()))
def test_the_valid_call_succeeds_alike_in_both_modules(compiled, function, dtype, optimizer):
    results = [outcome(module, function, dtype=dtype, optimizer=optimizer)
               for module in (compiled, _fallback)]
    assert results[0][0] == "returned", results[0]
    assert results[1] == results[0]


@pytest.mark.parametrize("function", sorted(table()))
def test_both_modules_refuse_each_spoiled_argument_alike(compiled, function):
    cases = battery(function)
    mismatches = []
    for parameter, label, spoil in cases:
        results = [outcome(module, function, spoil, parameter) for module in (compiled, _fallback)]
        if results[0][0] != results[1][0] or (
                results[0][0] == "returned" and results[0][1] != results[1][1]):
            mismatches.append(f"{function}({parameter}: {label}): compiled {results[0]}, "
                              f"fallback {results[1]}")
    assert mismatches == [], "\n".join(mismatches)


# None for an array: the compiled wrappers take it as an empty buffer (typed memoryviews) or
# read it as an array (the one-sample wrappers' `cnp.ndarray` arguments), so it runs in a
# child process, where a crash cannot take pytest down.
NONE_SCRIPT = """
import json, runpy, sys
import numpy as np
from bpcore import _backend
compiled = _backend.compiled()  # the SIMD variant BPCORE_SIMD chooses
tests = runpy.run_path(sys.argv[1])
for function, parameter in json.loads(sys.argv[2]):
    print(json.dumps([function, parameter, "started"]), flush=True)
    result = tests["outcome"](compiled, function, lambda _: None, parameter)
    print(json.dumps([function, parameter, list(result)]), flush=True)
"""


def test_both_modules_refuse_none_for_an_array(compiled, tmp_path):
    arguments = valid_arguments()
    cases = [(function, p.name) for function, parameters in table().items()
             for p in parameters if isinstance(arguments[p.name], np.ndarray)]
    child = subprocess.run([sys.executable, "-c", NONE_SCRIPT, __file__, json.dumps(cases)],
                           capture_output=True, text=True, cwd=tmp_path, timeout=120)
    lines = [json.loads(line) for line in child.stdout.splitlines()]
    assert child.returncode == 0, f"the compiled module crashed at {lines[-1:]}: {child.stderr}"
    compiled_results = {(function, parameter): tuple(result)
                        for function, parameter, result in lines if result != "started"}
    mismatches = []
    for function, parameter in cases:
        ours = outcome(_fallback, function, lambda _: None, parameter)
        theirs = compiled_results[function, parameter]
        if ours[0] != theirs[0]:
            mismatches.append(f"{function}({parameter}: None): compiled {theirs}, "
                              f"fallback {ours}")
    assert mismatches == [], "\n".join(mismatches)
