"""The base of framework-neutral model specs, and the check every backend's ``set_weights`` makes.

A spec is a small immutable dataclass; each backend builds it natively (a ``"model"`` kernel
per spec kind and backend) with the same parameter names, shapes and layouts (a dense layer's
``weight`` is (out, in), as in torch), so weights move between backends unchanged. A spec
holds no weights: the :class:`dlcore.Model` a trainer builds from it does.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import numpy as np

from .errors import CheckpointError


@dataclass(frozen=True)
class ModelSpec:
    """Base of framework-neutral, immutable model descriptions. A subclass sets ``kind`` and
    defines its parameters' canonical names and shapes, and their initial values.

    >>> from dlcore import models
    >>> spec = models.mlp(4, [8], 2)  # an MLP, one of dlcore's specs
    >>> spec.parameter_shapes()
    {'layers.0.weight': (8, 4), 'layers.0.bias': (8,), 'layers.1.weight': (2, 8), 'layers.1.bias': (2,)}
    >>> spec.to_dict()
    {'kind': 'mlp', 'in_features': 4, 'hidden': (8,), 'out_features': 2, 'activation': 'relu'}
    """

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

    def untrained(self) -> set[str]:
        """Names of the parameters no optimizer updates (a frozen embedding, running
        statistics, a dropout's seed)."""
        return set()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description: ``kind`` plus the spec's fields."""
        return {"kind": self.kind, **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelSpec:
        """The spec :meth:`to_dict` described (without its ``kind``)."""
        return cls(**data)


def check_weights(expected: dict[str, tuple[int, ...]], given: dict[str, Any]) -> None:
    """Raise CheckpointError listing every missing, unexpected or misshapen tensor.

    >>> import numpy as np
    >>> from dlcore.contract import check_weights
    >>> check_weights({"w": (2, 3)}, {"w": np.zeros((3, 2))})
    Traceback (most recent call last):
        ...
    dlcore.contract.errors.CheckpointError: weights do not fit the model: w: model has (2, 3), weights have (3, 2)
    """
    problems = [f"missing {k}" for k in expected if k not in given]
    problems += [f"unexpected {k}" for k in given if k not in expected]
    problems += [
        f"{k}: model has {tuple(shape)}, weights have {tuple(np.shape(given[k]))}"
        for k, shape in expected.items()
        if k in given and tuple(np.shape(given[k])) != tuple(shape)
    ]
    if problems:
        raise CheckpointError("weights do not fit the model: " + "; ".join(problems))


__all__ = ["ModelSpec", "check_weights"]
