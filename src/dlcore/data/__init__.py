"""Data: the Dataset interface, the datasets by name and their readers, and text embeddings.

Owns: :class:`Dataset` and :class:`ArrayDataset` (``arrays``), the registered datasets
(``datasets``), Fashion-MNIST (``fashion_mnist``, ``idx``), IMDB (``imdb``), images from a CSV
file (``images``), downloads (``download``), text embeddings and their tokens (``text``,
``embeddings``, ``tokens``). Imports the contract, the plugin layer and ``dlcore.io`` (files,
progress bars); nothing of models or training.
"""

from .arrays import ArrayDataset, Dataset, as_dataset, standard_dtypes, standard_labels
from .datasets import info, load, registered, sources
from .embeddings import load as load_embedding
from .fashion_mnist import FASHION_MNIST_CLASSES, fashion_mnist
from .images import ImageCSVDataset, image_csv
from .imdb import IMDB_CLASSES, imdb
from .text import TextEmbedding

__all__ = ["ArrayDataset", "Dataset", "FASHION_MNIST_CLASSES", "IMDB_CLASSES", "ImageCSVDataset", "TextEmbedding",
           "as_dataset", "fashion_mnist", "image_csv", "imdb", "info", "load", "load_embedding", "registered",
           "sources", "standard_dtypes", "standard_labels"]
