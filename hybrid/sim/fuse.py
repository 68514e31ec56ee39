"""Fusion: a circuit's structure -> a plan of step records, compiled once and cached.

A statevector gate is a streaming pass over memory, so the plan's job is fewer passes:

* :class:`DenseStep`: neighbouring gates whose wires fit in ``max_dense`` qubits become one
  ``2**k x 2**k`` matrix, applied in one pass;
* :class:`PhaseStep`: a run of diagonal gates (RZ, P, CP, CZ, RZZ, controlled phases...)
  on up to ``max_diagonal`` wires becomes one phase vector, one multiply pass;
* :class:`ProductStep`: leading one-wire gates on a basis state make a product state
  directly, with no passes at all;
* :class:`InstructionStep`: whatever cannot be fused (wide multi-controlled gates, big
  permutations, measurements, classically conditioned gates) runs alone.

Gates are pulled forward into an open block past gates they commute with trivially (no
shared wire), as statevector fusers do. This module is structure only (gate kinds, wires,
which gates are batched): numbers are turned into operators by :mod:`.operators` on every
run, and :mod:`.execute` applies each step. Plans are cached per circuit in a weak mapping,
keyed on the circuit's version, which only its builders bump (its ``ops`` are read-only).
"""

from __future__ import annotations

import enum
import numbers
import weakref
from dataclasses import dataclass, replace
from typing import ClassVar

import numpy as np
import torch

from . import gates as g
from .circuit import Circuit
from .instructions import Channel, Operation
from .kernels import inverse_permutation

__all__ = [
    "FusionConfig", "Step", "ProductStep", "DenseStep", "PhaseStep", "InstructionStep", "Segment", "SegmentKind",
    "plan_for", "compile_plan", "permutation_image", "permutation_runs", "is_constant",
]  # fmt: skip


class SegmentKind(enum.Enum):
    LAYER = "layer"  # single-qubit gates on distinct wires: one Kronecker product
    PERMUTE = "permute"  # a run of permutation gates: one composed index map
    OP = "op"  # anything else, applied to the block matrix by the generic kernels


@dataclass(frozen=True)
class Segment:
    kind: SegmentKind
    ops: tuple[int, ...]
    index_map: tuple[int, ...] = ()  # PERMUTE: column y of the result is column index_map[y]


# Step records. ``ops`` index into ``circuit.ops`` in application order. ``constant``: every
# op's operator is fixed by the circuit alone, so :mod:`.operators` builds it once per
# (dtype, device) and keeps it as long as the step lives. Identity equality (eq=False):
# steps are keys of that cache.


@dataclass(frozen=True, eq=False)
class ProductStep:
    """Leading one-wire gates on a basis state: the product state they make."""

    ops: tuple[int, ...]
    constant: ClassVar[bool] = False  # made afresh each run: one cheap product state


@dataclass(frozen=True, eq=False)
class DenseStep:
    """A fused ``2**k x 2**k`` block on the contiguous sorted ``wires``."""

    ops: tuple[int, ...]
    wires: tuple[int, ...]
    program: tuple[Segment, ...]  # how to build the matrix quickly
    constant: bool = False


@dataclass(frozen=True, eq=False)
class PhaseStep:
    """A fused diagonal block: one phase vector over the sorted ``wires``."""

    ops: tuple[int, ...]
    wires: tuple[int, ...]
    constant: bool = False


@dataclass(frozen=True, eq=False)
class InstructionStep:
    """One instruction alone (a gate on the generic kernels, a measurement...)."""

    op: int
    constant: bool = False

    @property
    def ops(self) -> tuple[int, ...]:
        return (self.op,)


Step = ProductStep | DenseStep | PhaseStep | InstructionStep


@dataclass(frozen=True)
class FusionConfig:
    """Block sizes. ``max_dense`` trades passes for compute (4 suits a 2-core CPU, 5 a GPU);
    ``max_dense_batched`` caps blocks that hold per-sample (batched) gates (each sample gets
    its own matrix); ``small_circuit`` lets batch-independent blocks span every wire when n
    is that small and the batch is larger than 2**n."""

    max_dense: int = 4
    max_dense_batched: int = 2  # blocks holding per-sample (batched) gates
    max_diagonal: int = 10
    small_circuit: int = 8
    lookahead: int = 256
    max_superop: int = 2  # density matrices: gates and channels fused on this many wires (16**k entries)

    @staticmethod
    def for_device(device: torch.device) -> "FusionConfig":
        return FusionConfig(max_dense=5) if device.type == "cuda" else FusionConfig()


# --- the plan cache ---------------------------------------------------------------------------

