"""IMDB from a prepared tensorflow-datasets ``imdb_reviews`` (a source of dlcore's ``imdb``)."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from dlcore.data.imdb import clean_text, reviews_dataset
from dlcore.contract import DataError

from .framework import import_tensorflow

ENV_TFDS_DIR = "TFDS_DATA_DIR"


def find_prepared_imdb() -> Path | None:
    """$TFDS_DATA_DIR or ~/tensorflow_datasets when it holds imdb_reviews and tfds is installed."""
    directory = Path(os.environ.get(ENV_TFDS_DIR) or Path.home() / "tensorflow_datasets").expanduser()
    if not (directory / "imdb_reviews").is_dir():
        return None
    return directory if importlib.util.find_spec("tensorflow_datasets") else None


def read_prepared_imdb(data_dir: Path):
    """Read a prepared tensorflow-datasets imdb_reviews (never downloads)."""
    import_tensorflow()  # safely beside torch
    import tensorflow_datasets as tfds

    splits = []
    for split in ("train", "test"):
        try:
            texts, labels = [], []
            data = tfds.load("imdb_reviews", split=split, data_dir=str(data_dir), download=False, batch_size=4096)
            for batch in tfds.as_numpy(data):
                texts += [clean_text(t.decode("utf-8")) for t in batch["text"]]
                labels += batch["label"].tolist()
        except Exception as err:  # tfds raises many types for an unprepared or damaged dataset
            raise DataError(f"{data_dir}: tensorflow-datasets imdb_reviews is unreadable ({err})") from None
        splits.append(reviews_dataset(texts, labels, f"imdb/{split}"))
    return splits[0], splits[1]
