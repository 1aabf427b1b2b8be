"""Optimizers: small objects holding an update rule's hyperparameters.

An optimizer object only holds settings; the state it keeps for every parameter (SGD's
velocity) lives on the network, in an `OptimizerState`, so that it carries across `fit` and
`step` calls and rolls back with the parameters when a step diverges. The update itself is a
kernel: one function per optimizer in each kernel module, picked by the code in
`bpcore/_spec.py`. CONTRIBUTING.md lists the steps to add an optimizer.

Examples
--------
>>> from bpcore.optim import SGD
>>> SGD(lr=0.05, momentum=0.9)
SGD(lr=0.05, momentum=0.9, nesterov=False, weight_decay=0.0)
>>> SGD(lr=0.05, momentum=1.0)
Traceback (most recent call last):
    ...
ValueError: momentum must be a finite number in [0, 1), got 1.0
"""
from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any, ClassVar

import numpy as np

from ._layout import Floats, aligned_copy, aligned_zeros, realigned
from ._spec import OPTIMIZERS
from ._validation import check, real_array, refusing_signature
from .schedules import rate_at

__all__ = ["Optimizer", "SGD", "Adam", "Rprop", "LBFGS", "OptimizerState"]


_FIELD_NAMES: weakref.WeakKeyDictionary[type, tuple[str, ...]] = weakref.WeakKeyDictionary()


def _field_names(cls: type) -> tuple[str, ...]:
    # an optimizer class's hyperparameters in order, looked up once (fit calls settings on
    # every call, and dataclasses.fields builds its tuple anew each time)
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(item.name for item in fields(cls))
    return names


