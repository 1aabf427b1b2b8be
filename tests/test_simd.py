"""The SIMD variants of the compiled kernels: chosen at import, and every one gives the same bits.

setup.py compiles the kernels for the x86-64 baseline, AVX2+FMA and AVX-512, without fusing
multiplies and adds (-ffp-contract=off) and without reordering sums (no -ffast-math), so a
vectorised loop rounds each operation as the scalar one does: on any one machine every variant
must train to bit-identical weights. CI also runs the whole suite under each BPCORE_SIMD value
the machine supports.
"""
import os
import subprocess
import sys

import numpy as np
import pytest

import bpcore
from bpcore import Adam, Network, Rprop, SGD, _backend

try:
    VARIANTS = _backend.simd_variants()
except ImportError:  # no compiled kernels at all
    VARIANTS = []

compiled_only = pytest.mark.skipif(not VARIANTS, reason="the compiled kernels are not built")
several_variants = pytest.mark.skipif(
    len(VARIANTS) < 2, reason=f"this CPU runs one variant of the kernels only: {VARIANTS}")

# (activation, output, loss): every activation and every output with its loss
HEADS = [("sigmoid", "sigmoid", "mse"), ("tanh", "softmax", "cross_entropy"),
         ("relu", "sigmoid", "binary_cross_entropy"), ("leaky_relu", "identity", "mse"),
         ("identity", "exp", "poisson")]
OPTIMIZERS = [lambda: SGD(lr=0.02), lambda: SGD(lr=0.01, momentum=0.9, nesterov=True,
                                                weight_decay=1e-3),
              lambda: Adam(lr=0.01, weight_decay=1e-3), lambda: Rprop(lr=0.01)]


def _train(variant, head, optimizer, dtype, batch_size, sizes):
    activation, output, loss = head
    rng = np.random.default_rng(7)
    X = (0.5 * rng.standard_normal((53, sizes[0]))).astype(dtype)
    if loss == "cross_entropy":
        Y = np.eye(sizes[-1], dtype=dtype)[rng.integers(0, sizes[-1], len(X))]
    elif loss == "poisson":
        Y = rng.poisson(1.0, (len(X), sizes[-1])).astype(dtype)
    else:
        Y = rng.uniform(0, 1, (len(X), sizes[-1])).astype(dtype)
    weights = rng.uniform(0.5, 2.0, len(X))
    network = Network(sizes, activation=activation, output=output, loss=loss, dtype=dtype,
                      seed=3)
    with _backend.use_backend(_backend.simd_module(variant)):
        network.fit(X, Y, epochs=3, optimizer=optimizer(), batch_size=batch_size,
                    sample_weight=weights)
        outputs = network.predict(X)
        one = network.predict(X[0])
        grads = network.gradients(X, Y)
    state = network.get_state()
    optimizer_arrays = [value for value in state["optimizer"].values()
                        if isinstance(value, np.ndarray)]
    return [state["parameters"], *optimizer_arrays, outputs, one,
            *[g for pair in zip(grads.weights, grads.biases) for g in pair]]


