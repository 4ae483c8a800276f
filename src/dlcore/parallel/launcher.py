"""``dlcore train --workers N``: N processes on one machine, and the whole group ended on a fault.

The launcher gives each process the environment of its strategy (:meth:`Strategy.environment`:
torchrun's RANK / WORLD_SIZE / MASTER_PORT, or a TF_CONFIG) on free loopback ports, one thread
each unless told otherwise, and ``$DLCORE_TIMEOUT``. It then watches them: when one exits with
an error (or is killed), it kills every other with SIGKILL (a TensorFlow worker ignores
SIGTERM) and returns that exit code; a hung process makes the others time out within the
timeout, which ends the group the same way.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from typing import Callable, Sequence

ENV_WORKER = "DLCORE_WORKER"  # "rank/world_size" in a process the launcher started
POLL = 0.05  # seconds between two looks at the processes


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """``count`` distinct ports free on ``host`` now."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind((host, 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def worker_of() -> tuple[int, int] | None:
    """(rank, world size) in a process the launcher started, else None."""
    value = os.environ.get(ENV_WORKER)
    if not value:
        return None
    rank, _, world = value.partition("/")
    return int(rank), int(world)


def thread_environment(threads: int) -> dict[str, str]:
    """Variables that hold the frameworks to ``threads`` CPU threads per process."""
    n = str(threads)
    return {"OMP_NUM_THREADS": n, "MKL_NUM_THREADS": n, "TF_NUM_INTRAOP_THREADS": n, "TF_NUM_INTEROP_THREADS": n,
            "XLA_FLAGS": (os.environ.get("XLA_FLAGS", "") + f" --xla_cpu_multi_thread_eigen={str(threads > 1).lower()}"
                          f" intra_op_parallelism_threads={n}").strip()}


def _kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL to the process and whatever it started (its own session)."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            process.kill()
    process.wait()


def launch(command: Sequence[str], workers: int, environment: Callable[[int, int, list[int]], dict[str, str]],
           threads: int = 1, timeout: float | None = None, deadline: float | None = None,
           echo: Callable[..., None] = print) -> int:
    """Run ``command`` (an argv) as ``workers`` processes with the variables
    ``environment(rank, world_size, ports)`` gives (ports: one per process); 0 when all
    succeed, else the first failure's exit code, every other process killed. ``deadline``:
    seconds after which the whole group is killed (exit code 124)."""
    ports = free_ports(workers)
    extra = {**thread_environment(threads), **({"DLCORE_TIMEOUT": str(timeout)} if timeout else {})}
    processes = []
    end = None if deadline is None else time.monotonic() + deadline
    for rank in range(workers):
        env = {**os.environ, **extra, **environment(rank, workers, ports), ENV_WORKER: f"{rank}/{workers}"}
        processes.append(subprocess.Popen(list(command), env=env, start_new_session=True))
    try:
        while True:
            codes = [p.poll() for p in processes]
            failed = next(((rank, code) for rank, code in enumerate(codes) if code not in (None, 0)), None)
            if failed is not None:
                rank, code = failed
                how = f"was killed by {signal.Signals(-code).name}" if code < 0 else f"exited with code {code}"
                echo(f"dlcore: worker {rank} of {workers} {how}; stopping the others", file=sys.stderr)
                for p in processes:
                    _kill(p)
                return code if code > 0 else 128 - code
            if all(code == 0 for code in codes):
                return 0
            if end is not None and time.monotonic() > end:
                echo(f"dlcore: the {workers} workers ran past {deadline:g} s; stopping them", file=sys.stderr)
                for p in processes:
                    _kill(p)
                return 124
            time.sleep(POLL)
    except BaseException:  # Ctrl-C or an error here: no process outlives the launcher
        for p in processes:
            _kill(p)
        raise


__all__ = ["ENV_WORKER", "free_ports", "launch", "thread_environment", "worker_of"]
