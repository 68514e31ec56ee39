"""Encoders, ansatz templates and readouts against PennyLane's own templates.

Every state here is compared with ``qml.state()`` of PennyLane's template (AngleEmbedding,
AmplitudeEmbedding, IQPEmbedding, StronglyEntanglingLayers, BasicEntanglerLayers) on
default.qubit, or with gates written out one by one in PennyLane where PennyLane has no
template (hardware-efficient, re-uploading), or with a numpy Kronecker product (the
entanglement-free controls). Wire 0 is the most significant bit on both sides.
"""

import functools

import numpy as np
import pennylane as qml
import pytest
import torch

from hybrid import Circuit, X, Y, Z, simulate
from hybrid.layers import (
    IQP,
    Amplitude,
    Angle,
    BasicEntangler,
    HardwareEfficient,
    Probs,
    QuantumLayer,
    RotEntangler,
    StronglyEntangling,
    layer_spec,
)
from hybrid.layers.templates import weight_symbols

from .reference import rx, ry, rz

RNG = np.random.default_rng(2024)


def pl_state(n, body):
    """``qml.state()`` after ``body()`` on default.qubit (complex128)."""

    @qml.qnode(qml.device("default.qubit", wires=n))
    def circuit():
        body()
        return qml.state()

    return np.asarray(circuit())


def our_state(circuit, values, initial_state=None):
    state = simulate(circuit, values, initial_state=initial_state, dtype=torch.complex128)
    return state.vector.numpy()


def symbols(values, prefix="x"):
    return {f"{prefix}{i}": torch.tensor(float(v), dtype=torch.float64) for i, v in enumerate(values)}


def random_start(n):
    """A fixed entangled state, so CNOT directions and ranges change the result."""
    v = RNG.normal(size=2**n) + 1j * RNG.normal(size=2**n)
    return v / np.linalg.norm(v)


def weight_values(weights):
    """Bind ``weights`` to the spec's symbols ``w{l}_{i}[_{k}]``, as the layers do."""
    flat = torch.as_tensor(weights, dtype=torch.float64).reshape(-1)
    names = ["w" + "_".join(map(str, idx)) for idx in np.ndindex(*weights.shape)]
    return dict(zip(names, flat.unbind(0)))


def ansatz_circuit(ansatz, n, weights_shape):
    circuit, symbols = Circuit(n), weight_symbols(weights_shape)
    for layer in range(weights_shape[0]):
        ansatz.append_layer(circuit, layer, symbols[layer])
    return circuit


# --- encoders -------------------------------------------------------------------------------


@pytest.mark.parametrize("rotation", ["X", "Y", "Z"])
@pytest.mark.parametrize("n, n_features", [(3, 3), (4, 2), (1, 1)])
def test_angle_matches_angle_embedding(rotation, n, n_features):
    x = RNG.uniform(-np.pi, np.pi, n_features)
    start = random_start(n)
    want = pl_state(n, lambda: (qml.StatePrep(start, wires=range(n)), qml.AngleEmbedding(x, range(n), rotation=rotation)))
    got = our_state(Angle(rotation).encode(Circuit(n), n_features), symbols(x), initial_state=torch.tensor(start))
    np.testing.assert_allclose(got, want, atol=1e-12)


def test_angle_with_two_axes_and_scale_is_two_embeddings():
    n, x = 3, RNG.uniform(0, 1, 5)

    def body():
        qml.AngleEmbedding(np.pi * x[:3], range(3), rotation="Y")
        qml.AngleEmbedding(np.pi * x[3:], range(2), rotation="Z")
        qml.CNOT([0, 1])  # make the RZ phases observable in the comparison of states anyway

    circuit = Angle("YZ", scale=np.pi).encode(Circuit(n), 5).cx(0, 1)
    np.testing.assert_allclose(our_state(circuit, symbols(x)), pl_state(n, body), atol=1e-12)


@pytest.mark.parametrize("n, n_features", [(3, 8), (3, 5), (2, 1)])
def test_amplitude_matches_amplitude_embedding(n, n_features):
    x = RNG.normal(size=n_features)
    pad = None if n_features == 2**n else 0.0
    want = pl_state(n, lambda: qml.AmplitudeEmbedding(x, range(n), pad_with=pad, normalize=True))
    got = Amplitude().initial_state(torch.tensor(x)[None], n)[0].numpy()
    np.testing.assert_allclose(got, want, atol=1e-12)


@pytest.mark.parametrize("n, repeats", [(2, 1), (3, 1), (4, 2)])
def test_iqp_matches_iqp_embedding(n, repeats):
    x = RNG.uniform(-2, 2, n)
    want = pl_state(n, lambda: qml.IQPEmbedding(x, range(n), n_repeats=repeats))
    enc = IQP(n_repeats=repeats)
    values = enc.bindings(torch.tensor(x))
    np.testing.assert_allclose(our_state(enc.encode(Circuit(n), n), values), want, atol=1e-12)


