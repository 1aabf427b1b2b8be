"""FANN network files: save_fann writes what FANN 2.2 loads and runs with bpcore's outputs,
load_fann reads what FANN writes with FANN's outputs, and anything else is refused.

The checks against FANN itself run libdoublefann (Debian's libfann-dev) through a small
ctypes binding below, and are skipped when it is not installed; the round trips and the
refusals need no library.
"""
import ctypes
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

from bpcore import Network
from bpcore.bench.fann import doublefann
from bpcore.convert import load_fann, save_fann

# enum fann_activationfunc_enum
LINEAR, SIGMOID, SIGMOID_STEPWISE, SIGMOID_SYMMETRIC, SIGMOID_SYMMETRIC_STEPWISE = 0, 3, 4, 5, 6
GAUSSIAN, RECT, RECT_LEAKY = 7, 18, 19
FANN_CODE = {"identity": LINEAR, "sigmoid": SIGMOID, "tanh": SIGMOID_SYMMETRIC}

SIZES = [(3, 2), (4, 6, 3), (3, 5, 4, 6, 2)]  # one layer, one hidden, three hidden


def fann_binding():
    """libdoublefann with the prototypes used here, or None when it is not installed."""
    ann, uint, double, text = ctypes.c_void_p, ctypes.c_uint, ctypes.c_double, ctypes.c_char_p
    widths = ctypes.POINTER(uint)
    prototypes = {
        "fann_create_standard_array": (ann, [uint, widths]),
        "fann_create_sparse_array": (ann, [ctypes.c_float, uint, widths]),
        "fann_create_shortcut_array": (ann, [uint, widths]),
        "fann_create_from_file": (ann, [text]),
        "fann_save": (ctypes.c_int, [ann, text]),
        "fann_save_to_fixed": (ctypes.c_int, [ann, text]),
        "fann_run": (ctypes.POINTER(double), [ann, ctypes.POINTER(double)]),
        "fann_destroy": (None, [ann]),
        "fann_get_num_input": (uint, [ann]),
        "fann_get_num_output": (uint, [ann]),
        "fann_randomize_weights": (None, [ann, double, double]),
        "fann_set_activation_function_hidden": (None, [ann, ctypes.c_int]),
        "fann_set_activation_function_output": (None, [ann, ctypes.c_int]),
        "fann_set_activation_function": (None, [ann, ctypes.c_int, ctypes.c_int, ctypes.c_int]),
        "fann_set_activation_steepness_hidden": (None, [ann, double]),
        "fann_set_activation_steepness_output": (None, [ann, double]),
        "fann_set_activation_steepness": (None, [ann, double, ctypes.c_int, ctypes.c_int]),
    }
    return doublefann(prototypes)


FANN = fann_binding()
needs_fann = pytest.mark.skipif(FANN is None, reason="libdoublefann (libfann-dev) not installed")


class Fann:
    """A FANN network (struct fann *), destroyed on exit."""

    def __init__(self, pointer):
        if not pointer:
            raise AssertionError("FANN could not create or load the network")
        self.ann = ctypes.c_void_p(pointer)
        self.n_in = FANN.fann_get_num_input(self.ann)
        self.n_out = FANN.fann_get_num_output(self.ann)

    @classmethod
    def create(cls, kind, sizes, connection_rate=0.5):
        widths = (ctypes.c_uint * len(sizes))(*sizes)
        if kind == "sparse":
            return cls(FANN.fann_create_sparse_array(connection_rate, len(sizes), widths))
        create = {"standard": FANN.fann_create_standard_array,
                  "shortcut": FANN.fann_create_shortcut_array}[kind]
        return cls(create(len(sizes), widths))

    @classmethod
    def load(cls, path):
        return cls(FANN.fann_create_from_file(os.fsencode(path)))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        FANN.fann_destroy(self.ann)

    def save(self, path):
        assert FANN.fann_save(self.ann, os.fsencode(path)) == 0

    def run(self, X):
        """fann_run on each row of X (float64)."""
        rows = []
        for x in np.asarray(X, dtype=np.float64):
            output = FANN.fann_run(self.ann, (ctypes.c_double * self.n_in)(*x))
            rows.append([output[j] for j in range(self.n_out)])
        return np.array(rows)


