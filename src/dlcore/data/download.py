"""Downloads into the cache: temporary file, checksum of the uncompressed content, rename."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Callable

from ..contract.errors import DownloadError
from ..io.files import atomic_path
from ..io.progress import progress_bar
from .idx import read_file_bytes

def sha256_uncompressed(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file's content after gunzipping (if gzipped)."""
    return hashlib.sha256(read_file_bytes(path)).hexdigest()


def file_digest(path: str | os.PathLike[str], algorithm: str) -> str:
    """Hex digest of a file's bytes as stored."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def download(url: str, dest: Path, sha256: str | None, progress: bool | None = None,
             md5: str | None = None) -> Path:
    """Fetch ``url`` to ``dest`` atomically and verify it.

    ``sha256`` is checked against the uncompressed content (gunzipped if gzipped), ``md5``
    against the bytes as downloaded. Nothing is left at ``dest`` unless the whole file
    arrived and matched.
    """
    import urllib.error  # here: HTTP and SSL would add 10 ms to every start
    import urllib.request

    with atomic_path(dest, suffix=".part") as tmp:
        with open(tmp, "wb") as out:
            try:
                with urllib.request.urlopen(url, timeout=60) as response:
                    total = int(response.headers.get("Content-Length") or 0) or None
                    with progress_bar(total, f"Downloading {dest.name}", progress, unit="B") as bar:
                        while chunk := response.read(1 << 16):
                            out.write(chunk)
                            bar.update(len(chunk))
            except (urllib.error.URLError, OSError) as err:
                raise DownloadError(
                    f"could not download {url}: {err}; check the network, or put the file "
                    f"at {dest} yourself"
                ) from None
        checks: list[tuple[str, str, Callable[[Path], str]]] = []
        if sha256 is not None:
            checks.append(("sha256", sha256, sha256_uncompressed))
        if md5 is not None:
            checks.append(("md5", md5, lambda p: file_digest(p, "md5")))
        for name, expected, actual in checks:
            if (got := actual(tmp)) != expected:
                raise DownloadError(
                    f"{url}: checksum mismatch (expected {name} {expected}, got {got}); "
                    "the download is corrupt or the mirror changed; nothing was saved"
                )
    return dest


__all__ = ["download", "file_digest", "sha256_uncompressed"]
