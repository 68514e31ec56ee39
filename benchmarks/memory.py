"""Suite (d): peak memory of one gradient, adjoint against backprop.

Each engine runs in a fresh Python process (``python -m benchmarks.memory ENGINE N``), so
no other case's allocations count. The probe reports the peak resident set size during
one forward + gradient of <sum Z_i> for a 2-layer StronglyEntanglingLayers circuit, minus
the resident set after imports and circuit construction, in bytes and in units of one
state (2^n x itemsize). Before the baseline is read, the probe runs the same gradient once
on 4 qubits, so the libraries' lazy imports and one-time allocations are not counted as
the gradient's. On CUDA it also reports torch's peak allocated device memory.

The peak comes from Linux's ``VmHWM`` (reset to the current size through
``/proc/self/clear_refs`` once set-up is done), not from ``getrusage().ru_maxrss`` alone:
a process started from a large parent (this benchmark, by then holding hundreds of MiB)
inherits the parent's high-water mark in ``ru_maxrss``, which would swamp the gradient's
own peak. ``ru_maxrss`` is stored too, and used only where ``/proc`` is unavailable.

The probe process runs with ``MALLOC_MMAP_THRESHOLD_`` fixed at 1 MiB. By default glibc
raises its mmap threshold after a large block is freed, and from then on keeps freed
state-sized blocks in the heap: resident memory then counts buffers that are already
free, and the peak depends on allocation history more than on the algorithm. With the
threshold fixed every state-sized buffer is mapped and unmapped, so the peak is what was
live at once. The same setting applies to every engine.
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

from .runner import Context, finish_case, new_case, say

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
        env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": str(2**20)}
        proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=TIMEOUT_S, env=env)
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


def _status_bytes(field: str) -> int | None:
    """A ``VmRSS``/``VmHWM`` line of /proc/self/status, in bytes (None off Linux)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _reset_peak() -> bool:
    """Set the peak-RSS mark to the current RSS (Linux >= 4.0); False where unsupported."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


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
    return ours.sel_grad_fn(weights, torch.complex64, torch.device(device), method)


def probe(engine: str, n: int, device: str) -> dict:
    dtype, itemsize = ENGINES[engine]
    state_bytes = 2**n * itemsize
    _setup(engine, min(n, WARMUP_QUBITS), device)()  # lazy imports and one-time set-up
    fn = _setup(engine, n, device)
    import torch

    cuda = device == "cuda"
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        cuda_base = torch.cuda.memory_allocated()
    gc.collect()
    use_hwm = _reset_peak() and _status_bytes("VmHWM") is not None
    base_rss = _status_bytes("VmRSS") or _maxrss_bytes()
    base_maxrss = _maxrss_bytes()
    start = time.perf_counter()
    fn()
    if cuda:
        torch.cuda.synchronize()
    elapsed = time.perf_counter() - start
    peak = _status_bytes("VmHWM") if use_hwm else _maxrss_bytes()
    delta = max(0, peak - base_rss)
    result = {
        "dtype": dtype,
        "state_bytes": state_bytes,
        "peak_source": "VmHWM" if use_hwm else "ru_maxrss",
        "rss_after_setup_bytes": base_rss,
        "peak_rss_bytes": peak,
        "peak_delta_bytes": delta,
        "states": delta / state_bytes,
        "ru_maxrss_before_bytes": base_maxrss,
        "ru_maxrss_after_bytes": _maxrss_bytes(),
        "time_s": elapsed,
    }
    if not use_hwm and peak <= base_maxrss:
        result["note"] = "ru_maxrss was already at its peak before the run (inherited or set-up); unreliable"
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
