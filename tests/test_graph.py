"""Graphs of layers (Keras' functional API): a model of an image and a table learns what needs
both, merges and a shared layer compute as the float64 reference on every backend, a graph's
checkpoint moves between every backend, a sequential spec is its graph's chain with its
weight names, and mistakes (a layer that does not fit, inputs that are missing or misshapen)
are named."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import BACKENDS, BOTH, numpy_backend
from test_cli import dlcore
from dlcore import ConfigError, DataError, Trainer, models
from dlcore.models import layers
from dlcore.models.graph import execute
from dlcore.testing import reference_layers
from dlcore.testing.data import patterns

LOGITS_ATOL = 1e-4


def image_and_table(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Images of a shape (patterns: bar, bar, square) and a table whose largest of its first three
    features shifts the class: the label is (shape + shift) % 3, so neither input alone tells
    more than chance (1/3)."""
    images, shapes = patterns(n, size=10, seed=seed)
    rng = np.random.default_rng(seed + 1)
    shift = rng.integers(0, 3, n)
    table = rng.normal(0, 0.3, (n, 4)).astype(np.float32)
    table[np.arange(n), shift] += 2.0
    return images, table, (shapes + shift) % 3


def image_and_table_spec() -> models.Graph:
    image, table = models.Input((1, 10, 10), name="image"), models.Input((4,), name="table")
    seen = layers.global_max_pool2d()(layers.conv2d(8, 3, padding="same", activation="relu")(image))
    both = layers.concatenate()([seen, layers.dense(8, "relu")(table)])
    return models.graph([image, table], layers.dense(3)(layers.dense(32, "relu")(both)))


def merging_spec() -> models.Graph:
    """Every merge, images joined along their channels, a shared layer, batch norm and dropout."""
    a, b, t = models.Input((2, 5, 5), name="a"), models.Input((3, 5, 5), name="b"), models.Input((4,), name="t")
    joined = layers.concatenate(axis=1)([a, b])
    seen = layers.global_avg_pool2d()(layers.batch_norm()(layers.conv2d(4, 3, padding="same")(joined)))
    shared = layers.dense(4, "tanh")
    first, second = shared(t, name="shared"), shared(layers.dense(4)(t))
    mixed = layers.concatenate()([layers.add()([first, second, seen]), layers.multiply()([first, second])])
    return models.graph([a, b, t], layers.dense(3)(layers.dropout(0.3)(mixed)))


def merging_features(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"a": rng.normal(0, 1, (n, 2, 5, 5)).astype(np.float32), "b": rng.normal(0, 1, (n, 3, 5, 5)).astype(
        np.float32), "t": rng.normal(0, 1, (n, 4)).astype(np.float32)}


def perturbed(spec: models.Graph, seed: int) -> dict[str, np.ndarray]:
    """Initial weights moved off their initial values (batch norm's statistics too)."""
    rng = np.random.default_rng(seed)
    weights = {name: value + rng.normal(0, 0.2, value.shape).astype(np.float32) if value.dtype.kind == "f" else value
               for name, value in spec.initial_weights(seed).items()}
    for name in weights:
        if name.endswith("running_var"):
            weights[name] = np.abs(weights[name]) + 0.5
    return weights


def test_a_graph_of_an_image_and_a_table_learns_what_needs_both_inputs(backend):
    images, table, labels = image_and_table(1000)
    spec = image_and_table_spec()
    trainer = Trainer(backend, epochs=12, batch_size=32, optimizer="adam", lr=1e-2, seed=0, progress=False)
    trainer.fit(spec, {"image": images[:800], "table": table[:800]}, labels[:800])
    assert trainer.evaluate(spec, (images[800:], table[800:]), labels[800:])["accuracy"] >= 0.95
    logits = trainer.predict(spec, {"table": table[800:], "image": images[800:]})  # a dict in any order
    assert logits.shape == (200, 3)
    moved = table[800:].copy()
    moved[:, :3] = np.roll(moved[:, :3], 1, axis=1)  # each shift one more: each class one more
    assert (trainer.predict(spec, (images[800:], moved)).argmax(1) == (labels[800:] + 1) % 3).mean() >= 0.9


