"""A graph of portable layers as a spec, as Keras' functional API: :class:`Graph` (its inputs,
its layers by name, its calls in order, its outputs), checked when made: every layer fits its
inputs, every tensor reaches an output; and :func:`execute`, the loop every backend's executor
runs. Describe one with symbolic tensors (:mod:`dlcore.models.symbolic`: ``models.Input``, layers
called on them, ``models.graph``).

A layer called twice is one layer: its calls share its weights. Layers are named ``dense``,
``dense_1``, ... in the order the calls were written, unless named with ``name=``. Weights are
``{layer name}.{weight}``, the same on every backend, so checkpoints move between them; a
checkpoint keeps the spec as JSON, never code. :class:`dlcore.models.Sequential` is the chain
whose layers are named ``layers.0``, ``layers.1``, ... (:func:`chain`).

Each backend runs a graph with one executor (its ``graph`` and ``sequential`` model kernels)
around :func:`execute`, which calls the backend's built layers in order and carries masks.
Features of several inputs travel through the data path as one float32 array, the inputs'
values side by side (:meth:`Graph.pack`), which the executor takes apart (:attr:`Graph.columns`);
so batching, shuffling, streaming and the strategies of several processes keep the inputs aligned.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Mapping, Sequence

import numpy as np

from .. import ops
from ..contract.errors import ConfigError, DataError
from ..contract.specs import ModelSpec
from .written import layer_from_dict

Layer = Any  # a dlcore.models.layers.Layer (which imports this module)
Shape = tuple[int, ...]
DTYPES = ("float32", "int64")
NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*")
EXACT_IDS = 2 ** 24  # integer inputs travel among float32 values: exact below this


def _check_name(name: Any, what: str) -> str:
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise ConfigError(f"{what} name {name!r}: use letters, digits and _ (a letter first; dots between parts, as "
                          "in layers.0)")
    return name


def _shape(shape: Any, what: str) -> Shape:
    try:
        dims = tuple(int(n) for n in ((shape,) if isinstance(shape, (int, np.integer)) else shape))
    except (TypeError, ValueError):
        raise ConfigError(f"{what}: a shape is a tuple of sizes, got {shape!r}") from None
    if not dims or min(dims) < 1:
        raise ConfigError(f"{what}: a shape is positive sizes of one sample, without the batch axis, got {shape!r}")
    return dims


def _shown(shape: Any) -> str:
    """A shape with the batch axis as None; several inputs' shapes as a list."""
    if shape and isinstance(shape[0], tuple):
        return "[" + ", ".join(_shown(s) for s in shape) + "]"
    return "(" + ", ".join(["None", *map(str, shape)]) + ")"


def channels_last_hint(shape: tuple[int, ...]) -> str:
    """What to do about an image ``shape`` that looks channels-last, (H, W, 1) or (H, W, 3) as
    Keras writes it, where a spec takes (C, H, W); "" for any other shape. A hint added to the
    error of a layer that does not fit the shape: a (C, H, 1|3) shape that fits builds.

    >>> from dlcore.models.graph import channels_last_hint
    >>> channels_last_hint((28, 28, 1))[:60]
    'input_shape (28, 28, 1) looks channels-last (height, width, '
    >>> channels_last_hint((1, 28, 28))
    ''
    """
    if len(shape) != 3 or shape[-1] not in (1, 3) or shape[0] <= 4:
        return ""
    first = (shape[2], shape[0], shape[1])
    return (f"input_shape {shape} looks channels-last (height, width, channels, as Keras writes it); dlcore's "
            f"specs take images channels first (C, H, W), as torch: pass input_shape={first}. Images of shape "
            f"(N, {shape[0]}, {shape[1]}, {shape[2]}) can stay as they are: dlcore moves their channels first "
            "(or load them with channels=\"first\", or transforms.ToTensor())")


