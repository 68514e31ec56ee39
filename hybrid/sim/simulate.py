"""simulate(circuit) -> State: run the operations over a batched statevector.

Mid-circuit measurement semantics: each sample of the batch follows its own trajectory.
A measurement draws its outcome from the sample's current state (seeded), collapses and
renormalises the state, and records the bit; ``reset`` then flips the wire back to |0>
if it read 1. A conditioned gate acts only in the samples whose recorded bits match.
To draw many trajectories of one circuit, run it with a batch (for example a batched
``initial_state`` or batched parameters).
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import torch

from . import gates as g
from .circuit import Circuit, Measure, Operation
from .device import check_complex_dtype, real_dtype_of, resolve_device
from .kernels import apply_controlled, apply_dense, apply_diagonal, apply_permutation
from .memory import check_fits
from .params import bind_parameters, resolve_param
from .state import State

__all__ = ["simulate"]

_KERNELS = {
    g.Kind.DENSE: apply_dense,
    g.Kind.DIAGONAL: apply_diagonal,
    g.Kind.PERMUTATION: apply_permutation,
}


def simulate(
    circuit: Circuit,
    params: Mapping[str, object] | Sequence[object] | torch.Tensor | None = None,
    *,
    initial_state: torch.Tensor | np.ndarray | int | None = None,
    dtype: torch.dtype = torch.complex64,
    device: str | torch.device = "auto",
    seed: int | None = None,
) -> State:
    """Simulate ``circuit`` and return its :class:`State`.

    Args:
        circuit: the circuit to run.
        params: values for the circuit's symbolic parameters, by name (a mapping) or in
            the order of ``circuit.parameters`` (a sequence or a ``(P,)``/``(B, P)``
            tensor). Each value is a number, a 0-d tensor or a 1-d tensor of length B.
        initial_state: a basis-state index, or amplitudes ``(2**n,)`` / ``(B, 2**n)``;
            default |0...0>.
        dtype: ``torch.complex64`` (default) or ``torch.complex128``.
        device: ``"auto"`` (CUDA when present), ``"cpu"``, ``"cuda"`` or a device.
        seed: seeds mid-circuit measurement outcomes; same seed, same trajectory.
    """
    if not isinstance(circuit, Circuit):
        raise TypeError(f"simulate() takes a hybrid Circuit; got {type(circuit).__name__}")
    dtype = check_complex_dtype(dtype)
    dev = resolve_device(device)
    real = real_dtype_of(dtype)
    n = circuit.n_qubits
    bindings = bind_parameters(circuit.parameters, params)
    batch, batched = _batch_size(circuit, bindings, initial_state)
    tracking_grad = torch.is_grad_enabled() and _any_requires_grad(circuit, bindings, initial_state)
    check_fits(n, batch, dtype, dev, stored_states=len(circuit.ops) if tracking_grad else 0)

    psi = _initial_state(initial_state, n, batch, dtype, dev)  # (B, 2, ..., 2)
    bits = torch.zeros((batch, circuit.n_clbits), dtype=torch.long, device=dev)
    gen = torch.Generator().manual_seed(seed) if seed is not None else None
    for op in circuit.ops:
        if isinstance(op, Measure):
            psi = _measure(psi, op, bits, gen)
            continue
        updated = _apply_operation(psi, op, bindings, dtype, real, dev)
        if op.condition is not None:
            mask = _condition_mask(op, bits).reshape((batch,) + (1,) * n)
            updated = torch.where(mask, updated, psi)
        psi = updated
    return State(psi.reshape(batch, 2**n), n, batched, bits)


# --- pieces ---------------------------------------------------------------------------------


def _batch_size(circuit: Circuit, bindings: dict, initial_state) -> tuple[int, bool]:
    """The batch size every batched input agrees on; ``(1, False)`` when nothing is batched."""
    sizes: dict[str, int] = {}
    for name, value in bindings.items():
        if isinstance(value, torch.Tensor) and value.dim() == 1:
            sizes[f"parameter {name!r}"] = value.shape[0]
    for k, op in enumerate(circuit.ops):
        if not isinstance(op, Operation):
            continue
        for p in op.params:
            if isinstance(p, torch.Tensor) and p.dim() == 1:
                sizes[f"op {k} ({op.name}) parameter"] = p.shape[0]
        if isinstance(op.data, torch.Tensor) and op.data.dim() == (3 if op.gate is g.UNITARY else 2):
            sizes[f"op {k} ({op.name}) matrix"] = op.data.shape[0]
    if isinstance(initial_state, torch.Tensor | np.ndarray) and initial_state.ndim == 2:
        sizes["initial_state"] = initial_state.shape[0]
    if 0 in sizes.values():
        raise ValueError("a batched input has length 0; the batch size must be at least 1")
    distinct = set(sizes.values()) - {1}  # length-1 inputs broadcast, as in numpy/torch
    if len(distinct) > 1:
        detail = ", ".join(f"{k} has batch {v}" for k, v in sizes.items())
        raise ValueError(f"batch-size mismatch: {detail}; every batched input must have the same length (or 1)")
    if not sizes:
        return 1, False
    return (distinct.pop() if distinct else 1), True


def _any_requires_grad(circuit: Circuit, bindings: dict, initial_state) -> bool:
    values = list(bindings.values()) + [initial_state]
    for op in circuit.ops:
        if isinstance(op, Operation):
            values.extend(op.params)
            values.append(op.data)
    return any(isinstance(v, torch.Tensor) and v.requires_grad for v in values)


def _initial_state(init, n: int, batch: int, dtype: torch.dtype, dev: torch.device) -> torch.Tensor:
    shape = (batch,) + (2,) * n
    if init is None or isinstance(init, int | np.integer):
        index = 0 if init is None else int(init)
        if not 0 <= index < 2**n:
            raise ValueError(f"initial basis state {index} is out of range for {n} qubit(s) (0..{2**n - 1})")
        psi = torch.zeros((batch, 2**n), dtype=dtype, device=dev)
        psi[:, index] = 1
        return psi.reshape(shape)
    vec = init if isinstance(init, torch.Tensor) else torch.as_tensor(np.asarray(init))
    if vec.shape[-1] != 2**n or vec.dim() not in (1, 2):
        raise ValueError(
            f"initial_state must have shape ({2**n},) or (B, {2**n}) for {n} qubit(s); got {tuple(vec.shape)}"
        )
    vec = vec.to(device=dev, dtype=dtype)
    norms = vec.abs().pow(2).sum(-1).detach()
    tol = 1e-10 if dtype == torch.complex128 else 1e-5  # summation error grows ~log(2**n), not 2**n
    if (norms - 1).abs().max().item() > tol * max(1, n):
        raise ValueError(f"initial_state must be normalised (sum |amplitude|^2 = 1); got norm^2 {norms.tolist()}")
    return vec.expand(batch, 2**n).reshape(shape)


def _gate_matrix(op: Operation, bindings: dict, dtype, real, dev) -> torch.Tensor | tuple[int, ...]:
    """The op's matrix ``(Bm, d, d)``, phases ``(Bm, d)`` or permutation, adjoint applied."""
    gate = op.gate
    if gate.kind is g.Kind.PERMUTATION:
        perm = gate.permutation if gate.permutation is not None else op.data
        if op.adjoint:
            inverse = [0] * len(perm)
            for x, y in enumerate(perm):
                inverse[y] = x
            perm = tuple(inverse)
        return perm
    if gate.build is None:
        m = op.data.to(device=dev, dtype=dtype)
        m = m.unsqueeze(0) if m.dim() == (2 if gate.kind is g.Kind.DENSE else 1) else m
    else:
        # Mixed shared (1,) and per-sample (B,) values broadcast to one shape for the builder.
        values = list(torch.broadcast_tensors(*(resolve_param(p, bindings, real, dev) for p in op.params)))
        m = gate.build(values, dtype).to(dev)
    if op.adjoint:
        m = m.conj() if gate.kind is g.Kind.DIAGONAL else m.conj().transpose(-1, -2)
    return m


