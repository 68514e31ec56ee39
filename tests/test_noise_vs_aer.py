"""Noise against Qiskit Aer: circuits with Aer error instructions, Aer noise models and a
fake IBM backend's model give Aer's density matrices, probabilities and counts.

Bit order: Aer is little-endian, so its density matrices are reordered (qubit i -> wire
i) before comparing; its counts' keys are read backwards.
"""

import numpy as np
import pytest
import torch
from qiskit import QuantumCircuit, transpile
from qiskit.quantum_info import DensityMatrix, SuperOp
from qiskit_aer import AerSimulator
from qiskit_aer.noise import NoiseModel as AerNoiseModel
from qiskit_aer.noise import (
    QuantumError,
    ReadoutError,
    amplitude_damping_error,
    coherent_unitary_error,
    depolarizing_error,
    kraus_error,
    pauli_error,
    phase_amplitude_damping_error,
    phase_damping_error,
    reset_error,
    thermal_relaxation_error,
)
from qiskit_ibm_runtime.fake_provider import FakeManilaV2
from scipy.stats import chisquare

import hybrid
from hybrid import Circuit, Parameter, simulate
from hybrid.noise import NoiseModel
from hybrid.sim.instructions import Channel

C128 = dict(dtype=torch.complex128, device="cpu")


# --- helpers ------------------------------------------------------------------------------------


def _ours_msb(rho: np.ndarray, n: int) -> np.ndarray:
    """Aer's little-endian density matrix in our order (wire 0 = most significant bit)."""
    order = list(reversed(range(n)))
    grid = np.asarray(rho).reshape((2,) * (2 * n))
    return grid.transpose(order + [n + k for k in order]).reshape(2**n, 2**n)


def _aer_rho(qc: QuantumCircuit, model=None) -> np.ndarray:
    qc = qc.copy()
    qc.save_density_matrix()
    result = AerSimulator(method="density_matrix", noise_model=model).run(qc).result()
    return _ours_msb(result.data()["density_matrix"], qc.num_qubits)


def _our_rho(circuit: Circuit, model=None) -> np.ndarray:
    return simulate(circuit, noise=model, method="density_matrix", **C128).density_matrix().numpy()


def _random_kraus(rng, k: int, n_ops: int) -> list[np.ndarray]:
    """A random CPTP map on k qubits: blocks of a random isometry (Stinespring)."""
    d = 2**k
    z = rng.normal(size=(d * n_ops, d)) + 1j * rng.normal(size=(d * n_ops, d))
    q, _ = np.linalg.qr(z)
    return [q[i * d : (i + 1) * d] for i in range(n_ops)]


def _random_unitary(rng, d: int) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(d, d)) + 1j * rng.normal(size=(d, d)))
    return q * (np.diag(r) / abs(np.diag(r)))


def _paulis(noisy: dict[str, float]) -> QuantumError:
    """An Aer Pauli error: the given words, the identity with the rest."""
    k = len(next(iter(noisy)))
    return pauli_error(list(noisy.items()) + [("I" * k, 1 - sum(noisy.values()))])


def _one_qubit_errors(rng) -> list[QuantumError]:
    p = lambda hi=0.3: float(rng.uniform(0.01, hi))  # noqa: E731
    t1 = float(rng.uniform(20, 80))
    return [
        depolarizing_error(p(), 1),
        _paulis({"X": p(0.2), "Y": p(0.2), "Z": p(0.2)}),
        _paulis({"X": p()}),
        amplitude_damping_error(p()),
        amplitude_damping_error(p(), excited_state_population=p()),  # generalized
        phase_damping_error(p()),
        phase_amplitude_damping_error(p(), p()),
        thermal_relaxation_error(t1, t1 * rng.uniform(0.3, 1.0), p(10)),  # T2 <= T1
        thermal_relaxation_error(t1, t1 * rng.uniform(1.05, 2.0), p(10), p()),  # T1 < T2 <= 2 T1, excited
        reset_error(p(), p()),
        kraus_error(_random_kraus(rng, 1, 3)),
        coherent_unitary_error(_random_unitary(rng, 2)),
    ]


