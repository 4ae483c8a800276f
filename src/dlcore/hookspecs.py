"""Every extension point of dlcore, one hook each (specified in :mod:`dlcore.plugins.hookspecs`)."""

from .plugins.hookspecs import (
    PROJECT, dlcore_backends, dlcore_dataset_sources, dlcore_datasets, dlcore_device_kinds, dlcore_embedding_sources,
    dlcore_kernels, dlcore_losses, dlcore_metrics, dlcore_model_kinds, dlcore_optimizers, dlcore_weight_formats,
    hookimpl, hookspec,
)

__all__ = ["PROJECT", "dlcore_backends", "dlcore_dataset_sources", "dlcore_datasets", "dlcore_device_kinds",
           "dlcore_embedding_sources", "dlcore_kernels", "dlcore_losses", "dlcore_metrics", "dlcore_model_kinds",
           "dlcore_optimizers", "dlcore_weight_formats", "hookimpl", "hookspec"]
