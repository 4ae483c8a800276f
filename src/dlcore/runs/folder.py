"""Run folders, as Lightning's ``lightning_logs/version_N``: each ``dlcore train`` writes
``runs/<name>/version_<N>/`` with what it needs to be looked at and repeated::

    config.toml         the resolved configuration (dlcore train --config it repeats the run)
    environment.json    dlcore, Python, framework and hardware versions
    history.csv         one row per epoch
    metrics.json        the test metrics (and the confusion matrix) at the end
    checkpoints/        last.npz after every epoch, best.npz at the best monitored value
    *.png               the plots (dlcore plot RUN draws them again)

Example::

    run = RunFolder.create("runs", "fashion-mnist")   # runs/fashion-mnist/version_0
    run = RunFolder.open("runs/fashion-mnist")        # its newest version
"""

from __future__ import annotations

import contextlib
import csv
import json
import re
import shutil
from pathlib import Path
from typing import Any

from ..contract.errors import ConfigError
from ..io.checkpoint import is_checkpoint
from ..io.files import atomic_path

CONFIG = "config.toml"
VERSION = re.compile(r"version_(\d+)$")


class RunFolder:
    """One run's folder (``path``); :meth:`create` makes the next version, :meth:`open` finds
    one from a folder or a checkpoint in it.

    Example::

        run = RunFolder.open("runs/fashion-mnist/version_0")
        run.metrics()["accuracy"], run.history()[-1]["loss"], run.best_checkpoint
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.made: tuple[Path, ...] = ()  # the folders above it that create() made, innermost first

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r})"

    @classmethod
    def create(cls, root: str | Path, name: str) -> RunFolder:
        """A new folder ``root/name/version_N``, N one above the highest there (made with
        ``mkdir`` that fails if it exists, so two runs started together get two versions)."""
        if not name or "/" in name or name in (".", ".."):
            raise ConfigError(f"a run name is one folder name, got {name!r}")
        parent = Path(root).expanduser() / name
        made = tuple(p for p in (parent, parent.parent) if not p.exists())
        parent.mkdir(parents=True, exist_ok=True)
        while True:
            numbers = [int(m.group(1)) for p in parent.iterdir() if (m := VERSION.match(p.name))]
            path = parent / f"version_{max(numbers, default=-1) + 1}"
            try:
                path.mkdir()
            except FileExistsError:
                continue
            except FileNotFoundError:  # a run that failed at its start removed the empty parent just now
                parent.mkdir(parents=True, exist_ok=True)
                continue
            (path / "checkpoints").mkdir()
            run = cls(path)
            run.made = made
            return run

    @classmethod
    def open(cls, where: str | Path) -> RunFolder:
        """The run at ``where``: a run folder, the folder of a run's versions (its newest), or
        a file inside a run (a checkpoint of ``checkpoints/``)."""
        path = Path(where).expanduser()
        if path.is_file():
            path = path.parent.parent if path.parent.name == "checkpoints" else path.parent
        if path.is_dir() and not (path / CONFIG).is_file():
            versions = sorted((int(m.group(1)), p) for p in path.iterdir() if (m := VERSION.match(p.name)) and
                              (p / CONFIG).is_file())
            if versions:
                path = versions[-1][1]
        if not (path / CONFIG).is_file():
            raise ConfigError(f"{where}: not a run folder (no {CONFIG}); give runs/NAME/version_N as dlcore train "
                              "printed it, or a checkpoint file")
        return cls(path)

    @staticmethod
    def is_run(where: str | Path) -> bool:
        """Whether ``where`` is a run folder or the folder of a run's versions (not a checkpoint)."""
        path = Path(where).expanduser()
        return path.is_dir() and ((path / CONFIG).is_file() or any(
            VERSION.match(p.name) and (p / CONFIG).is_file() for p in path.iterdir()))

    @property
    def config_path(self) -> Path:
        return self.path / CONFIG

    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    @property
    def last_checkpoint(self) -> Path:
        """``checkpoints/last.npz``: the model as training left it."""
        return self.checkpoints / "last.npz"

    @property
    def reported_checkpoint(self) -> Path:
        """The checkpoint whose test metrics metrics.json holds (its ``"checkpoint"``: best.npz
        after early stopping, else last.npz), which ``dlcore evaluate``, ``predict`` and ``plot``
        use for a run folder."""
        name = self.metrics().get("checkpoint", "last.npz") if (self.path / "metrics.json").is_file() else "last.npz"
        return self.checkpoints / Path(str(name)).name

    @property
    def best_checkpoint(self) -> Path:
        """``checkpoints/best.npz`` where training wrote it, else ``checkpoints/last.npz``."""
        best = self.checkpoints / "best.npz"
        return best if is_checkpoint(best) else self.checkpoints / "last.npz"

    def discard_unfinished(self) -> bool:
        """Remove the run folder where no epoch finished (no ``checkpoints/last.npz``), and the
        folders above it that :meth:`create` made where that leaves them empty, so that a run
        that failed at its start leaves nothing behind; whether it was removed."""
        if self.last_checkpoint.is_file():
            return False
        shutil.rmtree(self.path, ignore_errors=True)
        for parent in (self.path.parent, *self.made):
            with contextlib.suppress(OSError):
                parent.rmdir()  # only where empty
        return True

    def write_text(self, name: str, text: str) -> Path:
        """Write ``name`` in the run folder atomically."""
        path = self.path / name
        with atomic_path(path) as tmp:
            tmp.write_text(text, encoding="utf-8")
        return path

    def write_json(self, name: str, value: Any) -> Path:
        """Write ``name`` as indented JSON, each list of numbers (a confusion matrix row) on one line."""
        text = json.dumps(value, indent=2, default=_plain)
        text = re.sub(r"\[\s+([-\d.e,\s]+?)\s+\]", lambda m: "[" + " ".join(m.group(1).split()) + "]", text)
        return self.write_text(name, text + "\n")

    def read_json(self, name: str) -> Any:
        path = self.path / name
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{path}: not written (the run ended before it); train again or resume") from None
        except (OSError, ValueError) as err:
            raise ConfigError(f"{path}: cannot read it ({err})") from None

    def write_history(self, records: list[dict[str, Any]]) -> Path:
        """``history.csv``: one row per epoch, every key any epoch recorded."""
        keys = list(dict.fromkeys(k for record in records for k in record))
        path = self.path / "history.csv"
        with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(keys)
            writer.writerows([record.get(k, "") for k in keys] for record in records)
        return path

    def history(self) -> list[dict[str, Any]]:
        """The rows of ``history.csv`` as numbers ([] before the first epoch)."""
        path = self.path / "history.csv"
        if not path.is_file():
            return []
        with open(path, newline="") as f:
            return [{k: _number(v) for k, v in row.items() if v != ""} for row in csv.DictReader(f)]

    def metrics(self) -> dict[str, Any]:
        """The test metrics of ``metrics.json``."""
        found: dict[str, Any] = self.read_json("metrics.json")
        return found


def _number(text: str) -> float | int | str:
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


def _plain(value: Any) -> Any:
    """numpy values as plain JSON."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"cannot write a {type(value).__name__} as JSON")


__all__ = ["CONFIG", "RunFolder"]
