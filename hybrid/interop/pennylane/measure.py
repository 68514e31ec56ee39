"""PennyLane measurement processes evaluated on an engine state.

Analytic: expval/var of observables with a real Pauli decomposition use the engine's
Pauli-sum kernels; other observables (Hermitian, Projector, sums with trainable
coefficients...) act through their dense matrix on their own wires only; probs use the
engine's marginals (after the observable's diagonalising gates, for ``probs(op=...)``);
state, density_matrix, purity, entropies go through PennyLane's ``process_state``.

On a density-matrix state (``hybrid.mixed``) the same Pauli kernels read rho; dense
observables use the reduced density matrix of their wires; ``state()`` is rho itself and
``density_matrix(wires)`` the engine's partial trace; purity, entropies and the rest go
through PennyLane's ``process_density_matrix``.

Finite shots: each group of measurements that share diagonalising gates is sampled once
(so samples stay correlated across those measurements), with the engine's seeded sampler,
and each shot bin goes through PennyLane's ``process_samples``. A state of noisy
trajectories (``hybrid.qubit`` with channels: one trajectory per shot) gives one sample
per trajectory, as Aer's statevector method does.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pennylane as qml
import torch
from pennylane.measurements import ExpectationMP, MeasurementProcess, ProbabilityMP, StateMP, VarianceMP

from hybrid.sim import State, simulate
from hybrid.sim import measure as engine_measure
from hybrid.sim.density import DensityMatrix

from .convert import pauli_sum, to_circuit

__all__ = ["analytic", "sampled"]


def analytic(mp: MeasurementProcess, state: State, wire_order: Sequence, dtype, device):
    """The exact value of ``mp`` on a simulated ``state`` (batch axis only if it is batched)."""
    index = {w: i for i, w in enumerate(wire_order)}
    if isinstance(mp, ExpectationMP | VarianceMP) and mp.obs is not None:
        return _moment(mp, state, index)
    if isinstance(mp, ProbabilityMP) and mp.mv is None:
        if mp.obs is not None:
            state = rotate(state, mp.obs.diagonalizing_gates(), wire_order, dtype, device)
        return state.probs([index[w] for w in (mp.wires or wire_order)])
    if _is_density(state):
        return _from_density(mp, state, wire_order, index)
    return mp.process_state(state.vector, qml.wires.Wires(wire_order))


def _is_density(state: State) -> bool:
    return isinstance(state.statevector, DensityMatrix)


def _from_density(mp: MeasurementProcess, state: State, wire_order: Sequence, index: Mapping):
    """State-valued measurements of a density matrix: ``state()`` is rho (as on
    default.mixed), ``density_matrix(wires)`` its partial trace, the rest PennyLane's."""
    if isinstance(mp, StateMP):
        return state.density_matrix([index[w] for w in (mp.wires or wire_order)])
    return mp.process_density_matrix(state.density_matrix(), qml.wires.Wires(wire_order))


def _moment(mp, state: State, index: Mapping) -> torch.Tensor:
    """``<O>`` or ``Var(O)`` (per sample when batched)."""
    paulis = pauli_sum(mp.obs, index)
    is_var = isinstance(mp, VarianceMP)
    if paulis is not None:
        return state.var(paulis) if is_var else state.expval(paulis)
    # Any other observable acts through its dense matrix on its own wires only.
    matrix = qml.matrix(mp.obs, wire_order=mp.obs.wires)
    matrix = matrix if isinstance(matrix, torch.Tensor) else torch.as_tensor(np.asarray(matrix))
    if _is_density(state):  # Tr(rho_W O) with rho_W the reduced density matrix of O's wires
        rho = state.density_matrix([index[w] for w in mp.obs.wires])  # (k, k) or (B, k, k)
        matrix = matrix.to(dtype=rho.dtype, device=rho.device)
        mean = torch.einsum("...ij,...ji->...", rho, matrix).real
        if is_var:
            mean = torch.einsum("...ij,...ji->...", rho, matrix @ matrix).real - mean**2
        return mean
    psi = state.statevector
    o_psi = psi.apply_matrix(matrix, [index[w] for w in mp.obs.wires])
    mean = psi.inner(o_psi).real
    if is_var:  # O is Hermitian: <O^2> = <O psi|O psi>
        mean = o_psi.inner(o_psi).real - mean**2
    return mean if state.batched else mean[0]


def rotate(state: State, ops, wire_order: Sequence, dtype, device) -> State:
    """``state`` after ``ops`` (diagonalising gates)."""
    if not ops:
        return state
    circuit, _ = to_circuit(ops, wire_order)
    if _is_density(state):
        rho = state.density_matrix()
        return simulate(circuit, initial_state=rho, dtype=dtype, device=device, method="density_matrix")
    return simulate(circuit, initial_state=state.vector, dtype=dtype, device=device)


def _draw(state: State, ops, shots: int, seed: int, wire_order: Sequence, dtype, device) -> np.ndarray:
    """``shots`` samples ``(shots, n)`` of ``state`` in the basis ``ops`` rotate to."""
    if state.trajectories == 1:
        return rotate(state, ops, wire_order, dtype, device).sample(shots, seed=seed).cpu().numpy()
    rows = state.statevector.tensor  # (T, 2**n): one trajectory per shot
    if rows.shape[0] != shots:
        raise ValueError(f"{rows.shape[0]} trajectories cannot give {shots} shots (one shot per trajectory)")
    if ops:
        circuit, _ = to_circuit(ops, wire_order)
        rows = simulate(circuit, initial_state=rows, dtype=dtype, device=device).amplitudes  # rows as a batch
    return engine_measure.sample(rows, state.n_qubits, 1, seed=seed)[:, 0].cpu().numpy()


def sampled(tape, state: State, wire_order: Sequence, seed: int, dtype, device):
    """Results of a finite-shot ``tape`` (not broadcast) on its final ``state``."""
    shots = tape.shots
    wires = qml.wires.Wires(wire_order)
    samples: dict[str, np.ndarray] = {}
    per_mp = []
    for k, mp in enumerate(tape.measurements):
        gates = mp.obs.diagonalizing_gates() if mp.obs is not None else []
        key = repr(gates)
        if key not in samples:
            samples[key] = _draw(state, gates, shots.total_shots, seed + k, wire_order, dtype, device)  # (shots, n)
        per_mp.append(samples[key])
    results = []
    for lower, upper in shots.bins():
        row = tuple(mp.process_samples(s[lower:upper], wires) for mp, s in zip(tape.measurements, per_mp))
        results.append(row[0] if len(row) == 1 else row)
    return tuple(results) if shots.has_partitioned_shots else results[0]
