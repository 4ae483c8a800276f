"""Framework-neutral model specs and the Model interface backends implement.

A spec is a small dataclass; each backend builds it natively with the same parameter names,
shapes and layouts (a dense layer's ``weight`` is (out, in), as in torch), so weights move
between backends unchanged. A spec also remembers the native model each backend built from
it, so ``fit``, ``evaluate`` and ``predict`` on the same spec object share one set of weights.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from .errors import ConfigError

if TYPE_CHECKING:
    from .embeddings import TextEmbedding


class Model(ABC):
    """A native model wrapped by a backend."""

    backend: str
    spec: ModelSpec | None
    native: Any
    loss: str  # "cross_entropy" or "binary_cross_entropy"
    # Training progress, kept by Trainer.fit and written into checkpoints.
    epoch: int = 0
    step: int = 0
    history_records: tuple = ()

    @abstractmethod
    def get_weights(self) -> dict[str, np.ndarray]:
        """Parameters as numpy arrays, under the spec's canonical names and layouts."""

    @abstractmethod
    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        """Load parameters given under the canonical names; shapes must match exactly."""

    def num_parameters(self) -> int:
        """Number of scalar parameters."""
        return sum(int(w.size) for w in self.get_weights().values())


@dataclass
class ModelSpec:
    """Base of framework-neutral model descriptions."""

    kind: ClassVar[str] = ""
    loss: ClassVar[str] = "cross_entropy"
    built: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def parameter_shapes(self) -> dict[str, tuple[int, ...]]:
        """Canonical parameter names and shapes, in layer order."""
        raise NotImplementedError

    def initial_weights(self, seed: int | None = None) -> dict[str, np.ndarray]:
        """Initial parameters drawn in numpy, identical on every backend for a given seed."""
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description: ``kind`` plus the spec's fields."""
        data = asdict(self)
        data.pop("built", None)
        return {"kind": self.kind, **data}


@dataclass
class MLP(ModelSpec):
    """Flatten -> Linear -> activation -> ... -> Linear, giving logits.

    Parameters are ``layers.{i}.weight`` of shape (out, in) and ``layers.{i}.bias`` (out,).
    """

    in_features: int = 784
    hidden: tuple[int, ...] = (512, 512)
    out_features: int = 10
    activation: str = "relu"

    kind: ClassVar[str] = "mlp"

    def __post_init__(self) -> None:
        self.hidden = tuple(int(h) for h in self.hidden)
        sizes = (self.in_features, *self.hidden, self.out_features)
        if any(int(s) < 1 for s in sizes):
            raise ConfigError(f"MLP layer sizes must be positive, got {sizes}")
        if self.activation not in ("relu", "tanh"):
            raise ConfigError(f"MLP activation must be 'relu' or 'tanh', got {self.activation!r}")
        self.loss = "binary_cross_entropy" if self.out_features == 1 else "cross_entropy"

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


@dataclass
class TextClassifier(ModelSpec):
    """Text -> pretrained embedding (combined per text) -> Dense + ReLU ... -> logits.

    Parameters: ``embedding.weight`` (rows, dim), then ``layers.{i}.weight`` / ``.bias`` as in
    the MLP. One output (the default) is a binary classifier's logit.
    """

    embedding: TextEmbedding = None  # type: ignore[assignment]
    hidden: tuple[int, ...] = (16,)
    out_features: int = 1

    kind: ClassVar[str] = "text_classifier"

    def __post_init__(self) -> None:
        from .embeddings import TextEmbedding

        if not isinstance(self.embedding, TextEmbedding):
            raise ConfigError("text_classifier needs a TextEmbedding, e.g. embeddings.load('glove-6b-50d')")
        self.hidden = tuple(int(h) for h in self.hidden)
        if any(s < 1 for s in (*self.hidden, self.out_features)):
            raise ConfigError(f"layer sizes must be positive, got {self.hidden} and {self.out_features}")
        self.loss = "binary_cross_entropy" if self.out_features == 1 else "cross_entropy"

    @property
    def sizes(self) -> tuple[int, ...]:
        return (self.embedding.dim, *self.hidden, self.out_features)

    def parameter_shapes(self) -> dict[str, tuple[int, ...]]:
        return {"embedding.weight": tuple(self.embedding.vectors.shape), **_dense_shapes(self.sizes)}

    def initial_weights(self, seed: int | None = None) -> dict[str, np.ndarray]:
        dense = _dense_init(self.sizes, np.random.default_rng(seed))
        return {"embedding.weight": self.embedding.vectors.copy(), **dense}

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "embedding": self.embedding.config(), "hidden": list(self.hidden),
                "out_features": self.out_features}

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, TextClassifier) and self.to_dict() == other.to_dict())

    def __repr__(self) -> str:
        return f"TextClassifier({self.embedding!r}, hidden={self.hidden}, out_features={self.out_features})"


def text_classifier(embedding: TextEmbedding, hidden=(16,), out_features: int = 1) -> TextClassifier:
    """The TF-Hub tutorial's classifier: embedding -> Dense(16, ReLU) -> Dense(1) logit."""
    return TextClassifier(embedding, tuple(hidden), out_features)


def mlp(in_features: int = 784, hidden=(512, 512), out_features: int = 10, activation: str = "relu") -> MLP:
    """The PyTorch tutorial's MLP: ``mlp(784, [512, 512], 10)``."""
    return MLP(in_features, tuple(hidden), out_features, activation)


SPECS: dict[str, type[ModelSpec]] = {"mlp": MLP, "text_classifier": TextClassifier}


def spec_from_dict(data: dict[str, Any]) -> ModelSpec:
    """Rebuild a spec from :meth:`ModelSpec.to_dict` output."""
    data = dict(data)
    kind = data.pop("kind", None)
    if kind not in SPECS:
        raise ConfigError(f"unknown model kind {kind!r}; known kinds: {', '.join(SPECS)}")
    if kind == "text_classifier" and isinstance(data.get("embedding"), dict):
        from .embeddings import TextEmbedding

        data["embedding"] = TextEmbedding.from_config(data["embedding"])
    try:
        return SPECS[kind](**data)
    except TypeError as err:
        raise ConfigError(f"invalid {kind} spec {data}: {err}") from None


def check_weights(expected: dict[str, tuple[int, ...]], given: dict[str, Any]) -> None:
    """Raise CheckpointError listing every missing, unexpected or misshapen tensor."""
    from .errors import CheckpointError

    problems = [f"missing {k}" for k in expected if k not in given]
    problems += [f"unexpected {k}" for k in given if k not in expected]
    problems += [
        f"{k}: model has {tuple(shape)}, weights have {tuple(np.shape(given[k]))}"
        for k, shape in expected.items()
        if k in given and tuple(np.shape(given[k])) != tuple(shape)
    ]
    if problems:
        raise CheckpointError("weights do not fit the model: " + "; ".join(problems))
