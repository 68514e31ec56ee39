"""Suite ``device``: what a PennyLane user waits for on ``qml.device("hybrid.qubit")``.

The same QNode — ``qml.StronglyEntanglingLayers`` with 2 layers on n wires, then
``qml.expval(Z(0) + ... + Z(n-1))`` — runs on hybrid.qubit, lightning.qubit and
default.qubit in this process, three ways:

- ``sel2_forward``: ``diff_method=None``, numpy float64 weights; the timed call is the
  QNode call (tape construction, the device's preprocessing, execution, the result).
- ``sel2_adjoint``: ``diff_method="adjoint"``, torch interface: a float64 weights tensor
  that requires grad; the timed call is the QNode call plus ``torch.autograd.grad`` of the
  value (the backward pass that ``.backward()`` runs, without accumulating into ``.grad``).
- ``sel2_param_shift``: as ``sel2_adjoint`` with ``diff_method="parameter-shift"``.

hybrid.qubit runs in complex128 (its default) on ``--device``; the anchors run on the CPU.
Before timing, every engine's value (and gradient) is checked against default.qubit
(``diff_method=None`` for the forward case, backprop for the gradients), so a fast wrong
answer shows as a failed check.
"""

from __future__ import annotations

import numpy as np

from . import anchors
from .gradients import LAYERS, TOL, pennylane_grad_fn, sel_weights, value_grad_check
from .runner import Context, finish_case, new_case, run_engine, say

__all__ = ["SUITE", "CASES", "KINDS", "QUICK", "DEFAULT", "FULL", "OURS", "ANCHORS", "run"]

SUITE = "device"
KINDS = ("forward", "adjoint", "shift")
CASES = {"forward": "sel2_forward", "adjoint": "sel2_adjoint", "shift": "sel2_param_shift"}
DIFF_METHOD = {"forward": None, "adjoint": "adjoint", "shift": "parameter-shift"}
INTERFACE = {"forward": "numpy", "adjoint": "torch", "shift": "torch"}
OURS = "ours_hybrid.qubit"
ANCHORS = ("lightning.qubit", "default.qubit")

# default.qubit's adjoint method applies the observable as a dense 2**n x 2**n matrix
# (PennyLane 0.45): 64 GiB at 16 qubits. Above this it is skipped, not run into a MemoryError.
DEFAULT_QUBIT_ADJOINT_MAX = 14
_DEFAULT_ADJOINT_SKIP = (
    "default.qubit's adjoint method builds the observable's dense matrix ({gib:.0f} GiB at {n} qubits); "
    "skipped above 14 qubits"
)

# Qubit counts per kind. The default preset keeps `hybrid bench` short on 2 cores.
QUICK = {"forward": (4, 8), "adjoint": (8,), "shift": (4,)}
DEFAULT = {"forward": (4, 8, 12), "adjoint": (8, 12), "shift": (4,)}
FULL = {"forward": (4, 8, 12, 16, 20), "adjoint": (8, 10, 12, 14, 16, 18), "shift": (4, 6, 8, 10)}


def run(ctx: Context, kind: str, sizes) -> None:
    """Run (or resume) the ``kind`` case at each qubit count in ``sizes``."""
    for n in sizes:
        key, old = new_case(ctx, SUITE, CASES[kind], n)
        if old is None:
            run_case(ctx, key, kind, n)


def forward_fn(device_name: str, weights: np.ndarray, **device_kwargs):
    """``fn() -> value``: the QNode called on numpy weights, no gradient (``diff_method=None``)."""
    qnode = anchors.pennylane_sel_qnode(device_name, None, weights.shape[1], interface="auto", **device_kwargs)
    w = np.array(weights, dtype=np.float64)
    return lambda: float(qnode(w))


def _make(kind: str, weights: np.ndarray):
    if kind == "forward":
        return lambda device_name, **kw: forward_fn(device_name, weights, **kw)
    return lambda device_name, **kw: pennylane_grad_fn(device_name, DIFF_METHOD[kind], weights, **kw)


def _reference(kind: str, weights: np.ndarray):
    """default.qubit's value (forward) or (value, gradient) by backprop; None if it fails."""
    try:
        if kind == "forward":
            return "default.qubit", forward_fn("default.qubit", weights)()
        return "default.qubit_backprop", pennylane_grad_fn("default.qubit", "backprop", weights)()
    except Exception as exc:  # noqa: BLE001 - without a reference, engines run unchecked
        say(f"  reference (default.qubit) failed: {type(exc).__name__}: {exc}")
        return None, None


def _compare(kind: str, ref_name: str | None, ref, tol: float):
    def check(out) -> dict:
        if ref is None:
            return {"reference": None}
        if kind == "forward":
            dv = abs(out - ref)
            return {"reference": ref_name, "value": out, "value_abs_diff": dv, "tol": tol, "passed": dv <= tol}
        return value_grad_check(out, ref, ref_name, tol)

    return check


def run_case(ctx: Context, key: str, kind: str, n: int) -> dict:
    weights = sel_weights(n)
    make = _make(kind, weights)
    ref_name, ref = _reference(kind, weights)
    engines: dict[str, dict] = {}
    engines[OURS], _ = run_engine(
        ctx,
        OURS,
        lambda: make("hybrid.qubit", device=ctx.device.type),
        sync_device=ctx.device,
        check=_compare(kind, ref_name, ref, TOL["complex128"]),
    )
    for name in ANCHORS:
        if name == "default.qubit" and kind == "adjoint" and n > DEFAULT_QUBIT_ADJOINT_MAX:
            engines[name] = {"skipped": _DEFAULT_ADJOINT_SKIP.format(n=n, gib=2 ** (2 * n) * 16 / 2**30)}
            continue
        # lightning's torch results come back in float32 (see benchmarks.gradients.TOL)
        tol = TOL["lightning" if name.startswith("lightning") else "complex128"]
        engines[name], _ = run_engine(ctx, name, lambda d=name: make(d), check=_compare(kind, ref_name, ref, tol))
    reference_value = None if ref is None else ref if kind == "forward" else ref[0]
    return finish_case(
        ctx, key, SUITE, CASES[kind], n, engines,
        diff_method=DIFF_METHOD[kind] or "none", interface=INTERFACE[kind], layers=LAYERS,
        observable="sum_i Z_i", dtype="complex128", reference_value=reference_value,
    )  # fmt: skip
