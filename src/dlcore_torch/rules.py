"""The torch backend's generic optimizer: any update rule written on :mod:`dlcore.ops`
(:mod:`dlcore.training.rules`) as a ``torch.optim.Optimizer``."""

from __future__ import annotations

from typing import Any

from dlcore import ops
from dlcore.training.rules import require_table

from .framework import import_torch

torch = import_torch()


class RuleOptimizer(torch.optim.Optimizer):
    """Applies ``rule`` to each parameter under no_grad and copies the results in place. Its
    state is torch's ``state[parameter]`` in the canonical slots (made on the first update, as
    torch's optimizers do), so optimizer_state and load_optimizer_state read and write it as
    theirs; ``updates`` counts the updates; the learning rate is the param group's."""

    def __init__(self, params: Any, lr: float, rule: Any, slots: tuple[str, ...], settings: dict[str, Any]) -> None:
        super().__init__(params, {"lr": lr})
        self.rule, self.slot_names, self.settings, self.updates = rule, tuple(slots), dict(settings), 0

    @torch.no_grad()
    def step(self, closure: Any = None) -> Any:
        loss = closure() if closure is not None else None
        self.updates += 1
        with ops.using(ops.tables()["torch"]):  # a rule's ops given no array make torch's
            self._update()
        return loss

    def _update(self) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                slots = {n: state[n] if n in state else torch.zeros_like(p) for n in self.slot_names}
                weight, new = self.rule.update(ops, p.detach(), p.grad, slots, group["lr"], self.updates,
                                               **self.settings)
                p.copy_(weight)
                for n in self.slot_names:
                    state[n] = new[n]


def make(model: Any, lr: float, rule: Any, slots: tuple[str, ...], **settings: Any) -> RuleOptimizer:
    require_table("torch")
    return RuleOptimizer([p for p in model.native.parameters() if p.requires_grad], lr, rule, slots, settings)
