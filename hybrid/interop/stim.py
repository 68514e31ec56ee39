"""stim interop: stim circuits in and out of ``Circuit``, and measurement sampling on our engine.

stim samples Clifford circuits with Pauli noise far faster than any statevector engine,
but it cannot hold amplitude damping, thermal relaxation or a coherent over-rotation.
This module runs a stim program on the engine instead, by trajectories, so any channel can
replace or join stim's Pauli noise, and hands back measurement records in stim's own order
(they plug into ``compile_m2d_converter`` and PyMatching unchanged).

* :func:`from_stim`: a stim circuit (REPEAT blocks unrolled) as a ``Circuit``. Measurement
  ``k`` of stim's record is classical bit ``k``; the qubits stim uses become wires
  ``0..m-1`` in increasing stim index; ``DETECTOR``/``OBSERVABLE_INCLUDE`` and qubit
  coordinates ride along as :class:`StimAnnotations` on ``circuit.annotations``.
* :func:`to_stim`: back to stim (Clifford gates, Pauli channels, measurements, resets and
  the annotations); with ``twirl=True`` any other channel becomes its Pauli twirl, which is
  how a decoder for non-Pauli noise is built.
* :func:`sample_measurements`: ``(shots, num_measurements)`` booleans from our engine, in
  batches of trajectories sized to memory.

``stim`` is an optional dependency (``pip install 'hybrid[qec]'``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from ..noise.replace import is_pauli_mixture, numeric_kraus, with_noise
from ..sim.channels import all_pauli_words, pauli_matrices
from ..sim.channels import pauli_twirl as channel_pauli_twirl
from ..sim.circuit import Circuit
from ..sim.instructions import Channel, Measure, Operation
from ..sim.memory import free_bytes
from ..sim.operators import op_matrix
from ..sim.params import resolve_param
from ..sim.simulate import simulate

__all__ = ["StimAnnotations", "Detector", "from_stim", "to_stim", "sample_measurements", "pauli_twirl", "decoder_model", "twirled_circuit", "DECODER_NOTES"]


def _stim():
    try:
        import stim
    except ImportError:
        raise ImportError("stim is not installed; pip install 'hybrid[qec]' (stim, pymatching, sinter)") from None
    return stim


@dataclass(frozen=True)
class Detector:
    clbits: tuple[int, ...]  # measurement record indices whose parity is the detector
    coords: tuple[float, ...] = ()


@dataclass
class StimAnnotations:
    """What a stim program says besides its instructions."""

    qubits: tuple[int, ...]  # stim's qubit index of each wire
    detectors: list[Detector] = field(default_factory=list)
    observables: dict[int, tuple[int, ...]] = field(default_factory=dict)  # index -> record indices
    qubit_coords: dict[int, tuple[float, ...]] = field(default_factory=dict)  # wire -> coordinates


# --- from stim -------------------------------------------------------------------------------

_ONE_QUBIT = {"I": "i", "X": "x", "Y": "y", "Z": "z", "H": "h", "S": "s", "S_DAG": "sdg",
              "SQRT_X": "sx", "SQRT_X_DAG": "sxdg"}  # fmt: skip
_TWO_QUBIT = {"CX": "cx", "CY": "cy", "CZ": "cz", "SWAP": "swap"}
_FEEDBACK = {"CX": "x", "CY": "y", "CZ": "z"}  # a record as control: a classically controlled Pauli
_BASIS = {"Z": (), "X": ("h",), "Y": ("sdg", "h")}  # gates that take the basis to Z
_UNDO = {"Z": (), "X": ("h",), "Y": ("h", "s")}
_MEASURE_RESET = {"M", "MX", "MY", "MR", "MRX", "MRY", "R", "RX", "RY", "MPP"}  # stim's canonical names
_ANNOTATIONS = {"DETECTOR", "OBSERVABLE_INCLUDE", "TICK", "QUBIT_COORDS", "SHIFT_COORDS"}


def from_stim(stim_circuit) -> Circuit:
    """The stim circuit as a :class:`Circuit` (see the module docstring)."""
    stim = _stim()
    if isinstance(stim_circuit, str):
        stim_circuit = stim.Circuit(stim_circuit)
    flat = stim_circuit.flattened()  # REPEAT unrolled, coordinates shifted
    used = sorted({t.qubit_value for inst in flat for t in inst.targets_copy() if t.qubit_value is not None})
    if not used:
        raise ValueError("the stim circuit acts on no qubit")
    wire = {q: i for i, q in enumerate(used)}
    circuit = Circuit(len(used), stim_circuit.num_measurements)
    notes = StimAnnotations(qubits=tuple(used))
    record = 0  # measurements so far
    for inst in flat:
        name, args = inst.name, inst.gate_args_copy()
        targets = inst.targets_copy()
        if name in _ANNOTATIONS:
            _annotate(notes, name, args, targets, record, wire)
            continue
        gate = stim.gate_data(name)
        if name in _MEASURE_RESET:
            record = _measurements(circuit, gate, name, args, targets, record, wire)
        elif gate.is_noisy_gate:
            _noise(circuit, name, args, targets, wire)
        elif gate.is_unitary:
            _unitary(circuit, stim, name, targets, record, wire)
        else:
            raise ValueError(f"stim instruction {name} is not supported by from_stim (its line: {inst})")
    circuit.annotations = notes
    return circuit


def _annotate(notes: StimAnnotations, name, args, targets, record: int, wire: dict) -> None:
    if name == "DETECTOR":
        notes.detectors.append(Detector(tuple(record + t.value for t in targets), tuple(args)))
    elif name == "OBSERVABLE_INCLUDE":
        index = int(args[0])
        notes.observables[index] = notes.observables.get(index, ()) + tuple(record + t.value for t in targets)
    elif name == "QUBIT_COORDS":
        for t in targets:
            if t.value in wire:
                notes.qubit_coords[wire[t.value]] = tuple(args)


def _measurements(circuit: Circuit, gate, name: str, args, targets, record: int, wire: dict) -> int:
    if any(not t.is_qubit_target for t in targets):
        raise ValueError(f"stim instruction {name} with Pauli-product or record targets is not supported (use M, MX, MY, MR...)")
    measures = gate.produces_measurements
    basis = name[-1] if name[-1] in "XY" else "Z"
    flip = float(args[0]) if args else 0.0
    for t in targets:
        w = wire[t.value]
        if gate.is_reset and not measures:  # R, RX, RY: to |0>, then into the basis
            circuit.reset(w)
            for g in _UNDO[basis]:
                getattr(circuit, g)(w)
            continue
        for g in _BASIS[basis]:
            getattr(circuit, g)(w)
        p = 1 - flip if t.is_inverted_result_target else flip
        circuit.measure(w, record, flip=p, reset=gate.is_reset)
        record += 1
        if gate.is_reset or basis != "Z":  # MR* leaves |0> -> back to the basis' + state; M* undoes
            for g in _UNDO[basis]:
                getattr(circuit, g)(w)
    return record


def _noise(circuit: Circuit, name: str, args, targets, wire: dict) -> None:
    qubits = [wire[t.value] for t in targets]
    if name in ("X_ERROR", "Y_ERROR", "Z_ERROR"):
        p = float(args[0])
        for w in qubits:
            if name == "X_ERROR":
                circuit.bit_flip(p, w)
            elif name == "Z_ERROR":
                circuit.phase_flip(p, w)
            else:
                circuit.pauli_channel(0.0, p, 0.0, w)
    elif name == "DEPOLARIZE1":
        for w in qubits:
            circuit.depolarizing(float(args[0]), w)
    elif name == "PAULI_CHANNEL_1":
        for w in qubits:
            circuit.pauli_channel(*(float(a) for a in args), w)
    elif name == "DEPOLARIZE2":
        for a, b in zip(qubits[::2], qubits[1::2]):
            circuit.two_qubit_depolarizing(float(args[0]), a, b)
    elif name == "PAULI_CHANNEL_2":
        probs = [1 - sum(args)] + [float(a) for a in args]  # stim's order: IX, IY, ..., ZZ after II
        kraus = np.sqrt(np.clip(probs, 0, None))[:, None, None] * pauli_matrices(all_pauli_words(2), torch.complex128).numpy()
        for a, b in zip(qubits[::2], qubits[1::2]):
            circuit.kraus(kraus, [a, b])
    else:
        raise ValueError(f"stim noise instruction {name} has no channel here yet (supported: X_ERROR, Y_ERROR, Z_ERROR, "
                         "DEPOLARIZE1, DEPOLARIZE2, PAULI_CHANNEL_1, PAULI_CHANNEL_2)")  # fmt: skip


def _unitary(circuit: Circuit, stim, name: str, targets, record: int, wire: dict) -> None:
    data = stim.gate_data(name)
    if data.is_single_qubit_gate:
        for t in targets:
            w = wire[t.value]
            if name in _ONE_QUBIT:
                getattr(circuit, _ONE_QUBIT[name])(w)
            else:
                circuit.unitary(_clifford_matrix(stim, name), [w])
        return
    for a, b in zip(targets[::2], targets[1::2]):
        if a.is_measurement_record_target or b.is_measurement_record_target:
            _feedback(circuit, name, a, b, record, wire)
            continue
        wa, wb = wire[a.value], wire[b.value]
        if name in _TWO_QUBIT:
            getattr(circuit, _TWO_QUBIT[name])(wa, wb)
        else:
            circuit.unitary(_clifford_matrix(stim, name), [wa, wb])


def _feedback(circuit: Circuit, name: str, a, b, record: int, wire: dict) -> None:
    """``CX rec[-k] q`` and friends: a Pauli on ``q`` where measurement ``record-k`` read 1."""
    if name not in _FEEDBACK or not a.is_measurement_record_target or b.is_measurement_record_target:
        raise ValueError(f"stim feedback {name} {a} {b} is not supported (only CX/CY/CZ rec[-k] qubit)")
    with circuit.when(record + a.value):
        getattr(circuit, _FEEDBACK[name])(wire[b.value])


def _clifford_matrix(stim, name: str) -> np.ndarray:
    """stim's unitary of a named Clifford, first target most significant, entries snapped to
    their exact values (stim gives them in single precision)."""
    m = np.asarray(stim.Tableau.from_named_gate(name).to_unitary_matrix(endian="big"), dtype=complex)
    exact = np.array([0, 0.5, 1 / np.sqrt(2), 1])

    def snap(x):
        return np.sign(x) * exact[np.abs(np.abs(x)[..., None] - exact).argmin(-1)]

    return snap(m.real) + 1j * snap(m.imag)


# --- to stim ---------------------------------------------------------------------------------

_STIM_GATE = {"i": "I", "id": "I", "x": "X", "y": "Y", "z": "Z", "h": "H", "s": "S", "sdg": "S_DAG", "sx": "SQRT_X",
              "sxdg": "SQRT_X_DAG", "cx": "CX", "cy": "CY", "cz": "CZ", "swap": "SWAP"}  # fmt: skip
_STIM_PAULI_NOISE = {"depolarizing": "DEPOLARIZE1", "two_qubit_depolarizing": "DEPOLARIZE2", "bit_flip": "X_ERROR",
                     "phase_flip": "Z_ERROR", "pauli_channel": "PAULI_CHANNEL_1"}  # fmt: skip


def to_stim(circuit: Circuit, *, twirl: bool = False):
    """``circuit`` as a ``stim.Circuit``: Clifford gates (any gate whose matrix is Clifford,
    found by stim's tableau), Pauli channels, measurements (bit ``k`` must be the ``k``-th
    measurement, as :func:`from_stim` makes them) and resets, feedback Paulis, and the
    detectors/observables of ``circuit.annotations``. Other channels are refused unless
    ``twirl=True``, which writes their Pauli twirl (``PAULI_CHANNEL_1``/``_2``)."""
    stim = _stim()
    notes = circuit.annotations if isinstance(circuit.annotations, StimAnnotations) else None
    qubit = list(notes.qubits) if notes is not None else list(range(circuit.n_qubits))
    out = stim.Circuit()
    if notes is not None:
        for w, coords in sorted(notes.qubit_coords.items()):
            out.append("QUBIT_COORDS", [qubit[w]], list(coords))
    record = 0
    for index, op in enumerate(circuit.ops):
        where = f"instruction {index} ({op.name})"
        if isinstance(op, Measure):
            record = _emit_measure(out, op, qubit, record, where)
        elif isinstance(op, Channel):
            _emit_channel(out, op, qubit, twirl, where)
        elif isinstance(op, Operation):
            _emit_gate(stim, out, op, qubit, record, where)
        else:
            raise ValueError(f"{where}: no stim form for a {type(op).__name__}")
    if notes is not None:
        for det in notes.detectors:
            out.append("DETECTOR", [stim.target_rec(b - record) for b in det.clbits], list(det.coords))
        for k, bits in sorted(notes.observables.items()):
            out.append("OBSERVABLE_INCLUDE", [stim.target_rec(b - record) for b in bits], [k])
    return out


def _emit_measure(out, op: Measure, qubit: list, record: int, where: str) -> int:
    if op.clbit is None:
        if not op.reset:
            raise ValueError(f"{where}: an unrecorded measurement has no stim form (stim records every M)")
        out.append("R", [qubit[op.wire]])
        return record
    if op.clbit != record:
        raise ValueError(f"{where}: stim records measurements in order; this one writes bit {op.clbit}, "
                         f"but it is measurement {record}")  # fmt: skip
    out.append("MR" if op.reset else "M", [qubit[op.wire]], [op.flip] if op.flip else [])
    return record + 1


def _numbers(op, where: str) -> list[float]:
    try:
        return [float(resolve_param(p, {}, torch.float64, torch.device("cpu")).reshape(())) for p in op.params]
    except (KeyError, RuntimeError, ValueError):
        raise ValueError(f"{where}: stim needs numeric parameters (not symbols or batches)") from None


def _emit_channel(out, op: Channel, qubit: list, twirl: bool, where: str) -> None:
    targets = [qubit[w] for w in op.wires]
    name = op.kind.name
    if name in _STIM_PAULI_NOISE:
        out.append(_STIM_PAULI_NOISE[name], targets, _numbers(op, where))
        return
    if name == "pauli_error" and len(op.wires) == 1 and op.data != "I":
        out.append(f"{op.data}_ERROR", targets, _numbers(op, where))
        return
    if not twirl and not is_pauli_mixture(op):
        raise ValueError(
            f"{where}: {name} is not a Pauli channel, which stim cannot represent; pass twirl=True to write its "
            "Pauli twirl (the approximation a decoder for this noise is built from)"
        )
    probs = pauli_twirl(op)
    if len(op.wires) > 2:
        raise ValueError(f"{where}: stim's Pauli channels act on 1 or 2 qubits; this {name} acts on {len(op.wires)}")
    out.append("PAULI_CHANNEL_1" if len(op.wires) == 1 else "PAULI_CHANNEL_2", targets, list(probs[1:]))


def pauli_twirl(op: Channel) -> np.ndarray:
    """The Pauli twirl of a channel instruction with numeric parameters (see
    :func:`hybrid.sim.channels.pauli_twirl`), as numpy."""
    return channel_pauli_twirl(numeric_kraus(op)).numpy()


def _emit_gate(stim, out, op: Operation, qubit: list, record: int, where: str) -> None:
    if op.condition is not None:
        cond = op.condition
        if op.name in ("x", "y", "z") and len(cond.clbits) == 1 and cond.value == 1:
            out.append(f"C{op.name.upper()}", [stim.target_rec(cond.clbits[0] - record), qubit[op.wires[0]]])
            return
        raise ValueError(f"{where}: stim feedback is a Pauli controlled by one measurement; this is a conditioned {op.name}")
    targets = [qubit[w] for w in op.all_wires]
    if not targets:
        return  # a global phase
    if op.name in _STIM_GATE and not op.params and all(op.control_values):  # an open control is no CX
        out.append(_STIM_GATE[op.name], targets)
        return
    values = [torch.tensor([v], dtype=torch.float64) for v in _numbers(op, where)]
    matrix = op_matrix(op, values, torch.complex128, torch.device("cpu"))
    if op.gate.kind.value == "diagonal":
        matrix = torch.diag_embed(matrix)
    elif op.gate.kind.value == "permutation":
        perm = list(matrix)
        matrix = torch.zeros((len(perm), len(perm)), dtype=torch.complex128)
        matrix[perm, list(range(len(perm)))] = 1
    m = matrix.reshape(matrix.shape[-2:]).numpy()
    if op.controls:
        full = np.eye(2 ** len(op.all_wires), dtype=complex)
        c = int("".join(map(str, op.control_values)), 2)
        d = m.shape[0]
        full[c * d : (c + 1) * d, c * d : (c + 1) * d] = m
        m = full
    try:
        tableau = stim.Tableau.from_unitary_matrix(m, endian="big")
        _check_same_up_to_phase(np.asarray(tableau.to_unitary_matrix(endian="big")), m)  # stim does not check
    except ValueError:
        raise ValueError(
            f"{where}: {op.name} is not a Clifford gate, so stim cannot represent it; a stim circuit (and a "
            "matching decoder) needs Clifford gates, with non-Clifford errors given as channels to be twirled"
        ) from None
    for inst in tableau.to_circuit("elimination"):
        out.append(inst.name, [targets[t.value] for t in inst.targets_copy()], inst.gate_args_copy())


def _check_same_up_to_phase(u: np.ndarray, m: np.ndarray, atol: float = 1e-6) -> None:
    phase = np.vdot(u, m) / m.shape[0]  # <u, m> / d: the global phase when m = phase * u
    if abs(abs(phase) - 1) > atol or not np.allclose(phase * u, m, atol=atol):
        raise ValueError("not a Clifford unitary")


# --- sampling --------------------------------------------------------------------------------

# Trajectories per batch: at most this many bytes of states. Small enough to stay in the
# CPU's cache between the many short passes of a QEC circuit: the d=3 rotated surface code
# (17 qubits, 1 MiB per state in complex64), 1024 shots on 2 cores, took 25 s in batches of
# 8 states, 17 s of 32, 19 s of 64, 25 s of 128 and 27 s of 1024.
_BATCH_BYTES = 2**25


def batch_size_for(n_qubits: int, shots: int, dtype: torch.dtype, device: torch.device) -> int:
    """Trajectories per batch: as many as fit in ``_BATCH_BYTES`` (and in a third of the free
    memory, for the working buffers), at least one: any number of shots runs, in batches."""
    itemsize = torch.empty((), dtype=dtype).element_size()
    budget = min(_BATCH_BYTES, free_bytes(device) // 3)
    return int(max(1, min(shots, budget // (2**n_qubits * itemsize))))


def sample_measurements(
    stim_circuit,
    shots: int,
    *,
    seed: int | None = None,
    noise=None,
    noise_mode: str = "replace",
    dtype: torch.dtype = torch.complex64,
    device: str | torch.device = "auto",
    batch_size: int | None = None,
) -> np.ndarray:
    """Measurement records ``(shots, num_measurements)`` (bool, stim's order) of a stim
    circuit simulated on our engine, one trajectory per shot, in batches sized to memory.

    ``noise``: ``None`` keeps stim's own Pauli noise; a :class:`hybrid.noise.NoiseModel`
    puts its channels after the gates it names, in place of stim's Pauli noise
    (``noise_mode="replace"``) or on top of it (``"add"``); a name -- ``"amplitude_damping"``,
    ``"thermal"``, ``"coherent_overrotation"`` -- puts that noise, of the same Pauli-twirled
    error probability, in place of each of stim's Pauli channels (``"replace"``) or after each
    (``"add"``); see :mod:`hybrid.noise.replace`. ``stim_circuit`` may also be a ``Circuit``
    already converted (and made noisy): then ``noise`` must be ``None``, and repeated calls
    reuse its cached plan.
    """
    from ..sim.device import resolve_device

    if isinstance(stim_circuit, Circuit):
        if noise is not None:
            raise ValueError("a converted Circuit already holds its noise; pass noise=None")
        circuit = stim_circuit
    else:
        circuit = with_noise(from_stim(stim_circuit), noise, noise_mode)
    dev = resolve_device(device)
    per_batch = batch_size or batch_size_for(circuit.n_qubits, shots, dtype, dev)
    seeds = np.random.SeedSequence(seed).generate_state(-(-shots // per_batch), dtype=np.uint64)
    out = np.empty((shots, circuit.n_clbits), dtype=bool)
    done = 0
    with torch.no_grad():
        for batch_seed in seeds:
            t = min(per_batch, shots - done)
            state = simulate(circuit, method="trajectories", trajectories=t, seed=int(batch_seed) >> 1, dtype=dtype,
                             device=dev)  # fmt: skip
            bits = state.bits.reshape(t, circuit.n_clbits)
            out[done : done + t] = bits.cpu().numpy().astype(bool)
            done += t
    return out


def twirled_circuit(stim_circuit, noise, noise_mode: str = "replace"):
    """The stim circuit of ``stim_circuit`` under ``noise`` with every channel replaced by
    its Pauli twirl (``noise=None``: the circuit itself)."""
    if noise is None:
        return stim_circuit
    return to_stim(with_noise(from_stim(stim_circuit), noise, noise_mode), twirl=True)


# What a decoder was built from, by whether the noise is stim's own Pauli noise.
DECODER_NOTES = {
    True: "stim's detector error model of the sampled circuit",
    False: "the detector error model of the noisy circuit's Pauli twirl (the noise is not Pauli; a Pauli decoder sees its twirl)",
}


def decoder_model(stim_circuit, noise=None, noise_mode: str = "replace"):
    """``(detector error model, what it was built from)`` for decoding samples of
    ``stim_circuit`` under ``noise`` (as :func:`sample_measurements` takes it): stim's own
    model of the circuit when the noise is its own Pauli noise, else the model of the noisy
    circuit's Pauli twirl -- what a Pauli decoder can know of non-Pauli noise."""
    model = twirled_circuit(stim_circuit, noise, noise_mode).detector_error_model(decompose_errors=True)
    return model, DECODER_NOTES[noise is None]
