"""Flush-to-zero for torch's training steps, in every thread that does the work.

Adam's moments and the products of small gradients produce denormal floats, which x86 CPUs
handle slowly. TensorFlow and XLA (JAX) compute with denormals flushed to zero in their
threads; torch does not, and ``torch.set_flush_denormal`` sets only the calling thread, not
the OpenMP threads that run torch's parallel operations. :func:`flushing_denormals` runs a
parallel region of torch's own OpenMP runtime (``GOMP_parallel``) so that each of its threads
records its setting and turns flushing on, and restores each thread's setting on exit, so the
user's code outside dlcore's steps is unaffected.

Numerical effect: results and inputs below 1.18e-38 in magnitude (float32's smallest normal)
count as zero while training, as on TensorFlow and JAX. Where torch's OpenMP runtime is not
libgomp (macOS, Windows), only the calling thread is switched. ``DLCORE_FLUSH_DENORMALS=0``
leaves the threads as they are.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
import threading
from typing import Callable, Iterator

from .framework import import_torch

torch = import_torch()

_REGION = ctypes.CFUNCTYPE(None, ctypes.c_void_p)


def _flushes() -> bool:
    """Whether this thread flushes denormals (a one-element product, computed here)."""
    return bool(torch.tensor(1e-39) * 1.0 == 0)


def _openmp_parallel() -> Callable[[Callable[[], None]], None] | None:
    """Run a function once in each thread of torch's OpenMP team, or None without libgomp.

    ``GOMP_parallel`` is looked up through torch's own extension module, whose dependencies
    (``libtorch_cpu`` and the OpenMP runtime it links) are searched in turn: a process may hold
    several libgomp copies (scikit-learn's wheel brings its own, which Keras imports with
    TensorFlow), and a region of another copy runs in threads torch never uses."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        run = ctypes.CDLL(torch._C.__file__).GOMP_parallel
    except (OSError, AttributeError):
        return None
    run.argtypes = [_REGION, ctypes.c_void_p, ctypes.c_uint, ctypes.c_uint]
    run.restype = None

    def parallel(fn: Callable[[], None]) -> None:
        region = _REGION(lambda _: fn())  # kept alive until the region ends
        run(region, None, torch.get_num_threads(), 0)

    return parallel


_parallel = _openmp_parallel()


@contextlib.contextmanager
def flushing_denormals() -> Iterator[None]:
    """Flush denormals to zero in the calling thread and torch's OpenMP threads, then restore
    each thread's own setting. ``DLCORE_FLUSH_DENORMALS=0`` turns it off."""
    if os.environ.get("DLCORE_FLUSH_DENORMALS", "1") == "0":
        yield
        return
    before: dict[int, bool] = {}

    def switch_on() -> None:
        before.setdefault(threading.get_ident(), _flushes())  # the calling thread is in the team too
        torch.set_flush_denormal(True)

    def restore() -> None:
        torch.set_flush_denormal(before.get(threading.get_ident(), False))

    # The calling thread's setting is read before anything changes, and switched only after the
    # parallel region: threads that libgomp creates for it inherit the caller's setting, and
    # must record the one the user's code would have seen.
    before[threading.get_ident()] = _flushes()
    if _parallel is not None:
        _parallel(switch_on)
    switch_on()  # the calling thread, whatever the runtime
    try:
        yield
    finally:
        if _parallel is not None:
            _parallel(restore)
        restore()
