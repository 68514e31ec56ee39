"""Values -> operators: the matrices, phase vectors and permutations a run applies.

:func:`op_matrix` builds one gate's operator from its resolved parameter values;
:func:`step_operator` builds a fused step's operator, applying the block's gates to an
identity with the same generic kernels the unfused path uses (so fused and unfused agree
by construction). A *constant* step (every gate fixed by the circuit alone, as in
Grover's diffuser or Shor's adders) has the same operator on every run: it is built once
per (dtype, device) and kept in a weak mapping on the step, so it lives and dies with
the plan.
"""

from __future__ import annotations

import weakref
from typing import Mapping, Sequence

import numpy as np
import torch

from . import gates as g
from .circuit import Circuit
from .fuse import DenseStep, PhaseStep, ProductStep, Segment, SegmentKind, Step
from .instructions import Operation
from .kernels import PermutationIndex, apply_generic, index_tensor, inverse_permutation
from .params import resolve_param

__all__ = [
    "Values", "OpMatrices", "resolve_values", "dagger", "op_matrix", "grouped_matrices", "parametrised_matrices",
    "block_operator", "step_operator", "instruction_operator", "product_state", "cached_operators", "cached_or_built",
]  # fmt: skip

Values = list[torch.Tensor]  # one real tensor of shape (1,) or (B,) per gate parameter


def resolve_values(circuit: Circuit, bindings: Mapping, real: torch.dtype, dev: torch.device) -> list[Values]:
    """Every instruction's parameters as tensors (an empty list where it has none)."""
    return [[resolve_param(p, bindings, real, dev) for p in op.params] for op in circuit.ops]


def dagger(kind: g.Kind, m):
    """The inverse of a gate's operator: conjugate transpose, conjugate phases or the
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
        m = m if op.batch_size is not None else m.unsqueeze(0)
    else:
        # Mixed shared (1,) and per-sample (B,) values broadcast to one shape for the builder.
        m = gate.build(list(torch.broadcast_tensors(*values)), dtype).to(dev)
    return dagger(gate.kind, m) if op.adjoint else m


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


def parametrised_matrices(ops: Sequence, values: list[Values], indices: Sequence[int], dtype, dev) -> dict:
    """``{op index: matrix}`` for the parametrised ops among ``indices``, built by kind."""
    wanted = [i for i in indices if ops[i].gate.build is not None and ops[i].gate.n_params]
    return {i: m for members, stacked in grouped_matrices(ops, values, wanted, dtype, dev)
            for i, m in zip(members, stacked)}  # fmt: skip


class OpMatrices:
    """Every instruction's operator for one run, by op index.

    The gates whose numbers change from run to run are built together on first need, one
    call per kind of gate for the whole circuit (two layers of n rotations cost a few torch
    operations, not a few per gate or per layer), and kept for the run (a few small
    matrices per gate, ``(Bm, d, d)`` each); ``skip`` names ops whose steps keep their
    operators cached, which are not built. Anything else is built alone when asked for.
    """

    def __init__(self, ops, values: list, dtype: torch.dtype, device: torch.device, skip=frozenset()):
        self.ops, self.values, self.dtype, self.device = ops, values, dtype, device
        self._skip = skip
        self._built: dict | None = None
        # The first request may come from inside a constant step's no_grad build: the batch
        # is built in the grad mode of the run, not of its first caller.
        self._grad = torch.is_grad_enabled()

    def __getitem__(self, i: int):
        if self._built is None:
            # Conditioned gates are built alone, when a trajectory meets their condition.
            wanted = [j for j, op in enumerate(self.ops) if j not in self._skip and isinstance(op, Operation)
                      and op.condition is None]  # fmt: skip
            with torch.set_grad_enabled(self._grad):
                self._built = parametrised_matrices(self.ops, self.values, wanted, self.dtype, self.device)
        m = self._built.get(i)
        return m if m is not None else op_matrix(self.ops[i], self.values[i], self.dtype, self.device)


# --- fused steps ----------------------------------------------------------------------------

# step -> {(dtype, device): operator}: the operators of constant steps. Weak: the cache
# entry goes with its step, that is with the plan (and so with the circuit).
_BUILT: "weakref.WeakKeyDictionary[Step, dict]" = weakref.WeakKeyDictionary()


def cached_operators(step: Step) -> dict:
    """The operators kept for a constant step, by (dtype, device) (empty otherwise)."""
    return _BUILT.get(step, {})


def cached_or_built(step, dtype: torch.dtype, dev: torch.device, build):
    """``build()`` once per (dtype, device) for a constant step; afresh for any other."""
    if not step.constant:
        return build()
    per_step = _BUILT.setdefault(step, {})
    key = (dtype, dev)
    if key not in per_step:
        with torch.no_grad():  # nothing to differentiate; never keep a graph in a cache
            per_step[key] = build()
    return per_step[key]


def step_operator(step: DenseStep | PhaseStep, mats: OpMatrices):
    """:func:`block_operator`, built once per (dtype, device) for a constant step and then
    reused; built afresh on every run for a step whose gates depend on the run's values."""
    return cached_or_built(step, mats.dtype, mats.device, lambda: block_operator(step, mats))


