"""Device-side adjoint differentiation for hybrid.qubit: preprocessing and derivatives.

The tape's gate angles become one torch leaf vector, the engine's adjoint sweep
(:func:`hybrid.sim.expval` with ``diff_method="adjoint"``) evaluates the expectation
values, and ``torch.autograd.grad`` runs the sweep: once per observable for a Jacobian,
once per cotangent row for a VJP (the sweep weights all observables at once).
"""

from __future__ import annotations

import numpy as np
import pennylane as qml
import torch
from pennylane import math
from pennylane.devices.preprocess import (
    decompose,
    no_sampling,
    validate_adjoint_trainable_params,
    validate_observables,
)
from pennylane.exceptions import DeviceError
from pennylane.measurements import ExpectationMP
from pennylane.transforms import broadcast_expand
from pennylane.transforms.core import CompilePipeline

import hybrid.sim as sim
from hybrid.sim.device import real_dtype_of

from .compiled import compile_tape, parameter_vector
from .convert import NATIVE_GATES, angle_gate, initial_state, is_channel, is_native, pauli_sum

__all__ = ["add_adjoint_transforms", "adjoint_derivatives"]


def _null(results):
    return results[0]


def _adjoint_op_ok(op) -> bool:
    """Natively run and, if trainable, differentiable by the engine's adjoint sweep."""
    if not is_native(op) or is_channel(op):  # the adjoint sweep needs a pure state
        return False
    trainable = any(math.requires_grad(d) for d in op.data)
    return not trainable or angle_gate(op)


def _adjoint_observable_ok(obs) -> bool:
    return pauli_sum(obs, {w: i for i, w in enumerate(obs.wires)}) is not None


@qml.transform
def _expval_only(tape):
    if not all(isinstance(mp, ExpectationMP) and mp.obs is not None for mp in tape.measurements):
        raise DeviceError(
            "hybrid.qubit's adjoint method differentiates expectation values of observables only; "
            "use diff_method='backprop' or 'parameter-shift' for probs/var/state."
        )
    return (tape,), _null


def add_adjoint_transforms(program: CompilePipeline, wires) -> None:
    name = "adjoint + hybrid.qubit"
    program.add_transform(no_sampling, name=name)
    program.add_transform(
        decompose, stopping_condition=_adjoint_op_ok, device_wires=wires, target_gates=NATIVE_GATES, name=name
    )
    program.add_transform(_expval_only)
    program.add_transform(validate_observables, _adjoint_observable_ok, name=name)
    program.add_transform(broadcast_expand)
    program.add_transform(validate_adjoint_trainable_params)


def adjoint_derivatives(tape, wire_order, dtype: torch.dtype, device: torch.device, cotangents=None):
    """Results and, via the engine's adjoint sweep, the Jacobian of an expval-only tape
    (or, given ``cotangents``, the vector-Jacobian product), in PennyLane's layouts.

    The tape runs through its structure's shared circuit (the plan the forward pass uses),
    its gate parameters as one leaf vector ``theta``."""
    index = {w: i for i, w in enumerate(wire_order)}
    compiled = compile_tape(tape.operations, wire_order)
    params = parameter_vector(compiled, tape.operations)
    theta = params if isinstance(params, torch.Tensor) else torch.stack([v.reshape(()) for v in params])
    theta = theta.detach().to(real_dtype_of(dtype)).requires_grad_(True)
    columns = _trainable_columns(tape, compiled)
    initial = initial_state(tape.operations[0], wire_order) if compiled.prep else None
    observables = [pauli_sum(mp.obs, index) for mp in tape.measurements]
    with torch.enable_grad():  # PennyLane's torch interface calls us inside no_grad
        values = sim.expval(  # (n_obs,)
            compiled.circuit, observables, theta, initial_state=initial, dtype=dtype, device=device,
            diff_method="adjoint",
        )  # fmt: skip
        if cotangents is None:
            derivative = _jacobian_format(_jacobian(values, theta, columns))
        else:
            derivative = _vjp(values, theta, columns, cotangents)
    results = tuple(np.asarray(v) for v in values.detach().cpu().numpy())
    return (results[0] if len(results) == 1 else results), derivative


def _trainable_columns(tape, compiled) -> list[int | None]:
    """For each trainable parameter of the tape, its entry in ``theta`` (``None`` for an
    observable's parameter, which the adjoint method does not differentiate, or one the
    circuit does not use)."""
    offsets, position = {}, 0
    for k, op in enumerate(tape.operations):
        if compiled.prep and k == 0:
            continue
        offsets[k] = position
        position += len(op.data)
    entry = {flat: j for j, flat in enumerate(compiled.order)}
    columns: list[int | None] = []
    for p in tape.trainable_params:
        info = tape.par_info[p]
        k = info["op_idx"]
        columns.append(entry.get(offsets[k] + info["p_idx"]) if k in offsets else None)
    return columns


def _sweep(values: torch.Tensor, theta: torch.Tensor, columns: list, weights: np.ndarray) -> np.ndarray:
    """``sum_o weights[o] * d values[o] / d parameter`` for every trainable parameter: one
    adjoint sweep; zero where a parameter does not reach the output."""
    out = np.zeros(len(columns))
    if all(c is None for c in columns):
        return out
    w = torch.as_tensor(weights, dtype=values.dtype, device=values.device)
    (grad,) = torch.autograd.grad(values, theta, grad_outputs=w, retain_graph=True)
    grad = grad.detach().cpu().numpy()
    for j, c in enumerate(columns):
        out[j] = 0.0 if c is None else float(grad[c])
    return out


def _jacobian(values: torch.Tensor, theta: torch.Tensor, columns: list) -> np.ndarray:
    """``(n_obs, n_trainable)``: one adjoint sweep per observable."""
    eye = np.eye(values.shape[0])
    return np.stack([_sweep(values, theta, columns, row) for row in eye]) if columns else eye[:, :0]


def _vjp(values: torch.Tensor, theta: torch.Tensor, columns: list, cotangents):
    """PennyLane's VJP layout: one entry per trainable parameter. Cotangents are one number
    per measurement, or (batched, to build a Jacobian) one row of K numbers per measurement."""
    entries = [cotangents] if values.shape[0] == 1 else list(cotangents)
    rows = [np.asarray(qml.math.to_numpy(c), dtype=float) for c in entries]
    cot = np.stack([r.reshape(-1) for r in rows])  # (n_obs, K)
    per_column = np.stack([_sweep(values, theta, columns, cot[:, k]) for k in range(cot.shape[1])], axis=-1)  # (P, K)
    batched = rows[0].ndim > 0
    return tuple(np.array(c if batched else c[0]) for c in per_column)


def _jacobian_format(jac: np.ndarray):
    """PennyLane's nesting: measurements outside, parameters inside, singletons squeezed."""
    jac = np.squeeze(jac)
    if jac.ndim == 0:
        return np.array(jac)
    if jac.ndim == 1:
        return tuple(np.array(j) for j in jac)
    return tuple(tuple(np.array(x) for x in row) for row in jac)
