"""Fashion-MNIST: the IDX reader, where files are looked for, and the download."""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import threading

import numpy as np
import pytest

from conftest import idx_bytes, write_fashion_mnist
from dlcore import DataError, DownloadError, datasets
from dlcore.data import fashion_mnist as fashion_mnist_module
from dlcore.data.idx import read_idx, read_idx_bytes


def test_reads_gzipped_and_plain_idx(tmp_path):
    images = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28) % 251
    (tmp_path / "a").write_bytes(idx_bytes(images))
    (tmp_path / "a.gz").write_bytes(gzip.compress(idx_bytes(images)))
    assert np.array_equal(read_idx(tmp_path / "a"), images)
    assert np.array_equal(read_idx(tmp_path / "a.gz"), images)


@pytest.mark.parametrize("raw, message", [
    (b"\x08\x00\x08\x01", "bad magic number"),
    (b"\x00\x00\x08\x03\x00\x00", "truncated IDX header"),
    (b"\x00\x00\x42\x01\x00\x00\x00\x01\x00", "unknown IDX element type 0x42"),
    (b"\x00\x00\x08\x01", "truncated IDX header"),
    (b"\x00\x00\x08", "bad magic number"),
    (idx_bytes(np.zeros((3, 4)))[:-1], r"shape \(3, 4\) \(24 bytes\) but the file has 23 bytes"),
    (idx_bytes(np.zeros((3, 4))) + b"\0", r"shape \(3, 4\) \(24 bytes\) but the file has 25 bytes"),
])
def test_corrupt_idx_is_refused_with_the_reason(raw, message):
    with pytest.raises(DataError, match=message):
        read_idx_bytes(raw, "file.idx")


def test_damaged_gzip_names_the_file(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    raw = bytearray(gzip.compress(idx_bytes(np.arange(2000, dtype=np.uint8) % 7)))
    raw[-6] ^= 0xFF  # break the CRC
    path.write_bytes(bytes(raw))
    with pytest.raises(DataError, match="train-images-idx3-ubyte.gz: damaged gzip"):
        read_idx(path)


def test_loads_scaled_images_labels_and_class_names(fashion_dir):
    train, test = datasets.fashion_mnist(fashion_dir)
    assert (len(train), len(test)) == (600, 200)
    assert train.features.shape == (600, 28, 28) and train.features.dtype == np.float32
    assert 0.0 <= train.features.min() and train.features.max() <= 1.0
    assert train.features.max() == pytest.approx(250 / 255)
    assert train.labels.dtype == np.int64 and set(train.labels) <= set(range(10))
    assert train.class_names[0] == "T-Shirt" and train.class_names[9] == "Ankle Boot"
    flat, _ = datasets.fashion_mnist(fashion_dir, flatten=True, one_hot=True)
    assert flat.features.shape == (600, 784)
    assert flat.labels.shape == (600, 10) and np.array_equal(flat.labels.argmax(1), train.labels)
    # 64-byte aligned, as XLA on the CPU needs to use them in place (no second copy of the dataset)
    assert train.features.ctypes.data % 64 == 0 and flat.features.ctypes.data % 64 == 0


def test_features_converted_for_training_are_aligned_and_others_are_not_copied():
    from dlcore.data.arrays import standard_dtypes

    images = np.arange(4 * 9, dtype=np.uint8).reshape(4, 9)
    features, labels = standard_dtypes(images[:, 1:], np.arange(4, dtype=np.int32))
    assert features.dtype == np.float32 and features.ctypes.data % 64 == 0
    np.testing.assert_array_equal(features, images[:, 1:])
    assert labels.dtype == np.int64
    same = np.ones((4, 3), np.float32)
    assert standard_dtypes(same, labels)[0] is same


def test_plain_files_in_torchvision_layout(tmp_path):
    write_fashion_mnist(tmp_path / "FashionMNIST" / "raw", gz=False)
    train, _ = datasets.fashion_mnist(tmp_path)
    assert len(train) == 600


def test_search_order_data_dir_then_cache_then_torchvision_then_debian(tmp_path, monkeypatch):
    data_dir, cache, cwd, debian = (tmp_path / n for n in ("data_dir", "cache", "cwd", "debian"))
    write_fashion_mnist(debian, n_train=10)
    write_fashion_mnist(cwd / "data" / "FashionMNIST" / "raw", n_train=20)
    write_fashion_mnist(cache / "fashion-mnist", n_train=30)
    write_fashion_mnist(data_dir, n_train=40)
    monkeypatch.setattr(fashion_mnist_module, "DEBIAN_DIR", debian)
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("DLCORE_CACHE_DIR", str(cache))
    monkeypatch.setenv("DLCORE_DATA_DIR", str(data_dir))
    sizes = []
    for remove in (data_dir, cache, cwd / "data", None):
        sizes.append(len(datasets.fashion_mnist(download=False)[0]))
        if remove is not None:
            for f in remove.rglob("*-ubyte*"):
                f.unlink()
    assert sizes == [40, 30, 20, 10]


def test_not_found_without_download_says_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.setattr(fashion_mnist_module, "DEBIAN_DIR", tmp_path / "nowhere")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataError, match="apt-get install dataset-fashion-mnist"):
        datasets.fashion_mnist(download=False)
    with pytest.raises(DataError, match=f"not found in {tmp_path}"):
        datasets.fashion_mnist(tmp_path, download=False)


