"""The other processes' load on this process's CPUs: a busy process counts, this process's own
work does not."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from dlcore.tuning import cpuload

pytestmark = pytest.mark.skipif(cpuload._busy_seconds(cpuload.allowed_cpus()) is None, reason="no /proc/stat here")


def spin(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def test_a_busy_process_counts_and_this_process_own_work_does_not():
    load = cpuload.OtherLoad()
    spin(1.0)
    own = load.read()
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)
        load.read()
        time.sleep(1.0)
        other = load.read()
    finally:
        busy.kill()
        busy.wait()
    assert other is not None and own is not None
    assert other >= 0.6, f"a busy process was read as {other:.2f} CPUs"
    assert own <= other - 0.4, f"this process's own work was read as {own:.2f} CPUs of others (busy: {other:.2f})"
    assert 0 <= own and other <= len(load.cpus)


def test_without_proc_stat_the_load_is_unknown(monkeypatch):
    monkeypatch.setattr(cpuload, "_busy_seconds", lambda cpus: None)
    assert cpuload.OtherLoad().read() is None


class OneOfTwoFree(cpuload.FreeCpus):
    """Other processes keep all but one of this process's CPUs busy."""

    def count(self):
        self.load = self.load or cpuload.OtherLoad()
        return 1


@pytest.mark.skipif(len(cpuload.allowed_cpus()) < 2, reason="needs two CPUs")
def test_threads_are_kept_on_the_free_cpus_for_the_block_only(monkeypatch):
    import os
    import threading

    monkeypatch.delenv("DLCORE_ADAPT_THREADS", raising=False)
    every = cpuload.allowed_cpus()
    started = threading.Event()
    stop = threading.Event()
    worker = threading.Thread(target=lambda: (started.set(), stop.wait()))
    worker.start()
    started.wait()
    free = OneOfTwoFree()
    try:
        with cpuload.on_free_cpus(free) as pinned:
            inside = {tid: os.sched_getaffinity(tid) for tid in map(int, os.listdir("/proc/self/task"))}
            late = threading.Thread(target=stop.wait)
            late.start()
        assert pinned and len(set(map(frozenset, inside.values()))) == 1 and len(next(iter(inside.values()))) == 1
        assert os.sched_getaffinity(worker.native_id) == every and os.sched_getaffinity(0) == every
        assert os.sched_getaffinity(late.native_id) == every, "a thread started in the block stayed on one CPU"
        monkeypatch.setenv("DLCORE_ADAPT_THREADS", "0")
        with cpuload.on_free_cpus(free) as pinned:
            assert not pinned and os.sched_getaffinity(0) == every
    finally:
        stop.set()
        worker.join()
