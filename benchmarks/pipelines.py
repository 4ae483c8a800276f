"""The pipelines the benchmark compares, each as a factory of ``epoch()`` callables.

Every factory takes the same in-memory data and settings and returns a function that runs one
training epoch. The native loops are the best simple loops a user would write: torch with
preloaded tensors and index batches; TensorFlow with a tf.function step gathering its batch
from preloaded tensors; JAX with a jitted optax step per batch, gathering from device arrays.
The CNN's (``dlcore.models.cnn()``) are the same loops over images in each framework's layout
(torch: NCHW; TensorFlow and JAX: NHWC).
"""

from __future__ import annotations

import atexit
import functools
import gzip
import math
import shutil
import tempfile
from pathlib import Path

import numpy as np

from dlcore import DataError, datasets, embeddings, ops
from dlcore.data.fashion_mnist import locate_fashion_mnist
from dlcore.models import layers


class OpsDense(layers.Layer):
    """A dense layer written once on dlcore.ops, as a user writes one: the benchmark's ops path,
    against the built-in ``layers.dense`` that each backend runs with its native kernel."""

    kind = "benchmarks.ops_dense"

    def __init__(self, units: int, activation: str | None = None):
        self.units, self.activation = units, activation

    def build(self, input_shape):
        self.weight = self.add_weight("weight", (self.units, input_shape[-1]), init="uniform")
        self.bias = self.add_weight("bias", (self.units,), init="zeros")

    def call(self, x, training=False):
        y = ops.matmul(x, ops.transpose(self.weight)) + self.bias
        return ops.relu(y) if self.activation == "relu" else y


# ---------------------------------------------------------------------------- data

def fashion_data(samples: int | None):
    """Fashion-MNIST training arrays (random data of the same shape if it is not installed)."""
    try:
        train, _ = datasets.fashion_mnist(download=False)
        x, y, source = train.features, train.labels, "Fashion-MNIST"
    except DataError:
        rng = np.random.default_rng(0)
        x, y, source = rng.random((60000, 28, 28), dtype=np.float32), rng.integers(0, 10, 60000), "random 28x28"
    return x[:samples], y[:samples], source


def imdb_data(samples: int | None):
    """IMDB training texts with GloVe 50d (synthetic texts and vectors if either is missing)."""
    try:
        train, _ = datasets.imdb(download=False)
        texts, labels, source = train.features[:15000], train.labels[:15000], "IMDB"
    except DataError:
        rng = np.random.default_rng(0)
        words = np.array([f"w{i}" for i in range(20000)])
        count = min(samples or 15000, 15000)
        texts = np.array([" ".join(rng.choice(words, rng.integers(50, 400))) for _ in range(count)], dtype=object)
        labels, source = rng.integers(0, 2, count), "synthetic reviews"
    texts, labels = texts[:samples], labels[:samples]
    try:
        emb = embeddings.load("glove-6b-50d", vocabulary=texts)
    except DataError:
        tokens = sorted({t for text in texts for t in text.lower().split()})
        emb = embeddings.TextEmbedding(tokens, np.random.default_rng(0).normal(0, 0.3, (len(tokens) + 1, 50)))
        source += " with random vectors"
    ids, splits = emb.encode(texts)
    return texts, labels, emb, ids, splits, source


@functools.cache
def torchvision_root() -> Path:
    """A folder in torchvision's layout (FashionMNIST/raw, uncompressed) for the tutorial pipeline,
    made once per run and removed when the benchmark exits."""
    paths = locate_fashion_mnist(download=False)
    root = Path(tempfile.mkdtemp(prefix="dlcore-bench-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    raw = root / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for stem, path in paths.items():
        if path.suffix == ".gz":
            with gzip.open(path) as src, open(raw / stem, "wb") as dst:
                shutil.copyfileobj(src, dst)
        else:
            shutil.copy(path, raw / stem)
    return root


# ------------------------------------------------------------------------- torch

def torch_optimizer(name, params, lr):
    """A plain loop's optimizer: torch.optim's default (not fused) Adam or SGD."""
    import torch

    return (torch.optim.Adam if name == "adam" else torch.optim.SGD)(params, lr=lr)


def torch_mlp():
    """The PyTorch tutorial's NeuralNetwork: Flatten, 784-512-ReLU-512-ReLU-10."""
    from torch import nn

    return nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))


