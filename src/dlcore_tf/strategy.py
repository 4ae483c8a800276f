"""Data-parallel training on tf.distribute: MultiWorkerMirroredStrategy, one worker per
process, joined from a TF_CONFIG; the backend's own compiled steps run under ``strategy.run``
and average their gradients with the strategy's collective all-reduce (Keras' fit does not run
under this strategy with Keras 3)."""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import shutil
import signal
import tempfile
import threading
from pathlib import Path
from typing import Any, Callable, ContextManager, Iterator, Sequence

import numpy as np

from dlcore.contract import Backend, ConfigError, Device, DistributedError, Model, Strategy

from .framework import import_tensorflow

tf = import_tensorflow()

FIRST_CALL = 60.0  # seconds the first call that waits on the group may take (it traces the steps)


@contextlib.contextmanager
def _killed_after(seconds: float) -> Iterator[None]:
    """End the process (SIGALRM) if the block runs past ``seconds``: a call that holds the
    interpreter while it waits can be stopped no other way. Only in the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    signal.alarm(math.ceil(seconds))
    try:
        yield
    finally:
        signal.alarm(0)


class MultiWorkerMirroredStrategy(Strategy):
    """``Trainer(strategy="multi_worker_mirrored")``: each process holds the whole model; every
    step's gradients are averaged over the workers by collective all-reduce. The cluster and this
    process's place in it come from ``TF_CONFIG`` (``{"cluster": {"worker": [host:port, ...]},
    "task": {"type": "worker", "index": i}}``); worker 0 is the chief. Joining waits for every
    worker; a process whose cluster is not complete within ``timeout`` seconds (a minute at
    least) ends by SIGALRM.

    A call that waits on the group is bounded by a watchdog that aborts the collectives after
    ``timeout`` seconds (the first call, which traces the steps, after at least a minute), so
    that they raise; TensorFlow's own ``CommunicationOptions(timeout_seconds=...)`` starts a
    thread per collective that never ends (TF 2.21: about 2000 a minute, until the process
    cannot start one more)."""

    name = "multi_worker_mirrored"
    ports_per_process = True

    def __init__(self, timeout: float | None = None) -> None:
        super().__init__(timeout)
        self.engine: Any = None
        self._sum: Any = None
        self._waited: set[str] = set()  # the kinds of call that waited on the group before

    @classmethod
    def environment(cls, rank: int, world_size: int, ports: Sequence[int], host: str = "127.0.0.1") -> dict[str, str]:
        cluster = {"worker": [f"{host}:{port}" for port in ports[:world_size]]}
        return {"TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": rank}})}

    def setup(self, backend: Backend, device: Device) -> None:
        config = os.environ.get("TF_CONFIG")
        if not config:
            raise ConfigError("strategy 'multi_worker_mirrored' joins its cluster from TF_CONFIG, which is not set; "
                              "start the processes with 'dlcore train ... --workers N', set TF_CONFIG on each "
                              "machine, or use Trainer(launcher='ray')")
        try:
            workers = json.loads(config)["cluster"]["worker"]
        except (ValueError, KeyError, TypeError) as err:
            raise ConfigError(f"TF_CONFIG is not a cluster of workers ({err}): {config[:200]}") from None
        with _killed_after(max(self.timeout, FIRST_CALL)):  # it waits for every worker, without a timeout
            try:
                self.engine = tf.distribute.MultiWorkerMirroredStrategy()
            except Exception as err:
                raise DistributedError(f"could not join the cluster {workers}: {err}") from err
        if threading.current_thread() is threading.main_thread():  # the strategy makes SIGTERM do nothing
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
        quiet = logging.getLogger("tensorflow")  # a line per traced all-reduce where logging shows INFO (Ray)
        quiet.setLevel(max(quiet.getEffectiveLevel(), logging.WARNING))
        resolver = self.engine.cluster_resolver
        self.rank, self.world_size = int(resolver.task_id or 0), len(workers)

        @tf.function
        def summed(values):
            def add(value):  # an input needs tf.identity to be on the replica's device
                return tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.SUM, tf.identity(value))

            return self.engine.run(add, args=(values,))

        self._sum = summed

    def prepare(self, model: Model) -> None:
        if model.parallel is not self.engine:
            model.parallel = self.engine
            model.cache.clear()  # the compiled steps take the strategy in

    def bounded(self) -> ContextManager[None]:
        return self._watched("steps")

    @contextlib.contextmanager
    def _watched(self, kind: str) -> Iterator[None]:
        """Abort the collectives if the block takes over ``timeout`` seconds (the first block of
        its ``kind``: FIRST_CALL at least, as the processes start and trace at their own pace)."""
        limit = self.timeout if kind in self._waited else max(self.timeout, FIRST_CALL)
        self._waited.add(kind)
        watchdog = threading.Timer(limit, self._abort, (limit,))
        watchdog.daemon = True
        watchdog.start()
        try:
            yield
        finally:
            watchdog.cancel()

    def _abort(self, limit: float) -> None:
        """Make the collectives waiting now (and after) raise UnavailableError."""
        from tensorflow.python.eager import context

        context.context().abort_collective_ops(tf.errors.UNAVAILABLE,
                                               f"no answer from the other workers within {limit:g} s")

    def all_sum(self, values: np.ndarray) -> np.ndarray:
        with self._watched("sum"):
            result = self._sum(tf.constant(np.asarray(values, np.float64)))
            return np.asarray(self.engine.experimental_local_results(result)[0].numpy(), np.float64)

    def save(self, write: Callable[[Path], Path], path: Path) -> Path:
        """TensorFlow's rule: every worker writes; the chief to ``path``, the others to a
        temporary folder, removed after."""
        if self.is_chief:
            written = write(path)
        else:
            folder = Path(tempfile.mkdtemp(prefix=f"dlcore-worker{self.rank}-"))
            try:
                write(folder / path.name)
            finally:
                shutil.rmtree(folder, ignore_errors=True)
            written = path
        self.barrier()
        return written

    def broken(self, error: BaseException) -> bool:
        errors = tf.errors
        return isinstance(error, (errors.UnavailableError, errors.DeadlineExceededError, errors.CancelledError,
                                  errors.AbortedError)) or (isinstance(error, errors.OpError)
                                                            and "collective" in str(error).lower())


__all__ = ["MultiWorkerMirroredStrategy"]
