"""The floors of `bpcore bench`: per case, the time this machine needs for work no training
of that case can skip, measured in the same run with the same library and flags.

- mini-batch rows (`minibatch_floor`): an epoch's matrix products (`step_products` of every
  batch) issued back to back from C through the same BLAS as the kernels (SciPy's, through
  bpcore._blas), each in the storage layout the BLAS does best (`fastest_layouts`), with
  nothing else: the time bpcore would take if everything but the products were free;
- online rows (`online_floor`): the plainest C loop of the same arithmetic (forward, backward,
  update, one sample at a time), built with the kernels' flags; and `online_bound`, the least
  memory traffic of an online step that changes every weight: one read pass and one
  read-write pass over the parameters (plain SGD's step leaves the rows of ReLU units that
  did not fire alone, and can take less);
- predict (`call_floor`): a bare call of an empty compiled function.

The loops are the compiled module bpcore.bench._reference (src/reference/module.pxi), built
in the same SIMD variants as the kernels; `reference_module` picks the one matching the
kernels in use. `minibatch_epoch`, `online_epoch` and `bound_passes` give each floor as a call,
which the bench times in the same alternating rounds as the row's implementations, so that a
slow spell of the machine hits the floor and bpcore alike; the `*_floor` and `online_bound`
functions time one on their own with the `seconds(function, budget)` given.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import numpy.typing as npt

from .._backend import SIMD_VARIANTS, compiled, simd_variants
from .._layout import Floats, aligned_copy, aligned_zeros

if TYPE_CHECKING:
    from ..network import Network
    from . import Case

__all__ = ["BPCORE_LAYOUTS", "LAYOUTS", "Product", "ProductTimes", "Seconds", "bound_passes",
           "call_floor", "fastest_layouts", "minibatch_epoch", "minibatch_floor", "online_bound",
           "online_epoch", "online_floor", "reference_module", "step_products"]

Seconds = Callable[[Callable[[], object], float], float]

# A product C = A B (C is m x n, row-major) with A stored as is (m x k) or as its transpose
# (k x m), and B as is (k x n) or as its transpose (n x k): "NT" is A as is, B transposed
LAYOUTS = ("NN", "NT", "TN", "TT")
# bpcore's layouts (src/kernels/layers.pxi): forward Z = A W^T with W stored (n_out, n_in);
# backward D[l-1] = D[l] W[l] with W as is; gradient G = D^T A with D stored (n, n_out)
BPCORE_LAYOUTS = {"forward": "NT", "backward": "NN", "gradient": "TN"}
# except that a plain SGD epoch keeps W[0]^T for the first layer's products when they have
# at most the compiled kernels' FIRST_LAYER_TRANSPOSED_UP_TO multiply-adds: its forward is
# then untransposed ("NN"), and its gradient, computed as G^T = A^T D, stays an A^T B product;
# and that a forward product the compiled kernels' forward_copies takes runs on a copy of W^T
# ("NN")
# a timed call of one product repeats it to about this many floating-point operations, so
# that the Python call around it is lost in the noise
WORK_PER_CALL = 2e7
CALLS = 200  # bare calls per timed run, as many as the predict row makes


class Product(NamedTuple):
    """One matrix product C (m x n) = A (m x k) B (k x n) of a training step."""
    m: int
    n: int
    k: int
    kind: str   # "forward", "backward" or "gradient"
    layer: int  # the index of the weights W[layer] it involves
    single: bool = False  # of float32 (the kernels' rules for copies differ by dtype)

    @property
    def flops(self) -> int:
        return 2 * self.m * self.n * self.k

    @property
    def bpcore_layout(self) -> str:
        """The layout bpcore's kernels store this product's operands in (in a plain SGD
        epoch, as the bench's mini-batch rows train)."""
        kernels = compiled()
        small = self.m * self.n * self.k <= kernels.FIRST_LAYER_TRANSPOSED_UP_TO
        if self.kind == "forward" and ((self.layer == 0 and small)
                                       or kernels.forward_copies(self.m, self.k, self.n,
                                                                 self.single)):
            return "NN"
        return BPCORE_LAYOUTS[self.kind]


@dataclass
class ProductTimes:
    """A product's time (seconds per product) in each layout of LAYOUTS."""
    product: Product
    times: dict[str, float]

    @property
    def fastest(self) -> str:
        return min(self.times, key=lambda layout: self.times[layout])

    @property
    def bpcore_over_fastest(self) -> float:
        """How much slower bpcore's layout is than the fastest (1.0: it is the fastest)."""
        return self.times[self.product.bpcore_layout] / self.times[self.fastest]


def reference_module(variant: str | None = None) -> ModuleType | None:
    """The compiled reference loops built for `variant` (default: the SIMD variant of the
    compiled kernels the bench's compiled column runs); None when that module is not built or
    this CPU cannot run it."""
    if variant is None:
        try:
            variant = str(compiled().SIMD)
        except ImportError:
            return None
    if variant not in SIMD_VARIANTS:
        raise ValueError(f"variant must be one of {', '.join(SIMD_VARIANTS)}, got {variant!r}")
    if variant != "baseline" and variant not in simd_variants():
        return None
    suffix = "" if variant == "baseline" else "_" + variant
    try:
        return importlib.import_module(f"{__package__}._reference{suffix}")
    except ImportError:
        return None


def _required() -> ModuleType:
    module = reference_module()
    if module is None:
        raise ImportError("bpcore.bench._reference is not built (or not for this CPU's "
                          "SIMD variant): build bpcore from source to measure the floors")
    return module


def step_products(sizes: Sequence[int], n: int, single: bool = False) -> list[Product]:
    """The matrix products of one mini-batch SGD step on n samples through layers `sizes`,
    of float32 (single) or float64, in the order a step makes them: forward Z[l] (n x s_l) =
    A[l-1] (n x s_{l-1}) W[l]^T for every layer; backward D[l-1] (n x s_{l-1}) = D[l] (n x
    s_l) W[l] (s_l x s_{l-1}) from the last layer to the second; gradients G[l] (s_l x
    s_{l-1}) = D[l]^T A[l-1] for every layer. Their flops sum to n * training_flops(sizes)."""
    widths = [int(width) for width in sizes]
    if len(widths) < 2 or min(widths) < 1:
        raise ValueError(f"sizes must be at least two positive widths, got {list(sizes)}")
    if int(n) < 1:
        raise ValueError(f"n must be a positive number of samples, got {n}")
    layers = list(zip(widths, widths[1:]))  # (s_{l-1}, s_l) of each layer
    products = [Product(n, n_out, n_in, "forward", l, single)
                for l, (n_in, n_out) in enumerate(layers)]
    products += [Product(n, layers[l][0], layers[l][1], "backward", l, single)
                 for l in range(len(layers) - 1, 0, -1)]
    products += [Product(n_out, n_in, n, "gradient", l, single)
                 for l, (n_in, n_out) in enumerate(layers)]
    return products


def _sequence(module: ModuleType, products: Sequence[tuple[Product, str]],
              dtype: npt.DTypeLike, repeats: int) -> Callable[[], object]:
    """A call issuing the products (each in its layout) `repeats` times back to back, on
    random operands of their own (product after product in three buffers)."""
    table = np.array([[layout[0] == "T", layout[1] == "T", p.m, p.n, p.k]
                      for p, layout in products], dtype=np.intp)
    rng = np.random.default_rng(0)
    a, b = (aligned_copy(rng.standard_normal(sum(rows * cols for rows, cols in shapes))
                         .astype(dtype))
            for shapes in ([(p.m, p.k) for p, _ in products], [(p.k, p.n) for p, _ in products]))
    c = aligned_zeros(sum(p.m * p.n for p, _ in products), dtype)
    return lambda: module.gemm_sequence(table, a, b, c, repeats)


def fastest_layouts(products: Sequence[Product], dtype: npt.DTypeLike, budget: float,
                    seconds: Seconds) -> list[ProductTimes]:
    """Each product's time in each of the four LAYOUTS (seconds per product, through the
    kernels' BLAS), in the order given; products of one shape are timed once. `budget` is
    the seconds to spend in all."""
    module = _required()
    shapes = list(dict.fromkeys((p.m, p.n, p.k) for p in products))
    each = budget / max(1, len(shapes) * len(LAYOUTS))
    times: dict[tuple[int, int, int], dict[str, float]] = {}
    for m, n, k in shapes:
        product = Product(m, n, k, "forward", 0)
        repeats = max(1, round(WORK_PER_CALL / product.flops))
        times[m, n, k] = {
            layout: seconds(_sequence(module, [(product, layout)], dtype, repeats), each)
            / repeats for layout in LAYOUTS}
    return [ProductTimes(p, dict(times[p.m, p.n, p.k])) for p in products]


def minibatch_epoch(case: Case, budget: float, seconds: Seconds,
                    layouts: str = "fastest") -> tuple[Callable[[], object], float]:
    """The case's epoch of matrix products alone, as a call to time: the products of
    n_samples // batch_size full batches and of the last, partial batch if any, issued back
    to back, each in its fastest layout (`budget` goes to finding those), or with
    layouts="bpcore" in bpcore's own (nothing timed). Also returns the epoch's seconds per
    sample in bpcore's layouts, summed from the products' own times (nan with "bpcore")."""
    if layouts not in ("fastest", "bpcore"):
        raise ValueError(f"layouts must be 'fastest' or 'bpcore', got {layouts!r}")
    module = _required()
    full, rest = divmod(case.n_samples, case.batch_size)
    steps = [(step_products(case.sizes, size, np.dtype(case.dtype) == np.float32), count)
             for size, count in ((case.batch_size, full), (rest, 1)) if size and count]
    chosen = {p: p.bpcore_layout for products, _ in steps for p in products}
    in_bpcore_layouts = float("nan")
    if layouts == "fastest":
        timed = {t.product: t for t in fastest_layouts(list(chosen), case.dtype, budget,
                                                       seconds)}
        chosen = {product: t.fastest for product, t in timed.items()}
        in_bpcore_layouts = sum(timed[p].times[p.bpcore_layout] * count
                                for products, count in steps for p in products) / case.n_samples
    runs = [_sequence(module, [(p, chosen[p]) for p in products], case.dtype, count)
            for products, count in steps]

    def epoch() -> None:
        for run in runs:
            run()
    return epoch, in_bpcore_layouts


def minibatch_floor(case: Case, budget: float, seconds: Seconds,
                    layouts: str = "fastest") -> float:
    """Seconds per sample of `minibatch_epoch` (half the budget goes to finding the
    layouts, half to timing the epoch)."""
    epoch, _ = minibatch_epoch(case, budget / 2, seconds, layouts)
    return seconds(epoch, budget / 2 if layouts == "fastest" else budget) / case.n_samples


def online_epoch(case: Case, X: Floats, Y: Floats,
                 network: Callable[[Case], Network]) -> Callable[[], object]:
    """A call of the plain C loop of online SGD (bpcore.bench._reference's online_epoch: the
    same arithmetic as bpcore's, float64) over the case's data X, Y, from the parameters of
    `network(case)` (the bench's starting network): one epoch, n_samples steps."""
    module = _required()
    if case.batch_size != 1 or case.dtype != "float64":
        raise ValueError(f"case must be an online float64 case (batch_size 1), got "
                         f"batch_size {case.batch_size} and {case.dtype}")
    if module.OUTPUTS.get(case.output) != case.loss or case.activation not in module.HIDDEN:
        raise ValueError(f"the reference loop runs hidden {' or '.join(module.HIDDEN)} "
                         f"with output sigmoid and mse or softmax and cross_entropy, got "
                         f"{case.activation}, {case.output} and {case.loss}")
    params = aligned_copy(network(case).get_state()["parameters"])  # as a Network's are
    inputs = np.ascontiguousarray(X, dtype=np.float64)
    targets = np.ascontiguousarray(Y, dtype=np.float64)
    sizes = list(case.sizes)
    return lambda: module.online_epoch(params, sizes, inputs, targets, case.lr,
                                       case.activation, case.output)


def online_floor(case: Case, X: Floats, Y: Floats, network: Callable[[Case], Network],
                 budget: float, seconds: Seconds) -> float:
    """Seconds per sample of `online_epoch`."""
    return seconds(online_epoch(case, X, Y, network), budget) / len(X)


def bound_passes(case: Case) -> Callable[[], object]:
    """A call making, n_samples times, the least memory traffic of an online step that
    changes every weight (plain SGD's skips the rows of ReLU units that did not fire): with P
    the parameter count, sum over layers of s_l (s_{l-1} + 1), one read pass over the P
    parameters (a forward pass reads every weight once) and one read-write pass (a fused
    backward and update reads and writes each once), in the case's dtype, as this machine
    runs them (bpcore.bench._reference's parameter_passes, built with the kernels' flags).
    The forward pass must end before the backward pass can start, so the two passes cannot
    be one."""
    module = _required()
    count = sum(n_out * (n_in + 1) for n_in, n_out in zip(case.sizes, case.sizes[1:]))
    rng = np.random.default_rng(0)
    # aligned as a Network's parameters are: NumPy's own 16-byte alignment made this bound
    # 40% slower whenever the arrays were not also 32-byte aligned (split cache-line loads)
    params = aligned_copy(rng.standard_normal(count).astype(case.dtype))
    # the activations a row of weights meets, at most the widest layer's input
    vector = aligned_copy(rng.standard_normal(max(case.sizes[:-1])).astype(case.dtype))
    repeats = case.n_samples  # one pass pair per sample, as an epoch makes
    return lambda: module.parameter_passes(params, vector, repeats, 0.0)


def online_bound(case: Case, budget: float, seconds: Seconds) -> float:
    """Seconds per sample of `bound_passes`."""
    return seconds(bound_passes(case), budget) / case.n_samples


def call_floor(budget: float, seconds: Seconds) -> float:
    """Seconds per call of an empty compiled function from Python, with one argument (a
    4-vector, as the predict row passes) and the same loop around the calls as the predict
    row times."""
    empty = _required().empty
    x = np.zeros(4)

    def run() -> None:
        for _ in range(CALLS):
            empty(x)
    return seconds(run, budget) / CALLS
