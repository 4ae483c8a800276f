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


@pytest.mark.across  # torch trains and TensorFlow, installed beside it, stays out
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


def _fit_numpy(callbacks, resume_from=None, model=None, **settings):
    from conftest import numpy_backend
    from dlcore.testing.data import blobs

    with numpy_backend():
        trainer = dlcore.Trainer("numpy", **{**dict(epochs=3, lr=0.1, seed=0, progress=False), **settings})
        x, y = blobs(200)
        model = model or trainer.build(dlcore.models.mlp(20, [8], 4))
        history = trainer.fit(model, (x[:160], y[:160]), validation=(x[160:], y[160:]), callbacks=callbacks,
                              resume_from=resume_from)
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


def _fit_values(values, callbacks, mode="min", **settings):
    """A numpy fit whose epochs report ``values`` as "score" (a LambdaCallback sets it before the others run)."""
    score = LambdaCallback(on_epoch_end=lambda trainer, model, epoch, logs: logs.update(score=values[epoch - 1]))
    return _fit_numpy([score, *callbacks], epochs=len(values), **settings)


def test_model_checkpoint_save_top_k_keeps_the_k_best_epochs_and_deletes_the_worse(tmp_path):
    from dlcore.io.checkpoint import TrainingCheckpoint

    keeper = ModelCheckpoint(tmp_path, monitor="score", mode="min", save_top_k=2)
    _fit_values([0.5, 0.3, 0.4, 0.6, 0.2], [keeper])
    kept = sorted(p.name for p in tmp_path.glob("epoch=*.npz"))
    assert kept == ["epoch=2-step=6-score=0.3000.npz", "epoch=5-step=15-score=0.2000.npz"]
    assert {p.name: v for p, v in keeper.best_k_models.items()} == {"epoch=2-step=6-score=0.3000.npz": 0.3,
                                                                      "epoch=5-step=15-score=0.2000.npz": 0.2}
    assert TrainingCheckpoint.load(keeper.best_path).metadata["epoch"] == 5 and keeper.last_path.is_file()
    assert TrainingCheckpoint.load(tmp_path / "epoch=2-step=6-score=0.3000.npz").state["epoch"] == 2


def test_model_checkpoint_resumed_in_a_new_process_keeps_the_best_and_the_top_k_of_the_run_before(tmp_path):
    from dlcore.io.checkpoint import TrainingCheckpoint

    values = [0.5, 0.3, 0.4, 0.45, 0.35]
    _fit_values(values[:3], [ModelCheckpoint(tmp_path, monitor="score", mode="min", save_top_k=2)])
    keeper = ModelCheckpoint(tmp_path, monitor="score", mode="min", save_top_k=2)  # as a new process makes it
    _, _, history = _fit_values(values, [keeper], resume_from=tmp_path / "last.npz")
    assert history["epoch"] == [1, 2, 3, 4, 5]
    kept = sorted(p.name for p in tmp_path.glob("epoch=*.npz"))
    assert kept == ["epoch=2-step=6-score=0.3000.npz", "epoch=5-step=15-score=0.3500.npz"]
    assert sorted(keeper.best_k_models.values()) == [0.3, 0.35] and keeper.best == 0.3
    assert TrainingCheckpoint.load(keeper.best_path).metadata["epoch"] == 2  # not epoch 4's worse 0.45


def test_model_checkpoint_keeps_the_files_of_another_run_in_its_directory_and_warns(tmp_path):
    every = ModelCheckpoint(tmp_path, monitor="score", mode="min", save_top_k=-1)
    _fit_values([0.5, 0.3], [every])
    with pytest.warns(UserWarning, match=r"already holds checkpoints of score \(best 0.3\).*its own directory"):
        _fit_values([0.5, 0.3], [ModelCheckpoint(tmp_path, monitor="score", mode="min", save_top_k=-1)])
    assert sorted(p.name for p in tmp_path.glob("epoch=*.npz")) == [
        "epoch=1-step=3-score=0.5000-v1.npz", "epoch=1-step=3-score=0.5000.npz",
        "epoch=2-step=6-score=0.3000-v1.npz", "epoch=2-step=6-score=0.3000.npz"]


def test_model_checkpoint_deletes_worse_files_on_rank_0_alone(tmp_path, monkeypatch):
    monkeypatch.setattr(dlcore.Trainer, "is_chief", property(lambda self: False))  # another rank (which writes too here)
    keeper = ModelCheckpoint(tmp_path, monitor="score", mode="min", save_top_k=1)
    _fit_values([0.5, 0.3], [keeper])
    assert [p.name for p in keeper.best_k_models] == ["epoch=2-step=6-score=0.3000.npz"]
    assert len(list(tmp_path.glob("epoch=*.npz"))) == 2  # rank 0 deletes epoch 1's


