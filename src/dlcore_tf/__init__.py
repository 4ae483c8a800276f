"""dlcore's TensorFlow backend, a pluggy plugin. Importing this module does not import TF."""

from pathlib import Path

from dlcore import hookimpl
from dlcore.contract import (
    BackendInfo, DatasetSource, EmbeddingSource, Kernel, StrategyInfo, WeightFormat, standard_kernels,
)
from dlcore.version import pip_install

NAME = "tensorflow"
LAYER_KERNELS = {"dense": "Dense", "conv2d": "Conv2d", "max_pool2d": "Pool2d", "avg_pool2d": "Pool2d",
                 "global_avg_pool2d": "GlobalPool2d", "global_max_pool2d": "GlobalPool2d", "batch_norm": "BatchNorm",
                 "dropout": "Dropout", "flatten": "Flatten", "embedding": "Embedding", "activation": "Activation"}


@hookimpl
def dlcore_backends() -> list[BackendInfo]:
    return [BackendInfo(NAME, "dlcore_tf.backend:TFBackend", requires=("tensorflow",), extra="tf",
                        aliases=("tf", "keras"), priority=20, description="TensorFlow 2 / Keras 3: CPU, GPU:N")]


@hookimpl
def dlcore_kernels() -> list[Kernel]:
    models = {"mlp": "dlcore_tf.models:build_mlp", "text_classifier": "dlcore_tf.models:build_text_classifier",
              "sequential": "dlcore_tf.models:build_graph", "graph": "dlcore_tf.models:build_graph"}
    layers = [Kernel("layer", kind, NAME, f"dlcore_tf.layers:{impl}") for kind, impl in LAYER_KERNELS.items()]
    written = Kernel("layer", "ops", NAME, "dlcore_tf.written:build")  # any layer written on dlcore.ops
    rules = [Kernel("optimizer", "ops", NAME, "dlcore_tf.rules:make")]  # any optimizer written on dlcore.ops
    kernels = [Kernel(k.kind, k.name, NAME, "dlcore_tf.rules:rmsprop") if k.key == ("optimizer", "rmsprop", NAME)
               else k for k in standard_kernels(NAME, "dlcore_tf.kernels", models)
               if k.kind not in ("loss", "metric")]  # losses and metrics: their definitions on dlcore.ops
    return kernels + layers + [written] + rules


@hookimpl
def dlcore_weight_formats() -> list[WeightFormat]:
    return [WeightFormat("keras", (".keras",), "dlcore_tf.formats:read_keras", "dlcore_tf.formats:write_keras",
                         requires=("tensorflow",), install_hint=pip_install("tf"),
                         description="Keras 3 .keras file (read in safe mode)")]


@hookimpl
def dlcore_embedding_sources() -> list[EmbeddingSource]:
    return [EmbeddingSource("tf-hub", lambda name: "/" in name or Path(name).expanduser().is_dir(),
                            "dlcore_tf.hub:load", 30,
                            "a TF-Hub handle such as google/nnlm-en-dim50/2, or a SavedModel folder "
                            f"({pip_install('tf')})")]


@hookimpl
def dlcore_dataset_sources() -> list[DatasetSource]:
    return [DatasetSource("imdb", "tensorflow-datasets", "dlcore_tf.datasets:find_prepared_imdb",
                          "dlcore_tf.datasets:read_prepared_imdb",
                          "a prepared tensorflow-datasets imdb_reviews in $TFDS_DATA_DIR or ~/tensorflow_datasets")]


@hookimpl
def dlcore_strategies() -> list[StrategyInfo]:
    return [StrategyInfo("multi_worker_mirrored", NAME, "dlcore_tf.strategy:MultiWorkerMirroredStrategy",
                         aliases=("mwms",), ray_trainer="ray.train.tensorflow:TensorflowTrainer",
                         description="tf.distribute.MultiWorkerMirroredStrategy: collective all-reduce; TF_CONFIG")]
