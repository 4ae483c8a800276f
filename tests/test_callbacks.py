"""The built-in callbacks beyond the contract suite's: TensorBoard without TensorFlow, the old
Checkpointing name, LambdaCallback's checks; the History and progress line every fit installs
before the user's callbacks, and the run's learning rate they change."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

import dlcore
from conftest import BACKENDS
from dlcore import ConfigError, LambdaCallback, ModelCheckpoint, TensorBoard


@pytest.mark.skipif("torch" not in BACKENDS, reason="needs torch")
def test_tensorboard_writes_event_files_without_importing_tensorflow(tmp_path):
    pytest.importorskip("tensorboard")
    code = textwrap.dedent(f'''
        import json, sys
        from dlcore import TensorBoard, Trainer, models
        from dlcore.testing.data import blobs
        x, y = blobs(300)
        trainer = Trainer(backend="torch", epochs=3, batch_size=32, optimizer="adam", lr=1e-2, seed=0, progress=False)
        history = trainer.fit(models.mlp(20, [8], 4), (x, y), validation=(x[:60], y[:60]),
                              callbacks=[TensorBoard({str(tmp_path / "logs")!r})])
        print(json.dumps({{"loss": history["loss"], "val_accuracy": history["val_accuracy"],
                          "tensorflow": "tensorflow" in sys.modules}}))
    ''')
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=os.environ)
    assert out.returncode == 0, out.stderr[-3000:]
    result = __import__("json").loads(out.stdout.splitlines()[-1])
    assert result["tensorflow"] is False, "the TensorBoard callback imported TensorFlow"
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    train = EventAccumulator(str(tmp_path / "logs" / "train")).Reload()
    validation = EventAccumulator(str(tmp_path / "logs" / "validation")).Reload()
    assert [e.step for e in train.Scalars("epoch_loss")] == [1, 2, 3]
    assert [e.value for e in train.Scalars("epoch_loss")] == pytest.approx(result["loss"], rel=1e-6)
    assert [e.value for e in validation.Scalars("epoch_accuracy")] == pytest.approx(result["val_accuracy"], rel=1e-6)


def test_checkpointing_is_the_old_name_of_model_checkpoint(tmp_path):
    with pytest.warns(DeprecationWarning, match="dlcore.Checkpointing is deprecated.*dlcore.ModelCheckpoint"):
        saver = dlcore.Checkpointing(tmp_path, every=2)
    assert isinstance(saver, ModelCheckpoint) and saver.every == 2


def test_lambda_callback_names_an_unknown_hook():
    with pytest.raises(ConfigError, match="LambdaCallback has no hook on_batch_end; the hooks are on_train_begin"):
        LambdaCallback(on_batch_end=print)


def test_tensorboard_without_its_package_is_refused_when_made_naming_the_extra(monkeypatch):
    for name in [m for m in sys.modules if m == "tensorboard" or m.startswith("tensorboard.")] + ["tensorboard"]:
        monkeypatch.setitem(sys.modules, name, None)  # as if not installed
    with pytest.raises(ConfigError, match=r'needs the tensorboard package: pip install "dlcore-ml\[tensorboard\]"'):
        TensorBoard("logs")


def _fit_numpy(callbacks, **settings):
    from conftest import numpy_backend
    from dlcore.testing.data import blobs

    with numpy_backend():
        trainer = dlcore.Trainer("numpy", epochs=3, lr=0.1, seed=0, progress=False, **settings)
        x, y = blobs(200)
        model = trainer.build(dlcore.models.mlp(20, [8], 4))
        history = trainer.fit(model, (x[:160], y[:160]), validation=(x[160:], y[160:]), callbacks=callbacks)
    return trainer, model, history


def test_a_users_callbacks_see_each_epoch_already_in_the_history_and_on_the_progress_line(capsys):
    seen = []
    watcher = LambdaCallback(on_epoch_end=lambda trainer, model, epoch, logs: seen.append(
        (epoch, [record["epoch"] for record in model.history_records], capsys.readouterr().out.count(f"Epoch {epoch}/3: loss"))))
    _, _, history = _fit_numpy([watcher], verbose=True)
    assert history["epoch"] == [1, 2, 3] and len(history["val_loss"]) == 3
    assert seen == [(1, [1], 1), (2, [1, 2], 1), (3, [1, 2, 3], 1)]


def test_a_callback_changes_the_runs_learning_rate_and_the_trainers_setting_stays(tmp_path):
    halve = LambdaCallback(on_epoch_end=lambda trainer, model, epoch, logs: setattr(
        trainer, "run_lr", trainer.run_lr / 2))
    trainer, model, history = _fit_numpy([halve, ModelCheckpoint(tmp_path, monitor="val_loss", mode="min")])
    assert history["lr"] == pytest.approx([0.1, 0.05, 0.025])
    assert trainer.lr == 0.1 and trainer.run_lr == pytest.approx(0.0125)
    from dlcore.io.checkpoint import TrainingCheckpoint

    saved = TrainingCheckpoint.load(tmp_path / "last.npz").state
    assert [record["lr"] for record in saved["history"]] == history["lr"]  # saved with the epoch it ends
    assert (tmp_path / "best.npz").is_file()
