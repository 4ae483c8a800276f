"""Optimizers as objects, their one update formula each, and their canonical state (defined in
:mod:`dlcore.training.optimizers`): ``check_state`` and ``slots`` are for backends that export
and import optimizer state; ``register`` names an optimizer of one's own written on
:mod:`dlcore.ops` (:mod:`dlcore.training.rules`)."""

from .training.optimizers import DEFAULT_LR, SGD, Adam, AdamW, OptimizerConfig, RMSprop, check_state, register, slots

__all__ = ["Adam", "AdamW", "DEFAULT_LR", "OptimizerConfig", "RMSprop", "SGD", "check_state", "register", "slots"]