def instruction_operator(step, mats: OpMatrices):
    """A lone gate's :func:`op_matrix`, made once per (dtype, device) when the gate is
    constant; a large permutation table comes with its gather index."""

    def build():
        m = mats[step.op]
        return PermutationIndex.of(m, mats.device) if step.constant and isinstance(m, np.ndarray) else m

    return cached_or_built(step, mats.dtype, mats.device, build)


def block_operator(step: DenseStep | PhaseStep, mats: OpMatrices):
    """The fused matrix ``(Bm, d, d)`` (dense) or phase vector ``(Bm, d)`` (phase) of a block.

    Index order: ``step.wires`` (sorted) with the first wire most significant.
    """
    k, d, dtype, dev = len(step.wires), 2 ** len(step.wires), mats.dtype, mats.device
    if isinstance(step, PhaseStep):
        axis_of = {w: i + 2 for i, w in enumerate(step.wires)}
        phases = [mats[i] for i in step.ops]
        batch = max(m.shape[0] for m in phases)
        acc = torch.ones((batch, 1) + (2,) * k, dtype=dtype, device=dev)
        for i, m in zip(step.ops, phases):
            acc = _apply_to_grid(acc, mats.ops[i], m, axis_of)
        return acc.reshape(batch, d)
    # rows[b, i, :] = U e_i, i.e. rows = U^T: a later gate G maps rows to rows @ G^T.
    rows = None
    for segment in step.program:
        rows = _apply_segment(rows, segment, step, mats)
    if rows is None:
        return torch.eye(d, dtype=dtype, device=dev).unsqueeze(0)
    return rows.transpose(-1, -2).contiguous()  # strided U: slow matmul


def _apply_to_grid(grid: torch.Tensor, op: Operation, matrix, axis_of: Mapping[int, int]) -> torch.Tensor:
    """The generic kernel on a block's grid, wires placed by ``axis_of``."""
    targets = [axis_of[w] for w in op.wires]
    controls = [axis_of[c] for c in op.controls]
    return apply_generic(grid, op.gate.kind, matrix, targets, controls, op.control_values)


def _layer_matrix(segment: Segment, mats: OpMatrices, wires) -> torch.Tensor:
    """Kronecker product ``(Bm, d, d)`` of one layer's single-qubit gates, identity elsewhere."""
    per_wire: dict[int, torch.Tensor] = {}
    for i in segment.ops:
        m = mats[i]
        per_wire[mats.ops[i].wires[0]] = torch.diag_embed(m) if m.dim() == 2 else m  # phases (Bm, 2)
    eye = torch.eye(2, dtype=mats.dtype, device=mats.device).unsqueeze(0)
    out = None
    for w in wires:
        m = per_wire.get(w, eye)
        out = m if out is None else torch.einsum("...ij,...kl->...ikjl", out, m).reshape(
            max(out.shape[0], m.shape[0]), out.shape[-1] * 2, out.shape[-1] * 2
        )
    return out


