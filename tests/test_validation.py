"""Bad input at the public entry points becomes one ValueError or TypeError naming the argument,
and the kernels' Python-facing wrappers refuse inconsistent buffers instead of crashing."""
import decimal
import fractions
import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
import scipy.sparse

import bpcore
from bpcore import _backend

RNG = np.random.default_rng(0)
X = RNG.normal(size=(4, 3))
Y = RNG.uniform(size=(4, 2))


def network(**kwargs):
    return bpcore.Network([3, 5, 2], seed=1, **kwargs)


def with_value(array, index, value):
    array = np.array(array, dtype=float)
    array[index] = value
    return array


def without_warnings(function, *args):
    # no NumPy warning before bpcore's error (a cast to float32 that overflows warns)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return function(*args)


def with_adam_step(value):
    """The state of a float32 network after one Adam epoch, with the step count `value`."""
    net = network(dtype="float32")
    net.fit(X, Y, epochs=1, optimizer="adam")
    state = net.get_state()
    state["optimizer"]["step"] = value
    return state


def fit(**kwargs):
    options = {"epochs": 1, **kwargs}
    return lambda: network().fit(X, Y, **options)


def step(**kwargs):
    options = {"lr": 0.1, **kwargs}
    return lambda: network().step(X, Y, **options)


