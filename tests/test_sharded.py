"""Sharded statevector, in one process (fast).

* The swap scheduler, exhaustively: the schedule runs on a full vector where a swap is a
  transpose of two index bits (DESIGN §10's stand-in for the all-to-all), against the
  dense result, with every non-diagonal gate checked to have local targets.
* The whole sharded path (plans, chunked exchanges, sliced phases, readouts, adjoint), with
  2 and 4 ranks as threads of this process (``shard_threads``) against one process.
The same checks with real gloo process groups are in ``test_distributed.py``.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from hybrid import Circuit, X, Y, Z, expval, simulate
from hybrid.sim import gates as g
from hybrid.sim.fuse import FusionConfig
from hybrid.sim.operators import op_matrix, resolve_values
from hybrid.sim.params import bind_parameters
from hybrid.sim.schedule import Swap, restore_swaps, schedule
from hybrid.sim.sharded_run import expval_distributed, simulate_distributed
from hybrid.sim.statevector import StateVector

from .shard_cases import random_circuit, tensor_params
from .shard_threads import run_ranks

C128 = torch.complex128


# --- the scheduler against transposes ---------------------------------------------------------


def _run_schedule(circuit: Circuit, params: dict, k: int) -> tuple[torch.Tensor, int]:
    """The circuit through its schedule on a full vector kept in physical order (a swap is
    a transpose of two index bits); returns the logical state and the swapped bits."""
    n = circuit.n_qubits
    items, where = schedule(circuit.ops, n, k)
    values = resolve_values(circuit, bind_parameters(circuit.parameters, params), torch.float64, torch.device("cpu"))
    psi = torch.zeros((1, 2**n), dtype=C128)
    psi[0, 0] = 1
    state = StateVector(psi, n)
    moved = 0
    for item in items:
        if isinstance(item, Swap):
            grid = state.tensor.view(1, *(2,) * n)
            axes = list(range(n + 1))
            for a, b in item.pairs:
                assert a < k <= b
                axes[a + 1], axes[b + 1] = axes[b + 1], axes[a + 1]
            state = StateVector(grid.permute(axes).reshape(1, -1).contiguous(), n)
            moved += len(item.pairs)
            continue
        op = item.physical
        if op.gate.kind is not g.Kind.DIAGONAL and op.gate is not g.SWAP:
            assert all(w >= k for w in op.wires), f"{op.name} runs with a global target"
        m = op_matrix(circuit.ops[item.index], values[item.index], C128, torch.device("cpu"))
        state.apply(op.gate.kind, m, op.wires, op.controls, op.control_values)
    # physical -> logical: logical wire q sits at axis where[q]
    grid = state.tensor.view(1, *(2,) * n)
    logical = grid.permute(0, *(1 + where[q] for q in range(n))).reshape(-1)
    return logical, moved


def _alphabet(n: int):
    out = []
    for w in range(n):
        out += [("h", (w,)), ("rz", (w,))]
    for a, b in itertools.permutations(range(n), 2):
        out += [("cx", (a, b)), ("swap", (a, b))] if a < b else [("cx", (a, b))]
    out.append(("cz", (0, n - 1)))
    out.append(("ccx", (0, 1, n - 1)))
    return out


def _build(n: int, gates_) -> Circuit:
    c = Circuit(n)
    for name, wires in gates_:
        if name == "rz":
            c.rz(0.37, *wires)
        elif name == "ccx":
            c.ccx(*wires)
        else:
            getattr(c, name)(*wires)
    return c


@pytest.mark.parametrize(
    "k,length", [(1, 2), (2, 2), pytest.param(1, 3, marks=pytest.mark.slow), pytest.param(2, 3, marks=pytest.mark.slow)]
)
def test_scheduler_every_short_circuit_on_four_wires(k, length):
    """Every circuit of ``length`` gates from {H, RZ, CX, SWAP, CZ, CCX} on 4 wires
    (784 of two gates, 21 952 of three: those marked slow)."""
    n = 4
    alphabet = _alphabet(n)
    count = 0
    for gates_ in itertools.product(alphabet, repeat=length):
        c = _build(n, gates_)
        got, _ = _run_schedule(c, {}, k)
        want = simulate(c, dtype=C128).vector
        assert torch.allclose(got, want, atol=1e-12), gates_
        count += 1
    assert count == len(alphabet) ** length


@pytest.mark.parametrize("n,k", [(5, 1), (5, 2), (6, 3), (7, 2)])
def test_scheduler_random_circuits_every_gate_kind(n, k):
    for seed in range(40):
        c, params = random_circuit(n, 30, seed)
        got, _ = _run_schedule(c, params, k)
        want = simulate(c, params, dtype=C128).vector
        assert torch.allclose(got, want, atol=1e-10), seed


def test_scheduler_groups_gates_per_exchange_and_swaps_lazily():
    """A layer of H on every wire of 8 with 2 global wires: one exchange of both bits (not
    one per gate, and none back); diagonal gates on global wires need none."""
    n, k = 8, 2
    c = Circuit(n)
    for w in range(n):
        c.rz(0.3, w)
    c.cz(0, 1)
    items, _ = schedule(c.ops, n, k)
    assert not any(isinstance(i, Swap) for i in items)
    for w in range(n):
        c.h(w)
    for w in range(n):
        c.h(w)
    items, _ = schedule(c.ops, n, k)
    swaps = [i for i in items if isinstance(i, Swap)]
    assert len(swaps) == 1 and len(swaps[0].pairs) == 2


def test_swap_gates_only_relabel():
    c = Circuit(6)
    for a in range(3):
        c.swap(a, 5 - a)
    items, where = schedule(c.ops, 6, 2)
    assert items == () and where == (5, 4, 3, 2, 1, 0)


def test_restore_swaps_return_every_map_to_the_identity():
    rng = np.random.default_rng(0)
    for n, k in [(4, 1), (5, 2), (6, 3), (7, 3)]:
        for _ in range(200):
            where = [int(x) for x in rng.permutation(n)]
            swaps, final = restore_swaps(where, n, k)
            assert len(swaps) <= 2
            assert final[:k] == tuple(range(k))
            assert sorted(final[k:]) == list(range(k, n))


# --- the whole sharded path, ranks as threads -------------------------------------------------


def _sharded(c, params, size, *, chunk=16, fusion=True, read=None):
    def body(ex):
        st = simulate_distributed(c, params, dtype=C128, exchange=ex, chunk=chunk, fusion=fusion)
        return read(st) if read else st.local_vector

    return run_ranks(size, body)


@pytest.mark.parametrize("size", [2, 4])
def test_random_circuits_match_one_process(size):
    for seed in range(12):
        n = 6 + seed % 3
        c, params = random_circuit(n, 50, seed)
        want = simulate(c, params, dtype=C128).vector
        fusion = FusionConfig(max_dense=2 + seed % 3)
        got = torch.cat(_sharded(c, params, size, chunk=2 ** (seed % 5 + 1), fusion=fusion))
        assert (got - want).abs().max() < 1e-10, seed


@pytest.mark.parametrize("size", [2, 4])
def test_every_gate_kind_on_global_local_and_mixed_wires(size):
    from .shard_cases import GATES

    n = 6
    rng = np.random.default_rng(1)
    for name, (width, build) in GATES.items():
        placements = [tuple(range(width)), tuple(range(n - width, n)), tuple(int(w) for w in rng.permutation(n)[:width])]
        placements.append(tuple(sorted({0, n - 1} | set(range(1, width - 1)))) if width >= 2 else (n - 1,))
        for wires in placements:
            c = Circuit(n)
            for w in range(n):
                c.ry(0.3 + 0.1 * w, w)  # a generic state, so every gate changes something
            build(c, list(wires), 0.83, np.random.default_rng(7))
            want = simulate(c, dtype=C128).vector
            got = torch.cat(_sharded(c, {}, size, chunk=8))
            assert (got - want).abs().max() < 1e-10, (name, wires)


def test_readouts_are_global_and_equal_one_process():
    c, params = random_circuit(7, 40, 3)
    one = simulate(c, params, dtype=C128)
    obs = [Z(0) @ Z(6), X(0) @ Y(1) + 0.5 * Z(2), Y(5) @ X(1), X(3)]

    def read(st):
        return (st.probs([1, 0, 5]), st.statevector.expvals(obs), st.sample(200, seed=11),
                st.sample(50, wires=[2, 0], seed=3), st.density_matrix([0, 4]), st.gather(), st.counts(64, seed=5))

    for size in (2, 4):
        for probs, ev, samples, part, rho, full, counts in _sharded(c, params, size, read=read):
            assert torch.allclose(probs, one.probs([1, 0, 5]), atol=1e-12)
            want = torch.stack([one.expval(o) for o in obs])
            assert torch.allclose(ev[0], want, atol=1e-12)
            assert torch.equal(samples, one.sample(200, seed=11))
            assert torch.equal(part, one.sample(50, wires=[2, 0], seed=3))
            assert torch.allclose(rho, one.density_matrix([0, 4]), atol=1e-12)
            assert torch.allclose(full, one.vector, atol=1e-12)
            assert counts == one.counts(64, seed=5)


def test_batched_parameters_and_initial_state():
    c, params = random_circuit(6, 30, 5)
    batch = {k: torch.tensor([v, v / 2, -v], dtype=torch.float64) for k, v in params.items()}
    init = torch.randn(3, 64, dtype=C128)
    init = init / init.norm(dim=1, keepdim=True)
    want = simulate(c, batch, dtype=C128, initial_state=init).vector

    def body(ex):
        return simulate_distributed(c, batch, initial_state=init, dtype=C128, exchange=ex, chunk=32).local_vector

    got = torch.cat(run_ranks(4, body), dim=1)
    assert (got - want).abs().max() < 1e-10


@pytest.mark.parametrize("size", [2, 4])
def test_adjoint_gradients_equal_one_process(size):
    for seed in range(4):
        c, values = random_circuit(6, 30, seed + 20)
        obs = (Z(0) @ X(5) + 0.3 * Y(1), Z(2))
        ref_params = tensor_params(values, grad=True)
        ref = expval(c, list(obs), ref_params, dtype=C128, diff_method="adjoint")
        ref.sum().backward()
        want = torch.stack([ref_params[k].grad for k in values])

        def body(ex):
            p = tensor_params(values, grad=True)
            out, _ = expval_distributed(c, obs, p, initial_state=None, dtype=C128, device="cpu", diff_method="adjoint",
                                        fusion=True, chunk=16, exchange=ex)  # fmt: skip
            out.sum().backward()
            return out.detach()[0], torch.stack([p[k].grad for k in values])

        for out, grad in run_ranks(size, body):
            assert torch.allclose(out, ref.detach(), atol=1e-10)
            assert torch.allclose(grad, want, atol=1e-9), seed


def test_refusals():
    c = Circuit(6)
    c.h(0)
    with pytest.raises(ValueError, match="power-of-two"):
        run_ranks(3, lambda ex: simulate_distributed(c, exchange=ex))
    with pytest.raises(ValueError, match="fused block width"):
        run_ranks(4, lambda ex: simulate_distributed(c, exchange=ex, fusion=FusionConfig(max_dense=5)))
    m = Circuit(6)
    m.h(0)
    m.measure(0, 0)
    with pytest.raises(ValueError, match="not supported on a sharded state"):
        run_ranks(2, lambda ex: simulate_distributed(m, exchange=ex))
    with pytest.raises(ValueError, match="spread over 2 processes"):
        run_ranks(2, lambda ex: simulate_distributed(c, exchange=ex).vector)


def test_info_reports_the_distributed_setting(monkeypatch):
    from hybrid.cli import run_info

    for var in ("WORLD_SIZE", "RANK", "MASTER_ADDR"):
        monkeypatch.delenv(var, raising=False)
    assert run_info()["distributed"] == {"launched": False}
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("RANK", "2")
    d = run_info()["distributed"]
    assert d["launched"] and d["world_size"] == 4 and d["rank"] == 2 and d["extra_qubits"] == 2
