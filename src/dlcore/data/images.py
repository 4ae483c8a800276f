"""The PyTorch tutorial's custom image dataset: a CSV of (file name, label) and an image folder.

    data = datasets.image_csv("labels.csv", "images/", transform=lambda a: a / 255.0)

Images are read with Pillow into numpy arrays (H, W, C uint8, or (H, W) for grayscale);
``transform`` and ``target_transform`` are applied per sample, as in the tutorial. The whole
dataset loads into memory when a backend asks for its arrays, so both backends train on it at
full speed.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ..contract.errors import DataError
from .arrays import ArrayDataset, Dataset, check_channels, with_channels


class ImageCSVDataset(Dataset):
    """Labelled images listed in a CSV file; rows are ``file name, integer label``.

    A first row whose label is not an integer is taken as a header. ``num_classes`` (or
    ``class_names``) bounds the labels; each problem is reported with its row number and path.
    Images are as read (grayscale (H, W), color (H, W, C)), or with their channel axis first
    or last (``channels="first"`` or ``"last"``; grayscale gets one of 1).
    """

    def __init__(
        self,
        annotations_file: str | os.PathLike[str],
        img_dir: str | os.PathLike[str],
        transform: Callable[[np.ndarray], Any] | None = None,
        target_transform: Callable[[int], Any] | None = None,
        num_classes: int | None = None,
        class_names: Sequence[str] | None = None,
        channels: str | None = None,
    ) -> None:
        self.channels = check_channels(channels)
        self.annotations_file = Path(annotations_file)
        self.img_dir = Path(img_dir)
        self.transform = transform
        self.target_transform = target_transform
        self.class_names = tuple(class_names) if class_names is not None else None
        self.num_labels = len(self.class_names) if self.class_names else num_classes
        self.name = str(self.annotations_file)
        self.rows = self._read_rows()
        self._arrays: tuple[np.ndarray, np.ndarray] | None = None

    def _read_rows(self) -> list[tuple[int, str, int]]:
        try:
            with open(self.annotations_file, newline="", encoding="utf-8") as f:
                lines = list(csv.reader(f))
        except (OSError, UnicodeDecodeError) as err:
            raise DataError(f"{self.annotations_file}: cannot read ({err})") from None
        rows = []
        for number, fields in enumerate(lines, 1):
            if not fields or all(not f.strip() for f in fields):
                continue
            if len(fields) != 2 or not fields[0].strip():
                raise DataError(f"{self.annotations_file}, row {number}: expected 'file name, label', got {fields}")
            try:
                label = int(fields[1].strip())
            except ValueError:
                if number == 1:
                    continue  # a header
                raise DataError(f"{self.annotations_file}, row {number}: label {fields[1].strip()!r} is not an integer") from None
            if label < 0 or (self.num_labels is not None and label >= self.num_labels):
                bound = f"0..{self.num_labels - 1}" if self.num_labels else ">= 0"
                raise DataError(f"{self.annotations_file}, row {number}: label {label} is out of range ({bound})")
            rows.append((number, fields[0].strip(), label))
        if not rows:
            raise DataError(f"{self.annotations_file}: lists no images")
        return rows

    def _image(self, row: int, file_name: str) -> np.ndarray:
        from PIL import Image, UnidentifiedImageError

        path = self.img_dir / file_name
        try:
            with Image.open(path) as image:
                return np.asarray(image.convert("L") if image.mode in ("1", "P", "I;16") else image)
        except FileNotFoundError:
            raise DataError(f"{self.annotations_file}, row {row}: image {path} does not exist") from None
        except (UnidentifiedImageError, OSError) as err:
            raise DataError(f"{self.annotations_file}, row {row}: cannot read image {path} ({err})") from None

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def num_classes(self) -> int | None:
        """The classes named or counted when made, else the largest label + 1."""
        return self.num_labels or max(label for _, _, label in self.rows) + 1

    def __getitem__(self, index: Any) -> Any:
        if not isinstance(index, (int, np.integer)):
            x, y = self.arrays()
            return ArrayDataset(x[index], y[index], self.class_names, self.name, self.channels)
        row, file_name, label = self.rows[index]
        image = self._image(row, file_name)
        if self.transform is not None:
            image = self.transform(image)
        return image, (self.target_transform(label) if self.target_transform else label)

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """All samples, transformed, stacked into arrays (loaded once)."""
        if self._arrays is None:
            samples = [self[i] for i in range(len(self))]
            shapes = {np.shape(x) for x, _ in samples}
            if len(shapes) != 1:
                raise DataError(f"{self.annotations_file}: images have different shapes {sorted(shapes)}; "
                                "pass a transform that resizes them")
            images = np.stack([np.asarray(x) for x, _ in samples])
            if self.channels is None and images.ndim == 4 and self.transform is None:
                self.channels = "last"  # color images as read
            self._arrays = (with_channels(images, self.channels), np.asarray([y for _, y in samples]))
        return self._arrays


def image_csv(annotations_file: str | os.PathLike[str], img_dir: str | os.PathLike[str],
              transform: Callable[[np.ndarray], Any] | None = None, target_transform: Callable[[int], Any] | None = None,
              num_classes: int | None = None, class_names: Sequence[str] | None = None,
              channels: str | None = None) -> ImageCSVDataset:
    """An :class:`ImageCSVDataset` (the PyTorch tutorial's ``CustomImageDataset``)."""
    return ImageCSVDataset(annotations_file, img_dir, transform, target_transform, num_classes, class_names, channels)


__all__ = ["ImageCSVDataset", "image_csv"]
