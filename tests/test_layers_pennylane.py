"""Parity: one spec, one set of weights -> the same outputs and gradients from QuantumLayer
and from pennylane_layer's TorchLayer on default.qubit, lightning.qubit and hybrid.qubit.

default.qubit (PennyLane's own simulator, backprop) is the reference every other result is
compared with, in float64 to 1e-6. lightning.qubit returns float32 values through the
torch interface (DESIGN.md section 7), which still sits well inside 1e-6 here.
"""

import numpy as np
import pennylane as qml
import pytest
import torch

from hybrid import X, Y, Z
from hybrid.layers import Angle, ExpZ, Probs, QuantumLayer, RotEntangler, layer_spec, pennylane_layer


def _device_available(name: str) -> bool:
    try:
        qml.device(name, wires=2)
    except Exception:  # noqa: BLE001 - any failure means the plugin is not usable here
        return False
    return True


SPECS = {
    "angle-sel-z": dict(),
    "iqp-basic-paulis": dict(encoder="iqp", ansatz="basic_entangler", readout=[Z(0) @ Z(1) + 0.5 * X(2), "Y1", "0.3 X0 Y2 - Z2"]),
    "amplitude-hwe-z": dict(encoder="amplitude", ansatz="hardware_efficient", n_features=6, readout=ExpZ((2, 0))),
    "reupload-sel-probs": dict(encoder="reupload", readout=Probs((1, 2))),
    "control-hwe-y": dict(ansatz="hardware_efficient", entangling=False, readout=[Y(0), X(1) @ Y(2)]),
}

# (device, diff_method); lightning's adjoint measures expectation values only.
DEVICES = [("default.qubit", "backprop"), ("lightning.qubit", "adjoint")]
if _device_available("hybrid.qubit"):
    DEVICES += [("hybrid.qubit", "backprop"), ("hybrid.qubit", "adjoint")]


def _method(method, name):
    """PennyLane's adjoint measures expectation values only; its parameter-shift does not
    differentiate broadcast (per-sample) parameters, nor does any adjoint method (theirs or
    ours) differentiate a state preparation's inputs. Returns (diff_method, input grads?)."""
    if method == "adjoint" and "probs" in name:
        return "parameter-shift", False
    return method, not (method == "adjoint" and "amplitude" in name)


def _outputs_and_grads(layer, x, input_grad=True):
    """Outputs, d/dx (``None`` when not asked for) and d/dweights of a fixed mix of outputs."""
    x = x.clone().requires_grad_(input_grad)
    out = layer(x)
    mix = torch.linspace(-1, 1, out.numel(), dtype=torch.float64).reshape(out.shape)
    grads = torch.autograd.grad((out.to(torch.float64) * mix).sum(), [x, layer.weights] if input_grad else [layer.weights])
    grads = grads if input_grad else (None, *grads)
    return [None if t is None else t.detach().to(torch.float64).numpy() for t in (out, *grads)]


@pytest.fixture(scope="module", params=list(SPECS))
def case(request):
    torch.manual_seed(3)
    ours = QuantumLayer(3, 2, dtype=torch.float64, **SPECS[request.param])
    x = torch.rand((4, ours.n_features), dtype=torch.float64, generator=torch.Generator().manual_seed(1)) * 2 - 1
    reference = pennylane_layer(ours.spec, device="default.qubit", diff_method="backprop", weights=ours.weights)
    return request.param, ours, x, _outputs_and_grads(reference, x)


def _check(got, want):
    for name, a, b in zip(("outputs", "input gradients", "weight gradients"), got, want):
        if a is not None:
            np.testing.assert_allclose(a, b, atol=1e-6, err_msg=name)


