"""Shor-style factoring: exact order-finding distributions, factors checked by sympy, and
the classical counterparts (continued fractions, primality, trial division, Pollard rho)."""

import math

import numpy as np
import pytest
import sympy
import torch
from scipy.stats import chisquare
from sympy.ntheory.continued_fraction import continued_fraction_convergents, continued_fraction_iterator

from circuits.number_theory import (
    continued_fraction,
    convergents,
    is_prime,
    perfect_power,
    pollard_rho,
    trial_division,
)
from circuits.shor import factor, order_finding_circuit, order_from_phase, sample_phases, split_from_order
from hybrid import Circuit, simulate


def exact_phase_distribution(N: int, a: int, t: int) -> np.ndarray:
    """P(y) of textbook order finding, by brute force: after the controlled powers the state
    is 2**(-t/2) sum_k |k>|a**k mod N>; the inverse QFT gives amplitude
    2**-t sum_{k: a**k = z} exp(-2 pi i k y / 2**t) on |y>|z>, a DFT of the indicator of
    {k : a**k = z} (numpy's FFT computes exactly that sum)."""
    Q = 2**t
    powers = np.array([pow(a, k, N) for k in range(Q)])
    probs = np.zeros(Q)
    for z in np.unique(powers):
        probs += np.abs(np.fft.fft((powers == z).astype(float)) / Q) ** 2
    return probs


def assert_matches(samples: np.ndarray, probs: np.ndarray) -> None:
    """Every sample is a possible outcome, and the counts pass a chi-square test against
    ``probs`` (outcomes expected fewer than 5 times pooled into one bin)."""
    assert probs[samples].min() > 1e-9, "an outcome with zero probability was measured"
    shots = len(samples)
    counts = np.bincount(samples, minlength=len(probs))
    big = probs * shots >= 5
    observed = np.append(counts[big], counts[~big].sum())
    expected = np.append(probs[big], probs[~big].sum()) * shots
    if expected[-1] == 0:
        observed, expected = observed[:-1], expected[:-1]
    assert chisquare(observed, expected * observed.sum() / expected.sum()).pvalue > 1e-4


