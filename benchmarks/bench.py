"""``hybrid bench``: every benchmark suite in one resumable run, a Markdown report and plots.

    hybrid bench [--suite engines,gradients,device,algorithms,classifiers,noise,qec] [--quick | --full]
                 [--device auto|cpu|cuda] [--out DIR] [--json]

Suites:

- ``engines``: final statevectors (QFT, random layered) against default.qubit, lightning.qubit
  and Aer with the bandwidth floor (:mod:`benchmarks.statevector`); with ``--full`` also the
  peak memory of one gradient (:mod:`benchmarks.memory`).
- ``gradients``: a 2-layer SEL gradient and a batched quantum layer against PennyLane
  (:mod:`benchmarks.gradients`, :mod:`benchmarks.batched`; TorchQuantum is an optional anchor).
- ``device``: what a PennyLane user waits for on ``qml.device("hybrid.qubit")`` against
  lightning.qubit and default.qubit: a QNode forward call, an adjoint gradient and a
  parameter-shift gradient of 2-layer SEL (:mod:`benchmarks.pennylane_device`).
- ``algorithms``: Grover, Shor, VQE and QAOA beside their classical counterparts
  (``benchmarks.algorithms.<name>.run(quick, device)``, one resumable unit per algorithm).
- ``classifiers``: hybrid classifiers against classical baselines
  (``benchmarks.classifiers``: ``case_keys``, ``run_case``, ``render``, ``plot``).
- ``noise``: GHZ, Grover, QAOA and H2 VQE under swept noise and a fake IBM backend's model
  against closed forms and the global-depolarizing estimate, and noisy-simulation timings
  (density matrix against Aer and default.mixed, trajectories against Aer's statevector
  with noise) (:mod:`benchmarks.noise`).
- ``qec``: repetition and surface-code memory experiments on our engine against stim under
  depolarizing noise, and under amplitude damping, thermal relaxation and coherent
  over-rotation against their Pauli twirls, decoded with PyMatching (:mod:`benchmarks.qec`).

Every finished case is one line of ``DIR/bench.jsonl`` (appended and fsynced at once); the
same command again skips the cases already there. A unit that fails (a suite whose module
is missing, an exception) is recorded as an error line and tried again on the next run.

Sweeps (:mod:`benchmarks.shards`): ``--shard I/N`` runs slice I of N into
``DIR/shards/bench.I-of-N.jsonl`` (``--phase tune`` on every slice, then ``--phase final``,
when the classifier finals are selected), ``--report-only`` merges every results file of
``DIR`` into the report, ``--workers N`` runs the N slices as local processes and merges.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import fnmatch
import importlib
import json
import os
import signal
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from tqdm import tqdm

from hybrid._checks import positive_int_arg

from . import batched, engines, gradients, memory, pennylane_device, statevector
from . import noise as noise_suite
from . import shards
from . import qec as qec_suite
from .records import ResultLog
from .records import run_info as _run_info
from .report import markdown_table, render
from .runner import Context, say
from .timing import format_seconds

__all__ = ["SUITES", "ALGORITHMS", "PRESETS", "add_arguments", "main_from_args", "reexec_with_spin_policy"]

SUITES = ("engines", "gradients", "device", "algorithms", "classifiers", "noise", "qec")
ALGORITHMS = ("grover", "shor", "vqe", "qaoa")
LOG_NAME = "bench.jsonl"
ALGORITHM_COLUMNS = (
    "case", "qubits", "two_qubit_gates", "resources", "quality", "quantum_s",
    "classical", "classical_quality", "classical_s", "device",
)  # fmt: skip


@dataclass(frozen=True)
class Preset:
    """Sizes per suite; ``quick`` is what the algorithm and classifier suites are given."""

    name: str
    sizes: tuple[int, ...]  # statevector qubit counts
    grad: tuple[int, ...]  # gradient qubit counts
    batch: tuple[int, ...]  # batched-layer qubit counts
    memory: int | None  # memory-probe qubits; None leaves the probe out
    quick: bool
    device: dict[str, tuple[int, ...]]  # device suite: qubit counts per kind (forward, adjoint, shift)
    noise: noise_suite.Sizes = noise_suite.PRESETS["default"]  # noise suite: timing sizes, shots, physics level
    qec: qec_suite.Sizes = qec_suite.PRESETS["default"]  # qec suite: level (codes, p values, shots)


PRESETS = {
    "quick": Preset("quick", tuple(engines.QUICK["sizes"]), tuple(engines.QUICK["grad"]),
                    tuple(engines.QUICK["batch"]), None, True, dict(pennylane_device.QUICK), noise_suite.PRESETS["quick"],
                    qec_suite.PRESETS["quick"]),
    # sized to finish in 5 minutes
    "default": Preset("default", (12, 16, 20), (4, 8, 12), (4,), None, True, dict(pennylane_device.DEFAULT),
                      noise_suite.PRESETS["default"], qec_suite.PRESETS["default"]),
    "full": Preset("full", tuple(engines.FULL["sizes"]), tuple(engines.FULL["grad"]),
                   tuple(engines.FULL["batch"]), engines.FULL["memory"], False, dict(pennylane_device.FULL),
                   noise_suite.PRESETS["full"], qec_suite.PRESETS["full"]),
}  # fmt: skip


class SuiteMissing(RuntimeError):
    """A suite's module is not in this checkout (not written yet, or not installed)."""


@dataclass
class Unit:
    """One resumable piece of work; ``key`` names its error line if it fails."""

    suite: str
    label: str
    key: str
    run: Callable[[Context], None]
    phase: str = shards.TUNE  # shards.FINAL: needs other cases' records (the classifier final seeds)


