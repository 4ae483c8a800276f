"""A complete dlcore backend in plain numpy, written against the public contract only.

It trains dlcore's MLP spec (hand-written gradients) and any graph or sequential spec of layers on
:mod:`dlcore.ops` (dlcore's CNN, a user's layers) with no layer code of its own: its ops table
(dlcore_numpy_autodiff) runs each layer's version written on ops and differentiates it. It
trains with cross-entropy (class indices or one-hot) or binary cross-entropy, with any optimizer
that has a rule written on dlcore.ops (its one generic optimizer kernel, "ops"), and reports
accuracy; any other loss or metric written on dlcore.ops runs through that table (a loss's
gradient from its tape). Its kernels: a model is a dict of float32 arrays (the trainable ones; a
graph model keeps its other weights in ``state``); a loss kernel returns ``(mean loss,
gradient of the loss by the logits)``; a metric kernel returns its statistics; an optimizer
kernel returns an object with ``step(weights, grads)``, ``lr`` and ``state()`` /
``load(arrays, meta, name, hyper)`` in the canonical layout.
"""

from __future__ import annotations

import numpy as np

from dlcore import hookimpl, ops
from dlcore.contract import Backend, BackendInfo, Device, Kernel, Model, StepResults, check_weights
from dlcore.optimizers import check_state
from dlcore_numpy_autodiff import TABLE
from dlcore_numpy_sequential import GraphModel, build_layer


class MLPWeights(dict):
    """An MLP's parameters by canonical name, and how to run it."""

    def __init__(self, spec):
        super().__init__((k, np.zeros(v, np.float32)) for k, v in spec.parameter_shapes().items())
        self.activation = spec.activation

    def forward(self, x):
        """Each layer's input, then the logits."""
        acts, layers = [x.reshape(len(x), -1)], len(self) // 2
        for i in range(layers):
            z = acts[-1] @ self[f"layers.{i}.weight"].T + self[f"layers.{i}.bias"]
            acts.append(z if i == layers - 1 else np.maximum(z, 0) if self.activation == "relu" else np.tanh(z))
        return acts

    def run(self, x, training):
        """The logits, and the function from their gradient to the weights' (as SequentialModel's)."""
        acts = self.forward(x)
        return acts[-1], lambda grad: self.gradients(acts, grad)

    def gradients(self, acts, grad):
        grads = {}
        for i in reversed(range(len(acts) - 1)):
            grads[f"layers.{i}.weight"], grads[f"layers.{i}.bias"] = grad.T @ acts[i], grad.sum(0)
            if i:
                grad = grad @ self[f"layers.{i}.weight"]
                grad = grad * (acts[i] > 0) if self.activation == "relu" else grad * (1 - acts[i] ** 2)
        return grads


def cross_entropy(logits, labels):
    shifted = logits - logits.max(1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(1, keepdims=True))
    one_hot = labels if labels.ndim == 2 else np.eye(logits.shape[1], dtype=np.float32)[labels]
    return -(one_hot * log_probs).sum(1).mean(), (np.exp(log_probs) - one_hot) / len(logits)


def binary_cross_entropy(logits, labels):
    z, y = logits.reshape(-1), labels.reshape(-1).astype(np.float32)
    loss = (np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z)))).mean()
    return loss, ((1 / (1 + np.exp(-z)) - y) / len(z)).reshape(logits.shape)


def _errors(logits, labels):
    """Outputs minus regression targets ((N,) targets of one output: (N, 1))."""
    return logits - labels.reshape(logits.shape).astype(np.float32)


def mse(logits, labels):
    d = _errors(logits, labels)
    return (d * d).mean(), 2 * d / d.size


def mae(logits, labels):
    d = _errors(logits, labels)
    return np.abs(d).mean(), np.sign(d) / d.size


def huber(logits, labels):
    d = _errors(logits, labels)
    quadratic = np.minimum(np.abs(d), 1)
    return (0.5 * quadratic ** 2 + np.abs(d) - quadratic).mean(), np.clip(d, -1, 1) / d.size


def loss_and_gradient(loss_fn, logits, labels):
    """The mean loss and its gradient by the logits: this backend's own loss kernels give both;
    a loss written on dlcore.ops (a user's, a plugin's) gives its value, and the autodiff
    table's tape its gradient."""
    result = loss_fn(logits, labels)
    if isinstance(result, tuple):
        return result
    [grad] = TABLE.gradients(lambda outputs: loss_fn(outputs, labels), [logits])
    return float(result), np.asarray(grad.numpy(), logits.dtype)


def regression_sums(logits, labels):
    """Per output: the sums of the targets, of their squares, of the squared errors, of the absolute errors."""
    t, d = labels.reshape(logits.shape).astype(np.float32), _errors(logits, labels)
    return np.stack([t.sum(0), (t * t).sum(0), (d * d).sum(0), np.abs(d).sum(0)])


def accuracy(logits, labels):
    if logits.shape[1] == 1:
        hits = (logits[:, 0] > 0) == (labels.reshape(-1) > 0.5)
    else:
        hits = logits.argmax(1) == (labels.argmax(1) if labels.ndim == 2 else labels)
    return np.array([hits.sum()], np.float32)


class SGD:
    """w -= lr * g: the simplest optimizer a backend's own kernel can be (dlcore's optimizers run
    as their rules, :class:`Rules`)."""

    def __init__(self, lr):
        self.lr, self.t = lr, 0

    def step(self, weights, grads):
        self.t += 1
        for name, grad in grads.items():
            weights[name] -= np.float32(self.lr) * grad

    def state(self):
        """The canonical layout: ``{parameter}/{slot}`` arrays, and the updates made."""
        return {}, {"step": self.t}

    def load(self, arrays, meta, name="sgd", hyper=None):
        check_state(arrays, self.shapes, name, hyper or {}, int(meta.get("step", 0)))
        self.t = int(meta.get("step", 0))


