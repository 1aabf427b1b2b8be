"""The compiled and pure-Python backends: the choice of backend, and that both train alike."""
import glob
import os
import subprocess
import sys

import numpy as np
import pytest

import bpcore
from bpcore import _backend


def test_backend_names_the_kernels_in_use(backend):
    assert bpcore.backend == backend
    # the compiled kernels are the SIMD variant BPCORE_SIMD chooses (auto: the best one)
    variant = _backend.simd()
    expected = ("bpcore._fallback" if backend == "python" else
                "bpcore._kernels" if variant == "baseline" else f"bpcore._kernels_{variant}")
    assert _backend.kernels.__name__ == expected


def test_compiled_module_is_a_built_extension(backend):
    if backend != "cython":
        pytest.skip("about the compiled module")
    path = _backend.kernels.__file__
    assert path.endswith((".so", ".pyd")), path


def test_compiler_directives_are_set_only_by_setup_py():
    # a `# cython:` header line or a `cython.boundscheck` decorator in a source would
    # override setup.py's directives, and BPCORE_DEBUG=1 would build without the bounds
    # checks it promises
    root = os.path.join(os.path.dirname(__file__), os.pardir)
    sources = glob.glob(os.path.join(root, "src", "**", "*.p*"), recursive=True) + glob.glob(
        os.path.join(root, "bpcore", "*.pxd"))
    if not sources:
        pytest.skip("no source tree beside the tests")
    for source in sources:
        with open(source, encoding="utf-8") as file:
            lines = file.read().splitlines()
        assert [line for line in lines if line.replace(" ", "").startswith("#cython:")] == []
        assert [line for line in lines if "@cython." in line or "cython.boundscheck" in line
                or "cython.wraparound" in line] == []


def test_debug_builds_and_only_they_check_bounds(backend):
    # BPCORE_DEBUG=1 (-O0 -g; CI's sanitizer stage) must build with Cython's bounds checks on,
    # and a normal build without them: the built module probes an index past a view's end
    if backend != "cython":
        pytest.skip("about the compiled module")
    compiled = _backend.kernels
    assert compiled.BOUNDS_CHECKED == ("-O0" in compiled.BUILD_FLAGS.split())


def run_python(code, **env):
    environment = {**os.environ, **env}
    # from /, so that a source checkout in the working directory is not imported instead
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=environment, cwd="/")


def test_environment_variable_forces_the_fallback():
    result = run_python("import bpcore; print(bpcore.backend)", BPCORE_BACKEND="python")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "python"


def test_unknown_backend_name_is_refused():
    result = run_python("import bpcore", BPCORE_BACKEND="fortran")
    assert result.returncode != 0
    assert "BPCORE_BACKEND must be 'auto', 'cython' or 'python', got 'fortran'" in result.stderr


BLOCK_KERNELS = ("import sys; sys.modules['bpcore._kernels'] = None\n")


def test_cython_backend_fails_loudly_without_the_extension():
    result = run_python(BLOCK_KERNELS + "import bpcore", BPCORE_BACKEND="cython")
    assert result.returncode != 0
    assert "ImportError" in result.stderr and "reinstall bpcore" in result.stderr


def test_auto_backend_warns_and_falls_back_without_the_extension():
    result = run_python(BLOCK_KERNELS + "import bpcore; print(bpcore.backend)",
                        BPCORE_BACKEND="auto")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "python"
    assert "RuntimeWarning" in result.stderr and "fallback" in result.stderr


def package_copy(root, checkout):
    """A copy of the installed bpcore's Python files (no compiled module) under root, laid
    out as a source checkout (with src/_kernels.pyx) or as a pure installation."""
    package = os.path.dirname(bpcore.__file__)
    (root / "bpcore").mkdir(parents=True)
    for name in os.listdir(package):
        if name.endswith(".py"):
            (root / "bpcore" / name).write_bytes(open(os.path.join(package, name), "rb").read())
    if checkout:
        (root / "src").mkdir()
        (root / "src" / "_kernels.pyx").write_text("# the kernels' source\n")
    return root


# An editable install's import hook would find the checkout's compiled module for the copy.
NO_EDITABLE_FINDER = ("import sys; sys.meta_path[:] = [f for f in sys.meta_path if not "
                      "getattr(f, '__module__', '').startswith('__editable__')]; ")