def test_mismatched_label_count_is_refused(tmp_path):
    write_fashion_mnist(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(np.zeros(5))))
    with pytest.raises(DataError, match="5 labels for 200 images"):
        datasets.fashion_mnist(tmp_path)


def test_label_out_of_range_is_refused(tmp_path):
    write_fashion_mnist(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(np.full(200, 12))))
    with pytest.raises(DataError, match="label 12 at index 0 is outside 0..9"):
        datasets.fashion_mnist(tmp_path)


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    """A loopback HTTP server serving tiny Fashion-MNIST .gz files, with matching checksums."""
    served = write_fashion_mnist(tmp_path / "served")
    checksums = {f.name[:-3]: hashlib.sha256(gzip.decompress(f.read_bytes())).hexdigest()
                 for f in served.glob("*.gz")}
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    monkeypatch.setattr(fashion_mnist_module, "FASHION_MNIST_FILES", checksums)
    monkeypatch.setattr(fashion_mnist_module, "FASHION_MNIST_MIRRORS", [url])
    monkeypatch.setattr(fashion_mnist_module, "DEBIAN_DIR", tmp_path / "no-debian")
    monkeypatch.chdir(tmp_path)
    yield url
    server.shutdown()


def test_downloads_into_cache_with_checksums(mirror, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("DLCORE_CACHE_DIR", str(cache))
    train, test = datasets.fashion_mnist(progress=False)
    assert (len(train), len(test)) == (600, 200)
    assert sorted(p.name for p in (cache / "fashion-mnist").iterdir()) == sorted(
        f"{stem}.gz" for stem in fashion_mnist_module.FASHION_MNIST_FILES)
    assert len(datasets.fashion_mnist(download=False)[0]) == 600  # now found in the cache


def test_falls_back_to_the_next_mirror(mirror, tmp_path, monkeypatch):
    monkeypatch.setattr(fashion_mnist_module, "FASHION_MNIST_MIRRORS", ["http://127.0.0.1:9/", mirror])
    assert len(datasets.fashion_mnist(tmp_path / "dl", progress=False)[0]) == 600


def test_checksum_mismatch_keeps_nothing(mirror, tmp_path, monkeypatch):
    bad = dict(fashion_mnist_module.FASHION_MNIST_FILES, **{"train-images-idx3-ubyte": "0" * 64})
    monkeypatch.setattr(fashion_mnist_module, "FASHION_MNIST_FILES", bad)
    target = tmp_path / "dl"
    with pytest.raises(DownloadError, match="checksum mismatch"):
        datasets.fashion_mnist(target, progress=False)
    assert not any(p.name.startswith("train-images") for p in target.rglob("*"))


def test_unreachable_server_gives_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(fashion_mnist_module, "FASHION_MNIST_MIRRORS", ["http://127.0.0.1:9/"])
    with pytest.raises(DataError, match="could not download Fashion-MNIST file"):
        datasets.fashion_mnist(tmp_path, progress=False)
    assert not list(tmp_path.rglob("*.part"))
