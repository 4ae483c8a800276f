"""Training over several processes: the sharding contract, the strategies' registry, and each
backend's strategy in a group of two CPU processes on loopback (dlcore.testing.distributed)."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import BACKENDS, TEST_DEVICE
from dlcore import ConfigError, Trainer
from dlcore.contract import Strategy
from dlcore.parallel.sharding import shard_order, sharded_count
from dlcore.plugins import registry
from dlcore.testing.distributed import StrategyTests


@pytest.mark.parametrize("n, batch, world", [(512, 64, 2), (500, 64, 2), (203, 12, 3), (7, 4, 4), (64, 64, 1)])
def test_every_sample_of_an_epoch_goes_to_one_worker_in_global_batches(n, batch, world):
    order = np.random.default_rng(0).permutation(n)
    parts = [shard_order(order, batch, world, rank) for rank in range(world)]
    assert len({len(p) for p in parts}) == 1 and len(parts[0]) == sharded_count(n, batch, world)
    seen = np.concatenate(parts)
    assert len(np.unique(seen)) == len(seen), "a sample went to two workers"
    assert n - len(seen) < world, "more than world - 1 samples skipped"
    local = batch // world
    for b in range(-(-len(parts[0]) // local)):  # each global batch is batch b of the epoch, split
        together = np.sort(np.concatenate([p[b * local:(b + 1) * local] for p in parts]))
        expected = order[b * batch:(b + 1) * batch]
        assert set(together) <= set(expected) and len(expected) - len(together) < world


def test_a_global_batch_that_does_not_divide_by_the_workers_is_refused():
    with pytest.raises(ConfigError, match="batch_size 64 is the global batch over 3 workers"):
        shard_order(np.arange(100), 64, 3, 0)


class _Alone(Strategy):
    """A group of one, to check the core's side of a strategy in this process."""

    name = "alone"

    def setup(self, backend, device):
        self.rank, self.world_size = 0, 1

    def prepare(self, model):
        self.prepared = model

    def all_sum(self, values):
        return np.asarray(values, np.float64)


@pytest.mark.skipif(not BACKENDS, reason="no framework backend installed")
def test_a_strategy_object_trains_like_one_process():
    from dlcore.testing.data import blobs

    x, y = blobs(256, classes=3)
    results = []
    for strategy in (None, _Alone()):
        trainer = Trainer(BACKENDS[0], epochs=2, batch_size=32, seed=0, progress=False, strategy=strategy)
        from dlcore import models

        model = models.mlp(20, [16], 3)
        results.append((trainer.fit(model, (x, y)).records[-1]["loss"], trainer.build(model).get_weights()))
        if strategy is not None:
            assert strategy.prepared is trainer.build(model)
    assert results[0][0] == pytest.approx(results[1][0], rel=1e-6)
    for name, value in results[0][1].items():
        np.testing.assert_allclose(value, results[1][1][name], rtol=1e-6)


def test_unknown_and_foreign_strategies_name_the_backends_own():
    plugins = registry()
    with pytest.raises(ConfigError, match="unknown strategy 'horovod'"):
        plugins.strategy("horovod", "torch")
    if plugins.strategies.get("multi_worker_mirrored"):
        with pytest.raises(ConfigError, match="runs on backend 'tensorflow', not 'torch'"):
            plugins.strategy("multi_worker_mirrored", "torch")


@pytest.mark.skipif("torch" not in BACKENDS, reason="torch is not installed")
def test_ddp_outside_a_launched_group_says_how_to_start_one(monkeypatch):
    for name in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError, match="--workers N', torchrun"):
        Trainer("torch", strategy="ddp", device="cpu")


@pytest.mark.slow
@pytest.mark.skipif("torch" not in BACKENDS, reason="torch is not installed")
class TestDDP(StrategyTests):
    backend, strategy = "torch", "ddp"


@pytest.mark.slow
@pytest.mark.skipif("tensorflow" not in BACKENDS, reason="tensorflow is not installed")
class TestMultiWorkerMirrored(StrategyTests):
    backend, strategy = "tensorflow", "multi_worker_mirrored"


def _gpus() -> int:
    if TEST_DEVICE == "cpu" or "torch" not in BACKENDS:
        return 0
    import torch

    return torch.cuda.device_count()


@pytest.mark.slow
@pytest.mark.skipif(_gpus() < 2, reason="nccl DDP needs two GPUs and DLCORE_TEST_DEVICE=gpu (tox's gpu factor)")
class TestDDPOnTwoGPUs(StrategyTests):
    """One GPU per worker ("auto" is the local rank's), nccl."""

    backend, strategy, device = "torch", "ddp", "auto"
    tolerance = dict(rtol=1e-4, atol=1e-4)


@pytest.mark.skipif("torch" not in BACKENDS or len(BACKENDS) < 2, reason="needs torch and another backend")
def test_a_checkpoint_of_a_torch_group_evaluates_alike_on_every_backend(tmp_path):
    from dlcore.testing.distributed import problem, run_group

    code, _ = run_group("torch", "ddp", tmp_path, "--epochs", "1")
    assert code == 0, [p.read_text() for p in tmp_path.glob("error-*.txt")]
    results = {backend: Trainer(backend, device="cpu", progress=False).evaluate(
        Trainer(backend, device="cpu").load(tmp_path / "epoch-1.npz"), problem()) for backend in BACKENDS}
    first = results["torch"]
    for backend, metrics in results.items():
        assert metrics["accuracy"] == first["accuracy"] and metrics["loss"] == pytest.approx(first["loss"], rel=1e-5), \
            backend
