"""The backend contract and the plain records it speaks in: the floor dlcore stands on.

Owns: the :class:`Backend` a framework implements and the :class:`Model` it builds, the step
records (:class:`StepConfig`, :class:`Span`, :class:`Prepared`, :class:`StepResults`), the
records every hook returns (:mod:`dlcore.contract.records`, which also says what each kind of
kernel is), devices, the base of model specs, and every error dlcore raises. Imports nothing
else of dlcore: everything else imports it.
"""

from .backend import Backend, Model, Prepared, Span, StepConfig, StepResults, accumulation, batch_slice
from .devices import DEVICE_KINDS, Device, DeviceRegistry, parse_device, resolve_device
from .errors import (
    BackendError, CheckpointError, ConfigError, DataError, DeviceError, DistributedError, DlcoreError, DownloadError,
    PluginError, TrainingError,
)
from .records import (
    KERNEL_KINDS, STANDARD, BackendInfo, DatasetInfo, DatasetSource, DeviceKind, EmbeddingSource, Kernel, LayerKind, LoggerInfo,
    Loss, Metric, ModelKind, Optimizer, StrategyInfo, WeightFormat, standard_kernels,
)
from .specs import ModelSpec, check_weights
from .strategy import Strategy

__all__ = [
    "Backend", "BackendError", "BackendInfo", "CheckpointError", "ConfigError", "DEVICE_KINDS", "DataError",
    "DatasetInfo", "DatasetSource", "Device", "DeviceError", "DeviceKind", "DeviceRegistry", "DistributedError",
    "DlcoreError",
    "DownloadError", "EmbeddingSource", "KERNEL_KINDS", "Kernel", "LayerKind", "LoggerInfo", "Loss", "Metric", "Model", "ModelKind", "ModelSpec",
    "Optimizer", "PluginError", "Prepared", "STANDARD", "Span", "StepConfig", "StepResults", "Strategy", "StrategyInfo",
    "TrainingError",
    "WeightFormat", "accumulation", "batch_slice", "check_weights", "parse_device", "resolve_device", "standard_kernels",
]
