"""Quantum layers for PyTorch: encoders, ansatz templates, readouts, QuantumLayer on our
engine, TorchLayer builders for PennyLane devices, and a quantum convolution.

Encoders and templates append to one :class:`hybrid.sim.Circuit` per layer; our engine runs
it and PennyLane devices run the same object through ``interop.pennylane.to_pennylane``.
Wire 0 is the most significant bit (as everywhere in hybrid and in PennyLane), so nothing
is reordered on the way.
"""

from .encoders import IQP, Amplitude, Angle, Encoder
from .pennylane_layer import pennylane_layer
from .quantum_layer import QuantumLayer
from .quanvolution import Quanvolution
from .readouts import ExpZ, Paulis, Probs, Readout
from .spec import LayerSpec, layer_spec
from .templates import Ansatz, BasicEntangler, HardwareEfficient, RotEntangler, StronglyEntangling

__all__ = [
    "Encoder", "Angle", "Amplitude", "IQP", "Ansatz", "StronglyEntangling", "BasicEntangler", "RotEntangler",
    "HardwareEfficient", "Readout", "ExpZ", "Paulis", "Probs", "LayerSpec", "layer_spec", "QuantumLayer",
    "pennylane_layer", "Quanvolution",
]  # fmt: skip
