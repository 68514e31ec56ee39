"""The anchor engines: PennyLane (default.qubit, lightning.qubit) and Qiskit Aer.

Each builder returns a zero-argument callable (or a torch module) that does one full
run, so the timers see exactly what a user of that library would wait for. Imports are
local: a missing library turns into one recorded error, not a failed benchmark.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "pennylane_state_fn",
    "aer_state_fn",
    "aer_unpack",
    "pennylane_sel_qnode",
    "pennylane_torch_layer",
]

_PL_GATES = {
    "x": "PauliX",
    "h": "Hadamard",
    "cp": "ControlledPhaseShift",
    "swap": "SWAP",
    "rx": "RX",
    "ry": "RY",
    "rz": "RZ",
    "cx": "CNOT",
    "rot": "Rot",
}


def _apply_pennylane(qml, gates) -> None:
    for name, params, wires in gates:
        getattr(qml, _PL_GATES[name])(*params, wires=list(wires))


def pennylane_state_fn(device_name: str, n: int, gates):
    """``fn() -> np.ndarray``: a ``qml.state()`` QNode on ``device_name`` (complex128)."""
    import pennylane as qml

    dev = qml.device(device_name, wires=n)

    @qml.qnode(dev)
    def circuit():
        _apply_pennylane(qml, gates)
        return qml.state()

    return lambda: np.asarray(circuit())


def aer_state_fn(n: int, gates):
    """``fn() -> qiskit Result``: Aer statevector with default options (fusion on).

    The circuit uses only gates Aer runs natively, so no transpile step is needed or timed.
    Qiskit is little-endian: our wire i is Qiskit qubit i, and the returned amplitudes are
    put back into our order (wire 0 most significant) outside the timed call by the caller.
    """
    from qiskit import QuantumCircuit
    from qiskit_aer import AerSimulator

    qc = QuantumCircuit(n)
    for name, params, wires in gates:
        getattr(qc, name)(*params, *wires)
    qc.save_statevector()
    sim = AerSimulator(method="statevector")

    return lambda: sim.run(qc).result()


def aer_unpack(result, n: int):
    """Aer result -> (amplitudes in our order, the fusion metadata Aer reports)."""
    from hybrid.interop.qiskit import from_qiskit_order

    vec = np.asarray(result.get_statevector())
    fusion = result.results[0].metadata.get("fusion", {})
    return np.asarray(from_qiskit_order(vec, n)), fusion


def pennylane_sel_qnode(device_name: str, diff_method: str | None, n: int, interface: str = "torch", **device_kwargs):
    """QNode(weights) -> <sum Z_i> after qml.StronglyEntanglingLayers (torch interface by default).

    ``device_kwargs`` go to ``qml.device`` (e.g. ``device="cpu"`` for hybrid.qubit)."""
    import pennylane as qml

    dev = qml.device(device_name, wires=n, **device_kwargs)
    obs = qml.sum(*[qml.Z(i) for i in range(n)])

    @qml.qnode(dev, interface=interface, diff_method=diff_method)
    def circuit(weights):
        qml.StronglyEntanglingLayers(weights, wires=range(n))
        return qml.expval(obs)

    return circuit


def pennylane_torch_layer(device_name: str, diff_method: str, n: int, weights):
    """qml.qnn.TorchLayer: AngleEmbedding (RX) + StronglyEntanglingLayers, outputs <Z_i>.

    ``weights`` (a float64 tensor of shape (layers, n, 3)) initialises the layer, so its
    outputs can be checked against ours for the same numbers.
    """
    import pennylane as qml

    dev = qml.device(device_name, wires=n)

    @qml.qnode(dev, interface="torch", diff_method=diff_method)
    def circuit(inputs, weights):
        qml.AngleEmbedding(inputs, wires=range(n), rotation="X")
        qml.StronglyEntanglingLayers(weights, wires=range(n))
        return [qml.expval(qml.Z(i)) for i in range(n)]

    shape = tuple(weights.shape)
    return qml.qnn.TorchLayer(circuit, {"weights": shape}, init_method={"weights": weights.detach().clone()})