def _output_shape(layer: Layer, shape: Any, dtypes: tuple[str, ...], several: bool, what: str) -> Shape:
    """``layer``'s output shape on inputs of ``shape``, any misfit a ConfigError naming it."""
    if several and not layer.written_on_ops:
        raise ConfigError(f"{what} takes one input, and is called on {len(shape)}; merge them first "
                          "(layers.concatenate(), layers.add(), layers.multiply())")
    wanted = layer.input_dtype
    if wanted.startswith("int") != any(d.startswith("int") for d in dtypes):
        hint = ("call it on models.Input(shape, dtype=\"int64\")" if wanted.startswith("int")
                else "integer ids go into an embedding first")
        raise ConfigError(f"{what} takes {wanted} inputs, and is called on {', '.join(dtypes)}; {hint}")
    try:
        out = tuple(int(n) for n in layer.output_shape(shape))
        layer.parameter_shapes(shape)
    except ConfigError as err:
        hint = "" if several else channels_last_hint(shape)
        raise ConfigError(f"{what} on inputs of shape {_shown(shape)}: {err}" + (f"; {hint}" if hint else "")) from None
    return out


@dataclass(frozen=True)
class GraphInput:
    """One input of a :class:`Graph`: its ``name`` (its key in a dict of features), one
    sample's ``shape`` (canonical) and ``dtype``.

    >>> GraphInput("table", (8,))
    GraphInput(name='table', shape=(8,), dtype='float32')
    """

    name: str
    shape: Shape
    dtype: str = "float32"


@dataclass(frozen=True)
class Node:
    """One call of a layer: the layer's name and what it was called on: a tensor's name (an
    input's, or a call's output: its layer's name, ``name:k`` for the layer's call k > 0), or a
    tuple of them (the layer is given a list).

    >>> Node("add", ("conv2d", "shortcut")).sources
    ('conv2d', 'shortcut')
    """

    layer: str
    inputs: str | tuple[str, ...]

    @property
    def several(self) -> bool:
        return isinstance(self.inputs, tuple)

    @property
    def sources(self) -> tuple[str, ...]:
        return self.inputs if isinstance(self.inputs, tuple) else (self.inputs,)


