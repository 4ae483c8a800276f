"""Data larger than memory: the sources read by index, the prefetcher, the memory budget, bad
samples while streaming, sharding over workers, and bounded memory (the contract suite checks
that each backend trains on streamed data as on preloaded data)."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import textwrap
import time
import warnings

import numpy as np
import pytest
from PIL import Image

from dlcore import ConfigError, DataError, Trainer, datasets, models, transforms
from dlcore.data.prefetch import Prefetcher
from dlcore.data.streaming import Stream, StreamingDataset, block_order, chunk_batches, memory_budget, parse_bytes
from dlcore.parallel.sharding import shard_order
from dlcore.testing.data import blobs, write_image_folder
from conftest import BACKENDS


class Numbered(StreamingDataset):
    """Sample i is (features [i, i], label i % 3); records what it read (threads share it)."""

    def __init__(self, n: int, reader: str = "thread", bad: tuple[int, ...] = (), dies: bool = False) -> None:
        super().__init__("numbered", on_bad_sample="error")
        self.n, self.reader, self.bad, self.dies, self.parent = n, reader, bad, dies, os.getpid()
        self.reads: list[int] = []

    def __len__(self) -> int:
        return self.n

    def read(self, indices):
        if self.dies and os.getpid() != self.parent:
            os._exit(3)  # a reader process that dies (killed, out of memory)
        for i in indices:
            if int(i) in self.bad:
                raise DataError(f"numbered.csv, row {int(i) + 2}: cannot read image {int(i)}.png (broken)")
        self.reads += [int(i) for i in indices]
        return np.stack([indices, indices], 1).astype(np.float32), indices % 3


# ------------------------------------------------------------------ sources


def test_an_image_folder_names_its_classes_and_reads_images(tmp_path):
    root = write_image_folder(tmp_path / "photos", 30)
    (root / "vertical" / "notes.txt").write_text("not an image")
    data = datasets.image_folder(root)
    assert data.class_names == ("horizontal", "square", "vertical") and len(data) == 30 and data.num_classes == 3
    x, y = data.read(np.array([0, 1, 2, 29]))
    assert x.shape == (4, 12, 12) and x.dtype == np.uint8 and y.tolist() == [0, 0, 0, 2]
    assert x[0][3, 1:-1].min() == 255  # the first horizontal bar
    tensor = datasets.image_folder(root, transform=transforms.ToTensor(), target_transform=transforms.OneHot(3))
    x, y = tensor.read(np.array([12]))
    assert x.shape == (1, 1, 12, 12) and x.dtype == np.float32 and x.max() == 1.0 and y.tolist() == [[0, 1, 0]]
    with pytest.raises(DataError, match="no class folders"):
        datasets.image_folder(root / "square")


def test_a_transform_that_fails_names_the_image(tmp_path):
    root = write_image_folder(tmp_path / "photos", 6)
    data = datasets.image_folder(root, transform=lambda image: image.reshape(7, -1))
    with pytest.raises(DataError, match=r"photos/square: the transform failed on image .*00001.png \(ValueError: cannot reshape"):
        data.read(np.array([2, 0]))


def test_images_of_another_size_are_named_and_resize_fixes_them(tmp_path):
    root = write_image_folder(tmp_path / "photos", 9)
    Image.fromarray(np.zeros((20, 16), np.uint8)).save(root / "square" / "00004.png")
    with pytest.raises(DataError, match=r"square/00004.png has shape \(20, 16\), others \(12, 12\).*Resize"):
        datasets.image_folder(root).arrays()
    x, _ = datasets.image_folder(root, transform=transforms.Resize((12, 12))).arrays()
    assert x.shape == (9, 12, 12)


def test_npy_memory_maps_read_rows_in_any_order(tmp_path):
    x, y = blobs(500)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    data = datasets.npy(tmp_path / "x.npy", tmp_path / "y.npy")
    assert not data.in_memory and data.nbytes == x.nbytes + y.nbytes and len(data) == 500
    rows = np.array([499, 3, 250, 3])
    got_x, got_y = data.read(rows)
    np.testing.assert_array_equal(got_x, x[rows])
    np.testing.assert_array_equal(got_y, y[rows])
    reopened = pickle.loads(pickle.dumps(data)).read(rows)  # as a Ray worker gets it
    np.testing.assert_array_equal(reopened[0], x[rows])
    np.testing.assert_array_equal(reopened[1], y[rows])
    np.save(tmp_path / "short.npy", y[:10])
    with pytest.raises(DataError, match="500 feature rows but 10 labels"):
        datasets.npy(tmp_path / "x.npy", tmp_path / "short.npy")
    (tmp_path / "cut.npy").write_bytes((tmp_path / "x.npy").read_bytes()[:1000])
    with pytest.raises(DataError, match="cut.npy: not a readable .npy file"):
        datasets.npy(tmp_path / "cut.npy", y)


def test_parquet_reads_columns_by_row_group_and_shuffles_a_group_at_a_time(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    x, y = blobs(250, features=3)
    table = pa.table({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "label": y})
    pq.write_table(table, tmp_path / "blobs.parquet", row_group_size=60)
    data = datasets.parquet(tmp_path / "blobs.parquet", target="label")
    assert len(data) == 250 and data.blocks.tolist() == [0, 60, 120, 180, 240]
    rows = np.array([249, 0, 61, 130])
    got_x, got_y = data.read(rows)
    np.testing.assert_allclose(got_x, x[rows])
    assert got_y.tolist() == y[rows].tolist()
    np.testing.assert_allclose(pickle.loads(pickle.dumps(data)).read(rows)[0], x[rows])
    order = block_order(np.random.default_rng(0), 250, data.blocks)
    assert sorted(order.tolist()) == list(range(250))
    groups = np.searchsorted(data.blocks, order, side="right")
    assert (np.diff(groups) != 0).sum() == 4  # one row group after another
    with pytest.raises(ConfigError, match="has no column 'target'.*a, b, c, label"):
        datasets.parquet(tmp_path / "blobs.parquet", target="target")


def test_a_hugging_face_dataset_reads_images_labels_and_class_names(tmp_path):
    hf = pytest.importorskip("datasets")
    root = write_image_folder(tmp_path / "photos", 12)
    files = sorted(root.rglob("*.png"))
    labels = [("horizontal", "square", "vertical").index(f.parent.name) for f in files]
    features = hf.Features({"image": hf.Image(), "label": hf.ClassLabel(names=["horizontal", "square", "vertical"])})
    hf.Dataset.from_dict({"image": [str(f) for f in files], "label": labels}, features=features) \
        .save_to_disk(str(tmp_path / "saved"))
    data = datasets.from_huggingface(hf.load_from_disk(str(tmp_path / "saved")))  # memory-mapped Arrow
    assert data.class_names == ("horizontal", "square", "vertical") and data.reader == "process"
    x, y = data.read(np.array([5, 0]))
    assert x.shape == (2, 12, 12) and y.tolist() == [labels[5], labels[0]]
    np.testing.assert_array_equal(x[0], np.asarray(Image.open(files[5])))
    with pytest.raises(ConfigError, match="no column 'class'.*image, label"):
        datasets.from_huggingface(hf.load_from_disk(str(tmp_path / "saved")), target="class")


@pytest.mark.skipif(not BACKENDS, reason="needs a backend")
def test_a_hugging_face_dataset_passed_to_fit_trains(backend, device, tmp_path):
    """A memory-mapped Arrow dataset of images and ClassLabels, given to fit as it is (and
    streamed, as one larger than the budget would be): high accuracy on every backend."""
    hf = pytest.importorskip("datasets")
    root = write_image_folder(tmp_path / "photos", 300)
    files = sorted(root.rglob("*.png"))
    names = ["horizontal", "square", "vertical"]
    features = hf.Features({"image": hf.Image(), "label": hf.ClassLabel(names=names)})
    hf.Dataset.from_dict({"image": [str(f) for f in files], "label": [names.index(f.parent.name) for f in files]},
                         features=features).save_to_disk(str(tmp_path / "saved"))
    data = hf.load_from_disk(str(tmp_path / "saved")).shuffle(seed=0).flatten_indices()
    spec = models.mlp(144, [32], 3)
    trainer = Trainer(backend, epochs=8, batch_size=32, optimizer="adam", lr=3e-3, seed=0, device=device,
                      progress=False, stream=True, readers=2)
    with pytest.warns(UserWarning, match="pixel values go up to 255"):
        trainer.fit(spec, data.select(range(240)))
    assert trainer.evaluate(spec, data.select(range(240, 300)))["accuracy"] >= 0.9


# ---------------------------------------------------------------- prefetching


@pytest.mark.parametrize("kind", ["thread", "process"])
def test_the_prefetcher_gives_every_chunk_in_order(kind):
    data = Numbered(1000, reader=kind)
    prefetcher = Prefetcher(data, readers=2, depth=3)
    chunks = [np.arange(s, min(s + 64, 1000))[::-1] for s in range(0, 1000, 64)]
    try:
        got = list(prefetcher.map(chunks))
    finally:
        prefetcher.close()
    assert [c.indices.tolist() for c in got] == [c.tolist() for c in chunks]
    assert all((c.features[:, 0] == c.indices).all() and (c.labels == c.indices % 3).all() for c in got)


def test_a_reader_process_that_dies_is_an_error_not_a_hang():
    prefetcher = Prefetcher(Numbered(500, reader="process", dies=True), readers=2)
    start = time.monotonic()
    with pytest.raises(DataError, match="a reading process died.*readers=0"):
        list(prefetcher.map(np.arange(s, s + 50) for s in range(0, 500, 50)))
    assert time.monotonic() - start < 30


@pytest.mark.parametrize("kind", ["thread", "process"])
def test_a_bad_sample_stops_reading_naming_its_file_and_row_or_is_skipped_and_counted(kind):
    data = Numbered(300, reader=kind, bad=(7, 200))
    with pytest.raises(DataError, match=r"numbered.csv, row 9: cannot read image 7.png"):
        data.arrays()
    data.on_bad_sample = "skip"
    with pytest.warns(UserWarning, match=r"skipped 2 bad samples.*the first: numbered.csv, row 9"):
        x, y = data.arrays()
    assert len(x) == 298 and 7 not in x[:, 0] and 200 not in x[:, 0] and (y == x[:, 0] % 3).all()


def test_malformed_csv_rows_stop_or_are_skipped_when_asked(tmp_path):
    write_image_folder(tmp_path / "photos", 6)
    (tmp_path / "labels.csv").write_text("file,label\nsquare/00001.png,1\nsquare/00004.png,x\nvertical/00002.png,9\n"
                                         "horizontal/00000.png,0\n")
    with pytest.raises(DataError, match=r"row 3: label 'x' is not an integer \(and 1 more bad rows\).*on_bad_sample"):
        datasets.image_csv(tmp_path / "labels.csv", tmp_path / "photos", num_classes=3)
    with pytest.warns(UserWarning, match="skipped 2 bad rows"):
        data = datasets.image_csv(tmp_path / "labels.csv", tmp_path / "photos", num_classes=3, on_bad_sample="skip")
    assert len(data) == 2 and data.read(np.array([0, 1]))[1].tolist() == [1, 0]


# --------------------------------------------------------- the memory budget


def test_sizes_and_the_default_budget(monkeypatch):
    assert parse_bytes("500MB") == 500 * 10 ** 6 and parse_bytes("1.5 GiB") == 3 * 2 ** 29 and parse_bytes(4096) == 4096
    for wrong in ("lots", "-3MB", 0, True, "12 parsecs"):
        with pytest.raises(ConfigError, match="memory_budget must be a positive number of bytes"):
            parse_bytes(wrong)
    monkeypatch.setenv("DLCORE_MEMORY_BUDGET", "2GB")
    assert memory_budget() == 2 * 10 ** 9 and memory_budget("1MB") == 10 ** 6
    monkeypatch.delenv("DLCORE_MEMORY_BUDGET")
    physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    assert memory_budget() == physical // 4


def test_chunks_hold_whole_accumulation_groups_within_the_budget():
    assert chunk_batches(1000, per_call=25, accumulate=1, budget=10 ** 9, depth=3) == 25
    assert chunk_batches(1000, per_call=25, accumulate=1, budget=70_000, depth=3) == 5  # 7 chunks in 35 KB
    assert chunk_batches(1000, per_call=25, accumulate=4, budget=70_000, depth=3) == 4
    assert chunk_batches(1000, per_call=1, accumulate=3, budget=10 ** 9, depth=3) == 3
    with pytest.raises(ConfigError, match=r"a batch takes 1.0 MiB.*raise memory_budget or lower batch_size"):
        chunk_batches(2 ** 20, per_call=25, accumulate=1, budget=2 ** 20, depth=3)


def test_each_worker_reads_its_own_samples_once_per_epoch():
    """Over a group of 2 and of 3 workers, each sample of the epoch is read by exactly one
    worker (the last batch cut to a multiple of the workers, as in memory)."""
    for world in (2, 3):
        order = np.random.default_rng(1).permutation(1000)
        read = []
        for rank in range(world):
            data = Numbered(1000)
            stream = Stream(data, 4, Prefetcher(data, readers=1))
            positions = shard_order(order, 48, world, rank)
            read += [i for _, chunk in stream.chunks(positions, 48 // world) for i in chunk.indices.tolist()]
            stream.close()
            assert sorted(data.reads) == sorted(positions.tolist())
        assert len(read) == len(set(read)) and len(read) >= 1000 - (world - 1)


@pytest.mark.skipif(not BACKENDS, reason="needs a backend")
def test_data_larger_than_the_budget_is_read_every_epoch_and_smaller_data_once(backend, device):
    spec = models.mlp(2, [8], 3)
    for budget, reads in (("1GB", 600), ("8KB", 3 * 600)):
        data = Numbered(600)
        Trainer(backend, epochs=3, batch_size=20, seed=0, device=device, progress=False, memory_budget=budget,
                readers=2).fit(spec, data)
        assert len(data.reads) == 1 + reads and sorted(data.reads[-600:]) == list(range(600))  # 1: sizing it


@pytest.mark.skipif(not BACKENDS, reason="needs a backend")
def test_a_bad_image_while_training_names_its_row_or_is_skipped_each_epoch(backend, device, tmp_path):
    root = write_image_folder(tmp_path / "photos", 90)
    (root / "square" / "00004.png").write_bytes(b"not a png")
    spec = models.mlp(144, [8], 3)
    trainer = Trainer(backend, epochs=2, batch_size=16, seed=0, device=device, progress=False, stream=True, readers=2)
    with pytest.raises(DataError, match=r"square: cannot read image .*00004.png"):
        trainer.fit(spec, datasets.image_folder(root, transform=transforms.ToTensor()))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = trainer.fit(spec, datasets.image_folder(root, transform=transforms.ToTensor(), on_bad_sample="skip"))
    skipped = [str(w.message) for w in caught if "skipped" in str(w.message)]
    assert len(history) == 2 and len(skipped) == 2
    assert "skipped 1 bad sample in epoch 1" in skipped[0] and "skipped 1 bad sample in epoch 2" in skipped[1]


@pytest.mark.skipif(not BACKENDS, reason="needs a backend")
def test_streaming_settings_are_checked():
    for settings, message in (({"stream": "yes"}, "stream must be True, False or None"),
                              ({"readers": -1}, "readers must be an integer >= 0"),
                              ({"memory_budget": "lots"}, "memory_budget must be a positive number")):
        with pytest.raises(ConfigError, match=message):
            Trainer(BACKENDS[0], **settings)


MEASURE = textwrap.dedent("""
    import json, sys, numpy as np
    from dlcore import Trainer, datasets, models

    def rss(field):
        for line in open("/proc/self/status"):
            if line.startswith(field):
                return int(line.split()[1]) * 1024

    path, backend, budget, stream = sys.argv[1:5]
    spec = models.mlp(1024, [32], 4)
    trainer = Trainer(backend, epochs=1, batch_size=64, seed=0, progress=False, memory_budget=budget,
                      stream={"auto": None, "no": False}[stream])
    trainer.stream = stream == "auto"  # warm: the steps compiled for chunks of the same shapes
    trainer.fit(spec, datasets.npy(path + "/small-x.npy", path + "/small-y.npy"))
    trainer.stream = {"auto": None, "no": False}[stream]
    data = datasets.npy(path + "/x.npy", path + "/y.npy")
    before = rss("VmRSS")
    open("/proc/self/clear_refs", "w").write("5")  # the peak from here on
    trainer.fit(spec, data)
    print(json.dumps({"before": before, "peak": rss("VmHWM")}))
