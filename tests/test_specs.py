"""Model specs: parameter shapes, torch-style seeded initial weights, and the dictionary form
that a checkpoint stores."""

from __future__ import annotations

import json

import numpy as np

from dlcore.models import mlp, spec_from_dict


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
