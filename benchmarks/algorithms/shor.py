"""Shor factoring against trial division and Pollard's rho, side by side.

For each N: the order-finding circuit's qubits and two-qubit gates (Beauregard's 2n + 3
qubits at gate level, or n + 1 qubits with one permutation oracle per round), how many
simulated quantum runs (one trajectory each) :func:`circuits.shor.factor` needed, the
factors it returned and its wall time (building the circuit, simulating every run,
post-processing); then trial division and Pollard's rho (Brent) on the same N, with their
step counts and wall times (median of 3). The classical methods are plain Python integer
arithmetic, so they run on the CPU whatever ``device`` is.

Bases are drawn with a fixed seed among those coprime to N (``coprime_bases=True``: a
base sharing a factor would split N without any quantum run); when a base's order gives
no split the next is drawn, as in Shor's algorithm, and the rows count every run.

Run: ``python -c "from benchmarks.algorithms import shor; print(shor.run(True, 'cpu'))"``.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from benchmarks.timing import time_repeats
from circuits.number_theory import pollard_rho, trial_division
from circuits.shor import factor
from hybrid.sim.device import resolve_device

__all__ = ["run", "semiprime"]


def semiprime(bits: int, seed: int) -> int:
    """An odd semiprime p * q of exactly ``bits`` bits with balanced primes, from ``seed``."""
    from sympy import nextprime

    rng = np.random.default_rng(seed)
    while True:
        p = int(nextprime(int(rng.integers(2 ** (bits // 2 - 1), 2 ** (bits // 2)))))
        q = int(nextprime(int(rng.integers(2 ** (bits - 1) // p, 2**bits // p + 1))))
        if p != q and (p * q).bit_length() == bits:
            return p * q


def _cases(quick: bool) -> list[tuple[int, str]]:
    if quick:
        return [(15, "gates"), (21, "gates"), (semiprime(12, 1), "oracle")]
    gates = [(N, "gates") for N in (15, 21, 33, 35)]
    return gates + [(semiprime(bits, bits), "oracle") for bits in (12, 16, 20, 22)]


def _row(N: int, method: str, device: torch.device) -> dict:
    start = time.perf_counter()
    result = factor(N, method=method, seed=0, coprime_bases=True, device=device)
    quantum_s = time.perf_counter() - start
    runs = result.quantum_runs
    trial_t, trial = time_repeats(lambda: trial_division(N), 3)
    rho_t, rho = time_repeats(lambda: pollard_rho(N, seed=0), 3)
    p, q = result.factors
    return {
        "algorithm": "shor",
        "case": f"N={N} ({N.bit_length()} bits, {method})",
        "qubits": result.qubits,
        "two_qubit_gates": result.two_qubit_gates,
        "resources": f"{runs} quantum run(s) x {result.n_phase_bits} rounds",
        "quality": f"factors {p} x {q} (a={result.a}, period {result.period})",
        "quantum_s": quantum_s,
        "classical": "trial division",
        "classical_quality": f"factors {trial.factors[0]} x {trial.factors[1]} in {trial.steps} divisions",
        "classical_s": trial_t["median_s"],
        "device": str(device),
        "method": method,
        "N": N,
        "gates": sum(v for k, v in result.gate_counts.items() if k != "measure"),
        "quantum_runs": runs,
        "correct": p * q == N and p > 1 and q > 1,
        "trial_division_steps": trial.steps,
        "pollard_rho_quality": f"factors {rho.factors[0]} x {rho.factors[1]} in {rho.steps} steps",
        "pollard_rho_steps": rho.steps,
        "pollard_rho_s": rho_t["median_s"],
    }


def run(quick: bool, device: str) -> list[dict]:
    """Shor vs trial division and Pollard rho: quick (gates 15 and 21, a 12-bit oracle case)
    or full (gates 15, 21, 33, 35; oracle 12, 16, 20 and 22 bits); one row per N."""
    dev = resolve_device(device)
    return [_row(N, method, dev) for N, method in _cases(quick)]


if __name__ == "__main__":
    import sys

    for row in run("--full" not in sys.argv, "auto"):
        print(
            f"{row['case']:<30} q={row['qubits']:<3} 2q={row['two_qubit_gates']:<7} {row['resources']:<28} "
            f"{row['quality']:<36} {row['quantum_s']:8.2f}s | {row['classical_quality']:<34} "
            f"{row['classical_s'] * 1e3:8.3f}ms | rho: {row['pollard_rho_quality']:<30} {row['pollard_rho_s'] * 1e3:8.3f}ms"
        )
