"""Streaming datasets on this machine: ``python -m benchmarks.streaming [--quick] [--backends ...]``.

Fashion-MNIST is written once, under --data-dir, as 70,000 grayscale 28x28 PNGs with a
``file,label`` CSV per split (the PyTorch tutorial's custom-dataset layout), and the training
images as a float32 .npy (N, 1, 28, 28) in [0, 1]. Every configuration trains the MLP
784-512-512-10 with SGD (lr 1e-3, batch 64, seed 0) on the 60,000 training images, in a fresh
process; a round runs each configuration once, the contenders next to each other, and
--repeats rounds give medians and min-max. Measured:

1. tutorial vs dlcore on the PNGs (torch): the tutorial's ``CustomImageDataset`` (pandas,
   ``torchvision.io.decode_image``, scaled as ToTensor) and ``train_loop`` over a DataLoader as
   written (num_workers=0) and tuned (2 persistent workers), against
   ``Trainer("torch", stream=True)`` on ``datasets.image_csv(..., transform=ToTensor())``;
2. streamed vs preloaded (``stream=True`` / ``stream=False``) per backend, on the PNGs and on
   the .npy (``datasets.npy``): seconds per epoch after the first (the preload happens before
   the first epoch and is reported apart), and the final loss of both (same seed: same batches);
3. bounded memory: one epoch over a ~2 GB float32 .npy (Fashion-MNIST tiled, (N, 784)) with
   ``memory_budget="500MB"`` (stream by the budget): the peak RSS during fit (VmHWM, reset
   before fit: ru_maxrss would hold the parent's peak, inherited through vfork) against the RSS
   just before fit. The 2 GB file is deleted at the end.

Every process uses the frameworks' default threads and dlcore's defaults (readers = CPUs).
``--parts speed`` or ``--parts memory`` runs sections 1-2 or 3 alone. It prints a markdown
report and writes streaming.json to --out. Needs Fashion-MNIST installed.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
BUDGET = "500MB"
TARGET = 1.3  # streamed epoch / preloaded epoch


# ------------------------------------------------------------------------------- data

def fashion_uint8(split: str) -> tuple[np.ndarray, np.ndarray]:
    """The raw Fashion-MNIST images (N, 28, 28) uint8 and labels of ``split``, from the IDX files."""
    from dlcore.data.fashion_mnist import locate_fashion_mnist
    from dlcore.data.idx import read_idx

    paths, prefix = locate_fashion_mnist(download=False), "train" if split == "train" else "t10k"
    return read_idx(paths[f"{prefix}-images-idx3-ubyte"]), read_idx(paths[f"{prefix}-labels-idx1-ubyte"])


def prepare(data_dir: Path, samples: dict[str, int]) -> Path:
    """PNGs, CSVs and .npy files of ``samples`` images per split under ``data_dir`` (made once)."""
    from PIL import Image

    root = data_dir / f"fashion-{samples['train']}-{samples['test']}"
    if (root / "complete").exists():
        return root
    print(f"writing {sum(samples.values())} PNGs and .npy files to {root} ...", flush=True)
    for split in ("test", "train"):  # the training images last: they also go to the .npy
        images, labels = (a[:samples[split]] for a in fashion_uint8(split))
        (root / split).mkdir(parents=True, exist_ok=True)
        rows = ["file,label"]
        for i, (image, label) in enumerate(zip(images, labels)):
            Image.fromarray(image).save(root / split / f"{i:05d}.png")
            rows.append(f"{i:05d}.png,{label}")
        (root / f"{split}.csv").write_text("\n".join(rows) + "\n")
    np.save(root / "train-x.npy", (images[:, None] / np.float32(255)).astype(np.float32))
    np.save(root / "train-y.npy", labels.astype(np.int64))
    (root / "complete").touch()
    return root


def big_npy(path: Path, rows: int) -> None:
    """A float32 (rows, 784) .npy of Fashion-MNIST's training images repeated, and its labels."""
    images, labels = fashion_uint8("train")
    x = images.reshape(len(images), -1) / np.float32(255)
    features = np.lib.format.open_memmap(path, "w+", np.float32, (rows, 784))
    for start in range(0, rows, len(x)):
        features[start:start + len(x)] = x[:rows - start]
    features.flush()
    del features
    np.save(path.with_name("big-y.npy"), np.resize(labels.astype(np.int64), rows))


# ------------------------------------------------------------------- one run (a child)

def rss_mb() -> dict[str, float]:
    """This process's resident memory, MiB: now (VmRSS; its anonymous and file-mapped pages) and
    its peak (VmHWM)."""
    with open("/proc/self/status") as f:
        return {line.split(":")[0]: int(line.split()[1]) / 1024 for line in f
                if line.startswith(("VmRSS:", "RssAnon:", "RssFile:", "VmHWM:"))}


