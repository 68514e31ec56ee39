"""ShardedState: one statevector spread over ``2**k`` processes (DESIGN §10).

Process ``r`` holds the ``2**(n-k)`` amplitudes whose top ``k`` physical index bits equal
``r``, as an ordinary :class:`StateVector` of ``n - k`` qubits (``local``), so every local
gate runs on the existing fused kernels. Which logical wire sits at which physical bit is
a map that swaps change (:mod:`.schedule` chooses them); ``plan()`` turns the schedule
into steps for :func:`.execute.run`:

* :class:`LocalStep`: a run of gates with local targets, as a circuit on the ``n - k``
  local wires (controls on global wires resolved by this process's bits: dropped when
  they hold, the gate skipped when not), fused by the ordinary planner: the fusion rule
  of a shard is the planner with a local-wire budget;
* :class:`SlicedPhaseStep`: a diagonal gate with global targets: this process applies the
  slice of its phases that its own global bits select (no exchange);
* :class:`SwapStep`: one exchange of ``m`` global with ``m`` local index bits, one
  ``all_to_all_single`` per chunk of at most ``chunk`` amplitudes per buffer: the state is
  rewritten in place, so ``2**k`` processes add ``k`` qubits (no full-size receive buffer).

Readouts are global and the same on every process: ``probs``/``expval``/``density_matrix``
read the local part through the map and ``all_reduce`` it (a readout that needs an X or Y
on a global wire first swaps that wire in); ``sample`` and ``local_vector`` first restore
the identity map (at most two exchanges and one local transpose).
"""

from __future__ import annotations

import itertools
import math
import weakref
from dataclasses import dataclass, replace
from typing import ClassVar, Sequence

import torch
import torch.distributed as dist

from . import gates as g
from . import measure
from .circuit import Circuit
from .distributed import all_reduce, check_power_of_two
from .execute import Run, apply_step
from .fuse import FusionConfig, plan_for
from .instructions import Operation
from .observables import Pauli, PauliSum
from .operators import OpMatrices
from .schedule import Swap, bring_local, restore_swaps, schedule
from .statevector import StateVector

__all__ = ["ShardedState", "SwapStep", "MapStep", "LocalStep", "SlicedPhaseStep", "Exchange", "DEFAULT_CHUNK", "Resolved", "resolve"]

DEFAULT_CHUNK = 2**22  # amplitudes per exchange buffer (64 MiB in complex128): two such buffers per process


# --- the exchange -------------------------------------------------------------------------------


class Exchange:
    """How a swap's data moves between processes; counts what it sends.

    :meth:`send` is one ``all_to_all_single`` over the world group. A stand-in for tests
    (one process holding every shard) subclasses it."""

    def __init__(self, rank: int, size: int):
        self.rank, self.size = rank, size
        self.sent_bytes = 0  # by this process, over the run
        self.exchanges = 0  # swaps (each one all-to-all round per chunk)
        self.calls = 0  # all_to_all_single calls

    def send(self, out: torch.Tensor, inp: torch.Tensor, out_splits: list[int], in_splits: list[int]) -> None:
        dist.all_to_all_single(out, inp, out_splits, in_splits)

    def send_autograd(self, inp: torch.Tensor, out_splits: list[int], in_splits: list[int]) -> torch.Tensor:
        from .distributed import AllToAll

        return AllToAll.apply(inp, out_splits, in_splits)

    def reduce(self, t: torch.Tensor) -> torch.Tensor:
        """The sum over processes (differentiable when ``t`` requires grad)."""
        return all_reduce(t, self.size)

    def reduce_plain(self, t: torch.Tensor) -> torch.Tensor:
        """The sum over processes of a tensor nothing differentiates (moved to the
        backend's device and back: NCCL reduces CUDA tensors only)."""
        if self.size == 1:
            return t
        out = t.to(_backend_device()).clone()
        dist.all_reduce(out)
        return out.to(t.device)

    def gather(self, t: torch.Tensor) -> list[torch.Tensor]:
        parts = [torch.empty_like(t) for _ in range(self.size)]
        dist.all_gather(parts, t.contiguous())
        return parts


def _backend_device() -> torch.device:
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


# --- step records (structure; cached with the plan) -------------------------------------------


