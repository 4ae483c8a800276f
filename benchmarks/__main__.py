"""dlcore against hand-written native code, side by side: ``python -m benchmarks [--quick] [--out DIR]``.

For each backend and workload (Fashion-MNIST MLP with SGD and with Adam, IMDB classifier with
Adam, "cnn": Fashion-MNIST images through ``models.cnn()`` with Adam) one process trains every
pipeline on the same in-memory data, alternating their epochs (dlcore's epoch, then one of each
other pipeline) so that machine noise hits all alike:

- dlcore: the Trainer (its epoch time is the one its History records);
- native: the best simple hand-written loop (torch: preloaded tensors, index batches;
  TensorFlow: a tf.function step gathering its batch from preloaded tensors; JAX: a jitted
  optax step; the CNN as each framework's own layers, in its layout: torch NCHW, else NHWC);
- tutorial (torch, Fashion-MNIST): torchvision FashionMNIST + ToTensor + DataLoader(batch_size=64);
- keras-fit (Fashion-MNIST, MLP and CNN): Keras 3 ``model.fit`` on the same framework (the
  worker starts with KERAS_BACKEND set to its backend), where Keras 3 is installed;
- "dlcore, one busy process" and "native, one busy process" (Fashion-MNIST): the same epochs
  beside a CPU-bound process the benchmark starts and stops around each of them;
- lightning-fit (torch, Fashion-MNIST): a Lightning ``Trainer`` fitting the same MLP from a
  DataLoader over the in-memory tensors, where Lightning is installed;
- gemm-bound (Fashion-MNIST): only the matrix products of each step, a lower bound, through
  the kernels dlcore uses (torch: also "gemm-bound-torch.mm", through nn.Linear's).

It prints the kernels chosen for this machine (dlcore.tuning) and reports the median seconds
per epoch after one warm-up epoch, samples per second, the first (warm-up, tracing included)
epoch, peak resident memory (full mode: one fresh process per pipeline; --quick: the shared
process), and the ratio to the native loop; and writes ``results.json`` and ``results.md`` to
--out. --quick uses 6000 images / 3000 reviews / 1000 CNN images and two epochs, and finishes
in about two minutes; --samples sets the training samples of every workload. A backend that
cannot build the CNN's spec yet (no "sequential" model kernel) has its CNN rows skipped, with a note.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

START = time.perf_counter()
PEERS = {"keras-fit": "Keras 3 fit", "lightning-fit": "Lightning Trainer.fit"}  # other libraries' training loops
FRAMEWORK = {"torch": "torch", "tensorflow": "tensorflow", "jax": "dlcore_jax"}  # jax: the plugin's package


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed(fn) -> float:
    """Seconds ``fn()`` takes, or the seconds it returns where it times itself."""
    start = time.perf_counter()
    result = fn()
    return result if isinstance(result, float) else time.perf_counter() - start


def under_load(epoch):
    """``epoch`` run beside one busy process (a CPU-bound loop the benchmark starts before and
    stops after it); returns the epoch's seconds. A second's pause after it lets backends that
    watch the load see the CPUs free again before the next pipeline's epoch."""
    def run() -> float:
        busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        try:
            time.sleep(0.3)  # until it spins
            seconds = _timed(epoch)
        finally:
            busy.kill()
            busy.wait()
        time.sleep(1.0)
        return seconds
    return run


