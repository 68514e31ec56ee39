"""simulate(circuit) -> State: check the inputs, lay out the state, run the plan.

Mid-circuit measurement semantics: each row of the state follows its own trajectory.
A measurement draws its outcome from the row's current state (seeded), collapses and
renormalises it, and records the bit; ``reset`` then flips the wire back to |0> if it
read 1. A conditioned gate acts only in the rows whose recorded bits match.
``trajectories=T`` runs T such trajectories for every sample of the batch (the rows are
then batch x trajectories); the :class:`State` averages its readouts over them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import torch

from .._checks import positive_int
from .circuit import Circuit
from .density import DensityMatrix, check_density_fits
from .instructions import Channel
from .device import check_complex_dtype, real_dtype_of, resolve_device
from .execute import run
from .fuse import FusionConfig
from .memory import check_fits
from .operators import resolve_values
from .params import bind_parameters
from .state import State
from .statevector import StateVector, initial_amplitudes

__all__ = ["simulate", "prepare", "Job", "choose_method", "METHODS", "initial_density"]


def simulate(
    circuit: Circuit,
    params: Mapping[str, object] | Sequence[object] | torch.Tensor | None = None,
    *,
    initial_state: torch.Tensor | np.ndarray | int | None = None,
    dtype: torch.dtype = torch.complex64,
    device: str | torch.device = "auto",
    seed: int | None = None,
    fusion: FusionConfig | bool = True,
    trajectories: int | None = None,
    noise=None,
    method: str = "auto",
    distributed: bool = False,
) -> State:
    """Simulate ``circuit`` and return its :class:`State`.

    Args:
        circuit: the circuit to run.
        params: values for the circuit's symbolic parameters, by name (a mapping) or in
            the order of ``circuit.parameters`` (a sequence or a ``(P,)``/``(B, P)``
            tensor). Each value is a number, a 0-d tensor or a 1-d tensor of length B.
        initial_state: a basis-state index, or amplitudes ``(2**n,)`` / ``(B, 2**n)``, or
            (density-matrix method) a density matrix ``(2**n, 2**n)`` / ``(B, 2**n, 2**n)``;
            default |0...0>.
        dtype: ``torch.complex64`` (default) or ``torch.complex128``.
        device: ``"auto"`` (CUDA when present), ``"cpu"``, ``"cuda"`` or a device.
        seed: seeds mid-circuit measurement outcomes; same seed, same trajectories.
        fusion: ``True`` (default: fused blocks sized for the device), a
            :class:`~hybrid.sim.fuse.FusionConfig`, or ``False`` for the generic one-gate-
            at-a-time path (the reference the fused path is tested against).
        trajectories: run this many trajectories of every sample (mid-circuit
            measurements draw their outcomes independently in each, and so does noise);
            the state's ``probs``/``expval``/``counts`` then average over them.
        noise: a :class:`hybrid.noise.NoiseModel` whose channels are inserted after the
            gates it names; its readout errors flip the bits of mid-circuit measurements
            and of ``sample``/``counts`` (never the state).
        method: ``"statevector"`` (noiseless circuits), ``"density_matrix"`` (exact rho,
            16 * 4**n bytes per sample in complex128, autograd through everything),
            ``"trajectories"`` (Monte-Carlo statevectors, ``trajectories`` of them,
            default 1000) or ``"auto"``: the statevector when there is no noise; with
            noise the density matrix when it fits and ``2**n`` is at most the number of
            trajectories asked for (default 1000; Aer's rule with shots), else
            trajectories. ``State.method`` says which ran.
        distributed: spread the statevector over the processes of a ``torchrun`` launch
            (a power-of-two number of them; the process group is joined from the
            environment if needed). Every process calls ``simulate`` alike and gets a
            :class:`~hybrid.sim.sharded_run.DistributedState` whose readouts are global;
            unitary circuits only (no measurements, conditions or noise).
    """
    if distributed:
        if noise is not None or trajectories is not None or method not in ("auto", "statevector") or seed is not None:
            raise ValueError("distributed=True runs noiseless statevectors: noise, trajectories, seed and "
                             "method other than 'statevector' are not supported with it")  # fmt: skip
        from .sharded_run import simulate_distributed

        return simulate_distributed(circuit, params, initial_state=initial_state, dtype=dtype, device=device,
                                    fusion=fusion)  # fmt: skip
    readout = None
    if noise is not None:
        circuit, readout = noise.apply(circuit), noise.readout_errors(circuit.n_qubits)
    method, trajectories = choose_method(circuit, method, trajectories)
    job = prepare(circuit, params, initial_state, dtype, device, fusion, trajectories=trajectories, method=method)
    state = job.state
    bits = torch.zeros((state.rows, circuit.n_clbits), dtype=torch.long, device=state.device)
    gen = torch.Generator().manual_seed(seed) if seed is not None else None
    run(circuit, job.values, state, config=job.config, bits=bits, generator=gen, initial_index=job.initial_index,
        readout=readout)  # fmt: skip
    return State(state, job.batched, bits, method=method, readout=readout)


METHODS = ("auto", "statevector", "density_matrix", "trajectories")
DEFAULT_TRAJECTORIES = 1000
_AUTO_DENSITY_MAX_QUBITS = 14  # 4 GiB per complex128 density matrix


def choose_method(circuit: Circuit, method: str, trajectories: int | None) -> tuple[str, int | None]:
    """The method a run uses and its trajectories per sample (see :func:`simulate`)."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; use one of {', '.join(METHODS)}")
    if trajectories is not None:
        trajectories = positive_int(trajectories, "trajectories")
    n = circuit.n_qubits
    if method == "auto":
        if not circuit.has_noise:
            return "statevector", trajectories
        wanted = trajectories or DEFAULT_TRAJECTORIES
        small = n <= _AUTO_DENSITY_MAX_QUBITS and 2**n <= wanted
        method = "density_matrix" if small else "trajectories"
    if method == "statevector" and circuit.has_noise:
        kinds = sorted({op.name for op in circuit.ops if isinstance(op, Channel)})
        raise ValueError(
            f"the circuit holds noise channels ({', '.join(kinds)}), which a single statevector cannot "
            "represent; use method='density_matrix' (exact), 'trajectories' (Monte Carlo) or 'auto'"
        )
    if method == "trajectories" and trajectories is None:
        trajectories = DEFAULT_TRAJECTORIES
    if method == "density_matrix" and trajectories is not None and not circuit.has_measurements:
        trajectories = None  # nothing is sampled: one exact matrix per sample
    return method, trajectories


