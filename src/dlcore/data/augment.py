"""Random data augmentation of training images, on numpy batches.

The random transforms take torchvision's names and arguments and run on the host, vectorized
over a whole batch of images (each image its own draw), whatever the backend. A trainer
applies them to training batches only, each epoch anew: ``fit(model, train, augment=...)``.
A batch's draws come from the trainer's seed, the epoch and its samples' indices in the dataset,
so a seeded run gives the same augmented batches, and the same trained numbers, every time
(and each process of a group its own draws)::

    augment = transforms.Compose([transforms.RandomCrop(28, padding=4), transforms.RandomHorizontalFlip()])
    trainer.fit(model, train, validation=test, augment=augment)

Images are (N, H, W), (N, H, W, C) or (N, C, H, W) arrays, of any dtype (uint8 stays uint8);
the dataset's ``channels`` says where the channel axis is (None: guessed from the shape).
``augment`` is for random transforms only: a deterministic one (``ToTensor``, ``Normalize``...)
belongs to the dataset, so that validation and predict data get it too (a ConfigError says so);
a plain callable of your own is applied to each training image and must be random augmentation.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ..contract.errors import ConfigError, DataError
from .transforms import Normalize, OneHot, PadSequences, Resize, ToTensor

DETERMINISTIC = (Normalize, OneHot, PadSequences, Resize, ToTensor)


def _range(value: float | Sequence[float], what: str, low: float | None = None) -> tuple[float, float]:
    """``(-value, value)`` for a number (or ``(low, value)`` when ``low`` is given), a pair as it is."""
    if isinstance(value, (int, float)):
        if value < 0:
            raise ConfigError(f"{what} must be positive, got {value}")
        return (float(-value) if low is None else low, float(value))
    first, second = (float(v) for v in value)
    if first > second:
        raise ConfigError(f"{what} must be (min, max) with min <= max, got {tuple(value)}")
    return first, second


def _probability(p: float) -> float:
    if not 0.0 <= p <= 1.0:
        raise ConfigError(f"p is a probability between 0 and 1, got {p}")
    return float(p)


def _is_first(images: np.ndarray, channels: str | None) -> bool:
    """Whether (N, ., ., .) ``images`` have their channel axis first: ``channels="first"``, or
    None and a first axis of 1 or 3 before a last one that is not."""
    if images.ndim != 4:
        return False
    if channels is None:
        return images.shape[1] in (1, 3) and images.shape[3] not in (1, 3)
    return channels == "first"


def channels_last(images: np.ndarray, channels: str | None) -> np.ndarray:
    """``images`` as an (N, H, W, C) view: (N, H, W) gets a channel axis of 1, channels-first
    images (:func:`_is_first`) have it moved last."""
    if images.ndim == 3:
        return images[..., None]
    if images.ndim != 4:
        raise DataError(f"augmentation takes batches of images (N, H, W), (N, H, W, C) or (N, C, H, W), "
                        f"got shape {images.shape}")
    return np.moveaxis(images, 1, -1) if _is_first(images, channels) else images


def restore(augmented: np.ndarray, like: np.ndarray, channels: str | None) -> np.ndarray:
    """(N, H, W, C) ``augmented`` back in the layout of ``like`` (:func:`channels_last`'s inverse)."""
    if like.ndim == 3:
        return augmented[..., 0]
    return np.ascontiguousarray(np.moveaxis(augmented, -1, 1)) if _is_first(like, channels) else augmented


def _warp(images: np.ndarray, inverse: np.ndarray, shift: np.ndarray, fill: float) -> np.ndarray:
    """Each (H, W, C) image resampled (nearest pixel) at ``inverse[n] @ (y, x) + shift[n]``
    about its centre; pixels from outside the image are ``fill``."""
    n, h, w = images.shape[:3]
    ys, xs = np.meshgrid(np.arange(h) - (h - 1) / 2, np.arange(w) - (w - 1) / 2, indexing="ij")
    grid = np.stack([ys.ravel(), xs.ravel()])  # (2, H*W)
    source = inverse @ grid + shift[:, :, None] + np.array([[(h - 1) / 2], [(w - 1) / 2]])
    rows, cols = np.rint(source[:, 0]).astype(np.int64), np.rint(source[:, 1]).astype(np.int64)
    inside = (rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)
    taken = images[np.arange(n)[:, None], np.clip(rows, 0, h - 1), np.clip(cols, 0, w - 1)]  # (N, H*W, C)
    taken[~inside] = fill
    warped: np.ndarray = taken.reshape(images.shape)
    return warped


class RandomTransform:
    """Base of the random transforms: ``augment(images, rng, channels)`` gives a new batch,
    each image with its own draw from ``rng``; calling one with a single image draws afresh,
    unseeded, with a warning: a random transform belongs in ``fit(..., augment=...)``, not in a
    dataset's ``transform``."""

    def augment(self, images: np.ndarray, rng: np.random.Generator, channels: str | None = None) -> np.ndarray:
        hwc = channels_last(np.asarray(images), channels)
        return restore(self._apply(hwc, rng), np.asarray(images), channels)

    def _apply(self, images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def __call__(self, image: Any) -> np.ndarray:
        """One image, drawn afresh without a seed (a warning says to pass the transform to ``fit``)."""
        warnings.warn(f"{type(self).__name__} called on one image draws without the trainer's seed, and as a "
                      "dataset's transform it changes validation data too (or, preloaded, only once); pass it to "
                      "fit(model, train, augment=...) instead", UserWarning, stacklevel=2)
        result: np.ndarray = self.augment(np.asarray(image)[None], np.random.default_rng())[0]
        return result


def _flip(images: np.ndarray, rng: np.random.Generator, p: float, axis: int) -> np.ndarray:
    """``images`` (N, H, W[, C]), each reversed along ``axis`` (1: rows, 2: columns) with probability ``p``."""
    flipped: np.ndarray = images.copy()
    chosen = rng.random(len(images)) < p
    flipped[chosen] = np.flip(images[chosen], axis=axis)
    return flipped


@dataclass(frozen=True)
class RandomHorizontalFlip(RandomTransform):
    """Each image mirrored left to right with probability ``p``, as torchvision's.

    >>> import numpy as np
    >>> from dlcore.transforms import RandomHorizontalFlip
    >>> images = np.arange(4).reshape(1, 1, 4)  # one 1x4 image
    >>> RandomHorizontalFlip(p=1.0).augment(images, np.random.default_rng(0)).tolist()
    [[[3, 2, 1, 0]]]
    """

    p: float = 0.5

    def __post_init__(self) -> None:
        _probability(self.p)

    def _apply(self, images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return _flip(images, rng, self.p, axis=2)


@dataclass(frozen=True)
class RandomVerticalFlip(RandomTransform):
    """Each image turned upside down with probability ``p``, as torchvision's.

    >>> import numpy as np
    >>> from dlcore.transforms import RandomVerticalFlip
    >>> RandomVerticalFlip(p=1.0).augment(np.arange(3).reshape(1, 3, 1), np.random.default_rng(0)).tolist()
    [[[2], [1], [0]]]
    """

    p: float = 0.5

    def __post_init__(self) -> None:
        _probability(self.p)

    def _apply(self, images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return _flip(images, rng, self.p, axis=1)


@dataclass(frozen=True)
class RandomCrop(RandomTransform):
    """A random ``size`` (an int: square) window of each image, after padding its borders
    with ``padding`` pixels of ``fill``, as torchvision's ``RandomCrop(32, padding=4)``.

    >>> import numpy as np
    >>> from dlcore.transforms import RandomCrop
    >>> RandomCrop(28, padding=4).augment(np.ones((5, 28, 28), np.uint8), np.random.default_rng(0)).shape
    (5, 28, 28)
    """

    size: int | tuple[int, int]
    padding: int = 0
    fill: float = 0

    def _apply(self, images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        height, width = (self.size, self.size) if isinstance(self.size, int) else self.size
        pad = int(self.padding)
        padded = np.pad(images, ((0, 0), (pad, pad), (pad, pad), (0, 0)), constant_values=self.fill) if pad else images
        n, h, w = padded.shape[:3]
        if height > h or width > w:
            raise DataError(f"RandomCrop({self.size}) is larger than the images ({h - 2 * pad}x{w - 2 * pad}, "
                            f"padded by {pad})")
        top = rng.integers(0, h - height + 1, n)
        left = rng.integers(0, w - width + 1, n)
        rows = (top[:, None] + np.arange(height))[:, :, None]
        cols = (left[:, None] + np.arange(width))[:, None, :]
        cropped: np.ndarray = padded[np.arange(n)[:, None, None], rows, cols]
        return cropped


@dataclass(frozen=True)
class RandomAffine(RandomTransform):
    """Each image rotated by up to ``degrees``, shifted by up to ``translate = (a, b)`` (``a`` of
    its width horizontally, ``b`` of its height vertically) and scaled within ``scale``, as
    torchvision's (nearest pixel; pixels from outside the image are ``fill``).

    >>> import numpy as np
    >>> from dlcore.transforms import RandomAffine
    >>> RandomAffine(degrees=10, translate=(0.1, 0.1)).augment(np.ones((2, 8, 8)), np.random.default_rng(0)).shape
    (2, 8, 8)
    """

    degrees: float | tuple[float, float] = 0
    translate: tuple[float, float] | None = None
    scale: tuple[float, float] | None = None
    fill: float = 0

    def _apply(self, images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        n, h, w = images.shape[:3]
        low, high = _range(self.degrees, "degrees")
        angle = np.radians(rng.uniform(low, high, n))
        zoom = rng.uniform(*self.scale, n) if self.scale is not None else np.ones(n)
        dx, dy = (0.0, 0.0) if self.translate is None else self.translate  # torchvision: (horizontal, vertical)
        shift = np.stack([np.rint(rng.uniform(-dy, dy, n) * h), np.rint(rng.uniform(-dx, dx, n) * w)], 1)
        cos, sin = np.cos(angle) / zoom, np.sin(angle) / zoom
        inverse = np.stack([np.stack([cos, -sin], 1), np.stack([sin, cos], 1)], 1)  # (N, 2, 2): output -> input
        return _warp(images, inverse, -shift, self.fill)


@dataclass(frozen=True)
class RandomRotation(RandomTransform):
    """Each image rotated by an angle drawn from (-degrees, degrees) (or the pair given), as
    torchvision's (nearest pixel; corners from outside are ``fill``).

    >>> import numpy as np
    >>> from dlcore.transforms import RandomRotation
    >>> RandomRotation(15).augment(np.ones((3, 28, 28, 1), np.float32), np.random.default_rng(0)).shape
    (3, 28, 28, 1)
    """

    degrees: float | tuple[float, float]
    fill: float = 0

    def _apply(self, images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return RandomAffine(self.degrees, fill=self.fill)._apply(images, rng)


@dataclass(frozen=True)
class RandomTranslation(RandomTransform):
    """Each image shifted by up to ``height_factor`` of its height and ``width_factor`` of
    its width, as Keras' RandomTranslation (pixels shifted in are ``fill``).

    >>> import numpy as np
    >>> from dlcore.transforms import RandomTranslation
    >>> RandomTranslation(0.1, 0.1).augment(np.ones((3, 28, 28)), np.random.default_rng(0)).shape
    (3, 28, 28)
    """

    height_factor: float
    width_factor: float
    fill: float = 0

    def _apply(self, images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return RandomAffine(0, (self.width_factor, self.height_factor), fill=self.fill)._apply(images, rng)


@dataclass(frozen=True)
class RandomErasing(RandomTransform):
    """With probability ``p``, a rectangle of each image set to ``value``: its area a
    ``scale`` fraction of the image's, its aspect ratio within ``ratio``, as torchvision's.

    >>> import numpy as np
    >>> from dlcore.transforms import RandomErasing
    >>> erased = RandomErasing(p=1.0).augment(np.ones((4, 28, 28)), np.random.default_rng(0))
    >>> bool((erased == 0).any(axis=(1, 2)).all())
    True
    """

    p: float = 0.5
    scale: tuple[float, float] = (0.02, 0.33)
    ratio: tuple[float, float] = (0.3, 3.3)
    value: float = 0

    def __post_init__(self) -> None:
        _probability(self.p)

    def _apply(self, images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        n, h, w = images.shape[:3]
        area = rng.uniform(*self.scale, n) * h * w
        aspect = np.exp(rng.uniform(math.log(self.ratio[0]), math.log(self.ratio[1]), n))
        eh = np.clip(np.rint(np.sqrt(area * aspect)), 1, h).astype(np.int64)
        ew = np.clip(np.rint(np.sqrt(area / aspect)), 1, w).astype(np.int64)
        top, left = rng.integers(0, h - eh + 1), rng.integers(0, w - ew + 1)
        rows, cols = np.arange(h), np.arange(w)
        inside = (((rows >= top[:, None]) & (rows < (top + eh)[:, None]))[:, :, None]
                  & ((cols >= left[:, None]) & (cols < (left + ew)[:, None]))[:, None, :])
        inside &= np.asarray(rng.random(n) < self.p)[:, None, None]
        erased: np.ndarray = images.copy()
        erased[inside] = self.value
        return erased


def is_random(transform: Any) -> bool:
    """Whether ``transform`` (or a part of a Compose) draws at random (has ``augment``)."""
    parts = getattr(transform, "transforms", None)
    if parts is not None:
        return any(is_random(part) for part in parts)
    return callable(getattr(transform, "augment", None))


def augment_batch(transform: Any, images: np.ndarray, rng: np.random.Generator, channels: str | None) -> np.ndarray:
    """A batch through ``transform``: random transforms by ``augment`` with ``rng``, those with a
    ``batch`` method on the batch, any other callable on each image; a Compose part by part."""
    parts = getattr(transform, "transforms", None)
    if parts is not None:
        for part in parts:
            images = augment_batch(part, images, rng, channels)
        return images
    if callable(getattr(transform, "augment", None)):
        augmented: np.ndarray = transform.augment(images, rng, channels)
        return augmented
    if callable(getattr(transform, "batch", None)):
        return np.asarray(transform.batch(images))
    if callable(transform):
        return np.stack([np.asarray(transform(image)) for image in images])
    raise ConfigError(f"augment must be a transform (dlcore.transforms.RandomCrop(...), a Compose of them) or a "
                      f"callable, not a {type(transform).__name__}")


@dataclass
class Augmentation:
    """``transform`` applied to each training batch of an epoch, with draws from ``seed``, the
    epoch and the dataset indices of the batch's samples: the same for a seeded run, new for each
    epoch and batch, and different on each process of a group (each reads other samples)."""

    transform: Any
    seed: int
    channels: str | None = None

    def __call__(self, features: np.ndarray, epoch: int, first_batch: int, batch_size: int,
                 indices: np.ndarray | None = None) -> np.ndarray:
        """The ``features`` of whole batches from batch ``first_batch`` of ``epoch`` on, augmented;
        ``indices``: the samples' indices in the dataset (None: draws keyed on the batch's number)."""
        parts = []
        for k, start in enumerate(range(0, len(features), batch_size)):
            key = [first_batch + k] if indices is None else indices[start:start + batch_size]
            rng = np.random.default_rng([self.seed, epoch, *(int(i) for i in key)])
            parts.append(augment_batch(self.transform, features[start:start + batch_size], rng, self.channels))
        return parts[0] if len(parts) == 1 else np.concatenate(parts)


def check_augment(transform: Any) -> None:
    """A ConfigError where ``augment`` is (or composes) a deterministic dlcore transform, such as
    ``ToTensor`` or ``Normalize``: in ``augment`` it would change training batches only."""
    parts = getattr(transform, "transforms", None)
    if parts is not None:
        for part in parts:
            check_augment(part)
        return
    if isinstance(transform, DETERMINISTIC):
        raise ConfigError(f"augment takes random transforms (RandomCrop, RandomHorizontalFlip...), and "
                          f"{type(transform).__name__} is not random: in augment it would change the training "
                          "batches only; apply it to the dataset (transform=...) so that training, validation "
                          "and predict data get it alike")


__all__ = ["Augmentation", "RandomAffine", "RandomCrop", "RandomErasing", "RandomHorizontalFlip",
           "RandomRotation", "RandomTransform", "RandomTranslation", "RandomVerticalFlip", "augment_batch",
           "channels_last", "check_augment", "is_random", "restore"]
