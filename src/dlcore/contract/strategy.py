"""The strategy contract: how the processes of one training run share the work.

A :class:`Strategy` joins the processes of one run into a group and makes a backend's train
steps average their gradients over it; its plugin registers it with a
:class:`~dlcore.contract.StrategyInfo` (hook ``dlcore_strategies``). The core owns the rest, the
same for every strategy (:mod:`dlcore.parallel`):

- the global batch: ``Trainer(batch_size=B)`` is the batch of one update over all ``W``
  processes; each takes ``B / W`` samples of it (B must divide by W), so that the learning
  rate means what it means in one process;
- the sharding: every process draws the same epoch order (the same seed; without one, rank 0's
  is given to all), and rank ``r`` takes its ``r``-th part of each global batch; the last batch
  is cut to a multiple of W, so at most W - 1 samples of an epoch are skipped (other ones each
  epoch when shuffling);
- the History: losses and metrics summed over all processes, the same on each;
- the side effects: only rank 0 shows progress and runs callbacks marked ``chief_only``;
  checkpoints go through :meth:`Strategy.save`;
- faults: a strategy bounds every wait on the group by ``timeout`` seconds and raises
  :class:`~dlcore.contract.DistributedError`; the launcher ends the whole group.

The core calls a strategy like this::

    strategy.setup(backend, device)       # in Trainer(...): join the group
    strategy.prepare(model)               # before each fit: model.parallel for the train steps
    with strategy.bounded(): backend.train_steps(...)   # each span of steps
    strategy.all_sum(values)              # per epoch: losses and metric sums of every process
    strategy.save(write, path)            # per checkpoint
    strategy.shutdown()                   # Trainer.close(), or at exit
"""

from __future__ import annotations

import contextlib
import os
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Callable, ClassVar, ContextManager, Sequence

import numpy as np

from .backend import Backend, Model
from .devices import Device

ENV_TIMEOUT = "DLCORE_TIMEOUT"  # seconds a process waits for the others (the launcher's --timeout)
DEFAULT_TIMEOUT = 180.0


def default_timeout() -> float:
    """$DLCORE_TIMEOUT, else 180 seconds."""
    value = os.environ.get(ENV_TIMEOUT)
    return float(value) if value else DEFAULT_TIMEOUT


class Strategy(ABC):
    """One way of training over several processes; dlcore makes one per Trainer.

    ``rank`` (0 .. ``world_size`` - 1) and ``world_size`` are known after :meth:`setup`.
    ``timeout``: the most seconds any process waits for another (default $DLCORE_TIMEOUT, else
    180); a dead or hung process makes the others raise ``DistributedError`` within it.

    Example::

        class Gloo(Strategy):  # plain torch.distributed, registered with a StrategyInfo
            name = "gloo"

            def setup(self, backend, device):
                torch.distributed.init_process_group("gloo", timeout=timedelta(seconds=self.timeout))
                self.rank, self.world_size = torch.distributed.get_rank(), torch.distributed.get_world_size()

            def prepare(self, model):
                model.parallel = DistributedDataParallel(model.native)

            def all_sum(self, values):
                tensor = torch.from_numpy(values)
                torch.distributed.all_reduce(tensor)
                return tensor.numpy()
    """

    name: ClassVar[str]
    # How many free loopback ports a launcher gives a group of ``world_size`` processes
    # (environment's ``ports``): one in all, or one per process.
    ports_per_process: ClassVar[bool] = False

    def __init__(self, timeout: float | None = None) -> None:
        self.timeout = float(timeout) if timeout is not None else default_timeout()
        self.rank, self.world_size = 0, 1

    @property
    def is_chief(self) -> bool:
        """Whether this process is rank 0, the one that prints and writes."""
        return self.rank == 0

    @classmethod
    def environment(cls, rank: int, world_size: int, ports: Sequence[int], host: str = "127.0.0.1") -> dict[str, str]:
        """The environment variables a launcher sets for process ``rank`` of ``world_size`` on
        one machine, in the engine's own convention (what torchrun or a TF_CONFIG would set)."""
        return {}

    def local_device(self, device: str) -> str:
        """The device this process trains on, for the device the user asked for ("auto": the
        local rank's GPU where there is one)."""
        return device

    @abstractmethod
    def setup(self, backend: Backend, device: Device) -> None:
        """Join the group (the engine's environment says which), waiting at most ``timeout``
        seconds for the others; set ``rank`` and ``world_size``."""

    @abstractmethod
    def prepare(self, model: Model) -> None:
        """Make ``model``'s train steps average gradients over the group: set
        ``model.parallel`` to what the backend's steps use (torch: a DistributedDataParallel
        module; TensorFlow: the tf.distribute strategy). Called before each fit, with the same
        weights in every process."""

    @abstractmethod
    def all_sum(self, values: np.ndarray) -> np.ndarray:
        """``values`` (a float64 vector) summed over every process, the same result on each."""

    def broken(self, error: BaseException) -> bool:
        """Whether ``error``, raised in a step or in :meth:`all_sum`, says the group broke (a
        process died or did not answer in time); the core then raises DistributedError."""
        return False

    def bounded(self) -> ContextManager[None]:
        """The context of each backend call that waits on the group (a span of train steps): a
        strategy whose engine cannot bound its waits by ``timeout`` itself bounds them here
        (e.g. a watchdog that aborts them); nothing by default."""
        return contextlib.nullcontext()

    def barrier(self) -> None:
        """Wait until every process gets here."""
        self.all_sum(np.zeros(1))

    def save(self, write: Callable[[Path], Path], path: Path) -> Path:
        """Write a checkpoint by the engine's rule. Default (torch's): rank 0 writes ``path``,
        then every process waits for it."""
        written = write(path) if self.is_chief else path
        self.barrier()
        return written

    def shutdown(self) -> None:
        """Leave the group (the process may train alone afterwards)."""


def broadcast_weights(strategy: Strategy, weights: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Rank 0's ``weights`` on every process (through :meth:`Strategy.all_sum`: the others add
    zeros), in their own dtypes.

    Example::

        strategy.setup(backend, device)
        weights = broadcast_weights(strategy, spec.initial_weights())  # rank 0's on every process
        model.set_weights(weights)
    """
    names = sorted(weights)
    flat = np.concatenate([np.asarray(weights[n], np.float64).ravel() for n in names]) if names else np.zeros(0)
    summed = strategy.all_sum(flat if strategy.is_chief else np.zeros_like(flat))
    out, at = {}, 0
    for n in names:
        w = np.asarray(weights[n])
        out[n] = summed[at:at + w.size].reshape(w.shape).astype(w.dtype)
        at += w.size
    return out


__all__ = ["DEFAULT_TIMEOUT", "ENV_TIMEOUT", "Strategy", "broadcast_weights", "default_timeout"]
