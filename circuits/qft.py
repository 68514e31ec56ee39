"""Quantum Fourier transform and quantum phase estimation.

Conventions follow the engine's: wire 0 is the most significant bit, so on ``n`` wires the
QFT with its final swaps maps |x> to 2**(-n/2) * sum_y exp(2 pi i x y / 2**n) |y>, the
unitary DFT matrix (Nielsen & Chuang, section 5.1).
"""

from __future__ import annotations

import math
import numpy as np
import torch

from hybrid import Circuit
from hybrid._checks import positive_int

__all__ = ["qft", "inverse_qft", "qpe"]


def qft(n_qubits: int, *, swaps: bool = True) -> Circuit:
    """The QFT on ``n_qubits`` wires: H and controlled phases, then (optionally) the swaps
    that reverse the wire order. Without swaps the output is bit-reversed."""
    c = Circuit(n_qubits)
    for j in range(n_qubits):
        c.h(j)
        for k in range(j + 1, n_qubits):
            c.cp(math.pi / 2 ** (k - j), k, j)
    if swaps:
        for j in range(n_qubits // 2):
            c.swap(j, n_qubits - 1 - j)
    return c


def inverse_qft(n_qubits: int, *, swaps: bool = True) -> Circuit:
    """The inverse QFT (the adjoint of :func:`qft` with the same ``swaps``)."""
    return qft(n_qubits, swaps=swaps).inverse()


def qpe(unitary, n_phase_bits: int, *, eigenstate: Circuit | None = None) -> Circuit:
    """Textbook phase estimation of a k-qubit unitary.

    Wires ``0 .. n_phase_bits-1`` hold the phase register (wire 0 most significant), the
    next ``k`` wires the target, prepared by ``eigenstate`` (a k-qubit circuit; default
    |0...0>). Phase-register wire j controls U^(2^(n_phase_bits-1-j)); an inverse QFT then
    leaves phase phi = 0.b1 b2 ... in the register, read as the integer round(phi * 2**m).

    ``unitary`` is a ``(2**k, 2**k)`` matrix (torch or numpy). Its powers are taken by
    repeated squaring, so the circuit has m controlled k-qubit gates.
    """
    n_phase_bits = positive_int(n_phase_bits, "n_phase_bits")
    u = torch.as_tensor(np.asarray(unitary) if not isinstance(unitary, torch.Tensor) else unitary)
    u = u.to(torch.complex128)
    k = int(round(math.log2(u.shape[-1])))
    if u.dim() != 2 or u.shape[0] != u.shape[1] or 2**k != u.shape[0]:
        raise ValueError(f"unitary must be a square 2**k x 2**k matrix; got shape {tuple(u.shape)}")
    m = n_phase_bits
    c = Circuit(m + k)
    target = list(range(m, m + k))
    if eigenstate is not None:
        if eigenstate.n_qubits != k:
            raise ValueError(f"eigenstate prepares {eigenstate.n_qubits} qubit(s) but the unitary acts on {k}")
        c.compose(eigenstate, wires=target)
    for j in range(m):
        c.h(j)
    power = u
    for j in reversed(range(m)):  # wire m-1 gets U, wire m-2 gets U^2, ...
        c.ctrl(j, Circuit(k).unitary(power, list(range(k))), wires=target)
        power = power @ power
    return c.compose(inverse_qft(m), wires=list(range(m)))

