"""Every extension point of dlcore, one hook each.

A plugin is a module (or object) with functions marked ``@dlcore.hookimpl``, found through an
entry point in the ``dlcore`` group of its distribution::

    [project.entry-points.dlcore]
    myplugin = "mypackage.dlcore_plugin"

dlcore's own features are registered through the same hooks: the core's by
:mod:`dlcore.plugins.builtin`, each backend's by its own package, which
dlcore finds through their entry points exactly as it finds a third party's.

Every hook takes no arguments and returns a list of records (:mod:`dlcore.contract.records`,
which also says what each kind of kernel must be); dlcore calls all implementations (all
results, no first-result hooks) once, when the registry is built
(:func:`dlcore.plugins.registry`), and keeps every record under its name. When two plugins give one name
(one backend name, one file suffix, one kernel for the same name and backend, ...) the first
loaded keeps it, the other is reachable as ``"plugin:name"``, and one warning names both. Hooks must be cheap: import no framework; name what is
expensive as ``"module:attribute"`` strings (or callables that import it), which dlcore
imports only when the record is used.

``DLCORE_DISABLED_PLUGINS=name1,name2`` keeps the named entry points (e.g. ``tensorflow``)
from loading.
"""

from __future__ import annotations

import pluggy

from ..contract.records import (
    BackendInfo, DatasetInfo, DatasetSource, DeviceKind, EmbeddingSource, Kernel, LayerKind, LoggerInfo, Loss, Metric,
    ModelKind, Optimizer, StrategyInfo, WeightFormat,
)

PROJECT = "dlcore"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)
"""The decorator that marks a plugin's hook implementations (also ``dlcore.hookimpl``):
``@hookimpl`` above ``def dlcore_losses(): return [Loss(...)]``."""


@hookspec
def dlcore_backends() -> list[BackendInfo]:
    """Backends this plugin provides.

    :return: :class:`dlcore.contract.BackendInfo` records. ``load`` imports the framework and returns
        a :class:`dlcore.contract.Backend`; dlcore calls it only when the backend is selected.

    Called when a backend is selected or listed. Example::

        return [BackendInfo("numpy", "dlcore_numpy:NumpyBackend", requires=("numpy",))]
    """


@hookspec
def dlcore_model_kinds() -> list[ModelKind]:
    """Kinds of framework-neutral model specs.

    :return: :class:`dlcore.contract.ModelKind` records: the name stored in checkpoints and the
        spec class (a frozen dataclass subclassing :class:`dlcore.ModelSpec`). Each backend
        builds a kind through a :class:`dlcore.contract.Kernel` of kind ``"model"``.

    Called when a checkpoint's spec is read. Example::

        return [ModelKind("cnn", MyCNNSpec)]
    """


@hookspec
def dlcore_layer_kinds() -> list[LayerKind]:
    """Kinds of layers that ``dlcore.models.sequential([...])`` composes.

    :return: :class:`dlcore.contract.LayerKind` records: the name stored in checkpoints and the
        layer class (a frozen dataclass subclassing :class:`dlcore.models.Layer`, which gives
        its output shape, canonical parameter shapes and initial values). Each backend builds a
        kind through a :class:`dlcore.contract.Kernel` of kind ``"layer"``.

    Called when a sequential spec is read from a checkpoint. Example::

        return [LayerKind("scale", ScaleLayer)]
    """


@hookspec
def dlcore_losses() -> list[Loss]:
    """Loss functions, by name, as ``Trainer(loss=NAME)`` accepts them.

    :return: :class:`dlcore.contract.Loss` definitions (name, formula, which labels it takes:
        classes, 0/1 for ``binary``, target values for ``regression``). Backends implement
        them with kernels of kind ``"loss"``: ``loss(logits, labels) -> mean loss``.

    Called when a Trainer is created. Example::

        return [Loss("hinge", "mean(max(0, 1 - y * logit)), y in {-1, 1}", binary=True)]
    """


@hookspec
def dlcore_metrics() -> list[Metric]:
    """Metrics, by name, as ``Trainer(metrics=[NAME, ...])`` accepts them.

    :return: :class:`dlcore.contract.Metric` definitions: how a batch's statistics (computed on
        the device by kernels of kind ``"metric"``: ``metric(logits, labels) -> statistics``)
        combine over an epoch (summed, or rows joined) and how they and the number of samples
        become the metric (numpy, in the core).

    Called when a Trainer is created. Example::

        return [Metric("error_rate", lambda stats, count: stats[0] / count)]  # kernels give (errors,)
    """


@hookspec
def dlcore_optimizers() -> list[Optimizer]:
    """Optimizers, by name, as ``Trainer(optimizer=NAME)`` and
    ``dlcore.optimizers.OptimizerConfig(NAME, lr, **settings)`` accept them.

    :return: :class:`dlcore.contract.Optimizer` definitions: default hyper-parameters, optional
        ones, and the update formula. Backends implement them with kernels of kind
        ``"optimizer"``: ``make(model, lr, **settings) -> the backend's optimizer``; the state
        of an optimizer dlcore does not define travels in the saving backend's own slots
        (``dlcore.optimizers`` documents the canonical ones).

    Called when a Trainer is created. Example::

        return [Optimizer("lion", {"beta1": 0.9, "beta2": 0.99}, "w -= lr * sign(b1 m + (1 - b1) g); ...",
                          {"weight_decay": 0.0})]
    """