""")


@pytest.mark.skipif(not BACKENDS, reason="needs a backend")
@pytest.mark.skipif(not os.path.exists("/proc/self/clear_refs"), reason="measures the peak through Linux's /proc")
def test_training_on_a_memory_map_four_times_the_budget_stays_within_it(tmp_path):
    """A 256 MB .npy trained under a 64 MB budget: the peak resident memory during fit (the steps
    compiled before, on a small file) grows by less than the budget; the same data preloaded
    (the contrast) grows by the data's size."""
    rng = np.random.default_rng(0)
    x = np.lib.format.open_memmap(tmp_path / "x.npy", "w+", np.float32, (65536, 1024))
    for s in range(0, len(x), 4096):
        x[s:s + 4096] = rng.random((4096, 1024), dtype=np.float32)
    x.flush()
    del x
    np.save(tmp_path / "y.npy", np.arange(65536) % 4)
    np.save(tmp_path / "small-x.npy", rng.random((4096, 1024), dtype=np.float32))
    np.save(tmp_path / "small-y.npy", np.arange(4096) % 4)
    grown = {}
    for stream in ("auto", "no"):
        out = subprocess.run([sys.executable, "-c", MEASURE, str(tmp_path), BACKENDS[0], "64MB", stream],
                             capture_output=True, text=True, timeout=600)
        assert out.returncode == 0, out.stderr[-3000:]
        measured = json.loads(out.stdout.strip().splitlines()[-1])
        grown[stream] = (measured["peak"] - measured["before"]) / 2 ** 20
    assert grown["auto"] < 64 * 10 ** 6 / 2 ** 20, grown
    assert grown["no"] > 240, grown
