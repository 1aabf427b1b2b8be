"""bpcore.convert's ONNX models: to_onnx writes a graph the checker accepts and onnxruntime runs
with net.predict's outputs; from_onnx reads it back bit for bit, reads what torch.onnx.export
makes of a Sequential, and refuses anything else with a ValueError that says why."""
import os
import sys
import warnings

import numpy as np
import pytest

MISSING = 'is not installed: pip install "bpcore[onnx]"'
onnx = pytest.importorskip("onnx", reason=f"onnx {MISSING}")
onnxruntime = pytest.importorskip("onnxruntime", reason=f"onnxruntime {MISSING}")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

import bpcore  # noqa: E402
from bpcore._spec import HIDDEN_ACTIVATIONS, OUTPUT_ACTIVATIONS  # noqa: E402
from bpcore.convert import _onnx, from_onnx, to_onnx  # noqa: E402

SOURCE = "not an ONNX model of a fully connected network: "
# onnxruntime's outputs equal predict's to this much of their scale
TOLERANCE = {"float32": 1e-6, "float64": 1e-12}
ELEMENT = {"float32": TensorProto.FLOAT, "float64": TensorProto.DOUBLE}
LOSS_OF = {"softmax": "cross_entropy", "exp": "poisson"}


def network(sizes, hidden="tanh", output="sigmoid", dtype="float64", seed=0):
    net = bpcore.Network(sizes, activation=hidden, output=output,
                         loss=LOSS_OF.get(output, "mse"), dtype=dtype, seed=seed)
    rng = np.random.default_rng(seed)
    for biases in net.biases:  # not the initial zeros: the Gemm's bias input must count
        biases[...] = rng.normal(scale=0.5, size=biases.shape)
    return net


def inputs(batch, width, dtype, seed=1):
    return np.random.default_rng(seed).normal(size=(batch, width)).astype(dtype)


def run(model, X):
    session = onnxruntime.InferenceSession(model.SerializeToString(),
                                           providers=["CPUExecutionProvider"])
    (outputs,) = session.run(None, {session.get_inputs()[0].name: X})
    return outputs


def assert_close(got, expected, tolerance, output):
    """The largest difference is at most `tolerance` times the scale: the largest magnitude,
    at least 1 (a small output is a sum of terms near 1 and carries their rounding). An exp
    output is compared as its exponent z: e^z's relative error is z's absolute error, so its
    rounding grows with z, not with e^z."""
    assert got.shape == expected.shape and got.dtype == expected.dtype
    if output == "exp":
        got, expected = np.log(got), np.log(expected)
    scale = max(1.0, float(np.abs(expected).max()))
    assert float(np.abs(got - expected).max()) <= tolerance * scale


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("output", OUTPUT_ACTIVATIONS)
@pytest.mark.parametrize("hidden", HIDDEN_ACTIVATIONS)
def test_onnxruntime_runs_the_model_with_the_outputs_of_predict(hidden, output, dtype):
    net = network([3, 5, 4, 3], hidden, output, dtype)
    model = to_onnx(net)
    onnx.checker.check_model(model, full_check=True)
    for batch in (1, 50):  # one model, two batch sizes: the batch axis is dynamic
        X = inputs(batch, 3, dtype)
        assert_close(run(model, X), net.predict(X), TOLERANCE[dtype], output)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("output", OUTPUT_ACTIVATIONS)
