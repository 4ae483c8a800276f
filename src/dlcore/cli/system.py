"""``dlcore devices``, ``backends``, ``info`` and ``env``: what is installed and
what a bug report needs. ``info`` and ``backends`` import no framework, ``devices`` only on
its first run on a machine (the answer is kept in dlcore's cache until a framework, the GPU
driver or ``CUDA_VISIBLE_DEVICES`` changes); ``env`` imports every installed framework."""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import platform
import sys
from importlib import util
from typing import Any, Callable

from ..contract.errors import DlcoreError
from ..io.files import atomic_path, cache_dir
from ..plugins.backends import backend_infos, get_backend, installed_backend_names, select_backend_name
from ..plugins.manager import disabled_plugins, plugin_distribution, registry
from ..tuning.cpuload import ENV_ADAPT_THREADS, repeatability
from ..version import DISTRIBUTION, __version__, installed_version


def backend_help() -> str:
    """The backends to choose from: the installed ones, then the others with what installs them."""
    installed = installed_backend_names()
    missing = [f"{i.name} (not installed: {i.install_hint})" for i in backend_infos() if i.name not in installed]
    return (f"{', '.join(installed) or 'none installed'}{'; ' + '; '.join(missing) if missing else ''} "
            "(default: $DLCORE_BACKEND, else the first installed)")


def add_parsers(command: Callable[[str, str, str], argparse.ArgumentParser]) -> None:
    """The parsers of this module's commands."""
    devices = command("devices", "list the devices of the installed backends ('*': what device=auto picks)",
                      "  dlcore devices\n  dlcore devices --backend torch --refresh")
    devices.add_argument("--backend", default=None, help="only this backend: " + backend_help())
    devices.add_argument("--refresh", action="store_true", help="ask the frameworks again (the answer is cached)")
    devices.set_defaults(run=_devices)
    command("backends", "list registered backends and whether they are installed",
            "  dlcore backends").set_defaults(run=_backends)
    info = command("info", "versions of dlcore, Python, the frameworks and plugins, without importing a framework",
                   "  dlcore info\n  dlcore info --json")
    info.add_argument("--json", action="store_true", help="one JSON object")
    info.set_defaults(run=_info)
    env = command("env", "everything a bug report needs: versions, each backend's facts and devices (imports "
                  "every installed framework)", "  dlcore env > env.txt\n  dlcore env --json")
    env.add_argument("--json", action="store_true", help="one JSON object")
    env.set_defaults(run=_env)


def _fingerprint(names: list[str]) -> str:
    """What the device list depends on: each framework's installed files, the GPU driver and
    devices, CUDA_VISIBLE_DEVICES (a change of any probes the frameworks again)."""
    parts: list[str] = [sys.executable, os.environ.get("CUDA_VISIBLE_DEVICES", "-"), *sorted(glob.glob("/dev/nvidia*"))]
    for path in ("/proc/driver/nvidia/version",):
        try:
            with open(path) as f:
                parts.append(f.read())
        except OSError:
            parts.append("-")
    for info in backend_infos():
        if info.name in names:
            for module in info.requires:
                spec = util.find_spec(module)
                origin = spec.origin if spec and spec.origin else "-"
                parts.append(f"{module}:{origin}:{os.stat(origin).st_mtime if origin != '-' else 0}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def device_table(names: list[str], refresh: bool = False) -> tuple[dict[str, list[list[str]]], bool]:
    """{backend: [[device, kind, '*' if auto picks it, description], ...]} and whether it came
    from the cache."""
    path = cache_dir() / "devices.json"
    key = _fingerprint(names)
    try:
        cached = json.loads(path.read_text())
        if not refresh and cached.get("key") == key and set(names) <= set(cached["backends"]):
            return {name: cached["backends"][name] for name in names}, True
    except (OSError, ValueError, KeyError, AttributeError):
        pass
    table: dict[str, list[list[str]]] = {}
    for name in names:
        backend = get_backend(name)
        best = backend.device("auto", registry().device_kinds)
        table[name] = [[d.name, d.kind, "*" if d == best else "", d.description] for d in backend.devices()]
    try:
        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps({"key": key, "backends": table}))
    except OSError:
        pass  # a read-only cache: ask again next time
    return table, False


def _devices(args: argparse.Namespace) -> int:
    names = [select_backend_name(args.backend)] if args.backend else installed_backend_names()
    table, cached = device_table(names, args.refresh)
    print(f"{'backend':<12} {'device':<8} {'kind':<5} {'auto':<5} description")
    for name, rows in table.items():
        for device, kind, auto, description in rows:
            print(f"{name:<12} {device:<8} {kind:<5} {auto:<5} {description}")
    if cached and not args.quiet:
        print("(as found before; dlcore devices --refresh asks the frameworks again)", file=sys.stderr)
    return 0


