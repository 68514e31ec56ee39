"""QAOA MaxCut and its classical counterparts against independent references.

References: the analytic p = 1 expectation for MaxCut on any unweighted graph (Wang,
Hadfield, Jiang, Rieffel, arXiv:1706.02998, Theorem 1), the ring result <C>/m = 3/4 at the
best p = 1 angles (Farhi, Goldstone, Gutmann, arXiv:1411.4028), a dense numpy QAOA written
out here, itertools brute force and networkx's cut_size.
"""

import itertools
import math

import networkx as nx
import numpy as np
import pytest
import torch

from circuits.exact import maxcut_brute_force, maxcut_heuristic, sparse_matrix
from circuits.hamiltonians import maxcut_problem
from circuits.qaoa import maxcut_expectation, maxcut_qaoa, qaoa_circuit


def _random_graph(seed: int, n: int, p: float = 0.5, weighted: bool = False) -> nx.Graph:
    rng = np.random.default_rng(seed)
    g = nx.gnp_random_graph(n, p, seed=seed)
    while g.number_of_edges() == 0:
        g = nx.gnp_random_graph(n, p, seed=int(rng.integers(1 << 30)))
    if weighted:
        for u, v in g.edges:
            g.edges[u, v]["weight"] = float(rng.uniform(0.1, 2.0))
    return g


def _tiny_brute_force(g: nx.Graph) -> float:
    nodes = list(g.nodes)
    best = 0.0
    for sides in itertools.product((0, 1), repeat=len(nodes)):
        side1 = {v for v, s in zip(nodes, sides) if s}
        best = max(best, nx.cut_size(g, side1, weight="weight"))
    return best


def _p1_formula(g: nx.Graph, gamma: float, beta: float) -> float:
    """Wang et al. 2018, Theorem 1: <C> at p = 1 for C = sum_uv (1 - Z_u Z_v) / 2."""
    total = 0.0
    for u, v in g.edges:
        du, dv = g.degree(u) - 1, g.degree(v) - 1
        lam = len(set(g[u]) & set(g[v]))  # triangles through the edge
        c = math.cos(gamma)
        term = 0.5 + 0.25 * math.sin(4 * beta) * math.sin(gamma) * (c**du + c**dv)
        term -= 0.25 * math.sin(2 * beta) ** 2 * c ** (du + dv - 2 * lam) * (1 - math.cos(2 * gamma) ** lam)
        total += term
    return total


def _dense_qaoa(g: nx.Graph, gammas, betas) -> float:
    """<C> by a dense numpy statevector: diag(exp(-i gamma C)) then kron of exp(-i beta X)."""
    nodes = list(g.nodes)
    n = len(nodes)
    cuts = np.array(
        [nx.cut_size(g, {v for v, s in zip(nodes, sides) if s}, weight="weight") if any(sides) else 0.0
         for sides in itertools.product((0, 1), repeat=n)]
    )  # fmt: skip
    psi = np.full(2**n, 2 ** (-n / 2), dtype=complex)
    for gamma, beta in zip(gammas, betas):
        psi = np.exp(-1j * gamma * cuts) * psi
        rx = np.array([[math.cos(beta), -1j * math.sin(beta)], [-1j * math.sin(beta), math.cos(beta)]])
        mixer = rx
        for _ in range(n - 1):
            mixer = np.kron(mixer, rx)
        psi = mixer @ psi
    return float(np.sum(np.abs(psi) ** 2 * cuts))


@pytest.mark.parametrize("seed", range(6))
def test_p1_expectation_matches_the_analytic_formula(seed):
    rng = np.random.default_rng(seed)
    g = _random_graph(seed, n=int(rng.integers(3, 9)), p=float(rng.uniform(0.3, 0.9)))
    problem = maxcut_problem(g)
    for _ in range(3):
        gamma, beta = rng.uniform(-np.pi, np.pi), rng.uniform(-np.pi, np.pi)
        ours = maxcut_expectation(problem, [gamma], [beta], dtype=torch.complex128, device="cpu")
        assert ours.item() == pytest.approx(_p1_formula(g, gamma, beta), abs=1e-8)


