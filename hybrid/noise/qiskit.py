"""Qiskit Aer noise -> ours (and our channels -> Aer errors, for ``to_qiskit``).

* :func:`error_from_qiskit`: an Aer ``QuantumError`` (a mixture of small circuits) as an
  error circuit. A mixture of Pauli words only becomes Pauli-mixture channels where one
  record says it exactly (``depolarizing``, ``two_qubit_depolarizing``, ``bit_flip``,
  ``phase_flip``, ``pauli_channel``, ``pauli_error``, or one such channel per wire when
  the wires' Paulis are independent), so trajectories sample it without touching the
  state; anything else becomes one ``kraus`` channel from ``qiskit.quantum_info.Kraus``
  (exact; thermal relaxation, amplitude damping, resets...).
* :func:`noise_model_from_qiskit`: an Aer ``NoiseModel``'s all-qubit and per-qubit
  quantum errors and its readout errors. Qiskit gate names are mapped to ours by the
  circuit converter (:func:`hybrid.interop.qiskit.gate_name_from_qiskit`) and Qiskit
  qubit ``q`` is wire ``q``, as in :func:`hybrid.from_qiskit`, so ``from_qiskit(qc)`` under
  the converted model is ``qc`` under the Aer model. Not converted (a ValueError names
  them): errors on gates our converter decomposes (``ecr``, ``rzx``...), errors on
  ``delay``, correlated multi-qubit readout errors. Aer's custom noise passes (the
  ``delay`` relaxation of ``from_backend``) are left out: ``from_qiskit`` drops delays.
  Qiskit names that convert to one operation here (``u``/``u3``, ``p``/``u1``,
  ``cp``/``cu1``) share their errors: equal errors are kept once, different ones refused,
  and an error given to only one of them follows both.
* :func:`noise_model_from_backend`: Aer's ``NoiseModel.from_backend`` then the above.
* :func:`channel_to_qiskit`: one of our channels as an Aer ``QuantumError`` on reversed
  wires (Qiskit's matrices read their first qubit as the least significant bit).
"""

from __future__ import annotations

import numpy as np
import torch

from ..sim.channels import all_pauli_words, pauli_matrices
from ..sim.circuit import Circuit
from ..sim.instructions import Channel
from ..sim.params import ParamExpr

try:
    from qiskit.quantum_info import Kraus
    from qiskit_aer.noise import NoiseModel as AerNoiseModel
    from qiskit_aer.noise import QuantumError, ReadoutError, kraus_error, pauli_error
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError("Qiskit Aer noise conversion needs the qiskit extra: pip install 'hybrid[qiskit]'") from exc

__all__ = ["error_from_qiskit", "noise_model_from_qiskit", "noise_model_from_backend", "channel_to_qiskit"]

_PAULI_GATES = {"id": "I", "x": "X", "y": "Y", "z": "Z"}
_TIMES = {  # product of two Paulis up to phase
    (a, b): c
    for a, b, c in [
        ("I", "I", "I"), ("I", "X", "X"), ("I", "Y", "Y"), ("I", "Z", "Z"), ("X", "I", "X"), ("X", "X", "I"),
        ("X", "Y", "Z"), ("X", "Z", "Y"), ("Y", "I", "Y"), ("Y", "X", "Z"), ("Y", "Y", "I"), ("Y", "Z", "X"),
        ("Z", "I", "Z"), ("Z", "X", "Y"), ("Z", "Y", "X"), ("Z", "Z", "I"),
    ]
}  # fmt: skip
_TOL = 1e-13  # probabilities this close are the same record


# --- one error ----------------------------------------------------------------------------------


def error_from_qiskit(error) -> Circuit:
    """An Aer ``QuantumError`` as an error circuit on its ``num_qubits`` wires (its qubit
    ``j`` on local wire ``j``)."""
    if not isinstance(error, QuantumError):
        raise TypeError(f"expected a qiskit_aer.noise.QuantumError; got {type(error).__name__}")
    k = error.num_qubits
    out = Circuit(k)
    mixture = _pauli_mixture(error)
    if mixture is not None:
        _append_pauli_mixture(out, mixture, k)
        return out
    try:
        mats = np.stack([np.asarray(m, dtype=np.complex128) for m in Kraus(error).data])
    except Exception as exc:  # noqa: BLE001 - Qiskit raises several types here
        raise ValueError(f"cannot convert the Aer error {error!r} to Kraus operators: {exc}") from exc
    # Qiskit's matrices read local qubit 0 as the least significant bit: reversed wires.
    return out.kraus(mats, list(reversed(range(k))))