def test_a_one_layer_network_too(output, dtype):
    net = network([3, 2], output=output, dtype=dtype)
    model = to_onnx(net)
    onnx.checker.check_model(model, full_check=True)
    X = inputs(7, 3, dtype)
    assert_close(run(model, X), net.predict(X), TOLERANCE[dtype], output)
    assert model.graph.input[0].name != model.graph.output[0].name


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_graph_has_named_inputs_outputs_and_parameters(dtype):
    net = network([3, 5, 2], "relu", "softmax", dtype)
    model = to_onnx(net)
    (given,), (made,) = model.graph.input, model.graph.output
    for value, name, width in ((given, "input", 3), (made, "output", 2)):
        assert value.name == name
        assert value.type.tensor_type.elem_type == ELEMENT[dtype]
        batch, features = value.type.tensor_type.shape.dim
        assert (batch.dim_param, features.dim_value) == ("batch", width)
    parameters = {tensor.name: tensor for tensor in model.graph.initializer}
    assert sorted(parameters) == ["layer0.bias", "layer0.weight", "layer1.bias", "layer1.weight"]
    assert {tensor.data_type for tensor in parameters.values()} == {ELEMENT[dtype]}
    np.testing.assert_array_equal(numpy_helper.to_array(parameters["layer1.weight"]),
                                  net.weights[1])
    assert [node.op_type for node in model.graph.node] == ["Gemm", "Relu", "Gemm", "Softmax"]
    assert (model.producer_name, model.producer_version) == ("bpcore", bpcore.__version__)
    assert repr(net) in model.doc_string
    (opset,) = model.opset_import
    assert (opset.domain, opset.version) == ("", _onnx.MIN_OPSET)


def test_leaky_relu_is_written_so_that_onnxruntime_runs_it_in_both_dtypes():
    # onnxruntime has no float64 LeakyRelu kernel: float64 networks get max(z, 0.01 z)
    assert [node.op_type for node in to_onnx(network([3, 2], output="leaky_relu",
                                                     dtype="float32")).graph.node] == [
        "Gemm", "LeakyRelu"]
    assert [node.op_type for node in to_onnx(network([3, 2], output="leaky_relu")).graph.node] == [
        "Gemm", "Mul", "Max"]


@pytest.mark.parametrize("opset", [_onnx.MIN_OPSET, onnx.defs.onnx_opset_version()])
def test_every_supported_opset_gives_a_valid_model(opset):
    net = network([3, 4, 2], "leaky_relu", "softmax")
    model = to_onnx(net, opset=opset)
    onnx.checker.check_model(model, full_check=True)
    assert model.opset_import[0].version == opset
    X = inputs(5, 3, "float64")
    assert_close(run(model, X), net.predict(X), TOLERANCE["float64"], "softmax")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("output", OUTPUT_ACTIVATIONS)
@pytest.mark.parametrize("hidden", HIDDEN_ACTIVATIONS)
def test_to_onnx_then_from_onnx_gives_the_network_bit_for_bit(hidden, output, dtype):
    net = network([3, 5, 4, 3], hidden, output, dtype)
    copy = from_onnx(to_onnx(net))
    assert repr(copy) == repr(net)
    for mine, theirs in zip(copy.weights + copy.biases, net.weights + net.biases):
        np.testing.assert_array_equal(mine, theirs)
    X = inputs(20, 3, dtype)
    np.testing.assert_array_equal(copy.predict(X), net.predict(X))


def test_a_path_is_written_and_from_onnx_reads_a_path_bytes_or_a_model(tmp_path):
    net = network([3, 4, 2], "sigmoid", "exp", "float32")
    path = tmp_path / "model.onnx"
    model = to_onnx(net, path)
    assert onnx.load(path).SerializeToString() == model.SerializeToString()
    for given in (path, str(path), model.SerializeToString(), model):
        copy = from_onnx(given)
        np.testing.assert_array_equal(copy.predict(inputs(4, 3, "float32")),
                                      net.predict(inputs(4, 3, "float32")))
    assert os.listdir(tmp_path) == ["model.onnx"]


