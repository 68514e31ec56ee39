"""The only code that knows the state layout.

A state is a tensor of shape ``(B, 2, 2, ..., 2)``: the batch axis first (always present),
then one axis per wire, wire 0 first (so wire 0 is the most significant bit of the flat
index). Wire ``w`` lives on axis ``w + 1``. Every kernel is a pure function: it takes such
a tensor and the *axes* it acts on and returns the new tensor, differentiable end to end.

Kernels also accept a sub-state with fewer axes (what is left after fixing control
wires), which is how controlled gates touch only their control=1 slice.
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch

__all__ = ["apply_dense", "apply_diagonal", "apply_permutation", "apply_controlled"]

Axes = Sequence[int]


def apply_dense(psi: torch.Tensor, matrix: torch.Tensor, axes: Axes) -> torch.Tensor:
    """Apply a dense ``(Bm, d, d)`` matrix (``Bm`` is 1 or B) on ``axes``."""
    k = len(axes)
    targets = list(range(psi.dim() - k, psi.dim()))
    moved = torch.movedim(psi, list(axes), targets)  # (B, ...rest, 2, ..., 2)
    shape = moved.shape
    flat = moved.reshape(shape[0], -1, 2**k)  # (B, R, d)
    out = torch.matmul(flat, matrix.transpose(-1, -2))  # row-vector form: psi' = psi M^T
    return torch.movedim(out.reshape(shape), targets, list(axes))


def apply_diagonal(psi: torch.Tensor, phases: torch.Tensor, axes: Axes) -> torch.Tensor:
    """Multiply by a ``(Bm, d)`` phase vector indexed by the bits on ``axes`` (first axis MSB)."""
    k = len(axes)
    if k == 0:  # a global phase: one number per sample
        return psi * phases.reshape((phases.shape[0],) + (1,) * (psi.dim() - 1))
    order = sorted(range(k), key=lambda i: axes[i])
    grid = phases.reshape((phases.shape[0],) + (2,) * k).permute(0, *(1 + i for i in order))
    shape = [phases.shape[0]] + [1] * (psi.dim() - 1)
    for a in axes:
        shape[a] = 2
    return psi * grid.reshape(shape)


def apply_permutation(psi: torch.Tensor, perm: Sequence[int], axes: Axes) -> torch.Tensor:
    """Map basis state |x> to |perm[x]> on ``axes`` (x read with ``axes[0]`` as MSB)."""
    k = len(axes)
    if k == 1 and tuple(perm) == (1, 0):  # X: a flip is a strided copy, no index tensor
        return torch.flip(psi, dims=(axes[0],))
    inverse = [0] * len(perm)
    for x, y in enumerate(perm):
        inverse[y] = x
    index = torch.tensor(inverse, dtype=torch.long, device=psi.device)
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
