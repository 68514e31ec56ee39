"""One operation at a time: its matrix from resolved parameter values, and its application.

This is the generic path every fast path is checked against. It works on any tensor
whose axis 0 is a batch axis and whose wire axes are given by ``axis_of`` (so it serves
the full state, a fused block's identity matrix and the adjoint sweep alike).
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import torch

from . import gates as g
from .circuit import Circuit, Operation
from .kernels import apply_controlled, apply_dense, apply_diagonal, apply_permutation, inverse_permutation
from .params import resolve_param

__all__ = ["resolve_values", "op_matrix", "apply_op", "inverse_permutation", "dagger", "grouped_matrices", "permutation_image"]

_KERNELS = {
    g.Kind.DENSE: apply_dense,
    g.Kind.DIAGONAL: apply_diagonal,
    g.Kind.PERMUTATION: apply_permutation,
}

Values = list[torch.Tensor]  # one real tensor of shape (1,) or (B,) per gate parameter


def resolve_values(circuit: Circuit, bindings: Mapping, real: torch.dtype, dev: torch.device) -> list[Values]:
    """Every op's parameters as tensors (empty list for measurements and fixed gates)."""
    out: list[Values] = []
    for op in circuit.ops:
        params = op.params if isinstance(op, Operation) else ()
        out.append([resolve_param(p, bindings, real, dev) for p in params])
    return out


def dagger(kind: g.Kind, m):
    """The inverse of a gate's matrix: conjugate transpose, conjugate phases or the
    inverse permutation."""
    if kind is g.Kind.PERMUTATION:
        return inverse_permutation(m)
    return m.conj() if kind is g.Kind.DIAGONAL else m.conj().transpose(-1, -2)


def op_matrix(op: Operation, values: Values, dtype: torch.dtype, dev: torch.device):
    """The op's matrix ``(Bm, d, d)``, phases ``(Bm, d)`` or permutation, adjoint applied."""
    gate = op.gate
    if gate.kind is g.Kind.PERMUTATION:
        perm = gate.permutation if gate.permutation is not None else op.data  # a tuple, or a numpy array when large
        return dagger(gate.kind, perm) if op.adjoint else perm
    if gate.build is None:
        m = op.data.to(device=dev, dtype=dtype)
        m = m if op.data_batch is not None else m.unsqueeze(0)
    else:
        # Mixed shared (1,) and per-sample (B,) values broadcast to one shape for the builder.
        m = gate.build(list(torch.broadcast_tensors(*values)), dtype).to(dev)
    return dagger(gate.kind, m) if op.adjoint else m


def apply_op(state: torch.Tensor, op: Operation, matrix, axis_of: Mapping[int, int] | None = None) -> torch.Tensor:
    """Apply ``op`` (with its ``matrix`` from :func:`op_matrix`) out of place.

    ``axis_of`` maps wires to axes of ``state``; by default wire w is axis w + 1.
    """
    axes = [axis_of[w] if axis_of else w + 1 for w in op.wires]
    kernel = _KERNELS[op.gate.kind]

    def inner(sub: torch.Tensor, target_axes: list[int]) -> torch.Tensor:
        return kernel(sub, matrix, target_axes)

    if op.controls:
        controls = [axis_of[c] if axis_of else c + 1 for c in op.controls]
        return apply_controlled(state, controls, op.control_values, axes, inner)
    return inner(state, axes)


def grouped_matrices(
    ops: Sequence, values: list[Values], indices: Sequence[int], dtype: torch.dtype, dev: torch.device
) -> list[tuple[list[int], torch.Tensor]]:
    """Matrices of many parametrised ops, built one call per kind of gate.

    Returns ``(op indices, stacked)`` groups: ``stacked`` is ``(g, Bm, d, d)`` (or
    ``(g, Bm, d)`` for diagonal gates), adjoints applied. Ops of one gate, adjoint flag
    and batch size share a group, so their parameters are simply concatenated.
    """
    groups: dict[tuple, list[int]] = {}
    for i in indices:
        op = ops[i]
        batch = max((v.shape[0] for v in values[i]), default=1)
        groups.setdefault((op.gate, op.adjoint, batch), []).append(i)
    out = []
    for (gate, adjoint, batch), members in groups.items():
        columns = [torch.cat([values[i][p].expand(batch) for i in members]) for p in range(gate.n_params)]
        m = gate.build(columns, dtype).to(dev)  # (g * Bm, ...)
        if m.shape[0] != len(members) * batch:  # a constant gate: one matrix for all
            m = m.expand(len(members) * batch, *m.shape[1:])
        if adjoint:
            m = dagger(gate.kind, m)
        out.append((members, m.reshape(len(members), batch, *m.shape[1:])))
    return out


def permutation_image(ops: Sequence[Operation], wires: Sequence[int]) -> torch.Tensor:
    """Where each basis state of ``wires`` (``wires[0]`` the most significant bit) goes
    through a sequence of permutation gates, controlled or not: ``image[x]``.

    Integer bit arithmetic over all ``2**len(wires)`` indices at once; structure only, so
    callers cache the result with their plan.
    """
    k = len(wires)
    shift = {w: k - 1 - i for i, w in enumerate(wires)}
    # numpy, not torch: plans call this for many small blocks, where torch's per-op
    # overhead (several microseconds) dwarfs the arithmetic on a few dozen integers.
    x = np.arange(2**k, dtype=np.int64)
    for op in ops:
        perm = op.gate.permutation if op.gate.permutation is not None else op.data
        table = np.asarray(dagger(op.gate.kind, perm) if op.adjoint else perm, dtype=np.int64)
        local = np.zeros_like(x)
        for w in op.wires:
            local = (local << 1) | ((x >> shift[w]) & 1)
        moved = table[local]
        new = x.copy()
        for j, w in enumerate(reversed(op.wires)):
            new = (new & ~(1 << shift[w])) | (((moved >> j) & 1) << shift[w])
        active = np.ones(x.shape, dtype=bool)
        for c, v in zip(op.controls, op.control_values):
            active &= ((x >> shift[c]) & 1) == v
        x = np.where(active, new, x)
    return torch.from_numpy(x)
