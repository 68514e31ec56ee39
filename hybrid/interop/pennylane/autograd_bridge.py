"""Backprop for PennyLane's autograd interface: the engine's torch graph behind autograd.

The engine is torch, so autograd's ArrayBox values cannot flow through it. Instead the
whole tape becomes one autograd primitive that runs the simulation once and returns every
measurement flattened into one array; differentiable slicing splits it back. Its
vector-Jacobian product is computed by torch (``torch.autograd.grad`` with
``create_graph``) for all inputs in one backward pass, and is itself such a primitive, so
higher derivatives (Hessians) work too.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import autograd.numpy as anp
import numpy as np
import torch
from autograd.extend import defvjp_argnums, primitive
from autograd.tracer import Box

__all__ = ["has_autograd_params", "autograd_measurements", "torch_primitive"]

TorchFn = Callable[..., Sequence[torch.Tensor]]
Layout = list[tuple[tuple[int, ...], bool]]  # (shape, is complex) per output


def has_autograd_params(tape) -> bool:
    return any(isinstance(p, Box) for p in tape.get_parameters(trainable_only=False))


def autograd_measurements(tape, run: Callable) -> tuple:
    """Every measurement of ``tape`` as an autograd-differentiable value, from one run.

    ``run(tape)`` executes a tape whose parameters are torch tensors and returns one torch
    result per measurement.
    """
    params = tape.get_parameters(trainable_only=False)
    boxed = [i for i, p in enumerate(params) if isinstance(p, Box)]
    plain = [p._value if isinstance(p, Box) else p for p in params]

    def measurements(*xs: torch.Tensor) -> Sequence[torch.Tensor]:
        values = list(plain)
        for i, x in zip(boxed, xs):
            values[i] = x
        return run(tape.bind_new_parameters(values, list(range(len(values)))))

    return torch_primitive(measurements)(*[params[i] for i in boxed])


def torch_primitive(fn: TorchFn) -> Callable[..., tuple]:
    """``fn`` (torch tensors -> torch tensors) as an autograd function, differentiable to any order.

    One call evaluates ``fn`` once for all its outputs; one VJP is one torch backward pass
    for all differentiated inputs.
    """
    layout: Layout = []  # filled by each evaluation, read right after it (autograd is eager)

    @primitive
    def flat(*xs):
        with torch.no_grad():
            outs = fn(*[_tensor(x) for x in xs])
        layout[:] = [(tuple(o.shape), o.is_complex()) for o in outs]
        return _numpy(_flatten(outs))

    def vjp_maker(argnums, ans, args, kwargs):
        # args may still hold boxes of outer traces: calling a primitive on them keeps
        # the VJP differentiable for the next order.
        return lambda g: torch_primitive(_vjp(fn, argnums))(*args, g)

    defvjp_argnums(flat, vjp_maker)
    return lambda *xs: _split(flat(*xs), layout)


def _vjp(fn: TorchFn, argnums: Sequence[int]) -> TorchFn:
    """``(x_1..x_n, g) -> (g . d fn / d x_i for i in argnums)`` as a torch function (keeps its graph)."""

    def vjp(*args: torch.Tensor) -> tuple[torch.Tensor, ...]:
        *xs, g = args
        with torch.enable_grad():
            xs = [x if x.requires_grad else x.detach().requires_grad_() for x in xs]
            out = _flatten(fn(*xs))
            # autograd's cotangents and gradients for complex values are the conjugates of
            # torch's, both ways: the output cotangent going in, complex inputs' (such as a
            # VJP's own cotangent, under a second derivative) gradients coming out.
            g = g.to(out.device)  # the cotangent arrives from numpy, on the CPU
            g = g.conj() if out.is_complex() else g.to(out.dtype)
            wrt = [xs[i] for i in argnums]
            grads = torch.autograd.grad(out, wrt, g, create_graph=True, allow_unused=True)
        return tuple(torch.zeros_like(x) if d is None else d.conj() for x, d in zip(wrt, grads))

    return vjp


def _flatten(outs: Sequence[torch.Tensor]) -> torch.Tensor:
    """All outputs in one 1-d tensor (complex when any is: real ones are cast losslessly)."""
    return torch.cat([o.reshape(-1) for o in outs])


def _split(flat, layout: Layout) -> tuple:
    """Undo :func:`_flatten` with differentiable autograd operations."""
    any_complex = any(c for _, c in layout)
    parts, start = [], 0
    for shape, is_complex in layout:
        size = math.prod(shape)
        part = flat[start : start + size].reshape(shape)
        parts.append(anp.real(part) if any_complex and not is_complex else part)
        start += size
    return tuple(parts)


def _tensor(x) -> torch.Tensor:
    return torch.as_tensor(np.array(x))


def _numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().resolve_conj().numpy()
