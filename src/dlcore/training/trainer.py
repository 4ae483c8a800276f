"""The Trainer: one fit / evaluate / predict loop over every backend.

This module owns what is the same everywhere: settings and their checks, data checks, the
order of samples and batches, the kernels a run uses (resolved here, once), losses and metrics
accumulated over an epoch, validation, history, progress, checkpoints, and the
:class:`Callback` hooks the loop calls (the built-in callbacks are in
:mod:`dlcore.training.callbacks`). A backend (:mod:`dlcore.contract`) supplies the steps over
spans of batches.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import inspect
import math
import numbers
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Callable, ContextManager, Iterator, NamedTuple, Sequence

import numpy as np

from ..contract.backend import Backend, Model, Prepared, Span, StepConfig, StepResults
from ..contract.devices import Device
from ..contract.errors import (
    CheckpointError, ConfigError, DataError, DistributedError, DlcoreError, TrainingError,
)
from ..contract.specs import ModelSpec
from ..contract.strategy import Strategy, broadcast_weights
from ..data.arrays import ArrayDataset, Dataset, as_dataset, standard_dtypes, standard_labels
from ..data.frames import from_dataframe, is_dataframe
from ..data.huggingface import from_huggingface, is_huggingface
from ..data.prefetch import Chunk, Prefetcher
from ..data.streaming import Stream, batch_bytes, block_order, chunk_batches, warn_skipped
from ..data.streaming import memory_budget as memory_budget_of
from ..data.text import is_text
from ..deprecation import deprecated
from ..io.checkpoint import TrainingCheckpoint
from ..io.formats import other_format, read_weights, write_weights
from ..io.progress import Reporter, progress_bar, show_progress
from ..models.layers import Sequential
from ..parallel.ray import RayLauncher
from ..parallel.sharding import all_gather, check_batch, check_shards, shard_order
from ..plugins.backends import get_backend
from ..plugins.manager import Registry, registry
from ..tuning.choices import hold_measurements
from .history import History, format_metrics
from .inputs import check_features, error_gist, looks_unscaled, sample_weights, shape_hint
from .labels import check_labels
from .optimizers import DEFAULT_LR, OptimizerConfig, as_config, from_layout_0_1, slots
from .schedules import Schedule

PRECISIONS = ("32", "bf16-mixed", "16-mixed")


def __getattr__(name: str) -> Any:
    if name in ("OPTIMIZERS", "LOSSES"):  # the closed tuples before optimizers and losses were hooks
        point = "optimizers" if name == "OPTIMIZERS" else "losses"
        deprecated(f"dlcore.trainer.{name}", f"the dlcore_{point} hook (dlcore.plugins.registry().{point})")
        return tuple(str(key) for key in getattr(registry(), point).keys())
    raise AttributeError(f"module 'dlcore.trainer' has no attribute {name!r}")


class Callback:
    """Hooks called by ``Trainer.fit``; override the ones you need. A callback with
    ``chief_only = True`` (one that writes logs) runs only on rank 0 of a group of processes.

    Example::

        class PrintLoss(Callback):
            def on_epoch_end(self, trainer, model, epoch, logs):
                print(epoch, logs["loss"])

        trainer.fit(model, train, callbacks=[PrintLoss()])
    """

    chief_only = False

    def on_train_begin(self, trainer: Trainer, model: Model) -> None:
        """Called once before the first epoch with the Model."""

    def on_train_end(self, trainer: Trainer, model: Model, history: History) -> None:
        """Called once after the last epoch (also when a callback stopped training)."""

    def on_epoch_begin(self, trainer: Trainer, model: Model, epoch: int) -> None:
        """Called at the start of each epoch (1-based)."""

    def on_epoch_end(self, trainer: Trainer, model: Model, epoch: int, logs: dict[str, Any]) -> None:
        """Called after each epoch (validation included) with that epoch's record."""

    def on_train_batch_begin(self, trainer: Trainer, model: Model, batch: int) -> None:
        """Called before each training batch (0-based within the epoch). Overriding it makes
        the trainer run one batch per backend call."""

    def on_train_batch_end(self, trainer: Trainer, model: Model, batch: int, logs: dict[str, Any]) -> None:
        """Called after each training batch with ``{"loss": ...}`` (a host sync per batch).
        Overriding it makes the trainer run one batch per backend call."""

    def on_validation_end(self, trainer: Trainer, model: Model, epoch: int, logs: dict[str, Any]) -> None:
        """Called after each epoch's validation with ``val_loss`` and the ``val_`` metrics."""


BATCH_HOOKS = ("on_train_batch_begin", "on_train_batch_end")


def wants_batches(callbacks: Sequence[Callback]) -> bool:
    """Whether any callback overrides a batch hook (in its class, or as a LambdaCallback's):
    the trainer then runs one batch per backend call.

    >>> wants_batches([Callback()])
    False
    """
    return any(hook in vars(c) or getattr(type(c), hook) is not getattr(Callback, hook)
               for c in callbacks for hook in BATCH_HOOKS)


class _EpochEnd(Callback):
    """Calls ``report(trainer, model, epoch, logs)`` after each epoch, in every process."""

    def __init__(self, report: Callable[..., None]) -> None:
        self.report = report

    def on_epoch_end(self, trainer: Trainer, model: Model, epoch: int, logs: dict[str, Any]) -> None:
        self.report(trainer, model, epoch, logs)


class _Resolved(NamedTuple):
    """What a run's steps compute, resolved once: the backend's step configuration (with its
    loss and metric kernels) and the core's function turning each metric's statistics into its
    value."""

    config: StepConfig
    results: tuple[Callable[[np.ndarray, int], Any], ...]


