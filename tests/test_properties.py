"""Properties over random small networks: the compiled and pure-Python kernels agree on the
forward pass, the gradients, one SGD step and one epoch; outputs stay finite however saturated
the units.

Which examples run is set by the hypothesis profile tests/conftest.py loads: by default the same
ones on every run and machine; HYPOTHESIS_PROFILE=explore with --hypothesis-seed=N draws others."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bpcore
from bpcore import _backend, _fallback

HIDDEN = ["sigmoid", "tanh", "relu", "leaky_relu", "identity"]
# (output, loss) pairings the network accepts
HEADS = [(output, "mse") for output in HIDDEN] + [("sigmoid", "binary_cross_entropy"),
                                                   ("softmax", "cross_entropy")]
# Why these tolerances. The backends round differently: the compiled loops add a dot product's
# terms in order, while NumPy hands them to the BLAS, whose kernel (summation order, FMA or not)
# depends on the CPU. A dot product of k terms is off by up to about k u times the sum of its
# terms' magnitudes (u = 2**-24 = 6e-8 in float32, 1.1e-16 in float64). Here k <= 7 (widths
# <= 6, plus the bias), and a value passes through <= 4 layers forward, 4 back and a mean over
# <= 5 samples: about 60 u per step. The run takes <= 6 steps, and on the stable problems drawn
# (see `problems`) an earlier step's error grows at most about 5x: in all, up to about
# 6 * 5 * 60 u = 1800 u, 1.1e-4 in float32 and 2e-13 in float64, relative to the size of the
# terms, for which atol * max(1, largest |entry|) stands (a sum that cancels is smaller than
# its terms). Measured over 60000 draws on three BLAS kernels (OPENBLAS_CORETYPE=Haswell,
# SkylakeX, Sandybridge): at most 4e-6 in float32 and 1.5e-14 in float64, of that scale.
# Hence 1e-4 in float32 and 1e-12 in float64: about the bound, 25x and more above the worst seen.
TOLERANCES = {"float64": {"rtol": 1e-12, "atol": 1e-12}, "float32": {"rtol": 1e-4, "atol": 1e-4}}


def compiled():
    try:  # the SIMD variant BPCORE_SIMD chooses
        return _backend.compiled()
    except ImportError as error:  # conftest decides whether that may be skipped
        pytest.skip(f"compiled kernels not built: {error}")


def on(kernels, function):
    """Run function() with `kernels` as the active backend (no fixture: hypothesis reruns)."""
    with _backend.use_backend("python" if kernels is _fallback else "cython"):
        return function()


# Largest slope f'(z) of each hidden activation, and the largest curvature d2C/dz[L]2 of each
# fused head: sigmoid + binary cross-entropy has p (1 - p) <= 1/4 per output; softmax +
# cross-entropy has diag(p) - p p^T, whose eigenvalues are <= max 2 p_i (1 - p_i) <= 1/2
# (Gershgorin). Under mse the curvature is the output's slope squared.
SLOPES = {"sigmoid": 0.25, "tanh": 1.0, "relu": 1.0, "leaky_relu": 1.0, "identity": 1.0}
FUSED_CURVATURE = {"binary_cross_entropy": 0.25, "cross_entropy": 0.5}
ACTIVATE = {"sigmoid": lambda z: 0.5 + 0.5 * np.tanh(0.5 * z), "tanh": np.tanh,
            "relu": lambda z: np.maximum(z, 0.0),
            "leaky_relu": lambda z: np.where(z < 0, 0.01 * z, z), "identity": lambda z: z}
# lr times the curvature bound below is kept at most this. Plain gradient descent on a quadratic
# is stable while lr * curvature < 2 (with momentum beta, < 2 (1 + beta)); 1 leaves room for
# what the bound leaves out (the residual times the network's own second derivatives) and for
# the curvature changing over the run's <= 6 steps.
STABLE_STEP = 1.0


def curvature_bound(net, X):
    """An upper bound on the largest eigenvalue of the mean cost's Gauss-Newton matrix at the
    network's starting point, from plain NumPy (no kernel of either backend):
    max over samples of sum over layers l of (1 + |a[l-1]|^2) * |dz[L]/dz[l]|^2 * curvature,
    with |dz[L]/dz[l]| <= the product over the layers above of slope * |W| (spectral norm)."""
    if net.loss_name == "mse":
        head = SLOPES[net.output] ** 2
    else:
        head = FUSED_CURVATURE[net.loss_name]
    weights = [np.asarray(w, dtype=np.float64) for w in net.weights]
    gain = SLOPES[net.activation] ** 2 * np.array([np.linalg.norm(w, 2) ** 2 for w in weights])
    a, bound = np.asarray(X, dtype=np.float64), np.zeros(len(X))
    for layer, (w, b) in enumerate(zip(weights, net.biases)):
        bound += (1 + (a * a).sum(axis=1)) * head * np.prod(gain[layer + 1:])
        a = ACTIVATE[net.activation](a @ w.T + b)  # a[l] for the next layer (hidden ones only)
    return float(bound.max())


@st.composite
def problems(draw):
    """A network, data and SGD settings on which the backends must agree.

    Every choice is drawn (widths, depth, activation, head, dtype, input scale, lr, momentum,
    weight decay, batch size), but lr is then capped so that lr * curvature_bound <= STABLE_STEP:
    training is then stable, not chaotic. Without the cap, lr 0.5 on a deep identity or relu
    network (or on inputs of scale 3) takes steps past the stable limit: the parameters grow
    many-fold per step, and so does any rounding difference between the backends (in 5000
    such draws, a relative perturbation of 1e-7 of the starting parameters grew up to 700x
    over the run's <= 6 steps, and 3 runs overflowed), so one backend may end just outside the
    tolerance or overflow to a DivergenceError where the other does not. With the cap (20000
    draws) such a perturbation grew at most 5x and the largest parameter at most 25x: every
    value stays many orders of magnitude below float32's overflow (3.4e38) on both backends,
    so a DivergenceError on either one is a bug in it, never the draw's fault."""
    n_layers = draw(st.integers(1, 4))
    sizes = draw(st.lists(st.integers(1, 6), min_size=n_layers + 1, max_size=n_layers + 1))
    activation = draw(st.sampled_from(HIDDEN))
    output, loss = draw(st.sampled_from(HEADS))
    if output == "softmax" and sizes[-1] == 1:
        sizes[-1] = 2
    dtype = draw(st.sampled_from(["float64", "float32"]))
    n = draw(st.integers(1, 5))
    scale = draw(st.sampled_from([0.01, 1.0, 3.0]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    X = scale * rng.normal(size=(n, sizes[0]))
    if loss == "cross_entropy":
        Y = rng.dirichlet(np.ones(sizes[-1]), size=n)
    elif loss == "binary_cross_entropy":
        Y = rng.uniform(size=(n, sizes[-1]))
    else:
        Y = rng.normal(size=(n, sizes[-1]))
    lr = draw(st.sampled_from([0.01, 0.1, 0.5]))
    momentum = draw(st.sampled_from([0.0, 0.9]))
    weight_decay = draw(st.sampled_from([0.0, 0.01]))
    # the same starting weights `results` gets (the seed decides them)
    start = bpcore.Network(sizes, activation=activation, output=output, loss=loss, seed=seed)
    lr = min(lr, STABLE_STEP / (curvature_bound(start, X) + weight_decay))
    batch_size = draw(st.integers(1, n))
    return dict(sizes=sizes, activation=activation, output=output, loss=loss, dtype=dtype,
                seed=seed, X=X, Y=Y, batch_size=batch_size,
                optimizer={"lr": lr, "momentum": momentum, "weight_decay": weight_decay})


def results(problem):
    """Everything the backends compute for one problem, as a list of (name, array)."""
    net = bpcore.Network(problem["sizes"], activation=problem["activation"],
                         output=problem["output"], loss=problem["loss"],
                         dtype=problem["dtype"], seed=problem["seed"])
    X, Y = problem["X"], problem["Y"]
    out = [("predict", net.predict(X)), ("loss", np.array(net.loss(X, Y)))]
    g = net.gradients(X, Y)
    out += [(f"grad W[{i}]", w) for i, w in enumerate(g.weights)]
    out += [(f"grad b[{i}]", b) for i, b in enumerate(g.biases)]
    out += [(f"delta[{i}]", d) for i, d in enumerate(g.deltas)]
    out.append(("step loss", np.array(net.step(X, Y, **problem["optimizer"]))))
    out.append(("params after step", net.get_state()["parameters"]))
    out.append(("velocity after step", net.get_state()["optimizer"]["velocity"]))
    history = net.fit(X, Y, epochs=1, batch_size=problem["batch_size"], **problem["optimizer"])
    out.append(("epoch loss", np.array(history.losses)))
    out.append(("params after epoch", net.get_state()["parameters"]))
    out.append(("velocity after epoch", net.get_state()["optimizer"]["velocity"]))
    return out


def results_on(kernels, problem):
    try:
        return on(kernels, lambda: results(problem))
    except bpcore.DivergenceError as error:
        # the drawn problems are stable (see `problems`): divergence here is a kernel's fault
        pytest.fail(f"the {'python' if kernels is _fallback else 'cython'} backend diverged on "
                    f"a problem drawn to be stable: {error}")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problem=problems())
def check_backends_agree(kernels, problem):
    compiled_results = results_on(kernels, problem)
    fallback_results = results_on(_fallback, problem)
    assert [name for name, _ in compiled_results] == [name for name, _ in fallback_results]
    for (name, a), (_, b) in zip(compiled_results, fallback_results):
        assert a.dtype == b.dtype == (np.float64 if "loss" in name else np.dtype(problem["dtype"])), name
        tolerance = dict(TOLERANCES[problem["dtype"]])
        tolerance["atol"] *= max(1.0, float(np.abs(b).max()))
        np.testing.assert_allclose(a, b, **tolerance, err_msg=name)


def test_compiled_and_fallback_kernels_agree(backend):
    # The test swaps the backend itself, so one run covers both; skip the second.
    if backend == "python":
        pytest.skip("compares both backends inside one run; runs once, under 'cython'")
    check_backends_agree(compiled())


# ---- the one-call paths are the general path --------------------------------------------------

@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problem=problems())
def check_one_call_paths_are_the_general_path(kernels, problem):
    # predict and step on C-contiguous arrays of the network's dtype take one kernel call
    # (forward_rows, step_rows; forward_one, step_one for a single 1-D sample); as lists they
    # take the general path: the same bits, on each backend
    def make():
        return bpcore.Network(problem["sizes"], activation=problem["activation"],
                              output=problem["output"], loss=problem["loss"],
                              dtype=problem["dtype"], seed=problem["seed"])

    def run():
        fast, general = make(), make()
        X, Y = (np.ascontiguousarray(a, dtype=problem["dtype"]) for a in (problem["X"],
                                                                          problem["Y"]))
        np.testing.assert_array_equal(fast.predict(X), general.predict(X.tolist()))
        np.testing.assert_array_equal(fast.predict(X[0]), general.predict(X[0].tolist()))
        for _ in range(2):
            assert (fast.step(X, Y, **problem["optimizer"])
                    == general.step(X.tolist(), Y.tolist(), **problem["optimizer"]))
            assert (fast.step(X[-1], Y[-1], **problem["optimizer"])
                    == general.step(X[-1:].tolist(), Y[-1:].tolist(), **problem["optimizer"]))
        a, b = fast.get_state(), general.get_state()
        np.testing.assert_array_equal(a["parameters"], b["parameters"])
        np.testing.assert_array_equal(a["optimizer"]["velocity"], b["optimizer"]["velocity"])
    on(kernels, run)


def test_one_call_paths_are_the_general_path(backend):
    check_one_call_paths_are_the_general_path(_fallback if backend == "python" else compiled())


# ---- finite outputs at any magnitude --------------------------------------------------------

def large(net, scale):
    """Scale the weights so that pre-activations reach about +-scale."""
    for w in net.weights:
        w[...] = np.sign(w) * scale
    return net


@settings(max_examples=60, deadline=None)
@given(head=st.sampled_from(HEADS), activation=st.sampled_from(HIDDEN),
       dtype=st.sampled_from(["float64", "float32"]),
       magnitude=st.sampled_from([1e2, 1e4, 1e8]), input_scale=st.sampled_from([1.0, 1e4]),
       seed=st.integers(0, 1000))
def check_outputs_stay_finite(head, activation, dtype, magnitude, input_scale, seed):
    output, loss = head
    if activation in ("relu", "leaky_relu", "identity") or output in ("relu", "leaky_relu", "identity"):
        magnitude = min(magnitude, 1e4)  # unbounded units multiply: stay within float32's range
    if dtype == "float32":
        input_scale = min(input_scale, 1e2)
    rng = np.random.default_rng(seed)
    net = large(bpcore.Network([3, 4, 3], activation=activation, output=output, loss=loss,
                               dtype=dtype, seed=seed), magnitude if activation in ("sigmoid", "tanh") else 1.0)
    # the last layer gets the large weights too, so the output's z reaches +-magnitude
    net.weights[-1][...] = np.sign(net.weights[-1]) * magnitude
    X = input_scale * rng.choice([-1.0, 1.0], size=(5, 3))
    if loss == "cross_entropy":
        Y = np.eye(3)[rng.integers(0, 3, size=5)]
    elif loss == "binary_cross_entropy":
        Y = rng.integers(0, 2, size=(5, 3)).astype(float)
    else:
        Y = rng.uniform(size=(5, 3))
    prediction = net.predict(X)
    assert np.isfinite(prediction).all()
    if output in ("sigmoid", "softmax"):
        assert ((prediction >= 0) & (prediction <= 1)).all()
    if output == "softmax":
        np.testing.assert_allclose(prediction.sum(axis=1), 1, rtol=1e-6)
    assert np.isfinite(net.loss(X, Y))
    g = net.gradients(X, Y)
    assert all(np.isfinite(w).all() for w in g.weights + g.biases)


def test_outputs_stay_finite_for_large_pre_activations(backend):
    check_outputs_stay_finite()


@pytest.mark.parametrize("output, loss", [("sigmoid", "binary_cross_entropy"),
                                          ("softmax", "cross_entropy"), ("sigmoid", "mse")])
@pytest.mark.parametrize("z", [1e4, -1e4, 700.0, -750.0, 1e300, -1e300])
def test_saturated_output_layer_gives_the_limit_values(output, loss, z, backend):
    # one weight of +-1 from an input of z: the output's pre-activation is exactly +-z
    net = bpcore.Network([1, 2], output=output, loss=loss, seed=0)
    net.weights[0][...] = [[1.0], [-1.0]]
    a = net.predict([z])
    assert np.isfinite(a).all()
    expected = [1.0, 0.0] if z > 0 else [0.0, 1.0]
    np.testing.assert_allclose(a, expected, atol=1e-300)
    y = np.array([expected]) if loss != "mse" else np.array([[0.5, 0.5]])
    assert np.isfinite(net.loss([z], y))
    if loss == "binary_cross_entropy":
        # a confident wrong answer costs about |z| per output, never inf
        assert net.loss([z], np.array([[1.0, 1.0]]) - y) == pytest.approx(2 * abs(z), rel=1e-12)
