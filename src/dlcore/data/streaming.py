"""Datasets larger than memory: read by index while training, within a memory budget.

A :class:`StreamingDataset` says how many samples it has and reads any of them
(:meth:`~dlcore.data.Dataset.read`); the sources (an image folder, a CSV of images, ``.npy``
memory maps, Parquet, Hugging Face datasets) are ones. The trainer keeps the preloaded path
(``arrays()``, once, on the device) while a dataset fits the memory budget, and streams it
otherwise: each epoch's order is cut into chunks of whole batches that a :class:`Stream`
reads ahead with a :class:`~dlcore.data.prefetch.Prefetcher` and the backend gets one at a
time, as it gets preloaded data (``Backend.put``), so every backend streams, a third party's
too. The order is the same as preloaded data's, so the same seed gives the same batches.

The budget: ``Trainer(memory_budget=...)`` (bytes, or "500MB", "2GiB"), else
``$DLCORE_MEMORY_BUDGET``, else a quarter of the machine's memory.
"""

from __future__ import annotations

import math
import os
import re
import warnings
from abc import abstractmethod
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from ..contract.errors import ConfigError, DataError
from .arrays import Dataset, aligned_empty, check_channels, check_on_bad_sample, split_point
from .prefetch import Chunk, Prefetcher

_UNITS = {"": 1, "b": 1, "kb": 10 ** 3, "mb": 10 ** 6, "gb": 10 ** 9, "tb": 10 ** 12,
          "kib": 2 ** 10, "mib": 2 ** 20, "gib": 2 ** 30, "tib": 2 ** 40}


def parse_bytes(value: Any, what: str = "memory_budget") -> int:
    """Bytes from an int or a string such as "500MB", "1.5 GiB" (ConfigError otherwise)."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value > 0:
        return int(value)
    match = re.fullmatch(r"\s*([0-9.]+)\s*([a-zA-Z]*)\s*", value) if isinstance(value, str) else None
    if match and match.group(2).lower() in _UNITS:
        try:
            number = float(match.group(1))
        except ValueError:
            number = 0.0
        if number > 0:
            return int(number * _UNITS[match.group(2).lower()])
    raise ConfigError(f"{what} must be a positive number of bytes or a size such as '500MB' or '2GiB', got {value!r}")


def memory_budget(value: Any = None) -> int:
    """The memory budget in bytes: ``value``, else $DLCORE_MEMORY_BUDGET, else a quarter of
    the machine's physical memory."""
    if value is not None:
        return parse_bytes(value)
    if os.environ.get("DLCORE_MEMORY_BUDGET"):
        return parse_bytes(os.environ["DLCORE_MEMORY_BUDGET"], "$DLCORE_MEMORY_BUDGET")
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 4
    except (ValueError, OSError, AttributeError):
        return 2 * 2 ** 30


class StreamingDataset(Dataset):
    """A dataset read by index (:meth:`read`), never all at once unless asked (:meth:`arrays`).

    Subclasses implement ``__len__`` and ``read``; indexing with a slice or an index array
    gives a :class:`Subset` view, and ``split`` splits into views.

    >>> import numpy as np
    >>> from dlcore.datasets import StreamingDataset
    >>> class Squares(StreamingDataset):  # computed when read, never held in memory
    ...     def __len__(self):
    ...         return 1000
    ...     def read(self, indices):
    ...         return (indices[:, None] ** 2).astype(np.float32), indices % 2
    >>> train, validation = Squares("squares").split(0.1)
    >>> len(train), len(validation), validation.read(np.array([0]))[0].tolist()
    (900, 100, [[810000.0]])
    """

    in_memory = False

    def __init__(self, name: str, class_names: Sequence[str] | None = None, channels: str | None = None,
                 on_bad_sample: str = "error") -> None:
        self.name = name
        self.class_names = tuple(class_names) if class_names is not None else None
        self.channels = check_channels(channels)
        self.on_bad_sample = check_on_bad_sample(on_bad_sample)
        self._arrays: tuple[np.ndarray, np.ndarray] | None = None
        self._first: tuple[np.ndarray, np.ndarray] | None = None

    @abstractmethod
    def __len__(self) -> int:
        """Number of samples."""

    @abstractmethod
    def read(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Features and labels of the samples ``indices``, stacked."""

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, (int, np.integer)):
            if not -len(self) <= index < len(self):
                raise IndexError(f"{self.name}: index {index} is out of range for {len(self)} samples")
            features, labels = self.read(np.asarray([int(index) % len(self)]))
            return features[0], labels[0]
        return Subset(self, np.arange(len(self))[index])

    def probe(self) -> tuple[np.ndarray, np.ndarray]:
        """The first sample, as a batch of one (read once); with ``on_bad_sample="skip"``, the
        first that reads."""
        if self._first is None:
            if len(self) == 0:
                raise DataError(f"{self.name} is empty; it needs at least one sample")
            self._first = self._first_readable()
        return self._first

    def _first_readable(self) -> tuple[np.ndarray, np.ndarray]:
        last = len(self) - 1 if self.on_bad_sample == "skip" else 0
        for index in range(last):
            try:
                return self.read(np.asarray([index]))
            except DataError:
                continue
        return self.read(np.asarray([last]))

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Every sample, read in parallel into memory (once)."""
        if self._arrays is None:
            self._arrays = read_all(self)
        return self._arrays

    @property
    def nbytes(self) -> int:
        """Bytes that all samples take in memory, from the first one's size."""
        features, labels = self.probe()
        return len(self) * int(features.nbytes + labels.nbytes)

    def split(self, fraction: float) -> tuple[Subset, Subset]:  # type: ignore[override]
        """Views of the first and the last ``fraction`` of samples (as Keras' validation_split)."""
        cut = split_point(len(self), fraction)
        return Subset(self, np.arange(cut)), Subset(self, np.arange(cut, len(self)))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name}, {len(self)} samples)"


