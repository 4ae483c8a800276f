"""Fashion-MNIST the way Keras and Lightning users train: AdamW, a cosine schedule with warmup,
early stopping that restores the best weights, accuracy and macro F1, a CSV log per backend.

    python examples/keras_style.py [torch tensorflow jax] [--epochs 10]

Each installed backend (or those named) trains the same model from the same seed; the script
prints each one's summary, test metrics and training time, then the largest difference in test
accuracy between backends.
"""

from __future__ import annotations

import argparse
import time

from dlcore import CSVLogger, EarlyStopping, Trainer, backend_infos, datasets, models
from dlcore.optimizers import AdamW
from dlcore.schedules import CosineDecay


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("backends", nargs="*", help="default: every installed backend")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--log-dir", default=".", help="where the CSV logs go")
    args = parser.parse_args()
    backends = args.backends or [info.name for info in backend_infos() if info.available]
    train, test = datasets.fashion_mnist()
    accuracies = {}
    for backend in backends:
        trainer = Trainer(backend, epochs=args.epochs, batch_size=64, optimizer=AdamW(lr=1e-3, weight_decay=0.01),
                          schedule=CosineDecay(warmup=500), metrics=["accuracy", "f1"], seed=0, progress=False)
        model = models.mlp(784, [512, 512], 10)
        start = time.perf_counter()
        history = trainer.fit(model, train, validation=0.1, callbacks=[
            EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True),
            CSVLogger(f"{args.log_dir}/{backend}.csv")])
        seconds = time.perf_counter() - start
        trainer.summary(model)
        metrics = trainer.evaluate(model, test)
        accuracies[backend] = metrics["accuracy"]
        print(f"{backend}: {len(history)} epochs in {seconds:.1f} s, best val_loss at epoch "
              f"{1 + history['val_loss'].index(min(history['val_loss']))}; test accuracy {metrics['accuracy']:.2%}, "
              f"f1 {metrics['f1']:.4f}, loss {metrics['loss']:.4f}", flush=True)
    if len(accuracies) > 1:
        spread = max(accuracies.values()) - min(accuracies.values())
        print(f"largest difference in test accuracy between backends: {spread * 100:.2f} points")


if __name__ == "__main__":
    main()
