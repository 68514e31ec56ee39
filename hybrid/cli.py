"""The ``hybrid`` command.

    hybrid demo    a short tour of the engine (checked against Qiskit when installed)
    hybrid info    versions, devices, free memory and the largest state that fits
    hybrid train   train one classifier (see hybrid.train)
    hybrid bench   every benchmark suite, resumable, with a Markdown report and plots
    hybrid run     grover | shor | vqe | qaoa from the command line

Exit codes: 0 success, 1 a run failed or a benchmark case errored, 2 bad usage.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import math
import platform
import sys
import time
from pathlib import Path

import torch

import circuits.qft

from . import __version__
from ._checks import positive_int_arg
from .sim import Circuit, Z, simulate
from .sim.device import resolve_device
from .sim.memory import WORKING_STATES, format_bytes, free_bytes

__all__ = ["main", "run_info", "run_demo"]

_PACKAGES = {  # what ``hybrid info`` reports: label -> distribution name
    "torch": "torch",
    "numpy": "numpy",
    "pennylane": "pennylane",
    "lightning": "pennylane_lightning",
    "qiskit": "qiskit",
    "aer": "qiskit-aer",
}
_ITEMSIZE = {"complex64": 8, "complex128": 16}


# --- demo and info -------------------------------------------------------------------------


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


def largest_state(free: int, itemsize: int) -> int:
    """Largest n whose batch-1 state, with the kernels' working copies, fits in ``free`` bytes."""
    if free < itemsize * WORKING_STATES:
        return 0
    return int(math.floor(math.log2(free / (itemsize * WORKING_STATES))))


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _device_name(name: str) -> str:
    if name.startswith("cuda"):
        return torch.cuda.get_device_name(torch.device(name))
    from benchmarks.records import cpu_model

    return cpu_model() or platform.machine()


def run_info() -> dict:
    """Versions, devices, free memory and the largest single state per dtype.

    Versions come from the installed distributions' metadata (None when not installed),
    so the command does not pay for importing PennyLane or Qiskit.
    """
    info: dict = {
        "hybrid": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": {label: _version(dist) for label, dist in _PACKAGES.items()},
        "cuda_available": torch.cuda.is_available(),
        "torch_threads": torch.get_num_threads(),
        "devices": {},
        "working_states": WORKING_STATES,
        "distributed": _distributed_setting(),
    }
    for name in ["cpu"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]:
        free = free_bytes(torch.device(name))
        info["devices"][name] = {
            "name": _device_name(name),
            "free_bytes": free,
            "free": format_bytes(free),
            "max_qubits": {dtype: largest_state(free, size) for dtype, size in _ITEMSIZE.items()},
        }
    return info


def _distributed_setting() -> dict:
    from .sim.distributed import setting

    d = setting()
    if d["launched"]:  # a sharded state adds log2(processes) qubits to what one process holds
        d["extra_qubits"] = d["world_size"].bit_length() - 1 if d["world_size"] & (d["world_size"] - 1) == 0 else None
    return d


def _print_info(info: dict) -> None:
    print(f"hybrid {info['hybrid']}, Python {info['python']} on {info['platform']}")
    for label, version in info["versions"].items():
        print(f"  {label:<10} {version or 'not installed'}")
    print(f"torch threads: {info['torch_threads']}; CUDA available: {info['cuda_available']}")
    print(f"largest state that fits (one state plus {info['working_states']} working copies):")
    for name, dev in info["devices"].items():
        fits = ", ".join(f"{n} qubits {dtype}" for dtype, n in dev["max_qubits"].items())
        print(f"  {name:<8} {dev['name']}: {dev['free']} free -> {fits}")
    d = info.get("distributed", {"launched": False})
    if not d["launched"]:
        print("distributed: not launched (run under torchrun for simulate(..., distributed=True))")
    else:
        extra = d.get("extra_qubits")
        adds = f"; a sharded state adds {extra} qubit(s)" if extra is not None else "; not a power of two: sharding refused"
        print(f"distributed: rank {d['rank']} of {d['world_size']}, backend {d['backend']}{adds}")


def _print(result: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, indent=2, default=str))
        return
    for key, value in result.items():
        print(f"{key:>36}: {value}")


# --- hybrid run ----------------------------------------------------------------------------


