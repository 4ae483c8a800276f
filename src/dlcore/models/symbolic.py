"""Describing a graph of layers, as Keras' functional API: symbolic inputs (:func:`Input`),
layers called on them (:func:`call`, which ``Layer.__call__`` is), merges, several inputs,
shared layers; :func:`graph` walks back from the outputs to the inputs and gives the
:class:`dlcore.models.graph.Graph` spec.

Calling a layer spec on symbolic tensors records the call and gives a symbolic tensor of its
output's shape (one sample, canonical: images channels first); nothing is computed.
"""

from __future__ import annotations

import itertools
import re
from typing import Any, Sequence

from ..contract.errors import ConfigError
from .graph import DTYPES, Graph, GraphInput, Layer, Node, Shape, _check_name, _output_shape, _shape, _shown

_SERIALS = itertools.count()


class SymbolicTensor:
    """A placeholder for a batch of values while a graph is described: one sample's ``shape``
    (canonical, no batch axis), its ``dtype``, and where it comes from: an input (``name``)
    or a layer's call. Call layers on it; :func:`graph` takes the inputs and the outputs.

    >>> from dlcore import models
    >>> from dlcore.models import layers
    >>> x = models.Input((1, 28, 28), name="image")
    >>> layers.conv2d(8, 3)(x)
    <SymbolicTensor (None, 8, 26, 26) float32 from conv2d>
    """

    __slots__ = ("shape", "dtype", "name", "layer", "sources", "called_as", "serial")

    def __init__(self, shape: Shape, dtype: str, name: str | None = None, layer: Layer | None = None,
                 sources: SymbolicTensor | tuple[SymbolicTensor, ...] | None = None,
                 called_as: str | None = None) -> None:
        self.shape, self.dtype, self.name = shape, dtype, name
        self.layer, self.sources, self.called_as = layer, sources, called_as
        self.serial = next(_SERIALS)  # the order of the calls, as written

    @property
    def inputs(self) -> tuple[SymbolicTensor, ...]:
        """The tensors its layer was called on (none for an input)."""
        if self.sources is None:
            return ()
        return self.sources if isinstance(self.sources, tuple) else (self.sources,)

    def __repr__(self) -> str:
        origin = f"input {self.name!r}" if self.layer is None else (self.called_as or self.layer.kind)
        return f"<SymbolicTensor {_shown(self.shape)} {self.dtype} from {origin}>"


