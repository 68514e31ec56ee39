"""Translation between PennyLane and the hybrid engine, both directions, from one table.

* PennyLane -> ours: :func:`to_circuit` (operations -> :class:`~hybrid.sim.Circuit`, what
  the ``hybrid.qubit`` device runs) and :func:`pauli_sum` (observable -> ``PauliSum``).
* ours -> PennyLane: :func:`to_pennylane` (a ``Circuit`` applied as PennyLane operations
  inside a QNode or tape) and :func:`from_pauli_sum` (``PauliSum`` -> observable).

Gate names are in :data:`_ROWS` only: each row says which of our gates, with how many
control wires, a PennyLane operation is; both directions are derived from it, so a new
gate is added once.

Wires: engine wire i is the i-th label of the device's wire order, so wire 0 (the first
device wire) is the most significant bit in both, which is PennyLane's own convention:
amplitudes need no reordering at this edge.

Parameters stay whatever they are (torch tensors keep their autograd graph, numpy values
become tensors); a broadcast parameter of shape ``(B,)`` is an engine batch.
"""

from __future__ import annotations

import math
from typing import Callable, Mapping, Sequence

import numpy as np
import pennylane as qml
import torch
from pennylane.operation import Operator
from pennylane.ops.op_math import Adjoint, Controlled
from pennylane.ops.qubit.state_preparation import StatePrepBase

from hybrid.sim import Circuit, Operation
from hybrid.sim import gates as g
from hybrid.sim.channels import safe_sqrt
from hybrid.sim.observables import Pauli, PauliSum
from hybrid.sim.params import ParamExpr

__all__ = [
    "NATIVE_GATES", "TABLE_NAMES", "MATRIX_GATES", "CHANNEL_NAMES", "is_native", "is_channel", "append", "initial_state", "angle_gate", "to_circuit", "param_value", "pauli_sum", "to_pennylane",
    "from_pauli_sum",
]  # fmt: skip

Builder = Callable[[Circuit, list[int], list, Operator], object]

# (PennyLane operation, our gate, number of control wires). The PennyLane operation's
# parameters are the gate's, in the same order, and its wires are the controls followed
# by the targets. Where two rows give the same (gate, controls), the first one is what
# our gates become in PennyLane (PhaseShift, not U1).
_ROWS: tuple[tuple[type[Operator], g.Gate, int], ...] = (
    (qml.PauliX, g.X, 0), (qml.CNOT, g.X, 1), (qml.Toffoli, g.X, 2),
    (qml.PauliY, g.Y, 0), (qml.CY, g.Y, 1),
    (qml.PauliZ, g.Z, 0), (qml.CZ, g.Z, 1),
    (qml.Hadamard, g.H, 0), (qml.CH, g.H, 1),
    (qml.S, g.S, 0), (qml.T, g.T, 0), (qml.SX, g.SX, 0),
    (qml.RX, g.RX, 0), (qml.CRX, g.RX, 1),
    (qml.RY, g.RY, 0), (qml.CRY, g.RY, 1),
    (qml.RZ, g.RZ, 0), (qml.CRZ, g.RZ, 1),
    (qml.PhaseShift, g.P, 0), (qml.ControlledPhaseShift, g.P, 1), (qml.U1, g.P, 0),
    (qml.U3, g.U, 0),
    (qml.Rot, g.ROT, 0), (qml.CRot, g.ROT, 1),
    (qml.SWAP, g.SWAP, 0), (qml.CSWAP, g.SWAP, 1), (qml.ISWAP, g.ISWAP, 0),
    (qml.IsingXX, g.RXX, 0), (qml.IsingYY, g.RYY, 0),
    # IsingZZ, not MultiRZ: the same matrix, but lightning.qubit's adjoint method returns
    # (B, B) instead of (B,) for broadcast MultiRZ parameters (pennylane-lightning 0.45).
    (qml.IsingZZ, g.RZZ, 0),
)  # fmt: skip


def param_value(x) -> object:
    """A gate parameter for the engine: torch tensors as they are, anything else as a tensor."""
    if isinstance(x, torch.Tensor):
        return x
    return torch.as_tensor(np.array(qml.math.unwrap(x)))  # a copy: torch refuses negative strides


# --- PennyLane -> ours ------------------------------------------------------------------------


