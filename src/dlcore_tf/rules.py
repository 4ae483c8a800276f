"""The TensorFlow backend's generic optimizer: any update rule written on :mod:`dlcore.ops`
(:mod:`dlcore.training.rules`; dlcore's RMSprop too), traced into the compiled step."""

from __future__ import annotations

from typing import Any

from dlcore import ops
from dlcore.training.rules import as_kernel, require_table

from .framework import import_tensorflow
from .kernels import Optimizer

tf = import_tensorflow()


class RuleOptimizer(Optimizer):
    """The rule's update of each variable, assigned with its slot variables inside the compiled
    step (clipping and accumulation as for dlcore's optimizers, by :class:`Optimizer`)."""

    def __init__(self, lr: float, variables: Any, rule: Any, slots: tuple[str, ...], settings: dict[str, Any]) -> None:
        super().__init__("rule", lr, variables, names=tuple(slots), **settings)
        self.rule = rule

    def update(self, grads: Any, lr: Any) -> None:
        step, lr = tf.cast(self.iterations, tf.float32), tf.convert_to_tensor(lr)
        for grad, var, slot in zip(grads, self.targets, self.slots):
            current = {name: tf.convert_to_tensor(v) for name, v in slot.items()}
            with ops.using(ops.tables()["tensorflow"]):  # a rule's ops given no array make TensorFlow's
                weight, new = self.rule.update(ops, tf.convert_to_tensor(var), grad, current, lr, step, **self.hyper)
            var.assign(weight)
            for name, v in slot.items():
                v.assign(new[name])


def make(model: Any, lr: float, rule: Any, slots: tuple[str, ...], **settings: Any) -> RuleOptimizer:
    require_table("tensorflow")
    return RuleOptimizer(lr, model.native.trainable_variables, rule, slots, settings)


rmsprop = as_kernel(make, "rmsprop")  # TensorFlow has no fused kernel of torch's RMSprop: the rule is as fast