# --- command line --------------------------------------------------------------------------


def _suites(text: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(s.strip() for s in text.split(",") if s.strip()))
    unknown = [s for s in names if s not in SUITES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown suite {', '.join(unknown) or '(none given)'}; choose from {','.join(SUITES)}"
        )
    return names


def _sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(positive_int_arg(x) for x in text.split(",") if x.strip())
    except argparse.ArgumentTypeError:
        sizes = ()
    if not sizes:
        raise argparse.ArgumentTypeError(f"expected comma-separated qubit counts (positive integers) such as 4,8; got {text!r}")
    return sizes


def _patterns(text: str) -> tuple[str, ...]:
    patterns = tuple(p.strip() for p in text.split(",") if p.strip())
    if not patterns:
        raise argparse.ArgumentTypeError(f"expected comma-separated shell patterns such as '*/moons/*'; got {text!r}")
    return patterns


def _out_dir(text: str) -> Path:
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a file; --out needs a folder (it is created if missing)")
    return path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``hybrid bench`` options."""
    parser.add_argument("--suite", type=_suites, default=SUITES, metavar="LIST",
                        help=f"comma-separated suites (default all: {','.join(SUITES)}); device: PennyLane QNodes "
                        "on hybrid.qubit against lightning.qubit and default.qubit")
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="smallest sizes (about a minute of engine cases)")
    size.add_argument("--full", action="store_true", help="large sizes up to 24 qubits and the memory probe (long)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"),
                        help="where our engine runs (anchors run on the CPU); default auto")
    parser.add_argument("--out", type=_out_dir, default=Path("out/bench"), metavar="DIR",
                        help="folder for bench.jsonl, report.md and the plots (default out/bench)")
    parser.add_argument("--json", action="store_true", help="print a JSON summary on stdout (progress goes to stderr)")
    parser.add_argument("--repeats", type=positive_int_arg, default=3, help="timed calls per engine and case (default 3)")
    parser.add_argument("--sizes", type=_sizes, help="override the statevector qubit counts, e.g. 10,14")
    parser.add_argument("--grad-sizes", type=_sizes, help="override the gradient qubit counts")
    parser.add_argument("--batch-sizes", type=_sizes, help="override the batched-layer qubit counts")
    parser.add_argument("--forward-sizes", type=_sizes, help="override the device suite's QNode-forward qubit counts")
    parser.add_argument("--adjoint-sizes", type=_sizes, help="override the device suite's adjoint-gradient qubit counts")
    parser.add_argument("--shift-sizes", type=_sizes, help="override the device suite's parameter-shift qubit counts")
    parser.add_argument("--dm-sizes", type=_sizes, help="override the noise suite's density-matrix timing qubit counts")
    parser.add_argument("--trajectory-sizes", type=_sizes, help="override the noise suite's trajectories timing qubit counts")
    parser.add_argument("--shots", type=positive_int_arg, help="shots (= trajectories) of the noise suite's trajectories "
                        "timings (default 256; --quick 128, --full 512)")  # fmt: skip
    parser.add_argument("--seeds", type=positive_int_arg, help="final seeds per classifier model (default 5)")
    parser.add_argument("--cases", type=_patterns, metavar="PATTERNS",
                        help="only the cases whose key matches one of these comma-separated shell patterns, "
                        "e.g. '*/moons/mlp/*' (keys: see the JSON lines or the slice headers)")
    parser.add_argument("--threads", type=positive_int_arg,
                        help="torch CPU threads (torch.set_num_threads and OMP_NUM_THREADS); default: as found")
    sweep = parser.add_argument_group("sweeps (many processes or machines; see benchmarks/README.md)")
    sweep.add_argument("--shard", type=shards.parse_shard, metavar="I/N",
                       help="run only slice I of N (0 <= I < N) of the selected cases, "
                       "into DIR/shards/bench.I-of-N.jsonl")
    sweep.add_argument("--phase", choices=(shards.TUNE, shards.FINAL),
                       help="tune: every case but the classifier final seeds; final: those seeds (they read the "
                       "tuning records of every slice). Needed with --shard I/N, N > 1, when classifiers run")
    sweep.add_argument("--workers", type=positive_int_arg, metavar="N",
                       help="run N slices as local processes (cores / N torch threads each), then merge them")
    sweep.add_argument("--report-only", action="store_true",
                       help="run nothing: merge every results file in DIR into report.md and the plots")
    parser.add_argument("--qec-shots", type=positive_int_arg, help="our engine's shots at every point of the qec suite "
                        "(default: per code and preset; stim's shots stay)")  # fmt: skip


def _preset(args: argparse.Namespace) -> Preset:
    base = PRESETS["full" if args.full else "quick" if args.quick else "default"]
    given = {"forward": args.forward_sizes, "adjoint": args.adjoint_sizes, "shift": args.shift_sizes}
    return Preset(
        base.name,
        args.sizes or base.sizes,
        args.grad_sizes or base.grad,
        args.batch_sizes or base.batch,
        base.memory,
        base.quick,
        {kind: given[kind] or base.device[kind] for kind in pennylane_device.KINDS},
        noise_suite.Sizes(
            args.dm_sizes or base.noise.dm,
            args.trajectory_sizes or base.noise.trajectories,
            args.shots or base.noise.shots,
            base.noise.level,
        ),
        qec_suite.Sizes(base.qec.level, args.qec_shots),
    )


def _command(argv: list[str] | None) -> list[str]:
    """The arguments after ``bench`` in the ``hybrid`` command line (``argv`` when called in-process)."""
    args = sys.argv[1:] if argv is None else argv
    return args[args.index("bench") + 1 :] if "bench" in args else list(args)


def reexec_with_spin_policy() -> None:
    """Restart this process with ``GOMP_SPINCOUNT`` set, unless a policy is already set.

    Torch, Lightning and Aer each load a GNU OpenMP runtime, which reads its spin policy
    once, when it loads; torch is loaded by ``import hybrid``, before any subcommand runs.
    See :mod:`benchmarks.engines` for why the bounded spin matters on a small CPU.
    """
    if "OMP_WAIT_POLICY" in os.environ or "GOMP_SPINCOUNT" in os.environ:
        return
    env = {**os.environ, "GOMP_SPINCOUNT": "100000"}
    sys.stdout.flush()
    os.execve(sys.executable, [sys.executable, *sys.orig_argv[1:]], env)


# --- the units of work ---------------------------------------------------------------------


def _import_suite(module: str):
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module.startswith(exc.name):
            raise SuiteMissing(f"{module} is not in this checkout yet; this suite cannot run") from None
        raise


def _record(ctx: Context, key: str, suite: str, case: str, **fields) -> dict:
    record = {"key": key, "suite": suite, "case": case, "device": ctx.device.type, **fields, "run": ctx.run}
    record["finished_at"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    ctx.log.append(record)
    return record


def _resume(ctx: Context, key: str) -> bool:
    """Mark ``key`` as part of this run; True when an earlier run finished it without error."""
    if key not in ctx.done:
        ctx.done.append(key)
    old = ctx.log.get(key)
    if old is None or "error" in old:
        return False
    ctx.resumed.add(key)
    say(f"[{old['suite']}] {old['case']}: already in {ctx.log.path.name}, skipped (resume)")
    return True


def _noise_key(name: str, level: str, device: str) -> str:
    return f"noise/{name}/{level}/{device}"


def run_noise_physics(ctx: Context, name: str, level: str) -> None:
    """One physics unit of the noise suite (GHZ, Grover, QAOA, VQE, fake backend) as one case."""
    key = _noise_key(name, level, ctx.device.type)
    if _resume(ctx, key):
        return
    start = time.perf_counter()
    rows = noise_suite.run_physics(name, level, ctx.device)
    _record(ctx, key, "noise", name, level=level, rows=rows, seconds=time.perf_counter() - start)


def run_qec_unit(ctx: Context, name: str, sizes: qec_suite.Sizes) -> None:
    """One unit of the qec suite (a threshold sweep, a non-Pauli comparison) as one case."""
    key = qec_suite.unit_key(name, sizes, ctx.device.type)
    if _resume(ctx, key):
        return
    say(f"[qec] {name} ({sizes.level})")
    start = time.perf_counter()
    rows = qec_suite.run_unit(name, sizes, ctx.device)
    _record(ctx, key, "qec", name, level=sizes.level, rows=rows, seconds=time.perf_counter() - start)


def _algorithm_key(name: str, quick: bool, device: str) -> str:
    return f"algorithms/{name}/{'quick' if quick else 'full'}/{device}"


def run_algorithm(ctx: Context, name: str, quick: bool) -> None:
    """One algorithm's side-by-side rows, as one case of the log."""
    key = _algorithm_key(name, quick, ctx.device.type)
    if _resume(ctx, key):
        return
    say(f"[algorithms] {name}")
    module = _import_suite(f"benchmarks.algorithms.{name}")
    start = time.perf_counter()
    rows = module.run(quick, ctx.device.type)
    _record(ctx, key, "algorithms", name, quick=quick, rows=rows, seconds=time.perf_counter() - start)


