"""The backend contract: everything a backend implements, in one place.

A backend is a :class:`Backend` subclass that its plugin returns from a
:class:`~dlcore.contract.BackendInfo` ``load`` (see :mod:`dlcore.hookspecs`). It supplies the
steps; the core (:class:`dlcore.Trainer`) owns everything that is the same on every backend:
settings and their checks, data checks, the order of samples and batches, the kernels a run
uses, loss and metric definitions and their accumulation over an epoch, history, progress,
callbacks, checkpoints.

The core calls a backend like this, per ``fit``, having resolved every kernel it needs
(:mod:`dlcore.contract.records` says what each kind of kernel is)::

    model = backend.build(spec, device, builder)  # or backend.wrap(users_native_model)
    backend.set_weights(model, spec.initial_weights(seed)); backend.place(model, device)
    model.optimizer = make_optimizer(model, lr=lr, **settings)
    data = backend.put(features, labels, device)   # once per dataset
    config = StepConfig(loss, metrics, batch_size, loss_fn=..., metric_fns=..., reductions=...)
    for each epoch, for each span of at most ``steps_per_call`` batches:
            span = Span(data, first, count, order, learning_rates=each_batchs_rate)
            results = backend.train_steps(model, config, span)
    backend.to_numpy(results.losses), backend.to_numpy(results.statistics)   # once per epoch

What every backend would otherwise repeat is here once: the samples of a batch
(:meth:`Prepared.batch_slice`, :meth:`Span.indices`), the batch sizes, and the bookkeeping of
gradient accumulation (:func:`accumulation`). ``dlcore.testing`` holds the tests every backend
passes; run them against your own backend.
"""

from __future__ import annotations

import math
import warnings
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ClassVar, Iterable

import numpy as np

from .devices import DEVICE_KINDS, Device, resolve_device
from .errors import ConfigError
from .records import DeviceKind
from .specs import ModelSpec, check_weights


class Model:
    """A model built on one backend: the object that owns its weights, its optimizer state
    and its training progress.

    ``Trainer.build(spec)`` makes one; any trainer of the same backend can then fit, evaluate,
    predict and save it, and the optimizer state and progress go with it. ``native`` is the
    framework's own model (an ``nn.Module``, a ``keras.Model``, ...); ``backend`` is the
    :class:`Backend` that built it, from the start. Weights come and go under the spec's
    canonical names through that backend. ``trained`` is False while a Model built from a
    spec holds its random initial weights (no fit step, no weights loaded or set): the trainer
    then refuses to evaluate or predict with that spec.

    Example::

        trainer = Trainer(backend="torch", epochs=2)
        model = trainer.build(models.mlp(784, [128], 10))
        trainer.fit(model, train)
        weights = model.get_weights()  # {"layers.0.weight": array of (128, 784), ...}
        print(model.epoch, model.num_parameters())
    """

    def __init__(self, backend: Backend, native: Any, spec: ModelSpec | None = None, loss: str | None = None) -> None:
        if isinstance(backend, str):  # dlcore 0.1's Model(name, ...): the trainer binds the backend after wrap
            warnings.warn("Model(backend_name, ...) is deprecated since dlcore 0.2 and will be removed in 0.3; "
                          "use Model(self, ...) in a backend's wrap", DeprecationWarning, stacklevel=2)
        elif not isinstance(backend, Backend):
            raise ConfigError(f"Model(backend, ...) takes the Backend that builds the model (self, in a backend's "
                              f"wrap), not {backend!r}")
        self.backend: Backend = backend  # a name only until the trainer binds it (dlcore 0.1 backends)
        self.native = native
        self.spec = spec
        self.loss = loss or (spec.loss if spec is not None else "cross_entropy")
        self.device: Device | None = None  # the device the trainer placed it on
        # Training progress, kept by Trainer.fit and written into checkpoints.
        self.epoch = 0
        self.step = 0
        self.history_records: tuple[dict[str, Any], ...] = ()
        # Whether the weights may be trained ones: False for a Model built from a spec's random
        # initial weights until a fit trains a step or weights are set or loaded.
        self.trained = True
        # How fit read a DataFrame (its target, feature columns and categories), for the next.
        self.table: dict[str, Any] | None = None
        # The backend's optimizer (made by the first fit) and what it was made for.
        self.optimizer: Any = None
        self.optimizer_name: str | None = None
        self.optimizer_hyper: dict[str, Any] = {}
        # What the backend compiles for this model, by step configuration.
        self.cache: dict[Any, Any] = {}
        # What a strategy (dlcore.contract.Strategy) made of this model for the train steps of a
        # run over several processes (a DistributedDataParallel module, a tf.distribute
        # strategy); None in one process.
        self.parallel: Any = None

    @property
    def backend_name(self) -> str:
        backend: Backend | str = self.backend
        return backend if isinstance(backend, str) else backend.name

    def get_weights(self) -> dict[str, np.ndarray]:
        """Parameters as numpy arrays, under the spec's canonical names and layouts."""
        return self.backend.get_weights(self)

    def set_weights(self, weights: dict[str, np.ndarray]) -> None:
        """Load parameters given under the canonical names; shapes must match exactly."""
        self.backend.set_weights(self, weights)
        self.trained = True

    def num_parameters(self) -> int:
        """Number of scalar parameters."""
        return sum(int(w.size) for w in self.get_weights().values())

    def __repr__(self) -> str:
        described = self.spec if self.spec is not None else type(self.native).__name__
        return f"Model({self.backend_name}, {described}, {self.num_parameters()} parameters, epoch {self.epoch})"


