"""Random circuits built twice: with our builders and, independently, with Qiskit's.

Each entry of :data:`GATE_TABLE` says how to put one gate kind on a ``hybrid`` circuit and
on a ``qiskit`` circuit (qubit i = wire i). The Qiskit side never goes through
``hybrid.interop``, so a comparison of the two is an independent check of the engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from hypothesis import strategies as st
from qiskit import QuantumCircuit
from qiskit.circuit.library import DiagonalGate, UnitaryGate, XGate, ZGate
from qiskit.quantum_info import random_unitary

from hybrid import Circuit


@dataclass(frozen=True)
class GateKind:
    name: str
    n_wires: int
    n_params: int
    ours: Callable  # (circuit, params, wires, data) -> None
    qiskit: Callable  # (qc, params, wires, data) -> None
    data: Callable | None = None  # rng -> fixed data (matrix, phases, permutation)


def _rot_q(qc, p, w, d):
    qc.rz(p[0], w[0])
    qc.ry(p[1], w[0])
    qc.rz(p[2], w[0])


def _perm_matrix(perm):
    d = len(perm)
    m = np.zeros((d, d))
    m[list(perm), list(range(d))] = 1
    return m


def _same_call(name: str, n_wires: int, n_params: int, qiskit_name: str | None = None) -> GateKind:
    """A gate whose builder has the same name and (params..., wires...) order in both."""
    qname = qiskit_name or name
    return GateKind(
        name,
        n_wires,
        n_params,
        lambda c, p, w, d: getattr(c, name)(*p, *w),
        lambda q, p, w, d: getattr(q, qname)(*p, *w),
    )


_SAME_CALL = [
    ("i", 1, 0, "id"), ("x", 1, 0), ("y", 1, 0), ("z", 1, 0), ("h", 1, 0), ("s", 1, 0), ("sdg", 1, 0),
    ("t", 1, 0), ("tdg", 1, 0), ("sx", 1, 0), ("sxdg", 1, 0), ("rx", 1, 1), ("ry", 1, 1), ("rz", 1, 1),
    ("p", 1, 1), ("u", 1, 3), ("cx", 2, 0), ("cy", 2, 0), ("cz", 2, 0), ("ch", 2, 0), ("swap", 2, 0),
    ("iswap", 2, 0), ("crx", 2, 1), ("cry", 2, 1), ("crz", 2, 1), ("cp", 2, 1), ("rxx", 2, 1),
    ("ryy", 2, 1), ("rzz", 2, 1), ("ccx", 3, 0), ("cswap", 3, 0),
]  # fmt: skip

GATE_TABLE: list[GateKind] = [_same_call(*entry) for entry in _SAME_CALL] + [
    GateKind("rot", 1, 3, lambda c, p, w, d: c.rot(*p, *w), _rot_q),
    GateKind("mcx", 4, 0, lambda c, p, w, d: c.mcx(w[:3], w[3]), lambda q, p, w, d: q.mcx(w[:3], w[3])),
    GateKind(
        "mcz", 3, 0, lambda c, p, w, d: c.mcz(w[:2], w[2]), lambda q, p, w, d: q.append(ZGate().control(2), w)
    ),
    GateKind("mcp", 3, 1, lambda c, p, w, d: c.mcp(p[0], w[:2], w[2]), lambda q, p, w, d: q.mcp(p[0], w[:2], w[2])),
    GateKind(
        "cx_open",
        2,
        0,
        lambda c, p, w, d: c.mcx([w[0]], w[1], control_values=[0]),
        lambda q, p, w, d: q.append(XGate().control(1, ctrl_state=0), w),
    ),
    GateKind(
        "ctrl_u",
        3,
        3,
        lambda c, p, w, d: c.ctrl(w[0], Circuit(2).u(*p, 0).cx(0, 1), wires=w[1:]),
        lambda q, p, w, d: (q.cu(p[0], p[1], p[2], 0.0, w[0], w[1]), q.ccx(*w)),
    ),
    GateKind(
        "unitary2",
        2,
        0,
        lambda c, p, w, d: c.unitary(d, w),
        lambda q, p, w, d: q.append(UnitaryGate(d), list(reversed(w))),
        data=lambda rng: random_unitary(4, seed=int(rng.integers(1 << 30))).data,
    ),
    GateKind(
        "diagonal2",
        2,
        0,
        lambda c, p, w, d: c.diagonal(d, w),
        lambda q, p, w, d: q.append(DiagonalGate(list(d)), list(reversed(w))),
        data=lambda rng: np.exp(1j * rng.uniform(-np.pi, np.pi, 4)),
    ),
    GateKind(
        "permutation3",
        3,
        0,
        lambda c, p, w, d: c.permutation(d, w),
        lambda q, p, w, d: q.append(UnitaryGate(_perm_matrix(d)), list(reversed(w))),
        data=lambda rng: tuple(int(v) for v in rng.permutation(8)),
    ),
    GateKind(
        "global_phase",
        0,
        1,
        lambda c, p, w, d: c.global_phase(p[0]),
        lambda q, p, w, d: setattr(q, "global_phase", q.global_phase + p[0]),
    ),
]


@dataclass
class DrawnOp:
    kind: GateKind
    wires: list[int]
    params: list[float]  # one value, or a list of `batch` values when batched
    batched: list[bool]
    data: object


angles = st.floats(min_value=-2 * np.pi, max_value=2 * np.pi, allow_nan=False)


@st.composite
def random_programs(draw, max_qubits: int = 10, max_ops: int = 14, batch: int = 1):
    """(n_qubits, ops): a list of :class:`DrawnOp`; with ``batch > 1`` some parameters are batched."""
    n = draw(st.integers(1, max_qubits))
    kinds = [k for k in GATE_TABLE if k.n_wires <= n]
    ops = []
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    for _ in range(draw(st.integers(0, max_ops))):
        kind = draw(st.sampled_from(kinds))
        wires = draw(st.permutations(range(n)))[: kind.n_wires]
        params, batched = [], []
        for _ in range(kind.n_params):
            if batch > 1 and draw(st.booleans()):
                params.append([draw(angles) for _ in range(batch)])
                batched.append(True)
            else:
                params.append(draw(angles))
                batched.append(False)
        data = kind.data(rng) if kind.data else None
        ops.append(DrawnOp(kind, list(wires), params, batched, data))
    return n, ops


def build_ours(n: int, ops: list[DrawnOp], dtype=torch.float64, leaves: list | None = None) -> Circuit:
    """Our circuit; with ``leaves`` given, every parameter becomes a tensor requiring grad
    (appended to ``leaves``)."""
    c = Circuit(n)
    for op in ops:
        values = [torch.tensor(p, dtype=dtype) if b else p for p, b in zip(op.params, op.batched)]
        if leaves is not None:
            values = [torch.tensor(v, dtype=dtype, requires_grad=True) if not torch.is_tensor(v) else v.requires_grad_()
                      for v in values]
            leaves.extend(values)
        op.kind.ours(c, values, op.wires, op.data)
    return c


def build_qiskit(n: int, ops: list[DrawnOp], sample: int = 0) -> QuantumCircuit:
    qc = QuantumCircuit(n)
    for op in ops:
        values = [p[sample] if b else p for p, b in zip(op.params, op.batched)]
        op.kind.qiskit(qc, values, op.wires, op.data)
    return qc


def qiskit_to_msb_first(vec: np.ndarray, n: int) -> np.ndarray:
    """Reverse the bit order of a Qiskit (little-endian) statevector."""
    return np.asarray(vec).reshape((2,) * n).transpose(list(reversed(range(n)))).reshape(-1)
