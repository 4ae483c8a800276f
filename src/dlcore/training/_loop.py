"""The loop of a run: epochs of spans of batches, each span one backend call.

:class:`Loop` runs ``fit``'s epochs (order, learning rates, validation, callbacks) and the
spans of any run: it sums each span's losses and metric statistics into the epoch's values,
advances the progress bar, calls the batch hooks where a callback wants them, and in a group
of processes sums over the group. :class:`LearningRate` is the one owner of a fit's learning
rate: the loop asks it for each span's rates and tells the backend.
"""

from __future__ import annotations

import contextlib
import math
import time
from typing import Any, Callable, ContextManager, Iterator, NamedTuple, Sequence

import numpy as np

from ..contract.backend import Model, Prepared, Span, StepConfig, StepResults
from ..contract.errors import ConfigError, DistributedError, DlcoreError, TrainingError
from ..data.streaming import block_order, warn_skipped
from ..io.progress import Reporter, progress_bar
from ..parallel.sharding import all_gather, shard_order
from ..plugins.manager import Registry
from ._callback import Callback, TrainerRef, wants_batches
from ._group import group_error
from ._kernels import loss_function, metric_function
from .history import format_metrics
from .inputs import error_gist
from .schedules import Schedule

Step = Callable[[Model, StepConfig, Span], StepResults]


class Resolved(NamedTuple):
    """What a run's steps compute, resolved once: the backend's step configuration (with its
    loss and metric kernels) and the core's function turning each metric's statistics into its
    value."""

    config: StepConfig
    results: tuple[Callable[[np.ndarray, int], Any], ...]


def resolve(trainer: TrainerRef, plugins: Registry, model: Model, batch_size: int, training: bool,
            metrics: tuple[str, ...]) -> Resolved:
    """What each step of a run computes, with the functions computing the loss and metrics on
    the backend (:func:`._kernels.loss_function`) and the metrics' result functions."""
    loss, backend = trainer.loss_of(model), trainer.backend
    outputs = getattr(getattr(model.spec, "graph", None), "outputs", ())
    if len(outputs) > 1:
        raise ConfigError(f"this graph gives {len(outputs)} outputs ({', '.join(outputs)}); fit and evaluate take a "
                          "graph of one output (one loss): predict gives several side by side, and a graph of one "
                          "output trains them together (layers.concatenate() of the heads)")
    definitions = [plugins.metric(name) for name in metrics]
    config = StepConfig(loss, metrics, batch_size, trainer.clip_value if training else None,
                        trainer.clip_norm if training else None, trainer.accumulate if training else 1,
                        trainer.precision, loss_fn=loss_function(plugins, backend, loss, trainer.settings.loss_settings()),
                        metric_fns=tuple(metric_function(plugins, backend, name) for name in metrics),
                        reductions=tuple(metric.reduction for metric in definitions))
    return Resolved(config, tuple(plugins.metrics.load(metric, "result") for metric in definitions))


class LearningRate:
    """The learning rate of a fit: ``rate`` (the trainer's ``lr`` at the start; callbacks such as
    ReduceLROnPlateau change it as ``trainer.run_lr``) times the schedule's factor."""

    def __init__(self, rate: float, schedule: Schedule | None, epochs: int, accumulate: int) -> None:
        self.rate, self.schedule, self.epochs, self.accumulate = rate, schedule, epochs, accumulate

    def of_epoch(self, epoch: int, batches: int) -> float | np.ndarray:
        """The epoch's learning rate, or one per batch (a per-step schedule)."""
        schedule = self.schedule
        if schedule is None:
            return self.rate
        if schedule.unit == "epoch":
            return self.rate * schedule.factor(epoch - 1, schedule.total or self.epochs)
        per_epoch = math.ceil(batches / self.accumulate)
        total = schedule.total or self.epochs * per_epoch
        updates = (epoch - 1) * per_epoch + np.arange(batches) // self.accumulate
        factors = {int(t): schedule.factor(int(t), total) for t in np.unique(updates)}
        return np.array([self.rate * factors[int(t)] for t in updates], np.float64)


