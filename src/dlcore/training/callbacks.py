"""Callbacks: code of yours that ``Trainer.fit`` calls at the start and end of training, of
each epoch, of each training batch, and after validation, with the Keras set of methods (their
base, :class:`Callback`, is in ``_callback``; History and the epoch line are callbacks too, in
``_progress``, which every fit installs before yours).

Set ``trainer.stop_training = True`` in any of them to end training after the current batch
(batch hooks) or epoch. A callback that does not override the batch methods costs nothing per
batch: the trainer runs its batches in multi-step spans unless some callback asks for batches.

Built in: :class:`ModelCheckpoint`, :class:`EarlyStopping`,
:class:`ReduceLROnPlateau`, :class:`LearningRateMonitor`, :class:`CSVLogger`, :class:`TensorBoard`,
:class:`LambdaCallback`.
"""

from __future__ import annotations

import copy
import csv
import math
import os
import socket
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..contract.backend import Model
from ..contract.errors import CheckpointError, ConfigError
from ..io.checkpoint import saved_metadata
from .history import History
from ._callback import Callback, wants_batches
from .trainer import Trainer


def _mode(monitor: str | None, mode: str) -> str:
    if mode not in ("auto", "min", "max"):
        raise ConfigError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    return ("min" if monitor and "loss" in monitor else "max") if mode == "auto" else mode


def _monitored(name: str, monitor: str, logs: dict[str, Any]) -> float:
    if monitor not in logs:
        raise ConfigError(f"{name} monitors {monitor!r}, which fit does not record (it records "
                          f"{', '.join(k for k in logs if k != 'epoch')}); pass validation data or choose another metric")
    return float(logs[monitor])


