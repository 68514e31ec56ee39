"""Hybrid classifiers, their parameter-matched classical twins and entanglement-free variants.

* ``DressedNet``: a classical feature extractor -> ``Linear`` (+ batch norm) to ``n_qubits`` angles ->
  a quantum core -> ``Linear`` head (the "dressed quantum circuit" of Mari et al.,
  arXiv:1912.08278). The core is ``hybrid.layers.QuantumLayer`` or, in the twin, a
  ``ClassicalCore`` with (nearly) the same number of trainable parameters.
* ``ReuploadingVQC``: a pure variational classifier, a ``QuantumLayer`` plus a head; every
  layer re-encodes the features (Perez-Salinas et al., arXiv:1907.02085) with trainable
  input scales, then applies trainable ``Rot`` gates and (unless ``entangling=False``) a
  CNOT ring. Readout: with ``n_classes <= n_qubits`` class ``c``'s logit is
  ``a_c <Z_c> + b_c``; with more classes a ``Linear(n_qubits, n_classes)`` maps all
  ``<Z_i>`` to logits.
* ``QuanvNet``: ``hybrid.layers.Quanvolution`` (or, in the twin, a strided ``Conv2d``)
  -> a small classical head.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..layers import Angle, QuantumLayer, RotEntangler

__all__ = ["DressedNet", "ClassicalCore", "ReuploadingVQC", "QuanvNet", "trainable_count"]


def trainable_count(module: nn.Module) -> int:
    """Number of trainable scalars in ``module``."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


class ClassicalCore(nn.Module):
    """``tanh(B tanh(A x))`` from ``n`` to ``n`` features with about ``budget`` parameters.

    Stands in for a quantum layer in a twin: the same width in and out, bounded outputs
    like ``<Z>``, and ``2 n k`` weights with ``k = round(budget / 2n)`` (at least 1).
    """

    def __init__(self, n: int, budget: int):
        super().__init__()
        k = max(1, round(budget / (2 * n)))
        self.net = nn.Sequential(nn.Linear(n, k, bias=False), nn.Tanh(), nn.Linear(k, n, bias=False), nn.Tanh())

    def forward(self, x):  # (B, n) -> (B, n)
        return self.net(x)


class DressedNet(nn.Module):
    """``features -> Linear -> BatchNorm -> pi * sigmoid (angles) -> core -> Linear head``.

    Angles lie in (0, pi), where an RX-encoded qubit's <Z> = cos(angle) is one-to-one; a
    symmetric range such as tanh * pi/2 loses the sign of every feature when the ansatz is
    near the identity. The batch norm keeps the angles spread: without it a large step can
    saturate the squashing function, fix every angle and stall training at chance (seen on
    digits at lr 0.02 for two of three seeds).
    """

    def __init__(self, features: nn.Module, n_flat: int, n_qubits: int, core: nn.Module, n_classes: int):
        super().__init__()
        self.features = features
        self.pre = nn.Sequential(nn.Linear(n_flat, n_qubits), nn.BatchNorm1d(n_qubits))
        self.core = core
        self.head = nn.Linear(n_qubits, n_classes)

    def forward(self, x):  # (B, *input_shape) -> (B, n_classes)
        angles = torch.sigmoid(self.pre(self.features(x))) * math.pi  # (B, n_qubits) in (0, pi)
        return self.head(self.core(angles))


class ReuploadingVQC(nn.Module):
    """A data re-uploading variational classifier: a :class:`~hybrid.layers.QuantumLayer`
    (``RY(input_scale[l, i] * x_{i mod d})`` on every wire, then :class:`RotEntangler`'s
    ``Rot`` gates and CNOT ring, per layer; ``<Z_i>`` out) and a classical head.

    The layer owns the trainable ``input_scale`` ``(n_layers, n_qubits)`` (starting at 1)
    and ``rotations`` ``(n_layers, n_qubits, 3)`` (uniform in [0, 2 pi)); it simulates in the
    complex dtype matching them (float64 models in complex128).
    """

    def __init__(self, n_features: int, n_classes: int, n_qubits: int, n_layers: int = 3, entangling: bool = True, diff_method: str = "backprop"):
        super().__init__()
        if n_features > n_qubits:
            raise ValueError(
                f"vqc encodes one feature per qubit but got {n_features} features for {n_qubits} qubits; "
                f"reduce the data with n_features={n_qubits} (PCA) or raise n_qubits"
            )
        # cycle: qubit i reads feature i mod d, so every qubit is fed when d < n_qubits.
        encoder = Angle("Y", trainable_scale=True, cycle=True)
        self.quantum = QuantumLayer(
            n_qubits, n_layers, encoder, RotEntangler(entangling=entangling), "z", diff_method,
            n_features=n_features, reupload=True,
        )  # fmt: skip
        if n_classes <= n_qubits:
            self.scale = nn.Parameter(torch.full((n_classes,), 3.0))
            self.bias = nn.Parameter(torch.zeros(n_classes))
            self.linear = None
        else:
            self.linear = nn.Linear(n_qubits, n_classes)
        self.n_classes = n_classes

    @property
    def input_scale(self) -> nn.Parameter:
        """Trainable input scales ``(n_layers, n_qubits)``: wire i turns by ``input_scale[l, i] * x`` in layer l."""
        return self.quantum.input_scale

    @property
    def rotations(self) -> nn.Parameter:
        """``Rot`` angles ``(n_layers, n_qubits, 3)``."""
        return self.quantum.weights

    def expvals(self, x: torch.Tensor) -> torch.Tensor:
        """``<Z_i>`` for every wire: (B, d) -> (B, n_qubits)."""
        return self.quantum(x)

    def forward(self, x):  # (B, d) -> (B, n_classes)
        z = self.expvals(x)
        if self.linear is not None:
            return self.linear(z)
        return self.scale * z[:, : self.n_classes] + self.bias


class QuanvNet(nn.Module):
    """``conv (quantum or classical) -> Flatten -> Linear -> ReLU -> Linear``."""

    def __init__(self, conv: nn.Module, n_flat: int, n_classes: int, hidden: int = 32):
        super().__init__()
        self.conv = conv
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(n_flat, hidden), nn.ReLU(), nn.Linear(hidden, n_classes))

    def forward(self, x):  # (B, C, H, W) -> (B, n_classes)
        return self.head(self.conv(x))
