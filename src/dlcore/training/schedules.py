"""Learning-rate schedules: ``Trainer(lr=1e-3, schedule=CosineDecay(warmup=500))``.

A schedule gives a factor of the trainer's learning rate for each update (``unit="step"``)
or each epoch (``unit="epoch"``), counted from 0 over the whole fit (a resumed fit goes on
where it stopped). ``total`` is the number of updates (or epochs) the schedule spans; None:
the whole fit, ``epochs`` times the updates per epoch. With gradient accumulation an update
is one group of batches. The rate each epoch ended with is the History's ``lr``; the
:class:`dlcore.callbacks.ReduceLROnPlateau` callback lowers the trainer's rate itself, so the
two combine.
"""

from __future__ import annotations

import math
from typing import Callable

from ..contract.errors import ConfigError


class Schedule:
    """Base class: override :meth:`factor`.

    >>> from dlcore.schedules import Schedule
    >>> class Halving(Schedule):  # Trainer(lr=0.1, schedule=Halving())
    ...     def factor(self, t, total):
    ...         return 0.5 ** t
    >>> [Halving().factor(t, 3) for t in range(3)]
    [1.0, 0.5, 0.25]
    """

    def __init__(self, unit: str = "epoch", total: int | None = None) -> None:
        if unit not in ("step", "epoch"):
            raise ConfigError(f"a schedule's unit must be 'step' or 'epoch', got {unit!r}")
        if total is not None and (isinstance(total, bool) or not isinstance(total, int) or total < 1):
            raise ConfigError(f"a schedule's total must be a positive integer, got {total!r}")
        self.unit, self.total = unit, total

    def factor(self, t: int, total: int) -> float:
        """The learning rate's factor at update (or epoch) ``t`` of ``total``."""
        raise NotImplementedError

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({settings})"


def _positive(name: str, value: float, upper: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 or not math.isfinite(value) \
            or (upper is not None and value > upper):
        raise ConfigError(f"{name} must be a number > 0{f' and <= {upper}' if upper is not None else ''}, got {value!r}")
    return float(value)


class StepDecay(Schedule):
    """``gamma ** (t // step_size)``: the rate times ``gamma`` every ``step_size`` epochs (or
    updates). torch's StepLR.

    >>> from dlcore.schedules import StepDecay
    >>> schedule = StepDecay(10, gamma=0.5)  # Trainer(lr=0.1, schedule=schedule)
    >>> [schedule.factor(epoch, 30) for epoch in (0, 9, 10, 25)]
    [1.0, 1.0, 0.5, 0.25]
    """

    def __init__(self, step_size: int, gamma: float = 0.1, unit: str = "epoch") -> None:
        super().__init__(unit)
        if isinstance(step_size, bool) or not isinstance(step_size, int) or step_size < 1:
            raise ConfigError(f"step_size must be a positive integer, got {step_size!r}")
        self.step_size, self.gamma = step_size, _positive("gamma", gamma)

    def factor(self, t: int, total: int) -> float:
        return float(self.gamma ** (t // self.step_size))


class ExponentialDecay(Schedule):
    """``gamma ** t``. torch's ExponentialLR.

    >>> from dlcore.schedules import ExponentialDecay
    >>> schedule = ExponentialDecay(0.9)  # Trainer(lr=0.1, schedule=schedule)
    >>> [round(schedule.factor(epoch, 3), 3) for epoch in range(3)]
    [1.0, 0.9, 0.81]
    """

    def __init__(self, gamma: float, unit: str = "epoch") -> None:
        super().__init__(unit)
        self.gamma = _positive("gamma", gamma)

    def factor(self, t: int, total: int) -> float:
        return float(self.gamma ** t)


class CosineDecay(Schedule):
    """A linear warmup from ``1 / warmup`` to 1 over ``warmup`` updates, then half a cosine
    from 1 down to ``min_factor`` at ``total``.

    >>> from dlcore.schedules import CosineDecay
    >>> schedule = CosineDecay(warmup=2)  # Trainer(lr=1e-3, schedule=schedule)
    >>> [round(schedule.factor(step, 10), 3) for step in range(0, 11, 2)]
    [0.5, 1.0, 0.854, 0.5, 0.146, 0.0]
    """

    def __init__(self, warmup: int = 0, min_factor: float = 0.0, unit: str = "step", total: int | None = None) -> None:
        super().__init__(unit, total)
        if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
            raise ConfigError(f"warmup must be an integer >= 0, got {warmup!r}")
        if not 0 <= min_factor <= 1:
            raise ConfigError(f"min_factor must be in [0, 1], got {min_factor!r}")
        self.warmup, self.min_factor = warmup, float(min_factor)

    def factor(self, t: int, total: int) -> float:
        if t < self.warmup:
            return (t + 1) / self.warmup
        progress = min(1.0, (t - self.warmup) / max(1, total - self.warmup))
        return self.min_factor + (1 - self.min_factor) * 0.5 * (1 + math.cos(math.pi * progress))


class OneCycle(Schedule):
    """torch's OneCycleLR (cosine annealing): from ``1 / div_factor`` up to 1 over the first
    ``pct_start`` of ``total``, then down to ``1 / (div_factor * final_div_factor)``.

    >>> from dlcore.schedules import OneCycle
    >>> schedule = OneCycle(pct_start=0.3)  # Trainer(lr=0.1, schedule=schedule)
    >>> [round(schedule.factor(step, 100), 4) for step in (0, 29, 99)]
    [0.04, 1.0, 0.0]
    """

    def __init__(self, pct_start: float = 0.3, div_factor: float = 25.0, final_div_factor: float = 1e4,
                 unit: str = "step", total: int | None = None) -> None:
        super().__init__(unit, total)
        self.pct_start = _positive("pct_start", pct_start, 1.0)
        self.div_factor, self.final_div_factor = _positive("div_factor", div_factor), _positive(
            "final_div_factor", final_div_factor)

    def factor(self, t: int, total: int) -> float:
        start, end = 1 / self.div_factor, 1 / (self.div_factor * self.final_div_factor)
        peak = float(self.pct_start * total) - 1
        if t <= peak:
            begin, stop, fraction = start, 1.0, t / peak if peak > 0 else 1.0
        else:
            begin, stop, fraction = 1.0, end, (t - peak) / max(1e-12, total - 1 - peak)
        return stop + (begin - stop) / 2 * (1 + math.cos(math.pi * min(1.0, fraction)))


class LambdaSchedule(Schedule):
    """Any function ``fn(t, total) -> factor``.

    >>> from dlcore.schedules import LambdaSchedule
    >>> schedule = LambdaSchedule(lambda t, total: 1 - t / total)  # linear decay, per epoch
    >>> schedule.factor(5, 10)
    0.5
    """

    def __init__(self, fn: Callable[[int, int], float], unit: str = "epoch", total: int | None = None) -> None:
        super().__init__(unit, total)
        self.fn = fn

    def factor(self, t: int, total: int) -> float:
        return float(self.fn(t, total))


__all__ = ["CosineDecay", "ExponentialDecay", "LambdaSchedule", "OneCycle", "Schedule", "StepDecay"]


__all__ = ["CosineDecay", "ExponentialDecay", "LambdaSchedule", "OneCycle", "Schedule", "StepDecay"]
