"""The user's side of a sharded run: ``simulate(..., distributed=True)``, its
:class:`DistributedState`, and ``expval(..., distributed=True)`` with backprop or adjoint
gradients. Every process of a ``torchrun`` launch calls the same function with the same
arguments and gets the same readouts; the process group is joined from torchrun's
environment if the caller has not joined one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from . import gates as g
from .circuit import Circuit
from .device import check_complex_dtype, real_dtype_of, resolve_device
from .diff.adjoint import _parameter_gradients
from .diff.problem import flatten_values, unflatten_values
from .distributed import SumGradients, check_power_of_two, join
from .execute import run
from .fuse import FusionConfig
from .memory import check_fits
from .observables import PauliSum
from .operators import dagger as adjoint_of
from .operators import op_matrix, parametrised_matrices, resolve_values
from .params import bind_parameters
from .schedule import Swap, needs_local, schedule
from .sharded import DEFAULT_CHUNK, Exchange, ShardedState, apply_resolved, resolve, slice_phases
from .state import State
from .statevector import StateVector, initial_amplitudes

__all__ = ["DistributedState", "simulate_distributed", "expval_distributed", "prepare_sharded"]


class DistributedState(State):
    """A :class:`State` whose amplitudes are spread over the processes of a launch.

    ``probs``, ``expval``, ``density_matrix``, ``sample`` and ``counts`` are global (the
    same on every process; seeded samples are the ones one process draws with that seed);
    ``local_vector`` is this process's part, ``gather()`` the whole vector (refused when it
    will not fit). ``vector``/``amplitudes`` are refused: they would silently gather."""

    def __init__(self, sharded: ShardedState, batched: bool):
        bits = torch.zeros((sharded.rows, 0), dtype=torch.long, device=sharded.device)
        super().__init__(sharded, batched, bits, method="statevector")

    def __repr__(self) -> str:
        b = f", batch={self.batch_size}" if self.batched else ""
        return (f"DistributedState(n_qubits={self.n_qubits}{b}, processes={self.world_size}, rank={self.rank}, "
                f"dtype={self._sv.dtype}, device={self._sv.device})")  # fmt: skip

    @property
    def world_size(self) -> int:
        return self._sv.exchange.size

    @property
    def rank(self) -> int:
        return self._sv.rank

    def _single_trajectory(self, what: str) -> None:
        raise ValueError(
            f"State.{what} would be the whole vector, which is spread over {self.world_size} processes: use "
            "local_vector (this process's part) or gather() (every amplitude on every process)"
        )

    @property
    def local_vector(self) -> torch.Tensor:
        """This process's amplitudes, ``(2**(n-k),)`` or ``(B, 2**(n-k))``: basis states
        ``rank * 2**(n-k)`` to ``(rank + 1) * 2**(n-k) - 1`` (wire 0 the most significant bit)."""
        return self._out(self._sv.local_vector())

    def gather(self) -> torch.Tensor:
        """Every amplitude on every process, ``(2**n,)`` or ``(B, 2**n)``; refused (a
        :class:`~hybrid.sim.memory.MemoryLimitError`) when it will not fit."""
        return self._out(self._sv.gather())

    def sample(self, shots: int, wires=None, seed: int | None = None) -> torch.Tensor:
        return self._out(self._sv.sample(shots, wires, seed))

    @property
    def exchange_stats(self) -> dict:
        """What this process's exchanges sent: bytes, swaps and all-to-all calls."""
        ex = self._sv.exchange
        return {"sent_bytes": ex.sent_bytes, "exchanges": ex.exchanges, "calls": ex.calls}


@dataclass
class ShardedJob:
    state: ShardedState
    values: list
    batched: bool
    config: FusionConfig | None
    grad: bool
    buffer: torch.Tensor | None = None  # pair=True: the (2B, 2**nl) buffer holding the shard and its spare


def _refuse_unsupported(circuit: Circuit) -> None:
    if not isinstance(circuit, Circuit):
        raise TypeError(f"expected a hybrid Circuit; got {type(circuit).__name__}")
    if circuit.has_noise or not circuit.is_unitary:
        raise ValueError(
            "distributed=True runs unitary circuits (gates only): mid-circuit measurements, resets, classically "
            "conditioned gates and noise channels are not supported on a sharded state yet"
        )
    for op in circuit.ops:
        if any(t.requires_grad for t in op.tensors):
            raise ValueError("distributed=True differentiates gate parameters, not gate matrices")


