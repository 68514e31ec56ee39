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
from .device import check_complex_dtype, real_dtype_of, resolve_device
from .execute import run
from .fuse import FusionConfig
from .memory import check_fits
from .operators import resolve_values
from .params import bind_parameters
from .state import State
from .statevector import StateVector, initial_amplitudes

__all__ = ["simulate", "prepare", "Job"]


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
) -> State:
    """Simulate ``circuit`` and return its :class:`State`.

    Args:
        circuit: the circuit to run.
        params: values for the circuit's symbolic parameters, by name (a mapping) or in
            the order of ``circuit.parameters`` (a sequence or a ``(P,)``/``(B, P)``
            tensor). Each value is a number, a 0-d tensor or a 1-d tensor of length B.
        initial_state: a basis-state index, or amplitudes ``(2**n,)`` / ``(B, 2**n)``;
            default |0...0>.
        dtype: ``torch.complex64`` (default) or ``torch.complex128``.
        device: ``"auto"`` (CUDA when present), ``"cpu"``, ``"cuda"`` or a device.
        seed: seeds mid-circuit measurement outcomes; same seed, same trajectories.
        fusion: ``True`` (default: fused blocks sized for the device), a
            :class:`~hybrid.sim.fuse.FusionConfig`, or ``False`` for the generic one-gate-
            at-a-time path (the reference the fused path is tested against).
        trajectories: run this many trajectories of every sample (mid-circuit
            measurements draw their outcomes independently in each); the state's
            ``probs``/``expval``/``counts`` then average over them. ``None``: one.
    """
    job = prepare(circuit, params, initial_state, dtype, device, fusion, trajectories=trajectories)
    state = job.state
    bits = torch.zeros((state.rows, circuit.n_clbits), dtype=torch.long, device=state.device)
    gen = torch.Generator().manual_seed(seed) if seed is not None else None
    run(circuit, job.values, state, config=job.config, bits=bits, generator=gen, initial_index=job.initial_index)
    return State(state, job.batched, bits)


@dataclass
class Job:
    """Everything a run needs, checked: resolved values, the initial state, the plan config."""

    values: list
    state: StateVector  # a fresh state the run may overwrite (in place unless autograd records it)
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
    batch, batched = _batch_size(circuit, bindings, initial_state)
    grad = torch.is_grad_enabled() and _any_requires_grad(circuit, bindings, initial_state)
    if extra_states is None:
        extra_states = len(circuit) if grad else 0
    check_fits(n, batch * per_sample, dtype, dev, stored_states=extra_states)
    values = resolve_values(circuit, bindings, real_dtype_of(dtype), dev)
    psi = initial_amplitudes(initial_state, n, batch * per_sample, dtype, dev, per_sample)
    state = StateVector(psi, n, inplace=not grad, trajectories=per_sample)
    if initial_state is None:
        index = 0
    elif isinstance(initial_state, int | np.integer) and not isinstance(initial_state, bool):
        index = int(initial_state)
    else:
        index = None  # amplitudes
    return Job(values, state, batched, _fusion_config(fusion, dev), index)


def _fusion_config(fusion: FusionConfig | bool, dev: torch.device) -> FusionConfig | None:
    if fusion is True:
        return FusionConfig.for_device(dev)
    if fusion is False:
        return None
    if not isinstance(fusion, FusionConfig):
        raise TypeError(f"fusion must be True, False or a FusionConfig; got {fusion!r}")
    return fusion


# --- pieces ---------------------------------------------------------------------------------


def _batch_size(circuit: Circuit, bindings: dict, initial_state) -> tuple[int, bool]:
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
    if isinstance(initial_state, torch.Tensor | np.ndarray) and initial_state.ndim == 2:
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
