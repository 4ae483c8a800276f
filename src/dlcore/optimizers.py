"""Optimizers as objects, their one update formula each, and their canonical state (defined in
:mod:`dlcore.training.optimizers`): ``check_state`` and ``slots`` are for backends that export
and import optimizer state."""

from .training.optimizers import DEFAULT_LR, SGD, Adam, AdamW, OptimizerConfig, RMSprop, check_state, slots

__all__ = ["Adam", "AdamW", "DEFAULT_LR", "OptimizerConfig", "RMSprop", "SGD", "check_state", "slots"]
