"""Weight files by suffix, each format registered through the ``dlcore_weight_formats`` hook.

The core's own is ``.npz``, a dlcore checkpoint (:mod:`dlcore.io.checkpoint`); the backends add
their frameworks' formats (torch: ``.pt``/``.pth`` state_dicts read with
``weights_only=True``; TensorFlow: Keras ``.keras`` files read in safe mode). dlcore's
canonical parameter names and layouts are torch's, so a state_dict exported from either
backend loads into the PyTorch tutorial's own module.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np

from ..contract.errors import CheckpointError
from ..contract.records import WeightFormat
from ..contract.specs import ModelSpec
from ..plugins.manager import registry
from .checkpoint import TrainingCheckpoint, is_checkpoint


def read_npz(path: Path, spec: ModelSpec | None) -> tuple[dict[str, np.ndarray], ModelSpec | None]:
    """The weights and spec of a dlcore checkpoint."""
    checkpoint = TrainingCheckpoint.load(path)
    return checkpoint.weights, checkpoint.spec


def write_npz(path: Path, weights: dict[str, np.ndarray], spec: ModelSpec | None) -> Path:
    """A dlcore checkpoint of the weights alone."""
    return TrainingCheckpoint(weights, spec).save(path)


def weight_format(path: Path) -> WeightFormat:
    """The registered format of ``path``'s suffix, its modules installed; a dlcore checkpoint
    saved under any other name is known by its contents."""
    formats: list[WeightFormat] = list(registry().weight_formats)
    suffix = path.suffix.lower()
    if not any(suffix in fmt.suffixes for fmt in formats) and path.is_file() and is_checkpoint(path):
        suffix = ".npz"
    for fmt in formats:
        if suffix in fmt.suffixes:
            missing = [m for m in fmt.requires if importlib.util.find_spec(m) is None]
            if missing:
                raise CheckpointError(f"{path.name}: {fmt.description or fmt.name} files need "
                                      f"{', '.join(missing)}: {fmt.install_hint or 'install it'}")
            return fmt
    known = ", ".join(s for fmt in formats for s in fmt.suffixes)
    raise CheckpointError(f"{path}: unknown format; use one of {known}")


def other_format(path: Path) -> WeightFormat | None:
    """The registered format that ``path``'s suffix names where that is not a dlcore checkpoint's
    (``m.pt``: torch files): a checkpoint saved under that name would be read as that format."""
    suffix = path.suffix.lower()
    return next((fmt for fmt in registry().weight_formats if suffix in fmt.suffixes and ".npz" not in fmt.suffixes),
                None)


def read_weights(path: Any, spec: ModelSpec | None = None) -> tuple[dict[str, np.ndarray], ModelSpec | None]:
    """Canonical weights and (when the file holds one) the model spec stored at ``path``."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such file")
    found: tuple[dict[str, np.ndarray], ModelSpec | None] = registry().weight_formats.load(weight_format(path), "read")(
        path, spec)
    return found


def write_weights(path: Any, weights: dict[str, np.ndarray], spec: ModelSpec | None) -> Path:
    """Write canonical weights at ``path`` in the format its suffix names, atomically."""
    path = Path(path)
    written: Path = registry().weight_formats.load(weight_format(path), "write")(path, weights, spec)
    return written


__all__ = ["WeightFormat", "other_format", "read_npz", "read_weights", "weight_format", "write_npz", "write_weights"]
