"""Framework-neutral per-sample transforms, on numpy arrays, for the image sources.

The tutorial's ``ToTensor()`` and one-hot ``Lambda`` are ``ToTensor()`` and ``OneHot(10)``
here, and run in the reading workers whatever the backend::

    data = datasets.image_csv("labels.csv", "images/", transform=transforms.ToTensor(),
                              target_transform=transforms.OneHot(10))

Each transform is a small picklable object, so a dataset that uses them can be sent to
other processes; any callable works as a transform in this process and its forked readers.
A transform with a ``batch`` method (these, but ``Resize`` and ``PadSequences``; a ``Compose``
of such) is applied once to the stacked batch instead of to each sample: the same values, a
fraction of the time.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from ..contract.errors import ConfigError, DataError


@dataclass(frozen=True)
class ToTensor:
    """Like torchvision's: an (H, W) or (H, W, C) image of uint8 (0..255) to float32 in [0, 1]
    with its channel axis first (C, H, W); ``channels="last"`` keeps (H, W, C) for Keras.

    >>> import numpy as np
    >>> from dlcore.transforms import ToTensor
    >>> image = np.full((28, 28, 3), 255, np.uint8)
    >>> ToTensor()(image).shape, ToTensor(channels="last")(image).shape
    ((3, 28, 28), (28, 28, 3))
    >>> float(ToTensor()(image).max())
    1.0
    """

    channels: str = "first"

    def __call__(self, image: Any) -> np.ndarray:
        result: np.ndarray = self.batch(np.asarray(image)[None])[0]
        return result

    def batch(self, images: np.ndarray) -> np.ndarray:
        """(N, H, W) or (N, H, W, C) images at once."""
        scaled = images.astype(np.float32)
        if images.dtype == np.uint8:
            scaled *= np.float32(1 / 255)
        if scaled.ndim == 3:
            scaled = scaled[..., None]
        return np.ascontiguousarray(np.moveaxis(scaled, -1, 1)) if self.channels == "first" else scaled


@dataclass(frozen=True)
class OneHot:
    """A class index to a float32 one-hot row of ``num_classes`` (the tutorial's target Lambda).

    >>> from dlcore.transforms import OneHot
    >>> OneHot(4)(2).tolist()
    [0.0, 0.0, 1.0, 0.0]
    """

    num_classes: int

    def __call__(self, label: Any) -> np.ndarray:
        result: np.ndarray = self.batch(np.asarray([label]))[0]
        return result

    def batch(self, labels: np.ndarray) -> np.ndarray:
        """Rows for N labels at once."""
        indices = np.asarray(labels).astype(np.int64).reshape(-1)
        bad = (indices < 0) | (indices >= self.num_classes)
        if bad.any():
            raise DataError(f"OneHot({self.num_classes}): label {indices[bad][0]} is out of range "
                            f"0..{self.num_classes - 1}")
        return np.eye(self.num_classes, dtype=np.float32)[indices]


@dataclass(frozen=True)
class Resize:
    """An image resized to ``size`` (height, width) with Pillow (bilinear), uint8 kept.

    >>> import numpy as np
    >>> from dlcore.transforms import Resize
    >>> Resize((32, 32))(np.zeros((28, 28, 3), np.uint8)).shape
    (32, 32, 3)
    """

    size: tuple[int, int]

    def __call__(self, image: Any) -> np.ndarray:
        from PIL import Image

        array = np.asarray(image)
        if array.shape[:2] == tuple(self.size):
            return array
        return np.asarray(Image.fromarray(array).resize((self.size[1], self.size[0]), Image.Resampling.BILINEAR))


@dataclass(frozen=True)
class Normalize:
    """(x - mean) / std per channel of a channels-first float image, as torchvision's.

    >>> import numpy as np
    >>> from dlcore.transforms import Normalize
    >>> Normalize(mean=[0.5], std=[0.5])(np.ones((1, 2, 2), np.float32)).tolist()
    [[[1.0, 1.0], [1.0, 1.0]]]
    """

    mean: Sequence[float]
    std: Sequence[float]

    def __call__(self, image: Any) -> np.ndarray:
        result: np.ndarray = self.batch(np.asarray(image, np.float32)[None])[0]
        return result

    def batch(self, images: np.ndarray) -> np.ndarray:
        """(N, C, ...) images at once."""
        shape = (1, -1) + (1,) * (images.ndim - 2)
        mean, std = (np.asarray(v, np.float32).reshape(shape) for v in (self.mean, self.std))
        normalized: np.ndarray = (images.astype(np.float32) - mean) / std
        return normalized


@dataclass(frozen=True)
class PadSequences:
    """Token ids cut or padded to ``maxlen`` (None: the longest), as Keras' ``pad_sequences``:
    ``padding`` and ``truncating`` "pre" (at the start, Keras' default) or "post" (at the end),
    padded with ``value``. One sequence gives a (maxlen,) int64 array, so it is a dataset's
    transform (every split alike); a list of sequences, or an (N, L) array, gives (N, maxlen).

    >>> from dlcore.transforms import PadSequences
    >>> PadSequences(4)([5, 6]).tolist()
    [0, 0, 5, 6]
    >>> PadSequences(3)([[1, 2], [1, 2, 3, 4]]).tolist()
    [[0, 1, 2], [2, 3, 4]]
    >>> PadSequences(3, padding="post", truncating="post")([[1, 2], [1, 2, 3, 4]]).tolist()
    [[1, 2, 0], [1, 2, 3]]
    """

    maxlen: int | None = None
    padding: str = "pre"
    truncating: str = "pre"
    value: int = 0

    def __post_init__(self) -> None:
        for what, where in (("padding", self.padding), ("truncating", self.truncating)):
            if where not in ("pre", "post"):
                raise ConfigError(f"{what} must be 'pre' or 'post', got {where!r}")
        if self.maxlen is not None and self.maxlen < 1:
            raise ConfigError(f"maxlen must be positive, got {self.maxlen}")

    def __call__(self, sequences: Any) -> np.ndarray:
        """One sequence (1-D) to (maxlen,); sequences (a list of them, or 2-D) to (N, maxlen)."""
        if isinstance(sequences, np.ndarray) and sequences.dtype != object:
            one = sequences.ndim == 1
        else:
            one = all(np.ndim(item) == 0 for item in sequences)
        if one:
            result: np.ndarray = self._pad([sequences])[0]
            return result
        return self._pad(sequences)

    def _pad(self, sequences: Any) -> np.ndarray:
        rows = [np.asarray(s, np.int64).reshape(-1) for s in sequences]
        maxlen = self.maxlen if self.maxlen is not None else max((len(r) for r in rows), default=0)
        padded = np.full((len(rows), maxlen), self.value, np.int64)
        for i, row in enumerate(rows):
            row = row[len(row) - maxlen:] if self.truncating == "pre" and len(row) > maxlen else row[:maxlen]
            if self.padding == "pre":
                padded[i, maxlen - len(row):] = row
            else:
                padded[i, :len(row)] = row
        return padded


@dataclass(frozen=True)
class Compose:
    """The transforms one after another.

    >>> import numpy as np
    >>> from dlcore.transforms import Compose, Normalize, ToTensor
    >>> transform = Compose([ToTensor(), Normalize([0.5], [0.5])])  # e.g. image_folder(..., transform=transform)
    >>> transform(np.zeros((28, 28), np.uint8)).shape
    (1, 28, 28)
    """

    transforms: Sequence[Callable[[Any], Any]]

    def __call__(self, value: Any) -> Any:
        for transform in self.transforms:
            value = transform(value)
        return value

    def __getattr__(self, name: str) -> Any:
        if name == "batch" and all(batched(t) for t in self.transforms):  # each of them batched
            return lambda values: functools.reduce(lambda v, t: getattr(t, "batch")(v), self.transforms, values)
        raise AttributeError(name)


def batched(transform: Any) -> bool:
    """Whether ``transform`` applies to a stacked batch at once (has a ``batch`` method)."""
    return transform is not None and callable(getattr(transform, "batch", None))


def per_sample(transform: Any) -> Any:
    """``transform`` where it must run on each sample, None where it runs on the batch or is None."""
    return None if batched(transform) else transform


def on_batch(transform: Any, values: Any) -> Any:
    """``values`` (a stacked batch) through ``transform`` where it runs on batches, else as they are."""
    return getattr(transform, "batch")(values) if batched(transform) else values


__all__ = ["Compose", "Normalize", "OneHot", "PadSequences", "Resize", "ToTensor", "batched", "on_batch", "per_sample"]
