"""The TensorFlow backend's kernels for dlcore's portable layers (:mod:`dlcore.models.layers`):
``build(layer, input_shape) -> keras layer``, computing in TensorFlow's native layout
(images channels last, NHWC). Each layer names its variables canonically through
``dlcore_entries()``: (name, variable, layout), where layout gives the axes that turn the
variable into the canonical array (True: reversed, as a dense kernel (in, out) -> (out, in))."""

from __future__ import annotations

from dlcore.models import layers as spec

from .framework import import_tensorflow

tf = import_tensorflow()
import keras  # noqa: E402

FUNCTIONS = {"relu": tf.nn.relu, "tanh": tf.tanh, "sigmoid": tf.sigmoid,
             "gelu": lambda x: tf.nn.gelu(x, approximate=False), "silu": tf.nn.silu, "elu": tf.nn.elu,
             "leaky_relu": lambda x: tf.nn.leaky_relu(x, 0.01), "softmax": tf.nn.softmax}
CONV_LAYOUT = (3, 2, 0, 1)  # (kh, kw, in, out) -> (out, in, kh, kw)


def activate(x, name: str | None):
    return x if name is None else FUNCTIONS[name](x)


class _Layer(keras.layers.Layer):
    """A layer of a dlcore spec; ``entries`` is (canonical name, variable, layout)."""

    def __init__(self, layer: spec.Layer, shape, **kwargs) -> None:
        super().__init__(**kwargs)
        self.layer, self.shape_in = layer, tuple(shape)

    def dlcore_entries(self) -> list:
        return []

    def weight(self, name: str, shape, initializer="zeros", trainable=True, dtype="float32"):
        return self.add_weight(shape=shape, initializer=initializer, name=name, trainable=trainable, dtype=dtype)


class Dense(_Layer):
    def build(self, input_shape) -> None:
        self.kernel = self.weight("kernel", (self.shape_in[0], self.layer.units))
        self.bias = self.weight("bias", (self.layer.units,)) if self.layer.bias else None

    def call(self, x, training=False):
        y = tf.matmul(x, self.kernel)
        return activate(y if self.bias is None else tf.nn.bias_add(y, self.bias), self.layer.activation)

    def dlcore_entries(self) -> list:
        return [("weight", self.kernel, True)] + ([("bias", self.bias, None)] if self.bias is not None else [])


class Conv2d(_Layer):
    def build(self, input_shape) -> None:
        kh, kw = self.layer.kernel_size
        self.kernel = self.weight("kernel", (kh, kw, self.shape_in[0], self.layer.filters))
        self.bias = self.weight("bias", (self.layer.filters,)) if self.layer.bias else None
        (top, bottom), (left, right) = self.layer.pads
        self.padding = [[0, 0], [top, bottom], [left, right], [0, 0]] if top + bottom + left + right else "VALID"

    def call(self, x, training=False):
        y = tf.nn.conv2d(x, self.kernel, (1, *self.layer.stride, 1), self.padding)
        return activate(y if self.bias is None else tf.nn.bias_add(y, self.bias), self.layer.activation)

    def dlcore_entries(self) -> list:
        return [("weight", self.kernel, CONV_LAYOUT)] + ([("bias", self.bias, None)] if self.bias is not None else [])


class Pool2d(_Layer):
    def call(self, x, training=False):
        pool = tf.nn.max_pool2d if isinstance(self.layer, spec.MaxPool2d) else tf.nn.avg_pool2d
        return pool(x, self.layer.size, self.layer.stride, "VALID")


class GlobalPool2d(_Layer):
    def call(self, x, training=False):
        reduce = tf.reduce_max if isinstance(self.layer, spec.GlobalMaxPool2d) else tf.reduce_mean
        return reduce(x, (1, 2))


class BatchNorm(_Layer):
    """torch's batch norm on the last axis (channels last): the batch's biased variance
    normalizes, its unbiased variance goes into the running one."""

    def build(self, input_shape) -> None:
        c = (self.shape_in[0],)
        self.scale, self.offset = self.weight("weight", c, "ones"), self.weight("bias", c)
        self.mean = self.weight("running_mean", c, trainable=False)
        self.variance = self.weight("running_var", c, "ones", trainable=False)

    def call(self, x, training=False):
        if not training:
            return tf.nn.batch_normalization(x, self.mean, self.variance, self.offset, self.scale, self.layer.eps)
        axes = list(range(len(x.shape) - 1))
        mean, variance = tf.nn.moments(x, axes)
        n = tf.cast(tf.size(x) // tf.shape(x)[-1], x.dtype)
        m = self.layer.momentum
        self.mean.assign(self.mean * (1 - m) + tf.stop_gradient(mean) * m)
        self.variance.assign(self.variance * (1 - m) + tf.stop_gradient(variance) * (n / tf.maximum(n - 1, 1)) * m)
        return tf.nn.batch_normalization(x, mean, variance, self.offset, self.scale, self.layer.eps)

    def dlcore_entries(self) -> list:
        return [("weight", self.scale, None), ("bias", self.offset, None), ("running_mean", self.mean, None),
                ("running_var", self.variance, None)]


class Dropout(_Layer):
    """Masks from a stateless generator seeded by (seed, count) of its ``rng`` variable."""

    def build(self, input_shape) -> None:
        self.rng = self.weight("rng", (2,), trainable=False, dtype="int64")

    def call(self, x, training=False):
        if not training or self.layer.rate == 0:
            return x
        keep = tf.random.stateless_uniform(tf.shape(x), self.rng, dtype=x.dtype) >= self.layer.rate
        self.rng.assign_add(tf.constant([0, 1], tf.int64))
        return x * tf.cast(keep, x.dtype) / (1.0 - self.layer.rate)

    def dlcore_entries(self) -> list:
        return [("rng", self.rng, None)]


class Flatten(_Layer):
    def call(self, x, training=False):
        if len(x.shape) == 4:  # NHWC -> the canonical (channels first) order
            x = tf.transpose(x, (0, 3, 1, 2))
        return tf.reshape(x, (tf.shape(x)[0], -1))


class Embedding(_Layer):
    def build(self, input_shape) -> None:
        self.table = self.weight("weight", (self.layer.rows, self.layer.dim), "random_normal")

    def call(self, x, training=False):
        return tf.gather(self.table, x)

    def dlcore_entries(self) -> list:
        return [("weight", self.table, None)]


class Activation(_Layer):
    def call(self, x, training=False):
        return activate(x, self.layer.name)
