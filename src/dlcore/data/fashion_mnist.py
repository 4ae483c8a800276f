"""Fashion-MNIST, read from the original IDX files with numpy only.

It is looked for, in order, in:

1. the ``root`` argument (only there, downloading into it if allowed);
2. ``$DLCORE_DATA_DIR``;
3. dlcore's cache directory (``$DLCORE_CACHE_DIR``, else ``~/.cache/dlcore``);
4. torchvision's layout ``data/FashionMNIST/raw`` under the working directory (the root the
   PyTorch tutorial uses);
5. the Debian package directory ``/usr/share/datasets/fashion-mnist``
   (``apt-get install dataset-fashion-mnist``);

and otherwise downloaded into the cache. Each directory may hold the four files itself, in a
``fashion-mnist`` subdirectory, or in torchvision's ``FashionMNIST/raw``; gzipped or not.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..contract.errors import DataError, DownloadError
from ..io.files import ENV_DATA_DIR, cache_dir, data_dirs
from .arrays import ArrayDataset, aligned_empty, check_channels, with_channels
from .download import download
from .idx import read_idx

DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
TORCHVISION_ROOT = Path("data")
FASHION_MNIST_MIRRORS = [
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://ossci-datasets.s3.amazonaws.com/fashion-mnist/",
]
FASHION_MNIST_CLASSES = (
    "T-Shirt", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle Boot",
)
"""The ten classes' names, by label: ``FASHION_MNIST_CLASSES[9]`` is "Ankle Boot"."""
# SHA-256 of the uncompressed IDX content (the .gz bytes differ between distributors).
FASHION_MNIST_FILES = {
    "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}
_LAYOUTS = (".", "fashion-mnist", "FashionMNIST/raw")


def _find_file(directory: Path, stem: str) -> Path | None:
    for layout in _LAYOUTS:
        for name in (stem, stem + ".gz"):
            path = directory / layout / name
            if path.is_file():
                return path
    return None


def _find_all(directory: Path) -> dict[str, Path] | None:
    found = {stem: _find_file(directory, stem) for stem in FASHION_MNIST_FILES}
    return found if all(found.values()) else None  # type: ignore[return-value]


def fashion_mnist_search_path() -> list[Path]:
    """Directories searched for Fashion-MNIST when no root is given, in order.

    >>> [str(path) for path in fashion_mnist_search_path()][-2:]
    ['data', '/usr/share/datasets/fashion-mnist']
    """
    return data_dirs() + [TORCHVISION_ROOT, DEBIAN_DIR]


def _fetch(directory: Path, progress: bool | None) -> dict[str, Path]:
    target = directory / "fashion-mnist"
    paths = {}
    for stem, sha in FASHION_MNIST_FILES.items():
        existing = _find_file(directory, stem)
        if existing is not None:
            paths[stem] = existing
            continue
        errors = []
        for mirror in FASHION_MNIST_MIRRORS:
            try:
                paths[stem] = download(mirror + stem + ".gz", target / (stem + ".gz"), sha, progress)
                break
            except DataError as err:
                errors.append(str(err))
        else:
            raise DownloadError(f"could not download Fashion-MNIST file {stem}:\n  " + "\n  ".join(errors))
    return paths


def locate_fashion_mnist(
    root: str | os.PathLike[str] | None = None, download: bool = True, progress: bool | None = None
) -> dict[str, Path]:
    """Paths of the four Fashion-MNIST files, found or downloaded (see the module docstring).

    Example::

        paths = locate_fashion_mnist(download=False)  # DataError if not found
        paths["train-images-idx3-ubyte"]  # e.g. ~/.cache/dlcore/fashion-mnist/train-images-idx3-ubyte.gz
    """
    if root is not None:
        root = Path(root).expanduser()
        found = _find_all(root)
        if found:
            return found
        if not download:
            raise DataError(
                f"Fashion-MNIST files not found in {root} (looked for "
                f"{', '.join(FASHION_MNIST_FILES)}, .gz or not); pass download=True to fetch them"
            )
        return _fetch(root, progress)
    searched = fashion_mnist_search_path()
    for directory in searched:
        found = _find_all(directory)
        if found:
            return found
    if not download:
        raise DataError(
            "Fashion-MNIST not found; searched " + ", ".join(map(str, searched))
            + ". Install it with 'apt-get install dataset-fashion-mnist', set "
            f"{ENV_DATA_DIR}, or allow download=True"
        )
    return _fetch(cache_dir(), progress)


def _images(path: Path) -> np.ndarray:
    array = read_idx(path)
    if array.ndim != 3 or array.shape[1:] != (28, 28) or array.dtype != np.uint8:
        raise DataError(f"{path}: expected uint8 images of shape (N, 28, 28), got {array.dtype} {array.shape}")
    return array


def _labels(path: Path, count: int) -> np.ndarray:
    array = read_idx(path)
    if array.ndim != 1 or array.dtype != np.uint8:
        raise DataError(f"{path}: expected a 1-D uint8 label array, got {array.dtype} {array.shape}")
    if len(array) != count:
        raise DataError(f"{path}: {len(array)} labels for {count} images; the files do not match")
    if array.size and array.max() >= len(FASHION_MNIST_CLASSES):
        bad = int(np.argmax(array >= len(FASHION_MNIST_CLASSES)))
        raise DataError(f"{path}: label {array[bad]} at index {bad} is outside 0..9")
    return array


def _make(images: np.ndarray, labels: np.ndarray, flatten: bool, one_hot: bool, name: str,
          channels: str | None) -> ArrayDataset:
    x: np.ndarray = aligned_empty(images.shape, np.float32)
    np.multiply(images, np.float32(1 / 255), out=x)  # as torchvision's ToTensor scales
    if flatten:
        x = x.reshape(len(x), -1)
    else:
        x = with_channels(x, channels)
    y: np.ndarray = labels.astype(np.int64)
    if one_hot:
        y = np.eye(len(FASHION_MNIST_CLASSES), dtype=np.float32)[y]
    return ArrayDataset(x, y, FASHION_MNIST_CLASSES, name, None if flatten else channels)


def fashion_mnist(
    root: str | os.PathLike[str] | None = None,
    *,
    download: bool = True,
    flatten: bool = False,
    one_hot: bool = False,
    progress: bool | None = None,
    channels: str | None = None,
) -> tuple[ArrayDataset, ArrayDataset]:
    """Fashion-MNIST as ``(train, test)``: 60000 and 10000 images, float32 in [0, 1].

    Images are (N, 28, 28); (N, 1, 28, 28) with ``channels="first"`` (a torch CNN's layout),
    (N, 28, 28, 1) with ``channels="last"`` (Keras'), or (N, 784) with ``flatten``. Labels are
    class indices 0..9, or one-hot float32 rows with ``one_hot``. ``class_names`` holds
    "T-Shirt" ... "Ankle Boot".

    Example::

        train, test = datasets.fashion_mnist()                  # found, or downloaded (30 MB)
        train, test = datasets.fashion_mnist(flatten=True)      # (N, 784), for an MLP
        train, test = datasets.fashion_mnist(channels="first")  # (N, 1, 28, 28), for a CNN
        train.class_names[train.labels[0]]                      # 'Ankle Boot'
    """
    check_channels(channels)
    paths = locate_fashion_mnist(root, download, progress)
    splits = []
    for split, prefix in (("train", "train"), ("test", "t10k")):
        images = _images(paths[f"{prefix}-images-idx3-ubyte"])
        labels = _labels(paths[f"{prefix}-labels-idx1-ubyte"], len(images))
        splits.append(_make(images, labels, flatten, one_hot, f"fashion-mnist/{split}", channels))
    return splits[0], splits[1]


__all__ = ["FASHION_MNIST_CLASSES", "fashion_mnist", "fashion_mnist_search_path", "locate_fashion_mnist"]
