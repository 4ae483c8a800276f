"""How ``fit``, ``evaluate``, ``predict`` and ``lr_find`` read their data as Keras does:
``(model, x, y)`` with features and labels apart (arrays, lists, a DataFrame and a pandas
Series; a graph's several inputs as a dict by input name or a tuple of arrays),
``validation_data`` and ``validation_split``."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from ..contract.errors import ConfigError, DataError
from ..data.arrays import ArrayDataset, Dataset
from ..data.frames import is_dataframe


def check_handle_unknown(handle_unknown: Any) -> None:
    """Refuse a ``handle_unknown`` that is not "error", "ignore" or None (keep the model's)."""
    if handle_unknown not in (None, "error", "ignore"):
        raise ConfigError(f"handle_unknown must be 'error' (refuse categories training did not see) or 'ignore' "
                          f"(encode them as zeros), got {handle_unknown!r}")


def features_and_labels(x: Any, y: Any, call: str) -> Any:
    """``x`` and ``y`` of ``call(model, x, y)`` as one dataset; they must hold as many samples.
    Features of a graph's several inputs (a dict by input name, a tuple of arrays) stay apart:
    ``(x, labels)``, which the model's graph reads (:func:`.inputs.inputs_dataset`)."""
    if several_inputs(x):
        return x, y.to_numpy() if _is_series(y) else np.asarray(y)
    if isinstance(x, (Dataset, tuple)) or is_dataframe(x):
        raise ConfigError(f"{call}(model, x, y) takes features and labels as two arrays; a "
                          f"{type(x).__name__} holds its labels already: pass it alone")
    if len(x) != len(y):
        raise DataError(f"{call}(model, x, y): x holds {len(x)} samples and y {len(y)} labels; give one label "
                        "per sample")
    labels = y.to_numpy() if _is_series(y) else np.asarray(y)
    return ArrayDataset(x if isinstance(x, np.ndarray) else np.asarray(x), labels, name="train"
                        if call != "evaluate" else "evaluation data")


def fit_data(train: Any, validation: Any, validation_data: Any, validation_split: Any, target: Any,
              call: str = "fit") -> tuple[Any, Any, Any]:
    """fit's training and validation data and target: ``fit(model, x, y)`` as Keras takes it (x an
    array, a list or a DataFrame, y an array, a list or a pandas Series of the same length; with a
    DataFrame, y joins it as the label column), ``validation_data`` and ``validation_split``."""
    if (_array_like(train, frames=True) or several_inputs(train)) and _array_like(validation, series=True):
        if is_dataframe(train):
            train, target = _joined(train, validation, target, call), _label_name(validation)
        else:
            train = features_and_labels(train, validation, call)
        validation = None
    if validation_split is not None:
        if isinstance(validation_split, bool) or not isinstance(validation_split, (int, float)):
            raise ConfigError(f"validation_split is the fraction of the training samples to hold out "
                              f"(0.1: the last tenth), got {validation_split!r}")
        if validation is not None or validation_data is not None:
            raise ConfigError("give validation data or validation_split (a fraction to hold out), not both")
        validation = float(validation_split) or None  # 0: no validation, as in Keras
    if validation_data is not None:
        if validation is not None:
            raise ConfigError("validation data given twice: pass validation_data= (or the third argument of "
                              "fit(model, train, validation)) once")
        validation = validation_data
    return train, validation, target


def several_inputs(data: Any) -> bool:
    """Whether ``data`` is the features of a graph's inputs: a dict by input name, or a tuple of
    arrays (numpy arrays, pandas columns) in input order."""
    return isinstance(data, Mapping) or (isinstance(data, tuple) and bool(data) and all(
        isinstance(part, np.ndarray) or (hasattr(part, "to_numpy") and hasattr(part, "dtype")) for part in data))


def _array_like(data: Any, frames: bool = False, series: bool = False) -> bool:
    """Whether ``data`` is an array or a list (or a DataFrame with ``frames``, a pandas Series
    with ``series``): features or labels, not a dataset, a tuple or a fraction."""
    return isinstance(data, (np.ndarray, list)) or (frames and is_dataframe(data)) or (series and _is_series(data))


def _is_series(data: Any) -> bool:
    """Whether ``data`` looks like a pandas Series (a column: values, no columns)."""
    return hasattr(data, "to_numpy") and hasattr(data, "dtype") and not hasattr(data, "columns")


def _label_name(y: Any) -> str:
    """The column that the labels ``y`` become in ``frame``: a Series' name, else "label"."""
    name = getattr(y, "name", None)
    return "label" if name is None else str(name)


def _joined(frame: Any, y: Any, target: Any, call: str) -> Any:
    """The DataFrame ``frame`` with the labels ``y`` as one more column, by position."""
    name = _label_name(y)
    labels = y.to_numpy() if _is_series(y) else np.asarray(y)
    if target is not None:
        raise ConfigError(f"{call}(model, table, y, target=...): the labels are given twice; pass y, or the table "
                          "with its label column and target=")
    if labels.ndim != 1:
        raise ConfigError(f"{call}(model, table, y): y of shape {labels.shape} is not one label per row; put the "
                          f"label columns in the table and pass target=[...]")
    if len(labels) != len(frame):
        raise DataError(f"{call}(model, x, y): x holds {len(frame)} samples and y {len(labels)} labels; give one "
                        "label per sample")
    if name in [str(c) for c in frame.columns]:
        raise ConfigError(f"{call}(model, table, y): the table has a column {name!r} already; name y otherwise "
                          f"(y.rename('...')), or pass the table alone with target={name!r}")
    return frame.assign(**{name: labels})
