"""The contract suite: what every dlcore backend must do, as pytest tests, one section per
concern (:mod:`dlcore.testing.contract`). :class:`BackendTests` holds every section.

A backend's own tests subclass it and name the backend::

    from dlcore.testing import BackendTests

    class TestMyBackend(BackendTests):
        backend = "mybackend"
        text_models = False        # skip what the backend does not offer

A backend that offers only some concerns opts in per concern: it subclasses those sections
alone (``ModelTests``, ``TrainingTests``, ``CheckpointTests``, ... all in
:mod:`dlcore.testing`), one class each or several in one class::

    from dlcore.testing import CheckpointTests, ModelTests, TrainingTests

    class TestMyBackend(ModelTests, TrainingTests, CheckpointTests):
        backend = "mybackend"

The ``device`` fixture gives the device to test on ("cpu"); override it to test a GPU.
"""

from __future__ import annotations

from .contract.bad_input import BadInputTests
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
from .regression import RegressionTests


class BackendTests(ModelTests, TrainingTests, OptimizerTests, PrecisionTests, ReproducibilityTests, EvaluationTests,
                   CheckpointTests, CallbackTests, StreamingTests, LayerTests, TextTests, BadInputTests,
                   RegressionTests):
    """Every section of the contract suite. Subclass with ``backend = "name"``; set
    ``text_models = False`` or narrow ``optimizers`` for what the backend lacks, or subclass only
    the sections it offers (``class TestMyBackend(ModelTests, TrainingTests): ...``).

    Example::

        # tests/test_my_backend.py of a plugin that registers the backend "mybackend"
        from dlcore.testing import BackendTests

        class TestMyBackend(BackendTests):
            backend = "mybackend"
            text_models = False
    """


__all__ = ["BackendTests"]
