"""dlcore's model specs built as Keras 3 models (the TensorFlow backend's "model" kernels).

Each names its variables by the spec's canonical names through ``dlcore_weights()``: (name,
variable, layout), where layout is None, True (the axes reversed: dense kernels are stored
(in, out), canonical weights are (out, in)) or the axes that turn the variable into the
canonical array (:func:`canonical`).
"""

from __future__ import annotations

import warnings

import numpy as np

from dlcore.contract.logits import LOGIT_LOSSES, squashed_twice
from dlcore.contract import ModelSpec
from dlcore.models import MLP, Sequential, TextClassifier, spec_from_dict
from dlcore.models.graph import execute
from dlcore.plugins import registry

from .framework import import_tensorflow
from .ops import TABLE

tf = import_tensorflow()
import keras  # noqa: E402


@keras.saving.register_keras_serializable(package="dlcore")
class KerasMLP(keras.Model):
    """Flatten, then Dense layers with an activation between them."""

    def __init__(self, sizes=(784, 512, 512, 10), activation="relu", **kwargs):
        super().__init__(**kwargs)
        self.sizes = tuple(sizes)
        self.activation = activation
        last = len(sizes) - 2
        self.dense_layers = [
            keras.layers.Dense(n, activation=None if i == last else activation, name=f"layers_{i}")
            for i, n in enumerate(sizes[1:])
        ]

    def call(self, x):
        x = keras.ops.reshape(x, (-1, self.sizes[0]))
        for layer in self.dense_layers:
            x = layer(x)
        return x

    def get_config(self):
        return {**super().get_config(), "sizes": self.sizes, "activation": self.activation}

    def dlcore_weights(self) -> list:
        return _dense_entries(self.dense_layers)


@keras.saving.register_keras_serializable(package="dlcore")
class KerasTextClassifier(keras.Model):
    """Embedding table (combined per text) -> Dense + ReLU ... -> logits.

    Takes ``(ids, text_of_each_id, lengths)``, the flat form of a ragged batch of token ids.
    """

    def __init__(self, rows=1, dim=1, sizes=(1, 16, 1), combiner="sqrtn", trainable_embedding=True, **kwargs):
        super().__init__(**kwargs)
        self.rows, self.dim, self.sizes = rows, dim, tuple(sizes)
        self.combiner, self.trainable_embedding = combiner, trainable_embedding
        self.embedding = self.add_weight(shape=(rows, dim), initializer="zeros", name="embedding",
                                         trainable=trainable_embedding)
        last = len(sizes) - 2
        self.dense_layers = [
            keras.layers.Dense(n, activation=None if i == last else "relu", name=f"layers_{i}")
            for i, n in enumerate(sizes[1:])
        ]

    def call(self, inputs):
        ids, rows_of_ids, lengths = inputs
        counts = tf.cast(tf.maximum(lengths, 1), self.embedding.dtype)
        scale = {"sqrtn": tf.math.rsqrt(counts), "mean": 1.0 / counts}.get(self.combiner, tf.ones_like(counts))
        vectors = tf.gather(self.embedding, ids) * tf.gather(scale, rows_of_ids)[:, None]
        h = tf.math.unsorted_segment_sum(vectors, rows_of_ids, num_segments=tf.shape(lengths)[0])
        for layer in self.dense_layers:
            h = layer(h)
        return h

    def get_config(self):
        return {**super().get_config(), "rows": self.rows, "dim": self.dim, "sizes": self.sizes,
                "combiner": self.combiner, "trainable_embedding": self.trainable_embedding}

    def dlcore_weights(self) -> list:
        return [("embedding.weight", self.embedding, None)] + _dense_entries(self.dense_layers)


def _dense_entries(layers) -> list:
    entries = []
    for i, layer in enumerate(layers):
        entries += [(f"layers.{i}.weight", layer.kernel, True), (f"layers.{i}.bias", layer.bias, None)]
    return entries


def build_mlp(spec: MLP) -> KerasMLP:
    model = KerasMLP(spec.sizes, spec.activation)
    model(np.zeros((1, spec.in_features), np.float32))
    return model


def build_text_classifier(spec: TextClassifier) -> KerasTextClassifier:
    emb = spec.embedding
    model = KerasTextClassifier(emb.rows, emb.dim, spec.sizes, emb.combiner, emb.trainable)
    model((np.zeros(1, np.int64), np.zeros(1, np.int64), np.ones(1, np.int64)))
    return model


