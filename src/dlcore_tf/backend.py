"""The TensorFlow backend: tensors preloaded on the device, and compiled (tf.function) steps
that gather their own batches, many steps per call, keeping losses and metric statistics on
the device."""

from __future__ import annotations

import functools
import platform
from pathlib import Path
from typing import Any

import numpy as np

from dlcore.contract import (
    Backend, Device, Model, ModelSpec, Prepared, Span, StepConfig, StepResults, accumulation, batch_slice, check_weights,
)
from dlcore.io.files import atomic_path
from dlcore.optimizers import check_state

from .framework import import_log, import_tensorflow, quiet_stderr
from .models import canonical, canonical_shape, native, warn_final_activation
from .ops import TABLE
from .written import named_errors

tf = import_tensorflow()
import keras  # noqa: E402

# dlcore's shared batch arithmetic runs inside the compiled steps as it is, on scalar tensors
# (operators only), without autograph rewriting it.
_accumulation = tf.autograph.experimental.do_not_convert(accumulation)
_batch_slice = tf.autograph.experimental.do_not_convert(batch_slice)


def _inputs(x):
    """A ragged batch of token ids becomes (ids, text of each id, lengths); dense passes."""
    if isinstance(x, tf.RaggedTensor):
        return x.flat_values, x.value_rowids(), x.row_lengths()
    return x


def _weights(weights: np.ndarray | None) -> Any:
    return None if weights is None else tf.convert_to_tensor(weights)


def _where(device: Device | None) -> str | None:
    """TensorFlow's name of a dlcore device (None: wherever TensorFlow places it)."""
    if device is None:
        return None
    return f"/{device.name}" if ":" in device.name else f"/{device.name}:0"


def _use_precision(net, precision: str) -> None:
    """Set the Keras layers inside ``net`` to compute in bfloat16 with float32 variables
    ("bf16-mixed"), or back to float32 after that; called while a step is traced, so each
    compiled step keeps its own. The model's own variables (a text model's embedding table)
    stay float32; a model dlcore never switched keeps its own policies."""
    mixed = precision == "bf16-mixed"
    if not mixed and not getattr(net, "_dlcore_mixed", False):
        return
    policy = "mixed_bfloat16" if mixed else "float32"
    for layer in net._flatten_layers(include_self=False) if hasattr(net, "_flatten_layers") else ():
        if layer.dtype_policy.name != policy:
            layer.dtype_policy = policy
    net._dlcore_mixed = mixed


