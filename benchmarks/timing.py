"""Timers and the memory-bandwidth yardstick.

Every measurement is wall-clock (``time.perf_counter``) around one call that returns only
when the work is done: on CUDA the timer synchronises the device before reading the clock.
"""

from __future__ import annotations

import statistics
import time
from typing import Callable

import torch

__all__ = ["sync", "time_call", "time_repeats", "copy_bandwidth", "floor_seconds", "format_seconds"]

def sync(device: torch.device | str | None) -> None:
    """Wait for queued CUDA work on ``device`` (a no-op on the CPU)."""
    if device is not None and torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def time_call(fn: Callable[[], object], device=None) -> tuple[float, object]:
    """Seconds one ``fn()`` takes (device synchronised), and what it returned."""
    sync(device)
    start = time.perf_counter()
    out = fn()
    sync(device)
    return time.perf_counter() - start, out


def time_repeats(fn: Callable[[], object], repeats: int, *, device=None, warmup: bool = True) -> tuple[dict, object]:
    """Median of ``repeats`` timed calls, after one uncounted warm-up call if ``warmup``.

    Returns the timing record and the last call's result.
    """
    record: dict = {}
    if warmup:
        record["warmup_s"], _ = time_call(fn, device)
    times, out = [], None
    for _ in range(max(1, repeats)):
        t, out = time_call(fn, device)
        times.append(t)
    record["times_s"] = times
    record["median_s"] = statistics.median(times)
    record["min_s"] = min(times)
    return record, out


def copy_bandwidth(device: torch.device, nbytes: int = 256 * 2**20, repeats: int = 5) -> dict:
    """Copy bandwidth of ``dst.copy_(src)`` on ``device`` over ``nbytes``-byte buffers.

    A copy reads and writes every byte, so it moves ``2 * nbytes``; GB/s counts both.
    The fastest of ``repeats`` calls (after a warm-up that faults the pages in) is the
    bandwidth the floor uses: the floor is meant to be a lower bound.
    """
    src = torch.ones(nbytes // 4, dtype=torch.float32, device=device)
    dst = torch.empty_like(src)
    dst.copy_(src)
    times = [time_call(lambda: dst.copy_(src), device)[0] for _ in range(repeats)]
    moved = 2 * src.numel() * src.element_size()
    best = min(times)
    return {
        "device": str(device),
        "buffer_bytes": src.numel() * src.element_size(),
        "times_s": times,
        "GBps": moved / best / 1e9,
        "GBps_median": moved / statistics.median(times) / 1e9,
    }


def floor_seconds(n_qubits: int, n_gates: int, itemsize: int, gbps: float, batch: int = 1) -> float:
    """Seconds that ``n_gates`` full passes over the state need at ``gbps``.

    Each gate reads and writes every amplitude once: ``2 * batch * 2**n * itemsize`` bytes.
    """
    return n_gates * 2 * batch * 2**n_qubits * itemsize / (gbps * 1e9)


def format_seconds(s: float | None) -> str:
    if s is None:
        return "-"
    if s >= 1:
        return f"{s:.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.1f} ms"
    return f"{s * 1e6:.0f} us"
