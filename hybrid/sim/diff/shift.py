"""Parameter-shift gradients: what hardware can do, exact for our gate set.

Every parametrised gate here depends on each parameter through exp(-i p G) with G's
eigenvalue gaps in {1} (two-term rule) or, for controlled rotations, in {1/2, 1}
(four-term rule). References: Mitarai et al. (2018), Schuld et al. (2019), and the
four-term rule for controlled rotations of Anselmetti et al. (arXiv:2107.12390).
"""

from __future__ import annotations

import math

import torch

from .. import gates as g
from ..execute import run
from ..instructions import Operation
from ..statevector import StateVector
from .problem import ExpvalProblem, unflatten_values

__all__ = ["ParameterShiftExpval", "shift_rule"]

_TWO_TERM = ((0.5, math.pi / 2), (-0.5, -math.pi / 2))
_C_PLUS = (math.sqrt(2) + 1) / (4 * math.sqrt(2))
_C_MINUS = (math.sqrt(2) - 1) / (4 * math.sqrt(2))
_FOUR_TERM = (
    (_C_PLUS, math.pi / 2),
    (-_C_PLUS, -math.pi / 2),
    (-_C_MINUS, 3 * math.pi / 2),
    (_C_MINUS, -3 * math.pi / 2),
)
_PHASE_LIKE = {g.P, g.GLOBAL_PHASE}  # generator eigenvalues {0, 1}: two terms even when controlled


def shift_rule(op: Operation, p: int) -> tuple[tuple[float, float], ...]:
    """``((coefficient, shift), ...)`` with d f/d p = sum coefficient * f(p + shift)."""
    if op.gate in _PHASE_LIKE or (op.gate is g.U and p > 0) or not op.controls:
        return _TWO_TERM
    return _FOUR_TERM


def forward_expvals(problem: ExpvalProblem, values, psi0: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Final state ``(B, 2**n)`` and expectation values ``(B, n_obs)``, no autograd; ``psi0``
    is left untouched (parameter-shift runs from it many times)."""
    state = StateVector(psi0.detach().clone(), problem.circuit.n_qubits, inplace=True)
    run(problem.circuit, values, state, config=problem.fusion, initial_index=problem.initial_index)
    return state.tensor, state.expvals(problem.observables)


class ParameterShiftExpval(torch.autograd.Function):
    """``apply(problem, psi0, *flat_values) -> (B, n_obs)``; gradients by shifted runs."""

    @staticmethod
    def forward(ctx, problem: ExpvalProblem, psi0: torch.Tensor, *flat):
        values = unflatten_values(problem.shapes, flat)
        _, out = forward_expvals(problem, values, psi0)
        ctx.problem = problem
        ctx.save_for_backward(psi0, *flat)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        psi0, *flat = ctx.saved_tensors
        problem = ctx.problem
        if ctx.needs_input_grad[1]:
            raise ValueError("parameter-shift cannot differentiate the initial state; use 'adjoint' or 'backprop'")
        values = unflatten_values(problem.shapes, flat)
        needs = unflatten_values(problem.shapes, list(ctx.needs_input_grad[2:]))
        grads = [[None] * len(v) for v in values]
        with torch.no_grad():
            for i, op in enumerate(problem.circuit.ops):
                for p, wanted in enumerate(needs[i]):
                    if wanted:
                        grads[i][p] = _shifted_gradient(problem, values, psi0, grad_out, i, p)
        return (None, None, *[gr for per_op in grads for gr in per_op])


def _shifted_gradient(problem, values, psi0, grad_out, i: int, p: int) -> torch.Tensor:
    original = values[i][p]
    total = torch.zeros(grad_out.shape[0], dtype=grad_out.dtype, device=grad_out.device)
    for coefficient, shift in shift_rule(problem.circuit.ops[i], p):
        values[i][p] = original + shift
        _, out = forward_expvals(problem, values, psi0)
        total = total + coefficient * (out * grad_out).sum(-1)  # (B,)
    values[i][p] = original
    if original.shape[0] == 1 and total.shape[0] != 1:
        return total.sum().reshape(1).to(original.dtype)
    return total.to(original.dtype)
