"""The benchmark circuits, written once as engine-neutral gate lists, and our builders.

A gate list is a list of ``(name, params, wires)`` with names ``x h cp swap rx ry rz cx
rot``. Parameters come before wires in every engine's builder, so the same list turns into
a ``hybrid.Circuit`` here and into PennyLane/Qiskit circuits in :mod:`benchmarks.anchors`.
Wire 0 is the most significant bit, as in hybrid and PennyLane.
"""

from __future__ import annotations

import functools
import math
import operator

import numpy as np

import hybrid

__all__ = [
    "qft_gates",
    "random_layered_gates",
    "sel_ranges",
    "sel_gates",
    "to_hybrid",
    "sel_hybrid",
    "weight_names",
    "z_sum",
    "z_list",
]

Gate = tuple[str, tuple, tuple[int, ...]]


def qft_gates(n: int) -> list[Gate]:
    """Textbook QFT on the input |0...01>: X on the last wire, then H and CP(pi/2^(k-j))
    on each wire j (controls k > j), then the swaps that reverse the wire order."""
    gates: list[Gate] = [("x", (), (n - 1,))]
    for j in range(n):
        gates.append(("h", (), (j,)))
        for k in range(j + 1, n):
            gates.append(("cp", (math.pi / 2 ** (k - j),), (k, j)))
    for j in range(n // 2):
        gates.append(("swap", (), (j, n - 1 - j)))
    return gates


def random_layered_gates(n: int, layers: int = 10, seed: int = 1234) -> list[Gate]:
    """``layers`` x (RY and RZ on every wire with seeded angles, then CNOTs 0-1, ..., n-2 - n-1)."""
    angles = np.random.default_rng(seed).uniform(0, 2 * np.pi, size=(layers, n, 2))
    gates: list[Gate] = []
    for layer in range(layers):
        for w in range(n):
            gates.append(("ry", (float(angles[layer, w, 0]),), (w,)))
            gates.append(("rz", (float(angles[layer, w, 1]),), (w,)))
        for w in range(n - 1):
            gates.append(("cx", (), (w, w + 1)))
    return gates


def sel_ranges(n: int, layers: int) -> list[int]:
    """qml.StronglyEntanglingLayers' default CNOT ranges: ``(l mod (n - 1)) + 1``."""
    return [(layer % (n - 1)) + 1 for layer in range(layers)] if n > 1 else [0] * layers


def weight_names(n: int, layers: int) -> list[str]:
    """Symbol names ``w{layer}_{wire}_{k}`` in the order of a ``(layers, n, 3)`` weight array."""
    return [f"w{layer}_{i}_{k}" for layer in range(layers) for i in range(n) for k in range(3)]


def sel_gates(weights, n: int) -> list[Gate]:
    """StronglyEntanglingLayers by hand: per layer, Rot on each wire, then CNOT(i, (i+r) mod n).

    ``weights`` is indexable as ``weights[layer][wire][k]`` (numbers, tensors or symbols).
    """
    layers = len(weights)
    gates: list[Gate] = []
    for layer, r in enumerate(sel_ranges(n, layers)):
        for i in range(n):
            w = weights[layer][i]
            gates.append(("rot", (w[0], w[1], w[2]), (i,)))
        if n > 1:
            for i in range(n):
                gates.append(("cx", (), (i, (i + r) % n)))
    return gates


def to_hybrid(n: int, gates: list[Gate]) -> hybrid.Circuit:
    """A ``hybrid.Circuit`` from a gate list (builder methods take params, then wires)."""
    circuit = hybrid.Circuit(n)
    for name, params, wires in gates:
        getattr(circuit, name)(*params, *wires)
    return circuit


def sel_hybrid(n: int, layers: int = 2, embed: bool = False) -> hybrid.Circuit:
    """SEL with symbolic weights ``w{l}_{i}_{k}``, optionally after RX(x{i}) on each wire i."""
    names = iter(weight_names(n, layers))
    symbols = [[[hybrid.Parameter(next(names)) for _ in range(3)] for _ in range(n)] for _ in range(layers)]
    gates: list[Gate] = [("rx", (hybrid.Parameter(f"x{i}"),), (i,)) for i in range(n)] if embed else []
    return to_hybrid(n, gates + sel_gates(symbols, n))


def z_list(n: int) -> list:
    return [hybrid.Z(i) for i in range(n)]


def z_sum(n: int):
    """``Z(0) + Z(1) + ... + Z(n-1)``."""
    return functools.reduce(operator.add, z_list(n))
