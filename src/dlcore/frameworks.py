"""Importing the frameworks safely in one process.

Importing TensorFlow before torch's compiler stack (``torch._dynamo``, which torchvision and
torch's optimizers load) crashes the process with a segmentation fault. Backends therefore
import frameworks only through these functions: torch and ``torch._dynamo`` always go first.
"""

from __future__ import annotations

import importlib.util
import os
import sys

from .errors import BackendError


def import_torch():
    """Import torch (and torch._dynamo, eagerly, while it is still safe)."""
    if "tensorflow" in sys.modules and "torch._dynamo" not in sys.modules:
        raise BackendError(
            "tensorflow was imported before torch; in one process torch must be imported first "
            "(TensorFlow then torch's compiler stack crashes). Import torch, or select the "
            "torch backend, before importing tensorflow, or use separate processes"
        )
    import torch
    import torch._dynamo  # noqa: F401

    return torch


def import_tensorflow():
    """Import TensorFlow, importing torch first when it is installed; quiets TF's C++ logs."""
    if "tensorflow" not in sys.modules and importlib.util.find_spec("torch") is not None:
        import_torch()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    return tf
