"""Noise channels: what each one is (data) and its Kraus operators (pure functions).

Meanings and parameter conventions are PennyLane's, so its channels map one to one;
the traps when reading other tools' numbers are noted per channel (see DESIGN.md, "Noise
conventions"). Every builder is batched like the gate builders: each parameter arrives as
a real tensor of shape ``(Bp,)`` and the operators come back as ``(Bp, K, d, d)``, built
from differentiable torch operations so gradients reach the noise parameters.

A channel whose Kraus operators are ``sqrt(p_k) U_k`` for fixed unitaries ``U_k`` (every
Pauli channel) is a *unitary mixture*: it also gives ``probabilities`` ``(Bp, K)`` and
``unitaries`` ``(K, d, d)``, which lets a trajectory pick its ``U_k`` without looking at
the state (as qsim does). Any other channel is sampled from the state's own weights
``||K_k psi||^2``.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass
from typing import Callable

import torch

__all__ = ["ChannelKind", "ChannelOperators", "channel_operators", "pauli_twirl", "all_pauli_words", "is_pauli_mixture", "CHANNELS", "channel_by_name", "check_values", "pauli_matrices", "safe_sqrt", "check_kraus"]


def safe_sqrt(x: torch.Tensor) -> torch.Tensor:
    """sqrt with a zero (not infinite) gradient at 0, so a channel at p = 0 differentiates."""
    positive = x > 0
    return torch.where(positive, torch.where(positive, x, torch.ones_like(x)).sqrt(), torch.zeros_like(x))


_PAULI = {
    "I": ((1, 0), (0, 1)),
    "X": ((0, 1), (1, 0)),
    "Y": ((0, -1j), (1j, 0)),
    "Z": ((1, 0), (0, -1)),
}


@functools.lru_cache(maxsize=None)
def _pauli_word(word: str) -> tuple:
    m = torch.ones((1, 1), dtype=torch.complex128)
    for letter in word:
        m = torch.kron(m, torch.tensor(_PAULI[letter], dtype=torch.complex128))
    return tuple(map(tuple, m.tolist()))


def pauli_matrices(words: tuple[str, ...], dtype: torch.dtype) -> torch.Tensor:
    """``(K, d, d)``: the Pauli words' matrices (first letter on the first wire)."""
    return torch.tensor([_pauli_word(w) for w in words], dtype=dtype)


def all_pauli_words(k: int) -> tuple[str, ...]:
    """The ``4**k`` Pauli words on k wires, ``I...I`` first (stim's order: II, IX, ..., ZZ)."""
    return tuple("".join(w) for w in itertools.product("IXYZ", repeat=k))


def _pauli_overlaps(kraus: torch.Tensor) -> torch.Tensor:
    """``|Tr(P K_k)|^2 / d^2`` for each Kraus operator and Pauli word, ``(..., K, d*d)``."""
    d = kraus.shape[-1]
    words = pauli_matrices(all_pauli_words(d.bit_length() - 1), kraus.dtype).to(kraus.device)
    return torch.einsum("...kij,pji->...kp", kraus, words).abs() ** 2 / d**2


def pauli_twirl(kraus: torch.Tensor) -> torch.Tensor:
    """The Pauli twirl of a channel with Kraus operators ``(..., K, d, d)``: the
    probability ``p_P = sum_k |Tr(P K_k)|^2 / d^2`` of each word of :func:`all_pauli_words`,
    ``(..., d*d)``. ``1 - p_I`` is the channel's twirled error probability (p for
    ``depolarizing(p)``)."""
    return _pauli_overlaps(kraus).sum(-2)


def is_pauli_mixture(kraus: torch.Tensor, atol: float = 1e-12) -> bool:
    """Whether every Kraus operator ``(K, d, d)`` is a multiple of one Pauli word (then the
    channel equals its own twirl): its squared norm ``||K||^2 / d`` all on one word."""
    norms = (kraus.abs() ** 2).sum((-1, -2)) / kraus.shape[-1]
    return bool(torch.all((_pauli_overlaps(kraus).max(dim=-1).values - norms).abs() < atol))


