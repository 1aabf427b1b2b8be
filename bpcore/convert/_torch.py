"""PyTorch: a Network as a torch.nn.Sequential of Linear and activation modules, and back."""
from __future__ import annotations

from typing import Any

import numpy as np

from .._spec import LEAKY_SLOPE
from ..network import Network
from ._common import check_finite, layers_of, network_of

_SOURCE = "not a torch.nn.Sequential of Linear layers and activations"


def _torch() -> Any:
    try:
        import torch
    except ImportError as error:
        raise ImportError("bpcore.convert's PyTorch functions need PyTorch: "
                          "pip install torch") from error
    return torch


def to_torch(net: Network) -> Any:
    """The network as a ``torch.nn.Sequential`` with the same weights, dtype and outputs.

    Each layer becomes a ``Linear`` (its ``weight`` is ``net.weights[i]``, shape (n_out,
    n_in), as bpcore stores it) followed by its activation: ``Sigmoid``, ``Tanh``, ``ReLU``,
    ``LeakyReLU(0.01)`` or ``Softmax(dim=-1)``; an identity activation adds no module. The
    module is in evaluation mode, on the CPU, with copies of the parameters: training either
    leaves the other alone. Its outputs equal ``net.predict`` to rounding (1e-12 relative in
    float64).

    Parameters
    ----------
    net : Network
        The network to convert.

    Returns
    -------
    torch.nn.Sequential

    Raises
    ------
    TypeError
        If `net` is not a Network.
    ValueError
        If the output is "exp" (Poisson): torch.nn has no exponential module; `to_onnx`
        writes it. If a weight or bias is NaN or infinite (the message names the array).
    ImportError
        If PyTorch is not installed.

    Examples
    --------
    >>> import bpcore
    >>> from bpcore.convert import to_torch
    >>> net = bpcore.Network([4, 8, 3], activation="relu", output="softmax",
    ...                      loss="cross_entropy", seed=0)
    >>> to_torch(net)
    Sequential(
      (0): Linear(in_features=4, out_features=8, bias=True)
      (1): ReLU()
      (2): Linear(in_features=8, out_features=3, bias=True)
      (3): Softmax(dim=-1)
    )
    """
    layers = layers_of(net)
    if layers.activations[-1] == "exp":
        raise ValueError("net has an exp output, which torch.nn has no module for; "
                         "bpcore.convert.to_onnx writes it (as Exp)")
    check_finite(layers, "a torch module")
    torch = _torch()
    nn = torch.nn
    dtype = torch.float64 if layers.dtype == np.float64 else torch.float32
    modules: list[Any] = []
    for weights, biases, activation in zip(layers.weights, layers.biases, layers.activations):
        n_out, n_in = weights.shape
        linear = nn.Linear(n_in, n_out, dtype=dtype)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(weights))
            linear.bias.copy_(torch.from_numpy(biases))
        modules.append(linear)
        if activation == "sigmoid":
            modules.append(nn.Sigmoid())
        elif activation == "tanh":
            modules.append(nn.Tanh())
        elif activation == "relu":
            modules.append(nn.ReLU())
        elif activation == "leaky_relu":
            modules.append(nn.LeakyReLU(LEAKY_SLOPE))
        elif activation == "softmax":
            modules.append(nn.Softmax(dim=-1))
    return nn.Sequential(*modules).eval()


def _activation_name(module: Any, nn: Any, where: str) -> str | None:
    """bpcore's name of an activation module; None for one that changes nothing at
    inference (Identity, Dropout)."""
    if isinstance(module, (nn.Identity, nn.Dropout)):
        return None
    if isinstance(module, nn.Sigmoid):
        return "sigmoid"
    if isinstance(module, nn.Tanh):
        return "tanh"
    if isinstance(module, nn.ReLU):
        return "relu"
    if isinstance(module, nn.LeakyReLU):
        if module.negative_slope != LEAKY_SLOPE:
            raise ValueError(f"{_SOURCE}: {where} is LeakyReLU with negative_slope "
                             f"{module.negative_slope}; bpcore's leaky_relu has {LEAKY_SLOPE}")
        return "leaky_relu"
    if isinstance(module, nn.Softmax):
        if module.dim not in (-1, 1):
            raise ValueError(f"{_SOURCE}: {where} is Softmax over dim={module.dim}; bpcore's "
                             f"softmax is over each sample's outputs (dim=-1)")
        return "softmax"
    raise ValueError(f"{_SOURCE}: {where} is {type(module).__name__}; expected Linear, "
                     f"Sigmoid, Tanh, ReLU, LeakyReLU, Softmax, Identity or Dropout")


def _computes_as_torch(module: Any, torch: Any, where: str) -> None:
    """Refuse a module whose output is not its torch class's: a subclass that overrides
    forward, or forward hooks (its own, or registered for every module), which can change
    the output: the conversion reads only the parameters."""
    nn = torch.nn
    for base in (nn.Sequential, nn.Linear, nn.Identity, nn.Dropout, nn.Sigmoid, nn.Tanh,
                 nn.ReLU, nn.LeakyReLU, nn.Softmax):
        if isinstance(module, base):
            if type(module).forward is not base.forward:
                raise ValueError(f"{_SOURCE}: {where} ({type(module).__name__}) overrides "
                                 f"{base.__name__}.forward; only torch's own layers convert")
            break
    hooks = [getattr(module, name, None) for name in ("_forward_hooks", "_forward_pre_hooks")]
    shared = [getattr(torch.nn.modules.module, name, None)
              for name in ("_global_forward_hooks", "_global_forward_pre_hooks")]
    if any(hooks):
        raise ValueError(f"{_SOURCE}: {where} ({type(module).__name__}) has forward hooks, "
                         f"which can change its output; remove them to convert it (a pruned "
                         f"layer: torch.nn.utils.prune.remove(layer, 'weight') makes the "
                         f"pruning permanent)")
    if any(shared):
        raise ValueError(f"{_SOURCE}: forward hooks are registered for every module "
                         f"(torch.nn.modules.module.register_module_forward_hook), which can "
                         f"change the output; remove them to convert")