def _classifier_results(ctx: Context) -> dict[str, dict]:
    return {
        r["case"]: r["result"]
        for r in ctx.log.records.values()
        if r.get("suite") == "classifiers" and "result" in r and r.get("device") == ctx.device.type
    }  # this device's runs only: a final seed must not take its tuning from another device


def _tuning_keys(module, case: str) -> list[str]:
    """The tuning cases a final seed reads (its model's trials on its dataset)."""
    c = module.parse_key(case)
    trials = len(module.get_grid(c.grid).trials)
    return [case.rsplit("/", 1)[0] + f"/tune={i}" for i in range(trials)]


def run_classifier(ctx: Context, module, case: str, strict: bool = False) -> None:
    """One classifier case (``module.run_case``) as one case of the log.

    ``strict`` (``--phase final``): a final seed whose tuning records are in no results
    file of the folder is an error naming them (retried on the next run), where a serial
    run would train the missing trials again inside this case.
    """
    key = f"classifiers/{case}/{ctx.device.type}"
    if _resume(ctx, key):
        return
    say(f"[classifiers] {case}")
    start = time.perf_counter()
    # Final-seed cases read their tuning trials from the records: pass the ones on file, so
    # a resumed run (a new process) finds the trials an earlier run finished.
    done = _classifier_results(ctx)
    if strict and "/seed=" in case:
        need = _tuning_keys(module, case)
        if any(k not in done for k in need):
            _adopt_other_files(ctx.log, ctx.out or ctx.log.path.parent)  # other slices may have finished since
            done = _classifier_results(ctx)
        missing = [k for k in need if k not in done]
        if missing:
            raise RuntimeError(
                "the tuning records this final seed needs are in no results file of the folder: "
                + ", ".join(f"{k}{ctx.where(f'classifiers/{k}/{ctx.device.type}')}" for k in missing)
                + "; run --phase tune on every slice first (then rerun this one)"
            )
    result = module.run_case(case, ctx.device.type, records=done)
    _record(ctx, key, "classifiers", case, result=result, seconds=time.perf_counter() - start)


