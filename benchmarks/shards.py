"""Sweeps over many processes or machines: slices of ``hybrid bench``, their files, the merge.

``hybrid bench --shard I/N`` runs slice I (0 <= I < N) of the selected cases. The contract
is only the flag: a Slurm job array, a shell loop, GNU parallel or any tool that starts N
copies with an index can run the slices; ``--workers N`` starts them as local processes.

How the slices are chosen (the same on every machine, for the same options):

- The cases (the units of :func:`benchmarks.bench.plan`) are split into two phases:
  ``final`` holds the classifier final seeds (each needs its model's tuning records),
  ``tune`` everything else (tuning trials and every other suite's cases: none needs
  another case's result).
- Within a phase the unit keys are ordered by the SHA-256 of the key and dealt out in turn:
  slice i gets positions i, i + N, i + 2N, ... So a slice never depends on timing or on
  the machine, the N slices are disjoint and cover the phase, and their sizes differ by
  at most one case per phase. A slice runs its units in the plan's order.

Tuning before finals: with N > 1 the finals are run in a phase of their own
(``--phase final``), started only after every slice's ``--phase tune`` has ended (a Slurm
dependency, or ``--workers``, which runs the two rounds one after the other). A final case
reads the tuning records from every file in the folder; when one is missing it becomes an
error line naming the tuning cases and their slices (retried on the next run), never a
silent retrain.

Files: slice I of N writes ``DIR/shards/bench.I-of-N.jsonl`` only (many nodes appending to
one file over a network file system can corrupt it). Its first line of each run names the
plan (``"key": "_slice"``); each finished engine unit leaves a marker (``"_unit/<key>"``),
so the merge can tell a finished unit from one a killed slice never reached.

Resume: a slice skips every case with a good record in any file of ``DIR`` (its own, the
other slices', a serial ``bench.jsonl``). The merge (:func:`merge`) keeps, for a key found
more than once, a record without an error over one with an error, then the one finished
last, then the one in the file that sorts first (``bench.jsonl``, then the slice files by
(N, I)), so the same files always give the same report.
"""

from __future__ import annotations

import argparse
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from .records import read_lines

__all__ = [
    "TUNE",
    "FINAL",
    "SHARD_DIR",
    "Shard",
    "parse_shard",
    "assign",
    "split",
    "slice_file",
    "read_records",
    "merge",
    "Merged",
]

TUNE = "tune"
FINAL = "final"
SHARD_DIR = "shards"
SERIAL_LOG = "bench.jsonl"
HEADER = "_slice"
MARKER = "_unit/"
_FILE = re.compile(r"^bench\.(\d+)-of-(\d+)\.jsonl$")


@dataclass(frozen=True)
class Shard:
    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(text: str) -> Shard:
    """``"I/N"`` with 0 <= I < N (I counts from 0, as Slurm's array task ids do)."""
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if m is None:
        raise argparse.ArgumentTypeError(
            f"expected I/N (slice I of N, 0 <= I < N), e.g. 0/64 or $SLURM_ARRAY_TASK_ID/64; got {text!r}"
        )
    i, n = int(m[1]), int(m[2])
    if n < 1:
        raise argparse.ArgumentTypeError(f"the number of slices N must be at least 1; got {text!r}")
    if i >= n:
        raise argparse.ArgumentTypeError(f"slice index I counts from 0 and must be below N={n}; got {text!r}")
    return Shard(i, n)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def assign(keys: list[str], count: int) -> dict[str, int]:
    """Slice of each key: keys ordered by SHA-256 (then by the key), dealt out in turn."""
    order = sorted(dict.fromkeys(keys), key=lambda k: (_digest(k), k))
    return {k: pos % count for pos, k in enumerate(order)}


def split(phases: dict[str, str], count: int) -> dict[str, int]:
    """Slice of each unit key, given each key's phase: every phase is dealt out on its own."""
    groups: dict[str, list[str]] = {}
    for key, phase in phases.items():
        groups.setdefault(phase, []).append(key)
    out: dict[str, int] = {}
    for keys in groups.values():
        out.update(assign(keys, count))
    return out


def slice_file(out: Path, shard: Shard) -> Path:
    return Path(out) / SHARD_DIR / f"bench.{shard.index}-of-{shard.count}.jsonl"


