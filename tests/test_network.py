"""The Network API: a hand-worked step, XOR, explain, fit's stopping rules, initialisation."""
import copy
import math
import pickle
import tracemalloc
import warnings

import numpy as np
import pytest

import bpcore
from bpcore import _backend


def sigmoid(z):
    return 1 / (1 + math.exp(-z))


def test_hand_worked_step_on_the_articles_4_4_4_1_network():
    # Every weight 0.5, every bias 0.1, x = (1, 0, 1, 0), y = 1, MSE, lr = 0.5.
    network = bpcore.Network([4, 4, 4, 1], seed=0)
    for w, b in zip(network.weights, network.biases):
        w[...] = 0.5
        b[...] = 0.1
    x, y, lr = np.array([1.0, 0.0, 1.0, 0.0]), np.array([1.0]), 0.5

    # Forward, by hand: every neuron of a layer sees the same input.
    a1 = sigmoid(0.5 * 1 + 0.5 * 1 + 0.1)          # z1 = 1.1
    a2 = sigmoid(4 * 0.5 * a1 + 0.1)                # z2 = 2 a1 + 0.1
    a3 = sigmoid(4 * 0.5 * a2 + 0.1)                # z3 = 2 a2 + 0.1
    assert a1 == pytest.approx(0.7502601055951177, abs=1e-15)  # sigmoid(1.1)
    assert network.predict(x) == pytest.approx([a3], abs=1e-15)
    loss = 0.5 * (a3 - 1) ** 2
    assert network.loss(x, y) == pytest.approx(loss, abs=1e-15)

    # Backward, by hand: delta3 = (a3 - y) a3 (1 - a3); delta2 = 0.5 delta3 a2 (1 - a2);
    # delta1 = (4 * 0.5 * delta2) a1 (1 - a1).
    delta3 = (a3 - 1) * a3 * (1 - a3)
    delta2 = 0.5 * delta3 * a2 * (1 - a2)
    delta1 = 4 * 0.5 * delta2 * a1 * (1 - a1)
    g = network.gradients(x, y)
    assert g.deltas[2][0] == pytest.approx([delta3], abs=1e-15)
    assert g.deltas[1][0] == pytest.approx([delta2] * 4, abs=1e-15)
    assert g.deltas[0][0] == pytest.approx([delta1] * 4, abs=1e-15)
    # dC/dW[0]_jk = delta1 x_k: columns 0 and 2 carry delta1, columns 1 and 3 zero
    assert g.weights[0] == pytest.approx(np.tile([delta1, 0, delta1, 0], (4, 1)), abs=1e-15)
    assert g.weights[2][0] == pytest.approx([delta3 * a2] * 4, abs=1e-15)

    # The step: W -= lr dC/dW, b -= lr dC/db, and it returns the loss before it.
    assert network.step(x, y, lr=lr) == pytest.approx(loss, abs=1e-15)
    assert network.weights[2][0] == pytest.approx([0.5 - lr * delta3 * a2] * 4, abs=1e-15)
    assert network.biases[2] == pytest.approx([0.1 - lr * delta3], abs=1e-15)
    assert network.weights[0][:, 1] == pytest.approx([0.5] * 4, abs=0)
    assert network.weights[0][:, 0] == pytest.approx([0.5 - lr * delta1] * 4, abs=1e-15)
    assert network.loss(x, y) < loss


def test_step_with_momentum_and_weight_decay_follows_the_formula():
    rng = np.random.default_rng(3)
    X, Y = rng.normal(size=(5, 3)), rng.uniform(size=(5, 2))
    network = bpcore.Network([3, 4, 2], activation="tanh", seed=4)
    lr, momentum, decay = 0.1, 0.9, 0.01
    w0, b0 = network.weights[0].copy(), network.biases[0].copy()
    g = network.gradients(X, Y)
    network.step(X, Y, lr, momentum=momentum, weight_decay=decay)
    v_w = -lr * (g.weights[0] + decay * w0)            # velocity starts at zero
    v_b = -lr * g.biases[0]                            # no decay on biases
    np.testing.assert_allclose(network.weights[0], w0 + v_w, rtol=1e-14)
    np.testing.assert_allclose(network.biases[0], b0 + v_b, rtol=1e-14, atol=1e-16)
    w1 = network.weights[0].copy()
    g = network.gradients(X, Y)
    network.step(X, Y, lr, momentum=momentum, weight_decay=decay)
    v_w = momentum * v_w - lr * (g.weights[0] + decay * w1)
    np.testing.assert_allclose(network.weights[0], w1 + v_w, rtol=1e-14)


def test_xor_is_learned_by_a_2_3_1_sigmoid_network():
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    y = np.array([0, 1, 1, 0], dtype=float)
    network = bpcore.Network([2, 3, 1], seed=1)
    history = network.fit(X, y, epochs=5000, lr=2.0, tol=1e-3)
    assert history.stop_reason == "tol"
    assert history.losses[-1] <= 1e-3 < history.losses[0]
    np.testing.assert_array_equal(network.predict(X)[:, 0] > 0.5, y > 0.5)


@pytest.mark.parametrize("activation, output, loss", [
    ("sigmoid", "sigmoid", "mse"), ("tanh", "softmax", "cross_entropy"),
    ("relu", "sigmoid", "binary_cross_entropy"), ("leaky_relu", "identity", "mse"),
    ("tanh", "exp", "poisson")])
