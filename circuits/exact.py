"""Classical counterparts: exact diagonalisation, brute-force max cut and a MaxCut heuristic.

These are the references VQE and QAOA are judged against.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import torch

from hybrid import PauliSum
from hybrid._checks import positive_int
from hybrid.sim.device import resolve_device
from hybrid.sim.observables import Pauli

from .hamiltonians import MaxCutProblem

__all__ = ["Cut", "sparse_matrix", "ground_energy", "maxcut_brute_force", "maxcut_heuristic"]

# Up to 2**_DENSE_LIMIT basis states a dense eigensolver is faster (and exact) than Lanczos.
_DENSE_LIMIT = 10


@dataclass(frozen=True)
class Cut:
    """A cut: ``bits[k]`` is the side of wire ``k`` (node ``problem.nodes[k]``), and its weight."""

    value: float
    bits: tuple[int, ...]

    @property
    def bitstring(self) -> str:
        return "".join(map(str, self.bits))


def sparse_matrix(hamiltonian: PauliSum, n_qubits: int) -> sp.csr_matrix:
    """The ``2**n x 2**n`` matrix of a Pauli sum (wire 0 the most significant bit), sparse.

    A Pauli word maps basis state ``x`` to ``x XOR flip`` (flip: its X/Y wires) with phase
    ``i**(#Y) * (-1)**popcount(x & zy)`` (zy: its Z/Y wires), since ``Y = i X Z``.
    """
    if hamiltonian.wires and max(hamiltonian.wires) >= n_qubits:
        raise ValueError(f"the Hamiltonian acts on wire {max(hamiltonian.wires)} but n_qubits={n_qubits}")
    dim = 2**n_qubits
    x = np.arange(dim, dtype=np.int64)
    by_flip: dict[int, np.ndarray] = {}
    for coeff, word in hamiltonian.terms:
        flip = zy = n_y = 0
        for wire, pauli in word:
            bit = 1 << (n_qubits - 1 - wire)
            flip |= bit if pauli in (Pauli.X, Pauli.Y) else 0
            zy |= bit if pauli in (Pauli.Z, Pauli.Y) else 0
            n_y += pauli is Pauli.Y
        signs = 1.0 - 2.0 * (_popcount(x & zy) & 1)
        column = coeff * (1j**n_y) * signs
        by_flip[flip] = by_flip.get(flip, 0) + column
    if not by_flip:
        return sp.csr_matrix((dim, dim))
    rows, cols, vals = [], [], []
    for flip, column in by_flip.items():
        rows.append(x ^ flip)
        cols.append(x)
        vals.append(np.broadcast_to(column, (dim,)))
    matrix = sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(dim, dim)
    )
    if matrix.nnz == 0 or abs(matrix.imag).max() < 1e-14:
        matrix = matrix.real  # real symmetric: half the memory, faster Lanczos
    return matrix


def ground_energy(hamiltonian: PauliSum, n_qubits: int, *, n_particles: int | None = None) -> float:
    """The lowest eigenvalue, by dense ``eigvalsh`` up to 10 qubits (or sector size 1024),
    else sparse Lanczos (``eigsh``).

    ``n_particles`` restricts the search to basis states with that many 1 bits, the
    sector a number-conserving Hamiltonian keeps: a molecule's N-electron energy (full
    configuration interaction) rather than the lowest energy of any electron count.
    """
    matrix = sparse_matrix(hamiltonian, n_qubits)
    if n_particles is not None:
        if not 0 <= n_particles <= n_qubits:
            raise ValueError(f"n_particles must be between 0 and n_qubits={n_qubits}; got {n_particles}")
        keep = np.flatnonzero(_popcount(np.arange(2**n_qubits, dtype=np.int64)) == n_particles)
        matrix = matrix[keep][:, keep]
    if matrix.shape[0] <= 2**_DENSE_LIMIT:
        return float(np.linalg.eigvalsh(matrix.toarray())[0])
    # Seeded start vector: the result does not depend on numpy's global random state.
    v0 = np.random.default_rng(0).standard_normal(matrix.shape[0])
    return float(spla.eigsh(matrix, k=1, which="SA", v0=v0, tol=1e-12)[0][0])


def maxcut_brute_force(problem: MaxCutProblem, *, device: str | torch.device = "auto", chunk: int = 2**20) -> Cut:
    """The maximum cut by trying every assignment, vectorised in torch (on the GPU when present).

    Node 0 is kept on side 0 (a cut and its complement are the same cut), so
    ``2**(n-1)`` assignments are scored, ``chunk`` at a time.
    """
    n = problem.n
    if n > 40:
        raise ValueError(f"brute force over 2**{n - 1} cuts is out of reach; use maxcut_heuristic")
    dev = resolve_device(device)
    shifts = torch.arange(n - 1, -1, -1, device=dev)  # wire k is bit n-1-k
    best_value, best_index = -float("inf"), 0
    for start in range(0, 2 ** (n - 1), chunk):
        idx = torch.arange(start, min(start + chunk, 2 ** (n - 1)), device=dev)
        bits = (idx.unsqueeze(1) >> shifts) & 1  # (chunk, n)
        values = problem.cut_values(bits)  # (chunk,)
        top = int(torch.argmax(values))
        if values[top].item() > best_value:
            best_value, best_index = values[top].item(), start + top
    bits = tuple((best_index >> (n - 1 - k)) & 1 for k in range(n))
    return Cut(problem.cut_value(bits), bits)


def maxcut_heuristic(problem: MaxCutProblem, *, restarts: int = 10, seed: int | None = None) -> Cut:
    """Randomised greedy construction, then one-exchange local search; best of ``restarts``.

    Greedy: visit nodes in a random order and put each on the side that cuts more weight
    to the nodes already placed. Local search: move any node whose move raises the cut,
    until none does (a local optimum: every node cuts at least half its incident weight).
    """
    restarts = positive_int(restarts, "restarts")
    rng = np.random.default_rng(seed)
    weights = _weight_matrix(problem)
    best: Cut | None = None
    for _ in range(restarts):
        side = _local_search(weights, _greedy(weights, rng))
        cut = Cut(problem.cut_value(side), tuple(int(b) for b in side))
        if best is None or cut.value > best.value:
            best = cut
    return best


# --- pieces ---------------------------------------------------------------------------------


def _popcount(a: np.ndarray) -> np.ndarray:
    return np.unpackbits(a.view(np.uint8).reshape(-1, 8), axis=1).sum(axis=1)


def _weight_matrix(problem: MaxCutProblem) -> np.ndarray:
    weights = np.zeros((problem.n, problem.n))
    for k, l, w in problem.edges:
        weights[k, l] += w
        weights[l, k] += w
    return weights


def _greedy(weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    n = weights.shape[0]
    side = np.full(n, -1)
    for node in rng.permutation(n):
        to_side0 = weights[node, side == 0].sum()  # weight cut if node goes to side 1
        to_side1 = weights[node, side == 1].sum()
        side[node] = int(to_side0 > to_side1) if to_side0 != to_side1 else int(rng.integers(2))
    return side


def _local_search(weights: np.ndarray, side: np.ndarray) -> np.ndarray:
    side = side.copy()
    spin = 1 - 2 * side  # +1 on side 0, -1 on side 1
    while True:
        # Moving node k changes the cut by sum_l w_kl s_k s_l (same-side weight minus cut weight).
        gain = spin * (weights @ spin)
        k = int(np.argmax(gain))
        if gain[k] <= 1e-12:
            return side
        spin[k] = -spin[k]
        side[k] = 1 - side[k]
