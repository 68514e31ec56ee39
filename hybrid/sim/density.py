"""DensityMatrix: a batch of density matrices, run by the statevector engine's own kernels.

rho (``2**n x 2**n``) is stored flat as a ``2n``-wire vector: wire ``w`` of the circuit is
the row wire ``w`` and the column wire ``n + w`` (PennyLane's ``qubit_mixed`` layout). A
gate ``U`` on wires ``W`` is then ``U`` on ``W`` and ``conj(U)`` on ``W + n`` -- two passes
of the fused statevector kernels, with the same plan the statevector run uses -- and a
channel with Kraus operators ``K_k`` is one pass of its superoperator ``sum_k K_k (x)
conj(K_k)`` on the ``2k`` wires ``W`` and ``W + n``. Everything is torch, so autograd
reaches gate and noise parameters alike.

The object answers the same calls as :class:`~hybrid.sim.statevector.StateVector`, so
:mod:`.execute` runs a plan on either without knowing which it holds.
"""

from __future__ import annotations

from typing import Sequence

import torch

from . import measure as readout
from .channels import ChannelOperators
from .gates import Kind
from .kernels import apply_generic
from .memory import MemoryLimitError, check_fits
from .observables import Pauli, PauliSum, Word
from .statevector import StateVector

__all__ = ["DensityMatrix", "density_bytes", "check_density_fits"]


def density_bytes(n_qubits: int, dtype: torch.dtype) -> int:
    """Bytes of one ``2**n x 2**n`` density matrix (16 * 4**n in complex128)."""
    return torch.empty((), dtype=dtype).element_size() * 4**n_qubits


def check_density_fits(n: int, rows: int, dtype: torch.dtype, device: torch.device, stored: int = 0) -> None:
    """Refuse up front, with the numbers, a density matrix that will not fit."""
    try:
        check_fits(2 * n, rows, dtype, device, stored_states=stored)
    except MemoryLimitError as e:
        raise MemoryLimitError(
            f"a density matrix of {n} qubits holds 4**{n} amplitudes ({density_bytes(n, dtype) / 2**30:.3g} GiB each "
            f"in {str(dtype).replace('torch.', '')}) and will not fit: {e}. Use method='trajectories' (memory of one "
            "statevector per trajectory) or fewer qubits"
        ) from None


