"""Start-up against the framework's own floor: ``startup(backends, runs)`` prints its rows and
returns its target lines (``python -m benchmarks`` and ``python -m benchmarks.startup`` run it).

- Time to the first training step: per backend, pairs of new processes in turn, one training a
  batch of 64 random images through dlcore's Trainer (``models.mlp(784, [512, 512], 10)``, Adam),
  one doing the same step with the framework alone (FLOORS: torch.nn and torch.optim; Keras
  layers, a GradientTape and a Keras optimizer; a jitted optax step). Each is timed from just
  before its process starts to the end of its step, interpreter start-up included. An untimed
  dlcore run first warms dlcore's cache (as from a user's second run on) and the page cache.
- The CLI's first line: ``python -m dlcore train fashion-mnist`` from its start to the first line
  it writes on stdout or stderr (TensorFlow's C++ log lines aside); then it is stopped. Python's
  output is line-buffered there (PYTHONUNBUFFERED), as in a terminal.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

DATA = """
import json, time
import numpy as np
rng = np.random.default_rng(0)
x, y = rng.random((64, 784), dtype=np.float32), rng.integers(0, 10, 64)
"""
DLCORE = r"""
import json, sys, time
begin = time.time()
from dlcore import Callback, Trainer, get_backend, models
imported = time.time()
get_backend(sys.argv[1])
framework = time.time()
import numpy as np
rng = np.random.default_rng(0)
x, y = rng.random((64, 784), dtype=np.float32), rng.integers(0, 10, 64)
class FirstStep(Callback):
    def on_train_batch_end(self, trainer, model, batch, logs):
        trainer.stop_training = True
Trainer(sys.argv[1], epochs=1, batch_size=64, optimizer="adam", lr=1e-3, device="cpu", progress=False).fit(
    models.mlp(784, [512, 512], 10), (x, y), callbacks=[FirstStep()])
at = time.time()
print(json.dumps({"begin": begin, "import dlcore": imported - begin, "import the framework": framework - imported,
                  "first step": at - framework, "at": at}), flush=True)
"""
FLOORS = {"torch": DATA + r"""
import torch
from torch import nn
model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
nn.functional.cross_entropy(model(torch.from_numpy(x)), torch.from_numpy(y)).backward()
opt.step()
print(json.dumps({"at": time.time()}), flush=True)
""", "tensorflow": DATA + r"""
import tensorflow as tf
keras = tf.keras
model = keras.Sequential([keras.layers.Dense(512, activation="relu"), keras.layers.Dense(512, activation="relu"),
                          keras.layers.Dense(10)])
opt = keras.optimizers.Adam(1e-3)
with tf.GradientTape() as tape:
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(y, model(x, training=True)))
opt.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
float(loss)
print(json.dumps({"at": time.time()}), flush=True)
""", "jax": DATA + r"""
import jax
import jax.numpy as jnp
import optax
sizes = (784, 512, 512, 10)
params = [(jnp.asarray(rng.normal(0, n ** -0.5, (n, m)), jnp.float32), jnp.zeros(m)) for n, m in zip(sizes, sizes[1:])]
tx = optax.adam(1e-3)
def loss_fn(params, h, y):
    for w, b in params[:-1]:
        h = jax.nn.relu(h @ w + b)
    w, b = params[-1]
    return optax.softmax_cross_entropy_with_integer_labels(h @ w + b, y).mean()
@jax.jit
def step(params, state, x, y):
    loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
    updates, state = tx.update(grads, state, params)
    return optax.apply_updates(params, updates), state, loss
