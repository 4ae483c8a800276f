"""Portable layers and the sequential spec that composes them: ``models.sequential([...])``
and ``models.cnn(...)``; the merges of a graph's inputs (``add``, ``multiply``,
``concatenate``, written on :mod:`dlcore.ops`). Called on symbolic tensors, a layer describes a
graph (:mod:`dlcore.models.graph`).

Each layer is a small frozen dataclass that knows, framework-free, its output shape, its
parameters' canonical names, shapes and initial values. Shapes are canonical: one sample,
channels first (an image is (channels, height, width), as in torch); a convolution's
``weight`` is (out, in, kh, kw) and a dense layer's (out, in). Each backend builds a layer
through its ``"layer"`` kernel for the layer's kind, in its native layout (TensorFlow:
channels last), and names the weights canonically, so a checkpoint moves between backends.

Parameters of layer ``i`` are ``layers.{i}.{name}``. Besides weights, two layers hold state
that a checkpoint keeps so that resuming is exact: batch norm's ``running_mean`` and
``running_var``, and dropout's ``rng``: (seed, count), the seed of its masks and how many
training steps drew one (each backend draws its masks from them with its own counter-based
generator, so masks are reproducible on a backend, not equal across backends).
"""

from __future__ import annotations

import inspect
import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar, Sequence

import numpy as np

from .. import ops
from ..contract.errors import ConfigError
from ..contract.specs import ModelSpec
from . import built_in, written
from .graph import chain, channels_last_hint
from .symbolic import SymbolicTensor, call as symbolic_call

Shape = tuple[int, ...]
ACTIVATIONS = ("relu", "tanh", "sigmoid", "gelu", "silu", "elu", "leaky_relu", "softmax")


def _pair(value: Any, what: str) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(pair) != 2 or any(int(v) < 1 for v in pair):
        raise ConfigError(f"{what} must be a positive int or a pair of them, got {value!r}")
    return int(pair[0]), int(pair[1])


def _check_activation(activation: str | None) -> None:
    if activation is not None and activation not in ACTIVATIONS:
        raise ConfigError(f"unknown activation {activation!r}; choose one of {', '.join(ACTIVATIONS)}")


