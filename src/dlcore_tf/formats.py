"""Keras 3 .keras files of dlcore spec models: written atomically, read in safe mode."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dlcore.errors import CheckpointError
from dlcore.io.files import atomic_path
from dlcore.models import MLP, ModelSpec, check_weights

from .models import KerasMLP, build_mlp, build_text_classifier, keras


def write_keras(path: Path, weights: dict[str, np.ndarray], spec: ModelSpec | None) -> Path:
    if spec is None:
        raise CheckpointError("a .keras file is written from a dlcore spec model; this model has no spec")
    native = build_mlp(spec) if isinstance(spec, MLP) else build_text_classifier(spec)
    entries = native.dlcore_weights()
    check_weights({n: tuple(v.shape)[::-1] if t else tuple(v.shape) for n, v, t in entries}, weights)
    for name, variable, transpose in entries:
        variable.assign(weights[name].T if transpose else weights[name])
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
    if not hasattr(native, "dlcore_weights"):
        raise CheckpointError(f"{path}: holds a {type(native).__name__}, not a model dlcore wrote; "
                              "use it natively as a keras.Model")
    return {n: (v.numpy().T if t else v.numpy()).copy() for n, v, t in native.dlcore_weights()}, spec
