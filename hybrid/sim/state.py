"""State: the result of a simulation, with the measurements a user asks of it."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from . import measure
from .observables import PauliSum, parse_observable
from .density import DensityMatrix
from .statevector import StateVector

__all__ = ["State", "apply_readout"]


class State:
    """A (possibly batched) simulated state and the classical bits its run recorded.

    The public views drop the batch axis when the simulation was not batched. With
    ``trajectories=T`` every sample ran T trajectories: ``probs``, ``expval``, ``var``,
    ``density_matrix``, ``sample`` and ``counts`` describe their average (the mixed
    state they estimate); each trajectory's amplitudes are ``trajectory_vectors``.
    Wire 0 is the most significant bit.
    """

    def __init__(
        self,
        statevector: StateVector | DensityMatrix,
        batched: bool,
        bits: torch.Tensor,
        *,
        method: str = "statevector",
        readout: dict[int, torch.Tensor] | None = None,
    ):
        self._sv = statevector  # rows = batch x trajectories, sample-major
        self.n_qubits = statevector.n_qubits
        self.batched = batched
        self._bits = bits  # (rows, n_clbits), int64
        self.method = method  # "statevector", "density_matrix" or "trajectories": what ran
        self.readout = dict(readout or {})  # wire -> 2x2 confusion matrix (rows: true outcome)

    def __repr__(self) -> str:
        b = f", batch={self.batch_size}" if self.batched else ""
        t = f", trajectories={self.trajectories}" if self.trajectories > 1 else ""
        return (f"State(n_qubits={self.n_qubits}{b}{t}, method={self.method!r}, "
                f"dtype={self._sv.dtype}, device={self._sv.device})")  # fmt: skip

    def _out(self, t: torch.Tensor):
        return t if self.batched else t[0]

    def _per_sample(self, t: torch.Tensor) -> torch.Tensor:
        return self._sv.per_sample(t)  # (rows, ...) -> (B, T, ...)

    def _mean(self, t: torch.Tensor) -> torch.Tensor:
        return self._sv.trajectory_mean(t)  # (rows, ...) -> (B, ...)

    @property
    def trajectories(self) -> int:
        """Trajectories run per sample (1 unless ``simulate(..., trajectories=T)``)."""
        return self._sv.trajectories

    @property
    def batch_size(self) -> int:
        return self._sv.rows // self._sv.trajectories

    @property
    def statevector(self) -> StateVector | DensityMatrix:
        """The engine's state object, every trajectory of every sample (for interop): a
        :class:`~hybrid.sim.density.DensityMatrix` when the density-matrix method ran."""
        return self._sv

    def _single_trajectory(self, what: str) -> None:
        if isinstance(self._sv, DensityMatrix):
            raise ValueError(
                f"State.{what} is a statevector, but this run kept a density matrix (method='density_matrix'); "
                "use density_matrix(), probs() or expval()"
            )
        if self.trajectories > 1:
            raise ValueError(
                f"State.{what} is one statevector per sample, but this state holds {self.trajectories} "
                "trajectories per sample; use trajectory_vectors for each trajectory's amplitudes, or "
                "probs()/expval()/density_matrix() for their average"
            )

    @property
    def amplitudes(self) -> torch.Tensor:
        """Amplitudes with the batch axis always present, ``(B, 2**n)`` (one trajectory)."""
        self._single_trajectory("amplitudes")
        return self._sv.tensor

    @property
    def vector(self) -> torch.Tensor:
        """Amplitudes, ``(2**n,)`` or ``(B, 2**n)`` (one trajectory)."""
        self._single_trajectory("vector")
        return self._out(self._sv.tensor)

    @property
    def trajectory_vectors(self) -> torch.Tensor:
        """Every trajectory's amplitudes, ``(T, 2**n)`` or ``(B, T, 2**n)``."""
        if isinstance(self._sv, DensityMatrix):
            self._single_trajectory("trajectory_vectors")
        return self._out(self._per_sample(self._sv.tensor))

    @property
    def bits(self) -> torch.Tensor:
        """Mid-circuit measurement outcomes, ``(n_clbits,)`` or ``(B, n_clbits)``; with
        trajectories one row per trajectory, ``(T, n_clbits)`` or ``(B, T, n_clbits)``."""
        if self.trajectories > 1:
            return self._out(self._per_sample(self._bits))
        return self._out(self._bits)

    def probs(self, wires: Sequence[int] | None = None) -> torch.Tensor:
        """Probabilities of the basis states of ``wires`` (``wires[0]`` most significant)."""
        return self._out(self._mean(self._sv.probs(wires)))

    def sample(self, shots: int, wires: Sequence[int] | None = None, seed: int | None = None) -> torch.Tensor:
        """0/1 samples, ``(shots, len(wires))`` or ``(B, shots, len(wires))``; a noise
        model's readout errors flip the sampled bits (not the state)."""
        wires = measure.check_wires(wires, self.n_qubits)
        if self.trajectories == 1 and isinstance(self._sv, StateVector):
            bits = measure.sample(self._sv.tensor, self.n_qubits, shots, wires, seed)
        else:
            bits = measure.sample_probs(self._mean(self._sv.probs(wires)), shots, seed).to(self._sv.device)
        if self.readout:
            bits = apply_readout(bits, [self.readout.get(w) for w in wires], seed)
        return self._out(bits)

    def counts(self, shots: int, wires: Sequence[int] | None = None, seed: int | None = None):
        """``{bitstring: count}`` (a list of them when batched)."""
        return self._out(measure.tally(self.sample(shots, wires, seed).reshape(self.batch_size, shots, -1)))

    def expval(self, obs: PauliSum | str) -> torch.Tensor:
        """<H>; ``obs`` is a :class:`PauliSum` (or a string such as ``"Z0 Z1"``)."""
        return self._out(self._mean(self._sv.expval(_observable(obs))))

    def expval_stderr(self, obs: PauliSum | str) -> torch.Tensor:
        """The standard error of :meth:`expval` from the spread of the trajectories
        (sample standard deviation / sqrt(T)); zero for an exact (single-trajectory) run."""
        values = self._sv.expval(_observable(obs))
        if self.trajectories == 1:
            return self._out(torch.zeros_like(values))
        spread = self._sv.per_sample(values.detach()).std(dim=1, unbiased=True)
        return self._out(spread / self.trajectories**0.5)

    def var(self, obs: PauliSum | str) -> torch.Tensor:
        """<H^2> - <H>^2 (of the trajectories' mixture, when there are several)."""
        obs = _observable(obs)
        if self.trajectories == 1:
            return self._out(self._sv.var(obs))
        mean = self._sv.expval(obs)
        second = self._sv.var(obs) + mean**2  # <H^2> per trajectory
        return self._out(self._mean(second) - self._mean(mean) ** 2)

    def density_matrix(self, wires: Sequence[int] | None = None) -> torch.Tensor:
        """Reduced density matrix of ``wires``, ``(2**k, 2**k)`` or ``(B, 2**k, 2**k)``."""
        return self._out(self._mean(self._sv.density_matrix(wires)))


def apply_readout(bits: torch.Tensor, confusion: list, seed: int | None) -> torch.Tensor:
    """Flip sampled bits ``(B, shots, k)`` by per-wire confusion matrices (``None``: no
    error; see :func:`.measure.misread`)."""
    # A stream of its own, independent of the sampling stream the same seed started.
    gen = None if seed is None else torch.Generator().manual_seed(int(np.random.SeedSequence([seed, 1]).generate_state(1)[0]))
    out = bits.clone()
    u = torch.rand(bits.shape, generator=gen, dtype=torch.float64)
    for k, m in enumerate(confusion):
        if m is not None:
            out[..., k] = measure.misread(bits[..., k], m, u[..., k])
    return out


def _observable(obs: PauliSum | str) -> PauliSum:
    return parse_observable(obs) if isinstance(obs, str) else obs