def _two_qubit_errors(rng) -> list[QuantumError]:
    p = lambda hi=0.2: float(rng.uniform(0.01, hi))  # noqa: E731
    return [
        depolarizing_error(p(), 2),
        _paulis({"XZ": p(), "YY": p()}),  # correlated: Kraus
        depolarizing_error(p(), 1).tensor(_paulis({"Z": p()})),  # independent: per wire
        thermal_relaxation_error(50, 40, 5).tensor(amplitude_damping_error(p())),
        kraus_error(_random_kraus(rng, 2, 4)),
    ]


def _random_gate(qc: QuantumCircuit, rng, n: int) -> None:
    kind = rng.integers(8)
    a, b, c = (int(w) for w in rng.permutation(n)[:3])
    angle = float(rng.uniform(-np.pi, np.pi))
    [lambda: qc.h(a), lambda: qc.sx(a), lambda: qc.rz(angle, a), lambda: qc.ry(angle, a),
     lambda: qc.u(angle, 0.3, -0.7, a), lambda: qc.cx(a, b), lambda: qc.cp(angle, a, b),
     lambda: qc.ccx(a, b, c)][kind]()  # fmt: skip


# --- circuits holding Aer errors ---------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_random_circuits_with_aer_errors_match_aer_density_matrices(seed):
    """Random gates with Aer errors of every kind appended: from_qiskit -> our density
    matrix equals Aer's to 1e-10 (complex128)."""
    rng = np.random.default_rng(seed)
    n = 3 + seed % 3
    qc = QuantumCircuit(n)
    ones, twos = _one_qubit_errors(rng), _two_qubit_errors(rng)
    pending = [(e, 1) for e in ones] + [(e, 2) for e in twos]
    rng.shuffle(pending)
    for error, k in pending:
        for _ in range(2):
            _random_gate(qc, rng, n)
        qc.append(error, [int(w) for w in rng.permutation(n)[:k]])
    ours = hybrid.from_qiskit(qc)
    assert sum(isinstance(op, Channel) for op in ours.ops) >= len(pending)
    np.testing.assert_allclose(_our_rho(ours), _aer_rho(qc), atol=1e-10, rtol=0)


def test_kraus_instructions_convert():
    rng = np.random.default_rng(1)
    from qiskit.quantum_info import Kraus

    qc = QuantumCircuit(3)
    qc.h(0)
    qc.cx(0, 2)
    qc.append(Kraus(_random_kraus(rng, 2, 3)), [2, 0])
    qc.append(Kraus(_random_kraus(rng, 1, 2)), [1])
    np.testing.assert_allclose(_our_rho(hybrid.from_qiskit(qc)), _aer_rho(qc), atol=1e-10, rtol=0)


def test_pauli_mixtures_become_pauli_records():
    """Pauli-only Aer errors become the records trajectories sample without the state."""
    lam = 0.2

    def records(error, wires):
        qc = QuantumCircuit(2)
        qc.append(error, wires)
        return [(op.name, op.wires, tuple(float(p) for p in op.params), op.data if op.name == "pauli_error" else None)
                for op in hybrid.from_qiskit(qc).ops]  # fmt: skip

    assert records(depolarizing_error(lam, 1), [1]) == [("depolarizing", (1,), (pytest.approx(3 * lam / 4),), None)]
    assert records(depolarizing_error(lam, 2), [1, 0]) == [
        ("two_qubit_depolarizing", (1, 0), (pytest.approx(15 * lam / 16),), None)
    ]
    assert records(pauli_error([("X", 0.1), ("I", 0.9)]), [0]) == [("bit_flip", (0,), (pytest.approx(0.1),), None)]
    assert records(pauli_error([("Z", 0.1), ("I", 0.9)]), [0]) == [("phase_flip", (0,), (pytest.approx(0.1),), None)]
    # Qiskit label "XZ": Z on the error's qubit 0 (wire 1 here), X on its qubit 1 (wire 0).
    assert records(pauli_error([("XZ", 0.1), ("II", 0.9)]), [1, 0]) == [("pauli_error", (1, 0), (pytest.approx(0.1),), "ZX")]
    split = records(depolarizing_error(lam, 1).tensor(pauli_error([("Y", 0.3), ("I", 0.7)])), [0, 1])
    assert [r[:2] for r in split] == [("pauli_error", (0,)), ("depolarizing", (1,))]
    assert [r[0] for r in records(pauli_error([("XZ", 0.1), ("YY", 0.1), ("II", 0.8)]), [0, 1])] == ["kraus"]
    assert [r[0] for r in records(thermal_relaxation_error(50, 40, 10), [0])] == ["kraus"]


