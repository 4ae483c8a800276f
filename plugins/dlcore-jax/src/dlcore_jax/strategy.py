"""Data-parallel training on jax.distributed: one process per device, joined from dlcore's
DLCORE_JAX_* variables; the backend's own jitted steps compute each batch's gradients on the
process's part of the global batch, and the gradients' mean over the group (an all-gather on a
mesh of one device per process: gloo on the CPU) feeds the optimizer update on every process.

JAX must join its group before it starts its backends, and dlcore makes the backend before it
calls :meth:`Strategy.setup`: so :class:`~dlcore_jax.backend.JaxBackend` calls :func:`join`
first thing, which joins when the variables are set. XLA's CPU collectives wait 30 minutes for a
hung process and cannot be told otherwise: every collective here runs on a thread of its own and
the process stops waiting after ``timeout`` seconds; a process whose group broke then ends at
exit, with code 2, without JAX's shutdown (which would wait for the hung process, then abort)."""

from __future__ import annotations

import atexit
import functools
import logging
import math
import operator
import os
import queue
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from dlcore.contract import Backend, ConfigError, Device, DistributedError, Model, Strategy
from dlcore.contract.strategy import default_timeout

ENVIRONMENT = ("DLCORE_JAX_COORDINATOR", "DLCORE_JAX_PROCESSES", "DLCORE_JAX_PROCESS_ID")
EXIT_CODE = 2  # of a process whose group broke (dlcore's code for an error), at exit
_AXIS = "p"  # the mesh's one axis: the processes

T = TypeVar("T")
_joined = False  # whether join() started jax.distributed here (and shutdown ends it)


def join() -> bool:
    """Join the group that ``DLCORE_JAX_COORDINATOR`` (host:port of process 0),
    ``DLCORE_JAX_PROCESSES`` and ``DLCORE_JAX_PROCESS_ID`` name, waiting at most $DLCORE_TIMEOUT
    seconds for the others (JAX aborts the process when they do not come); nothing without the
    variables or once joined. Whether this process is in a group. Must come before any JAX
    computation or device query of the process."""
    global _joined
    if jax.distributed.is_initialized():
        return True
    if not all(os.environ.get(name) for name in ENVIRONMENT):
        return False
    address = os.environ["DLCORE_JAX_COORDINATOR"]
    try:
        processes, process = int(os.environ["DLCORE_JAX_PROCESSES"]), int(os.environ["DLCORE_JAX_PROCESS_ID"])
    except ValueError:
        raise ConfigError("DLCORE_JAX_PROCESSES and DLCORE_JAX_PROCESS_ID must be integers, got "
                          f"{os.environ['DLCORE_JAX_PROCESSES']!r} and "
                          f"{os.environ['DLCORE_JAX_PROCESS_ID']!r}") from None
    seconds = max(1, math.ceil(default_timeout()))
    jax.config.update("jax_enable_preemption_service", False)  # else JAX takes SIGTERM and goes on
    try:
        jax.distributed.initialize(address, processes, process, initialization_timeout=seconds,
                                   heartbeat_timeout_seconds=seconds, shutdown_timeout_seconds=seconds)
    except RuntimeError as err:
        if "before any JAX calls" in str(err):
            raise ConfigError("strategy 'data_parallel' joins its group before JAX starts, and JAX already ran "
                              "here; make the Trainer (or the jax backend) before any JAX computation") from None
        gist = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise DistributedError(f"could not join the group of {processes} at {address} within {seconds} s: "
                               f"{gist}") from err
    _joined = True
    return True


class CollectiveTimeout(TimeoutError):
    """No answer from the group within the timeout (a process hung or died)."""