def reset_peak() -> bool:
    """Sets this process's peak RSS (VmHWM) to its RSS now; False where the kernel refuses. (Not
    ru_maxrss: a child started by subprocess inherits its parent's peak in it, through vfork.)"""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def peak_mb(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # KiB on Linux


class RssWatch(threading.Thread):
    """Samples :func:`rss_mb` every 20 ms, keeping the peak of each kind, until stopped."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak: dict[str, float] = {}
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.02):
            for kind, mb in rss_mb().items():
                self.peak[kind] = max(self.peak.get(kind, 0.0), mb)


def run_tutorial(job: dict) -> dict:
    """The tutorial's custom dataset, DataLoader and train_loop (its printing left out)."""
    import pandas as pd
    import torch
    from torch import nn
    from torch.utils.data import DataLoader, Dataset
    from torchvision.io import decode_image
    from torchvision.transforms import v2

    class CustomImageDataset(Dataset):
        def __init__(self, annotations_file, img_dir, transform=None, target_transform=None):
            self.img_labels = pd.read_csv(annotations_file)
            self.img_dir = img_dir
            self.transform = transform
            self.target_transform = target_transform

        def __len__(self):
            return len(self.img_labels)

        def __getitem__(self, idx):
            img_path = os.path.join(self.img_dir, self.img_labels.iloc[idx, 0])
            image = decode_image(img_path)
            label = self.img_labels.iloc[idx, 1]
            if self.transform:
                image = self.transform(image)
            if self.target_transform:
                label = self.target_transform(label)
            return image, label

    def train_loop(dataloader, model, loss_fn, optimizer):
        model.train()
        total = 0.0
        for X, y in dataloader:
            pred = model(X)
            loss = loss_fn(pred, y)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            total += loss.item()
        return total / len(dataloader)

    torch.manual_seed(0)
    data = CustomImageDataset(job["root"] + "/train.csv", job["root"] + "/train",
                              transform=v2.ToDtype(torch.float32, scale=True))
    tuned = {"num_workers": job["workers"], "persistent_workers": True, "pin_memory": False} if job["workers"] else {}
    loader = DataLoader(data, batch_size=64, shuffle=True, **tuned)
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(),
                          nn.Linear(512, 10))
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
    seconds, start_fit = [], time.perf_counter()
    for _ in range(job["epochs"]):
        start = time.perf_counter()
        loss = train_loop(loader, model, nn.CrossEntropyLoss(), optimizer)
        seconds.append(time.perf_counter() - start)
    return {"seconds": seconds, "fit_s": time.perf_counter() - start_fit, "loss": loss,
            "threads": torch.get_num_threads()}


def run_dlcore(job: dict) -> dict:
    """dlcore's Trainer on the PNGs (image_csv), the .npy, or the big .npy within the budget."""
    from dlcore import Trainer, datasets, models, transforms

    root = job["root"]
    if job["data"] == "png":
        data = datasets.image_csv(root + "/train.csv", root + "/train", transform=transforms.ToTensor(), num_classes=10)
    else:
        stem = "big" if job["data"] == "big" else "train"
        data = datasets.npy(f"{root}/{stem}-x.npy", f"{root}/{stem}-y.npy")
    trainer = Trainer(job["backend"], epochs=job["epochs"], batch_size=64, optimizer="sgd", lr=1e-3, seed=0,
                      progress=False, stream=job["stream"], memory_budget=job.get("budget"))
    spec = models.mlp(784, [512, 512], 10)
    trainer.build(spec)
    reset, readers_before, watch = reset_peak(), peak_mb(resource.RUSAGE_CHILDREN), RssWatch()
    before, start = rss_mb(), time.perf_counter()
    watch.start()
    history = trainer.fit(spec, data)
    watch.done.set()
    readers = peak_mb(resource.RUSAGE_CHILDREN)
    result = {"seconds": [r["seconds"] for r in history.records], "fit_s": time.perf_counter() - start,
              "loss": history.records[-1]["loss"], "rss_before_mb": before["VmRSS"], "peak_rss_mb": rss_mb()["VmHWM"],
              "peak_since": "fit" if reset else "start", "ru_maxrss_mb": peak_mb(resource.RUSAGE_SELF),
              "anon_before_mb": before["RssAnon"], "anon_peak_mb": watch.peak["RssAnon"],
              "file_before_mb": before["RssFile"], "file_peak_mb": watch.peak["RssFile"],
              "readers_peak_mb": readers if readers > readers_before else None}  # None: no reader process ended
    if job["backend"] == "torch":
        import torch

        result["threads"] = torch.get_num_threads()
    return result


