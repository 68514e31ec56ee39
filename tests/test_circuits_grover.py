"""Grover search against closed forms, brute force and Qiskit's Statevector."""

import itertools
import math

import numpy as np
import pytest
import torch
from qiskit import qasm2
from qiskit.quantum_info import Statevector

import hybrid
from circuits.grover import (
    diffusion,
    grover_circuit,
    grover_from_oracle,
    grover_operator,
    grover_search,
    optimal_iterations,
)
from circuits.oracles import Cnf, marked_oracle, oracle_from_cnf, oracle_from_predicate, parse_dimacs, parse_marked
from circuits.search_classical import brute_force_search, cnf_satisfied, marked_set_predicate
from hybrid import Circuit, simulate
from hybrid.interop.qiskit import from_qiskit_order

C128 = torch.complex128


def closed_form(n: int, m: int, k: int) -> float:
    """sin^2((2k+1) theta), sin(theta) = sqrt(M/N) (Boyer, Brassard, Hoyer, Tapp, eq. 1)."""
    theta = math.asin(math.sqrt(m / 2**n))
    return math.sin((2 * k + 1) * theta) ** 2


def marked_probability(state, n: int, marked) -> float:
    return float(state.probs(list(range(n)))[list(marked)].sum())


def unitary_of(c: Circuit) -> np.ndarray:
    cols = [simulate(c, initial_state=i, dtype=C128).vector.numpy() for i in range(2**c.n_qubits)]
    return np.stack(cols, axis=1)


def satisfying(clauses, n_vars) -> set[str]:
    """Brute force in plain Python: the assignments (as bitstrings) that satisfy every clause."""
    out = set()
    for bits in itertools.product("01", repeat=n_vars):
        value = {v + 1: b == "1" for v, b in enumerate(bits)}
        if all(any(value[abs(lit)] == (lit > 0) for lit in clause) for clause in clauses):
            out.add("".join(bits))
    return out


# --- closed form ---------------------------------------------------------------------------