def _apply_operation(psi: torch.Tensor, op: Operation, bindings: dict, dtype, real, dev) -> torch.Tensor:
    m = _gate_matrix(op, bindings, dtype, real, dev)
    kernel = _KERNELS[op.gate.kind]
    axes = [w + 1 for w in op.wires]

    def inner(state: torch.Tensor, target_axes: list[int]) -> torch.Tensor:
        return kernel(state, m, target_axes)

    if op.controls:
        return apply_controlled(psi, [c + 1 for c in op.controls], op.control_values, axes, inner)
    return inner(psi, axes)


def _condition_mask(op: Operation, bits: torch.Tensor) -> torch.Tensor:
    cond = op.condition
    want = torch.tensor(cond.bit_values(), dtype=bits.dtype, device=bits.device)
    return (bits[:, list(cond.clbits)] == want).all(dim=1)  # (B,)


def _measure(psi: torch.Tensor, op: Measure, bits: torch.Tensor, gen: torch.Generator | None) -> torch.Tensor:
    """Collapse ``op.wire`` per sample, record the outcome, optionally reset to |0>."""
    batch, axis = psi.shape[0], op.wire + 1
    weight = (psi.real**2 + psi.imag**2).select(axis, 1).reshape(batch, -1).sum(-1)  # P(1), (B,)
    u = torch.rand(batch, generator=gen, dtype=torch.float64).to(psi.device)
    outcome = u < weight.detach().to(torch.float64)  # (B,) bool
    shape = [batch] + [1] * (psi.dim() - 1)
    shape[axis] = 2
    keep = torch.stack([~outcome, outcome], dim=1).reshape(shape)
    p = torch.where(outcome, weight, 1 - weight).clamp_min(torch.finfo(weight.dtype).tiny)
    psi = psi * keep / p.sqrt().reshape([batch] + [1] * (psi.dim() - 1))
    if op.clbit is not None:
        bits[:, op.clbit] = outcome.long()
    if op.reset:
        psi = torch.where(outcome.reshape([batch] + [1] * (psi.dim() - 1)), torch.flip(psi, (axis,)), psi)
    return psi

