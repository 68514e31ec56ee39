"""Adjoint and parameter-shift gradients against backpropagation (and finite differences)."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings

from hybrid import Circuit, Parameter, X, Y, Z, expval, simulate

from .strategies import build_ours, random_programs


def _observables(n):
    obs = [Z(0), 0.5 * X(n - 1) - Y(0)]
    if n > 1:
        obs.append(Z(0) @ Z(n - 1) + 0.3 * X(1))
    return obs


def _gradients(circuit, leaves, obs, method):
    out = expval(circuit, obs, dtype=torch.complex128, diff_method=method)
    weights = torch.linspace(0.5, 1.5, out.shape[-1], dtype=torch.float64)
    grads = torch.autograd.grad((out * weights).sum(), leaves, allow_unused=True)
    return out.detach(), [torch.zeros_like(l) if g is None else g for l, g in zip(leaves, grads)]


@settings(max_examples=40, deadline=None)
@given(random_programs(max_qubits=6, batch=3))
@pytest.mark.parametrize("method", ["adjoint", "parameter-shift"])
def test_method_equals_backprop(method, program):
    n, ops = program
    leaves: list = []
    c = build_ours(n, ops, leaves=leaves)
    if not leaves:
        return
    obs = _observables(n)
    want_out, want = _gradients(c, leaves, obs, "backprop")
    got_out, got = _gradients(c, leaves, obs, method)
    np.testing.assert_allclose(got_out.numpy(), want_out.numpy(), atol=1e-10)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-8)


def test_adjoint_batched_inputs_shared_weights_and_initial_state():
    x = torch.tensor([[0.1, 0.5], [0.9, -0.3], [1.7, 0.2]], dtype=torch.float64, requires_grad=True)
    w = torch.tensor([0.4, -0.8, 0.3], dtype=torch.float64, requires_grad=True)
    c = Circuit(2)
    c.ry(Parameter("x0"), 0).ry(Parameter("x1"), 1).cx(0, 1).crx(Parameter("w0"), 0, 1)
    c.rot(Parameter("w1"), 2 * Parameter("w0") + 0.1, Parameter("w2"), 1).rzz(Parameter("x0"), 0, 1)

    def f(x, w, method):
        binds = {"x0": x[:, 0], "x1": x[:, 1], "w0": w[0], "w1": w[1], "w2": w[2]}
        return expval(c, [Z(0), X(1)], binds, dtype=torch.complex128, diff_method=method)

    assert torch.autograd.gradcheck(lambda x, w: f(x, w, "adjoint"), (x, w), eps=1e-6, atol=1e-7)
    out = f(x, w, "adjoint")
    assert out.shape == (3, 2)
    g_adj = torch.autograd.grad(out.sum(), (x, w))
    g_bp = torch.autograd.grad(f(x, w, "backprop").sum(), (x, w))
    for a, b in zip(g_adj, g_bp):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-10)

    init = torch.randn(4, dtype=torch.complex128)
    init = (init / init.norm()).requires_grad_()
    grads = [
        torch.autograd.grad(expval(c, Z(1), {k: 0.3 for k in c.parameters}, initial_state=init,
                                   dtype=torch.complex128, diff_method=m), init)[0]
        for m in ("adjoint", "backprop")
    ]  # fmt: skip
    np.testing.assert_allclose(grads[0].numpy(), grads[1].numpy(), atol=1e-10)


def test_expval_shapes_and_agreement_with_state():
    c = Circuit(2).h(0).cx(0, 1).ry(0.3, 1)
    s = simulate(c, dtype=torch.complex128)
    for method in ("backprop", "adjoint", "parameter-shift"):
        single = expval(c, "Z0 Z1", dtype=torch.complex128, diff_method=method)
        assert single.shape == () and single.item() == pytest.approx(s.expval("Z0 Z1").item(), abs=1e-12)
        assert expval(c, [Z(0), Z(1)], dtype=torch.complex128, diff_method=method).shape == (2,)


def test_diff_method_errors():
    with pytest.raises(ValueError, match="unknown diff_method 'magic'"):
        expval(Circuit(1), Z(0), diff_method="magic")
    with pytest.raises(ValueError, match="without mid-circuit measurements"):
        expval(Circuit(1).measure(0), Z(0), diff_method="adjoint")
    u = torch.eye(2, dtype=torch.complex128, requires_grad=True)
    with pytest.raises(ValueError, match="not matrices"):
        expval(Circuit(1).unitary(u, [0]), Z(0), diff_method="parameter-shift")
    init = torch.tensor([1.0, 0.0], dtype=torch.complex128, requires_grad=True)
    out = expval(Circuit(1).rx(0.2, 0), Z(0), initial_state=init, dtype=torch.complex128, diff_method="parameter-shift")
    with pytest.raises(ValueError, match="cannot differentiate the initial state"):
        out.backward()


def test_adjoint_backward_twice_on_a_retained_graph():
    w = torch.tensor([0.3, -1.1, 0.7], dtype=torch.float64, requires_grad=True)
    c = Circuit(3).ry(w[0], 0).cx(0, 1).rot(w[1], w[2], w[0], 2).cz(1, 2).unitary(np.eye(4)[[2, 0, 3, 1]], [2, 0])
    out = expval(c, Z(0) + X(2), dtype=torch.complex128, diff_method="adjoint")
    first = torch.autograd.grad(out, w, retain_graph=True)[0]
    second = torch.autograd.grad(out, w)[0]
    assert torch.equal(first, second)
    want = torch.autograd.grad(expval(c, Z(0) + X(2), dtype=torch.complex128, diff_method="backprop"), w)[0]
    np.testing.assert_allclose(first.numpy(), want.numpy(), atol=1e-10)


@pytest.mark.parametrize("initial", [None, "amplitudes"])
def test_adjoint_repeated_backward_when_the_forward_overwrites_the_initial_state(initial):
    th = torch.tensor([0.3, 0.7], dtype=torch.float64, requires_grad=True)
    c = Circuit(6).mcx([0, 1, 2, 3, 4], 5, control_values=[0] * 5).ry(th[0], 5).cx(5, 0).ry(th[1], 0)
    init = None
    if initial == "amplitudes":
        g = torch.Generator().manual_seed(1)
        init = torch.randn(64, dtype=torch.complex128, generator=g)
        init = init / init.norm()
    e = expval(c, X(0) + Z(5), initial_state=init, dtype=torch.complex128, diff_method="adjoint")
    grads = [torch.autograd.grad(e, th, retain_graph=True)[0] for _ in range(3)]
    want = torch.autograd.grad(expval(c, X(0) + Z(5), initial_state=init, dtype=torch.complex128), th)[0]
    for got in grads:
        np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-10)
