"""Training over several processes: what is the same for every strategy.

Owns: the sharding of an epoch's global batches over the processes and the gathering of their
results (:mod:`~dlcore.parallel.sharding`), the launcher of ``dlcore train --workers N`` that
starts a group on one machine and ends all of it when one process fails
(:mod:`~dlcore.parallel.launcher`), and the Ray launcher (:mod:`~dlcore.parallel.ray`, extra
``dlcore-ml[ray]``). A strategy itself (:class:`dlcore.contract.Strategy`) belongs to its
backend's plugin. Imports the contract and the plugin layer (the Ray launcher imports Ray
only when it runs); training and the command line import it.

Its modules are dlcore's own and may change; the public names are those of :mod:`dlcore` and its
public modules.
"""
