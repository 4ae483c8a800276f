"""Faults and hostile input: killed saves, random and corrupted bytes in every reader."""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import idx_bytes
from dlcore import CheckpointError, DataError, TrainingCheckpoint
from dlcore.idx import read_idx, read_idx_bytes
from dlcore.models import MLP

SAVER = textwrap.dedent('''
    import sys, numpy as np
    from dlcore import TrainingCheckpoint
    from dlcore.models import MLP
    spec = MLP(1000, (2000,), 10)
    i = 0
    while True:
        weights = {k: np.full(v.shape, i, np.float32) for k, v in spec.initial_weights(0).items()}
        TrainingCheckpoint(weights, spec, {"i": i}).save(sys.argv[1])
        print(i, flush=True)
        i += 1
''')


def test_a_save_killed_midway_leaves_the_previous_checkpoint_loadable(tmp_path):
    path = tmp_path / "model.npz"
    for delay in (0.05, 0.17, 0.31):
        proc = subprocess.Popen([sys.executable, "-c", SAVER, str(path)], stdout=subprocess.PIPE, text=True)
        try:
            proc.stdout.readline()  # the first save has completed
            time.sleep(delay)       # ... and later ones are under way
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        loaded = TrainingCheckpoint.load(path)  # whichever save completed last, complete
        i = loaded.metadata["i"]
        assert all((w == i).all() for w in loaded.weights.values())


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_are_refused_as_idx(raw):
    try:
        read_idx_bytes(raw, "random.idx")
    except DataError as err:
        assert "random.idx" in str(err)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_corrupted_idx_is_refused_or_read_whole(data):
    raw = bytearray(idx_bytes(np.arange(60, dtype=np.uint8).reshape(3, 4, 5)))
    position = data.draw(st.integers(0, len(raw) - 1))
    raw[position] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(raw)))
    try:
        array = read_idx_bytes(bytes(raw[:cut]), "x.idx")
    except DataError:
        return
    assert array.size * array.itemsize == cut - 4 - 4 * array.ndim


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=400))
def test_random_bytes_are_refused_as_gzipped_idx(tmp_path, raw):
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(raw)[: max(len(raw) // 2, 12)])
    try:
        read_idx(path)
    except DataError:
        pass


@pytest.fixture(scope="module")
def checkpoint_bytes(tmp_path_factory):
    spec = MLP(6, (4,), 3)
    path = tmp_path_factory.mktemp("ckpt") / "m.npz"
    TrainingCheckpoint(spec.initial_weights(0), spec, {"epoch": 3}).save(path)
    return path.read_bytes()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_corrupted_checkpoints_are_refused_with_the_file_name(tmp_path, checkpoint_bytes, data):
    raw = bytearray(checkpoint_bytes)
    for _ in range(data.draw(st.integers(1, 3))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    raw = raw[: data.draw(st.integers(0, len(raw)))]
    path = tmp_path / "damaged.npz"
    path.write_bytes(bytes(raw))
    try:
        loaded = TrainingCheckpoint.load(path)
    except CheckpointError as err:
        assert "damaged.npz" in str(err)
        return
    original = TrainingCheckpoint.load(_write(tmp_path / "ok.npz", checkpoint_bytes))
    assert all(np.array_equal(loaded.weights[k], original.weights[k]) for k in original.weights)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=500))
def test_random_bytes_are_refused_as_checkpoints(tmp_path, raw):
    path = _write(tmp_path / "random.npz", raw)
    with pytest.raises(CheckpointError, match="random.npz"):
        TrainingCheckpoint.load(path)


def _write(path, raw):
    path.write_bytes(raw)
    return path


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.binary(max_size=300),
                 st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=10),
                              lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                              max_leaves=20).map(lambda v: __import__("json").dumps(v).encode())))
def test_random_checkpoint_metadata_is_refused(tmp_path, blob):
    """A zip-valid .npz whose dlcore metadata is random bytes or random JSON."""
    path = tmp_path / "meta.npz"
    with open(path, "wb") as f:
        np.savez(f, __dlcore_metadata__=np.frombuffer(blob, np.uint8), **{"weights/w": np.zeros(3, np.float32)})
    with pytest.raises(CheckpointError, match="meta.npz"):
        TrainingCheckpoint.load(path)
