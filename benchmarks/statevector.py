"""Suite (a): final statevectors of QFT(n) and a random layered circuit.

Engines: ours in complex64 and complex128, PennyLane default.qubit and lightning.qubit,
Qiskit Aer (statevector method, default options, fusion on). Each case also gets the
bandwidth floor: every gate is one pass that reads and writes the whole state.
"""

from __future__ import annotations

import numpy as np
import torch

from . import anchors, ours
from .circuits import qft_gates, random_layered_gates, to_hybrid
from .runner import Context, finish_case, is_anchor, new_case, predict, run_engine
from .timing import floor_seconds

__all__ = ["run", "CASES"]

SUITE = "statevector"
CASES = {"qft": qft_gates, "random_layered": random_layered_gates}
OURS = {"ours_c64": torch.complex64, "ours_c128": torch.complex128}
ANCHORS = ("default.qubit", "lightning.qubit", "aer")
REFERENCE = "ours_c128"  # every other engine's state is compared with this one


def run(ctx: Context, sizes: list[int]) -> None:
    for case, build in CASES.items():
        for n in sizes:
            key, old = new_case(ctx, SUITE, case, n)
            if old is None:
                run_case(ctx, key, case, n, build(n))


def run_case(ctx: Context, key: str, case: str, n: int, gates) -> dict:
    engines: dict[str, dict] = {}
    reference: dict[str, np.ndarray] = {}
    aer_fusion: dict = {}

    def compare(name: str):
        def check(out) -> dict:
            vec = _as_numpy(name, out, n, aer_fusion)
            if name == REFERENCE:
                reference["vec"] = vec
                return {"reference": REFERENCE}
            if "vec" not in reference:
                return {"reference": None}
            diff = float(np.max(np.abs(vec - reference["vec"])))
            tol = 1e-4 if name == "ours_c64" else 1e-8
            return {"reference": REFERENCE, "max_abs_diff": diff, "tol": tol, "passed": diff <= tol}

        return check

    circuit = to_hybrid(n, gates)
    for name, dtype in sorted(OURS.items(), key=lambda kv: kv[0] != REFERENCE):  # reference first
        engines[name], _ = run_engine(
            ctx,
            f"{name}",
            lambda dtype=dtype: ours.state_fn(circuit, dtype, ctx.device),
            sync_device=ctx.device,
            predicted=predict(ctx, SUITE, case, name, n),
            check=compare(name),
        )
    for name in ANCHORS:
        make = (lambda: anchors.aer_state_fn(n, gates)) if name == "aer" else (
            lambda name=name: anchors.pennylane_state_fn(name, n, gates)
        )
        engines[name], _ = run_engine(
            ctx, name, make, predicted=predict(ctx, SUITE, case, name, n), check=compare(name)
        )
    if aer_fusion and "median_s" in engines.get("aer", {}):
        engines["aer"]["fusion"] = aer_fusion
    reference.clear()
    return finish_case(ctx, key, SUITE, case, n, engines, n_gates=len(gates), **_floors(ctx, n, len(gates), engines))


def _as_numpy(name: str, out, n: int, aer_fusion: dict) -> np.ndarray:
    if name == "aer":
        vec, fusion = anchors.aer_unpack(out, n)
        aer_fusion.update(fusion)
        return vec
    if isinstance(out, torch.Tensor):
        return out.detach().cpu().numpy().astype(np.complex128)
    return np.asarray(out, dtype=np.complex128)


def _floors(ctx: Context, n: int, n_gates: int, engines: dict) -> dict:
    """Bandwidth floors per dtype and each engine's time as a multiple of its floor."""
    gbps, cpu_gbps = ctx.bandwidth["GBps"], ctx.cpu_bandwidth["GBps"]
    floor = {
        "complex64": floor_seconds(n, n_gates, 8, gbps),
        "complex128": floor_seconds(n, n_gates, 16, gbps),
    }
    anchor_floor = floor_seconds(n, n_gates, 16, cpu_gbps)  # the anchors run complex128 on the CPU
    multiple = {}
    for name, rec in engines.items():
        if "median_s" not in rec:
            continue
        f = anchor_floor if is_anchor(name) else floor["complex64" if name.endswith("c64") else "complex128"]
        multiple[name] = rec["median_s"] / f
    return {
        "bandwidth_GBps": gbps,
        "floor_s": floor,
        "anchor_floor_s": anchor_floor,
        "floor_multiple": multiple,
    }
