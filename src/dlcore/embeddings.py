"""Pretrained text embeddings (the code lives in :mod:`dlcore.data.text` and
:mod:`dlcore.data.embeddings`).

    emb = embeddings.load("glove-6b-50d", vocabulary=train)       # GloVe 6B, 50 dimensions
    emb = embeddings.load("path/to/glove.6B.50d.txt")             # a GloVe text file
    emb = embeddings.load("google/nnlm-en-dim50/2")               # a TF-Hub handle (TensorFlow backend)
"""

from .contract.records import EmbeddingSource
from .data.embeddings import load, read_glove_text
from .data.text import COMBINERS, TOKENIZERS, TextEmbedding

__all__ = ["COMBINERS", "EmbeddingSource", "TOKENIZERS", "TextEmbedding", "load", "read_glove_text"]