# circuit -> {(version, batched ops, config, product start): steps}. Weak: a plan dies with
# its circuit. Versions only grow, so entries of an older version are dropped on sight.
_PLANS: "weakref.WeakKeyDictionary[Circuit, dict]" = weakref.WeakKeyDictionary()
_PLANS_PER_CIRCUIT = 16


def _cached(circuit: Circuit, key: tuple, build) -> object:
    entries = _PLANS.setdefault(circuit, {})
    if key not in entries:
        stale = [k for k in entries if k[0] != circuit.version]
        for k in stale if stale else (list(entries) if len(entries) >= _PLANS_PER_CIRCUIT else []):
            del entries[k]
        entries[key] = build()
    return entries[key]


def cached_plans(circuit: Circuit) -> dict:
    """The plans cached for ``circuit`` (for tests and inspection), keyed as above."""
    return dict(_PLANS.get(circuit, {}))


def plan_for(
    circuit: Circuit, values: list, config: FusionConfig | None, batch: int, product_start: bool = False
) -> tuple[Step, ...]:
    """The steps a run of ``circuit`` with resolved ``values`` takes (``config=None``: the
    generic path, one instruction at a time, never fused)."""
    if config is None:
        return tuple(InstructionStep(i) for i in range(len(circuit)))
    if not whole_width_pays(circuit.n_qubits, batch):
        config = replace(config, small_circuit=0)
    batched = frozenset(i for i, op in enumerate(circuit.ops) if _is_batched(op, values[i]))
    return compile_plan(circuit, batched, config, product_start)


# The fixed cost of one torch operation (~10 us of dispatch on the 2-core CPU), counted in
# amplitude updates it could have done instead; fitted to the measurements below.
_OP_OVERHEAD_UPDATES = 2**15


def whole_width_pays(n: int, batch: int) -> bool:
    """Whether batch-independent gates should fuse into whole-width ``2**n x 2**n`` blocks
    (on circuits of at most ``FusionConfig.small_circuit`` qubits).

    A cost model in amplitude updates: building the block runs ``2**n`` identity rows
    through the gates (``4**n``), running the batch through them directly costs
    ``batch * 2**n``, and the block's few large operations save the per-operation overhead
    of the many small ones (``_OP_OVERHEAD_UPDATES``). Measured on a 2-core CPU (forward +
    backward, float64/complex128; whole-width / gate-by-gate time): QuantumLayer (angle
    encoding + 2-layer SEL) at 8 qubits 1.23 (batch 16), 1.02 (64), 0.84 (128), 0.67 (256),
    0.54 (1024); at 6 qubits 0.5-0.66 from batch 4 on; bare 2-layer SEL at batch 1: 0.59
    (5 qubits), 0.64 (6), 0.79 (7), 1.38 (8). The model puts the 8-qubit crossover at batch
    128 and makes whole-width blocks pay at every batch below 8 qubits.
    """
    return 4**n <= batch * 2**n + _OP_OVERHEAD_UPDATES


def _is_batched(op, values) -> bool:
    if any(v.shape[0] > 1 for v in values):
        return True
    return (op.batch_size or 0) > 1


def compile_plan(
    circuit: Circuit, batched_ops: frozenset[int], config: FusionConfig, product_start: bool = False
) -> tuple[Step, ...]:
    """Fuse ``circuit`` into steps; cached per (circuit version, batched ops, config).

    With ``product_start`` (the run starts from a basis state) the one-wire gates that
    come before anything entangles their wire form a :class:`ProductStep`.
    """

    def build() -> tuple[Step, ...]:
        ops, n = circuit.ops, circuit.n_qubits
        prefix = _product_prefix(ops, n) if product_start else []
        head = (ProductStep(tuple(prefix)),) if prefix else ()
        return head + _fuse(ops, n, batched_ops, config, skip=frozenset(prefix))

    return _cached(circuit, (circuit.version, batched_ops, config, product_start), build)


def is_constant(op) -> bool:
    """Whether ``op``'s operator is fixed by the circuit alone, the same on every run.

    Plain numbers as parameters (symbols are re-bound and tensors may be batched, tracked
    by autograd or changed between runs) and shared data that needs no gradient. A
    circuit's data tensors are treated as structure: edit them by building a new circuit.
    """
    if not isinstance(op, Operation | Channel):
        return False
    if not all(isinstance(p, numbers.Real) for p in op.params):
        return False
    data = op.data
    return not (isinstance(data, torch.Tensor) and (data.requires_grad or op.batch_size is not None))


def _is_diagonal(op: Operation) -> bool:
    return op.gate.kind is g.Kind.DIAGONAL


