"""Suite (b): forward + gradient of <sum Z_i> after 2 StronglyEntanglingLayers.

Ours builds the template by hand (:func:`benchmarks.circuits.sel_hybrid`); before timing,
every engine's value and gradient are checked against default.qubit's backprop result
on the same weights, and the check is stored with the timing.
"""

from __future__ import annotations

import numpy as np
import torch

from . import anchors, ours
from .runner import Context, finish_case, new_case, run_engine

__all__ = ["run"]

SUITE = "gradients"
CASE = "sel2_sum_z"
LAYERS = 2
OURS = {
    "ours_backprop_c64": ("backprop", torch.complex64),
    "ours_backprop_c128": ("backprop", torch.complex128),
    "ours_adjoint_c64": ("adjoint", torch.complex64),
    "ours_adjoint_c128": ("adjoint", torch.complex128),
}
ANCHORS = {
    "default.qubit_backprop": ("default.qubit", "backprop"),
    "lightning.qubit_adjoint": ("lightning.qubit", "adjoint"),
}
TOL = {"complex64": 1e-4, "complex128": 1e-6, "lightning": 1e-5}  # lightning's torch results are float32


def sel_weights(n: int, layers: int = LAYERS, seed: int = 7) -> np.ndarray:
    return np.random.default_rng(seed + n).uniform(0, 2 * np.pi, size=(layers, n, 3))


def time_engines(ctx: Context, ours_fn, anchors: dict, compare) -> dict[str, dict]:
    """Time our four variants (``ours_fn(method, dtype)`` builds each call) and the anchors
    (``{name: (device name, builder)}``), each checked by ``compare(tol)``."""
    engines: dict[str, dict] = {}
    for name, (method, dtype) in OURS.items():
        tol = TOL["complex64" if dtype == torch.complex64 else "complex128"]
        engines[name], _ = run_engine(
            ctx, name, lambda m=method, d=dtype: ours_fn(m, d), sync_device=ctx.device, check=compare(tol)
        )
    for name, (device_name, build) in anchors.items():
        tol = TOL["lightning" if device_name.startswith("lightning") else "complex128"]
        engines[name], _ = run_engine(ctx, name, build, check=compare(tol))
    return engines


def run(ctx: Context, sizes: list[int]) -> None:
    for n in sizes:
        key, old = new_case(ctx, SUITE, CASE, n)
        if old is None:
            run_case(ctx, key, n)


def pennylane_grad_fn(device_name: str, diff_method: str, weights: np.ndarray, **device_kwargs):
    """``fn() -> (value, dE/dweights)`` through a torch-interface QNode on ``device_name``:
    a float64 weights tensor that requires grad, the QNode call and ``torch.autograd.grad``."""
    qnode = anchors.pennylane_sel_qnode(device_name, diff_method, weights.shape[1], **device_kwargs)
    w = torch.tensor(weights, dtype=torch.float64, requires_grad=True)

    def fn():
        value = qnode(w)
        (grad,) = torch.autograd.grad(value, [w])
        return float(value.detach()), grad.detach().numpy().astype(np.float64)

    return fn


def value_grad_check(out, ref, reference: str, tol: float) -> dict:
    """The check record of a ``(value, gradient)`` result against a reference pair."""
    (value, grad), (ref_value, ref_grad) = out, ref
    dv, dg = abs(value - ref_value), float(np.max(np.abs(grad - ref_grad)))
    return {
        "reference": reference,
        "value": value,
        "value_abs_diff": dv,
        "grad_max_abs_diff": dg,
        "tol": tol,
        "passed": dv <= tol and dg <= tol,
    }


def run_case(ctx: Context, key: str, n: int) -> dict:
    weights = sel_weights(n)
    try:
        ref_value, ref_grad = pennylane_grad_fn("default.qubit", "backprop", weights)()
    except Exception as exc:  # noqa: BLE001 - without a reference, engines run unchecked
        print(f"  reference (default.qubit) failed: {exc}", flush=True)
        ref_value, ref_grad = None, None

    def compare(tol: float):
        def check(out) -> dict:
            if ref_value is None:
                return {"reference": None}
            return value_grad_check(out, (ref_value, ref_grad), "default.qubit_backprop", tol)

        return check

    engines = time_engines(
        ctx,
        lambda method, dtype: ours.sel_grad_fn(weights, dtype, ctx.device, method),
        {name: (device_name, lambda d=device_name, m=method: pennylane_grad_fn(d, m, weights))
         for name, (device_name, method) in ANCHORS.items()},
        compare,
    )  # fmt: skip
    return finish_case(
        ctx, key, SUITE, CASE, n, engines, layers=LAYERS, observable="sum_i Z_i", reference_value=ref_value,
    )