def _random_semiprimes(rng: np.random.Generator, count: int, bits: tuple[int, int]) -> list[int]:
    """Products of two distinct odd primes with a bit length in ``bits``, drawn with ``rng``."""
    out = []
    while len(out) < count:
        size = int(rng.integers(bits[0], bits[1] + 1))
        p = int(sympy.nextprime(int(rng.integers(3, 2 ** (size // 2)))))
        q = int(sympy.nextprime(int(rng.integers(2 ** (size - 1) // p, 2**size // p + 1))))
        N = p * q
        if p != q and bits[0] <= N.bit_length() <= bits[1]:
            out.append(N)
    return out


# --- order finding against the exact distributions ---------------------------------------------


def test_exact_distribution_for_15_and_7_is_the_published_one():
    # (N, a) = (15, 7): order 4, so y / 256 is k / 4 with probability 1/4 each
    # (Vandersypen et al., Nature 414, 883 (2001), figure 1).
    probs = exact_phase_distribution(15, 7, 8)
    expected = np.zeros(256)
    expected[[0, 64, 128, 192]] = 0.25
    np.testing.assert_allclose(probs, expected, atol=1e-12)


@pytest.mark.parametrize("method, shots", [("oracle", 2000), ("gates", 32)])
def test_15_and_7_gives_phases_k_over_4(method, shots):
    y = sample_phases(15, 7, shots, method=method, seed=11, dtype=torch.complex128)
    assert set(y.tolist()) <= {0, 64, 128, 192}
    assert len(set(y.tolist())) == 4
    assert_matches(y, exact_phase_distribution(15, 7, 8))


@pytest.mark.parametrize("N, a, order", [(21, 5, 6), (35, 2, 12), (33, 5, 10), (39, 7, 12)])
def test_semiclassical_oracle_matches_exact_order_finding(N, a, order):
    assert sympy.n_order(a, N) == order
    t = 2 * N.bit_length()
    y = sample_phases(N, a, 2000, method="oracle", seed=N)
    assert_matches(y, exact_phase_distribution(N, a, t))


@pytest.mark.slow
@pytest.mark.parametrize("N, a", [(21, 5), (35, 2)])
def test_semiclassical_gates_match_exact_order_finding(N, a):
    y = sample_phases(N, a, 64, method="gates", seed=N)
    assert_matches(y, exact_phase_distribution(N, a, 2 * N.bit_length()))


def test_circuit_shapes_and_gate_sets():
    gates = order_finding_circuit(21, 2, method="gates")
    oracle = order_finding_circuit(21, 2, method="oracle")
    n = 5
    assert gates.n_qubits == 2 * n + 3 and oracle.n_qubits == n + 1
    assert gates.count_ops()["measure"] == oracle.count_ops()["measure"] == 2 * n  # one recycled control
    assert set(gates.count_ops()) <= {"h", "p", "cp", "ccp", "cx", "x", "cswap", "measure"}
    assert oracle.count_ops()["cpermutation"] == 2 * n


# --- factor() ---------------------------------------------------------------------------------


def _check_split(result, N):
    assert len(result.factors) == 2 and all(f > 1 for f in result.factors)
    assert math.prod(result.factors) == N
    for f in result.factors:  # each factor is a product of N's primes (sympy as the reference)
        assert set(sympy.factorint(f)) <= set(sympy.factorint(N))


def test_factor_oracle_on_random_semiprimes():
    rng = np.random.default_rng(2024)
    numbers = _random_semiprimes(rng, 6, (8, 14))
    for i, N in enumerate(numbers):
        result = factor(N, method="oracle", seed=i, coprime_bases=True)  # every split from order finding
        _check_split(result, N)
        assert result.method_used == "quantum order finding (oracle)"
        assert result.period == sympy.n_order(result.a, N)
        assert result.qubits == N.bit_length() + 1
        assert len(result.phase_bits) == result.n_phase_bits == 2 * N.bit_length()
        y = int("".join(map(str, result.phase_bits)), 2)
        assert (result.a, y) == result.history[-1]


def test_factor_gates_on_15():
    result = factor(15, method="gates", a=7, seed=0)
    _check_split(result, 15)
    assert result.method_used == "quantum order finding (gates)"
    assert result.period == sympy.n_order(7, 15) == 4
    assert result.qubits == 11 and result.two_qubit_gates > 0
    assert int("".join(map(str, result.phase_bits)), 2) in {64, 128, 192}


def test_random_bases_sharing_a_factor_are_reported():
    kinds = set()
    for seed in range(12):
        result = factor(15, method="oracle", seed=seed)
        assert result.factors == (3, 5)
        kinds.add(result.method_used.split(":")[0])
        if result.method_used.startswith("classical"):
            assert math.gcd(result.a, 15) > 1 and "shares the factor" in result.method_used
        else:
            assert result.period == sympy.n_order(result.a, 15)
    assert kinds == {"classical", "quantum order finding (oracle)"}  # half the bases of 15 share a factor


@pytest.mark.slow
@pytest.mark.parametrize("N", [21, 33, 35, *_random_semiprimes(np.random.default_rng(6), 1, (6, 6))])
def test_factor_gates_beyond_15(N):
    result = factor(N, method="gates", seed=1, coprime_bases=True)
    _check_split(result, N)
    assert result.method_used == "quantum order finding (gates)"
    assert result.period == sympy.n_order(result.a, N)
    assert result.qubits == 2 * N.bit_length() + 3


@pytest.mark.slow
def test_factor_oracle_22_bits():
    (N,) = _random_semiprimes(np.random.default_rng(22), 1, (22, 22))
    result = factor(N, method="oracle", seed=5)
    _check_split(result, N)
    assert result.qubits == 23


def test_quantum_runs_are_counted_and_seeded():
    first = factor(91, method="oracle", seed=3)
    again = factor(91, method="oracle", seed=3)
    assert first == again
    assert first.quantum_runs == len(first.history) >= 1


@pytest.mark.parametrize(
    "N, factors, reason",
    [
        (4, (2, 2), "even"),
        (14, (2, 7), "even"),
        (2, (2,), "prime"),
        (13, (13,), "prime"),
        (1_000_003, (1_000_003,), "prime"),
        (9, (3, 3), "power"),
        (3**7, (3, 729), "power"),
        (225, (15, 15), "power"),
    ],
)
def test_classical_cases(N, factors, reason):
    result = factor(N, method="oracle")
    assert result.factors == factors
    assert result.method_used.startswith("classical") and reason in result.method_used
    assert result.quantum_runs == 0


def test_factor_errors():
    for bad in (0, 1, -15):
        with pytest.raises(ValueError, match=f"^N must be an integer >= 2; got {bad}$"):
            factor(bad)
    for bad in (15.0, "15", True):
        with pytest.raises(TypeError, match="^N must be an integer >= 2; got "):
            factor(bad)
    with pytest.raises(ValueError, match="method"):
        factor(15, method="magic")
    with pytest.raises(ValueError, match="1 < a < N - 1"):
        factor(15, a=14)
    with pytest.raises(ValueError, match="^a must be an integer >= 2; got 1$"):
        factor(15, a=1)
    with pytest.raises(ValueError, match="shares the factor 5"):
        factor(15, a=10)
    with pytest.raises(ValueError, match="order 6"):
        factor(21, method="oracle", a=5, seed=0)  # 5**3 = -1 mod 21: no split from this base


# --- classical post-processing and counterparts -----------------------------------------------


def test_order_from_phase_and_split():
    # The order of 2 mod 21 is 6; 171 / 1024 is the outcome nearest 1/6.
    assert order_from_phase(171, 10, 2, 21) == 6
    assert order_from_phase(0, 10, 2, 21) is None
    # 512 / 1024 = 3/6 reduces to 1/2: the period is found among small multiples of 2.
    assert order_from_phase(512, 10, 2, 21) == 6
    assert order_from_phase(512, 10, 2, 21, earlier=None) == 6
    assert split_from_order(2, 6, 21) == (3, 7)
    assert split_from_order(5, 6, 21) is None  # 5**3 = -1 mod 21


@pytest.mark.parametrize("num, den", [(0, 1), (3, 8), (415, 93), (649, 200), (12345, 2**16)])
def test_continued_fractions_match_sympy(num, den):
    from fractions import Fraction

    assert continued_fraction(num, den) == list(continued_fraction_iterator(sympy.Rational(num, den)))
    ref = [Fraction(int(c.p), int(c.q)) for c in continued_fraction_convergents(continued_fraction(num, den))]
    assert convergents(num, den) == ref


def test_is_prime_and_perfect_power_match_sympy():
    assert [is_prime(n) for n in range(3000)] == [sympy.isprime(n) for n in range(3000)]
    for n in (2**61 - 1, 2**61 + 1, 1_000_000_007 * 998_244_353, 3_215_031_751):  # the last is a strong pseudoprime to 2, 3, 5, 7
        assert is_prime(n) == sympy.isprime(n)
    for n in range(2, 3000):
        ref = sympy.perfect_power(n)
        assert perfect_power(n) == (tuple(ref) if ref else None), n


def test_trial_division_and_pollard_rho_against_factorint():
    rng = np.random.default_rng(7)
    for N in _random_semiprimes(rng, 8, (10, 40)) + [15, 21, 91, 2**2 * 3]:
        primes = sympy.factorint(N)
        rho = pollard_rho(N, seed=1)
        assert math.prod(rho.factors) == N and min(rho.factors) > 1 and rho.steps >= 1
        assert set(sympy.factorint(rho.factors[0])) <= set(primes)
        if N < 2**30:
            trial = trial_division(N)
            p = min(primes)
            assert trial.factors == (p, N // p)
            # Divisions by 2, then 3, 5, 7, ... up to p: a closed form for the count.
            assert trial.steps == (1 if p == 2 else 1 + (p - 1) // 2)
    with pytest.raises(ValueError, match="prime"):
        pollard_rho(101)
    with pytest.raises(TypeError):
        trial_division(15.0)


def test_large_permutation_tables_act_like_numpy():
    # The oracle path stores tables on 12+ wires as arrays; check one against a numpy gather.
    rng = np.random.default_rng(0)
    n = 13
    perm = rng.permutation(2**n)
    psi = rng.normal(size=2 ** (n + 1)) + 1j * rng.normal(size=2 ** (n + 1))
    psi /= np.linalg.norm(psi)
    c = Circuit(n + 1).ctrl(0, Circuit(n).permutation(torch.as_tensor(perm), range(n)), wires=list(range(1, n + 1)))
    out = simulate(c, initial_state=psi, dtype=torch.complex128).vector.numpy()
    expected = psi.reshape(2, 2**n).copy()
    expected[1, perm] = psi.reshape(2, 2**n)[1]
    np.testing.assert_allclose(out, expected.reshape(-1), atol=1e-12)
