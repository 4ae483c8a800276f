"""JAX's persistent compilation cache, in dlcore's cache folder (``<cache dir>/jax``).

A process that runs a step compiled before (the same model, shapes, JAX version and flags)
loads XLA's executable instead of compiling it again: its first step comes sooner and its peak
memory leaves out the compiler's working memory (about 80 MB for the Fashion-MNIST MLP, near
half of what JAX adds to its import). The files are machine code, so dlcore runs only what it
wrote itself, for the step it wrote it for:

- The cache is on unless ``DLCORE_COMPILATION_CACHE=0``. A cache folder set in JAX's own config
  (``jax_compilation_cache_dir``) is the user's, and left as it is.
- ``<cache dir>/jax`` and ``<cache dir>`` are made private to the user (mode 0700) where missing,
  and used only where they belong to the user and nobody else can write to them; otherwise dlcore
  warns once, naming the folder and the fix, and compiles every step.
- Each entry carries the key (JAX's hash of the program, the options and the versions) it was
  written under and an HMAC-SHA256 of that key and the executable, with a secret of the user's
  kept in ``<cache dir>/jax/dlcore.key`` (mode 0600). An entry that does not verify (written for
  another program, by another key, half written, or by an older dlcore) is compiled again and
  overwritten; dlcore warns once where an entry it had sealed fails.
- XLA's own GPU caches in the folder (autotuning results, kernels), which dlcore cannot verify,
  stay off.
- Where this JAX version lacks the internals that dlcore seals its entries through, the cache
  is off for the process: every step is compiled, nothing is loaded unverified.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import stat
import tempfile
import warnings
from pathlib import Path
from typing import Any

import jax

from dlcore.io.files import cache_dir, private_folder

MAX_BYTES = 256 * 2**20  # the least recently used executables go first beyond this
MIN_COMPILE_SECONDS = 0.0  # even the small programs: each compile costs the compiler's memory
KEY_FILE = "dlcore.key"
SEAL = b"dlcore-sealed-1\n"  # an entry's first bytes; the key's length and the key follow, then the MAC
_MAC_BYTES = hashlib.sha256().digest_size

_warned: set[str] = set()  # each warning once a process
_installed: dict[str, Any] = {}  # the sealed cache's folder and secret, once JAX's cache goes through it


def _warn_once(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        warnings.warn(message, stacklevel=3)


def seal(secret: bytes, key: str, payload: bytes) -> bytes:
    """``payload`` as stored under ``key``: the key, and an HMAC-SHA256 of key and payload, first."""
    head = len(key.encode()).to_bytes(2, "big") + key.encode()
    return SEAL + head + hmac.new(secret, head + payload, hashlib.sha256).digest() + payload


def unseal(secret: bytes, key: str, value: bytes) -> bytes | None:
    """The payload of an entry that :func:`seal` made under ``key`` with ``secret``; else None."""
    head = len(key.encode()).to_bytes(2, "big") + key.encode()
    if not value.startswith(SEAL + head):
        return None
    mac, payload = value[len(SEAL + head):][:_MAC_BYTES], value[len(SEAL + head) + _MAC_BYTES:]
    return payload if hmac.compare_digest(mac, hmac.new(secret, head + payload, hashlib.sha256).digest()) else None


def _read_secret(path: Path) -> bytes | None:
    """The secret in ``path`` where it is a private file of this user, else None."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        uid = getattr(os, "geteuid", lambda: info.st_uid)()
        if not stat.S_ISREG(info.st_mode) or info.st_uid != uid or info.st_mode & 0o077:
            return None
        secret = f.read(_MAC_BYTES + 1)
    return secret if len(secret) == _MAC_BYTES else None


def user_secret(folder: Path) -> bytes:
    """The user's secret for sealing cache entries, in ``folder/dlcore.key`` (mode 0600), made
    atomically where missing and replaced where it is not a private file of the user's."""
    path = folder / KEY_FILE
    for _ in range(3):
        secret = _read_secret(path)
        if secret is not None:
            return secret
        fd, name = tempfile.mkstemp(prefix=f"{KEY_FILE}.", dir=folder)  # mode 0600
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(os.urandom(_MAC_BYTES))
                f.flush()
                os.fsync(f.fileno())
            if os.path.lexists(path):
                os.replace(name, path)  # not a private file of the user's: never read again
            else:
                try:
                    os.link(name, path)  # made whole, and only where no other process made one first
                except FileExistsError:
                    pass
        finally:
            Path(name).unlink(missing_ok=True)
    raise OSError(f"{path}: no private secret could be kept there")


