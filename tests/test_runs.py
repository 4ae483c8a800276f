"""Run folders, config files, plots, predict and the command line's conduct, as a user meets them."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import BACKENDS, takes_ctrl_c
from test_cli import assert_one_error_line, dlcore

needs_backend = pytest.mark.skipif(not BACKENDS, reason="needs a backend")
# the command line's own conduct and files, the same on every backend: run where torch is the first backend
on_the_default_backend = pytest.mark.skipif(BACKENDS[:1] != ["torch"], reason="the torch env runs it")
RUN_FILES = {"config.toml", "environment.json", "history.csv", "metrics.json", "checkpoints", "samples.png",
             "learning_curves.png", "confusion_matrix.png", "top_losses.png"}


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) of a real PNG file (its IHDR chunk)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", f"{path} is not a PNG"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def train_json(*args: str, plots: bool = False) -> dict:
    out = dlcore("train", *args, "--json", plots=plots)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.splitlines()[-1])


def write_pngs(images: np.ndarray, folder: Path) -> list[Path]:
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, image in enumerate(images):
        paths.append(folder / f"{i:03d}.png")
        Image.fromarray(image).save(paths[-1])
    return paths


@pytest.mark.skipif(len(BACKENDS) < 2, reason="across backends: the all env runs it")
def test_a_run_folder_repeats_its_run_and_every_backend_evaluates_predicts_and_plots_it(fashion_dir, tmp_path):
    first = BACKENDS[0]
    result = train_json("fashion-mnist", "--backend", first, "--data-dir", str(fashion_dir), "--epochs", "2",
                        "--optimizer", "adam", "--lr", "1e-3", "--no-progress", plots=True)
    run = Path(result["run"])
    assert run.name == "version_0" and run.parent.name == "fashion-mnist"
    assert {p.name for p in run.iterdir()} == RUN_FILES
    assert {p.name for p in (run / "checkpoints").iterdir()} == {"last.npz", "best.npz"}
    with open(run / "history.csv") as f:
        assert [row["epoch"] for row in csv.DictReader(f)] == ["1", "2"]
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["accuracy"] == result["accuracy"] >= 0.9
    assert np.asarray(metrics["confusion_matrix"]).sum() == metrics["test_samples"] == 200
    assert json.loads((run / "environment.json").read_text())["backend"] == first
    assert png_size(run / "samples.png") == (600, 600)  # 3 x 3 cells of 2 inches, 100 dpi
    assert png_size(run / "confusion_matrix.png") == (800, 800)
    assert png_size(run / "learning_curves.png")[0] >= 800

    again = train_json("--config", str(run / "config.toml"))  # the resolved config repeats the run
    assert Path(again["run"]).name == "version_1"
    assert again["accuracy"] == result["accuracy"] and again["loss"] == pytest.approx(result["loss"], abs=1e-6)

    images = write_pngs(__import__("dlcore").datasets.fashion_mnist(fashion_dir)[1].arrays()[0][:5].__mul__(255)
                        .round().astype(np.uint8), tmp_path / "images")
    answers = {}
    for backend in BACKENDS:
        evaluated = dlcore("evaluate", str(run.parent), "--backend", backend, "--json")  # the newest version
        assert evaluated.returncode == 0, evaluated.stderr
        assert json.loads(evaluated.stdout.splitlines()[-1])["accuracy"] == result["accuracy"]
        predicted = dlcore("predict", str(run), str(tmp_path / "images"), "--backend", backend, "--json", "--top", "2")
        assert predicted.returncode == 0, predicted.stderr
        answers[backend] = json.loads(predicted.stdout.splitlines()[-1])
    labels = __import__("dlcore").datasets.fashion_mnist(fashion_dir)[1].arrays()[1][:5]
    for backend, answer in answers.items():
        assert [a["input"] for a in answer] == [str(p) for p in images] and all(len(a["top"]) == 2 for a in answer)
        assert [a["label"] for a in answer] == [a["label"] for a in answers[first]]
        assert [a["probability"] for a in answer] == pytest.approx([a["probability"] for a in answers[first]], abs=1e-4)
    assert sum(a["label"] == y for a, y in zip(answers[first], labels)) >= 4  # the images are the test set's

    for png in run.glob("*.png"):
        png.unlink()
    redrawn = dlcore("plot", str(run), "--backend", BACKENDS[-1])
    assert redrawn.returncode == 0, redrawn.stderr
    assert {Path(line).name for line in redrawn.stdout.splitlines()} == {p for p in RUN_FILES if p.endswith(".png")}


@on_the_default_backend
@pytest.mark.slow  # one backend's: the torch env runs it
def test_an_imdb_run_predicts_texts_and_plots_their_losses(tmp_path):
    from text_fixtures import write_acl_imdb, write_glove

    write_acl_imdb(tmp_path / "aclImdb", n=120)
    glove = write_glove(tmp_path / "glove.txt")
    result = train_json("imdb", "--backend", BACKENDS[0], "--data-dir", str(tmp_path), "--embedding", str(glove),
                        "--epochs", "5", "--batch-size", "32", "--lr", "1e-2", plots=True)
    run = Path(result["run"])
    assert (run / "top_losses.png").is_file() and not (run / "samples.png").exists()  # no image grid of texts
    reviews = tmp_path / "reviews.txt"
    reviews.write_text("a wonderful moving film, brilliant and beautiful\n\nawful boring waste, terrible acting\n")
    out = dlcore("predict", str(run), str(reviews), "a brilliant wonderful film", "--json")
    assert out.returncode == 0, out.stderr
    answers = json.loads(out.stdout.splitlines()[-1])
    text = dlcore("predict", str(run), "a brilliant wonderful film", "--top", "2")
    assert text.returncode == 0 and text.stdout.startswith("a brilliant wonderful film: ") and text.stdout.count("%") == 2
    assert [a["input"] for a in answers] == [f"{reviews}:1", f"{reviews}:3", "a brilliant wonderful film"]
    assert {a["class"] for a in answers} <= {"negative", "positive"}


def test_print_config_resolves_the_file_and_the_flags(tmp_path):
    config = tmp_path / "run.toml"
    config.write_text('[data]\ndataset = "fashion-mnist"\n\n[model]\nkind = "mlp"\nhidden = [64, 32]\n\n'
                      '[trainer]\nepochs = 5\noptimizer = "adam"\n')
    out = dlcore("train", "--config", str(config), "--epochs", "3", "--early-stopping", "3", "--reduce-lr", "2",
                 "--metrics", "accuracy", "f1", "--print-config")
    assert out.returncode == 0, out.stderr
    import tomllib

    printed = tomllib.loads(out.stdout)
    assert printed["trainer"]["epochs"] == 3 and printed["trainer"]["optimizer"] == "adam"  # a flag wins
    assert printed["model"]["hidden"] == [64, 32] and printed["trainer"]["batch_size"] == 64  # the recipe's
    assert printed["data"]["dataset"] == "fashion-mnist" and printed["run"]["name"] == "fashion-mnist"
    assert printed["callbacks"] == {"early_stopping": 3, "reduce_lr": 2, "monitor": "val_loss", "loggers": []}
    assert printed["trainer"]["metrics"] == ["accuracy", "f1"] and printed["data"]["validation"] == 0.1
    from dlcore.runs import RunFolder, build

    values = {f"{k}.{n}": v for k, table in printed.items() for n, v in table.items()}
    made = build.callbacks(values, RunFolder.create(tmp_path / "runs", "x"), validation=True)
    assert [type(c).__name__ for c in made] == ["ModelCheckpoint", "CSVLogger", "EarlyStopping", "ReduceLROnPlateau"]
    assert made[2].monitor == made[3].monitor == "val_loss"  # the last 10% of the training data held out
    del values["callbacks.monitor"]
    made = build.callbacks(values, RunFolder.create(tmp_path / "runs", "x"), validation=False)
    assert made[2].monitor == made[3].monitor == "loss"  # --validation 0: none


@pytest.mark.parametrize("text, message", [
    ("[trainer]\nepoch = 3\n", "unknown key [trainer] epoch; the keys of [trainer] are backend, device, epochs"),
    ("[trainer]\nepochs = \"3\"\n", "[trainer] epochs takes an integer, got '3'"),
    ("[trainer]\noptimizer = \"adamx\"\n", "[trainer] optimizer is 'adamx'; allowed: sgd, adam, adamw, rmsprop"),
    ("[model]\nkind = \"vit\"\n", "[model] kind is 'vit'; allowed: recipe, mlp, cnn, resnet"),
    ("[trianer]\nepochs = 3\n", "unknown section [trianer]; the sections are [run], [data], [model]"),
    ("[trainer\n", "not valid TOML"),
])
def test_an_invalid_config_is_one_line_naming_the_key_and_the_allowed_values(text, message, tmp_path):
    config = tmp_path / "run.toml"
    config.write_text(text)
    out = dlcore("train", "fashion-mnist", "--config", str(config), "--print-config")
    assert_one_error_line(out, message)
    assert str(config) in out.stderr


@on_the_default_backend
@pytest.mark.slow  # one backend's: the torch env runs it
def test_your_own_images_in_csv_files_train_from_a_config_without_python(tmp_path):
    """The PyTorch tutorial's custom dataset (a CSV of file names and labels, a folder of
    images), your own MLP's sizes, from a config file: it learns, and predict reads the CSV."""
    from dlcore.testing.data import learnable_images

    for split, n, seed in (("train", 400, 0), ("test", 100, 1)):
        images, labels = learnable_images(n, seed)
        paths = write_pngs(images, tmp_path / "images" / split)
        (tmp_path / f"{split}.csv").write_text("".join(f"images/{split}/{p.name},{y}\n" for p, y in zip(paths, labels)))
    config = tmp_path / "run.toml"
    config.write_text(f'[run]\nname = "bands"\n\n[data]\ndataset = "image-csv"\ntrain = "{tmp_path / "train.csv"}"\n'
                      f'test = "{tmp_path / "test.csv"}"\nclasses = [{", ".join(f"{chr(34)}band {i}{chr(34)}" for i in range(10))}]\n\n'
                      '[model]\nkind = "mlp"\nhidden = [64]\n\n[trainer]\nepochs = 8\noptimizer = "adam"\nlr = 3e-3\n'
                      f'backend = "{BACKENDS[0]}"\n')
    result = train_json("--config", str(config))
    assert result["accuracy"] >= 0.9 and Path(result["run"]).parent.name == "bands"
    out = dlcore("predict", result["run"], str(tmp_path / "test.csv"), "--json")
    assert out.returncode == 0, out.stderr
    answers = json.loads(out.stdout.splitlines()[-1])
    truth = [int(line.split(",")[1]) for line in (tmp_path / "test.csv").read_text().splitlines()]
    assert len(answers) == 100 and answers[0]["class"].startswith("band ")
    assert np.mean([a["label"] == y for a, y in zip(answers, truth)]) == pytest.approx(result["accuracy"])


