"""Layers written once on dlcore.ops: a user's layer trains on every backend beside the
built-in layers, sees canonical (channels-first) shapes, keeps its state, moves between
backends in a checkpoint, and its mistakes are named."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import BACKENDS
from dlcore import ConfigError, Trainer, models, ops
from dlcore.models import layers
from dlcore.testing.data import blobs, patterns


class LayerNorm(layers.Layer):
    """Normalizes each sample's features (the last axis), then scales and shifts them."""

    def __init__(self, eps: float = 1e-5):
        self.eps = eps

    def build(self, input_shape):
        self.gamma = self.add_weight("gamma", input_shape[-1:], init="ones")
        self.beta = self.add_weight("beta", input_shape[-1:], init="zeros")

    def call(self, x, training=False):
        mean = ops.mean(x, axis=-1, keepdims=True)
        return (x - mean) * ops.rsqrt(ops.var(x, axis=-1, keepdims=True) + self.eps) * self.gamma + self.beta


class ChannelScale(layers.Layer):
    """A weight per channel of (N, C, H, W) images: the channels must be axis 1 on every backend."""

    def build(self, input_shape):
        self.scale = self.add_weight("scale", (input_shape[1], 1, 1), init="ones")

    def call(self, x, training=False):
        return x * self.scale


class StepCounter(layers.Layer):
    """The identity, counting the training calls in a non-trainable weight."""

    def build(self, input_shape):
        self.calls = self.add_weight("calls", (1,), trainable=False)

    def call(self, x, training=False):
        if training:
            self.assign(self.calls, self.calls + 1.0)
        return x


class AlwaysCount(layers.Layer):
    """Assigns in every call, inference too: only a training step's assignment is kept."""

    def build(self, input_shape):
        self.calls = self.add_weight("calls", (1,), trainable=False)

    def call(self, x, training=False):
        self.assign(self.calls, self.calls + 1.0)
        return x


class WrongState(layers.Layer):
    def build(self, input_shape):
        self.mu = self.add_weight("mu", (input_shape[-1],), trainable=False)

    def call(self, x, training=False):
        if training:
            self.assign(self.mu, ops.mean(x))  # a scalar for a vector: refused, never broadcast
        return x


def ops_backends() -> list[str]:
    from dlcore import get_backend

    return [b for b in BACKENDS if get_backend(b).ops is not None]


def test_a_layer_written_on_ops_gives_its_shapes_parameters_and_arguments():
    spec = models.sequential([layers.flatten(), layers.dense(16), LayerNorm(1e-3), layers.dense(3)], (4, 2))
    assert spec.shapes == [(4, 2), (8,), (16,), (16,), (3,)]
    assert {k: v for k, v in spec.parameter_shapes().items() if k.startswith("layers.2")} == {
        "layers.2.gamma": (16,), "layers.2.beta": (16,)}
    assert spec.to_dict()["layers"][2] == {"kind": f"{__name__}.layer_norm", "eps": 1e-3,
                                           "defined_in": f"{__name__}:LayerNorm"}
    assert models.spec_from_dict(spec.to_dict()) == spec


@pytest.mark.parametrize("backend", ops_backends())
def test_a_written_layer_trains_beside_built_in_layers(backend):
    x, y = blobs(600, features=20, classes=4, seed=1)
    spec = models.sequential([layers.dense(32), LayerNorm(), layers.activation("relu"), layers.dense(4)], (20,))
    trainer = Trainer(backend, epochs=8, batch_size=32, optimizer="adam", lr=3e-3, seed=0, progress=False)
    trainer.fit(spec, (x[:500], y[:500]))
    assert trainer.evaluate(spec, (x[500:], y[500:]))["accuracy"] > 0.9
    weights = trainer.build(spec).get_weights()
    assert not np.allclose(weights["layers.1.gamma"], 1.0), "the layer's weights did not train"


