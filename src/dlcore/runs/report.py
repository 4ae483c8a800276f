"""The end of a run: the test metrics with the confusion matrix into ``metrics.json``, the
history into ``history.csv``, and the plots into the run folder (``dlcore plot RUN`` draws
them again from the folder alone)."""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..contract.errors import ConfigError
from ..data.text import is_text
from ..tuning.cpuload import repeatability
from ..version import DISTRIBUTION, __version__, installed_version
from . import plots
from .folder import RunFolder
from .predict import class_names

PLOTS = ("samples.png", "learning_curves.png", "confusion_matrix.png", "top_losses.png")


def environment(trainer: Any) -> dict[str, Any]:
    """The versions a run ran with: dlcore, Python, the backend's framework, the device; and
    whether its numbers repeat whatever the machine's load (``repeatability``)."""
    return {"dlcore": __version__, "distribution": DISTRIBUTION, "python": platform.python_version(),
            "platform": platform.platform(), "machine": platform.machine(), "processor": platform.processor(),
            "cpus": os.cpu_count(), "numpy": installed_version("numpy"), "backend": trainer.backend_name,
            "framework": trainer.backend.versions(), "device": f"{trainer.device.name} ({trainer.device.description})",
            "repeatability": repeatability(bool(getattr(trainer, "deterministic", False))), "command": sys.argv}


def finish(run: RunFolder, trainer: Any, model: Any, test: Any, history: Any,
           checkpoint: str = "last.npz") -> dict[str, Any]:
    """Evaluate ``model`` on ``test`` (with the confusion matrix for classifiers), write
    ``metrics.json`` (saying which ``checkpoint`` of the run the model holds: last.npz, or
    best.npz after early stopping) and ``history.csv``; return the metrics."""
    run.write_history(list(history.records))
    try:
        metrics = trainer.evaluate(model, test, confusion_matrix=True)
    except ConfigError:  # a regression model has none
        metrics = trainer.evaluate(model, test)
    metrics = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in metrics.items()}
    run.write_json("metrics.json", {**metrics, "test_samples": len(test), "class_names": class_names(test),
                                    "epochs": len(history), "checkpoint": checkpoint})
    return metrics


def draw(run: RunFolder, trainer: Any, model: Any, train: Any, test: Any,
         say: Callable[[str], None] = lambda line: None) -> list[Path]:
    """The run's plots as PNGs in its folder: samples of the training data, the learning curves
    of history.csv, the confusion matrix of metrics.json, the test samples of largest loss.
    Without matplotlib: none, and ``say`` tells what installs it."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        say("plots: none drawn; pip install 'dlcore-ml[plots]' for them, then dlcore plot RUN")
        return []
    drawn = []
    metrics = run.metrics() if (run.path / "metrics.json").is_file() else {}
    jobs: list[tuple[str, Callable[[Path], Any]]] = [
        ("samples.png", lambda path: plots.samples(train, path=path)),
        ("learning_curves.png", lambda path: plots.learning_curves(run.history(), path)),
        ("confusion_matrix.png", lambda path: plots.confusion_matrix(metrics["confusion_matrix"],
                                                                    metrics.get("class_names"), path)),
        ("top_losses.png", lambda path: plots.top_losses(trainer, model, test, path=path)),
    ]
    for name, job in jobs:
        if name == "confusion_matrix.png" and "confusion_matrix" not in metrics:
            continue
        if name == "samples.png" and is_text(train.probe()[0]):
            continue
        try:
            job(run.path / name)
        except ConfigError as err:
            say(f"plots: {name} not drawn: {err}")
            continue
        drawn.append(run.path / name)
    return drawn


__all__ = ["PLOTS", "draw", "environment", "finish"]
