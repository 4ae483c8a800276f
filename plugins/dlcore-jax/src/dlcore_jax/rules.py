"""The JAX backend's generic optimizer: any update rule written on :mod:`dlcore.ops`
(:mod:`dlcore.training.rules`) as a pure update traced into the jitted step."""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from dlcore import ops

from .kernels import Optimizer, _make


def make(model: Any, lr: float, rule: Any, slots: tuple[str, ...], **settings: Any) -> Optimizer:
    names = tuple(slots)

    def update(grads: Any, state: Any, params: Any, lr: Any) -> Any:
        count = state["count"] + 1
        step = count.astype(jnp.float32)
        new: dict[str, Any] = {"count": count, **{slot: {} for slot in names}}
        weights = {}
        for n, g in grads.items():
            weights[n], slots_of = rule.update(ops, params[n], g, {s: state[s][n] for s in names}, lr, step,
                                               **settings)
            for s in names:
                new[s][n] = slots_of[s]
        return weights, new

    return _make(model, "rule", lr, names, None, update)
