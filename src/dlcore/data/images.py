"""Images in files: the PyTorch tutorial's custom dataset (a CSV of file name and label, and an
image folder) and the ImageFolder layout (one folder per class).

    data = datasets.image_csv("labels.csv", "images/", transform=transforms.ToTensor())
    data = datasets.image_folder("photos/train", transform=transforms.Compose([Resize((64, 64)), ToTensor()]))

Images are read with Pillow into numpy arrays (H, W, C uint8, or (H, W) for grayscale);
``transform`` and ``target_transform`` are applied per sample, as in the tutorial, in the
reading workers. A dataset that fits the trainer's memory budget is read once, in parallel,
and trained on at full speed; a larger one is read batch by batch while training
(:mod:`dlcore.data.streaming`).
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ..contract.errors import DataError
from .arrays import stack_samples, with_channels
from .streaming import StreamingDataset, warn_skipped
from .transforms import on_batch, per_sample

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm")


def read_image(path: Path, where: str) -> np.ndarray:
    """The image at ``path`` as a uint8 array ((H, W) grayscale or (H, W, C)); a missing or
    unreadable file is a DataError beginning with ``where`` (the file and row that list it)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("L") if image.mode in ("1", "P", "I;16") else image)
    except FileNotFoundError:
        raise DataError(f"{where}: image {path} does not exist" if where != str(path) else
                        f"{path}: no such image") from None
    except (UnidentifiedImageError, OSError, ValueError) as err:
        raise DataError(f"{where}: cannot read image {path} ({err})" if where != str(path) else
                        f"{path}: cannot read the image ({err})") from None


def csv_rows(path: Path) -> list[list[str]]:
    """The rows of the CSV file ``path``; a file that cannot be read is a DataError naming it."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            return list(csv.reader(f))
    except (OSError, UnicodeDecodeError) as err:
        raise DataError(f"{path}: cannot read ({err})") from None


def listed_images(annotations_file: str | os.PathLike[str], img_dir: str | os.PathLike[str] | None = None
                  ) -> list[tuple[str, Path, int | None]]:
    """(where it is listed, path, label or None) of each image a CSV listing names, in the
    format :class:`ImageCSVDataset` trains on: rows ``file name, label`` (the label may be
    left out), a first row that is not one (a header) skipped, file names relative to
    ``img_dir`` (default: the CSV's folder). What ``dlcore predict RUN listing.csv`` reads.

    Example::

        # labels.csv: "file,label", then "shirt_001.png,0"
        listed_images("labels.csv")  # [("labels.csv, row 2", Path("shirt_001.png"), 0)]
    """
    path = Path(annotations_file)
    folder = Path(img_dir) if img_dir is not None else path.parent
    rows: list[tuple[str, Path, int | None]] = []
    for number, fields in enumerate(csv_rows(path), 1):
        fields = [field.strip() for field in fields]
        if not fields or not fields[0]:
            continue
        label = fields[1] if len(fields) > 1 else ""
        labelled = label.lstrip("-").isdigit()
        if not rows and not labelled and Path(fields[0]).suffix.lower() not in IMAGE_SUFFIXES:
            continue  # a header
        rows.append((f"{path}, row {number}", folder / fields[0], int(label) if labelled else None))
    return rows


class ImageFiles(StreamingDataset):
    """Labelled image files, decoded when read: ``items`` holds (where it is listed, path, label)."""

    reader = "process"

    def __init__(self, name: str, items: list[tuple[str, Path, int]], transform: Callable[[np.ndarray], Any] | None,
                 target_transform: Callable[[int], Any] | None, class_names: Sequence[str] | None, channels: str | None,
                 on_bad_sample: str) -> None:
        super().__init__(name, class_names, channels, on_bad_sample)
        self.items = items
        self.transform = transform
        self.target_transform = target_transform

    def __len__(self) -> int:
        return len(self.items)

    def read(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        each, each_target = per_sample(self.transform), per_sample(self.target_transform)  # else on the batch
        samples = []
        for i in indices:
            where, path, label = self.items[int(i)]
            image = read_image(path, where)
            try:
                samples.append((each(image) if each else image, each_target(label) if each_target else label))
            except DataError:
                raise
            except Exception as err:  # the user's transform: say which image it failed on
                raise DataError(f"{where}: the transform failed on image {path} ({type(err).__name__}: {err})") from err
        try:
            images, labels = stack_samples(samples, self.name)
        except DataError:
            shapes = [np.shape(x) for x, _ in samples]
            odd = next(i for i, shape in enumerate(shapes) if shape != shapes[0])
            where, path, _ = self.items[int(indices[odd])]
            raise DataError(f"{where}: image {path} has shape {shapes[odd]}, others {shapes[0]}; pass a transform "
                            "that resizes them (dlcore.transforms.Resize)") from None
        images, labels = on_batch(self.transform, images), on_batch(self.target_transform, labels)
        channels = self.channels or ("last" if images.ndim == 4 and self.transform is None else None)
        return with_channels(images, channels), labels

    def probe(self) -> tuple[np.ndarray, np.ndarray]:
        sample = super().probe()
        if self.channels is None and sample[0].ndim == 4 and self.transform is None:
            self.channels = "last"  # color images as read
        return sample

    @property
    def num_classes(self) -> int | None:
        """The classes named or counted when made, else the largest label + 1."""
        return len(self.class_names) if self.class_names else max(label for _, _, label in self.items) + 1


class ImageCSVDataset(ImageFiles):
    """Labelled images listed in a CSV file; rows are ``file name, integer label``.

    A first row whose label is not an integer is taken as a header. ``num_classes`` (or
    ``class_names``) bounds the labels; each problem is reported with its row number and path
    (rows with a bad label are skipped and counted with ``on_bad_sample="skip"``). Images are as
    read (grayscale (H, W), color (H, W, C)), or with their channel axis first or last
    (``channels="first"`` or ``"last"``; grayscale gets one of 1).

    Example::

        # labels.csv: a header "file,label", then rows such as "shirt_001.png,0"
        data = ImageCSVDataset("labels.csv", "images/", transform=transforms.ToTensor(), num_classes=10)
        image, label = data[0]  # (C, H, W) float32 in [0, 1], and 0
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
        on_bad_sample: str = "error",
    ) -> None:
        self.annotations_file = Path(annotations_file)
        self.img_dir = Path(img_dir)
        names = tuple(class_names) if class_names is not None else None
        self.num_labels = len(names) if names else num_classes
        super().__init__(str(self.annotations_file), [], transform, target_transform, names, channels, on_bad_sample)
        self.items = self._read_rows()

    def _read_rows(self) -> list[tuple[str, Path, int]]:
        rows, bad = [], []
        for number, fields in enumerate(csv_rows(self.annotations_file), 1):
            if not fields or all(not f.strip() for f in fields):
                continue
            where = f"{self.annotations_file}, row {number}"
            if len(fields) != 2 or not fields[0].strip():
                bad.append(f"{where}: expected 'file name, label', got {fields}")
                continue
            try:
                label = int(fields[1].strip())
            except ValueError:
                if number == 1:
                    continue  # a header
                bad.append(f"{where}: label {fields[1].strip()!r} is not an integer")
                continue
            if label < 0 or (self.num_labels is not None and label >= self.num_labels):
                bound = f"0..{self.num_labels - 1}" if self.num_labels else ">= 0"
                bad.append(f"{where}: label {label} is out of range ({bound})")
                continue
            rows.append((where, self.img_dir / fields[0].strip(), label))
        if bad and self.on_bad_sample != "skip":
            raise DataError(bad[0] + ("" if len(bad) == 1 else f" (and {len(bad) - 1} more bad rows)")
                            + "; fix the rows, or pass on_bad_sample='skip' to leave them out")
        warn_skipped(self, bad, what="row", stacklevel=5)
        if not rows:
            raise DataError(f"{self.annotations_file}: lists no images")
        return rows


