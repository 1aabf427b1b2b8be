"""ONNX: a Network's forward pass as an ONNX model (Gemm and activation nodes), and back.

`to_onnx` writes the graph ONNX runtimes run; `from_onnx` reads that graph, or the equivalent
one an exporter such as ``torch.onnx.export`` makes of a Sequential of Linear layers and
activations, and refuses anything else with a ValueError that says why. The onnx package is
the optional extra "onnx", so it is imported inside the functions only.
"""
from __future__ import annotations

import errno
import importlib
import os
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from .._spec import LEAKY_SLOPE
from .._validation import as_int
from .._version import __version__
from ..io import write_atomically
from ..network import Network
from ._common import check_finite, layers_of, network_of

if TYPE_CHECKING:
    import onnx

_SOURCE = "not an ONNX model of a fully connected network"

# Softmax's axis semantics changed at opset 13 (before it, the input was flattened from the
# axis on); 13 is the first version in which every op written here means what bpcore computes
# (Gemm, Sigmoid, Tanh, Relu, LeakyRelu, Softmax, Exp, Mul, Max). Later opsets only add types.
MIN_OPSET = 13

# bpcore activation -> (ONNX op, its attributes); identity writes no node
_ACTIVATION_NODES: dict[str, tuple[str, dict[str, Any]]] = {
    "sigmoid": ("Sigmoid", {}), "tanh": ("Tanh", {}), "relu": ("Relu", {}),
    "leaky_relu": ("LeakyRelu", {"alpha": LEAKY_SLOPE}), "softmax": ("Softmax", {"axis": -1}),
    "exp": ("Exp", {}),
}
# ONNX op -> bpcore activation, for reading
_ACTIVATION_OF_OP = {op: name for name, (op, _) in _ACTIVATION_NODES.items()}


def _onnx() -> Any:
    try:
        import onnx
    except ImportError as error:
        raise ImportError('bpcore.convert.to_onnx and from_onnx need the onnx package: '
                          'pip install "bpcore[onnx]"') from error
    return onnx


def _checked_opset(opset: object, onnx: Any) -> int:
    if opset is None:
        return MIN_OPSET
    newest = int(onnx.defs.onnx_opset_version())
    value = as_int(opset, "opset", MIN_OPSET)
    if value > newest:
        raise ValueError(f"opset must be at most {newest} (the newest the installed onnx "
                         f"{onnx.__version__} knows), got {value}")
    return value


