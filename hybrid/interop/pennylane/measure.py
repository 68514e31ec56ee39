"""PennyLane measurement processes evaluated on an engine state.

Analytic: expval/var of observables with a real Pauli decomposition use the engine's
Pauli-sum kernels; other observables (Hermitian, Projector, sums with trainable
coefficients...) act through their dense matrix on their own wires only; probs use the
engine's marginals (after the observable's diagonalising gates, for ``probs(op=...)``);
state, density_matrix, purity, entropies go through PennyLane's ``process_state``.

Finite shots: each group of measurements that share diagonalising gates is sampled once
(so samples stay correlated across those measurements), with the engine's seeded sampler,
and each shot bin goes through PennyLane's ``process_samples``.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pennylane as qml
import torch
from pennylane.measurements import ExpectationMP, MeasurementProcess, ProbabilityMP, VarianceMP

from hybrid.sim import measure as engine
from hybrid.sim import simulate

from .convert import pauli_sum, to_circuit

__all__ = ["pauli_sum", "analytic", "sampled"]


def analytic(mp: MeasurementProcess, psi: torch.Tensor, wire_order: Sequence, batched: bool, dtype, device):
    """The exact value of ``mp`` on ``psi`` ``(B, 2**n)``; the batch axis only if ``batched``."""
    index = {w: i for i, w in enumerate(wire_order)}
    n = len(wire_order)
    out = None
    if isinstance(mp, ExpectationMP | VarianceMP) and mp.obs is not None:
        out = _moment(mp, psi, n, index)
    elif isinstance(mp, ProbabilityMP) and mp.mv is None:
        if mp.obs is not None:
            psi = rotate(psi, mp.obs.diagonalizing_gates(), wire_order, dtype, device)
        wires = [index[w] for w in (mp.wires or wire_order)]
        out = engine.probs(psi, n, wires)
    if out is not None:
        return out if batched else out[0]
    vector = psi if batched else psi[0]
    return mp.process_state(vector, qml.wires.Wires(wire_order))


def _moment(mp, psi: torch.Tensor, n: int, index: Mapping) -> torch.Tensor:
    """``<O>`` or ``Var(O)`` per sample, ``(B,)``."""
    paulis = pauli_sum(mp.obs, index)
    is_var = isinstance(mp, VarianceMP)
    if paulis is not None:
        return engine.var(psi, n, paulis) if is_var else engine.expval(psi, n, paulis)
    o_psi = _apply_matrix(psi, n, mp.obs, index)
    mean = (psi.conj() * o_psi).sum(-1).real
    if not is_var:
        return mean
    return (o_psi.real**2 + o_psi.imag**2).sum(-1) - mean**2  # O is Hermitian: <O^2> = |O psi|^2


def _apply_matrix(psi: torch.Tensor, n: int, obs, index: Mapping) -> torch.Tensor:
    """``O |psi>`` using O's ``(2**k, 2**k)`` matrix on its own k wires only."""
    axes = [index[w] + 1 for w in obs.wires]
    matrix = qml.matrix(obs, wire_order=obs.wires)
    matrix = matrix if isinstance(matrix, torch.Tensor) else torch.as_tensor(np.asarray(matrix))
    matrix = matrix.to(device=psi.device, dtype=psi.dtype)
    batch, k = psi.shape[0], len(axes)
    grid = psi.reshape((batch,) + (2,) * n)
    ends = list(range(n + 1 - k, n + 1))
    rows = torch.movedim(grid, axes, ends).reshape(batch, -1, 2**k)  # (B, R, 2**k)
    moved = (rows @ matrix.transpose(0, 1)).reshape(grid.shape)
    return torch.movedim(moved, ends, axes).reshape(batch, 2**n)


def rotate(psi: torch.Tensor, ops, wire_order: Sequence, dtype, device) -> torch.Tensor:
    """``psi`` after ``ops`` (diagonalising gates), ``(B, 2**n)``."""
    if not ops:
        return psi
    circuit, _ = to_circuit(ops, wire_order)
    return simulate(circuit, initial_state=psi, dtype=dtype, device=device).amplitudes


def sampled(tape, psi: torch.Tensor, wire_order: Sequence, seed: int, dtype, device):
    """Results of a finite-shot ``tape`` (not broadcast) on the final state ``psi`` ``(1, 2**n)``."""
    n, shots = len(wire_order), tape.shots
    wires = qml.wires.Wires(wire_order)
    samples: dict[str, np.ndarray] = {}
    per_mp = []
    for k, mp in enumerate(tape.measurements):
        gates = mp.obs.diagonalizing_gates() if mp.obs is not None else []
        key = repr(gates)
        if key not in samples:
            rotated = rotate(psi, gates, wire_order, dtype, device)
            draws = engine.sample(rotated, n, shots.total_shots, seed=seed + k)
            samples[key] = draws[0].cpu().numpy()  # (shots, n)
        per_mp.append(samples[key])
    results = []
    for lower, upper in shots.bins():
        row = tuple(mp.process_samples(s[lower:upper], wires) for mp, s in zip(tape.measurements, per_mp))
        results.append(row[0] if len(row) == 1 else row)
    return tuple(results) if shots.has_partitioned_shots else results[0]
