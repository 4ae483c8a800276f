"""Deprecation warnings: a public name that is renamed or removed keeps working, with a
``DeprecationWarning``, for one minor version (see CHANGELOG.md)."""

from __future__ import annotations

import warnings


def deprecated(old: str, new: str, since: str = "0.2", removed_in: str = "0.3") -> None:
    """Warn that ``old`` is deprecated in favour of ``new``."""
    warnings.warn(f"{old} is deprecated since dlcore {since} and will be removed in {removed_in}; use {new}",
                  DeprecationWarning, stacklevel=3)