def to_onnx(net: Network, path: str | os.PathLike[str] | None = None,
            opset: int | None = None) -> onnx.ModelProto:
    """An ONNX model of the network's forward pass, written to `path` when one is given.

    The graph has one input named "input" of shape ("batch", n_in) and one output named
    "output" of shape ("batch", n_out): the batch dimension is dynamic. Each layer is a Gemm
    node (``z = input @ W.T + b``, with W stored (n_out, n_in) as bpcore has it, initializers
    "layer<i>.weight" and "layer<i>.bias") followed by its activation: Sigmoid, Tanh, Relu,
    LeakyRelu (alpha 0.01), Softmax (last axis) or Exp; an identity activation adds no
    node. The tensors have the network's dtype (float32 or float64). onnxruntime has no
    float64 LeakyRelu kernel, so in a float64 network leaky_relu is written as
    ``Max(z, Mul(z, 0.01))``, which is the same function, exactly. onnxruntime's outputs
    equal ``net.predict`` to rounding (1e-6 of their scale in float32, 1e-12 in float64; for
    an exp output, of the exponent).

    Parameters
    ----------
    net : Network
        The network to convert.
    path : str or os.PathLike, optional
        Where to write the model (``.onnx`` is the usual suffix; none is added). The file is
        written atomically: a failure leaves nothing behind.
    opset : int, optional
        The version of the standard ONNX operators the model declares: from 13 (the default
        and the first with today's Softmax) to the newest the installed onnx knows. A
        runtime runs the models of the versions it supports.

    Returns
    -------
    onnx.ModelProto
        The model, whether or not it was written; ``onnx.save(model, path)`` writes it too.

    Raises
    ------
    TypeError
        If `net` is not a Network or `opset` is not an int.
    ValueError
        If `opset` is outside the supported range, or a weight or bias is NaN or infinite
        (the message names the array, e.g. ``weights[0]``); nothing is written.
    OSError
        If `path` cannot be written.
    ImportError
        If the onnx package is not installed (``pip install "bpcore[onnx]"``).

    See Also
    --------
    from_onnx : The network back from such a model.

    Examples
    --------
    >>> import bpcore
    >>> from bpcore.convert import to_onnx
    >>> net = bpcore.Network([4, 8, 3], activation="tanh", output="softmax",
    ...                      loss="cross_entropy", seed=0)
    >>> onnx_model = to_onnx(net)
    >>> [node.op_type for node in onnx_model.graph.node]
    ['Gemm', 'Tanh', 'Gemm', 'Softmax']
    >>> onnx_model.graph.input[0].name, onnx_model.graph.output[0].name
    ('input', 'output')

    onnxruntime (``pip install "bpcore[onnx]"``) runs it:

    >>> import numpy as np
    >>> import onnxruntime
    >>> onnx_session = onnxruntime.InferenceSession(onnx_model.SerializeToString(),
    ...                                             providers=["CPUExecutionProvider"])
    >>> X = np.random.default_rng(0).normal(size=(5, 4))
    >>> (onnx_outputs,) = onnx_session.run(None, {"input": X})
    >>> bool(np.allclose(onnx_outputs, net.predict(X), rtol=0, atol=1e-12))
    True
    """
    layers = layers_of(net)
    package = _onnx()
    version = _checked_opset(opset, package)
    check_finite(layers, "an ONNX model")
    helper, numpy_helper = package.helper, package.numpy_helper
    element = helper.np_dtype_to_tensor_dtype(layers.dtype)
    nodes, initializers = [], []
    if layers.dtype == np.float64 and "leaky_relu" in layers.activations:
        # onnxruntime has no float64 LeakyRelu kernel: leaky_relu(z) = max(z, 0.01 z), which
        # is exact (0.01 z, rounded, is what bpcore computes below zero, and is >= z there)
        initializers.append(numpy_helper.from_array(np.array(LEAKY_SLOPE), "leaky_relu.slope"))
    current, last = "input", len(layers.weights) - 1
    for i, (weights, biases, activation) in enumerate(
            zip(layers.weights, layers.biases, layers.activations)):
        layer = f"layer{i}"
        initializers += [numpy_helper.from_array(weights, f"{layer}.weight"),
                         numpy_helper.from_array(biases, f"{layer}.bias")]
        result = "output" if i == last else f"{layer}.a"
        z = result if activation == "identity" else f"{layer}.z"  # no node for identity
        nodes.append(helper.make_node("Gemm", [current, f"{layer}.weight", f"{layer}.bias"], [z],
                                      name=f"{layer}.gemm", transB=1))
        if activation == "leaky_relu" and layers.dtype == np.float64:
            nodes += [helper.make_node("Mul", [z, "leaky_relu.slope"], [f"{layer}.scaled"],
                                       name=f"{layer}.leaky_relu.scale"),
                      helper.make_node("Max", [z, f"{layer}.scaled"], [result],
                                       name=f"{layer}.leaky_relu")]
        elif activation != "identity":
            op, attributes = _ACTIVATION_NODES[activation]
            nodes.append(helper.make_node(op, [z], [result], name=f"{layer}.{activation}",
                                          **attributes))
        current = result
    sizes = [layers.weights[0].shape[1]] + [weights.shape[0] for weights in layers.weights]
    graph = helper.make_graph(
        nodes, "bpcore", [helper.make_tensor_value_info("input", element, ["batch", sizes[0]])],
        [helper.make_tensor_value_info("output", element, ["batch", sizes[-1]])],
        initializers, doc_string=repr(net))
    opsets = [helper.make_opsetid("", version)]
    model: onnx.ModelProto = helper.make_model(
        graph, opset_imports=opsets, producer_name="bpcore", producer_version=__version__,
        doc_string=repr(net))
    # the oldest IR version that can hold this opset, so that older runtimes load the file
    model.ir_version = helper.find_min_ir_version_for(opsets)
    if path is not None:
        data = model.SerializeToString()
        write_atomically(path, lambda file: file.write(data))
    return model


