"""Variational quantum eigensolver: molecules (PennyLane qchem Hamiltonians) and spin chains.

The energy ``<psi(theta)|H|psi(theta)>`` is minimised with a torch optimiser (Adam);
gradients come from :func:`hybrid.expval` (adjoint by default). Every result carries the
exact ground energy from :func:`circuits.exact.ground_energy` to judge it against.

Two ansatz families:

* ``"givens"`` (chemistry-inspired): the Hartree-Fock state, then one Givens rotation per
  spin-conserving double excitation and then per single excitation (the particle-number
  conserving circuit of Arrazola et al., Quantum 6, 742 (2022)). Each rotation is built
  from CNOTs and one multi-controlled RY.
* ``"hardware-efficient"``: layers of RY on every wire followed by a CNOT chain, and a
  final RY layer (real amplitudes), closed by X on the Hartree-Fock bits for molecules so
  that all-zero angles are the Hartree-Fock state.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from hybrid import Circuit, Parameter, PauliSum, expval
from hybrid._checks import non_negative_int
from hybrid.sim import gates
from hybrid.sim.device import real_dtype_of

from .exact import ground_energy
from .hamiltonians import molecular_hamiltonian
from .noise import with_noise

__all__ = [
    "VQEResult",
    "DissociationCurve",
    "ANSATZE",
    "single_excitation",
    "double_excitation",
    "excitations",
    "givens_ansatz",
    "hardware_efficient_ansatz",
    "minimize_energy",
    "molecule_ansatz",
    "small_random_angles",
    "vqe_molecule",
    "vqe_spin",
    "h2_dissociation_curve",
]

ANSATZE = ("givens", "hardware-efficient")


@dataclass(frozen=True)
class VQEResult:
    """Outcome of one VQE run; energies in the Hamiltonian's units (Hartree for molecules)."""

    energy: float  # the lowest <H> the optimiser evaluated (at ``params``)
    exact_energy: float  # lowest eigenvalue by exact diagonalisation (molecules: in the N-electron sector)
    history: tuple[float, ...]  # <H> before each optimiser step
    params: torch.Tensor  # (P,) parameters of ``energy``, in the order of circuit.parameters
    n_qubits: int
    hamiltonian_terms: int
    two_qubit_gates: int
    ansatz: str

    @property
    def error(self) -> float:
        """``energy - exact_energy`` (>= 0 up to rounding, by the variational principle)."""
        return self.energy - self.exact_energy


@dataclass(frozen=True)
class DissociationCurve:
    """VQE and exact energies of H2 against the bond length."""

    distances_angstrom: tuple[float, ...]
    results: tuple[VQEResult, ...]

    @property
    def energies(self) -> tuple[float, ...]:
        return tuple(r.energy for r in self.results)

    @property
    def exact_energies(self) -> tuple[float, ...]:
        return tuple(r.exact_energy for r in self.results)


# --- ansatz building blocks ------------------------------------------------------------------


def single_excitation(circuit: Circuit, theta, wires: Sequence[int]) -> Circuit:
    """Givens rotation by ``theta`` in span{|01>, |10>} of ``wires`` (PennyLane's SingleExcitation).

    |01> -> cos(theta/2)|01> + sin(theta/2)|10>. The CNOT maps the pair onto two states that
    differ only on ``wires[0]`` with ``wires[1]`` = 1, where a controlled RY rotates them.
    """
    a, b = wires
    circuit.cx(a, b)
    circuit.cry(theta, b, a)
    return circuit.cx(a, b)


