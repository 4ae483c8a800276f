"""Per-epoch training records (the callbacks are in :mod:`dlcore.callbacks`)."""

from __future__ import annotations

from typing import Any


class History:
    """One record per epoch: loss, the metrics, val_loss, the val_ metrics, lr (the learning
    rate in use), seconds.

    ``history["loss"]`` gives one metric across epochs; ``history.to_dataframe()`` a pandas
    DataFrame indexed by epoch.

    >>> from dlcore import History
    >>> history = History([{"epoch": 1, "loss": 0.9, "accuracy": 0.6},  # as trainer.fit returns it
    ...                    {"epoch": 2, "loss": 0.5, "accuracy": 0.8}])
    >>> history["loss"], history.last["accuracy"]
    ([0.9, 0.5], 0.8)
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


def format_metrics(record: dict[str, Any]) -> str:
    """``loss 0.4123 - accuracy 85.10% - val_loss ...`` for one epoch record."""
    parts = []
    for key, value in record.items():
        if key in ("epoch", "seconds", "lr"):
            continue
        parts.append(f"{key} {value:.2%}" if key.endswith("accuracy") else f"{key} {value:.4f}")
    return " - ".join(parts)



__all__ = ["History", "format_metrics"]
