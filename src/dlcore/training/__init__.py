"""Training: the Trainer and everything that is the same on every backend during a run.

Owns: the :class:`Trainer` (settings and their checks, batch order, the kernels a run resolves,
the loop over spans of batches, validation, checkpoints of a run), the checks of what a fit
reads (``inputs``: features, images' layout, sample weights; ``labels``: labels against the
loss and the model), callbacks,
the History, optimizers as objects and their canonical state (``optimizers``, with the one
default learning rate), learning-rate schedules, and how each metric's statistics become its
value (``metrics``). Imports the contract, the plugin layer, data, models and io; nothing
imports it but the public face and the command line.

Its modules are dlcore's own and may change; the public names are those of :mod:`dlcore` and its
public modules.
"""