params, state, loss = step(params, tx.init(params), x, y)
loss.block_until_ready()
print(json.dumps({"at": time.time()}), flush=True)
"""}
TF_LOGS = ("W0000", "I0000", "E0000", "WARNING: All log messages")  # TensorFlow's C++ logging, not dlcore's


def first_step(script: str, backend: str) -> dict[str, float]:
    """Seconds from just before a new process running ``script`` starts to the end of its step
    ("total"), and the phases it reports (dlcore's; "start-up": until its first line runs). The
    process is stopped once it has written them: its exit is not waited for."""
    with tempfile.TemporaryFile("w+") as errors:
        start = time.time()
        proc = subprocess.Popen([sys.executable, "-c", script, backend], stdout=subprocess.PIPE, stderr=errors,
                                text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "KERAS_BACKEND": backend})
        line = proc.stdout.readline()
        proc.kill()
        proc.communicate()
        if not line:
            errors.seek(0)
            raise SystemExit(f"first step on {backend} failed:\n{errors.read()[-3000:]}")
    phases = json.loads(line)
    at = phases.pop("at")
    if "begin" in phases:  # dlcore's
        phases = {"start-up": phases.pop("begin") - start, **phases}
    return {**phases, "total": at - start}


def cli_first_line(backend: str) -> tuple[float, str]:
    """Seconds from starting ``dlcore train`` on Fashion-MNIST to its first line, and the line."""
    with tempfile.TemporaryDirectory(prefix="dlcore-cli-") as runs:
        start = time.time()
        proc = subprocess.Popen([sys.executable, "-m", "dlcore", "train", "fashion-mnist", "--backend", backend,
                                 "--epochs", "1", "--no-plots", "--run-dir", runs], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        watchdog = threading.Timer(300, proc.kill)
        watchdog.start()
        try:
            line = next((line for line in proc.stdout if not line.startswith(TF_LOGS)), None)
            seconds = time.time() - start
        finally:
            watchdog.cancel()
            proc.kill()
            proc.wait()
            proc.stdout.close()
    if line is None:
        raise SystemExit(f"dlcore train on {backend} wrote nothing (exit status {proc.returncode})")
    return seconds, line.rstrip()


def _target(label: str, value: float, low: float, high: float, count: str, target: float, sign: str = "") -> str:
    text = f"{label}: {value:{sign}.2f} s (spread {low:{sign}.2f} to {high:{sign}.2f}, {count}; target <= {target}"
    return text + ("; THE SPREAD OVERLAPS THE TARGET)" if low <= target <= high else ")")


def startup(backends: list[str], runs: int) -> list[str]:
    """Per backend, a warm-up, ``runs`` pairs of first steps (dlcore, floor, dlcore, ...) and
    ``runs`` CLI starts; prints a row for each and returns the target lines."""
    targets = []
    for backend in backends:
        warm_up = first_step(DLCORE, backend)["total"]
        pairs = [(first_step(DLCORE, backend), first_step(FLOORS[backend], backend)) for _ in range(runs)]
        ours, floor = ([pair[i]["total"] for pair in pairs] for i in (0, 1))
        phases = ", ".join(f"{name} {statistics.median(p[0][name] for p in pairs):.2f}" for name in pairs[0][0]
                           if name != "total")
        print(f"{backend:<11} first step in a new process: dlcore {statistics.median(ours):.2f} s ({min(ours):.2f} - "
              f"{max(ours):.2f}), floor {statistics.median(floor):.2f} s ({min(floor):.2f} - {max(floor):.2f}), "
              f"{runs} pairs after a warm-up run of {warm_up:.2f} s; dlcore's phases: {phases}", flush=True)
        targets.append(_target(f"time to first step, dlcore - floor, {backend}",
                               statistics.median(ours) - statistics.median(floor), min(ours) - max(floor),
                               max(ours) - min(floor), f"{runs} pairs", 0.5, sign="+"))
        lines = [cli_first_line(backend) for _ in range(runs)]
        seconds = [s for s, _ in lines]
        print(f"{backend:<11} CLI's first line after {statistics.median(seconds):.2f} s ({min(seconds):.2f} - "
              f"{max(seconds):.2f}, {runs} runs): {lines[0][1][:80]!r}", flush=True)
        targets.append(_target(f"CLI's first line, {backend}", statistics.median(seconds), min(seconds), max(seconds),
                               f"{runs} runs", 0.3))
    return targets
