"""Checkpoints as data: numpy arrays plus JSON metadata in one .npz file, never pickle.

One file holds the model spec, its weights, the optimizer's state and the training progress,
each array with its SHA-256.

A save writes a temporary file, fsyncs it and renames it over the target, so a crash leaves
either the old checkpoint or the new one. A load trusts nothing in the file: it checks the zip's
members, the metadata's size, nesting and types, and each array's .npy header against the
metadata and the zip before reading the array's bytes (never more than promised), then the
array's SHA-256; whatever is wrong is a CheckpointError naming the file, in bounded time and memory.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import reprlib
import zipfile
import zlib
from abc import ABC, abstractmethod
from collections import Counter
from pathlib import Path
from typing import IO, Any

import numpy as np

from ..contract.errors import CheckpointError, DlcoreError
from ..contract.specs import ModelSpec
from ..plugins.manager import registry
from ..version import __version__
from .files import atomic_path

FORMAT = "dlcore.checkpoint/1"
_META_KEY = "__dlcore_metadata__"


class Checkpoint(ABC):
    """Something that can be written to a path and read back from it.

    Example::

        checkpoint = TrainingCheckpoint.load("model.npz")  # a Checkpoint, each tensor verified
        checkpoint.save("copy.npz")                        # written atomically
    """

    @abstractmethod
    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write atomically to ``path``; return the path written."""

    @classmethod
    @abstractmethod
    def load(cls, path: str | os.PathLike[str]) -> Checkpoint:
        """Read and verify a checkpoint, raising CheckpointError naming the file if damaged."""


def _digest(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).reshape(-1).view(np.uint8).data.cast("B")).hexdigest()


class TrainingCheckpoint(Checkpoint):
    """Everything needed to continue training, as plain arrays and JSON.

    ``weights``: the model's parameters under their canonical names (portable across
    backends). ``optimizer``: the optimizer's arrays, in the saving backend's layout.
    ``state``: JSON progress (epoch, step, history, the shuffling RNG, backend and versions,
    the optimizer's settings). ``metadata``: free-form JSON of the user's.

    Example::

        trainer.save(model, "model.npz", metadata={"note": "baseline"})
        checkpoint = TrainingCheckpoint.load("model.npz")
        checkpoint.spec, checkpoint.state["epoch"], checkpoint.metadata["note"]
        weights = checkpoint.weights  # {"layers.0.weight": array, ...}: loads on any backend
    """

    def __init__(self, weights: dict[str, np.ndarray], spec: ModelSpec | None = None,
                 metadata: dict[str, Any] | None = None, optimizer: dict[str, np.ndarray] | None = None,
                 state: dict[str, Any] | None = None) -> None:
        self.weights = {k: np.asarray(v) for k, v in weights.items()}
        self.spec = spec
        self.metadata = dict(metadata or {})
        self.optimizer = {k: np.asarray(v) for k, v in (optimizer or {}).items()}
        self.state = dict(state or {})

    def _arrays(self) -> dict[str, np.ndarray]:
        return {**{f"weights/{k}": v for k, v in self.weights.items()},
                **{f"optimizer/{k}": v for k, v in self.optimizer.items()}}

    def save(self, path: str | os.PathLike[str]) -> Path:
        path = Path(path)
        arrays = self._arrays()
        meta = {
            "format": FORMAT,
            "dlcore_version": __version__,
            "spec": self.spec.to_dict() if self.spec else None,
            "tensors": {k: {"shape": list(v.shape), "dtype": str(v.dtype), "sha256": _digest(v)}
                        for k, v in arrays.items()},
            "state": self.state,
            "metadata": self.metadata,
        }
        blob = np.frombuffer(json.dumps(meta).encode(), np.uint8)
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            members: dict[str, Any] = {_META_KEY: blob, **arrays}
            np.savez(f, **members)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> TrainingCheckpoint:
        path = Path(path)
        if not path.is_file():
            raise CheckpointError(f"{path}: no such checkpoint file")
        meta, arrays = _read_checkpoint(path)
        sections: dict[str, dict[str, np.ndarray]] = {"weights": {}, "optimizer": {}}
        for name, array in arrays.items():
            section, _, key = name.partition("/")
            sections[section][key] = array
        try:
            spec = registry().spec_from_dict(meta["spec"]) if meta["spec"] else None
        except (KeyError, ValueError, TypeError, AttributeError, DlcoreError) as err:
            raise CheckpointError(f"{path}: missing or invalid dlcore metadata ({err})") from None
        return cls(sections["weights"], spec, meta["metadata"], sections["optimizer"], meta["state"])


