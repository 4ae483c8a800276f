"""The PyTorch backend: tensors preloaded on the device, batches gathered by index, steps in
a plain loop; no per-sample Python."""

from __future__ import annotations

import contextlib
import os
import platform
from importlib import metadata
from typing import Any, Iterator

import numpy as np

from dlcore import tuning
from dlcore.contract import (
    Backend, ConfigError, Device, Model, ModelSpec, Prepared, Span, StepConfig, StepResults, accumulation, check_weights,
)
from dlcore.optimizers import check_state

from .denormals import flushing_denormals
from .framework import import_torch
from .linear import onednn_linear
from .models import warn_final_activation
from .ops import TABLE
from .threads import fitted_threads

torch = import_torch()


class _Tokens:
    """Tokenized texts on the device: flat ids, and row splits (text i is ids[s[i]:s[i+1]])."""

    def __init__(self, ids, splits) -> None:
        self.ids, self.splits = ids, splits

    def batch(self, index):
        """``(ids, offsets, lengths)`` of the texts at ``index``, for nn.EmbeddingBag."""
        starts = self.splits[index]
        lengths = self.splits[index + 1] - starts
        offsets = torch.cumsum(lengths, 0) - lengths
        total = int(lengths.sum())
        positions = torch.repeat_interleave(starts - offsets, lengths, output_size=total)
        positions += torch.arange(total, device=positions.device)
        return self.ids[positions], offsets, lengths


def _weights(weights: np.ndarray | None, where) -> Any:
    return None if weights is None else torch.from_numpy(weights).to(where)


def _tensor(array: np.ndarray):
    """A tensor sharing ``array``'s memory, or of a copy where the array is read-only (a view
    of a DataFrame or a memory map), which torch must not share."""
    return torch.from_numpy(array if array.flags.writeable else array.copy())


@contextlib.contextmanager
def _on_cpu(model: Model, flush_denormals: bool) -> Iterator[None]:
    """For a call on the CPU: torch's threads fitted to the CPUs other processes leave free
    (not in deterministic mode), and for training denormals flushed, as TensorFlow and XLA
    do in their threads."""
    if model.device is None or model.device.kind != "cpu":
        yield
        return
    with contextlib.ExitStack() as stack:
        stack.enter_context(fitted_threads(not torch.are_deterministic_algorithms_enabled()))
        if flush_denormals:
            stack.enter_context(flushing_denormals())
        yield


