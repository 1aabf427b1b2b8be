"""`bpcore bench`: time the compiled kernels against the fallback, plain NumPy and PyTorch.

Every case runs each implementation in this one process, from the same starting weights and
on the same data, and prints one table of times and ratios (the time of the other
implementation divided by the compiled one's: above 1 means bpcore's compiled kernels win).
The NumPy yardstick is `bpcore.bench.numpy_baseline.NumpyNetwork` (vectorised per batch, as
a competent NumPy user would write it); PyTorch (CPU) and JAX (CPU; `bpcore.bench.jax_peer`:
a whole epoch under one jit) join when they are installed. The "floor" column is what this
machine needs for work the case cannot skip, measured in the same run (`bpcore.bench.floors`):
the products alone in the BLAS's fastest layouts (mini-batch rows), the plain C loop or the
least memory traffic (online rows), a bare compiled call (predict); floor/compiled is the
efficiency, 1 at the floor. bpcore's two
columns run the public API on the kernels `bpcore._backend.use_backend` chooses for a while.

Some rows compare against another library, in the "other" column: FANN's incremental
training (the C library libdoublefann, Debian package libfann-dev, called through ctypes with
one C call per epoch, on the same network, starting weights and data) and scikit-learn's own
MLPClassifier against `bpcore.sklearn`'s given the same parameters (`bpcore.bench.estimators`:
fit per solver on the digits and a synthetic set, predict latency); the FANN binding is
`bpcore.bench.fann`. Each is skipped, with a note, when the library is not installed. The
optimizer-step rows (`bpcore.bench.optimizers`) time one step of SGD, SGD with Nesterov
momentum, Adam and Rprop against NumPy and torch.optim; the quality rows
(`bpcore.bench.quality`, with scikit-learn) compare the recommended recipe's test score and
fit time with scikit-learn's MLPs' defaults.

Run `python -m bpcore bench` (about a minute and a half with PyTorch and JAX installed) or
`--full` for longer, steadier timings (about 7 minutes).
The table (`bpcore.bench.table`) fits 120 columns; `--wide` shows every time and measurement,
and `--targets` whether each speed target (TARGETS, and the two-threads and other-library rows)
is met. The output opens with the machine it ran on (`bpcore.bench.record`: CPU, SIMD
variant, BLAS and its kernel, threads, compiler flags); `--json PATH` saves the table with
that header, and `--compare A.json B.json` compares two saved runs (two machines or commits).
OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, when set, override OpenBLAS's own choices for NumPy's
BLAS and SciPy's (bpcore's): unset both in the command that runs the benchmark to time the
libraries as OpenBLAS configures itself on the machine (a note says when it is set).
"""
from __future__ import annotations

import argparse
import contextlib
import ctypes
import math
import os
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from .. import _backend
from .._backend import use_backend
from .._layout import Floats
from ..network import Network
from . import floors, jax_peer
from .estimators import estimator_rows
from .fann import Fann, connection_count, fann_library
from .numpy_baseline import NumpyNetwork
from .optimizers import step_rows, torch_epoch
from .quality import DATA_SETS, quality_rows
from .table import IMPLEMENTATIONS, Row, Target, format_table, format_value

__all__ = ["IMPLEMENTATIONS", "Case", "Row", "Target", "cases", "collect", "fann_cases",
           "format_table", "main", "notes", "training_flops"]

# bpcore's own columns, each with the `use_backend` choice it runs on
BACKENDS = {"compiled": "cython", "fallback": "python"}

@dataclass
class Case:
    """One training or prediction workload."""
    key: str
    title: str
    sizes: tuple[int, ...]
    activation: str
    output: str
    loss: str
    dtype: str
    batch_size: int
    n_samples: int
    lr: float = 0.01