def srand(seed):
    """Seed the C library's rand(), which FANN draws its random weights and sparse
    connections from (FANN seeds it itself when it creates a network)."""
    ctypes.CDLL(None).srand(seed)


def random_network(sizes, activation, output, dtype, seed):
    """A network with weights and biases (biases too: they start at zero) in [-1.5, 1.5]."""
    net = Network(sizes, activation=activation, output=output, dtype=dtype, seed=seed)
    rng = np.random.default_rng(seed)
    for array in net.weights + net.biases:
        array[...] = rng.uniform(-1.5, 1.5, array.shape)
    return net


def magnitude(net, X):
    """A bound on the size of every sum the forward pass forms: the outputs of the network
    with |W|, |b| and identity activations on |X| (each activation here is 1-Lipschitz), at
    least 1. Rounding errors scale with it."""
    A = np.abs(np.asarray(X, dtype=np.float64))
    for w, b in zip(net.weights, net.biases):
        A = A @ np.abs(w.astype(np.float64)).T + np.abs(b.astype(np.float64))
    return np.maximum(A, 1.0)


# ---- (a) what save_fann writes, FANN loads and runs with net.predict's outputs ----

@needs_fann
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("output", ["sigmoid", "tanh", "identity"])
@pytest.mark.parametrize("hidden", ["sigmoid", "tanh", "identity"])
def test_fann_runs_a_saved_network_as_bpcore_does(tmp_path, hidden, output, dtype):
    rng = np.random.default_rng(7)
    for index, sizes in enumerate(SIZES):
        net = random_network(sizes, hidden, output, dtype, seed=index)
        path = tmp_path / f"net{index}.net"
        save_fann(net, path)
        X = rng.uniform(-2, 2, (25, sizes[0])).astype(dtype)  # what both networks see
        with Fann.load(path) as fann:
            assert (fann.n_in, fann.n_out) == (sizes[0], sizes[-1])
            ran = fann.run(X)
        tolerance = (1e-12 if dtype == "float64" else 1e-6) * magnitude(net, X)
        assert np.all(np.abs(ran - net.predict(X)) <= tolerance), sizes


@needs_fann
@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "identity"])
def test_the_file_is_the_one_fann_itself_writes(tmp_path, activation):
    # FANN loads our file and saves it again: every byte is the same, training
    # parameters, layout and the digits of every weight included
    net = random_network((3, 4, 2), activation, activation, "float64", seed=1)
    save_fann(net, tmp_path / "ours.net")
    with Fann.load(tmp_path / "ours.net") as fann:
        fann.save(tmp_path / "fanns.net")
    assert (tmp_path / "ours.net").read_bytes() == (tmp_path / "fanns.net").read_bytes()


# ---- (b) what FANN writes, load_fann reads with fann_run's outputs ----

@needs_fann
@pytest.mark.parametrize("steepness", [(0.3, 0.75), (0.75, 0.3), (0.5, 1.0)])
@pytest.mark.parametrize("output", ["sigmoid", "tanh", "identity"])
@pytest.mark.parametrize("hidden", ["sigmoid", "tanh", "identity"])
def test_a_network_fann_wrote_loads_with_fanns_outputs(tmp_path, hidden, output, steepness):
    rng = np.random.default_rng(3)
    for index, sizes in enumerate(SIZES):
        srand(index)
        with Fann.create("standard", sizes) as fann:
            FANN.fann_set_activation_function_hidden(fann.ann, FANN_CODE[hidden])
            FANN.fann_set_activation_function_output(fann.ann, FANN_CODE[output])
            FANN.fann_set_activation_steepness_hidden(fann.ann, steepness[0])
            FANN.fann_set_activation_steepness_output(fann.ann, steepness[1])
            FANN.fann_randomize_weights(fann.ann, -1.5, 1.5)
            fann.save(tmp_path / "fann.net")
            X = rng.uniform(-2, 2, (25, sizes[0]))
            ran = fann.run(X)
        net = load_fann(tmp_path / "fann.net")
        assert net.sizes == sizes and net.dtype == np.float64 and net.loss_name == "mse"
        assert net.output == output and (len(sizes) == 2 or net.activation == hidden)
        assert np.all(np.abs(net.predict(X) - ran) <= 1e-12 * magnitude(net, X)), sizes


