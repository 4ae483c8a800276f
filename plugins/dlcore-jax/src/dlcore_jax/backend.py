"""The JAX backend: arrays placed on the device once; each training step compiled with jax.jit,
a span of full batches run in one lax.scan with the parameters and optimizer state donated;
losses and metric statistics stay on the device until the epoch ends. In a group of processes
(:mod:`dlcore_jax.strategy`), one batch at a time: its gradients, their mean over the group,
then the update."""

from __future__ import annotations

import os
from importlib import metadata
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from dlcore.contract import (
    Backend, ConfigError, Device, Model, ModelSpec, Span, StepConfig, StepResults, accumulation, check_weights,
)
from dlcore.optimizers import check_state

from .compile_cache import use_compilation_cache
from .models import JaxModel, text_batch
from .ops import TABLE
from .strategy import join


class _Tokens:
    """Tokenized texts kept on the host: each batch is padded there (see models.text_batch)."""

    def __init__(self, ids: np.ndarray, splits: np.ndarray) -> None:
        self.ids, self.splits = ids, splits


class _Compiled:
    """A model's jitted steps for one step configuration."""

    def __init__(self, model: Model, config: StepConfig) -> None:
        apply, bs = model.native.apply, config.batch_size
        optimizer = model.optimizer  # None: evaluation only
        loss_fn, metric_fns = config.loss_fn, config.metric_fns
        self.joined = [how == "concat" for how in config.reductions]
        group, clip_value, clip_norm = config.accumulate, config.clip_value, config.clip_norm
        if optimizer is not None and group > 1 and not optimizer.sums:
            optimizer.sums = {n: jnp.zeros_like(model.native.params[n]) for n in optimizer.trainable}

        held = model.native.state  # entries training changes without gradients (batch norm's statistics, ...)
        modal = bool(held) or model.native.training_mode  # apply takes training=True

        def forward(params: Any, xb: Any, training: bool = False) -> Any:
            """The logits, and the new values of the held entries (training a model with some)."""
            if config.precision == "bf16-mixed":  # the held entries stay float32
                half = lambda a: a.astype(jnp.bfloat16) if jnp.issubdtype(a.dtype, jnp.floating) else a  # noqa: E731
                params = {n: a if n in held else half(a) for n, a in params.items()}
                xb = jax.tree_util.tree_map(half, xb)
            logits, updates = apply(params, xb, training=True) if training and modal else (apply(params, xb), {})
            return (logits.astype(jnp.float32) if config.precision == "bf16-mixed" else logits), updates

        def statistics(logits: Any, y: Any) -> list[Any]:
            return [fn(logits, y) for fn in metric_fns]

        def update(params: Any, state: Any, grads: Any, lr: Any) -> Any:
            """Clip (by value, then by global norm as torch's clip_grad_norm_), then step."""
            if clip_value:
                grads = {n: jnp.clip(g, -clip_value, clip_value) for n, g in grads.items()}
            if clip_norm:
                norm = jnp.sqrt(sum(jnp.sum(g * g) for g in grads.values()))
                scale = jnp.minimum(1.0, clip_norm / (norm + 1e-6))
                grads = {n: g * scale for n, g in grads.items()}
            return optimizer.step(params, state, grads, lr)

        def gradients(params: Any, xb: Any, yb: Any, wb: Any) -> Any:
            """The loss, logits, new held entries and gradients of one batch, its samples' losses
            weighted by ``wb`` unless it is None."""
            def loss_of(weights: Any, rest: Any) -> Any:
                logits, updates = forward({**rest, **weights}, xb, training=True)
                return (loss_fn(logits, yb) if wb is None else loss_fn(logits, yb, weights=wb)), (logits, updates)

            weights = {n: params[n] for n in optimizer.trainable}  # differentiated; the rest is not
            rest = {n: p for n, p in params.items() if n not in weights}
            (loss, (logits, updates)), grads = jax.value_and_grad(loss_of, has_aux=True)(weights, rest)
            return loss, logits, updates, grads

        def advance(params: Any, state: Any, sums: Any, grads: Any, lr: Any, b: Any, last: Any) -> Any:
            """The update of batch number ``b`` of the epoch (whose last is ``last``) at learning
            rate ``lr``; with accumulation, ``grads`` added to the group's sums, whose mean
            updates at the group's end."""
            if group == 1:
                params, state = update(params, state, grads, lr)
            else:
                sums = {n: sums[n] + g for n, g in grads.items()}

                ends, count = accumulation(b, group, last + 1)

                def apply_mean(carry: Any) -> Any:
                    params, state, sums = carry
                    params, state = update(params, state, {n: s / count.astype(jnp.float32) for n, s in sums.items()},
                                           lr)
                    return params, state, {n: jnp.zeros_like(s) for n, s in sums.items()}

                params, state, sums = jax.lax.cond(ends, apply_mean,
                                                   lambda carry: carry, (params, state, sums))
            return params, state, sums

        def step(params: Any, state: Any, sums: Any, lr: Any, xb: Any, yb: Any, wb: Any, b: Any, last: Any) -> Any:
            """Batch number ``b`` of the epoch (whose last is ``last``) at learning rate ``lr``, its
            samples' losses weighted by ``wb`` unless it is None."""
            loss, logits, updates, grads = gradients(params, xb, yb, wb)
            params, state, sums = advance(params, state, sums, grads, lr, b, last)
            return {**params, **updates}, state, sums, loss, statistics(logits, yb)

        # Over a group of processes (model.parallel, a dlcore_jax.strategy.ProcessMean): the
        # gradients and the held float entries (batch norm's statistics) go out as one (1, n)
        # row, whose mean over the group comes back to make the update.
        shared = list(optimizer.trainable) if optimizer is not None else []
        averaged = [n for n in held if jnp.issubdtype(model.native.params[n].dtype, jnp.floating)]

        def local(params: Any, xb: Any, yb: Any, wb: Any) -> Any:
            """This process's part of a step: the row, the held entries not averaged (dropout's
            counter), the loss and the reduced statistics."""
            loss, logits, updates, grads = gradients(params, xb, yb, wb)
            parts = [grads[n] for n in shared] + [updates.get(n, params[n]) for n in averaged]
            row = jnp.concatenate([p.astype(jnp.float32).ravel() for p in parts])[None]
            own = {n: u for n, u in updates.items() if n not in averaged}
            return row, own, loss[None], reduce([s[None] for s in statistics(logits, yb)])

        def local_at(params: Any, x: Any, y: Any, w: Any, order: Any, b: Any) -> Any:
            """``local`` of the full batch number ``b`` of the epoch's ``order``."""
            index = jax.lax.dynamic_slice(order, (b * bs,), (bs,))
            return local(params, x[index], y[index], None if w is None else w[index])

        def finish(params: Any, state: Any, sums: Any, mean: Any, own: Any, lr: Any, b: Any, last: Any) -> Any:
            """The update of batch number ``b`` from the group's ``mean`` row."""
            values, at = {}, 0
            for n in shared + averaged:
                size = params[n].size
                values[n] = mean[at:at + size].reshape(params[n].shape).astype(params[n].dtype)
                at += size
            grads = {n: values[n] for n in shared}
            params, state, sums = advance(params, state, sums, grads, lr, b, last)
            return {**params, **{n: values[n] for n in averaged}, **own}, state, sums

        def span(params: Any, state: Any, sums: Any, lrs: Any, x: Any, y: Any, w: Any, order: Any, first: Any,
                 last: Any, count: int) -> Any:
            def body(carry: Any, inputs: Any) -> Any:
                i, lr = inputs
                index = jax.lax.dynamic_slice(order, ((first + i) * bs,), (bs,))
                wb = None if w is None else w[index]
                params, state, sums, loss, stats = step(*carry, lr, x[index], y[index], wb, first + i, last)
                return (params, state, sums), (loss, stats)

            (params, state, sums), (losses, stats) = jax.lax.scan(body, (params, state, sums),
                                                                  (jnp.arange(count), lrs))
            return params, state, sums, losses, self.reduce(list(stats))

        def evaluate(params: Any, xb: Any, yb: Any) -> Any:
            logits, _ = forward(params, xb)
            return loss_fn(logits, yb), statistics(logits, yb)

        def reduce(stacked: list[Any]) -> list[Any]:
            """Each metric's statistics of steps stacked on axis 0: summed, or their rows joined."""
            return [s.reshape(-1, *s.shape[2:]) if j else s.sum(0) for s, j in zip(stacked, self.joined)]

        self.reduce = reduce
        self.step = jax.jit(step, donate_argnums=(0, 1, 2))
        self.local, self.local_at = jax.jit(local), jax.jit(local_at)
        self.finish = jax.jit(finish, donate_argnums=(0, 1, 2))
        self.span = jax.jit(span, static_argnames="count", donate_argnums=(0, 1, 2))
        self.evaluate = jax.jit(evaluate)
        self.forward = jax.jit(apply)


