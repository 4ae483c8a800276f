"""The callbacks every fit installs before the user's (as Keras installs its History and
progress logger): the per-epoch progress line, and the History that ``fit`` returns."""

from __future__ import annotations

import sys
from typing import Any

from ..contract.backend import Model
from ..io.progress import show_progress
from ._callback import Callback, TrainerRef
from .history import History, format_metrics


def epoch_line(trainer: TrainerRef, epoch: int, logs: dict[str, Any]) -> str:
    """``Epoch 2/10: loss 0.4123 - accuracy 85.10% (1.2 s)``."""
    return f"Epoch {epoch}/{trainer.epochs}: {format_metrics(logs)} ({logs['seconds']:.1f} s)"


class ProgressLine(Callback):
    """One line per epoch: on stdout with ``verbose``; else on stderr where no progress bar
    is shown by default (a log file, a pipe, a notebook), on rank 0 of a group."""

    def on_epoch_end(self, trainer: TrainerRef, model: Model, epoch: int, logs: dict[str, Any]) -> None:
        if trainer.verbose:
            print(epoch_line(trainer, epoch, logs), flush=True)
        elif trainer.progress is None and trainer.is_chief and not show_progress(None):
            print(epoch_line(trainer, epoch, logs), file=sys.stderr, flush=True)


class HistoryRecorder(Callback):
    """Appends each epoch's record to ``history`` (a resumed fit's starts with the saved
    epochs) and keeps the model's copy of it, which checkpoints save."""

    def __init__(self, history: History) -> None:
        self.history = history

    def on_epoch_end(self, trainer: TrainerRef, model: Model, epoch: int, logs: dict[str, Any]) -> None:
        self.history.append(logs)
        model.history_records = tuple(self.history.records)


__all__: list[str] = []
