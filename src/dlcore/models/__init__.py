"""Models: dlcore's framework-neutral specs and the models its datasets train by default.

Owns: the MLP and the text classifier (``specs``), the portable layers, the merges of a
graph's inputs and the sequential spec and CNN built from them (``layers``; every backend
builds them all with the same parameter names and layouts), graphs of layers (Keras'
functional API, of which sequential is the chain: the spec and its executor loop in
``graph``, describing one with symbolic tensors in ``symbolic``) and a small ResNet built as
one (``resnet``), rebuilding a spec from a checkpoint by its registered kind, and the recipes'
models (``recipes``). The base :class:`ModelSpec`, the :class:`Model` a backend builds and
:func:`check_weights` are the contract's (:mod:`dlcore.contract`). Imports the contract, the
plugin layer, ``dlcore.ops`` (layers written on it) and ``dlcore.data`` (text embeddings).
"""

from typing import Any

from .. import deprecation
from .graph import Graph
from .layers import Layer, Sequential, cnn, sequential
from .recipes import default_model, mlp_for, model_for, text_classifier_for
from .resnet import resnet
from .specs import MLP, TextClassifier, mlp, spec_from_dict, text_classifier
from .symbolic import Input, graph


def __getattr__(name: str) -> Any:
    return deprecation.attribute(__name__, name)


__all__ = ["Graph", "Input", "MLP", "Layer", "Sequential", "TextClassifier", "cnn", "default_model", "graph", "mlp",
           "mlp_for", "model_for", "resnet", "sequential", "spec_from_dict", "text_classifier", "text_classifier_for"]
