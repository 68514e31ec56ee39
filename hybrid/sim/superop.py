"""Superoperator fusion: a density-matrix run's plan, and its blocks' matrices.

A density matrix is stored with each wire's row and column bits side by side (see
:mod:`.density`), so the two axes of wire ``w`` are ``2w`` and ``2w + 1`` and a block of
gates *and channels* on the contiguous wires ``lo..hi`` acts on the contiguous axes
``2lo..2hi+1``: one ``4**k x 4**k`` matrix, one pass of the statevector engine's block
kernel. This is how Aer fuses noisy density-matrix circuits; without it every channel
would be a pass of its own, and a gate two (``U`` on the rows, ``conj(U)`` on the
columns). Blocks stay narrow (``FusionConfig.max_superop`` wires, 2 by default) because
their matrices grow as ``16**k``.

Like :mod:`.fuse`, the plan is structure only and cached per circuit version; the
block's matrix is built from the run's values by applying its instructions to an
identity with the generic kernels (fused and unfused agree by construction).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .channels import channel_operators, check_values
from .circuit import Circuit
from .gates import Kind
from .fuse import FusionConfig, InstructionStep, _cached, is_constant
from .instructions import Channel, Operation
from .kernels import apply_generic

__all__ = ["SuperopStep", "plan_superops", "superop_matrix", "channel_superop", "channel_operators_checked", "conjugate"]


@dataclass(frozen=True, eq=False)
class SuperopStep:
    """Gates and channels fused into one superoperator on the contiguous ``wires``."""

    ops: tuple[int, ...]
    wires: tuple[int, ...]
    constant: bool = False


def _fusable(op, limit: int) -> bool:
    if isinstance(op, Channel):
        wires = op.wires
    elif isinstance(op, Operation) and op.condition is None:
        wires = op.all_wires
    else:
        return False  # measurements, resets, conditioned gates run alone
    return max(wires) - min(wires) + 1 <= limit


def plan_superops(circuit: Circuit, config: FusionConfig) -> tuple:
    """Fuse ``circuit`` into :class:`SuperopStep` blocks of at most ``config.max_superop``
    contiguous wires (instructions that cannot fuse run alone); cached per version."""
    limit = config.max_superop

    def build() -> tuple:
        ops, n = circuit.ops, circuit.n_qubits
        done = [False] * len(ops)
        steps: list = []
        for start, op in enumerate(ops):
            if done[start]:
                continue
            done[start] = True
            if isinstance(op, Operation) and not op.all_wires:
                continue  # a global phase: U rho U^dagger leaves rho as it is
            if not _fusable(op, limit):
                steps.append(InstructionStep(start, constant=is_constant(op)))
                continue
            members, wires, blocked = [start], set(op.all_wires), set()
            for j in range(start + 1, min(len(ops), start + config.lookahead)):
                if done[j]:
                    continue
                other_wires = set(ops[j].all_wires)
                if not other_wires:
                    continue  # a global phase (skipped by the loop above)
                union = wires | other_wires
                if not (other_wires & blocked) and _fusable(ops[j], limit) and max(union) - min(union) + 1 <= limit:
                    members.append(j)
                    done[j] = True
                    wires = union
                    continue
                blocked |= other_wires  # later instructions on these wires must wait
                if len(blocked) >= n:
                    break
            lo, hi = min(wires), max(wires)
            if hi - lo + 1 < limit:  # pad to the full width where it fits: same cost, fewer ragged shapes
                hi = min(n - 1, lo + limit - 1)
                lo = max(0, hi - limit + 1)
            constant = all(is_constant(ops[i]) for i in members)
            steps.append(SuperopStep(tuple(members), tuple(range(lo, hi + 1)), constant))
        return tuple(steps)

    return _cached(circuit, (circuit.version, "superop", config), build)


def conjugate(kind: Kind, matrix):
    """A gate operator's complex conjugate (a permutation is real: itself)."""
    return matrix if kind is Kind.PERMUTATION else matrix.conj()


def channel_operators_checked(op: Channel, values: list, dtype, device):
    """A channel's operators from the run's values, checked first (symbols are only
    checked once bound)."""
    check_values(op.kind, values)
    return channel_operators(op.kind, values, op.data, dtype, device)


def channel_superop(kraus: torch.Tensor) -> torch.Tensor:
    """``sum_k K_k (x) conj(K_k)``, ``(Bm, d*d, d*d)``: indices (row, column) of rho's
    wires in, (row, column) out, row most significant."""
    d = kraus.shape[-1]
    return torch.einsum("bkij,bklm->biljm", kraus, kraus.conj()).reshape(-1, d * d, d * d)


def superop_matrix(step: SuperopStep, mats) -> torch.Tensor:
    """The block's superoperator ``(Bm, 4**k, 4**k)`` on its interleaved axes.

    Built as the images of the ``4**k`` basis matrices: ``cols[b, i]`` is the block applied
    to basis element ``i``, so the result is its transpose.
    """
    k, dtype, dev = len(step.wires), mats.dtype, mats.device
    size = 4**k
    local = {w: i for i, w in enumerate(step.wires)}
    row_axis = lambda w: 2 + 2 * local[w]  # noqa: E731  (axis 0: samples, 1: basis element)
    col_axis = lambda w: 3 + 2 * local[w]  # noqa: E731
    cols = torch.eye(size, dtype=dtype, device=dev).reshape((1, size) + (2,) * (2 * k))
    for i in step.ops:
        op = mats.ops[i]
        if isinstance(op, Channel):
            superop = channel_superop(channel_operators_checked(op, mats.values[i], dtype, dev).kraus)
            axes = [row_axis(w) for w in op.wires] + [col_axis(w) for w in op.wires]
            cols = _broadcast(cols, superop)
            cols = apply_generic(cols, Kind.DENSE, superop, axes)
            continue
        m = mats[i]
        kind = op.gate.kind
        cols = _broadcast(cols, m)
        cols = apply_generic(cols, kind, m, [row_axis(w) for w in op.wires], [row_axis(c) for c in op.controls],
                             op.control_values)  # fmt: skip
        conj = conjugate(kind, m)
        cols = apply_generic(cols, kind, conj, [col_axis(w) for w in op.wires], [col_axis(c) for c in op.controls],
                             op.control_values)  # fmt: skip
    batch = cols.shape[0]
    return cols.reshape(batch, size, size).transpose(-1, -2).contiguous()


def _broadcast(cols: torch.Tensor, m) -> torch.Tensor:
    """Expand the identity images to a per-sample batch when an operator is per sample."""
    if isinstance(m, torch.Tensor) and m.shape[0] > cols.shape[0]:
        return cols.expand(m.shape[0], *cols.shape[1:])
    return cols


