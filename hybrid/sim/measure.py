"""Readouts of a batched state ``psi`` of shape ``(B, 2**n)``: pure functions beneath
:class:`~hybrid.sim.statevector.StateVector` (which callers use instead).

Everything here is differentiable except sampling (which returns integers).
"""

from __future__ import annotations

import functools
from typing import Sequence

import numpy as np
import torch

from .._checks import positive_int
from .observables import Pauli, PauliSum, Word

__all__ = ["probs", "marginal", "misread", "sample", "sample_probs", "tally", "expval", "expvals", "var", "density_matrix", "apply_pauli_sum"]


def _grid(psi: torch.Tensor, n: int) -> torch.Tensor:
    return psi.reshape((psi.shape[0],) + (2,) * n)


def check_wires(wires: Sequence[int] | None, n: int) -> list[int]:
    """Validate a wire selection; ``None`` means all wires in order."""
    if wires is None:
        return list(range(n))
    wires = [wires] if isinstance(wires, int | np.integer) else list(wires)
    wires = [int(w) if isinstance(w, np.integer) else w for w in wires]
    for w in wires:
        if isinstance(w, bool) or not isinstance(w, int) or not 0 <= w < n:
            raise ValueError(f"wire {w!r} is out of range for a {n}-qubit state (wires 0..{n - 1})")
    if len(set(wires)) != len(wires):
        raise ValueError(f"wires must not repeat; got {wires}")
    return wires


def probs(psi: torch.Tensor, n: int, wires: Sequence[int] | None = None) -> torch.Tensor:
    """Marginal probabilities ``(B, 2**len(wires))``, index read with ``wires[0]`` as MSB."""
    return marginal(psi.real**2 + psi.imag**2, n, wires)


def marginal(p: torch.Tensor, n: int, wires: Sequence[int] | None = None) -> torch.Tensor:
    """Marginal ``(B, 2**len(wires))`` of full distributions ``p`` ``(B, 2**n)``
    (``wires[0]`` the most significant bit of the result's index)."""
    wires = check_wires(wires, n)
    p = _grid(p, n)
    rest = [a + 1 for a in range(n) if a not in wires]
    if rest:
        p = p.sum(dim=rest)
    # Remaining axes are the kept wires in ascending order; put them in the asked order.
    kept = sorted(wires)
    p = p.permute(0, *(1 + kept.index(w) for w in wires))
    return p.reshape(p.shape[0], 2 ** len(wires))


def sample(
    psi: torch.Tensor, n: int, shots: int, wires: Sequence[int] | None = None, seed: int | None = None
) -> torch.Tensor:
    """Bitstrings ``(B, shots, len(wires))`` of 0/1 drawn from ``probs``; seeded is repeatable."""
    wires = check_wires(wires, n)
    return sample_probs(probs(psi.detach(), n, wires), shots, seed).to(psi.device)


def sample_probs(p: torch.Tensor, shots: int, seed: int | None = None) -> torch.Tensor:
    """Bitstrings ``(B, shots, k)`` drawn from distributions ``p`` ``(B, 2**k)``.

    Uses inverse-CDF sampling in float64 on the CPU generator, so the same seed gives the
    same samples on every device and any number of outcomes (no 2**24 category limit).
    """
    positive_int(shots, "shots")
    p = p.detach().to(torch.float64).cpu()
    k = p.shape[-1].bit_length() - 1
    cdf = torch.cumsum(p, dim=-1)
    cdf = cdf / cdf[:, -1:]  # guard against rounding: the last entry is exactly 1
    gen = torch.Generator().manual_seed(seed) if seed is not None else None
    u = torch.rand((p.shape[0], shots), generator=gen, dtype=torch.float64)
    idx = torch.searchsorted(cdf, u, right=True).clamp_(max=p.shape[-1] - 1)
    shifts = torch.arange(k - 1, -1, -1)
    return (idx.unsqueeze(-1) >> shifts) & 1


def misread(bits: torch.Tensor, confusion, u: torch.Tensor) -> torch.Tensor:
    """Bits as a readout with confusion matrix ``confusion`` (rows: true outcome) reports
    them, given uniform draws ``u`` of the same shape: a true ``b`` reads 1 with
    probability ``confusion[b, 1]``."""
    m = torch.as_tensor(confusion, dtype=torch.float64, device=bits.device)
    return (u.to(bits.device) < m[bits, 1]).long()


def tally(bits: torch.Tensor) -> list[dict[str, int]]:
    """``(B, shots, k)`` 0/1 samples -> one ``{bitstring: count}`` dict per sample."""
    out = []
    for per_sample in bits.cpu():
        tally: dict[str, int] = {}
        for row in per_sample.tolist():
            key = "".join(map(str, row))
            tally[key] = tally.get(key, 0) + 1
        out.append(dict(sorted(tally.items())))
    return out


