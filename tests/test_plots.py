"""The plots as a person reads them: whole epochs on the axis, the learning rate only where it
moved, whose probability each top-loss label gives, normalized confusion matrices and wrapped
reviews. Asserted on the matplotlib objects, without drawing to a screen."""

from __future__ import annotations

import numpy as np
import pytest

from dlcore import ArrayDataset, ConfigError, plots

pytest.importorskip("matplotlib")


def _history(rates):
    return [{"epoch": e + 1, "loss": 1 / (e + 1), "val_loss": 1.2 / (e + 1), "accuracy": 0.5 + e / 20,
             "val_accuracy": 0.45 + e / 20, "lr": rate, "seconds": 1.0} for e, rate in enumerate(rates)]


def _panels(figure):
    return [axes for axes in figure.axes if axes.get_visible()]


def test_learning_curves_tick_whole_epochs_and_draw_the_rate_only_where_it_changed():
    constant = plots.learning_curves(_history([1e-3] * 3))  # 3 epochs: matplotlib would tick 1.25, 1.5, ...
    assert [axes.get_title() for axes in _panels(constant)] == ["loss", "accuracy"]
    assert constant.get_suptitle() == "learning rate 0.001 throughout"
    constant.canvas.draw()  # ticks are placed when drawn
    for axes in _panels(constant):
        ticks = [t for t in axes.get_xticks() if axes.get_xlim()[0] <= t <= axes.get_xlim()[1]]
        assert ticks and all(float(t).is_integer() for t in ticks)
    decaying = plots.learning_curves(_history([1e-3 * 0.5 ** e for e in range(7)]))
    assert [axes.get_title() for axes in _panels(decaying)] == ["loss", "accuracy", "lr"]


def test_confusion_matrix_normalizes_over_true_classes_predictions_or_all():
    counts = np.array([[8, 2, 0], [1, 6, 3], [0, 0, 0]])
    names = ["T-shirt", "Coat", "Shirt"]

    def shown(normalize):
        axes = plots.confusion_matrix(counts, names, normalize=normalize).axes[0]
        return np.asarray(axes.images[0].get_array()), [t.get_text() for t in axes.texts]

    rows, texts = shown("true")
    assert rows.sum(axis=1).tolist() == pytest.approx([1, 1, 0]) and texts[:2] == ["0.80", "0.20"]
    columns, _ = shown("pred")
    assert columns.sum(axis=0).tolist() == pytest.approx([1, 1, 1])
    everything, _ = shown("all")
    assert everything.sum() == pytest.approx(1)
    raw, texts = shown(None)
    assert raw.tolist() == counts.tolist() and texts[:2] == ["8", "2"]
    with pytest.raises(ConfigError, match="normalize must be 'true', 'pred', 'all' or None"):
        plots.confusion_matrix(counts, normalize="rows")


class _Fixed:
    """A trainer whose predictions are given logits."""

    def __init__(self, logits):
        self.logits = np.log(np.asarray(logits, np.float64))

    def predict(self, model, dataset):
        return self.logits


def test_top_losses_labels_say_whose_probability_each_is():
    names = ["T-shirt", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt"]
    probs = np.full((3, 7), 0.01)
    probs[0, [6, 4]] = 0.71, 0.16   # a Coat taken for a Shirt
    probs[1, 1] = 0.9               # a Trouser, right
    probs[2, [0, 6]] = 0.5, 0.3     # a Shirt taken for a T-shirt
    probs /= probs.sum(axis=1, keepdims=True)
    data = ArrayDataset(np.random.default_rng(0).random((3, 784), np.float32), np.array([4, 1, 6]), class_names=names)
    figure = plots.top_losses(_Fixed(probs), None, data, k=3)
    titles = [axes.get_title() for axes in figure.axes if axes.get_title()]
    p = probs.round(2)
    assert titles[0] == f"pred Shirt {p[0, 6]:.2f} / true Coat {p[0, 4]:.2f}\nloss {-np.log(probs[0, 4]):.2f}"
    assert titles[1].startswith(f"pred T-shirt {p[2, 0]:.2f} / true Shirt {p[2, 6]:.2f}")
    assert titles[2].startswith(f"pred = true Trouser {p[1, 1]:.2f}")


def test_top_losses_of_a_binary_model_with_one_logit_and_labels_of_shape_n_by_1():
    logits = np.array([[2.0], [-1.0], [0.5]])  # sigmoid: 0.88, 0.27, 0.62 for "positive"
    data = ArrayDataset(np.random.default_rng(0).random((3, 784), np.float32), np.array([[0.0], [1.0], [1.0]]),
                        class_names=["negative", "positive"])
    figure = plots.top_losses(_Fixed(np.exp(logits)), None, data, k=3)
    titles = [axes.get_title() for axes in figure.axes if axes.get_title()]
    assert titles == ["pred positive 0.88 / true negative 0.12\nloss 2.13",
                      "pred negative 0.73 / true positive 0.27\nloss 1.31",
                      "pred = true positive 0.62\nloss 0.47"]


def test_top_losses_of_texts_wraps_each_review_over_several_readable_lines():
    review = " ".join(["a long and winding review of a film that went on and on"] * 12)
    texts = np.array([review, "short and sweet", review + " indeed"], dtype=object)
    data = ArrayDataset(texts, np.array([1, 0, 0]), class_names=["negative", "positive"])
    figure = plots.top_losses(_Fixed([[0.3, 0.7], [0.6, 0.4], [0.2, 0.8]]), None, data, k=3)
    shown = [t for axes in figure.axes for t in axes.texts]
    reviews = [t for t in shown if "winding" in t.get_text() or "sweet" in t.get_text()]
    assert len(reviews) == 3
    first = reviews[0].get_text().splitlines()
    assert 2 <= len(first) <= 4 and all(len(line) <= 100 for line in first) and first[-1].endswith("...")
    assert min(t.get_fontsize() for t in shown) >= 9
    assert [t.get_text() for t in shown if t.get_text().startswith("pred")][0].startswith("pred positive 0.80 / true negative 0.20")
