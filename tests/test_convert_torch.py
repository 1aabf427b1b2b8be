"""bpcore.convert.to_torch / from_torch against PyTorch itself (skipped without it), and the
re-exports of bpcore.convert."""
import numpy as np
import pytest

import bpcore
import bpcore.convert
from bpcore._spec import HIDDEN_ACTIVATIONS, OUTPUT_ACTIVATIONS

torch = pytest.importorskip("torch", reason="PyTorch is optional: the converters' tests need it")
nn = torch.nn

OUTPUTS = [o for o in OUTPUT_ACTIVATIONS if o != "exp"]
LOSS = {"softmax": "cross_entropy"}
TOLERANCE = {"float64": 1e-12, "float32": 1e-6}


def network(sizes, hidden, output, dtype, seed=0):
    net = bpcore.Network(sizes, activation=hidden, output=output, loss=LOSS.get(output, "mse"),
                         dtype=dtype, seed=seed)
    rng = np.random.default_rng(seed)
    for b in net.biases:  # biases start at zero: give them values, so a lost bias shows
        b[...] = rng.uniform(-1, 1, b.shape)
    return net


def torch_outputs(module, X):
    with torch.no_grad():
        return module(torch.from_numpy(X)).numpy()


def close(actual, expected, dtype):
    scale = max(1.0, float(np.abs(expected).max()))
    np.testing.assert_allclose(actual, expected, rtol=0, atol=TOLERANCE[dtype] * scale)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("hidden", HIDDEN_ACTIVATIONS)
def test_both_directions_give_the_same_predictions(hidden, output, dtype):
    net = network([3, 5, 4, 2], hidden, output, dtype)
    X = np.random.default_rng(1).normal(0, 2, (40, 3)).astype(dtype)
    module = bpcore.convert.to_torch(net)
    assert isinstance(module, nn.Sequential) and not module.training
    assert all(p.dtype == getattr(torch, dtype) for p in module.parameters())
    linears = [m for m in module if isinstance(m, nn.Linear)]
    for linear, w, b in zip(linears, net.weights, net.biases, strict=True):
        np.testing.assert_array_equal(linear.weight.detach().numpy(), w)
        np.testing.assert_array_equal(linear.bias.detach().numpy(), b)
    close(torch_outputs(module, X), net.predict(X), dtype)
    back = bpcore.convert.from_torch(module)
    assert (back.sizes, back.activation, back.output, back.dtype) == (
        net.sizes, hidden, output, net.dtype)
    np.testing.assert_array_equal(back.get_state()["parameters"], net.get_state()["parameters"])
    np.testing.assert_array_equal(back.predict(X), net.predict(X))


def test_the_module_holds_copies():
    net = network([2, 3, 1], "tanh", "identity", "float64")
    module = bpcore.convert.to_torch(net)
    with torch.no_grad():
        module[0].weight.add_(1.0)
    assert not np.array_equal(module[0].weight.detach().numpy(), net.weights[0])
    back = bpcore.convert.from_torch(module)
    back.weights[0][...] = 0.0
    assert float(module[0].weight.detach().abs().sum()) > 0


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_a_hand_written_module_is_read(dtype):
    torch.manual_seed(0)
    kind = getattr(torch, dtype)
    module = nn.Sequential(nn.Linear(4, 6, dtype=kind), nn.ReLU(), nn.Dropout(0.5),
                           nn.Sequential(nn.Linear(6, 5, dtype=kind), nn.Identity(), nn.ReLU()),
                           nn.Linear(5, 3, bias=False, dtype=kind), nn.Softmax(dim=1)).eval()
    net = bpcore.convert.from_torch(module)
    assert (net.sizes, net.activation, net.output, net.loss_name, net.dtype.name) == (
        (4, 6, 5, 3), "relu", "softmax", "cross_entropy", dtype)
    np.testing.assert_array_equal(net.biases[2], 0.0)
    X = np.random.default_rng(2).normal(size=(30, 4)).astype(dtype)
    close(net.predict(X), torch_outputs(module, X), dtype)


def test_no_activation_after_a_hidden_linear_is_identity():
    module = nn.Sequential(nn.Linear(2, 3, dtype=torch.float64), nn.Linear(3, 1, dtype=torch.float64))
    net = bpcore.convert.from_torch(module)
    assert (net.activation, net.output) == ("identity", "identity")
    X = np.random.default_rng(3).normal(size=(10, 2))
    close(net.predict(X), torch_outputs(module, X), "float64")


