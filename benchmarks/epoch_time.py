"""Seconds per epoch of dlcore's Trainer next to a hand-written native loop, per backend.

    python benchmarks/epoch_time.py [--workload fashion-mnist|imdb] [--backends torch tensorflow]
                                    [--optimizer sgd|adam] [--repeats 3]

IMDB: 15000 training reviews (the TF-Hub tutorial's split), trainable GloVe 6B 50d restricted
to the training vocabulary, sqrtn combiner, Dense 16 -> 1, batch 512, Adam; both loops get the
same token ids, tokenized once before timing.

Both run on the same in-memory Fashion-MNIST arrays (the real data when found, else random
data of the same shape), the 784-512-512-10 MLP, batch 64, in one process. One dlcore fit()
runs all epochs, and after each of its epochs a callback runs one epoch of the native loop, so
the two alternate and machine noise hits both alike. dlcore's epoch time is the one its History
records. Prints the median seconds per epoch after one warm-up epoch each, and the ratio.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from dlcore import Callback, DataError, Trainer, datasets, models


def load_data(n: int | None):
    try:
        train, _ = datasets.fashion_mnist(download=False)
        x, y = train.arrays()
        source = "Fashion-MNIST"
    except DataError:
        rng = np.random.default_rng(0)
        x = rng.random((60000, 28, 28), dtype=np.float32)
        y = rng.integers(0, 10, 60000)
        source = "random data shaped like Fashion-MNIST"
    return x[:n], y[:n], source


def load_imdb():
    from dlcore import embeddings

    train, _ = datasets.imdb(download=False)
    texts, labels = train.features[:15000], train.labels[:15000]
    emb = embeddings.load("glove-6b-50d", vocabulary=train)
    ids, splits = emb.encode(texts)
    return texts, labels, emb, ids, splits


def native_torch_imdb(emb, ids, splits, labels, optimizer, lr, batch_size):
    import torch
    from torch import nn

    embedding = nn.EmbeddingBag.from_pretrained(torch.from_numpy(emb.vectors), freeze=False, mode="sum")
    head = nn.Sequential(nn.Linear(emb.dim, 16), nn.ReLU(), nn.Linear(16, 1))
    params = list(embedding.parameters()) + list(head.parameters())
    opt = (torch.optim.Adam if optimizer == "adam" else torch.optim.SGD)(params, lr=lr)
    ids_t, splits_t, y = torch.from_numpy(ids), torch.from_numpy(splits), torch.from_numpy(labels).float()

    def epoch():
        perm = torch.randperm(len(y))
        for start in range(0, len(y), batch_size):
            idx = perm[start:start + batch_size]
            starts, lengths = splits_t[idx], splits_t[idx + 1] - splits_t[idx]
            offsets = torch.cumsum(lengths, 0) - lengths
            total = int(lengths.sum())
            pos = torch.repeat_interleave(starts - offsets, lengths, output_size=total) + torch.arange(total)
            weights = torch.repeat_interleave(lengths.clamp(min=1).float().rsqrt(), lengths, output_size=total)
            logits = head(embedding(ids_t[pos], offsets, per_sample_weights=weights)).squeeze(1)
            loss = nn.functional.binary_cross_entropy_with_logits(logits, y[idx])
            loss.backward()
            opt.step()
            opt.zero_grad()
    return epoch


def native_tensorflow_imdb(emb, ids, splits, labels, optimizer, lr, batch_size):
    import keras
    import tensorflow as tf

    table = tf.Variable(emb.vectors)
    head = keras.Sequential([keras.Input((emb.dim,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(1)])
    opt = keras.optimizers.Adam(lr) if optimizer == "adam" else keras.optimizers.SGD(lr)
    ragged = tf.RaggedTensor.from_row_splits(ids, splits)
    y = tf.constant(labels, tf.float32)
    variables = [table] + head.trainable_variables

    @tf.function
    def step(order, start):
        idx = order[start:start + batch_size]
        batch = tf.gather(ragged, idx)
        with tf.GradientTape() as tape:
            vectors = tf.gather(table, batch.flat_values) * tf.gather(
                tf.math.rsqrt(tf.cast(tf.maximum(batch.row_lengths(), 1), tf.float32)), batch.value_rowids())[:, None]
            pooled = tf.math.unsorted_segment_sum(vectors, batch.value_rowids(), tf.shape(idx)[0])
            logits = tf.squeeze(head(pooled, training=True), 1)
            loss = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(tf.gather(y, idx), logits))
        opt.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    def epoch():
        order = tf.random.shuffle(tf.range(len(labels), dtype=tf.int64))
        for start in range(0, len(labels), batch_size):
            step(order, tf.constant(start))
    return epoch


def native_torch(x, y, optimizer, lr, batch_size):
    import torch
    from torch import nn

    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))
    opt = (torch.optim.Adam if optimizer == "adam" else torch.optim.SGD)(model.parameters(), lr=lr)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    loss_fn = nn.CrossEntropyLoss()

    def epoch():
        model.train()
        perm = torch.randperm(len(xt))
        for start in range(0, len(xt), batch_size):
            idx = perm[start:start + batch_size]
            loss = loss_fn(model(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
            opt.zero_grad()
    return epoch


def native_tensorflow(x, y, optimizer, lr, batch_size):
    import keras
    import tensorflow as tf

    model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(512, activation="relu"),
                              keras.layers.Dense(512, activation="relu"), keras.layers.Dense(10)])
    opt = keras.optimizers.Adam(lr) if optimizer == "adam" else keras.optimizers.SGD(lr)
    xt, yt = tf.constant(x), tf.constant(y)

    @tf.function
    def step(order, start):
        idx = order[start:start + batch_size]
        xb, yb = tf.gather(xt, idx), tf.gather(yt, idx)
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(yb, model(xb, training=True)))
        grads = tape.gradient(loss, model.trainable_variables)
        opt.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    def epoch():
        order = tf.random.shuffle(tf.range(len(x), dtype=tf.int64))
        for start in range(0, len(x), batch_size):
            step(order, tf.constant(start))
    return epoch


class Alternate(Callback):
    """After each dlcore epoch, time one epoch of the native loop."""

    def __init__(self, native_epoch) -> None:
        self.native_epoch = native_epoch
        self.native: list[float] = []

    def on_epoch_end(self, trainer, model, epoch, logs) -> None:
        self.native.append(timed(self.native_epoch))


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workload", default="fashion-mnist", choices=("fashion-mnist", "imdb"))
    parser.add_argument("--backends", nargs="+", default=["torch", "tensorflow"])
    parser.add_argument("--optimizer", default=None, choices=("sgd", "adam"), help="default: sgd (fashion-mnist), adam (imdb)")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--batch-size", type=int, default=None, help="default: 64 (fashion-mnist), 512 (imdb)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--samples", type=int, default=None, help="use only the first N training samples")
    args = parser.parse_args()
    imdb = args.workload == "imdb"
    args.optimizer = args.optimizer or ("adam" if imdb else "sgd")
    args.batch_size = args.batch_size or (512 if imdb else 64)
    if imdb:
        x, y, emb, ids, splits = load_imdb()
        source = f"IMDB reviews with {emb}"
        natives = {"torch": native_torch_imdb, "tensorflow": native_tensorflow_imdb}
        native_args = (emb, ids, splits, y, args.optimizer, args.lr, args.batch_size)
    else:
        x, y, source = load_data(args.samples)
        natives = {"torch": native_torch, "tensorflow": native_tensorflow}
        native_args = (x, y, args.optimizer, args.lr, args.batch_size)
    print(f"{source}: {len(x)} samples, batch {args.batch_size}, {args.optimizer} lr {args.lr}, "
          f"median of {args.repeats} epochs after one warm-up epoch each")
    print(f"{'backend':<12} {'dlcore s/epoch':>15} {'native s/epoch':>15} {'ratio':>7}")
    for backend in args.backends:
        trainer = Trainer(backend=backend, epochs=args.repeats + 1, batch_size=args.batch_size,
                          optimizer=args.optimizer, lr=args.lr, seed=0, device="cpu", progress=False)
        alternate = Alternate(natives[backend](*native_args))
        spec = models.text_classifier(emb) if imdb else models.mlp(784, [512, 512], 10)
        history = trainer.fit(spec, (x, y), callbacks=[alternate])
        d = statistics.median(history["seconds"][1:])
        n = statistics.median(alternate.native[1:])
        print(f"{backend:<12} {d:>15.3f} {n:>15.3f} {d / n:>7.3f}", flush=True)


if __name__ == "__main__":
    main()
