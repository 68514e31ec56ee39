"""Noise models: errors attached to named gates, idle errors and readout errors.

``NoiseModel`` (in :mod:`.model`) says which error follows which gate and how each
wire's readout errs; ``hybrid.simulate(circuit, noise=model)`` applies it. Errors are
small circuits of channels built by the factories here (:mod:`.errors`) or by hand.
``NoiseModel.from_qiskit`` / ``NoiseModel.from_backend`` read Qiskit Aer noise models and
Qiskit backends (:mod:`.qiskit`, needs the ``qiskit`` extra; fake IBM backends need
``qiskit-ibm-runtime``, the ``noise`` extra).
"""

from .errors import (
    amplitude_damping,
    bit_flip,
    depolarizing,
    generalized_amplitude_damping,
    kraus,
    pauli_channel,
    pauli_error,
    phase_damping,
    phase_flip,
    reset_error,
    thermal_relaxation,
    two_qubit_depolarizing,
)
from .model import NoiseModel

__all__ = [
    "NoiseModel", "depolarizing", "two_qubit_depolarizing", "bit_flip", "phase_flip", "pauli_channel", "pauli_error",
    "amplitude_damping", "generalized_amplitude_damping", "phase_damping", "thermal_relaxation", "reset_error", "kraus",
]  # fmt: skip