class JaxBackend(Backend):
    name = "jax"
    steps_per_call = 25  # full batches per lax.scan
    supports = frozenset({"learning_rates", "clip", "accumulate", "sample_weight", "bf16-mixed"})

    def __init__(self) -> None:
        join()  # a process of a group (dlcore_jax.strategy's variables) joins it before JAX starts
        self.compilation_cache = use_compilation_cache()
        self._devices = [Device("jax", "cpu", 0, "cpu", jax.local_devices(backend="cpu")[0].device_kind)]
        gpus = [d for d in jax.local_devices() if d.platform == "gpu"] if jax.default_backend() == "gpu" else []
        self._devices += [Device("jax", "gpu", i, f"gpu:{i}", d.device_kind) for i, d in enumerate(gpus)]
        self._order: tuple[Any, Any] = (None, None)

    # -- facts

    @property
    def ops(self) -> Any:
        """JAX's table of dlcore.ops (:mod:`dlcore_jax.ops`)."""
        return TABLE

    def devices(self) -> list[Device]:
        return list(self._devices)

    def versions(self) -> dict[str, str]:
        return {package: metadata.version(package) for package in ("jax", "jaxlib", "optax")}

    def set_deterministic(self, enabled: bool) -> None:
        """XLA on the CPU is deterministic; on a GPU it needs XLA_FLAGS set before JAX starts."""
        flag = "--xla_gpu_deterministic_ops=true"
        if enabled and jax.default_backend() == "gpu" and flag not in os.environ.get("XLA_FLAGS", ""):
            raise ConfigError(f"deterministic JAX on a GPU needs XLA_FLAGS={flag} in the environment before "
                              "the process starts")

    def info(self) -> dict[str, str]:
        return {"default backend": jax.default_backend()}

    @staticmethod
    def _jax_device(device: Device | None) -> Any:
        if device is None or device.kind == "cpu":  # this process's own (a group's jax.devices() are all of theirs)
            return jax.local_devices(backend="cpu")[0]
        return [d for d in jax.local_devices() if d.platform == "gpu"][device.index]

    # -- models

    def wrap(self, native: Any, spec: ModelSpec | None = None, loss: str | None = None) -> Model | None:
        return Model(self, native, spec, loss) if isinstance(native, JaxModel) else None

    def native_model_names(self) -> str:
        return "a dlcore_jax.models.JaxModel (parameters and a pure apply function)"

    def place(self, model: Model, device: Device) -> None:
        model.native.params = jax.device_put(model.native.params, self._jax_device(device))

    def get_weights(self, model: Model) -> dict[str, np.ndarray]:
        """Canonical dtypes: float32, and int64 for integers (held as JAX's int32)."""
        weights = {name: np.array(value) for name, value in model.native.params.items()}
        return {name: w.astype(np.int64) if w.dtype.kind in "iu" else w for name, w in weights.items()}

    def set_weights(self, model: Model, weights: dict[str, np.ndarray]) -> None:
        params = model.native.params
        check_weights({name: tuple(value.shape) for name, value in params.items()}, weights)
        where = self._jax_device(model.device)
        model.native.params = {name: jax.device_put(np.asarray(weights[name], value.dtype), where)
                               for name, value in params.items()}

    # -- data

    def put(self, features: np.ndarray, labels: np.ndarray, device: Device, weights: np.ndarray | None = None) -> Any:
        where = self._jax_device(device)
        return (jax.device_put(features, where), jax.device_put(labels, where),
                None if weights is None else jax.device_put(weights, where))

    def put_tokens(self, ids: np.ndarray, splits: np.ndarray, labels: np.ndarray, device: Device,
                   weights: np.ndarray | None = None) -> Any:
        return _Tokens(ids, splits), labels, weights

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

    def _text_inputs(self, model: Model, tokens: _Tokens, index: np.ndarray) -> Any:
        where = self._jax_device(model.device)
        return tuple(jax.device_put(a, where) for a in text_batch(tokens.ids, tokens.splits, index,
                                                                  model.spec.embedding.combiner))

    def train_steps(self, model: Model, config: StepConfig, span: Span) -> StepResults:
        compiled, native, optimizer = self._compiled(model, config), model.native, model.optimizer
        where = self._jax_device(model.device)
        rates = span.rates(self.name).astype(np.float32)
        if model.parallel is not None:
            return self._group_steps(model, compiled, span, rates)
        last = jnp.int32((span.data.num_batches or 0) - 1)
        x, y, w = span.data.payload
        losses, statistics = [], []  # statistics: per call, each metric's reduced statistics

        def one(i: int, inputs: Any, labels: Any, weights: Any) -> None:
            native.params, optimizer.state, optimizer.sums, loss, stats = compiled.step(
                native.params, optimizer.state, optimizer.sums, rates[i], inputs, labels, weights,
                jnp.int32(span.first + i), last)
            losses.append(loss[None])
            statistics.append(compiled.reduce([s[None] for s in stats]))

        if isinstance(x, _Tokens):  # texts: one jitted step per batch, padded to a few shapes
            for i, index in enumerate(span.indices()):
                one(i, self._text_inputs(model, x, index), jax.device_put(y[index], where),
                    None if w is None else jax.device_put(w[index], where))
            return StepResults(jnp.concatenate(losses), self._combine(compiled, statistics))
        bs, n = span.data.batch_size, span.data.num_samples or 0
        full = min(span.count, max(0, n // bs - span.first))  # full batches, run in one lax.scan
        if not native.scan and where.platform == "cpu":  # XLA on the CPU convolves slowly inside loops
            full = 0
        order = self._order_on(span, where)
        if full:
            native.params, optimizer.state, optimizer.sums, span_losses, stats = compiled.span(
                native.params, optimizer.state, optimizer.sums, rates[:full], x, y, w, order, jnp.int32(span.first),
                last, count=full)
            losses.append(span_losses)
            statistics.append(stats)
        for i in range(full, span.count):  # the others: one jitted step each
            index = order[span.data.batch_slice(span.first + i)]
            one(i, x[index], y[index], None if w is None else w[index])
        return StepResults(jnp.concatenate(losses), self._combine(compiled, statistics))

    def _group_steps(self, model: Model, compiled: _Compiled, span: Span, rates: np.ndarray) -> StepResults:
        """train_steps over a group of processes (``model.parallel``, a strategy.ProcessMean),
        one batch at a time: its gradients here, their mean over the group, then the update."""
        native, optimizer, mean = model.native, model.optimizer, model.parallel
        where = self._jax_device(model.device)
        x, y, w = span.data.payload
        bs, n, last = span.data.batch_size, span.data.num_samples or 0, np.int32((span.data.num_batches or 0) - 1)
        tokens = isinstance(x, _Tokens)
        indices = span.indices() if tokens else None
        order = None if tokens else self._order_on(span, where)
        losses, statistics = [], []
        for i, b in enumerate(span.batch_numbers):
            if indices is not None:  # texts, padded on the host
                index = indices[i]
                local = compiled.local(native.params, self._text_inputs(model, x, index),
                                       jax.device_put(y[index], where),
                                       None if w is None else jax.device_put(w[index], where))
            elif (b + 1) * bs <= n:  # a full batch, taken from the epoch's order in the step
                local = compiled.local_at(native.params, x, y, w, order, np.int32(b))
            else:
                index = order[span.data.batch_slice(b)]
                local = compiled.local(native.params, x[index], y[index], None if w is None else w[index])
            row, own, loss, stats = local
            native.params, optimizer.state, optimizer.sums = compiled.finish(
                native.params, optimizer.state, optimizer.sums, mean(row), own, rates[i], np.int32(b), last)
            losses.append(loss)
            statistics.append(stats)
        return StepResults(jnp.concatenate(losses), self._combine(compiled, statistics))

    @staticmethod
    def _combine(compiled: _Compiled, parts: list[list[Any]]) -> list[Any]:
        """Each metric's statistics of several calls: added, or their rows joined."""
        return [jnp.concatenate(values) if joined else sum(values[1:], values[0])
                for values, joined in zip(zip(*parts), compiled.joined)] if parts else []

    def _inputs(self, model: Model, span: Span) -> list[tuple[Any, Any]]:
        x, y, _ = span.data.payload
        if isinstance(x, _Tokens):
            where = self._jax_device(model.device)
            return [(self._text_inputs(model, x, index), jax.device_put(y[index], where))
                    for index in span.indices()]
        return [(x[span.data.batch_slice(b)], y[span.data.batch_slice(b)]) for b in span.batch_numbers]

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

    def optimizer_state(self, model: Model) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        state = model.optimizer.state
        step = int(state["count"])
        arrays = {f"{name}/{slot}": np.array(value) for slot, tree in state.items() if slot != "count"
                  for name, value in tree.items()} if step else {}
        return arrays, {"step": step}

    def load_optimizer_state(self, model: Model, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        optimizer, params = model.optimizer, model.native.params
        step = int(meta.get("step", 0))
        check_state(arrays, {n: tuple(params[n].shape) for n in optimizer.trainable}, model.optimizer_name or "",
                    model.optimizer_hyper, step)
        where = self._jax_device(model.device)
        state: dict[str, Any] = {"count": jax.device_put(np.int32(step), where)}
        for slot, tree in optimizer.state.items():
            if slot != "count":
                state[slot] = {n: jax.device_put(np.asarray(arrays.get(f"{n}/{slot}", np.zeros(v.shape)), np.float32),
                                                 where) for n, v in tree.items()}
        optimizer.state = state
