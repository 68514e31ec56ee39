"""Backprop for PennyLane's autograd interface: the engine's torch graph behind autograd.

The engine is torch, so autograd's ArrayBox values cannot flow through it. Instead each
measurement becomes one autograd primitive whose vector-Jacobian product is computed by
torch (``torch.autograd.grad`` with ``create_graph``); the VJP is itself such a primitive,
so higher derivatives (Hessians) work too.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch
from autograd.extend import defvjp, primitive
from autograd.tracer import Box

__all__ = ["has_autograd_params", "autograd_measurements"]

TorchFn = Callable[..., torch.Tensor]


def has_autograd_params(tape) -> bool:
    return any(isinstance(p, Box) for p in tape.get_parameters(trainable_only=False))


def autograd_measurements(tape, run: Callable) -> tuple:
    """Each measurement of ``tape`` as an autograd-differentiable value.

    ``run(tape)`` executes a tape whose parameters are torch tensors and returns one torch
    result per measurement.
    """
    params = tape.get_parameters(trainable_only=False)
    boxed = [i for i, p in enumerate(params) if isinstance(p, Box)]
    plain = [p._value if isinstance(p, Box) else p for p in params]

    def measurement(k: int) -> TorchFn:
        def fn(*xs: torch.Tensor) -> torch.Tensor:
            values = list(plain)
            for i, x in zip(boxed, xs):
                values[i] = x
            return run(tape.bind_new_parameters(values, list(range(len(values)))))[k]

        return fn

    inputs = [params[i] for i in boxed]
    return tuple(torch_primitive(measurement(k), len(inputs))(*inputs) for k in range(len(tape.measurements)))


def torch_primitive(fn: TorchFn, n_args: int) -> Callable:
    """``fn`` (torch tensors -> torch tensor) as an autograd primitive, differentiable to any order."""

    @primitive
    def forward(*xs):
        with torch.no_grad():
            return _numpy(fn(*[_tensor(x) for x in xs]))

    def vjp_maker(i: int):
        def make(ans, *xs):
            return lambda g: torch_primitive(_vjp(fn, i), n_args + 1)(*xs, g)

        return make

    defvjp(forward, *[vjp_maker(i) for i in range(n_args)])
    return forward


def _vjp(fn: TorchFn, i: int) -> TorchFn:
    """``(x_1..x_n, g) -> g . d fn / d x_i`` as a torch function (keeps its own graph)."""

    def vjp(*args: torch.Tensor) -> torch.Tensor:
        *xs, g = args
        with torch.enable_grad():
            xs = [x if x.requires_grad else x.detach().requires_grad_() for x in xs]
            out = fn(*xs)
            # autograd's cotangent for a complex output is the conjugate of torch's.
            g = g.to(out.device)  # the cotangent arrives from numpy, on the CPU
            g = g.conj() if out.is_complex() else g.to(out.dtype)
            (grad,) = torch.autograd.grad(out, xs[i], g, create_graph=True, allow_unused=True)
        return torch.zeros_like(xs[i]) if grad is None else grad

    return vjp


def _tensor(x) -> torch.Tensor:
    return torch.as_tensor(np.array(x))


def _numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()
