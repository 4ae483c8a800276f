"""JAX's persistent compilation cache, in dlcore's cache folder (``<cache dir>/jax``).

A process that runs a step compiled before (the same model, shapes, JAX version and flags)
loads XLA's executable instead of compiling it again: its first step comes sooner and its peak
memory leaves out the compiler's working memory (about 80 MB for the Fashion-MNIST MLP, near
half of what JAX adds to its import). The files are machine code that dlcore's own earlier runs
wrote, trusted as Python's ``__pycache__`` is: the folder is made private to the user, and
``DLCORE_COMPILATION_CACHE=0`` turns the cache off. A cache folder set in JAX's own config
(``jax_compilation_cache_dir``) is left as it is.
"""

from __future__ import annotations

import os

import jax

from dlcore.io.files import cache_dir

MAX_BYTES = 256 * 2**20  # the least recently used executables go first beyond this
MIN_COMPILE_SECONDS = 0.0  # even the small programs: each compile costs the compiler's memory


def use_compilation_cache() -> str | None:
    """Point JAX's persistent compilation cache at dlcore's cache folder; the folder used, or
    None (turned off, or the user's own)."""
    if os.environ.get("DLCORE_COMPILATION_CACHE", "1") == "0":
        return None
    if jax.config.jax_compilation_cache_dir:
        return str(jax.config.jax_compilation_cache_dir)
    folder = cache_dir() / "jax"
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError:  # a read-only home: compile every time, as without the cache
        return None
    jax.config.update("jax_compilation_cache_dir", str(folder))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", MIN_COMPILE_SECONDS)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    jax.config.update("jax_compilation_cache_max_size", MAX_BYTES)
    return str(folder)