def from_onnx(model_or_path: onnx.ModelProto | bytes | str | os.PathLike[str]) -> Network:
    """The Network an ONNX model of a fully connected network computes.

    It reads the models `to_onnx` writes and the usual equivalents other exporters make
    (``torch.onnx.export`` of a ``Sequential`` of Linear layers and activations): one float32
    or float64 input of shape (batch, n_in), then a chain of layers, each a Gemm (``transB``
    0 or 1, alpha and beta 1) or a MatMul by an (n_in, n_out) initializer followed by an Add
    of the bias (of shape (n_out,) or (1, n_out), or one value for every output), then at
    most one activation: Sigmoid, Tanh, Relu, LeakyRelu (alpha 0.01, or
    ``Max(z, Mul(z, 0.01))``), Softmax (last axis) or Exp; Identity nodes anywhere. Every
    hidden layer must have the same activation (a bpcore network has one). The loss is the
    one the output pairs with: cross_entropy after softmax, poisson after exp, mse otherwise.

    Parameters
    ----------
    model_or_path : onnx.ModelProto, bytes or str or os.PathLike
        The model, its serialized bytes, or the path of a ``.onnx`` file (initializers
        stored in files beside it, as ``torch.onnx.export`` writes larger models, are read
        from there).

    Returns
    -------
    Network
        A new network with the model's weights, bit for bit, in the model's dtype.

    Raises
    ------
    TypeError
        If `model_or_path` is none of the above.
    ValueError
        "not an ONNX model of a fully connected network: <reason>" for anything else: bytes
        that do not decode, other operators (a convolution, ...), a graph that is not a
        chain, parameters missing or of the wrong shape or type, initializers in external
        files of a model given as a ModelProto or bytes (a path reads them from its folder,
        as ``onnx.load`` does); "<path>: its initializer ..." when such a file is named
        outside the model's folder or ends before the initializer.
    OSError
        If the file, or a file of its initializers, cannot be read.
    ImportError
        If the onnx package is not installed (``pip install "bpcore[onnx]"``).

    See Also
    --------
    to_onnx : A network as such a model.

    Examples
    --------
    >>> import numpy as np, bpcore
    >>> from bpcore.convert import from_onnx, to_onnx
    >>> net = bpcore.Network([4, 8, 1], activation="relu", seed=0)
    >>> net_from_onnx = from_onnx(to_onnx(net))
    >>> net_from_onnx
    Network([4, 8, 1], activation='relu', output='sigmoid', loss='mse', dtype='float64')
    >>> X = np.random.default_rng(0).normal(size=(5, 4))
    >>> bool((net_from_onnx.predict(X) == net.predict(X)).all())
    True
    """
    package = _onnx()
    if isinstance(model_or_path, package.ModelProto):
        model = model_or_path
    elif isinstance(model_or_path, (bytes, bytearray, memoryview, str, os.PathLike)):
        if isinstance(model_or_path, (str, os.PathLike)):
            with open(model_or_path, "rb") as file:
                data = file.read()
        else:
            data = bytes(model_or_path)
        if not data:  # protobuf decodes it as a model of nothing
            raise ValueError(f"{_SOURCE}: it is empty (0 bytes)")
        # protobuf (onnx's own dependency; it ships no type hints) raises DecodeError
        decode_error = importlib.import_module("google.protobuf.message").DecodeError
        model = package.ModelProto()
        try:
            model.ParseFromString(data)
        except decode_error as error:
            raise ValueError(f"{_SOURCE}: the data do not decode as an ONNX model "
                             f"({type(error).__name__}: {error})") from error
        if isinstance(model_or_path, (str, os.PathLike)):
            _load_external_data(package, model, model_or_path)
    else:
        raise TypeError(f"model_or_path must be an onnx.ModelProto, bytes or a path, got "
                        f"{type(model_or_path).__name__}")
    return _Reader(package, model).network()


