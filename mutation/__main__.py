"""Apply each curated mutation (mutation/curated.py) to a scratch copy of the repository, run
the tests it names, and report which mutations no test caught (the survivors).

    .venv/bin/python -m mutation [--only NAME ...] [--out mutation/results.md]

Exit status 0 when every mutation was caught, 1 when some survived, 2 when one could not be
applied or its tests could not run.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from .curated import MUTATIONS, Mutation

ROOT = Path(__file__).resolve().parent.parent
COPIED = ("src", "tests", "pyproject.toml", "plugins/dlcore-jax/src")


def scratch_copy() -> Path:
    """The sources and tests in a temporary folder, for breaking one line at a time."""
    target = Path(tempfile.mkdtemp(prefix="dlcore-mutation-"))
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(source, target / name)
    return target


def run_tests(copy: Path, mutation: Mutation, timeout: float) -> tuple[str, str, float]:
    """(verdict, detail, seconds): "caught" when a test failed, "survived" when all passed."""
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *mutation.tests]
    if mutation.select:
        command += ["-k", mutation.select]
    # The copy's packages first, for the tests and for every process they start.
    sources = [str(copy / "src"), str(copy / "plugins" / "dlcore-jax" / "src")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([*sources, os.environ.get("PYTHONPATH", "")])}
    start = time.perf_counter()
    try:
        out = subprocess.run(command, cwd=copy, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "caught", f"the tests ran past {timeout:.0f} s", time.perf_counter() - start
    seconds = time.perf_counter() - start
    if out.returncode == 0:
        return "survived", "all selected tests passed", seconds
    if out.returncode == 1:
        failed = re.search(r"^FAILED (\S+)", out.stdout, re.MULTILINE)
        return "caught", failed.group(1) if failed else "a test failed", seconds
    tail = (out.stdout + out.stderr).strip().splitlines()[-1:] or ["no output"]
    return "error", f"pytest exit status {out.returncode}: {tail[0]}", seconds


def apply(copy: Path, mutation: Mutation) -> str:
    """Write the mutated file into the copy; return the original text to restore."""
    path = copy / mutation.path
    text = path.read_text()
    if text.count(mutation.old) != 1:
        raise SystemExit(f"mutation {mutation.name}: {mutation.old!r} occurs {text.count(mutation.old)} times "
                         f"in {mutation.path}, not once; update mutation/curated.py")
    path.write_text(text.replace(mutation.old, mutation.new))
    return text


def report(rows: list[tuple[Mutation, str, str, float]]) -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
               platform.processor() or platform.machine()) if Path("/proc/cpuinfo").exists() else platform.machine()
    survivors = [m.name for m, verdict, _, _ in rows if verdict != "caught"]
    lines = [
        "# Curated mutations: last result",
        "",
        f"`python -m mutation`, {date.today().isoformat()}, {cpu}, Python {platform.python_version()}: "
        f"{len(rows) - len(survivors)} of {len(rows)} caught"
        + (f"; survivors: {', '.join(survivors)}." if survivors else "; no survivors."),
        "",
        "| mutation | file | claim | verdict | first failing test | s |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for m, verdict, detail, seconds in rows:
        lines.append(f"| {m.name} | {m.path} | {m.claim} | {verdict} | {detail} | {seconds:.0f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mutation", description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these mutations")
    parser.add_argument("--out", type=Path, default=None, help="write the markdown report here")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per mutation's tests (default 900)")
    args = parser.parse_args(argv)
    chosen = [m for m in MUTATIONS if not args.only or m.name in args.only]
    unknown = set(args.only or ()) - {m.name for m in MUTATIONS}
    if unknown:
        parser.error(f"unknown mutations: {', '.join(sorted(unknown))}")
    copy = scratch_copy()
    rows = []
    try:
        for mutation in chosen:
            original = apply(copy, mutation)
            try:
                verdict, detail, seconds = run_tests(copy, mutation, args.timeout)
            finally:
                (copy / mutation.path).write_text(original)
            rows.append((mutation, verdict, detail, seconds))
            print(f"{verdict:<9} {mutation.name:<36} {seconds:5.0f} s  {detail}", flush=True)
    finally:
        shutil.rmtree(copy, ignore_errors=True)
    text = report(rows)
    if args.out:
        args.out.write_text(text)
    print(text.splitlines()[2])
    verdicts = {verdict for _, verdict, _, _ in rows}
    return 2 if "error" in verdicts else 1 if "survived" in verdicts else 0


if __name__ == "__main__":
    sys.exit(main())