def _apply_word(grid: torch.Tensor, word: Word) -> torch.Tensor:
    """P |psi> for one Pauli word on a ``(B, 2, ..., 2)`` state, using Y = i X Z."""
    out = grid
    n_y = 0
    for wire, pauli in word:
        axis = wire + 1
        if pauli in (Pauli.Z, Pauli.Y):
            sign = torch.tensor([1.0, -1.0], dtype=grid.real.dtype, device=grid.device)
            shape = [1] * grid.dim()
            shape[axis] = 2
            out = out * sign.reshape(shape)
        if pauli in (Pauli.X, Pauli.Y):
            out = torch.flip(out, dims=(axis,))
        n_y += pauli is Pauli.Y
    return out * (1j**n_y) if n_y % 4 else out


def _check_observable(obs: PauliSum, n: int) -> None:
    if not isinstance(obs, PauliSum):
        raise TypeError(f"expected an observable (PauliSum, e.g. Z(0) @ Z(1)); got {type(obs).__name__}")
    for w in obs.wires:
        if w >= n:
            raise ValueError(f"observable acts on wire {w} but the state has {n} qubit(s)")


def apply_pauli_sum(psi: torch.Tensor, n: int, obs: PauliSum) -> torch.Tensor:
    """H |psi> as ``(B, 2**n)``."""
    _check_observable(obs, n)
    grid = _grid(psi, n)
    out = torch.zeros_like(grid)
    for c, word in obs.terms:
        out = out + c * _apply_word(grid, word)
    return out.reshape(psi.shape)


def expval(psi: torch.Tensor, n: int, obs: PauliSum) -> torch.Tensor:
    """<psi|H|psi> per sample, shape ``(B,)``, real."""
    _check_observable(obs, n)
    grid = _grid(psi, n)
    total = torch.zeros(psi.shape[0], dtype=psi.real.dtype, device=psi.device)
    for c, word in obs.terms:
        if not word:
            total = total + c * (psi.real**2 + psi.imag**2).sum(-1)
            continue
        braket = (grid.conj() * _apply_word(grid, word)).reshape(psi.shape).sum(-1)
        total = total + c * braket.real
    return total


def var(psi: torch.Tensor, n: int, obs: PauliSum) -> torch.Tensor:
    """<H^2> - <H>^2 per sample, computed as ||H psi||^2 - <psi|H|psi>^2."""
    h_psi = apply_pauli_sum(psi, n, obs)
    second = (h_psi.real**2 + h_psi.imag**2).sum(-1)
    return second - expval(psi, n, obs) ** 2


def density_matrix(psi: torch.Tensor, n: int, wires: Sequence[int] | None = None) -> torch.Tensor:
    """Reduced density matrix ``(B, 2**k, 2**k)`` of ``wires`` (in the order given)."""
    wires = check_wires(wires, n)
    grid = _grid(psi, n)
    rest = [a for a in range(n) if a not in wires]
    moved = grid.permute(0, *(1 + w for w in wires), *(1 + a for a in rest))
    a = moved.reshape(psi.shape[0], 2 ** len(wires), 2 ** len(rest))
    return a @ a.conj().transpose(-1, -2)


# Diagonal (Z-only) observables become one GEMM with a table of +-1 signs, when the table
# is small enough to cache: 2**n rows, one column per observable.
_SIGN_TABLE_LIMIT = 2**24


def expvals(psi: torch.Tensor, n: int, observables: Sequence[PauliSum]) -> torch.Tensor:
    """``(B, n_obs)``: every observable's <H>; Z-only sets share one pass over |psi|^2."""
    for obs in observables:
        _check_observable(obs, n)
    table = diagonal_table(n, tuple(observables), psi.real.dtype, psi.device)  # (2**n, n_obs)
    if table is not None:
        if psi.requires_grad:
            return (psi.real**2 + psi.imag**2) @ table
        return psi.abs().square_() @ table  # one half-size temporary
    return torch.stack([expval(psi, n, obs) for obs in observables], dim=-1)


def diagonal_table(n: int, observables: tuple[PauliSum, ...], dtype, device) -> torch.Tensor | None:
    """The ``(2**n, n_obs)`` diagonals of Z-only observables; ``None`` if any is not
    diagonal or the table would be too large to keep."""
    diagonal = all(p is Pauli.Z for obs in observables for _, word in obs.terms for _, p in word)
    if not diagonal or 2**n * len(observables) > _SIGN_TABLE_LIMIT:
        return None
    return _sign_table(n, observables, dtype, device)


@functools.lru_cache(maxsize=32)
def _sign_table(n: int, observables: tuple[PauliSum, ...], dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    # Built by broadcasting +-1 along each wire's axis: no index arrays of 2**n integers.
    table = torch.zeros((2**n, len(observables)), dtype=dtype, device=device)
    sign = torch.tensor([1.0, -1.0], dtype=dtype, device=device)
    for column, obs in enumerate(observables):
        for coeff, word in obs.terms:
            term = torch.full((2,) * n, coeff, dtype=dtype, device=device)
            for wire, _ in word:
                term.mul_(sign.reshape([2 if a == wire else 1 for a in range(n)]))
            table[:, column] += term.reshape(-1)
    return table
