"""Running one engine on one case: predict, skip, warm up, check, time, record failures.

Nothing an engine does may stop the benchmark: a missing library, an unsupported option or
a crash becomes ``{"error": message}`` in that engine's slot; a size predicted to take too
long becomes ``{"skipped": reason}``.
"""

from __future__ import annotations

import datetime as _dt
import gc
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
from tqdm import tqdm

from .records import ResultLog, case_key
from .timing import format_seconds, time_call, time_repeats

__all__ = ["Context", "predict", "run_engine", "new_case", "finish_case", "is_anchor"]

SKIP_LIMIT_S = 60.0  # predicted seconds per call above which a size is skipped
WARMUP_LIMIT_S = 20.0  # predicted seconds per call above which the warm-up call is left out
GROWTH_PER_QUBIT = 2.0  # statevector cost doubles with each qubit (x4 per +2)


@dataclass
class Context:
    log: ResultLog
    device: torch.device  # where our engine runs; the anchors run on the CPU
    repeats: int
    run: dict  # run_info(), stored in every case record
    bandwidth: dict  # copy_bandwidth() on `device`
    cpu_bandwidth: dict  # copy_bandwidth() on the CPU (the anchors' floor)
    done: list[str] = field(default_factory=list)  # keys of cases seen in this run, in order
    resumed: set[str] = field(default_factory=set)
    # Sweeps (benchmarks.shards): the results folder, whether finished units leave markers
    # in the slice file, and which slice runs a unit key (for messages).
    out: Path | None = None
    markers: bool = False
    where: Callable[[str], str] = lambda key: ""


def is_anchor(engine: str) -> bool:
    return not engine.startswith("ours")


def say(msg: str) -> None:
    """Print a progress line above any tqdm bar (the bar is redrawn below it)."""
    tqdm.write(msg)
    sys.stdout.flush()


def predict(
    ctx: Context, suite: str, case: str, engine: str, n: int, growth: float = GROWTH_PER_QUBIT
) -> tuple[float | None, int | None, float]:
    """Seconds one call of ``engine`` should take at ``n``, from the largest smaller size
    already in the log (measured, or itself predicted when skipped): x``growth`` per qubit
    (2 for a statevector, 4 for a density matrix). Returns (seconds, from n, growth)."""
    best_n, best_t = None, None
    for rec in ctx.log.records.values():
        if rec.get("suite") != suite or rec.get("case") != case or rec.get("device") != ctx.device.type:
            continue
        m = rec.get("n")
        if m is None or m >= n or (best_n is not None and m <= best_n):
            continue
        slot = rec.get("engines", {}).get(engine, {})
        t = slot.get("median_s", slot.get("predicted_s"))
        if t is not None:
            best_n, best_t = m, t
    if best_t is None:
        return None, None, growth
    return best_t * growth ** (n - best_n), best_n, growth


def run_engine(
    ctx: Context,
    label: str,
    make_fn: Callable[[], Callable[[], object]],
    *,
    sync_device: torch.device | None = None,
    predicted: tuple = (None, None),
    check: Callable[[object], dict] | None = None,
    skip_limit: float = SKIP_LIMIT_S,
    long_repeats: int | None = None,
) -> tuple[dict, object]:
    """Build (untimed) and time one engine; returns its record and its last output.

    ``check(output) -> dict`` compares an output with a reference; it runs on the warm-up
    call's output, so a wrong engine is flagged before any timing is trusted.
    ``predicted`` is :func:`predict`'s answer; above ``skip_limit`` seconds the engine is
    skipped, above ``WARMUP_LIMIT_S`` its warm-up is left out and, if ``long_repeats`` is
    given, only that many calls are timed.
    """
    t_pred, from_n = predicted[:2]
    growth = predicted[2] if len(predicted) > 2 else GROWTH_PER_QUBIT
    if t_pred is not None and t_pred > skip_limit:
        reason = f"predicted {t_pred:.0f} s per call (x{growth:g} per qubit from n={from_n}) > {skip_limit:.0f} s"
        say(f"  {label:<40} skipped: {reason}")
        return {"skipped": reason, "predicted_s": t_pred}, None
    try:
        fn = make_fn()
        record: dict = {"warmup_s": None}
        out = None
        warm = t_pred is None or t_pred <= WARMUP_LIMIT_S
        if warm:
            record["warmup_s"], out = time_call(fn, sync_device)
            if check is not None:
                record["check"] = check(out)
        out = None
        repeats = ctx.repeats if warm or long_repeats is None else min(ctx.repeats, long_repeats)
        timing, out = time_repeats(fn, repeats, device=sync_device, warmup=False)
        record.update(timing)
        if check is not None and "check" not in record:
            record["check"] = check(out)
    except Exception as exc:  # noqa: BLE001 - every failure is a recorded row
        message = f"{type(exc).__name__}: {exc}"
        say(f"  {label:<40} error: {message}")
        traceback.print_exc(limit=3, file=sys.stderr)
        return {"error": message}, None
    finally:
        gc.collect()
    note = ""
    if "check" in record and not record["check"].get("passed", True):
        note = f"  CHECK FAILED {record['check']}"
    say(f"  {label:<40} {format_seconds(record['median_s'])}{note}")
    return record, out


def new_case(ctx: Context, suite: str, case: str, n: int) -> tuple[str, dict | None]:
    """The case's key, and its record when an earlier run already finished it (resume)."""
    key = case_key(suite, case, n, ctx.device.type)
    ctx.done.append(key)
    old = ctx.log.get(key)
    if old is not None:
        ctx.resumed.add(key)
        say(f"[{suite}] {case} n={n}: already in {ctx.log.path.name}, skipped (resume)")
    else:
        say(f"[{suite}] {case} n={n}")
    return key, old


def finish_case(ctx: Context, key: str, suite: str, case: str, n: int, engines: dict, **extra) -> dict:
    """Add ratios to the fastest anchor and write the case's line."""
    record = {
        "key": key,
        "suite": suite,
        "case": case,
        "n": n,
        "device": ctx.device.type,
        "engines": engines,
        **extra,
    }
    anchors = {e: r["median_s"] for e, r in engines.items() if is_anchor(e) and "median_s" in r}
    if anchors:
        fastest = min(anchors, key=anchors.get)
        record["fastest_anchor"] = fastest
        record["ratio_to_fastest_anchor"] = {
            e: r["median_s"] / anchors[fastest] for e, r in engines.items() if not is_anchor(e) and "median_s" in r
        }
    record["run"] = ctx.run
    record["finished_at"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    ctx.log.append(record)
    return record
