"""The benchmark keeps working: a tiny run through every pipeline, as CI runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import BACKENDS

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(not BACKENDS, reason="no backend installed")
def test_quick_benchmark_writes_json_and_markdown(tmp_path, fashion_dir, capsys):
    env = {**os.environ, "DLCORE_DATA_DIR": str(fashion_dir)}
    env.pop("DLCORE_ADAPT_THREADS")  # as users run it
    out = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--repeats", "1", "--workloads", "fashion-mnist",
                          "cnn", "--out", str(tmp_path)], cwd=ROOT, capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    records = json.loads((tmp_path / "results.json").read_text())
    fields = {"backend", "workload", "pipeline", "seconds_per_epoch", "seconds_min", "seconds_max", "repeats",
              "samples_per_second", "peak_rss_mb", "ratio_to_native"}
    assert all(fields <= set(r) for r in records)
    assert all(r["seconds_min"] <= r["seconds_per_epoch"] <= r["seconds_max"] for r in records)
    assert "dlcore / native" in out.stdout and "spread" in out.stdout
    assert {(r["backend"], r["pipeline"]) for r in records if r["optimizer"] == "sgd"} >= {(b, p) for b in BACKENDS for p in ("dlcore", "native", "gemm-bound")}
    assert all(r["seconds_per_epoch"] > 0 for r in records)
    assert {(r["backend"], r["pipeline"]) for r in records if r["workload"] == "cnn"} >= {
        (b, p) for b in BACKENDS for p in ("dlcore", "native")}  # the CNN's rows
    assert all(f"dlcore / native, {b} cnn adam" in out.stdout for b in BACKENDS)
    assert "| backend | workload |" in (tmp_path / "results.md").read_text()
    assert "targets:" in out.stdout and "dlcore benchmarks (quick)" in out.stdout and "benchmark run took" in out.stdout
    first = BACKENDS[0]  # its start-up against the framework's floor, and its memory in a fresh process
    assert f"time to first step, dlcore - floor, {first}: " in out.stdout and f"CLI's first line, {first}: " in out.stdout
    assert f"peak memory / (framework baseline + dataset), {first} sgd: " in out.stdout
    assert "MB at the first step (model, optimizer, compiled steps)" in out.stdout
    assert "dlcore's fastest backend / its GEMM-only bound, sgd" in out.stdout
    with capsys.disabled():  # the ratios go to the CI log, so that a regression shows there
        print("\n" + out.stdout[out.stdout.index("targets:"):], flush=True)


@pytest.mark.skipif(not BACKENDS, reason="no backend installed")
def test_startup_benchmark_times_cold_and_warm_starts(fashion_dir, capsys):
    env = {**os.environ, "DLCORE_DATA_DIR": str(fashion_dir)}
    env.pop("DLCORE_ADAPT_THREADS")  # as users run it
    out = subprocess.run([sys.executable, "-m", "benchmarks.startup", "--backends", BACKENDS[0], "--workloads",
                          "fashion-mnist", "--runs", "2", "--pairs", "1"], cwd=ROOT, capture_output=True, text=True,
                         env=env, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    line = next(row for row in out.stdout.splitlines() if row.startswith(BACKENDS[0]))
    cold, warm = (float(line.split(word)[1].split()[0]) for word in (" cold ", " warm "))
    assert 0 < warm and 0 < cold, line
    assert "import the framework" in line and "first step" in line
    assert f"time to first step, dlcore - floor, {BACKENDS[0]}: " in out.stdout  # against the framework's floor
    assert f"CLI's first line, {BACKENDS[0]}: " in out.stdout
    with capsys.disabled():
        print("\n" + out.stdout, flush=True)
