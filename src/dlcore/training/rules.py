"""Optimizer update rules written once on :mod:`dlcore.ops`, applied by every backend.

A rule gives the state slots of one parameter given the settings, and one parameter's update::

    update(ops, weight, grad, slots, lr, step, **settings) -> (new_weight, new_slots)

``slots`` and ``new_slots`` are keyed by the canonical slot names (zeros before the first
update), so an optimizer's state keeps one layout that checkpoints move between backends;
``step`` counts the updates from 1 (a Python int, or a float32 scalar inside a compiled step);
``lr`` is that update's learning rate. The rule is elementwise: TensorFlow may hand it a
weight in its own layout (a dense kernel transposed). Gradients arrive clipped and averaged
over an accumulation group, as for any optimizer.

Your own optimizer, registered by name (``Trainer(optimizer="lion")``, or ``optimizer=lion``)::

    from dlcore import optimizers

    @optimizers.register("lion", slots=("exp_avg",), lr=1e-4, beta1=0.9, beta2=0.99, weight_decay=0.0)
    def lion(ops, w, g, slots, lr, step, beta1, beta2, weight_decay):
        m = slots["exp_avg"]
        w = w - lr * (ops.sign(beta1 * m + (1 - beta1) * g) + weight_decay * w)
        return w, {"exp_avg": beta2 * m + (1 - beta2) * g}

A plugin gives the same through its ``dlcore_optimizers`` hook: ``Optimizer("lion", {...},
"formula", rule="mypackage.lion:LION")``, where the rule is a :class:`Rule`. A backend with a
native kernel of an optimizer's own name uses it (dlcore's fast paths: torch's fused Adam,
TensorFlow's fused training ops); any other backend applies the rule through its kernel
named ``"ops"``.
"""

from __future__ import annotations

import inspect
import math
import numbers
from dataclasses import dataclass
from typing import Any, Callable

from .. import ops as dlcore_ops
from ..contract.errors import ConfigError
from ..contract.records import Optimizer
from ..plugins.manager import Registry, registry, resolve

Slots = tuple[str, ...]
Update = tuple[Any, dict[str, Any]]  # the new weight and slots


@dataclass(frozen=True)
class Rule:
    """An update rule: ``update`` as in this module's docstring, and ``slots``, the names of a
    parameter's state (a tuple, or a function of the settings giving one)."""

    update: Callable[..., tuple[Any, dict[str, Any]]]
    slots: Slots | Callable[[dict[str, Any]], Slots] = ()

    def slot_names(self, settings: dict[str, Any]) -> Slots:
        return tuple(self.slots(settings) if callable(self.slots) else self.slots)


def one_minus_power(ops: Any, base: float, step: Any) -> Any:
    """``1 - base ** step``, accurate also in float32 (Adam's bias correction): as
    ``-expm1(step * log(base))`` through tanh, where ``1 - 0.999 ** 1`` in float32 is off by 1e-5."""
    if isinstance(step, numbers.Number) or not base:
        return 1 - base ** step
    half = ops.tanh(step * (math.log(base) / 2))  # expm1(x) = 2 tanh(x/2) / (1 - tanh(x/2))
    return -2 * half / (1 - half)


# -- dlcore's rules: the formulas of dlcore.optimizers, torch's

def _sgd(ops: Any, w: Any, g: Any, slots: dict[str, Any], lr: Any, step: Any, momentum: float = 0.0,
         nesterov: bool = False, weight_decay: float = 0.0) -> Update:
    g = g + weight_decay * w if weight_decay else g
    if not momentum:
        return w - lr * g, {}
    b = momentum * slots["momentum_buffer"] + g
    return w - lr * (g + momentum * b if nesterov else b), {"momentum_buffer": b}


def _adam(ops: Any, w: Any, g: Any, slots: dict[str, Any], lr: Any, step: Any, beta1: float, beta2: float,
          eps: float, weight_decay: float = 0.0, amsgrad: bool = False, decoupled: bool = False) -> Update:
    if decoupled:
        w = w * (1 - lr * weight_decay)
    elif weight_decay:
        g = g + weight_decay * w
    new = {"exp_avg": beta1 * slots["exp_avg"] + (1 - beta1) * g,
           "exp_avg_sq": beta2 * slots["exp_avg_sq"] + (1 - beta2) * g * g}
    v = new["exp_avg_sq"]
    if amsgrad:
        v = new["max_exp_avg_sq"] = ops.maximum(slots["max_exp_avg_sq"], v)
    m_hat = new["exp_avg"] / one_minus_power(ops, beta1, step)
    return w - lr * m_hat / (ops.sqrt(v / one_minus_power(ops, beta2, step)) + eps), new


def _adamw(ops: Any, w: Any, g: Any, slots: dict[str, Any], lr: Any, step: Any, **settings: Any) -> Update:
    return _adam(ops, w, g, slots, lr, step, decoupled=True, **settings)


def _rmsprop(ops: Any, w: Any, g: Any, slots: dict[str, Any], lr: Any, step: Any, alpha: float, eps: float,
             momentum: float = 0.0, centered: bool = False, weight_decay: float = 0.0) -> Update:
    g = g + weight_decay * w if weight_decay else g
    new = {"square_avg": alpha * slots["square_avg"] + (1 - alpha) * g * g}
    if centered:
        new["grad_avg"] = alpha * slots["grad_avg"] + (1 - alpha) * g
        d = ops.sqrt(new["square_avg"] - new["grad_avg"] * new["grad_avg"]) + eps
    else:
        d = ops.sqrt(new["square_avg"]) + eps
    if not momentum:
        return w - lr * g / d, new
    new["momentum_buffer"] = momentum * slots["momentum_buffer"] + g / d
    return w - lr * new["momentum_buffer"], new


