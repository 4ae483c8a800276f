"""Model specs: parameter shapes, torch-style seeded initial weights, and the dictionary form
that a checkpoint stores."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dlcore import Trainer, models
from dlcore.contract.errors import ConfigError
from dlcore.models import layers, mlp, spec_from_dict

from conftest import BACKENDS


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


# ---------------------------------------------------------------- channels-last input shapes

CONV = [layers.conv2d(16, 3, padding="same", activation="relu"), layers.max_pool2d(2), layers.flatten(), layers.dense(10)]


@pytest.mark.parametrize("shape, conv", [((28, 28, 1), CONV), ((32, 32, 3), [layers.conv2d(8, 5), layers.flatten(),
                                                                               layers.dense(10)])])
def test_a_keras_style_channels_last_input_shape_is_named_where_a_layer_does_not_fit_it(shape, conv):
    with pytest.raises(ConfigError, match=r"does not fit.*looks channels-last .*channels first \(C, H, W\).*"
                                          rf"input_shape=\({shape[2]}, {shape[0]}, {shape[1]}\)"):
        models.sequential(conv, shape)


def test_channels_first_and_dense_only_input_shapes_still_build():
    assert models.sequential(CONV, (1, 28, 28)).out_features == 10
    assert models.sequential([layers.flatten(), layers.dense(10)], (28, 28, 1)).shapes[1] == (784,)


def test_a_channels_first_shape_of_many_channels_and_a_height_of_3_builds():
    spec = models.sequential(CONV, (32, 32, 3))  # 32 channels of 32x3: the layers fit it
    assert spec.shapes[2] == (16, 16, 1) and spec.out_features == 10


# ---------------------------------------------------------------- summary


def _rows(text):
    """The summary's layer rows, split at spaces."""
    lines = text.splitlines()
    rules = [i for i, line in enumerate(lines) if set(line) == {"-"}]
    return [line.split() for line in lines[rules[1] + 1:rules[2]]]


@pytest.mark.skipif(not BACKENDS, reason="needs a backend")
def test_the_summary_shows_each_layer_with_its_output_shape_and_parameters_then_keras_totals():
    text = Trainer(BACKENDS[0]).summary(models.cnn(), print_fn=None)
    assert "Layer (type)" in text and "Output Shape" in text and "Param #" in text
    assert "layers.0 (Conv2d)      (None, 32, 28, 28)      288" in text
    assert "layers.8 (Flatten)     (None, 3136)              0" in text
    assert "layers.12 (Dense)      (None, 10)            1,290" in text
    assert "layers.9 (Dropout)     (None, 3136)              0" in text  # its seeds are no parameters, as Keras
    assert text.splitlines()[-3:] == ["Total params: 421,930 (1.61 MiB)", "Trainable params: 421,738",
                                      "Non-trainable params: 192"]  # batch norm statistics
    mlp_text = Trainer(BACKENDS[0]).summary(mlp(784, [512], 10), print_fn=None)
    assert "layers.0 (Dense)  (None, 512)   401,920" in mlp_text


@pytest.mark.skipif(not BACKENDS, reason="needs a backend")
def test_the_summary_with_weights_still_lists_dropout_seeds():
    spec = models.sequential([layers.flatten(), layers.dropout(0.5), layers.dense(2)], (4,))
    text = Trainer(BACKENDS[0]).summary(spec, print_fn=None, weights=True)
    assert "layers.1.rng" in text


def test_the_summary_of_another_spec_names_no_layer_kind_it_cannot_know():
    from dlcore.training._summary import spec_rows

    class Attention:  # a spec of a plugin, with its own parameter groups
        pass

    weights = {"query.weight": np.zeros((8, 8)), "query.bias": np.zeros(8), "norm.scale": np.zeros(8)}
    assert [row.layer for row in spec_rows(Attention(), weights)] == ["query (?)", "norm (?)"]
    mlp_rows = spec_rows(mlp(4, [3], 2), mlp(4, [3], 2).initial_weights(0))
    assert [(row.layer, row.shape) for row in mlp_rows] == [("layers.0 (Dense)", "(None, 3)"),
                                                            ("layers.1 (Dense)", "(None, 2)")]


@pytest.mark.skipif(not BACKENDS, reason="needs a backend")
def test_the_summary_with_weights_lists_each_parameter():
    text = Trainer(BACKENDS[0]).summary(mlp(4, [3], 2), print_fn=None, weights=True)
    assert "layers.0.weight  3x4       12" in text and text.endswith("total 23 parameters (23 trainable), 0.00 MiB")


@pytest.mark.skipif("torch" not in BACKENDS, reason="needs torch")
def test_the_summary_of_a_torch_module_has_a_row_per_layer():
    import torch

    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
    net[3].weight.requires_grad_(False)
    text = Trainer("torch").summary(net, print_fn=None)
    assert [row[:2] + row[-1:] for row in _rows(text)] == [["0", "(Flatten)", "0"], ["1", "(Linear)", "25,120"],
                                                            ["2", "(ReLU)", "0"], ["3", "(Linear)", "330"]]
    assert text.splitlines()[-2:] == ["Trainable params: 25,130", "Non-trainable params: 320"]


@pytest.mark.skipif("tensorflow" not in BACKENDS, reason="needs tensorflow")
def test_the_summary_of_a_keras_model_has_a_row_per_layer_with_its_output_shape():
    keras = pytest.importorskip("keras")
    net = keras.Sequential([keras.Input((784,)), keras.layers.Dense(32, activation="relu"),
                            keras.layers.BatchNormalization(), keras.layers.Dense(10)])
    text = Trainer("tensorflow").summary(net, print_fn=None)
    assert [row[1:] for row in _rows(text)] == [["(Dense)", "(None,", "32)", "25,120"],
                                                ["(BatchNormalization)", "(None,", "32)", "128"],
                                                ["(Dense)", "(None,", "10)", "330"]]
    assert text.splitlines()[-3:] == ["Total params: 25,578 (0.10 MiB)", "Trainable params: 25,514",
                                      "Non-trainable params: 64"]
