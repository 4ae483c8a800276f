"""A third-party backend needs nothing but an entry point in the ``dlcore`` group."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

# A complete backend in plain numpy, installed as a separate distribution with one entry point.
PLUGIN = textwrap.dedent('''
    import numpy as np
    import dlcore
    from dlcore import Backend, BackendInfo, Device, Model, Prepared, Trainer, hookimpl
    from dlcore.models import MLP, check_weights


    class NumpyModel(Model):
        backend = "numpy"

        def __init__(self, spec):
            self.spec, self.native, self.loss = spec, {}, spec.loss

        def get_weights(self):
            return {k: v.copy() for k, v in self.native.items()}

        def set_weights(self, weights):
            check_weights(self.spec.parameter_shapes(), weights)
            self.native = {k: np.asarray(v, np.float64) for k, v in weights.items()}

        def forward(self, x):
            acts = [x.reshape(len(x), -1)]
            n = len(self.spec.sizes) - 1
            for i in range(n):
                z = acts[-1] @ self.native[f"layers.{i}.weight"].T + self.native[f"layers.{i}.bias"]
                acts.append(np.maximum(z, 0) if i < n - 1 else z)
            return acts


    def softmax_xent(logits, y):
        z = logits - logits.max(1, keepdims=True)
        p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
        return -np.log(p[np.arange(len(y)), y] + 1e-12), p


    class NumpyTrainer(Trainer):
        backend_name = "numpy"

        def _build_spec(self, spec):
            if not isinstance(spec, MLP):
                raise dlcore.ConfigError("numpy backend builds MLPs only")
            return NumpyModel(spec)

        def _wrap_native(self, obj):
            return None

        def _native_model_names(self):
            return "nothing else"

        def _native_data_names(self):
            return "nothing else"

        def _prepare_arrays(self, x, y):
            return x.astype(np.float64), y

        def _prepare_native(self, data, training):
            return None

        def _batches(self, data, order):
            x, y = data.payload
            order = np.arange(len(x)) if order is None else order
            for s in range(0, len(x), data.batch_size):
                i = order[s:s + data.batch_size]
                yield x[i], y[i]

        def _train_epoch(self, model, data, order, reporter):
            total, correct = 0.0, 0
            for b, (xb, yb) in enumerate(self._batches(data, order)):
                acts = model.forward(xb)
                losses, p = softmax_xent(acts[-1], yb)
                total += losses.sum()
                correct += (p.argmax(1) == yb).sum()
                grad = p
                grad[np.arange(len(yb)), yb] -= 1
                grad /= len(yb)
                for i in reversed(range(len(acts) - 1)):
                    w = model.native[f"layers.{i}.weight"]
                    gw, gb = grad.T @ acts[i], grad.sum(0)
                    grad = (grad @ w) * (acts[i] > 0)
                    model.native[f"layers.{i}.weight"] = w - self.lr * gw
                    model.native[f"layers.{i}.bias"] -= self.lr * gb
                reporter.advance()
            return total / data.num_samples, correct / data.num_samples

        def _evaluate_prepared(self, model, data):
            losses, p = softmax_xent(model.forward(data.payload[0])[-1], data.payload[1])
            return float(losses.mean()), float((p.argmax(1) == data.payload[1]).mean())

        def _predict_prepared(self, model, data):
            return model.forward(data.payload[0])[-1].astype(np.float32)


    class NumpyBackend(Backend):
        name = "numpy"
        trainer_class = NumpyTrainer

        def devices(self):
            return [Device("numpy", "cpu", 0, "cpu", "numpy")]

        def versions(self):
            return {"numpy": np.__version__}


    @hookimpl
    def dlcore_backends():
        return [BackendInfo("numpy", NumpyBackend, requires=("numpy",), aliases=("np",), priority=5)]
''')


def install_plugin(site, module="dlcore_numpy_backend"):
    """Install PLUGIN as the module ``module`` of its own distribution, with an entry point."""
    (site / f"{module}.py").write_text(PLUGIN)
    dist = site / f"{module}-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module.replace('_', '-')}\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(f"[dlcore]\n{module} = {module}\n")


def test_third_party_backend_trains_through_the_public_api(tmp_path):
    install_plugin(tmp_path)
    code = textwrap.dedent('''
        import sys
        sys.path.insert(0, {tests!r})
        from conftest import blobs
        import dlcore
        from dlcore import Trainer, models
        print("BACKENDS", [i.name for i in dlcore.backend_infos()])
        x, y = blobs()
        spec = models.mlp(20, [32], 4)
        trainer = Trainer(backend="np", epochs=5, batch_size=32, lr=0.1, seed=0, progress=False)
        print("CLASS", type(trainer).__name__)
        trainer.fit(spec, (x[:1000], y[:1000]))
        print("ACCURACY", trainer.evaluate(spec, (x[1000:], y[1000:]))["accuracy"])
        print("DEVICES", [d.name for d in dlcore.all_devices([dlcore.get_backend("numpy")])])
        print("FRAMEWORKS", [m for m in ("torch", "tensorflow") if m in sys.modules])
    ''').replace("{tests!r}", repr(str(Path(__file__).parent)))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = dict(line.split(" ", 1) for line in out.stdout.splitlines())
    assert lines["BACKENDS"] == "['numpy', 'torch', 'tensorflow']"
    assert lines["CLASS"] == "NumpyTrainer"
    assert float(lines["ACCURACY"]) >= 0.95
    assert lines["DEVICES"] == "['cpu']"
    assert lines["FRAMEWORKS"] == "[]"


def test_plugin_becomes_the_default_by_priority_and_cli_lists_it(tmp_path):
    install_plugin(tmp_path)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-m", "dlcore", "backends"], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    row = next(line for line in out.stdout.splitlines() if line.startswith("numpy"))
    assert row.split()[1:3] == ["yes", "*"]


def test_two_plugins_registering_one_backend_name_are_refused(tmp_path):
    install_plugin(tmp_path)
    install_plugin(tmp_path, module="another_numpy_backend")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    code = "import dlcore\ntry:\n    dlcore.Trainer(backend='numpy')\nexcept dlcore.BackendError as e:\n    print('ERR', e)\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "ERR two plugins register a backend named 'numpy'" in out.stdout
    cli = subprocess.run([sys.executable, "-m", "dlcore", "backends"], capture_output=True, text=True, env=env, timeout=60)
    assert cli.returncode == 2 and cli.stderr.strip().startswith("dlcore: error: two plugins register")
