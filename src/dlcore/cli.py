"""The ``dlcore`` command: train, evaluate, devices, backends, info. Imports no framework until
needed; ``dlcore train NAME`` trains any registered dataset with its recipe."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from importlib import metadata
from typing import Any

from .contract.backend import Model
from .contract.errors import ConfigError, DlcoreError
from .contract.strategy import DEFAULT_TIMEOUT, ENV_TIMEOUT
from .data.datasets import info as dataset_info
from .data.datasets import load as load_dataset
from .data.datasets import registered
from .io.checkpoint import TrainingCheckpoint
from .models.recipes import model_for
from .parallel.launcher import launch, worker_of
from .parallel.ray import RayLauncher
from .plugins.backends import all_devices, backend_infos, get_backend, installed_backend_names, select_backend_name
from .plugins.builtin import RECIPE
from .plugins.manager import disabled_plugins, plugin_distribution, registry
from .training.callbacks import Callback
from .training.history import format_metrics
from .training.optimizers import DEFAULT_LR, OptimizerConfig
from .training.schedules import CosineDecay, OneCycle
from .training.trainer import Trainer
from .version import DISTRIBUTION, __version__


def _backend_help() -> str:
    """The backends to choose from: the installed ones, then the others with what installs them."""
    installed = installed_backend_names()
    missing = [f"{i.name} (not installed: {i.install_hint})" for i in backend_infos() if i.name not in installed]
    return (f"{', '.join(installed) or 'none installed'}{'; ' + '; '.join(missing) if missing else ''} "
            "(default: $DLCORE_BACKEND, else the first installed)")


def _parser() -> argparse.ArgumentParser:
    workloads = registered()
    optimizers = [str(name) for name in registry().optimizers.keys()]
    backend_help = _backend_help()
    parser = argparse.ArgumentParser(prog="dlcore", description="Train and evaluate models on PyTorch or TensorFlow.")
    parser.add_argument("--version", action="version", version=f"dlcore {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = sub.add_parser("train", help="train a registered dataset's recipe and print its test metrics")
    train.add_argument("workload", choices=workloads, help="; ".join(f"{i.name}: {i.description}" for i in workloads.values()))
    train.add_argument("--backend", default=None, help=backend_help)
    train.add_argument("--device", default="auto", help="auto, cpu, cuda:N, GPU:N or mps (default: auto)")
    train.add_argument("--epochs", type=int, help="default: 10 (fashion-mnist), 20 (imdb)")
    train.add_argument("--batch-size", type=int, help="default: 64 (fashion-mnist), 512 (imdb)")
    train.add_argument("--optimizer", choices=optimizers, help="default: sgd (fashion-mnist), adam (imdb)")
    train.add_argument("--lr", type=float, help=f"default: the optimizer's, {DEFAULT_LR:g}")
    train.add_argument("--momentum", type=float, help="sgd, rmsprop: momentum (default: 0)")
    train.add_argument("--weight-decay", type=float, help="L2 weight decay (adamw: decoupled; default: 0, adamw 0.01)")
    train.add_argument("--schedule", choices=("cosine", "onecycle"), help="a per-update learning-rate schedule "
                       "over the whole run: cosine decay (after --warmup updates) or one-cycle")
    train.add_argument("--warmup", type=int, default=0, help="cosine: updates of linear warmup (default: 0)")
    train.add_argument("--clip-norm", type=float, help="clip the gradients' global L2 norm to this")
    train.add_argument("--accumulate", type=int, default=1, help="update once per this many batches (default: 1)")
    train.add_argument("--precision", default="32", choices=("32", "bf16-mixed", "16-mixed"))
    train.add_argument("--deterministic", action="store_true", help="the framework's deterministic mode")
    train.add_argument("--resume", default=None, metavar="PATH",
                       help="go on from a checkpoint of 'dlcore train --save' (from any backend) up to --epochs, "
                            "with its optimizer, settings and learning rate unless given")
    train.add_argument("--validation", type=float, help="fraction of the training data held out (default: 0.4 for imdb)")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--embedding", default="glove-6b-50d",
                       help="imdb: glove-6b-50d, a GloVe .txt file, a TF-Hub handle or SavedModel folder")
    train.add_argument("--frozen", action="store_true", help="imdb: do not train the embedding")
    train.add_argument("--data-dir", default=None, help="where the dataset files are (default: searched, else downloaded)")
    train.add_argument("--no-download", action="store_true", help="fail instead of downloading missing data")
    train.add_argument("--save", default=None, metavar="PATH", help="write the trained model to PATH (.npz)")
    train.add_argument("--verbose", action="store_true", help="log the loss every 100 batches")
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    train.add_argument("--json", action="store_true", help="print the final test metrics as JSON on the last line")
    group = train.add_argument_group("several processes (README: Scaling out)")
    group.add_argument("--workers", type=int, default=1, help="train data-parallel in N processes on this machine, "
                       "with the backend's strategy (ddp, multi_worker_mirrored, ...); --batch-size is the global batch")
    group.add_argument("--strategy", default=None, help="the strategy of a process started by torchrun or with a "
                       "TF_CONFIG (--workers and --ray choose it themselves)")
    group.add_argument("--timeout", type=float, default=None,
                       help=f"seconds a worker waits for the others before the run stops (default: ${ENV_TIMEOUT}, "
                            f"else {DEFAULT_TIMEOUT:g})")
    group.add_argument("--threads", type=int, default=1, help="CPU threads per worker (default: 1)")
    group.add_argument("--ray", action="store_true", help="run the --workers on a Ray cluster (ray.init's; "
                       "pip install 'dlcore-ml[ray]'), restarted from the last checkpoint after a failure")
    group.add_argument("--max-failures", type=int, default=1, help="--ray: restarts after a worker fails (default: 1)")

    evaluate = sub.add_parser("evaluate", help="evaluate a saved model (from any backend) on a built-in test set")
    evaluate.add_argument("checkpoint", help="a .npz written by 'dlcore train --save' or Trainer.save")
    evaluate.add_argument("--data", required=True, choices=workloads, help="the test set")
    evaluate.add_argument("--backend", default=None, help=backend_help)
    evaluate.add_argument("--device", default="auto")
    evaluate.add_argument("--data-dir", default=None)
    evaluate.add_argument("--no-download", action="store_true")
    evaluate.add_argument("--json", action="store_true", help="print the metrics as JSON on the last line")

    run = sub.add_parser("launch", help="run your own script as N processes of a group on this machine, each with "
                         "the environment of the backend's strategy (for Trainer(strategy=...))")
    run.add_argument("--workers", type=int, default=2, help="processes (default: 2)")
    run.add_argument("--backend", default=None, help=backend_help)
    run.add_argument("--strategy", default=None, help="default: the backend's (ddp, multi_worker_mirrored, ...)")
    run.add_argument("--threads", type=int, default=1, help="CPU threads per process (default: 1)")
    run.add_argument("--timeout", type=float, default=None, help=f"sets ${ENV_TIMEOUT} (default {DEFAULT_TIMEOUT:g} s)")
    run.add_argument("program", nargs=argparse.REMAINDER, help="the command, e.g. python train.py --epochs 5")

    devices = sub.add_parser("devices", help="list the devices of the installed backends")
    devices.add_argument("--backend", default=None, help="only this backend: " + backend_help)
    sub.add_parser("backends", help="list registered backends and whether they are installed")
    info = sub.add_parser("info", help="versions of dlcore, its plugins and backends, devices: what a bug report needs")
    info.add_argument("--json", action="store_true", help="one JSON object")
    return parser


def _data(workload: str, args: argparse.Namespace, progress: bool | None = None) -> tuple[Any, Any]:
    """The (train, test) datasets of a registered dataset."""
    return load_dataset(workload, args.data_dir, download=not args.no_download, progress=progress)


def _workload(args: argparse.Namespace) -> tuple[Any, Any, Any]:
    """Data and model spec of a registered dataset's recipe."""
    train, test = _data(args.workload, args, progress=False if args.no_progress else None)
    return train, test, model_for(args.workload, train, {"embedding": args.embedding, "trainable": not args.frozen})


