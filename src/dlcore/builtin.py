"""dlcore's own plugin: the core's models, losses, metrics, optimizers, datasets, embedding
sources, the checkpoint format and device kinds, registered through the same hooks as any
other plugin's (:mod:`dlcore.hookspecs`)."""

from __future__ import annotations

from typing import Any

from .hookspecs import hookimpl


@hookimpl
def dlcore_model_kinds() -> list[Any]:
    from .models import KINDS

    return list(KINDS)


@hookimpl
def dlcore_losses() -> list[Any]:
    from .kernels import LOSSES

    return list(LOSSES)


@hookimpl
def dlcore_metrics() -> list[Any]:
    from .kernels import METRICS

    return list(METRICS)


@hookimpl
def dlcore_optimizers() -> list[Any]:
    from .kernels import OPTIMIZERS

    return list(OPTIMIZERS)


@hookimpl
def dlcore_datasets() -> list[Any]:
    from .datasets import DATASETS

    return list(DATASETS)


@hookimpl
def dlcore_embedding_sources() -> list[Any]:
    from .embeddings import SOURCES

    return list(SOURCES)


@hookimpl
def dlcore_weight_formats() -> list[Any]:
    from .formats import FORMATS

    return list(FORMATS)


@hookimpl
def dlcore_device_kinds() -> list[Any]:
    from .devices import KINDS

    return list(KINDS)
