"""Pretrained text embeddings (the code lives in :mod:`dlcore.data.text` and
:mod:`dlcore.data.embeddings`; a plugin's sources are :class:`dlcore.contract.EmbeddingSource`).

    emb = embeddings.load("glove-6b-50d", vocabulary=train)       # GloVe 6B, 50 dimensions
    emb = embeddings.load("path/to/glove.6B.50d.txt")             # a GloVe text file
    emb = embeddings.load("google/nnlm-en-dim50/2")               # a TF-Hub handle (TensorFlow backend)
"""

from typing import Any

from . import deprecation
from .data.embeddings import load
from .data.text import TextEmbedding


def __getattr__(name: str) -> Any:
    return deprecation.attribute(__name__, name)


__all__ = ["TextEmbedding", "load"]
