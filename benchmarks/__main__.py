"""dlcore against hand-written native code, side by side: ``python -m benchmarks [--quick | --full] [--out DIR]``.

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
- "dlcore, native layers" and "dlcore, layers on ops" (Fashion-MNIST): the MLP as a sequential
  of dense layers, the built-in ones (each backend's native kernel, its fast path) against the
  same layer written once on dlcore.ops as a user writes one (``pipelines.OpsDense``);
- gemm-bound (Fashion-MNIST): only the matrix products of each step, a lower bound, through
  the kernels dlcore uses (torch: also "gemm-bound-torch.mm", through nn.Linear's).

It prints the kernels chosen for this machine (dlcore.tuning) and reports the median seconds
per epoch after one warm-up epoch, samples per second, the first (warm-up, tracing included)
epoch, peak resident memory and the ratio to the native loop; then the start-up against each
framework's own floor (benchmarks/floors.py: time to the first training step in new processes,
and the CLI's first line); and writes ``results.json`` and ``results.md`` to --out. Memory of a
pipeline in a fresh process: resident memory after importing the framework (the baseline), the
dataset, and for dlcore current and peak memory after a first fit on one batch and after an epoch.

Modes (--samples sets the training samples of every workload, --repeats the timed epochs):

- standard (the default; under 10 minutes for the three backends on 2 cores): 8000 images,
  5000 reviews, 1500 CNN images, 3 timed epochs; memory of dlcore and native on Fashion-MNIST
  (SGD, Adam) with all 60000 images; 3 start-up pairs and CLI starts per backend;
- --full (for releases, about half an hour): all the data, 5 timed epochs, memory of every
  pipeline but the GEMM-only and busy ones; 5 start-up pairs and CLI starts per backend;
- --quick (CI, a few minutes): 6000 images, 3000 reviews, 1000 CNN images, 2 timed epochs;
  memory of dlcore on Fashion-MNIST on the first backend only (other rows: the shared timing
  process's peak); one start-up pair and CLI start per backend.

A backend that cannot build the CNN's spec yet (no "sequential" model kernel) has its CNN rows
skipped, with a note.
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
MODES = {  # timed epochs, samples per workload (None: all of them), start-up pairs and CLI starts per backend
    "quick": (2, {"fashion-mnist": 6000, "imdb": 3000, "cnn": 1000}, 1),
    "standard": (3, {"fashion-mnist": 8000, "imdb": 5000, "cnn": 1500}, 3),
    "full": (5, {}, 5),
}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    """Resident memory now (VmRSS; the peak where /proc is missing)."""
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024
    except OSError:
        return peak_rss_mb()


def _timed(fn) -> float:
    """Seconds ``fn()`` takes, or the seconds it returns where it times itself."""
    start = time.perf_counter()
    result = fn()
    return result if isinstance(result, float) else time.perf_counter() - start


def under_load(epoch, pause: float = 1.0):
    """``epoch`` run beside one busy process (a CPU-bound loop the benchmark starts before and
    stops after it); returns the epoch's seconds. A pause after it (a second) lets backends that
    watch the load see the CPUs free again before the next pipeline's epoch; none is needed where
    that epoch runs beside a busy process too."""
    def run() -> float:
        busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        try:
            time.sleep(0.3)  # until it spins
            seconds = _timed(epoch)
        finally:
            busy.kill()
            busy.wait()
        time.sleep(pause)
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
    others["dlcore, layers on ops"] = lambda: _dlcore_ops_epochs(config, x, y, native_layers=False)
    others["dlcore, native layers"] = lambda: _dlcore_ops_epochs(config, x, y, native_layers=True)
    others["dlcore, a batch callback"] = lambda: _dlcore_epochs(config, x, y, batch_hook=True)
    others["dlcore, one busy process"] = lambda: under_load(  # the next epoch, native's below, is busy too
        _dlcore_epochs(config, x, y, batch_hook=False), pause=0)
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


def _dlcore_ops_epochs(config, x, y, native_layers: bool):
    """A function running one more dlcore epoch of the MLP as a sequential of dense layers: the
    built-in ``layers.dense`` (the backend's native kernel, its fast path) or the same layer
    written once on dlcore.ops as a user would (``pipelines.OpsDense``)."""
    from dlcore import models
    from dlcore.models import layers

    from .pipelines import OpsDense

    dense = layers.dense if native_layers else OpsDense
    spec = models.sequential([layers.flatten(), dense(512, "relu"), dense(512, "relu"), dense(10)], (784,))
    trainer = _trainer(config, 1)
    return lambda: trainer.fit(spec, (x, y))


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
    """One pipeline in a fresh process: memory after importing the framework (the baseline), the
    dataset, then (dlcore) after a first fit on one batch and after one epoch, and the peak."""
    from dlcore import get_backend

    get_backend(config["backend"])
    result = {"baseline_rss_mb": rss_mb()}
    x, y, spec, factories, _ = _load(config)
    result.update(dataset_mb=(x.nbytes + y.nbytes) / 2**20 if x.dtype != object else None, data_rss_mb=rss_mb(),
                  memory_samples=len(x))
    if config["pipeline"] == "dlcore":
        trainer, bs = _trainer(config, 1), config["batch_size"]
        trainer.fit(spec, (x[:bs], y[:bs]))  # the model, its optimizer state and compiled steps
        result.update(first_step_seconds=time.perf_counter() - START, first_step_rss_mb=rss_mb(),
                      first_step_peak_mb=peak_rss_mb())
        trainer.fit(spec, (x, y))  # the same model, one epoch
        result["rss_mb"] = rss_mb()
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
    order = ["dlcore", "dlcore, no callback", "dlcore, a batch callback", "dlcore, native layers",
             "dlcore, layers on ops", "native", "dlcore, one busy process",
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
        fast = _find(records, backend=r["backend"], workload=r["workload"], optimizer=r["optimizer"],
                     pipeline="dlcore, native layers")
        if r["pipeline"] == "dlcore, layers on ops" and fast:
            lines.append(_ratio(f"dense layers on dlcore.ops / native dense layers, {r['backend']} {r['workload']} "
                                f"{r['optimizer']}", r, fast))
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
                                r, idle, 1.5))
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
        bounds = {}  # backend: (dlcore, its GEMM-only bound)
        for backend in ("torch", "tensorflow", "jax"):
            d = _find(records, backend=backend, workload="fashion-mnist", optimizer=opt, pipeline="dlcore")
            g = _find(records, backend=backend, workload="fashion-mnist", optimizer=opt, pipeline="gemm-bound")
            if d and g:
                bounds[backend] = d, g
                lines.append(_ratio(f"dlcore / GEMM-only bound, {backend} {opt}", d, g, 1.5 if opt == "sgd" else 1.8))
        if bounds:
            best = min(bounds, key=lambda b: bounds[b][0]["seconds_per_epoch"] / bounds[b][1]["seconds_per_epoch"])
            lines.append(_ratio(f"dlcore's fastest backend / its GEMM-only bound, {opt} ({best})", *bounds[best], 1.2))
    for backend in ("torch", "tensorflow", "jax"):
        sgd = _find(records, backend=backend, workload="fashion-mnist", optimizer="sgd", pipeline="dlcore")
        adam = _find(records, backend=backend, workload="fashion-mnist", optimizer="adam", pipeline="dlcore")
        if sgd and adam:  # from two processes, one after the other
            lines.append(_ratio(f"dlcore Adam epoch / SGD epoch, {backend}", adam, sgd, 1.3))
    for r in records:
        if r["pipeline"] == "dlcore" and r["workload"] == "fashion-mnist" and r.get("first_step_peak_mb"):
            peak, base, data, first = (r[k] for k in ("peak_rss_mb", "baseline_rss_mb", "dataset_mb",
                                                       "first_step_peak_mb"))
            lines.append(f"peak memory / (framework baseline + dataset), {r['backend']} {r['optimizer']}: "
                         f"{peak:.0f} / ({base:.0f} + {data:.0f}) MB = {peak / (base + data):.2f} (target <= 1.5); "
                         f"the rest: {first - base - data:.0f} MB at the first step (model, optimizer, compiled "
                         f"steps), {peak - first:.0f} MB in the epoch (data on the device, batches)")
        if r["pipeline"] == "dlcore" and r.get("first_step_seconds"):
            lines.append(f"time to first training step, {r['backend']} {r['workload']} {r['optimizer']} (new process, "
                         f"imports and data included): {r['first_step_seconds']:.1f} s")
    return lines


def _memory_measured(mode: str, r: dict, first_backend: str) -> bool:
    """Whether this mode measures ``r``'s pipeline's memory in a fresh process."""
    if mode == "full":
        return not r["pipeline"].startswith("gemm-bound") and "busy" not in r["pipeline"]
    if r["workload"] != "fashion-mnist":
        return False
    return r["pipeline"] in ("dlcore", "native") if mode == "standard" else (r["pipeline"], r["backend"]) == (
        "dlcore", first_backend)


def _memory_row(r: dict) -> str:
    text = (f"{r['backend']:<11} {r['workload']:<14} {r['optimizer']:<5} {r['pipeline']:<24} memory in a fresh process "
            f"({r['memory_samples']} samples): framework {r['baseline_rss_mb']:.0f} MB, with the data "
            f"{r['data_rss_mb']:.0f} MB")
    if "first_step_peak_mb" in r:
        text += (f", after a first step {r['first_step_rss_mb']:.0f} MB (peak {r['first_step_peak_mb']:.0f}), "
                 f"after an epoch {r['rss_mb']:.0f} MB")
    return text + f", peak {r['peak_rss_mb']:.0f} MB"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="small data, two epochs (CI)")
    size.add_argument("--full", action="store_true", help="all the data, 5 epochs, every pipeline's memory (releases)")
    parser.add_argument("--out", default="results", help="folder for results.json and results.md (default: results)")
    parser.add_argument("--backends", nargs="+", default=["torch", "tensorflow", "jax"],
                        help="those installed of torch, tensorflow, jax (default: all three)")
    parser.add_argument("--workloads", nargs="+", choices=["fashion-mnist", "imdb", "cnn"],
                        default=["fashion-mnist", "imdb", "cnn"])
    parser.add_argument("--repeats", type=int, default=None, help="timed epochs per pipeline (default: the mode's)")
    parser.add_argument("--samples", type=int, default=None, help="samples of each workload (default: the mode's)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        config = json.loads(args.worker)
        result = worker_memory(config) if config.get("pipeline") else worker_timing(config)
        print(json.dumps(result))
        return

    import importlib.util

    from . import floors

    mode = "quick" if args.quick else "full" if args.full else "standard"
    repeats, sizes, runs = MODES[mode]
    backends = [b for b in args.backends if importlib.util.find_spec(FRAMEWORK[b])]
    configs = []
    for backend in backends:
        for workload in args.workloads:
            for optimizer in (("sgd", "adam") if workload == "fashion-mnist" else ("adam",)):
                configs.append({"backend": backend, "workload": workload, "optimizer": optimizer, "lr": 1e-3,
                                "batch_size": 512 if workload == "imdb" else 64, "repeats": args.repeats or repeats,
                                "samples": args.samples or sizes.get(workload)})
    from dlcore import tuning

    machine = f"{tuning.machine()} ({platform.machine()}), Python {platform.python_version()}, no GPU used (device cpu)"
    print(f"dlcore benchmarks ({mode}), {machine}", flush=True)
    records = []
    for config in configs:
        timing = _spawn(config)
        if "skipped" in timing:
            print(f"{config['backend']:<11} {config['workload']:<14} {config['optimizer']:<5} skipped: "
                  f"{timing['skipped']}", flush=True)
            continue
        got = _records(config, timing)
        for r in got:
            if _memory_measured(mode, r, backends[0]):  # standard: all the images (memory depends on the data's size)
                samples = None if mode == "standard" else config["samples"]
                r.update(_spawn({**config, "samples": samples, "pipeline": r["pipeline"]}),
                         peak_rss_scope="own process")
            ratio = f"{r['ratio_to_native']:.3f}" if r["ratio_to_native"] else "-"
            print(f"{r['backend']:<11} {r['workload']:<14} {r['optimizer']:<5} {r['pipeline']:<24} "
                  f"{r['seconds_per_epoch']:8.3f} s/epoch ({r['seconds_min']:.3f} - {r['seconds_max']:.3f}, "
                  f"{r['repeats']}) {r['samples_per_second']:9.0f} samples/s "
                  f"first {r['first_epoch_seconds']:7.3f} s  peak {r['peak_rss_mb']:6.0f} MB  / native {ratio}  ({timing['source']})",
                  flush=True)
            if "memory_samples" in r:
                print(_memory_row(r), flush=True)
        if timing["kernels"]:
            print(f"{config['backend']:<11} kernels chosen for this machine: {'; '.join(timing['kernels'])}", flush=True)
        records += got
    print("\nstart-up against the framework's own floor (new processes):", flush=True)
    targets = _targets(records) + floors.startup(backends, runs)
    print("\n".join(["", "targets:"] + ["  " + t for t in targets]))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(records, indent=1))
    (out / "results.md").write_text(_markdown(records, machine) + "\n" + "\n".join(f"- {t}" for t in targets) + "\n")
    print(f"wrote {out / 'results.json'} and {out / 'results.md'}")
    print(f"benchmark run took {time.perf_counter() - START:.0f} s")


if __name__ == "__main__":
    main()