@pytest.mark.parametrize("where", [*BACKENDS, "numpy"])
def test_merges_and_a_shared_layer_compute_as_the_float64_reference(where):
    spec = merging_spec()
    features = merging_features(6)
    weights = perturbed(spec, 1)
    with numpy_backend():
        trainer = Trainer(where, progress=False)
        model = trainer.build(spec)
        model.set_weights(weights)
        got = trainer.predict(model, features)
    np.testing.assert_allclose(got, reference_layers.graph_outputs(spec, weights, features), rtol=1e-4, atol=1e-5)


def test_a_shared_layer_has_one_set_of_weights_and_layers_are_named_as_keras_names_them():
    spec = merging_spec()
    assert spec.layer_names == ("concatenate", "conv2d", "batch_norm", "global_avg_pool2d", "shared", "dense",
                                "add", "multiply", "concatenate_1", "dropout", "dense_1")
    shapes = spec.parameter_shapes()
    assert shapes["shared.weight"] == (4, 4) and not any(name.startswith("shared_") for name in shapes)
    assert [node.inputs for node in spec.nodes if node.layer == "shared"] == ["t", "dense"]
    assert next(node for node in spec.nodes if node.layer == "add").inputs == ("shared", "shared:1", "global_avg_pool2d")
    assert models.spec_from_dict(spec.to_dict()) == spec


@pytest.mark.parametrize("trained_on", BACKENDS)
def test_a_graph_checkpoint_loads_on_every_other_backend_with_equal_outputs(trained_on, tmp_path):
    spec = merging_spec()
    features, labels = merging_features(96), np.arange(96) % 3
    trainer = Trainer(trained_on, epochs=1, batch_size=32, optimizer="adam", lr=1e-2, seed=0, progress=False)
    trainer.fit(spec, features, labels)
    trainer.save(spec, tmp_path / "graph.npz")
    expected, weights = trainer.predict(spec, features), trainer.build(spec).get_weights()
    assert weights["dropout.rng"][1] == 3 and not np.allclose(weights["batch_norm.running_var"], 1)
    with numpy_backend():
        for other in [*BACKENDS, "numpy"]:
            loading = Trainer(other, progress=False)
            model = loading.load(tmp_path / "graph.npz")
            assert model.spec == spec
            np.testing.assert_allclose(loading.predict(model, features), expected, atol=LOGITS_ATOL, err_msg=other)
            for name, value in model.get_weights().items():
                np.testing.assert_array_equal(value, weights[name], err_msg=f"{other}: {name}")


def test_a_sequential_spec_runs_as_its_graphs_chain_with_its_weight_names(backend):
    spec = models.cnn((1, 12, 12), classes=3, filters=(4, 8), hidden=16)
    chain = spec.graph
    assert chain.layer_names == tuple(f"layers.{i}" for i in range(len(spec.layers))) and chain.layers == spec.layers
    assert chain.parameter_shapes() == spec.parameter_shapes()
    assert list(chain.parameter_shapes())[:3] == ["layers.0.weight", "layers.1.weight", "layers.1.bias"]
    assert {name: w.tolist() for name, w in chain.initial_weights(2).items()} == \
        {name: w.tolist() for name, w in spec.initial_weights(2).items()}
    model = Trainer(backend).build(spec)
    assert set(model.get_weights()) == set(spec.parameter_shapes())


def test_the_summary_shows_each_layer_its_output_and_what_it_is_called_on():
    text = merging_spec().summary(print_fn=None)
    rows = {line.split()[0]: line for line in text.splitlines()}
    assert "Connected to" in text and rows["a"].split()[1:] == ["(Input)", "(None,", "2,", "5,", "5)", "0"]
    assert rows["concatenate"].endswith("a, b") and "(None, 5, 5, 5)" in rows["concatenate"]
    assert rows["shared"].split()[-2:] == ["t;", "dense"] and "20" in rows["shared"].split()
    assert rows["add"].endswith("shared, shared:1, global_avg_pool2d")
    assert "Non-trainable params: 8" in text  # batch norm's statistics, as Keras counts them; dropout's seed is none
    assert f"Total params: {sum(int(np.prod(s)) for s in merging_spec().parameter_shapes().values()) - 2:,}" in text


