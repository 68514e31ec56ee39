"""NoiseModel: which errors follow which gates, and how each wire's readout errs.

A noise model turns an ideal circuit into a noisy one (:meth:`NoiseModel.apply`) and
gives the per-wire readout confusion matrices that ``State.sample``/``counts`` apply to
sampled bits (:meth:`NoiseModel.readout_errors`). ``hybrid.simulate(circuit,
noise=model)`` calls both. Rules follow Qiskit Aer's, so a model read from Aer
(:meth:`NoiseModel.from_qiskit`, :meth:`NoiseModel.from_backend`) means what it meant there:

* a gate error follows every application of the gates it names; an error added for
  given wire tuples (``wires=[(0, 1)]``) applies only where the gate acts on exactly those
  wires, in that order (controls first), and *replaces* the all-wire error of that gate
  there; errors added twice for the same gate and wires compose in the order added;
* an error on ``measure`` acts just before the measurement (as in Aer); one on ``reset``
  just after it;
* a readout error given for a wire replaces the all-wire readout error on that wire.

Readout errors flip recorded bits, never the state: those of mid-circuit measurements (a
condition then reads the misread bit, as in Aer) and those ``State.sample``/``counts`` draw
at the end. Where this differs from Aer today: errors on ``measure`` act before mid-circuit
measurements only, so they vanish with the final measurements that ``hybrid.from_qiskit``
drops (keep them to keep those errors).

Idle noise is this package's own (Aer inserts idle noise only for ``delay``): with
:meth:`NoiseModel.add_idle_error` a one-wire error acts once for every layer in which a
wire does nothing, layers being the circuit's as-soon-as-possible schedule of gates and
measurements (each takes one layer; channels take none), up to the circuit's depth.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from ..sim import gates as g
from ..sim.circuit import Circuit
from ..sim.instructions import Channel, Measure, Operation

__all__ = ["NoiseModel"]

_SPECIAL = ("measure", "reset")  # non-gate instructions errors may follow (Measure.name)


@dataclass(frozen=True)
class _Rule:
    error: Circuit
    wires: tuple[int, ...] | None  # exact wire tuple, or None for every application


class NoiseModel:
    """Gate errors, idle errors and readout errors for ``hybrid.simulate(..., noise=)``.

    Example::

        from hybrid import noise
        nm = noise.NoiseModel()
        nm.add_gate_error(noise.depolarizing(0.001), ["h", "rz", "sx"])
        nm.add_gate_error(noise.depolarizing(0.01, 2), "cx")
        nm.add_gate_error(noise.thermal_relaxation(50e3, 70e3, 300), "cx", wires=[(0, 1)])
        nm.add_readout_error([[0.98, 0.02], [0.05, 0.95]])
        state = hybrid.simulate(circuit, noise=nm, method="density_matrix")

    Gate names are our operation names (``Operation.name``): ``x``, ``h``, ``sx``,
    ``rz``, ``u``, ``cx``, ``ccx``, ``cp``, ``swap``, ``sdg``... plus ``measure`` and
    ``reset``.
    """

    def __init__(self):
        self._gate: dict[str, dict[tuple[int, ...] | None, list[Circuit]]] = {}
        self._idle: list[tuple[Circuit, frozenset[int] | None]] = []
        self._readout: dict[int | None, torch.Tensor] = {}

    # --- building ------------------------------------------------------------------------

    def add_gate_error(
        self,
        error,
        gates: str | Sequence[str],
        wires: Sequence[int | Sequence[int]] | None = None,
    ) -> "NoiseModel":
        """Attach ``error`` after every application of ``gates``.

        Args:
            error: a :class:`Circuit` of channels (and gates) on k local wires, e.g. from
                the factories of :mod:`hybrid.noise` (or an Aer ``QuantumError``). A
                one-wire error on a k-wire gate acts on each of the gate's wires; a k-wire
                error acts on the gate's wires in order (controls first) and must match
                the gate's width.
            gates: a name or names (``"cx"``, ``["sx", "x"]``, ``"measure"``...).
            wires: ``None`` (every application) or the wire tuples the gate must act on
                exactly, e.g. ``[(0, 1), (1, 2)]`` for ``cx``; an int ``w`` means ``(w,)``.
                Such a local error replaces the all-wire error of that gate there.
        """
        error = _as_error(error)
        names = [gates] if isinstance(gates, str) else list(gates)
        if not names:
            raise ValueError("add_gate_error() needs at least one gate name")
        placements: list[tuple[int, ...] | None] = [None] if wires is None else _wire_tuples(wires)
        for name in names:
            width = _gate_width(name)
            for where in placements:
                span = width if where is None else len(where)
                if where is not None and width is not None and len(where) != width:
                    raise ValueError(f"gate {name!r} acts on {width} wire(s); got wires {list(where)}")
                if error.n_qubits != 1 and span is not None and error.n_qubits != span:
                    raise ValueError(
                        f"a {error.n_qubits}-wire error cannot follow the {span}-wire gate {name!r}; "
                        f"give a 1-wire error (it then acts on each wire) or a {span}-wire one"
                    )
        for name in names:
            for where in placements:
                self._gate.setdefault(name, {}).setdefault(where, []).append(error)
        return self

    def add_idle_error(self, error, wires: Sequence[int] | None = None) -> "NoiseModel":
        """Apply the one-wire ``error`` to a wire (of ``wires``; ``None``: every wire) once
        for every layer of the circuit's as-soon-as-possible schedule in which it is idle
        (before its first gate, between gates and after its last one, up to the depth)."""
        error = _as_error(error)
        if error.n_qubits != 1:
            raise ValueError(f"an idle error acts on one wire; got a {error.n_qubits}-wire error")
        chosen = None if wires is None else frozenset(t[0] for t in _wire_tuples(wires, width=1))
        self._idle.append((error, chosen))
        return self

    def add_readout_error(self, confusion, wires: int | Sequence[int] | None = None) -> "NoiseModel":
        """Give wires (``None``: every wire without its own) a readout confusion matrix.

        ``confusion[true][read]`` is the probability of reading ``read`` when the outcome
        was ``true`` (rows = true outcome, as Aer's ``ReadoutError``); each row sums to 1.
        It flips sampled bits (``State.sample``/``counts``), never the state or ``probs``.
        A later matrix for the same wire replaces the earlier one.
        """
        matrix = _confusion_matrix(confusion)
        targets: list[int | None] = [None] if wires is None else [t[0] for t in _wire_tuples(wires, width=1)]
        for w in targets:
            self._readout[w] = matrix
        return self

    # --- reading -------------------------------------------------------------------------

    @property
    def gates(self) -> list[str]:
        """Names of the gates that carry errors."""
        return sorted(self._gate)

    @property
    def is_ideal(self) -> bool:
        """Whether the model adds nothing (no gate, idle or readout errors)."""
        return not self._gate and not self._idle and not self._readout

    def __repr__(self) -> str:
        local = sum(1 for rules in self._gate.values() for w in rules if w is not None)
        return (
            f"NoiseModel(gates={self.gates}, local_rules={local}, idle_errors={len(self._idle)}, "
            f"readout_wires={sorted(w for w in self._readout if w is not None)}"
            f"{', readout_all' if None in self._readout else ''})"
        )

    def errors_for(self, op) -> list[Circuit]:
        """The errors that follow (for ``measure``: precede) ``op``: the ones for its exact
        wires if any were added, else the all-wire ones."""
        rules = self._gate.get(op.name)
        if not rules:
            return []
        local = rules.get(tuple(op.all_wires))
        return list(local) if local is not None else list(rules.get(None, ()))

    def readout_errors(self, n_qubits: int) -> dict[int, torch.Tensor]:
        """``{wire: 2x2 confusion matrix}`` for the wires of an ``n_qubits`` circuit that
        have a readout error (float64 tensors, rows = true outcome)."""
        out = {}
        for w in range(n_qubits):
            m = self._readout.get(w, self._readout.get(None))
            if m is not None:
                out[w] = m.clone()
        return out

    # --- applying ------------------------------------------------------------------------

    def apply(self, circuit: Circuit) -> Circuit:
        """A new circuit: ``circuit`` with this model's errors inserted (``circuit`` is not
        changed; symbolic parameters stay symbolic)."""
        if not isinstance(circuit, Circuit):
            raise TypeError(f"NoiseModel.apply() takes a hybrid Circuit; got {type(circuit).__name__}")
        out = Circuit(circuit.n_qubits, circuit.n_clbits)
        out.annotations = circuit.annotations
        ops = circuit.ops
        idle_before, trailing = _idle_layers(ops, circuit.n_qubits) if self._idle else ({}, {})
        for index, op in enumerate(ops):
            for w, layers in idle_before.get(index, ()):
                self._idle_on(out, w, layers)
            errors = self.errors_for(op) if isinstance(op, Operation | Measure) else []
            if errors and op.condition is not None:
                raise ValueError(
                    f"the noise model attaches errors to {op.name!r}, but this {op.name} is classically "
                    "conditioned and channels cannot be; apply the noise model to an unconditioned circuit"
                )
            if isinstance(op, Measure) and op.name == "measure":
                _place(out, op, errors)
                out.append(op)
            else:
                out.append(op)
                _place(out, op, errors)
        for w, layers in trailing.items():
            self._idle_on(out, w, layers)
        return out

    def _idle_on(self, out: Circuit, wire: int, layers: int) -> None:
        for error, chosen in self._idle:
            if chosen is None or wire in chosen:
                for _ in range(layers):
                    out.compose(error, [wire])

    # --- conversions ---------------------------------------------------------------------

    @classmethod
    def from_qiskit(cls, noise_model) -> "NoiseModel":
        """Convert a ``qiskit_aer.noise.NoiseModel`` (see :mod:`hybrid.noise.qiskit`)."""
        from .qiskit import noise_model_from_qiskit

        return noise_model_from_qiskit(noise_model, cls())

    @classmethod
    def from_backend(cls, backend, **kwargs) -> "NoiseModel":
        """The noise model of a Qiskit backend (``BackendV2``, including the offline fake
        backends of ``qiskit_ibm_runtime.fake_provider``), through Aer's
        ``NoiseModel.from_backend(backend, **kwargs)`` (see :mod:`hybrid.noise.qiskit`)."""
        from .qiskit import noise_model_from_backend

        return noise_model_from_backend(backend, cls(), **kwargs)


# --- helpers ----------------------------------------------------------------------------------


def _place(out: Circuit, op, errors: list[Circuit]) -> None:
    wires = list(op.all_wires)
    for error in errors:
        if error.n_qubits == 1:
            for w in wires:
                out.compose(error, [w])
        elif error.n_qubits == len(wires):
            out.compose(error, wires)
        else:
            raise ValueError(
                f"a {error.n_qubits}-wire error cannot follow {op.name!r} on wires {wires} "
                f"({len(wires)} wire(s)); give a 1-wire or a {len(wires)}-wire error"
            )


def _idle_layers(ops, n: int) -> tuple[dict[int, list[tuple[int, int]]], dict[int, int]]:
    """As-soon-as-possible layers: for each instruction index the (wire, idle layers)
    just before it, and the idle layers each wire has after its last instruction."""
    level = [0] * n  # the next free layer of each wire
    before: dict[int, list[tuple[int, int]]] = {}
    for index, op in enumerate(ops):
        wires = op.all_wires
        if isinstance(op, Channel) or not wires:
            continue
        layer = max(level[w] for w in wires)
        gaps = [(w, layer - level[w]) for w in wires if layer > level[w]]
        if gaps:
            before[index] = gaps
        for w in wires:
            level[w] = layer + 1
    depth = max(level)
    return before, {w: depth - level[w] for w in range(n) if depth > level[w]}


def _as_error(error) -> Circuit:
    """An error circuit, checked: gates and channels only."""
    if not isinstance(error, Circuit) and hasattr(error, "probabilities") and hasattr(error, "circuits"):
        from .qiskit import error_from_qiskit  # an Aer QuantumError

        error = error_from_qiskit(error)
    if not isinstance(error, Circuit):
        raise TypeError(
            f"an error is a hybrid Circuit of channels on its own wires (e.g. hybrid.noise.depolarizing(0.01)); "
            f"got {type(error).__name__}"
        )
    for op in error.ops:
        if isinstance(op, Measure) or getattr(op, "condition", None) is not None:
            raise ValueError(f"an error circuit holds gates and channels only; it has a {op.name!r}")
    return error


def _wire_tuples(wires, width: int | None = None) -> list[tuple[int, ...]]:
    if isinstance(wires, int | np.integer) and not isinstance(wires, bool):
        wires = [wires]
    out = []
    for item in wires:
        t = (item,) if isinstance(item, int | np.integer) and not isinstance(item, bool) else tuple(item)
        if not t or any(isinstance(w, bool) or not isinstance(w, int | np.integer) or w < 0 for w in t):
            raise ValueError(f"wires are non-negative integers or tuples of them; got {item!r}")
        if len(set(t)) != len(t):
            raise ValueError(f"a wire tuple repeats a wire: {t}")
        if width is not None and len(t) != width:
            raise ValueError(f"expected single wires; got {t}")
        out.append(tuple(int(w) for w in t))
    return out


_GATES = {gate.name: gate for gate in g.GATES}


def _gate_width(name: str) -> int | None:
    """The wires a named operation acts on (``None``: data gates of any width); a
    ValueError for a name no operation has."""
    if not isinstance(name, str):
        raise TypeError(f"gate names are strings; got {name!r}")
    if name in _SPECIAL:
        return 1
    for prefix in (r"c(\d+)", "cc", "c", ""):
        m = re.match(prefix, name) if prefix else None
        if prefix and m is None:
            continue
        controls = (int(m.group(1)) if m.groups() else len(m.group(0))) if m else 0
        rest = name[m.end():] if m else name
        base = rest[:-2] if rest.endswith("dg") and rest[:-2] in _GATES else rest
        gate = _GATES.get(base)
        if gate is not None and (base == rest or gate.n_params == 0):
            return None if gate.n_wires is None else controls + gate.n_wires
    raise ValueError(
        f"unknown gate name {name!r}: errors follow operations by their names "
        f"({', '.join(sorted(_GATES))}, with 'c'/'cc'/'c3'... prefixes for controls and 'dg' for inverses; "
        "or 'measure', 'reset')"
    )


def _confusion_matrix(confusion) -> torch.Tensor:
    if hasattr(confusion, "probabilities") and not isinstance(confusion, np.ndarray | torch.Tensor):
        confusion = confusion.probabilities  # an Aer ReadoutError
    m = torch.as_tensor(np.asarray(confusion.detach().cpu() if isinstance(confusion, torch.Tensor) else confusion,
                                   dtype=np.float64))  # fmt: skip
    if m.shape != (2, 2):
        raise ValueError(
            f"a readout error is a 2x2 confusion matrix (rows: true outcome, columns: read outcome); "
            f"got shape {tuple(m.shape)}"
        )
    if bool(((m < 0) | (m > 1)).any()) or bool(((m.sum(1) - 1).abs() > 1e-9).any()):
        raise ValueError(
            f"a readout confusion matrix needs entries in [0, 1] and rows summing to 1 "
            f"(row = true outcome); got {m.tolist()}"
        )
    return m
