"""Trajectories as their own axis: averages against the exact mixture, batched inputs x
trajectories, seeding, and the errors that point to the right accessor."""

import numpy as np
import pytest
import torch
from scipy.stats import chisquare

from hybrid import Circuit, Z, simulate

from .reference import reference_branches


def _feedback_circuit(theta) -> Circuit:
    """Two mid-circuit measurements, a reset and classically conditioned gates: its final
    state is a mixture of several branches with unequal weights."""
    c = Circuit(3)
    c.ry(theta, 0).h(1).cx(1, 2).measure(0, 0)
    with c.when(0):
        c.x(2).ry(0.7, 1)
    c.cx(2, 1).measure(1, 1).reset(2)
    with c.when([0, 1], 0b01):
        c.h(2)
    c.rz(0.4, 2).ry(0.3, 0)
    return c


def _exact(c: Circuit, sample: int = 0, initial=None) -> tuple[np.ndarray, dict[tuple[int, ...], float]]:
    """Mixture probabilities over basis states and the distribution of recorded bits."""
    probs = np.zeros(2**c.n_qubits)
    bits: dict[tuple[int, ...], float] = {}
    for key, v in reference_branches(c, sample, initial):
        probs += np.abs(v) ** 2
        bits[key] = bits.get(key, 0.0) + float(np.vdot(v, v).real)
    return probs, bits


def _chi_square_pvalue(observed_bits: np.ndarray, exact_bits: dict) -> float:
    keys = sorted(exact_bits)
    counts = [int(np.all(observed_bits == np.array(k), axis=1).sum()) for k in keys]
    assert sum(counts) == len(observed_bits)  # no history outside the exact ones
    return chisquare(counts, [exact_bits[k] * len(observed_bits) for k in keys]).pvalue


def test_trajectory_averages_match_the_exact_mixture():
    T = 4000
    c = _feedback_circuit(1.1)
    state = simulate(c, trajectories=T, seed=7, dtype=torch.complex128)
    assert state.trajectories == T and not state.batched
    exact_probs, exact_bits = _exact(c)
    assert _chi_square_pvalue(state.bits.numpy(), exact_bits) > 1e-4
    probs = state.probs()
    assert probs.shape == (8,)
    # An average of T draws: within a few standard errors of the exact mixture.
    tolerance = 5 * np.sqrt(exact_probs * (1 - exact_probs) / T) + 1e-9
    assert np.all(np.abs(probs.numpy() - exact_probs) <= tolerance)
    rho = sum(np.outer(v, v.conj()) for _, v in reference_branches(c))
    z2 = np.real(np.trace(rho @ np.kron(np.eye(4), np.diag([1, -1]))))
    assert abs(float(state.expval(Z(2))) - z2) < 5 / np.sqrt(T)
    np.testing.assert_allclose(state.density_matrix([2]).trace().real.item(), 1.0, atol=1e-12)


def test_batched_parameters_times_trajectories():
    B, T = 3, 1500
    thetas = torch.tensor([0.3, 1.4, 2.6], dtype=torch.float64)
    c = _feedback_circuit(thetas)
    state = simulate(c, trajectories=T, seed=1, dtype=torch.complex128)
    assert state.batched and state.batch_size == B and state.trajectories == T
    assert state.probs().shape == (B, 8) and state.bits.shape == (B, T, 2)
    assert state.trajectory_vectors.shape == (B, T, 8)
    assert state.expval(Z(0)).shape == (B,)
    for b in range(B):
        exact_probs, exact_bits = _exact(c, sample=b)
        assert _chi_square_pvalue(state.bits[b].numpy(), exact_bits) > 1e-4
        tolerance = 5 * np.sqrt(exact_probs * (1 - exact_probs) / T) + 1e-9
        assert np.all(np.abs(state.probs()[b].numpy() - exact_probs) <= tolerance)


