"""A small residual network for images (He et al., 2015), built with the graph API: what
``models.resnet(...)`` and ``dlcore train ... --model resnet`` train."""

from __future__ import annotations

from typing import Sequence

from ..contract.errors import ConfigError
from .graph import Graph
from .symbolic import Input, SymbolicTensor, graph
from .layers import Activation, Add, BatchNorm, Conv2d, Dense, GlobalAvgPool2d


def _conv_bn(x: SymbolicTensor, filters: int, kernel: int, stride: int, names: tuple[str, str]) -> SymbolicTensor:
    """A convolution without bias (batch norm follows, which would cancel it), then batch norm;
    3x3 keeps the size at stride 1 and halves it (rounding up) at stride 2, as 1x1 does."""
    padding = kernel // 2 if stride > 1 else "same"
    x = Conv2d(filters, kernel, stride=stride, padding=padding, bias=False)(x, name=names[0])
    return BatchNorm()(x, name=names[1])


def _block(x: SymbolicTensor, filters: int, stride: int, name: str) -> SymbolicTensor:
    """relu(conv-bn-relu-conv-bn of x + x), x through a 1x1 convolution and batch norm (the
    projection shortcut) where the shape changes."""
    y = _conv_bn(x, filters, 3, stride, (f"{name}.conv1", f"{name}.bn1"))
    y = _conv_bn(Activation("relu")(y, name=f"{name}.relu1"), filters, 3, 1, (f"{name}.conv2", f"{name}.bn2"))
    shortcut = x if stride == 1 and x.shape[0] == filters else \
        _conv_bn(x, filters, 1, stride, (f"{name}.shortcut.conv", f"{name}.shortcut.bn"))
    return Activation("relu")(Add()([y, shortcut], name=f"{name}.add"), name=f"{name}.relu2")


def resnet(input_shape: Sequence[int] = (1, 28, 28), classes: int = 10, stages: Sequence[int] = (16, 32, 64),
           blocks: int = 1) -> Graph:
    """A small ResNet for images of ``input_shape`` (channels, height, width): a stem (3x3
    convolution, batch norm, ReLU), then per entry of ``stages`` ``blocks`` residual blocks of
    that many filters (each stage after the first halves the height and width in its first
    block), global average pooling and a dense layer of ``classes`` logits. A block adds its
    input to two 3x3 convolutions with batch norm; where the shape changes the input goes
    through a 1x1 convolution and batch norm first (the projection shortcut). Layers are named
    by place (``stem.conv``, ``stage2.block1.conv1``, ``stage2.block1.shortcut.bn``, ``logits``),
    and so are the weights (``stage2.block1.bn1.running_mean``).

    >>> from dlcore import models
    >>> spec = models.resnet((1, 28, 28), classes=10, stages=(16, 32))
    >>> spec.shapes["stage2.block1.relu2"], spec.parameter_shapes()["stage2.block1.shortcut.conv.weight"]
    ((32, 14, 14), (32, 16, 1, 1))
    >>> spec.out_features
    10
    """
    shape = tuple(int(n) for n in input_shape)
    if len(shape) != 3:
        raise ConfigError(f"resnet takes images (channels, height, width), got input_shape {shape}")
    widths = [int(n) for n in stages]
    if not widths or min(widths) < 1 or int(blocks) < 1 or int(classes) < 1:
        raise ConfigError(f"resnet needs one stage or more of filters >= 1, blocks >= 1 and classes >= 1; got "
                          f"stages={tuple(stages)}, blocks={blocks}, classes={classes}")
    image = Input(shape, name="image")
    x = Activation("relu")(_conv_bn(image, widths[0], 3, 1, ("stem.conv", "stem.bn")), name="stem.relu")
    for s, filters in enumerate(widths, start=1):
        for b in range(1, int(blocks) + 1):
            x = _block(x, filters, 2 if s > 1 and b == 1 else 1, f"stage{s}.block{b}")
    logits = Dense(int(classes))(GlobalAvgPool2d()(x, name="pool"), name="logits")
    return graph(image, logits)


__all__ = ["resnet"]