# What a checkpoint may hold, checked before anything is allocated for it.
MAX_METADATA_BYTES = 64 * 2 ** 20  # the JSON metadata (a history per epoch takes a few KB)
MAX_NESTING = 64  # levels of JSON arrays and objects in the metadata
MAX_NPY_HEADER = 10_000  # bytes of an .npy header, as numpy's own limit
EXPANSION = {zipfile.ZIP_STORED: 1, zipfile.ZIP_DEFLATED: 1032}  # most bytes one stored byte gives back
CHUNK = 2 ** 20  # bytes read at a time
_META_MEMBER = f"{_META_KEY}.npy"
_PICKLED = ("holds pickled objects, which dlcore never loads (they could run code); only a checkpoint of plain "
            "arrays can be read")
_DEPTH_STEP = np.zeros(256, np.int8)  # what each byte of JSON does to the depth of nesting
_DEPTH_STEP[[ord("["), ord("{")]], _DEPTH_STEP[[ord("]"), ord("}")]] = 1, -1
_shown = reprlib.Repr()
_shown.maxstring = _shown.maxother = 80


def _read_checkpoint(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The checked metadata and the arrays of the checkpoint at ``path``: the zip's member list,
    the metadata's size, nesting and types, and each array's header are checked against each
    other before the data is read, and no read takes more bytes than promised."""
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise CheckpointError(f"{path}: not a readable dlcore checkpoint (not a zip file)") from None
    except (OSError, EOFError, ValueError, NotImplementedError) as err:
        raise CheckpointError(f"{path}: not a readable dlcore checkpoint ({err})") from None
    with archive:
        try:
            members = _members(path, archive)
            meta = _metadata(path, archive, members.pop(_META_MEMBER))
            tensors = meta["tensors"]
            unlisted = set(members) ^ {f"{name}.npy" for name in tensors}
            if unlisted:
                names = sorted(name[:-len(".npy")] if name.endswith(".npy") else name for name in unlisted)
                raise CheckpointError(f"{path}: tensors {names} are missing or unexpected")
            arrays = {name: _tensor(path, archive, members[f"{name}.npy"], name, info)
                      for name, info in tensors.items()}
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, NotImplementedError,
                RuntimeError) as err:
            raise CheckpointError(f"{path}: not a readable dlcore checkpoint ({err})") from None
    return meta, arrays


def _members(path: Path, archive: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    """The archive's members by name, each named once, safely, and promising no more bytes than
    its compressed data can give."""
    infos = archive.infolist()
    names = [info.filename for info in infos]
    repeated = sorted(name for name, count in Counter(names).items() if count > 1)
    if repeated:
        raise CheckpointError(f"{path}: members {_shown.repr(repeated)} appear more than once; the file is damaged")
    if _META_MEMBER not in names:
        raise CheckpointError(f"{path}: not a readable dlcore checkpoint (it has no {_META_KEY} member)")
    stored, size = sum(info.compress_size for info in infos), path.stat().st_size
    if stored > size:
        raise CheckpointError(f"{path}: its members take {stored} bytes, more than the file's {size}; "
                              "the file is damaged")
    for info in infos:
        name = info.filename
        if name.startswith("/") or "\\" in name or ".." in name.split("/"):
            raise CheckpointError(f"{path}: member {_shown.repr(name)} names a path outside the checkpoint")
        if info.compress_type not in EXPANSION or info.flag_bits & 0x1:
            raise CheckpointError(f"{path}: member {_shown.repr(name)} is encrypted or compressed with method "
                                  f"{info.compress_type}; a dlcore checkpoint's members are stored or deflated")
        if info.file_size > info.compress_size * EXPANSION[info.compress_type]:
            raise CheckpointError(f"{path}: member {_shown.repr(name)} claims {info.file_size} bytes from "
                                  f"{info.compress_size} compressed, more than they can hold; the file is damaged")
    return dict(zip(names, infos))


def _npy_header(path: Path, name: str, stream: IO[bytes]) -> tuple[tuple[int, ...], bool, np.dtype[Any], int]:
    """Shape, Fortran order, dtype and size in bytes of the .npy header at the start of ``stream``
    (only the header is read, at most MAX_NPY_HEADER bytes)."""
    start = stream.read(8)  # the magic string and the format's version
    if not start.startswith(np.lib.format.MAGIC_PREFIX) or start[6:] not in (b"\x01\x00", b"\x02\x00"):
        raise CheckpointError(f"{path}: member {_shown.repr(name)} is not a .npy array (version 1 or 2)")
    length_bytes = 2 if start[6] == 1 else 4
    length = stream.read(length_bytes)
    header_length = int.from_bytes(length, "little")
    if len(length) != length_bytes or header_length > MAX_NPY_HEADER:
        raise CheckpointError(f"{path}: member {_shown.repr(name)} has a .npy header longer than "
                              f"{MAX_NPY_HEADER} bytes or cut short; the file is damaged")
    header = io.BytesIO(start + length + stream.read(header_length))
    np.lib.format.read_magic(header)  # numpy's readers start after it
    read = np.lib.format.read_array_header_1_0 if start[6] == 1 else np.lib.format.read_array_header_2_0
    try:
        shape, fortran_order, dtype = read(header)
    except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError) as err:
        raise CheckpointError(f"{path}: member {_shown.repr(name)} has an unreadable .npy header ({err})") from None
    if any(n < 0 for n in shape):
        raise CheckpointError(f"{path}: member {_shown.repr(name)} has a negative shape {list(shape)}")
    return shape, fortran_order, dtype, header.tell()


def _data(path: Path, stream: IO[bytes], info: zipfile.ZipInfo, header: int, nbytes: int) -> np.ndarray:
    """The ``nbytes`` of data (as bytes in an array) after a .npy header of ``header`` bytes,
    when the zip promises as many; read a chunk at a time, never more."""
    name = info.filename
    if info.file_size != header + nbytes:
        raise CheckpointError(f"{path}: member {_shown.repr(name)} holds {info.file_size - header} bytes of data, "
                              f"its .npy header promises {nbytes}; the file is damaged")
    try:
        data = np.empty(nbytes, np.uint8)  # pages become memory as they are filled
    except MemoryError:
        raise CheckpointError(f"{path}: member {_shown.repr(name)} takes {nbytes} bytes, more memory than is "
                              "free") from None
    filled = 0
    while filled < nbytes:
        chunk = stream.read(min(CHUNK, nbytes - filled))
        if not chunk:
            raise CheckpointError(f"{path}: member {_shown.repr(name)} is cut short after {filled} of {nbytes} "
                                  "bytes; the file is damaged")
        data[filled:filled + len(chunk)] = np.frombuffer(chunk, np.uint8)
        filled += len(chunk)
    if stream.read(1):
        raise CheckpointError(f"{path}: member {_shown.repr(name)} is longer than promised; the file is damaged")
    return data


def _metadata(path: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> dict[str, Any]:
    """The metadata member's JSON, bounded in size and nesting, its fields of the right types."""
    with archive.open(info) as stream:
        shape, _, dtype, header = _npy_header(path, info.filename, stream)
        if dtype != np.uint8 or len(shape) != 1:
            raise CheckpointError(f"{path}: missing or invalid dlcore metadata (a {dtype} array {list(shape)}, "
                                  "not JSON bytes)")
        if shape[0] > MAX_METADATA_BYTES:
            raise CheckpointError(f"{path}: its metadata takes {shape[0]} bytes, more than dlcore's limit of "
                                  f"{MAX_METADATA_BYTES}; the file is damaged or not a dlcore checkpoint")
        raw = _data(path, stream, info, header, shape[0]).tobytes()
    fault = _nesting_fault(raw)
    if fault:
        raise CheckpointError(f"{path}: missing or invalid dlcore metadata ({fault})")
    try:
        meta = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError) as err:
        raise CheckpointError(f"{path}: missing or invalid dlcore metadata (not JSON: {err})") from None
    if not isinstance(meta, dict):
        raise CheckpointError(f"{path}: missing or invalid dlcore metadata (a JSON {type(meta).__name__}, "
                              "not an object)")
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{path}: missing or invalid dlcore metadata (unsupported format "
                              f"{_shown.repr(meta.get('format'))})")
    for field, kind, default in (("tensors", dict, None), ("spec", (dict, type(None)), None),
                                 ("state", dict, {}), ("metadata", dict, {})):
        meta.setdefault(field, default)
        if not isinstance(meta[field], kind):
            raise CheckpointError(f"{path}: missing or invalid dlcore metadata ({field} is "
                                  f"{_shown.repr(meta[field])}, not a JSON object)")
    for name, tensor in meta["tensors"].items():
        section, _, key = name.partition("/")
        if section not in ("weights", "optimizer") or not key:
            raise CheckpointError(f"{path}: unexpected tensor {_shown.repr(name)}")
        fault = _tensor_entry_fault(tensor)
        if fault:
            raise CheckpointError(f"{path}: missing or invalid dlcore metadata (tensor {_shown.repr(name)} {fault})")
    return meta