def _load_external_data(onnx: Any, model: Any, path: str | os.PathLike[str]) -> None:
    """Reads the initializers `model` keeps in files beside `path` (as ``torch.onnx.export``
    writes larger models: ``model.onnx.data``) into it, each from its `location` in the
    model's folder, `length` bytes from `offset`, as onnx's own loader reads them, except
    that a symbolic link in the folder (a Hugging Face cache holds its files so) is
    followed. FileNotFoundError names a missing file; a ValueError that starts with the
    model's path, a location outside the folder or a file that ends before the tensor."""
    model_path = os.fsdecode(os.fspath(path))
    folder = os.path.dirname(os.path.abspath(model_path))
    for tensor in model.graph.initializer:
        if tensor.data_location != onnx.TensorProto.EXTERNAL:
            continue
        entries = {entry.key: entry.value for entry in tensor.external_data}
        location = entries.get("location", "")
        what = f"{model_path}: its initializer {tensor.name!r}"
        if (not location or os.path.isabs(location)
                or ".." in location.replace("\\", "/").split("/")):
            raise ValueError(f"{what} is stored at {location!r}, not in a file in the model's "
                             f"folder, the only place bpcore reads initializers from")
        try:
            offset, length = int(entries.get("offset", 0)), int(entries.get("length", -1))
        except ValueError:
            raise ValueError(f"{what} has an offset or length that is not a whole number "
                             f"({entries.get('offset')!r}, {entries.get('length')!r})") from None
        file = os.path.join(folder, location)
        if not os.path.exists(file):
            raise FileNotFoundError(errno.ENOENT, f"{what} is stored in {location!r} beside it, "
                                    f"which is missing", file)
        if not os.path.isfile(file):  # a device such as /dev/zero would be read without end
            raise ValueError(f"{what} is stored in {location!r}, which is not a regular file")
        size = os.path.getsize(file)
        wanted = size - offset if length == -1 else length  # -1: to the end
        if offset < 0 or wanted < 0 or offset + wanted > size:  # before any read or seek
            raise ValueError(f"{what} takes {length} bytes from byte {offset} of {location!r}, "
                             f"which holds {size} (a truncated file?)")
        with open(file, "rb") as handle:
            handle.seek(offset)
            data = handle.read(wanted)
        tensor.raw_data = data
        tensor.data_location = onnx.TensorProto.DEFAULT
        del tensor.external_data[:]


def _fail(reason: str) -> ValueError:
    return ValueError(f"{_SOURCE}: {reason}")


def _describe(node: Any) -> str:
    name = node.name or (node.output[0] if node.output else "")
    return f"the {node.op_type} node {name!r}"


