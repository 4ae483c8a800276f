"""The JAX backend's kernel for any layer written on :mod:`dlcore.ops` (the layer kernel "ops").

The layer's plan (its build for one input shape) is called on JAX's table inside the model's
pure function: its weights are the parameters under their own names, its non-trainable weights
the layer's ``state`` (no gradient, no optimizer step; the new values its call assigns are the
updates). The layer sees canonical shapes: a batch of images, channels last in this backend,
is transposed to (N, C, H, W) before the call (each of a merge's inputs), and an image output
back after it.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from dlcore import ops
from dlcore.models import layers as spec

from .layers import JaxLayer
from .ops import TABLE


def _channels_first(x: Any) -> Any:
    return jnp.transpose(x, (0, 3, 1, 2)) if jnp.ndim(x) == 4 else x


def _channels_last(x: Any) -> Any:
    return jnp.transpose(x, (0, 2, 3, 1)) if jnp.ndim(x) == 4 else x


def build(layer: spec.Layer, shape: tuple[int, ...]) -> JaxLayer:
    """``layer`` (written on ops) for inputs of ``shape`` (one sample, canonical)."""
    plan = layer._plan(tuple(shape))
    integers = tuple(name for name, weight in plan.weights.items() if jnp.issubdtype(jnp.dtype(weight.dtype),
                                                                                     jnp.integer))

    def apply(params: dict[str, Any], x: Any, training: bool) -> tuple[Any, dict[str, Any]]:
        with ops.using(TABLE):
            canonical = [_channels_first(v) for v in x] if isinstance(x, (list, tuple)) else _channels_first(x)
            y, updates = plan.call(params, canonical, training)
        return _channels_last(jnp.asarray(y)), {name: _held(layer, name, value, params[name])
                                                 for name, value in updates.items()}

    return JaxLayer(apply, state=plan.frozen, integers=integers)


def _held(layer: spec.Layer, name: str, value: Any, old: Any) -> Any:
    """``value`` assigned to the weight ``name``, in the dtype it is held in; its shape must be the weight's."""
    value = jnp.asarray(value)
    if value.shape != old.shape:
        raise ops.OpsError(f"layer {layer.kind}: assign() gave the weight {name!r} shape {tuple(value.shape)}, "
                           f"not its own {tuple(old.shape)}")
    return value.astype(old.dtype)
