"""DensityMatrix: a batch of density matrices, run by the statevector engine's own kernels.

rho (``2**n x 2**n``) is stored flat as a ``2n``-wire vector whose wire ``w`` has its row
bit on axis ``2w`` and its column bit on axis ``2w + 1`` (index bits ``r0 c0 r1 c1 ...``,
``r0`` most significant). Keeping each wire's two bits side by side makes a block of
gates and channels on contiguous wires a block on contiguous axes, so a whole fused
superoperator (:mod:`.superop`) is one pass of the statevector block kernel, and a
wire's diagonal is a strided view (its 4 entries ``r c`` = 00, 01, 10, 11; 00 and 11 on
the diagonal). A gate run alone is ``U`` on the row axes and ``conj(U)`` on the column
axes; a channel alone is its superoperator ``sum_k K_k (x) conj(K_k)`` on both. Every
step is torch, so autograd reaches gate and noise parameters alike.

The object answers the same calls as :class:`~hybrid.sim.statevector.StateVector` (and
plans its own run), so :mod:`.execute` runs either without knowing which it holds.
"""

from __future__ import annotations

from typing import Sequence

import torch

from . import measure as readout
from .channels import ChannelOperators
from .fuse import InstructionStep
from .gates import Kind
from .memory import MemoryLimitError, check_fits
from .observables import Pauli, PauliSum, Word
from .statevector import StateVector
from .channels import pauli_matrices
from .superop import channel_superop, conjugate, plan_superops