def _optimizer(args: argparse.Namespace) -> Any:
    """The optimizer with the settings given on the command line (over a resumed checkpoint's)."""
    settings = {key: value for key, value in (("momentum", args.momentum), ("weight_decay", args.weight_decay))
                if value is not None}
    return OptimizerConfig(args.optimizer, **{**getattr(args, "saved_settings", {}), **settings})


def _resumed_optimizer(args: argparse.Namespace) -> None:
    """--resume without --optimizer: the optimizer, its settings and the learning rate the
    checkpoint was trained with (each given option still wins)."""
    saved = TrainingCheckpoint.load(args.resume).state.get("optimizer") or {}
    if args.optimizer is None and saved.get("name"):
        args.optimizer = saved["name"]
        args.saved_settings = {key: tuple(value) if isinstance(value, list) else value
                               for key, value in (saved.get("hyper") or {}).items()}
        if args.lr is None and saved.get("lr"):
            args.lr = float(saved["lr"])


def _schedule(args: argparse.Namespace) -> Any:
    if args.schedule == "cosine":
        return CosineDecay(warmup=args.warmup)
    return OneCycle() if args.schedule == "onecycle" else None


class _PrintEpochs(Callback):
    chief_only = True  # one line per epoch from a group

    def on_epoch_end(self, trainer: Trainer, model: Model, epoch: int, logs: dict[str, Any]) -> None:
        print(f"epoch {epoch}/{trainer.epochs}: {format_metrics(logs)} ({logs['seconds']:.1f} s)", flush=True)


