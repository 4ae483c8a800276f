"""The conveniences of a Keras or Lightning user's first hour (issue 33): ``fit(model, x, y)``
with ``validation_data``, ``validation_split`` and ``epochs`` per call; ``evaluate`` and
``predict`` on arrays; ``class_weight="balanced"``; untrained specs refused by ``evaluate``
and ``predict``; and ``Trainer.lr_find``, Lightning's learning-rate finder."""

from __future__ import annotations

import contextlib
import warnings
from typing import Iterator

import numpy as np
import pytest

from conftest import BACKENDS, device_on, numpy_backend
from dlcore import ArrayDataset, ConfigError, DataError, Trainer, models
from dlcore.testing.data import blobs

ALL = [*BACKENDS, *(["numpy"] if "numpy" not in BACKENDS else [])]  # the numpy test backend, registered here
WEIGHTING = [name for name in ("torch", "tensorflow") if name in BACKENDS]  # backends that weight samples


@pytest.fixture(params=ALL)
def backend(request) -> Iterator[str]:
    """Each installed backend and the numpy test backend."""
    with numpy_backend() if request.param == "numpy" else contextlib.nullcontext():
        device_on(request.param)
        yield request.param


@pytest.fixture
def numpy() -> Iterator[str]:
    """The numpy test backend alone: for what the core does the same on every backend."""
    with numpy_backend():
        yield "numpy"


def trainer(backend: str, **settings) -> Trainer:
    given = dict(epochs=3, batch_size=32, optimizer="sgd", lr=0.1, seed=0, progress=False, device="cpu")
    return Trainer(backend, **{**given, **settings})


def losses(history) -> list[float]:
    return [(record["loss"], record.get("val_loss")) for record in history.records]


# ------------------------------------------------------------------ fit(model, x, y), Keras style


def test_fit_takes_features_and_labels_and_holds_out_the_last_fraction_as_keras(numpy):
    x, y = blobs(400, 8, 3, seed=1, spread=0.4)
    history = trainer(numpy).fit(models.mlp(8, [16], 3), x, y, validation_split=0.25)
    assert history.records[-1]["val_accuracy"] >= 0.9
    same = trainer(numpy).fit(models.mlp(8, [16], 3), (x[:300], y[:300]), (x[300:], y[300:]))
    assert losses(history) == losses(same)  # the last quarter held out, as Keras' validation_split
    with_data = trainer(numpy).fit(models.mlp(8, [16], 3), x[:300], y[:300], validation_data=(x[300:], y[300:]))
    assert losses(with_data) == losses(same)
    as_list = trainer(numpy).fit(models.mlp(8, [16], 3), x[:300].tolist(), y[:300], validation_data=(x[300:], y[300:]))
    assert losses(as_list) == losses(same)
    datasets = trainer(numpy).fit(models.mlp(8, [16], 3), ArrayDataset(x[:300], y[:300]), ArrayDataset(x[300:], y[300:]))
    assert losses(datasets) == losses(same)  # fit(model, train, validation) as before


def test_fit_x_y_mistakes_name_the_fix(numpy):
    x, y = blobs(100, 8, 3)
    spec = models.mlp(8, [16], 3)
    with pytest.raises(DataError, match="x holds 100 samples and y 99 labels"):
        trainer(numpy).fit(spec, x, y[:99])
    with pytest.raises(ConfigError, match="not both"):
        trainer(numpy).fit(spec, x, y, validation_data=(x, y), validation_split=0.2)
    with pytest.raises(ConfigError, match="validation data given twice"):
        trainer(numpy).fit(spec, (x, y), (x, y), validation_data=(x, y))
    with pytest.raises(ConfigError, match="validation_split is the fraction"):
        trainer(numpy).fit(spec, x, y, validation_split="0.2")


def test_fit_takes_labels_as_a_list_or_a_series_and_joins_them_to_a_dataframe(numpy):
    pd = pytest.importorskip("pandas")
    x, y = blobs(400, 8, 3, seed=1, spread=0.4)
    arrays = losses(trainer(numpy).fit(models.mlp(8, [16], 3), x, y, validation_split=0.2))
    assert arrays[-1][1] is not None and arrays[-1][0] < arrays[0][0]
    assert losses(trainer(numpy).fit(models.mlp(8, [16], 3), x, y.tolist(), validation_split=0.2)) == arrays
    assert losses(trainer(numpy).fit(models.mlp(8, [16], 3), x, pd.Series(y), validation_split=0.2)) == arrays
    table = pd.DataFrame(x, columns=list("abcdefgh"))
    spec, fitter = models.mlp(8, [16], 3), trainer(numpy)
    as_table = fitter.fit(spec, table, pd.Series(y, name="kind"), validation_split=0.2)
    assert np.allclose(losses(as_table), arrays) and as_table.records[-1]["val_accuracy"] >= 0.9
    assert fitter.build(spec).table["target"] == "kind"  # the Series' name: later tables give that column
    assert fitter.evaluate(spec, table.assign(kind=y))["accuracy"] >= 0.9
    with pytest.raises(ConfigError, match="has a column 'a' already"):
        trainer(numpy).fit(models.mlp(8, [16], 3), table, pd.Series(y, name="a"))
    with pytest.raises(ConfigError, match="labels are given twice"):
        trainer(numpy).fit(models.mlp(8, [16], 3), table.assign(kind=y), y, target="kind")


