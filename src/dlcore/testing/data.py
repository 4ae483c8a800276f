"""Small learnable problems and text files for the contract suite and dlcore's own tests."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

POSITIVE = ["wonderful", "great", "superb", "moving", "brilliant", "delightful"]
NEGATIVE = ["awful", "boring", "dreadful", "dull", "terrible", "tedious"]
NEUTRAL = ["the", "movie", "film", "plot", "actor", "was", "a", "and", "scene", "story", "it", "of"]


def blobs(n: int = 1200, features: int = 20, classes: int = 4, seed: int = 0, spread: float = 0.6):
    """Gaussian clusters, one per class: float32 features (n, features), int64 labels."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 1, (classes, features)).astype(np.float32)
    labels = rng.integers(0, classes, n)
    x = centers[labels] + rng.normal(0, spread, (n, features)).astype(np.float32)
    return x.astype(np.float32), labels.astype(np.int64)


def reviews(n: int, seed: int = 0) -> tuple[list[str], np.ndarray]:
    """Reviews whose sentiment words give the label (1: positive); with <br /> tags and punctuation."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    texts = []
    for label in labels:
        words = list(rng.choice(NEUTRAL, 12)) + list(rng.choice(POSITIVE if label else NEGATIVE, 3))
        rng.shuffle(words)
        texts.append(" ".join(words[:8]) + ".<br /><br />" + " ".join(words[8:]) + "!")
    return texts, labels.astype(np.int64)


def write_glove(path: Path, dim: int = 8, seed: int = 0) -> Path:
    """A GloVe text file with the words of :func:`reviews`, ``.``, ``!`` and one unused word."""
    rng = np.random.default_rng(seed)
    words = POSITIVE + NEGATIVE + NEUTRAL + [".", "!", "unused"]
    lines = [w + " " + " ".join(f"{v:.5f}" for v in rng.normal(0, 0.5, dim)) for w in words]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode a uint8 array in the IDX format."""
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def learnable_images(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """28x28 uint8 images whose class (0..9) is which horizontal band is bright, plus noise."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n).astype(np.uint8)
    images = rng.integers(0, 60, (n, 28, 28)).astype(np.uint8)
    for i, label in enumerate(labels):
        images[i, 2 + 2 * label: 4 + 2 * label, :] = 250
    return images, labels


def patterns(n: int = 600, size: int = 12, channels: int = 1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Images (n, channels, size, size), float32 in [0, 1], whose class is the shape drawn at a
    random place over noise: 0 a horizontal bar, 1 a vertical bar, 2 a square (a problem for
    convolutions: where the shape is does not matter)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    images = rng.uniform(0, 0.3, (n, channels, size, size)).astype(np.float32)
    extents = {0: (1, 4), 1: (4, 1), 2: (2, 2)}
    for i, label in enumerate(labels):
        h, w = extents[int(label)]
        top, left = rng.integers(0, size - h + 1), rng.integers(0, size - w + 1)
        images[i, :, top:top + h, left:left + w] = 1.0
    return images, labels.astype(np.int64)


def write_image_folder(root: Path, n: int = 300, size: int = 12, seed: int = 0) -> Path:
    """``n`` grayscale PNGs of ``size`` x ``size`` in one folder per class (ImageFolder's layout)
    under ``root``: "horizontal" (a bar across row 3), "square" (a square in the middle),
    "vertical" (a bar down column 8), over noise; learnable by an MLP."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    classes = ("horizontal", "square", "vertical")
    for name in classes:
        (root / name).mkdir(parents=True, exist_ok=True)
    for i in range(n):
        label = i % 3
        image = rng.integers(0, 80, (size, size)).astype(np.uint8)
        where = {0: np.s_[3, 1:-1], 1: np.s_[4:8, 4:8], 2: np.s_[1:-1, 8]}[label]
        image[where] = 255
        Image.fromarray(image).save(root / classes[label] / f"{i:05d}.png")
    return root


def write_fashion_mnist(directory: Path, n_train: int = 600, n_test: int = 200, gz: bool = True) -> Path:
    """Write the four Fashion-MNIST IDX files (tiny, learnable) into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    for prefix, n, seed in (("train", n_train, 0), ("t10k", n_test, 1)):
        images, labels = learnable_images(n, seed)
        for kind, array in (("images-idx3", images), ("labels-idx1", labels)):
            raw = idx_bytes(array)
            name = f"{prefix}-{kind}-ubyte"
            if gz:
                (directory / (name + ".gz")).write_bytes(gzip.compress(raw))
            else:
                (directory / name).write_bytes(raw)
    return directory


__all__ = ["NEGATIVE", "NEUTRAL", "POSITIVE", "blobs", "idx_bytes", "learnable_images", "patterns", "reviews",
           "write_fashion_mnist", "write_glove"]
