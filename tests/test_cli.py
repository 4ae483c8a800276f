"""The dlcore command, as a user runs it."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import BACKENDS, BOTH, entry_point
from dlcore.testing.distributed import written


def dlcore(*args, env=None, timeout=300, plots=False, cwd=None):
    """Run the dlcore command (python -m dlcore) as a user would, in ``cwd``; ``dlcore train``
    without its plots unless asked (tests/test_runs.py checks them)."""
    if args[:1] == ("train",) and not plots:
        args = (*args, "--no-plots")
    return subprocess.run([sys.executable, "-m", "dlcore", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=timeout, cwd=cwd)


def test_help_lists_the_commands():
    out = dlcore("--help")
    assert out.returncode == 0
    for command in ("train", "devices", "backends", "info"):
        assert command in out.stdout


def test_backend_help_lists_the_installed_backends_and_how_to_install_the_others(tmp_path):
    """With a plugin's backend whose framework is missing: it is listed with what installs it."""
    (tmp_path / "ghost_plugin.py").write_text(
        "from dlcore import hookimpl\nfrom dlcore.contract import BackendInfo\n\n\n@hookimpl\n"
        "def dlcore_backends():\n    return [BackendInfo('ghost', 'ghost_plugin:nothing', requires=('no_such_framework',))]\n")
    entry_point(tmp_path, "ghost", "ghost_plugin")
    paths = os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))
    out = dlcore("train", "--help", env={"COLUMNS": "400", "PYTHONPATH": paths})
    assert out.returncode == 0, out.stderr
    described = out.stdout.split("\n  --backend BACKEND", 1)[1].split("\n  --device", 1)[0]
    assert described.split("(default")[0].split(";")[0].strip() == (", ".join(BACKENDS) or "none installed")
    for name in {"torch", "tensorflow"} - set(BACKENDS):
        assert f"{name} (not installed: pip install" in described
    assert "ghost (not installed: pip install no_such_framework)" in described


def test_backends_shows_default_and_extras():
    out = dlcore("backends")
    assert out.returncode == 0
    rows = {line.split()[0]: line for line in out.stdout.splitlines()[1:]}
    assert "pip install 'dlcore-ml[torch]'" in rows["torch"] and "pip install 'dlcore-ml[tf]'" in rows["tensorflow"]


@pytest.mark.slow  # per backend: each backend's env runs its own, `all` need not repeat them
@pytest.mark.parametrize("backend", BACKENDS)
def test_train_prints_progress_and_json_metrics(backend, fashion_dir, tmp_path):
    out = dlcore("train", "fashion-mnist", "--backend", backend, "--data-dir", str(fashion_dir),
                 "--epochs", "3", "--optimizer", "adam", "--lr", "1e-3", "--seed", "0",
                 "--device", "cpu", "--json", "--save", str(tmp_path / "m.npz"))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    logs = out.stderr.splitlines()  # progress and logs on stderr, results on stdout
    assert logs[0].startswith(f"preparing fashion-mnist on {backend}: ") and logs[1].startswith("run folder: ")
    assert [l.split(":")[0] for l in logs if l.startswith("epoch ")] == ["epoch 1/3", "epoch 2/3", "epoch 3/3"]
    assert not any(l.startswith("epoch ") for l in lines)
    assert lines[0].startswith("test accuracy:")
    result = json.loads(lines[-1])
    assert result["backend"] == backend and result["accuracy"] >= 0.9
    assert set(result) >= {"loss", "accuracy", "epochs", "optimizer", "device"}
    assert (tmp_path / "m.npz").is_file()
    assert "Epoch 1/3" not in out.stderr  # no progress bar when stderr is not a terminal


def test_environment_variable_picks_the_backend(fashion_dir):
    backend = BACKENDS[-1] if BACKENDS else pytest.skip("no backend installed")
    out = dlcore("train", "fashion-mnist", "--data-dir", str(fashion_dir), "--epochs", "1", "--json",
                 env={"DLCORE_BACKEND": backend})
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.splitlines()[-1])["backend"] == backend


def assert_one_error_line(out, message, status=2):
    """Exit ``status`` (2: a usage mistake; 1: a failure while running) and one line on stderr,
    ``dlcore: error: ...``, holding ``message``, after the first line (what it prepares) if any."""
    lines = [line for line in out.stderr.splitlines() if line.strip() and not line.startswith("preparing ")]
    assert out.returncode == status, f"exit status {out.returncode}, stderr: {out.stderr[-2000:]}"
    assert len(lines) == 1 and lines[0].startswith("dlcore: error: "), f"not one error line: {out.stderr[-2000:]}"
    assert message in lines[0]


