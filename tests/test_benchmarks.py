"""The benchmark keeps working: a tiny run through every pipeline, as CI runs it, whose ratios
are all there and sane and whose run time stays within a generous factor of a control measured
beside it (never an absolute time: machines and their load differ)."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import BACKENDS

ROOT = Path(__file__).resolve().parent.parent
# A target line: "label: 1.234 (spread 1.100 to 1.400, 2 repeats; target <= 1.05)"; a start-up
# line is in seconds ("label: +0.12 s (spread ...)"), a difference that may be negative.
TARGET = re.compile(r"^  (?P<label>.+?): (?P<value>\S+)(?P<seconds> s)? \(spread (?P<low>\S+) to (?P<high>\S+),")
# The quick run (every pipeline of Fashion-MNIST and the CNN, start-ups and memory in fresh
# processes) against one Fashion-MNIST epoch in a fresh process per backend: 14 times it with
# three backends on a busy 2-core machine (340 s against 24 s); four times that fails.
QUICK_RUN_OVER_CONTROL = 60


def run_benchmark(args: list[str], env: dict[str, str], cwd: Path = ROOT) -> tuple[subprocess.CompletedProcess, float]:
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    return out, time.perf_counter() - start


def targets(stdout: str) -> dict[str, dict[str, float]]:
    """The target lines the run printed, by label: their value and the spread of it."""
    found = {}
    for line in stdout[stdout.index("targets:"):].splitlines():
        if match := TARGET.match(line):
            numbers = {k: float(match[k]) for k in ("value", "low", "high")}
            found[match["label"]] = {**numbers, "seconds": bool(match["seconds"])}
    return found


def one_epoch_per_backend(env: dict[str, str]) -> float:
    """The control: seconds of a fresh process per backend that imports dlcore and the framework
    and fits one epoch of the Fashion-MNIST MLP, the unit the quick run is made of."""
    start = time.perf_counter()
    for backend in BACKENDS:
        code = ("from dlcore import Trainer, datasets, models\n"
                "train, _ = datasets.fashion_mnist(download=False)\n"
                f"Trainer(backend={backend!r}, epochs=1, batch_size=64, progress=False)"
                ".fit(models.mlp(784, [512, 512], 10), train)\n")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600)
        assert out.returncode == 0, out.stderr[-3000:]
    return time.perf_counter() - start


@pytest.mark.slow  # each backend's env runs it: every worker it starts imports one framework
@pytest.mark.skipif(not BACKENDS, reason="no backend installed")
def test_quick_benchmark_prints_every_ratio_sane_and_runs_within_a_factor_of_a_control(tmp_path, fashion_dir,
                                                                                      capsys):
    env = {**os.environ, "DLCORE_DATA_DIR": str(fashion_dir)}
    env.pop("DLCORE_ADAPT_THREADS")  # as users run it
    control = one_epoch_per_backend(env)
    out, seconds = run_benchmark(["benchmarks", "--quick", "--repeats", "1", "--workloads", "fashion-mnist", "cnn",
                                  "--out", str(tmp_path)], env)
    records = json.loads((tmp_path / "results.json").read_text())
    fields = {"backend", "workload", "pipeline", "seconds_per_epoch", "seconds_min", "seconds_max", "repeats",
              "samples_per_second", "peak_rss_mb", "ratio_to_native"}
    assert all(fields <= set(r) for r in records)
    assert all(0 < r["seconds_min"] <= r["seconds_per_epoch"] <= r["seconds_max"] for r in records)
    assert all(math.isfinite(r["samples_per_second"]) and r["samples_per_second"] > 0 for r in records)
    assert {(r["backend"], r["pipeline"]) for r in records if r["optimizer"] == "sgd"} >= {
        (b, p) for b in BACKENDS for p in ("dlcore", "native", "gemm-bound")}
    assert {(r["backend"], r["pipeline"]) for r in records if r["workload"] == "cnn"} >= {
        (b, p) for b in BACKENDS for p in ("dlcore", "native")}  # the CNN's rows
    ratios = [r["ratio_to_native"] for r in records if r["pipeline"] != "native"]
    assert ratios and all(math.isfinite(x) and x > 0 for x in ratios), ratios
    printed = targets(out.stdout)
    expected = [f"dlcore / native, {b} {w} {o}" for b in BACKENDS
                for w, o in (("fashion-mnist", "sgd"), ("fashion-mnist", "adam"), ("cnn", "adam"))]
    expected += [f"dlcore / GEMM-only bound, {b} {o}" for b in BACKENDS for o in ("sgd", "adam")]
    expected += [f"dlcore Adam epoch / SGD epoch, {b}" for b in BACKENDS]
    expected += [f"time to first step, dlcore - floor, {b}" for b in BACKENDS]
    expected += [f"CLI's first line, {b}" for b in BACKENDS]
    assert set(expected) <= set(printed), sorted(set(expected) - set(printed))
    assert any(label.startswith("dlcore's fastest backend / its GEMM-only bound, sgd") for label in printed)
    for label, t in printed.items():
        assert all(math.isfinite(t[k]) for k in ("value", "low", "high")), (label, t)
        assert t["low"] <= t["value"] + 1e-3 and t["value"] <= t["high"] + 1e-3, (label, t)  # 3 decimals printed
        assert t["seconds"] or t["low"] > 0, f"{label}: a ratio of times must be positive, {t}"
    memory = re.search(rf"peak memory / \(framework baseline \+ dataset\), {BACKENDS[0]} sgd: .* = (\S+) \(",
                       out.stdout)
    assert memory and 0 < float(memory[1]) < math.inf, out.stdout[out.stdout.index("targets:"):]
    assert "| backend | workload |" in (tmp_path / "results.md").read_text()
    assert seconds <= QUICK_RUN_OVER_CONTROL * control, (
        f"the quick run took {seconds:.0f} s, {seconds / control:.1f} times the control's {control:.1f} s "
        f"(one epoch in a fresh process per backend; bound {QUICK_RUN_OVER_CONTROL})")
    with capsys.disabled():  # the ratios go to the CI log, so that a regression shows there
        print(f"\nquick run {seconds:.0f} s = {seconds / control:.1f} x the control ({control:.1f} s)\n"
              + out.stdout[out.stdout.index("targets:"):], flush=True)


@pytest.mark.slow  # on the first backend: the env of that backend runs it
@pytest.mark.skipif(not BACKENDS, reason="no backend installed")
def test_startup_benchmark_times_cold_and_warm_starts(fashion_dir, capsys):
    env = {**os.environ, "DLCORE_DATA_DIR": str(fashion_dir)}
    env.pop("DLCORE_ADAPT_THREADS")  # as users run it
    out, _ = run_benchmark(["benchmarks.startup", "--backends", BACKENDS[0], "--workloads", "fashion-mnist", "--runs",
                            "2", "--pairs", "1"], env)
    line = next(row for row in out.stdout.splitlines() if row.startswith(BACKENDS[0]))
    cold, warm = (float(line.split(word)[1].split()[0]) for word in (" cold ", " warm "))
    assert 0 < warm <= 3 * cold < math.inf, line  # a warm start reuses the cache the cold one wrote
    assert "import the framework" in line and "first step" in line
    printed = targets(out.stdout)  # against the framework's floor
    assert {f"time to first step, dlcore - floor, {BACKENDS[0]}", f"CLI's first line, {BACKENDS[0]}"} <= set(printed)
    assert all(math.isfinite(t[k]) for t in printed.values() for k in ("value", "low", "high")), printed
    assert printed[f"CLI's first line, {BACKENDS[0]}"]["low"] > 0
    with capsys.disabled():
        print("\n" + out.stdout, flush=True)