@hookspec
def dlcore_kernels() -> list[Kernel]:
    """A backend's implementations of named models, losses, metrics and optimizers.

    :return: :class:`dlcore.contract.Kernel` records ``(kind, name, backend, impl)``, where
        kind is ``"model"``, ``"loss"``, ``"metric"`` or ``"optimizer"`` and ``impl`` (a
        ``"module:attribute"`` string, imported on first use) is what
        :mod:`dlcore.contract.records` says such a kernel is.

    Called when the registry is built; the trainer resolves the kernels a run needs before its
    first step. Example::

        return [Kernel("metric", "error_rate", "torch", "my_metrics.torch:error_rate")]
    """


@hookspec
def dlcore_datasets() -> list[DatasetInfo]:
    """Datasets, by name, for ``dlcore.datasets.load(NAME)`` and ``dlcore train NAME``.

    :return: :class:`dlcore.contract.DatasetInfo` records: a loader returning ``(train,
        test)``, the model and training recipe ``dlcore train`` uses by default.

    Called when a dataset is loaded or the command line lists its workloads. Example::

        return [DatasetInfo("mnist", "my_datasets:mnist", "MNIST digits, 60000/10000")]
    """


@hookspec
def dlcore_dataset_sources() -> list[DatasetSource]:
    """Further places a registered dataset's files can come from.

    :return: :class:`dlcore.contract.DatasetSource` records: for dataset ``dataset``, a
        ``find()`` returning a location or None, and ``read(location)`` returning ``(train,
        test)``. A dataset's loader consults its sources where its documentation says.

    Called when the dataset is loaded without a path. Example::

        return [DatasetSource("imdb", "tensorflow-datasets", find_prepared, read_prepared)]
    """


@hookspec
def dlcore_embedding_sources() -> list[EmbeddingSource]:
    """Where ``dlcore.embeddings.load(NAME)`` finds pretrained text embeddings.

    :return: :class:`dlcore.contract.EmbeddingSource` records: ``accepts(name)`` says
        whether the source reads ``name``; ``load(name, trainable=, vocabulary=)`` returns a
        :class:`dlcore.embeddings.TextEmbedding`. Sources are asked by ``priority``, lowest
        first.

    Called when ``embeddings.load`` first looks for a source. Example::

        return [EmbeddingSource("fasttext", lambda n: n.endswith(".vec"), "my_fasttext:load")]
    """


@hookspec
def dlcore_weight_formats() -> list[WeightFormat]:
    """File formats for ``Trainer.load`` and ``Trainer.export``, by suffix.

    :return: :class:`dlcore.contract.WeightFormat` records: suffixes, ``read(path, spec)``
        returning ``(canonical weights, spec or None)`` and ``write(path, weights, spec)``.

    Called when a weight file is read or written. Example::

        return [WeightFormat("safetensors", (".safetensors",), "my_formats:read", "my_formats:write")]
    """


@hookspec
def dlcore_device_kinds() -> list[DeviceKind]:
    """Kinds of devices that device names may name (``cpu``, ``gpu``, ``mps``, ...).

    :return: :class:`dlcore.contract.DeviceKind` records: the kind, its spellings, and its
        rank for ``device="auto"`` (lowest first). A backend lists its devices of any kind.

    Called when a device name is read. Example::

        return [DeviceKind("xpu", ("xpu",), rank=1)]
    """


@hookspec
def dlcore_strategies() -> list[StrategyInfo]:
    """Ways to train over several processes: ``Trainer(strategy=name)``, ``dlcore train
    --workers N``.

    :return: :class:`dlcore.contract.StrategyInfo` records: the name (and aliases), the backend
        whose steps it drives, the :class:`dlcore.contract.Strategy` class, whether the launcher
        may start it, and the Ray Train trainer that sets up its group on a Ray cluster.

    Called when a trainer is given a strategy. Example::

        return [StrategyInfo("fsdp", "torch", "my_plugin.fsdp:FSDPStrategy")]
    """


@hookspec
def dlcore_loggers() -> list[LoggerInfo]:
    """Loggers a run can record itself with: ``dlcore train --loggers NAME``.

    :return: :class:`dlcore.contract.LoggerInfo` records: the name, and ``load(run_dir)``
        returning the :class:`dlcore.Callback` that logs the run whose folder is ``run_dir``.

    Called when a run's loggers are set up. Example::

        return [LoggerInfo("mlflow", "my_plugin.mlflow:MLflowLogger", "MLflow tracking", ("mlflow",))]
    """


__all__ = ["PROJECT", "hookimpl", "hookspec", "dlcore_backends", "dlcore_dataset_sources", "dlcore_datasets",
           "dlcore_device_kinds", "dlcore_embedding_sources", "dlcore_kernels", "dlcore_layer_kinds", "dlcore_loggers", "dlcore_losses", "dlcore_metrics",
           "dlcore_model_kinds", "dlcore_optimizers", "dlcore_strategies", "dlcore_weight_formats"]