def test_batched_angles_match_one_at_a_time():
    g = _random_graph(11, 6)
    problem = maxcut_problem(g)
    gammas, betas = torch.rand(5, 1, dtype=torch.float64), torch.rand(5, 1, dtype=torch.float64)
    batched = maxcut_expectation(problem, gammas, betas, dtype=torch.complex128, device="cpu")
    for k in range(5):
        assert batched[k].item() == pytest.approx(_p1_formula(g, gammas[k, 0].item(), betas[k, 0].item()), abs=1e-8)


@pytest.mark.parametrize("seed", range(3))
def test_weighted_depth_two_expectation_matches_a_dense_simulation(seed):
    g = _random_graph(seed, 5, weighted=True)
    rng = np.random.default_rng(seed)
    gammas, betas = rng.uniform(-2, 2, 2), rng.uniform(-2, 2, 2)
    ours = maxcut_expectation(
        maxcut_problem(g), torch.tensor(gammas), torch.tensor(betas), dtype=torch.complex128, device="cpu"
    )
    assert ours.item() == pytest.approx(_dense_qaoa(g, gammas, betas), abs=1e-8)


@pytest.mark.parametrize("seed", range(3))
def test_cost_hamiltonian_diagonal_is_every_cut_value(seed):
    g = _random_graph(seed, 6, weighted=True)
    problem = maxcut_problem(g)
    diagonal = sparse_matrix(problem.cost_hamiltonian(), problem.n).diagonal()
    for index, sides in enumerate(itertools.product((0, 1), repeat=problem.n)):
        side1 = {v for v, s in zip(problem.nodes, sides) if s}
        assert diagonal[index] == pytest.approx(nx.cut_size(g, side1, weight="weight"), abs=1e-12)


@pytest.mark.parametrize("seed", range(8))
def test_brute_force_matches_an_independent_brute_force(seed):
    g = _random_graph(seed, 3 + seed % 7, weighted=seed % 2 == 1)
    problem = maxcut_problem(g)
    cut = maxcut_brute_force(problem, device="cpu", chunk=16)  # several chunks
    assert cut.value == pytest.approx(_tiny_brute_force(g), abs=1e-9)
    side1 = {v for v, b in zip(problem.nodes, cut.bits) if b}
    assert nx.cut_size(g, side1, weight="weight") == pytest.approx(cut.value, abs=1e-9)
    # networkx's own local search never finds more.
    nx_value, _ = nx.algorithms.approximation.one_exchange(g, weight="weight", seed=seed)
    assert nx_value <= cut.value + 1e-9


@pytest.mark.parametrize("seed", range(8))
def test_heuristic_never_beats_the_optimum_and_reaches_it_on_small_graphs(seed):
    g = _random_graph(seed, 4 + seed, weighted=seed % 2 == 0)
    problem = maxcut_problem(g)
    exact = _tiny_brute_force(g)
    cut = maxcut_heuristic(problem, restarts=10, seed=seed)
    side1 = {v for v, b in zip(problem.nodes, cut.bits) if b}
    assert nx.cut_size(g, side1, weight="weight") == pytest.approx(cut.value, abs=1e-9)
    assert cut.value <= exact + 1e-9
    assert cut.value == pytest.approx(exact, abs=1e-9)


def test_heuristic_is_a_local_optimum_on_a_larger_graph():
    g = nx.random_regular_graph(3, 30, seed=4)
    problem = maxcut_problem(g)
    cut = maxcut_heuristic(problem, restarts=3, seed=0)
    # One-exchange optimum: moving any single node does not increase the cut.
    for k in range(problem.n):
        moved = list(cut.bits)
        moved[k] ^= 1
        assert problem.cut_value(moved) <= cut.value
    # And every cut weighs at most all edges; a local optimum cuts at least half of them.
    assert g.number_of_edges() / 2 <= cut.value <= g.number_of_edges()


