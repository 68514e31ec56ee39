"""hybrid.qubit (the PennyLane device plugin) against PennyLane's default.qubit.

Every value and gradient is compared with default.qubit run on the same circuit (an
independent simulator), or, for sampling, with exact probabilities within binomial error.
"""

import autograd
import numpy as np
import pennylane as qml
import pytest
import torch

from hybrid.interop.pennylane import HybridQubitDevice

pytestmark = pytest.mark.filterwarnings("ignore::pennylane.exceptions.PennyLaneDeprecationWarning")

LABELS = ["a", -3, 7, "q1"]  # labels of mixed kinds, in device order (not sorted)


def _random_unitary(rng, d):
    z = rng.normal(size=(d, d)) + 1j * rng.normal(size=(d, d))
    q, r = np.linalg.qr(z)
    return q * (np.diag(r) / np.abs(np.diag(r)))


def _random_ops(rng, wires, depth=14):
    """A random circuit drawing from native gates and gates that must be decomposed."""
    w = wires
    ops = []
    for _ in range(depth):
        a, b, c = rng.permutation(len(w))[:3]
        x, y, z = rng.uniform(-np.pi, np.pi, size=3)
        choice = rng.integers(22)
        ops.append(
            [
                lambda: qml.Hadamard(w[a]),
                lambda: qml.RX(x, w[a]),
                lambda: qml.RY(x, w[a]),
                lambda: qml.Rot(x, y, z, w[a]),
                lambda: qml.U3(x, y, z, w[a]),
                lambda: qml.PhaseShift(x, w[a]),
                lambda: qml.CNOT([w[a], w[b]]),
                lambda: qml.CRX(x, [w[a], w[b]]),
                lambda: qml.CRY(x, [w[a], w[b]]),
                lambda: qml.CRZ(x, [w[a], w[b]]),
                lambda: qml.ControlledPhaseShift(x, [w[a], w[b]]),
                lambda: qml.IsingXX(x, [w[a], w[b]]),
                lambda: qml.IsingYY(x, [w[a], w[b]]),
                lambda: qml.IsingZZ(x, [w[a], w[b]]),
                lambda: qml.Toffoli([w[a], w[b], w[c]]),
                lambda: qml.CSWAP([w[a], w[b], w[c]]),
                lambda: qml.MultiControlledX(wires=[w[a], w[b], w[c]], control_values=[0, 1]),
                lambda: qml.QubitUnitary(_random_unitary(rng, 4), [w[a], w[b]]),
                lambda: qml.DiagonalQubitUnitary(np.exp(1j * rng.uniform(0, 6, 2)), w[a]),
                lambda: qml.adjoint(qml.S(w[a])),
                lambda: qml.ctrl(qml.Rot(x, y, z, w[a]), control=w[b], control_values=0),
                lambda: qml.MultiRZ(x, [w[a], w[b], w[c]]),  # decomposed
            ][choice]()
        )
    ops.append(qml.GlobalPhase(0.3))
    ops.append(qml.QFT(wires=w[:3]))  # decomposed
    return ops


def _measurements(w):
    herm = np.array([[1.0, 2 - 1j], [2 + 1j, -0.5]])
    return [
        qml.expval(qml.PauliZ(w[0]) @ qml.PauliX(w[2])),
        qml.expval(0.3 * qml.PauliY(w[1]) - 1.2 * qml.PauliZ(w[3]) @ qml.PauliZ(w[0]) + 0.7 * qml.Identity(w[2])),
        qml.var(qml.PauliX(w[1]) @ qml.PauliY(w[3])),
        qml.expval(qml.Hermitian(herm, w[2])),
        qml.var(qml.Hermitian(herm, w[0])),
        qml.expval(qml.Projector([1, 0], wires=[w[3], w[1]])),
        qml.probs(wires=[w[2], w[0]]),
        qml.probs(op=qml.PauliX(w[1])),
        qml.state(),
        qml.density_matrix(wires=[w[1], w[3]]),
    ]


def _run(dev, ops, measurements):
    tape = qml.tape.QuantumScript(ops, measurements)
    return qml.execute([tape], dev)[0]