def test_our_channels_export_to_aer():
    """Every channel builder -> to_qiskit (Aer errors) -> Aer equals our density matrix."""
    rng = np.random.default_rng(5)
    c = Circuit(4).h(0).cx(0, 1).ry(0.4, 2).h(3)
    c.depolarizing(0.1, 0).two_qubit_depolarizing(0.2, 1, 3).bit_flip(0.1, 2).phase_flip(0.3, 0)
    c.pauli_channel(0.05, 0.1, 0.15, 3).pauli_error("XZY", 0.2, [2, 0, 3]).cx(2, 1)
    c.amplitude_damping(0.3, 1).generalized_amplitude_damping(0.2, 0.3, 2).phase_damping(0.4, 0)
    c.thermal_relaxation(50, 30, 10, 1).thermal_relaxation(40, 70, 10, 3, 0.1).reset_error(0.1, 0.2, 2)
    c.kraus(np.stack(_random_kraus(rng, 2, 3)), [3, 0]).u(0.3, 0.2, 0.1, 1)
    qc = hybrid.to_qiskit(c)
    assert sum(inst.operation.name == "quantum_channel" for inst in qc.data) == 13
    np.testing.assert_allclose(_our_rho(c), _aer_rho(qc), atol=1e-10, rtol=0)
    np.testing.assert_allclose(_our_rho(hybrid.from_qiskit(qc)), _our_rho(c), atol=1e-12, rtol=0)


def test_exporting_symbolic_or_batched_channels_is_refused():
    with pytest.raises(ValueError, match="depolarizing channel with a symbolic parameter"):
        hybrid.to_qiskit(Circuit(1).depolarizing(Parameter("p"), 0))
    with pytest.raises(ValueError, match="batched bit_flip channel"):
        hybrid.to_qiskit(Circuit(1).bit_flip(torch.tensor([0.1, 0.2]), 0))


# --- Aer noise models ------------------------------------------------------------------------


def _aer_model() -> AerNoiseModel:
    """All-qubit and per-qubit rules of every kind, and readout errors."""
    m = AerNoiseModel()
    m.add_all_qubit_quantum_error(depolarizing_error(0.02, 1), ["sx", "x", "h"])
    m.add_all_qubit_quantum_error(pauli_error([("X", 0.01), ("Z", 0.03), ("I", 0.96)]), ["rz"])
    m.add_all_qubit_quantum_error(depolarizing_error(0.05, 2), ["cx"])
    m.add_all_qubit_quantum_error(amplitude_damping_error(0.05).tensor(phase_damping_error(0.04)), ["cz"])
    m.add_quantum_error(thermal_relaxation_error(50, 40, 3), ["sx", "x"], [1])  # replaces the all-qubit one there
    m.add_quantum_error(
        thermal_relaxation_error(50, 70, 30).tensor(thermal_relaxation_error(60, 45, 30)), ["cx"], [2, 0]
    )
    m.add_quantum_error(amplitude_damping_error(0.1), ["u3", "u"], [2])
    m.add_quantum_error(reset_error(0.02, 0.01), ["reset"], [0])
    m.add_all_qubit_readout_error(ReadoutError([[0.97, 0.03], [0.06, 0.94]]))
    m.add_readout_error(ReadoutError([[0.9, 0.1], [0.15, 0.85]]), [1])
    return m


def _model_circuit(rng, n: int) -> QuantumCircuit:
    qc = QuantumCircuit(n)
    for _ in range(20):
        a, b = (int(w) for w in rng.permutation(n)[:2])
        [lambda: qc.sx(a), lambda: qc.x(a), lambda: qc.h(a), lambda: qc.rz(rng.uniform(-3, 3), a),
         lambda: qc.cx(a, b), lambda: qc.cz(a, b), lambda: qc.u(0.3, 0.4, 0.5, a),
         lambda: qc.reset(a)][rng.integers(8)]()  # fmt: skip
    return qc


