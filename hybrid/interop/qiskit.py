"""Qiskit and OpenQASM interop: the one place where bit order is converted.

Qiskit qubit ``q[i]`` becomes our wire ``i``. Qiskit numbers basis states little-endian
(qubit 0 is the least significant bit) while we read wire 0 as the most significant, so
the same circuit gives the same amplitudes at bit-reversed indices;
:func:`qiskit_order` / :func:`from_qiskit_order` convert vectors. Multi-qubit matrices
(unitary, diagonal, permutation gates) are handed over on reversed wires for the same
reason.

Gates we know are translated one to one (controlled gates of any size through Qiskit's
``ControlledGate``); anything else goes through Qiskit's own definition, recursively,
and as a last resort through its matrix. Noise travels both ways: Aer error
instructions (an appended ``QuantumError`` or ``qiskit.quantum_info.Kraus``) become our
channels, and our channels become Aer ``QuantumError`` instructions (see
:mod:`hybrid.noise.qiskit`); :func:`gate_name_from_qiskit` is the gate-name table that
noise models read from Aer go through.
"""

from __future__ import annotations

import functools
import re
import numpy as np
import torch

from ..sim import gates as g
from ..sim.circuit import Circuit
from ..sim.instructions import Channel, Measure, Operation
from ..sim.params import ParamExpr, Parameter

try:
    from qiskit import QuantumCircuit, qasm2, qasm3
    from qiskit import circuit as qiskit_circuit
    from qiskit.circuit import ClassicalRegister, ControlledGate, Gate, IfElseOp
    from qiskit.circuit import Parameter as QiskitParameter
    from qiskit.circuit import ParameterExpression
    from qiskit.circuit import library as qlib
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError("Qiskit interop needs the qiskit extra: pip install 'hybrid[qiskit]'") from exc

__all__ = [
    "from_qiskit", "to_qiskit", "from_qasm", "to_qasm", "qiskit_order", "from_qiskit_order", "gate_name_from_qiskit",
]  # fmt: skip

# --- names at the edge: Qiskit name -> (our gate, adjoint) -------------------------------

_NATIVE: dict[str, tuple[g.Gate, bool]] = {
    "id": (g.I, False), "x": (g.X, False), "y": (g.Y, False), "z": (g.Z, False), "h": (g.H, False),
    "s": (g.S, False), "sdg": (g.S, True), "t": (g.T, False), "tdg": (g.T, True),
    "sx": (g.SX, False), "sxdg": (g.SX, True), "rx": (g.RX, False), "ry": (g.RY, False),
    "rz": (g.RZ, False), "p": (g.P, False), "u1": (g.P, False), "u": (g.U, False), "u3": (g.U, False),
    "swap": (g.SWAP, False), "iswap": (g.ISWAP, False), "rxx": (g.RXX, False),
    "ryy": (g.RYY, False), "rzz": (g.RZZ, False), "global_phase": (g.GLOBAL_PHASE, False),
}  # fmt: skip

_TO_QISKIT = {
    g.I: qlib.IGate, g.X: qlib.XGate, g.Y: qlib.YGate, g.Z: qlib.ZGate, g.H: qlib.HGate,
    g.S: qlib.SGate, g.T: qlib.TGate, g.SX: qlib.SXGate, g.RX: qlib.RXGate, g.RY: qlib.RYGate,
    g.RZ: qlib.RZGate, g.P: qlib.PhaseGate, g.U: qlib.UGate, g.SWAP: qlib.SwapGate,
    g.ISWAP: qlib.iSwapGate, g.RXX: qlib.RXXGate, g.RYY: qlib.RYYGate, g.RZZ: qlib.RZZGate,
    g.GLOBAL_PHASE: qlib.GlobalPhaseGate,
}  # fmt: skip

_IGNORED = {"barrier", "delay"}


