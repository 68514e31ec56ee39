"""Shor-style factoring: quantum order finding plus classical post-processing.

Order finding estimates the phase s/r of the operator U_a: |x> -> |a x mod N> on the
state |1> (an equal mix of its eigenstates). Both methods here recycle one control qubit
through the semiclassical inverse QFT (Griffiths & Niu, arXiv:quant-ph/9511007; as in
Beauregard, arXiv:quant-ph/0205095): round r applies H, the controlled U_a**(2**(t-1-r)),
phase corrections conditioned on the bits already measured, H, then measures the control
into classical bit r (bit r of the outcome y, weight 2**r) and resets it. y / 2**t
approximates s/r; continued fractions read r off it.

Two ways to build the controlled U_a**(2**j), from (N, a) only:

* ``"gates"``: Beauregard's 2n + 3-qubit circuit of Draper adders, doubly controlled
  modular adders and controlled multipliers (:mod:`circuits.arithmetic`);
* ``"oracle"``: one basis-permutation gate x -> a**(2**j) x mod N (x >= N left alone) on
  the n work wires, controlled by the recycled qubit: n + 1 qubits.

The multipliers a**(2**j) mod N come from repeated squaring; neither the period nor the
factors are used to build or run the circuits. :func:`factor` handles even N, primes,
prime powers and a random base sharing a factor with N classically, and says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np
import torch

from hybrid import Circuit, MemoryLimitError, simulate
from hybrid._checks import integer, positive_int
from hybrid.sim import Measure
from hybrid.sim.memory import format_bytes, free_bytes

from .arithmetic import controlled_multiplier
from .number_theory import convergents, is_prime, perfect_power

__all__ = [
    "FactorResult",
    "METHODS",
    "factor",
    "order_finding_circuit",
    "multiplication_table",
    "sample_phases",
    "order_from_phase",
    "split_from_order",
]

METHODS = ("gates", "oracle")

# Circuits up to this many amplitudes x trajectories simulate a base's runs as one batch.
_BATCH_AMPLITUDES = 2**20

# How many multiples k * q of a continued-fraction denominator q to try: s/r may share a
# factor with r, leaving q a divisor of r (the usual small-multiple search).
_MULTIPLES = 8


@dataclass(frozen=True)
class FactorResult:
    """What :func:`factor` found and what it cost.

    Attributes:
        N: the number factored.
        factors: two integers > 1, smallest first, with product N; ``(N,)`` when N is prime.
        method_used: how the split was found, in words ("quantum order finding (gates)",
            "classical: N is even", ...).
        method: the quantum method asked for (``"gates"`` or ``"oracle"``).
        a: the base whose order gave the split (``None`` if no quantum run was needed).
        period: the order r of a mod N found by the quantum runs (``None`` if none).
        phase_bits: the measured outcome y of the successful run as t bits, most
            significant first (y / 2**t approximates s / r).
        n_phase_bits: t, the number of rounds of the recycled control qubit.
        quantum_runs: order-finding runs (one trajectory each) whose outcomes were used.
            Small circuits draw a base's ``runs_per_base`` trajectories as one batch, so
            a few more may have been simulated and left unused.
        history: ``(a, y)`` for every quantum run, in order.
        qubits: qubits of the order-finding circuit (0 if none was built).
        gate_counts: the circuit's operations by name (``count_ops``).
        two_qubit_gates: gates acting on two or more wires (controls included).
    """

    N: int
    factors: tuple[int, ...]
    method_used: str
    method: str
    a: int | None = None
    period: int | None = None
    phase_bits: tuple[int, ...] = ()
    n_phase_bits: int = 0
    quantum_runs: int = 0
    history: tuple[tuple[int, int], ...] = ()
    qubits: int = 0
    gate_counts: dict[str, int] = field(default_factory=dict)
    two_qubit_gates: int = 0


def factor(
    N: int,
    *,
    method: str = "gates",
    a: int | None = None,
    seed: int | None = None,
    n_phase_bits: int | None = None,
    max_runs: int = 40,
    runs_per_base: int = 3,
    coprime_bases: bool = False,
    device: str | torch.device = "auto",
    dtype: torch.dtype = torch.complex64,
) -> FactorResult:
    """Factor ``N`` into two factors with Shor's algorithm (simulated order finding).

    Args:
        N: the integer to factor, >= 2.
        method: ``"gates"`` (Beauregard's 2n + 3 qubits, n = N.bit_length(); O(n**3)
            gates per run, so seconds for N = 15 and about a minute for N = 35 on 2 CPU
            cores) or ``"oracle"`` (n + 1 qubits, one permutation gate per round; tested
            to 22 bits).
        a: the base (1 < a < N - 1, coprime to N); default: random bases, seeded.
        seed: seeds the bases and the measurement outcomes.
        n_phase_bits: rounds t of the control qubit (default 2n, so 2**t >= N**2).
        max_runs: quantum runs allowed before giving up.
        runs_per_base: runs with one base before drawing another; outcomes of one base
            are combined (lcm of denominators) when none alone gives the period.
        coprime_bases: draw only bases coprime to N, so that a split always comes from
            order finding (benchmarks, tests); by default a random base sharing a
            factor with N ends the search classically, as in Shor's algorithm.
        device, dtype: where and how the circuits are simulated.

    Returns:
        A :class:`FactorResult`. Even N, primes, prime powers and a random base sharing
        a factor with N are handled classically (``method_used`` says which).

    Raises:
        TypeError, ValueError: bad N, method, a or counts (the message says which).
        RuntimeError: no split within ``max_runs`` runs.
    """
    N = integer(N, "N", minimum=2)
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}; got {method!r}")
    if a is not None:
        a = _check_base(a, N)
    max_runs = positive_int(max_runs, "max_runs")
    runs_per_base = positive_int(runs_per_base, "runs_per_base")
    shortcut = _classical_case(N, method)
    if shortcut is not None:
        return shortcut
    t = 2 * N.bit_length() if n_phase_bits is None else positive_int(n_phase_bits, "n_phase_bits")
    rng = np.random.default_rng(seed)
    history: list[tuple[int, int]] = []
    circuit, circuit_base = None, None  # one circuit at a time: oracle tables are large
    denominators: dict[int, list[int]] = {}  # per base, from its earlier runs
    while len(history) < max_runs:
        base = a if a is not None else int(rng.integers(2, N - 1))
        common = math.gcd(base, N)
        if common > 1 and coprime_bases:
            continue
        if common > 1:  # only a random base gets here: an explicit one was checked
            return FactorResult(
                N, _pair(common, N), f"classical: the random base a = {base} shares the factor {common} with N",
                method, a=base, quantum_runs=len(history), history=tuple(history),
            )  # fmt: skip
        if base != circuit_base:
            circuit, circuit_base = None, None  # free the old tables before building new ones
            circuit, circuit_base = order_finding_circuit(N, base, method=method, n_phase_bits=t), base
        for y in _trajectories(circuit, min(runs_per_base, max_runs - len(history)), rng, device, dtype):
            history.append((base, y))
            r = order_from_phase(y, t, base, N, denominators.setdefault(base, []))
            if r is None:
                continue
            split = split_from_order(base, r, N)
            if split is not None:
                return FactorResult(
                    N, split, f"quantum order finding ({method})", method, a=base, period=r,
                    phase_bits=_bits_msb_first(y, t), n_phase_bits=t, quantum_runs=len(history),
                    history=tuple(history), qubits=circuit.n_qubits, gate_counts=circuit.count_ops(),
                    two_qubit_gates=circuit.count_multi_qubit_gates(),
                )  # fmt: skip
            if a is not None:
                raise ValueError(
                    f"a = {a} has order {r} mod {N}, which gives no factor (odd, or a**(r/2) = -1 mod N); "
                    "pick another a or leave a=None for random bases"
                )
            break  # a useless order: draw a new base
    raise RuntimeError(
        f"no factor of {N} found in {max_runs} quantum runs (bases {sorted({b for b, _ in history})}); "
        "raise max_runs or try another seed"
    )


def order_finding_circuit(N: int, a: int, *, method: str = "gates", n_phase_bits: int | None = None) -> Circuit:
    """The semiclassical order-finding circuit for U_a: |x> -> |a x mod N>.

    Wire 0 is the recycled control; the work register starts in |1> (its least
    significant wire is wire n). Round r (r = 0 .. t-1) measures bit r of the outcome y
    into classical bit r, so y = sum_r bits[r] 2**r and y / 2**t approximates s / r.

    ``method="gates"``: 2n + 3 qubits (:func:`circuits.arithmetic.controlled_multiplier`);
    ``method="oracle"``: n + 1 qubits, one controlled permutation gate per round.
    """
    N = integer(N, "N", minimum=3)
    a = _check_base(a, N)
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}; got {method!r}")
    n = N.bit_length()
    t = 2 * n if n_phase_bits is None else positive_int(n_phase_bits, "n_phase_bits")
    if method == "oracle":
        _check_tables_fit(n, t)
    width = 2 * n + 3 if method == "gates" else n + 1
    c = Circuit(width, t)
    c.x(n)  # |x> = |1>: wire n is the least significant bit of x in both layouts
    for r in range(t):
        multiplier = pow(a, 2 ** (t - 1 - r), N)  # a**(2**j) mod N by repeated squaring
        c.h(0)
        c.compose(_controlled_power(multiplier, N, n, method))
        for k in range(r):  # undo the phase the bits already measured put on this round
            with c.when(k, 1):
                c.p(-math.pi / 2 ** (r - k), 0)
        c.h(0)
        c.append(Measure(0, r, reset=True))
    return c


def multiplication_table(N: int, multiplier: int, n: int) -> np.ndarray:
    """The permutation x -> multiplier * x mod N for x < N (x >= N fixed) on 2**n entries."""
    if math.gcd(multiplier, N) != 1:
        raise ValueError(f"multiplier {multiplier} shares a factor with N = {N}: x -> m x mod N is not a permutation")
    if N >= 2**31:
        raise ValueError(f"N = {N} needs products beyond int64; the oracle tables support N < 2**31")
    x = np.arange(2**n, dtype=np.int64)
    return np.where(x < N, x * multiplier % N, x)


def sample_phases(
    N: int,
    a: int,
    shots: int,
    *,
    method: str = "oracle",
    n_phase_bits: int | None = None,
    seed: int | None = None,
    device: str | torch.device = "auto",
    dtype: torch.dtype = torch.complex64,
) -> np.ndarray:
    """Outcomes y of ``shots`` order-finding trajectories, run as one batch (int array)."""
    circuit = order_finding_circuit(N, a, method=method, n_phase_bits=n_phase_bits)
    return _simulate_outcomes(circuit, positive_int(shots, "shots"), seed, device, dtype)


def order_from_phase(y: int, t: int, a: int, N: int, earlier: list[int] | None = None) -> int | None:
    """The order of ``a`` mod N read off an outcome ``y`` of t bits, or ``None``.

    Tries each continued-fraction denominator q < N of y / 2**t and its small multiples
    (s/r in lowest terms may have a smaller denominator than r), plus lcms with the
    denominators of ``earlier`` outcomes of the same base (updated in place). A candidate
    r counts only if a**r = 1 mod N; it is then reduced to the least such r.
    """
    if y == 0:
        return None
    qs = sorted({f.denominator for f in convergents(y, 2**t) if 1 < f.denominator < N})
    candidates = [k * q for q in qs for k in range(1, _MULTIPLES + 1)]
    if earlier is not None:
        candidates += [math.lcm(q, e) for q in qs for e in earlier]
        earlier.extend(q for q in qs if q not in earlier)
    for r in sorted(c for c in set(candidates) if c < N):
        if pow(a, r, N) == 1:
            return _least_order(a, r, N)
    return None


def split_from_order(a: int, r: int, N: int) -> tuple[int, int] | None:
    """Factors from an even order r with a**(r/2) != -1 mod N (Shor's reduction), else ``None``."""
    if r % 2:
        return None
    half = pow(a, r // 2, N)
    for g in (math.gcd(half - 1, N), math.gcd(half + 1, N)):
        if 1 < g < N:
            return _pair(g, N)
    return None


# --- pieces ----------------------------------------------------------------------------------


def _controlled_power(multiplier: int, N: int, n: int, method: str) -> Circuit:
    """Controlled x -> multiplier * x mod N, control on wire 0, in the method's layout."""
    if method == "gates":
        return controlled_multiplier(multiplier, N, n)
    table = Circuit(n).permutation(multiplication_table(N, multiplier, n), list(range(n)))
    return Circuit(n + 1).ctrl(0, table, wires=list(range(1, n + 1)))


def _trajectories(circuit: Circuit, shots: int, rng: np.random.Generator, device, dtype) -> Iterator[int]:
    """Outcomes y of ``shots`` trajectories, drawn lazily: one batch when the circuit is
    small (its cost is per gate, so a batch of a few costs about one run), else one
    simulation per trajectory."""
    per_call = shots if 2**circuit.n_qubits * shots <= _BATCH_AMPLITUDES else 1
    done = 0
    while done < shots:
        k = min(per_call, shots - done)
        yield from _simulate_outcomes(circuit, k, int(rng.integers(2**63)), device, dtype).tolist()
        done += k


def _simulate_outcomes(circuit: Circuit, shots: int, seed: int, device, dtype) -> np.ndarray:
    """Run ``shots`` trajectories of the circuit in one simulation; their outcomes y."""
    state = simulate(circuit, seed=seed, device=device, dtype=dtype, trajectories=shots)
    return _outcomes(state.bits.reshape(shots, -1).cpu().numpy())


def _outcomes(bits: np.ndarray) -> np.ndarray:
    """y = sum_r bits[:, r] 2**r for a ``(shots, t)`` array of classical bits."""
    return (bits.astype(np.int64) << np.arange(bits.shape[1], dtype=np.int64)).sum(axis=1)


def _least_order(a: int, r: int, N: int) -> int:
    """Divide out the prime factors of a multiple r of the order while a**r stays 1."""
    for p in _prime_factors(r):
        while r % p == 0 and pow(a, r // p, N) == 1:
            r //= p
    return r


def _prime_factors(m: int) -> list[int]:
    """Distinct prime factors of m by trial division (m < N is small next to the simulation)."""
    out, p = [], 2
    while p * p <= m:
        if m % p == 0:
            out.append(p)
            while m % p == 0:
                m //= p
        p += 1
    return out + ([m] if m > 1 else [])


def _classical_case(N: int, method: str) -> FactorResult | None:
    """The inputs order finding cannot help with, settled classically."""
    if N % 2 == 0 and N > 2:
        return FactorResult(N, _pair(2, N), "classical: N is even", method)
    if is_prime(N):
        return FactorResult(N, (N,), "classical: N is prime (no factors > 1 to find)", method)
    power = perfect_power(N)
    if power is not None:
        b, k = power
        return FactorResult(N, _pair(b, N), f"classical: N is a prime power or perfect power ({b}**{k})", method)
    return None


def _pair(d: int, N: int) -> tuple[int, int]:
    return (min(d, N // d), max(d, N // d))


def _bits_msb_first(y: int, t: int) -> tuple[int, ...]:
    return tuple((y >> (t - 1 - i)) & 1 for i in range(t))


def _check_tables_fit(n: int, t: int) -> None:
    need = 2 * t * 2**n * 8  # per round an int64 table (kept by the circuit) and its inverse (kept by the plan)
    free = free_bytes(torch.device("cpu"))
    if need > free // 2:
        raise MemoryLimitError(
            f"the oracle circuit for a {n}-bit N keeps {t} permutation tables of 2**{n} entries: "
            f"{format_bytes(need)}, more than half of the {format_bytes(free)} free -- use a smaller N"
        )


def _check_base(a, N: int) -> int:
    a = integer(a, "a", minimum=2)
    if a >= N - 1:
        raise ValueError(f"a must satisfy 1 < a < N - 1 = {N - 1} (a = N - 1 has order 2 and gives nothing); got {a}")
    if math.gcd(a, N) != 1:
        raise ValueError(
            f"a = {a} shares the factor {math.gcd(a, N)} with N = {N}: that already splits N, "
            "no order finding needed; pass a coprime a or leave a=None"
        )
    return a