@on_the_default_backend
@pytest.mark.slow  # one backend's: the torch env runs it
def test_ctrl_c_keeps_the_finished_epochs_and_exits_130(fashion_dir, tmp_path):
    process = subprocess.Popen([sys.executable, "-m", "dlcore", "train", "fashion-mnist", "--backend", BACKENDS[0],
                                "--data-dir", str(fashion_dir), "--epochs", "500", "--no-progress"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy(),
                               preexec_fn=takes_ctrl_c)
    lines = []
    while not any(line.startswith("epoch 2/") for line in lines):
        line = process.stderr.readline()
        assert line, f"training ended early: {''.join(lines)}"
        lines.append(line)
    process.send_signal(signal.SIGINT)
    _, rest = process.communicate(timeout=120)
    assert process.returncode == 130, rest
    run = Path(next(line for line in lines if line.startswith("run folder: ")).split(": ", 1)[1].strip())
    finished = sum(line.startswith("epoch ") for line in lines + rest.splitlines())
    note = rest.strip().splitlines()[-1]
    assert note.startswith("dlcore: interrupted; the ") and f"{run / 'checkpoints' / 'last.npz'}" in note
    assert note.startswith(f"dlcore: interrupted; the {finished} finished epochs are in ")
    from dlcore import TrainingCheckpoint

    assert TrainingCheckpoint.load(run / "checkpoints" / "last.npz").state["epoch"] == finished >= 2
    resumed = dlcore("train", "fashion-mnist", "--backend", BACKENDS[0], "--data-dir", str(fashion_dir),
                     "--epochs", str(finished + 1), "--resume", str(run), "--no-progress")
    assert resumed.returncode == 0, resumed.stderr
    assert f"epoch {finished + 1}/{finished + 1}" in resumed.stderr and "epoch 1/" not in resumed.stderr


@on_the_default_backend
@pytest.mark.slow  # one backend's: the torch env runs it
def test_quiet_prints_the_results_only_and_a_failed_start_leaves_no_run_folder(fashion_dir, tmp_path):
    runs = tmp_path / "runs"
    out = dlcore("train", "fashion-mnist", "--backend", BACKENDS[0], "--data-dir", str(fashion_dir), "--epochs", "1",
                 "--quiet", "--run-dir", str(runs))
    assert out.returncode == 0 and out.stderr == ""
    assert out.stdout.startswith("test accuracy: ") and len(out.stdout.splitlines()) == 1
    assert not list((runs / "fashion-mnist" / "version_0").glob("*.png"))  # --no-plots (the tests' dlcore() adds it)
    broken = dlcore("train", "fashion-mnist", "--backend", BACKENDS[0], "--data-dir", str(tmp_path / "none"),
                    "--no-download", "--run-dir", str(runs))
    assert_one_error_line(broken, "Fashion-MNIST files not found", status=1)
    assert [p.name for p in (runs / "fashion-mnist").iterdir()] == ["version_0"]


def test_an_unexpected_error_is_one_line_and_debug_shows_the_traceback(tmp_path):
    bad = tmp_path / "config.toml"
    bad.write_bytes(b"\xff\xfe not utf-8")
    out = dlcore("train", "--config", str(bad), "--print-config")
    assert_one_error_line(out, "cannot read the config file")
    traced = dlcore("train", "--config", str(bad), "--print-config", "--debug")
    assert "Traceback (most recent call last)" in traced.stderr and traced.returncode == 2


def test_every_command_has_help_with_examples():
    for command in ("train", "evaluate", "predict", "plot", "launch", "devices", "backends", "info", "env"):
        out = dlcore(command, "--help")
        assert out.returncode == 0 and "examples:\n  dlcore " in out.stdout, command


def test_plots_draw_real_pngs_of_any_image_dataset(tmp_path):
    from dlcore import ArrayDataset, plots
    from dlcore.testing.data import learnable_images

    images, labels = learnable_images(20, 0)
    data = ArrayDataset(images.astype(np.float32) / 255, labels.astype(np.int64), [f"band {i}" for i in range(10)])
    figure = plots.samples(data, 16, 4, tmp_path / "grid.png")
    assert png_size(tmp_path / "grid.png") == (800, 800)
    assert [a.get_title() for a in figure.axes] == [f"band {y}" for y in labels[np.sort(
        np.random.default_rng(0).permutation(20)[:16])]]
    matrix = np.array([[5, 1], [2, 7]])
    figure = plots.confusion_matrix(matrix, ["no", "yes"], tmp_path / "cm.png")
    assert png_size(tmp_path / "cm.png") == (400, 400) and "15 samples, 80.00% correct" == figure.axes[0].get_title()
    binary = plots.confusion_matrix([7, 1, 2, 5])  # a one-logit model's (tp, fp, fn, tn): rows true 0, 1
    assert binary.axes[0].images[0].get_array().tolist() == [[5, 1], [2, 7]]
    records = [{"epoch": e, "loss": 1 / e, "accuracy": e / 4, "val_loss": 1.2 / e, "val_accuracy": e / 5,
                "lr": 1e-3, "seconds": 1.0} for e in (1, 2, 3)]
    figure = plots.learning_curves(records, tmp_path / "curves.png")
    assert [a.get_title() for a in figure.axes] == ["loss", "accuracy"]  # a constant rate: in the title
    assert png_size(tmp_path / "curves.png") == (800, 300)
    with pytest.raises(__import__("dlcore").ConfigError, match="not images"):
        plots.samples(ArrayDataset(np.zeros((4, 5), np.float32), np.zeros(4, np.int64)))


def test_a_plugin_logger_records_the_run(tmp_path):
    """A logger a plugin registers (as an MLflow plugin would) gets the run's folder and every epoch."""
    from dlcore import Callback, hookimpl
    from dlcore.contract import LoggerInfo
    from dlcore.plugins import registry_of
    from dlcore.runs import RunFolder, build

    seen = []

    class Logger(Callback):
        def __init__(self, folder):
            seen.append(folder)

    class Plugin:
        @hookimpl
        def dlcore_loggers(self):
            return [LoggerInfo("mine", Logger, "records runs somewhere")]

    with registry_of(Plugin()):
        run = RunFolder.create(tmp_path, "x")
        made = build.callbacks({"callbacks.loggers": ["mine"]}, run, validation=False)
        assert seen == [run.path] and any(isinstance(c, Logger) for c in made)
        with pytest.raises(__import__("dlcore").ConfigError, match="unknown logger 'nope'; choose one of csv, "):
            build.callbacks({"callbacks.loggers": ["nope"]}, run, validation=False)


def printed_config(*args: str, cwd: Path | None = None) -> dict:
    out = dlcore("train", *args, "--print-config", cwd=cwd)
    assert out.returncode == 0, out.stderr
    import tomllib

    return tomllib.loads(out.stdout)


@on_the_default_backend
@pytest.mark.slow  # one backend's: the torch env runs it
def test_a_run_config_stores_absolute_paths_and_repeats_the_run_from_any_directory(tmp_path):
    """Issue 33: relative paths (--data-dir fm, the runs folder) are stored resolved, so that
    dlcore train --config runs/.../config.toml repeats the run from another directory."""
    from dlcore.testing.data import write_fashion_mnist

    here, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    write_fashion_mnist(here / "fm", n_train=200, n_test=50)
    elsewhere.mkdir()
    first = dlcore("train", "fashion-mnist", "--data-dir", "fm", "--run-dir", "runs", "--epochs", "1", "--json", cwd=here)
    assert first.returncode == 0, first.stderr
    run = Path(json.loads(first.stdout.splitlines()[-1])["run"])
    import tomllib

    stored = tomllib.loads((run / "config.toml").read_text())
    assert stored["data"]["path"] == str(here / "fm") and stored["run"]["dir"] == str(here / "runs")
    again = dlcore("train", "--config", str(run / "config.toml"), "--json", cwd=elsewhere)
    assert again.returncode == 0, again.stderr
    assert Path(json.loads(again.stdout.splitlines()[-1])["run"]) == here / "runs" / "fashion-mnist" / "version_1"
    assert not list(elsewhere.iterdir())


@on_the_default_backend
def test_print_config_carries_the_workloads_keys_only_fully_resolved(tmp_path):
    """Issue 33: no imdb keys (embedding) in a Fashion-MNIST config, and backend, lr, metrics,
    the validation fraction and the monitored value written out, not commented."""
    fashion = printed_config("fashion-mnist", "--data-dir", "fm", "--run-dir", "runs", cwd=tmp_path)
    assert "embedding" not in fashion["data"] and "frozen" not in fashion["data"]
    assert fashion["data"]["path"] == str(tmp_path / "fm") and fashion["run"]["dir"] == str(tmp_path / "runs")
    trainer = fashion["trainer"]
    assert (trainer["backend"], trainer["lr"], trainer["metrics"], trainer["momentum"]) == \
        (BACKENDS[0], 0.001, ["accuracy"], 0.0)
    assert fashion["data"]["validation"] == 0.1 and fashion["callbacks"]["monitor"] == "val_loss"
    assert "hidden" not in fashion["model"] and "activation" not in fashion["model"]  # the recipe's own model
    imdb = printed_config("imdb", "--optimizer", "adam")
    assert imdb["data"]["embedding"] == "glove-6b-50d" and "momentum" not in imdb["trainer"]  # adam has none
    off = printed_config("fashion-mnist", "--validation", "0")
    assert off["data"]["validation"] == 0.0 and off["callbacks"]["monitor"] == "loss"


@pytest.mark.parametrize("text, message", [
    ("[trainer]\nlr = -1\n", "[trainer] lr must be a positive number, got -1.0"),
    ("[trainer]\nepochs = 0\n", "[trainer] epochs must be an integer >= 1, got 0"),
    ("[trainer]\nbatch_size = 0\n", "[trainer] batch_size must be an integer >= 1, got 0"),
    ("[trainer]\nschedule = \"linear\"\n", "[trainer] schedule is 'linear'; allowed: step, exponential, cosine, "
                                           "onecycle"),
    ("[trainer]\nschedule = \"step\"\n", "--schedule step needs --step-size N"),
    ("[trainer]\nschedule = \"exponential\"\n", "--schedule exponential needs --gamma G"),
    ("[trainer]\ngamma = 0.5\n", "--gamma ([trainer] gamma) is a setting of --schedule step or exponential"),
    ("[trainer]\nschedule = \"cosine\"\nmin_factor = 2\n", "[trainer] min_factor must be in [0, 1], got 2.0"),
    ("[data]\nvalidation = 1.0\n", "[data] validation must be between 0 and 1 (0: none; 1 excluded), got 1.0"),
    ("[data]\non_bad_sample = \"ignore\"\n", "[data] on_bad_sample is 'ignore'; allowed: error, skip"),
    ("[data]\non_bad_sample = \"skip\"\n", "--on-bad-sample ([data] on_bad_sample) is for the datasets image-folder"),
    ("[callbacks]\nsave_top_k = -2\n", "[callbacks] save_top_k must be -1 (all), 0 (none) or a count >= 1"),
])
def test_config_values_are_checked_when_read(text, message, tmp_path):
    """Issue 33: a wrong value fails at --print-config, one line naming the key and the rule."""
    config = tmp_path / "run.toml"
    config.write_text(text)
    assert_one_error_line(dlcore("train", "fashion-mnist", "--config", str(config), "--print-config"), message)


@pytest.mark.parametrize("flags, made", [
    (["--schedule", "step", "--step-size", "2"], "StepDecay(unit='epoch', total=None, step_size=2, gamma=0.1)"),
    (["--schedule", "exponential", "--gamma", "0.9"], "ExponentialDecay(unit='epoch', total=None, gamma=0.9)"),
    (["--schedule", "cosine", "--warmup", "2", "--min-factor", "0.1"],
     "CosineDecay(unit='step', total=None, warmup=2, min_factor=0.1)"),
    (["--schedule", "onecycle", "--pct-start", "0.2"],
     "OneCycle(unit='step', total=None, pct_start=0.2, div_factor=25.0, final_div_factor=10000.0)"),
])
def test_every_schedule_is_reachable_from_the_command_line_and_the_config(flags, made, tmp_path):
    """Issue 33: dlcore.schedules' step, exponential, cosine and one-cycle with their settings."""
    from dlcore.cli import _parser
    from dlcore.cli.train import resolve
    from dlcore.runs import build

    printed = printed_config("fashion-mnist", *flags)
    assert printed["trainer"]["schedule"] == flags[1]
    assert repr(build.schedule(resolve(_parser().parse_args(["train", "fashion-mnist", *flags])))) == made
    config = tmp_path / "run.toml"
    config.write_text("[trainer]\n" + "".join(f"{flag[2:].replace('-', '_')} = {json.dumps(value)}\n" for flag, value in
                                              zip(flags[::2], [printed["trainer"][f[2:].replace("-", "_")]
                                                               for f in flags[::2]])))
    from_file = resolve(_parser().parse_args(["train", "fashion-mnist", "--config", str(config)]))
    assert repr(build.schedule(from_file)) == made


@on_the_default_backend
@pytest.mark.slow  # one backend's: the torch env runs it
def test_a_step_schedule_from_the_command_line_sets_each_epochs_rate(fashion_dir):
    result = train_json("fashion-mnist", "--data-dir", str(fashion_dir), "--epochs", "3", "--lr", "0.1",
                        "--schedule", "step", "--step-size", "1", "--gamma", "0.5")
    from dlcore.runs import RunFolder

    assert [row["lr"] for row in RunFolder(result["run"]).history()] == pytest.approx([0.1, 0.05, 0.025])
