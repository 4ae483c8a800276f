"""Trainer(launcher="ray"): a fit on a local Ray cluster of two CPU workers survives a worker
that dies, resuming from the last epoch's checkpoint, and ends where one process ends with the
same global batch; rank 0 alone writes its checkpoints and logs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from conftest import BACKENDS
from dlcore.testing.distributed import written

pytest.importorskip("ray.train", reason="Ray Train is not installed (pip install 'dlcore-ml[ray]')")

SCRIPT = textwrap.dedent('''
    import json, os, sys, time
    from pathlib import Path
    import numpy as np
    from dlcore import CSVLogger, Callback, LambdaCallback, ModelCheckpoint, Trainer, models
    from dlcore.parallel.ray import RayLauncher
    from dlcore.testing.data import blobs
    from dlcore.testing.distributed import audit_writes, tensorboard_logs

    folder = Path(sys.argv[1])
    marker, shared = folder / "failed", folder / "shared"

    class Audit(Callback):  # the files each worker writes from the start of its fit
        def on_train_begin(self, trainer, model):
            audit_writes(folder / f"writes-{trainer.strategy.rank}.txt")

    def fault(trainer, model, epoch):
        time.sleep(1.5)  # Ray registers a reported checkpoint within about a second
        if epoch == 3 and trainer.strategy.rank == 1 and not marker.exists():
            marker.write_text(str(time.time()))
            os._exit(1)

    x, y = blobs(1024, classes=4, seed=2)
    trainer = Trainer("torch", epochs=4, batch_size=64, optimizer="adam", lr=1e-2, seed=0, progress=False,
                      launcher=RayLauncher(workers=2, max_failures=1))
    model = models.mlp(20, [16], 4)
    logs = [CSVLogger(shared / "history.csv"), ModelCheckpoint(shared / "checkpoints", monitor="loss"),
            *tensorboard_logs(shared)]
    history = trainer.fit(model, (x, y), callbacks=[Audit(), LambdaCallback(on_epoch_begin=fault), *logs])
    weights = trainer.build(model).get_weights()
    result = {"epochs": [r["epoch"] for r in history.records], "accuracy": trainer.evaluate(model, (x, y))["accuracy"],
              "weights": {k: v.ravel().tolist() for k, v in weights.items()}, "step": trainer.build(model).step}
    (folder / "result.json").write_text(json.dumps(result))
''')


@pytest.mark.slow
@pytest.mark.skipif("torch" not in BACKENDS, reason="torch is not installed")
def test_a_ray_run_with_a_dead_worker_resumes_and_ends_as_one_process(tmp_path):
    from dlcore import Trainer, models
    from dlcore.testing.data import blobs

    script = tmp_path / "ray_fit.py"
    script.write_text(SCRIPT)
    # Ray runs its workers at niceness 15: beside busy processes they would wait for minutes at a
    # time (over 9 minutes for one epoch with two CPU-bound processes on 2 cores, 99 s for the
    # whole run at niceness 0)
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_worker_niceness": "0"}
    run = subprocess.run([sys.executable, str(script), str(tmp_path)], capture_output=True, text=True, timeout=420,
                         env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    assert (tmp_path / "failed").exists(), "no worker was killed"
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["epochs"] == [1, 2, 3, 4] and result["step"] == 4 * 16 and result["accuracy"] > 0.95
    chief, other = (written(tmp_path / f"writes-{rank}.txt", tmp_path / "shared") for rank in (0, 1))
    assert {"checkpoints/last.npz", "checkpoints/best.npz", "history.csv"} <= set(chief), chief
    assert not other, f"rank 1 wrote {other}: only rank 0 writes the checkpoints and the logs"
    trainer = Trainer("torch", epochs=4, batch_size=64, optimizer="adam", lr=1e-2, seed=0, progress=False,
                      device="cpu")
    spec = models.mlp(20, [16], 4)
    trainer.fit(spec, blobs(1024, classes=4, seed=2))
    for name, value in trainer.build(spec).get_weights().items():  # resumed after epoch 2, as if never broken
        np.testing.assert_allclose(np.reshape(result["weights"][name], value.shape), value, rtol=1.3e-5, atol=1e-5,
                                   err_msg=name)
