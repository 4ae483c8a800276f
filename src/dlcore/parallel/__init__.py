"""Training over several processes: what is the same for every strategy.

Owns: the sharding of an epoch's global batches over the processes and the gathering of their
results (:mod:`~dlcore.parallel.sharding`), the launcher of ``dlcore train --workers N`` that
starts a group on one machine and ends all of it when one process fails
(:mod:`~dlcore.parallel.launcher`), and the Ray launcher (:mod:`~dlcore.parallel.ray`, extra
``dlcore-ml[ray]``). A strategy itself (:class:`dlcore.contract.Strategy`) belongs to its
backend's plugin. Imports the contract and the plugin layer (the Ray launcher imports Ray
only when it runs); training and the command line import it.
"""

from .launcher import ENV_WORKER, free_ports, launch, worker_of
from .sharding import all_gather, shard_order, sharded_count

__all__ = ["ENV_WORKER", "all_gather", "free_ports", "launch", "shard_order", "sharded_count", "worker_of"]