@pytest.mark.parametrize("fusion", [True, False])
def test_batched_initial_states_and_per_sample_gates_in_conditioned_steps(fusion):
    """Per-sample operators on lone (conditioned, generic-path) steps and batched initial
    states are spread over each sample's trajectories."""
    B, T, n = 2, 1200, 3
    gen = torch.Generator().manual_seed(5)
    init = torch.randn(B, 2**n, dtype=torch.complex128, generator=gen)
    init = init / init.norm(dim=1, keepdim=True)
    angles = torch.tensor([0.4, 2.2], dtype=torch.float64)
    c = Circuit(n).h(0).measure(0, 0)
    with c.when(0):
        c.ry(angles, 1).cx(1, 2)
    c.rx(angles, 2).measure(2, 1)
    state = simulate(c, initial_state=init, trajectories=T, seed=9, dtype=torch.complex128, fusion=fusion)
    assert state.bits.shape == (B, T, 2)
    for b in range(B):
        exact_probs, exact_bits = _exact(c, sample=b, initial=init[b].numpy())
        assert _chi_square_pvalue(state.bits[b].numpy(), exact_bits) > 1e-4
        tolerance = 5 * np.sqrt(exact_probs * (1 - exact_probs) / T) + 1e-9
        assert np.all(np.abs(state.probs()[b].numpy() - exact_probs) <= tolerance)


def test_trajectories_of_a_unitary_circuit_are_its_state():
    c = Circuit(2).ry(torch.tensor([0.2, 1.0]), 0).cx(0, 1)
    one = simulate(c, dtype=torch.complex128)
    many = simulate(c, trajectories=5, dtype=torch.complex128)
    for t in range(5):
        np.testing.assert_allclose(many.trajectory_vectors[:, t].numpy(), one.vector.numpy(), atol=1e-12)
    np.testing.assert_allclose(many.probs().numpy(), one.probs().numpy(), atol=1e-12)
    np.testing.assert_allclose(many.var(Z(1)).numpy(), one.var(Z(1)).numpy(), atol=1e-12)


def test_samples_and_counts_come_from_the_averaged_distribution():
    c = Circuit(1).h(0).measure(0)  # each trajectory ends in |0> or |1>; their average is 50/50
    state = simulate(c, trajectories=400, seed=3)
    counts = state.counts(4000, seed=2)
    assert set(counts) == {"0", "1"}
    p1 = float(state.probs()[1])
    assert chisquare([counts["0"], counts["1"]], [4000 * (1 - p1), 4000 * p1]).pvalue > 1e-4
    assert state.sample(10, seed=2).shape == (10, 1)


def test_same_seed_same_trajectories_and_gradients_flow():
    theta = torch.tensor(0.8, dtype=torch.float64, requires_grad=True)
    c = Circuit(2).ry(theta, 0).cx(0, 1).measure(0).ry(theta, 1)
    a = simulate(c, trajectories=50, seed=4, dtype=torch.complex128)
    b = simulate(c, trajectories=50, seed=4, dtype=torch.complex128)
    assert torch.equal(a.bits, b.bits)
    # d<Z1>/dtheta through the trajectories: each branch's angle enters only via the last RY.
    a.expval(Z(1)).backward()
    ones = a.bits[:, 0].double()
    want = torch.mean(torch.where(ones.bool(), torch.sin(theta.detach()), -torch.sin(theta.detach())))
    assert float(theta.grad) == pytest.approx(float(want), abs=1e-10)


def test_single_statevector_accessors_refuse_several_trajectories():
    state = simulate(Circuit(1).h(0).measure(0), trajectories=3, seed=0)
    with pytest.raises(ValueError, match="trajectory_vectors"):
        state.vector
    with pytest.raises(ValueError, match="3 trajectories per sample"):
        state.amplitudes
    for bad, error in ((0, ValueError), (-2, ValueError), (1.5, TypeError), (True, TypeError)):
        with pytest.raises(error, match="trajectories must be a positive integer"):
            simulate(Circuit(1), trajectories=bad)
