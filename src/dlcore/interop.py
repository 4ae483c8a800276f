"""Deprecated: weight files by suffix moved to :mod:`dlcore.formats` (removed in dlcore 0.3)."""

from __future__ import annotations

from typing import Any

from .deprecation import deprecated

deprecated("dlcore.interop", "dlcore.formats (read_weights, write_weights)")

from .formats import read_weights, write_weights  # noqa: E402

TORCH_SUFFIXES = (".pt", ".pth")
__all__ = ["read_weights", "write_weights", "TORCH_SUFFIXES"]


def __getattr__(name: str) -> Any:
    raise AttributeError(f"dlcore.interop has no {name!r}; it is deprecated, use dlcore.formats")
