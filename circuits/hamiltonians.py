"""Hamiltonians as :class:`~hybrid.PauliSum`: molecules, the transverse-field Ising chain and MaxCut.

Molecular Hamiltonians come from PennyLane's offline quantum chemistry (``qml.qchem`` with
its own Hartree-Fock, ``method="dhf"``: nothing is downloaded). PennyLane numbers wires
with wire 0 as the most significant bit, as we do, so a PennyLane wire ``k`` becomes our
wire ``k`` unchanged. PennyLane is imported inside the functions that need it, so
``import circuits`` works without it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from hybrid import I, PauliSum, X, Z, pauli_word
from hybrid._checks import integer

__all__ = [
    "MolecularHamiltonian",
    "MaxCutProblem",
    "molecular_hamiltonian",
    "from_pennylane",
    "tfim_hamiltonian",
    "maxcut_problem",
]


@dataclass(frozen=True)
class MolecularHamiltonian:
    """A qubit Hamiltonian of a molecule (Jordan-Wigner, spin orbitals alternate alpha/beta)."""

    hamiltonian: PauliSum  # in Hartree
    n_qubits: int
    n_electrons: int

    @property
    def hf_state(self) -> tuple[int, ...]:
        """Hartree-Fock occupation, one bit per wire: the lowest ``n_electrons`` spin orbitals."""
        return tuple(1 if w < self.n_electrons else 0 for w in range(self.n_qubits))


def molecular_hamiltonian(
    symbols: Sequence[str],
    coordinates_angstrom: Sequence[float] | np.ndarray,
    *,
    charge: int = 0,
    basis: str = "sto-3g",
) -> MolecularHamiltonian:
    """The electronic Hamiltonian of a molecule, built offline by ``qml.qchem``.

    Args:
        symbols: atomic symbols, e.g. ``["H", "H"]``.
        coordinates_angstrom: ``3 * len(symbols)`` nuclear coordinates in Angstrom (flat or
            ``(n_atoms, 3)``).
        charge: net charge of the molecule.
        basis: a basis set PennyLane's built-in Hartree-Fock knows (``"sto-3g"``, ``"6-31g"``).
    """
    coords = np.asarray(coordinates_angstrom, dtype=float).reshape(-1)
    if len(symbols) == 0 or coords.size != 3 * len(symbols):
        raise ValueError(
            f"need 3 coordinates per atom: {len(symbols)} symbol(s) but {coords.size} coordinate(s); "
            "pass e.g. symbols=['H', 'H'], coordinates_angstrom=[0, 0, 0, 0, 0, 0.7414]"
        )
    qml = _pennylane()
    # PennyLane's default unit is Bohr, so the unit is always given explicitly.
    molecule = qml.qchem.Molecule(
        list(symbols), coords.reshape(-1, 3), charge=charge, basis_name=basis, unit="angstrom"
    )
    # method="dhf": PennyLane's own differentiable Hartree-Fock, which needs no download.
    op, n_qubits = qml.qchem.molecular_hamiltonian(molecule, method="dhf")
    electrons = int(molecule.n_electrons)
    if electrons < 0 or electrons > n_qubits:
        raise ValueError(f"charge {charge} leaves {electrons} electrons for {n_qubits} spin orbitals")
    return MolecularHamiltonian(from_pennylane(op, n_qubits), int(n_qubits), electrons)


def from_pennylane(op, n_qubits: int | None = None) -> PauliSum:
    """Convert a PennyLane operator (a sum of Pauli words, integer wires) to a PauliSum.

    Coefficients must be real (a Hermitian observable); an imaginary part above 1e-10
    raises. PennyLane wire ``k`` becomes our wire ``k`` (both most-significant-first).
    """
    sentence = op.pauli_rep
    if sentence is None:
        raise ValueError(f"cannot write {op!r} as a sum of Pauli words; simplify it in PennyLane first")
    total = PauliSum(())
    for word, coeff in sentence.items():
        coeff = complex(coeff)
        if abs(coeff.imag) > 1e-10:
            raise ValueError(f"term {word} has complex coefficient {coeff}; the observable must be Hermitian")
        wires = list(word.keys())
        bad = [w for w in wires if not isinstance(w, int | np.integer) or w < 0 or (n_qubits and w >= n_qubits)]
        if bad:
            raise ValueError(f"PennyLane wires must be integers 0..n-1 to map onto ours; got {bad}")
        letters = "".join(word[w] for w in wires)
        total = total + pauli_word(letters, [int(w) for w in wires], coeff.real)
    return total


def tfim_hamiltonian(n: int, J: float = 1.0, h: float = 1.0, *, periodic: bool = False) -> PauliSum:  # noqa: N803
    """Transverse-field Ising chain ``H = -J sum_i Z_i Z_{i+1} - h sum_i X_i`` on ``n`` spins.

    ``periodic=True`` adds the bond ``Z_{n-1} Z_0`` (needs ``n >= 3`` so it is a new bond).
    """
    n = integer(n, "n (the number of spins in the chain)", minimum=2)
    if periodic and n < 3:
        raise ValueError("a periodic chain needs n >= 3 (with 2 spins the closing bond repeats the open one)")
    bonds = [(i, i + 1) for i in range(n - 1)] + ([(n - 1, 0)] if periodic else [])
    total = PauliSum(())
    for a, b in bonds:
        total = total + (-float(J)) * (Z(a) @ Z(b))
    for i in range(n):
        total = total + (-float(h)) * X(i)
    return total


@dataclass(frozen=True)
class MaxCutProblem:
    """A weighted graph laid out on wires: node ``nodes[k]`` is wire ``k``.

    ``edges`` holds ``(k, l, weight)`` with wire indices ``k < l``.
    """

    nodes: tuple
    edges: tuple[tuple[int, int, float], ...]

    @property
    def n(self) -> int:
        return len(self.nodes)

    @property
    def total_weight(self) -> float:
        return sum(w for _, _, w in self.edges)

    def cost_hamiltonian(self) -> PauliSum:
        """``C = sum_(k,l) w_kl (1 - Z_k Z_l) / 2``: its eigenvalue on a basis state is that cut's weight."""
        total = PauliSum(())
        for k, l, w in self.edges:
            total = total + (0.5 * w) * I() - (0.5 * w) * (Z(k) @ Z(l))
        return total

    def cut_value(self, bits: Sequence[int]) -> float:
        """Weight of the cut where wire ``k`` sits on side ``bits[k]``."""
        if len(bits) != self.n:
            raise ValueError(f"need one bit per node ({self.n}); got {len(bits)}")
        return float(sum(w for k, l, w in self.edges if bits[k] != bits[l]))

    def cut_values(self, bits: torch.Tensor) -> torch.Tensor:
        """Cut weights ``(...,)`` float64 of a batch of 0/1 integer assignments ``(..., n)``."""
        dev = bits.device
        u = torch.tensor([k for k, _, _ in self.edges], device=dev)
        v = torch.tensor([l for _, l, _ in self.edges], device=dev)
        w = torch.tensor([wt for _, _, wt in self.edges], dtype=torch.float64, device=dev)
        return (bits[..., u] ^ bits[..., v]).to(torch.float64) @ w

    def partition(self, bits: Sequence[int]) -> tuple[frozenset, frozenset]:
        """The two node sets (side 0, side 1) of the cut ``bits``, in the graph's own labels."""
        side0 = frozenset(v for v, b in zip(self.nodes, bits) if not b)
        side1 = frozenset(v for v, b in zip(self.nodes, bits) if b)
        return side0, side1


