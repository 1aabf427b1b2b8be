"""Optimisers: small objects holding an update rule's hyperparameters.

An optimiser object only holds settings; the state it keeps for every parameter (SGD's
velocity) lives on the network, in an `OptimizerState`, so that it carries across `fit` and
`step` calls and rolls back with the parameters when a step diverges. The update itself is a
kernel: one function per optimiser in each kernel module, picked by the code in
`bpcore/_spec.py`. CONTRIBUTING.md lists the steps to add an optimiser.

Examples
--------
>>> from bpcore.optim import SGD
>>> SGD(lr=0.05, momentum=0.9)
SGD(lr=0.05, momentum=0.9, weight_decay=0.0)
>>> SGD(lr=0.05, momentum=1.0)
Traceback (most recent call last):
    ...
ValueError: momentum must be a finite number in [0, 1), got 1.0
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar

import numpy as np

from ._layout import Floats
from ._spec import OPTIMISERS
from ._validation import check

__all__ = ["Optimizer", "SGD", "OptimizerState"]


class Optimizer:
    """The base of every optimiser: a frozen dataclass of hyperparameters with a `name`.

    The name is a key of bpcore/_spec.py's OPTIMISERS, which also names the optimiser's
    kernel settings and state arrays; each hyperparameter is checked against the ranges of
    bpcore/_validation.py on construction. Subclasses register themselves by name in
    `Optimizer.classes`.

    Examples
    --------
    >>> from bpcore.optim import SGD, Optimizer
    >>> Optimizer.classes["sgd"] is SGD, SGD().name, SGD().code
    (True, 'sgd', 0)
    """

    name: ClassVar[str]
    classes: ClassVar[dict[str, type[Optimizer]]] = {}  # every optimiser class, by name

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        Optimizer.classes[cls.name] = cls

    def __post_init__(self) -> None:
        for item in fields(self):  # type: ignore[arg-type]
            object.__setattr__(self, item.name, check(item.name, getattr(self, item.name)))

    @property
    def code(self) -> int:
        """int: the optimiser's code in the kernels (bpcore/_spec.py)."""
        return OPTIMISERS[self.name].code

    def settings(self, scalars: Floats) -> Floats:
        """The kernels' float64 settings vector: the hyperparameters, then the scalar state.

        Parameters
        ----------
        scalars : ndarray of float64
            The optimiser's scalar state, as an `OptimizerState` keeps it (empty for SGD).

        Returns
        -------
        ndarray of float64
            A new vector, in the order bpcore/_spec.py's OPTIMISERS names its entries.

        Examples
        --------
        >>> import numpy as np
        >>> from bpcore.optim import SGD
        >>> SGD(lr=0.5, momentum=0.9).settings(np.zeros(0))
        array([0.5, 0.9, 0. ])
        """
        values = [getattr(self, item.name) for item in fields(self)]  # type: ignore[arg-type]
        return np.concatenate([np.array(values, dtype=np.float64), scalars])

    def changes_state(self) -> bool:
        """Whether a step of this optimiser changes its state arrays (so that undoing a step
        must restore them too).

        Returns
        -------
        bool
            True unless the settings leave the state alone (SGD without momentum).

        Examples
        --------
        >>> from bpcore.optim import SGD
        >>> SGD().changes_state(), SGD(momentum=0.9).changes_state()
        (False, True)
        """
        return True

    def state_dict(self) -> dict[str, Any]:
        """The optimiser's name and hyperparameters, e.g. to store beside a model.

        Returns
        -------
        dict
            ``name`` and each hyperparameter by its name.

        Examples
        --------
        >>> from bpcore.optim import SGD
        >>> SGD(momentum=0.9).state_dict()
        {'name': 'sgd', 'lr': 0.1, 'momentum': 0.9, 'weight_decay': 0.0}
        """
        return {"name": self.name, **{item.name: getattr(self, item.name)
                                      for item in fields(self)}}  # type: ignore[arg-type]


