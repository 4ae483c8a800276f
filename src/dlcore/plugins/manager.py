"""The plugin manager and the one registry it fills.

:func:`load_plugins` registers dlcore's own plugin (:mod:`dlcore.plugins.builtin`), then every
entry point of the ``dlcore`` group (dlcore-ml's own first, then by entry-point name), except those named in
``$DLCORE_DISABLED_PLUGINS``. A
plugin that fails to import, or implements a hook dlcore does not specify, is left out with a
warning naming its entry point (the others keep working), and the registry remembers why.

:class:`Registry` holds every record, one typed attribute per hook of
:mod:`dlcore.plugins.hookspecs` (``registry.losses``, ``registry.kernels``, ...): its fields are
the hooks' names without the ``dlcore_`` prefix, and building it checks that they match. It is
built the first time :func:`registry` is asked, and :func:`use_registry` replaces it (tests
give their own plugins this way, and ``use_registry(None)`` reloads).

A name two plugins register stops nothing: the first loaded keeps it (dlcore's own, then the
installed plugins by entry-point name, dlcore-ml's torch and tensorflow first, then those :func:`registry_of` adds, in order), each
record is also reachable as ``"plugin:name"`` (``Trainer(loss="extras:huber")``), and one
warning per process says so.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import os
import threading
import warnings
from dataclasses import dataclass
from importlib import metadata
from typing import Any, Generic, Hashable, Iterator, TypeVar, cast, overload

import pluggy

from ..contract.errors import ConfigError, PluginError
from ..contract.records import (
    BackendInfo, DatasetInfo, DatasetSource, DeviceKind, EmbeddingSource, Kernel, LayerKind, LoggerInfo, Loss, Metric,
    ModelKind, Optimizer, StrategyInfo, WeightFormat,
)
from ..version import DISTRIBUTION
from . import builtin, hookspecs

ENTRY_POINT_GROUP = "dlcore"
"""The entry-point group in which dlcore finds plugins (``[project.entry-points.dlcore]`` of a
distribution's ``pyproject.toml``)."""
ENV_DISABLED = "DLCORE_DISABLED_PLUGINS"
"""The environment variable naming the entry points not to load, comma-separated
(``DLCORE_DISABLED_PLUGINS=tensorflow,jax``)."""
BUILTIN = "dlcore"  # the name dlcore's own plugin is registered under
T = TypeVar("T")


def disabled_plugins() -> set[str]:
    """Entry-point names listed in $DLCORE_DISABLED_PLUGINS (comma-separated).

    >>> from unittest import mock
    >>> from dlcore.plugins import disabled_plugins
    >>> with mock.patch.dict("os.environ", {"DLCORE_DISABLED_PLUGINS": "tensorflow, jax"}):
    ...     sorted(disabled_plugins())
    ['jax', 'tensorflow']
    """
    return {name.strip() for name in os.environ.get(ENV_DISABLED, "").split(",") if name.strip()}


def resolve(ref: Any) -> Any:
    """The object a ``"module:attribute"`` string names, imported now; anything else as is.

    >>> from dlcore.plugins import resolve
    >>> resolve("math:pi"), resolve("math:sqrt")(4.0), resolve(len) is len
    (3.141592653589793, 2.0, True)
    """
    if not isinstance(ref, str):
        return ref
    module, _, attribute = ref.partition(":")
    target: Any = importlib.import_module(module)
    for part in filter(None, attribute.split(".")):
        target = getattr(target, part)
    return target


class Records(Generic[T]):
    """The records of one extension point, by key (a record's ``key``, else its ``name``), each
    remembered with the plugin (entry-point name) that gave it.

    Two plugins may register the same key: the first loaded (dlcore's own, then the installed
    plugins by entry-point name, dlcore-ml's own first, then those added in-process) keeps it, and every record is
    also reachable under its plugin's qualified key, ``"plugin:name"`` (a tuple key qualifies
    its second place, the name: ``("loss", "extras:huber", "numpy")``).

    >>> from dlcore.contract import Loss
    >>> from dlcore.plugins import Records
    >>> losses = Records("loss")
    >>> losses.add(Loss("hinge", "mean(max(0, 1 - y * logit))", binary=True), "my_plugin")
    >>> losses.add(Loss("hinge", "squared hinge"), "other")
    >>> losses.find("hinge").binary, losses.find("other:hinge").name, losses.plugin_of("hinge"), losses.keys()
    (True, 'other:hinge', 'my_plugin', ['hinge', 'other:hinge'])
    """

    def __init__(self, what: str) -> None:
        self.what = what
        self._items: dict[Hashable, list[tuple[T, str]]] = {}  # key -> (record, plugin), the key's holder first

    @staticmethod
    def key_of(item: Any) -> Hashable:
        key: Hashable = getattr(item, "key", None) or item.name
        return key

    def add(self, item: T, plugin: str) -> None:
        """Keep ``item``; under a key taken already it is reachable by its qualified key only, and
        a record keyed by its name is kept named so (what looks it up sees ``"extras:huber"``)."""
        key = self.key_of(item)
        entries = self._items.setdefault(key, [])
        if entries and getattr(item, "key", None) is None and dataclasses.is_dataclass(item) and not isinstance(item, type):
            item = cast(T, dataclasses.replace(item, name=str(qualify(key, plugin))))
        entries.append((item, plugin))

    def _entry(self, key: Hashable) -> tuple[T, str] | None:
        entries = self._items.get(key)
        if entries:
            return entries[0]
        plugin, short = split_key(key)
        return next((entry for entry in self._items.get(short, ()) if entry[1] == plugin), None)

    def get(self, key: Hashable) -> T | None:
        """The record under ``key`` (or a qualified key); None if there is none."""
        found = self._entry(key)
        return None if found is None else found[0]

    def find(self, key: Hashable) -> T:
        """The record under ``key``; a ConfigError listing the others if there is none."""
        found = self.get(key)
        if found is None:
            raise ConfigError(f"unknown {self.what} {_show(key)}; choose one of {', '.join(map(str, self.keys()))}")
        return found

    def plugin_of(self, key: Hashable) -> str | None:
        found = self._entry(key)
        return None if found is None else found[1]

    def owner(self, item: T) -> str | None:
        """The plugin that registered ``item`` (this very record)."""
        key = self.key_of(item)
        entries = self._items.get(key) or self._items.get(split_key(key)[1], [])
        return next((plugin for record, plugin in entries if record is item), None)

    def entries(self, key: Hashable) -> list[tuple[T, str]]:
        """Every ``(record, plugin)`` registered under the short ``key``, its holder first."""
        return list(self._items.get(key, ()))

    def clashes(self) -> dict[Hashable, list[str]]:
        """The keys more than one plugin registers, with those plugins, the holder first."""
        return {key: [plugin for _, plugin in entries] for key, entries in self._items.items() if len(entries) > 1}

    def load(self, item: T, attribute: str) -> Any:
        """``item``'s ``attribute``, imported if it is a ``"module:attribute"`` string; a string
        that names nothing is a PluginError naming the plugin and the record."""
        ref = getattr(item, attribute)
        try:
            return resolve(ref)
        except (ImportError, AttributeError) as err:
            key = self.key_of(item)
            plugin = self.owner(item) or "?"
            raise PluginError(f"plugin {plugin!r} registers the {self.what} {_show(key)} with {attribute} {ref!r}, "
                              f"which cannot be loaded ({type(err).__name__}: {err}); fix the plugin, or disable it "
                              f"with {ENV_DISABLED}={plugin}") from None

    def keys(self) -> list[Hashable]:
        """The keys, then the qualified keys of the records another plugin's record shadows."""
        shadowed = [qualify(key, plugin) for key, entries in self._items.items() for _, plugin in entries[1:]]
        return [*self._items, *shadowed]

    def __iter__(self) -> Iterator[T]:
        """The record holding each key (shadowed ones are reached by :meth:`get` with a qualified key)."""
        return (entries[0][0] for entries in self._items.values())

    def __len__(self) -> int:
        """The number of keys held, as :meth:`__iter__` gives their records (:meth:`keys` also lists
        the qualified keys of shadowed records)."""
        return len(self._items)


def qualify(key: Hashable, plugin: str) -> Hashable:
    """``key`` qualified by ``plugin``: ``"plugin:name"``, or for a tuple key its name (second place) so.

    >>> from dlcore.plugins.manager import qualify
    >>> qualify("huber", "extras"), qualify(("loss", "huber", "torch"), "extras")
    ('extras:huber', ('loss', 'extras:huber', 'torch'))
    """
    if isinstance(key, tuple) and len(key) > 1:
        return (*key[:1], f"{plugin}:{key[1]}", *key[2:])
    return f"{plugin}:{key}"


def split_key(key: Hashable) -> tuple[str | None, Hashable]:
    """``(plugin, short key)`` of a qualified key; ``(None, key)`` of another.

    >>> from dlcore.plugins.manager import split_key
    >>> split_key("extras:huber"), split_key(("loss", "extras:huber", "torch")), split_key("huber")
    (('extras', 'huber'), ('extras', ('loss', 'huber', 'torch')), (None, 'huber'))
    """
    name = key[1] if isinstance(key, tuple) and len(key) > 1 else key
    if not isinstance(name, str) or ":" not in name:
        return None, key
    plugin, _, short = name.partition(":")
    return plugin, ((*key[:1], short, *key[2:]) if isinstance(key, tuple) else short)


def _show(key: Hashable) -> str:
    return " ".join(repr(k) for k in key) if isinstance(key, tuple) else repr(key)


@dataclass(frozen=True)
class Registry:
    """Every record the plugins gave, one attribute per hook (``dlcore_<attribute>``); the
    plugins registered (``plugins``: their names, dlcore's own first) and those left out with
    the reason (``broken``: entry-point name -> message).

    >>> from dlcore.plugins import registry
    >>> found = registry()
    >>> found.plugins[0], found.loss("mse").regression, found.losses.plugin_of("mse")
    ('dlcore', True, 'dlcore')
    """

    backends: Records[BackendInfo]
    model_kinds: Records[ModelKind]
    layer_kinds: Records[LayerKind]
    losses: Records[Loss]
    metrics: Records[Metric]
    optimizers: Records[Optimizer]
    kernels: Records[Kernel]
    datasets: Records[DatasetInfo]
    dataset_sources: Records[DatasetSource]
    embedding_sources: Records[EmbeddingSource]
    weight_formats: Records[WeightFormat]
    device_kinds: Records[DeviceKind]
    strategies: Records[StrategyInfo]
    loggers: Records[LoggerInfo]
    plugins: tuple[str, ...] = ()
    broken: dict[str, str] = dataclasses.field(default_factory=dict)

    @classmethod
    def collect(cls, pm: pluggy.PluginManager, broken: dict[str, str] | None = None) -> Registry:
        """Call every hook of ``pm`` once and keep all records, in registration order."""
        points = [f.name for f in dataclasses.fields(cls) if f.name not in ("plugins", "broken")]
        specified = {name.removeprefix("dlcore_") for name in vars(hookspecs) if name.startswith("dlcore_")}
        if specified != set(points):
            raise PluginError(f"the registry's extension points {sorted(points)} differ from the hooks {sorted(specified)}")
        found: dict[str, Any] = {}
        for point in points:
            singular = point[:-3] + "y" if point.endswith("ies") else point[:-2] if point.endswith("sses") else point[:-1]
            records: Records[Any] = Records(singular.replace("_", " "))
            impls = getattr(pm.hook, "dlcore_" + point).get_hookimpls()
            for impl in sorted(impls, key=lambda impl: impl.plugin_name != BUILTIN):  # dlcore's own first
                for item in impl.function() or ():
                    records.add(item, impl.plugin_name)
            found[point] = records
        names = tuple(name for name, _ in pm.list_name_plugin() if name)
        made = cls(**found, plugins=names, broken=dict(broken or {}))
        made.warn_clashes()
        return made

    def warn_clashes(self) -> None:
        """One warning per name two plugins register (once per process): who keeps the name, and
        how to choose the other."""
        for field in dataclasses.fields(self):
            records = getattr(self, field.name)
            if not isinstance(records, Records):
                continue
            for key, plugins in records.clashes().items():
                if records is self.kernels and self._kernel_clash_explained(key):
                    continue
                said = (records.what, key, tuple(plugins))
                with _lock:
                    if said in _warned:
                        continue
                    _warned.add(said)
                warnings.warn(self._clash_message(records, key, plugins), stacklevel=2)

    def _kernel_clash_explained(self, key: Hashable) -> bool:
        """Whether the clash of kernels ``key`` follows from a clash of their records (or backends)."""
        kind, name, backend = cast("tuple[str, str, str]", key)
        return len(self._of_kind(kind).entries(name)) > 1 or len(self.backends.entries(backend)) > 1

    def _clash_message(self, records: Records[Any], key: Hashable, plugins: list[str]) -> str:
        owners = " and by ".join(map(_plugin_words, plugins))
        first = _plugin_words(plugins[0]).split(" (")[0]
        if records is self.kernels:
            kind, name, backend = cast("tuple[str, str, str]", key)
            used = _plugin_words(self.kernels.plugin_of(self._kernel_key(kind, name, backend) or key) or "?")
            return (f"dlcore: the {kind} {name!r} on backend {backend!r} is implemented by {owners}; dlcore uses "
                    f"{used.split(' (')[0]}'s (the record's own plugin's, else the backend's, else the first "
                    f"loaded); uninstall the other, or disable it with {ENV_DISABLED}=NAME")
        others = [qualify(key, plugin) for plugin in plugins[1:]]
        if records is self.model_kinds or records is self.layer_kinds:  # a spec names its kind itself
            return (f"dlcore: the {records.what} {_show(key)} is registered by {owners}; specs of that kind are "
                    f"{first}'s (the other's class is {' or '.join(map(repr, others))}: a spec class names its "
                    "kind itself, so the other plugin must give its kind another name)")
        choices = " or ".join(f"{other!r} ({_how_to_choose(records.what, other)})" for other in others)
        return (f"dlcore: the {records.what} {_show(key)} is registered by {owners}; {_show(key)} stays "
                f"with {first}; use {choices} for the other")

    # Look-ups with errors that list what there is.

    def loss(self, name: str) -> Loss:
        return self.losses.find(name)

    def metric(self, name: str) -> Metric:
        return self.metrics.find(name)

    def optimizer(self, name: str) -> Optimizer:
        return self.optimizers.find(name)

    def kernel(self, kind: str, name: str, backend: str) -> Any:
        """``backend``'s implementation of the ``kind`` called ``name`` (either may be qualified:
        ``"extras:huber"``), imported."""
        key = self._kernel_key(kind, name, backend)
        if key is None:
            short = split_key(name)[1]
            backends = {kernel.backend for kernel in self.kernels if (kernel.kind, kernel.name) == (kind, short)}
            others = sorted(b for b in backends if self._kernel_key(kind, name, b) is not None)
            raise ConfigError(f"backend {backend!r} has no implementation of the {kind} {name!r}"
                              + (f" (backends that have one: {', '.join(others)})" if others else ""))
        return self.kernels.load(self.kernels.find(key), "impl")

    def layer_kernel(self, layer: Any, backend: str) -> Any:
        """``backend``'s kernel for ``layer``: its kind's own (a built-in layer, or a native fast
        path of a layer written on ops), else, for a layer written on :mod:`dlcore.ops`, the
        backend's kernel ``"ops"``, which builds any such layer."""
        if getattr(layer, "on_ops", False) and self._kernel_key("layer", layer.kind, backend) is None:
            return self.kernel("layer", "ops", backend)
        return self.kernel("layer", layer.kind, backend)

    def _of_kind(self, kind: str) -> Records[Any]:
        kinds: dict[str, Records[Any]] = {"loss": self.losses, "metric": self.metrics, "optimizer": self.optimizers,
                                          "layer": self.layer_kinds, "model": self.model_kinds}
        return kinds[kind]

    def _kernel_key(self, kind: str, name: str, backend: str) -> Hashable | None:
        """The (qualified) key of the kernel that implements the record ``name`` on ``backend``.

        A plugin whose record (or backend) of that name another plugin's shadows implements it
        for its own record (or backend) alone; among the others, the record's plugin's kernel
        comes first, then the backend's, then the first loaded."""
        owner, short = split_key(name)
        backend_owner, backend_short = split_key(backend)
        candidates = [plugin for _, plugin in self.kernels.entries((kind, short, backend_short))]
        sides = ((self._of_kind(kind), owner, short), (self.backends, backend_owner, backend_short))
        for records, chosen, wanted in sides:
            holders = [plugin for _, plugin in records.entries(wanted)]
            if chosen is not None and chosen in holders[1:]:
                candidates = [plugin for plugin in candidates if plugin == chosen]
            else:
                candidates = [plugin for plugin in candidates if plugin not in holders[1:]]
        record_owner = owner or self._of_kind(kind).plugin_of(short)
        backend_owner = backend_owner or self.backends.plugin_of(backend_short)
        preferred = sorted(candidates, key=lambda plugin: (plugin != record_owner, plugin != backend_owner))
        return qualify((kind, short, backend_short), preferred[0]) if preferred else None

    def strategy(self, name: str, backend: str) -> StrategyInfo:
        """The strategy called ``name`` (or an alias of it), which must drive ``backend``."""
        found = self.strategies.get(name) or next((s for s in self.strategies if name in s.aliases), None)
        own = [s.name for s in self.strategies if s.backend == backend]
        if found is None:
            raise ConfigError(f"unknown strategy {name!r}; backend {backend!r} has "
                              f"{', '.join(map(repr, own)) or 'none (it trains in one process)'}")
        if found.backend != backend:
            raise ConfigError(f"strategy {found.name!r} runs on backend {found.backend!r}, not {backend!r}; "
                              f"{backend} has {', '.join(map(repr, own)) or 'none (it trains in one process)'}")
        return found

    def launch_strategy(self, backend: str) -> StrategyInfo:
        """The strategy ``dlcore train --workers N`` starts on ``backend``: its first launchable."""
        found = next((s for s in self.strategies if s.backend == backend and s.launch), None)
        if found is None:
            raise ConfigError(f"backend {backend!r} has no strategy that trains over several processes; "
                              "drop --workers, or install a plugin that gives one")
        return found

    def spec_class(self, kind: str) -> Any:
        """The spec class of the model kind ``kind``."""
        return self.model_kinds.load(self.model_kinds.find(kind), "spec_class")

    def layer_class(self, kind: str) -> Any:
        """The layer class of the layer kind ``kind``."""
        return self.layer_kinds.load(self.layer_kinds.find(kind), "layer_class")

    def spec_from_dict(self, data: dict[str, Any]) -> Any:
        """A model spec rebuilt from its ``to_dict()`` description, by its registered kind."""
        data = dict(data)
        kind = data.pop("kind", None)
        spec_class = self.spec_class(str(kind))
        try:
            return spec_class.from_dict(data)
        except TypeError as err:
            raise ConfigError(f"invalid {kind} spec {data}: {err}") from None

    def broken_note(self) -> str:
        """"; plugins left out: ..." when some failed to load, else ""."""
        if not self.broken:
            return ""
        return "; plugins left out: " + "; ".join(f"{name} ({why})" for name, why in self.broken.items())


_warned: set[tuple[str, Hashable, tuple[str, ...]]] = set()  # the name clashes warned about in this process
CHOOSE = {"loss": "loss={!r}", "metric": "metrics=[{!r}]", "optimizer": "optimizer={!r}", "strategy": "strategy={!r}",
          "dataset": "datasets.load({!r})", "backend": "backend={!r}"}
"""How a user names a record of each extension point (``loss='extras:huber'``)."""


def _how_to_choose(what: str, key: Hashable) -> str:
    return CHOOSE.get(what, "the name {!r}").format(key)


def _plugin_words(plugin: str) -> str:
    """``plugin`` by its distribution: "dlcore-extras (plugin 'extras')"."""
    if plugin == BUILTIN:
        return f"{DISTRIBUTION} (dlcore itself)"
    installed = any(ep.name == plugin for ep in metadata.entry_points(group=ENTRY_POINT_GROUP))
    return f"{plugin_distribution(plugin)} (plugin {plugin!r})" if installed else f"plugin {plugin!r} (registered in this process)"


def _distribution(ep: metadata.EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    return str(dist.metadata["Name"]) if dist is not None else "an unknown distribution"


def load_plugins() -> tuple[pluggy.PluginManager, dict[str, str]]:
    """A plugin manager with dlcore's own plugin and every entry point of the ``dlcore`` group
    not disabled; and the plugins left out, by entry-point name, with the reason.

    >>> from dlcore.plugins import Registry, load_plugins
    >>> pm, broken = load_plugins()
    >>> Registry.collect(pm, broken).plugins[0]  # a registry of them, not the process's
    'dlcore'
    """
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    pm.register(builtin, name=BUILTIN)
    broken: dict[str, str] = {}
    _loading.append(pm)
    try:
        _load_entry_points(pm, broken)
    finally:
        _loading.remove(pm)
    pm.check_pending()
    for name, why in broken.items():
        warnings.warn(f"dlcore left a plugin out: {why}; or disable it with {ENV_DISABLED}={name}", stacklevel=3)
    return pm, broken


def _load_entry_points(pm: pluggy.PluginManager, broken: dict[str, str]) -> None:
    """Register each entry point of the ``dlcore`` group not disabled; note those left out."""
    disabled = disabled_plugins()
    seen: set[str] = set()
    # A fixed order: dlcore-ml's own (torch, tensorflow) first, so they keep their names, then the others by name.
    for ep in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: (_distribution(ep) != DISTRIBUTION, ep.name)):
        if ep.name in disabled or ep.name in seen:
            continue
        seen.add(ep.name)
        where = f"entry point {ep.name!r} = {ep.value!r} of {_distribution(ep)}"
        try:
            plugin = ep.load()
            pm.register(plugin, name=ep.name)
        except pluggy.PluginValidationError as err:
            broken[ep.name] = f"{where} does not fit dlcore's hooks ({err})"
            continue
        except Exception as err:  # whatever its import raised, the other plugins go on
            broken[ep.name] = f"{where} failed to import ({type(err).__name__}: {err}); reinstall it"
            continue
        unknown = sorted(caller.name for caller in pm.get_hookcallers(plugin) or () if not caller.has_spec())
        if unknown:
            pm.unregister(plugin)
            known = ", ".join(name for name in vars(hookspecs) if name.startswith("dlcore_"))
            broken[ep.name] = f"{where} implements {', '.join(unknown)}, which dlcore does not specify (its hooks: {known})"


_lock = threading.RLock()
_current: list[Registry] = []
_loading: list[pluggy.PluginManager] = []  # plugin managers whose entry points are being imported


@overload
def registry() -> Registry: ...


@overload
def registry(hook: str) -> Records[Any]: ...


def registry(hook: str | None = None) -> Registry | Records[Any]:
    """The registry of this process, built from the installed plugins on first use (while their
    modules are imported, what they look up sees the plugins loaded so far). The 0.1 form
    ``registry("dlcore_losses")`` gives ``registry().losses``.

    >>> from dlcore.plugins import registry
    >>> registry().optimizer("adam").defaults
    {'beta1': 0.9, 'beta2': 0.999, 'eps': 1e-08}
    """
    with _lock:
        if _current:
            found = _current[0]
        elif _loading:  # a plugin's import looks something up
            found = Registry.collect(_loading[-1])
        else:
            found = Registry.collect(*load_plugins())
            _current.append(found)
    if hook is None:
        return found
    point = hook.removeprefix("dlcore_")
    warnings.warn(f"dlcore.plugins.registry({hook!r}) is deprecated since dlcore 0.2 and will be removed in 0.3; "
                  f"use dlcore.plugins.registry().{point}", DeprecationWarning, stacklevel=2)
    records: Records[Any] = getattr(found, point)
    return records


def use_registry(new: Registry | None) -> Registry | None:
    """Make ``new`` the registry (None: build it again from the installed plugins when next
    asked); return the one it replaces.

    >>> from dlcore.plugins import Registry, load_plugins, registry, use_registry
    >>> mine = Registry.collect(*load_plugins())
    >>> old = use_registry(mine)
    >>> registry() is mine
    True
    >>> use_registry(old) is mine  # the previous one back
    True
    """
    with _lock:
        old = _current[0] if _current else None
        _current.clear()
        if new is not None:
            _current.append(new)
        return old


@contextlib.contextmanager
def registry_of(*plugins: Any) -> Iterator[Registry]:
    """Within the block, the registry of the installed plugins and ``plugins`` (modules or
    objects with hook implementations), as a test or an application adds its own.

    Example::

        class MyPlugin:
            @hookimpl
            def dlcore_losses(self):
                return [Loss("hinge", "mean(max(0, 1 - y * logit)), y in {-1, 1}", binary=True)]

        with registry_of(MyPlugin()) as found:
            assert registry() is found and found.losses.plugin_of("hinge") == "MyPlugin"
    """
    pm, broken = load_plugins()
    for plugin in plugins:
        pm.register(plugin, name=getattr(plugin, "__name__", None) or type(plugin).__name__)
    pm.check_pending()
    old = use_registry(Registry.collect(pm, broken))
    try:
        yield registry()
    finally:
        use_registry(old)


def plugin_distribution(plugin_name: str) -> str:
    """The distribution that installed the plugin ``plugin_name`` (dlcore's own: dlcore-ml).

    >>> from dlcore.plugins import plugin_distribution
    >>> plugin_distribution("dlcore"), plugin_distribution("torch")  # the torch plugin comes with dlcore-ml
    ('dlcore-ml', 'dlcore-ml')
    """
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == plugin_name:
            return _distribution(ep)
    return DISTRIBUTION if plugin_name == BUILTIN else "no distribution (registered in this process)"


__all__ = ["ENTRY_POINT_GROUP", "ENV_DISABLED", "Records", "Registry", "disabled_plugins", "load_plugins",
           "plugin_distribution", "registry", "registry_of", "resolve", "use_registry"]
