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

A *constant* block (no gate with a symbolic or tensor parameter or per-sample data, as
in Grover's diffuser or Shor's adders) has the same operator on every run: it is built
once per (dtype, device) and kept on its step (:func:`step_operator`), so it lives and
dies with the plan. A constant single permutation keeps its gather index there too.
"""

from __future__ import annotations

import enum
import numbers
from dataclasses import dataclass, field

import numpy as np
import torch

from . import gates as g
from .apply import apply_op, dagger, grouped_matrices, op_matrix, permutation_image
from .circuit import Circuit, Operation
from .kernels import PermutationIndex, index_tensor

__all__ = ["StepKind", "Step", "FusionConfig", "compile_plan", "block_operator", "step_operator", "step_matrix"]


class StepKind(enum.Enum):
    DENSE = "dense"  # a fused 2**k x 2**k block
    PHASE = "phase"  # a fused diagonal block
    SINGLE = "single"  # one op on the generic kernels (or a measurement)
    PRODUCT = "product"  # leading one-wire gates on a basis state: a product state, no passes


class SegmentKind(enum.Enum):
    LAYER = "layer"  # single-qubit gates on distinct wires: one Kronecker product
    PERMUTE = "permute"  # a run of permutation gates: one composed index map
    OP = "op"  # anything else, applied to the block matrix by the generic kernels


@dataclass(frozen=True)
class Segment:
    kind: SegmentKind
    ops: tuple[int, ...]
    index_map: tuple[int, ...] = ()  # PERMUTE: column y of the result is column index_map[y]


@dataclass(frozen=True)
class Step:
    kind: StepKind
    ops: tuple[int, ...]  # indices into circuit.ops, in application order
    wires: tuple[int, ...]  # sorted union of the ops' wires (blocks only)
    program: tuple[Segment, ...] = ()  # DENSE blocks: how to build the matrix quickly
    constant: bool = False  # every op's matrix is fixed by the circuit alone (is_constant)
    # Operators of a constant step, per (dtype, device): built on first use, then reused.
    # Holds at most a few entries and is freed with the plan (plans are cached per circuit).
    built: dict = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class FusionConfig:
    """Block sizes. ``max_dense`` trades passes for compute (4 suits a 2-core CPU, 5 a GPU);
    ``max_dense_batched`` caps blocks that hold per-sample gates (each sample gets its own
    matrix); ``small_circuit`` lets batch-independent blocks span every wire when n is that
    small and the batch is larger than 2**n."""

    max_dense: int = 4
    max_dense_batched: int = 2  # blocks holding per-sample (batched) gates
    max_diagonal: int = 10
    small_circuit: int = 8
    lookahead: int = 256

    @staticmethod
    def for_device(device: torch.device) -> "FusionConfig":
        return FusionConfig(max_dense=5) if device.type == "cuda" else FusionConfig()


def _is_diagonal(op: Operation) -> bool:
    return op.gate.kind is g.Kind.DIAGONAL


def is_constant(op) -> bool:
    """Whether ``op``'s matrix is fixed by the circuit alone, the same on every run.

    Plain numbers as parameters (symbols are re-bound and tensors may be batched, tracked
    by autograd or changed between runs) and shared data that needs no gradient. A
    circuit's data tensors are treated as structure: edit them by building a new circuit.
    """
    if not isinstance(op, Operation):
        return False
    if not all(isinstance(p, numbers.Real) for p in op.params):
        return False
    data = op.data
    return not (isinstance(data, torch.Tensor) and (data.requires_grad or op.data_batch is not None))


def _fusable(op, limit: int) -> bool:
    return isinstance(op, Operation) and op.condition is None and len(op.all_wires) <= limit


def compile_plan(
    circuit: Circuit, batched_ops: frozenset[int], config: FusionConfig, product_start: bool = False
) -> tuple[Step, ...]:
    """Fuse ``circuit`` into steps; cached per (circuit version, batched ops, config).

    With ``product_start`` (the run starts from a basis state) the one-wire gates that
    come before anything entangles their wire form a PRODUCT step: the state they make is
    a Kronecker product of n two-vectors, built directly (angle encoders, first layers).
    """
    key = (circuit.version, batched_ops, config, product_start)
    cache = circuit.__dict__.setdefault("_plan_cache", {})
    if key not in cache:
        if len(cache) > 16:
            cache.clear()
        ops, n = circuit.ops, circuit.n_qubits
        prefix = _product_prefix(ops, n) if product_start else []
        head = (Step(StepKind.PRODUCT, tuple(prefix), tuple(range(n))),) if prefix else ()
        cache[key] = head + _fuse(ops, n, batched_ops, config, skip=frozenset(prefix))
    return cache[key]


def _product_prefix(ops: list, n: int) -> list[int]:
    """Ops that act alone on a wire nothing has entangled yet (they commute with the rest)."""
    closed: set[int] = set()
    prefix: list[int] = []
    for i, op in enumerate(ops):
        one_wire = isinstance(op, Operation) and op.condition is None and not op.controls and len(op.wires) == 1
        if one_wire and op.wires[0] not in closed:
            prefix.append(i)
            continue
        closed |= set(op.all_wires)
        if len(closed) == n:
            break
    return prefix


def _dense_limit(n: int, batched: bool, config: FusionConfig) -> int:
    if not batched and n <= config.small_circuit:
        return n
    if batched:
        # A per-sample block costs B * d**3 to build (on top of the small-op overhead of
        # building B matrices); measured on the batched-layer benchmark, blocks of two
        # wires are where that stops paying off.
        return min(config.max_dense, config.max_dense_batched)
    return config.max_dense


def _fuse(
    ops: list, n: int, batched_ops: frozenset[int], config: FusionConfig, skip: frozenset[int] = frozenset()
) -> tuple[Step, ...]:
    done = [i in skip for i in range(len(ops))]
    steps: list[Step] = []
    for start, op in enumerate(ops):
        if done[start]:
            continue
        done[start] = True
        dense_limit = _dense_limit(n, start in batched_ops, config)
        if not _fusable(op, max(dense_limit, config.max_diagonal)) or (
            not _is_diagonal(op) and max(op.all_wires, default=0) - min(op.all_wires, default=0) + 1 > dense_limit
        ):
            steps.append(Step(StepKind.SINGLE, (start,), (), constant=is_constant(op)))
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
        constant = all(is_constant(ops[i]) for i in members)
        if diagonal:
            steps.append(Step(StepKind.PHASE, tuple(members), tuple(sorted(wires)), constant=constant))
        else:
            span = _dense_span(min(wires), max(wires), n, _dense_limit(n, batched, config))
            program = _block_program(members, ops, span)
            steps.append(Step(StepKind.DENSE, tuple(members), span, program, constant))
    return tuple(steps)


def _dense_span(lo: int, hi: int, n: int, limit: int) -> tuple[int, ...]:
    """The contiguous wires a dense block is applied on: its span, padded with identity
    up to the last wire when that leaves no short trailing run (which matmul handles
    poorly) and the block stays within ``limit`` wires."""
    if hi < n - 1 and n - lo <= limit and 2 ** (n - 1 - hi) < 16:
        hi = n - 1
    return tuple(range(lo, hi + 1))


def _block_program(members: list[int], ops: list, wires: tuple[int, ...]) -> tuple[Segment, ...]:
    """Split a dense block into Kronecker layers, composed permutations and other ops."""
    program: list[Segment] = []
    layer: list[int] = []
    perm: list[int] = []

    def close() -> None:
        if layer:
            program.append(Segment(SegmentKind.LAYER, tuple(layer)))
            layer.clear()
        if perm:
            program.append(Segment(SegmentKind.PERMUTE, tuple(perm), _index_map(perm, ops, wires)))
            perm.clear()

    for i in members:
        op = ops[i]
        if op.gate.kind is g.Kind.PERMUTATION:
            if layer:
                close()
            perm.append(i)
        elif not op.controls and len(op.wires) == 1 and op.gate.n_wires == 1:
            if perm or any(ops[j].wires == op.wires for j in layer):
                close()
            layer.append(i)
        else:
            close()
            program.append(Segment(SegmentKind.OP, (i,)))
    close()
    return tuple(program)


def _index_map(members: list[int], ops: list, wires: tuple[int, ...]) -> tuple[int, ...]:
    """For permutation gates on the block's basis: where each output column comes from."""
    image = permutation_image([ops[i] for i in members], wires)
    source = torch.empty_like(image)
    source[image] = torch.arange(len(image))
    return tuple(source.tolist())