def _pauli_mixture(error) -> dict[str, float] | None:
    """``{word: probability}`` (letter j on local qubit j) when every circuit of the
    mixture is a product of Pauli gates; ``None`` otherwise."""
    k = error.num_qubits
    mixture: dict[str, float] = {}
    for circuit, prob in zip(error.circuits, error.probabilities):
        letters = ["I"] * k
        for inst in circuit.data:
            op = inst.operation
            qubits = [circuit.find_bit(q).index for q in inst.qubits]
            if op.name in _PAULI_GATES:
                pieces = [(qubits[0], _PAULI_GATES[op.name])]
            elif op.name == "pauli":
                label = str(op.params[0]).lstrip("-i")
                pieces = [(q, label[-1 - j]) for j, q in enumerate(qubits)]  # Qiskit labels: last char = qubit 0
            else:
                return None
            for q, letter in pieces:
                letters[q] = _TIMES[(letters[q], letter)]
        word = "".join(letters)
        mixture[word] = mixture.get(word, 0.0) + float(prob)
    return mixture


def _append_pauli_mixture(out: Circuit, mixture: dict[str, float], k: int) -> None:
    """The mixture as the fewest exact Pauli records on wires ``0..k-1``."""
    noisy = {w: p for w, p in mixture.items() if set(w) != {"I"} and p > 0}
    if not noisy:
        return
    if len(noisy) == 1:
        ((word, p),) = noisy.items()
        if k == 1:
            out.bit_flip(p, 0) if word == "X" else out.phase_flip(p, 0) if word == "Z" else out.pauli_error(word, p, 0)
        else:
            out.pauli_error(word, p, list(range(k)))
        return
    if k == 1:
        px, py, pz = (mixture.get(c, 0.0) for c in "XYZ")
        if abs(px - py) <= _TOL and abs(py - pz) <= _TOL:
            out.depolarizing(px + py + pz, 0)
        else:
            out.pauli_channel(px, py, pz, 0)
        return
    if k == 2 and len(noisy) == 15 and max(noisy.values()) - min(noisy.values()) <= _TOL:
        out.two_qubit_depolarizing(sum(noisy.values()), 0, 1)
        return
    marginals = [{c: 0.0 for c in "IXYZ"} for _ in range(k)]
    for word, p in mixture.items():
        for j, c in enumerate(word):
            marginals[j][c] += p
    independent = all(
        abs(mixture.get(word, 0.0) - float(np.prod([marginals[j][c] for j, c in enumerate(word)]))) <= _TOL
        for word in all_pauli_words(k)
    )
    if independent:  # one channel per wire
        for j in range(k):
            single = Circuit(1)
            _append_pauli_mixture(single, {c: marginals[j][c] for c in "IXYZ"}, 1)
            out.compose(single, [j])
        return
    # A correlated Pauli mixture: exact as Kraus operators sqrt(p) P (no record holds it).
    words = list(mixture)
    probs = torch.tensor([mixture[w] for w in words], dtype=torch.float64).clamp_min(0)
    mats = probs.sqrt()[:, None, None].to(torch.complex128) * pauli_matrices(tuple(words), torch.complex128)
    out.kraus(mats, list(range(k)))


# --- a noise model ------------------------------------------------------------------------------


