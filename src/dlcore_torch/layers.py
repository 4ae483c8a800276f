"""The torch backend's kernels for dlcore's portable layers (:mod:`dlcore.models.layers`):
``build(layer, input_shape) -> nn.Module``, whose state_dict names are the layer's canonical
parameter names. torch's layout (channels first) is dlcore's canonical one."""

from __future__ import annotations

from dlcore.models import layers as spec

from .framework import import_torch
from .linear import linear

torch = import_torch()
nn, F = torch.nn, torch.nn.functional

FUNCTIONS = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid, "gelu": F.gelu, "silu": F.silu,
             "elu": F.elu, "leaky_relu": F.leaky_relu, "softmax": lambda x: torch.softmax(x, -1)}


def activate(x, name: str | None):
    return x if name is None else FUNCTIONS[name](x)


class Dense(nn.Linear):
    """nn.Linear with an activation, through dlcore's measured CPU product (``linear``)."""

    def __init__(self, layer: spec.Dense, shape) -> None:
        super().__init__(shape[0], layer.units, bias=layer.bias)
        self.activation = layer.activation

    def forward(self, x):
        if self.activation in (None, "relu", "tanh") and self.bias is not None:
            return linear(x, self, self.activation or "none")
        return activate(F.linear(x, self.weight, self.bias), self.activation)


class Conv2d(nn.Conv2d):
    """nn.Conv2d with an activation; asymmetric "same" padding (even kernels) padded first."""

    def __init__(self, layer: spec.Conv2d, shape) -> None:
        (top, bottom), (left, right) = layer.pads
        symmetric = top == bottom and left == right
        super().__init__(shape[0], layer.filters, layer.kernel_size, layer.stride,
                         padding=(top, left) if symmetric else 0, bias=layer.bias)
        self.pad = None if symmetric else (left, right, top, bottom)
        self.activation = layer.activation

    def forward(self, x):
        if self.pad is not None:
            x = F.pad(x, self.pad)
        return activate(super().forward(x), self.activation)


class BatchNorm(nn.modules.batchnorm._BatchNorm):
    """torch's batch norm over (N, C) or (N, C, H, W), without the ``num_batches_tracked``
    counter (a momentum is always given), so its state is the canonical four tensors."""

    def __init__(self, layer: spec.BatchNorm, shape) -> None:
        super().__init__(shape[0], eps=layer.eps, momentum=layer.momentum)
        self.num_batches_tracked = None

    def _check_input_dim(self, x) -> None:
        if x.dim() not in (2, 4):
            raise ValueError(f"batch_norm takes (N, C) or (N, C, H, W) inputs, got {tuple(x.shape)}")

    def forward(self, x):
        if not (self.training and x.shape[0] == 1 and x.dim() == 2):
            return super().forward(x)
        # one value per channel (an epoch's last batch of one sample): torch refuses it; as the other
        # backends, its variance is 0 (so the output is the bias) and the running statistics move to it
        with torch.no_grad():
            self.running_mean.lerp_(x[0], self.momentum)
            self.running_var.mul_(1 - self.momentum)
        return (x - x) * self.weight + self.bias  # normalized: 0, as is its gradient


class Dropout(nn.Module):
    """Dropout whose masks come from (seed, count) in its ``rng`` buffer, which stays on the
    CPU; each training call draws from a generator seeded by both, then counts."""

    def __init__(self, layer: spec.Dropout, shape) -> None:
        super().__init__()
        self.rate = layer.rate
        self.register_buffer("rng", torch.zeros(2, dtype=torch.int64))
        self._generators: dict = {}

    def _apply(self, fn, recurse=True):
        rng = self.rng
        super()._apply(fn, recurse)
        self.rng = rng
        return self

    def forward(self, x):
        if not self.training or self.rate == 0:
            return x
        seed, count = self.rng.tolist()
        self.rng[1] += 1
        generator = self._generators.get(x.device)
        if generator is None:
            generator = self._generators[x.device] = torch.Generator(x.device)
        generator.manual_seed((seed << 32) + count)
        keep = torch.rand(x.shape, generator=generator, device=x.device, dtype=x.dtype) >= self.rate
        return x * keep * (1.0 / (1.0 - self.rate))


class GlobalPool2d(nn.Module):
    def __init__(self, layer: spec.GlobalAvgPool2d, shape) -> None:
        super().__init__()
        self.maximum = isinstance(layer, spec.GlobalMaxPool2d)

    def forward(self, x):
        return x.amax((2, 3)) if self.maximum else x.mean((2, 3))


class Activation(nn.Module):
    def __init__(self, layer: spec.Activation, shape) -> None:
        super().__init__()
        self.name = layer.name

    def forward(self, x):
        return activate(x, self.name)


def max_pool2d(layer: spec.MaxPool2d, shape) -> nn.Module:
    return nn.MaxPool2d(layer.size, layer.stride)


def avg_pool2d(layer: spec.AvgPool2d, shape) -> nn.Module:
    return nn.AvgPool2d(layer.size, layer.stride)


def flatten(layer: spec.Flatten, shape) -> nn.Module:
    return nn.Flatten()


def embedding(layer: spec.Embedding, shape) -> nn.Module:
    return nn.Embedding(layer.rows, layer.dim)

