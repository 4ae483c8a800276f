"""DataFrames as data: fit(df, target=...) trains a regression and a classifier on every
installed backend; columns that are not numbers are refused or one-hot encoded the same way for
training, validation and prediction; bad tables are named."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from conftest import BACKENDS
from dlcore import ConfigError, DataError, Trainer, models
from dlcore.datasets import from_dataframe

pd = pytest.importorskip("pandas")


def houses(n: int = 600, seed: int = 0):
    """A table whose price is a linear function of its columns, with a categorical one."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"rooms": rng.integers(1, 6, n), "area": rng.normal(0, 1, n),
                          "city": rng.choice(["north", "south", "east"], n)})
    frame["price"] = (0.5 * frame.rooms + 2 * frame.area + frame.city.map({"north": 1.0, "south": -1.0, "east": 0.0})
                      + rng.normal(0, 0.05, n))
    return frame


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_dataframe_regression_trains_with_mse_and_reports_r2(backend):
    frame = houses()
    spec = models.mlp(5, [32], 1)
    trainer = Trainer(backend, epochs=40, batch_size=32, optimizer="adam", lr=1e-2, loss="mse",
                      metrics=("mae", "r2"), seed=0, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning about arrays that are not writable
        history = trainer.fit(spec, frame[:500], validation=frame[500:], target="price", categorical="one_hot")
    assert history["val_r2"][-1] > 0.97
    result = trainer.evaluate(spec, frame[500:])  # the target and the encoding fit used
    assert result["r2"] == pytest.approx(history["val_r2"][-1], abs=1e-6)
    predicted = trainer.predict(spec, frame[500:].drop(columns="price"))[:, 0]
    truth = frame.price[500:].to_numpy()
    r2 = 1 - ((predicted - truth) ** 2).sum() / ((truth - truth.mean()) ** 2).sum()
    assert r2 == pytest.approx(result["r2"], abs=1e-4)


@pytest.mark.skipif(not BACKENDS, reason="no backend installed")
def test_a_dataframe_classifier_uses_integer_targets_as_classes():
    frame = houses()
    frame["expensive"] = (frame.price > frame.price.median()).astype(int)
    trainer = Trainer(BACKENDS[0], epochs=30, optimizer="adam", lr=1e-2, seed=0, progress=False)
    history = trainer.fit(models.mlp(5, [16], 2), frame, target="expensive", features=["rooms", "area", "city"],
                          categorical="one_hot", validation=0.2)
    assert history["val_accuracy"][-1] > 0.8


def test_columns_that_are_not_numbers_are_refused_naming_them_or_one_hot_encoded():
    frame = houses(20)
    with pytest.raises(DataError, match="columns 'city' are not numbers.*categorical='one_hot'"):
        from_dataframe(frame, "price")
    data = from_dataframe(frame, "price", categorical="one_hot")
    assert data.feature_names == ("rooms", "area", "city=east", "city=north", "city=south")
    assert data.features.dtype == np.float32 and data.features.flags.writeable and data.labels.dtype == np.float32
    assert data.features[:, 2:].sum(1).tolist() == [1.0] * 20
    later = from_dataframe(frame[frame.city == "north"], None, data.columns, "one_hot", data.categories)
    assert later.feature_names == data.feature_names and later.features[:, 3].min() == 1.0
    grades = pd.DataFrame({"grade": pd.Series([1, 2, 3, 2], dtype=object), "y": [0.0, 1.0, 2.0, 1.0]})
    encoded = from_dataframe(grades, "y", categorical="one_hot")
    as_numbers = from_dataframe(grades.astype({"grade": int}), "y", encoded.columns, "one_hot", encoded.categories)
    assert as_numbers.feature_names == encoded.feature_names == ("grade=1", "grade=2", "grade=3")
    np.testing.assert_array_equal(as_numbers.features, encoded.features)  # a column of categories stays one


@pytest.mark.parametrize("change, message", [
    (lambda f: f.assign(area=f.area.where(f.index != 3)), "column 'area' has a missing value.*row 3.*fillna"),
    (lambda f: f.assign(price=f.city), "target column 'price' is not numbers.*cat.codes"),
    (lambda f: f.drop(columns="rooms"), "no column 'rooms'; the columns are area, city, price"),
])
def test_bad_tables_are_refused_naming_the_column(change, message):
    with pytest.raises(DataError, match=message):
        from_dataframe(change(houses(10)), "price", ["rooms", "area"])


@pytest.mark.skipif(not BACKENDS, reason="no backend installed")
def test_a_dataframe_without_a_target_is_refused_with_the_fix():
    with pytest.raises(ConfigError, match=r"fit\(df, target='label'\)"):
        Trainer(BACKENDS[0]).fit(models.mlp(4, [4], 1), houses(10))


def test_multi_column_targets_are_n_by_k_regression_targets():
    frame = houses(10)
    data = from_dataframe(frame, ["price", "area"], ["rooms"])
    assert data.labels.shape == (10, 2) and data.labels.dtype == np.float32 and data.target == ["price", "area"]


@pytest.mark.skipif(not BACKENDS, reason="no backend installed")
def test_a_loaded_dataframe_model_predicts_and_evaluates_raw_dataframes_with_its_stored_encoding(tmp_path):
    frame = houses(400)
    trainer = Trainer(BACKENDS[0], epochs=40, batch_size=32, optimizer="adam", lr=1e-2, loss="mse",
                      metrics=("r2",), seed=0, progress=False)
    spec = models.mlp(5, [32], 1)
    trainer.fit(spec, frame[:300], target="price", categorical="one_hot")
    trainer.save(spec, tmp_path / "houses.npz")
    fresh = Trainer(BACKENDS[0], loss="mse", metrics=("r2",), progress=False)
    loaded = fresh.load(tmp_path / "houses.npz")
    new = frame[300:].drop(columns="price")[["city", "area", "rooms"]]  # raw, columns in another order
    np.testing.assert_allclose(fresh.predict(loaded, new), trainer.predict(spec, new), rtol=1e-5, atol=1e-5)
    assert fresh.evaluate(loaded, frame[300:])["r2"] > 0.95  # the target fit used, from the checkpoint


@pytest.mark.skipif(not BACKENDS, reason="no backend installed")
def test_a_category_unseen_in_training_is_an_error_naming_it_or_all_zeros_with_a_warning():
    frame = houses(200)
    trainer = Trainer(BACKENDS[0], epochs=1, loss="mse", seed=0, progress=False)
    spec = models.mlp(4, [8], 1)
    trainer.fit(spec, frame[frame.city != "east"], target="price", categorical="one_hot")
    unseen = frame[:20].drop(columns="price").assign(city=["east", "west"] * 10)
    with pytest.raises(DataError, match=r"predict input: column 'city' has 'east', 'west', categories not seen in "
                                        r"training \(it knows 'north', 'south'\).*handle_unknown='ignore'"):
        trainer.predict(spec, unseen)
    with pytest.raises(DataError, match="evaluation data: column 'city' has 'east'"):
        trainer.evaluate(spec, frame)
    lenient = models.mlp(4, [8], 1)
    trainer.fit(lenient, frame[frame.city != "east"], target="price", categorical="one_hot", handle_unknown="ignore")
    with pytest.warns(UserWarning, match="column 'city' has 'east', 'west'.*encoded as all zeros"):
        trainer.predict(lenient, unseen)
    with pytest.warns(UserWarning, match="table: column 'city' has 'east', 'west'"):
        zeros = from_dataframe(unseen, None, ["rooms", "area", "city"], "one_hot", {"city": ["north", "south"]},
                               handle_unknown="ignore")
    assert zeros.features[:, 2:].sum() == 0.0
