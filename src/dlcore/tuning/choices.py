"""Kernel choices measured on the user's machine, once, cached, and overridable.

Where a backend has interchangeable kernels for the same computation and which one is faster
depends on the CPU (torch: oneDNN's or MKL's matrix products; oneDNN was the faster one on
this project's AMD EPYC, MKL on an Intel Xeon), it asks :func:`choose`. The first call on a machine times
the candidates side by side and picks the fastest; the plain one (the kernel a hand-written
loop would use) is kept unless another beats it by more than ``margin``, so a choice never
makes dlcore slower than the native loop by more than the measurement's noise. The choice is
cached in ``<cache dir>/kernels.json`` (``$DLCORE_CACHE_DIR``, else ``~/.cache/dlcore``) under
the CPU's model, the CPU count and the framework's version and thread count, so a new CPU,
framework release or thread setting measures again; delete the file to measure again anyway.

Override with ``DLCORE_KERNELS``, a comma-separated list of ``name=kernel``, for example
``DLCORE_KERNELS=torch.linear=aten``. :func:`chosen` lists what this process uses (``dlcore
info`` and the benchmark print it).
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from ..contract.errors import ConfigError
from ..io.files import atomic_path, cache_dir

ENV_KERNELS = "DLCORE_KERNELS"
CACHE_FILE = "kernels.json"

__all__ = ["ENV_KERNELS", "Choice", "choose", "chosen", "machine", "measure", "overrides"]


@dataclass(frozen=True)
class Choice:
    """One kernel choice: ``kernel`` chosen for ``name``, and how (``source``: "override",
    "cache" or "measured"), with the best measured seconds per candidate (empty for an override)."""

    name: str
    kernel: str
    source: str
    seconds: Mapping[str, float] = field(default_factory=dict)

    def __str__(self) -> str:
        timings = ", ".join(f"{k} {s * 1e3:.2f} ms" for k, s in sorted(self.seconds.items(), key=lambda kv: kv[1]))
        return f"{self.name}={self.kernel} ({self.source}{': ' + timings if timings else ''})"


_CHOSEN: dict[str, Choice] = {}


def machine() -> str:
    """The CPU's model name and this machine's CPU count, the machine part of a cache key."""
    model = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    except OSError:
        pass
    return f"{model or platform.processor() or platform.machine()}, {os.cpu_count()} CPUs"


def overrides() -> dict[str, str]:
    """``$DLCORE_KERNELS`` as ``{name: kernel}``; ConfigError where it is malformed."""
    pairs = {}
    for item in filter(None, (part.strip() for part in os.environ.get(ENV_KERNELS, "").split(","))):
        name, sep, kernel = item.partition("=")
        if not sep or not name.strip() or not kernel.strip():
            raise ConfigError(f"{ENV_KERNELS}={os.environ[ENV_KERNELS]!r}: {item!r} is not name=kernel; "
                              f"write for example {ENV_KERNELS}=torch.linear=aten")
        pairs[name.strip()] = kernel.strip()
    return pairs


def chosen() -> dict[str, Choice]:
    """The kernel choices this process has made so far, by name."""
    return dict(_CHOSEN)


def _read(path: Path) -> dict[str, Any]:
    """The cache's entries; an unreadable or damaged cache counts as empty (it is rewritten)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        entries = data["entries"]
        return entries if isinstance(entries, dict) else {}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def _write(path: Path, key: str, entry: dict[str, Any]) -> None:
    """Add one entry to the cache; where the cache cannot be written the choice still holds
    for this process."""
    entries = _read(path)
    entries[key] = entry
    try:
        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps({"format": 1, "entries": entries}, indent=1, sort_keys=True), encoding="utf-8")
    except OSError:
        pass


def measure(candidates: Mapping[str, Callable[[], object]], rounds: int = 7) -> dict[str, float]:
    """Each candidate's fastest of ``rounds`` timed calls, after one warm-up call each; the
    candidates alternate within each round so that machine noise hits all alike."""
    best = {name: float("inf") for name in candidates}
    for run in candidates.values():
        run()
    for _ in range(rounds):
        for name, run in candidates.items():
            start = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


_measuring = True


def hold_measurements() -> None:
    """For a process of a group (a strategy's): choose from the cache or take the plain kernel,
    never measure, so that the processes, which would time each other, choose alike."""
    global _measuring
    _measuring = False


def choose(name: str, candidates: Mapping[str, Callable[[], object]], *, plain: str,
           versions: Mapping[str, str], margin: float = 0.05) -> Choice:
    """The kernel for ``name``: ``$DLCORE_KERNELS``'s if it names one, else the cached choice
    for this machine and ``versions``, else the fastest candidate as measured now (``plain``
    unless another is more than ``margin`` faster), then cached.

    ``candidates`` maps each kernel to a function running a representative piece of work with it.
    """
    if plain not in candidates:
        raise ValueError(f"the plain kernel {plain!r} is not among the candidates {sorted(candidates)}")
    wanted = overrides().get(name)
    if wanted is not None:
        if wanted not in candidates:
            raise ConfigError(f"{ENV_KERNELS} asks {name}={wanted}, but {name} has the kernels "
                              f"{', '.join(sorted(candidates))}; pick one of them or leave {name} out to measure")
        choice = Choice(name, wanted, "override")
    else:
        path = cache_dir() / CACHE_FILE
        key = json.dumps({"name": name, "machine": machine(), "versions": dict(sorted(versions.items()))},
                         sort_keys=True)
        entry = _read(path).get(key)
        if isinstance(entry, dict) and entry.get("kernel") in candidates:
            choice = Choice(name, entry["kernel"], "cache", dict(entry.get("seconds") or {}))
        elif not _measuring:
            choice = Choice(name, plain, "plain (a process of a group measures nothing)")
        else:
            seconds = measure(candidates)
            fastest = min(seconds, key=seconds.__getitem__)
            kernel = fastest if seconds[fastest] < seconds[plain] * (1 - margin) else plain
            choice = Choice(name, kernel, "measured", seconds)
            _write(path, key, {"kernel": kernel, "seconds": seconds,
                               "measured": datetime.date.today().isoformat()})
    _CHOSEN[name] = choice
    return choice


__all__ = ["CACHE_FILE", "ENV_KERNELS", "Choice", "choose", "chosen", "hold_measurements", "machine", "measure",
           "overrides"]