@pytest.mark.slow  # each backend's env runs them, `all` need not repeat them
@pytest.mark.parametrize("args, message", [
    (["--backend", "mxnet"], "unknown backend 'mxnet'"),
    (["--device", "cuda:9", "--backend", "torch"], "'cuda:9' does not exist"),
    (["--epochs", "1", "--lr", "-1"], "lr must be a positive number"),
    (["--epochs", "0"], "epochs must be an integer >= 1, got 0"),
    (["--batch-size", "0"], "batch_size must be an integer >= 1"),
])
def test_mistakes_end_in_one_clear_line(args, message, fashion_dir):
    if ("torch" in args and "torch" not in BACKENDS) or (not BACKENDS and "mxnet" not in args):
        pytest.skip("needs the backend it names")
    out = dlcore("train", "fashion-mnist", "--data-dir", str(fashion_dir), *args)
    assert_one_error_line(out, message)


def test_missing_data_without_download(tmp_path):
    """Without data (and, in the core alone, without any backend): one line saying which."""
    out = dlcore("train", "fashion-mnist", "--data-dir", str(tmp_path), "--no-download")
    if BACKENDS:
        assert_one_error_line(out, "Fashion-MNIST files not found", status=1)
    else:
        assert_one_error_line(out, "no backend is installed; install one")


def test_corrupt_data_file_ends_in_one_line_naming_it(tmp_path):
    if not BACKENDS:
        pytest.skip("no backend installed")
    from conftest import write_fashion_mnist

    folder = write_fashion_mnist(tmp_path / "fmnist")
    (folder / "train-labels-idx1-ubyte.gz").write_bytes(b"\x1f\x8b not gzip at all")
    out = dlcore("train", "fashion-mnist", "--data-dir", str(folder), "--epochs", "1")
    assert_one_error_line(out, "train-labels-idx1-ubyte.gz: damaged gzip", status=1)


def test_unknown_embedding_ends_in_one_line(tmp_path):
    if not BACKENDS:
        pytest.skip("no backend installed")
    from text_fixtures import write_acl_imdb

    write_acl_imdb(tmp_path / "aclImdb")
    out = dlcore("train", "imdb", "--data-dir", str(tmp_path), "--embedding", "no-such-embedding", "--epochs", "1")
    assert_one_error_line(out, "unknown embedding 'no-such-embedding'", status=1)


def test_usage_mistakes_exit_with_status_2_and_success_with_0():
    out = dlcore("train", "cifar")
    assert out.returncode == 2 and "invalid choice: 'cifar'" in out.stderr
    assert dlcore("--version").returncode == 0


@pytest.mark.skipif(not BACKENDS, reason="no backend installed")
@pytest.mark.slow  # imports every framework twice: each backend's env runs it with its own
def test_devices_info_and_env():
    """devices asks the frameworks once and then answers from the cache; info imports no
    framework and shows the GPUs devices found; env asks the frameworks for their facts: what
    a bug report needs."""
    out = dlcore("devices")
    assert out.returncode == 0, out.stderr
    rows = [line.split() for line in out.stdout.splitlines()[1:]]
    assert {r[0] for r in rows} == set(BACKENDS)
    assert all(r[3] == "*" for r in rows if r[2] == "cpu" and not any(x[2] == "gpu" and x[0] == r[0] for x in rows))
    again = dlcore("devices")
    assert again.stdout == out.stdout and "as found before" in again.stderr
    info = dlcore("info")
    assert info.returncode == 0, info.stderr
    assert f"dlcore version: {__import__('dlcore').__version__}" in info.stdout
    for backend in BACKENDS:
        assert f"{backend} GPU is" in info.stdout
    env = dlcore("env", "--json")
    assert env.returncode == 0, env.stderr
    report = json.loads(env.stdout.strip().splitlines()[-1])
    assert report["dlcore"] == __import__("dlcore").__version__ and report["distribution"] == "dlcore-ml"
    assert {"numpy", "pluggy"} <= set(report["packages"]) and report["python"]
    assert set(report["backends"]) >= {"torch", "tensorflow"}
    for backend in BACKENDS:
        entry = report["backends"][backend]
        assert entry["installed"] and entry["versions"] and entry["devices"]
        assert report["plugins"][backend] == {"jax": "dlcore-ml-jax"}.get(backend, "dlcore-ml")
    if "tensorflow" in BACKENDS:
        assert report["backends"]["tensorflow"]["facts"]["eager mode"] == "True"