@dataclass(frozen=True)
class StepConfig:
    """What a training or evaluation step computes, beside the model: the loss and metrics by
    name and the batch size, with the backend's kernels for them, resolved by the core before
    the first step: ``loss_fn``, ``metric_fns`` (one per metric) and ``reductions`` (each
    metric's ``"sum"`` or ``"concat"``). A backend may compile steps per config and keep them in
    ``model.cache[config]``; the core empties that cache when it gives the model a new
    optimizer.

    Training settings, each used only with a backend that lists it in ``Backend.supports``
    (the core refuses it otherwise): ``clip_value``: clamp each gradient to ``[-v, v]``;
    ``clip_norm``: then scale all gradients by ``min(1, c / (norm + 1e-6))``, ``norm`` their
    global L2 norm (torch's clip_grad_norm_); ``accumulate``: update once per group of this
    many consecutive batches of an epoch (the last group may be smaller), with the mean of the
    group's gradients, clipped after averaging; ``precision``: "32", "bf16-mixed" (forward
    and loss in bfloat16 where safe, weights, gradients and updates in float32) or
    "16-mixed" (float16 with loss scaling).

    >>> from dlcore.contract import StepConfig
    >>> config = StepConfig("cross_entropy", ("accuracy",), batch_size=64, clip_norm=1.0)
    >>> config.clips, config.accumulate, config.precision
    (True, 1, '32')
    """

    loss: str
    metrics: tuple[str, ...]
    batch_size: int
    clip_value: float | None = None
    clip_norm: float | None = None
    accumulate: int = 1
    precision: str = "32"
    loss_fn: Any = None
    metric_fns: tuple[Any, ...] = ()
    reductions: tuple[str, ...] = ()

    @property
    def clips(self) -> bool:
        """Whether gradients are clipped (by value, by norm or both)."""
        return self.clip_value is not None or self.clip_norm is not None


def batch_slice(batch: Any, batch_size: int) -> slice:
    """The positions of batch number ``batch`` in an epoch's order: ``batch_size`` of them, fewer
    for the last batch (the slice stops at the epoch's end by itself). ``batch`` may be an int
    or a framework's scalar tensor.

    >>> from dlcore.contract import batch_slice
    >>> list(range(10))[batch_slice(2, 4)]  # the last batch of 10 samples in batches of 4
    [8, 9]
    """
    return slice(batch * batch_size, (batch + 1) * batch_size)


def accumulation(batch: Any, accumulate: int, num_batches: Any) -> tuple[Any, Any]:
    """For batch number ``batch`` of an epoch of ``num_batches``: whether the optimizer updates
    after it (it ends a group of ``accumulate`` batches, or the epoch), and how many batches
    its group holds so far (the mean of their gradients is the update's). Written with
    operators only, so ``batch`` may be an int or a framework's scalar tensor.

    >>> from dlcore.contract import accumulation
    >>> [accumulation(batch, 2, 5) for batch in range(5)]
    [(False, 1), (True, 2), (False, 1), (True, 2), (True, 1)]
    """
    return ((batch + 1) % accumulate == 0) | (batch == num_batches - 1), batch % accumulate + 1


