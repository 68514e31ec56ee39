"""interop/pennylane/convert.py: both directions of the PennyLane translation.

Round trips (Circuit -> to_pennylane -> tape -> to_circuit, PauliSum -> from_pauli_sum ->
pauli_sum) must give back what went in, and every translation is also checked against
PennyLane itself (default.qubit states, ``qml.matrix``), so a convention shared by both
directions but wrong in both (a parameter order, a sign, a wire order) still fails.
"""

import numpy as np
import pennylane as qml
import pytest
import torch

from hybrid.interop.pennylane.convert import _ROWS, from_pauli_sum, pauli_sum, to_circuit, to_pennylane
from hybrid.sim import Circuit, I, Parameter, X, Y, Z, expval, simulate
from hybrid.sim import gates as g

from .reference import pauli_sum_matrix

RNG = np.random.default_rng(11)
N = 4


def _unitary(d: int) -> np.ndarray:
    z = RNG.normal(size=(d, d)) + 1j * RNG.normal(size=(d, d))
    q, r = np.linalg.qr(z)
    return q * (np.diag(r) / np.abs(np.diag(r)))


def every_gate_circuit() -> Circuit:
    """Every gate of the engine, plain, controlled (also on |0>) and inverted, over
    symbolic parameters (some scaled and shifted, as encoders write them) and numbers."""
    a, b, c = Parameter("a"), Parameter("b"), Parameter("c")
    circ = Circuit(N)
    for w in range(N):
        circ.h(w)
    circ.i(0).x(1).y(2).z(3).s(0).t(1).sx(2).sdg(3).tdg(0).sxdg(1)
    circ.rx(a, 0).ry(0.5 * b - 0.2, 1).rz(-c, 2).p(0.7, 3).u(a, 0.3, c, 0).rot(a, b, c, 1).rot(0.1, 0.2, 0.3, 2)
    circ.cx(0, 1).cy(1, 2).cz(2, 3).ch(3, 0).swap(0, 2).iswap(1, 3).cswap(0, 1, 3).ccx(2, 3, 0)
    circ.crx(b, 0, 3).cry(2 * a, 3, 1).crz(c + 1.0, 1, 0).cp(a, 2, 1)
    circ.rxx(a, 0, 1).ryy(b, 2, 3).rzz(c, 1, 2)
    circ.mcx([0, 1, 2], 3, control_values=[1, 0, 1]).mcz([3, 2], 0, control_values=[0, 1]).mcp(b, [0, 3], 1)
    circ.unitary(_unitary(4), [3, 1]).diagonal(np.exp(1j * RNG.uniform(0, 6, 2)), [2])
    circ.permutation([2, 0, 3, 1], [1, 3]).global_phase(0.4)
    circ.ctrl(3, Circuit(1).rot(c, 0.2, a, 0), wires=[1])  # CRot
    circ.ctrl([0], Circuit(2).rot(a, b, 0.5, 0).global_phase(c).iswap(0, 1), wires=[2, 3], control_values=[0])
    circ.compose(Circuit(N).rx(a, 0).cry(b, 1, 2).s(3).iswap(0, 3).inverse())
    return circ


def bindings(batch: int | None = None, requires_grad: bool = False) -> dict[str, torch.Tensor]:
    shape = () if batch is None else (batch,)
    values = {k: torch.tensor(RNG.uniform(-np.pi, np.pi, shape), dtype=torch.float64) for k in "abc"}
    return {k: v.requires_grad_(requires_grad) for k, v in values.items()}


def tape_of(circuit: Circuit, values, wires=None) -> qml.tape.QuantumScript:
    return qml.tape.make_qscript(to_pennylane)(circuit, values, wires)


def default_qubit_state(tape: qml.tape.QuantumScript, wires) -> np.ndarray:
    script = qml.tape.QuantumScript(tape.operations, [qml.state()])
    (state,) = qml.device("default.qubit", wires=wires).execute([script])
    return np.asarray(qml.math.unwrap(state))


def engine_state(circuit: Circuit, values) -> np.ndarray:
    return simulate(circuit, values, dtype=torch.complex128).vector.detach().numpy()


def test_the_test_circuit_uses_every_engine_gate_and_every_table_row():
    ops = every_gate_circuit().ops
    assert {op.gate for op in ops} == set(g.GATES)
    rows = {(op.gate, len(op.controls)) for op in ops if all(op.control_values)}
    assert {(gate, k) for _, gate, k in _ROWS} <= rows


