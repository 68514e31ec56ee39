"""A tiny dense reference simulator, independent of ``hybrid.sim``.

Gate matrices are written out by hand in numpy; a circuit becomes one ``2**n x 2**n``
matrix per operation (wire 0 = most significant bit) applied to a plain vector. Slow on
purpose and obviously right: it is what the engine's kernels are checked against.
"""

from __future__ import annotations

import numpy as np

from hybrid.sim.circuit import Circuit
from hybrid.sim.instructions import Measure, Operation

SQ2 = 1 / np.sqrt(2)

FIXED = {
    "id": np.eye(2),
    "x": np.array([[0, 1], [1, 0]]),
    "y": np.array([[0, -1j], [1j, 0]]),
    "z": np.array([[1, 0], [0, -1]]),
    "h": np.array([[1, 1], [1, -1]]) * SQ2,
    "s": np.array([[1, 0], [0, 1j]]),
    "t": np.array([[1, 0], [0, np.exp(1j * np.pi / 4)]]),
    "sx": 0.5 * np.array([[1 + 1j, 1 - 1j], [1 - 1j, 1 + 1j]]),
    "swap": np.array([[1, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 1]]),
    "iswap": np.array([[1, 0, 0, 0], [0, 0, 1j, 0], [0, 1j, 0, 0], [0, 0, 0, 1]]),
}


def rx(t):
    return np.array([[np.cos(t / 2), -1j * np.sin(t / 2)], [-1j * np.sin(t / 2), np.cos(t / 2)]])


def ry(t):
    return np.array([[np.cos(t / 2), -np.sin(t / 2)], [np.sin(t / 2), np.cos(t / 2)]])


def rz(t):
    return np.diag([np.exp(-1j * t / 2), np.exp(1j * t / 2)])


def phase(t):
    return np.diag([1, np.exp(1j * t)])


def u3(theta, phi, lam):
    c, s = np.cos(theta / 2), np.sin(theta / 2)
    return np.array([[c, -np.exp(1j * lam) * s], [np.exp(1j * phi) * s, np.exp(1j * (phi + lam)) * c]])


def rot(phi, theta, omega):
    return rz(omega) @ ry(theta) @ rz(phi)


def _pauli_pair(p):
    return np.kron(p, p)


def rxx(t):
    return np.cos(t / 2) * np.eye(4) - 1j * np.sin(t / 2) * _pauli_pair(FIXED["x"])


def ryy(t):
    return np.cos(t / 2) * np.eye(4) - 1j * np.sin(t / 2) * _pauli_pair(FIXED["y"])


def rzz(t):
    return np.cos(t / 2) * np.eye(4) - 1j * np.sin(t / 2) * _pauli_pair(FIXED["z"])


PARAMETRIC = {"rx": rx, "ry": ry, "rz": rz, "p": phase, "u": u3, "rot": rot, "rxx": rxx, "ryy": ryy, "rzz": rzz}


def embed(matrix: np.ndarray, wires: list[int], n: int) -> np.ndarray:
    """The ``2**n`` matrix acting as ``matrix`` on ``wires`` (wires[0] most significant)."""
    k = len(wires)
    rest = [w for w in range(n) if w not in wires]
    big = np.kron(matrix, np.eye(2 ** (n - k))).reshape((2,) * (2 * n))
    order = list(wires) + rest  # axis i of `big` (rows) is wire order[i]
    perm = [order.index(w) for w in range(n)]
    return big.transpose(perm + [n + p for p in perm]).reshape(2**n, 2**n)


def controlled(matrix: np.ndarray, values: list[int]) -> np.ndarray:
    """``matrix`` applied when the control register reads ``values``; controls come first."""
    c, d = len(values), matrix.shape[0]
    target = int("".join(map(str, values)), 2) if values else 0
    out = np.eye(2**c * d, dtype=complex)
    out[target * d : (target + 1) * d, target * d : (target + 1) * d] = matrix
    return out


def base_matrix(op: Operation, params: list[float]) -> np.ndarray:
    name = op.gate.name
    if name in FIXED:
        m = FIXED[name]
    elif name in PARAMETRIC:
        m = PARAMETRIC[name](*params)
    elif name == "global_phase":
        m = np.array([[np.exp(1j * params[0])]])
    elif name == "unitary":
        m = np.asarray(op.data)
    elif name == "diagonal":
        m = np.diag(np.asarray(op.data))
    elif name == "permutation":
        d = len(op.data)
        m = np.zeros((d, d))
        m[list(op.data), list(range(d))] = 1
    else:
        raise KeyError(name)
    m = np.asarray(m, dtype=complex)
    return m.conj().T if op.adjoint else m


def op_matrix(op: Operation, n: int, params: list[float]) -> np.ndarray:
    m = controlled(base_matrix(op, params), list(op.control_values))
    return embed(m, list(op.controls) + list(op.wires), n)


def reference_state(circuit: Circuit, sample: int = 0, initial: np.ndarray | None = None) -> np.ndarray:
    """Statevector of a measurement-free circuit; tensors params pick batch element ``sample``."""
    n = circuit.n_qubits
    psi = np.zeros(2**n, dtype=complex)
    psi[0] = 1
    if initial is not None:
        psi = np.asarray(initial, dtype=complex)
    for op in circuit.ops:
        params = [_value(p, sample) for p in op.params]
        psi = op_matrix(op, n, params) @ psi
    return psi


def reference_branches(
    circuit: Circuit, sample: int = 0, initial: np.ndarray | None = None
) -> list[tuple[tuple[int, ...], np.ndarray]]:
    """Every measurement history of a circuit with mid-circuit measurements, resets and
    classical conditions, enumerated exactly: ``[(classical bits, unnormalised final
    state)]``. A branch's probability is its squared norm; the exact mixed state is
    ``sum |v><v|`` over branches. Brute force (2**measurements branches), by hand."""
    n = circuit.n_qubits
    start = np.zeros(2**n, dtype=complex)
    start[0] = 1
    if initial is not None:
        start = np.asarray(initial, dtype=complex)
    branches = [((0,) * circuit.n_clbits, start)]
    for op in circuit.ops:
        out = []
        for bits, psi in branches:
            if isinstance(op, Measure):
                for outcome in (0, 1):
                    v = embed(np.diag([1 - outcome, outcome]).astype(complex), [op.wire], n) @ psi
                    if op.reset and outcome:
                        v = embed(FIXED["x"], [op.wire], n) @ v
                    new = list(bits)
                    if op.clbit is not None:
                        new[op.clbit] = outcome
                    out.append((tuple(new), v))
                continue
            cond = op.condition
            if cond is None or all(bits[b] == v for b, v in zip(cond.clbits, cond.bit_values())):
                psi = op_matrix(op, n, [_value(p, sample) for p in op.params]) @ psi
            out.append((bits, psi))
        branches = [(bits, v) for bits, v in out if np.vdot(v, v).real > 1e-14]
    return branches


def _value(p, sample: int) -> float:
    if hasattr(p, "dim"):
        p = p.detach()
        return float(p[sample] if p.dim() == 1 else p)
    return float(p)


# Observables as dense matrices -------------------------------------------------------------

PAULI = {"X": FIXED["x"], "Y": FIXED["y"], "Z": FIXED["z"]}


def pauli_sum_matrix(obs, n: int) -> np.ndarray:
    total = np.zeros((2**n, 2**n), dtype=complex)
    for coeff, word in obs.terms:
        m = np.eye(2**n, dtype=complex)
        for wire, pauli in word:
            m = embed(PAULI[pauli.value], [wire], n) @ m
        total += coeff * m
    return total
