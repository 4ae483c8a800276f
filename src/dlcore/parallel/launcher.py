"""``dlcore train --workers N``: N processes on one machine, and the whole group ended on a fault.

The launcher gives each process the environment of its strategy (:meth:`Strategy.environment`:
torchrun's RANK / WORLD_SIZE / MASTER_PORT, or a TF_CONFIG) on free loopback ports, one thread
each unless told otherwise, and ``$DLCORE_TIMEOUT``. It then watches them: when one exits with
an error (or is killed), it kills every other with SIGKILL (a TensorFlow worker ignores
SIGTERM) and returns that exit code; a hung process makes the others time out within the
timeout, which ends the group the same way.

Nothing outlives the group: the workers' temporary files go to one folder of the group (their
``$TMPDIR``), removed when :func:`launch` returns or fails; a small watcher process removes it,
and kills the workers, if the launcher itself is killed.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from typing import IO, Callable, Sequence

from ..contract.errors import ConfigError

ENV_WORKER = "DLCORE_WORKER"  # "rank/world_size" in a process the launcher started
POLL = 0.05  # seconds between two looks at the processes
# The watcher: reads the workers' process ids, one a line, until "done" (the launcher cleaned up
# itself) or the end of its input (the launcher died): then kills them and removes the folder.
_WATCHER = """
import os, shutil, signal, sys, time
pids = []
for line in sys.stdin:
    if line.strip() == "done":
        sys.exit(0)
    pids.append(int(line))
for pid in pids:
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass
end = time.monotonic() + 10
for pid in pids:
    while time.monotonic() < end:
        try:
            os.kill(pid, 0)
        except OSError:
            break
        time.sleep(0.05)
shutil.rmtree(sys.argv[1], ignore_errors=True)
"""


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


def _kill(processes: list[subprocess.Popen[bytes]]) -> None:
    """SIGKILL to the processes and whatever they started (each its own session), all at once
    (one killed before the others would make them report the broken group)."""
    for process in processes:
        if process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                process.kill()
    for process in processes:
        process.wait()


def _watch(folder: str) -> subprocess.Popen[bytes]:
    """The watcher of a group whose temporary files are in ``folder`` (its own session: a Ctrl+C
    at the terminal does not reach it)."""
    return subprocess.Popen([sys.executable, "-I", "-c", _WATCHER, folder], stdin=subprocess.PIPE,
                            start_new_session=True)


def _tell(watcher: subprocess.Popen[bytes], line: str) -> None:
    stdin: IO[bytes] | None = watcher.stdin
    try:
        if stdin is not None:
            stdin.write(f"{line}\n".encode())
            stdin.flush()
    except OSError:  # the watcher is gone: the launcher cleans up alone
        pass


def launch(command: Sequence[str], workers: int, environment: Callable[[int, int, list[int]], dict[str, str]],
           threads: int = 1, timeout: float | None = None, deadline: float | None = None,
           echo: Callable[..., None] = print, ended: Callable[[], str] = str) -> int:
    """Run ``command`` (an argv) as ``workers`` processes with the variables
    ``environment(rank, world_size, ports)`` gives (ports: one per process); 0 when all
    succeed, else the first failure's exit code, every other process killed. ``deadline``:
    seconds after which the whole group is killed (exit code 124). ``ended()``: what the line
    that says why the group stopped ends with, once every process is stopped (e.g. how to
    resume). The processes' ``$TMPDIR`` is a folder of the group's, removed when it ends."""
    if workers < 1 or threads < 1:
        raise ConfigError(f"a group takes workers >= 1 and threads >= 1, got {workers} and {threads}")
    ports = free_ports(workers)
    extra = {**thread_environment(threads), **({"DLCORE_TIMEOUT": str(timeout)} if timeout else {})}
    processes: list[subprocess.Popen[bytes]] = []
    end = None if deadline is None else time.monotonic() + deadline
    scratch = tempfile.mkdtemp(prefix="dlcore-group-")
    watcher = _watch(scratch)
    try:
        for rank in range(workers):
            env = {**os.environ, **extra, **environment(rank, workers, ports), ENV_WORKER: f"{rank}/{workers}",
                   "TMPDIR": scratch}
            processes.append(subprocess.Popen(list(command), env=env, start_new_session=True))
            _tell(watcher, str(processes[-1].pid))
        while True:
            codes = [p.poll() for p in processes]
            failed = next(((rank, code) for rank, code in enumerate(codes) if code not in (None, 0)), None)
            if failed is not None:
                rank, code = failed
                how = f"was killed by {signal.Signals(-code).name}" if code < 0 else f"exited with code {code}"
                _kill(processes)
                echo(f"dlcore: worker {rank} of {workers} {how}; stopping the others{ended()}", file=sys.stderr)
                return code if code > 0 else 128 - code
            if all(code == 0 for code in codes):
                return 0
            if end is not None and time.monotonic() > end:
                _kill(processes)
                echo(f"dlcore: the {workers} workers ran past {deadline:g} s; stopping them{ended()}",
                     file=sys.stderr)
                return 124
            time.sleep(POLL)
    except BaseException:  # Ctrl-C or an error here: no process outlives the launcher
        _kill(processes)
        raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        _tell(watcher, "done")
        watcher.communicate()


__all__ = ["ENV_WORKER", "free_ports", "launch", "thread_environment", "worker_of"]
