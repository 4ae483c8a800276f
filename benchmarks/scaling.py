"""Data-parallel speed-up on this machine: ``python -m benchmarks.scaling [--backends ...]``.

For each backend and global batch size, ``dlcore train fashion-mnist`` (MLP, Adam) runs in one
process (all CPU threads) and as ``--workers N`` (one thread each), alternately, ``--repeats``
times each, so that machine noise hits both alike. It reports the median seconds per epoch
(epochs after the first), the speed-up (one process's time / the group's) and the test
accuracy of each, and writes ``scaling.json`` to --out. Needs Fashion-MNIST in dlcore's cache
(``dlcore train fashion-mnist`` once downloads it).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
from pathlib import Path

EPOCH = re.compile(r"^epoch (\d+)/\d+: .*\(([\d.]+) s\)$")


def run(backend: str, batch: int, workers: int, epochs: int) -> tuple[float, float]:
    """Median seconds per epoch after the first, and the test accuracy, of one training run."""
    command = [sys.executable, "-m", "dlcore", "train", "fashion-mnist", "--backend", backend, "--optimizer", "adam",
               "--epochs", str(epochs), "--batch-size", str(batch), "--seed", "0", "--no-progress", "--no-download",
               "--json", "--workers", str(workers)]
    out = subprocess.run(command, capture_output=True, text=True, timeout=1800)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{out.stderr[-2000:]}")
    lines = out.stdout.strip().splitlines()  # the results; the epochs' lines are on stderr
    seconds = [float(m.group(2)) for m in map(EPOCH.match, out.stderr.splitlines()) if m and int(m.group(1)) > 1]
    return statistics.median(seconds), json.loads(lines[-1])["accuracy"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scaling", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", nargs="+", default=["torch", "tensorflow"])
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=[64, 512])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=3, help="per run; the first is not timed (default 3)")
    parser.add_argument("--repeats", type=int, default=2, help="runs of each, alternating (default 2)")
    parser.add_argument("--out", default="results")
    args = parser.parse_args(argv)
    rows = []
    print(f"{'backend':<11} {'batch':>5} {'1 process s/epoch':>17} {f'{args.workers} workers s/epoch':>17} "
          f"{'speed-up':>8} {'accuracy 1 / N':>15}", flush=True)
    for backend in args.backends:
        for batch in args.batch_sizes:
            times: dict[int, list[float]] = {1: [], args.workers: []}
            accuracy: dict[int, float] = {}
            for _ in range(args.repeats):
                for workers in (1, args.workers):
                    seconds, accuracy[workers] = run(backend, batch, workers, args.epochs)
                    times[workers].append(seconds)
            alone, group = statistics.median(times[1]), statistics.median(times[args.workers])
            rows.append({"backend": backend, "batch_size": batch, "workers": args.workers, "alone_s": alone,
                         "group_s": group, "speedup": alone / group, "accuracy_alone": accuracy[1],
                         "accuracy_group": accuracy[args.workers]})
            print(f"{backend:<11} {batch:>5} {alone:>17.2f} {group:>17.2f} {alone / group:>8.2f} "
                  f"{accuracy[1]:>7.2%} {accuracy[args.workers]:>7.2%}", flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "scaling.json").write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
