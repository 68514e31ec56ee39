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

import torch

from .. import gates as g
from ..execute import run
from ..fuse import permutation_runs
from ..operators import dagger as adjoint_of
from ..operators import grouped_matrices, op_matrix, parametrised_matrices
from ..statevector import StateVector
from .problem import ExpvalProblem, unflatten_values

__all__ = ["AdjointExpval", "forward_into_pair", "adjoint_gradients"]

_SPLIT_FROM_QUBITS = 20  # from here a state is >= 16 MiB: temporaries matter more than calls


def _step_back(pair: StateVector, op, dagger, n: int) -> None:
    """Apply U^dagger to the psi/lambda pair, in place where a fast kernel exists."""
    args = (op.gate.kind, dagger, op.wires, op.controls, op.control_values)
    if n >= _SPLIT_FROM_QUBITS and (not isinstance(dagger, torch.Tensor) or dagger.shape[0] == 1):
        # Large states: psi and lambda one at a time, so in-place temporaries stay small.
        half = pair.rows // 2
        first, second = pair.rows_view(slice(0, half)), pair.rows_view(slice(half, None))
        if first.try_apply_inplace(*args):
            second.try_apply_inplace(*args)
            return
    pair.apply(*args)


def _parameter_gradients(circuit, values, indices, daggers, crosses, needs, dtype, dev):
    """Gradients of 2 Re <lambda| dU_i/dp |psi> for every wanted parameter, all at once.

    The sweep has already moved lambda past op i (lambda' = U_i^dagger lambda), so each
    quantity is 2 Re sum((U_i0^dagger U_i(p)) * M_i), with M_i the cross matrix of
    lambda' and psi and U_i0 the op at the current values. One objective sums these over
    every op and one reverse pass through the tiny gate matrices (built per kind of gate)
    gives all parameters: shared ``(1,)`` values collect the batch sum, per-sample
    ``(B,)`` values their own sample, as autograd does with broadcasting.
    """
    grads: dict[int, list] = {}
    with torch.enable_grad():
        leaves = {i: [v.detach().requires_grad_(True) for v in values[i]] for i in indices}
        live = [dict(zip(members, stacked)) for members, stacked in
                grouped_matrices(circuit.ops, leaves, indices, dtype, dev)]  # fmt: skip
        objective = 0.0
        for group in live:
            for i, m in group.items():
                diagonal = circuit.ops[i].gate.kind is g.Kind.DIAGONAL
                local = daggers[i] * m if diagonal else daggers[i] @ m
                objective = objective + (local * crosses[i]).real.sum()
        wanted = [leaf for i in indices for leaf, need in zip(leaves[i], needs[i]) if need]
        flat = iter(torch.autograd.grad(2 * objective, wanted, allow_unused=True))
    for i in indices:
        grads[i] = [next(flat) if need else None for need in needs[i]]
    return grads


def forward_into_pair(
    problem: ExpvalProblem, values, psi0: torch.Tensor, pair: torch.Tensor | None = None
) -> tuple[torch.Tensor, int, torch.Tensor]:
    """Run the circuit inside a ``(2B, 2**n)`` buffer whose halves serve as ping-pong
    buffers now and as psi and lambda in the backward sweep (so no extra copy of the final
    state is ever kept). ``pair``, when given, already holds ``psi0`` in its first half;
    otherwise one is made. Returns the buffer, the half that holds psi, and <H_o>."""
    batch, n = psi0.shape[0], problem.circuit.n_qubits
    if pair is None:
        pair = StateVector.pair_buffer(psi0)
    state = StateVector(pair[:batch], n, inplace=True, spare=pair[batch:])
    run(problem.circuit, values, state, config=problem.fusion, initial_index=problem.initial_index)
    half = state.settle()
    return pair, half, state.expvals(problem.observables)