def _classifier_units(quick: bool, device: str, seeds: int | None = None, strict: bool = False) -> list[Unit]:
    try:
        module = _import_suite("benchmarks.classifiers")
        cases = module.case_keys(quick) if seeds is None else module.case_keys(quick, seeds=seeds)
    except Exception as exc:  # noqa: BLE001 - a suite that cannot even list its cases is one error row
        def fail(ctx: Context, exc=exc) -> None:
            raise exc

        return [Unit("classifiers", "classifiers", f"classifiers/(all)/{device}", fail)]
    return [
        Unit("classifiers", case, f"classifiers/{case}/{device}",
             lambda ctx, c=case: run_classifier(ctx, module, c, strict),
             shards.FINAL if "/seed=" in case else shards.TUNE)
        for case in cases
    ]  # fmt: skip


def plan(
    suites: tuple[str, ...], preset: Preset, device: str, *, seeds: int | None = None, strict: bool = False
) -> list[Unit]:
    """The units in run order: gradients, device, classifiers, algorithms, then the cases
    that run Aer last: noise, statevector (see :mod:`benchmarks.engines` for why)."""
    units: list[Unit] = []

    def engine_unit(suite: str, label: str, fn: Callable[[Context], None]) -> Unit:
        return Unit(suite, label, f"{suite}/{label}/{device}", fn)

    if "gradients" in suites:
        units += [engine_unit("gradients", f"gradients n={n}", lambda c, n=n: gradients.run(c, [n])) for n in preset.grad]
        units += [engine_unit("gradients", f"batched n={n}", lambda c, n=n: batched.run(c, [n])) for n in preset.batch]
    if "device" in suites:
        units += [
            engine_unit("device", f"{kind} n={n}", lambda c, k=kind, n=n: pennylane_device.run(c, k, [n]))
            for kind in pennylane_device.KINDS
            for n in preset.device[kind]
        ]
    if "classifiers" in suites:
        units += _classifier_units(preset.quick, device, seeds, strict)
    if "algorithms" in suites:
        units += [
            Unit("algorithms", name, _algorithm_key(name, preset.quick, device),
                 lambda c, name=name: run_algorithm(c, name, preset.quick))
            for name in ALGORITHMS
        ]  # fmt: skip
    if "noise" in suites:
        sizes = preset.noise
        units += [
            Unit("noise", name, _noise_key(name, sizes.level, device), lambda c, name=name: run_noise_physics(c, name, sizes.level))
            for name in noise_suite.PHYSICS
        ]  # fmt: skip
        units += [engine_unit("noise", f"density matrix n={n}", lambda c, n=n: noise_suite.run_density(c, n)) for n in sizes.dm]
        units += [
            engine_unit("noise", f"trajectories n={n} shots={sizes.shots}",
                        lambda c, n=n: noise_suite.run_trajectories(c, n, sizes.shots))
            for n in sizes.trajectories
        ]  # fmt: skip
    if "qec" in suites:
        units += [Unit("qec", name, qec_suite.unit_key(name, preset.qec, device),
                       lambda c, name=name: run_qec_unit(c, name, preset.qec)) for name in qec_suite.units(preset.qec)]
    if "engines" in suites:
        if preset.memory is not None:
            units.append(engine_unit("engines", f"memory n={preset.memory}", lambda c: memory.run(c, preset.memory)))
        units += [engine_unit("engines", f"statevector n={n}", lambda c, n=n: statevector.run(c, [n])) for n in preset.sizes]
    return units


def run_units(ctx: Context, units: list[Unit]) -> None:
    """Run every unit under a progress bar; a unit that raises becomes an error line."""
    bar = tqdm(units, desc="hybrid bench", unit="unit", disable=None, file=sys.stderr, dynamic_ncols=True)
    for unit in bar:
        bar.set_postfix_str(f"{unit.suite}: {unit.label}")
        try:
            unit.run(ctx)
            if ctx.markers:
                _mark_unit(ctx, unit)
        except SuiteMissing as exc:
            _unit_error(ctx, unit, str(exc), missing=True)
        except Exception as exc:  # noqa: BLE001 - nothing one unit does may stop the others
            _unit_error(ctx, unit, f"{type(exc).__name__}: {exc}", tb=traceback.format_exc(limit=-4))
    bar.close()


def _mark_unit(ctx: Context, unit: Unit) -> None:
    """In a slice file, note that ``unit`` finished (engine units record their cases under other keys)."""
    own = ctx.log.get(unit.key)
    if own is not None and "error" not in own:
        return  # the unit's own record says it
    marker = shards.MARKER + unit.key
    if marker in ctx.log.records:
        return
    ctx.log.append({"key": marker, "suite": "_unit", "case": unit.label, "run_id": ctx.run["run_id"],
                    "finished_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")})  # fmt: skip


def _adopt_other_files(log: ResultLog, out: Path) -> int:
    """Put the good records of the folder's other results files into ``log.records`` (not
    into its file), so that resume skips cases any slice or serial run finished."""
    others = [p for p in shards.log_files(out) if p.resolve() != log.path.resolve()]
    adopted = 0
    for key, rec in shards.best_records(others).items():
        if "error" in rec or key == shards.HEADER:
            continue
        mine = log.records.get(key)
        if mine is None or "error" in mine:
            log.records[key] = rec
            adopted += 1
    return adopted


def _unit_error(ctx: Context, unit: Unit, message: str, *, missing: bool = False, tb: str | None = None) -> None:
    say(f"[{unit.suite}] {unit.label}: error: {message}")
    if unit.key not in ctx.done:
        ctx.done.append(unit.key)
    _record(ctx, unit.key, unit.suite, unit.label, error=message, missing=missing, traceback=tb)