class ModelCheckpoint(Callback):
    """Save a checkpoint every ``every`` epochs to ``directory/last.npz``, and to
    ``directory/best.npz`` whenever ``monitor`` improves (``mode`` "min", "max", or "auto":
    "min" for losses). A failed epoch (e.g. a NaN loss) saves nothing, so both files keep
    the last good state. ``metadata``: JSON of your own, saved in both.

    ``save_top_k`` (Lightning's name) also keeps the ``k`` best epochs, each in a file named
    by its epoch, step and value (``epoch=7-step=700-val_loss=0.4123.npz``, with ``-v1`` where
    another run's file has that name): a worse one is
    deleted (by rank 0 of a group) only after the new one is written. ``-1`` keeps every
    epoch's, ``0`` no monitored checkpoint at all (not even best.npz). ``best_k_models`` maps
    each kept file to its value; ``best_path`` is the best.

    Each fit starts from the checkpoints already in ``directory`` (their values read from their
    metadata): a fit resumed in a new process keeps the best and the top k of the run before,
    and never overwrites best.npz with a worse epoch. A new model's fit into a directory that
    holds such checkpoints warns: they compete with its own; give a new run its own directory.

    Example::

        trainer.fit(model, train, validation=test, callbacks=[ModelCheckpoint("checkpoints")])
        keeper = ModelCheckpoint("checkpoints", save_top_k=3)   # best.npz and the 3 best epochs
    """

    def __init__(self, directory: str | Path, every: int = 1, monitor: str | None = "val_loss",
                 mode: str = "auto", metadata: dict[str, Any] | None = None, save_top_k: int | None = None) -> None:
        if every < 1:
            raise ConfigError(f"every must be >= 1, got {every}")
        if save_top_k is not None and save_top_k < -1:
            raise ConfigError(f"save_top_k must be -1 (keep all), 0 (none) or a count k >= 1, got {save_top_k}")
        if save_top_k not in (None, 0) and monitor is None:
            raise ConfigError(f"save_top_k={save_top_k} keeps the best checkpoints by a monitored value: "
                              "give monitor= (e.g. 'val_loss')")
        self.directory = Path(directory)
        self.metadata = dict(metadata or {})
        self.every = every
        self.monitor = monitor
        self.mode = _mode(monitor, mode)
        self.save_top_k = save_top_k
        self.best: float | None = None
        self.best_k_models: dict[Path, float] = {}

    @property
    def last_path(self) -> Path:
        return self.directory / "last.npz"

    @property
    def best_path(self) -> Path:
        return self.directory / "best.npz"

    def _better(self, value: float, than: float) -> bool:
        return value < than if self.mode == "min" else value > than

    def _saved_value(self, path: Path) -> float | None:
        """The monitored value saved in the checkpoint at ``path`` (its metadata alone), or None
        for a file of another monitor or not a dlcore checkpoint."""
        try:
            meta = saved_metadata(path)
        except CheckpointError:
            return None
        value = None if meta is None or meta.get("monitor") != self.monitor else meta.get("value")
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None

    def on_train_begin(self, trainer: Trainer, model: Model) -> None:
        self.best, self.best_k_models = None, {}
        if self.monitor is None or self.save_top_k == 0 or not self.directory.is_dir():
            return
        if self.best_path.is_file():
            self.best = self._saved_value(self.best_path)
        if self.save_top_k is not None:
            for path in sorted(self.directory.glob("epoch=*.npz")):
                value = self._saved_value(path)
                if value is not None:
                    self.best_k_models[path] = value
        if model.step == 0 and (self.best is not None or self.best_k_models):
            best = self.best if self.best is not None else \
                (min if self.mode == "min" else max)(self.best_k_models.values())
            warnings.warn(f"ModelCheckpoint: {self.directory} already holds checkpoints of {self.monitor} (best "
                          f"{best:.4g}); they "
                          "compete with this new model's: best.npz and the top k keep the best of both; give a new "
                          "run its own directory", UserWarning, stacklevel=2)

    def on_epoch_end(self, trainer: Trainer, model: Model, epoch: int, logs: dict[str, Any]) -> None:
        if epoch % self.every == 0:
            trainer.save(model, self.last_path, self.metadata)
        if self.monitor is None or self.save_top_k == 0:
            return
        value = _monitored("ModelCheckpoint", self.monitor, logs)
        saved = {**self.metadata, "monitor": self.monitor, "value": value, "epoch": epoch}
        if self.best is None or self._better(value, self.best):
            self.best = value
            trainer.save(model, self.best_path, saved)
        if self.save_top_k is not None:
            self._keep_top_k(trainer, model, epoch, value, saved)

    def _keep_top_k(self, trainer: Trainer, model: Model, epoch: int, value: float, saved: dict[str, Any]) -> None:
        k = self.save_top_k
        assert k is not None and self.monitor is not None
        ranked = sorted(self.best_k_models.values(), reverse=self.mode == "max")
        if k != -1 and len(ranked) >= k and not self._better(value, ranked[k - 1]):
            return  # not among the k best
        name = f"epoch={epoch}-step={model.step}-{self.monitor}={value:.4f}"
        path, version = self.directory / f"{name}.npz", 0
        while path in self.best_k_models:  # another run's file in this directory: keep it
            version += 1
            path = self.directory / f"{name}-v{version}.npz"
        trainer.save(model, path, saved)  # atomically, before a worse one goes
        self.best_k_models[path] = value
        if k != -1:
            ordered = sorted(self.best_k_models, key=self.best_k_models.__getitem__, reverse=self.mode == "max")
            for worse in ordered[k:]:
                del self.best_k_models[worse]
                if trainer.is_chief:  # the one that writes them
                    worse.unlink(missing_ok=True)


