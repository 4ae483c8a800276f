"""Hostile files and faults, as a security and reliability tester tries them: a cache of compiled
code that others could write to or plant entries in; checkpoints built to exhaust memory, time
or the parser; memory maps that would slip past the memory budget; files named for another
format; the debris of writes, workers and launchers that were killed; usage mistakes; faults in
a group of processes. Each case ends in one clear error (or warning) naming what is wrong, in
bounded time and memory, and leaves nothing behind. (Rank 0 alone writes: the strategies'
contract suite, ``StrategyTests.test_rank_0_alone_writes_the_checkpoints_and_the_logs``,
``test_cli::test_workers_train_as_one_process_and_only_rank_0_speaks_and_writes`` and
``test_ray``.)"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import time
import tracemalloc
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest

from conftest import BACKENDS, numpy_backend, takes_ctrl_c
from dlcore import ArrayDataset, CheckpointError, ConfigError, Trainer, TrainingCheckpoint
from dlcore.cli import main, train
from dlcore.contract import DistributedError
from dlcore.io.files import private_folder
from dlcore.models import MLP, mlp
from dlcore.testing.data import write_fashion_mnist


# ------------------------------------------- caches that hold compiled code; debris of writes cut short


NOBODY = 65534


def _foreign(folder: Path) -> Path:
    """``folder`` and what it holds, given to the user nobody; skips where this user cannot."""
    try:
        for each in [folder, *folder.rglob("*")]:
            os.chown(each, NOBODY, NOBODY, follow_symlinks=False)
    except (PermissionError, AttributeError):
        pytest.skip("giving a folder to another user needs root")
    return folder


def test_a_cache_folder_that_others_could_write_to_is_refused(tmp_path):
    """Made private where missing; refused, naming the folder and the fix, where it or the cache
    folder above it is writable by others or another user's, or is a link to another user's."""
    cache = tmp_path / "cache"
    assert private_folder(cache / "jax", cache) is None
    assert oct((cache / "jax").stat().st_mode)[-3:] == "700" and oct(cache.stat().st_mode)[-3:] == "700"

    (cache / "jax").chmod(0o777)
    assert private_folder(cache / "jax", cache) == \
        f"{cache / 'jax'} is writable by others (mode 0777): run 'chmod 700 {cache / 'jax'}'"
    (cache / "jax").chmod(0o700)
    cache.chmod(0o757)
    assert f"{cache} is writable by others (mode 0757)" in private_folder(cache / "jax", cache)
    cache.chmod(0o700)
    assert private_folder(cache / "jax", cache) is None

    mine = tmp_path / "elsewhere"
    mine.mkdir(mode=0o700)
    (tmp_path / "linked").symlink_to(mine)  # a cache moved to another disk, linked from the usual place
    assert private_folder(tmp_path / "linked" / "jax", tmp_path / "linked") is None

    (tmp_path / "theirs" / "jax").mkdir(parents=True)
    theirs = _foreign(tmp_path / "theirs")
    assert re.fullmatch(rf"{re.escape(str(theirs / 'jax'))} belongs to user .*\(uid {NOBODY}\), not to you .*: "
                        r"remove it", private_folder(theirs / "jax", theirs) or "")
    (tmp_path / "lure").symlink_to(theirs / "jax")
    assert f"{tmp_path / 'lure'} ({theirs / 'jax'}) belongs to user" in private_folder(tmp_path / "lure")
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o700)
    shared.chmod(0o770)
    os.chown(shared, -1, NOBODY)  # writable by a group of other users
    assert private_folder(shared) == f"{shared} is writable by others (mode 0770): run 'chmod 700 {shared}'"


def test_jax_warns_once_and_compiles_without_a_cache_folder_that_others_could_write_to(tmp_path, monkeypatch):
    pytest.importorskip("dlcore_jax")
    import jax

    from dlcore_jax.compile_cache import use_compilation_cache

    own_folder = jax.config.jax_compilation_cache_dir
    jax.config.update("jax_compilation_cache_dir", None)
    try:
        open_cache, theirs = tmp_path / "open", tmp_path / "theirs"
        (open_cache / "jax").mkdir(parents=True, mode=0o700)
        (open_cache / "jax").chmod(0o777)
        (theirs / "jax").mkdir(parents=True)
        (tmp_path / "lure").mkdir(mode=0o700)
        (tmp_path / "lure" / "jax").symlink_to(theirs / "jax")
        _foreign(theirs)
        for cache, folder in ((open_cache, open_cache / "jax"), (theirs, theirs), (tmp_path / "lure", theirs / "jax")):
            monkeypatch.setenv("DLCORE_CACHE_DIR", str(cache))
            with pytest.warns(UserWarning, match=f"without its compilation cache.*{re.escape(str(folder))}.*"
                                                 "DLCORE_CACHE_DIR") as warned:
                assert use_compilation_cache() is None
                assert use_compilation_cache() is None  # and says so once
            assert len(warned) == 1
            assert jax.config.jax_compilation_cache_dir is None
        assert oct((open_cache / "jax").stat().st_mode)[-3:] == "777" and not os.listdir(open_cache / "jax")
    finally:
        jax.config.update("jax_compilation_cache_dir", own_folder)


TRAIN = """
import json, os, sys, warnings
from dlcore import Trainer, models
from dlcore.testing.data import blobs
from dlcore_jax.compile_cache import use_compilation_cache
x, y = blobs(64)
out = []
for activation, cache in json.loads(sys.argv[1]):
    os.environ["DLCORE_CACHE_DIR"] = cache
    folder = os.path.join(cache, "jax")
    before = set(os.listdir(folder)) if os.path.isdir(folder) else set()
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        use_compilation_cache()  # as the JAX backend does when a process starts
        history = Trainer("jax", epochs=2, batch_size=32, progress=False, device="cpu", seed=0).fit(
            models.mlp(20, [8], 4, activation=activation), (x, y))
    new = sorted(n for n in set(os.listdir(folder)) - before if n.startswith("jit_span") and n.endswith("-cache"))
    out.append({"loss": history["loss"], "new": new, "warnings": [str(w.message) for w in warned]})