def cases(scale: str) -> list[Case]:
    """The workloads of the issue; `scale` "smoke" shrinks them for the tests."""
    smoke = scale == "smoke"
    full = scale == "full"
    mid = (16, 32, 16, 10) if smoke else (64, 128, 64, 10)
    large = (32, 64, 64, 10) if smoke else (784, 1024, 1024, 10)
    n_small = 40 if smoke else (4000 if full else 1000)
    n_mid = 64 if smoke else (4096 if full else 2048)
    n_large = 64 if smoke else (4096 if full else 1024)
    return [
        Case("tiny_online", "tiny online 4-4-4-1 sigmoid/mse, batch 1 (f64)", (4, 4, 4, 1),
             "sigmoid", "sigmoid", "mse", "float64", 1, n_small, lr=0.1),
        Case("mid_online", f"mid online {_dashes(mid)} relu/CE, batch 1 (f64)", mid, "relu",
             "softmax", "cross_entropy", "float64", 1, n_small),
        Case("mid_batch_f32", f"mid mini-batch {_dashes(mid)} relu/CE, batch 32 (f32)", mid,
             "relu", "softmax", "cross_entropy", "float32", 32, n_mid),
        Case("mid_batch_f64", f"mid mini-batch {_dashes(mid)} relu/CE, batch 32 (f64)", mid,
             "relu", "softmax", "cross_entropy", "float64", 32, n_mid),
        Case("large_batch_f32", f"large mini-batch {_dashes(large)} relu/CE, batch 256 (f32)",
             large, "relu", "softmax", "cross_entropy", "float32", 256, n_large),
    ]


def _dashes(sizes: Iterable[int]) -> str:
    return "-".join(str(width) for width in sizes)


def _short_name(case: Case) -> str:
    """The case's title up to its layer sizes, and its dtype: `mid mini-batch (f64)`."""
    name = case.title.split(" " + _dashes(case.sizes))[0]
    return f"{name} ({case.dtype.replace('float', 'f')})"


# ---- data and the four implementations ----

def _data(case: Case, seed: int = 0) -> tuple[Floats, Floats]:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((case.n_samples, case.sizes[0])).astype(case.dtype)
    if case.loss == "cross_entropy":
        labels = rng.integers(0, case.sizes[-1], case.n_samples)
        Y = np.eye(case.sizes[-1], dtype=case.dtype)[labels]
    else:
        Y = rng.uniform(0.0, 1.0, (case.n_samples, case.sizes[-1])).astype(case.dtype)
    return X, Y


def _network(case: Case, seed: int = 1) -> Network:
    return Network(case.sizes, activation=case.activation, output=case.output, loss=case.loss,
                   dtype=case.dtype, seed=seed)


def _have_compiled() -> bool:
    """Whether the compiled kernels are built (else `use_backend("cython")` raises ImportError)."""
    try:
        with use_backend("cython"):
            return True
    except ImportError:
        return False


def _ours(compiled: bool) -> dict[str, str]:
    """bpcore's columns to time, with their `use_backend` choices: the compiled kernels when
    they are built, and the fallback."""
    return dict(BACKENDS) if compiled else {"fallback": BACKENDS["fallback"]}


def _torch() -> ModuleType | None:
    try:
        import torch
        module: ModuleType = torch  # Any when mypy runs without torch installed
        return module
    except ImportError:
        return None


def _torch_model(torch: ModuleType, network: Network) -> Any:
    dtype = torch.float32 if network.dtype == np.float32 else torch.float64
    layers, last = [], len(network.weights) - 1
    for index, (weights, biases) in enumerate(zip(network.weights, network.biases)):
        linear = torch.nn.Linear(weights.shape[1], weights.shape[0], dtype=dtype)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(weights.copy()))
            linear.bias.copy_(torch.from_numpy(biases.copy()))
        layers.append(linear)
        name = network.activation if index < last else network.output
        # a softmax output stays as logits: torch's cross_entropy applies log-softmax itself
        layer = {"sigmoid": torch.nn.Sigmoid, "tanh": torch.nn.Tanh,
                 "relu": torch.nn.ReLU}.get(name)
        if layer is not None:
            layers.append(layer())
    return torch.nn.Sequential(*layers)


