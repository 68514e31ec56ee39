"""Autograd through the engine: finite differences (gradcheck), parameter shift, batched inputs."""

import numpy as np
import pytest
import torch

from hybrid import Circuit, Parameter, X, Y, Z, simulate

OBS = 0.7 * Z(0) @ Z(2) + X(1) - 0.3 * Y(2)

# (name, builder) for every parametrised gate, uncontrolled and controlled.
PARAMETRISED = {
    "rx": lambda c, p: c.rx(p[0], 1),
    "ry": lambda c, p: c.ry(p[0], 0),
    "rz": lambda c, p: c.rz(p[0], 2),
    "p": lambda c, p: c.p(p[0], 1),
    "u": lambda c, p: c.u(p[0], p[1], p[2], 2),
    "rot": lambda c, p: c.rot(p[0], p[1], p[2], 0),
    "crx": lambda c, p: c.crx(p[0], 0, 2),
    "cry": lambda c, p: c.cry(p[0], 2, 1),
    "crz": lambda c, p: c.crz(p[0], 1, 0),
    "cp": lambda c, p: c.cp(p[0], 0, 1),
    "rxx": lambda c, p: c.rxx(p[0], 0, 2),
    "ryy": lambda c, p: c.ryy(p[0], 1, 2),
    "rzz": lambda c, p: c.rzz(p[0], 2, 0),
    "mcp": lambda c, p: c.mcp(p[0], [0, 1], 2),
    "global_phase_ctrl": lambda c, p: c.ctrl(1, Circuit(1).global_phase(p[0]), wires=[0]),
}
N_PARAMS = {"u": 3, "rot": 3}


def _prepared(params, name):
    c = Circuit(3).h(0).ry(0.4, 1).rx(0.9, 2).cx(0, 1).h(2)
    PARAMETRISED[name](c, params)
    return c.cx(2, 0).ry(0.3, 1).h(1)


@pytest.mark.parametrize("name", list(PARAMETRISED))
def test_gradcheck_expval_and_probs(name):
    k = N_PARAMS.get(name, 1)
    theta = torch.tensor(np.linspace(0.3, 1.1, k), dtype=torch.float64, requires_grad=True)

    def expval(t):
        return simulate(_prepared(list(t), name), dtype=torch.complex128, device="cpu").expval(OBS)

    def probs(t):
        return simulate(_prepared(list(t), name), dtype=torch.complex128, device="cpu").probs([2, 0])

    assert torch.autograd.gradcheck(expval, (theta,), eps=1e-6, atol=1e-7)
    assert torch.autograd.gradcheck(probs, (theta,), eps=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", ["rx", "ry", "rz", "p", "rxx", "ryy", "rzz"])
def test_gradient_equals_parameter_shift(name):
    """Gates exp(-i theta G/2) with G^2 = I obey the two-term shift rule with shift pi/2."""
    theta = torch.tensor(0.83, dtype=torch.float64, requires_grad=True)

    def f(t):
        return simulate(_prepared([t], name), dtype=torch.complex128, device="cpu").expval(OBS)

    (grad,) = torch.autograd.grad(f(theta), theta)
    with torch.no_grad():
        shift = (f(theta + np.pi / 2) - f(theta - np.pi / 2)) / 2
    assert grad.item() == pytest.approx(shift.item(), abs=1e-10)


def test_gradients_flow_to_batched_inputs_and_shared_weights():
    x = torch.tensor([[0.1, 0.5], [0.9, -0.3], [1.7, 0.2]], dtype=torch.float64, requires_grad=True)
    w = torch.tensor([0.4, -0.8], dtype=torch.float64, requires_grad=True)
    a, b = Parameter("a"), Parameter("b")
    c = Circuit(2).ry(a, 0).ry(b, 1).cx(0, 1).rx(Parameter("w0"), 0).rz(Parameter("w1"), 1).h(1)

    def loss(x, w):
        s = simulate(c, {"a": x[:, 0], "b": x[:, 1], "w0": w[0], "w1": w[1]}, dtype=torch.complex128, device="cpu")
        return s.expval(Z(0) + X(1))  # (B,)

    assert loss(x, w).shape == (3,)
    assert torch.autograd.gradcheck(loss, (x, w), eps=1e-6, atol=1e-7)
    # Per-sample outputs depend only on their own input row.
    jac = torch.autograd.functional.jacobian(lambda x: loss(x, w), x)  # (B, B, 2)
    off_diagonal = jac.clone()
    for i in range(3):
        off_diagonal[i, i] = 0
    assert off_diagonal.abs().max().item() == 0.0


def test_gradient_through_unitary_matrix_and_initial_state():
    theta = torch.tensor(0.6, dtype=torch.float64, requires_grad=True)

    def f(t):
        c, s = torch.cos(t), torch.sin(t)
        u = torch.stack([torch.stack([c, -s]), torch.stack([s, c])]).to(torch.complex128)
        init = torch.stack([torch.cos(t / 3), torch.sin(t / 3)]).to(torch.complex128)
        return simulate(Circuit(1).unitary(u, [0]), initial_state=init, dtype=torch.complex128).expval(Z(0))

    assert torch.autograd.gradcheck(f, (theta,), eps=1e-6, atol=1e-7)
