"""hybrid.mixed (density matrices) and noisy hybrid.qubit (trajectories) against default.mixed.

default.mixed is PennyLane's own density-matrix simulator, independent of this project: every
channel must give its values and its torch backprop gradients (with respect to gate angles
and noise parameters) to ~1e-10 in complex128; finite-shot results must fall within
sampling error of its exact values.
"""

import numpy as np
import pennylane as qml
import pytest
import torch
from pennylane.devices import ExecutionConfig
from pennylane.exceptions import DeviceError

from hybrid.interop.pennylane import HybridMixedDevice, HybridQubitDevice

TOL = 1e-10


@pytest.fixture(autouse=True)
def _float64_constants():
    """default.mixed turns Python constants into torch tensors of the default dtype: float64,
    or its torch results would only be float32-accurate."""
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(before)


def _kraus_of(p):
    """A two-operator Kraus set for ``p`` as constant matrices (PennyLane's QubitChannel
    turns its matrices into numpy arrays when it checks them, so they cannot be trainable)."""
    p = float(p)
    s0, s1 = np.sqrt(1 - p), np.sqrt(p)
    return [np.array([[s0, 0], [0, s0 * (0.6 + 0.8j)]]), np.array([[0, s1], [s1, 0]])]


_RHO = np.array([[0.6, 0.2 - 0.1j], [0.2 + 0.1j, 0.4]])

# name -> (the operation from its parameters, parameter values)
CHANNELS = {
    "DepolarizingChannel": (lambda q: qml.DepolarizingChannel(q[0], wires=0), [0.2]),
    "BitFlip": (lambda q: qml.BitFlip(q[0], wires=1), [0.3]),
    "PhaseFlip": (lambda q: qml.PhaseFlip(q[0], wires=0), [0.35]),
    "PauliError-XY": (lambda q: qml.PauliError("XY", q[0], wires=[0, 1]), [0.25]),
    "PauliError-Z": (lambda q: qml.PauliError("Z", q[0], wires=[1]), [0.4]),
    "AmplitudeDamping": (lambda q: qml.AmplitudeDamping(q[0], wires=0), [0.3]),
    "GeneralizedAmplitudeDamping": (lambda q: qml.GeneralizedAmplitudeDamping(q[0], q[1], wires=0), [0.3, 0.2]),
    "PhaseDamping": (lambda q: qml.PhaseDamping(q[0], wires=1), [0.45]),
    "ThermalRelaxation-T2<=T1": (lambda q: qml.ThermalRelaxationError(q[0], q[1], q[2], q[3], wires=0), [0.1, 1.0, 0.7, 0.4]),
    "ThermalRelaxation-T2>T1": (lambda q: qml.ThermalRelaxationError(q[0], q[1], q[2], q[3], wires=0), [0.2, 1.0, 1.6, 0.5]),
    "ResetError": (lambda q: qml.ResetError(q[0], q[1], wires=0), [0.1, 0.25]),
    "QubitChannel": (lambda q: qml.QubitChannel(_kraus_of(q[0]), wires=0), [0.3]),
    "QubitDensityMatrix": (lambda q: qml.QubitDensityMatrix(_RHO, wires=[1]), []),
}  # fmt: skip


def _gates_then(channel, x, q):
    qml.RX(x, wires=0)
    qml.RY(0.7, wires=1)
    qml.CNOT(wires=[0, 1])
    qml.Hadamard(wires=1)
    channel(q)
    qml.CRY(0.4, wires=[1, 0])
    qml.RZ(x * 0.5, wires=1)
    qml.RY(-0.3, wires=1)


def _measured(channel):
    def circuit(x, q):
        _gates_then(channel, x, q)
        return (
            qml.expval(qml.PauliZ(0)),
            qml.expval(qml.PauliX(0) @ qml.PauliY(1)),
            qml.var(qml.PauliX(1)),
            qml.probs(wires=[0, 1]),
            qml.expval(qml.Hermitian(np.array([[1.0, 2j], [-2j, 0.5]]), wires=1)),
        )

    return circuit


