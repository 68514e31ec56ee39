"""The builders' ``noise=`` argument and the small models of :mod:`circuits.noise`.

References are closed forms (GHZ parity under depolarizing noise, the Pauli twirl of
thermal relaxation) and the ideal circuits themselves."""

from __future__ import annotations

import math

import networkx as nx
import pytest
import torch

import hybrid
from circuits.ghz import ghz_circuit, ghz_x_parity_closed_form, x_parity
from circuits.grover import grover_circuit, success_probability
from circuits.hamiltonians import maxcut_problem
from circuits.noise import GateNoise, NoiseAtEnd, global_depolarizing_fidelity, pauli_error_rate, with_noise
from circuits.qaoa import qaoa_circuit
from circuits.vqe import hardware_efficient_ansatz, molecule_ansatz
from hybrid.sim import Channel

C128 = torch.complex128


def _x_parity(circuit, n, method="density_matrix", **kw):
    return hybrid.simulate(circuit, method=method, dtype=C128, **kw).expval(x_parity(n))


@pytest.mark.parametrize("n", [1, 2, 3, 5])
@pytest.mark.parametrize("p", [0.0, 0.02, 0.3])
def test_ghz_with_per_qubit_depolarizing_matches_closed_form(n, p):
    noisy = ghz_circuit(n, noise=NoiseAtEnd.depolarizing(p))
    assert float(_x_parity(noisy, n)) == pytest.approx((1 - 4 * p / 3) ** n, abs=1e-12)
    assert ghz_x_parity_closed_form(n, p, "end") == pytest.approx((1 - 4 * p / 3) ** n)


@pytest.mark.parametrize("n", [2, 4])
def test_ghz_with_noise_after_every_gate_matches_closed_form(n):
    p = 0.05
    noisy = ghz_circuit(n, noise=GateNoise.depolarizing(p))
    kinds = [op.name for op in noisy.ops if isinstance(op, Channel)]
    assert kinds == ["depolarizing"] + ["two_qubit_depolarizing"] * (n - 1)
    assert float(_x_parity(noisy, n)) == pytest.approx(ghz_x_parity_closed_form(n, p, "gates"), abs=1e-12)


def test_trajectories_agree_with_the_closed_form_within_their_error():
    n, p = 3, 0.1
    state = hybrid.simulate(ghz_circuit(n, noise=NoiseAtEnd.depolarizing(p)), method="trajectories",
                            trajectories=4000, seed=7, dtype=C128)  # fmt: skip
    value, err = float(state.expval(x_parity(n))), float(state.expval_stderr(x_parity(n)))
    assert 0 < err < 0.05
    assert abs(value - (1 - 4 * p / 3) ** n) < 5 * err


def test_none_is_the_ideal_circuit_and_bad_models_are_refused():
    assert repr(ghz_circuit(3, noise=None).ops) == repr(ghz_circuit(3).ops)
    assert not ghz_circuit(3).has_noise and ghz_circuit(3, noise=GateNoise.depolarizing(0.01)).has_noise
    with pytest.raises(TypeError, match="apply"):
        ghz_circuit(2, noise=0.01)

    class Broken:
        def apply(self, circuit):
            return "not a circuit"

    with pytest.raises(TypeError, match="not a hybrid Circuit"):
        with_noise(hybrid.Circuit(1), Broken())


def test_grover_noise_lowers_success_towards_uniform():
    n, marked = 3, 5
    ideal = hybrid.simulate(grover_circuit(n, marked), dtype=C128).probs()[marked]
    assert float(ideal) == pytest.approx(success_probability(n, 1, 2), abs=1e-12)
    model = GateNoise.depolarizing(0.02)
    noisy = grover_circuit(n, marked, noise=model)
    assert len(noisy) > len(grover_circuit(n, marked)) and noisy.has_noise
    success = float(hybrid.simulate(noisy, method="density_matrix", dtype=C128).probs()[marked])
    f, locations = global_depolarizing_fidelity(noisy)
    assert locations == sum(isinstance(op, Channel) for op in noisy.ops)
    assert 1 / 2**n < success < float(ideal)
    # The white-noise estimate is an estimate: same ballpark, not equal.
    estimate = f * float(ideal) + (1 - f) / 2**n
    assert abs(success - estimate) < 0.15


def test_qaoa_and_vqe_builders_take_noise_and_keep_their_symbols():
    problem = maxcut_problem(nx.cycle_graph(4))
    ideal, noisy = qaoa_circuit(problem, 1), qaoa_circuit(problem, 1, noise=GateNoise.depolarizing(0.01))
    assert noisy.parameters == ideal.parameters == ["g0", "b0"]
    assert sum(isinstance(op, Channel) for op in noisy.ops) == 4 + 4 + 4  # H, RZZ (one 2-wire channel each), RX
    circuit, start = molecule_ansatz(4, 2, "givens", noise=GateNoise.thermal(100.0, 80.0, 0.05, 0.3))
    assert circuit.has_noise and len(start) == len(circuit.parameters)
    hea = hardware_efficient_ansatz(3, 1, noise=GateNoise.depolarizing(0.01))
    assert hea.has_noise and hea.parameters == hardware_efficient_ansatz(3, 1).parameters


def test_pauli_error_rates():
    c = hybrid.Circuit(2).depolarizing(0.03, 0).two_qubit_depolarizing(0.07, 0, 1).thermal_relaxation(100, 80, 1, 1)
    dep, dep2, thermal = (pauli_error_rate(op) for op in c.ops)
    assert dep == pytest.approx(0.03) and dep2 == pytest.approx(0.07)
    assert thermal == pytest.approx((1 - math.exp(-1 / 100)) / 4 + (1 - math.exp(-1 / 80)) / 2)
    f, count = global_depolarizing_fidelity(c)
    assert count == 3 and f == pytest.approx(0.97 * 0.93 * (1 - thermal))