@pytest.mark.parametrize("seed", range(4))
def test_aer_noise_models_match_aer_density_matrices(seed):
    rng = np.random.default_rng(100 + seed)
    n = 3 + seed % 2
    aer = _aer_model()
    ours = NoiseModel.from_qiskit(aer)
    qc = _model_circuit(rng, n)
    qc.reset(0)  # reset noise (a mid-circuit reset keeps the run exact in the density matrix)
    np.testing.assert_allclose(_our_rho(hybrid.from_qiskit(qc), ours), _aer_rho(qc, aer), atol=1e-10, rtol=0)


def test_aer_noise_model_rules_are_kept():
    ours = NoiseModel.from_qiskit(_aer_model())
    assert ours.gates == ["cx", "cz", "h", "reset", "rz", "sx", "u", "x"]  # Aer's "u3" is our "u"
    ro = ours.readout_errors(3)
    torch.testing.assert_close(ro[1], torch.tensor([[0.9, 0.1], [0.15, 0.85]], dtype=torch.float64))
    torch.testing.assert_close(ro[2], torch.tensor([[0.97, 0.03], [0.06, 0.94]], dtype=torch.float64))
    noisy = ours.apply(Circuit(3).sx(0).sx(1).rz(0.2, 2))
    assert [op.name for op in noisy.ops] == ["sx", "depolarizing", "sx", "kraus", "rz", "pauli_channel"]


def _counts_as_ours(counts: dict[str, int]) -> dict[str, int]:
    return {key.replace(" ", "")[::-1]: v for key, v in counts.items()}


def _same_distribution(a: dict[str, int], b: dict[str, int]) -> float:
    """Two-sample chi-square p-value (equal shot numbers) over the outcomes seen."""
    keys = sorted(set(a) | set(b))
    table = np.array([[a.get(k, 0) for k in keys], [b.get(k, 0) for k in keys]])
    table = table[:, table.sum(0) >= 5]  # sparse outcomes carry no usable chi-square term
    from scipy.stats import chi2_contingency

    return chi2_contingency(table).pvalue


def test_readout_counts_match_aer_counts():
    aer = _aer_model()
    qc = QuantumCircuit(3)
    qc.h(0)
    qc.cx(0, 1)
    qc.sx(2)
    measured = qc.copy()
    measured.measure_all()
    shots = 20000
    theirs = _counts_as_ours(AerSimulator(noise_model=aer, seed_simulator=11).run(measured, shots=shots).result().get_counts())
    state = simulate(hybrid.from_qiskit(qc), noise=NoiseModel.from_qiskit(aer), method="density_matrix", **C128)
    ours = state.counts(shots, seed=11)
    assert _same_distribution(ours, theirs) > 1e-4
    # Both against the exact read-out distribution: the state's probabilities through the matrices.
    ro = state.readout
    probs = state.probs().numpy()
    exact = np.zeros(8)
    for t in range(8):
        for r in range(8):
            exact[r] += probs[t] * np.prod([ro[w][(t >> (2 - w)) & 1, (r >> (2 - w)) & 1].item() for w in range(3)])
    for counts in (ours, theirs):
        assert chisquare([counts.get(format(k, "03b"), 0) for k in range(8)], exact * shots).pvalue > 1e-4


# --- fake backend ------------------------------------------------------------------------------


def _manila_circuit() -> QuantumCircuit:
    backend = FakeManilaV2()
    qc = QuantumCircuit(3)
    qc.h(0)
    qc.cx(0, 1)
    qc.cx(1, 2)
    qc.ry(0.7, 2)
    qc.reset(1)
    qc.x(1)
    return transpile(qc, backend, optimization_level=1, seed_transpiler=3)


