"""Datasets by name, the built-in ones, and the sources read from files (the code lives in
:mod:`dlcore.data`; a plugin's datasets are :class:`dlcore.contract.DatasetInfo` and
:class:`dlcore.contract.DatasetSource`).

``load(name)`` loads any dataset a plugin registers through the ``dlcore_datasets`` hook
(dlcore's own: ``fashion-mnist`` and ``imdb``); ``dlcore train NAME`` trains its recipe
(:func:`dlcore.models.model_for`). ``image_csv``, ``image_folder``, ``npy``, ``parquet`` and
``from_huggingface`` read their files by index, so a dataset larger than the trainer's memory
budget is read while training.
"""

from typing import Any

from . import deprecation
from .data.datasets import info, load, registered, sources
from .data.fashion_mnist import FASHION_MNIST_CLASSES, fashion_mnist
from .data.frames import FrameDataset, from_dataframe
from .data.huggingface import HuggingFaceDataset, from_huggingface
from .data.images import ImageCSVDataset, ImageFolderDataset, image_csv, image_folder
from .data.imdb import IMDB_CLASSES, imdb
from .data.npy import NpyDataset, npy
from .data.parquet import ParquetDataset, parquet
from .data.streaming import StreamingDataset, Subset


def __getattr__(name: str) -> Any:
    return deprecation.attribute(__name__, name)


__all__ = ["FASHION_MNIST_CLASSES", "FrameDataset", "HuggingFaceDataset", "IMDB_CLASSES", "ImageCSVDataset",
           "ImageFolderDataset", "NpyDataset", "ParquetDataset", "StreamingDataset", "Subset", "fashion_mnist",
           "from_dataframe", "from_huggingface", "image_csv", "image_folder", "imdb", "info", "load", "npy", "parquet",
           "registered", "sources"]
