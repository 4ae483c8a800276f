"""``.npy`` files opened as memory maps: features (and labels) larger than memory.

    data = datasets.npy("features.npy", "labels.npy", class_names=[...])

The features are mapped, never loaded: each read copies the rows it needs, and the pages
read are handed back to the system after each read (``madvise(MADV_DONTNEED)``), so the
process's resident memory stays at what the trainer holds, not what it has read. Labels may
be a second ``.npy`` file (mapped too) or an array.
"""

from __future__ import annotations

import mmap
import os
import threading
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..contract.errors import DataError
from .streaming import StreamingDataset


def _map(path: Path) -> tuple[mmap.mmap | None, np.ndarray]:
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
            return None, np.empty(shape, dtype)
        with open(path, "rb") as f:
            mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except (OSError, ValueError) as err:
        raise DataError(f"{path}: not a readable .npy file of numbers ({err})") from None
    return mapped, np.ndarray(shape, dtype, buffer=mapped, offset=offset)


class NpyDataset(StreamingDataset):
    """Features in a ``.npy`` file, read as a memory map; labels in another or in memory."""

    reader = "thread"

    def __init__(self, features: str | os.PathLike[str], labels: str | os.PathLike[str] | Any,
                 class_names: Sequence[str] | None = None, channels: str | None = None) -> None:
        self.path = Path(features)
        super().__init__(str(self.path), class_names, channels)
        self._maps: list[mmap.mmap] = []
        self.features = self._open(self.path)
        if isinstance(labels, (str, os.PathLike)):
            self.labels = self._open(Path(labels))
        else:
            self.labels = np.asarray(labels)
        if self.features.ndim == 0 or len(self.features) != len(self.labels):
            raise DataError(f"{self.path}: {self.features.shape[0] if self.features.ndim else 0} feature rows but "
                            f"{len(self.labels)} labels; they must have the same length")
        self._lock = threading.Lock()

    def _open(self, path: Path) -> np.ndarray:
        mapped, array = _map(path)
        if mapped is not None:
            self._maps.append(mapped)
        return array

    def __len__(self) -> int:
        return len(self.features)

    def read(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ordered = np.sort(indices)  # in file order, then as asked
        features = self.features[ordered][np.argsort(np.argsort(indices))]
        labels = np.asarray(self.labels[indices])
        self.release()
        return features, labels

    def release(self) -> None:
        """Hand the pages read back to the system (they stay in its file cache)."""
        with self._lock:
            for mapped in self._maps:
                mapped.madvise(mmap.MADV_DONTNEED)

    @property
    def nbytes(self) -> int:
        return int(self.features.nbytes + self.labels.nbytes)

    def __getstate__(self) -> dict[str, Any]:
        raise TypeError("an NpyDataset holds memory maps; it is read by threads or forked processes, not pickled")


def npy(features: str | os.PathLike[str], labels: str | os.PathLike[str] | Any, class_names: Sequence[str] | None = None,
        channels: str | None = None) -> NpyDataset:
    """An :class:`NpyDataset`: ``features`` a ``.npy`` file, ``labels`` another or an array."""
    return NpyDataset(features, labels, class_names, channels)


__all__ = ["NpyDataset", "npy"]
