"""The Dataset interface and its in-memory numpy implementation."""

from __future__ import annotations

import mmap
import os
from abc import ABC, abstractmethod
from typing import Any, Sequence

import numpy as np

from ..contract.errors import DataError


class Dataset(ABC):
    """A labelled dataset that backends can turn into their fastest native pipeline.

    ``channels``: where an image's channel axis is in the features: "first" (N, C, H, W),
    "last" (N, H, W, C), or None (no channel axis, or not images). dlcore's specs take either;
    a user's own model gets them as they are.

    The streaming side: :meth:`read` gives the samples of any indices as arrays, so that a
    dataset larger than memory is read batch by batch while training. ``in_memory`` says
    whether :meth:`arrays` costs nothing more (False: the trainer reads the dataset while
    training when it is larger than the memory budget); ``reader`` whether its reading runs
    best in worker "process"es (Python decoding: images) or "thread"s (numpy copies: memory
    maps); ``on_bad_sample``: "error" (stop, naming the file and row) or "skip" (drop the
    sample and count it); ``blocks``: the first index of each block of samples that are read
    together cheaply (Parquet row groups), or None for random access at no extra cost.

    >>> import numpy as np
    >>> from dlcore import ArrayDataset
    >>> data = ArrayDataset(np.zeros((10, 4), np.float32), np.arange(10) % 2)  # a Dataset held in memory
    >>> len(data), data.feature_shape
    (10, (4,))
    >>> features, labels = data.read(np.array([0, 3]))
    >>> features.shape, labels.tolist()
    ((2, 4), [0, 1])
    >>> train, validation = data.split(0.2)
    >>> len(train), len(validation)
    (8, 2)
    """

    class_names: tuple[str, ...] | None = None
    channels: str | None = None
    in_memory: bool = True
    reader: str = "process"
    on_bad_sample: str = "error"
    blocks: np.ndarray | None = None

    @abstractmethod
    def __len__(self) -> int:
        """Number of samples."""

    @abstractmethod
    def __getitem__(self, index: Any) -> Any:
        """One sample as ``(features, label)`` for an int; a sub-Dataset for a slice or array."""

    @abstractmethod
    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """All features and labels as numpy arrays sharing their first dimension."""

    def read(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Features and labels of the samples ``indices`` (int64), stacked; by default one
        ``self[i]`` per sample. Raise DataError naming the file and row of a bad sample."""
        return stack_samples([self[int(i)] for i in indices], getattr(self, "name", "") or type(self).__name__)

    @property
    def nbytes(self) -> int:
        """Bytes that the features and labels take in memory (for the memory budget)."""
        features, labels = self.arrays()
        return int(features.nbytes + labels.nbytes)

    def probe(self) -> tuple[np.ndarray, np.ndarray]:
        """Samples that show the features' shape and the labels' kind: all of them here; a
        streaming dataset reads only its first."""
        return self.arrays()

    @property
    def feature_shape(self) -> tuple[int, ...]:
        """Shape of one sample's features."""
        return tuple(self.probe()[0].shape[1:])

    @property
    def num_classes(self) -> int | None:
        """Number of classes when known from class names or one-hot labels."""
        if self.class_names:
            return len(self.class_names)
        labels = self.probe()[1]
        return int(labels.shape[1]) if labels.ndim == 2 else None

    def split(self, fraction: float) -> tuple[ArrayDataset, ArrayDataset]:
        """Split off the last ``fraction`` of samples (as Keras' validation_split does)."""
        features, labels = self.arrays()
        cut = split_point(len(features), fraction)
        name = getattr(self, "name", "") or type(self).__name__
        return tuple(ArrayDataset(features[part], labels[part], self.class_names, name, self.channels)  # type: ignore[return-value]
                     for part in (slice(None, cut), slice(cut, None)))


class ArrayDataset(Dataset):
    """Features and labels held in memory as numpy arrays.

    ``labels`` are integer class indices of shape (N,), one-hot or soft targets of shape
    (N, C), or 0/1 values for binary classifiers.

    >>> import numpy as np
    >>> from dlcore import ArrayDataset
    >>> data = ArrayDataset(np.zeros((10, 4), np.float32), np.arange(10) % 2, class_names=["no", "yes"])
    >>> data
    ArrayDataset(10 samples, features (4,) float32, labels int64)
    >>> data.num_classes, len(data[2:5])
    (2, 3)
    """

    def __init__(
        self,
        features: Any,
        labels: Any,
        class_names: Sequence[str] | None = None,
        name: str = "",
        channels: str | None = None,
    ) -> None:
        features = np.asarray(features)
        labels = np.asarray(labels)
        if features.ndim == 0 or labels.ndim == 0:
            raise DataError(f"{name or 'dataset'}: features and labels must be arrays, not scalars")
        if len(features) != len(labels):
            raise DataError(
                f"{name or 'dataset'}: {len(features)} feature rows but {len(labels)} labels; "
                "they must have the same length"
            )
        self.features = features
        self.labels = labels
        self.in_memory = not file_backed(features)  # a memory map is read while training when large
        self.reader = "thread"
        self.class_names = tuple(class_names) if class_names is not None else None
        self.name = name
        self.channels = check_channels(channels)

    def __len__(self) -> int:
        return len(self.features)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, (int, np.integer)):
            return self.features[index], self.labels[index]
        return ArrayDataset(self.features[index], self.labels[index], self.class_names, self.name, self.channels)

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return self.features, self.labels

    def read(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        indices = np.asarray(indices, np.int64)
        source = mapped_file(self.features) if hasattr(os, "preadv") else None  # Windows: through the map
        if source is not None and indices.size and 0 <= indices.min() <= indices.max() < len(self):
            try:
                path, offset = source
                with open(path, "rb") as file:
                    return read_rows(file.fileno(), path, offset, self.features, indices), self.labels[indices]
            except OSError:  # the file was removed or cannot be opened: through the map
                pass
        return self.features[indices], self.labels[indices]

    def __repr__(self) -> str:
        return (
            f"ArrayDataset({self.name + ', ' if self.name else ''}{len(self)} samples, "
            f"features {self.features.shape[1:]} {self.features.dtype}, labels {self.labels.dtype})"
        )


def file_backed(array: np.ndarray) -> bool:
    """Whether ``array`` is a view of a file mapped into memory (an ``np.memmap``, an array
    of ``np.load(..., mmap_mode="r")``, or a view of either), so that reading it reads the file.

    >>> import numpy as np, tempfile
    >>> from dlcore.data.arrays import file_backed
    >>> mapped = np.memmap(tempfile.TemporaryFile(), np.float32, "w+", shape=(4, 2))
    >>> file_backed(np.asarray(mapped)[1:]), file_backed(np.array(mapped))
    (True, False)
    """
    base: Any = array
    while base is not None:
        if isinstance(base, (np.memmap, mmap.mmap)):
            return True
        base = getattr(base, "base", None)
    return False


def mapped_file(array: np.ndarray) -> tuple[str, int] | None:
    """The file and the offset in it of a C-ordered ``array`` that is a view of an ``np.memmap``
    shared with its file (any mode but copy-on-write "c"), so that its rows can be read from the
    file instead of through the map (whose pages would stay in the process); else None."""
    mapped: Any = array
    while mapped is not None and not (isinstance(mapped, np.memmap) and isinstance(mapped.base, mmap.mmap)):
        mapped = mapped.base
    if mapped is None or mapped.mode == "c" or not mapped.filename or not array.flags.c_contiguous:
        return None
    return mapped.filename, mapped.offset + array.ctypes.data - mapped.ctypes.data


def read_rows(fd: int, name: str, offset: int, array: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """Rows ``indices`` of the C-ordered ``array`` stored from ``offset`` in the open file ``fd``
    (``name``), each copied from the file into the batch (``preadv``, in file order), without
    faulting pages of a map of it into the process."""
    rows = aligned_empty((len(indices), *array.shape[1:]), array.dtype)
    out = memoryview(rows.reshape(-1).view(np.uint8))  # type: ignore[arg-type]
    size = int(np.prod(array.shape[1:], dtype=np.int64)) * array.itemsize
    for k in np.argsort(indices, kind="stable"):
        if os.preadv(fd, [out[k * size:(k + 1) * size]], offset + int(indices[k]) * size) != size:
            raise DataError(f"{name}: row {int(indices[k])} is cut short; the file changed while training")
    return rows


def split_point(n: int, fraction: float) -> int:
    """Where a validation ``fraction`` splits ``n`` samples: the last fraction held out."""
    if not 0.0 < fraction < 1.0:
        raise DataError(f"validation fraction must be between 0 and 1, got {fraction}")
    cut = n - int(round(n * fraction))
    if cut <= 0 or cut >= n:
        raise DataError(f"a fraction of {fraction} of {n} samples leaves a split empty")
    return cut


CHANNELS = ("first", "last", None)
ON_BAD_SAMPLE = ("error", "skip")


def check_on_bad_sample(value: str) -> str:
    if value not in ON_BAD_SAMPLE:
        raise DataError(f"on_bad_sample must be 'error' (stop at a bad sample) or 'skip' (drop and count it), "
                        f"got {value!r}")
    return value


def stack_samples(samples: Sequence[tuple[Any, Any]], name: str) -> tuple[np.ndarray, np.ndarray]:
    """``(features, label)`` samples stacked into two arrays; samples of different shapes are a
    DataError naming the first that differs."""
    if not samples:
        return np.empty((0,)), np.empty((0,), np.int64)
    first = np.shape(samples[0][0])
    for i, (x, _) in enumerate(samples):
        if np.shape(x) != first:
            raise DataError(f"{name}: samples have different shapes ({first} and {np.shape(x)}, sample {i} of a "
                            "batch); pass a transform that resizes them, such as dlcore.transforms.Resize")
    return np.stack([np.asarray(x) for x, _ in samples]), np.asarray([y for _, y in samples])


def check_channels(channels: str | None) -> str | None:
    if channels not in CHANNELS:
        raise DataError(f"channels must be 'first', 'last' or None, got {channels!r}")
    return channels


def with_channels(images: np.ndarray, channels: str | None) -> np.ndarray:
    """(N, H, W) or (N, H, W, C) images with their channel axis where ``channels`` says (a
    view; grayscale images get an axis of 1); None leaves them as they are."""
    check_channels(channels)
    if channels is None:
        return images
    if images.ndim == 3:
        images = images[:, :, :, None]
    return np.moveaxis(images, -1, 1) if channels == "first" else images


ALIGNMENT = 64  # bytes: XLA's CPU client uses host arrays aligned to this in place, without a copy


def aligned_empty(shape: int | tuple[int, ...], dtype: Any) -> np.ndarray:
    """An uninitialised C-ordered array whose data starts on a 64-byte boundary, so that a
    backend able to compute on host memory in place (JAX on the CPU) takes it without a copy.

    >>> from dlcore.data.arrays import aligned_empty
    >>> a = aligned_empty((3, 5), "float32")
    >>> a.shape, a.dtype.name, a.ctypes.data % 64
    ((3, 5), 'float32', 0)
    """
    dtype, shape = np.dtype(dtype), (shape,) if isinstance(shape, int) else tuple(shape)
    size = int(np.prod(shape)) * dtype.itemsize
    raw = np.empty(size + ALIGNMENT, np.uint8)
    start = -raw.ctypes.data % ALIGNMENT
    aligned: np.ndarray = raw[start:start + size].view(dtype).reshape(shape)
    return aligned


def standard_labels(labels: np.ndarray) -> np.ndarray:
    """int64 class labels or float32 targets (a copy only when needed)."""
    if np.issubdtype(labels.dtype, np.integer):
        return labels.astype(np.int64, copy=False)
    return labels.astype(np.float32, copy=False)


def standard_dtypes(features: np.ndarray, labels: np.ndarray, features_dtype: str = "float32",
                    ) -> tuple[np.ndarray, np.ndarray]:
    """float32 (or ``features_dtype``) features and :func:`standard_labels` (copies only when
    needed, and then 64-byte aligned: :func:`aligned_empty`)."""
    if features.dtype == object or np.dtype(features_dtype) == object:
        return features.astype(features_dtype, copy=False), standard_labels(labels)
    if features.dtype != np.dtype(features_dtype):
        converted = aligned_empty(features.shape, features_dtype)
        np.copyto(converted, features, casting="unsafe")
        features = converted
    return features, standard_labels(labels)


def as_dataset(data: Any, name: str = "data") -> Any:
    """Turn ``(features, labels)`` tuples into an ArrayDataset; pass everything else through."""
    if isinstance(data, tuple) and len(data) == 2:
        return ArrayDataset(data[0], data[1], name=name)
    return data


__all__ = ["ALIGNMENT", "CHANNELS", "ON_BAD_SAMPLE", "ArrayDataset", "Dataset", "aligned_empty", "as_dataset",
           "check_channels", "check_on_bad_sample", "file_backed", "mapped_file", "read_rows", "split_point",
           "stack_samples", "standard_dtypes", "standard_labels", "with_channels"]