@dataclass(frozen=True)
class SGD(Optimizer):
    """Stochastic gradient descent, with optional momentum and L2 weight decay.

    The update is v = momentum * v - lr * (g + weight_decay * W), then W += v, with one
    velocity v per parameter kept on the network. With momentum 0 it is plain SGD,
    W -= lr * (g + weight_decay * W), and the velocity is neither used nor changed. Weight
    decay applies to the weights, not to the biases.

    Attributes
    ----------
    lr : float > 0, default 0.1
        The learning rate.
    momentum : float in [0, 1), default 0.0
        How much of the previous step the velocity keeps.
    weight_decay : float >= 0, default 0.0
        The L2 penalty's factor: weight_decay / 2 * sum W^2 is added to the cost.

    Raises
    ------
    TypeError
        If a setting is not a real number.
    ValueError
        If a setting is out of its range.

    Examples
    --------
    >>> from bpcore.optim import SGD
    >>> SGD(lr=0.05, momentum=0.9)
    SGD(lr=0.05, momentum=0.9, weight_decay=0.0)
    """

    name: ClassVar[str] = "sgd"
    lr: float = 0.1
    momentum: float = 0.0
    weight_decay: float = 0.0

    def changes_state(self) -> bool:
        # with momentum 0 the kernels neither read nor write the velocity
        return self.momentum != 0


class OptimizerState:
    """The state an optimiser keeps for a network between calls.

    Its arrays (each as long as the parameters) are held one after the other in one flat
    vector, `arrays`, as the kernels take them; its scalar state (float64, none for SGD) in
    `scalars`. `Network.get_state` reports both by name.

    Parameters
    ----------
    name : str
        The optimiser the state belongs to, a key of bpcore/_spec.py's OPTIMISERS.
    n_parameters : int
        The network's number of parameters.
    dtype : numpy.dtype
        The network's dtype.

    Examples
    --------
    >>> import numpy as np
    >>> from bpcore.optim import OptimizerState
    >>> state = OptimizerState("sgd", 5, np.dtype("float64"))
    >>> state.arrays.shape, state.scalars.shape, list(state.named())
    ((5,), (0,), ['velocity'])
    """

    def __init__(self, name: str, n_parameters: int, dtype: np.dtype[Any]) -> None:
        spec = OPTIMISERS[name]
        self.name = name
        self.arrays = np.zeros(len(spec.state) * n_parameters, dtype=dtype)
        n_hyperparameters = len(fields(Optimizer.classes[name]))  # type: ignore[arg-type]
        self.scalars = np.zeros(len(spec.settings) - n_hyperparameters, dtype=np.float64)

    def named(self) -> dict[str, Floats]:
        """Each state array by its name.

        Returns
        -------
        dict of str to ndarray
            Views into `arrays`, in the order bpcore/_spec.py's OPTIMISERS names them.

        Examples
        --------
        >>> import numpy as np
        >>> from bpcore.optim import OptimizerState
        >>> OptimizerState("sgd", 3, np.dtype("float32")).named()["velocity"]
        array([0., 0., 0.], dtype=float32)
        """
        names = OPTIMISERS[self.name].state
        size = len(self.arrays) // max(1, len(names))
        return {name: self.arrays[i * size:(i + 1) * size] for i, name in enumerate(names)}

    def copy(self) -> OptimizerState:
        """A copy with arrays of its own.

        Returns
        -------
        OptimizerState
            The same optimiser's state, copied.

        Examples
        --------
        >>> import numpy as np
        >>> from bpcore.optim import OptimizerState
        >>> state = OptimizerState("sgd", 3, np.dtype("float64"))
        >>> state.copy().arrays is state.arrays
        False
        """
        twin = object.__new__(OptimizerState)
        twin.name, twin.arrays, twin.scalars = self.name, self.arrays.copy(), self.scalars.copy()
        return twin

    def assign(self, other: OptimizerState) -> None:
        """Take `other`'s values, in place when the arrays have the same shape (so that a
        kernel call already holding them sees the new values).

        Parameters
        ----------
        other : OptimizerState
            The state to copy from.

        Examples
        --------
        >>> import numpy as np
        >>> from bpcore.optim import OptimizerState
        >>> state = OptimizerState("sgd", 2, np.dtype("float64"))
        >>> saved = state.copy()
        >>> state.arrays[...] = 1.0
        >>> state.assign(saved)
        >>> state.arrays
        array([0., 0.])
        """
        self.name = other.name
        if self.arrays.shape != other.arrays.shape:
            self.arrays = other.arrays.copy()
        else:
            self.arrays[...] = other.arrays
        self.scalars = other.scalars.copy()