def test_info_imports_no_framework():
    code = ("import sys\nfrom dlcore.cli import main\nassert main(['info']) == 0\n"
            "print(sorted(m for m in ('torch', 'tensorflow', 'jax') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-1] == "[]"
    assert "dlcore version:" in out.stdout


@pytest.mark.slow  # per backend: each backend's env runs its own, `all` need not repeat them
@pytest.mark.parametrize("backend", BACKENDS)
def test_train_imdb_with_a_glove_file(backend, tmp_path):
    from text_fixtures import write_acl_imdb, write_glove

    write_acl_imdb(tmp_path / "aclImdb", n=200)
    glove = write_glove(tmp_path / "glove.txt")
    out = dlcore("train", "imdb", "--backend", backend, "--data-dir", str(tmp_path), "--embedding", str(glove),
                 "--epochs", "30", "--batch-size", "32", "--lr", "1e-2", "--json")
    assert out.returncode == 0, out.stderr
    assert "embedding: TextEmbedding(" in out.stderr
    result = json.loads(out.stdout.splitlines()[-1])
    assert result["workload"] == "imdb" and result["optimizer"] == "adam" and result["accuracy"] >= 0.9


@pytest.mark.skipif(not BOTH, reason="needs both backends")
@pytest.mark.parametrize("trained_on, evaluated_on", [("torch", "tensorflow"), ("tensorflow", "torch")])
def test_checkpoint_evaluates_the_same_on_the_other_backend(trained_on, evaluated_on, fashion_dir, tmp_path):
    path = tmp_path / "model.npz"
    trained = dlcore("train", "fashion-mnist", "--backend", trained_on, "--data-dir", str(fashion_dir),
                     "--epochs", "1", "--json", "--save", str(path))
    assert trained.returncode == 0, trained.stderr
    evaluated = dlcore("evaluate", str(path), "--backend", evaluated_on, "--data", "fashion-mnist",
                       "--data-dir", str(fashion_dir), "--json")
    assert evaluated.returncode == 0, evaluated.stderr
    before, after = (json.loads(out.stdout.splitlines()[-1]) for out in (trained, evaluated))
    assert after["backend"] == evaluated_on
    assert after["accuracy"] == before["accuracy"]
    assert after["loss"] == pytest.approx(before["loss"], abs=1e-4)


@pytest.mark.skipif(not BOTH, reason="needs both backends")
@pytest.mark.parametrize("first, then", [("torch", "tensorflow"), ("tensorflow", "torch")])
def test_resume_on_the_other_backend_from_the_command_line(first, then, fashion_dir, tmp_path):
    """Two epochs of AdamW on one backend, the third resumed on the other, end where three
    epochs on the second backend do (test loss to 1e-4). (A schedule spans the epochs a run is
    given, so a 2-epoch run's schedule is not the first two epochs of a 3-epoch run's.)"""
    common = ("train", "fashion-mnist", "--data-dir", str(fashion_dir), "--optimizer", "adamw", "--lr", "1e-3",
              "--weight-decay", "0.05", "--seed", "0", "--json", "--no-progress")
    path = tmp_path / "a.npz"
    two = dlcore(*common, "--backend", first, "--epochs", "2", "--save", str(path))
    assert two.returncode == 0, two.stderr
    resumed = dlcore(*common, "--backend", then, "--epochs", "3", "--resume", str(path))
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming from {path}" in resumed.stderr and "epoch 3/3" in resumed.stderr
    assert "epoch 1/3" not in resumed.stderr and "epoch 2/3" not in resumed.stderr
    three = dlcore(*common, "--backend", then, "--epochs", "3")
    got, want = (json.loads(out.stdout.splitlines()[-1]) for out in (resumed, three))
    assert got["backend"] == then
    assert got["loss"] == pytest.approx(want["loss"], abs=1e-4)
    assert got["accuracy"] == pytest.approx(want["accuracy"], abs=1e-3)


@pytest.mark.skipif(not BACKENDS, reason="needs a backend")
def test_resume_takes_the_optimizer_from_the_checkpoint_and_any_name_evaluates(tmp_path, fashion_dir):
    """--save under a name without a suffix, --resume without --optimizer (the checkpoint's
    Adam and learning rate), and evaluate of that file."""
    common = ("train", "fashion-mnist", "--backend", BACKENDS[0], "--data-dir", str(fashion_dir), "--no-progress",
              "--json", "--seed", "0")
    first = dlcore(*common, "--optimizer", "adam", "--lr", "2e-3", "--epochs", "1", "--save", str(tmp_path / "model"))
    assert first.returncode == 0, first.stderr
    resumed = dlcore(*common, "--epochs", "2", "--resume", str(tmp_path / "model"))
    assert resumed.returncode == 0, resumed.stderr
    assert "epoch 2/2" in resumed.stderr and "adam lr 0.002" in resumed.stderr
    evaluated = dlcore("evaluate", str(tmp_path / "model"), "--backend", BACKENDS[0], "--data", "fashion-mnist",
                       "--data-dir", str(fashion_dir), "--json")
    assert evaluated.returncode == 0, evaluated.stderr
    assert json.loads(evaluated.stdout.splitlines()[-1])["accuracy"] == json.loads(first.stdout.splitlines()[-1])["accuracy"]


@pytest.mark.skipif(not BACKENDS, reason="needs a backend")
def test_verbose_logs_the_loss_and_each_epoch_once(fashion_dir):
    out = dlcore("train", "fashion-mnist", "--backend", BACKENDS[0], "--data-dir", str(fashion_dir), "--epochs", "2",
                 "--no-progress", "--verbose")
    assert out.returncode == 0, out.stderr
    summaries = [line for line in out.stderr.splitlines() if line.lower().startswith(("epoch 1/2:", "epoch 2/2:"))]
    assert len(summaries) == 2, out.stderr
    assert any(line.startswith("loss:") for line in out.stderr.splitlines())
    assert out.stdout.splitlines()[0].startswith("test accuracy:")  # logs on stderr, results on stdout


def test_evaluate_refuses_a_damaged_checkpoint(tmp_path, fashion_dir):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"PK\x03\x04 not really a checkpoint")
    if not BACKENDS:
        pytest.skip("no backend installed")
    out = dlcore("evaluate", str(bad), "--data", "fashion-mnist", "--data-dir", str(fashion_dir))
    assert_one_error_line(out, "bad.npz", status=1)


