"""Testing helpers for dlcore backends and plugins.

:class:`BackendTests` is the contract suite every backend passes, dlcore's own included: a
third-party backend runs it against itself by subclassing it in its tests (pytest)::

    from dlcore.testing import BackendTests

    class TestMyBackend(BackendTests):
        backend = "mybackend"

:mod:`dlcore.testing.reference` computes in float64 numpy what a backend must compute for an
MLP; :mod:`dlcore.testing.data` makes small learnable problems. Importing this module needs
pytest.
"""

from . import data, reference
from .suite import BackendTests

__all__ = ["BackendTests", "data", "reference"]
