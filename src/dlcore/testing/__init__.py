"""Testing helpers for dlcore backends and plugins.

:class:`BackendTests` is the contract suite every backend passes, dlcore's own included: a
third-party backend runs it against itself by subclassing it in its tests (pytest)::

    from dlcore.testing import BackendTests

    class TestMyBackend(BackendTests):
        backend = "mybackend"

The suite is made of sections, one per concern, each usable alone: a backend that offers only
some subclasses those (pytest collects each section's tests once)::

    from dlcore.testing import CheckpointTests, ModelTests, TrainingTests

    class TestMyBackend(ModelTests, TrainingTests, CheckpointTests):
        backend = "mybackend"

The sections: :class:`ModelTests`, :class:`TrainingTests`, :class:`OptimizerTests`,
:class:`PrecisionTests`, :class:`ReproducibilityTests`, :class:`EvaluationTests`,
:class:`CheckpointTests`, :class:`CallbackTests`, :class:`StreamingTests`, :class:`LayerTests`,
:class:`TextTests`, :class:`BadInputTests` and :class:`RegressionTests`, each a subclass of
:class:`BackendTestBase` (the ``device`` fixture and ``trainer()``). A strategy (a group of
processes) has its own: :class:`dlcore.testing.distributed.StrategyTests`.

:func:`check_layer`, :func:`check_loss`, :func:`check_metric` and :func:`check_optimizer`
check a layer, loss, metric or optimizer rule written once on :mod:`dlcore.ops` on every installed backend against numpy in float64.
:mod:`dlcore.testing.reference` computes in float64 numpy what a backend must compute for an
MLP; :mod:`dlcore.testing.data` makes small learnable problems. Importing this module needs
pytest.
"""

from . import data, reference
from .contract.bad_input import BadInputTests
from .contract.base import BackendTestBase
from .contract.callbacks import CallbackTests
from .contract.checkpoints import CheckpointTests
from .contract.evaluation import EvaluationTests
from .contract.layers import LayerTests
from .contract.models import ModelTests
from .contract.optimizers import OptimizerTests
from .contract.precision import PrecisionTests
from .contract.reproducibility import ReproducibilityTests
from .contract.streaming import StreamingTests
from .contract.text import TextTests
from .contract.training import TrainingTests
from .portable import check_layer, check_loss, check_metric, check_optimizer
from .regression import RegressionTests
from .suite import BackendTests

__all__ = ["BackendTestBase", "BackendTests", "BadInputTests", "CallbackTests", "CheckpointTests", "EvaluationTests",
           "LayerTests", "ModelTests", "OptimizerTests", "PrecisionTests", "RegressionTests", "ReproducibilityTests",
           "StreamingTests", "TextTests", "TrainingTests", "check_layer", "check_loss", "check_metric",
           "check_optimizer", "data", "reference"]
