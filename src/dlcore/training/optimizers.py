"""Optimizers as objects: ``Trainer(optimizer=AdamW(lr=1e-3, weight_decay=0.01))``.

Each is a registered optimizer (``dlcore_optimizers``; dlcore's own in
:mod:`dlcore.plugins.builtin`, with their settings' names and defaults) with its settings; strings ("sgd",
"adam", ...) still name one with its defaults. Every backend applies the same update, torch's,
written once on :mod:`dlcore.ops` in :mod:`dlcore.training.rules` and here in words (``g`` the gradient of the batch's mean loss, ``w`` a weight, ``t`` the
update's number from 1, ``lr`` the learning rate of that update):

- **SGD**: ``g += weight_decay * w``; with momentum ``b = momentum * b + g`` (``b = g`` at
  first) and ``g = g + momentum * b`` (nesterov) or ``g = b``; ``w -= lr * g``.
- **Adam**: ``g += weight_decay * w``; ``m = b1 m + (1 - b1) g``; ``v = b2 v + (1 - b2) g^2``;
  with amsgrad ``v_max = max(v_max, v)`` replaces ``v`` below;
  ``w -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)``.
- **AdamW**: ``w *= 1 - lr * weight_decay``, then Adam without ``weight_decay``.
- **RMSprop**: ``g += weight_decay * w``; ``s = alpha s + (1 - alpha) g^2``; centered:
  ``a = alpha a + (1 - alpha) g`` and ``d = sqrt(s - a^2) + eps``, else ``d = sqrt(s) + eps``;
  with momentum ``b = momentum * b + g / d`` and ``w -= lr * b``, else ``w -= lr * g / d``.

The state of an optimizer has one canonical layout on every backend, like the weights: per
trainable parameter (by its canonical name) the slots of torch's names (``momentum_buffer``,
``exp_avg``, ``exp_avg_sq``, ``max_exp_avg_sq``, ``square_avg``, ``grad_avg``), and the number
of updates made. A checkpoint saved on one backend resumes on another with its state.

An optimizer of one's own is its update written once on :mod:`dlcore.ops`, registered by name
with :func:`register` (or a plugin's ``dlcore_optimizers`` hook) and used as
``Trainer(optimizer="lion")`` or ``OptimizerConfig("lion", lr=3e-4, weight_decay=0.1)``: see
:mod:`dlcore.training.rules`.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from ..contract.errors import CheckpointError, ConfigError
from .rules import definition, register, rule_of

DEFAULT_LR = 1e-3  # the learning rate of a Trainer given none, here only
"""The learning rate of a Trainer given neither ``lr`` nor an optimizer object with one."""

def _rule(name: str) -> Any:
    try:
        return rule_of(definition(name))
    except ConfigError:  # an optimizer no longer registered: its state is not checked
        return None


def slots(name: str, hyper: dict[str, Any]) -> tuple[str, ...]:
    """The canonical state slots per parameter of optimizer ``name`` with ``hyper``: its rule's
    (none for an optimizer without a rule).

    >>> from dlcore import optimizers
    >>> optimizers.slots("adam", {"amsgrad": True})
    ('exp_avg', 'exp_avg_sq', 'max_exp_avg_sq')
    >>> optimizers.slots("sgd", {"momentum": 0.0})
    ()
    """
    rule = _rule(name)
    return rule.slot_names(hyper) if rule is not None else ()


def check_state(arrays: dict[str, Any], shapes: dict[str, tuple[int, ...]], name: str, hyper: dict[str, Any],
                step: int) -> None:
    """Raise CheckpointError unless ``arrays`` is the canonical state of optimizer ``name`` with
    ``hyper`` after ``step`` updates, for trainable parameters of ``shapes`` (canonical names
    and shapes): every slot of every parameter (none before the first update), nothing else.

    >>> import numpy as np
    >>> from dlcore import CheckpointError, optimizers
    >>> try:
    ...     optimizers.check_state({"w/exp_avg": np.zeros(3)}, {"w": (3,)}, "adam", {}, step=1)
    ... except CheckpointError as error:
    ...     print(error)
    the saved adam state does not fit this model and optimizer: missing w/exp_avg_sq
    """
    known = _rule(name) is not None
    wanted = {f"{p}/{slot}": shape for p, shape in shapes.items() for slot in slots(name, hyper)} if step else {}
    problems = [f"missing {k}" for k in wanted if known and k not in arrays]
    for key, value in arrays.items():
        parameter = key.rpartition("/")[0]
        if parameter not in shapes or (known and key not in wanted):
            problems.append(f"unexpected {key}")
        elif tuple(getattr(value, "shape", ())) != tuple(shapes[parameter]):
            problems.append(f"{key}: the parameter has {tuple(shapes[parameter])}, the state has "
                            f"{tuple(getattr(value, 'shape', ()))}")
    if problems:
        raise CheckpointError(f"the saved {name} state does not fit this model and optimizer: "
                              + "; ".join(problems[:6]) + (f"; and {len(problems) - 6} more" if len(problems) > 6 else ""))


def from_layout_0_1(arrays: dict[str, Any], meta: dict[str, Any],
                    shapes: dict[str, tuple[int, ...]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The canonical state of a checkpoint of dlcore 0.1, whose optimizer state was in the
    saving backend's layout: torch's ``"{index}.{slot}"`` or TensorFlow's numbered variables
    (iterations, learning rate, then each variable's m and v), parameters in ``shapes`` order.

    >>> import numpy as np
    >>> from dlcore import optimizers
    >>> arrays, meta = optimizers.from_layout_0_1({"0.momentum_buffer": np.zeros(3), "0.step": np.array(5)}, {},
    ...                                           {"layers.0.bias": (3,)})
    >>> list(arrays), meta
    (['layers.0.bias/momentum_buffer'], {'step': 5})
    """
    names = list(shapes)
    canonical: dict[str, Any] = {}
    if "names" in meta:  # TensorFlow: 0 iterations, 1 learning rate, then (m, v) per variable
        moments = [arrays[str(i)] for i in range(2, len(arrays))]
        if len(moments) != 2 * len(names):
            raise CheckpointError(f"the saved optimizer state has {len(moments)} moments for {len(names)} parameters")
        for i, name in enumerate(names):
            for slot, value in zip(("exp_avg", "exp_avg_sq"), moments[2 * i:2 * i + 2]):
                canonical[f"{name}/{slot}"] = value.T if value.shape != shapes[name] else value
        return canonical, {"step": int(arrays["0"]) if arrays else 0}
    step = 0
    for key, value in arrays.items():
        index, _, slot = key.partition(".")
        if not index.isdigit() or int(index) >= len(names):
            raise CheckpointError(f"the saved optimizer state names parameter {index!r}; the model has {len(names)}")
        if slot == "step":
            step = int(value)
        else:
            canonical[f"{names[int(index)]}/{slot}"] = value
    return canonical, {"step": step}


