"""The strategy section of the contract suite: a group of processes on this machine.

A plugin that registers a strategy runs these tests against it by subclassing
:class:`StrategyTests` (pytest; loopback only, two CPU processes, a few seconds each)::

    from dlcore.testing.distributed import StrategyTests

    class TestMyStrategy(StrategyTests):
        backend, strategy = "torch", "ddp"

Each test starts a group with :func:`dlcore.parallel.launch`, whose workers run
``python -m dlcore.testing.distributed`` (:func:`main`): a small MLP on :func:`.data.blobs`,
a checkpoint per epoch, the built-in checkpoint and log callbacks, the weights of every rank, a
record of the files each rank wrote (:func:`audit_writes`), and a fault injected where asked.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ..contract.errors import DlcoreError
from ..data.npy import npy
from ..io.checkpoint import TrainingCheckpoint
from ..models.specs import mlp
from ..parallel.launcher import launch, worker_of
from ..plugins.manager import registry
from ..training.callbacks import CSVLogger, ModelCheckpoint, TensorBoard
from ..training.trainer import Callback, Trainer
from .data import blobs

EPOCHS, BATCH, SAMPLES = 3, 64, 512
SETTINGS: dict[str, Any] = dict(epochs=EPOCHS, batch_size=BATCH, optimizer="adam", lr=1e-2, seed=3, progress=False,
                                device="cpu")


def problem() -> tuple[np.ndarray, np.ndarray]:
    """The training data of every run here (512 samples, 4 classes)."""
    return blobs(SAMPLES, features=20, classes=4, seed=5)


def spec() -> Any:
    return mlp(20, [32], 4)


# Python's audit events that write to the file system, and the index of the path each writes
WRITE_EVENTS = {"os.mkdir": 0, "os.remove": 0, "os.rmdir": 0, "shutil.rmtree": 0, "os.truncate": 0, "os.rename": 1,
                "os.link": 1, "os.symlink": 1}
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def audit_writes(report: Path) -> None:
    """From now on, append to ``report`` a line ``event<TAB>absolute path`` for each file or
    folder this process opens for writing, creates, renames, links or removes (Python's audit
    events: every write of Python code, none of a framework's native code), at once, so that a
    killed process loses none. Read it back with :func:`written`."""
    out = os.open(report, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666)

    def record(event: str, args: tuple[Any, ...]) -> None:
        if event == "open":
            path, _, flags = args
            if not (isinstance(flags, int) and flags & WRITE_FLAGS):
                return
        elif event in WRITE_EVENTS:
            path = args[WRITE_EVENTS[event]]
        else:
            return
        if isinstance(path, (str, bytes, os.PathLike)):
            os.write(out, f"{event}\t{os.path.abspath(os.fsdecode(path))}\n".encode(errors="replace"))

    sys.addaudithook(record)


def written(report: Path, within: Path) -> list[str]:
    """The paths below ``within`` (relative, with /) that the process of ``report`` wrote, in
    order (see :func:`audit_writes`)."""
    root = os.path.abspath(within) + os.sep
    paths = (line.split("\t", 1)[1] for line in report.read_text().splitlines() if "\t" in line)
    return list(dict.fromkeys(Path(p).relative_to(root).as_posix() for p in paths if p.startswith(root)))


def main(argv: list[str] | None = None) -> int:
    """One worker: fit, a checkpoint per epoch (``epoch-N.npz``; and ``checkpoints/`` of
    ModelCheckpoint), the logs of CSVLogger (``history.csv``) and TensorBoard (``logs/``, where
    tensorboard is installed), the final weights of its rank (``rank-R.npz``), the files it wrote
    (``writes-R.txt``), and a fault (``kill`` or ``hang``) in rank 1 at batch 3 of
    ``--fault-epoch``; a dlcore error is written to ``error-R.txt``."""
    parser = argparse.ArgumentParser()
    parser.add_argument("folder", type=Path)
    parser.add_argument("--backend", required=True)
    parser.add_argument("--strategy", required=True)
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--resume", default=None)
    parser.add_argument("--fault", choices=("kill", "hang"), default=None)
    parser.add_argument("--fault-epoch", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--stream", action="store_true", help="read the data from x.npy and y.npy in the folder "
                        "while training, a few batches at a time")
    args = parser.parse_args(argv)
    folder: Path = args.folder
    audit_writes(folder / f"writes-{(worker_of() or (0, 1))[0]}.txt")

    threads: list[int] = []

    class EveryEpoch(Callback):
        def on_epoch_end(self, trainer: Trainer, model: Any, epoch: int, logs: dict[str, Any]) -> None:
            trainer.save(model, folder / f"epoch-{epoch}.npz")
            threads.append(native_threads())

    class Fault(Callback):
        def on_train_batch_begin(self, trainer: Trainer, model: Any, batch: int) -> None:
            if trainer.strategy is not None and trainer.strategy.rank == 1 and model.epoch + 1 == args.fault_epoch \
                    and batch == 3:
                (folder / "fault.json").write_text(json.dumps({"time": time.time(), "fault": args.fault}))
                if args.fault == "kill":
                    os.kill(os.getpid(), signal.SIGKILL)
                time.sleep(3600)

    rank = 0
    try:
        streaming = dict(stream=True, memory_budget=200_000, readers=1) if args.stream else {}
        trainer = Trainer(args.backend, strategy=args.strategy, **{**SETTINGS, "epochs": args.epochs,
                                                                   "device": args.device, **streaming})
        rank = trainer.strategy.rank if trainer.strategy is not None else 0
        model = spec()
        data = npy(folder / "x.npy", folder / "y.npy") if args.stream else problem()
        callbacks = [EveryEpoch(), ModelCheckpoint(folder / "checkpoints", monitor="loss"),
                     CSVLogger(folder / "history.csv"), *tensorboard_logs(folder)]
        history = trainer.fit(model, data, callbacks=callbacks + ([Fault()] if args.fault else []),
                              resume_from=args.resume)
        np.savez(folder / f"rank-{rank}.npz", **trainer.build(model).get_weights())
        (folder / f"history-{rank}.json").write_text(json.dumps(history.records))
        (folder / f"threads-{rank}.json").write_text(json.dumps(threads))
        trainer.close()
    except DlcoreError as err:
        (folder / f"error-{rank}.txt").write_text(f"{type(err).__name__}: {err}")
        return 2
    return 0


def tensorboard_logs(folder: Path) -> list[Callback]:
    """TensorBoard's logs in ``folder / "logs"``, where the tensorboard package is installed."""
    try:
        return [TensorBoard(folder / "logs")]
    except DlcoreError:
        return []


def native_threads() -> int:
    """The threads of this process (Linux; 0 elsewhere)."""
    status = Path("/proc/self/status")
    if not status.exists():
        return 0
    return next((int(line.split()[1]) for line in status.read_text().splitlines() if line.startswith("Threads:")), 0)


def run_group(backend: str, strategy: str, folder: Path, *args: str, workers: int = 2, timeout: float = 10,
              deadline: float = 240) -> tuple[int, float]:
    """Start ``workers`` processes of :func:`main` writing to ``folder``; their exit code (the
    launcher's) and the seconds it took. ``deadline``: the whole group is killed after it."""
    folder.mkdir(parents=True, exist_ok=True)
    info = registry().strategy(strategy, backend)
    environment = registry().strategies.load(info, "load").environment
    command = [sys.executable, "-m", "dlcore.testing.distributed", str(folder), "--backend", backend,
               "--strategy", strategy, *args]
    start = time.monotonic()
    code = launch(command, workers, environment, threads=1, timeout=timeout, deadline=deadline,
                  echo=lambda *a, **k: None)
    return code, time.monotonic() - start


def weights(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as saved:
        return {name: saved[name] for name in saved.files}


class StrategyTests:
    """Subclass with ``backend`` and ``strategy`` (registered names); ``device`` is what each
    worker asks for ("auto": the strategy's choice per process, e.g. one GPU each)."""

    backend: str
    strategy: str
    device = "cpu"
    timeout = 10.0  # seconds a worker waits for a dead or hung one
    tolerance = dict(rtol=1.3e-5, atol=1e-5)  # two workers against one process

    @pytest.fixture(scope="class")
    @staticmethod
    def group(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
        """One run of two workers, three epochs, a checkpoint per epoch."""
        tests = request.cls
        folder = tmp_path_factory.mktemp(f"{tests.backend}-{tests.strategy}")
        code, _ = run_group(tests.backend, tests.strategy, folder, "--device", tests.device, timeout=tests.timeout)
        errors = {p.name: p.read_text() for p in folder.glob("error-*.txt")}
        assert code == 0, f"the group failed ({code}): {errors}"
        return folder

    def test_ranks_end_equal_and_equal_to_one_process_with_the_global_batch(self, group: Path) -> None:
        first, second = weights(group / "rank-0.npz"), weights(group / "rank-1.npz")
        for name in first:
            np.testing.assert_array_equal(first[name], second[name], err_msg=f"{name} differs between the ranks")
        trainer = Trainer(self.backend, **{**SETTINGS, "device": self.device})
        model = spec()
        history = trainer.fit(model, problem())
        alone = trainer.build(model).get_weights()
        for name in first:  # float32 sums in another order: close, not equal
            np.testing.assert_allclose(first[name], alone[name], **self.tolerance,
                                       err_msg=f"{name}: two workers differ from one process")
        records, other = (json.loads((group / f"history-{rank}.json").read_text()) for rank in (0, 1))
        for mine, theirs in zip(records, other):
            assert {**mine, "seconds": 0} == {**theirs, "seconds": 0}, "the ranks' histories differ"
        assert records[-1]["accuracy"] > 0.95, "two workers did not learn the blobs"
        assert abs(records[-1]["loss"] - history.records[-1]["loss"]) < 1e-4

    def test_threads_do_not_pile_up_over_the_steps(self, group: Path) -> None:
        """A strategy must not start a thread per step (TensorFlow's collective timeout does)."""
        for rank in (0, 1):
            counts = json.loads((group / f"threads-{rank}.json").read_text())
            assert counts[-1] - counts[0] <= 4, f"rank {rank}'s threads after each epoch: {counts}"

    def test_rank_0_alone_writes_the_checkpoints_and_the_logs(self, group: Path) -> None:
        """trainer.save, ModelCheckpoint, CSVLogger and TensorBoard write from rank 0 only: the
        other ranks write nothing in the shared folder but their own reports."""
        chief, other = (written(group / f"writes-{rank}.txt", group) for rank in (0, 1))
        expected = {f"epoch-{EPOCHS}.npz", "checkpoints/last.npz", "checkpoints/best.npz", "history.csv"}
        assert expected <= set(chief), f"rank 0 did not write {sorted(expected - set(chief))}"
        if importlib.util.find_spec("tensorboard") is not None:
            assert any(path.startswith("logs/train/events.out.tfevents.") for path in chief), chief
        own = {f"{name}-1.{suffix}" for name, suffix in (("rank", "npz"), ("history", "json"), ("threads", "json"),
                                                          ("writes", "txt"), ("error", "txt"))}
        strays = [path for path in other if path not in own]
        assert not strays, f"rank 1 wrote {strays} in the shared folder, which only rank 0 may write"

    def test_a_checkpoint_of_the_group_loads_in_one_process(self, group: Path) -> None:
        trainer = Trainer(self.backend, **SETTINGS)
        model = trainer.load(group / f"epoch-{EPOCHS}.npz")
        final = weights(group / "rank-0.npz")
        for name, value in model.get_weights().items():
            np.testing.assert_array_equal(value, final[name])
        assert trainer.evaluate(model, problem())["accuracy"] > 0.95

    def test_resume_with_the_same_workers_is_exact(self, group: Path, tmp_path: Path) -> None:
        code, _ = run_group(self.backend, self.strategy, tmp_path, "--resume", str(group / "epoch-1.npz"),
                            "--device", self.device, timeout=self.timeout)
        assert code == 0, [p.read_text() for p in tmp_path.glob("error-*.txt")]
        straight, resumed = weights(group / "rank-0.npz"), weights(tmp_path / "rank-0.npz")
        for name in straight:
            np.testing.assert_array_equal(resumed[name], straight[name], err_msg=f"{name} differs after resuming")

    def test_a_streamed_dataset_trains_as_the_same_arrays_in_memory(self, group: Path, tmp_path: Path) -> None:
        """Each worker reads its part of every global batch from a .npy memory map, a few batches
        at a time: the same weights, bitwise, as the group that held the arrays in memory."""
        x, y = problem()
        np.save(tmp_path / "x.npy", x)
        np.save(tmp_path / "y.npy", y)
        code, _ = run_group(self.backend, self.strategy, tmp_path, "--stream", "--device", self.device,
                            timeout=self.timeout)
        assert code == 0, [p.read_text() for p in tmp_path.glob("error-*.txt")]
        in_memory, streamed = weights(group / "rank-0.npz"), weights(tmp_path / "rank-0.npz")
        for name in in_memory:
            np.testing.assert_array_equal(streamed[name], in_memory[name], err_msg=f"{name} differs when streamed")

    @pytest.mark.parametrize("fault", ["kill", "hang"])
    def test_a_dead_or_hung_worker_ends_the_group_with_the_last_checkpoint_intact(self, fault: str,
                                                                                   tmp_path: Path) -> None:
        code, _ = run_group(self.backend, self.strategy, tmp_path, "--fault", fault, "--device", self.device,
                            timeout=self.timeout)
        ended = time.time()
        assert code != 0, "the group went on without a worker"
        happened = json.loads((tmp_path / "fault.json").read_text())["time"]
        limit = 15 if fault == "kill" else self.timeout + 15
        assert ended - happened < limit, f"the group took {ended - happened:.1f} s to end after a {fault}"
        if fault == "hang":
            error = (tmp_path / "error-0.txt").read_text()
            assert "DistributedError" in error and "stopped answering" in error, error
        checkpoint = TrainingCheckpoint.load(tmp_path / "epoch-1.npz")  # verified on load
        assert checkpoint.state["epoch"] == 1 and checkpoint.state["workers"] == 2
        assert not (tmp_path / "epoch-2.npz").exists()


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["StrategyTests", "audit_writes", "main", "problem", "run_group", "spec", "tensorboard_logs", "written"]