class EarlyStopping(Callback):
    """Stop training when ``monitor`` has not improved by more than ``min_delta`` for
    ``patience`` epochs, as Keras' EarlyStopping; with ``restore_best_weights`` the model ends
    with the weights of its best epoch. When it stops it says so, with the progress line's
    output (stdout with ``verbose``, else stderr), e.g. "early stopping at epoch 7: val_loss did
    not improve for 3 epochs (best 0.4100 at epoch 4); the model keeps epoch 7's weights (the
    last); restore_best_weights=True ends with epoch 4's"; the line is kept as ``message``, and
    ``stopped_epoch`` (0: it never stopped), ``best_epoch`` and ``best`` say the same.

    Example::

        stopper = EarlyStopping(patience=3, restore_best_weights=True)
        trainer.fit(model, train, validation=test, callbacks=[stopper])
        print(stopper.stopped_epoch, stopper.best_epoch, stopper.best)
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 0, mode: str = "auto", min_delta: float = 0.0,
                 restore_best_weights: bool = False) -> None:
        if patience < 0 or min_delta < 0:
            raise ConfigError(f"patience and min_delta must be >= 0, got {patience} and {min_delta}")
        self.monitor, self.patience, self.min_delta = monitor, patience, min_delta
        self.mode = _mode(monitor, mode)
        self.restore_best_weights = restore_best_weights
        self.best: float | None = None
        self.best_epoch = 0
        self.stopped_epoch = 0
        self.wait = 0
        self.message = ""
        self._best_weights: dict[str, np.ndarray] | None = None

    def _improved(self, value: float) -> bool:
        if self.best is None:
            return True
        return value < self.best - self.min_delta if self.mode == "min" else value > self.best + self.min_delta

    def on_train_begin(self, trainer: Trainer, model: Model) -> None:
        self.best, self.best_epoch, self.stopped_epoch, self.wait, self._best_weights = None, 0, 0, 0, None
        self.message = ""

    def on_epoch_end(self, trainer: Trainer, model: Model, epoch: int, logs: dict[str, Any]) -> None:
        value = _monitored("EarlyStopping", self.monitor, logs)
        if self._improved(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self._best_weights = model.get_weights()
            return
        self.wait += 1
        if self.wait >= max(self.patience, 1):  # patience 0 and 1 both stop at the first epoch without gain
            self.stopped_epoch = epoch
            trainer.stop_training = True
            epochs = "epoch" if self.wait == 1 else f"{self.wait} epochs"
            self.message = (f"early stopping at epoch {epoch}: {self.monitor} did not improve for {epochs} "
                            f"(best {self.best:.4g} at epoch {self.best_epoch})")

    def on_train_end(self, trainer: Trainer, model: Model, history: History) -> None:
        if self.restore_best_weights and self._best_weights is not None and self.best_epoch != model.epoch:
            model.set_weights(self._best_weights)
            if self.message:
                self.message += f"; restored the weights of epoch {self.best_epoch}"
        elif self.message and not self.restore_best_weights:
            self.message += (f"; the model keeps epoch {model.epoch}'s weights (the last); "
                             f"restore_best_weights=True ends with epoch {self.best_epoch}'s")
        if self.message and trainer.is_chief:
            print(self.message, file=sys.stdout if trainer.verbose else sys.stderr, flush=True)


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate of the fit in progress (``trainer.run_lr``; the Trainer's
    ``lr`` setting stays as it is) by ``factor`` when ``monitor`` has not improved by
    more than ``min_delta`` for ``patience`` epochs, then wait ``cooldown`` epochs, never below
    ``min_lr``; as Keras' ReduceLROnPlateau. A schedule's factor applies on top.

    Example::

        trainer.fit(model, train, validation=test, callbacks=[ReduceLROnPlateau(factor=0.5, patience=2)])
    """

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10, mode: str = "auto",
                 min_delta: float = 1e-4, cooldown: int = 0, min_lr: float = 0.0) -> None:
        if not 0 < factor < 1:
            raise ConfigError(f"ReduceLROnPlateau factor must be in (0, 1), got {factor}")
        if patience < 0 or cooldown < 0 or min_delta < 0 or min_lr < 0:
            raise ConfigError("patience, cooldown, min_delta and min_lr must be >= 0")
        self.monitor, self.factor, self.patience, self.min_delta = monitor, factor, patience, min_delta
        self.cooldown, self.min_lr, self.mode = cooldown, min_lr, _mode(monitor, mode)
        self.best: float | None = None
        self.wait = self.cooling = 0

    def on_train_begin(self, trainer: Trainer, model: Model) -> None:
        self.best, self.wait, self.cooling = None, 0, 0

    def on_epoch_end(self, trainer: Trainer, model: Model, epoch: int, logs: dict[str, Any]) -> None:
        value = _monitored("ReduceLROnPlateau", self.monitor, logs)
        if self.cooling:
            self.cooling -= 1
            self.wait = 0
        better = self.best is None or (value < self.best - self.min_delta if self.mode == "min"
                                       else value > self.best + self.min_delta)
        if better:
            self.best, self.wait = value, 0
            return
        self.wait += 1
        if not self.cooling and self.wait >= self.patience and trainer.run_lr > self.min_lr:
            trainer.run_lr = max(trainer.run_lr * self.factor, self.min_lr)
            self.cooling, self.wait = self.cooldown, 0


