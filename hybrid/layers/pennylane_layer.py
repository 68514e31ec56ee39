"""pennylane_layer: the same encoder/ansatz/readout spec as a ``qml.qnn.TorchLayer``.

The QNode applies the spec's :class:`~hybrid.sim.Circuit` -- the very object
:class:`QuantumLayer` runs -- through ``interop.pennylane.to_pennylane`` (``RX``, ``Rot``,
``CNOT``, ``IsingZZ``...), binding the same symbol values, amplitude encoding with
``qml.AmplitudeEmbedding(pad_with=0, normalize=True)``, and measures the readout's
observables translated by ``from_pauli_sum``; so for the same weights the two layers
compute the same function on any PennyLane device. PennyLane is imported only when this
function is called.
"""

from __future__ import annotations

import functools
import math
from typing import Callable, Sequence

import torch

from hybrid.sim import PauliSum

from .encoders import Amplitude, Encoder
from .readouts import PauliReadout, Probs, Readout
from .spec import LayerSpec, layer_spec
from .templates import Ansatz

__all__ = ["pennylane_layer"]


def pennylane_layer(
    spec: LayerSpec | int | None = None,
    n_layers: int | None = None,
    encoder: str | Encoder = "angle",
    ansatz: str | Ansatz = "strongly_entangling",
    readout: str | Readout | PauliSum | Sequence[PauliSum | str] = "z",
    *,
    device="default.qubit",
    diff_method: str = "best",
    weights: torch.Tensor | None = None,
    input_scale: torch.Tensor | None = None,
    n_features: int | None = None,
    reupload: bool = False,
    entangling: bool = True,
):
    """A ``qml.qnn.TorchLayer`` computing ``spec`` on a PennyLane device.

    Call it with a :class:`LayerSpec` (``pennylane_layer(layer.spec, device=...)``) or with
    :class:`QuantumLayer`'s own arguments (``pennylane_layer(4, 2, encoder="iqp")``).

    Args:
        spec: a :class:`LayerSpec`, or ``n_qubits`` followed by the layer arguments.
        device: a device name (``"default.qubit"``, ``"lightning.qubit"``,
            ``"hybrid.qubit"``; made with ``wires=n_qubits``) or a ``qml`` device.
        diff_method: the QNode's differentiation method (``"best"``, ``"backprop"``,
            ``"adjoint"``, ``"parameter-shift"``...).
        weights: initial weights of shape ``spec.weight_shape`` (for example a
            :class:`QuantumLayer`'s, to compare the two); default: PennyLane's uniform
            [0, 2 pi) initialisation.
        input_scale: initial trainable input scales of shape ``spec.input_scale_shape``
            (encoders such as ``Angle(trainable_scale=True)``; the layer's second weight,
            ``input_scale``); default: the encoder's starting value.
    """
    import pennylane as qml

    from hybrid.interop.pennylane.convert import to_pennylane

    if not isinstance(spec, LayerSpec):
        if n_layers is None:
            raise TypeError("pennylane_layer needs a LayerSpec or n_qubits and n_layers")
        spec = layer_spec(
            spec, n_layers, encoder, ansatz, readout, n_features=n_features, reupload=reupload, entangling=entangling
        )
    dev = qml.device(device, wires=spec.n_qubits) if isinstance(device, str) else device
    circuit, amplitude = spec.circuit(), isinstance(spec.encoder, Amplitude)
    measure = _measurements(spec.readout, spec.n_qubits)

    # **scales: TorchLayer passes the input scales by name when the encoder has them.
    @qml.qnode(dev, interface="torch", diff_method=diff_method)
    def qnode(inputs, weights, **scales):
        if amplitude:
            pad = None if spec.n_features == 2**spec.n_qubits else 0.0
            qml.AmplitudeEmbedding(inputs, wires=range(spec.n_qubits), pad_with=pad, normalize=True)
        to_pennylane(circuit, spec.bindings(inputs, weights, scales.get("input_scale")))
        return measure()

    shapes = {"weights": spec.weight_shape}
    given = {"weights": weights}
    if spec.input_scale_shape is not None:
        shapes["input_scale"] = spec.input_scale_shape
        given["input_scale"] = input_scale if input_scale is not None else _starting_scales(spec)
    init = {}
    if any(v is not None for v in given.values()):
        init = {"init_method": {name: _initial(name, value, shapes[name]) for name, value in given.items()}}
    return qml.qnn.TorchLayer(qnode, shapes, **init)


def _starting_scales(spec: LayerSpec) -> torch.Tensor:
    scales = torch.empty(spec.input_scale_shape)
    spec.encoder.reset_scales(scales)
    return scales


def _initial(name: str, value: torch.Tensor | None, shape: tuple[int, ...]):
    """A TorchLayer ``init_method`` entry: a copy of ``value``, or PennyLane's default uniform [0, 2 pi)."""
    if value is None:
        return functools.partial(torch.nn.init.uniform_, b=2 * math.pi)
    if tuple(value.shape) != shape:
        raise ValueError(f"{name} must have shape {shape}; got {tuple(value.shape)}")
    return value.detach().clone()


def _measurements(readout: Readout, n_qubits: int) -> Callable[[], object]:
    """What the QNode returns for ``readout``: called inside the QNode, where measurements queue."""
    import pennylane as qml

    from hybrid.interop.pennylane.convert import from_pauli_sum

    if isinstance(readout, Probs):
        wires = list(readout.measured_wires(n_qubits))
        return lambda: qml.probs(wires=wires)
    if isinstance(readout, PauliReadout):
        observables = [from_pauli_sum(o) for o in readout.observables(n_qubits)]
        return lambda: [qml.expval(o) for o in observables]
    raise TypeError(
        f"pennylane_layer measures Pauli-observable readouts (ExpZ, Paulis) and Probs; got {type(readout).__name__}"
    )