@dataclass(frozen=True, eq=False)
class SwapStep:
    """Exchange global/local physical positions ``pairs`` (one all-to-all per chunk)."""

    pairs: tuple[tuple[int, int], ...]
    ops: ClassVar[tuple] = ()
    constant: ClassVar[bool] = False


@dataclass(frozen=True, eq=False)
class MapStep:
    """The map once a run's steps are done (SWAP gates move no data: they only relabel)."""

    where: tuple[int, ...]
    ops: ClassVar[tuple] = ()
    constant: ClassVar[bool] = False


@dataclass(frozen=True, eq=False)
class LocalStep:
    """Gates with local targets: ``circuit`` on the local wires (this process's controls
    resolved), its fused ``steps``, and the circuit op each of its ops came from."""

    circuit: Circuit
    source: tuple[int, ...]
    steps: tuple
    cached: frozenset = frozenset()  # local ops whose fused steps keep their operators (as run() skips them)
    ops: ClassVar[tuple] = ()
    constant: ClassVar[bool] = False


@dataclass(frozen=True)
class Resolved:
    """One gate as one process applies it: local targets and controls, and the bits its
    global targets are fixed to (diagonal gates only)."""

    local: Operation  # the op on local wires, global controls dropped; global targets removed
    fixed: tuple[tuple[int, int], ...]  # (index into op.wires, bit) of global targets


@dataclass(frozen=True, eq=False)
class SlicedPhaseStep:
    """A diagonal gate with global targets: the slice of its phases this process's bits select."""

    op: int
    resolved: Resolved
    constant: ClassVar[bool] = False

    @property
    def ops(self) -> tuple[int, ...]:
        return (self.op,)


def resolve(physical: Operation, rank: int, k: int) -> Resolved | None:
    """``physical`` (wires = physical positions) as process ``rank`` applies it, or
    ``None`` when its global controls exclude this process."""

    def bit(p: int) -> int:
        return (rank >> (k - 1 - p)) & 1

    controls, values = [], []
    for c, v in zip(physical.controls, physical.control_values):
        if c < k:
            if bit(c) != v:
                return None
        else:
            controls.append(c - k)
            values.append(v)
    fixed = tuple((j, bit(w)) for j, w in enumerate(physical.wires) if w < k)
    wires = tuple(w - k for w in physical.wires if w >= k)
    local = replace(physical, wires=wires, controls=tuple(controls), control_values=tuple(values))
    return Resolved(local, fixed)


def slice_phases(phases: torch.Tensor, n_wires: int, fixed) -> torch.Tensor:
    """``(Bm, 2**t)`` phases over an op's wires -> ``(Bm, 2**t_local)`` over its local ones."""
    grid = phases.reshape(phases.shape[0], *(2,) * n_wires)
    index = [slice(None)] * (n_wires + 1)
    for j, b in fixed:
        index[j + 1] = b
    return grid[tuple(index)].reshape(phases.shape[0], -1)


def apply_resolved(state: StateVector, r: Resolved, matrix) -> None:
    """Apply a resolved gate's operator (phases already sliced for a diagonal with global
    targets) to the local shard."""
    op = r.local
    if op.wires or not r.fixed:
        state.apply(op.gate.kind, matrix, op.wires, op.controls, op.control_values)
        return
    # Every target is global: a phase (per row) on the control slice, or on everything.
    phase = matrix.reshape(matrix.shape[0])  # (Bm,)
    if op.controls:
        c, v = op.controls[0], op.control_values[0]
        ones = torch.ones_like(phase)
        pair = torch.stack([ones, phase] if v else [phase, ones], dim=1)
        state.apply(g.Kind.DIAGONAL, pair, (c,), op.controls[1:], op.control_values[1:])
    else:
        state.apply(g.Kind.DIAGONAL, torch.stack([phase, phase], dim=1), (0,))


# --- the plan --------------------------------------------------------------------------------

# circuit -> {(version, k): (schedule items, final map)}; weak, like the fusion plans.
_SCHEDULES: "weakref.WeakKeyDictionary[Circuit, dict]" = weakref.WeakKeyDictionary()
# circuit -> {(version, k, rank, config, batched): steps}
_PLANS: "weakref.WeakKeyDictionary[Circuit, dict]" = weakref.WeakKeyDictionary()


