"""The records a plugin's hooks return (:mod:`dlcore.hookspecs`), one class per extension point.

Every record is a frozen dataclass of plain values. Where a record names code that is costly
to import (a framework, a dataset reader), it may give a ``"module:attribute"`` string instead
of the object; dlcore imports it when the record is first used, and a string that names nothing
is a :class:`PluginError` naming the plugin and the record.

Kernels
-------
A :class:`Kernel` is one backend's implementation of a named model kind, loss, metric or
optimizer. The core resolves every kernel a ``fit``, ``evaluate`` or ``predict`` needs before
the first step and hands the objects to the backend (``Backend.build``'s ``builder``,
``StepConfig.loss_fn`` and ``metric_fns``, ``model.optimizer``), so a backend never looks one
up. What each kind of kernel is, on every backend (tensors are the backend's own):

========== ============================================ ==========================================
kind       signature                                    returns
========== ============================================ ==========================================
model      ``build(spec)``                              the native model of a spec (an
                                                        ``nn.Module``, a ``keras.Model``, ...),
                                                        which ``Backend.wrap`` accepts; for a
           ``build(spec, layer_kernels)``               ``sequential`` or ``graph`` spec also the
                                                        kernels of its layers, in the order of
                                                        ``spec.graph.layers``
layer      ``build(layer, input_shape)``                the backend's layer for the layer spec
                                                        ``layer`` (:mod:`dlcore.models.layers`),
                                                        given its input's canonical shape
                                                        (channels first, no batch axis; a tuple
                                                        of shapes for a layer given several);
                                                        the backend's graph executor composes
                                                        them (:func:`dlcore.models.graph.execute`)
loss       ``loss(logits, labels, weights=None)``       the batch's mean loss, a scalar; logits
                                                        float32 (batch, outputs), labels as
                                                        ``Backend.put`` placed them; with
                                                        ``weights`` (one per sample), the mean
                                                        of each sample's loss times its weight
                                                        (needed only by a backend that supports
                                                        "sample_weight")
metric     ``metric(logits, labels)``                   the batch's statistics, a float or int
                                                        array: of one fixed shape for
                                                        ``Metric.reduction="sum"`` (summed over
                                                        the epoch: accuracy gives ``(correct,)``,
                                                        precision a (C, C) confusion matrix), or
                                                        one row per sample for ``"concat"``
                                                        (joined: AUC gives (batch, C + 1))
optimizer  ``make(model, lr, **settings)``              the backend's optimizer for
                                                        ``model``, stored as ``model.optimizer``
========== ============================================ ==========================================

A loss or metric written on :mod:`dlcore.ops` (``Loss.fn``, ``Metric.statistics``) needs no
kernel: on a backend without one it runs through the backend's table of ops (``Backend.ops``);
a kernel of its name, where a backend has one, is that backend's faster path.

An optimizer kernel is given the learning rate and every setting of the :class:`Optimizer`
record's ``defaults`` (always) and ``options`` (only those the user set to something else than
their default). dlcore's optimizers and their settings (defaults in brackets):

- ``sgd``: options ``momentum`` [0], ``nesterov`` [False], ``weight_decay`` [0];
- ``adam``: ``beta1`` [0.9], ``beta2`` [0.999], ``eps`` [1e-8]; options ``weight_decay`` [0],
  ``amsgrad`` [False];
- ``adamw``: ``beta1``, ``beta2``, ``eps`` as Adam, ``weight_decay`` [0.01]; option ``amsgrad``;
- ``rmsprop``: ``alpha`` [0.99], ``eps`` [1e-8]; options ``momentum``, ``centered``,
  ``weight_decay``.

An optimizer with a ``rule`` (:mod:`dlcore.training.rules`) needs no kernel of its own: a
backend's optimizer kernel named ``"ops"``, ``make(model, lr, rule, slots, **settings)``, applies
any rule (``slots``: the rule's slot names for these settings; ``settings``: all of them).

An optimizer counts its updates: ``Backend.optimizer_state`` returns that number as
``{"step": n}`` and ``load_optimizer_state`` restores it (dlcore's torch kernels keep it in
the optimizer's ``updates`` attribute; without it a checkpoint records step 0 and Adam's bias
correction restarts). :func:`standard_kernels` lists a backend's kernels for every loss, metric
and optimizer dlcore defines, by the function names of one module.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable

from .errors import ConfigError

KERNEL_KINDS = ("model", "layer", "loss", "metric", "optimizer")
"""The kinds of :class:`Kernel`; what a kernel of each kind is, is in the table above."""


@dataclass(frozen=True)
class BackendInfo:
    """What a plugin tells dlcore about one backend, before its framework is imported.

    ``load``: a callable, or a ``"module:attribute"`` string, giving the
    :class:`dlcore.contract.Backend` (an instance, or a class to instantiate); called only
    when the backend is selected. ``requires``: top-level modules that must be installed.
    ``extra``: the pip extra of ``distribution`` that installs them. ``priority``: lower is
    preferred when no backend is named.

    A plugin's ``dlcore_backends`` hook returns it, as dlcore's torch plugin does. Example::

        @hookimpl
        def dlcore_backends():
            return [BackendInfo("mxnet", "my_backend.backend:MXNetBackend", requires=("mxnet",),
                                aliases=("mx",), priority=30)]
    """

    name: str
    load: Callable[[], Any] | str
    requires: tuple[str, ...] = ()
    extra: str | None = None
    aliases: tuple[str, ...] = ()
    priority: int = 100
    description: str = ""
    distribution: str = "dlcore-ml"  # the distribution whose extra installs it

    def missing_modules(self) -> list[str]:
        """Top-level modules this backend needs that are not installed."""
        return [m for m in self.requires if importlib.util.find_spec(m) is None]

    @property
    def available(self) -> bool:
        return not self.missing_modules()

    @property
    def install_hint(self) -> str:
        """How to install what the backend needs."""
        if self.extra:
            return f"pip install '{self.distribution}[{self.extra}]'"
        return "pip install " + " ".join(self.requires) if self.requires else "reinstall its plugin"


@dataclass(frozen=True)
class ModelKind:
    """A kind of spec: its name (``spec.kind``, as stored in checkpoints) and its class (a
    frozen dataclass subclassing :class:`dlcore.ModelSpec`, or a ``"module:attribute"``
    string). Each backend builds a kind through a :class:`Kernel` of kind ``"model"``.

    Example::

        @hookimpl
        def dlcore_model_kinds():
            return [ModelKind("cnn", "mypackage.specs:CNN", "convolutions -> dense layers -> logits")]
    """

    name: str
    spec_class: type[Any] | str
    description: str = ""


@dataclass(frozen=True)
class LayerKind:
    """A kind of layer of ``models.sequential([...])``: its name (``layer.kind``, as stored in
    checkpoints) and its class (a frozen dataclass subclassing :class:`dlcore.models.Layer`, or
    a ``"module:attribute"`` string). Each backend builds a kind through a :class:`Kernel` of
    kind ``"layer"``.

    Example::

        @hookimpl
        def dlcore_layer_kinds():
            return [LayerKind("scale", "mypackage.layers:Scale", "a weight per feature")]
    """

    name: str
    layer_class: type[Any] | str
    description: str = ""


@dataclass(frozen=True)
class Loss:
    """A loss on logits, by name. ``binary``: one logit per sample and 0/1 labels.
    ``regression``: the labels are target values (float32, shape (N,) or (N, outputs)), not
    classes. Otherwise one logit per class and class-index or one-hot labels.

    ``fn``: the loss written on :mod:`dlcore.ops`, ``fn(ops, outputs, targets, weights=None)
    -> the batch's mean loss`` (with ``weights``, one per sample: the mean of each sample's loss
    times its weight), ``ops`` being the :mod:`dlcore.ops` module; it runs on every backend with
    a table of ops where the backend has no kernel of that name. ``settings``: the Trainer
    settings ``fn`` (and the kernels) take as keywords, e.g. cross-entropy's
    ``label_smoothing``; the Trainer refuses them for another loss.

    Example::

        @hookimpl
        def dlcore_losses():
            return [Loss("hinge", "mean(max(0, 1 - y * logit)), y in {-1, 1}", binary=True,
                         fn="my_losses:hinge")]
    """

    name: str
    formula: str
    binary: bool = False
    regression: bool = False
    fn: Callable[..., Any] | str | None = None
    settings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Metric:
    """A metric, by name. Its kernel gives each batch's statistics on the device (see the
    table above); they are summed over the epoch (``reduction="sum"``) or their rows joined
    (``"concat"``), then ``result(statistics, number of samples)`` turns them into the
    metric's value, in numpy, once per epoch. ``statistics``: the statistics written on
    :mod:`dlcore.ops`, ``statistics(ops, outputs, targets) -> array``, run on a backend with a
    table of ops and no kernel of that name. Both may be ``"module:attribute"`` strings.
    Example::

        @hookimpl
        def dlcore_metrics():
            return [Metric("error_rate", lambda stats, count: stats[0] / count,
                           description="(errors,): argmax of the logits differs from the label")]
    """

    name: str
    result: Callable[[Any, int], Any] | str
    reduction: str = "sum"
    description: str = ""
    statistics: Callable[..., Any] | str | None = None

    def __post_init__(self) -> None:
        if self.reduction not in ("sum", "concat"):
            raise ConfigError(f"metric {self.name!r}: reduction must be 'sum' or 'concat', got {self.reduction!r}")


@dataclass(frozen=True)
class Optimizer:
    """An optimizer, by name: its settings besides the learning rate with their defaults, and
    its update formula, which every backend applies. ``defaults`` are always given to a
    backend's kernel; ``options`` only when the user sets them to something else than their
    default (a kernel that lacks one is refused with a clear error, unless there is a rule).

    ``rule``: the update written once on :mod:`dlcore.ops` (a
    :class:`dlcore.training.rules.Rule`, or a ``"module:attribute"`` string naming one), which
    a backend without a kernel of this optimizer's name applies. ``lr``: the default learning
    rate (None: the trainer's).

    Example::

        @hookimpl
        def dlcore_optimizers():
            return [Optimizer("lion", {"beta1": 0.9, "beta2": 0.99, "weight_decay": 0.0},
                              "w -= lr * (sign(b1 m + (1 - b1) g) + wd w); m = b2 m + (1 - b2) g",
                              rule="mypackage.lion:LION", lr=1e-4)]
    """

    name: str
    defaults: dict[str, Any] = field(default_factory=dict)
    formula: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    rule: Any = None
    lr: float | None = None


@dataclass(frozen=True)
class Kernel:
    """``backend``'s implementation of the ``kind`` (``"model"``, ``"layer"``, ``"loss"``,
    ``"metric"`` or ``"optimizer"``) named ``name``; ``impl`` is the object or a
    ``"module:attribute"`` string. What it must be, per kind, is in this module's docstring.

    Example::

        @hookimpl
        def dlcore_kernels():
            return [Kernel("metric", "error_rate", "torch", "my_metrics.torch:error_rate")]
    """

    kind: str
    name: str
    backend: str
    impl: Any

    def __post_init__(self) -> None:
        if self.kind not in KERNEL_KINDS:
            raise ConfigError(f"kernel kind must be one of {', '.join(KERNEL_KINDS)}, got {self.kind!r}")

    @property
    def key(self) -> Hashable:
        return (self.kind, self.name, self.backend)


@dataclass(frozen=True)
class DatasetInfo:
    """A dataset by name, for ``dlcore.datasets.load(NAME)`` and ``dlcore train NAME``.

    ``load(path=None, *, download=True, progress=None)`` returns ``(train, test)`` dlcore
    Datasets (``path``: where the files are, else the dataset's own search). ``defaults``:
    the training recipe of ``dlcore train NAME`` (epochs, batch_size, optimizer, lr,
    validation). ``model(train, options)`` returns the spec it trains (``options``: the
    command line's ``embedding`` and ``trainable``); None gives an MLP sized for the data.
    Both callables may be ``"module:attribute"`` strings.

    Example::

        @hookimpl
        def dlcore_datasets():
            return [DatasetInfo("mnist", "my_datasets:mnist", "MNIST digits: 60000/10000 28x28 images",
                                {"epochs": 5, "batch_size": 64, "optimizer": "sgd"})]
    """

    name: str
    load: Callable[..., Any] | str
    description: str = ""
    defaults: dict[str, Any] = field(default_factory=dict)
    model: Callable[..., Any] | str | None = None


@dataclass(frozen=True)
class DatasetSource:
    """Another place the files of the registered dataset ``dataset`` can come from: ``find()``
    returns a location or None; ``read(location)`` returns ``(train, test)``. Both may be
    ``"module:attribute"`` strings, as the TensorFlow plugin gives them. Example::

        @hookimpl
        def dlcore_dataset_sources():
            return [DatasetSource("imdb", "my-mirror", "my_plugin.imdb:find_mirror", "my_plugin.imdb:read_mirror")]
    """

    dataset: str
    name: str
    find: Callable[[], Any] | str
    read: Callable[[Any], Any] | str
    description: str = ""

    @property
    def key(self) -> Hashable:
        return (self.dataset, self.name)


@dataclass(frozen=True)
class EmbeddingSource:
    """Where ``dlcore.embeddings.load(NAME)`` finds embeddings: ``accepts(name)`` says whether
    this source reads ``name``; ``load(name, *, trainable, vocabulary, combiner, oov_buckets)``
    returns a ``dlcore.embeddings.TextEmbedding`` (``vocabulary``: a list of texts or None).
    Sources are asked by ``priority``, lowest first.

    Example::

        @hookimpl
        def dlcore_embedding_sources():
            return [EmbeddingSource("fasttext", lambda name: name.endswith(".vec"), "my_fasttext:load")]
    """

    name: str
    accepts: Callable[[str], bool]
    load: Callable[..., Any] | str
    priority: int = 50
    description: str = ""


@dataclass(frozen=True)
class WeightFormat:
    """A file format for weights, by suffix. ``read(path, spec)`` returns ``(canonical
    weights, the spec the file describes or None)``; ``write(path, weights, spec)`` writes
    atomically and returns the path. Both may be ``"module:attribute"`` strings, and need the
    modules in ``requires`` (installed by ``install_hint``).

    Example::

        @hookimpl
        def dlcore_weight_formats():
            return [WeightFormat("safetensors", (".safetensors",), "my_formats:read", "my_formats:write",
                                 requires=("safetensors",), install_hint="pip install safetensors")]
    """

    name: str
    suffixes: tuple[str, ...]
    read: Callable[..., Any] | str
    write: Callable[..., Any] | str
    requires: tuple[str, ...] = ()
    install_hint: str = ""
    description: str = ""


@dataclass(frozen=True)
class LoggerInfo:
    """A logger of training runs, for ``dlcore train --loggers NAME`` (``[callbacks] loggers``
    of a run's config): ``load(run_dir)`` returns the :class:`dlcore.Callback` that records a
    run whose folder is ``run_dir`` (a :class:`pathlib.Path`); it may be a ``"module:attribute"``
    string and needs the modules in ``requires`` (installed by ``install_hint``).

    Example::

        LoggerInfo("mlflow", "my_plugin.mlflow:MLflowLogger", "MLflow runs", ("mlflow",), "pip install mlflow")
    """

    name: str
    load: Callable[..., Any] | str
    description: str = ""
    requires: tuple[str, ...] = ()
    install_hint: str = ""


@dataclass(frozen=True)
class StrategyInfo:
    """A way to train over several processes (:class:`dlcore.contract.Strategy`) on one backend.

    ``load``: the Strategy class, or a ``"module:attribute"`` string naming it. ``backend``: the
    backend whose steps it drives. ``launch``: whether ``dlcore train --workers N`` (and the
    Ray launcher) may start it, one process each; the first such strategy of a backend is the
    one ``--workers`` uses. ``ray_trainer``: the Ray Train trainer class that sets up its
    group on a Ray cluster (``"ray.train.torch:TorchTrainer"``), if it has one.

    A plugin's ``dlcore_strategies`` hook returns it, as dlcore's torch plugin does. Example::

        @hookimpl
        def dlcore_strategies():
            return [StrategyInfo("fsdp", "torch", "my_plugin.fsdp:FSDPStrategy",
                                 ray_trainer="ray.train.torch:TorchTrainer")]
    """

    name: str
    backend: str
    load: Callable[[], Any] | str
    aliases: tuple[str, ...] = ()
    launch: bool = True
    ray_trainer: str | None = None
    description: str = ""


@dataclass(frozen=True)
class DeviceKind:
    """A kind of device: its name, the spellings a device name may use, and its rank for
    ``device="auto"`` (lowest first).

    Example::

        @hookimpl
        def dlcore_device_kinds():
            return [DeviceKind("xpu", ("xpu",), rank=1)]
    """

    name: str
    spellings: tuple[str, ...] = ()
    rank: int = 50


STANDARD = {  # dlcore's own losses, metrics and optimizers -> the function of a backend's kernels module
    **{("loss", name): name for name in ("cross_entropy", "binary_cross_entropy", "mse", "mae", "huber")},
    ("metric", "accuracy"): "accuracy", ("metric", "top_k_accuracy"): "top_k_accuracy",
    **{("metric", name): "confusion" for name in ("precision", "recall", "f1", "confusion_matrix")},
    ("metric", "auc"): "scores",
    **{("metric", name): "regression_sums" for name in ("mae", "rmse", "r2")},
    **{("optimizer", name): name for name in ("sgd", "adam", "adamw", "rmsprop")},
}
"""dlcore's own losses, metrics and optimizers, by ``(kind, name)``, each with the function of a
backend's kernels module that implements it (one function may serve several:
``("metric", "recall")`` is ``"confusion"``); :func:`standard_kernels` reads it."""


def standard_kernels(backend: str, module: str, models: dict[str, str]) -> list[Kernel]:
    """A backend's kernels for every loss, metric and optimizer dlcore defines, as the functions
    of ``module`` that :data:`STANDARD` names (``accuracy``, ``confusion`` for precision, recall,
    F1 and the confusion matrix, ``scores`` for AUC, ``regression_sums`` for MAE, RMSE and R2,
    ...), plus its model builders by spec kind (``{"mlp": "mypackage.models:build_mlp"}``). A
    backend's ``dlcore_kernels`` hook returns them, with its layer kernels.

    >>> from dlcore.contract import standard_kernels
    >>> kernels = standard_kernels("numpy", "mypackage.kernels", {"mlp": "mypackage.models:build_mlp"})
    >>> kernels[0]
    Kernel(kind='model', name='mlp', backend='numpy', impl='mypackage.models:build_mlp')
    >>> [kernel.impl for kernel in kernels if kernel.name == "recall"]
    ['mypackage.kernels:confusion']
    """
    return ([Kernel("model", kind, backend, impl) for kind, impl in models.items()]
            + [Kernel(kind, name, backend, f"{module}:{function}") for (kind, name), function in STANDARD.items()])


__all__ = ["BackendInfo", "DatasetInfo", "DatasetSource", "DeviceKind", "EmbeddingSource", "KERNEL_KINDS", "Kernel",
           "LayerKind", "LoggerInfo", "Loss", "Metric", "ModelKind", "Optimizer", "STANDARD", "StrategyInfo", "WeightFormat",
           "standard_kernels"]