def test_a_layer_that_does_not_fit_is_refused_naming_it_and_its_kind():
    image = models.Input((1, 8, 8), name="image")
    with pytest.raises(ConfigError, match=r"layer 'head' \(dense\) on inputs of shape \(None, 1, 8, 8\).*flatten"):
        layers.dense(3)(image, name="head")
    described = models.graph(image, layers.dense(3)(layers.flatten()(image))).to_dict()
    described["nodes"][1]["inputs"] = "image"  # the dense layer on the image: a checkpoint's JSON, edited
    with pytest.raises(ConfigError, match=r"layer 'dense' \(dense\) on inputs of shape \(None, 1, 8, 8\)"):
        models.spec_from_dict(described)


@pytest.mark.parametrize("make, message", [
    (lambda a, b: models.graph(a, layers.dense(2)(b)), r"layer dense is called on the input 'b', which is not among"),
    (lambda a, b: models.graph([a, b], layers.dense(2)(a)), "input 'b' reaches no output"),
    (lambda a, b: models.graph(a, layers.add()([a, layers.dense(3)(a)])), r"add takes inputs of one shape"),
    (lambda a, b: layers.add()(a), r"merges two inputs or more: call it on a list"),
    (lambda a, b: layers.dense(2)([a, b]), "takes one input, and is called on 2; merge them first"),
    (lambda a, b: layers.concatenate(axis=0)([a, b]), "axis 0 is the batch"),
    (lambda a, b: layers.embedding(10, 2)(a), r"takes int64 inputs.*dtype=\"int64\""),
    (lambda a, b: layers.dense(2, name="x"), r"named where it is called.*\(x, name='x'\)"),
    (lambda a, b: layers.dense(2)(np.zeros((3, 4))), "called on symbolic tensors"),
    (lambda a, b: models.graph(a, [layers.dense(2)(a, name="same"), layers.dense(3)(a, name="same")]),
     "two layers .* are named 'same'"),
    (lambda a, b: (lambda shared: models.graph([a, b], layers.concatenate()([shared(a), shared(b)])))(
        layers.dense(2)), r"layer 'dense' \(dense\) is shared, and its calls take inputs of shapes"),
    (lambda a, b: layers.dense(2)(models.Input((28, 28, 1))), r"layer dense on inputs of shape \(None, 28, 28, 1\).*looks "
                                                             r"channels-last"),
])
def test_a_graph_that_cannot_be_is_refused_saying_why(make, message):
    a, b = models.Input((4,), name="a"), models.Input((3,), name="b")
    with pytest.raises(ConfigError, match=message):
        make(a, b)


@pytest.mark.skipif(not BACKENDS, reason="no backend installed")
@pytest.mark.parametrize("features, message", [
    ({"image": np.zeros((4, 1, 10, 10))}, r"dict with no 'table'"),
    ({"image": np.zeros((4, 1, 10, 10)), "table": np.zeros((4, 4)), "extra": np.zeros(4)}, "unknown 'extra'"),
    ((np.zeros((4, 1, 10, 10)),), "1 arrays of features for the model's 2 inputs"),
    (np.zeros((4, 100)), r"the model takes 2 inputs \(image \(1, 10, 10\), table \(4,\)\); give the features as a "
                         "dict"),
    ({"image": np.zeros((4, 1, 10, 10)), "table": np.zeros((3, 4))}, r"inputs \(image 4, table 3\) and the labels"),
    ({"image": np.zeros((4, 1, 9, 10)), "table": np.zeros((4, 4))}, r"input 'image' takes samples of shape"),
    ({"image": np.full((4, 1, 10, 10), np.nan), "table": np.zeros((4, 4))}, r"input 'image' holds NaN"),
])
def test_features_that_do_not_fit_the_inputs_are_refused_naming_the_input(features, message):
    trainer = Trainer(BACKENDS[0], progress=False)
    with pytest.raises(DataError, match=message):
        trainer.fit(image_and_table_spec(), features, np.zeros(4, np.int64))


