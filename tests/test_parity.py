"""Both backends, one process: the same spec, seed and data give the same numbers.

Tolerances, as the README states them: logits of the same weights agree to 1e-5 (absolute);
training trajectories (per-epoch losses, relative) and trained weights (absolute) to 1e-5.
Epochs here are 54 steps with a last batch of 4 samples: longer than one compiled multi-step
call of the TensorFlow backend, and uneven.
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import BOTH, blobs
from dlcore import Trainer, embeddings, models
from dlcore.optimizers import SGD, Adam, AdamW, RMSprop
from dlcore.schedules import OneCycle

pytestmark = [pytest.mark.across, pytest.mark.skipif(not BOTH, reason="needs both torch and tensorflow")]

LOGITS_ATOL = 1e-5
TRAJECTORY_RTOL = 1e-5
WEIGHTS_ATOL = 1e-5
SAMPLES = 1700  # 54 batches of 32, the last of 4


def trainers(**settings):
    defaults = dict(epochs=2, batch_size=32, optimizer="sgd", lr=0.05, seed=0, device="cpu", progress=False)
    return [Trainer(backend=b, **{**defaults, **settings}) for b in ("torch", "tensorflow")]


def assert_same_training(make_spec, train, validation=None, **settings):
    """Train ``make_spec()`` on both backends; their histories and weights must agree."""
    histories, weights = [], []
    for trainer in trainers(**settings):
        spec = make_spec()
        histories.append(trainer.fit(spec, train, validation=validation))
        weights.append(trainer.build(spec).get_weights())
    for metric in histories[0].history:
        if metric.endswith("loss"):
            np.testing.assert_allclose(histories[0][metric], histories[1][metric], rtol=TRAJECTORY_RTOL,
                                       err_msg=f"torch and tensorflow {metric} differ")
        elif metric.endswith("accuracy"):  # a near-tie may round either way: one sample at most
            np.testing.assert_allclose(histories[0][metric], histories[1][metric], atol=1 / 1000,
                                       err_msg=f"torch and tensorflow {metric} differ")
    for name in weights[0]:
        np.testing.assert_allclose(weights[0][name], weights[1][name], atol=WEIGHTS_ATOL,
                                   err_msg=f"torch and tensorflow {name} differ after training")
    return histories


def test_same_weights_give_the_same_logits():
    x, _ = blobs(200)
    spec = models.mlp(20, [16, 16], 4)
    torch_logits, tf_logits = (t.predict(spec, x, allow_random=True) for t in trainers())
    np.testing.assert_allclose(torch_logits, tf_logits, atol=LOGITS_ATOL)


@pytest.mark.parametrize("optimizer, lr", [("sgd", 0.05), ("adam", 1e-3)])
def test_training_follows_the_same_trajectory(optimizer, lr):
    x, y = blobs(SAMPLES)
    assert_same_training(lambda: models.mlp(20, [16], 4), (x, y), optimizer=optimizer, lr=lr)


@pytest.mark.parametrize("optimizer", [
    SGD(0.05, momentum=0.9, nesterov=True, weight_decay=1e-3), Adam(1e-3, weight_decay=1e-3, amsgrad=True),
    AdamW(1e-3), RMSprop(1e-3, momentum=0.5, centered=True)], ids=["sgd-nesterov", "adam-amsgrad", "adamw", "rmsprop"])
def test_optimizer_objects_with_a_schedule_clipping_and_accumulation_train_the_same(optimizer):
    """Six epochs (324 batches, 162 updates of 2 batches each), a one-cycle schedule, gradients
    clipped by norm: the same trajectory and weights on both backends."""
    x, y = blobs(SAMPLES)
    assert_same_training(lambda: models.mlp(20, [16], 4), (x, y), optimizer=optimizer, lr=None, epochs=6,
                         schedule=OneCycle(), clip_norm=1.0, accumulate=2)


def test_one_logit_binary_classifier_trains_the_same():
    x, y = blobs(SAMPLES, classes=2)
    histories = assert_same_training(lambda: models.mlp(20, [16], 1), (x, y), optimizer="adam", lr=1e-3)
    assert histories[0]["accuracy"][-1] >= 0.9


def test_one_hot_labels_and_a_validation_fraction_train_the_same():
    x, y = blobs(SAMPLES + 400)
    one_hot = np.eye(4, dtype=np.float32)[y]
    histories = assert_same_training(lambda: models.mlp(20, [16], 4), (x, one_hot), validation=0.2,
                                     optimizer="adam", lr=1e-3)
    assert set(histories[0].history) >= {"val_loss", "val_accuracy"}


def test_text_classifier_with_adam_trains_the_same(tmp_path):
    from text_fixtures import reviews, write_glove

    texts, labels = reviews(SAMPLES)
    emb = embeddings.load(str(write_glove(tmp_path / "glove.txt")), vocabulary=texts)
    assert_same_training(lambda: models.text_classifier(emb), (texts, labels), validation=0.1,
                         optimizer="adam", lr=1e-3)


def test_checkpoint_moves_between_backends(tmp_path):
    x, y = blobs(300)
    torch_trainer, tf_trainer = trainers()
    spec = models.mlp(20, [16], 4)
    torch_trainer.fit(spec, (x, y))
    path = torch_trainer.save(spec, tmp_path / "torch.npz")
    restored = tf_trainer.load(path)
    np.testing.assert_allclose(tf_trainer.predict(restored, x), torch_trainer.predict(spec, x), atol=LOGITS_ATOL)
    tf_trainer.fit(restored, (x, y))
    back = torch_trainer.load(tf_trainer.save(restored, tmp_path / "tf.npz"))
    np.testing.assert_allclose(torch_trainer.predict(back, x), tf_trainer.predict(restored, x), atol=LOGITS_ATOL)
