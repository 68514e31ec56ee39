"""State: the result of a simulation, with the measurements a user asks of it."""

from __future__ import annotations

from typing import Sequence

import torch

from . import measure
from .observables import PauliSum, parse_observable

__all__ = ["State"]


class State:
    """A (possibly batched) statevector and the classical bits its run recorded.

    Internally the amplitudes are ``(B, 2**n)``; the public views drop the batch axis
    when the simulation was not batched. Wire 0 is the most significant bit.
    """

    def __init__(self, psi: torch.Tensor, n_qubits: int, batched: bool, bits: torch.Tensor):
        self._psi = psi  # (B, 2**n)
        self.n_qubits = n_qubits
        self.batched = batched
        self._bits = bits  # (B, n_clbits), int64

    def __repr__(self) -> str:
        b = f", batch={self.batch_size}" if self.batched else ""
        return f"State(n_qubits={self.n_qubits}{b}, dtype={self._psi.dtype}, device={self._psi.device})"

    def _out(self, t: torch.Tensor):
        return t if self.batched else t[0]

    @property
    def batch_size(self) -> int:
        return self._psi.shape[0]

    @property
    def amplitudes(self) -> torch.Tensor:
        """Amplitudes with the batch axis always present, ``(B, 2**n)``."""
        return self._psi

    @property
    def vector(self) -> torch.Tensor:
        """Amplitudes, ``(2**n,)`` or ``(B, 2**n)``."""
        return self._out(self._psi)

    @property
    def bits(self) -> torch.Tensor:
        """Mid-circuit measurement outcomes, ``(n_clbits,)`` or ``(B, n_clbits)``."""
        return self._out(self._bits)

    def probs(self, wires: Sequence[int] | None = None) -> torch.Tensor:
        """Probabilities of the basis states of ``wires`` (``wires[0]`` most significant)."""
        return self._out(measure.probs(self._psi, self.n_qubits, wires))

    def sample(self, shots: int, wires: Sequence[int] | None = None, seed: int | None = None) -> torch.Tensor:
        """0/1 samples, ``(shots, len(wires))`` or ``(B, shots, len(wires))``."""
        return self._out(measure.sample(self._psi, self.n_qubits, shots, wires, seed))

    def counts(self, shots: int, wires: Sequence[int] | None = None, seed: int | None = None):
        """``{bitstring: count}`` (a list of them when batched)."""
        return self._out(measure.counts(self._psi, self.n_qubits, shots, wires, seed))

    def expval(self, obs: PauliSum | str) -> torch.Tensor:
        """<H>; ``obs`` is a :class:`PauliSum` (or a string such as ``"Z0 Z1"``)."""
        return self._out(measure.expval(self._psi, self.n_qubits, _observable(obs)))

    def var(self, obs: PauliSum | str) -> torch.Tensor:
        """<H^2> - <H>^2."""
        return self._out(measure.var(self._psi, self.n_qubits, _observable(obs)))

    def density_matrix(self, wires: Sequence[int] | None = None) -> torch.Tensor:
        """Reduced density matrix of ``wires``, ``(2**k, 2**k)`` or ``(B, 2**k, 2**k)``."""
        return self._out(measure.density_matrix(self._psi, self.n_qubits, wires))


def _observable(obs: PauliSum | str) -> PauliSum:
    return parse_observable(obs) if isinstance(obs, str) else obs
