"""Per-epoch training records and training callbacks."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ConfigError

if TYPE_CHECKING:
    from .models import Model
    from .trainer import Trainer


class History:
    """One record per epoch: loss, accuracy, val_loss, val_accuracy, seconds.

    ``history["loss"]`` gives one metric across epochs; ``history.to_dataframe()`` a pandas
    DataFrame indexed by epoch.
    """

    def __init__(self, records: list[dict[str, Any]] | None = None) -> None:
        self.records: list[dict[str, Any]] = list(records or [])

    def append(self, record: dict[str, Any]) -> None:
        self.records.append(dict(record))

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, metric: str) -> list[Any]:
        if self.records and metric not in self.records[0]:
            raise KeyError(f"no metric {metric!r}; recorded: {', '.join(self.records[0])}")
        return [r.get(metric) for r in self.records]

    @property
    def history(self) -> dict[str, list[Any]]:
        """Metrics as a dict of lists, as Keras' History.history."""
        keys = [k for k in (self.records[0] if self.records else {}) if k != "epoch"]
        return {k: self[k] for k in keys}

    @property
    def last(self) -> dict[str, Any]:
        return self.records[-1] if self.records else {}

    def to_dataframe(self) -> Any:
        """The records as a pandas DataFrame indexed by epoch."""
        import pandas as pd

        return pd.DataFrame.from_records(self.records).set_index("epoch")

    def __repr__(self) -> str:
        return f"History({len(self)} epochs, last={self.last})"


class Callback:
    """Hooks called by ``Trainer.fit``; override the ones you need."""

    def on_train_begin(self, trainer: Trainer, model: Model) -> None:
        """Called once before the first epoch with the backend Model."""

    def on_epoch_end(self, trainer: Trainer, model: Model, epoch: int, logs: dict[str, Any]) -> None:
        """Called after each epoch (validation included) with that epoch's record."""

    def on_train_end(self, trainer: Trainer, model: Model, history: History) -> None:
        """Called once after the last epoch."""


def format_metrics(record: dict[str, Any]) -> str:
    """``loss 0.4123 - accuracy 85.10% - val_loss ...`` for one epoch record."""
    parts = []
    for key, value in record.items():
        if key in ("epoch", "seconds"):
            continue
        parts.append(f"{key} {value:.2%}" if key.endswith("accuracy") else f"{key} {value:.4f}")
    return " - ".join(parts)


class Checkpointing(Callback):
    """Save a checkpoint every ``every`` epochs to ``directory/last.npz``, and to
    ``directory/best.npz`` whenever ``monitor`` improves (``mode`` "min", "max", or "auto":
    "min" for losses). A failed epoch (e.g. a NaN loss) saves nothing, so both files keep
    the last good state."""

    def __init__(self, directory: str | Path, every: int = 1, monitor: str | None = "val_loss", mode: str = "auto") -> None:
        if every < 1:
            raise ConfigError(f"every must be >= 1, got {every}")
        if mode not in ("auto", "min", "max"):
            raise ConfigError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
        self.directory = Path(directory)
        self.every = every
        self.monitor = monitor
        self.mode = ("min" if monitor and "loss" in monitor else "max") if mode == "auto" else mode
        self.best: float | None = None

    @property
    def last_path(self) -> Path:
        return self.directory / "last.npz"

    @property
    def best_path(self) -> Path:
        return self.directory / "best.npz"

    def on_epoch_end(self, trainer: Trainer, model: Model, epoch: int, logs: dict[str, Any]) -> None:
        if epoch % self.every == 0:
            trainer.save(model, self.last_path)
        if self.monitor is None:
            return
        if self.monitor not in logs:
            raise ConfigError(f"Checkpointing monitors {self.monitor!r}, which fit does not record "
                              f"(it records {', '.join(k for k in logs if k != 'epoch')}); pass "
                              "validation data or choose another metric")
        value = logs[self.monitor]
        if self.best is None or (value < self.best if self.mode == "min" else value > self.best):
            self.best = value
            trainer.save(model, self.best_path, {"monitor": self.monitor, "value": value, "epoch": epoch})