class Optimizer:
    """The base of every optimizer: a frozen dataclass of hyperparameters with a `name`.

    The name is a key of bpcore/_spec.py's OPTIMIZERS, which also names the optimizer's
    kernel settings and state arrays; each hyperparameter is checked against the ranges of
    bpcore/_validation.py on construction. Subclasses register themselves by name in
    ``Optimizer.classes``.

    Examples
    --------
    >>> from bpcore.optim import SGD, Optimizer
    >>> Optimizer.classes["sgd"] is SGD, SGD().name, SGD().code
    (True, 'sgd', 0)
    """

    name: ClassVar[str]
    classes: ClassVar[dict[str, type[Optimizer]]] = {}  # every optimizer class, by name
    # whether `lr` may be a schedule, a callable lr(epoch) (Rprop's is only its first step)
    scheduled: ClassVar[bool] = True
    # the learning rate (a divergence suggests a smaller one): a number, or a schedule
    lr: float | Callable[[int], float]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "name" in cls.__dict__:  # a subclass of SGD of someone's own does not replace it
            Optimizer.classes[cls.name] = cls

    def __post_init__(self) -> None:
        for item in fields(self):  # type: ignore[arg-type]
            value = getattr(self, item.name)
            if item.name == "lr" and callable(value):
                if not self.scheduled:
                    raise TypeError(f"lr of {type(self).__name__} must be a number (the first "
                                    f"step size), not a schedule; got {value!r}")
                _check_schedule(value)
                continue  # a schedule: its values are checked epoch by epoch (rate_at)
            if value is None and item.name == "max_iter":
                continue
            object.__setattr__(self, item.name, check(item.name, value))

    def rate(self, epoch: int) -> float:
        """The learning rate in `epoch` (counting from 1): `lr`, or lr(epoch) for a schedule.

        Parameters
        ----------
        epoch : int
            The epoch, from 1.

        Returns
        -------
        float
            A finite rate > 0.

        Raises
        ------
        ValueError, TypeError
            If a schedule returns something else.

        Examples
        --------
        >>> from bpcore.optim import SGD
        >>> SGD(lr=lambda epoch: 0.1 / epoch).rate(4)
        0.025
        """
        return rate_at(self.lr, epoch)

    @property
    def code(self) -> int:
        """int: the optimizer's code in the kernels (bpcore/_spec.py)."""
        return OPTIMIZERS[self.name].code

    def settings(self, scalars: Floats) -> Floats:
        """The kernels' float64 settings vector: the hyperparameters, then the scalar state.

        Parameters
        ----------
        scalars : ndarray of float64
            The optimizer's scalar state, as a `bpcore.optim.OptimizerState` keeps it
            (empty for SGD).

        Returns
        -------
        ndarray of float64
            A new vector, in the order bpcore/_spec.py's OPTIMIZERS names its entries.

        Examples
        --------
        >>> import numpy as np
        >>> from bpcore.optim import SGD
        >>> SGD(lr=0.5, momentum=0.9).settings(np.zeros(0))
        array([0.5, 0.9, 0. , 0. ])
        """
        values = [getattr(self, name) for name in _field_names(type(self))]
        if callable(self.lr):  # a schedule: its first epoch's rate until the loop sets another
            values[0] = self.rate(1)
        return np.array(values + scalars.tolist(), dtype=np.float64)

    def changes_state(self) -> bool:
        """Whether a step of this optimizer changes its state arrays (so that undoing a step
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
        """The optimizer's name and hyperparameters, e.g. to store beside a model.

        Returns
        -------
        dict
            ``name`` and each hyperparameter by its name.

        Examples
        --------
        >>> from bpcore.optim import SGD
        >>> SGD(momentum=0.9).state_dict()
        {'name': 'sgd', 'lr': 0.1, 'momentum': 0.9, 'nesterov': False, 'weight_decay': 0.0}
        """
        return {"name": self.name, **{item.name: getattr(self, item.name)
                                      for item in fields(self)}}  # type: ignore[arg-type]


@dataclass(frozen=True)
class SGD(Optimizer):
    """Stochastic gradient descent, with optional (Nesterov) momentum and L2 weight decay.

    PyTorch's formulation (torch.optim.SGD without dampening): with g the gradient plus
    weight_decay * W for the weights, v = momentum * v + g, then W -= lr * v, or with
    Nesterov momentum W -= lr * (g + momentum * v); one velocity v per parameter is kept on
    the network. With momentum 0 it is plain SGD, W -= lr * g, and the velocity is neither
    used nor changed. Weight decay applies to the weights, not to the biases.

    Attributes
    ----------
    lr : float > 0 or callable, default 0.1
        The learning rate, or a schedule lr(epoch) -> float for `Network.fit` (see
        `bpcore.schedules`).
    momentum : float in [0, 1), default 0.0
        How much of the previous velocity the velocity keeps.
    nesterov : bool, default False
        Nesterov momentum (needs momentum > 0).
    weight_decay : float >= 0, default 0.0
        The L2 penalty's factor: weight_decay / 2 * sum W^2 is added to the cost.

    Raises
    ------
    TypeError
        If a setting is not of its type.
    ValueError
        If a setting is out of its range, or nesterov is set without momentum.

    Examples
    --------
    >>> from bpcore.optim import SGD
    >>> SGD(lr=0.05, momentum=0.9, nesterov=True)
    SGD(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.0)
    """

    name: ClassVar[str] = "sgd"
    lr: float | Callable[[int], float] = 0.1
    momentum: float = 0.0
    nesterov: bool = False
    weight_decay: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.nesterov and self.momentum == 0:
            raise ValueError("nesterov=True needs a momentum > 0, got momentum=0.0")

    def changes_state(self) -> bool:
        # with momentum 0 the kernels neither read nor write the velocity
        return self.momentum != 0


@dataclass(frozen=True)
class Adam(Optimizer):
    """Adam, with bias-corrected moment estimates; with ``decoupled=True``, AdamW.

    PyTorch's formulation: with g the gradient (plus weight_decay * W for the weights unless
    decoupled), m = beta1 m + (1 - beta1) g, v = beta2 v + (1 - beta2) g^2, and at step t
    W -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps). Decoupled weight decay
    (AdamW) instead multiplies the weights by 1 - lr * weight_decay before the update. The
    moments m and v and the step count t are kept on the network. Weight decay applies to the
    weights, not to the biases. With ``eps_hat=True`` the update is scikit-learn's and Keras'
    instead: W -= lr sqrt(1 - beta2^t) / (1 - beta1^t) * m / (sqrt(v) + eps), where eps is
    Kingma and Ba's epsilon-hat, added to the uncorrected sqrt(v).

    Attributes
    ----------
    lr : float > 0 or callable, default 0.001
        The learning rate, or a schedule lr(epoch) -> float for `Network.fit` (see
        `bpcore.schedules`).
    beta1 : float in [0, 1), default 0.9
        How much of the previous gradient mean m keeps.
    beta2 : float in [0, 1), default 0.999
        How much of the previous squared-gradient mean v keeps.
    eps : float > 0, default 1e-8
        Added to the denominator, for stability.
    weight_decay : float >= 0, default 0.0
        L2 penalty (or, decoupled, the weights' shrink factor per unit of lr).
    decoupled : bool, default False
        AdamW's decoupled weight decay instead of an L2 term in the gradient.
    eps_hat : bool, default False
        Add eps to the uncorrected sqrt(v) (scikit-learn's and Keras' Adam), not to the
        bias-corrected sqrt(v / (1 - beta2^t)) (PyTorch's). The two differ early in training,
        while 1 - beta2^t is small.

    Raises
    ------
    TypeError
        If a setting has the wrong type.
    ValueError
        If a setting is out of its range.

    Examples
    --------
    >>> import numpy as np
    >>> import bpcore
    >>> net = bpcore.Network([2, 1], output="identity", seed=0)
    >>> X, y = np.array([[0.0, 1.0], [1.0, 0.0]]), np.array([1.0, -1.0])
    >>> history = net.fit(X, y, epochs=200, optimizer=bpcore.Adam(lr=0.05))
    >>> history.losses[-1] < 1e-3
    True
    """

    name: ClassVar[str] = "adam"
    lr: float | Callable[[int], float] = 0.001
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    weight_decay: float = 0.0
    decoupled: bool = False
    eps_hat: bool = False


@dataclass(frozen=True)
class Rprop(Optimizer):
    """Resilient backpropagation, iRprop- (FANN's default training algorithm).

    Each parameter has its own step size, which grows (times eta_plus, at most step_max)
    while its gradient keeps its sign and shrinks (times eta_minus, at least step_min) when
    the sign flips; then the parameter is not moved in that step, and its next step counts
    as a fresh start. The parameter moves by its step size against the gradient's sign:
    W -= sign(g) * step. PyTorch's formulation (torch.optim.Rprop). The step sizes and the
    previous gradients are kept on the network.

    Rprop is a full-batch method: use it with batch_size >= n_samples in `Network.fit`
    (the default there for Rprop). With smaller batches it runs on each batch as if it
    were the whole data, which is rarely what is wanted.

    Attributes
    ----------
    lr : float > 0, default 0.1
        Every parameter's first step size (a number: no schedule).
    eta_minus : float in (0, 1), default 0.5
        The factor a step size shrinks by when its gradient changes sign.
    eta_plus : float > 1, default 1.2
        The factor it grows by while the sign holds.
    step_min : float >= 0, default 1e-6
        The smallest step size.
    step_max : float > 0, default 50.0
        The largest step size (at least step_min).
    weight_decay : float >= 0, default 0.0
        Adds weight_decay * W to the gradient of every weight (an L2 penalty).

    Raises
    ------
    TypeError
        If a setting is not of its type, or lr is a schedule.
    ValueError
        If a setting is out of its range, or step_min > step_max.

    Examples
    --------
    >>> import numpy as np
    >>> import bpcore
    >>> X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    >>> net = bpcore.Network([2, 4, 1], activation="tanh", seed=0)
    >>> history = net.fit(X, [0.0, 1.0, 1.0, 0.0], epochs=300, optimizer="rprop")
    >>> history.losses[-1] < 0.01
    True
    """

    name: ClassVar[str] = "rprop"
    scheduled: ClassVar[bool] = False
    lr: float = 0.1
    eta_minus: float = 0.5
    eta_plus: float = 1.2
    step_min: float = 1e-6
    step_max: float = 50.0
    weight_decay: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.step_min > self.step_max:
            raise ValueError(f"step_min must be at most step_max, got step_min="
                             f"{self.step_min!r} and step_max={self.step_max!r}")


@dataclass(frozen=True)
class LBFGS(Optimizer):
    """Full-batch L-BFGS, through ``scipy.optimize.minimize(method="L-BFGS-B")``.

    Each evaluation of the loss and its gradient is one compiled call over the whole data
    set. Minimises the mean loss plus weight_decay / 2 * sum W^2 (the weights, not the
    biases). `Network.fit` counts each L-BFGS iteration as an epoch: ``History.losses``
    has the loss after each, and its stopping rules (tol, patience, validation,
    restore_best, callback) apply to them. Nothing is kept between `Network.fit` calls. Not for
    `Network.step`.

    Attributes
    ----------
    max_iter : int >= 1 or None, default None
        The most iterations; None takes fit's `epochs`.
    tol : float >= 0, default 1e-5
        Stop when every component of the (projected) gradient is at most tol (SciPy's
        ``gtol``), or when the loss stops decreasing (SciPy's ``ftol``, its default).
    history : int >= 1, default 10
        How many past steps approximate the curvature (SciPy's ``maxcor``).
    weight_decay : float >= 0, default 0.0
        The L2 penalty's factor.

    Raises
    ------
    TypeError, ValueError
        If a setting is of the wrong type or out of range.

    Examples
    --------
    >>> import numpy as np
    >>> import bpcore
    >>> X = np.linspace(-1, 1, 20).reshape(-1, 1)
    >>> net = bpcore.Network([1, 8, 1], activation="tanh", output="identity", seed=0)
    >>> history = net.fit(X, X.ravel() ** 2, optimizer=bpcore.LBFGS(max_iter=200))
    >>> history.losses[-1] < 1e-4
    True
    """

    name: ClassVar[str] = "lbfgs"
    max_iter: int | None = None
    tol: float = 1e-5
    history: int = 10
    weight_decay: float = 0.0

    @property
    def code(self) -> int:
        raise ValueError("L-BFGS runs through SciPy in Network.fit; it has no update kernel")

    def changes_state(self) -> bool:
        return False


def _check_schedule(schedule: Callable[..., Any]) -> None:
    """A callable lr must take the epoch: one positional argument."""
    refused = refusing_signature(schedule, 1)
    if refused is not None:
        raise TypeError(f"lr must be a number or a schedule lr(epoch) taking the epoch as its "
                        f"one argument, got {schedule!r} with parameters {refused}")


# state arrays that cannot be negative, and why
_NON_NEGATIVE = {"v": "a mean of squares", "step_size": "a step size"}


class OptimizerState:
    """The state an optimizer keeps for a network between calls.

    Its arrays (each as long as the parameters) are held one after the other in one flat
    vector, `arrays`, as the kernels take them; its scalar state (float64, none for SGD) in
    `scalars`. `bpcore.Network.get_state` reports both by name.

    Parameters
    ----------
    name : str
        The optimizer the state belongs to, a key of bpcore/_spec.py's OPTIMIZERS.
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
        self.name = name
        # an optimizer without an update kernel (L-BFGS) keeps nothing between calls
        spec = OPTIMIZERS.get(name)
        self.arrays = aligned_zeros(len(spec.state) * n_parameters if spec else 0, dtype)
        n_hyperparameters = len(fields(Optimizer.classes[name]))  # type: ignore[arg-type]
        self.scalars = np.zeros(len(spec.settings) - n_hyperparameters if spec else 0,
                                dtype=np.float64)

    def named(self) -> dict[str, Floats]:
        """Each state array by its name.

        Returns
        -------
        dict of str to ndarray
            Views into `arrays`, in the order bpcore/_spec.py's OPTIMIZERS names them.

        Examples
        --------
        >>> import numpy as np
        >>> from bpcore.optim import OptimizerState
        >>> OptimizerState("sgd", 3, np.dtype("float32")).named()["velocity"]
        array([0., 0., 0.], dtype=float32)
        """
        names = OPTIMIZERS[self.name].state if self.name in OPTIMIZERS else ()
        size = len(self.arrays) // max(1, len(names))
        return {name: self.arrays[i * size:(i + 1) * size] for i, name in enumerate(names)}

    def copy(self) -> OptimizerState:
        """A copy with arrays of its own.

        Returns
        -------
        OptimizerState
            The same optimizer's state, copied.

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

    def assign(self, other: OptimizerState, adopt: bool = False) -> None:
        """Take `other`'s values, in place when the arrays have the same shape (so that a
        kernel call already holding them sees the new values).

        Parameters
        ----------
        other : OptimizerState
            The state to copy from.
        adopt : bool, default False
            Where the shapes differ, take `other`'s arrays themselves instead of a copy
            (for a state made only to be assigned: loading a model's Adam state held it
            twice).

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
            self.arrays = other.arrays if adopt else aligned_copy(other.arrays)
        else:
            self.arrays[...] = other.arrays
        self.scalars = other.scalars.copy()

    def __setstate__(self, state: dict[str, Any]) -> None:
        # unpickled arrays are NumPy's own allocations: aligned again as __init__ makes them
        self.__dict__.update(state)
        self.arrays = realigned(self.arrays)

    def settings_for(self, optimizer: Optimizer) -> Floats:
        """The kernels' settings vector for a step of `optimizer`: its hyperparameters, then
        this state's scalars.

        Parameters
        ----------
        optimizer : Optimizer
            An optimizer of this state's kind.

        Returns
        -------
        ndarray of float64
            A new vector; after a kernel call, `keep` takes the scalars back from it.

        Examples
        --------
        >>> import numpy as np
        >>> from bpcore.optim import SGD, OptimizerState
        >>> OptimizerState("sgd", 3, np.dtype("float64")).settings_for(SGD(lr=0.5))
        array([0.5, 0. , 0. , 0. ])
        """
        return optimizer.settings(self.scalars)

    def keep(self, settings: Floats) -> None:
        """Keep the scalar state a kernel call left at the end of `settings`.

        Parameters
        ----------
        settings : ndarray of float64
            A vector from `settings_for`, after the call.

        Examples
        --------
        >>> import numpy as np
        >>> from bpcore.optim import OptimizerState
        >>> state = OptimizerState("sgd", 3, np.dtype("float64"))
        >>> state.keep(np.array([0.1, 0.0, 0.0])); state.scalars  # SGD has none
        array([], dtype=float64)
        """
        if len(self.scalars):
            self.scalars[...] = settings[len(settings) - len(self.scalars):]

    def refresh(self, settings: Floats) -> None:
        """Write this state's scalars into the end of a settings vector made earlier (after
        a rollback restored them, say).

        Parameters
        ----------
        settings : ndarray of float64
            A vector from `settings_for`.

        Examples
        --------
        >>> import numpy as np
        >>> from bpcore.optim import SGD, OptimizerState
        >>> state = OptimizerState("sgd", 3, np.dtype("float64"))
        >>> settings = state.settings_for(SGD())
        >>> state.refresh(settings); settings
        array([0.1, 0. , 0. , 0. ])
        """
        if len(self.scalars):
            settings[len(settings) - len(self.scalars):] = self.scalars

    def to_dict(self) -> dict[str, Any]:
        """The state as `bpcore.Network.get_state` reports it: ``name``, a copy of each state array
        by its name and each scalar by its name.

        Returns
        -------
        dict

        Examples
        --------
        >>> import numpy as np
        >>> from bpcore.optim import OptimizerState
        >>> OptimizerState("sgd", 2, np.dtype("float64")).to_dict()
        {'name': 'sgd', 'velocity': array([0., 0.])}
        """
        result: dict[str, Any] = {"name": self.name}
        result.update((name, array.copy()) for name, array in self.named().items())
        result.update(zip(self._scalar_names(), map(float, self.scalars)))
        return result

    @classmethod
    def from_dict(cls, given: object, n_parameters: int,
                  dtype: np.dtype[Any]) -> OptimizerState:
        """The state that `to_dict` described, checked, for a network of `n_parameters`
        parameters of `dtype`.

        Parameters
        ----------
        given : dict
            As `to_dict` returns it.
        n_parameters : int
            The network's number of parameters.
        dtype : numpy.dtype
            The network's dtype; the arrays are converted to it.

        Returns
        -------
        OptimizerState

        Raises
        ------
        TypeError
            If `given` is not a dict, or an array does not hold real numbers.
        ValueError
            If the name is not an optimizer's, an entry is unknown, or an array or scalar is
            missing, misshapen or not finite.

        Examples
        --------
        >>> import numpy as np
        >>> from bpcore.optim import OptimizerState
        >>> state = OptimizerState.from_dict({"name": "sgd", "velocity": [0.5, 1.0]}, 2,
        ...                                  np.dtype("float32"))
        >>> state.named()["velocity"]
        array([0.5, 1. ], dtype=float32)
        """
        where = "state['optimizer']"
        if not isinstance(given, dict):
            raise TypeError(f"{where} must be a dict like get_state()'s, got "
                            f"{type(given).__name__} {given!r}")
        if given.get("name") not in Optimizer.classes:
            raise ValueError(f"{where} must be a dict whose 'name' is one of "
                             f"{', '.join(map(repr, Optimizer.classes))}, got {given!r}")
        state = cls(given["name"], n_parameters, dtype)
        unknown = sorted(map(str, set(given) - {"name", *state.named(), *state._scalar_names()}))
        if unknown:
            raise ValueError(f"{where} has unknown entries {', '.join(map(repr, unknown))} "
                             f"for optimizer {state.name!r}")
        for name, array in state.named().items():
            if name not in given:
                raise ValueError(f"{where} has no {name!r} array")
            array[...] = real_array(given[name], f"{where}[{name!r}]", (n_parameters,), dtype)
            if name in _NON_NEGATIVE and (array < 0).any():
                raise ValueError(f"{where}[{name!r}] must hold numbers >= 0 ({name} is "
                                 f"{_NON_NEGATIVE[name]}), got {float(array.min())!r}")
        for i, name in enumerate(state._scalar_names()):
            if name not in given:
                raise ValueError(f"{where} has no {name!r} value")
            state.scalars[i] = real_array(given[name], f"{where}[{name!r}]", (),
                                          np.dtype(np.float64), "")
            if name == "step" and not (state.scalars[i] >= 0 and state.scalars[i].is_integer()):
                raise ValueError(f"{where}['step'] must be a whole number >= 0 (steps taken), "
                                 f"got {float(state.scalars[i])!r}")
        return state

    def _scalar_names(self) -> tuple[str, ...]:
        if not len(self.scalars):
            return ()
        names = OPTIMIZERS[self.name].settings
        return names[len(names) - len(self.scalars):]
