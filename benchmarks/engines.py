"""Engine benchmark: our statevector engine against PennyLane, Lightning and Qiskit Aer.

    python -m benchmarks.engines [--quick] [--sizes 12,16,20,22,24] [--out DIR]
                                 [--device auto|cpu|cuda] [--repeats 3]

One process measures every engine on the same cases, prints a table per suite and appends
one JSON line per case to ``DIR/engines.jsonl``; a rerun with the same ``--out`` skips the
cases already there. See benchmarks/README.md for the columns.
"""

from __future__ import annotations

import os

# Torch, Lightning and Aer each bring their own OpenMP runtime (three copies of libgomp)
# into this one process. With libgomp's default spinning, one runtime's idle workers keep
# both cores busy while another works: on 2 cores, small torch runs measured 10-30x slower
# right after a Lightning or Aer call. A bounded spin (then sleep) ends that without the
# ~2.5x cost that OMP_WAIT_POLICY=PASSIVE puts on Lightning's many tiny parallel regions.
# The runtimes read this when they load, so it is set before torch is imported; a policy
# the user set explicitly wins.
if "OMP_WAIT_POLICY" not in os.environ:
    os.environ.setdefault("GOMP_SPINCOUNT", "100000")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import torch  # noqa: E402

from . import batched, gradients, memory, statevector  # noqa: E402
from .records import ResultLog, run_info  # noqa: E402
from .report import render  # noqa: E402
from .runner import Context, say  # noqa: E402
from .timing import copy_bandwidth  # noqa: E402

SUITES = ("statevector", "gradients", "batched", "memory")

FULL = {"sizes": [12, 16, 20, 22, 24], "grad": [4, 8, 12, 16], "batch": [4, 8], "memory": 22}
QUICK = {"sizes": [10, 14], "grad": [4, 8], "batch": [4], "memory": 16}


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.engines", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="small sizes; finishes in about a minute on 2 cores")
    p.add_argument("--sizes", type=_ints, help="statevector qubit counts (default 12,16,20,22,24; quick 10,14)")
    p.add_argument("--grad-sizes", type=_ints, help="gradient qubit counts (default 4,8,12,16; quick 4,8)")
    p.add_argument("--batch-sizes", type=_ints, help="batched-layer qubit counts (default 4,8; quick 4)")
    p.add_argument("--memory-qubits", type=int, help="qubits of the memory probe (default 22; quick 16)")
    p.add_argument("--suites", default=",".join(SUITES), help=f"comma-separated subset of {','.join(SUITES)}")
    p.add_argument("--out", default="out/bench", help="folder for engines.jsonl (default out/bench)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"), help="where our engine runs")
    p.add_argument("--repeats", type=int, default=3, help="timed calls per engine and case (median reported)")
    p.add_argument(
        "--threads",
        type=int,
        help="CPU threads for every engine (torch.set_num_threads and OMP_NUM_THREADS); default: as found",
    )
    args = p.parse_args(argv)
    unknown = set(args.suites.split(",")) - set(SUITES)
    if unknown:
        p.error(f"unknown suite(s) {sorted(unknown)}; choose from {', '.join(SUITES)}")
    if args.device == "cuda" and not torch.cuda.is_available():
        p.error("--device cuda was given but torch sees no CUDA GPU")
    return args


def make_context(log: ResultLog, device: torch.device, repeats: int, info: dict) -> Context:
    """Measure the copy bandwidth (the floors' yardstick) on ``device`` and the CPU, store it
    in ``info`` and return the suites' shared context."""
    cpu_bw = copy_bandwidth(torch.device("cpu"))
    bw = copy_bandwidth(device) if device.type == "cuda" else cpu_bw
    info["bandwidth"] = {"device": bw, "cpu": cpu_bw}
    say(f"copy bandwidth: {bw['GBps']:.1f} GB/s on {device} (read + write, {bw['buffer_bytes'] >> 20} MiB buffers)")
    return Context(log=log, device=device, repeats=repeats, run=info, bandwidth=bw, cpu_bandwidth=cpu_bw)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    preset = QUICK if args.quick else FULL
    use_cuda = args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available())
    device = torch.device("cuda" if use_cuda else "cpu")
    started = time.perf_counter()
    if args.threads:
        # Set before the anchors are imported (they are imported lazily), so their OpenMP
        # runtimes read it; subprocesses (the memory probes) inherit it.
        os.environ["OMP_NUM_THREADS"] = str(args.threads)
        torch.set_num_threads(args.threads)
    log = ResultLog(args.out)
    info = run_info(device, sys.argv[1:] if argv is None else argv)
    say(f"device {info['device']}, torch {info['versions']['torch']} with {info['torch_threads']} threads")
    say(f"results: {log.path}" + (f" ({len(log.records)} cases already there)" if log.records else ""))

    ctx = make_context(log, device, args.repeats, info)
    # The statevector suite runs last: it is the only one that runs Aer, and once Aer's
    # OpenMP workers exist in this process, Lightning's per-sample adjoint loop (the
    # batched TorchLayer) measured 2-2.5x slower. Large statevector runs were not affected.
    suites = args.suites.split(",")
    if "gradients" in suites:
        gradients.run(ctx, args.grad_sizes or preset["grad"])
    if "batched" in suites:
        batched.run(ctx, args.batch_sizes or preset["batch"])
    if "memory" in suites:
        memory.run(ctx, args.memory_qubits or preset["memory"])
    if "statevector" in suites:
        statevector.run(ctx, args.sizes or preset["sizes"])

    records = [log.records[k] for k in ctx.done if k in log.records]
    print()
    print(render(records, ctx.resumed, ctx.bandwidth["GBps"]))
    elapsed = time.perf_counter() - started
    say(f"\n{len(records)} cases ({len(ctx.resumed)} resumed) in {elapsed:.0f} s; lines in {log.path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