@dataclass
class Job:
    """Everything a run needs, checked: resolved values, the initial state, the plan config."""

    values: list
    state: StateVector | DensityMatrix  # a fresh state the run may overwrite (in place unless autograd records it)
    batched: bool
    config: FusionConfig | None
    initial_index: int | None  # the run starts from this basis state (None: given amplitudes)


def prepare(
    circuit,
    params,
    initial_state,
    dtype,
    device,
    fusion,
    *,
    extra_states: int | None = None,
    trajectories: int | None = None,
    method: str = "statevector",
) -> Job:
    """Check the inputs, refuse what will not fit in memory, and lay out the run.

    ``extra_states``: full states the caller keeps alive besides the run's own; ``None``
    means autograd decides (one state per gate when it records the run).
    """
    if not isinstance(circuit, Circuit):
        raise TypeError(f"expected a hybrid Circuit; got {type(circuit).__name__}")
    dtype = check_complex_dtype(dtype)
    dev = resolve_device(device)
    n = circuit.n_qubits
    per_sample = 1 if trajectories is None else positive_int(trajectories, "trajectories")
    bindings = bind_parameters(circuit.parameters, params)
    batch, batched = _batch_size(circuit, bindings, initial_state, method == "density_matrix")
    grad = torch.is_grad_enabled() and _any_requires_grad(circuit, bindings, initial_state)
    if extra_states is None:
        extra_states = len(circuit) if grad else 0
    rows = batch * per_sample
    if method == "density_matrix":
        check_density_fits(n, rows, dtype, dev, stored=extra_states)
    else:
        check_fits(n, rows, dtype, dev, stored_states=extra_states)
    values = resolve_values(circuit, bindings, real_dtype_of(dtype), dev)
    if method == "density_matrix":
        state = initial_density(initial_state, n, rows, dtype, dev, per_sample, inplace=not grad)
    else:
        psi = initial_amplitudes(initial_state, n, rows, dtype, dev, per_sample)
        state = StateVector(psi, n, inplace=not grad, trajectories=per_sample)
    if initial_state is None:
        index = 0
    elif isinstance(initial_state, int | np.integer) and not isinstance(initial_state, bool):
        index = int(initial_state)
    else:
        index = None  # amplitudes
    return Job(values, state, batched, _fusion_config(fusion, dev), index)


