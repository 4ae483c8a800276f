"""``dlcore train``: resolve the configuration (defaults, the dataset's recipe, ``--config``,
the command line), train, and fill a run folder (:mod:`dlcore.runs`)."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Iterator

from ..contract.backend import Model
from ..contract.errors import ConfigError
from ..contract.records import DatasetInfo
from ..contract.strategy import DEFAULT_TIMEOUT, ENV_TIMEOUT
from ..io.checkpoint import TrainingCheckpoint
from ..io.formats import other_format
from ..parallel.launcher import launch, worker_of
from ..parallel.ray import RayLauncher
from ..plugins.backends import installed_backend, select_backend_name
from ..plugins.manager import registry
from ..runs import build, config, report
from ..runs.folder import RunFolder
from ..runs.predict import describe
from ..training.callbacks import Callback, EarlyStopping
from ..training.history import format_metrics
from ..training.trainer import Trainer
from ..version import __version__
from .system import backend_help

ENV_RUN_DIR = "DLCORE_RUN_DIR"
EXAMPLES = """\
  dlcore train fashion-mnist --epochs 2                 # runs/fashion-mnist/version_N
  dlcore train fashion-mnist --optimizer adam --lr 1e-3 --model cnn
  dlcore train fashion-mnist --optimizer adam --model resnet --filters 16 32 --blocks 2
  dlcore train --config run.toml --epochs 3             # a flag overrides its key of the file
  dlcore train --config runs/fashion-mnist/version_0/config.toml   # repeat a run
  dlcore train image-csv --train data/train.csv --test data/test.csv --hidden 256 128
  dlcore train fashion-mnist --print-config > run.toml  # every key, resolved
  dlcore train fashion-mnist --epochs 20 --resume runs/fashion-mnist/version_0
Each option below sets the key of a config file's section that its group names."""
_INTERRUPTED: dict[str, Any] = {}  # the run in progress, for the Ctrl+C message


def add_parser(parser: argparse.ArgumentParser, workloads: dict[str, DatasetInfo]) -> None:
    """The options of ``dlcore train``: one per configuration key, then those of this run only."""
    names = {**{name: info.description for name, info in workloads.items()},
             "image-folder": "your images, one folder per class (--train DIR --test DIR)",
             "image-csv": "your images listed in CSV files (--train CSV --test CSV), the tutorial's custom dataset"}
    parser.add_argument("dataset", nargs="?", choices=list(names), metavar="DATASET",
                        help="; ".join(f"{name}: {text}" for name, text in names.items()) + " ([data] dataset)")
    parser.add_argument("--config", metavar="TOML", help="read the run's configuration from this file first")
    parser.add_argument("--print-config", action="store_true", help="print the resolved configuration as TOML "
                        "and stop")
    help_of = {"trainer.backend": backend_help()}
    for section in config.SECTIONS:
        group = parser.add_argument_group(f"[{section}] of a config file")
        for k in config.KEYS:
            if k.section != section or k.dest == "data.dataset":
                continue
            text = help_of.get(k.dest, k.help)
            if k.type == "bool":
                if k.default is True:  # on unless --no-NAME
                    group.add_argument(f"--no-{k.name}", dest=k.dest, action="store_const", const=False, help=text)
                else:
                    group.add_argument(k.option, dest=k.dest, action="store_const", const=True, help=text)
                continue
            kind = {"int": int, "float": float}.get(k.type.rstrip("s"), str)
            group.add_argument(k.option, dest=k.dest, type=kind, nargs="+" if k.type.endswith("s") else None,
                               metavar=k.name.upper(), help=text)
    run = parser.add_argument_group("this run")
    run.add_argument("--resume", metavar="PATH", help="go on from a run folder or a checkpoint (from any backend) "
                     "up to --epochs, with its optimizer, settings and learning rate unless given")
    run.add_argument("--save", metavar="PATH", help="also write the trained model to PATH (a dlcore checkpoint)")
    run.add_argument("--verbose", action="store_true", help="log the loss every 100 batches, and the frameworks' "
                     "start-up logs")
    run.add_argument("--no-progress", action="store_true", help="no progress bar: one line per epoch")
    run.add_argument("--json", action="store_true", help="print the final test metrics as JSON on the last line")
    run.add_argument("--run-folder", help=argparse.SUPPRESS)  # the workers of --workers: the parent's run folder
    group = parser.add_argument_group("several processes (README: Scaling out)")
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


