"""dlcore's own plugin: the core's models, losses, metrics, optimizers, datasets, embedding
sources, the checkpoint format and device kinds, registered through the same hooks as any
other plugin's (:mod:`dlcore.hookspecs`)."""

from __future__ import annotations

from .hookspecs import hookimpl


@hookimpl
def dlcore_model_kinds():
    from .models import KINDS

    return list(KINDS)


@hookimpl
def dlcore_losses():
    from .kernels import LOSSES

    return list(LOSSES)


@hookimpl
def dlcore_metrics():
    from .kernels import METRICS

    return list(METRICS)


@hookimpl
def dlcore_optimizers():
    from .kernels import OPTIMIZERS

    return list(OPTIMIZERS)


@hookimpl
def dlcore_datasets():
    from .datasets import DATASETS

    return list(DATASETS)


@hookimpl
def dlcore_embedding_sources():
    from .embeddings import SOURCES

    return list(SOURCES)


@hookimpl
def dlcore_weight_formats():
    from .formats import FORMATS

    return list(FORMATS)


@hookimpl
def dlcore_device_kinds():
    from .devices import KINDS

    return list(KINDS)
