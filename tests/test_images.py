"""The tutorial's custom image dataset: a CSV of (file name, label) and an image folder."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from PIL import Image

from dlcore import DataError, Trainer, datasets, get_backend, models, transforms
from conftest import BACKENDS, learnable_images


@pytest.fixture
def image_dir(tmp_path):
    images, labels = learnable_images(300, 0)
    folder = tmp_path / "images"
    folder.mkdir()
    rows = ["file,label"]
    for i, (image, label) in enumerate(zip(images, labels)):
        Image.fromarray(image).save(folder / f"img{i}.png")
        rows.append(f"img{i}.png,{label}")
    (tmp_path / "labels.csv").write_text("\n".join(rows) + "\n")
    return tmp_path


def test_reads_images_labels_and_applies_transforms(image_dir):
    data = datasets.image_csv(image_dir / "labels.csv", image_dir / "images",
                              transform=lambda a: a.astype(np.float32) / 255, target_transform=lambda y: y)
    assert len(data) == 300
    image, label = data[0]
    images, labels = learnable_images(300, 0)
    np.testing.assert_allclose(image, images[0] / 255, atol=1e-6)
    assert label == labels[0]
    x, y = data.arrays()
    assert x.shape == (300, 28, 28) and x.dtype == np.float32 and (y == labels).all()


@pytest.mark.parametrize("stream", [None, True])
def test_trains_on_each_backend_in_memory_or_streamed(backend, device, image_dir, stream):
    """The tutorial's custom dataset with its ToTensor and one-hot target transforms (dlcore's,
    framework-neutral), loaded whole (it fits the budget) or read while training."""
    data = datasets.image_csv(image_dir / "labels.csv", image_dir / "images", transform=transforms.ToTensor(),
                              target_transform=transforms.OneHot(10), num_classes=10)
    spec = models.mlp(784, [64], 10)
    trainer = Trainer(backend=backend, epochs=5, batch_size=32, optimizer="adam", lr=1e-3, seed=0,
                      device=device, progress=False, stream=stream, readers=2)
    trainer.fit(spec, data[:250])
    assert trainer.evaluate(spec, data[250:])["accuracy"] >= 0.9


@pytest.mark.parametrize("csv_text, message", [
    ("a.png,0\nb.png\n", "row 2: expected 'file name, label'"),
    ("a.png,0\nb.png,x\n", "row 2: label 'x' is not an integer"),
    ("a.png,0\nb.png,12\n", r"row 2: label 12 is out of range \(0..9\)"),
    ("file,label\n", "lists no images"),
])
def test_malformed_rows_are_named(tmp_path, csv_text, message):
    (tmp_path / "labels.csv").write_text(csv_text)
    with pytest.raises(DataError, match=message):
        datasets.image_csv(tmp_path / "labels.csv", tmp_path, num_classes=10)


def test_missing_and_unreadable_images_are_named(image_dir):
    (image_dir / "images" / "img3.png").unlink()
    (image_dir / "images" / "img5.png").write_bytes(b"not a png")
    data = datasets.image_csv(image_dir / "labels.csv", image_dir / "images")
    with pytest.raises(DataError, match=r"row 5: image .*img3.png does not exist"):
        data.arrays()
    with pytest.raises(DataError, match=r"row 7: cannot read image .*img5.png"):
        data[5]


def test_image_datasets_say_their_classes_and_channels(image_dir, fashion_dir):
    data = datasets.image_csv(image_dir / "labels.csv", image_dir / "images")
    assert data.num_classes == 10 and data.channels is None and data.arrays()[0].shape == (300, 28, 28)
    first = datasets.image_csv(image_dir / "labels.csv", image_dir / "images", channels="first")
    assert first.arrays()[0].shape == (300, 1, 28, 28) and first[:5].channels == "first"
    train, _ = datasets.fashion_mnist(fashion_dir, download=False, channels="last")
    assert train.features.shape[1:] == (28, 28, 1) and train.channels == "last" and train.num_classes == 10
    with pytest.raises(DataError, match="channels must be 'first', 'last' or None"):
        datasets.fashion_mnist(fashion_dir, download=False, channels="nchw")


@pytest.mark.skipif(not BACKENDS, reason="no backend installed")
def test_a_validation_fraction_splits_any_dataset(image_dir):
    data = datasets.image_csv(image_dir / "labels.csv", image_dir / "images", transform=lambda a: a / 255)
    train, validation = data.split(0.2)
    assert (len(train), len(validation)) == (240, 60)
    history = Trainer(epochs=2, seed=0, progress=False).fit(models.mlp(784, [32], 10), data, validation=0.2)
    assert "val_accuracy" in history.history


@pytest.mark.skipif(not BACKENDS, reason="no backend installed")
def test_unscaled_pixels_are_warned_about_once(image_dir):
    data = datasets.image_csv(image_dir / "labels.csv", image_dir / "images")  # uint8, 0..255
    trainer = Trainer(epochs=1, seed=0, progress=False)
    spec = models.mlp(784, [16], 10)
    with pytest.warns(UserWarning, match=r"pixel values go up to 250.*features / 255"):
        trainer.fit(spec, data)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        trainer.fit(spec, data)  # the same array: warned already
        trainer.predict(spec, np.random.default_rng(0).normal(0, 1, (4, 28, 28)).astype(np.float32))  # standardized


@pytest.mark.parametrize("backend", [b for b in ("torch", "tensorflow") if b in BACKENDS])
def test_a_native_cnn_gets_images_with_the_channel_axis_it_asks_for(backend, fashion_dir):
    channels = "first" if backend == "torch" else "last"
    train, test = datasets.fashion_mnist(fashion_dir, download=False, channels=channels)
    get_backend(backend)
    if backend == "torch":
        import torch

        net = torch.nn.Sequential(torch.nn.Conv2d(1, 8, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                                  torch.nn.Flatten(), torch.nn.Linear(8 * 13 * 13, 10))
    else:
        import keras

        net = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(8, 3, activation="relu"),
                                keras.layers.MaxPooling2D(2), keras.layers.Flatten(), keras.layers.Dense(10)])
    trainer = Trainer(backend, epochs=3, optimizer="adam", lr=3e-3, seed=0, progress=False)
    trainer.fit(net, train)
    assert trainer.evaluate(net, test)["accuracy"] >= 0.9
    if backend == "torch":  # (Keras models add a missing last axis themselves)
        flat, _ = datasets.fashion_mnist(fashion_dir, download=False)  # (N, 28, 28): no channel axis
        with pytest.raises(DataError, match=r"samples of shape \(28, 28\).*channels='first' \(N, 1, H, W; torch\)"):
            Trainer(backend, epochs=1).fit(net, flat)


def test_a_bad_first_image_is_skipped_when_dlcore_probes_the_data_with_on_bad_sample_skip(tmp_path):
    """dlcore reads one sample to learn the data's shape: with ``on_bad_sample="skip"`` a broken
    first image is passed over there too, and with "error" it is named."""
    images, labels = learnable_images(4, 0)
    for i, image in enumerate(images):
        Image.fromarray(image).save(tmp_path / f"{i}.png")
    (tmp_path / "0.png").write_bytes(b"not a png")
    (tmp_path / "list.csv").write_text("".join(f"{i}.png,{y}\n" for i, y in enumerate(labels)))
    features, _ = datasets.image_csv(tmp_path / "list.csv", tmp_path, on_bad_sample="skip").probe()
    assert features.shape[0] == 1 and features.shape[-2:] == images.shape[-2:]
    with pytest.raises(DataError, match="0.png"):
        datasets.image_csv(tmp_path / "list.csv", tmp_path).probe()