@needs_fann
def test_each_neurons_own_steepness_is_folded_into_its_weights(tmp_path):
    sizes = (3, 4, 2)
    rng = np.random.default_rng(5)
    srand(5)
    with Fann.create("standard", sizes) as fann:
        FANN.fann_set_activation_function_hidden(fann.ann, SIGMOID)
        FANN.fann_set_activation_function_output(fann.ann, LINEAR)
        for layer, width in [(1, 4), (2, 2)]:
            for neuron, steepness in zip(range(width), [0.2, 0.9, 1.7, 0.45]):
                FANN.fann_set_activation_steepness(fann.ann, steepness, layer, neuron)
        FANN.fann_randomize_weights(fann.ann, -1.0, 1.0)
        fann.save(tmp_path / "fann.net")
        X = rng.uniform(-2, 2, (25, 3))
        ran = fann.run(X)
    net = load_fann(tmp_path / "fann.net")
    assert np.all(np.abs(net.predict(X) - ran) <= 1e-12 * magnitude(net, X))


@needs_fann
def test_a_layer_mixing_activations_or_hidden_layers_differing_are_refused(tmp_path):
    with Fann.create("standard", (2, 3, 3, 1)) as fann:
        FANN.fann_set_activation_function_hidden(fann.ann, SIGMOID)
        FANN.fann_set_activation_function_output(fann.ann, SIGMOID)
        FANN.fann_set_activation_function(fann.ann, SIGMOID_SYMMETRIC, 1, 2)  # one neuron
        fann.save(tmp_path / "mixed.net")
        FANN.fann_set_activation_function_hidden(fann.ann, SIGMOID)
        FANN.fann_set_activation_function(fann.ann, SIGMOID_SYMMETRIC, 2, 0)
        FANN.fann_set_activation_function(fann.ann, SIGMOID_SYMMETRIC, 2, 1)
        FANN.fann_set_activation_function(fann.ann, SIGMOID_SYMMETRIC, 2, 2)
        fann.save(tmp_path / "layers.net")
        FANN.fann_set_activation_function_hidden(fann.ann, GAUSSIAN)
        fann.save(tmp_path / "gaussian.net")
    with pytest.raises(ValueError, match="layer 1 mixes the activations FANN_SIGMOID, "
                                         "FANN_SIGMOID_SYMMETRIC"):
        load_fann(tmp_path / "mixed.net")
    with pytest.raises(ValueError, match="one hidden activation"):
        load_fann(tmp_path / "layers.net")
    with pytest.raises(ValueError, match=r"FANN_GAUSSIAN \(7\), which bpcore has no"):
        load_fann(tmp_path / "gaussian.net")


# ---- (c) FANN's default stepwise activations: only when asked, as the exact function ----

@needs_fann
@pytest.mark.parametrize("code, exact, bound", [(SIGMOID_STEPWISE, "sigmoid", 0.0332),
                                                (SIGMOID_SYMMETRIC_STEPWISE, "tanh", 0.0664)])