def prepare_sharded(
    circuit: Circuit, params, initial_state, dtype, device, fusion, *, chunk: int = DEFAULT_CHUNK,
    exchange: Exchange | None = None, extra_states: int | None = None, pair: bool = False,
) -> ShardedJob:  # fmt: skip
    """Check the inputs, join the process group, refuse what will not fit one process's
    memory, and lay out this process's shard (``pair``: in a two-shard buffer, for the
    adjoint sweep)."""
    from .simulate import _any_requires_grad, _batch_size, _fusion_config

    _refuse_unsupported(circuit)
    dtype = check_complex_dtype(dtype)
    dev = resolve_device(device)
    if exchange is None:
        rank, size, dev = join(dev)
        exchange = Exchange(rank, size)
    k = check_power_of_two(exchange.size)
    n = circuit.n_qubits
    nl = n - k
    config = _fusion_config(fusion, dev)
    width = max([config.max_dense if config is not None else 1] + [len(needs_local(op)) for op in circuit.ops])
    if nl < width:
        raise ValueError(
            f"{n} qubits over {exchange.size} processes leave {max(nl, 0)} local qubits per shard, fewer than the "
            f"fused block width ({width}): use at least {k + width} qubits, fewer processes, or a FusionConfig "
            "with a smaller max_dense"
        )
    bindings = bind_parameters(circuit.parameters, params)
    batch, batched = _batch_size(circuit, bindings, initial_state)
    if isinstance(initial_state, torch.Tensor) and initial_state.requires_grad:
        raise ValueError("distributed=True does not differentiate the initial state")
    grad = torch.is_grad_enabled() and _any_requires_grad(circuit, bindings, initial_state)
    if extra_states is None:
        extra_states = len(circuit) if grad else 0
    check_fits(nl, batch * (2 if pair else 1), dtype, dev, stored_states=extra_states)  # per process
    values = resolve_values(circuit, bindings, real_dtype_of(dtype), dev)
    anchor = None
    if grad and exchange.size > 1:
        values, anchor = _sum_gradients(values, exchange.size)
    psi = _local_initial(initial_state, n, nl, batch, exchange.rank, dtype, dev)
    buffer = None
    if pair:
        buffer = StateVector.pair_buffer(psi)
        local = StateVector(buffer[:batch], nl, inplace=True, spare=buffer[batch:])
    else:
        local = StateVector(psi, nl, inplace=not grad)
    state = ShardedState(local, n, exchange, chunk=chunk)
    state.anchor = anchor
    return ShardedJob(state, values, batched, config, grad, buffer)


def _sum_gradients(values: list, size: int):
    """Route every differentiable value through one :class:`SumGradients` (so each
    process ends with the full gradient), plus a zero that ties it to every readout (so
    every process reaches its backward, which is a collective)."""
    flat = [(i, j, v) for i, vs in enumerate(values) for j, v in enumerate(vs) if v.requires_grad]
    if not flat:
        return values, None
    summed = SumGradients.apply(size, *[v for _, _, v in flat])
    values = [list(vs) for vs in values]
    for (i, j, _), v in zip(flat, summed):
        values[i][j] = v
    anchor = sum(v.sum() for v in summed) * 0
    return values, anchor


def _local_initial(init, n: int, nl: int, batch: int, rank: int, dtype, dev) -> torch.Tensor:
    if init is None or isinstance(init, int | np.integer):
        index = 0 if init is None else int(init)
        if not 0 <= index < 2**n:
            raise ValueError(f"initial basis state {index} is out of range for {n} qubit(s) (0..{2**n - 1})")
        psi = torch.zeros((batch, 2**nl), dtype=dtype, device=dev)
        if index >> nl == rank:
            psi[:, index & (2**nl - 1)] = 1
        return psi
    full = initial_amplitudes(init, n, batch, dtype, dev)  # every process reads the same full vector
    return full[:, rank * 2**nl : (rank + 1) * 2**nl].clone()


