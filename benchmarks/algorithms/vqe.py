"""VQE against exact diagonalisation, side by side.

For each Hamiltonian (H2/STO-3G from PennyLane's offline qchem at several bond lengths,
transverse-field Ising chains): the ansatz's qubits and two-qubit gates, the Adam steps,
the VQE energy's error against the exact ground energy, and the wall time of the
optimisation (adjoint gradients); then exact diagonalisation of the same Hamiltonian
(scipy, on the CPU: dense up to 1024 basis states, sparse Lanczos above; molecules in
their N-electron sector) with its wall time.
Building a molecular Hamiltonian (PennyLane's Hartree-Fock) is timed on its own.

Run: ``python -c "from benchmarks.algorithms import vqe; print(vqe.run(True, 'cpu'))"``.
"""

from __future__ import annotations


from benchmarks.timing import time_call
from circuits.exact import ground_energy
from circuits.hamiltonians import molecular_hamiltonian, tfim_hamiltonian
from circuits.vqe import hardware_efficient_ansatz, minimize_energy, molecule_ansatz, small_random_angles
from hybrid.sim.device import resolve_device

__all__ = ["run"]

CHEMICAL_ACCURACY = 1.6e-3  # Hartree


def _molecule_cases(quick: bool) -> list[tuple[float, str, int]]:
    """(H2 bond length in Angstrom, ansatz, Adam steps)."""
    if quick:
        return [(0.7414, "givens", 60)]
    return [(d, "givens", 100) for d in (0.5, 0.7414, 1.0, 1.5, 2.0, 2.5)] + [(0.7414, "hardware-efficient", 300)]


def _spin_cases(quick: bool) -> list[tuple[int, int, int]]:
    """(TFIM spins at J = h = 1, open chain; RY+CNOT layers; Adam steps)."""
    if quick:
        return [(4, 4, 100)]
    return [(4, 4, 300), (8, 4, 300), (12, 4, 200), (16, 4, 100)]


def _molecule_row(distance: float, ansatz: str, steps: int, device) -> dict:
    build_s, mol = time_call(lambda: molecular_hamiltonian(["H", "H"], [0, 0, 0, 0, 0, distance]))
    circuit, start = molecule_ansatz(mol.n_qubits, mol.n_electrons, ansatz, layers=3, seed=0)
    row = _compare(mol.hamiltonian, mol.n_qubits, circuit, start, steps, 0.1, device, n_particles=mol.n_electrons)
    error = row["energy_error"]
    row.update(
        case=f"H2 {distance:g} A ({ansatz})",
        quality=f"error {error * 1e3:.2g} mHa ({'within' if error < CHEMICAL_ACCURACY else 'outside'} 1.6 mHa)",
        classical_quality=f"E0 = {row['exact_energy']:.10f} Ha",
        hamiltonian_build_s=build_s,
        bond_angstrom=distance,
    )
    return row


def _spin_row(n: int, layers: int, steps: int, device) -> dict:
    hamiltonian = tfim_hamiltonian(n, 1.0, 1.0)
    circuit = hardware_efficient_ansatz(n, layers)
    start = small_random_angles(len(circuit.parameters), 0)
    row = _compare(hamiltonian, n, circuit, start, steps, 0.05, device)
    rel = row["energy_error"] / abs(row["exact_energy"])
    row.update(
        case=f"TFIM open chain n={n}, J=h=1",
        quality=f"error {row['energy_error']:.2e} (relative {rel:.1e})",
        classical_quality=f"E0 = {row['exact_energy']:.8f}",
    )
    return row


def _compare(hamiltonian, n: int, circuit, start, steps: int, lr: float, device, n_particles=None) -> dict:
    quantum_s, (energy, _, _) = time_call(
        lambda: minimize_energy(circuit, hamiltonian, start, steps=steps, lr=lr, device=device), device
    )
    exact_s, exact = time_call(lambda: ground_energy(hamiltonian, n, n_particles=n_particles))
    return {
        "algorithm": "vqe",
        "qubits": n,
        "two_qubit_gates": circuit.count_multi_qubit_gates(),
        "resources": f"{steps} Adam steps, {len(circuit.parameters)} parameters, {len(hamiltonian.terms)} Pauli terms",
        "quantum_s": quantum_s,
        "classical": "exact diagonalisation (scipy, CPU)",
        "classical_s": exact_s,
        "device": str(device),
        "energy": energy,
        "exact_energy": exact,
        "energy_error": energy - exact,
        "steps": steps,
    }


def _warm_up(device) -> None:
    """Import PennyLane's qchem and run two optimiser steps, so the first row's times are
    not one-off start-up costs."""
    mol = molecular_hamiltonian(["H", "H"], [0, 0, 0, 0, 0, 0.7414])
    circuit, start = molecule_ansatz(mol.n_qubits, mol.n_electrons)
    minimize_energy(circuit, mol.hamiltonian, start, steps=2, lr=0.1, device=device)


def run(quick: bool, device: str) -> list[dict]:
    """One row per Hamiltonian; see the module docstring."""
    dev = resolve_device(device)
    _warm_up(dev)
    rows = [_molecule_row(d, ansatz, steps, dev) for d, ansatz, steps in _molecule_cases(quick)]
    return rows + [_spin_row(n, layers, steps, dev) for n, layers, steps in _spin_cases(quick)]