def test_stepwise_activations_load_only_as_an_approximation(tmp_path, code, exact, bound):
    # one layer: the outputs differ by at most the approximation's own error (the bound
    # load_fann's docstring gives, from the stepwise function's breakpoints)
    srand(11)
    with Fann.create("standard", (3, 4)) as fann:
        FANN.fann_set_activation_function_output(fann.ann, code)
        FANN.fann_randomize_weights(fann.ann, -1.0, 1.0)
        fann.save(tmp_path / "stepwise.net")
        X = np.random.default_rng(0).uniform(-3, 3, (400, 3))
        ran = fann.run(X)
    with pytest.raises(ValueError, match="piecewise-linear approximation.*approximate=True"):
        load_fann(tmp_path / "stepwise.net")
    net = load_fann(tmp_path / "stepwise.net", approximate=True)
    assert net.output == exact
    difference = np.abs(net.predict(X) - ran).max()
    assert 1e-4 < difference <= bound


@needs_fann
def test_fanns_default_network_is_refused_then_loaded_with_approximate(tmp_path):
    # fann_create_standard's neurons are FANN_SIGMOID_STEPWISE, hidden and output
    with Fann.create("standard", (2, 5, 3, 1)) as fann:
        fann.save(tmp_path / "default.net")
        X = np.random.default_rng(1).uniform(-3, 3, (100, 2))
        ran = fann.run(X)
    with pytest.raises(ValueError, match="FANN_SIGMOID_STEPWISE.*FANN's default"):
        load_fann(tmp_path / "default.net")
    net = load_fann(tmp_path / "default.net", approximate=True)
    assert (net.activation, net.output) == ("sigmoid", "sigmoid")
    assert np.abs(net.predict(X) - ran).max() < 0.1  # "a few hundredths" with such weights


# ---- (d) sparse networks load dense; shortcut networks are refused ----

@needs_fann
@pytest.mark.parametrize("rate", [0.3, 0.7])
def test_a_sparse_network_loads_dense_with_fanns_outputs(tmp_path, rate):
    sizes = (6, 8, 5, 3)
    srand(2)
    with Fann.create("sparse", sizes, connection_rate=rate) as fann:
        FANN.fann_set_activation_function_hidden(fann.ann, SIGMOID_SYMMETRIC)
        FANN.fann_set_activation_function_output(fann.ann, LINEAR)
        FANN.fann_set_activation_steepness_hidden(fann.ann, 0.8)
        FANN.fann_randomize_weights(fann.ann, -1.0, 1.0)
        fann.save(tmp_path / "sparse.net")
        X = np.random.default_rng(2).uniform(-2, 2, (25, sizes[0]))
        ran = fann.run(X)
    net = load_fann(tmp_path / "sparse.net")
    assert net.sizes == sizes
    missing = sum(int((w == 0).sum() + (b == 0).sum()) for w, b in zip(net.weights, net.biases))
    assert missing > 0  # the connections it lacks are zeros
    assert np.all(np.abs(net.predict(X) - ran) <= 1e-12 * magnitude(net, X))


@needs_fann
def test_a_shortcut_network_is_refused(tmp_path):
    with Fann.create("shortcut", (2, 3, 1)) as fann:
        FANN.fann_set_activation_function_hidden(fann.ann, SIGMOID)
        FANN.fann_set_activation_function_output(fann.ann, SIGMOID)
        fann.save(tmp_path / "shortcut.net")
    with pytest.raises(ValueError, match="^a FANN network bpcore cannot express: .*shortcut "
                                         "network"):
        load_fann(tmp_path / "shortcut.net")


# ---- (e) save -> load without the library ----

