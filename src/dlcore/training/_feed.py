"""The data feed of a run: what a fit, evaluate or predict is given, checked and put on the
device as the backend's data.

A :class:`DataFeed` is made per run from the trainer's settings. It turns arrays, DataFrames
and Hugging Face datasets into dlcore Datasets, weights samples, and prepares each dataset:
preloaded (checked and put once) or streamed (read in chunks while training). A
:class:`Putter` checks samples and puts them on the device; it holds the model, the backend
and the loss it checks labels against, resolved once when it is made, and nothing of the
trainer, so a stream built here calls back into nothing but it.
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any, Callable, Mapping

import numpy as np

from ..contract.backend import Backend, Model, Prepared, Span
from ..contract.devices import Device
from ..contract.errors import ConfigError, DataError
from ..contract.records import Loss
from ..data.arrays import Dataset, as_dataset, standard_dtypes, standard_labels
from ..data.augment import Augmentation, check_augment
from ..data.frames import from_dataframe, is_dataframe
from ..data.huggingface import from_huggingface, is_huggingface
from ..data.prefetch import Chunk, Prefetcher, read_chunk
from ..data.streaming import Stream, batch_bytes, chunk_batches
from ..data.text import is_text
from ..plugins.manager import registry
from .inputs import (
    check_features, check_frame_inputs, error_gist, inputs_dataset, looks_unscaled, sample_weights, shape_hint,
)
from .labels import check_labels

Weights = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclasses.dataclass
class FeedMemory:
    """What a trainer's feeds remember from one run to the next: the token ids of the last
    texts encoded, and the arrays (or streams) already warned about."""

    tokens: dict[tuple[int, int], tuple[Any, ...]] = dataclasses.field(default_factory=dict)
    warned: set[tuple[Any, ...]] = dataclasses.field(default_factory=set)


class Putter:
    """Checks samples of one dataset and puts them on the device as the backend's data, for
    ``model``; labels are checked against ``loss`` (None: the samples have no labels)."""

    def __init__(self, backend: Backend, device: Device, model: Model, loss: Loss | None, name: str,
                 channels: str | None, memory: FeedMemory) -> None:
        self.backend, self.device, self.model, self.loss = backend, device, model, loss
        self.name, self.channels, self.memory = name, channels, memory
        losses: Any = registry().losses if loss is not None else ()
        self.regression_losses = [known.name for known in losses if known.regression]
        self.classification_losses = [known.name for known in losses if not known.regression]

    def put(self, features: np.ndarray, targets: np.ndarray, batch_size: int, weighted: dict[str, Any],
            outputs: int | None = None, warn_key: Any = None) -> tuple[Prepared, int | None]:
        """The samples as the backend's data, and the outputs per sample of the user's own model
        (measured on them unless ``outputs`` says)."""
        model, labels = self.model, self.loss is not None
        if is_text(features):
            if labels:
                self.check_labels(targets, getattr(model.spec, "out_features", None))
            ids, splits = self.encode_texts(features)
            payload = self.backend.put_tokens(ids, splits, standard_labels(targets), self.device, **weighted)
            return Prepared(payload, len(features), batch_size), outputs
        features = self.check_features(features, warn_key)
        features, targets = standard_dtypes(features, targets, getattr(model.spec, "input_dtype", "float32"))
        if self.loss is not None and self.loss.regression:
            targets = targets.astype(np.float32, copy=False)  # integer targets of a regression
        prepared = Prepared(self.backend.put(features, targets, self.device, **weighted), len(features), batch_size)
        if labels:
            if model.spec is not None:
                outputs = getattr(model.spec, "out_features", None)
            elif outputs is None:
                outputs = self.native_outputs(prepared, features)
            self.check_labels(targets, outputs)
        return prepared, outputs

    def native_outputs(self, prepared: Prepared, features: np.ndarray) -> int:
        """How many outputs the user's own model gives per sample, from its first two samples;
        a model that fails on them is a DataError naming the shapes it was given."""
        probe = Prepared(prepared.payload, min(len(features), 2), 2)
        try:
            logits = self.backend.to_numpy(self.backend.predict_steps(self.model, Span(probe, 0, 1)))
        except Exception as err:  # the user's model refused the data: say what it was given
            raise DataError(f"{self.name}: your {type(self.model.native).__name__} fails on samples of shape "
                            f"{features.shape[1:]} ({features.dtype}): {error_gist(err)}; "
                            f"{shape_hint(features)}") from err
        return int(np.prod(logits.shape[1:])) if logits.ndim > 1 else 1

    def encode_texts(self, texts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Token ids of ``texts`` under the model's embedding, computed once per array."""
        embedding = getattr(self.model.spec, "embedding", None)
        if embedding is None:
            raise DataError(f"{self.name}: the samples are texts but the model takes numbers; "
                            "use models.text_classifier(embedding) for text")
        key, tokens = (id(texts), id(embedding)), self.memory.tokens
        cached = tokens.get(key)
        if cached is None or cached[0] is not texts:
            tokens.clear()  # keep one dataset's ids: evaluating on another re-encodes
            cached = tokens[key] = (texts, *embedding.encode(texts))
        return cached[1], cached[2]

    def check_features(self, features: np.ndarray, warn_key: Any = None) -> np.ndarray:
        """``features`` checked and as the spec takes them (:func:`.inputs.check_features`); a
        warning, once per array (or ``warn_key``: per stream), when they look like unscaled pixels."""
        features = check_features(self.model.spec, features, self.name, self.channels)
        key = (id(features), features.shape) if warn_key is None else (warn_key,)
        if key not in self.memory.warned and looks_unscaled(features, self.model.spec):
            self.memory.warned.add(key)
            warnings.warn(f"{self.name}: pixel values go up to {float(features.max()):g}; models train best on "
                          "values scaled to [0, 1] (features / 255, as torchvision's ToTensor does)", UserWarning,
                          stacklevel=5)
        return features

    def check_labels(self, labels: np.ndarray, outputs: int | None) -> None:
        assert self.loss is not None
        check_labels(self.loss, labels, outputs, self.name, regression_losses=self.regression_losses,
                     classification_losses=self.classification_losses)


