"""Grover search: circuits built from an oracle, and a search function around them.

With ``M`` marked states out of ``N = 2**n`` and ``sin(theta) = sqrt(M/N)``, ``k`` Grover
iterations from the uniform superposition leave probability ``sin^2((2k+1) theta)`` on the
marked set (Boyer, Brassard, Hoyer, Tapp, quant-ph/9605034, eq. 1); ``k = floor(pi/4 *
sqrt(N/M))`` is the default. One iteration is the oracle (-1 on marked states) followed by
the diffusion ``I - 2|s><s|``, built as ``H X MCZ X H`` on every wire. (The textbook
"inversion about the mean" is ``2|s><s| - I``; the two differ by a global phase of -1 per
iteration, which no measurement sees.)

Two paths build the same unitary on the search register:

* **gate level** (default): the oracle's own gates (multi-controlled Z's, or a reversible
  CNF circuit with ancillas) and the diffusion from H, X and one multi-controlled Z, all
  ordinary gates that export to Qiskit/QASM;
* **structure-aware** (``structure_aware=True``): the oracle as one ``diagonal`` phase gate
  on the search register (from the classical predicate, no ancillas) and the diffusion as
  H's around one ``diagonal`` reflection of |0...0>; fewer passes over the state, but it
  needs the marked set written out, so it is a simulation shortcut, not a circuit for
  hardware.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable

import numpy as np
import torch

from hybrid import Circuit, simulate
from hybrid._checks import non_negative_int, positive_int

from .noise import with_noise
from .oracles import Oracle, marked_oracle

__all__ = [
    "GroverResult",
    "optimal_iterations",
    "success_probability",
    "diffusion",
    "grover_operator",
    "grover_from_oracle",
    "grover_circuit",
    "grover_search",
]


def optimal_iterations(n_qubits: int, n_marked: int) -> int:
    """``floor(pi/4 * sqrt(N/M))``, the iteration count that (nearly) maximises success."""
    if not 1 <= n_marked <= 2**n_qubits:
        raise ValueError(f"the number of marked states must be in 1..{2**n_qubits}; got {n_marked}")
    return math.floor(math.pi / 4 * math.sqrt(2**n_qubits / n_marked))


def success_probability(n_qubits: int, n_marked: int, iterations: int) -> float:
    """The closed form ``sin^2((2k+1) theta)``, ``sin(theta) = sqrt(M/N)``."""
    theta = math.asin(math.sqrt(n_marked / 2**n_qubits))
    return math.sin((2 * iterations + 1) * theta) ** 2


def diffusion(n_qubits: int, *, structure_aware: bool = False) -> Circuit:
    """``I - 2|s><s|`` on ``n_qubits`` wires (``|s>`` the uniform superposition)."""
    c = Circuit(n_qubits)
    wires = range(n_qubits)
    for w in wires:
        c.h(w)
    if structure_aware:
        reflect = torch.ones(2**n_qubits, dtype=torch.complex128)
        reflect[0] = -1
        c.diagonal(reflect, list(wires))
    else:
        for w in wires:
            c.x(w)
        c.mcz(list(range(n_qubits - 1)), n_qubits - 1)  # -1 on |1...1>
        for w in wires:
            c.x(w)
    for w in wires:
        c.h(w)
    return c


def _oracle_step(oracle: Oracle, structure_aware: bool) -> Circuit:
    if not structure_aware:
        return oracle.circuit
    phases = 1 - 2 * oracle.mask.to(torch.complex128)  # +1 unmarked, -1 marked
    return Circuit(oracle.n_qubits).diagonal(phases, list(range(oracle.n_qubits)))


def grover_operator(oracle: Oracle, *, structure_aware: bool = False) -> Circuit:
    """One Grover iteration: the oracle, then the diffusion on the search register.

    Gate level it spans the oracle's ancillas too; structure-aware it has only the
    ``oracle.n_qubits`` search wires.
    """
    step = _oracle_step(oracle, structure_aware)
    return step.copy().compose(diffusion(oracle.n_qubits, structure_aware=structure_aware))


def grover_from_oracle(oracle: Oracle, iterations: int, *, structure_aware: bool = False, noise=None) -> Circuit:
    """H on the search register, then ``iterations`` Grover iterations of ``oracle``;
    ``noise`` (a model with ``apply``, see :mod:`circuits.noise`) makes it the noisy circuit."""
    iterations = non_negative_int(iterations, "iterations")
    step = grover_operator(oracle, structure_aware=structure_aware)
    c = Circuit(step.n_qubits)
    for w in range(oracle.n_qubits):
        c.h(w)
    for _ in range(int(iterations)):
        c.compose(step)
    return with_noise(c, noise)


def grover_circuit(
    n_qubits: int,
    marked: Iterable[int | str] | int | str,
    iterations: int | None = None,
    *,
    structure_aware: bool = False,
    noise=None,
) -> Circuit:
    """Grover's circuit searching for ``marked`` among ``2**n_qubits`` basis states.

    Args:
        n_qubits: search-register size (wire 0 is the most significant bit).
        marked: basis indices or bitstrings such as ``"0101"`` (validated: length,
            range, duplicates, not empty, not every state).
        iterations: Grover iterations; ``None`` gives ``floor(pi/4 * sqrt(N/M))``.
        structure_aware: build the oracle and the reflection as diagonal gates (faster
            to simulate, same unitary) instead of multi-controlled Z's.
        noise: ``None`` (ideal) or a noise model with ``apply(circuit)`` (a
            ``hybrid.noise.NoiseModel``, or :class:`circuits.noise.GateNoise`); the
            circuit returned then holds its channels (simulate it with the density
            matrix or trajectories). Noise attaches to the gates as built here: an
            oracle's or the diffusion's multi-controlled Z is one gate.
    """
    oracle = marked_oracle(n_qubits, marked)
    k = optimal_iterations(oracle.n_qubits, oracle.n_marked) if iterations is None else iterations
    return grover_from_oracle(oracle, k, structure_aware=structure_aware, noise=noise)


# --- the search --------------------------------------------------------------------------


@dataclass(frozen=True)
class GroverResult:
    """The outcome of :func:`grover_search`.

    Attributes:
        n_qubits: search-register size; ``qubits`` is what was simulated (with ancillas).
        iterations: Grover iterations of the last run.
        oracle_queries: oracle calls in all runs together (one run: ``iterations``; a
            randomized schedule: the sum over its rounds). Each shot of a run would
            cost that run's queries again on hardware.
        success_probability: exact probability of the marked set in the last run's state.
        counts: measured search-register bitstrings and how often each came up (one shot
            per round with the randomized schedule).
        solutions: measured bitstrings that pass the classical oracle, most frequent first.
        n_marked: the true number of marked states (from the classical oracle; reporting only).
        schedule: iterations of each run, in order.
    """

    n_qubits: int
    qubits: int
    iterations: int
    oracle_queries: int
    success_probability: float
    counts: dict[str, int]
    solutions: tuple[str, ...]
    n_marked: int
    schedule: tuple[int, ...]

    @property
    def found(self) -> bool:
        return bool(self.solutions)

    @property
    def best(self) -> str | None:
        """The most frequently measured solution (``None`` if none was measured)."""
        return self.solutions[0] if self.solutions else None


def grover_search(
    problem: int | Oracle,
    marked: Iterable[int | str] | int | str | None = None,
    *,
    n_solutions: int | None = None,
    iterations: int | None = None,
    shots: int = 1024,
    seed: int | None = None,
    device: str | torch.device = "auto",
    dtype: torch.dtype = torch.complex64,
    structure_aware: bool = False,
    max_queries: int | None = None,
) -> GroverResult:
    """Run Grover search and check the measured candidates classically.

    Args:
        problem: the search-register size (then give ``marked``) or an :class:`Oracle`
            (from :func:`~circuits.oracles.oracle_from_predicate`, ``oracle_from_cnf``...).
        marked: the marked set when ``problem`` is a number of qubits.
        n_solutions: the number of solutions M, when known, for predicate/CNF oracles.
        iterations: run exactly this many iterations (overrides everything else).
        shots: samples drawn from the final state (single-run mode).
        seed: seeds the sampling and the randomized schedule.
        device, dtype: where and how precisely the state is simulated.
        structure_aware: simulate with the diagonal oracle and reflection.
        max_queries: oracle-call budget of the randomized schedule; default
            ``ceil(16 sqrt(N))``, about 3.5x BBHT's bound on the expected cost for one
            solution, so a formula with no solution ends with ``found == False``.

    How the iteration count is chosen: ``iterations`` if given; else the optimum for M
    when M is known (an explicit marked set, or ``n_solutions``); else the randomized
    schedule of Boyer, Brassard, Hoyer and Tapp (quant-ph/9605034, section 4): start
    with m = 1; each round draws j uniformly from 0..ceil(m)-1, runs j iterations,
    measures once and checks the outcome classically; on a miss m grows by 6/5 (up to
    sqrt(N)). Expected cost O(sqrt(N/M)) oracle queries without knowing M.
    """
    oracle = _as_oracle(problem, marked)
    shots = positive_int(shots, "shots")
    if n_solutions is not None:  # zero solutions leave nothing to amplify
        n_solutions = positive_int(n_solutions, "n_solutions")
    if iterations is None and n_solutions is None and not oracle.count_known:
        return _bbht(oracle, seed, device, dtype, structure_aware, max_queries)
    if iterations is None:
        iterations = optimal_iterations(oracle.n_qubits, oracle.n_marked if n_solutions is None else n_solutions)
    state = _run(oracle, iterations, device, dtype, structure_aware)
    counts = state.counts(shots, wires=list(range(oracle.n_qubits)), seed=seed)
    return _result(oracle, state, counts, (int(iterations),))


def _as_oracle(problem, marked) -> Oracle:
    if isinstance(problem, Oracle):
        if marked is not None:
            raise ValueError("give either an Oracle or n_qubits with marked, not both")
        return problem
    if marked is None:
        raise ValueError("grover_search(n_qubits, marked=...) needs the marked states (or pass an Oracle)")
    return marked_oracle(problem, marked)


def _run(oracle: Oracle, iterations: int, device, dtype, structure_aware: bool):
    return simulate(grover_from_oracle(oracle, iterations, structure_aware=structure_aware), device=device, dtype=dtype)


def _result(oracle: Oracle, state, counts: dict[str, int], schedule: tuple[int, ...]) -> GroverResult:
    probs = state.probs(list(range(oracle.n_qubits))).detach().cpu().double()
    p = float(probs[oracle.mask].sum())
    hits = sorted((b for b in counts if oracle.is_marked(b)), key=lambda b: (-counts[b], b))
    return GroverResult(
        oracle.n_qubits, state.n_qubits, schedule[-1], sum(schedule), p, dict(counts), tuple(hits),
        oracle.n_marked, schedule,
    )  # fmt: skip


def _bbht(oracle: Oracle, seed, device, dtype, structure_aware: bool, max_queries: int | None) -> GroverResult:
    """The randomized schedule for an unknown number of solutions (see :func:`grover_search`)."""
    n = oracle.n_qubits
    budget = math.ceil(16 * math.sqrt(2**n)) if max_queries is None else int(max_queries)
    rng = np.random.default_rng(seed)
    m, schedule, counts = 1.0, [], {}
    while True:
        j = int(rng.integers(0, math.ceil(m)))
        if schedule and sum(schedule) + j > budget:
            break
        state = _run(oracle, j, device, dtype, structure_aware)
        schedule.append(j)
        (outcome,) = state.counts(1, wires=list(range(n)), seed=int(rng.integers(2**31)))
        counts[outcome] = counts.get(outcome, 0) + 1
        if oracle.is_marked(outcome):
            break
        m = min(6 / 5 * m, math.sqrt(2**n))
    return _result(oracle, state, counts, tuple(schedule))