@dataclass
class Prepared:
    """Data in a backend's native form, ready to be batched.

    ``payload``: what :meth:`Backend.put` or :meth:`Backend.put_tokens` returned, or the
    user's own pipeline (``native=True``: iterated as it is, never shuffled or re-batched).
    ``num_samples`` is None when a native pipeline does not say. ``stream``: the core's
    reader of a dataset read while training (:class:`dlcore.data.streaming.Stream`), whose
    chunks each become data of their own through :meth:`Backend.put`; a backend never gets
    a Prepared with a stream.

    >>> from dlcore.contract import Prepared
    >>> data = Prepared(None, num_samples=10, batch_size=4)  # payload: what Backend.put returned
    >>> data.num_batches, data.batch_sizes(0, 3)
    (3, [4, 4, 2])
    """

    payload: Any
    num_samples: int | None
    batch_size: int
    native: bool = False
    stream: Any = None

    @property
    def num_batches(self) -> int | None:
        if self.num_samples is None:
            return None
        return math.ceil(self.num_samples / self.batch_size)

    def batch_slice(self, batch: Any) -> slice:
        """The positions of batch number ``batch`` in the epoch's order (:func:`batch_slice`)."""
        return batch_slice(batch, self.batch_size)

    def batch_sizes(self, first: int, count: int) -> list[int]:
        """The sizes of batches ``first`` .. ``first + count - 1`` (array data)."""
        n = self.num_samples or 0
        return [max(0, min((b + 1) * self.batch_size, n) - b * self.batch_size) for b in range(first, first + count)]


@dataclass
class Span:
    """``count`` consecutive batches of an epoch, starting with batch number ``first``.

    For array data, batch ``b`` holds the samples ``order[b * batch_size:(b + 1) *
    batch_size]`` (``order`` None: in stored order); the last batch of an epoch may be
    smaller. For a native pipeline, ``batches`` is the epoch's iterator: take the next
    ``count`` batches from it (fewer at its end). ``learning_rates``: the learning rate of
    each batch's update (with accumulation: the group's last batch's), on every training span
    of a backend that supports "learning_rates" (the core owns the rate: a backend is told it,
    and never reads it back from its optimizer); None otherwise.

    >>> from dlcore.contract import Prepared, Span
    >>> span = Span(Prepared(None, num_samples=10, batch_size=4), first=1, count=2)
    >>> [batch.tolist() for batch in span.indices()]
    [[4, 5, 6, 7], [8, 9]]
    """

    data: Prepared
    first: int
    count: int
    order: np.ndarray | None = None
    batches: Any = None
    learning_rates: np.ndarray | None = None  # per batch, for a backend that supports "learning_rates"

    def rates(self, backend: str) -> np.ndarray:
        """``learning_rates``, which a training span of a backend that supports "learning_rates"
        must carry (ConfigError naming ``backend`` otherwise)."""
        if self.learning_rates is None or len(self.learning_rates) < self.count:
            raise ConfigError(f"backend {backend!r} trains with the learning rate of each batch given in "
                              "Span.learning_rates; give one per batch of the span")
        return np.asarray(self.learning_rates, np.float64)

    @property
    def batch_numbers(self) -> range:
        """The numbers of the span's batches in the epoch."""
        return range(self.first, self.first + self.count)

    def indices(self) -> list[np.ndarray]:
        """Each batch's sample indices (int64), from the epoch's order (array data)."""
        positions = self.order if self.order is not None else np.arange(self.data.num_samples or 0)
        return [positions[self.data.batch_slice(b)] for b in self.batch_numbers]


@dataclass
class StepResults:
    """What a span of steps gives back, on the backend's device (no host sync needed):
    ``losses``, one mean loss per batch; ``statistics``, one array per metric of the config, in
    its order: the metric kernel's statistics summed over the span's batches (a metric of
    ``reduction="sum"``) or their rows joined (``"concat"``); ``sizes``, the batch sizes, only
    for native pipelines (the core knows the others).

    Example::

        def evaluate_steps(self, model, config, span):  # a Backend's, on numpy arrays
            x, y = span.data.payload
            batches = [(model.native(x[i]), y[i]) for i in span.indices()]
            losses = [config.loss_fn(logits, labels) for logits, labels in batches]
            statistics = [np.sum([fn(logits, labels) for logits, labels in batches], 0) for fn in config.metric_fns]
            return StepResults(np.array(losses), statistics)
    """

    losses: Any
    statistics: list[Any] | None = None
    sizes: list[int] | None = None


