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


# Noise: Kraus operators written out from the conventions table (DESIGN.md section 9), and a
# dense density-matrix evolution by brute force ---------------------------------------------

I2 = np.eye(2)


def _thermal_kraus(t1, t2, time, pe):
    """Thermal relaxation as a Choi matrix diagonalised by numpy (valid for T2 <= 2 T1)."""
    r = 1 - np.exp(-time / t1)
    e = np.exp(-time / t2)
    # Choi matrix sum_ij |i><j| (x) E(|i><j|), basis |in>|out>.
    choi = np.zeros((4, 4), dtype=complex)
    choi[0, 0], choi[1, 1] = 1 - pe * r, pe * r  # |0> -> |0>, |1>
    choi[2, 2], choi[3, 3] = (1 - pe) * r, 1 - (1 - pe) * r  # |1> -> |0>, |1>
    choi[0, 3] = choi[3, 0] = e
    vals, vecs = np.linalg.eigh(choi)
    return [np.sqrt(max(v, 0)) * vecs[:, i].reshape(2, 2).T for i, v in enumerate(vals) if v > 1e-15]


def reference_kraus(op, params: list[float]) -> list[np.ndarray]:
    """An independent Kraus set for a ``Channel`` record."""
    name = op.kind.name
    x, y, z = FIXED["x"], FIXED["y"], FIXED["z"]
    if name == "depolarizing":
        (p,) = params
        return [np.sqrt(1 - p) * I2] + [np.sqrt(p / 3) * m for m in (x, y, z)]
    if name == "two_qubit_depolarizing":
        (p,) = params
        paulis = [I2, x, y, z]
        out = [np.sqrt(1 - p) * np.eye(4)]
        out += [np.sqrt(p / 15) * np.kron(a, b) for i, a in enumerate(paulis) for j, b in enumerate(paulis) if i or j]
        return out
    if name == "bit_flip":
        return [np.sqrt(1 - params[0]) * I2, np.sqrt(params[0]) * x]
    if name == "phase_flip":
        return [np.sqrt(1 - params[0]) * I2, np.sqrt(params[0]) * z]
    if name == "pauli_channel":
        px, py, pz = params
        return [np.sqrt(1 - px - py - pz) * I2, np.sqrt(px) * x, np.sqrt(py) * y, np.sqrt(pz) * z]
    if name == "pauli_error":
        word = np.eye(1)
        for letter in op.data:
            word = np.kron(word, {"I": I2, "X": x, "Y": y, "Z": z}[letter])
        return [np.sqrt(1 - params[0]) * np.eye(len(word)), np.sqrt(params[0]) * word]
    if name == "amplitude_damping":
        (g,) = params
        return [np.array([[1, 0], [0, np.sqrt(1 - g)]]), np.array([[0, np.sqrt(g)], [0, 0]])]
    if name == "generalized_amplitude_damping":
        g, p = params
        a, b = np.sqrt(1 - p), np.sqrt(p)
        return [a * np.array([[1, 0], [0, np.sqrt(1 - g)]]), a * np.array([[0, np.sqrt(g)], [0, 0]]),
                b * np.array([[np.sqrt(1 - g), 0], [0, 1]]), b * np.array([[0, 0], [np.sqrt(g), 0]])]  # fmt: skip
    if name == "phase_damping":
        (g,) = params
        return [np.array([[1, 0], [0, np.sqrt(1 - g)]]), np.array([[0, 0], [0, np.sqrt(g)]])]
    if name == "thermal_relaxation":
        return _thermal_kraus(*params)
    if name == "reset_error":
        p0, p1 = params
        return [np.sqrt(1 - p0 - p1) * I2, np.sqrt(p0) * np.array([[1, 0], [0, 0]]),
                np.sqrt(p0) * np.array([[0, 1], [0, 0]]), np.sqrt(p1) * np.array([[0, 0], [1, 0]]),
                np.sqrt(p1) * np.array([[0, 0], [0, 1]])]  # fmt: skip
    if name == "kraus":
        data = op.data.detach().numpy()
        return list(data if data.ndim == 3 else data[0])
    raise KeyError(name)


def density_branches(circuit: Circuit, sample: int = 0, initial: np.ndarray | None = None) -> dict:
    """Every classical record of any circuit (channels, measurements with flips, resets,
    conditions) with its unnormalised density matrix, ``{bits: rho}``: brute force."""
    n = circuit.n_qubits
    rho = np.zeros((2**n, 2**n), dtype=complex)
    rho[0, 0] = 1
    if initial is not None:
        rho = np.asarray(initial, dtype=complex)
    branches = {(0,) * circuit.n_clbits: rho}
    for op in circuit.ops:
        out: dict = {}

        def add(bits, r):
            out[bits] = out.get(bits, 0) + r

        for bits, r in branches.items():
            if isinstance(op, Measure):
                for outcome in (0, 1):
                    proj = embed(np.diag([1 - outcome, outcome]).astype(complex), [op.wire], n)
                    if op.reset and outcome:
                        proj = embed(FIXED["x"], [op.wire], n) @ proj
                    after = proj @ r @ proj.conj().T
                    if op.clbit is None:
                        add(bits, after)
                        continue
                    for read, weight in ((outcome, 1 - op.flip), (1 - outcome, op.flip)):
                        if weight:
                            new = list(bits)
                            new[op.clbit] = read
                            add(tuple(new), weight * after)
                continue
            params = [_value(p, sample) for p in op.params]
            if hasattr(op, "kind"):  # a channel
                ks = [embed(np.asarray(k, dtype=complex), list(op.wires), n) for k in reference_kraus(op, params)]
                r = sum(k @ r @ k.conj().T for k in ks)
            else:
                cond = op.condition
                if cond is None or all(bits[b] == v for b, v in zip(cond.clbits, cond.bit_values())):
                    u = op_matrix(op, n, params)
                    r = u @ r @ u.conj().T
            add(bits, r)
        branches = out
    return branches


def reference_density(circuit: Circuit, sample: int = 0, initial: np.ndarray | None = None) -> np.ndarray:
    """The exact mixed state of any circuit: the sum of :func:`density_branches`."""
    return sum(density_branches(circuit, sample, initial).values())


def reference_records(circuit: Circuit) -> dict[tuple[int, ...], float]:
    """The exact distribution of a circuit's classical record, ``{bits: probability}``."""
    return {bits: float(np.trace(r).real) for bits, r in density_branches(circuit).items()}