def test_initializers_in_a_file_beside_the_model_are_read_from_its_path(tmp_path):
    # as torch.onnx.export writes larger models: model.onnx and model.onnx.data
    net = network([3, 4, 2], "tanh", "softmax")
    path = tmp_path / "model.onnx"
    onnx.save_model(to_onnx(net), path, save_as_external_data=True,
                    all_tensors_to_one_file=True, location="model.onnx.data", size_threshold=0)
    assert sorted(os.listdir(tmp_path)) == ["model.onnx", "model.onnx.data"]
    for given in (path, str(path)):
        np.testing.assert_array_equal(from_onnx(given).predict(inputs(4, 3, "float64")),
                                      net.predict(inputs(4, 3, "float64")))
    # bytes or a model hold no folder to read them from: the message says what to pass
    with pytest.raises(ValueError, match="stored in an external file; pass the model's path"):
        from_onnx(path.read_bytes())
    # a symbolic link in the folder is followed (onnx's own loader refuses one)
    (tmp_path / "store").mkdir()
    os.rename(tmp_path / "model.onnx.data", tmp_path / "store" / "blob")
    os.symlink(tmp_path / "store" / "blob", tmp_path / "model.onnx.data")
    np.testing.assert_array_equal(from_onnx(path).predict(inputs(4, 3, "float64")),
                                  net.predict(inputs(4, 3, "float64")))
    # a file that ends before a tensor
    with open(tmp_path / "store" / "blob", "r+b") as file:
        file.truncate(40)
    with pytest.raises(ValueError, match=rf"^{path}: its initializer 'layer\d.\w+' takes \d+ "
                                         r"bytes from byte \d+ of 'model.onnx.data', which "
                                         r"holds 40 \(a truncated file\?\)$"):
        from_onnx(path)
    os.remove(tmp_path / "model.onnx.data")
    with pytest.raises(FileNotFoundError, match="its initializer 'layer0.weight' is stored in "
                                                "'model.onnx.data' beside it, which is missing"):
        from_onnx(path)


@pytest.mark.parametrize("location", ["../outside.data", "/tmp/outside.data", ""])
def test_initializers_named_outside_the_models_folder_are_refused(tmp_path, location):
    model = to_onnx(network([3, 2]))
    tensor = model.graph.initializer[0]
    tensor.data_location = TensorProto.EXTERNAL
    tensor.ClearField("raw_data")
    tensor.ClearField("double_data")
    entry = tensor.external_data.add()
    entry.key, entry.value = "location", location
    path = tmp_path / "model.onnx"
    path.write_bytes(model.SerializeToString())
    with pytest.raises(ValueError, match=rf"^{path}: its initializer 'layer0.weight' is stored "
                                         rf"at '{location}', not in a file in the model's "
                                         rf"folder"):
        from_onnx(path)


@pytest.mark.parametrize("offset, length, message", [
    (0, 10**30, r"takes 10{30} bytes from byte 0 of 'w.data', which holds 1000"),
    (10**30, 96, r"takes 96 bytes from byte 10{30} of 'w.data', which holds 1000"),
    (0, 10**17, r"takes 10{17} bytes from byte 0 of 'w.data', which holds 1000"),
    (None, None, r"is stored in 'w.data', which is not a regular file")])
def test_an_initializers_offset_or_length_past_its_file_is_refused_before_reading(
        tmp_path, offset, length, message):
    # 10**30 raised OverflowError from read(), 10**17 a bare MemoryError, and a link to
    # /dev/zero was read until memory ran out
    model = to_onnx(network([3, 2]))
    tensor = model.graph.initializer[0]
    tensor.data_location = TensorProto.EXTERNAL
    tensor.ClearField("raw_data")
    tensor.ClearField("double_data")
    for key, value in (("location", "w.data"), ("offset", offset), ("length", length)):
        if value is not None:
            entry = tensor.external_data.add()
            entry.key, entry.value = key, str(value)
    if offset is None:
        os.mkfifo(tmp_path / "w.data")  # never a regular file: reading it would block
    else:
        (tmp_path / "w.data").write_bytes(bytes(1000))
    path = tmp_path / "model.onnx"
    path.write_bytes(model.SerializeToString())
    with pytest.raises(ValueError, match=rf"^{path}: its initializer 'layer0.weight' {message}"):
        from_onnx(path)


def test_nothing_is_written_when_to_onnx_fails(tmp_path):
    net = network([3, 2])
    with pytest.raises(FileNotFoundError):
        to_onnx(net, tmp_path / "no such folder" / "model.onnx")
    (tmp_path / "folder").mkdir()
    with pytest.raises(IsADirectoryError):  # the rename over a folder fails
        to_onnx(net, tmp_path / "folder")
    with pytest.raises(ValueError, match="opset"):  # arguments are checked before writing
        to_onnx(net, tmp_path / "model.onnx", opset=12)
    # as save refuses them: a model of NaN or infinite parameters computes NaN
    hidden = network([3, 4, 2])
    hidden.biases[1][1] = -np.inf
    with pytest.raises(ValueError, match=r"net's biases\[1\] hold NaN or infinity"):
        to_onnx(hidden, tmp_path / "model.onnx")
    with pytest.raises(ValueError, match="opset"):  # the arguments first
        to_onnx(hidden, tmp_path / "model.onnx", opset=12)
    assert os.listdir(tmp_path) == ["folder"] and os.listdir(tmp_path / "folder") == []


