"""Third-party plugins: a backend installed by pip with one entry point passes the contract
suite; duplicate names are refused naming both plugins; plugins can be disabled by name."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import BACKENDS, BOTH, entry_point

PACKAGE = Path(__file__).parent / "numpy_backend"
REGISTERED = [info.name for info in __import__("dlcore").backend_infos()]  # installed or not


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """tests/numpy_backend installed by pip into a folder of its own (a site directory)."""
    pytest.importorskip("setuptools")
    target = tmp_path_factory.mktemp("site")
    build = tmp_path_factory.mktemp("build")
    shutil.copytree(PACKAGE, build / "numpy_backend")
    out = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                          "--target", str(target), str(build / "numpy_backend")],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert (target / "dlcore_numpy.py").is_file()
    return target


def run(site: Path, *args: str, env: dict | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    """``python *args`` with the plugin's site directory on the path."""
    paths = os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONPATH": paths, **(env or {})})


def test_third_party_backend_passes_the_contract_suite(site, tmp_path):
    (tmp_path / "test_numpy_contract.py").write_text(textwrap.dedent('''
        from dlcore.testing import BackendTests

        class TestNumpy(BackendTests):
            backend = "numpy"
            text_models = False
    '''))
    out = run(site, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path / "test_numpy_contract.py"))
    assert out.returncode == 0, out.stdout[-5000:] + out.stderr[-2000:]
    summary = out.stdout.strip().splitlines()[-1]
    assert "failed" not in summary and int(summary.split(" passed")[0].split()[-1]) >= 30, summary


def test_third_party_backend_trains_without_loading_a_framework(site):
    out = run(site, "-c", textwrap.dedent('''
        import sys
        import dlcore
        from dlcore import Trainer, models
        from dlcore.testing.data import blobs
        print("BACKENDS", [i.name for i in dlcore.backend_infos()])
        x, y = blobs()
        spec = models.mlp(20, [32], 4)
        trainer = Trainer(backend="np", epochs=5, batch_size=32, lr=0.1, seed=0, progress=False)
        trainer.fit(spec, (x[:1000], y[:1000]))
        print("ACCURACY", trainer.evaluate(spec, (x[1000:], y[1000:]))["accuracy"])
        print("FRAMEWORKS", [m for m in ("torch", "tensorflow") if m in sys.modules])
    '''))
    assert out.returncode == 0, out.stderr
    lines = dict(line.split(" ", 1) for line in out.stdout.splitlines())
    assert lines["BACKENDS"] == str(["numpy", *REGISTERED])
    assert float(lines["ACCURACY"]) >= 0.95
    assert lines["FRAMEWORKS"] == "[]"


def test_plugin_becomes_the_default_by_priority_and_cli_lists_it(site):
    out = run(site, "-m", "dlcore", "backends")
    assert out.returncode == 0, out.stderr
    row = next(line for line in out.stdout.splitlines() if line.startswith("numpy"))
    assert row.split()[1:3] == ["yes", "*"]


def test_disabled_plugins_are_not_loaded(site):
    out = run(site, "-c", "import dlcore; print([i.name for i in dlcore.backend_infos()])",
              env={"DLCORE_DISABLED_PLUGINS": "numpy, tensorflow"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str([b for b in REGISTERED if b != "tensorflow"])


def test_two_plugins_registering_one_backend_name_are_refused_naming_both(site, tmp_path):
    second = tmp_path / "second"
    second.mkdir()
    shutil.copy(site / "dlcore_numpy.py", second / "another_numpy.py")
    entry_point(second, "another", "another_numpy")
    env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(site), str(second), os.environ.get("PYTHONPATH")]))}
    code = "import dlcore\ntry:\n    dlcore.Trainer(backend='numpy')\nexcept dlcore.PluginError as e:\n    print('ERR', e)\n"
    out = run(site, "-c", code, env=env)
    assert out.returncode == 0, out.stderr
    assert "ERR two plugins register the backend 'numpy': 'numpy' and 'another'" in out.stdout
    cli = run(site, "-m", "dlcore", "backends", env=env)
    assert cli.returncode == 2 and cli.stderr.strip().startswith("dlcore: error: two plugins register")


