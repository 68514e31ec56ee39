"""hybrid.models: shapes, closed-form parameter counts, matched twins, gradients, ablations.

The re-uploading VQC is checked against the same circuit written in PennyLane; parameter
counts against formulas written out by hand; the entanglement-free variants against the
defining property of a product state (output i depends on input i only).
"""

from __future__ import annotations

import math

import pennylane as qml
import pytest
import torch

from hybrid.models import MODEL_INFO, MODEL_NAMES, build_model, count_parameters

IMAGE, TABLE = (1, 8, 8), (6,)


def _shape_for(name: str) -> tuple[int, ...]:
    return IMAGE if MODEL_INFO[name].input in ("image", "any") else TABLE


def _small(name: str, shape, n_classes: int):
    # Few qubits keep the quantum models fast; classical ones ignore these arguments.
    return build_model(name, input_shape=shape, n_classes=n_classes, n_qubits=4 if "hybrid" in name else None, n_layers=1)


@pytest.mark.parametrize("name", MODEL_NAMES)
@pytest.mark.parametrize("n_classes", [2, 10])
def test_output_shape_and_every_parameter_gets_a_gradient(name, n_classes):
    torch.manual_seed(0)
    shape = _shape_for(name)
    model = _small(name, shape, n_classes)
    x, y = torch.randn(5, *shape), torch.arange(5) % n_classes
    logits = model(x)
    assert logits.shape == (5, n_classes) and torch.isfinite(logits).all()
    torch.nn.functional.cross_entropy(logits, y).backward()
    for pname, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, f"{name}: no gradient reaches {pname}"


def test_any_input_models_take_tables_too():
    for name in ("mlp", "transformer"):
        assert build_model(name, input_shape=(13,), n_classes=3)(torch.randn(4, 13)).shape == (4, 3)


def test_cnn_and_dressed_hybrid_parameter_counts_by_hand():
    conv = (1 * 16 * 9 + 16) + (16 * 32 * 9 + 32)  # two 3x3 convolutions; 8x8 -> 4x4 -> 2x2
    flat = 32 * 2 * 2
    assert count_parameters(build_model("cnn", input_shape=IMAGE, n_classes=10)) == conv + (flat * 64 + 64) + (64 * 10 + 10)
    # dressed: Linear(flat, 8) + BatchNorm (scale, shift) -> StronglyEntanglingLayers
    # (3 angles per qubit per layer) -> Linear(8, 10)
    hybrid = build_model("hybrid-cnn", input_shape=IMAGE, n_classes=10, n_qubits=8, n_layers=2)
    assert count_parameters(hybrid) == conv + (flat * 8 + 8) + 2 * 8 + 3 * 8 * 2 + (8 * 10 + 10)
    assert count_parameters(build_model("mlp", input_shape=(6,), n_classes=2)) == (6 * 64 + 64) + (64 * 64 + 64) + (64 * 2 + 2)


@pytest.mark.parametrize(
    ("family", "shape", "kwargs"),
    [
        ("hybrid-cnn", IMAGE, {"n_qubits": 8, "n_layers": 2}),
        ("hybrid-cnn", (1, 4, 4), {"n_qubits": 6, "n_layers": 3}),
        ("hybrid-mlp", (13,), {"n_qubits": 4, "n_layers": 2}),
        ("vqc", (8,), {"n_layers": 3}),
        ("vqc", (4,), {"n_layers": 2}),
        ("quanv", IMAGE, {}),
    ],
)
def test_twins_match_parameter_counts_and_noent_keeps_them(family, shape, kwargs):
    counts = {v: count_parameters(build_model(v, input_shape=shape, n_classes=3, **kwargs)) for v in (family, f"{family}-twin", f"{family}-noent")}
    assert abs(counts[f"{family}-twin"] - counts[family]) <= 0.03 * counts[family], counts
    assert counts[f"{family}-noent"] == counts[family]


def _jacobian(f, x: torch.Tensor) -> torch.Tensor:
    return torch.autograd.functional.jacobian(f, x)


@pytest.mark.parametrize("name", ["hybrid-mlp", "vqc"])
def test_entanglement_free_quantum_part_is_a_product(name):
    """Without entangling gates <Z_i> depends on the angles fed to wire i only."""
    torch.manual_seed(1)
    kw = {"n_qubits": 4, "n_layers": 2}
    noent = build_model(f"{name}-noent", input_shape=(4,), n_classes=2, **kw)
    ent = build_model(name, input_shape=(4,), n_classes=2, **kw)
    x = torch.rand(4) * 2 - 1
    for model, diagonal in ((noent, True), (ent, False)):
        core = model.core if name == "hybrid-mlp" else model.expvals
        J = _jacobian(lambda v: core(v[None])[0], x)  # (4 outputs, 4 inputs)
        off = J - torch.diag(torch.diagonal(J))
        assert (off.abs().max() < 1e-5) == diagonal, J


