"""Where dlcore keeps files (the cache, the data directories) and how it writes them: atomically,
so a crash or an error leaves either the old file or the new one, never a half-written file."""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


def _fsync_dir(directory: Path) -> None:
    """Make a rename in ``directory`` durable (where the platform allows it)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _umask() -> int:
    """The process's umask (read by setting it and setting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path: Path, suffix: str = ".tmp") -> Iterator[Path]:
    """A temporary file beside ``path`` for the block to write, with the permissions the umask
    gives new files. When the block ends without an error the file is fsynced and renamed over
    ``path``, and the rename made durable; on an error it is removed and ``path`` is left as it
    was."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=path.name + ".", suffix=suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # as open() would make it (mkstemp's is 0600)
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    finally:
        tmp.unlink(missing_ok=True)


ENV_CACHE = "DLCORE_CACHE_DIR"
ENV_DATA_DIR = "DLCORE_DATA_DIR"


def cache_dir() -> Path:
    """dlcore's cache: $DLCORE_CACHE_DIR, else $XDG_CACHE_HOME/dlcore, else ~/.cache/dlcore."""
    if os.environ.get(ENV_CACHE):
        return Path(os.environ[ENV_CACHE]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "dlcore"


def data_dirs() -> list[Path]:
    """Where every dataset is looked for first: $DLCORE_DATA_DIR (if set), then the cache."""
    env = [Path(os.environ[ENV_DATA_DIR]).expanduser()] if os.environ.get(ENV_DATA_DIR) else []
    return env + [cache_dir()]


__all__ = ["ENV_CACHE", "ENV_DATA_DIR", "atomic_path", "cache_dir", "data_dirs"]