@several_variants
@pytest.mark.parametrize("head", HEADS, ids=lambda head: "-".join(head))
@pytest.mark.parametrize("optimizer", OPTIMIZERS, ids=["sgd", "nesterov", "adam", "rprop"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("batch_size,sizes", [(1, (5, 7, 3)), (8, (40, 70, 30, 4)),
                                              (53, (9, 33, 2))])
def test_every_variant_trains_to_the_same_bits(backend, head, optimizer, dtype, batch_size,
                                               sizes):
    # (40, 70, 30, 4) with batches of 8 sends products to BLAS; the others stay on the loops
    if backend != "cython":
        pytest.skip("compares the compiled variants with each other")
    baseline = _train("baseline", head, optimizer, dtype, batch_size, sizes)
    for variant in VARIANTS[1:]:
        for got, expected in zip(_train(variant, head, optimizer, dtype, batch_size, sizes),
                                 baseline):
            assert got.dtype == expected.dtype
            np.testing.assert_array_equal(got, expected, err_msg=variant)


@compiled_only
def test_the_variants_are_the_same_kernels_built_for_their_instruction_sets():
    for variant in VARIANTS:
        module = _backend.simd_module(variant)
        assert module.SIMD == variant
        assert module.OPTIMIZERS == _backend.simd_module("baseline").OPTIMIZERS
        flags = module.BUILD_FLAGS.split()
        assert ("-mavx2" in flags) == (variant != "baseline"), flags
        assert ("-mavx512f" in flags) == (variant == "avx512"), flags
        # every variant rounds as the baseline does (see the module docstring)
        assert "-ffast-math" not in flags and ("-mfma" not in flags
                                                or "-ffp-contract=off" in flags), flags


@compiled_only
def test_auto_takes_the_best_variant_the_cpu_runs(backend):
    if backend != "cython":
        pytest.skip("about the compiled kernels")
    if os.environ.get("BPCORE_SIMD", "auto") in ("", "auto"):
        assert _backend.simd() == VARIANTS[-1]
    else:
        assert _backend.simd() == os.environ["BPCORE_SIMD"]
    assert VARIANTS[0] == "baseline"
    assert set(VARIANTS) <= set(_backend.simd_module("baseline").cpu_runs())


@compiled_only
def test_a_variant_the_cpu_cannot_run_is_never_loaded(monkeypatch):
    baseline = _backend.simd_module("baseline")
    monkeypatch.setattr(baseline, "cpu_runs", lambda: ["baseline"])
    for variant in ("avx2", "avx512"):
        with pytest.raises(ImportError, match=f"this CPU cannot run bpcore's {variant} kernels"):
            _backend.simd_module(variant)
    assert _backend.simd_variants() == ["baseline"]
    with pytest.raises(ValueError, match="variant must be one of baseline, avx2, avx512, got 'sse'"):
        _backend.simd_module("sse")


def _run(code, **env):
    environment = {**os.environ, **env}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=environment, cwd="/")


@compiled_only
@pytest.mark.parametrize("variant", VARIANTS)
def test_bpcore_simd_chooses_the_variant_and_info_reports_it(variant):
    result = _run("import bpcore; from bpcore import _backend; print(_backend.simd())",
                  BPCORE_SIMD=variant, BPCORE_BACKEND="cython")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == variant
    info = subprocess.run([sys.executable, "-m", "bpcore", "info"], capture_output=True,
                          text=True, env={**os.environ, "BPCORE_SIMD": variant}, cwd="/")
    assert info.returncode == 0, info.stderr
    assert f"SIMD variant: {variant} (BPCORE_SIMD={variant}" in info.stdout
    # the variants this CPU runs, and all that were built (the three on x86-64 with GCC)
    line = next(line for line in info.stdout.splitlines() if line.startswith("SIMD variant:"))
    assert f"runnable here: {', '.join(VARIANTS)}; built: " in line
    assert set(VARIANTS) <= set(line.rsplit("built: ", 1)[1].rstrip(")").split(", "))


@pytest.mark.parametrize("backend_choice", ["auto", "python"])
def test_an_unknown_simd_name_is_refused_whichever_backend_runs(backend_choice):
    result = _run("import bpcore", BPCORE_SIMD="sse9", BPCORE_BACKEND=backend_choice)
    assert result.returncode != 0
    assert "BPCORE_SIMD must be 'auto', 'baseline', 'avx2' or 'avx512', got 'sse9'" in (
        result.stderr)


@compiled_only
@pytest.mark.parametrize("backend_choice", ["auto", "cython"])
def test_a_forced_variant_the_cpu_cannot_run_is_an_error(monkeypatch, backend_choice):
    # not a silent fallback: the user asked for these kernels
    monkeypatch.setattr(_backend.simd_module("baseline"), "cpu_runs", lambda: ["baseline"])
    monkeypatch.setenv("BPCORE_SIMD", "avx512")
    with pytest.raises(ImportError, match="BPCORE_SIMD=avx512, but this CPU cannot run "
                                          "bpcore's avx512 kernels"):
        _backend.load(backend_choice)
    monkeypatch.setenv("BPCORE_SIMD", "auto")
    assert _backend.load(backend_choice)[0].SIMD == "baseline"


def test_the_fallback_has_no_simd_variant(backend):
    assert (_backend.simd() == "none") == (backend == "python")
    assert bpcore.backend == backend


SETUP = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "setup.py")


@pytest.mark.skipif(not os.path.exists(SETUP), reason="not run from a source checkout")
def test_setup_refuses_an_unknown_variant_to_build():
    pytest.importorskip("Cython", reason="setup.py needs Cython to read its modules")
    # --name: setup.py lists its modules and stops, building nothing
    result = subprocess.run([sys.executable, SETUP, "--name"], capture_output=True, text=True,
                            env={**os.environ, "BPCORE_VARIANTS": "avx2 sse9"},
                            cwd=os.path.dirname(SETUP))
    if result.returncode == 0 and result.stdout.strip() == "bpcore":
        pytest.skip("setup.py builds no SIMD variants on this machine (not x86-64 with GCC)")
    assert result.returncode != 0
    assert "BPCORE_VARIANTS must name variants among avx2 avx512, got sse9" in result.stderr