@pytest.mark.parametrize("checkout, cause", [
    (True, "imported from the source checkout"),
    (False, "this installation of bpcore has no compiled module"),
])
def test_the_fallback_warning_names_the_true_cause_in_one_sentence(checkout, cause, tmp_path):
    root = package_copy(tmp_path / "tree", checkout)
    result = subprocess.run(
        [sys.executable, "-c", NO_EDITABLE_FINDER + "import warnings; "
         "warnings.simplefilter('error'); import bpcore"],
        capture_output=True, text=True, cwd=root,
        env={**os.environ, "BPCORE_BACKEND": "auto", "PYTHONPATH": ""})
    assert result.returncode != 0  # the warning, raised as an error
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith("RuntimeWarning: bpcore uses its slower pure-Python fallback")
    assert cause in message
    if checkout:
        assert str(tmp_path) in message
    assert message.endswith(".") and message.count("(") == message.count(")")
    assert "circular" not in message
    if checkout:
        assert "run from another folder" in message
    # and with BPCORE_BACKEND=cython the same cause is an ImportError
    result = subprocess.run([sys.executable, "-c", NO_EDITABLE_FINDER + "import bpcore"],
                            capture_output=True,
                            text=True, cwd=root,
                            env={**os.environ, "BPCORE_BACKEND": "cython", "PYTHONPATH": ""})
    assert "ImportError: BPCORE_BACKEND=cython, but" in result.stderr and cause in result.stderr


def test_the_command_line_reports_the_fallback_in_one_line(tmp_path):
    # as the console script `bpcore` (argv[0]) starts, from a checkout without a build
    root = package_copy(tmp_path / "tree", checkout=True)
    code = (NO_EDITABLE_FINDER + "sys.argv[0] = '/venv/bin/bpcore'; "
            "from bpcore.__main__ import main; sys.exit(main(['info']))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=root, env={**os.environ, "BPCORE_BACKEND": "auto",
                                           "PYTHONPATH": ""})
    assert result.returncode == 0, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bpcore: warning: bpcore uses its slower")
    assert "active backend: python" in result.stdout


SMALL = [6, 8, 5, 3]   # every product on the compiled plain loops
LARGE = [20, 64, 32, 3]  # large enough for the compiled BLAS paths (gemv online, gemm batches)


def train_on(backend, dtype, batch_size, momentum=0.0, weight_decay=0.0, sizes=SMALL,
             activation="tanh"):
    with _backend.use_backend(backend):
        return _train(dtype, batch_size, momentum, weight_decay, sizes, activation)


def _train(dtype, batch_size, momentum, weight_decay, sizes, activation="tanh"):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(50, sizes[0]))
    Y = np.eye(3)[rng.integers(0, 3, 50)]
    network = bpcore.Network(sizes, activation=activation, output="softmax",
                             loss="cross_entropy", dtype=dtype, seed=11)
    history = network.fit(X, Y, epochs=1, lr=0.05, batch_size=batch_size, momentum=momentum,
                          weight_decay=weight_decay)
    return network, history


# Why these tolerances: the backends' products round differently (the compiled loops or SciPy's
# BLAS against NumPy's, whose kernel depends on the CPU). A float32 dot product of k <= 65 terms
# is off by up to about k u (u = 6e-8) of its terms' size, 4e-6, and 50 small stable steps add
# such errors up without blowing them up: measured up to 2e-5 of a layer's largest weight under
# OPENBLAS_CORETYPE=Haswell, SkylakeX and Sandybridge, 5x under 1e-4; float64 the same with
# u = 1.1e-16 (measured 2e-14, against 1e-10).
@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-10), ("float32", 1e-4)])
@pytest.mark.parametrize("batch_size", [1, 8])
@pytest.mark.parametrize("momentum, weight_decay", [(0.0, 0.0), (0.9, 1e-3)])
@pytest.mark.parametrize("sizes", [SMALL, LARGE], ids=["loops", "blas"])
def test_backends_train_alike(backend, dtype, rtol, batch_size, momentum, weight_decay, sizes):
    if backend != "cython":
        pytest.skip("compares both backends in one run")
    compiled = _backend.kernels
    a, history_a = train_on("cython", dtype, batch_size, momentum, weight_decay, sizes)
    b, history_b = train_on("python", dtype, batch_size, momentum, weight_decay, sizes)
    if sizes is LARGE:
        assert compiled.blas_loaded()
    start = bpcore.Network(sizes, activation="tanh", output="softmax",
                           loss="cross_entropy", dtype=dtype, seed=11)
    for wa, wb, w0 in zip(a.weights + a.biases, b.weights + b.biases,
                          start.weights + start.biases):
        assert wa.dtype == np.dtype(dtype)
        # entries near zero come from cancellation, so they are held to the layer's scale
        np.testing.assert_allclose(wa, wb, rtol=rtol, atol=rtol * np.abs(wb).max())
        assert not np.array_equal(wa, w0)  # training moved every layer
    assert history_a.losses[0] == pytest.approx(history_b.losses[0], rel=rtol)
    velocity = b.get_state()["optimizer"]["velocity"]
    np.testing.assert_allclose(a.get_state()["optimizer"]["velocity"], velocity, rtol=rtol,
                               atol=rtol * max(np.abs(velocity).max(), 1e-30))
    assert np.any(velocity != 0) == (momentum != 0)  # plain SGD leaves the velocity alone


