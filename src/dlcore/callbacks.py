"""Callbacks for ``Trainer.fit`` (defined in :mod:`dlcore.training.callbacks`)."""

from .training.callbacks import (
    Callback, Checkpointing, CSVLogger, EarlyStopping, LambdaCallback, ModelCheckpoint, ReduceLROnPlateau, TensorBoard,
    wants_batches,
)

__all__ = ["CSVLogger", "Callback", "Checkpointing", "EarlyStopping", "LambdaCallback", "ModelCheckpoint",
           "ReduceLROnPlateau", "TensorBoard", "wants_batches"]
