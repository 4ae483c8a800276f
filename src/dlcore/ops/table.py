"""The base of a backend's table of operations, and the error of a failed operation."""

from __future__ import annotations

from typing import Any

from ..contract.errors import ConfigError


class OpsError(ConfigError):
    """An operation of ``dlcore.ops`` failed or does not exist on a backend: the message names
    the operation, the backend and, inside a layer, the layer."""


class Table:
    """A backend's operations: a subclass implements the functions of this module by the same
    names and signatures (without ``like``), and says which arrays are its own."""

    name = ""

    def owns(self, value: Any) -> bool:
        """Whether ``value`` is an array (or tensor, variable, tracer) of this table's framework."""
        raise NotImplementedError