@dataclass(frozen=True, eq=False)
class ChannelKind:
    """A channel type.

    Attributes:
        name: lower-case name, as the circuit builder method.
        n_wires: wires it acts on (``None``: from its data, as for ``kraus``).
        param_names: names of its real parameters, in order.
        kraus: ``kraus(values, data, dtype) -> (Bp, K, d, d)``; ``None`` for a mixture
            (:func:`channel_operators` builds ``sqrt(p_k) U_k`` from it).
        mixture: ``mixture(values, data) -> ((Bp, K) probabilities, Pauli words)`` when
            the channel is a unitary mixture of Pauli words, else ``None``.
        check: ``check(values) -> message or None``, on resolved ``(Bp,)`` values.
    """

    name: str
    n_wires: int | None
    param_names: tuple[str, ...]
    kraus: Callable | None
    mixture: Callable | None = None
    check: Callable | None = None

    @property
    def n_params(self) -> int:
        return len(self.param_names)

    def __repr__(self) -> str:
        return f"ChannelKind({self.name})"


def _probability(*names: str, total: str | None = None):
    """A check that every named value is a probability (and, with ``total``, that their
    sum is at most 1)."""

    def check(values):
        for name, v in zip(names, values):
            if bool(((v < 0) | (v > 1)).any()):
                return f"{name} must be a probability in [0, 1]; got {_show(v)}"
        if total is not None and bool((sum(values) > 1 + 1e-12).any()):
            return f"{total} must sum to at most 1; got {_show(sum(values))}"
        return None

    return check


def _show(v: torch.Tensor):
    v = v.detach().cpu()
    return v.item() if v.numel() == 1 else v.tolist()


# --- Pauli mixtures -------------------------------------------------------------------------


def _depolarizing(values, data):
    (p,) = values
    return torch.stack([1 - p, p / 3, p / 3, p / 3], dim=-1), ("I", "X", "Y", "Z")


def _two_qubit_depolarizing(values, data):
    (p,) = values
    rest = (p / 15).unsqueeze(-1).expand(*p.shape, 15)
    return torch.cat([(1 - p).unsqueeze(-1), rest], dim=-1), all_pauli_words(2)


def _flip(letter: str):
    def mixture(values, data):
        (p,) = values
        return torch.stack([1 - p, p], dim=-1), ("I", letter)

    return mixture


def _pauli_channel(values, data):
    px, py, pz = values
    return torch.stack([1 - px - py - pz, px, py, pz], dim=-1), ("I", "X", "Y", "Z")


def _pauli_error(values, data):
    (p,) = values
    return torch.stack([1 - p, p], dim=-1), ("I" * len(data), data)


# --- general Kraus channels ------------------------------------------------------------------


def _matrices(entries, dtype) -> torch.Tensor:
    """``(Bp, K, 2, 2)`` from K nested 2x2 lists of ``(Bp,)`` tensors or numbers."""
    ref = next(e for m in entries for row in m for e in row if isinstance(e, torch.Tensor))
    zero = torch.zeros_like(ref)
    as_t = lambda e: e if isinstance(e, torch.Tensor) else zero + e  # noqa: E731
    rows = [torch.stack([torch.stack([as_t(e) for e in row], -1) for row in m], -2) for m in entries]
    return torch.stack(rows, dim=-3).to(dtype)


def _amplitude_damping(values, data, dtype):
    (gamma,) = values
    return _matrices([[[1, 0], [0, safe_sqrt(1 - gamma)]], [[0, safe_sqrt(gamma)], [0, 0]]], dtype)


def _generalized_amplitude_damping(values, data, dtype):
    gamma, p = values
    a, b = safe_sqrt(1 - p), safe_sqrt(p)  # decay towards |0> w.p. 1-p, towards |1> w.p. p
    keep, jump = safe_sqrt(1 - gamma), safe_sqrt(gamma)
    return _matrices(
        [[[a, 0], [0, a * keep]], [[0, a * jump], [0, 0]], [[b * keep, 0], [0, b]], [[0, 0], [b * jump, 0]]], dtype
    )


