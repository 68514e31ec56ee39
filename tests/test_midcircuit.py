"""Mid-circuit measurement, reset and classically conditioned gates."""

import numpy as np
import pytest
import torch
from scipy.stats import chisquare

from hybrid import Circuit, simulate, to_qiskit

from .reference import u3


def _iterative_phase_estimation(phase_fraction: float, n_bits: int) -> Circuit:
    """Read phase = 0.b1...bn of P(2 pi phase) with one recycled control qubit (semiclassical QFT).

    Bit j is written to classical bit j-1; the least significant bit is measured first.
    """
    c = Circuit(2).x(1)  # |1> is the eigenstate of the phase gate
    for j in range(n_bits, 0, -1):
        c.h(0)
        c.cp(2 * np.pi * phase_fraction * 2 ** (j - 1), 0, 1)
        for m in range(j + 1, n_bits + 1):
            with c.when(m - 1):
                c.p(-2 * np.pi / 2 ** (m - j + 1), 0)
        c.h(0).measure(0, j - 1).reset(0)
    return c


@pytest.mark.parametrize("k", range(8))
def test_semiclassical_phase_estimation_reads_exact_bits(k):
    c = _iterative_phase_estimation(k / 8, 3)
    state = simulate(c, trajectories=16, seed=k)
    bits = state.bits  # (16, 3): every trajectory reads the same bits
    want = [int(b) for b in format(k, "03b")]  # b1 b2 b3, b1 most significant
    assert bits.tolist() == [want] * 16
    assert state.probs([0]).numpy() == pytest.approx([1.0, 0.0])  # the control was reset in every one


def test_qiskit_aer_agrees_on_the_conditioned_circuit():
    from qiskit import transpile
    from qiskit_aer import AerSimulator

    c = _iterative_phase_estimation(5 / 8, 3)
    qc = to_qiskit(c)
    counts = AerSimulator().run(transpile(qc, AerSimulator()), shots=64, seed_simulator=1).result().get_counts()
    # Qiskit prints classical bit 0 rightmost; our bit 0 holds b1, the most significant.
    assert counts == {"101"[::-1]: 64}


def test_teleportation_delivers_the_state_on_every_trajectory():
    batch = 64
    rng = np.random.default_rng(0)
    theta, phi, lam = rng.uniform(0, np.pi, 3)
    c = Circuit(3)
    c.u(torch.full((batch,), theta, dtype=torch.float64), phi, lam, 0)
    c.h(1).cx(1, 2)
    c.cx(0, 1).h(0).measure(0, 0).measure(1, 1)
    with c.when(1):
        c.x(2)
    with c.when(0):
        c.z(2)
    state = simulate(c, dtype=torch.complex128, seed=3)
    psi_in = u3(theta, phi, lam) @ np.array([1, 0])
    want = np.outer(psi_in, psi_in.conj())
    rho = state.density_matrix([2]).numpy()  # (B, 2, 2)
    np.testing.assert_allclose(rho, np.broadcast_to(want, rho.shape), atol=1e-12)
    outcomes = (state.bits[:, 0] * 2 + state.bits[:, 1]).tolist()
    assert set(outcomes) == {0, 1, 2, 3}  # all four Bell outcomes occur


def test_measurement_statistics_and_seeding():
    c = Circuit(1).ry(2 * np.arccos(np.sqrt(0.3)), 0).measure(0)  # P(0) = 0.3
    a = simulate(c, trajectories=4000, seed=11).bits[:, 0]
    b = simulate(c, trajectories=4000, seed=11).bits[:, 0]
    assert torch.equal(a, b)
    ones = int(a.sum())
    assert chisquare([4000 - ones, ones], [1200, 2800]).pvalue > 1e-4
    # The post-measurement state is the collapsed, renormalised basis state.
    s = simulate(c, trajectories=10, seed=5)
    per_trajectory = s.trajectory_vectors.abs().square().numpy()
    np.testing.assert_allclose(per_trajectory, np.eye(2)[s.bits[:, 0].numpy()], atol=1e-6)


def test_reset_returns_wire_to_zero_and_keeps_others():
    c = Circuit(2).h(0).cx(0, 1).reset(0)
    s = simulate(c, trajectories=50, seed=2, dtype=torch.complex128)
    p = s.trajectory_vectors.abs().square().numpy()  # wire 0 is |0>; wire 1 holds the partner's collapsed value
    assert np.all(p[:, 2:] < 1e-12)
    assert set(np.round(p[:, 0], 12)) == {0.0, 1.0}
    assert s.bits.shape == (50, 0)


def test_multi_bit_condition_reads_first_bit_as_msb():
    c = Circuit(3).x(0).measure(0, 0).measure(1, 1)  # bits (1, 0) -> value 0b10 = 2
    with c.when([0, 1], 2):
        c.x(2)
    with c.when([0, 1], 1):
        c.x(1)
    s = simulate(c, seed=0)
    assert s.probs().argmax().item() == 0b101
