"""The TensorFlow backend's layer kernel ``"ops"``: any layer written on :mod:`dlcore.ops`, as a
Keras layer whose variables are the layer's weights (canonical names and layouts already).

The graph model computes images channels last; this layer hands its user's ``call`` the
canonical (N, C, H, W) (each of a merge's inputs) and turns a 4-axis output back. It computes in its input's dtype (float
weights cast to it, as Keras' autocast does under the bf16 policy) and, in training, stores
what ``call`` assigned to its non-trainable weights. An operation failing while a compiled step
runs (a shape known only then) is named by :func:`named_errors`, from its graph node's scopes.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any, Iterator

import numpy as np

from dlcore import ConfigError, ops
from dlcore.models import layers as spec

from .layers import _Layer
from .ops import NCHW, NHWC, SCOPE, TABLE, tf

LAYER_SCOPE = "layer."
_OPS_FRAME = re.compile(r"[/\\]dlcore[/\\]ops[/\\]__init__\.py")
_KINDS: dict[str, str] = {}  # a layer's name scope -> its kind
_NODE = re.compile(r"(?:" + re.escape(LAYER_SCOPE) + r"([^/]+)/(?:[^/\]]*/)*?)?"
                   + re.escape(SCOPE) + r"([a-z0-9_]+?)(?:_\d+)?/")


class Written(_Layer):
    """A layer written on ops: its plan for the input shape, its weights as Keras variables."""

    def __init__(self, layer: spec.Layer, shape, **kwargs) -> None:
        super().__init__(layer, shape, **kwargs)
        self.plan = layer._plan(self.shape_in)
        self.scope = LAYER_SCOPE + re.sub(r"[^A-Za-z0-9_.-]", "_", layer.kind)
        _KINDS[self.scope[len(LAYER_SCOPE):]] = layer.kind

    def build(self, input_shape) -> None:
        initial = self.plan.initial_weights(np.random.default_rng(0))  # the core sets the model's own next
        self.values = {name: self.weight(name, w.shape, _constant(initial[name]), w.trainable, w.dtype)
                       for name, w in self.plan.weights.items()}

    def call(self, x, training=False):
        training = bool(training) if isinstance(training, (bool, type(None))) else training
        several = isinstance(x, (list, tuple))  # a merge is given a list
        xs = [tf.transpose(v, NCHW) if v.shape.rank == 4 else v for v in (x if several else [x])]
        values = {name: _computing(variable, xs[0].dtype) for name, variable in self.values.items()}
        with ops.using(TABLE), (contextlib.nullcontext() if tf.executing_eagerly() else tf.name_scope(self.scope)):
            y, updates = self.plan.call(values, xs if several else xs[0], training)
            y = self._checked(tf.convert_to_tensor(y), training)
            if training is True:
                for name, value in updates.items():
                    self._assign(name, tf.convert_to_tensor(value))
        return tf.transpose(y, NHWC) if y.shape.rank == 4 else y

    def _assign(self, name: str, value) -> None:
        variable = self.values[name]
        if not value.shape.is_compatible_with(variable.shape):
            raise ops.OpsError(f"layer {self.layer.kind}: assign() gave the weight {name!r} shape "
                               f"{tuple(value.shape)}, not its own {tuple(variable.shape)}")
        variable.assign(tf.cast(value, variable.dtype))

    def _checked(self, y, training):
        """``y`` if its shape is the planned one (found by the numpy call of the plan); else an
        error naming the layer and the operation that gave ``y`` (while a step is traced)."""
        planned = (None, *self.plan.output_shape)
        if y.shape.is_compatible_with(planned):
            return y
        found = None if tf.executing_eagerly() else re.search(re.escape(SCOPE) + r"([a-z0-9_]+?)(?:_\d+)?/", y.name)
        giver = f"ops.{found.group(1)}" if found else "call()"
        raise ops.OpsError(f"layer {self.layer.kind}: {giver} gives the layer's output shape {tuple(y.shape)} on "
                           f"tensorflow (training={training}), not {planned} as call(training=False) on numpy did; "
                           "a layer's output shape may not depend on the backend or on training")

    def dlcore_entries(self) -> list:
        return [(name, variable, None) for name, variable in self.values.items()]


def _constant(value: np.ndarray):
    return lambda shape, dtype=None: tf.constant(value, dtype)


def _computing(variable, dtype) -> Any:
    """The variable's value, a float one in the compute dtype ``dtype``."""
    value = tf.convert_to_tensor(variable)
    if value.dtype.is_floating and tf.as_dtype(dtype).is_floating and value.dtype != dtype:
        value = tf.cast(value, dtype)
    return value


def build(layer: spec.Layer, input_shape) -> Written:
    return Written(layer, input_shape)


_KERAS_DECORATED = re.compile(r"Exception encountered when calling .*?\x1b\[1m(.*?)\x1b\[0m", re.S)


@contextlib.contextmanager
def named_errors() -> Iterator[None]:
    """Around a compiled step: TensorFlow's error from an operation of :mod:`dlcore.ops` (a shape
    known only when the step runs) raised as :class:`dlcore.ops.OpsError`, naming the operation
    and the layer written on ops that called it."""
    try:
        yield
    except ConfigError as err:  # dlcore's own error, which Keras decorates when it passes a layer's call
        found = _KERAS_DECORATED.search(str(err))
        if found is None:
            raise
        raise type(err)(found.group(1)) from err.__cause__
    except tf.errors.OpError as err:
        found = _NODE.search(err.message)
        if found is None:
            raise
        scope, op = found.groups()
        if scope is not None:  # a name scope used twice in a graph has _1, _2, ... added
            scope = _KINDS.get(scope) or _KINDS.get(re.sub(r"_\d+$", "", scope), scope)
        where = "" if scope is None else f"layer {scope}: "
        lines = err.message.splitlines()
        what = [line for line in lines if line.strip() and not line.startswith((" ", "\t"))][-1].split("}} ")[-1]
        frames = [line.strip() for line in lines if line.strip().startswith("File ")]
        called = next((frames[i - 1] for i, frame in enumerate(frames) if i and _OPS_FRAME.search(frame)), None)
        at = f" (called at {called})" if called else ""
        raise ops.OpsError(f"{where}ops.{op} on tensorflow, when the step ran{at}: {type(err).__name__}: {what}") from err
