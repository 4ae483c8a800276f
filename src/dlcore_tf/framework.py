"""Importing TensorFlow safely and quietly in a process that may also load torch.

TensorFlow loaded before Triton's compiler library (which ``torch._dynamo`` loads: torch's
optimizers and torchvision import it) crashes the process when torch is imported later. So where
Triton is installed, its library is loaded first (about 0.15 s); torch itself (2 s or more) is
not imported for a TensorFlow-only run. TensorFlow's C++
libraries write lines to stderr before its logging starts (oneDNN notices, CUDA probes),
whatever ``TF_CPP_MIN_LOG_LEVEL`` says. dlcore sets that variable to 2 unless it is set, and
unless it is set below 2 (0: all logs) holds those lines back (``import_log()`` returns them;
an error shows them).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
import tempfile
from typing import Iterator

_LOG: list[str] = []
_QUIET = False  # whether dlcore holds TensorFlow's early lines back (decided at its import)


def import_log() -> str:
    """What TensorFlow wrote to stderr while dlcore held it back."""
    return "".join(_LOG)


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """Hold what the process writes to file descriptor 2 during the block (unless
    TF_CPP_MIN_LOG_LEVEL asks for TensorFlow's lines); on an error, write it out."""
    if not _QUIET:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        failed = False
        try:
            yield
        except BaseException:
            failed = True
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            text = held.read().decode(errors="replace")
            _LOG.append(text)
            if failed:
                sys.stderr.write(text)


def import_tensorflow():
    """Import TensorFlow (Triton's compiler library first, when installed), quietly."""
    global _QUIET
    if "tensorflow" in sys.modules:
        import tensorflow as tf

        return tf
    if importlib.util.find_spec("triton") is not None:
        import triton._C.libtriton  # noqa: F401  (what would crash if loaded after TensorFlow)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    _QUIET = os.environ["TF_CPP_MIN_LOG_LEVEL"] >= "2"  # set below 2 (as a parent dlcore never does): show them
    with quiet_stderr():
        import tensorflow as tf
    return tf
