"""Faults and hostile input: killed saves, random and corrupted bytes in every reader."""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
import textwrap
import time
from contextlib import contextmanager
from datetime import timedelta

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import idx_bytes
from dlcore import CheckpointError, DataError, TrainingCheckpoint
from dlcore.data.idx import read_idx, read_idx_bytes
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


# Hostile input must end quickly in an error or a correct result: hypothesis fails an example
# slower than DEADLINE, and never_hangs() interrupts a reader stuck for longer.
DEADLINE = timedelta(seconds=2)


@contextmanager
def never_hangs(seconds: float = 10.0):
    """Raise in the test if the block runs longer than ``seconds`` (a reader stuck in a loop)."""
    def interrupt(signum, frame):
        raise TimeoutError(f"a reader ran for more than {seconds} s on hostile input")

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def is_valid_idx(raw: bytes) -> bool:
    """Whether ``raw`` is a complete IDX file by the format's definition (written independently
    of dlcore's reader)."""
    sizes = {0x08: 1, 0x09: 1, 0x0B: 2, 0x0C: 4, 0x0D: 4, 0x0E: 8}
    if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] not in sizes or raw[3] == 0:
        return False
    header = 4 + 4 * raw[3]
    if len(raw) < header:
        return False
    count = int(np.prod([int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(raw[3])]))
    return len(raw) == header + count * sizes[raw[2]]


@settings(max_examples=300, deadline=DEADLINE)
@given(st.one_of(st.binary(max_size=300),
                 st.tuples(st.integers(0, 50), st.binary(max_size=50)).map(
                     lambda t: b"\0\0\x08\x01" + t[0].to_bytes(4, "big") + t[1])))
def test_random_bytes_are_refused_as_idx(raw):
    """Random bytes, and 1-D IDX headers followed by too few, enough or too many bytes: a
    DataError naming the file, or, only for a valid IDX file, its values."""
    with never_hangs():
        try:
            array = read_idx_bytes(raw, "random.idx")
        except DataError as err:
            assert "random.idx" in str(err)
            assert not is_valid_idx(raw), f"a valid IDX file was refused: {err}"
            return
    assert is_valid_idx(raw), "random bytes that are not an IDX file were accepted"
    assert array.tobytes() == np.frombuffer(raw[4 + 4 * raw[3]:], array.dtype.newbyteorder(">")).astype(array.dtype).tobytes()


@settings(max_examples=200, deadline=DEADLINE)
@given(st.data())
def test_corrupted_idx_is_refused_or_read_whole(data):
    raw = bytearray(idx_bytes(np.arange(60, dtype=np.uint8).reshape(3, 4, 5)))
    position = data.draw(st.integers(0, len(raw) - 1))
    raw[position] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(raw)))
    with never_hangs():
        try:
            array = read_idx_bytes(bytes(raw[:cut]), "x.idx")
        except DataError as err:
            assert "x.idx" in str(err) and not is_valid_idx(bytes(raw[:cut]))
            return
    assert is_valid_idx(bytes(raw[:cut]))
    assert array.size * array.itemsize == cut - 4 - 4 * array.ndim


@settings(max_examples=100, deadline=DEADLINE, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=400), truncate=st.booleans())
def test_random_bytes_are_refused_as_gzipped_idx(tmp_path, raw, truncate):
    """A truncated gzip is refused as damaged; a whole one holding random bytes is refused as
    not IDX unless it is one; both errors name the file."""
    packed = gzip.compress(raw)
    path = tmp_path / "x.gz"
    path.write_bytes(packed[: max(len(packed) // 2, 12)] if truncate else packed)
    with never_hangs():
        if truncate:
            with pytest.raises(DataError, match="x.gz: damaged gzip"):
                read_idx(path)
        elif is_valid_idx(raw):
            assert np.array_equal(read_idx(path), read_idx_bytes(raw))
        else:
            with pytest.raises(DataError, match="x.gz"):
                read_idx(path)


@pytest.fixture(scope="module")
def checkpoint_bytes(tmp_path_factory):
    spec = MLP(6, (4,), 3)
    path = tmp_path_factory.mktemp("ckpt") / "m.npz"
    TrainingCheckpoint(spec.initial_weights(0), spec, {"epoch": 3}).save(path)
    return path.read_bytes()


@settings(max_examples=300, deadline=DEADLINE, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_corrupted_checkpoints_are_refused_with_the_file_name(tmp_path, checkpoint_bytes, data):
    raw = bytearray(checkpoint_bytes)
    for _ in range(data.draw(st.integers(1, 3))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    raw = raw[: data.draw(st.integers(0, len(raw)))]
    path = tmp_path / "damaged.npz"
    path.write_bytes(bytes(raw))
    try:
        with never_hangs():
            loaded = TrainingCheckpoint.load(path)
    except CheckpointError as err:
        assert "damaged.npz" in str(err)
        return
    original = TrainingCheckpoint.load(_write(tmp_path / "ok.npz", checkpoint_bytes))
    assert all(np.array_equal(loaded.weights[k], original.weights[k]) for k in original.weights)


@settings(max_examples=200, deadline=DEADLINE, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=500))
def test_random_bytes_are_refused_as_checkpoints(tmp_path, raw):
    path = _write(tmp_path / "random.npz", raw)
    with never_hangs(), pytest.raises(CheckpointError, match="random.npz"):
        TrainingCheckpoint.load(path)


def _write(path, raw):
    path.write_bytes(raw)
    return path


@settings(max_examples=200, deadline=DEADLINE, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(st.binary(max_size=300),
                 st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=10),
                              lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                              max_leaves=20).map(lambda v: __import__("json").dumps(v).encode())))
def test_random_checkpoint_metadata_is_refused(tmp_path, blob):
    """A zip-valid .npz whose dlcore metadata is random bytes or random JSON."""
    path = tmp_path / "meta.npz"
    with open(path, "wb") as f:
        np.savez(f, __dlcore_metadata__=np.frombuffer(blob, np.uint8), **{"weights/w": np.zeros(3, np.float32)})
    with never_hangs(), pytest.raises(CheckpointError, match="meta.npz"):
        TrainingCheckpoint.load(path)
