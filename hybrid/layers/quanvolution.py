"""Quanvolution: a quantum convolution layer (Henderson et al., arXiv:1904.04767).

Every ``kernel_size x kernel_size`` patch of an image (all input channels) is encoded
into a small circuit, run through ansatz layers, and read out as ``<Z_i>`` on the first
``out_channels`` wires: those are the output pixel's channels. All patches of all images
go through the engine in one batched call: ``(B, C, H, W)`` is unfolded to
``(B * P, C * k * k)`` patch rows (P patches per image) and fed to one
:class:`QuantumLayer`.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from hybrid._checks import positive_int

from .encoders import Angle
from .quantum_layer import QuantumLayer
from .readouts import ExpZ
from .templates import Ansatz

__all__ = ["Quanvolution"]

_AXES_ORDER = "YZX"  # features beyond one per wire: RY first (as Henderson et al.), then RZ, RX


class Quanvolution(nn.Module):
    """``(B, in_channels, H, W) -> (B, out_channels, H', W')`` with
    ``H' = (H - kernel_size) // stride + 1`` (no padding), likewise ``W'``.

    A patch's features are ordered channel first, then kernel row, then column (as
    ``torch.nn.functional.unfold``); feature f is ``RY(input_scale * x_f)`` on wire f
    (pixels in [0, 1] become angles in [0, pi], as in Henderson et al.). With more
    features than ``n_qubits`` (default ``min(in_channels * kernel_size**2, max_qubits)``)
    each wire takes up to three: RY, then RZ, then RX.

    Args:
        in_channels, out_channels: channels of the input and of the output (at most
            ``n_qubits``: output channel c is <Z_c>).
        kernel_size, stride: patch size and step.
        n_layers: ansatz layers after the encoding.
        ansatz: an ansatz name or object (see :class:`QuantumLayer`).
        trainable: ``False`` fixes the random weights (Henderson et al.'s quanvolutional
            filters); they are then a buffer, saved in ``state_dict`` and moved by ``.to``.
        n_qubits, max_qubits: the circuit width (see above).
        input_scale: multiplies every pixel before it becomes an angle.
        **layer_kwargs: passed to :class:`QuantumLayer` (``diff_method``, ``shots``,
            ``seed``, ``init``, ``entangling``, ``device``, ``dtype``...).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 2,
        stride: int = 2,
        n_layers: int = 1,
        *,
        ansatz: str | Ansatz = "strongly_entangling",
        trainable: bool = True,
        n_qubits: int | None = None,
        max_qubits: int = 8,
        input_scale: float = math.pi,
        **layer_kwargs,
    ):
        super().__init__()
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels),
                            ("kernel_size", kernel_size), ("stride", stride)):  # fmt: skip
            positive_int(value, f"Quanvolution {name}")
        features = in_channels * kernel_size**2
        n_qubits = n_qubits if n_qubits is not None else min(features, max_qubits)
        n_qubits = positive_int(n_qubits, "Quanvolution n_qubits")
        per_wire = math.ceil(features / n_qubits)
        if per_wire > len(_AXES_ORDER):
            raise ValueError(
                f"a {in_channels}x{kernel_size}x{kernel_size} patch has {features} features; {n_qubits} qubit(s) "
                f"hold at most {len(_AXES_ORDER) * n_qubits} -- use at least {math.ceil(features / 3)} qubits, a "
                "smaller kernel_size or fewer input channels"
            )
        if out_channels > n_qubits:
            raise ValueError(
                f"out_channels={out_channels} but the circuit has {n_qubits} qubit(s) and output channel c is <Z_c>; "
                f"use out_channels <= {n_qubits} or n_qubits >= {out_channels}"
            )
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride = kernel_size, stride
        self.layer = QuantumLayer(
            n_qubits, n_layers, Angle(rotation=_AXES_ORDER[:per_wire], scale=input_scale), ansatz,
            ExpZ(tuple(range(out_channels))), n_features=features, trainable=trainable, **layer_kwargs,
        )  # fmt: skip

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
            f"trainable={isinstance(self.layer.weights, nn.Parameter)}"
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or x.dim() != 4 or x.shape[1] != self.in_channels:
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(
                f"Quanvolution expects images of shape (batch, {self.in_channels}, height, width); got {shape} "
                "-- add the batch axis with x.unsqueeze(0) or match in_channels"
            )
        b, _, h, w = x.shape
        k, s = self.kernel_size, self.stride
        if h < k or w < k:
            raise ValueError(f"images of {h}x{w} are smaller than the {k}x{k} kernel; use a smaller kernel_size")
        out_h, out_w = (h - k) // s + 1, (w - k) // s + 1
        patches = nn.functional.unfold(x, k, stride=s)  # (B, C*k*k, P)
        rows = patches.transpose(1, 2).reshape(b * out_h * out_w, -1)  # (B*P, C*k*k)
        out = self.layer(rows)  # (B*P, out_channels): one engine call
        return out.reshape(b, out_h, out_w, self.out_channels).permute(0, 3, 1, 2)
