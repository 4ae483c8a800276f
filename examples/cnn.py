"""A CNN on Fashion-MNIST, trained on one backend and evaluated from its checkpoint on every
other: the same accuracy everywhere, because the weights are canonical.

    python examples/cnn.py [--backend torch] [--epochs 5] [--out cnn.npz]

Trains ``models.cnn()`` (two 3x3 convolutions with batch norm, ReLU and 2x2 max pooling, then
dropout, Dense 128 and the logits) with Adam, prints the test accuracy per epoch, saves the
checkpoint, then loads it on each installed backend and prints its test accuracy and the largest
difference of its logits from the trainer's.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from dlcore import Trainer, backend_infos, datasets, models


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default=None, help="the backend that trains (default: the first installed)")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--out", default="cnn.npz", help="where the checkpoint goes")
    args = parser.parse_args()
    train, test = datasets.fashion_mnist()
    spec = models.cnn()
    trainer = Trainer(args.backend, epochs=args.epochs, batch_size=64, optimizer="adam", lr=1e-3, seed=0)
    start = time.perf_counter()
    history = trainer.fit(spec, train, validation=test)
    print(f"{trainer.backend_name}: trained {args.epochs} epochs in {time.perf_counter() - start:.0f} s; "
          f"test accuracy per epoch {[round(a, 4) for a in history['val_accuracy']]}")
    trainer.save(spec, args.out)
    logits = trainer.predict(spec, test)
    for info in backend_infos():
        if info.available:
            other = Trainer(info.name, progress=False)
            model = other.load(args.out)
            gap = float(np.abs(other.predict(model, test) - logits).max())
            print(f"{info.name}: test accuracy {other.evaluate(model, test)['accuracy']:.4f}, logits within {gap:.1e}")


if __name__ == "__main__":
    main()
