"""Compile a circuit's structure once into a plan of fused steps.

A statevector gate is a streaming pass over memory, so the plan's job is fewer passes:

* **dense blocks**: neighbouring gates whose wires fit in ``max_dense`` qubits become one
  ``2**k x 2**k`` matrix, applied in one pass (``kernels.apply_block``);
* **phase blocks**: a run of diagonal gates (RZ, P, CP, CZ, RZZ, controlled phases...)
  on up to ``max_diagonal`` wires becomes one phase vector, one multiply pass;
* **single steps**: whatever cannot be fused (wide multi-controlled gates, big
  permutations, measurements, classically conditioned gates) runs alone on the generic
  kernels, controlled gates touching only their control slice.

Gates are pulled forward into an open block past gates they commute with trivially (no
shared wire), as statevector fusers do. The plan depends only on structure (gate kinds,
wires, which gates are batched); numbers are fed through it on every run, and a block's
matrix is built from the current parameter values by applying its gates to an identity
(the generic kernels again, so fused and unfused paths agree by construction).
Plans are cached on the circuit.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import torch

from . import gates as g
from .apply import apply_op, op_matrix
from .circuit import Circuit, Operation

__all__ = ["StepKind", "Step", "FusionConfig", "compile_plan", "block_operator"]


class StepKind(enum.Enum):
    DENSE = "dense"  # a fused 2**k x 2**k block
    PHASE = "phase"  # a fused diagonal block
    SINGLE = "single"  # one op on the generic kernels (or a measurement)


@dataclass(frozen=True)
class Step:
    kind: StepKind
    ops: tuple[int, ...]  # indices into circuit.ops, in application order
    wires: tuple[int, ...]  # sorted union of the ops' wires (blocks only)


@dataclass(frozen=True)
class FusionConfig:
    """Block sizes. ``max_dense`` trades passes for compute (4 suits a 2-core CPU, 5 a GPU);
    ``small_circuit`` lets batch-independent blocks span every wire when n is that small."""

    max_dense: int = 4
    max_diagonal: int = 10
    small_circuit: int = 8
    lookahead: int = 256

    @staticmethod
    def for_device(device: torch.device) -> "FusionConfig":
        return FusionConfig(max_dense=5) if device.type == "cuda" else FusionConfig()


def _is_diagonal(op: Operation) -> bool:
    return op.gate.kind is g.Kind.DIAGONAL


def _fusable(op, limit: int) -> bool:
    return isinstance(op, Operation) and op.condition is None and len(op.all_wires) <= limit


def compile_plan(
    circuit: Circuit, batched_ops: frozenset[int], config: FusionConfig
) -> tuple[Step, ...]:
    """Fuse ``circuit`` into steps; cached per (circuit version, batched ops, config)."""
    key = (circuit.version, batched_ops, config)
    cache = circuit.__dict__.setdefault("_plan_cache", {})
    if key not in cache:
        if len(cache) > 16:
            cache.clear()
        cache[key] = _fuse(circuit.ops, circuit.n_qubits, batched_ops, config)
    return cache[key]


def _dense_limit(n: int, batched: bool, config: FusionConfig) -> int:
    if not batched and n <= config.small_circuit:
        return n
    return config.max_dense


def _fuse(ops: list, n: int, batched_ops: frozenset[int], config: FusionConfig) -> tuple[Step, ...]:
    done = [False] * len(ops)
    steps: list[Step] = []
    for start, op in enumerate(ops):
        if done[start]:
            continue
        done[start] = True
        dense_limit = _dense_limit(n, start in batched_ops, config)
        if not _fusable(op, max(dense_limit, config.max_diagonal)) or (
            not _is_diagonal(op) and max(op.all_wires, default=0) - min(op.all_wires, default=0) + 1 > dense_limit
        ):
            steps.append(Step(StepKind.SINGLE, (start,), ()))
            continue
        members, wires, diagonal = [start], set(op.all_wires), _is_diagonal(op)
        batched = start in batched_ops
        blocked: set[int] = set()
        for j in range(start + 1, min(len(ops), start + config.lookahead)):
            if done[j]:
                continue
            other = ops[j]
            other_wires = set(other.all_wires)
            if not (other_wires & blocked) and _fusable(other, n):
                union = wires | other_wires
                both_diagonal = diagonal and _is_diagonal(other)
                limit = config.max_diagonal if both_diagonal else _dense_limit(n, batched or j in batched_ops, config)
                # Dense blocks are applied on a contiguous run of wires (no reordering
                # copy), so their *span* must fit; phase blocks need no contiguity.
                size = len(union) if both_diagonal else max(union) - min(union) + 1
                if size <= limit:
                    members.append(j)
                    done[j] = True
                    wires, diagonal = union, both_diagonal
                    batched = batched or j in batched_ops
                    continue
            blocked |= other_wires
            if len(blocked) >= n:
                break
        if diagonal:
            steps.append(Step(StepKind.PHASE, tuple(members), tuple(sorted(wires))))
        else:
            span = _dense_span(min(wires), max(wires), n, _dense_limit(n, batched, config))
            steps.append(Step(StepKind.DENSE, tuple(members), span))
    return tuple(steps)


def _dense_span(lo: int, hi: int, n: int, limit: int) -> tuple[int, ...]:
    """The contiguous wires a dense block is applied on: its span, padded with identity
    up to the last wire when that leaves no short trailing run (which matmul handles
    poorly) and the block stays within ``limit`` wires."""
    if hi < n - 1 and n - lo <= limit and 2 ** (n - 1 - hi) < 16:
        hi = n - 1
    return tuple(range(lo, hi + 1))


def block_operator(
    step: Step, ops: list, values: list, dtype: torch.dtype, dev: torch.device
) -> torch.Tensor:
    """The fused matrix ``(Bm, d, d)`` (DENSE) or phase vector ``(Bm, d)`` (PHASE) of a block.

    Index order: ``step.wires`` (sorted) with the first wire most significant.
    """
    k = len(step.wires)
    axis_of = {w: i + 2 for i, w in enumerate(step.wires)}  # axis 0: batch, axis 1: columns
    mats = [op_matrix(ops[i], values[i], dtype, dev) for i in step.ops]
    batch = max((m.shape[0] for m in mats if isinstance(m, torch.Tensor)), default=1)
    d = 2**k
    if step.kind is StepKind.PHASE:
        acc = torch.ones((batch, 1) + (2,) * k, dtype=dtype, device=dev)
    else:  # rows are basis states e_i; after the gates row i holds U e_i
        acc = torch.eye(d, dtype=dtype, device=dev).expand(batch, d, d).reshape((batch, d) + (2,) * k)
    for i, m in zip(step.ops, mats):
        acc = apply_op(acc, ops[i], m, axis_of)
    if step.kind is StepKind.PHASE:
        return acc.reshape(batch, d)
    return acc.reshape(batch, d, d).transpose(-1, -2).contiguous()  # strided U: slow matmul

