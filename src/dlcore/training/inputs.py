"""What a fit reads, checked before the first step: features against the spec (numbers, finite,
the shape it takes, images moved to channels first), the features of a graph's several inputs
(a dict by input name or a tuple, read as one packed array: :class:`InputsDataset`), sample and
class weights, and the gist of an error the user's own model raised on them. Label checks are
in :mod:`.labels`."""

from __future__ import annotations

import math
import numbers
import re
from typing import Any, Mapping, Sequence

import numpy as np

from ..contract.errors import ConfigError, DataError
from ..contract.specs import ModelSpec
from ..data.arrays import Dataset, file_backed


def check_features(spec: ModelSpec | None, features: np.ndarray, name: str, channels: str | None) -> np.ndarray:
    """``features`` checked for ``spec`` (None: the user's own model) and as the spec takes
    them: images whose channels come last (``channels="last"``, or by their shape) moved first."""
    if not np.issubdtype(features.dtype, np.number):
        raise DataError(f"{name}: features must be numeric, got dtype {features.dtype}")
    if np.issubdtype(features.dtype, np.floating) and not np.isfinite(features).all():
        bad = np.argwhere(~np.isfinite(features))[0]
        raise DataError(f"{name}: features contain NaN or infinite values (first at index "
                        f"{tuple(int(i) for i in bad)}); clean or impute them before training")
    if getattr(spec, "input_dtype", "float32") == "int64":
        if not np.issubdtype(features.dtype, np.integer):
            raise DataError(f"{name}: the model's first layer is an embedding, which takes integer ids, "
                            f"but the features are {features.dtype}; pass token ids as integers")
        graph = getattr(spec, "graph", None)
        rows = graph.ids_below(graph.input_names[0]) if graph is not None else 2 ** 62
        bad = (features < 0) | (features >= rows)
        if bad.any():
            at = tuple(int(i) for i in np.argwhere(bad)[0])
            raise DataError(f"{name}: id {features[at]} at index {at} is outside the embedding's 0..{rows - 1}; "
                            f"build it with more rows or map unknown ids to a row of their own")
    shape = tuple(getattr(spec, "input_shape", ()))
    if len(shape) == 3 and features.shape[1:] != shape and features.shape[1:] == (*shape[1:], shape[0]):
        features = np.ascontiguousarray(np.moveaxis(features, -1, 1))  # channels last -> first, once
    elif len(shape) == 3 and channels == "last" and shape[0] > 1 and features.shape[1:] != shape:
        raise DataError(f"{name}: images of shape {features.shape[1:]} (channels last) do not fit the model's "
                        f"input {shape} (channels, height, width)")
    expected = getattr(spec, "in_features", None)
    inputs = getattr(getattr(spec, "graph", None), "inputs", ())
    if len(inputs) > 1 and int(np.prod(features.shape[1:])) != expected:
        takes = ", ".join(f"{each.name} {each.shape}" for each in inputs)
        raise DataError(f"{name}: the model takes {len(inputs)} inputs ({takes}); give the features as a dict by "
                        "input name or a tuple in this order: fit(model, {...}, y) or fit(model, ({...}, y))")
    if expected is not None and int(np.prod(features.shape[1:])) != expected:
        takes = f"samples of shape {shape}" if shape else f"{expected} features per sample"
        fix = f"input_shape={features.shape[1:]}" if shape else f"in_features={int(np.prod(features.shape[1:]))}"
        raise DataError(f"{name}: the model expects {takes}, but samples have shape {features.shape[1:]}; "
                        f"reshape the data or build the model with {fix}")
    return features