@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("output", ["sigmoid", "tanh", "identity", "relu", "leaky_relu"])
@pytest.mark.parametrize("hidden", ["sigmoid", "tanh", "identity", "relu", "leaky_relu"])
def test_a_round_trip_keeps_every_weight_bit_for_bit(tmp_path, hidden, output, dtype):
    relu_like = {"relu", "leaky_relu"} & {hidden, output}
    version = "2.3" if relu_like else "2.2"
    X = np.random.default_rng(0).uniform(-2, 2, (10, 4))
    for index, sizes in enumerate([(4, 2), (4, 5, 3), (4, 3, 6, 5, 1)]):
        net = random_network(sizes, hidden, output, dtype, seed=index)
        save_fann(net, tmp_path / "net.net", fann_version=version)
        again = load_fann(tmp_path / "net.net")
        assert again.sizes == sizes and again.dtype == np.float64
        assert again.output == output and (len(sizes) == 2 or again.activation == hidden)
        for loaded, saved in zip(again.weights + again.biases, net.weights + net.biases):
            np.testing.assert_array_equal(loaded, saved.astype(np.float64))  # exact
        if dtype == "float64":
            np.testing.assert_array_equal(again.predict(X), net.predict(X))


@pytest.mark.parametrize("code, name", [(RECT, "relu"), (RECT_LEAKY, "leaky_relu")])
def test_fann_23_rectifiers_load_with_their_steepness_folded(tmp_path, code, name):
    # the same file with FANN_LINEAR and with FANN 2.3's rectifiers: the same folded
    # weights, only the activation differs
    net = random_network((3, 4, 2), "identity", "identity", "float64", seed=0)
    save_fann(net, tmp_path / "linear.net")
    text = (tmp_path / "linear.net").read_text()
    text = text.replace(", 0, 1.00000000000000000000e+00)", ", 0, 2.50000000000000000000e-01)")
    (tmp_path / "linear.net").write_text(text)
    (tmp_path / "rect.net").write_text(text.replace(", 0, 2.5", f", {code}, 2.5"))
    linear, rect = load_fann(tmp_path / "linear.net"), load_fann(tmp_path / "rect.net")
    assert (rect.activation, rect.output) == (name, name)
    for a, b, saved in zip(rect.weights, linear.weights, net.weights):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, saved * 0.25)  # a power of two: exact


def test_the_file_is_plain_fann_text(tmp_path):
    net = random_network((2, 3, 1), "tanh", "sigmoid", "float64", seed=0)
    save_fann(net, tmp_path / "net.net")
    lines = (tmp_path / "net.net").read_text().splitlines()
    assert lines[0] == "FANN_FLO_2.1" and "num_layers=3" in lines
    assert "layer_sizes=3 4 2 " in lines and "scale_included=0" in lines
    neurons = lines[-2]
    assert neurons.count("(0, 0, ") == 3 + 1 + 1  # inputs and bias neurons
    assert neurons.count("(3, 5, 1.0") == 3 and neurons.count("(4, 3, 5.0") == 1
    assert lines[-1].split("=")[1].count("(") == 3 * 3 + 1 * 4  # one per weight and bias


# ---- (f) damaged and foreign files, and saves that must not happen ----

def good_file(tmp_path):
    net = random_network((3, 4, 2), "tanh", "sigmoid", "float64", seed=0)
    save_fann(net, tmp_path / "good.net")
    return (tmp_path / "good.net").read_text()


# a good FANN file of a network bpcore has no counterpart for is not called "not a FANN file"
CANNOT_EXPRESS = ("mixes the activations", "scaling", "shortcut network", "stepwise",
                  "has no activation for", "hidden activation")


def refused(path, *, approximate=False):
    with pytest.raises(ValueError) as error:
        load_fann(path, approximate=approximate)
    message = str(error.value)
    unsupported = any(reason.lower() in message.lower() for reason in CANNOT_EXPRESS)
    prefix = "a FANN network bpcore cannot express" if unsupported else "not a FANN network file"
    assert message.startswith(f"{prefix}: {path}: "), message
    return message


