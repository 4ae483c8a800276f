"""Keras 3 .keras files of dlcore spec models: written atomically, read in safe mode."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dlcore.errors import CheckpointError
from dlcore.files import atomic_path
from dlcore.models import MLP, ModelSpec

from .model import KerasMLP, KerasModel, build_keras, canonical_entries, keras


def write_keras(path: Path, weights: dict[str, np.ndarray], spec: ModelSpec) -> Path:
    native, entries = build_keras(spec)
    KerasModel(native, entries, spec).set_weights(weights)
    with atomic_path(path, suffix=".keras") as tmp:  # Keras writes only to names ending .keras
        native.save(tmp)
    return path


def read_keras(path: Path, spec: ModelSpec | None) -> tuple[dict[str, np.ndarray], ModelSpec | None]:
    try:
        native = keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as err:  # Keras raises many types for damaged or unsafe files
        raise CheckpointError(f"{path}: not a .keras file that loads safely ({str(err).splitlines()[0]})") from None
    if isinstance(native, KerasMLP) and spec is None:
        sizes = native.sizes
        spec = MLP(sizes[0], tuple(sizes[1:-1]), sizes[-1], native.activation)
    entries = canonical_entries(native)
    if entries is None:
        raise CheckpointError(f"{path}: holds a {type(native).__name__}, not a model dlcore wrote; "
                              "use it natively as a keras.Model")
    return KerasModel(native, entries, spec).get_weights(), spec