def checkpoint_of(where: str) -> Path:
    """A checkpoint from a run folder (its ``checkpoints/last.npz``) or a checkpoint's path."""
    if RunFolder.is_run(where):
        return RunFolder.open(where).checkpoints / "last.npz"
    return Path(where).expanduser()


def resolve(args: argparse.Namespace) -> dict[str, Any]:
    """Every key's value: the default, the dataset's recipe, the config file, the command line,
    and, resuming without an optimizer given, the checkpoint's optimizer and learning rate."""
    values = config.defaults()
    values["run.dir"] = os.environ.get(ENV_RUN_DIR) or "runs"
    if args.config:
        values.update(config.read(args.config))
    given = {k.dest: getattr(args, k.dest) for k in config.KEYS if getattr(args, k.dest, None) is not None}
    if args.dataset:
        given["data.dataset"] = args.dataset
    for dest, value in given.items():
        k = config.key(dest)
        values[dest] = config.check(k, value, f"{k.option}: ")
    if args.resume and values.get("trainer.optimizer") is None:
        saved = TrainingCheckpoint.load(checkpoint_of(args.resume)).state.get("optimizer") or {}
        if saved.get("name"):
            values["trainer.optimizer"] = saved["name"]
            args.saved_settings = {key: tuple(value) if isinstance(value, list) else value
                                   for key, value in (saved.get("hyper") or {}).items()}
            if values.get("trainer.lr") is None and saved.get("lr"):
                values["trainer.lr"] = float(saved["lr"])
    if not values.get("data.dataset"):
        raise ConfigError("no dataset: name one (dlcore train fashion-mnist) or give --config with [data] dataset")
    values = build.recipe(values)
    config.check_used(values)
    build.schedule(values)  # its settings, before any folder
    values = build.settle(values, getattr(args, "saved_settings", None))
    values["run.name"] = values.get("run.name") or values["data.dataset"]
    return config.absolute(values)


def check_options(args: argparse.Namespace) -> None:
    """The options of this run (not of its configuration), before anything is made: a
    ConfigError naming the option and what it takes."""
    for option, minimum in (("workers", 1), ("threads", 1), ("max_failures", 0)):
        value = getattr(args, option, minimum)
        if value < minimum:
            raise ConfigError(f"--{option.replace('_', '-')} takes a number >= {minimum}, got {value}")
    if args.timeout is not None and not args.timeout > 0:
        raise ConfigError(f"--timeout takes a number of seconds > 0, got {args.timeout:g}")
    if getattr(args, "save", None):
        check_save(args.save)
    if getattr(args, "resume", None) and not checkpoint_of(args.resume).is_file():
        raise ConfigError(f"--resume {args.resume}: no checkpoint there; give a run folder (with "
                          "checkpoints/last.npz) or a checkpoint file")


def check_save(path: str) -> None:
    """A ConfigError where ``--save`` names another weight format than a dlcore checkpoint's
    (``m.pt``): a checkpoint under that name would be read as that format."""
    target = Path(path)
    other = other_format(target)
    if other is not None:
        npz = target.with_suffix(".npz")
        raise ConfigError(f"--save {path}: {target.suffix} is the suffix of {other.name} files "
                          f"({', '.join(other.suffixes)}), and --save writes a dlcore checkpoint (.npz): give --save "
                          f"{npz}; then trainer.export(trainer.load({str(npz)!r}), {path!r}) writes the "
                          f"{other.name} file")


class _PrintEpochs(Callback):
    """One line per epoch on stderr (where no progress bar shows them)."""

    chief_only = True

    def on_epoch_end(self, trainer: Trainer, model: Model, epoch: int, logs: dict[str, Any]) -> None:
        print(f"epoch {epoch}/{trainer.epochs}: {format_metrics(logs)} ({logs['seconds']:.1f} s)", file=sys.stderr,
              flush=True)