# --- problems, report, plots ---------------------------------------------------------------


def problems(records: list[dict]) -> list[str]:
    """Every error and failed check in ``records``, one line each (exit code 1 if any)."""
    out = []
    for rec in records:
        where = f"{rec.get('suite')}/{rec.get('case')}" + (f" n={rec['n']}" if rec.get("n") is not None else "")
        if "error" in rec:
            out.append(f"{where}: {rec['error']}")
        for engine, slot in rec.get("engines", {}).items():
            if "error" in slot:
                out.append(f"{where} {engine}: {slot['error']}")
            elif not slot.get("check", {}).get("passed", True):
                out.append(f"{where} {engine}: failed its check {slot['check']}")
        for row in rec.get("rows", []):
            if isinstance(row, dict) and row.get("error"):
                out.append(f"{where} {row.get('case', '')}: {row['error']}")
            elif isinstance(row, dict) and isinstance(row.get("check"), dict) and not row["check"].get("passed", True):
                out.append(f"{where} {row.get('case', '')} {row.get('noise', '')}: failed its check {row['check']}")
        if isinstance(rec.get("result"), dict) and rec["result"].get("error"):
            out.append(f"{where}: {rec['result']['error']}")
    return out


def _cell(key: str, value) -> str:
    if value is None:
        return "-"
    if key.endswith("_s") and isinstance(value, (int, float)):
        return format_seconds(value)
    return str(value)


def algorithm_table(rec: dict, resumed: bool) -> str:
    """The contract's columns for one algorithm (and ``path`` where rows have it), plus quantum / classical time."""
    # A suite that runs each case more than one way names the way in "path" (extra keys are allowed).
    columns = ALGORITHM_COLUMNS[:1] + (("path",) if any("path" in r for r in rec["rows"]) else ()) + ALGORITHM_COLUMNS[1:]
    cells = [[*columns, "quantum/classical"]]
    for row in rec["rows"]:
        q, c = row.get("quantum_s"), row.get("classical_s")
        ratio = f"{q / c:.3g}x" if isinstance(q, (int, float)) and isinstance(c, (int, float)) and c > 0 else "-"
        cells.append([_cell(k, row.get(k)) for k in columns] + [ratio])
    title = rec["case"].upper() if rec["case"] in ("vqe", "qaoa") else rec["case"].capitalize()
    title += " (simulated quantum vs classical)" + (" *resumed from an earlier run*" if resumed else "")
    return markdown_table(title, cells)


def _header(ctx: Context, preset: Preset, elapsed: float, n_records: int) -> list[str]:
    """The top of a one-run report."""
    run = ctx.run
    git = run.get("git") or {}
    versions = ", ".join(f"{k} {v}" for k, v in run["versions"].items() if v)
    commit = git.get("commit", "unknown")[:12] + (" (hybrid/ had uncommitted edits)" if git.get("engine_dirty") else "")
    return [
        "# hybrid bench report",
        "",
        f"- command: `{run['command']}` (preset `{preset.name}`)",
        f"- run {run['run_id']}, {n_records} cases in {elapsed:.0f} s; resumed {len(ctx.resumed)} cases from "
        "earlier runs (marked * or *resumed*)",
        f"- machine: {run['device']}; {run['cpu_count']} CPUs, torch threads {run['torch_threads']}; "
        f"{run['platform']}, Python {run['python']}",
        f"- copy bandwidth (the floor's yardstick): {ctx.bandwidth['GBps']:.1f} GB/s read + write on {ctx.device}",
        f"- versions: {versions}",
        f"- git commit: {commit}",
        f"- thread environment: {run['env'] or 'none set'}",
        "",
        "Timings on a shared machine move by ±20% between runs: compare within one table. "
        "Every line of this report is in `bench.jsonl` with all measurements.",
        "",
    ]


def _image(path: Path | None, alt: str) -> list[str]:
    return [f"![{alt}]({path.name})", ""] if path is not None else []


def write_report(
    records: list[dict], out: Path, header: list[str], resumed: set[str], bandwidth_gbps: float | None,
    extra: list[str] = (),
) -> tuple[Path, list]:
    """``out/report.md`` (``header``, the tables, ``extra``, the problems) and the PNG plots;
    returns the report path and the plot paths."""
    from . import plots  # matplotlib loads only when a report is written
    by_suite = {s: [r for r in records if r.get("suite") == s and "error" not in r] for s in
                ("statevector", "memory", "gradients", "batched", "device", "algorithms", "classifiers", "noise", "qec")}  # fmt: skip
    made: list[Path] = []
    lines = list(header)
    engine_recs = by_suite["statevector"] + by_suite["memory"]
    if engine_recs:
        lines += ["## Engines: ours vs the anchors", "", render(engine_recs, resumed, bandwidth_gbps, True), ""]
        made += (new := _plot(plots.time_vs_qubits, by_suite["statevector"], out))
        lines += _image(new[0] if new else None, "time vs qubits")
    grad_recs = by_suite["gradients"] + by_suite["batched"]
    if grad_recs:
        lines += ["## Gradients: ours vs the anchors", "", render(grad_recs, resumed, None, True), ""]
        made += (new := _plot(plots.gradient_cost, grad_recs, out))
        lines += _image(new[0] if new else None, "gradient cost")
    if by_suite["device"]:
        lines += ["## PennyLane device: hybrid.qubit vs lightning.qubit and default.qubit", "",
                  render(by_suite["device"], resumed, None, True), ""]  # fmt: skip
    if by_suite["algorithms"]:
        lines += ["## Algorithms: simulated quantum vs classical counterparts", ""]
        for rec in by_suite["algorithms"]:
            lines += [algorithm_table(rec, rec["key"] in resumed), ""]
    lines += _classifier_section(resumed, by_suite["classifiers"], out, made)
    if by_suite["noise"]:
        from .report import noise_section

        lines += ["## Noise: noisy algorithms and noisy-simulation timings", "",
                  noise_section(by_suite["noise"], resumed), ""]  # fmt: skip
        for fn, alt in ((plots.noise_success, "success vs noise"), (plots.noise_time_vs_qubits, "noise timings")):
            made += (new := _plot(fn, by_suite["noise"], out))
            lines += _image(new[0] if new else None, alt)
    if by_suite["qec"]:
        lines += ["## QEC: memory experiments, ours vs stim", "", qec_suite.section(by_suite["qec"], resumed), ""]
        for fn in (qec_suite.plot_threshold, qec_suite.plot_noise):
            made += _plot(fn, by_suite["qec"], out)
    lines += list(extra)
    found = problems(records)
    if found:
        lines += ["## Errors and failed checks", "", *[f"- {p}" for p in found], ""]
    path = out / "report.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path, made