EXTRAS = '''
"""A plugin adding one thing to each extension point but backends: a regression loss and an
optimizer among them, written from the contract's documented kernel signatures alone."""
import json
import os
from pathlib import Path

import numpy as np

from dataclasses import dataclass
from typing import ClassVar

from dlcore import ArrayDataset, ModelSpec, hookimpl
from dlcore.datasets import DatasetInfo, DatasetSource
from dlcore.contract import DeviceKind
from dlcore.embeddings import EmbeddingSource, TextEmbedding
from dlcore.contract import WeightFormat
from dlcore.kernels import Kernel, Loss, Metric, Optimizer
from dlcore.models import Layer, ModelKind
from dlcore.contract import LayerKind
from dlcore.testing.data import blobs, reviews
from dlcore_numpy import SGD, optimizer


class SignSGD(SGD):
    """w -= lr * sign(g), its state the number of updates alone."""

    def step(self, weights, grads):
        self.t += 1
        for name, grad in grads.items():
            weights[name] -= np.float32(self.lr) * np.sign(grad)

    def load(self, arrays, meta):
        self.t = int(meta.get("step", 0))


def squared_error(logits, labels):
    """The numpy backend's loss kernel: (mean loss, its gradient by the logits)."""
    diff = logits - labels.reshape(len(labels), -1)
    return float((diff ** 2).mean()), 2 * diff / diff.size


@dataclass(frozen=True)
class Logistic(ModelSpec):
    """Multinomial logistic regression: one dense layer."""

    in_features: int = 20
    classes: int = 4
    activation: str = "relu"
    kind: ClassVar[str] = "logistic"

    def parameter_shapes(self):
        return {"layers.0.weight": (self.classes, self.in_features), "layers.0.bias": (self.classes,)}

    def initial_weights(self, seed=None):
        return {name: np.zeros(shape, np.float32) for name, shape in self.parameter_shapes().items()}


@dataclass(frozen=True)
class Scale(Layer):
    """Multiplies each feature by a weight of its own (ones at first)."""

    kind: ClassVar[str] = "scale"

    def parameter_shapes(self, shape):
        return {"weight": tuple(shape)}

    def initial_weights(self, shape, rng):
        return {"weight": np.ones(shape, np.float32)}


def torch_scale(layer, shape):
    import torch

    class TorchScale(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = torch.nn.Parameter(torch.ones(shape))

        def forward(self, x):
            return x * self.weight

    return TorchScale()


def keras_scale(layer, shape):
    import keras

    class KerasScale(keras.layers.Layer):
        def build(self, input_shape):
            self.scale = self.add_weight(shape=shape, initializer="ones", name="weight")

        def call(self, x, training=False):
            return x * self.scale

        def dlcore_entries(self):
            return [("weight", self.scale, None)]

    return KerasScale()


def load_blobs(path=None, *, download=True, progress=None):
    x, y = blobs(1200)
    return ArrayDataset(x[:1000], y[:1000], name="blobs/train"), ArrayDataset(x[1000:], y[1000:], name="blobs/test")


def error_rate(logits, labels):
    return np.array([(logits.argmax(1) != labels).sum()], np.float32)


def find_reviews():
    """A place IMDB's reviews come from: here, the number of them in $EXTRAS_REVIEWS."""
    return os.environ.get("EXTRAS_REVIEWS")


def read_reviews(count):
    texts, labels = reviews(int(count))
    cut = len(texts) * 3 // 4
    return (ArrayDataset(texts[:cut], labels[:cut], name="imdb/train"),
            ArrayDataset(texts[cut:], labels[cut:], name="imdb/test"))


def read_json(path, spec):
    return {k: np.array(v, np.float32) for k, v in json.loads(Path(path).read_text()).items()}, None


def write_json(path, weights, spec):
    Path(path).write_text(json.dumps({k: v.tolist() for k, v in weights.items()}))
    return Path(path)


def load_tiny(name, *, trainable, vocabulary, combiner, oov_buckets):
    vectors = np.eye(2 + oov_buckets, 3, dtype=np.float32)
    return TextEmbedding(("good", "bad"), vectors, oov_buckets, combiner or "sum", "words", trainable, name)


@hookimpl
def dlcore_datasets():
    return [DatasetInfo("blobs", load_blobs, "Gaussian blobs, 4 classes",
                        {"epochs": 3, "batch_size": 32, "optimizer": "sgd", "lr": 0.1})]


@hookimpl
def dlcore_dataset_sources():
    return [DatasetSource("imdb", "extras", find_reviews, read_reviews, "made-up reviews, for the tests")]


@hookimpl
def dlcore_metrics():
    return [Metric("error_rate", lambda stats, count: float(stats[0] / count), "sum", "(wrong,)")]


@hookimpl
def dlcore_losses():
    return [Loss("squared_error", "mean over samples and outputs of (logit - target)^2", regression=True)]


@hookimpl
def dlcore_optimizers():
    return [Optimizer("sign_sgd", {}, "w -= lr * sign(g)")]


@hookimpl
def dlcore_model_kinds():
    return [ModelKind("logistic", Logistic, "one dense layer")]


@hookimpl
def dlcore_layer_kinds():
    return [LayerKind("scale", Scale, "a weight per feature")]


@hookimpl
def dlcore_kernels():
    from dlcore_numpy import MLPWeights  # the numpy backend builds it as an MLP without hidden layers

    return [Kernel("layer", "scale", "torch", torch_scale), Kernel("layer", "scale", "tensorflow", keras_scale),
            Kernel("metric", "error_rate", "numpy", error_rate), Kernel("model", "logistic", "numpy", MLPWeights),
            Kernel("loss", "squared_error", "numpy", squared_error),
            Kernel("optimizer", "sign_sgd", "numpy", lambda model, lr: optimizer(SignSGD, model, lr))]


@hookimpl
def dlcore_weight_formats():
    return [WeightFormat("json", (".json",), read_json, write_json, description="weights as JSON lists")]


@hookimpl
def dlcore_embedding_sources():
    return [EmbeddingSource("tiny", lambda name: name == "tiny", load_tiny)]


@hookimpl
def dlcore_device_kinds():
    return [DeviceKind("xpu", ("xpu",), rank=1)]
'''


