"""Tokenizing is done once per texts: the codes equal a plain per-token encoding, the next
process reads them from the cache, and a damaged cache is rebuilt."""

from __future__ import annotations

import numpy as np
import pytest

from dlcore import DataError, embeddings
from dlcore.data import tokens

TEXTS = ["A good film, good!", "", "Ünïcödé naïve café — l'été", "zzz qqq good", "tab\there  two  spaces"]


def table(tokenizer="words"):
    return embeddings.TextEmbedding(("good", "film", "café", "here"), np.zeros((6, 3), np.float32), oov_buckets=2,
                                    tokenizer=tokenizer)


def plain_encoding(emb, texts):
    ids = [[emb.token_id(t) for t in emb.tokenize(text)] for text in texts]
    return np.asarray([i for row in ids for i in row], np.int64), np.cumsum([0] + [len(r) for r in ids])


@pytest.fixture(autouse=True)
def fresh_memory(monkeypatch):
    monkeypatch.setattr(tokens, "_MEMO", {})


@pytest.mark.parametrize("tokenizer", ["words", "nnlm"])
def test_encoding_equals_the_plain_per_token_encoding(tokenizer):
    emb = table(tokenizer)
    ids, splits = emb.encode(TEXTS)
    want_ids, want_splits = plain_encoding(emb, TEXTS)
    np.testing.assert_array_equal(ids, want_ids)
    np.testing.assert_array_equal(splits, want_splits)
    assert emb.restrict(TEXTS).tokens == tuple(t for t in emb.tokens if t in
                                               {tok for text in TEXTS for tok in emb.tokenize(text)})


def test_the_next_process_reads_the_tokens_from_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DLCORE_CACHE_DIR", str(tmp_path))
    emb = table()
    first = emb.encode(TEXTS)
    assert len(list((tmp_path / "tokens").glob("*.npz"))) == 1
    tokens._MEMO.clear()  # as in a new process

    def refuse(text):
        raise AssertionError("the texts were tokenized again although the cache holds them")

    monkeypatch.setattr(emb, "tokenize", refuse)
    again = emb.encode(np.array(TEXTS, dtype=object))
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)


def test_other_texts_or_another_tokenizer_are_tokenized_anew(tmp_path, monkeypatch):
    monkeypatch.setenv("DLCORE_CACHE_DIR", str(tmp_path))
    table("words").encode(TEXTS)
    table("nnlm").encode(TEXTS)
    table("words").encode(TEXTS[:-1])
    assert len(list((tmp_path / "tokens").glob("*.npz"))) == 3


@pytest.mark.parametrize("damage", ["garbage", "truncated", "codes out of range"])
def test_a_damaged_cache_file_is_ignored_and_written_again(tmp_path, monkeypatch, damage):
    monkeypatch.setenv("DLCORE_CACHE_DIR", str(tmp_path))
    emb = table()
    want = emb.encode(TEXTS)
    (path,) = (tmp_path / "tokens").glob("*.npz")
    if damage == "garbage":
        path.write_bytes(b"not an archive")
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:100])
    else:
        with np.load(path) as f:
            arrays = dict(f)
        arrays["codes"] = arrays["codes"] + 1000
        np.savez(path, **arrays)
    tokens._MEMO.clear()
    got = emb.encode(TEXTS)
    for a, b in zip(want, got):
        np.testing.assert_array_equal(a, b)
    tokens._MEMO.clear()
    assert tokens._read(path, len(TEXTS)) is not None, "the damaged file was not written again"


def test_the_cache_keeps_the_newest_files_only(tmp_path, monkeypatch):
    monkeypatch.setenv("DLCORE_CACHE_DIR", str(tmp_path))
    for i in range(tokens.KEEP + 3):
        table().encode([f"text number {i}"])
    assert len(list((tmp_path / "tokens").glob("*.npz"))) == tokens.KEEP


def test_a_text_that_is_not_a_string_is_named():
    with pytest.raises(DataError, match="text 1 is a int, not a str"):
        table().encode(["fine", 3])


def test_an_unwritable_cache_still_encodes(tmp_path, monkeypatch):
    blocked = tmp_path / "a file"
    blocked.write_text("")
    monkeypatch.setenv("DLCORE_CACHE_DIR", str(blocked))
    want = plain_encoding(table(), TEXTS)
    np.testing.assert_array_equal(table().encode(TEXTS)[0], want[0])
