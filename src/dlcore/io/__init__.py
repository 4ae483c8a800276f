"""Input and output: checkpoints, weight formats, the files dlcore writes, progress bars.

Owns: the checkpoint format (``checkpoint``: arrays with their SHA-256 and JSON, never pickle),
weight files by suffix (``formats``, through the ``dlcore_weight_formats`` hook), atomic
writes and the cache directory (``files``), and the progress bar and verbose log
(``progress``). Imports the contract and the plugin layer (specs read back from checkpoints
by their registered kind); ``dlcore.data`` and everything above import it.

Its modules are dlcore's own and may change; the public names are those of :mod:`dlcore` and its
public modules.
"""
