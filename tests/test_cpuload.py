"""The other processes' load on this process's CPUs: a busy process counts, this process's own
work does not. Each reading is compared with a control read in the same test (the others' load
while this process idles), so other work on the machine does not change the outcome."""

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


@pytest.mark.core_env
def test_a_busy_process_counts_and_this_process_own_work_does_not():
    """Readings while this process spins, and while another process spins, alternate with idle
    readings (the control): each is compared with the idle readings either side of it, and one
    round of two must hold, so a change in the machine's own load cannot decide the outcome."""
    load = cpuload.OtherLoad()
    cpus = len(load.cpus)
    readings: list[tuple[str, float | None]] = []
    for _ in range(2):
        for what in ("idle", "own", "idle", "busy"):
            if what == "busy":
                other = subprocess.Popen([sys.executable, "-c", "while True: pass"])
                try:
                    time.sleep(0.3)  # started
                    load.read()
                    time.sleep(0.8)
                    readings.append((what, load.read()))
                finally:
                    other.kill()
                    other.wait()
            else:
                (spin if what == "own" else time.sleep)(0.5)
                readings.append((what, load.read()))
    time.sleep(0.5)
    readings.append(("idle", load.read()))
    assert all(value is not None and 0 <= value <= cpus for _, value in readings), readings
    values = [float(value or 0) for _, value in readings]
    own, busy = [], []
    for i, (what, _) in enumerate(readings[1:-1], 1):
        control = (values[i - 1], values[i + 1])
        if what == "own":  # this process's own work must not count: at most noise above the control
            own.append(values[i] - max(control))
        elif what == "busy":  # one more CPU in use by others, or every CPU where fewer than one was free
            busy.append(values[i] - min(min(control) + 0.6, cpus - 0.4))
    assert min(own) <= 0.4, f"this process's own work was read as CPUs of others: {readings}"
    assert max(busy) >= 0, f"a busy process was not read as a CPU of others: {readings}"


def test_without_proc_stat_the_load_is_unknown(monkeypatch):
    monkeypatch.setattr(cpuload, "_busy_seconds", lambda cpus: None)
    assert cpuload.OtherLoad().read() is None


def test_a_run_folder_records_whether_its_numbers_repeat_whatever_the_load(monkeypatch):
    from conftest import numpy_backend
    from dlcore import Trainer
    from dlcore.runs.report import environment

    with numpy_backend():
        trainer = Trainer(backend="numpy", progress=False)
        monkeypatch.delenv("DLCORE_ADAPT_THREADS")  # the default: threads follow the load
        adapting = environment(trainer)["repeatability"]
        monkeypatch.setenv("DLCORE_ADAPT_THREADS", "0")
        fixed = environment(trainer)["repeatability"]
    assert adapting["threads_follow_load"] and not adapting["repeats_whatever_the_load"]
    assert adapting["DLCORE_ADAPT_THREADS"] == "1 (default)" and "DLCORE_ADAPT_THREADS=0" in adapting["to_repeat"]
    assert fixed == {"DLCORE_ADAPT_THREADS": "0", "deterministic": False, "threads_follow_load": False,
                     "repeats_whatever_the_load": True}
    assert cpuload.repeatability(deterministic=True)["repeats_whatever_the_load"]