def _pennylane_reuploading(x, scale, rot, n_qubits, n_layers):
    dev = qml.device("default.qubit", wires=n_qubits)

    @qml.qnode(dev)
    def circuit():
        for layer in range(n_layers):
            for i in range(n_qubits):
                qml.RY(scale[layer, i] * x[i % len(x)], wires=i)
            for i in range(n_qubits):
                qml.Rot(*rot[layer, i], wires=i)
            for i in range(n_qubits):
                qml.CNOT(wires=[i, (i + 1) % n_qubits])
        return [qml.expval(qml.PauliZ(i)) for i in range(n_qubits)]

    return torch.tensor([float(v) for v in circuit()], dtype=torch.float64)


def test_vqc_matches_the_same_circuit_in_pennylane():
    torch.manual_seed(2)
    vqc = build_model("vqc", input_shape=(3,), n_classes=2, n_qubits=3, n_layers=2)
    with torch.no_grad():
        vqc.input_scale.uniform_(0.5, 1.5)
    x = torch.randn(4, 3)
    ours = vqc.expvals(x).detach()
    for b in range(4):
        ref = _pennylane_reuploading(x[b].double(), vqc.input_scale.detach().double(), vqc.rotations.detach().double(), 3, 2)
        torch.testing.assert_close(ours[b].double(), ref, atol=1e-5, rtol=0)
    logits = vqc(x).detach()
    torch.testing.assert_close(logits, vqc.scale.detach() * ours[:, :2] + vqc.bias.detach())


def test_float64_vqc_simulates_in_complex128():
    torch.manual_seed(3)
    vqc = build_model("vqc", input_shape=(3,), n_classes=2, n_qubits=3, n_layers=2).double()
    x = torch.randn(2, 3, dtype=torch.float64)
    ours = vqc.expvals(x).detach()
    assert ours.dtype == torch.float64
    for b in range(2):
        ref = _pennylane_reuploading(x[b], vqc.input_scale.detach(), vqc.rotations.detach(), 3, 2)
        torch.testing.assert_close(ours[b], ref, atol=1e-12, rtol=0)  # complex64 would be ~1e-7 off


@pytest.mark.parametrize("n_features, n_qubits", [(2, 2), (2, 3)])
def test_vqc_on_two_qubits_or_fewer_features_than_qubits(n_features, n_qubits):
    """Two wires get one CNOT per layer (PennyLane's BasicEntanglerLayers ring), and with fewer
    features than wires wire i reads feature i mod d; checked against default.qubit."""
    torch.manual_seed(4)
    vqc = build_model("vqc", input_shape=(n_features,), n_classes=2, n_qubits=n_qubits, n_layers=2).double()
    with torch.no_grad():
        vqc.input_scale.uniform_(0.5, 1.5)
    scale, rot = vqc.input_scale.detach(), vqc.rotations.detach()
    x = torch.randn(n_features, dtype=torch.float64)

    @qml.qnode(qml.device("default.qubit", wires=n_qubits))
    def circuit():
        for layer in range(2):
            for i in range(n_qubits):
                qml.RY(scale[layer, i] * x[i % n_features], wires=i)
                qml.Rot(*rot[layer, i], wires=i)
            qml.BasicEntanglerLayers(torch.zeros(1, n_qubits), range(n_qubits), rotation=qml.RZ)  # RZ(0) = I: the ring
        return [qml.expval(qml.PauliZ(i)) for i in range(n_qubits)]

    want = torch.stack([torch.as_tensor(v, dtype=torch.float64) for v in circuit()])
    torch.testing.assert_close(vqc.expvals(x[None])[0].detach(), want, atol=1e-12, rtol=0)


def test_vqc_with_more_classes_than_qubits_uses_a_linear_readout():
    vqc = build_model("vqc", input_shape=(3,), n_classes=5, n_qubits=3, n_layers=1)
    assert vqc(torch.randn(2, 3)).shape == (2, 5)
    assert count_parameters(vqc) == 3 * 1 + 3 * 3 * 1 + (3 * 5 + 5)


def test_transformer_patch_tokens_for_images():
    model = build_model("transformer", input_shape=IMAGE, n_classes=10)
    assert model.tokens.n_tokens == (8 // 2) ** 2 and model.pos.shape[1] == 16 + 1
    assert math.prod(model(torch.randn(2, *IMAGE)).shape) == 20


@pytest.mark.parametrize(
    ("name", "shape", "kwargs", "message"),
    [
        ("resnet", IMAGE, {}, "unknown model 'resnet'; valid: mlp, cnn"),
        ("cnn", (4,), {}, "needs image data"),
        ("vqc", IMAGE, {}, "needs tabular data.*n_features"),
        ("vqc", (20,), {}, "n_features <= 12"),
        ("vqc", (6,), {"n_qubits": 4}, "6 features for 4 qubits"),
        ("mlp", (4,), {"widht": 3}, "bad options \\['widht'\\]"),
    ],
)
def test_bad_input_says_what_to_do(name, shape, kwargs, message):
    with pytest.raises(ValueError, match=message):
        build_model(name, input_shape=shape, n_classes=2, **kwargs)
