"""The numpy backend's contract tests, section by section: it trains MLPs alone, so it takes the
sections of dlcore's contract suite it offers, one class each or two in one class (as a backend
author may group them), and leaves out portable layers (``LayerTests``), text models
(``TextTests``) and mixed precision (``PrecisionTests``).

Run with the backend installed (pytest collects this file only when named):

    python -m pytest tests/numpy_backend/contract_tests.py
"""

from dlcore.testing import (
    BadInputTests, CallbackTests, CheckpointTests, EvaluationTests, ModelTests, OptimizerTests, RegressionTests,
    ReproducibilityTests, StreamingTests, TrainingTests,
)


class TestModels(ModelTests):
    backend = "numpy"


class TestTrainingAndCheckpoints(TrainingTests, CheckpointTests):
    backend = "numpy"


class TestOptimizers(OptimizerTests):
    backend = "numpy"


class TestReproducibility(ReproducibilityTests):
    backend = "numpy"
    text_models = False  # the two-process run trains an MLP alone


class TestEvaluation(EvaluationTests):
    backend = "numpy"


class TestCallbacks(CallbackTests):
    backend = "numpy"


class TestStreaming(StreamingTests):
    backend = "numpy"


class TestBadInput(BadInputTests):
    backend = "numpy"


class TestRegression(RegressionTests):
    backend = "numpy"
