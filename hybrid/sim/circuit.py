"""Circuit: an ordered list of operations, with chaining builder methods.

Conventions (see README): wire 0 is the most significant bit of a basis index; a gate's
matrix is written in the order of the wires it is given (first wire most significant).
Classical bits written by mid-circuit measurements are numbered from 0; a condition on
several bits reads ``clbits[0]`` as the most significant bit of ``value``.
"""

from __future__ import annotations

import contextlib
import math
from collections import Counter
from typing import Iterator, Sequence

import numpy as np
import torch

from . import gates as g
from .._checks import non_negative_int
from .channels import channel_by_name, check_kraus
from .instructions import Channel, Condition, Instruction, Measure, Operation
from .params import ParamExpr, ParamValue

__all__ = ["Circuit", "Operation", "Measure", "Condition", "Channel"]


_ARRAY_PERMUTATION_WIRES = 12  # permutation tables this wide are stored as numpy arrays


class Circuit:
    """An ordered list of operations on ``n_qubits`` wires.

    Builder methods append one operation and return the circuit, so calls chain::

        c = Circuit(2).h(0).cx(0, 1)

    Parameters may be numbers, 0-d tensors, 1-d tensors of length B (one value per
    sample) or :func:`Parameter` symbols bound when simulating.
    """

    def __init__(self, n_qubits: int, n_clbits: int = 0):
        if isinstance(n_qubits, bool) or not isinstance(n_qubits, int) or n_qubits < 1:
            raise ValueError(f"a circuit needs at least one qubit; got n_qubits={n_qubits!r}")
        self.n_qubits = n_qubits
        self.n_clbits = int(n_clbits)
        self._ops: list[Instruction] = []  # grows only through append(), which bumps `version`
        self._frozen: tuple[Instruction, ...] | None = ()  # read-only view, rebuilt after appends
        self._conditions: list[Condition] = []
        self._version = 0
        # What the circuit carries besides its instructions, unused by the engine (a stim
        # program's detectors and observables: hybrid.interop.stim.StimAnnotations);
        # copies and noisy versions of the circuit keep it.
        self.annotations: object | None = None

    # --- container protocol -------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._ops)

    def __iter__(self) -> Iterator[Instruction]:
        return iter(self.ops)

    @property
    def ops(self) -> tuple[Instruction, ...]:
        """The instructions, read-only: change a circuit only through its builders
        (a cached plan is keyed on :attr:`version`, which only they bump)."""
        if self._frozen is None:
            self._frozen = tuple(self._ops)
        return self._frozen

    def __repr__(self) -> str:
        return f"Circuit(n_qubits={self.n_qubits}, ops={len(self.ops)}, parameters={self.parameters})"

    @property
    def version(self) -> int:
        """Bumped by every append; compiled plans are cached per version."""
        return self._version

    @property
    def parameters(self) -> list[str]:
        """Names of the symbolic parameters, in order of first use."""
        seen: dict[str, None] = {}
        for op in self._ops:
            for p in op.params:
                if isinstance(p, ParamExpr):
                    seen.setdefault(p.name, None)
        return list(seen)

    @property
    def has_measurements(self) -> bool:
        return any(isinstance(op, Measure) for op in self._ops)

    @property
    def has_noise(self) -> bool:
        """Whether the circuit holds a noise channel (it then needs a noisy method)."""
        return any(isinstance(op, Channel) for op in self._ops)

    @property
    def is_unitary(self) -> bool:
        """Whether every instruction is a plain gate (no measurement, reset, condition...)."""
        return all(op.unitary for op in self._ops)

    def count_ops(self) -> dict[str, int]:
        """How many of each operation, by readable name (``cx``, ``rz``, ``measure``...)."""
        return dict(Counter(op.name for op in self._ops))

    def count_multi_qubit_gates(self) -> int:
        """Gates on two or more wires, controls included (measurements and resets excluded):
        the usual proxy for a circuit's cost on hardware."""
        return sum(1 for op in self._ops if isinstance(op, Operation) and len(op.all_wires) >= 2)

    def copy(self) -> "Circuit":
        out = Circuit(self.n_qubits, self.n_clbits)
        for op in self._ops:
            out._push(op)
        out.annotations = self.annotations
        return out

    # --- generic appending --------------------------------------------------------------

    def append(self, op: Instruction) -> "Circuit":
        """Append an already-built instruction after checking its wires and parameters."""
        self._check_wires(op.all_wires)
        op.check_params()
        if self._conditions:
            op = op.conditioned(self._conditions[0].merged(*self._conditions[1:]))
        self._push(op)
        return self

    def _push(self, op: Instruction) -> None:
        """Append a checked instruction: grow the classical register, bump the version."""
        if op.clbits:
            self.n_clbits = max(self.n_clbits, max(op.clbits) + 1)
        self._ops.append(op)
        self._frozen = None
        self._version += 1

    def apply(
        self,
        gate: g.Gate,
        wires: int | Sequence[int],
        params: Sequence[ParamValue] = (),
        *,
        controls: int | Sequence[int] = (),
        control_values: Sequence[int] | None = None,
    ) -> "Circuit":
        """Append ``gate`` on ``wires``, optionally controlled on ``controls``."""
        wires, controls = _wire_tuple(wires), _wire_tuple(controls)
        if gate.n_wires is not None and len(wires) != gate.n_wires:
            raise ValueError(f"gate {gate.name!r} acts on {gate.n_wires} wire(s); got wires {list(wires)}")
        values = tuple(1 for _ in controls) if control_values is None else tuple(int(v) for v in control_values)
        if len(values) != len(controls) or any(v not in (0, 1) for v in values):
            raise ValueError(f"control_values must be 0/1, one per control wire; got {control_values!r}")
        params = tuple(torch.as_tensor(p) if isinstance(p, np.ndarray) else p for p in params)
        return self.append(Operation(gate, wires, params, controls, values))

    def _check_wires(self, wires: Sequence[int]) -> None:
        for w in wires:
            if isinstance(w, bool) or not isinstance(w, int | np.integer):
                raise TypeError(f"wires are integers; got {w!r}")
            if not 0 <= w < self.n_qubits:
                raise ValueError(
                    f"circuit uses wire {w} but has {self.n_qubits} qubit(s) (wires 0..{self.n_qubits - 1})"
                )
        if len(set(wires)) != len(wires):
            raise ValueError(f"an operation uses a wire twice: wires {list(wires)}")

    # --- single-qubit gates -------------------------------------------------------------

    def i(self, wire: int) -> "Circuit":
        return self.apply(g.I, wire)

    def x(self, wire: int) -> "Circuit":
        return self.apply(g.X, wire)

    def y(self, wire: int) -> "Circuit":
        return self.apply(g.Y, wire)

    def z(self, wire: int) -> "Circuit":
        return self.apply(g.Z, wire)

    def h(self, wire: int) -> "Circuit":
        return self.apply(g.H, wire)

    def s(self, wire: int) -> "Circuit":
        return self.apply(g.S, wire)

    def sdg(self, wire: int) -> "Circuit":
        return self.append(Operation(g.S, (wire,), adjoint=True))

    def t(self, wire: int) -> "Circuit":
        return self.apply(g.T, wire)

    def tdg(self, wire: int) -> "Circuit":
        return self.append(Operation(g.T, (wire,), adjoint=True))

    def sx(self, wire: int) -> "Circuit":
        return self.apply(g.SX, wire)

    def sxdg(self, wire: int) -> "Circuit":
        return self.append(Operation(g.SX, (wire,), adjoint=True))

    def rx(self, theta: ParamValue, wire: int) -> "Circuit":
        return self.apply(g.RX, wire, (theta,))

    def ry(self, theta: ParamValue, wire: int) -> "Circuit":
        return self.apply(g.RY, wire, (theta,))

    def rz(self, theta: ParamValue, wire: int) -> "Circuit":
        return self.apply(g.RZ, wire, (theta,))

    def p(self, phi: ParamValue, wire: int) -> "Circuit":
        """Phase gate diag(1, e^{i phi})."""
        return self.apply(g.P, wire, (phi,))

    def u(self, theta: ParamValue, phi: ParamValue, lam: ParamValue, wire: int) -> "Circuit":
        """OpenQASM's U(theta, phi, lambda) (Qiskit's ``u``/``u3``)."""
        return self.apply(g.U, wire, (theta, phi, lam))

    def rot(self, phi: ParamValue, theta: ParamValue, omega: ParamValue, wire: int) -> "Circuit":
        """PennyLane's Rot = RZ(omega) RY(theta) RZ(phi)."""
        return self.apply(g.ROT, wire, (phi, theta, omega))

    def global_phase(self, phi: ParamValue) -> "Circuit":
        """Multiply the state by e^{i phi} (observable only when controlled)."""
        return self.apply(g.GLOBAL_PHASE, (), (phi,))

    # --- two- and three-qubit gates -----------------------------------------------------

    def cx(self, control: int, target: int) -> "Circuit":
        return self.apply(g.X, target, controls=control)

    cnot = cx

    def cy(self, control: int, target: int) -> "Circuit":
        return self.apply(g.Y, target, controls=control)

    def cz(self, control: int, target: int) -> "Circuit":
        return self.apply(g.Z, target, controls=control)

    def ch(self, control: int, target: int) -> "Circuit":
        return self.apply(g.H, target, controls=control)

    def swap(self, a: int, b: int) -> "Circuit":
        return self.apply(g.SWAP, (a, b))

    def iswap(self, a: int, b: int) -> "Circuit":
        return self.apply(g.ISWAP, (a, b))

    def crx(self, theta: ParamValue, control: int, target: int) -> "Circuit":
        return self.apply(g.RX, target, (theta,), controls=control)

    def cry(self, theta: ParamValue, control: int, target: int) -> "Circuit":
        return self.apply(g.RY, target, (theta,), controls=control)

    def crz(self, theta: ParamValue, control: int, target: int) -> "Circuit":
        return self.apply(g.RZ, target, (theta,), controls=control)

    def cp(self, phi: ParamValue, control: int, target: int) -> "Circuit":
        return self.apply(g.P, target, (phi,), controls=control)

    def rxx(self, theta: ParamValue, a: int, b: int) -> "Circuit":
        return self.apply(g.RXX, (a, b), (theta,))

    def ryy(self, theta: ParamValue, a: int, b: int) -> "Circuit":
        return self.apply(g.RYY, (a, b), (theta,))

    def rzz(self, theta: ParamValue, a: int, b: int) -> "Circuit":
        return self.apply(g.RZZ, (a, b), (theta,))

    def ccx(self, c0: int, c1: int, target: int) -> "Circuit":
        return self.apply(g.X, target, controls=(c0, c1))

    toffoli = ccx

    def cswap(self, control: int, a: int, b: int) -> "Circuit":
        return self.apply(g.SWAP, (a, b), controls=control)

    # --- multi-controlled and data-defined gates ----------------------------------------

    def mcx(self, controls: Sequence[int], target: int, control_values: Sequence[int] | None = None) -> "Circuit":
        return self.apply(g.X, target, controls=controls, control_values=control_values)

    def mcz(self, controls: Sequence[int], target: int, control_values: Sequence[int] | None = None) -> "Circuit":
        return self.apply(g.Z, target, controls=controls, control_values=control_values)

    def mcp(
        self, phi: ParamValue, controls: Sequence[int], target: int, control_values: Sequence[int] | None = None
    ) -> "Circuit":
        return self.apply(g.P, target, (phi,), controls=controls, control_values=control_values)

    def unitary(self, matrix, wires: Sequence[int], *, atol: float | None = None) -> "Circuit":
        """An arbitrary k-qubit unitary ``(2**k, 2**k)``, or ``(B, 2**k, 2**k)`` per sample."""
        wires = _wire_tuple(wires)
        m = _as_complex_tensor(matrix)
        d = 2 ** len(wires)
        if m.dim() not in (2, 3) or m.shape[-2:] != (d, d):
            raise ValueError(
                f"a unitary on {len(wires)} wire(s) must have shape ({d}, {d}) or (B, {d}, {d}); "
                f"got {tuple(m.shape)}"
            )
        _check_unitary(m, atol)
        return self.append(Operation(g.UNITARY, wires, data=m))

    def diagonal(self, phases, wires: Sequence[int], *, atol: float | None = None) -> "Circuit":
        """A diagonal gate given by its ``2**k`` unit-modulus diagonal entries."""
        wires = _wire_tuple(wires)
        d = _as_complex_tensor(phases)
        if d.dim() not in (1, 2) or d.shape[-1] != 2 ** len(wires):
            raise ValueError(
                f"a diagonal gate on {len(wires)} wire(s) needs {2 ** len(wires)} entries; got shape {tuple(d.shape)}"
            )
        tol = atol if atol is not None else _default_atol(d)
        err = (d.abs() - 1).abs().max().item()
        if err > tol:
            raise ValueError(f"diagonal entries must have modulus 1 (a unitary); max | |d|-1 | = {err:.3g}")
        return self.append(Operation(g.DIAGONAL, wires, data=d))

    def permutation(self, perm: Sequence[int] | np.ndarray | torch.Tensor, wires: Sequence[int]) -> "Circuit":
        """The basis permutation |x> -> |perm[x]> on ``wires`` (x read with wires[0] as MSB).

        ``perm`` is a sequence, numpy array or torch tensor of integers. Tables on
        ``_ARRAY_PERMUTATION_WIRES`` wires or more are kept as a read-only int64 numpy array
        (a tuple of Python ints costs ~36 bytes an entry and Python-loop inverses), smaller
        ones as a tuple.
        """
        wires = _wire_tuple(wires)
        d = 2 ** len(wires)
        table = np.asarray(perm.detach().cpu() if isinstance(perm, torch.Tensor) else perm)
        valid = table.shape == (d,) and np.issubdtype(table.dtype, np.integer)
        if valid:
            table = table.astype(np.int64)
            valid = bool(((table >= 0) & (table < d)).all()) and bool((np.bincount(table, minlength=d) == 1).all())
        if not valid:
            raise ValueError(
                f"perm must be a permutation of 0..{d - 1} for {len(wires)} wire(s); got {table.size} entries"
            )
        if len(wires) < _ARRAY_PERMUTATION_WIRES:
            return self.append(Operation(g.PERMUTATION, wires, data=tuple(table.tolist())))
        table = table.copy()
        table.flags.writeable = False
        return self.append(Operation(g.PERMUTATION, wires, data=table))

    # --- noise channels (PennyLane's meanings; Kraus operators in hybrid.sim.channels) --------

    def _channel(self, name: str, wires, params=(), data=None) -> "Circuit":
        kind = channel_by_name(name)
        wires = _wire_tuple(wires)
        if kind.n_wires is not None and len(wires) != kind.n_wires:
            raise ValueError(f"channel {name!r} acts on {kind.n_wires} wire(s); got wires {list(wires)}")
        return self.append(Channel(kind, wires, tuple(params), data))

    def depolarizing(self, p: ParamValue, wire: int) -> "Circuit":
        """X, Y and Z each with probability p/3 (PennyLane, stim DEPOLARIZE1, Cirq).
        Kraus: sqrt(1-p) I, sqrt(p/3) X, sqrt(p/3) Y, sqrt(p/3) Z. Qiskit Aer's
        ``depolarizing_error(lam, 1)`` is this channel with p = 3 lam / 4."""
        return self._channel("depolarizing", wire, (p,))

    def two_qubit_depolarizing(self, p: ParamValue, a: int, b: int) -> "Circuit":
        """Each of the 15 non-identity two-qubit Paulis with probability p/15 (stim
        DEPOLARIZE2, Cirq). Aer's ``depolarizing_error(lam, 2)`` has p = 15 lam / 16."""
        return self._channel("two_qubit_depolarizing", (a, b), (p,))

    def bit_flip(self, p: ParamValue, wire: int) -> "Circuit":
        """X with probability p. Kraus: sqrt(1-p) I, sqrt(p) X."""
        return self._channel("bit_flip", wire, (p,))

    def phase_flip(self, p: ParamValue, wire: int) -> "Circuit":
        """Z with probability p. Kraus: sqrt(1-p) I, sqrt(p) Z."""
        return self._channel("phase_flip", wire, (p,))

    def pauli_channel(self, px: ParamValue, py: ParamValue, pz: ParamValue, wire: int) -> "Circuit":
        """X, Y, Z with probabilities px, py, pz (stim PAULI_CHANNEL_1); px+py+pz <= 1."""
        return self._channel("pauli_channel", wire, (px, py, pz))

    def pauli_error(self, paulis: str, p: ParamValue, wires: int | Sequence[int]) -> "Circuit":
        """The Pauli word ``paulis`` (one letter of IXYZ per wire, e.g. ``"XZ"``) with
        probability p (PennyLane ``PauliError``). Kraus: sqrt(1-p) I, sqrt(p) P."""
        wires = _wire_tuple(wires)
        if not isinstance(paulis, str) or not paulis or set(paulis.upper()) - set("IXYZ"):
            raise ValueError(f"pauli_error needs a word of I, X, Y, Z letters; got {paulis!r}")
        if len(paulis) != len(wires):
            raise ValueError(f"the Pauli word {paulis!r} has {len(paulis)} letter(s) for {len(wires)} wire(s)")
        return self._channel("pauli_error", wires, (p,), paulis.upper())

    def amplitude_damping(self, gamma: ParamValue, wire: int) -> "Circuit":
        """Energy loss |1> -> |0> with probability gamma. Kraus: [[1, 0], [0, sqrt(1-gamma)]],
        [[0, sqrt(gamma)], [0, 0]] (the same in PennyLane, Aer and Cirq)."""
        return self._channel("amplitude_damping", wire, (gamma,))

    def generalized_amplitude_damping(self, gamma: ParamValue, p: ParamValue, wire: int) -> "Circuit":
        """Amplitude damping towards a bath with excited population ``p`` (PennyLane's p =
        Aer's ``excited_state_population``; Cirq swaps the order and uses 1-p). Kraus:
        sqrt(1-p) [[1,0],[0,sqrt(1-g)]], sqrt(1-p) [[0,sqrt(g)],[0,0]],
        sqrt(p) [[sqrt(1-g),0],[0,1]], sqrt(p) [[0,0],[sqrt(g),0]]."""
        return self._channel("generalized_amplitude_damping", wire, (gamma, p))

    def phase_damping(self, gamma: ParamValue, wire: int) -> "Circuit":
        """Loss of phase without energy loss. Kraus: [[1, 0], [0, sqrt(1-gamma)]],
        [[0, 0], [0, sqrt(gamma)]] (a phase flip with 1 - 2p = sqrt(1 - gamma))."""
        return self._channel("phase_damping", wire, (gamma,))

    def thermal_relaxation(
        self, t1: ParamValue, t2: ParamValue, time: ParamValue, wire: int, excited_population: ParamValue = 0.0
    ) -> "Circuit":
        """T1 relaxation and T2 dephasing for ``time`` (same units as t1, t2) towards a
        thermal state with ``excited_population``. From |1>: P(1) = exp(-time/T1) (pe=0);
        from |+>: <X> = exp(-time/T2). Valid for T2 <= 2 T1 (both T2 <= T1 and
        T1 < T2 <= 2 T1). Argument order is Aer's ``thermal_relaxation_error(t1, t2,
        time, excited_state_population)``; PennyLane's is (pe, t1, t2, tg)."""
        return self._channel("thermal_relaxation", wire, (t1, t2, time, excited_population))

    def reset_error(self, p0: ParamValue, p1: ParamValue, wire: int) -> "Circuit":
        """Reset to |0> with probability p0, to |1> with probability p1 (PennyLane
        ``ResetError``, Aer ``reset_error``)."""
        return self._channel("reset_error", wire, (p0, p1))

    def kraus(self, matrices, wires: int | Sequence[int]) -> "Circuit":
        """Any channel from its Kraus operators ``(K, d, d)`` (or ``(B, K, d, d)`` per
        sample), checked to be trace preserving: sum_k K_k^dagger K_k = I."""
        wires = _wire_tuple(wires)
        m = _as_complex_tensor(matrices)
        check_kraus(m)
        if m.shape[-1] != 2 ** len(wires):
            raise ValueError(f"Kraus operators of size {m.shape[-1]} do not act on {len(wires)} wire(s)")
        return self._channel("kraus", wires, (), m)

    # --- measurement, reset, classical control ------------------------------------------

    def measure(self, wire: int, clbit: int | None = None, *, flip: float = 0.0, reset: bool = False) -> "Circuit":
        """Measure ``wire`` mid-circuit into classical bit ``clbit`` (default: the next free
        bit). ``flip``: probability that the recorded bit is flipped (the state is not);
        ``reset``: return the wire to |0> afterwards (stim's ``MR``)."""
        clbit = self.n_clbits if clbit is None else non_negative_int(clbit, "clbit")
        return self.append(Measure(wire, clbit, reset=reset, flip=float(flip)))

    def reset(self, wire: int) -> "Circuit":
        """Return ``wire`` to |0> (measure, discard the outcome, flip if it was 1)."""
        return self.append(Measure(wire, None, reset=True))

    @contextlib.contextmanager
    def when(self, clbits: int | Sequence[int], value: int = 1):
        """Condition every operation added inside the block on classical bits.

        ``with c.when(0): c.x(1)`` applies X to wire 1 in the samples whose bit 0 read 1.
        """
        clbits = _wire_tuple(clbits)
        if not clbits or any(b < 0 for b in clbits):
            raise ValueError(f"when() needs classical bit indices >= 0; got {list(clbits)}")
        if not 0 <= value < 2 ** len(clbits):
            raise ValueError(f"condition value {value} does not fit in {len(clbits)} bit(s)")
        self._conditions.append(Condition(clbits, int(value)))
        try:
            yield self
        finally:
            self._conditions.pop()

    # --- composition --------------------------------------------------------------------

    def compose(
        self, other: "Circuit", wires: Sequence[int] | None = None, clbits: Sequence[int] | None = None
    ) -> "Circuit":
        """Append ``other``'s operations: its wire i goes on ``wires[i]``, its classical bit j
        on ``clbits[j]`` (defaults: the same numbers)."""
        mapping = _wire_map(other.n_qubits, wires)
        if clbits is None:
            bit_map = list(range(other.n_clbits))
        else:
            bit_map = [int(b) for b in clbits]
            if len(bit_map) != other.n_clbits or any(b < 0 for b in bit_map):
                raise ValueError(f"the sub-circuit has {other.n_clbits} classical bit(s); got clbits={list(clbits)}")
        self.n_clbits = max([self.n_clbits] + [b + 1 for b in bit_map])
        for op in other.ops:
            self.append(op.remap(mapping, bit_map))
        return self

    def ctrl(
        self,
        controls: int | Sequence[int],
        other: "Circuit",
        wires: Sequence[int] | None = None,
        control_values: Sequence[int] | None = None,
    ) -> "Circuit":
        """Append a controlled version of ``other`` (any gates, any size).

        Every operation of ``other`` gets the extra control wires; ``other``'s wire i is
        placed on ``wires[i]``. Example: ``c.ctrl(0, Circuit(1).ry(0.3, 0), wires=[2])``.
        """
        controls = _wire_tuple(controls)
        values = tuple(1 for _ in controls) if control_values is None else tuple(int(v) for v in control_values)
        if len(values) != len(controls):
            raise ValueError("control_values needs one 0/1 entry per control wire")
        mapping = _wire_map(other.n_qubits, wires)
        for op in other.ops:
            self.append(op.remap(mapping).controlled(controls, values))
        return self

    def inverse(self) -> "Circuit":
        """The adjoint circuit: operations reversed, each replaced by its inverse."""
        out = Circuit(self.n_qubits, self.n_clbits)
        for op in reversed(self._ops):
            out._push(op.inverse())
        return out


