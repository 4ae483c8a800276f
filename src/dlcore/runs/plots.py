"""The tutorials' pictures, with matplotlib (``pip install 'dlcore-ml[plots]'``): a grid of
samples with their class names, learning curves, a confusion matrix and the samples with the
largest losses. Each function returns a matplotlib Figure (a notebook shows it inline) and,
given ``path``, saves it there as a PNG of ``figsize`` x 100 pixels. Figures are drawn
without pyplot, so nothing opens a window and no display is needed.

Example::

    from dlcore import datasets, plots
    train, test = datasets.fashion_mnist()
    plots.samples(train, path="samples.png")           # 3 x 3 images, titled by class
    plots.learning_curves(history, path="curves.png")  # history = trainer.fit(...)
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..contract.errors import ConfigError
from ..data.arrays import Dataset
from ..data.text import is_text
from ..io.files import atomic_path
from ..training.history import History
from ..version import pip_install
from .predict import as_images, class_names, per_sample_loss, probabilities

DPI = 100


def _figure(width: float, height: float) -> Any:
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ConfigError(f"plots need matplotlib: {pip_install('plots')}") from None
    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def save(figure: Any, path: str | Path) -> Path:
    """Write ``figure`` to ``path`` as a PNG, atomically.

    Example::

        figure = plots.samples(train)
        plots.save(figure, "samples.png")
    """
    path = Path(path)
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=DPI)
    return path


def _done(figure: Any, path: str | Path | None) -> Any:
    if path is not None:
        save(figure, path)
    return figure


def _title(names: Sequence[str] | None, label: Any) -> str:
    index = int(np.argmax(label)) if np.ndim(label) else int(label)
    return names[index] if names and 0 <= index < len(names) else str(index)


def _image_grid(images: np.ndarray, titles: list[str], columns: int, cell: float = 2.0) -> Any:
    rows = max(1, math.ceil(len(images) / columns))
    figure = _figure(columns * cell, rows * cell)
    for i, axes in enumerate(figure.subplots(rows, columns, squeeze=False).flat):
        axes.axis("off")
        if i < len(images):
            gray = images[i].ndim == 2
            axes.imshow(images[i], cmap="gray" if gray else None)
            axes.set_title(titles[i], fontsize=8)
    return figure


def samples(dataset: Dataset, n: int = 9, columns: int = 3, path: str | Path | None = None,
            seed: int | None = 0) -> Any:
    """A grid of ``n`` random samples (``seed``; None: the first ``n``) of an image dataset,
    each titled with its class name, as the PyTorch tutorial draws Fashion-MNIST.

    Example::

        plots.samples(train)                     # 3 x 3, shown inline in a notebook
        plots.samples(train, 16, 4, "grid.png")  # 4 x 4, saved
    """
    if not isinstance(dataset, Dataset):
        raise ConfigError(f"samples draws a dlcore Dataset, not a {type(dataset).__name__}")
    count = min(n, len(dataset))
    indices = np.arange(count) if seed is None else np.sort(np.random.default_rng(seed).permutation(len(dataset))[:count])
    features, labels = dataset.read(indices.astype(np.int64))
    names = class_names(dataset)
    return _done(_image_grid(as_images(features, dataset.channels), [_title(names, y) for y in labels], columns), path)


def learning_curves(history: History | Sequence[dict[str, Any]], path: str | Path | None = None) -> Any:
    """One panel per History column over the epochs: loss with val_loss, each metric with its
    validation twin, the learning rate.

    Example::

        history = trainer.fit(model, train, validation=0.1)
        plots.learning_curves(history, "curves.png")
    """
    records = list(history.records if isinstance(history, History) else history)
    if not records:
        raise ConfigError("learning_curves needs the history of at least one epoch")
    keys = list(dict.fromkeys(k for r in records for k in r if k not in ("epoch", "seconds")))
    panels = [k for k in keys if not k.startswith("val_")] + [k for k in keys if k.startswith("val_") and k[4:] not in keys]
    columns = min(3, len(panels))
    rows = math.ceil(len(panels) / columns)
    figure = _figure(4 * columns, 3 * rows)
    epochs = [r.get("epoch", i + 1) for i, r in enumerate(records)]
    for i, axes in enumerate(figure.subplots(rows, columns, squeeze=False).flat):
        if i >= len(panels):
            axes.axis("off")
            continue
        name = panels[i]
        for key, label in ((name, "train" if f"val_{name}" in keys else name), (f"val_{name}", "validation")):
            if key in keys:
                axes.plot(epochs, [r.get(key, math.nan) for r in records], marker="o", label=label)
        axes.set_title(name)
        axes.set_xlabel("epoch")
        axes.grid(alpha=0.3)
        axes.legend(fontsize=8)
    return _done(figure, path)


def confusion_matrix(matrix: Any, names: Sequence[str] | None = None, path: str | Path | None = None) -> Any:
    """Counts of true class (rows) against predicted class (columns), as
    ``trainer.evaluate(model, test, confusion_matrix=True)["confusion_matrix"]`` gives them.

    Example::

        metrics = trainer.evaluate(model, test, confusion_matrix=True)
        plots.confusion_matrix(metrics["confusion_matrix"], test.class_names, "confusion.png")
    """
    counts = np.asarray(matrix, dtype=np.int64)
    if counts.ndim == 1 and counts.size == 4:  # one logit: (tp, fp, fn, tn)
        tp, fp, fn, tn = counts
        counts = np.array([[tn, fp], [fn, tp]])
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1]:
        raise ConfigError(f"a confusion matrix is square, got shape {counts.shape}")
    size = counts.shape[0]
    labels = list(names) if names is not None and len(names) == size else [str(i) for i in range(size)]
    side = max(4.0, 0.6 * size + 2)
    figure = _figure(side, side)
    axes = figure.subplots()
    axes.imshow(counts, cmap="Blues")
    axes.set_xticks(range(size), labels, rotation=45, ha="right", fontsize=8)
    axes.set_yticks(range(size), labels, fontsize=8)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(f"{int(counts.sum())} samples, {np.trace(counts) / max(counts.sum(), 1):.2%} correct")
    high = counts.max() / 2 if counts.size else 0
    for (row, column), count in np.ndenumerate(counts):
        axes.text(column, row, str(count), ha="center", va="center", fontsize=7,
                  color="white" if count > high else "black")
    return _done(figure, path)


def top_losses(trainer: Any, model: Any, dataset: Dataset, k: int = 9, path: str | Path | None = None,
               columns: int = 3) -> Any:
    """The ``k`` samples of ``dataset`` with the largest loss under ``model``: images with
    "predicted / true / loss / probability", or for texts the reviews' beginnings.

    Example::

        plots.top_losses(trainer, model, test, k=9, path="top_losses.png")
    """
    features, labels = dataset.arrays()
    logits = trainer.predict(model, dataset)
    losses = per_sample_loss(logits, labels)
    worst = np.argsort(-losses, kind="stable")[:k]
    probs = probabilities(logits)
    names = class_names(dataset)
    titles = []
    for i in worst:
        predicted = int(np.argmax(probs[i]))
        titles.append(f"{_title(names, predicted)} / {_title(names, labels[i])}\n"
                      f"loss {losses[i]:.2f}, p {probs[i][predicted]:.2f}")
    if is_text(features):
        figure = _figure(10, 0.9 * len(worst) + 0.5)
        axes = figure.subplots()
        axes.axis("off")
        axes.set_title("predicted / true: the largest losses", fontsize=10)
        for row, (i, title) in enumerate(zip(worst, titles)):
            text = " ".join(str(features[i]).split())
            axes.text(0, 1 - (row + 0.5) / len(worst), f"{title.replace(chr(10), ', ')}: {text[:110]}...",
                      fontsize=7, va="center", transform=axes.transAxes)
        return _done(figure, path)
    figure = _image_grid(as_images(features[worst], dataset.channels), titles, columns, cell=2.4)
    figure.suptitle("predicted / true, the largest losses first", fontsize=10)
    return _done(figure, path)


__all__ = ["confusion_matrix", "learning_curves", "samples", "save", "top_losses"]
