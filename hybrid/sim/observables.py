"""Observables: real-weighted sums of Pauli words.

Build them in code with ``X(0) @ Z(1)``, ``0.5 * Z(0) + Z(1)``, ``-Y(2)``; the string form
``"0.5 Z0 Z1 + X2"`` is read only at the edges with :func:`parse_observable`.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

__all__ = ["Pauli", "PauliSum", "X", "Y", "Z", "I", "pauli_word", "parse_observable"]


class Pauli(enum.Enum):
    X = "X"
    Y = "Y"
    Z = "Z"


Word = tuple[tuple[int, Pauli], ...]  # sorted by wire, identities left out


@dataclass(frozen=True)
class PauliSum:
    """``sum_i coeff_i * word_i``; a word is a tuple of ``(wire, Pauli)``."""

    terms: tuple[tuple[float, Word], ...]

    @property
    def wires(self) -> tuple[int, ...]:
        return tuple(sorted({w for _, word in self.terms for w, _ in word}))

    def simplify(self) -> "PauliSum":
        merged: dict[Word, float] = {}
        for c, word in self.terms:
            merged[word] = merged.get(word, 0.0) + c
        return PauliSum(tuple((c, w) for w, c in merged.items() if c != 0.0))

    def __add__(self, other: "PauliSum | float") -> "PauliSum":
        if isinstance(other, int | float):
            other = float(other) * I()
        if not isinstance(other, PauliSum):
            return NotImplemented
        return PauliSum(self.terms + other.terms).simplify()

    __radd__ = __add__

    def __neg__(self) -> "PauliSum":
        return -1.0 * self

    def __sub__(self, other: "PauliSum | float") -> "PauliSum":
        return self + (-other)

    def __rsub__(self, other: float) -> "PauliSum":
        return (-self) + other

    def __mul__(self, k: float) -> "PauliSum":
        if isinstance(k, bool) or not isinstance(k, int | float):
            return NotImplemented
        return PauliSum(tuple((c * float(k), w) for c, w in self.terms))

    __rmul__ = __mul__

    def __matmul__(self, other: "PauliSum") -> "PauliSum":
        """Tensor product of observables on disjoint wires."""
        if not isinstance(other, PauliSum):
            return NotImplemented
        terms = []
        for c1, w1 in self.terms:
            for c2, w2 in other.terms:
                shared = {w for w, _ in w1} & {w for w, _ in w2}
                if shared:
                    raise ValueError(f"'@' joins Pauli words on different wires; both act on wire(s) {sorted(shared)}")
                terms.append((c1 * c2, tuple(sorted(w1 + w2, key=lambda t: t[0]))))
        return PauliSum(tuple(terms)).simplify()

    def __repr__(self) -> str:
        if not self.terms:
            return "0"
        parts = []
        for c, word in self.terms:
            ops = " ".join(f"{p.value}{w}" for w, p in word) or "I"
            parts.append(f"{c:g} {ops}")
        return " + ".join(parts)


def _single(pauli: Pauli, wire: int) -> PauliSum:
    if isinstance(wire, bool) or not isinstance(wire, int) or wire < 0:
        raise ValueError(f"a Pauli acts on a wire index >= 0; got {wire!r}")
    return PauliSum(((1.0, ((wire, pauli),)),))


def X(wire: int) -> PauliSum:  # noqa: N802 - physics names
    return _single(Pauli.X, wire)


def Y(wire: int) -> PauliSum:  # noqa: N802
    return _single(Pauli.Y, wire)


def Z(wire: int) -> PauliSum:  # noqa: N802
    return _single(Pauli.Z, wire)


def I() -> PauliSum:  # noqa: N802, E743
    """The identity (an empty Pauli word)."""
    return PauliSum(((1.0, ()),))


def pauli_word(letters: str, wires: list[int] | tuple[int, ...], coeff: float = 1.0) -> PauliSum:
    """``pauli_word("XZ", [0, 3])`` is X on wire 0 times Z on wire 3."""
    if len(letters) != len(wires):
        raise ValueError(f"{len(letters)} Pauli letter(s) but {len(wires)} wire(s)")
    out = coeff * I()
    for letter, wire in zip(letters.upper(), wires):
        if letter == "I":
            continue
        if letter not in "XYZ":
            raise ValueError(f"unknown Pauli letter {letter!r}; use I, X, Y or Z")
        out = out @ _single(Pauli(letter), wire)
    return out


_TOKEN = re.compile(r"\s*([+-]|\*|[IXYZ]\d+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|\S+)")
_NUMBER = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def parse_observable(text: str) -> PauliSum:
    """Read ``"0.5 Z0 Z1 - X2 + 1.5"`` (an edge helper: CLI, notebooks, quick use)."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("an observable string needs at least one term, e.g. 'Z0' or '0.5 Z0 Z1 + X2'")
    total = PauliSum(())
    sign, coeff, term, started = 1.0, None, I(), False
    for tok in _TOKEN.findall(text.strip()):
        if tok in ("+", "-"):
            if started:
                total = total + sign * (1.0 if coeff is None else coeff) * term
                sign, coeff, term, started = 1.0, None, I(), False
            sign *= -1.0 if tok == "-" else 1.0
        elif tok == "*":
            continue
        elif _NUMBER.fullmatch(tok) and coeff is None and term == I():
            coeff, started = float(tok), True
        elif re.fullmatch(r"[IXYZ]\d+", tok):
            if tok[0] != "I":
                term = term @ _single(Pauli(tok[0]), int(tok[1:]))
            started = True
        else:
            raise ValueError(
                f"cannot read {tok!r} in observable {text!r}; write terms like '0.5 Z0 Z1', '-X2' or '1.5'"
            )
    if not started:
        raise ValueError(f"observable {text!r} ends without a term")
    return total + sign * (1.0 if coeff is None else coeff) * term