def _trainers(case: Case, X: Floats, Y: Floats, compiled: bool,
              peers: bool = True) -> dict[str, Callable[[], object]]:
    """Per implementation: a function training one epoch over (X, Y) per call; `compiled`
    says whether the compiled kernels are built; peers=False leaves out PyTorch and JAX (for
    the memory rows: they allocate outside tracemalloc's view). bpcore's networks start
    every call from the case's starting weights: how fast plain SGD's online step runs
    depends on how many ReLU units fire (it skips the rows of those that do not), and that
    changes as a network trains. The peers' arithmetic is dense, the same whatever the
    weights, so they keep training one model from call to call."""
    trainers: dict[str, Callable[[], object]] = {}
    base = _network(case)
    start = [array.copy() for array in base.weights + base.biases]
    for name, backend in _ours(compiled).items():
        network = _network(case)

        def train(views: list[Floats] = network.weights + network.biases,
                  network: Network = network, backend: str = backend,
                  chosen: object = _backend.load(backend)[0]) -> None:
            for view, value in zip(views, start):  # views of the parameters, made once
                view[...] = value
            if _backend.kernels is chosen:  # no switch to time (4 us: 1% of the tiny row)
                network.fit(X, Y, epochs=1, lr=case.lr, batch_size=case.batch_size)
                return
            with use_backend(backend):
                network.fit(X, Y, epochs=1, lr=case.lr, batch_size=case.batch_size)
        trainers[name] = train
    baseline = NumpyNetwork.like(base)
    rng = np.random.default_rng(2)
    trainers["numpy"] = lambda: baseline.fit(X, Y, epochs=1, lr=case.lr,
                                             batch_size=case.batch_size, rng=rng)
    torch = _torch() if peers else None
    if torch is not None:
        trainers["torch"] = _torch_trainer(torch, case, base, X, Y)
    if peers and jax_peer.available():
        # a whole shuffled epoch under one jit, lax.scan over the batches, online ones too:
        # the fastest JAX (a jitted step called per sample from Python is 2.6x to 55x slower)
        trainers["jax"] = jax_peer.epoch_trainer(case, base, X, Y, shuffle=True)
    return trainers


def _torch_trainer(torch: ModuleType, case: Case, network: Network, X: Floats,
                   Y: Floats) -> Callable[[], float]:
    model = _torch_model(torch, network)
    optimizer = torch.optim.SGD(model.parameters(), lr=case.lr)
    inputs = torch.from_numpy(X)
    if case.loss == "cross_entropy":
        targets = torch.from_numpy(Y.argmax(axis=1))
        loss_fn = torch.nn.functional.cross_entropy
    else:
        targets = torch.from_numpy(Y)
        loss_fn = torch.nn.functional.mse_loss if case.loss == "mse" else (
            torch.nn.functional.binary_cross_entropy)
    return torch_epoch(torch, model, optimizer, inputs, targets, loss_fn, case.batch_size)


# ---- timing ----

def _seconds(function: Callable[[], object], budget: float) -> float:
    """Best time of one call of `function` over a few rounds filling about `budget` seconds."""
    start = time.perf_counter()
    function()  # warm-up (and the first estimate)
    first = time.perf_counter() - start
    rounds = 3 if first < budget / 3 else 1
    best = first if rounds == 1 else math.inf
    for _ in range(rounds if first < budget / 3 else 1):
        count, start = 0, time.perf_counter()
        while True:
            function()
            count += 1
            elapsed = time.perf_counter() - start
            if elapsed >= budget / rounds:
                break
        best = min(best, elapsed / count)
    return best


def _best_times(functions: Mapping[str, Callable[[], object]], budget: float,
                rounds: int = 3) -> dict[str, float]:
    """`_seconds` of each function over `budget` in all; the rounds alternate between the
    functions, so that a slow spell of the shared machine hits every one alike."""
    best = {name: math.inf for name in functions}
    for _ in range(rounds):
        for name, function in functions.items():
            best[name] = min(best[name], _seconds(function, budget / rounds))
    return best