print(json.dumps(out))
"""


def _train(*runs: tuple[str, Path]) -> list[dict]:
    """Train the tiny MLP with each (activation, cache folder) in turn in a new process (the cache
    taken up as a process's first does): each run's losses, the compiled steps it added to the
    cache and its warnings."""
    out = subprocess.run([sys.executable, "-c", TRAIN, json.dumps([(a, str(c)) for a, c in runs])],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.splitlines()[-1])


def test_a_compiled_step_planted_in_the_cache_is_never_run(tmp_path):
    """One model's compiled step copied over another's entry (as an attacker who could write to
    the cache would) is compiled again, not run; in a folder others can write to or another
    user's, even a step sealed as the real one is never read."""
    pytest.importorskip("dlcore_jax")
    from dlcore_jax.compile_cache import KEY_FILE, seal, unseal

    private = tmp_path / "private"
    tanh, relu = _train(("tanh", private), ("relu", private))
    assert tanh["loss"] != pytest.approx(relu["loss"], rel=1e-4)
    (tanh_entry,), (relu_entry,) = tanh["new"], relu["new"]
    folder = private / "jax"
    secret = (folder / KEY_FILE).read_bytes()
    key = {name: name.removesuffix("-cache") for name in (tanh_entry, relu_entry)}
    tanh_code = unseal(secret, key[tanh_entry], (folder / tanh_entry).read_bytes())
    assert tanh_code is not None and unseal(secret, key[relu_entry], (folder / relu_entry).read_bytes()) is not None

    for name, mode in (("open", 0o777), ("theirs", 0o700)):  # others' folders, the tanh step sealed as relu's
        shutil.copytree(private, tmp_path / name)
        (tmp_path / name / "jax" / relu_entry).write_bytes(seal(secret, key[relu_entry], tanh_code))
        (tmp_path / name / "jax").chmod(mode)
    _foreign(tmp_path / "theirs")
    forged = tmp_path / "forged"  # the user's own cache, the tanh step sealed as relu's without the secret
    shutil.copytree(private, forged)
    (forged / "jax" / relu_entry).write_bytes(seal(bytes(len(secret)), key[relu_entry], tanh_code))
    shutil.copyfile(folder / tanh_entry, folder / relu_entry)  # the tanh step under relu's name, in the user's

    start = time.perf_counter()
    in_open, in_theirs, in_private = _train(("relu", tmp_path / "open"), ("relu", tmp_path / "theirs"),
                                            ("relu", private))
    (in_forged,) = _train(("relu", forged))  # a process keeps the first cache folder it took
    print(f"relu four times against planted caches, in two new processes: {time.perf_counter() - start:.1f} s")
    for run, warned in ((in_open, "open/jax is writable by others"), (in_theirs, "theirs/jax belongs to user"),
                        (in_forged, f"compiles again a step whose compiled code in {forged / 'jax'}"),
                        (in_private, f"compiles again a step whose compiled code in {folder}")):
        assert run["loss"] == pytest.approx(relu["loss"], rel=1e-6), warned
        assert any(warned in message for message in run["warnings"]), run["warnings"]
    assert in_open["new"] == in_theirs["new"] == []  # compiled without the cache, nothing written there
    for cache in (folder, forged / "jax"):  # the planted entry replaced by relu's own
        assert unseal(secret, key[relu_entry], (cache / relu_entry).read_bytes()) not in (None, tanh_code)


WRITER = """
import os, sys
from pathlib import Path
from dlcore.io.files import atomic_path
with atomic_path(Path(sys.argv[1])) as tmp:
    tmp.write_bytes(b"half a checkpoint")
    if sys.argv[2] == "killed":
        os._exit(9)
    print("writing", flush=True)
    sys.stdin.readline()
    tmp.write_bytes(b"the other process's checkpoint")
"""


def test_a_write_cut_short_leaves_debris_only_until_the_next_write(tmp_path):
    """The temporary file of a killed writer goes at the next save of the same file; that of a
    writer still at work stays, and its write completes."""
    target = tmp_path / "last.npz"
    killed = subprocess.run([sys.executable, "-c", WRITER, str(target), "killed"], capture_output=True, text=True)
    assert killed.returncode == 9, killed.stderr
    (debris,) = tmp_path.glob("last.npz.*.tmp")
    old = tmp_path / "last.npz.k2j4h6g8.tmp"  # an older dlcore's, two days old
    old.write_bytes(b"")
    os.utime(old, (time.time() - 2 * 86400,) * 2)
    keep = [tmp_path / "last.npz.notes.tmp", tmp_path / "other.npz.k2j4h6g8.tmp"]
    for path in keep:
        path.write_bytes(b"")
    live = subprocess.Popen([sys.executable, "-c", WRITER, str(target), "live"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert live.stdout.readline() == "writing\n"
        (working,) = set(tmp_path.glob("last.npz.*.tmp")) - {debris, old, keep[0]}

        TrainingCheckpoint({"w": np.zeros(3, np.float32)}).save(target)
        assert not debris.exists() and not old.exists()
        assert working.exists() and all(path.exists() for path in keep)
        assert TrainingCheckpoint.load(target).weights["w"].shape == (3,)
    finally:
        live.communicate("go\n", timeout=60)
    assert live.returncode == 0 and target.read_bytes() == b"the other process's checkpoint"


# --------------------------------------------------------- checkpoints: bounded reads, every field checked


OLD_CHECKPOINTS = Path(__file__).parent / "data"
META = "__dlcore_metadata__.npy"


def saved(tmp_path):
    """A small valid checkpoint's members (raw .npy bytes by name) and its metadata."""
    spec = MLP(4, (3,), 2)
    path = TrainingCheckpoint(spec.initial_weights(0), spec, {"note": "x"}, state={"epoch": 1}).save(
        tmp_path / "valid.npz")
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    return members, json.loads(np.load(io.BytesIO(members[META])).tobytes())


def npy(array):
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def npy_header(shape, descr="<f4"):
    """The .npy header of an array of ``shape``, without its data."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": descr, "fortran_order": False, "shape": shape})
    return buffer.getvalue()


def metadata_member(meta):
    return npy(np.frombuffer(json.dumps(meta).encode(), np.uint8))


def zip_of(path, members):
    """A zip written by zipfile (stored, true sizes) of ``members``: (name, bytes) pairs, names
    possibly repeated."""
    with zipfile.ZipFile(path, "w") as archive, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile's warning about a name written twice
        for name, data in members:
            archive.writestr(name, data)
    return path


def zip_declaring(path, members):
    """A zip written by hand, so that what it declares can differ from what it holds:
    ``members`` are (name, data as stored, zip method, declared uncompressed size[, CRC-32]).
    A CRC-32 left out is the data's for a stored member, else 0 (such a member must be refused
    before its end, where the CRC is checked)."""
    out, directory = io.BytesIO(), b""
    for name, data, method, size, *crc in members:
        crc = crc[0] if crc else zlib.crc32(data) if method == zipfile.ZIP_STORED else 0
        offset, encoded = out.tell(), name.encode()
        out.write(struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, method, 0, 0, crc, len(data), size, len(encoded), 0)
                  + encoded + data)
        directory += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, method, 0, 0, crc, len(data), size,
                                 len(encoded), 0, 0, 0, 0, 0, offset) + encoded
    start = out.tell()
    out.write(directory + struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members), len(directory),
                                      start, 0))
    path.write_bytes(out.getvalue())
    return path


def deflated(prefix, megabytes, fill=b"\0"):
    """A genuine raw deflate stream of ``prefix`` then ``megabytes`` MiB of ``fill``, built fast
    (one MiB compressed once, its bytes repeated): about 1 KB per MiB."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    start = compressor.compress(prefix) + compressor.flush(zlib.Z_FULL_FLUSH)
    piece = compressor.compress(fill * 2 ** 20) + compressor.flush(zlib.Z_FULL_FLUSH)
    return start + piece * megabytes + compressor.flush()


def refused(path, *faults):
    """Load ``path``, which must fail with a CheckpointError naming the file and each of
    ``faults`` (regular expressions), within 2 s of this process's CPU time (which other work on
    the machine does not stretch, unlike the wall clock) and 100 MB of memory allocated
    (tracemalloc: Python's and numpy's allocations). Returns the message, the seconds and the
    peak bytes."""
    tracemalloc.start()
    start = time.process_time()
    try:
        with pytest.raises(CheckpointError) as caught:
            TrainingCheckpoint.load(path)
        seconds, peak = time.process_time() - start, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    message = str(caught.value)
    assert message.startswith(f"{path}: "), message
    for fault in faults:
        assert re.search(fault, message), (fault, message)
    assert seconds < 2.0 and peak < 100 * 2 ** 20, (message, seconds, peak / 2 ** 20)
    return message, seconds, peak


WEIGHT = "weights/layers.0.bias.npy"  # float32 [3] in the valid checkpoint


def test_a_member_that_declares_two_gib_is_refused_before_it_is_inflated(tmp_path):
    """Genuine 2 MB deflate streams of 2 GiB of zeros: after a .npy header of the 12 bytes the
    metadata promises, the zip entry declaring 2 GiB; after a header declaring 2 GiB too. And a
    zip entry that declares 2 GiB from 1 KB."""
    members, _ = saved(tmp_path)
    bomb = [(name, data, zipfile.ZIP_STORED, len(data)) for name, data in members.items() if name != WEIGHT]
    header = npy_header((3,))
    zip_declaring(tmp_path / "zeros.npz", bomb + [(WEIGHT, deflated(header, 2048), zipfile.ZIP_DEFLATED,
                                                    len(header) + 2 ** 31)])
    refused(tmp_path / "zeros.npz", r"member 'weights/layers.0.bias.npy' holds 2147483648 bytes of data, its .npy "
                                    r"header promises 12")
    header = npy_header((2 ** 29,))
    zip_declaring(tmp_path / "bomb.npz", bomb + [(WEIGHT, deflated(header, 2048), zipfile.ZIP_DEFLATED,
                                                   len(header) + 2 ** 31)])
    refused(tmp_path / "bomb.npz", r"tensor 'weights/layers.0.bias' is float32 \[536870912\], its metadata says "
                                   r"float32 \[3\]")
    zip_declaring(tmp_path / "lie.npz", bomb + [(WEIGHT, deflated(header, 1), zipfile.ZIP_DEFLATED,
                                                  len(header) + 2 ** 31)])
    refused(tmp_path / "lie.npz", r"member 'weights/layers.0.bias.npy' claims 2147483776 bytes from \d+ compressed")


def test_metadata_larger_than_the_limit_is_refused_unread(tmp_path):
    """A 400 MB JSON metadata member (genuinely deflated spaces) is refused by its header alone."""
    members, _ = saved(tmp_path)
    header = npy_header((400 * 2 ** 20 + 1,), "|u1")
    others = [(name, data, zipfile.ZIP_STORED, len(data)) for name, data in members.items() if name != META]
    path = zip_declaring(tmp_path / "big-meta.npz", others + [
        (META, deflated(header + b"{", 400, b" "), zipfile.ZIP_DEFLATED, len(header) + 1 + 400 * 2 ** 20)])
    refused(path, r"its metadata takes 419430401 bytes, more than dlcore's limit of 67108864")


def test_an_array_whose_header_declares_a_tebibyte_is_refused_unallocated(tmp_path):
    members, meta = saved(tmp_path)
    tebibyte = npy_header((2 ** 38,)) + bytes(12)
    zip_of(tmp_path / "tib.npz", [*{**members, WEIGHT: tebibyte}.items()])
    refused(tmp_path / "tib.npz", r"'weights/layers.0.bias' is float32 \[274877906944\], its metadata says "
                                  r"float32 \[3\]")
    meta["tensors"]["weights/layers.0.bias"]["shape"] = [2 ** 38]  # the metadata agrees: the zip does not
    zip_of(tmp_path / "tib-agreed.npz", [*{**members, WEIGHT: tebibyte, META: metadata_member(meta)}.items()])
    refused(tmp_path / "tib-agreed.npz", r"member 'weights/layers.0.bias.npy' holds 12 bytes of data, its .npy header "
                                         r"promises 1099511627776")


def test_metadata_nested_thousands_deep_is_refused_without_recursion(tmp_path):
    """JSON nested 5,000 deep; brackets that do not pair (those in strings do not count); and a
    megabyte of unterminated strings (a scan that backtracked would take minutes)."""
    members, meta = saved(tmp_path)
    for name, raw, fault in (
            ("deep", json.dumps(meta)[:-1] + ', "deep": ' + "[" * 5000 + "]" * 5000 + "}",
             r"missing or invalid dlcore metadata \(nested more than 64 levels deep\)"),
            ("unpaired", json.dumps(meta)[:-1] + ', "deep": "[[[" ]]]}', r"\(its brackets do not pair\)"),
            ("unterminated", json.dumps(meta)[:-1] + ', "deep": ' + '"\\' * 2 ** 19 + "}",
             r"\(its brackets do not pair\)")):
        blob = npy(np.frombuffer(raw.encode(), np.uint8))
        refused(zip_of(tmp_path / f"{name}.npz", [*{**members, META: blob}.items()]), fault)


TYPE_FAULTS = [  # (change to the metadata, the fault the message names)
    (lambda m: m.update(state=[["epoch", 1]]), r"state is \[\['epoch', 1\]\], not a JSON object"),
    (lambda m: m.update(metadata="note"), r"metadata is 'note', not a JSON object"),
    (lambda m: m.update(spec=7), r"spec is 7, not a JSON object"),
    (lambda m: m.update(tensors=[]), r"tensors is \[\], not a JSON object"),
    (lambda m: m["tensors"]["weights/layers.0.bias"].update(shape=[-3]),
     r"tensor 'weights/layers.0.bias' has shape \[-3\], not a list of sizes >= 0"),
    (lambda m: m["tensors"]["weights/layers.0.bias"].update(shape="3"), r"has shape '3', not a list of sizes >= 0"),
    (lambda m: m["tensors"]["weights/layers.0.bias"].update(shape=[2 ** 40]),
     r"is float32 \[3\], its metadata says float32 \[1099511627776\]"),
    (lambda m: m["tensors"]["weights/layers.0.bias"].update(dtype="O"),
     r"tensor 'weights/layers.0.bias' has dtype 'O' in its metadata, not a type of plain numbers"),
    (lambda m: m["tensors"]["weights/layers.0.bias"].update(dtype="f4,i4"), r"has dtype 'f4,i4' in its metadata, not"),
    (lambda m: m["tensors"]["weights/layers.0.bias"].update(dtype=["f4"]), r"has dtype \['f4'\], not a string"),
    (lambda m: m["tensors"]["weights/layers.0.bias"].pop("sha256"), r"has sha256 None, not a string"),
    (lambda m: m["tensors"].update({"weights/x": 3}), r"tensor 'weights/x' is 3, not a JSON object"),
]


def test_metadata_of_the_wrong_types_is_refused(tmp_path):
    """A state, metadata, spec or tensors of the wrong JSON type; a tensor entry with a negative
    or huge shape, a shape or dtype of the wrong type, no sha256, a dtype of 'O'; a list."""
    members, meta = saved(tmp_path)
    for change, fault in TYPE_FAULTS:
        changed = json.loads(json.dumps(meta))
        change(changed)
        refused(zip_of(tmp_path / "typed.npz", [*{**members, META: metadata_member(changed)}.items()]), fault)
    path = zip_of(tmp_path / "list.npz", [*{**members, META: metadata_member([1, 2])}.items()])
    refused(path, r"missing or invalid dlcore metadata \(a JSON list, not an object\)")


def test_only_a_real_object_array_is_reported_as_pickled(tmp_path):
    """4 KB of random bytes (numpy tries them as a pickle) and a valid checkpoint cut short are
    not zip files or damaged ones; an object array is refused as pickled, unread."""
    (tmp_path / "random.npz").write_bytes(np.random.default_rng(0).bytes(4096))
    message, _, _ = refused(tmp_path / "random.npz", r"not a readable dlcore checkpoint \(not a zip file\)")
    assert "pickled" not in message
    valid = TrainingCheckpoint(MLP(4, (3,), 2).initial_weights(0)).save(tmp_path / "whole.npz").read_bytes()
    for cut in (10, len(valid) // 2, len(valid) - 30):
        (tmp_path / "cut.npz").write_bytes(valid[:cut])
        message, _, _ = refused(tmp_path / "cut.npz", r"not a readable dlcore checkpoint")
        assert "pickled" not in message
    members, meta = saved(tmp_path)
    objects = np.empty(3, object)
    objects[:] = [1, "two", None]
    meta["tensors"]["weights/layers.0.bias"]["dtype"] = "object"
    path = zip_of(tmp_path / "objects.npz", [*{**members, META: metadata_member(meta), WEIGHT: npy(objects)}.items()])
    refused(path, "holds pickled objects, which dlcore never loads")


def test_members_named_outside_the_archive_or_twice_are_refused(tmp_path):
    members, meta = saved(tmp_path)
    refused(zip_of(tmp_path / "escape.npz", [*members.items(), ("../../escape.npy", npy(np.zeros(3)))]),
            r"member '../../escape.npy' names a path outside the checkpoint")
    refused(zip_of(tmp_path / "twice.npz", [*members.items(), (WEIGHT, npy(np.ones(3, np.float32)))]),
            r"members \['weights/layers.0.bias.npy'\] appear more than once")


def test_a_member_shorter_or_longer_than_its_zip_entry_is_damaged(tmp_path):
    """A zip entry declaring fewer bytes than the .npy header promises is refused unread; a
    stream that ends before its entry's size is cut short; one that goes on is read only as
    far as promised."""
    members, _ = saved(tmp_path)
    stored = [(name, data, zipfile.ZIP_STORED, len(data)) for name, data in members.items() if name != WEIGHT]
    short = members[WEIGHT][:-4]
    zip_declaring(tmp_path / "short.npz", stored + [(WEIGHT, short, zipfile.ZIP_STORED, len(short))])
    refused(tmp_path / "short.npz", r"member 'weights/layers.0.bias.npy' holds 8 bytes of data, its .npy header "
                                    r"promises 12")
    content = members[WEIGHT][:-12]  # the zip declares the right size, the stream ends 12 bytes early
    zip_declaring(tmp_path / "early.npz", stored + [(WEIGHT, deflated(content, 0), zipfile.ZIP_DEFLATED,
                                                     len(members[WEIGHT]), zlib.crc32(content))])
    refused(tmp_path / "early.npz", r"member 'weights/layers.0.bias.npy' is cut short after 0 of 12 bytes")
    longer = deflated(members[WEIGHT], 1)  # a MiB of zeros after the promised bytes
    zip_declaring(tmp_path / "longer.npz", stored + [(WEIGHT, longer, zipfile.ZIP_DEFLATED, len(members[WEIGHT]),
                                                      zlib.crc32(members[WEIGHT]))])
    loaded = TrainingCheckpoint.load(tmp_path / "longer.npz").weights["layers.0.bias"]
    assert loaded.tobytes() == members[WEIGHT][-12:]


def test_a_valid_checkpoint_and_those_of_dlcore_0_1_0_still_load_bitwise(tmp_path):
    rng = np.random.default_rng(0)
    weights = {"layers.0.weight": rng.standard_normal((3, 4), np.float32),
               "layers.0.bias": np.asfortranarray(rng.standard_normal((3, 2))),  # saved in Fortran order
               "scalar": np.array(7, np.int64), "empty": np.zeros((0, 5), np.float16), "flags": np.array([True, False])}
    optimizer = {"0/m": rng.standard_normal(5)}
    path = TrainingCheckpoint(weights, None, {"note": "ok"}, optimizer, {"epoch": 2}).save(tmp_path / "ok.npz")
    loaded = TrainingCheckpoint.load(path)
    assert loaded.metadata == {"note": "ok"} and loaded.state == {"epoch": 2} and loaded.spec is None
    for saved_arrays, loaded_arrays in ((weights, loaded.weights), (optimizer, loaded.optimizer)):
        assert saved_arrays.keys() == loaded_arrays.keys()
        for name, array in saved_arrays.items():
            assert loaded_arrays[name].dtype == array.dtype and loaded_arrays[name].shape == array.shape
            assert loaded_arrays[name].tobytes() == array.tobytes(), name
    for old in sorted(OLD_CHECKPOINTS.glob("dlcore-0.1.0-*.npz")):
        loaded = TrainingCheckpoint.load(old)
        with np.load(old, allow_pickle=False) as npz:
            for name in npz.files:
                section, _, key = name.partition("/")
                if section in ("weights", "optimizer"):
                    assert getattr(loaded, section)[key].tobytes() == npz[name].tobytes(), (old.name, name)
        assert loaded.spec is not None and loaded.state["epoch"] == 2


# ------------------------------------------------------------------ memory maps given as arrays


def resident(field):
    """The process's resident memory ("VmRSS") or its peak ("VmHWM"), in bytes (Linux)."""
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) * 1024


def test_a_memory_map_given_as_arrays_is_streamed_within_the_budget(tmp_path):
    """A 40 MB memory map (and views of it, and an np.load(mmap_mode) array) given to
    ArrayDataset is not "in memory"; trained under an 8 MB budget it is read chunk by chunk:
    never copied whole (tracemalloc), its rows read from the file rather than through the map,
    whose pages would stay resident (Linux: the peak resident memory), and it trains as the
    same arrays in memory."""
    pytest.importorskip("torch")
    from dlcore import Trainer, models

    rows, columns = 20_000, 500
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, rows)
    mapped = np.lib.format.open_memmap(tmp_path / "x.npy", "w+", np.float32, (rows, columns))
    mapped[:] = rng.standard_normal((rows, columns), np.float32) * 0.1
    mapped += (labels[:, None] - 0.5) * 0.2  # learnable: every feature leans towards the class
    mapped.flush()
    for features in (mapped, np.asarray(mapped), mapped[:1000], np.load(tmp_path / "x.npy", mmap_mode="r")):
        assert not ArrayDataset(features, labels[:len(features)]).in_memory
    assert ArrayDataset(np.array(mapped), labels).in_memory and ArrayDataset(mapped[[0, 1]], labels[:2]).in_memory
    peaks = Path("/proc/self/clear_refs").exists()

    def fit(features, traced):
        trainer = Trainer("torch", epochs=1, batch_size=250, lr=0.05, seed=0, progress=False, memory_budget="8MB")
        spec = models.mlp(columns, [4], 2)
        tracemalloc.start() if traced else None
        if peaks:
            before = resident("VmRSS")
            Path("/proc/self/clear_refs").write_text("5")  # the peak from here on
        history = trainer.fit(spec, ArrayDataset(features, labels))
        grown = resident("VmHWM") - before if peaks else 0
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return history.last, trainer.build(spec).get_weights(), max(peak, grown)

    preloaded, preloaded_weights, _ = fit(np.array(mapped), traced=False)  # and torch warmed up, untraced
    streamed, weights, peak = fit(np.load(tmp_path / "x.npy", mmap_mode="r"), traced=True)
    assert peak < mapped.nbytes / 2, peak / 2 ** 20  # streamed: never the 40 MB whole, copied or mapped in
    assert preloaded["accuracy"] > 0.9 and streamed["accuracy"] == pytest.approx(preloaded["accuracy"])
    for name, array in preloaded_weights.items():
        np.testing.assert_allclose(weights[name], array, rtol=1e-5, atol=1e-6, err_msg=name)


# -------------------------------------------- the command line: usage mistakes, names of another format


FRAMEWORKS = ("torch", "tensorflow", "jax")


@pytest.fixture
def tiny_fashion(tmp_path: Path) -> Path:
    return write_fashion_mnist(tmp_path / "fmnist", n_train=200, n_test=50)


@pytest.mark.parametrize("args, message", [
    (["--lr", "abc"], "dlcore: error: argument --lr: invalid float value: 'abc' (dlcore train --help"),
    (["--workers", "0"], "--workers takes a number >= 1, got 0"),
    (["--workers", "-2"], "--workers takes a number >= 1, got -2"),
    (["--threads", "0", "--workers", "2"], "--threads takes a number >= 1, got 0"),
    (["--timeout", "-1", "--workers", "2"], "--timeout takes a number of seconds > 0, got -1"),
    (["--batch-size", "0"], "batch_size must be an integer >= 1, got 0"),
    (["--epochs", "0"], "epochs must be an integer >= 1, got 0"),
    (["--lr", "-1"], "lr must be a positive number"),
    (["--validation", "1.5"], "validation must be between 0 and 1"),
    (["--hidden", "32"], "--hidden ([model] hidden) needs --model mlp or cnn: the fashion-mnist recipe's model"),
    (["--model", "cnn", "--hidden", "3", "4"], "of a cnn is one size"),
    (["--model", "mlp", "--filters", "8"], "--filters ([model] filters) needs --model cnn"),
    (["--train", "x.csv"], "--train ([data] train) is for the datasets image-folder and image-csv"),
    (["--save", "m.pt"], "--save m.pt: .pt is the suffix of torch files (.pt, .pth), and --save writes a dlcore "
                         "checkpoint (.npz): give --save m.npz"),
    (["--save", "m.keras"], "trainer.export(trainer.load('m.npz'), 'm.keras')"),
])
def test_a_usage_mistake_is_one_line_exit_2_before_any_folder_or_framework(args, message, tiny_fashion, tmp_path,
                                                                          monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    runs = tmp_path / "runs"
    before = set(sys.modules)
    status = main(["train", "fashion-mnist", "--data-dir", str(tiny_fashion), "--run-dir", str(runs), "--epochs",
                   "1", "--no-plots", *args])
    err = capsys.readouterr().err
    assert status == 2 and len(err.splitlines()) == 1, err
    assert err.startswith("dlcore") and message in err, err
    assert not runs.exists() and not (tmp_path / "m.pt").exists() and not (tmp_path / "m.keras").exists()
    assert not [m for m in set(sys.modules) - before if m.split(".")[0] in FRAMEWORKS]


@pytest.mark.parametrize("argv, message", [
    (["train", "no-such-data"], "dlcore: error: argument DATASET: invalid choice: 'no-such-data'"),
    (["train", "fashion-mnist", "--resume", "nowhere"], "dlcore: error: --resume nowhere: no checkpoint there"),
    (["launch", "--workers", "0", "python", "-c", "1"], "dlcore: error: --workers takes a number >= 1, got 0"),
    (["launch", "--timeout", "0", "python", "-c", "1"], "dlcore: error: --timeout takes a number of seconds > 0"),
])
def test_other_usage_mistakes_are_one_line(argv, message, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and err.startswith(message), err
    assert not list(tmp_path.iterdir())


def test_a_frameworks_logs_in_an_error_are_left_to_debug(monkeypatch, capsys):
    """A framework's error carries its logs (gRPC's details, C++ frames): one line, all with --debug."""
    def fails(args, argv):
        raise DistributedError("could not join the cluster: Socket closed\nAdditional GRPC error information from "
                               "remote target /job:worker/replica:0/task:1:\n:UNKNOWN:Error received from peer\n"
                               "Exception raised from recvBytes at pair.cc:545\nframe #0: c10::Error::Error()")

    monkeypatch.setattr(train, "run", fails)
    assert main(["train", "fashion-mnist"]) == 1
    assert capsys.readouterr().err == ("dlcore: error: could not join the cluster: Socket closed (--debug shows the "
                                       "framework's details)\n")
    assert main(["train", "fashion-mnist", "--debug"]) == 1
    shown = capsys.readouterr().err
    assert "Traceback (most recent call last)" in shown and "frame #0: c10::Error::Error()" in shown


def test_save_refuses_the_suffix_of_another_format_and_reads_what_it_writes(tmp_path):
    with numpy_backend():
        trainer = Trainer("numpy", epochs=1, batch_size=4, seed=0, progress=False, device="cpu")
        model = mlp(4, [3], 2)
        for name in ("m.pt", "m.pth", "m.keras"):
            with pytest.raises(ConfigError, match=r"save\(\) writes a dlcore checkpoint: give it a \.npz path; for "
                                                  r"a (torch|keras) file use trainer\.export\(model, "):
                trainer.save(model, tmp_path / name)
            assert not (tmp_path / name).exists()
        for name in ("m.npz", "m.ckpt", "m"):  # a dlcore checkpoint is known by its content
            saved = trainer.save(model, tmp_path / name)
            assert TrainingCheckpoint.load(saved).weights.keys() == trainer.build(model).get_weights().keys()


# ----------------------------------------------------------------- groups of processes


def _start_group(backend: str, data: Path, tmp_path: Path) -> tuple[subprocess.Popen[str], list[str], Path]:
    """``dlcore train --workers 2`` with its own $TMPDIR, read until its second epoch ended."""
    (tmp_path / "tmp").mkdir()
    process = subprocess.Popen(
        [sys.executable, "-m", "dlcore", "train", "fashion-mnist", "--backend", backend, "--data-dir", str(data),
         "--epochs", "500", "--batch-size", "20", "--no-progress", "--no-plots", "--workers", "2", "--run-dir",
         str(tmp_path / "runs")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "TMPDIR": str(tmp_path / "tmp")},
        preexec_fn=takes_ctrl_c)
    lines: list[str] = []
    while not any(line.startswith("epoch 2/") for line in lines):
        line = process.stderr.readline()
        assert line, f"training ended early: {''.join(lines)}"
        lines.append(line)
    run = Path(next(line for line in lines if line.startswith("run folder: ")).split(": ", 1)[1].strip())
    return process, lines, run


def _workers(launcher: int) -> dict[int, int]:
    """The launcher's worker processes, by rank (Linux: from /proc)."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == launcher:
                variables = (stat.parent / "environ").read_bytes().split(b"\0")
                rank = next((v.split(b"=")[1] for v in variables if v.startswith(b"DLCORE_WORKER=")), None)
                if rank is not None:
                    found[int(rank.split(b"/")[0])] = int(stat.parent.name)
    return found


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _left_behind(tmp_path: Path, pids: list[int], within: float = 30) -> tuple[list[str], list[int]]:
    """What is left after the group, once its processes had ``within`` seconds to go: dlcore's
    temporary folders in its $TMPDIR and its live processes."""
    end = time.monotonic() + within
    while True:
        folders = sorted(p.name for p in (tmp_path / "tmp").iterdir() if p.name.startswith("dlcore-"))
        alive = [pid for pid in pids if _running(pid)]
        if (not folders and not alive) or time.monotonic() > end:
            return folders, alive
        time.sleep(0.2)


def _finished_epochs(run: Path) -> int:
    return int(TrainingCheckpoint.load(run / "checkpoints" / "last.npz").state["epoch"])


needs_torch_on_linux = pytest.mark.skipif("torch" not in BACKENDS or not Path("/proc/self/stat").exists(),
                                          reason="a torch group, watched through /proc")


@pytest.mark.slow  # one backend's: the torch env runs it
@needs_torch_on_linux
def test_ctrl_c_to_a_group_says_the_finished_epochs_and_how_to_resume(tiny_fashion, tmp_path):
    process, _, run = _start_group("torch", tiny_fashion, tmp_path)
    workers = list(_workers(process.pid).values())
    process.send_signal(signal.SIGINT)
    _, rest = process.communicate(timeout=120)
    assert process.returncode == 130, rest
    finished = _finished_epochs(run)
    assert rest.strip().splitlines() == [
        f"dlcore: interrupted; the {finished} finished epochs are in {run / 'checkpoints' / 'last.npz'} (dlcore train "
        f"--config {run / 'config.toml'} --resume {run} --workers 2 goes on)"]
    assert _left_behind(tmp_path, workers) == ([], [])


@pytest.mark.slow  # one backend's: the torch env runs it
@needs_torch_on_linux
def test_a_killed_launcher_leaves_no_worker_and_no_temporary_folder(tiny_fashion, tmp_path):
    process, _, _ = _start_group("torch", tiny_fashion, tmp_path)
    workers = list(_workers(process.pid).values())
    assert len(workers) == 2
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    try:
        assert _left_behind(tmp_path, workers) == ([], [])
    finally:
        for pid in filter(_running, workers):
            os.kill(pid, signal.SIGKILL)
        process.communicate(timeout=60)


@pytest.mark.slow  # one backend's: the tensorflow env runs it
@pytest.mark.skipif("tensorflow" not in BACKENDS or not Path("/proc/self/stat").exists(),
                    reason="a tensorflow group, watched through /proc")
def test_a_killed_worker_ends_the_group_with_the_resume_command_and_no_frameworks_logs(tiny_fashion, tmp_path):
    """TensorFlow's workers: their gRPC and C++ logs of a broken group are the noisiest."""
    process, _, run = _start_group("tensorflow", tiny_fashion, tmp_path)
    workers = _workers(process.pid)
    os.kill(workers[1], signal.SIGKILL)
    _, rest = process.communicate(timeout=120)
    lines = rest.strip().splitlines()
    assert process.returncode == 137 and all(line.startswith("dlcore: ") for line in lines), rest
    assert "GRPC" not in rest and lines[-1].startswith("dlcore: worker 1 of 2 was killed by SIGKILL; stopping the "
                                                       f"others; the {_finished_epochs(run)} finished epochs are in ")
    assert lines[-1].endswith(f"(dlcore train --config {run / 'config.toml'} --resume {run} --workers 2 goes on)")
    assert _left_behind(tmp_path, list(workers.values())) == ([], [])
