"""Progress bars (tqdm: in a terminal, and in notebooks with ipywidgets) and the tutorial-style loss log."""

from __future__ import annotations

import contextlib
import importlib.util
import sys
from typing import Any, Iterator


class _NoBar:
    """Stands in for a tqdm bar when none is shown."""

    def update(self, n: int = 1) -> None:
        pass

    def set_postfix_str(self, text: str) -> None:
        pass

    def write(self, text: str) -> None:
        print(text, flush=True)


def in_notebook() -> bool:
    """Whether this process is a Jupyter kernel (a notebook, JupyterLab, Colab)."""
    ipython = sys.modules.get("IPython")
    shell = getattr(ipython, "get_ipython", lambda: None)() if ipython else None
    return type(shell).__name__ in ("ZMQInteractiveShell", "Shell")  # Jupyter's, Colab's


def show_progress(progress: bool | None) -> bool:
    """Resolve ``progress=None`` (auto): a bar in a terminal, and in a notebook where
    ipywidgets can draw tqdm's notebook bar; elsewhere (a log file, a pipe, a notebook
    without ipywidgets) the trainer prints one line per epoch instead."""
    if progress is None:
        return sys.stderr.isatty() or (in_notebook() and importlib.util.find_spec("ipywidgets") is not None)
    return bool(progress)


@contextlib.contextmanager
def progress_bar(total: int | None, desc: str, progress: bool | None, unit: str = "it") -> Iterator[Any]:
    """A tqdm bar when progress is wanted, else an object with the same methods doing nothing."""
    if not show_progress(progress):
        yield _NoBar()
        return
    from tqdm.auto import tqdm

    with tqdm(total=total, desc=desc, unit=unit, unit_scale=unit == "B", leave=True,
              dynamic_ncols=True, file=sys.stderr) as bar:
        yield bar


class Reporter:
    """What a backend's training loop calls per batch: advance the bar, log the loss.

    ``log_every`` > 0 asks the loop for the loss every that many batches (a host sync), which is
    printed as the PyTorch tutorial's train_loop prints it: ``loss: 2.301  [   64/60000]``.
    """

    def __init__(self, bar: Any, num_samples: int, log_every: int = 0) -> None:
        self.bar = bar
        self.num_samples = num_samples
        self.log_every = log_every
        self.batches = 0

    def advance(self, batches: int = 1) -> None:
        self.batches += batches
        self.bar.update(batches)

    def wants_loss(self, batch: int) -> bool:
        return self.log_every > 0 and batch % self.log_every == 0

    def log_loss(self, loss: float, seen: int) -> None:
        self.bar.write(f"loss: {loss:>7f}  [{seen:>5d}/{self.num_samples:>5d}]")


__all__ = ["Reporter", "in_notebook", "progress_bar", "show_progress"]