__all__ = ["DensityMatrix", "density_bytes", "check_density_fits", "interleave", "deinterleave"]


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
        return DensityMatrix(interleave(_outer(psi), n_qubits), n_qubits, **kwargs)

    @staticmethod
    def from_matrices(rho: torch.Tensor, n_qubits: int, **kwargs) -> "DensityMatrix":
        """States from ``(rows, 2**n, 2**n)`` matrices."""
        return DensityMatrix(interleave(rho.reshape(rho.shape[0], -1), n_qubits), n_qubits, **kwargs)

    def __repr__(self) -> str:
        return f"DensityMatrix(n_qubits={self.n_qubits}, rows={self.rows}, dtype={self.dtype}, device={self.device})"

    # --- layout -----------------------------------------------------------------------------

    @property
    def tensor(self) -> torch.Tensor:
        """The stored entries, ``(rows, 4**n)``, interleaved (``r0 c0 r1 c1 ...``)."""
        return self._vec.tensor

    @property
    def matrices(self) -> torch.Tensor:
        """The density matrices, ``(rows, 2**n, 2**n)`` (a reordered copy)."""
        d = 2**self.n_qubits
        return deinterleave(self.tensor, self.n_qubits).reshape(self.rows, d, d)

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

    def per_sample(self, t: torch.Tensor) -> torch.Tensor:
        return self._vec.per_sample(t)

    def trajectory_mean(self, t: torch.Tensor) -> torch.Tensor:
        return self._vec.trajectory_mean(t)

    def plan(self, circuit, values, config, product_start: bool) -> tuple:
        """Superoperator blocks (:mod:`.superop`), or one instruction at a time without a config."""
        if config is None:
            return tuple(InstructionStep(i) for i in range(len(circuit)))
        return plan_superops(circuit, config)

    # --- evolution --------------------------------------------------------------------------

    def apply(self, kind: Kind, matrix, wires, controls=(), control_values=(), where=None) -> None:
        """``U rho U^dagger`` for one gate (see :meth:`StateVector.apply`)."""
        rows, cols = _rows(wires), _cols(wires)
        self._vec.apply(kind, matrix, rows, _rows(controls), control_values, where)
        self._vec.apply(kind, conjugate(kind, matrix), cols, _cols(controls), control_values, where)

    def apply_superop(self, matrix: torch.Tensor, wires: Sequence[int]) -> None:
        """A fused ``(Bm, 4**k, 4**k)`` superoperator on the contiguous ``wires``: one pass."""
        self._vec.apply_block(matrix, list(range(2 * wires[0], 2 * wires[-1] + 2)))

    def apply_channel(self, ops: ChannelOperators, wires: Sequence[int], generator=None) -> None:
        """``sum_k K_k rho K_k^dagger`` on ``wires`` (exact; ``generator`` is unused)."""
        self._vec.apply(Kind.DENSE, channel_superop(ops.kraus), _rows(wires) + _cols(wires))

    def gather(self, index: torch.Tensor) -> None:
        """A whole-register basis permutation: ``P rho P^T``."""
        index = index.to(self.device)
        m = self.matrices.index_select(1, index).index_select(2, index)
        self._replace(interleave(m.reshape(self.rows, -1), self.n_qubits))

    def measure(self, wire: int, generator=None, *, reset: bool = False, record: bool = True) -> torch.Tensor:
        """Measure ``wire``. Recorded: draw an outcome per row from rho's own probabilities
        (seeded), project and renormalise. Unrecorded: exactly, with no sampling -- a
        measurement nobody reads only removes the wire's coherences. With ``reset`` the
        wire then returns to |0> (|1><1| moves onto |0><0|). Returns the outcomes
        ``(rows,)`` (zeros when unrecorded)."""
        rows = self.rows
        blocks = self.tensor.reshape(rows, 4**wire, 4, -1)  # the wire's (row, column) entries: 00 01 10 11
        real = self.tensor.real.dtype
        if record:
            p1 = self.probs([wire])[:, 1]  # (rows,)
            u = torch.rand(rows, generator=generator, dtype=torch.float64).to(self.device)
            outcome = u < p1.detach().to(torch.float64)
            p = torch.where(outcome, p1, 1 - p1).clamp_min(torch.finfo(p1.dtype).tiny)
            mask = torch.stack([~outcome, torch.zeros_like(outcome), torch.zeros_like(outcome), outcome], 1)
            mask = mask.to(real) / p.unsqueeze(1)  # (rows, 4): keeps the outcome's diagonal entry
        else:
            outcome = torch.zeros(rows, dtype=torch.bool, device=self.device)
            mask = torch.tensor([1.0, 0.0, 0.0, 1.0], dtype=real, device=self.device).expand(rows, 4)
        new = blocks * mask.reshape(rows, 1, 4, 1)
        if reset:
            moved = torch.zeros_like(new)
            moved[:, :, 0] = new[:, :, 0] + new[:, :, 3]
            new = moved
        self._replace(new.reshape(rows, -1))
        return outcome.long()

    def reset(self, wire: int, generator=None) -> torch.Tensor:
        return self.measure(wire, generator, reset=True, record=False)

    def _replace(self, tensor: torch.Tensor) -> None:
        if self.inplace:
            self._vec.tensor.copy_(tensor)
        else:
            self._vec = StateVector(tensor.contiguous(), 2 * self.n_qubits, trajectories=self.trajectories)

    # --- readout, per row -------------------------------------------------------------------

    def _diagonal(self) -> torch.Tensor:
        """rho's diagonal ``(rows, 2**n)``, real: the 00 and 11 entries of every wire."""
        n = self.n_qubits
        view = self.tensor.reshape((self.rows,) + (4,) * n)[(slice(None),) + (slice(0, 4, 3),) * n]
        return view.real.reshape(self.rows, 2**n)

    def probs(self, wires: Sequence[int] | None = None) -> torch.Tensor:
        return readout.marginal(self._diagonal(), self.n_qubits, wires)

    def expval(self, obs: PauliSum) -> torch.Tensor:
        return self.expvals((obs,))[:, 0]

    def expvals(self, observables: Sequence[PauliSum]) -> torch.Tensor:
        """Tr(rho H) per row, ``(rows, n_obs)``: Z-only sets from the diagonal in one
        product; otherwise each Pauli word from the reduced matrix of its own wires."""
        n = self.n_qubits
        for obs in observables:
            readout._check_observable(obs, n)
        table = readout.diagonal_table(n, tuple(observables), self.tensor.real.dtype, self.device)
        if table is not None:
            return self._diagonal() @ table
        return torch.stack([self._trace(obs.terms) for obs in observables], dim=-1)

    def _trace(self, terms) -> torch.Tensor:
        """sum_t c_t Tr(rho P_t) for ``(coeff, word)`` terms, ``(rows,)`` real."""
        total = torch.zeros(self.rows, dtype=self.tensor.real.dtype, device=self.device)
        for coeff, word in terms:
            if not word:
                total = total + coeff * self._diagonal().sum(-1)
                continue
            wires = [w for w, _ in word]
            reduced = self.density_matrix(wires)  # (rows, d, d)
            pauli = pauli_matrices(("".join(p.value for _, p in word),), self.dtype)[0].to(self.device)
            total = total + (coeff * torch.einsum("rij,ji->r", reduced, pauli)).real
        return total

    def var(self, obs: PauliSum) -> torch.Tensor:
        """Tr(rho H^2) - Tr(rho H)^2, with H^2 expanded into Pauli words."""
        readout._check_observable(obs, self.n_qubits)
        return self._trace(_square(obs)) - self.expval(obs) ** 2

    def density_matrix(self, wires: Sequence[int] | None = None) -> torch.Tensor:
        """Reduced density matrices ``(rows, 2**k, 2**k)`` of ``wires`` (partial trace)."""
        n = self.n_qubits
        wires = readout.check_wires(wires, n)
        traced = [w for w in range(n) if w not in wires]
        # Traced wires keep only their diagonal entries (00, 11): a strided view, then a sum.
        index = [slice(None)] + [slice(None) if w in wires else slice(0, 4, 3) for w in range(n)]
        view = self.tensor.reshape((self.rows,) + (4,) * n)[tuple(index)]
        kept = view.sum(dim=[1 + w for w in traced]) if traced else view  # (rows, 4 per kept wire, ascending)
        k = len(wires)
        order = sorted(wires)
        grid = kept.reshape((self.rows,) + (2, 2) * k)  # (r, c) per kept wire, ascending
        perm = [1 + 2 * order.index(w) for w in wires] + [2 + 2 * order.index(w) for w in wires]
        return grid.permute(0, *perm).reshape(self.rows, 2**k, 2**k)


