"""The swap scheduler of a sharded statevector: which index bits to exchange, and when.

With ``2**k`` processes the ``n`` *physical* index bits split into ``k`` global ones
(positions ``0..k-1``: the process's number, position 0 its most significant bit) and
``n - k`` local ones (positions ``k..n-1``: local wire ``p - k`` of each process's shard).
A map ``where[q]`` says at which position logical wire ``q`` sits; it starts as the
identity.

What each gate needs (decided here, applied by :mod:`.sharded`):

* a non-diagonal gate (dense or permutation) needs its *targets* at local positions; its
  controls may be global (a process knows its own global bits: it applies the gate with
  those controls dropped, or skips it);
* a diagonal gate needs nothing: a global target's bit is fixed on each process, which
  applies the slice of the phases that matches it;
* a plain SWAP gate only relabels ``where`` (no data moves).

When a gate's targets are not all local, one :class:`Swap` exchanges ``m`` global
positions with ``m`` local ones (one all-to-all, each process keeping ``2**-m`` of its
data). It is chosen greedily, as Häner and Steiger's scheduler does (arXiv:1704.01127):
the global wires the gate needs come in, plus every other global wire that some later
gate needs before the local wire it would evict (so one exchange serves as many gates as
possible), and the local wires that leave are those needed last (or never; Belady's
rule). Nothing is swapped back after the gate: the map stays as it is until a later gate,
a readout or :func:`restore_swaps` needs otherwise.

This module is structure only (wires and gate kinds): the plan built from it is cached
per circuit version, and it is exhaustively tested against dense results without any
process group (``tests/test_sharded.py``).
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass

from . import gates as g
from .instructions import Operation

__all__ = ["Swap", "Gate", "schedule", "restore_swaps", "bring_local", "needs_local", "is_relabel", "swap_fraction"]


@dataclass(frozen=True)
class Swap:
    """Exchange physical positions ``pairs[j][0]`` (global) and ``pairs[j][1]`` (local);
    the global positions are sorted."""

    pairs: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Gate:
    """Circuit op ``index`` as ``physical`` (the op with every wire replaced by its position)."""

    index: int
    physical: Operation


def is_relabel(op) -> bool:
    """A plain SWAP gate: applied by exchanging two entries of the map."""
    return isinstance(op, Operation) and op.gate is g.SWAP and not op.controls and op.condition is None


def needs_local(op) -> tuple[int, ...]:
    """The logical wires of ``op`` that must sit at local positions when it runs."""
    if not isinstance(op, Operation) or op.gate.kind is g.Kind.DIAGONAL or is_relabel(op):
        return ()
    return op.wires


def swap_fraction(m: int) -> float:
    """The share of its amplitudes each process sends in a swap of ``m`` index bits."""
    return 1 - 2.0**-m if m else 0.0


def _next_uses(ops) -> dict[int, list[int]]:
    uses: dict[int, list[int]] = {}
    for i, op in enumerate(ops):
        for q in needs_local(op):
            uses.setdefault(q, []).append(i)
    return uses


def _next_use(uses: dict[int, list[int]], q: int, start: int) -> float:
    times = uses.get(q, ())
    j = bisect.bisect_left(times, start)
    return times[j] if j < len(times) else math.inf


def _swap(where: list[int], who: list[int], pairs) -> None:
    for a, b in pairs:
        qa, qb = who[a], who[b]
        who[a], who[b] = qb, qa
        where[qa], where[qb] = b, a


def schedule(ops, n: int, k: int, where: list[int] | None = None, window: int = 4096) -> tuple[tuple, tuple[int, ...]]:
    """``(items, final map)``: the circuit as :class:`Gate` and :class:`Swap` items for
    ``2**k`` processes, starting from the map ``where`` (default: the identity).

    Gates run as soon as their targets are local, ahead of earlier gates they share no
    wire with (the order on each wire is kept); only when no pending gate (within
    ``window`` of the first) can run does a swap come, chosen for the first of them."""
    where = list(range(n)) if where is None else list(where)
    who = [0] * n
    for q, p in enumerate(where):
        who[p] = q
    local_count = n - k
    for i, op in enumerate(ops):
        if len(needs_local(op)) > local_count:
            raise ValueError(f"op {i} ({op.name}) acts on {len(needs_local(op))} wires; a shard has only {local_count} local ones")
    uses = _next_uses(ops)
    items: list = []
    pending = list(range(len(ops)))
    while pending:
        blocked: set[int] = set()
        rest: list[int] = []
        first_stuck = None
        for pos, i in enumerate(pending):
            op = ops[i]
            wires = set(op.all_wires)
            if pos >= window or wires & blocked:
                blocked |= wires
                rest.append(i)
                continue
            if is_relabel(op):
                a, b = op.wires
                pa, pb = where[a], where[b]
                where[a], where[b], who[pa], who[pb] = pb, pa, b, a
                continue
            if any(where[q] < k for q in needs_local(op)):
                blocked |= wires
                rest.append(i)
                if first_stuck is None:
                    first_stuck = i
                continue
            items.append(Gate(i, op.remap(where)))
        pending = rest
        if pending:
            i = first_stuck if first_stuck is not None else pending[0]
            op = ops[i]
            targets = needs_local(op)
            missing = [q for q in targets if where[q] < k]
            pairs = _choose_swap(missing, set(targets), where, who, uses, i, n, k)
            _swap(where, who, pairs)
            items.append(Swap(pairs))
    return tuple(items), tuple(where)


def _choose_swap(missing, targets: set[int], where, who, uses, now: int, n: int, k: int) -> tuple:
    # Local wires that may leave, needed last first.
    leaving = sorted((q for q in who[k:] if q not in targets), key=lambda q: -_next_use(uses, q, now))
    incoming = [(q, now) for q in missing]  # the gate's own: always
    others = sorted((who[p] for p in range(k) if who[p] not in missing), key=lambda q: _next_use(uses, q, now))
    incoming += [(q, _next_use(uses, q, now)) for q in others]
    pairs = []
    for (q, when), out in zip(incoming, leaving):
        if len(pairs) >= len(missing) and not _next_use(uses, out, now) > when:
            break  # evicting ``out`` would cost an exchange before ``q`` saves one
        if when == math.inf:
            break
        pairs.append((where[q], where[out]))
    if len(pairs) < len(missing):
        raise ValueError("not enough local wires to make a gate's targets local")
    return tuple(sorted(pairs))


def bring_local(wires, where: list[int], n: int, k: int) -> Swap | None:
    """One swap that makes every wire of ``wires`` local (for a readout), or ``None``."""
    need = [q for q in wires if where[q] < k]
    if not need:
        return None
    who = [0] * n
    for q, p in enumerate(where):
        who[p] = q
    leaving = [q for q in who[k:] if q not in set(wires)]
    if len(leaving) < len(need):
        raise ValueError(f"{len(set(wires))} wires do not fit in a shard's {n - k} local wires at once")
    return Swap(tuple(sorted((where[q], where[out]) for q, out in zip(need, leaving))))


def restore_swaps(where: list[int], n: int, k: int) -> tuple[list[Swap], tuple[int, ...]]:
    """The swaps (at most two) that put logical wires ``0..k-1`` back at global positions
    ``0..k-1``, and the map after them (its local part is then a permutation of the
    local positions, which the caller undoes with a local transpose)."""
    where = list(where)
    who = [0] * n
    for q, p in enumerate(where):
        who[p] = q
    swaps = []
    while any(who[p] != p for p in range(k)):
        used: set[int] = set()
        pairs = []
        spare = [p for p in range(k, n) if who[p] >= k]  # local positions holding local-owned wires
        for p in range(k):
            if who[p] == p:
                continue
            home = where[p]  # where logical wire p sits now
            if home >= k and home not in used:
                pairs.append((p, home))  # wire p comes straight home
                used.add(home)
            else:  # wire p sits at another global position: move this one out first
                local = next(s for s in spare if s not in used and s not in set(where[q] for q in range(k)))
                pairs.append((p, local))
                used.add(local)
        _swap(where, who, pairs)
        swaps.append(Swap(tuple(sorted(pairs))))
    return swaps, tuple(where)