def _classifier_section(resumed_keys: set[str], recs: list[dict], out: Path, made: list[Path]) -> list[str]:
    if not recs:
        return []
    module = importlib.import_module("benchmarks.classifiers")
    results = [r["result"] for r in recs]
    # The suite's report brings its own headings, from level 1: one level down fits them in.
    text = "\n".join("#" + line if line.startswith("#") else line for line in module.render(results).splitlines())
    lines = [text, ""]
    resumed = [r["case"] for r in recs if r["key"] in resumed_keys]
    if resumed:
        lines += [f"Resumed from an earlier run: {', '.join(resumed)}.", ""]
    try:
        paths = [Path(p) for p in module.plot(results, out)]
    except Exception as exc:  # noqa: BLE001 - a broken plot must not lose the report
        say(f"[classifiers] plot failed: {type(exc).__name__}: {exc}")
        paths = []
    made += paths
    for p in paths:
        lines += _image(p, p.stem.replace("_", " "))
    return lines


def _plot(fn, records: list[dict], out: Path) -> list[Path]:
    try:
        path = fn(records, out)
    except Exception as exc:  # noqa: BLE001 - a broken plot must not lose the report
        say(f"plot {fn.__name__} failed: {type(exc).__name__}: {exc}")
        return []
    return [path] if path is not None else []


# --- sweeps: slices, workers, the merge ----------------------------------------------------

EXIT_INCOMPLETE = 3  # --report-only / --workers: a slice or case is missing from the merge
_NOT_FOR_CHILDREN = {"workers", "shard", "phase", "threads", "json", "report_only", "help", "out"}


class UsageError(ValueError):
    """Bad combination of options (exit code 2)."""


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))  # the CPUs this process may use (a Slurm cpuset, taskset)
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _set_threads(n: int) -> None:
    # Set before the anchors are imported (lazily), so their OpenMP runtimes read it too.
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(n)
    torch.set_num_threads(n)


def _select(args: argparse.Namespace, preset: Preset, device: str) -> list[Unit]:
    """The plan's units after ``--cases`` (every phase, in run order)."""
    units = plan(args.suite, preset, device, seeds=args.seeds, strict=args.phase == shards.FINAL)
    if args.cases:
        units = [u for u in units if any(fnmatch.fnmatchcase(u.key, p) for p in args.cases)]
        if not units:
            raise UsageError(f"--cases {','.join(args.cases)} matches none of the selected cases")
    return units


def _check_phases(units: list[Unit], shard: shards.Shard | None, phase: str | None) -> None:
    if shard is not None and shard.count > 1 and phase is None and any(u.phase == shards.FINAL for u in units):
        raise UsageError(
            f"--shard {shard}: the classifier final seeds need the tuning results of every slice, so with "
            "more than one slice run every slice with --phase tune first, then every slice with --phase final "
            "(--workers N does both; see benchmarks/README.md), or leave the classifiers out"
        )


def _child_argv(args: argparse.Namespace) -> list[str]:
    """The options of this command a slice process needs (all but the sweep's own)."""
    parser = argparse.ArgumentParser(add_help=False)
    add_arguments(parser)
    argv = ["--out", str(Path(args.out).resolve())]
    for action in parser._actions:
        if not action.option_strings or action.dest in _NOT_FOR_CHILDREN:
            continue
        value = getattr(args, action.dest, action.default)
        if value is None or value is False or value == action.default:
            continue
        flag = action.option_strings[0]
        if value is True:
            argv.append(flag)
        elif isinstance(value, (tuple, list)):
            argv += [flag, ",".join(str(v) for v in value)]
        else:
            argv += [flag, str(value)]
    return argv


