"""The global batch over ``W`` processes: which samples each takes, and their results joined.

Batch ``b`` of an epoch is ``order[b * B:(b + 1) * B]`` as in one process; rank ``r`` takes its
``r``-th part of ``B / W`` consecutive samples. The last batch is cut to a multiple of ``W``
(at most ``W - 1`` samples skipped per epoch), so every process runs as many batches of equal
size, and the mean of their gradients is the gradient of the global batch.
"""

from __future__ import annotations

import numpy as np

from ..contract.errors import ConfigError, DataError
from ..contract.strategy import Strategy


def check_batch(batch_size: int, world_size: int) -> int:
    """Each process's part of a global batch of ``batch_size``."""
    if batch_size % world_size:
        raise ConfigError(f"batch_size {batch_size} is the global batch over {world_size} workers and must divide "
                          f"by {world_size}; use e.g. {max(world_size, batch_size // world_size * world_size)}")
    return batch_size // world_size


def sharded_count(num_samples: int, batch_size: int, world_size: int) -> int:
    """How many samples of an epoch of ``num_samples`` each process takes."""
    full = num_samples // batch_size * batch_size
    return (full + (num_samples - full) // world_size * world_size) // world_size


def shard_order(order: np.ndarray, batch_size: int, world_size: int, rank: int) -> np.ndarray:
    """Rank ``rank``'s sample order of an epoch whose order over all processes is ``order``."""
    local = check_batch(batch_size, world_size)
    full = len(order) // batch_size * batch_size
    head = order[:full].reshape(-1, world_size, local)[:, rank].ravel()
    tail = order[full:]
    tail = tail[:len(tail) // world_size * world_size].reshape(world_size, -1)[rank]
    return np.concatenate([head, tail])


def check_shards(num_samples: int, batch_size: int, world_size: int, name: str) -> int:
    """The count of :func:`sharded_count`, refusing data too small to give every process a sample."""
    count = sharded_count(num_samples, batch_size, world_size)
    if count == 0:
        raise DataError(f"{name} has {num_samples} samples, fewer than the {world_size} workers")
    return count


def all_gather(strategy: Strategy, rows: np.ndarray) -> np.ndarray:
    """Every process's ``rows`` (of the same shape on each) joined in rank order, on each."""
    slots = np.zeros((strategy.world_size, *rows.shape), np.float64)
    slots[strategy.rank] = rows
    summed: np.ndarray = strategy.all_sum(slots.ravel()).reshape(slots.shape)
    return summed.reshape(-1, *rows.shape[1:]) if rows.ndim else summed


__all__ = ["all_gather", "check_batch", "check_shards", "shard_order", "sharded_count"]
