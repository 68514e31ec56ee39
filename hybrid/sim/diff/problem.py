"""The record both custom-gradient methods share, and how their inputs are flattened
(``torch.autograd.Function`` takes a flat list of tensors)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..circuit import Circuit
from ..fuse import FusionConfig
from ..observables import PauliSum

__all__ = ["ExpvalProblem", "flatten_values", "unflatten_values"]


@dataclass(frozen=True)
class ExpvalProblem:
    """What the differentiable expectation functions need besides tensors."""

    circuit: Circuit
    observables: tuple[PauliSum, ...]
    shapes: tuple[int, ...]  # how many values each op has (to unflatten the inputs)
    fusion: FusionConfig | None
    initial_index: int | None = None  # the runs start from this basis state, if known


def flatten_values(values: list[list[torch.Tensor]]) -> tuple[tuple[int, ...], list[torch.Tensor]]:
    return tuple(len(v) for v in values), [t for v in values for t in v]


def unflatten_values(shapes: tuple[int, ...], flat) -> list[list[torch.Tensor]]:
    out, k = [], 0
    for size in shapes:
        out.append(list(flat[k : k + size]))
        k += size
    return out