def Input(shape: Sequence[int], dtype: str = "float32", name: str | None = None) -> SymbolicTensor:
    """A graph's input: samples of ``shape`` (canonical, without the batch axis: an image is
    (channels, height, width)) and ``dtype`` ("float32", or "int64" for ids an embedding
    takes). ``name`` is the key of its array when features are a dict (default ``input``,
    ``input_1``, ... in the order the graph takes its inputs).

    >>> from dlcore import models
    >>> models.Input((8,), name="table")
    <SymbolicTensor (None, 8) float32 from input 'table'>
    """
    if dtype not in DTYPES:
        raise ConfigError(f"Input dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    return SymbolicTensor(_shape(shape, "Input"), dtype, None if name is None else _check_name(name, "Input"))


def call(layer: Layer, inputs: Any, name: str | None = None) -> SymbolicTensor:
    """``layer(inputs, name=...)``: the symbolic output of ``layer`` called on ``inputs`` (one
    symbolic tensor, or a list of them, which the layer is given as a list)."""
    several = isinstance(inputs, (list, tuple))
    tensors = tuple(inputs) if several else (inputs,)
    if not tensors or not all(isinstance(t, SymbolicTensor) for t in tensors):
        got = type(inputs).__name__ if not several else "[" + ", ".join(type(t).__name__ for t in tensors) + "]"
        raise ConfigError(f"layer {layer.kind} is called on symbolic tensors (models.Input(...) or what another "
                          f"layer gave), or a list of them, to describe a graph; got {got}. To compute on arrays, "
                          "make a spec (models.graph(inputs, outputs)) and use a Trainer")
    if name is not None:
        _check_name(name, "layer")
    shape = tuple(t.shape for t in tensors) if several else tensors[0].shape
    what = f"layer {name!r} ({layer.kind})" if name else f"layer {layer.kind}"
    out = _output_shape(layer, shape, tuple(t.dtype for t in tensors), several, what)
    return SymbolicTensor(out, "float32", None, layer, tensors if several else tensors[0], name)


def graph(inputs: Any, outputs: Any) -> Graph:
    """The spec of the layers that lead from ``inputs`` (a symbolic tensor of
    :func:`Input`, or a list of them) to ``outputs`` (a symbolic tensor, or a list): every
    layer's output shape found, a layer that does not fit named, layers named uniquely.

    >>> from dlcore import models
    >>> from dlcore.models import layers
    >>> image, table = models.Input((1, 28, 28), name="image"), models.Input((8,), name="table")
    >>> seen = layers.flatten()(layers.max_pool2d(2)(layers.conv2d(4, 3, padding="same")(image)))
    >>> joined = layers.concatenate()([seen, layers.dense(16, "relu")(table)])
    >>> spec = models.graph([image, table], layers.dense(10)(joined))
    >>> spec.layer_names
    ('conv2d', 'max_pool2d', 'flatten', 'dense', 'concatenate', 'dense_1')
    >>> spec.shapes["concatenate"], spec.out_features
    ((800,), 10)
    """
    given = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
    wanted = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
    for what, tensors in (("inputs", given), ("outputs", wanted)):
        if not tensors or not all(isinstance(t, SymbolicTensor) for t in tensors):
            raise ConfigError(f"models.graph takes {what} as symbolic tensors (models.Input(...), and what layers "
                              "called on them give), one or a list")
    if any(t.layer is not None for t in given):
        raise ConfigError("models.graph's inputs are models.Input(...) tensors, not what a layer gave")
    if len({id(t) for t in given}) != len(given):
        raise ConfigError("an input is given twice to models.graph")
    order: list[SymbolicTensor] = []  # the calls that lead to the outputs
    seen: set[int] = set()
    for output in wanted:
        stack: list[tuple[SymbolicTensor, bool]] = [(output, False)]
        while stack:
            tensor, ready = stack.pop()
            if tensor.layer is None or id(tensor) in seen:
                continue
            if ready:
                seen.add(id(tensor))
                order.append(tensor)
                continue
            stack.append((tensor, True))
            stack.extend((source, False) for source in reversed(tensor.inputs))
    order.sort(key=lambda tensor: tensor.serial)  # as written: each call after those it takes from
    reached = {id(t) for call_ in order for t in call_.inputs if t.layer is None}
    reached |= {id(t) for t in wanted if t.layer is None}
    inputs_given = {id(t) for t in given}
    loose = [t for call_ in order for t in call_.inputs if t.layer is None and id(t) not in inputs_given]
    if loose:
        user = next(c for c in order if loose[0] in c.inputs)
        raise ConfigError(f"layer {user.called_as or user.layer.kind} is called on the input "  # type: ignore[union-attr]
                          f"{_named(loose[0])}, which is not among the graph's inputs; add it to models.graph's inputs")
    unused = [t for t in given if id(t) not in reached]
    if unused:
        raise ConfigError(f"the input {_named(unused[0])} reaches no output; leave it out of the inputs or use it")
    input_names = _input_names(given)
    layer_names = _layer_names(order, set(input_names.values()))
    names: dict[int, str] = dict(input_names)
    calls: dict[int, int] = {}
    nodes = []
    for tensor in order:
        layer_name = layer_names[id(tensor.layer)]
        k = calls[id(tensor.layer)] = calls.get(id(tensor.layer), -1) + 1
        names[id(tensor)] = layer_name if k == 0 else f"{layer_name}:{k}"
        refs = tuple(names[id(t)] for t in tensor.inputs)
        nodes.append(Node(layer_name, refs if isinstance(tensor.sources, tuple) else refs[0]))
    unique: list[Layer] = list({id(t.layer): t.layer for t in order if t.layer is not None}.values())
    return Graph(tuple(GraphInput(input_names[id(t)], t.shape, t.dtype) for t in given), tuple(unique),
                 tuple(layer_names[id(la)] for la in unique), tuple(nodes), tuple(names[id(t)] for t in wanted))


def _named(tensor: SymbolicTensor) -> str:
    return repr(tensor.name) if tensor.name else f"of shape {_shown(tensor.shape)}"


def _input_names(given: list[SymbolicTensor]) -> dict[int, str]:
    taken = {t.name for t in given if t.name}
    names: dict[int, str] = {}
    for t in given:
        names[id(t)] = t.name or _unused("input", taken)  # two of one name: the Graph refuses them
    return names


def _layer_names(order: list[SymbolicTensor], taken: set[str]) -> dict[int, str]:
    """Each layer's name: the one it was called with (``name=``), else its kind's last part,
    then ``_1``, ``_2``, ... as Keras names them, in the order the calls were written."""
    given: dict[int, str] = {}
    for tensor in order:
        key, name = id(tensor.layer), tensor.called_as
        if name is None:
            continue
        if given.get(key, name) != name:
            raise ConfigError(f"layer {tensor.layer.kind} is called as {given[key]!r} and as {name!r}; "  # type: ignore[union-attr]
                              "a layer has one name")
        if name in taken or (name in given.values() and given.get(key) != name):
            raise ConfigError(f"two layers (or an input and a layer) are named {name!r}; give each its own name")
        given[key] = name
    taken = taken | set(given.values())
    names: dict[int, str] = {}
    for tensor in order:
        key = id(tensor.layer)
        if key not in names:
            base = re.sub(r"\W", "_", tensor.layer.kind.rsplit(".", 1)[-1]).strip("_") or "layer"  # type: ignore[union-attr]
            names[key] = given.get(key) or _unused(base if base[0].isalpha() else f"layer_{base}", taken)
    return names


def _unused(base: str, taken: set[str]) -> str:
    name, k = base, 0
    while name in taken:
        k += 1
        name = f"{base}_{k}"
    taken.add(name)
    return name


__all__ = ["Input", "SymbolicTensor", "call", "graph"]
