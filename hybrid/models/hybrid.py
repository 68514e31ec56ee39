"""Hybrid classifiers, their parameter-matched classical twins and entanglement-free variants.

* ``DressedNet``: a classical feature extractor -> ``Linear`` (+ batch norm) to ``n_qubits`` angles ->
  a quantum core -> ``Linear`` head (the "dressed quantum circuit" of Mari et al.,
  arXiv:1912.08278). The core is ``hybrid.layers.QuantumLayer`` or, in the twin, a
  ``ClassicalCore`` with (nearly) the same number of trainable parameters.
* ``ReuploadingVQC``: a pure variational classifier; every layer re-encodes the features
  (Perez-Salinas et al., arXiv:1907.02085) with trainable input scales, then applies
  trainable ``Rot`` gates and (unless ``entangling=False``) a CNOT ring. Readout: with
  ``n_classes <= n_qubits`` class ``c``'s logit is ``a_c <Z_c> + b_c``; with more classes
  a ``Linear(n_qubits, n_classes)`` maps all ``<Z_i>`` to logits.
* ``QuanvNet``: ``hybrid.layers.Quanvolution`` (or, in the twin, a strided ``Conv2d``)
  -> a small classical head.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..sim import Circuit, Parameter, Z, expval
from ..sim.device import complex_dtype_of

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


def reuploading_circuit(n_qubits: int, n_layers: int, entangling: bool) -> Circuit:
    """Per layer: ``RY(x_{l,i})`` on every wire, ``Rot(a, b, c)`` on every wire, CNOT ring."""
    c = Circuit(n_qubits)
    for layer in range(n_layers):
        for i in range(n_qubits):
            c.ry(Parameter(f"x{layer}_{i}"), i)
        for i in range(n_qubits):
            c.rot(Parameter(f"a{layer}_{i}"), Parameter(f"b{layer}_{i}"), Parameter(f"c{layer}_{i}"), i)
        if entangling and n_qubits > 1:
            for i in range(n_qubits if n_qubits > 2 else 1):
                c.cx(i, (i + 1) % n_qubits)
    return c


class ReuploadingVQC(nn.Module):
    """A data re-uploading variational classifier on the ``hybrid.sim`` engine."""

    def __init__(self, n_features: int, n_classes: int, n_qubits: int, n_layers: int = 3, entangling: bool = True, diff_method: str = "backprop"):
        super().__init__()
        if n_features > n_qubits:
            raise ValueError(
                f"vqc encodes one feature per qubit but got {n_features} features for {n_qubits} qubits; "
                f"reduce the data with n_features={n_qubits} (PCA) or raise n_qubits"
            )
        self.n_qubits, self.n_layers, self.diff_method = n_qubits, n_layers, diff_method
        self.circuit = reuploading_circuit(n_qubits, n_layers, entangling)
        self.observables = [Z(i) for i in range(n_qubits)]
        # Qubit i reads feature i mod d, so every qubit is fed when d < n_qubits.
        self.register_buffer("feature_of_wire", torch.arange(n_qubits) % n_features, persistent=False)
        self.input_scale = nn.Parameter(torch.ones(n_layers, n_qubits))
        self.rotations = nn.Parameter(torch.rand(n_layers, n_qubits, 3) * 2 * math.pi)
        if n_classes <= n_qubits:
            self.scale = nn.Parameter(torch.full((n_classes,), 3.0))
            self.bias = nn.Parameter(torch.zeros(n_classes))
            self.linear = None
        else:
            self.linear = nn.Linear(n_qubits, n_classes)
        self.n_classes = n_classes

    def expvals(self, x: torch.Tensor) -> torch.Tensor:
        """``<Z_i>`` for every wire: (B, d) -> (B, n_qubits)."""
        angles = self.input_scale[None] * x[:, None, self.feature_of_wire]  # (B, L, n)
        params: dict[str, torch.Tensor] = {}
        for layer in range(self.n_layers):
            for i in range(self.n_qubits):
                params[f"x{layer}_{i}"] = angles[:, layer, i]
                a, b, c = self.rotations[layer, i]
                params[f"a{layer}_{i}"], params[f"b{layer}_{i}"], params[f"c{layer}_{i}"] = a, b, c
        dtype = complex_dtype_of(x.dtype)  # a float64 model simulates in complex128, like QuantumLayer
        out = expval(self.circuit, self.observables, params, dtype=dtype, device=x.device, diff_method=self.diff_method)
        return out.to(x.dtype)

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