class TorchBackend(Backend):
    name = "torch"
    steps_per_call = 32
    supports = frozenset({"learning_rates", "clip", "accumulate", "sample_weight", "bf16-mixed", "16-mixed"})

    def __init__(self) -> None:
        self._order: tuple[Any, Any] = (None, None)  # the epoch's order, as numpy and on the device

    # -- facts

    @property
    def ops(self) -> Any:
        """torch's table of :mod:`dlcore.ops` (:mod:`dlcore_torch.ops`)."""
        return TABLE

    def devices(self) -> list[Device]:
        devices = [Device("torch", "cpu", 0, "cpu", platform.processor() or platform.machine())]
        for i in range(torch.cuda.device_count()):
            devices.append(Device("torch", "gpu", i, f"cuda:{i}", torch.cuda.get_device_name(i)))
        if torch.backends.mps.is_available():
            devices.append(Device("torch", "mps", 0, "mps", "Apple Metal"))
        return devices

    def versions(self) -> dict[str, str]:
        versions = {"torch": torch.__version__}
        try:
            versions["torchvision"] = metadata.version("torchvision")
        except metadata.PackageNotFoundError:
            pass
        return versions

    def info(self) -> dict[str, str]:
        """CUDA's version, intra-op threads, and the CPU kernels chosen for this machine."""
        onednn_linear()  # makes the choice, or reads it from the cache
        choice = tuning.chosen().get("torch.linear")
        kernels = str(choice) if choice else "torch.linear=aten (this torch has no oneDNN)"
        return {"CUDA": torch.version.cuda or "none", "threads": str(torch.get_num_threads()), "kernels": kernels}

    def seed(self, seed: int) -> None:
        torch.manual_seed(seed)

    def set_deterministic(self, enabled: bool) -> None:
        """torch.use_deterministic_algorithms, cuDNN's deterministic kernels, and the cuBLAS
        workspace setting that deterministic CUDA matrix products need."""
        if enabled:
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(enabled)
        torch.backends.cudnn.deterministic = enabled
        if enabled:
            torch.backends.cudnn.benchmark = False

    def check_precision(self, precision: str, device: Device) -> None:
        super().check_precision(precision, device)
        if precision == "16-mixed" and device.kind != "gpu":
            raise ConfigError("precision '16-mixed' (float16 with loss scaling) needs a CUDA GPU; "
                              "on the CPU use precision='bf16-mixed'")

    # -- models

    def wrap(self, native: Any, spec: ModelSpec | None = None, loss: str | None = None) -> Model | None:
        if not isinstance(native, torch.nn.Module):
            return None
        if spec is None:
            warn_final_activation(native, loss)
        return Model(self, native, spec, loss)

    def native_model_names(self) -> str:
        return "a torch.nn.Module"

    def place(self, model: Model, device: Device) -> None:
        model.native.to(torch.device(device.name))

    def get_weights(self, model: Model) -> dict[str, np.ndarray]:
        return {k: v.detach().cpu().numpy().copy() for k, v in model.native.state_dict().items()}

    def set_weights(self, model: Model, weights: dict[str, np.ndarray]) -> None:
        state = model.native.state_dict()
        check_weights({k: tuple(v.shape) for k, v in state.items()}, weights)
        with torch.no_grad():
            for name, tensor in state.items():
                tensor.copy_(torch.as_tensor(np.asarray(weights[name])))

    # -- data

    def put(self, features: np.ndarray, labels: np.ndarray, device: Device, weights: np.ndarray | None = None) -> Any:
        where = torch.device(device.name)
        return _tensor(features).to(where), _tensor(labels).to(where), _weights(weights, where)

    def put_tokens(self, ids: np.ndarray, splits: np.ndarray, labels: np.ndarray, device: Device,
                   weights: np.ndarray | None = None) -> Any:
        where = torch.device(device.name)
        tokens = _Tokens(torch.from_numpy(ids).to(where), torch.from_numpy(splits).to(where))
        return tokens, torch.from_numpy(labels).to(where), _weights(weights, where)

    def native_data(self, data: Any, batch_size: int, training: bool, shuffle: bool, seed: int | None) -> Prepared | None:
        from torch.utils.data import DataLoader, Dataset as TorchDataset

        if isinstance(data, DataLoader):
            size = len(data.dataset) if hasattr(data.dataset, "__len__") else None
            return Prepared(data, size, data.batch_size or 1, native=True)
        if isinstance(data, TorchDataset):
            generator = torch.Generator().manual_seed(seed) if seed is not None else None
            loader = DataLoader(data, batch_size=batch_size, shuffle=training and shuffle, generator=generator)
            size = len(data) if hasattr(data, "__len__") else None
            return Prepared(loader, size, batch_size, native=True)
        return None

    def native_data_names(self) -> str:
        return "a torch.utils.data.Dataset or DataLoader"

    def _batches(self, span: Span, net) -> Iterator[tuple[Any, Any, Any]]:
        """Each batch's features, labels and sample weights (None without weights)."""
        data = span.data
        if data.native:
            device = next((p.device for p in net.parameters()), torch.device("cpu"))
            for _, (xb, yb, *_) in zip(range(span.count), span.batches):
                yield xb.to(device, non_blocking=True), yb.to(device, non_blocking=True), None
            return
        x, y, w = data.payload
        index = self._order_on(span.order, y.device)
        if index is None and isinstance(x, _Tokens):
            index = torch.arange(data.num_samples or 0, device=y.device)
        for b in span.batch_numbers:
            if isinstance(x, _Tokens):
                i = index[data.batch_slice(b)]
                yield x.batch(i), y[i], None if w is None else w[i]
            elif index is None:
                part = data.batch_slice(b)
                yield x[part], y[part], None if w is None else w[part]
            else:
                i = index[data.batch_slice(b)]  # index_select: 8 us for 64 images; x[i]: 20 us
                yield x.index_select(0, i), y.index_select(0, i), None if w is None else w.index_select(0, i)

    def _order_on(self, order: np.ndarray | None, device) -> Any:
        """The epoch's order as a tensor on ``device``, converted once per epoch."""
        if order is None:
            return None
        if self._order[0] is not order:
            self._order = (order, torch.from_numpy(order).to(device))
        return self._order[1]

    # -- steps

    def train_steps(self, model: Model, config: StepConfig, span: Span) -> StepResults:
        with _on_cpu(model, flush_denormals=True):
            return self._train_steps(model, config, span)

    def _train_steps(self, model: Model, config: StepConfig, span: Span) -> StepResults:
        net, optimizer = model.native, model.optimizer
        net.train()
        loss_fn, metric_fns, reductions = config.loss_fn, config.metric_fns, config.reductions
        losses, sizes = [], []
        statistics: list[list] = [[] for _ in metric_fns]
        group, batches = config.accumulate, span.data.num_batches or 0
        special = group > 1 or config.clips or config.precision != "32"
        update = self._updater(model, config) if special else None
        rates = span.rates(self.name)
        forward = net if model.parallel is None else model.parallel  # DistributedDataParallel in a group
        for i, (xb, yb, wb) in enumerate(self._batches(span, net)):
            if update is None:  # the plain step, kept lean
                logits = forward(xb)
                loss = loss_fn(logits, yb) if wb is None else loss_fn(logits, yb, weights=wb)
                loss.backward()
                self._set_lr(optimizer, rates[i])
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
            else:
                b = span.first + i
                with update.autocast():
                    logits = forward(xb)
                    loss = loss_fn(logits.float(), yb) if wb is None else loss_fn(logits.float(), yb, weights=wb)
                update.backward(loss)
                ends, count = accumulation(b, group, batches)
                if ends:
                    self._set_lr(optimizer, rates[i])
                    update.step(count)
            losses.append(loss.detach())
            sizes.append(len(yb))
            if metric_fns:
                with torch.no_grad():
                    for values, fn in zip(statistics, metric_fns):
                        values.append(fn(logits.detach().float(), yb))
        return self._results(losses, statistics, reductions, sizes, span)

    @staticmethod
    def _set_lr(optimizer, lr) -> None:
        for group in optimizer.param_groups:
            group["lr"] = float(lr)

    def _updater(self, model: Model, config: StepConfig) -> "_Updater":
        key = ("updater", config)
        if key not in model.cache:
            model.cache[key] = _Updater(model, config)
        return model.cache[key]

    def evaluate_steps(self, model: Model, config: StepConfig, span: Span) -> StepResults:
        with _on_cpu(model, flush_denormals=False):
            return self._evaluate_steps(model, config, span)

    def _evaluate_steps(self, model: Model, config: StepConfig, span: Span) -> StepResults:
        net = model.native
        net.eval()
        loss_fn, metric_fns, reductions = config.loss_fn, config.metric_fns, config.reductions
        losses, sizes = [], []
        statistics: list[list] = [[] for _ in metric_fns]
        with torch.inference_mode(), _autocast(model.device, config.precision):
            for xb, yb, _ in self._batches(span, net):
                logits = net(xb).float()
                losses.append(loss_fn(logits, yb))
                sizes.append(len(yb))
                for values, fn in zip(statistics, metric_fns):
                    values.append(fn(logits, yb))
        return self._results(losses, statistics, reductions, sizes, span)

    @staticmethod
    def _results(losses, statistics, reductions, sizes, span: Span) -> StepResults:
        """The span's losses, and each metric's statistics summed (or rows joined)."""
        if not losses:
            return StepResults(torch.zeros(0), None, [])
        reduced = [torch.cat(values) if how == "concat" else torch.stack(values).sum(0)
                   for values, how in zip(statistics, reductions)]
        return StepResults(torch.stack(losses), reduced, sizes if span.data.native else None)

    def predict_steps(self, model: Model, span: Span) -> Any:
        net = model.native
        net.eval()
        with torch.inference_mode():
            outputs = [net(xb) for xb, _, _ in self._batches(span, net)]
        return torch.cat(outputs) if outputs else torch.zeros(0)

    def to_numpy(self, value: Any) -> np.ndarray:
        return value.detach().cpu().numpy()

    # -- optimizer

    @staticmethod
    def _named_trainable(model: Model) -> list:
        return [(name, p) for name, p in model.native.named_parameters() if p.requires_grad]

    def optimizer_state(self, model: Model) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        arrays = {}
        for name, param in self._named_trainable(model):
            for slot, value in model.optimizer.state.get(param, {}).items():
                if slot != "step" and torch.is_tensor(value):
                    arrays[f"{name}/{slot}"] = value.detach().cpu().numpy().copy()
        return arrays, {"step": getattr(model.optimizer, "updates", 0)}

    def load_optimizer_state(self, model: Model, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        named = self._named_trainable(model)
        step = int(meta.get("step", 0))
        check_state(arrays, {name: tuple(p.shape) for name, p in named}, model.optimizer_name or "",
                    model.optimizer_hyper, step)
        state: dict[int, dict] = {}
        for index, (name, _) in enumerate(named):
            entry: dict[str, Any] = {key.rpartition("/")[2]: torch.from_numpy(np.array(value, np.float32, order="C"))
                                     for key, value in arrays.items() if key.rpartition("/")[0] == name}
            if step and model.optimizer_name != "sgd":  # torch's SGD counts no steps
                entry["step"] = torch.tensor(float(step))
            if entry:
                state[index] = entry
        optimizer = model.optimizer
        optimizer.load_state_dict({"state": state, "param_groups": optimizer.state_dict()["param_groups"]})
        optimizer.updates = step


def _autocast(device: Device | None, precision: str):
    """The autocast context of a mixed precision (nothing for "32")."""
    if precision == "32":
        return contextlib.nullcontext()
    kind = "cuda" if device is not None and device.kind == "gpu" else "cpu"
    return torch.autocast(kind, dtype=torch.bfloat16 if precision == "bf16-mixed" else torch.float16)


class _Updater:
    """Training steps beyond the plain one: accumulation, clipping, mixed precision. Gradients
    add up in ``.grad`` over a group of batches; ``step(k)`` averages the k, unscales (float16),
    clips, and updates."""

    def __init__(self, model: Model, config: StepConfig) -> None:
        self.model, self.config = model, config
        self.params = [p for p in model.native.parameters() if p.requires_grad]
        self.scaler = torch.amp.GradScaler("cuda") if config.precision == "16-mixed" else None

    def autocast(self):
        return _autocast(self.model.device, self.config.precision)

    def backward(self, loss) -> None:
        (self.scaler.scale(loss) if self.scaler is not None else loss).backward()

    def step(self, count: int) -> None:
        optimizer, config = self.model.optimizer, self.config
        grads = [p.grad for p in self.params if p.grad is not None]
        if self.scaler is not None:
            self.scaler.unscale_(optimizer)
        if count > 1:
            torch._foreach_mul_(grads, 1.0 / count)
        if config.clip_value:
            torch.nn.utils.clip_grad_value_(self.params, config.clip_value)
        if config.clip_norm:
            torch.nn.utils.clip_grad_norm_(self.params, config.clip_norm, foreach=True)
        if self.scaler is not None:
            self.scaler.step(optimizer)
            self.scaler.update()
        else:
            optimizer.step()
        optimizer.zero_grad(set_to_none=True)
