"""hybrid.qubit's structural cache and batched execution: tapes of one structure share one
circuit (and plan), many tapes run as one batched engine call, and every result equals
default.qubit's (the independent reference) tape by tape."""

import numpy as np
import pennylane as qml
import pytest
import torch

import hybrid.sim as sim
from hybrid.interop.pennylane import HybridQubitDevice
from hybrid.interop.pennylane.compiled import compile_tape, structure_key


def _sel_tape(weights: np.ndarray, observable=None, wires=None) -> qml.tape.QuantumScript:
    n = weights.shape[1]
    wires = list(range(n)) if wires is None else wires
    ops = qml.StronglyEntanglingLayers.compute_decomposition(weights, wires=wires, ranges=[1] * len(weights), imprimitive=qml.CNOT)
    obs = observable if observable is not None else qml.sum(*(qml.PauliZ(w) for w in wires))
    return qml.tape.QuantumScript(ops, [qml.expval(obs), qml.probs(wires=wires[:2])])


def _weights(seed: int, n: int = 4, layers: int = 2) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 2 * np.pi, (layers, n, 3))


def _reference(tape):
    return qml.device("default.qubit").execute(tape)


def _assert_results_equal(got, want):
    for g, w in zip(got, want):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), atol=1e-10)


def test_same_structure_shares_one_circuit_and_different_structure_never_does():
    a, b = _sel_tape(_weights(0)), _sel_tape(_weights(1))
    wires = list(range(4))
    assert structure_key(a.operations, wires) == structure_key(b.operations, wires)
    assert compile_tape(a.operations, wires) is compile_tape(b.operations, wires)
    other_wires = _sel_tape(_weights(1), wires=[1, 0, 2, 3])  # same gates, other wires
    assert structure_key(other_wires.operations, wires) != structure_key(a.operations, wires)
    other_gate = qml.tape.QuantumScript([qml.RY(0.1, 0) if i == 0 else op for i, op in enumerate(a.operations)])
    assert structure_key(other_gate.operations, wires) != structure_key(a.operations, wires)
    mcx = [qml.MultiControlledX(wires=[0, 1, 2], control_values=v) for v in ([1, 0], [0, 1])]
    assert structure_key(mcx[:1], wires) != structure_key(mcx[1:], wires)  # hyperparameters count
    matrix = [qml.QubitUnitary(np.eye(2), wires=0)]
    assert structure_key(matrix, wires) is None  # a matrix parameter is data: no shared circuit


def test_shared_circuit_gives_each_tape_its_own_values():
    dev = HybridQubitDevice(wires=4)
    for seed in range(3):  # the second and third calls reuse the first call's circuit
        tape = _sel_tape(_weights(seed))
        _assert_results_equal(dev.execute(tape), _reference(tape))
    # Same gates, a changed observable: the measurement follows the tape, not the cache.
    tape = _sel_tape(_weights(0), observable=qml.PauliX(0) @ qml.PauliY(2) + 0.5 * qml.PauliZ(1))
    _assert_results_equal(dev.execute(tape), _reference(tape))


def test_many_tapes_run_as_one_batched_call_and_equal_tape_by_tape(mocker):
    dev = HybridQubitDevice(wires=4)
    tapes = [_sel_tape(_weights(seed)) for seed in range(6)]
    odd = qml.tape.QuantumScript([qml.Hadamard(0), qml.CNOT([0, 1]), qml.RX(0.4, 2)], [qml.expval(qml.PauliZ(1))])
    spy = mocker.spy(sim, "simulate")
    batched = dev.execute(tapes + [odd])
    assert spy.call_count == 2  # six tapes of one structure in one call, the odd one alone
    assert spy.call_args_list[0].args[1].shape == (6, 24)  # (tapes, parameters)
    for tape, got in zip(tapes + [odd], batched):
        _assert_results_equal(got if isinstance(got, tuple) else (got,), _reference(tape) if isinstance(got, tuple) else (_reference(tape),))
    one_by_one = [dev.execute(t) for t in tapes]
    for a, b in zip(batched, one_by_one):
        _assert_results_equal(a, b)


