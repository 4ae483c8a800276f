"""Tokenized texts, computed once per texts and tokenizer, and cached on disk.

Tokenizing IMDB's 25000 training reviews is a Python loop over six million words, and an
embedding needs the tokens twice (restricting the table to the words used, then encoding the
texts). :func:`tokenized` runs the tokenizer once and keeps the result in the process and in
``<cache dir>/tokens/`` under the SHA-256 of the texts and the tokenizer's name, so that the
next run over the same texts reads it back instead (at most ``KEEP`` files are kept; the
oldest go first). A damaged cache file is ignored and written again.
"""

from __future__ import annotations

import hashlib
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ..contract.errors import DataError
from ..io.files import atomic_path, cache_dir

__all__ = ["Tokenized", "tokenized"]

FORMAT = b"dlcore tokens 1"
KEEP = 8
_MEMO: dict[str, Tokenized] = {}


@dataclass(frozen=True)
class Tokenized:
    """Texts as tokens: ``vocab``, each distinct token in order of first use; ``codes``, the
    index into ``vocab`` of every token, text after text; text i is ``codes[splits[i]:splits[i+1]]``."""

    vocab: list[str]
    codes: np.ndarray
    splits: np.ndarray


def _digest(texts: Sequence[str], tokenizer: str) -> str:
    h = hashlib.sha256(FORMAT + b"\0" + tokenizer.encode() + b"\0")
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise DataError(f"text {i} is a {type(text).__name__}, not a str")
        h.update(text.encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    return h.hexdigest()


def _tokenize(texts: Sequence[str], tokenize: Callable[[str], list[str]]) -> Tokenized:
    index: dict[str, int] = {}
    codes: list[int] = []
    splits = [0]
    for text in texts:
        for token in tokenize(text):
            code = index.get(token)
            if code is None:
                code = index[token] = len(index)
            codes.append(code)
        splits.append(len(codes))
    return Tokenized(list(index), np.asarray(codes, np.int32), np.asarray(splits, np.int64))


def _read(path: Path, count: int) -> Tokenized | None:
    """The cached tokens of ``count`` texts, or None where the file is missing or damaged."""
    try:
        with np.load(path, allow_pickle=False) as f:
            raw, ends, codes, splits = f["vocab_utf8"].tobytes(), f["vocab_ends"], f["codes"], f["splits"]
        starts = [0, *ends[:-1].tolist()] if len(ends) else []
        vocab = [raw[a:b].decode("utf-8", "surrogatepass") for a, b in zip(starts, ends.tolist())]
    except (OSError, ValueError, TypeError, KeyError, EOFError, zipfile.BadZipFile):  # UnicodeDecodeError: a ValueError
        return None
    fits = (len(splits) == count + 1 and splits[0] == 0 and splits[-1] == len(codes)
            and bool(np.all(np.diff(splits) >= 0)) and (len(ends) == 0 or ends[-1] == len(raw))
            and (len(codes) == 0 or 0 <= codes.min() <= codes.max() < len(vocab)))
    return Tokenized(vocab, codes.astype(np.int32), splits.astype(np.int64)) if fits else None


def _write(path: Path, tokens: Tokenized) -> None:
    encoded = [t.encode("utf-8", "surrogatepass") for t in tokens.vocab]
    ends = np.cumsum([len(b) for b in encoded], dtype=np.int64)
    try:
        with atomic_path(path, suffix=".npz") as tmp:
            np.savez(tmp, vocab_utf8=np.frombuffer(b"".join(encoded), np.uint8), vocab_ends=ends,
                     codes=tokens.codes, splits=tokens.splits)
        files = sorted(path.parent.glob("*.npz"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in files[KEEP:]:
            old.unlink(missing_ok=True)
    except OSError:
        pass  # an unwritable cache costs the next run the tokenizing, nothing else


def tokenized(texts: Sequence[str], tokenizer: str, tokenize: Callable[[str], list[str]]) -> Tokenized:
    """``texts`` tokenized by ``tokenize`` (named ``tokenizer``): from this process's memory,
    else from the cache, else computed and cached."""
    digest = _digest(texts, tokenizer)
    found = _MEMO.get(digest)
    if found is None:
        path = cache_dir() / "tokens" / f"{digest}.npz"
        found = _read(path, len(texts))
        if found is None:
            found = _tokenize(texts, tokenize)
            _write(path, found)
        _MEMO.clear()  # one set of texts at a time: IMDB's training reviews are 24 MB of codes
        _MEMO[digest] = found
    return found


__all__ = ["Tokenized", "tokenized"]
