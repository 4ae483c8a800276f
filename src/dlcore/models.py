"""Framework-neutral model specs and the Model interface backends implement.

A spec is a small immutable dataclass; each backend builds it natively (a kernel of kind
"model" per spec kind and backend) with the same parameter names, shapes and layouts (a dense
layer's ``weight`` is (out, in), as in torch), so weights move between backends unchanged.
A spec holds no weights: the :class:`Model` a trainer builds from it does.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Sequence

import numpy as np

from .errors import ConfigError

if TYPE_CHECKING:
    from .contract import Backend
    from .embeddings import TextEmbedding


class Model:
    """A model built on one backend: the object that owns its weights, its optimizer state
    and its training progress.

    ``Trainer.build(spec)`` makes one; any trainer of the same backend can then fit, evaluate,
    predict and save it, and the optimizer state and progress go with it. ``native`` is the
    framework's own model (an ``nn.Module``, a ``keras.Model``, ...). Weights come and go
    under the spec's canonical names through the backend (:mod:`dlcore.contract`).
    """

    def __init__(self, backend: str, native: Any, spec: ModelSpec | None = None, loss: str | None = None) -> None:
        self.backend = backend
        self.native = native
        self.spec = spec
        self.loss = loss or (spec.loss if spec is not None else "cross_entropy")
        self.device: Any = None  # the dlcore.Device the trainer placed it on
        # Training progress, kept by Trainer.fit and written into checkpoints.
        self.epoch = 0
        self.step = 0
        self.history_records: tuple[dict[str, Any], ...] = ()
        # The backend's optimizer (made by the first fit) and what it was made for.
        self.optimizer: Any = None
        self.optimizer_name: str | None = None
        self.optimizer_hyper: dict[str, Any] = {}
        # What the backend compiles for this model, by step configuration.
        self.cache: dict[Any, Any] = {}

    def _backend(self) -> Backend:
        from .backend import get_backend

        return get_backend(self.backend)

    def get_weights(self) -> dict[str, np.ndarray]:
        """Parameters as numpy arrays, under the spec's canonical names and layouts."""
        return self._backend().get_weights(self)

    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        """Load parameters given under the canonical names; shapes must match exactly."""
        self._backend().set_weights(self, weights)

    def num_parameters(self) -> int:
        """Number of scalar parameters."""
        return sum(int(w.size) for w in self.get_weights().values())

    def __repr__(self) -> str:
        described = self.spec if self.spec is not None else type(self.native).__name__
        return f"Model({self.backend}, {described}, {self.num_parameters()} parameters, epoch {self.epoch})"


@dataclass(frozen=True)
class ModelKind:
    """A kind of spec, registered through ``dlcore_model_kinds``: its name (``spec.kind``, as
    stored in checkpoints) and its class."""

    name: str
    spec_class: type[ModelSpec]
    description: str = ""


@dataclass(frozen=True)
class ModelSpec:
    """Base of framework-neutral, immutable model descriptions. A subclass sets ``kind`` and
    defines its parameters' canonical names and shapes, and their initial values."""

    kind: ClassVar[str] = ""

    @property
    def loss(self) -> str:
        """The loss the model trains with by default."""
        return "binary_cross_entropy" if getattr(self, "out_features", None) == 1 else "cross_entropy"

    def parameter_shapes(self) -> dict[str, tuple[int, ...]]:
        """Canonical parameter names and shapes, in layer order."""
        raise NotImplementedError

    def initial_weights(self, seed: int | None = None) -> dict[str, np.ndarray]:
        """Initial parameters drawn in numpy, identical on every backend for a given seed."""
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description: ``kind`` plus the spec's fields."""
        return {"kind": self.kind, **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelSpec:
        """The spec :meth:`to_dict` described (without its ``kind``)."""
        return cls(**data)


@dataclass(frozen=True)
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
    """

    embedding: TextEmbedding = None  # type: ignore[assignment]
    hidden: tuple[int, ...] = (16,)
    out_features: int = 1

    kind: ClassVar[str] = "text_classifier"

    def __post_init__(self) -> None:
        from .embeddings import TextEmbedding

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

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "embedding": self.embedding.config(), "hidden": list(self.hidden),
                "out_features": self.out_features}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TextClassifier:
        from .embeddings import TextEmbedding

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
    """The TF-Hub tutorial's classifier: embedding -> Dense(16, ReLU) -> Dense(1) logit."""
    return TextClassifier(embedding, tuple(hidden), out_features)


def mlp(in_features: int = 784, hidden: Sequence[int] = (512, 512), out_features: int = 10,
        activation: str = "relu") -> MLP:
    """The PyTorch tutorial's MLP: ``mlp(784, [512, 512], 10)``."""
    return MLP(in_features, tuple(hidden), out_features, activation)


KINDS = (ModelKind("mlp", MLP, "Flatten -> Linear + activation ... -> Linear (logits)"),
         ModelKind("text_classifier", TextClassifier, "text embedding (combined per text) -> Dense + ReLU ... -> logits"))


def __getattr__(name: str) -> Any:
    if name == "SPECS":  # the closed table of spec kinds before model kinds were a hook
        from .deprecation import deprecated
        from .plugins import registry

        deprecated("dlcore.models.SPECS", "the dlcore_model_kinds hook (dlcore.plugins.registry('dlcore_model_kinds'))")
        return {kind.name: kind.spec_class for kind in registry("dlcore_model_kinds")}
    raise AttributeError(f"module 'dlcore.models' has no attribute {name!r}")


def spec_from_dict(data: dict[str, Any]) -> ModelSpec:
    """Rebuild a spec from :meth:`ModelSpec.to_dict` output, by its registered kind."""
    from .plugins import registry

    data = dict(data)
    kind = data.pop("kind", None)
    kinds = registry("dlcore_model_kinds")
    found: ModelKind | None = kinds.get(kind)
    if found is None:
        raise ConfigError(f"unknown model kind {kind!r}; known kinds: {', '.join(map(str, kinds.keys()))}")
    try:
        return found.spec_class.from_dict(data)
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
