"""Swap a circuit's Pauli noise for noise stim cannot represent, at the same strength.

Each Pauli channel of a circuit (stim's ``DEPOLARIZE1``, ``X_ERROR``...) has a twirled error
probability ``eps = 1 - p_I``. A named replacement puts, on each of its wires, a channel
whose own Pauli twirl has that error probability (``1 - (1 - eps_w)**k = eps`` on k wires):

* ``"amplitude_damping"``: ``amplitude_damping(gamma)``, twirl ``pX = pY = gamma/4``,
  ``pZ = ((1 - sqrt(1 - gamma))/2)**2``;
* ``"thermal"``: ``thermal_relaxation`` with T1 = T2 = 1 for the duration that gives eps;
* ``"coherent_overrotation"``: a coherent ``RX(theta)`` (a one-operator Kraus channel, so it
  stays marked as noise), ``sin(theta/2)**2 = eps``: the same twirl as ``X_ERROR(eps)``,
  but errors add up in amplitude over rounds instead of in probability.

The strength is matched in the twirled error probability because that is what a decoder
built from the twirl sees; the physics beyond the twirl is what the comparison measures.
"""

from __future__ import annotations

import functools
import math

import torch

from ..sim.channels import channel_by_name, channel_operators, pauli_twirl
from ..sim.channels import is_pauli_mixture as pauli_mixture_kraus
from ..sim.circuit import Circuit
from ..sim.instructions import Channel

__all__ = ["REPLACEMENTS", "with_noise", "replacement_strength", "is_pauli_mixture", "numeric_kraus"]

REPLACEMENTS = ("amplitude_damping", "thermal", "coherent_overrotation")
_MODES = ("replace", "add")


def with_noise(circuit: Circuit, noise, mode: str = "replace") -> Circuit:
    """``circuit`` with ``noise``: ``None`` (unchanged), a noise model (anything with
    ``apply(circuit)``; with ``mode="replace"`` the circuit's Pauli channels are dropped
    first), or a name of :data:`REPLACEMENTS`, put in place of (``"replace"``) or after
    (``"add"``) every Pauli channel."""
    if mode not in _MODES:
        raise ValueError(f"noise_mode must be one of {', '.join(_MODES)}; got {mode!r}")
    if noise is None:
        return circuit
    if isinstance(noise, str):
        if noise not in REPLACEMENTS:
            raise ValueError(f"unknown noise {noise!r}; use a NoiseModel or one of {', '.join(REPLACEMENTS)}")
        return _replaced(circuit, noise, keep=mode == "add")
    if not callable(getattr(noise, "apply", None)):
        raise TypeError(f"noise must be None, a name ({', '.join(REPLACEMENTS)}) or a noise model; got {noise!r}")
    base = _replaced(circuit, None, keep=False) if mode == "replace" else circuit
    return noise.apply(base)


def is_pauli_mixture(op: Channel) -> bool:
    """Whether a channel instruction is a mixture of Pauli words (stim's kind of noise)."""
    return op.kind.mixture is not None or pauli_mixture_kraus(numeric_kraus(op))


def numeric_kraus(op: Channel) -> torch.Tensor:
    """A channel instruction's Kraus operators ``(K, d, d)`` in complex128 (numeric
    parameters only: symbols and batches are refused)."""
    try:
        values = [torch.as_tensor(p, dtype=torch.float64).reshape(1) for p in op.params]
    except (TypeError, RuntimeError, ValueError):
        raise ValueError(f"{op.name}: needs numeric parameters here (not symbols or batches); bind them first") from None
    return channel_operators(op.kind, values, op.data, torch.complex128, torch.device("cpu")).kraus[0]


def _replaced(circuit: Circuit, name: str | None, keep: bool) -> Circuit:
    out = Circuit(circuit.n_qubits, circuit.n_clbits)
    out.annotations = circuit.annotations
    for op in circuit.ops:
        pauli = isinstance(op, Channel) and is_pauli_mixture(op)
        if not pauli or keep:
            out.append(op)
        if pauli and name is not None:
            eps = 1 - float(pauli_twirl(numeric_kraus(op))[0])
            per_wire = 1 - (1 - eps) ** (1 / len(op.wires))
            for w in op.wires:
                _append(out, name, replacement_strength(name, round(per_wire, 15)), w)
    return out


def _append(circuit: Circuit, name: str, x: float, wire: int) -> None:
    if name == "amplitude_damping":
        circuit.amplitude_damping(x, wire)
    elif name == "thermal":
        circuit.thermal_relaxation(1.0, 1.0, x, wire)
    else:
        c, s = math.cos(x / 2), math.sin(x / 2)
        circuit.kraus([[[c, -1j * s], [-1j * s, c]]], wire)


def _twirled_error(name: str, x: float) -> float:
    if name == "coherent_overrotation":
        return math.sin(x / 2) ** 2
    kind = channel_by_name("amplitude_damping" if name == "amplitude_damping" else "thermal_relaxation")
    params = [x] if name == "amplitude_damping" else [1.0, 1.0, x, 0.0]
    values = [torch.tensor([v], dtype=torch.float64) for v in params]
    kraus = channel_operators(kind, values, None, torch.complex128, torch.device("cpu")).kraus[0]
    return 1 - float(pauli_twirl(kraus)[0])


@functools.lru_cache(maxsize=4096)
def replacement_strength(name: str, eps: float) -> float:
    """The parameter (gamma, duration in T1, or angle) of the ``name`` replacement whose
    twirled error probability is ``eps`` (bisection: the error grows with the parameter)."""
    hi = {"amplitude_damping": 1.0, "thermal": 50.0, "coherent_overrotation": math.pi}[name]
    top = _twirled_error(name, hi)
    if eps > top + 1e-12:
        raise ValueError(f"{name} reaches a twirled error probability of at most {top:.3g}; got {eps:.3g}")
    lo = 0.0
    for _ in range(100):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if _twirled_error(name, mid) < eps else (lo, mid)
    return (lo + hi) / 2
