"""Reading a dataset's batches ahead of the training step, in worker processes or threads.

One prefetcher serves every backend: it reads chunks of samples (``Dataset.read``) in order,
at most ``depth`` ahead of the one the step trains on, while the step runs. Processes (forked,
so the dataset and its transforms need not pickle) suit datasets that decode in Python
(images: threads contend for the GIL and measured 2.6x slower than processes on 6,000 PNGs);
threads suit numpy copies out of memory maps. The workers live as long as the prefetcher (one
fit: every epoch) and end with it. A sample that fails to read is a DataError naming its file
and row, or, for a dataset with ``on_bad_sample="skip"``, dropped and counted; a worker that
dies is a DataError too, never a hang.
"""

from __future__ import annotations

import collections
import concurrent.futures as futures
import multiprocessing
import os
import signal
import sys
import warnings
from dataclasses import dataclass, field
from typing import Iterable, Iterator

import numpy as np

from ..contract.errors import DataError
from .arrays import Dataset


@dataclass
class Chunk:
    """Samples read together: their ``indices`` in the dataset (without those skipped), their
    features and labels, and a message for each sample skipped."""

    indices: np.ndarray
    features: np.ndarray
    labels: np.ndarray
    skipped: list[str] = field(default_factory=list)


def read_chunk(dataset: Dataset, indices: np.ndarray) -> Chunk:
    """The samples ``indices`` of ``dataset``, read at once; with ``on_bad_sample="skip"``,
    those that fail are read one by one and the bad ones left out."""
    try:
        return Chunk(indices, *dataset.read(indices))
    except DataError as err:
        if dataset.on_bad_sample != "skip" or len(indices) == 1:
            raise
        first_error = str(err)
    kept, parts, skipped = [], [], []
    for i in indices:
        try:
            parts.append(dataset.read(np.asarray([i])))
            kept.append(i)
        except DataError as err:
            skipped.append(str(err))
    if not skipped:  # the error was of the chunk as a whole (different shapes): not a sample's
        raise DataError(first_error)
    if not parts:
        return Chunk(np.asarray([], np.int64), np.empty((0,)), np.empty((0,), np.int64), skipped)
    features, labels = zip(*parts)
    return Chunk(np.asarray(kept, np.int64), np.concatenate(features), np.concatenate(labels), skipped)


_dataset: Dataset | None = None  # a reading process's dataset, inherited from its parent


def _start_process(dataset: Dataset) -> None:
    global _dataset
    _dataset = dataset
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is the parent's to handle


def _read_in_process(indices: np.ndarray) -> Chunk:
    assert _dataset is not None
    return read_chunk(_dataset, indices)


def default_readers() -> int:
    """The number of reading workers when not given: the CPUs this process may use, at most 8."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(8, cpus))


class Prefetcher:
    """Reads chunks of ``dataset`` with ``readers`` workers of the dataset's ``reader`` kind
    ("process" or "thread"; 0 readers: in this thread, when asked), ``depth`` chunks ahead."""

    def __init__(self, dataset: Dataset, readers: int | None = None, depth: int | None = None,
                 kind: str | None = None) -> None:
        self.dataset = dataset
        self.readers = default_readers() if readers is None else readers
        self.depth = depth if depth is not None else max(2, self.readers + 1)
        self.kind = kind or dataset.reader
        if self.kind == "process" and "fork" not in multiprocessing.get_all_start_methods():
            self.kind = "thread"  # Windows, and macOS' spawn: the dataset would have to pickle
        self._pool: futures.Executor | None = None

    def _submit(self, indices: np.ndarray) -> futures.Future[Chunk]:
        if self.kind == "thread":
            if self._pool is None:
                self._pool = futures.ThreadPoolExecutor(self.readers, thread_name_prefix="dlcore-reader")
            return self._pool.submit(read_chunk, self.dataset, indices)
        with warnings.catch_warnings():  # the pool forks (on its first task) in a process with threads, whose
            warnings.simplefilter("ignore", DeprecationWarning)  # frameworks the readers never touch
            warnings.simplefilter("ignore", RuntimeWarning)
            if self._pool is None:
                self._pool = futures.ProcessPoolExecutor(self.readers, multiprocessing.get_context("fork"),
                                                         initializer=_start_process, initargs=(self.dataset,))
            return self._pool.submit(_read_in_process, indices)

    def map(self, chunks: Iterable[np.ndarray]) -> Iterator[Chunk]:
        """The chunks of the given index arrays, in order."""
        if self.readers == 0:
            for indices in chunks:
                yield read_chunk(self.dataset, indices)
            return
        pending: collections.deque[futures.Future[Chunk]] = collections.deque()
        todo = iter(chunks)
        try:
            for indices in todo:
                pending.append(self._submit(indices))
                if len(pending) >= self.depth:
                    break
            while pending:
                chunk = self._result(pending.popleft())
                for indices in todo:
                    pending.append(self._submit(indices))
                    break
                yield chunk
        finally:
            for future in pending:
                future.cancel()

    def _result(self, future: futures.Future[Chunk]) -> Chunk:
        try:
            return future.result()
        except futures.BrokenExecutor:
            self.close()
            name = getattr(self.dataset, "name", "") or type(self.dataset).__name__
            raise DataError(f"{name}: a reading process died (killed, or out of memory); pass readers=0 to the "
                            "Trainer to read in this process and see the error") from None

    def close(self) -> None:
        """End the workers (those still reading are stopped)."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        processes = list((getattr(pool, "_processes", None) or {}).values())  # still alive after shutdown
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join(5)

    def __del__(self) -> None:
        if sys is not None and not sys.is_finalizing():
            self.close()


__all__ = ["Chunk", "Prefetcher", "default_readers", "read_chunk"]