def from_torch(module: Any) -> Network:
    """A Network equivalent to a ``torch.nn.Sequential`` of Linear layers and activations.

    Accepts what `to_torch` returns and what one writes by hand: ``Linear`` layers (without
    a bias, the bias is zero), each followed by at most one of ``Sigmoid``, ``Tanh``,
    ``ReLU``, ``LeakyReLU(0.01)`` and ``Softmax(dim=-1)`` (none: identity), with
    ``Identity`` and ``Dropout`` (nothing at inference) anywhere and nested Sequentials
    flattened. Every hidden layer must have the same activation (a bpcore network has one).
    The parameters are copied, in the Linear layers' dtype (float32 or float64), and
    predictions equal the module's to rounding (1e-12 relative in float64). The loss is
    cross_entropy after a softmax, mse otherwise.

    Parameters
    ----------
    module : torch.nn.Sequential
        The module to convert; it is not changed.

    Returns
    -------
    Network
        A new network with copies of the module's parameters.

    Raises
    ------
    TypeError
        If `module` is not a torch.nn.Sequential.
    ValueError
        If it holds another kind of module, two activations in a row, Linear layers whose
        shapes do not chain or of different or unsupported dtypes, hidden layers with
        different activations, or non-finite parameters; or if a module's output may not be
        its torch class's (a subclass overriding forward, forward hooks).
    ImportError
        If PyTorch is not installed.

    Examples
    --------
    >>> import torch
    >>> from bpcore.convert import from_torch
    >>> module = torch.nn.Sequential(torch.nn.Linear(2, 4, dtype=torch.float64),
    ...                              torch.nn.Tanh(), torch.nn.Linear(4, 1, dtype=torch.float64))
    >>> from_torch(module)
    Network([2, 4, 1], activation='tanh', output='identity', loss='mse', dtype='float64')
    """
    torch = _torch()
    nn = torch.nn
    if not isinstance(module, nn.Sequential):
        raise TypeError(f"module must be a torch.nn.Sequential, got {type(module).__name__}")
    _computes_as_torch(module, torch, "the module")
    weights: list[Any] = []
    biases: list[Any] = []
    activations: list[str] = []
    dtypes = set()
    pending: str | None = None  # the activation after the last Linear, once one is seen

    def flat(sequential: Any, prefix: str) -> list[tuple[str, Any]]:
        items = []
        for name, child in sequential.named_children():
            if isinstance(child, nn.Sequential):
                _computes_as_torch(child, torch, f"module {prefix}{name}")
                items += flat(child, f"{prefix}{name}.")
            else:
                items.append((f"module {prefix}{name}", child))
        return items

    def array(tensor: Any, where: str) -> Any:
        # a tensor NumPy cannot hold (bfloat16), or one without data (the meta device, a
        # LazyLinear never run), would raise torch's own error from .numpy()
        dtype = str(tensor.dtype).removeprefix("torch.")
        if tensor.dtype not in (torch.float32, torch.float64):
            raise ValueError(f"{_SOURCE}: {where} has parameters of type {dtype}, expected "
                             f"float32 or float64")
        try:
            return tensor.detach().cpu().numpy().copy()
        except (RuntimeError, NotImplementedError, ValueError) as error:
            raise ValueError(f"{_SOURCE}: {where} has parameters that cannot be read "
                             f"({type(error).__name__}: {error})") from error

    for where, child in flat(module, ""):
        if isinstance(child, nn.Linear):
            if weights:
                activations.append(pending or "identity")
            pending = None
            weights.append(array(child.weight, where))
            dtypes.add(weights[-1].dtype.name)
            biases.append(np.zeros(weights[-1].shape[0], dtype=weights[-1].dtype)
                          if child.bias is None else array(child.bias, where))
            _computes_as_torch(child, torch, where)  # after a lazy layer's own message
            continue
        name = _activation_name(child, nn, where)
        _computes_as_torch(child, torch, where)
        if name is None:
            continue
        if not weights:
            raise ValueError(f"{_SOURCE}: {where} ({type(child).__name__}) comes before any "
                             f"Linear layer")
        if pending is not None:
            raise ValueError(f"{_SOURCE}: {where} ({type(child).__name__}) follows another "
                             f"activation; a layer has one")
        pending = name
    if not weights:
        raise ValueError(f"{_SOURCE}: it has no Linear layer")
    activations.append(pending or "identity")
    if len(dtypes) > 1:
        raise ValueError(f"{_SOURCE}: its Linear layers have the dtypes "
                         f"{', '.join(sorted(dtypes))}; expected one, float32 or float64")
    return network_of(weights, biases, activations, dtypes.pop(), _SOURCE)