def _strategy_name(args: argparse.Namespace) -> str | None:
    """The strategy of this process: --strategy, or the backend's own for a launched worker."""
    if args.strategy or worker_of() is None:
        return str(args.strategy) if args.strategy else None
    return str(registry().launch_strategy(select_backend_name(args.backend)).name)


def _group(args: argparse.Namespace, command: list[str]) -> int:
    """``command`` as --workers processes of the strategy's group on this machine."""
    if args.workers < 1 or args.threads < 1:
        raise ConfigError(f"--workers and --threads take a number >= 1, got {args.workers} and {args.threads}")
    backend = select_backend_name(args.backend)
    plugins = registry()
    info = plugins.strategy(args.strategy, backend) if args.strategy else plugins.launch_strategy(backend)
    print(f"dlcore: starting {args.workers} workers ({info.name}, {args.threads} thread"
          f"{'s' if args.threads > 1 else ''} each)", flush=True)
    environment = plugins.strategies.load(info, "load").environment
    return launch(command, args.workers, environment, args.threads, args.timeout)


def _launch(args: argparse.Namespace) -> int:
    command = args.program[1:] if args.program[:1] == ["--"] else args.program
    if not command:
        raise ConfigError("dlcore launch needs a command to run, e.g. dlcore launch --workers 2 python train.py")
    return _group(args, command)


def _train(args: argparse.Namespace, argv: list[str]) -> int:
    if args.workers != 1 and worker_of() is None and not args.ray:
        _data(args.workload, args, progress=False if args.no_progress else None)  # one download, not one per worker
        return _group(args, [sys.executable, "-m", "dlcore", *argv])
    if args.resume:
        _resumed_optimizer(args)
    for key, value in {**RECIPE, **dataset_info(args.workload).defaults}.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    strategy = _strategy_name(args)
    if strategy is not None and args.timeout is not None:
        os.environ[ENV_TIMEOUT] = str(args.timeout)
    trainer = Trainer(backend=args.backend, epochs=args.epochs, batch_size=args.batch_size,
                      optimizer=_optimizer(args), lr=args.lr, seed=args.seed, device=args.device,
                      schedule=_schedule(args), clip_norm=args.clip_norm, accumulate=args.accumulate,
                      precision=args.precision, deterministic=args.deterministic,
                      verbose=args.verbose, progress=False if args.no_progress or not sys.stderr.isatty() else None,
                      strategy=strategy,
                      launcher=RayLauncher(args.workers, max_failures=args.max_failures) if args.ray else None)
    say = print if trainer.is_chief else (lambda *a, **k: None)
    train, test, model = _workload(args)
    group = "" if trainer.strategy is None else f", {trainer.strategy.world_size} workers ({trainer.strategy.name})"
    if trainer.launcher is not None:
        group = f", {trainer.launcher.workers} workers on Ray"
    say(f"training {args.workload} {model.kind} on {trainer.backend_name} ({trainer.device.name}{group}): "
        f"{args.epochs} epochs, {args.optimizer} lr {trainer.lr:g}, batch {args.batch_size}, seed {args.seed}", flush=True)
    start = time.perf_counter()
    if args.resume:
        say(f"resuming from {args.resume}", flush=True)
    lines = [] if args.verbose else [_PrintEpochs()]  # --verbose: the trainer's own line per epoch
    trainer.fit(model, train, validation=args.validation, callbacks=lines, resume_from=args.resume)
    seconds = time.perf_counter() - start
    if args.save:
        saved = trainer.save(model, args.save, {'workload': args.workload})
    trainer.close()
    if not trainer.is_chief:  # rank 0 reports
        return 0
    metrics = trainer.evaluate(model, test)
    print(f"test accuracy: {metrics['accuracy']:.2%}, test loss: {metrics['loss']:.4f} ({seconds:.1f} s training)")
    if args.save:
        print(f"saved to {saved}")
    if args.json:
        print(json.dumps({"backend": trainer.backend_name, "device": trainer.device.name,
                          "workload": args.workload, "epochs": args.epochs, "optimizer": args.optimizer,
                          "lr": trainer.lr, "batch_size": args.batch_size, "seed": args.seed,
                          "train_seconds": round(seconds, 3),
                          **({"embedding": args.embedding} if model.kind == "text_classifier" else {}), **metrics}))
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    trainer = Trainer(backend=args.backend, device=args.device, progress=False)
    model = trainer.load(args.checkpoint)
    _, test = _data(args.data, args)
    metrics = trainer.evaluate(model, test)
    print(f"{args.checkpoint} on {trainer.backend_name} ({trainer.device.name}): "
          f"test accuracy {metrics['accuracy']:.2%}, test loss {metrics['loss']:.4f}")
    if args.json:
        print(json.dumps({"backend": trainer.backend_name, "device": trainer.device.name,
                          "checkpoint": str(args.checkpoint), "data": args.data, **metrics}))
    return 0


