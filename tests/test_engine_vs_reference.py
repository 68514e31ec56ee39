"""Kernels against the hand-written dense reference in tests/reference.py."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings

from hybrid import Circuit, Parameter, simulate

from .reference import controlled, embed, reference_state
from .strategies import GATE_TABLE, build_ours, random_programs


def _vec(circuit, **kw):
    return simulate(circuit, dtype=torch.complex128, device="cpu", **kw).vector.numpy()


@pytest.mark.parametrize("kind", GATE_TABLE, ids=lambda k: k.name)
def test_each_gate_on_scattered_wires_matches_reference(kind):
    rng = np.random.default_rng(7)
    n = 5
    wires = [4, 1, 3, 0][: kind.n_wires]
    prep = Circuit(n)
    for w in range(n):  # a generic entangled-ish input so every amplitude matters
        prep.ry(float(rng.uniform(0, 3)), w).rz(float(rng.uniform(0, 3)), w)
    prep.cx(0, 2).cx(3, 4)
    c = prep.copy()
    kind.ours(c, list(rng.uniform(-3, 3, kind.n_params)), wires, kind.data(rng) if kind.data else None)
    np.testing.assert_allclose(_vec(c), reference_state(c), atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(random_programs(max_qubits=6))
def test_random_circuits_match_reference(program):
    n, ops = program
    c = build_ours(n, ops)
    np.testing.assert_allclose(_vec(c), reference_state(c), atol=1e-10)


@settings(max_examples=30, deadline=None)
@given(random_programs(max_qubits=6))
def test_inverse_undoes_the_circuit(program):
    n, ops = program
    c = build_ours(n, ops)
    rng = np.random.default_rng(0)
    init = rng.normal(size=2**n) + 1j * rng.normal(size=2**n)
    init /= np.linalg.norm(init)
    roundtrip = c.copy().compose(c.inverse())
    np.testing.assert_allclose(_vec(roundtrip, initial_state=torch.tensor(init)), init, atol=1e-10)
    np.testing.assert_allclose(_vec(c.inverse(), initial_state=torch.tensor(reference_state(c))),
                               np.eye(2**n)[0], atol=1e-10)


def test_compose_places_subcircuit_on_chosen_wires():
    sub = Circuit(2).h(0).cx(0, 1).ry(0.4, 1)
    c = Circuit(4).x(3).compose(sub, wires=[3, 1])
    expected = Circuit(4).x(3).h(3).cx(3, 1).ry(0.4, 1)
    np.testing.assert_allclose(_vec(c), _vec(expected), atol=1e-12)
    np.testing.assert_allclose(_vec(c), reference_state(c), atol=1e-12)


def test_ctrl_of_a_subcircuit_is_the_controlled_unitary():
    sub = Circuit(2).h(0).rz(0.7, 1).cx(0, 1)
    u_sub = np.stack([reference_state(sub, initial=np.eye(4)[i]) for i in range(4)], axis=1)
    c = Circuit(4).h(0).h(3).ctrl([0, 3], sub, wires=[2, 1], control_values=[1, 0])
    prep = reference_state(Circuit(4).h(0).h(3))
    expected = embed(controlled(u_sub, [1, 0]), [0, 3, 2, 1], 4) @ prep
    np.testing.assert_allclose(_vec(c), expected, atol=1e-12)


def test_symbolic_parameters_bind_by_name_position_and_tensor():
    theta, phi = Parameter("theta"), Parameter("phi")
    c = Circuit(2).ry(theta, 0).crx(2 * phi + 0.1, 0, 1).rz(-theta, 1)
    assert c.parameters == ["theta", "phi"]
    concrete = Circuit(2).ry(0.3, 0).crx(2 * 0.5 + 0.1, 0, 1).rz(-0.3, 1)
    want = _vec(concrete)
    np.testing.assert_allclose(_vec(c, params={"theta": 0.3, "phi": 0.5}), want, atol=1e-12)
    np.testing.assert_allclose(_vec(c, params=[0.3, 0.5]), want, atol=1e-12)
    batch = torch.tensor([[0.3, 0.5], [0.1, 0.2]], dtype=torch.float64)
    out = _vec(c, params=batch)
    assert out.shape == (2, 4)
    np.testing.assert_allclose(out[0], want, atol=1e-12)
    np.testing.assert_allclose(out[1], _vec(Circuit(2).ry(0.1, 0).crx(0.5, 0, 1).rz(-0.1, 1)), atol=1e-12)


def test_batched_unitary_and_initial_state():
    rng = np.random.default_rng(3)
    from scipy.stats import unitary_group

    mats = np.stack([unitary_group.rvs(4, random_state=rng) for _ in range(3)])
    init = rng.normal(size=(3, 8)) + 1j * rng.normal(size=(3, 8))
    init /= np.linalg.norm(init, axis=1, keepdims=True)
    c = Circuit(3).h(0).unitary(torch.tensor(mats), [2, 0])
    out = _vec(c, initial_state=torch.tensor(init))
    for b in range(3):
        single = Circuit(3).h(0).unitary(mats[b], [2, 0])
        np.testing.assert_allclose(out[b], reference_state(single, initial=init[b]), atol=1e-12)


def test_basis_state_initial_and_unbatched_shape():
    state = simulate(Circuit(3).x(1), initial_state=4, dtype=torch.complex128)
    assert state.vector.shape == (8,)
    assert state.vector[6].abs().item() == pytest.approx(1.0)


def test_shared_and_per_sample_parameters_mix_in_one_gate():
    theta = torch.tensor([0.1, 0.7, 1.3], dtype=torch.float64)
    out = _vec(Circuit(1).u(theta, 0.2, 0.3, 0))  # one batched, two shared parameters
    for b in range(3):
        np.testing.assert_allclose(out[b], reference_state(Circuit(1).u(float(theta[b]), 0.2, 0.3, 0)), atol=1e-12)


def test_numpy_values_broadcast_and_compose_with_classical_bits():
    phi = np.array([0.2, 0.4, 0.6])
    out = _vec(Circuit(1).u(0.7, phi, np.float32(0.5), 0))  # batched phi only, numpy inputs
    for b in range(3):
        np.testing.assert_allclose(out[b], reference_state(Circuit(1).u(0.7, phi[b], 0.5, 0)), atol=1e-6)
    # A length-1 batch broadcasts against a longer one.
    out = _vec(Circuit(2).rx(torch.tensor([0.3]), 0).ry(torch.tensor([0.1, 0.2]), 1))
    assert out.shape == (2, 4)
    # compose() can put a measuring sub-circuit's bits elsewhere.
    sub = Circuit(1).x(0).measure(0, 0)
    c = Circuit(2).compose(sub, wires=[0], clbits=[1]).compose(Circuit(1).measure(0, 0), wires=[1], clbits=[0])
    assert simulate(c, seed=0).bits.tolist() == [0, 1]
    with pytest.raises(TypeError, match="cannot add symbols"):
        Parameter("a") + Parameter("b")


def test_initial_state_norm_check_does_not_loosen_with_size():
    v = torch.ones(2**18, dtype=torch.complex64) * (2 / 2**18) ** 0.5  # norm^2 = 2
    with pytest.raises(ValueError, match="normalised"):
        simulate(Circuit(18), initial_state=v)
    ok = torch.ones(2**18, dtype=torch.complex64) / 2**9
    assert simulate(Circuit(18), initial_state=ok).probs([0]).sum().item() == pytest.approx(1.0, abs=1e-5)


def test_count_multi_qubit_gates_counts_gates_on_two_or_more_wires_only():
    c = Circuit(3, 1).h(0).cx(0, 1).ccx(0, 1, 2).rzz(0.3, 0, 2).measure(1, 0).reset(2)
    with c.when(0, 1):
        c.cz(0, 2)
    assert c.count_multi_qubit_gates() == 4  # cx, ccx, rzz, conditioned cz; not h, measure, reset
