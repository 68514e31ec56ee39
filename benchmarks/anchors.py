"""The anchor engines: PennyLane (default.qubit, lightning.qubit), Qiskit Aer and, where it
imports, TorchQuantum.

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
    "TORCHQUANTUM_MISSING",
    "torchquantum_import",
    "torchquantum_layer_fn",
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


TORCHQUANTUM_MISSING = "torchquantum not installed: it needs its own environment; see benchmarks/README.md"


def torchquantum_import():
    """``(torchquantum, None)`` when it imports, else ``(None, reason)``; nothing is raised.

    TorchQuantum is an optional anchor: its releases pin their own torch (and qiskit), so it
    usually lives in an environment of its own and is absent here.
    """
    try:
        import torchquantum
        import torchquantum.functional  # noqa: F401 - the gates the layer uses
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] == "torchquantum":
            return None, TORCHQUANTUM_MISSING
        return None, _tq_broken(exc)
    except Exception as exc:  # noqa: BLE001 - an install that does not import is still "not here"
        return None, _tq_broken(exc)
    return torchquantum, None


def _tq_broken(exc: Exception) -> str:
    return (
        f"torchquantum is installed but does not import here ({type(exc).__name__}: {exc}): "
        "it needs its own environment; see benchmarks/README.md"
    )


def torchquantum_layer_fn(tq, x: np.ndarray, weights: np.ndarray):
    """``fn() -> (outputs (B, n), d/dx, d/dweights)``: the batched layer in TorchQuantum.

    RX(x_i) on wire i, then 2 StronglyEntanglingLayers written with TorchQuantum's gates
    (``rot`` per wire, then CNOT(i, (i + r) mod n) with PennyLane's ranges), ``MeasureAll``
    of Pauli Z; the loss is the sum of all outputs. TorchQuantum simulates in complex64, so
    inputs and weights are float32. Each call builds its ``QuantumDevice`` for the batch,
    as a TorchQuantum module's ``forward`` does.
    """
    import torch
    import torchquantum.functional as tqf

    from .circuits import sel_ranges

    layers, n, _ = weights.shape
    batch = x.shape[0]
    w = torch.tensor(weights, dtype=torch.float32, requires_grad=True)
    xt = torch.tensor(x, dtype=torch.float32, requires_grad=True)
    measure = tq.MeasureAll(tq.PauliZ)
    ranges = sel_ranges(n, layers)

    def fn():
        qdev = tq.QuantumDevice(n_wires=n, bsz=batch, device="cpu")
        for i in range(n):
            tqf.rx(qdev, wires=i, params=xt[:, i : i + 1])  # (B, 1): one angle per sample
        for layer, r in enumerate(ranges):
            for i in range(n):
                tqf.rot(qdev, wires=i, params=w[layer, i].unsqueeze(0))  # (1, 3): shared by the batch
            if n > 1:
                for i in range(n):
                    tqf.cnot(qdev, wires=[i, (i + r) % n])
        out = measure(qdev)
        gx, gw = torch.autograd.grad(out.sum(), [xt, w])
        return tuple(t.detach().cpu().numpy().astype(np.float64) for t in (out, gx, gw))

    return fn
