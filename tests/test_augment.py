"""Data augmentation: random transforms of training batches, per epoch, seeded; padding of token ids."""

from __future__ import annotations

import numpy as np
import pytest

import dlcore
from dlcore import ArrayDataset, Trainer, get_backend, models
from dlcore.contract.errors import ConfigError
from dlcore.testing.data import blobs, learnable_images
from dlcore.transforms import (Compose, Normalize, PadSequences, RandomAffine, RandomCrop, RandomErasing,
                               RandomHorizontalFlip, RandomRotation, RandomTranslation, RandomVerticalFlip, ToTensor)

from conftest import BACKENDS, numpy_backend


class Recorder:
    """A random transform that records each batch it is given and the first number it draws."""

    def __init__(self) -> None:
        self.batches: list[tuple[int, float]] = []

    def __call__(self, image):
        return image

    def augment(self, images, rng, channels=None):
        self.batches.append((len(images), float(rng.random())))
        return images


def _fit_numpy(augment, seed=0, epochs=2):
    with numpy_backend():
        trainer = Trainer("numpy", epochs=epochs, batch_size=16, lr=0.1, seed=seed, progress=False)
        x, y = blobs(100)
        spec = models.mlp(20, [8], 4)
        history = trainer.fit(spec, (x[:80], y[:80]), validation=(x[80:], y[80:]), augment=augment)
        trainer.evaluate(spec, (x[80:], y[80:]))
    return history


def test_augmentation_sees_each_training_batch_of_each_epoch_and_never_the_validation_data():
    recorder = Recorder()
    _fit_numpy(recorder)
    assert [n for n, _ in recorder.batches] == [16] * 5 * 2  # 80 training samples, 2 epochs; no validation
    draws = [draw for _, draw in recorder.batches]
    assert len(set(draws)) == len(draws)  # each batch of each epoch its own draws


def test_a_seeded_run_draws_the_same_augmentation_and_another_seed_others():
    first, again, other = Recorder(), Recorder(), Recorder()
    _fit_numpy(first), _fit_numpy(again), _fit_numpy(other, seed=1)
    assert first.batches == again.batches
    assert first.batches != other.batches


def test_augment_needs_a_transform_and_dlcore_data():
    with numpy_backend():
        trainer = Trainer("numpy", epochs=1, progress=False)
        x, y = blobs(40)
        with pytest.raises(ConfigError, match="augment must be a transform"):
            trainer.fit(models.mlp(20, [8], 4), (x, y), augment="flip")


@pytest.mark.skipif(not BACKENDS, reason="needs a backend")
def test_training_with_augmentation_reaches_high_accuracy_and_repeats_with_a_seed(backend, device):
    images, labels = learnable_images(600, 0)  # a bright horizontal band per class: flips and small shifts keep it
    train = ArrayDataset(images[:500] / np.float32(255), labels[:500])
    test = (images[500:] / np.float32(255), labels[500:])
    augment = Compose([RandomHorizontalFlip(), RandomTranslation(0.0, 0.1), RandomErasing(p=0.5, scale=(0.02, 0.05))])
    histories = []
    try:
        for _ in range(2):
            trainer = Trainer(backend, epochs=4, batch_size=32, optimizer="adam", lr=3e-3, seed=0, device=device,
                              progress=False, deterministic=True)
            spec = models.mlp(784, [32], 10)
            histories.append(trainer.fit(spec, train, validation=test, augment=augment).history)
    finally:
        get_backend(backend).set_deterministic(False)  # deterministic=True is the whole process's
    assert trainer.evaluate(spec, test)["accuracy"] >= 0.9
    assert histories[0]["loss"] == histories[1]["loss"] and histories[0]["val_loss"] == histories[1]["val_loss"]


def test_training_with_augmentation_on_the_numpy_backend_reaches_high_accuracy():
    images, labels = learnable_images(400, 1)
    with numpy_backend():
        trainer = Trainer("numpy", epochs=6, batch_size=20, lr=0.3, seed=0, progress=False)
        spec = models.mlp(784, [32], 10)
        trainer.fit(spec, (images[:300] / np.float32(255), labels[:300]), augment=RandomHorizontalFlip())
        assert trainer.evaluate(spec, (images[300:] / np.float32(255), labels[300:]))["accuracy"] >= 0.9


