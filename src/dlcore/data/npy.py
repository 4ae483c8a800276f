"""``.npy`` files opened as memory maps: features (and labels) larger than memory.

    data = datasets.npy("features.npy", "labels.npy", class_names=[...])

The features are mapped, never loaded (``dataset.features`` is a read-only view of the
file): a read copies just the rows it needs straight from the file into the batch
(``preadv``), without faulting pages of the map into the process, whose resident memory so
stays at what the trainer holds, not at what it has read (touching the map would bring in
64 KB around each row). Labels may be a second ``.npy`` file (mapped too) or an array.
"""

from __future__ import annotations

import mmap
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..contract.errors import DataError
from .arrays import read_rows
from .streaming import StreamingDataset


def _map(path: Path) -> tuple[mmap.mmap | None, np.ndarray, int]:
    """The array stored at ``path`` as a read-only view of a memory map of the file."""
    try:
        header = np.load(path, mmap_mode="r", allow_pickle=False)
        if not isinstance(header, np.memmap):
            raise DataError(f"{path}: not a .npy file of one array")
        shape, dtype, offset = header.shape, header.dtype, header.offset
        if not header.flags.c_contiguous:
            raise DataError(f"{path}: is stored in Fortran order; save it with np.save(np.ascontiguousarray(a))")
        del header
        if int(np.prod(shape)) == 0:
            return None, np.empty(shape, dtype), offset
        with open(path, "rb") as f:
            mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except (OSError, ValueError) as err:
        raise DataError(f"{path}: not a readable .npy file of numbers ({err})") from None
    return mapped, np.ndarray(shape, dtype, buffer=mapped, offset=offset), offset


class NpyDataset(StreamingDataset):
    """Features in a ``.npy`` file, read as a memory map; labels in another or in memory.

    Example::

        data = NpyDataset("features.npy", "labels.npy")   # or labels as an array in memory
        features, labels = data.read(np.array([0, 5, 9]))  # copies only these rows from the file
    """

    reader = "thread"

    def __init__(self, features: str | os.PathLike[str], labels: str | os.PathLike[str] | Any,
                 class_names: Sequence[str] | None = None, channels: str | None = None) -> None:
        self.path = Path(features)
        super().__init__(str(self.path), class_names, channels)
        self._maps: list[mmap.mmap] = []
        self.features, self._offset = self._open(self.path)
        self._labels = labels
        if isinstance(labels, (str, os.PathLike)):
            self.labels = self._open(Path(labels))[0]
        else:
            self.labels = np.asarray(labels)
        if self.features.ndim == 0 or len(self.features) != len(self.labels):
            raise DataError(f"{self.path}: {self.features.shape[0] if self.features.ndim else 0} feature rows but "
                            f"{len(self.labels)} labels; they must have the same length")
        self._file = open(self.path, "rb")

    def _open(self, path: Path) -> tuple[np.ndarray, int]:
        mapped, array, offset = _map(path)
        if mapped is not None:
            self._maps.append(mapped)
        return array, offset

    def __len__(self) -> int:
        return len(self.features)

    def read(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        indices = np.asarray(indices, np.int64)
        if not hasattr(os, "preadv"):  # Windows: through the map
            return self.features[indices], np.asarray(self.labels[indices])
        features = read_rows(self._file.fileno(), str(self.path), self._offset, self.features, indices)
        return features, np.asarray(self.labels[indices])

    @property
    def nbytes(self) -> int:
        return int(self.features.nbytes + self.labels.nbytes)

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as its files, opened again where it arrives (a Ray worker, a spawned process)."""
        return type(self), (self.path, self._labels, self.class_names, self.channels)


def npy(features: str | os.PathLike[str], labels: str | os.PathLike[str] | Any, class_names: Sequence[str] | None = None,
        channels: str | None = None) -> NpyDataset:
    """An :class:`NpyDataset`: ``features`` a ``.npy`` file, ``labels`` another or an array.

    Example::

        np.save("features.npy", features)                  # any size: read while training if large
        np.save("labels.npy", labels)
        data = datasets.npy("features.npy", "labels.npy", class_names=["cat", "dog"])
        trainer.fit(model, data)
    """
    return NpyDataset(features, labels, class_names, channels)


__all__ = ["NpyDataset", "npy"]
