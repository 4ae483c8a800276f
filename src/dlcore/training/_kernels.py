"""Which function computes a run's loss and each metric on a backend, and a user's own loss or
metric given as a plain function.

:func:`loss_function` and :func:`metric_function` resolve a name to what a backend's steps
call (``loss(logits, labels, weights=None)``, ``metric(logits, labels)``): the backend's own
kernel of that name where it has one (a measured fast path), else the record's definition on
:mod:`dlcore.ops` run through the backend's table (:class:`OnOps`), else a ConfigError.
:func:`register` makes a user's function a record of the registry, by name, so configs,
checkpoints and the History name it.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Callable

from .. import ops
from ..contract.backend import Backend
from ..contract.errors import ConfigError
from ..contract.records import Loss, Metric
from ..ops.table import OpsError
from ..plugins.builtin import REGISTERED
from ..plugins.manager import BUILTIN, Registry, registry


@dataclass(frozen=True)
class OnOps:
    """A loss or metric written on :mod:`dlcore.ops`, called as a backend's kernel with
    ``table`` current; equal for equal definitions, so a backend's compiled steps are reused.
    What it raises names the loss (or metric) and the operation."""

    kind: str
    name: str
    fn: Callable[..., Any]
    table: Any
    settings: tuple[tuple[str, Any], ...] = ()

    def __call__(self, logits: Any, labels: Any, weights: Any = None) -> Any:
        given = dict(self.settings, **({} if weights is None else {"weights": weights}))
        with ops.using(self.table):
            try:
                return self.fn(ops, logits, labels, **given)
            except Exception as err:
                error = OpsError if isinstance(err, OpsError) else ConfigError
                said = str(err) if isinstance(err, OpsError) else f"{type(err).__name__}: {err}"
                raise error(f"the {self.kind} {self.name!r} failed on {self.table.name}: {said}") from err


@dataclass(frozen=True)
class Bound:
    """A backend's kernel given the settings of a run (``label_smoothing=0.1``)."""

    kernel: Callable[..., Any]
    settings: tuple[tuple[str, Any], ...]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.kernel(*args, **kwargs, **dict(self.settings))


def _accepts(kernel: Any, settings: dict[str, Any]) -> bool:
    if not settings:
        return True
    try:
        inspect.signature(kernel).bind_partial(None, None, **settings)
        return True
    except TypeError:
        return False
    except ValueError:  # no signature to read
        return False


def _resolve(plugins: Registry, backend: Backend, kind: str, record: Any, name: str,
             settings: dict[str, Any]) -> Callable[..., Any]:
    try:
        kernel, missing = plugins.kernel(kind, name, backend.name), None
    except ConfigError as err:
        kernel, missing = None, err
    if kernel is not None and _accepts(kernel, settings):
        return Bound(kernel, tuple(sorted(settings.items()))) if settings else kernel
    records: Any = plugins.losses if kind == "loss" else plugins.metrics
    fn = records.load(record, "fn" if kind == "loss" else "statistics")
    if fn is not None and backend.ops is not None:
        return OnOps(kind, name, fn, backend.ops, tuple(sorted(settings.items())))
    if kernel is not None:
        raise ConfigError(f"backend {backend.name!r} implements the {kind} {name!r} without "
                          f"{', '.join(sorted(settings))}; remove that setting there")
    why = "it has no table of dlcore.ops to run its definition on" if fn is not None else \
        f"the {kind} is not written on dlcore.ops"
    raise ConfigError(f"{missing}, and {why}")


def loss_function(plugins: Registry, backend: Backend, name: str, settings: dict[str, Any] | None = None) -> Any:
    """What ``backend``'s steps call for the loss ``name`` with the run's ``settings`` (those
    left at their default, 0 or None, are not given): ``loss(logits, labels, weights=None)``."""
    record = plugins.loss(name)
    given = {key: value for key, value in (settings or {}).items() if value}
    unknown = sorted(set(given) - set(record.settings))
    if unknown:
        takers = [known.name for known in plugins.losses if set(unknown) <= set(known.settings)]
        raise ConfigError(f"{', '.join(unknown)} is a setting of {' and '.join(map(repr, takers)) or 'no loss'}, "
                          f"not of the loss {name!r}; remove it or choose that loss")
    return _resolve(plugins, backend, "loss", record, name, given)


