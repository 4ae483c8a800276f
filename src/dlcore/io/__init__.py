"""Input and output: checkpoints, weight formats, the files dlcore writes, progress bars.

Owns: the checkpoint format (``checkpoint``: arrays with their SHA-256 and JSON, never pickle),
weight files by suffix (``formats``, through the ``dlcore_weight_formats`` hook), atomic
writes and the cache directory (``files``), and the progress bar and verbose log
(``progress``). Imports the contract and the plugin layer (specs read back from checkpoints
by their registered kind); ``dlcore.data`` and everything above import it.
"""

from .checkpoint import FORMAT, Checkpoint, TrainingCheckpoint
from .files import atomic_path, cache_dir, data_dirs
from .formats import read_weights, weight_format, write_weights
from .progress import Reporter, progress_bar

__all__ = ["FORMAT", "Checkpoint", "Reporter", "TrainingCheckpoint", "atomic_path", "cache_dir", "data_dirs",
           "progress_bar", "read_weights", "weight_format", "write_weights"]