def _loss(out):
    weights = torch.tensor([0.3, -1.1, 0.7, 0.2], dtype=torch.float64)
    return out[0] + 2 * out[1] + 0.5 * out[2] + (weights * out[3]).sum(-1) - 0.4 * out[4]


def _run(device, channel, x, q, grad=True):
    """The measurements, and the gradient of a mix of them w.r.t. (x, *q) by backprop."""
    x = torch.tensor(x, dtype=torch.float64, requires_grad=grad)
    q = [torch.tensor(v, dtype=torch.float64, requires_grad=grad) for v in q]
    node = qml.QNode(_measured(channel), device, interface="torch", diff_method="backprop")
    out = node(x, q)
    if not grad:
        return [o.detach() for o in out], None
    _loss(out).backward()
    grads = [x.grad] + [v.grad if v.grad is not None else torch.zeros(()) for v in q]
    return [o.detach() for o in out], torch.stack(grads)


def _finite_differences(device, channel, x, q, h=1e-5):
    """Central differences of the same loss (for default.mixed's ThermalRelaxationError, which
    torch cannot backprop through: its Kraus builder calls numpy() on the parameters)."""
    point = [x] + list(q)

    def loss(values):
        return float(_loss(_run(device, channel, values[0], values[1:], grad=False)[0]))

    grads = []
    for i in range(len(point)):
        up, down = list(point), list(point)
        up[i] += h
        down[i] -= h
        grads.append((loss(up) - loss(down)) / (2 * h))
    return torch.tensor(grads, dtype=torch.float64)


@pytest.mark.parametrize("name", list(CHANNELS))
def test_every_channel_matches_default_mixed_values_and_gradients(name):
    channel, q = CHANNELS[name]
    ours, our_grads = _run(qml.device("hybrid.mixed", wires=2), channel, 0.4, q)
    reference = qml.device("default.mixed", wires=2)
    if name.startswith("ThermalRelaxation"):
        theirs, _ = _run(reference, channel, 0.4, q, grad=False)
        their_grads, grad_tol = _finite_differences(reference, channel, 0.4, q), 1e-7
    else:
        (theirs, their_grads), grad_tol = _run(reference, channel, 0.4, q), TOL
    for a, b in zip(ours, theirs):
        assert torch.allclose(a, b.to(a.dtype), atol=TOL, rtol=0), (name, a, b)
    assert torch.allclose(our_grads, their_grads, atol=grad_tol, rtol=0), (name, our_grads, their_grads)
    if name != "QubitChannel":  # noise parameters do get a gradient
        assert bool((our_grads[1:].abs() > 1e-6).all())


def _three_qubits(x, p):
    qml.RX(x, wires=0)
    qml.CNOT(wires=[0, 1])
    qml.RY(0.3, wires=2)
    qml.AmplitudeDamping(p, wires=0)
    qml.DepolarizingChannel(p / 2, wires=2)
    qml.CZ(wires=[1, 2])


def _state_valued(x, p):
    _three_qubits(x, p)
    return (
        qml.density_matrix(wires=[2, 0]),
        qml.purity(wires=[0, 1]),
        qml.vn_entropy(wires=[0]),
        qml.mutual_info(wires0=[0], wires1=[2]),
    )