class InputsDataset(Dataset):
    """Features of a graph's several inputs (arrays in input order, one row per sample) and
    labels, read as one array of features, packed by the graph (:meth:`dlcore.models.Graph.pack`):
    in-memory arrays once, memory maps a chunk of rows at a time while training. So batching,
    shuffling, streaming and sharding keep the inputs aligned."""

    def __init__(self, graph: Any, inputs: Sequence[Any], labels: Any, name: str = "data") -> None:
        self.graph, self.name = graph, name
        self.inputs = [values.to_numpy() if hasattr(values, "to_numpy") else np.asarray(values) for values in inputs]
        self.labels = np.asarray(labels)
        held = {len(values) for values in self.inputs if values.ndim}
        if len(held) > 1 or (held and held != {len(self.labels)}):
            counts = ", ".join(f"{each.name} {len(values)}" for each, values in zip(graph.inputs, self.inputs))
            raise DataError(f"{name}: the inputs ({counts}) and the labels ({len(self.labels)}) hold different "
                            "numbers of samples; give one label per sample and each input's values for every sample")
        self.in_memory = not any(file_backed(values) for values in self.inputs)
        self.reader = "thread"  # numpy copies
        self._packed: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, (int, np.integer)):
            features, labels = self.read(np.array([index]))
            return features[0], labels[0]
        return InputsDataset(self.graph, [values[index] for values in self.inputs], self.labels[index], self.name)

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        if self._packed is None:
            self._packed = self.graph.pack(tuple(self.inputs), self.name)
        return self._packed, self.labels

    def read(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self._packed is not None:
            return self._packed[indices], self.labels[indices]
        return self.graph.pack(tuple(values[indices] for values in self.inputs), self.name), self.labels[indices]

    def probe(self) -> tuple[np.ndarray, np.ndarray]:
        return self.arrays() if self.in_memory else self.read(np.arange(min(len(self), 1)))

    @property
    def nbytes(self) -> int:
        return int(sum(values.nbytes for values in self.inputs) + self.labels.nbytes)

    def __repr__(self) -> str:
        shown = ", ".join(f"{each.name} {values.shape[1:]}" for each, values in zip(self.graph.inputs, self.inputs))
        return f"InputsDataset({self.name}, {len(self)} samples, inputs {shown})"


def inputs_dataset(graph: Any, data: Any, name: str, predict: bool = False) -> InputsDataset | None:
    """``data`` for ``graph`` as an :class:`InputsDataset` where its features are a dict by input
    name or a tuple of arrays in input order: ``(features, labels)``, or for ``predict`` the
    features alone; None for any other data."""
    several = len(graph.inputs) > 1
    if predict and (isinstance(data, Mapping) or (several and isinstance(data, tuple) and len(data) == len(graph.inputs)
                                                  and not isinstance(data[0], (Mapping, tuple)))):
        data = (data, None)
    if isinstance(data, Mapping):
        raise ConfigError(f"{name}: a dict of the inputs' features needs the labels too: fit(model, {{...}}, y) or "
                          "fit(model, ({...}, y))")
    if not (isinstance(data, tuple) and len(data) == 2 and isinstance(data[0], (Mapping, tuple))):
        return None
    features, labels = data
    inputs = graph.in_order(features, name)
    if labels is None:
        first = inputs[0]
        labels = np.zeros(len(first.to_numpy() if hasattr(first, "to_numpy") else np.asarray(first)), np.int64)
    return InputsDataset(graph, inputs, labels.to_numpy() if hasattr(labels, "to_numpy") else labels, name)


def check_frame_inputs(graph: Any, frame: Any, name: str) -> None:
    """A table whose feature columns are a graph's inputs, in order: each input takes as many
    values as its column gives (one-hot columns one per category), else a DataError."""
    if len(graph.inputs) < 2 or list(frame.columns) != list(graph.input_names):
        return
    for each in graph.inputs:
        width = sum(1 for feature in frame.feature_names if feature == each.name or feature.startswith(each.name + "="))
        if width != int(np.prod(each.shape)):
            raise DataError(f"{name}: input {each.name!r} takes {int(np.prod(each.shape))} values per sample and the "
                            f"column {each.name!r} gives {width}; give the Input the shape ({width},)")


def looks_unscaled(features: np.ndarray, spec: ModelSpec | None) -> bool:
    """Whether ``features`` look like image pixels of 0..255 given to a model of float inputs:
    images (or uint8), none below 0, some above 1 (standardized images have negative values)."""
    if getattr(spec, "input_dtype", "float32") != "float32" or features.size == 0:
        return False
    if features.ndim < 3 and features.dtype != np.uint8:
        return False
    return float(features.max()) > 1.0 and float(features.min()) >= 0


def sample_weights(labels: np.ndarray, sample_weight: Any, class_weight: Any, regression: bool) -> np.ndarray:
    """One float32 weight per sample of ``labels``: ``sample_weight`` times its class's weight
    in ``class_weight`` (``{class index: weight}``, other classes 1)."""
    weights = np.ones(len(labels), np.float64)
    if sample_weight is not None:
        try:
            given = np.asarray(sample_weight, np.float64)
        except (TypeError, ValueError):
            raise DataError(f"sample_weight must be numbers, got {type(sample_weight).__name__}") from None
        if given.shape != weights.shape:
            raise DataError(f"sample_weight has shape {given.shape}; it needs one weight per training sample, "
                            f"({len(labels)},)")
        bad = ~np.isfinite(given) | (given < 0)
        if bad.any():
            raise DataError(f"sample_weight must be finite and >= 0; index {int(np.argmax(bad))} holds "
                            f"{given[int(np.argmax(bad))]}")
        weights *= given
    if class_weight is not None:
        if regression or not isinstance(class_weight, dict):
            raise ConfigError("class_weight is a dict {class index: weight} for class labels; weight the "
                              "samples of a regression with sample_weight")
        wrong = [k for k, v in class_weight.items() if not (isinstance(k, (int, np.integer)) and k >= 0)
                 or isinstance(v, bool) or not (isinstance(v, numbers.Real) and math.isfinite(v) and float(v) >= 0)]
        if wrong:
            raise ConfigError(f"class_weight maps class indices (ints >= 0) to weights (numbers >= 0); "
                              f"{wrong[0]!r}: {class_weight[wrong[0]]!r} is not that")
        classes = (labels.argmax(1) if labels.ndim == 2 and labels.shape[1] > 1 else labels.reshape(-1)).astype(np.int64)
        table = np.ones(max(int(classes.max(initial=0)), *map(int, class_weight)) + 1, np.float64)
        for k, v in class_weight.items():
            table[int(k)] = v
        weights *= table[classes]
    return weights.astype(np.float32)


def shape_hint(features: np.ndarray) -> str:
    """What to do when the user's own model refuses samples of ``features``' shape."""
    hint = "give it samples of the shape it takes"
    if features.ndim == 3:
        hint += (" (if it expects images with a channel axis, load them with channels='first' (N, 1, H, W; "
                 "torch) or channels='last' (N, H, W, 1; Keras))")
    return hint


def error_gist(err: BaseException) -> str:
    """The gist of a framework's error: its first line, or, where the message holds a traceback
    (TensorFlow's "in user code:"), the error at its end."""
    lines = [line.strip() for line in re.sub(r"\x1b\[[0-9;]*m", "", str(err)).splitlines() if line.strip()]
    found = [i for i, line in enumerate(lines) if re.match(r"\w+(Error|Exception): ", line)]
    if not found:
        return f"{type(err).__name__}: {lines[0] if lines else ''}"
    i = found[-1]
    if lines[i].endswith("call().") and i + 1 < len(lines):  # Keras: "Exception encountered when calling ..."
        return f"{lines[i].split(':')[0]}: {lines[i + 1]}"
    return lines[i]


__all__ = ["InputsDataset", "check_features", "check_frame_inputs", "error_gist", "inputs_dataset", "looks_unscaled", "sample_weights",
           "shape_hint"]
