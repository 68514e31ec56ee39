"""Gate definitions: what a gate is (data) and how to build its matrix (pure functions).

A gate is a :class:`Gate` record: a name, how many target wires and parameters it has,
and the *kind* of its matrix, which tells the kernels how to apply it:

* ``DENSE``        -- a ``(d, d)`` unitary, ``d = 2**k``;
* ``DIAGONAL``     -- only the diagonal, a phase vector of length ``d``;
* ``PERMUTATION``  -- a basis permutation ``|x> -> |perm[x]>``, no numbers at all.

Matrix builders are batched over parameter values: every parameter arrives as a real
tensor of shape ``(Bp,)`` (``Bp`` is 1 or the batch size) and the builder returns a
``(Bp, d, d)`` matrix or a ``(Bp, d)`` phase vector. They only use differentiable torch
ops, so gradients flow back into the parameters.

Controlled gates are not separate definitions: an operation carries control wires and
the kernels apply the target gate to the control=1 slice only (see ``kernels.py``).
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import Callable

import torch

__all__ = ["Kind", "Gate", "GATES", "gate_by_name"]


class Kind(enum.Enum):
    """How a gate's matrix is stored and applied."""

    DENSE = "dense"
    DIAGONAL = "diagonal"
    PERMUTATION = "permutation"


MatrixFn = Callable[[list[torch.Tensor], torch.dtype], torch.Tensor]


@dataclass(frozen=True, eq=False)
class Gate:
    """A gate type: identity by object, never by string (strings live at the edges).

    Attributes:
        name: lower-case name used in QASM/Qiskit and in error messages.
        n_wires: number of target wires; ``None`` for gates whose size comes from data
            (arbitrary unitary, diagonal, permutation).
        n_params: number of real parameters.
        kind: how the matrix is stored (see :class:`Kind`).
        build: ``build(params, complex_dtype) -> matrix``; ``None`` for data gates,
            whose matrix is the op's ``data``.
        permutation: the fixed permutation for ``PERMUTATION`` gates.
    """

    name: str
    n_wires: int | None
    n_params: int
    kind: Kind
    build: MatrixFn | None = None
    permutation: tuple[int, ...] | None = None

    def __repr__(self) -> str:
        return f"Gate({self.name})"


# --- helpers -----------------------------------------------------------------------------


def _as_matrix(rows: list[list[torch.Tensor]]) -> torch.Tensor:
    """Stack a nested list of ``(Bp,)`` tensors into a ``(Bp, d, d)`` matrix."""
    return torch.stack([torch.stack(row, dim=-1) for row in rows], dim=-2)


def _constant(values: list[list[complex]]) -> MatrixFn:
    """A parameter-free dense gate: the matrix is built once per dtype and expanded."""

    def build(params: list[torch.Tensor], dtype: torch.dtype) -> torch.Tensor:
        return torch.tensor(values, dtype=dtype).unsqueeze(0)  # (1, d, d)

    return build


def _constant_phases(values: list[complex]) -> MatrixFn:
    def build(params: list[torch.Tensor], dtype: torch.dtype) -> torch.Tensor:
        return torch.tensor(values, dtype=dtype).unsqueeze(0)  # (1, d)

    return build