def test_bad_arguments():
    with pytest.raises(TypeError, match="net must be a bpcore.Network, got str"):
        to_onnx("model.npz")
    net = network([3, 2])
    with pytest.raises(ValueError, match="opset must be at least 13, got 12"):
        to_onnx(net, opset=12)
    with pytest.raises(ValueError, match=f"opset must be at most {onnx.defs.onnx_opset_version()}"):
        to_onnx(net, opset=onnx.defs.onnx_opset_version() + 1)
    with pytest.raises(TypeError, match="opset must be an int, got str"):
        to_onnx(net, opset="13")
    with pytest.raises(TypeError, match="model_or_path must be an onnx.ModelProto, bytes or a "
                                        "path, got int"):
        from_onnx(13)
    with pytest.raises(ValueError, match="^not an ONNX model of a fully connected network: it "
                                         r"is empty \(0 bytes\)$"):
        from_onnx(b"")
    with pytest.raises(TypeError, match=r"path must be a file's path \(str, bytes or "
                                        r"os.PathLike\), got int"):
        to_onnx(net, 5)


def test_damaged_bytes_get_the_reason_never_a_crash():
    data = to_onnx(network([3, 4, 2], "leaky_relu", "softmax")).SerializeToString()
    rng = np.random.default_rng(0)
    damaged = [data[:length] for length in range(len(data))]  # cut anywhere
    damaged += [rng.bytes(size) for size in (1, 10, 100, 1000)]
    for given in damaged:
        with pytest.raises(ValueError) as error:
            from_onnx(given)
        assert str(error.value).startswith(SOURCE) and len(str(error.value)) > len(SOURCE)
    with pytest.raises(ValueError, match=SOURCE + "the data do not decode as an ONNX model"):
        from_onnx(data[:len(data) // 2])


# ---- models of other things, built by hand ----

def tensor_of(name, array):
    return numpy_helper.from_array(np.asarray(array, dtype=np.float64), name)


def model_of(nodes, initializers, inputs=None, outputs=None, opset=_onnx.MIN_OPSET):
    inputs = inputs or [helper.make_tensor_value_info("x", TensorProto.DOUBLE, ["batch", 3])]
    outputs = outputs or [helper.make_tensor_value_info("y", TensorProto.DOUBLE, ["batch", 2])]
    graph = helper.make_graph(nodes, "other", inputs, outputs, initializers)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def layer(rng, n_in=3, n_out=2, prefix="w"):
    """A Gemm's (n_out, n_in) weights and biases as initializers."""
    return [tensor_of(f"{prefix}", rng.normal(size=(n_out, n_in))),
            tensor_of(f"{prefix}.b", rng.normal(size=n_out))]


def gemm(x, z, prefix="w"):
    return helper.make_node("Gemm", [x, prefix, f"{prefix}.b"], [z], transB=1)


def test_a_matmul_add_chain_with_identity_nodes_is_read():
    # what other exporters write: W stored (n_in, n_out), MatMul then Add, Identity nodes
    rng = np.random.default_rng(0)
    first, second = rng.normal(size=(3, 4)), rng.normal(size=(4, 2))
    nodes = [helper.make_node("Identity", ["x"], ["x1"]),
             helper.make_node("MatMul", ["x1", "W0"], ["m0"]),
             helper.make_node("Add", ["b0", "m0"], ["z0"]),
             helper.make_node("Tanh", ["z0"], ["a0"]),
             helper.make_node("Identity", ["a0"], ["a1"]),
             helper.make_node("MatMul", ["a1", "W1"], ["m1"]),
             helper.make_node("Add", ["m1", "b1"], ["z1"]),
             helper.make_node("Softmax", ["z1"], ["y"], axis=1)]
    model = model_of(nodes, [tensor_of("W0", first), tensor_of("b0", rng.normal(size=4)),
                             tensor_of("W1", second), tensor_of("b1", rng.normal(size=(1, 2)))])
    onnx.checker.check_model(model, full_check=True)
    net = from_onnx(model)
    assert repr(net) == ("Network([3, 4, 2], activation='tanh', output='softmax', "
                         "loss='cross_entropy', dtype='float64')")
    np.testing.assert_array_equal(net.weights[0], first.T)
    X = inputs(6, 3, "float64")
    assert_close(net.predict(X), run(model, X), TOLERANCE["float64"], "softmax")


@pytest.mark.parametrize("shape", [(), (1,), (1, 1)])
def test_one_bias_broadcast_to_every_output_is_read(shape):
    # ONNX's Gemm and Add broadcast a bias of one value to every output
    rng = np.random.default_rng(0)
    weights = rng.normal(size=(2, 3))
    model = model_of([gemm("x", "y")], [tensor_of("w", weights),
                                       tensor_of("w.b", np.full(shape, 0.75))])
    onnx.checker.check_model(model, full_check=True)
    net = from_onnx(model)
    np.testing.assert_array_equal(net.biases[0], [0.75, 0.75])
    X = inputs(5, 3, "float64")
    assert_close(net.predict(X), run(model, X), TOLERANCE["float64"], "sigmoid")


def refused_models():
    """(name, model, what the error says) for ONNX models that are not a bpcore network."""
    rng = np.random.default_rng(0)
    image = helper.make_tensor_value_info("x", TensorProto.DOUBLE, [1, 1, 4, 4])
    yield ("convolution", model_of(
        [helper.make_node("Conv", ["x", "k"], ["y"])], [tensor_of("k", np.ones((1, 1, 3, 3)))],
        inputs=[image], outputs=[helper.make_tensor_value_info("y", TensorProto.DOUBLE, None)]),
        "Conv is not an operator of a fully connected network")
    two = [helper.make_tensor_value_info(name, TensorProto.DOUBLE, ["batch", 3]) for name in "xv"]
    yield ("two inputs", model_of([gemm("x", "z"), helper.make_node("Add", ["z", "v"], ["y"])],
                                  layer(rng), inputs=two), "it has 2 inputs (x, v), expected one")
    yield ("leaky relu 0.2", model_of(
        [gemm("x", "z"), helper.make_node("LeakyRelu", ["z"], ["y"], alpha=0.2)], layer(rng)),
        "slope 0.2 below zero")
    yield ("leaky relu as max 0.2", model_of(
        [gemm("x", "z"), helper.make_node("Mul", ["z", "s"], ["s z"]),
         helper.make_node("Max", ["z", "s z"], ["y"])], layer(rng) + [tensor_of("s", 0.2)]),
        "slope 0.2 below zero")
    yield ("softmax on the batch axis", model_of(
        [gemm("x", "z"), helper.make_node("Softmax", ["z"], ["y"], axis=0)], layer(rng)),
        "axis 0, expected the last")
    yield ("a node after the softmax", model_of(
        [gemm("x", "z"), helper.make_node("Softmax", ["z"], ["p"]),
         helper.make_node("Log", ["p"], ["y"])], layer(rng)), "Log is not an operator")
    yield ("two activations", model_of(
        [gemm("x", "z"), helper.make_node("Relu", ["z"], ["a"]),
         helper.make_node("Sigmoid", ["a"], ["y"])], layer(rng)),
        "does not follow a Gemm or MatMul")
    yield ("missing initializer", model_of([gemm("x", "y")], layer(rng)[:1]),
           "reads its biases from 'w.b', which is not an initializer")
    yield ("weights that do not chain", model_of(
        [gemm("x", "z", "w"), gemm("z", "y", "v")], layer(rng, 3, 4, "w") + layer(rng, 3, 2, "v")),
        "layer 1 takes 3 inputs, but the layer before it gives 4")
    yield ("not a chain", model_of(
        [gemm("x", "z", "w"), gemm("z", "u", "v"), helper.make_node("Add", ["z", "u"], ["y"])],
        layer(rng, 3, 2, "w") + layer(rng, 2, 2, "v")), "a fully connected network is a chain")
    integers = [helper.make_tensor_value_info(name, TensorProto.INT64, ["batch", n])
                for name, n in (("x", 3), ("y", 2))]
    yield ("integers", model_of([gemm("x", "y")], layer(rng), inputs=integers[:1],
                                outputs=integers[1:]), "holds INT64 numbers")
    yield ("an off-chain node", model_of(
        [gemm("x", "y"), helper.make_node("Relu", ["w"], ["unused"])], layer(rng)),
        "1 of its 2 nodes are not on the chain")
    yield ("no layer", model_of([helper.make_node("Identity", ["x"], ["y"])], []),
           "it has no Gemm or MatMul layer")
    yield ("a declared width that does not fit", model_of([gemm("x", "y")], layer(rng, 4, 2)),
           "its input has 3 features, but its first layer has 4")
    external = layer(rng)
    external[0].data_location = TensorProto.EXTERNAL
    yield ("external data", model_of([gemm("x", "y")], external), "stored in an external file")
    other_domain = gemm("x", "y")
    other_domain.domain = "com.microsoft"
    yield ("another domain", model_of([other_domain], layer(rng)), "domain 'com.microsoft'")


REFUSED = list(refused_models())


@pytest.mark.parametrize("name, model, reason", REFUSED, ids=[case[0] for case in REFUSED])
def test_models_of_other_things_get_the_reason(name, model, reason):
    with pytest.raises(ValueError) as error:
        from_onnx(model)
    assert str(error.value).startswith(SOURCE)
    assert reason in str(error.value)
    with pytest.raises(ValueError, match=SOURCE):  # the same from its bytes
        from_onnx(model.SerializeToString())


# ---- torch.onnx.export ----

def exported(module, X, exporter, path):
    torch = pytest.importorskip("torch")
    if exporter == "dynamo":
        pytest.importorskip("onnxscript", reason="torch's dynamo exporter needs onnxscript")
    with warnings.catch_warnings():  # torch's warnings about its exporters, not ours
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (torch.from_numpy(X),), path, input_names=["x"],
                          output_names=["y"], dynamo=exporter == "dynamo",
                          **({} if exporter == "dynamo" else {
                              "dynamic_axes": {"x": {0: "batch"}, "y": {0: "batch"}},
                              "keep_initializers_as_inputs": exporter == "initializers as inputs"}))
    return path


# every activation with the TorchScript exporter; one case each of its initializers-as-inputs
# form and of the (slower) dynamo exporter
TORCH_CASES = [("Sigmoid", "Softmax", "torchscript"), ("Tanh", None, "torchscript"),
               ("ReLU", "Sigmoid", "torchscript"), ("LeakyReLU", "Tanh", "torchscript"),
               ("LeakyReLU", "LeakyReLU", "initializers as inputs"),
               ("Sigmoid", "Softmax", "dynamo")]


@pytest.mark.parametrize("hidden, output, exporter", TORCH_CASES)
def test_a_sequential_exported_by_torch_is_read(hidden, output, exporter, tmp_path):
    torch = pytest.importorskip("torch")
    nn = torch.nn
    torch.manual_seed(0)
    modules = [nn.Linear(3, 5), getattr(nn, hidden)(), nn.Linear(5, 4), getattr(nn, hidden)(),
               nn.Linear(4, 3)] + ([nn.Softmax(dim=-1)] if output == "Softmax"
                                   else [getattr(nn, output)()] if output else [])
    module = nn.Sequential(*modules).double().eval()
    X = inputs(8, 3, "float64")
    net = from_onnx(exported(module, X, exporter, tmp_path / "torch.onnx"))
    names = {"Sigmoid": "sigmoid", "Tanh": "tanh", "ReLU": "relu", "LeakyReLU": "leaky_relu",
             "Softmax": "softmax", None: "identity"}
    assert (net.sizes, net.activation, net.output) == ((3, 5, 4, 3), names[hidden], names[output])
    with torch.no_grad():
        expected = module(torch.from_numpy(X)).numpy()
    assert_close(net.predict(X), expected, TOLERANCE["float64"], names[output])


def test_without_onnx_the_error_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # `import onnx` raises ImportError
    for call in (lambda: to_onnx(network([3, 2])), lambda: from_onnx(b"")):
        with pytest.raises(ImportError, match=r'pip install "bpcore\[onnx\]"'):
            call()