def _adam_slots(h: dict[str, Any]) -> Slots:
    return ("exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if h.get("amsgrad") else ())


SGD = Rule(_sgd, lambda h: ("momentum_buffer",) if h.get("momentum") else ())
ADAM = Rule(_adam, _adam_slots)
ADAMW = Rule(_adamw, _adam_slots)
RMSPROP = Rule(_rmsprop, lambda h: (("square_avg",) + (("momentum_buffer",) if h.get("momentum") else ())
                                    + (("grad_avg",) if h.get("centered") else ())))


# -- optimizers of one's own

_DEFINED: dict[str, Optimizer] = {}


def register(name: str, *, slots: Slots | Callable[[dict[str, Any]], Slots] = (), lr: float | None = None,
             formula: str = "", **defaults: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A decorator making ``update`` (this module's signature) the optimizer ``name`` in this
    process, with its settings' ``defaults`` and its default learning rate ``lr`` (None: the
    trainer's); ``formula`` (default: the function's docstring) documents it.

    >>> from dlcore import optimizers
    >>> @optimizers.register("sign_descent", weight_decay=0.0)
    ... def sign_descent(ops, w, g, slots, lr, step, weight_decay):
    ...     return w - lr * (ops.sign(g) + weight_decay * w), {}
    >>> optimizers.OptimizerConfig("sign_descent", lr=0.1)  # or Trainer(optimizer="sign_descent")
    OptimizerConfig(lr=0.1, weight_decay=0.0)
    """
    def define(update: Callable[..., Any]) -> Callable[..., Any]:
        _DEFINED[name.lower()] = Optimizer(name.lower(), dict(defaults), formula or inspect.getdoc(update) or "",
                                           rule=Rule(update, slots), lr=lr)
        update.dlcore_optimizer = name.lower()  # type: ignore[attr-defined]  # Trainer(optimizer=update) names it
        return update

    return define


def definition(name: str, plugins: Registry | None = None) -> Optimizer:
    """The optimizer called ``name``: one registered in this process, else the plugins'."""
    return _DEFINED.get(name) or (plugins or registry()).optimizer(name)


def rule_of(record: Optimizer) -> Rule | None:
    """The record's rule, imported (None for an optimizer given only as backends' kernels)."""
    found = resolve(record.rule) if record.rule is not None else None
    if found is not None and not isinstance(found, Rule):
        found = Rule(found.update, getattr(found, "slots", ()))
    return found


def kernel(plugins: Registry, name: str, settings: dict[str, Any], arguments: dict[str, Any],
           backend: str) -> tuple[Callable[..., Any], dict[str, Any]]:
    """What makes the optimizer ``name`` on ``backend`` and its keyword arguments beside the model
    and ``lr``: the backend's own kernel of that name when it takes ``arguments``, else, for an
    optimizer with a rule, the backend's kernel ``"ops"`` given the rule and all ``settings``."""
    record = definition(name, plugins)
    rule = rule_of(record)
    own = None
    if name not in _DEFINED:  # one defined in this process has no backend kernels
        try:
            own = plugins.kernel("optimizer", name, backend)
        except ConfigError:
            if rule is None:
                raise
    if own is not None and (rule is None or _takes(own, arguments)):
        return own, arguments
    try:
        generic = plugins.kernel("optimizer", "ops", backend)
    except ConfigError:
        if own is not None:
            return own, arguments
        raise ConfigError(f"backend {backend!r} has no implementation of the optimizer {name!r}, and applies no "
                          f"optimizer written on dlcore.ops") from None
    return generic, {"rule": rule, "slots": rule.slot_names(settings), **settings}  # type: ignore[union-attr]


def as_kernel(make: Callable[..., Any], name: str) -> Callable[..., Any]:
    """dlcore's optimizer ``name`` as a backend's kernel of that name (``f(model, lr, **settings)``):
    its rule through the backend's generic ``make``, for a backend with no native fast path."""
    def kernel(model: Any, lr: float, **settings: Any) -> Any:
        record = definition(name)
        hyper, rule = {**record.defaults, **record.options, **settings}, rule_of(record)
        return make(model, lr, rule, rule.slot_names(hyper), **hyper)  # type: ignore[union-attr]

    kernel.__name__ = kernel.__qualname__ = name
    return kernel


def require_table(backend: str) -> None:
    """Refuse to apply rules on ``backend`` before its table of :mod:`dlcore.ops` is registered."""
    if backend not in dlcore_ops.tables():
        raise ConfigError(f"backend {backend!r} has registered no table of dlcore.ops, which optimizers written on "
                          f"dlcore.ops need; its backend module registers it when loaded")


def _takes(make: Callable[..., Any], arguments: dict[str, Any]) -> bool:
    try:
        inspect.signature(make).bind(None, lr=1.0, **arguments)
    except TypeError:
        return False
    except ValueError:  # no signature to read (a builtin)
        pass
    return True


__all__ = ["ADAM", "ADAMW", "RMSPROP", "Rule", "SGD", "as_kernel", "definition", "kernel", "one_minus_power",
           "register", "require_table", "rule_of"]