@functools.lru_cache(maxsize=None)
def gate_name_from_qiskit(name: str) -> str:
    """Our operation name (``Operation.name``) for the Qiskit instruction ``name``, as
    :func:`from_qiskit` converts it: ``u1`` -> ``p``, ``u3`` -> ``u``, ``cu1`` -> ``cp``,
    ``cx`` -> ``cx``... A ValueError for instructions that do not become one operation
    (gates converted through their decomposition, such as ``ecr``, or ignored ones)."""
    if name in ("measure", "reset"):
        return name
    if name in _IGNORED:
        raise ValueError(f"{name!r} instructions are dropped by from_qiskit, so nothing can follow them")
    from qiskit.circuit.library import get_standard_gate_name_mapping

    gate = get_standard_gate_name_mapping().get(name)
    if gate is None:
        raise ValueError(f"{name!r} is not a Qiskit standard gate, so it has no operation name here")
    scratch = Circuit(max(gate.num_qubits, 1))
    if gate.num_qubits == 0 or not _append_gate(scratch, gate, list(range(gate.num_qubits))):
        raise ValueError(
            f"Qiskit's {name!r} has no one-gate equivalent here: from_qiskit converts it through its "
            "decomposition, so nothing marks where it ends (transpile to gates such as cx, rz, sx, x first)"
        )
    return [op for op in scratch.ops if op.gate is not g.GLOBAL_PHASE][-1].name


# --- statevector order ----------------------------------------------------------------------


def _reverse_bits(vector, n: int):
    """Reorder amplitudes (last axis) so that bit order is reversed."""
    t = vector if isinstance(vector, torch.Tensor) else torch.as_tensor(np.asarray(vector))
    lead = t.shape[:-1]
    grid = t.reshape(lead + (2,) * n)
    k = len(lead)
    return grid.permute(*range(k), *reversed(range(k, k + n))).reshape(lead + (2**n,))


def qiskit_order(vector, n_qubits: int):
    """Our amplitudes (wire 0 = MSB) -> Qiskit's little-endian order."""
    return _reverse_bits(vector, n_qubits)


def from_qiskit_order(vector, n_qubits: int):
    """Qiskit's little-endian amplitudes -> ours (wire 0 = MSB)."""
    return _reverse_bits(vector, n_qubits)


# --- Qiskit -> hybrid ---------------------------------------------------------------------------


def from_qiskit(qc: "QuantumCircuit", *, keep_final_measurements: bool = False) -> Circuit:
    """Convert a ``QuantumCircuit``; qubit i -> wire i, clbit i -> classical bit i.

    Final measurements (nothing acts on their qubit afterwards and no later condition
    reads their bit) are dropped unless ``keep_final_measurements``; mid-circuit
    measurements, resets and ``if_test``/``if_else`` blocks on one bit or one register are
    kept. Not supported: other control flow (loops, switch, box), classical expressions as
    conditions, and measurements inside conditional blocks; these raise a ValueError.
    """
    if not isinstance(qc, QuantumCircuit):
        raise TypeError(f"from_qiskit() takes a qiskit.QuantumCircuit; got {type(qc).__name__}")
    skip = set() if keep_final_measurements else _final_measurements(qc)
    out = Circuit(max(qc.num_qubits, 1), qc.num_clbits)
    _append_qiskit(out, qc, list(range(qc.num_qubits)), list(range(qc.num_clbits)), skip)
    if _nonzero(qc.global_phase):
        out.global_phase(_param(qc.global_phase))
    return out


def _final_measurements(qc) -> set[int]:
    """Indices of top-level measurements whose qubit is idle and whose bit is unread afterwards."""
    busy_qubits, read_clbits, final = set(), set(), set()
    for index in range(len(qc.data) - 1, -1, -1):
        inst = qc.data[index]
        if inst.operation.name == "measure":
            qubit, clbit = inst.qubits[0], inst.clbits[0]
            if qubit not in busy_qubits and clbit not in read_clbits:
                final.add(index)
                continue  # a dropped measurement neither occupies its qubit nor its bit
        if inst.operation.name in _IGNORED:
            continue
        busy_qubits.update(inst.qubits)
        if isinstance(inst.operation, IfElseOp) or inst.operation.name not in ("measure", "reset"):
            read_clbits.update(inst.clbits)  # control flow lists the bits its condition reads
    return final


def _nonzero(value) -> bool:
    return isinstance(value, ParameterExpression) and bool(value.parameters) or float(value) != 0.0