@pytest.mark.skipif(not BOTH, reason="needs both backends")
def test_imdb_checkpoint_evaluates_the_same_on_tensorflow(tmp_path):
    from text_fixtures import write_acl_imdb, write_glove

    write_acl_imdb(tmp_path / "aclImdb", n=120)
    glove = write_glove(tmp_path / "glove.txt")
    path = tmp_path / "imdb.npz"
    trained = dlcore("train", "imdb", "--backend", "torch", "--data-dir", str(tmp_path), "--embedding", str(glove),
                     "--epochs", "5", "--batch-size", "32", "--lr", "1e-2", "--json", "--save", str(path))
    assert trained.returncode == 0, trained.stderr
    evaluated = dlcore("evaluate", str(path), "--backend", "tensorflow", "--data", "imdb",
                       "--data-dir", str(tmp_path), "--json")
    assert evaluated.returncode == 0, evaluated.stderr
    before, after = (json.loads(out.stdout.splitlines()[-1]) for out in (trained, evaluated))
    assert after["accuracy"] == before["accuracy"]
    assert after["loss"] == pytest.approx(before["loss"], abs=1e-4)


# In each process of a group: every file it writes, to $DLCORE_TEST_WRITES/writes-RANK.txt.
AUDIT_WORKERS = """
import os

if os.environ.get("DLCORE_WORKER") and os.environ.get("DLCORE_TEST_WRITES"):
    from pathlib import Path

    from dlcore.testing.distributed import audit_writes

    audit_writes(Path(os.environ["DLCORE_TEST_WRITES"]) / f"writes-{os.environ['DLCORE_WORKER'].split('/')[0]}.txt")
"""