def test_evaluate_reads_a_numpy_bool_as_the_confusion_matrix_flag():
    name = next((n for n in BACKENDS if n != "numpy"), None) or pytest.skip("no backend here has confusion_matrix")
    device_on(name)
    x, y = blobs(200, 8, 3)
    spec, fitter = models.mlp(8, [16], 3), trainer(name)
    fitter.fit(spec, x, y)
    result = fitter.evaluate(spec, (x, y), np.True_)
    assert result["confusion_matrix"].sum() == 200 and result["accuracy"] >= 0.9


def test_epochs_per_call_override_the_trainers_and_count_to_the_last_epoch_on_resume(numpy, tmp_path):
    x, y = blobs(200, 8, 3)
    spec, fitter = models.mlp(8, [16], 3), trainer(numpy, epochs=5)
    history = fitter.fit(spec, x, y, epochs=2)
    assert [r["epoch"] for r in history.records] == [1, 2]
    assert fitter.epochs == 5  # the trainer's setting is left as it was
    path = fitter.save(spec, tmp_path / "two.npz")
    resumed = trainer(numpy, epochs=5).fit(models.mlp(8, [16], 3), x, y, resume_from=path, epochs=3)
    assert [r["epoch"] for r in resumed.records] == [1, 2, 3]  # epoch 3 trained: up to epochs, as Keras counts
    straight = trainer(numpy, epochs=3).fit(models.mlp(8, [16], 3), x, y)
    assert losses(resumed) == losses(straight)
    with pytest.raises(ConfigError, match="epochs must be an integer >= 1"):
        fitter.fit(spec, x, y, epochs=0)


def test_evaluate_and_predict_take_arrays(numpy):
    x, y = blobs(200, 8, 3)
    spec, fitter = models.mlp(8, [16], 3), trainer(numpy)
    fitter.fit(spec, x, y)
    assert fitter.evaluate(spec, x, y) == fitter.evaluate(spec, (x, y))
    assert fitter.evaluate(spec, x, y)["accuracy"] >= 0.9
    np.testing.assert_array_equal(fitter.predict(spec, x[:5].tolist()), fitter.predict(spec, x[:5]))
    with pytest.raises(DataError, match="x holds 200 samples and y 3 labels"):
        fitter.evaluate(spec, x, y[:3])


# ------------------------------------------------------------------ class_weight="balanced"


@pytest.mark.parametrize("name", WEIGHTING)
def test_balanced_class_weight_is_n_samples_over_classes_times_count(name):
    x, y = blobs(300, 8, 3, seed=2)
    keep = (y != 0) | (np.arange(300) % 5 == 0)  # unbalanced: a fifth of class 0 kept
    x, y = x[keep], y[keep]
    counts = np.bincount(y)
    expected = {c: len(y) / (3 * counts[c]) for c in range(3)}
    balanced = trainer(name, epochs=2).fit(models.mlp(8, [16], 3), x, y, class_weight="balanced")
    given = trainer(name, epochs=2).fit(models.mlp(8, [16], 3), x, y, class_weight=expected)
    plain = trainer(name, epochs=2).fit(models.mlp(8, [16], 3), x, y)
    loss = [record["loss"] for record in balanced.records]
    assert loss == pytest.approx([record["loss"] for record in given.records], rel=1e-6)
    assert loss != pytest.approx([record["loss"] for record in plain.records], rel=1e-3)


@pytest.mark.parametrize("name", WEIGHTING)
def test_balanced_class_weight_counts_the_training_part_only(name):
    x, y = blobs(600, 8, 3, seed=2)
    rng = np.random.default_rng(0)
    train = rng.permutation(np.concatenate([np.flatnonzero(y == c)[:80] for c in range(3)]))  # 80 a class
    held_out = np.flatnonzero(y == 0)[80:140]  # 60 more of class 0, the last fifth: validation
    x, y = x[np.concatenate([train, held_out])], y[np.concatenate([train, held_out])]
    balanced = trainer(name, epochs=2).fit(models.mlp(8, [16], 3), x, y, validation_split=0.2,
                                           class_weight="balanced")
    plain = trainer(name, epochs=2).fit(models.mlp(8, [16], 3), x, y, validation_split=0.2)
    # the training part is balanced already: every weight 1, as without weights
    assert [r["loss"] for r in balanced.records] == pytest.approx([r["loss"] for r in plain.records], rel=1e-5)


