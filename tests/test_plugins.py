"""Third-party plugins: a backend installed by pip with one entry point passes the contract
suite; a name two plugins (or a plugin and dlcore) register is the first's, the other's is
reachable qualified, with one warning; plugins can be disabled by name."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import json
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest

from conftest import BACKENDS, BOTH, entry_point, numpy_backend
from dlcore import ConfigError, Trainer, models
from dlcore.plugins import registry_of

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


@pytest.mark.core_env
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


def test_two_plugins_registering_one_backend_name_both_load_the_first_keeps_it(site, tmp_path):
    second = tmp_path / "second"
    second.mkdir()
    shutil.copy(site / "dlcore_numpy.py", second / "another_numpy.py")
    entry_point(second, "another", "another_numpy")
    env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(site), str(second), os.environ.get("PYTHONPATH")]))}
    code = textwrap.dedent('''
        import dlcore
        from dlcore.testing.data import blobs
        x, y = blobs(400)
        for name in ("numpy", "numpy:numpy"):
            trainer = dlcore.Trainer(backend=name, epochs=2, lr=0.1, seed=0, progress=False)
            trainer.fit(dlcore.models.mlp(20, [8], 4), (x, y))
            print("USED", name, type(trainer.backend).__module__, trainer.backend.name, dlcore.get_backend(name).name)
    ''')
    out = run(site, "-c", code, env=env)
    assert out.returncode == 0, out.stderr
    assert "USED numpy another_numpy numpy numpy" in out.stdout  # entry points load by name: 'another' first
    assert "USED numpy:numpy dlcore_numpy numpy:numpy numpy:numpy" in out.stdout
    assert out.stderr.count("dlcore: the backend 'numpy' is registered by another-numpy (plugin 'another') "
                            "and by dlcore-numpy-backend (plugin 'numpy'); 'numpy' stays with another-numpy; use "
                            "'numpy:numpy' (backend='numpy:numpy') for the other") == 1, out.stderr
    cli = run(site, "-m", "dlcore", "backends", env=env)
    assert cli.returncode == 0, cli.stderr
    assert [line.split()[0] for line in cli.stdout.splitlines()].count("numpy") == 1, cli.stdout



def test_a_plugin_loaded_first_by_name_leaves_dlcore_mls_own_backends_their_names(site, tmp_path):
    """An entry point named 'aaa' sorts before dlcore-ml's 'tensorflow' and 'torch', yet a backend
    'torch' it registers is 'aaa:torch': dlcore-ml's own plugins load first."""
    plugin = tmp_path / "aaa"
    plugin.mkdir()
    (plugin / "dlcore_aaa.py").write_text(textwrap.dedent("""
        from dlcore import hookimpl
        from dlcore.contract import BackendInfo

        @hookimpl
        def dlcore_backends():
            return [BackendInfo("torch", "dlcore_numpy:NumpyBackend", requires=("numpy",))]
    """))
    entry_point(plugin, "aaa", "dlcore_aaa")
    env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(site), str(plugin), os.environ.get("PYTHONPATH")]))}
    code = "from dlcore.plugins import registry; b = registry().backends; print(b.plugin_of('torch'), b.plugin_of('aaa:torch'))"
    out = run(site, "-c", code, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["torch", "aaa"]
    assert "'torch' stays with dlcore-ml" in out.stderr and "use 'aaa:torch'" in out.stderr, out.stderr

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
from dlcore.contract import DatasetInfo, DatasetSource
from dlcore.contract import DeviceKind
from dlcore.contract import EmbeddingSource
from dlcore.embeddings import TextEmbedding
from dlcore.contract import WeightFormat
from dlcore.contract import Kernel, Loss, Metric, ModelKind, Optimizer
from dlcore.models import Layer
from dlcore.contract import LayerKind
from dlcore.testing.data import blobs, reviews
from dlcore_numpy import SignSGD, optimizer


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
        from dlcore.plugins.backends import parse_device
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
        first = regression.evaluate(spec, (x, y), allow_random=True)["loss"]
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


HUBER_EXTRAS = """
import numpy as np
from dlcore import ArrayDataset, hookimpl
from dlcore.contract import DatasetInfo, Kernel, Loss, Metric, Optimizer
from dlcore.testing.data import blobs
from dlcore_numpy import SignSGD, mae, optimizer


def triple_mae(logits, labels):
    errors = logits - labels.reshape(logits.shape)
    return 3 * np.abs(errors).mean(), 3 * np.sign(errors) / errors.size


def wrong(logits, labels):
    return np.array([(logits.argmax(1) != labels).sum()], np.float32)


def load_blobs(path=None, *, download=True, progress=None):
    x, y = blobs(600)
    return ArrayDataset(x[:500], y[:500], name="blobs/train"), ArrayDataset(x[500:], y[500:], name="blobs/test")


@hookimpl
def dlcore_losses():
    return [Loss("huber", "3 |d|", regression=True), Loss("smooth_l1", "|d|", regression=True)]


@hookimpl
def dlcore_metrics():
    return [Metric("errors", lambda stats, count: float(stats[0] / count), "sum", "(wrong,)")]


@hookimpl
def dlcore_optimizers():
    return [Optimizer("sgd", {}, "w -= lr * sign(g)")]


@hookimpl
def dlcore_datasets():
    return [DatasetInfo("blobs", load_blobs, "Gaussian blobs", {"epochs": 2, "batch_size": 50, "optimizer": "sgd",
                                                                "lr": 0.1})]


@hookimpl
def dlcore_kernels():
    return [Kernel("loss", "huber", "numpy", triple_mae), Kernel("loss", "smooth_l1", "numpy", mae),
            Kernel("metric", "errors", "numpy", wrong),
            Kernel("optimizer", "sgd", "numpy", lambda model, lr: optimizer(SignSGD, model, lr))]
"""

HUBER_MORE = """
import numpy as np
from dlcore import hookimpl
from dlcore.contract import Kernel, Loss, Metric
from dlcore_numpy import mse


def right(logits, labels):
    return np.array([(logits.argmax(1) == labels).sum()], np.float32)


@hookimpl
def dlcore_losses():
    return [Loss("smooth_l1", "d^2", regression=True)]


@hookimpl
def dlcore_metrics():
    return [Metric("errors", lambda stats, count: float(stats[0] / count), "sum", "(right,)")]


@hookimpl
def dlcore_kernels():
    return [Kernel("loss", "smooth_l1", "numpy", mse), Kernel("metric", "errors", "numpy", right)]
"""


@pytest.fixture
def clashing(tmp_path, monkeypatch):
    """Two installed distributions: dlcore-extras (plugin 'extras') registers dlcore's own loss
    name 'huber'; dlcore-more (plugin 'more') registers extras' 'smooth_l1' and 'errors'."""
    for module, source, name in (("dlcore_extras", HUBER_EXTRAS, "extras"), ("dlcore_more", HUBER_MORE, "more")):
        (tmp_path / f"{module}.py").write_text(source)
        entry_point(tmp_path, name, module)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for module in ("dlcore_extras", "dlcore_more"):
        sys.modules.pop(module, None)


HUBER_WARNING = ("dlcore: the loss 'huber' is registered by dlcore-ml (dlcore itself) and by dlcore-extras (plugin "
                 "'extras'); 'huber' stays with dlcore-ml; use 'extras:huber' (loss='extras:huber') for the other")


def test_a_plugin_reusing_a_builtin_name_and_another_reusing_its_name_train_beside_them(clashing):
    """dlcore's huber keeps 'huber', the plugin's is 'extras:huber'; between two plugins the first
    loaded keeps the name; one warning per clash naming both distributions, and everything trains."""
    with warnings.catch_warnings(record=True) as caught, numpy_backend():
        warnings.simplefilter("always")
        numpy_plugin = [] if "numpy" in BACKENDS else [sys.modules["dlcore_numpy"]]

        def huber(errors):  # dlcore's: d^2 / 2 within 1, else |d| - 1/2
            small = np.minimum(np.abs(errors), 1)
            return (0.5 * small ** 2 + np.abs(errors) - small).mean()

        formulas = {"huber": huber, "dlcore:huber": huber, "extras:huber": lambda d: 3 * np.abs(d).mean(),
                    "smooth_l1": lambda d: np.abs(d).mean(), "extras:smooth_l1": lambda d: np.abs(d).mean(),
                    "more:smooth_l1": lambda d: (d * d).mean()}  # the loss each name gives, of the errors
        with registry_of(*numpy_plugin):
            pass
        with registry_of(*numpy_plugin) as found:  # built twice, warned once
            rng = np.random.default_rng(0)
            x = rng.normal(0, 1, (256, 20)).astype(np.float32)
            y = (3 * x[:, 0]).astype(np.float32)
            spec = models.mlp(20, [], 1)
            losses, histories = {}, {}
            for loss in formulas:
                trainer = Trainer(backend="numpy", epochs=2, loss=loss, metrics=[], lr=0.01, seed=0,
                                  progress=False)
                errors = trainer.predict(spec, x, allow_random=True)[:, 0] - y
                losses[loss] = trainer.evaluate(spec, (x, y), allow_random=True)["loss"], errors
                histories[loss] = trainer.fit(spec, (x, y))["loss"]
                assert len(histories[loss]) == 2
            steps = {}
            for name in ("sgd", "extras:sgd"):  # one step of a batch of all: dlcore's SGD, extras' sign SGD
                trainer = Trainer(backend="numpy", epochs=1, batch_size=256, optimizer=name, loss="huber",
                                  metrics=[], lr=0.005, seed=0, progress=False)
                before = trainer.build(spec).get_weights()
                trainer.fit(spec, (x, y))
                steps[name] = [np.abs(trainer.build(spec).get_weights()[k] - w) for k, w in before.items()]
            with pytest.raises(ConfigError, match="choose one of .*huber, smooth_l1, extras:huber, more:smooth_l1"):
                Trainer(backend="numpy", loss="hubr")
            with pytest.raises(ConfigError, match=r"backend 'torch' has no implementation of the loss "
                                                  r"'extras:huber' \(backends that have one: numpy\)"):
                found.kernel("loss", "extras:huber", "torch")
    messages = [str(w.message) for w in caught if str(w.message).startswith("dlcore: the ")]  # clashes
    assert messages == [
        HUBER_WARNING,
        "dlcore: the loss 'smooth_l1' is registered by dlcore-extras (plugin 'extras') and by dlcore-more (plugin "
        "'more'); 'smooth_l1' stays with dlcore-extras; use 'more:smooth_l1' (loss='more:smooth_l1') for the other",
        "dlcore: the metric 'errors' is registered by dlcore-extras (plugin 'extras') and by dlcore-more (plugin "
        "'more'); 'errors' stays with dlcore-extras; use 'more:errors' (metrics=['more:errors']) for the other",
        "dlcore: the optimizer 'sgd' is registered by dlcore-ml (dlcore itself) and by dlcore-extras (plugin "
        "'extras'); 'sgd' stays with dlcore-ml; use 'extras:sgd' (optimizer='extras:sgd') for the other",
    ], messages
    for loss, formula in formulas.items():
        value, errors = losses[loss]
        assert value == pytest.approx(formula(errors), rel=1e-4), loss
    assert histories["huber"] == histories["dlcore:huber"] != histories["extras:huber"]
    assert all(np.allclose(moved, 0.005, atol=1e-7) for moved in steps["extras:sgd"])  # every weight by lr
    assert not all(np.allclose(moved, 0.005, atol=1e-7) for moved in steps["sgd"])


def test_with_clashing_plugins_installed_dlcore_testing_and_the_cli_work(site, clashing):
    paths = os.pathsep.join(filter(None, [str(clashing), str(site), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": paths}
    imported = subprocess.run([sys.executable, "-c", "import dlcore.testing"], capture_output=True, text=True,
                              env=env, timeout=300)
    assert imported.returncode == 0, imported.stderr
    assert imported.stderr.count(HUBER_WARNING) == 1, imported.stderr
    trained = subprocess.run([sys.executable, "-m", "dlcore", "train", "blobs", "--backend", "numpy", "--json",
                              "--no-plots", "--metrics", "accuracy", "errors", "more:errors"],
                             capture_output=True, text=True, env=env, timeout=300)
    assert trained.returncode == 0, trained.stderr
    assert trained.stderr.count("dlcore: the metric 'errors' is registered by") == 1, trained.stderr
    result = json.loads(trained.stdout.splitlines()[-1])
    assert result["errors"] == pytest.approx(1 - result["accuracy"]) and result["more:errors"] == result["accuracy"]
