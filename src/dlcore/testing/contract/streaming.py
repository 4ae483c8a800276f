"""The contract suite's streaming: data read chunk by chunk while training trains like the same
data preloaded, and an image folder decoded in reading processes learns."""

from __future__ import annotations

import numpy as np
import pytest

from ... import Trainer, datasets, models, schedules, transforms
from ..data import blobs, write_image_folder
from .base import LONG_EPOCH, BackendTestBase


class StreamingTests(BackendTestBase):
    """``stream=True`` changes how data arrives, never what is learned.

    Example::

        from dlcore.testing import StreamingTests

        class TestMyBackendStreaming(StreamingTests):
            backend = "mybackend"
    """

    @pytest.mark.parametrize("settings", [{}, {"accumulate": 3, "schedule": "cosine", "weighted": True}])
    def test_streamed_data_trains_like_the_same_data_preloaded(self, device, tmp_path, settings):
        """A .npy memory map read chunk by chunk while training (a budget so small that a chunk
        holds 3 or 4 batches, fewer than a backend's multi-step call) gives the History,
        weights, evaluation and predictions of the same arrays preloaded: the same batches in
        the same order, with gradient accumulation, a per-update schedule and class weights
        across chunk boundaries."""
        settings = dict(settings)
        weighted = settings.pop("weighted", False)
        if settings.get("accumulate", 1) > 1 and "accumulate" not in Trainer(backend=self.backend).backend.supports:
            pytest.skip(f"{self.backend} does not accumulate gradients")
        if weighted and "sample_weight" not in Trainer(backend=self.backend).backend.supports:
            weighted = False
        if settings.get("schedule") == "cosine":
            settings["schedule"] = schedules.CosineDecay(warmup=5, min_factor=0.1)
        x, y = blobs(LONG_EPOCH["samples"])
        np.save(tmp_path / "x.npy", x)
        np.save(tmp_path / "y.npy", y)
        weights = {"class_weight": {0: 0.5, 3: 2.0}} if weighted else {}
        runs = []
        for stream in (False, True):
            data = datasets.npy(tmp_path / "x.npy", tmp_path / "y.npy")
            spec = models.mlp(20, [16], 4)
            trainer = self.trainer(device, epochs=2, batch_size=LONG_EPOCH["batch_size"], stream=stream,
                                   eval_batch_size=64, memory_budget=180_000, readers=2, **settings)
            history = trainer.fit(spec, data, validation=0.2, **weights)
            runs.append(([{k: v for k, v in r.items() if k != "seconds"} for r in history.records],
                         trainer.build(spec).get_weights(), trainer.evaluate(spec, data),
                         trainer.predict(spec, data)))
        (history, weights_, evaluated, logits), (s_history, s_weights, s_evaluated, s_logits) = runs
        assert len(s_history) == len(history) == 2
        for streamed, preloaded in zip(s_history, history):
            assert streamed == pytest.approx(preloaded, rel=1e-6)
        for name in weights_:
            np.testing.assert_allclose(s_weights[name], weights_[name], rtol=1e-6, atol=1e-7, err_msg=name)
        assert s_evaluated == pytest.approx(evaluated, rel=1e-6)
        np.testing.assert_allclose(s_logits, logits, rtol=1e-5, atol=1e-6)

    def test_an_image_folder_streamed_from_png_files_learns(self, device, tmp_path):
        """PNG files in one folder per class, decoded in reading processes with the tutorial's
        ToTensor, streamed (stream=True): high accuracy, and evaluate and predict stream too."""
        root = write_image_folder(tmp_path / "images", 360)
        data = datasets.image_folder(root, transform=transforms.ToTensor())
        assert data.class_names == ("horizontal", "square", "vertical") and data.feature_shape == (1, 12, 12)
        train, test = data.split(0.25)
        spec = models.mlp(144, [32], 3)
        trainer = self.trainer(device, epochs=8, lr=3e-3, stream=True, readers=2)
        trainer.fit(spec, train)
        assert trainer.evaluate(spec, test)["accuracy"] >= 0.9
        assert trainer.predict(spec, test).shape == (len(test), 3)


__all__ = ["StreamingTests"]
