"""Phase oracles for Grover search: from a marked set, a predicate, or a CNF formula.

An :class:`Oracle` pairs a gate-level phase oracle (a :class:`~hybrid.Circuit` that flips
the sign of the marked basis states of the search register, wires ``0..n-1``) with the
classical, vectorised predicate that defines it. The classical side verifies measured
candidates, gives the exact marked set for reporting, and backs the structure-aware path
(the oracle as one ``diagonal`` gate).

Candidates are basis indices with wire 0 the most significant bit; a bitstring's
character ``w`` is wire ``w``. CNF variable ``v`` (1-based, DIMACS) is wire ``v - 1``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Callable, Iterable, Sequence

import numpy as np
import torch

from hybrid import Circuit
from hybrid._checks import positive_int

from .search_classical import BatchPredicate, cnf_predicate, marked_set_predicate

__all__ = [
    "Oracle",
    "Cnf",
    "parse_marked",
    "marked_oracle",
    "oracle_from_predicate",
    "parse_dimacs",
    "oracle_from_cnf",
]


@dataclass(frozen=True, eq=False)
class Oracle:
    """A phase oracle on an ``n_qubits`` search register (plus ancillas, if any).

    Attributes:
        n_qubits: search-register size; the register is wires ``0..n_qubits-1``.
        circuit: the gate-level oracle on ``n_qubits + n_ancillas`` wires. It multiplies
            marked states by -1 and returns every ancilla to |0>.
        classical: the same oracle as a vectorised classical predicate on indices.
        count_known: the number of marked states is part of the input (an explicit
            marked set), so Grover may use it to pick the iteration count.
        label: a short description for reports.
    """

    n_qubits: int
    circuit: Circuit
    classical: BatchPredicate
    count_known: bool
    label: str

    @property
    def n_ancillas(self) -> int:
        return self.circuit.n_qubits - self.n_qubits

    @cached_property
    def mask(self) -> torch.Tensor:
        """Bool ``(2**n_qubits,)`` on the CPU: which candidates are marked (classical)."""
        return self.classical(torch.arange(2**self.n_qubits)).bool().cpu()

    @property
    def n_marked(self) -> int:
        return int(self.mask.sum())

    @property
    def marked(self) -> tuple[int, ...]:
        return tuple(torch.nonzero(self.mask).flatten().tolist())

    def is_marked(self, candidate: int | str) -> bool:
        """Check one candidate (an index or a bitstring) classically."""
        return bool(self.mask[_one_index(self.n_qubits, candidate)])


# --- marked sets -------------------------------------------------------------------------


def parse_marked(n_qubits: int, marked: Iterable[int | str] | int | str) -> tuple[int, ...]:
    """Validate a marked set and return its indices, in the order given.

    ``marked`` holds basis indices or bitstrings of length ``n_qubits`` (a single index or
    bitstring is accepted too). Empty sets, duplicates and marking all ``2**n`` states are
    errors: Grover has nothing to find, or nothing to amplify.
    """
    n_qubits = positive_int(n_qubits, "n_qubits")
    items = [marked] if isinstance(marked, int | str | np.integer) else marked
    try:
        items = list(items)
    except TypeError:
        raise TypeError(
            f"marked must be an iterable of indices or bitstrings, e.g. [3, 5] or ['011', '101']; got {marked!r}"
        ) from None
    indices = [_one_index(n_qubits, m) for m in items]
    if not indices:
        raise ValueError("the marked set is empty: give at least one index or bitstring to search for")
    seen: set[int] = set()
    for item, idx in zip(items, indices):
        if idx in seen:
            raise ValueError(f"marked state {item!r} (index {idx}) is listed twice; list each state once")
        seen.add(idx)
    if len(indices) == 2**n_qubits:
        raise ValueError(
            f"all {2**n_qubits} states are marked: every outcome is a solution and Grover has nothing to amplify"
        )
    return tuple(indices)


def _one_index(n: int, item) -> int:
    """A basis index from an index or a bitstring, range-checked."""
    if isinstance(item, str):
        if len(item) != n or set(item) - {"0", "1"}:
            raise ValueError(f"bitstring {item!r} must have {n} characters, each 0 or 1")
        return int(item, 2)
    if isinstance(item, bool) or not isinstance(item, int | np.integer):
        raise TypeError(f"a marked state is an int index or a bitstring such as {'0' * n!r}; got {item!r}")
    if not 0 <= item < 2**n:
        raise ValueError(f"index {int(item)} is out of range for {n} qubit(s): use 0..{2**n - 1}")
    return int(item)


def _phase_flips(n: int, indices: Iterable[int]) -> Circuit:
    """-1 on each basis state in ``indices``: one multi-controlled Z per state.

    The Z's target is a wire whose bit is 1 in that state (the others are controls with
    their bits as control values); only |0...0> needs X's around the target.
    """
    c = Circuit(n)
    for idx in indices:
        bits = [(idx >> (n - 1 - w)) & 1 for w in range(n)]
        target = max((w for w in range(n) if bits[w]), default=None)
        flip = target is None
        if flip:
            target = n - 1
            c.x(target)
        controls = [w for w in range(n) if w != target]
        c.mcz(controls, target, control_values=[bits[w] for w in controls])
        if flip:
            c.x(target)
    return c


def marked_oracle(n_qubits: int, marked: Iterable[int | str] | int | str) -> Oracle:
    """The oracle of an explicit marked set (validated by :func:`parse_marked`)."""
    indices = parse_marked(n_qubits, marked)
    return Oracle(
        int(n_qubits), _phase_flips(int(n_qubits), indices), marked_set_predicate(indices), True,
        f"{len(indices)} marked of {2**n_qubits}",
    )  # fmt: skip


# --- predicates --------------------------------------------------------------------------


def oracle_from_predicate(n_qubits: int, predicate: Callable[[str], bool]) -> Oracle:
    """The oracle of a Python predicate over bitstrings (``predicate("0101") -> bool``).

    The predicate is called once per candidate (``2**n`` Python calls) to lay out the
    phase flips, so the gate-level oracle holds one multi-controlled Z per solution. The
    number of solutions is not passed on to Grover (``count_known=False``): give it to
    :func:`~circuits.grover.grover_search` as ``n_solutions`` or let the search use the
    randomized schedule.
    """
    n = positive_int(n_qubits, "n_qubits")
    mask = torch.zeros(2**n, dtype=torch.bool)
    for idx in range(2**n):
        value = predicate(format(idx, f"0{n}b"))
        if not isinstance(value, bool | np.bool_):
            raise TypeError(f"the predicate must return a bool; it returned {value!r} for {format(idx, f'0{n}b')!r}")
        mask[idx] = bool(value)
    solutions = torch.nonzero(mask).flatten().tolist()

    def classical(idx: torch.Tensor) -> torch.Tensor:
        return mask.to(idx.device)[idx]

    name = getattr(predicate, "__name__", "predicate")
    return Oracle(n, _phase_flips(n, solutions), classical, False, f"predicate {name} on {n} bits")


# --- CNF formulas ------------------------------------------------------------------------


@dataclass(frozen=True)
class Cnf:
    """A CNF formula: ``clauses`` of DIMACS literals (``v`` / ``-v``, variables 1-based)."""

    n_vars: int
    clauses: tuple[tuple[int, ...], ...]


def parse_dimacs(text: str) -> Cnf:
    """Read DIMACS CNF text: ``c`` comment lines, a ``p cnf VARS CLAUSES`` header, then
    clauses as literals each ended by ``0`` (a clause may span lines; a final ``%`` line,
    as in SATLIB files, ends the formula)."""
    header: tuple[int, int] | None = None
    clauses: list[tuple[int, ...]] = []
    current: list[int] = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("c"):
            continue
        if line.startswith("%"):
            break
        if line.startswith("p"):
            header = _dimacs_header(line, number, header)
            continue
        if header is None:
            raise ValueError(f"DIMACS line {number}: clauses before the 'p cnf VARS CLAUSES' header")
        for token in line.split():
            try:
                lit = int(token)
            except ValueError:
                raise ValueError(f"DIMACS line {number}: {token!r} is not an integer literal") from None
            if abs(lit) > header[0]:
                raise ValueError(f"DIMACS line {number}: literal {lit} but the header declares {header[0]} variable(s)")
            if lit == 0:
                clauses.append(tuple(current))
                current = []
            else:
                current.append(lit)
    if header is None:
        raise ValueError("no 'p cnf VARS CLAUSES' header found; is this DIMACS CNF text?")
    if current:  # tolerate a last clause without its terminating 0
        clauses.append(tuple(current))
    if len(clauses) != header[1]:
        raise ValueError(f"the header declares {header[1]} clause(s) but {len(clauses)} were read")
    return Cnf(header[0], tuple(clauses))


def _dimacs_header(line: str, number: int, previous) -> tuple[int, int]:
    parts = line.split()
    if previous is not None:
        raise ValueError(f"DIMACS line {number}: a second 'p' header")
    if len(parts) != 4 or parts[1] != "cnf" or not all(p.isdigit() for p in parts[2:]):
        raise ValueError(f"DIMACS line {number}: expected 'p cnf VARS CLAUSES'; got {line!r}")
    return int(parts[2]), int(parts[3])


def _normalise_clauses(clauses: Sequence[Sequence[int]], n_vars: int) -> tuple[tuple[int, ...], ...]:
    """Check literals; drop repeated literals and tautologies (a clause with v and -v is always true)."""
    out = []
    for j, clause in enumerate(clauses):
        lits: list[int] = []
        for lit in clause:
            if isinstance(lit, bool) or not isinstance(lit, int | np.integer) or lit == 0 or abs(lit) > n_vars:
                raise ValueError(f"clause {j}: literal {lit!r} must be a nonzero int v or -v with 1 <= v <= {n_vars}")
            if int(lit) not in lits:
                lits.append(int(lit))
        if not any(-lit in lits for lit in lits):
            out.append(tuple(lits))
    return tuple(out)


def oracle_from_cnf(clauses: Cnf | Sequence[Sequence[int]], n_vars: int | None = None) -> Oracle:
    """A reversible gate-level oracle for a CNF formula, with one ancilla per clause.

    Wires ``0..n_vars-1`` are the variables, wire ``n_vars + j`` the ancilla of clause j.
    Compute: a multi-controlled X, controlled on every literal of clause j being false,
    sets ancilla j to "clause j violated". Phase: -1 when every ancilla is 0 (all clauses
    satisfied), an X-wrapped multi-controlled Z on the ancillas -- the phase kickback of
    the conjunction without a |-> qubit. Uncompute: the compute gates in reverse.

    An empty clause is never satisfied (its ancilla is always set), so such a formula
    marks nothing; tautological clauses are dropped.
    """
    cnf = clauses if isinstance(clauses, Cnf) else None
    n = cnf.n_vars if cnf is not None else n_vars
    if cnf is not None and n_vars is not None and n_vars != cnf.n_vars:
        raise ValueError(f"n_vars={n_vars} contradicts the formula's {cnf.n_vars} variable(s)")
    if n is None:
        raise ValueError("give n_vars with a plain list of clauses (or pass a Cnf from parse_dimacs)")
    n = positive_int(n, "n_vars")
    kept = _normalise_clauses(cnf.clauses if cnf is not None else clauses, n)
    m = len(kept)
    compute = Circuit(n + m)
    for j, clause in enumerate(kept):
        wires = [abs(lit) - 1 for lit in clause]
        compute.mcx(wires, n + j, control_values=[0 if lit > 0 else 1 for lit in clause])
    c = Circuit(n + m).compose(compute)
    if m == 0:
        c.global_phase(np.pi)  # no clause left: every assignment satisfies the formula
    else:
        last = n + m - 1
        c.x(last)
        c.mcz(list(range(n, last)), last, control_values=[0] * (m - 1))
        c.x(last)
    c.compose(compute.inverse())
    label = f"CNF, {n} variables, {m} clauses"
    return Oracle(n, c, cnf_predicate(kept, n), False, label)