def _row_builder(gate: g.Gate, n_controls: int) -> Builder:
    def build(c: Circuit, w: list[int], p: list, op: Operator) -> None:
        c.apply(gate, w[n_controls:], p, controls=w[:n_controls])

    return build


def _multi_controlled_x(c: Circuit, w: list[int], p: list, op: Operator) -> None:
    c.mcx(w[:-1], w[-1], control_values=[int(v) for v in op.control_values])


def _global_phase(c: Circuit, w: list[int], p: list, op: Operator) -> None:
    # PennyLane's GlobalPhase(phi) is exp(-i phi); the engine's global_phase(phi) is exp(+i phi).
    c.global_phase(-p[0])


def _identity(c: Circuit, w: list[int], p: list, op: Operator) -> None:
    """Identity (any number of wires): nothing to do."""


# One entry per PennyLane operation name the engine runs directly; everything else is
# decomposed by PennyLane until it lands in this table (or in Adjoint/Controlled of it).
_TABLE: dict[str, Builder] = {
    **{cls.__name__: _row_builder(gate, k) for cls, gate, k in _ROWS},
    # Operations that are not one gate with the same parameters:
    "Identity": _identity,
    "U2": lambda c, w, p, op: c.u(math.pi / 2, p[0], p[1], w[0]),
    "MultiControlledX": _multi_controlled_x,
    "QubitUnitary": lambda c, w, p, op: c.unitary(p[0], w),
    "DiagonalQubitUnitary": lambda c, w, p, op: c.diagonal(p[0], w),
    "GlobalPhase": _global_phase,
}



def _kraus_list(c: Circuit, w: list[int], p: list, op: Operator) -> None:
    """QubitChannel: its Kraus matrices, one data entry each, stacked into ``(K, d, d)``."""
    mats = [m if isinstance(m, torch.Tensor) else torch.as_tensor(np.asarray(m)) for m in p]
    like = next((m for m in mats if m.requires_grad), mats[0])
    c.kraus(torch.stack([m.to(device=like.device) for m in mats]), w)


def _replace_state(c: Circuit, w: list[int], p: list, op: Operator) -> None:
    """QubitDensityMatrix(sigma): the wires' state becomes sigma, wherever it stands (as on
    default.mixed: rho -> Tr_W(rho) (x) sigma). That is a channel, with Kraus operators
    sqrt(l_a) |v_a><b| for sigma's eigenpairs (l_a, v_a) and every basis state b of W."""
    sigma = p[0] if isinstance(p[0], torch.Tensor) else torch.as_tensor(np.asarray(p[0]))
    sigma = sigma.to(torch.complex128) if not sigma.is_complex() else sigma
    values, vectors = torch.linalg.eigh(sigma)
    scaled = (vectors * safe_sqrt(values.clamp_min(0)).to(sigma.dtype)).T  # row a: sqrt(l_a) v_a
    d = sigma.shape[-1]
    eye = torch.eye(d, dtype=sigma.dtype, device=sigma.device)
    c.kraus(torch.einsum("ai,bj->abij", scaled, eye).reshape(d * d, d, d), w)


# PennyLane's noise channels (``pennylane.ops.channel``): the engine's channels have the same
# meanings and parameters, in PennyLane's order except where a builder reorders them.
_CHANNELS: dict[str, Builder] = {
    "DepolarizingChannel": lambda c, w, p, op: c.depolarizing(p[0], w[0]),
    "BitFlip": lambda c, w, p, op: c.bit_flip(p[0], w[0]),
    "PhaseFlip": lambda c, w, p, op: c.phase_flip(p[0], w[0]),
    "PauliError": lambda c, w, p, op: c.pauli_error(op.hyperparameters["operators"], p[0], w),
    "AmplitudeDamping": lambda c, w, p, op: c.amplitude_damping(p[0], w[0]),
    "GeneralizedAmplitudeDamping": lambda c, w, p, op: c.generalized_amplitude_damping(p[0], p[1], w[0]),
    "PhaseDamping": lambda c, w, p, op: c.phase_damping(p[0], w[0]),
    # PennyLane's order is (pe, t1, t2, tg); the engine's is Aer's (t1, t2, time, pe).
    "ThermalRelaxationError": lambda c, w, p, op: c.thermal_relaxation(p[1], p[2], p[3], w[0], p[0]),
    "ResetError": lambda c, w, p, op: c.reset_error(p[0], p[1], w[0]),
    "QubitChannel": _kraus_list,
    "QubitDensityMatrix": _replace_state,  # not a channel in PennyLane, but one here
}
_TABLE.update(_CHANNELS)