@dataclasses.dataclass(frozen=True)
class Indexed:
    """The :data:`Weights` of a chunk from one weight per sample of the dataset: those of its indices."""

    weights: np.ndarray

    def __call__(self, labels: np.ndarray, indices: np.ndarray) -> np.ndarray:
        chosen: np.ndarray = self.weights[indices]
        return chosen


class ChunkPutter:
    """A stream's ``put``: each chunk read, checked as preloaded data is, as the backend's data
    in batches of ``batch_size`` (a group's worker's part of the global batch)."""

    def __init__(self, putter: Putter, weights: Weights | None) -> None:
        self.putter, self.weights = putter, weights
        self.outputs: int | None = None  # what the user's own model gives per sample, once known

    def __call__(self, chunk: Chunk, batch_size: int) -> Prepared:
        if len(chunk.features) == 0:
            return Prepared(None, 0, batch_size)
        weighted = {} if self.weights is None else {"weights": self.weights(chunk.labels, chunk.indices)}
        prepared, self.outputs = self.putter.put(chunk.features, chunk.labels, batch_size, weighted, self.outputs,
                                                 warn_key=id(self))
        return prepared


def balanced_class_weight(labels: np.ndarray, name: str = "train") -> dict[int, float]:
    """``{class: n_samples / (n_classes * count)}`` over ``labels`` (class indices, 0/1 labels or
    one-hot rows), as scikit-learn's and Keras users' ``class_weight="balanced"``; labels that
    are not one class per sample, or of one class only, are a DataError.

    >>> balanced_class_weight(np.array([0, 0, 0, 1]))
    {0: 0.6666666666666666, 1: 2.0}
    """
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim == 2:
        if not (np.isin(labels, (0, 1)).all() and (labels.sum(1) == 1).all()):
            raise DataError(f"{name}: class_weight='balanced' needs one class per sample, and the labels are "
                            "soft targets (rows that are not one-hot); pass a dict {class index: weight}")
        labels = labels.argmax(1)
    if labels.ndim != 1 or len(labels) == 0 or not np.issubdtype(labels.dtype, np.number) \
            or not np.all(np.isfinite(labels)) or (labels != np.round(labels)).any() or (labels < 0).any():
        raise DataError(f"{name}: class_weight='balanced' counts class indices (integers >= 0, one per sample), "
                        f"and these labels ({labels.dtype}, shape {labels.shape}) are not that")
    classes, counts = np.unique(labels.astype(np.int64), return_counts=True)
    if len(classes) < 2:
        raise DataError(f"{name}: all {len(labels)} labels are class {int(classes[0])}, so there is nothing to "
                        "balance; class_weight='balanced' needs samples of two classes or more")
    return {int(c): len(labels) / (len(classes) * int(k)) for c, k in zip(classes, counts)}


def _name(data: Any) -> str:
    return getattr(data, "name", "") or type(data).__name__