class DensityMatrix:
    """A batch of density matrices ``(rows, 4**n)``, each a flattened ``(2**n, 2**n)``."""

    trajectories: int

    def __init__(self, tensor: torch.Tensor, n_qubits: int, *, inplace: bool = False, trajectories: int = 1):
        self.n_qubits = n_qubits
        self._vec = StateVector(tensor, 2 * n_qubits, inplace=inplace, trajectories=trajectories)
        self.trajectories = trajectories

    @staticmethod
    def from_vectors(psi: torch.Tensor, n_qubits: int, **kwargs) -> "DensityMatrix":
        """The pure states ``|psi><psi|`` of a ``(rows, 2**n)`` batch."""
        return DensityMatrix(_outer(psi), n_qubits, **kwargs)

    def __repr__(self) -> str:
        return f"DensityMatrix(n_qubits={self.n_qubits}, rows={self.rows}, dtype={self.dtype}, device={self.device})"

    # --- layout -----------------------------------------------------------------------------

    @property
    def tensor(self) -> torch.Tensor:
        """The flattened matrices, ``(rows, 4**n)``."""
        return self._vec.tensor

    @property
    def matrices(self) -> torch.Tensor:
        """The density matrices, ``(rows, 2**n, 2**n)``."""
        d = 2**self.n_qubits
        return self._vec.tensor.view(self.rows, d, d)

    @property
    def rows(self) -> int:
        return self._vec.rows

    @property
    def dtype(self) -> torch.dtype:
        return self._vec.dtype

    @property
    def device(self) -> torch.device:
        return self._vec.device

    @property
    def inplace(self) -> bool:
        return self._vec.inplace

    @property
    def fusion_rows(self) -> int:
        """How many vectors a gate on the row wires acts on: the planner's batch."""
        return self.rows * 2**self.n_qubits

    def _columns(self, wires: Sequence[int]) -> list[int]:
        return [w + self.n_qubits for w in wires]

    def per_sample(self, t: torch.Tensor) -> torch.Tensor:
        return self._vec.per_sample(t)

    def trajectory_mean(self, t: torch.Tensor) -> torch.Tensor:
        return self._vec.trajectory_mean(t)

    # --- evolution --------------------------------------------------------------------------

    def apply(self, kind: Kind, matrix, wires, controls=(), control_values=(), where=None) -> None:
        """``U rho U^dagger`` for one gate (see :meth:`StateVector.apply`)."""
        self._vec.apply(kind, matrix, wires, controls, control_values, where)
        self._vec.apply(kind, _conj(kind, matrix), self._columns(wires), self._columns(controls), control_values, where)

    def apply_block(self, matrix: torch.Tensor, wires: Sequence[int]) -> None:
        self._vec.apply_block(matrix, wires)
        self._vec.apply_block(matrix.conj(), self._columns(wires))

    def apply_phases(self, phases: torch.Tensor, wires: Sequence[int]) -> None:
        self._vec.apply_phases(phases, wires)
        self._vec.apply_phases(phases.conj(), self._columns(wires))

    def load_product(self, first: torch.Tensor, rest: torch.Tensor) -> None:
        first, rest = self._vec._per_row(first), self._vec._per_row(rest)
        psi = first.unsqueeze(-1) * rest.unsqueeze(-2)  # rows: 1 or the state's, from either factor
        psi = psi.reshape(psi.shape[0], -1)
        rho = _outer(psi).expand(self.rows, -1)
        if self.inplace:
            self._vec.tensor.copy_(rho)
        else:
            self._vec = StateVector(rho.contiguous(), 2 * self.n_qubits, trajectories=self.trajectories)

    def gather(self, index: torch.Tensor) -> None:
        index = index.to(self.device)
        m = self.matrices.index_select(1, index).index_select(2, index)
        self._vec = StateVector(m.reshape(self.rows, -1), 2 * self.n_qubits, inplace=self.inplace,
                                trajectories=self.trajectories)  # fmt: skip

    def apply_channel(self, ops: ChannelOperators, wires: Sequence[int], generator=None) -> None:
        """``sum_k K_k rho K_k^dagger``: one pass of the superoperator on ``wires`` and their
        column wires (exact; ``generator`` is unused)."""
        kraus = ops.kraus  # (Bm, K, d, d)
        d = kraus.shape[-1]
        superop = torch.einsum("bkij,bklm->biljm", kraus, kraus.conj()).reshape(-1, d * d, d * d)
        superop = self._vec._per_row(superop)
        axes = [w + 1 for w in list(wires) + self._columns(wires)]
        grid = self._vec.tensor.view((self.rows,) + (2,) * (2 * self.n_qubits))
        updated = apply_generic(grid, Kind.DENSE, superop, axes)
        self._replace(updated.reshape(self.rows, -1))

    def measure(self, wire: int, generator=None, *, reset: bool = False, record: bool = True) -> torch.Tensor:
        """Measure ``wire``. Recorded: draw an outcome per row from rho's own probabilities
        (seeded), project and renormalise. Unrecorded: exactly, with no sampling -- a
        measurement nobody reads only removes the wire's coherences. With ``reset`` the
        wire then returns to |0> (|1><1| moves onto |0><0|). Returns the outcomes
        ``(rows,)`` (zeros when unrecorded)."""
        n, rows = self.n_qubits, self.rows
        # (rows, left, row bit, middle, column bit, right)
        blocks = self.tensor.reshape(rows, 2**wire, 2, 2 ** (n - 1), 2, 2 ** (n - wire - 1))
        real = self.tensor.real.dtype
        if record:
            p1 = self.probs([wire])[:, 1]  # (rows,)
            u = torch.rand(rows, generator=generator, dtype=torch.float64).to(self.device)
            outcome = u < p1.detach().to(torch.float64)
            p = torch.where(outcome, p1, 1 - p1).clamp_min(torch.finfo(p1.dtype).tiny)
            pick = torch.stack([~outcome, outcome], dim=1).to(real)  # (rows, 2)
            mask = pick.unsqueeze(2) * pick.unsqueeze(1) / p.reshape(rows, 1, 1)  # keeps the (b, b) block
        else:
            outcome = torch.zeros(rows, dtype=torch.bool, device=self.device)
            mask = torch.eye(2, dtype=real, device=self.device).expand(rows, 2, 2)  # drops the coherences
        new = blocks * mask.reshape(rows, 1, 2, 1, 2, 1)
        if reset:
            moved = torch.zeros_like(new)
            moved[:, :, 0, :, 0] = new[:, :, 0, :, 0] + new[:, :, 1, :, 1]
            new = moved
        self._replace(new.reshape(rows, -1))
        return outcome.long()

    def reset(self, wire: int, generator=None) -> torch.Tensor:
        return self.measure(wire, generator, reset=True, record=False)

    def _replace(self, tensor: torch.Tensor) -> None:
        if self.inplace:
            self._vec.tensor.copy_(tensor)
        else:
            self._vec = StateVector(tensor, 2 * self.n_qubits, trajectories=self.trajectories)

    # --- readout, per row -------------------------------------------------------------------

    def _diagonal(self) -> torch.Tensor:
        return self.matrices.diagonal(dim1=1, dim2=2).real  # (rows, 2**n)

    def probs(self, wires: Sequence[int] | None = None) -> torch.Tensor:
        return readout.marginal(self._diagonal(), self.n_qubits, wires)

    def expval(self, obs: PauliSum) -> torch.Tensor:
        return self.expvals((obs,))[:, 0]

    def expvals(self, observables: Sequence[PauliSum]) -> torch.Tensor:
        """Tr(rho H) per row, ``(rows, n_obs)``: each Pauli word reads ``2**n`` entries."""
        n = self.n_qubits
        for obs in observables:
            readout._check_observable(obs, n)
        table = readout.diagonal_table(n, tuple(observables), self.tensor.real.dtype, self.device)
        if table is not None:
            return self._diagonal() @ table
        m = self.matrices
        return torch.stack([_trace_with(m, n, obs).real for obs in observables], dim=-1)

    def var(self, obs: PauliSum) -> torch.Tensor:
        """Tr(rho H^2) - Tr(rho H)^2: H applied to rho's columns, then traced with H."""
        n, d = self.n_qubits, 2**self.n_qubits
        columns = self.matrices.transpose(1, 2).reshape(-1, d)  # row j: column j of rho
        h_rho = readout.apply_pauli_sum(columns, n, obs).reshape(self.rows, d, d).transpose(1, 2)
        second = _trace_with(h_rho, n, obs).real
        return second - self.expval(obs) ** 2

    def density_matrix(self, wires: Sequence[int] | None = None) -> torch.Tensor:
        """Reduced density matrices ``(rows, 2**k, 2**k)`` of ``wires`` (partial trace)."""
        n = self.n_qubits
        wires = readout.check_wires(wires, n)
        rest = [w for w in range(n) if w not in wires]
        grid = self.tensor.reshape((self.rows,) + (2,) * (2 * n))
        order = [1 + w for w in wires] + [1 + w for w in rest] + [1 + n + w for w in wires] + [1 + n + w for w in rest]
        k, r = 2 ** len(wires), 2 ** len(rest)
        moved = grid.permute(0, *order).reshape(self.rows, k, r, k, r)
        return torch.einsum("aibjb->aij", moved)


