"""Run by ``torchrun`` from ``test_distributed.py``: many checks per launch (a launch costs
seconds), each rank comparing the sharded engine with one process; rank 0 writes a JSON
report of every check to the path in argv[1]."""

from __future__ import annotations

import json
import sys
import traceback

import numpy as np
import torch
import torch.distributed as dist

from hybrid import Circuit, X, Y, Z, expval, simulate
from hybrid.sim.fuse import FusionConfig
from hybrid.sim.sharded_run import simulate_distributed

from tests.shard_cases import GATES, random_circuit, tensor_params

C128 = torch.complex128


def gathered(state):
    return state.gather()


def check_random_circuits():
    worst = 0.0
    for seed in range(8):
        n = 8 + seed % 5  # 8..12 qubits
        c, params = random_circuit(n, 80, seed)
        want = simulate(c, params, dtype=C128).vector
        got = simulate_distributed(c, params, dtype=C128, chunk=2 ** (4 + seed % 6),
                                   fusion=FusionConfig(max_dense=2 + seed % 3))  # fmt: skip
        full = got.gather()
        local = got.local_vector
        nl = n - (dist.get_world_size().bit_length() - 1)
        r = dist.get_rank()
        worst = max(worst, (full - want).abs().max().item(), (local - want[r * 2**nl : (r + 1) * 2**nl]).abs().max().item())
    return worst < 1e-10, worst


def check_gate_kinds():
    n, worst, failed = 7, 0.0, []
    rng = np.random.default_rng(2)
    for name, (width, build) in GATES.items():
        places = [tuple(range(width)), tuple(range(n - width, n)), tuple(int(w) for w in rng.permutation(n)[:width])]
        for wires in places:
            c = Circuit(n)
            for w in range(n):
                c.ry(0.2 + 0.1 * w, w)
            build(c, list(wires), 0.61, np.random.default_rng(5))
            err = (simulate(c, dtype=C128, distributed=True).gather() - simulate(c, dtype=C128).vector).abs().max().item()
            worst = max(worst, err)
            if err > 1e-10:
                failed.append((name, wires))
    return not failed, {"worst": worst, "failed": failed}


def check_readouts():
    c, params = random_circuit(10, 60, 3)
    one = simulate(c, params, dtype=C128)
    st = simulate(c, params, dtype=C128, distributed=True)
    obs = [Z(0) @ Z(9), X(0) @ Y(1) + 0.5 * Z(2), Y(5) @ X(1), X(3)]
    ev = max((st.expval(o) - one.expval(o)).abs().item() for o in obs)
    pr = (st.probs([1, 0, 7]) - one.probs([1, 0, 7])).abs().max().item()
    same_samples = torch.equal(st.sample(500, seed=9), one.sample(500, seed=9))
    same_counts = st.counts(300, wires=[0, 5], seed=4) == one.counts(300, wires=[0, 5], seed=4)
    rho = (st.density_matrix([0, 9]) - one.density_matrix([0, 9])).abs().max().item()
    # identical on every rank
    mine = torch.cat([st.expval(obs[1]).reshape(1), st.sample(20, seed=1).reshape(-1).double()])
    ref = mine.clone()
    dist.broadcast(ref, 0)
    return (ev < 1e-10 and pr < 1e-10 and rho < 1e-10 and same_samples and same_counts and torch.equal(mine, ref),
            {"expval": ev, "probs": pr, "rho": rho, "samples": same_samples, "counts": same_counts})  # fmt: skip


def _grads(c, values, obs, method, distributed):
    p = tensor_params(values, grad=True)
    out = expval(c, obs, p, dtype=C128, diff_method=method, distributed=distributed)
    (out * torch.arange(1, len(obs) + 1)).sum().backward()
    return out.detach(), torch.stack([p[k].grad for k in values])


def check_gradients():
    worst = {}
    for seed in range(3):
        c, values = random_circuit(9, 50, 40 + seed)
        obs = [Z(0) @ X(8) + 0.3 * Y(1), Z(2), X(0)]
        ref_out, ref_grad = _grads(c, values, obs, "adjoint", False)
        for method in ("backprop", "adjoint"):
            out, grad = _grads(c, values, obs, method, True)
            err = max((out - ref_out).abs().max().item(), (grad - ref_grad).abs().max().item())
            worst[method] = max(worst.get(method, 0.0), err)
    return all(v < 1e-9 for v in worst.values()), worst


def check_batched():
    c, values = random_circuit(8, 40, 7)
    batch = {k: torch.tensor([v, -v, v / 3], dtype=torch.float64) for k, v in values.items()}
    want = simulate(c, batch, dtype=C128).vector
    got = simulate(c, batch, dtype=C128, distributed=True).gather()
    err = (got - want).abs().max().item()
    return err < 1e-10, err


def check_refusals():
    c = Circuit(4)
    c.h(0)
    msgs = {}
    for what, fn in {
        "block width": lambda: simulate(c, distributed=True),
        "gather too big": lambda: simulate(Circuit(40), distributed=True, fusion=False).gather(),
        "vector": lambda: simulate(Circuit(8), distributed=True).vector,
    }.items():
        try:
            fn()
            msgs[what] = None
        except Exception as e:  # noqa: BLE001
            msgs[what] = f"{type(e).__name__}: {e}"
    ok = msgs["block width"] and "fused block width" in msgs["block width"]
    ok = ok and msgs["gather too big"] and "MemoryLimitError" in msgs["gather too big"]
    ok = ok and msgs["vector"] and "local_vector" in msgs["vector"]
    return bool(ok), msgs


CHECKS = [check_random_circuits, check_gate_kinds, check_readouts, check_gradients, check_batched]


def main() -> None:
    out, which = sys.argv[1], sys.argv[2:] or [f.__name__ for f in CHECKS]
    report = {}
    for name in which:
        fn = globals()[name]
        try:
            ok, detail = fn()
        except Exception:  # noqa: BLE001 - reported to the test
            ok, detail = False, traceback.format_exc()
        report[name] = {"ok": bool(ok), "detail": detail}
    if dist.is_initialized():
        everyone = [None] * dist.get_world_size()
        dist.all_gather_object(everyone, report)
        if dist.get_rank() == 0:
            with open(out, "w") as f:
                json.dump({"world": dist.get_world_size(), "ranks": everyone}, f, default=str)
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