class LearningRateMonitor(Callback):
    """The learning rate of each step or epoch, as Lightning's LearningRateMonitor. Every fit
    already records each epoch's rate in its History as ``lr`` (the rate of the epoch's last
    batch, after ReduceLROnPlateau and the schedule), so CSVLogger, TensorBoard and
    ``plots.learning_curves`` carry it without this callback. The monitor keeps ``rates``:
    ``(epoch, rate)`` pairs with ``logging_interval="epoch"``, or ``(step, rate)`` for every
    batch with ``"step"`` (the warm-up and decay of a per-step schedule within each epoch;
    steps count batches as the epochs count: from 1 in a fit whose epochs start at 1, a second
    fit of the same model included; on from the saved step in a resumed fit). It asks for no
    batch hooks, so it costs nothing per batch.

    Example::

        monitor = LearningRateMonitor(logging_interval="step")
        trainer = Trainer(epochs=3, schedule=CosineDecay(warmup=100))
        trainer.fit(model, train, callbacks=[monitor])
        steps, rates = zip(*monitor.rates)
    """

    def __init__(self, logging_interval: str = "epoch") -> None:
        if logging_interval not in ("epoch", "step"):
            raise ConfigError(f"logging_interval must be 'epoch' or 'step', got {logging_interval!r}")
        self.logging_interval = logging_interval
        self.rates: list[tuple[int, float]] = []
        self._start: tuple[int, Any] = (0, None)
        self._base: int | None = None  # model.step before this count's step 1

    def on_train_begin(self, trainer: Trainer, model: Model) -> None:
        self.rates, self._base = [], None

    def on_epoch_begin(self, trainer: Trainer, model: Model, epoch: int) -> None:
        if self._base is None:  # epoch 1 counts from step 1 again; a resumed fit's epoch goes on
            self._base = model.step if epoch == 1 else 0
        self._start = (model.step - self._base, copy.copy(trainer._learning_rate))  # the rate this epoch runs at

    def on_epoch_end(self, trainer: Trainer, model: Model, epoch: int, logs: dict[str, Any]) -> None:
        if self.logging_interval == "epoch":
            self.rates.append((epoch, float(logs["lr"])))
            return
        first, learning_rate = self._start
        batches = model.step - (self._base or 0) - first
        rates = np.broadcast_to(learning_rate.of_epoch(epoch, batches), (batches,))
        self.rates += [(first + i + 1, float(rate)) for i, rate in enumerate(rates)]


class CSVLogger(Callback):
    """Append each epoch's record to a CSV file (a header first, unless ``append`` continues a
    file); the file is flushed after every epoch, so a crash loses no finished epoch. In a
    group of processes, rank 0 writes it.

    Example::

        trainer.fit(model, train, validation=test, callbacks=[CSVLogger("runs/history.csv")])
    """

    chief_only = True

    def __init__(self, filename: str | Path, separator: str = ",", append: bool = False) -> None:
        self.path, self.separator, self.append = Path(filename), separator, append
        self._keys: list[str] | None = None

    def on_train_begin(self, trainer: Trainer, model: Model) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._keys = None
        if not (self.append and self.path.is_file()):
            self.path.write_text("")

    def on_epoch_end(self, trainer: Trainer, model: Model, epoch: int, logs: dict[str, Any]) -> None:
        with open(self.path, "a", newline="") as f:
            writer = csv.writer(f, delimiter=self.separator)
            if self._keys is None:
                self._keys = list(logs)
                if f.tell() == 0:
                    writer.writerow(self._keys)
            writer.writerow([logs.get(key, "") for key in self._keys])


