"""Progress bars (tqdm, shown only in a terminal) and the tutorial-style loss log."""

from __future__ import annotations

import contextlib
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


def show_progress(progress: bool | None) -> bool:
    """Resolve ``progress=None`` (auto) to whether stderr is a terminal."""
    if progress is None:
        return sys.stderr.isatty()
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


__all__ = ["Reporter", "progress_bar", "show_progress"]
