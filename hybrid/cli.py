"""The ``hybrid`` command.

``hybrid demo`` runs a small tour of the engine (and checks it against Qiskit when the
qiskit extra is installed); ``hybrid info`` prints versions, devices and the largest
state that fits. Benchmarks, algorithms and training arrive as further subcommands.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time

import torch

import circuits.qft

from . import __version__
from .sim import Circuit, Z, simulate
from .sim.device import resolve_device
from .sim.memory import WORKING_STATES, format_bytes, free_bytes

__all__ = ["main"]


def _timed(fn, repeats: int = 3) -> float:
    """Median wall time of ``fn`` in seconds (CUDA synchronised)."""
    times = []
    for _ in range(repeats):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def run_demo(n_qubits: int, device: str) -> dict:
    """Bell counts, a QFT timing and (with Qiskit) a QASM round trip checked against Statevector."""
    dev = resolve_device(device)
    bell = simulate(Circuit(2).h(0).cx(0, 1), device=dev)
    result: dict = {
        "device": str(dev),
        "bell_counts": bell.counts(1000, seed=0),
        "bell_zz": round(bell.expval(Z(0) @ Z(1)).item(), 6),
    }
    qft = circuits.qft.qft(n_qubits)
    for dtype in (torch.complex64, torch.complex128):
        seconds = _timed(lambda: simulate(qft, initial_state=1, dtype=dtype, device=dev))
        result[f"qft{n_qubits}_{str(dtype).split('.')[-1]}_seconds"] = round(seconds, 4)
    try:
        import numpy as np
        from qiskit.quantum_info import Statevector

        from .interop.qiskit import from_qasm, from_qiskit_order, to_qasm, to_qiskit
    except ImportError:
        result["qiskit_check"] = "skipped: install the qiskit extra (pip install 'hybrid[qiskit]')"
        return result
    small = circuits.qft.qft(min(n_qubits, 12))
    ours = simulate(from_qasm(to_qasm(small)), initial_state=1, dtype=torch.complex128, device=dev).vector.cpu()
    prep = to_qiskit(Circuit(small.n_qubits).x(small.n_qubits - 1).compose(small))
    ref = from_qiskit_order(torch.as_tensor(Statevector(prep).data), small.n_qubits)
    result["qasm_roundtrip_fidelity_vs_qiskit"] = float(abs(np.vdot(ref.numpy(), ours.numpy())) ** 2)
    return result


def run_info() -> dict:
    """Versions, devices, free memory and the largest single state per dtype."""
    devices = ["cpu"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    info: dict = {
        "hybrid": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "devices": {},
    }
    for optional in ("qiskit", "qiskit_aer", "pennylane"):
        try:
            info[optional] = __import__(optional).__version__
        except ImportError:
            info[optional] = "not installed"
    for name in devices:
        free = free_bytes(torch.device(name))
        entry = {"free": format_bytes(free)}
        for dtype, size in (("complex64", 8), ("complex128", 16)):
            # Largest n with WORKING_STATES copies of a batch-1 state inside free memory.
            entry[f"max_qubits_{dtype}"] = int(math.floor(math.log2(free / (size * WORKING_STATES))))
        info["devices"][name] = entry
    return info


def _print(result: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, indent=2))
        return
    for key, value in result.items():
        print(f"{key:>36}: {value}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hybrid", description="Quantum-classical hybrid simulator on PyTorch.")
    parser.add_argument("--version", action="version", version=f"hybrid {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="a short tour of the engine, checked against Qiskit when installed")
    demo.add_argument("--qubits", type=int, default=16, help="QFT size to time (default 16)")
    demo.add_argument("--device", default="auto", help="auto | cpu | cuda (default auto)")
    demo.add_argument("--json", action="store_true", help="machine-readable output")
    info = sub.add_parser("info", help="versions, devices, free memory, largest state that fits")
    info.add_argument("--json", action="store_true", help="machine-readable output")
    from . import train as training  # here, not at the top: it pulls in scikit-learn

    training.add_arguments(sub.add_parser("train", help="train one classifier; metrics.json and resumable checkpoints in --out"))
    args = parser.parse_args(argv)
    try:
        if args.command == "train":
            from . import train as training

            return training.main_from_args(args)
        if args.command == "demo":
            if not 1 <= args.qubits <= 34:
                parser.error(f"--qubits must be between 1 and 34; got {args.qubits}")
            _print(run_demo(args.qubits, args.device), args.json)
        else:
            _print(run_info(), args.json)
    except (ValueError, MemoryError) as exc:
        print(f"hybrid: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
