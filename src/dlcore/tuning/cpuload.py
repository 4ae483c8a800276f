"""How many of this process's CPUs other processes are using: busy time of those CPUs in
``/proc/stat`` minus this process's own CPU time, over the time since the previous reading.

Backends use it to compute on no more CPUs than other processes leave free (a thread that waits
for a CPU another process holds stalls every parallel operation of its team): the torch backend
fits its thread count, the others keep their threads on the free
CPUs for the length of each training call (:func:`on_free_cpus`). Where ``/proc/stat`` is
missing (not Linux) :meth:`OtherLoad.read` gives None and nothing is fitted.
``DLCORE_ADAPT_THREADS=0`` turns both off.
"""

from __future__ import annotations

import contextlib
import os
import time
from typing import Iterator

ENV_ADAPT = "DLCORE_ADAPT_THREADS"
INTERVAL = 0.1  # seconds between two readings of the other processes' load
STALE = 1.0  # a longer gap (no training in it) is not read: the load may have changed since


def allowed_cpus() -> set[int]:
    """The CPUs this process may run on."""
    try:
        return set(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return set(range(os.cpu_count() or 1))


def adapting() -> bool:
    """Whether dlcore fits its compute to the free CPUs (``DLCORE_ADAPT_THREADS`` is not 0)."""
    return os.environ.get(ENV_ADAPT, "1") != "0"


def _busy_seconds(cpus: set[int]) -> dict[int, float] | None:
    """Seconds each of the ``cpus`` has spent busy (user, nice, system, irq, softirq) since boot."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            lines = [line.split() for line in f if line.startswith("cpu") and not line.startswith("cpu ")]
        tick = os.sysconf("SC_CLK_TCK")
        return {int(fields[0][3:]): sum(int(v) for i, v in enumerate(fields[1:8]) if i != 3 and i != 4) / tick
                for fields in lines if int(fields[0][3:]) in cpus}  # not idle, not iowait
    except (OSError, ValueError, IndexError):
        return None


class OtherLoad:
    """The average number of this process's CPUs that other processes kept busy since the
    previous :meth:`read` (or since this object was made); :attr:`quietest` lists the CPUs,
    least busy (this process included) in that time first."""

    def __init__(self) -> None:
        self.cpus = allowed_cpus()
        self.quietest = sorted(self.cpus)
        self._last = self._sample()

    def _sample(self) -> tuple[float, dict[int, float] | None, float]:
        return time.monotonic(), _busy_seconds(self.cpus), time.process_time()

    def read(self) -> float | None:
        """CPUs in use by others, 0 to ``len(self.cpus)``; None where it cannot be known."""
        (t0, busy0, own0), (t1, busy1, own1) = self._last, self._sample()
        self._last = (t1, busy1, own1)
        if busy0 is None or busy1 is None or t1 <= t0:
            return None
        self.quietest = sorted(busy1, key=lambda cpu: busy1[cpu] - busy0.get(cpu, 0.0))
        others = (sum(busy1.values()) - sum(busy0.values()) - (own1 - own0)) / (t1 - t0)
        return min(max(others, 0.0), float(len(self.cpus)))


class FreeCpus:
    """The number of CPUs other processes leave free, read between training calls at most every
    :data:`INTERVAL` seconds; after a longer gap than :data:`STALE`, unknown until read again."""

    def __init__(self) -> None:
        self.load: OtherLoad | None = None
        self._free: int | None = None
        self._checked = 0.0

    def count(self) -> int | None:
        """Free CPUs (at least one), or None while unknown (take them all)."""
        now = time.monotonic()
        if self.load is None:
            self.load, self._checked = OtherLoad(), now
        elif now - self._checked >= STALE:  # start a new window; all CPUs until it is read
            self.load.read()
            self._checked, self._free = now, None
        elif now - self._checked >= INTERVAL:
            others = self.load.read()
            self._checked = now
            self._free = None if others is None else max(1, round(len(self.load.cpus) - others))
        return self._free


def _threads() -> list[int]:
    try:
        return [int(tid) for tid in os.listdir("/proc/self/task")]
    except OSError:
        return []


def _set_affinity(tid: int, cpus: set[int]) -> None:
    with contextlib.suppress(OSError):  # a thread that ended meanwhile
        os.sched_setaffinity(tid, cpus)


@contextlib.contextmanager
def on_free_cpus(free: FreeCpus, enabled: bool = True) -> Iterator[bool]:
    """Run the block with every thread of this process kept on the CPUs other processes leave
    free (the quietest ones), then give each thread back the CPUs it had (threads started in
    the block: the process's); yields whether it did (a backend that computes asynchronously
    then waits for the block's results inside it). A thread pool that splits each operation over all its threads
    (TensorFlow's, XLA's) then takes turns on a CPU of its own, instead of waiting for its
    thread that shares a CPU with a busy process; the threads and their work, and so the
    results, stay the same. Nothing happens with enough CPUs free, while the load is unknown,
    off Linux, or with ``DLCORE_ADAPT_THREADS=0``."""
    count = free.count() if enabled and adapting() and hasattr(os, "sched_setaffinity") else None
    if count is None or free.load is None or count >= len(free.load.cpus):
        yield False
        return
    chosen = set(free.load.quietest[:count])
    before = {}
    for tid in _threads():
        with contextlib.suppress(OSError):
            before[tid] = os.sched_getaffinity(tid)
            os.sched_setaffinity(tid, chosen)
    try:
        yield True
    finally:
        process = before.get(os.getpid(), free.load.cpus)
        for tid in _threads():
            _set_affinity(tid, before.get(tid, process))


__all__ = ["ENV_ADAPT", "FreeCpus", "OtherLoad", "adapting", "allowed_cpus", "on_free_cpus"]