@pytest.mark.parametrize("seed", range(4))
def test_random_circuits_match_default_qubit(seed):
    rng = np.random.default_rng(seed)
    ops = _random_ops(rng, LABELS)
    ours = _run(qml.device("hybrid.qubit", wires=LABELS), ops, _measurements(LABELS))
    ref = _run(qml.device("default.qubit", wires=LABELS), ops, _measurements(LABELS))
    for a, b in zip(ours, ref):
        np.testing.assert_allclose(a, b, atol=1e-10)


def test_initial_state_preparation_on_a_subset_of_wires():
    rng = np.random.default_rng(5)
    vec = rng.normal(size=4) + 1j * rng.normal(size=4)
    vec /= np.linalg.norm(vec)
    for prep in (qml.StatePrep(vec, wires=[7, "a"]), qml.BasisState(np.array([1, 0, 1]), wires=["a", 7, -3])):
        ops = [prep, qml.RY(0.4, -3), qml.CNOT(["a", "q1"])]
        ours = _run(qml.device("hybrid.qubit", wires=LABELS), ops, [qml.state()])
        ref = _run(qml.device("default.qubit", wires=LABELS), ops, [qml.state()])
        np.testing.assert_allclose(ours, ref, atol=1e-12)


def test_broadcast_parameters_run_as_one_batch():
    x = np.array([0.1, 1.2, -2.0])
    u = np.stack([_random_unitary(np.random.default_rng(k), 2) for k in range(3)])
    ops = [qml.RX(x, 0), qml.CNOT([0, 1]), qml.QubitUnitary(u, 2), qml.CRY(0.5, [2, 1]), qml.IsingXX(x[::-1], [0, 2])]
    meas = [qml.expval(qml.PauliZ(1)), qml.var(qml.PauliX(2)), qml.probs(wires=[0, 2]), qml.state()]
    ours = _run(qml.device("hybrid.qubit", wires=3), ops, meas)
    ref = _run(qml.device("default.qubit", wires=3), ops, meas)
    assert ours[0].shape == (3,) and ours[2].shape == (3, 4) and ours[3].shape == (3, 8)
    for a, b in zip(ours, ref):
        np.testing.assert_allclose(a, b, atol=1e-10)


def _qfunc(weights, wires):
    qml.StronglyEntanglingLayers(weights, wires=wires)
    qml.CRX(weights[0, 0, 0] * 2, wires=[wires[0], wires[2]])
    qml.IsingZZ(weights[1, 1, 1], wires=[wires[1], wires[2]])
    return qml.expval(qml.PauliZ(wires[0]) @ qml.PauliY(wires[1]) + 0.5 * qml.PauliX(wires[2])), qml.expval(
        qml.PauliZ(wires[2])
    )


@pytest.mark.parametrize("diff_method", ["backprop", "adjoint"])
def test_torch_gradients_match_default_qubit(diff_method):
    wires = ["x", 0, "y"]
    weights = torch.tensor(np.random.default_rng(1).uniform(0, 2 * np.pi, (2, 3, 3)), requires_grad=True)

    def jac(device_name, method):
        dev = qml.device(device_name, wires=wires)
        node = qml.QNode(lambda w: _qfunc(w, wires), dev, interface="torch", diff_method=method)
        out = node(weights)
        rows = [torch.autograd.grad(o, weights, retain_graph=True)[0] for o in out]
        return torch.stack(out), torch.stack(rows)

    (val, jac_ours), (val_ref, jac_ref) = jac("hybrid.qubit", diff_method), jac("default.qubit", "backprop")
    assert val.dtype == torch.float64
    torch.testing.assert_close(val, val_ref, atol=1e-10, rtol=0)
    torch.testing.assert_close(jac_ours, jac_ref, atol=1e-9, rtol=0)


def test_backprop_keeps_torch_graph_through_probs_state_and_broadcast():
    x = torch.tensor([0.3, -1.1], dtype=torch.float64, requires_grad=True)

    def circuit(x):
        qml.RY(x, 0)
        qml.CNOT([0, 1])
        qml.RX(2 * x, 1)
        return qml.probs(wires=[1]), qml.expval(qml.Hermitian(np.array([[2.0, 1j], [-1j, 0.0]]), wires=1))

    results = []
    for name in ("hybrid.qubit", "default.qubit"):
        out = qml.QNode(circuit, qml.device(name, wires=2), interface="torch", diff_method="backprop")(x)
        assert isinstance(out[0], torch.Tensor) and out[0].grad_fn is not None
        loss = (out[0][:, 1] * torch.arange(1.0, 3.0, dtype=torch.float64)).sum() + out[1].sum()
        results.append(torch.autograd.grad(loss, x)[0])
    torch.testing.assert_close(results[0], results[1], atol=1e-10, rtol=0)


