"""From a run's configuration (``{"section.name": value}``, :mod:`dlcore.runs.config`) to the
objects it trains with: the data, the model spec, the trainer and the callbacks that fill the
run folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..contract.errors import BackendError, ConfigError
from ..contract.specs import ModelSpec
from ..data.datasets import load as load_dataset
from ..data.images import image_csv, image_folder
from ..data.text import is_text
from ..data.transforms import Compose, Resize, ToTensor
from ..models.layers import cnn
from ..models.resnet import resnet
from ..models.recipes import model_for
from ..models.specs import mlp
from ..plugins.backends import select_backend_name
from ..plugins.builtin import RECIPE
from ..plugins.manager import registry
from ..training._settings import DEFAULT_METRICS
from ..training.callbacks import Callback, EarlyStopping, ModelCheckpoint, ReduceLROnPlateau
from ..training.optimizers import DEFAULT_LR, OptimizerConfig
from ..training.schedules import CosineDecay, ExponentialDecay, OneCycle, Schedule, StepDecay
from .config import IMAGE_SOURCES, VALIDATION
from .folder import RunFolder


SCHEDULE_DEFAULTS = {"step": {"gamma": 0.1}, "cosine": {"min_factor": 0.0}, "onecycle": {"pct_start": 0.3}}


def recipe(values: dict[str, Any]) -> dict[str, Any]:
    """The dataset's recipe (epochs, batch size, optimizer, validation) for the keys not set;
    a validation fraction of 0.1 where the recipe names none (``validation = 0``: none), and
    the schedule's defaults."""
    dataset = values.get("data.dataset")
    defaults = dict(RECIPE)
    if dataset and dataset not in IMAGE_SOURCES:
        defaults.update(registry().datasets.find(dataset).defaults)
    filled = dict(values)
    for name, value in defaults.items():
        section = "data" if name == "validation" else "trainer"
        if filled.get(f"{section}.{name}") is None and value is not None:
            filled[f"{section}.{name}"] = value
    if filled.get("data.validation") is None:
        filled["data.validation"] = VALIDATION
    for name, value in SCHEDULE_DEFAULTS.get(str(filled.get("trainer.schedule")), {}).items():
        if filled.get(f"trainer.{name}") is None:
            filled[f"trainer.{name}"] = value
    return filled


def settle(values: dict[str, Any], saved: dict[str, Any] | None = None) -> dict[str, Any]:
    """``values`` with what the trainer would choose written out: the backend (where one is
    installed), the learning rate, the metrics, the optimizer's settings and what best.npz
    watches; for ``--print-config`` and a run's config.toml."""
    settled = dict(values)
    try:
        settled["trainer.backend"] = select_backend_name(values.get("trainer.backend"))
    except BackendError:
        if values.get("trainer.backend"):
            raise  # a name that is no backend; none installed: the run says so when it starts
    made = optimizer(values, saved)
    if settled.get("trainer.lr") is None:
        settled["trainer.lr"] = made.lr or DEFAULT_LR
    for name in ("momentum", "weight_decay"):
        if settled.get(f"trainer.{name}") is None and name in made.hyper:
            settled[f"trainer.{name}"] = made.hyper[name]
    if settled.get("trainer.metrics") is None:
        settled["trainer.metrics"] = list(DEFAULT_METRICS)
    settled["callbacks.monitor"] = monitor(values, bool(values.get("data.validation")))
    return settled


def load_data(values: dict[str, Any], progress: bool | None = None) -> tuple[Any, Any]:
    """``(train, test)`` of the configured dataset: a registered one, or your own images
    (``image-folder``: one folder per class; ``image-csv``: the PyTorch tutorial's custom
    dataset), scaled to [0, 1] with their channels first."""
    dataset = values.get("data.dataset")
    if not dataset:
        raise ConfigError("no dataset: give one (dlcore train fashion-mnist) or [data] dataset in --config")
    if dataset not in IMAGE_SOURCES:
        return load_dataset(dataset, values.get("data.path"), download=values.get("data.download", True),
                            progress=progress)
    train, test = values.get("data.train"), values.get("data.test")
    if not train or not test:
        raise ConfigError(f"[data] dataset = {dataset!r} needs [data] train and test (--train PATH --test PATH): "
                          + ("folders with one folder of images per class" if dataset == "image-folder"
                             else "CSV files of rows 'file name, label'"))
    steps: list[Any] = [Resize(tuple(values["data.resize"]))] if values.get("data.resize") else []
    transform = Compose([*steps, ToTensor()])
    bad = values.get("data.on_bad_sample") or "error"
    if dataset == "image-folder":
        return image_folder(train, transform, on_bad_sample=bad), image_folder(test, transform, on_bad_sample=bad)
    images = values.get("data.images")
    names = values.get("data.classes")
    return tuple(image_csv(csv, images or Path(csv).parent, transform, class_names=names, on_bad_sample=bad)
                 for csv in (train, test))  # type: ignore[return-value]


