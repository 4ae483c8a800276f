"""Runs a person can look at: run folders (:class:`RunFolder`), their TOML configuration
(:mod:`dlcore.runs.config`), the plots (:mod:`dlcore.plots`) and prediction on files
(:mod:`dlcore.runs.predict`). ``dlcore train``, ``evaluate``, ``predict`` and ``plot`` are
built from these; they may import every other folder of the core.

Example::

    from dlcore.runs import RunFolder
    run = RunFolder.open("runs/fashion-mnist")      # the newest version
    print(run.metrics()["accuracy"], run.best_checkpoint)
"""

from . import config
from .folder import RunFolder
from .predict import ModelInput, probabilities

__all__ = ["ModelInput", "RunFolder", "config", "probabilities"]
