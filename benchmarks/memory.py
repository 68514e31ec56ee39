"""Suite (d): peak memory of one gradient, adjoint against backprop.

Each engine runs in a fresh Python process (``python -m benchmarks.memory ENGINE N``), so
no other case's allocations count. The probe measures the peak resident set size
(``resource.getrusage(...).ru_maxrss``) after one forward + gradient of <sum Z_i> for a
2-layer StronglyEntanglingLayers circuit, minus the resident set after imports and
circuit construction, and reports it in bytes and in units of one state (2^n x itemsize).
Before the baseline is read, the probe runs the same gradient once on 4 qubits, so the
libraries' lazy imports and one-time allocations are not counted as the gradient's.
On CUDA it also reports torch's peak allocated device memory.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from .runner import Context, NotAvailable, finish_case, new_case, say

__all__ = ["run", "probe"]

SUITE = "memory"
CASE = "sel2_grad_peak"
ENGINES = {  # name -> (dtype, itemsize)
    "ours_backprop_c64": ("complex64", 8),
    "ours_adjoint_c64": ("complex64", 8),
    "lightning.qubit_adjoint": ("complex128", 16),
}
TIMEOUT_S = 600
WARMUP_QUBITS = 4  # a small gradient first, so lazy imports are part of the baseline


def run(ctx: Context, n: int) -> None:
    key, old = new_case(ctx, SUITE, CASE, n)
    if old is not None:
        return
    engines = {name: _run_probe(name, n, ctx.device.type) for name in ENGINES}
    finish_case(ctx, key, SUITE, CASE, n, engines, layers=2, method="peak RSS minus RSS after setup, fresh process")


def _run_probe(engine: str, n: int, device: str) -> dict:
    cmd = [sys.executable, "-m", "benchmarks.memory", engine, str(n), "--device", device]
    root = Path(__file__).resolve().parent.parent
    try:
        proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        result = {"error": f"timed out after {TIMEOUT_S} s"}
    else:
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
        if proc.returncode != 0 or not lines:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
            result = {"error": f"probe exited {proc.returncode}: {tail[0]}"}
        else:
            result = json.loads(lines[-1])
    if "peak_delta_bytes" in result:
        say(f"  {engine:<40} {result['peak_delta_bytes'] / 2**20:.0f} MiB = {result['states']:.1f} states")
    else:
        say(f"  {engine:<40} {result.get('skipped') or result.get('error')}")
    return result


# --- the probe (runs in its own process) ----------------------------------------------------


def _rss_bytes() -> int:
    """Current resident set size."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return _maxrss_bytes()


def _maxrss_bytes() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # Linux reports KiB


def _setup(engine: str, n: int, device: str):
    """Build everything the gradient needs; returns a zero-argument gradient call."""
    import torch

    from .gradients import pennylane_grad_fn, sel_weights

    weights = sel_weights(n)
    if engine == "lightning.qubit_adjoint":
        return pennylane_grad_fn("lightning.qubit", "adjoint", weights)
    from . import ours

    method = "adjoint" if "adjoint" in engine else "backprop"
    if method == "adjoint" and not ours.has_expval():
        raise NotAvailable("hybrid.expval is not in this checkout; adjoint needs it")
    return ours.sel_grad_fn(weights, torch.complex64, torch.device(device), method)


def probe(engine: str, n: int, device: str) -> dict:
    dtype, itemsize = ENGINES[engine]
    state_bytes = 2**n * itemsize
    try:
        _setup(engine, min(n, WARMUP_QUBITS), device)()  # lazy imports and one-time set-up
        fn = _setup(engine, n, device)
    except NotAvailable as exc:
        return {"skipped": str(exc)}
    import torch

    cuda = device == "cuda"
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        cuda_base = torch.cuda.memory_allocated()
    gc.collect()
    base_rss, base_peak = _rss_bytes(), _maxrss_bytes()
    start = time.perf_counter()
    fn()
    if cuda:
        torch.cuda.synchronize()
    elapsed = time.perf_counter() - start
    peak = _maxrss_bytes()
    delta = max(0, peak - base_rss)
    result = {
        "dtype": dtype,
        "state_bytes": state_bytes,
        "rss_after_setup_bytes": base_rss,
        "peak_rss_bytes": peak,
        "peak_before_run_bytes": base_peak,
        "peak_delta_bytes": delta,
        "states": delta / state_bytes,
        "time_s": elapsed,
    }
    if peak <= base_peak:
        result["note"] = "the process peak was reached before the run; the delta is a lower bound"
    if cuda:
        cuda_delta = torch.cuda.max_memory_allocated() - cuda_base
        result.update(cuda_peak_delta_bytes=cuda_delta, cuda_states=cuda_delta / state_bytes)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Peak memory of one 2-layer SEL gradient (one engine).")
    parser.add_argument("engine", choices=sorted(ENGINES))
    parser.add_argument("n", type=int)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    print(json.dumps(probe(args.engine, args.n, args.device)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
