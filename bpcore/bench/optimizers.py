"""The optimizer-step rows of `bpcore bench`: one training step of each optimizer.

For a mini-batch case, the time of one step (forward, backward and update on one batch) of
SGD, SGD with Nesterov momentum, Adam and Rprop, in each implementation: bpcore's `fit`
(compiled and fallback), the NumPy network of `numpy_baseline` with the update written the
obvious vectorised way, and PyTorch with `torch.optim` (zero_grad, backward, step). As in the
mini-batch rows, each timed call is one shuffled epoch of many steps, and a row shows its time
divided by the number of steps. Every implementation starts from the same weights and gets the
same settings (PyTorch's formulations, which bpcore's follow). bpcore's epochs run with
``restore_best=False``: steps only, as the NumPy and PyTorch epochs.

All the trainers of a case are timed in one alternating run, so that the ratio of Adam's step
to SGD's (issue 13's target: at most 1.3) compares times taken side by side.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np

from .._backend import use_backend
from .._layout import Floats
from ..optim import SGD, Adam, Optimizer, Rprop
from .numpy_baseline import NumpyAdam, NumpyNetwork, NumpyOptimizer, NumpyRprop, NumpySGD
from .table import Row, Target

if TYPE_CHECKING:
    from ..network import Network
    from . import Case

__all__ = ["OPTIMIZERS", "ADAM_OVER_SGD", "bpcore_optimizer", "numpy_optimizer", "step_rows",
           "step_trainers", "torch_epoch", "torch_optimizer"]

# the optimizers timed: row key part -> (name in titles, settings every implementation gets);
# lr as the mini-batch rows' for SGD, the libraries' defaults for Adam; Rprop's first step
# small, as mini-batch steps on random labels keep flipping signs
OPTIMIZERS: dict[str, tuple[str, dict[str, Any]]] = {
    "sgd": ("SGD", {"lr": 0.01}),
    "nesterov": ("SGD+Nesterov", {"lr": 0.01, "momentum": 0.9, "nesterov": True}),
    "adam": ("Adam", {"lr": 0.001}),
    "rprop": ("Rprop", {"lr": 0.001}),
}
ADAM_OVER_SGD = 1.3  # the most Adam's step may cost, in SGD's steps, on the mid mini-batch case


def bpcore_optimizer(key: str) -> Optimizer:
    """bpcore's optimizer `key` of OPTIMIZERS, with its settings."""
    settings = OPTIMIZERS[key][1]
    kind: type[Optimizer] = {"adam": Adam, "rprop": Rprop}.get(key, SGD)
    return kind(**settings)


def numpy_optimizer(key: str) -> NumpyOptimizer:
    """The NumPy baseline's optimizer `key` of OPTIMIZERS, with its settings."""
    settings = OPTIMIZERS[key][1]
    optimizer: NumpyOptimizer = {"adam": NumpyAdam, "rprop": NumpyRprop}.get(key, NumpySGD)(
        **settings)
    return optimizer


def torch_optimizer(torch: ModuleType, key: str, parameters: Any) -> Any:
    """torch.optim's optimizer `key` of OPTIMIZERS over `parameters`, with its settings."""
    settings = OPTIMIZERS[key][1]
    kind = {"adam": torch.optim.Adam, "rprop": torch.optim.Rprop}.get(key, torch.optim.SGD)
    return kind(parameters, **settings)


def _torch() -> ModuleType | None:
    try:
        import torch
        module: ModuleType = torch
        return module
    except ImportError:
        return None