def interleave(flat: torch.Tensor, n: int) -> torch.Tensor:
    """``(rows, 4**n)`` entries in matrix order (all row bits, then all column bits) ->
    the stored order ``r0 c0 r1 c1 ...``."""
    rows = flat.shape[0]
    order = [a for w in range(n) for a in (1 + w, 1 + n + w)]
    return flat.reshape((rows,) + (2,) * (2 * n)).permute(0, *order).reshape(rows, -1)


def deinterleave(flat: torch.Tensor, n: int) -> torch.Tensor:
    """The inverse of :func:`interleave`."""
    rows = flat.shape[0]
    order = [1 + 2 * w for w in range(n)] + [2 + 2 * w for w in range(n)]
    return flat.reshape((rows,) + (2,) * (2 * n)).permute(0, *order).reshape(rows, -1)


def _rows(wires: Sequence[int]) -> list[int]:
    return [2 * w for w in wires]


def _cols(wires: Sequence[int]) -> list[int]:
    return [2 * w + 1 for w in wires]


def _outer(psi: torch.Tensor) -> torch.Tensor:
    """``(rows, 2**n)`` -> flattened ``|psi><psi|``, ``(rows, 4**n)``."""
    return (psi.unsqueeze(-1) * psi.conj().unsqueeze(-2)).reshape(psi.shape[0], -1)


# Products of single-qubit Paulis: (a, b) -> (phase, a b).
_PRODUCT = {
    (Pauli.X, Pauli.Y): (1j, Pauli.Z), (Pauli.Y, Pauli.X): (-1j, Pauli.Z),
    (Pauli.Y, Pauli.Z): (1j, Pauli.X), (Pauli.Z, Pauli.Y): (-1j, Pauli.X),
    (Pauli.Z, Pauli.X): (1j, Pauli.Y), (Pauli.X, Pauli.Z): (-1j, Pauli.Y),
}  # fmt: skip


def _multiply(a: Word, b: Word) -> tuple[complex, Word]:
    """The product of two Pauli words as ``(phase, word)``."""
    phase: complex = 1
    paulis = dict(a)
    for wire, p in b:
        q = paulis.get(wire)
        if q is None:
            paulis[wire] = p
        elif q is p:
            del paulis[wire]
        else:
            factor, paulis[wire] = _PRODUCT[(q, p)]
            phase *= factor
    return phase, tuple(sorted(paulis.items()))


def _square(obs: PauliSum) -> list[tuple[float, Word]]:
    """H^2 as real-weighted Pauli words (the imaginary parts cancel in pairs)."""
    terms: dict[Word, complex] = {}
    for ca, wa in obs.terms:
        for cb, wb in obs.terms:
            phase, word = _multiply(wa, wb)
            terms[word] = terms.get(word, 0) + ca * cb * phase
    return [(c.real, w) for w, c in terms.items() if abs(c) > 0]