def _check_positive_int(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


class Trainer:
    """Trains, evaluates and predicts models on one backend.

    Args:
        backend: "torch", "tensorflow" (or an alias such as "tf"), a plugin backend's name,
            or None for $DLCORE_BACKEND or the first installed backend.
        epochs, batch_size: as usual; the last batch of an epoch may be smaller.
        optimizer: a registered optimizer's name ("sgd", "adam", "adamw", "rmsprop", ...) or
            an object with its settings (``dlcore.optimizers.SGD(momentum=0.9)``).
        lr: the learning rate (default: the optimizer object's, else
            ``dlcore.optimizers.DEFAULT_LR``, 1e-3). Schedules and callbacks change the rate
            of a fit (``run_lr``), never this setting.
        schedule: a ``dlcore.schedules`` schedule of the learning rate, per update or epoch.
        clip_value, clip_norm: clamp each gradient to [-clip_value, clip_value], then scale
            all gradients so that their global L2 norm is at most clip_norm.
        accumulate: update once per this many batches, with the mean of their gradients.
        precision: "32", "bf16-mixed" or "16-mixed" (GPU), where the backend offers it.
        deterministic: turn on the framework's deterministic mode (for the whole process).
        shuffle: reshuffle the training data every epoch (dlcore's own datasets only): epoch
            e's order is the e-th ``np.random.default_rng(seed).permutation(n)``.
        seed: makes initial weights and shuffling reproducible, and identical across backends.
        device: "auto" (GPU, then MPS, then CPU), "cpu", "cuda:N", "GPU:N" or "mps".
        loss: a registered loss; default: the model spec's ("cross_entropy", or
            "binary_cross_entropy" for one output).
        metrics: registered metrics, recorded per epoch (``val_`` + name for validation);
            default accuracy, or ``mae`` with a regression loss.
        progress: tqdm bar per epoch; None shows it when stderr is a terminal, and else prints one
            line per epoch to stderr (a log file, a pipe, a notebook), as Keras does; False: silent.
        verbose: print the loss every ``log_every`` batches and a summary per epoch.
        eval_batch_size: batch size of evaluate and predict, which track no gradients.
        strategy: train over several processes: a registered strategy's name ("ddp" on torch,
            "multi_worker_mirrored" on TensorFlow, ...) or a :class:`dlcore.contract.Strategy`;
            every process of the group runs the same code (``dlcore train --workers N``,
            torchrun, a TF_CONFIG per machine). ``batch_size`` is then the global batch, and
            only rank 0 shows progress; see :mod:`dlcore.contract.strategy` for the contract.
        launcher: "ray" (or a ``dlcore.parallel.ray.RayLauncher`` with its workers, GPUs and
            restarts): ``fit`` runs on a Ray cluster, each worker with the backend's strategy,
            and resumes from the last epoch's checkpoint when a worker fails; the model here
            then holds the result.
        memory_budget: bytes (or "500MB", "2GiB") a dataset may take in memory; one read from
            files (an image folder, ``.npy`` memory maps, Parquet, Hugging Face) that is larger
            is read batch by batch while training, and the batches read ahead stay within it.
            Default: $DLCORE_MEMORY_BUDGET, else a quarter of the machine's memory.
        stream: True to read every dlcore Dataset batch by batch, False never, None (default)
            by the memory budget.
        readers: worker processes or threads reading data ahead (default: the CPUs, at most
            8); 0 reads in this thread.

    A trainer builds a :class:`Model` from a spec once per spec object it is given and keeps
    it, so ``fit``, ``evaluate``, ``predict`` and ``save`` with the same spec share weights;
    ``build(spec)`` returns it, for use with other trainers.

    Example::

        from dlcore import Trainer, datasets, models
        train, test = datasets.fashion_mnist()
        model = models.mlp(784, [512, 512], 10)
        trainer = Trainer(backend="torch", epochs=10, batch_size=64, optimizer="adam", lr=1e-3)
        history = trainer.fit(model, train, validation=test)
        trainer.evaluate(model, test)        # {"loss": ..., "accuracy": ...}
        trainer.save(model, "model.npz")     # loads on every backend

    Every kernel a run needs (the model kind's, the loss's, the metrics', the optimizer's) is
    resolved from the plugin registry once, at the start of ``fit``, ``evaluate`` or
    ``predict``, and handed to the backend.
    """

    backend: Backend
    backend_name: str
    epochs: int
    batch_size: int
    eval_batch_size: int
    log_every: int
    optimizer: str
    hyper: dict[str, float]
    lr: float
    loss: str | None
    metrics: tuple[str, ...]
    seed: int | None
    shuffle: bool
    progress: bool | None
    verbose: bool
    device: Device
    stop_training: bool
    _rng: np.random.Generator

    def __init__(
        self,
        backend: str | None = None,
        *,
        epochs: int = 10,
        batch_size: int = 64,
        optimizer: str | OptimizerConfig = "sgd",
        lr: float | None = None,
        schedule: Schedule | None = None,
        clip_value: float | None = None,
        clip_norm: float | None = None,
        accumulate: int = 1,
        precision: str = "32",
        deterministic: bool = False,
        shuffle: bool = True,
        seed: int | None = None,
        device: str = "auto",
        loss: str | None = None,
        metrics: Sequence[str] | None = None,
        progress: bool | None = None,
        verbose: bool = False,
        log_every: int = 100,
        eval_batch_size: int = 1024,
        strategy: str | Strategy | None = None,
        launcher: str | RayLauncher | None = None,
        memory_budget: int | str | None = None,
        stream: bool | None = None,
        readers: int | None = None,
    ) -> None:
        self.settings = {name: value for name, value in locals().items()
                         if name not in ("self", "strategy", "launcher", "__class__")}  # for trainers made elsewhere
        self.backend = get_backend(backend)
        self.backend_name = self.backend.name
        self.epochs = _check_positive_int("epochs", epochs)
        self.batch_size = _check_positive_int("batch_size", batch_size)
        self.eval_batch_size = _check_positive_int("eval_batch_size", eval_batch_size)
        self.log_every = _check_positive_int("log_every", log_every)
        self.optimizer_config = as_config(optimizer)
        self.optimizer, self.hyper = self.optimizer_config.name, dict(self.optimizer_config.hyper)
        if lr is not None and (isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not lr > 0
                               or not math.isfinite(lr)):
            raise ConfigError(f"lr must be a positive number, got {lr!r}")
        if lr is not None and self.optimizer_config.lr is not None and float(lr) != self.optimizer_config.lr:
            raise ConfigError(f"two learning rates: lr={lr} and {self.optimizer_config!r}; give it once")
        self.lr = float(lr if lr is not None else self.optimizer_config.lr or DEFAULT_LR)
        if schedule is not None and not isinstance(schedule, Schedule):
            raise ConfigError(f"schedule must be a dlcore.schedules.Schedule, got {schedule!r}")
        self.schedule = schedule
        for name, value in (("clip_value", clip_value), ("clip_norm", clip_norm)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Real)
                                      or not value > 0 or not math.isfinite(value)):
                raise ConfigError(f"{name} must be a positive number or None, got {value!r}")
        self.clip_value = None if clip_value is None else float(clip_value)
        self.clip_norm = None if clip_norm is None else float(clip_norm)
        self.accumulate = _check_positive_int("accumulate", accumulate)
        if precision not in PRECISIONS:
            raise ConfigError(f"precision must be one of {', '.join(map(repr, PRECISIONS))}, got {precision!r}")
        self.precision = precision
        plugins = registry()
        if loss is not None:
            plugins.loss(loss)
            plugins.kernel("loss", loss, self.backend_name)
        self.loss = loss
        self.metrics = tuple(metrics) if metrics is not None else ("accuracy",)
        self._metrics_given = metrics is not None
        for name in self.metrics:
            if name == "confusion_matrix":
                raise ConfigError("confusion_matrix is not a per-epoch metric; use "
                                  "trainer.evaluate(model, data, confusion_matrix=True)")
            plugins.metric(name)
            plugins.kernel("metric", name, self.backend_name)
        self._check_optimizer_kernel(plugins)
        if (self.clip_value or self.clip_norm) and "clip" not in self.backend.supports:
            raise ConfigError(f"backend {self.backend_name!r} does not clip gradients; remove clip_value/clip_norm")
        if self.accumulate > 1 and "accumulate" not in self.backend.supports:
            raise ConfigError(f"backend {self.backend_name!r} does not accumulate gradients; use accumulate=1")
        if seed is not None:
            seed = _check_positive_int("seed", seed, 0)
        self.seed = seed
        self.shuffle = bool(shuffle)
        self.progress = progress
        self.verbose = bool(verbose)
        self.memory_budget = memory_budget_of(memory_budget)
        if stream not in (None, True, False):
            raise ConfigError(f"stream must be True, False or None (by the memory budget), got {stream!r}")
        self.stream = stream
        self.readers = None if readers is None else _check_positive_int("readers", readers, 0)
        self.strategy = self._strategy(plugins, strategy)
        if launcher is not None and strategy is not None:
            raise ConfigError("give strategy= (this process is one of a group) or launcher= (fit starts a group), "
                              "not both")
        if launcher is not None and not (launcher == "ray" or isinstance(launcher, RayLauncher)):
            raise ConfigError(f"launcher must be 'ray' or a dlcore.parallel.ray.RayLauncher, got {launcher!r}")
        self.launcher = RayLauncher() if launcher == "ray" else launcher if isinstance(launcher, RayLauncher) else None
        if self.strategy is not None:
            device = self.strategy.local_device(device)
        self.device = self.backend.device(device, plugins.device_kinds)
        if precision != "32":
            self.backend.check_precision(precision, self.device)
        self.deterministic = bool(deterministic)
        if self.deterministic:
            self.backend.set_deterministic(True)
        if self.strategy is not None:
            seed = self._join(seed)
        self.seed = seed
        self._rng = np.random.default_rng(seed)
        self.stop_training = False  # a callback sets it to end fit after the current batch or epoch
        self.run_lr = self.lr  # the learning rate of the fit in progress, before a schedule's factor
        self._models: dict[int, tuple[Any, Model]] = {}  # by spec or native model
        self._token_cache: dict[tuple[int, int], tuple[Any, ...]] = {}
        self._warned: set[tuple[Any, ...]] = set()  # arrays already warned about
        if seed is not None:
            self.backend.seed(seed)

    def __repr__(self) -> str:
        group = "" if self.strategy is None else \
            f", strategy={self.strategy.name!r}, rank={self.strategy.rank}/{self.strategy.world_size}"
        return (f"Trainer(backend={self.backend_name!r}, device={self.device.name!r}, epochs={self.epochs}, "
                f"batch_size={self.batch_size}, optimizer={self.optimizer!r}, lr={self.lr}, seed={self.seed}{group})")

    @property
    def is_chief(self) -> bool:
        """Whether this process prints and writes: always in one process, rank 0 in a group."""
        return self.strategy is None or self.strategy.is_chief

    def close(self) -> None:
        """Leave the group of processes (a trainer with a strategy); nothing otherwise."""
        if self.strategy is not None:
            self.strategy.shutdown()

    # ----------------------------------------------------------------- public API

    def build(self, model: Any) -> Model:
        """The :class:`Model` for a spec (built once per spec object by this trainer, from its
        seed), a Model of this backend, or the user's native model (wrapped once per object by
        this trainer), placed on the device."""
        if isinstance(model, Model):
            if model.backend_name != self.backend_name:
                raise ConfigError(f"this model lives on backend {model.backend_name!r}, not {self.backend_name!r}; "
                                  "pass its spec, or load its weights with trainer.load")
            built = model
        elif isinstance(model, ModelSpec):
            known = self._models.get(id(model))
            if known is not None and known[0] is model:
                built = known[1]
            else:
                built = self._build_spec(model)
                built.set_weights(model.initial_weights(self.seed))
                self._models[id(model)] = (model, built)
        else:  # the user's own model: wrapped once, so its optimizer state and progress stay with it
            known = self._models.get(id(model))
            if known is not None and known[0] is model:
                built = known[1]
            else:
                wrapped = self.backend.wrap(model, None, self.loss)
                if wrapped is None:
                    raise ConfigError(f"cannot use a {type(model).__name__} as a model on backend "
                                      f"{self.backend_name!r}; pass a dlcore spec (dlcore.models.mlp(...)) or "
                                      f"{self.backend.native_model_names()}")
                built = self._bound(wrapped)
                self._models[id(model)] = (model, built)
        self.backend.place(built, self.device)
        built.device = self.device
        return built

    def fit(self, model: Any, train: Any, validation: Any = None, callbacks: Sequence[Callback] = (),
            resume_from: Any = None, *, target: str | Sequence[str] | None = None,
            features: Sequence[str] | None = None, categorical: str = "error", sample_weight: Any = None,
            class_weight: dict[int, float] | None = None) -> History:
        """Train for ``epochs`` epochs; return the History of per-epoch metrics.

        ``train`` and ``validation`` are dlcore Datasets, ``(features, labels)`` tuples, pandas
        DataFrames (``target``: the label column or columns; ``features``: the feature columns,
        default all others; ``categorical="one_hot"`` encodes columns that are not numbers; see
        :func:`dlcore.datasets.from_dataframe`), or the backend's native data; ``validation``
        may also be a fraction of ``train`` to hold out (the last samples, as Keras'
        validation_split). ``resume_from`` is a checkpoint
        saved by any backend with the same optimizer: its weights, optimizer state (canonical
        layout), shuffling RNG and history are restored and training continues after its last
        epoch, up to ``epochs``, with this trainer's learning rate. A model fitted before keeps
        its optimizer state when the optimizer is the same, with this trainer's learning rate.

        ``sample_weight`` (one per training sample) and ``class_weight`` (``{class: weight}``,
        others 1) weight each sample's training loss, as Keras does: a batch's loss is the mean
        of loss times weight; metrics and validation are not weighted.
        """
        plugins = registry()
        if self.launcher is not None:
            return self._fit_launched(model, train, validation, callbacks, resume_from,
                                      dict(target=target, features=features, categorical=categorical,
                                           sample_weight=sample_weight, class_weight=class_weight))
        built = self.build(model)
        self.run_lr = self.lr
        if resume_from is not None:
            history, first_epoch = self._resume(plugins, built, resume_from)
            if first_epoch > self.epochs:
                warnings.warn(f"{resume_from}: training reached epoch {first_epoch - 1} already and this trainer "
                              f"stops at epochs={self.epochs}, so there is nothing to train; set epochs above "
                              f"{first_epoch - 1} to go on", UserWarning, stacklevel=2)
        else:
            self._attach_optimizer(plugins, built)
            history, first_epoch = History(), 1
            built.epoch, built.history_records = 0, ()
        table = {"target": target, "features": features, "categorical": categorical}
        train = self._as_dataset(built, train, "train", table)
        weights = None
        if sample_weight is not None or class_weight is not None:
            weights = self._sample_weights(built, train, sample_weight, class_weight)
        if isinstance(validation, float):
            if not isinstance(train, Dataset):
                raise ConfigError(f"a validation fraction needs a dlcore Dataset or arrays, not a "
                                  f"{type(train).__name__}; pass validation data instead")
            train, validation = train.split(validation)
            weights = weights if weights is None or callable(weights) else weights[:len(train)]
        validation = self._as_dataset(built, validation, "validation", table)
        train_data = self._prepare_data(built, train, training=True, weights=weights)
        total = train_data.num_samples or 0  # samples of an epoch over all processes
        if self.strategy is not None:
            train_data = self._join_fit(built, train_data)
            callbacks = [c for c in callbacks if self.is_chief or not getattr(c, "chief_only", False)]
        val_data = None if validation is None else self._prepare_data(built, validation, training=False)
        if train_data.num_batches is None and (self.accumulate > 1 or (self.schedule and self.schedule.unit == "step")):
            raise ConfigError("gradient accumulation and per-step schedules need data of known length; "
                              "pass a dlcore Dataset, arrays, or a pipeline that has a length")
        train_step = self._resolve(plugins, built, train_data.batch_size, True, self.metrics_of(built))
        val_step = None if val_data is None else self._resolve(plugins, built, val_data.batch_size, False,
                                                               self.metrics_of(built))
        try:
            self.stop_training = False
            batch_hooks = (callbacks, built) if wants_batches(callbacks) else None
            for callback in callbacks:
                callback.on_train_begin(self, built)
            for epoch in range(first_epoch, self.epochs + 1):
                if self.stop_training:
                    break
                for callback in callbacks:
                    callback.on_epoch_begin(self, built, epoch)
                start = time.perf_counter()
                order = None
                if self.shuffle and not train_data.native:
                    blocks = None if train_data.stream is None else train_data.stream.dataset.blocks
                    order = self._rng.permutation(total) if blocks is None else block_order(self._rng, total, blocks)
                if self.strategy is not None:  # this process's part of each global batch
                    order = shard_order(np.arange(total) if order is None else order, self.batch_size,
                                        self.strategy.world_size, self.strategy.rank)
                rates = self._learning_rates(epoch, train_data)
                desc = f"Epoch {epoch}/{self.epochs}"
                with progress_bar(train_data.num_batches, desc, self.progress, unit="batch") as bar:
                    if self.verbose:
                        bar.write(f"{desc}\n-------------------------------")
                    reporter = Reporter(bar, train_data.num_samples or 0, self.log_every if self.verbose else 0)
                    try:
                        loss, metrics, steps = self._run(self.backend.train_steps, built, train_data, train_step, order,
                                                         reporter, batch_hooks, rates=rates)
                    except DistributedError:
                        raise
                    except TrainingError as err:
                        raise TrainingError(f"epoch {epoch}: {err}; lower the learning rate (now {self.lr}) "
                                            "or check the data for huge values") from None
                    except Exception as err:
                        broken = self._group_error(err, f"epoch {epoch}")
                        if broken is None:
                            raise
                        raise broken from err
                    if train_data.stream is not None:
                        warn_skipped(train, train_data.stream.take_skipped(), f" in epoch {epoch}")
                    record = {"epoch": epoch, "loss": loss, **metrics}
                    if val_data is not None and val_step is not None:
                        val_loss, val_metrics, _ = self._run(self.backend.evaluate_steps, built, val_data, val_step)
                        val_record = {"val_loss": val_loss, **{f"val_{k}": v for k, v in val_metrics.items()}}
                        record.update(val_record)
                        for callback in callbacks:
                            callback.on_validation_end(self, built, epoch, dict(val_record))
                    record["lr"] = float(rates[-1]) if isinstance(rates, np.ndarray) else rates
                    record["seconds"] = time.perf_counter() - start
                    bar.set_postfix_str(format_metrics(record))
                if self.verbose:
                    print(f"{desc}: {format_metrics(record)} ({record['seconds']:.1f} s)", flush=True)
                elif self.progress is None and self.is_chief and not show_progress(None):  # a log, a pipe, a notebook
                    print(f"{desc}: {format_metrics(record)} ({record['seconds']:.1f} s)", file=sys.stderr, flush=True)
                history.append(record)
                built.epoch, built.step = epoch, built.step + steps
                built.history_records = tuple(history.records)
                for callback in callbacks:
                    callback.on_epoch_end(self, built, epoch, record)
        finally:
            self._close(train_data, val_data)
        for callback in callbacks:
            callback.on_train_end(self, built, history)
        return history

    def evaluate(self, model: Any, data: Any, confusion_matrix: bool = False, *,
                 target: str | Sequence[str] | None = None) -> dict[str, Any]:
        """Mean loss per sample and the trainer's metrics over ``data``, tracking no gradients;
        with ``confusion_matrix``, also the counts of true class (rows) against predicted class
        (columns) as an int64 array. A DataFrame is read as the one ``fit`` took (``target``:
        its label column(s), default fit's)."""
        plugins = registry()
        built = self.build(model)
        data = self._as_dataset(built, data, "evaluation data", {"target": target})
        prepared = self._prepare_data(built, data, training=False)
        extra = ("confusion_matrix",) if confusion_matrix else ()
        step = self._resolve(plugins, built, prepared.batch_size, False, self.metrics_of(built) + extra)
        try:
            loss, metrics, _ = self._run(self.backend.evaluate_steps, built, prepared, step)
        finally:
            self._close(prepared)
        return {"loss": loss, **metrics}

    def predict(self, model: Any, data: Any) -> np.ndarray:
        """Logits for each sample of ``data`` (a Dataset, an array of features, texts, or
        native data)."""
        built = self.build(model)
        if isinstance(data, (list, tuple)) and data and all(isinstance(t, str) for t in data):
            texts = np.empty(len(data), dtype=object)
            texts[:] = list(data)
            data = texts
        if isinstance(data, np.ndarray):
            data = ArrayDataset(data, np.zeros(len(data), np.int64), name="predict input")
        data = self._as_dataset(built, data, "predict input", {"predict": True})
        prepared = self._prepare_data(built, data, training=False, labels=False)
        outputs = []
        try:
            for _, span in self._spans(prepared):
                logits = self.backend.to_numpy(self.backend.predict_steps(built, span))
                if len(logits) == 0:
                    break
                outputs.append(logits)
        finally:
            self._close(prepared)
        if not outputs:
            raise DataError("predict input is empty; it needs at least one sample")
        return np.concatenate(outputs)

    def save(self, model: Any, path: Any, metadata: dict[str, Any] | None = None) -> Path:
        """Write a checkpoint to ``path`` (.npz, atomically): spec, weights, optimizer state,
        epoch, step, history and the shuffling RNG, so that ``fit(resume_from=path)`` goes on
        exactly where training stopped. ``metadata`` is any JSON of your own. A path with the
        suffix of another weight format (``.pt``, ``.keras``) is refused: :meth:`export` writes
        those."""
        other = other_format(Path(path))
        if other is not None:
            raise ConfigError(f"{path}: {Path(path).suffix} is the suffix of {other.name} files "
                              f"({', '.join(other.suffixes)}), and save() writes a dlcore checkpoint: give it a .npz "
                              f"path; for a {other.name} file use trainer.export(model, {str(path)!r})")
        built = self.build(model)
        arrays: dict[str, np.ndarray] = {}
        optimizer_meta: dict[str, Any] = {}
        if built.optimizer is not None:
            arrays, optimizer_meta = self.backend.optimizer_state(built)
        state = {
            "backend": self.backend_name,
            "workers": 1 if self.strategy is None else self.strategy.world_size,
            "versions": self.backend.versions(),
            "epoch": built.epoch,
            "step": built.step,
            "history": list(built.history_records),
            "rng": self._rng.bit_generator.state,
            "table": built.table,
            "optimizer": {"name": built.optimizer_name or self.optimizer, "lr": self.lr, "batch_size": self.batch_size,
                          "hyper": built.optimizer_hyper or self.hyper, "state": optimizer_meta},
        }
        checkpoint = TrainingCheckpoint(built.get_weights(), built.spec, metadata, arrays, state)
        if self.strategy is None:
            return checkpoint.save(path)
        return self.strategy.save(checkpoint.save, Path(path))

    def load(self, path: Any, spec: ModelSpec | None = None, *, model: Any = None) -> Model:
        """A new Model holding the weights saved at ``path``, built here; or, with ``model``
        (your own nn.Module or keras.Model, or a Model), that model with the weights loaded.

        ``path`` is a dlcore checkpoint (.npz, from any backend) or any registered weight
        format (torch state_dict .pt/.pth, read with weights_only=True; Keras .keras, safe
        mode). A state_dict holds no architecture: pass ``spec``. Your own model's weights go
        by name and shape (a Keras model's by the order of its weights, so the same code builds
        a model that loads them in another process); any that do not fit are all named.
        """
        if model is not None:
            if spec is not None:
                raise ConfigError("pass spec= (a dlcore spec) or model= (a model), not both")
            built = self.build(model)
            built.set_weights(read_weights(path, built.spec)[0])
            return built
        if spec is not None and not isinstance(spec, ModelSpec):
            raise ConfigError(f"spec= takes a dlcore spec, not a {type(spec).__name__}; "
                              "to load weights into your own model use trainer.load(path, model=your_model)")
        weights, saved_spec = read_weights(path, spec)
        spec = spec or saved_spec
        if spec is None:
            raise CheckpointError(f"{path}: holds no model architecture; pass spec=models.mlp(...) or similar, or "
                                  "model=your_model for the weights of your own model")
        built = self._build_spec(spec)
        built.set_weights(weights)
        self._models[id(spec)] = (spec, built)
        self.backend.place(built, self.device)
        built.device = self.device
        return built

    def export(self, model: Any, path: Any) -> Path:
        """Write the weights in a registered format, by suffix: a torch state_dict
        (.pt/.pth, for ``torch.load(path, weights_only=True)``), a Keras ``.keras`` file, or
        a dlcore checkpoint (.npz) of the weights alone. Your own model is written by its
        backend where the suffix is its framework's format (a keras.Model to ``.keras``)."""
        built = self.build(model)
        if built.spec is None:
            written = self.backend.export_native(built, Path(path))
            if written is not None:
                return written
        return write_weights(path, built.get_weights(), built.spec)

    def loss_of(self, model: Model) -> str:
        """The loss used for ``model``: the trainer's ``loss`` setting, else the model's."""
        return self.loss or model.loss

    def metrics_of(self, model: Model) -> tuple[str, ...]:
        """The metrics recorded for ``model``: the trainer's ``metrics`` setting, else accuracy,
        or for a regression loss the mean absolute error (where the backend has it)."""
        plugins = registry()
        if self._metrics_given or not plugins.loss(self.loss_of(model)).regression:
            return self.metrics
        return ("mae",) if plugins.kernels.get(("metric", "mae", self.backend_name)) else ()

    # --------------------------------------------------------------- the loop

    def _build_spec(self, spec: ModelSpec) -> Model:
        """A new Model of ``spec``, by this backend's model kernel for its kind."""
        plugins = registry()
        builder = plugins.kernel("model", spec.kind, self.backend_name)
        if isinstance(spec, Sequential):  # its layers, each by its kind's kernel
            kernels = [plugins.kernel("layer", layer.kind, self.backend_name) for layer in spec.layers]
            builder = functools.partial(builder, layer_kernels=kernels)
        return self._bound(self.backend.build(spec, self.device, builder))

    def _bound(self, model: Model) -> Model:
        """``model`` with its backend set (a backend of dlcore 0.1 gives only its name)."""
        if isinstance(model.backend, str):
            model.backend = self.backend
        return model

    def _check_optimizer_kernel(self, plugins: Registry) -> None:
        """Refuse settings the backend's optimizer kernel does not take (a kernel written for
        an optimizer's defaults alone) before training starts."""
        make = plugins.kernel("optimizer", self.optimizer, self.backend_name)
        arguments = self.optimizer_config.kernel_arguments()
        try:
            inspect.signature(make).bind(None, lr=self.lr, **arguments)
        except TypeError:
            extra = sorted(set(arguments) - set(plugins.optimizer(self.optimizer).defaults))
            raise ConfigError(f"backend {self.backend_name!r} implements {self.optimizer!r} without "
                              f"{', '.join(extra) or 'these settings'}; use the defaults there") from None
        except ValueError:  # no signature to read (a builtin): the kernel will say
            pass

    def _attach_optimizer(self, plugins: Registry, model: Model) -> None:
        """Give ``model`` this trainer's optimizer, keeping its state when it has one of the
        same kind and the same state slots (with this trainer's learning rate and settings,
        which each epoch sets)."""
        same = model.optimizer is not None and model.optimizer_name == self.optimizer
        if same and model.optimizer_hyper == self.hyper:
            return
        kept = None
        if same and slots(self.optimizer, model.optimizer_hyper) == slots(self.optimizer, self.hyper):
            kept = self.backend.optimizer_state(model)
        make = plugins.kernel("optimizer", self.optimizer, self.backend_name)
        model.optimizer = make(model, lr=self.lr, **self.optimizer_config.kernel_arguments())
        model.optimizer_name, model.optimizer_hyper = self.optimizer, dict(self.hyper)
        model.cache.clear()
        if kept is not None:
            self.backend.load_optimizer_state(model, *kept)

    def _resolve(self, plugins: Registry, model: Model, batch_size: int, training: bool,
                 metrics: tuple[str, ...]) -> _Resolved:
        """What each step of a run computes, with this backend's loss and metric kernels and the
        metrics' result functions."""
        loss = self.loss_of(model)
        definitions = [plugins.metric(name) for name in metrics]
        config = StepConfig(loss, metrics, batch_size, self.clip_value if training else None,
                            self.clip_norm if training else None, self.accumulate if training else 1, self.precision,
                            loss_fn=plugins.kernel("loss", loss, self.backend_name),
                            metric_fns=tuple(plugins.kernel("metric", name, self.backend_name) for name in metrics),
                            reductions=tuple(metric.reduction for metric in definitions))
        return _Resolved(config, tuple(plugins.metrics.load(metric, "result") for metric in definitions))

    def _learning_rates(self, epoch: int, data: Prepared) -> float | np.ndarray:
        """The epoch's learning rate, or one per batch (a per-step schedule): ``run_lr`` times
        the schedule's factor."""
        schedule = self.schedule
        if schedule is not None and schedule.unit == "epoch":
            return self.run_lr * schedule.factor(epoch - 1, schedule.total or self.epochs)
        if schedule is None:
            return self.run_lr
        batches = data.num_batches or 0
        per_epoch = math.ceil(batches / self.accumulate)
        total = schedule.total or self.epochs * per_epoch
        updates = (epoch - 1) * per_epoch + np.arange(batches) // self.accumulate
        factors = {int(t): schedule.factor(int(t), total) for t in np.unique(updates)}
        return np.array([self.run_lr * factors[int(t)] for t in updates], np.float64)

    def _spans(self, data: Prepared, order: np.ndarray | None = None,
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

    def _run(self, step: Callable[[Model, StepConfig, Span], StepResults], model: Model, data: Prepared,
             resolved: _Resolved, order: np.ndarray | None = None, reporter: Reporter | None = None,
             batch_hooks: tuple[Sequence[Callback], Model] | None = None,
             rates: float | np.ndarray | None = None) -> tuple[float, dict[str, Any], int]:
        """Run ``step`` over every span of ``data``: mean loss per sample, metrics, batches.
        Training (a ``reporter``) sets the learning rate: ``rates`` for the epoch, or per batch.
        With ``batch_hooks`` (callbacks that want batches), one batch per span, the callbacks'
        batch hooks around it, and an early end when one sets ``stop_training``."""
        config = resolved.config
        per_batch = isinstance(rates, np.ndarray)
        if rates is not None and not per_batch:
            self.backend.set_learning_rate(model, float(rates))
        losses: list[Any] = []
        sizes: list[int] = []
        statistics: list[Any] = []
        batches = 0
        one_batch = batch_hooks is not None or (per_batch and "learning_rates" not in self.backend.supports)
        for first, span in self._spans(data, order, one_batch=one_batch):
            if per_batch:
                span.learning_rates = rates[first:first + span.count]  # type: ignore[index]
                if "learning_rates" not in self.backend.supports:
                    self.backend.set_learning_rate(model, float(span.learning_rates[0]))
            if batch_hooks is not None:
                for callback in batch_hooks[0]:
                    callback.on_train_batch_begin(self, model, batches)
            with self._bounded(reporter is not None):
                results = self._step(step, model, config, span)
            span_sizes = (results.sizes or []) if data.native else span.data.batch_sizes(span.first, span.count)
            if not span_sizes:
                break
            losses.append(results.losses)
            sizes += span_sizes
            statistics.append(list(results.statistics or []))
            if reporter is not None:
                self._report(reporter, results, batches, sizes)
            if batch_hooks is not None:
                logs = {"loss": float(np.atleast_1d(self.backend.to_numpy(results.losses))[0]), "size": span_sizes[0]}
                for callback in batch_hooks[0]:
                    callback.on_train_batch_end(self, model, batches, logs)
            batches += len(span_sizes)
            if (data.native and len(span_sizes) < span.count) or (batch_hooks is not None and self.stop_training):
                break
        if not losses:
            return 0.0, {name: 0.0 for name in config.metrics}, 0
        if any(len(span) != len(config.metrics) for span in statistics):
            raise ConfigError(f"backend {self.backend_name!r} returned statistics for "
                              f"{len(statistics[0])} metrics, not for {list(config.metrics)}")
        step_losses = np.concatenate([np.atleast_1d(self.backend.to_numpy(x)) for x in losses]).astype(np.float64)
        totals = []
        for i, reduction in enumerate(config.reductions):
            arrays = [self.backend.to_numpy(span[i]).astype(np.float64) for span in statistics]
            totals.append(np.concatenate(arrays) if reduction == "concat" else np.asarray(np.sum(arrays, 0)))
        bad = ~np.isfinite(step_losses)
        loss_sum, count = float(step_losses @ np.asarray(sizes, np.float64)), int(np.sum(sizes))
        if reporter is not None and self.strategy is not None:  # a sharded epoch: every process's sums
            loss_sum, count, bad, totals = self._group_sums(loss_sum, count, bad, totals, config.reductions)
        if reporter is not None and bad.any():  # training: a diverging loss stops it
            first_bad = int(np.argmax(bad))
            raise TrainingError(f"the training loss became {step_losses[first_bad]} at step {first_bad + 1}")
        values = {name: result(total, count) for name, total, result in zip(config.metrics, totals, resolved.results)}
        return loss_sum / count, values, batches

    def _bounded(self, training: bool) -> ContextManager[None]:
        """A training call in a group, bounded by the strategy (:meth:`Strategy.bounded`)."""
        return self.strategy.bounded() if training and self.strategy is not None else contextlib.nullcontext()

    def _group_sums(self, loss_sum: float, count: int, bad: np.ndarray, totals: list[np.ndarray],
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

    def _fit_launched(self, model: Any, train: Any, validation: Any, callbacks: Sequence[Callback],
                      resume_from: Any, options: dict[str, Any]) -> History:
        """fit on the launcher's group; then the trained weights, optimizer state and history
        here, from the group's last checkpoint."""
        assert self.launcher is not None
        settings, made = dict(self.settings), type(self)
        settings["backend"] = self.backend_name

        def make(strategy: str) -> Trainer:
            return made(**settings, strategy=strategy)

        def fit(trainer: Trainer, resume: Any, report: Callable[..., None], **data: Any) -> None:
            trainer.fit(data["model"], data["train"], data["validation"], [*data["callbacks"], _EpochEnd(report)],
                        resume or data["resume_from"], **data["options"])

        def restore(path: Path) -> History:
            return self._resume(registry(), self.build(model), path)[0]

        return self.launcher.fit(make, fit, self.backend_name, dict(
            model=model, train=train, validation=validation, callbacks=list(callbacks), resume_from=resume_from,
            options=options), restore)

    def _strategy(self, plugins: Registry, strategy: str | Strategy | None) -> Strategy | None:
        """The strategy object of ``Trainer(strategy=...)``."""
        if strategy is None or isinstance(strategy, Strategy):
            return strategy
        if not isinstance(strategy, str):
            raise ConfigError(f"strategy must be a strategy's name or a dlcore.contract.Strategy, not {strategy!r}")
        info = plugins.strategy(strategy, self.backend_name)
        made: Strategy = plugins.strategies.load(info, "load")()
        return made

    def _join(self, seed: int | None) -> int:
        """Join the strategy's group; the seed every process uses (rank 0's where none was
        given), so that all start from the same weights and draw the same epoch orders."""
        assert self.strategy is not None
        self.strategy.setup(self.backend, self.device)
        if self.strategy.world_size > 1:  # processes that time each other would choose kernels apart
            hold_measurements()
        if not self.strategy.is_chief:
            self.progress, self.verbose = False, False
        drawn = seed if seed is not None else int(np.random.default_rng().integers(2 ** 31))
        shared = self.strategy.all_sum(np.array([drawn if self.strategy.is_chief else 0], np.float64))
        return int(shared[0])

    def _join_fit(self, model: Model, data: Prepared) -> Prepared:
        """Before a fit over the group: rank 0's weights on every process, the model made
        ready by the strategy, and this process's part of the training data."""
        assert self.strategy is not None
        if data.native:
            raise ConfigError(f"strategy {self.strategy.name!r} shards dlcore datasets and arrays, not your own "
                              "pipeline; pass the data as a dlcore Dataset or (features, labels) arrays")
        world = self.strategy.world_size
        local = check_batch(self.batch_size, world)
        count = check_shards(data.num_samples or 0, self.batch_size, world, "the training data")
        try:
            model.set_weights(broadcast_weights(self.strategy, model.get_weights()))
            self.strategy.prepare(model)
        except Exception as err:
            broken = self._group_error(err, "the start of fit")
            if broken is None:
                raise
            raise broken from err
        return dataclasses.replace(data, num_samples=count, batch_size=local)

    def _group_error(self, err: Exception, where: str) -> DistributedError | None:
        """A DistributedError for an error of the group's communication (another process died
        or hung), None for any other error."""
        strategy = self.strategy
        if strategy is None or isinstance(err, DlcoreError) or not strategy.broken(err):
            return None
        return DistributedError(f"worker {strategy.rank} of {strategy.world_size}: the group stopped answering at "
                                f"{where} ({error_gist(err)}); another worker died or hung (timeout "
                                f"{strategy.timeout:g} s); resume from the last checkpoint")

    def _step(self, step: Callable[[Model, StepConfig, Span], StepResults], model: Model, config: StepConfig,
              span: Span) -> StepResults:
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

    def _report(self, reporter: Reporter, results: StepResults, before: int, sizes: list[int]) -> None:
        """Advance the progress bar over a span; log the losses the verbose log asks for."""
        count = len(sizes) - before
        wanted = [b for b in range(before, before + count) if reporter.wants_loss(b)]
        if wanted:
            values = np.atleast_1d(self.backend.to_numpy(results.losses))
            for b in wanted:
                reporter.log_loss(float(values[b - before]), int(sum(sizes[:b + 1])))
        reporter.advance(count)

    def _resume(self, plugins: Registry, built: Model, path: Any) -> tuple[History, int]:
        checkpoint = TrainingCheckpoint.load(path)
        state = checkpoint.state
        saved = state.get("optimizer", {})
        arrays, meta = checkpoint.optimizer, dict(saved.get("state") or {})
        if arrays or meta:  # refuse before anything of the model changes
            if saved.get("name") != self.optimizer:
                raise CheckpointError(f"{path}: was trained with {saved.get('name')!r}, this trainer uses "
                                      f"{self.optimizer!r}; use the same optimizer to resume")
            if "step" not in meta:  # dlcore 0.1: the saving backend's own layout
                if built.spec is None:
                    raise CheckpointError(f"{path}: a dlcore 0.1 checkpoint of a model without a spec; "
                                          f"start from its weights with trainer.load({str(path)!r})")
                arrays, meta = from_layout_0_1(arrays, meta, built.spec.parameter_shapes())
        built.set_weights(checkpoint.weights)
        built.table = built.table or state.get("table")
        built.optimizer = None
        self._attach_optimizer(plugins, built)
        if arrays or meta.get("step"):  # the rate is this trainer's, set at each epoch
            self.backend.load_optimizer_state(built, arrays, meta)
        if state.get("rng"):
            self._rng.bit_generator.state = state["rng"]
        history = History(state.get("history", []))
        built.epoch, built.step = int(state.get("epoch", 0)), int(state.get("step", 0))
        built.history_records = tuple(history.records)
        return history, built.epoch + 1

    def summary(self, model: Any, print_fn: Callable[[str], None] | None = print) -> str:
        """A table of the model's parameters (names, shapes, counts) and the totals (how many
        train, for a spec); printed with ``print_fn``, and returned."""
        built = self.build(model)
        weights = built.get_weights()
        described = built.spec if built.spec is not None else type(built.native).__name__
        rows = [("parameter", "shape", "count")]
        rows += [(name, "x".join(map(str, w.shape)) or "scalar", f"{w.size:,}") for name, w in weights.items()]
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        lines = [f"{described} on {self.backend_name} ({self.device.name})"]
        lines += [f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c:>{widths[2]}}" for a, b, c in rows]
        lines.insert(2, "-" * (sum(widths) + 4))
        total = sum(int(w.size) for w in weights.values())
        frozen = built.spec.untrained() if built.spec is not None else set()
        trainable = total - sum(int(weights[name].size) for name in frozen)
        trained = f" ({trainable:,} trainable)" if built.spec is not None else ""
        lines += ["-" * (sum(widths) + 4), f"total {total:,} parameters{trained}, "
                  f"{sum(w.nbytes for w in weights.values()) / 2 ** 20:.2f} MiB"]
        text = "\n".join(lines)
        if print_fn is not None:
            print_fn(text)
        return text

    # ---------------------------------------------------------------- data checks

    def _sample_weights(self, model: Model, train: Any, sample_weight: Any,
                        class_weight: Any) -> np.ndarray | Callable[[np.ndarray, np.ndarray], np.ndarray]:
        """One float32 weight per training sample (:func:`.inputs.sample_weights`); for a dataset
        read while training, the weights of a chunk's labels and indices, checked now."""
        if not isinstance(train, Dataset):
            raise ConfigError(f"sample_weight and class_weight need a dlcore Dataset, arrays or a DataFrame, not a "
                              f"{type(train).__name__}; weight the loss inside your own pipeline")
        if "sample_weight" not in self.backend.supports:
            raise ConfigError(f"backend {self.backend_name!r} does not weight samples; remove sample_weight and "
                              "class_weight")
        regression = registry().loss(self.loss_of(model)).regression
        if not self._streamed(train):
            return sample_weights(train.arrays()[1], sample_weight, class_weight, regression)
        given = sample_weights(np.zeros(len(train), np.int64), sample_weight, None, regression)
        if class_weight is not None:
            sample_weights(np.zeros(1, np.int64), None, class_weight, regression)  # checked now, applied per chunk
        return lambda labels, indices: sample_weights(labels, given[indices], class_weight, regression)

    def _prepare_data(self, model: Model, data: Any, training: bool, labels: bool = True,
                      weights: Any = None) -> Prepared:
        batch_size = self.batch_size if training else self.eval_batch_size
        if isinstance(data, Dataset) and self._streamed(data):
            return self._prepare_stream(model, data, batch_size, training, labels, weights)
        weighted = {} if weights is None else {"weights": weights}  # only for a backend that weights samples
        if isinstance(data, Dataset):
            features, targets = data.arrays()
            name = getattr(data, "name", "") or type(data).__name__
            if len(features) == 0:
                raise DataError(f"{name} is empty; it needs at least one sample")
            return self._put(model, features, targets, name, getattr(data, "channels", None), batch_size, labels,
                             weighted)[0]
        native = self.backend.native_data(data, batch_size, training, self.shuffle, self.seed)
        if native is None:
            raise ConfigError(f"cannot use a {type(data).__name__} as data on backend {self.backend_name!r}; "
                              "pass a dlcore Dataset, a (features, labels) tuple of arrays, or "
                              f"{self.backend.native_data_names()}")
        return native

    def _streamed(self, data: Dataset) -> bool:
        """Whether ``data`` is read while training: ``stream``, else when it is not in memory
        and larger than the memory budget."""
        if self.stream is not None:
            return self.stream
        return not data.in_memory and data.nbytes > self.memory_budget

    def _prepare_stream(self, model: Model, data: Dataset, batch_size: int, training: bool, labels: bool,
                        weights: Any) -> Prepared:
        """``data`` to be read while training: chunks of whole batches, within the memory budget."""
        name = getattr(data, "name", "") or type(data).__name__
        if len(data) == 0:
            raise DataError(f"{name} is empty; it needs at least one sample")
        prefetcher = Prefetcher(data, self.readers)
        batches = chunk_batches(batch_bytes(data, batch_size), max(1, self.backend.steps_per_call),
                                self.accumulate if training else 1, self.memory_budget, prefetcher.depth)
        stream = Stream(data, batches, prefetcher)
        stream.put = functools.partial(self._put_chunk, model, stream, name, labels, weights)
        return Prepared(None, len(data), batch_size, stream=stream)

    def _put_chunk(self, model: Model, stream: Stream, name: str, labels: bool, weights: Any, chunk: Chunk,
                   batch_size: int) -> Prepared:
        """A chunk read from a stream, checked as preloaded data is, as the backend's data in
        batches of ``batch_size`` (a group's worker's part of the global batch)."""
        if len(chunk.features) == 0:
            return Prepared(None, 0, batch_size)
        weighted = {} if weights is None else {"weights": weights(chunk.labels, chunk.indices)}
        prepared, stream.outputs = self._put(model, chunk.features, chunk.labels, name, stream.dataset.channels,
                                             batch_size, labels, weighted, stream.outputs, warn_key=id(stream))
        return prepared

    def _put(self, model: Model, features: np.ndarray, targets: np.ndarray, name: str, channels: str | None,
             batch_size: int, labels: bool, weighted: dict[str, Any], outputs: int | None = None,
             warn_key: Any = None) -> tuple[Prepared, int | None]:
        """Features and labels checked and put on the device as the backend's data, and the
        outputs per sample of the user's own model (measured on them unless ``outputs`` says)."""
        if is_text(features):
            if labels:
                self._check_labels(model, targets, name, getattr(model.spec, "out_features", None))
            ids, splits = self._encode_texts(model, features, name)
            payload = self.backend.put_tokens(ids, splits, standard_labels(targets), self.device, **weighted)
            return Prepared(payload, len(features), batch_size), outputs
        features = self._check_features(model, features, name, channels, warn_key)
        features, targets = standard_dtypes(features, targets, getattr(model.spec, "input_dtype", "float32"))
        if labels and registry().loss(self.loss_of(model)).regression:
            targets = targets.astype(np.float32, copy=False)  # integer targets of a regression
        prepared = Prepared(self.backend.put(features, targets, self.device, **weighted), len(features), batch_size)
        if labels:
            if model.spec is not None:
                outputs = getattr(model.spec, "out_features", None)
            elif outputs is None:
                outputs = self._native_outputs(model, prepared, features, name)
            self._check_labels(model, targets, name, outputs)
        return prepared, outputs

    @staticmethod
    def _close(*data: Prepared | None) -> None:
        """End the readers of streamed data."""
        for prepared in data:
            if prepared is not None and prepared.stream is not None:
                prepared.stream.close()

    def _as_dataset(self, model: Model, data: Any, name: str, table: dict[str, Any]) -> Any:
        """``data`` as a dlcore Dataset where it is arrays or a DataFrame; a DataFrame after the
        model's first is read with its columns and categories (kept in ``model.table``)."""
        if is_huggingface(data):
            return from_huggingface(data, table.get("target") or (model.table or {}).get("target") or "label")
        if not is_dataframe(data):
            return as_dataset(data, name)
        known = model.table
        target = table.get("target") or (known or {}).get("target")
        if target is None and not table.get("predict"):
            raise ConfigError(f"{name} is a DataFrame: name its label column, e.g. fit(df, target='label')")
        if known is None:
            frame = from_dataframe(data, target, table.get("features"), table.get("categorical", "error"), name=name)
            model.table = {"target": frame.target, "features": list(frame.columns),
                           "categorical": table.get("categorical", "error"), "categories": frame.categories}
            return frame
        return from_dataframe(data, None if table.get("predict") else target, known["features"], known["categorical"],
                              known["categories"], name)

    def _native_outputs(self, model: Model, prepared: Prepared, features: np.ndarray, name: str) -> int:
        """How many outputs the user's own model gives per sample, from its first two samples;
        a model that fails on them is a DataError naming the shapes it was given."""
        probe = Prepared(prepared.payload, min(len(features), 2), 2)
        try:
            logits = self.backend.to_numpy(self.backend.predict_steps(model, Span(probe, 0, 1)))
        except Exception as err:  # the user's model refused the data: say what it was given
            raise DataError(f"{name}: your {type(model.native).__name__} fails on samples of shape "
                            f"{features.shape[1:]} ({features.dtype}): {error_gist(err)}; {shape_hint(features)}") from err
        return int(np.prod(logits.shape[1:])) if logits.ndim > 1 else 1

    def _encode_texts(self, model: Model, texts: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Token ids of ``texts`` under the model's embedding, computed once per array."""
        embedding = getattr(model.spec, "embedding", None)
        if embedding is None:
            raise DataError(f"{name}: the samples are texts but the model takes numbers; "
                            "use models.text_classifier(embedding) for text")
        key = (id(texts), id(embedding))
        cached = self._token_cache.get(key)
        if cached is None or cached[0] is not texts:
            self._token_cache.clear()  # keep one dataset's ids: evaluating on another re-encodes
            cached = self._token_cache[key] = (texts, *embedding.encode(texts))
        return cached[1], cached[2]

    def _check_features(self, model: Model, features: np.ndarray, name: str, channels: str | None,
                        warn_key: Any = None) -> np.ndarray:
        """``features`` checked and as the spec takes them (:func:`.inputs.check_features`); a
        warning, once per array (or ``warn_key``: per stream), when they look like unscaled pixels."""
        features = check_features(model.spec, features, name, channels)
        key = (id(features), features.shape) if warn_key is None else (warn_key,)
        if key not in self._warned and looks_unscaled(features, model.spec):
            self._warned.add(key)
            warnings.warn(f"{name}: pixel values go up to {float(features.max()):g}; models train best on values "
                          "scaled to [0, 1] (features / 255, as torchvision's ToTensor does)", UserWarning,
                          stacklevel=4)
        return features

    def _check_labels(self, model: Model, labels: np.ndarray, name: str, outputs: int | None) -> None:
        if model.spec is None and outputs == 1 and self.loss is None and model.loss == "cross_entropy" \
                and labels.ndim == 1 and np.isin(labels, (0, 1)).all():
            model.loss = "binary_cross_entropy"  # one output and 0/1 labels: a binary classifier
        plugins = registry()
        check_labels(plugins.loss(self.loss_of(model)), labels, outputs, name,
                     regression_losses=[loss.name for loss in plugins.losses if loss.regression],
                     classification_losses=[loss.name for loss in plugins.losses if not loss.regression])


__all__ = ["PRECISIONS", "Callback", "Trainer", "wants_batches"]
