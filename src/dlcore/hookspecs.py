"""Every extension point of dlcore, one hook each (specified and documented in
:mod:`dlcore.plugins.hookspecs`). A plugin implements them with :data:`dlcore.hookimpl`:

Example::

    from dlcore import hookimpl
    from dlcore.contract import Loss

    @hookimpl
    def dlcore_losses():
        return [Loss("my_loss", "my_package.losses:my_loss")]
"""

from typing import Any

from . import deprecation
from .plugins.hookspecs import (
    dlcore_backends, dlcore_dataset_sources, dlcore_datasets, dlcore_device_kinds, dlcore_embedding_sources,
    dlcore_kernels, dlcore_layer_kinds, dlcore_loggers, dlcore_losses, dlcore_metrics, dlcore_model_kinds,
    dlcore_optimizers, dlcore_strategies, dlcore_weight_formats,
)



def __getattr__(name: str) -> Any:
    return deprecation.attribute(__name__, name)


__all__ = ["dlcore_backends", "dlcore_dataset_sources", "dlcore_datasets", "dlcore_device_kinds",
           "dlcore_embedding_sources", "dlcore_kernels", "dlcore_layer_kinds", "dlcore_loggers", "dlcore_losses",
           "dlcore_metrics", "dlcore_model_kinds", "dlcore_optimizers", "dlcore_strategies", "dlcore_weight_formats"]