def parse_marked(text: str, n_qubits: int | None) -> tuple[int, list[int | str]]:
    """``"3,5"`` or ``"0011,0101"`` -> (qubits, items). A token of exactly ``n_qubits`` binary
    digits is a bitstring (wire 0 first); any other token is a basis index."""
    tokens = [t.strip() for t in text.split(",") if t.strip()]
    if not tokens:
        raise ValueError("--marked is empty; give indices such as 3,5 or bitstrings such as 0011,0101")
    binary = all(set(t) <= {"0", "1"} for t in tokens)
    if n_qubits is None:
        lengths = {len(t) for t in tokens}
        if not binary or len(lengths) != 1 or lengths == {1}:
            raise ValueError("give --qubits with index-valued --marked (only equal-length bitstrings imply it)")
        n_qubits = lengths.pop()
    items: list[int | str] = []
    for t in tokens:
        if len(t) == n_qubits and set(t) <= {"0", "1"}:
            items.append(t)
        elif t.isdigit():
            items.append(int(t))
        else:
            raise ValueError(f"--marked item {t!r} is neither an index nor a {n_qubits}-bit string")
    return n_qubits, items


def run_grover(args: argparse.Namespace) -> dict:
    from circuits import grover, oracles  # each runner imports its algorithm on use: the other commands start fast
    if (args.cnf is None) == (args.marked is None):
        raise ValueError("give exactly one of --marked (indices or bitstrings) and --cnf FILE")
    if args.cnf is not None:
        cnf = oracles.parse_dimacs(Path(args.cnf).read_text(encoding="utf-8"))
        if args.qubits is not None and args.qubits != cnf.n_vars:
            raise ValueError(f"--qubits {args.qubits} but {args.cnf} has {cnf.n_vars} variables; drop --qubits")
        problem, marked, label = oracles.oracle_from_cnf(cnf), None, f"CNF {args.cnf} ({len(cnf.clauses)} clauses)"
    else:
        n, marked = parse_marked(args.marked, args.qubits)
        problem, label = n, "marked " + ", ".join(map(str, marked))
    res = grover.grover_search(
        problem, marked, iterations=args.iterations, shots=args.shots, seed=args.seed, device=args.device
    )
    top = sorted(res.counts.items(), key=lambda kv: (-kv[1], kv[0]))[:8]
    return {
        "algorithm": "grover",
        "problem": label,
        "search_qubits": res.n_qubits,
        "qubits_simulated": res.qubits,
        "iterations": res.iterations,
        "oracle_queries": res.oracle_queries,
        "success_probability": res.success_probability,
        "found": res.found,
        "best": res.best,
        "best_index": int(res.best, 2) if res.best else None,
        "solutions": list(res.solutions),
        "n_marked": res.n_marked,
        "top_counts": dict(top),
        "schedule": list(res.schedule),
    }


def run_shor(args: argparse.Namespace) -> dict:
    from circuits import shor
    kwargs = {"method": args.method, "a": args.a, "seed": args.seed, "device": args.device}
    if args.coprime_bases:
        kwargs["coprime_bases"] = True
    res = shor.factor(args.N, **kwargs)
    return {
        "algorithm": "shor",
        "N": res.N,
        "factors": list(res.factors),
        "how": res.method_used,
        "method": res.method,
        "base_a": res.a,
        "period": res.period,
        "phase_bits": "".join(map(str, res.phase_bits)),
        "quantum_runs": res.quantum_runs,
        "qubits": res.qubits,
        "two_qubit_gates": res.two_qubit_gates,
        "history": [list(h) for h in res.history],
    }


_MOLECULES = {  # name -> (symbols, charge); atoms on the z axis, --bond apart
    "H2": (["H", "H"], 0),
    "HeH+": (["He", "H"], 1),
    "LiH": (["Li", "H"], 0),
}


def run_vqe(args: argparse.Namespace) -> dict:
    from circuits import vqe
    if (args.molecule is None) == (args.tfim is None):
        raise ValueError("give exactly one of --molecule NAME (with --bond) and --tfim N (with --h)")
    common = {"seed": args.seed, "device": args.device}
    if args.steps is not None:
        common["steps"] = args.steps
    if args.molecule is not None:
        if args.molecule not in _MOLECULES:
            raise ValueError(f"unknown molecule {args.molecule!r}; choose from {', '.join(_MOLECULES)}")
        if not args.bond > 0:
            raise ValueError(f"--bond must be a positive distance in Angstrom; got {args.bond}")
        symbols, charge = _MOLECULES[args.molecule]
        coords = [0.0, 0.0, 0.0, 0.0, 0.0, args.bond]
        res = vqe.vqe_molecule(symbols, coords, ansatz=args.ansatz, charge=charge, **common)
        problem, unit = f"{args.molecule} at {args.bond} Angstrom ({args.ansatz} ansatz)", "Ha"
    else:
        from circuits.hamiltonians import tfim_hamiltonian

        if args.tfim < 2:
            raise ValueError(f"--tfim needs at least 2 spins; got {args.tfim}")
        ham = tfim_hamiltonian(args.tfim, J=args.J, h=args.h, periodic=args.periodic)
        res = vqe.vqe_spin(ham, args.tfim, **common)
        ring = "ring" if args.periodic else "chain"
        problem, unit = f"TFIM {ring} of {args.tfim} spins, J={args.J}, h={args.h}", "J"
    return {
        "algorithm": "vqe",
        "problem": problem,
        "energy": res.energy,
        "exact_energy": res.exact_energy,
        "error": res.error,
        "unit": unit,
        "qubits": res.n_qubits,
        "hamiltonian_terms": res.hamiltonian_terms,
        "two_qubit_gates": res.two_qubit_gates,
        "parameters": len(res.params),
        "steps": len(res.history),
        "ansatz": res.ansatz,
    }


