"""simulate(circuit) -> State: run the operations over a batched statevector.

Mid-circuit measurement semantics: each sample of the batch follows its own trajectory.
A measurement draws its outcome from the sample's current state (seeded), collapses and
renormalises the state, and records the bit; ``reset`` then flips the wire back to |0>
if it read 1. A conditioned gate acts only in the samples whose recorded bits match.
To draw many trajectories of one circuit, run it with a batch (for example a batched
``initial_state`` or batched parameters).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Mapping, Sequence

import numpy as np
import torch

from . import gates as g
from .apply import apply_op, resolve_values
from .circuit import Circuit, Measure, Operation
from .device import check_complex_dtype, real_dtype_of, resolve_device
from .kernels import apply_block, apply_inplace, apply_phase_block
from .memory import check_fits
from .params import bind_parameters
from .plan import FusionConfig, Step, StepKind, compile_plan, product_state, step_matrix, step_operator
from .state import State

__all__ = ["simulate", "run", "prepare", "Job"]

def simulate(
    circuit: Circuit,
    params: Mapping[str, object] | Sequence[object] | torch.Tensor | None = None,
    *,
    initial_state: torch.Tensor | np.ndarray | int | None = None,
    dtype: torch.dtype = torch.complex64,
    device: str | torch.device = "auto",
    seed: int | None = None,
    fusion: FusionConfig | bool = True,
) -> State:
    """Simulate ``circuit`` and return its :class:`State`.

    Args:
        circuit: the circuit to run.
        params: values for the circuit's symbolic parameters, by name (a mapping) or in
            the order of ``circuit.parameters`` (a sequence or a ``(P,)``/``(B, P)``
            tensor). Each value is a number, a 0-d tensor or a 1-d tensor of length B.
        initial_state: a basis-state index, or amplitudes ``(2**n,)`` / ``(B, 2**n)``;
            default |0...0>.
        dtype: ``torch.complex64`` (default) or ``torch.complex128``.
        device: ``"auto"`` (CUDA when present), ``"cpu"``, ``"cuda"`` or a device.
        seed: seeds mid-circuit measurement outcomes; same seed, same trajectory.
        fusion: ``True`` (default: fused blocks sized for the device), a
            :class:`~hybrid.sim.plan.FusionConfig`, or ``False`` for the generic one-gate-
            at-a-time path (the reference the fused path is tested against).
    """
    job = prepare(circuit, params, initial_state, dtype, device, fusion)
    bits = torch.zeros((job.psi.shape[0], circuit.n_clbits), dtype=torch.long, device=job.psi.device)
    gen = torch.Generator().manual_seed(seed) if seed is not None else None
    psi = run(
        circuit, job.values, job.psi, config=job.config, bits=bits, gen=gen,
        inplace=not job.tracking_grad, initial_index=job.initial_index,
    )  # fmt: skip
    return State(psi, circuit.n_qubits, job.batched, bits)


@dataclass
class Job:
    """Everything a run needs, checked: resolved values, the initial state, the plan config."""

    values: list
    psi: torch.Tensor  # (B, 2**n), a fresh tensor the run may overwrite
    batched: bool
    config: FusionConfig | None
    tracking_grad: bool  # autograd records the run (so it cannot work in place)
    initial_index: int | None  # the run starts from this basis state (None: given amplitudes)


def prepare(circuit, params, initial_state, dtype, device, fusion, *, extra_states: int | None = None) -> Job:
    """Check the inputs, refuse what will not fit in memory, and lay out the run.

    ``extra_states``: full states the caller keeps alive besides the run's own; ``None``
    means autograd decides (one state per gate when it records the run).
    """
    if not isinstance(circuit, Circuit):
        raise TypeError(f"expected a hybrid Circuit; got {type(circuit).__name__}")
    dtype = check_complex_dtype(dtype)
    dev = resolve_device(device)
    n = circuit.n_qubits
    bindings = bind_parameters(circuit.parameters, params)
    batch, batched = _batch_size(circuit, bindings, initial_state)
    grad = torch.is_grad_enabled() and _any_requires_grad(circuit, bindings, initial_state)
    if extra_states is None:
        extra_states = len(circuit.ops) if grad else 0
    check_fits(n, batch, dtype, dev, stored_states=extra_states)
    values = resolve_values(circuit, bindings, real_dtype_of(dtype), dev)
    psi = _initial_state(initial_state, n, batch, dtype, dev)
    if initial_state is None:
        index = 0
    elif isinstance(initial_state, int | np.integer) and not isinstance(initial_state, bool):
        index = int(initial_state)
    else:
        index = None  # amplitudes
    return Job(values, psi, batched, _fusion_config(fusion, dev), grad, index)


def run(
    circuit: Circuit,
    values: list,
    psi: torch.Tensor,
    *,
    config: FusionConfig | None,
    bits: torch.Tensor | None = None,
    gen: torch.Generator | None = None,
    inplace: bool = False,
    spare: torch.Tensor | None = None,
    initial_index: int | None = None,
) -> torch.Tensor:
    """Evolve ``psi`` ``(B, 2**n)`` through ``circuit`` with resolved parameter ``values``.

    ``config=None`` runs the generic path, one op at a time. With ``inplace`` the state
    and one spare buffer (``spare``, or a new one) are reused (no autograd through it); the
    result is in whichever of the two the last step wrote. ``initial_index`` says that
    ``psi`` is that basis state, which lets the plan start with a product state.
    """
    n, ops = circuit.n_qubits, circuit.ops
    steps = _steps(circuit, values, config, psi.shape[0], initial_index is not None)
    if inplace and spare is None:
        spare = torch.empty_like(psi)  # the other half of a ping-pong pair of buffers
    for step in steps:
        if step.kind is StepKind.PRODUCT:
            state = product_state(step, ops, values, n, initial_index, psi.dtype, psi.device)
            state = state.expand(psi.shape[0], -1)
            psi = psi.copy_(state) if inplace else state.contiguous()
        elif step.kind is StepKind.SINGLE:
            psi = _single(psi, step, ops[step.ops[0]], values[step.ops[0]], n, bits, gen, inplace)
        elif step.kind is StepKind.PHASE:
            phases = step_operator(step, ops, values, psi.dtype, psi.device)
            psi = apply_phase_block(psi, phases, step.wires, n, inplace)
        else:
            matrix = step_operator(step, ops, values, psi.dtype, psi.device)
            if inplace and len(step.wires) == 1:  # 2x2: in place, one half-size temporary
                apply_inplace(psi.view((psi.shape[0],) + (2,) * n), g.Kind.DENSE, matrix, [step.wires[0] + 1])
                continue
            result = apply_block(psi, matrix, step.wires, n, out=spare)
            if inplace:
                spare, psi = psi, result
            else:
                psi = result
    return psi


def _fusion_config(fusion: FusionConfig | bool, dev: torch.device) -> FusionConfig | None:
    if fusion is True:
        return FusionConfig.for_device(dev)
    if fusion is False:
        return None
    if not isinstance(fusion, FusionConfig):
        raise TypeError(f"fusion must be True, False or a FusionConfig; got {fusion!r}")
    return fusion


def _steps(
    circuit: Circuit, values: list, config: FusionConfig | None, batch: int, product_start: bool = False
) -> tuple[Step, ...]:
    if config is None:
        return tuple(Step(StepKind.SINGLE, (i,), ()) for i in range(len(circuit.ops)))
    if 2**circuit.n_qubits >= batch:
        # Building a whole-width 2**n x 2**n block costs about 2**n passes of its rows; it
        # only pays when the batch of states it replaces is larger than that.
        config = replace(config, small_circuit=0)
    batched = frozenset(i for i, op in enumerate(circuit.ops) if _is_batched(op, values[i]))
    return compile_plan(circuit, batched, config, product_start)


def _is_batched(op, values) -> bool:
    if any(v.shape[0] > 1 for v in values):
        return True
    return isinstance(op, Operation) and (op.data_batch or 0) > 1


def _single(psi, step: Step, op, values, n, bits, gen, inplace: bool) -> torch.Tensor:
    """One op (or measurement): in place where a fast path exists, else the generic kernels."""
    batch = psi.shape[0]
    grid = psi.view((batch,) + (2,) * n)
    if isinstance(op, Measure):
        return _measure(grid, op, bits, gen, inplace).reshape(batch, 2**n)
    mask = None if op.condition is None else _condition_mask(op, bits)  # (B,)
    if mask is not None and not bool(mask.any()):
        return psi  # no trajectory meets the condition
    if mask is not None and bool(mask.all()):
        mask = None  # every trajectory meets it (always so for one): an ordinary gate, in place
    matrix = step_matrix(step, op, values, psi.dtype, psi.device)
    if inplace and mask is None:
        targets, controls = [w + 1 for w in op.wires], [c + 1 for c in op.controls]
        if apply_inplace(grid, op.gate.kind, matrix, targets, controls, op.control_values):
            return psi
    updated = apply_op(grid, op, matrix)
    if mask is not None:
        updated = torch.where(mask.reshape((batch,) + (1,) * n), updated, grid)
    return updated.reshape(batch, 2**n)


# --- pieces ---------------------------------------------------------------------------------


def _batch_size(circuit: Circuit, bindings: dict, initial_state) -> tuple[int, bool]:
    """The batch size every batched input agrees on; ``(1, False)`` when nothing is batched."""
    sizes: dict[str, int] = {}
    for name, value in bindings.items():
        if isinstance(value, torch.Tensor) and value.dim() == 1:
            sizes[f"parameter {name!r}"] = value.shape[0]
    for k, op in enumerate(circuit.ops):
        if not isinstance(op, Operation):
            continue
        for p in op.params:
            if isinstance(p, torch.Tensor) and p.dim() == 1:
                sizes[f"op {k} ({op.name}) parameter"] = p.shape[0]
        if op.data_batch is not None:
            sizes[f"op {k} ({op.name}) matrix"] = op.data_batch
    if isinstance(initial_state, torch.Tensor | np.ndarray) and initial_state.ndim == 2:
        sizes["initial_state"] = initial_state.shape[0]
    if 0 in sizes.values():
        raise ValueError("a batched input has length 0; the batch size must be at least 1")
    distinct = set(sizes.values()) - {1}  # length-1 inputs broadcast, as in numpy/torch
    if len(distinct) > 1:
        detail = ", ".join(f"{k} has batch {v}" for k, v in sizes.items())
        raise ValueError(f"batch-size mismatch: {detail}; every batched input must have the same length (or 1)")
    if not sizes:
        return 1, False
    return (distinct.pop() if distinct else 1), True


def _any_requires_grad(circuit: Circuit, bindings: dict, initial_state) -> bool:
    values = list(bindings.values()) + [initial_state]
    for op in circuit.ops:
        if isinstance(op, Operation):
            values.extend(op.params)
            values.append(op.data)
    return any(isinstance(v, torch.Tensor) and v.requires_grad for v in values)


def _initial_state(init, n: int, batch: int, dtype: torch.dtype, dev: torch.device) -> torch.Tensor:
    """A fresh ``(B, 2**n)`` tensor (never the caller's, since runs may work in place)."""
    if init is None or isinstance(init, int | np.integer):
        index = 0 if init is None else int(init)
        if not 0 <= index < 2**n:
            raise ValueError(f"initial basis state {index} is out of range for {n} qubit(s) (0..{2**n - 1})")
        psi = torch.zeros((batch, 2**n), dtype=dtype, device=dev)
        psi[:, index] = 1
        return psi
    vec = init if isinstance(init, torch.Tensor) else torch.as_tensor(np.asarray(init))
    if vec.dim() not in (1, 2) or vec.shape[-1] != 2**n:
        raise ValueError(
            f"initial_state must have shape ({2**n},) or (B, {2**n}) for {n} qubit(s); got {tuple(vec.shape)}"
        )
    vec = vec.to(device=dev, dtype=dtype)
    norms = vec.abs().pow(2).sum(-1).detach()
    tol = 1e-10 if dtype == torch.complex128 else 1e-5  # summation error grows ~log(2**n), not 2**n
    if (norms - 1).abs().max().item() > tol * max(1, n):
        raise ValueError(f"initial_state must be normalised (sum |amplitude|^2 = 1); got norm^2 {norms.tolist()}")
    return vec.expand(batch, 2**n).clone()


def _condition_mask(op: Operation, bits: torch.Tensor) -> torch.Tensor:
    cond = op.condition
    want = torch.tensor(cond.bit_values(), dtype=bits.dtype, device=bits.device)
    return (bits[:, list(cond.clbits)] == want).all(dim=1)  # (B,)


def _measure(
    psi: torch.Tensor, op: Measure, bits: torch.Tensor, gen: torch.Generator | None, inplace: bool = False
) -> torch.Tensor:
    """Collapse ``op.wire`` per sample, record the outcome, optionally reset to |0>.

    ``inplace`` (no autograd) rescales and resets within ``psi``: at 20+ qubits each
    fresh state-sized temporary costs more than the arithmetic.
    """
    batch, axis, grid_shape = psi.shape[0], op.wire + 1, psi.shape
    # (B, left, 2, right): three axes whatever n is, so reductions and updates stay fast.
    psi = psi.reshape(batch, 2 ** (axis - 1), 2, -1)
    weight = torch.view_as_real(psi[:, :, 1]).square().sum(dim=(1, 2, 3))  # P(1), (B,); cascade summation
    u = torch.rand(batch, generator=gen, dtype=torch.float64).to(psi.device)
    outcome = u < weight.detach().to(torch.float64)  # (B,) bool
    p = torch.where(outcome, weight, 1 - weight).clamp_min(torch.finfo(weight.dtype).tiny)
    keep = torch.stack([~outcome, outcome], dim=1).to(weight.dtype) / p.sqrt().unsqueeze(1)  # (B, 2)
    keep = keep.reshape(batch, 1, 2, 1)
    psi = psi.mul_(keep) if inplace else psi * keep
    if op.clbit is not None:
        bits[:, op.clbit] = outcome.long()
    if op.reset:
        # After the collapse one half is zero in every sample: adding the |1> half onto the
        # |0> half moves it there where the outcome was 1 and changes nothing elsewhere.
        zero, one = psi[:, :, 0], psi[:, :, 1]
        if inplace:
            zero.add_(one)
            one.zero_()
        else:
            psi = torch.stack([zero + one, torch.zeros_like(one)], dim=2)
    return psi.reshape(grid_shape)
