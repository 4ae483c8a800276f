"""Tables as datasets: a pandas DataFrame's columns as features and targets.

``from_dataframe(df, target="price")`` gives an :class:`ArrayDataset` of float32 features (every
other column, or ``features``) and the target column(s): integer columns as class labels,
float columns as regression targets ((N,) for one column, (N, k) for several). Columns of
strings, categories or booleans among the features are refused naming them, or one-hot encoded
with ``categorical="one_hot"`` (one column per category, named ``column=value``); the categories
found in the training table are kept, so a validation or test table is encoded the same way; a
value they do not hold is an error naming the column, the values and the known categories, or
with ``handle_unknown="ignore"`` (scikit-learn's OneHotEncoder's name) encoded as all zeros with
a warning. pandas is not imported here: any object with ``columns`` and ``to_numpy`` works.
"""

from __future__ import annotations

from typing import Any, Sequence

import warnings

import numpy as np

from ..contract.errors import DataError
from .arrays import ArrayDataset


def is_dataframe(data: Any) -> bool:
    """Whether ``data`` looks like a pandas DataFrame."""
    return hasattr(data, "columns") and hasattr(data, "to_numpy") and hasattr(data, "dtypes")


def _numeric(column: Any) -> bool:
    kind = getattr(column.dtype, "kind", "O")
    return kind in "iuf"


class FrameDataset(ArrayDataset):
    """An :class:`ArrayDataset` made from a table: ``columns``, the table's feature columns;
    ``feature_names``, the features (one-hot columns as ``column=value``); ``categories``, the
    values each categorical column was encoded with; ``target``, the label column(s).

    >>> import pandas as pd
    >>> from dlcore import datasets
    >>> table = pd.DataFrame({"rooms": [3, 4, 2], "city": ["a", "b", "a"], "price": [1.5, 2.0, 1.0]})
    >>> data = datasets.from_dataframe(table, target="price", categorical="one_hot")
    >>> data.columns, data.feature_names, data.categories, data.target
    (('rooms', 'city'), ('rooms', 'city=a', 'city=b'), {'city': ['a', 'b']}, 'price')
    """

    def __init__(self, features: np.ndarray, labels: np.ndarray, columns: Sequence[str], feature_names: Sequence[str],
                 categories: dict[str, list[Any]], target: str | list[str] | None, name: str = "") -> None:
        super().__init__(features, labels, name=name)
        self.columns = tuple(columns)
        self.feature_names = tuple(feature_names)
        self.categories = categories
        self.target = target