@pytest.mark.parametrize("method", ["backprop", "adjoint", "parameter-shift"])
def test_quantum_layer_matches_default_qubit(case, method):
    name, ours, x, want = case
    layer = QuantumLayer.from_spec(ours.spec, diff_method=method, dtype=torch.float64)
    layer.load_state_dict(ours.state_dict())
    # Shift rules cannot differentiate a state preparation (our adjoint can).
    input_grad = not (method == "parameter-shift" and "amplitude" in name)
    got = _outputs_and_grads(layer, x, input_grad)
    assert input_grad or got[1] is None
    _check(got, want)


@pytest.mark.parametrize("device, method", DEVICES[1:], ids=[f"{d}-{m}" for d, m in DEVICES[1:]])
def test_pennylane_devices_match_default_qubit(case, device, method):
    name, ours, x, want = case
    diff_method, input_grad = _method(method, name)
    layer = pennylane_layer(ours.spec, device=device, diff_method=diff_method, weights=ours.weights)
    _check(_outputs_and_grads(layer, x, input_grad), want)


def test_default_qubit_reference_is_pennylanes_own_templates():
    """The reference TorchLayer (our circuit on default.qubit) equals a QNode written with
    PennyLane's AngleEmbedding + StronglyEntanglingLayers, so parity is with PennyLane itself."""
    torch.manual_seed(0)
    spec = layer_spec(3, 2)
    layer = pennylane_layer(spec, device="default.qubit", diff_method="backprop")
    w = layer.weights.detach().double()

    @qml.qnode(qml.device("default.qubit", wires=3), interface="torch")
    def templates(x):
        qml.AngleEmbedding(x, range(3))
        qml.StronglyEntanglingLayers(w, range(3))
        return [qml.expval(qml.Z(i)) for i in range(3)]

    x = torch.rand(5, 3, dtype=torch.float64)
    want = torch.stack(templates(x), -1)
    np.testing.assert_allclose(layer(x).detach().numpy(), want.numpy(), atol=1e-12)


def test_keyword_form_and_device_objects():
    dev = qml.device("default.qubit", wires=4)
    layer = pennylane_layer(4, 1, encoder="iqp", ansatz="hardware_efficient", readout="probs", device=dev)
    assert layer.weights.shape == (1, 4, 2)
    out = layer(torch.rand(2, 4))
    assert out.shape == (2, 16)
    np.testing.assert_allclose(out.sum(-1).detach().numpy(), 1, atol=1e-5)
    with pytest.raises(ValueError, match=r"weights must have shape \(1, 4, 3\)"):
        pennylane_layer(4, 1, weights=torch.zeros(2, 4, 3))


@pytest.mark.parametrize("method", ["backprop", "adjoint", "parameter-shift"])
def test_trainable_input_scales_match_default_qubit(method):
    """Re-uploading with trainable input scales on fewer features than wires (the models'
    VQC): outputs and the gradients of inputs, weights and input scales."""
    torch.manual_seed(4)
    encoder = Angle("Y", trainable_scale=True, cycle=True)
    ours = QuantumLayer(3, 2, encoder, RotEntangler(), diff_method=method, n_features=2, reupload=True, dtype=torch.float64)
    with torch.no_grad():
        ours.input_scale.uniform_(0.5, 1.5)
    ref = pennylane_layer(
        ours.spec, device="default.qubit", diff_method="backprop", weights=ours.weights, input_scale=ours.input_scale
    )
    x = torch.rand((4, 2), dtype=torch.float64, generator=torch.Generator().manual_seed(2)) * 2 - 1
    results = []
    for layer in (ours, ref):
        xi = x.clone().requires_grad_(True)
        out = layer(xi)
        mix = torch.linspace(-1, 1, out.numel(), dtype=torch.float64).reshape(out.shape)
        grads = torch.autograd.grad((out * mix).sum(), [xi, layer.weights, layer.input_scale])
        results.append([t.detach().numpy() for t in (out, *grads)])
    for name, a, b in zip(("outputs", "input gradients", "weight gradients", "scale gradients"), *results):
        np.testing.assert_allclose(a, b, atol=1e-9, err_msg=name)
