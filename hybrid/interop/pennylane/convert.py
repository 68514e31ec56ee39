"""PennyLane operations -> a hybrid :class:`~hybrid.sim.Circuit` (the gate table).

Device wires are mapped to engine wires 0..n-1 in device wire order, so wire 0 (the
first device wire) is the most significant bit, which is PennyLane's own convention:
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

from hybrid.sim import Circuit

__all__ = ["NATIVE_GATES", "is_native", "angle_gate", "to_circuit", "param_value"]

Builder = Callable[[Circuit, list[int], list, Operator], object]


def param_value(x) -> object:
    """A gate parameter for the engine: torch tensors as they are, anything else as a tensor."""
    if isinstance(x, torch.Tensor):
        return x
    return torch.as_tensor(np.array(qml.math.unwrap(x)))  # a copy: torch refuses negative strides


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
    "Identity": _identity,
    "PauliX": lambda c, w, p, op: c.x(w[0]),
    "PauliY": lambda c, w, p, op: c.y(w[0]),
    "PauliZ": lambda c, w, p, op: c.z(w[0]),
    "Hadamard": lambda c, w, p, op: c.h(w[0]),
    "S": lambda c, w, p, op: c.s(w[0]),
    "T": lambda c, w, p, op: c.t(w[0]),
    "SX": lambda c, w, p, op: c.sx(w[0]),
    "RX": lambda c, w, p, op: c.rx(p[0], w[0]),
    "RY": lambda c, w, p, op: c.ry(p[0], w[0]),
    "RZ": lambda c, w, p, op: c.rz(p[0], w[0]),
    "PhaseShift": lambda c, w, p, op: c.p(p[0], w[0]),
    "U1": lambda c, w, p, op: c.p(p[0], w[0]),
    "U2": lambda c, w, p, op: c.u(math.pi / 2, p[0], p[1], w[0]),
    "U3": lambda c, w, p, op: c.u(p[0], p[1], p[2], w[0]),
    "Rot": lambda c, w, p, op: c.rot(p[0], p[1], p[2], w[0]),
    "CNOT": lambda c, w, p, op: c.cx(w[0], w[1]),
    "CY": lambda c, w, p, op: c.cy(w[0], w[1]),
    "CZ": lambda c, w, p, op: c.cz(w[0], w[1]),
    "CH": lambda c, w, p, op: c.ch(w[0], w[1]),
    "SWAP": lambda c, w, p, op: c.swap(w[0], w[1]),
    "ISWAP": lambda c, w, p, op: c.iswap(w[0], w[1]),
    "CSWAP": lambda c, w, p, op: c.cswap(w[0], w[1], w[2]),
    "Toffoli": lambda c, w, p, op: c.ccx(w[0], w[1], w[2]),
    "MultiControlledX": _multi_controlled_x,
    "CRX": lambda c, w, p, op: c.crx(p[0], w[0], w[1]),
    "CRY": lambda c, w, p, op: c.cry(p[0], w[0], w[1]),
    "CRZ": lambda c, w, p, op: c.crz(p[0], w[0], w[1]),
    "CRot": lambda c, w, p, op: c.ctrl(w[0], Circuit(1).rot(p[0], p[1], p[2], 0), wires=[w[1]]),
    "ControlledPhaseShift": lambda c, w, p, op: c.cp(p[0], w[0], w[1]),
    "IsingXX": lambda c, w, p, op: c.rxx(p[0], w[0], w[1]),
    "IsingYY": lambda c, w, p, op: c.ryy(p[0], w[0], w[1]),
    "IsingZZ": lambda c, w, p, op: c.rzz(p[0], w[0], w[1]),
    "QubitUnitary": lambda c, w, p, op: c.unitary(p[0], w),
    "DiagonalQubitUnitary": lambda c, w, p, op: c.diagonal(p[0], w),
    "GlobalPhase": _global_phase,
}

NATIVE_GATES: frozenset[str] = frozenset(_TABLE) | {f"Adjoint({n})" for n in ("S", "T", "SX")}
"""Names handed to PennyLane's decomposition as the target gate set."""

# Gates whose parameters are matrices: the adjoint method differentiates angles only.
MATRIX_GATES = frozenset({"QubitUnitary", "DiagonalQubitUnitary"})


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
    return op.name in _TABLE and op.name not in MATRIX_GATES


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
        initial = _initial_state(ops.pop(0), wire_order, n)
    for op in ops:
        append(circuit, op, index)
    return circuit, initial


def append(circuit: Circuit, op: Operator, index: Mapping) -> None:
    """Append ``op`` to ``circuit``, its wires looked up in ``index`` (label -> engine wire)."""
    wires = [index[w] for w in op.wires]
    builder = _TABLE.get(op.name)
    if builder is not None:
        builder(circuit, wires, [param_value(d) for d in op.data], op)
        return
    if isinstance(op, Adjoint):
        sub, targets = _local(op.base, circuit.n_qubits, index)
        circuit.compose(sub.inverse(), wires=targets)
        return
    if isinstance(op, Controlled) and not isinstance(op.base, StatePrepBase):
        sub, targets = _local(op.base, circuit.n_qubits, index, spare=op.control_wires[0])
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


def _local(base: Operator, n_total: int, index: Mapping, spare=None) -> tuple[Circuit, list[int]]:
    """``base`` on its own small circuit (wires 0..k-1), and where those wires go."""
    labels = list(base.wires) or [spare]  # a wire-less GlobalPhase still needs one wire
    sub = Circuit(len(labels))
    append(sub, base, {w: i for i, w in enumerate(labels)})
    return sub, [index[w] for w in labels]


def _initial_state(op: StatePrepBase, wire_order: Sequence, n: int):
    vec = op.state_vector(wire_order=qml.wires.Wires(wire_order))  # (2,)*n or (B, 2,...,2)
    batched = op.batch_size is not None
    shape = (op.batch_size, 2**n) if batched else (2**n,)
    vec = qml.math.reshape(vec, shape)
    if isinstance(vec, torch.Tensor):
        return vec
    return torch.as_tensor(np.asarray(vec))