def child(job: dict) -> dict:
    """Runs ``job`` in a fresh Python process; its result."""
    command = [sys.executable, "-m", "benchmarks.streaming", "--run", json.dumps(job)]
    out = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=3600, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{job} failed:\n{out.stderr[-3000:]}")
    return {**job, **json.loads(out.stdout.strip().splitlines()[-1])}


# ---------------------------------------------------------------------------- report

def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def later(runs: list[dict]) -> list[float]:
    """Seconds of every epoch after the first, over the runs (the first alone if only one)."""
    return [s for r in runs for s in (r["seconds"][1:] or r["seconds"])]


def speed_report(args: argparse.Namespace, runs: list[dict]) -> tuple[list[str], dict]:
    """Sections 1 and 2 of the report, and their rows for the JSON."""
    def of(**key):
        return [r for r in runs if all(r.get(k) == v for k, v in key.items())]

    lines = [f"### 1. The tutorial's CustomImageDataset + DataLoader vs dlcore, {args.samples} PNGs, torch", "",
             "| pipeline | first epoch s | later epochs s | final loss | tutorial / dlcore (later) |", "|---|---|---|---|---|"]
    dlcore_png = of(kind="dlcore", backend="torch", data="png", stream=True)
    results: dict = {"tutorial": [], "streaming": []}
    for name, group in (("tutorial, num_workers=0", of(kind="tutorial", workers=0)),
                        ("tutorial, 2 persistent workers", of(kind="tutorial", workers=2)),
                        ("dlcore, stream=True", dlcore_png)):
        ratio = statistics.median(later(group)) / statistics.median(later(dlcore_png))
        lines.append(f"| {name} | {spread([r['seconds'][0] for r in group])} | {spread(later(group))} | "
                     f"{statistics.median(r['loss'] for r in group):.4f} | {ratio:.2f} |")
        results["tutorial"].append({"pipeline": name, "later_s": statistics.median(later(group)), "ratio": ratio})
    lines += ["", f"### 2. Streamed vs preloaded (target streamed / preloaded <= {TARGET})", "",
              ("| backend | data | streamed s/epoch | preloaded s/epoch | preload s | streamed / preloaded | "
               "loss streamed / preloaded |"), "|---|---|---|---|---|---|---|"]
    for backend in args.backends:
        for data in ("png", "npy"):
            streamed, preloaded = (of(kind="dlcore", backend=backend, data=data, stream=s) for s in (True, False))
            ratio = statistics.median(later(streamed)) / statistics.median(later(preloaded))
            setup = [r["fit_s"] - sum(r["seconds"]) for r in preloaded]
            label = "PNG" if data == "png" else ".npy float32"
            lines.append(f"| {backend} | {label} | {spread(later(streamed))} | {spread(later(preloaded))} | "
                         f"{spread(setup)} | {ratio:.2f}{'' if ratio <= TARGET else ' (over)'} | "
                         f"{statistics.median(r['loss'] for r in streamed):.4f} / "
                         f"{statistics.median(r['loss'] for r in preloaded):.4f} |")
            results["streaming"].append({"backend": backend, "data": data, "streamed_s": statistics.median(later(streamed)),
                                         "preloaded_s": statistics.median(later(preloaded)), "ratio": ratio})
    lines += ["", ("Loss: the training loss of the last epoch; with the same seed streamed and preloaded data give "
                   "the same batches. Preload: fit's time before its first epoch."), ""]
    return lines, results


