"""Scaling of the sharded statevector (``simulate(..., distributed=True)``).

Under ``torchrun`` (every process runs this; rank 0 prints one JSON line per case)::

    torchrun --standalone --nproc_per_node 4 -m benchmarks.distributed --qubits 20

or as a launcher that starts 1, 2 and 4 processes in turn and prints a table::

    python -m benchmarks.distributed --launch 1,2,4 --qubits 20

Cases: QFT and random layered circuits (``benchmarks.circuits``), ``weak`` scaling
(``qubits + k`` qubits on ``2**k`` processes: the same shard size on each) and
``strong`` scaling (``qubits`` on every process count). Each line gives the time (the
slowest process, median of ``--repeats``), the exchanges and the bytes each process
sent, and a lower bound on those bytes: every logical wire among the ``k`` global ones
that a non-diagonal gate targets must become local at least once, and moving ``q`` index
bits costs a process at least ``(1 - 2**-q)`` of its shard (one exchange of all of them;
``m`` exchanges of ``q_1..q_m`` bits cost ``sum(1 - 2**-q_i) >= 1 - 2**-sum(q_i)``).
Readouts are not timed (they may swap once more). The device comes from the rank
(``cuda:LOCAL_RANK`` with NCCL when CUDA is present, the CPU with gloo otherwise).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import torch

from hybrid.sim.schedule import needs_local, swap_fraction
from hybrid.sim.distributed import check_power_of_two
from hybrid.sim.sharded import DEFAULT_CHUNK

from .circuits import qft_gates, random_layered_gates, to_hybrid

CIRCUITS = {"qft": qft_gates, "random": lambda n: random_layered_gates(n, layers=10)}


def minimum_bytes(circuit, k: int, shard_bytes: int) -> int:
    """The lower bound on what each process must send (see the module docstring)."""
    needed = {q for op in circuit.ops for q in needs_local(op) if q < k}
    return int(swap_fraction(len(needed)) * shard_bytes)


def run_case(name: str, n: int, dtype: torch.dtype, repeats: int, chunk: int) -> dict:
    import torch.distributed as dist

    from hybrid.sim.sharded_run import simulate_distributed

    circuit = to_hybrid(n, CIRCUITS[name](n))
    times = []
    for _ in range(repeats + 1):  # the first run plans and warms up
        if dist.is_initialized():
            dist.barrier()
        start = time.perf_counter()
        with torch.no_grad():
            state = simulate_distributed(circuit, dtype=dtype, chunk=chunk)
        if state.statevector.device.type == "cuda":
            torch.cuda.synchronize()
        elapsed = torch.tensor([time.perf_counter() - start], dtype=torch.float64)
        if dist.is_initialized():
            dist.all_reduce(elapsed, op=dist.ReduceOp.MAX)
        times.append(float(elapsed))
    sv = state.statevector
    stats = state.exchange_stats  # of the last run only: each run builds a fresh exchange counter
    shard = sv.rows * 2**sv.n_local * torch.empty((), dtype=dtype).element_size()
    low = minimum_bytes(circuit, sv.k, shard)
    return {
        "circuit": name, "qubits": n, "processes": state.world_size, "local_qubits": sv.n_local,
        "dtype": str(dtype).replace("torch.", ""), "seconds": statistics.median(times[1:]),
        "exchanges": stats["exchanges"], "all_to_all_calls": stats["calls"], "sent_bytes_per_process": stats["sent_bytes"],
        "minimum_bytes_per_process": low, "sent_over_minimum": (stats["sent_bytes"] / low) if low else None,
        "shard_bytes": shard, "device": str(sv.device),
    }  # fmt: skip


def worker(args) -> None:
    import torch.distributed as dist

    from hybrid.sim.distributed import join
    from hybrid.sim.device import resolve_device

    rank, size, _ = join(resolve_device(args.device))
    k = check_power_of_two(size)
    dtype = getattr(torch, args.dtype)
    sizes = []
    if "weak" in args.modes:
        sizes.append(("weak", args.qubits + k))
    if "strong" in args.modes:
        sizes.append(("strong", args.qubits))
    for mode, n in sizes:
        for name in args.circuits:
            row = run_case(name, n, dtype, args.repeats, args.chunk)
            row["mode"] = mode
            if rank == 0:
                print(json.dumps(row), flush=True)
    if dist.is_initialized():
        dist.destroy_process_group()


def launch(args) -> None:
    """Start ``torchrun`` with each process count in turn; print the rows and a table."""
    rows = []
    cores = os.cpu_count() or 1
    for count in [int(c) for c in args.launch.split(",")]:
        forwarded = [a for a in sys.argv[1:] if not a.startswith("--launch")]
        if "--launch" in sys.argv:
            i = sys.argv.index("--launch")
            forwarded = sys.argv[1:i] + sys.argv[i + 2 :]
        env = dict(os.environ, OMP_NUM_THREADS=str(max(1, cores // count)))
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={count}",
               "-m", "benchmarks.distributed", *forwarded]  # fmt: skip
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if proc.returncode:
            sys.exit(proc.stderr[-3000:])
        for line in proc.stdout.splitlines():
            if line.startswith("{"):
                rows.append(json.loads(line))
                print(line, flush=True)
    if args.out:
        with open(args.out, "a") as f:
            for r in rows:
                f.write(json.dumps(r) + "\n")
    print()
    print("| mode | circuit | qubits | processes | seconds | exchanges | sent / process | minimum | sent / minimum |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        ratio = f"{r['sent_over_minimum']:.2f}" if r["sent_over_minimum"] else "-"
        print(f"| {r['mode']} | {r['circuit']} | {r['qubits']} | {r['processes']} | {r['seconds']:.3f} | {r['exchanges']} | "
              f"{r['sent_bytes_per_process'] / 2**20:.1f} MiB | {r['minimum_bytes_per_process'] / 2**20:.1f} MiB | {ratio} |")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--qubits", type=int, default=18, help="strong scaling: qubits; weak: qubits on one process")
    p.add_argument("--modes", default="weak,strong", type=lambda s: s.split(","))
    p.add_argument("--circuits", default="qft,random", type=lambda s: s.split(","))
    p.add_argument("--dtype", default="complex64", choices=["complex64", "complex128"])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--chunk", type=int, default=DEFAULT_CHUNK, help="amplitudes per exchange buffer")
    p.add_argument("--device", default="auto")
    p.add_argument("--launch", default=None, help="comma-separated process counts: start torchrun for each")
    p.add_argument("--out", default=None, help="launcher: append the rows to this JSON-lines file")
    args = p.parse_args(argv)
    if args.launch:
        launch(args)
    else:
        worker(args)


if __name__ == "__main__":
    main()
