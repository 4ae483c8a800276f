"""Time to the first training step, in new processes: ``python -m benchmarks.startup``.

Each run is a fresh Python process that imports dlcore, selects the backend, reads the
workload's data, builds its model (for IMDB: GloVe restricted to the training reviews, and the
reviews encoded) and trains one batch, printing the seconds of each phase. Per (backend,
workload) the first run starts with an empty cache directory (nothing measured or tokenized
yet: "cold") and the later runs share it ("warm"), alternating over the backends so that
machine noise hits all alike. Targets (warm, median): torch <= 3 s and TensorFlow <= 6 s for
Fashion-MNIST; IMDB's warm start no more than 1 s after Fashion-MNIST's on the same backend.
Then, per backend, benchmarks/floors.py's start-up against the framework's own floor (``--pairs``
pairs of first steps, dlcore's and the framework's alone, and as many starts of the CLI).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from . import floors

RUN = r"""
import json, sys, time
start = time.perf_counter()
phases = {}
def phase(name):
    global start
    now = time.perf_counter(); phases[name] = now - start; start = now
from dlcore import Callback, Trainer, datasets, get_backend, models
phase("import dlcore")
backend, workload = sys.argv[1], sys.argv[2]
get_backend(backend)
phase("import the framework")
train, _ = datasets.load(workload, download=False)
phase("read the data")
spec = models.model_for(workload, train)
phase("build the model spec")
class FirstStep(Callback):
    def on_train_batch_end(self, trainer, model, batch, logs):
        trainer.stop_training = True
Trainer(backend, epochs=1, batch_size=64, device="cpu", progress=False).fit(spec, train, callbacks=[FirstStep()])
phase("data to the device and first step")
phases["at"] = time.time()
print(json.dumps(phases))
"""
FRAMEWORK = {"torch": "torch", "tensorflow": "tensorflow", "jax": "dlcore_jax"}


def run(backend: str, workload: str, cache: str) -> dict[str, float]:
    """One new process's phases, and the total from its start to the end of its first step
    (interpreter start-up included, its exit not)."""
    begin = time.time()
    out = subprocess.run([sys.executable, "-c", RUN, backend, workload], capture_output=True, text=True,
                         env={**os.environ, "DLCORE_CACHE_DIR": cache, "TF_CPP_MIN_LOG_LEVEL": "3"})
    if out.returncode != 0:
        raise SystemExit(f"{backend} {workload} failed:\n{out.stderr[-3000:]}")
    phases = json.loads(out.stdout.strip().splitlines()[-1])
    total = phases.pop("at") - begin
    return {**phases, "total": total}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.startup", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", nargs="+", default=["torch", "tensorflow", "jax"])
    parser.add_argument("--workloads", nargs="+", default=["fashion-mnist", "imdb"])
    parser.add_argument("--runs", type=int, default=4, help="processes per (backend, workload), the first cold")
    parser.add_argument("--pairs", type=int, default=3, help="first-step pairs (dlcore, floor), CLI starts per backend")
    args = parser.parse_args()
    backends = [b for b in args.backends if importlib.util.find_spec(FRAMEWORK[b])]
    pairs = [(b, w) for b in backends for w in args.workloads]
    results: dict[tuple[str, str], list[dict[str, float]]] = {pair: [] for pair in pairs}
    with tempfile.TemporaryDirectory(prefix="dlcore-startup-") as root:
        for _ in range(args.runs):
            for backend, workload in pairs:
                cache = os.path.join(root, f"{backend}-{workload}")
                results[backend, workload].append(run(backend, workload, cache))
    warm: dict[tuple[str, str], float] = {}
    for (backend, workload), runs in results.items():
        cold, rest = runs[0], runs[1:] or runs
        warm[backend, workload] = statistics.median(r["total"] for r in rest)
        phases = ", ".join(f"{name} {statistics.median(r[name] for r in rest):.2f}" for name in rest[0] if name != "total")
        print(f"{backend:<11} {workload:<14} cold {cold['total']:5.2f} s, warm {warm[backend, workload]:5.2f} s "
              f"(min {min(r['total'] for r in rest):.2f}, max {max(r['total'] for r in rest):.2f}, {len(rest)} runs; "
              f"{phases})", flush=True)
    print("\nstart-up against the framework's own floor (new processes):", flush=True)
    targets = floors.startup(backends, args.pairs)
    print("\ntargets:")
    for (backend, workload), seconds in warm.items():
        target = {"torch": 3.0, "tensorflow": 6.0}.get(backend) if workload == "fashion-mnist" else None
        if target:
            print(f"  time to first step, {backend} {workload} (warm): {seconds:.2f} s (target <= {target})")
        if workload == "imdb" and (backend, "fashion-mnist") in warm:
            gap = seconds - warm[backend, "fashion-mnist"]
            print(f"  IMDB's warm start after Fashion-MNIST's, {backend}: +{gap:.2f} s (target <= 1.0)")
    print("\n".join("  " + t for t in targets))


if __name__ == "__main__":
    main()