def _peak_memory_mib(function: Callable[[], object]) -> float:
    """Peak memory allocated (through Python and NumPy) while `function` runs, in MiB."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        function()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return max(peak - base, 1) / 2**20


def _ratios(values: Mapping[str, float | None], reference: str = "compiled") -> dict[str, float]:
    mine = values.get(reference)
    return {name: value / mine for name, value in values.items()
            if name != reference and mine and value is not None}


def _training_row(case: Case, budget: float, compiled: bool) -> Row:
    """A case's row: each implementation's seconds per sample of one epoch, and with the
    compiled kernels and the reference loops built, the case's floor, timed in the same
    alternating rounds (`_floor_functions`)."""
    X, Y = _data(case)
    functions = _trainers(case, X, Y, compiled)
    note = ""
    if compiled and floors.reference_module() is not None:
        floor_functions, note = _floor_functions(case, X, Y, budget)
        functions.update(floor_functions)
    values = {name: seconds / case.n_samples
              for name, seconds in _best_times(functions, budget).items()}
    if "plain C loop" in values:  # the mid online row's floor is the bound; the loop a note
        note = note.format(plain=format_value(values.pop("plain C loop"), "s"))
    row = Row(case.key, case.title, "s/sample", values, ratios=_ratios(values),
              label=_short_name(case))
    row.note = note
    return row


def _predict_row(budget: float, compiled: bool) -> Row:
    case = cases("default")[0]
    network = _network(case)
    baseline = NumpyNetwork.like(network)
    x = np.random.default_rng(3).standard_normal(case.sizes[0])
    calls = 200

    def repeat(function: Callable[[Floats], object],
               backend: str | None = None) -> Callable[[], None]:
        # bpcore's columns run on their backend, switched, as the trainers', only where it is
        # not the one in use (no switch to time in the compiled column)
        chosen = _backend.load(backend)[0] if backend is not None else None

        def run() -> None:
            with (contextlib.nullcontext() if backend is None or _backend.kernels is chosen
                  else use_backend(backend)):
                for _ in range(calls):
                    function(x)
        return run
    functions = {name: repeat(network.predict, backend)
                 for name, backend in _ours(compiled).items()}
    functions["numpy"] = repeat(baseline.predict)
    torch = _torch()
    if torch is not None:
        model = _torch_model(torch, network)

        def predict_torch(x: Floats) -> Any:
            with torch.inference_mode():
                return model(torch.from_numpy(x)).numpy()
        functions["torch"] = repeat(predict_torch)
    if jax_peer.available():
        functions["jax"] = repeat(jax_peer.predict_function(network))
    values = {name: seconds / calls for name, seconds in _best_times(functions, budget).items()}
    if compiled and floors.reference_module() is not None:
        values["floor"] = floors.call_floor(budget, _seconds)
    row = Row("predict", "predict latency 4-4-4-1, one sample, public predict", "s/call",
              values, ratios=_ratios(values), label="predict latency 4-4-4-1")
    if "floor" in values:
        row.note = "floor: a bare call of an empty compiled function"
    return row


def _step_row(budget: float, compiled: bool) -> Row:
    """One online SGD step on one sample through the public API: Network.step, the NumPy
    network's step on a (1, n) batch, and a PyTorch forward, backward and optimizer step."""
    case = cases("default")[0]
    rng = np.random.default_rng(4)
    X, Y = rng.standard_normal((64, case.sizes[0])), rng.uniform(size=(64, case.sizes[-1]))
    calls = len(X)

    def steps(step: Callable[[int], object]) -> Callable[[], None]:
        def run() -> None:
            for i in range(calls):
                step(i)
        return run
    functions: dict[str, Callable[[], None]] = {}
    for name, backend in _ours(compiled).items():
        def step_network(network: Network = _network(case), backend: str = backend) -> None:
            with use_backend(backend):  # around the steps: time them, not the switch
                for i in range(calls):
                    network.step(X[i], Y[i], lr=case.lr)
        functions[name] = step_network
    baseline = NumpyNetwork.like(_network(case))
    functions["numpy"] = steps(lambda i: baseline.step(X[i:i + 1], Y[i:i + 1], case.lr))
    torch = _torch()
    if torch is not None:
        model = _torch_model(torch, _network(case))
        optimizer = torch.optim.SGD(model.parameters(), lr=case.lr)
        inputs, targets = torch.from_numpy(X), torch.from_numpy(Y)

        def step_torch(i: int) -> float:
            optimizer.zero_grad(set_to_none=True)
            loss = torch.nn.functional.mse_loss(model(inputs[i:i + 1]), targets[i:i + 1])
            loss.backward()
            optimizer.step()
            result: float = loss.item()
            return result
        functions["torch"] = steps(step_torch)
    values = {name: seconds / calls for name, seconds in _best_times(functions, budget).items()}
    return Row("step", "step latency 4-4-4-1, one sample, public step", "s/call", values,
               ratios=_ratios(values), label="step latency 4-4-4-1")


