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

from . import gates as g
from .apply import apply_op, grouped_matrices, op_matrix, permutation_image
from .apply import dagger as adjoint_of
from .kernels import apply_inplace
from .circuit import Circuit, Operation
from .measure import apply_pauli_sum, diagonal_table, expvals
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
    initial_index: int | None = None  # the runs start from this basis state, if known


def flatten_values(values: list[list[torch.Tensor]]) -> tuple[tuple[int, ...], list[torch.Tensor]]:
    return tuple(len(v) for v in values), [t for v in values for t in v]


def unflatten_values(shapes: tuple[int, ...], flat) -> list[list[torch.Tensor]]:
    out, k = [], 0
    for size in shapes:
        out.append(list(flat[k : k + size]))
        k += size
    return out


def _cross_matrix(lam: torch.Tensor, psi: torch.Tensor, op: Operation) -> torch.Tensor:
    """``M`` with <lambda| U |psi> = sum(U * M) for any U on ``op``'s targets (inside its
    control slice, where its derivative lives): ``(B, d, d)``, or ``(B, d)`` when the
    gate is diagonal."""
    index: list[object] = [slice(None)] * psi.dim()
    for c, v in zip(op.controls, op.control_values):
        index[c + 1] = v
    lam_s, psi_s = lam[tuple(index)], psi[tuple(index)]
    axes = [w + 1 - sum(c < w for c in op.controls) for w in op.wires]
    k, batch = len(axes), psi.shape[0]
    if op.gate.kind is g.Kind.DIAGONAL:
        # Sum conj(lambda) * psi over every axis but the targets, in the op's wire order.
        prod = lam_s.conj() * psi_s
        others = [a for a in range(1, prod.dim()) if a not in axes]
        reduced = prod.sum(dim=others) if others else prod
        order = sorted(range(k), key=lambda i: axes[i])
        return reduced.permute(0, *(1 + order.index(i) for i in range(k))).reshape(batch, 2**k)
    if k == 1:  # the common case: four overlaps of half-states, one half-size temporary
        a = axes[0]
        halves_l = [lam_s.select(a, bit) for bit in (0, 1)]
        halves_p = [psi_s.select(a, bit) for bit in (0, 1)]
        entries = [[(x.conj() * y).reshape(batch, -1).sum(-1) for y in halves_p] for x in halves_l]
        return torch.stack([torch.stack(row, -1) for row in entries], -2)  # (B, 2, 2)
    ends = list(range(lam_s.dim() - k, lam_s.dim()))
    rows_l = torch.movedim(lam_s, axes, ends).reshape(batch, -1, 2**k)  # (B, R, d)
    rows_p = torch.movedim(psi_s, axes, ends).reshape(batch, -1, 2**k)
    return rows_l.conj().transpose(-1, -2) @ rows_p  # (B, d, d): M[i, j] = sum_r conj(l_ri) p_rj


def _step_back(pair: torch.Tensor, op: Operation, dagger, n: int) -> torch.Tensor:
    """Apply U^dagger to the psi/lambda pair, in place where a fast kernel exists."""
    targets, controls = [w + 1 for w in op.wires], [c + 1 for c in op.controls]
    kind = op.gate.kind
    if n >= _SPLIT_FROM_QUBITS and (not isinstance(dagger, torch.Tensor) or dagger.shape[0] == 1):
        # Large states: psi and lambda one at a time, so in-place temporaries stay small.
        half = pair.shape[0] // 2
        if apply_inplace(pair[:half], kind, dagger, targets, controls, op.control_values):
            apply_inplace(pair[half:], kind, dagger, targets, controls, op.control_values)
            return pair
    elif apply_inplace(pair, kind, dagger, targets, controls, op.control_values):
        return pair
    return apply_op(pair, op, dagger)


_SPLIT_FROM_QUBITS = 20  # from here a state is >= 16 MiB: temporaries matter more than calls


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


def _load_lambda(lam: torch.Tensor, psi: torch.Tensor, n: int, observables, grad_out: torch.Tensor) -> None:
    """lambda = sum_o g_o H_o psi, written into ``lam``. Diagonal (Z-only) observables are
    one phase-free multiply by their weighted sign table, with no state-sized temporaries."""
    table = diagonal_table(n, tuple(observables), psi.real.dtype, psi.device)
    if table is not None:
        lam.copy_(psi).mul_(grad_out.to(table.dtype) @ table.T)  # (B, 2**n) real weights
        return
    lam.zero_()
    for o, obs in enumerate(observables):
        lam.add_(apply_pauli_sum(psi, n, obs).mul_(grad_out[:, o : o + 1].to(psi.dtype)))


