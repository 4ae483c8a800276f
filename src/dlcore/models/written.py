"""Layers written once on :mod:`dlcore.ops`: a user subclasses :class:`dlcore.models.layers.Layer`
with ``build(input_shape)`` (weights made by ``add_weight``) and ``call(x, training)``.

The spec holds the user's layer as it was made, never built: every build works on a copy. A
layer's plan, for one input shape, is such a copy built (its weights declared: canonical
names, shapes, initial values), its output shape (found by calling it once on zeros through
numpy's table) and which attributes hold which weight. A backend makes its variables from the
plan and calls ``plan.call(values, x, training)``, which binds those variables to a copy.
No code is read from a checkpoint: a layer is found by its kind, registered when its class is
defined (or through the ``dlcore_layer_kinds`` hook).
"""

from __future__ import annotations

import copy
import inspect
import json
import math
import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np

from .. import ops
from ..contract.errors import ConfigError
from ..plugins.manager import registry
from .built_in import APPLY

Layer = Any  # a dlcore.models.layers.Layer (which imports this module)

Shape = tuple[int, ...]
INITIALIZERS = ("zeros", "ones", "uniform", "glorot_uniform", "normal")


@dataclass(frozen=True)
class Weight:
    """A weight declared by ``add_weight``: what a backend makes a variable of. ``init`` is one
    of :data:`INITIALIZERS` or a function ``(shape, rng) -> array``; a weight with
    ``trainable=False`` gets no gradient and no update (a constant the checkpoint keeps)."""

    name: str
    shape: Shape
    init: str | Callable[[Shape, np.random.Generator], Any] = "zeros"
    trainable: bool = True
    dtype: str = "float32"

    def initial(self, rng: np.random.Generator) -> np.ndarray:
        if callable(self.init):
            value = np.asarray(self.init(self.shape, rng), self.dtype)
        elif self.init in ("zeros", "ones"):
            value = (np.zeros if self.init == "zeros" else np.ones)(self.shape, self.dtype)
        elif self.init == "normal":
            value = rng.standard_normal(self.shape).astype(self.dtype)
        else:  # fan_in: the last axis of a (out, in) matrix, all but the first of a convolution's weight
            fan_in = int(np.prod(self.shape[1:])) if len(self.shape) > 1 else self.shape[0]
            fan_out = self.shape[0] * int(np.prod(self.shape[2:])) if len(self.shape) > 1 else self.shape[0]
            bound = math.sqrt(6 / (fan_in + fan_out)) if self.init == "glorot_uniform" else 1 / math.sqrt(fan_in)
            value = rng.uniform(-bound, bound, self.shape).astype(self.dtype)
        if value.shape != self.shape:
            raise ConfigError(f"the initializer of weight {self.name!r} gave shape {value.shape}, not {self.shape}")
        return value


def check_weight(layer: Layer, name: str, shape: Any, init: Any) -> Shape:
    """``add_weight``'s arguments checked; the shape as a tuple of ints."""
    what = f"layer {layer.kind}: add_weight({name!r}, ...)"
    if not getattr(layer, "_building", False):
        raise ConfigError(f"{what} was called outside build(); make every weight in build(self, input_shape), "
                          "which dlcore calls once per input shape before call()")
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise ConfigError(f"{what}: a weight's name is an identifier (letters, digits, _), got {name!r}")
    if name in layer._declared:
        raise ConfigError(f"{what}: the layer already has a weight named {name!r}")
    try:
        dims = tuple(int(n) for n in ((shape,) if isinstance(shape, (int, np.integer)) else shape))
    except (TypeError, ValueError):
        raise ConfigError(f"{what}: the shape must be ints, got {shape!r}") from None
    if any(n < 1 for n in dims):
        raise ConfigError(f"{what}: the shape must be positive sizes, got {dims}")
    if not (callable(init) or init in INITIALIZERS):
        raise ConfigError(f"{what}: init must be one of {', '.join(INITIALIZERS)} or a function (shape, rng) -> "
                          f"array, got {init!r}")
    return dims


