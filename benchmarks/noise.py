"""``hybrid bench --suite noise``: noisy algorithms against closed forms and estimates, and
noisy-simulation timings against Qiskit Aer and PennyLane ``default.mixed``.

Physics (one resumable unit each, rows of exact density-matrix values, complex128):

- ``ghz``: GHZ_n ``<X...X>`` under depolarizing(p) once per wire at the end (closed form
  ``(1 - 4p/3)**n``) and after every gate (``(1 - 4p/3)(1 - 16p/15)**(n-1)``); each row
  also has a trajectories estimate with its standard error.
- ``grover``: success probability against the per-location error rate, depolarizing and
  thermal relaxation after every gate, beside the global-depolarizing estimate
  ``F p_ideal + (1 - F) / 2**n``, ``F = prod_i (1 - eps_i)`` (:mod:`circuits.noise`).
- ``qaoa``: MaxCut expected cut (angles optimised without noise) against depolarizing
  noise, beside ``F <C>_ideal + (1 - F) W / 2``.
- ``vqe_h2``: H2 (STO-3G, 0.7414 A) energy at the noiseless optimum and re-optimised under
  noise (backprop through the density matrix), beside ``F E_ideal + (1 - F) Tr(H) / 16``.
- ``backend``: the same circuits transpiled for a fake IBM backend (``FakeManilaV2``,
  offline) under ``NoiseModel.from_backend``; readout errors applied to the probabilities;
  each row checked against Aer's density matrix under Aer's own model of that backend.

Timings (one case per size, :func:`benchmarks.runner.run_engine`: warm-up, median, check):

- ``dm_layered``: ``noisy_layered_gates(n, 2)`` (RY, RZ on every wire + CNOT chain, twice;
  ``depolarizing(0.01)`` after every one-wire gate, ``two_qubit_depolarizing(0.01)`` after
  every CNOT) to final probabilities: ours ``method="density_matrix"`` complex128, Aer
  ``AerSimulator(method="density_matrix")`` on ``hybrid.to_qiskit`` of the same circuit
  (its channels exported as Aer Pauli errors), PennyLane ``default.mixed`` (``qml.probs``).
  Check: max abs difference of the probabilities from ours.
- ``trajectories_layered_s<S>``: the same family with one layer, ``S`` shots: ours
  ``method="trajectories"`` with ``S`` trajectories (complex128 and complex64; run in
  chunks of at most 512 MiB of states) sampling one shot per trajectory, against Aer
  ``AerSimulator(method="statevector")`` with ``measure_all`` and ``shots=S`` (one
  trajectory per shot). Check: every wire's ``<Z>`` from the counts agrees with ours within
  5 standard errors.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import torch

import hybrid
from circuits.ghz import ghz_circuit, ghz_x_parity_closed_form, x_parity
from circuits.grover import grover_circuit, optimal_iterations, success_probability
from circuits.noise import GateNoise, NoiseAtEnd, global_depolarizing_fidelity, pauli_error_rate
from hybrid.sim import Channel

from .circuits import random_layered_gates, to_hybrid
from .runner import Context, finish_case, new_case, predict, run_engine, say

__all__ = ["SUITE", "PRESETS", "Sizes", "PHYSICS", "noisy_layered_gates", "run_physics", "run_density", "run_trajectories"]

SUITE = "noise"
C128 = torch.complex128


@dataclass(frozen=True)
class Sizes:
    dm: tuple[int, ...]  # qubits of the density-matrix timing cases
    trajectories: tuple[int, ...]  # qubits of the trajectories timing cases
    shots: int  # shots (= trajectories) of those cases
    level: str  # "quick" | "default" | "full": the physics sweeps


PRESETS = {
    "quick": Sizes((4, 6), (8, 10), 128, "quick"),
    "default": Sizes((6, 8), (10, 12), 256, "default"),
    "full": Sizes((8, 10, 12), (16, 18, 20), 512, "full"),
}

PHYSICS = ("ghz", "grover", "qaoa", "vqe_h2", "backend")
P_TIMING = 0.01  # depolarizing strength of the timing circuits
DM_LAYERS, TRAJECTORY_LAYERS = 2, 1
CHUNK_BYTES = 512 * 2**20  # trajectories run in chunks of at most this many bytes of states
DM_SKIP_S, TRAJECTORY_SKIP_S = 60.0, 900.0  # predicted seconds per call above which an engine is skipped
SEED = 1234

P_SWEEP = {"quick": (0.0, 0.01, 0.05), "default": (0.0, 0.001, 0.003, 0.01, 0.03, 0.1)}
P_SWEEP["full"] = P_SWEEP["default"]
T1_SWEEP_US = {"quick": (100.0, 10.0), "default": (1000.0, 300.0, 100.0, 30.0, 10.0, 3.0)}
T1_SWEEP_US["full"] = T1_SWEEP_US["default"]
GATE_TIME_1Q_US, GATE_TIME_2Q_US = 0.05, 0.3  # thermal sweep: 50 ns one-wire gates, 300 ns wider ones
GHZ_SIZES = {"quick": (3,), "default": (3, 5), "full": (3, 5, 8)}
GHZ_P = (0.01, 0.05, 0.1)
GROVER_N = {"quick": 3, "default": 4, "full": 5}
GROVER_MARKED = 5
GHZ_TRAJECTORIES = 2000
VQE_STEPS = {"quick": (40, 5), "default": (60, 10), "full": (100, 30)}  # (noiseless Adam steps, noisy re-optimisation)
BACKEND = "FakeManilaV2"


# --- the shared timing circuit ------------------------------------------------------------


def noisy_layered_gates(n: int, layers: int, p: float = P_TIMING) -> list:
    """``random_layered_gates(n, layers)`` with ``depolarizing(p)`` after every one-wire gate
    and ``two_qubit_depolarizing(p)`` after every CNOT (Aer: ``depolarizing_error(4p/3, 1)``
    and ``depolarizing_error(16p/15, 2)``)."""
    out = []
    for gate in random_layered_gates(n, layers):
        out.append(gate)
        wires = gate[2]
        out.append(("depolarizing", (p,), wires) if len(wires) == 1 else ("two_qubit_depolarizing", (p,), wires))
    return out


def _aer_probabilities(result, n: int) -> np.ndarray:
    from hybrid.interop.qiskit import from_qiskit_order

    probs = np.asarray(result.data(0)["probabilities"], dtype=np.float64)
    return np.asarray(from_qiskit_order(probs, n), dtype=np.float64)


def _pennylane_mixed_fn(n: int, gates):
    import pennylane as qml

    from hybrid.sim.channels import channel_by_name, channel_operators

    names = {"ry": qml.RY, "rz": qml.RZ, "cx": qml.CNOT}
    kraus: dict[float, list[np.ndarray]] = {}
    for name, params, _ in gates:
        if name == "two_qubit_depolarizing" and params[0] not in kraus:
            values = [torch.tensor([float(params[0])], dtype=torch.float64)]
            ops = channel_operators(channel_by_name(name), values, None, C128, torch.device("cpu")).kraus[0]
            kraus[params[0]] = list(ops.numpy())  # same wire order as PennyLane: first wire most significant
    dev = qml.device("default.mixed", wires=n)

    @qml.qnode(dev)
    def circuit():
        for name, params, wires in gates:
            if name == "depolarizing":
                qml.DepolarizingChannel(params[0], wires=wires[0])
            elif name == "two_qubit_depolarizing":
                qml.QubitChannel(kraus[params[0]], wires=list(wires))
            else:
                names[name](*params, wires=list(wires))
        return qml.probs(wires=range(n))

    return lambda: np.asarray(circuit(), dtype=np.float64)


def run_density(ctx: Context, n: int) -> None:
    """One ``dm_layered`` case at ``n`` qubits (see the module docstring)."""
    case = "dm_layered"
    key, old = new_case(ctx, SUITE, case, n)
    if old is not None:
        return
    gates = noisy_layered_gates(n, DM_LAYERS)
    circuit = to_hybrid(n, gates)
    reference: dict[str, np.ndarray] = {}

    def check(name: str):
        def fn(out) -> dict:
            probs = out.detach().cpu().numpy().astype(np.float64) if isinstance(out, torch.Tensor) else out
            if name == "ours_c128":
                reference["probs"] = probs
                return {"reference": "ours_c128", "total": float(probs.sum())}
            if "probs" not in reference:
                return {"reference": None}
            diff = float(np.max(np.abs(probs - reference["probs"])))
            return {"reference": "ours_c128", "max_abs_diff": diff, "tol": 1e-9, "passed": diff <= 1e-9}

        return fn

    def ours():
        def fn():
            with torch.no_grad():
                return hybrid.simulate(circuit, method="density_matrix", dtype=C128, device=ctx.device).probs()

        return fn

    def aer():
        from qiskit_aer import AerSimulator

        qc = hybrid.to_qiskit(circuit)
        qc.save_probabilities()
        sim = AerSimulator(method="density_matrix")
        return lambda: _aer_probabilities(sim.run(qc).result(), n)

    engines: dict[str, dict] = {}
    for name, make in (("ours_c128", ours), ("aer_density_matrix", aer),
                       ("default.mixed", lambda: _pennylane_mixed_fn(n, gates))):  # fmt: skip
        engines[name], _ = run_engine(
            ctx, name, make, sync_device=ctx.device if name.startswith("ours") else None,
            predicted=predict(ctx, SUITE, case, name, n, growth=4.0), check=check(name), skip_limit=DM_SKIP_S,
            long_repeats=1,
        )  # fmt: skip
    finish_case(ctx, key, SUITE, case, n, engines, n_gates=len(gates) // 2, n_channels=len(gates) // 2,
                layers=DM_LAYERS, p=P_TIMING, dtype="complex128")  # fmt: skip


def _z_marginals(counts: dict[str, int], n: int) -> tuple[np.ndarray, int]:
    """Per-wire ``<Z>`` from ``{bitstring (wire 0 first): count}`` and the number of shots."""
    total = sum(counts.values())
    ones = np.zeros(n)
    for bits, c in counts.items():
        ones += c * (np.frombuffer(bits.replace(" ", "").encode(), dtype=np.uint8)[:n] == ord("1"))
    return 1 - 2 * ones / total, total


def trajectory_counts_fn(circuit, shots: int, dtype, device, seed: int = SEED):
    """``(fn, chunk)``: ``fn() -> counts`` runs ``shots`` trajectories in chunks of ``chunk``
    (at most :data:`CHUNK_BYTES` of states each) and samples one shot per trajectory."""
    itemsize = torch.empty((), dtype=dtype).element_size()
    chunk = max(1, min(shots, CHUNK_BYTES // (2**circuit.n_qubits * itemsize)))

    def fn():
        counts: Counter = Counter()
        done, k = 0, 0
        with torch.no_grad():
            while done < shots:
                t = min(chunk, shots - done)
                state = hybrid.simulate(circuit, method="trajectories", trajectories=t, seed=seed + k,
                                        dtype=dtype, device=device)  # fmt: skip
                counts.update(state.counts(t, seed=seed + k))
                done, k = done + t, k + 1
        return dict(counts)

    return fn, chunk


def run_trajectories(ctx: Context, n: int, shots: int) -> None:
    """One ``trajectories_layered_s<shots>`` case at ``n`` qubits (see the module docstring)."""
    case = f"trajectories_layered_s{shots}"
    key, old = new_case(ctx, SUITE, case, n)
    if old is not None:
        return
    gates = noisy_layered_gates(n, TRAJECTORY_LAYERS)
    circuit = to_hybrid(n, gates)
    reference: dict[str, np.ndarray] = {}
    chunks: dict[str, int] = {}

    def check(name: str):
        def fn(counts) -> dict:
            if name == "aer_statevector":
                counts = {k[::-1]: v for k, v in counts.items()}  # Qiskit prints qubit 0 last
            z, total = _z_marginals(counts, n)
            if name == "ours_c128":
                reference["z"] = z
                return {"reference": "ours_c128", "shots": total}
            if "z" not in reference:
                return {"reference": None}
            # Shot noise of a +-1 outcome's mean, both sides (a bound for ours: averaging whole
            # trajectories cannot have a larger variance than single shots).
            se = np.sqrt(np.clip(1 - reference["z"] ** 2, 1e-12, None) / total + np.clip(1 - z**2, 1e-12, None) / total)
            zscore = float(np.max(np.abs(z - reference["z"]) / se))
            return {"reference": "ours_c128", "max_z_score": zscore, "tol": 5.0, "passed": zscore <= 5.0,
                    "max_abs_diff": float(np.max(np.abs(z - reference["z"]))), "shots": total}  # fmt: skip

        return fn

    def ours(dtype, name):
        def make():
            fn, chunks[name] = trajectory_counts_fn(circuit, shots, dtype, ctx.device)
            return fn

        return make

    def aer():
        from qiskit_aer import AerSimulator

        qc = hybrid.to_qiskit(circuit)
        qc.measure_all()
        sim = AerSimulator(method="statevector")
        return lambda: sim.run(qc, shots=shots, seed_simulator=SEED).result().get_counts()

    engines: dict[str, dict] = {}
    for name, make in (("ours_c128", ours(C128, "ours_c128")), ("ours_c64", ours(torch.complex64, "ours_c64")),
                       ("aer_statevector", aer)):  # fmt: skip
        engines[name], _ = run_engine(
            ctx, name, make, sync_device=ctx.device if name.startswith("ours") else None,
            predicted=predict(ctx, SUITE, case, name, n), check=check(name), skip_limit=TRAJECTORY_SKIP_S,
            long_repeats=1,
        )  # fmt: skip
        if name in chunks and "median_s" in engines[name]:
            engines[name]["chunk"] = chunks[name]
    finish_case(ctx, key, SUITE, case, n, engines, n_gates=len(gates) // 2, n_channels=len(gates) // 2,
                layers=TRAJECTORY_LAYERS, p=P_TIMING, shots=shots)  # fmt: skip


# --- physics -------------------------------------------------------------------------------


def _dm(circuit, **kw):
    with torch.no_grad():
        return hybrid.simulate(circuit, method="density_matrix", dtype=C128, **kw)


def _close(value: float, reference: float, tol: float) -> dict:
    diff = abs(value - reference)
    return {"abs_diff": diff, "tol": tol, "passed": diff <= tol}


def ghz_rows(level: str, device) -> list[dict]:
    rows = []
    for n in GHZ_SIZES[level]:
        for where, model_of in (("end", NoiseAtEnd.depolarizing), ("gates", GateNoise.depolarizing)):
            for p in GHZ_P:
                circuit = ghz_circuit(n, noise=model_of(p))
                exact = float(_dm(circuit, device=device).expval(x_parity(n)))
                closed = ghz_x_parity_closed_form(n, p, where)
                with torch.no_grad():
                    traj = hybrid.simulate(circuit, method="trajectories", trajectories=GHZ_TRAJECTORIES, seed=SEED,
                                           dtype=C128, device=device)  # fmt: skip
                    value, err = float(traj.expval(x_parity(n))), float(traj.expval_stderr(x_parity(n)))
                z = abs(value - closed) / max(err, 1e-12)
                rows.append({
                    "case": f"GHZ n={n}", "noise": f"depolarizing p={p:g} {'at the end' if where == 'end' else 'after every gate'}",
                    "n": n, "p": p, "where": where, "density_matrix": exact, "closed_form": closed,
                    "trajectories": value, "trajectories_stderr": err, "trajectories_z": z,
                    "check": {**_close(exact, closed, 1e-10), "trajectories_passed": z <= 5.0,
                              "passed": abs(exact - closed) <= 1e-10 and z <= 5.0},
                })  # fmt: skip
    return rows


def _estimate_row(circuit, value: float, ideal: float, floor: float) -> dict:
    f, locations = global_depolarizing_fidelity(circuit)
    estimate = f * ideal + (1 - f) * floor
    return {"locations": locations, "F": f, "estimate": estimate, "estimate_error": value - estimate}


def _first_channel_rate(circuit) -> float:
    """The per-location error of the circuit's first one-wire channel (the sweep's x axis)."""
    for op in circuit.ops:
        if isinstance(op, Channel) and len(op.wires) == 1:
            return pauli_error_rate(op)
    return 0.0


def grover_rows(level: str, device) -> list[dict]:
    n, marked = GROVER_N[level], GROVER_MARKED
    k = optimal_iterations(n, 1)
    ideal = success_probability(n, 1, k)
    models = [("depolarizing", p, GateNoise.depolarizing(p)) for p in P_SWEEP[level]]
    models += [("thermal", t1, GateNoise.thermal(t1, t1, GATE_TIME_1Q_US, GATE_TIME_2Q_US)) for t1 in T1_SWEEP_US[level]]
    rows = []
    for kind, param, model in models:
        circuit = grover_circuit(n, marked, k, noise=model)
        success = float(_dm(circuit, device=device).probs()[marked])
        row = {
            "case": f"Grover n={n}, 1 marked, {k} iterations", "model": kind, "n": n,
            "noise": f"depolarizing p={param:g} after every gate" if kind == "depolarizing"
            else f"thermal T1=T2={param:g} us, gates {GATE_TIME_1Q_US * 1e3:g}/{GATE_TIME_2Q_US * 1e3:g} ns",
            "param": param, "eps_1q": _first_channel_rate(circuit), "success": success, "ideal": ideal,
            **_estimate_row(circuit, success, ideal, 1 / 2**n),
        }  # fmt: skip
        if kind == "depolarizing" and param == 0:
            row["check"] = _close(success, ideal, 1e-10)
        rows.append(row)
    return rows


def _qaoa_problem():
    import networkx as nx

    from circuits.hamiltonians import maxcut_problem

    graph = nx.random_regular_graph(3, 6, seed=1)
    return graph, maxcut_problem(graph)


def qaoa_rows(level: str, device) -> list[dict]:
    from circuits.qaoa import maxcut_qaoa, qaoa_circuit

    graph, problem = _qaoa_problem()
    depth = 1 if level == "quick" else 2
    result = maxcut_qaoa(graph, depth, seed=0, restarts=2, steps=40 if level == "quick" else 80)
    values = {**{f"g{i}": g for i, g in enumerate(result.gammas)}, **{f"b{i}": b for i, b in enumerate(result.betas)}}
    cost = problem.cost_hamiltonian()
    weight = problem.total_weight
    ideal = float(_dm(qaoa_circuit(problem, depth, noise=GateNoise.depolarizing(0.0)), params=values,
                      device=device).expval(cost))  # fmt: skip
    rows = []
    for p in P_SWEEP[level]:
        circuit = qaoa_circuit(problem, depth, noise=GateNoise.depolarizing(p))
        value = float(_dm(circuit, params=values, device=device).expval(cost))
        row = {
            "case": f"QAOA MaxCut, 3-regular graph of 6 nodes, p={depth}", "noise": f"depolarizing p={p:g} after every gate",
            "p": p, "expected_cut": value, "ideal": ideal, "max_cut": result.max_cut,
            "ratio": value / result.max_cut, **_estimate_row(circuit, value, ideal, weight / 2),
        }  # fmt: skip
        if p == 0:
            row["check"] = _close(value, result.expectation, 1e-4)  # the optimiser ran in complex64
        rows.append(row)
    return rows


def _mixed_energy(hamiltonian, n: int) -> float:
    """``Tr(H) / 2**n``: the energy of the maximally mixed state."""
    eye = torch.eye(2**n, dtype=C128) / 2**n
    return float(_dm(hybrid.Circuit(n), initial_state=eye).expval(hamiltonian))


def vqe_rows(level: str, device) -> list[dict]:
    from circuits.exact import ground_energy
    from circuits.hamiltonians import molecular_hamiltonian
    from circuits.vqe import minimize_energy, molecule_ansatz

    mol = molecular_hamiltonian(["H", "H"], [0, 0, 0, 0, 0, 0.7414])
    n, h = mol.n_qubits, mol.hamiltonian
    steps, noisy_steps = VQE_STEPS[level]
    circuit, start = molecule_ansatz(n, mol.n_electrons, "givens")
    ideal, _, theta = minimize_energy(circuit, h, start, steps=steps, lr=0.1, dtype=C128, device=device)
    exact = ground_energy(h, n, n_particles=mol.n_electrons)
    hf = float(_dm(circuit, params=torch.zeros_like(theta), device=device).expval(h))
    mixed = _mixed_energy(h, n)
    rows = []
    for p in P_SWEEP[level]:
        noisy, _ = molecule_ansatz(n, mol.n_electrons, "givens", noise=GateNoise.depolarizing(p))
        at_ideal = float(_dm(noisy, params=theta, device=device).expval(h))
        reopt, _, _ = minimize_energy(noisy, h, theta, steps=noisy_steps, lr=0.05, diff_method="backprop",
                                      dtype=C128, device=device)  # fmt: skip
        row = {
            "case": "H2 STO-3G 0.7414 A, Givens ansatz", "noise": f"depolarizing p={p:g} after every gate", "p": p,
            "energy_at_ideal_angles": at_ideal, "energy_reoptimised": reopt, "reoptimise_steps": noisy_steps,
            "ideal": ideal, "exact": exact, "hartree_fock": hf, "error_mHa": (at_ideal - exact) * 1e3,
            **_estimate_row(noisy, at_ideal, ideal, mixed),
        }  # fmt: skip
        if p == 0:
            row["check"] = _close(at_ideal, ideal, 1e-8)
        rows.append(row)
    return rows


# --- a fake IBM backend ----------------------------------------------------------------------


def _fake_backend():
    from qiskit_ibm_runtime import fake_provider

    return getattr(fake_provider, BACKEND)()


def _transpiled(circuit, backend, values: dict | None = None):
    """``(our circuit on the backend's wires, virtual -> physical wire list, Qiskit circuit)``."""
    from qiskit import transpile

    qc = hybrid.to_qiskit(circuit)
    if values:
        qc = qc.assign_parameters({p: float(values[p.name]) for p in qc.parameters})
    tqc = transpile(qc, backend, initial_layout=list(range(circuit.n_qubits)), optimization_level=1, seed_transpiler=7)
    layout = list(tqc.layout.final_index_layout()) if tqc.layout is not None else list(range(circuit.n_qubits))
    return hybrid.from_qiskit(tqc), layout[: circuit.n_qubits], tqc


def _with_readout(probs: np.ndarray, confusions: list) -> np.ndarray:
    """Probabilities of the read bits: each wire's ``confusion[true][read]`` applied in turn."""
    n = len(confusions)
    t = probs.reshape([2] * n)
    for axis, m in enumerate(confusions):
        t = np.moveaxis(np.tensordot(t, np.asarray(m, dtype=np.float64), axes=([axis], [0])), -1, axis)
    return t.reshape(-1)


def backend_rows(level: str, device) -> list[dict]:
    from qiskit_aer import AerSimulator
    from qiskit_aer.noise import NoiseModel as AerNoiseModel

    from circuits.hamiltonians import molecular_hamiltonian
    from circuits.qaoa import maxcut_qaoa, qaoa_circuit
    from circuits.vqe import minimize_energy, molecule_ansatz
    from hybrid.interop.qiskit import from_qiskit_order
    from hybrid.noise import NoiseModel

    backend = _fake_backend()
    model = NoiseModel.from_backend(backend)
    aer = AerSimulator(method="density_matrix", noise_model=AerNoiseModel.from_backend(backend))
    rows = []

    def evaluate(name: str, circuit, values, quantity, ideal_value, floor, detail: str, readout: bool = True) -> None:
        physical, layout, tqc = _transpiled(circuit, backend, values)
        noisy = model.apply(physical)
        state = _dm(noisy, device=device)
        probs = state.probs(layout).cpu().numpy()
        value, value_read = quantity(state, layout, probs), None
        if readout:
            confusion = model.readout_errors(physical.n_qubits)
            eye = np.eye(2)
            read = _with_readout(probs, [confusion[w].numpy() if w in confusion else eye for w in layout])
            value_read = quantity(state, layout, read)
        tqc = tqc.copy()
        tqc.save_probabilities()
        aer_probs = np.asarray(from_qiskit_order(np.asarray(aer.run(tqc).result().data(0)["probabilities"]),
                                                 physical.n_qubits))  # fmt: skip
        diff = float(np.max(np.abs(aer_probs - state.probs().cpu().numpy())))
        rows.append({
            "case": name, "backend": BACKEND, "detail": detail, "physical_qubits": physical.n_qubits,
            "layout": layout, "two_qubit_gates": physical.count_multi_qubit_gates(), "ideal": ideal_value,
            "noisy": value, "noisy_with_readout": value_read, **_estimate_row(noisy, value, ideal_value, floor),
            "check": {"reference": "Aer density_matrix, NoiseModel.from_backend", "max_abs_diff": diff,
                      "tol": 1e-8, "passed": diff <= 1e-8},
        })  # fmt: skip

    for n in (3, 5) if level != "quick" else (3,):
        pop = lambda state, layout, probs: float(probs[0] + probs[-1])  # noqa: E731
        evaluate(f"GHZ n={n}", ghz_circuit(n), None, pop, 1.0, 2 / 2**n, "P(0...0) + P(1...1)")
    n, k = 3, optimal_iterations(3, 1)
    success = lambda state, layout, probs: float(probs[GROVER_MARKED])  # noqa: E731
    evaluate(f"Grover n={n}, 1 marked", grover_circuit(n, GROVER_MARKED, k), None, success,
             success_probability(n, 1, k), 1 / 2**n, "success probability")  # fmt: skip

    import networkx as nx

    from circuits.hamiltonians import maxcut_problem

    ring = nx.cycle_graph(4)
    problem = maxcut_problem(ring)
    result = maxcut_qaoa(ring, 1, seed=0, restarts=2, steps=40)
    values = {"g0": result.gammas[0], "b0": result.betas[0]}
    cuts = np.array([problem.cut_value([(i >> (3 - k)) & 1 for k in range(4)]) for i in range(16)])
    expected_cut = lambda state, layout, probs: float(probs @ cuts)  # noqa: E731
    evaluate("QAOA MaxCut, 4-node ring, p=1", qaoa_circuit(problem, 1), values, expected_cut, result.expectation,
             float(cuts.mean()), "expected cut (from the probabilities)")  # fmt: skip

    mol = molecular_hamiltonian(["H", "H"], [0, 0, 0, 0, 0, 0.7414])
    circuit, start = molecule_ansatz(mol.n_qubits, mol.n_electrons, "givens")
    energy, _, theta = minimize_energy(circuit, mol.hamiltonian, start, steps=VQE_STEPS[level][0], lr=0.1, dtype=C128)
    names = circuit.parameters
    h_values = {name: float(v) for name, v in zip(names, theta)}

    def vqe_energy(state, layout, probs) -> float:
        rho = state.density_matrix(layout)
        return float(_dm(hybrid.Circuit(len(layout)), initial_state=rho).expval(mol.hamiltonian))

    evaluate("H2 VQE, Givens ansatz", circuit, h_values, vqe_energy, energy, _mixed_energy(mol.hamiltonian, 4),
             "energy (Ha) at the noiseless optimum (no readout error: <H> from the density matrix)", readout=False)
    return rows


_PHYSICS_FNS = {"ghz": ghz_rows, "grover": grover_rows, "qaoa": qaoa_rows, "vqe_h2": vqe_rows, "backend": backend_rows}


def run_physics(name: str, level: str, device) -> list[dict]:
    """The rows of one physics unit (``name`` in :data:`PHYSICS`)."""
    say(f"[noise] {name} ({level})")
    dev = torch.device(device) if not isinstance(device, torch.device) else device
    return _PHYSICS_FNS[name](level, dev)


def physics_problems(rows: list[dict]) -> list[str]:
    """Rows whose check failed, one line each."""
    return [f"{r.get('case')} {r.get('noise', r.get('detail', ''))}: failed its check {r['check']}"
            for r in rows if isinstance(r.get("check"), dict) and not r["check"].get("passed", True)]  # fmt: skip


def physics_estimate_note() -> str:
    return (
        "estimate = F x ideal + (1 - F) x (the value of the maximally mixed state), F = prod_i (1 - eps_i) over "
        "the circuit's channels, eps_i = the channel's Pauli-twirled error probability (p for depolarizing)"
    )
