"""Grover search against classical brute-force search, side by side.

For each case: Grover's oracle queries (the optimal iteration count for the known number
of solutions M), the exact probability of the marked set after them, and the wall time to
build, simulate and sample the circuit; then brute-force search over all N = 2**n
candidates in torch on the same device, stopping at the first solution in a random order
(expected (N+1)/(M+1) evaluations, about N/2 for one solution) and scanning everything
(N evaluations, every solution). Gate-level rows simulate the circuit that would run on
hardware (multi-controlled Z's, or a CNF oracle with one ancilla per clause);
structure-aware rows the same unitary on the search register with diagonal gates.

Run: ``python -c "from benchmarks.algorithms import grover; print(grover.run(True, 'cpu'))"``.
"""

from __future__ import annotations


import numpy as np
import torch

from benchmarks.timing import time_repeats
from circuits.grover import grover_from_oracle, grover_search, optimal_iterations
from circuits.oracles import Oracle, marked_oracle, oracle_from_cnf
from circuits.search_classical import brute_force_search
from hybrid.sim.device import resolve_device

__all__ = ["run", "planted_3sat"]

SHOTS = 1024


def planted_3sat(n_vars: int, n_clauses: int, seed: int) -> list[tuple[int, ...]]:
    """A random 3-SAT formula that a hidden random assignment satisfies (so M >= 1)."""
    rng = np.random.default_rng(seed)
    hidden = rng.integers(0, 2, n_vars)
    clauses: list[tuple[int, ...]] = []
    while len(clauses) < n_clauses:
        variables = rng.choice(np.arange(1, n_vars + 1), 3, replace=False)
        clause = tuple(int(v) * int(rng.choice([-1, 1])) for v in variables)
        if any((lit > 0) == bool(hidden[abs(lit) - 1]) for lit in clause):
            clauses.append(clause)
    return clauses


def _cases(quick: bool, device: torch.device) -> list[tuple[str, Oracle, bool]]:
    """(case label, oracle, structure_aware) in the order they run."""
    rng = np.random.default_rng(7)

    def marked(n: int, m: int) -> Oracle:
        return marked_oracle(n, rng.choice(2**n, size=m, replace=False).tolist())

    if quick:
        sizes, gate_limit, cnf = [(8, 1), (12, 1), (12, 8)], 12, [(5, 9, 7)]
    else:
        sizes, gate_limit, cnf = [(8, 1), (12, 1), (16, 1), (16, 16), (20, 1)], 20, [(5, 9, 7), (6, 14, 8), (8, 14, 3)]
        if device.type == "cuda":
            sizes, gate_limit = sizes + [(22, 1), (24, 1)], 24
    cases = []
    for n, m in sizes:
        oracle = marked(n, m)
        if n <= gate_limit:
            cases.append((f"n={n}, M={m}", oracle, False))
        cases.append((f"n={n}, M={m}", oracle, True))
    for n_vars, n_clauses, seed in cnf:
        oracle = oracle_from_cnf(planted_3sat(n_vars, n_clauses, seed), n_vars)
        label = f"3-SAT {n_vars} vars, {n_clauses} clauses, M={oracle.n_marked}"
        cases.append((label, oracle, False))
        cases.append((label, oracle, True))
    return cases


def _wide_gates(oracle: Oracle, k: int, structure_aware: bool) -> tuple[int, int]:
    """(qubits, gates on two or more wires) of the circuit as simulated."""
    c = grover_from_oracle(oracle, k, structure_aware=structure_aware)
    return c.n_qubits, c.count_multi_qubit_gates()


def _row(label: str, oracle: Oracle, structure_aware: bool, device: torch.device) -> dict:
    n, m = oracle.n_qubits, oracle.n_marked
    k = optimal_iterations(n, m)
    qubits, wide = _wide_gates(oracle, k, structure_aware)
    repeats = 3 if qubits <= 16 else 1  # median of 3 where a run is cheap
    def quantum():
        return grover_search(oracle, iterations=k, shots=SHOTS, seed=0, device=device, structure_aware=structure_aware)

    q, result = time_repeats(quantum, repeats, device=device, warmup=False)
    first_t, first = time_repeats(
        lambda: brute_force_search(n, oracle.classical, stop_at_first=True, seed=0, device=device), 3, device=device
    )
    all_t, full = time_repeats(lambda: brute_force_search(n, oracle.classical, device=device), 3, device=device)
    hit_rate = sum(result.counts[b] for b in result.solutions) / SHOTS
    return {
        "algorithm": "grover",
        "case": label,
        "qubits": qubits,
        "two_qubit_gates": wide,
        "resources": f"{k} oracle queries",
        "quality": f"P(marked)={result.success_probability:.4f}, {hit_rate:.1%} of {SHOTS} shots hit",
        "quantum_s": q["median_s"],
        "classical": "brute force (torch)",
        "classical_quality": (
            f"1st hit after {first.evaluations} evals; all {len(full.solutions)} after {full.evaluations}"
        ),
        "classical_s": first_t["median_s"],
        "device": str(device),
        "path": "structure-aware" if structure_aware else "gate level",
        "n_search": n,
        "n_marked": m,
        "oracle_queries": k,
        "success_probability": result.success_probability,
        "classical_first_evaluations": first.evaluations,
        "classical_expected_first": (2**n + 1) / (m + 1),
        "classical_all_evaluations": full.evaluations,
        "classical_all_s": all_t["median_s"],
        "query_speedup": ((2**n + 1) / (m + 1)) / max(k, 1),
    }


def run(quick: bool, device: str) -> list[dict]:
    """Grover vs brute force: quick (n = 8, 12 and a small 3-SAT) or full (up to 20 qubits,
    24 on CUDA); one row per case and simulation path."""
    dev = resolve_device(device)
    grover_search(2, [1], device=dev)  # warm-up: first-call costs out of the first row
    return [_row(label, oracle, sa, dev) for label, oracle, sa in _cases(quick, dev)]


if __name__ == "__main__":
    import sys

    for row in run("--full" not in sys.argv, "auto"):
        print(
            f"{row['case']:<38} {row['path']:<16} q={row['qubits']:<3} {row['resources']:<18} "
            f"{row['quality']:<40} {row['quantum_s']:8.3f}s | {row['classical_quality']:<40} {row['classical_s']:8.4f}s"
        )
