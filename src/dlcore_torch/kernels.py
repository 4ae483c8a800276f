"""The torch backend's kernels for dlcore's losses, metrics and optimizers.

These are fast paths: each computes what the loss's or metric's definition on dlcore.ops
(:mod:`dlcore.training.losses`) computes, in fewer torch calls (eager torch pays per op).
A loss kernel is ``f(logits, labels, weights=None) -> mean loss`` (with ``weights``, one per
sample: the batch's mean of each sample's loss times its weight, as Keras' sample_weight); a metric kernel ``f(logits, labels) ->
statistics`` (a vector); an optimizer kernel ``f(model, lr, **hyper)`` returns a
``torch.optim.Optimizer`` over the model's trainable parameters.
"""

from __future__ import annotations

from .framework import import_torch

torch = import_torch()
F = torch.nn.functional


def _weighted(per_sample, weights):
    """The batch's mean loss: plain, or of each sample's loss times its weight."""
    return per_sample.mean() if weights is None else (per_sample * weights).mean()


def cross_entropy(logits, labels, weights=None, label_smoothing=0.0):
    """Class indices, or one-hot (probability) rows."""
    if weights is None:
        return F.cross_entropy(logits, labels, label_smoothing=label_smoothing)
    return _weighted(F.cross_entropy(logits, labels, reduction="none", label_smoothing=label_smoothing), weights)


def binary_cross_entropy(logits, labels, weights=None):
    per_sample = F.binary_cross_entropy_with_logits(logits.reshape(-1), labels.reshape(-1).to(logits.dtype),
                                                    reduction="none" if weights is not None else "mean")
    return per_sample if weights is None else _weighted(per_sample, weights)


def _targets(logits, labels):
    """Regression targets shaped and typed like the outputs ((N,) targets of one output: (N, 1))."""
    return labels.reshape(logits.shape).to(logits.dtype)


def _regression(loss, logits, labels, weights, **settings):
    """Mean over samples and outputs; with ``weights``, each sample's mean over outputs weighted."""
    if weights is None:
        return loss(logits, _targets(logits, labels), **settings)
    return _weighted(loss(logits, _targets(logits, labels), reduction="none", **settings).mean(1), weights)


def mse(logits, labels, weights=None):
    return _regression(F.mse_loss, logits, labels, weights)


def mae(logits, labels, weights=None):
    return _regression(F.l1_loss, logits, labels, weights)


def huber(logits, labels, weights=None):
    return _regression(F.huber_loss, logits, labels, weights, delta=1.0)


def accuracy(logits, labels):
    """(correct,): argmax (one logit: > 0) against class indices, one-hot rows or 0/1."""
    if logits.shape[-1] == 1 or logits.dim() == 1:
        hits = (logits.reshape(-1) > 0) == (labels.reshape(-1) > 0.5)
    else:
        hits = logits.argmax(1) == (labels.argmax(1) if labels.dim() == 2 else labels)
    return hits.sum().reshape(1)


def _classes(labels):
    return labels.argmax(1) if labels.dim() == 2 else labels


def top_k_accuracy(logits, labels, k=5):
    """(correct,): the label is among the k largest logits."""
    top = logits.topk(min(k, logits.shape[1]), 1).indices
    return (top == _classes(labels)[:, None]).any(1).sum().reshape(1)


def confusion(logits, labels):
    """Counts of true class (rows) by predicted class (columns); one logit: (tp, fp, fn, tn)."""
    if logits.shape[-1] == 1:
        predicted, true = logits.reshape(-1) > 0, labels.reshape(-1) > 0.5
        return torch.stack(((predicted & true).sum(), (predicted & ~true).sum(), (~predicted & true).sum(),
                            (~predicted & ~true).sum()))
    classes = logits.shape[1]
    return torch.bincount(_classes(labels) * classes + logits.argmax(1), minlength=classes * classes).reshape(
        classes, classes)


def scores(logits, labels):
    """One row per sample: the probabilities (one logit: of class 1), then the true class."""
    if logits.shape[-1] == 1:
        probabilities, true = torch.sigmoid(logits.reshape(-1, 1)), (labels.reshape(-1) > 0.5).long()
    else:
        probabilities, true = torch.softmax(logits, 1), _classes(labels)
    return torch.cat([probabilities, true[:, None].to(probabilities.dtype)], 1)


def regression_sums(logits, labels):
    """(4, outputs): per output, the sums of the targets, of their squares, of the squared errors
    and of the absolute errors."""
    targets = _targets(logits, labels)
    errors = logits - targets
    return torch.stack((targets.sum(0), (targets * targets).sum(0), (errors * errors).sum(0), errors.abs().sum(0)))


def _trainable(model):
    return [p for p in model.native.parameters() if p.requires_grad]


def _counted(optimizer):
    """``optimizer.updates``: the updates made (torch's SGD counts none itself)."""
    optimizer.updates = 0

    def count(made, args, kwargs):
        made.updates += 1

    optimizer.register_step_post_hook(count)
    return optimizer


def _fused(kind, params, **settings):
    try:  # the fused kernels: the same algorithm, one kernel for all parameters (Adam -20%)
        return _counted(kind(params, fused=True, **settings))
    except (RuntimeError, ValueError):  # a device or dtype without fused kernels
        return _counted(kind(params, **settings))


def sgd(model, lr, momentum=0.0, nesterov=False, weight_decay=0.0):
    return _fused(torch.optim.SGD, _trainable(model), lr=lr, momentum=momentum, nesterov=nesterov,
                  weight_decay=weight_decay)


def adam(model, lr, beta1, beta2, eps, weight_decay=0.0, amsgrad=False):
    return _fused(torch.optim.Adam, _trainable(model), lr=lr, betas=(beta1, beta2), eps=eps,
                  weight_decay=weight_decay, amsgrad=amsgrad)


def adamw(model, lr, beta1, beta2, eps, weight_decay, amsgrad=False):
    return _fused(torch.optim.AdamW, _trainable(model), lr=lr, betas=(beta1, beta2), eps=eps,
                  weight_decay=weight_decay, amsgrad=amsgrad)


def rmsprop(model, lr, alpha, eps, momentum=0.0, centered=False, weight_decay=0.0):
    # torch has no fused RMSprop; foreach updates all parameters with a few kernels
    return _counted(torch.optim.RMSprop(_trainable(model), lr=lr, alpha=alpha, eps=eps, momentum=momentum,
                                        centered=centered, weight_decay=weight_decay, foreach=True))