@pytest.mark.parametrize("labels, message", [
    (np.zeros(60, np.int64), "all 60 labels are class 0"),
    (np.full((60, 3), 1 / 3, np.float32), "soft targets"),
])
def test_balanced_class_weight_refuses_labels_it_cannot_balance(labels, message):
    name = WEIGHTING[0] if WEIGHTING else pytest.skip("no backend here weights samples")
    x = np.random.default_rng(0).normal(size=(60, 8)).astype(np.float32)
    with pytest.raises(DataError, match=message):
        trainer(name).fit(models.mlp(8, [16], 3), x, labels, class_weight="balanced")


def test_balanced_class_weight_refuses_a_regression_and_other_words():
    name = WEIGHTING[0] if WEIGHTING else pytest.skip("no backend here weights samples")
    x = np.random.default_rng(0).normal(size=(60, 8)).astype(np.float32)
    with pytest.raises(ConfigError, match="a regression has none"):
        trainer(name, loss="mse").fit(models.mlp(8, [16], 1), x, x[:, 0], class_weight="balanced")
    with pytest.raises(ConfigError, match="or 'balanced', got 'auto'"):
        trainer(name).fit(models.mlp(8, [16], 3), x, np.arange(60) % 3, class_weight="auto")


# ------------------------------------------------------------------ untrained specs


def test_evaluate_and_predict_refuse_a_spec_never_fitted_nor_loaded(numpy, tmp_path):
    x, y = blobs(200, 8, 3)
    spec, fitter = models.mlp(8, [16], 3), trainer(numpy)
    for call in (lambda: fitter.evaluate(spec, x, y), lambda: fitter.predict(spec, x)):
        with pytest.raises(ConfigError, match=r"random.*trainer.load.*allow_random=True"):
            call()
    with pytest.warns(UserWarning, match="random initial"):
        assert fitter.predict(spec, x, allow_random=True).shape == (200, 3)
    fitter.fit(spec, x, y)
    path = fitter.save(spec, tmp_path / "model.npz")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert fitter.evaluate(spec, x, y)["accuracy"] >= 0.9
        loaded = trainer(numpy).load(path)
        assert trainer(numpy).evaluate(loaded, x, y)["accuracy"] >= 0.9
    other = trainer(numpy)  # the weights live in the trainer that fitted the spec
    with pytest.raises(ConfigError, match="never fitted nor loaded"):
        other.evaluate(spec, x, y)


def test_the_untrained_mark_is_the_models_own_so_no_spec_is_refused_by_mistake(numpy, tmp_path):
    x, y = blobs(100, 8, 3)
    fitted = trainer(numpy)
    first, second = models.mlp(8, [16], 3), models.mlp(8, [16], 3)
    fitted.fit(first, x, y)
    fitted.fit(second, x, y)
    p, q = fitted.save(first, tmp_path / "p.npz"), fitted.save(second, tmp_path / "q.npz")
    fitter = trainer(numpy)
    for _ in range(30):  # Models made and dropped: their ids come back for new ones
        spec, other = models.mlp(8, [16], 3), models.mlp(8, [16], 3)
        with pytest.warns(UserWarning, match="random initial"):
            fitter.predict(spec, x, allow_random=True)
        fitter.load(p, spec=spec)
        fitter.load(q, spec=other)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert fitter.evaluate(other, x, y)["accuracy"] >= 0.9
    assert fitter.build(other).trained and not fitter.build(models.mlp(8, [16], 3)).trained


def test_a_fit_that_trained_no_step_leaves_the_spec_refused(numpy):
    x, y = blobs(100, 8, 3)
    spec, fitter = models.mlp(8, [16], 3), trainer(numpy)
    with pytest.raises(ConfigError):
        fitter.fit(spec, x, y, class_weight="auto")  # refused before any step
    with pytest.raises(ConfigError, match="never fitted nor loaded"):
        fitter.predict(spec, x)
    fitter.fit(spec, x, y)
    assert fitter.predict(spec, x).argmax(1).tolist() == fitter.predict(fitter.build(spec), x).argmax(1).tolist()


def test_the_users_own_model_is_not_refused():
    torch = pytest.importorskip("torch")
    x, y = blobs(50, 8, 3)
    own = torch.nn.Linear(8, 3)  # may be pretrained: dlcore cannot tell
    assert trainer("torch").predict(own, x).shape == (50, 3)


