"""The Trainer: one fit / evaluate / predict API over every backend.

``Trainer(backend="torch", ...)`` returns the chosen backend's subclass. This module owns what
is the same everywhere (settings, checks, epochs, shuffling order, validation, history,
progress, callbacks); a backend implements the abstract methods, which hold the hot loops.
"""

from __future__ import annotations

import math
import numbers
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ClassVar, Sequence

import numpy as np

from .backend import get_backend
from .data import ArrayDataset, Dataset, as_dataset, standard_dtypes, standard_labels
from .checkpoint import TrainingCheckpoint
from .errors import CheckpointError, ConfigError, DataError, TrainingError
from .history import Callback, History, format_metrics
from .models import Model, ModelSpec
from .progress import Reporter, progress_bar

OPTIMIZERS = ("sgd", "adam")
LOSSES = ("cross_entropy", "binary_cross_entropy")


@dataclass
class Prepared:
    """Data turned into a backend's native form, ready to iterate in batches."""

    payload: Any
    num_samples: int | None
    batch_size: int
    native: bool = False  # a user's own pipeline: dlcore does not shuffle or re-batch it

    @property
    def num_batches(self) -> int | None:
        if self.num_samples is None:
            return None
        return math.ceil(self.num_samples / self.batch_size)


class PerModel:
    """What a backend keeps per native model (its optimizer, its compiled steps), found by
    identity, so a new model that reuses a collected model's id() never gets its state."""

    def __init__(self) -> None:
        self._entries: dict[int, tuple[Any, Any]] = {}

    def get(self, model: Model, make: Callable[[], Any] | None = None) -> Any:
        """The value kept for ``model``; if there is none, ``make()``'s (kept), or None."""
        entry = self._entries.get(id(model.native))
        if entry is None or entry[0] is not model.native:
            if make is None:
                return None
            entry = self._entries[id(model.native)] = (model.native, make())
        return entry[1]