# (id, call, exception type, pattern the message must match: it names the argument)
CASES = [
    # None for an array
    ("X None at predict", lambda: network().predict(None), TypeError, r"^X must hold real numbers \(int or float\), got None$"),
    ("Y None at loss", lambda: network().loss(X, None), TypeError, r"^Y must hold real numbers \(int or float\), got None$"),
    # non-finite values
    ("X nan at predict", lambda: network().predict(with_value(X, (1, 2), np.nan)), ValueError, r"X must be finite.*, first at X\[1, 2\] \(nan\)$"),
    ("X inf at fit", lambda: network().fit(with_value(X, (0, 0), np.inf), Y, epochs=1), ValueError, r"X must be finite.*, first at X\[0, 0\] \(inf\)$"),
    ("X -inf at loss", lambda: network().loss(with_value(X, (3, 1), -np.inf), Y), ValueError, r"X must be finite.*, first at X\[3, 1\] \(-inf\)$"),
    ("X nan in one sample", lambda: network().predict(with_value(X[0], 2, np.nan)), ValueError, r"X must be finite.*, first at X\[2\] \(nan\)$"),
    ("Y nan in a list of one output", lambda: bpcore.Network([3, 5, 1]).fit(X, [0.0, 1.0, np.nan, 0.0], epochs=1), ValueError, r"Y must be finite.*, first at Y\[2\] \(nan\)$"),
    ("Y nan at loss", lambda: network().loss(X, with_value(Y, (2, 1), np.nan)), ValueError, r"Y must be finite.*, first at Y\[2, 1\] \(nan\)$"),
    ("Y inf at fit", lambda: network().fit(X, with_value(Y, (0, 0), np.inf), epochs=1), ValueError, r"Y must be finite"),
    ("Y nan at step", lambda: network().step(X, with_value(Y, (0, 1), np.nan), lr=0.1), ValueError, r"Y must be finite"),
    ("Y nan at gradients", lambda: network().gradients(X, with_value(Y, (3, 0), np.nan)), ValueError, r"Y must be finite"),
    ("X overflows float32", lambda: without_warnings(network(dtype="float32").predict, with_value(X, (0, 0), 1e300)), ValueError, r"X holds values beyond the range of float32, the network's dtype \(largest magnitude 1e\+300\): scale X or use a float64 network"),
    ("X overflows float32 at step", lambda: without_warnings(network(dtype="float32").step, with_value(X, (0, 0), 1e39), Y, 0.1), ValueError, r"X holds values beyond the range of float32.*1e\+39"),
    ("X nan for float32", lambda: without_warnings(network(dtype="float32").fit, with_value(X, (0, 0), np.nan), Y), ValueError, r"X must be finite.*as float32"),
    ("parameters overflow float32 at set_state", lambda: without_warnings(network(dtype="float32").set_state, {"parameters": with_value(network().get_state()["parameters"], 0, 1e300)}), ValueError, r"state\['parameters'\] holds values beyond the range of float32, the network's dtype \(largest magnitude 1e\+300\): use a float64 network"),
    ("Adam's step nan at set_state", lambda: network(dtype="float32").set_state(with_adam_step(np.nan)), ValueError, r"state\['optimizer'\]\['step'\] must be finite, but it holds NaN or infinity \(as float64\)$"),
    ("parameters nan at set_state", lambda: network().set_state({"parameters": with_value(network().get_state()["parameters"], 3, np.nan)}), ValueError, r"state\['parameters'\] must be finite, but it holds NaN or infinity \(as float64"),
    ("X ragged", lambda: network().predict([[1.0, 2.0, 3.0], [1.0, 2.0]]), ValueError, r"^X must be a rectangular array of numbers, but its rows \(or their entries\) differ in length$"),
    ("X of an int beyond 64 bits", lambda: network().predict([[10**400, 1.0, 1.0]]), TypeError, r"^X must hold real numbers \(int or float\), got Python objects \(dtype object\): X\[0, 0\] is an integer beyond 64 bits$"),
    ("X with a None", lambda: network().predict([[1.0, None, 1.0]]), TypeError, r"^X must hold real numbers \(int or float\), got Python objects \(dtype object\): X\[0, 1\] is None$"),
    ("X with a Decimal", lambda: network().predict([1.0, 2.0, decimal.Decimal(1)]), TypeError, r"^X must hold real numbers \(int or float\), got Python objects \(dtype object\): X\[2\] is of type Decimal$"),
    ("X a set", lambda: network().predict({1.0, 2.0, 3.0}), TypeError, r"^X must hold real numbers \(int or float\), got an object of type set: pass a list or an array of its numbers$"),
    ("X a generator", lambda: network().predict(v for v in (1.0, 2.0, 3.0)), TypeError, r"^X must hold real numbers \(int or float\), got an object of type generator: pass a list or an array of its numbers$"),
    ("Y ragged at fit", lambda: network().fit(X, [[0.0, 1.0], [1.0], [0.0, 1.0], [1.0, 0.0]], epochs=1), ValueError, r"Y must be a rectangular array of numbers"),
    # containers np.asarray would misread
    ("X sparse at fit", lambda: network().fit(scipy.sparse.csr_matrix(X), Y, epochs=1), TypeError, r"X must be a dense array, got a sparse csr_matrix: pass X.toarray\(\)"),
    ("X sparse array at predict", lambda: network().predict(scipy.sparse.csr_array(X)), TypeError, r"X must be a dense array"),
    ("Y sparse at loss", lambda: network().loss(X, scipy.sparse.coo_matrix(Y)), TypeError, r"Y must be a dense array"),
    ("X masked at fit", lambda: network().fit(np.ma.masked_greater(X, 1.0), Y, epochs=1), TypeError, r"X is a masked array with masked entries"),
    ("Y masked at step", lambda: network().step(X, np.ma.masked_less(Y, 0.5), lr=0.1), TypeError, r"Y is a masked array with masked entries"),
    # shapes
    ("X too narrow at predict", lambda: network().predict(X[:, :2]), ValueError, r"X has 2 features, but the network expects 3"),
    ("X of one feature", lambda: network().predict(X[:, :1]), ValueError, r"X has 1 feature, but the network expects 3"),
    ("X too wide at predict", lambda: network().predict(np.ones((2, 4))), ValueError, r"X has 4 features"),
    ("one sample too wide", lambda: network().predict(np.ones(5)), ValueError, r"X has 5 features, but the network expects 3$"),
    # a 1-D X for a network of one input: meant as a column of samples, most likely
    ("1-D X, one input", lambda: bpcore.Network([1, 2]).fit(np.ones(5), np.zeros((5, 2))), ValueError, r"X has 5 features, but the network expects 1 \(a 1-D X is one sample: X\.reshape\(-1, 1\) makes each value a sample\)$"),
    ("X of 0 samples", lambda: network().predict(np.empty((0, 3))), ValueError, r"X must hold at least one sample"),
    ("X of 0 samples at fit", lambda: network().fit(np.empty((0, 3)), np.empty((0, 2))), ValueError, r"X must hold at least one sample"),
    ("X of 0 features", lambda: network().predict(np.empty((4, 0))), ValueError, r"X has 0 features"),
    ("empty 1-D X", lambda: network().predict([]), ValueError, r"X must hold at least one sample of 3 features, got an empty array"),
    ("empty X and Y at fit", lambda: network().fit([], []), ValueError, r"X must hold at least one sample of 3 features, got an empty array"),
    ("Y of 0 features", lambda: network().loss(X, np.empty((4, 0))), ValueError, r"Y has 0 outputs, but the network has 2"),
    ("Y too wide", lambda: network().loss(X, np.ones((4, 3))), ValueError, r"Y has 3 outputs"),
    ("Y fewer samples", lambda: network().fit(X, Y[:3], epochs=1), ValueError, r"Y has 3 samples, but X has 4"),
    ("Y more samples", lambda: network().loss(X, np.vstack([Y, Y])), ValueError, r"Y has 8 samples, but X has 4"),
    ("Y 1-D for 2 outputs", lambda: network().loss(X, Y[:, 0]), ValueError, r"Y must be 2-D"),
    # one sample: the count of its values is what is wrong, not Y's dimensions
    ("Y of too many values for one sample", lambda: network().loss(X[0], [1.0, 0.0, 0.0]), ValueError, r"^Y holds 3 values for the one sample of X, but the network has 2 outputs$"),
    ("Y of one value for one sample of 2 outputs", lambda: network().loss(X[:1], [1.0]), ValueError, r"^Y holds 1 value for the one sample of X, but the network has 2 outputs$"),
    ("Y a set for one output", lambda: bpcore.Network([3, 1]).loss(X[0], {0.5}), TypeError, r"^Y must hold real numbers \(int or float\), got an object of type set: pass a list or an array of its numbers$"),
    ("X of arrays as entries", lambda: network().predict(np.array([np.zeros(2), 1.0, 2.0], dtype=object)), TypeError, r"X\[0\] is of type ndarray$"),
    ("Y a number for 2 outputs", lambda: network().loss(X[0], 1.0), ValueError, r"^Y is one number, but the network has 2 outputs$"),
    ("Y a number for 4 samples", lambda: bpcore.Network([3, 1]).loss(X, 1.0), ValueError, r"^Y is one number, but X has 4 samples: give one target per sample$"),
    ("X 3-D", lambda: network().predict(X.reshape(2, 2, 3)), ValueError, r"X must be a 2-D array"),
    ("X 3-D at fit", lambda: network().fit(X.reshape(4, 1, 3), Y, epochs=1), ValueError, r"X must be a 2-D array"),
    ("Y 3-D", lambda: network().loss(X, Y.reshape(4, 2, 1)), ValueError, r"Y must be a 2-D array"),
    ("X scalar", lambda: network().predict(3.0), ValueError, r"X must be a 2-D array"),
    # dtypes
    ("X object", lambda: network().predict(np.where(X > 0, X, "a").astype(object)), TypeError, r"^X must hold real numbers \(int or float\), got Python objects \(dtype object\): X\[\d, \d\] is of type str$"),
    ("X None entries", lambda: network().predict([[1.0, None, 2.0]]), TypeError, r"X must hold real numbers"),
    ("X strings", lambda: network().predict([["1", "2", "3"]]), TypeError, r"X must hold real numbers.*strings"),
    ("X bytes", lambda: network().predict(np.array([[b"1", b"2", b"3"]])), TypeError, r"X must hold real numbers.*bytes"),
    ("X complex", lambda: network().predict(X + 1j), TypeError, r"X must hold real numbers.*complex"),
    ("X bool", lambda: network().predict(X > 0), TypeError, r"X must hold real numbers \(int or float\), got booleans \(dtype bool\): X\.astype\(float\) makes them 0 and 1$"),
    ("X datetime", lambda: network().predict(np.zeros((1, 3), dtype="datetime64[s]")), TypeError, r"^X must hold real numbers \(int or float\), got dates and times \(dtype datetime64\[s\]\)$"),
    ("Y object", lambda: network().loss(X, np.where(Y > 0, None, Y).astype(object)), TypeError, r"^Y must hold real numbers \(int or float\), got Python objects \(dtype object\): Y\[\d, \d\] is None$"),
    ("Y strings", lambda: network().fit(X, Y.astype(str), epochs=1), TypeError, r"Y must hold real numbers"),
    ("Y complex", lambda: network().step(X, Y + 0j, lr=0.1), TypeError, r"Y must hold real numbers"),
    ("Y bool", lambda: network().gradients(X, Y > 0.5), TypeError, r"Y must hold real numbers"),
    # target ranges of the cross-entropies
    ("Y outside [0, 1] for bce", lambda: network(loss="binary_cross_entropy").loss(X, Y + 1), ValueError, r"Y must lie in \[0, 1\]"),
    ("Y rows not summing to 1", lambda: network(output="softmax", loss="cross_entropy").loss(X, Y), ValueError, r"each row of Y must sum to 1 \(within 1e-05\)"),
    # optimizer numbers, in fit and in step
    ("lr zero", fit(lr=0.0), ValueError, r"lr must be"),
    ("lr negative", fit(lr=-0.1), ValueError, r"lr must be"),
    ("lr nan", fit(lr=float("nan")), ValueError, r"lr must be"),
    ("lr inf", step(lr=float("inf")), ValueError, r"lr must be"),
    # past float's range: float() raised a bare OverflowError
    ("lr an int past float", fit(lr=10**400), ValueError, r"^lr must be a finite number in \(0, inf\), got a value of type int beyond float64's range$"),
    ("weight_decay a Fraction past float", step(weight_decay=fractions.Fraction(-(10**400))), ValueError, r"^weight_decay must be a finite number in \[0, inf\), got a value of type Fraction beyond float64's range$"),
    ("lr string", fit(lr="0.1"), TypeError, r"lr must be a real number"),
    ("lr None", step(lr=None), TypeError, r"lr, a learning rate, is needed unless an optimizer"),
    ("lr bool", fit(lr=True), TypeError, r"lr must be a real number"),
    ("lr complex", step(lr=0.1 + 0j), TypeError, r"lr must be a real number"),
    ("lr array", fit(lr=np.array([0.1, 0.2])), TypeError, r"lr must be a real number"),
    ("momentum 1", fit(momentum=1.0), ValueError, r"momentum must be"),
    ("momentum above 1", step(momentum=1.5), ValueError, r"momentum must be"),
    ("momentum negative", fit(momentum=-0.1), ValueError, r"momentum must be"),
    ("momentum nan", step(momentum=float("nan")), ValueError, r"momentum must be"),
    ("momentum string", fit(momentum="0.9"), TypeError, r"momentum must be a real number"),
    ("weight_decay negative", fit(weight_decay=-1e-3), ValueError, r"weight_decay must be"),
    ("weight_decay inf", step(weight_decay=float("inf")), ValueError, r"weight_decay must be"),
    ("weight_decay text", fit(weight_decay="0.1"), TypeError, r"weight_decay must be a real number"),
    ("epochs 0", fit(epochs=0), ValueError, r"epochs must be at least 1"),
    ("epochs negative", fit(epochs=-5), ValueError, r"epochs must be at least 1"),
    ("epochs float", fit(epochs=2.0), TypeError, r"epochs must be an int"),
    ("epochs string", fit(epochs="10"), TypeError, r"epochs must be an int"),
    ("epochs bool", fit(epochs=True), TypeError, r"epochs must be an int"),
    ("batch_size 0", fit(batch_size=0), ValueError, r"batch_size must be at least 1"),
    ("batch_size negative", fit(batch_size=-1), ValueError, r"batch_size must be at least 1"),
    ("batch_size float", fit(batch_size=2.5), TypeError, r"batch_size must be an int"),
    ("batch_size 1.0", fit(batch_size=1.0), TypeError, r"batch_size must be an int"),
    ("shuffle string", fit(shuffle="yes"), TypeError, r"shuffle must be True or False"),
    ("tol negative", fit(tol=-1.0), ValueError, r"tol must be"),
    ("patience 0", fit(patience=0), ValueError, r"patience must be at least 1"),
    ("callback not callable", fit(callback=3), TypeError, r"callback must be callable"),
    # before the first epoch, which such a callback would otherwise train before failing
    ("callback of one argument", fit(callback=lambda epoch: None), TypeError, r"callback must take two arguments, callback\(epoch, loss\), got <function .*> with parameters \(epoch\)$"),
    # the network's shape and names
    ("sizes one layer", lambda: bpcore.Network([3]), ValueError, r"sizes must hold at least 2"),
    ("sizes empty", lambda: bpcore.Network([]), ValueError, r"sizes must hold at least 2"),
    ("sizes a 2-D array", lambda: bpcore.Network(np.array([[2, 3, 1]])), ValueError, r"sizes must be one sequence of layer widths such as \(4, 4, 4, 1\), got an array of shape \(1, 3\)$"),
    ("sizes zero width", lambda: bpcore.Network([3, 0, 1]), ValueError, r"sizes\[1\] must be at least 1"),
    ("sizes zero inputs", lambda: bpcore.Network([0, 1]), ValueError, r"sizes\[0\] must be at least 1"),
    ("sizes negative", lambda: bpcore.Network([2, -3, 1]), ValueError, r"sizes\[1\] must be at least 1"),
    ("sizes float width", lambda: bpcore.Network([2, 2.5, 1]), TypeError, r"sizes\[1\] must be an int"),
    ("sizes string", lambda: bpcore.Network("341"), TypeError, r"sizes must be a sequence"),
    ("sizes int", lambda: bpcore.Network(4), TypeError, r"sizes must be a sequence"),
    ("activation unknown", lambda: bpcore.Network([2, 1], activation="swish"), ValueError, r"activation must be one of"),
    ("activation softmax hidden", lambda: bpcore.Network([2, 2, 1], activation="softmax"), ValueError, r"activation must be one of"),
    ("activation not a string", lambda: bpcore.Network([2, 1], activation=None), ValueError, r"activation must be one of"),
    ("output unknown", lambda: bpcore.Network([2, 1], output="sigmoidal"), ValueError, r"output must be one of"),
    ("loss unknown", lambda: bpcore.Network([2, 1], loss="hinge"), ValueError, r"loss must be one of"),
    ("loss wrong case", lambda: bpcore.Network([2, 1], loss="MSE"), ValueError, r"loss must be one of"),
    ("softmax with mse", lambda: bpcore.Network([2, 3], output="softmax", loss="mse"), ValueError, r"softmax output needs loss='cross_entropy'"),
    ("softmax with bce", lambda: bpcore.Network([2, 3], output="softmax", loss="binary_cross_entropy"), ValueError, r"loss"),
    ("softmax over one output", lambda: bpcore.Network([2, 3, 1], output="softmax", loss="cross_entropy"), ValueError, r"softmax output needs at least 2 units .* got sizes\[-1\] = 1"),
    ("cross_entropy without softmax", lambda: bpcore.Network([2, 3], loss="cross_entropy"), ValueError, r"loss='cross_entropy' needs output='softmax'"),
    ("bce without sigmoid", lambda: bpcore.Network([2, 1], output="tanh", loss="binary_cross_entropy"), ValueError, r"needs output='sigmoid'"),
    ("dtype float16", lambda: bpcore.Network([2, 1], dtype="float16"), ValueError, r"dtype must be one of"),
    ("dtype int", lambda: bpcore.Network([2, 1], dtype=np.int64), ValueError, r"dtype must be one of"),
    ("seed string", lambda: bpcore.Network([2, 1], seed="abc"), TypeError, r"seed must be a non-negative int.*got 'abc'"),
    ("seed negative", lambda: bpcore.Network([2, 1], seed=-1), ValueError, r"seed must be a non-negative int.*got -1"),
    ("seed float", lambda: bpcore.Network([2, 1], seed=1.5), TypeError, r"seed must be a non-negative int.*got 1.5"),
]


