"""``dlcore evaluate``, ``predict`` and ``plot``: a run folder (or a checkpoint) used on any
backend."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..contract.errors import CheckpointError, ConfigError, DataError
from ..data.datasets import registered
from ..io.checkpoint import TrainingCheckpoint, is_checkpoint
from ..runs import build, config, report
from ..runs.folder import RunFolder
from ..runs.predict import input_of, probabilities, read_inputs
from ..training.trainer import Trainer
from .system import backend_help


def add_parsers(command: Callable[[str, str, str], argparse.ArgumentParser]) -> None:
    """The parsers of this module's commands."""
    evaluate = command("evaluate", "evaluate a run's model (or any dlcore checkpoint) on its test set, on any backend",
                       "  dlcore evaluate runs/fashion-mnist                    # the newest version's last.npz\n"
                       "  dlcore evaluate runs/fashion-mnist/version_0 --backend tensorflow\n"
                       "  dlcore evaluate model.npz --data fashion-mnist --json")
    evaluate.add_argument("model", metavar="RUN_OR_CHECKPOINT", help="a run folder (its last checkpoint) or a "
                          "checkpoint written by dlcore train or Trainer.save, under any name")
    evaluate.add_argument("--data", choices=list(registered()), help="the test set (default: the run's dataset)")
    predict = command("predict", "classify images or texts with a run's model (or a checkpoint), on any backend",
                      "  dlcore predict runs/fashion-mnist shoe.png shirt.jpg\n"
                      "  dlcore predict runs/fashion-mnist photos/ --json    # every image in the folder\n"
                      "  dlcore predict runs/imdb reviews.txt                 # one review per line\n"
                      "  dlcore predict runs/imdb \"A wonderful, moving film.\"")
    predict.add_argument("model", metavar="RUN_OR_CHECKPOINT", help="a run folder (its last checkpoint) or a checkpoint")
    predict.add_argument("inputs", nargs="+", metavar="INPUT", help="image files, folders of images, a CSV listing "
                         "images; for a text model: text files (a review per line), .json lists, folders of .txt "
                         "reviews, or the texts themselves")
    predict.add_argument("--top", type=int, default=1, help="print the K most likely classes (default: 1)")
    plot = command("plot", "draw a run's plots again: samples, learning curves, confusion matrix, top losses",
                   "  dlcore plot runs/fashion-mnist\n  dlcore plot runs/imdb/version_2 --backend torch")
    plot.add_argument("run_folder", metavar="RUN", help="a run folder")
    for parser in (evaluate, predict, plot):
        parser.add_argument("--backend", default=None, help=backend_help())
        parser.add_argument("--device", default="auto", help="auto, cpu, cuda:N, GPU:N or mps (default: auto)")
        parser.add_argument("--verbose", action="store_true", help="the frameworks' start-up logs")
    for parser in (evaluate, plot):
        parser.add_argument("--data-dir", default=None, help="where the dataset's files are (default: the run's)")
        parser.add_argument("--no-download", action="store_true", help="fail instead of downloading missing data")
    for parser in (evaluate, predict):
        parser.add_argument("--json", action="store_true", help="the results as JSON on the last line")
    evaluate.set_defaults(run=_evaluate)
    predict.set_defaults(run=_predict)
    plot.set_defaults(run=_plot)


def _exists(where: str) -> None:
    """Refuse a run folder or checkpoint ``where`` that is not there, saying so first."""
    if not Path(where).expanduser().exists():
        raise ConfigError(f"{where}: no such file or folder; give a run folder (runs/NAME, as dlcore train printed "
                          "it) or a checkpoint file")


def _open(where: str) -> tuple[Path, dict[str, Any], RunFolder | None]:
    """(checkpoint, the run's configuration or {}, the run) of a run folder or a checkpoint."""
    _exists(where)
    if RunFolder.is_run(where) or Path(where).name == "config.toml" or Path(where).expanduser().is_dir():
        run = RunFolder.open(Path(where).parent if Path(where).name == "config.toml" else where)
        return run.reported_checkpoint, config.read(run.config_path), run
    path = Path(where).expanduser()
    if path.parent.name == "checkpoints" and (path.parent.parent / "config.toml").is_file():
        run = RunFolder(path.parent.parent)
        return path, config.read(run.config_path), run
    return path, {}, None


