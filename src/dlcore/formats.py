"""Weight files by suffix, each format registered through the ``dlcore_weight_formats`` hook.

The core's own is ``.npz``, a dlcore checkpoint (:mod:`dlcore.checkpoint`); the backends add
their frameworks' formats (torch: ``.pt``/``.pth`` state_dicts read with
``weights_only=True``; TensorFlow: Keras ``.keras`` files read in safe mode). dlcore's
canonical parameter names and layouts are torch's, so a state_dict exported from either
backend loads into the PyTorch tutorial's own module.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .checkpoint import TrainingCheckpoint
from .errors import CheckpointError
from .models import ModelSpec


@dataclass(frozen=True)
class WeightFormat:
    """A file format for weights. ``read(path, spec)`` returns ``(canonical weights, the spec
    the file describes or None)``; ``write(path, weights, spec)`` writes atomically and
    returns the path. Both may be ``"module:attribute"`` strings, imported on first use, and
    need the modules in ``requires`` (installed by ``install_hint``)."""

    name: str
    suffixes: tuple[str, ...]
    read: Callable[..., Any] | str
    write: Callable[..., Any] | str
    requires: tuple[str, ...] = ()
    install_hint: str = ""
    description: str = ""


def _read_npz(path: Path, spec: ModelSpec | None) -> tuple[dict[str, np.ndarray], ModelSpec | None]:
    checkpoint = TrainingCheckpoint.load(path)
    return checkpoint.weights, checkpoint.spec


def _write_npz(path: Path, weights: dict[str, np.ndarray], spec: ModelSpec | None) -> Path:
    return TrainingCheckpoint(weights, spec).save(path)


FORMATS = (WeightFormat("dlcore", (".npz",), _read_npz, _write_npz,
                        description="dlcore checkpoint: arrays with SHA-256 and JSON metadata, no pickle"),)


def weight_format(path: Path) -> WeightFormat:
    """The registered format of ``path``'s suffix, its modules installed."""
    from .plugins import registry

    formats: list[WeightFormat] = list(registry("dlcore_weight_formats"))
    for fmt in formats:
        if path.suffix.lower() in fmt.suffixes:
            missing = [m for m in fmt.requires if importlib.util.find_spec(m) is None]
            if missing:
                raise CheckpointError(f"{path.name}: {fmt.description or fmt.name} files need "
                                      f"{', '.join(missing)}: {fmt.install_hint or 'install it'}")
            return fmt
    known = ", ".join(s for fmt in formats for s in fmt.suffixes)
    raise CheckpointError(f"{path}: unknown format; use one of {known}")


def read_weights(path: Any, spec: ModelSpec | None = None) -> tuple[dict[str, np.ndarray], ModelSpec | None]:
    """Canonical weights and (when the file holds one) the model spec stored at ``path``."""
    from .plugins import resolve

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such file")
    found: tuple[dict[str, np.ndarray], ModelSpec | None] = resolve(weight_format(path).read)(path, spec)
    return found


def write_weights(path: Any, weights: dict[str, np.ndarray], spec: ModelSpec | None) -> Path:
    """Write canonical weights at ``path`` in the format its suffix names, atomically."""
    from .plugins import resolve

    path = Path(path)
    written: Path = resolve(weight_format(path).write)(path, weights, spec)
    return written