class SignSGD(SGD):
    """w -= lr * sign(g), its state the number of updates alone (for the tests' plugins, which
    register it as their own optimizer)."""

    def step(self, weights, grads):
        self.t += 1
        for name, grad in grads.items():
            weights[name] -= np.float32(self.lr) * np.sign(grad)

    def load(self, arrays, meta, name=None, hyper=None):
        self.t = int(meta.get("step", 0))


class Rules(SGD):
    """Any optimizer's update rule written on dlcore.ops (dlcore's SGD, Adam, ... and a user's
    own), applied with numpy's table; its state ``slots[slot][parameter]``, the canonical layout."""

    def __init__(self, lr, rule, slots, settings):
        self.lr, self.t, self.rule, self.settings = lr, 0, rule, settings
        self.slots = {slot: {} for slot in slots}

    def step(self, weights, grads):
        self.t += 1
        for name, g in grads.items():
            current = {slot: values.get(name, np.zeros_like(g)) for slot, values in self.slots.items()}
            weight, new = self.rule.update(ops, weights[name], g, current, self.lr, self.t, **self.settings)
            weights[name] = np.asarray(weight, np.float32)
            for slot, values in self.slots.items():
                values[name] = np.asarray(new[slot], np.float32)

    def state(self):
        arrays = {f"{name}/{slot}": value for slot, values in self.slots.items() for name, value in values.items()}
        return arrays, {"step": self.t}

    def load(self, arrays, meta, name="", hyper=None):
        super().load(arrays, meta, name, hyper)
        for slot, values in self.slots.items():
            values.clear()
            values.update({k.rpartition("/")[0]: np.asarray(a, np.float32) for k, a in arrays.items()
                           if k.rpartition("/")[2] == slot})


def optimizer(kind, model, *args):
    made = kind(*args)
    made.shapes = {k: v.shape for k, v in model.native.items()}
    return made


def rules_optimizer(model, lr, rule, slots, **settings):
    return optimizer(Rules, model, lr, rule, slots, settings)


class NumpyBackend(Backend):
    name = "numpy"
    steps_per_call = 16

    @property
    def ops(self):
        return TABLE

    def devices(self):
        return [Device("numpy", "cpu", 0, "cpu", "numpy")]

    def versions(self):
        return {"numpy": np.__version__}

    def wrap(self, native, spec=None, loss=None):
        return Model(self, native, spec, loss) if isinstance(native, (MLPWeights, GraphModel)) else None

    def place(self, model, device):
        pass

    def get_weights(self, model):
        return {k: v.copy() for k, v in (*model.native.items(), *getattr(model.native, "state", {}).items())}

    def set_weights(self, model, weights):
        state = getattr(model.native, "state", {})
        check_weights({k: v.shape for k, v in (*model.native.items(), *state.items())}, weights)
        for arrays in (model.native, state):
            for name, value in arrays.items():
                arrays[name] = np.array(weights[name], value.dtype)

    def put(self, features, labels, device):
        return features, labels

    def _batches(self, span):
        x, y = span.data.payload
        for index in span.indices():
            yield x[index], y[index]

    def _steps(self, model, config, span, train):
        loss_fn, metric_fns = config.loss_fn, config.metric_fns
        losses, stats = [], [[] for _ in metric_fns]
        for xb, yb in self._batches(span):
            logits, gradients = model.native.run(xb, train)
            loss, grad = loss_and_gradient(loss_fn, logits, yb)
            if train:
                model.optimizer.step(model.native, gradients(grad))
            losses.append(loss)
            for values, fn in zip(stats, metric_fns):
                values.append(fn(logits, yb))
        return StepResults(np.array(losses), [np.concatenate(values) if how == "concat" else np.sum(values, 0)
                                              for values, how in zip(stats, config.reductions)])

    def train_steps(self, model, config, span):
        return self._steps(model, config, span, train=True)

    def evaluate_steps(self, model, config, span):
        return self._steps(model, config, span, train=False)

    def predict_steps(self, model, span):
        return np.concatenate([model.native.run(xb, False)[0] for xb, _ in self._batches(span)])

    def to_numpy(self, value):
        return np.asarray(value)

    def set_learning_rate(self, model, lr):
        model.optimizer.lr = lr

    def optimizer_state(self, model):
        return model.optimizer.state()

    def load_optimizer_state(self, model, arrays, meta):
        model.optimizer.load(arrays, meta, model.optimizer_name, model.optimizer_hyper)


@hookimpl
def dlcore_backends():
    return [BackendInfo("numpy", NumpyBackend, requires=("numpy",), aliases=("np",), priority=5,
                        description="plain numpy on the CPU")]


@hookimpl
def dlcore_kernels():
    return [Kernel("model", "mlp", "numpy", MLPWeights),
            Kernel("model", "sequential", "numpy", GraphModel),
            Kernel("model", "graph", "numpy", GraphModel),
            Kernel("layer", "ops", "numpy", build_layer),
            Kernel("loss", "cross_entropy", "numpy", cross_entropy),
            Kernel("loss", "binary_cross_entropy", "numpy", binary_cross_entropy),
            Kernel("metric", "accuracy", "numpy", accuracy),
            *(Kernel("loss", loss.__name__, "numpy", loss) for loss in (mse, mae, huber)),
            *(Kernel("metric", name, "numpy", regression_sums) for name in ("mae", "rmse", "r2")),
            Kernel("optimizer", "ops", "numpy", rules_optimizer)]  # every optimizer, as its rule on dlcore.ops