class ImageFolderDataset(ImageFiles):
    """Images in one folder per class (``root/cat/1.png``, ``root/dog/2.jpg``), as torchvision's
    ImageFolder: classes are the folder names in sorted order, labels their indices.

    Example::

        data = ImageFolderDataset("photos/train")  # photos/train/cat/*.jpg, photos/train/dog/*.jpg
        data.class_names                           # ('cat', 'dog'): labels 0 and 1
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        transform: Callable[[np.ndarray], Any] | None = None,
        target_transform: Callable[[int], Any] | None = None,
        channels: str | None = None,
        on_bad_sample: str = "error",
    ) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise DataError(f"{self.root}: no such folder; image_folder takes a folder with one folder of images "
                            "per class")
        classes = sorted(d.name for d in self.root.iterdir() if d.is_dir() and not d.name.startswith("."))
        if not classes:
            raise DataError(f"{self.root}: has no class folders; put each class's images in a folder of its own "
                            f"({self.root}/<class>/<image>)")
        items = [(f"{self.root}/{name}", path, label) for label, name in enumerate(classes)
                 for path in sorted((self.root / name).rglob("*"))
                 if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file()]
        if not items:
            raise DataError(f"{self.root}: no image files ({', '.join(IMAGE_SUFFIXES)}) in its class folders")
        super().__init__(str(self.root), items, transform, target_transform, classes, channels, on_bad_sample)


def image_csv(annotations_file: str | os.PathLike[str], img_dir: str | os.PathLike[str],
              transform: Callable[[np.ndarray], Any] | None = None, target_transform: Callable[[int], Any] | None = None,
              num_classes: int | None = None, class_names: Sequence[str] | None = None,
              channels: str | None = None, on_bad_sample: str = "error") -> ImageCSVDataset:
    """An :class:`ImageCSVDataset` (the PyTorch tutorial's ``CustomImageDataset``).

    Example::

        data = datasets.image_csv("labels.csv", "images/", transform=transforms.ToTensor(),
                                  target_transform=transforms.OneHot(10))
        trainer.fit(model, data)
    """
    return ImageCSVDataset(annotations_file, img_dir, transform, target_transform, num_classes, class_names, channels,
                           on_bad_sample)


def image_folder(root: str | os.PathLike[str], transform: Callable[[np.ndarray], Any] | None = None,
                 target_transform: Callable[[int], Any] | None = None, channels: str | None = None,
                 on_bad_sample: str = "error") -> ImageFolderDataset:
    """An :class:`ImageFolderDataset`: one folder of images per class (torchvision's ImageFolder).

    Example::

        resize = transforms.Compose([transforms.Resize((64, 64)), transforms.ToTensor()])
        train = datasets.image_folder("photos/train", transform=resize)
        trainer.fit(models.cnn((3, 64, 64), classes=train.num_classes), train)
    """
    return ImageFolderDataset(root, transform, target_transform, channels, on_bad_sample)


__all__ = ["IMAGE_SUFFIXES", "ImageCSVDataset", "ImageFiles", "ImageFolderDataset", "image_csv", "image_folder",
           "listed_images", "read_image"]