def _tensor_entry_fault(tensor: Any) -> str:
    """What is wrong with a tensor's entry in the metadata ("" when nothing is)."""
    if not isinstance(tensor, dict):
        return f"is {_shown.repr(tensor)}, not a JSON object"
    shape, dtype, sha256 = tensor.get("shape"), tensor.get("dtype"), tensor.get("sha256")
    if not (isinstance(shape, list) and all(type(n) is int and n >= 0 for n in shape)):
        return f"has shape {_shown.repr(shape)}, not a list of sizes >= 0"
    if not isinstance(dtype, str):
        return f"has dtype {_shown.repr(dtype)}, not a string"
    if not isinstance(sha256, str):
        return f"has sha256 {_shown.repr(sha256)}, not a string"
    return ""


def _plain_numbers(dtype: str) -> bool:
    """Whether ``dtype`` names a numpy type of plain numbers (not objects, records or strings)."""
    try:
        return np.dtype(dtype).kind in "biufc"
    except (TypeError, ValueError, OverflowError):
        return False


def _nesting_fault(raw: bytes) -> str:
    """Why the JSON ``raw`` nests its arrays and objects badly ("" when it does not): more than
    MAX_NESTING levels, or brackets that do not pair. Its strings are left out (their escaped
    backslashes and quotes first), and the depth after each bracket is counted a chunk at a
    time: no recursion, time and memory linear in its size."""
    text = np.frombuffer(raw.replace(b"\\\\", b"").replace(b'\\"', b""), np.uint8)
    quotes = depth = 0
    for start in range(0, len(text), CHUNK):
        chunk = text[start:start + CHUNK]
        quoted = np.cumsum(chunk == ord('"')) + quotes
        quotes = int(quoted[-1])
        levels = np.cumsum(_DEPTH_STEP[chunk[quoted % 2 == 0]], dtype=np.int64) + depth  # brackets outside strings
        if levels.size and levels.max() > MAX_NESTING:
            return f"nested more than {MAX_NESTING} levels deep"
        if levels.size and levels.min() < 0:
            return "its brackets do not pair"
        depth = int(levels[-1]) if levels.size else depth
    return "its brackets do not pair" if depth else ""


