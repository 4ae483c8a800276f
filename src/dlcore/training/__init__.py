"""Training: the Trainer and everything that is the same on every backend during a run.

Owns: the :class:`Trainer`, the public class, and the private parts it is cut into:
``_settings`` (the frozen, checked settings), ``_feed`` (what a run reads, prepared for the
backend, streams included), ``_loop`` (the epochs over spans of batches, validation, the one
learning rate of a run), ``_state`` (optimizer attachment, save and resume), ``_group`` (a
trainer in a group of processes), ``_progress`` and ``_callback`` (History and the epoch line as
callbacks, and the callback base); the checks of what a fit
reads (``inputs``: features, images' layout, sample weights; ``labels``: labels against the
loss and the model), callbacks,
the History, optimizers as objects and their canonical state (``optimizers``, with the one
default learning rate), learning-rate schedules, and how each metric's statistics become its
value (``metrics``). Imports the contract, the plugin layer, data, models and io; nothing
imports it but the public face and the command line.

Its modules are dlcore's own and may change; the public names are those of :mod:`dlcore` and its
public modules.
"""