def span_rates(rates: float | np.ndarray, first: int, count: int) -> np.ndarray:
    """The rates of the ``count`` batches from batch ``first`` on: the epoch's rate, or each
    batch's (past the end, as a native pipeline's last span may reach: the last rate).

    >>> span_rates(np.array([0.3, 0.2, 0.1]), 2, 2).tolist()
    [0.1, 0.1]
    """
    if not isinstance(rates, np.ndarray):
        return np.full(count, rates, np.float64)
    part = rates[first:first + count]
    return np.concatenate([part, np.full(count - len(part), rates[-1])]) if len(part) < count else part


class Loop:
    """The loop of ``trainer``'s runs."""

    def __init__(self, trainer: TrainerRef) -> None:
        self.trainer, self.backend, self.strategy = trainer, trainer.backend, trainer.strategy

    # ------------------------------------------------------------------ fit

    def fit(self, model: Model, train: Any, data: Prepared, validation: Prepared | None, train_step: Resolved,
            val_step: Resolved | None, callbacks: Sequence[Callback], first_epoch: int, total: int) -> None:
        """Epochs ``first_epoch`` to ``epochs`` (or until a callback stops training) over ``data``
        (``total`` samples over every process), each validated on ``validation``."""
        trainer = self.trainer
        trainer.stop_training = False
        batch_hooks = callbacks if wants_batches(callbacks) else None
        for callback in callbacks:
            callback.on_train_begin(trainer, model)
        for epoch in range(first_epoch, trainer.epochs + 1):
            if trainer.stop_training:
                break
            for callback in callbacks:
                callback.on_epoch_begin(trainer, model, epoch)
            start = time.perf_counter()
            rates = trainer._learning_rate.of_epoch(epoch, data.num_batches or 0)
            desc = f"Epoch {epoch}/{trainer.epochs}"
            with progress_bar(data.num_batches, desc, trainer.progress, unit="batch") as bar:
                if trainer.verbose:
                    bar.write(f"{desc}\n-------------------------------")
                reporter = Reporter(bar, data.num_samples or 0, trainer.log_every if trainer.verbose else 0)
                loss, metrics, steps = self._train_epoch(epoch, model, data, train_step, self._order(data, total),
                                                         reporter, batch_hooks, rates)
                if data.stream is not None:
                    warn_skipped(train, data.stream.take_skipped(), f" in epoch {epoch}")
                record = {"epoch": epoch, "loss": loss, **metrics}
                if validation is not None and val_step is not None:
                    val_loss, val_metrics, _ = self.run(self.backend.evaluate_steps, model, validation, val_step)
                    val_record = {"val_loss": val_loss, **{f"val_{k}": v for k, v in val_metrics.items()}}
                    record.update(val_record)
                    for callback in callbacks:
                        callback.on_validation_end(trainer, model, epoch, dict(val_record))
                record["lr"] = float(rates[-1]) if isinstance(rates, np.ndarray) else rates
                record["seconds"] = time.perf_counter() - start
                bar.set_postfix_str(format_metrics(record))
            model.epoch, model.step = epoch, model.step + steps
            for callback in callbacks:  # the progress line and the History first
                callback.on_epoch_end(trainer, model, epoch, record)

    def _order(self, data: Prepared, total: int) -> np.ndarray | None:
        """The epoch's order of samples (None: as stored), this process's part in a group."""
        trainer, order = self.trainer, None
        if trainer.shuffle and not data.native:
            blocks = None if data.stream is None else data.stream.dataset.blocks
            order = trainer._rng.permutation(total) if blocks is None else block_order(trainer._rng, total, blocks)
        if self.strategy is not None:  # this process's part of each global batch
            order = shard_order(np.arange(total) if order is None else order, trainer.batch_size,
                                self.strategy.world_size, self.strategy.rank)
        return order

    def _train_epoch(self, epoch: int, model: Model, data: Prepared, step: Resolved, order: np.ndarray | None,
                     reporter: Reporter, batch_hooks: Sequence[Callback] | None,
                     rates: float | np.ndarray) -> tuple[float, dict[str, Any], int]:
        """One epoch's training run; its errors say the epoch (a group's: which worker)."""
        try:
            return self.run(self.backend.train_steps, model, data, step, order, reporter, batch_hooks, rates)
        except DistributedError:
            raise
        except TrainingError as err:
            raise TrainingError(f"epoch {epoch}: {err}; lower the learning rate (now {self.trainer.lr}) "
                                "or check the data for huge values") from None
        except Exception as err:
            broken = group_error(self.strategy, err, f"epoch {epoch}")
            if broken is None:
                raise
            raise broken from err

    # ------------------------------------------------------------------ spans

    def spans(self, data: Prepared, order: np.ndarray | None = None,
              one_batch: bool = False) -> Iterator[tuple[int, Span]]:
        """The epoch's spans of ``steps_per_call`` batches, or of one (native pipelines: until
        exhausted), each with the number of its first batch in the epoch. Streamed data: the
        spans of each chunk read, the chunk put on the device as data of its own."""
        per_call = 1 if one_batch else max(1, self.backend.steps_per_call)
        if data.native:
            batches = iter(data.payload)
            first = 0
            while True:
                yield first, Span(data, first, per_call, None, batches)
                first += per_call
        elif data.stream is not None:
            positions = order if order is not None else np.arange(data.num_samples or 0)
            for first, chunk in data.stream.chunks(positions, data.batch_size):
                part = data.stream.put(chunk, data.batch_size)
                total = part.num_batches or 0
                for local in range(0, total, per_call):
                    yield first + local, Span(part, local, min(per_call, total - local))
        else:
            total = data.num_batches or 0
            for first in range(0, total, per_call):
                yield first, Span(data, first, min(per_call, total - first), order)

    def run(self, step: Step, model: Model, data: Prepared, resolved: Resolved, order: np.ndarray | None = None,
            reporter: Reporter | None = None, batch_hooks: Sequence[Callback] | None = None,
            rates: float | np.ndarray | None = None) -> tuple[float, dict[str, Any], int]:
        """Run ``step`` over every span of ``data``: mean loss per sample, metrics, batches.
        Training (a ``reporter``) tells the backend the learning rate ``rates`` (the epoch's, or
        one per batch): with each span (a backend that supports "learning_rates"), else through
        ``set_learning_rate``. With ``batch_hooks`` (callbacks that want batches), one batch per
        span, the callbacks' batch hooks around it, and an early end when one sets
        ``stop_training``."""
        config, backend, trainer = resolved.config, self.backend, self.trainer
        per_batch = isinstance(rates, np.ndarray)
        told = "learning_rates" in backend.supports
        if rates is not None and not per_batch and not told:
            backend.set_learning_rate(model, float(rates))
        losses: list[Any] = []
        sizes: list[int] = []
        statistics: list[Any] = []
        batches = 0
        one_batch = batch_hooks is not None or (per_batch and not told)
        for first, span in self.spans(data, order, one_batch=one_batch):
            if rates is not None and told:
                span.learning_rates = span_rates(rates, first, span.count)
            elif isinstance(rates, np.ndarray):  # one batch per span, each told its rate
                backend.set_learning_rate(model, float(span_rates(rates, first, 1)[0]))
            if batch_hooks is not None:
                for callback in batch_hooks:
                    callback.on_train_batch_begin(trainer, model, batches)
            with self.bounded(reporter is not None):
                results = self.step(step, model, config, span)
            span_sizes = (results.sizes or []) if data.native else span.data.batch_sizes(span.first, span.count)
            if not span_sizes:
                break
            losses.append(results.losses)
            sizes += span_sizes
            statistics.append(list(results.statistics or []))
            if reporter is not None:
                self.report(reporter, results, batches, sizes)
            if batch_hooks is not None:
                logs = {"loss": float(np.atleast_1d(backend.to_numpy(results.losses))[0]), "size": span_sizes[0]}
                for callback in batch_hooks:
                    callback.on_train_batch_end(trainer, model, batches, logs)
            batches += len(span_sizes)
            if (data.native and len(span_sizes) < span.count) or (batch_hooks is not None and trainer.stop_training):
                break
        if not losses:
            return 0.0, {name: 0.0 for name in config.metrics}, 0
        if any(len(span) != len(config.metrics) for span in statistics):
            raise ConfigError(f"backend {backend.name!r} returned statistics for "
                              f"{len(statistics[0])} metrics, not for {list(config.metrics)}")
        step_losses = np.concatenate([np.atleast_1d(backend.to_numpy(x)) for x in losses]).astype(np.float64)
        totals = []
        for i, reduction in enumerate(config.reductions):
            arrays = [backend.to_numpy(span[i]).astype(np.float64) for span in statistics]
            totals.append(np.concatenate(arrays) if reduction == "concat" else np.asarray(np.sum(arrays, 0)))
        bad = ~np.isfinite(step_losses)
        loss_sum, count = float(step_losses @ np.asarray(sizes, np.float64)), int(np.sum(sizes))
        if reporter is not None and self.strategy is not None:  # a sharded epoch: every process's sums
            loss_sum, count, bad, totals = self.group_sums(loss_sum, count, bad, totals, config.reductions)
        if reporter is not None and bad.any():  # training: a diverging loss stops it
            first_bad = int(np.argmax(bad))
            raise TrainingError(f"the training loss became {step_losses[first_bad]} at step {first_bad + 1}")
        values = {name: result(total, count) for name, total, result in zip(config.metrics, totals, resolved.results)}
        return loss_sum / count, values, batches

    def bounded(self, training: bool) -> ContextManager[None]:
        """A training call in a group, bounded by the strategy (:meth:`Strategy.bounded`)."""
        return self.strategy.bounded() if training and self.strategy is not None else contextlib.nullcontext()

    def step(self, step: Step, model: Model, config: StepConfig, span: Span) -> StepResults:
        """One backend call; what the user's own model raises in it becomes a dlcore error."""
        if model.spec is not None:
            return step(model, config, span)
        try:
            return step(model, config, span)
        except DlcoreError:
            raise
        except Exception as err:  # the framework's error about the user's model, data or loss
            raise TrainingError(f"your {type(model.native).__name__} failed in a step with the loss {config.loss!r}: "
                                f"{error_gist(err)}; check that its outputs suit the loss (one per class for "
                                f"cross_entropy, one for binary_cross_entropy or a regression loss: Trainer(loss=...)) "
                                "and that the labels suit both") from err

    def report(self, reporter: Reporter, results: StepResults, before: int, sizes: list[int]) -> None:
        """Advance the progress bar over a span; log the losses the verbose log asks for."""
        count = len(sizes) - before
        wanted = [b for b in range(before, before + count) if reporter.wants_loss(b)]
        if wanted:
            values = np.atleast_1d(self.backend.to_numpy(results.losses))
            for b in wanted:
                reporter.log_loss(float(values[b - before]), int(sum(sizes[:b + 1])))
        reporter.advance(count)

    def group_sums(self, loss_sum: float, count: int, bad: np.ndarray, totals: list[np.ndarray],
                   reductions: tuple[str, ...]) -> tuple[float, int, np.ndarray, list[np.ndarray]]:
        """An epoch's loss sum, sample count, diverged steps and metric statistics over every
        process of the group (rows of "concat" metrics joined in rank order)."""
        assert self.strategy is not None
        summed = [i for i, how in enumerate(reductions) if how != "concat"]
        local = np.concatenate([[loss_sum, count, float(bad.any())], *(totals[i].ravel() for i in summed)])
        group = self.strategy.all_sum(local)
        totals, at = list(totals), 3
        for i in summed:
            totals[i] = group[at:at + totals[i].size].reshape(totals[i].shape)
            at += totals[i].size
        for i, how in enumerate(reductions):
            if how == "concat":
                totals[i] = all_gather(self.strategy, totals[i])
        return float(group[0]), int(group[1]), bad | (group[2] > 0), totals


__all__: list[str] = []
