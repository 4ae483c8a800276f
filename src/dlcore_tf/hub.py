"""TF-Hub text embeddings (nnlm-en-dim50/2 and others) read into a framework-neutral TextEmbedding.

A TF-Hub text embedding SavedModel holds a vocabulary file (an asset, one token per line), an
embedding table whose rows after the vocabulary are out-of-vocabulary hash buckets, and a
function that strips punctuation, splits on spaces and combines rows with ``sqrtn``. dlcore
reads the vocabulary and the table, so the same handle trains natively on either backend.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dlcore.embeddings import TextEmbedding
from dlcore.contract import DataError

from .framework import import_tensorflow


def _resolve(handle: str) -> Path:
    path = Path(handle).expanduser()
    if path.is_dir():
        return path
    import tensorflow_hub as hub

    try:
        return Path(hub.resolve(handle))
    except Exception as err:  # network, cache and format errors all end here
        raise DataError(f"cannot fetch the TF-Hub model {handle!r} ({err}); download it and pass "
                        "its SavedModel folder instead") from None


def _vocabulary(path: Path) -> list[str]:
    assets = sorted((path / "assets").glob("*.txt")) if (path / "assets").is_dir() else []
    if not assets:
        raise DataError(f"{path}: no vocabulary file in assets/; not a TF-Hub text embedding")
    try:
        return assets[0].read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as err:
        raise DataError(f"{assets[0]}: not valid UTF-8 ({err})") from None


def read_text_embedding(handle: str, trainable: bool = True, vocabulary: list[str] | None = None) -> TextEmbedding:
    """Read a TF-Hub text embedding; ``vocabulary`` texts get the model's own OOV buckets."""
    tf = import_tensorflow()
    path = _resolve(handle)
    tokens = _vocabulary(path)
    try:  # the variables' checkpoint: tensors only, no graph is loaded or run
        reader = tf.train.load_checkpoint(str(path / "variables" / "variables"))
    except (OSError, ValueError, tf.errors.OpError) as err:
        raise DataError(f"{path}: not a readable SavedModel ({err})") from None
    dtypes = reader.get_variable_to_dtype_map()
    tables = [name for name, shape in reader.get_variable_to_shape_map().items()
              if len(shape) == 2 and dtypes[name].is_floating]
    if not tables:
        raise DataError(f"{path}: has no embedding table (a 2-D float variable)")
    table = max(tables, key=lambda name: reader.get_variable_to_shape_map()[name][0])
    vectors = reader.get_tensor(table).astype(np.float32)
    oov_buckets = len(vectors) - len(tokens)
    if oov_buckets < 1:
        raise DataError(f"{path}: table has {len(vectors)} rows for {len(tokens)} tokens; "
                        "dlcore needs at least one out-of-vocabulary bucket")
    emb = TextEmbedding(tokens, vectors, oov_buckets, "sqrtn", "nnlm", trainable, str(handle))
    if vocabulary:
        known = set(tokens)
        unknown = sorted({t for text in vocabulary for t in emb.tokenize(text)} - known)
        if unknown:
            buckets = tf.strings.to_hash_bucket_fast(unknown, oov_buckets).numpy()
            emb.oov_ids = {t: len(tokens) + int(b) for t, b in zip(unknown, buckets)}
    return emb


def load(name: str, *, trainable: bool = True, vocabulary: list[str] | None = None, combiner: str | None = None,
         oov_buckets: int = 1) -> TextEmbedding:
    """The ``tf-hub`` embedding source: a TF-Hub handle or SavedModel folder (its own OOV
    buckets; ``oov_buckets`` is the model's, not a choice)."""
    emb = read_text_embedding(name, trainable=trainable, vocabulary=vocabulary)
    if combiner:
        emb.combiner = combiner
    return emb
