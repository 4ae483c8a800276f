"""dlcore specs built as Keras 3 models, and the Model wrapper around any Keras model."""

from __future__ import annotations

import numpy as np

from dlcore.errors import ConfigError
from dlcore.frameworks import import_tensorflow
from dlcore.models import MLP, Model, ModelSpec, TextClassifier, check_weights

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


def canonical_entries(model) -> list | None:
    """(canonical name, variable, transpose) for a model dlcore builds; None for others."""
    if not isinstance(model, (KerasMLP, KerasTextClassifier)):
        return None
    entries = [("embedding.weight", model.embedding, False)] if isinstance(model, KerasTextClassifier) else []
    for i, layer in enumerate(model.dense_layers):
        entries += [(f"layers.{i}.weight", layer.kernel, True), (f"layers.{i}.bias", layer.bias, False)]
    return entries


def build_keras(spec: ModelSpec):
    """The Keras model for a spec, built, with its canonical entries."""
    if isinstance(spec, MLP):
        model = KerasMLP(spec.sizes, spec.activation)
        model(np.zeros((1, spec.in_features), np.float32))
        return model, canonical_entries(model)
    if isinstance(spec, TextClassifier):
        emb = spec.embedding
        model = KerasTextClassifier(emb.rows, emb.dim, spec.sizes, emb.combiner, emb.trainable)
        model((np.zeros(1, np.int64), np.zeros(1, np.int64), np.ones(1, np.int64)))
        return model, canonical_entries(model)
    raise ConfigError(f"the tensorflow backend cannot build a {spec.kind!r} spec")


class KerasModel(Model):
    """A Keras model. Dense kernels are stored (in, out); canonical weights are (out, in)."""

    backend = "tensorflow"

    def __init__(self, native, entries=None, spec: ModelSpec | None = None, loss: str = "cross_entropy") -> None:
        self.native = native
        self.spec = spec
        self.loss = spec.loss if spec is not None else loss
        if entries is None:
            entries = [(getattr(v, "path", v.name), v, False) for v in native.weights]
        self._entries = entries

    def get_weights(self) -> dict[str, np.ndarray]:
        return {name: (v.numpy().T if t else v.numpy()).copy() for name, v, t in self._entries}

    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        shapes = {n: tuple(v.shape)[::-1] if t else tuple(v.shape) for n, v, t in self._entries}
        check_weights(shapes, weights)
        for name, variable, transpose in self._entries:
            value = np.asarray(weights[name])
            variable.assign(value.T if transpose else value)

    def __repr__(self) -> str:
        return f"KerasModel({self.spec or type(self.native).__name__}, {self.num_parameters()} parameters)"
