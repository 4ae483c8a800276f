"""Data: the Dataset interface, the datasets by name and their readers, and text embeddings.

Owns: :class:`Dataset` and :class:`ArrayDataset` (``arrays``), the registered datasets
(``datasets``), Fashion-MNIST (``fashion_mnist``, ``idx``), IMDB (``imdb``), downloads
(``download``), text embeddings and their tokens (``text``, ``embeddings``, ``tokens``), and
data larger than memory: datasets read by index within a memory budget (``streaming``), read
ahead by worker processes or threads (``prefetch``), from image files (``images``), ``.npy``
memory maps (``npy``), Parquet (``parquet``) and Hugging Face datasets (``huggingface``), with
per-sample ``transforms``. Imports the contract, the plugin layer and ``dlcore.io`` (files,
progress bars); nothing of models or training.
"""

from .arrays import ArrayDataset, Dataset, as_dataset, standard_dtypes, standard_labels
from .datasets import info, load, registered, sources
from .embeddings import load as load_embedding
from .images import ImageCSVDataset, ImageFolderDataset, image_csv, image_folder
from .streaming import StreamingDataset
from .text import TextEmbedding

# The readers of Fashion-MNIST and IMDB are the modules ``fashion_mnist`` and ``imdb`` here; their
# functions of the same names are in the public face, ``dlcore.datasets``.
__all__ = ["ArrayDataset", "Dataset", "ImageCSVDataset", "ImageFolderDataset", "StreamingDataset", "TextEmbedding",
           "as_dataset", "image_csv", "image_folder", "info", "load", "load_embedding", "registered", "sources",
           "standard_dtypes", "standard_labels"]