def memory_report(memory: list[dict]) -> list[str]:
    """Section 3 of the report (and ``within_budget`` set in each of ``memory``)."""
    from dlcore.data.streaming import parse_bytes

    budget = memory[0]["budget"]
    budget_mib = parse_bytes(budget) / 2 ** 20
    lines = [f"### 3. Bounded memory: one epoch, memory_budget=\"{budget}\" (MiB)", "",
             ("| backend | file | RSS before fit | peak RSS | peak - before | of it anonymous | of it file pages "
              "mapped | readers' peak | within budget | epoch s |"), "|---|---|---|---|---|---|---|---|---|---|"]
    for r in memory:
        grew = r["peak_rss_mb"] - r["rss_before_mb"]
        r["within_budget"] = grew <= budget_mib
        readers = "- (threads)" if r["readers_peak_mb"] is None else f"{r['readers_peak_mb']:.0f}"
        lines.append(f"| {r['backend']} | {r['file_gb']:.2f} GB | {r['rss_before_mb']:.0f} | {r['peak_rss_mb']:.0f}"
                     f"{'' if r['peak_since'] == 'fit' else ' (since start)'} | {grew:.0f} | "
                     f"{r['anon_peak_mb'] - r['anon_before_mb']:.0f} | {r['file_peak_mb'] - r['file_before_mb']:.0f} | "
                     f"{readers} | {'yes' if r['within_budget'] else 'NO'} (<= {budget_mib:.0f}) | {r['seconds'][0]:.1f} |")
    return lines + ["", ("Peak RSS: VmHWM, reset just before fit; its anonymous and file-mapped parts: peaks sampled "
                         "every 20 ms during fit. Readers' peak: ru_maxrss of reader processes (they share the "
                         "trainer's pages).")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.streaming", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backends", nargs="+", default=["torch", "tensorflow", "jax"])
    parser.add_argument("--repeats", type=int, default=3, help="rounds of every configuration (default 3)")
    parser.add_argument("--epochs", type=int, default=3, help="per run; the first is reported apart (default 3)")
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/dlcore-streaming-bench"))
    parser.add_argument("--quick", action="store_true", help="2,000 + 500 images and a 300 MB .npy: a smoke run")
    parser.add_argument("--parts", nargs="+", choices=["speed", "memory"], default=["speed", "memory"],
                        help="speed: sections 1 and 2; memory: section 3 (default both)")
    parser.add_argument("--out", type=Path, default=Path("results"))
    parser.add_argument("--run", help=argparse.SUPPRESS)  # one configuration, in a child process
    args = parser.parse_args(argv)
    if args.run:
        job = json.loads(args.run)
        print(json.dumps(run_tutorial(job) if job["kind"] == "tutorial" else run_dlcore(job)), flush=True)
        return 0
    loads = [Path("/proc/loadavg").read_text().strip()]
    started = time.perf_counter()
    samples = {"train": 2000, "test": 500} if args.quick else {"train": 60000, "test": 10000}
    args.samples = samples["train"]
    root = str(prepare(args.data_dir, samples))
    base = {"root": root, "epochs": args.epochs}
    versus = [{**base, "kind": "dlcore", "backend": backend, "data": data, "stream": stream}
              for backend in args.backends for data in ("png", "npy") for stream in (True, False)]
    dlcore_png = {**base, "kind": "dlcore", "backend": "torch", "data": "png", "stream": True}  # vs the tutorial
    jobs = [{**base, "kind": "tutorial", "workers": workers} for workers in (0, 2)]
    jobs += ([] if dlcore_png in versus else [dlcore_png]) + versus
    runs, memory = [], []
    for round_ in range(1, args.repeats + 1 if "speed" in args.parts else 0):
        for job in jobs:
            runs.append({**child(job), "load_1min": os.getloadavg()[0]})
            name = " ".join(f"{k}={v}" for k, v in job.items() if k not in ("root", "epochs"))
            print(f"round {round_}: {name}: epochs {[round(s, 2) for s in runs[-1]['seconds']]} s "
                  f"(load {runs[-1]['load_1min']:.1f})", flush=True)
    big = Path(root) / "big-x.npy"
    try:
        if "memory" in args.parts:
            big_npy(big, 96000 if args.quick else 640000)
        for backend in args.backends if "memory" in args.parts else ():
            job = {"root": root, "kind": "dlcore", "backend": backend, "data": "big", "stream": None, "epochs": 1,
                   "budget": "200MB" if args.quick else BUDGET}
            memory.append({**child(job), "file_gb": big.stat().st_size / 1e9})
            print(f"memory: {backend} peak {memory[-1]['peak_rss_mb']:.0f} MiB", flush=True)
    finally:
        big.unlink(missing_ok=True)
        big.with_name("big-y.npy").unlink(missing_ok=True)
    loads.append(Path("/proc/loadavg").read_text().strip())
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "?")
    command = " ".join(["python -m benchmarks.streaming", *sys.argv[1:]])
    threads = sorted({r["threads"] for r in runs + memory if "threads" in r})
    lines = [f"## dlcore streaming benchmark, {datetime.date.today()}", "",
             (f"`{command}`; CPU {cpu} x {os.cpu_count()}; torch threads {threads} (dlcore's adaptive torch threads "
              f"left on); load {loads[0]} at start, {loads[-1]} at end. Seconds: median (min-max) over "
              f"{args.repeats} runs."), ""]
    results: dict = {"command": command, "cpu": cpu, "date": str(datetime.date.today()), "load": loads, "runs": runs,
                     "memory": memory}
    if runs:
        speed_lines, speed = speed_report(args, runs)
        lines += speed_lines
        results.update(speed)
    if memory:
        lines += memory_report(memory)
    results["wall_s"] = time.perf_counter() - started
    print("\n" + "\n".join(lines) + f"\n\nwall time {results['wall_s'] / 60:.1f} min", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    name = "streaming.json" if len(args.parts) == 2 else f"streaming-{args.parts[0]}.json"
    (args.out / name).write_text(json.dumps(results, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