def _param(value) -> float | ParamExpr:
    """A Qiskit parameter value -> ours: a float, or an affine function of one symbol."""
    if isinstance(value, ParameterExpression):
        if not value.parameters:
            return float(value)
        if len(value.parameters) > 1:
            raise ValueError(f"parameter expression {value} uses several symbols; bind it before converting")
        (sym,) = value.parameters
        slope = value.gradient(sym)
        if isinstance(slope, ParameterExpression) and slope.parameters:
            raise ValueError(f"parameter expression {value} is not affine in {sym}; bind it before converting")
        return Parameter(sym.name) * float(slope) + float(value.bind({sym: 0.0}))
    return float(value)


def _append_qiskit(out: Circuit, qc, qmap: list[int], cmap: list[int], skip: set[int] = frozenset()) -> None:
    for index, inst in enumerate(qc.data):
        op = inst.operation
        wires = [qmap[qc.find_bit(q).index] for q in inst.qubits]
        clbits = [cmap[qc.find_bit(c).index] for c in inst.clbits]
        if op.name in _IGNORED or index in skip:
            continue
        if op.name == "measure":
            out.measure(wires[0], clbits[0])
        elif op.name == "reset":
            out.reset(wires[0])
        elif isinstance(op, IfElseOp):
            _append_if_else(out, op, wires, clbits, qc, cmap)
        elif op.name in ("quantum_channel", "kraus"):
            _append_noise(out, op, wires)
        elif isinstance(op, qiskit_circuit.ControlFlowOp):
            raise ValueError(f"control flow {op.name!r} is not supported; only if/else on a bit or register is")
        elif not _append_gate(out, op, wires):
            _append_definition(out, op, wires)


def _append_gate(out: Circuit, op, wires: list[int]) -> bool:
    """Append a gate we know natively; False when we do not know it."""
    controls: list[int] = []
    values: list[int] = []
    base = op
    if isinstance(op, ControlledGate) and op.base_gate.name in _NATIVE:
        n_ctrl = op.num_ctrl_qubits
        controls, wires = wires[:n_ctrl], wires[n_ctrl:]
        values = [(op.ctrl_state >> i) & 1 for i in range(n_ctrl)]  # Qiskit: bit i <-> control i
        base = op.base_gate
        if isinstance(op, qlib.CUGate):  # CU carries a controlled global phase gamma beside its base U
            out.apply(g.GLOBAL_PHASE, (), (_param(op.params[3]),), controls=controls, control_values=values)
    if base.name not in _NATIVE:
        return False
    gate, adjoint = _NATIVE[base.name]
    params = tuple(_param(p) for p in base.params[: gate.n_params])
    out.append(
        Operation(gate, tuple(wires), params, tuple(controls), tuple(values), adjoint=adjoint)
    )
    return True


def _append_definition(out: Circuit, op, wires: list[int]) -> None:
    """Fall back on Qiskit's decomposition of ``op``, or on its matrix."""
    definition = getattr(op, "definition", None)
    if definition is not None:
        _append_qiskit(out, definition, wires, list(range(definition.num_clbits)))
        if _nonzero(definition.global_phase):
            out.global_phase(_param(definition.global_phase))
        return
    try:
        matrix = np.asarray(op.to_matrix())
    except Exception as exc:  # noqa: BLE001 - Qiskit raises several types here
        raise ValueError(f"unknown gate {op.name!r}: it has no definition and no matrix") from exc
    out.unitary(matrix, list(reversed(wires)))


def _append_noise(out: Circuit, op, wires: list[int]) -> None:
    """An Aer error instruction (an appended ``QuantumError``) or a ``Kraus`` instruction
    -> our channels on ``wires``."""
    from ..noise.qiskit import error_from_qiskit

    error = getattr(op, "_quantum_error", None)
    if error is not None:
        out.compose(error_from_qiskit(error), wires)
        return
    mats = np.stack([np.asarray(m, dtype=np.complex128) for m in op.params])
    out.kraus(mats, list(reversed(wires)))  # Qiskit's first qubit is the least significant bit


def _append_if_else(out: Circuit, op, wires, clbits, qc, cmap) -> None:
    bits, value = _condition_bits(op.condition, qc, cmap)
    true_body, false_body = op.blocks[0], op.blocks[1] if len(op.blocks) > 1 else None
    with out.when(bits, value):
        _append_qiskit(out, true_body, wires, clbits)
    if false_body is not None:
        if len(bits) != 1:
            raise ValueError("an else-branch on a multi-bit condition cannot be expressed; split it into bits")
        with out.when(bits, 1 - value):
            _append_qiskit(out, false_body, wires, clbits)