_RULES = {  # hyper-parameter: (check, what it must be)
    "momentum": (lambda v: v >= 0, ">= 0"),
    "weight_decay": (lambda v: v >= 0, ">= 0"),
    "beta1": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "beta2": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "alpha": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "eps": (lambda v: v > 0, "> 0"),
}


class OptimizerConfig:
    """A registered optimizer by ``name``, with its learning rate (None: the trainer's) and
    hyper-parameters (the registered defaults where not given).

    >>> from dlcore.optimizers import OptimizerConfig
    >>> OptimizerConfig("sgd", lr=0.1, momentum=0.9)  # as SGD(lr=0.1, momentum=0.9)
    OptimizerConfig(lr=0.1, momentum=0.9, nesterov=False, weight_decay=0.0)
    """

    def __init__(self, name: str, lr: float | None = None, **hyper: Any) -> None:
        found = definition(str(name).lower())
        known = {**found.defaults, **found.options}
        unknown = sorted(set(hyper) - set(known))
        if unknown:
            raise ConfigError(f"optimizer {found.name!r} has no setting {', '.join(map(repr, unknown))}; "
                              f"its settings: lr, {', '.join(known)}")
        if lr is not None and (isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not lr > 0
                               or not math.isfinite(lr)):
            raise ConfigError(f"lr must be a positive number, got {lr!r}")
        self.name, self.lr = found.name, None if lr is None else float(lr)
        self.hyper: dict[str, Any] = {}
        for key, default in known.items():
            value = hyper.get(key, default)
            if isinstance(default, bool):
                value = bool(value)
            elif isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
                raise ConfigError(f"{found.name} {key} must be a number, got {value!r}")
            check, wanted = _RULES.get(key, (lambda v: True, ""))
            if not check(value):
                raise ConfigError(f"{found.name} {key} must be {wanted}, got {value!r}")
            self.hyper[key] = value if isinstance(value, bool) else float(value)
        if self.hyper.get("nesterov") and not self.hyper.get("momentum"):
            raise ConfigError("nesterov momentum needs momentum > 0, e.g. SGD(momentum=0.9, nesterov=True)")

    def kernel_arguments(self) -> dict[str, Any]:
        """What the backend's kernel is given beside the model and lr: the definition's defaults
        always, its options only where they differ from their default (so that a kernel written
        for the defaults alone keeps working)."""
        found = definition(self.name)
        return {k: v for k, v in self.hyper.items() if k in found.defaults or v != found.options[k]}

    @property
    def default_lr(self) -> float | None:
        """The optimizer's own default learning rate (None: the trainer's)."""
        return definition(self.name).lr

    def __eq__(self, other: object) -> bool:
        return isinstance(other, OptimizerConfig) and (self.name, self.lr, self.hyper) == (other.name, other.lr, other.hyper)

    def __hash__(self) -> int:
        return hash((self.name, self.lr, tuple(sorted(self.hyper.items()))))

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v!r}" for k, v in self.hyper.items())
        return f"{type(self).__name__}(lr={self.lr!r}{', ' if settings else ''}{settings})"


