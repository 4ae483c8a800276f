"""The base of every callback: the hooks ``Trainer.fit`` calls (the built-in callbacks are in
:mod:`dlcore.training.callbacks`; the History and the progress line in ``_progress``)."""

from __future__ import annotations

from typing import Any, Sequence

from ..contract.backend import Model
from .history import History


TrainerRef = Any
"""The ``Trainer`` a hook is given, typed as ``Any``: ``trainer.py`` imports this module, never the
reverse."""


class Callback:
    """Hooks called by ``Trainer.fit``; override the ones you need. A callback with
    ``chief_only = True`` (one that writes logs) runs only on rank 0 of a group of processes.

    Example::

        class PrintLoss(Callback):
            def on_epoch_end(self, trainer, model, epoch, logs):
                print(epoch, logs["loss"])

        trainer.fit(model, train, callbacks=[PrintLoss()])
    """

    chief_only = False

    def on_train_begin(self, trainer: TrainerRef, model: Model) -> None:
        """Called once before the first epoch with the Model."""

    def on_train_end(self, trainer: TrainerRef, model: Model, history: History) -> None:
        """Called once after the last epoch (also when a callback stopped training)."""

    def on_epoch_begin(self, trainer: TrainerRef, model: Model, epoch: int) -> None:
        """Called at the start of each epoch (1-based)."""

    def on_epoch_end(self, trainer: TrainerRef, model: Model, epoch: int, logs: dict[str, Any]) -> None:
        """Called after each epoch (validation included) with that epoch's record."""

    def on_train_batch_begin(self, trainer: TrainerRef, model: Model, batch: int) -> None:
        """Called before each training batch (0-based within the epoch). Overriding it makes
        the trainer run one batch per backend call."""

    def on_train_batch_end(self, trainer: TrainerRef, model: Model, batch: int, logs: dict[str, Any]) -> None:
        """Called after each training batch with ``{"loss": ...}`` (a host sync per batch).
        Overriding it makes the trainer run one batch per backend call."""

    def on_validation_end(self, trainer: TrainerRef, model: Model, epoch: int, logs: dict[str, Any]) -> None:
        """Called after each epoch's validation with ``val_loss`` and the ``val_`` metrics."""


BATCH_HOOKS = ("on_train_batch_begin", "on_train_batch_end")


def wants_batches(callbacks: Sequence[Callback]) -> bool:
    """Whether any callback overrides a batch hook (in its class, or as a LambdaCallback's):
    the trainer then runs one batch per backend call.

    >>> wants_batches([Callback()])
    False
    """
    return any(hook in vars(c) or getattr(type(c), hook) is not getattr(Callback, hook)
               for c in callbacks for hook in BATCH_HOOKS)


__all__: list[str] = []