@pytest.mark.slow
@pytest.mark.parametrize("backend", [b for b in ("torch", "tensorflow") if b in BACKENDS])  # JAX's: StrategyTests
def test_workers_train_as_one_process_and_only_rank_0_speaks_and_writes(backend, fashion_dir, tmp_path):
    common = ("train", "fashion-mnist", "--backend", backend, "--data-dir", str(fashion_dir), "--epochs", "2",
              "--optimizer", "adam", "--lr", "1e-3", "--seed", "0", "--device", "cpu", "--json")
    alone = dlcore(*common)
    hook, audit, runs = tmp_path / "hook", tmp_path / "audit", tmp_path / "runs"
    hook.mkdir(), audit.mkdir()
    (hook / "sitecustomize.py").write_text(AUDIT_WORKERS)  # the launcher's processes record what they write
    loggers = ("--loggers", "tensorboard") if importlib.util.find_spec("tensorboard") else ()
    env = {"DLCORE_RUN_DIR": str(runs), "DLCORE_TEST_WRITES": str(audit),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(hook), os.environ.get("PYTHONPATH")]))}
    group = dlcore(*common, "--workers", "2", "--timeout", "30", "--save", str(tmp_path / "g.npz"), *loggers,
                   env=env, plots=True)
    assert group.returncode == 0, group.stderr
    lines, logs = group.stdout.strip().splitlines(), group.stderr.splitlines()
    assert logs[0].startswith("run folder: ") and logs[1].startswith("dlcore: starting 2 workers")
    assert sum(line.startswith("run folder: ") for line in logs) == 1, group.stderr  # issue 33: once
    assert [l.split(":")[0] for l in logs if l.startswith("epoch ")] == ["epoch 1/2", "epoch 2/2"]
    assert sum(l.startswith("test accuracy:") for l in lines) == 1, group.stdout
    mine, theirs = json.loads(lines[-1]), json.loads(alone.stdout.strip().splitlines()[-1])
    assert abs(mine["accuracy"] - theirs["accuracy"]) <= 0.01 and mine["loss"] == pytest.approx(theirs["loss"], 1e-3)
    evaluated = dlcore("evaluate", str(tmp_path / "g.npz"), "--data", "fashion-mnist", "--data-dir",
                       str(fashion_dir), "--backend", backend, "--json")
    assert json.loads(evaluated.stdout.strip().splitlines()[-1])["accuracy"] == mine["accuracy"]
    # Rank 0 alone writes the run folder, the checkpoints, the logs, the plots and --save.
    chief, other = (written(audit / f"writes-{rank}.txt", tmp_path) for rank in (0, 1))
    run = "runs/fashion-mnist/version_0"
    expected = {"g.npz", *(f"{run}/{name}" for name in ("config.toml", "environment.json", "history.csv",
                                                        "metrics.json", "checkpoints/last.npz"))}
    if importlib.util.find_spec("matplotlib"):
        expected |= {f"{run}/learning_curves.png", f"{run}/confusion_matrix.png"}
    assert expected <= set(chief), f"rank 0 did not write {sorted(expected - set(chief))}"
    if loggers:
        assert any(path.startswith(f"{run}/tensorboard/train/events.out.tfevents.") for path in chief), chief
    assert not other, f"rank 1 wrote {other}, where only rank 0 may write"