def _group(args: argparse.Namespace, command: list[str], say: Callable[..., None], backend: str | None,
           ended: Callable[[], str] = str) -> int:
    """``command`` as --workers processes of the strategy's group on this machine; ``ended()``:
    what the line saying why the group stopped ends with."""
    backend = select_backend_name(backend)
    plugins = registry()
    info = plugins.strategy(args.strategy, backend) if args.strategy else plugins.launch_strategy(backend)
    say(f"dlcore: starting {args.workers} workers ({info.name}, {args.threads} thread"
        f"{'s' if args.threads > 1 else ''} each)")
    environment = plugins.strategies.load(info, "load").environment
    return launch(command, args.workers, environment, args.threads, args.timeout, ended=ended)


def add_launch_parser(command: Callable[[str, str, str], argparse.ArgumentParser]) -> None:
    """``dlcore launch``'s parser."""
    run = command("launch", "run your own script as N processes of a group on this machine, each with the "
                  "environment of the backend's strategy (for Trainer(strategy=...))",
                  "  dlcore launch --workers 2 python train.py --epochs 5\n"
                  "  dlcore launch --workers 4 --backend tensorflow -- python train.py")
    run.add_argument("--workers", type=int, default=2, help="processes (default: 2)")
    run.add_argument("--backend", default=None, help=backend_help())
    run.add_argument("--strategy", default=None, help="default: the backend's (ddp, multi_worker_mirrored, ...)")
    run.add_argument("--threads", type=int, default=1, help="CPU threads per process (default: 1)")
    run.add_argument("--timeout", type=float, default=None, help=f"sets ${ENV_TIMEOUT} (default {DEFAULT_TIMEOUT:g} s)")
    run.add_argument("program", nargs=argparse.REMAINDER, help="the command, e.g. python train.py --epochs 5")
    run.set_defaults(run=launch_command)


def launch_command(args: argparse.Namespace) -> int:
    """``dlcore launch``: the user's own script as a group of processes."""
    command = args.program[1:] if args.program[:1] == ["--"] else args.program
    if not command:
        raise ConfigError("dlcore launch needs a command to run, e.g. dlcore launch --workers 2 python train.py")
    check_options(args)
    return _group(args, command, lambda line: print(line, file=sys.stderr, flush=True), args.backend)


def _strategy_name(args: argparse.Namespace, backend: str | None) -> str | None:
    """The strategy of this process: --strategy, or the backend's own for a launched worker."""
    if args.strategy or worker_of() is None:
        return str(args.strategy) if args.strategy else None
    return str(registry().launch_strategy(select_backend_name(backend)).name)


def _trainer(values: dict[str, Any], args: argparse.Namespace) -> Trainer:
    strategy = _strategy_name(args, values.get("trainer.backend"))
    if strategy is not None and args.timeout is not None:
        os.environ[ENV_TIMEOUT] = str(args.timeout)
    bar = not (args.quiet or args.no_progress) and sys.stderr.isatty()
    return Trainer(backend=values["trainer.backend"], epochs=values["trainer.epochs"],
                   batch_size=values["trainer.batch_size"],
                   optimizer=build.optimizer(values, getattr(args, "saved_settings", None)), lr=values["trainer.lr"],
                   seed=values["trainer.seed"], device=values["trainer.device"], schedule=build.schedule(values),
                   clip_norm=values["trainer.clip_norm"], accumulate=values["trainer.accumulate"],
                   precision=values["trainer.precision"], deterministic=values["trainer.deterministic"],
                   metrics=values["trainer.metrics"], verbose=args.verbose, progress=None if bar else False,
                   strategy=strategy,
                   launcher=RayLauncher(args.workers, max_failures=args.max_failures) if args.ray else None)


def _settle(values: dict[str, Any], trainer: Trainer) -> dict[str, Any]:
    """The values a trainer chose (backend, device, learning rate), for a config that repeats
    the run exactly."""
    return {**values, "trainer.backend": trainer.backend_name, "trainer.device": trainer.device.name,
            "trainer.lr": trainer.lr, "trainer.optimizer": trainer.optimizer, "trainer.metrics": list(trainer.metrics)}