def double_excitation(circuit: Circuit, theta, wires: Sequence[int]) -> Circuit:
    """Givens rotation by ``theta`` in span{|0011>, |1100>} of ``wires`` (PennyLane's DoubleExcitation).

    |0011> -> cos(theta/2)|0011> + sin(theta/2)|1100>. Three CNOTs send |1100> to |1010>
    and |0011> to |0010>: they differ only on ``wires[0]``, with the other wires reading
    0, 1, 0, which no other basis state the CNOTs produce does. A RY on ``wires[0]``
    controlled on that pattern rotates the pair; the CNOTs are then undone.
    """
    a, b, c, d = wires
    ladder = [(a, b), (c, d), (a, c)]
    for ctl, tgt in ladder:
        circuit.cx(ctl, tgt)
    circuit.apply(gates.RY, a, (theta,), controls=(b, c, d), control_values=(0, 1, 0))
    for ctl, tgt in reversed(ladder):
        circuit.cx(ctl, tgt)
    return circuit


def excitations(n_electrons: int, n_qubits: int) -> tuple[list[tuple[int, int]], list[tuple[int, int, int, int]]]:
    """Spin-conserving single and double excitations from the Hartree-Fock state.

    Spin orbitals alternate alpha (even wire) and beta (odd wire); occupied are wires
    ``0 .. n_electrons-1``. Returns ``(singles [(i, a)], doubles [(i, j, a, b)])``.
    """
    occupied, virtual = range(n_electrons), range(n_electrons, n_qubits)
    singles = [(i, a) for i in occupied for a in virtual if i % 2 == a % 2]
    doubles = [
        (i, j, a, b)
        for i, j in itertools.combinations(occupied, 2)
        for a, b in itertools.combinations(virtual, 2)
        if (i % 2 + j % 2) == (a % 2 + b % 2)
    ]
    return singles, doubles


def givens_ansatz(n_qubits: int, n_electrons: int, *, noise=None) -> Circuit:
    """Hartree-Fock state, then a Givens rotation per double and per single excitation.

    Parameters are named ``d0, d1, ...`` (doubles) then ``s0, s1, ...`` (singles); all zero
    gives the Hartree-Fock state. ``noise``: ``None`` (ideal) or a noise model with
    ``apply(circuit)`` (see :mod:`circuits.noise`); the circuit returned holds its channels.
    """
    _check_size(n_qubits, n_electrons)
    singles, doubles = excitations(n_electrons, n_qubits)
    circuit = Circuit(n_qubits)
    for w in range(n_electrons):
        circuit.x(w)
    for k, wires in enumerate(doubles):
        double_excitation(circuit, Parameter(f"d{k}"), wires)
    for k, wires in enumerate(singles):
        single_excitation(circuit, Parameter(f"s{k}"), wires)
    return with_noise(circuit, noise)


def hardware_efficient_ansatz(n_qubits: int, layers: int, *, occupied: Sequence[int] = (), noise=None) -> Circuit:
    """``layers`` x (RY on every wire, then CNOTs 0->1->...->n-1), a last RY layer, then X
    on the ``occupied`` wires.

    The closing X gates are a fixed relabelling of the basis, so they change nothing the
    ansatz can reach, but all-zero parameters now give the basis state with ``occupied``
    set (the Hartree-Fock state for a molecule) instead of a state the CNOT chain has
    scrambled. Parameters are named ``y<layer>_<wire>``. ``noise``: as for :func:`givens_ansatz`.
    """
    layers = non_negative_int(layers, "layers")
    circuit = Circuit(n_qubits)
    for layer in range(layers + 1):
        for w in range(n_qubits):
            circuit.ry(Parameter(f"y{layer}_{w}"), w)
        if layer < layers:
            for w in range(n_qubits - 1):
                circuit.cx(w, w + 1)
    for w in occupied:
        circuit.x(w)
    return with_noise(circuit, noise)


# --- optimisation ----------------------------------------------------------------------------