def from_dataframe(frame: Any, target: str | Sequence[str] | None, features: Sequence[str] | None = None,
                   categorical: str = "error", categories: dict[str, list[Any]] | None = None,
                   name: str = "table", handle_unknown: str = "error") -> FrameDataset:
    """The table ``frame`` as a dataset; see the module's docstring. ``target`` None gives
    zero labels (for predict). ``categories``: the encoding of another table (training's);
    a value of a column it encodes that it does not list is refused, or with
    ``handle_unknown="ignore"`` encoded as all zeros (one warning per table naming the values).

    >>> import pandas as pd
    >>> from dlcore import datasets
    >>> table = pd.DataFrame({"rooms": [3, 4, 2], "city": ["a", "b", "a"], "price": [1.5, 2.0, 1.0]})
    >>> train = datasets.from_dataframe(table, target="price", categorical="one_hot")
    >>> train.features.tolist(), train.labels.tolist()
    ([[3.0, 1.0, 0.0], [4.0, 0.0, 1.0], [2.0, 1.0, 0.0]], [1.5, 2.0, 1.0])
    >>> test = datasets.from_dataframe(table[2:], "price", categorical="one_hot", categories=train.categories)
    >>> test.features.tolist()
    [[2.0, 1.0, 0.0]]
    >>> datasets.from_dataframe(table.assign(city="c"), "price", categories=train.categories)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    dlcore.contract.errors.DataError: table: column 'city' has 'c', a category not seen in training (it knows 'a', 'b'); ...
    """
    if not is_dataframe(frame):
        raise DataError(f"{name}: expected a pandas DataFrame, got a {type(frame).__name__}")
    if categorical not in ("error", "one_hot"):
        raise DataError(f"categorical must be 'error' or 'one_hot', got {categorical!r}")
    if handle_unknown not in ("error", "ignore"):
        raise DataError(f"handle_unknown must be 'error' or 'ignore', got {handle_unknown!r}")
    columns = [str(c) for c in frame.columns]
    targets = [] if target is None else [target] if isinstance(target, str) else list(target)
    missing = [c for c in [*targets, *(features or [])] if c not in columns]
    if missing:
        raise DataError(f"{name}: no column {', '.join(map(repr, missing))}; the columns are {', '.join(columns)}")
    if target is not None and not targets:
        raise DataError(f"{name}: target names no column")
    chosen = list(features) if features is not None else [c for c in columns if c not in targets]
    if not chosen:
        raise DataError(f"{name}: no feature columns left besides the target {target!r}")
    labels = _targets(frame, targets, name) if targets else np.zeros(len(frame), np.int64)
    blocks, names, found = [], [], dict(categories or {})
    for column in chosen:
        values = frame[column]
        if column in found or not _numeric(values):
            if categorical != "one_hot" and column not in found:
                text = [c for c in chosen if not _numeric(frame[c])]
                raise DataError(f"{name}: columns {', '.join(map(repr, text))} are not numbers (strings, categories "
                                "or booleans); pass categorical='one_hot' to encode them, or leave them out with "
                                "features=[...]")
            known = column in found
            seen = found.setdefault(column, sorted(values.dropna().unique().tolist(), key=str))
            if known:
                _unknown(values, seen, column, name, handle_unknown)
            encoded = np.stack([(values == value).to_numpy(dtype=np.float32) for value in seen], 1)
            blocks.append(encoded)
            names += [f"{column}={value}" for value in seen]
        else:
            block = values.to_numpy(dtype=np.float32, na_value=np.nan).reshape(-1, 1)
            if np.isnan(block).any():
                row = int(np.argmax(np.isnan(block[:, 0])))
                raise DataError(f"{name}: column {column!r} has a missing value (first in row {row}); "
                                "fill or drop missing values first (df.fillna(...) or df.dropna())")
            blocks.append(block)
            names.append(column)
    x = np.ascontiguousarray(np.concatenate(blocks, 1), np.float32)  # a writable copy, never a view of the table
    stored = (targets[0] if len(targets) == 1 else targets) if targets else None
    return FrameDataset(x, labels, chosen, names, found, stored, name)


def _unknown(values: Any, known: list[Any], column: str, name: str, handle_unknown: str) -> None:
    """Refuse (or with ``handle_unknown="ignore"``, warn of) the values of ``column`` that the
    training table's categories ``known`` do not hold."""
    present = values.dropna()
    new = sorted(present[~present.isin(known)].unique().tolist(), key=str)
    if not new:
        return
    shown = ", ".join(map(repr, new[:10])) + (f" and {len(new) - 10} more" if len(new) > 10 else "")
    many = "categories" if len(new) > 1 else "a category"
    said = (f"{name}: column {column!r} has {shown}, {many} not seen in training (it knows "
            f"{', '.join(map(repr, known))})")
    if handle_unknown == "error":
        raise DataError(f"{said}; map or drop those rows, or pass handle_unknown='ignore' (to fit) to encode them "
                        "as all zeros")
    warnings.warn(f"{said}; encoded as all zeros (handle_unknown='ignore')", UserWarning, stacklevel=3)


def _targets(frame: Any, targets: list[str], name: str) -> np.ndarray:
    for column in targets:
        if not _numeric(frame[column]) and frame[column].dtype.kind != "b":
            raise DataError(f"{name}: target column {column!r} is not numbers; map classes to 0..C-1 first "
                            f"(df[{column!r}].astype('category').cat.codes)")
        if frame[column].isna().any():
            raise DataError(f"{name}: target column {column!r} has missing values; drop those rows first")
    values = frame[targets].to_numpy()
    if values.dtype.kind in "iub":
        values = values.astype(np.int64)
    else:
        values = values.astype(np.float32)
    return np.ascontiguousarray(values[:, 0] if len(targets) == 1 else values)


__all__ = ["FrameDataset", "from_dataframe", "is_dataframe"]