def simulate_distributed(
    circuit: Circuit, params=None, *, initial_state=None, dtype=torch.complex64, device="auto",
    fusion: FusionConfig | bool = True, chunk: int = DEFAULT_CHUNK, exchange: Exchange | None = None,
) -> DistributedState:  # fmt: skip
    """``simulate(circuit, params, distributed=True)``: see :func:`hybrid.simulate`."""
    job = prepare_sharded(circuit, params, initial_state, dtype, device, fusion, chunk=chunk, exchange=exchange)
    run(circuit, job.values, job.state, config=job.config)
    return DistributedState(job.state, job.batched)


def expval_distributed(
    circuit: Circuit, obs: tuple[PauliSum, ...], params, *, initial_state, dtype, device, diff_method: str,
    fusion, chunk: int = DEFAULT_CHUNK, exchange: Exchange | None = None,
) -> tuple[torch.Tensor, bool]:  # fmt: skip
    """``(B, n_obs)`` expectation values, the same on every process, and whether the run
    was batched. ``diff_method``: ``"backprop"`` or ``"adjoint"``."""
    if diff_method == "backprop":
        state = simulate_distributed(circuit, params, initial_state=initial_state, dtype=dtype, device=device,
                                     fusion=fusion, chunk=chunk, exchange=exchange)  # fmt: skip
        return state.statevector.expvals(obs), state.batched
    if diff_method != "adjoint":
        raise ValueError(f"distributed=True supports diff_method 'backprop' or 'adjoint'; got {diff_method!r}")
    with torch.no_grad():
        job = prepare_sharded(circuit, params, initial_state, dtype, device, fusion, chunk=chunk, exchange=exchange,
                              extra_states=0, pair=True)  # fmt: skip
    grad_values = resolve_values(circuit, bind_parameters(circuit.parameters, params), real_dtype_of(job.state.dtype),
                                 job.state.device)  # the caller's tensors, tracked by autograd  # fmt: skip
    shapes, flat = flatten_values(grad_values)
    out = ShardedAdjoint.apply(_AdjointProblem(circuit, obs, shapes, job), *flat)
    return out, job.batched


@dataclass(eq=False)
class _AdjointProblem:
    circuit: Circuit
    observables: tuple[PauliSum, ...]
    shapes: tuple[int, ...]
    job: ShardedJob


class ShardedAdjoint(torch.autograd.Function):
    """Adjoint-method gradients (see :mod:`.diff.adjoint`) over a sharded state: psi and
    lambda travel as one shard of ``2B`` rows, so every swap moves both in one exchange;
    the backward sweep is the inverse circuit scheduled from wherever the forward left
    the map; each process's pieces of the cross matrices are summed in one all-reduce."""

    @staticmethod
    def forward(ctx, problem: _AdjointProblem, *flat):
        values = unflatten_values(problem.shapes, [v.detach() for v in flat])
        state = problem.job.state
        run(problem.circuit, values, state, config=problem.job.config)
        # Processes ran different numbers of ping-pong steps (gates their global controls
        # skip, sliced phases): psi must sit in the same half everywhere, since one swap
        # moves rows between processes. Put it in the first half.
        if state.local.settle() == 1:
            first, spare = state.local._lent
            first.copy_(spare)
            state.local._psi, state.local._spare = first, spare
        ctx.half = 0
        out = state.expvals(problem.observables)
        ctx.problem, ctx.values, ctx.done = problem, values, False
        return out

    @staticmethod
    def backward(ctx, grad_out):
        if ctx.done:
            raise RuntimeError("a distributed adjoint gradient can be taken once per forward run")
        ctx.done = True
        problem, values = ctx.problem, ctx.values
        needs = unflatten_values(problem.shapes, list(ctx.needs_input_grad[1:]))
        with torch.no_grad():
            grads = _sweep(problem, values, ctx.half, grad_out, needs)
        return (None, *[gr for per_op in grads for gr in per_op])


