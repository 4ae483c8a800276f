"""Checkpoints as data: numpy arrays plus JSON metadata in one .npz file, never pickle.

One file holds the model spec, its weights, the optimizer's state and the training progress,
each array with its SHA-256.

A save writes a temporary file, fsyncs it and renames it over the target, so a crash leaves
either the old checkpoint or the new one. A load verifies each tensor's SHA-256.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
import zlib
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

import numpy as np

from ..contract.errors import CheckpointError, DlcoreError
from ..contract.specs import ModelSpec
from ..plugins.manager import registry
from ..version import __version__
from .files import atomic_path

FORMAT = "dlcore.checkpoint/1"
_META_KEY = "__dlcore_metadata__"


class Checkpoint(ABC):
    """Something that can be written to a path and read back from it.

    Example::

        checkpoint = TrainingCheckpoint.load("model.npz")  # a Checkpoint, each tensor verified
        checkpoint.save("copy.npz")                        # written atomically
    """

    @abstractmethod
    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write atomically to ``path``; return the path written."""

    @classmethod
    @abstractmethod
    def load(cls, path: str | os.PathLike[str]) -> Checkpoint:
        """Read and verify a checkpoint, raising CheckpointError naming the file if damaged."""


def _digest(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


class TrainingCheckpoint(Checkpoint):
    """Everything needed to continue training, as plain arrays and JSON.

    ``weights``: the model's parameters under their canonical names (portable across
    backends). ``optimizer``: the optimizer's arrays, in the saving backend's layout.
    ``state``: JSON progress (epoch, step, history, the shuffling RNG, backend and versions,
    the optimizer's settings). ``metadata``: free-form JSON of the user's.

    Example::

        trainer.save(model, "model.npz", metadata={"note": "baseline"})
        checkpoint = TrainingCheckpoint.load("model.npz")
        checkpoint.spec, checkpoint.state["epoch"], checkpoint.metadata["note"]
        weights = checkpoint.weights  # {"layers.0.weight": array, ...}: loads on any backend
    """

    def __init__(self, weights: dict[str, np.ndarray], spec: ModelSpec | None = None,
                 metadata: dict[str, Any] | None = None, optimizer: dict[str, np.ndarray] | None = None,
                 state: dict[str, Any] | None = None) -> None:
        self.weights = {k: np.asarray(v) for k, v in weights.items()}
        self.spec = spec
        self.metadata = dict(metadata or {})
        self.optimizer = {k: np.asarray(v) for k, v in (optimizer or {}).items()}
        self.state = dict(state or {})

    def _arrays(self) -> dict[str, np.ndarray]:
        return {**{f"weights/{k}": v for k, v in self.weights.items()},
                **{f"optimizer/{k}": v for k, v in self.optimizer.items()}}

    def save(self, path: str | os.PathLike[str]) -> Path:
        path = Path(path)
        arrays = self._arrays()
        meta = {
            "format": FORMAT,
            "dlcore_version": __version__,
            "spec": self.spec.to_dict() if self.spec else None,
            "tensors": {k: {"shape": list(v.shape), "dtype": str(v.dtype), "sha256": _digest(v)}
                        for k, v in arrays.items()},
            "state": self.state,
            "metadata": self.metadata,
        }
        blob = np.frombuffer(json.dumps(meta).encode(), np.uint8)
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            members: dict[str, Any] = {_META_KEY: blob, **arrays}
            np.savez(f, **members)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> TrainingCheckpoint:
        path = Path(path)
        if not path.is_file():
            raise CheckpointError(f"{path}: no such checkpoint file")
        try:
            with np.load(path, allow_pickle=False) as npz:
                arrays = {k: npz[k] for k in npz.files}
        except ValueError as err:
            if "allow_pickle" in str(err):
                raise CheckpointError(f"{path}: holds pickled objects, which dlcore never loads (they could run "
                                      "code); only a checkpoint of plain arrays can be read") from None
            raise CheckpointError(f"{path}: not a readable dlcore checkpoint ({err})") from None
        except (zipfile.BadZipFile, OSError, EOFError, KeyError, RuntimeError, zlib.error) as err:
            raise CheckpointError(f"{path}: not a readable dlcore checkpoint ({err})") from None
        try:
            meta = json.loads(arrays.pop(_META_KEY).tobytes())
            if meta.get("format") != FORMAT:
                raise ValueError(f"unsupported format {meta.get('format')!r}")
            tensors = meta["tensors"]
            spec = registry().spec_from_dict(meta["spec"]) if meta.get("spec") else None
        except (KeyError, ValueError, TypeError, AttributeError, DlcoreError) as err:
            raise CheckpointError(f"{path}: missing or invalid dlcore metadata ({err})") from None
        if set(tensors) != set(arrays):
            raise CheckpointError(f"{path}: tensors {sorted(set(tensors) ^ set(arrays))} are missing or unexpected")
        for name, info in tensors.items():
            array = arrays[name]
            if [list(array.shape), str(array.dtype)] != [info.get("shape"), info.get("dtype")]:
                raise CheckpointError(f"{path}: tensor {name!r} is {array.dtype} {list(array.shape)}, its metadata says "
                                      f"{info.get('dtype')} {info.get('shape')}; the file is damaged")
            if _digest(array) != info.get("sha256"):
                raise CheckpointError(f"{path}: tensor {name!r} fails its checksum; the file is damaged")
        sections: dict[str, dict[str, np.ndarray]] = {"weights": {}, "optimizer": {}}
        for name, array in arrays.items():
            section, _, key = name.partition("/")
            if section not in sections or not key:
                raise CheckpointError(f"{path}: unexpected tensor {name!r}")
            sections[section][key] = array
        return cls(sections["weights"], spec, meta.get("metadata"), sections["optimizer"], meta.get("state"))


def is_checkpoint(path: Path) -> bool:
    """Whether ``path`` holds a dlcore checkpoint, whatever its name (by its members, unread)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return f"{_META_KEY}.npy" in archive.namelist()
    except (zipfile.BadZipFile, OSError):
        return False


__all__ = ["FORMAT", "Checkpoint", "TrainingCheckpoint", "is_checkpoint"]