def test_explain_factors_multiply_to_the_gradient(activation, output, loss):
    rng = np.random.default_rng(2)
    network = bpcore.Network([3, 4, 4, 2], activation=activation, output=output, loss=loss,
                             seed=5)
    x = rng.normal(size=3)
    y = np.array([0.0, 1.0]) if loss != "mse" else rng.uniform(size=2)
    for layer in range(3):
        for j, k in [(0, 0), (1, 2)]:
            explanation = network.explain(x, y, layer, j, k)
            expected = network.gradients(x, y).weights[layer][j, k]
            assert explanation.gradient == expected
            assert explanation.product == pytest.approx(expected, rel=1e-12, abs=1e-16)
            assert len(explanation.factors) == (2 if layer == 2 and loss != "mse" else 3)
            assert f"dW[{layer + 1}]_{j}{k}" in str(explanation)  # the article's numbering
            if layer == 2:  # the output's a and y are shown, fused with the loss or not
                a = network.predict(x)[j]  # one 1-D sample in, its outputs out
                assert explanation.factors[0].formula.startswith(f"a - y = {a:.6g} - {y[j]:.6g}")


def test_explain_rejects_indices_outside_the_layer():
    network = bpcore.Network([3, 4, 2], seed=0)
    # each index named: "(j, k) must index ..., got (0, 4)" left the reader to find which
    with pytest.raises(ValueError, match=r"^j must be in \[0, 1\] to index W\[2\] "
                                         r"\(weights\[1\]\) of shape \(2, 4\), got j=2$"):
        network.explain(np.zeros(3), np.zeros(2), 1, 2, 0)
    with pytest.raises(ValueError, match=r"^k must be in \[0, 3\] to index W\[2\] "
                                         r"\(weights\[1\]\) of shape \(2, 4\), got k=4$"):
        network.explain(np.zeros(3), np.zeros(2), 1, 0, 4)
    with pytest.raises(ValueError, match=r"layer must be in \[0, 1\], got 2"):
        network.explain(np.zeros(3), np.zeros(2), 2, 0, 0)


@pytest.mark.parametrize("layer", [0, 1])
def test_explain_numbers_the_matrix_in_its_error_as_its_printout_does(layer):
    # the printout names the weight dW[l]_jk with the article's l = layer + 1; an error that
    # called the same matrix W[layer] would point the reader at the wrong one
    network = bpcore.Network([3, 4, 2], seed=0)
    x, y = np.zeros(3), np.zeros(2)
    printed = network.explain(x, y, layer, 0, 0).factors[-1].name  # "dz[l]_0/dW[l]_00"
    matrix = printed.split("/d")[-1].rsplit("_", 1)[0]  # "W[l]"
    with pytest.raises(ValueError) as error:
        network.explain(x, y, layer, 0, network.sizes[layer])  # k one past the last column
    assert str(error.value).startswith(f"k must be in [0, {network.sizes[layer] - 1}] to "
                                       f"index {matrix} ")


def test_explain_names_wide_layers_unambiguously_and_keeps_its_columns():
    # W[1]_111 could be row 1, column 11 or row 11, column 1: two-digit indices get a comma
    network = bpcore.Network([12, 12, 2], output="softmax", loss="cross_entropy", seed=0)
    x = np.linspace(-1.0, 1.0, 12)
    for j, k, subscript in [(1, 11, "1,11"), (11, 1, "11,1"), (2, 3, "23")]:
        explanation = network.explain(x, [0.0, 1.0], 0, j, k)
        assert explanation.factors[-1].name == f"dz[1]_{j}/dW[1]_{subscript}"
        assert explanation.factors[-1].formula == f"a[0]_{k} = x_{k}"
        expected = "_i,11 " if j == 11 else f"_i{j} "
        assert expected in explanation.factors[0].formula
    # the fused output factor's long formula: every value still starts in one column
    lines = str(network.explain(x, [0.0, 1.0], 1, 0, 1)).splitlines()
    assert len({line.rindex("=") for line in lines[:2]}) == 1, lines


@pytest.mark.parametrize("n_out, y, error, message", [
    (2, [0.0, 1.0, 0.0], ValueError, r"a 1-D array of 2 values, got shape \(3,\)"),
    (2, [[0.0], [1.0]], ValueError, r"a 1-D array of 2 values, got shape \(2, 1\)"),
    (2, 0.5, ValueError, r"a 1-D array of 2 values, got shape \(\)"),
    (1, [[0.5], [0.5]], ValueError, r"a 1-D array of 1 value, got shape \(2, 1\)"),
    (2, [0.0, np.nan], ValueError, "y must be finite"),  # the general messages where they fit
    (2, ["a", "b"], TypeError, "y must hold real numbers")])
def test_explain_names_y_when_it_does_not_fit(n_out, y, error, message):
    network = bpcore.Network([3, 4, n_out], seed=0)
    with pytest.raises(error, match=message) as raised:
        network.explain(np.zeros(3), y, 0, 0, 0)
    if "shape" in message:
        assert str(raised.value).startswith("y must be one sample's targets")
    network.explain(np.zeros(3), np.zeros(n_out), 0, 0, 0)
    network.explain(np.zeros(3), np.zeros((1, n_out)), 0, 0, 0)  # one row of Y too


def test_explain_takes_one_row_of_X_as_it_takes_one_row_of_Y():
    network = bpcore.Network([3, 4, 2], seed=0)
    x, y = np.linspace(-1.0, 1.0, 3), np.array([0.0, 1.0])
    row = network.explain(x[None, :], y[None, :], 0, 1, 2)  # x was refused: "one sample"
    assert str(row) == str(network.explain(x, y, 0, 1, 2))
    with pytest.raises(ValueError, match=r"^x must be one sample \(a 1-D array of 3 values, or "
                                         r"one row of them\), got shape \(2, 3\)$"):
        network.explain(np.zeros((2, 3)), y, 0, 0, 0)