@dataclass
class Plan:
    """One input shape's build of a layer written on ops."""

    layer: Layer
    weights: dict[str, Weight]
    attributes: dict[str, str]  # attribute -> weight name
    output_shape: Shape
    apply: Callable[..., tuple[Any, dict[str, Any]]] | None = None  # a built-in layer's (weights, x, training)

    def bind(self, values: Mapping[str, Any]) -> Layer:
        """A copy of the built layer with ``values`` (weight name -> the backend's array) in its
        attributes: a copy per call, so that threads and trainers calling one spec's layer never
        see each other's weights, and no array outlives the call on the spec."""
        layer = copy.copy(self.layer)
        names = {}
        for attribute, name in self.attributes.items():
            object.__setattr__(layer, attribute, values[name])
            names[id(values[name])] = name
        object.__setattr__(layer, "_bound", names)
        object.__setattr__(layer, "_updates", {})
        return layer

    def initial_weights(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        return {name: weight.initial(rng) for name, weight in self.weights.items()}

    @property
    def frozen(self) -> tuple[str, ...]:
        return tuple(name for name, weight in self.weights.items() if not weight.trainable)

    def call(self, values: Mapping[str, Any], x: Any, training: bool) -> tuple[Any, dict[str, Any]]:
        """The layer applied to ``x`` with ``values`` as its weights, and the new values its call
        assigned to non-trainable weights (``self.assign``), by name; errors name the layer."""
        try:
            if self.apply is not None:
                return self.apply(self.layer, values, x, training)
            layer = self.bind(values)
            return layer.call(x, training=training), dict(layer._updates)
        except ConfigError as err:
            raise type(err)(f"layer {self.layer.kind}: {err}") from err
        except Exception as err:  # the user's own code: named by its layer, the error kept as the cause
            raise ops.OpsError(f"layer {self.layer.kind}: {type(err).__name__}: {err}") from err


def assign(layer: Layer, weight: Any, value: Any) -> None:
    """Record ``value`` as the new value of ``weight`` (one of the layer's non-trainable weights,
    as ``call`` sees it); the backend stores it after the call (``Plan.call``'s updates)."""
    name = getattr(layer, "_bound", {}).get(id(weight))
    if name is None:
        raise ConfigError(f"layer {layer.kind}: assign() takes one of the layer's own weights (self.w), inside call()")
    if layer._declared[name].trainable:
        raise ConfigError(f"layer {layer.kind}: assign() changes non-trainable weights only (add_weight(..., "
                          f"trainable=False)); {name!r} trains by its gradient")
    layer._updates[name] = value


def plan(layer: Layer, shape: Shape, input_dtype: str = "float32", apply: Callable[..., Any] | None = None) -> Plan:
    """``layer`` built for inputs of ``shape`` (one sample, canonical), cached on the layer; a
    built-in layer's plan runs ``apply`` on the weights it describes."""
    plans = layer.__dict__.get("_plans")
    if plans is None:
        plans = {}
        object.__setattr__(layer, "_plans", plans)
    key = (tuple(shape), input_dtype)
    if key not in plans:
        plans[key] = _made_plan(layer, tuple(shape), apply) if apply else _make_plan(layer, tuple(shape), input_dtype)
    found: Plan = plans[key]
    return found


def _made_plan(layer: Layer, shape: Shape, apply: Callable[..., Any]) -> Plan:
    """The plan of a layer that describes its weights itself (dlcore's own)."""
    values = layer.initial_weights(shape, np.random.default_rng(0))
    def initial(name: str) -> Callable[[Shape, np.random.Generator], Any]:
        return lambda _, rng: layer.initial_weights(shape, rng)[name]

    weights = {name: Weight(name, tuple(s), initial(name), name not in layer.state, str(values[name].dtype))
               for name, s in layer.parameter_shapes(shape).items()}
    return Plan(layer, weights, {}, tuple(layer.output_shape(shape)), apply)


def _make_plan(layer: Layer, shape: Shape, input_dtype: str) -> Plan:
    built = copy.copy(layer)
    object.__setattr__(built, "_plans", {})
    object.__setattr__(built, "_declared", {})
    object.__setattr__(built, "_building", True)
    shapes: Any = shape  # several inputs' shapes (a merge's), or one input's
    several = bool(shape) and all(isinstance(s, tuple) for s in shapes)
    batched: Any = [(None, *s) for s in shapes] if several else (None, *shape)
    try:
        built.build(batched)
    except ConfigError:
        raise
    except Exception as err:
        raise ConfigError(f"{layer.kind}.build({batched}) failed: {type(err).__name__}: {err}") from err
    finally:
        object.__setattr__(built, "_building", False)
    weights: dict[str, Weight] = dict(built._declared)
    attributes = {attribute: value.name for attribute, value in vars(built).items() if isinstance(value, Weight)}
    missing = set(weights) - set(attributes.values())
    if missing:
        raise ConfigError(f"layer {layer.kind}: keep each weight in an attribute (self.w = self.add_weight('w', ...)); "
                          f"{', '.join(sorted(missing))} is in none")
    found = Plan(built, weights, attributes, ())
    values = found.initial_weights(np.random.default_rng(0))
    numpy = ops.tables()["numpy"]
    zeros = [np.zeros((2, *s), input_dtype) for s in shapes] if several else np.zeros((2, *shape), input_dtype)
    with ops.using(numpy):
        try:
            out = found.bind(values).call(zeros, training=False)
        except Exception as err:
            what = "" if isinstance(err, ops.OpsError) else f"{type(err).__name__}: "
            raise ConfigError(f"{layer.kind}.call() on an input of shape {batched} failed: {what}{err}") from err
    if not isinstance(out, np.ndarray) or out.ndim < 1 or out.shape[0] != 2:
        raise ConfigError(f"{layer.kind}.call() must return one array with the batch axis first, got "
                          f"{type(out).__name__} {getattr(out, 'shape', '')}")
    found.output_shape = tuple(int(n) for n in out.shape[1:])
    return found


def arguments(layer: Layer) -> dict[str, Any]:
    """The arguments ``layer`` was made with, by name (defaults included): what a checkpoint keeps."""
    args, kwargs = layer.__dict__.get("_arguments", ((), {}))
    signature = inspect.signature(type(layer).__init__)
    try:
        bound = signature.bind(layer, *args, **kwargs)
    except TypeError:
        bound = signature.bind_partial(layer)
    bound.apply_defaults()
    found: dict[str, Any] = {}
    for name, value in list(bound.arguments.items())[1:]:
        kind = signature.parameters[name].kind
        if kind == inspect.Parameter.VAR_KEYWORD:
            found.update(value)
        elif kind == inspect.Parameter.VAR_POSITIONAL:
            if value:
                raise ConfigError(f"layer {layer.kind} takes *{name}; a checkpoint keeps named arguments only")
        else:
            found[name] = list(value) if isinstance(value, tuple) else value
    try:
        json.dumps(found, allow_nan=False)
    except (TypeError, ValueError):
        bad = {k: v for k, v in found.items() if not _plain(v)}
        raise ConfigError(f"layer {layer.kind}: its arguments {bad} cannot be saved in a checkpoint; give numbers, "
                          "strings, booleans, None or lists of them") from None
    return found


def _plain(value: Any) -> bool:
    try:
        json.dumps(value, allow_nan=False)
        return True
    except (TypeError, ValueError):
        return False


def snake_case(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def default_kind(cls: type) -> str:
    """A layer class's kind unless it sets one: its name in snake_case, after its top-level
    package's name where it is defined in one (two packages' LayerNorm do not clash)."""
    package = cls.__module__.split(".")[0]
    return snake_case(cls.__name__) if package == "__main__" else f"{package}.{snake_case(cls.__name__)}"


RESERVED = frozenset(APPLY) | {"ops"}  # dlcore's own layer kinds, and the backends' kernel for layers on ops
_DEFINED: dict[str, type] = {}  # layer kinds defined in this process by classes written on ops


def define(cls: type, kind: str) -> None:
    """Register ``cls`` as the layer kind ``kind`` in this process (a class defined again under
    the same module and name, as a notebook cell run twice, replaces the old one)."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.:-]*", kind):
        raise ConfigError(f"layer kind {kind!r} of {cls.__qualname__}: use letters, digits and _ . : -")
    old = _DEFINED.get(kind)
    if kind in RESERVED or (old is not None and (old.__module__, old.__qualname__) != (cls.__module__, cls.__qualname__)):
        where = "a built-in layer" if kind in RESERVED else f"{old.__module__}:{old.__qualname__}"  # type: ignore[union-attr]
        raise ConfigError(f"layer kind {kind!r} of {cls.__module__}:{cls.__qualname__} is taken by {where}; give the "
                          "class another name or set kind = \"mypackage.my_layer\"")
    cls.kind = kind  # type: ignore[attr-defined]
    _DEFINED[kind] = cls


def register(kind: str) -> Callable[[type], type]:
    """A class decorator naming a layer written on ops: ``@layers.register("mypackage.layer_norm")``
    (a name that stays when the class is renamed; checkpoints keep it)."""
    def decorate(cls: type) -> type:
        old = str(getattr(cls, "kind", ""))
        if _DEFINED.get(old) is cls:
            del _DEFINED[old]
        define(cls, kind)
        return cls

    return decorate


def layer_class(kind: str, defined_in: str | None = None) -> Any:
    """The class of the layer kind ``kind``: a layer written on ops defined in this process, or a
    kind registered through the hooks (built-in or a plugin's)."""
    if kind in _DEFINED:
        return _DEFINED[kind]
    try:
        return registry().layer_class(kind)
    except ConfigError as err:
        if defined_in is None:
            raise
        module = defined_in.partition(":")[0]
        raise ConfigError(f"layer kind {kind!r} is not defined here: it was saved from {defined_in}; import {module} "
                          f"(or install the package that provides it) before loading, so that the class registers "
                          f"its kind, or register it with @layers.register({kind!r}) ({err})") from None


def layer_from_dict(described: dict[str, Any]) -> Layer:
    """The layer a spec's JSON describes (its kind, defined in this process or registered)."""
    described = dict(described)
    made = layer_class(str(described.pop("kind", None)), described.pop("defined_in", None))
    try:
        layer: Layer = made(**described)
    except TypeError as err:
        raise ConfigError(f"invalid layer {described}: {err}") from None
    return layer


__all__ = ["INITIALIZERS", "Plan", "Weight", "arguments", "define", "layer_class", "layer_from_dict", "plan", "register"]
