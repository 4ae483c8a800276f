"""The configuration of a ``dlcore train`` run: every key, its type, default and command-line
flag, in one table (:data:`KEYS`); reading a TOML file against it, and writing the resolved
configuration back as TOML, so that ``dlcore train --config runs/NAME/version_N/config.toml``
repeats a run.

A value comes from, in rising order: the table's default, the dataset's recipe, the
``--config`` file, the command line (each key's flag, e.g. ``--epochs 3`` for ``[trainer]
epochs``). Example ``run.toml``::

    [data]
    dataset = "image-csv"         # the PyTorch tutorial's custom dataset
    train = "data/train.csv"      # rows: file name, label
    test = "data/test.csv"
    classes = ["cat", "dog"]

    [model]
    kind = "mlp"
    hidden = [256, 128]

    [trainer]
    epochs = 5
    optimizer = "adam"
    lr = 1e-3
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

from ..contract.errors import ConfigError
from ..data.datasets import registered
from ..plugins.manager import registry
from ..version import __version__

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

IMAGE_SOURCES = ("image-folder", "image-csv")  # a dataset given by its files, not by a registered name
MODEL_KINDS = ("recipe", "mlp", "cnn", "resnet")
TYPES = {"int": "an integer", "float": "a number", "str": "a string", "bool": "true or false",
         "ints": "a list of integers", "strs": "a list of strings"}
LIMITS: dict[str, tuple[Callable[[float], bool], str]] = {  # what a number may be: (check, what it must be)
    ">=1": (lambda v: v >= 1, "an integer >= 1"),
    ">=0": (lambda v: v >= 0, "a number >= 0"),
    ">0": (lambda v: v > 0, "a positive number"),
    "(0,1)": (lambda v: 0 < v < 1, "between 0 and 1 (exclusive)"),
    "[0,1)": (lambda v: 0 <= v < 1, "in [0, 1)"),
    "[0,1]": (lambda v: 0 <= v <= 1, "in [0, 1]"),
    "fraction": (lambda v: 0 <= v < 1, "between 0 and 1 (0: none; 1 excluded)"),
    "(0,1]": (lambda v: 0 < v <= 1, "in (0, 1]"),
    ">=-1": (lambda v: v >= -1, "-1 (all), 0 (none) or a count >= 1"),
}
SCHEDULES = ("step", "exponential", "cosine", "onecycle")  # dlcore.schedules' StepDecay, ExponentialDecay, ...
VALIDATION = 0.1  # the fraction ``dlcore train`` holds out where the recipe names none


@dataclass(frozen=True)
class Key:
    """One configuration key: ``[section] name``, its type (a :data:`TYPES` name), default
    (None: unset), allowed values and command-line flag."""

    section: str
    name: str
    type: str
    default: Any
    help: str
    choices: tuple[str, ...] | None = None
    flag: str | None = None  # default: --name with dashes
    limits: str | None = None  # a LIMITS name: what each number must be

    @property
    def option(self) -> str:
        return self.flag or "--" + self.name.replace("_", "-")

    @property
    def dest(self) -> str:
        return f"{self.section}.{self.name}"


def _choices(kind: str) -> tuple[str, ...]:
    if kind == "dataset":
        return (*registered(), *IMAGE_SOURCES)
    if kind == "optimizer":
        return tuple(str(name) for name in registry().optimizers.keys())
    if kind == "metric":
        return tuple(str(name) for name in registry().metrics.keys() if name != "confusion_matrix")
    return tuple(str(name) for name in registry().loggers.keys())


KEYS = (
    Key("run", "name", "str", None, "runs/NAME/version_N (default: the dataset's name)", flag="--run-name"),
    Key("run", "dir", "str", "runs", "where run folders go (default: runs)", flag="--run-dir"),
    Key("run", "plots", "bool", True, "draw the plots at the end (--no-plots: later, with dlcore plot RUN)"),
    Key("data", "dataset", "str", None, "a registered dataset, or image-folder / image-csv for your own images",
        ("dataset",)),
    Key("data", "path", "str", None, "where the dataset's files are (default: searched, else downloaded)",
        flag="--data-dir"),
    Key("data", "train", "str", None, "image-folder: the training folder (one folder per class); image-csv: "
        "the training CSV (rows: file name, label)"),
    Key("data", "test", "str", None, "image-folder / image-csv: the test folder or CSV"),
    Key("data", "images", "str", None, "image-csv: the folder of the images (default: the CSV's folder)"),
    Key("data", "classes", "strs", None, "image-csv: the class names, in label order"),
    Key("data", "resize", "ints", None, "image sources: resize every image to HEIGHT WIDTH", limits=">=1"),
    Key("data", "validation", "float", None, "fraction of the training data held out for val_loss: its last part, "
        f"as Keras' validation_split (default: the recipe's, else {VALIDATION}; 0: none)", limits="fraction"),
    Key("data", "on_bad_sample", "str", "error", "image sources: at an unreadable image or a bad row, stop "
        "(error) or leave it out and count it (skip)", ("error", "skip")),
    Key("data", "download", "bool", True, "download missing data (--no-download: fail instead)"),
    Key("data", "embedding", "str", "glove-6b-50d", "imdb: glove-6b-50d, a GloVe .txt file, a TF-Hub handle "
        "or SavedModel folder"),
    Key("data", "frozen", "bool", False, "imdb: do not train the embedding"),
    Key("model", "kind", "str", "recipe", "recipe (the dataset's own model), mlp, cnn or resnet", MODEL_KINDS,
        flag="--model"),
    Key("model", "hidden", "ints", None, "mlp: hidden layer sizes (default 512 512); cnn: one size",
        limits=">=1"),
    Key("model", "activation", "str", "relu", "mlp: relu or tanh", ("relu", "tanh")),
    Key("model", "filters", "ints", None, "cnn: filters per convolution block (default 32 64); resnet: filters "
        "per stage (default 16 32 64)", limits=">=1"),
    Key("model", "blocks", "int", None, "resnet: residual blocks per stage (default 1)", limits=">=1"),
    Key("model", "dropout", "float", None, "cnn: dropout fraction (default 0.25)", limits="[0,1)"),
    Key("trainer", "backend", "str", None, "torch, tensorflow, jax, ... (default: $DLCORE_BACKEND, else the "
        "first installed)"),
    Key("trainer", "device", "str", "auto", "auto, cpu, cuda:N, GPU:N or mps"),
    Key("trainer", "epochs", "int", None, "default: the recipe's (10 fashion-mnist, 20 imdb)", limits=">=1"),
    Key("trainer", "batch_size", "int", None, "default: the recipe's (64 fashion-mnist, 512 imdb)",
        limits=">=1"),
    Key("trainer", "optimizer", "str", None, "default: the recipe's (sgd fashion-mnist, adam imdb)",
        ("optimizer",)),
    Key("trainer", "lr", "float", None, "learning rate (default: the optimizer's, 0.001)", limits=">0"),
    Key("trainer", "momentum", "float", None, "sgd, rmsprop: momentum (default: 0)", limits=">=0"),
    Key("trainer", "weight_decay", "float", None, "L2 weight decay (adamw: decoupled; default 0, adamw 0.01)",
        limits=">=0"),
    Key("trainer", "schedule", "str", None, "learning-rate schedule: step (per epoch: times gamma every step_size "
        "epochs), exponential (per epoch: times gamma), cosine or onecycle (per update)", SCHEDULES),
    Key("trainer", "step_size", "int", None, "step: epochs between two reductions", limits=">=1"),
    Key("trainer", "gamma", "float", None, "step: the factor of each reduction (default 0.1); exponential: the "
        "factor per epoch", limits=">0"),
    Key("trainer", "warmup", "int", 0, "cosine: updates of linear warmup", limits=">=0"),
    Key("trainer", "min_factor", "float", None, "cosine: the learning rate's factor at the end (default 0)",
        limits="[0,1]"),
    Key("trainer", "pct_start", "float", None, "onecycle: the fraction of the updates rising to lr "
        "(default 0.3)", limits="(0,1]"),
    Key("trainer", "clip_norm", "float", None, "clip the gradients' global L2 norm to this", limits=">0"),
    Key("trainer", "accumulate", "int", 1, "update once per this many batches", limits=">=1"),
    Key("trainer", "precision", "str", "32", "32, bf16-mixed or 16-mixed", ("32", "bf16-mixed", "16-mixed")),
    Key("trainer", "deterministic", "bool", False, "the framework's deterministic mode"),
    Key("trainer", "seed", "int", 0, "initial weights and shuffling, the same on every backend"),
    Key("trainer", "metrics", "strs", None, "per-epoch metrics (default: accuracy)", ("metric",)),
    Key("callbacks", "early_stopping", "int", None, "stop after this many epochs without a better monitored "
        "value (the patience)", limits=">=0"),
    Key("callbacks", "reduce_lr", "int", None, "multiply the learning rate by 0.1 after this many epochs without "
        "a better monitored value (the patience)", limits=">=0"),
    Key("callbacks", "save_top_k", "int", None, "also keep the k best epochs' checkpoints (Lightning's "
        "save_top_k; -1: every epoch's)", limits=">=-1"),
    Key("callbacks", "monitor", "str", None, "what best.npz and early stopping watch (default: val_loss with "
        "validation data, else loss)"),
    Key("callbacks", "loggers", "strs", [], "loggers besides history.csv: tensorboard, or a plugin's",
        ("logger",)),
)
SECTIONS = tuple(dict.fromkeys(key.section for key in KEYS))


def key(dest: str) -> Key:
    """The key ``"section.name"``."""
    for k in KEYS:
        if k.dest == dest:
            return k
    raise KeyError(dest)


def allowed(k: Key) -> tuple[str, ...] | None:
    """The values ``k`` may take, looked up now for registry-backed keys."""
    if k.choices is None or len(k.choices) != 1 or k.choices[0] not in ("dataset", "optimizer", "metric", "logger"):
        return k.choices
    return _choices(k.choices[0])


def check(k: Key, value: Any, where: str = "") -> Any:
    """``value`` for key ``k``, converted (an int for a float key) or a ConfigError naming the
    key, what it takes and, for a closed set, the allowed values."""
    if value is None:
        return None
    name = f"{where}[{k.section}] {k.name}"
    kind = k.type
    ok = {
        "int": isinstance(value, int) and not isinstance(value, bool),
        "float": isinstance(value, (int, float)) and not isinstance(value, bool),
        "str": isinstance(value, str),
        "bool": isinstance(value, bool),
        "ints": isinstance(value, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in value),
        "strs": isinstance(value, list) and all(isinstance(v, str) for v in value),
    }[kind]
    if not ok:
        raise ConfigError(f"{name} takes {TYPES[kind]}, got {value!r}")
    if kind == "float":
        value = float(value)
        if not math.isfinite(value):
            raise ConfigError(f"{name} takes a finite number, got {value!r}")
    if k.limits is not None:
        check_limit, wanted = LIMITS[k.limits]
        for v in value if isinstance(value, list) else [value]:
            if not check_limit(v):
                raise ConfigError(f"{name} must be {wanted}, got {v!r}")
    options = allowed(k)
    if options is not None:
        for v in value if isinstance(value, list) else [value]:
            if v not in options:
                raise ConfigError(f"{name} is {v!r}; allowed: {', '.join(options)}")
    return list(value) if isinstance(value, list) else value


# Keys only some runs use: the model kinds, the datasets or the schedules that read each.
MODEL_OPTIONS = {"model.hidden": ("mlp", "cnn"), "model.activation": ("mlp",), "model.filters": ("cnn", "resnet"),
                 "model.dropout": ("cnn",), "model.blocks": ("resnet",)}
SOURCE_OPTIONS = {"data.train": IMAGE_SOURCES, "data.test": IMAGE_SOURCES, "data.resize": IMAGE_SOURCES,
                  "data.on_bad_sample": IMAGE_SOURCES, "data.images": ("image-csv",), "data.classes": ("image-csv",)}
SCHEDULE_OPTIONS = {"trainer.step_size": ("step",), "trainer.gamma": ("step", "exponential"),
                    "trainer.warmup": ("cosine",), "trainer.min_factor": ("cosine",), "trainer.pct_start": ("onecycle",)}
RECIPE_OPTIONS = ("data.embedding", "data.frozen")  # read by a registered dataset's own model (imdb's)
PATHS = ("run.dir", "data.path", "data.train", "data.test", "data.images")  # stored absolute


def _model_kind(values: dict[str, Any]) -> str:
    kind = str(values.get("model.kind") or "recipe")
    return "mlp" if kind == "recipe" and values.get("data.dataset") in IMAGE_SOURCES else kind


def _reads_options(dataset: Any) -> bool:
    """Whether the registered ``dataset``'s own model reads the recipe options (an embedding)."""
    if not dataset or dataset in IMAGE_SOURCES:
        return False
    found = registry().datasets.get(str(dataset))
    made = None if found is None else found.model
    return made is not None and made != "dlcore.models.recipes:mlp_for"