def make_data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return X, np.tanh(X @ np.array([[0.5], [-1.0], [0.3]]))[:, 0] * 0.4 + 0.5


def test_fit_runs_all_epochs_by_default_and_the_loss_falls():
    X, y = make_data()
    network = bpcore.Network([3, 6, 1], seed=3)
    history = network.fit(X, y, epochs=30, lr=0.5)
    assert (history.epochs, history.stop_reason, len(history.losses)) == (30, "epochs", 30)
    assert history.losses[-1] < 0.5 * history.losses[0]


def test_fit_stops_on_patience():
    X, y = make_data()
    network = bpcore.Network([3, 6, 1], seed=3)
    # online SGD with a large step bounces around its minimum instead of settling in it
    history = network.fit(X, y, epochs=500, lr=10.0, patience=3)
    assert history.stop_reason == "patience"
    best = int(np.argmin(history.losses))
    assert history.epochs == best + 1 + 3
    assert min(history.losses[best + 1:]) >= history.losses[best]


def test_fit_stops_when_the_callback_says_so():
    X, y = make_data()
    seen = []

    def callback(epoch, loss):
        seen.append((epoch, loss))
        return epoch == 4

    history = bpcore.Network([3, 6, 1], seed=3).fit(X, y, epochs=50, callback=callback)
    assert history.stop_reason == "callback" and history.epochs == 4
    assert [loss for _, loss in seen] == history.losses
    assert [epoch for epoch, _ in seen] == [1, 2, 3, 4]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("momentum, weight_decay", [(0.0, 0.0), (0.9, 0.01)])
@pytest.mark.parametrize("sizes", [[3, 4, 1], [20, 64, 32, 1], [4096, 100, 1]],
                         ids=["loops", "blas", "blocks"])
def test_mini_batch_fit_takes_the_steps_that_step_takes(backend, dtype, momentum, weight_decay,
                                                        sizes):
    # an epoch's batches are Network.step's steps, to the last bit (step runs its batch
    # through the epoch kernel, whose plain SGD folds the update into the gradient's product
    # where "blas" and "blocks" reach BLAS), also for momentum and weight decay
    rng = np.random.default_rng(7)
    X, y = rng.normal(size=(10, sizes[0])), rng.uniform(size=10)
    a = bpcore.Network(sizes, dtype=dtype, seed=8)
    b = bpcore.Network(sizes, dtype=dtype, seed=8)
    a.fit(X, y, epochs=2, lr=0.3, batch_size=4, shuffle=False, momentum=momentum,
          weight_decay=weight_decay, restore_best=False)
    for _ in range(2):
        for rows in (slice(0, 4), slice(4, 8), slice(8, 10)):
            b.step(X[rows], y[rows], lr=0.3, momentum=momentum, weight_decay=weight_decay)
    for wa, wb in zip(a.weights + a.biases, b.weights + b.biases):
        np.testing.assert_array_equal(wa, wb)
    np.testing.assert_array_equal(a.get_state()["optimizer"]["velocity"],
                                  b.get_state()["optimizer"]["velocity"])


def test_same_seed_same_weights_and_no_global_random_state():
    np.random.seed(0)
    state = np.random.get_state()[1].copy()
    a = bpcore.Network([4, 5, 3], seed=42)
    b = bpcore.Network([4, 5, 3], seed=42)
    c = bpcore.Network([4, 5, 3], seed=43)
    np.testing.assert_array_equal(np.random.get_state()[1], state)
    for wa, wb, wc in zip(a.weights, b.weights, c.weights):
        np.testing.assert_array_equal(wa, wb)
        assert not np.array_equal(wa, wc)


@pytest.mark.parametrize("activation, limit", [
    ("sigmoid", lambda n_in, n_out: math.sqrt(6 / (n_in + n_out))),
    ("tanh", lambda n_in, n_out: math.sqrt(6 / (n_in + n_out))),
    ("relu", lambda n_in, n_out: math.sqrt(6 / n_in)),
    ("leaky_relu", lambda n_in, n_out: math.sqrt(6 / n_in))])
def test_initialisation_glorot_or_he_uniform_with_zero_biases(activation, limit):
    network = bpcore.Network([50, 80, 30], activation=activation, seed=0)
    for w, b in zip(network.weights, network.biases):
        n_out, n_in = w.shape
        bound = limit(n_in, n_out)
        assert np.abs(w).max() <= bound
        assert np.abs(w).max() > 0.95 * bound  # it fills the whole range, not a narrower one
        assert np.all(b == 0)


def test_shapes_one_sample_and_one_output():
    network = bpcore.Network([3, 4, 2], seed=0)
    assert network.sizes == (3, 4, 2)
    assert [w.shape for w in network.weights] == [(4, 3), (2, 4)]
    assert [b.shape for b in network.biases] == [(4,), (2,)]
    assert network.predict(np.zeros(3)).shape == (2,)
    assert network.predict(np.zeros((5, 3))).shape == (5, 2)
    single = bpcore.Network([3, 1], seed=0)
    X = np.ones((4, 3))
    assert single.loss(X, np.zeros(4)) == single.loss(X, np.zeros((4, 1)))


def test_weights_are_views_the_network_uses():
    network = bpcore.Network([2, 1], output="identity", seed=0)
    network.weights[0][...] = [[2.0, 3.0]]
    network.biases[0][...] = 1.0
    assert network.predict([1.0, 1.0]) == pytest.approx([6.0])


