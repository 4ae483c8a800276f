"""The contract suite's text models: a text classifier learns sentiment, a frozen embedding
stays, each combiner matches the reference, and resuming is exact."""

from __future__ import annotations

import numpy as np
import pytest

from ... import DataError, embeddings, models
from .. import reference
from ..data import reviews, write_glove
from .base import BackendTestBase


class TextTests(BackendTestBase):
    """Text models train, where the backend offers them (``text_models = False`` skips them).

    Example::

        from dlcore.testing import TextTests

        class TestMyBackendText(TextTests):
            backend = "mybackend"
    """

    def needs_text(self) -> None:
        if not self.text_models:
            pytest.skip(f"{self.backend} does not train text models")

    def test_text_classifier_learns_sentiment(self, device, tmp_path):
        self.needs_text()
        texts, labels = reviews(400)
        emb = embeddings.load(str(write_glove(tmp_path / "glove.txt")), vocabulary=texts[:300])
        spec = models.text_classifier(emb, hidden=[16])
        trainer = self.trainer(device, epochs=30)
        history = trainer.fit(spec, (texts[:300], labels[:300]), validation=0.2)
        assert history["val_accuracy"][-1] >= 0.95
        assert trainer.evaluate(spec, (texts[300:], labels[300:]))["accuracy"] >= 0.95
        logits = trainer.predict(spec, ["A wonderful, brilliant film.", "Dull and tedious. Awful."])
        assert logits.shape == (2, 1) and logits[0, 0] > 0 > logits[1, 0]

    def test_frozen_embedding_stays_unchanged(self, device, tmp_path):
        self.needs_text()
        texts, labels = reviews(200)
        emb = embeddings.load(str(write_glove(tmp_path / "glove.txt")), trainable=False, vocabulary=texts)
        spec = models.text_classifier(emb)
        trainer = self.trainer(device, epochs=2)
        trainer.fit(spec, (texts, labels))
        weights = trainer.build(spec).get_weights()
        np.testing.assert_array_equal(weights["embedding.weight"], emb.vectors)
        assert not np.allclose(weights["layers.0.weight"], spec.initial_weights(0)["layers.0.weight"])

    @pytest.mark.parametrize("combiner", ["sqrtn", "mean", "sum"])
    def test_combiners_match_a_numpy_reference(self, device, tmp_path, combiner):
        """Each text's vector is the sum of its tokens' rows, scaled by 1/sqrt(n), 1/n or 1;
        then Dense + ReLU and the output layer. An empty text gives the zero vector."""
        self.needs_text()
        texts = ["A wonderful, brilliant film.", "dull", "", "Zebra quantum plot plot plot!"]
        emb = embeddings.load(str(write_glove(tmp_path / "glove.txt")), combiner=combiner)
        spec = models.text_classifier(emb, hidden=[16], out_features=3)
        logits = self.trainer(device, eval_batch_size=3).predict(spec, texts, allow_random=True)
        ids, splits = emb.encode(texts)
        vectors = []
        for start, end in zip(splits, splits[1:]):
            n = end - start
            scale = {"sqrtn": 1 / np.sqrt(max(n, 1)), "mean": 1 / max(n, 1), "sum": 1.0}[combiner]
            vectors.append(emb.vectors[ids[start:end]].astype(np.float64).sum(0) * scale)
        dense = {k: v for k, v in spec.initial_weights(0).items() if k.startswith("layers.")}
        np.testing.assert_allclose(logits, reference.forward(dense, np.stack(vectors))[-1], atol=1e-5)

    def test_resuming_a_text_model_gives_bitwise_the_same_weights(self, device, tmp_path):
        self.needs_text()
        texts, labels = reviews(300)
        emb = embeddings.load(str(write_glove(tmp_path / "glove.txt")), vocabulary=texts)
        runs = {}
        for name, epochs, resume in (("straight", 3, None), ("two", 2, None), ("resumed", 3, tmp_path / "two.npz")):
            trainer = self.trainer(device, epochs=epochs)
            spec = models.text_classifier(emb)
            trainer.fit(spec, (texts, labels), resume_from=resume)
            if name == "two":
                trainer.save(spec, tmp_path / "two.npz")
            runs[name] = trainer.build(spec).get_weights()
        assert set(runs["resumed"]) == {"embedding.weight", "layers.0.weight", "layers.0.bias", "layers.1.weight",
                                        "layers.1.bias"}
        for name in runs["straight"]:
            assert np.array_equal(runs["resumed"][name], runs["straight"][name]), \
                f"{name}: the resumed run differs from the straight one"

    def test_text_to_a_numeric_model_is_refused(self, device):
        texts, labels = reviews(10)
        with pytest.raises(DataError, match="the samples are texts but the model takes numbers"):
            self.trainer(device).fit(models.mlp(8, [4], 2), (texts, labels))


__all__ = ["TextTests"]
