"""Our engine, called the way a user would: ``hybrid.simulate`` and ``hybrid.expval``.

``hybrid.expval(circuit, observables, params, *, dtype, device, diff_method)`` is the
gradient entry point; the batched layer is ``hybrid.layers.QuantumLayer``.
"""

from __future__ import annotations

import numpy as np
import torch

import hybrid
from hybrid.layers import QuantumLayer

from .circuits import sel_hybrid, weight_names, z_sum

__all__ = ["expval", "state_fn", "sel_grad_fn", "batched_layer_fn", "weight_leaves"]


def expval(circuit, observables, params, *, dtype, device, diff_method: str) -> torch.Tensor:
    """<obs> (or a last axis over a list of observables), differentiable by ``diff_method``."""
    return hybrid.expval(circuit, observables, params, dtype=dtype, device=device, diff_method=diff_method)


def state_fn(circuit, dtype, device):
    """``fn() -> amplitudes``: one ``hybrid.simulate`` without autograd."""

    def fn():
        with torch.no_grad():
            return hybrid.simulate(circuit, dtype=dtype, device=device).vector

    return fn


def weight_leaves(weights: np.ndarray, device) -> dict[str, torch.Tensor]:
    """One 0-d float64 leaf tensor requiring grad per weight, keyed by symbol name."""
    layers, n, _ = weights.shape
    flat = np.asarray(weights, dtype=np.float64).reshape(-1)
    return {
        name: torch.tensor(value, dtype=torch.float64, device=device, requires_grad=True)
        for name, value in zip(weight_names(n, layers), flat)
    }


def _stack_grads(grads, shape) -> np.ndarray:
    return torch.stack(list(grads)).detach().cpu().numpy().reshape(shape)


def sel_grad_fn(weights: np.ndarray, dtype, device, diff_method: str):
    """``fn() -> (value, dE/dweights)`` for <sum Z_i> after 2-layer SEL; built once here."""
    layers, n, _ = weights.shape
    circuit = sel_hybrid(n, layers)
    obs = z_sum(n)
    leaves = weight_leaves(weights, device)
    inputs = list(leaves.values())

    def fn():
        value = expval(circuit, obs, leaves, dtype=dtype, device=device, diff_method=diff_method)
        grads = torch.autograd.grad(value, inputs)
        return float(value.detach().cpu()), _stack_grads(grads, weights.shape)

    return fn


def batched_layer_fn(x: np.ndarray, weights: np.ndarray, dtype, device, diff_method: str):
    """``fn() -> (outputs (B, n), d/dx (B, n), d/dweights)`` for a :class:`QuantumLayer`
    (RX angle encoding, StronglyEntanglingLayers, <Z_i> per wire) holding ``weights``.

    The layer's float dtype follows ``dtype`` (complex64 -> float32, complex128 ->
    float64), as it does for a user; the loss is the sum of all outputs."""
    layers, n, _ = weights.shape
    real = torch.float64 if dtype == torch.complex128 else torch.float32
    layer = QuantumLayer(n, layers, "angle", "strongly_entangling", "z", diff_method=diff_method, device=device, dtype=real)
    with torch.no_grad():
        layer.weights.copy_(torch.as_tensor(weights))
    xt = torch.tensor(x, dtype=real, device=device, requires_grad=True)

    def fn():
        out = layer(xt)
        gx, gw = torch.autograd.grad(out.sum(), [xt, layer.weights])
        return tuple(t.detach().cpu().numpy().astype(np.float64) for t in (out, gx, gw))

    return fn