def _condition_bits(condition, qc, cmap) -> tuple[list[int], int]:
    """Qiskit (bit | register, value) -> our (clbits with the MSB first, value)."""
    target, value = condition if isinstance(condition, tuple) else (None, None)
    if isinstance(target, ClassicalRegister):
        # A register's bit 0 is its least significant bit; ours reads clbits[0] as MSB.
        return [cmap[qc.find_bit(b).index] for b in reversed(list(target))], int(value)
    if target is not None:
        return [cmap[qc.find_bit(target).index]], int(bool(value))
    raise ValueError(f"unsupported classical condition {condition!r}: use a bit or a register compared to a value")


# --- hybrid -> Qiskit ---------------------------------------------------------------------------


def to_qiskit(circuit: Circuit) -> "QuantumCircuit":
    """Convert to a ``QuantumCircuit``; wire i -> qubit i, classical bit i -> clbit i."""
    if not isinstance(circuit, Circuit):
        raise TypeError(f"to_qiskit() takes a hybrid Circuit; got {type(circuit).__name__}")
    qc = QuantumCircuit(circuit.n_qubits)
    if circuit.n_clbits:
        qc.add_register(ClassicalRegister(circuit.n_clbits, "c"))
    symbols: dict[str, QiskitParameter] = {}
    for op in circuit.ops:
        _emit_instruction(op, qc, symbols)
    return qc


@functools.singledispatch
def _emit_instruction(op, qc, symbols) -> None:
    raise TypeError(f"no Qiskit form for a {type(op).__name__} instruction")


@_emit_instruction.register
def _(op: Measure, qc, symbols) -> None:
    if op.flip:
        raise ValueError(
            f"a measurement of wire {op.wire} flips its record with probability {op.flip}, which a Qiskit "
            "circuit cannot hold; express it as a readout error in a noise model instead"
        )
    if op.clbit is not None:
        qc.measure(op.wire, op.clbit)
    if op.reset:
        qc.reset(op.wire)


@_emit_instruction.register
def _(op: Channel, qc, symbols) -> None:
    from ..noise.qiskit import channel_to_qiskit

    error, qubits = channel_to_qiskit(op)
    qc.append(error, qubits)


@_emit_instruction.register
def _(op: Operation, qc, symbols) -> None:
    _emit(qc, op, symbols, list(zip(op.condition.clbits, op.condition.bit_values())) if op.condition else [])


def _emit(qc, op: Operation, symbols, conditions: list[tuple[int, int]]) -> None:
    """Append ``op``, nested in one ``if_test`` per conditioning bit."""
    if conditions:
        (bit, value), rest = conditions[0], conditions[1:]
        with qc.if_test((qc.clbits[bit], value)):
            _emit(qc, op, symbols, rest)
        return
    if op.gate is g.GLOBAL_PHASE and not op.controls:
        qc.global_phase += _qiskit_param(op.params[0], symbols) * (-1 if op.adjoint else 1)
        return
    if op.gate.build is None and op.gate.permutation is None:  # a data gate: one exact matrix
        matrix = _controlled(_data_matrix(op), op.control_values)
        # Qiskit's matrix index reads its first qubit as the LSB -> reversed wires.
        qc.append(qlib.UnitaryGate(matrix, check_input=False), list(reversed(op.all_wires)))
        return
    gate, wires = _qiskit_gate(op, symbols)
    if op.adjoint:
        gate = gate.inverse()
    if op.controls:
        state = sum(v << i for i, v in enumerate(op.control_values))  # Qiskit: bit i <-> control i
        gate = gate.control(len(op.controls), ctrl_state=state)
    qc.append(gate, list(op.controls) + wires)