def test_sigmoid_and_losses_stay_finite_for_huge_pre_activations():
    network = bpcore.Network([1, 2], output="sigmoid", loss="binary_cross_entropy", seed=0)
    network.weights[0][...] = [[1e4], [-1e4]]
    x, y = np.array([1.0]), np.array([0.0, 1.0])
    out = network.predict(x)
    assert np.all(np.isfinite(out)) and out[0] == 1.0 and out[1] == 0.0
    # C = softplus(z) - y z = 1e4 for both outputs, exactly, never log(0)
    assert network.loss(x, y) == pytest.approx(2e4)
    softmax = bpcore.Network([1, 2], output="softmax", loss="cross_entropy", seed=0)
    softmax.weights[0][...] = [[1e4], [-1e4]]
    assert softmax.loss(x, y) == pytest.approx(2e4)
    assert np.all(np.isfinite(softmax.gradients(x, y).weights[0]))


def test_save_and_load_round_trip(tmp_path):
    network = bpcore.Network([3, 5, 2], activation="relu", output="softmax",
                             loss="cross_entropy", dtype="float32", seed=9)
    path = tmp_path / "model.npz"
    network.save(path)
    loaded = bpcore.load(path)
    assert (loaded.sizes, loaded.activation, loaded.output, loaded.loss_name, loaded.dtype) == (
        network.sizes, network.activation, network.output, network.loss_name, network.dtype)
    X = np.random.default_rng(0).normal(size=(4, 3))
    np.testing.assert_array_equal(loaded.predict(X), network.predict(X))


def test_fit_progress_prints_the_first_and_last_epoch_when_not_a_terminal(capsys):
    # in between, at most a line a second (tests/test_progress.py): how many depends on speed
    X, y = make_data()
    history = bpcore.Network([3, 6, 1], seed=3).fit(X, y, epochs=3, progress=True)
    lines = capsys.readouterr().err.strip().splitlines()
    shown = [int(line.split()[1].split("/")[0]) for line in lines]
    assert shown[0] == 1 and shown[-1] == 3 and shown == sorted(set(shown))
    for line, epoch in zip(lines, shown):
        assert line.startswith(f"epoch {epoch}/3")
        assert f"{history.losses[epoch - 1]:.4g}" in line


def test_a_network_pickles_to_identical_predictions_and_training():
    import pickle
    X, y = make_data()
    network = bpcore.Network([3, 6, 1], seed=3)
    network.predict(X)  # fills the per-backend cache, which must not be pickled
    copy = pickle.loads(pickle.dumps(network))
    np.testing.assert_array_equal(copy.predict(X), network.predict(X))
    network.fit(X, y, epochs=2)
    copy.fit(X, y, epochs=2)  # the generator travelled too: same shuffles
    np.testing.assert_array_equal(copy.predict(X), network.predict(X))


def test_what_a_network_computes_is_read_only_and_old_pickles_still_load():
    # the kernels' codes are made from these names once: setting one used to change what the
    # network said it was (save, to_onnx) but not what it computed
    X, _ = make_data()
    network = bpcore.Network([3, 6, 1], activation="tanh", seed=3)
    for name, value in (("activation", "relu"), ("output", "identity"), ("loss_name", "mae")):
        with pytest.raises(AttributeError, match=name):
            setattr(network, name, value)
    assert (network.activation, network.output, network.loss_name) == ("tanh", "sigmoid", "mse")
    # a network pickled when the three were plain attributes
    state = dict(network.__dict__)
    for old, new in (("activation", "_activation"), ("output", "_output_activation"),
                     ("loss_name", "_loss_name")):
        state[old] = state.pop(new)
    old = bpcore.Network.__new__(bpcore.Network)
    old.__setstate__(state)
    assert repr(old) == repr(network)
    np.testing.assert_array_equal(old.predict(X), network.predict(X))
    # and the other way: a pickle made now holds the keys that bpcore before reads
    pickled = network.__getstate__()
    assert (pickled["activation"], pickled["output"], pickled["loss_name"]) == (
        "tanh", "sigmoid", "mse")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
# the compiled fast path keeps a small network's scratch on the stack and the GIL; a network
# of over 512 units and 4096 parameters takes malloc'ed scratch and releases the GIL
@pytest.mark.parametrize("sizes", [[5, 7, 3], [5, 300, 300, 3]])
def test_single_sample_predict_matches_the_batch_path_and_still_checks(dtype, sizes):
    network = bpcore.Network(sizes, activation="tanh", output="softmax",
                             loss="cross_entropy", dtype=dtype, seed=2)
    X = np.random.default_rng(1).normal(size=(4, 5)).astype(dtype)
    batch = network.predict(X)
    # a matrix product of one row may round differently from a batch's (BLAS kernels differ);
    # float32 dot products of <= 8 terms are off by up to about 8 u = 5e-7 (u = 6e-8), and
    # measured 1.7e-7 under OPENBLAS_CORETYPE=Haswell, SkylakeX, Sandybridge and Prescott
    rtol = 1e-6 if dtype == "float32" else 1e-14
    if len(sizes) > 3:  # sums of 300 terms: the bound grows with their count (u * 300)
        rtol = 2e-5 if dtype == "float32" else 1e-13
    for i in range(4):
        one = network.predict(X[i])  # a C-contiguous row of the network's dtype: fast path
        assert one.dtype == np.dtype(dtype) and one.shape == (3,)
        np.testing.assert_allclose(one, batch[i], rtol=rtol)
    strided = np.repeat(X[0], 2)[::2]  # same values, not contiguous: the general path
    np.testing.assert_array_equal(network.predict(strided), network.predict(X[0]))
    other = X[0].astype(np.float32 if dtype == "float64" else np.float64)
    np.testing.assert_allclose(network.predict(other), batch[0], rtol=1e-6)
    for bad, message in [(np.array([1, np.nan, 0, 0, 0], dtype=dtype), "finite"),
                         (np.array([1, np.inf, 0, 0, 0], dtype=dtype), "finite"),
                         (np.zeros(4, dtype=dtype), "has 4 features, but the network expects 5")]:
        with pytest.raises(ValueError, match=message):
            network.predict(bad)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
