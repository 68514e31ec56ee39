"""Device-side adjoint differentiation for hybrid.qubit: preprocessing and derivatives.

The tape's trainable gate angles become torch leaves, the engine's adjoint sweep
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

from .convert import NATIVE_GATES, angle_gate, is_native, pauli_sum, to_circuit

__all__ = ["add_adjoint_transforms", "adjoint_derivatives"]


def _null(results):
    return results[0]


def _adjoint_op_ok(op) -> bool:
    """Natively run and, if trainable, differentiable by the engine's adjoint sweep."""
    if not is_native(op):
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
    (or, given ``cotangents``, the vector-Jacobian product), in PennyLane's layouts."""
    ops, leaves = _with_trainable_leaves(tape, real_dtype_of(dtype))
    index = {w: i for i, w in enumerate(wire_order)}
    circuit, initial = to_circuit(ops, wire_order)
    observables = [pauli_sum(mp.obs, index) for mp in tape.measurements]
    with torch.enable_grad():  # PennyLane's torch interface calls us inside no_grad
        values = sim.expval(  # (n_obs,)
            circuit, observables, initial_state=initial, dtype=dtype, device=device, diff_method="adjoint"
        )
        if cotangents is None:
            derivative = _jacobian_format(_jacobian(values, leaves))
        else:
            derivative = _vjp(values, leaves, cotangents)
    results = tuple(np.asarray(v) for v in values.detach().cpu().numpy())
    return (results[0] if len(results) == 1 else results), derivative


def _with_trainable_leaves(tape, dtype: torch.dtype):
    """The tape's operations with each trainable gate parameter replaced by a fresh torch
    leaf that requires grad; ``leaves[j]`` is the leaf of trainable parameter j (``None``
    when it belongs to an observable, which the adjoint method does not differentiate)."""
    ops = list(tape.operations)
    n_ops = len(ops)
    leaves: list[torch.Tensor | None] = []
    new_data: dict[int, list] = {}
    for p in tape.trainable_params:
        info = tape.par_info[p]
        k, i = info["op_idx"], info["p_idx"]
        if k >= n_ops:
            leaves.append(None)
            continue
        data = new_data.setdefault(k, list(ops[k].data))
        leaf = torch.tensor(float(np.asarray(qml.math.unwrap(data[i]))), dtype=dtype, requires_grad=True)
        data[i] = leaf
        leaves.append(leaf)
    for k, data in new_data.items():
        ops[k] = qml.ops.functions.bind_new_parameters(ops[k], data)
    return ops, leaves


def _sweep(values: torch.Tensor, leaves: list, weights: np.ndarray) -> np.ndarray:
    """``sum_o weights[o] * d values[o] / d leaf`` for every leaf: one adjoint sweep; zero
    where a parameter does not reach the output (or belongs to an observable)."""
    out = np.zeros(len(leaves))
    trainable = [(j, t) for j, t in enumerate(leaves) if t is not None]
    if not trainable:
        return out
    w = torch.as_tensor(weights, dtype=values.dtype, device=values.device)
    grads = torch.autograd.grad(values, [t for _, t in trainable], grad_outputs=w, retain_graph=True, allow_unused=True)
    for (j, _), g in zip(trainable, grads):
        out[j] = 0.0 if g is None else float(g)
    return out


def _jacobian(values: torch.Tensor, leaves: list) -> np.ndarray:
    """``(n_obs, n_trainable)``: one adjoint sweep per observable."""
    eye = np.eye(values.shape[0])
    return np.stack([_sweep(values, leaves, row) for row in eye]) if len(leaves) else eye[:, :0]


def _vjp(values: torch.Tensor, leaves: list, cotangents):
    """PennyLane's VJP layout: one entry per trainable parameter. Cotangents are one number
    per measurement, or (batched, to build a Jacobian) one row of K numbers per measurement."""
    entries = [cotangents] if values.shape[0] == 1 else list(cotangents)
    rows = [np.asarray(qml.math.to_numpy(c), dtype=float) for c in entries]
    cot = np.stack([r.reshape(-1) for r in rows])  # (n_obs, K)
    columns = np.stack([_sweep(values, leaves, cot[:, k]) for k in range(cot.shape[1])], axis=-1)  # (P, K)
    batched = rows[0].ndim > 0
    return tuple(np.array(c if batched else c[0]) for c in columns)


def _jacobian_format(jac: np.ndarray):
    """PennyLane's nesting: measurements outside, parameters inside, singletons squeezed."""
    jac = np.squeeze(jac)
    if jac.ndim == 0:
        return np.array(jac)
    if jac.ndim == 1:
        return tuple(np.array(j) for j in jac)
    return tuple(tuple(np.array(x) for x in row) for row in jac)