def _check_positive_int(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


class Trainer(ABC):
    """Trains, evaluates and predicts models on one backend.

    Args:
        backend: "torch", "tensorflow" (or an alias such as "tf"), a third-party backend's
            name, or None for $DLCORE_BACKEND or the first installed backend.
        epochs, batch_size: as usual; the last batch of an epoch may be smaller.
        optimizer: "sgd" or "adam". lr: learning rate.
        shuffle: reshuffle the training data every epoch (dlcore's own datasets only).
        seed: makes initial weights and shuffling reproducible, and identical across backends.
        device: "auto" (GPU, then MPS, then CPU), "cpu", "cuda:N", "GPU:N" or "mps".
        loss: "cross_entropy" or "binary_cross_entropy"; default: the model spec's.
        progress: tqdm bar per epoch; None shows it only when stderr is a terminal.
        verbose: print the loss every ``log_every`` batches and a summary per epoch.
        eval_batch_size: batch size of evaluate and predict, which track no gradients.
    """

    backend_name: ClassVar[str] = ""

    def __new__(cls, backend: str | None = None, **settings: Any):
        if cls is Trainer:
            cls = get_backend(backend).trainer_class
        return super().__new__(cls)

    def __init__(
        self,
        backend: str | None = None,
        *,
        epochs: int = 10,
        batch_size: int = 64,
        optimizer: str = "sgd",
        lr: float = 1e-3,
        shuffle: bool = True,
        seed: int | None = None,
        device: str = "auto",
        loss: str | None = None,
        progress: bool | None = None,
        verbose: bool = False,
        log_every: int = 100,
        eval_batch_size: int = 1024,
    ) -> None:
        self.backend = get_backend(self.backend_name)
        self.epochs = _check_positive_int("epochs", epochs, 0)
        self.batch_size = _check_positive_int("batch_size", batch_size)
        self.eval_batch_size = _check_positive_int("eval_batch_size", eval_batch_size)
        self.log_every = _check_positive_int("log_every", log_every)
        self.optimizer = str(optimizer).lower()
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"unknown optimizer {optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")
        if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not lr > 0 or not math.isfinite(lr):
            raise ConfigError(f"lr must be a positive number, got {lr!r}")
        self.lr = float(lr)
        if loss is not None and loss not in LOSSES:
            raise ConfigError(f"unknown loss {loss!r}; choose one of {', '.join(LOSSES)}")
        self.loss = loss
        if seed is not None:
            seed = _check_positive_int("seed", seed, 0)
        self.seed = seed
        self.shuffle = bool(shuffle)
        self.progress = progress
        self.verbose = bool(verbose)
        self.device = self.backend.device(device)
        self._rng = np.random.default_rng(seed)
        self._token_cache: dict[tuple[int, int], tuple] = {}
        self._setup()

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(backend={self.backend_name!r}, device={self.device.name!r}, "
            f"epochs={self.epochs}, batch_size={self.batch_size}, optimizer={self.optimizer!r}, "
            f"lr={self.lr}, seed={self.seed})"
        )

    # ----------------------------------------------------------------- public API

    def build(self, model: Any) -> Model:
        """The backend Model for a dlcore spec (built once per spec), a Model, or a native model."""
        if isinstance(model, Model):
            if model.backend != self.backend_name:
                raise ConfigError(
                    f"this model lives on backend {model.backend!r}, not {self.backend_name!r}; "
                    "pass its spec instead, or use a trainer of that backend"
                )
            built = model
        elif isinstance(model, ModelSpec):
            built = model.built.get(self.backend_name)
            if built is None:
                built = self._build_spec(model)
                built.set_weights(model.initial_weights(self.seed))
                model.built[self.backend_name] = built
        else:
            built = self._wrap_native(model)
            if built is None:
                raise ConfigError(
                    f"cannot use a {type(model).__name__} as a model on backend "
                    f"{self.backend_name!r}; pass a dlcore spec (dlcore.models.mlp(...)) or "
                    f"{self._native_model_names()}"
                )
        self._place(built)
        return built

    def fit(
        self,
        model: Any,
        train: Any,
        validation: Any = None,
        callbacks: Sequence[Callback] = (),
        resume_from: Any = None,
    ) -> History:
        """Train for ``epochs`` epochs; return the History of per-epoch metrics.

        ``train`` and ``validation`` are dlcore Datasets, ``(features, labels)`` tuples, or
        the backend's native data; ``validation`` may also be a fraction of ``train`` to hold
        out (the last samples, as Keras' validation_split). ``resume_from`` is a checkpoint
        saved by this backend: its weights, optimizer state, shuffling RNG and history are
        restored and training continues after its last epoch, up to ``epochs`` (with this
        trainer's learning rate).
        """
        built = self.build(model)
        history, first_epoch = History(), 1
        if resume_from is not None:
            history, first_epoch = self._resume(built, resume_from)
        else:
            built.epoch, built.history_records = 0, ()
        train = as_dataset(train, "train")
        if isinstance(validation, float):
            if not isinstance(train, ArrayDataset):
                raise ConfigError("a validation fraction needs dlcore array data; pass validation data instead")
            train, validation = train.split(validation)
        validation = as_dataset(validation, "validation")
        train_data = self._prepare_data(built, train, training=True)
        val_data = None if validation is None else self._prepare_data(built, validation, training=False)
        for callback in callbacks:
            callback.on_train_begin(self, built)
        for epoch in range(first_epoch, self.epochs + 1):
            start = time.perf_counter()
            order = None
            if self.shuffle and not train_data.native:
                order = self._rng.permutation(train_data.num_samples)
            desc = f"Epoch {epoch}/{self.epochs}"
            with progress_bar(train_data.num_batches, desc, self.progress, unit="batch") as bar:
                if self.verbose:
                    bar.write(f"{desc}\n-------------------------------")
                reporter = Reporter(bar, train_data.num_samples or 0, self.log_every if self.verbose else 0)
                try:
                    loss, accuracy = self._train_epoch(built, train_data, order, reporter)
                except TrainingError as err:
                    raise TrainingError(f"epoch {epoch}: {err}; lower the learning rate (now {self.lr}) "
                                        "or check the data for huge values") from None
                if not math.isfinite(loss):
                    raise TrainingError(
                        f"the training loss became {loss} in epoch {epoch}; lower the learning "
                        f"rate (now {self.lr}) or check the data for NaN or huge values"
                    )
                record = {"epoch": epoch, "loss": loss, "accuracy": accuracy}
                if val_data is not None:
                    val_loss, val_accuracy = self._evaluate_prepared(built, val_data)
                    record.update(val_loss=val_loss, val_accuracy=val_accuracy)
                record["seconds"] = time.perf_counter() - start
                bar.set_postfix_str(format_metrics(record))
            if self.verbose:
                print(f"{desc}: {format_metrics(record)} ({record['seconds']:.1f} s)", flush=True)
            history.append(record)
            built.epoch, built.step = epoch, built.step + reporter.batches
            built.history_records = tuple(history.records)
            for callback in callbacks:
                callback.on_epoch_end(self, built, epoch, record)
        for callback in callbacks:
            callback.on_train_end(self, built, history)
        return history

    def evaluate(self, model: Any, data: Any) -> dict[str, float]:
        """Mean loss and accuracy over ``data``, without tracking gradients."""
        built = self.build(model)
        prepared = self._prepare_data(built, as_dataset(data, "evaluation data"), training=False)
        loss, accuracy = self._evaluate_prepared(built, prepared)
        return {"loss": loss, "accuracy": accuracy}

    def predict(self, model: Any, data: Any) -> np.ndarray:
        """Logits for each sample of ``data`` (a Dataset, an array of features, or native data)."""
        built = self.build(model)
        if isinstance(data, (list, tuple)) and data and all(isinstance(t, str) for t in data):
            texts = np.empty(len(data), dtype=object)
            texts[:] = list(data)
            data = texts
        if isinstance(data, np.ndarray):
            data = ArrayDataset(data, np.zeros(len(data), np.int64), name="predict input")
        prepared = self._prepare_data(built, as_dataset(data, "predict input"), training=False, labels=False)
        return self._predict_prepared(built, prepared)

    def save(self, model: Any, path: Any, metadata: dict[str, Any] | None = None) -> Path:
        """Write a checkpoint to ``path`` (.npz, atomically): spec, weights, optimizer state,
        epoch, step, history and the shuffling RNG, so that ``fit(resume_from=path)`` goes on
        exactly where training stopped. ``metadata`` is any JSON of your own."""
        built = self.build(model)
        optimizer_state = self._optimizer_state(built)
        arrays, optimizer_meta = optimizer_state if optimizer_state is not None else ({}, {})
        state = {
            "backend": self.backend_name,
            "versions": self.backend.versions(),
            "epoch": built.epoch,
            "step": built.step,
            "history": list(built.history_records),
            "rng": self._rng.bit_generator.state,
            "optimizer": {"name": self.optimizer, "lr": self.lr, "batch_size": self.batch_size,
                          "state": optimizer_meta},
        }
        return TrainingCheckpoint(built.get_weights(), built.spec, metadata, arrays, state).save(path)

    def load(self, path: Any, spec: ModelSpec | None = None) -> ModelSpec:
        """Read saved weights into a model built here; return its spec.

        ``path`` is a dlcore checkpoint (.npz, from any backend), a torch state_dict file
        (.pt/.pth, read with weights_only=True) or a Keras file (.keras, safe mode). A
        state_dict holds no architecture: pass ``spec``.
        """
        from .interop import read_weights

        weights, saved_spec = read_weights(path, spec)
        spec = spec or saved_spec
        if spec is None:
            raise CheckpointError(f"{path}: holds no model architecture; pass spec=models.mlp(...) or similar")
        self.build(spec).set_weights(weights)
        return spec

    def export(self, model: Any, path: Any) -> Path:
        """Write the weights in a framework's own format, by suffix: a torch state_dict
        (.pt/.pth, for ``torch.load(path, weights_only=True)``) or a Keras ``.keras`` file."""
        from .interop import write_weights

        built = self.build(model)
        return write_weights(path, built.get_weights(), built.spec)

    def _resume(self, built: Model, path: Any) -> tuple[History, int]:
        checkpoint = TrainingCheckpoint.load(path)
        state = checkpoint.state
        saved = state.get("optimizer", {})
        if checkpoint.optimizer:  # refuse before anything of the model changes
            if state.get("backend") != self.backend_name:
                raise CheckpointError(
                    f"{path}: its optimizer state is {state.get('backend')!r}'s; resume on that backend, "
                    f"or start from its weights with trainer.load({str(path)!r})")
            if saved.get("name") != self.optimizer:
                raise CheckpointError(f"{path}: was trained with {saved.get('name')!r}, this trainer uses "
                                      f"{self.optimizer!r}; use the same optimizer to resume")
        built.set_weights(checkpoint.weights)
        if checkpoint.optimizer:
            self._load_optimizer_state(built, checkpoint.optimizer, saved.get("state", {}))
        if state.get("rng"):
            self._rng.bit_generator.state = state["rng"]
        history = History(state.get("history", []))
        built.epoch, built.step = int(state.get("epoch", 0)), int(state.get("step", 0))
        built.history_records = tuple(history.records)
        return history, built.epoch + 1

    def loss_of(self, model: Model) -> str:
        """The loss used for ``model``: the trainer's ``loss`` setting, else the model's."""
        return self.loss or model.loss

    # ---------------------------------------------------------- shared checks

    def _prepare_data(self, model: Model, data: Any, training: bool, labels: bool = True) -> Prepared:
        batch_size = self.batch_size if training else self.eval_batch_size
        if isinstance(data, Dataset):
            features, targets = data.arrays()
            name = getattr(data, "name", "") or type(data).__name__
            if len(features) == 0:
                raise DataError(f"{name} is empty; it needs at least one sample")
            if labels:
                self._check_labels(model, targets, name)
            if features.dtype == object or features.dtype.kind in "US":
                ids, splits = self._encode_texts(model, features, name)
                payload = self._prepare_tokens(ids, splits, standard_labels(targets))
                return Prepared(payload, len(features), batch_size)
            self._check_features(model, features, name)
            features, targets = standard_dtypes(features, targets)
            return Prepared(self._prepare_arrays(features, targets), len(features), batch_size)
        prepared = self._prepare_native(data, training)
        if prepared is None:
            raise ConfigError(
                f"cannot use a {type(data).__name__} as data on backend {self.backend_name!r}; "
                f"pass a dlcore Dataset, a (features, labels) tuple of arrays, or "
                f"{self._native_data_names()}"
            )
        return prepared

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

    def _check_features(self, model: Model, features: np.ndarray, name: str) -> None:
        if not np.issubdtype(features.dtype, np.number):
            raise DataError(f"{name}: features must be numeric, got dtype {features.dtype}")
        if np.issubdtype(features.dtype, np.floating) and not np.isfinite(features).all():
            bad = np.argwhere(~np.isfinite(features))[0]
            raise DataError(
                f"{name}: features contain NaN or infinite values (first at index {tuple(int(i) for i in bad)}); "
                "clean or impute them before training"
            )
        expected = getattr(model.spec, "in_features", None)
        if expected is not None and int(np.prod(features.shape[1:])) != expected:
            raise DataError(
                f"{name}: the model expects {expected} features per sample, but samples have "
                f"shape {features.shape[1:]}; reshape the data or build the model with "
                f"in_features={int(np.prod(features.shape[1:]))}"
            )

    def _check_labels(self, model: Model, labels: np.ndarray, name: str) -> None:
        outputs = getattr(model.spec, "out_features", None)
        if self.loss_of(model) == "binary_cross_entropy":
            bad = ~np.isin(labels, (0, 1))
            if bad.any():
                i = int(np.argmax(bad.reshape(len(labels), -1).any(1)))
                raise DataError(f"{name}: binary labels must be 0 or 1, got {labels[i]} at index {i}")
        elif labels.ndim == 1:
            if not np.issubdtype(labels.dtype, np.integer):
                raise DataError(f"{name}: class labels must be integers, got dtype {labels.dtype}")
            bad = (labels < 0) | (labels >= outputs) if outputs is not None else labels < 0
            if bad.any():
                i = int(np.argmax(bad))
                raise DataError(
                    f"{name}: label {labels[i]} at index {i} is out of range; the model has "
                    f"{outputs} classes, so labels must be 0..{(outputs or 1) - 1}"
                )
        elif labels.ndim == 2:
            if outputs is not None and labels.shape[1] != outputs:
                raise DataError(f"{name}: one-hot labels have {labels.shape[1]} columns but the model has {outputs} outputs")
        else:
            raise DataError(f"{name}: labels must have shape (N,) or (N, classes), got {labels.shape}")

    # ----------------------------------------------------------- backend part

    @staticmethod
    def _epoch_loss(step_losses: Any, sizes: Any) -> float:
        """The epoch's mean loss per sample, from each step's mean loss and batch size.

        Raises TrainingError naming the first step (1-based) whose loss is NaN or infinite.
        """
        losses = np.asarray(step_losses, np.float64)
        bad = ~np.isfinite(losses)
        if bad.any():
            step = int(np.argmax(bad))
            raise TrainingError(f"the training loss became {losses[step]} at step {step + 1}")
        sizes = np.asarray(sizes, np.float64)
        return float(losses @ sizes / sizes.sum())

    def _optimizer_state(self, model: Model) -> tuple[dict[str, np.ndarray], dict[str, Any]] | None:
        """The optimizer's arrays and JSON settings for ``model``; None before any training."""
        return None

    def _load_optimizer_state(self, model: Model, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        """Restore what :meth:`_optimizer_state` returned (raise CheckpointError if it does not fit)."""
        raise CheckpointError(f"backend {self.backend_name!r} cannot restore optimizer state")

    def _setup(self) -> None:
        """Called at the end of __init__: seed the framework, set threads, etc."""

    def _place(self, model: Model) -> None:
        """Move ``model`` to ``self.device`` if it is elsewhere."""

    @abstractmethod
    def _build_spec(self, spec: ModelSpec) -> Model:
        """Build a dlcore spec natively (weights are set right after)."""

    @abstractmethod
    def _wrap_native(self, obj: Any) -> Model | None:
        """Wrap the user's native model, or return None if ``obj`` is not one."""

    @abstractmethod
    def _native_model_names(self) -> str:
        """The native model types accepted, for error messages ("a torch.nn.Module")."""

    @abstractmethod
    def _native_data_names(self) -> str:
        """The native data types accepted, for error messages."""

    @abstractmethod
    def _prepare_arrays(self, features: np.ndarray, labels: np.ndarray) -> Any:
        """Move arrays into native tensors on the device, once; the result is the payload.

        Features arrive as float32; labels as int64 class indices or float32 targets.
        """

    def _prepare_tokens(self, ids: np.ndarray, splits: np.ndarray, labels: np.ndarray) -> Any:
        """Move tokenized texts (flat int64 ids; text i is ids[splits[i]:splits[i+1]]) and
        labels onto the device, once; the result is the payload. Optional: text models."""
        raise ConfigError(f"backend {self.backend_name!r} does not support text models")

    @abstractmethod
    def _prepare_native(self, data: Any, training: bool) -> Prepared | None:
        """Wrap the user's native data pipeline, or return None if ``data`` is not one."""

    @abstractmethod
    def _train_epoch(self, model: Model, data: Prepared, order: np.ndarray | None, reporter: Reporter) -> tuple[float, float]:
        """One pass over ``data`` in ``order`` (None: as stored); return mean loss and accuracy.

        Calls ``reporter.advance()`` per batch and ``reporter.log_loss`` when
        ``reporter.wants_loss(batch)``.
        """

    @abstractmethod
    def _evaluate_prepared(self, model: Model, data: Prepared) -> tuple[float, float]:
        """Mean loss and accuracy over ``data`` in inference mode."""

    @abstractmethod
    def _predict_prepared(self, model: Model, data: Prepared) -> np.ndarray:
        """Logits for every sample of ``data`` as a numpy array, in inference mode."""
