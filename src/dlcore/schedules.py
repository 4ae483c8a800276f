"""Learning-rate schedules (defined in :mod:`dlcore.training.schedules`)."""

from .training.schedules import CosineDecay, ExponentialDecay, LambdaSchedule, OneCycle, Schedule, StepDecay

__all__ = ["CosineDecay", "ExponentialDecay", "LambdaSchedule", "OneCycle", "Schedule", "StepDecay"]
