"""The chain rule of one weight's gradient, factor by factor: what `Network.explain` returns.

Works on the arrays of one sample's forward and backward pass, so it depends on no network
and no kernels.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._layout import Floats
from ._numpy_math import derivative
from ._spec import ACTIVATIONS


@dataclass
class Factor:
    """One factor of the chain rule in an `bpcore.Explanation`.

    Attributes
    ----------
    name : str
        The partial derivative, e.g. ``"da[1]_0/dz[1]_0"``.
    formula : str
        How it is computed: the numbers it is computed from where they are one or two (a
        - y, the activation a its derivative is written from), else the formula alone (the
        sum over the next layer's deltas, whose terms `Network.gradients` gives).
    value : float
        Its value.

    Examples
    --------
    >>> import bpcore
    >>> net = bpcore.Network([2, 1], seed=0)
    >>> net.explain([1.0, 2.0], [0.0], layer=0, j=0, k=1).factors[-1].name
    'dz[1]_0/dW[1]_01'
    """
    name: str
    formula: str
    value: float


@dataclass
class Explanation:
    """What `Network.explain` returns: the chain-rule factors of one weight's gradient for
    one sample, and their product. ``str()`` of it is a table of the factors.

    Attributes
    ----------
    factors : list of Factor
        The factors, from the cost back to the weight.
    product : float
        Their product.
    gradient : float
        The same derivative as backpropagation computes it (`Network.gradients`), to compare
        with `product`.

    Examples
    --------
    >>> import bpcore
    >>> net = bpcore.Network([2, 3, 1], seed=0)
    >>> explanation = net.explain([0.0, 1.0], [1.0], layer=0, j=0, k=1)
    >>> [factor.name for factor in explanation.factors]
    ['dC/da[1]_0', 'da[1]_0/dz[1]_0', 'dz[1]_0/dW[1]_01']
    >>> abs(explanation.product - explanation.gradient) < 1e-12
    True
    """
    factors: list[Factor]
    product: float
    gradient: float

    def __str__(self) -> str:
        # the columns as wide as their widest entry (a fused factor's formula is long)
        names = max([28, *(len(f.name) for f in self.factors)])
        formulas = max([34, *(len(f.formula) for f in self.factors)])
        lines = [f"{f.name:<{names}} = {f.formula:<{formulas}} = {f.value: .10g}"
                 for f in self.factors]
        lines.append(f"{'product':<{names}} = {' * '.join(f.name for f in self.factors)}")
        lines.append(f"{'':<{names}} = {self.product: .10g}   (gradient: {self.gradient: .10g})")
        return "\n".join(lines)


def _pair(j: int, k: int) -> str:
    """The subscript of W_jk: "01", or "1,11" where an index has more than one digit."""
    return f"{j}{k}" if j < 10 and k < 10 else f"{j},{k}"


def chain_rule(activations: list[Floats], deltas: list[Floats], weights: list[Floats],
               gradient: float, y: Floats, functions: list[str], loss: str, layer: int, j: int,
               k: int) -> Explanation:
    """The chain-rule factors of the gradient of ``weights[layer][j, k]``: `Network.explain`.

    For one sample. The factors are named in docs/mathematics.md's numbering, where
    ``weights[layer]`` is W[l] with l = layer + 1 (layer=0 is W[1]) and a[0] = x; rows and
    columns count from 0.

    Parameters
    ----------
    activations : list of ndarray
        a[0] = x, then every layer's output a[l], each of shape (1, width).
    deltas : list of ndarray
        Every layer's local gradients delta[l], each (1, width).
    weights : list of ndarray
        W of every layer, (n_out, n_in).
    gradient : float
        Backpropagation's value of the derivative, to report beside the product.
    y : ndarray of shape (1, n_out)
        The sample's targets.
    functions : list of str
        Each layer's activation name.
    loss : str
        The loss name.
    layer, j, k : int
        Which weight: row j, column k of ``weights[layer]``, named W[layer + 1]_jk.

    Returns
    -------
    Explanation
        The factors, their product and `gradient`.

    Examples
    --------
    A 1-1 identity network under mse: dC/dW = (a - y) * 1 * x.

    >>> import numpy as np
    >>> from bpcore.explain import chain_rule
    >>> x, a, y = np.array([[2.0]]), np.array([[3.0]]), np.array([[1.0]])
    >>> e = chain_rule([x, a], [a - y], [np.array([[1.5]])], 4.0, y, ["identity"], "mse",
    ...                0, 0, 0)
    >>> [f.value for f in e.factors], e.product
    ([2.0, 1.0, 2.0], 4.0)
    """
    n_layers = len(weights)
    a_out = float(activations[layer + 1][0, j])
    f = functions[layer]
    l = layer + 1
    factors = []
    if layer == n_layers - 1 and loss != "mse":
        factors.append(Factor(f"dC/dz[{l}]_{j}", f"a - y = {a_out:.6g} - {float(y[0, j]):.6g} "
                              f"(fused {f} + {loss})", float(deltas[layer][0, j])))
    else:
        if layer == n_layers - 1:
            upstream = a_out - float(y[0, j])
            formula = f"a - y = {a_out:.6g} - {float(y[0, j]):.6g}"
        else:
            w_next = weights[layer + 1]
            with np.errstate(all="ignore"):  # inf or NaN, as predict and gradients give them
                upstream = float(w_next[:, j].astype(np.float64) @ deltas[layer + 1][0])
            formula = f"sum_i W[{l + 1}]_i{',' if j >= 10 else ''}{j} delta[{l + 1}]_i"
        factors.append(Factor(f"dC/da[{l}]_{j}", formula, upstream))
        factors.append(Factor(f"da[{l}]_{j}/dz[{l}]_{j}", f"{f}'(z) from a = {a_out:.6g}",
                              float(derivative(np.array([a_out]), ACTIVATIONS[f])[0])))
    factors.append(Factor(f"dz[{l}]_{j}/dW[{l}]_{_pair(j, k)}", f"a[{layer}]_{k}" + (
        f" = x_{k}" if layer == 0 else ""), float(activations[layer][0, k])))
    with np.errstate(all="ignore"):
        product = float(np.prod([factor.value for factor in factors]))
    return Explanation(factors=factors, product=product, gradient=gradient)