def circuit_schedule(circuit: Circuit, k: int) -> tuple[tuple, tuple[int, ...]]:
    per = _SCHEDULES.setdefault(circuit, {})
    key = (circuit.version, k)
    if key not in per:
        per.clear()
        per[key] = schedule(circuit.ops, circuit.n_qubits, k)
    return per[key]


def _local_values(values, source):
    return [values[i] for i in source]


# --- the state -------------------------------------------------------------------------------


class ShardedState:
    """This process's shard of a ``(rows, 2**n)`` batch of states, ``2**k`` processes in all."""

    def __init__(
        self, local: StateVector, n_qubits: int, exchange: Exchange, *, chunk: int = DEFAULT_CHUNK
    ):
        self.k = check_power_of_two(exchange.size)
        if local.n_qubits != n_qubits - self.k:
            raise ValueError(f"a shard of {n_qubits} qubits over {exchange.size} processes has {n_qubits - self.k} local qubits")
        self.local = local
        self.n_qubits = n_qubits
        self.exchange = exchange
        self.rank = exchange.rank
        self.chunk = int(chunk)
        self.where = tuple(range(n_qubits))  # logical wire -> physical position
        self.trajectories = 1
        self.anchor = None  # backprop: a zero tied to the parameters' gradient sum (see sharded_run)

    def __repr__(self) -> str:
        return (f"ShardedState(n_qubits={self.n_qubits}, processes={self.exchange.size}, rank={self.rank}, "
                f"rows={self.rows}, dtype={self.dtype})")  # fmt: skip

    # layout, as StateVector
    @property
    def rows(self) -> int:
        return self.local.rows

    @property
    def dtype(self) -> torch.dtype:
        return self.local.dtype

    @property
    def device(self) -> torch.device:
        return self.local.device

    @property
    def n_local(self) -> int:
        return self.n_qubits - self.k

    def per_sample(self, t: torch.Tensor) -> torch.Tensor:
        return t.reshape(self.rows, 1, *t.shape[1:])

    def trajectory_mean(self, t: torch.Tensor) -> torch.Tensor:
        return t

    def _reduce(self, t: torch.Tensor) -> torch.Tensor:
        """A readout's sum over processes (every process reaches the parameters' gradient
        sum through ``anchor``, whatever its gates were)."""
        if self.anchor is not None and t.requires_grad:
            t = t + self.anchor
        return self.exchange.reduce(t)

    def _bit(self, p: int) -> int:
        return (self.rank >> (self.k - 1 - p)) & 1

    # --- planning ---------------------------------------------------------------------------

    def plan(self, circuit: Circuit, values: list, config: FusionConfig | None, product_start: bool) -> tuple:
        """The steps of a run: the schedule's swaps, and its gates resolved for this process
        and fused on the local wires (see the module docstring). Starts from the identity map."""
        if self.where != tuple(range(self.n_qubits)):
            self.restore()
        items, final = circuit_schedule(circuit, self.k)
        batched = tuple(any(v.shape[0] > 1 for v in vs) or (op.batch_size or 0) > 1 for op, vs in zip(circuit.ops, values))
        key = (circuit.version, self.k, self.rank, config, batched)
        per = _PLANS.setdefault(circuit, {})
        if key not in per:
            if len(per) > 8 or any(kk[0] != circuit.version for kk in per):
                per.clear()
            per[key] = self._build(circuit, items, values, config) + (MapStep(final),)
        return per[key]

    def _build(self, circuit: Circuit, items, values, config) -> tuple:
        steps: list = []
        run_ops: list[Operation] = []
        source: list[int] = []

        def close() -> None:
            if not run_ops:
                return
            local = Circuit(self.n_local)
            for op in run_ops:
                local._push(op)  # checked when the circuit was built; wires are local positions
            inner = plan_for(local, _local_values(values, source), config, self.rows, False)
            cached = frozenset(i for s in inner if s.constant for i in s.ops)
            steps.append(LocalStep(local, tuple(source), inner, cached))
            run_ops.clear()
            source.clear()

        for item in items:
            if isinstance(item, Swap):
                close()
                steps.append(SwapStep(item.pairs))
                continue
            r = resolve(item.physical, self.rank, self.k)
            if r is None:
                continue
            if r.fixed:
                close()
                steps.append(SlicedPhaseStep(item.index, r))
            else:
                run_ops.append(r.local)
                source.append(item.index)
        close()
        return tuple(steps)

    # --- exchanges --------------------------------------------------------------------------

    def swap(self, pairs: Sequence[tuple[int, int]]) -> None:
        """Exchange global positions with local ones (``(global, local)`` pairs) and update the map."""
        pairs = tuple(sorted(pairs))
        if not pairs:
            return
        if self.local.tensor.requires_grad or not self.local.inplace:
            self._exchange_autograd(pairs)
        else:
            self._exchange_inplace(pairs)
        where = list(self.where)
        who = {p: q for q, p in enumerate(where)}
        for a, b in pairs:
            where[who[a]], where[who[b]] = b, a
        self.where = tuple(where)
        self.exchange.exchanges += 1

    def _group(self, pairs) -> tuple[list[int], int]:
        """Destination process of each value of the swapped global bits, and this process's value."""
        k, m = self.k, len(pairs)
        mask = sum(1 << (k - 1 - gp) for gp, _ in pairs)
        dests = []
        for i in range(2**m):
            r = self.rank & ~mask
            for j, (gp, _) in enumerate(pairs):
                r |= ((i >> (m - 1 - j)) & 1) << (k - 1 - gp)
            dests.append(r)
        mine = dests.index(self.rank)
        return dests, mine

    def _permuted(self, psi: torch.Tensor, pairs) -> torch.Tensor:
        """``psi`` as ``(2,)*m + (rows,) + (2,)*(nl-m)``: the swapped local bits first."""
        nl, k = self.n_local, self.k
        axes = [lp - k for _, lp in pairs]
        rest = [a for a in range(nl) if a not in axes]
        grid = psi.view(psi.shape[0], *(2,) * nl)
        return grid.permute(*(1 + a for a in axes), 0, *(1 + a for a in rest))

    def _exchange_inplace(self, pairs) -> None:
        psi = self.local.tensor
        m, rows, nl = len(pairs), self.rows, self.n_local
        dests, mine = self._group(pairs)
        view = self._permuted(psi, pairs)
        others = [i for i in range(2**m) if i != mine]
        piece = rows * 2 ** (nl - m)  # amplitudes per destination
        per = max(1, self.chunk // len(others))
        # Slices of the (rows, 2**(nl-m)) piece, each at most ``per`` amplitudes.
        rest = 2 ** (nl - m)
        if piece <= per:
            slices = [(slice(None),)]
        elif rest <= per:
            b = per // rest
            slices = [(slice(r, min(rows, r + b)),) for r in range(0, rows, b)]
        else:
            t = min(nl - m, math.ceil(math.log2(rest / per)))
            slices = [(r, *bits) for r in range(rows) for bits in itertools.product((0, 1), repeat=t)]
        largest = view[(0,) * m][slices[0]].numel()  # the first slice is a largest one
        send = torch.empty(largest * len(others), dtype=psi.dtype, device=psi.device)
        recv = torch.empty_like(send)
        bits = [tuple((i >> (m - 1 - j)) & 1 for j in range(m)) for i in range(2**m)]
        for sl in slices:
            parts = [view[bits[i]][sl] for i in others]
            size = parts[0].numel()
            splits = [0] * self.exchange.size
            for i in others:
                splits[dests[i]] = size
            for slot, part in enumerate(parts):
                send[slot * size : (slot + 1) * size].view(part.shape).copy_(part)
            total = size * len(others)
            self.exchange.send(recv[:total], send[:total], splits, splits)
            for slot, part in enumerate(parts):
                part.copy_(recv[slot * size : (slot + 1) * size].view(part.shape))
            self.exchange.calls += 1
            self.exchange.sent_bytes += total * send.element_size()

    def _exchange_autograd(self, pairs) -> None:
        psi = self.local.tensor
        m, nl = len(pairs), self.n_local
        dests, mine = self._group(pairs)
        view = self._permuted(psi, pairs)
        bits = [tuple((i >> (m - 1 - j)) & 1 for j in range(m)) for i in range(2**m)]
        others = [i for i in range(2**m) if i != mine]
        parts = [view[bits[i]] for i in range(2**m)]
        size = parts[0].numel()
        send = torch.cat([parts[i].reshape(-1) for i in others])
        splits = [0] * self.exchange.size
        for i in others:
            splits[dests[i]] = size
        recv = self.exchange.send_autograd(send, splits, splits)
        self.exchange.calls += 1
        self.exchange.sent_bytes += send.numel() * send.element_size()
        got = {i: recv[slot * size : (slot + 1) * size].view(parts[i].shape) for slot, i in enumerate(others)}
        got[mine] = parts[mine]
        stacked = torch.stack([got[i] for i in range(2**m)]).reshape((2,) * m + parts[0].shape)
        # stacked axes: swapped bits, rows, rest; back to (rows, local wires in order).
        axes = [lp - self.k for _, lp in pairs]
        rest = [a for a in range(nl) if a not in axes]
        order = axes + [None] + rest  # what each axis of ``stacked`` is
        inverse = [order.index(None)] + [order.index(a) for a in range(nl)]
        self.local._psi = stacked.permute(*inverse).reshape(self.rows, -1)

    def restore(self) -> None:
        """Put every logical wire back at its own physical position (the identity map)."""
        swaps, where = restore_swaps(list(self.where), self.n_qubits, self.k)
        for s in swaps:
            self.swap(s.pairs)
        k, nl = self.k, self.n_local
        where = self.where
        if where == tuple(range(self.n_qubits)):
            return
        # Local part: logical wire q (>= k) sits at position where[q]; move it to q.
        grid = self.local.tensor.view(self.rows, *(2,) * nl)
        moved = grid.permute(0, *(1 + where[q] - k for q in range(k, self.n_qubits)))
        if self.local.inplace and not self.local.tensor.requires_grad:
            spare = self.local._spare if self.local._spare is not None else torch.empty_like(self.local.tensor)
            spare.view(moved.shape).copy_(moved)
            self.local._spare, self.local._psi = self.local._psi, spare
        else:
            self.local._psi = moved.reshape(self.rows, -1)
        self.where = tuple(range(self.n_qubits))

    def bring_local(self, wires) -> None:
        s = bring_local(wires, list(self.where), self.n_qubits, self.k)
        if s is not None:
            self.swap(s.pairs)

    # --- readouts (global: the same on every process) --------------------------------------

    def _local_observable(self, obs: PauliSum) -> PauliSum:
        """``obs`` on the local wires, with this process's global Z bits folded into the
        coefficients (X and Y wires must be local: see :meth:`bring_local`)."""
        k, terms = self.k, []
        for c, word in obs.terms:
            sign, local = 1.0, []
            for w, p in word:
                pos = self.where[w]
                if pos < k:
                    assert p is Pauli.Z
                    sign = -sign if self._bit(pos) else sign
                else:
                    local.append((pos - k, p))
            terms.append((c * sign, tuple(sorted(local))))
        return PauliSum(tuple(terms))

    def _flip_wires(self, observables) -> list[int]:
        return sorted({w for obs in observables for _, word in obs.terms for w, p in word if p is not Pauli.Z})

    def expvals(self, observables: Sequence[PauliSum]) -> torch.Tensor:
        for obs in observables:
            measure._check_observable(obs, self.n_qubits)
        self.bring_local(self._flip_wires(observables))
        local = [self._local_observable(o) for o in observables]
        return self._reduce(self.local.expvals(local))

    def expval(self, obs: PauliSum) -> torch.Tensor:
        return self.expvals((obs,))[:, 0]

    def var(self, obs: PauliSum) -> torch.Tensor:
        raise NotImplementedError("var() is not available on a sharded state yet; use expval() of H and of H @ H")

    def probs(self, wires: Sequence[int] | None = None) -> torch.Tensor:
        wires = measure.check_wires(wires, self.n_qubits)
        from .memory import check_fits

        check_fits(len(wires), self.rows, torch.float64, self.device)
        k = self.k
        local = [w for w in wires if self.where[w] >= k]
        part = self.local.probs([self.where[w] - k for w in local])  # (rows, 2**len(local))
        out = torch.zeros((self.rows,) + (2,) * len(wires), dtype=part.dtype, device=part.device)
        index = tuple([slice(None)] + [self._bit(self.where[w]) if self.where[w] < k else slice(None) for w in wires])
        out[index] = part.reshape((self.rows,) + (2,) * len(local))
        return self._reduce(out.reshape(self.rows, -1))

    def density_matrix(self, wires: Sequence[int] | None = None) -> torch.Tensor:
        wires = measure.check_wires(wires, self.n_qubits)
        self.bring_local(wires)
        rho = self.local.density_matrix([self.where[w] - self.k for w in wires])
        return self._reduce(rho)

    def local_vector(self) -> torch.Tensor:
        """This process's amplitudes ``(rows, 2**(n-k))`` in logical order: process ``r``
        holds basis states ``r * 2**(n-k) ... (r+1) * 2**(n-k) - 1``."""
        self.restore()
        return self.local.tensor

    def gather(self) -> torch.Tensor:
        """Every amplitude ``(rows, 2**n)`` on every process (refused when it will not fit)."""
        from .memory import check_fits

        check_fits(self.n_qubits, self.rows, self.dtype, self.device)
        mine = self.local_vector().detach().contiguous()
        if self.exchange.size == 1:
            return mine.clone()
        return torch.cat(self.exchange.gather(mine), dim=1)

    def sample(self, shots: int, wires: Sequence[int] | None = None, seed: int | None = None) -> torch.Tensor:
        """``(rows, shots, len(wires))`` bits, the same on every process and the same as one
        process draws with this seed (inverse-CDF sampling, the CDF split by process)."""
        wires = measure.check_wires(wires, self.n_qubits)
        if seed is None:  # every process must draw the same numbers
            pick = torch.randint(0, 2**62, (1,), dtype=torch.int64) * (self.rank == 0)
            seed = int(self.exchange.reduce_plain(pick))
        if wires != list(range(self.n_qubits)):
            return measure.sample_probs(self.probs(wires), shots, seed).to(self.device)
        measure.positive_int(shots, "shots")
        self.restore()
        p = (self.local.tensor.detach().real ** 2 + self.local.tensor.detach().imag ** 2).to(torch.float64).cpu()
        mass = p.sum(-1)  # (rows,)
        masses = torch.zeros((self.rows, self.exchange.size), dtype=torch.float64)
        masses[:, self.rank] = mass
        masses = self.exchange.reduce_plain(masses)
        before = masses[:, : self.rank].sum(-1, keepdim=True)
        total = masses.sum(-1, keepdim=True)
        cdf = (before + torch.cumsum(p, dim=-1)) / total  # this process's part of the global CDF
        gen = torch.Generator().manual_seed(seed)
        u = torch.rand((self.rows, shots), generator=gen, dtype=torch.float64)
        lo, hi = before / total, (before + mass.unsqueeze(-1)) / total
        mine = u >= lo
        if self.rank < self.exchange.size - 1:
            mine &= u < hi
        idx = torch.searchsorted(cdf, u, right=True).clamp_(max=p.shape[-1] - 1)
        idx = torch.where(mine, idx + self.rank * p.shape[-1], torch.zeros_like(idx))
        idx = self.exchange.reduce_plain(idx)
        shifts = torch.arange(self.n_qubits - 1, -1, -1)
        return ((idx.unsqueeze(-1) >> shifts) & 1).to(self.device)


# --- the steps, registered with the one run loop -----------------------------------------------


@apply_step.register
def _(step: SwapStep, state: ShardedState, ctx: Run) -> None:
    state.swap(step.pairs)


@apply_step.register
def _(step: MapStep, state: ShardedState, ctx: Run) -> None:
    state.where = step.where


@apply_step.register
def _(step: LocalStep, state: ShardedState, ctx: Run) -> None:
    mats = OpMatrices(step.circuit.ops, _local_values(ctx.mats.values, step.source), ctx.mats.dtype, ctx.mats.device,
                      skip=step.cached)  # fmt: skip
    inner = Run(step.circuit, mats)
    for s in step.steps:
        apply_step(s, state.local, inner)


@apply_step.register
def _(step: SlicedPhaseStep, state: ShardedState, ctx: Run) -> None:
    op = ctx.circuit.ops[step.op]
    phases = slice_phases(ctx.mats[step.op], len(op.wires), step.resolved.fixed)
    apply_resolved(state.local, step.resolved, phases)