@pytest.mark.parametrize("call, error, pattern", [case[1:] for case in CASES],
                         ids=[case[0] for case in CASES])
def test_bad_input_names_the_argument(call, error, pattern):
    with pytest.raises(error, match=pattern) as info:
        call()
    # exactly the documented type, not some subclass such as DivergenceError
    assert type(info.value) is error


def test_a_masked_array_with_nothing_masked_is_its_data():
    net = network()
    assert np.array_equal(net.predict(np.ma.masked_array(X)), net.predict(X))
    with pytest.raises(TypeError, match="sample_weight is a masked array"):
        net.fit(X, Y, epochs=1, sample_weight=np.ma.masked_less(np.arange(4.0), 1))


class LooksSparseOrMasked:
    """Array-like data with attributes named as sparse and masked arrays' are (a DataFrame
    with such columns): only real sparse and masked arrays are refused."""
    _mask = toarray = nnz = 1

    def __array__(self, dtype=None, copy=None):
        return X


def test_only_real_sparse_and_masked_arrays_are_refused():
    net = network()
    assert np.array_equal(net.predict(LooksSparseOrMasked()), net.predict(X))


@pytest.mark.parametrize("dtype", [np.int8, np.int64, np.uint16, np.uint64, np.float16])
def test_integer_and_small_float_inputs_are_converted(dtype):
    X_int = np.array([[1, 0, 2], [3, 1, 0]], dtype=dtype)
    Y_int = np.array([[0, 1], [1, 0]], dtype=dtype)
    net, twin = network(), network()
    assert np.array_equal(net.predict(X_int), net.predict(X_int.astype(np.float64)))
    assert net.loss(X_int, Y_int) == net.loss(X_int.astype(float), Y_int.astype(float))
    net.fit(X_int, Y_int, epochs=3)
    twin.fit(X_int.astype(float), Y_int.astype(float), epochs=3)
    assert all(np.array_equal(a, b) for a, b in zip(net.weights, twin.weights))


