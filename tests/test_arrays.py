"""Arrays as a dataset: slicing, splitting, and features and labels that do not match."""

from __future__ import annotations

import numpy as np
import pytest

from dlcore import ArrayDataset, DataError


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
