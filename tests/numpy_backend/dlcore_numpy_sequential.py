"""The numpy backend's graph models (sequential ones are chains), with no layer code: each
layer's plan (its version written on :mod:`dlcore.ops`, dlcore's own or the user's) runs
through the autodiff table, and the gradients come from the tape."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from dlcore import ops
from dlcore.models.graph import execute
from dlcore_numpy_autodiff import TABLE, backward, raw


def build_layer(layer: Any, input_shape: Any) -> Any:
    """The layer kernel "ops": any layer on ops is its plan for this input shape."""
    return layer._plan(tuple(input_shape))


class GraphModel(dict):
    """The trainable weights by canonical name (what the optimizer updates), the other weights
    (batch norm's running statistics, dropout's rng) in ``state``, and the layers' plans."""

    def __init__(self, spec: Any, layer_kernels: list[Callable[..., Any]]) -> None:
        self.graph = graph = spec.graph
        self.plans = [build(layer, shape) for build, layer, shape in zip(layer_kernels, graph.layers,
                                                                          graph.layer_shapes)]
        self.names = [[f"{name}.{weight}" for weight in plan.weights] for name, plan in zip(graph.layer_names,
                                                                                             self.plans)]
        weights = {key: np.zeros(w.shape, w.dtype) for keys, plan in zip(self.names, self.plans)
                   for key, w in zip(keys, plan.weights.values())}
        frozen = {key for keys, plan in zip(self.names, self.plans) for key, w in zip(keys, plan.weights.values())
                  if not w.trainable}
        super().__init__((k, v) for k, v in weights.items() if k not in frozen)
        self.state = {k: v for k, v in weights.items() if k in frozen}

    def inputs(self, x: np.ndarray) -> list[Any]:
        """Each input's batch from the features (one input's own, or several side by side)."""
        graph = self.graph
        parts = [x] if graph.columns is None else [x[:, a:b] for a, b in graph.columns]
        return [TABLE.convert(np.asarray(part).reshape(len(part), *each.shape).astype(each.dtype, copy=False))
                for part, each in zip(parts, graph.inputs)]

    def run(self, x: np.ndarray, training: bool) -> tuple[np.ndarray, Callable[[np.ndarray], dict[str, Any]]]:
        """The logits of the batch ``x``, and the function that takes the gradient of the loss by
        them to the gradients of the trainable weights. In training the new state is kept (a
        layer's later call sees its earlier call's)."""
        leaves = {name: (TABLE.leaf if training else TABLE.convert)(value) for name, value in self.items()}
        values = {**leaves, **{name: TABLE.convert(value) for name, value in self.state.items()}}

        def call(index: int, inputs: Any, **mask: Any) -> Any:
            plan, keys = self.plans[index], self.names[index]
            y, updates = plan.call(dict(zip(plan.weights, (values[key] for key in keys))), inputs, training)
            for name, new in updates.items() if training else ():
                key = keys[list(plan.weights).index(name)]
                self.state[key] = np.array(raw(new), self.state[key].dtype)
                values[key] = TABLE.convert(self.state[key])
            return y

        with ops.using(TABLE):
            outputs = execute(self.graph, self.inputs(x), call, TABLE)
            y = outputs[0] if len(outputs) == 1 else ops.concatenate(outputs, axis=1)

        def gradients(grad: np.ndarray) -> dict[str, Any]:
            return dict(zip(leaves, backward(y, list(leaves.values()), grad)))
        return y.value, gradients


SequentialModel = GraphModel  # a sequential spec is run as its graph
