"""Classical number theory for factoring: Shor's post-processing and its classical rivals.

* continued fractions and their convergents (reading a period off a measured phase);
* primality (deterministic Miller-Rabin for 64-bit numbers, probabilistic beyond) and
  perfect-power detection (the cases order finding cannot help with);
* trial division and Pollard's rho (Brent's variant), each returning the factors found
  and a count of the steps it took, the classical counterparts in the benchmark.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from fractions import Fraction

from hybrid._checks import integer, non_negative_int, positive_int

__all__ = [
    "ClassicalFactors",
    "continued_fraction",
    "convergents",
    "is_prime",
    "integer_root",
    "perfect_power",
    "trial_division",
    "pollard_rho",
]

# Miller-Rabin with these bases is exact below 3.3e24 (Sorenson & Webster, 2015).
_MR_BASES = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41)


@dataclass(frozen=True)
class ClassicalFactors:
    """A split ``N = factors[0] * factors[1]`` found classically, and its cost.

    Attributes:
        factors: two integers > 1, smallest first, whose product is N.
        steps: trial divisions (trial division) or polynomial evaluations (Pollard rho).
        method: the algorithm's name.
    """

    factors: tuple[int, int]
    steps: int
    method: str


def continued_fraction(numerator: int, denominator: int) -> list[int]:
    """The partial quotients [a0; a1, a2, ...] of ``numerator / denominator`` (finite)."""
    numerator = non_negative_int(numerator, "numerator")
    denominator = positive_int(denominator, "denominator")
    quotients = []
    while denominator:
        q, r = divmod(numerator, denominator)
        quotients.append(q)
        numerator, denominator = denominator, r
    return quotients


def convergents(numerator: int, denominator: int) -> list[Fraction]:
    """The convergents p_k / q_k of ``numerator / denominator``, in order (the last is exact).

    Uses the recurrence p_k = a_k p_(k-1) + p_(k-2) (same for q); ``Fraction`` reduces
    nothing here since consecutive convergents are already in lowest terms.
    """
    p_prev, p = 0, 1
    q_prev, q = 1, 0
    out = []
    for a in continued_fraction(numerator, denominator):
        p_prev, p = p, a * p + p_prev
        q_prev, q = q, a * q + q_prev
        out.append(Fraction(p, q))
    return out


def is_prime(n: int) -> bool:
    """Miller-Rabin: exact for n < 3.3e24, error below 4**-13 beyond."""
    n = non_negative_int(n, "n")
    if n < 2:
        return False
    for p in _MR_BASES:
        if n % p == 0:
            return n == p
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for a in _MR_BASES:
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


def integer_root(n: int, k: int) -> int:
    """floor(n ** (1/k)) exactly, for n >= 0 and k >= 1 (Newton's method on integers)."""
    if n < 2 or k == 1:
        return n
    x = 1 << -(-n.bit_length() // k)  # an upper bound: 2**ceil(bits / k)
    while True:
        y = ((k - 1) * x + n // x ** (k - 1)) // k
        if y >= x:
            return x
        x = y


def perfect_power(n: int) -> tuple[int, int] | None:
    """``(b, k)`` with ``b**k == n``, k >= 2 as large as possible, or ``None``."""
    n = integer(n, "n", minimum=2)
    for k in range(n.bit_length(), 1, -1):
        b = integer_root(n, k)
        if b > 1 and b**k == n:
            return b, k
    return None


def trial_division(n: int) -> ClassicalFactors:
    """Split ``n`` by dividing by 2, 3, 5, 7, ... up to sqrt(n); ``steps`` counts divisions."""
    n = _check_composite(n)
    steps, d = 1, 2
    if n % 2:
        d = 3
        while n % d:
            steps += 1
            d += 2
        steps += 1
    return ClassicalFactors((d, n // d), steps, "trial division")


def pollard_rho(n: int, *, seed: int | None = None, max_steps: int = 10**8) -> ClassicalFactors:
    """Split ``n`` with Pollard's rho in Brent's variant (Brent, BIT 20 (1980) 176-184).

    Iterates f(x) = x^2 + c mod n, finds the cycle with Brent's power-of-two search and
    batches the gcds (one gcd per up to 128 steps, backtracking when a batch overshoots).
    A failed walk restarts with a new random c. ``steps`` counts evaluations of f.
    """
    n = _check_composite(n)
    if n % 2 == 0:
        return ClassicalFactors((2, n // 2), 1, "Pollard rho (Brent)")
    rng = random.Random(seed)
    steps = 0
    while steps < max_steps:
        y, c = rng.randrange(1, n), rng.randrange(1, n)
        d, used = _brent_walk(n, y, c, max_steps - steps)
        steps += used
        if 1 < d < n:
            d = min(d, n // d)
            return ClassicalFactors((d, n // d), steps, "Pollard rho (Brent)")
    raise RuntimeError(f"Pollard rho found no factor of {n} in {max_steps} steps; raise max_steps")


def _brent_walk(n: int, y: int, c: int, budget: int, batch: int = 128) -> tuple[int, int]:
    """One rho walk from ``y`` with constant ``c``: (a divisor of n or n itself, steps used)."""
    g, r, q, steps = 1, 1, 1, 0
    x = ys = y
    while g == 1 and steps < budget:
        x = y
        for _ in range(r):
            y = (y * y + c) % n
        steps += r
        k = 0
        while k < r and g == 1:
            ys = y
            for _ in range(min(batch, r - k)):
                y = (y * y + c) % n
                q = q * abs(x - y) % n
            steps += min(batch, r - k)
            g = math.gcd(q, n)
            k += batch
        r *= 2
    if g == n:  # the batch overshot: redo its steps one gcd at a time
        g = 1
        while g == 1:
            ys = (ys * ys + c) % n
            steps += 1
            g = math.gcd(abs(x - ys), n)
    return g, steps


def _check_composite(n: int) -> int:
    n = integer(n, "N", minimum=2)
    if is_prime(n):
        raise ValueError(f"N = {n} is prime: there is no split into two factors > 1")
    return n