@dataclasses.dataclass
class DataFeed:
    """The data path of one run on ``backend``, with the trainer's data settings."""

    backend: Backend
    device: Device
    memory: FeedMemory
    loss: str | None
    batch_size: int
    eval_batch_size: int
    accumulate: int
    shuffle: bool
    seed: int | None
    stream: bool | None
    memory_budget: int
    readers: int | None

    def loss_of(self, model: Model) -> Loss:
        return registry().loss(self.loss or model.loss)

    def as_dataset(self, model: Model, data: Any, name: str, table: dict[str, Any]) -> Any:
        """``data`` as a dlcore Dataset where it is arrays or a DataFrame; a DataFrame after the
        model's first is read with its columns and categories (kept in ``model.table``)."""
        if is_huggingface(data):
            return from_huggingface(data, table.get("target") or (model.table or {}).get("target") or "label")
        graph = getattr(model.spec, "graph", None)
        inputs = inputs_dataset(graph, data, name, bool(table.get("predict"))) if graph is not None else None
        if inputs is not None:
            return inputs
        if isinstance(data, Mapping) or (isinstance(data, tuple) and len(data) == 2
                                         and isinstance(data[0], (Mapping, tuple))):
            raise ConfigError(f"{name}: features of several inputs (a dict by input name, a tuple of arrays) are for "
                              "a graph model (models.graph); this model takes one array of features")
        if not is_dataframe(data):
            return as_dataset(data, name)
        known = model.table
        target = table.get("target") or (known or {}).get("target")
        if target is None and not table.get("predict"):
            raise ConfigError(f"{name} is a DataFrame: name its label column, e.g. fit(df, target='label')")
        if known is None:
            chosen = table.get("features")
            if chosen is None and graph is not None and len(graph.inputs) > 1 and \
                    set(graph.input_names) <= {str(c) for c in data.columns}:
                chosen = list(graph.input_names)  # a graph's inputs named after columns take them
            frame = from_dataframe(data, target, chosen, table.get("categorical", "error"), name=name)
            if graph is not None:
                check_frame_inputs(graph, frame, name)
            model.table = {"target": frame.target, "features": list(frame.columns),
                           "categorical": table.get("categorical", "error"), "categories": frame.categories,
                           "handle_unknown": table.get("handle_unknown", "error")}
            return frame
        return from_dataframe(data, None if table.get("predict") else target, known["features"], known["categorical"],
                              known["categories"], name, known.get("handle_unknown", "error"))

    def sample_weights(self, model: Model, train: Any, sample_weight: Any, class_weight: Any) -> np.ndarray | Weights:
        """One float32 weight per training sample (:func:`.inputs.sample_weights`); for a dataset
        read while training, the weights of a chunk's labels and indices, checked now."""
        if not isinstance(train, Dataset):
            raise ConfigError(f"sample_weight and class_weight need a dlcore Dataset, arrays or a DataFrame, not a "
                              f"{type(train).__name__}; weight the loss inside your own pipeline")
        if "sample_weight" not in self.backend.supports:
            raise ConfigError(f"backend {self.backend.name!r} does not weight samples; remove sample_weight and "
                              "class_weight")
        regression = self.loss_of(model).regression
        if isinstance(class_weight, str):
            class_weight = self.balanced(train, class_weight, regression)
        if not self.streamed(train):
            return sample_weights(train.arrays()[1], sample_weight, class_weight, regression)
        given = sample_weights(np.zeros(len(train), np.int64), sample_weight, None, regression)
        if class_weight is not None:
            sample_weights(np.zeros(1, np.int64), None, class_weight, regression)  # checked now, applied per chunk
        return lambda labels, indices: sample_weights(labels, given[indices], class_weight, regression)

    def balanced(self, train: Dataset, how: str, regression: bool) -> dict[int, float]:
        """``class_weight="balanced"``: each class's weight ``n_samples / (n_classes * count)``
        over the training labels (:func:`balanced_class_weight`)."""
        if how != "balanced":
            raise ConfigError(f"class_weight is a dict {{class index: weight}} or 'balanced', got {how!r}")
        if regression:
            raise ConfigError("class_weight='balanced' weights classes, and a regression has none; weight its "
                              "samples with sample_weight")
        if self.streamed(train):
            labels = np.concatenate([read_chunk(train, part).labels for part in
                                     np.array_split(np.arange(len(train)), max(1, len(train) // 4096))])
        else:
            labels = train.arrays()[1]
        return balanced_class_weight(labels, _name(train))

    def binary_classifier(self, model: Model, data: Any) -> bool:
        """Whether ``data`` trains the user's own model as a binary classifier: the model gives
        one output per sample, its loss is the default cross-entropy (no ``loss`` setting), and
        the labels are 0 and 1 (all of them; a streamed dataset's first batch)."""
        if model.spec is not None or self.loss is not None or model.loss != "cross_entropy" \
                or not isinstance(data, Dataset) or len(data) == 0:
            return False
        if self.streamed(data):
            first = read_chunk(data, np.arange(min(len(data), self.batch_size)))
            features, labels = first.features, first.labels
        else:
            features, labels = data.arrays()
        if is_text(features) or labels.ndim != 1 or len(features) == 0 or not np.isin(labels, (0, 1)).all():
            return False
        name = _name(data)
        features, labels = standard_dtypes(check_features(None, features[:2], name, getattr(data, "channels", None)),
                                           labels[:2], "float32")
        probe = Prepared(self.backend.put(features, labels, self.device), len(features), 2)
        putter = Putter(self.backend, self.device, model, None, name, None, self.memory)
        return putter.native_outputs(probe, features) == 1

    def prepare(self, model: Model, data: Any, training: bool, labels: bool = True, weights: Any = None,
                augment: Any = None) -> Prepared:
        """``data`` as the backend's data: a dlcore Dataset checked and put on the device (or
        read while training: :meth:`streamed`), or the backend's own pipeline. Training data
        with ``augment`` (random transforms) is read batch by batch each epoch, augmented on
        the host (:meth:`augmentation`)."""
        batch_size = self.batch_size if training else self.eval_batch_size
        augmentation = self.augmentation(model, data, augment) if training else None
        if isinstance(data, Dataset) and (augmentation is not None or self.streamed(data)):
            if isinstance(weights, np.ndarray):  # in-memory data read batch by batch to be augmented
                weights = Indexed(weights)
            return self._prepare_stream(model, data, batch_size, training, labels, weights, augmentation)
        weighted = {} if weights is None else {"weights": weights}  # only for a backend that weights samples
        if isinstance(data, Dataset):
            features, targets = data.arrays()
            if len(features) == 0:
                raise DataError(f"{_name(data)} is empty; it needs at least one sample")
            return self._putter(model, data, labels).put(features, targets, batch_size, weighted)[0]
        native = self.backend.native_data(data, batch_size, training, self.shuffle, self.seed)
        if native is None:
            raise ConfigError(f"cannot use a {type(data).__name__} as data on backend {self.backend.name!r}; "
                              "pass a dlcore Dataset, a (features, labels) tuple of arrays, or "
                              f"{self.backend.native_data_names()}")
        return native

    def augmentation(self, model: Model, data: Any, augment: Any) -> Augmentation | None:
        """``augment`` of training ``data`` (a dlcore Dataset), drawing from the trainer's seed (a
        fresh one when it has none), the epoch and the batch's number; None without ``augment``."""
        if augment is None:
            return None
        if not isinstance(data, Dataset):
            raise ConfigError(f"augment needs a dlcore Dataset or (features, labels) arrays, not a "
                              f"{type(data).__name__}; augment inside your own pipeline instead")
        if not callable(augment):
            raise ConfigError(f"augment must be a transform such as dlcore.transforms.RandomCrop(28, padding=4) "
                              f"or a Compose of them, not a {type(augment).__name__}")
        check_augment(augment)
        if len(getattr(getattr(model.spec, "graph", None), "inputs", ())) > 1:
            raise ConfigError("augment transforms the images of a model of one input; this graph takes several: "
                              "augment its images before fit, or in your own pipeline")
        seed = self.seed if self.seed is not None else int(np.random.SeedSequence().generate_state(1)[0])
        return Augmentation(augment, seed, getattr(data, "channels", None))

    def streamed(self, data: Dataset) -> bool:
        """Whether ``data`` is read while training: ``stream``, else when it is not in memory
        and larger than the memory budget."""
        if self.stream is not None:
            return self.stream
        return not data.in_memory and data.nbytes > self.memory_budget

    def _putter(self, model: Model, data: Dataset, labels: bool) -> Putter:
        return Putter(self.backend, self.device, model, self.loss_of(model) if labels else None, _name(data),
                      getattr(data, "channels", None), self.memory)

    def _prepare_stream(self, model: Model, data: Dataset, batch_size: int, training: bool, labels: bool,
                        weights: Weights | None, augmentation: Augmentation | None = None) -> Prepared:
        """``data`` to be read while training: chunks of whole batches, within the memory budget,
        each put on the device by a :class:`ChunkPutter` made now."""
        if len(data) == 0:
            raise DataError(f"{_name(data)} is empty; it needs at least one sample")
        prefetcher = Prefetcher(data, self.readers)
        batches = chunk_batches(batch_bytes(data, batch_size), max(1, self.backend.steps_per_call),
                                self.accumulate if training else 1, self.memory_budget, prefetcher.depth)
        put = ChunkPutter(self._putter(model, data, labels), weights)
        stream = Stream(data, batches, prefetcher, put, augmentation, getattr(model, "epoch", 0) or 0)
        return Prepared(None, len(data), batch_size, stream=stream)

    @staticmethod
    def close(*data: Prepared | None) -> None:
        """End the readers of streamed data."""
        for prepared in data:
            if prepared is not None and prepared.stream is not None:
                prepared.stream.close()


__all__: list[str] = []