def _tensor(path: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, promised: dict[str, Any]
            ) -> np.ndarray:
    """The array ``name``, read only once its header matches the metadata's ``promised`` shape
    and dtype and the zip's size, and then checked against its SHA-256."""
    with archive.open(info) as stream:
        shape, fortran_order, dtype, header = _npy_header(path, info.filename, stream)
        if dtype.hasobject:
            raise CheckpointError(f"{path}: {_PICKLED}")
        if not _plain_numbers(promised["dtype"]):
            raise CheckpointError(f"{path}: tensor {_shown.repr(name)} has dtype {_shown.repr(promised['dtype'])} in "
                                  "its metadata, not a type of plain numbers such as float32; the file is damaged")
        if [list(shape), str(dtype)] != [promised["shape"], promised["dtype"]]:
            raise CheckpointError(f"{path}: tensor {_shown.repr(name)} is {dtype} {list(shape)}, its metadata says "
                                  f"{promised['dtype'][:40]} {_shown.repr(promised['shape'])}; "
                                  "the file is damaged")
        data = _data(path, stream, info, header, math.prod(shape) * dtype.itemsize)
    array = data.view(dtype)
    array = array.reshape(shape[::-1]).T if fortran_order else array.reshape(shape)
    if _digest(array) != promised["sha256"]:
        raise CheckpointError(f"{path}: tensor {_shown.repr(name)} fails its checksum; the file is damaged")
    return array


def is_checkpoint(path: Path) -> bool:
    """Whether ``path`` holds a dlcore checkpoint, whatever its name (by its members, unread)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return _META_MEMBER in archive.namelist()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        return False


def _saved(path: Path) -> dict[str, Any] | None:
    """The metadata record of the checkpoint at ``path`` (read alone, not the arrays); None for
    a file that is not a dlcore checkpoint."""
    if not is_checkpoint(path):
        return None
    try:
        with zipfile.ZipFile(path) as archive:
            found: dict[str, Any] = _metadata(path, archive, _members(path, archive)[_META_MEMBER])
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, NotImplementedError, RuntimeError) as err:
        raise CheckpointError(f"{path}: not a readable dlcore checkpoint ({err})") from None
    return found


def saved_metadata(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The user metadata of the checkpoint at ``path`` (what ``trainer.save(..., metadata)``
    wrote), reading the metadata alone, not the arrays; None for a file that is not a dlcore
    checkpoint."""
    saved = _saved(Path(path))
    return None if saved is None else saved["metadata"]


def saved_table(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """How the model of the checkpoint at ``path`` read its DataFrame (target, feature columns,
    categories: ``state["table"]``), reading the metadata alone; None for a model not fitted on
    a DataFrame, or a file that is not a dlcore checkpoint."""
    saved = _saved(Path(path))
    table: Any = None if saved is None else saved["state"].get("table")
    if table is None:
        return None
    fine = (isinstance(table, dict) and isinstance(table.get("features"), list)
            and isinstance(table.get("categories"), dict) and table.get("categorical") in ("error", "one_hot")
            and all(isinstance(v, list) for v in table["categories"].values()))
    if not fine:
        raise CheckpointError(f"{path}: its DataFrame encoding (state.table) is damaged: {_shown.repr(table)}")
    found: dict[str, Any] = table
    return found


__all__ = ["FORMAT", "Checkpoint", "TrainingCheckpoint", "is_checkpoint"]