def _sweep(problem: _AdjointProblem, values, psi_half: int, grad_out: torch.Tensor, needs):
    circuit, state = problem.circuit, problem.job.state
    ops, n, k, rank = circuit.ops, circuit.n_qubits, state.k, state.rank
    batch = state.rows
    # psi and lambda: the halves of the run's (2B, 2**nl) buffer, psi in ``psi_half``.
    both = StateVector(problem.job.buffer, state.n_local, inplace=True)
    sharded = ShardedState(both, n, state.exchange, chunk=state.chunk)
    sharded.where = state.where
    halves = (slice(0, batch), slice(batch, 2 * batch))
    psi_rows, lam_rows = halves[psi_half], halves[1 - psi_half]
    # lambda = sum_o g_o H_o psi, with X/Y wires brought local first.
    sharded.bring_local(sharded._flip_wires(problem.observables))
    local_obs = [sharded._local_observable(o) for o in problem.observables]
    both.rows_view(lam_rows).load_observables(both.rows_view(psi_rows), local_obs, grad_out)
    dtype, dev = both.dtype, both.device
    built = parametrised_matrices(ops, values, range(len(ops)), dtype, dev)
    inverse = [ops[i].inverse() for i in range(len(ops) - 1, -1, -1)]
    items, _ = schedule(inverse, n, k, list(sharded.where))
    daggers, crosses = {}, {}
    for item in items:
        if isinstance(item, Swap):
            sharded.swap(item.pairs)
            continue
        i = len(ops) - 1 - item.index
        op = ops[i]
        r = resolve(item.physical, rank, k)
        matrix = built[i] if i in built else op_matrix(op, values[i], dtype, dev)
        dagger = adjoint_of(op.gate.kind, matrix)
        if r is not None:
            m = slice_phases(dagger, len(op.wires), r.fixed) if r.fixed else dagger
            if isinstance(m, torch.Tensor) and m.shape[0] > 1:
                m = torch.cat([m, m])
            apply_resolved(both, r, m)
        if any(needs[i]):
            daggers[i] = dagger
            crosses[i] = _cross(both.rows_view(lam_rows), both.rows_view(psi_rows), op, r)
    wanted = [i for i in range(len(ops)) if any(needs[i])]
    grads = [[None] * len(v) for v in values]
    if wanted:
        flat = torch.cat([torch.view_as_real(crosses[i]).reshape(-1) for i in wanted])
        flat = state.exchange.reduce_plain(flat)
        at = 0
        for i in wanted:
            size = crosses[i].numel() * 2
            crosses[i] = torch.view_as_complex(flat[at : at + size].reshape(*crosses[i].shape, 2).contiguous())
            at += size
        for i, per_op in _parameter_gradients(circuit, values, wanted, daggers, crosses, needs, dtype, dev).items():
            grads[i] = per_op
    return grads


def _cross(lam: StateVector, psi: StateVector, op, r) -> torch.Tensor:
    """This process's part of op's cross matrix ``(rows, d, d)`` (``(rows, d)`` diagonal)."""
    d = 2 ** len(op.wires)
    diagonal = op.gate.kind is g.Kind.DIAGONAL
    shape = (lam.rows, d) if diagonal else (lam.rows, d, d)
    if r is None:  # a global control excludes this process: no part here
        return torch.zeros(shape, dtype=lam.dtype, device=lam.device)
    loc = r.local
    if not r.fixed:
        return lam.cross_matrix(psi, loc.wires, loc.controls, loc.control_values, diagonal=diagonal)
    if loc.wires:
        part = lam.cross_matrix(psi, loc.wires, loc.controls, loc.control_values, diagonal=True)
    else:  # every target global: <lam|psi> over the control slice
        nl = lam.n_qubits
        index = [slice(None)] * (nl + 1)
        for c, v in zip(loc.controls, loc.control_values):
            index[c + 1] = v
        a = lam.tensor.view(lam.rows, *(2,) * nl)[tuple(index)]
        b = psi.tensor.view(psi.rows, *(2,) * nl)[tuple(index)]
        part = (a.conj() * b).reshape(lam.rows, -1).sum(-1, keepdim=True)
    out = torch.zeros((lam.rows,) + (2,) * len(op.wires), dtype=lam.dtype, device=lam.device)
    index = [slice(None)] * (len(op.wires) + 1)
    for j, b in r.fixed:
        index[j + 1] = b
    out[tuple(index)] = part.reshape((lam.rows,) + (2,) * len(loc.wires))
    return out.reshape(shape)