def test_nested_lists_and_numpy_scalars_are_accepted():
    net = network()
    expected = net.predict(X)
    assert np.array_equal(net.predict(X.tolist()), expected)
    history = net.fit(X, Y, epochs=np.int64(2), lr=np.float32(0.5), batch_size=np.int32(2),
                      momentum=np.float64(0.5))
    assert history.epochs == 2


def test_bad_input_leaves_the_network_unchanged():
    net = network()
    before = [w.copy() for w in net.weights]
    for call in (lambda: net.fit(X, with_value(Y, (0, 0), np.nan)),
                 lambda: net.fit(X, Y, lr=-1.0),
                 lambda: net.step(X, Y[:3], lr=0.1)):
        with pytest.raises(ValueError):
            call()
    assert all(np.array_equal(a, b) for a, b in zip(net.weights, before))


@pytest.mark.parametrize("batch_size", [2**63, 2**70])
def test_batch_size_beyond_a_c_integer_is_clamped_like_any_large_batch(batch_size):
    net, twin = network(), network()
    net.fit(X, Y, epochs=2, batch_size=batch_size)
    twin.fit(X, Y, epochs=2, batch_size=len(X))
    assert all(np.array_equal(a, b) for a, b in zip(net.weights, twin.weights))


# ---- the kernels' Python-facing wrappers ----------------------------------------------------

SIZES = [3, 4, 2]
N = 5
N_PARAMS = 4 * 4 + 2 * 5   # W[0] 4x3 + b[0] 4, W[1] 2x4 + b[1] 2
N_UNITS = 4 + 2


def arguments(kernels, dtype=np.float64):
    """Consistent arguments for every wrapper of a [3, 4, 2] sigmoid + mse network, 5 samples."""
    rng = np.random.default_rng(5)
    f = lambda *shape: rng.normal(size=shape).astype(dtype)  # noqa: E731
    return {
        "params": f(N_PARAMS), "state": np.zeros(N_PARAMS, dtype), "grads": f(N_PARAMS),
        "optimizer": kernels.OPTIMIZERS["sgd"], "settings": np.array([0.1, 0.5, 0.0, 0.01]),
        "sizes": np.array(SIZES, dtype=np.intp),
        "activations": np.array([kernels.ACTIVATIONS["sigmoid"]] * 2, dtype=np.intp),
        "loss": kernels.LOSSES["mse"], "X": f(N, 3), "Y": f(N, 2), "A": f(N * N_UNITS),
        "D": f(N * N_UNITS), "Z": f(N, 2), "A_out": f(N, 2), "order": np.arange(N, dtype=np.intp),
        "x": f(3), "y": f(2), "weights": np.abs(f(N)),
    }


def call(kernels, name, args):
    a = args
    if name == "forward":
        return kernels.forward(a["params"], a["sizes"], a["activations"], a["X"], a["A"], a["Z"])
    if name == "backward":
        return kernels.backward(a["params"], a["sizes"], a["activations"], a["loss"], a["Y"],
                                a["A"], a["D"], a["weights"])
    if name == "parameter_gradients":
        return kernels.parameter_gradients(a["sizes"], a["X"], a["A"], a["D"], a["grads"])
    if name == "batch_loss":
        return kernels.batch_loss(a["loss"], a["A_out"], a["Z"], a["Y"], a["weights"])
    if name == "update":
        return kernels.update(a["params"], a["grads"], a["state"], a["sizes"], a["optimizer"],
                              a["settings"])
    if name == "train_epoch":
        return kernels.train_epoch(a["params"], a["state"], a["sizes"], a["activations"],
                                   a["loss"], a["X"], a["Y"], a["weights"], a["order"],
                                   a.get("batch_size", 2),
                                   a["optimizer"], a["settings"])
    if name == "step_one":
        return kernels.step_one(a["params"], a["state"], a["sizes"], a["activations"],
                                a["loss"], a["x"], a["y"], a["optimizer"], a["settings"])
    if name == "forward_rows":
        return kernels.forward_rows(a["params"], a["sizes"], a["activations"], a["X"])
    if name == "step_rows":
        return kernels.step_rows(a["params"], a["state"], a["sizes"], a["activations"],
                                 a["loss"], a["X"], a["Y"], a["optimizer"], a["settings"])
    if name == "step_direct":
        return kernels.step_direct(a["params"], a["state"], a.get("scalars", np.ones(1)),
                                   a["sizes"], a["activations"], a["loss"], a["X"], a["Y"],
                                   a["optimizer"], a["settings"])
    raise AssertionError(name)


FUNCTIONS = ["forward", "backward", "parameter_gradients", "batch_loss", "update",
             "train_epoch", "step_one", "step_rows", "forward_rows", "step_direct"]


def test_consistent_arguments_work(backend):
    kernels = _backend.kernels
    for name in FUNCTIONS:
        call(kernels, name, arguments(kernels))  # no exception: the bad cases below differ only in one


def codes(*names):
    return lambda k: np.array([k.ACTIVATIONS[n] for n in names], dtype=np.intp)