@keras.saving.register_keras_serializable(package="dlcore")
class KerasGraph(keras.Model):
    """dlcore's portable layers as a graph (a sequential spec's is its chain), each built by its
    layer kernel and called in order (:func:`dlcore.models.graph.execute`). Each input's features
    are reshaped to (N, *shape); images (channels first in dlcore) are transposed to channels
    last, the layout TensorFlow's convolutions run fastest in. Several outputs are given side
    by side."""

    def __init__(self, spec=None, layer_kernels=None, **kwargs):
        super().__init__(**kwargs)
        self.spec = spec if isinstance(spec, ModelSpec) else spec_from_dict(spec)
        graph = self.spec.graph
        if layer_kernels is None:  # read from a .keras file, or written to one: the registered kernels
            layer_kernels = [registry().layer_kernel(layer, "tensorflow") for layer in graph.layers]
        self.spec_layers = [build(layer, shape) for build, layer, shape
                            in zip(layer_kernels, graph.layers, graph.layer_shapes)]

    def call(self, x, training=False):
        graph = self.spec.graph
        parts = [x] if graph.columns is None else [x[:, a:b] for a, b in graph.columns]
        inputs = []
        for part, each in zip(parts, graph.inputs):
            part = tf.reshape(part, (-1, *each.shape))
            if each.dtype == "int64" and part.dtype.is_floating:
                part = tf.cast(part, tf.int64)
            inputs.append(tf.transpose(part, (0, 2, 3, 1)) if len(each.shape) == 3 else part)

        def call(index, value, **mask):
            return self.spec_layers[index](value, training=training, **mask)

        outputs = execute(graph, inputs, call, TABLE)
        return outputs[0] if len(outputs) == 1 else tf.concat(outputs, 1)

    def get_config(self):
        return {**super().get_config(), "spec": self.spec.to_dict()}

    def dlcore_weights(self) -> list:
        return [(f"{name}.{weight}", variable, layout)
                for name, layer in zip(self.spec.graph.layer_names, self.spec_layers)
                for weight, variable, layout in layer.dlcore_entries()]


@keras.saving.register_keras_serializable(package="dlcore")
class KerasSequential(KerasGraph):
    """A sequential spec's Keras model: its graph, under the class name its .keras files have."""


def build_graph(spec: ModelSpec, layer_kernels=None) -> KerasGraph:
    """The Keras model of ``spec`` (a graph, or a sequential spec: its chain), its layers built
    by ``layer_kernels`` (None: the registered TensorFlow kernels of their kinds)."""
    model = (KerasSequential if isinstance(spec, Sequential) else KerasGraph)(spec, layer_kernels)
    model(np.zeros((1, *spec.input_shape), spec.input_dtype))  # type: ignore[attr-defined]
    return model


build_sequential = build_graph  # a sequential spec is run as its graph


def canonical(value: np.ndarray, layout) -> np.ndarray:
    """A variable's value in the canonical layout."""
    return value if layout is None or layout is False else np.transpose(value, None if layout is True else layout)


def native(value: np.ndarray, layout) -> np.ndarray:
    """A canonical array in the variable's layout."""
    if layout is None or layout is False:
        return value
    return np.transpose(value, None if layout is True else np.argsort(layout))


def canonical_shape(shape, layout) -> tuple[int, ...]:
    return tuple(canonical(np.empty(tuple(shape), np.int8), layout).shape)


SQUASHING = ("softmax", "sigmoid")


def _output_layer(native):
    """The layer that gives a Sequential or functional model its (one) output; None for a
    subclassed model, whose last layer attribute need not be its output layer."""
    if isinstance(native, keras.Sequential):
        return native.layers[-1] if native.layers else None
    outputs = getattr(native, "outputs", None) if isinstance(native, keras.Model) else None
    if not outputs or len(outputs) != 1:
        return None
    history = getattr(outputs[0], "_keras_history", None)
    return getattr(history, "operation", None)


def warn_final_activation(native, loss: str | None) -> None:
    """Warn (as Keras does) when the user's Sequential or functional model ends in a softmax or
    sigmoid (a layer's ``activation``, or a Softmax layer) and is trained with a cross-entropy,
    which takes logits: the probabilities would be squashed twice and training stalls."""
    last = _output_layer(native) if loss in LOGIT_LOSSES else None
    if last is None:
        return
    activation = getattr(getattr(last, "activation", None), "__name__", None)
    if isinstance(last, keras.layers.Softmax):
        activation = "softmax"
    if activation not in SQUASHING:
        return
    warnings.warn(squashed_twice(f"the last layer {last.name!r} of your {type(native).__name__} has activation "
                                 f"{activation}", activation, loss,
                                 f"remove the activation (Dense(units) instead of Dense(units, activation="
                                 f"{activation!r}); as Keras' from_logits=True)"), UserWarning, stacklevel=5)