def test_device_adjoint_jacobian_with_numpy_parameters():
    """compute_derivatives on a tape, against default.qubit's own adjoint Jacobian."""
    ops = [qml.RX(0.4, "a"), qml.RY(-0.7, "b"), qml.CNOT(["a", "b"]), qml.CRZ(0.8, ["b", "a"]), qml.IsingXX(1.3, ["a", "b"])]
    tape = qml.tape.QuantumScript(ops, [qml.expval(qml.PauliX("a")), qml.expval(qml.PauliY("b") @ qml.PauliZ("a"))])
    tape.trainable_params = [0, 2, 3]
    ours = HybridQubitDevice(wires=["a", "b"]).compute_derivatives(tape)
    ref = qml.device("default.qubit", wires=["a", "b"]).compute_derivatives(tape)
    np.testing.assert_allclose(np.array(ours), np.array(ref), atol=1e-10)


def test_shots_are_seeded_and_unbiased():
    ops = [qml.RY(1.1, 0), qml.CNOT([0, 1]), qml.RX(0.4, 1)]
    meas = [qml.sample(wires=[0, 1]), qml.expval(qml.PauliX(1)), qml.counts(wires=[1])]
    tape = qml.tape.QuantumScript(ops, meas, shots=4000)
    first = qml.execute([tape], qml.device("hybrid.qubit", wires=2, seed=11))[0]
    again = qml.execute([tape], qml.device("hybrid.qubit", wires=2, seed=11))[0]
    other = qml.execute([tape], qml.device("hybrid.qubit", wires=2, seed=12))[0]
    np.testing.assert_array_equal(first[0], again[0])
    assert first[1] == again[1] and first[2] == again[2]
    assert not np.array_equal(first[0], other[0])
    exact = qml.execute([qml.tape.QuantumScript(ops, [qml.probs(wires=[0, 1]), qml.expval(qml.PauliX(1))])],
                        qml.device("default.qubit", wires=2))[0]  # fmt: skip
    freq = np.bincount(first[0] @ np.array([2, 1]), minlength=4) / 4000
    sigma = np.sqrt(exact[0] * (1 - exact[0]) / 4000)
    assert np.all(np.abs(freq - exact[0]) < 5 * sigma + 1e-12)
    assert abs(first[1] - exact[1]) < 5 * np.sqrt((1 - exact[1] ** 2) / 4000)
    assert sum(first[2].values()) == 4000


def test_shot_vectors_and_broadcast_with_shots():
    x = np.array([0.2, 2.5])
    tape = qml.tape.QuantumScript([qml.RX(x, 0)], [qml.expval(qml.PauliZ(0)), qml.sample(wires=[0])], shots=[100, (50, 2)])
    out = qml.execute([tape], qml.device("hybrid.qubit", wires=1, seed=3))[0]
    ref = qml.execute([tape], qml.device("default.qubit", wires=1, seed=3))[0]
    assert len(out) == len(ref) == 3
    for bin_result, ref_bin in zip(out, ref):
        assert bin_result[0].shape == ref_bin[0].shape and bin_result[1].shape == ref_bin[1].shape
        np.testing.assert_allclose(bin_result[0], np.cos(x), atol=0.5)
        bits = bin_result[1].reshape(2, -1)
        np.testing.assert_allclose(bin_result[0], 1 - 2 * bits.mean(axis=1), atol=1e-12)


def test_mid_circuit_measurement_is_deferred():
    def circuit(x):
        qml.RY(x, 0)
        m = qml.measure(0)
        qml.cond(m, qml.RX)(0.7, 1)
        return qml.expval(qml.PauliZ(1)), qml.probs(op=m)

    ours = qml.QNode(circuit, qml.device("hybrid.qubit", wires=3))(1.3)
    ref = qml.QNode(circuit, qml.device("default.qubit", wires=3))(1.3)
    for a, b in zip(ours, ref):
        np.testing.assert_allclose(a, b, atol=1e-10)


