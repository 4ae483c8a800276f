"""A model's training state under a trainer: its optimizer, and the checkpoint that saves and
resumes it (weights, optimizer state in the canonical layout, epoch, step, history, the
shuffling RNG)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..contract.backend import Model
from ..contract.errors import CheckpointError
from ..io.checkpoint import TrainingCheckpoint
from ..plugins.manager import Registry
from ._callback import TrainerRef
from ._settings import optimizer_kernel
from .history import History
from .optimizers import from_layout_0_1, slots


def attach_optimizer(trainer: TrainerRef, plugins: Registry, model: Model) -> None:
    """Give ``model`` the trainer's optimizer, keeping its state when it has one of the same
    kind and the same state slots (the learning rate is the run's, told at each step)."""
    same = model.optimizer is not None and model.optimizer_name == trainer.optimizer
    if same and model.optimizer_hyper == trainer.hyper:
        return
    kept = None
    if same and slots(trainer.optimizer, model.optimizer_hyper) == slots(trainer.optimizer, trainer.hyper):
        kept = trainer.backend.optimizer_state(model)
    make, arguments = optimizer_kernel(plugins, trainer.optimizer_config, trainer.backend_name)
    model.optimizer = make(model, lr=trainer.lr, **arguments)
    model.optimizer_name, model.optimizer_hyper = trainer.optimizer, dict(trainer.hyper)
    model.cache.clear()
    if kept is not None:
        trainer.backend.load_optimizer_state(model, *kept)


def checkpoint(trainer: TrainerRef, model: Model, metadata: dict[str, Any] | None) -> TrainingCheckpoint:
    """``model``'s checkpoint: what ``fit(resume_from=...)`` needs to go on exactly."""
    arrays: dict[str, Any] = {}
    optimizer_meta: dict[str, Any] = {}
    if model.optimizer is not None:
        arrays, optimizer_meta = trainer.backend.optimizer_state(model)
    state = {
        "backend": trainer.backend_name,
        "workers": 1 if trainer.strategy is None else trainer.strategy.world_size,
        "versions": trainer.backend.versions(),
        "epoch": model.epoch,
        "step": model.step,
        "history": list(model.history_records),
        "rng": trainer._rng.bit_generator.state,
        "table": model.table,
        "optimizer": {"name": model.optimizer_name or trainer.optimizer, "lr": trainer.lr,
                      "batch_size": trainer.batch_size, "hyper": model.optimizer_hyper or trainer.hyper,
                      "state": optimizer_meta},
    }
    return TrainingCheckpoint(model.get_weights(), model.spec, metadata, arrays, state)


def save(trainer: TrainerRef, model: Model, path: Any, metadata: dict[str, Any] | None) -> Path:
    """Write ``model``'s checkpoint at ``path`` (in a group: as its strategy saves)."""
    written = checkpoint(trainer, model, metadata)
    if trainer.strategy is None:
        return written.save(path)
    saved: Path = trainer.strategy.save(written.save, Path(path))
    return saved


def resume(trainer: TrainerRef, plugins: Registry, model: Model, path: Any) -> tuple[History, int]:
    """Restore the checkpoint at ``path`` into ``model`` and the trainer's RNG: its History and
    the first epoch to train."""
    saved_checkpoint = TrainingCheckpoint.load(path)
    state = saved_checkpoint.state
    saved = state.get("optimizer", {})
    arrays, meta = saved_checkpoint.optimizer, dict(saved.get("state") or {})
    if arrays or meta:  # refuse before anything of the model changes
        if saved.get("name") != trainer.optimizer:
            raise CheckpointError(f"{path}: was trained with {saved.get('name')!r}, this trainer uses "
                                  f"{trainer.optimizer!r}; use the same optimizer to resume")
        if "step" not in meta:  # dlcore 0.1: the saving backend's own layout
            if model.spec is None:
                raise CheckpointError(f"{path}: a dlcore 0.1 checkpoint of a model without a spec; "
                                      f"start from its weights with trainer.load({str(path)!r})")
            arrays, meta = from_layout_0_1(arrays, meta, model.spec.parameter_shapes())
    model.set_weights(saved_checkpoint.weights)
    model.table = model.table or state.get("table")
    model.optimizer = None
    attach_optimizer(trainer, plugins, model)
    if arrays or meta.get("step"):  # the rate is this trainer's, told at each step
        trainer.backend.load_optimizer_state(model, arrays, meta)
    if state.get("rng"):
        trainer._rng.bit_generator.state = state["rng"]
    history = History(state.get("history", []))
    model.epoch, model.step = int(state.get("epoch", 0)), int(state.get("step", 0))
    model.history_records = tuple(history.records)
    return history, model.epoch + 1


__all__: list[str] = []