@pytest.mark.parametrize("backend", ops_backends())
def test_a_written_layer_sees_images_channels_first_and_keeps_its_state(backend):
    x, y = patterns(96, channels=2)
    spec = models.sequential([ChannelScale(), StepCounter(), layers.conv2d(4, 3, activation="relu"),
                              layers.global_avg_pool2d(), layers.dense(3)], (2, 12, 12))
    trainer = Trainer(backend, epochs=2, batch_size=32, optimizer="sgd", lr=0.1, seed=0, progress=False)
    trainer.fit(spec, (x, y))
    weights = trainer.build(spec).get_weights()
    assert weights["layers.0.scale"].shape == (2, 1, 1)
    assert weights["layers.1.calls"].tolist() == [6.0], "each training step counts once; evaluation not at all"
    trainer.evaluate(spec, (x, y))
    assert trainer.build(spec).get_weights()["layers.1.calls"].tolist() == [6.0]


@pytest.mark.across
@pytest.mark.parametrize("trained_on", ops_backends())
def test_a_written_layers_checkpoint_moves_between_backends(trained_on, tmp_path):
    x, y = blobs(300, features=12, classes=3, seed=2)
    spec = models.sequential([layers.dense(16), LayerNorm(), layers.activation("tanh"), layers.dense(3)], (12,))
    trainer = Trainer(trained_on, epochs=2, optimizer="adam", lr=1e-2, seed=0, progress=False)
    trainer.fit(spec, (x, y))
    trainer.save(spec, tmp_path / "norm.npz")
    expected = trainer.predict(spec, x)
    for other in ops_backends():
        loading = Trainer(other, progress=False)
        np.testing.assert_allclose(loading.predict(loading.load(tmp_path / "norm.npz"), x), expected, atol=1e-4,
                                   err_msg=other)


@pytest.mark.parametrize("backend", ops_backends())
def test_an_op_failing_inside_a_written_layer_names_the_layer_and_the_op(backend):
    class Broken(layers.Layer):
        def call(self, x, training=False):
            return ops.reshape(x, (-1, 7)) if training else x  # fits the shape check, not a batch

    x, y = blobs(64, features=6, classes=2)
    spec = models.sequential([Broken(), layers.dense(2)], (6,))
    with pytest.raises(ConfigError, match=r"layer test_written_layers\.broken: ops\.reshape"):
        Trainer(backend, epochs=1, batch_size=32, progress=False).fit(spec, (x, y))


@pytest.mark.parametrize("make, message", [
    (lambda: type("Late", (layers.Layer,), {"call": lambda self, x, training=False: x * self.add_weight("w", (1,))}),
     r"add_weight\('w', \.\.\.\) was called outside build"),
    (lambda: type("Shapeless", (layers.Layer,), {
        "build": lambda self, s: setattr(self, "w", self.add_weight("w", (0,))), "call": lambda self, x, training=False: x}),
     "positive sizes"),
    (lambda: type("Hidden", (layers.Layer,), {
        "build": lambda self, s: self.add_weight("w", (2,)), "call": lambda self, x, training=False: x}),
     "keep each weight in an attribute"),
    (lambda: type("Wrong", (layers.Layer,), {"call": lambda self, x, training=False: ops.matmul(x, x)}),
     r"wrong\.call\(\) on an input of shape \(None, 5\) failed: ops\.matmul"),
])
def test_mistakes_in_a_written_layer_are_named_when_the_spec_is_made(make, message):
    with pytest.raises(ConfigError, match=message):
        models.sequential([make()(), layers.dense(2)], (5,)).shapes


def test_a_kind_is_registered_once_and_a_checkpoint_of_an_unknown_kind_says_where_it_came_from():
    with pytest.raises(ConfigError, match="taken by a built-in layer"):
        type("Dense", (layers.Layer,), {"kind": "dense", "call": lambda self, x, training=False: x})
    with pytest.raises(ConfigError, match=f"taken by {__name__}:LayerNorm"):
        type("Other", (layers.Layer,), {"kind": f"{__name__}.layer_norm", "call": lambda self, x, training=False: x})
    spec = models.sequential([LayerNorm(), layers.dense(2)], (3,)).to_dict()
    spec["layers"][0]["kind"] = "someone_elses_norm"
    with pytest.raises(ConfigError, match=f"saved from {__name__}:LayerNorm; import {__name__}"):
        models.spec_from_dict(spec)


