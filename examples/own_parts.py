"""A layer, a loss, a metric and an optimizer of your own, each written once on dlcore.ops, train
Fashion-MNIST on every installed backend; each backend's checkpoint evaluates the same on the
others, and dlcore.testing checks each piece against numpy.

    python examples/own_parts.py [--epochs 5] [--backends torch,tensorflow,jax]

The model: flatten, Dense 256, the layer normalization below, ReLU, Dense 10; the loss: focal
loss (gamma 2); the optimizer: Lion (lr 1e-4); the extra metric: the mean margin of the true
class's logit over the best other one.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from dlcore import Trainer, backend_infos, datasets, models, ops, optimizers
from dlcore.models import layers
from dlcore.testing import check_layer, check_loss, check_metric, check_optimizer


class LayerNorm(layers.Layer):
    """Normalizes each sample's features, then scales and shifts them (learned)."""

    def __init__(self, eps: float = 1e-5):
        self.eps = eps

    def build(self, input_shape):
        self.gamma = self.add_weight("gamma", input_shape[-1:], init="ones")
        self.beta = self.add_weight("beta", input_shape[-1:], init="zeros")

    def call(self, x, training=False):
        mean = ops.mean(x, axis=-1, keepdims=True)
        return (x - mean) * ops.rsqrt(ops.var(x, axis=-1, keepdims=True) + self.eps) * self.gamma + self.beta


def focal(ops, outputs, targets, weights=None, gamma=2.0):
    """Cross-entropy scaled down where the model is already sure: -(1 - p)^gamma log p."""
    log_p = ops.take_along_axis(ops.log_softmax(outputs), ops.expand_dims(targets, 1), 1)[:, 0]
    loss = -((1 - ops.exp(log_p)) ** gamma) * log_p
    return ops.mean(loss if weights is None else loss * weights)


def margin(ops, outputs, targets):
    """The true class's logit minus the largest other logit (positive: right, with room)."""
    true = ops.take_along_axis(outputs, ops.expand_dims(targets, 1), 1)[:, 0]
    others = ops.where(ops.one_hot(targets, ops.shape(outputs)[1]) > 0, -1e9, outputs)
    return true - ops.max(others, axis=1)


@optimizers.register("lion", slots=("exp_avg",), lr=1e-4, beta1=0.9, beta2=0.99, weight_decay=0.0)
def lion(ops, w, g, slots, lr, step, beta1, beta2, weight_decay):
    """Lion: w -= lr (sign(b1 m + (1 - b1) g) + wd w); m = b2 m + (1 - b2) g."""
    m = slots["exp_avg"]
    w = w - lr * (ops.sign(beta1 * m + (1 - beta1) * g) + weight_decay * w)
    return w, {"exp_avg": beta2 * m + (1 - beta2) * g}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--backends", default=None, help="comma-separated (default: every installed one)")
    args = parser.parse_args()
    backends = args.backends.split(",") if args.backends else [i.name for i in backend_infos() if i.available]
    print("dlcore.testing:", check_layer(LayerNorm(), (32,)), check_loss(focal, classes=10),
          check_metric(margin, classes=10), check_optimizer("lion", steps=10, lr=1e-3), sep="\n  ")
    train, test = datasets.fashion_mnist()
    spec = models.sequential([layers.flatten(), layers.dense(256), LayerNorm(), layers.activation("relu"),
                              layers.dense(10)], (28, 28))
    folder = Path(tempfile.mkdtemp())
    accuracy = {}
    for backend in backends:
        trainer = Trainer(backend, epochs=args.epochs, batch_size=64, optimizer="lion", loss=focal,
                          metrics=["accuracy", margin], seed=0, progress=False)
        start = time.perf_counter()
        trainer.fit(spec, train)
        seconds = time.perf_counter() - start
        accuracy[backend] = trainer.evaluate(spec, test)
        trainer.save(spec, folder / f"{backend}.npz")
        print(f"{backend}: {args.epochs} epochs in {seconds:.0f} s, test {accuracy[backend]}")
    for saved_on in backends:
        for other in backends:
            loading = Trainer(other, loss=focal, metrics=["accuracy", margin], progress=False)
            result = loading.evaluate(loading.load(folder / f"{saved_on}.npz"), test)
            print(f"checkpoint of {saved_on} evaluated on {other}: accuracy {result['accuracy']:.4f} "
                  f"(on {saved_on}: {accuracy[saved_on]['accuracy']:.4f})")


if __name__ == "__main__":
    main()
