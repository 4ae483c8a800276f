"""Hugging Face ``datasets`` objects, read by index from their memory-mapped Arrow files.

    hub = datasets_lib.load_dataset("fashion_mnist", split="train")
    trainer.fit(model, hub)                               # or dlcore.datasets.from_huggingface(hub)

``target`` names the label column (default "label"); the features are the other columns:
one column of arrays or images (decoded to uint8 arrays when read), or several columns of
numbers (one feature each). A ClassLabel column gives the class names. Nothing is copied
until read, so a dataset larger than memory streams.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from ..contract.errors import ConfigError, DataError
from .arrays import stack_samples
from .streaming import StreamingDataset
from .transforms import on_batch, per_sample


def is_huggingface(data: Any) -> bool:
    """Whether ``data`` is a Hugging Face ``datasets.Dataset`` (without importing the library)."""
    return type(data).__module__.startswith("datasets.") and hasattr(data, "with_format") and hasattr(data, "features")


class HuggingFaceDataset(StreamingDataset):
    """A Hugging Face ``datasets.Dataset``'s columns as features and labels.

    Example::

        import datasets as hf

        hub = hf.load_dataset("fashion_mnist", split="train")
        data = HuggingFaceDataset(hub, target="label", transform=transforms.ToTensor())
        data.class_names  # from the ClassLabel column
    """

    def __init__(self, data: Any, target: str | None = "label", features: Sequence[str] | None = None,
                 transform: Callable[[np.ndarray], Any] | None = None,
                 target_transform: Callable[[Any], Any] | None = None, channels: str | None = None,
                 on_bad_sample: str = "error") -> None:
        if not is_huggingface(data):
            raise ConfigError(f"from_huggingface takes a datasets.Dataset, not a {type(data).__name__} (an "
                              "IterableDataset streams without random access: save it with save_to_disk first)")
        columns = list(data.column_names)
        target = target or "label"
        if target not in columns:
            raise ConfigError(f"the Hugging Face dataset has no column {target!r}; its columns: {', '.join(columns)}; "
                              "pass target='name of the label column'")
        chosen = list(features) if features is not None else [c for c in columns if c != target]
        missing = [c for c in chosen if c not in columns]
        if missing or not chosen:
            raise ConfigError(f"feature columns {missing or chosen} are not among {', '.join(columns)}")
        names = getattr(data.features[target], "names", None)
        super().__init__(str(getattr(data, "info", None) and data.info.dataset_name or "huggingface dataset"), names,
                         channels, on_bad_sample)
        self.data = data.with_format("numpy")
        self.target, self.columns = target, chosen
        self.transform, self.target_transform = transform, target_transform
        images = any(type(data.features[c]).__name__ == "Image" for c in chosen)
        self.reader = "process" if images or transform is not None else "thread"

    def __len__(self) -> int:
        return len(self.data)

    def read(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        try:
            rows = self.data[indices.tolist()]
        except Exception as err:  # a damaged Arrow file or an image that does not decode
            raise DataError(f"{self.name}: cannot read rows {indices[:4].tolist()}... ({type(err).__name__}: {err})"
                            ) from None
        labels = np.asarray(rows[self.target])
        if len(self.columns) == 1:
            features = rows[self.columns[0]]
        else:
            features = np.stack([np.asarray(rows[c], np.float32) for c in self.columns], axis=1)
        if isinstance(features, list) or getattr(features, "dtype", None) == object:
            features, labels = stack_samples(list(zip(features, labels)), self.name)
        each, each_target = per_sample(self.transform), per_sample(self.target_transform)  # else on the batch
        if each is not None or each_target is not None:
            samples = [(each(x) if each else x, each_target(y) if each_target else y) for x, y in zip(features, labels)]
            features, labels = stack_samples(samples, self.name)
        return np.asarray(on_batch(self.transform, np.asarray(features))), on_batch(self.target_transform, labels)


def from_huggingface(data: Any, target: str | None = "label", features: Sequence[str] | None = None,
                     transform: Callable[[np.ndarray], Any] | None = None,
                     target_transform: Callable[[Any], Any] | None = None, channels: str | None = None,
                     on_bad_sample: str = "error") -> HuggingFaceDataset:
    """A :class:`HuggingFaceDataset` of a ``datasets.Dataset`` (``fit`` makes one by itself).

    Example::

        hub = hf.load_dataset("fashion_mnist", split="train")  # import datasets as hf
        trainer.fit(model, datasets.from_huggingface(hub, channels="first"))
    """
    return HuggingFaceDataset(data, target, features, transform, target_transform, channels, on_bad_sample)


__all__ = ["HuggingFaceDataset", "from_huggingface", "is_huggingface"]
