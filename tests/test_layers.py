"""QuantumLayer as a torch.nn layer: gradients, diff methods, training, shots, state_dict,
dtype/device, planning once, torch.compile, and bad input."""

import math

import numpy as np
import pytest
import torch
from torch import nn

import hybrid
import hybrid.sim.fuse
from hybrid import MemoryLimitError, X, Y, Z
from hybrid.layers import Angle, ExpZ, Probs, QuantumLayer

SPECS = {
    "angle-sel-z": dict(),
    "iqp-basic-paulis": dict(encoder="iqp", ansatz="basic_entangler", readout=[Z(0) @ Z(1) + 0.5 * X(2), Y(1), "0.3 X0 Y2 - Z2"]),
    "amplitude-hwe-z": dict(encoder="amplitude", ansatz="hardware_efficient", n_features=6),
    "reupload-sel-probs": dict(encoder="reupload", readout=Probs((1, 2))),
}


def make(name, **kwargs):
    torch.manual_seed(5)
    return QuantumLayer(3, 2, dtype=torch.float64, **SPECS[name], **kwargs)


def inputs(layer, batch=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand((batch, layer.n_features), generator=g, dtype=torch.float64) * 2 - 1


def functional(layer):
    """``f(x, weights)`` for gradcheck: the layer with its weights replaced."""
    return lambda x, w: torch.func.functional_call(layer, {"weights": w}, (x,))


# --- gradients --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, method",
    [(name, "backprop") for name in SPECS] + [("angle-sel-z", "adjoint"), ("iqp-basic-paulis", "parameter-shift")],
)
def test_gradcheck_inputs_and_weights(name, method):
    """Analytic gradients against central finite differences (torch.autograd.gradcheck);
    the other specs' adjoint and parameter-shift gradients are compared with backprop below."""
    layer = make(name, diff_method=method)
    x = inputs(layer, batch=2 if method != "parameter-shift" else 1).requires_grad_(True)
    w = layer.weights.detach().clone().requires_grad_(True)
    assert torch.autograd.gradcheck(functional(layer), (x, w), eps=1e-6, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("name", list(SPECS))
def test_diff_methods_agree(name):
    results = {}
    for method in ["backprop", "adjoint", "parameter-shift"]:
        layer = make(name, diff_method=method)
        state_input = method == "parameter-shift" and name == "amplitude-hwe-z"  # see the next test
        x = inputs(layer, batch=4).requires_grad_(not state_input)
        out = layer(x)
        weights = torch.linspace(-1, 1, out.numel(), dtype=torch.float64).reshape(out.shape)
        wanted = [layer.weights] + ([] if state_input else [x])
        grads = torch.autograd.grad((out * weights).sum(), wanted)
        results[method] = [out.detach(), *grads]
    for method in ["adjoint", "parameter-shift"]:
        for got, want in zip(results[method], results["backprop"]):
            np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-9)


def test_parameter_shift_cannot_differentiate_an_amplitude_encoded_input():
    layer = make("amplitude-hwe-z", diff_method="parameter-shift")
    x = inputs(layer).requires_grad_(True)
    with pytest.raises(ValueError, match=r"amplitude-encoded input.*'adjoint' or 'backprop'.*x.detach\(\)"):
        layer(x)


# --- as a torch.nn layer --------------------------------------------------------------------


def test_trains_between_two_linear_layers():
    """Two Gaussian blobs, separable by a line: Adam drives the loss down in 40 steps."""
    g = torch.Generator().manual_seed(0)
    x = torch.cat([torch.randn(32, 2, generator=g) + 1.5, torch.randn(32, 2, generator=g) - 1.5])
    y = torch.cat([torch.zeros(32), torch.ones(32)]).long()
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(2, 3), QuantumLayer(3, 2), nn.Linear(3, 2))
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    losses = []
    for _ in range(40):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.4 * losses[0]
    assert (model(x).argmax(-1) == y).float().mean() >= 0.95
    assert model[1].weights.grad is not None and model[1].weights.grad.abs().sum() > 0


