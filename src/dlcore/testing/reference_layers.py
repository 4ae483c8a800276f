"""A float64 numpy reference of dlcore's portable layers (:mod:`dlcore.models.layers`) and
graphs of them in inference, and of batch norm's running statistics after a training step: what every backend's
layer kernels must compute, in the canonical layout (channels first). It is the layers' one
version written on :mod:`dlcore.ops`, run through numpy's table."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import ops
from ..models import layers as L
from ..models.graph import execute

NUMPY = ops.tables()["numpy"]


def _float64(weights: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k: np.asarray(v, np.float64) if np.asarray(v).dtype.kind == "f" else np.asarray(v) for k, v in weights.items()}


def layer(spec: L.Layer, weights: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """One layer in inference on a batch ``x``; ``weights`` are the layer's own (no prefix): the
    layer's version written on :mod:`dlcore.ops`, through numpy's table."""
    if not spec.on_ops:
        raise NotImplementedError(f"no reference for the layer kind {spec.kind!r}: it has no version on dlcore.ops")
    with ops.using(NUMPY):
        return spec._plan(tuple(x.shape[1:])).call(_float64(weights), x, False)[0]


def forward(spec: L.Sequential, weights: dict[str, np.ndarray], x: np.ndarray) -> list[np.ndarray]:
    """The input (reshaped to the spec's input shape), then each layer's output, in inference."""
    values: list[Any] = [np.asarray(x).reshape(len(x), *spec.input_shape)]
    if spec.input_dtype == "float32":
        values[0] = values[0].astype(np.float64)
    for i, part in enumerate(spec.layers):
        own = {k.split(".", 2)[2]: v for k, v in weights.items() if k.startswith(f"layers.{i}.")}
        values.append(layer(part, own, values[-1]))
    return values


def graph_outputs(spec: Any, weights: dict[str, np.ndarray], features: Any) -> np.ndarray:
    """A graph's outputs (side by side) in inference, in float64: ``features`` as ``predict``
    takes them (a dict by input name, a tuple, or one array), each layer's version written on
    :mod:`dlcore.ops` through numpy's table (a sequential spec's graph too)."""
    chart = spec.graph
    inputs = []
    for values, each in zip(chart.in_order(features), chart.inputs):
        values = np.asarray(values).reshape(len(values), *each.shape)
        inputs.append(values.astype(np.float64) if each.dtype == "float32" else values)

    def call(index: int, x: Any) -> Any:
        name, part = chart.layer_names[index], chart.layers[index]
        own = {key[len(name) + 1:]: value for key, value in weights.items() if key.rpartition(".")[0] == name}
        return part._plan(chart.layer_shapes[index]).call(_float64(own), x, False)[0]

    with ops.using(NUMPY):
        return np.concatenate(execute(chart, inputs, call), axis=1)


def batch_norm_update(spec: L.BatchNorm, weights: dict[str, np.ndarray], x: np.ndarray) -> dict[str, np.ndarray]:
    """``running_mean`` and ``running_var`` after one training step on the batch ``x`` (the
    layer's input): the batch's mean and unbiased variance per channel, by ``momentum``."""
    with ops.using(NUMPY):
        return spec._plan(tuple(x.shape[1:])).call(_float64(weights), np.asarray(x, np.float64), True)[1]


__all__ = ["batch_norm_update", "forward", "graph_outputs", "layer"]