# (function, argument, how to spoil it: a value, or a function of the kernels module)
WRAPPER_CASES = [
    ("forward", "params", np.zeros(N_PARAMS - 1)),
    ("forward", "params", np.zeros(N_PARAMS + 1)),
    ("forward", "A", np.zeros(N * N_UNITS - 1)),
    ("forward", "A", np.zeros(0)),
    ("forward", "Z", np.zeros((N - 1, 2))),
    ("forward", "Z", np.zeros((N, 3))),
    ("forward", "X", np.zeros((N, 2))),
    ("forward", "X", np.zeros((N, 4))),
    ("forward", "X", np.zeros((N, 3), dtype=np.float32)),
    ("forward", "A", np.zeros(N * N_UNITS, dtype=np.float32)),
    ("forward", "sizes", np.array([3], dtype=np.intp)),
    ("forward", "sizes", np.array([], dtype=np.intp)),
    ("forward", "sizes", np.array([3, 0, 2], dtype=np.intp)),
    ("forward", "sizes", np.array([3, -4, 2], dtype=np.intp)),
    ("forward", "activations", np.array([1], dtype=np.intp)),
    ("forward", "activations", np.array([1, 1, 1], dtype=np.intp)),
    ("forward", "activations", np.array([1, 7], dtype=np.intp)),
    ("forward", "activations", np.array([-1, 1], dtype=np.intp)),
    ("forward", "activations", codes("softmax", "sigmoid")),
    ("forward", "activations", codes("exp", "sigmoid")),
    ("backward", "loss", 4),
    ("backward", "loss", lambda k: k.LOSSES["poisson"]),
    ("backward", "loss", -1),
    ("backward", "loss", lambda k: k.LOSSES["cross_entropy"]),
    ("backward", "Y", np.zeros((N, 3))),
    ("backward", "A", np.zeros(N * N_UNITS - 1)),
    ("backward", "D", np.zeros(N * N_UNITS - 1)),
    ("backward", "params", np.zeros(N_PARAMS - 1)),
    ("backward", "Y", np.zeros((N, 2), dtype=np.float32)),
    ("backward", "D", np.zeros(N * N_UNITS, dtype=np.float32)),
    ("parameter_gradients", "A", np.zeros(N * N_UNITS + 1)),
    ("parameter_gradients", "D", np.zeros(N * N_UNITS - 1)),
    ("parameter_gradients", "grads", np.zeros(N_PARAMS - 1)),
    ("parameter_gradients", "X", np.zeros((N, 2))),
    ("parameter_gradients", "X", np.zeros((0, 3))),
    ("parameter_gradients", "sizes", np.array([3], dtype=np.intp)),
    ("parameter_gradients", "grads", np.zeros(N_PARAMS, dtype=np.float32)),
    ("batch_loss", "loss", 7),
    ("batch_loss", "Z", np.zeros((N, 3))),
    ("batch_loss", "Y", np.zeros((N - 1, 2))),
    ("batch_loss", "Y", np.zeros((N, 2), dtype=np.float32)),
    ("update", "params", np.zeros(N_PARAMS - 1)),
    ("update", "grads", np.zeros(N_PARAMS - 1)),
    ("update", "state", np.zeros(N_PARAMS + 1)),
    ("update", "sizes", np.array([3], dtype=np.intp)),
    ("update", "state", np.zeros(N_PARAMS, dtype=np.float32)),
    ("update", "optimizer", 1),
    ("update", "optimizer", -1),
    ("update", "settings", np.zeros(2)),
    ("update", "settings", np.zeros(3, dtype=np.float32)),
    ("train_epoch", "settings", np.zeros(5)),
    ("train_epoch", "optimizer", 7),
    ("step_one", "optimizer", 7),
    ("step_one", "settings", np.zeros(2)),
    ("forward_rows", "params", np.zeros(N_PARAMS - 1)),
    ("forward_rows", "sizes", np.array([3, -4, 2], dtype=np.intp)),
    ("forward_rows", "activations", codes("softmax", "sigmoid")),
    ("forward_rows", "X", [[0.0, 0.0, 0.0]] * N),
    ("step_rows", "optimizer", 7),
    # arguments Cython's signature refuses: the fallback refuses them before it writes the
    # scalar state into settings' end, as the compiled one does
    ("step_direct", "loss", 1.5),
    ("step_direct", "optimizer", "sgd"),
    # and those step_one and step_rows refuse: settings' end is given back as it was
    ("step_direct", "optimizer", 7),
    ("step_direct", "loss", 9),
    ("step_direct", "settings", np.zeros(2)),
    ("step_direct", "sizes", np.array([3, -4, 2], dtype=np.intp)),
    ("step_rows", "settings", np.zeros(2)),
    ("step_rows", "params", np.zeros(N_PARAMS - 1)),
    ("step_rows", "state", np.zeros(N_PARAMS + 1)),
    ("step_rows", "X", np.zeros((N, 4))),
    ("step_rows", "Y", np.zeros((N, 3))),
    ("step_rows", "Y", np.zeros((N - 1, 2))),
    ("step_rows", "sizes", np.array([3, -4, 2], dtype=np.intp)),
    ("step_rows", "loss", 9),
    ("step_rows", "activations", codes("sigmoid", "softmax")),  # softmax with mse
    ("step_rows", "X", [[0.0, 0.0, 0.0]] * N),
    ("train_epoch", "order", np.array([0, 1, N], dtype=np.intp)),
    ("train_epoch", "order", np.array([0, -1], dtype=np.intp)),
    ("train_epoch", "order", np.array([2**62], dtype=np.intp)),
    ("train_epoch", "order", np.array([0.0, 1.0])),
    ("train_epoch", "batch_size", 0),
    ("train_epoch", "batch_size", -3),
    ("train_epoch", "state", np.zeros(N_PARAMS - 1)),
    ("train_epoch", "params", np.zeros(N_PARAMS + 1)),
    ("train_epoch", "Y", np.zeros((N - 1, 2))),
    ("train_epoch", "Y", np.zeros((N, 3))),
    ("train_epoch", "X", np.zeros((N, 4))),
    ("train_epoch", "loss", 9),
    ("train_epoch", "activations", codes("sigmoid", "softmax")),  # softmax with mse

    ("train_epoch", "activations", codes("softmax", "softmax")),
    ("train_epoch", "Y", np.zeros((N, 2), dtype=np.float32)),
    ("train_epoch", "state", np.zeros(N_PARAMS, dtype=np.float32)),
    ("step_one", "params", np.zeros(N_PARAMS - 1)),
    ("step_one", "state", np.zeros(N_PARAMS + 1)),
    ("step_one", "x", np.zeros(4)),
    ("step_one", "y", np.zeros(3)),
    ("step_one", "sizes", np.array([3], dtype=np.intp)),
    ("step_one", "sizes", np.array([3, -4, 2], dtype=np.intp)),
    ("step_one", "loss", 9),
    ("step_one", "activations", codes("sigmoid", "softmax")),  # softmax with mse
]


@pytest.mark.parametrize("argument, spoiled", [
    ("x", np.zeros(3, dtype=np.float32)), ("state", np.zeros(N_PARAMS, dtype=np.float32)),
    ("settings", np.zeros(3, dtype=np.float32)),
    ("y", np.zeros((1, 2))), ("x", np.zeros(6)[::2]), ("x", np.array([0.0, np.nan, 1.0])),
    ("y", np.array([np.inf, 0.0])), ("params", np.zeros(N_PARAMS, dtype=np.float16))])
def test_step_one_leaves_what_it_cannot_take_to_the_general_path(backend, argument, spoiled):
    kernels = _backend.kernels
    args = arguments(kernels)
    args[argument] = spoiled
    kept = {key: value.copy() for key, value in args.items() if isinstance(value, np.ndarray)}
    assert call(kernels, "step_one", args) is None
    for key, value in kept.items():
        assert np.array_equal(args[key], value, equal_nan=True), key