@pytest.mark.parametrize("wires", [None, ["a", -3, 7, "q1"]])
def test_circuit_round_trip_and_default_qubit_give_our_state(wires):
    circuit, values = every_gate_circuit(), bindings()
    tape = tape_of(circuit, values, wires)
    back, initial = to_circuit(tape.operations, wires or range(N))
    want = engine_state(circuit, values)
    assert initial is None
    np.testing.assert_allclose(engine_state(back, {}), want, atol=1e-12)  # round trip, on our engine
    np.testing.assert_allclose(default_qubit_state(tape, wires or N), want, atol=1e-12)  # PennyLane's own simulator


def test_broadcast_bindings_become_a_pennylane_batch():
    circuit, values = every_gate_circuit(), bindings(batch=3)
    tape = tape_of(circuit, values)
    assert tape.batch_size == 3
    want = simulate(circuit, values, dtype=torch.complex128).vector.detach().numpy()  # (3, 2**N)
    np.testing.assert_allclose(default_qubit_state(tape, N), want, atol=1e-12)


def test_gradients_flow_through_to_pennylane_to_the_bound_tensors():
    circuit = every_gate_circuit()
    obs = 0.5 * Z(0) @ X(2) - Y(1) + Z(3)
    ours_values = bindings(requires_grad=True)
    pl_values = {k: v.detach().clone().requires_grad_(True) for k, v in ours_values.items()}

    @qml.qnode(qml.device("default.qubit", wires=N), interface="torch", diff_method="backprop")
    def qnode(values):
        to_pennylane(circuit, values)
        return qml.expval(from_pauli_sum(obs))

    want = qnode(pl_values)
    got = expval(circuit, [obs], ours_values, dtype=torch.complex128).reshape(())
    torch.testing.assert_close(got, want, atol=1e-12, rtol=0)
    want_grads = torch.autograd.grad(want, list(pl_values.values()))
    got_grads = torch.autograd.grad(got, list(ours_values.values()))
    for a, b in zip(got_grads, want_grads):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=0)


@pytest.mark.parametrize("cls, gate, n_controls", _ROWS, ids=[row[0].__name__ for row in _ROWS])
def test_each_table_row_keeps_pennylanes_matrix_both_ways(cls, gate, n_controls):
    """PennyLane op -> our circuit -> PennyLane op has PennyLane's own matrix (qml.matrix)."""
    n = cls.num_wires if isinstance(cls.num_wires, int) else 2
    wires = list(range(n))[::-1]  # reversed, so controls/targets order and wire order both matter
    original = cls(*RNG.uniform(-np.pi, np.pi, cls.num_params), wires=wires)
    ours, _ = to_circuit([original], range(n))
    assert [(op.gate, len(op.controls)) for op in ours.ops] == [(gate, n_controls)]
    (back,) = to_pennylane(ours)
    np.testing.assert_allclose(
        qml.matrix(back, wire_order=range(n)), qml.matrix(original, wire_order=range(n)), atol=1e-12
    )


def test_unbound_symbol_says_which():
    with pytest.raises(KeyError, match="'theta' has no value in bindings"):
        to_pennylane(Circuit(1).rx(Parameter("theta"), 0), {})


def test_measurements_are_refused_with_a_way_out():
    with pytest.raises(ValueError, match="translates plain gates only.*hybrid.simulate"):
        to_pennylane(Circuit(2).h(0).measure(0))


OBSERVABLES = [
    Z(0),
    X(1) @ Y(3),
    0.5 * Z(0) @ Z(1) - X(2) + 0.25,
    -1.5 * Y(2),
    2.0 * I(),
    X(0) @ Y(1) @ Z(2) @ X(3) + 0.3 * Y(0) - 0.7 * Z(1) @ Z(3),
]


@pytest.mark.parametrize("obs", OBSERVABLES, ids=repr)
@pytest.mark.parametrize("wires", [None, ["a", -3, 7, "q1"]])
def test_pauli_sum_round_trip_is_the_identity_and_matches_qml_matrix(obs, wires):
    labels = wires or list(range(N))
    pl_obs = from_pauli_sum(obs, wires)
    back = pauli_sum(pl_obs, {w: i for i, w in enumerate(labels)})
    assert dict((word, c) for c, word in back.terms) == dict((word, c) for c, word in obs.terms)
    assert len(back.terms) == len(obs.terms)
    np.testing.assert_allclose(qml.matrix(pl_obs, wire_order=labels), pauli_sum_matrix(obs, N), atol=1e-12)
