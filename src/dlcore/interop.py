"""Weights in the frameworks' own formats, by file suffix.

``.npz``: a dlcore checkpoint. ``.pt`` / ``.pth``: a torch state_dict (written with
torch.save, read with ``weights_only=True``, so no pickled code runs). ``.keras``: a Keras 3
file (read in safe mode). dlcore's canonical parameter names and layouts are torch's, so a
state_dict exported from either backend loads into the PyTorch tutorial's own module.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np

from .checkpoint import TrainingCheckpoint
from .errors import CheckpointError
from .models import ModelSpec

TORCH_SUFFIXES = (".pt", ".pth")


def _need(module: str, extra: str, what: str) -> None:
    if importlib.util.find_spec(module) is None:
        raise CheckpointError(f"{what} needs {module}: pip install 'dlcore[{extra}]'")


def read_weights(path: Any, spec: ModelSpec | None = None) -> tuple[dict[str, np.ndarray], ModelSpec | None]:
    """Canonical weights and (when the file holds one) the model spec stored at ``path``."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such file")
    if path.suffix in TORCH_SUFFIXES:
        _need("torch", "torch", f"reading {path.name}")
        from dlcore_torch.interop import read_state_dict

        return read_state_dict(path), None
    if path.suffix == ".keras":
        _need("tensorflow", "tf", f"reading {path.name}")
        from dlcore_tf.interop import read_keras

        return read_keras(path, spec)
    checkpoint = TrainingCheckpoint.load(path)
    return checkpoint.weights, checkpoint.spec


def write_weights(path: Any, weights: dict[str, np.ndarray], spec: ModelSpec | None) -> Path:
    """Write canonical weights at ``path`` in the format its suffix names, atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix in TORCH_SUFFIXES:
        _need("torch", "torch", f"writing {path.name}")
        from dlcore_torch.interop import write_state_dict

        return write_state_dict(path, weights)
    if path.suffix == ".keras":
        _need("tensorflow", "tf", f"writing {path.name}")
        if spec is None:
            raise CheckpointError("a .keras file is written from a dlcore spec model; this model has no spec")
        from dlcore_tf.interop import write_keras

        return write_keras(path, weights, spec)
    if path.suffix == ".npz":
        return TrainingCheckpoint(weights, spec).save(path)
    raise CheckpointError(f"{path}: unknown format; use .npz, .pt, .pth or .keras")