def noise_model_from_qiskit(aer_model, model):
    """Fill ``model`` (a :class:`hybrid.noise.NoiseModel`) from an Aer ``NoiseModel``."""
    if not isinstance(aer_model, AerNoiseModel):
        raise TypeError(f"NoiseModel.from_qiskit() takes a qiskit_aer.noise.NoiseModel; got {type(aer_model).__name__}")
    from ..interop.qiskit import gate_name_from_qiskit

    names: dict[str, str] = {}
    problems: list[str] = []
    quantum = list(aer_model._default_quantum_errors.items())
    local = [(n, q, e) for n, by_qubits in aer_model._local_quantum_errors.items() for q, e in by_qubits.items()]
    for name in {n for n, _ in quantum} | {n for n, _, _ in local}:
        try:
            names[name] = gate_name_from_qiskit(name)
        except ValueError as exc:
            problems.append(str(exc))
    if problems:
        raise ValueError("cannot convert the Aer noise model: " + "; ".join(sorted(problems)))
    # Qiskit names that convert to the same operation (u/u3, p/u1, cp/cu1, u/cu3...) are one
    # gate here: the same error under both is kept once, different errors are refused.
    rules: dict[tuple[str, tuple[int, ...] | None], tuple[str, object]] = {}
    for name, qubits, error in [(n, None, e) for n, e in quantum] + local:
        key = (names[name], qubits if qubits is None else tuple(int(q) for q in qubits))
        if key in rules:
            other, seen = rules[key]
            if not _same_error(seen, error):
                where = "all qubits" if key[1] is None else f"qubits {key[1]}"
                raise ValueError(
                    f"cannot convert the Aer noise model: Qiskit's {other!r} and {name!r} both become our "
                    f"{key[0]!r} gate, but their errors on {where} differ"
                )
            continue
        rules[key] = (name, error)
    for (ours, qubits), (_, error) in rules.items():
        model.add_gate_error(error_from_qiskit(error), ours, wires=None if qubits is None else [qubits])
    default = aer_model._default_readout_error
    if default is not None:
        model.add_readout_error(_readout(default, "all qubits"))
    for qubits, error in aer_model._local_readout_errors.items():
        model.add_readout_error(_readout(error, f"qubits {tuple(qubits)}"), wires=[int(q) for q in qubits][:1])
    return model


def _same_error(a, b) -> bool:
    if a is b:
        return True
    from qiskit.quantum_info import SuperOp

    return a.num_qubits == b.num_qubits and np.allclose(SuperOp(a).data, SuperOp(b).data, atol=1e-12)


def _readout(error, where: str) -> np.ndarray:
    if not isinstance(error, ReadoutError) or error.number_of_qubits != 1:
        n = getattr(error, "number_of_qubits", "?")
        raise ValueError(
            f"cannot convert the Aer readout error on {where}: only single-qubit readout errors have a "
            f"per-wire confusion matrix here (this one is on {n} qubits, correlated)"
        )
    return np.asarray(error.probabilities, dtype=np.float64)


def noise_model_from_backend(backend, model, **kwargs):
    """Fill ``model`` from ``qiskit_aer.noise.NoiseModel.from_backend(backend, **kwargs)``
    (gate errors: depolarizing composed with thermal relaxation; readout errors; all from
    the backend's own calibration data, offline for the fake backends)."""
    from qiskit.providers import BackendV2

    if not isinstance(backend, BackendV2):
        raise TypeError(
            "NoiseModel.from_backend() takes a Qiskit BackendV2 (an IBM backend, or an offline fake one such as "
            f"qiskit_ibm_runtime.fake_provider.FakeManilaV2()); got {type(backend).__name__}"
        )
    try:
        aer_model = AerNoiseModel.from_backend(backend, **kwargs)
    except Exception as exc:  # noqa: BLE001 - Aer raises several types here
        raise ValueError(f"Aer could not build a noise model from {backend!r}: {exc}") from exc
    return noise_model_from_qiskit(aer_model, model)


# --- ours -> Aer -------------------------------------------------------------------------------


def channel_to_qiskit(op: Channel) -> tuple["QuantumError", list[int]]:
    """An Aer ``QuantumError`` for ``op`` and the qubits to put it on (``op``'s wires
    reversed). Pauli mixtures stay Pauli errors; other channels become Kraus errors."""
    if any(isinstance(p, ParamExpr) for p in op.params):
        raise ValueError(f"cannot export the {op.name} channel with a symbolic parameter; bind it first")
    values = []
    for p in op.params:
        t = torch.as_tensor(p.detach() if isinstance(p, torch.Tensor) else p, dtype=torch.float64).reshape(-1)
        if t.numel() != 1:
            raise ValueError(f"cannot export a batched {op.name} channel (parameter of shape {tuple(t.shape)})")
        values.append(t)
    if op.batch_size not in (None, 1):
        raise ValueError(f"cannot export a batched {op.name} channel ({op.batch_size} Kraus sets); Qiskit holds one")
    wires = list(reversed(op.wires))
    kind = op.kind
    if kind.mixture is not None:
        probs, words = kind.mixture(values, op.data)
        terms = [(w, float(p)) for w, p in zip(words, probs[0].tolist()) if p > 0]
        return pauli_error(terms), wires  # labels read right to left = our word left to right on reversed wires
    data = op.data.detach().cpu() if isinstance(op.data, torch.Tensor) else op.data
    mats = kind.kraus(values, data, torch.complex128)[0].numpy()
    return kraus_error(list(mats)), wires
