"""Deprecated: each backend imports its own framework now (removed in dlcore 0.3).

``import_torch()`` and ``import_tensorflow()`` still work: they load the backend, which imports
its framework in the safe order (torch before TensorFlow), and return the framework module.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from .backend import get_backend
from .deprecation import deprecated


def import_torch() -> ModuleType:
    deprecated("dlcore.frameworks.import_torch()", "dlcore.get_backend('torch'), then import torch")
    get_backend("torch")
    return importlib.import_module("torch")


def import_tensorflow() -> ModuleType:
    deprecated("dlcore.frameworks.import_tensorflow()", "dlcore.get_backend('tensorflow'), then import tensorflow")
    get_backend("tensorflow")
    return importlib.import_module("tensorflow")