def run_workers(args: argparse.Namespace) -> dict:
    """``--workers N``: slices 0..N-1 as local processes (tune round, then final round), then the merge."""
    n = args.workers
    preset = _preset(args)
    use_cuda = args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available())
    units = _select(args, preset, "cuda" if use_cuda else "cpu")
    has_finals = any(u.phase == shards.FINAL for u in units)
    rounds = [args.phase] if args.phase else [shards.TUNE, shards.FINAL] if has_finals and n > 1 else [None]
    cores = _cores()
    threads = args.threads or max(1, cores // n)
    out = Path(args.out)
    (out / shards.SHARD_DIR).mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **{v: str(threads) for v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")}}
    base = [sys.executable, "-m", "hybrid.cli", "bench", *_child_argv(args), "--threads", str(threads)]
    say(f"hybrid bench: {len(units)} cases in {n} local slices, {threads} torch threads each ({cores} cores); "
        f"rounds: {', '.join(r or 'all' for r in rounds)}; "
        f"each slice's output in {out / shards.SHARD_DIR}/bench.I-of-{n}.log")  # fmt: skip
    codes: dict[str, list[int]] = {}
    interrupted = False
    for phase in rounds:
        procs = []
        for i in range(n):
            cmd = [*base, "--shard", f"{i}/{n}"] + (["--phase", phase] if phase else [])
            log = open(out / shards.SHARD_DIR / f"bench.{i}-of-{n}.log", "ab")  # noqa: SIM115 - closed below
            log.write(f"\n$ {' '.join(cmd)}\n".encode())
            log.flush()
            procs.append((subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env), log))
        started = time.perf_counter()
        try:
            for proc, _ in procs:
                proc.wait()
        except KeyboardInterrupt:
            interrupted = True
            for proc, _ in procs:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGINT)
            for proc, _ in procs:
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        finally:
            for _, log in procs:
                log.close()
        codes[phase or "all"] = [proc.returncode for proc, _ in procs]
        name = phase or "all"
        say(f"round {name}: {time.perf_counter() - started:.0f} s; exit codes by slice: {codes[name]}")
        if interrupted or any(c == 2 for c in codes[phase or "all"]):
            break
    summary = report_only(out)
    summary["workers"] = {"count": n, "torch_threads": threads, "cores": cores, "exit_codes": codes}
    child = [c for cs in codes.values() for c in cs]
    if interrupted:
        summary["exit_code"] = 130
    elif any(c == 2 for c in child):
        say("a slice stopped on bad usage: see its .log file")
        summary["exit_code"] = 2
    elif summary["exit_code"] == 0 and any(c != 0 for c in child):
        summary["exit_code"] = 1
    return summary


def _bandwidth(records: list[dict]) -> float | None:
    values = {
        round(r["run"]["bandwidth"]["device"]["GBps"], 1)
        for r in records
        if r.get("suite") == "statevector" and isinstance(r.get("run"), dict) and "bandwidth" in r["run"]
    }
    return values.pop() if len(values) == 1 else None


def _merged_header(merged: shards.Merged, out: Path, elapsed: float) -> list[str]:
    runs: dict[str, dict] = {}
    for rec in [*merged.headers, *merged.records]:
        run = rec.get("run")
        if isinstance(run, dict) and run.get("run_id") and run["run_id"] not in runs:
            runs[run["run_id"]] = run
    counts = ", ".join(f"{len(got)} of {n} slices of {n}" for n, got in sorted(merged.slices.items()))
    lines = [
        "# hybrid bench report (merged)",
        "",
        f"- merged {len(merged.files)} results files in `{out}`: "
        + ", ".join(f"`{p.relative_to(out)}`" for p in merged.files),
        f"- {len(merged.records)} cases; slices present: {counts or 'none (serial bench.jsonl only)'}; "
        f"merged in {elapsed:.1f} s by `hybrid bench --report-only`",
        f"- {len(runs)} runs went into it:",
    ]
    for run in sorted(runs.values(), key=lambda r: r["run_id"]):
        git = (run.get("git") or {}).get("commit", "unknown")[:12]
        lines.append(
            f"  - {run['run_id']}: `{run.get('command')}` on {run.get('device')}, {run.get('cpu_count')} CPUs, "
            f"torch threads {run.get('torch_threads')}, commit {git}"
        )
    first = next(iter(runs.values()), None)
    if first is not None:
        lines.append("- versions: " + ", ".join(f"{k} {v}" for k, v in first.get("versions", {}).items() if v))
    lines += ["", "Timings taken by slices that shared a machine are not comparable with each other; "
              "every line of this report is in the results files with all measurements.", ""]  # fmt: skip
    return lines


def _missing_section(merged: shards.Merged, limit: int = 40) -> list[str]:
    if merged.complete and not merged.plan_conflict:
        return []
    lines = ["## Missing slices and cases", ""]
    for name in merged.missing_slices:
        lines.append(f"- slice {name}: no results file (not started, or its file was not copied here)")
    items = list(merged.missing_units.items())
    if items:
        lines.append(f"- {len(items)} planned cases have no record (their slice was killed, is still running, "
                     "or never started):")
        lines += [f"  - `{key}` (slice {', '.join(owners)})" for key, owners in items[:limit]]
        if len(items) > limit:
            lines.append(f"  - ... and {len(items) - limit} more")
    if merged.plan_conflict:
        lines.append("- the slices announced different plans (run with different options?): the missing cases are "
                     "counted against all of them")  # fmt: skip
    return [*lines, ""]


def report_only(out: Path) -> dict:
    """``--report-only``: merge every results file of ``out`` into ``report.md`` and the plots."""
    started = time.perf_counter()
    out = Path(out)
    merged = shards.merge(out)
    if not merged.files:
        raise UsageError(f"{out} holds no results to merge (no bench.jsonl, no {shards.SHARD_DIR}/bench.I-of-N.jsonl)")
    say(f"merging {len(merged.files)} results files in {out}: {len(merged.records)} cases")
    header = _merged_header(merged, out, time.perf_counter() - started)
    missing = _missing_section(merged)
    report, made = write_report(merged.records, out, header, set(), _bandwidth(merged.records), missing)
    found = problems(merged.records)
    for name in merged.missing_slices:
        say(f"  missing: slice {name} has no results file")
    if merged.missing_units:
        say(f"  missing: {len(merged.missing_units)} planned cases have no record (listed in the report)")
    for p in found:
        say(f"  error: {p}")
    say(f"report: {report}; plots: {', '.join(str(p) for p in made) or 'none'}")
    code = EXIT_INCOMPLETE if not merged.complete else 1 if found else 0
    return {
        "exit_code": code,
        "out": str(out),
        "files": [str(p) for p in merged.files],
        "report": str(report),
        "plots": [str(p) for p in made],
        "cases": len(merged.records),
        "missing_slices": merged.missing_slices,
        "missing_cases": list(merged.missing_units),
        "errors": found,
    }


