"""The PyTorch Trainer: preloaded tensors on the device, index batches, no per-sample Python."""

from __future__ import annotations

from typing import Any, Iterator

import numpy as np

from dlcore.errors import CheckpointError
from dlcore.frameworks import import_torch
from dlcore.models import Model, ModelSpec
from dlcore.progress import Reporter
from dlcore.trainer import PerModel, Prepared, Trainer

from .model import MLPModule, TorchModel, build_module

torch = import_torch()
F = torch.nn.functional


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


class TorchTrainer(Trainer):
    backend_name = "torch"

    def _setup(self) -> None:
        self._device = torch.device(self.device.name)
        self._optimizers = PerModel()
        if self.seed is not None:
            torch.manual_seed(self.seed)

    # -- models

    def _build_spec(self, spec: ModelSpec) -> Model:
        return TorchModel(build_module(spec).to(self._device), spec)

    def _wrap_native(self, obj: Any) -> Model | None:
        if isinstance(obj, torch.nn.Module):
            return TorchModel(obj, loss=self.loss or "cross_entropy")
        return None

    def _native_model_names(self) -> str:
        return "a torch.nn.Module"

    def _place(self, model: Model) -> None:
        model.native.to(self._device)

    def _optimizer(self, model: Model):
        def make():
            params = [p for p in model.native.parameters() if p.requires_grad]
            kind = torch.optim.Adam if self.optimizer == "adam" else torch.optim.SGD
            try:  # the fused kernels: the same algorithm, one kernel for all parameters (Adam -20%)
                return kind(params, lr=self.lr, fused=True)
            except (RuntimeError, ValueError):  # a device or dtype without fused kernels
                return kind(params, lr=self.lr)
        return self._optimizers.get(model, make)

    def _optimizer_state(self, model: Model):
        optimizer = self._optimizers.get(model)
        if optimizer is None:
            return None
        state_dict = optimizer.state_dict()
        arrays, scalars = {}, {}
        for param, values in state_dict["state"].items():
            for key, value in values.items():
                if torch.is_tensor(value):
                    arrays[f"{param}.{key}"] = value.detach().cpu().numpy()
                else:
                    scalars[f"{param}.{key}"] = value
        return arrays, {"param_groups": state_dict["param_groups"], "scalars": scalars}

    def _load_optimizer_state(self, model: Model, arrays, meta) -> None:
        state: dict[int, dict] = {}
        for name, array in arrays.items():
            param, _, key = name.partition(".")
            state.setdefault(int(param), {})[key] = torch.from_numpy(np.array(array))
        for name, value in meta.get("scalars", {}).items():
            param, _, key = name.partition(".")
            state.setdefault(int(param), {})[key] = value
        optimizer = self._optimizer(model)
        try:
            optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})
        except (KeyError, ValueError, TypeError, RuntimeError) as err:
            raise CheckpointError(f"the saved optimizer state does not fit this model ({err})") from None
        for group in optimizer.param_groups:
            group["lr"] = self.lr  # this trainer's learning rate applies from here on

    # -- data

    def _native_data_names(self) -> str:
        return "a torch.utils.data.Dataset or DataLoader"

    def _prepare_arrays(self, features: np.ndarray, labels: np.ndarray) -> Any:
        return torch.from_numpy(features).to(self._device), torch.from_numpy(labels).to(self._device)

    def _prepare_tokens(self, ids: np.ndarray, splits: np.ndarray, labels: np.ndarray) -> Any:
        tokens = _Tokens(torch.from_numpy(ids).to(self._device), torch.from_numpy(splits).to(self._device))
        return tokens, torch.from_numpy(labels).to(self._device)

    def _prepare_native(self, data: Any, training: bool) -> Prepared | None:
        from torch.utils.data import DataLoader, Dataset as TorchDataset

        if isinstance(data, DataLoader):
            size = len(data.dataset) if hasattr(data.dataset, "__len__") else None
            return Prepared(data, size, data.batch_size or 1, native=True)
        if isinstance(data, TorchDataset):
            generator = torch.Generator().manual_seed(self.seed) if self.seed is not None else None
            batch = self.batch_size if training else self.eval_batch_size
            loader = DataLoader(data, batch_size=batch, shuffle=training and self.shuffle, generator=generator)
            size = len(data) if hasattr(data, "__len__") else None
            return Prepared(loader, size, batch, native=True)
        return None

    def _batches(self, data: Prepared, order: np.ndarray | None = None) -> Iterator:
        if data.native:
            for xb, yb, *_ in data.payload:
                yield xb.to(self._device, non_blocking=True), yb.to(self._device, non_blocking=True)
            return
        x, y = data.payload
        n, bs = data.num_samples, data.batch_size
        if isinstance(x, _Tokens):
            index = torch.arange(n, device=self._device) if order is None else torch.from_numpy(order).to(self._device)
            for start in range(0, n, bs):
                i = index[start:start + bs]
                yield x.batch(i), y[i]
        elif order is None:
            for start in range(0, n, bs):
                yield x[start:start + bs], y[start:start + bs]
        else:
            index = torch.from_numpy(order).to(self._device)
            for start in range(0, n, bs):
                i = index[start:start + bs]
                yield x.index_select(0, i), y.index_select(0, i)  # 8 us for 64 images; x[i]: 20 us

    # -- loops

    def _loss_fn(self, model: Model):
        if self.loss_of(model) == "binary_cross_entropy":
            return lambda logits, y: F.binary_cross_entropy_with_logits(logits.reshape(-1), y.reshape(-1).to(logits.dtype))
        return F.cross_entropy

    def _class_fns(self, model: Model):
        """(predicted, true): logits -> predicted classes (written into ``out`` if given), and
        labels -> true classes; class indices, or booleans for a binary model."""
        if self.loss_of(model) == "binary_cross_entropy":
            return (lambda logits, out=None: torch.gt(logits.detach().reshape(-1), 0, out=out),
                    lambda y: y.reshape(-1) > 0.5)
        return (lambda logits, out=None: torch.argmax(logits.detach(), 1, out=out),
                lambda y: y.argmax(1) if y.ndim == 2 else y)

    def _train_epoch(self, model: Model, data: Prepared, order: np.ndarray | None, reporter: Reporter) -> tuple[float, float]:
        net = model.native
        net.train()
        optimizer = self._optimizer(model)
        loss_fn, (predicted, true) = self._loss_fn(model), self._class_fns(model)
        binary = self.loss_of(model) == "binary_cross_entropy"
        # Per step only what must be: the loss kept on the device, the predicted class written
        # into a preallocated vector; both are compared and summed once, after the epoch.
        losses, sizes = [], []
        predictions = None if data.native else torch.empty(
            data.num_samples, dtype=torch.bool if binary else torch.long, device=self._device)
        correct = torch.zeros((), dtype=torch.long, device=self._device)
        seen = 0
        # dlcore's MLP computes its own gradients where it can (MLPModule.train_step).
        fast_step = net.train_step if isinstance(net, MLPModule) and not binary else lambda x, y: None
        for batch, (xb, yb) in enumerate(self._batches(data, order)):
            result = fast_step(xb, yb)
            if result is None:
                logits = net(xb)
                loss = loss_fn(logits, yb)
                loss.backward()
            else:
                loss, logits = result
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            losses.append(loss.detach())
            size = len(yb)
            sizes.append(size)
            if predictions is None:
                correct += (predicted(logits) == true(yb)).sum()
            else:
                predicted(logits, out=predictions[seen:seen + size])
            seen += size
            if reporter.wants_loss(batch):
                reporter.log_loss(loss.item(), seen)
            reporter.advance()
        if not losses:
            return 0.0, 0.0
        if predictions is not None:
            labels = data.payload[1]
            if order is not None:
                labels = labels[torch.from_numpy(order).to(self._device)]
            correct = (predictions == true(labels)).sum()
        return self._epoch_loss(torch.stack(losses).cpu().numpy(), sizes), correct.item() / seen

    def _evaluate_prepared(self, model: Model, data: Prepared) -> tuple[float, float]:
        net = model.native
        net.eval()
        loss_fn, (predicted, true) = self._loss_fn(model), self._class_fns(model)
        loss_sum, correct, seen = 0.0, 0, 0
        with torch.inference_mode():
            for xb, yb in self._batches(data):
                logits = net(xb)
                loss_sum += float(loss_fn(logits, yb)) * len(yb)
                correct += int((predicted(logits) == true(yb)).sum())
                seen += len(yb)
        return loss_sum / max(seen, 1), correct / max(seen, 1)

    def _predict_prepared(self, model: Model, data: Prepared) -> np.ndarray:
        net = model.native
        net.eval()
        with torch.inference_mode():
            outputs = [net(xb).cpu() for xb, _ in self._batches(data)]
        return torch.cat(outputs).numpy()
