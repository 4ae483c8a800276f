"""The base of a backend's table of operations, and the error of a failed operation."""

from __future__ import annotations

from typing import Any

from ..contract.errors import ConfigError


class OpsError(ConfigError):
    """An operation of ``dlcore.ops`` failed or does not exist on a backend: the message names
    the operation, the backend and, inside a layer, the layer.

    Example::

        try:
            ops.reshape(x, (3, 3))
        except ops.OpsError as error:
            print(error)  # ops.reshape(array(4, 5) float32, (3, 3)) on numpy: ValueError: ...
    """


class Table:
    """A backend's operations: a subclass implements the functions of this module by the same
    names and signatures (without ``like``), and says which arrays are its own. A table may
    also give ``gradients(function, arrays)``: the gradients of the scalar ``function(*arrays)``
    by each array, by its framework's autodiff (:mod:`dlcore.testing` checks them).

    Example::

        class MyTable(Table):
            name = "mxnet"

            def owns(self, value):
                return isinstance(value, mx.nd.NDArray)

            def exp(self, x):
                return mx.nd.exp(x)
            ...  # every name of dlcore.ops.NAMES
    """

    name = ""

    def owns(self, value: Any) -> bool:
        """Whether ``value`` is an array (or tensor, variable, tracer) of this table's framework."""
        raise NotImplementedError
