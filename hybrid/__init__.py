"""hybrid: a quantum-classical hybrid computing simulator on PyTorch.

Wire 0 is the most significant bit of a basis index (PennyLane/Cirq order); Qiskit's
little-endian order is converted only in :mod:`hybrid.interop.qiskit`.
"""

from .sim import (
    Circuit,
    I,
    MemoryLimitError,
    Parameter,
    PauliSum,
    State,
    X,
    Y,
    Z,
    expval,
    parse_observable,
    pauli_word,
    simulate,
)

__version__ = "0.1.0"


def from_qiskit(qc, **kwargs):
    """Convert a ``qiskit.QuantumCircuit`` (see :func:`hybrid.interop.qiskit.from_qiskit`)."""
    from .interop.qiskit import from_qiskit as convert

    return convert(qc, **kwargs)


def to_qiskit(circuit, **kwargs):
    """Convert to a ``qiskit.QuantumCircuit`` (see :func:`hybrid.interop.qiskit.to_qiskit`)."""
    from .interop.qiskit import to_qiskit as convert

    return convert(circuit, **kwargs)


def from_qasm(text: str, **kwargs):
    """Read OpenQASM 2 or 3 text (see :func:`hybrid.interop.qiskit.from_qasm`)."""
    from .interop.qiskit import from_qasm as convert

    return convert(text, **kwargs)


def to_qasm(circuit, version: int = 2) -> str:
    """Write OpenQASM 2 or 3 text (see :func:`hybrid.interop.qiskit.to_qasm`)."""
    from .interop.qiskit import to_qasm as convert

    return convert(circuit, version=version)


__all__ = [
    "Circuit", "I", "MemoryLimitError", "Parameter", "PauliSum", "State", "X", "Y", "Z",
    "parse_observable", "pauli_word", "simulate", "expval", "from_qiskit", "to_qiskit", "from_qasm", "to_qasm",
]  # fmt: skip
