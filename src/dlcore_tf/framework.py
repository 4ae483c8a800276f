"""Importing TensorFlow safely in a process that may also load torch.

TensorFlow imported before torch's compiler stack (``torch._dynamo``) crashes the process when
torch is imported later, so where torch is installed it is imported first.
"""

from __future__ import annotations

import importlib.util
import os
import sys


def import_tensorflow():
    """Import TensorFlow (torch and torch._dynamo first, when installed); quiet TF's C++ logs."""
    if "tensorflow" not in sys.modules and importlib.util.find_spec("torch") is not None:
        import torch  # noqa: F401
        import torch._dynamo  # noqa: F401
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    return tf