@pytest.mark.skipif(not BACKENDS, reason="no backend installed")
def test_inputs_stay_aligned_when_shuffled_split_streamed_and_given_channels_last():
    images, table, labels = image_and_table(800, seed=3)
    spec = image_and_table_spec()
    trainer = Trainer(BACKENDS[0], epochs=10, batch_size=32, optimizer="adam", lr=1e-2, seed=0, stream=True,
                      progress=False)
    history = trainer.fit(spec, ({"image": images.transpose(0, 2, 3, 1), "table": table}, labels),
                          validation_split=0.25)
    assert history["val_accuracy"][-1] >= 0.9
    assert trainer.evaluate(spec, {"image": images, "table": table}, labels)["accuracy"] >= 0.9


def test_ids_of_a_graph_input_go_to_its_embeddings_and_are_checked():
    ids, table = models.Input((5,), dtype="int64", name="ids"), models.Input((2,), name="table")
    words = layers.flatten()(layers.embedding(12, 3)(ids))
    spec = models.graph([ids, table], layers.dense(2)(layers.concatenate()([words, table])))
    packed = spec.pack((np.arange(10).reshape(2, 5), np.ones((2, 2))))
    assert packed.dtype == np.float32 and packed[:, :5].tolist() == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]
    with pytest.raises(DataError, match=r"input 'ids': id 12 at index \(1, 2\) is outside 0..11"):
        spec.pack({"ids": np.array([[1] * 5, [0, 0, 12, 0, 0]]), "table": np.ones((2, 2))})
    with pytest.raises(DataError, match=r"input 'ids' takes integer ids \(int64\), got float"):
        spec.pack({"ids": np.ones((2, 5)), "table": np.ones((2, 2))})


class MakesMask(layers.Layer):
    """The identity; its output's mask says which values are positive."""

    def call(self, x, training=False):
        return x

    def compute_mask(self, x, mask):
        return x > 0


class TakesMask(layers.Layer):
    """Zeroes what its mask hides."""

    takes_mask = True

    def call(self, x, training=False, mask=None):
        return x if mask is None else x * mask


def test_masks_flow_from_the_layer_that_makes_one_to_the_layers_that_take_it():
    x = models.Input((3,), name="x")
    kept = TakesMask()(layers.activation("tanh")(MakesMask()(x)))  # tanh passes its input's mask on
    both = layers.add()([kept, layers.dense(3)(kept)])  # a merge of one mask (dense passes it on): that mask
    mixed = layers.add()([both, layers.dense(3)(x)])  # of a mask and none: none
    spec = models.graph(x, [TakesMask()(both), TakesMask()(mixed)])
    weights = {"dense": {"weight": np.eye(3), "bias": np.zeros(3)}, "dense_1": {"weight": np.eye(3), "bias": np.zeros(3)}}
    given: dict[str, object] = {}

    def call(index, value, **mask):
        name, layer = spec.layer_names[index], spec.layers[index]
        given[name] = mask.get("mask", "not given")
        if "mask" in mask:
            return layer.call(value, mask=mask["mask"])
        return layer._plan(spec.layer_shapes[index]).call(weights.get(name, {}), value, False)[0]

    values = np.array([[1.0, -2.0, 3.0]])
    first, second = execute(spec, [values], call)
    assert given["makes_mask"] == given["dense"] == "not given"
    for name in ("takes_mask", "takes_mask_1"):
        np.testing.assert_array_equal(given[name], [[True, False, True]], err_msg=name)
    assert given["takes_mask_2"] is None
    np.testing.assert_allclose(first, 2 * np.tanh(values) * [[1, 0, 1]])
    np.testing.assert_allclose(second, 2 * np.tanh(values) * [[1, 0, 1]] + values)