def metric_function(plugins: Registry, backend: Backend, name: str) -> Any:
    """What ``backend``'s steps call for the metric ``name``: ``metric(logits, labels)``."""
    return _resolve(plugins, backend, "metric", plugins.metric(name), name, {})


# -- a user's functions ------------------------------------------------------------------------

@dataclass(frozen=True)
class PerSample:
    """A user's metric function, one value per sample, as statistics: their sum (the metric is
    their mean over the epoch, as Keras averages a metric function)."""

    name: str
    fn: Callable[..., Any]

    def __call__(self, ops: Any, outputs: Any, targets: Any) -> Any:
        values = self.fn(ops, outputs, targets)
        if ops.ndim(values) != 1:
            raise ConfigError(f"a metric function returns one value per sample, shape (batch,); {self.name!r} "
                              f"returned shape {tuple(ops.shape(values))}")
        return ops.reshape(ops.sum(ops.cast(values, "float32")), (1,))


def _described(fn: Callable[..., Any]) -> str:
    doc = inspect.getdoc(fn)
    where = f"{getattr(fn, '__module__', '?')}:{getattr(fn, '__qualname__', '?')}"
    return f"{doc.splitlines()[0]} ({where})" if doc else where


def register(kind: str, fn: Callable[..., Any], name: str | None = None, **flags: Any) -> Loss | Metric:
    """Register ``fn`` as the loss (``fn(ops, outputs, targets, weights=None)``) or the metric
    (``fn(ops, outputs, targets)``, one value per sample) ``name`` (default ``fn.__name__``)
    of this process; registering a new function under a name of one's own replaces the old one
    (a notebook's cell run again). ``flags``: a loss's ``binary`` and ``regression``."""
    if not callable(fn):
        raise ConfigError(f"a {kind} is a registered name or a function, got {fn!r}")
    name = name or getattr(fn, "__name__", None)
    if not name or name == "<lambda>":
        raise ConfigError(f"a {kind} function needs a name: define it with def, or register it with "
                          f"dlcore.{kind}s.register(name=...)")
    record: Loss | Metric
    if kind == "loss":
        record = Loss(name, _described(fn), fn=fn, **flags)
    else:
        record = Metric(name, "dlcore.training.metrics:accuracy", "sum",
                        "the mean over samples of " + _described(fn), statistics=PerSample(name, fn))
    records: Any = registry().losses if kind == "loss" else registry().metrics
    held, mine = records.get(name), REGISTERED[kind].get(name)
    if held is not None and held is not mine:
        raise ConfigError(f"the {kind} {name!r} is taken (plugin {records.plugin_of(name)!r}); register yours under "
                          f"another name: @dlcore.{kind}s.register(name=...)")
    if mine == record:
        return mine
    REGISTERED[kind][name] = record
    if held is None:
        records.add(record, BUILTIN)
    else:  # the user's own name, given a new function
        records._items[name] = [(record, BUILTIN)]
    return record


def _registered_name(kind: str, fn: Callable[..., Any]) -> str | None:
    for name, record in REGISTERED[kind].items():
        if (record.fn if kind == "loss" else record.statistics.fn) is fn:  # type: ignore[union-attr]
            return name
    return None


def named(kind: str, value: Any) -> Any:
    """The name the Trainer keeps for a ``loss=`` or ``metrics=`` entry: a name as given; a
    function by the name it was registered under, else registered under its own."""
    if value is None or isinstance(value, str):
        return value
    return _registered_name(kind, value) or register(kind, value).name


__all__ = ["Bound", "OnOps", "PerSample", "loss_function", "metric_function", "named", "register"]
