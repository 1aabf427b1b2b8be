"""JAX (CPU) as an optional peer in `bpcore bench`, written as a performance-minded JAX user
writes it: parameters as a pytree, the gradient from `jax.grad`, and

- `epoch_trainer`: a whole epoch of mini-batch SGD in ONE `jax.jit` call, `jax.lax.scan` over
  the full batches and, in the same compiled function, one more step on the shorter last
  batch (its shape is known when the epoch is traced, so it needs no masking and no second
  call; masking would cost a full batch of work for a few rows);
- `step_trainer`: a jitted one-sample SGD step called from a Python loop over the rows, as
  online learning from a stream is written;
- `predict_function`: a jitted forward pass of one sample.

Every function computes what `Network.fit(X, Y, epochs=1, lr=lr, batch_size=b,
shuffle=False)` computes from the same starting weights: the cost of a sample is
0.5 * sum_j (a_j - y_j)^2 for "mse" (sigmoid output) and -sum_j y_j log a_j for
"cross_entropy" (softmax output), and each batch steps p -= lr * (the mean over its samples of
the gradient). The kernels are stored (n_in, n_out), the layout JAX users keep (x @ kernel);
`weights()` turns them back into bpcore's (n_out, n_in).

jax is imported only inside the functions, so this module imports without it; the first use
enables float64 (`jax_enable_x64`) for the whole process, before this module makes any JAX
array, and float32 networks still compute in float32 (every array is made in the network's
dtype and Python numbers are weakly typed).
"""
from __future__ import annotations

import importlib.metadata
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np

from .._layout import Floats

if TYPE_CHECKING:
    from ..network import Network
    from . import Case

__all__ = ["JaxTrainer", "available", "epoch_trainer", "predict_function", "step_trainer",
           "versions"]

HIDDEN = ("sigmoid", "tanh", "relu")
OUTPUTS = {"sigmoid": "mse", "softmax": "cross_entropy"}  # output: the loss it pairs with


def available() -> bool:
    """Whether jax can be imported."""
    try:
        import jax  # noqa: F401
    except ImportError:
        return False
    return True


def versions() -> str:
    """'jax X, jaxlib Y' for the bench's notes."""
    return f"jax {_jax().__version__}, jaxlib {importlib.metadata.version('jaxlib')}"


def _jax() -> ModuleType:
    import jax
    module: ModuleType = jax  # its attributes are Any to mypy, with or without jax installed
    if not module.config.jax_enable_x64:  # once, before any JAX array is made
        module.config.update("jax_enable_x64", True)
    return module


class JaxTrainer:
    """Calling it trains one more epoch (and waits for the result), continuing from where the
    last call left the parameters; `weights()` and `biases()` read them back."""

    def __init__(self, jax: ModuleType, params: Any, advance: Callable[[Any], Any],
                 lowered: Callable[[Any], Any]) -> None:
        self._jax, self._params, self._advance, self._lowered = jax, params, advance, lowered

    def __call__(self) -> None:
        # block: JAX dispatches asynchronously, and the bench times the finished epoch
        self._params = self._jax.block_until_ready(self._advance(self._params))

    def weights(self) -> list[Floats]:
        """W of every layer as a NumPy array in bpcore's orientation (n_out, n_in)."""
        return [np.asarray(kernel).T.copy() for kernel, _ in self._params]

    def biases(self) -> list[Floats]:
        """b of every layer as a NumPy array of shape (n_out,)."""
        return [np.asarray(bias) for _, bias in self._params]

    def hlo_text(self) -> str:
        """The StableHLO text of the compiled function, to check its dtypes."""
        text: str = self._lowered(self._params).as_text()
        return text


def _parameters(jax: ModuleType, network: Network) -> list[tuple[Any, Any]]:
    """The network's weights as a pytree: one (kernel (n_in, n_out), bias) pair per layer."""
    jnp = jax.numpy
    return [(jnp.asarray(np.ascontiguousarray(weights.T)), jnp.asarray(biases.copy()))
            for weights, biases in zip(network.weights, network.biases)]


def _model(jax: ModuleType, network: Network) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """(logits(params, x), loss(params, x, y)) of the network: its hidden activation, output
    and loss, the batch's loss the mean of its samples' costs as in bpcore."""
    if network.activation not in HIDDEN:
        raise ValueError(f"network.activation must be one of {HIDDEN} for the JAX peer, got "
                         f"{network.activation!r}")
    if OUTPUTS.get(network.output) != network.loss_name:
        raise ValueError(f"network must have output and loss 'sigmoid'/'mse' or "
                         f"'softmax'/'cross_entropy' for the JAX peer, got "
                         f"{network.output!r}/{network.loss_name!r}")
    nn = jax.nn
    hidden = {"sigmoid": nn.sigmoid, "tanh": jax.numpy.tanh, "relu": nn.relu}[
        network.activation]

    def logits(params: list[tuple[Any, Any]], x: Any) -> Any:
        for kernel, bias in params[:-1]:
            x = hidden(x @ kernel + bias)
        kernel, bias = params[-1]
        return x @ kernel + bias

    if network.output == "softmax":
        def loss(params: list[tuple[Any, Any]], x: Any, y: Any) -> Any:
            return -(y * nn.log_softmax(logits(params, x))).sum(axis=-1).mean()
    else:
        def loss(params: list[tuple[Any, Any]], x: Any, y: Any) -> Any:
            return 0.5 * ((nn.sigmoid(logits(params, x)) - y) ** 2).sum(axis=-1).mean()
    return logits, loss