CHANNEL_NAMES: frozenset[str] = frozenset(_CHANNELS)
"""PennyLane operations the engine runs as channels: every one of ``pennylane.ops.channel``
and QubitDensityMatrix."""

TABLE_NAMES: frozenset[str] = frozenset(_TABLE)
"""PennyLane operation names the engine builds directly (gates and channels)."""

NATIVE_GATES: frozenset[str] = TABLE_NAMES | {f"Adjoint({n})" for n in ("S", "T", "SX")}
"""Names handed to PennyLane's decomposition as the target gate set."""

# Operations whose parameters are matrices (they stay data, never symbols); the adjoint
# method differentiates angles only.
MATRIX_GATES = frozenset({"QubitUnitary", "DiagonalQubitUnitary", "QubitChannel", "QubitDensityMatrix"})


# An operation PennyLane cannot decompose but can write as a matrix runs as a dense
# unitary when it is this small (DoubleExcitationPlus, BlockEncode...).
MAX_MATRIX_WIRES = 8


def is_native(op: Operator) -> bool:
    """Whether the engine runs ``op`` without decomposing it (the decompose stopping condition)."""
    if op.name in _TABLE:
        return True
    if isinstance(op, Adjoint | Controlled) and not isinstance(op.base, StatePrepBase):
        return is_native(op.base)
    return _matrix_only(op)


def angle_gate(op: Operator) -> bool:
    """Whether ``op``'s parameters are gate angles the engine differentiates (not matrices)."""
    if isinstance(op, Adjoint | Controlled) and op.name not in _TABLE:
        return angle_gate(op.base)
    return op.name in _TABLE and op.name not in MATRIX_GATES and op.name not in CHANNEL_NAMES


def is_channel(op: Operator) -> bool:
    """Whether ``op`` runs as an engine channel (a PennyLane noise channel or QubitDensityMatrix)."""
    return op.name in CHANNEL_NAMES


def _matrix_only(op: Operator) -> bool:
    return (
        not isinstance(op, StatePrepBase)
        and op.has_matrix
        and not op.has_decomposition
        and 0 < len(op.wires) <= MAX_MATRIX_WIRES
    )


def to_circuit(ops: Sequence[Operator], wire_order: Sequence) -> tuple[Circuit, object]:
    """Build the engine circuit for ``ops`` on ``wire_order``.

    A leading state preparation (StatePrep, BasisState...) becomes the initial state.

    Returns:
        ``(circuit, initial_state)``; ``initial_state`` is ``None`` (|0...0>) or
        amplitudes ``(2**n,)`` / ``(B, 2**n)``.
    """
    index = {w: i for i, w in enumerate(wire_order)}
    n = max(len(index), 1)
    circuit = Circuit(n)
    ops = list(ops)
    initial = None
    if ops and isinstance(ops[0], StatePrepBase):
        initial = initial_state(ops.pop(0), wire_order)
    for op in ops:
        append(circuit, op, index)
    return circuit, initial


def append(circuit: Circuit, op: Operator, index: Mapping, values: Sequence | None = None) -> None:
    """Append ``op`` to ``circuit``, its wires looked up in ``index`` (label -> engine wire).

    ``values`` replace the operation's own parameters (symbols, for a circuit that many
    tapes of one structure share); by default they are ``op.data``.
    """
    wires = [index[w] for w in op.wires]
    builder = _TABLE.get(op.name)
    params = [param_value(d) for d in op.data] if values is None else list(values)
    if builder is not None:
        builder(circuit, wires, params, op)
        return
    if isinstance(op, Adjoint):
        sub, targets = _local(op.base, circuit.n_qubits, index, values=values)
        circuit.compose(sub.inverse(), wires=targets)
        return
    if isinstance(op, Controlled) and not isinstance(op.base, StatePrepBase):
        sub, targets = _local(op.base, circuit.n_qubits, index, spare=op.control_wires[0], values=values)
        controls = [index[w] for w in op.control_wires]
        circuit.ctrl(controls, sub, wires=targets, control_values=[int(v) for v in op.control_values])
        return
    if _matrix_only(op):
        circuit.unitary(op.matrix(), wires)
        return
    if isinstance(op, StatePrepBase):
        raise qml.exceptions.DeviceError(
            f"hybrid.qubit prepares states only as the first operation; {op.name} appears later. "
            "Move it to the start of the circuit."
        )
    raise qml.exceptions.DeviceError(
        f"hybrid.qubit has no gate for {op.name}; it should have been decomposed. "
        "Run the tape through the device's preprocess transforms first."
    )


