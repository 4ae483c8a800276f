"""Importing torch safely in a process that may also load TensorFlow.

Loading Triton's compiler library (which torch's compiler stack, ``torch._dynamo``, loads for
torchvision and torch's optimizers) after TensorFlow crashes the process with a segmentation
fault. dlcore's TensorFlow backend loads that library before TensorFlow; where TensorFlow came
first some other way, selecting the torch backend is refused with an error instead of a crash.
``torch._dynamo`` is imported eagerly, while it is still safe.
"""

from __future__ import annotations

import importlib.util
import sys
import warnings

from dlcore.contract import BackendError


def tensorflow_came_first() -> bool:
    """Whether TensorFlow was loaded in this process before torch."""
    return "tensorflow" in sys.modules and "torch" not in sys.modules


def import_torch():
    """Import torch (and torch._dynamo, eagerly, while it is still safe)."""
    if "torch._dynamo" in sys.modules:
        return sys.modules["torch"]
    late = tensorflow_came_first()
    if "tensorflow" in sys.modules and "triton._C.libtriton" not in sys.modules and importlib.util.find_spec("triton"):
        raise BackendError(
            "tensorflow was imported before torch; in one process torch must be imported first "
            "(TensorFlow then torch's compiler stack crashes). Import torch, or select the "
            "torch backend, before importing tensorflow, or use separate processes"
        )
    import torch
    import torch._dynamo  # noqa: F401

    if late:  # TensorFlow's CUDA libraries loaded first: torch's one-time CUDA probe warns (and finds no GPU)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.cuda.is_available()
    return torch
