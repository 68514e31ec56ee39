"""Qiskit and OpenQASM interop: bit order, round trips, measurements, the 20-qubit QASM check."""

import numpy as np
import pytest
import torch
from qiskit import QuantumCircuit, qasm2
from qiskit.circuit import Parameter as QParameter
from qiskit.circuit.library import QFTGate
from qiskit.quantum_info import Statevector

import hybrid
from hybrid import Circuit, Parameter, from_qasm, from_qiskit, simulate, to_qasm, to_qiskit
from hybrid.interop.qiskit import from_qiskit_order, qiskit_order
from hybrid.sim.circuit import Measure

from .strategies import qiskit_to_msb_first

QELIB_GATES = [  # (name, n_qubits, n_params) from qelib1.inc
    ("h", 1, 0), ("x", 1, 0), ("y", 1, 0), ("z", 1, 0), ("s", 1, 0), ("sdg", 1, 0), ("t", 1, 0),
    ("tdg", 1, 0), ("sx", 1, 0), ("sxdg", 1, 0), ("id", 1, 0), ("rx", 1, 1), ("ry", 1, 1), ("rz", 1, 1),
    ("u1", 1, 1), ("u2", 1, 2), ("u3", 1, 3), ("p", 1, 1), ("u", 1, 3), ("cx", 2, 0), ("cy", 2, 0),
    ("cz", 2, 0), ("ch", 2, 0), ("swap", 2, 0), ("crx", 2, 1), ("cry", 2, 1), ("crz", 2, 1), ("cu1", 2, 1),
    ("cp", 2, 1), ("cu3", 2, 3), ("cu", 2, 4), ("csx", 2, 0), ("rxx", 2, 1), ("rzz", 2, 1), ("ccx", 3, 0),
    ("cswap", 3, 0), ("c3x", 4, 0), ("c4x", 5, 0), ("rc3x", 4, 0), ("rccx", 3, 0), ("c3sqrtx", 4, 0),
]  # fmt: skip


def random_qasm2(n: int, n_gates: int, seed: int) -> str:
    rng = np.random.default_rng(seed)
    lines = ["OPENQASM 2.0;", 'include "qelib1.inc";', f"qreg q[{n}];"]
    usable = [g for g in QELIB_GATES if g[1] <= n]
    for _ in range(n_gates):
        name, k, p = usable[rng.integers(len(usable))]
        wires = rng.permutation(n)[:k]
        args = f"({','.join(f'{v:.17g}' for v in rng.uniform(-np.pi, np.pi, p))})" if p else ""
        lines.append(f"{name}{args} " + ",".join(f"q[{w}]" for w in wires) + ";")
    return "\n".join(lines) + "\n"


def from_qasm_3(text: str) -> QuantumCircuit:
    from qiskit import qasm3

    return qasm3.loads(text)


def _fidelity(ours: torch.Tensor, qc: QuantumCircuit) -> float:
    ref = qiskit_to_msb_first(Statevector(qc).data, qc.num_qubits)
    return float(abs(np.vdot(ref, ours.numpy())) ** 2)


def test_bit_order_qubit_i_is_wire_i():
    qc = QuantumCircuit(3)
    qc.x(0)
    vec = simulate(from_qiskit(qc)).vector
    assert vec[0b100].abs().item() == pytest.approx(1)  # wire 0 is our most significant bit
    np.testing.assert_allclose(qiskit_order(vec, 3).numpy(), Statevector(qc).data, atol=1e-7)
    np.testing.assert_allclose(from_qiskit_order(Statevector(qc).data, 3).numpy(), vec.numpy(), atol=1e-7)


@pytest.mark.parametrize("seed", range(6))
def test_random_qasm2_of_standard_gates(seed):
    text = random_qasm2(6, 60, seed)
    ours = simulate(from_qasm(text), dtype=torch.complex128).vector
    assert _fidelity(ours, qasm2.loads(text, custom_instructions=qasm2.LEGACY_CUSTOM_INSTRUCTIONS)) >= 1 - 1e-10