class _Compiled:
    """A model's tf.function steps for one step configuration."""

    def __init__(self, model: Model, config: StepConfig) -> None:
        net, bs = model.native, config.batch_size
        loss_fn, metric_fns = config.loss_fn, config.metric_fns
        joined = [how == "concat" for how in config.reductions]
        variables = net.trainable_variables
        optimizer = model.optimizer
        parallel = model.parallel  # a tf.distribute strategy in a group of workers, else None

        def statistics(logits, y):
            return [fn(logits, y) for fn in metric_fns]

        group, clip = config.accumulate, dict(clip_value=config.clip_value, clip_norm=config.clip_norm)
        if group > 1 and optimizer is not None:
            optimizer.accumulate([tf.zeros_like(v) for v in variables])  # makes the sums, outside any graph

        def call(xb, training):
            _use_precision(net, config.precision)
            return tf.cast(net(_inputs(xb), training=training), tf.float32)

        def train_batch(xb, yb, b, lr, last, wb=None):
            """One batch (number ``b`` of the epoch, whose last is ``last``) at learning rate ``lr``,
            its samples' losses weighted by ``wb`` if given."""
            with tf.GradientTape() as tape:
                logits = call(xb, True)
                loss = loss_fn(logits, yb) if wb is None else loss_fn(logits, yb, weights=wb)
            grads = tape.gradient(loss, variables)
            if parallel is not None:  # the mean over the workers, by collective all-reduce
                grads = tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.MEAN, grads)
            optimizer.learning_rate.assign(lr)
            if group == 1:
                optimizer.apply(grads, **clip)
            else:
                optimizer.accumulate(grads)

                ends, count = _accumulation(b, group, last + 1)

                def update():
                    optimizer.apply_accumulated(count, **clip)
                    return tf.constant(True)

                tf.cond(ends, update, lambda: tf.constant(False))
            return loss, statistics(logits, yb)

        def eval_batch(xb, yb, b=None, lr=None, last=None, wb=None):
            logits = call(xb, False)
            return loss_fn(logits, yb), statistics(logits, yb)

        def steps(step, x, y, w, order, first, count, lrs, last):
            """``count`` (>= 1) steps from batch ``first`` at learning rates ``lrs``: their
            losses, and each metric's statistics summed (or their rows joined). The first step
            runs before the graph loop, so that the sums start with the right shapes."""
            def batch(i):
                b = first + i
                index = order[_batch_slice(b, bs)]  # the slice stops at the epoch's end
                wb = None if w is None else tf.gather(w, index)
                return step(tf.gather(x, index), tf.gather(y, index), b, lrs[i], last, wb)

            summed = [k for k, j in enumerate(joined) if not j]
            kept = [k for k, j in enumerate(joined) if j]
            loss, stats = batch(0)
            losses = tf.TensorArray(tf.float32, size=count).write(0, loss)
            totals = [stats[k] for k in summed]
            rows = [tf.TensorArray(stats[k].dtype, size=count, infer_shape=False).write(0, stats[k]) for k in kept]

            def step_i(i, losses, totals, rows):
                loss, stats = batch(i)
                return (i + 1, losses.write(i, loss), [total + stats[k] for total, k in zip(totals, summed)],
                        [row.write(i, stats[k]) for row, k in zip(rows, kept)])

            start = (tf.constant(1), losses, totals, rows)
            _, losses, totals, rows = tf.while_loop(lambda i, *_: i < count, step_i, start)
            reduced = dict(zip(summed, totals)) | {k: row.concat() for k, row in zip(kept, rows)}
            return losses.stack(), [reduced[k] for k in range(len(joined))]

        def replicated(fn):
            """``fn`` run by the strategy on this worker's replica, one call per batch (in a
            group; an all-reduce may not sit inside a graph loop of the replica's function)."""
            if parallel is None:
                return fn
            local = lambda value: parallel.experimental_local_results(value)[0]  # noqa: E731
            return lambda *a: tf.nest.map_structure(local, parallel.run(fn, args=a))

        # A model built from a dlcore spec is traced as written: rewriting its Python with autograph
        # took about 1 s of the first step. A native Keras model may branch on tensors: autograph.
        # TensorFlow counts the traces of all functions with the same code together, so each
        # model's first traces (the same closures here) added up to its retracing warning after a
        # few trainers in one process; a partial has no code: its traces count on their own.
        def function(fn: Any) -> Any:
            return tf.function(functools.partial(fn), reduce_retracing=True, autograph=model.spec is None)

        self.train_batch = function(replicated(train_batch))
        self.eval_batch = function(eval_batch)
        self.train_steps = function(lambda *a: steps(replicated(train_batch), *a))
        self.eval_steps = function(lambda *a: steps(eval_batch, *a))
        self.forward = function(lambda xb: call(xb, False))