def _devices(args: argparse.Namespace) -> int:
    names = [args.backend] if args.backend else installed_backend_names()
    backends = [get_backend(n) for n in names]
    devices = all_devices(backends)
    print(f"{'backend':<12} {'device':<8} {'kind':<5} {'auto':<5} description")
    for backend in backends:
        best = backend.device("auto", registry().device_kinds)
        for d in devices.for_backend(backend.name):
            print(f"{d.backend:<12} {d.name:<8} {d.kind:<5} {'*' if d == best else '':<5} {d.description}")
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


def environment() -> dict[str, Any]:
    """What a bug report needs: versions of dlcore, Python, its dependencies, the plugins and
    each backend (installed or not), with their facts and devices."""
    def version(dist: str) -> str | None:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return None

    plugins = {name: plugin_distribution(name) for name in registry().plugins if name != "dlcore"}
    report: dict[str, Any] = {
        "dlcore": __version__, "distribution": DISTRIBUTION,
        "python": platform.python_version(), "platform": platform.platform(), "machine": platform.machine(),
        "packages": {dist: version(dist) for dist in ("numpy", "pandas", "pluggy", "pillow", "tqdm")},
        "plugins": plugins, "disabled_plugins": sorted(disabled_plugins()), "broken_plugins": registry().broken,
        "backends": {},
    }
    for info in backend_infos():
        entry: dict[str, Any] = {"installed": info.available, "install": info.install_hint}
        if info.available:
            backend = get_backend(info.name)
            entry.update(versions=backend.versions(), facts=backend.info(),
                         devices=[f"{d.name} ({d.description})" for d in backend.devices()])
        report["backends"][info.name] = entry
    return report


def _info(args: argparse.Namespace) -> int:
    report = environment()
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"dlcore version: {report['dlcore']} (distribution {report['distribution']})")
    print(f"Python version: {report['python']} ({report['machine']}, {report['platform']})")
    for dist, version in report["packages"].items():
        print(f"{dist} version: {version or 'not installed'}")
    print("plugins: " + (", ".join(f"{name} ({dist})" for name, dist in report["plugins"].items()) or "none"))
    for name, entry in report["backends"].items():
        if not entry["installed"]:
            print(f"{name}: not installed ({entry['install']})")
            continue
        for package, version in entry["versions"].items():
            print(f"{package} version: {version}")
        for fact, value in entry["facts"].items():
            print(f"{name} {fact}: {value}")
        gpus = [d for d in entry["devices"] if not d.lower().startswith("cpu")]
        print(f"{name} GPU is {'available: ' + ', '.join(gpus) if gpus else 'NOT AVAILABLE'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = _parser().parse_args(argv)
        if args.command == "train":
            return _train(args, argv)
        command = {"evaluate": _evaluate, "launch": _launch, "devices": _devices, "backends": _backends,
                   "info": _info}[args.command]
        return command(args)
    except DlcoreError as err:
        worker = worker_of()
        print(f"dlcore: error{f' in worker {worker[0]}' if worker else ''}: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("dlcore: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["environment", "main"]