@pytest.mark.parametrize("argument, spoiled", [
    ("X", np.zeros((N, 3), dtype=np.float32)), ("state", np.zeros(N_PARAMS, dtype=np.float32)),
    ("settings", np.zeros(4, dtype=np.float32)), ("X", np.zeros(3)), ("Y", np.zeros((1, N, 2))),
    ("X", np.zeros((N, 6))[:, ::2]), ("Y", np.asfortranarray(np.zeros((N, 2)))),
    ("X", np.zeros((0, 3))), ("Y", np.array([[0.0, 0.0]] * (N - 1) + [[np.nan, 0.0]])),
    ("X", np.array([[0.0, 0.0, 0.0]] * (N - 1) + [[0.0, np.inf, 0.0]])),
    ("params", np.zeros(N_PARAMS, dtype=np.float16))])
def test_step_rows_leaves_what_it_cannot_take_to_the_general_path(backend, argument, spoiled):
    kernels = _backend.kernels
    args = arguments(kernels)
    args[argument] = spoiled
    if argument == "X" and spoiled.ndim == 2 and len(spoiled) == 0:
        args["Y"] = np.zeros((0, 2))
    kept = {key: value.copy() for key, value in args.items() if isinstance(value, np.ndarray)}
    assert call(kernels, "step_rows", args) is None
    for key, value in kept.items():
        assert np.array_equal(args[key], value, equal_nan=True), key


@pytest.mark.parametrize("argument, spoiled", [
    ("X", np.zeros((N, 3), dtype=np.float32)), ("X", np.zeros(3)), ("X", np.zeros((1, N, 3))),
    ("X", np.zeros((N, 6))[:, ::2]), ("X", np.asfortranarray(np.zeros((N, 3)))),
    ("X", np.zeros((0, 3))), ("X", np.zeros((N, 4))),
    ("X", np.array([[0.0, 0.0, 0.0]] * (N - 1) + [[0.0, np.nan, 0.0]])),
    ("params", np.zeros(N_PARAMS, dtype=np.float16)), ("sizes", np.array(SIZES)[::1] * 1.0)])
def test_forward_rows_leaves_what_it_cannot_take_to_the_general_path(backend, argument,
                                                                      spoiled):
    kernels = _backend.kernels
    args = arguments(kernels)
    args[argument] = spoiled
    assert call(kernels, "forward_rows", args) is None


@pytest.mark.parametrize("loss, output, targets", [
    ("binary_cross_entropy", "sigmoid", [[0.0, 1.0]] * (N - 1) + [[0.0, 1.5]]),
    ("cross_entropy", "softmax", [[0.0, 1.0]] * (N - 1) + [[0.5, 0.6]]),
    ("poisson", "exp", [[0.0, 1.0]] * (N - 1) + [[0.0, -1.0]])])
def test_step_rows_leaves_targets_its_loss_refuses_to_the_general_path(backend, loss, output,
                                                                       targets):
    # only the last row is out of range: every row is checked
    kernels = _backend.kernels
    args = arguments(kernels)
    args["loss"] = kernels.LOSSES[loss]
    args["activations"] = codes("sigmoid", output)(kernels)
    args["Y"] = np.array(targets)
    kept = args["params"].copy()
    assert call(kernels, "step_rows", args) is None
    np.testing.assert_array_equal(args["params"], kept)
    args["Y"][-1] = args["Y"][0]
    assert call(kernels, "step_rows", args)[1] == 1  # the same rows in range: a step


@pytest.mark.parametrize("samples", ["one", "rows", "rows, 1-D targets"])
def test_step_direct_steps_as_step_one_and_step_rows_with_the_scalar_state(backend, samples):
    # Network.step's one call: the optimizer's scalar state (Adam's step count) goes into the
    # end of settings first, whatever stood there, and comes back out after the step
    kernels = _backend.kernels
    args = arguments(kernels)
    sizes = args["sizes"] if samples != "rows, 1-D targets" else np.array([3, 4, 1], np.intp)
    n_params = 4 * 4 + 1 * 5 if samples == "rows, 1-D targets" else N_PARAMS
    params = args["params"][:n_params].copy()
    X, Y = (args["x"], args["y"]) if samples == "one" else (args["X"], args["Y"])
    if samples == "rows, 1-D targets":
        Y = Y[:, 0].copy()
    adam = kernels.OPTIMIZERS["adam"]
    settings = np.array([0.01, 0.9, 0.999, 1e-8, 0.0, 0.0, 0.0, 99.0])  # a stale step count
    twin = [params.copy(), np.zeros(2 * n_params), settings.copy()]
    twin[2][-1] = 3.0
    mine = [params, np.zeros(2 * n_params), np.array([3.0]), settings]
    cost, outcome = kernels.step_direct(mine[0], mine[1], mine[2], sizes, args["activations"],
                                        args["loss"], X, Y, adam, mine[3])
    step = kernels.step_one if samples == "one" else kernels.step_rows
    total, twin_outcome = step(twin[0], twin[1], sizes, args["activations"], args["loss"], X,
                               Y.reshape(len(Y), -1) if samples != "one" else Y, adam, twin[2])
    n = 1 if samples == "one" else len(X)
    assert (cost, outcome) == (total / n, twin_outcome) and outcome == 1
    assert mine[2][0] == settings[-1] == twin[2][-1] == 4.0
    for a, b in zip(mine[:2] + mine[3:], twin):  # parameters, state and settings
        np.testing.assert_array_equal(a, b)


def test_step_direct_takes_scalars_that_are_settings_own_end(backend):
    # the scalar state may be a view of the very entries it is written into (memcpy onto
    # itself was undefined behaviour in C): the same step as from a copy
    kernels = _backend.kernels
    args = arguments(kernels)
    adam = kernels.OPTIMIZERS["adam"]
    settings = np.array([0.01, 0.9, 0.999, 1e-8, 0.0, 0.0, 0.0, 3.0])
    mine = [args["params"].copy(), np.zeros(2 * N_PARAMS), settings.copy()]
    twin = [args["params"].copy(), np.zeros(2 * N_PARAMS), settings.copy()]
    first = kernels.step_direct(mine[0], mine[1], mine[2][-1:], args["sizes"],
                                args["activations"], args["loss"], args["x"], args["y"], adam,
                                mine[2])
    second = kernels.step_direct(twin[0], twin[1], twin[2][-1:].copy(), args["sizes"],
                                 args["activations"], args["loss"], args["x"], args["y"], adam,
                                 twin[2])
    assert first == second and first[1] == 1 and mine[2][-1] == 4.0
    for a, b in zip(mine, twin):
        np.testing.assert_array_equal(a, b)


class ReshapesBadly(np.ndarray):
    def reshape(self, *shape, **kwargs):
        return self.reshaped


