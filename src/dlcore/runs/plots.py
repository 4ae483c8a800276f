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
import textwrap
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
    """One panel per History column over the epochs (whole numbers on the axis): loss with
    val_loss, each metric with its validation twin, and the learning rate where it changed (a
    constant rate is named in the figure's title instead).

    Example::

        history = trainer.fit(model, train, validation=0.1)
        plots.learning_curves(history, "curves.png")
    """
    from matplotlib.ticker import MaxNLocator

    records = list(history.records if isinstance(history, History) else history)
    if not records:
        raise ConfigError("learning_curves needs the history of at least one epoch")
    keys = list(dict.fromkeys(k for r in records for k in r if k not in ("epoch", "seconds")))
    rates = {r["lr"] for r in records if "lr" in r}
    constant = len(rates) == 1 and len(keys) > 1
    if constant:
        keys.remove("lr")
    panels = [k for k in keys if not k.startswith("val_")] + [k for k in keys if k.startswith("val_") and k[4:] not in keys]
    columns = min(3, len(panels))
    rows = math.ceil(len(panels) / columns)
    figure = _figure(4 * columns, 3 * rows)
    if constant:
        figure.suptitle(f"learning rate {rates.pop():g} throughout", fontsize=9)
    epochs = [r.get("epoch", i + 1) for i, r in enumerate(records)]
    for i, axes in enumerate(figure.subplots(rows, columns, squeeze=False).flat):
        if i >= len(panels):
            axes.remove()
            continue
        name = panels[i]
        for key, label in ((name, "train" if f"val_{name}" in keys else name), (f"val_{name}", "validation")):
            if key in keys:
                axes.plot(epochs, [r.get(key, math.nan) for r in records], marker="o", label=label)
        axes.set_title(name)
        axes.set_xlabel("epoch")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.grid(alpha=0.3)
        axes.legend(fontsize=8)
    return _done(figure, path)


NORMALIZE = {"true": "each true class's row sums to 1", "pred": "each predicted class's column sums to 1",
             "all": "all cells sum to 1"}


def confusion_matrix(matrix: Any, names: Sequence[str] | None = None, path: str | Path | None = None,
                     normalize: str | None = None) -> Any:
    """Counts of true class (rows) against predicted class (columns), as
    ``trainer.evaluate(model, test, confusion_matrix=True)["confusion_matrix"]`` gives them;
    with ``normalize`` (scikit-learn's names) fractions instead: "true" over each row (the
    recall of each class on the diagonal), "pred" over each column (the precision), "all"
    over every sample.

    Example::

        metrics = trainer.evaluate(model, test, confusion_matrix=True)
        plots.confusion_matrix(metrics["confusion_matrix"], test.class_names, "confusion.png")
        plots.confusion_matrix(metrics["confusion_matrix"], test.class_names, normalize="true")
    """
    if normalize is not None and normalize not in NORMALIZE:
        raise ConfigError(f"normalize must be 'true', 'pred', 'all' or None, got {normalize!r}")
    counts = np.asarray(matrix, dtype=np.int64)
    if counts.ndim == 1 and counts.size == 4:  # one logit: (tp, fp, fn, tn)
        tp, fp, fn, tn = counts
        counts = np.array([[tn, fp], [fn, tp]])
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1]:
        raise ConfigError(f"a confusion matrix is square, got shape {counts.shape}")
    values: np.ndarray = counts.astype(np.float64)
    if normalize is not None:
        sums = {"true": counts.sum(axis=1, keepdims=True), "pred": counts.sum(axis=0, keepdims=True),
                "all": counts.sum()}[normalize]
        values = np.divide(values, sums, out=np.zeros_like(values), where=np.asarray(sums) > 0)
    size = counts.shape[0]
    labels = list(names) if names is not None and len(names) == size else [str(i) for i in range(size)]
    side = max(4.0, 0.6 * size + 2)
    figure = _figure(side, side)
    axes = figure.subplots()
    axes.imshow(values, cmap="Blues")
    axes.set_xticks(range(size), labels, rotation=45, ha="right", fontsize=8)
    axes.set_yticks(range(size), labels, fontsize=8)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    title = f"{int(counts.sum())} samples, {np.trace(counts) / max(counts.sum(), 1):.2%} correct"
    axes.set_title(title if normalize is None else f"{title}\n{NORMALIZE[normalize]}")
    high = values.max() / 2 if values.size else 0
    for (row, column), value in np.ndenumerate(values):
        axes.text(column, row, f"{value:.2f}" if normalize else str(int(value)), ha="center", va="center",
                  fontsize=7, color="white" if value > high else "black")
    return _done(figure, path)