def _qiskit_gate(op: Operation, symbols) -> tuple["Gate", list[int]]:
    """The uncontrolled Qiskit gate for ``op`` and the wires to put it on."""
    if op.gate in _TO_QISKIT:
        params = [_qiskit_param(p, symbols) for p in op.params]
        return _TO_QISKIT[op.gate](*params), list(op.wires)
    if op.gate is g.ROT:
        phi, theta, omega = (_qiskit_param(p, symbols) for p in op.params)
        sub = QuantumCircuit(1, name="rot")
        sub.rz(phi, 0)
        sub.ry(theta, 0)
        sub.rz(omega, 0)
        return sub.to_gate(label="rot"), list(op.wires)
    raise AssertionError(f"no Qiskit gate for {op.gate}")  # data gates are handled by _emit


def _controlled(matrix: np.ndarray, control_values: tuple[int, ...]) -> np.ndarray:
    """The matrix on (controls + targets), controls most significant, acting where they match."""
    if not control_values:
        return matrix
    d = matrix.shape[0]
    block = int("".join(map(str, control_values)), 2)
    out = np.eye(d * 2 ** len(control_values), dtype=complex)
    out[block * d : (block + 1) * d, block * d : (block + 1) * d] = matrix
    return out


def _data_matrix(op: Operation) -> np.ndarray:
    """The matrix of a unitary/diagonal/permutation op (adjoint applied), wires[0] the MSB."""
    d = 2 ** len(op.wires)
    if op.gate is g.PERMUTATION:
        m = np.zeros((d, d))
        m[list(op.data), list(range(d))] = 1.0
        return m.T if op.adjoint else m
    data = op.data.detach().cpu()
    if op.batch_size is not None:
        raise ValueError(f"cannot export a batched {op.gate.name} gate; Qiskit circuits hold one matrix")
    data = data.numpy().astype(np.complex128)
    m = np.diag(data) if op.gate is g.DIAGONAL else data
    return m.conj().T if op.adjoint else m


def _qiskit_param(value, symbols: dict[str, "QiskitParameter"]):
    if isinstance(value, ParamExpr):
        sym = symbols.setdefault(value.name, QiskitParameter(value.name))
        if value.scale == 1.0 and value.offset == 0.0:
            return sym
        return value.scale * sym + value.offset
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ValueError(
                f"cannot export a batched parameter (shape {tuple(value.shape)}); Qiskit circuits hold one value"
            )
        return float(value.detach().cpu().item())
    return float(value)


# --- OpenQASM ---------------------------------------------------------------------------------


def from_qasm(text: str, *, keep_final_measurements: bool = False) -> Circuit:
    """Read OpenQASM 2 or 3 (chosen from the ``OPENQASM`` header) through Qiskit's parsers."""
    header = re.search(r"^\s*OPENQASM\s+([23])(?:\.\d+)?\s*;", text, re.MULTILINE) if isinstance(text, str) else None
    if header is None:
        raise ValueError("from_qasm() needs OpenQASM text with an 'OPENQASM 2.0;' or 'OPENQASM 3.0;' header")
    version = header.group(1)
    try:
        if version == "3":
            qc = qasm3.loads(text)
        else:
            qc = qasm2.loads(text, custom_instructions=qasm2.LEGACY_CUSTOM_INSTRUCTIONS)
    except Exception as exc:  # noqa: BLE001 - Qiskit's parsers raise their own types
        raise ValueError(f"could not read OpenQASM {version}: {exc}") from exc
    return from_qiskit(qc, keep_final_measurements=keep_final_measurements)


def to_qasm(circuit: Circuit, version: int = 2) -> str:
    """Write OpenQASM 2 or 3 through Qiskit's exporters.

    The text reproduces the state up to a global phase: OpenQASM 2 has none and Qiskit's
    OpenQASM 3 writer leaves it out. OpenQASM 2 also cannot hold free parameters or
    single-bit conditions; use version 3 for those.
    """
    if version not in (2, 3):
        raise ValueError(f"OpenQASM version must be 2 or 3; got {version!r}")
    qc = to_qiskit(circuit)
    try:
        return qasm2.dumps(qc) if version == 2 else qasm3.dumps(qc)
    except Exception as exc:  # noqa: BLE001 - Qiskit's exporters raise their own types
        hint = " (OpenQASM 2 has no free parameters or single-bit conditions: try version=3)" if version == 2 else ""
        raise ValueError(f"could not write OpenQASM {version}: {exc}{hint}") from exc