@pytest.mark.parametrize("n", [6, 8])
def test_even_ring_at_p1_reaches_three_quarters(n):
    result = maxcut_qaoa(nx.cycle_graph(n), 1, seed=0, steps=60, lr=0.05, restarts=3, dtype=torch.complex128, device="cpu")
    assert result.max_cut == n and result.max_cut_method == "brute force"
    assert result.approximation_ratio == pytest.approx(0.75, abs=1e-4)
    assert result.approximation_ratio <= 0.75 + 1e-9  # Farhi et al.: the p = 1 optimum on rings
    assert result.expectation == pytest.approx(_p1_formula(nx.cycle_graph(n), result.gammas[0], result.betas[0]), abs=1e-8)
    assert result.best_cut.value == n  # the alternating cut shows up among the samples


def test_weighted_graph_with_labels_keeps_the_node_mapping():
    g = nx.Graph()
    g.add_weighted_edges_from([("a", "b", 2.0), ("b", "c", 1.0), ("c", "a", 0.5), ("c", "d", 1.5)])
    g.add_edge("d", "e")  # default weight 1
    result = maxcut_qaoa(g, 2, seed=1, steps=40, restarts=2, shots=200, dtype=torch.complex128, device="cpu")
    assert result.nodes == ("a", "b", "c", "d", "e")
    assert result.max_cut == pytest.approx(_tiny_brute_force(g), abs=1e-12)
    side0, side1 = result.partition
    assert side0 | side1 == set(g.nodes) and not side0 & side1
    assert nx.cut_size(g, side1, weight="weight") == pytest.approx(result.best_cut.value, abs=1e-12)
    dense = _dense_qaoa(g, result.gammas, result.betas)
    assert result.expectation == pytest.approx(dense, abs=1e-8)
    assert result.expectation <= result.max_cut + 1e-9  # an average of cuts never exceeds the best cut
    assert result.best_cut.value <= result.max_cut + 1e-9
    assert 0.5 < result.approximation_ratio <= 1.0


def test_multistart_is_repeatable_and_no_worse_than_its_first_start():
    g = _random_graph(5, 7)
    kwargs = dict(seed=3, steps=30, dtype=torch.complex128, device="cpu")
    one = maxcut_qaoa(g, 1, restarts=1, **kwargs)
    many = maxcut_qaoa(g, 1, restarts=4, **kwargs)
    again = maxcut_qaoa(g, 1, restarts=4, **kwargs)
    assert many.expectation == again.expectation and many.best_cut == again.best_cut
    # Start 0 of the four is the single start, optimised independently in the batch.
    assert many.expectation >= one.expectation - 1e-9


def test_circuit_resources():
    problem = maxcut_problem(nx.cycle_graph(5))
    circuit = qaoa_circuit(problem, 3)
    assert circuit.count_ops() == {"h": 5, "rzz": 15, "rx": 15}
    assert circuit.parameters == ["g0", "b0", "g1", "b1", "g2", "b2"]


@pytest.mark.parametrize(
    "graph, message",
    [
        (nx.DiGraph([(0, 1)]), "undirected"),
        (nx.MultiGraph([(0, 1), (0, 1)]), "multigraphs"),
        (nx.Graph([(0, 0), (0, 1)]), "self-loop"),
        (nx.empty_graph(3), "no edges"),
        (nx.Graph([(0, 1, {"weight": 0}), (1, 2, {"weight": 0})]), "every edge weight is 0"),
    ],
)
def test_bad_graphs_say_what_to_do(graph, message):
    with pytest.raises(ValueError, match=message):
        maxcut_problem(graph)


def test_bad_depth_says_what_to_do():
    with pytest.raises(ValueError, match=r"p \(the number of QAOA layers\) must be a positive integer; got 0"):
        maxcut_qaoa(nx.cycle_graph(4), 0)
