"""Backpropagation's gradients against central finite differences, for every pairing of a
hidden activation with an output activation and loss."""
import itertools
import re

import numpy as np
import pytest

import bpcore
from bpcore.checks import numerical_gradients

HIDDEN = ["sigmoid", "tanh", "relu", "leaky_relu", "identity"]
OUTPUT_LOSS = [("sigmoid", "mse"), ("tanh", "mse"), ("relu", "mse"), ("leaky_relu", "mse"),
               ("identity", "mse"), ("sigmoid", "binary_cross_entropy"),
               ("softmax", "cross_entropy"), ("exp", "poisson")]


def data(loss, n=6, n_in=3, n_out=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_in))
    if loss == "cross_entropy":
        Y = np.eye(n_out)[rng.integers(0, n_out, n)]
    else:
        Y = rng.uniform(size=(n, n_out))
    return X, Y


@pytest.mark.parametrize("hidden, output_loss", list(itertools.product(HIDDEN, OUTPUT_LOSS)))
def test_gradients_match_central_differences(hidden, output_loss, central_differences):
    output, loss = output_loss
    network = bpcore.Network([3, 5, 4, 4], activation=hidden, output=output, loss=loss, seed=7)
    X, Y = data(loss)
    g = network.gradients(X, Y)
    analytic = [a for pair in zip(g.weights, g.biases) for a in pair]
    numeric = central_differences(network, X, Y)
    for a, n in zip(analytic, numeric):
        assert a.shape == n.shape
        np.testing.assert_allclose(a, n, rtol=0, atol=1e-7)
    assert bpcore.check_gradients(network, X, Y) <= 1e-7
    # the gradients are not all zero, so the comparison above means something
    assert max(np.abs(a).max() for a in analytic) > 1e-3


def test_check_gradients_detects_a_wrong_gradient(monkeypatch):
    network = bpcore.Network([3, 4, 2], seed=1)
    X, Y = data("mse", n_out=2)
    honest = bpcore.check_gradients(network, X, Y)
    real = bpcore.Network.gradients

    def off_by_a_bit(self, X, Y):
        g = real(self, X, Y)
        g.weights[0][0, 0] += 1e-3
        return g

    monkeypatch.setattr(bpcore.Network, "gradients", off_by_a_bit)
    assert honest <= 1e-8
    assert bpcore.check_gradients(network, X, Y) == pytest.approx(1e-3, rel=1e-3)


def test_check_gradients_on_float32_checks_a_float64_copy():
    network = bpcore.Network([3, 4, 2], activation="tanh", dtype="float32", seed=2)
    X, Y = data("mse", n_out=2)
    before = [w.copy() for w in network.weights]
    assert bpcore.check_gradients(network, X, Y) <= 1e-7
    assert network.dtype == np.float32
    for w, kept in zip(network.weights, before):
        np.testing.assert_array_equal(w, kept)


@pytest.mark.parametrize("eps", [np.float32(1e-3), np.float64(1e-6), 1e-6, 1])
def test_numerical_gradients_of_float32_are_those_of_a_float64_copy(eps):
    # float32 rounding would drown the differences; any real eps (NumPy's too) is taken
    network = bpcore.Network([3, 4, 2], activation="tanh", dtype="float32", seed=2)
    X, Y = data("mse", n_out=2)
    before = network.get_state()["parameters"].copy()
    wide = bpcore.Network([3, 4, 2], activation="tanh", seed=0)
    wide.set_state({"parameters": before.astype(np.float64)})
    numeric = numerical_gradients(network, X, Y, eps=eps)
    assert numeric.dtype == np.float64
    np.testing.assert_array_equal(numeric, numerical_gradients(wide, X, Y, eps=float(eps)))
    np.testing.assert_array_equal(network.get_state()["parameters"], before)
    if eps == 1e-6:
        g = wide.gradients(X, Y)
        analytic = np.concatenate([np.concatenate([w.ravel(), b])
                                   for w, b in zip(g.weights, g.biases)])
        np.testing.assert_allclose(numeric, analytic, rtol=0, atol=1e-7)


def test_gradients_repr_gives_shapes_not_a_row_per_sample():
    g = bpcore.Network([2, 3, 1], seed=0, dtype="float32").gradients(np.ones((1000, 2)),
                                                                    np.zeros(1000))
    assert repr(g) == (f"Gradients(weights=[<3x2 float32>, <1x3 float32>], biases=[<3 float32>, "
                       f"<1 float32>], deltas=[<1000x3 float32>, <1000x1 float32>], "
                       f"loss={g.loss!r}, outputs=<1000x1 float32>)")


def test_deltas_are_per_sample_and_average_to_the_bias_gradient():
    network = bpcore.Network([3, 5, 4], activation="relu", output="softmax",
                             loss="cross_entropy", seed=3)
    X, Y = data("cross_entropy")
    g = network.gradients(X, Y)
    assert [d.shape for d in g.deltas] == [(6, 5), (6, 4)]
    for delta, bias_gradient in zip(g.deltas, g.biases):
        np.testing.assert_allclose(delta.mean(axis=0), bias_gradient, rtol=1e-12, atol=1e-15)
    # softmax + cross-entropy: delta[L] = a[L] - y
    np.testing.assert_allclose(g.deltas[-1], network.predict(X) - Y, rtol=1e-12, atol=1e-15)
    assert g.loss == pytest.approx(network.loss(X, Y), rel=1e-15)


@pytest.mark.parametrize("output, loss", [("softmax", "cross_entropy"),
                                          ("sigmoid", "binary_cross_entropy"),
                                          ("identity", "mse"), ("exp", "poisson")])
def test_gradients_report_the_outputs_predict_gives(output, loss):
    network = bpcore.Network([3, 5, 4], activation="tanh", output=output, loss=loss, seed=4)
    X, Y = data(loss)
    g = network.gradients(X, Y, sample_weight=np.arange(1.0, 7.0))
    np.testing.assert_array_equal(g.outputs, network.predict(X))


@pytest.mark.parametrize("check", [bpcore.check_gradients, numerical_gradients])
@pytest.mark.parametrize("network, eps, error, message", [
    (None, 1e-6, TypeError, "network must be a bpcore.Network, got NoneType"),
    ("net", 1e-6, TypeError, "network must be a bpcore.Network, got str"),
    ("network", 0.0, ValueError, "eps must be a positive finite number, got 0.0"),
    ("network", float("nan"), ValueError, "eps must be a positive finite number, got nan"),
    ("network", True, TypeError, "eps must be a real number, got bool True"),
    ("network", 10**400, ValueError, "eps must be a positive finite number, got 1000"),
    ("network", "1e-6", TypeError, "eps must be a real number, got str '1e-6'"),
])
def test_the_gradient_checks_name_a_bad_argument(check, network, eps, error, message):
    X, Y = np.array([[0.0, 1.0]]), np.array([1.0])
    if network == "network":
        network = bpcore.Network([2, 1], seed=0)
    with pytest.raises(error, match=re.escape(message)):
        check(network, X, Y, eps=eps)
