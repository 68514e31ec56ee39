"""One loop: every step of a plan applied to a state (a :class:`StateVector`, or any state
class that plans its own run, as :class:`~hybrid.sim.density.DensityMatrix` does).

``apply_step`` is a ``functools.singledispatch`` on the step record's type and
``apply_instruction`` one on the instruction's type (PennyLane's ``apply_operation`` style),
so a new kind of step or instruction registers one function here and needs no edit to the
loop. A noise channel, for instance: a ``Channel`` record in :mod:`.instructions`, one
``@apply_instruction.register`` below, one ``apply_channel`` method on each state class.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch

from .circuit import Circuit
from .fuse import DenseStep, FusionConfig, InstructionStep, PhaseStep, ProductStep
from .instructions import Channel, Measure, Operation
from .measure import misread
from .operators import OpMatrices, cached_or_built, instruction_operator, product_state, step_operator
from .density import DensityMatrix
from .statevector import StateVector
from .superop import SuperopStep, channel_operators_checked, superop_matrix

__all__ = ["Run", "run", "apply_step", "apply_instruction"]


@dataclass
class Run:
    """What the steps of one run read besides the state."""

    circuit: Circuit
    mats: OpMatrices  # the run's operators by op index, from its resolved values (built together on first need)
    bits: torch.Tensor | None = None  # (rows, n_clbits) classical record, written by measurements
    generator: torch.Generator | None = None  # measurement outcomes
    initial_index: int | None = None  # the state started as this basis state (None: amplitudes)
    readout: dict | None = None  # wire -> confusion matrix: how recorded measurements misread


def run(
    circuit: Circuit,
    values: list,
    state: StateVector,
    *,
    config: FusionConfig | None,
    bits: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
    initial_index: int | None = None,
    readout: dict | None = None,
) -> StateVector:
    """Evolve ``state`` through ``circuit`` with resolved parameter ``values``.

    ``config=None`` runs the generic path, one instruction at a time (the reference the
    fused path is tested against). ``initial_index`` says the state is that basis state,
    which lets the plan start with a product state. ``readout`` (wire -> confusion
    matrix) makes recorded mid-circuit measurements misread, as a noise model's readout
    errors do.
    """
    steps = state.plan(circuit, values, config, initial_index is not None)
    cached = frozenset(i for s in steps if s.constant for i in s.ops)  # operators kept with the plan
    mats = OpMatrices(circuit.ops, values, state.dtype, state.device, skip=cached)
    ctx = Run(circuit, mats, bits, generator, initial_index, readout or None)
    for step in steps:
        apply_step(step, state, ctx)
    return state


@functools.singledispatch
def apply_step(step, state: StateVector, ctx: Run) -> None:
    raise TypeError(f"no apply_step registered for {type(step).__name__}")


@apply_step.register
def _(step: ProductStep, state: StateVector, ctx: Run) -> None:
    state.load_product(*product_state(step, ctx.mats, ctx.circuit.n_qubits, ctx.initial_index))


@apply_step.register
def _(step: DenseStep, state: StateVector, ctx: Run) -> None:
    state.apply_block(step_operator(step, ctx.mats), step.wires)


@apply_step.register
def _(step: PhaseStep, state: StateVector, ctx: Run) -> None:
    state.apply_phases(step_operator(step, ctx.mats), step.wires)


@apply_step.register
def _(step: SuperopStep, state: DensityMatrix, ctx: Run) -> None:
    state.apply_superop(_superop(step, ctx.mats), step.wires)


def _superop(step: SuperopStep, mats: OpMatrices):
    return cached_or_built(step, mats.dtype, mats.device, lambda: superop_matrix(step, mats))


@apply_step.register
def _(step: InstructionStep, state: StateVector, ctx: Run) -> None:
    apply_instruction(ctx.circuit.ops[step.op], state, ctx, step)


@functools.singledispatch
def apply_instruction(op, state: StateVector, ctx: Run, step: InstructionStep) -> None:
    raise TypeError(f"no apply_instruction registered for {type(op).__name__}")


@apply_instruction.register
def _(op: Operation, state: StateVector, ctx: Run, step: InstructionStep) -> None:
    where = None if op.condition is None else _condition_holds(op, ctx.bits)  # (rows,)
    if where is not None and not bool(where.any()):
        return  # no trajectory meets the condition: build nothing
    matrix = instruction_operator(step, ctx.mats)
    state.apply(op.gate.kind, matrix, op.wires, op.controls, op.control_values, where)


@apply_instruction.register
def _(op: Measure, state: StateVector, ctx: Run, step: InstructionStep) -> None:
    if op.clbit is None:  # nothing recorded: a plain reset (or a discarded measurement)
        state.measure(op.wire, ctx.generator, reset=op.reset, record=False)
        return
    outcome = state.measure(op.wire, ctx.generator, reset=op.reset)
    # The record misreads (the measurement's own flip, then the noise model's readout
    # error); the state does not.
    for confusion in _record_errors(op, ctx.readout):
        u = torch.rand(outcome.shape, generator=ctx.generator, dtype=torch.float64)
        outcome = misread(outcome, confusion, u)
    ctx.bits[:, op.clbit] = outcome


def _record_errors(op: Measure, readout: dict | None) -> list:
    errors = [[[1 - op.flip, op.flip], [op.flip, 1 - op.flip]]] if op.flip else []
    if readout and op.wire in readout:
        errors.append(readout[op.wire])
    return errors


@apply_instruction.register
def _(op: Channel, state: StateVector, ctx: Run, step: InstructionStep) -> None:
    # A channel with numeric parameters (checked when it was built) is built once per plan.
    build = lambda: channel_operators_checked(op, ctx.mats.values[step.op], state.dtype, state.device)  # noqa: E731
    state.apply_channel(cached_or_built(step, state.dtype, state.device, build), op.wires, ctx.generator)


def _condition_holds(op: Operation, bits: torch.Tensor) -> torch.Tensor:
    """Rows whose recorded classical bits match the op's condition, ``(rows,)`` bool."""
    cond = op.condition
    want = torch.tensor(cond.bit_values(), dtype=bits.dtype, device=bits.device)
    return (bits[:, list(cond.clbits)] == want).all(dim=1)
