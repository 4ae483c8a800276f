"""A Trainer's settings: one frozen record, each value checked when the Trainer is made.

:class:`Settings` holds what ``Trainer(...)`` was given, checked and in its normal form
(the optimizer as an :class:`~.optimizers.OptimizerConfig`, the learning rate resolved); it is
what makes the same trainer again elsewhere (each process of a launched group).
:func:`check_on_backend` refuses the settings the chosen backend cannot honour.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import numbers
from typing import Any

from ..contract.backend import Backend
from ..contract.errors import ConfigError
from ..data.streaming import parse_bytes
from ..plugins.manager import Registry
from ._kernels import loss_function, metric_function, named
from .optimizers import DEFAULT_LR, OptimizerConfig, as_config
from .rules import definition, kernel as rule_kernel
from .schedules import Schedule

PRECISIONS = ("32", "bf16-mixed", "16-mixed")
DEFAULT_METRICS = ("accuracy",)  # when metrics= is not given (mae with a regression loss: see Trainer.metrics_of)


def check_positive_int(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or int(value) < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _positive_or_none(name: str, value: Any) -> float | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Real)
                              or not float(value) > 0 or not math.isfinite(value)):
        raise ConfigError(f"{name} must be a positive number or None, got {value!r}")
    return None if value is None else float(value)


@dataclasses.dataclass(frozen=True)
class Settings:
    """What ``Trainer(...)`` was given (see :class:`dlcore.Trainer` for each), in its normal
    form; :meth:`check` makes one, refusing a mistake with a ConfigError naming the setting.
    ``strategy`` and ``launcher`` are not settings: they say where the trainer runs."""

    backend: str | None
    epochs: int
    batch_size: int
    optimizer: OptimizerConfig
    lr: float
    schedule: Schedule | None
    clip_value: float | None
    clip_norm: float | None
    accumulate: int
    precision: str
    deterministic: bool
    shuffle: bool
    seed: int | None
    device: str
    loss: str | None
    metrics: tuple[str, ...] | None
    label_smoothing: float
    progress: bool | None
    verbose: bool
    log_every: int
    eval_batch_size: int
    memory_budget: int | str | None
    stream: bool | None
    readers: int | None

    @classmethod
    def check(cls, **given: Any) -> Settings:
        """The settings ``given`` (each of the Trainer's keyword arguments but ``strategy``
        and ``launcher``), checked and in their normal form."""
        values = dict(given)
        for name in ("epochs", "batch_size", "eval_batch_size", "log_every", "accumulate"):
            values[name] = check_positive_int(name, values[name])
        optimizer = values["optimizer"] = as_config(values["optimizer"])
        lr = values["lr"]
        if lr is not None and (isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not float(lr) > 0
                               or not math.isfinite(lr)):
            raise ConfigError(f"lr must be a positive number, got {lr!r}")
        if lr is not None and optimizer.lr is not None and float(lr) != optimizer.lr:
            raise ConfigError(f"two learning rates: lr={lr} and {optimizer!r}; give it once")
        values["lr"] = float(lr if lr is not None else optimizer.lr or optimizer.default_lr or DEFAULT_LR)
        if values["schedule"] is not None and not isinstance(values["schedule"], Schedule):
            raise ConfigError(f"schedule must be a dlcore.schedules.Schedule, got {values['schedule']!r}")
        for name in ("clip_value", "clip_norm"):
            values[name] = _positive_or_none(name, values[name])
        if values["precision"] not in PRECISIONS:
            raise ConfigError(f"precision must be one of {', '.join(map(repr, PRECISIONS))}, "
                              f"got {values['precision']!r}")
        values["loss"] = named("loss", values["loss"])  # a function: registered under its name
        if values["metrics"] is not None:
            values["metrics"] = tuple(named("metric", metric) for metric in values["metrics"])
            if "confusion_matrix" in values["metrics"]:
                raise ConfigError("confusion_matrix is not a per-epoch metric; use "
                                  "trainer.evaluate(model, data, confusion_matrix=True)")
        smoothing = values["label_smoothing"]
        if isinstance(smoothing, bool) or not isinstance(smoothing, numbers.Real) or not 0 <= float(smoothing) < 1:
            raise ConfigError(f"label_smoothing must be a number in [0, 1), got {smoothing!r}")
        values["label_smoothing"] = float(smoothing)
        if values["seed"] is not None:
            values["seed"] = check_positive_int("seed", values["seed"], 0)
        if values["memory_budget"] is not None:
            parse_bytes(values["memory_budget"])
        if values["stream"] not in (None, True, False):
            raise ConfigError(f"stream must be True, False or None (by the memory budget), got {values['stream']!r}")
        if values["readers"] is not None:
            values["readers"] = check_positive_int("readers", values["readers"], 0)
        for name in ("deterministic", "shuffle", "verbose"):
            values[name] = bool(values[name])
        return cls(**values)

    def loss_settings(self) -> dict[str, Any]:
        """The settings given to the loss (those of ``Loss.settings``)."""
        return {"label_smoothing": self.label_smoothing}

    def arguments(self) -> dict[str, Any]:
        """The settings as ``Trainer(**arguments)`` takes them."""
        return {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}


def optimizer_kernel(plugins: Registry, optimizer: OptimizerConfig, backend: str) -> tuple[Any, dict[str, Any]]:
    """What makes ``optimizer`` on ``backend`` (its own kernel there, else its rule through the
    backend's generic one) and the keyword arguments it takes beside the model and ``lr``."""
    return rule_kernel(plugins, optimizer.name, optimizer.hyper, optimizer.kernel_arguments(), backend)


def check_on_backend(settings: Settings, backend: Backend, plugins: Registry) -> None:
    """Refuse what ``backend`` cannot do with these settings: a loss or metric it can compute
    neither with a kernel nor on its table of ops, an optimizer setting it has no kernel for, clipping or accumulation it does not offer."""
    name = backend.name
    if settings.loss is not None:
        loss_function(plugins, backend, settings.loss, settings.loss_settings())
    for metric in settings.metrics if settings.metrics is not None else DEFAULT_METRICS:
        metric_function(plugins, backend, metric)
    optimizer = settings.optimizer
    make, arguments = optimizer_kernel(plugins, optimizer, name)
    try:  # a kernel written for an optimizer's defaults alone (and no rule) refuses the other settings now
        inspect.signature(make).bind(None, lr=settings.lr, **arguments)
    except TypeError:
        extra = sorted(set(arguments) - set(definition(optimizer.name, plugins).defaults))
        raise ConfigError(f"backend {name!r} implements {optimizer.name!r} without "
                          f"{', '.join(extra) or 'these settings'}; use the defaults there") from None
    except ValueError:  # no signature to read (a builtin): the kernel will say
        pass
    if (settings.clip_value or settings.clip_norm) and "clip" not in backend.supports:
        raise ConfigError(f"backend {name!r} does not clip gradients; remove clip_value/clip_norm")
    if settings.accumulate > 1 and "accumulate" not in backend.supports:
        raise ConfigError(f"backend {name!r} does not accumulate gradients; use accumulate=1")


__all__: list[str] = []
