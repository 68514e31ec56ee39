"""hybrid.noise.NoiseModel on its own: where errors go, closed forms, readout, bad input.

Aer comparisons are in test_noise_vs_aer.py; here the references are closed forms (DESIGN.md
"Noise conventions") and the inserted instructions themselves.
"""

import math

import numpy as np
import pytest
import torch
from scipy.stats import chisquare

from hybrid import Circuit, Parameter, simulate
from hybrid import noise
from hybrid.noise import NoiseModel
from hybrid.sim.instructions import Channel

C128 = dict(dtype=torch.complex128, device="cpu")


def _layout(circuit: Circuit) -> list[tuple[str, tuple[int, ...]]]:
    return [(op.name, tuple(op.all_wires)) for op in circuit.ops]


def test_apply_returns_a_new_circuit_and_keeps_symbols():
    theta = Parameter("theta")
    c = Circuit(2).h(0).cx(0, 1).rz(theta, 1)
    nm = NoiseModel().add_gate_error(noise.depolarizing(0.01), ["h", "rz"])
    noisy = nm.apply(c)
    assert noisy is not c and len(c) == 3 and not c.has_noise
    assert _layout(noisy) == [("h", (0,)), ("depolarizing", (0,)), ("cx", (0, 1)), ("rz", (1,)), ("depolarizing", (1,))]
    assert noisy.parameters == ["theta"]
    assert noisy.ops[3].params[0] is theta


def test_one_wire_error_on_each_wire_of_a_gate_and_a_matching_two_wire_error():
    nm = NoiseModel().add_gate_error(noise.bit_flip(0.1), "cx").add_gate_error(noise.depolarizing(0.2, 2), "cx")
    noisy = nm.apply(Circuit(3).cx(2, 0))
    assert _layout(noisy) == [("cx", (2, 0)), ("bit_flip", (2,)), ("bit_flip", (0,)), ("two_qubit_depolarizing", (2, 0))]


def test_local_errors_replace_the_all_wire_error_and_repeated_errors_compose():
    nm = NoiseModel()
    nm.add_gate_error(noise.depolarizing(0.1), "x")
    nm.add_gate_error(noise.phase_flip(0.2), "x", wires=[1])
    nm.add_gate_error(noise.amplitude_damping(0.3), "x", wires=[1])
    nm.add_gate_error(noise.depolarizing(0.2, 2), "cx", wires=[(0, 1)])
    noisy = nm.apply(Circuit(2).x(0).x(1).cx(0, 1).cx(1, 0))
    assert _layout(noisy) == [
        ("x", (0,)), ("depolarizing", (0,)),
        ("x", (1,)), ("phase_flip", (1,)), ("amplitude_damping", (1,)),
        ("cx", (0, 1)), ("two_qubit_depolarizing", (0, 1)),
        ("cx", (1, 0)),  # (1, 0) is another wire tuple: no rule
    ]  # fmt: skip


def test_measure_errors_precede_the_measurement_and_reset_errors_follow_the_reset():
    nm = NoiseModel().add_gate_error(noise.bit_flip(1.0), ["measure", "reset"])
    c = Circuit(1).measure(0, 0).reset(0)
    assert _layout(nm.apply(c)) == [("bit_flip", (0,)), ("measure", (0,)), ("reset", (0,)), ("bit_flip", (0,))]
    state = simulate(c, noise=nm, method="density_matrix", seed=1, **C128)
    assert state.bits.tolist() == [1]  # flipped before it was read
    torch.testing.assert_close(state.probs(), torch.tensor([0.0, 1.0], dtype=torch.float64))  # flipped after reset


def test_depolarizing_after_h_has_its_closed_form_and_a_gradient_in_p():
    p = Parameter("p")
    nm = NoiseModel().add_gate_error(noise.depolarizing(p), "h")
    value = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
    ev = simulate(Circuit(1).h(0), {"p": value}, noise=nm, method="density_matrix", **C128).expval("X0")
    torch.testing.assert_close(ev, torch.tensor(1 - 4 * 0.3 / 3, dtype=torch.float64))
    (grad,) = torch.autograd.grad(ev, value)
    assert grad.item() == pytest.approx(-4 / 3, abs=1e-12)


