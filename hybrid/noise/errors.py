"""Error factories: small circuits on local wires that a :class:`NoiseModel` attaches.

An *error* is a :class:`~hybrid.sim.circuit.Circuit` on ``k`` local wires holding channels
(and, for coherent errors, gates). These helpers build the common one-channel errors with
the circuit builders' meanings (PennyLane's, see :mod:`hybrid.sim.channels`); any circuit
of channels and gates works as an error too, so errors compose by writing them one after
the other::

    err = Circuit(1).amplitude_damping(0.01, 0).depolarizing(0.001, 0)

Parameters may be numbers, tensors or :class:`~hybrid.Parameter` symbols (bound when the
noisy circuit is simulated, so gradients reach them).
"""

from __future__ import annotations

from ..sim.circuit import Circuit
from ..sim.params import ParamValue

__all__ = [
    "depolarizing", "two_qubit_depolarizing", "bit_flip", "phase_flip", "pauli_channel", "pauli_error",
    "amplitude_damping", "generalized_amplitude_damping", "phase_damping", "thermal_relaxation",
    "reset_error", "kraus",
]  # fmt: skip


def depolarizing(p: ParamValue, n_qubits: int = 1) -> Circuit:
    """Depolarizing noise with total error probability ``p`` on 1 or 2 wires: X, Y, Z each
    with p/3 (one wire) or each of the 15 non-identity Paulis with p/15 (two wires).
    Aer's ``depolarizing_error(lam, n)`` is ``p = (4**n - 1) / 4**n * lam``."""
    if n_qubits == 1:
        return Circuit(1).depolarizing(p, 0)
    if n_qubits == 2:
        return two_qubit_depolarizing(p)
    raise ValueError(f"depolarizing() builds 1- or 2-wire errors; got n_qubits={n_qubits!r} (use kraus() for more)")


def two_qubit_depolarizing(p: ParamValue) -> Circuit:
    """Each of the 15 non-identity two-qubit Paulis with probability p/15."""
    return Circuit(2).two_qubit_depolarizing(p, 0, 1)


def bit_flip(p: ParamValue) -> Circuit:
    """X with probability p."""
    return Circuit(1).bit_flip(p, 0)


def phase_flip(p: ParamValue) -> Circuit:
    """Z with probability p."""
    return Circuit(1).phase_flip(p, 0)


def pauli_channel(px: ParamValue, py: ParamValue, pz: ParamValue) -> Circuit:
    """X, Y, Z with probabilities px, py, pz."""
    return Circuit(1).pauli_channel(px, py, pz, 0)


def pauli_error(paulis: str, p: ParamValue) -> Circuit:
    """The Pauli word ``paulis`` (first letter on local wire 0) with probability p; the
    error acts on ``len(paulis)`` wires."""
    if not isinstance(paulis, str) or not paulis:
        raise ValueError(f"pauli_error needs a word of I, X, Y, Z letters; got {paulis!r}")
    return Circuit(len(paulis)).pauli_error(paulis, p, list(range(len(paulis))))


def amplitude_damping(gamma: ParamValue) -> Circuit:
    """Energy loss |1> -> |0> with probability gamma."""
    return Circuit(1).amplitude_damping(gamma, 0)


def generalized_amplitude_damping(gamma: ParamValue, p: ParamValue) -> Circuit:
    """Amplitude damping towards a bath whose excited population is ``p``."""
    return Circuit(1).generalized_amplitude_damping(gamma, p, 0)


def phase_damping(gamma: ParamValue) -> Circuit:
    """Loss of phase without loss of energy."""
    return Circuit(1).phase_damping(gamma, 0)


def thermal_relaxation(t1: ParamValue, t2: ParamValue, time: ParamValue, excited_population: ParamValue = 0.0) -> Circuit:
    """T1/T2 relaxation for ``time`` (Aer's argument order); T2 <= 2 T1."""
    return Circuit(1).thermal_relaxation(t1, t2, time, 0, excited_population)


def reset_error(p0: ParamValue, p1: ParamValue) -> Circuit:
    """Reset to |0> with probability p0, to |1> with probability p1."""
    return Circuit(1).reset_error(p0, p1, 0)


def kraus(matrices) -> Circuit:
    """Any channel from its Kraus operators ``(K, d, d)`` (checked trace preserving); the
    error acts on log2(d) wires, the first one the most significant bit."""
    import math

    shape = getattr(matrices, "shape", None)
    d = shape[-1] if shape is not None else len(matrices[0])
    k = int(round(math.log2(d))) if d >= 2 else 0
    if k < 1 or 2**k != d:
        raise ValueError(f"Kraus operators must be 2**k x 2**k; got size {d}")
    return Circuit(k).kraus(matrices, list(range(k)))