def minimize_energy(
    circuit: Circuit,
    hamiltonian: PauliSum,
    initial_params: torch.Tensor,
    *,
    steps: int,
    lr: float,
    diff_method: str = "adjoint",
    device: str | torch.device = "auto",
    dtype: torch.dtype = torch.complex128,
) -> tuple[float, tuple[float, ...], torch.Tensor]:
    """Adam on ``<H>``: returns (lowest energy seen, energy before each step, its parameters).

    Adam at a fixed learning rate can overshoot and circle the minimum, so the lowest
    energy evaluated (before any step or after the last) is kept with its parameters.
    """
    steps = non_negative_int(steps, "steps")
    if not lr > 0:
        raise ValueError(f"lr must be a positive learning rate; got {lr!r}")
    real = real_dtype_of(dtype)
    params = initial_params.detach().to(real).clone().requires_grad_(True)
    optimiser = torch.optim.Adam([params], lr=lr)
    history: list[float] = []
    best = (float("inf"), params.detach().clone())
    for _ in range(steps):
        optimiser.zero_grad()
        energy = expval(circuit, hamiltonian, params, diff_method=diff_method, device=device, dtype=dtype)
        history.append(energy.item())
        if history[-1] < best[0]:
            best = (history[-1], params.detach().clone())
        energy.backward()
        optimiser.step()
    with torch.no_grad():
        final = expval(circuit, hamiltonian, params, device=device, dtype=dtype).item()
    if final < best[0]:
        best = (final, params.detach().clone())
    return best[0], tuple(history), best[1]


def molecule_ansatz(
    n_qubits: int,
    n_electrons: int,
    ansatz: str = "givens",
    *,
    layers: int = 2,
    seed: int | None = None,
    noise=None,
) -> tuple[Circuit, torch.Tensor]:
    """The ansatz circuit for a molecule and its starting parameters (float64).

    ``"givens"`` starts at Hartree-Fock with every angle zero; ``"hardware-efficient"``
    (``layers`` RY+CNOT layers, zero angles at Hartree-Fock) from small random angles drawn
    with ``seed``. ``noise``: ``None`` (ideal) or a noise model with ``apply(circuit)``
    (see :mod:`circuits.noise`); the circuit returned holds its channels.
    """
    _check_ansatz(ansatz)
    if ansatz == "givens":
        circuit = givens_ansatz(n_qubits, n_electrons, noise=noise)
        return circuit, torch.zeros(len(circuit.parameters), dtype=torch.float64)
    circuit = hardware_efficient_ansatz(n_qubits, layers, occupied=range(n_electrons), noise=noise)
    return circuit, small_random_angles(len(circuit.parameters), seed)


def vqe_molecule(
    symbols: Sequence[str],
    coordinates_angstrom: Sequence[float] | np.ndarray,
    *,
    ansatz: str = "givens",
    charge: int = 0,
    basis: str = "sto-3g",
    layers: int = 2,
    steps: int = 100,
    lr: float = 0.1,
    seed: int | None = None,
    initial_params: torch.Tensor | None = None,
    diff_method: str = "adjoint",
    device: str | torch.device = "auto",
    dtype: torch.dtype = torch.complex128,
) -> VQEResult:
    """Ground-state energy of a molecule (Hartree) by VQE, with the exact energy beside it.

    Args:
        symbols, coordinates_angstrom, charge, basis: the molecule (see
            :func:`circuits.hamiltonians.molecular_hamiltonian`).
        ansatz: ``"givens"`` (starts at Hartree-Fock, parameters zero) or
            ``"hardware-efficient"`` (``layers`` RY+CNOT layers, zero angles at Hartree-Fock;
            starts from small random angles drawn with ``seed``).
        steps, lr: Adam steps and learning rate.
        initial_params: start here instead (e.g. the previous point of a curve).
        diff_method, device, dtype: passed to :func:`hybrid.expval`.
    """
    mol = molecular_hamiltonian(symbols, coordinates_angstrom, charge=charge, basis=basis)
    circuit, start = molecule_ansatz(mol.n_qubits, mol.n_electrons, ansatz, layers=layers, seed=seed)
    return _run(
        circuit, mol.hamiltonian, mol.n_qubits, ansatz, start, initial_params, steps, lr, diff_method, device, dtype,
        n_particles=mol.n_electrons,
    )  # fmt: skip