def test_a_resnet_has_a_projection_shortcut_where_the_shape_changes_alone():
    spec = models.resnet((3, 16, 16), classes=4, stages=(8, 16), blocks=2)
    shortcuts = [name for name in spec.layer_names if ".shortcut." in name]
    assert shortcuts == ["stage2.block1.shortcut.conv", "stage2.block1.shortcut.bn"]
    assert next(node for node in spec.nodes if node.layer == "stage1.block2.add").inputs == \
        ("stage1.block2.bn2", "stage1.block1.relu2")  # the identity where the shape stays
    assert spec.shapes["stage2.block2.relu2"] == (16, 8, 8) and spec.shapes["logits"] == (4,)
    assert spec.parameter_shapes()["stage2.block1.conv1.weight"] == (16, 8, 3, 3)
    assert "stage2.block1.conv1.bias" not in spec.parameter_shapes()  # batch norm follows


def test_a_small_resnet_learns_a_tiny_image_set(backend):
    images, labels = patterns(480, size=12)
    spec = models.resnet((1, 12, 12), classes=3, stages=(8, 16))
    trainer = Trainer(backend, epochs=6, batch_size=32, optimizer="adam", lr=1e-2, seed=0, progress=False)
    trainer.fit(spec, (images[:400], labels[:400]))
    assert trainer.evaluate(spec, (images[400:], labels[400:]))["accuracy"] >= 0.9


@pytest.mark.skipif(not BACKENDS, reason="needs a backend")
def test_dlcore_train_trains_a_resnet_chosen_by_model_resnet(fashion_dir, tmp_path):
    out = dlcore("train", "fashion-mnist", "--backend", BACKENDS[0], "--data-dir", str(fashion_dir), "--epochs", "1",
                 "--model", "resnet", "--filters", "4", "8", "--blocks", "2", "--save", str(tmp_path / "net.npz"),
                 "--no-progress")
    assert out.returncode == 0, out.stderr
    model = Trainer(BACKENDS[0]).load(tmp_path / "net.npz")
    assert model.spec == models.resnet((1, 28, 28), 10, (4, 8), blocks=2)
    refused = dlcore("train", "fashion-mnist", "--model", "resnet", "--hidden", "64", "--print-config")
    assert refused.returncode != 0 and "--hidden ([model] hidden) needs --model mlp or cnn" in refused.stderr


@pytest.mark.skipif(not BACKENDS, reason="needs a backend")
def test_a_tables_columns_go_to_the_inputs_named_after_them():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    table = pd.DataFrame({"age": rng.normal(size=400), "city": rng.choice(["a", "b", "c"], 400),
                          "noise": rng.normal(size=400)})
    table["label"] = ((table.age > 0) ^ (table.city == "b")).astype(int)  # both columns decide
    age, city = models.Input((1,), name="age"), models.Input((3,), name="city")  # city: one-hot, 3 categories
    spec = models.graph([age, city], layers.dense(2)(layers.dense(16, "relu")(layers.concatenate()([age, city]))))
    trainer = Trainer(BACKENDS[0], epochs=30, batch_size=32, optimizer="adam", lr=1e-2, seed=0, progress=False)
    trainer.fit(spec, table, target="label", categorical="one_hot")
    assert trainer.evaluate(spec, table)["accuracy"] >= 0.95
    two = models.Input((2,), name="city")
    wrong = models.graph([age, two], layers.dense(2)(layers.concatenate()([age, two])))
    with pytest.raises(DataError, match=r"input 'city' takes 2 values per sample and the column 'city' gives 3"):
        Trainer(BACKENDS[0], progress=False).fit(wrong, table, target="label", categorical="one_hot")


