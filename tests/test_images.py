"""The tutorial's custom image dataset: a CSV of (file name, label) and an image folder."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from dlcore import DataError, Trainer, datasets, models
from conftest import learnable_images


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


def test_trains_on_each_backend(backend, device, image_dir):
    data = datasets.image_csv(image_dir / "labels.csv", image_dir / "images",
                              transform=lambda a: a.astype(np.float32) / 255, num_classes=10)
    spec = models.mlp(784, [64], 10)
    trainer = Trainer(backend=backend, epochs=5, batch_size=32, optimizer="adam", lr=1e-3, seed=0,
                      device=device, progress=False)
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
