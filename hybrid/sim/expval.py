"""expval(circuit, observables, diff_method=...): expectation values with a chosen gradient."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import torch

from .circuit import Circuit
from .diff.adjoint import AdjointExpval
from .diff.problem import ExpvalProblem, flatten_values
from .diff.shift import ParameterShiftExpval
from .fuse import FusionConfig
from .observables import PauliSum, parse_observable
from .simulate import prepare, simulate
from .statevector import StateVector

__all__ = ["expval", "DIFF_METHODS"]

DIFF_METHODS = ("backprop", "adjoint", "parameter-shift")


def expval(
    circuit: Circuit,
    observables: PauliSum | str | Sequence[PauliSum | str],
    params: Mapping[str, object] | Sequence[object] | torch.Tensor | None = None,
    *,
    initial_state: torch.Tensor | np.ndarray | int | None = None,
    dtype: torch.dtype = torch.complex64,
    device: str | torch.device = "auto",
    diff_method: str = "backprop",
    fusion: FusionConfig | bool = True,
    noise=None,
    method: str = "auto",
    trajectories: int | None = None,
    seed: int | None = None,
    distributed: bool = False,
) -> torch.Tensor:
    """<psi|H|psi> for one observable or a list of them, differentiable.

    Returns ``(B, n_obs)`` for a list of observables on a batched run (``(n_obs,)``
    unbatched); a single observable drops that axis.

    ``diff_method``:
        ``"backprop"``: autograd through the engine (fast for small circuits, memory grows
        with the number of gates); ``"adjoint"``: the adjoint method (a few states of
        memory, one backward sweep for all observables); ``"parameter-shift"``: shifted
        forward runs, as on hardware (2 runs per parameter, 4 for controlled rotations).

    ``noise``/``method``/``trajectories``/``seed`` are :func:`~hybrid.simulate`'s; a noisy
    run is differentiated by ``"backprop"`` (exact with ``method="density_matrix"``,
    including gradients with respect to noise parameters).

    ``distributed=True`` spreads the state over the processes of a ``torchrun`` launch (see
    :func:`~hybrid.simulate`); the values and the gradients (``"backprop"`` or
    ``"adjoint"``) are the same on every process.
    """
    if diff_method not in DIFF_METHODS:
        raise ValueError(f"unknown diff_method {diff_method!r}; use one of {', '.join(DIFF_METHODS)}")
    single = isinstance(observables, PauliSum | str)
    obs = tuple(_observable(o) for o in ([observables] if single else observables))
    if not obs:
        raise ValueError("expval() needs at least one observable")
    if distributed:
        if noise is not None or method not in ("auto", "statevector") or trajectories is not None or seed is not None:
            raise ValueError("distributed=True runs noiseless statevectors (no noise, trajectories or seed)")
        from .sharded_run import expval_distributed

        out, batched = expval_distributed(circuit, obs, params, initial_state=initial_state, dtype=dtype, device=device,
                                          diff_method=diff_method, fusion=fusion)  # fmt: skip
        out = out if batched else out[0]
        return out[..., 0] if single else out
    if diff_method == "backprop":
        state = simulate(
            circuit, params, initial_state=initial_state, dtype=dtype, device=device, fusion=fusion,
            noise=noise, method=method, trajectories=trajectories, seed=seed,
        )  # fmt: skip
        sv = state.statevector
        out = sv.trajectory_mean(sv.expvals(obs))  # (B, n_obs)
        if not state.batched:
            out = out[0]
        return out[..., 0] if single else out
    if noise is not None or circuit.has_noise or method in ("density_matrix", "trajectories"):
        raise ValueError(
            f"diff_method={diff_method!r} runs noiseless statevectors only; a noisy circuit (channels or a "
            "noise model) is differentiated with diff_method='backprop' (method='density_matrix' is exact, "
            "noise parameters included)"
        )
    return _custom_gradient(circuit, obs, params, initial_state, dtype, device, diff_method, fusion, single)


def _custom_gradient(circuit, obs, params, initial_state, dtype, device, diff_method, fusion, single):
    if not circuit.is_unitary:
        raise ValueError(
            f"diff_method={diff_method!r} needs a circuit without mid-circuit measurements, resets or "
            "classically conditioned gates; use 'backprop'"
        )
    for op in circuit.ops:
        if any(t.requires_grad for t in op.tensors):
            raise ValueError(f"diff_method={diff_method!r} differentiates gate parameters, not matrices; use 'backprop'")
    job = prepare(circuit, params, initial_state, dtype, device, fusion, extra_states=1)
    shapes, flat = flatten_values(job.values)
    problem = ExpvalProblem(circuit, obs, shapes, job.config, job.initial_index)
    psi0, batched = job.state.tensor, job.batched
    del job  # the gradient methods lay out their own buffers around psi0
    if diff_method == "parameter-shift":
        out = ParameterShiftExpval.apply(problem, psi0, *flat)  # (B, n_obs)
    else:
        pair = None
        if not psi0.requires_grad:
            # Lay psi0 out as the first half of the sweep's two-state buffer: no extra copy.
            pair = StateVector.pair_buffer(psi0)
            psi0 = pair[: psi0.shape[0]]  # the original is released here
        out = AdjointExpval.apply(problem, psi0, pair, *flat)
    if not batched:
        out = out[0]
    return out[..., 0] if single else out


def _observable(o: PauliSum | str) -> PauliSum:
    if isinstance(o, str):
        return parse_observable(o)
    if not isinstance(o, PauliSum):
        raise TypeError(f"observables are PauliSums (e.g. Z(0) @ Z(1)) or strings; got {type(o).__name__}")
    return o