def test_files_of_other_formats_are_refused(tmp_path):
    text = good_file(tmp_path)
    Network([3, 2], seed=0).save(tmp_path / "model.npz")
    (tmp_path / "fixed.net").write_text(text.replace("FANN_FLO_2.1", "FANN_FIX_2.0\n"
                                                     "decimal_point=13"))
    (tmp_path / "old.net").write_text(text.replace("FANN_FLO_2.1", "FANN_FLO_1.1"))
    (tmp_path / "garbage.net").write_bytes(bytes(range(256)) * 8)
    (tmp_path / "empty.net").write_bytes(b"")
    (tmp_path / "latin.net").write_bytes(text.encode() + "é".encode("latin-1"))
    (tmp_path / "more.net").write_text(text + "what comes next\n")
    assert "does not start with" in refused(tmp_path / "model.npz")
    assert "fixed-point" in refused(tmp_path / "fixed.net")
    assert "another version" in refused(tmp_path / "old.net")
    assert "does not start with" in refused(tmp_path / "garbage.net")
    assert "does not start with" in refused(tmp_path / "empty.net")
    assert "not ASCII" in refused(tmp_path / "latin.net")
    assert "more text after" in refused(tmp_path / "more.net")


@needs_fann
def test_fanns_own_fixed_point_file_is_refused(tmp_path):
    with Fann.create("standard", (2, 3, 1)) as fann:
        FANN.fann_set_activation_function_hidden(fann.ann, SIGMOID_SYMMETRIC)
        FANN.fann_save_to_fixed(fann.ann, os.fsencode(tmp_path / "fixed.net"))
    assert "fixed-point" in refused(tmp_path / "fixed.net")


def test_a_truncated_file_is_refused_wherever_it_ends(tmp_path):
    text = good_file(tmp_path)
    for fraction in np.linspace(0.02, 0.98, 25):
        (tmp_path / "cut.net").write_text(text[:int(len(text) * fraction)])
        refused(tmp_path / "cut.net")
    # the last number cut short is still a number: the missing connection is what counts
    (tmp_path / "cut.net").write_text(text[:text.rindex("e")])
    assert "connection 25 of 26" in refused(tmp_path / "cut.net")
    # a connections line too short for the connections the neurons claim: nothing allocated
    start = text.index("connections (")
    (tmp_path / "cut.net").write_text(text[:text.index("(", start + 13) + 9])
    assert "more than the connections line can hold" in refused(tmp_path / "cut.net")


@pytest.mark.parametrize("old, new, reason", [
    ("num_layers=3", "num_layers=4", "layer_sizes holds 3 values"),
    ("layer_sizes=4 5 3 ", "layer_sizes=4 6 3 ", "neuron 12 of 13"),
    ("layer_sizes=4 5 3 ", "layer_sizes=1000000000 5 3 ", "layer 0 has 1000000000 neurons"),
    ("layer_sizes=4 5 3 ", "layer_sizes=4 1000000 3 ", "more than the neurons line"),
    ("layer_sizes=4 5 3 ", "layer_sizes=4 5 ", "layer_sizes holds 2 values"),
    ("(4, 5, 1.0", "(5, 5, 1.0", "has 5 connections; in a fully connected"),
    ("(4, 5, 1.0", "(3, 5, 1.0", "has 3 connections"),
    ("(4, 5, 1.0", "(4, 5, nan", "neuron 4 of 12"),
    ("(4, 5, 1.0", "(4, 7, 1.0", "mixes the activations"),
    ("(4, 5, 1.0", "(4, 5, -1.0", "the steepness -1"),
    ("(0, 0, 0.0", "(2, 0, 0.0", "input neuron 0 has connections"),
    ("(4, 5.12500000000000000000e+00)", "(4, nan)", "connection 16 of 26"),
    ("(4, 5.12500000000000000000e+00)", "(4, abc)", "connection 16 of 26"),
    ("(4, 5.12500000000000000000e+00)", "(4, inf)", "connection 16 of 26"),
    ("(4, 5.12500000000000000000e+00)", "(4, 1e999)", "too large for a double"),
    ("(4, 5.12500000000000000000e+00)", "(3, 5.125)", "goes to neuron 3, where"),
    ("network_type=0", "network_type=7", "network_type is 7"),
    ("num_layers=3", "num_layers=99999999999", "num_layers is '99999999999', expected an "
                                               "unsigned integer of at most 10 digits"),
    ("layer_sizes=4 5 3", "layer_sizes=4 99999999999 3", "layer_sizes holds '99999999999', "
                                                        "expected an unsigned integer of"),
    ("network_type=0", "network_type=", "network_type is ''"),
    ("learning_rate=0.700000", "learning_rate=fast", "learning_rate is 'fast'"),
    ("scale_included=0", "scale_included=1", "scaling"),
    ("cascade_activation_functions_count=10", "cascade_activation_functions_count=99999999",
     "holds 10 values"),
    ("connection_rate=1.000000\n", "", "line 4 is 'network_type=0', expected "
                                      "connection_rate"),
])
def test_a_damaged_file_is_refused_with_the_reason(tmp_path, old, new, reason):
    net = random_network((3, 4, 2), "tanh", "sigmoid", "float64", seed=0)
    net.weights[1][0, 0] = 5.125  # connection 16, from neuron 4: "(4, 5.125...)"
    save_fann(net, tmp_path / "good.net")
    text = (tmp_path / "good.net").read_text()
    assert text.count(old) >= 1, old
    (tmp_path / "bad.net").write_text(text.replace(old, new, 1))
    assert reason in refused(tmp_path / "bad.net")


