"""Tapes of one structure share one engine circuit, and so one compiled plan.

PennyLane hands the device a fresh tape on every call, and a gradient method hands it many
tapes that differ only in their numbers. Converting each into a new ``Circuit`` would
re-plan it every time (plans are cached per circuit object). Instead the structure of a
tape (its operations, wires and wire order, values aside) keys a symbolic circuit built
once, with one :func:`~hybrid.sim.Parameter` per tape parameter, and the numbers flow in as
one vector ``(P,)`` (or ``(K, P)`` for K tapes run together).

An operation whose parameters are a matrix (``QubitUnitary``, an operation run through its
matrix) keeps its numbers in the circuit; a tape holding one is compiled afresh on every
call and not cached (its :func:`structure_key` is ``None``).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Hashable, Sequence

import numpy as np
import pennylane as qml
import torch
from pennylane.operation import Operator
from pennylane.ops.op_math import Adjoint, Controlled
from pennylane.ops.qubit.state_preparation import StatePrepBase

from hybrid.sim import Circuit, Parameter

from .convert import MATRIX_GATES, TABLE_NAMES, append

__all__ = ["CompiledTape", "compile_tape", "structure_key", "parameter_vector", "parameter_matrix", "is_number", "UNKNOWN"]

_CACHE: "OrderedDict[Hashable, CompiledTape]" = OrderedDict()
_CACHE_SIZE = 128  # distinct tape structures kept (each holds its circuit and its plans)
_CACHE_LOCK = threading.Lock()  # devices may run in several threads
UNKNOWN = object()  # "no structure key computed yet" (None means "no symbolic form")
_MISSING = object()


@dataclass(frozen=True)
class CompiledTape:
    """A tape structure's symbolic circuit. ``order[j]`` is the position, among the tape's
    gate parameters (in operation order, a leading state preparation skipped), of the
    value bound to ``circuit.parameters[j]``."""

    circuit: Circuit
    order: tuple[int, ...]
    prep: bool  # the tape starts with a state preparation (its amplitudes are the initial state)


def compile_tape(ops: Sequence[Operator], wire_order: Sequence, key=UNKNOWN) -> CompiledTape:
    """The :class:`CompiledTape` of this structure: cached, built on first sight; built
    afresh for a tape with matrix parameters. ``key``: its :func:`structure_key`, if known."""
    key = structure_key(ops, wire_order) if key is UNKNOWN else key
    if key is None:
        return _build(ops, wire_order)
    with _CACHE_LOCK:
        compiled = _CACHE.get(key)
        if compiled is not None:
            _CACHE.move_to_end(key)
            return compiled
    compiled = _build(ops, wire_order)
    with _CACHE_LOCK:
        _CACHE[key] = compiled
        if len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return compiled


def structure_key(ops: Sequence[Operator], wire_order: Sequence, memo: dict | None = None) -> tuple | None:
    """What two tapes must share to share a circuit: operations, wires and hyperparameters,
    not values. ``None`` when an operation's parameters cannot be symbols.

    ``memo`` (``id(op) -> key``, for one batch of tapes) skips operations seen in another
    tape already: a gradient transform's tapes share most of their operation objects, and
    a controlled gate's ``wires`` costs several microseconds each time.
    """
    ops = list(ops)
    prep = bool(ops) and isinstance(ops[0], StatePrepBase)
    keys = []
    for op in ops[1:] if prep else ops:
        if memo is None:
            key = _op_key(op)
        else:
            key = memo.get(id(op), _MISSING)
            if key is _MISSING:
                key = memo[id(op)] = _op_key(op)
        if key is None:
            return None
        keys.append(key)
    return (tuple(wire_order), prep, tuple(keys))


# Table operations whose hyperparameters change what they do; every other table operation
# is fixed by its name and wires (CNOT's hyperparameters, say, only restate them).
_HYPER_SENSITIVE = frozenset({"MultiControlledX", "PauliError"})


def _op_key(op: Operator) -> Hashable | None:
    name = op.name
    if name in TABLE_NAMES and name not in _HYPER_SENSITIVE:  # the common case: a plain gate
        return (name, op.wires) if name not in MATRIX_GATES else None
    if isinstance(op, StatePrepBase):
        return None
    if name not in TABLE_NAMES and not isinstance(op, Adjoint | Controlled):
        return None  # converted through its matrix: the matrix is data
    try:
        hyper = tuple((k, _freeze(v)) for k, v in op.hyperparameters.items())
    except _NoKey:
        return None
    return (name, op.wires, hyper)


class _NoKey(Exception):
    """A hyperparameter with no structural key."""


def _freeze(value) -> Hashable:
    if isinstance(value, Operator):
        key = _op_key(value)
        if key is None:
            raise _NoKey
        return key
    if isinstance(value, list | tuple | qml.wires.Wires):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, str | int | float | bool | np.bool_ | np.integer | np.floating) or value is None:
        return value
    raise _NoKey


def _build(ops: Sequence[Operator], wire_order: Sequence) -> CompiledTape:
    ops = list(ops)
    prep = bool(ops) and isinstance(ops[0], StatePrepBase)
    index = {w: i for i, w in enumerate(wire_order)}
    circuit = Circuit(max(len(index), 1))
    position = 0
    for op in ops[1:] if prep else ops:
        k = len(op.data)
        symbolic = _op_key(op) is not None  # else its data (a matrix) stays in the circuit
        append(circuit, op, index, [Parameter(f"p{position + i}") for i in range(k)] if symbolic else None)
        position += k
    order = tuple(int(name[1:]) for name in circuit.parameters)
    return CompiledTape(circuit, order, prep)


def _gate_data(ops: Sequence[Operator], prep: bool) -> list:
    ops = ops[1:] if prep else ops
    return [d for op in ops for d in op.data]


def is_number(value) -> bool:
    """A plain real number (Python, numpy scalar or 0-d array): no tensor, no autograd box."""
    return isinstance(value, float | int | np.floating | np.integer) or (
        isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "fiu"
    )


def parameter_vector(compiled: CompiledTape, ops: Sequence[Operator]) -> torch.Tensor | list:
    """The values for ``compiled.circuit.parameters``, in its order: one float64 vector when
    every value is a plain number, else a list (tensors keep their autograd graph and
    broadcast ``(B,)`` shapes)."""
    data = _gate_data(list(ops), compiled.prep)
    values = [data[j] for j in compiled.order]
    if all(is_number(v) for v in values):
        return torch.tensor(np.asarray(values, dtype=np.float64))
    return [v if isinstance(v, torch.Tensor) else torch.as_tensor(np.array(qml.math.unwrap(v))) for v in values]


def parameter_matrix(compiled: CompiledTape, tapes: Sequence) -> torch.Tensor:
    """``(K, P)``: one row of scalar parameters per tape (K tapes run as one batch); torch
    values keep their autograd graph."""
    rows = [[data[j] for j in compiled.order] for data in (_gate_data(list(t.operations), compiled.prep) for t in tapes)]
    tensors = [v for row in rows for v in row if isinstance(v, torch.Tensor)]
    if not tensors:
        return torch.from_numpy(np.asarray(rows, dtype=np.float64).reshape(len(tapes), len(compiled.order)))
    device = tensors[0].device  # constants join the tensors where they live (CUDA parameters)
    return torch.stack([torch.stack([torch.as_tensor(v, dtype=torch.float64, device=device) for v in row]) for row in rows])
