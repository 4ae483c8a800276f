"""Framework-neutral per-sample transforms, on numpy arrays, for the image sources.

The tutorial's ``ToTensor()`` and one-hot ``Lambda`` are ``ToTensor()`` and ``OneHot(10)``
here, and run in the reading workers whatever the backend::

    data = datasets.image_csv("labels.csv", "images/", transform=transforms.ToTensor(),
                              target_transform=transforms.OneHot(10))

Each transform is a small picklable object, so a dataset that uses them can be sent to
other processes; any callable works as a transform in this process and its forked readers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from ..contract.errors import ConfigError


@dataclass(frozen=True)
class ToTensor:
    """Like torchvision's: an (H, W) or (H, W, C) image of uint8 (0..255) to float32 in [0, 1]
    with its channel axis first (C, H, W); ``channels="last"`` keeps (H, W, C) for Keras."""

    channels: str = "first"

    def __call__(self, image: Any) -> np.ndarray:
        array = np.asarray(image)
        scaled = array.astype(np.float32) * np.float32(1 / 255) if array.dtype == np.uint8 else array.astype(np.float32)
        if scaled.ndim == 2:
            scaled = scaled[:, :, None]
        return np.ascontiguousarray(np.moveaxis(scaled, -1, 0)) if self.channels == "first" else scaled


@dataclass(frozen=True)
class OneHot:
    """A class index to a float32 one-hot row of ``num_classes`` (the tutorial's target Lambda)."""

    num_classes: int

    def __call__(self, label: Any) -> np.ndarray:
        row = np.zeros(self.num_classes, np.float32)
        index = int(label)
        if not 0 <= index < self.num_classes:
            raise ConfigError(f"OneHot({self.num_classes}): label {index} is out of range 0..{self.num_classes - 1}")
        row[index] = 1.0
        return row


@dataclass(frozen=True)
class Resize:
    """An image resized to ``size`` (height, width) with Pillow (bilinear), uint8 kept."""

    size: tuple[int, int]

    def __call__(self, image: Any) -> np.ndarray:
        from PIL import Image

        array = np.asarray(image)
        if array.shape[:2] == tuple(self.size):
            return array
        return np.asarray(Image.fromarray(array).resize((self.size[1], self.size[0]), Image.Resampling.BILINEAR))


@dataclass(frozen=True)
class Normalize:
    """(x - mean) / std per channel of a channels-first float image, as torchvision's."""

    mean: Sequence[float]
    std: Sequence[float]

    def __call__(self, image: Any) -> np.ndarray:
        array = np.asarray(image, np.float32)
        shape = (-1,) + (1,) * (array.ndim - 1)
        return (array - np.asarray(self.mean, np.float32).reshape(shape)) / np.asarray(self.std, np.float32).reshape(shape)


@dataclass(frozen=True)
class Compose:
    """The transforms one after another."""

    transforms: Sequence[Callable[[Any], Any]]

    def __call__(self, value: Any) -> Any:
        for transform in self.transforms:
            value = transform(value)
        return value


__all__ = ["Compose", "Normalize", "OneHot", "Resize", "ToTensor"]