class _Reader:
    """Walks an ONNX graph from its one input along the chain of nodes to its output, and
    collects each layer's weights, biases and activation on the way."""

    def __init__(self, onnx: Any, model: Any) -> None:
        if not model.HasField("graph"):
            raise _fail("it has no graph")
        if not any(entry.domain in ("", "ai.onnx") for entry in model.opset_import):
            raise _fail("it declares no version of the standard ONNX operators (opset_import)")
        self.onnx, self.graph = onnx, model.graph
        self.constants: dict[str, npt.NDArray[Any]] = {
            tensor.name: self.array_of(tensor, f"the initializer {tensor.name!r}")
            for tensor in self.graph.initializer}
        self.nodes: list[Any] = []
        for node in self.graph.node:
            if node.domain not in ("", "ai.onnx"):
                raise _fail(f"{_describe(node)} is an operator of the domain {node.domain!r}, "
                            f"not a standard ONNX one")
            if node.op_type == "Constant":  # some exporters write parameters as Constant nodes
                values = [attribute.t for attribute in node.attribute if attribute.name == "value"]
                if len(values) != 1 or len(node.output) != 1:
                    raise _fail(f"{_describe(node)} does not hold one tensor ('value')")
                self.constants[node.output[0]] = self.array_of(values[0], _describe(node))
            else:
                self.nodes.append(node)
        # tensor name -> the nodes that read it, each once
        self.consumers: dict[str, list[Any]] = {}
        for node in self.nodes:
            for name in dict.fromkeys(node.input):
                self.consumers.setdefault(name, []).append(node)
        # an input with an initializer of the same name is a parameter with a default value
        inputs = [value for value in self.graph.input if value.name not in self.constants]
        if len(inputs) != 1:
            raise _fail(f"it has {len(inputs)} inputs ({', '.join(str(v.name) for v in inputs)}), "
                        f"expected one")
        if len(self.graph.output) != 1:
            raise _fail(f"it has {len(self.graph.output)} outputs, expected one")
        self.input, self.output = inputs[0], self.graph.output[0]
        self.dtype = self.dtype_of(self.input, "input")
        made = self.dtype_of(self.output, "output")
        if made != self.dtype:
            raise _fail(f"its input holds {self.dtype} numbers but its output {made} numbers")

    def array_of(self, tensor: Any, what: str) -> npt.NDArray[Any]:
        if tensor.data_location == self.onnx.TensorProto.EXTERNAL:
            raise _fail(f"{what} is stored in an external file; pass the model's path (its "
                        f"files are read from its folder) or the model onnx.load(path) returns")
        try:
            array: npt.NDArray[Any] = self.onnx.numpy_helper.to_array(tensor)
        except Exception as error:  # damaged data: a size that does not match, an unknown type
            raise _fail(f"{what} cannot be read ({type(error).__name__}: {error})") from error
        return array

    def dtype_of(self, value: Any, what: str) -> np.dtype[Any]:
        if not value.type.HasField("tensor_type"):
            raise _fail(f"its {what} {value.name!r} is not a tensor")
        element = value.type.tensor_type.elem_type
        types: dict[int, np.dtype[Any]] = {
            self.onnx.TensorProto.FLOAT: np.dtype(np.float32),
            self.onnx.TensorProto.DOUBLE: np.dtype(np.float64)}
        if element not in types:
            names = {number: key for key, number in self.onnx.TensorProto.DataType.items()}
            raise _fail(f"its {what} {value.name!r} holds {names.get(element, element)} "
                        f"numbers, expected FLOAT or DOUBLE")
        return types[element]

    def width_of(self, value: Any, what: str) -> int | None:
        """The declared number of features of the input or output, None when not declared."""
        if not value.type.tensor_type.HasField("shape"):
            return None
        dims = value.type.tensor_type.shape.dim
        if len(dims) != 2:
            raise _fail(f"its {what} has {len(dims)} dimensions, expected 2: (batch, features)")
        return int(dims[1].dim_value) if dims[1].HasField("dim_value") else None

    def attributes(self, node: Any, defaults: dict[str, float]) -> dict[str, float]:
        """The node's numeric attributes, the defaults filled in; an unknown one is refused."""
        values = dict(defaults)
        for attribute in node.attribute:
            if attribute.name not in defaults:
                raise _fail(f"{_describe(node)} has the attribute {attribute.name!r}, which a "
                            f"layer of a fully connected network does not have")
            try:
                value = self.onnx.helper.get_attribute_value(attribute)
            except Exception as error:
                raise _fail(f"{_describe(node)} has an unreadable attribute "
                            f"{attribute.name!r} ({error})") from error
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise _fail(f"{_describe(node)} has {attribute.name}={value!r}, expected a "
                            f"number")
            values[attribute.name] = value
        return values

    def parameter(self, node: Any, position: int, what: str) -> npt.NDArray[Any]:
        name = node.input[position] if len(node.input) > position else ""
        if name not in self.constants:
            raise _fail(f"{_describe(node)} reads its {what} from {name!r}, which is not an "
                        f"initializer")
        array = self.constants[name]
        if array.dtype != self.dtype:
            raise _fail(f"{_describe(node)} has {what} of type {array.dtype}, but the input "
                        f"holds {self.dtype} numbers")
        return array

    def weights_of(self, node: Any, position: int, transposed: bool) -> npt.NDArray[Any]:
        """The (n_out, n_in) weights from the node's matrix; `transposed` when it is stored
        (n_out, n_in) already (Gemm's transB=1), else it is (n_in, n_out)."""
        matrix = self.parameter(node, position, "weights")
        if matrix.ndim != 2:
            raise _fail(f"{_describe(node)} has weights of shape {matrix.shape}, expected a "
                        f"matrix")
        return matrix if transposed else matrix.T

    def bias_of(self, node: Any, position: int, width: int) -> npt.NDArray[Any]:
        bias = self.parameter(node, position, "biases")
        if bias.size == 1 and bias.ndim <= 2:  # one bias for every output, broadcast
            return np.full(width, bias.reshape(()), dtype=bias.dtype)
        if bias.shape not in ((width,), (1, width)):
            raise _fail(f"{_describe(node)} adds biases of shape {bias.shape}, expected "
                        f"({width},) for its {width} outputs")
        return bias.reshape(width)

    def leaky_relu_pair(self, current: str, consumers: list[Any]) -> tuple[Any, float] | None:
        """(the Max node, the slope) when the two nodes reading `current` compute
        max(z, slope z), as to_onnx writes a float64 leaky_relu; None otherwise."""
        maximum, product = sorted(consumers, key=lambda node: str(node.op_type))
        if (maximum.op_type, product.op_type) != ("Max", "Mul") or len(product.output) != 1:
            return None
        scaled = product.output[0]
        readers = self.consumers.get(scaled, [])
        factors = [i for i, name in enumerate(product.input) if name != current]
        if (set(maximum.input) != {current, scaled} or len(maximum.input) != 2
                or len(readers) != 1 or readers[0] is not maximum
                or len(product.input) != 2 or len(factors) != 1
                or maximum.attribute or product.attribute):
            return None
        slope = self.parameter(product, factors[0], "slope")
        if slope.size != 1:
            raise _fail(f"{_describe(product)} multiplies by {slope.size} numbers, expected "
                        f"one (a leaky_relu's slope)")
        return maximum, float(slope.reshape(()))

    def network(self) -> Network:
        weights: list[npt.NDArray[Any]] = []
        biases: list[npt.NDArray[Any]] = []
        activations: list[str] = []
        # the last layer may still take its bias (an Add after a MatMul) or its activation
        open_layer = has_bias = False
        current, visited = self.input.name, 0
        while consumers := self.consumers.get(current, []):
            if visited >= len(self.nodes):  # a node seen twice: the nodes make a cycle
                raise _fail(f"its nodes make a cycle through the tensor {current!r}")
            pair = self.leaky_relu_pair(current, consumers) if len(consumers) == 2 else None
            if pair is not None:
                (node, alpha), op = pair, "LeakyRelu"
                visited += 1  # the Mul
            elif len(consumers) > 1:
                raise _fail(f"the tensor {current!r} feeds {len(consumers)} nodes "
                            f"({', '.join(_describe(n) for n in consumers)}); a fully "
                            f"connected network is a chain")
            else:
                node, op = consumers[0], consumers[0].op_type
                if op == "LeakyRelu":
                    alpha = self.attributes(node, {"alpha": LEAKY_SLOPE})["alpha"]
            visited += 1
            if len(node.output) != 1:
                raise _fail(f"{_describe(node)} has {len(node.output)} outputs, expected 1")
            if op in ("Gemm", "MatMul"):
                if node.input[0] != current:
                    raise _fail(f"{_describe(node)} does not take the layer before it as its "
                                f"first input")
                if op == "Gemm":
                    settings = self.attributes(
                        node, {"alpha": 1.0, "beta": 1.0, "transA": 0, "transB": 0})
                    if (settings["alpha"], settings["beta"], settings["transA"]) != (1, 1, 0):
                        raise _fail(f"{_describe(node)} has alpha={settings['alpha']}, "
                                    f"beta={settings['beta']}, transA={settings['transA']}; "
                                    f"a layer has 1, 1 and 0")
                    matrix = self.weights_of(node, 1, transposed=settings["transB"] != 0)
                    has_bias = len(node.input) > 2 and node.input[2] != ""
                    bias = (self.bias_of(node, 2, matrix.shape[0]) if has_bias
                            else np.zeros(matrix.shape[0], self.dtype))
                else:
                    self.attributes(node, {})
                    if len(node.input) != 2:
                        raise _fail(f"{_describe(node)} has {len(node.input)} inputs, "
                                    f"expected 2")
                    matrix = self.weights_of(node, 1, transposed=False)
                    has_bias, bias = False, np.zeros(matrix.shape[0], self.dtype)
                weights.append(matrix)
                biases.append(bias)
                activations.append("identity")
                open_layer = True
            elif op == "Add":
                self.attributes(node, {})
                if not open_layer or has_bias or activations[-1] != "identity":
                    raise _fail(f"{_describe(node)} does not add biases right after a Gemm "
                                f"or MatMul")
                others = [i for i, name in enumerate(node.input) if name != current]
                if len(node.input) != 2 or len(others) != 1:
                    raise _fail(f"{_describe(node)} does not add biases to the layer")
                biases[-1] = self.bias_of(node, others[0], weights[-1].shape[0])
                has_bias = True
            elif op in _ACTIVATION_OF_OP:
                if op == "Softmax":
                    # the last of two axes: axis 1 (the default before opset 13) or -1
                    axis = self.attributes(node, {"axis": -1})["axis"]
                    if axis not in (1, -1):
                        raise _fail(f"{_describe(node)} is on axis {axis}, expected the last "
                                    f"(-1 or 1)")
                elif op == "LeakyRelu":
                    # 0.01 as a float64 initializer, or as LeakyRelu's float32 attribute
                    if alpha not in (LEAKY_SLOPE, float(np.float32(LEAKY_SLOPE))):
                        # float32's 0.2 in its shortest form, not 0.20000000298023224
                        raise _fail(f"{_describe(node)} has the slope {alpha:.8g} below zero, "
                                    f"but bpcore's leaky_relu has {LEAKY_SLOPE}")
                else:
                    self.attributes(node, {})
                if not open_layer:
                    raise _fail(f"{_describe(node)} does not follow a Gemm or MatMul (an "
                                f"activation before the first layer or after another one)")
                activations[-1] = _ACTIVATION_OF_OP[op]
                open_layer = False
            elif op == "Identity":
                self.attributes(node, {})
            else:
                raise _fail(f"{_describe(node)}: {op} is not an operator of a fully connected "
                            f"network (Gemm, MatMul, Add, Identity and the activations "
                            f"{', '.join(_ACTIVATION_OF_OP)})")
            current = node.output[0]
        if current != self.output.name:
            raise _fail(f"the chain of nodes from the input ends at {current!r}, not at the "
                        f"output {self.output.name!r}")
        if visited != len(self.nodes):
            raise _fail(f"{len(self.nodes) - visited} of its {len(self.nodes)} nodes are not "
                        f"on the chain from the input to the output")
        if not weights:
            raise _fail("it has no Gemm or MatMul layer")
        for value, what, width in ((self.input, "input", weights[0].shape[1]),
                                   (self.output, "output", weights[-1].shape[0])):
            declared = self.width_of(value, what)
            if declared is not None and declared != width:
                raise _fail(f"its {what} has {declared} features, but its "
                            f"{'first' if what == 'input' else 'last'} layer has {width}")
        return network_of(weights, biases, activations, self.dtype, _SOURCE)

