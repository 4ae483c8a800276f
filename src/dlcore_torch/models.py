"""dlcore's model specs built as torch modules (the torch backend's "model" kernels). Their
state_dict names are the specs' canonical names."""

from __future__ import annotations

import warnings

from dlcore.contract.logits import LOGIT_LOSSES, squashed_twice
from dlcore.models import MLP, Sequential, TextClassifier

from .framework import import_torch
from .linear import linear

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


class SequentialModule(nn.Module):
    """dlcore's portable layers in order (``layers.{i}``), each built by its layer kernel; the
    input is reshaped to (N, *input_shape) first (channels first, torch's own layout)."""

    def __init__(self, spec: Sequential, layer_kernels) -> None:
        super().__init__()
        self.input_shape = spec.input_shape
        self.layers = nn.Sequential(*(build(layer, shape) for build, layer, shape
                                      in zip(layer_kernels, spec.layers, spec.shapes)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x.reshape(len(x), *self.input_shape))


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
