"""Datasets by name and the built-in ones (the code lives in :mod:`dlcore.data`).

``load(name)`` loads any dataset a plugin registers through the ``dlcore_datasets`` hook
(dlcore's own: ``fashion-mnist`` and ``imdb``); ``dlcore train NAME`` trains its recipe.
"""

from .contract.records import DatasetInfo, DatasetSource
from .data.datasets import info, load, registered, sources
from .data.frames import FrameDataset, from_dataframe
from .data.fashion_mnist import FASHION_MNIST_CLASSES, fashion_mnist, fashion_mnist_search_path, locate_fashion_mnist
from .data.images import ImageCSVDataset, image_csv
from .data.imdb import IMDB_CLASSES, imdb, imdb_search_path
from .models.recipes import default_model, model_for
from .plugins.builtin import RECIPE

__all__ = ["DatasetInfo", "DatasetSource", "FASHION_MNIST_CLASSES", "FrameDataset", "IMDB_CLASSES", "ImageCSVDataset", "RECIPE",
           "default_model", "fashion_mnist", "fashion_mnist_search_path", "from_dataframe", "image_csv", "imdb", "imdb_search_path",
           "info", "load", "locate_fashion_mnist", "model_for", "registered", "sources"]