def interrupted_note() -> str:
    """What Ctrl+C (or a fault) during ``dlcore train`` kept: the last checkpoint's epoch and
    how to go on."""
    run = _INTERRUPTED.get("run")
    if run is None:
        return ""
    last = run.last_checkpoint
    if not last.is_file():
        return f"; no epoch had finished (the run folder {run.path} is removed)"
    epoch = TrainingCheckpoint.load(last).state.get("epoch")
    workers = _INTERRUPTED.get("workers", 1)
    group = f" --workers {workers}" if workers > 1 else ""
    return (f"; the {epoch} finished epoch{'s are' if epoch != 1 else ' is'} in {last} "
            f"(dlcore train --config {run.config_path} --resume {run.path}{group} goes on)")


@contextlib.contextmanager
def _logs(quiet: bool) -> Iterator[None]:
    """The frameworks' and the data's prints (stdout) to stderr, or nowhere when ``quiet``:
    stdout holds the results only."""
    with open(os.devnull, "w") if quiet else contextlib.nullcontext(sys.stderr) as target, \
            contextlib.redirect_stdout(target):
        yield


def run(args: argparse.Namespace, argv: list[str]) -> int:
    """``dlcore train``: everything is checked (options, values, backend, device, data, model)
    before the run folder is made, so that a failed start leaves nothing."""
    check_options(args)
    values = resolve(args)
    if args.print_config:
        print(config.dump(values), end="")
        return 0
    rank = (worker_of() or (0, 1))[0]
    say: Callable[..., None] = (lambda line: None) if args.quiet or rank != 0 else \
        (lambda line: print(line, file=sys.stderr, flush=True))
    if args.workers != 1 and worker_of() is None and not args.ray:
        with contextlib.redirect_stdout(sys.stderr):
            build.load_data(values, progress=False if args.no_progress else None)  # one download, not one per worker
        if not (args.debug or args.verbose) and os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2") == "2":
            os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"  # the workers' C++ logs of a group's end (gRPC's): with --debug
        folder = RunFolder.create(values["run.dir"], values["run.name"])
        _INTERRUPTED.update(run=folder, workers=args.workers)
        say(f"run folder: {folder.path}")  # the workers' chief writes it and says nothing of it
        try:
            code = _group(args, [sys.executable, "-m", "dlcore", *argv, "--run-folder", str(folder.path)], say,
                          values.get("trainer.backend"), interrupted_note)
        except BaseException:
            folder.discard_unfinished()
            raise
        if code != 0:
            folder.discard_unfinished()
        _INTERRUPTED.clear()
        return code
    installed_backend(values.get("trainer.backend"))  # a missing framework: one line, no folder
    if not args.run_folder:  # a first line before the framework loads; the folder's comes once all checks pass
        say(f"preparing {values['data.dataset']} on {values.get('trainer.backend')}: the backend, the device, the "
            "data and the model")
    trainer = _trainer(values, args)  # the device, the group
    chief = trainer.is_chief if args.strategy and worker_of() is None else rank == 0
    if not chief:
        say = lambda line: None  # noqa: E731
    with _logs(args.quiet or not chief):
        train, test = build.load_data(values, progress=False if args.no_progress or args.quiet or not chief else None)
        model = build.make_model(values, train)
    values = _settle(values, trainer)
    if not chief:
        folder = RunFolder(tempfile.mkdtemp(prefix="dlcore-worker-"))
    elif args.run_folder:  # a worker of --workers: the parent made it and named it
        folder = RunFolder(args.run_folder)
    else:
        folder = RunFolder.create(values["run.dir"], values["run.name"])
        say(f"run folder: {folder.path}")
    (folder.path / "checkpoints").mkdir(parents=True, exist_ok=True)
    _INTERRUPTED["run"] = folder if chief else None
    try:
        if chief:
            folder.write_text("config.toml", config.dump(values, [
                f"dlcore {__version__}: dlcore train --config {folder.config_path} repeats this run"]))
            folder.write_json("environment.json", report.environment(trainer))
        return _train(args, values, trainer, (train, test, model), folder, say)
    except BaseException:
        if chief and not args.run_folder:  # nothing worth keeping where no epoch finished
            folder.discard_unfinished()
        raise
    finally:
        if not chief:
            shutil.rmtree(folder.path, ignore_errors=True)