def test_a_streamed_dataset_is_augmented_too(tmp_path):
    recorder = Recorder()
    x, y = blobs(64)
    np.save(tmp_path / "x.npy", x)
    mapped = np.load(tmp_path / "x.npy", mmap_mode="r")
    with numpy_backend():
        trainer = Trainer("numpy", epochs=1, batch_size=16, lr=0.1, seed=0, progress=False, stream=True)
        trainer.fit(models.mlp(20, [8], 4), ArrayDataset(mapped, y), augment=recorder)
    assert [n for n, _ in recorder.batches] == [16] * 4


# ---------------------------------------------------------------- the transforms

RNG = np.random.default_rng


def test_random_crop_with_padding_shifts_each_image_by_up_to_the_padding():
    image = np.zeros((8, 8), np.uint8)
    image[3:5, 3:5] = 255
    crops = RandomCrop(8, padding=2).augment(np.repeat(image[None], 200, 0), RNG(0))
    assert crops.shape == (200, 8, 8) and crops.dtype == np.uint8
    tops = [np.argwhere(c)[:, 0].min() for c in crops]
    assert set(tops) == {1, 2, 3, 4, 5}  # the square moved by -2..2 rows
    assert all(c.sum() == 4 * 255 for c in crops)  # never cut off: it is within the padding


def test_flips_happen_with_probability_p_and_keep_the_channel_layout():
    images = RNG(0).random((400, 3, 4, 5)).astype(np.float32)  # channels first
    flipped = RandomHorizontalFlip(p=0.5).augment(images, RNG(1), "first")
    mirrored = (flipped == images[..., ::-1]).all(axis=(1, 2, 3))
    assert flipped.shape == images.shape and 150 < mirrored.sum() < 250
    assert ((flipped == images).all(axis=(1, 2, 3)) | mirrored).all()
    upside = RandomVerticalFlip(p=1.0).augment(images.transpose(0, 2, 3, 1), RNG(1), "last")
    assert (upside == images.transpose(0, 2, 3, 1)[:, ::-1]).all()


def test_rotation_translation_and_affine_keep_shape_and_dtype_and_move_pixels():
    images = np.zeros((50, 12, 12), np.uint8)
    images[:, 2:10, 5:7] = 200  # a vertical bar
    for transform in (RandomRotation(45), RandomTranslation(0.2, 0.2), RandomAffine(30, (0.1, 0.1), (0.8, 1.2))):
        moved = transform.augment(images, RNG(0))
        assert moved.shape == images.shape and moved.dtype == np.uint8
        assert (moved != images).any(axis=(1, 2)).mean() > 0.5
        assert set(np.unique(moved)) <= {0, 200}
    assert (RandomRotation(0).augment(images, RNG(0)) == images).all()


def test_random_erasing_blanks_a_rectangle_of_the_given_area():
    erased = RandomErasing(p=1.0, scale=(0.1, 0.1), ratio=(1.0, 1.0)).augment(np.ones((20, 20, 20), np.float32), RNG(0))
    assert ((erased == 0).sum(axis=(1, 2)) == 36).all()  # sqrt(0.1 * 400) -> a 6x6 square
    assert (RandomErasing(p=0.0).augment(np.ones((5, 9, 9)), RNG(0)) == 1).all()


def test_a_seed_gives_the_same_draws_and_a_single_image_is_augmented_with_a_warning_to_use_fit():
    images = RNG(0).integers(0, 255, (16, 28, 28), dtype=np.uint8)
    augment = Compose([RandomCrop(28, padding=4), RandomHorizontalFlip(), RandomRotation(10)])
    first = dlcore.data.augment.augment_batch(augment, images, RNG(3), None)
    assert (first == dlcore.data.augment.augment_batch(augment, images, RNG(3), None)).all()
    with pytest.warns(UserWarning, match=r"without the trainer's seed.*fit\(model, train, augment=\.\.\.\)"):
        assert augment(images[0]).shape == (28, 28)  # as a dataset's transform would call it


