"""A user's own loss, written once on :mod:`dlcore.ops`, for every backend.

A loss is ``fn(ops, outputs, targets, weights=None) -> the batch's mean loss``: ``outputs``
the logits (batch, outputs), ``targets`` the labels as given (class indices, one-hot rows, 0/1
or regression targets), ``weights`` one per sample where ``fit`` is given sample or class
weights (then: the mean of each sample's loss times its weight), ``ops`` the :mod:`dlcore.ops`
module. Pass it to the Trainer (``Trainer(loss=focal)``: registered under its ``__name__``), or
register it by name so a config, a checkpoint and the History name it::

    @dlcore.losses.register(binary=True)
    def focal(ops, outputs, targets, weights=None, gamma=2.0):
        p = ops.sigmoid(outputs[:, 0])
        y = ops.cast(targets, "float32")
        p_true = y * p + (1 - y) * (1 - p)
        return ops.mean(-(1 - p_true) ** gamma * ops.log(ops.clip(p_true, 1e-7, 1.0)))

    trainer = Trainer(loss="focal")  # or Trainer(loss=focal)

dlcore's own losses are in :mod:`dlcore.training.losses`, written the same way.
"""

from __future__ import annotations

from typing import Any, Callable

from .training._kernels import register as _register


def register(fn: Callable[..., Any] | None = None, *, name: str | None = None, binary: bool = False,
             regression: bool = False) -> Any:
    """Register ``fn`` as the loss ``name`` (default: its ``__name__``); ``binary``: one logit
    per sample and 0/1 labels; ``regression``: target values, not classes. Used bare
    (``@register``) or with settings (``@register(binary=True)``); returns ``fn``.

    Example::

        @dlcore.losses.register(regression=True)
        def pseudo_huber(ops, outputs, targets, weights=None):
            error = outputs - ops.reshape(ops.cast(targets, "float32"), ops.shape(outputs))
            return ops.mean(ops.sqrt(1 + error * error) - 1)

        trainer = Trainer(loss="pseudo_huber")
    """
    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        _register("loss", function, name, binary=binary, regression=regression)
        return function

    return decorate if fn is None else decorate(fn)


__all__ = ["register"]
