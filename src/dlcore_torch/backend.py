"""The PyTorch backend: tensors preloaded on the device, batches gathered by index, steps in
a plain loop; no per-sample Python."""

from __future__ import annotations

import platform
from importlib import metadata
from typing import Any, Iterator

import numpy as np

from dlcore.contract import Backend, Prepared, Span, StepConfig, StepResults
from dlcore.devices import Device
from dlcore.errors import CheckpointError
from dlcore.kernels import kernel, metric
from dlcore.models import Model, ModelSpec, check_weights

from .framework import import_torch

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


class TorchBackend(Backend):
    name = "torch"
    steps_per_call = 32

    def __init__(self) -> None:
        self._order: tuple[Any, Any] = (None, None)  # the epoch's order, as numpy and on the device

    # -- facts

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
        return {"CUDA": torch.version.cuda or "none", "threads": str(torch.get_num_threads())}

    def seed(self, seed: int) -> None:
        torch.manual_seed(seed)

    # -- models

    def wrap(self, native: Any, spec: ModelSpec | None = None, loss: str | None = None) -> Model | None:
        return Model(self.name, native, spec, loss) if isinstance(native, torch.nn.Module) else None

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

    def put(self, features: np.ndarray, labels: np.ndarray, device: Device) -> Any:
        where = torch.device(device.name)
        return torch.from_numpy(features).to(where), torch.from_numpy(labels).to(where)

    def put_tokens(self, ids: np.ndarray, splits: np.ndarray, labels: np.ndarray, device: Device) -> Any:
        where = torch.device(device.name)
        tokens = _Tokens(torch.from_numpy(ids).to(where), torch.from_numpy(splits).to(where))
        return tokens, torch.from_numpy(labels).to(where)

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

    def _batches(self, span: Span, net) -> Iterator[tuple[Any, Any]]:
        data = span.data
        if data.native:
            device = next((p.device for p in net.parameters()), torch.device("cpu"))
            for _, (xb, yb, *_) in zip(range(span.count), span.batches):
                yield xb.to(device, non_blocking=True), yb.to(device, non_blocking=True)
            return
        x, y = data.payload
        n, bs = data.num_samples, data.batch_size
        index = self._order_on(span.order, y.device)
        for b in range(span.first, span.first + span.count):
            start, end = b * bs, min((b + 1) * bs, n)
            if isinstance(x, _Tokens):
                i = index[start:end] if index is not None else torch.arange(start, end, device=y.device)
                yield x.batch(i), y[i]
            elif index is None:
                yield x[start:end], y[start:end]
            else:
                i = index[start:end]
                yield x.index_select(0, i), y.index_select(0, i)  # 8 us for 64 images; x[i]: 20 us

    def _order_on(self, order: np.ndarray | None, device) -> Any:
        """The epoch's order as a tensor on ``device``, converted once per epoch."""
        if order is None:
            return None
        if self._order[0] is not order:
            self._order = (order, torch.from_numpy(order).to(device))
        return self._order[1]

    # -- steps

    def _kernels(self, model: Model, config: StepConfig) -> tuple:
        key = ("kernels", config)
        if key not in model.cache:
            model.cache[key] = (kernel("loss", config.loss, self.name),
                                [kernel("metric", m, self.name) for m in config.metrics],
                                [metric(m).reduction for m in config.metrics])
        return model.cache[key]

    def train_steps(self, model: Model, config: StepConfig, span: Span) -> StepResults:
        net, optimizer = model.native, model.optimizer
        net.train()
        loss_fn, metric_fns, reductions = self._kernels(model, config)
        losses, sizes = [], []
        statistics: list[list] = [[] for _ in metric_fns]
        for xb, yb in self._batches(span, net):
            logits = net(xb)
            loss = loss_fn(logits, yb)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            losses.append(loss.detach())
            sizes.append(len(yb))
            if metric_fns:
                with torch.no_grad():
                    for values, fn in zip(statistics, metric_fns):
                        values.append(fn(logits.detach(), yb))
        return self._results(losses, statistics, reductions, sizes, span)

    def evaluate_steps(self, model: Model, config: StepConfig, span: Span) -> StepResults:
        net = model.native
        net.eval()
        loss_fn, metric_fns, reductions = self._kernels(model, config)
        losses, sizes = [], []
        statistics: list[list] = [[] for _ in metric_fns]
        with torch.inference_mode():
            for xb, yb in self._batches(span, net):
                logits = net(xb)
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
            outputs = [net(xb) for xb, _ in self._batches(span, net)]
        return torch.cat(outputs) if outputs else torch.zeros(0)

    def to_numpy(self, value: Any) -> np.ndarray:
        return value.detach().cpu().numpy()

    # -- optimizer

    def set_learning_rate(self, model: Model, lr: float) -> None:
        for group in model.optimizer.param_groups:
            group["lr"] = lr

    def optimizer_state(self, model: Model) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        state_dict = model.optimizer.state_dict()
        arrays, scalars = {}, {}
        for param, values in state_dict["state"].items():
            for key, value in values.items():
                if torch.is_tensor(value):
                    arrays[f"{param}.{key}"] = value.detach().cpu().numpy()
                else:
                    scalars[f"{param}.{key}"] = value
        return arrays, {"param_groups": state_dict["param_groups"], "scalars": scalars}

    def load_optimizer_state(self, model: Model, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        state: dict[int, dict] = {}
        for name, array in arrays.items():
            param, _, key = name.partition(".")
            state.setdefault(int(param), {})[key] = torch.from_numpy(np.array(array))
        for name, value in meta.get("scalars", {}).items():
            param, _, key = name.partition(".")
            state.setdefault(int(param), {})[key] = value
        try:
            model.optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})
        except (KeyError, ValueError, TypeError, RuntimeError) as err:
            raise CheckpointError(f"the saved optimizer state does not fit this model ({err})") from None