THREAD_EPOCHS = 10  # per network and run in the two-threads row


def _threads_row(case: Case, budget: float, compiled: bool) -> Row:
    """Two networks trained at once in two threads versus one after the other.

    Each network trains THREAD_EPOCHS epochs per run, so that a run is a training job, not a
    few milliseconds dominated by starting threads; serial and threaded runs alternate, so a
    slow spell of the shared machine hits both."""
    X, Y = _data(case)
    epochs = 1 if case.n_samples < 100 else THREAD_EPOCHS  # smoke: one epoch
    values, serial_over_threads = {}, {}
    # the NumPy networks run on no kernels: no switch for them
    implementations: dict[str, str | None] = {"compiled": BACKENDS["compiled"], "numpy": None}
    if not compiled:
        del implementations["compiled"]
    networks: list[NumpyNetwork] | list[Network]
    fits: list[Callable[..., object]]
    for name, backend in implementations.items():
        if name == "numpy":
            networks = [NumpyNetwork.like(_network(case, seed)) for seed in (1, 2)]
            fits = [lambda n=n, r=np.random.default_rng(seed): n.fit(
                X, Y, epochs=epochs, lr=case.lr, batch_size=case.batch_size, rng=r)
                for seed, n in enumerate(networks)]
        else:
            networks = [_network(case, seed) for seed in (1, 2)]
            fits = [lambda n=n: n.fit(X, Y, epochs=epochs, lr=case.lr,
                                      batch_size=case.batch_size) for n in networks]

        def serial() -> None:
            for fit in fits:
                fit()

        def threaded() -> None:
            threads = [threading.Thread(target=fit) for fit in fits]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        with use_backend(backend) if backend else contextlib.nullcontext():
            times = _best_times({"serial": serial, "threaded": threaded}, budget)
        serial_time, threaded_time = times["serial"], times["threaded"]
        values[name] = threaded_time / (2 * epochs * case.n_samples)
        serial_over_threads[name] = serial_time / threaded_time
    runs = f"{epochs} epoch{'s' if epochs > 1 else ''}"
    row = Row("two_threads", f"two threads vs serial, {runs} each, {case.title}",
              "s/sample", values, ratios=_ratios(values),
              label=f"two threads vs serial ({runs}), {_short_name(case)}")
    row.note = "serial/2 threads " + " ".join(
        f"{name} {ratio:.2f}x" for name, ratio in serial_over_threads.items())
    row.targets.append(Target("serial/2 threads (compiled)", serial_over_threads.get(
        "compiled", serial_over_threads["numpy"]), 1.7))
    return row


def _memory_row(case: Case, compiled: bool) -> Row:
    X, Y = _data(case)
    values = {}
    for name, train in _trainers(case, X, Y, compiled, peers=False).items():
        values[name] = _peak_memory_mib(train)
    return Row(f"memory_{case.key}", f"peak extra memory of fit, {case.title}", "MiB",
               values, ratios=_ratios(values),
               label=f"peak extra memory of fit, {_short_name(case)}")


