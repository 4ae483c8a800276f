"""torch's intra-op threads fitted to the CPUs that other processes leave free.

torch's OpenMP threads spin while they wait for each other, so when another process keeps one
of two cores busy, every parallel operation waits for the thread that has no core: an epoch
takes several times its idle time, while one thread takes about its idle time. During each
training and evaluation call, :func:`fitted_threads` runs torch with as many threads as there
are CPUs that other processes left free (read between calls, at most every 0.1 s; at least
one, at most the user's ``torch.get_num_threads()``), and restores the user's setting after the call.
It is off in deterministic mode and with ``DLCORE_ADAPT_THREADS=0``.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

from dlcore.tuning import ENV_ADAPT, FreeCpus, adapting

from .framework import import_torch

torch = import_torch()

_free = FreeCpus()
_user: int | None = None  # the user's thread count while a fitted call runs


def user_threads() -> int:
    """The user's torch thread count, also while a fitted call runs with fewer."""
    return _user if _user is not None else torch.get_num_threads()


def _free_threads(wanted: int) -> int:
    """Threads for the next call: the CPUs others left free, read at most every 0.1 s."""
    free = _free.count()
    return wanted if free is None else max(1, min(wanted, free))


@contextlib.contextmanager
def fitted_threads(enabled: bool = True) -> Iterator[None]:
    """Run the block with torch's thread count fitted to the free CPUs, then restore it."""
    global _user
    if not enabled or _user is not None or not adapting():
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


__all__ = ["ENV_ADAPT", "fitted_threads", "user_threads"]