def test_unbatched_and_extra_leading_axes():
    layer = make("angle-sel-z")
    x = inputs(layer, batch=6)
    batched = layer(x)
    assert batched.shape == (6, 3)
    np.testing.assert_allclose(layer(x[2]).detach().numpy(), batched[2].detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(layer(x.reshape(2, 3, 3)).detach().numpy(), batched.reshape(2, 3, 3).detach().numpy(), atol=1e-12)


def test_state_dict_round_trip():
    a, b = make("iqp-basic-paulis"), QuantumLayer(3, 2, dtype=torch.float64, **SPECS["iqp-basic-paulis"])
    x = inputs(a)
    assert not torch.allclose(a(x), b(x))
    b.load_state_dict(a.state_dict())
    np.testing.assert_array_equal(b(x).detach().numpy(), a(x).detach().numpy())
    assert list(a.state_dict()) == ["weights"]


def test_fixed_weights_are_a_buffer_that_is_saved():
    layer = QuantumLayer(3, 1, trainable=False)
    assert list(layer.parameters()) == [] and "weights" in layer.state_dict()
    x = torch.rand(2, 3, requires_grad=True)
    layer(x).sum().backward()
    assert x.grad is not None and layer.weights.grad is None


def test_trainable_input_scales_start_at_the_encoders_scale_and_follow_trainable():
    layer = QuantumLayer(3, 2, Angle("Y", scale=0.5, trainable_scale=True), reupload=True, dtype=torch.float64)
    assert isinstance(layer.input_scale, nn.Parameter) and layer.input_scale.shape == (2, 3)
    assert (layer.input_scale == 0.5).all() and list(layer.state_dict()) == ["weights", "input_scale"]
    fixed = QuantumLayer(3, 2, Angle("Y", trainable_scale=True), trainable=False)
    assert list(fixed.parameters()) == [] and fixed.input_scale.shape == (1, 3) and "input_scale" in fixed.state_dict()
    assert QuantumLayer(3, 1).input_scale is None


def test_dtype_follows_the_weights(mocker):
    spy = mocker.spy(hybrid.sim, "expval")
    layer = QuantumLayer(3, 2)
    x = torch.rand(4, 3)
    out32 = layer(x)
    assert out32.dtype == torch.float32 and spy.call_args.kwargs["dtype"] == torch.complex64
    layer.to(torch.float64)
    out64 = layer(x.double())
    assert out64.dtype == torch.float64 and spy.call_args.kwargs["dtype"] == torch.complex128
    assert layer.weights.dtype == torch.float64 and isinstance(layer.weights, nn.Parameter)
    np.testing.assert_allclose(out32.detach().numpy(), out64.detach().numpy(), atol=1e-5)
    layer.to("cpu", torch.float32)
    assert layer(x).dtype == torch.float32 and spy.call_args.kwargs["device"] == torch.device("cpu")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_moves_to_cuda_and_matches_cpu():
    layer = make("angle-sel-z")
    x = inputs(layer)
    want = layer(x)
    got = layer.to("cuda")(x.cuda())
    assert got.device.type == "cuda"
    np.testing.assert_allclose(got.detach().cpu().numpy(), want.detach().numpy(), atol=1e-10)


def test_circuit_is_planned_once(mocker):
    """The circuit object is built at construction; forward calls only feed it numbers."""
    layer = make("angle-sel-z")
    circuit = layer.circuit
    fuse = mocker.spy(hybrid.sim.fuse, "_fuse")
    build = mocker.spy(hybrid.layers.spec.LayerSpec, "circuit")
    for seed in range(4):
        x = inputs(layer, batch=5, seed=seed).requires_grad_(True)
        layer(x).sum().backward()
    assert layer.circuit is circuit and build.call_count == 0
    assert fuse.call_count == 1  # the plan was compiled on the first call and reused after


def test_torch_compile_runs_the_layer_eagerly_inside_a_compiled_model():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 3), QuantumLayer(3, 1), nn.Linear(3, 1))
    x = torch.rand(5, 3)
    compiled = torch.compile(model, backend="eager")
    np.testing.assert_allclose(compiled(x).detach().numpy(), model(x).detach().numpy(), atol=1e-6)
    compiled(x).sum().backward()
    assert model[1].weights.grad is not None and model[0].weight.grad is not None


# --- shots --------------------------------------------------------------------------------------


def assert_integers(a):
    np.testing.assert_allclose(a, np.round(a), atol=1e-9)


def test_shots_are_seeded_and_reproducible():
    a, b = make("angle-sel-z", shots=100, seed=7), make("angle-sel-z", shots=100, seed=7)
    x = inputs(a)
    first = a(x)
    np.testing.assert_array_equal(first.detach().numpy(), b(x).detach().numpy())
    assert not torch.equal(first, a(x))  # the generator moves on: fresh shots each call
    # Estimates of a +-1 outcome from 100 shots are multiples of 2/100.
    assert_integers(((first + 1) * 50).detach().numpy())


def test_shot_estimates_have_the_binomial_mean_and_variance():
    """400 copies of one input give 400 independent estimates of each <Z_i>."""
    shots, copies = 50, 400
    layer = make("angle-sel-z", shots=shots, seed=3)
    x = inputs(layer, batch=1).expand(copies, -1)
    exact = make("angle-sel-z")(x[:1]).detach()[0]
    est = layer(x).detach()
    var = (1 - exact**2) / shots  # of one estimate: 4 p (1 - p) / shots with p = (1 + e) / 2
    assert ((est.mean(0) - exact).abs() <= 4 * torch.sqrt(var / copies) + 1e-12).all()
    np.testing.assert_allclose(est.var(0).numpy(), var.numpy(), rtol=0.25)