def test_native_gates_are_kept_and_others_decomposed():
    dev = qml.device("hybrid.qubit", wires=3)
    tape = qml.tape.QuantumScript(
        [qml.IsingXX(0.1, [0, 1]), qml.Toffoli([0, 1, 2]), qml.QFT([0, 1, 2]), qml.ctrl(qml.RY(0.2, 0), [1, 2])],
        [qml.expval(qml.PauliZ(0))],
    )
    (out,), _ = dev.preprocess_transforms()((tape,))
    names = [op.name for op in out.operations]
    assert names[:2] == ["IsingXX", "Toffoli"] and names[-1] == "C(RY)"
    assert "QFT" not in names and "ControlledPhaseShift" in names


def test_complex64_gives_float32_results_close_to_complex128():
    ops = [qml.RX(0.3, 0), qml.CNOT([0, 1]), qml.RY(1.2, 1)]
    low = _run(qml.device("hybrid.qubit", wires=2, c_dtype=np.complex64), ops, [qml.expval(qml.PauliZ(1))])
    high = _run(qml.device("default.qubit", wires=2), ops, [qml.expval(qml.PauliZ(1))])
    assert low.dtype == np.float32
    np.testing.assert_allclose(low, high, atol=1e-6)


def test_bad_configurations_say_what_to_do():
    with pytest.raises(ValueError, match="complex64 or complex128"):
        qml.device("hybrid.qubit", wires=1, dtype="float32")
    dev = qml.device("hybrid.qubit", wires=2)
    node = qml.QNode(lambda: qml.expval(qml.PauliZ(0)), dev, mcm_method="one-shot")
    with pytest.raises(qml.exceptions.DeviceError, match="deferred"):
        node()
    probs_node = qml.QNode(lambda x: (qml.RX(x, 0), qml.probs(wires=0))[1], dev, diff_method="adjoint")
    with pytest.raises(qml.exceptions.QuantumFunctionError, match="adjoint"):
        probs_node(qml.numpy.array(0.3, requires_grad=True))


def test_entry_point_resolves_to_this_class():
    assert isinstance(qml.device("hybrid.qubit", wires=1), HybridQubitDevice)


def test_device_vjp_is_one_adjoint_sweep_matching_default_qubit():
    """device_vjp=True: the engine's adjoint sweep weighted by the cotangents."""
    x = torch.tensor([0.4, -1.3, 0.9], dtype=torch.float64, requires_grad=True)

    def circuit(x):
        qml.RX(x[0], 0)
        qml.CRY(x[1], [0, 1])
        qml.IsingYY(x[2], [1, 0])
        return qml.expval(qml.PauliZ(0)), qml.expval(qml.PauliX(1) @ qml.PauliY(0))

    grads = []
    for name, method in (("hybrid.qubit", "adjoint"), ("default.qubit", "backprop")):
        dev = qml.device(name, wires=2)
        out = qml.QNode(circuit, dev, interface="torch", diff_method=method, device_vjp=method == "adjoint")(x)
        grads.append(torch.autograd.grad(0.7 * out[0] - 2.0 * out[1], x)[0])
    torch.testing.assert_close(grads[0], grads[1], atol=1e-10, rtol=0)
    tape = qml.tape.QuantumScript([qml.RX(0.4, 0), qml.CNOT([0, 1])], [qml.expval(qml.PauliZ(1))])
    vjp = HybridQubitDevice(wires=2).compute_vjp(tape, np.array([1.0, 3.0]))
    np.testing.assert_allclose(vjp, [[-np.sin(0.4), -3 * np.sin(0.4)]], atol=1e-12)  # d cos(x) = -sin(x)


def test_torch_layer_on_hybrid_qubit_matches_default_qubit():
    """A qml.qnn.TorchLayer (broadcast inputs, trainable weights) on both devices."""
    results = []
    for name in ("hybrid.qubit", "default.qubit"):

        @qml.qnode(qml.device(name, wires=3), interface="torch")
        def qnode(inputs, weights):
            qml.AngleEmbedding(inputs, wires=range(3))
            qml.StronglyEntanglingLayers(weights, wires=range(3))
            return [qml.expval(qml.PauliZ(i)) for i in range(3)]

        torch.manual_seed(0)
        layer = qml.qnn.TorchLayer(qnode, {"weights": (2, 3, 3)}).double()
        x = torch.rand(5, 3, dtype=torch.float64)
        y = layer(x)
        (y * torch.arange(1.0, 4.0, dtype=torch.float64)).sum().backward()
        results.append((y.detach(), layer.weights.grad))
    assert results[0][0].shape == (5, 3)
    torch.testing.assert_close(results[0][0], results[1][0], atol=1e-12, rtol=0)
    torch.testing.assert_close(results[0][1], results[1][1], atol=1e-12, rtol=0)