def _phase_damping(values, data, dtype):
    (gamma,) = values
    return _matrices([[[1, 0], [0, safe_sqrt(1 - gamma)]], [[0, 0], [0, safe_sqrt(gamma)]]], dtype)


def _reset_error(values, data, dtype):
    p0, p1 = values
    keep, r0, r1 = safe_sqrt(1 - p0 - p1), safe_sqrt(p0), safe_sqrt(p1)
    return _matrices(
        [[[keep, 0], [0, keep]], [[r0, 0], [0, 0]], [[0, r0], [0, 0]], [[0, 0], [r1, 0]], [[0, 0], [0, r1]]], dtype
    )


def _thermal_relaxation(values, data, dtype):
    """Relaxation towards the thermal state with excited population ``pe`` for ``time``.

    Its Choi matrix has a 2x2 block ``[[a, e], [e, d]]`` on the populations' diagonal
    (``a = 1 - pe r``, ``d = 1 - (1 - pe) r``, ``e = exp(-time/T2)``, ``r = 1 -
    exp(-time/T1)``) and the jump weights ``pe r`` (0 -> 1) and ``(1 - pe) r`` (1 -> 0).
    A Cholesky factor of the block gives two diagonal Kraus operators, valid in both
    regimes (T2 <= T1 and T1 < T2 <= 2 T1): it exists exactly when ``e**2 <= a d``.
    """
    t1, t2, time, pe = values
    r = 1 - torch.exp(-time / t1)
    e = torch.exp(-time / t2)
    a = (1 - pe * r).clamp_min(torch.finfo(r.dtype).tiny)
    d = 1 - (1 - pe) * r
    sa = a.sqrt()
    return _matrices(
        [
            [[sa, 0], [0, e / sa]],
            [[0, 0], [0, safe_sqrt(d - e * e / a)]],
            [[0, safe_sqrt((1 - pe) * r)], [0, 0]],
            [[0, 0], [safe_sqrt(pe * r), 0]],
        ],
        dtype,
    )


def _thermal_check(values):
    t1, t2, time, pe = values
    if bool((t1 <= 0).any()) or bool((t2 <= 0).any()):
        return f"T1 and T2 must be positive; got T1={_show(t1)}, T2={_show(t2)}"
    if bool((t2 > 2 * t1 * (1 + 1e-12)).any()):
        return f"T2 must be at most 2*T1 (a physical qubit cannot dephase slower than that); got T1={_show(t1)}, T2={_show(t2)}"
    if bool((time < 0).any()):
        return f"the duration must be non-negative; got {_show(time)}"
    return _probability("excited_population")([pe])


def _kraus_data(values, data, dtype):
    m = data.to(dtype)
    return m if m.dim() == 4 else m.unsqueeze(0)


def check_kraus(matrices: torch.Tensor, atol: float | None = None) -> None:
    """Raise unless ``matrices`` ``(K, d, d)`` or ``(B, K, d, d)`` are a trace-preserving
    Kraus set: ``sum_k K_k^dagger K_k = I``."""
    if matrices.dim() not in (3, 4) or matrices.shape[-1] != matrices.shape[-2]:
        raise ValueError(f"Kraus operators must be a (K, d, d) or (B, K, d, d) array; got shape {tuple(matrices.shape)}")
    d = matrices.shape[-1]
    if d & (d - 1) or d < 2:
        raise ValueError(f"Kraus operators must be 2**k x 2**k for k wires; got {d} x {d}")
    m = matrices.detach().to(torch.complex128)
    total = torch.einsum("...kji,...kjl->...il", m.conj(), m)
    if atol is None:
        atol = 1e-10 if matrices.dtype in (torch.complex128, torch.float64) else 1e-5
    err = (total - torch.eye(d, dtype=total.dtype)).abs().max().item()
    if err > atol:
        raise ValueError(
            f"Kraus operators are not trace preserving: sum_k K_k^dagger K_k differs from the identity by {err:.2e} "
            f"(tolerance {atol:g}); a channel's operators must satisfy sum_k K_k^dagger K_k = I"
        )


