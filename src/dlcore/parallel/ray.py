"""``Trainer(launcher="ray")`` and ``dlcore train --ray``: the same fit on a Ray cluster.

Ray Train starts ``workers`` processes (``ScalingConfig(num_workers, use_gpu)``) and sets up
the group of the backend's strategy (its ``StrategyInfo.ray_trainer``: Ray's TorchTrainer makes
the torch process group, its TensorflowTrainer the TF_CONFIG); each process runs the fit with
that strategy. After every epoch rank 0's dlcore checkpoint is reported to Ray; when a worker
fails, Ray restarts the group (``max_failures`` times) and the fit resumes from the last
checkpoint, losing at most the steps of one epoch. The driver's model then holds the trained
weights, optimizer state and history, as after a fit in one process.

Needs ``pip install 'dlcore-ml[ray]'``; uses the cluster ``ray.init()`` finds (a local one on
this machine otherwise). The data and the callbacks go to the workers through Ray's object
store (Ray pickles them; dlcore's checkpoints stay .npz files).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, TypeVar

from ..contract.errors import ConfigError, DistributedError
from ..contract.records import StrategyInfo
from ..plugins.manager import registry, resolve

T = TypeVar("T")
CHECKPOINT = "last.npz"  # the file of a checkpoint reported to Ray


def _import_ray() -> Any:
    try:
        import ray
        import ray.train
    except ImportError:
        raise ConfigError("launcher='ray' needs Ray Train: pip install 'dlcore-ml[ray]'") from None
    return ray


@dataclass(frozen=True)
class RayLauncher:
    """Where and how a fit runs on Ray: ``workers`` processes (GPUs with ``use_gpu``), restarted
    up to ``max_failures`` times from the last checkpoint, which Ray keeps under
    ``storage_path`` (default: a temporary folder, removed after the fit; give a shared path on a
    cluster of several machines)."""

    workers: int = 2
    use_gpu: bool = False
    max_failures: int = 1
    storage_path: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.workers, bool) or not isinstance(self.workers, int) or self.workers < 1:
            raise ConfigError(f"workers must be an integer >= 1, got {self.workers!r}")
        if self.max_failures < 0:
            raise ConfigError(f"max_failures must be >= 0, got {self.max_failures}")

    def fit(self, make_trainer: Callable[[str], Any], fit: Callable[..., Any], backend: str,
            data: dict[str, Any], restore: Callable[[Path], T]) -> T:
        """Run ``fit(trainer, resume_from, report, **data)`` in every Ray worker, with the
        trainer that ``make_trainer(strategy)`` makes there, ``data`` sent once through Ray's
        object store, and ``report(trainer, model, epoch, logs)`` to call after each epoch;
        then ``restore(path)`` of the last checkpoint, copied here, and its result."""
        ray = _import_ray()
        from ray.train import Checkpoint, CheckpointConfig, FailureConfig, RunConfig, ScalingConfig

        info: StrategyInfo = registry().launch_strategy(backend)
        if not info.ray_trainer:
            raise ConfigError(f"strategy {info.name!r} of backend {backend!r} has no Ray trainer; use --workers N")
        ray_trainer = resolve(info.ray_trainer)

        scratch = tempfile.mkdtemp(prefix="dlcore-ray-")  # the workers' files, where they share this machine

        def loop(config: dict[str, Any]) -> None:
            trainer = make_trainer(info.name)
            resume = None
            here = Path(tempfile.mkdtemp(prefix="dlcore-ray-", dir=scratch if os.path.isdir(scratch) else None))
            restored = ray.train.get_checkpoint()
            if restored is not None:  # a restart: go on from the last epoch Ray kept
                with restored.as_directory() as folder:
                    resume = here / "resume.npz"
                    shutil.copy(Path(folder) / CHECKPOINT, resume)

            def report(trainer: Any, model: Any, epoch: int, logs: dict[str, Any]) -> None:
                """Rank 0's checkpoint of the epoch to Ray (every worker reports the metrics)."""
                folder = here / f"epoch-{epoch}"
                folder.mkdir()
                trainer.save(model, folder / CHECKPOINT)
                checkpoint = Checkpoint.from_directory(str(folder)) if trainer.is_chief else None
                ray.train.report({k: v for k, v in logs.items() if isinstance(v, (int, float))}, checkpoint=checkpoint)
                shutil.rmtree(folder, ignore_errors=True)  # Ray keeps its copy

            try:
                fit(trainer, resume, report, **{name: ray.get(ref) for name, ref in config.items()})
            finally:
                trainer.close()
                shutil.rmtree(here, ignore_errors=True)

        storage = self.storage_path or tempfile.mkdtemp(prefix="dlcore-ray-runs-")  # a folder or a URI (s3://)
        try:
            result = ray_trainer(
                loop, train_loop_config={name: ray.put(value) for name, value in data.items()},
                scaling_config=ScalingConfig(num_workers=self.workers, use_gpu=self.use_gpu),
                run_config=RunConfig(storage_path=storage, failure_config=FailureConfig(max_failures=self.max_failures),
                                     checkpoint_config=CheckpointConfig(num_to_keep=2)),
            ).fit()
            if result.error is not None or result.checkpoint is None:
                raise DistributedError(f"the Ray run failed after {self.max_failures} restart(s): "
                                       f"{result.error or 'no checkpoint was reported'}")
            with result.checkpoint.as_directory() as folder:
                return restore(Path(folder) / CHECKPOINT)
        except DistributedError:
            raise
        except Exception as err:
            if type(err).__module__.startswith("ray"):
                raise DistributedError(f"the Ray run failed: {err}") from err
            raise
        finally:
            shutil.rmtree(scratch, ignore_errors=True)  # also what a killed worker left
            if not self.storage_path:
                shutil.rmtree(storage, ignore_errors=True)


__all__ = ["CHECKPOINT", "RayLauncher"]
