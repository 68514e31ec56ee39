"""python -m benchmarks.classifiers [--full] [--out DIR] [--device auto|cpu|cuda] [--seeds N]

Runs every case not already in ``DIR/classifiers.jsonl`` (one line per finished training
run, appended, flushed and fsynced), then writes ``DIR/classifiers.md`` and the PNG plots.
A case that fails is reported and not written, so the next run tries it again.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from pathlib import Path
from typing import Callable

import torch
from tqdm import tqdm

from benchmarks.records import ResultLog
from hybrid._checks import positive_int_arg

from . import case_keys, plot, render, run_case

LOG_NAME = "classifiers.jsonl"

Runner = Callable[..., dict]  # run_case's signature: (key, device, *, records) -> record


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.classifiers", description=__doc__.split("\n\n")[1])
    p.add_argument("--full", action="store_true", help="the full grid (more datasets and models, 30 epochs; hours on a CPU)")
    p.add_argument("--out", type=Path, default=Path("out/bench"), help="output folder (default out/bench)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"), help="where training runs")
    p.add_argument("--seeds", type=positive_int_arg, default=5, help="final seeds per model (default 5; at least 2 for intervals)")
    p.add_argument("--threads", type=positive_int_arg, help="torch CPU threads (default: as found; 1 on a busy shared machine)")
    args = p.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        p.error("--device cuda was given but torch sees no CUDA GPU; use --device cpu or auto")
    if args.out.exists() and not args.out.is_dir():
        p.error(f"--out {args.out} is a file; give a folder (it is created if missing)")
    return args


def run_cases(keys: list[str], log: ResultLog, device: str, *, run: Runner = run_case) -> list[str]:
    """Run the cases of ``keys`` that ``log`` lacks, in order, appending each record as it
    finishes; returns the keys that failed (reported, not written, so a rerun retries them)."""
    todo = [k for k in keys if k not in log.records]
    print(f"{len(keys)} cases, {len(keys) - len(todo)} already in {log.path}", flush=True)
    failed = []
    with tqdm(total=len(keys), initial=len(keys) - len(todo), unit="run", dynamic_ncols=True) as bar:
        for key in todo:
            bar.set_description(key.split("/", 2)[-1])
            try:
                log.append(run(key, device, records=log.records))
            except Exception as exc:  # noqa: BLE001 - one failed run must not stop the others
                failed.append(key)
                tqdm.write(f"{key}: {type(exc).__name__}: {exc}")
                traceback.print_exc(limit=4, file=sys.stderr)
            bar.update()
    return failed


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.threads:
        # Small models spend their time in tiny parallel regions; on a loaded 2-core machine
        # two spinning OpenMP threads ran the quick grid several times slower than one.
        torch.set_num_threads(args.threads)
    started = time.perf_counter()
    log = ResultLog(args.out, LOG_NAME)
    keys = case_keys(not args.full, seeds=args.seeds)
    failed = run_cases(keys, log, args.device)
    records = [log.records[k] for k in keys if k in log.records]
    md = args.out / "classifiers.md"
    md.write_text(render(records), encoding="utf-8")
    pngs = plot(records, args.out)
    print(f"{len(records)} of {len(keys)} cases done in {time.perf_counter() - started:.0f} s; wrote {md}")
    for p in pngs:
        print(f"wrote {p}")
    if failed:
        print(f"{len(failed)} case(s) failed and will be retried on the next run: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