def test_ghz_with_depolarizing_after_every_gate_wire():
    """Per-qubit depolarizing p on every wire after the GHZ circuit: <X...X> = (1-4p/3)^n."""
    n, p = 4, 0.05
    c = Circuit(n).h(0)
    for k in range(n - 1):
        c.cx(k, k + 1)
    c.i(0).i(1).i(2).i(3)  # one error per wire at the end, through the model's "id" rule
    nm = NoiseModel().add_gate_error(noise.depolarizing(p), "id")
    ev = simulate(c, noise=nm, method="density_matrix", **C128).expval("X0 X1 X2 X3")
    assert ev.item() == pytest.approx((1 - 4 * p / 3) ** n, abs=1e-12)


def test_idle_errors_follow_the_schedule():
    gamma = 0.1
    c = Circuit(3).h(0).h(1).x(1).x(1).x(1)  # wire 0 idles 3 layers, wire 2 all 4
    nm = NoiseModel().add_idle_error(noise.phase_damping(gamma))
    noisy = nm.apply(c)
    per_wire = {w: sum(1 for op in noisy.ops if isinstance(op, Channel) and op.wires == (w,)) for w in range(3)}
    assert per_wire == {0: 3, 1: 0, 2: 4}
    ev = simulate(c, noise=nm, method="density_matrix", **C128).expval("X0")
    assert ev.item() == pytest.approx(math.sqrt(1 - gamma) ** 3, abs=1e-12)
    only = NoiseModel().add_idle_error(noise.phase_damping(gamma), wires=[2])
    assert {op.wires for op in only.apply(c).ops if isinstance(op, Channel)} == {(2,)}


def test_idle_thermal_relaxation_has_the_t1_closed_form():
    t1, t2, dt = 50.0, 30.0, 4.0
    c = Circuit(2).x(0)
    for _ in range(5):
        c.h(1)
    nm = NoiseModel().add_idle_error(noise.thermal_relaxation(t1, t2, dt))
    p1 = simulate(c, noise=nm, method="density_matrix", **C128).probs([0])[1]
    assert p1.item() == pytest.approx(math.exp(-4 * dt / t1), abs=1e-12)


def test_readout_errors_are_per_wire_with_an_all_wire_default():
    nm = NoiseModel().add_readout_error([[0.9, 0.1], [0.2, 0.8]]).add_readout_error(np.eye(2), wires=[1])
    ro = nm.readout_errors(3)
    assert sorted(ro) == [0, 1, 2]
    torch.testing.assert_close(ro[1], torch.eye(2, dtype=torch.float64))
    torch.testing.assert_close(ro[2], torch.tensor([[0.9, 0.1], [0.2, 0.8]], dtype=torch.float64))
    assert NoiseModel().readout_errors(2) == {}


def test_readout_counts_match_the_confused_distribution():
    """|1>|+>: true P(1) per wire is 1 and 1/2; the confusion matrices give the read ones."""
    m0, m1 = np.array([[0.97, 0.03], [0.1, 0.9]]), np.array([[0.8, 0.2], [0.25, 0.75]])
    nm = NoiseModel().add_readout_error(m0, wires=[0]).add_readout_error(m1, wires=[1])
    c = Circuit(2).x(0).h(1)
    state = simulate(c, noise=nm, method="density_matrix", **C128)
    torch.testing.assert_close(state.probs(), torch.tensor([0, 0, 0.5, 0.5], dtype=torch.float64))  # not the state
    shots = 20000
    counts = state.counts(shots, seed=3)
    true = np.array([0.0, 0.0, 0.5, 0.5])
    read = np.zeros(4)
    for t in range(4):
        for r in range(4):
            read[r] += true[t] * m0[t >> 1, r >> 1] * m1[t & 1, r & 1]
    observed = [counts.get(format(k, "02b"), 0) for k in range(4)]
    assert chisquare(observed, read * shots).pvalue > 1e-4