def _floor_functions(case: Case, X: Floats, Y: Floats,
                     budget: float) -> tuple[dict[str, Callable[[], object]], str]:
    """The case's floor (bpcore.bench.floors) as a call of one epoch's worth ("floor"; for
    the mid online row also the plain C loop, "plain C loop"), to time beside the row's
    implementations, and what the floor is, for the note (with a {plain} field for the
    loop's time where there is one)."""
    if case.batch_size > 1:
        epoch, ours = floors.minibatch_epoch(case, budget / 2, _seconds)
        return {"floor": epoch}, (f"floor: the products alone in their fastest layouts "
                                  f"({format_value(ours, 's')} in bpcore's)")
    if case.key == "tiny_online":
        return {"floor": floors.online_epoch(case, X, Y, _network)}, "floor: the plain C loop"
    return ({"floor": floors.bound_passes(case),
             "plain C loop": floors.online_epoch(case, X, Y, _network)},
            "floor: one read and one read-write pass over the parameters (the plain C loop "
            "{plain})")


# ---- other libraries: FANN (through ctypes) and scikit-learn ----

def fann_cases(scale: str) -> list[Case]:
    """The FANN comparisons: online training of sigmoid/MSE networks in float64."""
    smoke, full = scale == "smoke", scale == "full"
    mid = (16, 32, 16, 10) if smoke else (64, 128, 64, 10)
    return [
        Case("fann_tiny", "vs FANN incremental: online 4-4-4-1 sigmoid/mse (f64)", (4, 4, 4, 1),
             "sigmoid", "sigmoid", "mse", "float64", 1,
             40 if smoke else (16000 if full else 4000), lr=0.1),
        Case("fann_mid", f"vs FANN incremental: online {_dashes(mid)} sigmoid/mse (f64)", mid,
             "sigmoid", "sigmoid", "mse", "float64", 1,
             32 if smoke else (4096 if full else 1024), lr=0.1),
    ]


def _fann_row(case: Case, budget: float, compiled: bool, lib: ctypes.CDLL) -> Row:
    """Seconds per sample of one online epoch: FANN's fann_train_epoch against Network.fit,
    both in the rows' order (shuffle=False), so they do the same arithmetic."""
    X, Y = _data(case)
    network = _network(case)
    fann = Fann(lib, network, X, Y, case.lr)
    reference = "compiled" if compiled else "fallback"

    def train_bpcore() -> None:
        with use_backend(BACKENDS[reference]):
            network.fit(X, Y, epochs=1, lr=case.lr, batch_size=1, shuffle=False)
    values = {name: seconds / case.n_samples for name, seconds in _best_times(
        {reference: train_bpcore, "fann": fann.train_epoch}, budget).items()}
    row = Row(case.key, case.title, "s/sample", values, ratios=_ratios(values, reference))
    connections = connection_count(case.sizes)
    row.note = (f"{connections} connections: FANN "
                f"{format_value(values['fann'] / connections, 's')}/conn, bpcore "
                f"{format_value(values[reference] / connections, 's')}/conn")
    row.targets.append(Target(f"fann/{reference}", row.ratios.get("fann", float("nan")), 1.0))
    return row


def _sklearn() -> ModuleType | None:
    try:
        import sklearn.neural_network
        module: ModuleType = sklearn.neural_network
        return module
    except ImportError:
        return None


def notes() -> list[str]:
    """One line per comparison skipped because its library is missing, and one when
    OPENBLAS_CORETYPE chooses OpenBLAS's kernels."""
    lines = []
    coretype = os.environ.get("OPENBLAS_CORETYPE")
    if coretype:
        # e.g. Haswell's on an AVX-512 CPU: the mid mini-batch rows took 2.5 times as long
        # as with OpenBLAS's own choice on an EPYC Zen 5, and JAX (its own GEMM) led them
        lines.append(f"note: OPENBLAS_CORETYPE={coretype} chooses the kernels of NumPy's and "
                     f"SciPy's OpenBLAS (bpcore's BLAS);")
        lines.append("  the rows bound by matrix products time those, not OpenBLAS's own choice "
                     "for this CPU")
    if fann_library() is None:
        lines.append("note: FANN (libdoublefann, Debian package libfann-dev) is not installed; "
                     "the FANN comparison rows are skipped")
    if _sklearn() is None:
        lines.append("note: scikit-learn is not installed; the scikit-learn comparison rows "
                     "(MLPClassifier speed, the recipe's quality) are skipped")
    return lines


