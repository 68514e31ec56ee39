"""Classical brute-force search: the counterpart Grover's algorithm is measured against.

An unstructured search problem on ``n`` bits is a predicate over the ``N = 2**n``
candidates, here evaluated in torch over whole chunks of candidate indices at once (on the
GPU when present). Candidates are basis indices with bit ``n-1-w`` holding wire ``w``
(wire 0 is the most significant bit), the same order as the quantum register.

A classical search that stops at the first solution evaluates on average
``(N + 1) / (M + 1)`` candidates in a random order (about ``N/2`` for one solution);
finding every solution takes all ``N``. Grover needs about ``(pi/4) sqrt(N/M)`` queries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import torch

from hybrid.sim.device import resolve_device
from hybrid._checks import positive_int

__all__ = [
    "SearchResult",
    "brute_force_search",
    "marked_set_predicate",
    "cnf_predicate",
    "cnf_satisfied",
]

#: A vectorised classical oracle: int64 candidate indices ``(C,)`` -> bool ``(C,)``.
BatchPredicate = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class SearchResult:
    """What a brute-force search found.

    Attributes:
        solutions: the solutions seen, in increasing index order.
        evaluations: oracle evaluations a one-at-a-time scan in the same order makes:
            ``N`` when every candidate is checked, else the position of the first solution
            (1-based; ``N`` when there is none).
        n_candidates: ``N = 2**n``.
        first_solution: the first solution in scan order (``None`` if there is none).
    """

    solutions: tuple[int, ...]
    evaluations: int
    n_candidates: int
    first_solution: int | None


def brute_force_search(
    n: int,
    predicate: BatchPredicate,
    *,
    stop_at_first: bool = False,
    seed: int | None = None,
    device: str | torch.device = "auto",
    chunk_size: int = 2**20,
) -> SearchResult:
    """Evaluate ``predicate`` on the ``2**n`` candidates, a chunk at a time.

    Args:
        n: number of bits.
        predicate: vectorised oracle, int64 indices ``(C,)`` -> bool ``(C,)``.
        stop_at_first: stop after the chunk holding the first solution (the evaluation
            count is still that of a one-at-a-time scan: the first solution's position).
        seed: scan the candidates in a random order drawn from this seed (the order
            that makes the expected cost ``(N+1)/(M+1)`` whatever the solutions are);
            ``None`` scans 0, 1, 2, ...
        device: where the candidates are evaluated; ``"auto"`` picks CUDA when present.
        chunk_size: candidates evaluated per vectorised call (bounds memory).
    """
    n = positive_int(n, "n (the number of bits)")
    dev = resolve_device(device)
    total = 2**n
    order = None
    if seed is not None:
        order = torch.randperm(total, generator=torch.Generator().manual_seed(seed)).to(dev)
    found: list[torch.Tensor] = []
    first, evaluations = None, total
    for start in range(0, total, chunk_size):
        stop = min(start + chunk_size, total)
        idx = order[start:stop] if order is not None else torch.arange(start, stop, device=dev)
        hits = _as_mask(predicate(idx), idx)
        found.append(idx[hits])
        if first is None and bool(hits.any()):
            pos = int(torch.nonzero(hits)[0, 0])
            first = int(idx[pos])
            if stop_at_first:
                evaluations = start + pos + 1
                break
    solutions = torch.cat(found).sort().values.tolist() if found else []
    return SearchResult(tuple(solutions), evaluations, total, first)


def _as_mask(result, idx: torch.Tensor) -> torch.Tensor:
    mask = torch.as_tensor(result, device=idx.device)
    if mask.shape != idx.shape:
        raise ValueError(
            f"the predicate must return one bool per candidate, shape {tuple(idx.shape)}; got {tuple(mask.shape)}"
        )
    return mask.bool()


def marked_set_predicate(marked: Sequence[int]) -> BatchPredicate:
    """The oracle of an explicit marked set of indices."""
    table = torch.tensor(sorted(set(int(m) for m in marked)), dtype=torch.long)

    def predicate(idx: torch.Tensor) -> torch.Tensor:
        return torch.isin(idx, table.to(idx.device))

    return predicate


def cnf_satisfied(clauses: Sequence[Sequence[int]], n_vars: int, indices: torch.Tensor) -> torch.Tensor:
    """Which assignments satisfy a CNF formula, vectorised.

    Args:
        clauses: DIMACS-style literals: ``v`` means variable ``v`` (1-based) is true,
            ``-v`` that it is false. Variable ``v`` is wire ``v-1`` (wire 0 the MSB).
        n_vars: number of variables.
        indices: int64 assignments ``(C,)``.

    Returns:
        bool ``(C,)``: every clause has a true literal.
    """
    sat = torch.ones(indices.shape, dtype=torch.bool, device=indices.device)
    for clause in clauses:
        any_true = torch.zeros_like(sat)
        for lit in clause:
            bit = ((indices >> (n_vars - abs(lit))) & 1).bool()
            any_true |= bit if lit > 0 else ~bit
        sat &= any_true
    return sat


def cnf_predicate(clauses: Sequence[Sequence[int]], n_vars: int) -> BatchPredicate:
    """The vectorised oracle of a CNF formula (see :func:`cnf_satisfied`)."""
    frozen = tuple(tuple(int(lit) for lit in c) for c in clauses)
    return lambda idx: cnf_satisfied(frozen, n_vars, idx)