def _marked_sets(n: int) -> list[list[int]]:
    rng = np.random.default_rng(100 + n)
    count = 3 if n <= 8 else 1
    sizes = [1] + [int(rng.integers(2, max(3, 2**n // 3))) for _ in range(count - 1)]
    if n >= 11:
        sizes = [int(rng.integers(1, 4))]
    return [sorted(rng.choice(2**n, size=m, replace=False).tolist()) for m in sizes]


@pytest.mark.parametrize("n", range(2, 13))
def test_marked_probability_follows_the_closed_form_for_every_k(n):
    for marked in _marked_sets(n):
        m = len(marked)
        k_opt = math.floor(math.pi / 4 * math.sqrt(2**n / m))
        # Every k through the full builder where that is cheap; from n = 8 by applying the
        # Grover iterate to the previous state, with the full builder checked at k_opt.
        direct = n <= 7
        step = grover_operator(marked_oracle(n, marked))
        state = simulate(grover_circuit(n, marked, 0), dtype=C128)
        for k in range(k_opt + 1):
            if direct:
                state = simulate(grover_circuit(n, marked, k), dtype=C128)
            elif k > 0:
                state = simulate(step, initial_state=state.vector, dtype=C128)
            assert marked_probability(state, n, marked) == pytest.approx(closed_form(n, m, k), abs=1e-9), (n, m, k)
        default = simulate(grover_circuit(n, marked), dtype=C128)  # iterations=None is k_opt
        np.testing.assert_allclose(default.vector.numpy(), state.vector.numpy(), atol=1e-9)


def test_quarter_marked_is_found_with_certainty_after_one_iteration():
    # M = N/4: theta = pi/6 and sin^2(3 theta) = 1 exactly.
    marked = ["0001", "0110", "1011", "1100"]
    assert optimal_iterations(4, 4) == 1
    result = grover_search(4, marked, shots=500, seed=2, dtype=C128)
    assert result.success_probability == pytest.approx(1.0, abs=1e-12)
    assert set(result.counts) == set(marked)  # nothing else can be measured
    assert set(result.solutions) == set(marked)
    assert result.oracle_queries == result.iterations == 1


def test_bitstrings_and_indices_mark_the_same_states():
    a = simulate(grover_circuit(5, ["00011", "10100"], 3), dtype=C128).vector
    b = simulate(grover_circuit(5, [3, 20], 3), dtype=C128).vector
    np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-14)
    assert marked_probability(simulate(grover_circuit(5, [3, 20], 3), dtype=C128), 5, [3, 20]) == pytest.approx(
        closed_form(5, 2, 3), abs=1e-9
    )


# --- building blocks against their matrices ------------------------------------------------


@pytest.mark.parametrize("structure_aware", [False, True])
def test_diffusion_is_the_reflection_about_the_uniform_state(structure_aware):
    n = 3
    s = np.full(2**n, 2 ** (-n / 2))
    expected = np.eye(2**n) - 2 * np.outer(s, s)
    np.testing.assert_allclose(unitary_of(diffusion(n, structure_aware=structure_aware)), expected, atol=1e-12)


def test_marked_oracle_is_the_sign_flip_diagonal():
    marked = [0, 5, 7]  # |000> needs the X-wrapped target, |111> has no zero control
    expected = np.diag([-1.0 if i in marked else 1.0 for i in range(8)])
    np.testing.assert_allclose(unitary_of(marked_oracle(3, marked).circuit), expected, atol=1e-12)


@pytest.mark.parametrize("n, marked, k", [(5, [1, 9, 30], 2), (7, [0, 127], 4), (10, [5, 600, 1000, 1023], 6)])
def test_gate_level_and_structure_aware_paths_agree(n, marked, k):
    gate = simulate(grover_circuit(n, marked, k), dtype=C128).vector
    fast = simulate(grover_circuit(n, marked, k, structure_aware=True), dtype=C128).vector
    np.testing.assert_allclose(gate.numpy(), fast.numpy(), atol=1e-12)
    ops = grover_circuit(n, marked, k, structure_aware=True).count_ops()
    assert ops.get("diagonal") == 2 * k and "mcz" not in ops  # the labelled path really is diagonal gates


# --- predicate oracles ---------------------------------------------------------------------


def _pred(bits: str) -> bool:
    return int(bits, 2) % 7 == 3 and bits.count("1") >= 3


def test_predicate_oracle_finds_exactly_the_brute_force_solutions():
    n = 7
    expected = {b for b in ("".join(t) for t in itertools.product("01", repeat=n)) if _pred(b)}
    oracle = oracle_from_predicate(n, _pred)
    assert {format(i, "07b") for i in oracle.marked} == expected
    result = grover_search(oracle, n_solutions=len(expected), shots=20000, seed=4, dtype=C128)
    assert set(result.solutions) == expected
    k = math.floor(math.pi / 4 * math.sqrt(2**n / len(expected)))
    assert result.iterations == result.oracle_queries == k
    assert result.success_probability == pytest.approx(closed_form(n, len(expected), k), abs=1e-9)
    assert result.n_marked == len(expected)


@pytest.mark.parametrize("seed", range(4))
def test_randomized_schedule_finds_a_solution_without_knowing_m(seed):
    oracle = oracle_from_predicate(8, lambda b: b in ("10110001", "01011110"))
    result = grover_search(oracle, seed=seed)
    assert result.found and result.best in ("10110001", "01011110")
    assert result.oracle_queries == sum(result.schedule) <= math.ceil(16 * math.sqrt(256))
    assert result.schedule[0] == 0  # BBHT starts with m = 1, so j = 0


def test_randomized_schedule_gives_up_when_nothing_is_marked():
    oracle = oracle_from_predicate(5, lambda b: False)
    result = grover_search(oracle, seed=0, max_queries=40)
    assert not result.found and result.n_marked == 0
    assert result.oracle_queries <= 40


# --- CNF oracles ---------------------------------------------------------------------------

DIMACS = """c a small satisfiable 3-SAT instance
c variables 1..5 are wires 0..4
p cnf 5 7
1 -2 3 0
-1 2 0
2 -3 4 0
-4 -5
0
3 5 -1 0
-2 -3 -5 0
1 5 0
"""


def test_parse_dimacs_reads_clauses_across_lines():
    cnf = parse_dimacs(DIMACS)
    assert cnf == Cnf(5, ((1, -2, 3), (-1, 2), (2, -3, 4), (-4, -5), (3, 5, -1), (-2, -3, -5), (1, 5)))
    assert parse_dimacs("p cnf 2 1\n1 -2 0\n%\n0\n").clauses == ((1, -2),)  # SATLIB ending


def test_cnf_oracle_flips_exactly_the_satisfying_assignments_and_cleans_its_ancillas():
    cnf = parse_dimacs(DIMACS)
    expected = satisfying(cnf.clauses, cnf.n_vars)
    oracle = oracle_from_cnf(cnf)
    n, a = oracle.n_qubits, oracle.n_ancillas
    assert (n, a) == (5, 7)
    for x in range(2**n):
        out = simulate(oracle.circuit, initial_state=x << a, dtype=C128).vector.numpy()
        sign = -1.0 if format(x, "05b") in expected else 1.0
        target = np.zeros(2 ** (n + a), dtype=complex)
        target[x << a] = sign
        np.testing.assert_allclose(out, target, atol=1e-12)


def test_cnf_grover_finds_exactly_the_brute_force_solutions():
    cnf = parse_dimacs(DIMACS)
    expected = satisfying(cnf.clauses, cnf.n_vars)
    assert 0 < len(expected) < 2**5 / 4  # a search worth amplifying
    oracle = oracle_from_cnf(cnf)
    result = grover_search(oracle, n_solutions=len(expected), shots=4000, seed=1, dtype=C128)
    assert set(result.solutions) == expected
    assert result.qubits == 12
    k = math.floor(math.pi / 4 * math.sqrt(32 / len(expected)))
    assert result.success_probability == pytest.approx(closed_form(5, len(expected), k), abs=1e-9)
    bbht = grover_search(oracle, seed=3)
    assert bbht.found and set(bbht.solutions) <= expected


def test_cnf_gate_level_matches_structure_aware_with_ancillas_at_zero():
    oracle = oracle_from_cnf(parse_dimacs(DIMACS))
    n, a = oracle.n_qubits, oracle.n_ancillas
    for k in (1, 2):
        gate = simulate(grover_from_oracle(oracle, k), dtype=C128).vector.reshape(2**n, 2**a)
        fast = simulate(grover_from_oracle(oracle, k, structure_aware=True), dtype=C128).vector
        np.testing.assert_allclose(gate[:, 0].numpy(), fast.numpy(), atol=1e-12)
        assert float(gate[:, 1:].abs().max()) < 1e-12


def test_cnf_from_a_clause_list_drops_tautologies_and_an_empty_clause_marks_nothing():
    taut = oracle_from_cnf([[1, -1], [2, 2, -3]], n_vars=3)
    assert taut.n_ancillas == 1 and {format(i, "03b") for i in taut.marked} == satisfying([[2, -3]], 3)
    unsat = oracle_from_cnf([[1], []], n_vars=2)
    assert unsat.n_marked == 0
    for x in range(4):  # with its ancillas starting at |00>, the oracle is the identity
        out = simulate(unsat.circuit, initial_state=x << 2, dtype=C128).vector.numpy()
        np.testing.assert_allclose(out, np.eye(16)[x << 2], atol=1e-12)


# --- export ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "build",
    [
        lambda: grover_circuit(4, [0, 6, 13], 2),
        lambda: grover_from_oracle(oracle_from_cnf([[1, -2], [2, 3], [-1, -3]], n_vars=3), 1),
        lambda: grover_circuit(3, ["101"], 1, structure_aware=True),
    ],
)
def test_exported_qiskit_circuit_gives_the_same_statevector(build):
    c = build()
    ours = simulate(c, dtype=C128).vector.numpy()
    theirs = from_qiskit_order(torch.as_tensor(Statevector(hybrid.to_qiskit(c)).data), c.n_qubits).numpy()
    np.testing.assert_allclose(theirs, ours, atol=1e-10)


def test_qasm_export_reproduces_the_state_up_to_a_global_phase():
    c = grover_circuit(4, ["0110", "1111"], 1)
    ours = simulate(c, dtype=C128).vector.numpy()
    # Qiskit's QASM 2 writer uses `p` inside its multi-controlled gate bodies, which only
    # the legacy instruction set (not qelib1.inc alone) declares.
    text = hybrid.to_qasm(c)
    qc = qasm2.loads(text, custom_instructions=qasm2.LEGACY_CUSTOM_INSTRUCTIONS)
    theirs = from_qiskit_order(torch.as_tensor(Statevector(qc).data), 4).numpy()
    assert abs(np.vdot(theirs, ours)) == pytest.approx(1.0, abs=1e-10)
    again = simulate(hybrid.from_qasm(hybrid.to_qasm(c, version=3)), dtype=C128).vector.numpy()
    assert abs(np.vdot(again, ours)) == pytest.approx(1.0, abs=1e-10)


# --- classical counterpart -----------------------------------------------------------------


def test_brute_force_search_against_a_python_scan():
    marked = [17, 200, 201, 999]
    pred = marked_set_predicate(marked)
    full = brute_force_search(10, pred, chunk_size=97, device="cpu")
    assert full.solutions == tuple(marked) and full.evaluations == 1024 and full.first_solution == 17
    first = brute_force_search(10, pred, stop_at_first=True, chunk_size=97, device="cpu")
    assert first.evaluations == 18 and first.first_solution == 17  # 0..17 in natural order
    shuffled = brute_force_search(10, pred, stop_at_first=True, seed=5, device="cpu")
    assert shuffled.first_solution in marked and 1 <= shuffled.evaluations <= 1024


def test_cnf_satisfied_matches_python_brute_force():
    rng = np.random.default_rng(0)
    n = 8
    variables = [rng.choice(np.arange(1, n + 1), 3, replace=False) for _ in range(12)]
    clauses = [[int(v) * int(rng.choice([-1, 1])) for v in vs] for vs in variables]
    mask = cnf_satisfied(clauses, n, torch.arange(2**n))
    assert {format(i, "08b") for i in torch.nonzero(mask).flatten().tolist()} == satisfying(clauses, n)


# --- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: parse_marked(3, []), ValueError, "empty"),
        (lambda: parse_marked(3, [1, "001"]), ValueError, "listed twice"),
        (lambda: parse_marked(3, [8]), ValueError, "out of range"),
        (lambda: parse_marked(3, [-1]), ValueError, "out of range"),
        (lambda: parse_marked(3, ["01"]), ValueError, "3 characters"),
        (lambda: parse_marked(3, ["01x"]), ValueError, "each 0 or 1"),
        (lambda: parse_marked(3, [1.5]), TypeError, "int index or a bitstring"),
        (lambda: parse_marked(3, None), TypeError, "iterable"),
        (lambda: parse_marked(1, [0, 1]), ValueError, "all 2 states are marked"),
        (lambda: parse_marked(0, [0]), ValueError, "positive integer"),
        (lambda: grover_circuit(3, [1], -1), ValueError, "non-negative"),
        (lambda: grover_search(3), ValueError, "needs the marked states"),
        (lambda: grover_search(marked_oracle(3, [1]), [1]), ValueError, "not both"),
        (lambda: grover_search(oracle_from_predicate(2, lambda b: True), n_solutions=0), ValueError, "n_solutions must be a positive integer; got 0"),
        (lambda: oracle_from_predicate(2, lambda b: 1), TypeError, "must return a bool"),
        (lambda: oracle_from_cnf([[1, 4]], n_vars=3), ValueError, "1 <= v <= 3"),
        (lambda: oracle_from_cnf([[1]]), ValueError, "give n_vars"),
        (lambda: parse_dimacs("1 2 0\n"), ValueError, "before the 'p cnf"),
        (lambda: parse_dimacs("p cnf 2 2\n1 2 0\n"), ValueError, "declares 2 clause"),
        (lambda: parse_dimacs("p cnf 2 1\n1 3 0\n"), ValueError, "declares 2 variable"),
        (lambda: parse_dimacs("p cnf 2 1\n1 x 0\n"), ValueError, "not an integer"),
        (lambda: parse_dimacs("p dnf 2 1\n"), ValueError, "expected 'p cnf"),
        (lambda: parse_dimacs("c nothing\n"), ValueError, "no 'p cnf"),
    ],
)
def test_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()