def step_trainers(case: Case, X: Floats, Y: Floats, network: Callable[[Case], Network],
                  ours: Mapping[str, str],
                  torch_model: Callable[[ModuleType, Network], Any] | None = None
                  ) -> dict[str, Callable[[], object]]:
    """Per optimizer and implementation ("adam/compiled", ...): a function training one
    epoch over (X, Y) with that optimizer, each from the weights `network(case)` starts with.

    `ours` maps bpcore's columns to their `use_backend` choices; `torch_model(torch, network)`
    builds the same model in PyTorch (None: no PyTorch column)."""
    trainers: dict[str, Callable[[], object]] = {}
    torch = _torch() if torch_model is not None else None
    for key in OPTIMIZERS:
        for name, backend in ours.items():
            def train(net: Network = network(case), backend: str = backend,
                      optimizer: Optimizer = bpcore_optimizer(key)) -> None:
                with use_backend(backend):
                    net.fit(X, Y, epochs=1, batch_size=case.batch_size, optimizer=optimizer,
                            restore_best=False)
            trainers[f"{key}/{name}"] = train
        def train_numpy(baseline: NumpyNetwork = NumpyNetwork.like(network(case)),
                        update: NumpyOptimizer = numpy_optimizer(key),
                        rng: np.random.Generator = np.random.default_rng(2)) -> None:
            baseline.fit(X, Y, epochs=1, batch_size=case.batch_size, rng=rng, optimizer=update)
        trainers[f"{key}/numpy"] = train_numpy
        if torch is not None and torch_model is not None:
            model = torch_model(torch, network(case))
            trainers[f"{key}/torch"] = _torch_trainer(torch, key, case, model, X, Y)
    return trainers


def _torch_trainer(torch: ModuleType, key: str, case: Case, model: Any, X: Floats,
                   Y: Floats) -> Callable[[], float]:
    optimizer = torch_optimizer(torch, key, model.parameters())
    # the mini-batch cases are softmax + CE
    return torch_epoch(torch, model, optimizer, torch.from_numpy(X),
                       torch.from_numpy(Y.argmax(axis=1)), torch.nn.functional.cross_entropy,
                       case.batch_size)


def torch_epoch(torch: ModuleType, model: Any, optimizer: Any, inputs: Any, targets: Any,
                loss_fn: Callable[[Any, Any], Any], batch_size: int) -> Callable[[], float]:
    """A function that trains `model` for one shuffled epoch as a PyTorch user writes it
    (zero_grad, backward, step per batch) and returns the summed batch losses."""
    def train_torch() -> float:
        order = torch.randperm(inputs.shape[0])
        total = 0.0
        for start in range(0, inputs.shape[0], batch_size):
            rows = order[start:start + batch_size]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(inputs[rows]), targets[rows])
            loss.backward()
            optimizer.step()
            total += loss.item()
        return total
    return train_torch


def _short(case: Case) -> str:
    """The case's title up to its layer sizes, and its dtype: `mid mini-batch (f64)`."""
    name = case.title.split(" " + "-".join(map(str, case.sizes)))[0]
    return f"{name} ({case.dtype.replace('float', 'f')})"


def step_rows(case: Case, X: Floats, Y: Floats, network: Callable[[Case], Network],
              ours: Mapping[str, str], budget: float,
              times: Callable[[Mapping[str, Callable[[], object]], float], dict[str, float]],
              torch_model: Callable[[ModuleType, Network], Any] | None = None,
              adam_target: bool = False) -> list[Row]:
    """One row per optimizer: seconds per step of each implementation on `case`.

    `times(functions, budget)` times the trainers (the bench's alternating best-of rounds);
    the budget is per trainer. With `adam_target`, Adam's row checks that its compiled step
    costs at most ADAM_OVER_SGD of SGD's (as a Target on SGD's time over Adam's)."""
    steps = -(-case.n_samples // case.batch_size)  # the last batch may be smaller
    seconds = times(step_trainers(case, X, Y, network, ours, torch_model), budget)
    reference = "compiled" if "compiled" in ours else "fallback"
    rows = []
    for key, (name, settings) in OPTIMIZERS.items():
        values = {column.partition("/")[2]: value / steps for column, value in seconds.items()
                  if column.startswith(key + "/")}
        mine = values[reference]
        row = Row(f"step_{key}_{case.key}", f"{name} step, {case.title}", "s/step", values,
                  ratios={column: value / mine for column, value in values.items()
                          if column != reference},
                  label=f"{name} step, {_short(case)}")
        row.note = ", ".join(f"{setting} {value}" for setting, value in settings.items())
        rows.append(row)
    sgd, adam = rows[0], rows[list(OPTIMIZERS).index("adam")]
    adam.note += "; adam/sgd step time " + " ".join(
        f"{column} {value / sgd.values[column]:.2f}x" for column, value in adam.values.items())
    if adam_target:
        # Target checks value >= minimum: SGD's time over Adam's, at least 1 / ADAM_OVER_SGD
        adam.targets.append(Target(f"sgd/adam ({reference})",
                                   sgd.values[reference] / adam.values[reference],
                                   round(1 / ADAM_OVER_SGD, 3)))
    return rows