class Backend(ABC):
    """A framework behind dlcore. Subclass it, implement the abstract methods, and return an
    instance from your :class:`dlcore.BackendInfo`'s ``load``.

    The backend's kernels (:class:`dlcore.contract.Kernel`, registered by its plugin) give
    its models, losses, metrics and optimizers by name; the core resolves them and passes
    them in, so a backend never looks anything up.

    Example::

        class NumpyBackend(Backend):
            name = "numpy"

            def devices(self):
                return [Device("numpy", "cpu", 0, "cpu")]

            def put(self, features, labels, device):
                return features, labels

            ...  # and the other abstract methods

        @hookimpl
        def dlcore_backends():
            return [BackendInfo("numpy", NumpyBackend, requires=("numpy",))]
    """

    name: ClassVar[str]
    steps_per_call: ClassVar[int] = 1  # batches per train_steps / evaluate_steps call
    # Optional features this backend implements: "learning_rates" (every training span carries each
    # batch's rate in Span.learning_rates; without it the core calls set_learning_rate at the start
    # of each epoch, and with a per-step schedule runs one batch per call, each after its rate), "clip", "accumulate" (StepConfig),
    # "sample_weight" (put's weights=), and the precisions besides "32" it offers ("bf16-mixed",
    # "16-mixed").
    supports: ClassVar[frozenset[str]] = frozenset()

    # ----------------------------------------------------------------- facts

    @property
    def ops(self) -> Any:
        """This backend's table of :mod:`dlcore.ops` (a :class:`dlcore.ops.Table`), through which
        layers, losses, metrics and optimizer rules written on ops run on it; None where the
        backend has none (then only its own kernels run)."""
        return None

    @abstractmethod
    def devices(self) -> list[Device]:
        """Every device this backend can run on, CPU included."""

    @abstractmethod
    def versions(self) -> dict[str, str]:
        """Versions of the framework packages, by package name (recorded in checkpoints)."""

    def info(self) -> dict[str, str]:
        """Further facts for ``dlcore info`` (e.g. ``{"eager mode": "True"}``)."""
        return {}

    def device(self, name: str | None = "auto", kinds: Iterable[DeviceKind] = DEVICE_KINDS) -> Device:
        """Resolve a device name ("auto", "cpu", "cuda:0", "GPU:0", ...) on this backend
        (``kinds``: the registered device kinds; the trainer passes every plugin's)."""
        return resolve_device(self.devices(), name or "auto", self.name, kinds)

    def seed(self, seed: int) -> None:
        """Seed the framework's own random numbers (dlcore draws initial weights itself)."""

    def set_deterministic(self, enabled: bool) -> None:
        """Turn the framework's deterministic mode on or off (``Trainer(deterministic=True)``).
        Raise ConfigError if it has none."""
        raise ConfigError(f"backend {self.name!r} does not offer a deterministic mode")

    def check_precision(self, precision: str, device: Device) -> None:
        """Raise ConfigError if ``precision`` (other than "32") cannot run on ``device``."""
        if precision not in self.supports:
            offered = ", ".join(sorted(p for p in self.supports if "mixed" in p)) or "none"
            raise ConfigError(f"backend {self.name!r} does not train in precision {precision!r} "
                              f"(mixed precisions it offers: {offered}); use precision='32'")

    # ---------------------------------------------------------------- models

    def build(self, spec: ModelSpec, device: Device, builder: Callable[[ModelSpec], Any]) -> Model:
        """A Model of ``spec`` on ``device``, made by ``builder``, this backend's ``"model"``
        kernel for ``spec.kind`` (the core resolves it and sets the initial weights next)."""
        model = self.wrap(builder(spec), spec)
        if model is None:
            raise ConfigError(f"backend {self.name!r}: its {spec.kind!r} model kernel built no model it can wrap")
        return model

    @abstractmethod
    def wrap(self, native: Any, spec: ModelSpec | None = None, loss: str | None = None) -> Model | None:
        """A :class:`dlcore.Model` around ``native`` if it is a model of this framework (one a
        kernel built for ``spec``, or the user's own), else None."""

    @abstractmethod
    def place(self, model: Model, device: Device) -> None:
        """Move ``model`` to ``device`` if it is elsewhere."""

    @abstractmethod
    def get_weights(self, model: Model) -> dict[str, np.ndarray]:
        """The model's parameters as numpy copies, under canonical names and layouts (for a
        spec: ``spec.parameter_shapes()``)."""

    @abstractmethod
    def set_weights(self, model: Model, weights: dict[str, np.ndarray]) -> None:
        """Load canonical weights; raise CheckpointError listing every missing, unexpected or
        misshapen tensor (:func:`dlcore.contract.check_weights` does it) before changing any."""

    # ------------------------------------------------------------------ data

    @abstractmethod
    def put(self, features: np.ndarray, labels: np.ndarray, device: Device) -> Any:
        """Features (float32; int64 ids for a spec whose first layer is an embedding) and labels
        (int64 class indices, float32 one-hot rows or 0/1 values, or float32 regression
        targets) as native tensors on ``device``, once per dataset; the result is the payload
        of the spans' data. A backend that lists ``"sample_weight"`` in ``supports`` also takes
        ``weights=`` (float32, one per sample) for training data, and passes each batch's to
        the loss kernel: ``loss_fn(logits, labels, weights=batch_weights)``."""

    def put_tokens(self, ids: np.ndarray, splits: np.ndarray, labels: np.ndarray, device: Device) -> Any:
        """Tokenized texts (flat int64 ``ids``; text i is ``ids[splits[i]:splits[i + 1]]``)
        and labels on ``device``, for text models (``weights=`` as :meth:`put`). Optional."""
        raise ConfigError(f"backend {self.name!r} does not train text models")

    def native_data(self, data: Any, batch_size: int, training: bool, shuffle: bool, seed: int | None) -> Prepared | None:
        """The user's own data pipeline as ``Prepared(..., native=True)``, or None if
        ``data`` is not one of this framework's. Optional."""
        return None

    def native_data_names(self) -> str:
        """The native data types accepted, for error messages."""
        return "nothing else"

    def native_model_names(self) -> str:
        """The native model types accepted, for error messages."""
        return "nothing else"

    def export_native(self, model: Model, path: Path) -> Path | None:
        """Write the user's own model (``model.spec`` is None) at ``path`` in its framework's
        format, atomically, if the suffix names that format (a Keras model's ``.keras``);
        else None: the core writes its weights in the registered format of the suffix."""
        return None

    # ----------------------------------------------------------------- steps

    @abstractmethod
    def train_steps(self, model: Model, config: StepConfig, span: Span) -> StepResults:
        """Train on the span's batches, one optimizer step each (``model.optimizer``, made by
        this backend's optimizer kernel), in training mode, on ``model.device``."""

    @abstractmethod
    def evaluate_steps(self, model: Model, config: StepConfig, span: Span) -> StepResults:
        """The span's losses and metric statistics in inference mode, tracking no gradients."""

    @abstractmethod
    def predict_steps(self, model: Model, span: Span) -> Any:
        """The logits of the span's samples, concatenated, in inference mode."""

    @abstractmethod
    def to_numpy(self, value: Any) -> np.ndarray:
        """A backend array (losses, statistics, logits) as a numpy array."""

    # ------------------------------------------------------------- optimizer

    def set_learning_rate(self, model: Model, lr: float) -> None:
        """Make ``model.optimizer`` use ``lr`` from its next step on: what the core calls at the
        start of each epoch (before each batch with a per-step schedule) on a backend that does
        not support "learning_rates" (one that does is told each batch's rate with the span, and
        needs no such method)."""
        raise ConfigError(f"backend {self.name!r} takes no learning rate: implement set_learning_rate, or support "
                          "\"learning_rates\" and read each batch's rate from Span.learning_rates")

    @abstractmethod
    def optimizer_state(self, model: Model) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """``model.optimizer``'s state in the canonical layout (:mod:`dlcore.optimizers`):
        arrays named ``"{parameter}/{slot}"`` (canonical parameter names and layouts, trainable
        parameters only) and ``{"step": number of updates made}``."""

    @abstractmethod
    def load_optimizer_state(self, model: Model, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        """Restore canonical state (what any backend's :meth:`optimizer_state` returned) into
        ``model.optimizer``; raise CheckpointError if it does not fit
        (``dlcore.optimizers.check_state`` checks it)."""


__all__ = ["Backend", "Model", "Prepared", "Span", "StepConfig", "StepResults", "accumulation", "batch_slice",
           "check_weights"]
