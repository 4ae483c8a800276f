"""dlcore's version and the name it is installed by.

The import name is ``dlcore``; the distribution is ``dlcore-ml`` (``pip install dlcore-ml``):
the name ``dlcore`` on the public package index belongs to another project.
"""

from importlib import metadata

__version__ = "0.2.0"
"""dlcore's version: ``dlcore.__version__``."""
DISTRIBUTION = "dlcore-ml"


def pip_install(extra: str) -> str:
    """The command that installs dlcore with ``extra`` (e.g. "torch")."""
    return f"pip install '{DISTRIBUTION}[{extra}]'"


def installed_version(distribution: str) -> str | None:
    """The installed version of ``distribution`` (without importing it), or None."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None