def test_twenty_qubit_qasm2_matches_statevector():
    text = random_qasm2(20, 200, seed=2026)
    ours = simulate(from_qasm(text), dtype=torch.complex128).vector
    assert _fidelity(ours, qasm2.loads(text, custom_instructions=qasm2.LEGACY_CUSTOM_INSTRUCTIONS)) >= 1 - 1e-10


def test_qasm3_reads_and_writes():
    text = """OPENQASM 3.0;
include "stdgates.inc";
qubit[3] q;
h q[0];
cx q[0], q[1];
rz(0.25) q[2];
crx(1.1) q[1], q[2];
"""
    c = from_qasm(text)
    qc = QuantumCircuit(3)
    qc.h(0)
    qc.cx(0, 1)
    qc.rz(0.25, 2)
    qc.crx(1.1, 1, 2)
    assert _fidelity(simulate(c, dtype=torch.complex128).vector, qc) >= 1 - 1e-12
    again = from_qasm(to_qasm(c, version=3))
    np.testing.assert_allclose(simulate(again).vector.numpy(), simulate(c).vector.numpy(), atol=1e-6)


def test_roundtrip_every_builder_through_qasm2_and_qiskit():
    rng = np.random.default_rng(1)
    from scipy.stats import unitary_group

    c = (
        Circuit(4).h(0).sdg(1).tdg(2).sxdg(3).u(0.1, 0.2, 0.3, 1).rot(0.4, 0.5, 0.6, 2).iswap(0, 3)
        .ryy(0.7, 1, 2).mcx([0, 1, 2], 3, control_values=[1, 0, 1]).mcp(0.8, [3, 2], 0)
        .unitary(unitary_group.rvs(4, random_state=rng), [3, 1]).diagonal(np.exp(1j * rng.uniform(0, 6, 4)), [0, 2])
        .permutation([3, 0, 1, 2], [2, 0]).ctrl(1, Circuit(1).global_phase(0.9), wires=[2]).global_phase(0.3)
    )  # fmt: skip
    c.ctrl([0, 2], Circuit(2).unitary(unitary_group.rvs(4, random_state=rng), [1, 0]), wires=[3, 1], control_values=[0, 1])
    want = simulate(c, dtype=torch.complex128).vector
    back = from_qiskit(to_qiskit(c))
    np.testing.assert_allclose(simulate(back, dtype=torch.complex128).vector.numpy(), want.numpy(), atol=1e-9)
    # OpenQASM 2 has no global phase (and Qiskit's QASM 3 writer drops it): equal up to phase.
    for version in (2, 3):
        text = to_qasm(c, version=version)
        assert _fidelity(want, QuantumCircuit.from_qasm_str(text) if version == 2 else from_qasm_3(text)) >= 1 - 1e-10
        assert _fidelity(want, to_qiskit(from_qasm(text))) >= 1 - 1e-10
    inv = c.inverse()
    assert _fidelity(simulate(inv, dtype=torch.complex128).vector, to_qiskit(inv)) >= 1 - 1e-10


def test_symbolic_parameters_survive_the_round_trip():
    theta = Parameter("theta")
    c = Circuit(2).rx(theta, 0).cry(-2 * theta + 0.5, 0, 1)
    qc = to_qiskit(c)
    assert {p.name for p in qc.parameters} == {"theta"}
    back = from_qiskit(qc)
    assert back.parameters == ["theta"]
    for t in (0.3, -1.2):
        np.testing.assert_allclose(
            simulate(back, {"theta": t}).vector.numpy(), simulate(c, {"theta": t}).vector.numpy(), atol=1e-6
        )
    q = QuantumCircuit(1)
    q.rx(QParameter("a") * QParameter("b"), 0)
    with pytest.raises(ValueError, match="several symbols"):
        from_qiskit(q)


def test_final_measurements_dropped_unless_kept_mid_circuit_kept():
    text = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[2];