def used(dest: str, values: dict[str, Any]) -> bool:
    """Whether the run of ``values`` reads the key ``dest`` (``model.filters`` only for a cnn,
    ``data.embedding`` only for a dataset whose model has one, ...)."""
    if dest in MODEL_OPTIONS:
        return _model_kind(values) in MODEL_OPTIONS[dest]
    if dest in SOURCE_OPTIONS:
        return values.get("data.dataset") in SOURCE_OPTIONS[dest]
    if dest in SCHEDULE_OPTIONS:
        return values.get("trainer.schedule") in SCHEDULE_OPTIONS[dest]
    if dest in RECIPE_OPTIONS:
        return _model_kind(values) == "recipe" and _reads_options(values.get("data.dataset"))
    if dest in ("trainer.momentum", "trainer.weight_decay") and values.get("trainer.optimizer"):
        found = registry().optimizers.get(str(values["trainer.optimizer"]).lower())
        return found is None or dest.split(".")[1] in {**found.defaults, **found.options}
    return True


def check_used(values: dict[str, Any]) -> None:
    """A ConfigError for a key the run would ignore (a model setting of another kind of model,
    an image source's setting with a registered dataset, a schedule's setting with another
    schedule), naming it and what to do."""
    dataset = values.get("data.dataset")
    kind = _model_kind(values)
    for dest, kinds in MODEL_OPTIONS.items():
        k = key(dest)
        if values.get(dest) not in (None, k.default) and kind not in kinds:
            model = f"the {dataset} recipe's model has its own layers" if kind == "recipe" else \
                f"a {kind} does not use it"
            raise ConfigError(f"{k.option} ([model] {k.name}) needs --model {' or '.join(kinds)}: {model}; add "
                              f"--model {kinds[0]} or leave {k.option} out")
    for dest, sources in SOURCE_OPTIONS.items():
        k = key(dest)
        if values.get(dest) not in (None, k.default) and dataset not in sources:
            raise ConfigError(f"{k.option} ([data] {k.name}) is for the datasets {' and '.join(sources)}, and "
                              f"{dataset} does not use it; leave it out")
    for dest, schedules in SCHEDULE_OPTIONS.items():
        k = key(dest)
        if values.get(dest) not in (None, k.default) and values.get("trainer.schedule") not in schedules:
            raise ConfigError(f"{k.option} ([trainer] {k.name}) is a setting of --schedule "
                              f"{' or '.join(schedules)}; add --schedule {schedules[0]} or leave {k.option} out")
    if values.get("trainer.schedule") in ("step", "exponential") and values.get(
            "trainer.step_size" if values["trainer.schedule"] == "step" else "trainer.gamma") is None:
        needed = "--step-size N ([trainer] step_size: epochs between two reductions)" \
            if values["trainer.schedule"] == "step" else "--gamma G ([trainer] gamma: the factor per epoch, e.g. 0.9)"
        raise ConfigError(f"--schedule {values['trainer.schedule']} needs {needed}")
    hidden = values.get("model.hidden")
    if kind == "cnn" and hidden is not None and len(hidden) != 1:
        raise ConfigError(f"--hidden ([model] hidden) of a cnn is one size (its dense layer), got {hidden}")