def vqe_spin(
    hamiltonian: PauliSum,
    n_qubits: int,
    *,
    layers: int | None = None,
    steps: int = 300,
    lr: float = 0.05,
    seed: int | None = None,
    initial_params: torch.Tensor | None = None,
    diff_method: str = "adjoint",
    device: str | torch.device = "auto",
    dtype: torch.dtype = torch.complex128,
) -> VQEResult:
    """VQE for a spin Hamiltonian with the hardware-efficient RY+CNOT ansatz.

    ``layers`` defaults to ``n_qubits``. Starting parameters are small random angles drawn
    with ``seed`` (exactly zero would start on a stationary point of RY-only circuits).
    RY+CNOT gives real amplitudes, which suits stoquastic models such as the TFIM whose
    ground state is real.
    """
    if hamiltonian.wires and max(hamiltonian.wires) >= n_qubits:
        raise ValueError(f"the Hamiltonian acts on wire {max(hamiltonian.wires)} but n_qubits={n_qubits}")
    circuit = hardware_efficient_ansatz(n_qubits, n_qubits if layers is None else layers)
    start = small_random_angles(len(circuit.parameters), seed)
    return _run(circuit, hamiltonian, n_qubits, "hardware-efficient", start, initial_params, steps, lr, diff_method, device, dtype)


def h2_dissociation_curve(distances_angstrom: Sequence[float], **vqe_kwargs) -> DissociationCurve:
    """VQE and exact energies of H2 at each bond length (Angstrom), in the order given.

    Each point starts from the previous point's optimised parameters (a warm start along
    the curve). ``vqe_kwargs`` go to :func:`vqe_molecule`.
    """
    distances = tuple(float(d) for d in distances_angstrom)
    if not distances or min(distances) <= 0:
        raise ValueError(f"bond lengths must be positive Angstrom values; got {distances_angstrom!r}")
    results, params = [], vqe_kwargs.pop("initial_params", None)
    for d in distances:
        result = vqe_molecule(["H", "H"], [0.0, 0.0, 0.0, 0.0, 0.0, d], initial_params=params, **vqe_kwargs)
        results.append(result)
        params = result.params
    return DissociationCurve(distances, tuple(results))


# --- pieces ---------------------------------------------------------------------------------


def _run(circuit, hamiltonian, n_qubits, ansatz, start, initial_params, steps, lr, diff_method, device, dtype, n_particles=None):
    if initial_params is not None:
        start = torch.as_tensor(initial_params, dtype=torch.float64).reshape(-1)
        if start.numel() != len(circuit.parameters):
            raise ValueError(f"initial_params has {start.numel()} value(s); the ansatz has {len(circuit.parameters)}")
    energy, history, params = minimize_energy(
        circuit, hamiltonian, start, steps=steps, lr=lr, diff_method=diff_method, device=device, dtype=dtype
    )
    return VQEResult(
        energy=energy,
        exact_energy=ground_energy(hamiltonian, n_qubits, n_particles=n_particles),
        history=history,
        params=params,
        n_qubits=n_qubits,
        hamiltonian_terms=len(hamiltonian.terms),
        two_qubit_gates=circuit.count_multi_qubit_gates(),
        ansatz=ansatz,
    )


def small_random_angles(n: int, seed: int | None) -> torch.Tensor:
    """``n`` angles from N(0, 0.1^2), float64: near a known start, off its stationary points."""
    gen = torch.Generator().manual_seed(seed) if seed is not None else None
    return 0.1 * torch.randn(n, generator=gen, dtype=torch.float64)


def _check_ansatz(ansatz: str) -> None:
    if ansatz not in ANSATZE:
        raise ValueError(f"unknown ansatz {ansatz!r}; use one of {', '.join(ANSATZE)}")


def _check_size(n_qubits: int, n_electrons: int) -> None:
    if not 0 < n_electrons < n_qubits:
        raise ValueError(
            f"{n_electrons} electron(s) in {n_qubits} spin orbitals leave nothing to excite; "
            "need 0 < n_electrons < n_qubits"
        )

