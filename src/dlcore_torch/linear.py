"""Dense layers of dlcore's torch models: oneDNN or MKL products on the CPU, as measured.

torch's nn.Linear computes float32 products on the CPU with MKL's sgemm. oneDNN, also inside
torch, computes the same products, and on CPUs where MKL takes a slow code path (AMD's) it is
about twice as fast: on a 2-core AMD EPYC, 64x784 by 784x512 takes 157 us against MKL's 307 us,
and a Fashion-MNIST MLP epoch 0.89 s against 1.38 s; on an Intel Xeon MKL is the faster one.
So the kernel is chosen by measuring both on the user's machine, once (:mod:`dlcore.tuning`,
name ``torch.linear``, kernels ``onednn`` and ``aten``; ``DLCORE_KERNELS=torch.linear=aten``
overrides). With oneDNN chosen, ``linear`` uses it for 2-D float32 CPU tensors when this torch
has it and it agrees with F.linear; otherwise it is F.linear. The layers stay nn.Linear
modules (same state_dict), but their forward hooks are not called.
"""

from __future__ import annotations

import functools

from dlcore import tuning

from .framework import import_torch
from .threads import user_threads

torch = import_torch()
F = torch.nn.functional

ACTIVATIONS = {"relu": torch.relu, "tanh": torch.tanh, "none": lambda x: x}


@functools.cache
def onednn_op():
    """torch's oneDNN linear op (``x @ w.T + b``, then an activation), or None where it is
    missing or disagrees with F.linear on a small check."""
    if not torch.backends.mkldnn.is_available():
        return None
    try:
        op = torch.ops.mkldnn._linear_pointwise
        g = torch.Generator().manual_seed(0)
        x, w, b = (torch.randn(*shape, generator=g) for shape in ((3, 5), (4, 5), (4,)))
        checks = [(op(x, w, b, name, [], ""), fn(F.linear(x, w, b))) for name, fn in ACTIVATIONS.items()]
        grad = checks[-1][1]  # the backward's products, from strided views:
        checks += [(op(grad, w.t(), None, "none", [], ""), grad @ w),
                   (op(grad.t(), x.t(), None, "none", [], ""), grad.t() @ x)]
    except (AttributeError, RuntimeError, NotImplementedError, TypeError):  # absent, or another signature
        return None
    return op if all(torch.allclose(a, b, atol=1e-5) for a, b in checks) else None


def _mlp_products(op):
    """A function computing the Fashion-MNIST MLP's products for five steps of batch 64 (the
    two wide layers' forward, and their weight and input gradients): through oneDNN's ``op``,
    or, with None, as nn.Linear and autograd do (addmm, mm)."""
    g = torch.Generator().manual_seed(0)
    x, w1, w2, b = (torch.randn(*shape, generator=g) for shape in ((64, 784), (512, 784), (512, 512), (512,)))
    if op is None:
        def step():
            h = torch.relu(F.linear(x, w1, b))
            out = torch.relu(F.linear(h, w2, b))
            return out.t() @ h, out @ w2, h.t() @ x
    else:
        def step():
            h = op(x, w1, b, "relu", [], "")
            out = op(h, w2, b, "relu", [], "")
            return (op(out.t(), h.t(), None, "none", [], ""), op(out, w2.t(), None, "none", [], ""),
                    op(h.t(), x.t(), None, "none", [], ""))
    return lambda: [step() for _ in range(5)]


@functools.cache
def _kernel(threads: int) -> str:
    """The linear kernel for this machine at ``threads`` intra-op threads: "onednn" or "aten"."""
    op = onednn_op()
    if op is None:
        return "aten"
    return tuning.choose("torch.linear", {"aten": _mlp_products(None), "onednn": _mlp_products(op)}, plain="aten",
                         versions={"torch": torch.__version__, "threads": str(threads)}).kernel


def onednn_linear():
    """oneDNN's linear op where this torch has it, it is correct, and it is the kernel chosen for
    this machine; None otherwise (then the layers use F.linear)."""
    op = onednn_op()
    return op if op is not None and _kernel(user_threads()) == "onednn" else None


def activation_backward(activation: str, grad, out):
    """The gradient before ``activation``, from the gradient after it and its output."""
    if activation == "relu":
        return torch.ops.aten.threshold_backward(grad, out, 0)
    if activation == "tanh":
        return torch.ops.aten.tanh_backward(grad, out)
    return grad


def linear_backward(grad, x, weight, out, activation: str, needs=(True, True, True)):
    """Gradients of ``x``, ``weight`` and the bias of ``out = activation(x @ weight.T + b)``,
    from the gradient of ``out``; each product through oneDNN, None where ``needs`` says no."""
    grad = activation_backward(activation, grad, out)
    op = onednn_op()
    needs_x, needs_w, needs_b = needs
    grad_x = op(grad, weight.t(), None, "none", [], "") if needs_x else None
    grad_w = op(grad.t(), x.t(), None, "none", [], "") if needs_w else None
    grad_b = grad.sum(0) if needs_b else None
    return grad_x, grad_w, grad_b


class _OneDNNLinear(torch.autograd.Function):
    """``activation(x @ w.T + b)`` and its gradients, every product through oneDNN."""

    @staticmethod
    def forward(ctx, x, weight, bias, activation):
        out = onednn_op()(x, weight, bias, activation, [], "")
        ctx.activation = activation
        ctx.save_for_backward(x, weight, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, weight, out = ctx.saved_tensors
        return (*linear_backward(grad, x, weight, out, ctx.activation, ctx.needs_input_grad[:3]), None)


def linear(x, layer, activation: str = "none"):
    """``activation(layer(x))`` for an nn.Linear ``layer``; activation: relu, tanh or none."""
    weight, bias = layer.weight, layer.bias
    # under autocast (bf16-mixed) F.linear computes in bfloat16; the oneDNN op would stay float32
    op = onednn_linear() if x.device.type == "cpu" and not torch.is_autocast_enabled("cpu") else None
    if (op is None or x.dim() != 2 or x.shape[0] == 0
            or x.dtype != torch.float32 or weight.dtype != torch.float32):
        return ACTIVATIONS[activation](F.linear(x, weight, bias))
    if torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in (x, weight, bias)):
        return _OneDNNLinear.apply(x, weight, bias, activation)
    return op(x, weight, bias, activation, [], "")
