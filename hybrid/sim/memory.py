"""The memory guard: refuse a simulation that cannot fit, before allocating anything."""

from __future__ import annotations

import os

import torch

__all__ = ["MemoryLimitError", "free_bytes", "state_bytes", "check_fits", "format_bytes"]

# The kernels hold the state, a reordered copy, the matmul output and the result at once.
WORKING_STATES = 4

# Below this the guard does not ask the system: a machine without 1 MiB free fails anyway.
_ALWAYS_FITS = 2**20


class MemoryLimitError(MemoryError):
    """Raised up front when a state (plus working buffers) would not fit in free memory."""


def format_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if n < 1024 or unit == "EiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    raise AssertionError("unreachable")


def free_bytes(device: torch.device) -> int:
    """Bytes that can still be allocated on ``device`` (CPU: MemAvailable)."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        cached = torch.cuda.memory_reserved(device) - torch.cuda.memory_allocated(device)
        return int(free + cached)
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def state_bytes(n_qubits: int, batch: int, dtype: torch.dtype) -> int:
    itemsize = torch.empty((), dtype=dtype).element_size()
    return batch * (2**n_qubits) * itemsize


def check_fits(
    n_qubits: int, batch: int, dtype: torch.dtype, device: torch.device, *, stored_states: int = 0
) -> None:
    """Raise :class:`MemoryLimitError` if ``batch`` states of ``n_qubits`` will not fit.

    ``stored_states`` counts extra full states kept alive (autograd keeps about one per
    gate when differentiating by backpropagation).
    """
    one = state_bytes(n_qubits, batch, dtype)
    need = one * (WORKING_STATES + stored_states)
    if need <= _ALWAYS_FITS:
        return  # small runs (most QML calls) skip reading the free memory (~15 us each time)
    free = free_bytes(device)
    if need <= free:
        return
    dtype_name = str(dtype).replace("torch.", "")
    ways = ["lower the batch"] if batch > 1 else []
    if dtype == torch.complex128:
        ways.append("use complex64")
    if stored_states:
        ways.append("differentiate with fewer gates or without autograd (torch.no_grad())")
    ways.append("use fewer qubits")
    raise MemoryLimitError(
        f"{n_qubits} qubits x batch {batch} in {dtype_name} needs about {format_bytes(need)} "
        f"({format_bytes(one)} per state, {WORKING_STATES + stored_states} states incl. working buffers); "
        f"{format_bytes(free)} free on {device} -- " + ", ".join(ways)
    )
