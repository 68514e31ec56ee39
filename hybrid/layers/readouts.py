"""Readouts: what a quantum layer outputs per sample.

* :class:`ExpZ` (``"z"``): ``<Z_i>`` for each wire (or the wires given);
* :class:`Paulis` (a list of observables): ``<H_k>`` for any real-weighted Pauli sums;
* :class:`Probs` (``"probs"``): the ``2**k`` basis-state probabilities of ``k`` wires.

A readout computes *raw* quantities first (the distinct Pauli words' expectation values,
or the probabilities), because that is what finite shots sample; :meth:`Readout.combine`
turns raw values into outputs. With ``shots``, :meth:`Readout.sample` draws seeded
estimates of the raw values from the exact distribution: each Pauli word from its own
``shots`` single-shot +-1 outcomes (a binomial draw), probabilities from ``shots``
multinomial outcomes.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass
from typing import Sequence

import torch

import hybrid.sim as sim
from hybrid.sim.observables import Pauli, PauliSum, Z, parse_observable

__all__ = ["Readout", "PauliReadout", "ExpZ", "Paulis", "Probs", "make_readout", "READOUTS", "MAX_PROJECTOR_WIRES"]

# Probabilities under adjoint/parameter-shift are expectation values of 2**k projectors of
# 2**k Z-words each; beyond this many wires that expansion costs more than it is worth.
MAX_PROJECTOR_WIRES = 6


class Readout:
    """Base class of the readouts."""

    name = "readout"

    def check(self, n_qubits: int) -> None:
        """Raise if the readout does not fit a circuit of ``n_qubits``."""

    def n_outputs(self, n_qubits: int) -> int:
        raise NotImplementedError

    def exact(self, circuit, params, initial_state, dtype, device, diff_method: str) -> torch.Tensor:
        """Raw values ``(B, m)``, differentiable by ``diff_method``."""
        raise NotImplementedError

    def sample(self, raw: torch.Tensor, shots: int, generator: torch.Generator | None) -> torch.Tensor:
        """Seeded finite-shot estimates of ``raw`` (no gradient)."""
        raise NotImplementedError

    def combine(self, raw: torch.Tensor, n_qubits: int) -> torch.Tensor:
        return raw


def _check_wires(wires: tuple[int, ...] | None, n_qubits: int, what: str) -> None:
    if wires is None:
        return
    bad = [w for w in wires if not 0 <= w < n_qubits]
    if bad or len(set(wires)) != len(wires) or not wires:
        raise ValueError(
            f"{what} readout wires must be distinct and in 0..{n_qubits - 1} for {n_qubits} qubit(s); got {list(wires)}"
        )


class PauliReadout(Readout):
    """Shared machinery: outputs are ``C^T <words> + constant`` over distinct Pauli words."""

    def observables(self, n_qubits: int) -> tuple[PauliSum, ...]:
        raise NotImplementedError

    def n_outputs(self, n_qubits: int) -> int:
        return len(self.observables(n_qubits))

    def exact(self, circuit, params, initial_state, dtype, device, diff_method):
        words, _, _ = _decompose(self.observables(circuit.n_qubits))
        return sim.expval(
            circuit, list(words), params, initial_state=initial_state, dtype=dtype, device=device,
            diff_method=diff_method,
        )  # fmt: skip

    def sample(self, raw, shots, generator):
        # A word's single-shot outcome is +1 with probability (1 + <P>) / 2.
        p_plus = ((1 + raw.detach().to("cpu", torch.float64)) / 2).clamp(0, 1)
        k = torch.binomial(torch.full_like(p_plus, float(shots)), p_plus, generator=generator)
        return (2 * k / shots - 1).to(device=raw.device, dtype=raw.dtype)

    def combine(self, raw, n_qubits):
        _, coeffs, const = _decompose(self.observables(n_qubits))
        if coeffs is None:  # every observable is one word with coefficient 1
            return raw
        c = torch.tensor(coeffs, dtype=raw.dtype, device=raw.device)  # (W, n_out)
        return raw @ c + torch.tensor(const, dtype=raw.dtype, device=raw.device)


@dataclass(frozen=True)
class ExpZ(PauliReadout):
    """``<Z_i>`` for every wire (``wires=None``) or for the wires given, in that order."""

    wires: tuple[int, ...] | None = None
    name = "z"

    def check(self, n_qubits):
        _check_wires(self.wires, n_qubits, "z")

    def observables(self, n_qubits):
        return tuple(Z(w) for w in (range(n_qubits) if self.wires is None else self.wires))


@dataclass(frozen=True)
class Paulis(PauliReadout):
    """``<H_k>`` for a tuple of observables (``PauliSum``; strings such as ``"0.5 Z0 Z1 + X2"``
    are parsed by :func:`make_readout`)."""

    terms: tuple[PauliSum, ...]
    name = "paulis"

    def check(self, n_qubits):
        for k, obs in enumerate(self.terms):
            if obs.wires and max(obs.wires) >= n_qubits:
                raise ValueError(
                    f"readout observable {k} ({obs!r}) acts on wire {max(obs.wires)} but the layer has "
                    f"{n_qubits} qubit(s) (wires 0..{n_qubits - 1}); raise n_qubits or fix the observable"
                )
            if all(not word for _, word in obs.terms):
                raise ValueError(
                    f"readout observable {k} ({obs!r}) is a constant (identity only): it carries no "
                    "information about the state; use a Pauli word such as Z(0)"
                )

    def observables(self, n_qubits):
        return self.terms


@dataclass(frozen=True)
class Probs(Readout):
    """Probabilities of the ``2**k`` basis states of ``wires`` (all wires by default);
    index read with ``wires[0]`` as the most significant bit."""

    wires: tuple[int, ...] | None = None
    name = "probs"

    def check(self, n_qubits):
        _check_wires(self.wires, n_qubits, "probs")

    def measured_wires(self, n_qubits: int) -> tuple[int, ...]:
        """The wires whose probabilities are output, in output bit order."""
        return tuple(range(n_qubits)) if self.wires is None else self.wires

    def n_outputs(self, n_qubits):
        return 2 ** len(self.measured_wires(n_qubits))

    def exact(self, circuit, params, initial_state, dtype, device, diff_method):
        wires = self.measured_wires(circuit.n_qubits)
        if diff_method == "backprop":
            state = sim.simulate(circuit, params, initial_state=initial_state, dtype=dtype, device=device)
            return state.probs(list(wires))
        if len(wires) > MAX_PROJECTOR_WIRES:
            raise ValueError(
                f"probs over {len(wires)} wires with diff_method={diff_method!r} would need {2 ** len(wires)} "
                f"projector observables; use diff_method='backprop' or at most {MAX_PROJECTOR_WIRES} wires"
            )
        return sim.expval(
            circuit, list(projectors(wires)), params, initial_state=initial_state, dtype=dtype, device=device,
            diff_method=diff_method,
        )  # fmt: skip

    def sample(self, raw, shots, generator):
        p = raw.detach().to("cpu", torch.float64).clamp_min(0)
        draws = torch.multinomial(p, shots, replacement=True, generator=generator)  # (B, shots)
        counts = torch.zeros_like(p).scatter_add_(1, draws, torch.ones_like(draws, dtype=p.dtype))
        return (counts / shots).to(device=raw.device, dtype=raw.dtype)


@functools.lru_cache(maxsize=64)
def projectors(wires: tuple[int, ...]) -> tuple[PauliSum, ...]:
    """``|b><b|`` on ``wires`` for every bitstring b, as sums of Z-words:
    ``prod_j (I + (-1)^{b_j} Z_j) / 2``."""
    k = len(wires)
    out = []
    for b in range(2**k):
        bits = [(b >> (k - 1 - j)) & 1 for j in range(k)]
        terms = []
        for subset in itertools.product((0, 1), repeat=k):
            sign = (-1) ** sum(s * bit for s, bit in zip(subset, bits))
            word = tuple((wires[j], Pauli.Z) for j in sorted(range(k), key=lambda j: wires[j]) if subset[j])
            terms.append((sign / 2**k, word))
        out.append(PauliSum(tuple(terms)))
    return tuple(out)


@functools.lru_cache(maxsize=64)
def _decompose(observables: tuple[PauliSum, ...]):
    """``(words, coeffs, const)``: the distinct non-identity words (as unit PauliSums), the
    ``(W, n_out)`` coefficient matrix and the constant terms; ``coeffs`` is ``None`` when
    the outputs are the words themselves."""
    index: dict = {}
    for obs in observables:
        for _, word in obs.terms:
            if word:
                index.setdefault(word, len(index))
    coeffs = [[0.0] * len(observables) for _ in index]
    const = [0.0] * len(observables)
    for k, obs in enumerate(observables):
        for c, word in obs.terms:
            if word:
                coeffs[index[word]][k] += c
            else:
                const[k] += c
    words = tuple(PauliSum(((1.0, w),)) for w in index)
    plain = len(index) == len(observables) and all(
        len(o.terms) == 1 and o.terms[0][0] == 1.0 and index[o.terms[0][1]] == k for k, o in enumerate(observables)
    )
    return words, (None if plain else coeffs), const


READOUTS = {"z": ExpZ, "probs": Probs}


def make_readout(readout: str | Readout | PauliSum | Sequence[PauliSum | str]) -> Readout:
    """``"z"``, ``"probs"``, a :class:`Readout`, one observable, or a list of observables."""
    if isinstance(readout, Readout):
        return readout
    if isinstance(readout, str):
        if readout not in READOUTS:
            raise ValueError(
                f"unknown readout {readout!r}; use one of {', '.join(map(repr, READOUTS))}, a Readout "
                "(ExpZ(wires), Probs(wires)) or a list of Pauli observables such as [Z(0) @ Z(1), 'X2']"
            )
        return READOUTS[readout]()
    if isinstance(readout, PauliSum):
        return Paulis((readout,))
    if isinstance(readout, Sequence) and readout:
        return Paulis(tuple(parse_observable(o) if isinstance(o, str) else _pauli(o) for o in readout))
    raise TypeError(
        f"readout must be 'z', 'probs', a Readout or a non-empty list of observables; got {readout!r}"
    )


def _pauli(o) -> PauliSum:
    if not isinstance(o, PauliSum):
        raise TypeError(f"readout observables are PauliSums (e.g. Z(0) @ Z(1)) or strings ('Z0 Z1'); got {o!r}")
    return o
