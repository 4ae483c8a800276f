"""What ``dlcore predict`` reads and prints: inputs turned into the features a trained model
takes (image files, folders of images, a CSV listing images, text lines, files of reviews),
class probabilities from logits, and per-sample losses for the plots.

A checkpoint written by ``dlcore train`` records what its model takes in its metadata
(:func:`input_of`): the shape of one sample, where images keep their channels, the class
names. Images are then read as training read them: converted to gray or color to match,
resized to the model's height and width, scaled to [0, 1].
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..contract.errors import ConfigError, DataError
from ..contract.specs import ModelSpec
from ..data.images import IMAGE_SUFFIXES, listed_images, read_image


@dataclass(frozen=True)
class ModelInput:
    """What a model takes: ``texts`` (reviews), or images of ``shape`` (one sample, as the
    training data had it) with their channel axis ``channels`` ("first", "last" or None).

    >>> ModelInput(False, (28, 28), None, ("T-Shirt", "Trouser")).metadata()["input"]
    {'texts': False, 'shape': [28, 28], 'channels': None}
    """

    texts: bool
    shape: tuple[int, ...] = ()
    channels: str | None = None
    class_names: tuple[str, ...] | None = None

    def metadata(self) -> dict[str, Any]:
        """For a checkpoint's metadata (what :func:`input_of` reads back)."""
        return {"input": {"texts": self.texts, "shape": list(self.shape), "channels": self.channels},
                "class_names": list(self.class_names) if self.class_names else None}


def describe(train: Any, spec: ModelSpec | None) -> ModelInput:
    """The input of a model trained on the dlcore Dataset ``train``."""
    names = getattr(train, "class_names", None)
    texts = spec is not None and spec.kind == "text_classifier"
    shape = () if texts else tuple(int(n) for n in train.feature_shape)
    return ModelInput(texts, shape, getattr(train, "channels", None), tuple(names) if names else None)


def input_of(metadata: dict[str, Any], spec: ModelSpec | None) -> ModelInput:
    """A checkpoint's :class:`ModelInput`, from the metadata ``dlcore train`` wrote, else
    guessed from the spec (a square grayscale image for an MLP of n x n inputs)."""
    names = metadata.get("class_names")
    names = tuple(names) if names else None
    given = metadata.get("input")
    if isinstance(given, dict):
        return ModelInput(bool(given.get("texts")), tuple(given.get("shape") or ()), given.get("channels"), names)
    if spec is not None and spec.kind == "text_classifier":
        return ModelInput(True, (), None, names)
    size = int(getattr(spec, "in_features", 0) or 0)
    side = math.isqrt(size)
    if spec is not None and spec.kind in ("sequential", "graph") and len(getattr(spec, "graph").inputs) == 1:
        shape = tuple(getattr(spec, "input_shape", ()))
        return ModelInput(False, shape, "first" if len(shape) == 3 else None, names)
    if size and side * side == size:
        return ModelInput(False, (side, side), None, names)
    raise ConfigError("this checkpoint does not say what its model takes (it was not written by dlcore train); "
                      "predict with Trainer.predict(model, features) in Python")


def _texts_of(item: str) -> list[tuple[str, str]]:
    """(name, text) of each review in ``item``: a .txt file (one review per line), a .json file
    (a list of strings, or of objects with "text" or "review"), a folder of .txt files (one
    review each, as aclImdb keeps them), else ``item`` itself is a text."""
    path = Path(item).expanduser()
    if path.is_dir():
        files = sorted(p for p in path.rglob("*.txt") if p.is_file())
        if not files:
            raise DataError(f"{path}: no .txt files of reviews in this folder")
        return [(str(p), p.read_text(encoding="utf-8", errors="replace").strip()) for p in files]
    if path.is_file() and path.suffix.lower() == ".json":
        try:
            items = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as err:
            raise DataError(f"{path}: not valid JSON ({err})") from None
        texts = [i if isinstance(i, str) else i.get("text", i.get("review")) if isinstance(i, dict) else None
                 for i in (items if isinstance(items, list) else [])]
        if not texts or any(not isinstance(t, str) for t in texts):
            raise DataError(f"{path}: expected a list of reviews (strings, or objects with a \"text\" field)")
        return [(f"{path}[{i}]", str(t)) for i, t in enumerate(texts)]
    if path.is_file():
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        return [(f"{path}:{n}", line.strip()) for n, line in enumerate(lines, 1) if line.strip()]
    return [(item if len(item) <= 40 else item[:37] + "...", item)]


def _image_files(item: str, images: Path | None) -> list[tuple[str, Path]]:
    """(where, file) of each image of ``item``: the file, a folder's images (recursively,
    sorted), or the files a CSV lists as training read it (:func:`listed_images`: relative to
    the CSV's folder, else to ``images``, the run's folder of images, where they are there)."""
    path = Path(item).expanduser()
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        if not files:
            raise DataError(f"{path}: no images ({', '.join(IMAGE_SUFFIXES)}) in this folder")
        return [(str(f), f) for f in files]
    if path.suffix.lower() == ".csv" and path.is_file():
        rows = listed_images(path)
        if not rows:
            raise DataError(f"{path}: lists no images (rows: file name, label)")
        if images is not None and not any(file.is_file() for _, file, _ in rows):
            rows = listed_images(path, images)  # the run's data.images, as training read them
        return [(where, file) for where, file, _ in rows]
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        raise DataError(f"{path}: not an image ({', '.join(IMAGE_SUFFIXES)}), a folder of them or a CSV listing them")
    return [(str(path), path)]


