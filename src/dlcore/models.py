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
from typing import Any, ClassVar

import numpy as np

from .errors import ConfigError


class Model(ABC):
    """A native model wrapped by a backend."""

    backend: str
    spec: ModelSpec | None
    native: Any
    loss: str  # "cross_entropy" or "binary_cross_entropy"

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
        shapes: dict[str, tuple[int, ...]] = {}
        for i, (n_in, n_out) in enumerate(zip(self.sizes, self.sizes[1:])):
            shapes[f"layers.{i}.weight"] = (n_out, n_in)
            shapes[f"layers.{i}.bias"] = (n_out,)
        return shapes

    def initial_weights(self, seed: int | None = None) -> dict[str, np.ndarray]:
        """torch.nn.Linear's default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias."""
        rng = np.random.default_rng(seed)
        weights = {}
        for name, shape in self.parameter_shapes().items():
            fan_in = self.sizes[int(name.split(".")[1])]
            bound = 1.0 / math.sqrt(fan_in)
            weights[name] = rng.uniform(-bound, bound, shape).astype(np.float32)
        return weights


def mlp(in_features: int = 784, hidden=(512, 512), out_features: int = 10, activation: str = "relu") -> MLP:
    """The PyTorch tutorial's MLP: ``mlp(784, [512, 512], 10)``."""
    return MLP(in_features, tuple(hidden), out_features, activation)


SPECS: dict[str, type[ModelSpec]] = {"mlp": MLP}


def spec_from_dict(data: dict[str, Any]) -> ModelSpec:
    """Rebuild a spec from :meth:`ModelSpec.to_dict` output."""
    data = dict(data)
    kind = data.pop("kind", None)
    if kind not in SPECS:
        raise ConfigError(f"unknown model kind {kind!r}; known kinds: {', '.join(SPECS)}")
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