def _local(base: Operator, n_total: int, index: Mapping, spare=None, values=None) -> tuple[Circuit, list[int]]:
    """``base`` on its own small circuit (wires 0..k-1), and where those wires go."""
    labels = list(base.wires) or [spare]  # a wire-less GlobalPhase still needs one wire
    sub = Circuit(len(labels))
    append(sub, base, {w: i for i, w in enumerate(labels)}, values)
    return sub, [index[w] for w in labels]


def initial_state(op: StatePrepBase, wire_order: Sequence):
    """A state preparation's amplitudes on ``wire_order``: ``(2**n,)`` or ``(B, 2**n)``."""
    n = max(len(wire_order), 1)
    vec = op.state_vector(wire_order=qml.wires.Wires(wire_order))  # (2,)*n or (B, 2,...,2)
    batched = op.batch_size is not None
    shape = (op.batch_size, 2**n) if batched else (2**n,)
    vec = qml.math.reshape(vec, shape)
    if isinstance(vec, torch.Tensor):
        return vec
    return torch.as_tensor(np.asarray(vec))


def pauli_sum(obs, index: Mapping) -> PauliSum | None:
    """``obs`` as an engine PauliSum, or ``None`` when it has no real, constant Pauli form."""
    rep = obs.pauli_rep
    if rep is None:
        return None
    terms = []
    for word, coeff in rep.items():
        if isinstance(coeff, torch.Tensor) and coeff.requires_grad:
            return None  # trainable coefficients: keep the graph through the dense path
        c = complex(np.asarray(qml.math.unwrap(qml.math.detach(coeff))))
        if abs(c.imag) > 1e-12:
            return None
        letters = tuple(sorted(((index[w], Pauli(p)) for w, p in word.items() if p != "I"), key=lambda t: t[0]))
        terms.append((c.real, letters))
    return PauliSum(tuple(terms))


# --- ours -> PennyLane ------------------------------------------------------------------------

# The first row for each (gate, controls) is the PennyLane operation it becomes (reversed:
# earlier rows overwrite later ones).
_OPERATIONS: dict[tuple[g.Gate, int], type[Operator]] = {(gate, k): cls for cls, gate, k in reversed(_ROWS)}


def _permutation_matrix(table, dim: int) -> np.ndarray:
    """``|x> -> |table[x]>`` as a ``(dim, dim)`` matrix (column x has its 1 in row table[x])."""
    m = np.zeros((dim, dim), dtype=complex)
    m[np.asarray(table), np.arange(dim)] = 1.0
    return m


def _data_operation(op: Operation, params: list, targets: list) -> Operator:
    """The uncontrolled PennyLane form of a gate that no row covers (data gates, phases, identity)."""
    if op.gate is g.I:
        return qml.Identity(targets)
    if op.gate is g.GLOBAL_PHASE:
        return qml.GlobalPhase(-params[0])  # PennyLane's sign convention is the opposite of ours
    if op.gate is g.UNITARY:
        return qml.QubitUnitary(op.data, wires=targets)
    if op.gate is g.DIAGONAL:
        return qml.DiagonalQubitUnitary(op.data, wires=targets)
    if op.gate is g.PERMUTATION:
        return qml.QubitUnitary(_permutation_matrix(op.data, 2 ** len(targets)), wires=targets)
    raise ValueError(f"to_pennylane has no PennyLane operation for gate {op.gate.name!r}; add a row to _ROWS")


