"""QAOA MaxCut against exact brute force and a classical heuristic, side by side.

For each graph and depth p: QAOA's <C> at the optimised angles (multistart Adam, the
starts run as one batch) over the exact max cut, the best cut among the sampled
bitstrings, and the wall time of the optimisation plus sampling; then the exact max cut
by brute force over 2**(n-1) cuts in torch on the same device, and randomised greedy +
one-exchange local search (numpy, CPU), each with its wall time.

Run: ``python -c "from benchmarks.algorithms import qaoa; print(qaoa.run(True, 'cpu'))"``.
"""

from __future__ import annotations

import networkx as nx

from benchmarks.timing import time_call
from circuits.exact import maxcut_brute_force, maxcut_heuristic
from circuits.hamiltonians import maxcut_problem
from circuits.qaoa import maxcut_qaoa, qaoa_circuit
from hybrid.sim.device import resolve_device

__all__ = ["run"]

SHOTS = 1000


def _cases(quick: bool) -> list[tuple[str, nx.Graph, int, int, int]]:
    """(label, graph, p, restarts, steps) in the order they run."""
    def regular(n: int) -> nx.Graph:
        return nx.random_regular_graph(3, n, seed=n)

    if quick:
        return [
            ("3-regular n=8", regular(8), 1, 2, 40),
            ("3-regular n=8", regular(8), 2, 2, 40),
            ("ring n=10", nx.cycle_graph(10), 1, 2, 40),
        ]
    weighted = nx.gnp_random_graph(12, 0.4, seed=3)
    for k, (u, v) in enumerate(weighted.edges):
        weighted.edges[u, v]["weight"] = 0.5 + (k % 4) * 0.5
    return [
        ("3-regular n=8", regular(8), 1, 4, 100),
        ("3-regular n=8", regular(8), 2, 4, 100),
        ("3-regular n=8", regular(8), 3, 4, 100),
        ("ring n=12", nx.cycle_graph(12), 1, 4, 100),
        ("weighted G(12, 0.4)", weighted, 2, 4, 100),
        ("3-regular n=12", regular(12), 2, 4, 100),
        ("3-regular n=16", regular(16), 1, 2, 60),
        ("3-regular n=20", regular(20), 1, 2, 40),
    ]


def _row(label: str, graph: nx.Graph, p: int, restarts: int, steps: int, device) -> dict:
    problem = maxcut_problem(graph)
    exact_s, exact = time_call(lambda: maxcut_brute_force(problem, device=device), device)
    heuristic_s, heuristic = time_call(lambda: maxcut_heuristic(problem, restarts=10, seed=0))

    def quantum():
        return maxcut_qaoa(
            graph, p, seed=0, restarts=restarts, steps=steps, shots=SHOTS, device=device, max_cut=exact.value
        )

    quantum_s, result = time_call(quantum, device)
    circuit = qaoa_circuit(problem, p)
    return {
        "algorithm": "qaoa",
        "case": f"{label}, p={p}",
        "qubits": problem.n,
        "two_qubit_gates": circuit.count_multi_qubit_gates(),
        "resources": f"p={p} layers, {restarts} starts x {steps} Adam steps",
        "quality": (
            f"ratio {result.approximation_ratio:.3f} (<C>={result.expectation:.2f}), "
            f"best of {SHOTS} shots {result.best_cut.value:g}"
        ),
        "quantum_s": quantum_s,
        "classical": "brute force (torch) | greedy+1-exchange",
        "classical_quality": (
            f"max cut {exact.value:g} | heuristic {heuristic.value:g} "
            f"(ratio {heuristic.value / exact.value:.3f}, {heuristic_s * 1e3:.1f} ms)"
        ),
        "classical_s": exact_s,
        "device": str(device),
        "graph": label,
        "p": p,
        "edges": len(problem.edges),
        "expectation": result.expectation,
        "max_cut": exact.value,
        "ratio_vs_brute_force": result.approximation_ratio,
        "ratio_vs_heuristic": result.expectation / heuristic.value,
        "best_sampled_cut": result.best_cut.value,
        "heuristic_cut": heuristic.value,
        "heuristic_s": heuristic_s,
        "brute_force_s": exact_s,
        "gammas": list(result.gammas),
        "betas": list(result.betas),
    }


def run(quick: bool, device: str) -> list[dict]:
    """One row per (graph, p); see the module docstring."""
    dev = resolve_device(device)
    maxcut_qaoa(nx.cycle_graph(4), 1, seed=0, restarts=1, steps=2, shots=10, device=dev)  # warm-up, untimed
    return [_row(label, graph, p, restarts, steps, dev) for label, graph, p, restarts, steps in _cases(quick)]