def _classes(train: Any) -> int:
    """Classes of ``train``: its class names, else one more than its largest label (of an
    image CSV's rows, without reading its images)."""
    if train.num_classes:
        return int(train.num_classes)
    items = getattr(train, "items", None)
    labels = np.array([item[2] for item in items]) if items is not None else train.arrays()[1]
    return int(np.max(labels)) + 1 if len(labels) else 2


def make_model(values: dict[str, Any], train: Any) -> ModelSpec:
    """The configured model spec, sized for ``train``: the dataset's own (``recipe``), an
    MLP (``hidden``, ``activation``), a CNN (``filters``, ``hidden``, ``dropout``) or a ResNet
    (``filters`` per stage, ``blocks``)."""
    kind = values.get("model.kind") or "recipe"
    dataset = values.get("data.dataset")
    if kind == "recipe" and dataset in IMAGE_SOURCES:
        kind = "mlp"  # the tutorial's, sized for the images
    if kind == "recipe":
        return model_for(str(dataset), train, {"embedding": values.get("data.embedding"),
                                          "trainable": not values.get("data.frozen")})
    if getattr(train, "feature_shape", None) is None or is_text(train.probe()[0]):
        raise ConfigError(f"[model] kind = {kind!r} takes numbers (images); for texts use kind = \"recipe\"")
    shape = tuple(int(n) for n in train.feature_shape)
    classes = _classes(train)
    outputs = 1 if classes == 2 else classes
    if kind == "mlp":
        return mlp(int(np.prod(shape)), values.get("model.hidden") or [512, 512], outputs,
                   values.get("model.activation") or "relu")
    if len(shape) == 2:
        shape = (1, *shape)
    if len(shape) != 3:
        raise ConfigError(f"[model] kind = \"{kind}\" takes images (channels, height, width), got samples of shape "
                          f"{shape}")
    if kind == "resnet":
        return resnet(shape, outputs, tuple(values.get("model.filters") or (16, 32, 64)), values.get("model.blocks") or 1)
    hidden = values.get("model.hidden") or [128]
    if len(hidden) != 1:
        raise ConfigError(f"[model] hidden of a cnn is one size (its dense layer), got {hidden}")
    dropout = values.get("model.dropout")
    return cnn(shape, outputs, tuple(values.get("model.filters") or (32, 64)), hidden[0],
               0.25 if dropout is None else dropout)


def optimizer(values: dict[str, Any], saved: dict[str, Any] | None = None) -> OptimizerConfig:
    """The configured optimizer with its settings (over ``saved``: a resumed checkpoint's)."""
    settings = {name: values[f"trainer.{name}"] for name in ("momentum", "weight_decay")
                if values.get(f"trainer.{name}") is not None}
    return OptimizerConfig(values.get("trainer.optimizer") or "sgd", **{**(saved or {}), **settings})


def schedule(values: dict[str, Any]) -> Schedule | None:
    """The configured learning-rate schedule (:mod:`dlcore.schedules`) with its settings, or None."""
    name = values.get("trainer.schedule")
    gamma = values.get("trainer.gamma")
    if name == "step":
        return StepDecay(int(values["trainer.step_size"]), 0.1 if gamma is None else gamma)
    if name == "exponential":
        return ExponentialDecay(float(values["trainer.gamma"]))  # check_used: given
    if name == "cosine":
        return CosineDecay(warmup=values.get("trainer.warmup") or 0, min_factor=values.get("trainer.min_factor") or 0.0)
    if name == "onecycle":
        pct = values.get("trainer.pct_start")
        return OneCycle(pct_start=0.3 if pct is None else pct)
    return None


def monitor(values: dict[str, Any], validation: bool) -> str:
    """What best.npz and early stopping watch: the configured key, else val_loss with
    validation data, else loss."""
    return str(values.get("callbacks.monitor") or ("val_loss" if validation else "loss"))


def callbacks(values: dict[str, Any], run: RunFolder, validation: bool,
              metadata: dict[str, Any] | None = None) -> list[Callback]:
    """What fills the run folder while training: checkpoints (last.npz every epoch, best.npz,
    both with ``metadata``; the ``save_top_k`` best), history.csv and the configured loggers;
    and early stopping (ending with the weights of best.npz) and the learning rate's reduction
    on a plateau, where configured."""
    plugins = registry()
    watched = monitor(values, validation)
    top_k = values.get("callbacks.save_top_k")
    made: list[Callback] = [ModelCheckpoint(run.checkpoints, monitor=watched, metadata=metadata,
                                            **({} if top_k is None else {"save_top_k": top_k}))]
    for name in dict.fromkeys(["csv", *(values.get("callbacks.loggers") or [])]):
        made.append(plugins.loggers.load(plugins.loggers.find(name), "load")(run.path))
    if values.get("callbacks.early_stopping") is not None:
        made.append(EarlyStopping(watched, patience=int(values["callbacks.early_stopping"]),
                                  restore_best_weights=True))  # the model of best.npz, for the test metrics
    if values.get("callbacks.reduce_lr") is not None:
        made.append(ReduceLROnPlateau(watched, patience=int(values["callbacks.reduce_lr"])))
    return made


__all__ = ["callbacks", "load_data", "make_model", "monitor", "optimizer", "recipe", "schedule",
           "settle"]
