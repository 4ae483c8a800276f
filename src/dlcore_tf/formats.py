"""Keras 3 .keras files of dlcore spec models: written atomically, read in safe mode."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dlcore.contract import CheckpointError
from dlcore.io.files import atomic_path
from dlcore.contract import ModelSpec, check_weights
from dlcore.models import MLP, Graph, Sequential, TextClassifier

from .models import (
    KerasGraph, KerasMLP, build_graph, build_mlp, build_text_classifier, canonical, canonical_shape, keras, native,
)


def write_keras(path: Path, weights: dict[str, np.ndarray], spec: ModelSpec | None) -> Path:
    if spec is None:
        raise CheckpointError("a .keras file is written from a dlcore spec model; this model has no spec")
    model = _build(spec)
    entries = model.dlcore_weights()
    check_weights({n: canonical_shape(v.shape, layout) for n, v, layout in entries}, weights)
    for name, variable, layout in entries:
        variable.assign(native(weights[name], layout))
    with atomic_path(path, suffix=".keras") as tmp:  # Keras writes only to names ending .keras
        model.save(tmp)
    return path


def read_keras(path: Path, spec: ModelSpec | None) -> tuple[dict[str, np.ndarray], ModelSpec | None]:
    try:
        model = keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as err:  # Keras raises many types for damaged or unsafe files
        raise CheckpointError(f"{path}: not a .keras file that loads safely ({str(err).splitlines()[0]})") from None
    if isinstance(model, KerasMLP) and spec is None:
        sizes = model.sizes
        spec = MLP(sizes[0], tuple(sizes[1:-1]), sizes[-1], model.activation)
    if isinstance(model, KerasGraph) and spec is None:
        spec = model.spec
    if not hasattr(model, "dlcore_weights"):
        raise CheckpointError(f"{path}: holds a {type(model).__name__}, not a model dlcore wrote; "
                              "use it natively as a keras.Model")
    return {n: canonical(v.numpy(), layout).copy() for n, v, layout in model.dlcore_weights()}, spec


def _build(spec: ModelSpec):
    """The Keras model of a dlcore spec, by dlcore's TensorFlow kernels."""
    if isinstance(spec, (Sequential, Graph)):
        return build_graph(spec)
    if isinstance(spec, TextClassifier):
        return build_text_classifier(spec)
    if isinstance(spec, MLP):
        return build_mlp(spec)
    raise CheckpointError(f"dlcore writes .keras files of its own specs, not of a {spec.kind!r} spec")