def _fusable(op, limit: int) -> bool:
    """Only plain gates fuse here; measurements, conditioned gates and channels run alone
    (a density matrix fuses channels too: :mod:`.superop`)."""
    return isinstance(op, Operation) and op.condition is None and len(op.all_wires) <= limit


def _product_prefix(ops, n: int) -> list[int]:
    """Ops that act alone on a wire nothing has entangled yet (they commute with the rest)."""
    closed: set[int] = set()
    prefix: list[int] = []
    for i, op in enumerate(ops):
        one_wire = _fusable(op, 1) and not op.controls and len(op.wires) == 1
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
    ops, n: int, batched_ops: frozenset[int], config: FusionConfig, skip: frozenset[int] = frozenset()
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
            steps.append(InstructionStep(start, constant=is_constant(op)))
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
            steps.append(PhaseStep(tuple(members), tuple(sorted(wires)), constant))
        elif len(members) == 1 and op.gate.kind is g.Kind.PERMUTATION:
            # Nothing to fuse: a lone CNOT, SWAP or Toffoli moves amplitudes in place where a
            # block would multiply by a 0/1 matrix.
            steps.append(InstructionStep(start, constant=constant))
        else:
            span = _dense_span(min(wires), max(wires), n, _dense_limit(n, batched, config))
            steps.append(DenseStep(tuple(members), span, _block_program(members, ops, span), constant))
    return tuple(steps)


def _dense_span(lo: int, hi: int, n: int, limit: int) -> tuple[int, ...]:
    """The contiguous wires a dense block is applied on: its span, padded with identity
    up to the last wire when that leaves no short trailing run (which matmul handles
    poorly) and the block stays within ``limit`` wires."""
    if hi < n - 1 and n - lo <= limit and 2 ** (n - 1 - hi) < 16:
        hi = n - 1
    return tuple(range(lo, hi + 1))


def _block_program(members: list[int], ops, wires: tuple[int, ...]) -> tuple[Segment, ...]:
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


def _index_map(members: list[int], ops, wires: tuple[int, ...]) -> tuple[int, ...]:
    """For permutation gates on the block's basis: where each output column comes from."""
    image = permutation_image([ops[i] for i in members], wires)
    source = np.empty_like(image)
    source[image] = np.arange(len(image))
    return tuple(source.tolist())


def permutation_image(ops, wires) -> np.ndarray:
    """Where each basis state of ``wires`` (``wires[0]`` the most significant bit) goes
    through a sequence of permutation gates, controlled or not: ``image[x]``.

    Integer bit arithmetic over all ``2**len(wires)`` indices at once; structure only, so
    callers cache the result with their plan.
    """
    k = len(wires)
    shift = {w: k - 1 - i for i, w in enumerate(wires)}
    # numpy, not torch: plans call this for many small blocks, where torch's per-op
    # overhead (several microseconds) dwarfs the arithmetic on a few dozen integers.
    x = np.arange(2**k, dtype=np.int64)
    for op in ops:
        perm = op.gate.permutation if op.gate.permutation is not None else op.data
        table = np.asarray(inverse_permutation(perm) if op.adjoint else perm, dtype=np.int64)
        local = np.zeros_like(x)
        for w in op.wires:
            local = (local << 1) | ((x >> shift[w]) & 1)
        moved = table[local]
        new = x.copy()
        for j, w in enumerate(reversed(op.wires)):
            new = (new & ~(1 << shift[w])) | (((moved >> j) & 1) << shift[w])
        active = np.ones(x.shape, dtype=bool)
        for c, v in zip(op.controls, op.control_values):
            active &= ((x >> shift[c]) & 1) == v
        x = np.where(active, new, x)
    return x


def permutation_runs(circuit: Circuit) -> dict[int, tuple[int, torch.Tensor]]:
    """Runs of two or more consecutive plain permutation gates (CNOT rings, swaps, oracles):
    ``{last op index: (first op index, image)}`` where basis state x goes to image[x]
    through the run, so gathering a state by ``image`` undoes it (the adjoint sweep does
    this on small states, where one gather beats many small slice swaps). Cached with the
    circuit's plans."""

    def build() -> dict[int, tuple[int, torch.Tensor]]:
        runs, start, ops = {}, None, circuit.ops
        for i, op in enumerate(ops + (None,)):
            is_perm = _fusable(op, circuit.n_qubits) and op.gate.kind is g.Kind.PERMUTATION
            if is_perm and start is None:
                start = i
            if not is_perm and start is not None:
                if i - start >= 2:
                    image = permutation_image(ops[start:i], range(circuit.n_qubits))
                    runs[i - 1] = (start, torch.from_numpy(image))
                start = None
        return runs

    return _cached(circuit, (circuit.version, "permutation-runs"), build)
