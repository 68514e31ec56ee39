"""Engine-neutral gate lists: the one description both builders read.

A gate list is ``[(name, params, wires), ...]`` with names from :data:`GATE_NAMES` (our
``Circuit`` builder methods). Parameters are numbers or symbolic
:func:`~hybrid.sim.params.Parameter` expressions (``scale * symbol + offset``);
:func:`to_circuit` keeps them symbolic (the circuit is planned once and fed values),
:func:`resolve` turns them into tensors for an engine that takes numbers (PennyLane).
"""

from __future__ import annotations

from typing import Mapping

import torch

from hybrid.sim import Circuit
from hybrid.sim.params import ParamExpr

__all__ = ["GateList", "GATE_NAMES", "ROTATIONS", "to_circuit", "resolve"]

GateList = list[tuple[str, tuple, tuple[int, ...]]]

# Our builder name -> PennyLane operation name.
GATE_NAMES = {
    "h": "Hadamard",
    "rx": "RX",
    "ry": "RY",
    "rz": "RZ",
    "rot": "Rot",
    "cx": "CNOT",
    # IsingZZ, not MultiRZ: the same matrix, but lightning.qubit's adjoint method returns
    # (B, B) instead of (B,) for broadcast MultiRZ parameters (pennylane-lightning 0.45).
    "rzz": "IsingZZ",
}

# Rotation axis letter -> our builder name.
ROTATIONS = {"X": "rx", "Y": "ry", "Z": "rz"}


def to_circuit(n_qubits: int, gates: GateList) -> Circuit:
    """A symbolic ``hybrid.Circuit`` (builders take parameters first, then wires)."""
    circuit = Circuit(n_qubits)
    for name, params, wires in gates:
        getattr(circuit, name)(*params, *wires)
    return circuit


def resolve(param, values: Mapping[str, torch.Tensor]):
    """A parameter's value: numbers pass through, symbols are looked up and scaled."""
    if not isinstance(param, ParamExpr):
        return param
    base = values[param.name]
    if param.scale == 1.0 and param.offset == 0.0:
        return base
    return base * param.scale + param.offset