class TFBackend(Backend):
    name = "tensorflow"
    # Training steps run this many at a time inside one tf.function call (a graph loop), which
    # saves the Python-to-graph dispatch of every step; the progress bar moves per call.
    steps_per_call = 25
    supports = frozenset({"learning_rates", "clip", "accumulate", "sample_weight", "bf16-mixed"})

    def __init__(self) -> None:
        self._orders: dict[int, tuple[Any, Any]] = {}
        with quiet_stderr():  # the first look for GPUs writes CUDA's probes to stderr
            gpus = tf.config.list_physical_devices("GPU")
            self._devices = [Device("tensorflow", "cpu", 0, "CPU", platform.processor() or platform.machine())]
            for i, gpu in enumerate(gpus):
                details = tf.config.experimental.get_device_details(gpu)
                self._devices.append(Device("tensorflow", "gpu", i, f"GPU:{i}", details.get("device_name", gpu.name)))

    # -- facts

    @property
    def ops(self) -> Any:
        """TensorFlow's table of :mod:`dlcore.ops`."""
        return TABLE

    def devices(self) -> list[Device]:
        return list(self._devices)

    def versions(self) -> dict[str, str]:
        return {"tensorflow": tf.__version__, "keras": keras.__version__}

    def info(self) -> dict[str, str]:
        held = len(import_log().splitlines())
        return {"eager mode": str(tf.executing_eagerly()), "built with CUDA": str(tf.test.is_built_with_cuda()),
                "start-up log": f"{held} lines held back (TF_CPP_MIN_LOG_LEVEL=0 shows them)" if held else "none"}

    def seed(self, seed: int) -> None:
        """TensorFlow's and Keras' seeds (Keras' initializers and layers draw from its own,
        which also seeds Python's and numpy's global generators, as Keras does)."""
        keras.utils.set_random_seed(seed)

    def set_deterministic(self, enabled: bool) -> None:
        if enabled:
            tf.config.experimental.enable_op_determinism()
        else:  # not exported by TensorFlow, but its counterpart
            from tensorflow.python.framework.config import disable_op_determinism

            disable_op_determinism()

    # -- models

    def build(self, spec: ModelSpec, device: Device, builder: Any) -> Model:
        with tf.device(_where(device)):  # variables live where they are created
            return super().build(spec, device, builder)

    def wrap(self, native: Any, spec: ModelSpec | None = None, loss: str | None = None) -> Model | None:
        if isinstance(native, (keras.Model, tf.keras.Model)) or (isinstance(native, tf.Module) and callable(native)):
            if spec is None:
                warn_final_activation(native, loss)
            return Model(self, native, spec, loss)
        return None

    def native_model_names(self) -> str:
        return "a keras.Model"

    def export_native(self, model: Model, path: Path) -> Path | None:
        """A keras.Model of the user's own to ``.keras``, with ``model.save``."""
        if path.suffix != ".keras" or not isinstance(model.native, keras.Model):
            return None
        with atomic_path(path, suffix=".keras") as tmp:  # Keras writes only to names ending .keras
            model.native.save(tmp)
        return path

    def place(self, model: Model, device: Device) -> None:
        """TensorFlow variables stay where they were created."""

    @staticmethod
    def _entries(model: Model) -> list:
        """(canonical name, variable, layout) for each variable of the model (models.canonical)."""
        if hasattr(model.native, "dlcore_weights"):
            return model.native.dlcore_weights()
        # a user's own model: by position and name, the same in every process that builds it
        # (Keras' paths carry per-process layer numbers: dense_3/kernel)
        return [(f"{i}.{v.name}", v, None) for i, v in enumerate(model.native.weights)]

    def get_weights(self, model: Model) -> dict[str, np.ndarray]:
        return {name: canonical(v.numpy(), layout).copy() for name, v, layout in self._entries(model)}

    def set_weights(self, model: Model, weights: dict[str, np.ndarray]) -> None:
        entries = self._entries(model)
        check_weights({n: canonical_shape(v.shape, layout) for n, v, layout in entries}, weights)
        for name, variable, layout in entries:
            variable.assign(native(np.asarray(weights[name]), layout))

    # -- data

    def put(self, features: np.ndarray, labels: np.ndarray, device: Device, weights: np.ndarray | None = None) -> Any:
        with tf.device(_where(device)):
            return tf.convert_to_tensor(features), tf.convert_to_tensor(labels), _weights(weights)

    def put_tokens(self, ids: np.ndarray, splits: np.ndarray, labels: np.ndarray, device: Device,
                   weights: np.ndarray | None = None) -> Any:
        with tf.device(_where(device)):
            return tf.RaggedTensor.from_row_splits(ids, splits), tf.convert_to_tensor(labels), _weights(weights)

    def native_data(self, data: Any, batch_size: int, training: bool, shuffle: bool, seed: int | None) -> Prepared | None:
        if not isinstance(data, tf.data.Dataset):
            return None
        spec = data.element_spec
        first = spec[0] if isinstance(spec, (tuple, list)) else spec
        if first.shape.rank == 0 or first.shape[0] is not None:  # unbatched elements
            data = data.batch(batch_size)
        return Prepared(data, None, batch_size, native=True)

    def native_data_names(self) -> str:
        return "a tf.data.Dataset of (features, labels)"

    # -- steps

    def _compiled(self, model: Model, config: StepConfig) -> _Compiled:
        if config not in model.cache:
            model.cache[config] = _Compiled(model, config)
        return model.cache[config]

    def _order(self, span: Span) -> Any:
        """The span's sample order as a tensor (stored order: 0..n-1), converted once per epoch."""
        data = span.data
        key = id(data)
        known = self._orders.get(key)
        wanted = span.order if span.order is not None else data.num_samples
        if known is None or known[0] is not wanted:
            order = span.order if span.order is not None else np.arange(data.num_samples)
            self._orders = {key: (wanted, tf.constant(order))}  # on the device _run chose
        return self._orders[key][1]

    def _run(self, model: Model, config: StepConfig, span: Span, training: bool) -> StepResults:
        with tf.device(_where(model.device)), named_errors():
            return self._steps(model, config, span, training)

    def _steps(self, model: Model, config: StepConfig, span: Span, training: bool) -> StepResults:
        compiled = self._compiled(model, config)
        lrs = tf.constant(span.rates(self.name), tf.float32) if training else tf.zeros([span.count])
        last = tf.constant((span.data.num_batches or 0) - 1, tf.int32)
        if span.data.native:
            step = compiled.train_batch if training else compiled.eval_batch
            losses, statistics, sizes = [], [], []
            for i, (xb, yb, *_) in zip(range(span.count), span.batches):
                loss, stats = step(xb, yb, tf.constant(span.first + i), lrs[i], last)
                losses.append(loss)
                statistics.append(stats)
                sizes.append(int(yb.shape[0]))
            if not losses:
                return StepResults(tf.zeros([0]), None, [])
            reduced = [tf.concat(values, 0) if how == "concat" else tf.add_n(list(values))
                       for how, values in zip(config.reductions, zip(*statistics))]
            return StepResults(tf.stack(losses), reduced, sizes)
        x, y, w = span.data.payload
        steps = compiled.train_steps if training else compiled.eval_steps
        losses, stats = steps(x, y, w, self._order(span), tf.constant(span.first), tf.constant(span.count), lrs, last)
        return StepResults(losses, list(stats))

    def train_steps(self, model: Model, config: StepConfig, span: Span) -> StepResults:
        return self._run(model, config, span, training=True)

    def evaluate_steps(self, model: Model, config: StepConfig, span: Span) -> StepResults:
        return self._run(model, config, span, training=False)

    def predict_steps(self, model: Model, span: Span) -> Any:
        forward = self._compiled(model, StepConfig(model.loss, (), span.data.batch_size)).forward
        with tf.device(_where(model.device)), named_errors():
            if span.data.native:
                outputs = [forward(xb) for _, (xb, *_) in zip(range(span.count), span.batches)]
            else:
                x = span.data.payload[0]
                outputs = [forward(x[span.data.batch_slice(b)]) for b in span.batch_numbers]
            return tf.concat(outputs, 0) if outputs else tf.zeros([0])

    def to_numpy(self, value: Any) -> np.ndarray:
        return value.numpy() if hasattr(value, "numpy") else np.asarray(value)

    # -- optimizer

    def _slots(self, model: Model) -> list:
        """(canonical name, layout, slots) of each trainable variable."""
        entries = {id(variable): (name, layout) for name, variable, layout in self._entries(model)}
        optimizer = model.optimizer
        return [(*entries[id(v)], slots) for v, slots in zip(optimizer.targets, optimizer.slots)]

    def optimizer_state(self, model: Model) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        step = int(model.optimizer.iterations.numpy())
        arrays = {}
        if step:
            for name, layout, slots in self._slots(model):
                for slot, variable in slots.items():
                    arrays[f"{name}/{slot}"] = np.ascontiguousarray(canonical(variable.numpy(), layout))
        return arrays, {"step": step}

    def load_optimizer_state(self, model: Model, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        step = int(meta.get("step", 0))
        entries = self._slots(model)
        trainable = {name for name, _, _ in entries}
        shapes = {name: canonical_shape(v.shape, layout) for name, v, layout in self._entries(model)
                  if name in trainable}
        check_state(arrays, shapes, model.optimizer_name or "", model.optimizer_hyper, step)
        model.optimizer.iterations.assign(step)
        for name, layout, slots in entries:
            for slot, variable in slots.items():
                value = arrays.get(f"{name}/{slot}")
                variable.assign(np.zeros(variable.shape, np.float32) if value is None else native(value, layout))