def _resolve(value, bindings: Mapping[str, object]):
    """A parameter's value: numbers and tensors as they are, symbols looked up and scaled.

    Unlike the engine's ``resolve_param`` this keeps the bound value's own shape and
    dtype: PennyLane reads a 0-d value as one angle and a ``(B,)`` one as a broadcast.
    """
    if not isinstance(value, ParamExpr):
        return value
    if value.name not in bindings:
        raise KeyError(f"circuit parameter {value.name!r} has no value in bindings; pass {{{value.name!r}: value}}")
    base = bindings[value.name]
    if value.scale == 1.0 and value.offset == 0.0:
        return base
    return base * value.scale + value.offset


def _alike(params: list) -> list:
    """Numbers beside a torch tensor become tensors too: PennyLane's matrix functions
    cannot mix interfaces (``U3(tensor, 0.3, tensor)`` fails in ``ones_like(0.3) * tensor``)."""
    like = next((p for p in params if isinstance(p, torch.Tensor)), None)
    if like is None:
        return params
    return [
        p if isinstance(p, torch.Tensor) else torch.as_tensor(p, dtype=like.dtype, device=like.device) for p in params
    ]


def _operation(op: Operation, bindings: Mapping[str, object], labels: Sequence) -> Operator:
    """One of our operations as a PennyLane operation (controls and adjoint included)."""
    if not op.unitary:
        raise ValueError(
            f"to_pennylane translates plain gates only; got {op.name!r} ({type(op).__name__}"
            f"{', classically conditioned' if op.condition is not None else ''}): run such circuits on the engine "
            "(hybrid.simulate), or write mid-circuit measurements with qml.measure/qml.cond"
        )
    params = _alike([_resolve(p, bindings) for p in op.params])
    targets, controls = [labels[w] for w in op.wires], [labels[w] for w in op.controls]
    row = _OPERATIONS.get((op.gate, len(controls)))
    if row is not None and all(op.control_values):
        out = row(*params, wires=controls + targets)
    else:
        base = _OPERATIONS.get((op.gate, 0))
        out = base(*params, wires=targets) if base is not None else _data_operation(op, params, targets)
        if controls:
            out = qml.ctrl(out, control=controls, control_values=[bool(v) for v in op.control_values])
    return qml.adjoint(out) if op.adjoint else out


def to_pennylane(
    circuit: Circuit, bindings: Mapping[str, object] | None = None, wires: Sequence | None = None
) -> list[Operator]:
    """Apply ``circuit``'s gates as PennyLane operations (queued when called inside a QNode
    or tape) and return them.

    Args:
        circuit: a hybrid circuit of gates (no mid-circuit measurements).
        bindings: values of its symbolic parameters, ``name -> value``; a symbol
            ``scale * p + offset`` becomes ``scale * bindings[p] + offset``. Torch tensors
            keep their graph, so gradients reach them; a ``(B,)`` value is a broadcast.
        wires: the PennyLane wire label of each engine wire (default ``0..n-1``).
    """
    bindings = {} if bindings is None else bindings
    labels = list(range(circuit.n_qubits)) if wires is None else list(wires)
    if len(labels) != circuit.n_qubits:
        raise ValueError(f"the circuit has {circuit.n_qubits} qubit(s) but {len(labels)} wire label(s) were given")
    with qml.QueuingManager.stop_recording():  # build first: ctrl/adjoint would dequeue their bases
        ops = [_operation(op, bindings, labels) for op in circuit.ops]
    if qml.QueuingManager.recording():
        for op in ops:
            qml.apply(op)
    return ops


_PAULIS = {Pauli.X: qml.PauliX, Pauli.Y: qml.PauliY, Pauli.Z: qml.PauliZ}


def from_pauli_sum(paulisum: PauliSum, wires: Sequence | None = None) -> Operator:
    """``paulisum`` as a PennyLane observable: one Pauli word when it is a single word with
    coefficient 1, else a ``qml.Hamiltonian``. ``wires[i]`` is the PennyLane label of
    engine wire i (default: the wire numbers themselves)."""
    label = (lambda w: w) if wires is None else (lambda w: wires[w])
    coeffs, ops = [], []
    for c, word in paulisum.terms:
        factors = [_PAULIS[p](label(w)) for w, p in word]
        if not factors:
            ops.append(qml.Identity(label(0)))
        else:
            ops.append(factors[0] if len(factors) == 1 else qml.prod(*factors))
        coeffs.append(c)
    if len(ops) == 1 and coeffs[0] == 1.0:
        return ops[0]
    return qml.Hamiltonian(coeffs, ops)
