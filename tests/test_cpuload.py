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