def test_state_and_state_valued_measurements_match_default_mixed():
    results = {}
    for name in ("hybrid.mixed", "default.mixed"):
        x = torch.tensor(0.9, dtype=torch.float64, requires_grad=True)
        p = torch.tensor(0.2, dtype=torch.float64, requires_grad=True)
        dev = qml.device(name, wires=3)
        out = qml.QNode(_state_valued, dev, interface="torch", diff_method="backprop")(x, p)

        def full(x, p):
            _three_qubits(x, p)
            return qml.state()

        state = qml.QNode(full, dev, interface="torch")(x, p)
        (out[1] + out[2]).backward()
        results[name] = ([o.detach() for o in out] + [state.detach()], torch.stack([x.grad, p.grad]))
    (ours, our_grads), (theirs, their_grads) = results["hybrid.mixed"], results["default.mixed"]
    assert ours[-1].shape == (8, 8)  # qml.state() is the density matrix, as on default.mixed
    for a, b in zip(ours, theirs):
        assert torch.allclose(a, b.to(a.dtype), atol=TOL, rtol=0)
    assert torch.allclose(our_grads, their_grads, atol=TOL, rtol=0)


@pytest.mark.parametrize("name", ["DepolarizingChannel", "GeneralizedAmplitudeDamping", "ResetError"])
def test_broadcast_gate_and_noise_parameters(name):
    """One broadcast run (gate angle and noise parameters of shape (3,)) equals three runs
    of default.mixed, which cannot broadcast channel parameters itself."""
    channel, q = CHANNELS[name]
    xs = [0.1, 0.8, 1.9]
    qs = [[v, v * 0.5, v * 0.9] for v in q]
    x = torch.tensor(xs, requires_grad=True)
    qb = [torch.tensor(v, requires_grad=True) for v in qs]
    node = qml.QNode(_measured(channel), qml.device("hybrid.mixed", wires=2), interface="torch", diff_method="backprop")
    out = node(x, qb)
    assert out[0].shape == (3,) and out[3].shape == (3, 4)
    _loss(out).sum().backward()  # entry k of each gradient belongs to run k alone
    our_grads = torch.stack([x.grad] + [v.grad for v in qb], dim=1)  # (3, 1 + len(q))
    reference = qml.device("default.mixed", wires=2)
    for k in range(3):
        theirs, their_grads = _run(reference, channel, xs[k], [v[k] for v in qs])
        for a, b in zip(out, theirs):
            assert torch.allclose(a[k].detach(), b, atol=TOL, rtol=0)
        assert torch.allclose(our_grads[k], their_grads, atol=TOL, rtol=0)


def test_autograd_interface_gradients_reach_noise_parameters():
    from pennylane import numpy as pnp

    def circuit(x, p):
        qml.RX(x, wires=0)
        qml.CNOT(wires=[0, 1])
        qml.AmplitudeDamping(p, wires=1)
        qml.PauliError("YZ", p / 3, wires=[0, 1])
        return qml.expval(qml.PauliZ(0) @ qml.PauliZ(1))

    grads = {}
    for name in ("hybrid.mixed", "default.mixed"):
        node = qml.QNode(circuit, qml.device(name, wires=2), interface="autograd", diff_method="backprop")
        grads[name] = np.array(qml.grad(node)(pnp.array(0.6, requires_grad=True), pnp.array(0.3, requires_grad=True)))
    assert np.allclose(grads["hybrid.mixed"], grads["default.mixed"], atol=TOL, rtol=0)


def test_mixed_device_structure_and_derivative_support():
    dev = qml.device("hybrid.mixed", wires=2)
    assert isinstance(dev, HybridMixedDevice) and isinstance(dev, HybridQubitDevice)
    assert dev.name == "hybrid.mixed"
    assert dev.supports_derivatives(ExecutionConfig(gradient_method="backprop"))
    assert not dev.supports_derivatives(ExecutionConfig(gradient_method="adjoint"))
    assert dev.setup_execution_config(ExecutionConfig(gradient_method="best")).gradient_method == "backprop"


# --- finite shots -------------------------------------------------------------------------------

SHOTS = 20000