class SGD(OptimizerConfig):
    """Stochastic gradient descent, with optional (Nesterov) momentum and L2 weight decay.

    >>> from dlcore.optimizers import SGD
    >>> SGD(lr=0.1, momentum=0.9, nesterov=True)  # Trainer(optimizer=SGD(...))
    SGD(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.0)
    """

    def __init__(self, lr: float | None = None, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.0) -> None:
        super().__init__("sgd", lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay)


class Adam(OptimizerConfig):
    """Adam (Kingma and Ba), torch's form: epsilon added to the bias-corrected root; optional
    L2 weight decay and AMSGrad.

    >>> from dlcore.optimizers import Adam
    >>> Adam(lr=1e-3, weight_decay=1e-4)  # Trainer(optimizer=Adam(...))
    Adam(lr=0.001, beta1=0.9, beta2=0.999, eps=1e-08, weight_decay=0.0001, amsgrad=False)
    """

    def __init__(self, lr: float | None = None, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False) -> None:
        super().__init__("adam", lr, beta1=betas[0], beta2=betas[1], eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad)


class AdamW(OptimizerConfig):
    """Adam with decoupled weight decay (Loshchilov and Hutter): ``w *= 1 - lr * weight_decay``.

    >>> from dlcore.optimizers import AdamW
    >>> AdamW(lr=1e-3)  # Trainer(optimizer=AdamW(lr=1e-3))
    AdamW(lr=0.001, beta1=0.9, beta2=0.999, eps=1e-08, weight_decay=0.01, amsgrad=False)
    """

    def __init__(self, lr: float | None = None, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.01, amsgrad: bool = False) -> None:
        super().__init__("adamw", lr, beta1=betas[0], beta2=betas[1], eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad)


class RMSprop(OptimizerConfig):
    """RMSprop, torch's form: epsilon added to the root; optional momentum, centering and L2
    weight decay.

    >>> from dlcore.optimizers import RMSprop
    >>> RMSprop(lr=1e-2, momentum=0.9)  # Trainer(optimizer=RMSprop(...))
    RMSprop(lr=0.01, alpha=0.99, eps=1e-08, momentum=0.9, centered=False, weight_decay=0.0)
    """

    def __init__(self, lr: float | None = None, alpha: float = 0.99, eps: float = 1e-8, momentum: float = 0.0,
                 centered: bool = False, weight_decay: float = 0.0) -> None:
        super().__init__("rmsprop", lr, alpha=alpha, eps=eps, momentum=momentum, centered=centered,
                         weight_decay=weight_decay)


def as_config(optimizer: Any) -> OptimizerConfig:
    """An OptimizerConfig from a name ("adam"), an OptimizerConfig, or an update registered with
    :func:`register` (its defaults).

    >>> from dlcore import optimizers
    >>> optimizers.as_config("adam") == optimizers.Adam()
    True
    """
    if isinstance(optimizer, OptimizerConfig):
        return optimizer
    if isinstance(optimizer, str):
        return OptimizerConfig(optimizer)
    if callable(optimizer) and isinstance(getattr(optimizer, "dlcore_optimizer", None), str):
        return OptimizerConfig(optimizer.dlcore_optimizer)
    raise ConfigError(f"optimizer must be a name such as 'adam', an object such as dlcore.optimizers.AdamW(), or an "
                      f"update registered with @dlcore.optimizers.register(name, ...), got {optimizer!r}")


__all__ = ["Adam", "AdamW", "DEFAULT_LR", "OptimizerConfig", "RMSprop", "SGD", "as_config", "check_state",
           "from_layout_0_1", "register", "slots"]