def _apply_segment(rows, segment: Segment, step: DenseStep, mats: OpMatrices):
    d = 2 ** len(step.wires)
    if segment.kind is SegmentKind.LAYER:
        layer = _layer_matrix(segment, mats, step.wires)
        return layer.transpose(-1, -2) if rows is None else rows @ layer.transpose(-1, -2)
    if rows is None:
        rows = torch.eye(d, dtype=mats.dtype, device=mats.device).unsqueeze(0)
    if segment.kind is SegmentKind.PERMUTE:
        return rows.index_select(-1, index_tensor(segment.index_map, mats.device))
    i = segment.ops[0]
    m = mats[i]
    batch = max(rows.shape[0], m.shape[0] if isinstance(m, torch.Tensor) else 1)
    axis_of = {w: j + 2 for j, w in enumerate(step.wires)}
    grid = rows.expand(batch, d, d).reshape((batch, d) + (2,) * len(step.wires))
    return _apply_to_grid(grid, mats.ops[i], m, axis_of).reshape(batch, d, d)


def product_state(step: ProductStep, mats: OpMatrices, n: int, index: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The state a product step makes from basis state ``index``, as two factors: the
    first half of the wires ``(Bm, 2**h)`` and the rest ``(Bm, 2**(n-h))``, whose
    Kronecker product is the state (so the full state is written once, straight into the
    state's buffer, with no state-sized temporaries). Each wire's two-vector is its basis
    bit through its gates."""
    ops = mats.ops
    per_wire: dict[int, list[int]] = {w: [] for w in range(n)}
    for i in step.ops:
        per_wire[ops[i].wires[0]].append(i)
    vectors = [_wire_vector([(ops[i].gate.kind, mats[i]) for i in per_wire[w]], (index >> (n - 1 - w)) & 1, mats)
               for w in range(n)]  # fmt: skip
    half = n // 2
    return _kron(vectors[:half], mats), _kron(vectors[half:], mats)


def _kron(vectors: list[torch.Tensor], mats: OpMatrices) -> torch.Tensor:
    """Kronecker product of ``(Bm, 2)`` vectors, first most significant; ``(1, 1)`` of none."""
    out = torch.ones((1, 1), dtype=mats.dtype, device=mats.device)
    for v in vectors:
        out = (out.unsqueeze(-1) * v.unsqueeze(-2)).reshape(max(len(out), len(v)), -1)
    return out


def _wire_vector(gates: list, bit: int, mats: OpMatrices) -> torch.Tensor:
    """``(Bm, 2)``: basis state ``bit`` through one wire's gates, in order. The first gate
    picks a column of its matrix (no product with a basis vector)."""
    v = None
    for kind, m in gates:
        if kind is g.Kind.PERMUTATION:  # |x> -> |perm[x]>: new[y] = old[inverse[y]]
            v = _basis(int(m[bit]), mats) if v is None else v[:, list(dagger(kind, m))]
        elif v is None:
            v = m[:, :, bit] if kind is g.Kind.DENSE else m * _basis(bit, mats)
        elif kind is g.Kind.DIAGONAL:
            v = v * m
        else:
            v = (m @ v.unsqueeze(-1)).squeeze(-1)
    return _basis(bit, mats) if v is None else v


def _basis(bit: int, mats: OpMatrices) -> torch.Tensor:
    """|bit> as a ``(1, 2)`` vector."""
    v = torch.zeros((1, 2), dtype=mats.dtype, device=mats.device)
    v[0, bit] = 1
    return v
