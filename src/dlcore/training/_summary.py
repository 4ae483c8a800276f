"""The rows of ``Trainer.summary``: one per layer, as Keras' ``model.summary()`` prints them.

A spec's layers know their output shapes; a user's own model gives its layers' names, kinds
and parameter counts (torch: its modules; Keras: its layers, with their output shapes once
built). Everything is read by duck typing: the core imports no framework.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ..contract.backend import Model
from ..models.graph import Graph
from ..models.layers import Sequential
from ..models.specs import MLP, TextClassifier


class Row(NamedTuple):
    """One layer: ``name (Kind)``, its output shape with the batch as None, its parameters, and
    in a graph what it is called on."""

    layer: str
    shape: str
    params: int
    inputs: str = ""


def _shape(shape: Any) -> str:
    return "(" + ", ".join("None" if n is None else str(n) for n in (None, *shape)) + ")"


def _prefix(name: str) -> str:
    return name.rsplit(".", 1)[0] if "." in name else ""


def seeds(spec: Any) -> set[str]:
    """Names of a spec's random-number state (dropout's seeds): kept in a checkpoint, but no
    parameters, as Keras counts them."""
    graph = getattr(spec, "graph", None)
    return graph.seeds() if isinstance(graph, Graph) else set()


def spec_rows(spec: Any, weights: dict[str, np.ndarray]) -> list[Row]:
    """Rows of a spec's layers: a Sequential's with their output shapes, a graph's also with
    what each is called on; another spec's parameter groups (``layers.0``, ``embedding``...): an
    MLP's or a text classifier's dense or embedding, another's of kind "?"."""
    if isinstance(spec, Graph):
        return [Row(*row) for row in spec.rows()]
    if isinstance(spec, Sequential):
        return [Row(f"layers.{i} ({type(layer).__name__})", _shape(shape),
                    sum(int(np.prod(s)) for name, s in layer.parameter_shapes(before).items()
                        if name not in layer.seeds))
                for i, (layer, before, shape) in enumerate(zip(spec.layers, spec.shapes, spec.shapes[1:]))]
    known = isinstance(spec, (MLP, TextClassifier))
    rows = []
    for prefix in dict.fromkeys(_prefix(name) for name in weights):
        group = {name: w for name, w in weights.items() if _prefix(name) == prefix}
        weight = group.get(f"{prefix}.weight")
        kind = ("Embedding" if prefix.endswith("embedding") else "Dense") if known else "?"
        out = None if not known or weight is None or weight.ndim != 2 else weight.shape[int(kind == "Embedding")]
        rows.append(Row(f"{prefix or type(spec).__name__} ({kind})", "?" if out is None else _shape((out,)),
                        sum(int(w.size) for w in group.values())))
    return rows


def table(title: str, model: Model, weights: dict[str, np.ndarray]) -> str:
    """``Trainer.summary``'s table of ``model`` (:func:`layer_table`), without its random-number
    state (kept in ``summary(weights=True)``)."""
    if model.spec is not None:
        skipped = seeds(model.spec)
        weights = {name: w for name, w in weights.items() if name not in skipped}
        rows = spec_rows(model.spec, weights)
    else:
        rows = native_rows(model.native, weights)
    total = sum(int(w.size) for w in weights.values())
    size = sum(w.nbytes for w in weights.values()) / 2 ** 20
    return layer_table(title, rows, total, trainable(model, weights), size)


def native_rows(native: Any, weights: dict[str, np.ndarray]) -> list[Row]:
    """Rows of a user's own model: a Keras model's layers (output shapes where built), a torch
    module's leaf modules and those that hold parameters (output shapes unknown: "?")."""
    if hasattr(native, "layers") and hasattr(native, "count_params"):
        rows = []
        for layer in native.layers:
            try:
                shape = _shape(tuple(layer.output.shape)[1:])
            except (AttributeError, ValueError):  # not called yet
                shape = "?"
            rows.append(Row(f"{layer.name} ({type(layer).__name__})", shape, int(layer.count_params())))
        return rows
    modules = dict(native.named_modules()) if hasattr(native, "named_modules") else {}
    leaves = [name for name, module in modules.items() if name and not any(True for _ in module.children())]
    prefixes = list(dict.fromkeys(_prefix(name) for name in weights))
    if modules:  # every leaf module in order, and any module holding parameters of its own
        prefixes = [name for name in modules if name in leaves or name in prefixes]
    rows = []
    for prefix in prefixes:
        kind = type(modules[prefix]).__name__ if prefix in modules else "?"
        count = sum(int(w.size) for name, w in weights.items() if _prefix(name) == prefix)
        rows.append(Row(f"{prefix or type(native).__name__} ({kind})", "?", count))
    return rows


def trainable(model: Model, weights: dict[str, np.ndarray]) -> int:
    """How many of the model's parameters train: a spec's but its untrained state; a torch
    module's that require gradients; a Keras model's trainable weights."""
    native = model.native
    if model.spec is not None:
        frozen = model.spec.untrained()
        return sum(int(w.size) for name, w in weights.items() if name not in frozen)
    if hasattr(native, "trainable_weights"):
        return sum(int(np.prod(w.shape)) for w in native.trainable_weights)
    if hasattr(native, "parameters"):
        return sum(int(p.numel()) for p in native.parameters() if p.requires_grad)
    return sum(int(w.size) for w in weights.values())


def layer_table(title: str, rows: list[Row], total: int, trained: int, size: float) -> str:
    """Keras' table: a header, a row per layer, then the total, trainable and non-trainable counts."""
    cells = [("Layer (type)", "Output Shape", "Param #", "Connected to" if any(r.inputs for r in rows) else "")]
    cells += [(r.layer, r.shape, f"{r.params:,}", r.inputs) for r in rows]
    widths = [max(len(cell[i]) for cell in cells) for i in range(4)]
    rule = "-" * (sum(widths[:3]) + 4 + (widths[3] + 2 if widths[3] else 0))
    lines = [title, rule, *(f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c:>{widths[2]}}  {d}".rstrip()
                            for a, b, c, d in cells), rule]
    lines.insert(3, rule)
    lines += [f"Total params: {total:,} ({size:.2f} MiB)", f"Trainable params: {trained:,}",
              f"Non-trainable params: {total - trained:,}"]
    return "\n".join(lines)


def weights_table(title: str, values: dict[str, np.ndarray], built: Model, total: int, size: float) -> list[str]:
    """``summary(weights=True)``: a row per parameter, then the totals."""
    rows = [("parameter", "shape", "count")]
    rows += [(name, "x".join(map(str, w.shape)) or "scalar", f"{w.size:,}") for name, w in values.items()]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [title] + [f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c:>{widths[2]}}" for a, b, c in rows]
    lines.insert(2, "-" * (sum(widths) + 4))
    frozen = built.spec.untrained() if built.spec is not None else set()
    trainable = total - sum(int(values[name].size) for name in frozen)
    trained = f" ({trainable:,} trainable)" if built.spec is not None else ""
    return lines + ["-" * (sum(widths) + 4), f"total {total:,} parameters{trained}, {size:.2f} MiB"]


__all__: list[str] = []
