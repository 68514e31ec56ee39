"""Instruction records: what a circuit is a list of.

Every record is frozen and answers one small protocol, so code that walks a circuit
(composition, control, inversion, batching, autograd checks) never tells kinds apart by
hand; only the fuser (which fuses plain gates) and the exporters look at the type:

* ``all_wires``: every wire it touches (controls first);
* ``name``: a readable name (``cx``, ``rz``, ``measure``...);
* ``params``: its parameter values (numbers, tensors or symbols; empty for most kinds);
* ``tensors``: any other tensors it holds (a gate's matrix...), so autograd is seen;
* ``batch_size``: the per-sample batch of those tensors (``None``: shared);
* ``clbits``: the classical bits it reads or writes;
* ``unitary``: whether it is a plain, unconditioned gate (true only for an
  :class:`Operation` without a condition: what the adjoint and shift methods need);
* ``remap(wires, clbits)``: the same instruction on other wires / classical bits;
* ``inverse()``: the inverse instruction (a clear error for non-unitaries);
* ``controlled(controls, values)``: the instruction with extra control wires;
* ``conditioned(condition)``: the instruction applied only where classical bits match;
* ``check_params()``: raise when its parameters do not fit it.

How an instruction acts on a state is not here: ``execute.apply_instruction`` is a
``functools.singledispatch`` over these types, so a new kind (a noise channel, say) is one
record here, one registered function there, and one state method (plus one registered
emitter in each exporter that should write it: ``interop.qiskit``, ``interop.pennylane``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar, Mapping, Protocol, Sequence

import torch

from . import gates as g
from .channels import ChannelKind, check_values
from .params import ParamExpr, ParamValue, check_value

__all__ = ["Instruction", "Operation", "Measure", "Condition", "Channel"]

WireMap = Sequence[int] | Mapping[int, int]  # old wire -> new wire (index or mapping)


@dataclass(frozen=True)
class Condition:
    """Apply an operation only where the classical bits ``clbits`` read ``value``
    (``clbits[0]`` is the most significant bit of ``value``)."""

    clbits: tuple[int, ...]
    value: int

    def bit_values(self) -> tuple[int, ...]:
        n = len(self.clbits)
        return tuple((self.value >> (n - 1 - i)) & 1 for i in range(n))

    def remap(self, clbits: WireMap) -> "Condition":
        return Condition(tuple(clbits[b] for b in self.clbits), self.value)

    def merged(self, *others: "Condition | None") -> "Condition":
        """One condition requiring this one and every other (contradictions refused)."""
        bits: list[int] = []
        values: list[int] = []
        for cond in (self, *others):
            if cond is None:
                continue
            for b, v in zip(cond.clbits, cond.bit_values()):
                if b in bits:
                    if values[bits.index(b)] != v:
                        raise ValueError(f"contradictory conditions on classical bit {b}")
                    continue
                bits.append(b)
                values.append(v)
        value = 0
        for v in values:
            value = (value << 1) | v
        return Condition(tuple(bits), value)


class Instruction(Protocol):
    """The protocol every circuit instruction follows (see the module docstring)."""

    params: tuple
    condition: Condition | None

    @property
    def tensors(self) -> tuple[torch.Tensor, ...]: ...
    @property
    def batch_size(self) -> int | None: ...

    @property
    def all_wires(self) -> tuple[int, ...]: ...
    @property
    def name(self) -> str: ...
    @property
    def clbits(self) -> tuple[int, ...]: ...
    @property
    def unitary(self) -> bool: ...
    def remap(self, wires: WireMap, clbits: WireMap | None = None) -> "Instruction": ...
    def inverse(self) -> "Instruction": ...
    def controlled(self, controls: tuple[int, ...], values: tuple[int, ...]) -> "Instruction": ...
    def conditioned(self, condition: Condition) -> "Instruction": ...
    def check_params(self) -> None: ...


@dataclass(frozen=True, eq=False)
class Operation:
    """One gate application.

    ``wires`` are the target wires, ``controls`` the control wires (the gate acts where
    every control wire equals its ``control_values`` entry). ``data`` holds the matrix,
    phase vector or permutation of data-defined gates (unitary/diagonal/permutation).
    ``adjoint`` applies the conjugate transpose, which is how ``inverse()`` works.
    """

    gate: g.Gate
    wires: tuple[int, ...]
    params: tuple[ParamValue, ...] = ()
    controls: tuple[int, ...] = ()
    control_values: tuple[int, ...] = ()
    adjoint: bool = False
    data: object = None
    condition: Condition | None = None

    @property
    def all_wires(self) -> tuple[int, ...]:
        return self.controls + self.wires

    @property
    def tensors(self) -> tuple[torch.Tensor, ...]:
        return (self.data,) if isinstance(self.data, torch.Tensor) else ()

    @property
    def batch_size(self) -> int | None:
        """Batch size of per-sample ``data`` (a ``(B, d, d)`` unitary or ``(B, d)``
        diagonal); ``None`` when the data is shared or absent."""
        if not isinstance(self.data, torch.Tensor):
            return None
        per_sample_dim = 3 if self.gate.kind is g.Kind.DENSE else 2
        return self.data.shape[0] if self.data.dim() == per_sample_dim else None

    @property
    def name(self) -> str:
        """A readable name: ``cx``, ``ccx``, ``c3x``, ``sdg``, ``rz``..."""
        base = self.gate.name
        if self.adjoint and self.gate.n_params == 0 and base not in _SELF_INVERSE:
            base += "dg"
        n = len(self.controls)
        prefix = "" if n == 0 else "c" * n if n <= 2 else f"c{n}"
        return prefix + base

    @property
    def clbits(self) -> tuple[int, ...]:
        return self.condition.clbits if self.condition is not None else ()

    @property
    def unitary(self) -> bool:
        return self.condition is None

    def remap(self, wires: WireMap, clbits: WireMap | None = None) -> "Operation":
        condition = self.condition
        if condition is not None and clbits is not None:
            condition = condition.remap(clbits)
        return replace(
            self,
            wires=tuple(wires[w] for w in self.wires),
            controls=tuple(wires[c] for c in self.controls),
            condition=condition,
        )

    def inverse(self) -> "Operation":
        if self.condition is not None:
            raise ValueError("cannot invert a classically conditioned gate; invert the circuit before conditioning")
        return replace(self, adjoint=not self.adjoint)

    def controlled(self, controls: tuple[int, ...], values: tuple[int, ...]) -> "Operation":
        if self.condition is not None:
            raise ValueError("cannot control a classically conditioned gate")
        return replace(self, controls=tuple(controls) + self.controls, control_values=tuple(values) + self.control_values)

    def conditioned(self, condition: Condition) -> "Operation":
        return replace(self, condition=condition.merged(self.condition))

    def check_params(self) -> None:
        if len(self.params) != self.gate.n_params:
            raise ValueError(
                f"gate {self.gate.name!r} takes {self.gate.n_params} parameter(s); got {len(self.params)}"
            )
        for i, p in enumerate(self.params):
            check_value(p, f"gate {self.gate.name!r} parameter {i}")


_SELF_INVERSE = {"id", "x", "y", "z", "h", "swap", "permutation"}


@dataclass(frozen=True)
class Measure:
    """Measure ``wire`` in the computational basis mid-circuit.

    The outcome is stored in classical bit ``clbit`` (``None``: not stored). With
    ``reset=True`` the wire is returned to |0> afterwards (a reset is a measurement whose
    outcome is thrown away, followed by X when it was 1). ``flip`` is the probability that
    the *recorded* bit is flipped (a classical readout error, as stim's ``M(p)``; 1 for an
    inverted record, stim's ``M !q``); the state is not flipped.
    """

    wire: int
    clbit: int | None
    reset: bool = False
    flip: float = 0.0

    params: ClassVar[tuple] = ()
    tensors: ClassVar[tuple] = ()
    batch_size: ClassVar[None] = None
    condition: ClassVar[None] = None
    unitary: ClassVar[bool] = False

    @property
    def all_wires(self) -> tuple[int, ...]:
        return (self.wire,)

    @property
    def name(self) -> str:
        return "reset" if self.clbit is None else "measure"

    @property
    def clbits(self) -> tuple[int, ...]:
        return () if self.clbit is None else (self.clbit,)

    def remap(self, wires: WireMap, clbits: WireMap | None = None) -> "Measure":
        clbit = self.clbit if self.clbit is None or clbits is None else clbits[self.clbit]
        return replace(self, wire=wires[self.wire], clbit=clbit)

    def inverse(self) -> "Measure":
        raise ValueError(f"cannot invert a mid-circuit {self.name}: it is not unitary; invert only the unitary part")

    def controlled(self, controls: tuple[int, ...], values: tuple[int, ...]) -> "Measure":
        raise ValueError(f"cannot control a mid-circuit {self.name}; control only the unitary part of the circuit")

    def conditioned(self, condition: Condition) -> "Measure":
        raise ValueError("a measurement or reset cannot be classically conditioned")

    def check_params(self) -> None:
        if not 0.0 <= self.flip <= 1.0:
            raise ValueError(f"a measurement's flip probability must be in [0, 1]; got {self.flip}")
        if self.flip and self.clbit is None:
            raise ValueError("a flip probability needs a recorded measurement (a clbit); a reset records nothing")


@dataclass(frozen=True, eq=False)
class Channel:
    """A noise channel on ``wires`` (see :mod:`.channels` for each kind's Kraus operators).

    ``params`` are its probabilities, rates or times (numbers, tensors -- batched and
    differentiable -- or symbols); ``data`` holds a ``kraus`` channel's operators
    ``(K, d, d)`` / ``(B, K, d, d)`` or a ``pauli_error``'s Pauli word.
    """

    kind: ChannelKind
    wires: tuple[int, ...]
    params: tuple[ParamValue, ...] = ()
    data: object = None

    condition: ClassVar[None] = None
    unitary: ClassVar[bool] = False
    clbits: ClassVar[tuple] = ()

    @property
    def all_wires(self) -> tuple[int, ...]:
        return self.wires

    @property
    def name(self) -> str:
        return self.kind.name

    @property
    def tensors(self) -> tuple[torch.Tensor, ...]:
        return (self.data,) if isinstance(self.data, torch.Tensor) else ()

    @property
    def batch_size(self) -> int | None:
        """Batch size of per-sample Kraus operators ``(B, K, d, d)``; ``None`` otherwise."""
        data = self.data
        return data.shape[0] if isinstance(data, torch.Tensor) and data.dim() == 4 else None

    def remap(self, wires: WireMap, clbits: WireMap | None = None) -> "Channel":
        return replace(self, wires=tuple(wires[w] for w in self.wires))

    def inverse(self) -> "Channel":
        raise ValueError(f"cannot invert a {self.name} channel: noise is not reversible; invert only the gates")

    def controlled(self, controls: tuple[int, ...], values: tuple[int, ...]) -> "Channel":
        raise ValueError(f"cannot control a {self.name} channel; control only the gates of the circuit")

    def conditioned(self, condition: Condition) -> "Channel":
        raise ValueError(f"a {self.name} channel cannot be classically conditioned")

    def check_params(self) -> None:
        kind = self.kind
        if len(self.params) != kind.n_params:
            names = ", ".join(kind.param_names) or "none"
            raise ValueError(f"channel {kind.name!r} takes {kind.n_params} parameter(s) ({names}); got {len(self.params)}")
        for name, p in zip(kind.param_names, self.params):
            check_value(p, f"channel {kind.name!r} parameter {name!r}")
        if not any(isinstance(p, ParamExpr) for p in self.params):
            check_values(kind, [torch.as_tensor(p, dtype=torch.float64).reshape(-1) for p in self.params])
