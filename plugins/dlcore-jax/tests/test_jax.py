"""The JAX backend beside dlcore's others: same trajectories, checkpoints evaluated across
backends from the command line, only the public contract used, clear errors."""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dlcore import ConfigError, DeviceError, Trainer, models
from dlcore.testing.data import blobs, write_fashion_mnist
from dlcore.testing.distributed import StrategyTests

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "dlcore_jax"
OTHERS = [b for b, module in (("torch", "torch"), ("tensorflow", "tensorflow")) if importlib.util.find_spec(module)]


def dlcore(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dlcore", *args], capture_output=True, text=True, timeout=600,
                          env={**os.environ, **(env or {})})


def test_the_plugin_uses_only_dlcores_public_names():
    """Nothing private of dlcore (no name starting with an underscore), nothing of its other backends."""
    for path in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("dlcore"):
                module = node.module or ""
                assert not module.startswith(("dlcore_torch", "dlcore_tf")), f"{path.name} imports {module}"
                assert not any(part.startswith("_") for part in module.split(".")), f"{path.name}: {module}"
                assert not [a.name for a in node.names if a.name.startswith("_")], f"{path.name}: {module}"
            if isinstance(node, ast.Import):
                assert not [a.name for a in node.names if a.name.startswith(("dlcore_torch", "dlcore_tf"))]


@pytest.mark.skipif(not OTHERS, reason="needs torch or tensorflow to compare with")
@pytest.mark.parametrize("other", OTHERS)
@pytest.mark.parametrize("optimizer, lr", [("sgd", 0.05), ("adam", 1e-3)])
def test_training_follows_the_same_trajectory_as_the_other_backends(other, optimizer, lr):
    """Same seed, same initial weights and batches: losses to 1e-5 (relative), weights to 1e-5."""
    x, y = blobs(1700)
    runs = []
    for backend in ("jax", other):
        trainer = Trainer(backend=backend, epochs=2, batch_size=32, optimizer=optimizer, lr=lr, seed=0,
                          device="cpu", progress=False)
        spec = models.mlp(20, [16], 4)
        runs.append((trainer.fit(spec, (x, y))["loss"], trainer.build(spec).get_weights()))
    np.testing.assert_allclose(runs[0][0], runs[1][0], rtol=1e-5)
    for name, weight in runs[0][1].items():
        np.testing.assert_allclose(weight, runs[1][1][name], atol=1e-5, err_msg=name)


@pytest.mark.skipif(not OTHERS, reason="needs torch or tensorflow to compare with")
def test_checkpoints_evaluate_the_same_on_every_backend_from_the_command_line(tmp_path):
    data = write_fashion_mnist(tmp_path / "fmnist")
    results = {}
    for trained_on in ("jax", OTHERS[0]):
        path = tmp_path / f"{trained_on}.npz"
        trained = dlcore("train", "fashion-mnist", "--backend", trained_on, "--data-dir", str(data), "--epochs", "2",
                         "--optimizer", "adam", "--json", "--save", str(path))
        assert trained.returncode == 0, trained.stderr[-3000:]
        results[trained_on] = json.loads(trained.stdout.splitlines()[-1])
        assert results[trained_on]["accuracy"] >= 0.9
        for evaluated_on in ("jax", *OTHERS):
            out = dlcore("evaluate", str(path), "--backend", evaluated_on, "--data", "fashion-mnist",
                         "--data-dir", str(data), "--json")
            assert out.returncode == 0, out.stderr[-3000:]
            evaluated = json.loads(out.stdout.splitlines()[-1])
            assert evaluated["accuracy"] == results[trained_on]["accuracy"], (trained_on, evaluated_on)
            assert evaluated["loss"] == pytest.approx(results[trained_on]["loss"], abs=1e-4)


def test_backends_lists_jax_and_a_missing_gpu_names_the_devices():
    out = dlcore("backends")
    assert out.returncode == 0 and any(line.startswith("jax ") and " yes " in line for line in out.stdout.splitlines())
    with pytest.raises(DeviceError, match=r"device 'gpu' does not exist on backend 'jax'; available: cpu"):
        Trainer(backend="jax", device="gpu")


def test_missing_jax_gives_a_one_line_install_hint(tmp_path):
    blocker = (
        "import importlib.util, sys\n"
        "real = importlib.util.find_spec\n"
        "importlib.util.find_spec = lambda n, *a: None if n.split('.')[0] in ('jax', 'optax') else real(n, *a)\n"
        "from dlcore.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    out = subprocess.run([sys.executable, "-c", blocker, "train", "fashion-mnist", "--backend", "jax"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        "dlcore: error: backend 'jax' needs jax, optax, which are not installed; pip install jax optax"]


def test_data_parallel_outside_a_launched_group_says_how_to_start_one(monkeypatch):
    for name in ("DLCORE_JAX_COORDINATOR", "DLCORE_JAX_PROCESSES", "DLCORE_JAX_PROCESS_ID"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError, match="'dlcore train ... --workers N' or 'dlcore launch --workers N"):
        Trainer("jax", strategy="data_parallel", device="cpu")


@pytest.mark.slow
class TestDataParallel(StrategyTests):
    backend, strategy = "jax", "data_parallel"


def test_a_new_process_loads_the_compiled_steps_of_the_last_and_the_cache_can_be_turned_off(tmp_path):
    """XLA's executables go to <cache dir>/jax; the next process with the same model loads them
    instead of compiling (a faster first step, without the compiler's memory)."""
    code = ("import logging; from dlcore import Trainer, models; from dlcore.testing.data import blobs\n"
            "logging.basicConfig(level=logging.WARNING)\n"
            "import jax; jax.config.update('jax_log_compiles', True)\n"
            "x, y = blobs(64)\n"
            "Trainer('jax', epochs=1, batch_size=32, progress=False, device='cpu').fit(models.mlp(20, [8], 4), (x, y))\n")

    def run(cache, setting="1"):
        env = {**os.environ, "DLCORE_CACHE_DIR": str(cache), "DLCORE_COMPILATION_CACHE": setting}
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
        assert out.returncode == 0, out.stderr[-2000:]
        return out.stderr

    first, second = run(tmp_path / "on"), run(tmp_path / "on")
    assert "Persistent compilation cache hit" not in first and "Persistent compilation cache hit" in second
    assert oct((tmp_path / "on" / "jax").stat().st_mode)[-3:] == "700"
    run(tmp_path / "off", "0")
    assert not (tmp_path / "off" / "jax").exists()


def test_data_dlcore_made_is_used_in_place_on_the_cpu():
    """Fashion-MNIST as dlcore reads it sits 64-byte aligned, so XLA on the CPU computes on it
    without a second copy of the dataset."""
    from dlcore import get_backend
    from dlcore.data.arrays import aligned_empty

    x = aligned_empty((100, 784), np.float32)
    x[...] = 1.0
    backend = get_backend("jax")
    features, _, _ = backend.put(x, np.zeros(100, np.int64), backend.device("cpu"))
    assert features.unsafe_buffer_pointer() == x.ctypes.data