def log_files(out: Path) -> list[Path]:
    """Every results file of ``out``: the serial log first, then the slice files by (N, I)."""
    out = Path(out)
    files = [out / SERIAL_LOG] if (out / SERIAL_LOG).is_file() else []
    shard_files = []
    folder = out / SHARD_DIR
    if folder.is_dir():
        for p in folder.iterdir():
            m = _FILE.match(p.name)
            if m and p.is_file():
                shard_files.append(((int(m[2]), int(m[1])), p))
    return files + [p for _, p in sorted(shard_files)]


def shard_of_file(path: Path) -> Shard | None:
    m = _FILE.match(Path(path).name)
    return Shard(int(m[1]), int(m[2])) if m else None


def read_records(path: Path) -> list[dict]:
    """The file's records in line order; half-written lines (a killed writer) are skipped."""
    return read_lines(path)[0]


def is_bookkeeping(key: str) -> bool:
    return key == HEADER or key.startswith(MARKER)


def _better(new: dict, old: dict) -> bool:
    """True when ``new`` should replace ``old`` (``old`` came from an earlier file or line)."""
    if ("error" in new) != ("error" in old):
        return "error" not in new
    return str(new.get("finished_at", "")) > str(old.get("finished_at", ""))


def best_records(files: list[Path]) -> dict[str, dict]:
    """One record per key over ``files`` (in the given order), chosen as the module says.

    Within one file a later line replaces an earlier one when it is at least as good (a
    rerun's record of the same case)."""
    chosen: dict[str, dict] = {}
    for path in files:
        own: dict[str, dict] = {}
        for rec in read_records(path):
            prev = own.get(rec["key"])
            if prev is None or not ("error" in rec and "error" not in prev):
                own[rec["key"]] = rec
        for key, rec in own.items():
            if key not in chosen or _better(rec, chosen[key]):
                chosen[key] = rec
    return chosen


@dataclass
class Merged:
    """What :func:`merge` found in a results folder."""

    files: list[Path]
    records: list[dict]  # case records, plan order first, then by key
    plan: list[str]  # unit keys of the plan the slices announced (union, in order)
    slices: dict[int, set[int]]  # N -> indices with a file
    missing_slices: list[str] = field(default_factory=list)  # "I/N" with no file
    missing_units: dict[str, list[str]] = field(default_factory=dict)  # unit key without a record -> its slices
    plan_conflict: bool = False
    headers: list[dict] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.missing_slices and not self.missing_units


def merge(out: Path) -> Merged:
    """Read every results file of ``out`` and resolve duplicates; find what is missing."""
    files = log_files(out)
    best = best_records(files)
    headers = []
    slices: dict[int, set[int]] = {}
    for path in files:
        shard = shard_of_file(path)
        if shard is None:
            continue
        slices.setdefault(shard.count, set()).add(shard.index)
        header = next((r for r in reversed(read_records(path)) if r["key"] == HEADER), None)
        if header is not None:
            headers.append(header)
    plans = [tuple(h.get("plan", [])) for h in headers]
    plan = list(dict.fromkeys(k for keys in plans for k in keys))
    plan_conflict = len(set(plans)) > 1
    merged = Merged(files, [], plan, slices, plan_conflict=plan_conflict, headers=headers)
    for n, present in sorted(slices.items()):
        merged.missing_slices += [f"{i}/{n}" for i in range(n) if i not in present]
    done = {k for k, r in best.items() if "error" not in r}
    phases = {k: FINAL for h in headers for k in h.get("finals", [])}
    owner = {n: split({k: phases.get(k, TUNE) for k in plan}, n) for n in sorted(slices)}
    for key in plan:  # no record at all (a unit that failed has an error line: a problem, not missing)
        if key not in best and (MARKER + key) not in done:
            merged.missing_units[key] = [f"{owner[n][key]}/{n}" for n in owner]
    position = {k: i for i, k in enumerate(plan)}
    # A unit that failed as a whole and later finished: its marker supersedes the error line.
    cases = [r for k, r in best.items() if not is_bookkeeping(k) and not ("error" in r and MARKER + k in done)]
    merged.records = sorted(cases, key=lambda r: (position.get(r["key"], len(position)), r["key"]))
    return merged