@pytest.mark.skipif(not BACKENDS, reason="needs a backend")
def test_a_graph_of_two_outputs_predicts_them_side_by_side_and_fit_says_it_takes_one():
    x = models.Input((4,), name="x")
    hidden = layers.dense(8, "relu")(x)
    spec = models.graph(x, [layers.dense(3)(hidden, name="kind"), layers.dense(1)(hidden, name="price")])
    assert spec.outputs == ("kind", "price") and spec.out_features == 4
    trainer = Trainer(BACKENDS[0], progress=False)
    with pytest.warns(UserWarning, match="random initial ones"):
        assert trainer.predict(spec, np.zeros((5, 4), np.float32), allow_random=True).shape == (5, 4)
    with pytest.raises(ConfigError, match=r"this graph gives 2 outputs \(kind, price\); fit and evaluate take a graph "
                                          "of one output"):
        trainer.fit(spec, np.zeros((5, 4), np.float32), np.zeros(5, np.int64))


WORKER = """
import sys
from pathlib import Path

import numpy as np
from dlcore import Trainer, models
from dlcore.models import layers
from dlcore.testing.data import patterns

images, _ = patterns(256, size=10, seed=0)
table = np.random.default_rng(1).normal(0, 1, (256, 4)).astype(np.float32)
labels = (np.arange(256) + (table[:, 0] > 0)) % 3
image, row = models.Input((1, 10, 10), name="image"), models.Input((4,), name="table")
seen = layers.global_max_pool2d()(layers.conv2d(4, 3, padding="same", activation="relu")(image))
spec = models.graph([image, row], layers.dense(3)(layers.concatenate()([seen, layers.dense(4, "relu")(row)])))
strategy = None if sys.argv[2] == "none" else sys.argv[2]
trainer = Trainer("torch", epochs=2, batch_size=64, optimizer="adam", lr=1e-2, seed=3, progress=False, device="cpu",
                  strategy=strategy)
trainer.fit(spec, {"image": images, "table": table}, labels)
if trainer.is_chief:
    np.savez(Path(sys.argv[1]) / (sys.argv[2] + ".npz"), **trainer.build(spec).get_weights())
trainer.close()
"""


@pytest.mark.skipif("torch" not in BACKENDS, reason="needs torch (its ddp strategy)")
def test_a_graph_of_two_inputs_trains_in_a_group_of_two_processes_as_in_one(tmp_path):
    import subprocess
    import sys

    from dlcore.parallel.launcher import launch
    from dlcore.plugins import registry

    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    alone = subprocess.run([sys.executable, str(script), str(tmp_path), "none"], capture_output=True, text=True,
                           timeout=300)
    assert alone.returncode == 0, alone.stderr
    environment = registry().strategies.load(registry().strategy("ddp", "torch"), "load").environment
    code = launch([sys.executable, str(script), str(tmp_path), "ddp"], 2, environment, threads=1, timeout=10,
                  deadline=240, echo=lambda *a, **k: None)
    assert code == 0
    with np.load(tmp_path / "none.npz") as one, np.load(tmp_path / "ddp.npz") as group:
        assert sorted(one.files) == sorted(group.files)
        for name in one.files:  # each worker's half of every global batch: the inputs of each sample together
            np.testing.assert_allclose(group[name], one[name], rtol=1.3e-5, atol=1e-5, err_msg=name)


@pytest.mark.skipif(not BOTH, reason="needs torch and tensorflow")
def test_a_graph_exported_as_keras_and_as_a_state_dict_loads_on_the_other_backend(tmp_path):
    spec, features = merging_spec(), merging_features(8)
    keras_side = Trainer("tensorflow", epochs=1, seed=1, progress=False)
    keras_side.fit(spec, features, np.arange(8) % 3)
    expected = keras_side.predict(spec, features)
    keras_side.export(spec, tmp_path / "graph.keras")
    torch_side = Trainer("torch", progress=False)
    loaded = torch_side.load(tmp_path / "graph.keras")
    assert loaded.spec == spec
    np.testing.assert_allclose(torch_side.predict(loaded, features), expected, atol=LOGITS_ATOL)
    torch_side.export(loaded, tmp_path / "graph.pt")
    again = keras_side.load(tmp_path / "graph.pt", spec=spec)
    np.testing.assert_allclose(keras_side.predict(again, features), expected, atol=LOGITS_ATOL)