def _reported(stopper: EarlyStopping | None) -> str:
    """The checkpoint the test metrics come from: ``best.npz`` where early stopping stopped (it
    said when and why, and its weights are restored, as Keras' restore_best_weights), else
    ``last.npz``."""
    if stopper is None or not stopper.best_epoch:
        return "last.npz"
    value = f", {stopper.monitor} {stopper.best:.4g}" if isinstance(stopper.best, (int, float)) else ""
    return f"best.npz (epoch {stopper.best_epoch}{value})"


def _train(args: argparse.Namespace, values: dict[str, Any], trainer: Trainer, data: tuple[Any, Any, Any],
           folder: RunFolder, say: Callable[..., None]) -> int:
    train, test, model = data
    quiet = args.quiet or not trainer.is_chief
    with _logs(quiet):
        group = "" if trainer.strategy is None else \
            f", {trainer.strategy.world_size} workers ({trainer.strategy.name})"
        if trainer.launcher is not None:
            group = f", {trainer.launcher.workers} workers on Ray"
        fraction = values.get("data.validation") or None
        held = f", validation: the last {fraction:.0%} of the training data" if fraction else ", no validation data"
        say(f"training {values['data.dataset']} {model.kind} on {trainer.backend_name} ({trainer.device.name}"
            f"{group}): {trainer.epochs} epochs, {trainer.optimizer} lr {trainer.lr:g}, batch {trainer.batch_size}, "
            f"seed {trainer.seed}{held}")
        resume = str(checkpoint_of(args.resume)) if args.resume else None
        if resume:
            say(f"resuming from {resume}")
        metadata = {"workload": values["data.dataset"], **describe(train, model).metadata()}
        callbacks = build.callbacks(values, folder, fraction is not None, metadata)
        if not (quiet or args.verbose or trainer.progress is None):
            callbacks.append(_PrintEpochs())
        start = time.perf_counter()
        history = trainer.fit(model, train, validation=fraction, callbacks=callbacks, resume_from=resume)
        seconds = time.perf_counter() - start
        source = _reported(next((c for c in callbacks if isinstance(c, EarlyStopping)), None))
        saved = trainer.save(model, args.save, metadata) if args.save else None
        trainer.close()
        if not trainer.is_chief:  # rank 0 reports
            return 0
        metrics = report.finish(folder, trainer, model, test, history, source.split(" ")[0])
        drawn = report.draw(folder, trainer, model, train, test, say) if values["run.plots"] else []
    _INTERRUPTED.clear()
    shown = {k: v for k, v in metrics.items() if k != "confusion_matrix"}
    say(f"saved in {folder.path}: config.toml, history.csv, metrics.json, checkpoints/, {len(drawn)} plots")
    if source != "last.npz":
        say(f"test metrics of {source}")
    accuracy = f"test accuracy: {shown['accuracy']:.2%}, " if "accuracy" in shown else ""
    print(f"{accuracy}test loss: {shown['loss']:.4f} ({seconds:.1f} s training)")
    if saved is not None:
        print(f"saved to {saved}")
    if args.json:
        print(json.dumps({"backend": trainer.backend_name, "device": trainer.device.name,
                          "workload": values["data.dataset"], "epochs": trainer.epochs, "optimizer": trainer.optimizer,
                          "lr": trainer.lr, "batch_size": trainer.batch_size, "seed": trainer.seed,
                          "train_seconds": round(seconds, 3), "run": str(folder.path),
                          "checkpoint": source.split(" ")[0],
                          **({"embedding": values["data.embedding"]} if model.kind == "text_classifier" else {}),
                          **shown}))
    return 0


__all__ = ["EXAMPLES", "add_launch_parser", "add_parser", "check_options", "check_save", "checkpoint_of",
           "interrupted_note", "launch_command", "resolve", "run"]