class _Collectives:
    """Runs the group's collectives on a thread of their own, so that a wait for a hung process
    ends after ``timeout`` seconds; once one failed, the group is broken and every later one
    fails at once (its thread may wait in XLA for 30 minutes)."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.broken: BaseException | None = None
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def run(self, what: str, work: Callable[[], T], fails: Callable[[BaseException], bool]) -> T:
        """``work()`` (blocking until its result is ready), or an error after ``timeout`` s;
        ``fails``: whether an error it raises says the group broke."""
        if self.broken is not None:
            raise CollectiveTimeout(f"the group broke before {what} ({type(self.broken).__name__}: {self.broken})")
        if self._thread is None:
            self._thread = threading.Thread(target=self._serve, name="dlcore-jax-collectives", daemon=True)
            self._thread.start()
        done, box = threading.Event(), []  # type: tuple[threading.Event, list[tuple[bool, Any]]]
        self._jobs.put((work, box, done))
        if not done.wait(self.timeout):
            late = CollectiveTimeout(f"no answer from the other workers within {self.timeout:g} s ({what})")
            self._break(late)
            raise late
        ok, value = box[0]
        if not ok:
            if fails(value):
                self._break(value)
            raise value
        return value  # type: ignore[no-any-return]

    def _serve(self) -> None:
        while True:
            work, box, done = self._jobs.get()
            try:
                box.append((True, work()))
            except BaseException as err:  # noqa: BLE001 (handed to the waiting thread)
                box.append((False, err))
            done.set()

    def _break(self, error: BaseException) -> None:
        if self.broken is None:
            self.broken = error
            atexit.register(_exit_at_once)  # runs before JAX's own exit handler, which was registered earlier


def _exit_at_once() -> None:
    """The exit of a process whose group broke: JAX's shutdown would wait for the other
    processes (a hung one: never), then abort."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(EXIT_CODE)


class ProcessMean:
    """``model.parallel`` under :class:`DataParallelStrategy`: the mean over the group of a
    (1, n) float32 row on this process's device (a step's flat gradients), as an (n,) array
    there; the same bits on every process, each of which gathers every row and adds them in
    rank order."""

    def __init__(self, mesh: Mesh, collectives: _Collectives, fails: Callable[[BaseException], bool]) -> None:
        self.mesh, self.world_size = mesh, mesh.devices.size
        self._rows = NamedSharding(mesh, PartitionSpec(_AXIS))
        everywhere = NamedSharding(mesh, PartitionSpec())

        def mean(rows: Any) -> Any:  # added one by one: XLA on the CPU sums over a short axis 0 slowly
            rows = jax.lax.with_sharding_constraint(rows, everywhere)
            return functools.reduce(operator.add, [rows[i] for i in range(self.world_size)]) / self.world_size

        self._mean = jax.jit(mean, out_shardings=everywhere)
        self._collectives, self._fails = collectives, fails

    def __call__(self, row: Any) -> Any:
        def work() -> Any:
            rows = jax.make_array_from_single_device_arrays((self.world_size, row.shape[1]), self._rows, [row])
            return self._mean(rows).addressable_data(0).block_until_ready()

        return self._collectives.run("the gradients' mean", work, self._fails)