def test_a_registered_name_replaces_the_class_name():
    @layers.register("mypackage.double")
    class Double(layers.Layer):
        def call(self, x, training=False):
            return x * 2.0

    assert Double.kind == "mypackage.double"
    assert layers.layer_class("mypackage.double") is Double
    assert models.spec_from_dict(models.sequential([Double(), layers.dense(2)], (3,)).to_dict()).layers[0] == Double()


@pytest.mark.across
def test_dlcore_testing_checks_a_written_layer_on_every_backend_against_numpy():
    from dlcore.testing import check_layer

    passed = check_layer(LayerNorm(), (10,))
    assert passed == {backend: ["output", "gradients", "checkpoints"] for backend in ops_backends()}

    class Noisy(layers.Layer):  # random in inference: each backend's draws differ from numpy's
        def call(self, x, training=False):
            return x + ops.random_uniform(ops.shape(x), seed=3)

    if ops_backends():
        with pytest.raises(AssertionError, match=r"noisy's output on \w+ differs from numpy's float64 result"):
            check_layer(Noisy(), (4,), checkpoints=False)


def test_dlcore_testing_catches_a_gradient_that_differs_from_numpy():
    from dlcore.testing import check_layer

    class Detached(layers.Layer):  # its output right, its gradient cut: only finite differences see it
        def call(self, x, training=False):
            return ops.stop_gradient(x * x)

    if not ops_backends():
        pytest.skip("needs a backend with an ops table")
    with pytest.raises(AssertionError, match=r"detached's gradient by the input on \w+"):
        check_layer(Detached(), (3,), checkpoints=False)


@pytest.mark.parametrize("backend", ops_backends())
def test_state_is_assigned_in_training_steps_only_and_in_its_own_shape(backend):
    x, y = blobs(64, features=4, classes=2)
    spec = models.sequential([AlwaysCount(), layers.dense(2)], (4,))
    trainer = Trainer(backend, epochs=1, batch_size=32, optimizer="sgd", progress=False)
    trainer.fit(spec, (x, y))
    trainer.predict(spec, x)
    trainer.evaluate(spec, (x, y))
    assert trainer.build(spec).get_weights()["layers.0.calls"].tolist() == [2.0]
    wrong = models.sequential([WrongState(), layers.dense(2)], (4,))
    with pytest.raises(ConfigError, match=r"assign\(\) gave the weight 'mu' shape \(\), not its own \(4,\)"):
        Trainer(backend, epochs=1, batch_size=32, progress=False).fit(wrong, (x, y))


def test_threads_calling_one_specs_layer_see_their_own_weights():
    from concurrent.futures import ThreadPoolExecutor

    class Scale(layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight("w", (1,))

        def call(self, x, training=False):
            for _ in range(200):  # long enough for the threads to interleave
                x = x * 1.0
            return x * self.w

    plan = Scale()._plan((3,))
    numpy = ops.tables()["numpy"]

    def run(weight: float) -> bool:
        with ops.using(numpy):
            return all(plan.call({"w": np.array([weight])}, np.ones((2, 3)), False)[0][0, 0] == weight
                       for _ in range(30))

    with ThreadPoolExecutor(4) as pool:
        assert all(pool.map(run, [1.0, 2.0, 3.0, 4.0] * 4))


def test_dlcore_testing_refuses_a_backend_result_that_is_not_finite():
    from dlcore.testing import check_loss

    def broken(ops, outputs, targets, weights=None):  # NaN on every backend but numpy
        return ops.mean(outputs) * (0.0 if isinstance(outputs, np.ndarray) else float("nan"))

    if not ops_backends():
        pytest.skip("needs a backend with an ops table")
    with pytest.raises(AssertionError, match="broken on \\w+ is not finite"):
        check_loss(broken)