def parse_graph(spec: str, seed: int | None):
    """``regular:D:N``, ``cycle:N``, ``complete:N``, ``erdos:N:P`` or an edge-list file
    (``u v [weight]`` per line, ``#`` comments) -> a networkx graph."""
    import networkx as nx

    kind, _, rest = spec.partition(":")
    try:
        if kind == "regular" and rest:
            d, n = (int(x) for x in rest.split(":"))
            return nx.random_regular_graph(d, n, seed=seed)
        if kind == "cycle" and rest:
            return nx.cycle_graph(int(rest))
        if kind == "complete" and rest:
            return nx.complete_graph(int(rest))
        if kind == "erdos" and rest:
            n, p = rest.split(":")
            return nx.erdos_renyi_graph(int(n), float(p), seed=seed)
    except (ValueError, nx.NetworkXError) as exc:
        raise ValueError(f"bad --graph {spec!r}: {exc}") from None
    path = Path(spec)
    if not path.is_file():
        raise ValueError(
            f"--graph {spec!r} is neither regular:D:N, cycle:N, complete:N, erdos:N:P nor an edge-list file"
        )
    graph = nx.Graph()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        fields = line.split("#", 1)[0].split()
        if not fields:
            continue
        if len(fields) not in (2, 3):
            raise ValueError(f"{path}:{number}: expected 'u v' or 'u v weight'; got {line.strip()!r}")
        u, v = (int(x) if x.lstrip("-").isdigit() else x for x in fields[:2])
        graph.add_edge(u, v, weight=float(fields[2]) if len(fields) == 3 else 1.0)
    return graph


def run_qaoa(args: argparse.Namespace) -> dict:
    from circuits import qaoa
    graph = parse_graph(args.graph, args.seed)
    res = qaoa.maxcut_qaoa(graph, args.p, seed=args.seed, shots=args.shots, device=args.device)
    bits = list(res.best_cut.bits)
    return {
        "algorithm": "qaoa",
        "graph": args.graph,
        "nodes": graph.number_of_nodes(),
        "edges": graph.number_of_edges(),
        "p": args.p,
        "expectation": res.expectation,
        "max_cut": res.max_cut,
        "max_cut_method": res.max_cut_method,
        "approximation_ratio": res.approximation_ratio,
        "best_cut_bits": "".join(map(str, bits)),
        "best_cut_value": res.best_cut.value,
        "best_cut_ratio": res.best_cut.value / res.max_cut if res.max_cut > 0 else float("nan"),
        "partition": [sorted(side, key=str) for side in res.partition],
        "gammas": list(res.gammas),
        "betas": list(res.betas),
        "qubits": res.n_qubits,
        "two_qubit_gates": res.two_qubit_gates,
    }


_RUNNERS = {"grover": run_grover, "shor": run_shor, "vqe": run_vqe, "qaoa": run_qaoa}


def _print_run(result: dict) -> None:
    name = result.get("algorithm", "result")
    print(f"{name}:")
    for key, value in result.items():
        if key == "algorithm":
            continue
        if isinstance(value, float):
            value = f"{value:.6g}"
        print(f"  {key:<24} {value}")


# --- the parser ----------------------------------------------------------------------------


