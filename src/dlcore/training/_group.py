"""A trainer in a group of processes: joining it, the start of a fit over it, its errors, and
a fit that a launcher runs on a group it starts (Ray)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ..contract.backend import Model, Prepared
from ..contract.errors import ConfigError, DistributedError, DlcoreError
from ..contract.strategy import Strategy, broadcast_weights
from ..parallel.sharding import check_batch, check_shards
from ..plugins.manager import Registry, registry
from ..tuning.choices import hold_measurements
from ._callback import Callback, TrainerRef
from ._state import resume
from .history import History
from .inputs import error_gist


class _EpochEnd(Callback):
    """Calls ``report(trainer, model, epoch, logs)`` after each epoch, in every process."""

    def __init__(self, report: Callable[..., None]) -> None:
        self.report = report

    def on_epoch_end(self, trainer: TrainerRef, model: Model, epoch: int, logs: dict[str, Any]) -> None:
        self.report(trainer, model, epoch, logs)


def make_strategy(plugins: Registry, strategy: str | Strategy | None, backend: str) -> Strategy | None:
    """The strategy object of ``Trainer(strategy=...)``."""
    if strategy is None or isinstance(strategy, Strategy):
        return strategy
    if not isinstance(strategy, str):
        raise ConfigError(f"strategy must be a strategy's name or a dlcore.contract.Strategy, not {strategy!r}")
    made: Strategy = plugins.strategies.load(plugins.strategy(strategy, backend), "load")()
    return made


def join(trainer: TrainerRef, seed: int | None) -> int:
    """Join the strategy's group; the seed every process uses (rank 0's where none was given),
    so that all start from the same weights and draw the same epoch orders."""
    strategy = trainer.strategy
    assert strategy is not None
    strategy.setup(trainer.backend, trainer.device)
    if strategy.world_size > 1:  # processes that time each other would choose kernels apart
        hold_measurements()
    if not strategy.is_chief:
        trainer.progress, trainer.verbose = False, False
    drawn = seed if seed is not None else int(np.random.default_rng().integers(2 ** 31))
    shared = strategy.all_sum(np.array([drawn if strategy.is_chief else 0], np.float64))
    return int(shared[0])


def join_fit(trainer: TrainerRef, model: Model, data: Prepared) -> Prepared:
    """Before a fit over the group: rank 0's weights on every process, the model made ready by
    the strategy, and this process's part of the training data."""
    strategy = trainer.strategy
    assert strategy is not None
    if data.native:
        raise ConfigError(f"strategy {strategy.name!r} shards dlcore datasets and arrays, not your own "
                          "pipeline; pass the data as a dlcore Dataset or (features, labels) arrays")
    world = strategy.world_size
    local = check_batch(trainer.batch_size, world)
    count = check_shards(data.num_samples or 0, trainer.batch_size, world, "the training data")
    try:
        model.set_weights(broadcast_weights(strategy, model.get_weights()))
        strategy.prepare(model)
    except Exception as err:
        broken = group_error(strategy, err, "the start of fit")
        if broken is None:
            raise
        raise broken from err
    return dataclasses.replace(data, num_samples=count, batch_size=local)


def group_error(strategy: Strategy | None, err: Exception, where: str) -> DistributedError | None:
    """A DistributedError for an error of the group's communication (another process died or
    hung), None for any other error."""
    if strategy is None or isinstance(err, DlcoreError) or not strategy.broken(err):
        return None
    return DistributedError(f"worker {strategy.rank} of {strategy.world_size}: the group stopped answering at "
                            f"{where} ({error_gist(err)}); another worker died or hung (timeout "
                            f"{strategy.timeout:g} s); resume from the last checkpoint")


def fit_launched(trainer: TrainerRef, model: Any, train: Any, validation: Any, callbacks: Sequence[Callback],
                 resume_from: Any, options: dict[str, Any]) -> History:
    """fit on the launcher's group; then the trained weights, optimizer state and history here,
    from the group's last checkpoint."""
    assert trainer.launcher is not None
    settings, made = dataclasses.replace(trainer.settings, backend=trainer.backend_name).arguments(), type(trainer)

    def make(strategy: str) -> TrainerRef:
        return made(**settings, strategy=strategy)

    def fit(worker: TrainerRef, resume_path: Any, report: Callable[..., None], **data: Any) -> None:
        worker.fit(data["model"], data["train"], data["validation"], [*data["callbacks"], _EpochEnd(report)],
                   resume_path or data["resume_from"], **data["options"])

    def restore(path: Path) -> History:
        return resume(trainer, registry(), trainer.build(model), path)[0]

    history: History = trainer.launcher.fit(make, fit, trainer.backend_name, dict(
        model=model, train=train, validation=validation, callbacks=list(callbacks), resume_from=resume_from,
        options=options), restore)
    return history


__all__: list[str] = []
