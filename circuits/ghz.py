"""GHZ states: ``(|0...0> + |1...1>) / sqrt(2)`` from an H and a CNOT chain.

The state is stabilised by ``X^{(x)n}`` (so ``<X...X> = 1``) and by every ``Z_i Z_j``.
Under noise these parities decay with closed forms the benchmarks check: with
``depolarizing(p)`` once on every wire at the end, ``<X...X> = (1 - 4p/3)**n``; with
depolarizing after every gate (``depolarizing(p)`` after the H, ``two_qubit_depolarizing(p)``
after each CNOT), ``<X...X> = (1 - 4p/3) (1 - 16p/15)**(n-1)``: propagated back from the
end, ``X...X`` is a non-identity Pauli on the support of every channel, and a channel
flips its sign with probability ``2p/3`` (1 wire) or ``8p/15`` (2 wires).
"""

from __future__ import annotations

from hybrid import Circuit
from hybrid._checks import positive_int

from .noise import with_noise

__all__ = ["ghz_circuit", "x_parity", "ghz_x_parity_closed_form"]


def ghz_circuit(n_qubits: int, *, noise=None) -> Circuit:
    """H on wire 0, then CNOT(0, 1), CNOT(1, 2), ..., CNOT(n-2, n-1); ``noise``: a model
    with ``apply(circuit)`` (see :mod:`circuits.noise`), or None for the ideal circuit."""
    n = positive_int(n_qubits, "n_qubits")
    circuit = Circuit(n).h(0)
    for w in range(n - 1):
        circuit.cx(w, w + 1)
    return with_noise(circuit, noise)


def x_parity(n_qubits: int) -> str:
    """The observable ``X0 X1 ... X(n-1)`` as a string for ``State.expval``."""
    return " ".join(f"X{w}" for w in range(positive_int(n_qubits, "n_qubits")))


def ghz_x_parity_closed_form(n_qubits: int, p: float, where: str = "end") -> float:
    """``<X...X>`` of a GHZ state under depolarizing noise of strength ``p`` (X, Y, Z each
    p/3): ``where="end"`` once on every wire after the circuit, ``"gates"`` after every gate."""
    n = positive_int(n_qubits, "n_qubits")
    if where == "end":
        return (1 - 4 * p / 3) ** n
    if where == "gates":
        return (1 - 4 * p / 3) * (1 - 16 * p / 15) ** (n - 1)
    raise ValueError(f"where must be 'end' or 'gates'; got {where!r}")