def test_trajectories_agree_with_the_density_matrix_under_a_model():
    nm = NoiseModel()
    nm.add_gate_error(noise.depolarizing(0.05), ["h", "ry"])
    nm.add_gate_error(noise.amplitude_damping(0.2), "cx")
    c = Circuit(3).h(0).cx(0, 1).ry(0.4, 2).cx(1, 2)
    exact = simulate(c, noise=nm, method="density_matrix", **C128)
    mc = simulate(c, noise=nm, method="trajectories", trajectories=4000, seed=7, **C128)
    assert mc.method == "trajectories"
    for obs in ("Z0 Z1", "Z2", "X0 X1 X2"):
        assert abs(mc.expval(obs).item() - exact.expval(obs).item()) <= 5 * mc.expval_stderr(obs).item() + 1e-12


def test_error_factories_build_small_circuits():
    assert _layout(noise.two_qubit_depolarizing(0.1)) == [("two_qubit_depolarizing", (0, 1))]
    assert _layout(noise.pauli_error("XZ", 0.1)) == [("pauli_error", (0, 1))]
    assert _layout(noise.kraus(np.eye(4)[None])) == [("kraus", (0, 1))]
    for make in (noise.bit_flip, noise.phase_flip, noise.amplitude_damping, noise.phase_damping):
        assert make(0.1).n_qubits == 1
    assert _layout(noise.generalized_amplitude_damping(0.1, 0.2)) == [("generalized_amplitude_damping", (0,))]
    assert _layout(noise.reset_error(0.1, 0.2)) == [("reset_error", (0,))]
    assert _layout(noise.pauli_channel(0.1, 0.0, 0.2)) == [("pauli_channel", (0,))]


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["ecr", "foo", "rzdg", "CX"])
def test_unknown_gate_names_are_refused(name):
    with pytest.raises(ValueError, match=f"unknown gate name {name!r}"):
        NoiseModel().add_gate_error(noise.depolarizing(0.1), name)


def test_width_mismatches_are_refused():
    with pytest.raises(ValueError, match="2-wire error cannot follow the 1-wire gate 'h'"):
        NoiseModel().add_gate_error(noise.depolarizing(0.1, 2), "h")
    with pytest.raises(ValueError, match="gate 'cx' acts on 2 wire"):
        NoiseModel().add_gate_error(noise.depolarizing(0.1), "cx", wires=[0])
    nm = NoiseModel().add_gate_error(noise.depolarizing(0.1, 2), "unitary")  # any width: checked on use
    with pytest.raises(ValueError, match="2-wire error cannot follow 'unitary' on wires"):
        nm.apply(Circuit(3).unitary(np.eye(8), [0, 1, 2]))
    with pytest.raises(ValueError, match="idle error acts on one wire"):
        NoiseModel().add_idle_error(noise.depolarizing(0.1, 2))


@pytest.mark.parametrize(
    "matrix, message",
    [
        ([[0.9, 0.2], [0.1, 0.9]], "rows summing to 1"),
        ([[1.1, -0.1], [0.0, 1.0]], "entries in \\[0, 1\\]"),
        (np.eye(4), "2x2 confusion matrix"),
    ],
)
def test_bad_readout_matrices_are_refused(matrix, message):
    with pytest.raises(ValueError, match=message):
        NoiseModel().add_readout_error(matrix)


def test_bad_errors_and_wires_are_refused():
    with pytest.raises(TypeError, match="an error is a hybrid Circuit"):
        NoiseModel().add_gate_error(0.01, "x")
    with pytest.raises(ValueError, match="gates and channels only"):
        NoiseModel().add_gate_error(Circuit(1).measure(0), "x")
    with pytest.raises(ValueError, match="non-negative integers"):
        NoiseModel().add_gate_error(noise.depolarizing(0.1), "x", wires=[-1])
    with pytest.raises(ValueError, match="must be a probability"):
        NoiseModel().add_gate_error(noise.depolarizing(1.5), "x")
    with pytest.raises(ValueError, match="1- or 2-wire errors"):
        noise.depolarizing(0.1, 3)


def test_errors_after_conditioned_gates_are_refused():
    c = Circuit(2).h(0).measure(0, 0)
    with c.when(0):
        c.x(1)
    with pytest.raises(ValueError, match="classically conditioned"):
        NoiseModel().add_gate_error(noise.depolarizing(0.1), "x").apply(c)
