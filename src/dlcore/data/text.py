"""A text embedding as framework-neutral data: vocabulary, table, tokenizer, combiner.

A text becomes tokens, tokens become table rows (unknown tokens hash into ``oov_buckets``
extra rows), and the rows' vectors are combined into one vector per text: ``sqrtn`` (the sum
divided by sqrt(number of tokens), as TF-Hub's nnlm embeddings), ``mean`` or ``sum``. Each
backend builds the table natively (torch: nn.EmbeddingBag), trainable or frozen.
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np

from ..contract.errors import ConfigError, DataError
from .tokens import Tokenized, tokenized

COMBINERS = ("sqrtn", "mean", "sum")
"""How a text's token vectors become one: ``sqrtn`` (their sum over the square root of their
count), ``mean`` or ``sum``."""
TOKENIZERS = ("words", "nnlm")
"""How a text becomes tokens: ``words`` (lowercase words and punctuation marks) or ``nnlm``
(split on spaces, punctuation removed)."""
_WORDS = re.compile(r"[^\W_]+(?:'[^\W_]+)?|[^\w\s]")


def _strip_punctuation(text: str) -> str:
    return "".join(c for c in text if not unicodedata.category(c).startswith("P"))


@dataclass(eq=False)
class TextEmbedding:
    """A token table: row i is ``tokens[i]``; the last ``oov_buckets`` rows hold unknown tokens.

    ``tokenizer`` is "words" (lowercase words and punctuation marks, as GloVe was trained) or
    "nnlm" (punctuation removed, split on spaces, as TF-Hub's text embeddings do).

    >>> import numpy as np
    >>> from dlcore.embeddings import TextEmbedding
    >>> emb = TextEmbedding(("good", "bad"), np.eye(3, 2, dtype=np.float32))  # 2 tokens + 1 OOV row
    >>> ids, splits = emb.encode(["Good, good!", "bad"])  # "," and "!" are unknown: row 2
    >>> ids.tolist(), splits.tolist()
    ([0, 2, 0, 2, 1], [0, 4, 5])
    """

    tokens: tuple[str, ...]
    vectors: np.ndarray
    oov_buckets: int = 1
    combiner: str = "sqrtn"
    tokenizer: str = "words"
    trainable: bool = True
    source: str = ""
    oov_ids: dict[str, int] = field(default_factory=dict)  # known unknowns (from a SavedModel's hash)

    def __post_init__(self) -> None:
        self.tokens = tuple(self.tokens)
        self.vectors = np.asarray(self.vectors, np.float32)
        if self.combiner not in COMBINERS:
            raise ConfigError(f"unknown combiner {self.combiner!r}; choose one of {', '.join(COMBINERS)}")
        if self.tokenizer not in TOKENIZERS:
            raise ConfigError(f"unknown tokenizer {self.tokenizer!r}; choose one of {', '.join(TOKENIZERS)}")
        if self.oov_buckets < 1:
            raise ConfigError("an embedding needs at least one out-of-vocabulary bucket")
        if self.vectors.ndim != 2 or len(self.vectors) != len(self.tokens) + self.oov_buckets:
            raise DataError(f"embedding table of shape {self.vectors.shape} does not fit "
                            f"{len(self.tokens)} tokens + {self.oov_buckets} OOV buckets")
        self._index = {t: i for i, t in enumerate(self.tokens)}

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    @property
    def rows(self) -> int:
        return int(self.vectors.shape[0])

    def tokenize(self, text: str) -> list[str]:
        if self.tokenizer == "nnlm":
            return _strip_punctuation(text).split(" ")
        return _WORDS.findall(text.lower())

    def token_id(self, token: str) -> int:
        found = self._index.get(token)
        if found is not None:
            return found
        found = self.oov_ids.get(token)
        if found is not None:
            return found
        return len(self.tokens) + zlib.crc32(token.encode()) % self.oov_buckets

    def _tokenized(self, texts: Iterable[str]) -> Tokenized:
        texts = texts if isinstance(texts, (list, tuple)) else list(texts)
        return tokenized(texts, self.tokenizer, self.tokenize)

    def encode(self, texts: Iterable[str]) -> tuple[np.ndarray, np.ndarray]:
        """Token ids of all texts, flat, and row splits: text i is ids[splits[i]:splits[i+1]].
        The tokenizing is cached (:mod:`dlcore.tokens`): the same texts encode fast again."""
        tokens = self._tokenized(texts)
        ids = np.fromiter((self.token_id(t) for t in tokens.vocab), np.int64, len(tokens.vocab))
        return ids[tokens.codes], tokens.splits.copy()

    def restrict(self, texts: Iterable[str]) -> TextEmbedding:
        """A copy keeping only the tokens that occur in ``texts`` (and the OOV rows)."""
        seen = set(self._tokenized(texts).vocab)
        keep = [i for i, t in enumerate(self.tokens) if t in seen]
        rows = keep + list(range(len(self.tokens), self.rows))
        oov = {t: len(keep) + (i - len(self.tokens)) for t, i in self.oov_ids.items() if t in seen}
        return TextEmbedding(tuple(self.tokens[i] for i in keep), self.vectors[rows], self.oov_buckets,
                             self.combiner, self.tokenizer, self.trainable, self.source, oov)

    def config(self) -> dict[str, Any]:
        """Everything but the vectors, JSON-ready (the vectors are model weights)."""
        return {"tokens": list(self.tokens), "oov_buckets": self.oov_buckets, "combiner": self.combiner,
                "tokenizer": self.tokenizer, "trainable": self.trainable, "source": self.source,
                "oov_ids": self.oov_ids, "dim": self.dim}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> TextEmbedding:
        """Rebuild from :meth:`config` with zero vectors (a checkpoint supplies the weights)."""
        config = dict(config)
        dim = config.pop("dim")
        rows = len(config["tokens"]) + config["oov_buckets"]
        return cls(vectors=np.zeros((rows, dim), np.float32), **config)

    def __repr__(self) -> str:
        return (f"TextEmbedding({self.source or 'custom'}, {len(self.tokens)} tokens + {self.oov_buckets} OOV, "
                f"dim {self.dim}, {self.combiner}, {'trainable' if self.trainable else 'frozen'}, "
                f"{self.vectors.nbytes / 2**20:.1f} MiB)")


def is_text(features: np.ndarray) -> bool:
    """Whether ``features`` are texts (strings, or Python objects holding them), not numbers.

    >>> is_text(np.array(["a film"])), is_text(np.zeros(2))
    (True, False)
    """
    return bool(features.dtype == object or features.dtype.kind in "US")


__all__ = ["COMBINERS", "TOKENIZERS", "TextEmbedding", "is_text"]