def maxcut_problem(graph) -> MaxCutProblem:
    """Lay a networkx graph out on wires (in ``graph.nodes`` order); weights default to 1."""
    import networkx as nx

    if not isinstance(graph, nx.Graph):
        raise TypeError(f"expected a networkx graph; got {type(graph).__name__}")
    if graph.is_directed():
        raise ValueError("MaxCut is defined on undirected graphs; pass graph.to_undirected()")
    if graph.is_multigraph():
        raise ValueError("multigraphs are not supported; merge parallel edges into one weighted edge (nx.Graph)")
    nodes = tuple(graph.nodes)
    index = {v: k for k, v in enumerate(nodes)}
    edges = []
    for u, v, w in graph.edges(data="weight", default=1.0):
        if u == v:
            raise ValueError(f"self-loop on node {u!r}: it never crosses a cut; remove it")
        w = float(w)
        if not np.isfinite(w):
            raise ValueError(f"edge ({u!r}, {v!r}) has weight {w}; weights must be finite numbers")
        k, l = sorted((index[u], index[v]))
        edges.append((k, l, w))
    if not edges:
        raise ValueError("the graph has no edges, so every cut is 0; add edges")
    if not any(w for _, _, w in edges):
        raise ValueError("every edge weight is 0, so every cut is 0; give some edge a nonzero weight")
    return MaxCutProblem(nodes, tuple(edges))


def _pennylane():
    try:
        import pennylane as qml
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "molecular Hamiltonians need PennyLane's qchem: pip install -e '.[pennylane]'"
        ) from err
    return qml
