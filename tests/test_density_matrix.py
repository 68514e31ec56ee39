"""The density-matrix method against the brute-force reference in ``tests/reference.py``
(hand-written Kraus operators, dense 2**n x 2**n algebra), closed forms and finite
differences; the fused superoperator plan against the one-instruction-at-a-time path."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import hybrid
from hybrid import Circuit, Parameter, X, Y, Z
from hybrid.sim.fuse import FusionConfig
from hybrid.sim.memory import MemoryLimitError
from tests.reference import pauli_sum_matrix, reference_density
from tests.strategies import build_ours, random_programs

C128 = torch.complex128


def _dm(circuit, params=None, **kw):
    return hybrid.simulate(circuit, params, method="density_matrix", dtype=C128, **kw)


# One channel of every kind, with parameters drawn from valid ranges.
def _add_random_channel(c: Circuit, rng: np.random.Generator) -> None:
    n = c.n_qubits
    w = int(rng.integers(n))
    u = lambda lo=0.0, hi=1.0: float(rng.uniform(lo, hi))  # noqa: E731
    kind = rng.integers(12 if n > 1 else 9)
    if kind == 0:
        c.depolarizing(u(), w)
    elif kind == 1:
        c.bit_flip(u(), w)
    elif kind == 2:
        c.phase_flip(u(), w)
    elif kind == 3:
        px, py = u(0, 0.4), u(0, 0.3)
        c.pauli_channel(px, py, u(0, 1 - px - py), w)
    elif kind == 4:
        c.amplitude_damping(u(), w)
    elif kind == 5:
        c.generalized_amplitude_damping(u(), u(), w)
    elif kind == 6:
        c.phase_damping(u(), w)
    elif kind == 7:
        t1 = u(10, 100)
        c.thermal_relaxation(t1, u(1, 2 * t1), u(0, 50), w, excited_population=u(0, 0.3))
    elif kind == 8:
        p0 = u(0, 0.5)
        c.reset_error(p0, u(0, 1 - p0), w)
    else:
        a, b = (int(v) for v in rng.choice(n, 2, replace=False))
        if kind == 9:
            c.two_qubit_depolarizing(u(), a, b)
        elif kind == 10:
            c.pauli_error("".join(rng.choice(list("XYZ"), 2)), u(), [a, b])
        else:
            c.kraus(_random_kraus(rng, 4, 3), [a, b])


def _random_kraus(rng, d, k):
    """A random CPTP set: the blocks of an isometry (d*k, d)."""
    g = rng.normal(size=(d * k, d)) + 1j * rng.normal(size=(d * k, d))
    q, _ = np.linalg.qr(g)
    return q.reshape(k, d, d)


@settings(max_examples=40, deadline=None)
@given(random_programs(max_qubits=5, max_ops=10), st.integers(0, 2**31))
def test_random_noisy_circuits_match_the_dense_reference(program, seed):
    n, ops = program
    rng = np.random.default_rng(seed)
    c = Circuit(n)
    noisy = build_ours(n, ops)
    for op in noisy.ops:  # a channel after (almost) every gate
        c.append(op)
        if rng.random() < 0.7:
            _add_random_channel(c, rng)
    want = reference_density(c)
    for fusion in (True, False, FusionConfig(max_superop=3)):
        got = _dm(c, fusion=fusion).density_matrix().numpy()
        np.testing.assert_allclose(got, want, atol=1e-10, err_msg=f"fusion={fusion}")


def test_noiseless_density_matrix_is_the_outer_product_of_the_statevector():
    rng = np.random.default_rng(3)
    c = Circuit(6)
    for _ in range(30):
        a, b = (int(v) for v in rng.choice(6, 2, replace=False))
        c.u(*rng.uniform(0, 6, 3), a).cx(a, b).rzz(float(rng.uniform(0, 6)), b, a)
    psi = hybrid.simulate(c, dtype=C128).vector.numpy()
    np.testing.assert_allclose(_dm(c).density_matrix().numpy(), np.outer(psi, psi.conj()), atol=1e-12)


def test_reduced_matrices_variance_and_expectations_match_the_reference():
    rng = np.random.default_rng(5)
    c = Circuit(4)
    for w in range(4):
        c.ry(float(rng.uniform(0, 3)), w).rz(float(rng.uniform(0, 3)), w)
    c.cx(0, 1).cx(2, 3).amplitude_damping(0.3, 1).depolarizing(0.2, 2).cy(1, 2).phase_damping(0.4, 0)
    rho = reference_density(c)
    state = _dm(c)
    for wires in ([2, 0], [3], [1, 3, 0]):
        rest = [w for w in range(4) if w not in wires]
        t = rho.reshape((2,) * 8).transpose(wires + rest + [4 + w for w in wires + rest])
        k = 2 ** len(wires)
        want = np.einsum("ajbj->ab", t.reshape(k, 2 ** len(rest), k, 2 ** len(rest)))
        np.testing.assert_allclose(state.density_matrix(wires).numpy(), want, atol=1e-12)
    obs = 0.5 * X(0) @ Y(2) - 1.2 * Z(1) @ X(3) + 0.3 * Y(1) + 0.7 * Z(0) @ Z(3) + 0.2 * X(0) @ X(1) @ X(2) @ X(3)
    h = pauli_sum_matrix(obs, 4)
    mean = np.trace(rho @ h).real
    assert state.expval(obs).item() == pytest.approx(mean, abs=1e-12)
    assert state.var(obs).item() == pytest.approx(np.trace(rho @ h @ h).real - mean**2, abs=1e-12)
    np.testing.assert_allclose(state.probs([3, 1]).numpy(),
                               np.diag(state.density_matrix([3, 1]).numpy()).real, atol=1e-14)  # fmt: skip


@pytest.mark.parametrize("t1, t2", [(50.0, 30.0), (50.0, 90.0), (40.0, 80.0)])  # T2 <= T1, T1 < T2 <= 2 T1, edge
def test_thermal_relaxation_closed_forms(t1, t2):
    time = 17.0
    excited = _dm(Circuit(1).x(0).thermal_relaxation(t1, t2, time, 0)).probs()[1].item()
    assert excited == pytest.approx(math.exp(-time / t1), abs=1e-12)
    coherence = _dm(Circuit(1).h(0).thermal_relaxation(t1, t2, time, 0)).expval("X0").item()
    assert coherence == pytest.approx(math.exp(-time / t2), abs=1e-12)
    # Long times relax to the thermal state: P(1) = excited population.
    pe = 0.15
    hot = _dm(Circuit(1).h(0).thermal_relaxation(t1, t2, 50 * t1, 0, excited_population=pe)).probs()[1].item()
    assert hot == pytest.approx(pe, abs=1e-12)


def test_closed_forms_of_damping_channels():
    g = 0.37
    assert _dm(Circuit(1).x(0).amplitude_damping(g, 0)).probs()[1].item() == pytest.approx(1 - g, abs=1e-14)
    assert _dm(Circuit(1).h(0).amplitude_damping(g, 0)).expval("X0").item() == pytest.approx(math.sqrt(1 - g))
    assert _dm(Circuit(1).h(0).phase_damping(g, 0)).expval("X0").item() == pytest.approx(math.sqrt(1 - g))
    # Generalised amplitude damping applied many times reaches P(1) = p from any start.
    c = Circuit(1).h(0)
    for _ in range(200):
        c.generalized_amplitude_damping(0.2, 0.3, 0)
    assert _dm(c).probs()[1].item() == pytest.approx(0.3, abs=1e-12)
    # reset_error: |1> -> P(0) = p0 + (1 - p0 - p1) * 0
    assert _dm(Circuit(1).x(0).reset_error(0.2, 0.1, 0)).probs()[0].item() == pytest.approx(0.2, abs=1e-14)


def test_ghz_parity_decays_as_the_closed_form():
    n, p = 5, 0.07
    c = Circuit(n).h(0)
    for w in range(n - 1):
        c.cx(w, w + 1)
    for w in range(n):
        c.depolarizing(p, w)
    parity = X(0)
    for w in range(1, n):
        parity = parity @ X(w)
    assert _dm(c).expval(parity).item() == pytest.approx((1 - 4 * p / 3) ** n, abs=1e-12)


def test_batched_noise_parameters_match_each_sample():
    p = torch.tensor([0.0, 0.1, 0.5], dtype=torch.float64)
    theta = Parameter("theta")
    c = Circuit(2).ry(theta, 0).cx(0, 1).depolarizing(p, 1).amplitude_damping(p, 0)
    angles = torch.tensor([0.3, 1.1, 2.0], dtype=torch.float64)
    got = _dm(c, {"theta": angles}).density_matrix().numpy()
    assert got.shape == (3, 4, 4)
    for b in range(3):
        one = Circuit(2).ry(float(angles[b]), 0).cx(0, 1).depolarizing(float(p[b]), 1).amplitude_damping(float(p[b]), 0)
        np.testing.assert_allclose(got[b], reference_density(one), atol=1e-12)


def test_gradients_reach_gate_and_noise_parameters():
    def energy(theta, gamma, p):
        c = Circuit(2).ry(theta, 0).cx(0, 1).amplitude_damping(gamma, 0).depolarizing(p, 1).rx(theta, 1)
        return hybrid.expval(c, Z(0) @ Z(1) + 0.5 * X(1), dtype=C128, method="density_matrix")

    args = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (0.7, 0.3, 0.2)]
    energy(*args).backward()
    for i in range(3):
        h = 1e-6
        plus = [a.detach().clone() for a in args]
        minus = [a.detach().clone() for a in args]
        plus[i] += h
        minus[i] -= h
        fd = (energy(*plus) - energy(*minus)).item() / (2 * h)
        assert args[i].grad.item() == pytest.approx(fd, abs=1e-7)


def test_gradient_at_zero_noise_is_finite():
    gamma = torch.tensor(0.0, dtype=torch.float64, requires_grad=True)
    out = hybrid.expval(Circuit(1).h(0).amplitude_damping(gamma, 0).phase_damping(gamma, 0), "X0",
                        dtype=C128, method="density_matrix")  # fmt: skip
    out.backward()
    assert torch.isfinite(gamma.grad)


def test_symbolic_noise_parameters_are_bound_and_checked_at_run_time():
    p = Parameter("p")
    c = Circuit(1).h(0).depolarizing(p, 0)
    assert _dm(c, {"p": 0.3}).expval("X0").item() == pytest.approx(1 - 0.4, abs=1e-12)
    with pytest.raises(ValueError, match="depolarizing: p must be a probability"):
        _dm(c, {"p": 1.5})


def test_unrecorded_measurements_and_resets_are_exact():
    c = Circuit(2).h(0).cx(0, 1).ry(0.4, 1)
    c.append(hybrid.sim.Measure(0, None))  # a measurement nobody reads
    c.reset(1).h(1)
    np.testing.assert_allclose(_dm(c).density_matrix().numpy(), reference_density(c), atol=1e-12)


def test_recorded_measurements_and_conditions_average_to_the_exact_state():
    c = Circuit(3).h(0).ry(0.8, 1).amplitude_damping(0.3, 0).measure(0, 0)
    with c.when(0):
        c.x(2)
    c.cx(1, 2).depolarizing(0.1, 2)
    want = np.diag(reference_density(c)).real
    trajectories = 4000
    got = _dm(c, trajectories=trajectories, seed=11).probs().numpy()
    # Each outcome frequency of the branch mixture: binomial error at most 0.5 / sqrt(T).
    assert np.abs(got - want).max() < 5 * 0.5 / math.sqrt(trajectories)


def test_an_initial_density_matrix_is_accepted_and_checked():
    rho0 = np.diag([0.25, 0.75]).astype(complex)
    assert _dm(Circuit(1).x(0), initial_state=rho0).probs()[0].item() == pytest.approx(0.75)
    with pytest.raises(ValueError, match="Hermitian with trace 1"):
        _dm(Circuit(1).x(0), initial_state=np.diag([0.5, 0.6]).astype(complex))


def test_state_views_refuse_what_a_density_matrix_does_not_have():
    state = _dm(Circuit(1).h(0).depolarizing(0.1, 0))
    assert state.method == "density_matrix"
    with pytest.raises(ValueError, match="density matrix"):
        state.vector


def test_a_density_matrix_that_does_not_fit_is_refused_up_front_with_the_numbers():
    with pytest.raises(MemoryLimitError, match=r"density matrix of 24 qubits .* GiB.*trajectories"):
        _dm(Circuit(24).h(0).depolarizing(0.1, 0))