# --- main ----------------------------------------------------------------------------------


def _usage_problem(args: argparse.Namespace) -> str | None:
    if args.report_only and (args.shard or args.workers or args.phase):
        return "--report-only runs nothing, so --shard, --phase and --workers do not go with it"
    if args.workers and args.shard:
        return "--workers N starts slices 0..N-1 itself; give --workers or --shard, not both"
    if args.report_only and not Path(args.out).is_dir():
        return f"--report-only: {args.out} is not a folder of results; give the --out of the runs to merge"
    if args.device == "cuda" and not args.report_only and not torch.cuda.is_available():
        return "--device cuda was given but torch sees no CUDA GPU; use --device cpu"
    return None


def main_from_args(args: argparse.Namespace, argv: list[str] | None = None) -> int:
    """Run ``hybrid bench``; 0 when every case ran clean, 1 when any errored, 2 on bad usage,
    3 when a merge (``--report-only``, ``--workers``) misses slices or cases."""
    problem = _usage_problem(args)
    if problem:
        print(f"hybrid bench: error: {problem}", file=sys.stderr)
        return 2
    stdout = sys.stdout
    redirect = contextlib.redirect_stdout(sys.stderr) if args.json else contextlib.nullcontext()
    try:
        with redirect:
            if args.report_only:
                summary = report_only(Path(args.out))
            elif args.workers:
                summary = run_workers(args)
            else:
                summary = _run(args, _command(argv))
    except UsageError as exc:
        print(f"hybrid bench: error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(summary, indent=2, default=str), file=stdout)
    return summary["exit_code"]


def _run(args: argparse.Namespace, argv: list[str]) -> dict:
    preset = _preset(args)
    use_cuda = args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available())
    device = torch.device("cuda" if use_cuda else "cpu")
    if args.threads:
        _set_threads(args.threads)
    shard = args.shard
    units = _select(args, preset, device.type)
    _check_phases(units, shard, args.phase)
    started = time.perf_counter()
    out = Path(args.out)
    owner = shards.split({u.key: u.phase for u in units}, shard.count) if shard else {}
    mine = shard.index if shard else 0
    todo = [u for u in units if (args.phase is None or u.phase == args.phase) and owner.get(u.key, 0) == mine]
    path = shards.slice_file(out, shard) if shard else out / LOG_NAME
    log = ResultLog(path.parent, path.name)
    own = len(log.records)
    adopted = _adopt_other_files(log, out)
    info = _run_info(device, argv, program=["hybrid", "bench"])
    info["cores_available"] = _cores()
    if shard:
        info["shard"], info["phase"] = str(shard), args.phase or "all"
    where = f"{len(todo)} cases" + (f" in phase {args.phase}" if args.phase else "")
    if shard:
        where = f"slice {shard}: {where} of {len(units)}"
    say(f"hybrid bench: preset {preset.name}, suites {','.join(args.suite)}, {where}, device {info['device']}, "
        f"{info['torch_threads']} torch threads")  # fmt: skip
    say(f"results: {log.path}" + (f" ({own} lines from earlier runs)" if own else "")
        + (f"; {adopted} finished cases found in the folder's other results files" if adopted else ""))  # fmt: skip
    ctx = engines.make_context(log, device, args.repeats, info)
    ctx.out, ctx.markers = out, shard is not None
    if shard:
        ctx.where = lambda k: f" (slice {owner[k]}/{shard.count})" if k in owner else ""
    if shard:
        log.append({"key": shards.HEADER, "suite": "_slice", "slice": str(shard), "phase": args.phase or "all",
                    "plan": [u.key for u in units], "finals": [u.key for u in units if u.phase == shards.FINAL],
                    "units": [u.key for u in units if owner[u.key] == shard.index], "run": info,
                    "finished_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")})  # fmt: skip
    interrupted = False
    try:
        run_units(ctx, todo)
    except KeyboardInterrupt:
        interrupted = True
        say("\ninterrupted: finished cases are saved; run the same command to resume")
    records = [log.records[k] for k in ctx.done if k in log.records]
    elapsed = time.perf_counter() - started
    found = problems(records)
    say(f"\n{len(records)} cases, resumed {len(ctx.resumed)} cases, {len(found)} errors, {elapsed:.0f} s")
    for p in found:
        say(f"  error: {p}")
    report, made = None, []
    if shard:
        say(f"slice {shard} done; log: {log.path}. When every slice has run: hybrid bench --report-only --out {out}")
    else:
        header = _header(ctx, preset, elapsed, len(records))
        report, made = write_report(records, out, header, ctx.resumed, ctx.bandwidth["GBps"])
        say(f"report: {report}; log: {log.path}; plots: {', '.join(str(p) for p in made) or 'none'}")
    code = 130 if interrupted else 1 if found else 0
    return {
        "exit_code": code,
        "out": str(out),
        "log": str(log.path),
        "report": None if report is None else str(report),
        "plots": [str(p) for p in made],
        "cases": len(records),
        "resumed": len(ctx.resumed),
        "errors": found,
        "interrupted": interrupted,
        "seconds": elapsed,
        "shard": None if shard is None else str(shard),
        "phase": args.phase,
        "run": info,
    }