def _sgd_step(jax: ModuleType, loss: Callable[..., Any], lr: float) -> Callable[..., Any]:
    """step(params, x, y): params after one SGD step on the batch x, y."""
    def step(params: Any, x: Any, y: Any) -> Any:
        grads = jax.grad(loss)(params, x, y)
        # lr is a Python float, weakly typed: float32 parameters stay float32
        return jax.tree.map(lambda p, g: p - lr * g, params, grads)
    return step


def _data(network: Network, X: Floats, Y: Floats) -> tuple[Floats, Floats]:
    """X and Y in the network's dtype, after checking their shapes."""
    X, Y = np.asarray(X, dtype=network.dtype), np.asarray(Y, dtype=network.dtype)
    n_in, n_out = network.sizes[0], network.sizes[-1]
    if X.ndim != 2 or X.shape[1] != n_in:
        raise ValueError(f"X must have shape (n_samples, {n_in}), got {X.shape}")
    if Y.shape != (X.shape[0], n_out):
        raise ValueError(f"Y must have shape ({X.shape[0]}, {n_out}), got {Y.shape}")
    return X, Y


def _copy(jax: ModuleType, tree: Any) -> Any:
    return jax.tree.map(lambda leaf: leaf.copy(), tree)


def epoch_trainer(case: Case, network: Network, X: Floats, Y: Floats,
                  order: Any = None, shuffle: bool = False, seed: int = 0) -> JaxTrainer:
    """One epoch of SGD (lr=case.lr, batches of case.batch_size) per call, under one jit.

    The batches are X[order][0:b], X[order][b:2b], ...; order None means the rows in order
    (as fit's shuffle=False), the same order every epoch. shuffle=True draws a new order for
    each epoch instead, as fit's default and the other peers' epochs do: NumPy's permutation
    (seeded by `seed`), gathered inside the compiled epoch; jax.random.permutation sorts
    random keys, which on CPU costs more than a whole tiny epoch. The function is compiled
    before this returns."""
    if shuffle and order is not None:
        raise ValueError(f"give order or shuffle=True, not both: got shuffle=True and "
                         f"order of length {len(order)}")
    jax = _jax()
    X_device, Y_device = map(jax.numpy.asarray, _data(network, X, Y))
    n = X_device.shape[0]
    if order is not None:
        order = np.asarray(order)
        if order.shape != (n,) or not np.array_equal(np.sort(order), np.arange(n)):
            raise ValueError(f"order must be a permutation of the {n} rows' indices, got "
                             f"an array of shape {order.shape}")
        order = jax.numpy.asarray(order.astype(np.int32))
    batch_size = min(case.batch_size, n)  # as fit: a batch no larger than the data
    full, rest = divmod(n, batch_size)
    step = _sgd_step(jax, _model(jax, network)[1], case.lr)

    def scanned(params: Any, batch: tuple[Any, Any]) -> tuple[Any, None]:
        return step(params, *batch), None

    def epoch(params: Any, X: Any, Y: Any, order: Any) -> Any:
        if order is not None:
            X, Y = X[order], Y[order]
        used = full * batch_size
        params, _ = jax.lax.scan(scanned, params, (X[:used].reshape(full, batch_size, -1),
                                                   Y[:used].reshape(full, batch_size, -1)))
        if rest:  # the shorter last batch: a static shape, one more step in the same call
            params = step(params, X[used:], Y[used:])
        return params

    # donate the parameters: XLA updates them in place instead of allocating new ones
    compiled = jax.jit(epoch, donate_argnums=0)
    if shuffle:
        rng = np.random.default_rng(seed)

        def orders() -> Any:
            return rng.permutation(n).astype(np.int32)
    else:
        def orders() -> Any:
            return order
    params, example = _parameters(jax, network), orders()
    jax.block_until_ready(compiled(_copy(jax, params), X_device, Y_device, example))  # compile
    return JaxTrainer(jax, params, lambda params: compiled(params, X_device, Y_device, orders()),
                      lambda params: compiled.lower(params, X_device, Y_device, example))


def step_trainer(case: Case, network: Network, X: Floats, Y: Floats) -> JaxTrainer:
    """One online epoch per call: a jitted one-sample SGD step (lr=case.lr) called from
    Python for each row of X, Y in order. The step is compiled before this returns."""
    jax = _jax()
    rows = list(zip(*_data(network, X, Y)))  # NumPy rows, as samples from a stream
    step = _sgd_step(jax, _model(jax, network)[1], case.lr)
    compiled = jax.jit(lambda params, x, y: step(params, x[None], y[None]), donate_argnums=0)

    def online(params: Any) -> Any:
        for x, y in rows:
            params = compiled(params, x, y)
        return params
    params = _parameters(jax, network)
    jax.block_until_ready(compiled(_copy(jax, params), *rows[0]))  # compile
    return JaxTrainer(jax, params, online, lambda params: compiled.lower(params, *rows[0]))


def predict_function(network: Network) -> Callable[[Floats], Floats]:
    """predict(x): the network's output for one sample x (1-D NumPy), through a jitted
    forward pass, as a NumPy array. Compiled before this returns."""
    jax = _jax()
    params = _parameters(jax, network)
    logits = _model(jax, network)[0]
    output = jax.nn.softmax if network.output == "softmax" else jax.nn.sigmoid
    dtype = network.dtype
    forward = jax.jit(lambda params, x: output(logits(params, x.astype(dtype))))

    def predict(x: Floats) -> Floats:
        return np.asarray(forward(params, x))
    predict(np.zeros(network.sizes[0], dtype=dtype))  # compile
    return predict
