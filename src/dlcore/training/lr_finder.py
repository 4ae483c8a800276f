"""A learning-rate finder, as Lightning's ``lr_find``: a short run with the rate growing batch by
batch, the smoothed training loss at each rate, and the rate where the loss falls fastest.

:func:`find_lr` runs the search for :meth:`dlcore.Trainer.lr_find` and puts the model back as it
was; :class:`LRFinder` is its result.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..contract.backend import Model, Prepared
from ..contract.errors import ConfigError
from ..io.files import atomic_path
from ..plugins.manager import Registry
from ..version import pip_install
from ._callback import Callback, TrainerRef
from ._loop import Loop, resolve
from ._state import attach_optimizer

MODES = ("exponential", "linear")
BETA = 0.98  # the smoothing of the loss, Lightning's


class LRFinder:
    """What :meth:`dlcore.Trainer.lr_find` found: ``lrs``, the learning rates tried (one per
    batch), and ``losses``, the training loss smoothed over the batches before (Lightning's
    exponential moving average, debiased), one per rate; the search stops early where the
    loss diverged, so there may be fewer than ``num_training``.

    Example::

        finder = trainer.lr_find(model, train)
        print(finder.suggestion())        # e.g. 0.03
        finder.plot("lr_find.png")
    """

    def __init__(self, lrs: Sequence[float], losses: Sequence[float], mode: str = "exponential") -> None:
        self.lrs = [float(lr) for lr in lrs]
        self.losses = [float(loss) for loss in losses]
        self.mode = mode

    def __repr__(self) -> str:
        return f"LRFinder({len(self.lrs)} rates from {self.lrs[0]:.3g} to {self.lrs[-1]:.3g})" if self.lrs \
            else "LRFinder(no rates)"

    def suggestion(self, skip_begin: int = 10, skip_end: int = 1) -> float | None:
        """The rate where the smoothed loss falls fastest (the most negative gradient over the
        steps, Lightning's rule), leaving out the first ``skip_begin`` and the last
        ``skip_end`` rates; None where fewer than two finite losses remain.

        >>> LRFinder([1e-4, 1e-3, 1e-2, 1e-1, 1.0], [2.0, 1.9, 1.0, 0.9, 5.0]).suggestion(skip_begin=0)
        0.001
        """
        losses = np.asarray(self.losses[skip_begin:len(self.losses) - skip_end], np.float64)
        steps = np.arange(len(self.lrs))[skip_begin:len(self.losses) - skip_end]
        finite = np.isfinite(losses)
        if finite.sum() < 2:
            return None
        at = int(np.argmin(np.gradient(losses[finite])))
        return self.lrs[int(steps[finite][at])]

    def plot(self, path: str | Path | None = None, suggest: bool = True) -> Any:
        """The smoothed loss against the learning rate (a log axis for an exponential search),
        the suggestion marked with ``suggest``; a matplotlib Figure (no window: the Agg
        canvas), also written to ``path`` as a PNG where given.

        Example::

            trainer.lr_find(model, train).plot("lr_find.png")
        """
        try:
            from matplotlib.figure import Figure
        except ImportError:
            raise ConfigError(f"plots need matplotlib: {pip_install('plots')}") from None
        figure = Figure(figsize=(6, 4), dpi=100, layout="constrained")
        axes = figure.add_subplot()
        axes.plot(self.lrs, self.losses)
        if self.mode == "exponential":
            axes.set_xscale("log")
        axes.set_xlabel("learning rate")
        axes.set_ylabel("training loss (smoothed)")
        suggested = self.suggestion() if suggest else None
        if suggested is not None:
            at = self.lrs.index(suggested)
            axes.plot([suggested], [self.losses[at]], "o", markersize=8, color="red",
                      label=f"suggested {suggested:.3g}")
            axes.legend()
        axes.grid(True, alpha=0.3)
        if path is not None:
            with atomic_path(Path(path)) as tmp:
                figure.savefig(tmp, format="png", dpi=100)
        return figure


def search_rates(min_lr: float, max_lr: float, num_training: int, mode: str) -> np.ndarray:
    """The ``num_training`` rates of a search from ``min_lr`` to ``max_lr``, checked.

    >>> search_rates(1e-3, 1e-1, 3, "exponential").round(6).tolist()
    [0.001, 0.01, 0.1]
    """
    for name, value in (("min_lr", min_lr), ("max_lr", max_lr)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (value > 0 and math.isfinite(value)):
            raise ConfigError(f"{name} must be a positive number, got {value!r}")
    if not min_lr < max_lr:
        raise ConfigError(f"min_lr must be below max_lr, got {min_lr} and {max_lr}")
    if isinstance(num_training, bool) or not isinstance(num_training, numbers.Integral) or num_training < 2:
        raise ConfigError(f"num_training is the number of batches to try, an integer >= 2, got {num_training!r}")
    if mode not in MODES:
        raise ConfigError(f"mode must be 'exponential' or 'linear', got {mode!r}")
    steps = np.arange(num_training) / (num_training - 1)
    if mode == "exponential":
        return np.asarray(min_lr * (max_lr / min_lr) ** steps, np.float64)
    return np.asarray(min_lr + (max_lr - min_lr) * steps, np.float64)


def check_search(early_stop_threshold: float | None) -> None:
    """Refuse an ``early_stop_threshold`` that is not None nor a factor above 1 of the best
    loss, with a ConfigError.

    >>> check_search(4.0)
    >>> check_search(0.5)
    Traceback (most recent call last):
    dlcore.contract.errors.ConfigError: early_stop_threshold is a factor above 1 of the best loss (or None), got 0.5
    """
    if early_stop_threshold is not None and (isinstance(early_stop_threshold, bool) or not isinstance(
            early_stop_threshold, numbers.Real) or not early_stop_threshold > 1):
        raise ConfigError(f"early_stop_threshold is a factor above 1 of the best loss (or None), "
                          f"got {early_stop_threshold!r}")


class _Recorder(Callback):
    """Smooths each batch's loss and stops the search when the loss diverged or the rates ran out."""

    def __init__(self, total: int, threshold: float | None) -> None:
        self.total, self.threshold = total, threshold
        self.losses: list[float] = []
        self.average, self.best = 0.0, math.inf

    def on_train_batch_end(self, trainer: TrainerRef, model: Model, batch: int, logs: dict[str, Any]) -> None:
        step = len(self.losses)
        self.average = BETA * self.average + (1 - BETA) * logs["loss"]
        smoothed = self.average / (1 - BETA ** (step + 1))
        self.losses.append(smoothed)
        diverged = not math.isfinite(smoothed) or (
            self.threshold is not None and step > 0 and smoothed > self.threshold * self.best)
        if smoothed < self.best or step == 0:
            self.best = smoothed
        if diverged or len(self.losses) >= self.total:
            trainer.stop_training = True


def find_lr(trainer: TrainerRef, plugins: Registry, model: Model, data: Prepared, rates: np.ndarray,
            threshold: float | None, mode: str) -> LRFinder:
    """Train ``model`` on ``data`` one batch per rate of ``rates`` (epoch after epoch, in an order
    of its own), then put back its weights, optimizer, epoch, step and history.
    :meth:`dlcore.Trainer.lr_find` calls it with the data prepared and the rates checked.

    Example::

        rates = search_rates(1e-6, 1.0, 50, "exponential")
        finder = find_lr(trainer, registry(), model, prepared, rates, 4.0, "exponential")
    """
    weights = {name: np.array(w, copy=True) for name, w in model.get_weights().items()}
    kept = (model.optimizer, model.optimizer_name, model.optimizer_hyper, model.epoch, model.step,
            model.history_records, model.trained)
    rng = np.random.default_rng(trainer.seed)  # the trainer's RNG orders the next fit: left alone
    recorder = _Recorder(len(rates), threshold)
    try:
        model.optimizer = None
        attach_optimizer(trainer, plugins, model)  # a fresh one, for the search
        step = resolve(trainer, plugins, model, data.batch_size, True, ())
        step = step._replace(config=dataclasses.replace(step.config, accumulate=1))  # one update per rate
        loop = Loop(trainer)
        trainer.stop_training = False
        while not trainer.stop_training:
            done = len(recorder.losses)
            order = rng.permutation(data.num_samples) if trainer.shuffle and not data.native and data.num_samples \
                else None
            loop.run(trainer.backend.train_steps, model, data, step, order, None, [recorder], rates[done:])
            if len(recorder.losses) == done:
                break  # no batch at all
    finally:
        trainer.stop_training = False
        model.set_weights(weights)
        (model.optimizer, model.optimizer_name, model.optimizer_hyper, model.epoch, model.step,
         model.history_records, model.trained) = kept
        model.cache.clear()
    return LRFinder(rates[:len(recorder.losses)].tolist(), recorder.losses, mode)




__all__ = ["LRFinder", "check_search", "find_lr", "search_rates"]