# small layers (the plain loops), 300-wide ones (BLAS) and a batch of 32 through 64 -> 128
# (with copies, the forward products on copies of W^T: bpcore.info's forward copies)
@pytest.mark.parametrize("sizes, n", [([5, 7, 3], 6), ([5, 300, 300, 3], 4), ([64, 128, 10], 32)])
def test_batch_predict_takes_one_call_with_the_general_paths_bits(backend, dtype, sizes, n,
                                                                  monkeypatch, copies):
    network = bpcore.Network(sizes, activation="tanh", output="softmax",
                             loss="cross_entropy", dtype=dtype, seed=2)
    X = np.random.default_rng(1).normal(size=(n, sizes[0])).astype(dtype)
    calls = []
    forward_rows = _backend.kernels.forward_rows

    def recorded(*arguments):
        result = forward_rows(*arguments)
        calls.append(result is not None)
        return result
    monkeypatch.setattr(_backend.kernels, "forward_rows", recorded)
    fast = network.predict(X)
    assert calls == [True]  # the one call answered
    if backend == "cython" and sizes == [64, 128, 10]:  # the copies were taken, or not
        assert _backend.kernels.forward_copies(n, 64, 128) == copies
    assert fast.dtype == np.dtype(dtype) and fast.shape == (n, sizes[-1])
    np.testing.assert_array_equal(fast, network.predict(X.tolist()))  # the general path
    assert calls == [True]
    fast[0, 0] = 7.0  # a new array, not a view of scratch or of the network
    np.testing.assert_array_equal(network.predict(X)[1:], fast[1:])
    # strided, Fortran-ordered and converted rows take the general path (same values)
    for other in (np.repeat(X, 2, axis=1)[:, ::2], np.asfortranarray(X)):
        np.testing.assert_array_equal(network.predict(other), network.predict(X))
    for bad, message in [(np.where(np.eye(n, sizes[0]) > 0, np.nan, X), "finite"),
                         (np.where(np.eye(n, sizes[0]) > 0, np.inf, X), "finite"),
                         (np.zeros((n, sizes[0] + 1), dtype=dtype), "has"),
                         (np.zeros((0, sizes[0]), dtype=dtype), "at least one sample")]:
        with pytest.raises(ValueError, match=message):
            network.predict(bad.astype(dtype))


STEP_SETUPS = [  # sizes, activation, output, loss: every loss, the plain loops and BLAS gemv
    ([4, 4, 4, 1], "sigmoid", "sigmoid", "mse"),
    ([3, 5, 2], "relu", "sigmoid", "binary_cross_entropy"),
    ([20, 64, 32, 3], "tanh", "softmax", "cross_entropy"),
]