creg c[2];
h q[0];
measure q[0] -> c[0];
if (c==1) x q[1];
h q[0];
measure q[0] -> c[0];
measure q[1] -> c[1];
"""
    c = from_qasm(text)
    assert [type(op).__name__ for op in c.ops].count("Measure") == 1
    kept = from_qasm(text, keep_final_measurements=True)
    assert sum(isinstance(op, Measure) for op in kept.ops) == 3
    # if (c==1): register value 1 means bit 0 reads 1 and bit 1 reads 0.
    cond = next(op.condition for op in c.ops if getattr(op, "condition", None))
    assert (cond.clbits, cond.value) == ((1, 0), 1)
    s = simulate(c, initial_state=torch.eye(4, dtype=torch.complex64)[[0] * 200], seed=4)
    flipped = s.probs([1])[:, 1]  # wire 1 was flipped exactly when the first measurement read 1
    assert torch.equal(flipped.round(), s.bits[:, 0].float())


def test_unknown_gates_go_through_qiskit_decomposition():
    qc = QuantumCircuit(4)
    qc.h(range(4))
    qc.append(QFTGate(4), range(4))
    assert _fidelity(simulate(from_qiskit(qc), dtype=torch.complex128).vector, qc) >= 1 - 1e-10


def test_bad_qasm_says_what_is_wrong():
    with pytest.raises(ValueError, match="OpenQASM"):
        from_qasm("h q[0];")
    with pytest.raises(ValueError, match="could not read OpenQASM 2"):
        from_qasm('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[1];\nfoo q[0];\n')
    with pytest.raises(ValueError, match="batched"):
        to_qiskit(Circuit(1).rx(torch.tensor([0.1, 0.2]), 0))
    with pytest.raises(ValueError, match="version"):
        to_qasm(Circuit(1), version=4)


def test_top_level_api_is_exposed():
    for name in ("from_qiskit", "to_qiskit", "from_qasm", "to_qasm", "simulate", "Circuit", "State"):
        assert hasattr(hybrid, name)


def test_measurement_read_by_a_later_condition_is_kept():
    qc = QuantumCircuit(2, 1)
    qc.h(0)
    qc.measure(0, 0)  # nothing touches qubit 0 afterwards, but the bit is read
    with qc.if_test((qc.clbits[0], 1)):
        qc.x(1)
    c = from_qiskit(qc)
    assert c.count_ops().get("measure") == 1
    s = simulate(c, initial_state=torch.eye(4, dtype=torch.complex64)[[0] * 400], seed=1)
    assert torch.equal(s.probs([1])[:, 1].round(), s.bits[:, 0].float())
    assert 100 < int(s.bits.sum()) < 300


def test_classical_bit_numbers_survive_unused_registers():
    from qiskit import ClassicalRegister, QuantumRegister

    q, a, b = QuantumRegister(2, "q"), ClassicalRegister(1, "a"), ClassicalRegister(1, "b")
    qc = QuantumCircuit(q, a, b)
    qc.x(0)
    qc.measure(0, b[0])  # Qiskit clbit 1
    with qc.if_test((b[0], 1)):
        qc.x(1)
    qc.measure(1, a[0])  # final: dropped, but bit numbering must not shift
    c = from_qiskit(qc)
    assert c.n_clbits == 2
    assert simulate(c, seed=0).bits.tolist() == [0, 1]


def test_open_controlled_cu_keeps_its_phase():
    from qiskit.circuit.library import CUGate
    from qiskit.quantum_info import Operator

    qc = QuantumCircuit(2)
    qc.append(CUGate(0.3, 0.4, 0.5, 0.6, ctrl_state=0), [0, 1])
    ours = np.stack([simulate(from_qiskit(qc), initial_state=i, dtype=torch.complex128).vector.numpy() for i in range(4)], 1)
    ref = Operator(qc).data
    perm = [0, 2, 1, 3]  # bit reversal of 2-qubit indices
    np.testing.assert_allclose(ours, ref[np.ix_(perm, perm)], atol=1e-12)


def test_non_affine_expression_is_refused():
    t = QParameter("t")
    qc = QuantumCircuit(1)
    qc.rx(t * (t - 1) * (t - 2) + t, 0)  # agrees with a line at t = 0, 1, 2
    with pytest.raises(ValueError, match="not affine"):
        from_qiskit(qc)


def test_qasm_header_after_a_comment_and_qasm2_export_hint():
    c = from_qasm('// a comment\nOPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[1] q;\nh q[0];\n')
    assert c.count_ops() == {"h": 1}
    with pytest.raises(ValueError, match="try version=3"):
        to_qasm(Circuit(1).rx(Parameter("a"), 0), version=2)
