"""Where dlcore keeps files (the cache, the data directories) and how it writes them: atomically,
so a crash or an error leaves either the old file or the new one, never a half-written file, and
the temporary file of a write that a kill cut short goes at the next write of the same file."""

from __future__ import annotations

import os
import re
import socket
import stat
import tempfile
import time
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


STALE_SECONDS = 24 * 3600  # a temporary file this old is debris whoever wrote it: no write takes a day


def _host() -> str:
    """This machine's name as it goes into a temporary file's name (letters, digits and dashes)."""
    return re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())[:40] or "host"


def _alive(pid: int) -> bool:
    """Whether process ``pid`` of this machine runs (where that cannot be told, it counts as running)."""
    if os.name == "nt":  # os.kill would end the process there
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process, or no way to tell
        return True
    return True


def remove_debris(path: Path, suffix: str = ".tmp") -> list[Path]:
    """Remove the temporary files that writes of ``path`` by :func:`atomic_path` left when killed:
    those of a process of this machine that no longer runs, and any older than a day (a process
    of another machine sharing the folder, or an older dlcore's). The files removed."""
    ours = re.compile(re.escape(path.name) + r"\.(?:(\d+)@([A-Za-z0-9-]+)\.)?[a-z0-9_]{8}" + re.escape(suffix))
    try:
        names = os.listdir(path.parent)
    except OSError:
        return []
    removed, host = [], _host()
    for match in filter(None, map(ours.fullmatch, names)):
        pid, writer_host = match.groups()
        debris = path.parent / match[0]
        try:
            stale = time.time() - debris.lstat().st_mtime > STALE_SECONDS
            if stale or (writer_host == host and not _alive(int(pid))):
                debris.unlink()
                removed.append(debris)
        except OSError:  # gone meanwhile, or not ours to remove
            pass
    return removed


@contextmanager
def atomic_path(path: Path, suffix: str = ".tmp") -> Iterator[Path]:
    """A temporary file beside ``path`` for the block to write, with the permissions the umask
    gives new files. When the block ends without an error the file is fsynced and renamed over
    ``path``, and the rename made durable; on an error it is removed and ``path`` is left as it
    was. The temporary file is named after ``path``, this process and this machine
    (``NAME.PID@HOST.RANDOM.tmp``), so that the next write of ``path`` removes it where a kill
    cut this write short (:func:`remove_debris`), never while its writer runs."""
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_debris(path, suffix)
    fd, name = tempfile.mkstemp(prefix=f"{path.name}.{os.getpid()}@{_host()}.", suffix=suffix, dir=path.parent)
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


def private_folder(folder: Path, top: Path | None = None) -> str | None:
    """Make sure that only this user can put files in ``folder``, as a cache that dlcore runs code
    from needs: None where ``folder``, and each folder above it up to ``top`` (the one dlcore made
    it in, such as :func:`cache_dir`), belongs to this user and is writable by nobody else (by
    its group only where that is the user's own group); else why not, naming the folder and the
    fix. Missing folders are made first, private (mode 0700). A symbolic link is judged by the
    folder it leads to, and must be this user's (or root's) own."""
    uid = getattr(os, "geteuid", lambda: None)()
    if uid is None:  # no POSIX owners: the platform's own permissions apply
        return None
    chain = [folder]  # the folder, then each one above it up to top
    while top is not None and chain[-1] != top and chain[-1] != chain[-1].parent:
        chain.append(chain[-1].parent)
    if chain[-1] != top:
        chain = [folder]
    try:
        for each in reversed(chain):
            if not each.exists():
                each.mkdir(parents=True, mode=0o700, exist_ok=True)
    except OSError as e:
        return f"{folder} cannot be made ({e.strerror or e})"
    for each in chain:
        try:
            link, info = each.lstat(), each.stat()
        except OSError as e:
            return f"{each} cannot be read ({e.strerror or e})"
        if stat.S_ISLNK(link.st_mode) and link.st_uid not in (uid, 0):
            return f"{each} is a symbolic link of user {_user(link.st_uid)}, not yours: remove it"
        if not stat.S_ISDIR(info.st_mode):
            return f"{each} is not a folder: remove it"
        if info.st_uid != uid:
            return (f"{each}{' (' + os.path.realpath(each) + ')' if stat.S_ISLNK(link.st_mode) else ''} belongs to "
                    f"user {_user(info.st_uid)}, not to you ({_user(uid)}): remove it")
        if info.st_mode & 0o002 or (info.st_mode & 0o020 and not _own_group(info.st_gid, uid)):
            return f"{each} is writable by others (mode {stat.S_IMODE(info.st_mode):04o}): run 'chmod 700 {each}'"
    return None


def _own_group(gid: int, uid: int) -> bool:
    """Whether group ``gid`` is the user's own (named after the user, with no other member), as
    systems that give each user a group make it (umask 002 then makes folders group-writable)."""
    try:
        import grp
        import pwd

        user, group = pwd.getpwuid(uid).pw_name, grp.getgrgid(gid)
    except (ImportError, KeyError):
        return False
    return group.gr_name == user and set(group.gr_mem) <= {user}


def _user(uid: int) -> str:
    """A user's name and id, as in 'nobody (uid 65534)'."""
    try:
        import pwd

        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except (ImportError, KeyError):
        return f"uid {uid}"


def data_dirs() -> list[Path]:
    """Where every dataset is looked for first: $DLCORE_DATA_DIR (if set), then the cache."""
    env = [Path(os.environ[ENV_DATA_DIR]).expanduser()] if os.environ.get(ENV_DATA_DIR) else []
    return env + [cache_dir()]


__all__ = ["ENV_CACHE", "ENV_DATA_DIR", "atomic_path", "cache_dir", "data_dirs", "private_folder", "remove_debris"]
