"""The JAX backend: arrays placed on the device once; each training step compiled with jax.jit,
a span of full batches run in one lax.scan with the parameters and optimizer state donated;
losses and metric statistics stay on the device until the epoch ends."""

from __future__ import annotations

from importlib import metadata
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from dlcore.contract import Backend, Span, StepConfig, StepResults
from dlcore.devices import Device
from dlcore.errors import CheckpointError
from dlcore.kernels import kernel, metric
from dlcore.models import Model, ModelSpec, check_weights

from .models import JaxModel, text_batch


class _Tokens:
    """Tokenized texts kept on the host: each batch is padded there (see models.text_batch)."""

    def __init__(self, ids: np.ndarray, splits: np.ndarray) -> None:
        self.ids, self.splits = ids, splits


class _Compiled:
    """A model's jitted steps for one step configuration."""

    def __init__(self, model: Model, config: StepConfig) -> None:
        apply, bs = model.native.apply, config.batch_size
        transform = model.optimizer.transform if model.optimizer is not None else None  # none: evaluation only
        loss_fn = kernel("loss", config.loss, JaxBackend.name)
        metric_fns = [kernel("metric", m, JaxBackend.name) for m in config.metrics]
        self.joined = [metric(m).reduction == "concat" for m in config.metrics]

        def statistics(logits: Any, y: Any) -> list[Any]:
            return [fn(logits, y) for fn in metric_fns]

        def step(params: Any, state: Any, lr: Any, xb: Any, yb: Any) -> Any:
            def loss_of(p: Any) -> Any:
                logits = apply(p, xb)
                return loss_fn(logits, yb), logits

            (loss, logits), grads = jax.value_and_grad(loss_of, has_aux=True)(params)
            directions, state = transform.update(grads, state, params)
            params = jax.tree_util.tree_map(lambda p, d: p - lr * d, params, directions)
            return params, state, loss, statistics(logits, yb)

        def span(params: Any, state: Any, lr: Any, x: Any, y: Any, order: Any, first: Any, count: int) -> Any:
            def body(carry: Any, i: Any) -> Any:
                index = jax.lax.dynamic_slice(order, ((first + i) * bs,), (bs,))
                params, state, loss, stats = step(*carry, lr, x[index], y[index])
                return (params, state), (loss, stats)

            (params, state), (losses, stats) = jax.lax.scan(body, (params, state), jnp.arange(count))
            return params, state, losses, self.reduce(list(stats))

        def evaluate(params: Any, xb: Any, yb: Any) -> Any:
            logits = apply(params, xb)
            return loss_fn(logits, yb), statistics(logits, yb)

        def reduce(stacked: list[Any]) -> list[Any]:
            """Each metric's statistics of steps stacked on axis 0: summed, or their rows joined."""
            return [s.reshape(-1, *s.shape[2:]) if j else s.sum(0) for s, j in zip(stacked, self.joined)]

        self.reduce = reduce
        self.step = jax.jit(step, donate_argnums=(0, 1))
        self.span = jax.jit(span, static_argnames="count", donate_argnums=(0, 1))
        self.evaluate = jax.jit(evaluate)
        self.forward = jax.jit(apply)