def test_bad_arguments_are_config_errors():
    with pytest.raises(ConfigError, match="probability"):
        RandomHorizontalFlip(p=2)
    with pytest.raises(ConfigError, match="'pre' or 'post'"):
        PadSequences(10, padding="end")


def test_pad_sequences_cuts_and_pads_as_keras():
    sequences = [[1, 2, 3, 4, 5], [6], []]
    assert PadSequences(3)(sequences).tolist() == [[3, 4, 5], [0, 0, 6], [0, 0, 0]]
    assert PadSequences(3, padding="post", truncating="post", value=9)(sequences).tolist() == \
        [[1, 2, 3], [6, 9, 9], [9, 9, 9]]
    assert PadSequences()(sequences).shape == (3, 5)


def test_pad_sequences_pads_one_sequence_so_it_is_a_dataset_transform_on_every_split():
    assert PadSequences(4)([5, 6]).tolist() == [0, 0, 5, 6]
    assert PadSequences(2)(np.array([1, 2, 3])).tolist() == [2, 3]
    texts = [[3, 1], [2], [1, 2, 3, 4, 5]]
    assert np.stack([PadSequences(4)(t) for t in texts]).tolist() == PadSequences(4)(texts).tolist()


def test_affine_translate_is_horizontal_then_vertical_as_torchvision_and_translation_height_then_width():
    image = np.zeros((1, 4, 16), np.uint8)  # wide: 4 rows, 16 columns
    image[0, 1, 8] = 1
    images = np.repeat(image, 100, 0)

    def moves(transform):
        spots = np.argwhere(transform.augment(images, RNG(0)))
        return set(spots[:, 1]) - {1}, set(spots[:, 2]) - {8}  # rows, columns it moved to

    rows, columns = moves(RandomAffine(translate=(0.25, 0.0)))  # a: up to a quarter of the width
    assert not rows and columns and max(abs(c - 8) for c in columns) <= 4
    rows, columns = moves(RandomTranslation(height_factor=0.0, width_factor=0.25))
    assert not rows and columns
    rows, columns = moves(RandomTranslation(height_factor=0.5, width_factor=0.0))
    assert rows and not columns


def test_each_process_of_a_group_draws_its_own_augmentation_keyed_on_the_samples():
    recorder = Recorder()
    augmentation = dlcore.data.augment.Augmentation(recorder, seed=0)
    features = np.zeros((8, 4), np.float32)
    augmentation(features, 1, 0, 8, np.arange(0, 8))  # rank 0's first batch of epoch 1
    augmentation(features, 1, 0, 8, np.arange(8, 16))  # rank 1's, the same seed, epoch and batch number
    augmentation(features, 1, 3, 8, np.arange(0, 8))  # the same samples as the batch of another number
    draws = [draw for _, draw in recorder.batches]
    assert draws[0] != draws[1] and draws[0] == draws[2]


def test_augment_refuses_a_deterministic_dlcore_transform_and_says_to_put_it_on_the_dataset():
    with numpy_backend():
        trainer = Trainer("numpy", epochs=1, progress=False)
        x, y = blobs(40)
        for augment in (Normalize([0.5], [0.5]), Compose([RandomHorizontalFlip(), ToTensor()]), PadSequences(5)):
            with pytest.raises(ConfigError, match=r"not random.*training batches only.*dataset"):
                trainer.fit(models.mlp(20, [8], 4), (x, y), augment=augment)


@pytest.mark.skipif(not BACKENDS, reason="needs a backend")
def test_augmentation_with_class_weight_on_arrays_in_memory_trains(backend, device):
    if backend == "numpy":
        pytest.skip("the numpy backend does not weight samples")
    images, labels = learnable_images(400, 1)
    trainer = Trainer(backend, epochs=6, batch_size=20, optimizer="adam", lr=3e-3, seed=0, device=device,
                      progress=False)
    spec = models.mlp(784, [32], 10)
    trainer.fit(spec, images[:300] / np.float32(255), labels[:300], augment=RandomHorizontalFlip(),
                class_weight="balanced")
    assert trainer.evaluate(spec, images[300:] / np.float32(255), labels[300:])["accuracy"] >= 0.9