def absolute(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with their paths (data folders and files, the runs' folder, an embedding
    file) absolute, so that a config file of them repeats the run from any directory."""
    resolved = dict(values)
    for dest in PATHS:
        if isinstance(resolved.get(dest), str):
            resolved[dest] = str(Path(resolved[dest]).expanduser().resolve())
    embedding = resolved.get("data.embedding")
    if isinstance(embedding, str) and "://" not in embedding and Path(embedding).expanduser().exists():
        resolved["data.embedding"] = str(Path(embedding).expanduser().resolve())
    return resolved


def read(path: str | Path) -> dict[str, Any]:
    """The values of a TOML config file, by ``"section.name"``; a ConfigError naming the file
    and the key for anything it does not know or a value of the wrong kind."""
    path = Path(path)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: cannot read the config file ({err})") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML ({err})") from None
    values: dict[str, Any] = {}
    for section, table in document.items():
        if section not in SECTIONS or not isinstance(table, dict):
            raise ConfigError(f"{path}: unknown section [{section}]; the sections are "
                              f"{', '.join(f'[{s}]' for s in SECTIONS)}")
        names = [k.name for k in KEYS if k.section == section]
        for name, value in table.items():
            if name not in names:
                raise ConfigError(f"{path}: unknown key [{section}] {name}; the keys of [{section}] are "
                                  f"{', '.join(names)}")
            values[f"{section}.{name}"] = check(key(f"{section}.{name}"), value, f"{path}: ")
    return values


def defaults() -> dict[str, Any]:
    """Every key with its default value."""
    return {k.dest: (list(k.default) if isinstance(k.default, list) else k.default) for k in KEYS}


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
        return f'"{escaped}"'
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return str(value)


def dump(values: dict[str, Any], header: Iterable[str] = ()) -> str:
    """``values`` as TOML in table order: the keys the run reads (:func:`used`), a key left
    unset (a setting that is off: no schedule, no clipping) as a comment with its help."""
    lines = [f"# {line}" for line in header] or [f"# dlcore {__version__} run configuration"]
    for section in SECTIONS:
        lines += ["", f"[{section}]"]
        for k in KEYS:
            if k.section != section or not used(k.dest, values):
                continue
            value = values.get(k.dest)
            if value is None:
                lines.append(f"# {k.name} = ...  # {k.help}")
            else:
                lines.append(f"{k.name} = {_toml(value)}")
    return "\n".join(lines) + "\n"


__all__ = ["IMAGE_SOURCES", "KEYS", "Key", "MODEL_KINDS", "SCHEDULES", "SECTIONS", "VALIDATION", "absolute",
           "allowed", "check", "check_used", "defaults", "dump", "key", "read", "used"]
