"""The model ``dlcore train NAME`` trains for each of dlcore's datasets, sized for its data
(the ``model`` of their :class:`dlcore.contract.DatasetInfo`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..contract.specs import ModelSpec
from ..data.datasets import info
from ..data.embeddings import load as load_embedding
from ..plugins.manager import registry
from .specs import mlp, text_classifier


def model_for(dataset: str, train: Any, options: dict[str, Any] | None = None) -> ModelSpec:
    """The spec ``dlcore train DATASET`` trains on ``train``: the registered dataset's ``model``
    (``options``: ``embedding`` and ``trainable``), else an MLP sized for the data.

    >>> import numpy as np
    >>> from dlcore import ArrayDataset, models
    >>> train = ArrayDataset(np.zeros((6, 28, 28), np.float32), np.array([0, 1, 2, 0, 1, 2]))
    >>> models.model_for("fashion-mnist", train)
    MLP(in_features=784, hidden=(512, 512), out_features=3, activation='relu')
    """
    make = registry().datasets.load(info(dataset), "model") or mlp_for
    spec: ModelSpec = make(train, options or {})
    return spec


def mlp_for(train: Any, options: dict[str, Any] | None = None) -> ModelSpec:
    """The PyTorch tutorial's MLP sized for ``train``: 512-512 hidden units, one output per
    class (one logit for two classes).

    >>> import numpy as np
    >>> from dlcore import ArrayDataset, models
    >>> models.mlp_for(ArrayDataset(np.zeros((4, 20), np.float32), np.array([0, 1, 0, 1])))
    MLP(in_features=20, hidden=(512, 512), out_features=1, activation='relu')
    """
    features, labels = train.arrays()
    classes = train.num_classes or (int(labels.max()) + 1 if len(labels) else 2)
    return mlp(int(np.prod(features.shape[1:])), [512, 512], 1 if classes == 2 else classes)


def text_classifier_for(train: Any, options: dict[str, Any] | None = None) -> ModelSpec:
    """The TF-Hub tutorial's classifier over the embedding ``options["embedding"]`` (default
    GloVe 6B 50d), restricted to ``train``'s words.

    Example::

        train, test = datasets.imdb()
        spec = models.text_classifier_for(train, {"embedding": "glove-6b-50d", "trainable": False})
    """
    options = options or {}
    emb = load_embedding(options.get("embedding") or "glove-6b-50d", trainable=options.get("trainable", True),
                         vocabulary=train)
    print(f"embedding: {emb}", flush=True)
    return text_classifier(emb, hidden=[16])


default_model = mlp_for  # its name before 0.2

__all__ = ["default_model", "mlp_for", "model_for", "text_classifier_for"]
