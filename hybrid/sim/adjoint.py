"""Adjoint differentiation (Jones & Gacon, arXiv:2009.02823) as a torch.autograd.Function.

Forward: run the circuit without autograd and return <psi|H_o|psi> for each observable.
Backward: with ``lambda = sum_o g_o H_o |psi>`` (g = the incoming gradient, so all
observables share one sweep), walk the operations backwards::

    psi    <- U_i^dagger psi            (psi is now the state before op i)
    dL/dp  =  2 Re <lambda| dU_i/dp |psi>   for each parameter p of op i
    lambda <- U_i^dagger lambda

Memory: a few states (psi, lambda, one derivative state), whatever the circuit depth;
backpropagation instead keeps one state per gate. Works per sample over a batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.func import jvp

from . import gates as g
from .apply import apply_op, inverse_permutation, op_matrix
from .circuit import Circuit, Operation
from .kernels import apply_dense, apply_diagonal
from .measure import apply_pauli_sum, expval
from .observables import PauliSum
from .plan import FusionConfig

__all__ = ["AdjointExpval", "ExpvalProblem", "flatten_values", "unflatten_values"]


@dataclass(frozen=True)
class ExpvalProblem:
    """What the differentiable expectation functions need besides tensors."""

    circuit: Circuit
    observables: tuple[PauliSum, ...]
    shapes: tuple[int, ...]  # how many values each op has (to unflatten the inputs)
    fusion: FusionConfig | None


def flatten_values(values: list[list[torch.Tensor]]) -> tuple[tuple[int, ...], list[torch.Tensor]]:
    return tuple(len(v) for v in values), [t for v in values for t in v]


def unflatten_values(shapes: tuple[int, ...], flat) -> list[list[torch.Tensor]]:
    out, k = [], 0
    for size in shapes:
        out.append(list(flat[k : k + size]))
        k += size
    return out


def forward_expvals(problem: ExpvalProblem, values, psi0: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Final state ``(B, 2**n)`` and expectation values ``(B, n_obs)``, no autograd."""
    from .simulate import run  # simulate imports this module's users; keep the edge one-way

    n = problem.circuit.n_qubits
    psi = run(problem.circuit, values, psi0.clone(), config=problem.fusion, inplace=True)
    return psi, torch.stack([expval(psi, n, obs) for obs in problem.observables], dim=-1)


def _adjoint_matrix(op: Operation, m):
    if op.gate.kind is g.Kind.PERMUTATION:
        return inverse_permutation(m)
    return m.conj() if op.gate.kind is g.Kind.DIAGONAL else m.conj().transpose(-1, -2)


def _derivative_matrices(op: Operation, values: list[torch.Tensor], dtype, dev) -> list[torch.Tensor]:
    """d(matrix)/d(value p) for each parameter, per sample (forward-mode AD on the tiny matrix)."""
    values = [v.contiguous() for v in torch.broadcast_tensors(*values)]  # dual tensors need own memory
    out = []
    for p in range(len(values)):
        tangents = tuple(torch.ones_like(v) if i == p else torch.zeros_like(v) for i, v in enumerate(values))
        _, dm = jvp(lambda *v: op_matrix(op, list(v), dtype, dev), tuple(values), tangents)
        out.append(dm)
    return out


def _derivative_overlap(lam: torch.Tensor, psi: torch.Tensor, op: Operation, dm: torch.Tensor) -> torch.Tensor:
    """2 Re <lambda| dU/dp |psi> per sample. A controlled gate's derivative vanishes outside
    its control slice, so only that slice of both states is touched."""
    index: list[object] = [slice(None)] * psi.dim()
    for c, v in zip(op.controls, op.control_values):
        index[c + 1] = v
    lam_s, psi_s = lam[tuple(index)], psi[tuple(index)]
    axes = [w + 1 - sum(c < w for c in op.controls) for w in op.wires]
    kernel = apply_diagonal if op.gate.kind is g.Kind.DIAGONAL else apply_dense
    mu = kernel(psi_s, dm, axes)
    return 2 * (lam_s.conj() * mu).real.reshape(psi.shape[0], -1).sum(-1)


def adjoint_gradients(
    problem: ExpvalProblem, values, psi: torch.Tensor, grad_out: torch.Tensor, needs: list[list[bool]]
) -> tuple[list[list[torch.Tensor | None]], torch.Tensor]:
    """The backward sweep; returns gradients per value (``None`` where not needed) and
    the gradient with respect to the initial state."""
    circuit, n = problem.circuit, problem.circuit.n_qubits
    batch = psi.shape[0]
    lam = torch.zeros_like(psi)
    for o, obs in enumerate(problem.observables):
        lam = lam + grad_out[:, o : o + 1].to(psi.dtype) * apply_pauli_sum(psi, n, obs)
    shape = (batch,) + (2,) * n
    psi, lam = psi.reshape(shape), lam.reshape(shape)
    grads: list[list[torch.Tensor | None]] = [[None] * len(v) for v in values]
    for i in range(len(circuit.ops) - 1, -1, -1):
        op = circuit.ops[i]
        m = op_matrix(op, values[i], psi.dtype, psi.device)
        dagger = _adjoint_matrix(op, m)
        psi = apply_op(psi, op, dagger)
        if any(needs[i]):
            for p, dm in enumerate(_derivative_matrices(op, values[i], psi.dtype, psi.device)):
                if needs[i][p]:
                    per_sample = _derivative_overlap(lam, psi, op, dm)  # (B,)
                    grads[i][p] = _reduce_to(per_sample, values[i][p])
        lam = apply_op(lam, op, dagger)
    return grads, 2 * lam.reshape(batch, -1)


def _reduce_to(per_sample: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
    """Sum over the batch for a shared ``(1,)`` value; keep per sample for a ``(B,)`` one."""
    if value.shape[0] == 1 and per_sample.shape[0] != 1:
        return per_sample.sum().reshape(1).to(value.dtype)
    return per_sample.to(value.dtype)


class AdjointExpval(torch.autograd.Function):
    """``apply(problem, psi0, *flat_values) -> (B, n_obs)`` with adjoint-method gradients."""

    @staticmethod
    def forward(ctx, problem: ExpvalProblem, psi0: torch.Tensor, *flat):
        values = unflatten_values(problem.shapes, flat)
        psi, out = forward_expvals(problem, values, psi0)
        ctx.problem = problem
        ctx.save_for_backward(psi, *flat)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        psi, *flat = ctx.saved_tensors
        problem = ctx.problem
        values = unflatten_values(problem.shapes, flat)
        needs = unflatten_values(problem.shapes, list(ctx.needs_input_grad[2:]))
        with torch.no_grad():
            grads, grad_psi0 = adjoint_gradients(problem, values, psi, grad_out, needs)
        flat_grads = [gr for per_op in grads for gr in per_op]
        return (None, grad_psi0 if ctx.needs_input_grad[1] else None, *flat_grads)