def test_from_backend_matches_aer_on_a_fake_backend():
    """FakeManilaV2's model through NoiseModel.from_backend: the density matrix equals the
    exact evolution under Aer's own errors (quantum_info) to 1e-12, and Aer's simulator to
    1e-9: Aer's simulator drops mixture terms below probability 1e-10 (the backend's
    two-qubit errors have terms of 8.9e-11), which moves its matrix by up to ~4e-10."""
    backend = FakeManilaV2()
    aer = AerNoiseModel.from_backend(backend)
    ours = NoiseModel.from_backend(backend)
    qc = _manila_circuit()
    assert qc.num_qubits == 5 and set(qc.count_ops()) <= {"rz", "sx", "x", "cx", "reset"}
    rho = _our_rho(hybrid.from_qiskit(qc), ours)
    exact = DensityMatrix.from_label("0" * qc.num_qubits)
    for inst in qc.data:
        qubits = [qc.find_bit(q).index for q in inst.qubits]
        exact = exact.evolve(inst.operation, qubits)
        error = aer._local_quantum_errors.get(inst.operation.name, {}).get(tuple(qubits))
        if error is not None:
            exact = exact.evolve(SuperOp(error), qubits)
    np.testing.assert_allclose(rho, _ours_msb(exact.data, qc.num_qubits), atol=1e-12, rtol=0)
    np.testing.assert_allclose(rho, _aer_rho(qc, aer), atol=1e-9, rtol=0)
    probs = simulate(hybrid.from_qiskit(qc), noise=ours, method="density_matrix", **C128).probs().numpy()
    np.testing.assert_allclose(probs, np.diag(_aer_rho(qc, aer)).real, atol=1e-9, rtol=0)


def test_from_backend_counts_match_aer_counts():
    backend = FakeManilaV2()
    aer = AerNoiseModel.from_backend(backend)
    qc = _manila_circuit()
    measured = qc.copy()
    measured.measure_all()
    shots = 20000
    theirs = _counts_as_ours(AerSimulator(noise_model=aer, seed_simulator=5).run(measured, shots=shots).result().get_counts())
    state = simulate(hybrid.from_qiskit(qc), noise=NoiseModel.from_backend(backend), method="density_matrix", **C128)
    assert sorted(state.readout) == list(range(5))
    assert _same_distribution(state.counts(shots, seed=5), theirs) > 1e-4


# --- what cannot be converted ------------------------------------------------------------------


def test_unconvertible_aer_models_name_the_problem():
    m = AerNoiseModel()
    m.add_all_qubit_quantum_error(depolarizing_error(0.1, 2), ["ecr"])
    with pytest.raises(ValueError, match="'ecr' has no one-gate equivalent"):
        NoiseModel.from_qiskit(m)
    m = AerNoiseModel()
    m.add_all_qubit_quantum_error(depolarizing_error(0.1, 1), ["my_gate"])
    with pytest.raises(ValueError, match="'my_gate' is not a Qiskit standard gate"):
        NoiseModel.from_qiskit(m)
    m = AerNoiseModel()
    m.add_readout_error(ReadoutError([[0.9, 0.05, 0.05, 0.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0],
                                      [0.0, 0.0, 0.0, 1.0]]), [0, 1])  # fmt: skip
    with pytest.raises(ValueError, match="readout error on qubits \\(0, 1\\).*correlated"):
        NoiseModel.from_qiskit(m)
    with pytest.raises(TypeError, match="takes a qiskit_aer.noise.NoiseModel"):
        NoiseModel.from_qiskit({"x": 0.1})
    with pytest.raises(TypeError, match="takes a Qiskit BackendV2"):
        NoiseModel.from_backend("not a backend")


def test_qiskit_names_of_one_gate_must_agree():
    """Aer's u and u3 (p and u1) are one gate here: equal errors merge, different ones are refused."""
    m = AerNoiseModel()
    m.add_all_qubit_quantum_error(amplitude_damping_error(0.1), ["u", "u3"])
    m.add_quantum_error(depolarizing_error(0.1, 1), ["p", "u1"], [0])
    ours = NoiseModel.from_qiskit(m)
    assert [op.name for op in ours.apply(Circuit(1).u(0.1, 0.2, 0.3, 0).p(0.4, 0)).ops] == ["u", "kraus", "p", "depolarizing"]
    m.add_all_qubit_quantum_error(amplitude_damping_error(0.2), ["u3"])
    with pytest.raises(ValueError, match="Qiskit's 'u' and 'u3' both become our 'u' gate"):
        NoiseModel.from_qiskit(m)