def _add_run_parsers(run: argparse.ArgumentParser) -> None:
    algos = run.add_subparsers(dest="algorithm", required=True, metavar="{grover,shor,vqe,qaoa}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--seed", type=int, default=None, help="seed for every random choice")
    common.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"), help="default auto")
    common.add_argument("--json", action="store_true", help="machine-readable output")
    g = algos.add_parser("grover", parents=[common], help="Grover search over marked items or a CNF formula")
    g.add_argument("--qubits", type=positive_int_arg, help="search-register size (implied by bitstrings or --cnf)")
    g.add_argument("--marked", help="marked items: indices 3,5 or bitstrings 0011,0101 (wire 0 first)")
    g.add_argument("--cnf", help="DIMACS CNF file: search for satisfying assignments")
    g.add_argument("--iterations", type=int, help="Grover iterations (default: optimal, or randomized for CNF)")
    g.add_argument("--shots", type=positive_int_arg, default=1024, help="samples of the final state (default 1024)")
    s = algos.add_parser("shor", parents=[common], help="factor N by quantum order finding")
    s.add_argument("N", type=int, help="the number to factor")
    s.add_argument("--method", choices=("gates", "oracle"), default="gates",
                   help="gates: Beauregard's 2n+3-qubit circuit; oracle: n+1 qubits, a permutation per round")
    s.add_argument("--a", type=int, default=None, help="the base (default: random, seeded)")
    s.add_argument("--coprime-bases", action="store_true",
                   help="draw only bases coprime to N, so the split always comes from order finding")
    v = algos.add_parser("vqe", parents=[common], help="ground-state energy of a molecule or a TFIM chain")
    v.add_argument("--molecule", help=f"one of {', '.join(_MOLECULES)} (atoms --bond apart)")
    v.add_argument("--bond", type=float, default=0.7414, help="bond length in Angstrom (default 0.7414)")
    v.add_argument("--ansatz", choices=("givens", "hardware-efficient"), default="givens", help="default givens")
    v.add_argument("--tfim", type=int, help="transverse-field Ising model with N spins instead of a molecule")
    v.add_argument("--h", type=float, default=1.0, help="TFIM transverse field (default 1.0)")
    v.add_argument("--J", type=float, default=1.0, help="TFIM coupling (default 1.0)")
    v.add_argument("--periodic", action="store_true", help="TFIM ring instead of an open chain")
    v.add_argument("--steps", type=positive_int_arg, help="optimiser steps (default: the library's)")
    q = algos.add_parser("qaoa", parents=[common], help="MaxCut by QAOA, with the brute-force optimum beside it")
    q.add_argument("--graph", default="regular:3:8", help="regular:D:N | cycle:N | complete:N | erdos:N:P | FILE")
    q.add_argument("--p", type=positive_int_arg, default=1, help="QAOA layers (default 1)")
    q.add_argument("--shots", type=positive_int_arg, default=1000, help="samples of the optimised state (default 1000)")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser. ``train`` and ``bench`` get their options only when ``command``
    names them (or is None): their modules pull in scikit-learn, PennyLane's layers and
    torch's compiler stack, seconds that ``hybrid info`` or ``hybrid run`` should not pay."""
    parser = argparse.ArgumentParser(prog="hybrid", description="Quantum-classical hybrid simulator on PyTorch.")
    parser.add_argument("--version", action="version", version=f"hybrid {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="a short tour of the engine, checked against Qiskit when installed")
    demo.add_argument("--qubits", type=int, default=16, help="QFT size to time (default 16)")
    demo.add_argument("--device", default="auto", help="auto | cpu | cuda (default auto)")
    demo.add_argument("--json", action="store_true", help="machine-readable output")
    info = sub.add_parser("info", help="versions, devices, free memory, largest state that fits")
    info.add_argument("--json", action="store_true", help="machine-readable output")
    train = sub.add_parser("train", help="train one classifier; metrics.json and resumable checkpoints in --out")
    if command in (None, "train"):
        from . import train as training

        training.add_arguments(train)
    b = sub.add_parser("bench", help="benchmark suites: resumable JSON lines, report.md, PNG plots")
    if command in (None, "bench"):
        from benchmarks import bench

        b.description = bench.__doc__.split("\n\n")[0]
        bench.add_arguments(b)
    _add_run_parsers(sub.add_parser("run", help="run grover | shor | vqe | qaoa and print the result"))
    return parser


def main(argv: list[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else argv
    command = next((w for w in words if not w.startswith("-")), "")  # "" (no command): no heavy imports
    parser = build_parser(command)
    args = parser.parse_args(argv)
    try:
        if args.command == "train":
            from . import train as training

            return training.main_from_args(args)
        if args.command == "bench":
            from benchmarks import bench

            if argv is None:
                bench.reexec_with_spin_policy()
            return bench.main_from_args(args, argv)
        if args.command == "demo":
            if not 1 <= args.qubits <= 34:
                parser.error(f"--qubits must be between 1 and 34; got {args.qubits}")
            _print(run_demo(args.qubits, args.device), args.json)
        elif args.command == "info":
            info = run_info()
            if args.json:
                print(json.dumps(info, indent=2))
            else:
                _print_info(info)
        elif args.command == "run":
            result = _RUNNERS[args.algorithm](args)
            if args.json:
                print(json.dumps(result, indent=2, default=str))
            else:
                _print_run(result)
    except RuntimeError as exc:  # RuntimeError: e.g. factor() found no factor within its run budget
        print(f"hybrid: error: {exc}", file=sys.stderr)
        return 1
    except (ValueError, MemoryError, OSError) as exc:
        print(f"hybrid: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