def _layer_matrix(segment: Segment, ops: list, values: list, wires, dtype, dev) -> torch.Tensor:
    """Kronecker product ``(Bm, d, d)`` of one layer's single-qubit gates, identity elsewhere.

    Gates of one kind are built in a single call with their parameters stacked, so a layer
    of n rotations costs a few torch ops, not a few per gate.
    """
    per_wire: dict[int, torch.Tensor] = {}
    for members, stacked in grouped_matrices(ops, values, segment.ops, dtype, dev):
        if stacked.dim() == 3:  # diagonal gates: (g, Bm, 2) phases
            stacked = torch.diag_embed(stacked)
        for i, m in zip(members, stacked):
            per_wire[ops[i].wires[0]] = m
    eye = torch.eye(2, dtype=dtype, device=dev).unsqueeze(0)
    out = None
    for w in wires:
        m = per_wire.get(w, eye)
        out = m if out is None else torch.einsum("...ij,...kl->...ikjl", out, m).reshape(
            max(out.shape[0], m.shape[0]), out.shape[-1] * 2, out.shape[-1] * 2
        )
    return out


def block_operator(
    step: Step, ops: list, values: list, dtype: torch.dtype, dev: torch.device
) -> torch.Tensor:
    """The fused matrix ``(Bm, d, d)`` (DENSE) or phase vector ``(Bm, d)`` (PHASE) of a block.

    Index order: ``step.wires`` (sorted) with the first wire most significant.
    """
    k, d = len(step.wires), 2 ** len(step.wires)
    if step.kind is StepKind.PHASE:
        axis_of = {w: i + 2 for i, w in enumerate(step.wires)}
        mats = [op_matrix(ops[i], values[i], dtype, dev) for i in step.ops]
        batch = max(m.shape[0] for m in mats)
        acc = torch.ones((batch, 1) + (2,) * k, dtype=dtype, device=dev)
        for i, m in zip(step.ops, mats):
            acc = apply_op(acc, ops[i], m, axis_of)
        return acc.reshape(batch, d)
    # rows[b, i, :] = U e_i, i.e. rows = U^T: a later gate G maps rows to rows @ G^T.
    rows = None
    for segment in step.program:
        rows = _apply_segment(rows, segment, step, ops, values, dtype, dev)
    if rows is None:
        return torch.eye(d, dtype=dtype, device=dev).unsqueeze(0)
    return rows.transpose(-1, -2).contiguous()  # strided U: slow matmul


