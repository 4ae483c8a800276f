"""What a fit reads, checked before the first step: features against the spec (numbers, finite,
the shape it takes, images moved to channels first), sample and class weights, and the gist of
an error the user's own model raised on them. Label checks are in :mod:`.labels`."""

from __future__ import annotations

import math
import numbers
import re
from typing import Any

import numpy as np

from ..contract.errors import ConfigError, DataError
from ..contract.specs import ModelSpec


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
        rows = spec.layers[0].rows  # type: ignore[union-attr]
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
    if expected is not None and int(np.prod(features.shape[1:])) != expected:
        takes = f"samples of shape {shape}" if shape else f"{expected} features per sample"
        fix = f"input_shape={features.shape[1:]}" if shape else f"in_features={int(np.prod(features.shape[1:]))}"
        raise DataError(f"{name}: the model expects {takes}, but samples have shape {features.shape[1:]}; "
                        f"reshape the data or build the model with {fix}")
    return features


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


__all__ = ["check_features", "error_gist", "looks_unscaled", "sample_weights", "shape_hint"]
