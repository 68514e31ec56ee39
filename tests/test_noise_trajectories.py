"""Monte-Carlo trajectories against the exact density matrix (chi-square on one measured
shot per trajectory), method choice, and the errors noisy input gets."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import chi2

import hybrid
from hybrid import Circuit, Z
from tests.reference import pauli_sum_matrix, reference_density

C128 = torch.complex128


def _noisy_circuit(general: bool) -> Circuit:
    """Three qubits through gates and channels: Pauli mixtures only, or general Kraus too."""
    c = Circuit(3).h(0).ry(0.9, 1).cx(0, 2).depolarizing(0.2, 0).two_qubit_depolarizing(0.15, 1, 2)
    c.rx(0.6, 2).pauli_channel(0.05, 0.1, 0.15, 1).bit_flip(0.1, 2).cz(0, 1).phase_flip(0.2, 0)
    if general:
        c.amplitude_damping(0.4, 0).thermal_relaxation(30.0, 45.0, 12.0, 1, excited_population=0.1)
        c.generalized_amplitude_damping(0.3, 0.2, 2).reset_error(0.1, 0.05, 1).cx(2, 0)
        c.kraus(np.array([[[1, 0], [0, np.sqrt(0.5)]], [[0, 0], [0, np.sqrt(0.5)]]]), 2)
    return c


def _measured(c: Circuit) -> Circuit:
    out = c.copy()
    for w in range(c.n_qubits):
        out.measure(w, w)
    return out


@pytest.mark.parametrize("general", [False, True], ids=["pauli-mixtures", "general-kraus"])
def test_one_shot_per_trajectory_matches_the_exact_distribution(general):
    c = _noisy_circuit(general)
    exact = np.diag(reference_density(c)).real  # independent of the engine
    shots = 20000
    state = hybrid.simulate(_measured(c), method="trajectories", trajectories=shots, seed=7, dtype=C128)
    bits = state.bits.numpy()  # (T, 3): each trajectory's measured bits
    index = bits @ (1 << np.arange(2, -1, -1))
    observed = np.bincount(index, minlength=8)
    expected = exact * shots
    keep = expected > 5
    stat = ((observed[keep] - expected[keep]) ** 2 / expected[keep]).sum()
    assert chi2.sf(stat, keep.sum() - 1) > 1e-3, (observed, expected)
    # The averaged probabilities estimate the same distribution, within a few standard errors.
    avg = hybrid.simulate(c, method="trajectories", trajectories=shots, seed=8, dtype=C128).probs().numpy()
    assert np.abs(avg - exact).max() < 5 * np.sqrt(0.25 / shots)


def test_every_trajectory_stays_normalised():
    state = hybrid.simulate(_noisy_circuit(True), method="trajectories", trajectories=64, seed=1, dtype=C128)
    norms = (state.trajectory_vectors.abs() ** 2).sum(-1)
    np.testing.assert_allclose(norms.numpy(), 1.0, atol=1e-12)


def test_expval_standard_error_is_honest():
    c = _noisy_circuit(True)
    obs = Z(0) @ Z(2) + 0.5 * Z(1)
    exact = np.trace(reference_density(c) @ pauli_sum_matrix(obs, 3)).real
    state = hybrid.simulate(c, method="trajectories", trajectories=4000, seed=3, dtype=C128)
    err = state.expval_stderr(obs).item()
    assert 0 < err < 0.05
    assert abs(state.expval(obs).item() - exact) < 5 * err
    assert hybrid.simulate(c, method="density_matrix").expval_stderr(obs).item() == 0


def test_seeded_trajectories_repeat_and_differ_by_seed():
    c = _noisy_circuit(True)
    run = lambda seed: hybrid.simulate(c, method="trajectories", trajectories=50, seed=seed).probs()  # noqa: E731
    assert torch.equal(run(4), run(4))
    assert not torch.equal(run(4), run(5))


def test_pauli_mixture_rows_that_draw_the_identity_are_untouched():
    c = Circuit(2).h(0).cx(0, 1).depolarizing(0.0, 0).bit_flip(0.0, 1)
    state = hybrid.simulate(c, method="trajectories", trajectories=8, seed=0, dtype=C128)
    ideal = hybrid.simulate(Circuit(2).h(0).cx(0, 1), dtype=C128).vector
    for psi in state.trajectory_vectors:
        assert torch.equal(psi, ideal)
    flipped = hybrid.simulate(Circuit(1).bit_flip(1.0, 0), method="trajectories", trajectories=5, seed=0)
    assert flipped.probs()[1].item() == 1.0


def test_per_sample_noise_parameters_in_trajectories():
    p = torch.tensor([0.0, 1.0], dtype=torch.float64)
    state = hybrid.simulate(Circuit(1).bit_flip(p, 0), method="trajectories", trajectories=10, seed=0)
    np.testing.assert_allclose(state.probs().numpy(), [[1, 0], [0, 1]])


def test_auto_picks_like_aer_and_records_the_method():
    noisy = Circuit(3).h(0).depolarizing(0.1, 0)
    assert hybrid.simulate(Circuit(3).h(0)).method == "statevector"
    assert hybrid.simulate(noisy).method == "density_matrix"
    assert hybrid.simulate(noisy, trajectories=4).method == "trajectories"  # 2**3 > 4 shots
    wide = Circuit(12).h(0).depolarizing(0.1, 0)
    state = hybrid.simulate(wide, trajectories=100)
    assert state.method == "trajectories" and state.trajectories == 100


def test_readout_errors_flip_sampled_bits_only():
    class Readout:  # the two calls simulate makes of a noise model
        def apply(self, circuit):
            return circuit

        def readout_errors(self, n):
            return {0: torch.tensor([[0.9, 0.1], [0.3, 0.7]], dtype=torch.float64)}

    state = hybrid.simulate(Circuit(2).x(1), noise=Readout())
    np.testing.assert_allclose(state.probs().numpy(), [0, 1, 0, 0])  # the state is not touched
    shots = 20000
    counts = state.counts(shots, seed=5)
    # wire 0 is truly 0: it reads 1 with probability 0.1; wire 1 has no readout error.
    assert set(counts) <= {"01", "11"}
    assert abs(counts.get("11", 0) / shots - 0.1) < 5 * np.sqrt(0.09 / shots)


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda c: c.depolarizing(1.2, 0), "must be a probability in"),
        (lambda c: c.amplitude_damping(-0.1, 0), "must be a probability in"),
        (lambda c: c.pauli_channel(0.5, 0.4, 0.3, 0), "must sum to at most 1"),
        (lambda c: c.reset_error(0.7, 0.5, 0), "must sum to at most 1"),
        (lambda c: c.thermal_relaxation(10.0, 25.0, 1.0, 0), "T2 must be at most 2\\*T1"),
        (lambda c: c.thermal_relaxation(-1.0, 1.0, 1.0, 0), "must be positive"),
        (lambda c: c.kraus(np.array([[[1, 0], [0, 1]], [[0, 0.5], [0, 0]]]), 0), "not trace preserving"),
        (lambda c: c.kraus(np.eye(4)[None], 0), "do not act on 1 wire"),
        (lambda c: c.pauli_error("XQ", 0.1, [0, 1]), "word of I, X, Y, Z"),
        (lambda c: c.two_qubit_depolarizing(0.1, 0, 0), "repeat|distinct|twice|duplicate"),
    ],
)
def test_bad_channels_get_clear_errors(build, message):
    with pytest.raises(ValueError, match=message):
        build(Circuit(2))


def test_noise_cannot_be_inverted_controlled_or_conditioned():
    c = Circuit(2).h(0).depolarizing(0.1, 0)
    with pytest.raises(ValueError, match="noise is not reversible"):
        c.inverse()
    with pytest.raises(ValueError, match="cannot control"):
        Circuit(3).ctrl(2, c, wires=[0, 1])
    c2 = Circuit(2).measure(0, 0)
    with pytest.raises(ValueError, match="cannot be classically conditioned"):
        with c2.when(0):
            c2.bit_flip(0.1, 1)


def test_methods_that_cannot_run_noise_say_which_can():
    c = Circuit(1).h(0).depolarizing(0.1, 0)
    with pytest.raises(ValueError, match="method='density_matrix'.*'trajectories'"):
        hybrid.simulate(c, method="statevector")
    for diff_method in ("adjoint", "parameter-shift"):
        with pytest.raises(ValueError, match="diff_method='backprop'"):
            hybrid.expval(c, "X0", diff_method=diff_method)
    with pytest.raises(ValueError, match="unknown method"):
        hybrid.simulate(c, method="exact")


def test_readout_errors_misread_mid_circuit_records_and_conditions_follow_them():
    class Readout:
        def apply(self, circuit):
            return circuit

        def readout_errors(self, n):
            return {0: [[1.0, 0.0], [0.3, 0.7]]}

    c = Circuit(2).x(0).measure(0, 0)
    with c.when(0):
        c.x(1)
    shots = 20000
    state = hybrid.simulate(c, noise=Readout(), method="trajectories", trajectories=shots, seed=2)
    misread = 1 - state.bits.numpy()[:, 0].mean()
    assert abs(misread - 0.3) < 5 * np.sqrt(0.21 / shots)
    # The state is untouched (wire 0 stays |1>); wire 1 flipped exactly where the bit read 1.
    assert state.probs([0])[1].item() == 1.0
    assert abs(state.probs([1])[1].item() - 0.7) < 5 * np.sqrt(0.21 / shots)
