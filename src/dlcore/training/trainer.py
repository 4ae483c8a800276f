"""The Trainer: one fit / evaluate / predict loop over every backend.

The :class:`Trainer` is the public face and the conductor of a run; the parts it conducts are
private modules, each owning one responsibility: ``_settings`` (the frozen, checked record of
what the Trainer was given), ``_feed`` (the data of a run, checked and put on the device),
``_loop`` (epochs of spans of batches, and the one owner of a fit's learning rate),
``_state`` (optimizer, save, resume), ``_group`` (a group of processes), ``_progress`` (the
History and the progress line, callbacks every fit installs), ``_callback`` (the
:class:`Callback` hooks; the built-in callbacks are in :mod:`dlcore.training.callbacks`),
``_xy`` (data given as Keras takes it: ``(model, x, y)``, ``validation_split``), ``_summary``
(the tables of ``summary``) and ``lr_finder`` (``lr_find``'s search). A
backend (:mod:`dlcore.contract`) supplies the steps over spans of batches.
"""

from __future__ import annotations

import functools
import importlib
import warnings
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ..contract.backend import Backend, Model
from ..contract.devices import Device
from ..contract.errors import CheckpointError, ConfigError, DataError
from ..contract.specs import ModelSpec
from ..contract.strategy import Strategy
from ..data.arrays import ArrayDataset, Dataset
from ..data.streaming import memory_budget as memory_budget_of
from ..io.checkpoint import saved_table
from ..io.formats import other_format, read_weights, write_weights
from ..models.graph import Graph
from ..models.layers import Sequential
from ..parallel.ray import RayLauncher
from ..plugins.backends import get_backend
from ..plugins.manager import Registry, registry
from . import _group, _state, _summary
from ._xy import check_handle_unknown, features_and_labels, fit_data
from ._callback import Callback, wants_batches
from ._feed import DataFeed, FeedMemory
from ._kernels import metric_function
from ._loop import LearningRate, Loop, resolve
from ._progress import HistoryRecorder, ProgressLine
from ._settings import DEFAULT_METRICS, PRECISIONS, Settings, check_on_backend, check_positive_int
from .history import History
from .lr_finder import LRFinder, check_search, find_lr, search_rates
from .optimizers import OptimizerConfig
from .schedules import Schedule