def initial_density(init, n: int, rows: int, dtype, dev, per_sample: int, *, inplace: bool) -> DensityMatrix:
    """A fresh density-matrix state from a basis index, amplitudes, or a density matrix
    ``(2**n, 2**n)`` / ``(B, 2**n, 2**n)`` (checked: Hermitian, trace 1)."""
    d = 2**n
    square = isinstance(init, torch.Tensor | np.ndarray) and init.ndim >= 2 and init.shape[-2:] == (d, d)
    if not square:
        psi = initial_amplitudes(init, n, rows, dtype, dev, per_sample)
        return DensityMatrix.from_vectors(psi, n, inplace=inplace, trajectories=per_sample)
    rho = (init if isinstance(init, torch.Tensor) else torch.as_tensor(np.asarray(init))).to(device=dev, dtype=dtype)
    rho = rho.reshape(-1, d, d)
    tol = 1e-8 if dtype == torch.complex128 else 1e-4
    with torch.no_grad():
        trace_err = (rho.diagonal(dim1=1, dim2=2).sum(-1) - 1).abs().max().item()
        herm_err = (rho - rho.conj().transpose(1, 2)).abs().max().item()
    if trace_err > tol or herm_err > tol:
        raise ValueError(
            f"an initial density matrix must be Hermitian with trace 1; trace is off by {trace_err:.2e}, "
            f"Hermiticity by {herm_err:.2e}"
        )
    if rho.shape[0] > 1 and per_sample > 1:
        rho = rho.repeat_interleave(per_sample, dim=0)
    return DensityMatrix.from_matrices(rho.expand(rows, d, d), n, inplace=inplace, trajectories=per_sample)


def _fusion_config(fusion: FusionConfig | bool, dev: torch.device) -> FusionConfig | None:
    if fusion is True:
        return FusionConfig.for_device(dev)
    if fusion is False:
        return None
    if not isinstance(fusion, FusionConfig):
        raise TypeError(f"fusion must be True, False or a FusionConfig; got {fusion!r}")
    return fusion


# --- pieces ---------------------------------------------------------------------------------


def _batch_size(circuit: Circuit, bindings: dict, initial_state, density: bool = False) -> tuple[int, bool]:
    """The batch size every batched input agrees on; ``(1, False)`` when nothing is batched."""
    sizes: dict[str, int] = {}
    for name, value in bindings.items():
        if isinstance(value, torch.Tensor) and value.dim() == 1:
            sizes[f"parameter {name!r}"] = value.shape[0]
    for k, op in enumerate(circuit.ops):
        for p in op.params:
            if isinstance(p, torch.Tensor) and p.dim() == 1:
                sizes[f"op {k} ({op.name}) parameter"] = p.shape[0]
        if op.batch_size is not None:
            sizes[f"op {k} ({op.name}) matrix"] = op.batch_size
    if isinstance(initial_state, torch.Tensor | np.ndarray) and initial_state.ndim in (2, 3):
        matrix = density and initial_state.shape[-1] == initial_state.shape[-2] == 2**circuit.n_qubits
        if initial_state.ndim == 3 or not matrix:  # (B, 2**n) amplitudes or (B, d, d) density matrices
            sizes["initial_state"] = initial_state.shape[0]
    if 0 in sizes.values():
        raise ValueError("a batched input has length 0; the batch size must be at least 1")
    distinct = set(sizes.values()) - {1}  # length-1 inputs broadcast, as in numpy/torch
    if len(distinct) > 1:
        detail = ", ".join(f"{k} has batch {v}" for k, v in sizes.items())
        raise ValueError(f"batch-size mismatch: {detail}; every batched input must have the same length (or 1)")
    if not sizes:
        return 1, False
    return (distinct.pop() if distinct else 1), True


def _any_requires_grad(circuit: Circuit, bindings: dict, initial_state) -> bool:
    values = list(bindings.values()) + [initial_state]
    for op in circuit.ops:
        values.extend(op.params)
        values.extend(op.tensors)
    return any(isinstance(v, torch.Tensor) and v.requires_grad for v in values)