class JaxBackend(Backend):
    name = "jax"
    steps_per_call = 25  # full batches per lax.scan

    def __init__(self) -> None:
        self._devices = [Device("jax", "cpu", 0, "cpu", jax.devices("cpu")[0].device_kind)]
        gpus = [d for d in jax.devices() if d.platform == "gpu"] if jax.default_backend() == "gpu" else []
        self._devices += [Device("jax", "gpu", i, f"gpu:{i}", d.device_kind) for i, d in enumerate(gpus)]
        self._order: tuple[Any, Any] = (None, None)

    # -- facts

    def devices(self) -> list[Device]:
        return list(self._devices)

    def versions(self) -> dict[str, str]:
        return {package: metadata.version(package) for package in ("jax", "jaxlib", "optax")}

    def info(self) -> dict[str, str]:
        return {"default backend": jax.default_backend()}

    @staticmethod
    def _jax_device(device: Device | None) -> Any:
        if device is None or device.kind == "cpu":
            return jax.devices("cpu")[0]
        return [d for d in jax.devices() if d.platform == "gpu"][device.index]

    # -- models

    def wrap(self, native: Any, spec: ModelSpec | None = None, loss: str | None = None) -> Model | None:
        return Model(self.name, native, spec, loss) if isinstance(native, JaxModel) else None

    def native_model_names(self) -> str:
        return "a dlcore_jax.models.JaxModel (parameters and a pure apply function)"

    def place(self, model: Model, device: Device) -> None:
        model.native.params = jax.device_put(model.native.params, self._jax_device(device))

    def get_weights(self, model: Model) -> dict[str, np.ndarray]:
        return {name: np.array(value) for name, value in model.native.params.items()}

    def set_weights(self, model: Model, weights: dict[str, np.ndarray]) -> None:
        params = model.native.params
        check_weights({name: tuple(value.shape) for name, value in params.items()}, weights)
        where = self._jax_device(model.device)
        model.native.params = {name: jax.device_put(np.asarray(weights[name], np.float32), where) for name in params}

    # -- data

    def put(self, features: np.ndarray, labels: np.ndarray, device: Device) -> Any:
        where = self._jax_device(device)
        return jax.device_put(features, where), jax.device_put(labels, where)

    def put_tokens(self, ids: np.ndarray, splits: np.ndarray, labels: np.ndarray, device: Device) -> Any:
        return _Tokens(ids, splits), labels

    # -- steps

    def _compiled(self, model: Model, config: StepConfig) -> _Compiled:
        if config not in model.cache:
            model.cache[config] = _Compiled(model, config)
        compiled: _Compiled = model.cache[config]
        return compiled

    def _order_on(self, span: Span, where: Any) -> Any:
        """The epoch's order (stored order: 0..n-1) on the device, converted once per epoch."""
        order = span.order if span.order is not None else span.data.num_samples
        if self._order[0] is not order:
            values = span.order if span.order is not None else np.arange(span.data.num_samples)
            self._order = (order, jax.device_put(values.astype(np.int32), where))
        return self._order[1]

    def _batch_indices(self, span: Span) -> list[np.ndarray]:
        bs, n = span.data.batch_size, span.data.num_samples or 0
        order = span.order if span.order is not None else np.arange(n)
        return [order[b * bs:(b + 1) * bs] for b in range(span.first, span.first + span.count)]

    def _text_inputs(self, model: Model, tokens: _Tokens, index: np.ndarray) -> Any:
        where = self._jax_device(model.device)
        return tuple(jax.device_put(a, where) for a in text_batch(tokens.ids, tokens.splits, index,
                                                                  model.spec.embedding.combiner))

    def train_steps(self, model: Model, config: StepConfig, span: Span) -> StepResults:
        compiled, native, optimizer = self._compiled(model, config), model.native, model.optimizer
        lr = jnp.float32(optimizer.lr)
        x, y = span.data.payload
        losses, statistics = [], []  # statistics: per call, each metric's reduced statistics
        if isinstance(x, _Tokens):  # texts: one jitted step per batch, padded to a few shapes
            for index in self._batch_indices(span):
                inputs = self._text_inputs(model, x, index)
                native.params, optimizer.state, loss, stats = compiled.step(
                    native.params, optimizer.state, lr, inputs, jax.device_put(y[index], self._jax_device(model.device)))
                losses.append(loss[None])
                statistics.append(compiled.reduce([s[None] for s in stats]))
            return StepResults(jnp.concatenate(losses), self._combine(compiled, statistics))
        bs, n = span.data.batch_size, span.data.num_samples or 0
        full = min(span.count, max(0, n // bs - span.first))
        order = self._order_on(span, self._jax_device(model.device))
        if full:
            native.params, optimizer.state, span_losses, stats = compiled.span(
                native.params, optimizer.state, lr, x, y, order, jnp.int32(span.first), count=full)
            losses.append(span_losses)
            statistics.append(stats)
        if full < span.count:  # the epoch's last, smaller batch
            index = order[(span.first + full) * bs:n]
            native.params, optimizer.state, loss, stats = compiled.step(
                native.params, optimizer.state, lr, x[index], y[index])
            losses.append(loss[None])
            statistics.append(compiled.reduce([s[None] for s in stats]))
        return StepResults(jnp.concatenate(losses), self._combine(compiled, statistics))

    @staticmethod
    def _combine(compiled: _Compiled, parts: list[list[Any]]) -> list[Any]:
        """Each metric's statistics of several calls: added, or their rows joined."""
        return [jnp.concatenate(values) if joined else sum(values[1:], values[0])
                for values, joined in zip(zip(*parts), compiled.joined)] if parts else []

    def _inputs(self, model: Model, span: Span) -> list[tuple[Any, Any]]:
        x, y = span.data.payload
        if isinstance(x, _Tokens):
            where = self._jax_device(model.device)
            return [(self._text_inputs(model, x, index), jax.device_put(y[index], where))
                    for index in self._batch_indices(span)]
        bs, n = span.data.batch_size, span.data.num_samples or 0
        return [(x[b * bs:min((b + 1) * bs, n)], y[b * bs:min((b + 1) * bs, n)])
                for b in range(span.first, span.first + span.count)]

    def evaluate_steps(self, model: Model, config: StepConfig, span: Span) -> StepResults:
        compiled = self._compiled(model, config)
        results = [compiled.evaluate(model.native.params, xb, yb) for xb, yb in self._inputs(model, span)]
        losses = jnp.stack([loss for loss, _ in results])
        return StepResults(losses, self._combine(compiled, [compiled.reduce([s[None] for s in stats])
                                                            for _, stats in results]))

    def predict_steps(self, model: Model, span: Span) -> Any:
        forward = self._compiled(model, StepConfig(model.loss, (), span.data.batch_size)).forward
        return jnp.concatenate([forward(model.native.params, xb) for xb, _ in self._inputs(model, span)])

    def to_numpy(self, value: Any) -> np.ndarray:
        return np.asarray(value)

    # -- optimizer

    def set_learning_rate(self, model: Model, lr: float) -> None:
        model.optimizer.lr = lr

    def optimizer_state(self, model: Model) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        leaves = jax.tree_util.tree_flatten_with_path(model.optimizer.state)[0]
        return {jax.tree_util.keystr(path): np.array(leaf) for path, leaf in leaves}, {"lr": model.optimizer.lr}

    def load_optimizer_state(self, model: Model, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        leaves, structure = jax.tree_util.tree_flatten_with_path(model.optimizer.state)
        names = [jax.tree_util.keystr(path) for path, _ in leaves]
        problems = [name for (name, (_, leaf)) in zip(names, leaves)
                    if name not in arrays or arrays[name].shape != np.shape(leaf)]
        if problems or set(arrays) != set(names):
            raise CheckpointError(f"the saved optimizer state does not fit this model's optimizer "
                                  f"(missing or misshapen: {problems[:5]}; unexpected: {sorted(set(arrays) - set(names))[:5]})")
        where = self._jax_device(model.device)
        values = [jax.device_put(np.asarray(arrays[name]).astype(np.asarray(leaf).dtype), where)
                  for name, (_, leaf) in zip(names, leaves)]
        model.optimizer.state = jax.tree_util.tree_unflatten(structure, values)