def _load(config):
    """Data, dlcore spec and the other pipelines' factories for one configuration."""
    from dlcore import models

    from . import pipelines as p

    backend, workload, opt, lr = config["backend"], config["workload"], config["optimizer"], config["lr"]
    bs, samples = config["batch_size"], config["samples"]
    if workload == "cnn":  # Fashion-MNIST images through models.cnn(); each pipeline reshapes them to its layout
        x, y, source = p.fashion_data(samples)
        native = {"torch": p.torch_native_cnn, "tensorflow": p.tf_native_cnn, "jax": p.jax_native_cnn}[backend]
        others = {"native": lambda: native(x, y, opt, lr, bs)}
        if p.has_keras_3():
            others["keras-fit"] = lambda: p.keras_fit_cnn(x, y, opt, lr, bs)
        return x, y, models.cnn(), others, source
    if workload == "imdb":
        x, y, emb, ids, splits, source = p.imdb_data(samples)
        native = {"torch": p.torch_native_imdb, "tensorflow": p.tf_native_imdb, "jax": p.jax_native_imdb}[backend]
        others = {"native": lambda: native(emb, ids, splits, y, opt, lr, bs)}
        return x, y, models.text_classifier(emb), others, source
    x, y, source = p.fashion_data(samples)
    if backend == "torch":
        others = {"native": lambda: p.torch_native(x, y, opt, lr, bs),
                  "tutorial": lambda: p.torch_tutorial(samples, opt, lr, bs),
                  "gemm-bound": lambda: p.torch_gemm_bound(len(x), bs),
                  "gemm-bound-torch.mm": lambda: p.torch_gemm_bound(len(x), bs, kernels="torch.mm")}
        if p.has_lightning():  # the peer: a Lightning Trainer
            others["lightning-fit"] = lambda: p.lightning_fit(x, y, opt, lr, bs)
    elif backend == "jax":
        others = {"native": lambda: p.jax_native(x, y, opt, lr, bs),
                  "gemm-bound": lambda: p.jax_gemm_bound(len(x), bs)}
    else:
        others = {"native": lambda: p.tf_native(x, y, opt, lr, bs),
                  "gemm-bound": lambda: p.tf_gemm_bound(len(x), bs)}
    if p.has_keras_3():  # the peer: Keras 3 on the same framework (_spawn sets KERAS_BACKEND)
        others["keras-fit"] = lambda: p.keras_fit(x, y, opt, lr, bs)
    if source != "Fashion-MNIST":
        others.pop("tutorial", None)  # torchvision needs the real files
    others["dlcore, no callback"] = lambda: _dlcore_epochs(config, x, y, batch_hook=False)
    others["dlcore, a batch callback"] = lambda: _dlcore_epochs(config, x, y, batch_hook=True)
    others["dlcore, one busy process"] = lambda: under_load(_dlcore_epochs(config, x, y, batch_hook=False))
    native = others["native"]
    others["native, one busy process"] = lambda: under_load(native())
    return x, y, models.mlp(784, [512, 512], 10), others, source


def _dlcore_epochs(config, x, y, batch_hook: bool):
    """A function running one more dlcore epoch of its own model: without callbacks, or with a
    callback that overrides a batch hook (one batch per backend call, a host sync per batch)."""
    from dlcore import Callback, models

    class PerBatch(Callback):
        def on_train_batch_end(self, trainer, model, batch, logs):
            pass

    trainer, spec = _trainer(config, 1), models.mlp(784, [512, 512], 10)
    callbacks = [PerBatch()] if batch_hook else []
    return lambda: trainer.fit(spec, (x, y), callbacks=callbacks)


def _trainer(config, epochs):
    from dlcore import Trainer

    return Trainer(backend=config["backend"], epochs=epochs, batch_size=config["batch_size"],
                   optimizer=config["optimizer"], lr=config["lr"], seed=0, device="cpu", progress=False)


def worker_timing(config) -> dict:
    """All pipelines of one configuration, alternating epochs inside one dlcore fit."""
    from dlcore import Callback, ConfigError, get_backend, tuning

    get_backend(config["backend"])  # framework imports (torch first) outside the timings
    x, y, spec, factories, source = _load(config)
    epochs = {name: factory() for name, factory in factories.items()}
    times: dict[str, list[float]] = {name: [] for name in epochs}

    class Alternate(Callback):
        def on_epoch_end(self, trainer, model, epoch, logs):
            for name, run in epochs.items():
                times[name].append(_timed(run))

    try:
        history = _trainer(config, config["repeats"] + 1).fit(spec, (x, y), callbacks=[Alternate()])
    except ConfigError as err:  # a backend without the spec's kernels yet (the CNN on a new backend)
        if "has no implementation of the" not in str(err):
            raise
        return {"skipped": str(err)}
    times["dlcore"] = history["seconds"]
    kernels = [str(choice) for choice in tuning.chosen().values()]
    return {"source": source, "samples": len(x), "peak_rss_mb": peak_rss_mb(), "times": times, "kernels": kernels}


def worker_memory(config) -> dict:
    """One pipeline in a fresh process: baseline memory, one epoch, peak memory."""
    from dlcore import get_backend

    get_backend(config["backend"])
    baseline = peak_rss_mb()
    x, y, spec, factories, _ = _load(config)
    result = {"baseline_rss_mb": baseline, "dataset_mb": (x.nbytes + y.nbytes) / 2**20 if x.dtype != object else None}
    if config["pipeline"] == "dlcore":
        _trainer(config, 1).fit(spec, (x[: config["batch_size"]], y[: config["batch_size"]]))
        result["first_step_seconds"] = time.perf_counter() - START
        _trainer(config, 1).fit(spec, (x, y))
    else:
        factories[config["pipeline"]]()()
    result["peak_rss_mb"] = peak_rss_mb()
    return result