def _uniform(rng: np.random.Generator, fan_in: int, shape: Shape) -> np.ndarray:
    """torch's default initialization of Linear and Conv2d: U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    bound = 1.0 / math.sqrt(fan_in)
    return rng.uniform(-bound, bound, shape).astype(np.float32)


@dataclass(frozen=True)
class Layer:
    """Base of portable layers.

    Write a layer of your own once, on :mod:`dlcore.ops`: subclass ``Layer``, make its weights
    in ``build(input_shape)`` with ``add_weight`` and compute in ``call(x, training)``. It runs on
    every backend, its weights under canonical names (``layers.{i}.{name}``), so checkpoints move
    between backends. Shapes are canonical (images (N, channels, height, width)); ``input_shape``
    has the batch axis first, as None. The class registers its ``kind`` when it is defined: its
    own ``kind``, else its name in snake_case after its package's name where it is defined in
    one (``mypackage.layer_norm``; in a script or a notebook ``layer_norm``). A checkpoint names
    the kind, and loading it needs the class defined (imported) in the loading process; no
    code is read from a checkpoint.

    >>> from dlcore import ops
    >>> from dlcore.models import layers
    >>> class Scale(layers.Layer):
    ...     def build(self, input_shape):
    ...         self.scale = self.add_weight("scale", input_shape[-1:], init="ones")
    ...     def call(self, x, training=False):
    ...         return x * self.scale
    >>> Scale().output_shape((20,)), Scale().parameter_shapes((20,))
    ((20,), {'scale': (20,)})

    dlcore's own layers are frozen dataclasses that give their output shape, parameters and
    initial values directly; their computation is written on ops too (``models/built_in.py``),
    which torch, TensorFlow and JAX replace with their native kernels (their fast paths).
    """

    kind: ClassVar[str] = ""
    state: ClassVar[tuple[str, ...]] = ()  # parameters that change in training without gradients
    seeds: ClassVar[tuple[str, ...]] = ()  # state that is random-number state: no parameter in a summary
    input_dtype: ClassVar[str] = "float32"  # what a layer written on ops takes (its first call checks it)

    def __new__(cls, *args: Any, **kwargs: Any) -> Layer:
        if "name" in kwargs and "name" not in inspect.signature(cls.__init__).parameters:
            made_as = f"layers.{cls.kind}" if cls.__module__ == __name__ else cls.__name__  # dlcore's own, or yours
            raise ConfigError(f"a layer is named where it is called in a graph: {made_as}(...)(x, "
                              f"name={kwargs['name']!r})")
        made = super().__new__(cls)
        object.__setattr__(made, "_arguments", (args, kwargs))  # what to_dict saves of a layer written on ops
        return made

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.call is not Layer.call:
            written.define(cls, cls.__dict__.get("kind") or written.default_kind(cls))

    @property
    def on_ops(self) -> bool:
        """Whether this layer has a version written on :mod:`dlcore.ops` (a user's, or dlcore's own),
        which any backend with an ops table runs."""
        return self.written_on_ops or self.kind in built_in.APPLY

    @property
    def written_on_ops(self) -> bool:
        """Whether this layer is written on :mod:`dlcore.ops` (has ``call``), not a built-in kind."""
        return type(self).call is not Layer.call

    def __call__(self, inputs: Any, *, name: str | None = None) -> SymbolicTensor:
        """The layer called on symbolic tensors (``models.Input(...)``, or a list of them), to
        describe a graph (:func:`dlcore.models.graph`): ``layers.dense(10)(x)``; ``name`` names
        the layer (default: its kind, then ``_1``, ``_2``...). A layer called twice shares its weights."""
        return symbolic_call(self, inputs, name)

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        """Make the layer's weights with :meth:`add_weight`, for inputs of ``input_shape``."""

    def call(self, x: Any, training: bool = False) -> Any:
        """The layer's output for the batch ``x``, written on :mod:`dlcore.ops`."""
        raise NotImplementedError

    def add_weight(self, name: str, shape: Sequence[int], init: Any = "zeros", trainable: bool = True,
                   dtype: str = "float32") -> Any:
        """Declare a weight (in ``build`` only); keep what it returns in an attribute, through
        which ``call`` sees the backend's variable. ``init``: "zeros", "ones", "uniform" (torch's
        default, U(+-1/sqrt(fan_in))), "glorot_uniform", "normal" or ``f(shape, rng) -> array``;
        initial values are drawn in numpy, the same on every backend."""
        weight = written.Weight(name, written.check_weight(self, name, shape, init), init, bool(trainable), dtype)
        self._declared[name] = weight  # type: ignore[attr-defined]  # set on the copy that builds
        return weight

    def assign(self, weight: Any, value: Any) -> None:
        """In ``call``: give a non-trainable weight (``self.running_mean``) a new value, kept after
        the training step (running statistics, a step counter); ``value`` has its shape and dtype."""
        written.assign(self, weight, value)

    def output_shape(self, shape: Shape) -> Shape:
        """The shape of one sample's output, given its input's (canonical, no batch axis)."""
        return self._plan(shape).output_shape if self.written_on_ops else shape

    def parameter_shapes(self, shape: Shape) -> dict[str, Shape]:
        """Canonical parameter (and state) names and shapes, given the input's shape."""
        return {n: w.shape for n, w in self._plan(shape).weights.items()} if self.written_on_ops else {}

    def initial_weights(self, shape: Shape, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Initial values, drawn from ``rng`` (identical on every backend)."""
        return self._plan(shape).initial_weights(rng) if self.written_on_ops else {}

    def untrained(self, shape: Shape) -> tuple[str, ...]:
        """The parameters that get no gradient: ``state``, or a written layer's non-trainable weights."""
        return self._plan(shape).frozen if self.written_on_ops else self.state

    def _plan(self, shape: Shape) -> written.Plan:
        if self.written_on_ops:
            return written.plan(self, shape, self.input_dtype)
        return written.plan(self, shape, apply=built_in.APPLY[self.kind])

    def to_dict(self) -> dict[str, Any]:
        if self.written_on_ops:
            cls = type(self)
            return {"kind": self.kind, **written.arguments(self), "defined_in": f"{cls.__module__}:{cls.__qualname__}"}
        return {"kind": self.kind, **asdict(self)}

    def __eq__(self, other: object) -> bool:
        if not self.written_on_ops:
            return type(self) is type(other)  # no fields: dataclass subclasses compare their own
        return type(other) is type(self) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash((type(self), json.dumps(self.to_dict(), sort_keys=True))) if self.written_on_ops else hash(type(self))

    def __repr__(self) -> str:
        if not self.written_on_ops:
            return f"{type(self).__name__}()"
        shown = ", ".join(f"{k}={v!r}" for k, v in written.arguments(self).items())
        return f"{type(self).__name__}({shown})"

    def _needs_rank(self, shape: Shape, rank: int, hint: str) -> None:
        if len(shape) != rank:
            raise ConfigError(f"{self.kind} takes inputs of {rank} axes per sample, got shape {shape}; {hint}")


@dataclass(frozen=True)
class Dense(Layer):
    """Fully connected: (features,) -> (units,); ``weight`` (units, features), ``bias``."""

    units: int
    activation: str | None = None
    bias: bool = True
    kind: ClassVar[str] = "dense"

    def __post_init__(self) -> None:
        if int(self.units) < 1:
            raise ConfigError(f"dense units must be positive, got {self.units}")
        _check_activation(self.activation)

    def output_shape(self, shape: Shape) -> Shape:
        self._needs_rank(shape, 1, "add layers.flatten() before it")
        return (self.units,)

    def parameter_shapes(self, shape: Shape) -> dict[str, Shape]:
        return {"weight": (self.units, shape[0]), **({"bias": (self.units,)} if self.bias else {})}

    def initial_weights(self, shape: Shape, rng: np.random.Generator) -> dict[str, np.ndarray]:
        return {name: _uniform(rng, shape[0], s) for name, s in self.parameter_shapes(shape).items()}


@dataclass(frozen=True)
class Conv2d(Layer):
    """2-D convolution: (channels, h, w) -> (filters, h', w'); ``weight`` (filters, channels,
    kh, kw), ``bias``. ``padding``: zeros on each side (an int), "valid" (0) or "same"
    (stride 1 only: the output keeps h and w)."""

    filters: int
    kernel_size: int | tuple[int, int] = 3
    stride: int | tuple[int, int] = 1
    padding: int | str = 0
    activation: str | None = None
    bias: bool = True
    kind: ClassVar[str] = "conv2d"

    def __post_init__(self) -> None:
        if int(self.filters) < 1:
            raise ConfigError(f"conv2d filters must be positive, got {self.filters}")
        object.__setattr__(self, "kernel_size", _pair(self.kernel_size, "conv2d kernel_size"))
        object.__setattr__(self, "stride", _pair(self.stride, "conv2d stride"))
        if self.padding == "valid":
            object.__setattr__(self, "padding", 0)
        if self.padding == "same" and self.stride != (1, 1):
            raise ConfigError("conv2d padding='same' needs stride 1; give the padding as an int")
        if not (self.padding == "same" or (isinstance(self.padding, int) and self.padding >= 0)):
            raise ConfigError(f"conv2d padding must be an int >= 0, 'valid' or 'same', got {self.padding!r}")
        _check_activation(self.activation)

    @property
    def kernel(self) -> tuple[int, int]:
        """``kernel_size`` as (height, width)."""
        return _pair(self.kernel_size, "conv2d kernel_size")

    @property
    def pads(self) -> tuple[tuple[int, int], tuple[int, int]]:
        """Zeros added (before, after) the height and the width."""
        if self.padding == "same":
            (kh, kw) = self.kernel
            return ((kh - 1) // 2, kh - 1 - (kh - 1) // 2), ((kw - 1) // 2, kw - 1 - (kw - 1) // 2)
        p = int(self.padding)
        return (p, p), (p, p)

    def output_shape(self, shape: Shape) -> Shape:
        self._needs_rank(shape, 3, "images are (channels, height, width); reshape the data or pass channels=")
        strides = _pair(self.stride, "conv2d stride")
        sizes = [(n + sum(pad) - k) // s + 1 for n, pad, k, s in zip(shape[1:], self.pads, self.kernel, strides)]
        if min(sizes) < 1:
            raise ConfigError(f"conv2d with kernel {self.kernel} does not fit an input of shape {shape}")
        return (self.filters, *sizes)

    def parameter_shapes(self, shape: Shape) -> dict[str, Shape]:
        weight = (self.filters, shape[0], *self.kernel)
        return {"weight": weight, **({"bias": (self.filters,)} if self.bias else {})}

    def initial_weights(self, shape: Shape, rng: np.random.Generator) -> dict[str, np.ndarray]:
        fan_in = shape[0] * self.kernel[0] * self.kernel[1]
        return {name: _uniform(rng, fan_in, s) for name, s in self.parameter_shapes(shape).items()}


@dataclass(frozen=True)
class _Pool2d(Layer):
    size: int | tuple[int, int] = 2
    stride: int | tuple[int, int] | None = None  # None: the size

    def __post_init__(self) -> None:
        object.__setattr__(self, "size", _pair(self.size, f"{self.kind} size"))
        object.__setattr__(self, "stride", _pair(self.size if self.stride is None else self.stride,
                                                 f"{self.kind} stride"))

    def output_shape(self, shape: Shape) -> Shape:
        self._needs_rank(shape, 3, "pooling takes (channels, height, width)")
        size, stride = _pair(self.size, "pool size"), _pair(self.size if self.stride is None else self.stride, "stride")
        sizes = [(n - k) // s + 1 for n, k, s in zip(shape[1:], size, stride)]
        if min(sizes) < 1:
            raise ConfigError(f"{self.kind} of size {self.size} does not fit an input of shape {shape}")
        return (shape[0], *sizes)


@dataclass(frozen=True)
class MaxPool2d(_Pool2d):
    """Maximum over windows of ``size`` every ``stride`` (no padding)."""

    kind: ClassVar[str] = "max_pool2d"


@dataclass(frozen=True)
class AvgPool2d(_Pool2d):
    """Mean over windows of ``size`` every ``stride`` (no padding)."""

    kind: ClassVar[str] = "avg_pool2d"


@dataclass(frozen=True)
class GlobalAvgPool2d(Layer):
    """Mean over height and width: (channels, h, w) -> (channels,)."""

    kind: ClassVar[str] = "global_avg_pool2d"

    def output_shape(self, shape: Shape) -> Shape:
        self._needs_rank(shape, 3, "global pooling takes (channels, height, width)")
        return (shape[0],)


@dataclass(frozen=True)
class GlobalMaxPool2d(GlobalAvgPool2d):
    """Maximum over height and width: (channels, h, w) -> (channels,)."""

    kind: ClassVar[str] = "global_max_pool2d"


@dataclass(frozen=True)
class BatchNorm(Layer):
    """Batch normalization per channel (the first axis of (channels, ...)), as torch's
    BatchNorm1d/2d: training normalizes with the batch's mean and (biased) variance and
    updates ``running_mean``/``running_var`` by ``momentum`` (the variance unbiased);
    inference uses the running statistics. ``weight`` (scale) and ``bias`` train."""

    momentum: float = 0.1
    eps: float = 1e-5
    kind: ClassVar[str] = "batch_norm"
    state: ClassVar[tuple[str, ...]] = ("running_mean", "running_var")

    def __post_init__(self) -> None:
        if not 0.0 <= float(self.momentum) <= 1.0 or not float(self.eps) > 0:
            raise ConfigError(f"batch_norm needs 0 <= momentum <= 1 and eps > 0, got {self.momentum}, {self.eps}")

    def parameter_shapes(self, shape: Shape) -> dict[str, Shape]:
        if len(shape) not in (1, 3):
            raise ConfigError(f"batch_norm takes (features,) or (channels, height, width), got shape {shape}")
        c = (shape[0],)
        return {"weight": c, "bias": c, "running_mean": c, "running_var": c}

    def initial_weights(self, shape: Shape, rng: np.random.Generator) -> dict[str, np.ndarray]:
        ones, zeros = np.ones(shape[0], np.float32), np.zeros(shape[0], np.float32)
        return {"weight": ones, "bias": zeros, "running_mean": zeros.copy(), "running_var": ones.copy()}


@dataclass(frozen=True)
class Dropout(Layer):
    """Zeroes each value with probability ``rate`` while training and scales the rest by
    1 / (1 - rate); the identity in inference. State ``rng``: (seed, count), int64."""

    rate: float = 0.5
    kind: ClassVar[str] = "dropout"
    state: ClassVar[tuple[str, ...]] = ("rng",)
    seeds: ClassVar[tuple[str, ...]] = ("rng",)

    def __post_init__(self) -> None:
        if not 0.0 <= float(self.rate) < 1.0:
            raise ConfigError(f"dropout rate must be in [0, 1), got {self.rate}")

    def parameter_shapes(self, shape: Shape) -> dict[str, Shape]:
        return {"rng": (2,)}

    def initial_weights(self, shape: Shape, rng: np.random.Generator) -> dict[str, np.ndarray]:
        return {"rng": np.array([rng.integers(0, 2**31 - 1), 0], np.int64)}


@dataclass(frozen=True)
class Flatten(Layer):
    """All axes of a sample into one, in canonical (channels first) order."""

    kind: ClassVar[str] = "flatten"

    def output_shape(self, shape: Shape) -> Shape:
        return (int(np.prod(shape)),)


@dataclass(frozen=True)
class Embedding(Layer):
    """Integer ids (length,) -> vectors (length, dim); ``weight`` (rows, dim), N(0, 1) as torch."""

    rows: int
    dim: int
    kind: ClassVar[str] = "embedding"
    input_dtype: ClassVar[str] = "int64"

    def __post_init__(self) -> None:
        if int(self.rows) < 1 or int(self.dim) < 1:
            raise ConfigError(f"embedding rows and dim must be positive, got {self.rows}, {self.dim}")

    def output_shape(self, shape: Shape) -> Shape:
        self._needs_rank(shape, 1, "an embedding takes a sequence of integer ids per sample")
        return (shape[0], self.dim)

    def parameter_shapes(self, shape: Shape) -> dict[str, Shape]:
        return {"weight": (self.rows, self.dim)}

    def initial_weights(self, shape: Shape, rng: np.random.Generator) -> dict[str, np.ndarray]:
        return {"weight": rng.standard_normal((self.rows, self.dim)).astype(np.float32)}


@dataclass(frozen=True)
class Activation(Layer):
    """An elementwise function (softmax: over the last axis of (features,))."""

    name: str = "relu"
    kind: ClassVar[str] = "activation"

    def __post_init__(self) -> None:
        _check_activation(self.name)

    def output_shape(self, shape: Shape) -> Shape:
        if self.name == "softmax":
            self._needs_rank(shape, 1, "softmax takes (features,)")
        return shape


@dataclass(frozen=True)
class Sequential(ModelSpec):
    """Layers applied in order to inputs of ``input_shape`` (one sample, channels first),
    ending in a vector of logits. Parameters are ``layers.{i}.{name}``.

    >>> from dlcore.models import Sequential, layers
    >>> spec = Sequential((28, 28), (layers.flatten(), layers.dense(512, "relu"), layers.dense(10)))
    >>> spec.shapes, list(spec.parameter_shapes())[:2]
    ([(28, 28), (784,), (512,), (10,)], ['layers.1.weight', 'layers.1.bias'])
    """

    input_shape: tuple[int, ...] = (784,)
    layers: tuple[Layer, ...] = field(default_factory=tuple)
    kind: ClassVar[str] = "sequential"

    def __post_init__(self) -> None:
        object.__setattr__(self, "input_shape", tuple(int(n) for n in self.input_shape))
        object.__setattr__(self, "layers", tuple(self.layers))
        if not self.layers or not all(isinstance(layer, Layer) for layer in self.layers):
            raise ConfigError("sequential takes a non-empty list of layers (dlcore.models.layers.dense(...), ...)")
        if not self.input_shape or min(self.input_shape) < 1:
            raise ConfigError(f"input_shape must be positive sizes, got {self.input_shape}")
        if len(self.shapes[-1]) != 1:
            raise ConfigError(f"the last layer gives outputs of shape {self.shapes[-1]}; a model gives a vector of "
                              "logits per sample: add layers.flatten() and layers.dense(classes)")

    @property
    def shapes(self) -> list[Shape]:
        """The input's shape, then each layer's output shape."""
        shapes = [self.input_shape]
        for i, layer in enumerate(self.layers):
            try:
                shapes.append(tuple(int(n) for n in layer.output_shape(shapes[-1])))
            except ConfigError as err:
                hint = channels_last_hint(self.input_shape)
                raise ConfigError(f"layer {i} ({layer.kind}): {err}" + (f"; {hint}" if hint else "")) from None
        return shapes

    @property
    def in_features(self) -> int:
        return int(np.prod(self.input_shape))

    @property
    def out_features(self) -> int:
        return self.shapes[-1][0]

    @property
    def input_dtype(self) -> str:
        """What the first layer takes: integer ids (an embedding) or float32 values."""
        return "int64" if isinstance(self.layers[0], Embedding) else self.layers[0].input_dtype

    def parameter_shapes(self) -> dict[str, Shape]:
        return {f"layers.{i}.{name}": tuple(s) for i, (layer, shape) in enumerate(zip(self.layers, self.shapes))
                for name, s in layer.parameter_shapes(shape).items()}

    def initial_weights(self, seed: int | None = None) -> dict[str, np.ndarray]:
        rng = np.random.default_rng(seed)
        return {f"layers.{i}.{name}": value for i, (layer, shape) in enumerate(zip(self.layers, self.shapes))
                for name, value in layer.initial_weights(shape, rng).items()}

    def untrained(self) -> set[str]:
        return {f"layers.{i}.{name}" for i, (layer, shape) in enumerate(zip(self.layers, self.shapes))
                for name in layer.untrained(shape)}

    @property
    def graph(self) -> Any:
        """The chain as a :class:`dlcore.models.graph.Graph`, its layers named ``layers.0``,
        ``layers.1``, ...: what every backend runs."""
        made = self.__dict__.get("_graph")
        if made is None:
            made = chain(self.input_shape, self.input_dtype, self.layers)
            object.__setattr__(self, "_graph", made)
        return made

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "input_shape": list(self.input_shape), "layers": [la.to_dict() for la in self.layers]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Sequential:
        layers = tuple(written.layer_from_dict(described) for described in data.get("layers", ()))
        return cls(tuple(data.get("input_shape", ())), layers)

    def __repr__(self) -> str:
        inner = ", ".join(f"{layer.kind}" for layer in self.layers)
        return f"Sequential(input_shape={self.input_shape}, [{inner}])"



def sequential(layers: Sequence[Layer], input_shape: Sequence[int]) -> Sequential:
    """A spec of ``layers`` in order over samples of ``input_shape`` (channels first):
    ``sequential([layers.flatten(), layers.dense(512, "relu"), layers.dense(10)], (28, 28))``.

    >>> from dlcore import models
    >>> from dlcore.models import layers
    >>> spec = models.sequential([layers.conv2d(8, 3, padding="same", activation="relu"), layers.max_pool2d(2),
    ...                           layers.flatten(), layers.dense(10)], (1, 28, 28))
    >>> spec.shapes[-2:], spec.out_features
    ([(1568,), (10,)], 10)
    """
    return Sequential(tuple(input_shape), tuple(layers))


def cnn(input_shape: Sequence[int] = (1, 28, 28), classes: int = 10, filters: Sequence[int] = (32, 64),
        hidden: int = 128, dropout: float = 0.25, batch_norm: bool = True) -> Sequential:
    """A small CNN for images: per entry of ``filters`` a 3x3 convolution ("same" padding;
    without bias when batch norm follows), batch norm if asked, ReLU and 2x2 max pooling; then flatten, dropout, a dense hidden layer
    with ReLU, dropout and the logits. ``cnn()`` fits Fashion-MNIST's (1, 28, 28).

    >>> from dlcore import models
    >>> spec = models.cnn((3, 32, 32), classes=10, filters=(32, 64))
    >>> spec.shapes[-1], spec.parameter_shapes()["layers.0.weight"]
    ((10,), (32, 3, 3, 3))
    """
    drop: list[Layer] = [Dropout(dropout)] if dropout else []
    body: list[Layer] = []
    for f in filters:
        # no bias before batch norm, which would cancel it (and Adam would move it by rounding noise alone)
        body.append(Conv2d(int(f), 3, padding="same", activation=None if batch_norm else "relu", bias=not batch_norm))
        body += [BatchNorm(), Activation("relu")] if batch_norm else []
        body.append(MaxPool2d(2))
    body += [Flatten(), *drop, Dense(int(hidden), "relu"), *drop, Dense(int(classes))]
    return Sequential(tuple(input_shape), tuple(body))


# Merges of a graph's several inputs, written on dlcore.ops: a layer called on a list of symbolic tensors is
# given a list of arrays in call and of shapes in build. Axes count the batch axis, as in Keras: on images
# (N, channels, height, width) concatenate(axis=1) joins the channels on every backend.

def _shapes(layer: Layer, input_shape: Any) -> list[tuple[Any, ...]]:
    """The inputs' shapes of a merge, which takes two inputs or more."""
    if not isinstance(input_shape, list) or len(input_shape) < 2:
        raise ConfigError(f"{layer.kind} merges two inputs or more: call it on a list, "
                          f"layers.{layer.kind}()([a, b])")
    return [tuple(shape) for shape in input_shape]


class _Elementwise(Layer):
    def build(self, input_shape: Any) -> None:
        shapes = _shapes(self, input_shape)
        if any(shape != shapes[0] for shape in shapes):
            raise ConfigError(f"{self.kind} takes inputs of one shape, got {', '.join(map(str, shapes))}")


class Add(_Elementwise):
    """The sum of two inputs or more, of one shape.

    >>> from dlcore import models
    >>> from dlcore.models import layers
    >>> a, b = models.Input((4,)), models.Input((4,))
    >>> layers.add()([a, b]).shape
    (4,)
    """

    kind = "add"

    def call(self, inputs: Any, training: bool = False) -> Any:
        total = inputs[0]
        for x in inputs[1:]:
            total = total + x
        return total


class Multiply(_Elementwise):
    """The product of two inputs or more, of one shape, elementwise (a gate: ``x * sigmoid(g)``).

    >>> from dlcore import models
    >>> from dlcore.models import layers
    >>> a, b = models.Input((4,)), models.Input((4,))
    >>> layers.multiply()([a, layers.dense(4, "sigmoid")(b)]).shape
    (4,)
    """

    kind = "multiply"

    def call(self, inputs: Any, training: bool = False) -> Any:
        product = inputs[0]
        for x in inputs[1:]:
            product = product * x
        return product


class Concatenate(Layer):
    """Two inputs or more joined along ``axis`` (counting the batch axis: -1 the last, 1 the
    channels of images), all other axes equal.

    >>> from dlcore import models
    >>> from dlcore.models import layers
    >>> a, b = models.Input((3, 8, 8)), models.Input((5, 8, 8))
    >>> layers.concatenate(axis=1)([a, b]).shape
    (8, 8, 8)
    """

    kind = "concatenate"

    def __init__(self, axis: int = -1) -> None:
        self.axis = axis

    def build(self, input_shape: Any) -> None:
        shapes = _shapes(self, input_shape)
        rank = len(shapes[0])
        if isinstance(self.axis, bool) or not isinstance(self.axis, int) or not -rank < self.axis < rank \
                or self.axis % rank == 0:
            raise ConfigError(f"concatenate axis must be an int among 1..{rank - 1} or -{rank - 1}..-1 for inputs "
                              f"of shape {shapes[0]} (axis 0 is the batch), got {self.axis!r}")
        axis = self.axis % rank
        others = [shape[:axis] + shape[axis + 1:] for shape in shapes]
        if any(len(shape) != rank for shape in shapes) or any(other != others[0] for other in others):
            raise ConfigError(f"concatenate along axis {self.axis} needs inputs that differ on that axis alone, got "
                              f"{', '.join(map(str, shapes))}")

    def call(self, inputs: Any, training: bool = False) -> Any:
        return ops.concatenate(list(inputs), axis=self.axis)


# The vocabulary, as functions: ``layers.dense(10)``, ``layers.conv2d(32, 3, padding="same")``.
dense, conv2d, max_pool2d, avg_pool2d = Dense, Conv2d, MaxPool2d, AvgPool2d
global_avg_pool2d, global_max_pool2d, batch_norm, dropout = GlobalAvgPool2d, GlobalMaxPool2d, BatchNorm, Dropout
flatten, embedding, activation = Flatten, Embedding, Activation
add, multiply, concatenate = Add, Multiply, Concatenate
register, layer_class = written.register, written.layer_class

__all__ = ["ACTIVATIONS", "Activation", "Add", "AvgPool2d", "BatchNorm", "Concatenate", "Conv2d", "Dense", "Dropout",
           "Embedding", "Flatten", "GlobalAvgPool2d", "GlobalMaxPool2d", "Layer", "MaxPool2d", "Multiply", "Sequential",
           "activation", "add", "avg_pool2d", "batch_norm", "cnn", "concatenate", "conv2d", "dense", "dropout",
           "embedding", "flatten", "global_avg_pool2d", "global_max_pool2d", "layer_class", "max_pool2d", "multiply",
           "register", "sequential"]