@pytest.mark.parametrize("reshaped", [None, [[0.0]] * N, np.zeros((N, 2))])
def test_step_direct_takes_no_reshape_on_trust(backend, reshaped):
    # 1-D targets of a one-output network become a column by ndarray's reshape: a subclass's
    # may give None, a list or another shape (a read out of bounds once)
    kernels = _backend.kernels
    args = arguments(kernels)
    sizes, params = np.array([3, 4, 1], np.intp), args["params"][:4 * 4 + 5].copy()
    twin = params.copy()
    Y = np.linspace(0.0, 1.0, N).view(ReshapesBadly)
    Y.reshaped = reshaped
    cost, outcome = kernels.step_direct(params, np.zeros_like(params), np.zeros(0), sizes,
                                        args["activations"], args["loss"], args["X"], Y,
                                        args["optimizer"], args["settings"])
    total, _ = kernels.step_rows(twin, np.zeros_like(twin), sizes, args["activations"],
                                 args["loss"], args["X"], np.linspace(0.0, 1.0, N)[:, None],
                                 args["optimizer"], args["settings"])
    assert outcome == 1 and cost == total / N
    np.testing.assert_array_equal(params, twin)


def read_only_array(array):
    array.flags.writeable = False
    return array


@pytest.mark.parametrize("argument, spoiled", [
    ("scalars", np.zeros(1, dtype=np.float32)), ("scalars", np.zeros(5)),
    ("scalars", read_only_array(np.zeros(0))), ("X", np.zeros((N, 4))),
    ("Y", np.zeros((N, 3))), ("Y", np.zeros(N)), ("X", np.zeros((1, N, 3))),
    ("X", np.zeros(4)), ("X", np.zeros((N, 3), dtype=np.float32))])
def test_step_direct_leaves_what_it_cannot_take_to_the_general_path(backend, argument,
                                                                    spoiled):
    # the general path converts them or names what is wrong with them; a length that does
    # not fit is None here, where step_one and step_rows raise
    kernels = _backend.kernels
    args = dict(arguments(kernels), scalars=np.full(1, 3.0))  # settings' end: 0.01
    if argument == "X" and spoiled.ndim == 1:
        args["Y"] = args["y"]
    args[argument] = spoiled
    kept = {key: value.copy() for key, value in args.items() if isinstance(value, np.ndarray)}
    assert kernels.step_direct(args["params"], args["state"], args["scalars"], args["sizes"],
                               args["activations"], args["loss"], args["X"], args["Y"],
                               args["optimizer"], args["settings"]) is None
    for key, value in kept.items():
        assert np.array_equal(args[key], value), key


@pytest.mark.parametrize("function, argument, spoiled", WRAPPER_CASES,
                         ids=[f"{f}-{a}-{i}" for i, (f, a, _) in enumerate(WRAPPER_CASES)])
def test_wrappers_refuse_inconsistent_arguments(function, argument, spoiled):
    kernels = _backend.kernels
    args = arguments(kernels)
    args[argument] = spoiled(kernels) if callable(spoiled) else spoiled
    kept = {key: value.copy() for key, value in args.items() if isinstance(value, np.ndarray)}
    with pytest.raises((ValueError, TypeError)):
        call(kernels, function, args)
    # a refused call writes nothing
    for key, value in kept.items():
        assert np.array_equal(args[key], value, equal_nan=True), key


def test_float32_arguments_work_too(backend):
    kernels = _backend.kernels
    for name in FUNCTIONS:
        call(kernels, name, arguments(kernels, np.float32))


# Sizes holding a negative width, paired with buffers whose lengths match what those sizes
# imply: [10, 10, -1, 1] has 10*11 - 1*11 + 1*0 = 99 parameters and 10 units. A wrapper that
# checks only the lengths then writes 110 entries into the 99 of grads (or params/velocity).
# Run in a child process, since on a wrapper missing the check this corrupts the heap.
NEGATIVE_SIZES = textwrap.dedent("""
    import sys
    import numpy as np
    from bpcore import _fallback
    kernels = _fallback if sys.argv[1] == "python" else __import__("bpcore._kernels").__dict__["_kernels"]
    sizes = np.array([10, 10, -1, 1], dtype=np.intp)
    n = 2
    try:
        if sys.argv[2] == "parameter_gradients":
            kernels.parameter_gradients(sizes, np.ones((n, 10)), np.ones(10 * n), np.ones(10 * n),
                                        np.zeros(99))
        else:
            kernels.update(np.zeros(99), np.ones(99), np.zeros(99), sizes, 0,
                           np.array([0.1, 0.0, 0.0]))
    except (ValueError, TypeError) as error:
        print("refused:", type(error).__name__, error)
        sys.exit(0)
    print("accepted negative sizes")
    sys.exit(3)
""")


@pytest.mark.parametrize("function", ["parameter_gradients", "update"])
def test_wrappers_refuse_negative_sizes(function, backend):
    # in a child process: a wrapper that trusted these sizes would write past its buffers
    result = subprocess.run([sys.executable, "-c", NEGATIVE_SIZES, backend, function],
                            capture_output=True, text=True, timeout=120, cwd="/",
                            env={**os.environ, "BPCORE_BACKEND": backend})
    assert result.returncode == 0 and "refused" in result.stdout, result.stdout + result.stderr


# ---- samples_fit: the data checks of fit in one compiled pass ---------------------------------

# X of n rows of `width` and Y of n rows of 3: each falls short of (X 63, Y 63), fills
# exactly (X 64 and 128, Y 192) and passes (X 65 and 90, Y 66 and 195) the 64-entry lanes
SHAPES = [(1, 3), (7, 3), (9, 10), (21, 3), (16, 4), (22, 3), (64, 2), (65, 1)]


def one_hot_targets(n, width=3):
    """n rows of one-hot targets, `width` classes in turn."""
    return np.eye(width)[np.arange(n) % width]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n, width", SHAPES)
def test_samples_fit_finds_every_non_finite_entry(backend, dtype, n, width):
    kernels = _backend.kernels
    X = np.random.default_rng(n).normal(size=(n, width)).astype(dtype)
    Y = one_hot_targets(n).astype(dtype)
    assert kernels.samples_fit(X, Y, kernels.LOSSES["cross_entropy"])
    missed = []
    for name, values in (("X", X), ("Y", Y)):
        for position in range(values.size):
            for bad in (np.nan, np.inf, -np.inf):
                spoiled = values.copy()
                spoiled.flat[position] = bad
                data = (spoiled, Y) if name == "X" else (X, spoiled)
                if kernels.samples_fit(*data, kernels.LOSSES["mse"]):
                    missed.append((name, position, bad))
    assert missed == []


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n, width", SHAPES)
def test_samples_fit_finds_every_target_its_loss_refuses(backend, dtype, n, width):
    # each row and entry in turn: a target out of range, a row summing to other than 1
    kernels = _backend.kernels
    X = np.zeros((n, width), dtype=dtype)
    Y = one_hot_targets(n).astype(dtype)
    codes = kernels.LOSSES
    missed = []
    for position in range(Y.size):
        for value, refusing in ((-0.5, ("binary_cross_entropy", "cross_entropy", "poisson")),
                                (1.5, ("binary_cross_entropy", "cross_entropy"))):
            spoiled = Y.copy()
            spoiled.flat[position] = value
            for loss in codes:
                if kernels.samples_fit(X, spoiled, codes[loss]) == (loss in refusing):
                    missed.append((position, value, loss))
    for row in range(n):
        for off, fits in ((0.4 * 1e-5, True), (0.6 * 1e-5, False), (-0.6 * 1e-5, False)):
            spoiled = Y.astype(np.float64)
            spoiled[row] = [0.25, 0.75 + off, 0.0]
            spoiled = spoiled.astype(dtype)
            off = float(spoiled[row].sum(dtype=np.float64)) - 1  # as dtype rounds it
            fits = abs(off) <= 0.5e-5
            if kernels.samples_fit(X, spoiled, codes["cross_entropy"]) != fits:
                missed.append((row, off))
            assert kernels.samples_fit(X, spoiled, codes["binary_cross_entropy"])
    assert missed == []


