"""dlcore's torch layers compute what nn.Linear and autograd compute, with oneDNN products on
the CPU, and train the same where torch has no oneDNN."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import BACKENDS, blobs
from dlcore import Trainer, get_backend, models

pytestmark = pytest.mark.skipif("torch" not in BACKENDS, reason="torch is not installed")


@pytest.fixture
def torch():
    get_backend("torch")
    import torch

    return torch


@pytest.fixture
def onednn(torch, monkeypatch):
    """dlcore's layers with oneDNN's products, whichever kernel this machine's measurement chose."""
    import dlcore_torch.linear as dlcore_linear

    if dlcore_linear.onednn_op() is None:
        pytest.skip("this torch has no oneDNN")
    monkeypatch.setattr(dlcore_linear, "onednn_linear", dlcore_linear.onednn_op)
    return dlcore_linear.onednn_op()


def probe(torch, record):
    """A linear model class whose forward calls ``record()`` in training, inside the step."""

    class Probe(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = torch.nn.Linear(20, 4)

        def forward(self, x):
            if self.training:
                record()
            return self.linear(x)

    return Probe


def reference(torch, x, layer, activation):
    out = torch.nn.functional.linear(x, layer.weight, layer.bias)
    return {"relu": torch.relu, "tanh": torch.tanh, "none": lambda t: t}[activation](out)


@pytest.mark.parametrize("activation", ["relu", "tanh", "none"])
@pytest.mark.parametrize("frozen", [False, True])
def test_linear_matches_nn_linear_values_and_gradients(torch, onednn, activation, frozen):
    from dlcore_torch.linear import linear

    torch.manual_seed(0)
    layer = torch.nn.Linear(37, 19)
    layer.weight.requires_grad_(not frozen)
    x = torch.randn(23, 37, requires_grad=True)
    upstream = torch.randn(23, 19)
    got, want = linear(x, layer, activation), reference(torch, x, layer, activation)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
    grads = [t for t in (x, layer.weight, layer.bias) if t.requires_grad]
    got_grads = torch.autograd.grad(got, grads, upstream)
    want_grads = torch.autograd.grad(want, grads, upstream)
    for a, b in zip(got_grads, want_grads):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
    with torch.inference_mode():
        torch.testing.assert_close(linear(x, layer, activation), want.detach(), rtol=1e-5, atol=1e-5)


def test_linear_handles_what_onednn_does_not(torch, onednn):
    """Other dtypes, other ranks and empty batches take F.linear's path with the same result."""
    from dlcore_torch.linear import linear

    torch.manual_seed(0)
    layer = torch.nn.Linear(5, 3)
    for x in (torch.randn(2, 4, 5), torch.randn(0, 5)):
        torch.testing.assert_close(linear(x, layer, "relu"), reference(torch, x, layer, "relu"))
    layer64 = torch.nn.Linear(5, 3).double()
    x64 = torch.randn(4, 5, dtype=torch.float64)
    torch.testing.assert_close(linear(x64, layer64, "tanh"), reference(torch, x64, layer64, "tanh"))


@pytest.mark.parametrize("optimizer, lr", [("sgd", 0.1), ("adam", 1e-3)])
def test_mlp_trains_the_same_without_onednn(torch, onednn, monkeypatch, optimizer, lr):
    """Where torch has no oneDNN, dlcore's MLP falls back to F.linear and autograd and follows
    the same trajectory: per-epoch losses to 1e-5 (relative), weights to 1e-5."""
    import dlcore_torch.linear as dlcore_linear

    x, y = blobs()

    def train():
        t = Trainer(backend="torch", epochs=3, batch_size=32, optimizer=optimizer, lr=lr, seed=0,
                    device="cpu", progress=False)
        spec = models.mlp(20, [32], 4)
        history = t.fit(spec, (x[:1000], y[:1000]))
        return history["loss"], t.build(spec).get_weights()

    with_onednn = train()
    monkeypatch.setattr(dlcore_linear, "onednn_linear", lambda: None)
    without = train()
    np.testing.assert_allclose(with_onednn[0], without[0], rtol=1e-5, err_msg="the losses differ without oneDNN")
    for name, weight in with_onednn[1].items():
        np.testing.assert_allclose(weight, without[1][name], atol=1e-5, err_msg=f"{name} differs without oneDNN")
    assert without[0][-1] < without[0][0] / 2


@pytest.mark.across  # with TensorFlow and JAX in the process too (another libgomp, their own threads)
def test_denormals_flush_in_every_thread_inside_the_training_step_and_nowhere_else(torch):
    """Inside dlcore's torch training step a product of denormals gives zeros in every intra-op
    thread (as TensorFlow and XLA compute); before and after fit, the user's code sees
    denormals again, and a setting of the user's own thread survives the fit."""
    tiny = torch.full((1 << 21,), 1e-39)  # split across the intra-op threads

    def surviving() -> int:
        return int((tiny * 1.0 != 0).sum())

    seen = []
    Probe = probe(torch, lambda: seen.append(surviving()))
    x, y = blobs(200)
    assert surviving() == tiny.numel()
    Trainer("torch", epochs=1, batch_size=50, optimizer="sgd", lr=0.1, device="cpu", progress=False).fit(Probe(), (x, y))
    assert seen == [0, 0, 0, 0], f"denormals survived in the training step: {seen}"
    assert surviving() == tiny.numel(), "flush-to-zero leaked out of the training step"
    torch.set_flush_denormal(True)
    try:
        Trainer("torch", epochs=1, batch_size=50, optimizer="sgd", lr=0.1, device="cpu", progress=False).fit(
            Probe(), (x, y))
        assert bool(torch.tensor(1e-39) * 1.0 == 0), "the user's own setting of this thread was not restored"
    finally:
        torch.set_flush_denormal(False)


@pytest.mark.across  # torch's env has neither: the env with every framework runs it
def test_denormals_flush_inside_tensorflow_and_jax_as_they_compute():
    """What the torch backend matches: TensorFlow and XLA flush denormals in their own threads."""
    found = []
    if "tensorflow" in BACKENDS:
        get_backend("tensorflow")
        import tensorflow as tf

        found.append(int(tf.function(lambda t: tf.reduce_sum(tf.cast(t * 1.0 != 0, tf.int32)))(
            tf.fill([1 << 21], np.float32(1e-39)))))
    if "jax" in BACKENDS:
        import jax
        import jax.numpy as jnp

        found.append(int(jax.jit(lambda t: (t * 1.0 != 0).sum())(jnp.full((1 << 21,), np.float32(1e-39)))))
    if not found:
        pytest.skip("needs tensorflow or jax")
    assert found == [0] * len(found)


def test_denormals_do_not_leak_into_threads_created_during_training(torch):
    """In a fresh process the first parallel operation may be inside the training step, where
    the OpenMP threads are created and inherit the caller's floating-point setting: after fit
    they must still see denormals as the user's code did before, also with another libgomp in
    the process (scikit-learn's, which Keras imports with TensorFlow)."""
    import subprocess
    import sys

    script = (
        "import torch, sklearn.utils, numpy as np\n"
        "from dlcore import Trainer, models\n"
        "x = np.random.default_rng(0).random((256, 20), dtype=np.float32)\n"
        "y = np.random.default_rng(0).integers(0, 4, 256)\n"
        "Trainer('torch', epochs=1, batch_size=64, device='cpu', progress=False).fit(models.mlp(20, [8], 4), (x, y))\n"
        "tiny = torch.full((1 << 21,), 1e-39)\n"
        "print(int((tiny * 1.0 != 0).sum()), tiny.numel())\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    surviving, total = map(int, out.stdout.split()[-2:])
    assert surviving == total, f"{total - surviving} products flushed after fit: a thread kept flush-to-zero"


@pytest.mark.parametrize("kernel", ["aten", "onednn"])
def test_dlcore_kernels_overrides_the_layers_kernel(torch, monkeypatch, kernel):
    import dlcore_torch.linear as dlcore_linear

    if dlcore_linear.onednn_op() is None:
        pytest.skip("this torch has no oneDNN")
    monkeypatch.setenv("DLCORE_KERNELS", f"torch.linear={kernel}")
    dlcore_linear._kernel.cache_clear()
    try:
        assert (dlcore_linear.onednn_linear() is not None) == (kernel == "onednn")
        assert get_backend("torch").info()["kernels"] == f"torch.linear={kernel} (override)"
    finally:
        dlcore_linear._kernel.cache_clear()


def test_the_first_fit_on_a_machine_measures_the_kernel_and_later_processes_read_it(torch, onednn, tmp_path):
    """In new processes sharing a cache: the first measures both kernels and caches its choice,
    the second uses the cached one without measuring."""
    import json
    import os
    import subprocess
    import sys

    script = (
        "import numpy as np\n"
        "from dlcore import Trainer, models, tuning\n"
        "x = np.random.default_rng(0).random((256, 20), dtype=np.float32)\n"
        "y = np.random.default_rng(0).integers(0, 4, 256)\n"
        "Trainer('torch', epochs=1, batch_size=64, device='cpu', progress=False).fit(models.mlp(20, [8], 4), (x, y))\n"
        "import dlcore_torch.linear as L\n"
        "choice = tuning.chosen()['torch.linear']\n"
        "print(choice.kernel, choice.source, L.onednn_linear() is not None)\n")
    env = {**os.environ, "DLCORE_CACHE_DIR": str(tmp_path)}
    env.pop("DLCORE_KERNELS", None)
    runs = [subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, env=env)
            for _ in range(2)]
    assert all(r.returncode == 0 for r in runs), runs[0].stderr[-2000:] + runs[1].stderr[-2000:]
    (kernel, source, uses_onednn), (kernel2, source2, _) = (r.stdout.split()[-3:] for r in runs)
    assert (source, source2) == ("measured", "cache") and kernel2 == kernel
    assert uses_onednn == str(kernel == "onednn")
    entries = json.loads((tmp_path / "kernels.json").read_text())["entries"]
    assert [(json.loads(key)["name"], e["kernel"], sorted(e["seconds"])) for key, e in entries.items()] == [
        ("torch.linear", kernel, ["aten", "onednn"])]


class FakeLoad:
    """Other processes keeping ``others`` of two CPUs busy."""

    cpus = {0, 1}

    def __init__(self, others):
        self.others = others

    def read(self):
        return self.others


@pytest.mark.parametrize("others, deterministic, env, expected", [
    (1.0, False, None, 1), (0.1, False, None, 2), (None, False, None, 2),
    (1.0, True, None, 2), (1.0, False, "0", 2)])
def test_training_uses_the_cpus_other_processes_leave_free(torch, monkeypatch, others, deterministic, env, expected):
    """With one of two CPUs busy elsewhere the training step runs torch with one thread (not in
    deterministic mode, nor with DLCORE_ADAPT_THREADS=0); the user's setting is back after fit."""
    import dlcore_torch.threads as threads

    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    monkeypatch.setattr(threads, "_load", FakeLoad(others))
    monkeypatch.setattr(threads, "_checked", 0.0)
    monkeypatch.setattr(threads, "STALE", float("inf"))  # read the fake load at the first call
    monkeypatch.setattr(threads, "_fitted", None)
    if env is None:
        monkeypatch.delenv("DLCORE_ADAPT_THREADS")  # the default: on
    else:
        monkeypatch.setenv("DLCORE_ADAPT_THREADS", env)
    seen = []
    Probe = probe(torch, lambda: seen.append(torch.get_num_threads()))
    x, y = blobs()
    try:
        Trainer("torch", epochs=1, batch_size=64, device="cpu", progress=False, deterministic=deterministic).fit(
            Probe(), (x[:256], y[:256]))
        assert set(seen) == {expected}, f"threads inside the training step: {sorted(set(seen))}"
        assert torch.get_num_threads() == 2, "the user's thread setting was not restored after fit"
    finally:
        torch.set_num_threads(previous)