def forward_into_pair(
    problem: ExpvalProblem, values, psi0: torch.Tensor, pair: torch.Tensor | None = None
) -> tuple[torch.Tensor, int, torch.Tensor]:
    """Run the circuit inside a ``(2B, 2**n)`` buffer whose halves serve as ping-pong
    buffers now and as psi and lambda in the backward sweep (so no extra copy of the final
    state is ever kept). ``pair``, when given, already holds ``psi0`` in its first half;
    otherwise one is made. Returns the buffer, the half that holds psi, and <H_o>."""
    from .simulate import run  # simulate imports this module's users; keep the edge one-way

    batch = psi0.shape[0]
    if pair is None:
        pair = torch.empty((2 * batch,) + psi0.shape[1:], dtype=psi0.dtype, device=psi0.device)
        pair[:batch].copy_(psi0.detach())
    psi = run(
        problem.circuit, values, pair[:batch], config=problem.fusion, inplace=True, spare=pair[batch:],
        initial_index=problem.initial_index,
    )  # fmt: skip
    if psi.data_ptr() == pair[batch:].data_ptr():
        half = 1
    else:
        half = 0
        if psi.data_ptr() != pair.data_ptr():  # a generic (out-of-place) last step
            pair[:batch].copy_(psi)
    return pair, half, expvals(pair[batch * half : batch * (half + 1)], problem.circuit.n_qubits, problem.observables)


def _permutation_runs(circuit: Circuit) -> dict[int, tuple[int, torch.Tensor]]:
    """Runs of two or more consecutive permutation gates (CNOT rings, swaps, oracles):
    ``{last op index: (first op index, image)}`` where basis state x goes to image[x]
    through the run, so ``state.index_select(-1, image)`` undoes it. Cached per circuit
    version; for small states, where one gather beats many small slice swaps."""
    key = ("adjoint-permutation-runs", circuit.version)
    cache = circuit.__dict__.setdefault("_plan_cache", {})
    if key in cache:
        return cache[key]
    runs, start, ops = {}, None, circuit.ops
    for i, op in enumerate(ops + [None]):
        is_perm = isinstance(op, Operation) and op.gate.kind is g.Kind.PERMUTATION and op.condition is None
        if is_perm and start is None:
            start = i
        if not is_perm and start is not None:
            if i - start >= 2:
                runs[i - 1] = (start, permutation_image(ops[start:i], range(circuit.n_qubits)))
            start = None
    cache[key] = runs
    return runs


def adjoint_gradients(
    problem: ExpvalProblem, values, pair: torch.Tensor, psi_half: int, grad_out: torch.Tensor, needs: list[list[bool]]
) -> tuple[list[list[torch.Tensor | None]], torch.Tensor]:
    """The backward sweep over ``pair`` (psi in half ``psi_half``, lambda written into the
    other); returns gradients per value (``None`` where not needed) and the gradient with
    respect to the initial state. Afterwards the psi half holds the initial state again."""
    circuit, n = problem.circuit, problem.circuit.n_qubits
    ops, batch, dtype, dev = circuit.ops, pair.shape[0] // 2, pair.dtype, pair.device
    parametrised = [i for i, op in enumerate(ops) if op.gate.build is not None and op.gate.n_params]
    built = {i: m for members, stacked in grouped_matrices(ops, values, parametrised, dtype, dev)
             for i, m in zip(members, stacked)}  # fmt: skip
    # psi and lambda = sum_o g_o H_o psi travel together as one batch of 2B states: one
    # kernel call per op (both halves get the same matrix, so their order does not matter).
    halves = (slice(0, batch), slice(batch, 2 * batch))
    psi_part, lam_part = halves[psi_half], halves[1 - psi_half]
    _load_lambda(pair[lam_part], pair[psi_part], n, problem.observables, grad_out)
    pair = pair.reshape((2 * batch,) + (2,) * n)
    daggers, crosses = {}, {}
    runs = _permutation_runs(circuit) if n < _SPLIT_FROM_QUBITS else {}
    i = len(ops) - 1
    while i >= 0:
        if i in runs:  # a run of permutation gates, undone in one gather
            first, image = runs[i]
            flat = pair.reshape(2 * batch, -1).index_select(1, image.to(dev))
            pair = flat.reshape((2 * batch,) + (2,) * n)
            i = first - 1
            continue
        op = ops[i]
        i -= 1
        matrix = built[i + 1] if (i + 1) in built else op_matrix(op, values[i + 1], dtype, dev)
        dagger = adjoint_of(op.gate.kind, matrix)
        per_pair = dagger
        if isinstance(dagger, torch.Tensor) and dagger.shape[0] > 1:
            per_pair = torch.cat([dagger, dagger])
        pair = _step_back(pair, op, per_pair, n)  # now psi_(i-1) and U_i^dagger lambda
        if any(needs[i + 1]):
            daggers[i + 1] = dagger
            crosses[i + 1] = _cross_matrix(pair[lam_part], pair[psi_part], op)
    wanted = [i for i in range(len(ops)) if any(needs[i])]
    grads: list[list[torch.Tensor | None]] = [[None] * len(v) for v in values]
    if wanted:
        for i, per_op in _parameter_gradients(circuit, values, wanted, daggers, crosses, needs, dtype, dev).items():
            grads[i] = per_op
    return grads, 2 * pair[lam_part].reshape(batch, -1)


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
            grads, grad_psi0 = adjoint_gradients(problem, values, ctx.pair, ctx.half, grad_out, needs)
            ctx.rewound = True
        flat_grads = [gr for per_op in grads for gr in per_op]
        return (None, grad_psi0.clone() if ctx.needs_input_grad[1] else None, None, *flat_grads)