def _expi(angle: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """exp(i * angle) for a real tensor, differentiable."""
    return torch.polar(torch.ones_like(angle), angle).to(dtype)


def _cos_sin(theta: torch.Tensor, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    half = theta / 2
    return torch.cos(half).to(dtype), torch.sin(half).to(dtype)


# --- parametrised builders -----------------------------------------------------------------


def _rx(p: list[torch.Tensor], dtype: torch.dtype) -> torch.Tensor:
    c, s = _cos_sin(p[0], dtype)
    return _as_matrix([[c, -1j * s], [-1j * s, c]])


def _ry(p: list[torch.Tensor], dtype: torch.dtype) -> torch.Tensor:
    c, s = _cos_sin(p[0], dtype)
    return _as_matrix([[c, -s], [s, c]])


def _rz(p: list[torch.Tensor], dtype: torch.dtype) -> torch.Tensor:
    return torch.stack([_expi(-p[0] / 2, dtype), _expi(p[0] / 2, dtype)], dim=-1)


def _phase(p: list[torch.Tensor], dtype: torch.dtype) -> torch.Tensor:
    return torch.stack([torch.ones_like(p[0]).to(dtype), _expi(p[0], dtype)], dim=-1)


def _global_phase(p: list[torch.Tensor], dtype: torch.dtype) -> torch.Tensor:
    return _expi(p[0], dtype).unsqueeze(-1)  # (Bp, 1): a 0-wire diagonal


def _u3(p: list[torch.Tensor], dtype: torch.dtype) -> torch.Tensor:
    theta, phi, lam = p
    c, s = _cos_sin(theta, dtype)
    return _as_matrix(
        [
            [c, -_expi(lam, dtype) * s],
            [_expi(phi, dtype) * s, _expi(phi + lam, dtype) * c],
        ]
    )


def _rot(p: list[torch.Tensor], dtype: torch.dtype) -> torch.Tensor:
    # Rot(phi, theta, omega) = RZ(omega) RY(theta) RZ(phi), PennyLane's convention.
    phi, theta, omega = p
    c, s = _cos_sin(theta, dtype)
    return _as_matrix(
        [
            [_expi(-(phi + omega) / 2, dtype) * c, -_expi((phi - omega) / 2, dtype) * s],
            [_expi(-(phi - omega) / 2, dtype) * s, _expi((phi + omega) / 2, dtype) * c],
        ]
    )


def _rxx(p: list[torch.Tensor], dtype: torch.dtype) -> torch.Tensor:
    c, s = _cos_sin(p[0], dtype)
    z = torch.zeros_like(c)
    m = -1j * s
    return _as_matrix([[c, z, z, m], [z, c, m, z], [z, m, c, z], [m, z, z, c]])


def _ryy(p: list[torch.Tensor], dtype: torch.dtype) -> torch.Tensor:
    c, s = _cos_sin(p[0], dtype)
    z = torch.zeros_like(c)
    return _as_matrix(
        [[c, z, z, 1j * s], [z, c, -1j * s, z], [z, -1j * s, c, z], [1j * s, z, z, c]]
    )


def _rzz(p: list[torch.Tensor], dtype: torch.dtype) -> torch.Tensor:
    minus, plus = _expi(-p[0] / 2, dtype), _expi(p[0] / 2, dtype)
    return torch.stack([minus, plus, plus, minus], dim=-1)


_R2 = 1 / math.sqrt(2)

I = Gate("id", 1, 0, Kind.DIAGONAL, _constant_phases([1, 1]))
X = Gate("x", 1, 0, Kind.PERMUTATION, permutation=(1, 0))
Y = Gate("y", 1, 0, Kind.DENSE, _constant([[0, -1j], [1j, 0]]))
Z = Gate("z", 1, 0, Kind.DIAGONAL, _constant_phases([1, -1]))
H = Gate("h", 1, 0, Kind.DENSE, _constant([[_R2, _R2], [_R2, -_R2]]))
S = Gate("s", 1, 0, Kind.DIAGONAL, _constant_phases([1, 1j]))
T = Gate("t", 1, 0, Kind.DIAGONAL, _constant_phases([1, complex(_R2, _R2)]))
SX = Gate("sx", 1, 0, Kind.DENSE, _constant([[0.5 + 0.5j, 0.5 - 0.5j], [0.5 - 0.5j, 0.5 + 0.5j]]))
RX = Gate("rx", 1, 1, Kind.DENSE, _rx)
RY = Gate("ry", 1, 1, Kind.DENSE, _ry)
RZ = Gate("rz", 1, 1, Kind.DIAGONAL, _rz)
P = Gate("p", 1, 1, Kind.DIAGONAL, _phase)
U = Gate("u", 1, 3, Kind.DENSE, _u3)
ROT = Gate("rot", 1, 3, Kind.DENSE, _rot)
SWAP = Gate("swap", 2, 0, Kind.PERMUTATION, permutation=(0, 2, 1, 3))
ISWAP = Gate(
    "iswap", 2, 0, Kind.DENSE, _constant([[1, 0, 0, 0], [0, 0, 1j, 0], [0, 1j, 0, 0], [0, 0, 0, 1]])
)
RXX = Gate("rxx", 2, 1, Kind.DENSE, _rxx)
RYY = Gate("ryy", 2, 1, Kind.DENSE, _ryy)
RZZ = Gate("rzz", 2, 1, Kind.DIAGONAL, _rzz)
GLOBAL_PHASE = Gate("global_phase", 0, 1, Kind.DIAGONAL, _global_phase)

# Gates whose matrix is data carried by the operation, checked when the op is built.
UNITARY = Gate("unitary", None, 0, Kind.DENSE)
DIAGONAL = Gate("diagonal", None, 0, Kind.DIAGONAL)
PERMUTATION = Gate("permutation", None, 0, Kind.PERMUTATION)

GATES: tuple[Gate, ...] = (
    I, X, Y, Z, H, S, T, SX, RX, RY, RZ, P, U, ROT, SWAP, ISWAP, RXX, RYY, RZZ, GLOBAL_PHASE,
    UNITARY, DIAGONAL, PERMUTATION,
)  # fmt: skip

_BY_NAME = {g.name: g for g in GATES}


def gate_by_name(name: str) -> Gate:
    """Look a gate up by its name; for the edges (QASM, CLI) only."""
    try:
        return _BY_NAME[name.lower()]
    except KeyError:
        known = ", ".join(sorted(_BY_NAME))
        raise ValueError(f"unknown gate name {name!r}; known gates: {known}") from None