# --- module helpers --------------------------------------------------------------------------


def _wire_tuple(wires: int | Sequence[int]) -> tuple[int, ...]:
    if isinstance(wires, int | np.integer) and not isinstance(wires, bool):
        return (int(wires),)
    if not isinstance(wires, Sequence | np.ndarray | range):
        raise TypeError(f"wires are integers or a sequence of integers; got {wires!r}")
    return tuple(int(w) if isinstance(w, np.integer) else w for w in wires)


def _wire_map(n: int, wires: Sequence[int] | None) -> list[int]:
    if wires is None:
        return list(range(n))
    wires = list(_wire_tuple(wires))
    if len(wires) != n:
        raise ValueError(f"the sub-circuit has {n} qubit(s) but {len(wires)} wire(s) were given: {wires}")
    return wires


def _as_complex_tensor(x) -> torch.Tensor:
    t = x if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x))
    if not t.is_complex():
        t = t.to(torch.complex128 if t.dtype == torch.float64 or not t.is_floating_point() else torch.complex64)
    return t


def _default_atol(t: torch.Tensor) -> float:
    return 1e-8 if t.dtype == torch.complex128 else 1e-5


def _check_unitary(m: torch.Tensor, atol: float | None) -> None:
    d = m.shape[-1]
    eye = torch.eye(d, dtype=m.dtype, device=m.device)
    with torch.no_grad():
        err = (m @ m.conj().transpose(-1, -2) - eye).abs().max().item()
    tol = (atol if atol is not None else _default_atol(m)) * max(1.0, math.sqrt(d))
    if err > tol:
        raise ValueError(
            f"matrix is not unitary: max |U U^dagger - I| = {err:.3g} (tolerance {tol:.1g}); "
            "check the matrix or pass atol="
        )