def test_a_plugin_extends_models_datasets_metrics_formats_embeddings_and_devices(site, tmp_path):
    extras = tmp_path / "extras"
    extras.mkdir()
    (extras / "dlcore_extras.py").write_text(EXTRAS)
    entry_point(extras, "extras", "dlcore_extras")
    env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(site), str(extras), os.environ.get("PYTHONPATH")]))}

    trained = run(site, "-m", "dlcore", "train", "blobs", "--backend", "numpy", "--json", env=env)
    assert trained.returncode == 0, trained.stderr
    result = __import__("json").loads(trained.stdout.splitlines()[-1])
    assert result["epochs"] == 3 and result["optimizer"] == "sgd" and result["accuracy"] >= 0.95

    out = run(site, "-c", textwrap.dedent(f'''
        import numpy as np
        import dlcore
        from dlcore import Trainer, datasets, embeddings, models
        from dlcore.devices import parse_device
        train, test = datasets.load("blobs")
        trainer = Trainer(backend="numpy", epochs=3, lr=0.1, seed=0, progress=False,
                          metrics=["accuracy", "error_rate"])
        history = trainer.fit(models.mlp(20, [16], 4), train, validation=test)
        record = history.records[-1]
        assert abs(record["val_error_rate"] - (1 - record["val_accuracy"])) < 1e-9, record
        model = trainer.build(models.mlp(20, [16], 4))
        trainer.export(model, {str(tmp_path / "w.json")!r})
        back = trainer.load({str(tmp_path / "w.json")!r}, spec=models.mlp(20, [16], 4))
        np.testing.assert_array_equal(trainer.predict(back, test), trainer.predict(model, test))
        from dlcore_extras import Logistic
        logistic = Trainer(backend="numpy", epochs=5, lr=0.5, seed=0, progress=False)
        spec = Logistic(20, 4)
        logistic.fit(spec, train)
        trainer.save(logistic.build(spec), {str(tmp_path / "logistic.npz")!r})
        reloaded = logistic.load({str(tmp_path / "logistic.npz")!r})
        assert reloaded.spec == spec and logistic.evaluate(reloaded, test)["accuracy"] >= 0.9
        rng = np.random.default_rng(0)
        x = rng.normal(0, 1, (800, 20)).astype(np.float32)
        y = (x @ rng.normal(0, 1, 20) + 0.5).astype(np.float32)
        try:
            Trainer(backend="numpy", progress=False).fit(models.mlp(20, [], 1), (x, y))
        except dlcore.DataError as err:
            print("REGRESSION", err)
        regression = Trainer(backend="numpy", epochs=30, batch_size=32, loss="squared_error", optimizer="sign_sgd",
                             lr=0.005, metrics=[], seed=0, progress=False)
        spec = models.mlp(20, [], 1)
        first = regression.evaluate(spec, (x, y))["loss"]
        history = regression.fit(spec, (x, y))
        print("MSE", first, history["loss"][-1], float(y.var()), regression.build(spec).step)
        one_step = Trainer(backend="numpy", epochs=1, batch_size=800, loss="squared_error", optimizer="sign_sgd",
                           lr=0.005, metrics=[], seed=0, progress=False)
        spec = models.mlp(20, [], 1)
        before = one_step.build(spec).get_weights()
        one_step.fit(spec, (x, y))
        moved = [np.abs(one_step.build(spec).get_weights()[k] - w) for k, w in before.items()]
        print("SIGN", all(np.allclose(m, 0.005, atol=1e-7) for m in moved))  # every weight moved by lr exactly
        print("EMBEDDING", embeddings.load("tiny").source)
        imdb_train, imdb_test = datasets.load("imdb", download=False)
        print("IMDB", len(imdb_train), len(imdb_test))
        print("XPU", parse_device("xpu:1"))
        try:
            Trainer(backend="numpy", device="xpu")
        except dlcore.DeviceError as err:
            print("DEVICE", err)
        if {BOTH!r}:
            from dlcore_extras import Scale
            from dlcore.models import layers
            spec = models.sequential([layers.dense(8, "relu"), Scale(), layers.dense(4)], (20,))
            on_torch = Trainer("torch", epochs=3, optimizer="adam", lr=1e-2, seed=0, progress=False)
            on_torch.fit(spec, train)
            on_torch.save(spec, {str(tmp_path / "scaled.npz")!r})
            on_tf = Trainer("tensorflow", progress=False)
            back = on_tf.load({str(tmp_path / "scaled.npz")!r})
            gap = np.abs(on_tf.predict(back, test) - on_torch.predict(spec, test)).max()
            moved = np.abs(on_torch.build(spec).get_weights()["layers.1.weight"] - 1).max()
            print("LAYER", back.spec == spec, gap < 1e-4, moved > 0.01, on_tf.evaluate(back, test)["accuracy"] >= 0.9)
        if {"torch" in BACKENDS!r}:
            try:
                Trainer(backend="torch", metrics=["error_rate"])
            except dlcore.ConfigError as err:
                print("KERNEL", err)
    '''), env={**env, "EXTRAS_REVIEWS": "200"})
    assert out.returncode == 0, out.stderr[-3000:]
    assert "EMBEDDING tiny" in out.stdout and "XPU ('xpu', 1)" in out.stdout
    assert "IMDB 150 50" in out.stdout  # read by the plugin's dataset source
    assert ("REGRESSION train: binary labels must be 0 or 1" in out.stdout
            and "expects class labels; for regression use a regression loss" in out.stdout), out.stdout
    first, last, variance, steps = (float(v) for v in out.stdout.split("MSE ")[1].split()[:4])
    assert last < 0.02 * variance < first and steps == 30 * 25, out.stdout  # the loss and optimizer trained it
    assert "LAYER True True True True" in out.stdout or not BOTH, out.stdout  # a layer kind of a plugin's
    assert "SIGN True" in out.stdout  # the plugin's optimizer made the update, not another one
    assert "DEVICE device 'xpu' does not exist on backend 'numpy'; available: cpu" in out.stdout
    if "torch" in BACKENDS:
        assert ("KERNEL backend 'torch' has no implementation of the metric 'error_rate' (backends that have one: "
                "numpy)") in out.stdout