@pytest.mark.parametrize("module, message", [
    (lambda: nn.Sequential(nn.Linear(2, 3), nn.Conv1d(1, 1, 1)), "Conv1d"),
    (lambda: nn.Sequential(nn.Linear(2, 3), nn.LeakyReLU(0.2)), "negative_slope 0.2"),
    (lambda: nn.Sequential(nn.Linear(2, 3), nn.Softmax(dim=0)), "dim=0"),
    (lambda: nn.Sequential(nn.Tanh(), nn.Linear(2, 3)), "before any Linear"),
    (lambda: nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Sigmoid()), "follows another"),
    (lambda: nn.Sequential(nn.Linear(2, 3), nn.Linear(4, 1)), "takes 4 inputs"),
    (lambda: nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 3), nn.ReLU(),
                           nn.Linear(3, 1)), "one hidden activation"),
    (lambda: nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1, dtype=torch.float64)), "dtypes"),
    (lambda: nn.Sequential(nn.Linear(2, 3, dtype=torch.float16)), "float16"),
    # NumPy has no bfloat16, and meta or lazy parameters hold no numbers: torch's own
    # TypeError, NotImplementedError or ValueError once came out of .numpy()
    (lambda: nn.Sequential(nn.Linear(2, 3, dtype=torch.bfloat16)), "module 0 has parameters "
                                                                  "of type bfloat16"),
    (lambda: nn.Sequential(nn.Linear(2, 3, device="meta")), "module 0 has parameters that "
                                                            "cannot be read"),
    (lambda: nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.LazyLinear(1)),
     "module 2 has parameters that cannot be read"),
    (lambda: nn.Sequential(), "no Linear layer"),
    (lambda: nn.Sequential(nn.Linear(2, 3), nn.Softmax(dim=-1), nn.Linear(3, 1)), "hidden layer 0"),
])
def test_what_is_not_a_network_gets_a_reason(module, message):
    with pytest.raises(ValueError, match="not a torch.nn.Sequential of Linear layers") as caught:
        bpcore.convert.from_torch(module())
    assert message in str(caught.value)


class _Doubled(nn.Linear):
    def forward(self, x):
        return 2 * super().forward(x)


class _Shifted(nn.Sequential):
    def forward(self, x):
        return super().forward(x) + 1


class _Named(nn.Tanh):  # a subclass that computes what its base does converts
    pass


def _hooked(where, pre=False):
    module = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Sequential(nn.Linear(3, 1)))
    target = {"tanh": module[1], "linear": module[0], "inner": module[2]}[where]
    if pre:
        target.register_forward_pre_hook(lambda mod, inputs: tuple(2 * x for x in inputs))
    else:
        target.register_forward_hook(lambda mod, inputs, output: 2 * output)
    return module


@pytest.mark.parametrize("module, message", [
    (lambda: nn.Sequential(_Doubled(2, 3), nn.Tanh()), "module 0 (_Doubled) overrides "
                                                       "Linear.forward"),
    (lambda: _Shifted(nn.Linear(2, 3)), "the module (_Shifted) overrides Sequential.forward"),
    (lambda: nn.Sequential(nn.Linear(2, 3), _Shifted(nn.Tanh())),
     "module 1 (_Shifted) overrides Sequential.forward"),
    (lambda: _hooked("tanh"), "module 1 (Tanh) has forward hooks"),
    (lambda: _hooked("linear", pre=True), "module 0 (Linear) has forward hooks"),
    (lambda: _hooked("inner"), "module 2 (Sequential) has forward hooks"),
])
def test_a_module_computing_other_than_torchs_layers_is_refused(module, message):
    # the conversion reads only the parameters: these modules' outputs differ from them
    module = module()
    with pytest.raises(ValueError, match="not a torch.nn.Sequential of Linear layers") as caught:
        bpcore.convert.from_torch(module)
    assert message in str(caught.value)


def test_hooks_registered_for_every_module_are_refused_and_plain_subclasses_convert():
    module = nn.Sequential(nn.Linear(2, 3, dtype=torch.float64), _Named())
    handle = torch.nn.modules.module.register_module_forward_hook(lambda m, i, o: 2 * o)
    try:
        with pytest.raises(ValueError, match="forward hooks are registered for every module"):
            bpcore.convert.from_torch(module)
    finally:
        handle.remove()
    X = np.random.default_rng(0).normal(size=(5, 2))
    close(bpcore.convert.from_torch(module).predict(X), torch_outputs(module, X), "float64")


def test_non_finite_weights_are_refused():
    module = nn.Sequential(nn.Linear(2, 1, dtype=torch.float64))
    with torch.no_grad():
        module[0].weight[0, 0] = float("nan")
    with pytest.raises(ValueError, match="not finite"):
        bpcore.convert.from_torch(module)


def test_wrong_types_and_exp():
    with pytest.raises(TypeError, match="module must be a torch.nn.Sequential, got Linear"):
        bpcore.convert.from_torch(nn.Linear(2, 1))
    with pytest.raises(TypeError, match="net must be a bpcore.Network, got Sequential"):
        bpcore.convert.to_torch(nn.Sequential())
    poisson = bpcore.Network([2, 1], output="exp", loss="poisson")
    with pytest.raises(ValueError, match="exp output"):
        bpcore.convert.to_torch(poisson)
    net = bpcore.Network([2, 3, 1], seed=0)
    net.weights[0][2, 1] = np.nan
    with pytest.raises(ValueError, match=r"net's weights\[0\] hold NaN or infinity"):
        bpcore.convert.to_torch(net)


def test_the_sklearn_conversions_are_re_exported():
    sklearn = pytest.importorskip("bpcore.sklearn", reason="needs scikit-learn")
    assert bpcore.convert.to_sklearn is sklearn.to_sklearn
    assert bpcore.convert.from_sklearn is sklearn.from_sklearn
    with pytest.raises(AttributeError, match="no attribute 'to_keras'"):
        bpcore.convert.to_keras  # noqa: B018