@pytest.mark.parametrize("interface", ["numpy", "torch"])
def test_parameter_shift_gradients_match_default_qubit_in_one_batched_call(mocker, interface):
    weights = _weights(3, n=3)

    def qnode(device):
        @qml.qnode(device, diff_method="parameter-shift", interface=interface)
        def f(w):
            qml.StronglyEntanglingLayers(w, wires=range(3))
            return qml.expval(qml.PauliZ(0) @ qml.PauliZ(2))

        return f

    if interface == "torch":
        w_ours = torch.tensor(weights, requires_grad=True)
        w_ref = torch.tensor(weights, requires_grad=True)
        qnode(HybridQubitDevice(wires=3))(w_ours).backward()
        spy = mocker.spy(sim, "simulate")
        qnode(HybridQubitDevice(wires=3))(w_ref.detach().clone().requires_grad_(True)).backward()
        ref = torch.tensor(weights, requires_grad=True)
        qnode(qml.device("default.qubit"))(ref).backward()
        np.testing.assert_allclose(w_ours.grad.numpy(), ref.grad.numpy(), atol=1e-10)
    else:
        w = qml.numpy.array(weights, requires_grad=True)
        spy = mocker.spy(sim, "simulate")
        got = qml.grad(qnode(HybridQubitDevice(wires=3)))(w)
        want = qml.grad(qnode(qml.device("default.qubit")))(w)
        np.testing.assert_allclose(got, want, atol=1e-10)
    # 18 parameters, two shifted tapes each: one engine call for all 36 (plus the forward).
    assert spy.call_count <= 2


def test_device_adjoint_uses_the_shared_circuit_and_matches_default_qubit():
    weights = _weights(5, n=4)
    results = {}
    for name in ("hybrid.qubit", "default.qubit"):
        dev = qml.device(name, wires=4)

        @qml.qnode(dev, diff_method="adjoint")
        def f(w):
            qml.StronglyEntanglingLayers(w, wires=range(4))
            return qml.expval(qml.PauliZ(0)), qml.expval(qml.PauliX(1) @ qml.PauliZ(3))

        w = qml.numpy.array(weights, requires_grad=True)
        results[name] = qml.jacobian(lambda x: qml.numpy.stack(f(x)))(w)
    np.testing.assert_allclose(results["hybrid.qubit"], results["default.qubit"], atol=1e-10)


def test_grouped_tapes_keep_their_own_observable_coefficients():
    """Observables that print alike (PennyLane's hash rounds them) but differ are never
    merged; tensor coefficients keep their own gradients."""
    dev = HybridQubitDevice(wires=1)
    c1 = torch.tensor(0.50001, dtype=torch.float64, requires_grad=True)
    c2 = torch.tensor(0.50004, dtype=torch.float64, requires_grad=True)
    tapes = [qml.tape.QuantumScript([qml.RX(0.3, 0)], [qml.expval(c * qml.PauliZ(0))]) for c in (c1, c2)]
    out = dev.execute(tapes)
    for c, got in zip((c1, c2), out):
        np.testing.assert_allclose(float(got.detach()), float(c.detach()) * np.cos(0.3), atol=1e-12)
    (out[0] + 2 * out[1]).backward()
    np.testing.assert_allclose([float(c1.grad), float(c2.grad)], [np.cos(0.3), 2 * np.cos(0.3)], atol=1e-12)
    near = [qml.tape.QuantumScript([qml.RX(0.3, 0)], [qml.expval(c * qml.PauliZ(0))]) for c in (0.123456789, 0.123456780)]
    for tape, got in zip(near, dev.execute(near)):
        _assert_results_equal((got,), (_reference(tape),))


def test_tapes_without_gate_parameters_are_run_one_by_one():
    dev = HybridQubitDevice(wires=2)
    bell = qml.tape.QuantumScript([qml.Hadamard(0), qml.CNOT([0, 1])], [qml.expval(0.5 * qml.PauliZ(0)), qml.probs(wires=[0, 1])])
    matrix = np.array([[1.0, 0.5], [0.5, -1.0]])
    t = qml.tape.QuantumScript([qml.Hadamard(0), qml.T(0)], [qml.probs(op=qml.Hermitian(matrix, 0))])
    for tape, got in zip([bell, bell, t, t], dev.execute([bell, bell, t, t])):
        _assert_results_equal(got if isinstance(got, tuple) else (got,), _reference(tape) if isinstance(got, tuple) else (_reference(tape),))


def test_adjoint_support_verdict_tells_apart_operators_with_different_bases():
    x = qml.numpy.array(0.4, requires_grad=True)
    supported = {}
    for name, base in (("x", qml.PauliX(0)), ("h", qml.Hadamard(0))):
        dev = HybridQubitDevice(wires=1)
        config = qml.devices.ExecutionConfig(gradient_method="adjoint")
        for b in ((qml.PauliX(0), qml.Hadamard(0)) if name == "x" else (qml.Hadamard(0), qml.PauliX(0))):
            tape = qml.tape.QuantumScript([qml.exp(b, -0.5j * x)], [qml.expval(qml.PauliZ(0))])
            supported[(name, b.name)] = dev.supports_derivatives(config, tape)
    # Whichever is asked first, each circuit gets its own answer.
    assert supported[("x", "PauliX")] == supported[("h", "PauliX")]
    assert supported[("x", "Hadamard")] == supported[("h", "Hadamard")]
