"""Parquet files, read one row group at a time (needs pyarrow: ``pip install "dlcore-ml[parquet]"``).

    data = datasets.parquet("reviews.parquet", target="label")

The features are the other columns (numbers, one feature each) or one column of fixed-size
lists (arrays). Row groups are what Parquet reads cheaply, so they are the dataset's
``blocks``: an epoch visits the row groups in random order and shuffles each one's rows, and
a few decoded row groups are kept at a time. Write files with row groups that fit the memory
budget many times over (``row_group_size`` in ``pyarrow.parquet.write_table``).
"""

from __future__ import annotations

import collections
import os
import threading
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..contract.errors import ConfigError, DataError
from .arrays import aligned_empty
from .streaming import StreamingDataset


class ParquetDataset(StreamingDataset):
    """Features and labels from the columns of a Parquet file.

    Example::

        data = ParquetDataset("houses.parquet", target="price", features=["rooms", "area"])
        data.blocks  # the first row of each row group: an epoch reads one group at a time
    """

    reader = "thread"

    def __init__(self, path: str | os.PathLike[str], target: str, features: Sequence[str] | None = None,
                 class_names: Sequence[str] | None = None, channels: str | None = None, cached_groups: int = 4) -> None:
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise ConfigError('reading Parquet needs pyarrow: pip install "dlcore-ml[parquet]"') from None
        self.path = Path(path)
        super().__init__(str(self.path), class_names, channels)
        try:
            self.file = pq.ParquetFile(self.path)
        except FileNotFoundError:
            raise DataError(f"{self.path}: no such file") from None
        except Exception as err:
            raise DataError(f"{self.path}: not a readable Parquet file ({err})") from None
        columns = self.file.schema_arrow.names
        if target not in columns:
            raise ConfigError(f"{self.path}: has no column {target!r}; its columns: {', '.join(columns)}")
        self.target = target
        self.columns = list(features) if features is not None else [c for c in columns if c != target]
        missing = [c for c in self.columns if c not in columns]
        if missing or not self.columns:
            raise ConfigError(f"{self.path}: feature columns {missing or self.columns} are not among {', '.join(columns)}")
        sizes = [self.file.metadata.row_group(g).num_rows for g in range(self.file.num_row_groups)]
        self.starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        self.blocks = self.starts
        self._rows = int(sum(sizes))
        self._cache: collections.OrderedDict[int, tuple[np.ndarray, np.ndarray]] = collections.OrderedDict()
        self._cached_groups = cached_groups
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self._rows

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as its file and columns, opened again where it arrives."""
        return type(self), (self.path, self.target, self.columns, self.class_names, self.channels, self._cached_groups)

    def _group(self, group: int) -> tuple[np.ndarray, np.ndarray]:
        with self._lock:
            if group in self._cache:
                self._cache.move_to_end(group)
                return self._cache[group]
        try:
            table = self.file.read_row_group(group, columns=[*self.columns, self.target])
        except Exception as err:
            raise DataError(f"{self.path}, row group {group}: cannot read ({err})") from None
        labels = table.column(self.target).to_numpy()
        if len(self.columns) == 1:
            features = self._array(table.column(self.columns[0]).combine_chunks(), group)
        else:
            features = np.stack([table.column(c).to_numpy().astype(np.float32) for c in self.columns], axis=1)
        with self._lock:
            self._cache[group] = (features, labels)
            while len(self._cache) > self._cached_groups:
                self._cache.popitem(last=False)
        return features, labels

    def _array(self, column: Any, group: int) -> np.ndarray:
        """A column of numbers or of arrays (fixed-size or equal-length lists) as float32."""
        import pyarrow as pa

        if pa.types.is_fixed_size_list(column.type):
            flat: np.ndarray = column.flatten().to_numpy(zero_copy_only=False)
            return flat.astype(np.float32).reshape(len(column), -1)
        if pa.types.is_list(column.type) or pa.types.is_large_list(column.type):
            lengths = set(column.value_lengths().to_numpy(zero_copy_only=False).tolist())
            if len(lengths) > 1:
                raise DataError(f"{self.path}, row group {group}: the arrays of column {self.columns[0]!r} have "
                                f"different lengths {sorted(lengths)[:4]}; every sample needs the same shape")
            flat = column.flatten().to_numpy(zero_copy_only=False)
            return flat.astype(np.float32).reshape(len(column), -1)
        values: np.ndarray = column.to_numpy(zero_copy_only=False)
        return values.astype(np.float32)

    def read(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        groups = np.searchsorted(self.starts, indices, side="right") - 1
        features: np.ndarray | None = None
        labels: np.ndarray | None = None
        for group in np.unique(groups):
            at = np.flatnonzero(groups == group)
            x, y = self._group(int(group))
            rows = indices[at] - self.starts[group]
            if features is None or labels is None:
                features = aligned_empty((len(indices), *x.shape[1:]), x.dtype)
                labels = np.empty((len(indices), *y.shape[1:]), y.dtype)
            features[at], labels[at] = x[rows], y[rows]
        assert features is not None and labels is not None
        return features, labels


def parquet(path: str | os.PathLike[str], target: str, features: Sequence[str] | None = None,
            class_names: Sequence[str] | None = None, channels: str | None = None) -> ParquetDataset:
    """A :class:`ParquetDataset`: ``target`` the label column, ``features`` the others by default.

    Example::

        data = datasets.parquet("reviews.parquet", target="label")  # features: the other columns
        trainer.fit(model, data, validation=0.1)
    """
    return ParquetDataset(path, target, features, class_names, channels)


__all__ = ["ParquetDataset", "parquet"]