def _loss_label(names: Sequence[str] | None, probs: np.ndarray, label: Any, loss: float) -> str:
    """Whose probability is whose: "pred Shirt 0.71 / true Coat 0.16" and the loss."""
    predicted = int(np.argmax(probs))
    label = np.asarray(label).reshape(-1)
    true = int(np.argmax(label)) if label.size > 1 else int(round(float(label[0])))  # one-hot, else the class (0/1)
    p_true = probs[true] if 0 <= true < len(probs) else math.nan
    if predicted == true:
        return f"pred = true {_title(names, true)} {p_true:.2f}\nloss {loss:.2f}"
    return (f"pred {_title(names, predicted)} {probs[predicted]:.2f} / true {_title(names, true)} {p_true:.2f}\n"
            f"loss {loss:.2f}")


def top_losses(trainer: Any, model: Any, dataset: Dataset, k: int = 9, path: str | Path | None = None,
               columns: int = 3) -> Any:
    """The ``k`` samples of ``dataset`` with the largest loss under ``model``, each labelled
    with the predicted and the true class and the model's probability of each ("pred Shirt
    0.71 / true Coat 0.16") and its loss: images in a grid, or texts one under the other,
    each wrapped over a few lines.

    Example::

        plots.top_losses(trainer, model, test, k=9, path="top_losses.png")
    """
    features, labels = dataset.arrays()
    logits = trainer.predict(model, dataset)
    losses = per_sample_loss(logits, labels)
    worst = np.argsort(-losses, kind="stable")[:k]
    probs = probabilities(logits)
    names = class_names(dataset)
    titles = [_loss_label(names, probs[i], labels[i], losses[i]) for i in worst]
    if is_text(features):
        return _done(_text_losses([str(features[i]) for i in worst], titles), path)
    figure = _image_grid(as_images(features[worst], dataset.channels), titles, columns, cell=2.6)
    figure.suptitle("the largest losses first: the predicted and the true class, with the model's probability of each",
                    fontsize=9)
    return _done(figure, path)


TEXT_WIDTH, TEXT_LINES = 100, 4  # characters a line, lines a review


def _text_losses(texts: list[str], titles: list[str]) -> Any:
    """Texts one under the other, each under its label, wrapped over up to TEXT_LINES lines."""
    blocks = [textwrap.wrap(" ".join(text.split()), TEXT_WIDTH, max_lines=TEXT_LINES, placeholder=" ...") or [""]
              for text in texts]
    heights = [len(lines) + 1.6 for lines in blocks]
    figure = _figure(10, 0.2 * sum(heights) + 0.6)
    figure.suptitle("the largest losses first: the predicted and the true class, with the model's probability of each",
                    fontsize=10)
    for axes, title, lines in zip(figure.subplots(len(blocks), 1, squeeze=False, height_ratios=heights).flat,
                                  titles, blocks):
        axes.axis("off")
        axes.text(0, 1, title.replace("\n", ", "), fontsize=9, fontweight="bold", va="top", transform=axes.transAxes)
        axes.text(0, 1 - 1.3 / (len(lines) + 1.6), "\n".join(lines), fontsize=9, va="top", transform=axes.transAxes)
    return figure


__all__ = ["confusion_matrix", "learning_curves", "samples", "save", "top_losses"]