def _noisy(x):
    qml.Hadamard(wires=0)
    qml.RX(x, wires=1)
    qml.CNOT(wires=[0, 1])
    qml.AmplitudeDamping(0.3, wires=0)
    qml.DepolarizingChannel(0.2, wires=1)
    qml.PauliError("XZ", 0.15, wires=[0, 1])
    qml.ThermalRelaxationError(0.1, 1.0, 1.4, 0.5, wires=1)
    qml.GeneralizedAmplitudeDamping(0.2, 0.4, wires=1)


def _noisy_measured(x):
    _noisy(x)
    return qml.probs(wires=[0, 1]), qml.expval(qml.PauliZ(0) @ qml.PauliZ(1))


def _noisy_x(x):
    _noisy(x)
    return qml.expval(qml.PauliX(0)), qml.expval(qml.PauliY(1))


def _exact(qfunc):
    return qml.QNode(qfunc, qml.device("default.mixed", wires=2))(0.7)


def _within_sampling_error(sampled, exact, shots, sigmas=5.0):
    """Probabilities or +-1 expectation values, each within ``sigmas`` standard errors."""
    sampled, exact = np.asarray(sampled, dtype=float), np.asarray(exact, dtype=float)
    if exact.ndim == 1 and np.isclose(exact.sum(), 1):  # probabilities
        sd = np.sqrt(exact * (1 - exact) / shots)
    else:
        sd = np.sqrt((1 - exact**2) / shots)
    assert np.all(np.abs(sampled - exact) <= sigmas * sd + 1e-12), (sampled, exact, sd)


@pytest.mark.parametrize("name", ["hybrid.mixed", "hybrid.qubit"])
def test_finite_shots_with_channels_within_sampling_error(name):
    dev = qml.device(name, wires=2, seed=123)
    probs, zz = qml.set_shots(qml.QNode(_noisy_measured, dev), shots=SHOTS)(0.7)
    exact_probs, exact_zz = _exact(_noisy_measured)
    _within_sampling_error(probs, exact_probs, SHOTS)
    _within_sampling_error(zz, exact_zz, SHOTS)
    # observables measured in a rotated basis (each trajectory rotated on hybrid.qubit)
    xs = qml.set_shots(qml.QNode(_noisy_x, dev), shots=SHOTS)(0.7)
    for got, want in zip(xs, _exact(_noisy_x)):
        _within_sampling_error(got, want, SHOTS)


@pytest.mark.parametrize("name", ["hybrid.mixed", "hybrid.qubit"])
def test_seeded_shots_repeat_and_samples_count_every_shot(name):
    def sampled(x):
        _noisy(x)
        return qml.sample(wires=[0, 1]), qml.counts(wires=[0, 1])

    runs = []
    for _ in range(2):
        dev = qml.device(name, wires=2, seed=7)
        runs.append(qml.set_shots(qml.QNode(sampled, dev), shots=500)(0.7))
    (s1, c1), (s2, c2) = runs
    assert np.asarray(s1).shape == (500, 2)
    assert np.array_equal(s1, s2) and c1 == c2
    assert sum(c1.values()) == 500


def test_noisy_qubit_shot_vectors_split_the_trajectories():
    dev = qml.device("hybrid.qubit", wires=2, seed=11)
    out = qml.set_shots(qml.QNode(_noisy_measured, dev), shots=[SHOTS // 2, SHOTS // 2])(0.7)
    exact_probs, _ = _exact(_noisy_measured)
    assert len(out) == 2
    for probs, _zz in out:
        _within_sampling_error(probs, exact_probs, SHOTS // 2)


def test_analytic_qubit_refuses_channels_naming_the_mixed_device():
    node = qml.QNode(_noisy_measured, qml.device("hybrid.qubit", wires=2))
    with pytest.raises(DeviceError, match=r"finite shots.*hybrid\.mixed"):
        node(0.7)
    node_torch = qml.QNode(_noisy_measured, qml.device("hybrid.qubit", wires=2), interface="torch")
    with pytest.raises(DeviceError, match=r"hybrid\.mixed"):
        node_torch(torch.tensor(0.7, requires_grad=True))