# ------------------------------------------------------------------ lr_find


def test_lr_find_leaves_the_model_as_it_was_and_suggests_a_rate_that_trains(backend, tmp_path):
    x, y = blobs(640, 8, 3, seed=3, spread=0.8)
    spec, searcher = models.mlp(8, [16], 3), trainer(backend, epochs=1, optimizer="adam", lr=1e-3)
    searcher.fit(spec, x, y)  # optimizer state to keep
    before = {name: w.copy() for name, w in searcher.build(spec).get_weights().items()}
    finder = searcher.lr_find(spec, x, y, num_training=60)
    after = searcher.build(spec).get_weights()
    assert before.keys() == after.keys() and all(np.array_equal(before[k], after[k]) for k in before)
    assert len(finder.lrs) == len(finder.losses) <= 60 and finder.lrs[0] == pytest.approx(1e-7)
    # the next fit goes on as if there had been no search: same weights, optimizer state and order
    alone_spec, alone = models.mlp(8, [16], 3), trainer(backend, epochs=1, optimizer="adam", lr=1e-3)
    alone.fit(alone_spec, x, y)
    assert losses(searcher.fit(spec, x, y, epochs=2)) == losses(alone.fit(alone_spec, x, y, epochs=2))
    # the suggestion trains a new model well
    suggested = finder.suggestion()
    assert suggested is not None and 1e-7 < suggested < 1
    fresh = models.mlp(8, [16], 3)
    history = trainer(backend, epochs=3, optimizer="adam", lr=suggested).fit(fresh, x, y)
    assert history.records[-1]["accuracy"] >= 0.9
    assert finder.plot(tmp_path / "lr.png") is not None and (tmp_path / "lr.png").stat().st_size > 1000


def test_lr_find_stops_where_the_loss_diverges_as_lightning(numpy):
    x, y = blobs(640, 8, 3)
    finder = trainer(numpy).lr_find(models.mlp(8, [16], 3), x, y, min_lr=1e-4, max_lr=1e4, num_training=80)
    assert 10 < len(finder.losses) < 80
    finite = [loss for loss in finder.losses if np.isfinite(loss)]
    assert not np.isfinite(finder.losses[-1]) or finder.losses[-1] > 4 * min(finite)
    linear = trainer(numpy).lr_find(models.mlp(8, [16], 3), x, y, min_lr=0.01, max_lr=0.5, num_training=20,
                                    mode="linear")
    assert linear.lrs == pytest.approx(np.linspace(0.01, 0.5, 20).tolist())
    with pytest.raises(ConfigError, match="min_lr must be below max_lr"):
        trainer(numpy).lr_find(models.mlp(8, [16], 3), x, y, min_lr=1, max_lr=0.1)


def test_lr_find_reads_a_table_as_fit_and_leaves_its_encoding_to_the_next_fit(numpy):
    pd = pytest.importorskip("pandas")
    x, y = blobs(400, 2, 2, seed=4, spread=0.4)
    table = pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "city": np.where(np.arange(400) % 2, "x", "y"), "kind": y})
    spec, fitter = models.mlp(4, [16], 2), trainer(numpy)
    finder = fitter.lr_find(spec, table, target="kind", categorical="one_hot", num_training=20)
    assert len(finder.losses) == 20
    assert fitter.build(spec).table is None  # as before the search
    relabelled = table.rename(columns={"kind": "label"})
    history = fitter.fit(spec, relabelled, target="label", categorical="one_hot")
    assert history.records[-1]["accuracy"] >= 0.9


def test_handle_unknown_is_checked_up_front_and_a_later_fit_applies_its_own(numpy):
    pd = pytest.importorskip("pandas")
    x, y = blobs(200, 2, 2, seed=4, spread=0.4)
    with pytest.raises(ConfigError, match="handle_unknown must be 'error'.* or 'ignore'"):
        trainer(numpy).fit(models.mlp(2, [8], 2), x, y, handle_unknown="drop")
    with pytest.raises(ConfigError, match="handle_unknown must be"):
        trainer(numpy).lr_find(models.mlp(2, [8], 2), x, y, handle_unknown="drop")
    table = pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "city": "x", "kind": y})
    spec, fitter = models.mlp(3, [8], 2), trainer(numpy, epochs=1)
    fitter.fit(spec, table, target="kind", categorical="one_hot")
    new_city = table.assign(city="z")
    with pytest.raises(DataError, match="not seen in training"):
        fitter.fit(spec, new_city)
    with pytest.warns(UserWarning, match="handle_unknown='ignore'"):
        fitter.fit(spec, new_city, handle_unknown="ignore")
    with pytest.warns(UserWarning, match="handle_unknown='ignore'"):
        fitter.evaluate(spec, new_city)  # kept in the model
