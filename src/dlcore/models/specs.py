"""dlcore's framework-neutral model specs: the tutorial's MLP and the IMDB text classifier.

A spec is a small immutable dataclass (:class:`dlcore.ModelSpec`); each backend builds it
natively (a kernel of kind "model" per spec kind and backend) with the same parameter names,
shapes and layouts (a dense layer's ``weight`` is (out, in), as in torch), so weights move
between backends unchanged. A spec holds no weights: the :class:`dlcore.Model` a trainer
builds from it does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, Sequence

import numpy as np

from ..contract.errors import ConfigError
from ..contract.specs import ModelSpec
from ..data.text import TextEmbedding
from ..plugins.manager import registry


@dataclass(frozen=True)
class MLP(ModelSpec):
    """Flatten -> Linear -> activation -> ... -> Linear, giving logits.

    Parameters are ``layers.{i}.weight`` of shape (out, in) and ``layers.{i}.bias`` (out,).

    >>> from dlcore.models import MLP
    >>> spec = MLP(784, (512, 512), 10)
    >>> spec.parameter_shapes()["layers.0.weight"], spec.loss
    ((512, 784), 'cross_entropy')
    """

    in_features: int = 784
    hidden: tuple[int, ...] = (512, 512)
    out_features: int = 10
    activation: str = "relu"

    kind: ClassVar[str] = "mlp"

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        sizes = (self.in_features, *self.hidden, self.out_features)
        if any(int(s) < 1 for s in sizes):
            raise ConfigError(f"MLP layer sizes must be positive, got {sizes}")
        if self.activation not in ("relu", "tanh"):
            raise ConfigError(f"MLP activation must be 'relu' or 'tanh', got {self.activation!r}")

    @property
    def sizes(self) -> tuple[int, ...]:
        return (self.in_features, *self.hidden, self.out_features)

    def parameter_shapes(self) -> dict[str, tuple[int, ...]]:
        return _dense_shapes(self.sizes)

    def initial_weights(self, seed: int | None = None) -> dict[str, np.ndarray]:
        """torch.nn.Linear's default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias."""
        return _dense_init(self.sizes, np.random.default_rng(seed))


def _dense_shapes(sizes: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
    shapes: dict[str, tuple[int, ...]] = {}
    for i, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
        shapes[f"layers.{i}.weight"] = (n_out, n_in)
        shapes[f"layers.{i}.bias"] = (n_out,)
    return shapes


def _dense_init(sizes: tuple[int, ...], rng: np.random.Generator) -> dict[str, np.ndarray]:
    """torch.nn.Linear's default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias."""
    weights = {}
    for name, shape in _dense_shapes(sizes).items():
        bound = 1.0 / math.sqrt(sizes[int(name.split(".")[1])])
        weights[name] = rng.uniform(-bound, bound, shape).astype(np.float32)
    return weights


@dataclass(frozen=True)
class TextClassifier(ModelSpec):
    """Text -> pretrained embedding (combined per text) -> Dense + ReLU ... -> logits.

    Parameters: ``embedding.weight`` (rows, dim), then ``layers.{i}.weight`` / ``.bias`` as in
    the MLP. One output (the default) is a binary classifier's logit.

    >>> import numpy as np
    >>> from dlcore.embeddings import TextEmbedding
    >>> from dlcore.models import TextClassifier
    >>> emb = TextEmbedding(("good", "bad"), np.zeros((3, 50), np.float32))  # or embeddings.load(...)
    >>> spec = TextClassifier(emb, hidden=(16,))
    >>> spec.parameter_shapes()["embedding.weight"], spec.loss
    ((3, 50), 'binary_cross_entropy')
    """

    embedding: TextEmbedding = None  # type: ignore[assignment]
    hidden: tuple[int, ...] = (16,)
    out_features: int = 1

    kind: ClassVar[str] = "text_classifier"

    def __post_init__(self) -> None:
        if not isinstance(self.embedding, TextEmbedding):
            raise ConfigError("text_classifier needs a TextEmbedding, e.g. embeddings.load('glove-6b-50d')")
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        if any(s < 1 for s in (*self.hidden, self.out_features)):
            raise ConfigError(f"layer sizes must be positive, got {self.hidden} and {self.out_features}")

    @property
    def sizes(self) -> tuple[int, ...]:
        return (self.embedding.dim, *self.hidden, self.out_features)

    def parameter_shapes(self) -> dict[str, tuple[int, ...]]:
        return {"embedding.weight": tuple(self.embedding.vectors.shape), **_dense_shapes(self.sizes)}

    def initial_weights(self, seed: int | None = None) -> dict[str, np.ndarray]:
        dense = _dense_init(self.sizes, np.random.default_rng(seed))
        return {"embedding.weight": self.embedding.vectors.copy(), **dense}

    def untrained(self) -> set[str]:
        return set() if self.embedding.trainable else {"embedding.weight"}

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "embedding": self.embedding.config(), "hidden": list(self.hidden),
                "out_features": self.out_features}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TextClassifier:
        data = dict(data)
        if isinstance(data.get("embedding"), dict):
            data["embedding"] = TextEmbedding.from_config(data["embedding"])
        return cls(**data)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TextClassifier) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash((self.kind, self.embedding.source, self.embedding.rows, self.hidden, self.out_features))

    def __repr__(self) -> str:
        return f"TextClassifier({self.embedding!r}, hidden={self.hidden}, out_features={self.out_features})"


def text_classifier(embedding: TextEmbedding, hidden: Sequence[int] = (16,), out_features: int = 1) -> TextClassifier:
    """The TF-Hub tutorial's classifier: embedding -> Dense(16, ReLU) -> Dense(1) logit.

    Example::

        train, test = datasets.imdb()
        spec = models.text_classifier(embeddings.load("glove-6b-50d", vocabulary=train))
        Trainer(backend="torch", epochs=5, optimizer="adam").fit(spec, train, validation=test)
    """
    return TextClassifier(embedding, tuple(hidden), out_features)


def mlp(in_features: int = 784, hidden: Sequence[int] = (512, 512), out_features: int = 10,
        activation: str = "relu") -> MLP:
    """The PyTorch tutorial's MLP: ``mlp(784, [512, 512], 10)``.

    >>> from dlcore import models
    >>> spec = models.mlp(784, [512, 512], 10)
    >>> spec
    MLP(in_features=784, hidden=(512, 512), out_features=10, activation='relu')
    >>> spec.parameter_shapes()["layers.2.weight"]
    (10, 512)
    """
    return MLP(in_features, tuple(hidden), out_features, activation)


def spec_from_dict(data: dict[str, Any]) -> ModelSpec:
    """Rebuild a spec from :meth:`ModelSpec.to_dict` output, by its registered kind.

    >>> from dlcore import models
    >>> spec = models.mlp(784, [128], 10)
    >>> models.spec_from_dict(spec.to_dict()) == spec
    True
    """
    spec: ModelSpec = registry().spec_from_dict(data)
    return spec


__all__ = ["MLP", "TextClassifier", "mlp", "spec_from_dict", "text_classifier"]