class TensorBoard(Callback):
    """Write each epoch's scalars as TensorBoard event files in ``log_dir`` (``train`` and
    ``validation`` runs, as Keras does), with the ``tensorboard`` package's record format and
    protos only, into plain files: TensorFlow is never imported (``pip install
    "dlcore-ml[tensorboard]"``; without it the callback is refused when made).
    In a group of processes, rank 0 writes them.

    Example::

        trainer.fit(model, train, validation=test, callbacks=[TensorBoard("logs")])
        # then, in a shell: tensorboard --logdir logs
    """

    chief_only = True

    def __init__(self, log_dir: str | Path = "logs") -> None:
        try:  # refused when made, not after the first epoch
            from tensorboard.compat.proto import event_pb2, summary_pb2  # noqa: F401
        except ImportError:
            raise ConfigError('the TensorBoard callback needs the tensorboard package: pip install '
                              '"dlcore-ml[tensorboard]" (or pip install tensorboard)') from None
        self.log_dir = Path(log_dir)
        self._files: dict[str, Any] = {}

    def _write(self, run: str, **event: Any) -> None:
        from tensorboard.compat.proto.event_pb2 import Event
        from tensorboard.summary.writer.record_writer import RecordWriter

        if run not in self._files:
            folder = self.log_dir / run
            folder.mkdir(parents=True, exist_ok=True)
            name = f"events.out.tfevents.{time.time():.6f}.{socket.gethostname()}.{os.getpid()}.dlcore"
            self._files[run] = RecordWriter(open(folder / name, "ab"))
            self._files[run].write(Event(wall_time=time.time(), file_version="brain.Event:2").SerializeToString())
        self._files[run].write(Event(wall_time=time.time(), **event).SerializeToString())

    def on_epoch_end(self, trainer: Trainer, model: Model, epoch: int, logs: dict[str, Any]) -> None:
        from tensorboard.compat.proto.summary_pb2 import Summary

        for key, value in logs.items():
            if key == "epoch" or not isinstance(value, (int, float)) or not math.isfinite(value):
                continue
            run, tag = ("validation", key[4:]) if key.startswith("val_") else ("train", key)
            summary = Summary(value=[Summary.Value(tag=f"epoch_{tag}", simple_value=float(value))])
            self._write(run, step=epoch, summary=summary)
        for writer in self._files.values():
            writer.flush()

    def on_train_end(self, trainer: Trainer, model: Model, history: History) -> None:
        for writer in self._files.values():
            writer.close()
        self._files = {}


class LambdaCallback(Callback):
    """A callback from functions: any of the Callback methods by name, each a function with its
    arguments.

    Example::

        report = LambdaCallback(on_epoch_end=lambda trainer, model, epoch, logs: print(epoch, logs["loss"]))
        trainer.fit(model, train, callbacks=[report])
    """

    def __init__(self, **hooks: Callable[..., Any]) -> None:
        known = [name for name in vars(Callback) if name.startswith("on_")]
        unknown = sorted(set(hooks) - set(known))
        if unknown:
            raise ConfigError(f"LambdaCallback has no hook {', '.join(unknown)}; the hooks are {', '.join(known)}")
        for name, function in hooks.items():
            setattr(self, name, function)


def run_csv_logger(run_dir: Path) -> CSVLogger:
    """The ``csv`` logger of a run (:mod:`dlcore.runs`): each epoch into ``run_dir/history.csv``."""
    return CSVLogger(Path(run_dir) / "history.csv")


def run_tensorboard(run_dir: Path) -> TensorBoard:
    """The ``tensorboard`` logger of a run: event files in ``run_dir/tensorboard``."""
    return TensorBoard(Path(run_dir) / "tensorboard")


__all__ = ["Callback", "CSVLogger", "EarlyStopping", "LambdaCallback", "LearningRateMonitor", "ModelCheckpoint",
           "ReduceLROnPlateau", "TensorBoard", "run_csv_logger",
           "run_tensorboard", "wants_batches"]