def test_samples_fit_takes_only_arrays_as_the_kernels_read_them(backend):
    kernels = _backend.kernels
    X, Y = np.zeros((4, 3)), one_hot_targets(4)
    mse = kernels.LOSSES["mse"]
    assert kernels.samples_fit(X, Y, mse)
    for X_, Y_ in ((X.astype(np.float32), Y), (X, Y.astype(np.float32)), (X[:3], Y),
                   (X[:0], Y[:0]), (np.asfortranarray(np.zeros((4, 2))), Y[:, :2]),
                   (np.zeros((4, 6))[:, ::2], Y), (X.ravel(), Y), (X.astype(">f8"), Y),
                   (X, Y.astype(">f8")), (X.astype(np.float16), Y.astype(np.float16)),
                   (X[:, :0], Y), (X, Y[:, :0]),
                   (np.frombuffer(bytes(97), np.float64, 12, 1).reshape(4, 3), Y)):
        assert not kernels.samples_fit(X_, Y_, mse)
    read_only = X.copy()
    read_only.flags.writeable = False
    assert kernels.samples_fit(read_only, Y, mse)  # read, never written
    with pytest.raises(ValueError, match="loss code 9"):
        kernels.samples_fit(X, Y, 9)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fit_checks_arrays_of_numbers_in_the_compiled_pass_alone(backend, dtype, monkeypatch):
    # clean arrays of numbers never reach the NumPy checks, in whatever dtype and layout, and
    # are converted as those would convert them; anything else does, and gets their message
    net = bpcore.Network([3, 4, 2], output="softmax", loss="cross_entropy", dtype=dtype, seed=0)
    X, Y = np.random.default_rng(0).normal(size=(9, 3)), one_hot_targets(9, 2)
    forms = [(X.astype(dtype), Y.astype(dtype)), (X, Y), (X.astype(np.float32), Y.astype(int)),
             (np.asfortranarray(X), Y.astype(">f8")), (np.repeat(X, 2, axis=1)[:, ::2], Y)]
    general = [(net._inputs(x)[0], net._targets(y, len(x), False)) for x, y in forms]
    for name in ("as_samples", "as_targets"):  # a call would raise TypeError
        monkeypatch.setattr(f"bpcore.network.{name}", None)
    for (x, y), expected in zip(forms, general):
        for got, want in zip(net._data(x, y), expected):
            assert got.dtype == want.dtype and got.flags.c_contiguous and got.flags.aligned
            np.testing.assert_array_equal(got, want)
        net.fit(x, y, epochs=1)
    single = bpcore.Network([3, 4, 1], dtype=dtype, seed=0)
    single.fit(X, Y[:, 0], epochs=1)  # 1-D targets of one output
    monkeypatch.undo()
    for spoiled, message in ((with_value(X, (8, 2), np.nan), "X must be finite"),
                             (with_value(Y, (4, 0), 0.5), "each row of Y must sum to 1")):
        data = (spoiled, Y) if message[0] == "X" else (X, spoiled)
        for form in (np.float64, np.float32):
            with pytest.raises(ValueError, match=message):
                net.fit(*(part.astype(form) for part in data), epochs=1)
    with pytest.raises(ValueError, match="beyond the range of float32"):
        bpcore.Network([3, 2], dtype="float32").fit(with_value(X, (3, 1), 1e300), Y, epochs=1)


def test_a_number_is_the_target_of_one_sample_of_one_output_whatever_x_s_shape():
    net = bpcore.Network([3, 1], seed=0)
    x = np.array([0.5, -1.0, 2.0])
    assert net.loss(x[None, :], 0.25) == net.loss(x, 0.25) == net.loss(x[None, :], [[0.25]])


def test_a_range_of_targets_prints_negative_zero_as_zero():
    net = bpcore.Network([2, 2], output="softmax", loss="cross_entropy")
    with pytest.raises(ValueError, match=r"got values in \[-1, 0\]$"):
        net.loss([[0.0, 1.0]], [[-1.0, -0.0]])


def test_arrays_of_python_objects_that_are_all_real_numbers_are_read_as_numbers():
    # a pandas column of dtype object, a list mixing Fraction and float: what float() reads
    net = bpcore.Network([3, 2], seed=0)
    expected = net.predict(np.array([[0.5, 1.0, 2.0]]))
    for given in (np.array([[0.5, 1, 2.0]], dtype=object), [[fractions.Fraction(1, 2), 1, 2.0]],
                  np.array([0.5, 1.0, 2.0], dtype=object)):
        np.testing.assert_array_equal(np.atleast_2d(net.predict(given)), expected)
    # and a target of one sample given as a row of one-row X's outputs
    assert net.loss([[0.5, 1.0, 2.0]], [0.25, 0.75]) == net.loss([0.5, 1.0, 2.0], [0.25, 0.75])


def test_held_out_rows_without_weight_name_validation_data():
    # one weighted sample of 40: the held-out share draws none with weight
    rng = np.random.default_rng(0)
    X3, Y3 = rng.normal(size=(40, 3)), rng.normal(size=(40, 1))
    weights = np.zeros(40)
    weights[0] = 1.0
    net = bpcore.Network([3, 1], output="identity", seed=0)
    before = net.get_state()
    with pytest.raises(ValueError, match=r"^validation_fraction=0.2 drew (held-out|training) "
                                         r"rows whose sample_weight are all zero \(1 of 40 "
                                         r"samples weigh more than zero\); pass the validation "
                                         r"rows yourself, validation_data="):
        net.fit(X3, Y3, epochs=1, sample_weight=weights, validation_fraction=0.2)
    after = net.get_state()
    assert np.array_equal(after["parameters"], before["parameters"])
    assert after["generator"] == before["generator"]  # as if the call had not been made


def test_a_callback_answer_without_a_truth_value_names_the_callback():
    net = bpcore.Network([3, 2], seed=0)
    with pytest.raises(TypeError, match=r"^callback must return True to stop training, or None "
                                        r"or False to go on, got ndarray"):
        net.fit(X, Y, epochs=2, callback=lambda epoch, loss: np.array([False, True]))