@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-10), ("float32", 1e-4)])
@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "sigmoid", "identity"])
def test_backends_train_alike_with_every_hidden_activation(backend, dtype, rtol, activation):
    # the compiled kernels add a BLAS layer's biases in the activation's pass over its
    # batch (in the ReLU's own loop): each hidden activation against the fallback, as above
    if backend != "cython":
        pytest.skip("compares both backends in one run")
    a, history_a = train_on("cython", dtype, 8, sizes=LARGE, activation=activation)
    b, history_b = train_on("python", dtype, 8, sizes=LARGE, activation=activation)
    assert _backend.kernels.blas_loaded()
    for wa, wb in zip(a.weights + a.biases, b.weights + b.biases):
        np.testing.assert_allclose(wa, wb, rtol=rtol, atol=rtol * np.abs(wb).max())
    assert history_a.losses[0] == pytest.approx(history_b.losses[0], rel=rtol)


@pytest.mark.parametrize("batch_size", [1, 8])
@pytest.mark.parametrize("sizes", [SMALL, LARGE], ids=["loops", "blas"])
def test_plain_sgd_leaves_the_momentum_state_alone(backend, batch_size, sizes):
    rng = np.random.default_rng(6)
    X, Y = rng.normal(size=(40, sizes[0])), np.eye(3)[rng.integers(0, 3, 40)]
    network = bpcore.Network(sizes, activation="relu", output="softmax", loss="cross_entropy",
                             seed=2)
    network.fit(X, Y, epochs=1, lr=0.05, batch_size=batch_size, momentum=0.9)
    state = network.get_state()
    velocity, params = state["optimizer"]["velocity"], state["parameters"]
    assert np.any(velocity != 0)
    network.fit(X, Y, epochs=2, lr=0.05, batch_size=batch_size, weight_decay=1e-3)
    network.step(X[:5], Y[:5], lr=0.05)
    state = network.get_state()
    assert not np.array_equal(state["parameters"], params)
    np.testing.assert_array_equal(state["optimizer"]["velocity"], velocity)


def test_compiled_kernels_work_without_scipy():
    code = ("import sys; sys.modules['scipy'] = None\n"
            "import numpy as np, bpcore\n"
            "from bpcore import _kernels, _backend\n"
            "X = np.random.default_rng(0).normal(size=(64, 64)); Y = np.tanh(X[:, :10])\n"
            "nets = []\n"
            "for name in ('cython', 'python'):\n"
            "    with _backend.use_backend(name):\n"
            "        net = bpcore.Network([64, 128, 10], activation='relu', output='identity', seed=1)\n"
            "        net.fit(X, Y, epochs=2, lr=0.01, batch_size=16)\n"
            "    nets.append(net)\n"
            "print(_kernels.blas_loaded(), np.abs(nets[0].weights[0] - nets[1].weights[0]).max())\n")
    result = run_python(code, BPCORE_BACKEND="cython")
    assert result.returncode == 0, result.stderr
    loaded, difference = result.stdout.split()
    assert loaded == "False"
    assert float(difference) < 1e-12


def test_importing_bpcore_does_not_import_scipy():
    # SciPy's BLAS is loaded on the first call that needs it, not at import (~0.5 s)
    result = run_python("import sys, bpcore, numpy as np\n"
                        "bpcore.Network([4, 4, 4, 1]).predict(np.zeros(4))\n"
                        "print(bpcore.backend, 'scipy' in sys.modules)", BPCORE_BACKEND="cython")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["cython", "False"]