def _outer(psi: torch.Tensor) -> torch.Tensor:
    """``(rows, 2**n)`` -> flattened ``|psi><psi|``, ``(rows, 4**n)``."""
    return (psi.unsqueeze(-1) * psi.conj().unsqueeze(-2)).reshape(psi.shape[0], -1)


def _conj(kind: Kind, matrix):
    return matrix if kind is Kind.PERMUTATION else matrix.conj()


def _trace_with(m: torch.Tensor, n: int, obs: PauliSum) -> torch.Tensor:
    """Tr(H m) per row for ``(rows, 2**n, 2**n)`` matrices, ``(rows,)`` complex."""
    total = torch.zeros(m.shape[0], dtype=m.dtype, device=m.device)
    for coeff, word in obs.terms:
        total = total + coeff * _word_trace(m, n, word)
    return total


def _word_trace(m: torch.Tensor, n: int, word: Word) -> torch.Tensor:
    """Tr(P m) = sum_j i^{nY} (-1)^{|(j^x) & z|} m[j^x, j] for P = i^{nY} X^x Z^z (Y = iXZ)."""
    x = z = n_y = 0
    for wire, pauli in word:
        bit = 1 << (n - 1 - wire)
        if pauli in (Pauli.X, Pauli.Y):
            x |= bit
        if pauli in (Pauli.Z, Pauli.Y):
            z |= bit
        n_y += pauli is Pauli.Y
    j = torch.arange(2**n, device=m.device)
    k = j ^ x
    sign = 1 - 2 * (_popcount(k & z, n) & 1)  # (-1)^{|k & z|}
    entries = m[:, k, j]  # (rows, 2**n): m[j^x, j]
    return (entries * sign.to(m.real.dtype)).sum(-1) * (1j**n_y)


def _popcount(v: torch.Tensor, n: int) -> torch.Tensor:
    count = torch.zeros_like(v)
    for b in range(n):
        count += (v >> b) & 1
    return count