def _image_features(path: Path, model: ModelInput, where: str) -> np.ndarray:
    """One image file as the model's features: gray or color as it takes, resized, in [0, 1]."""
    from PIL import Image

    shape, channels = model.shape, model.channels
    if channels is None and len(shape) == 3:  # ToTensor's (C, H, W), or (H, W, C)
        channels = "first" if shape[0] in (1, 3) else "last"
    if channels == "first" and len(shape) == 3:
        depth, height, width = shape
    elif channels == "last" and len(shape) == 3:
        height, width, depth = shape
    elif len(shape) == 2:
        (height, width), depth = shape, 1
    elif len(shape) == 1 and math.isqrt(shape[0]) ** 2 == shape[0]:
        height = width = math.isqrt(shape[0])
        depth = 1
    else:
        raise ConfigError(f"cannot make images into features of shape {shape}")
    pixels = read_image(path, where)
    image = Image.fromarray(pixels).convert("L" if depth == 1 else "RGB")
    if image.size != (width, height):
        image = image.resize((width, height), Image.Resampling.BILINEAR)
    array: np.ndarray = np.asarray(image, dtype=np.float32) * np.float32(1 / 255)
    if depth == 1:
        return array.reshape(shape)
    return np.ascontiguousarray(np.moveaxis(array, -1, 0)) if channels == "first" else array


def read_inputs(items: Sequence[str], model: ModelInput, images: Path | None = None
                ) -> tuple[list[str], np.ndarray | None, list[str]]:
    """(names, features) of every input in ``items`` that could be read, for the model described
    by ``model`` (features None when none could), and why each of the others could not (one
    line each, naming the input); ``images``: the run's folder of images for CSV listings."""
    failed: list[str] = []
    if model.texts:
        pairs = []
        for item in items:
            try:
                pairs += _texts_of(item)
            except DataError as err:
                failed.append(str(err))
        texts = np.empty(len(pairs), dtype=object)
        texts[:] = [text for _, text in pairs]
        return [name for name, _ in pairs], texts if pairs else None, failed
    names, arrays = [], []
    for item in items:
        try:
            files = _image_files(item, images)
        except DataError as err:
            failed.append(str(err))
            continue
        for where, file in files:
            try:
                arrays.append(_image_features(file, model, where))
            except DataError as err:
                failed.append(str(err))
                continue
            names.append(str(file))
    return names, np.stack(arrays) if arrays else None, failed


def probabilities(logits: np.ndarray) -> np.ndarray:
    """Class probabilities per sample: softmax over the logits, or for one logit the
    probabilities of class 0 and class 1 (sigmoid).

    >>> probabilities(np.array([[0.0, 0.0], [0.0, 100.0]])).round(3).tolist()
    [[0.5, 0.5], [0.0, 1.0]]
    >>> probabilities(np.array([[0.0]])).tolist()
    [[0.5, 0.5]]
    """
    logits = np.asarray(logits, dtype=np.float64)
    if logits.ndim == 1 or logits.shape[1] == 1:
        positive = 1 / (1 + np.exp(-logits.reshape(-1)))
        return np.stack([1 - positive, positive], axis=1)
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    result: np.ndarray = shifted / shifted.sum(axis=1, keepdims=True)
    return result


def per_sample_loss(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Cross-entropy of each sample (class indices or one-hot labels; one logit: binary)."""
    probs = probabilities(logits)
    labels = np.asarray(labels)
    one_hot = labels.ndim == 2 and labels.shape[1] > 1  # (N, 1): binary labels, 0 or 1
    index = labels.argmax(axis=1) if one_hot else np.rint(labels.reshape(-1)).astype(np.int64)
    chosen = probs[np.arange(len(probs)), np.clip(index, 0, probs.shape[1] - 1)]
    result: np.ndarray = -np.log(np.maximum(chosen, 1e-12))
    return result


def class_names(dataset: Any) -> tuple[str, ...] | None:
    names = getattr(dataset, "class_names", None)
    return tuple(names) if names else None


def as_images(features: np.ndarray, channels: str | None) -> np.ndarray:
    """Features as displayable images: (N, H, W) gray or (N, H, W, 3) color, values in [0, 1]."""
    images = np.asarray(features, dtype=np.float32)
    if images.ndim == 2:  # flattened squares
        side = math.isqrt(images.shape[1])
        if side * side != images.shape[1]:
            raise ConfigError(f"features of {images.shape[1]} values are not images; plot an image dataset")
        images = images.reshape(-1, side, side)
    if images.ndim == 4 and (channels == "first" or (images.shape[1] in (1, 3) and images.shape[-1] not in (1, 3))):
        images = np.moveaxis(images, 1, -1)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim not in (3, 4):
        raise ConfigError(f"features of shape {features.shape[1:]} are not images; plot an image dataset")
    if images.max(initial=0) > 1.5:  # 0..255
        images = images * np.float32(1 / 255)
    clipped: np.ndarray = np.clip(images, 0, 1)
    return clipped


__all__ = ["ModelInput", "as_images", "class_names", "describe", "input_of", "per_sample_loss", "probabilities",
           "read_inputs"]