def test_a_steepness_that_overflows_the_weights_is_refused(tmp_path):
    # the output layer is a sigmoid one, whose steepness is doubled: 2 * 1.5e308 is no
    # double. Refused by load_fann's own ValueError, not numpy's overflow warning (an
    # error where warnings are errors) nor "weights that are not finite" the file has not
    text = good_file(tmp_path)
    steep = text.replace(", 3, 5.00000000000000000000e-01)", ", 3, 1.5e308)")
    assert steep != text
    (tmp_path / "steep.net").write_text(steep)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reason = refused(tmp_path / "steep.net")
    assert "layer 2's weights times its neurons' steepness overflow a double" in reason


def test_a_long_run_of_digits_is_refused_at_once(tmp_path):
    # a number's pattern once matched a run of digits in as many ways as it has digits:
    # refusing a million digits and a wrong character took hours. The files are read in
    # another process, so that such a hang fails this test instead of stopping the suite
    # (the timeout is no speed target: the refusals take a small fraction of a second)
    text = good_file(tmp_path)
    digits = "1" * 1_000_000 + "x"
    (tmp_path / "header.net").write_text(text.replace("learning_rate=0.700000",
                                                      "learning_rate=" + digits))
    start = text.index("(", text.index("connections (") + len("connections ("))
    (tmp_path / "weight.net").write_text(text[:start] + "(0, " + digits + ") " + text[start:])
    script = ("import sys\n"
              "from bpcore.convert import load_fann\n"
              "for path in sys.argv[1:]:\n"
              "    try:\n"
              "        load_fann(path)\n"
              "    except ValueError as error:\n"
              "        print(error)\n")
    done = subprocess.run([sys.executable, "-c", script, "header.net", "weight.net"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    header, weight = done.stdout.splitlines()
    assert header.startswith("not a FANN network file: header.net: learning_rate is '111")
    assert weight.startswith("not a FANN network file: weight.net: connection 0 of 26 is "
                             "'(0, 111")


def test_a_sparse_file_may_connect_anywhere_in_the_layer_before_only(tmp_path):
    net = random_network((3, 4, 2), "tanh", "sigmoid", "float64", seed=0)
    net.weights[1][0, 0] = 5.125
    save_fann(net, tmp_path / "net.net")
    text = (tmp_path / "net.net").read_text()
    # output neuron 0's first two connections (from neurons 4 and 5) swapped
    one = "(4, 5.12500000000000000000e+00) "
    start = text.index(one)
    end = text.index(") ", start + len(one)) + 2
    swapped = text[:start] + text[start + len(one):end] + one + text[end:]
    sparse = swapped.replace("connection_rate=1.000000", "connection_rate=0.500000")
    (tmp_path / "sparse.net").write_text(sparse)
    loaded = load_fann(tmp_path / "sparse.net")  # a sparse file names each connection's source
    for a, b in zip(loaded.weights + loaded.biases, net.weights + net.biases):
        np.testing.assert_array_equal(a, b)
    # fann_run takes a dense network's connections in order, whatever the file names
    (tmp_path / "dense.net").write_text(swapped)
    assert "goes to neuron 5, where a fully connected network's goes to neuron 4" in refused(
        tmp_path / "dense.net")
    (tmp_path / "far.net").write_text(sparse.replace(one, "(2, 5.125) "))
    assert "goes to neuron 2, not to one of layer 1 (neurons 4 to 8)" in refused(
        tmp_path / "far.net")


def test_a_missing_file_is_the_usual_os_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_fann(tmp_path / "missing.net")


def test_approximate_must_be_a_bool(tmp_path):
    good_file(tmp_path)
    # the string "no" is true: it once loaded stepwise sigmoids approximately
    with pytest.raises(TypeError, match="approximate must be True or False, got 'no'"):
        load_fann(tmp_path / "good.net", approximate="no")
    assert load_fann(tmp_path / "good.net", approximate=np.bool_(False)).sizes == (3, 4, 2)


@pytest.mark.parametrize("make, version, reason", [
    (lambda: Network([3, 2], output="softmax", loss="cross_entropy"), "2.2", "'softmax'"),
    (lambda: Network([3, 2], output="softmax", loss="cross_entropy"), "2.3", "'softmax'"),
    (lambda: Network([3, 2], output="exp", loss="poisson"), "2.3", "no exponential"),
    (lambda: Network([3, 4, 2], activation="relu"), "2.2", "hidden activation 'relu'"),
    (lambda: Network([3, 2], output="leaky_relu"), "2.2", "fann_version='2.3'"),
    (lambda: Network([3, 2]), "2.1", "fann_version must be '2.2' or '2.3', got '2.1'"),
])
def test_a_refused_save_writes_nothing(tmp_path, make, version, reason):
    with pytest.raises(ValueError) as error:
        save_fann(make(), tmp_path / "net.net", fann_version=version)
    assert reason in str(error.value)
    assert os.listdir(tmp_path) == []
    (tmp_path / "net.net").write_text("before")  # an existing file is left as it was
    with pytest.raises(ValueError):
        save_fann(make(), tmp_path / "net.net", fann_version=version)
    assert (tmp_path / "net.net").read_text() == "before"
    assert os.listdir(tmp_path) == ["net.net"]


def test_a_save_that_cannot_write_leaves_nothing(tmp_path):
    with pytest.raises(OSError):
        save_fann(Network([3, 2]), tmp_path / "missing" / "net.net")
    assert os.listdir(tmp_path) == []
    net = Network([3, 2])
    net.weights[0][0, 0] = np.nan
    with pytest.raises(ValueError, match=r"net's weights\[0\] hold NaN or infinity"):
        save_fann(net, tmp_path / "net.net")
    with pytest.raises(ValueError, match="fann_version must be"):  # the arguments first
        save_fann(net, tmp_path / "net.net", fann_version="9")
    with pytest.raises(TypeError, match=r"^fann_version must be the string '2\.2' or '2\.3', "
                                        r"got 2\.2 \(float\)$"):
        save_fann(Network([3, 2]), tmp_path / "net.net", fann_version=2.2)
    assert os.listdir(tmp_path) == []
    with pytest.raises(TypeError, match="net must be a bpcore.Network"):
        save_fann("net.npz", tmp_path / "net.net")