def _spawn(config: dict) -> dict:
    out = subprocess.run([sys.executable, "-m", "benchmarks", "--worker", json.dumps(config)],
                         capture_output=True, text=True,
                         env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "KERAS_BACKEND": config["backend"]})
    if out.returncode != 0:
        raise SystemExit(f"benchmark worker failed for {config}:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _records(config: dict, timing: dict, warmups: int = 1) -> list[dict]:
    records = []
    for pipeline, seconds in timing["times"].items():
        timed = seconds[warmups:] if len(seconds) > warmups else seconds[-1:]
        steady = statistics.median(timed)
        records.append({
            "backend": config["backend"], "workload": config["workload"], "optimizer": config["optimizer"],
            "pipeline": pipeline, "samples": timing["samples"], "seconds_per_epoch": steady,
            "seconds_min": min(timed), "seconds_max": max(timed), "repeats": len(timed),
            "samples_per_second": timing["samples"] / steady, "first_epoch_seconds": seconds[0],
            "peak_rss_mb": timing["peak_rss_mb"], "peak_rss_scope": "shared process", "kernels": timing["kernels"],
        })
    native = next((r["seconds_per_epoch"] for r in records if r["pipeline"] == "native"), None)
    for r in records:
        r["ratio_to_native"] = r["seconds_per_epoch"] / native if native else None
    order = ["dlcore", "dlcore, no callback", "dlcore, a batch callback", "native", "dlcore, one busy process",
             "native, one busy process", "tutorial", "keras-fit", "lightning-fit",
             "gemm-bound", "gemm-bound-torch.mm"]
    return sorted(records, key=lambda r: order.index(r["pipeline"]))


def _markdown(records: list[dict], machine: str) -> str:
    kernels = sorted({k for r in records for k in r["kernels"]})
    lines = [f"Machine: {machine}", "", *(f"Kernel: {k}" for k in kernels), "",
             "| backend | workload | optimizer | pipeline | s/epoch | min - max (n) | samples/s | first epoch s | "
             "peak RSS MB | / native |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in records:
        ratio = f"{r['ratio_to_native']:.3f}" if r["ratio_to_native"] else "-"
        rss = f"{r['peak_rss_mb']:.0f}" if r["peak_rss_mb"] else "-"
        lines.append(f"| {r['backend']} | {r['workload']} | {r['optimizer']} | {r['pipeline']} | "
                     f"{r['seconds_per_epoch']:.3f} | {r['seconds_min']:.3f} - {r['seconds_max']:.3f} ({r['repeats']}) | "
                     f"{r['samples_per_second']:.0f} | "
                     f"{r['first_epoch_seconds']:.3f} | {rss} | {ratio} |")
    return "\n".join(lines) + "\n"


def _find(records, **keys):
    return next((r for r in records if all(r.get(k) == v for k, v in keys.items())), None)


def _ratio(label: str, a: dict, b: dict, target: float | None = None, at_least: bool = False) -> str:
    """``label: a / b`` of median epoch times, with the spread of the ratio over the repeats (a's
    fastest over b's slowest, a's slowest over b's fastest); flagged where the spread reaches
    across the target, so that noise alone could decide it."""
    ratio = a["seconds_per_epoch"] / b["seconds_per_epoch"]
    low, high = a["seconds_min"] / b["seconds_max"], a["seconds_max"] / b["seconds_min"]
    if at_least:  # a speed-up: b / a
        ratio, low, high = 1 / ratio, 1 / high, 1 / low
    text = f"{label}: {ratio:.3f} (spread {low:.3f} to {high:.3f}, {min(a['repeats'], b['repeats'])} repeats"
    if target is not None:
        text += f"; target {'>=' if at_least else '<='} {target}"
        if low <= target <= high:
            text += "; THE SPREAD OVERLAPS THE TARGET"
    return text + ")"


def _targets(records: list[dict]) -> list[str]:
    """The performance targets, each as a ratio measured in this run, with its spread."""
    lines = []
    for r in records:
        native = _find(records, backend=r["backend"], workload=r["workload"], optimizer=r["optimizer"], pipeline="native")
        if r["pipeline"] == "dlcore" and native:
            lines.append(_ratio(f"dlcore / native, {r['backend']} {r['workload']} {r['optimizer']}", r, native, 1.05))
    for r in records:
        bare = _find(records, backend=r["backend"], workload=r["workload"], optimizer=r["optimizer"],
                     pipeline="dlcore, no callback")
        if r["pipeline"] in ("dlcore", "dlcore, a batch callback") and bare:
            which = "an epoch-level callback (dlcore row)" if r["pipeline"] == "dlcore" else "a batch-level callback"
            lines.append(_ratio(f"dlcore epoch with {which} / without callbacks, {r['backend']} {r['workload']} "
                                f"{r['optimizer']}", r, bare))
    for r in records:
        busy = _find(records, backend=r["backend"], workload=r["workload"], optimizer=r["optimizer"],
                     pipeline="native, one busy process")
        if r["pipeline"] == "dlcore, one busy process" and busy:
            idle = _find(records, backend=r["backend"], workload=r["workload"], optimizer=r["optimizer"],
                         pipeline="dlcore, no callback")
            lines.append(_ratio(f"dlcore epoch beside one busy process / idle, {r['backend']} {r['optimizer']}",
                                r, idle, 2.0))
            lines.append(_ratio(f"dlcore / native, both beside one busy process, {r['backend']} {r['optimizer']}",
                                r, busy, 1.0))
    for r in records:
        for pipeline, name in PEERS.items():
            peer = _find(records, backend=r["backend"], workload=r["workload"], optimizer=r["optimizer"], pipeline=pipeline)
            if r["pipeline"] == "dlcore" and peer:
                lines.append(_ratio(f"dlcore / {name}, {r['backend']} {r['workload']} {r['optimizer']}", r, peer, 1.0))
    for opt in ("sgd", "adam"):
        ours = [r for r in records if (r["workload"], r["optimizer"], r["pipeline"]) == ("fashion-mnist", opt, "dlcore")]
        peers = [r for r in records if r["workload"] == "fashion-mnist" and r["optimizer"] == opt and r["pipeline"] in PEERS]
        if ours and peers:
            best, peer = (min(rs, key=lambda r: r["seconds_per_epoch"]) for rs in (ours, peers))
            lines.append(_ratio(f"dlcore's fastest backend ({best['backend']}) / the fastest peer "
                                f"({PEERS[peer['pipeline']]} on {peer['backend']}), MLP {opt}", best, peer, 1.0))
    for opt in ("sgd", "adam"):
        torch_r = _find(records, backend="torch", workload="fashion-mnist", optimizer=opt, pipeline="dlcore")
        tf_r = _find(records, backend="tensorflow", workload="fashion-mnist", optimizer=opt, pipeline="dlcore")
        if torch_r and tf_r:  # throughput: torch's time over TensorFlow's
            lines.append(_ratio(f"tensorflow / torch throughput, MLP {opt}", tf_r, torch_r, 0.9, at_least=True))
        tutorial = _find(records, backend="torch", workload="fashion-mnist", optimizer=opt, pipeline="tutorial")
        if torch_r and tutorial:
            lines.append(_ratio(f"dlcore speed-up over the tutorial's DataLoader pipeline, {opt}", torch_r, tutorial,
                                2.5, at_least=True))
        for backend in ("torch", "tensorflow", "jax"):
            d = _find(records, backend=backend, workload="fashion-mnist", optimizer=opt, pipeline="dlcore")
            g = _find(records, backend=backend, workload="fashion-mnist", optimizer=opt, pipeline="gemm-bound")
            if d and g:
                lines.append(_ratio(f"dlcore / GEMM-only bound, {backend} {opt}", d, g, 1.5 if opt == "sgd" else 2.0))
    for backend in ("torch", "tensorflow", "jax"):
        sgd = _find(records, backend=backend, workload="fashion-mnist", optimizer="sgd", pipeline="dlcore")
        adam = _find(records, backend=backend, workload="fashion-mnist", optimizer="adam", pipeline="dlcore")
        if sgd and adam:  # from two processes, one after the other
            lines.append(_ratio(f"dlcore Adam epoch / SGD epoch, {backend}", adam, sgd, 1.3))
    for r in records:
        if r["pipeline"] == "dlcore" and r["workload"] == "fashion-mnist" and r.get("baseline_rss_mb") and r.get("dataset_mb"):
            budget = r["baseline_rss_mb"] + r["dataset_mb"]
            lines.append(f"peak memory / (framework baseline + dataset), {r['backend']} {r['optimizer']}: "
                         f"{r['peak_rss_mb']:.0f} / ({r['baseline_rss_mb']:.0f} + {r['dataset_mb']:.0f}) MB = "
                         f"{r['peak_rss_mb'] / budget:.2f} (target <= 1.5)")
        if r["pipeline"] == "dlcore" and r.get("first_step_seconds"):
            lines.append(f"time to first training step, {r['backend']} {r['workload']} {r['optimizer']} (new process, "
                         f"imports and data included): {r['first_step_seconds']:.1f} s")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small data, two epochs, shared-process memory")
    parser.add_argument("--out", default="results", help="folder for results.json and results.md (default: results)")
    parser.add_argument("--backends", nargs="+", default=["torch", "tensorflow", "jax"],
                        help="those installed of torch, tensorflow, jax (default: all three)")
    parser.add_argument("--workloads", nargs="+", choices=["fashion-mnist", "imdb", "cnn"],
                        default=["fashion-mnist", "imdb", "cnn"])
    parser.add_argument("--repeats", type=int, default=None, help="timed epochs per pipeline (default 5; quick 2)")
    parser.add_argument("--samples", type=int, default=None,
                        help="training samples of each workload (default: all; quick: 6000 images, 3000 reviews, "
                             "1000 CNN images)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        config = json.loads(args.worker)
        result = worker_memory(config) if config.get("pipeline") else worker_timing(config)
        print(json.dumps(result))
        return

    import importlib.util

    repeats = args.repeats or (2 if args.quick else 5)
    backends = [b for b in args.backends if importlib.util.find_spec(FRAMEWORK[b])]
    configs = []
    for backend in backends:
        for workload in args.workloads:
            quick_samples = {"fashion-mnist": 6000, "imdb": 3000, "cnn": 1000}[workload]
            for optimizer in (("sgd", "adam") if workload == "fashion-mnist" else ("adam",)):
                configs.append({"backend": backend, "workload": workload, "optimizer": optimizer, "lr": 1e-3,
                                "batch_size": 512 if workload == "imdb" else 64, "repeats": repeats,
                                "samples": args.samples or (quick_samples if args.quick else None)})
    from dlcore import tuning

    machine = f"{tuning.machine()} ({platform.machine()}), Python {platform.python_version()}, no GPU used (device cpu)"
    print(f"dlcore benchmarks ({'quick' if args.quick else 'full'}), {machine}", flush=True)
    records = []
    for config in configs:
        timing = _spawn(config)
        if "skipped" in timing:
            print(f"{config['backend']:<11} {config['workload']:<14} {config['optimizer']:<5} skipped: "
                  f"{timing['skipped']}", flush=True)
            continue
        got = _records(config, timing)
        if not args.quick:
            for r in got:
                if not r["pipeline"].startswith("gemm-bound") and "busy" not in r["pipeline"]:
                    memory = _spawn({**config, "pipeline": r["pipeline"]})
                    r.update(memory, peak_rss_scope="own process")
        for r in got:
            ratio = f"{r['ratio_to_native']:.3f}" if r["ratio_to_native"] else "-"
            print(f"{r['backend']:<11} {r['workload']:<14} {r['optimizer']:<5} {r['pipeline']:<24} "
                  f"{r['seconds_per_epoch']:8.3f} s/epoch ({r['seconds_min']:.3f} - {r['seconds_max']:.3f}, "
                  f"{r['repeats']}) {r['samples_per_second']:9.0f} samples/s "
                  f"first {r['first_epoch_seconds']:7.3f} s  peak {r['peak_rss_mb']:6.0f} MB  / native {ratio}  ({timing['source']})",
                  flush=True)
        if timing["kernels"]:
            print(f"{config['backend']:<11} kernels chosen for this machine: {'; '.join(timing['kernels'])}", flush=True)
        records += got
    targets = _targets(records)
    print("\n".join(["", "targets:"] + ["  " + t for t in targets]))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(records, indent=1))
    (out / "results.md").write_text(_markdown(records, machine) + "\n" + "\n".join(f"- {t}" for t in targets) + "\n")
    print(f"wrote {out / 'results.json'} and {out / 'results.md'}")


if __name__ == "__main__":
    main()