class Subset(StreamingDataset):
    """The samples ``indices`` of ``parent``, read through it.

    Example::

        photos = datasets.image_folder("photos/train")
        first = photos[:1000]                       # a Subset, read through photos
        picked = Subset(photos, np.arange(0, len(photos), 10))
    """

    def __init__(self, parent: Dataset, indices: np.ndarray) -> None:
        super().__init__(getattr(parent, "name", "") or type(parent).__name__, parent.class_names, parent.channels,
                         parent.on_bad_sample)
        self.parent, self.indices = parent, np.asarray(indices, np.int64)
        self.reader, self.in_memory = parent.reader, parent.in_memory
        if parent.blocks is not None:  # where the block of consecutive samples changes
            block = np.searchsorted(parent.blocks, self.indices, side="right")
            self.blocks = np.flatnonzero(np.diff(block, prepend=-1))

    def __len__(self) -> int:
        return len(self.indices)

    def read(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.parent.read(self.indices[indices])


def read_all(dataset: Dataset, readers: int | None = None, chunk: int = 2048) -> tuple[np.ndarray, np.ndarray]:
    """Every sample of ``dataset`` in two arrays, read in parallel (skipped samples: a warning)."""
    n = len(dataset)
    if n == 0:
        raise DataError(f"{getattr(dataset, 'name', 'dataset')} is empty; it needs at least one sample")
    prefetcher = Prefetcher(dataset, readers)
    features: np.ndarray | None = None
    labels: np.ndarray | None = None
    at, skipped = 0, []
    try:
        for part in prefetcher.map(np.arange(s, min(s + chunk, n)) for s in range(0, n, chunk)):
            skipped += part.skipped
            if not len(part.indices):
                continue
            if features is None or labels is None:
                features = aligned_empty((n, *part.features.shape[1:]), part.features.dtype)
                labels = np.empty((n, *part.labels.shape[1:]), part.labels.dtype)
            if part.features.shape[1:] != features.shape[1:]:
                raise DataError(f"{getattr(dataset, 'name', 'dataset')}: samples have different shapes ({features.shape[1:]} and "
                                f"{part.features.shape[1:]}); pass a transform that resizes them")
            features[at:at + len(part.indices)] = part.features
            labels[at:at + len(part.indices)] = part.labels
            at += len(part.indices)
    finally:
        prefetcher.close()
    warn_skipped(dataset, skipped)
    if features is None or labels is None:
        raise DataError(f"{getattr(dataset, 'name', 'dataset')}: every sample failed to read; the first: {skipped[0]}")
    return features[:at], labels[:at]


def warn_skipped(dataset: Dataset, skipped: list[str], when: str = "", what: str = "sample", stacklevel: int = 3) -> None:
    """A warning that ``skipped`` samples (or rows) were left out (``on_bad_sample="skip"``)."""
    if skipped:
        name = getattr(dataset, "name", "") or type(dataset).__name__
        warnings.warn(f"{name}: skipped {len(skipped)} bad {what}{'s' * (len(skipped) > 1)}{when} "
                      f"(on_bad_sample='skip'); the first: {skipped[0]}", UserWarning, stacklevel=stacklevel)


def block_order(rng: np.random.Generator, n: int, blocks: np.ndarray) -> np.ndarray:
    """A shuffled order of ``n`` samples that reads one block at a time: the blocks (starting at
    ``blocks``) in random order, each block's samples shuffled."""
    ends = np.append(blocks[1:], n)
    return np.concatenate([rng.permutation(np.arange(blocks[b], ends[b])) for b in rng.permutation(len(blocks))])


def chunk_batches(batch_bytes: int, per_call: int, accumulate: int, budget: int, depth: int) -> int:
    """How many batches a chunk holds: the backend's ``steps_per_call``, fewer where the chunks in
    flight would take more than half the budget (``depth`` read ahead, and four in the training
    process: the one trained on, its copy on the device, the next one on its way there, and the
    batches a compiled step gathers from it); a whole number of accumulation groups."""
    slots = depth + 4
    fits = (budget // 2) // max(1, slots * batch_bytes)
    if fits < max(1, accumulate):
        need = slots * batch_bytes * max(1, accumulate) * 2
        raise ConfigError(f"a batch takes {batch_bytes / 2 ** 20:.1f} MiB; streaming it within the memory budget "
                          f"({budget / 2 ** 20:.0f} MiB) needs a budget of {need / 2 ** 20:.0f} MiB; raise "
                          "memory_budget or lower batch_size" + (" or accumulate" if accumulate > 1 else ""))
    count = min(max(per_call, accumulate), fits)
    return max(1, count // accumulate) * accumulate


class Stream:
    """One dataset read while training: chunks of ``batches`` whole batches of each epoch's
    order, read ahead by ``prefetcher``, whose workers last until :meth:`close`. ``put(chunk,
    batch_size)``, given when the stream is made, turns a chunk into the backend's data (the
    training feed's checks and the backend, never the trainer itself). ``augment(features, epoch,
    first_batch, batch_size, indices)``, when given, augments each chunk's features as it is read (training
    data: :class:`dlcore.data.augment.Augmentation`); each call of :meth:`chunks` is the next
    epoch after ``epoch``."""

    def __init__(self, dataset: Dataset, batches: int, prefetcher: Prefetcher,
                 put: Callable[[Chunk, int], Any] | None = None,
                 augment: Callable[[np.ndarray, int, int, int, np.ndarray], np.ndarray] | None = None,
                 epoch: int = 0) -> None:
        self.dataset = dataset
        self.batches = batches
        self.prefetcher = prefetcher
        self.skipped: list[str] = []
        self.put = put
        self.augment, self.epoch = augment, epoch

    def chunks(self, positions: np.ndarray, batch_size: int) -> Iterator[tuple[int, Chunk]]:
        """``(number of the chunk's first batch, chunk)`` for the samples ``positions`` in order."""
        size = self.batches * batch_size
        parts = (positions[s:s + size] for s in range(0, len(positions), size))
        self.epoch += 1
        for number, chunk in enumerate(self.prefetcher.map(parts)):
            self.skipped += chunk.skipped
            if self.augment is not None and len(chunk.features):
                chunk.features = self.augment(chunk.features, self.epoch, number * self.batches, batch_size,
                                              chunk.indices)
            yield number * self.batches, chunk

    def take_skipped(self) -> list[str]:
        """The messages of the samples skipped since the last call."""
        skipped, self.skipped = self.skipped, []
        return skipped

    def close(self) -> None:
        self.prefetcher.close()


def batch_bytes(dataset: Dataset, batch_size: int) -> int:
    """Bytes of one batch in memory, from the dataset's first sample (as float32 features)."""
    features, labels = dataset.probe() if isinstance(dataset, StreamingDataset) else dataset.read(np.asarray([0]))
    per_sample = features[0].size * max(4, features.dtype.itemsize) + labels[0].nbytes * 2
    return int(math.ceil(per_sample * batch_size))


__all__ = ["Stream", "StreamingDataset", "Subset", "batch_bytes", "block_order", "chunk_batches", "memory_budget",
           "parse_bytes", "read_all", "warn_skipped"]
