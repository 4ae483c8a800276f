"""How many of this process's CPUs other processes are using: busy time of those CPUs in
``/proc/stat`` minus this process's own CPU time, over the time since the previous reading.

Backends use it to run no more compute threads than there are CPUs left free (a thread that
waits for a CPU another process holds stalls every parallel operation of its team). Where
``/proc/stat`` is missing (not Linux) :meth:`OtherLoad.read` gives None.

A different thread count can change the last bits of a framework's sums, so a seeded run
repeats bit for bit whatever the load only with the thread count fixed: with
``DLCORE_ADAPT_THREADS=0`` or in deterministic mode (:func:`threads_follow_load`; a run folder's
``environment.json`` records it under ``repeatability``).
"""

from __future__ import annotations

import os
import time
from typing import Any

__all__ = ["OtherLoad", "allowed_cpus"]


def allowed_cpus() -> set[int]:
    """The CPUs this process may run on."""
    try:
        return set(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return set(range(os.cpu_count() or 1))


def _busy_seconds(cpus: set[int]) -> float | None:
    """Seconds the ``cpus`` have spent busy (user, nice, system, irq, softirq) since boot."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            lines = [line.split() for line in f if line.startswith("cpu") and not line.startswith("cpu ")]
        ticks = sum(sum(int(v) for i, v in enumerate(fields[1:8]) if i != 3 and i != 4)  # not idle, iowait
                    for fields in lines if int(fields[0][3:]) in cpus)
        return ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


ENV_ADAPT_THREADS = "DLCORE_ADAPT_THREADS"
"""``DLCORE_ADAPT_THREADS=0``: backends keep their thread count whatever the load."""


def threads_follow_load(deterministic: bool = False) -> bool:
    """Whether backends that can (torch) fit their thread count to the load: not in
    deterministic mode, nor with ``DLCORE_ADAPT_THREADS=0``."""
    return not deterministic and os.environ.get(ENV_ADAPT_THREADS, "1").strip() != "0"


def repeatability(deterministic: bool = False) -> dict[str, Any]:
    """The settings a seeded run's last bits depend on, and how to make it repeat whatever the load.

    >>> from dlcore.tuning.cpuload import repeatability
    >>> repeatability(deterministic=True)["repeats_whatever_the_load"]
    True
    """
    follows = threads_follow_load(deterministic)
    found: dict[str, Any] = {ENV_ADAPT_THREADS: os.environ.get(ENV_ADAPT_THREADS, "1 (default)"),
                             "deterministic": deterministic, "threads_follow_load": follows,
                             "repeats_whatever_the_load": not follows}
    if follows:
        found["to_repeat"] = (f"{ENV_ADAPT_THREADS}=0 (or deterministic=True, --deterministic) fixes the thread "
                              "count, so the same seed gives the same numbers on a quiet and on a busy machine")
    return found


class OtherLoad:
    """The average number of this process's CPUs that other processes kept busy since the
    previous :meth:`read` (or since this object was made)."""

    def __init__(self) -> None:
        self.cpus = allowed_cpus()
        self._last = self._sample()

    def _sample(self) -> tuple[float, float | None, float]:
        return time.monotonic(), _busy_seconds(self.cpus), time.process_time()

    def read(self) -> float | None:
        """CPUs in use by others, 0 to ``len(self.cpus)``; None where it cannot be known."""
        (t0, busy0, own0), (t1, busy1, own1) = self._last, self._sample()
        self._last = (t1, busy1, own1)
        if busy0 is None or busy1 is None or t1 <= t0:
            return None
        others = ((busy1 - busy0) - (own1 - own0)) / (t1 - t0)
        return min(max(others, 0.0), float(len(self.cpus)))


__all__ = ["OtherLoad", "allowed_cpus"]