def adjoint_gradients(
    problem: ExpvalProblem,
    values,
    pair: torch.Tensor,
    psi_half: int,
    grad_out: torch.Tensor,
    needs: list[list[bool]],
    initial_gradient: bool = True,
) -> tuple[list[list[torch.Tensor | None]], torch.Tensor | None]:
    """The backward sweep over ``pair`` (psi in half ``psi_half``, lambda written into the
    other); returns gradients per value (``None`` where not needed) and, with
    ``initial_gradient``, the gradient with respect to the initial state. The sweep consumes
    the pair: a second backward runs the circuit again first (see :class:`AdjointExpval`)."""
    circuit, n = problem.circuit, problem.circuit.n_qubits
    ops, batch, dtype, dev = circuit.ops, pair.shape[0] // 2, pair.dtype, pair.device
    built = parametrised_matrices(ops, values, range(len(ops)), dtype, dev)
    # psi and lambda = sum_o g_o H_o psi travel together as one batch of 2B states: one
    # kernel call per op (both halves get the same matrix, so their order does not matter).
    halves = (slice(0, batch), slice(batch, 2 * batch))
    psi_rows, lam_rows = halves[psi_half], halves[1 - psi_half]
    both = StateVector(pair, n, inplace=True)
    both.rows_view(lam_rows).load_observables(both.rows_view(psi_rows), problem.observables, grad_out)
    daggers, crosses = {}, {}
    runs = permutation_runs(circuit) if n < _SPLIT_FROM_QUBITS else {}
    i = len(ops) - 1
    while i >= 0:
        if i in runs:  # a run of permutation gates, undone in one gather
            first, image = runs[i]
            both.gather(image)
            i = first - 1
            continue
        op = ops[i]
        matrix = built[i] if i in built else op_matrix(op, values[i], dtype, dev)
        dagger = adjoint_of(op.gate.kind, matrix)
        per_pair = dagger
        if isinstance(dagger, torch.Tensor) and dagger.shape[0] > 1:
            per_pair = torch.cat([dagger, dagger])
        _step_back(both, op, per_pair, n)  # now psi_(i-1) and U_i^dagger lambda
        if any(needs[i]):
            daggers[i] = dagger
            lam, psi = both.rows_view(lam_rows), both.rows_view(psi_rows)
            diagonal = op.gate.kind is g.Kind.DIAGONAL
            crosses[i] = lam.cross_matrix(psi, op.wires, op.controls, op.control_values, diagonal=diagonal)
        i -= 1
    wanted = [i for i in range(len(ops)) if any(needs[i])]
    grads: list[list[torch.Tensor | None]] = [[None] * len(v) for v in values]
    if wanted:
        for i, per_op in _parameter_gradients(circuit, values, wanted, daggers, crosses, needs, dtype, dev).items():
            grads[i] = per_op
    # d/d psi0 = 2 lambda_0: a full state, made only when asked for (memory at large n).
    return grads, (2 * both.tensor[lam_rows] if initial_gradient else None)


class AdjointExpval(torch.autograd.Function):
    """``apply(problem, psi0, pair, *flat_values) -> (B, n_obs)`` with adjoint-method
    gradients; ``pair`` is ``None`` or a ``(2B, 2**n)`` buffer holding psi0 in its first half.

    The forward pass runs inside the two-state buffer the backward sweep will use, so
    forward and backward together hold about three to four states at their peak. A second
    backward on a retained graph first runs the circuit again (the sweep rewinds psi).
    """

    @staticmethod
    def forward(ctx, problem: ExpvalProblem, psi0: torch.Tensor, pair: torch.Tensor | None, *flat):
        values = unflatten_values(problem.shapes, flat)
        # A repeated backward must start again from psi0 exactly: a basis state is
        # remembered by its index (no memory); a psi0 that lives in ``pair`` (and will be
        # overwritten) is copied; any other is kept by reference.
        if problem.initial_index is not None and psi0.shape[0] == 1:
            ctx.initial = problem.initial_index
        else:
            ctx.initial = psi0.detach().clone() if pair is not None else psi0.detach()
        pair, half, out = forward_into_pair(problem, values, psi0, pair)
        ctx.problem, ctx.pair, ctx.half, ctx.rewound = problem, pair, half, False
        ctx.save_for_backward(*flat)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        flat = ctx.saved_tensors
        problem = ctx.problem
        values = unflatten_values(problem.shapes, flat)
        needs = unflatten_values(problem.shapes, list(ctx.needs_input_grad[3:]))
        with torch.no_grad():
            if ctx.rewound:  # an earlier backward consumed the final state: run again
                start = ctx.initial
                if isinstance(start, int):
                    start = torch.zeros((1, ctx.pair.shape[1]), dtype=ctx.pair.dtype, device=ctx.pair.device)
                    start[0, ctx.initial] = 1
                ctx.pair, ctx.half, _ = forward_into_pair(problem, values, start)
            grads, grad_psi0 = adjoint_gradients(
                problem, values, ctx.pair, ctx.half, grad_out, needs, initial_gradient=ctx.needs_input_grad[1]
            )
            ctx.rewound = True
        flat_grads = [gr for per_op in grads for gr in per_op]
        return (None, grad_psi0, None, *flat_grads)