def test_autograd_backprop_gradient_hessian_and_state_jacobian_match_default_qubit():
    """Autograd interface: torch-backed primitives give first and second derivatives."""
    pnp = qml.numpy
    x = pnp.array([0.7, -1.2, 0.4], requires_grad=True)

    def expval_circuit(x):
        qml.RY(x[0], 0)
        qml.CRX(x[1], [0, 1])
        qml.IsingZZ(x[2], [1, 0])
        qml.RX(x[0] * x[1], 1)
        return qml.expval(qml.PauliX(0) @ qml.PauliZ(1) + 0.3 * qml.PauliY(1))

    def state_circuit(x):
        qml.RX(x[0], 0)
        qml.CRY(x[1], [0, 1])
        return qml.state()

    found = []
    for name in ("hybrid.qubit", "default.qubit"):
        dev = qml.device(name, wires=2)
        node = qml.QNode(expval_circuit, dev, diff_method="backprop", max_diff=2)
        state = qml.QNode(state_circuit, dev, diff_method="backprop")
        probs_of_state = lambda x: pnp.abs(state(x)) ** 2  # noqa: E731
        found.append((qml.grad(node)(x), qml.jacobian(qml.grad(node))(x), qml.jacobian(probs_of_state)(x)))
    for ours, ref in zip(*found):
        np.testing.assert_allclose(ours, ref, atol=1e-10)


def _three_measurements(x):
    qml.RY(x[0], 0)
    qml.CRX(x[1], [0, 1])
    qml.IsingZZ(x[2], [1, 0])
    qml.RX(x[0] * x[1], 1)
    return qml.expval(qml.PauliX(0) @ qml.PauliZ(1)), qml.var(qml.PauliY(1)), qml.probs(wires=[0, 1])


def test_autograd_runs_the_tape_once_for_all_its_measurements(mocker):
    """One simulation feeds every measurement forward, and one more every VJP (backward)."""
    pnp = qml.numpy
    x = pnp.array([0.7, -1.2, 0.4], requires_grad=True)
    weights = pnp.array([0.1, -0.2, 0.3, 0.7], requires_grad=False)
    found = []
    for name in ("hybrid.qubit", "default.qubit"):
        dev = qml.device(name, wires=2)
        node = qml.QNode(_three_measurements, dev, interface="autograd", diff_method="backprop", max_diff=2)

        def cost(x):
            e, v, p = node(x)
            return e + 0.5 * v + pnp.dot(p, weights)

        if name == "hybrid.qubit":
            runs = mocker.spy(dev, "_simulate")
            vjp, _ = autograd.make_vjp(cost)(x)  # the traced forward pass alone
            assert runs.call_count == 1  # was one run per measurement (3)
            vjp(1.0)
            assert runs.call_count == 2  # one backward pass for every measurement and parameter (was 12)
        found.append((*node(x), qml.grad(cost)(x), qml.jacobian(qml.grad(cost))(x)))
    for ours, ref in zip(*found):
        np.testing.assert_allclose(ours, ref, atol=1e-10)


def test_autograd_hessian_through_a_complex_state_and_an_expval_matches_default_qubit():
    """A real function of a state and an expval measured together: complex cotangents at second order."""
    pnp = qml.numpy
    x = pnp.array([0.7, -1.2], requires_grad=True)

    def circuit(x):
        qml.RX(x[0], 0)
        qml.CRY(x[1], [0, 1])
        return qml.expval(qml.PauliZ(1)), qml.state()

    found = []
    for name in ("hybrid.qubit", "default.qubit"):
        node = qml.QNode(circuit, qml.device(name, wires=2), interface="autograd", diff_method="backprop", max_diff=2)

        def f(x):
            e, s = node(x)
            return e * pnp.imag(s[2]) + pnp.real(s[0] * pnp.conj(s[3]))

        e, s = node(x)
        assert np.asarray(e).dtype == np.float64 and np.asarray(s).dtype == np.complex128
        found.append((e, s, qml.grad(f)(x), qml.jacobian(qml.grad(f))(x)))
    for ours, ref in zip(*found):
        np.testing.assert_allclose(ours, ref, atol=1e-10)