def _channel(name, n_wires, params, *, kraus=None, mixture=None, check=None) -> ChannelKind:
    return ChannelKind(name, n_wires, params, kraus, mixture, check)


CHANNELS: dict[str, ChannelKind] = {
    c.name: c
    for c in (
        _channel("depolarizing", 1, ("p",), mixture=_depolarizing, check=_probability("p")),
        _channel("two_qubit_depolarizing", 2, ("p",), mixture=_two_qubit_depolarizing, check=_probability("p")),
        _channel("bit_flip", 1, ("p",), mixture=_flip("X"), check=_probability("p")),
        _channel("phase_flip", 1, ("p",), mixture=_flip("Z"), check=_probability("p")),
        _channel("pauli_channel", 1, ("px", "py", "pz"), mixture=_pauli_channel,
                 check=_probability("px", "py", "pz", total="px + py + pz")),  # fmt: skip
        _channel("pauli_error", None, ("p",), mixture=_pauli_error, check=_probability("p")),
        _channel("amplitude_damping", 1, ("gamma",), kraus=_amplitude_damping, check=_probability("gamma")),
        _channel("generalized_amplitude_damping", 1, ("gamma", "p"), kraus=_generalized_amplitude_damping,
                 check=_probability("gamma", "p")),  # fmt: skip
        _channel("phase_damping", 1, ("gamma",), kraus=_phase_damping, check=_probability("gamma")),
        _channel("thermal_relaxation", 1, ("t1", "t2", "time", "excited_population"), kraus=_thermal_relaxation,
                 check=_thermal_check),  # fmt: skip
        _channel("reset_error", 1, ("p0", "p1"), kraus=_reset_error, check=_probability("p0", "p1", total="p0 + p1")),
        _channel("kraus", None, (), kraus=_kraus_data),
    )
}


def channel_by_name(name: str) -> ChannelKind:
    try:
        return CHANNELS[name.lower()]
    except KeyError:
        raise ValueError(f"unknown channel {name!r}; known: {', '.join(sorted(CHANNELS))}") from None


@dataclass(frozen=True)
class ChannelOperators:
    """One channel's operators for a run.

    ``kraus`` ``(Bm, K, d, d)``; for a unitary mixture also ``probabilities`` ``(Bm, K)``
    and ``unitaries`` ``(K, d, d)``, whose first entry is the identity.
    """

    kraus: torch.Tensor
    probabilities: torch.Tensor | None = None
    unitaries: torch.Tensor | None = None


def channel_operators(kind: ChannelKind, values: list[torch.Tensor], data, dtype, device) -> ChannelOperators:
    """Build ``kind``'s operators from resolved values (each ``(1,)`` or ``(B,)``); a
    mixture's Kraus operators are ``sqrt(p_k) U_k`` of its own probabilities and words."""
    values = list(torch.broadcast_tensors(*values)) if values else []
    if kind.mixture is None:
        return ChannelOperators(kind.kraus(values, data, dtype).to(device))
    probs, words = kind.mixture(values, data)
    unitaries = pauli_matrices(words, dtype).to(device)
    kraus = safe_sqrt(probs).to(dtype=dtype, device=device)[:, :, None, None] * unitaries
    return ChannelOperators(kraus, probs.clamp_min(0), unitaries)


def check_values(kind: ChannelKind, values: list[torch.Tensor]) -> None:
    """Raise a clear error when resolved values do not fit the channel."""
    if kind.check is None:
        return
    with torch.no_grad():
        message = kind.check([v.detach() for v in values])
    if message:
        raise ValueError(f"{kind.name}: {message}")

