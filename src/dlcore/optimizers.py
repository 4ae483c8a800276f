"""Optimizers as objects, their one update formula each, and their canonical state (defined in
:mod:`dlcore.training.optimizers`)."""

from .training.optimizers import (
    DEFAULT_LR, SGD, Adam, AdamW, OptimizerConfig, RMSprop, as_config, check_state, from_layout_0_1, slots,
)

__all__ = ["Adam", "AdamW", "DEFAULT_LR", "OptimizerConfig", "RMSprop", "SGD", "as_config", "check_state",
           "from_layout_0_1", "slots"]