def _metadata(path: Path) -> tuple[dict[str, Any], Any]:
    """(metadata, spec) of a dlcore checkpoint; ({}, None) for another weight format (a torch
    state_dict, a .keras file), whose own reader then says what it needs."""
    try:
        checkpoint = TrainingCheckpoint.load(path)
    except CheckpointError:
        if is_checkpoint(path):
            raise
        return {}, None
    return checkpoint.metadata, checkpoint.spec


def _data_values(values: dict[str, Any], metadata: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """The run's data settings, with the dataset ``--data`` names (else the run's, else the
    checkpoint's) and ``--data-dir``."""
    values = {**config.defaults(), **values}
    dataset = getattr(args, "data", None) or values.get("data.dataset") or metadata.get("workload")
    if not dataset:
        raise ConfigError(f"{args.model}: says nothing of its data; give --data NAME "
                          f"({', '.join(registered())})")
    if getattr(args, "data", None):
        values["data.path"] = None
    values["data.dataset"] = dataset
    if args.data_dir:
        values["data.path"] = args.data_dir
    if args.no_download:
        values["data.download"] = False
    return values


def _trainer(args: argparse.Namespace) -> Trainer:
    return Trainer(backend=args.backend, device=args.device, progress=False)


def _evaluate(args: argparse.Namespace) -> int:
    path, values, _ = _open(args.model)
    values = _data_values(values, _metadata(path)[0], args)
    trainer = _trainer(args)
    with contextlib.redirect_stdout(sys.stderr):
        model = trainer.load(path)
        _, test = build.load_data(values, progress=False)
        metrics = trainer.evaluate(model, test)
    print(f"{path} on {trainer.backend_name} ({trainer.device.name}), {values['data.dataset']} test set: "
          + (f"test accuracy {metrics['accuracy']:.2%}, " if "accuracy" in metrics else "")
          + f"test loss {metrics['loss']:.4f}")
    if args.json:
        print(json.dumps({"backend": trainer.backend_name, "device": trainer.device.name, "checkpoint": str(path),
                          "data": values["data.dataset"], **metrics}))
    return 0


def _predict(args: argparse.Namespace) -> int:
    if args.top < 1:
        raise ConfigError(f"--top takes a number >= 1, got {args.top}")
    path, values, _ = _open(args.model)
    described = input_of(*_metadata(path))
    images = values.get("data.images") if values.get("data.dataset") == "image-csv" else None
    names, features, failed = read_inputs(args.inputs, described, Path(images).expanduser() if images else None)
    for reason in failed:  # each bad input on its line; the others are predicted
        print(f"dlcore: error: {reason}", file=sys.stderr, flush=True)
    errors = [{"error": reason} for reason in failed]  # in --json's list, after the predictions
    if features is None:
        if args.json:
            print(json.dumps(errors))
        if not failed:
            raise DataError("no inputs to predict; give image files, folders of images or a CSV listing them")
        return 1
    trainer = _trainer(args)
    with contextlib.redirect_stdout(sys.stderr):
        model = trainer.load(path)
        probs = probabilities(trainer.predict(model, features))
    classes = described.class_names or tuple(str(i) for i in range(probs.shape[1]))
    results: list[dict[str, Any]] = []
    for name, row in zip(names, probs):
        best = np.argsort(-row, kind="stable")[:args.top]
        results.append({"input": name, "class": classes[best[0]], "label": int(best[0]),
                        "probability": float(row[best[0]]),
                        "top": [{"class": classes[i], "label": int(i), "probability": float(row[i])} for i in best]})
        shown = ", ".join(f"{classes[i]} ({row[i]:.1%})" for i in best)
        if not args.json:
            print(f"{name}: {shown}")
    if failed:
        print(f"dlcore: {len(failed)} input{'s' * (len(failed) > 1)} could not be read (named above); "
              f"{len(results)} predicted", file=sys.stderr)
    if args.json:
        print(json.dumps(results + errors))
    return 1 if failed else 0


def _plot(args: argparse.Namespace) -> int:
    _exists(args.run_folder)
    run = RunFolder.open(args.run_folder)
    values = _data_values(config.read(run.config_path), _metadata(run.reported_checkpoint)[0], args)
    trainer = _trainer(args)
    say = (lambda line: None) if args.quiet else (lambda line: print(line, file=sys.stderr, flush=True))
    with contextlib.redirect_stdout(sys.stderr):
        model = trainer.load(run.reported_checkpoint)
        train, test = build.load_data(values, progress=False)
        drawn = report.draw(run, trainer, model, train, test, say)
    for path in drawn:
        print(path)
    return 0


__all__ = ["add_parsers"]
