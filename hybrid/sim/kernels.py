"""Pure tensor functions beneath :class:`~hybrid.sim.statevector.StateVector`.

A kernel takes a tensor of shape ``(B, 2, 2, ..., 2)`` (the batch axis first, then one
axis per wire) and the *axes* it acts on, and returns the new tensor, differentiable end
to end; which wire sits on which axis is the state object's business (wire ``w`` on axis
``w + 1``), and fused blocks reuse the same kernels on their identity grids.

Kernels also accept a sub-state with fewer axes (what is left after fixing control
wires), which is how controlled gates touch only their control=1 slice.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch

from .gates import Kind

__all__ = [
    "apply_dense", "apply_diagonal", "apply_permutation", "apply_controlled", "apply_generic", "apply_block",
    "apply_phase_block", "apply_inplace", "cross_matrix", "PermutationIndex",
]  # fmt: skip

Axes = Sequence[int]


def apply_dense(psi: torch.Tensor, matrix: torch.Tensor, axes: Axes) -> torch.Tensor:
    """Apply a dense ``(Bm, d, d)`` matrix (``Bm`` is 1 or B) on ``axes``."""
    k = len(axes)
    targets = list(range(psi.dim() - k, psi.dim()))
    moved = torch.movedim(psi, list(axes), targets)  # (B, ...rest, 2, ..., 2)
    shape = moved.shape
    d = math.prod(psi.shape[a] for a in axes)  # 2**k, or more when axes are merged wire groups
    flat = moved.reshape(shape[0], -1, d)  # (B, R, d)
    out = torch.matmul(flat, matrix.transpose(-1, -2))  # row-vector form: psi' = psi M^T
    return torch.movedim(out.reshape(shape), targets, list(axes))


def apply_diagonal(psi: torch.Tensor, phases: torch.Tensor, axes: Axes, inplace: bool = False) -> torch.Tensor:
    """Multiply by a ``(Bm, d)`` phase vector indexed by the bits on ``axes`` (first axis MSB)."""
    k = len(axes)
    shape = [phases.shape[0]] + [1] * (psi.dim() - 1)
    if k == 0:  # a global phase: one number per sample
        grid = phases.reshape(shape)
    else:
        order = sorted(range(k), key=lambda i: axes[i])
        grid = phases.reshape((phases.shape[0],) + (2,) * k).permute(0, *(1 + i for i in order))
        for a in axes:
            shape[a] = 2
        grid = grid.reshape(shape)
    return psi.mul_(grid) if inplace else psi * grid


def inverse_permutation(perm: Sequence[int] | np.ndarray) -> tuple[int, ...] | np.ndarray:
    """The inverse table, of the same type (a tuple, or a numpy array for large tables)."""
    if isinstance(perm, np.ndarray):
        inverse_a = np.empty_like(perm)
        inverse_a[perm] = np.arange(len(perm))
        return inverse_a
    inverse = [0] * len(perm)
    for x, y in enumerate(perm):
        inverse[y] = x
    return tuple(inverse)


@dataclass(frozen=True, eq=False)
class PermutationIndex:
    """A large permutation table together with the gather index that applies it.

    Inverting a table of 2**20 entries and copying it to the device costs about as much
    as the gather itself, so plans make this once (``PermutationIndex.of``) and pass it
    wherever a table is accepted.
    """

    table: np.ndarray  # |x> -> |table[x]>
    index: torch.Tensor  # the inverse table, on the state's device: new[y] = old[index[y]]

    @staticmethod
    def of(table: np.ndarray, device: torch.device) -> "PermutationIndex":
        return PermutationIndex(table, torch.from_numpy(inverse_permutation(table)).to(device))

    def __len__(self) -> int:
        return len(self.table)


@functools.lru_cache(maxsize=256)
def index_tensor(index: tuple[int, ...], device: torch.device) -> torch.Tensor:
    """A gather index as a tensor, made once per (index, device): plans reuse them every run."""
    return torch.tensor(index, dtype=torch.long, device=device)


def apply_permutation(psi: torch.Tensor, perm: Sequence[int], axes: Axes) -> torch.Tensor:
    """Map basis state |x> to |perm[x]> on ``axes`` (x read with ``axes[0]`` as MSB)."""
    k = len(axes)
    if k == 1 and tuple(perm) == (1, 0):  # X: a flip is a strided copy, no index tensor
        return torch.flip(psi, dims=(axes[0],))
    if isinstance(perm, PermutationIndex):  # inverted once by the plan
        index = perm.index.to(psi.device)
    elif isinstance(perm, np.ndarray):  # a large table outside a plan: too big to hash and cache
        index = torch.from_numpy(inverse_permutation(perm)).to(psi.device)
    else:
        index = index_tensor(inverse_permutation(perm), psi.device)
    targets = list(range(psi.dim() - k, psi.dim()))
    moved = torch.movedim(psi, list(axes), targets)
    shape = moved.shape
    out = moved.reshape(shape[: psi.dim() - k] + (2**k,)).index_select(-1, index)
    return torch.movedim(out.reshape(shape), targets, list(axes))


def apply_controlled(
    psi: torch.Tensor,
    control_axes: Axes,
    control_values: Sequence[int],
    target_axes: Axes,
    inner: Callable[[torch.Tensor, list[int]], torch.Tensor],
) -> torch.Tensor:
    """Apply ``inner`` to the slice where the control axes hold ``control_values`` only.

    ``inner(sub_state, sub_axes)`` is another kernel; ``sub_axes`` are the target axes
    renumbered for the sub-state (the control axes are gone from it).
    """
    index: list[object] = [slice(None)] * psi.dim()
    for a, v in zip(control_axes, control_values):
        index[a] = v
    sub_axes = [a - sum(c < a for c in control_axes) for a in target_axes]
    out = psi.clone()
    out[tuple(index)] = inner(psi[tuple(index)], sub_axes)
    return out


_KERNELS = {Kind.DENSE: apply_dense, Kind.DIAGONAL: apply_diagonal, Kind.PERMUTATION: apply_permutation}


def apply_generic(
    psi: torch.Tensor,
    kind: Kind,
    matrix,
    target_axes: Axes,
    control_axes: Axes = (),
    control_values: Sequence[int] = (),
) -> torch.Tensor:
    """Any gate, out of place: the kernel for its ``kind``, on its control slice only.

    The generic path every fast path is checked against; it serves whole states, fused
    blocks' identity grids and the adjoint sweep alike (the caller places wires on axes).
    """
    kernel = _KERNELS[kind]

    def inner(sub: torch.Tensor, axes: list[int]) -> torch.Tensor:
        return kernel(sub, matrix, axes)

    if control_axes:
        return apply_controlled(psi, control_axes, control_values, target_axes, inner)
    return inner(psi, list(target_axes))


def cross_matrix(
    lam: torch.Tensor,
    psi: torch.Tensor,
    target_axes: Axes,
    control_axes: Axes = (),
    control_values: Sequence[int] = (),
    diagonal: bool = False,
) -> torch.Tensor:
    """``M`` with <lam| U |psi> = sum(U * M) for any U on the target axes, inside the
    control slice: ``(B, d, d)``, or ``(B, d)`` for a diagonal U (the adjoint method's
    overlap of two states around one gate)."""
    index: list[object] = [slice(None)] * psi.dim()
    for a, v in zip(control_axes, control_values):
        index[a] = v
    lam_s, psi_s = lam[tuple(index)], psi[tuple(index)]
    axes = [a - sum(c < a for c in control_axes) for a in target_axes]
    k, batch = len(axes), psi.shape[0]
    if diagonal:
        # Sum conj(lam) * psi over every axis but the targets, in the targets' order.
        prod = lam_s.conj() * psi_s
        others = [a for a in range(1, prod.dim()) if a not in axes]
        reduced = prod.sum(dim=others) if others else prod
        order = sorted(range(k), key=lambda i: axes[i])
        return reduced.permute(0, *(1 + order.index(i) for i in range(k))).reshape(batch, 2**k)
    if k == 1:  # the common case: four overlaps of half-states, one half-size temporary
        a = axes[0]
        halves_l = [lam_s.select(a, bit) for bit in (0, 1)]
        halves_p = [psi_s.select(a, bit) for bit in (0, 1)]
        entries = [[(x.conj() * y).reshape(batch, -1).sum(-1) for y in halves_p] for x in halves_l]
        return torch.stack([torch.stack(row, -1) for row in entries], -2)  # (B, 2, 2)
    ends = list(range(lam_s.dim() - k, lam_s.dim()))
    rows_l = torch.movedim(lam_s, axes, ends).reshape(batch, -1, 2**k)  # (B, R, d)
    rows_p = torch.movedim(psi_s, axes, ends).reshape(batch, -1, 2**k)
    return rows_l.conj().transpose(-1, -2) @ rows_p  # (B, d, d): M[i, j] = sum_r conj(l_ri) p_rj


# --- fused blocks on the flat state ``(B, 2**n)`` --------------------------------------------
#
# A block acts on sorted wires. Runs of neighbouring wires (and of untouched wires) are
# merged into single axes, so views stay low-dimensional whatever n is.

# Below this many trailing amplitudes, U @ (d, R) slices is a swarm of tiny GEMMs; a
# transpose to (R, d) rows and one big GEMM is faster (measured on a 2-core CPU).
_MIN_TRAILING_FOR_LEFT_MATMUL = 16


def segments(n: int, wires: Sequence[int]) -> tuple[list[int], list[int]]:
    """Shape of a state grouped around sorted ``wires``, and the axes that hold them."""
    shape: list[int] = []
    axes: list[int] = []
    previous, i = -1, 0
    while i < len(wires):
        j = i
        while j + 1 < len(wires) and wires[j + 1] == wires[j] + 1:
            j += 1
        if wires[i] - previous - 1:
            shape.append(2 ** (wires[i] - previous - 1))
        axes.append(len(shape))
        shape.append(2 ** (j - i + 1))
        previous, i = wires[j], j + 1
    if n - 1 - previous:
        shape.append(2 ** (n - 1 - previous))
    return shape, axes


def apply_phase_block(psi: torch.Tensor, phases: torch.Tensor, wires: Sequence[int], n: int, inplace: bool):
    """Multiply ``psi`` by a ``(Bm, 2**k)`` phase vector over sorted ``wires``: one pass."""
    shape, axes = segments(n, wires)
    view = psi.view([psi.shape[0]] + shape)
    grid_shape = [phases.shape[0]] + [1] * len(shape)
    for a in axes:
        grid_shape[1 + a] = shape[a]
    grid = phases.reshape(grid_shape)
    if inplace:
        view.mul_(grid)
        return psi
    return (view * grid).reshape(psi.shape)


def apply_block(psi: torch.Tensor, matrix: torch.Tensor, wires: Sequence[int], n: int, out=None) -> torch.Tensor:
    """Apply a ``(Bm, d, d)`` matrix on sorted ``wires`` of ``psi`` ``(B, 2**n)``.

    Contiguous wires need no reordering: the state is viewed as ``(B, L, d, R)`` and
    multiplied in place of a permute. ``out`` (same shape as ``psi``) avoids allocating.
    """
    batch, d = psi.shape[0], matrix.shape[-1]
    contiguous = wires[-1] - wires[0] + 1 == len(wires)
    if not contiguous:
        shape, axes = segments(n, wires)
        grouped = psi.view([batch] + shape)
        result = apply_dense(grouped, matrix, [1 + a for a in axes]).reshape(psi.shape)
        return out.copy_(result) if out is not None else result
    left, right = 2 ** wires[0], 2 ** (n - 1 - wires[-1])
    # One matrix for every sample: fold the batch into the left axis (one big GEMM
    # instead of a broadcast batch of small ones).
    lead = (1, batch * left) if matrix.shape[0] == 1 else (batch, left)
    m = matrix.unsqueeze(1)  # (Bm, 1, d, d): broadcast over the L axis
    if right == 1:
        v = psi.view(*lead, d)
        target = out.view(*lead, d) if out is not None else None
        res = torch.matmul(v, m.squeeze(1).transpose(-1, -2), out=target)
    elif right >= _MIN_TRAILING_FOR_LEFT_MATMUL:
        v = psi.view(*lead, d, right)
        target = out.view(*lead, d, right) if out is not None else None
        res = torch.matmul(m, v, out=target)
    elif d == 2:  # one wire, few trailing amplitudes: two fused multiply-adds beat tiny GEMMs
        v = psi.view(*lead, 2, right)
        u = matrix.reshape(matrix.shape[0], 1, 2, 2, 1)  # coefficients broadcast over (L, R)
        a0, a1 = v[:, :, 0], v[:, :, 1]
        res = torch.stack([a0 * u[:, :, 0, 0] + a1 * u[:, :, 0, 1], a0 * u[:, :, 1, 0] + a1 * u[:, :, 1, 1]], dim=2)
        return out.view(psi.shape).copy_(res.view(psi.shape)) if out is not None else res.reshape(psi.shape)
    else:
        rows = psi.view(*lead, d, right).transpose(-1, -2)  # (B, L, R, d)
        res = torch.matmul(rows, m.transpose(-1, -2)).transpose(-1, -2)
        if out is not None:
            return out.view(*lead, d, right).copy_(res).view(psi.shape)
        return res.reshape(psi.shape)
    return res.reshape(psi.shape)


# --- in-place single operations (no autograd): touch only what changes ---------------------


def _swap_slices(a: torch.Tensor, b: torch.Tensor) -> None:
    tmp = a.clone()
    a.copy_(b)
    b.copy_(tmp)


def apply_inplace(
    psi: torch.Tensor,
    kind: Kind,
    matrix,
    target_axes: Axes,
    control_axes: Axes = (),
    control_values: Sequence[int] = (),
) -> bool:
    """Apply one op to ``psi`` ``(B, 2, ..., 2)`` in place; False if there is no fast path.

    X and SWAP (controlled or not) exchange two slices; diagonal gates multiply their
    control slice; controlled dense and permutation gates rewrite their control slice only; a one-wire
    dense gate updates both halves with one half-size temporary.
    """
    index: list[object] = [slice(None)] * psi.dim()
    for a, v in zip(control_axes, control_values):
        index[a] = v

    def part(fixed: dict[int, int]) -> torch.Tensor:
        sub = list(index)
        for axis, value in fixed.items():
            sub[axis] = value
        return psi[tuple(sub)]

    if kind is Kind.PERMUTATION and len(matrix) == 2 and tuple(matrix) == (1, 0):
        t = target_axes[0]
        _swap_slices(part({t: 0}), part({t: 1}))
        return True
    if kind is Kind.PERMUTATION and len(matrix) == 4 and tuple(matrix) == (0, 2, 1, 3):
        a, b = target_axes
        _swap_slices(part({a: 0, b: 1}), part({a: 1, b: 0}))
        return True
    sub_axes = [a - sum(c < a for c in control_axes) for a in target_axes]
    if kind is Kind.DIAGONAL:
        apply_diagonal(psi[tuple(index)], matrix, sub_axes, inplace=True)
        return True
    if kind in (Kind.DENSE, Kind.PERMUTATION) and control_axes:
        sub = psi[tuple(index)]
        sub.copy_((apply_dense if kind is Kind.DENSE else apply_permutation)(sub, matrix, sub_axes))
        return True
    if kind is Kind.DENSE and len(target_axes) == 1:
        a0, a1 = psi.select(target_axes[0], 0), psi.select(target_axes[0], 1)
        shape = [matrix.shape[0]] + [1] * (a0.dim() - 1)

        def u(i: int, j: int) -> torch.Tensor:
            return matrix[:, i, j].reshape(shape)

        first = a0.clone()
        a0.mul_(u(0, 0)).addcmul_(a1, u(0, 1))
        a1.mul_(u(1, 1)).addcmul_(first, u(1, 0))
        return True
    return False
