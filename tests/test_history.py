"""The History a fit returns: per-metric lists by epoch, a DataFrame, and a clear error for a
metric it does not hold."""

from __future__ import annotations

import pytest

from dlcore import History


def test_history_metrics_and_dataframe():
    history = History()
    history.append({"epoch": 1, "loss": 1.0, "accuracy": 0.5, "seconds": 1.0})
    history.append({"epoch": 2, "loss": 0.5, "accuracy": 0.8, "seconds": 1.0})
    assert history["loss"] == [1.0, 0.5]
    assert history.history["accuracy"] == [0.5, 0.8]
    frame = history.to_dataframe()
    assert list(frame.index) == [1, 2] and frame.loc[2, "accuracy"] == 0.8
    with pytest.raises(KeyError, match="no metric 'val_loss'"):
        history["val_loss"]
