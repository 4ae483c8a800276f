"""A user's own metric, written once on :mod:`dlcore.ops`, for every backend.

A metric function is ``fn(ops, outputs, targets) -> one value per sample`` (shape (batch,));
the metric is their mean over the epoch, as Keras averages a metric function. Give it in the
Trainer's ``metrics`` (``metrics=["accuracy", hinge_error]``: registered under its
``__name__``, the History's key), or register it by name::

    @dlcore.metrics.register
    def squared_margin(ops, outputs, targets):
        return ops.square(ops.max(outputs, -1) - ops.min(outputs, -1))

    trainer = Trainer(metrics=["accuracy", "squared_margin"])

dlcore's own metrics (statistics summed over the epoch, then a result in numpy) are
:class:`dlcore.contract.Metric` records; their statistics on ops are in
:mod:`dlcore.training.losses`.
"""

from __future__ import annotations

from typing import Any, Callable

from .training._kernels import register as _register


def register(fn: Callable[..., Any] | None = None, *, name: str | None = None) -> Any:
    """Register ``fn`` as the metric ``name`` (default: its ``__name__``); used bare
    (``@register``) or with a name (``@register(name="margin")``); returns ``fn``.

    Example::

        @dlcore.metrics.register
        def hit_rate(ops, outputs, targets):
            return ops.cast(ops.argmax(outputs, axis=1) == targets, "float32")

        trainer = Trainer(metrics=["accuracy", "hit_rate"])
    """
    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        _register("metric", function, name)
        return function

    return decorate if fn is None else decorate(fn)


__all__ = ["register"]
