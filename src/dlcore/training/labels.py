"""The check of a dataset's labels against the loss and the model, before any training: a
:class:`~dlcore.contract.errors.DataError` that says what is wrong and how to fix it."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..contract.errors import DataError
from ..contract.records import Loss


def check_labels(loss: Loss, labels: np.ndarray, outputs: int | None, name: str,
                 regression_losses: Sequence[str] = (), classification_losses: Sequence[str] = ()) -> None:
    """Refuse ``labels`` that ``loss`` cannot train a model of ``outputs`` outputs on (None: not
    known): class indices, one-hot rows or 0/1 for a classification loss, finite targets of shape
    (N,) or (N, outputs) for a regression one. ``name`` names the data in the message;
    ``regression_losses`` and ``classification_losses``, the registered losses of each kind, are
    suggested where the labels fit the other kind."""
    if not np.issubdtype(labels.dtype, np.number) or labels.dtype == np.bool_:
        raise DataError(f"{name}: labels must be numbers, got dtype {labels.dtype}")
    if len(labels) == 0:
        raise DataError(f"{name} is empty; it needs at least one sample")
    if loss.regression:
        _check_targets(labels, outputs, name, classification_losses)
    else:
        _check_classes(loss, labels, outputs, name, regression_losses)


def _choices(names: Sequence[str]) -> str:
    """``loss='a' (or 'b', 'c')``."""
    first, *others = names
    return f"loss={first!r}" + (f" (or {', '.join(map(repr, others))})" if others else "")


def _check_targets(labels: np.ndarray, outputs: int | None, name: str, classification_losses: Sequence[str]) -> None:
    """Targets of a regression loss: one column per output, finite."""
    classes = ""
    if classification_losses and np.issubdtype(labels.dtype, np.integer):
        classes = f"; for class labels pass {_choices(classification_losses)}"
    if labels.ndim not in (1, 2):
        raise DataError(f"{name}: regression targets must have shape (N,) or (N, outputs), got {labels.shape}")
    columns = 1 if labels.ndim == 1 else labels.shape[1]
    if outputs is not None and columns != outputs:
        if labels.ndim == 1:
            raise DataError(f"{name}: targets of shape {labels.shape} (one value per sample) need a model with 1 "
                            f"output, but it has {outputs}; build it with 1 output, or pass targets of shape "
                            f"(N, {outputs}){classes}")
        raise DataError(f"{name}: targets of shape {labels.shape} need a model with {columns} outputs, but it has "
                        f"{outputs}; build it with {columns} outputs{classes}")
    if np.issubdtype(labels.dtype, np.floating) and not np.isfinite(labels).all():
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(labels))[0])
        raise DataError(f"{name}: targets contain NaN or infinite values (first at index {bad}); "
                        "drop or impute those samples before training")


def _check_classes(loss: Loss, labels: np.ndarray, outputs: int | None, name: str,
                   regression_losses: Sequence[str]) -> None:
    """Labels of a classification loss: 0/1 (binary), class indices, or one-hot rows."""
    fix = f"pass {_choices(regression_losses)}" if regression_losses else \
        "Trainer(loss=NAME) with a loss registered as Loss(..., regression=True)"
    regression = f"the loss {loss.name!r} expects class labels; for regression use a regression loss: {fix}"
    if loss.binary:
        bad = ~np.isin(labels, (0, 1))
        if bad.any():
            i = int(np.argmax(bad.reshape(len(labels), -1).any(1)))
            raise DataError(f"{name}: binary labels must be 0 or 1, got {labels[i]} at index {i}; {regression}")
    elif labels.ndim == 1:
        if not np.issubdtype(labels.dtype, np.integer):
            whole = bool(np.isfinite(labels).all() and (labels == np.round(labels)).all())
            cast = "; class indices stored as floats: labels.astype(int)" if whole else ""
            raise DataError(f"{name}: class labels must be integers, got dtype {labels.dtype} (first {labels[0]}); "
                            f"{regression}{cast}")
        bad = (labels < 0) | (labels >= outputs) if outputs is not None else labels < 0
        if bad.any():
            i = int(np.argmax(bad))
            raise DataError(f"{name}: label {labels[i]} at index {i} is out of range; "
                            + _class_range(int(labels[i]), labels, outputs))
    elif labels.ndim == 2:
        rows = labels.astype(np.float64, copy=False)
        bad = ((rows < 0) | (rows > 1)).any(1) | (np.abs(rows.sum(1) - 1) > 1e-3)
        if bad.any():
            i = int(np.argmax(bad))
            raise DataError(f"{name}: row {i} of the labels, {labels[i]}, is not one-hot or class probabilities "
                            f"(values in [0, 1] summing to 1); {regression}")
        if outputs is not None and labels.shape[1] != outputs:
            raise DataError(f"{name}: one-hot labels have {labels.shape[1]} columns but the model has {outputs} "
                            "outputs")
    else:
        raise DataError(f"{name}: labels must have shape (N,) or (N, classes), got {labels.shape}")


def _class_range(label: int, labels: np.ndarray, outputs: int | None) -> str:
    """What the class labels of a model with ``outputs`` outputs must be, given an out-of-range ``label``."""
    if outputs is not None and outputs > 1:
        return f"the model has {outputs} classes, so labels must be 0..{outputs - 1}"
    if label < 0 or outputs is None:
        return "class labels must be 0 or more"
    if np.isin(labels, (0, 1)).all():
        return "for 0/1 labels and a model with 1 output pass loss='binary_cross_entropy' (or build it with 2 outputs)"
    classes = int(labels.max()) + 1
    return f"a model with 1 output has one class; build it with {classes} outputs for labels 0..{classes - 1}"


__all__ = ["check_labels"]