# --- ansatz templates -----------------------------------------------------------------------


@pytest.mark.parametrize("n, layers", [(1, 2), (2, 2), (3, 3), (4, 4), (5, 5)])
def test_strongly_entangling_matches_pennylane(n, layers):
    # Up to n layers, so every default range 1..n-1 is used.
    weights = RNG.uniform(0, 2 * np.pi, (layers, n, 3))
    start = random_start(n)
    want = pl_state(n, lambda: (qml.StatePrep(start, wires=range(n)), qml.StronglyEntanglingLayers(weights, range(n))))
    got = our_state(ansatz_circuit(StronglyEntangling(), n, weights.shape), weight_values(weights), torch.tensor(start))
    np.testing.assert_allclose(got, want, atol=1e-12)


def test_strongly_entangling_custom_ranges_match_pennylane():
    n, weights, ranges = 4, RNG.uniform(0, 2 * np.pi, (3, 4, 3)), (3, 1, 2)
    start = random_start(n)
    want = pl_state(
        n, lambda: (qml.StatePrep(start, wires=range(n)), qml.StronglyEntanglingLayers(weights, range(n), ranges=ranges))
    )
    got = our_state(ansatz_circuit(StronglyEntangling(ranges), n, weights.shape), weight_values(weights), torch.tensor(start))
    np.testing.assert_allclose(got, want, atol=1e-12)


@pytest.mark.parametrize("rotation", ["X", "Y", "Z"])
@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_basic_entangler_matches_pennylane(rotation, n):
    weights = RNG.uniform(0, 2 * np.pi, (2, n))
    start = random_start(n)
    rot = {"X": qml.RX, "Y": qml.RY, "Z": qml.RZ}[rotation]
    want = pl_state(
        n, lambda: (qml.StatePrep(start, wires=range(n)), qml.BasicEntanglerLayers(weights, range(n), rotation=rot))
    )
    got = our_state(ansatz_circuit(BasicEntangler(rotation), n, weights.shape), weight_values(weights), torch.tensor(start))
    np.testing.assert_allclose(got, want, atol=1e-12)


def pl_rot_entangler_layer(layer_weights, n):
    """Rot on every wire, then PennyLane's BasicEntanglerLayers ring (its RZ(0) rotations are I)."""
    for i in range(n):
        qml.Rot(*layer_weights[i], wires=i)
    qml.BasicEntanglerLayers(np.zeros((1, n)), range(n), rotation=qml.RZ)


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_rot_entangler_is_rot_then_basic_entanglers_ring(n):
    weights = RNG.uniform(0, 2 * np.pi, (2, n, 3))
    start = random_start(n)

    def body():
        qml.StatePrep(start, wires=range(n))
        for layer in weights:
            pl_rot_entangler_layer(layer, n)

    got = our_state(ansatz_circuit(RotEntangler(), n, weights.shape), weight_values(weights), torch.tensor(start))
    np.testing.assert_allclose(got, pl_state(n, body), atol=1e-12)


@pytest.mark.parametrize("n", [1, 3, 4])
def test_hardware_efficient_matches_gates_by_hand(n):
    weights = RNG.uniform(0, 2 * np.pi, (2, n, 2))
    start = random_start(n)

    def body():
        qml.StatePrep(start, wires=range(n))
        for layer in weights:
            for i in range(n):
                qml.RY(layer[i, 0], wires=i)
                qml.RZ(layer[i, 1], wires=i)
            for i in range(n - 1):
                qml.CNOT([i, i + 1])

    got = our_state(ansatz_circuit(HardwareEfficient(), n, weights.shape), weight_values(weights), torch.tensor(start))
    np.testing.assert_allclose(got, pl_state(n, body), atol=1e-12)


def _kron_product_state(per_wire_unitaries):
    zero = np.array([1.0, 0.0])
    return functools.reduce(np.kron, [u @ zero for u in per_wire_unitaries])


def _rot(phi, theta, omega):
    return rz(omega) @ ry(theta) @ rz(phi)


@pytest.mark.parametrize(
    "ansatz, shape, per_wire",
    [
        (StronglyEntangling(entangling=False), (2, 3, 3), lambda w, i: _rot(*w[1, i]) @ _rot(*w[0, i])),
        (BasicEntangler(entangling=False), (2, 3), lambda w, i: rx(w[1, i]) @ rx(w[0, i])),
        (RotEntangler(entangling=False), (2, 3, 3), lambda w, i: _rot(*w[1, i]) @ _rot(*w[0, i])),
        (
            HardwareEfficient(entangling=False),
            (2, 3, 2),
            lambda w, i: rz(w[1, i, 1]) @ ry(w[1, i, 0]) @ rz(w[0, i, 1]) @ ry(w[0, i, 0]),
        ),
    ],
)
def test_entanglement_free_controls_are_product_states(ansatz, shape, per_wire):
    n, weights = 3, RNG.uniform(0, 2 * np.pi, shape)
    circuit = ansatz_circuit(ansatz, n, shape)
    assert all(len(op.all_wires) == 1 for op in circuit.ops)  # no entangling gate left
    want = _kron_product_state([per_wire(weights, i) for i in range(n)])
    np.testing.assert_allclose(our_state(circuit, weight_values(weights)), want, atol=1e-12)