def test_a_backend_written_for_the_old_contract_gets_a_porting_hint(tmp_path):
    """dlcore 0.1's plugins subclassed Backend with a trainer_class; dlcore 0.2 says how to port them."""
    (tmp_path / "old_backend.py").write_text(textwrap.dedent('''
        from dlcore import Backend, BackendInfo, Device, hookimpl

        class OldBackend(Backend):
            name = "old"
            trainer_class = object

            def devices(self):
                return [Device("old", "cpu", 0, "cpu")]

            def versions(self):
                return {}

        @hookimpl
        def dlcore_backends():
            return [BackendInfo("old", OldBackend)]
    '''))
    entry_point(tmp_path, "old", "old_backend")
    out = run(tmp_path, "-c", "import dlcore\ntry:\n    dlcore.Trainer(backend='old')\nexcept dlcore.BackendError as e:\n"
                              "    print('ERR', e)\n")
    assert out.returncode == 0, out.stderr
    assert "ERR backend 'old' does not implement dlcore's backend contract" in out.stdout
    assert "must be ported to dlcore.contract.Backend" in out.stdout


def test_a_plugin_with_a_misspelled_hook_is_left_out_naming_its_entry_point(tmp_path):
    """The other plugins keep working; the warning, `dlcore backends` and the registry say which
    entry point was left out and how to disable it."""
    (tmp_path / "typo_plugin.py").write_text("from dlcore import hookimpl\n\n\n@hookimpl\ndef dlcore_loss():\n"
                                             "    return []\n")
    entry_point(tmp_path, "typo", "typo_plugin")
    out = run(tmp_path, "-c", "import dlcore\nprint('BACKENDS', [i.name for i in dlcore.backend_infos()])\n"
                              "print('BROKEN', sorted(dlcore.plugins.registry().broken))\n")
    assert out.returncode == 0, out.stderr
    assert f"BACKENDS {REGISTERED}" in out.stdout and "BROKEN ['typo']" in out.stdout
    assert ("dlcore left a plugin out: entry point 'typo' = 'typo_plugin' of typo-plugin implements dlcore_loss, "
            "which dlcore does not specify") in out.stderr
    assert "DLCORE_DISABLED_PLUGINS=typo" in out.stderr
    listed = run(tmp_path, "-m", "dlcore", "backends")
    assert listed.returncode == 0 and "plugin typo left out: entry point 'typo'" in listed.stdout
    quiet = run(tmp_path, "-c", "import dlcore\nprint(sorted(dlcore.plugins.registry().broken))\n",
                env={"DLCORE_DISABLED_PLUGINS": "typo"})
    assert quiet.stdout.strip() == "[]" and "left a plugin out" not in quiet.stderr