def test_model_checkpoint_save_top_k_minus_one_keeps_all_and_zero_none(tmp_path):
    every = ModelCheckpoint(tmp_path / "all", monitor="score", mode="max", save_top_k=-1)
    none = ModelCheckpoint(tmp_path / "none", monitor="score", mode="max", save_top_k=0)
    default = ModelCheckpoint(tmp_path / "default", monitor="score", mode="max")
    _fit_values([0.5, 0.3, 0.4], [every, none, default])
    assert len(list((tmp_path / "all").glob("epoch=*.npz"))) == 3 and every.best == 0.5
    assert sorted(p.name for p in (tmp_path / "none").iterdir()) == ["last.npz"]
    assert sorted(p.name for p in (tmp_path / "default").iterdir()) == ["best.npz", "last.npz"]
    with pytest.raises(ConfigError, match="save_top_k must be -1"):
        ModelCheckpoint(tmp_path, save_top_k=-2)


def test_early_stopping_says_when_and_why_it_stopped_and_restores_the_best_weights(capsys):
    stopper = dlcore.EarlyStopping(monitor="score", mode="min", patience=2, restore_best_weights=True)
    keep = {}
    remember = LambdaCallback(on_epoch_end=lambda trainer, model, epoch, logs: keep.update({epoch: model.get_weights()}))
    _, model, history = _fit_values([0.5, 0.41, 0.45, 0.47, 0.3, 0.2], [remember, stopper])
    assert history["epoch"] == [1, 2, 3, 4]
    assert (stopper.stopped_epoch, stopper.best_epoch, stopper.best) == (4, 2, 0.41)
    err = capsys.readouterr().err
    assert "early stopping at epoch 4: score did not improve for 2 epochs (best 0.41 at epoch 2); " \
           "restored the weights of epoch 2" in err
    assert all((model.get_weights()[k] == v).all() for k, v in keep[2].items())


def test_early_stopping_without_restoring_says_the_model_keeps_the_last_epochs_weights(capsys):
    stopper = dlcore.EarlyStopping(monitor="score", mode="min", patience=2)
    _, model, history = _fit_values([0.5, 0.41, 0.45, 0.47, 0.3], [stopper])
    assert history["epoch"] == [1, 2, 3, 4] and model.epoch == 4
    assert stopper.message == ("early stopping at epoch 4: score did not improve for 2 epochs (best 0.41 at epoch 2); "
                               "the model keeps epoch 4's weights (the last); restore_best_weights=True ends with "
                               "epoch 2's")
    assert stopper.message in capsys.readouterr().err


def test_learning_rate_monitor_keeps_each_steps_rate_of_a_per_step_schedule():
    from dlcore.schedules import CosineDecay

    steps, epochs = dlcore.LearningRateMonitor("step"), dlcore.LearningRateMonitor()
    _, model, history = _fit_numpy([steps, epochs], schedule=CosineDecay(warmup=3), batch_size=32)
    assert [s for s, _ in steps.rates] == list(range(1, model.step + 1)) and model.step == 15  # 160 samples / 32
    rates = [r for _, r in steps.rates]
    assert rates[0] < rates[1] < rates[2] and rates[3] > rates[-1]  # the warm-up, then the decay within epochs
    assert epochs.rates == list(zip(history["epoch"], history["lr"]))
    assert [rates[4], rates[9], rates[14]] == pytest.approx(history["lr"])  # each epoch's last step is its "lr"
    with pytest.raises(ConfigError, match="logging_interval must be 'epoch' or 'step'"):
        dlcore.LearningRateMonitor("batch")


def test_learning_rate_monitor_counts_steps_as_the_epochs_count_in_a_second_fit_and_a_resumed_one(tmp_path):
    _, model, _ = _fit_numpy([ModelCheckpoint(tmp_path, monitor=None)], epochs=2)  # 3 steps an epoch
    again, epochs = dlcore.LearningRateMonitor("step"), dlcore.LearningRateMonitor()
    _fit_numpy([again, epochs], model=model, epochs=2)  # a second fit: epochs 1 and 2 again
    assert [e for e, _ in epochs.rates] == [1, 2] and [s for s, _ in again.rates] == [1, 2, 3, 4, 5, 6]
    resumed = dlcore.LearningRateMonitor("step")
    _fit_numpy([resumed], resume_from=tmp_path / "last.npz", epochs=3)  # epoch 3 after the saved 2
    assert [s for s, _ in resumed.rates] == [7, 8, 9]
