"""The core without any framework: imports, backend selection, devices, history, checkpoints."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import dlcore
from conftest import BACKENDS, BOTH
from dlcore import ArrayDataset, BackendError, CheckpointError, ConfigError, DataError, DeviceError, History
from dlcore.contract import Device, DeviceRegistry, parse_device, resolve_device
from dlcore.models import MLP, mlp, spec_from_dict


def run_python(code: str, **env) -> subprocess.CompletedProcess:
    import os

    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=300)


def test_import_dlcore_loads_no_framework():
    out = run_python(
        "import sys, dlcore; from dlcore import Trainer, datasets, models; "
        "dlcore.backend_infos(); dlcore.select_backend_name() if any(i.available for i in dlcore.backend_infos()) else None; "
        "print([m for m in ('torch', 'tensorflow', 'keras', 'torchvision') if m in sys.modules])"
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_builtin_backends_are_registered_in_documented_order():
    names = [info.name for info in dlcore.backend_infos()]
    assert names[:2] == ["torch", "tensorflow"]


def test_unknown_backend_lists_installed_backends():
    with pytest.raises(BackendError, match=r"unknown backend 'mxnet'.*torch.*tensorflow"):
        dlcore.select_backend_name("mxnet")


def test_aliases_and_environment_variable_select_backend(monkeypatch):
    assert dlcore.select_backend_name("TF") == "tensorflow"
    assert dlcore.select_backend_name("pytorch") == "torch"
    monkeypatch.setenv("DLCORE_BACKEND", "tensorflow")
    assert dlcore.select_backend_name() == "tensorflow"
    assert dlcore.select_backend_name("torch") == "torch"  # explicit beats the environment
    monkeypatch.setenv("DLCORE_BACKEND", "nope")
    with pytest.raises(BackendError, match="DLCORE_BACKEND='nope'"):
        dlcore.select_backend_name()


@pytest.mark.skipif("torch" not in BACKENDS, reason="needs torch as the other backend")
def test_missing_framework_names_the_extra_and_other_backend_still_works():
    blocker = (
        "import sys, importlib.abc\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path, target=None):\n"
        "        if name.split('.')[0] == 'tensorflow': raise ModuleNotFoundError(name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import importlib.util\n"
        "_orig = importlib.util.find_spec\n"
        "importlib.util.find_spec = lambda n, *a: None if n.split('.')[0] == 'tensorflow' else _orig(n, *a)\n"
    )
    code = blocker + (
        "import sys, dlcore, numpy as np\n"
        "sys.path.insert(0, %r)\n"
        "from conftest import blobs\n"
        "try:\n    dlcore.get_backend('tensorflow')\nexcept dlcore.BackendError as e:\n    print('ERR', e)\n"
        "print('DEFAULT', dlcore.select_backend_name())\n"
        "x, y = blobs()\n"
        "t = dlcore.Trainer(epochs=3, batch_size=32, optimizer='adam', lr=1e-2, seed=0, progress=False)\n"
        "spec = dlcore.models.mlp(20, [16], 4)\n"
        "t.fit(spec, (x[:1000], y[:1000]))\n"
        "print('ACCURACY', t.evaluate(spec, (x[1000:], y[1000:]))['accuracy'])\n"
    ) % str(Path(__file__).parent)
    out = run_python(code)
    assert out.returncode == 0, out.stderr
    assert "ERR backend 'tensorflow' needs tensorflow" in out.stdout
    assert "pip install 'dlcore-ml[tf]'" in out.stdout
    assert "DEFAULT torch" in out.stdout
    accuracy = float(out.stdout.split("ACCURACY ")[1])
    assert accuracy >= 0.95, "the torch backend did not train while tensorflow was missing"


@pytest.mark.parametrize("name, expected", [
    ("cpu", ("cpu", None)), ("CPU", ("cpu", None)), ("cuda:1", ("gpu", 1)), ("GPU:0", ("gpu", 0)),
    ("/device:GPU:2", ("gpu", 2)), ("mps", ("mps", None)), ("gpu", ("gpu", None)),
])
def test_device_names_in_either_spelling(name, expected):
    assert parse_device(name) == expected


def test_auto_device_prefers_gpu_then_mps_then_cpu():
    cpu = Device("torch", "cpu", 0, "cpu")
    mps = Device("torch", "mps", 0, "mps")
    gpu1 = Device("torch", "gpu", 1, "cuda:1")
    gpu0 = Device("torch", "gpu", 0, "cuda:0")
    assert resolve_device([cpu, mps, gpu1, gpu0], "auto", "torch") == gpu0
    assert resolve_device([cpu, mps], "auto", "torch") == mps
    assert resolve_device([cpu], "auto", "torch") == cpu
    assert resolve_device([cpu, gpu0], "GPU:0", "torch") == gpu0


def test_missing_device_error_lists_available_devices():
    with pytest.raises(DeviceError, match=r"'cuda:3' does not exist on backend 'torch'; available: cpu, cuda:0"):
        resolve_device([Device("torch", "cpu", 0, "cpu"), Device("torch", "gpu", 0, "cuda:0")], "cuda:3", "torch")
    with pytest.raises(DeviceError, match="cannot read device name 'tpu'"):
        parse_device("tpu")


def test_device_registry_refuses_duplicates():
    registry = DeviceRegistry()
    registry.register(Device("torch", "cpu", 0, "cpu"))
    registry.register(Device("tensorflow", "cpu", 0, "CPU"))
    with pytest.raises(DeviceError, match="already registered"):
        registry.register(Device("torch", "cpu", 0, "cpu"))
    assert [d.name for d in registry.for_backend("tensorflow")] == ["CPU"]


def test_array_dataset_slicing_and_errors():
    data = ArrayDataset(np.zeros((10, 3)), np.arange(10), class_names=list("abcdefghij"))
    part = data[:4]
    assert len(part) == 4 and part.class_names == data.class_names
    x, y = data[7]
    assert y == 7 and x.shape == (3,)
    train, val = data.split(0.2)
    assert (len(train), len(val)) == (8, 2) and val.labels.tolist() == [8, 9]
    with pytest.raises(DataError, match="10 feature rows but 9 labels"):
        ArrayDataset(np.zeros((10, 3)), np.arange(9))


def test_mlp_spec_shapes_and_torch_style_initialisation():
    spec = mlp(784, [512, 512], 10)
    shapes = spec.parameter_shapes()
    assert shapes == {
        "layers.0.weight": (512, 784), "layers.0.bias": (512,),
        "layers.1.weight": (512, 512), "layers.1.bias": (512,),
        "layers.2.weight": (10, 512), "layers.2.bias": (10,),
    }
    weights = spec.initial_weights(seed=3)
    assert all(w.dtype == np.float32 for w in weights.values())
    assert np.abs(weights["layers.0.weight"]).max() <= 1 / np.sqrt(784)
    assert np.array_equal(weights["layers.2.bias"], spec.initial_weights(seed=3)["layers.2.bias"])
    assert spec_from_dict(json.loads(json.dumps(spec.to_dict()))) == spec


def test_history_metrics_and_dataframe():
    history = History()
    history.append({"epoch": 1, "loss": 1.0, "accuracy": 0.5, "seconds": 1.0})
    history.append({"epoch": 2, "loss": 0.5, "accuracy": 0.8, "seconds": 1.0})
    assert history["loss"] == [1.0, 0.5]
    assert history.history["accuracy"] == [0.5, 0.8]
    frame = history.to_dataframe()
    assert list(frame.index) == [1, 2] and frame.loc[2, "accuracy"] == 0.8
    with pytest.raises(KeyError, match="no metric 'val_loss'"):
        history["val_loss"]


def test_checkpoint_round_trip_and_damage_detection(tmp_path):
    from dlcore import TrainingCheckpoint

    spec = MLP(4, (3,), 2)
    weights = spec.initial_weights(0)
    path = TrainingCheckpoint(weights, spec, {"note": "x"}).save(tmp_path / "m.npz")
    loaded = TrainingCheckpoint.load(path)
    assert loaded.spec == spec and loaded.metadata == {"note": "x"}
    assert all(np.array_equal(loaded.weights[k], weights[k]) for k in weights)
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    (tmp_path / "bad.npz").write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="bad.npz"):
        TrainingCheckpoint.load(tmp_path / "bad.npz")
    (tmp_path / "trunc.npz").write_bytes(path.read_bytes()[:100])
    with pytest.raises(CheckpointError, match="trunc.npz"):
        TrainingCheckpoint.load(tmp_path / "trunc.npz")


def _rewrite_npz(source, target, change):
    """Copy the .npz archive ``source`` to ``target`` as a well-formed zip (fresh CRCs), with
    ``change(name, bytes) -> bytes`` applied to each member."""
    import zipfile

    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w") as dst:
        for name in src.namelist():
            dst.writestr(name, change(name, src.read(name)))
    return target


def test_checkpoint_whose_array_bytes_differ_from_their_hash_is_refused(tmp_path):
    """A valid zip whose array bytes were changed (zip's own CRC recomputed): only dlcore's
    per-array SHA-256 can tell."""
    from dlcore import TrainingCheckpoint

    spec = MLP(4, (3,), 2)
    path = TrainingCheckpoint(spec.initial_weights(0), spec).save(tmp_path / "m.npz")

    def flip_last_byte(name, raw):
        return raw[:-1] + bytes([raw[-1] ^ 0x01]) if name == "weights/layers.1.bias.npy" else raw

    altered = _rewrite_npz(path, tmp_path / "altered.npz", flip_last_byte)
    with np.load(altered, allow_pickle=False) as npz:  # numpy itself reads it without complaint
        assert not np.array_equal(npz["weights/layers.1.bias"], spec.initial_weights(0)["layers.1.bias"])
    with pytest.raises(CheckpointError, match=r"altered.npz: tensor 'weights/layers.1.bias' fails its checksum"):
        TrainingCheckpoint.load(altered)


def test_checkpoint_with_arrays_its_metadata_does_not_list_is_refused(tmp_path):
    """An array added to the archive, or one removed from it, without its metadata entry."""
    import io
    import zipfile

    from dlcore import TrainingCheckpoint

    spec = MLP(4, (3,), 2)
    path = TrainingCheckpoint(spec.initial_weights(0), spec).save(tmp_path / "m.npz")
    extra = io.BytesIO()
    np.save(extra, np.ones(3, np.float32))
    added = _rewrite_npz(path, tmp_path / "added.npz", lambda name, raw: raw)
    with zipfile.ZipFile(added, "a") as archive:
        archive.writestr("weights/smuggled.npy", extra.getvalue())
    with pytest.raises(CheckpointError, match=r"added.npz: tensors \['weights/smuggled'\] are missing or unexpected"):
        TrainingCheckpoint.load(added)
    removed = tmp_path / "removed.npz"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(removed, "w") as dst:
        for name in src.namelist():
            if name != "weights/layers.0.bias.npy":
                dst.writestr(name, src.read(name))
    with pytest.raises(CheckpointError, match=r"removed.npz: tensors \['weights/layers.0.bias'\] are missing"):
        TrainingCheckpoint.load(removed)


class CreatesFile:
    """Unpickling this creates ``path``: proof that a loader ran code from the file."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_checkpoint_refuses_pickled_arrays(tmp_path):
    """A checkpoint with valid dlcore metadata and one object array whose pickle would create a
    file: refused as pickled, and nothing runs."""
    from dlcore import TrainingCheckpoint

    marker = tmp_path / "code-ran"
    spec = MLP(4, (3,), 2)
    path = TrainingCheckpoint(spec.initial_weights(0), spec).save(tmp_path / "m.npz")
    evil = np.empty(1, dtype=object)
    evil[0] = CreatesFile(marker)
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    meta = json.loads(arrays["__dlcore_metadata__"].tobytes())
    meta["tensors"]["weights/layers.0.bias"] = {"shape": [1], "dtype": "object", "sha256": "0" * 64}
    arrays["weights/layers.0.bias"] = evil
    arrays["__dlcore_metadata__"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    np.savez(tmp_path / "evil.npz", **arrays)
    with pytest.raises(CheckpointError, match=r"evil.npz: holds pickled objects, which dlcore never loads \(they "
                                              r"could run code\); only a checkpoint of plain arrays can be read"):
        TrainingCheckpoint.load(tmp_path / "evil.npz")
    assert not marker.exists(), "loading a checkpoint unpickled an object array and ran its code"


@pytest.mark.skipif(not BOTH, reason="needs both torch and tensorflow")
def test_tensorflow_imported_first_gets_an_error_instead_of_a_crash():
    out = run_python(
        "import tensorflow, dlcore\n"
        "try:\n    dlcore.get_backend('torch')\nexcept dlcore.BackendError as e:\n    print('ERR', e)\n"
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "ERR tensorflow was imported before torch" in out.stdout


@pytest.mark.skipif(not BOTH, reason="needs both torch and tensorflow")
def test_a_tensorflow_run_does_not_import_torch_and_torch_can_still_follow():
    """A TensorFlow-only run is not charged for torch's import (2 s or more); selecting the
    torch backend after the TensorFlow one still works, with no warning."""
    out = run_python(
        "import sys, warnings, numpy as np\n"
        "from dlcore import Trainer, get_backend, models\n"
        "warnings.simplefilter('error')\n"
        "get_backend('tensorflow')\n"
        "print('torch loaded:', 'torch' in sys.modules)\n"
        "x, y = np.random.default_rng(0).random((64, 8), dtype=np.float32), np.arange(64) % 2\n"
        "for b in ('tensorflow', 'torch'):\n"
        "    h = Trainer(b, epochs=1, progress=False, device='cpu').fit(models.mlp(8, [4], 2), (x, y))\n"
        "    print(b, np.isfinite(h['loss'][0]))\n"
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split("\n")[:3] == ["torch loaded: False", "tensorflow True", "torch True"], out.stdout


def test_a_write_that_fails_leaves_the_old_file_and_no_temporary(tmp_path):
    """Every file dlcore writes goes through atomic_path: an error midway keeps the old file
    byte for byte and leaves nothing else behind."""
    from dlcore import TrainingCheckpoint
    from dlcore.io.files import atomic_path

    spec = MLP(4, (3,), 2)
    path = TrainingCheckpoint(spec.initial_weights(0), spec).save(tmp_path / "m.npz")
    before = path.read_bytes()
    with pytest.raises(RuntimeError, match="disk full"):
        with atomic_path(path) as tmp:
            tmp.write_bytes(b"half a checkpoint")
            raise RuntimeError("disk full")
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]


def test_files_are_written_with_the_permissions_the_umask_gives(tmp_path):
    """A checkpoint is as readable as any file the user makes (mkstemp alone gives 0600)."""
    from dlcore import TrainingCheckpoint

    spec = MLP(4, (3,), 2)
    old = os.umask(0o027)
    try:
        path = TrainingCheckpoint(spec.initial_weights(0), spec).save(tmp_path / "m.npz")
        os.umask(0o022)
        other = TrainingCheckpoint(spec.initial_weights(0), spec).save(tmp_path / "n.npz")
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o640 and other.stat().st_mode & 0o777 == 0o644


SOURCE = Path(__file__).resolve().parent.parent / "src" / "dlcore"
BACKEND_PACKAGES = ("dlcore_torch", "dlcore_tf")


def test_the_core_never_names_a_backend_package():
    """No module of the core imports, references or spells a backend package's name (not even
    in a string or a docstring): the built-in backends arrive through entry points."""
    import ast

    found = []
    for path in sorted(SOURCE.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            elif isinstance(node, ast.Name):
                names = [node.id]
            elif isinstance(node, ast.Attribute):
                names = [node.attr]
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                names = [node.value]
            for name in names:
                if any(package in name for package in BACKEND_PACKAGES):
                    found.append(f"{path.relative_to(SOURCE.parent)}:{node.lineno}: {name[:60]!r}")
        if any(package in path.read_text() for package in BACKEND_PACKAGES):  # comments too
            found.append(f"{path.relative_to(SOURCE.parent)}: names a backend package")
    assert not found, "the core names a backend package:\n" + "\n".join(found)


def test_every_hook_is_documented_as_pytest_documents_its_hooks():
    from dlcore import hookspecs

    hooks = [name for name in dir(hookspecs) if name.startswith("dlcore_")]
    assert len(hooks) >= 11
    for name in hooks:
        doc = getattr(hookspecs, name).__doc__ or ""
        assert ":return:" in doc and "Called when" in doc and "Example::" in doc, name


def test_builtin_features_come_through_the_hooks():
    from dlcore.plugins import registry

    found = registry()
    assert {"mlp", "text_classifier"} <= set(found.model_kinds.keys())
    assert {"cross_entropy", "binary_cross_entropy"} <= set(found.losses.keys())
    assert {"sgd", "adam"} <= set(found.optimizers.keys())
    assert "accuracy" in found.metrics.keys()
    assert {"fashion-mnist", "imdb"} <= set(found.datasets.keys())
    assert {"glove-6b-50d", "glove-text"} <= set(found.embedding_sources.keys())
    assert found.weight_formats.plugin_of("dlcore") == "dlcore"
    assert {"cpu", "gpu", "mps"} <= set(found.device_kinds.keys())
    kernels = found.kernels
    for backend in BACKENDS:
        for kind, name in (("model", "mlp"), ("model", "text_classifier"), ("loss", "cross_entropy"),
                           ("metric", "accuracy"), ("optimizer", "adam")):
            assert kernels.plugin_of((kind, name, backend)) == backend, (kind, name, backend)


def test_a_registry_with_a_tests_own_plugin_replaces_the_process_one_until_the_block_ends():
    from dlcore import PluginError
    from dlcore.contract import Kernel, Loss
    from dlcore.plugins import hookimpl, registry, registry_of

    class TestPlugin:
        @hookimpl
        def dlcore_losses(self):
            return [Loss("squared_error", "mean over samples of (logit - target)^2", regression=True)]

        @hookimpl
        def dlcore_kernels(self):
            return [Kernel("loss", "squared_error", "anywhere", "dlcore.training.metrics:squared_eror")]

    before = registry()
    with registry_of(TestPlugin()) as found:
        assert registry() is found and found.loss("squared_error").regression
        assert found.losses.plugin_of("squared_error") == "TestPlugin"
        with pytest.raises(PluginError, match=r"plugin 'TestPlugin' registers the kernel 'loss' 'squared_error' "
                                              r"'anywhere' with impl 'dlcore.training.metrics:squared_eror', which "
                                              r"cannot be loaded \(AttributeError"):
            found.kernel("loss", "squared_error", "anywhere")
    assert registry() is before and before.losses.get("squared_error") is None


def test_a_model_made_with_a_backend_name_still_works_with_a_deprecation_warning():
    """dlcore 0.1's backends made Model(self.name, ...); the trainer binds the backend after wrap."""
    from dlcore import Model

    with pytest.warns(DeprecationWarning, match=r"Model\(backend_name, \.\.\.\) is deprecated since dlcore 0.2"):
        model = Model("somewhere", object())
    assert model.backend_name == "somewhere"
    with pytest.raises(ConfigError, match="takes the Backend that builds the model"):
        Model(42, object())


def _checkpoint_with(tmp_path, name, change_meta=None, arrays=None):
    """A checkpoint of a small MLP saved by dlcore, its metadata and arrays then changed."""
    from dlcore import TrainingCheckpoint

    spec = MLP(4, (3,), 2)
    path = TrainingCheckpoint(spec.initial_weights(0), spec).save(tmp_path / "source.npz")
    with np.load(path, allow_pickle=False) as npz:
        stored = {k: npz[k] for k in npz.files}
    meta = json.loads(stored.pop("__dlcore_metadata__").tobytes())
    for key, array in (arrays or {}).items():
        stored[key] = array
        meta["tensors"][key] = {"shape": list(array.shape), "dtype": str(array.dtype),
                                "sha256": __import__("hashlib").sha256(array.tobytes()).hexdigest()}
    if change_meta:
        change_meta(meta)
    np.savez(tmp_path / name, __dlcore_metadata__=np.frombuffer(json.dumps(meta).encode(), np.uint8), **stored)
    return tmp_path / name


def test_checkpoint_metadata_records_versions_shapes_and_dtypes(tmp_path):
    from dlcore import TrainingCheckpoint, __version__

    spec = MLP(4, (3,), 2)
    path = TrainingCheckpoint(spec.initial_weights(0), spec).save(tmp_path / "m.npz")
    with np.load(path, allow_pickle=False) as npz:
        meta = json.loads(npz["__dlcore_metadata__"].tobytes())
    assert meta["format"] == "dlcore.checkpoint/1" and meta["dlcore_version"] == __version__
    assert meta["tensors"]["weights/layers.0.weight"]["shape"] == [3, 4]
    assert meta["tensors"]["weights/layers.0.weight"]["dtype"] == "float32"


@pytest.mark.parametrize("change, message", [
    (lambda m: m.update(format="dlcore.checkpoint/99"), r"unsupported format 'dlcore.checkpoint/99'"),
    (lambda m: m["tensors"]["weights/layers.0.bias"].update(shape=[4]),
     r"tensor 'weights/layers.0.bias' is float32 \[3\], its metadata says float32 \[4\]"),
    (lambda m: m["tensors"]["weights/layers.0.bias"].update(dtype="float64"),
     r"tensor 'weights/layers.0.bias' is float32 \[3\], its metadata says float64 \[3\]"),
])
def test_checkpoint_metadata_that_does_not_fit_its_arrays_is_refused(tmp_path, change, message):
    from dlcore import TrainingCheckpoint

    with pytest.raises(CheckpointError, match="changed.npz: .*" + message):
        TrainingCheckpoint.load(_checkpoint_with(tmp_path, "changed.npz", change))


def test_checkpoint_with_a_tensor_outside_its_sections_is_refused(tmp_path):
    from dlcore import TrainingCheckpoint

    path = _checkpoint_with(tmp_path, "odd.npz", arrays={"junk/x": np.zeros(2, np.float32)})
    with pytest.raises(CheckpointError, match=r"odd.npz: unexpected tensor 'junk/x'"):
        TrainingCheckpoint.load(path)


def test_checkpoint_without_a_spec_and_with_slashes_in_names_round_trips(tmp_path):
    """Weights of a native model (Keras names them by path) and no architecture."""
    from dlcore import TrainingCheckpoint

    weights = {"sequential/dense/kernel": np.ones((2, 3), np.float32), "sequential/dense/bias": np.zeros(3, np.float32)}
    loaded = TrainingCheckpoint.load(TrainingCheckpoint(weights, optimizer={"0/m": np.ones(2)}).save(tmp_path / "n.npz"))
    assert loaded.spec is None and loaded.weights.keys() == weights.keys() and list(loaded.optimizer) == ["0/m"]
    assert all(np.array_equal(loaded.weights[k], w) for k, w in weights.items())


def test_missing_and_unreadable_checkpoints_name_the_file(tmp_path):
    import zipfile

    from dlcore import TrainingCheckpoint

    with pytest.raises(CheckpointError, match=r"nothing.npz: no such checkpoint file"):
        TrainingCheckpoint.load(tmp_path / "nothing.npz")
    with zipfile.ZipFile(tmp_path / "garbage.npz", "w") as archive:
        archive.writestr("weights/w.npy", b"\x93NUMPY\x01\x00\x10\x00 not a header ")
    with pytest.raises(CheckpointError, match=r"garbage.npz: not a readable dlcore checkpoint \("):
        TrainingCheckpoint.load(tmp_path / "garbage.npz")


def test_renamed_public_names_still_work_with_a_deprecation_warning():
    """For one minor version (CHANGELOG.md): what the open core renamed or replaced."""
    import importlib

    import dlcore.models

    sys.modules.pop("dlcore.trainer", None)
    with pytest.warns(DeprecationWarning, match="dlcore.trainer is deprecated since dlcore 0.2.*use dlcore.training.trainer"):
        import dlcore.trainer
    assert dlcore.trainer.Trainer is dlcore.Trainer
    assert dlcore.trainer.__spec__.name == "dlcore.training.trainer"  # the module keeps its own place
    from dlcore.plugins import registry

    with pytest.warns(DeprecationWarning, match=r"registry\('dlcore_losses'\) is deprecated.*registry\(\).losses"):
        assert registry("dlcore_losses") is registry().losses
    with pytest.warns(DeprecationWarning, match="dlcore.trainer.OPTIMIZERS is deprecated since dlcore 0.2"):
        assert {"sgd", "adam"} <= set(dlcore.trainer.OPTIMIZERS)
    with pytest.warns(DeprecationWarning, match="dlcore.trainer.LOSSES"):
        assert "cross_entropy" in dlcore.trainer.LOSSES
    with pytest.warns(DeprecationWarning, match="dlcore.models.SPECS"):
        assert dlcore.models.SPECS["mlp"] is MLP
    sys.modules.pop("dlcore.interop", None)
    with pytest.warns(DeprecationWarning, match="dlcore.interop is deprecated.*use dlcore.io.formats"):
        interop = importlib.import_module("dlcore.interop")
    from dlcore.io.formats import read_weights

    assert interop.read_weights is read_weights
    with pytest.raises(AttributeError, match="no attribute 'NOTHING'"):
        dlcore.trainer.NOTHING