@pytest.mark.parametrize("args, message", [
    (("--workers", "2", "--batch-size", "63"), "batch_size 63 is the global batch over 2 workers"),
    (("--strategy", "ddp"), "strategy 'ddp' joins its group from torchrun's variables"),
])
@pytest.mark.skipif("torch" not in BACKENDS, reason="torch is not installed")
def test_group_mistakes_end_in_one_clear_line(args, message, fashion_dir):
    env = {name: "" for name in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")}
    out = dlcore("train", "fashion-mnist", "--backend", "torch", "--data-dir", str(fashion_dir), "--epochs", "1",
                 "--device", "cpu", *args, env=env)
    assert out.returncode != 0 and message in out.stderr, out.stderr


@pytest.mark.skipif("torch" not in BACKENDS, reason="torch is not installed")
def test_launch_runs_a_script_as_a_group(tmp_path):
    script = tmp_path / "script.py"
    script.write_text("import os, time\n"  # one write per line: the two workers share the pipe
                      "os.write(1, f\"rank {os.environ['RANK']} of {os.environ['WORLD_SIZE']}\\n\".encode())\n"
                      "if os.environ.get('FAIL'):\n"
                      "    if os.environ['RANK'] == '1':\n        raise SystemExit(3)\n"
                      f"    open({str(tmp_path / 'pid')!r}, 'w').write(str(os.getpid()))\n    time.sleep(120)\n")
    out = dlcore("launch", "--workers", "2", "--backend", "torch", sys.executable, str(script))
    assert out.returncode == 0 and sorted(out.stdout.splitlines()) == ["rank 0 of 2", "rank 1 of 2"]
    assert out.stderr.startswith("dlcore: starting 2 workers")
    failed = dlcore("launch", "--workers", "2", "--backend", "torch", sys.executable, str(script), env={"FAIL": "1"},
                    timeout=60)
    assert failed.returncode == 3 and "worker 1 of 2 exited with code 3; stopping the others" in failed.stderr
    with pytest.raises(ProcessLookupError):  # the launcher killed the worker that went on
        os.kill(int((tmp_path / "pid").read_text()), 0)


needs_torch = pytest.mark.skipif("torch" not in BACKENDS, reason="torch is not installed")


def test_a_usage_mistake_is_one_line_naming_the_option_and_exits_2():
    """Issue 33: ``dlcore train --epochs x`` is one line (not the whole usage), exit status 2."""
    out = dlcore("train", "fashion-mnist", "--epochs", "x")
    assert_one_error_line(out, "argument --epochs: invalid int value: 'x' (dlcore train --help lists the options)")


@needs_torch
@pytest.mark.parametrize("args, message, status", [
    (["--epochs", "0"], "epochs must be an integer >= 1, got 0", 2),
    (["--device", "cuda:9"], "'cuda:9' does not exist", 2),
    (["--data-dir", "missing"], "Fashion-MNIST files not found", 1),
])
def test_a_failed_start_prints_no_run_folder_and_leaves_none(args, message, status, fashion_dir, tmp_path):
    """Issue 33: every check comes before the run folder is made."""
    out = dlcore("train", "fashion-mnist", "--backend", "torch", "--data-dir", str(fashion_dir), "--no-download",
                 *args, cwd=tmp_path)
    assert_one_error_line(out, message, status)
    assert "run folder" not in out.stderr and not (tmp_path / "runs").exists()


@needs_torch
@pytest.mark.slow  # one backend's: the torch env runs it
def test_the_cli_holds_out_a_validation_fraction_unless_told_not_to(fashion_dir, tmp_path):
    """Issue 33: the last 10% of the training data (Keras' validation_split) gives val_loss, which
    best.npz follows; --validation 0 trains on all of it and follows the training loss."""
    from dlcore import TrainingCheckpoint
    from dlcore.runs import RunFolder

    common = ("train", "fashion-mnist", "--backend", "torch", "--data-dir", str(fashion_dir), "--epochs", "2",
              "--run-dir", str(tmp_path / "runs"), "--json")
    held = dlcore(*common)
    assert held.returncode == 0, held.stderr
    assert "validation: the last 10% of the training data" in held.stderr
    run = RunFolder(json.loads(held.stdout.splitlines()[-1])["run"])
    assert "val_loss" in run.history()[-1]
    assert TrainingCheckpoint.load(run.checkpoints / "best.npz").metadata["monitor"] == "val_loss"
    whole = dlcore(*common, "--validation", "0")
    assert whole.returncode == 0, whole.stderr
    run = RunFolder(json.loads(whole.stdout.splitlines()[-1])["run"])
    assert "val_loss" not in run.history()[-1] and "no validation data" in whole.stderr
    assert TrainingCheckpoint.load(run.checkpoints / "best.npz").metadata["monitor"] == "loss"


def write_noisy_fashion_mnist(directory: Path) -> Path:
    """Tiny learnable Fashion-MNIST files with 40% of the training labels random: the
    validation loss rises once the model learns the noise."""
    import gzip

    import numpy as np

    from dlcore.testing.data import idx_bytes, learnable_images

    directory.mkdir(parents=True)
    for prefix, n, seed in (("train", 600, 0), ("t10k", 200, 1)):
        images, labels = learnable_images(n, seed)
        if prefix == "train":
            noise = np.random.default_rng(0).random(n) < 0.4
            labels = np.where(noise, np.random.default_rng(1).integers(0, 10, n), labels).astype(labels.dtype)
        for kind, array in (("images-idx3", images), ("labels-idx1", labels)):
            (directory / f"{prefix}-{kind}-ubyte.gz").write_bytes(gzip.compress(idx_bytes(array)))
    return directory


@needs_torch
@pytest.mark.slow  # one backend's: the torch env runs it
def test_early_stopping_says_why_and_reports_the_best_checkpoint(tmp_path):
    """Issue 33: early stopping prints when and why it stopped, and the test metrics are those
    of best.npz, saying so (not of the last epoch's model)."""
    from dlcore import TrainingCheckpoint
    from dlcore.runs import RunFolder

    data = write_noisy_fashion_mnist(tmp_path / "noisy")
    out = dlcore("train", "fashion-mnist", "--backend", "torch", "--data-dir", str(data), "--epochs", "30",
                 "--optimizer", "adam", "--early-stopping", "2", "--run-dir", str(tmp_path / "runs"), "--json")
    assert out.returncode == 0, out.stderr
    stopped = [line for line in out.stderr.splitlines() if line.startswith("early stopping")]
    assert len(stopped) == 1 and "val_loss did not improve for 2 epochs (best " in stopped[0], out.stderr
    assert "; restored the weights of epoch " in stopped[0]
    result = json.loads(out.stdout.splitlines()[-1])
    run = RunFolder(result["run"])
    best = TrainingCheckpoint.load(run.checkpoints / "best.npz").metadata["epoch"]
    assert best < len(run.history()) < 30 and f"test metrics of best.npz (epoch {best}, val_loss " in out.stderr
    assert result["checkpoint"] == run.metrics()["checkpoint"] == "best.npz" and result["accuracy"] >= 0.9

    def evaluated(where: Path) -> float:
        out = dlcore("evaluate", str(where), "--data", "fashion-mnist", "--data-dir", str(data), "--backend", "torch",
                     "--json")
        return float(json.loads(out.stdout.splitlines()[-1])["loss"])

    best_loss = evaluated(run.checkpoints / "best.npz")
    assert best_loss == pytest.approx(result["loss"], rel=1e-5) != evaluated(run.checkpoints / "last.npz")
    assert evaluated(run.path) == best_loss  # the run folder: the checkpoint its metrics.json reports


@needs_torch
@pytest.mark.slow  # one backend's: the torch env runs it
def test_on_bad_sample_skip_from_the_command_line_trains_past_an_unreadable_image(tmp_path):
    """Issue 33: [data] on_bad_sample (--on-bad-sample skip) reaches the image datasets."""
    from PIL import Image

    from dlcore.testing.data import learnable_images

    for split, n, seed in (("train", 200, 0), ("test", 50, 1)):
        images, labels = learnable_images(n, seed)
        folder = tmp_path / split
        folder.mkdir()
        for i, (image, label) in enumerate(zip(images, labels)):
            Image.fromarray(image).save(folder / f"{i}.png")
        (folder / "0.png").write_bytes(b"not a png")  # the first: also what dlcore probes the data with
        (tmp_path / f"{split}.csv").write_text("".join(f"{i}.png,{y}\n" for i, y in enumerate(labels)))
    common = ("train", "image-csv", "--train", str(tmp_path / "train.csv"), "--test", str(tmp_path / "test.csv"),
              "--images", str(tmp_path / "train"), "--backend", "torch", "--epochs", "1", "--run-dir",
              str(tmp_path / "runs"))
    failed = dlcore(*common)
    assert failed.returncode == 1 and "0.png" in failed.stderr and not (tmp_path / "runs").exists()
    skipped = dlcore(*common, "--on-bad-sample", "skip")
    assert skipped.returncode == 0, skipped.stderr
    assert "on_bad_sample='skip'" in skipped.stderr


@needs_torch
@pytest.mark.slow  # one backend's: the torch env runs it
def test_save_top_k_keeps_the_k_best_checkpoints(fashion_dir, tmp_path):
    """Issue 33: --save-top-k K is ModelCheckpoint(save_top_k=K) (Lightning's)."""
    out = dlcore("train", "fashion-mnist", "--backend", "torch", "--data-dir", str(fashion_dir), "--epochs", "3",
                 "--save-top-k", "2", "--run-dir", str(tmp_path / "runs"), "--json")
    assert out.returncode == 0, out.stderr
    checkpoints = Path(json.loads(out.stdout.splitlines()[-1])["run"]) / "checkpoints"
    assert len([p for p in checkpoints.glob("*.npz") if p.name not in ("last.npz", "best.npz")]) == 2
