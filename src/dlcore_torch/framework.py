"""Importing torch safely in a process that may also load TensorFlow.

Importing TensorFlow before torch's compiler stack (``torch._dynamo``, which torchvision and
torch's optimizers load) crashes the process with a segmentation fault, so torch and
``torch._dynamo`` are imported together, first.
"""

from __future__ import annotations

import sys

from dlcore.errors import BackendError


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