def test_shot_probabilities_are_counts_and_gradients_are_exact():
    layer = make("reupload-sel-probs", shots=64, seed=1)
    exact = make("reupload-sel-probs")
    x = inputs(layer)
    est = layer(x)
    np.testing.assert_allclose(est.sum(-1).detach().numpy(), 1, atol=1e-12)
    assert_integers((est * 64).detach().numpy())
    g_est = torch.autograd.grad(est[:, 0].sum(), layer.weights)[0]
    g_exact = torch.autograd.grad(exact(x)[:, 0].sum(), exact.weights)[0]
    np.testing.assert_allclose(g_est.numpy(), g_exact.numpy(), atol=1e-12)


# --- initialisation ------------------------------------------------------------------------


def test_initialisations():
    torch.manual_seed(0)
    uniform = QuantumLayer(4, 3).weights
    assert uniform.min() >= 0 and uniform.max() < 2 * math.pi and uniform.std() > 1
    small = QuantumLayer(4, 3, init="small", init_scale=0.01).weights
    assert small.abs().max() < 0.05
    custom = QuantumLayer(4, 3, init=lambda w: nn.init.constant_(w, 0.5)).weights
    assert torch.all(custom == 0.5)


# --- bad input ---------------------------------------------------------------------------------


def test_wrong_feature_count():
    with pytest.raises(ValueError, match=r"expects 3 feature\(s\).*shape \(2, 5\).*nn.Linear\(\.\.\., 3\)"):
        QuantumLayer(3, 1)(torch.rand(2, 5))


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_nan_or_infinite_inputs(bad):
    x = torch.rand(4, 3)
    x[2, 1] = bad
    with pytest.raises(ValueError, match=r"NaN or infinite values in sample\(s\) \[2\] \(feature\(s\) \[1\]\)"):
        QuantumLayer(3, 1)(x)


def test_amplitude_encoding_of_a_zero_vector():
    x = torch.rand(3, 4)
    x[1] = 0
    with pytest.raises(ValueError, match=r"all-zero feature vector \(sample\(s\) \[1\]\).*bias feature"):
        QuantumLayer(2, 1, encoder="amplitude")(x)


def test_more_qubits_than_memory_allows_reaches_the_user_with_numbers():
    layer = QuantumLayer(40, 1, ansatz="basic_entangler")
    with pytest.raises(MemoryLimitError, match=r"40 qubits x batch 2 in complex64 needs about .*TiB.* free on cpu"):
        layer(torch.rand(2, 40))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(encoder="angels"), r"unknown encoder 'angels'; use one of 'angle', 'amplitude', 'iqp', 'reupload'"),
        (dict(ansatz="sel"), r"unknown ansatz 'sel'; use one of 'strongly_entangling'"),
        (dict(readout="expval"), r"unknown readout 'expval'; use one of 'z', 'probs'"),
        (dict(diff_method="finite-diff"), r"unknown diff_method 'finite-diff'"),
        (dict(shots=0), r"shots \(None for exact values\) must be a positive integer"),
        (dict(init="zeros"), r"unknown init 'zeros'"),
        (dict(encoder="iqp", n_features=2), r"encoder 'iqp' on 3 qubit\(s\) takes 3 feature\(s\); got n_features=2"),
        (dict(encoder="amplitude", n_features=9), r"takes 1 to 8 feature\(s\); got n_features=9"),
        (dict(readout=[Z(5)]), r"acts on wire 5 but the layer has 3 qubit\(s\)"),
        (dict(readout=ExpZ((0, 3))), r"wires must be distinct and in 0..2"),
        (dict(readout=[Z(0), 3.0]), r"readout observables are PauliSums"),
        (dict(encoder="amplitude", reupload=True), r"cannot be re-uploaded"),
    ],
)
def test_bad_construction_arguments(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message):
        QuantumLayer(3, 1, **kwargs)


def test_bad_input_types():
    layer = QuantumLayer(3, 1)
    with pytest.raises(TypeError, match="real floating-point features; got dtype torch.int64"):
        layer(torch.ones(2, 3, dtype=torch.long))
    with pytest.raises(TypeError, match=r"takes a torch tensor.*torch.as_tensor"):
        layer(np.ones((2, 3)))
    with pytest.raises(ValueError, match="empty batch"):
        layer(torch.ones(0, 3))
