"""Trainable ansatz templates, one layer at a time, appended to a Circuit.

Each template says the weight shape of one layer and appends that layer's gates to a
:class:`~hybrid.sim.Circuit`, given an indexable of that layer's weights (numbers, tensors
or symbols). With ``entangling=False`` the same single-qubit gates remain and every
entangling gate is left out: the control variant for ablations (does entanglement help?).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from hybrid.sim import Circuit
from hybrid.sim.params import Parameter

from .encoders import ROTATIONS

__all__ = [
    "Ansatz", "StronglyEntangling", "BasicEntangler", "RotEntangler", "HardwareEfficient", "ANSATZES",
    "weight_names", "weight_symbols",
]  # fmt: skip


class Ansatz:
    """Base class of the templates."""

    name = "ansatz"
    entangling: bool = True

    def weight_shape(self, n_qubits: int) -> tuple[int, ...]:
        raise NotImplementedError

    def check(self, n_qubits: int, n_layers: int) -> None:
        """Raise if this template cannot be laid out on ``n_qubits`` x ``n_layers``."""

    def append_layer(self, circuit: Circuit, layer: int, weights) -> Circuit:
        """Append layer ``layer`` to ``circuit`` with angles ``weights[i][k]``; return it."""
        raise NotImplementedError

    def describe(self) -> str:
        return self.name if self.entangling else f"{self.name} (no entangling gates)"


def _ring(n: int) -> list[tuple[int, int]]:
    """PennyLane's BasicEntanglerLayers ring: one CNOT for 2 wires, a closed ring from 3."""
    if n == 2:
        return [(0, 1)]
    return [(i, (i + 1) % n) for i in range(n)] if n > 2 else []


@dataclass(frozen=True)
class StronglyEntangling(Ansatz):
    """``qml.StronglyEntanglingLayers``: per layer ``Rot(phi, theta, omega)`` on wire i
    (``weights[l, i] = (phi, theta, omega)``, Rot = RZ(omega) RY(theta) RZ(phi)), then
    ``CNOT(i, (i + r) mod n)`` for every wire i. Default ranges as PennyLane:
    ``r_l = (l mod (n - 1)) + 1``."""

    ranges: tuple[int, ...] | None = None
    entangling: bool = True
    name = "strongly_entangling"

    def weight_shape(self, n_qubits: int) -> tuple[int, ...]:
        return (n_qubits, 3)

    def check(self, n_qubits: int, n_layers: int) -> None:
        if self.ranges is None:
            return
        if len(self.ranges) != n_layers:
            raise ValueError(f"strongly_entangling needs one range per layer ({n_layers}); got ranges={self.ranges}")
        if n_qubits > 1 and any(r % n_qubits == 0 for r in self.ranges):
            raise ValueError(f"ranges must not be 0 or a multiple of n_qubits={n_qubits}; got {self.ranges}")

    def range_of(self, n_qubits: int, layer: int) -> int:
        if self.ranges is not None:
            return self.ranges[layer]
        return layer % (n_qubits - 1) + 1 if n_qubits > 1 else 0

    def append_layer(self, circuit: Circuit, layer: int, weights) -> Circuit:
        n = circuit.n_qubits
        for i in range(n):
            circuit.rot(weights[i][0], weights[i][1], weights[i][2], i)
        if self.entangling and n > 1:
            r = self.range_of(n, layer)
            for i in range(n):
                circuit.cx(i, (i + r) % n)
        return circuit


@dataclass(frozen=True)
class BasicEntangler(Ansatz):
    """``qml.BasicEntanglerLayers``: one rotation per wire (``weights[l, i]``, RX by
    default), then a CNOT ring (a single CNOT on two wires)."""

    rotation: str = "X"
    entangling: bool = True
    name = "basic_entangler"

    def __post_init__(self):
        if self.rotation not in ROTATIONS:
            raise ValueError(f"basic_entangler rotation is 'X', 'Y' or 'Z'; got {self.rotation!r}")

    def weight_shape(self, n_qubits: int) -> tuple[int, ...]:
        return (n_qubits,)

    def append_layer(self, circuit: Circuit, layer: int, weights) -> Circuit:
        for i in range(circuit.n_qubits):
            ROTATIONS[self.rotation](circuit, weights[i], i)
        if self.entangling:
            for control, target in _ring(circuit.n_qubits):
                circuit.cx(control, target)
        return circuit


@dataclass(frozen=True)
class RotEntangler(Ansatz):
    """BasicEntangler with a general rotation: ``Rot(phi, theta, omega)`` on every wire
    (``weights[l, i] = (phi, theta, omega)``, as StronglyEntangling), then the CNOT ring of
    :class:`BasicEntangler` (a single CNOT on two wires). The trainable block of the data
    re-uploading classifier (Perez-Salinas et al. 2020) in ``hybrid.models``."""

    entangling: bool = True
    name = "rot_entangler"

    def weight_shape(self, n_qubits: int) -> tuple[int, ...]:
        return (n_qubits, 3)

    def append_layer(self, circuit: Circuit, layer: int, weights) -> Circuit:
        for i in range(circuit.n_qubits):
            circuit.rot(weights[i][0], weights[i][1], weights[i][2], i)
        if self.entangling:
            for control, target in _ring(circuit.n_qubits):
                circuit.cx(control, target)
        return circuit


@dataclass(frozen=True)
class HardwareEfficient(Ansatz):
    """RY(``weights[l, i, 0]``) then RZ(``weights[l, i, 1]``) on each wire, then the
    nearest-neighbour CNOT chain 0->1, 1->2, ..., (n-2)->(n-1)."""

    entangling: bool = True
    name = "hardware_efficient"

    def weight_shape(self, n_qubits: int) -> tuple[int, ...]:
        return (n_qubits, 2)

    def append_layer(self, circuit: Circuit, layer: int, weights) -> Circuit:
        n = circuit.n_qubits
        for i in range(n):
            circuit.ry(weights[i][0], i).rz(weights[i][1], i)
        if self.entangling:
            for i in range(n - 1):
                circuit.cx(i, i + 1)
        return circuit


ANSATZES = {
    "strongly_entangling": StronglyEntangling,
    "basic_entangler": BasicEntangler,
    "rot_entangler": RotEntangler,
    "hardware_efficient": HardwareEfficient,
}


def weight_names(shape: tuple[int, ...]) -> tuple[str, ...]:
    """Symbol names ``w{l}_{i}[_{k}]`` in the order of ``weights.reshape(-1)``."""
    return tuple("w" + "_".join(map(str, idx)) for idx in itertools.product(*(range(s) for s in shape)))


def weight_symbols(shape: tuple[int, ...]) -> list:
    """Nested lists of symbols, ``out[l][i][k]`` is ``Parameter("w{l}_{i}_{k}")`` (names as
    :func:`weight_names`, so values bind from ``weights.reshape(-1)``)."""
    flat = iter(Parameter(name) for name in weight_names(shape))

    def nest(dims: tuple[int, ...]) -> list:
        if len(dims) == 1:
            return [next(flat) for _ in range(dims[0])]
        return [nest(dims[1:]) for _ in range(dims[0])]

    return nest(shape)
