"""The torch backend's kernel for any layer written on :mod:`dlcore.ops`: an ``nn.Module`` whose
trainable weights are parameters and non-trainable ones buffers, under the layer's own weight
names (so a GraphModule's state_dict holds the canonical ``{layer}.{name}``)."""

from __future__ import annotations

from typing import Any

import numpy as np
from dlcore import ConfigError, ops

from .framework import import_torch
from .ops import TABLE

torch = import_torch()
nn = torch.nn


class WrittenLayer(nn.Module):
    """A layer written on ops, called through torch's table; what its ``call`` assigns to
    non-trainable weights is copied into their buffers after the call."""

    def __init__(self, layer: Any, shape: tuple[int, ...]) -> None:
        super().__init__()
        plan = layer._plan(tuple(shape))
        self._written = plan
        initial = plan.initial_weights(np.random.default_rng(0))  # the trainer sets the spec's own
        for name, weight in plan.weights.items():
            if hasattr(self, name):
                raise ConfigError(f"layer {layer.kind}: a weight cannot be named {name!r} on torch (an attribute "
                                  "of torch's nn.Module); rename it in add_weight")
            value = torch.from_numpy(initial[name])
            if weight.trainable:
                self.register_parameter(name, nn.Parameter(value))
            else:
                self.register_buffer(name, value)

    def forward(self, x):
        plan = self._written
        values = {name: getattr(self, name) for name in plan.weights}
        first = x[0] if isinstance(x, (list, tuple)) else x  # a merge is given a list
        with ops.using(TABLE), TABLE.placed(first.device):
            y, updates = plan.call(values, x, self.training)
        if updates and self.training:  # state changes in training steps only, as on every backend
            with torch.no_grad():
                for name, value in updates.items():
                    value = torch.as_tensor(value)
                    if tuple(value.shape) != tuple(values[name].shape):
                        raise ops.OpsError(f"layer {plan.layer.kind}: assign() gave the weight {name!r} shape "
                                           f"{tuple(value.shape)}, not its own {tuple(values[name].shape)}")
                    values[name].copy_(value)
        return y

    def extra_repr(self) -> str:
        return type(self._written.layer).__name__


def build(layer: Any, shape: tuple[int, ...]) -> nn.Module:
    """The ``nn.Module`` of ``layer`` (written on ops) for one sample's input ``shape``."""
    return WrittenLayer(layer, shape)
