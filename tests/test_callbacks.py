"""The built-in callbacks beyond the contract suite's: TensorBoard without TensorFlow, the old
Checkpointing name, LambdaCallback's checks."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from conftest import BACKENDS
from dlcore import Checkpointing, ConfigError, LambdaCallback, ModelCheckpoint, TensorBoard


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
        saver = Checkpointing(tmp_path, every=2)
    assert isinstance(saver, ModelCheckpoint) and saver.every == 2


def test_lambda_callback_names_an_unknown_hook():
    with pytest.raises(ConfigError, match="LambdaCallback has no hook on_batch_end; the hooks are on_train_begin"):
        LambdaCallback(on_batch_end=print)


def test_tensorboard_without_its_package_is_refused_when_made_naming_the_extra(monkeypatch):
    for name in [m for m in sys.modules if m == "tensorboard" or m.startswith("tensorboard.")] + ["tensorboard"]:
        monkeypatch.setitem(sys.modules, name, None)  # as if not installed
    with pytest.raises(ConfigError, match=r'needs the tensorboard package: pip install "dlcore-ml\[tensorboard\]"'):
        TensorBoard("logs")
