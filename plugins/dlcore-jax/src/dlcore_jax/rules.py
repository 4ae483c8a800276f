"""The JAX backend's optimizer: any update rule written on :mod:`dlcore.ops`
(:mod:`dlcore.training.rules`; dlcore's SGD, Adam, AdamW and RMSprop too) as a pure update
traced into the jitted step."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import jax
import jax.numpy as jnp

from dlcore import ops
from dlcore.training import rules


@dataclass
class Optimizer:
    """``update(grads, state, params, lr) -> (new trainable params, state)``, pure, over the
    trainable parameters; the learning rate changes between steps without recompiling.
    ``state`` is ``{"count": updates made, slot: {parameter: array}}`` in the canonical slots;
    ``sums``, the gradient sums of gradient accumulation."""

    name: str
    update: Callable[..., Any]
    state: dict[str, Any]
    lr: float
    trainable: tuple[str, ...]
    sums: dict[str, Any] = field(default_factory=dict)

    def step(self, params: dict[str, Any], state: dict[str, Any], grads: dict[str, Any], lr: Any) -> Any:
        """The parameters and state after one update of (clipped) ``grads`` at rate ``lr``."""
        new, state = self.update(grads, state, params, lr)
        return {**params, **new}, state


def make(model: Any, lr: float, rule: Any, slots: tuple[str, ...], **settings: Any) -> Optimizer:
    """The optimizer of ``rule`` with ``settings`` over ``model``'s trainable parameters, its
    slots zeros beside them."""
    rules.require_table("jax")
    names, native = tuple(slots), model.native
    trainable = tuple(n for n in native.params if native.trainable.get(n, True))  # a frozen embedding does not
    where = next(iter(native.params.values())).devices().pop()  # committed like the parameters: no recompiling
    state: dict[str, Any] = {"count": jax.device_put(jnp.zeros([], jnp.int32), where)}
    for slot in names:  # a tree per slot: their buffers are donated to the step, each once
        state[slot] = {n: jnp.zeros_like(native.params[n]) for n in trainable}

    def update(grads: Any, state: Any, params: Any, lr: Any) -> Any:
        count = state["count"] + 1
        step = count.astype(jnp.float32)
        new: dict[str, Any] = {"count": count, **{slot: {} for slot in names}}
        weights = {}
        for n, g in grads.items():
            with ops.using(ops.tables()["jax"]):  # a rule's ops given no array make JAX's
                weights[n], slots_of = rule.update(ops, params[n], g, {s: state[s][n] for s in names}, lr, step,
                                                   **settings)
            for s in names:
                new[s][n] = slots_of[s]
        return weights, new

    return Optimizer("rule", update, state, lr, trainable)


sgd, adam, adamw, rmsprop = (rules.as_kernel(make, name) for name in ("sgd", "adam", "adamw", "rmsprop"))