@dataclass(frozen=True)
class Graph(ModelSpec):
    """A graph of portable layers: ``inputs``, the ``layers`` (each once, however often it is
    called) with their ``layer_names``, the calls (``nodes``) in an order where each comes
    after those it takes from, and the ``outputs`` (tensor names; each a vector per sample).
    Parameters are ``{layer name}.{weight}``. Make one with :func:`graph`.

    Several outputs give the model's outputs side by side (a vector per sample, the first
    output's values first). Several inputs take features as a dict by input name or a tuple
    in input order (:meth:`pack`).

    >>> from dlcore import models
    >>> from dlcore.models import layers
    >>> x = models.Input((4,), name="x")
    >>> spec = models.graph(x, layers.dense(2)(layers.dense(8, "relu")(x)))
    >>> spec.layer_names, list(spec.parameter_shapes())[:2]
    (('dense', 'dense_1'), ['dense.weight', 'dense.bias'])
    >>> models.spec_from_dict(spec.to_dict()) == spec
    True
    """

    inputs: tuple[GraphInput, ...] = ()
    layers: tuple[Layer, ...] = ()
    layer_names: tuple[str, ...] = ()
    nodes: tuple[Node, ...] = ()
    outputs: tuple[str, ...] = ()
    kind: ClassVar[str] = "graph"
    _made: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)  # found by _check

    def __post_init__(self) -> None:
        for name in ("inputs", "layers", "layer_names", "nodes", "outputs"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        object.__setattr__(self, "inputs", tuple(  # shapes as tuples of ints, a call's several inputs as a tuple
            GraphInput(i.name, _shape(i.shape, f"input {i.name!r}"), i.dtype) if isinstance(i, GraphInput) else i
            for i in self.inputs))
        object.__setattr__(self, "nodes", tuple(
            Node(n.layer, tuple(n.inputs)) if isinstance(n, Node) and isinstance(n.inputs, list) else n
            for n in self.nodes))
        self._check()

    # -- what the spec is

    def _check(self) -> None:
        """Every name known and fitting, every layer fitting its inputs; the shapes found."""
        if not self.inputs or not all(isinstance(i, GraphInput) for i in self.inputs):
            raise ConfigError("a graph takes one input or more: models.graph(models.Input(shape), outputs)")
        taken: dict[str, str] = {}
        for each in self.inputs:
            _check_name(each.name, "input")
            _shape(each.shape, f"input {each.name!r}")
            if each.dtype not in DTYPES:
                raise ConfigError(f"input {each.name!r}: dtype must be one of {', '.join(DTYPES)}, got {each.dtype!r}")
            if each.name in taken:
                raise ConfigError(f"two inputs are named {each.name!r}; give each its own name")
            taken[each.name] = "input"
        if len(self.layers) != len(self.layer_names) or not all(callable(getattr(la, "initial_weights", None))
                                                                 for la in self.layers):
            raise ConfigError("a graph's layers are dlcore layers (dlcore.models.layers.dense(...), ...), one name each")
        for name, layer in zip(self.layer_names, self.layers):
            _check_name(name, "layer")
            if name in taken:
                raise ConfigError(f"layer {name!r} ({layer.kind}) has the name of another {taken[name]}; name it "
                                  "otherwise")
            taken[name] = f"layer ({layer.kind})"
        for name in self.layer_names:
            if any(other.startswith(name + ".") for other in self.layer_names):
                raise ConfigError(f"layer name {name!r} is a part of another layer's name; name it otherwise")
        index = {name: i for i, name in enumerate(self.layer_names)}
        shapes: dict[str, Shape] = {each.name: tuple(int(n) for n in each.shape) for each in self.inputs}
        dtypes = {each.name: each.dtype for each in self.inputs}
        takes: dict[int, Any] = {}  # a layer's input shape (its first call's; every call's the same)
        steps, calls = [], [0] * len(self.layers)
        for node in self.nodes:
            if not isinstance(node, Node) or node.layer not in index:
                raise ConfigError(f"a call of an unknown layer {getattr(node, 'layer', node)!r}; the layers are "
                                  f"{', '.join(self.layer_names)}")
            i = index[node.layer]
            layer, what = self.layers[i], f"layer {node.layer!r} ({self.layers[i].kind})"
            unknown = [s for s in node.sources if s not in shapes]
            if unknown or not node.sources:
                raise ConfigError(f"{what} is called on {', '.join(map(repr, unknown)) or 'nothing'}, which no input "
                                  "or earlier call gives")
            shape = tuple(shapes[s] for s in node.sources) if node.several else shapes[node.sources[0]]
            if i in takes and takes[i] != shape:
                raise ConfigError(f"{what} is shared, and its calls take inputs of shapes {_shown(takes[i])} and "
                                  f"{_shown(shape)}; the calls of a shared layer take one shape")
            out = _output_shape(layer, shape, tuple(dtypes[s] for s in node.sources), node.several, what)
            takes.setdefault(i, shape)
            output = node.layer if calls[i] == 0 else f"{node.layer}:{calls[i]}"
            calls[i] += 1
            shapes[output], dtypes[output] = out, "float32"
            steps.append((node, output, i))
        never = [name for name, n in zip(self.layer_names, calls) if n == 0]
        if never:
            raise ConfigError(f"layer {never[0]!r} is never called; remove it or call it")
        if not self.outputs:
            raise ConfigError("a graph gives one output or more")
        for output in self.outputs:
            if output not in shapes:
                raise ConfigError(f"output {output!r} is no input's or layer call's name")
            if len(shapes[output]) != 1:
                raise ConfigError(f"output {output!r} gives values of shape {_shown(shapes[output])}; a model gives a "
                                  "vector of logits per sample: add layers.flatten() (or global pooling) and "
                                  "layers.dense(classes)")
        masked = any(getattr(layer, "takes_mask", False) or getattr(layer, "compute_mask", None) is not None
                     for layer in self.layers)
        self._made.update(shapes=shapes, takes=[takes[i] for i in range(len(self.layers))],
                          steps=self._released(steps), masked=masked)

    def _released(self, steps: list[tuple[Node, str, int]]) -> list[tuple[Node, str, int, tuple[str, ...]]]:
        """Each step with the tensors no later step needs (freed after it); unused inputs or
        calls are refused."""
        last: dict[str, int] = {}
        for k, (node, _, _) in enumerate(steps):
            for source in node.sources:
                last[source] = k
        needed = set(self.outputs) | set(last)
        unused = [each.name for each in self.inputs if each.name not in needed]
        unused += [output for _, output, _ in steps if output not in needed]
        if unused:
            raise ConfigError(f"{unused[0]!r} reaches no output of the graph; remove it, or make it an output")
        freed: dict[int, list[str]] = {}
        for name, k in last.items():
            if name not in self.outputs:
                freed.setdefault(k, []).append(name)
        return [(node, output, i, tuple(freed.get(k, ()))) for k, (node, output, i) in enumerate(steps)]

    @property
    def graph(self) -> Graph:
        """The graph itself (a Sequential's is its chain)."""
        return self

    @property
    def shapes(self) -> dict[str, Shape]:
        """One sample's shape of every tensor, by name: the inputs', then each call's output."""
        return dict(self._made["shapes"])

    @property
    def layer_shapes(self) -> list[Any]:
        """Each layer's input shape (a list of shapes for a layer given several), what its
        kernel builds it for."""
        return list(self._made["takes"])

    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(each.name for each in self.inputs)

    @property
    def columns(self) -> tuple[tuple[int, int], ...] | None:
        """Where each input's values are in packed features (:meth:`pack`): (start, stop)
        columns; None for a graph of one input, whose features are its own array."""
        if len(self.inputs) == 1:
            return None
        if "columns" not in self._made:
            sizes = np.cumsum([0] + [int(np.prod(each.shape)) for each in self.inputs])
            self._made["columns"] = tuple((int(a), int(b)) for a, b in zip(sizes, sizes[1:]))
        found: tuple[tuple[int, int], ...] = self._made["columns"]
        return found

    @property
    def input_shape(self) -> Shape:
        """One sample's features: the input's shape, or (values of all inputs,) packed."""
        return self.inputs[0].shape if len(self.inputs) == 1 else (self.columns[-1][1],)  # type: ignore[index]

    @property
    def in_features(self) -> int:
        return int(np.prod(self.input_shape))

    @property
    def input_dtype(self) -> str:
        return self.inputs[0].dtype if len(self.inputs) == 1 else "float32"

    @property
    def out_features(self) -> int:
        """Values per sample of the outputs, side by side."""
        return sum(self._made["shapes"][name][0] for name in self.outputs)

    def parameter_shapes(self) -> dict[str, Shape]:
        return {f"{name}.{weight}": tuple(s) for name, layer, shape in zip(self.layer_names, self.layers,
                                                                           self.layer_shapes)
                for weight, s in layer.parameter_shapes(shape).items()}

    def initial_weights(self, seed: int | None = None) -> dict[str, np.ndarray]:
        rng = np.random.default_rng(seed)
        return {f"{name}.{weight}": value for name, layer, shape in zip(self.layer_names, self.layers,
                                                                        self.layer_shapes)
                for weight, value in layer.initial_weights(shape, rng).items()}

    def untrained(self) -> set[str]:
        return {f"{name}.{weight}" for name, layer, shape in zip(self.layer_names, self.layers, self.layer_shapes)
                for weight in layer.untrained(shape)}

    def seeds(self) -> set[str]:
        """The random-number state among the weights (dropout's): no parameters in a summary."""
        return {f"{name}.{weight}" for name, layer in zip(self.layer_names, self.layers) for weight in layer.seeds}

    # -- as JSON

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind,
                "inputs": [{"name": i.name, "shape": list(i.shape), "dtype": i.dtype} for i in self.inputs],
                "layers": {name: layer.to_dict() for name, layer in zip(self.layer_names, self.layers)},
                "nodes": [{"layer": n.layer, "inputs": list(n.inputs) if n.several else n.inputs} for n in self.nodes],
                "outputs": list(self.outputs)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Graph:
        try:
            inputs = tuple(GraphInput(str(i["name"]), tuple(i["shape"]), str(i.get("dtype", "float32")))
                           for i in data.get("inputs", ()))
            described = dict(data.get("layers", {}))
            nodes = tuple(Node(str(n["layer"]), tuple(n["inputs"]) if isinstance(n["inputs"], list) else n["inputs"])
                          for n in data.get("nodes", ()))
        except (KeyError, TypeError, AttributeError) as err:
            raise ConfigError(f"a graph's description lacks or mistypes {err}") from None
        return cls(inputs, tuple(layer_from_dict(d) for d in described.values()), tuple(described), nodes,
                   tuple(data.get("outputs", ())))

    def __repr__(self) -> str:
        inputs = ", ".join(f"{i.name}{_shown(i.shape)}" for i in self.inputs)
        count = f"{len(self.layers)} layer{'' if len(self.layers) == 1 else 's'}"
        return f"Graph(inputs=[{inputs}], {count}, outputs={list(self.outputs)})"

    # -- features

    def pack(self, features: Any, name: str = "data") -> np.ndarray:
        """Features of the inputs as the one array the data path carries: a dict by input name
        or a tuple in input order (an array alone for a graph of one input); each input's
        samples checked (how many, their shape, their dtype). One input: its array; several:
        float32 values side by side (:attr:`columns`; images channels first, ids exact below
        2**24).

        >>> import numpy as np
        >>> from dlcore import models
        >>> from dlcore.models import layers
        >>> a, b = models.Input((2,), name="a"), models.Input((3,), name="b")
        >>> spec = models.graph([a, b], layers.dense(1)(layers.concatenate()([a, b])))
        >>> spec.pack({"b": np.ones((4, 3)), "a": np.zeros((4, 2))}).shape
        (4, 5)
        """
        arrays = self.in_order(features, name)
        checked = [self._checked(array, each, name) for array, each in zip(arrays, self.inputs)]
        counts = {len(a) for a in checked}
        if len(counts) > 1:
            held = ", ".join(f"{each.name} {len(a)}" for each, a in zip(self.inputs, checked))
            raise DataError(f"{name}: the inputs hold different numbers of samples ({held}); give each input's "
                            "values for the same samples")
        if len(checked) == 1:
            return checked[0]
        return np.concatenate([a.reshape(len(a), -1).astype(np.float32, copy=False) for a in checked], axis=1)

    def in_order(self, features: Any, name: str = "data") -> list[Any]:
        """The inputs' features in input order, from a dict by input name or a tuple (an
        array alone for a graph of one input); a missing or unknown input is a DataError."""
        names = self.input_names
        takes = ", ".join(f"{i.name} {_shown(i.shape)}" for i in self.inputs)
        if isinstance(features, Mapping):
            missing = [n for n in names if n not in features]
            extra = [str(k) for k in features if k not in names]
            if missing or extra:
                said = ([f"no {', '.join(map(repr, missing))}"] if missing else []) + \
                       ([f"unknown {', '.join(map(repr, extra))}"] if extra else [])
                raise DataError(f"{name}: the features are a dict with {' and '.join(said)}; the model's inputs are "
                                f"{takes}")
            return [features[n] for n in names]
        if isinstance(features, tuple):
            if len(features) != len(names):
                raise DataError(f"{name}: {len(features)} arrays of features for the model's {len(names)} inputs "
                                f"{takes}; give one per input, in this order (or a dict by name)")
            return list(features)
        if len(names) > 1:
            raise DataError(f"{name}: the model takes {len(names)} inputs, {takes}; give the features as a dict "
                            f"{{{', '.join(repr(n) + ': array' for n in names)}}} or a tuple in this order")
        return [features]

    def _checked(self, values: Any, each: GraphInput, name: str) -> np.ndarray:
        what = f"{name}: input {each.name!r}"
        array = values.to_numpy() if hasattr(values, "to_numpy") else np.asarray(values)
        if array.ndim == 0 or not np.issubdtype(array.dtype, np.number) and array.dtype != bool:
            raise DataError(f"{what} must be an array of numbers, one row per sample, got {array.dtype} "
                            f"of shape {array.shape}")
        shape = each.shape
        if len(shape) == 3 and array.shape[1:] == (*shape[1:], shape[0]) and array.shape[1:] != shape:
            array = np.ascontiguousarray(np.moveaxis(array, -1, 1))  # channels last -> first
        if int(np.prod(array.shape[1:])) != int(np.prod(shape)):
            raise DataError(f"{what} takes samples of shape {shape}, got {array.shape[1:]}; reshape them or give "
                            f"the Input another shape")
        if each.dtype.startswith("int"):
            if not np.issubdtype(array.dtype, np.integer):
                raise DataError(f"{what} takes integer ids ({each.dtype}), got {array.dtype}")
            rows = self.ids_below(each.name)
            limit = min(rows, EXACT_IDS) if len(self.inputs) > 1 else rows  # packed among float32 values
            bad = (array < 0) | (array >= limit)
            if bad.any():
                at = tuple(int(i) for i in np.argwhere(bad)[0])
                raise DataError(f"{what}: id {array[at]} at index {at} is outside 0..{limit - 1}"
                                + (" (the rows of the embedding it feeds)" if rows <= limit else ""))
            return array.astype(np.int64, copy=False)
        array = array.astype(np.float32, copy=False)
        if not np.isfinite(array).all():
            bad_at = tuple(int(i) for i in np.argwhere(~np.isfinite(array))[0])
            raise DataError(f"{what} holds NaN or infinite values (first at index {bad_at}); clean or impute them")
        return array

    def ids_below(self, input_name: str) -> int:
        """The fewest rows among the embeddings the input feeds: its ids must be below."""
        index = {name: i for i, name in enumerate(self.layer_names)}
        fed = [self.layers[index[node.layer]] for node, _, _, _ in self._made["steps"] if input_name in node.sources]
        return min([int(layer.rows) for layer in fed if layer.input_dtype.startswith("int") and hasattr(layer, "rows")],
                   default=2 ** 62)

    # -- a summary

    def summary(self, print_fn: Callable[[str], None] | None = print) -> str:
        """A table of the graph, as Keras' ``model.summary()``: a row per input and layer (its
        name and kind, its output shape with the batch as None, its parameters and what it is
        called on), then the parameter counts; printed with ``print_fn``, and returned.

        >>> from dlcore import models
        >>> from dlcore.models import layers
        >>> x = models.Input((4,), name="x")
        >>> text = models.graph(x, layers.dense(2, "relu")(x)).summary()
        Graph(inputs=[x(None, 4)], 1 layer, outputs=['dense'])
        --------------------------------------------------
        Layer (type)   Output Shape  Param #  Connected to
        --------------------------------------------------
        x (Input)      (None, 4)           0
        dense (Dense)  (None, 2)          10  x
        --------------------------------------------------
        Total params: 10
        Trainable params: 10
        Non-trainable params: 0
        """
        rows, total, trained = self.rows(), 0, 0
        frozen, seeds = self.untrained(), self.seeds()
        for name, count in self.parameter_shapes().items():
            if name not in seeds:
                total += int(np.prod(count))
                trained += int(np.prod(count)) if name not in frozen else 0
        cells = [("Layer (type)", "Output Shape", "Param #", "Connected to")] + \
                [(layer, shape, f"{count:,}", inputs) for layer, shape, count, inputs in rows]
        widths = [max(len(cell[i]) for cell in cells) for i in range(4)]
        lines = [f"{cell[0]:<{widths[0]}}  {cell[1]:<{widths[1]}}  {cell[2]:>{widths[2]}}  {cell[3]}".rstrip()
                 for cell in cells]
        rule = "-" * len(max(lines, key=len))
        text = "\n".join([repr(self), rule, lines[0], rule, *lines[1:], rule, f"Total params: {total:,}",
                          f"Trainable params: {trained:,}", f"Non-trainable params: {total - trained:,}"])
        if print_fn is not None:
            print_fn(text)
        return text

    def rows(self) -> list[tuple[str, str, int, str]]:
        """The summary's rows: ``name (Kind)``, output shape, parameters, what it is called on."""
        seeds = self.seeds()
        rows = [(f"{each.name} (Input)", _shown(each.shape), 0, "") for each in self.inputs]
        seen: dict[int, int] = {}
        for node, output, i, _ in self._made["steps"]:
            called_on = ", ".join(node.sources)
            if i in seen:  # a shared layer's later call: its row lists every call
                layer, shape, count, before = rows[seen[i]]
                rows[seen[i]] = (layer, shape, count, f"{before}; {called_on}")
                continue
            name, layer = self.layer_names[i], self.layers[i]
            count = sum(int(np.prod(s)) for weight, s in layer.parameter_shapes(self.layer_shapes[i]).items()
                        if f"{name}.{weight}" not in seeds)
            seen[i] = len(rows)
            rows.append((f"{name} ({type(layer).__name__})", _shown(self._made["shapes"][output]), count, called_on))
        return rows


def chain(input_shape: Shape, input_dtype: str, layers: Sequence[Layer]) -> Graph:
    """The graph of ``layers`` in order on one input named ``input``, layer ``i`` named
    ``layers.{i}``: a :class:`dlcore.models.Sequential`'s, with its weight names.

    >>> from dlcore.models import layers
    >>> chain((4,), "float32", [layers.dense(2)]).nodes
    (Node(layer='layers.0', inputs='input'),)
    """
    names = tuple(f"layers.{i}" for i in range(len(layers)))
    dtype = "int64" if input_dtype.startswith("int") else "float32"
    nodes = tuple(Node(name, before) for name, before in zip(names, ("input", *names)))
    return Graph((GraphInput("input", tuple(input_shape), dtype),), tuple(layers), names, nodes, names[-1:])


# -- running a graph: one executor per backend calls this


def execute(spec: Graph, inputs: Sequence[Any], call: Callable[..., Any], table: Any = None) -> list[Any]:
    """Run ``spec`` on ``inputs`` (a backend's arrays, one per input, in order): each call of a
    layer is ``call(index, x)`` (``index`` into ``spec.layers``; ``x`` one array or a list),
    ``call(index, x, mask=m)`` for a layer whose spec ``takes_mask``. Each call's output mask
    is its layer's ``compute_mask(x, mask)`` (on ``table``'s arrays), else its input's mask
    for one input, and for several the mask they all share (None otherwise). Returns the
    outputs in order.

    >>> import numpy as np
    >>> from dlcore import models
    >>> from dlcore.models import layers
    >>> x = models.Input((3,))
    >>> spec = models.graph(x, layers.add()([x, x]))
    >>> def numpy_call(i, x):  # a backend calls its built layer; here the layer's plan on numpy
    ...     return spec.layers[i]._plan(spec.layer_shapes[i]).call({}, x, False)[0]
    >>> execute(spec, [np.ones((2, 3))], numpy_call)
    [array([[2., 2., 2.],
           [2., 2., 2.]])]
    """
    values: dict[str, Any] = dict(zip(spec.input_names, inputs))
    if not spec._made["masked"]:  # no layer makes or takes a mask: none to carry
        for node, output, i, freed in spec._made["steps"]:
            values[output] = call(i, [values[s] for s in node.sources] if node.several else values[node.inputs])
            for name in freed:
                del values[name]
        return [values[name] for name in spec.outputs]
    masks: dict[str, Any] = {}
    for node, output, i, freed in spec._made["steps"]:
        layer = spec.layers[i]
        x = [values[s] for s in node.sources] if node.several else values[node.sources[0]]
        mask: Any = [masks.get(s) for s in node.sources] if node.several else masks.get(node.sources[0])
        values[output] = call(i, x, mask=mask) if getattr(layer, "takes_mask", False) else call(i, x)
        compute = getattr(layer, "compute_mask", None)
        if compute is not None:
            with ops.using(table) if table is not None else contextlib.nullcontext():
                masks[output] = compute(x, mask)
        elif node.several:
            masks[output] = mask[0] if all(m is mask[0] for m in mask) else None
        else:
            masks[output] = mask
        for name in freed:
            values.pop(name, None)
            masks.pop(name, None)
    return [values[name] for name in spec.outputs]


__all__ = ["DTYPES", "Graph", "GraphInput", "Node", "chain", "channels_last_hint", "execute"]
