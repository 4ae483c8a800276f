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
from .images import ImageCSVDataset, image_csv
from .text import TextEmbedding

# The readers of Fashion-MNIST and IMDB are the modules ``fashion_mnist`` and ``imdb`` here; their
# functions of the same names are in the public face, ``dlcore.datasets``.
__all__ = ["ArrayDataset", "Dataset", "ImageCSVDataset", "TextEmbedding", "as_dataset", "image_csv", "info", "load",
           "load_embedding", "registered", "sources", "standard_dtypes", "standard_labels"]
