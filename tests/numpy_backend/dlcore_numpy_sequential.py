"""The numpy backend's sequential models, with no layer code: each layer's plan (its version
written on :mod:`dlcore.ops`, dlcore's own or the user's) runs through the autodiff table, and
the gradients come from the tape."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from dlcore import ops
from dlcore_numpy_autodiff import TABLE, backward, raw


def build_layer(layer: Any, input_shape: tuple[int, ...]) -> Any:
    """The layer kernel "ops": any layer on ops is its plan for this input shape."""
    return layer._plan(tuple(input_shape))


class SequentialModel(dict):
    """The trainable weights by canonical name (what the optimizer updates), the other weights
    (batch norm's running statistics, dropout's rng) in ``state``, and the layers' plans."""

    def __init__(self, spec: Any, layer_kernels: list[Callable[..., Any]]) -> None:
        self.input_shape = spec.input_shape
        self.plans = [build(layer, shape) for build, layer, shape in zip(layer_kernels, spec.layers, spec.shapes)]
        weights = {f"layers.{i}.{name}": np.zeros(w.shape, w.dtype)
                   for i, plan in enumerate(self.plans) for name, w in plan.weights.items()}
        frozen = {f"layers.{i}.{name}" for i, plan in enumerate(self.plans) for name in plan.frozen}
        super().__init__((k, v) for k, v in weights.items() if k not in frozen)
        self.state = {k: v for k, v in weights.items() if k in frozen}

    def run(self, x: np.ndarray, training: bool) -> tuple[np.ndarray, Callable[[np.ndarray], dict[str, Any]]]:
        """The logits of the batch ``x``, and the function that takes the gradient of the loss by
        them to the gradients of the trainable weights. In training the new state is kept."""
        leaves = {name: (TABLE.leaf if training else TABLE.convert)(value) for name, value in self.items()}
        values = {**leaves, **{name: TABLE.convert(value) for name, value in self.state.items()}}
        y = TABLE.convert(x.reshape(len(x), *self.input_shape))
        with ops.using(TABLE):
            for i, plan in enumerate(self.plans):
                y, updates = plan.call({name: values[f"layers.{i}.{name}"] for name in plan.weights}, y, training)
                for name, new in updates.items() if training else ():
                    key = f"layers.{i}.{name}"
                    self.state[key] = np.array(raw(new), self.state[key].dtype)

        def gradients(grad: np.ndarray) -> dict[str, Any]:
            return dict(zip(leaves, backward(y, list(leaves.values()), grad)))
        return y.value, gradients