def torch_cnn():
    """``dlcore.models.cnn()`` as torch modules: two blocks of 3x3 conv (padding 1, no bias: batch
    norm follows), batch norm, ReLU and 2x2 max pooling (32, 64 filters), then flatten, dropout,
    3136-128-ReLU, dropout, 10."""
    from torch import nn

    return nn.Sequential(nn.Conv2d(1, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(32, 64, 3, padding=1, bias=False), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Dropout(0.25), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Dropout(0.25),
                         nn.Linear(128, 10))


def torch_native(x, y, optimizer, lr, batch_size, model=None):
    """The plain loop over preloaded tensors, of the MLP (or of ``model``, taking ``x``)."""
    import torch
    from torch import nn

    model = torch_mlp() if model is None else model
    opt = torch_optimizer(optimizer, model.parameters(), lr)
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


def torch_native_cnn(x, y, optimizer, lr, batch_size):
    """The CNN's plain loop: torch_native over (N, 1, 28, 28) images."""
    return torch_native(x.reshape(len(x), 1, 28, 28), y, optimizer, lr, batch_size, model=torch_cnn())


def has_lightning() -> bool:
    """Whether Lightning is installed (found without importing it)."""
    import importlib.util

    return any(importlib.util.find_spec(name) for name in ("lightning", "pytorch_lightning"))


def lightning():
    """The installed Lightning's package: ``lightning.pytorch`` or ``pytorch_lightning``."""
    import importlib

    try:
        return importlib.import_module("lightning.pytorch")
    except ImportError:
        return importlib.import_module("pytorch_lightning")


def lightning_fit(x, y, optimizer, lr, batch_size):
    """A Lightning ``Trainer`` fitting the same MLP, as a LightningModule, for one epoch per
    call, from a DataLoader over the in-memory tensors (batch_size, shuffled): Lightning's
    documented way, with its logger, checkpointing, progress bar and summary switched off."""
    import logging
    import warnings

    import torch
    from torch.utils.data import DataLoader, TensorDataset

    pl = lightning()
    for name in ("lightning", "lightning.pytorch", "pytorch_lightning"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", message=".*(num_workers|does not have many workers).*")

    class Module(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = torch_mlp()

        def training_step(self, batch, _):
            xb, yb = batch
            return torch.nn.functional.cross_entropy(self.net(xb), yb)

        def configure_optimizers(self):
            return torch_optimizer(optimizer, self.parameters(), lr)

    module = Module()
    loader = DataLoader(TensorDataset(torch.from_numpy(x), torch.from_numpy(y)), batch_size=batch_size, shuffle=True)
    options = dict(max_epochs=1, accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
                   enable_progress_bar=False, enable_model_summary=False)
    return lambda: pl.Trainer(**options).fit(module, loader)


def torch_tutorial(samples, optimizer, lr, batch_size):
    """The PyTorch tutorial's pipeline: torchvision FashionMNIST + ToTensor + DataLoader."""
    from torch import nn
    from torch.utils.data import DataLoader, Subset
    from torchvision import datasets as tv_datasets
    from torchvision.transforms import ToTensor

    data = tv_datasets.FashionMNIST(root=str(torchvision_root()), train=True, download=False, transform=ToTensor())
    if samples:
        data = Subset(data, range(min(samples, len(data))))
    loader = DataLoader(data, batch_size=batch_size)
    model = torch_mlp()
    opt = torch_optimizer(optimizer, model.parameters(), lr)
    loss_fn = nn.CrossEntropyLoss()

    def epoch():
        model.train()
        for xb, yb in loader:
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            opt.zero_grad()
    return epoch


def torch_gemm_bound(n, batch_size, kernels="dlcore"):
    """Only the MLP step's matrix products: 3 forward, 5 backward (no input gradient).

    kernels="dlcore": the products dlcore's layers compute (oneDNN or nn.Linear's, as chosen
    for this machine, see dlcore.tuning); "torch.mm": nn.Linear's (MKL's sgemm in torch's x86 builds).
    """
    import torch

    from dlcore_torch.linear import onednn_linear

    op = onednn_linear() if kernels == "dlcore" else None
    mm_nt = (lambda a, b: op(a, b, None, "none", [], "")) if op else (lambda a, b: a @ b.t())  # a @ b.T
    sizes = (784, 512, 512, 10)
    ws = [torch.randn(b, a) * 0.01 for a, b in zip(sizes, sizes[1:])]  # nn.Linear's (out, in)
    x = torch.randn(batch_size, sizes[0])
    grads = [torch.randn(batch_size, s) for s in sizes]
    steps = math.ceil(n / batch_size)

    def epoch():
        for _ in range(steps):
            acts = [x]
            for w in ws:
                acts.append(mm_nt(acts[-1], w))
            for i in (2, 1, 0):
                mm_nt(grads[i + 1].t(), acts[i].t())  # weight gradient
                if i:
                    mm_nt(grads[i + 1], ws[i].t())  # input gradient
    return epoch


def torch_native_imdb(emb, ids, splits, labels, optimizer, lr, batch_size):
    import torch
    from torch import nn

    embedding = nn.EmbeddingBag.from_pretrained(torch.from_numpy(emb.vectors), freeze=False, mode="sum")
    head = nn.Sequential(nn.Linear(emb.dim, 16), nn.ReLU(), nn.Linear(16, 1))
    params = list(embedding.parameters()) + list(head.parameters())
    opt = torch_optimizer(optimizer, params, lr)
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


# -------------------------------------------------------------------- tensorflow

def keras_optimizer(name, lr):
    import keras

    return keras.optimizers.Adam(lr) if name == "adam" else keras.optimizers.SGD(lr)


def keras_mlp():
    """The same MLP as a Keras Sequential model."""
    import keras

    return keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(), keras.layers.Dense(512, activation="relu"),
                             keras.layers.Dense(512, activation="relu"), keras.layers.Dense(10)])


def keras_cnn():
    """``dlcore.models.cnn()`` as a Keras Sequential model over (28, 28, 1) images (channels last,
    Keras's default); convolutions without bias (batch norm follows), batch norm with torch's
    momentum and epsilon."""
    import keras

    layers = keras.layers

    def block(filters):
        return [layers.Conv2D(filters, 3, padding="same", use_bias=False),
                layers.BatchNormalization(momentum=0.9, epsilon=1e-5), layers.ReLU(), layers.MaxPooling2D(2)]

    return keras.Sequential([keras.Input((28, 28, 1)), *block(32), *block(64), layers.Flatten(), layers.Dropout(0.25),
                             layers.Dense(128, activation="relu"), layers.Dropout(0.25), layers.Dense(10)])


def tf_epoch(step, n, batch_size):
    """An epoch: a fresh shuffled order, then ``step(order, start)`` per batch."""
    import tensorflow as tf

    def epoch():
        order = tf.random.shuffle(tf.range(n, dtype=tf.int64))
        for start in range(0, n, batch_size):
            step(order, tf.constant(start))
    return epoch


def tf_native(x, y, optimizer, lr, batch_size, model=None):
    """The tf.function step over preloaded tensors, of the MLP (or of the Keras ``model``)."""
    import tensorflow as tf

    model = keras_mlp() if model is None else model
    opt = keras_optimizer(optimizer, lr)
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

    return tf_epoch(step, len(x), batch_size)


def tf_native_cnn(x, y, optimizer, lr, batch_size):
    """The CNN's tf.function step over preloaded NHWC images."""
    return tf_native(x.reshape(len(x), 28, 28, 1), y, optimizer, lr, batch_size, model=keras_cnn())


def has_keras_3() -> bool:
    """Whether Keras 3 is installed (found without importing it: the timings of a worker start
    with its imports)."""
    from importlib import metadata

    try:
        return int(metadata.version("keras").split(".")[0]) >= 3
    except (metadata.PackageNotFoundError, ValueError):
        return False


def keras_fit_cnn(x, y, optimizer, lr, batch_size):
    """Keras 3 ``model.fit`` of the CNN on (N, 28, 28, 1) images, as Keras users feed them."""
    return keras_fit(x.reshape(len(x), 28, 28, 1), y, optimizer, lr, batch_size, model=keras_cnn())


def keras_fit(x, y, optimizer, lr, batch_size, model=None):
    """Keras 3 ``model.fit`` of the same MLP (or of ``model``, taking ``x``) on the in-memory
    arrays, on the backend Keras was imported with ($KERAS_BACKEND: the benchmark sets it to the
    worker's backend)."""
    import keras

    model = keras_mlp() if model is None else model
    model.compile(optimizer=keras_optimizer(optimizer, lr),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    return lambda: model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0, shuffle=True)


def tf_gemm_bound(n, batch_size):
    import tensorflow as tf

    sizes = (784, 512, 512, 10)
    ws = [tf.random.normal((a, b)) * 0.01 for a, b in zip(sizes, sizes[1:])]
    x = tf.random.normal((batch_size, 784))
    dy = tf.random.normal((batch_size, 10))
    steps = math.ceil(n / batch_size)

    @tf.function
    def run(count):
        total = tf.constant(0.0)
        for _ in tf.range(count):
            # depends on the last step, as a step reads the weights the last one wrote: without it
            # the graph loop runs several steps' products at once, which no training can
            xi = x + 1e-30 * total
            h1 = xi @ ws[0]
            h2 = h1 @ ws[1]
            out = h2 @ ws[2]
            g3 = tf.transpose(h2) @ dy
            d2 = dy @ tf.transpose(ws[2])
            g2 = tf.transpose(h1) @ d2
            d1 = d2 @ tf.transpose(ws[1])
            g1 = tf.transpose(xi) @ d1
            total += out[0, 0] + g1[0, 0] + g2[0, 0] + g3[0, 0]
        return total

    return lambda: run(tf.constant(steps)).numpy()


def tf_native_imdb(emb, ids, splits, labels, optimizer, lr, batch_size):
    import keras
    import tensorflow as tf

    table = tf.Variable(emb.vectors)
    head = keras.Sequential([keras.Input((emb.dim,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(1)])
    opt = keras_optimizer(optimizer, lr)
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

    return tf_epoch(step, len(labels), batch_size)


# --------------------------------------------------------------------------- jax

def jax_optimizer(name, lr):
    import optax

    return optax.adam(lr) if name == "adam" else optax.sgd(lr)


def jax_mlp_params(seed=0):
    """The MLP's parameters, torch's initialisation, as jax arrays."""
    import jax.numpy as jnp

    from dlcore import models

    return {k: jnp.asarray(v) for k, v in models.mlp(784, [512, 512], 10).initial_weights(seed).items()}


def jax_native(x, y, optimizer, lr, batch_size):
    """A JAX loop as JAX users write it: one jitted step per batch, optax, index batches gathered
    from arrays on the device, parameters and optimizer state donated."""
    import jax
    import jax.numpy as jnp
    import optax

    params, tx = jax_mlp_params(), jax_optimizer(optimizer, lr)
    state = tx.init(params)
    xd, yd = jnp.asarray(x.reshape(len(x), -1)), jnp.asarray(y)

    def loss_fn(p, xb, yb):
        h = jax.nn.relu(xb @ p["layers.0.weight"].T + p["layers.0.bias"])
        h = jax.nn.relu(h @ p["layers.1.weight"].T + p["layers.1.bias"])
        logits = h @ p["layers.2.weight"].T + p["layers.2.bias"]
        return optax.softmax_cross_entropy_with_integer_labels(logits, yb).mean()

    @functools.partial(jax.jit, donate_argnums=(0, 1))
    def step(p, s, idx):
        loss, grads = jax.value_and_grad(loss_fn)(p, xd[idx], yd[idx])
        updates, s = tx.update(grads, s, p)
        return optax.apply_updates(p, updates), s, loss

    box = {"params": params, "state": state, "key": jax.random.PRNGKey(0)}

    def epoch():
        box["key"], key = jax.random.split(box["key"])
        order = jax.random.permutation(key, len(x))
        for start in range(0, len(x), batch_size):
            box["params"], box["state"], loss = step(box["params"], box["state"], order[start:start + batch_size])
        loss.block_until_ready()
    return epoch


def jax_gemm_bound(n, batch_size):
    import jax
    import jax.numpy as jnp

    sizes = (784, 512, 512, 10)
    keys = jax.random.split(jax.random.PRNGKey(0), 5)
    ws = [jax.random.normal(k, (a, b)) * 0.01 for k, a, b in zip(keys, sizes, sizes[1:])]
    x, dy = jax.random.normal(keys[3], (batch_size, 784)), jax.random.normal(keys[4], (batch_size, 10))
    steps = math.ceil(n / batch_size)

    @jax.jit
    def run(x, dy, ws):  # operands as arguments: XLA must not fold the products into constants
        def body(_, total):
            xi = x + 1e-30 * total  # depends on the last step: XLA must not hoist the products out of the loop
            h1 = xi @ ws[0]
            h2 = h1 @ ws[1]
            out = h2 @ ws[2]
            g3 = h2.T @ dy
            d2 = dy @ ws[2].T
            g2 = h1.T @ d2
            d1 = d2 @ ws[1].T
            g1 = xi.T @ d1
            return total + out[0, 0] + g1[0, 0] + g2[0, 0] + g3[0, 0]
        return jax.lax.fori_loop(0, steps, body, jnp.float32(0))

    return lambda: run(x, dy, ws).block_until_ready()


def jax_native_cnn(x, y, optimizer, lr, batch_size):
    """The CNN as a JAX user writes it: NHWC images and HWIO kernels (XLA's layout), convolutions
    without bias (batch norm follows), batch norm's running statistics carried beside the
    parameters, max pooling by ``lax.reduce_window`` (as flax's ``max_pool``; XLA on the CPU
    differentiates it about 3x slower than the strided slices dlcore's JAX layers use), dropout
    masks from a key folded with the batch's start, one jitted optax step per batch gathering from
    device arrays, donated state. The parameters start at dlcore's initial values (the first
    dense layer's rows in NHWC's flattening order instead of NCHW's: the same distribution)."""
    import jax
    import jax.numpy as jnp
    import optax

    from dlcore import models

    w = {k: jnp.asarray(v) for k, v in models.cnn().initial_weights(0).items()}
    params = {"convs": [{"kernel": w[f"layers.{i}.weight"].transpose(2, 3, 1, 0), "scale": w[f"layers.{i + 1}.weight"],
                         "offset": w[f"layers.{i + 1}.bias"]} for i in (0, 4)],
              "dense": [{"kernel": w[f"layers.{i}.weight"].T, "bias": w[f"layers.{i}.bias"]} for i in (10, 12)]}
    stats = [{"mean": w[f"layers.{i}.running_mean"], "var": w[f"layers.{i}.running_var"]} for i in (1, 5)]
    tx = jax_optimizer(optimizer, lr)
    xd, yd = jnp.asarray(x.reshape(len(x), 28, 28, 1)), jnp.asarray(y)
    rate, momentum, eps = 0.25, 0.1, 1e-5

    def dropout(h, key):
        return jnp.where(jax.random.bernoulli(key, 1 - rate, h.shape), h / (1 - rate), 0.0)

    def loss_fn(p, stats, xb, yb, key):
        h, new_stats = xb, []
        for conv, st in zip(p["convs"], stats):
            h = jax.lax.conv_general_dilated(h, conv["kernel"], (1, 1), "SAME",
                                             dimension_numbers=("NHWC", "HWIO", "NHWC"))
            mean, var = h.mean((0, 1, 2)), h.var((0, 1, 2))
            n = h.size // h.shape[-1]
            new_stats.append({"mean": (1 - momentum) * st["mean"] + momentum * mean,
                              "var": (1 - momentum) * st["var"] + momentum * var * n / (n - 1)})
            h = jax.nn.relu((h - mean) * jax.lax.rsqrt(var + eps) * conv["scale"] + conv["offset"])
            h = jax.lax.reduce_window(h, -jnp.inf, jax.lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")
        first, second = jax.random.split(key)
        h = dropout(h.reshape(h.shape[0], -1), first)
        h = dropout(jax.nn.relu(h @ p["dense"][0]["kernel"] + p["dense"][0]["bias"]), second)
        logits = h @ p["dense"][1]["kernel"] + p["dense"][1]["bias"]
        return optax.softmax_cross_entropy_with_integer_labels(logits, yb).mean(), new_stats

    @functools.partial(jax.jit, donate_argnums=(0, 1, 2))
    def step(p, s, stats, idx, key, start):
        (loss, stats), grads = jax.value_and_grad(loss_fn, has_aux=True)(
            p, stats, xd[idx], yd[idx], jax.random.fold_in(key, start))
        updates, s = tx.update(grads, s, p)
        return optax.apply_updates(p, updates), s, stats, loss

    box = {"params": params, "state": tx.init(params), "stats": stats, "key": jax.random.PRNGKey(0)}

    def epoch():
        box["key"], order_key, dropout_key = jax.random.split(box["key"], 3)
        order = jax.random.permutation(order_key, len(x))
        for start in range(0, len(x), batch_size):
            box["params"], box["state"], box["stats"], loss = step(
                box["params"], box["state"], box["stats"], order[start:start + batch_size], dropout_key, start)
        loss.block_until_ready()
    return epoch


def jax_native_imdb(emb, ids, splits, labels, optimizer, lr, batch_size):
    """The IMDB classifier as a JAX user writes it: each batch's tokens padded (on the host) to a
    power of two, one jitted step per batch."""
    import jax
    import jax.numpy as jnp
    import optax

    from dlcore import models

    params = {k: jnp.asarray(v) for k, v in models.text_classifier(emb).initial_weights(0).items()}
    tx = jax_optimizer(optimizer, lr)
    state = tx.init(params)

    def loss_fn(p, tok, rows, weights, lengths, yb):
        pooled = jax.ops.segment_sum(p["embedding.weight"][tok] * weights[:, None], rows, num_segments=lengths.shape[0])
        h = jax.nn.relu(pooled @ p["layers.0.weight"].T + p["layers.0.bias"])
        logits = (h @ p["layers.1.weight"].T + p["layers.1.bias"])[:, 0]
        return optax.sigmoid_binary_cross_entropy(logits, yb).mean()

    @functools.partial(jax.jit, donate_argnums=(0, 1))
    def step(p, s, tok, rows, weights, lengths, yb):
        loss, grads = jax.value_and_grad(loss_fn)(p, tok, rows, weights, lengths, yb)
        updates, s = tx.update(grads, s, p)
        return optax.apply_updates(p, updates), s, loss

    box = {"params": params, "state": state}
    rng = np.random.default_rng(0)
    y = labels.astype(np.float32)

    def epoch():
        order = rng.permutation(len(labels))
        for start in range(0, len(labels), batch_size):
            idx = order[start:start + batch_size]
            starts, lengths = splits[idx], splits[idx + 1] - splits[idx]
            total = int(lengths.sum())
            size = 1 << max(total - 1, 0).bit_length()
            pos = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(total)
            rows = np.repeat(np.arange(len(idx)), lengths)
            tok, rws, weights = np.zeros(size, np.int32), np.zeros(size, np.int32), np.zeros(size, np.float32)
            tok[:total], rws[:total] = ids[pos], rows
            weights[:total] = (1 / np.sqrt(np.maximum(lengths, 1)))[rows]
            box["params"], box["state"], loss = step(box["params"], box["state"], tok, rws, weights, lengths, y[idx])
        loss.block_until_ready()
    return epoch