for _public in ("dlcore.losses", "dlcore.metrics"):  # their register, as dlcore.losses.register after `import dlcore`
    importlib.import_module(_public)


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
        loss: a registered loss, or a function written on ``dlcore.ops``,
            ``fn(ops, outputs, targets, weights=None)`` (registered under its ``__name__``; see
            :mod:`dlcore.losses`); default: the model spec's ("cross_entropy", or
            "binary_cross_entropy" for one output).
        metrics: registered metrics, or functions ``fn(ops, outputs, targets)`` giving one value
            per sample (averaged over the epoch; see :mod:`dlcore.metrics`), recorded per epoch
            under their names (``val_`` + name for validation); default accuracy, or ``mae``
            with a regression loss.
        label_smoothing: cross-entropy against each label row mixed with the uniform one,
            (1 - e) * row + e / classes (torch's and Keras' meaning); other losses refuse it.
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
    label_smoothing: float
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
        loss: str | Callable[..., Any] | None = None,
        metrics: Sequence[str | Callable[..., Any]] | None = None,
        label_smoothing: float = 0.0,
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
        self.settings = settings = Settings.check(
            backend=backend, epochs=epochs, batch_size=batch_size, optimizer=optimizer, lr=lr, schedule=schedule,
            clip_value=clip_value, clip_norm=clip_norm, accumulate=accumulate, precision=precision,
            deterministic=deterministic, shuffle=shuffle, seed=seed, device=device, loss=loss, metrics=metrics,
            label_smoothing=label_smoothing,
            progress=progress, verbose=verbose, log_every=log_every, eval_batch_size=eval_batch_size,
            memory_budget=memory_budget, stream=stream, readers=readers)
        self.backend = get_backend(backend)
        self.backend_name = self.backend.name
        plugins = registry()
        check_on_backend(settings, self.backend, plugins)
        self.epochs, self.batch_size, self.eval_batch_size = settings.epochs, settings.batch_size, settings.eval_batch_size
        self.log_every, self.lr, self.schedule = settings.log_every, settings.lr, settings.schedule
        self.optimizer_config = settings.optimizer
        self.optimizer, self.hyper = self.optimizer_config.name, dict(self.optimizer_config.hyper)
        self.clip_value, self.clip_norm, self.accumulate = settings.clip_value, settings.clip_norm, settings.accumulate
        self.precision, self.loss, self.label_smoothing = settings.precision, settings.loss, settings.label_smoothing
        self.metrics = settings.metrics if settings.metrics is not None else DEFAULT_METRICS
        self._metrics_given = settings.metrics is not None
        self.shuffle, self.progress, self.verbose = settings.shuffle, settings.progress, settings.verbose
        self.memory_budget = memory_budget_of(settings.memory_budget)
        self.stream, self.readers = settings.stream, settings.readers
        self.strategy = _group.make_strategy(plugins, strategy, self.backend_name)
        if launcher is not None and strategy is not None:
            raise ConfigError("give strategy= (this process is one of a group) or launcher= (fit starts a group), "
                              "not both")
        if launcher is not None and not (launcher == "ray" or isinstance(launcher, RayLauncher)):
            raise ConfigError(f"launcher must be 'ray' or a dlcore.parallel.ray.RayLauncher, got {launcher!r}")
        self.launcher = RayLauncher() if launcher == "ray" else launcher if isinstance(launcher, RayLauncher) else None
        self.device = self.backend.device(self.strategy.local_device(device) if self.strategy is not None else device,
                                          plugins.device_kinds)
        if precision != "32":
            self.backend.check_precision(precision, self.device)
        self.deterministic = settings.deterministic
        if self.deterministic:
            self.backend.set_deterministic(True)
        self.seed = settings.seed if self.strategy is None else _group.join(self, settings.seed)
        self._rng = np.random.default_rng(self.seed)
        self.stop_training = False  # a callback sets it to end fit after the current batch or epoch
        self._learning_rate = LearningRate(self.lr, self.schedule, self.epochs, self.accumulate)
        self._models: dict[int, tuple[Any, Model]] = {}  # by spec or native model
        self._memory = FeedMemory()  # token ids and warnings, kept from one run to the next
        if self.seed is not None:
            self.backend.seed(self.seed)

    def __repr__(self) -> str:
        group = "" if self.strategy is None else \
            f", strategy={self.strategy.name!r}, rank={self.strategy.rank}/{self.strategy.world_size}"
        return (f"Trainer(backend={self.backend_name!r}, device={self.device.name!r}, epochs={self.epochs}, "
                f"batch_size={self.batch_size}, optimizer={self.optimizer!r}, lr={self.lr}, seed={self.seed}{group})")

    @property
    def is_chief(self) -> bool:
        """Whether this process prints and writes: always in one process, rank 0 in a group."""
        return self.strategy is None or self.strategy.is_chief

    @property
    def run_lr(self) -> float:
        """The learning rate of the fit in progress, before a schedule's factor: ``lr`` when it
        starts; callbacks (ReduceLROnPlateau) change it, and the loop tells the backend."""
        return self._learning_rate.rate

    @run_lr.setter
    def run_lr(self, rate: float) -> None:
        self._learning_rate.rate = float(rate)

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
                built.trained = False  # random initial weights: evaluate and predict refuse them
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
            resume_from: Any = None, *, epochs: int | None = None, validation_data: Any = None,
            validation_split: float | None = None, target: str | Sequence[str] | None = None,
            features: Sequence[str] | None = None, categorical: str = "error", sample_weight: Any = None,
            class_weight: dict[int, float] | str | None = None, handle_unknown: str | None = None,
            augment: Any = None) -> History:
        """Train for ``epochs`` epochs; return the History of per-epoch metrics.

        ``train`` and ``validation`` are dlcore Datasets, ``(features, labels)`` tuples, pandas
        DataFrames (``target``: the label column or columns; ``features``: the feature columns,
        default all others; ``categorical="one_hot"`` encodes columns that are not numbers; see
        :func:`dlcore.datasets.from_dataframe`), or the backend's native data. As in Keras,
        ``fit(model, x, y)`` takes the features and the labels as two arrays of the same length
        (then ``validation_data=`` gives the validation data; y may be a list or a pandas Series,
        and with a DataFrame x, y becomes its label column), and ``validation_split=0.1`` (or
        ``validation=0.1``) holds out the last tenth of the training samples. ``epochs`` trains
        this many epochs in this call instead of the trainer's ``epochs``. ``resume_from`` is a
        checkpoint saved by any backend with the same optimizer: its weights, optimizer state
        (canonical layout), shuffling RNG and history are restored and training continues after
        its last epoch, up to ``epochs`` (the number of the last epoch, as Keras counts them),
        with this trainer's learning rate. A model fitted before keeps its optimizer state when
        the optimizer is the same, with this trainer's learning rate.

        ``sample_weight`` (one per training sample) and ``class_weight`` (``{class: weight}``,
        others 1; or ``"balanced"``: ``n_samples / (n_classes * samples of the class)``, as
        scikit-learn computes it) weight each sample's training loss, as Keras does: a batch's
        loss is the mean of loss times weight; metrics and validation are not weighted.

        ``handle_unknown="ignore"``: categories of later tables that training did not see are all
        zeros with a warning instead of an error (``"error"``, the default, refuses them); the
        encoding is kept in the model and its checkpoints, and a later fit that gives
        ``handle_unknown`` changes it.

        ``augment`` (a random transform such as ``transforms.RandomCrop(28, padding=4)``, or a
        ``transforms.Compose`` of them) changes each training batch anew every epoch, on the host,
        never the validation data; a seeded trainer draws the same changes every run.

        Example::

            x, y = np.random.rand(100, 4).astype("float32"), np.arange(100) % 2
            trainer.fit(models.mlp(4, [8], 2), x, y, epochs=2, validation_split=0.2)
        """
        check_handle_unknown(handle_unknown)
        train, validation, target = fit_data(train, validation, validation_data, validation_split, target)
        given_epochs = self.epochs
        if epochs is not None:
            self.epochs = check_positive_int("epochs", epochs)
        try:
            if self.launcher is not None:
                history = _group.fit_launched(self, model, train, validation, callbacks, resume_from,
                                              dict(target=target, features=features, categorical=categorical,
                                                   sample_weight=sample_weight, class_weight=class_weight,
                                                   handle_unknown=handle_unknown, augment=augment, epochs=self.epochs))
                self.build(model).trained = True
                return history
            return self._fit(model, train, validation, callbacks, resume_from, target, features, categorical,
                             sample_weight, class_weight, handle_unknown, augment)
        finally:
            self.epochs = given_epochs

    def _fit(self, model: Any, train: Any, validation: Any, callbacks: Sequence[Callback], resume_from: Any,
             target: Any, features: Any, categorical: str, sample_weight: Any, class_weight: Any,
             handle_unknown: str | None, augment: Any) -> History:
        """fit in this process, for ``self.epochs`` epochs."""
        plugins = registry()
        built = self.build(model)
        self._learning_rate = LearningRate(self.lr, self.schedule, self.epochs, self.accumulate)
        if resume_from is not None:
            history, first_epoch = _state.resume(self, plugins, built, resume_from)
            if first_epoch > self.epochs:
                warnings.warn(f"{resume_from}: training reached epoch {first_epoch - 1} already and this trainer "
                              f"stops at epochs={self.epochs}, so there is nothing to train; set epochs above "
                              f"{first_epoch - 1} to go on", UserWarning, stacklevel=2)
        else:
            _state.attach_optimizer(self, plugins, built)
            history, first_epoch = History(), 1
            built.epoch, built.history_records = 0, ()
        if handle_unknown is not None and built.table is not None:  # this fit's choice, kept for the next
            built.table = {**built.table, "handle_unknown": handle_unknown}
        trained, steps = built.trained, built.step
        try:
            self._train(plugins, built, history, first_epoch, train, validation, callbacks, sample_weight,
                        class_weight, augment, {"target": target, "features": features, "categorical": categorical,
                                                "handle_unknown": handle_unknown or "error"})
        finally:  # a fit that trained no step (its data refused, say) leaves random weights refused
            built.trained = trained or built.step > steps
        return history

    def _train(self, plugins: Registry, built: Model, history: History, first_epoch: int, train: Any,
               validation: Any, callbacks: Sequence[Callback], sample_weight: Any, class_weight: Any, augment: Any,
               table: dict[str, Any]) -> None:
        """The epochs of ``_fit`` on its data, read and checked here."""
        feed = self._feed()
        whole = train = feed.as_dataset(built, train, "train", table)
        if isinstance(validation, float):
            if not isinstance(train, Dataset):
                raise ConfigError(f"a validation fraction needs a dlcore Dataset or arrays, not a "
                                  f"{type(train).__name__}; pass validation data instead")
            train, validation = train.split(validation)
        if isinstance(class_weight, str) and isinstance(train, Dataset):  # "balanced": of the training part only
            class_weight = feed.balanced(train, class_weight, feed.loss_of(built).regression)
        weights = None
        if sample_weight is not None or class_weight is not None:
            weights = feed.sample_weights(built, whole, sample_weight, class_weight)
            weights = weights if callable(weights) or whole is train else weights[:len(train)]
        validation = feed.as_dataset(built, validation, "validation", table)
        self._choose_loss(feed, built, train, validation)
        train_data = feed.prepare(built, train, training=True, weights=weights, augment=augment)
        total = train_data.num_samples or 0  # samples of an epoch over all processes
        if self.strategy is not None:
            train_data = _group.join_fit(self, built, train_data)
            callbacks = [c for c in callbacks if self.is_chief or not getattr(c, "chief_only", False)]
        val_data = None if validation is None else feed.prepare(built, validation, training=False)
        if train_data.num_batches is None and (self.accumulate > 1 or (self.schedule and self.schedule.unit == "step")):
            raise ConfigError("gradient accumulation and per-step schedules need data of known length; "
                              "pass a dlcore Dataset, arrays, or a pipeline that has a length")
        metrics = self.metrics_of(built)
        train_step = resolve(self, plugins, built, train_data.batch_size, True, metrics)
        val_step = None if val_data is None else resolve(self, plugins, built, val_data.batch_size, False, metrics)
        installed = [ProgressLine(), HistoryRecorder(history), *callbacks]  # as Keras installs History and its logger
        try:
            Loop(self).fit(built, train, train_data, val_data, train_step, val_step, installed, first_epoch, total)
        finally:
            feed.close(train_data, val_data)
        for callback in installed:
            callback.on_train_end(self, built, history)

    def evaluate(self, model: Any, data: Any, y: Any = None, confusion_matrix: bool = False, *,
                 target: str | Sequence[str] | None = None, allow_random: bool = False) -> dict[str, Any]:
        """Mean loss per sample and the trainer's metrics over ``data``, tracking no gradients;
        with ``confusion_matrix``, also the counts of true class (rows) against predicted class
        (columns) as an int64 array. ``data`` is as ``fit`` takes it (``evaluate(model, x, y)``:
        features and labels as two arrays); a DataFrame is read as the one ``fit`` took
        (``target``: its label column(s), default fit's).

        A spec this trainer never fitted nor loaded has random weights: it is refused with a
        ConfigError, unless ``allow_random=True`` (then a warning).

        Example::

            trainer.fit(model, x, y)
            trainer.evaluate(model, x_test, y_test)   # {"loss": ..., "accuracy": ...}
        """
        if isinstance(y, (bool, np.bool_)):  # evaluate(model, data, True): the confusion matrix, as before
            confusion_matrix, y = bool(y), None
        if y is not None:
            data = features_and_labels(data, y, "evaluate")
        plugins = registry()
        built = self.build(model)
        self._refuse_untrained(model, built, allow_random, "evaluate")
        feed = self._feed()
        data = feed.as_dataset(built, data, "evaluation data", {"target": target})
        self._choose_loss(feed, built, data)
        prepared = feed.prepare(built, data, training=False)
        extra = ("confusion_matrix",) if confusion_matrix else ()
        step = resolve(self, plugins, built, prepared.batch_size, False, self.metrics_of(built) + extra)
        try:
            loss, metrics, _ = Loop(self).run(self.backend.evaluate_steps, built, prepared, step)
        finally:
            feed.close(prepared)
        return {"loss": loss, **metrics}

    def predict(self, model: Any, data: Any, *, allow_random: bool = False) -> np.ndarray:
        """Logits for each sample of ``data`` (a Dataset, an array or list of features, texts,
        or native data). A spec this trainer never fitted nor loaded has random weights: it is
        refused with a ConfigError, unless ``allow_random=True`` (then a warning).

        Example::

            trainer.fit(model, x, y)
            classes = trainer.predict(model, x_new).argmax(1)
        """
        built = self.build(model)
        self._refuse_untrained(model, built, allow_random, "predict")
        if isinstance(data, (list, tuple)) and data and all(isinstance(t, str) for t in data):
            texts = np.empty(len(data), dtype=object)
            texts[:] = list(data)
            data = texts
        elif isinstance(data, list):  # rows of numbers, as Keras takes them
            data = np.asarray(data)
        if isinstance(data, np.ndarray):
            data = ArrayDataset(data, np.zeros(len(data), np.int64), name="predict input")
        feed = self._feed()
        data = feed.as_dataset(built, data, "predict input", {"predict": True})
        prepared = feed.prepare(built, data, training=False, labels=False)
        outputs = []
        try:
            for _, span in Loop(self).spans(prepared):
                logits = self.backend.to_numpy(self.backend.predict_steps(built, span))
                if len(logits) == 0:
                    break
                outputs.append(logits)
        finally:
            feed.close(prepared)
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
        return _state.save(self, self.build(model), path, metadata)

    def load(self, path: Any, spec: ModelSpec | None = None, *, model: Any = None) -> Model:
        """A new Model holding the weights saved at ``path``, built here; or, with ``model``
        (your own nn.Module or keras.Model, or a Model), that model with the weights loaded.

        ``path`` is a dlcore checkpoint (.npz, from any backend) or any registered weight
        format (torch state_dict .pt/.pth, read with weights_only=True; Keras .keras, safe
        mode). A state_dict holds no architecture: pass ``spec``. Your own model's weights go
        by name and shape (a Keras model's by the order of its weights, so the same code builds
        a model that loads them in another process); any that do not fit are all named. A
        checkpoint of a model fitted on a DataFrame gives it the table's encoding (target,
        columns, categories), so it predicts on and evaluates raw DataFrames.
        """
        if model is not None:
            if spec is not None:
                raise ConfigError("pass spec= (a dlcore spec) or model= (a model), not both")
            built = self.build(model)
            built.set_weights(read_weights(path, built.spec)[0])
            built.table = saved_table(path) or built.table
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
        built.table = saved_table(path)
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
        try:
            metric_function(plugins, self.backend, "mae")
        except ConfigError:  # neither a kernel nor a table of ops
            return ()
        return ("mae",)

    def summary(self, model: Any, print_fn: Callable[[str], None] | None = print, weights: bool = False) -> str:
        """The model's layers as Keras' ``model.summary()`` shows them: a row per layer (name and
        kind, output shape with the batch as None, parameter count), then the total, trainable
        and non-trainable parameters; printed with ``print_fn``, and returned. A spec's layers know
        their output shapes; a user's own torch module shows "?" for them. ``weights=True``: a
        row per parameter (name, shape, count) instead.

        >>> from dlcore import Trainer, models
        >>> text = Trainer("torch").summary(models.mlp(784, [512], 10), print_fn=None)  # doctest: +SKIP
        >>> print(text)  # doctest: +SKIP
        MLP(784 -> 512 -> 10) on torch (cpu)
        ...
        layers.0 (Dense)  (None, 512)  401,920
        """
        built = self.build(model)
        values = built.get_weights()
        described = built.spec if built.spec is not None else type(built.native).__name__
        title = f"{described} on {self.backend_name} ({self.device.name})"
        total = sum(int(w.size) for w in values.values())
        size = sum(w.nbytes for w in values.values()) / 2 ** 20
        if weights:
            lines = _summary.weights_table(title, values, built, total, size)
        else:
            lines = [_summary.table(title, built, values)]
        text = "\n".join(lines)
        if print_fn is not None:
            print_fn(text)
        return text



    def lr_find(self, model: Any, train: Any, y: Any = None, *, min_lr: float = 1e-7, max_lr: float = 1.0,
                num_training: int = 100, mode: str = "exponential", early_stop_threshold: float | None = 4.0,
                target: str | Sequence[str] | None = None, features: Sequence[str] | None = None,
                categorical: str = "error", handle_unknown: str | None = None) -> LRFinder:
        """Search a learning rate, as Lightning's ``lr_find``: train ``num_training`` batches of
        ``train`` (or ``x, y``) with the rate growing from ``min_lr`` to ``max_lr`` (``mode``
        "exponential" or "linear"), stopping early once the smoothed loss passes
        ``early_stop_threshold`` times its best (None: never). The model's weights and
        optimizer state are left exactly as they were, and the shuffling order of later fits
        too (and a DataFrame's encoding: the next fit reads its table anew). ``target``,
        ``features``, ``categorical`` and ``handle_unknown`` read a DataFrame as ``fit`` does. Returns an :class:`LRFinder` with the rates, the smoothed losses, a
        ``suggestion()`` and a ``plot()``.

        Example::

            finder = trainer.lr_find(model, x, y)
            finder.plot("lr_find.png")
            lr = finder.suggestion()  # None when the search stopped too early to tell
            Trainer(lr=lr if lr is not None else 1e-3, epochs=5).fit(model, x, y)
        """
        rates = search_rates(min_lr, max_lr, num_training, mode)
        check_search(early_stop_threshold)
        check_handle_unknown(handle_unknown)
        if self.strategy is not None or self.launcher is not None:
            raise ConfigError("lr_find runs in one process: use a trainer without strategy= or launcher=, then "
                              "train the group with the rate it suggests")
        if y is not None:
            train, _, target = fit_data(train, y, None, None, target, "lr_find")
        plugins = registry()
        built = self.build(model)
        table, loss = built.table, built.loss  # what reading the data sets, put back after the search
        feed = self._feed()
        try:
            known = built.table if handle_unknown is None or built.table is None else \
                {**built.table, "handle_unknown": handle_unknown}
            built.table = known
            train = feed.as_dataset(built, train, "train", {"target": target, "features": features,
                                                            "categorical": categorical,
                                                            "handle_unknown": handle_unknown or "error"})
            self._choose_loss(feed, built, train)
            prepared = feed.prepare(built, train, training=True)
            try:
                return find_lr(self, plugins, built, prepared, rates, early_stop_threshold, mode)
            finally:
                feed.close(prepared)
        finally:
            built.table, built.loss = table, loss

    # ------------------------------------------------------------- the parts

    def _refuse_untrained(self, given: Any, built: Model, allow_random: bool, what: str) -> None:
        """Refuse (or with ``allow_random``, warn about) a spec given whose Model this trainer
        never fitted nor loaded (a Model given is the user's to have set)."""
        if not isinstance(given, ModelSpec) or built.trained:
            return
        message = (f"{what} on a model spec that this trainer never fitted nor loaded: its weights are the "
                   f"random initial ones, so its results mean nothing")
        if not allow_random:
            raise ConfigError(f"{message}; fit it first (trainer.fit(model, ...) with this trainer), load trained "
                              f"weights (model = trainer.load('model.npz')), or pass allow_random=True to {what} "
                              "with random weights anyway")
        warnings.warn(message + " (allow_random=True)", UserWarning, stacklevel=3)


    def _feed(self) -> DataFeed:
        """The data feed of a run, with the data settings as they are now."""
        return DataFeed(self.backend, self.device, self._memory, self.loss, self.batch_size, self.eval_batch_size,
                        self.accumulate, self.shuffle, self.seed, self.stream, self.memory_budget, self.readers)

    @staticmethod
    def _choose_loss(feed: DataFeed, model: Model, *data: Any) -> None:
        """Choose ``model.loss`` before its data is prepared, from the first of ``data`` that is
        a dlcore Dataset: the user's own model with one output, no ``loss`` setting and 0/1
        labels is a binary classifier, trained and evaluated with binary cross-entropy from now
        on (``trainer.loss_of(model)`` says so)."""
        given = next((each for each in data if isinstance(each, Dataset)), None)
        if given is not None and feed.binary_classifier(model, given):
            model.loss = "binary_cross_entropy"

    def _build_spec(self, spec: ModelSpec) -> Model:
        """A new Model of ``spec``, by this backend's model kernel for its kind."""
        plugins = registry()
        builder = plugins.kernel("model", spec.kind, self.backend_name)
        if isinstance(spec, (Sequential, Graph)):  # its layers, each by its kind's kernel
            kernels = [plugins.layer_kernel(layer, self.backend_name) for layer in spec.graph.layers]
            builder = functools.partial(builder, layer_kernels=kernels)
        return self._bound(self.backend.build(spec, self.device, builder))

    def _bound(self, model: Model) -> Model:
        """``model`` with its backend set (a backend of dlcore 0.1 gives only its name)."""
        if isinstance(model.backend, str):
            model.backend = self.backend
        return model


__all__ = ["PRECISIONS", "Callback", "Trainer", "wants_batches"]
