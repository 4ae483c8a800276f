"""Datasets by name, the built-in ones, and the sources read from files (the code lives in
:mod:`dlcore.data`).

``load(name)`` loads any dataset a plugin registers through the ``dlcore_datasets`` hook
(dlcore's own: ``fashion-mnist`` and ``imdb``); ``dlcore train NAME`` trains its recipe.
``image_csv``, ``image_folder``, ``npy``, ``parquet`` and ``from_huggingface`` read their
files by index, so a dataset larger than the trainer's memory budget is read while training.
"""

from .contract.records import DatasetInfo, DatasetSource
from .data.datasets import info, load, registered, sources
from .data.frames import FrameDataset, from_dataframe
from .data.fashion_mnist import FASHION_MNIST_CLASSES, fashion_mnist, fashion_mnist_search_path, locate_fashion_mnist
from .data.huggingface import HuggingFaceDataset, from_huggingface
from .data.images import ImageCSVDataset, ImageFolderDataset, image_csv, image_folder
from .data.npy import NpyDataset, npy
from .data.parquet import ParquetDataset, parquet
from .data.streaming import StreamingDataset, Subset
from .data.imdb import IMDB_CLASSES, imdb, imdb_search_path
from .models.recipes import default_model, model_for
from .plugins.builtin import RECIPE

__all__ = ["DatasetInfo", "DatasetSource", "FASHION_MNIST_CLASSES", "FrameDataset", "HuggingFaceDataset", "IMDB_CLASSES",
           "ImageCSVDataset", "ImageFolderDataset", "NpyDataset", "ParquetDataset", "RECIPE", "StreamingDataset", "Subset",
           "default_model", "fashion_mnist", "fashion_mnist_search_path", "from_dataframe", "from_huggingface", "image_csv",
           "image_folder", "imdb", "imdb_search_path", "info", "load", "locate_fashion_mnist", "model_for", "npy", "parquet",
           "registered", "sources"]