def _backends(args: argparse.Namespace) -> int:
    try:
        default = select_backend_name()
    except DlcoreError:
        default = None
    print(f"{'backend':<12} {'installed':<10} {'default':<8} {'install':<28} aliases / description")
    for info in backend_infos():
        installed = "yes" if info.available else "no"
        aliases = ", ".join(info.aliases)
        print(f"{info.name:<12} {installed:<10} {'*' if info.name == default else '':<8} {info.install_hint:<28} "
              f"{aliases}: {info.description}")
    for name, why in registry().broken.items():
        print(f"plugin {name} left out: {why}")
    return 0


def summary() -> dict[str, Any]:
    """Versions of dlcore, Python, its dependencies, the plugins and each backend's framework
    (from the installed distributions: no framework is imported), and the devices found before."""
    plugins = {name: plugin_distribution(name) for name in registry().plugins if name != "dlcore"}
    report: dict[str, Any] = {
        "dlcore": __version__, "distribution": DISTRIBUTION,
        "python": platform.python_version(), "platform": platform.platform(), "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "packages": {dist: installed_version(dist) for dist in ("numpy", "pandas", "pluggy", "pillow", "tqdm", "matplotlib")},
        "plugins": plugins, "disabled_plugins": sorted(disabled_plugins()), "broken_plugins": registry().broken,
        "repeatability": repeatability(), "backends": {},
    }
    installed = installed_backend_names()
    try:
        known = json.loads((cache_dir() / "devices.json").read_text())
        devices = known["backends"] if known.get("key") == _fingerprint(installed) else {}
    except (OSError, ValueError, KeyError):
        devices = {}
    for info in backend_infos():
        entry: dict[str, Any] = {"installed": info.available, "install": info.install_hint}
        if info.available:
            entry["versions"] = {module: installed_version(module) for module in info.requires}
            entry["devices"] = [f"{row[0]} ({row[3]})" for row in devices.get(info.name, [])] or None
        report["backends"][info.name] = entry
    return report


def environment() -> dict[str, Any]:
    """What a bug report needs: :func:`summary`, and each installed backend's framework
    versions, facts and devices as the framework reports them (imports every framework).

    Example::

        from dlcore.cli.system import environment
        print(environment()["backends"]["torch"]["versions"])
    """
    report = summary()
    for name in installed_backend_names():
        backend = get_backend(name)
        report["backends"][name].update(versions=backend.versions(), facts=backend.info(),
                                        devices=[f"{d.name} ({d.description})" for d in backend.devices()])
    return report


def _print(report: dict[str, Any]) -> None:
    print(f"dlcore version: {report['dlcore']} (distribution {report['distribution']})")
    print(f"Python version: {report['python']} ({report['machine']}, {report['platform']}, {report['cpus']} CPUs)")
    for dist, version in report["packages"].items():
        print(f"{dist} version: {version or 'not installed'}")
    print("plugins: " + (", ".join(f"{name} ({dist})" for name, dist in report["plugins"].items()) or "none"))
    repeat = report["repeatability"]
    print(f"threads follow the load: {'yes' if repeat['threads_follow_load'] else 'no'} "
          f"({ENV_ADAPT_THREADS}={repeat[ENV_ADAPT_THREADS]}; a seeded run "
          f"{'repeats whatever the load' if repeat['repeats_whatever_the_load'] else 'repeats whatever the load with ' + ENV_ADAPT_THREADS + '=0'})")
    for name, entry in report["backends"].items():
        if not entry["installed"]:
            print(f"{name}: not installed ({entry['install']})")
            continue
        for package, version in entry["versions"].items():
            print(f"{package} version: {version}")
        for fact, value in entry.get("facts", {}).items():
            print(f"{name} {fact}: {value}")
        if entry["devices"] is None:
            print(f"{name} GPU: not probed yet (dlcore devices lists them; dlcore env asks the framework)")
            continue
        gpus = [d for d in entry["devices"] if not d.lower().startswith("cpu")]
        print(f"{name} GPU is {'available: ' + ', '.join(gpus) if gpus else 'NOT AVAILABLE'}")


def _info(args: argparse.Namespace) -> int:
    report = summary()
    print(json.dumps(report)) if args.json else _print(report)
    return 0


def _env(args: argparse.Namespace) -> int:
    report = environment()
    print(json.dumps(report)) if args.json else _print(report)
    return 0


__all__ = ["add_parsers", "backend_help", "device_table", "environment", "summary"]