def training_flops(sizes: Sequence[int]) -> int:
    """Floating-point operations of one sample's training step, a multiply-add counting two:
    the products W a (every layer), W^T delta (every layer but the first) and delta a^T."""
    products = [n_in * n_out for n_in, n_out in zip(sizes, sizes[1:])]
    return 2 * (2 * sum(products) + sum(products[1:]))


# row key: the least efficiency, floor/compiled time (predict: a third, at most 3x a bare call)
EFFICIENCY_TARGETS = {"mid_batch_f32": 0.8, "mid_batch_f64": 0.8, "large_batch_f32": 0.9,
                      "mid_online": 0.7, "tiny_online": 1.0, "predict": 1 / 3}
# row key: the least jax/compiled time ratio
JAX_TARGETS = {"mid_batch_f32": 1.5, "mid_batch_f64": 1.5, "large_batch_f32": 1.0,
               "tiny_online": 4.0, "mid_online": 4.0}

TARGETS = {  # row key: (ratio column, minimum)
    "tiny_online": ("numpy", 200.0),
    "mid_batch_f32": ("numpy", 4.0),
    "mid_batch_f64": ("numpy", 4.0),
    "large_batch_f32": ("numpy", 2.5),
    "predict": ("numpy", 5.0),
    # the recommended recipe fits at least 5 times faster than scikit-learn's default MLP
    **{f"quality_{name}": ("sklearn", 5.0) for name in DATA_SETS},
}


