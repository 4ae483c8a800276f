"""Data: the Dataset interface, the datasets by name and their readers, and text embeddings.

Owns: :class:`Dataset` and :class:`ArrayDataset` (``arrays``), the registered datasets
(``datasets``), Fashion-MNIST (``fashion_mnist``, ``idx``), IMDB (``imdb``), downloads
(``download``), text embeddings and their tokens (``text``, ``embeddings``, ``tokens``), and
data larger than memory: datasets read by index within a memory budget (``streaming``), read
ahead by worker processes or threads (``prefetch``), from image files (``images``), ``.npy``
memory maps (``npy``), Parquet (``parquet``) and Hugging Face datasets (``huggingface``), with
per-sample ``transforms``. Imports the contract, the plugin layer and ``dlcore.io`` (files,
progress bars); nothing of models or training.

Its modules are dlcore's own and may change; the public names are those of :mod:`dlcore` and its
public modules.
"""
