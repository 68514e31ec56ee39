"""Suite (c): a batched quantum layer, forward + backward.

RX(x_i) on wire i (angle embedding), then 2 StronglyEntanglingLayers, outputs <Z_i>;
the loss is the sum of all outputs over a batch of 256, differentiated with respect to
the inputs and the weights. Ours is ``hybrid.layers.QuantumLayer`` (built once; each call
binds every input symbol to a length-256 tensor, one value per sample, and runs the batch
at once); the anchors are qml.qnn.TorchLayer and, when ``torchquantum`` imports,
the same layer written in TorchQuantum (complex64). TorchQuantum pins its own torch, so it
is usually not installed next to this project: then its slot is recorded as skipped with
the reason, which is neither an error nor a failed check.
"""

from __future__ import annotations

import numpy as np
import torch

from . import anchors, ours
from .gradients import LAYERS, TOL, sel_weights, time_engines
from .runner import Context, finish_case, new_case, run_engine, say

__all__ = ["run"]

SUITE = "batched"
CASE = "angle_sel2_layer"
BATCH = 256
ANCHORS = {
    "torchlayer_default.qubit_backprop": ("default.qubit", "backprop"),
    "torchlayer_lightning.qubit_adjoint": ("lightning.qubit", "adjoint"),
}
TORCHQUANTUM = "torchquantum_backprop"


def run(ctx: Context, sizes: list[int]) -> None:
    for n in sizes:
        key, old = new_case(ctx, SUITE, CASE, n)
        if old is None:
            run_case(ctx, key, n)


def torch_layer_fn(device_name: str, diff_method: str, x: np.ndarray, weights: np.ndarray):
    wt = torch.tensor(weights, dtype=torch.float64)
    layer = anchors.pennylane_torch_layer(device_name, diff_method, weights.shape[1], wt)
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)

    def fn():
        out = layer(xt)
        gx, gw = torch.autograd.grad(out.sum(), [xt, layer.weights])
        return out.detach().numpy(), gx.numpy(), gw.numpy()

    return fn


def torchquantum_slot(ctx: Context, x: np.ndarray, weights: np.ndarray, compare) -> dict:
    """The optional TorchQuantum anchor: timed and checked when it imports, else skipped."""
    tq, reason = anchors.torchquantum_import()
    if tq is None:
        say(f"  {TORCHQUANTUM:<40} skipped: {reason}")
        return {"skipped": reason}
    record, _ = run_engine(
        ctx, TORCHQUANTUM, lambda: anchors.torchquantum_layer_fn(tq, x, weights), check=compare(TOL["complex64"])
    )
    return record


def run_case(ctx: Context, key: str, n: int) -> dict:
    weights = sel_weights(n)
    x = np.random.default_rng(11 + n).uniform(0, np.pi, size=(BATCH, n))
    try:
        ref = torch_layer_fn("default.qubit", "backprop", x, weights)()
    except Exception as exc:  # noqa: BLE001
        print(f"  reference (TorchLayer on default.qubit) failed: {exc}", flush=True)
        ref = None

    def compare(tol: float):
        def check(out) -> dict:
            if ref is None:
                return {"reference": None}
            diffs = [float(np.max(np.abs(np.asarray(a, dtype=np.float64) - b))) for a, b in zip(out, ref)]
            return {
                "reference": "torchlayer_default.qubit_backprop",
                "outputs_max_abs_diff": diffs[0],
                "grad_inputs_max_abs_diff": diffs[1],
                "grad_weights_max_abs_diff": diffs[2],
                "tol": tol,
                "passed": max(diffs) <= tol,
            }

        return check

    engines = time_engines(
        ctx,
        lambda method, dtype: ours.batched_layer_fn(x, weights, dtype, ctx.device, method),
        {name: (device_name, lambda d=device_name, m=method: torch_layer_fn(d, m, x, weights))
         for name, (device_name, method) in ANCHORS.items()},
        compare,
    )  # fmt: skip
    engines[TORCHQUANTUM] = torchquantum_slot(ctx, x, weights, compare)
    return finish_case(
        ctx, key, SUITE, CASE, n, engines, batch=BATCH, layers=LAYERS,
    )
