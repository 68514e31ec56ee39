"""Quanvolution against a per-patch loop of PennyLane QNodes on default.qubit."""

import numpy as np
import pennylane as qml
import pytest
import torch

import hybrid
from hybrid.layers import Quanvolution


def loop_reference(images, weights, n_qubits, out_channels, k, s, axes):
    """Each patch alone through PennyLane: RY(pi x) per feature (then RZ for the features
    beyond one per wire), StronglyEntanglingLayers, <Z_c>."""
    dev = qml.device("default.qubit", wires=n_qubits)

    @qml.qnode(dev)
    def circuit(features):
        for j, axis in enumerate(axes):
            chunk = features[j * n_qubits : (j + 1) * n_qubits]
            qml.AngleEmbedding(np.pi * chunk, wires=range(len(chunk)), rotation=axis)
        qml.StronglyEntanglingLayers(weights, wires=range(n_qubits))
        return [qml.expval(qml.Z(c)) for c in range(out_channels)]

    b, _, h, w = images.shape
    out = np.zeros((b, out_channels, (h - k) // s + 1, (w - k) // s + 1))
    for i in range(b):
        for r in range(out.shape[2]):
            for c in range(out.shape[3]):
                patch = images[i, :, r * s : r * s + k, c * s : c * s + k].reshape(-1)  # channel, row, column
                out[i, :, r, c] = np.asarray(circuit(patch))
    return out


@pytest.mark.parametrize(
    "in_channels, out_channels, k, s, hw, max_qubits, axes",
    [
        (1, 4, 2, 2, (4, 6), 8, "Y"),  # Henderson et al.'s setting: 2x2 patches, 4 qubits
        (3, 3, 2, 1, (3, 3), 6, "YZ"),  # 12 features on 6 qubits, overlapping patches
    ],
)
def test_matches_a_per_patch_loop(in_channels, out_channels, k, s, hw, max_qubits, axes):
    torch.manual_seed(0)
    layer = Quanvolution(in_channels, out_channels, k, s, n_layers=2, max_qubits=max_qubits, dtype=torch.float64)
    images = torch.rand((2, in_channels, *hw), dtype=torch.float64)
    n_qubits = min(in_channels * k * k, max_qubits)
    want = loop_reference(images.numpy(), layer.layer.weights.detach().numpy(), n_qubits, out_channels, k, s, axes)
    got = layer(images)
    assert got.shape == want.shape
    np.testing.assert_allclose(got.detach().numpy(), want, atol=1e-12)


def test_all_patches_of_all_images_go_through_one_engine_call(mocker):
    layer = Quanvolution(1, 2, n_layers=1)
    spy = mocker.spy(hybrid.sim, "expval")
    out = layer(torch.rand(3, 1, 6, 6))
    assert out.shape == (3, 2, 3, 3)
    assert spy.call_count == 1
    assert spy.call_args.args[2]["x0"].shape == (27,)  # 3 images x 9 patches, one value each


def test_gradients_reach_pixels_and_weights():
    torch.manual_seed(1)
    layer = Quanvolution(1, 2, kernel_size=2, stride=1, dtype=torch.float64)
    images = torch.rand((1, 1, 3, 3), dtype=torch.float64, requires_grad=True)
    weights = layer.layer.weights.detach().clone().requires_grad_(True)

    def f(x, w):
        return torch.func.functional_call(layer, {"layer.weights": w}, (x,))

    assert torch.autograd.gradcheck(f, (images, weights), eps=1e-6, atol=1e-6)


def test_fixed_random_filters():
    layer = Quanvolution(1, 4, trainable=False)
    assert list(layer.parameters()) == [] and "layer.weights" in layer.state_dict()
    images = torch.rand(2, 1, 4, 4, requires_grad=True)
    layer(images).sum().backward()
    assert images.grad is not None and images.grad.abs().sum() > 0


def test_bad_shapes_and_sizes():
    layer = Quanvolution(2, 2)
    with pytest.raises(ValueError, match=r"expects images of shape \(batch, 2, height, width\); got \(1, 4, 4\)"):
        layer(torch.rand(1, 4, 4))
    with pytest.raises(ValueError, match=r"images of 1x4 are smaller than the 2x2 kernel"):
        layer(torch.rand(1, 2, 1, 4))
    with pytest.raises(ValueError, match=r"out_channels=5 but the circuit has 4 qubit\(s\)"):
        Quanvolution(1, 5)
    with pytest.raises(ValueError, match=r"has 48 features; 8 qubit\(s\) hold at most 24 -- use at least 16 qubits"):
        Quanvolution(3, 2, kernel_size=4)
    with pytest.raises(ValueError, match="kernel_size must be a positive integer"):
        Quanvolution(1, 1, kernel_size=0)
