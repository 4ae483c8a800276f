"""Reader for the IDX format of MNIST and Fashion-MNIST (plain or gzipped)."""

from __future__ import annotations

import gzip
import os
import zlib
from typing import Any

import numpy as np

from ..contract.errors import DataError

_DTYPES: dict[int, Any] = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx_bytes(raw: bytes, source: str = "<bytes>") -> np.ndarray:
    """Decode IDX bytes into an array; ``source`` names the file in error messages."""
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise DataError(f"{source}: not an IDX file (bad magic number); re-download it")
    dtype = _DTYPES.get(raw[2])
    if dtype is None:
        raise DataError(f"{source}: unknown IDX element type 0x{raw[2]:02x}")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise DataError(f"{source}: truncated IDX header; re-download the file")
    shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", ndim, 4))
    itemsize = np.dtype(dtype).itemsize
    expected = header + int(np.prod(shape, dtype=np.int64)) * itemsize
    if len(raw) != expected:
        raise DataError(
            f"{source}: IDX header says shape {shape} ({expected} bytes) but the file has "
            f"{len(raw)} bytes; the file is truncated or corrupt, re-download it"
        )
    return np.frombuffer(raw, dtype, offset=header).reshape(shape).astype(np.dtype(dtype).newbyteorder("="))


def read_file_bytes(path: str | os.PathLike[str]) -> bytes:
    """The uncompressed bytes of a file, gunzipping it when it is gzipped."""
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as err:
            raise DataError(f"{path}: damaged gzip file ({err}); delete it and re-download") from None
    return raw


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file, gzipped or not."""
    return read_idx_bytes(read_file_bytes(path), str(path))


__all__ = ["read_file_bytes", "read_idx", "read_idx_bytes"]
