"""Properties over random small networks: the compiled and pure-Python kernels agree on the
forward pass, the gradients, one SGD step and one epoch; outputs stay finite at any magnitude."""
import importlib

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
TOLERANCES = {"float64": {"rtol": 1e-10, "atol": 1e-12}, "float32": {"rtol": 1e-4, "atol": 1e-5}}


def compiled():
    try:
        return importlib.import_module("bpcore._kernels")
    except ImportError as error:  # conftest decides whether that may be skipped
        pytest.skip(f"compiled kernels not built: {error}")


def on(kernels, function):
    """Run function() with `kernels` as the active backend (no fixture: hypothesis reruns)."""
    saved = _backend.kernels, _backend.name
    _backend.kernels, _backend.name = kernels, "cython" if kernels is not _fallback else "python"
    try:
        return function()
    finally:
        _backend.kernels, _backend.name = saved


@st.composite
def problems(draw):
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
    optimiser = {"lr": draw(st.sampled_from([0.01, 0.1, 0.5])),
                 "momentum": draw(st.sampled_from([0.0, 0.9])),
                 "weight_decay": draw(st.sampled_from([0.0, 0.01]))}
    batch_size = draw(st.integers(1, n))
    return dict(sizes=sizes, activation=activation, output=output, loss=loss, dtype=dtype,
                seed=seed, X=X, Y=Y, optimiser=optimiser, batch_size=batch_size)


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
    out.append(("step loss", np.array(net.step(X, Y, **problem["optimiser"]))))
    out.append(("params after step", net._params.copy()))
    out.append(("velocity after step", net._velocity.copy()))
    history = net.fit(X, Y, epochs=1, batch_size=problem["batch_size"], **problem["optimiser"])
    out.append(("epoch loss", np.array(history.losses)))
    out.append(("params after epoch", net._params.copy()))
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problem=problems())
def check_backends_agree(kernels, problem):
    compiled_results = on(kernels, lambda: results(problem))
    fallback_results = on(_fallback, lambda: results(problem))
    for (name, a), (_, b) in zip(compiled_results, fallback_results):
        assert a.dtype == b.dtype == (np.float64 if "loss" in name else np.dtype(problem["dtype"])), name
        # atol scales with the array: an entry that is a difference of large ones (e.g. after a
        # step with weights in the thousands) carries the rounding of those large ones
        tolerance = dict(TOLERANCES[problem["dtype"]])
        tolerance["atol"] *= max(1.0, float(np.abs(b).max()))
        np.testing.assert_allclose(a, b, **tolerance, err_msg=name)


def test_compiled_and_fallback_kernels_agree(backend):
    # The test swaps the backend itself, so one run covers both; skip the second.
    if backend == "python":
        pytest.skip("compares both backends inside one run; runs once, under 'cython'")
    check_backends_agree(compiled())


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
