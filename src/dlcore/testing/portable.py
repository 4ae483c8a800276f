"""Checks of a layer, loss or metric written once on :mod:`dlcore.ops`, on every installed
backend against numpy's table in float64, in one call each:

    from dlcore.testing import check_layer, check_loss

    check_layer(LayerNorm(), (20,))   # forward, gradients, checkpoints between backends
    check_loss(focal, classes=5)      # value and gradient by the outputs
    check_optimizer("lion")           # weight and state after a few updates

Each backend computes in float32 and is compared with numpy's float64 result; gradients (the
backend's own autodiff) are compared with central finite differences of numpy's float64 result.
A difference raises AssertionError naming the backend, the check and the largest error; the
return value says what was checked where.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from .. import ops
from ..models.layers import Dense, Flatten, Layer, Sequential
from ..plugins import backend_infos, get_backend
from ..training.rules import definition, rule_of
from ..training.trainer import Trainer

FiniteDifference = Callable[[list[np.ndarray]], float]


def ops_backends(backends: Sequence[str] | None = None) -> list[str]:
    """The installed backends (or those of ``backends``) whose ops table exists."""
    names = backends if backends is not None else [info.name for info in backend_infos() if info.available]
    return [name for name in names if get_backend(name).ops is not None]


def _numeric_gradients(function: FiniteDifference, arrays: list[np.ndarray], rng: np.random.Generator,
                       limit: int = 300, step: float = 1e-6) -> list[np.ndarray]:
    """Central differences of ``function`` by each array (at most ``limit`` coordinates per array,
    chosen at random; the others NaN, left out of comparisons)."""
    grads = []
    for which, array in enumerate(arrays):
        grad = np.full(array.shape, np.nan)
        flat = range(array.size) if array.size <= limit else rng.choice(array.size, limit, replace=False)
        for index in flat:
            position = np.unravel_index(int(index), array.shape)
            moved = [a.copy() for a in arrays]
            moved[which][position] += step
            up = function(moved)
            moved[which][position] -= 2 * step
            grad[position] = (up - function(moved)) / (2 * step)
        grads.append(grad)
    return grads


def _close(what: str, backend: str, got: Any, want: np.ndarray, atol: float, rtol: float) -> None:
    got = np.asarray(got.numpy() if hasattr(got, "numpy") else got, np.float64)
    if got.shape != want.shape:
        raise AssertionError(f"{what} on {backend}: shape {got.shape}, numpy's {want.shape}")
    known = ~np.isnan(want)  # numpy's coordinates left out of a comparison are NaN
    broken = known & ~np.isfinite(got) & np.isfinite(want)
    if broken.any():
        raise AssertionError(f"{what} on {backend} is not finite ({int(broken.sum())} values) where numpy's is")
    error = np.abs(got - want)[known]
    bound = (atol + rtol * np.abs(want))[known]
    if error.size and (error > bound).any():
        raise AssertionError(f"{what} on {backend} differs from numpy's float64 result: largest error "
                             f"{error.max():.3g} (allowed {atol:g} + {rtol:g} * |value|)")


def _on(table: Any, arrays: list[np.ndarray]) -> list[Any]:
    return [table.convert(a.astype(np.float32) if a.dtype.kind == "f" else a) for a in arrays]


def check_layer(layer: Layer, input_shape: Sequence[int], backends: Sequence[str] | None = None,
                atol: float = 1e-4, rtol: float = 1e-3, seed: int = 0, checkpoints: bool = True) -> dict[str, list[str]]:
    """Check ``layer`` (written on ops) for inputs of ``input_shape`` (one sample) on each backend:
    its output in inference, the gradients by its input and trainable weights, and (with
    ``checkpoints``) that a model holding it, saved on each backend, predicts the same on every
    other. Returns the checks passed, per backend.

    Example::

        assert check_layer(LayerNorm(), (20,)) == {
            "torch": ["output", "gradients", "checkpoints"], ...}
    """
    shape = tuple(int(n) for n in input_shape)
    plan = layer._plan(shape)
    rng = np.random.default_rng(seed)
    weights = {name: value.astype(np.float64) if value.dtype.kind == "f" else value
               for name, value in plan.initial_weights(rng).items()}
    trainable = [name for name in weights if plan.weights[name].trainable and weights[name].dtype.kind == "f"]
    for name in trainable:  # away from special values (ones, zeros) that would hide mistakes
        weights[name] = weights[name] + 0.1 * rng.standard_normal(weights[name].shape)
    x = (rng.integers(0, 4, (3, *shape)) if layer.input_dtype.startswith("int")
         else rng.standard_normal((3, *shape)))
    numpy = ops.tables()["numpy"]
    with ops.using(numpy):
        expected = plan.call(weights, x, False)[0]
    project = rng.standard_normal(expected.shape)
    differentiable = [x] if x.dtype.kind == "f" else []

    def scalar(arrays: list[np.ndarray]) -> float:
        given = dict(weights, **dict(zip(trainable, arrays[len(differentiable):])))
        with ops.using(numpy):
            return float(np.sum(plan.call(given, arrays[0] if differentiable else x, False)[0] * project))

    expected_grads = _numeric_gradients(scalar, [*differentiable, *(weights[n] for n in trainable)], rng)
    passed: dict[str, list[str]] = {}
    for backend in ops_backends(backends):
        table = get_backend(backend).ops
        passed[backend] = []
        values = dict(zip(weights, _on(table, list(weights.values()))))
        [inputs] = _on(table, [x])
        with ops.using(table):
            _close(f"{layer.kind}'s output", backend, plan.call(values, inputs, False)[0], expected, atol, rtol)
            passed[backend].append("output")
            gradients = getattr(table, "gradients", None)
            if gradients is not None:
                weight = table.convert(project.astype(np.float32))

                def on_backend(*arrays: Any) -> Any:
                    given = dict(values, **dict(zip(trainable, arrays[len(differentiable):])))
                    return ops.sum(plan.call(given, arrays[0] if differentiable else inputs, False)[0] * weight)

                got = gradients(on_backend, [inputs] * len(differentiable) + [values[n] for n in trainable])
                names = ["the input"] * len(differentiable) + trainable
                for name, grad, want in zip(names, got, expected_grads):
                    _close(f"{layer.kind}'s gradient by {name}", backend, grad, want, atol * 10, rtol * 10)
                passed[backend].append("gradients")
    if checkpoints:
        _check_checkpoints(layer, shape, x, list(passed), atol, passed)
    return passed


def _check_checkpoints(layer: Layer, shape: tuple[int, ...], x: np.ndarray, backends: list[str], atol: float,
                       passed: dict[str, list[str]]) -> None:
    head: list[Layer] = [] if len(layer.output_shape(shape)) == 1 else [Flatten()]
    spec = Sequential(shape, (layer, *head, Dense(2)))
    inputs = x.astype(np.float32) if x.dtype.kind == "f" else x
    with tempfile.TemporaryDirectory() as folder:
        for saved_on in backends:
            trainer = Trainer(saved_on, progress=False, seed=1)
            path = Path(folder) / f"{saved_on}.npz"
            trainer.save(spec, path)
            with warnings.catch_warnings():  # random initial weights on purpose: what every backend must load
                warnings.simplefilter("ignore", UserWarning)
                expected = trainer.predict(spec, inputs, allow_random=True)
            for other in backends:
                loading = Trainer(other, progress=False)
                got = loading.predict(loading.load(path), inputs)
                _close(f"a checkpoint of {layer.kind} saved on {saved_on}: the predictions", other, got,
                       np.asarray(expected, np.float64), atol, 1e-3)
            passed[saved_on].append("checkpoints")


def check_loss(loss: Callable[..., Any], classes: int = 5, batch: int = 8, targets: np.ndarray | None = None,
               backends: Sequence[str] | None = None, atol: float = 1e-5, rtol: float = 1e-4,
               seed: int = 0) -> dict[str, list[str]]:
    """Check a loss written on ops, ``loss(ops, outputs, targets, weights=None)``, on each backend:
    its value (plain and with per-sample weights) and its gradient by the outputs, against numpy
    in float64. ``targets`` default to class indices in ``range(classes)``.

    Example::

        def focal(ops, outputs, targets, weights=None): ...

        check_loss(focal, classes=10)
    """
    rng = np.random.default_rng(seed)
    outputs = rng.standard_normal((batch, classes))
    labels = rng.integers(0, classes, batch) if targets is None else np.asarray(targets)
    sample_weights = rng.uniform(0.5, 2.0, batch)
    numpy = ops.tables()["numpy"]

    def value(out: np.ndarray, weights: np.ndarray | None) -> float:
        with ops.using(numpy):
            return float(loss(ops, out, labels, weights))

    expected = [np.asarray(value(outputs, None)), np.asarray(value(outputs, sample_weights))]
    [expected_grad] = _numeric_gradients(lambda arrays: value(arrays[0], None), [outputs], rng)
    passed: dict[str, list[str]] = {}
    for backend in ops_backends(backends):
        table = get_backend(backend).ops
        out, target, weights = _on(table, [outputs, labels, sample_weights])
        with ops.using(table):
            _close(f"{getattr(loss, '__name__', 'the loss')}", backend, loss(ops, out, target, None), expected[0],
                   atol, rtol)
            _close(f"{getattr(loss, '__name__', 'the loss')} with sample weights", backend,
                   loss(ops, out, target, weights), expected[1], atol, rtol)
            passed[backend] = ["value"]
            gradients = getattr(table, "gradients", None)
            if gradients is not None:
                [grad] = gradients(lambda o: loss(ops, o, target, None), [out])
                _close(f"the gradient of {getattr(loss, '__name__', 'the loss')}", backend, grad, expected_grad,
                       atol * 10, rtol * 10)
                passed[backend].append("gradient")
    return passed


def check_metric(metric: Callable[..., Any], classes: int = 5, batch: int = 8, targets: np.ndarray | None = None,
                 backends: Sequence[str] | None = None, atol: float = 1e-5, seed: int = 0) -> dict[str, list[str]]:
    """Check a metric written on ops, ``metric(ops, outputs, targets) -> values``, on each backend
    against numpy in float64.

    Example::

        def margin(ops, outputs, targets):
            true = ops.take_along_axis(outputs, ops.expand_dims(targets, 1), 1)[:, 0]
            return true - ops.max(outputs, axis=1)

        check_metric(margin)
    """
    rng = np.random.default_rng(seed)
    outputs = rng.standard_normal((batch, classes))
    labels = rng.integers(0, classes, batch) if targets is None else np.asarray(targets)
    with ops.using(ops.tables()["numpy"]):
        expected = np.asarray(metric(ops, outputs, labels), np.float64)
    passed: dict[str, list[str]] = {}
    for backend in ops_backends(backends):
        table = get_backend(backend).ops
        out, target = _on(table, [outputs, labels])
        with ops.using(table):
            _close(getattr(metric, "__name__", "the metric"), backend, metric(ops, out, target), expected, atol, 1e-4)
        passed[backend] = ["values"]
    return passed


def check_optimizer(name: str, steps: int = 5, lr: float = 0.01, backends: Sequence[str] | None = None,
                    atol: float = 1e-5, rtol: float = 1e-4, seed: int = 0, **settings: Any) -> dict[str, list[str]]:
    """Check the update rule of the optimizer ``name`` (registered with ``optimizers.register``
    or a plugin's, with ``settings`` over its defaults) on each backend: ``steps`` updates of a
    weight from the same gradients give the weight and the state numpy gives in float64.

    Example::

        check_optimizer("lion", steps=10, lr=1e-3)
    """
    record = definition(name)
    rule = rule_of(record)
    if rule is None:
        raise AssertionError(f"the optimizer {name!r} has no rule written on dlcore.ops to check")
    hyper = {**record.defaults, **settings}
    slot_names = rule.slot_names(hyper)
    rng = np.random.default_rng(seed)
    weight, grads = rng.standard_normal((4, 3)), [rng.standard_normal((4, 3)) for _ in range(steps)]

    def run(table: Any, w: Any, gs: list[Any]) -> tuple[Any, dict[str, Any]]:
        slots = {n: ops.zeros_like(w) for n in slot_names}
        with ops.using(table):
            for step, g in enumerate(gs, 1):
                w, slots = rule.update(ops, w, g, slots, lr, step, **hyper)
        return w, slots

    expected_weight, expected_slots = run(ops.tables()["numpy"], weight, grads)
    passed: dict[str, list[str]] = {}
    for backend in ops_backends(backends):
        table = get_backend(backend).ops
        w, *gs = _on(table, [weight, *grads])
        got_weight, got_slots = run(table, w, gs)
        _close(f"{name}'s weight after {steps} updates", backend, got_weight, np.asarray(expected_weight), atol, rtol)
        for slot in slot_names:
            _close(f"{name}'s {slot} after {steps} updates", backend, got_slots[slot], np.asarray(expected_slots[slot]),
                   atol, rtol)
        passed[backend] = ["weight", "state"]
    return passed


__all__ = ["check_layer", "check_loss", "check_metric", "check_optimizer", "ops_backends"]