def step_operator(step: Step, ops: list, values: list, dtype: torch.dtype, dev: torch.device) -> torch.Tensor:
    """:func:`block_operator`, built once per (dtype, device) for a constant step and then
    reused; built afresh on every run for a step whose gates depend on the run's values."""
    if not step.constant:
        return block_operator(step, ops, values, dtype, dev)
    key = (dtype, dev)
    if key not in step.built:
        with torch.no_grad():  # nothing to differentiate; never keep a graph in a cache
            step.built[key] = block_operator(step, ops, values, dtype, dev)
    return step.built[key]


def step_matrix(step: Step, op: Operation, values: list, dtype: torch.dtype, dev: torch.device):
    """A SINGLE step's :func:`~hybrid.sim.apply.op_matrix`, made once per (dtype, device)
    when the op is constant; a large permutation table comes with its gather index."""
    if not step.constant:
        return op_matrix(op, values, dtype, dev)
    key = (dtype, dev)
    if key not in step.built:
        with torch.no_grad():
            m = op_matrix(op, values, dtype, dev)
        step.built[key] = PermutationIndex.of(m, dev) if isinstance(m, np.ndarray) else m
    return step.built[key]


def _apply_segment(rows, segment: Segment, step: Step, ops, values, dtype, dev):
    d = 2 ** len(step.wires)
    if segment.kind is SegmentKind.LAYER:
        layer = _layer_matrix(segment, ops, values, step.wires, dtype, dev)
        return layer.transpose(-1, -2) if rows is None else rows @ layer.transpose(-1, -2)
    if rows is None:
        rows = torch.eye(d, dtype=dtype, device=dev).unsqueeze(0)
    if segment.kind is SegmentKind.PERMUTE:
        return rows.index_select(-1, index_tensor(segment.index_map, dev))
    i = segment.ops[0]
    m = op_matrix(ops[i], values[i], dtype, dev)
    batch = max(rows.shape[0], m.shape[0] if isinstance(m, torch.Tensor) else 1)
    axis_of = {w: j + 2 for j, w in enumerate(step.wires)}
    grid = rows.expand(batch, d, d).reshape((batch, d) + (2,) * len(step.wires))
    return apply_op(grid, ops[i], m, axis_of).reshape(batch, d, d)


def product_state(step: Step, ops: list, values: list, n: int, index: int, dtype, dev) -> torch.Tensor:
    """The ``(Bm, 2**n)`` state a PRODUCT step makes from basis state ``index``."""
    parametrised = [i for i in step.ops if ops[i].gate.build is not None and ops[i].gate.n_params]
    built = {i: m for members, stacked in grouped_matrices(ops, values, parametrised, dtype, dev)
             for i, m in zip(members, stacked)}  # fmt: skip
    per_wire: dict[int, list[int]] = {w: [] for w in range(n)}
    for i in step.ops:
        per_wire[ops[i].wires[0]].append(i)
    state = None
    for w in range(n):
        v = torch.zeros((1, 2), dtype=dtype, device=dev)
        v[0, (index >> (n - 1 - w)) & 1] = 1
        for i in per_wire[w]:
            m = built[i] if i in built else op_matrix(ops[i], values[i], dtype, dev)
            kind = ops[i].gate.kind
            if kind is g.Kind.PERMUTATION:  # |x> -> |perm[x]>: new[y] = old[inverse[y]]
                v = v[:, list(dagger(g.Kind.PERMUTATION, m))]
            elif kind is g.Kind.DIAGONAL:
                v = v * m
            else:
                v = (m @ v.unsqueeze(-1)).squeeze(-1)
        state = v if state is None else (state.unsqueeze(-1) * v.unsqueeze(-2)).reshape(max(len(state), len(v)), -1)
    return state
