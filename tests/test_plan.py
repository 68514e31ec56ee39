"""The fused plan and every fast kernel against the generic one-gate-at-a-time path."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from hybrid import Circuit, Parameter, Z, expval, pauli_word, simulate
from hybrid.sim import fuse, kernels, operators
from hybrid.sim.params import ParamExpr
from hybrid.sim.fuse import DenseStep, FusionConfig, InstructionStep, PhaseStep, ProductStep, compile_plan

from .reference import pauli_sum_matrix, reference_state
from .strategies import build_ours, random_programs

configs = st.builds(
    FusionConfig,
    max_dense=st.integers(1, 5),
    max_dense_batched=st.integers(1, 4),
    max_diagonal=st.integers(1, 12),
    small_circuit=st.integers(0, 8),
    lookahead=st.integers(1, 64),
)


@settings(max_examples=60, deadline=None)
@given(random_programs(max_qubits=8, batch=3), configs)
def test_fused_plan_equals_generic_path(program, config):
    n, ops = program
    c = build_ours(n, ops)
    generic = simulate(c, dtype=torch.complex128, fusion=False).vector
    fused = simulate(c, dtype=torch.complex128, fusion=config).vector
    np.testing.assert_allclose(fused.numpy(), generic.numpy(), atol=1e-10)


@settings(max_examples=25, deadline=None)
@given(random_programs(max_qubits=7, batch=2))
def test_in_place_run_equals_autograd_run(program):
    n, ops = program
    c = build_ours(n, ops)
    plain = simulate(c, dtype=torch.complex128).vector  # no grad: in place, reused buffers
    w = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
    tracked = simulate(Circuit(n).rx(w, 0).compose(c), dtype=torch.complex128).vector
    reference = simulate(Circuit(n).rx(0.3, 0).compose(c), dtype=torch.complex128, fusion=False).vector
    np.testing.assert_allclose(tracked.detach().numpy(), reference.numpy(), atol=1e-10)
    generic = simulate(c, dtype=torch.complex128, fusion=False).vector
    np.testing.assert_allclose(plain.numpy(), generic.numpy(), atol=1e-10)


def _random_state(batch, n, seed):
    g = torch.Generator().manual_seed(seed)
    psi = torch.randn(batch, 2**n, dtype=torch.complex128, generator=g)
    return psi / psi.norm(dim=1, keepdim=True)


def _random_unitary(d, batch, seed):
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(batch, d, d, dtype=torch.complex128, generator=g))
    return q


@pytest.mark.parametrize("n", [5, 7])
@pytest.mark.parametrize("wires", [(0,), (2,), (0, 1), (1, 2, 3), (3, 4), (0, 2), (1, 3, 4), (0, 1, 2, 3, 4)])
@pytest.mark.parametrize("batch_u", [1, 3])
def test_apply_block_equals_generic_dense(n, wires, batch_u):
    psi = _random_state(3, n, 1)
    u = _random_unitary(2 ** len(wires), batch_u, 2)
    want = kernels.apply_dense(psi.reshape((3,) + (2,) * n), u, [w + 1 for w in wires]).reshape(3, -1)
    got = kernels.apply_block(psi, u, wires, n)
    np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-12)
    out = torch.empty_like(psi)
    got = kernels.apply_block(psi, u, wires, n, out=out)
    np.testing.assert_allclose(out.numpy(), want.numpy(), atol=1e-12)


@pytest.mark.parametrize("wires", [(0,), (4,), (1, 3), (0, 2, 5), (2, 3, 4)])
@pytest.mark.parametrize("inplace", [False, True])
def test_phase_block_equals_generic_diagonal(wires, inplace):
    n = 6
    psi = _random_state(2, n, 3)
    phases = torch.exp(1j * torch.rand(2, 2 ** len(wires), dtype=torch.float64))
    want = kernels.apply_diagonal(psi.reshape((2,) + (2,) * n), phases, [w + 1 for w in wires]).reshape(2, -1)
    got = kernels.apply_phase_block(psi.clone(), phases, wires, n, inplace)
    np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-12)


IN_PLACE_CASES = [
    lambda c: c.x(2),
    lambda c: c.cx(4, 1),
    lambda c: c.mcx([0, 3], 2, control_values=[0, 1]),
    lambda c: c.swap(1, 4),
    lambda c: c.cswap(2, 0, 3),
    lambda c: c.cp(0.7, 3, 0),
    lambda c: c.mcz([1, 2], 4),
    lambda c: c.rzz(0.4, 0, 4),
    lambda c: c.ch(3, 1),
    lambda c: c.ctrl([0, 4], Circuit(2).unitary(np.eye(4)[[1, 3, 0, 2]] * 1j, [0, 1]), wires=[3, 1]),
    lambda c: c.ctrl(2, Circuit(1).global_phase(0.9), wires=[0]),
]


@pytest.mark.parametrize("case", range(len(IN_PLACE_CASES)))
def test_in_place_single_ops_equal_generic(case):
    n = 5
    c = IN_PLACE_CASES[case](Circuit(n))
    init = _random_state(2, n, case)
    tiny = FusionConfig(max_dense=1, max_diagonal=1, small_circuit=0)  # wide ops become single steps
    got = simulate(c, initial_state=init, dtype=torch.complex128, fusion=tiny).vector
    want = simulate(c, initial_state=init, dtype=torch.complex128, fusion=False).vector
    np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-12)
    # The op really took an in-place path: one single step, or one step on a single wire.
    (step,) = compile_plan(c, frozenset(), tiny)
    assert isinstance(step, InstructionStep) or len(step.wires) == 1


def test_initial_state_is_not_modified_in_place():
    init = _random_state(1, 3, 0)[0]
    keep = init.clone()
    simulate(Circuit(3).h(0).cx(0, 1).x(2).swap(0, 2), initial_state=init, dtype=torch.complex128)
    assert torch.equal(init, keep)


def test_plan_is_compiled_once_per_structure(monkeypatch):
    calls = []
    real = fuse._fuse
    monkeypatch.setattr(fuse, "_fuse", lambda *a, **k: calls.append(1) or real(*a, **k))
    theta = Parameter("theta")
    c = Circuit(6)
    for w in range(6):
        c.ry(theta, w).rz(0.1 * w, w)
    c.cx(0, 1).cx(2, 3)
    for value in (0.1, 0.2, torch.tensor(0.3)):
        simulate(c, {"theta": value})
    assert len(calls) == 1  # new numbers, same structure: no re-planning
    simulate(c, {"theta": torch.rand(5)})  # a batched symbol changes which blocks are per-sample
    simulate(c, {"theta": torch.rand(7)})
    assert len(calls) == 2
    c.h(5)  # a new gate is a new structure
    simulate(c, {"theta": 0.1})
    assert len(calls) == 3


def _qft_without_swaps(n: int) -> Circuit:
    """H and controlled phases, written out here so engine tests do not lean on circuits.qft."""
    c = Circuit(n)
    for j in range(n):
        c.h(j)
        for k in range(j + 1, n):
            c.cp(np.pi / 2 ** (k - j), k, j)
    return c


def test_qft_like_circuits_fuse_into_few_passes():
    c = _qft_without_swaps(12)
    steps = compile_plan(c, frozenset(), FusionConfig())
    assert len(steps) < len(c.ops) / 3
    assert any(isinstance(s, PhaseStep) for s in steps)


def test_layered_block_programs_equal_generic_with_gradients():
    """Kronecker layers, composed permutations and per-sample encoders, values and grads."""
    n, batch = 6, 5
    x = torch.rand(batch, n, dtype=torch.float64, requires_grad=True)
    w = torch.rand(2, n, 3, dtype=torch.float64, requires_grad=True)

    def circuit():
        c = Circuit(n)
        for i in range(n):
            c.rx(x[:, i], i)
        for layer in range(2):
            for i in range(n):
                c.rot(w[layer, i, 0], w[layer, i, 1], w[layer, i, 2], i).sdg(i)
            for i in range(n):
                c.cx(i, (i + layer + 1) % n)
            c.swap(0, 3).mcx([1, 2], 4, control_values=[0, 1]).x(5).rzz(w[layer, 0, 0], 1, 4)
        return c

    results = []
    for fusion in (False, FusionConfig(), FusionConfig(max_dense=3, small_circuit=0)):
        s = simulate(circuit(), dtype=torch.complex128, fusion=fusion)
        loss = (s.probs() * torch.arange(2**n, dtype=torch.float64)).sum()
        results.append((s.vector.detach(), torch.autograd.grad(loss, (x, w))))
    for vec, grads in results[1:]:
        np.testing.assert_allclose(vec.numpy(), results[0][0].numpy(), atol=1e-12)
        for a, b in zip(grads, results[0][1]):
            np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-10)
    steps = compile_plan(circuit(), frozenset(range(n)), FusionConfig())
    kinds = {seg.kind for s in steps if isinstance(s, DenseStep) for seg in s.program}
    assert fuse.SegmentKind.LAYER in kinds and fuse.SegmentKind.PERMUTE in kinds


@settings(max_examples=30, deadline=None)
@given(random_programs(max_qubits=6, batch=2), st.integers(0, 63))
def test_product_state_prefix_from_any_basis_state(program, index):
    n, ops = program
    c = Circuit(n)
    for w in range(n):  # a one-wire prefix for the product step to absorb
        c.ry(0.3 + w, w).rz(torch.tensor([0.2, -0.4], dtype=torch.float64), w).sx(w)
    c.compose(build_ours(n, ops))
    index %= 2**n
    fused = simulate(c, initial_state=index, dtype=torch.complex128)
    generic = simulate(c, initial_state=index, dtype=torch.complex128, fusion=False)
    np.testing.assert_allclose(fused.vector.numpy(), generic.vector.numpy(), atol=1e-10)
    steps = compile_plan(c, frozenset(), FusionConfig(), product_start=True)
    assert isinstance(steps[0], ProductStep) and len(steps[0].ops) >= 3 * n


# --- constant blocks: built once per (plan, dtype, device), reused across runs ------------


def _mixed_circuit(theta, phi) -> Circuit:
    """Constant blocks (QFT-like phases, CNOTs, a Toffoli, fixed rotations, a diagonal)
    around blocks that hold the parameters ``theta`` and ``phi``."""
    n = 6
    c = _qft_without_swaps(n)
    c.ry(theta, 2).cx(2, 3).rz(phi, 3).ccx(0, 1, 5).rx(0.7, 4).cx(4, 5)
    c.diagonal(np.exp(1j * np.array([0.1, 0.2, 0.3, 0.4])), [1, 4])
    for w in range(n):
        c.ry(0.2 * w, w)
    c.crz(theta, 0, 5).cx(1, 0).swap(2, 5)
    return c


def _counting_block_operator(monkeypatch) -> list:
    calls = []
    real = operators.block_operator
    monkeypatch.setattr(operators, "block_operator", lambda *a, **k: calls.append(a[0]) or real(*a, **k))
    return calls


def _plan_of(c: Circuit) -> tuple:
    """The plan a default CPU run of ``c`` (batch 1, from |0...0>) compiled."""
    (steps,) = [v for k, v in fuse.cached_plans(c).items() if len(k) == 4 and k[0] == c.version and k[3]]
    return steps


def test_constant_blocks_are_built_once_and_reused(monkeypatch):
    c = _mixed_circuit(0.4, -1.1)  # numbers only: every block is constant
    calls = _counting_block_operator(monkeypatch)
    first = simulate(c, dtype=torch.complex128, device="cpu").vector
    built = len(calls)
    steps = _plan_of(c)
    blocks = [s for s in steps if isinstance(s, DenseStep | PhaseStep)]
    assert built == len(blocks) > 0 and all(s.constant for s in blocks)
    cached = [operators.cached_operators(s)[(torch.complex128, torch.device("cpu"))] for s in blocks]
    second = simulate(c, dtype=torch.complex128, device="cpu").vector
    assert len(calls) == built  # nothing rebuilt
    assert all(operators.cached_operators(s)[(torch.complex128, torch.device("cpu"))] is m for s, m in zip(blocks, cached))
    assert torch.equal(first, second)
    np.testing.assert_allclose(second.numpy(), reference_state(c), atol=1e-12)
    # Autograd runs (twice: build, then reuse) differentiate through cached blocks, and a
    # cached matrix never carries a graph. Closed form: the circuit maps |x> to U|x>, so
    # d|<5|U psi(x)>|^2/dx at psi = cos x|0> + sin x|1> comes from U's first two columns.
    u0, u1 = reference_state(c), reference_state(c, initial=np.eye(64)[1])
    for _ in range(2):
        x = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
        zero = torch.zeros((), dtype=torch.float64)
        init = torch.stack([torch.cos(x), torch.sin(x)] + [zero] * 62).to(torch.complex128)
        tracked = simulate(c, initial_state=init, dtype=torch.complex128, device="cpu").vector
        (grad,) = torch.autograd.grad(tracked.abs().square()[5], x)
        amp = np.cos(0.3) * u0[5] + np.sin(0.3) * u1[5]
        want = 2 * np.real(np.conj(amp) * (-np.sin(0.3) * u0[5] + np.cos(0.3) * u1[5]))
        np.testing.assert_allclose(float(grad), want, atol=1e-12)
    plans = [v for v in fuse.cached_plans(c).values() if isinstance(v, tuple)]
    cached = [m for steps in plans for s in steps for m in operators.cached_operators(s).values() if isinstance(m, torch.Tensor)]
    assert len(plans) == 2 and cached
    assert all(not m.requires_grad and m.grad_fn is None for m in cached)


def test_constant_block_cache_is_per_dtype_and_device(monkeypatch):
    c = _mixed_circuit(0.4, -1.1)
    calls = _counting_block_operator(monkeypatch)
    wide = simulate(c, dtype=torch.complex128, device="cpu").vector
    built = len(calls)
    narrow = simulate(c, dtype=torch.complex64, device="cpu").vector
    assert len(calls) == 2 * built  # the complex128 blocks are not reused for complex64
    assert narrow.dtype == torch.complex64
    steps = _plan_of(c)
    for s in steps:
        if isinstance(s, DenseStep | PhaseStep):
            assert {m.dtype for m in operators.cached_operators(s).values()} == {torch.complex64, torch.complex128}
    np.testing.assert_allclose(narrow.numpy(), wide.numpy(), atol=1e-5)
    # Another device gets its own entry (the meta device stands in where no GPU exists).
    block = next(s for s in steps if isinstance(s, DenseStep))
    values = [[torch.tensor([float(p)], dtype=torch.float64) for p in op.params] for op in c.ops]
    meta = operators.step_operator(block, operators.OpMatrices(c.ops, values, torch.complex128, torch.device("meta")))
    built = operators.cached_operators(block)
    assert meta.device.type == "meta" and len(built) == 3
    assert built[(torch.complex128, torch.device("cpu"))].device.type == "cpu"


def test_rebound_parametrised_circuit_matches_reference():
    c = _mixed_circuit(Parameter("theta"), Parameter("phi"))
    narrow = FusionConfig(small_circuit=0)
    for theta, phi in ((0.4, -1.1), (2.3, 0.5), (0.4, -1.1)):
        # Blocks of at most 4 wires (no whole-width block): constant and parametrised ones mix.
        got = simulate(c, {"theta": theta, "phi": phi}, dtype=torch.complex128, device="cpu", fusion=narrow).vector
        np.testing.assert_allclose(got.numpy(), reference_state(_mixed_circuit(theta, phi)), atol=1e-12)
    steps = _plan_of(c)
    symbolic = {i for i, op in enumerate(c.ops) if any(isinstance(p, ParamExpr) for p in op.params)}
    for s in steps:
        if isinstance(s, ProductStep):  # made afresh each run (one cheap product state)
            continue
        assert s.constant == (not symbolic & set(s.ops))
        if not s.constant:
            assert not operators.cached_operators(s)  # rebuilt from the values of each run, never cached
    assert any(s.constant for s in steps) and any(not s.constant for s in steps)


@pytest.mark.parametrize("diff_method", ["backprop", "adjoint", "parameter-shift"])
def test_gradients_through_constant_and_parametrised_blocks_match_finite_differences(diff_method):
    c = _mixed_circuit(Parameter("theta"), Parameter("phi"))
    obs = pauli_word("ZZ", [0, 3]) + 0.5 * Z(5)
    h = pauli_sum_matrix(obs, c.n_qubits)

    def energy(theta: float, phi: float) -> float:
        psi = reference_state(_mixed_circuit(theta, phi))
        return float(np.real(psi.conj() @ h @ psi))

    point, eps = (0.4, -1.1), 1e-6
    fd = [
        (energy(point[0] + eps, point[1]) - energy(point[0] - eps, point[1])) / (2 * eps),
        (energy(point[0], point[1] + eps) - energy(point[0], point[1] - eps)) / (2 * eps),
    ]
    for _ in range(2):  # the second run takes its constant blocks from the cache
        theta, phi = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in point)
        e = expval(c, obs, {"theta": theta, "phi": phi}, dtype=torch.complex128, device="cpu", diff_method=diff_method)
        np.testing.assert_allclose(float(e.sum().detach()), energy(*point), atol=1e-12)
        grads = torch.autograd.grad(e.sum(), (theta, phi))
        np.testing.assert_allclose([float(gr) for gr in grads], fd, atol=1e-7)


@pytest.mark.parametrize("controlled", [False, True])
@pytest.mark.parametrize("adjoint", [False, True])
def test_large_constant_permutation_keeps_its_gather_index(controlled, adjoint):
    n, k = 13, 12  # tables on 12+ wires are numpy arrays: inverted once per plan
    table = np.random.default_rng(3).permutation(2**k)
    inner = Circuit(k).permutation(table, list(range(k)))
    c = Circuit(n).h(0)
    if controlled:
        c.ctrl(0, inner.inverse() if adjoint else inner, wires=list(range(1, n)))
    else:
        c.compose(inner.inverse() if adjoint else inner, wires=list(range(1, n)))
    psi0 = _random_state(2, n, 7)
    runs = [simulate(c, initial_state=psi0, dtype=torch.complex128, device="cpu").vector for _ in range(2)]
    # Independent: |x> -> |table[x]> on wires 1..12 (inverse table for the adjoint).
    h = np.kron(np.array([[1, 1], [1, -1]]) / np.sqrt(2), np.eye(2**k))
    moved = np.asarray(psi0.numpy() @ h.T)  # (B, 2**n) after H on wire 0
    want = moved.copy()
    forward = np.argsort(table) if adjoint else table
    for half in ((1,) if controlled else (0, 1)):
        block = moved[:, half * 2**k : (half + 1) * 2**k]
        out = np.empty_like(block)
        out[:, forward] = block
        want[:, half * 2**k : (half + 1) * 2**k] = out
    for got in runs:
        np.testing.assert_allclose(got.numpy(), want, atol=1e-12)
    steps = next(v for v in fuse.cached_plans(c).values() if isinstance(v, tuple))
    cached = [m for s in steps if isinstance(s, InstructionStep) for m in operators.cached_operators(s).values()]
    assert any(isinstance(m, kernels.PermutationIndex) for m in cached)


def test_gradients_survive_a_constant_block_built_first():
    """The run's gate matrices are built together on first need; when that need comes from
    a constant block (built without autograd), the varying gates must still carry their graph."""
    x = torch.tensor([0.3, -0.8, 1.9], dtype=torch.float64, requires_grad=True)
    c = Circuit(6).cz(0, 1).h(0).crx(x, 0, 2)  # a constant block first, then a batched gate alone
    out = expval(c, Z(2), dtype=torch.complex128)
    (grad,) = torch.autograd.grad(out.sum(), x)
    # Closed form: CZ does nothing on |00>, H makes wire 0 |+>, CRX(x): <Z2> = 1/2 + cos(x)/2.
    np.testing.assert_allclose(out.detach().numpy(), 0.5 + 0.5 * np.cos(x.detach().numpy()), atol=1e-12)
    np.testing.assert_allclose(grad.numpy(), -0.5 * np.sin(x.detach().numpy()), atol=1e-12)



def test_a_lone_permutation_gate_runs_in_place_not_as_a_block():
    c = Circuit(8).h(0).h(3).cx(0, 3)  # from a basis state: the H's make a product state
    for w in range(4, 8):
        c.ry(0.1 * w, w)
    c.cx(4, 7).cx(0, 3)
    values = [[torch.tensor([float(p)]) for p in op.params] for op in c.ops]
    steps = fuse.plan_for(c, values, FusionConfig(max_dense=4, small_circuit=0), 1, True)
    lone = [s for s in steps if isinstance(s, InstructionStep) and c.ops[s.op].name == "cx"]
    assert lone, steps
    assert not any(isinstance(s, DenseStep) and len(s.ops) == 1 and c.ops[s.ops[0]].name == "cx" for s in steps)
    got = simulate(c, dtype=torch.complex128, fusion=FusionConfig(max_dense=4, small_circuit=0)).vector
    np.testing.assert_allclose(got.numpy(), reference_state(c), atol=1e-12)