def _sealed_cache_class() -> tuple[type, type, str] | None:
    """The class of the sealed cache, JAX's file cache class and the suffix of its files; None
    where this JAX version lacks what they need."""
    try:
        from jax._src import compilation_cache_interface, lru_cache

        interface, file_cache, suffix = compilation_cache_interface.CacheInterface, lru_cache.LRUCache, \
            str(lru_cache._CACHE_SUFFIX)
    except (ImportError, AttributeError):
        return None

    class SealedCache(interface):  # type: ignore[misc, valid-type]
        """JAX's file cache, with what goes in sealed and what comes out verified (a miss where not)."""

        def __init__(self, base: Any, secret: bytes) -> None:
            self.base, self.secret = base, secret

        @property
        def _path(self) -> Any:
            return self.base._path

        def get(self, key: str) -> bytes | None:
            value = self.base.get(key)
            if value is None:
                return None
            payload = unseal(self.secret, key, value)
            if payload is None and value.startswith(SEAL):
                _warn_once(f"dlcore compiles again a step whose compiled code in {self._path} was not written for "
                           f"it or was changed since ({key}{suffix}); only dlcore should write to that folder")
            return payload

        def put(self, key: str, value: bytes) -> None:
            (Path(self.base._path) / f"{key}{suffix}").unlink(missing_ok=True)  # JAX's put keeps an existing entry
            self.base.put(key, seal(self.secret, key, value))

    return SealedCache, file_cache, suffix


def _seal_jax_cache(folder: Path, secret: bytes) -> bool:
    """Send JAX's persistent cache in ``folder`` through a sealed cache; whether it goes so (False
    where this JAX version lacks the internals this needs: then the cache stays off)."""
    classes = _installed.get("classes") or _sealed_cache_class()
    if classes is None:
        return False
    try:
        from jax._src import compilation_cache

        make, initialize, reset = (compilation_cache.get_file_cache, compilation_cache._initialize_cache,
                                   compilation_cache.reset_cache)
    except (ImportError, AttributeError):
        return False
    sealed, file_cache, _ = classes
    if not getattr(make, "dlcore_sealed", False):
        def get_file_cache(path: str) -> Any:
            made = make(path)
            if path != _installed.get("folder"):
                return made
            if made is None or type(made[0]) is not file_cache:  # JAX verifying its entries, or unknown: stay off
                return None
            return sealed(made[0], _installed["secret"]), made[1]

        get_file_cache.dlcore_sealed = True  # type: ignore[attr-defined]
        compilation_cache.get_file_cache = get_file_cache
    _installed.update(folder=str(folder), secret=secret, classes=classes)
    jax.config.update("jax_compilation_cache_dir", str(folder))
    initialize()  # now, to see that the cache JAX uses is the sealed one
    if isinstance(getattr(compilation_cache, "_cache", None), sealed):
        return True
    jax.config.update("jax_compilation_cache_dir", None)
    reset()
    return False


def use_compilation_cache() -> str | None:
    """Point JAX's persistent compilation cache at dlcore's cache folder, sealed; the folder used,
    or None (turned off, a folder others could write to, or the user's own)."""
    if os.environ.get("DLCORE_COMPILATION_CACHE", "1") == "0":
        return None
    if jax.config.jax_compilation_cache_dir:  # the user's, or this process's first (kept for the process)
        return str(jax.config.jax_compilation_cache_dir)
    folder = cache_dir() / "jax"
    why = private_folder(folder, cache_dir())
    if why is not None:
        _warn_once(f"dlcore compiles every JAX step without its compilation cache, as others could plant compiled "
                   f"code in it: {why}; or set DLCORE_CACHE_DIR to a folder of your own "
                   f"(DLCORE_COMPILATION_CACHE=0 turns the cache off)")
        return None
    try:
        secret = user_secret(folder)
    except OSError:  # a read-only cache: compile every time, as without the cache
        return None
    jax.config.update("jax_persistent_cache_min_compile_time_secs", MIN_COMPILE_SECONDS)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    jax.config.update("jax_compilation_cache_max_size", MAX_BYTES)
    try:
        jax.config.update("jax_persistent_cache_enable_xla_caches", None)  # XLA would read those unverified
    except AttributeError:  # a JAX version without them
        pass
    return str(folder) if _seal_jax_cache(folder, secret) else None