def step_targets(loss, rng, n_out, dtype):
    if loss == "cross_entropy":
        return np.eye(n_out, dtype=dtype)[rng.integers(n_out)]
    return rng.uniform(size=n_out).astype(dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("momentum, weight_decay", [(0.0, 0.0), (0.9, 0.01)])
@pytest.mark.parametrize("sizes, activation, output, loss", STEP_SETUPS)
def test_single_sample_step_matches_the_batch_path(backend, dtype, momentum, weight_decay,
                                                   sizes, activation, output, loss):
    def make():
        return bpcore.Network(sizes, activation=activation, output=output, loss=loss,
                              dtype=dtype, seed=4)
    fast, general = make(), make()
    rng = np.random.default_rng(5)
    for _ in range(20):
        x = rng.normal(size=sizes[0]).astype(dtype)
        y = step_targets(loss, rng, sizes[-1], dtype)
        # a 1-D C-contiguous sample of the network's dtype takes the one-call path; the
        # (1, n) batch as lists the general one: the same arithmetic, so the same bits
        a = fast.step(x, y, lr=0.1, momentum=momentum, weight_decay=weight_decay)
        b = general.step(x[None].tolist(), y[None].tolist(), lr=0.1, momentum=momentum,
                         weight_decay=weight_decay)
        assert a == b and type(a) is float
    np.testing.assert_array_equal(fast.get_state()["parameters"], general.get_state()["parameters"])
    np.testing.assert_array_equal(fast.get_state()["optimizer"]["velocity"], general.get_state()["optimizer"]["velocity"])


def batch_targets(loss, rng, n, n_out, dtype):
    return np.stack([step_targets(loss, rng, n_out, dtype) for _ in range(n)])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("optimizer", [
    pytest.param(lambda: bpcore.SGD(lr=0.1), id="sgd"),
    pytest.param(lambda: bpcore.SGD(lr=0.1, momentum=0.9, weight_decay=0.01), id="momentum"),
    pytest.param(lambda: bpcore.Adam(lr=0.01), id="adam"),
    pytest.param(lambda: bpcore.Rprop(lr=0.01), id="rprop")])
@pytest.mark.parametrize("sizes, activation, output, loss", STEP_SETUPS)
def test_a_batch_of_rows_steps_in_one_call_as_the_general_path_does(
        backend, dtype, optimizer, sizes, activation, output, loss, monkeypatch,
        assert_same_state, copies):
    # 2-D C-contiguous rows of the network's dtype take the one-call path (step_direct); the
    # same rows as lists the general one: the same epoch of one batch, so the same bits, for
    # batches of 1 (the fused online step), a few (the plain loops), 40 (BLAS, and plain
    # SGD's transposed first layer) and 32 (with copies, the forward products on copies of
    # W^T for [20, 64, 32, 3]), in parameters, optimizer state and the step count
    def make():
        return bpcore.Network(sizes, activation=activation, output=output, loss=loss,
                              dtype=dtype, seed=4)
    fast, general = make(), make()
    outcomes = []
    step_direct = _backend.kernels.step_direct

    def recorded(*arguments):
        result = step_direct(*arguments)
        outcomes.append(None if result is None else result[1])
        return result
    monkeypatch.setattr(_backend.kernels, "step_direct", recorded)
    rng = np.random.default_rng(5)
    for n in (1, 5, 40, 32, 3):
        X = rng.normal(size=(n, sizes[0])).astype(dtype)
        Y = batch_targets(loss, rng, n, sizes[-1], dtype)
        a = fast.step(X, Y, optimizer=optimizer())
        b = general.step(X.tolist(), Y.tolist(), optimizer=optimizer())
        assert a == b and type(a) is float
    assert outcomes == [1] * 5  # the one call stepped, each time
    if backend == "cython" and sizes == [20, 64, 32, 3]:  # the copies were taken, or not
        assert _backend.kernels.forward_copies(32, 20, 64) == copies
    assert_same_state(fast.get_state(), general.get_state())
    # one output: a 1-D Y of one target per row takes the one-call path too
    if sizes[-1] == 1:
        y = rng.uniform(size=6).astype(dtype)
        X = rng.normal(size=(6, sizes[0])).astype(dtype)
        assert fast.step(X, y, lr=0.1) == general.step(X.tolist(), y.tolist(), lr=0.1)
        assert outcomes == [1] * 6
        assert_same_state(fast.get_state(), general.get_state())


def test_a_batch_step_leaves_other_inputs_to_the_general_path(backend, assert_same_state):
    network = bpcore.Network([3, 5, 2], output="softmax", loss="cross_entropy", seed=1)
    before = network.get_state()
    X, Y = np.array([[1.0, 2.0, 0.0], [0.5, -1.0, 2.0]]), np.array([[0.0, 1.0], [1.0, 0.0]])
    for bad_X, bad_Y, message in [
            (np.array([[1.0, 2.0, 0.0], [1.0, np.nan, 0.0]]), Y, "X must be finite"),
            (X, np.array([[0.0, 1.0], [0.0, np.inf]]), "Y must be finite"),
            (X, np.array([[0.0, 1.0], [-0.5, 1.5]]), r"\[0, 1\]"),
            (X, np.array([[0.0, 1.0], [0.5, 0.6]]), "sum to 1"),
            (np.zeros((2, 4)), Y, "has 4 features"),
            (X, np.zeros((2, 3)), "has 3 outputs"),
            (X, Y[:1], "Y has 1 samples, but X has 2"),
            (np.zeros((0, 3)), np.zeros((0, 2)), "at least one sample"),
            (X, np.array([0.0, 1.0]), "Y must be 2-D")]:
        with pytest.raises(ValueError, match=message):
            network.step(bad_X, bad_Y, lr=0.1)
        assert_same_state(network.get_state(), before)
    # a row summing to 1 + 0.75e-5, within as_targets' tolerance (1e-5) but not half of it:
    # left to the general path (which sums in another order), which takes it
    edge = np.array([[0.0, 1.0], [0.5, 0.5 + 0.75e-5]])
    assert _backend.kernels.step_rows(
        network._params, network._state.arrays, network._sizes_array,
        network._activation_codes, network._loss_code, X, edge,
        _backend.kernels.OPTIMIZERS["sgd"],
        network._state.settings_for(bpcore.SGD(lr=0.1))) is None
    twin = bpcore.Network([3, 5, 2], output="softmax", loss="cross_entropy", seed=1)
    assert network.step(X, edge, lr=0.1) == twin.step(X.tolist(), edge.tolist(), lr=0.1)
    assert_same_state(network.get_state(), twin.get_state())
    # converted (float32 for a float64 network), Fortran-ordered and strided rows take the
    # general path, with the same result as the C-contiguous float64 rows
    for twin_X, other_X, other_Y in [(X, X.astype(np.float32), Y),
                                     (X, np.asfortranarray(X), Y),
                                     (X, np.repeat(X, 2, axis=1)[:, ::2],
                                      np.repeat(Y, 2, axis=0)[::2])]:
        assert network.step(other_X, other_Y, lr=0.1) == twin.step(twin_X, Y, lr=0.1)
        assert_same_state(network.get_state(), twin.get_state())


@pytest.mark.parametrize("optimizer", [
    pytest.param(lambda lr: bpcore.SGD(lr=lr, momentum=0.9), id="momentum"),
    pytest.param(lambda lr: bpcore.Adam(lr=lr), id="adam")])
def test_a_batch_step_that_diverges_is_undone(backend, optimizer, assert_same_state,
                                              monkeypatch):
    # on the one-call path: the parameters, the optimizer's state and its step count are as
    # before the step, whether the step made a parameter non-finite or the loss was not
    # finite before it
    outcomes = []
    step_direct = _backend.kernels.step_direct

    def recorded(*arguments):
        result = step_direct(*arguments)
        outcomes.append(result[1])
        return result
    monkeypatch.setattr(_backend.kernels, "step_direct", recorded)
    network = bpcore.Network([3, 4, 1], activation="identity", output="identity", seed=0)
    X, Y = np.array([[1.0, -2.0, 3.0], [0.5, 1.0, -1.0]]), np.array([[1000.0], [-1000.0]])
    network.step(X, Y, optimizer=optimizer(1e-3))  # some state to restore as well
    before = network.get_state()
    with pytest.raises(bpcore.DivergenceError, match="non-finite and was undone"):
        # Adam's steps are about lr whatever the gradient: lr=1e308 makes the parameters
        # overflow
        network.step(X, Y, optimizer=optimizer(1e306 if "momentum" in str(optimizer) else 1e308))
    assert_same_state(network.get_state(), before)
    network.weights[0][0, 0] = 1e300  # outputs overflow before any step
    before = network.get_state()
    # a smaller rate cannot help a step whose loss is infinite before it is taken
    with pytest.raises(bpcore.DivergenceError, match="not finite .* before the step, at the "
                                                     "parameters .* no learning rate helps from "
                                                     "here"):
        network.step(X, Y, optimizer=optimizer(1e-3))
    assert_same_state(network.get_state(), before)
    assert outcomes == [1, 3, 2]  # stepped; undone after the step; refused before it


def test_single_sample_step_leaves_other_inputs_to_the_general_path(backend):
    network = bpcore.Network([3, 5, 2], output="softmax", loss="cross_entropy", seed=1)
    before = network.get_state()["parameters"]
    for x, y, error, message in [
            (np.array([1.0, np.nan, 0.0]), np.array([0.0, 1.0]), ValueError, "X must be finite"),
            (np.array([1.0, 2.0, 0.0]), np.array([0.0, np.inf]), ValueError, "Y must"),
            (np.array([1.0, 2.0, 0.0]), np.array([-0.5, 1.5]), ValueError, r"\[0, 1\]"),
            (np.array([1.0, 2.0, 0.0]), np.array([0.5, 0.6]), ValueError, "sum to 1"),
            (np.zeros(4), np.array([0.0, 1.0]), ValueError, "has 4 features"),
            (np.zeros(3), np.array([0.0, 0.5, 0.5]), ValueError, "Y holds 3 values")]:
        with pytest.raises(error, match=message):
            network.step(x, y, lr=0.1)
        np.testing.assert_array_equal(network.get_state()["parameters"], before)
    # converted (float32 data for a float64 network) and strided samples take the general
    # path, with the same result as the contiguous float64 sample
    x, y = np.array([0.5, -1.0, 2.0]), np.array([1.0, 0.0])
    twin = bpcore.Network([3, 5, 2], output="softmax", loss="cross_entropy", seed=1)
    loss = twin.step(x, y, lr=0.1)
    strided = np.repeat(x, 2)[::2]
    assert network.step(strided, y.astype(np.float32), lr=0.1) == loss
    np.testing.assert_array_equal(network.get_state()["parameters"], twin.get_state()["parameters"])
    with pytest.raises(TypeError, match="lr must be a real number"):
        network.step(x, y, lr="0.1")


def test_a_step_that_overflows_raises_without_numpy_warnings(backend):
    network = bpcore.Network([3, 4, 1], activation="identity", output="identity", seed=0)
    X, Y = np.array([[1.0, -2.0, 3.0]] * 2), np.array([[1000.0], [1000.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(bpcore.DivergenceError, match="non-finite and was undone"):
            network.step(X, Y, lr=1e306)


def test_single_sample_step_that_diverges_is_undone(backend):
    network = bpcore.Network([3, 4, 1], activation="identity", output="identity", seed=0)
    x, y = np.array([1.0, -2.0, 3.0]), np.array([1000.0])
    network.step(x, y, lr=1e-3, momentum=0.9)  # some velocity to restore as well
    params, velocity = network.get_state()["parameters"], network.get_state()["optimizer"]["velocity"]
    with pytest.raises(bpcore.DivergenceError, match="non-finite and was undone"):
        network.step(x, y, lr=1e306, momentum=0.9)
    np.testing.assert_array_equal(network.get_state()["parameters"], params)
    np.testing.assert_array_equal(network.get_state()["optimizer"]["velocity"], velocity)
    network.weights[0][0, 0] = 1e300  # outputs overflow before any step
    with pytest.raises(bpcore.DivergenceError, match="not finite .* before the step"):
        network.step(x, y, lr=1e-3)


def test_sizes_beyond_the_kernels_limits_are_refused_up_front():
    from bpcore._spec import MAX_LAYERS, MAX_WIDTH
    with pytest.raises(ValueError, match=rf"sizes\[1\] must be at most {MAX_WIDTH}, got"):
        bpcore.Network([1, MAX_WIDTH + 1, 1])
    with pytest.raises(ValueError, match="sizes must hold at most"):
        bpcore.Network([1] * (MAX_LAYERS + 2))


def test_a_network_too_large_to_allocate_names_its_sizes():
    # 2^48 parameters (2 PiB) within the per-width limits: more than any machine has; and
    # the largest network the limits allow, past NumPy's own limit on an array's bytes
    from bpcore._spec import MAX_LAYERS, MAX_WIDTH
    with pytest.raises(MemoryError, match=rf"sizes \[{MAX_WIDTH}, {MAX_WIDTH}\] make "
                                          r"281,474,993,487,872 parameters"):
        bpcore.Network([MAX_WIDTH, MAX_WIDTH])
    with pytest.raises(MemoryError, match=rf"sizes \[{MAX_WIDTH}, {MAX_WIDTH}, {MAX_WIDTH}, "
                                          rf"\.\.\., {MAX_WIDTH}\] \({MAX_LAYERS + 1} widths\)"):
        bpcore.Network([MAX_WIDTH] * (MAX_LAYERS + 1))


def traced_peak(function):
    """Peak bytes allocated through Python and NumPy while `function` runs."""
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        function()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("batch_size", [1, 8])
@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_compiled_fit_allocates_nothing_per_sample(backend, momentum, batch_size):
    if backend != "cython":
        pytest.skip("about the compiled epoch's allocations")
    # parameters (800*1000 + 1000*10 weights) far larger than a batch's activations, so a
    # needless parameter-sized buffer would show
    network = bpcore.Network([800, 1000, 10], activation="relu", output="softmax",
                             loss="cross_entropy", seed=0)
    kernels = _backend.kernels
    state = network.get_state()
    velocity = state["optimizer"]["velocity"]
    codes = np.array([kernels.ACTIVATIONS["relu"], kernels.ACTIVATIONS["softmax"]], np.intp)
    loss = kernels.LOSSES["cross_entropy"]
    settings = np.array([0.01, momentum, 0.0, 0.0])
    rng = np.random.default_rng(0)
    params = state["parameters"].nbytes
    epoch_peaks = []
    for n in (64, 64, 3200):  # the first call may load SciPy's BLAS; then 50 times the data
        X, Y = rng.normal(size=(n, 800)), np.eye(10)[rng.integers(0, 10, n)]
        order = np.arange(n, dtype=np.intp)
        epoch_peaks.append(traced_peak(lambda: kernels.train_epoch(
            state["parameters"], velocity, np.array(network.sizes, np.intp), codes, loss, X, Y,
            np.empty(0), order, batch_size, kernels.OPTIMIZERS["sgd"], settings)))
    # batch scratch only: less than a byte per added sample (a copy of X or of the order
    # would be hundreds), and far less than a parameter-sized buffer: a mini-batch step holds
    # one block of gradients (about a third of these parameters), an online step none
    assert epoch_peaks[2] - epoch_peaks[1] < 3200 - 64
    gradients = params / 2 if batch_size > 1 else 0
    assert epoch_peaks[2] < gradients + params / 8
    # fit adds the rollback copy of the parameters, and of the velocity when momentum uses it
    # (restore_best would keep one more, of the best epoch's)
    X, Y = X[:64], Y[:64]
    network.fit(X, Y, epochs=1, lr=0.01, batch_size=batch_size, momentum=momentum,
                restore_best=False)
    peak = traced_peak(lambda: network.fit(X, Y, epochs=1, lr=0.01, batch_size=batch_size,
                                           momentum=momentum, restore_best=False))
    copies = 2 if momentum else 1
    assert copies * params < peak < (copies + 0.25) * params + gradients


def test_assigning_a_layer_writes_it_into_the_network():
    # weights and biases are lists made afresh on each access: assigning an item writes into
    # the network (it used to go into the throwaway list and change nothing)
    net = bpcore.Network([2, 3, 1], seed=0)
    net.weights[0] = np.arange(6.0).reshape(3, 2)
    net.biases[-1] = [5.0]
    assert np.array_equal(net.weights[0], np.arange(6.0).reshape(3, 2))
    assert np.array_equal(net.biases[1], [5.0])
    with pytest.raises(ValueError, match=r"weights\[0\] must have shape \(3, 2\), got an "
                       r"array of shape \(2, 3\)"):
        net.weights[0] = np.zeros((2, 3))
    with pytest.raises(TypeError, match=r"assign one layer at a time: biases\[i\] = array"):
        net.biases[0:1] = [np.zeros(3)]
    assert net.weights + [np.zeros(1)] and [np.zeros(1)] + net.biases  # lists, as before
    with pytest.raises(TypeError, match=r"^biases\[0\] must hold real numbers \(int or float\), "
                                        r"got strings \(dtype <U3\)$"):
        net.biases[0] = "abc"
    # a NaN or infinity came out as NaN predictions, and only save refused it
    with pytest.raises(ValueError, match=r"^weights\[1\] must hold finite numbers, got NaN or "
                                         r"infinity$"):
        net.weights[1] = [[1.0, np.inf, 0.0]]
    small = bpcore.Network([2, 1], dtype="float32", seed=0)
    with pytest.raises(ValueError, match=r"^biases\[0\] must hold numbers within float32's "
                                         r"range, got 1e\+300$"):
        small.biases[0] = [1e300]
    assert np.isfinite(net.weights[1]).all() and np.isfinite(small.biases[0]).all()
    # the number of layers is the network's: changing the list's would change nothing
    for change in (lambda: net.weights.append(np.ones(3)), lambda: net.biases.pop(),
                   lambda: net.weights.insert(0, np.ones((3, 2))), lambda: net.biases.clear()):
        with pytest.raises(TypeError, match=r"^a network's (weights|biases) hold one array per "
                                            r"layer, in the layers' order, both fixed by its "
                                            r"sizes"):
            change()
    views = net.weights
    with pytest.raises(TypeError, match="one array per layer"):
        views += [np.ones(3)]
    with pytest.raises(TypeError, match="one array per layer"):
        del views[0]
    # a copy is a plain list of arrays of its own, as a pickled one is
    for copied in (copy.deepcopy(net.weights), pickle.loads(pickle.dumps(net.weights))):
        assert type(copied) is list and len(copied) == 2
        copied[0][...] = 7.0
        assert np.array_equal(net.weights[0], np.arange(6.0).reshape(3, 2))


def test_explain_is_as_quiet_as_predict_when_numbers_overflow():
    # W[1] of 1e200 makes a ~ 1e200 and dC/da[1] = W[1]^T delta ~ 1e400: inf, as gradients
    # gives it, and no NumPy warning on the way
    net = bpcore.Network([2, 3, 1], activation="sigmoid", output="identity", seed=0)
    net.weights[1] = np.full((1, 3), 1e200)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        explanation = net.explain([0.5, 1.0], [0.0], 0, 0, 1)
    assert math.isinf(explanation.factors[0].value)