class DataParallelStrategy(Strategy):
    """``Trainer(strategy="data_parallel")``: each process holds the whole model and computes
    the gradients of its part of every global batch; their mean over the group (with the mean
    of batch norm's running statistics) makes the update, clipped and accumulated after the
    mean, so that every process keeps the same weights. The group comes from dlcore's variables
    (DLCORE_JAX_COORDINATOR, DLCORE_JAX_PROCESSES, DLCORE_JAX_PROCESS_ID, which ``dlcore train
    --workers N`` sets), or is the one already started by ``jax.distributed.initialize``."""

    name = "data_parallel"

    def __init__(self, timeout: float | None = None) -> None:
        super().__init__(timeout)
        self._collectives = _Collectives(self.timeout)
        self._cpus: Mesh | None = None  # one CPU device per process: all_sum's
        self._means: dict[tuple[int, ...], ProcessMean] = {}  # by the mesh's device ids
        self._gather: Any = None  # rows on the CPU mesh -> all of them on each process

    @classmethod
    def environment(cls, rank: int, world_size: int, ports: Sequence[int], host: str = "127.0.0.1") -> dict[str, str]:
        return {"DLCORE_JAX_COORDINATOR": f"{host}:{ports[0]}", "DLCORE_JAX_PROCESSES": str(world_size),
                "DLCORE_JAX_PROCESS_ID": str(rank)}

    def local_device(self, device: str) -> str:
        """"auto" and "gpu" mean the GPU of this process's index (modulo its GPUs), where there
        are GPUs."""
        gpus = [d for d in jax.local_devices() if d.platform == "gpu"]
        if device in ("auto", "gpu", "cuda") and gpus:
            return f"gpu:{jax.process_index() % len(gpus)}"
        return device

    def setup(self, backend: Backend, device: Device) -> None:
        if not join():
            missing = [name for name in ENVIRONMENT if not os.environ.get(name)]
            raise ConfigError(f"strategy 'data_parallel' joins its group from dlcore's variables, and "
                              f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set; start the "
                              "processes with 'dlcore train ... --workers N' or 'dlcore launch --workers N python "
                              "script.py', or call jax.distributed.initialize first")
        self.rank, self.world_size = jax.process_index(), jax.process_count()
        self._cpus = self._mesh([min((d for d in jax.devices("cpu") if d.process_index == p), key=lambda d: d.id)
                                 for p in range(self.world_size)])
        everywhere = NamedSharding(self._cpus, PartitionSpec())
        self._gather = jax.jit(lambda rows: rows, out_shardings=everywhere)

    @staticmethod
    def _mesh(devices: list[Any]) -> Mesh:
        return Mesh(np.array(devices), (_AXIS,))

    def prepare(self, model: Model) -> None:
        mine = next(iter(next(iter(model.native.params.values())).devices()))
        ids = tuple(int(i) for i in self.all_sum(np.eye(self.world_size)[self.rank] * mine.id))
        if ids not in self._means:
            known = {d.id: d for d in jax.devices(mine.platform)}
            self._means[ids] = ProcessMean(self._mesh([known[i] for i in ids]), self._collectives, self.broken)
        model.parallel = self._means[ids]

    def all_sum(self, values: np.ndarray) -> np.ndarray:
        """In float64: every process's values gathered (as 32-bit words), then added in rank
        order on each, so that all get the same bits (and rank 0's weights pass unchanged)."""
        values = np.ascontiguousarray(values, np.float64)
        if self.world_size == 1 or values.size == 0:
            return values.copy()
        assert self._cpus is not None
        words, mesh = values.ravel().view(np.uint32), self._cpus

        def work() -> np.ndarray:
            row = jax.device_put(words[None], mesh.devices.flat[self.rank])
            rows = jax.make_array_from_single_device_arrays((self.world_size, words.size),
                                                            NamedSharding(mesh, PartitionSpec(_AXIS)), [row])
            return np.asarray(self._gather(rows).addressable_data(0))

        gathered = self._collectives.run("a sum over the workers", work, self.broken)
        return np.ascontiguousarray(gathered).view(np.float64).sum(0).reshape(values.shape)

    def broken(self, error: BaseException) -> bool:
        if isinstance(error, CollectiveTimeout):
            return True
        text = str(error).lower()
        return isinstance(error, (RuntimeError, ValueError)) and any(
            words in text for words in ("gloo", "nccl", "connection reset", "connection closed", "heartbeat",
                                        "coordination service"))

    def shutdown(self) -> None:
        """Leave the group (a broken one is left at exit, at once)."""
        global _joined
        if _joined and self._collectives.broken is None and jax.distributed.is_initialized():
            jax.distributed.shutdown()
        _joined = False


__all__ = ["ENVIRONMENT", "CollectiveTimeout", "DataParallelStrategy", "ProcessMean", "join"]
