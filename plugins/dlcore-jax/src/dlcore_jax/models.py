"""dlcore's model specs as pure JAX functions of a dict of parameters under the specs' canonical
names (the JAX backend's "model" kernels)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from dlcore.contract import ModelSpec
from dlcore.models import MLP, TextClassifier
from dlcore.models.graph import execute
from dlcore.models.layers import Conv2d

from .layers import ACTIVATIONS, JaxLayer
from .ops import TABLE


@dataclass
class JaxModel:
    """Parameters (canonical name -> array), the pure function ``apply(params, inputs) ->
    logits``, and which parameters train (a frozen embedding does not).

    ``state``: the entries training changes without gradients (batch norm's running
    statistics, dropout's counter; not trainable). A model with state also takes
    ``apply(params, inputs, training=True)``, which returns ``(logits, {entry: new value})``;
    so does a model with ``training_mode`` (a layer written on ops may act otherwise in training).
    ``scan``: whether a span of steps may run in one ``lax.scan`` on the CPU (XLA runs
    convolutions several times slower inside loops there)."""

    params: dict[str, Any]
    apply: Callable[..., Any]
    trainable: dict[str, bool] = field(default_factory=dict)
    state: tuple[str, ...] = ()
    scan: bool = True
    training_mode: bool = False


def _dense(params: dict[str, Any], h: Any, layers: int, activation: Callable[[Any], Any]) -> Any:
    for i in range(layers):
        h = h @ params[f"layers.{i}.weight"].T + params[f"layers.{i}.bias"]
        if i < layers - 1:
            h = activation(h)
    return h


def _zeros(spec: ModelSpec) -> dict[str, Any]:
    return {name: jnp.zeros(shape, jnp.float32) for name, shape in spec.parameter_shapes().items()}


def mlp(spec: MLP) -> JaxModel:
    layers, activation = len(spec.sizes) - 1, ACTIVATIONS[spec.activation]

    def apply(params: dict[str, Any], x: Any) -> Any:
        return _dense(params, x.reshape(x.shape[0], -1), layers, activation)

    return JaxModel(_zeros(spec), apply, {name: True for name in spec.parameter_shapes()})


def text_classifier(spec: TextClassifier) -> JaxModel:
    """Takes ``(ids, text_of_each_id, weights, lengths)``: the batch's token ids flat, which text
    each belongs to, its weight (the combiner's scale; 0 for padding), and each text's length
    (whose shape gives the number of texts, static for jit)."""
    layers = len(spec.sizes) - 1

    def apply(params: dict[str, Any], inputs: Any) -> Any:
        ids, rows, weights, lengths = inputs
        vectors = params["embedding.weight"][ids] * weights[:, None]
        h = jax.ops.segment_sum(vectors, rows, num_segments=lengths.shape[0])
        return _dense(params, h, layers, jax.nn.relu)

    trainable = {name: True for name in spec.parameter_shapes()}
    trainable["embedding.weight"] = spec.embedding.trainable
    return JaxModel(_zeros(spec), apply, trainable)


def graph(spec: ModelSpec, layer_kernels: Sequence[Callable[..., JaxLayer]]) -> JaxModel:
    """A graph of layers (a sequential spec's is its chain), each built by its kernel; its
    parameters ``{layer}.{weight}``; images enter channels last (see :mod:`dlcore_jax.layers`).
    In training a layer called twice sees its first call's new state; several outputs are given
    side by side."""
    g = spec.graph  # type: ignore[attr-defined]
    built = [build(layer, shape) for build, layer, shape in zip(layer_kernels, g.layers, g.layer_shapes)]
    shapes = [layer.parameter_shapes(shape) for layer, shape in zip(g.layers, g.layer_shapes)]
    params = {f"{name}.{weight}": jnp.zeros(shape, jnp.int32 if weight in layer.integers else jnp.float32)
              for name, layer, own in zip(g.layer_names, built, shapes) for weight, shape in own.items()}
    state = tuple(f"{name}.{weight}" for name, layer in zip(g.layer_names, built) for weight in layer.state)

    def apply(params: dict[str, Any], inputs: Any, training: bool = False) -> Any:
        parts = [inputs] if g.columns is None else [inputs[:, a:b] for a, b in g.columns]
        xs = []
        for part, each in zip(parts, g.inputs):
            part = part.reshape(part.shape[0], *each.shape)
            part = part.astype(jnp.int32) if each.dtype == "int64" and jnp.issubdtype(part.dtype, jnp.floating) \
                else part
            xs.append(part.transpose(0, 2, 3, 1) if len(each.shape) == 3 else part)
        updates: dict[str, Any] = {}

        def call(index: int, x: Any, **mask: Any) -> Any:
            name = g.layer_names[index]
            own = {weight: updates.get(f"{name}.{weight}", params[f"{name}.{weight}"]) for weight in shapes[index]}
            y, new = built[index].apply(own, x, training, **mask)
            updates.update({f"{name}.{weight}": value for weight, value in new.items()})
            return y

        outputs = execute(g, xs, call, TABLE)
        y = outputs[0] if len(outputs) == 1 else jnp.concatenate(outputs, 1)
        return (y, updates) if training else y

    trainable = {name: name not in state for name in params}
    return JaxModel(params, apply, trainable, state, scan=not any(isinstance(la, Conv2d) for la in g.layers),
                    training_mode=any(la.written_on_ops for la in g.layers))


sequential = graph  # a sequential spec is run as its graph


def text_batch(ids: np.ndarray, splits: np.ndarray, index: np.ndarray, combiner: str) -> tuple[Any, ...]:
    """The flat inputs of the texts at ``index``, padded to a power of two of tokens (so that jit
    compiles a few shapes, not one per batch); padding has weight 0."""
    starts, ends = splits[index], splits[index + 1]
    lengths = ends - starts
    total = int(lengths.sum())
    size = 1 << max(total - 1, 0).bit_length()
    positions = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(total)
    rows = np.repeat(np.arange(len(index)), lengths)
    counts = np.maximum(lengths, 1).astype(np.float32)
    scale = {"sqrtn": 1 / np.sqrt(counts), "mean": 1 / counts}.get(combiner, np.ones_like(counts))
    padded_ids, padded_rows, weights = (np.zeros(size, np.int64), np.zeros(size, np.int64), np.zeros(size, np.float32))
    padded_ids[:total], padded_rows[:total], weights[:total] = ids[positions], rows, scale[rows]
    return padded_ids, padded_rows, weights, lengths
