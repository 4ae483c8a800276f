"""Machine tuning: what dlcore measures about the user's machine to choose how to run there.

Owns: kernel choices measured once per machine and cached (``choices``: :func:`choose`,
:func:`chosen`), and the CPU time other processes use (``cpuload``), by which the torch backend
fits its thread count. Imports the contract and ``dlcore.io.files``; the backends import it.
It is dlcore's own, for its backends, and may change.
"""

from .choices import CACHE_FILE, ENV_KERNELS, Choice, choose, chosen, machine, measure, overrides
from .cpuload import OtherLoad, allowed_cpus

__all__ = ["CACHE_FILE", "ENV_KERNELS", "Choice", "OtherLoad", "allowed_cpus", "choose", "chosen",
           "machine", "measure", "overrides"]
