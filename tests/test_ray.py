"""Trainer(launcher="ray"): a fit on a local Ray cluster of two CPU workers survives a worker
that dies, resuming from the last epoch's checkpoint, and ends where an unbroken run ends."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from conftest import BACKENDS

pytest.importorskip("ray.train", reason="Ray Train is not installed (pip install 'dlcore-ml[ray]')")

SCRIPT = textwrap.dedent('''
    import json, os, sys, time
    from pathlib import Path
    import numpy as np
    from dlcore import LambdaCallback, Trainer, models
    from dlcore.parallel.ray import RayLauncher
    from dlcore.testing.data import blobs

    folder, fail = Path(sys.argv[1]), sys.argv[2] == "fail"
    marker = folder / "failed"

    def fault(trainer, model, epoch):
        time.sleep(1.5)  # Ray registers a reported checkpoint within about a second
        if fail and epoch == 3 and trainer.strategy.rank == 1 and not marker.exists():
            marker.write_text(str(time.time()))
            os._exit(1)

    x, y = blobs(1024, classes=4, seed=2)
    trainer = Trainer("torch", epochs=4, batch_size=64, optimizer="adam", lr=1e-2, seed=0, progress=False,
                      launcher=RayLauncher(workers=2, max_failures=1))
    model = models.mlp(20, [16], 4)
    history = trainer.fit(model, (x, y), callbacks=[LambdaCallback(on_epoch_begin=fault)])
    weights = trainer.build(model).get_weights()
    result = {"epochs": [r["epoch"] for r in history.records], "accuracy": trainer.evaluate(model, (x, y))["accuracy"],
              "weights": {k: v.ravel().tolist() for k, v in weights.items()}, "step": trainer.build(model).step}
    (folder / ("failed.json" if fail else "clean.json")).write_text(json.dumps(result))
''')


@pytest.mark.slow
@pytest.mark.skipif("torch" not in BACKENDS, reason="torch is not installed")
def test_a_ray_run_with_a_dead_worker_resumes_and_ends_as_an_unbroken_one(tmp_path):
    script = tmp_path / "ray_fit.py"
    script.write_text(SCRIPT)
    env = {"RAY_DISABLE_USAGE_STATS": "1", "RAY_USAGE_STATS_ENABLED": "0"}
    for mode in ("fail", "clean"):
        run = subprocess.run([sys.executable, str(script), str(tmp_path), mode], capture_output=True, text=True,
                             timeout=420, env={**__import__("os").environ, **env})
        assert run.returncode == 0, run.stderr[-3000:]
    assert (tmp_path / "failed").exists(), "no worker was killed"
    failed, clean = (json.loads((tmp_path / name).read_text()) for name in ("failed.json", "clean.json"))
    assert failed["epochs"] == [1, 2, 3, 4] and failed["step"] == clean["step"] == 4 * 16
    assert failed["accuracy"] > 0.95
    for name, values in clean["weights"].items():  # resumed from epoch 2: the same run, exactly
        assert failed["weights"][name] == pytest.approx(values, abs=1e-6), name
