"""torch's intra-op threads fitted to the CPUs that other processes leave free.

torch's OpenMP threads spin while they wait for each other, so when another process keeps one
of two cores busy, every parallel operation waits for the thread that has no core: an epoch
takes several times its idle time, while one thread takes about its idle time. During each
training and evaluation call, :func:`fitted_threads` runs torch with as many threads as there
are CPUs that other processes left free (read between calls, at most every 0.1 s; at least
one, at most the user's ``torch.get_num_threads()``), and restores the user's setting after the call.
It is off in deterministic mode and with ``DLCORE_ADAPT_THREADS=0``, the settings with which a
seeded run gives the same numbers whatever the load (a different thread count can change the
last bits of MKL's products; ``environment.json`` of a run folder records the setting).
"""

from __future__ import annotations

import contextlib
import time
from typing import Iterator

from dlcore.tuning import OtherLoad
from dlcore.tuning.cpuload import threads_follow_load

from .framework import import_torch

torch = import_torch()

INTERVAL = 0.1  # seconds between two readings of the other processes' load
STALE = 1.0  # a longer gap (no training in it) is not read: the load may have changed since

_load: OtherLoad | None = None
_fitted: int | None = None  # the thread count chosen at the last reading
_checked = 0.0
_user: int | None = None  # the user's thread count while a fitted call runs


def user_threads() -> int:
    """The user's torch thread count, also while a fitted call runs with fewer."""
    return _user if _user is not None else torch.get_num_threads()


def _free_threads(wanted: int) -> int:
    """Threads for the next call: the CPUs others left free, read at most every INTERVAL."""
    global _load, _fitted, _checked
    now = time.monotonic()
    if _load is None:
        _load, _checked = OtherLoad(), now
    elif now - _checked >= STALE:  # start a new window; all threads until it is read
        _load.read()
        _checked, _fitted = now, None
    elif now - _checked >= INTERVAL:
        others = _load.read()
        _checked = now
        _fitted = None if others is None else max(1, round(len(_load.cpus) - others))
    return wanted if _fitted is None else max(1, min(wanted, _fitted))


@contextlib.contextmanager
def fitted_threads(enabled: bool = True) -> Iterator[None]:
    """Run the block with torch's thread count fitted to the free CPUs, then restore it."""
    global _user
    if not enabled or _user is not None or not threads_follow_load():
        yield
        return
    wanted = torch.get_num_threads()
    threads = _free_threads(wanted)
    if threads == wanted:
        yield
        return
    _user = wanted
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(wanted)
        _user = None
