"""dlcore's model specs built as torch modules (the torch backend's "model" kernels). Their
state_dict names are the specs' canonical names."""

from __future__ import annotations

import warnings

from dlcore import ConfigError
from dlcore.contract.logits import LOGIT_LOSSES, squashed_twice
from dlcore.models import MLP, TextClassifier
from dlcore.models.graph import execute

from .framework import import_torch
from .linear import linear
from .ops import TABLE

torch = import_torch()
nn = torch.nn


class MLPModule(nn.Module):
    """Flatten, then Linear layers with an activation between them; names ``layers.{i}.*``."""

    def __init__(self, spec: MLP) -> None:
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(spec.sizes, spec.sizes[1:]))
        # Plain lists (not registered as submodules): slicing a ModuleList builds a new module.
        self._hidden, self._output = list(self.layers)[:-1], [self.layers[-1]]
        self._activation = spec.activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.flatten(1)
        for layer in self._hidden:
            x = linear(x, layer, self._activation)
        return linear(x, self._output[0])


class TextClassifierModule(nn.Module):
    """nn.EmbeddingBag (sum of per-token weights) -> Linear + ReLU ... -> logits.

    Takes ``(ids, offsets, lengths)``: all texts' token ids flat, where each text starts, and
    how many tokens it has. The combiner becomes per-token weights (sqrtn: 1/sqrt(n)).
    """

    def __init__(self, spec: TextClassifier) -> None:
        super().__init__()
        emb = spec.embedding
        self.embedding = nn.EmbeddingBag(emb.rows, emb.dim, mode="sum")
        self.embedding.weight.requires_grad_(emb.trainable)
        self.combiner = emb.combiner
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(spec.sizes, spec.sizes[1:]))
        self._hidden, self._output = list(self.layers)[:-1], [self.layers[-1]]

    def forward(self, x) -> torch.Tensor:
        ids, offsets, lengths = x
        counts = lengths.clamp(min=1).to(self.embedding.weight.dtype)
        if self.combiner == "sqrtn":
            scale = counts.rsqrt()
        elif self.combiner == "mean":
            scale = counts.reciprocal()
        else:
            scale = torch.ones_like(counts)
        weights = torch.repeat_interleave(scale, lengths, output_size=len(ids))
        h = self.embedding(ids, offsets, per_sample_weights=weights)
        for layer in self._hidden:
            h = linear(h, layer, "relu")
        return linear(h, self._output[0])


class GraphModule(nn.Module):
    """dlcore's portable layers as a graph (a sequential spec's is its chain), each built by its
    layer kernel and held as the submodule of its name (``layers.0`` nests as ``layers`` ->
    ``0``), so the state_dict names are the canonical ``{layer}.{weight}``. Each input's
    features are reshaped to (N, *shape) (channels first, torch's own layout); several
    outputs are given side by side."""

    def __init__(self, spec, layer_kernels) -> None:
        super().__init__()
        self._graph = graph = spec.graph
        built = [build(layer, shape) for build, layer, shape in zip(layer_kernels, graph.layers, graph.layer_shapes)]
        for name, layer, module in zip(graph.layer_names, graph.layers, built):
            _hold(self, name, layer, module)
        self._built = built  # a plain list, in the order of graph.layers (registered above by name)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        graph = self._graph
        parts = [x] if graph.columns is None else [x[:, a:b] for a, b in graph.columns]
        inputs = []
        for part, each in zip(parts, graph.inputs):
            part = part.reshape(len(part), *each.shape)
            inputs.append(part.long() if each.dtype == "int64" and part.is_floating_point() else part)
        outputs = execute(graph, inputs, self._call, TABLE)
        return outputs[0] if len(outputs) == 1 else torch.cat(outputs, 1)

    def _call(self, index: int, x, **mask):
        return self._built[index](x, **mask)


def _hold(root: nn.Module, name: str, layer, module: nn.Module) -> None:
    """``module`` as the submodule ``name`` of ``root``, a dotted name nested."""
    *path, last = name.split(".")
    holder = root
    for part in path:
        if part not in holder._modules:
            holder.add_module(part, nn.Module())
        holder = holder._modules[part]
    try:
        holder.add_module(last, module)
    except KeyError:  # a name torch's nn.Module has as an attribute
        raise ConfigError(f"layer {name!r} ({layer.kind}): torch cannot hold a module named {last!r} (an attribute "
                          "of nn.Module); name the layer otherwise") from None


SequentialModule = GraphModule  # a sequential spec is run as its graph


def warn_final_activation(native: nn.Module, loss: str | None) -> None:
    """Warn (as Keras does) when the user's nn.Sequential ends in Softmax or Sigmoid and is
    trained with a cross-entropy, which takes logits: the probabilities would be squashed twice
    and training stalls. (LogSoftmax is harmless there: log-softmax of log-probabilities is the
    same.)"""
    last, path = native, []
    while isinstance(last, nn.Sequential) and len(last):
        path.append(list(last._modules)[-1])
        last = last[-1]
    if last is native or loss not in LOGIT_LOSSES or not isinstance(last, (nn.Softmax, nn.Sigmoid)):
        return
    name = type(last).__name__
    warnings.warn(squashed_twice(f"your {type(native).__name__} ends in nn.{name} (module {'.'.join(path)!r})",
                                 name.lower(), loss, f"remove the final nn.{name}"), UserWarning, stacklevel=5)