def collect(scale: str = "default", budget: float | None = None,
            progress: Callable[[str], object] | None = None) -> list[Row]:
    """Run every case and return the table's rows."""
    budget = budget if budget is not None else {"smoke": 0.0, "default": 0.4, "full": 3.0}[scale]
    compiled = _have_compiled()
    all_cases = cases(scale)
    rows = []
    for case in all_cases:
        if progress:
            progress(case.title)
        rows.append(_training_row(case, budget, compiled))
    if progress:
        progress("predict")
    rows.append(_predict_row(budget, compiled))
    if progress:
        progress("step")
    rows.append(_step_row(budget, compiled))
    if progress:
        progress("two threads")
    rows.append(_threads_row(all_cases[3], budget, compiled))
    for case in (all_cases[3], all_cases[4]):
        if progress:
            progress(f"memory: {case.title}")
        rows.append(_memory_row(case, compiled))
    for case in all_cases[2:5]:  # one step of each optimizer: both mid cases, and large
        if progress:
            progress(f"optimizer steps: {case.title}")
        rows += step_rows(case, *_data(case), _network, _ours(compiled), budget / 2, _best_times,
                          _torch_model, adam_target=case in all_cases[2:4])
    lib = fann_library()
    if lib is not None:
        for case in fann_cases(scale):
            if progress:
                progress(case.title)
            rows.append(_fann_row(case, budget, compiled, lib))
    neural_network = _sklearn()
    if neural_network is not None:
        reference = "compiled" if compiled else "fallback"
        rows += estimator_rows(scale, reference, BACKENDS[reference], budget, _best_times,
                               progress)
        rows += quality_rows(scale, reference, BACKENDS[reference], progress)
    for row in rows:
        if row.key in TARGETS:
            column, minimum = TARGETS[row.key]
            row.targets.append(Target(f"{column}/compiled",
                                      row.ratios.get(column, float("nan")), minimum))
        if row.key == "large_batch_f32" and "torch" in row.ratios:
            row.targets.append(Target("torch/compiled", row.ratios["torch"], 1.0))
    for case, row in zip(all_cases, rows):  # the mini-batch rows: arithmetic throughput, last
        if case.batch_size > 1:
            flops = training_flops(case.sizes)
            rates = "GFLOP/s " + " ".join(
                f"{name} {flops / seconds / 1e9:.3g}" for name, seconds in row.values.items())
            row.note = "; ".join(text for text in (row.note, rates) if text)
    for row in rows:
        if row.key in EFFICIENCY_TARGETS and "floor" in row.ratios:
            row.targets.append(Target("floor/compiled", row.ratios["floor"],
                                      EFFICIENCY_TARGETS[row.key]))
        if row.key in JAX_TARGETS and "jax" in row.ratios:
            row.targets.append(Target("jax/compiled", row.ratios["jax"], JAX_TARGETS[row.key]))
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bpcore bench", allow_abbrev=False,
        description="Time bpcore's compiled kernels against its fallback, plain NumPy, and "
                    "PyTorch, JAX, FANN and scikit-learn (those installed), and measure each "
                    "case's floor on this machine; ratios above 1 mean the compiled kernels "
                    "win, floor/compiled is the efficiency (1 at the floor).")
    scales = parser.add_mutually_exclusive_group()  # one scale per run
    scales.add_argument("--full", action="store_true",
                        help="larger data sets and longer timings (about 7 minutes)")
    scales.add_argument("--smoke", action="store_true",
                        help="tiny sizes and single runs: checks the benchmark runs, not speed")
    parser.add_argument("--wide", action="store_true",
                        help="every implementation's time, the full case titles and what else "
                             "was measured (GFLOP/s, coefs_ differences, scores); lines are "
                             "over 200 characters")
    parser.add_argument("--targets", action="store_true",
                        help="also check bpcore's speed targets (met or MISSED)")
    parser.add_argument("--quiet", action="store_true",
                        help="print only the table (no machine header, no progress)")
    parser.add_argument("--json", metavar="PATH",
                        help="also write the rows and the machine they ran on to PATH as JSON, "
                             "for --compare")
    parser.add_argument("--compare", nargs=2, metavar=("A.json", "B.json"),
                        help="run nothing: compare two files written by --json, case by case "
                             "(speedup: A's time over B's, above 1 when B is faster)")
    args = parser.parse_args(argv)
    if args.compare and (args.full or args.smoke or args.json is not None or args.wide
                         or args.targets):
        parser.error("--compare runs nothing and prints its own table: it cannot be combined "
                     "with --full, --smoke, --json, --wide or --targets")
    from .._command_line import report
    from . import record
    try:  # a bad file is a one-line error and status 2, and a bad --json path fails before the run
        if args.compare:
            print(record.compare(args.compare[0], args.compare[1], headers=not args.quiet))
            return 0
        if args.json is not None:
            record.check_writable(args.json)
    except record.BenchFileError as error:
        report("error", error)
        return 2
    scale = "smoke" if args.smoke else ("full" if args.full else "default")
    progress = None if args.quiet else (
        lambda what: print(f"  timing {what} ...", file=sys.stderr, flush=True))
    started = time.perf_counter()
    machine = record.machine()  # before the run: its date is the start
    if not args.quiet:
        print("\n".join(record.header_lines(machine)), flush=True)
    rows = collect(scale, progress=progress)
    if not _have_compiled():
        print("note: bpcore._kernels is not built; the compiled column is missing")
    if _torch() is None:
        print("note: PyTorch is not installed; its column is empty")
    if not jax_peer.available():
        print("note: JAX is not installed; its column is empty")
    for line in notes():
        print(line)
    if args.targets and scale == "smoke":
        print("note: --smoke times toy sizes once each: its met and MISSED say nothing of "
              "speed, only that every target is checked")
    print(format_table(rows, wide=args.wide, targets=args.targets))
    if not args.quiet:
        torch = _torch()
        if torch is not None:
            print(f"(PyTorch {torch.__version__} on CPU with {torch.get_num_threads()} threads, "
                  f"its default)")
        if jax_peer.available():
            print(f"({jax_peer.versions()} on CPU)")
        runs = "one run per case (--smoke)" if scale == "smoke" else (
            "the best of a few runs per case")
        took = time.perf_counter() - started
        seconds = f"{took:.0f}" if took >= 10 else f"{took:.2g}"  # a --smoke run's not 0
        print(f"(times are {runs}; ratios are other/compiled time; {seconds} s in all)")
    if args.json is not None:
        try:
            record.write_run(args.json, machine, scale, rows)
        except record.BenchFileError as error:
            report("error", error)
            return 2
        if not args.quiet:
            print(f"(wrote the {len(rows)} rows and the machine to {args.json})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
