"""StateVector: the one object that knows how a batch of states is laid out and stored.

The amplitudes are a ``(rows, 2**n)`` tensor; kernels view it as ``(rows, 2, ..., 2)`` with
wire ``w`` on axis ``w + 1`` (wire 0 the most significant bit of the flat index). Rows are
the batch (one per input sample) times the trajectories of each sample, sample-major:
row ``b * T + t``. Operators built for the batch (one per sample) are spread over their
sample's trajectories here, so nothing upstream needs to know about trajectories.

The object also owns the in-place policy. With ``inplace`` (no autograd through the run)
it keeps a spare buffer and swaps the two instead of allocating a state per step, as
Cirq's buffered state does: at 20+ qubits a fresh state-sized tensor per gate costs more
than the arithmetic. Without it every step is out of place, so autograd can record it.
The pure tensor functions underneath are in :mod:`.kernels` and :mod:`.measure`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import numpy as np
import torch

from . import measure as readout
from .gates import Kind
from .kernels import apply_block, apply_generic, apply_inplace, apply_phase_block, cross_matrix
from .observables import PauliSum

if TYPE_CHECKING:
    from .channels import ChannelOperators

__all__ = ["StateVector", "initial_amplitudes"]


class StateVector:
    """A batch of statevectors ``(rows, 2**n)`` with its buffers and in-place policy."""

    def __init__(
        self,
        tensor: torch.Tensor,
        n_qubits: int,
        *,
        inplace: bool = False,
        spare: torch.Tensor | None = None,
        trajectories: int = 1,
    ):
        if tensor.dim() != 2 or tensor.shape[1] != 2**n_qubits:
            raise ValueError(f"a {n_qubits}-qubit state is (rows, {2**n_qubits}); got {tuple(tensor.shape)}")
        if tensor.shape[0] % trajectories:
            raise ValueError(f"{tensor.shape[0]} rows do not split into {trajectories} trajectories per sample")
        self.n_qubits = n_qubits
        self.inplace = inplace
        self.trajectories = trajectories
        self._psi = tensor  # (rows, 2**n): the state now
        self._spare = spare  # the other half of the ping-pong pair (made on first need)
        # A caller that lends both buffers (the adjoint's two-state pair) gets the state
        # back in one of them (settle); otherwise nothing pins the starting buffer.
        self._lent = (tensor, spare) if spare is not None else None

    def __repr__(self) -> str:
        return f"StateVector(n_qubits={self.n_qubits}, rows={self.rows}, dtype={self.dtype}, device={self.device})"

    # --- layout -----------------------------------------------------------------------------

    @property
    def tensor(self) -> torch.Tensor:
        """The amplitudes, ``(rows, 2**n)``."""
        return self._psi

    @property
    def rows(self) -> int:
        return self._psi.shape[0]

    @property
    def dtype(self) -> torch.dtype:
        return self._psi.dtype

    @property
    def device(self) -> torch.device:
        return self._psi.device

    def _grid(self) -> torch.Tensor:
        return self._psi.view((self.rows,) + (2,) * self.n_qubits)

    @staticmethod
    def _axes(wires: Sequence[int]) -> list[int]:
        return [w + 1 for w in wires]  # axis 0 is the row axis

    def _per_row(self, t):
        """An operator with one entry per sample (or one for all) -> one per row."""
        if not isinstance(t, torch.Tensor) or t.shape[0] in (1, self.rows):
            return t
        if t.shape[0] * self.trajectories == self.rows:
            return t.repeat_interleave(self.trajectories, dim=0)
        raise ValueError(f"an operator for {t.shape[0]} samples does not fit a state of {self.rows} rows")

    def rows_view(self, rows: slice) -> "StateVector":
        """The states in ``rows``, sharing this object's storage and in-place policy."""
        return StateVector(self._psi[rows], self.n_qubits, inplace=self.inplace)

    def settle(self) -> int:
        """Which of the two lent buffers holds the state: 0 the one it started in, 1 the
        spare. A state a generic step left in a fresh tensor is copied into the first."""
        if self._lent is None:
            raise ValueError("settle() needs a state built with both buffers lent (tensor and spare)")
        first, spare = self._lent
        if self._psi.data_ptr() == spare.data_ptr():
            return 1
        if self._psi.data_ptr() != first.data_ptr():
            first.copy_(self._psi)
            self._psi = first
        return 0

    def plan(self, circuit, values: list, config, product_start: bool) -> tuple:
        """The steps a run takes on this state (:func:`.fuse.plan_for`)."""
        from .fuse import plan_for  # the planner imports the circuit, which must not import the state

        return plan_for(circuit, values, config, self.rows, product_start)

    @staticmethod
    def pair_buffer(psi0: torch.Tensor) -> torch.Tensor:
        """A ``(2B, 2**n)`` buffer holding ``psi0`` in its first half: the two halves serve
        as ping-pong buffers for a forward run and as psi and lambda for the adjoint sweep."""
        batch = psi0.shape[0]
        pair = torch.empty((2 * batch,) + psi0.shape[1:], dtype=psi0.dtype, device=psi0.device)
        pair[:batch].copy_(psi0.detach())
        return pair

    def per_sample(self, t: torch.Tensor) -> torch.Tensor:
        """A per-row quantity ``(rows, ...)`` grouped by sample: ``(B, T, ...)``."""
        return t.reshape(self.rows // self.trajectories, self.trajectories, *t.shape[1:])

    def trajectory_mean(self, t: torch.Tensor) -> torch.Tensor:
        """A per-row quantity averaged over each sample's trajectories: ``(B, ...)``."""
        return t if self.trajectories == 1 else self.per_sample(t).mean(dim=1)

    # --- evolution --------------------------------------------------------------------------

    def apply(
        self,
        kind: Kind,
        matrix,
        wires: Sequence[int],
        controls: Sequence[int] = (),
        control_values: Sequence[int] = (),
        where: torch.Tensor | None = None,
    ) -> None:
        """Apply one gate's operator (a matrix, phases or a permutation) on ``wires``,
        acting where ``controls`` hold ``control_values`` and, if given, only in the rows
        where the boolean ``where`` ``(rows,)`` is true."""
        if where is not None:
            if not bool(where.any()):
                return
            if bool(where.all()):
                where = None  # every row: an ordinary gate, in place where it can be
        matrix = self._per_row(matrix)
        targets, control_axes = self._axes(wires), self._axes(controls)
        grid = self._grid()
        if self.inplace and where is None and apply_inplace(grid, kind, matrix, targets, control_axes, control_values):
            return
        updated = apply_generic(grid, kind, matrix, targets, control_axes, control_values)
        if where is not None:
            updated = torch.where(where.reshape((self.rows,) + (1,) * self.n_qubits), updated, grid)
        self._psi = updated.reshape(self.rows, -1)

    def try_apply_inplace(
        self, kind: Kind, matrix, wires: Sequence[int], controls: Sequence[int] = (), control_values=()
    ) -> bool:
        """Apply in place if a fast kernel exists; False (and nothing done) otherwise."""
        return apply_inplace(self._grid(), kind, self._per_row(matrix), self._axes(wires), self._axes(controls), control_values)

    def apply_block(self, matrix: torch.Tensor, wires: Sequence[int]) -> None:
        """Apply a fused ``(Bm, d, d)`` matrix on sorted ``wires`` in one pass."""
        matrix = self._per_row(matrix)
        if self.inplace and len(wires) == 1:  # 2x2: in place, one half-size temporary
            apply_inplace(self._grid(), Kind.DENSE, matrix, self._axes(wires))
            return
        if not self.inplace:
            self._psi = apply_block(self._psi, matrix, wires, self.n_qubits)
            return
        if self._spare is None:
            self._spare = torch.empty_like(self._psi)
        result = apply_block(self._psi, matrix, wires, self.n_qubits, out=self._spare)
        self._spare, self._psi = self._psi, result  # swap the buffers, copy nothing

    def apply_phases(self, phases: torch.Tensor, wires: Sequence[int]) -> None:
        """Multiply by a fused ``(Bm, 2**k)`` phase vector over sorted ``wires``."""
        self._psi = apply_phase_block(self._psi, self._per_row(phases), wires, self.n_qubits, self.inplace)

    def load_product(self, first: torch.Tensor, rest: torch.Tensor) -> None:
        """Replace the state by the product ``first (x) rest`` of ``(Bm, 2**h)`` and
        ``(Bm, 2**(n-h))`` factors, written straight into the buffer when in place."""
        first, rest = self._per_row(first), self._per_row(rest)
        grid = (self.rows, first.shape[1], rest.shape[1])
        if self.inplace:
            torch.mul(first.unsqueeze(-1).expand(self.rows, -1, 1), rest.unsqueeze(-2), out=self._psi.view(grid))
        else:
            self._psi = (first.unsqueeze(-1) * rest.unsqueeze(-2)).expand(grid).reshape(self.rows, -1).contiguous()

    def gather(self, index: torch.Tensor) -> None:
        """A whole-register basis permutation: new amplitude y is old amplitude ``index[y]``."""
        self._psi = self._psi.index_select(1, index.to(self.device))

    def apply_channel(self, ops: ChannelOperators, wires: Sequence[int], generator: torch.Generator | None) -> None:
        """One Monte-Carlo step of a noise channel in every row (trajectory).

        A unitary mixture picks ``U_k`` with its fixed probabilities without reading the
        state, and only the rows that drew a non-identity term are touched. Any other
        channel picks ``K_k`` with the row's weight ``||K_k psi||^2 = Tr(K_k^dagger K_k
        rho_W)`` (from the reduced density matrix of ``wires``: one pass) and applies
        ``K_k / sqrt(weight)``.
        """
        rows = self.rows
        if ops.probabilities is not None:
            probs = self._per_row(ops.probabilities).expand(rows, -1)
            choice = _draw(probs, generator).to(self.device)
            hit = (choice != 0).nonzero().squeeze(1)  # term 0 is the identity
            if hit.numel():
                self._apply_rows(hit, ops.unitaries.index_select(0, choice.index_select(0, hit)), wires)
            return
        kraus = self._per_row(ops.kraus).expand(rows, -1, -1, -1)  # (rows, K, d, d)
        reduced = self.density_matrix(wires)  # (rows, d, d)
        weights = torch.einsum("rkji,rkjl,rli->rk", kraus.conj(), kraus, reduced).real
        choice = _draw(weights, generator).to(self.device)
        picked = kraus[torch.arange(rows, device=self.device), choice]  # (rows, d, d)
        norm = weights.gather(1, choice.unsqueeze(1)).clamp_min(torch.finfo(weights.dtype).tiny).sqrt()
        self.apply(Kind.DENSE, picked / norm.unsqueeze(-1).to(picked.dtype), wires)

    def _apply_rows(self, rows: torch.Tensor, matrices: torch.Tensor, wires: Sequence[int]) -> None:
        """Apply per-row ``matrices`` ``(h, d, d)`` to the rows listed in ``rows`` only."""
        if rows.numel() == self.rows:
            self.apply(Kind.DENSE, matrices, wires)
            return
        part = StateVector(self._psi.index_select(0, rows), self.n_qubits)
        part.apply(Kind.DENSE, matrices, wires)
        if self.inplace:
            self._psi.index_copy_(0, rows, part.tensor)
        else:
            self._psi = self._psi.index_copy(0, rows, part.tensor)

    def measure(
        self, wire: int, generator: torch.Generator | None, *, reset: bool = False, record: bool = True
    ) -> torch.Tensor:
        """Measure ``wire`` in every row: draw an outcome from the row's own state (seeded),
        collapse and renormalise, and with ``reset`` return the wire to |0>. Returns the
        outcomes ``(rows,)`` as 0/1 integers. (``record`` is for the density matrix's
        sake: a statevector row must pick an outcome either way.)"""
        batch = self.rows
        # (rows, left, 2, right): three axes whatever n is, so reductions and updates stay fast.
        psi = self._psi.reshape(batch, 2**wire, 2, -1)
        one = torch.view_as_real(psi[:, :, 1])
        if self.inplace:  # one reduction pass, no temporary (double accumulation on the CPU)
            weight = torch.linalg.vector_norm(one, dim=(1, 2, 3)).square()  # P(1), (rows,)
        else:  # differentiable everywhere (a norm's gradient is undefined at 0)
            weight = one.square().sum(dim=(1, 2, 3))
        u = torch.rand(batch, generator=generator, dtype=torch.float64).to(psi.device)
        outcome = u < weight.detach().to(torch.float64)  # (rows,) bool
        p = torch.where(outcome, weight, 1 - weight).clamp_min(torch.finfo(weight.dtype).tiny)
        keep = torch.stack([~outcome, outcome], dim=1).to(weight.dtype) / p.sqrt().unsqueeze(1)  # (rows, 2)
        keep = keep.reshape(batch, 1, 2, 1)
        if self.inplace and reset:
            # Where the outcome was 1 the |1> half, scaled, becomes the |0> half: one fused
            # multiply-add over half the state, and the |1> half is cleared.
            zero, one = psi[:, :, 0], psi[:, :, 1]
            keep = keep.to(psi.dtype)
            zero.mul_(keep[:, :, 0]).addcmul_(one, keep[:, :, 1])
            one.zero_()
        elif self.inplace:
            psi.mul_(keep)
        else:
            psi = psi * keep
            if reset:  # one half is zero in every row: their sum is the kept half, on |0>
                psi = torch.stack([psi[:, :, 0] + psi[:, :, 1], torch.zeros_like(psi[:, :, 1])], dim=2)
        self._psi = psi.reshape(batch, -1)
        return outcome.long()

    def reset(self, wire: int, generator: torch.Generator | None) -> torch.Tensor:
        """Return ``wire`` to |0> (a measurement whose outcome is then undone); the outcomes."""
        return self.measure(wire, generator, reset=True)

    # --- readout, per row -------------------------------------------------------------------

    def probs(self, wires: Sequence[int] | None = None) -> torch.Tensor:
        """Marginal probabilities ``(rows, 2**k)`` of ``wires`` (``wires[0]`` the MSB)."""
        return readout.probs(self._psi, self.n_qubits, wires)

    def expval(self, obs: PauliSum) -> torch.Tensor:
        """<H> per row, ``(rows,)`` (a Z-only H is one product with its cached sign table)."""
        return readout.expvals(self._psi, self.n_qubits, (obs,))[:, 0]

    def expvals(self, observables: Sequence[PauliSum]) -> torch.Tensor:
        """Every observable's <H> per row, ``(rows, n_obs)`` (Z-only sets share one pass)."""
        return readout.expvals(self._psi, self.n_qubits, observables)

    def var(self, obs: PauliSum) -> torch.Tensor:
        """<H^2> - <H>^2 per row."""
        return readout.var(self._psi, self.n_qubits, obs)

    def density_matrix(self, wires: Sequence[int] | None = None) -> torch.Tensor:
        """Reduced density matrices ``(rows, 2**k, 2**k)`` of ``wires``."""
        return readout.density_matrix(self._psi, self.n_qubits, wires)

    def inner(self, other: "StateVector") -> torch.Tensor:
        """<self|other> per row, ``(rows,)`` complex."""
        return (self._psi.conj() * other._psi).sum(-1)

    def apply_matrix(self, matrix: torch.Tensor, wires: Sequence[int]) -> "StateVector":
        """``M |self>`` as a new state, for any ``(2**k, 2**k)`` matrix on ``wires`` (an
        observable's, say: neither unitary nor normalised)."""
        matrix = matrix.to(device=self.device, dtype=self.dtype).reshape(-1, *matrix.shape[-2:])
        moved = apply_generic(self._grid(), Kind.DENSE, matrix, self._axes(wires))
        return StateVector(moved.reshape(self.rows, -1), self.n_qubits)

    def load_observables(self, source: "StateVector", observables: Sequence[PauliSum], weights: torch.Tensor) -> None:
        """Overwrite this state with ``sum_o weights[:, o] H_o |source>`` (the adjoint
        method's lambda). Z-only observables are one multiply by a weighted sign table,
        with no state-sized temporaries."""
        n = self.n_qubits
        table = readout.diagonal_table(n, tuple(observables), source.tensor.real.dtype, source.device)
        if table is not None:
            self._psi.copy_(source.tensor).mul_(weights.to(table.dtype) @ table.T)  # (rows, 2**n) real weights
            return
        self._psi.zero_()
        for o, obs in enumerate(observables):
            self._psi.add_(readout.apply_pauli_sum(source.tensor, n, obs).mul_(weights[:, o : o + 1].to(self.dtype)))

    def cross_matrix(
        self, other: "StateVector", wires: Sequence[int], controls: Sequence[int] = (), control_values=(), *, diagonal=False
    ) -> torch.Tensor:
        """``M`` per row with <self| U |other> = sum(U * M) for any U on ``wires`` inside the
        control slice: ``(rows, d, d)``, or ``(rows, d)`` for a diagonal U."""
        return cross_matrix(
            self._grid(), other._grid(), self._axes(wires), self._axes(controls), control_values, diagonal
        )


def _draw(weights: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """One index per row drawn from unnormalised ``weights`` ``(rows, K)``, on the CPU
    generator (so a seed gives the same trajectories on every device)."""
    w = weights.detach().to(torch.float64).cpu().clamp_min(0)
    cdf = torch.cumsum(w, dim=1)
    u = torch.rand((w.shape[0], 1), generator=generator, dtype=torch.float64) * cdf[:, -1:]
    return torch.searchsorted(cdf, u, right=True).clamp_(max=w.shape[1] - 1).squeeze(1)


def initial_amplitudes(init, n: int, rows: int, dtype: torch.dtype, dev: torch.device, per_sample: int = 1):
    """A fresh ``(rows, 2**n)`` tensor (never the caller's, since runs may work in place)
    from a basis-state index (``None``: |0...0>) or amplitudes ``(2**n,)`` / ``(B, 2**n)``;
    each given row is repeated ``per_sample`` times (its trajectories)."""
    if init is None or isinstance(init, int | np.integer):
        index = 0 if init is None else int(init)
        if not 0 <= index < 2**n:
            raise ValueError(f"initial basis state {index} is out of range for {n} qubit(s) (0..{2**n - 1})")
        psi = torch.zeros((rows, 2**n), dtype=dtype, device=dev)
        psi[:, index] = 1
        return psi
    vec = init if isinstance(init, torch.Tensor) else torch.as_tensor(np.asarray(init))
    if vec.dim() not in (1, 2) or vec.shape[-1] != 2**n:
        raise ValueError(
            f"initial_state must have shape ({2**n},) or (B, {2**n}) for {n} qubit(s); got {tuple(vec.shape)}"
        )
    vec = vec.to(device=dev, dtype=dtype)
    norms = vec.abs().pow(2).sum(-1).detach()
    tol = 1e-10 if dtype == torch.complex128 else 1e-5  # summation error grows ~log(2**n), not 2**n
    if (norms - 1).abs().max().item() > tol * max(1, n):
        raise ValueError(f"initial_state must be normalised (sum |amplitude|^2 = 1); got norm^2 {norms.tolist()}")
    if vec.dim() == 2 and vec.shape[0] > 1 and per_sample > 1:
        vec = vec.repeat_interleave(per_sample, dim=0)
    return vec.expand(rows, 2**n).clone()