def test_reuploading_interleaves_encoder_and_layers():
    n, layers = 3, 3
    x, weights = RNG.uniform(-1, 1, n), RNG.uniform(0, 2 * np.pi, (layers, n, 3))
    spec = layer_spec(n, layers, "reupload")

    def body():
        for layer in range(layers):
            qml.AngleEmbedding(x, range(n), rotation="X")
            r = layer % (n - 1) + 1
            qml.StronglyEntanglingLayers(weights[layer : layer + 1], range(n), ranges=(r,))

    values = spec.bindings(torch.tensor(x), torch.tensor(weights))
    np.testing.assert_allclose(our_state(spec.circuit(), values), pl_state(n, body), atol=1e-12)


@pytest.mark.parametrize("n, n_features", [(3, 3), (4, 3), (3, 1)])
def test_trainable_scales_cycle_features_over_every_wire_in_every_upload(n, n_features):
    """``Angle("Y", trainable_scale=True, cycle=True)`` re-uploaded: in layer l wire i turns by
    ``scale[l, i] * x[i % n_features]``, written out gate by gate in PennyLane."""
    layers = 2
    x, weights = RNG.uniform(-1, 1, n_features), RNG.uniform(0, 2 * np.pi, (layers, n, 3))
    scale = RNG.uniform(0.5, 1.5, (layers, n))
    spec = layer_spec(n, layers, Angle("Y", trainable_scale=True, cycle=True), RotEntangler(), n_features=n_features, reupload=True)
    assert spec.input_scale_shape == (layers, n)

    def body():
        for layer in range(layers):
            for i in range(n):
                qml.RY(scale[layer, i] * x[i % n_features], wires=i)
            pl_rot_entangler_layer(weights[layer], n)

    values = spec.bindings(torch.tensor(x), torch.tensor(weights), torch.tensor(scale))
    np.testing.assert_allclose(our_state(spec.circuit(), values), pl_state(n, body), atol=1e-12)


def test_angle_without_cycle_leaves_extra_wires_alone_and_scales_start_at_scale():
    enc = Angle("X", scale=0.5, trainable_scale=True)
    circuit = enc.encode(Circuit(3), 2, upload=1)
    assert [(op.gate.name, op.wires, op.params[0].name) for op in circuit.ops] == [("rx", (0,), "x1_0"), ("rx", (1,), "x1_1")]
    assert enc.scale_shape(3, 2, n_uploads=4) == (4, 2)
    scales = torch.empty(4, 2)
    enc.reset_scales(scales)
    assert (scales == 0.5).all()


# --- readouts (through QuantumLayer) against the PennyLane state -----------------------------


def _layer_and_state(readout):
    layer = QuantumLayer(3, 2, readout=readout, dtype=torch.float64)
    x = torch.tensor(RNG.uniform(-1, 1, (2, 3)))
    w = layer.weights.detach().numpy()
    states = [
        pl_state(3, lambda xi=xi: (qml.AngleEmbedding(xi, range(3)), qml.StronglyEntanglingLayers(w, range(3))))
        for xi in x.numpy()
    ]
    return layer(x).detach().numpy(), np.stack(states)


def test_probs_readout_on_a_subset_of_wires_in_the_given_order():
    got, states = _layer_and_state(Probs((2, 0)))
    p = np.abs(states.reshape(2, 2, 2, 2)) ** 2  # axes: sample, wire 0, wire 1, wire 2
    want = p.sum(axis=2).transpose(0, 2, 1).reshape(2, 4)  # index = 2 * bit(wire 2) + bit(wire 0)
    np.testing.assert_allclose(got, want, atol=1e-12)


def test_pauli_sum_readout_matches_dense_matrices():
    obs = [0.5 * Z(0) @ Z(1) - X(2) + 0.25, Y(1)]
    got, states = _layer_and_state(obs)
    zz = np.kron(np.kron(np.diag([1, -1]), np.diag([1, -1])), np.eye(2))
    x2 = np.kron(np.eye(4), np.array([[0, 1], [1, 0]]))
    y1 = np.kron(np.kron(np.eye(2), np.array([[0, -1j], [1j, 0]])), np.eye(2))
    mats = [0.5 * zz - x2 + 0.25 * np.eye(8), y1]
    want = np.array([[np.vdot(s, m @ s).real for m in mats] for s in states])
    np.testing.assert_allclose(got, want, atol=1e-12)
