"""Data encoders: how a feature vector enters a circuit.

An encoder appends gates over symbolic input parameters (``x{f}`` for feature f,
``xx{i}_{j}`` for a product of two features, ``x{u}_{s}`` for rotation s of upload u
scaled by a trainable factor) to a :class:`~hybrid.sim.Circuit` and, at run time, gives
the values those symbols take for a batch ``x`` of shape ``(..., n_features)``.
Amplitude encoding adds no gates: it is the circuit's initial state. Our engine and
PennyLane (through ``interop.pennylane.to_pennylane``) run that one circuit.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import torch

from hybrid._checks import positive_int
from hybrid.sim import Circuit
from hybrid.sim.params import ParamExpr, Parameter

__all__ = ["Encoder", "Angle", "Amplitude", "IQP", "ENCODERS", "ROTATIONS"]

# Rotation axis letter -> the Circuit builder that applies it (called as rotate(circuit, angle, wire)).
ROTATIONS = {"X": Circuit.rx, "Y": Circuit.ry, "Z": Circuit.rz}


class Encoder:
    """Base class: no gates, no initial state, no features. Subclasses say what they add."""

    name = "encoder"
    can_reupload = True

    def max_features(self, n_qubits: int) -> int:
        raise NotImplementedError

    def default_features(self, n_qubits: int) -> int:
        return self.max_features(n_qubits)

    def min_features(self, n_qubits: int) -> int:
        return 1

    def encode(self, circuit: Circuit, n_features: int, upload: int = 0) -> Circuit:
        """Append this encoder's gates for ``n_features`` features to ``circuit``; return it.
        ``upload`` counts the encodings of one circuit (0 unless the data is re-uploaded)."""
        return circuit

    def scale_shape(self, n_qubits: int, n_features: int, n_uploads: int) -> tuple[int, int] | None:
        """Shape ``(n_uploads, rotations per upload)`` of trainable input scales; ``None``: none."""
        return None

    def reset_scales(self, scales: torch.Tensor) -> None:
        """Fill trainable input scales with their starting value, in place."""
        scales.fill_(1.0)

    def bindings(self, x: torch.Tensor, scales: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Symbol values for features ``x`` ``(B, n_features)`` (each ``(B,)``) or ``(n_features,)``
        (0-d), and the trainable input ``scales`` when the encoder has them."""
        return {f"x{f}": c for f, c in enumerate(x.unbind(-1))}

    def initial_state(self, x: torch.Tensor, n_qubits: int) -> torch.Tensor | None:
        return None


@dataclass(frozen=True)
class Angle(Encoder):
    """Feature f rotates wire ``f % n`` about axis ``rotation[f // n]`` by ``scale * x_f``.

    ``rotation="X"`` (PennyLane's ``AngleEmbedding`` default) takes up to n features; a
    longer string such as ``"YZ"`` packs more features per wire (feature n + i is the
    second rotation on wire i), which is how :class:`Quanvolution` fits big patches on
    few qubits.

    ``cycle=True`` feeds every wire even with fewer features than wires: rotation s (one
    per wire at least) reads feature ``s % n_features``. ``trainable_scale=True`` gives
    every rotation of every upload its own trainable factor, starting at ``scale``: rotation
    s of upload u turns by ``scales[u, s] * x_{s % n_features}`` (the layer owns
    ``scales``; data re-uploading classifiers learn their input scales this way).
    """

    rotation: str = "X"
    scale: float = 1.0
    trainable_scale: bool = False
    cycle: bool = False
    name = "angle"

    def __post_init__(self):
        if not self.rotation or any(a not in ROTATIONS for a in self.rotation):
            raise ValueError(f"angle rotation axes are 'X', 'Y' or 'Z' (e.g. 'Y' or 'YZ'); got {self.rotation!r}")

    def max_features(self, n_qubits: int) -> int:
        return n_qubits * len(self.rotation)

    def default_features(self, n_qubits: int) -> int:
        return n_qubits

    def n_rotations(self, n_qubits: int, n_features: int) -> int:
        """Rotations per upload: one per feature, and one per wire at least with ``cycle``."""
        return max(n_features, n_qubits) if self.cycle else n_features

    def encode(self, circuit: Circuit, n_features: int, upload: int = 0) -> Circuit:
        n = circuit.n_qubits
        for s in range(self.n_rotations(n, n_features)):
            ROTATIONS[self.rotation[s // n]](circuit, self._angle(s, n_features, upload), s % n)
        return circuit

    def _angle(self, s: int, n_features: int, upload: int) -> ParamExpr:
        if self.trainable_scale:
            # scale * x is a product of two values, not affine in one symbol: it gets its own.
            return Parameter(f"x{upload}_{s}")
        return self.scale * Parameter(f"x{s % n_features}")

    def scale_shape(self, n_qubits, n_features, n_uploads):
        return (n_uploads, self.n_rotations(n_qubits, n_features)) if self.trainable_scale else None

    def reset_scales(self, scales):
        scales.fill_(self.scale)

    def bindings(self, x, scales=None):
        if not self.trainable_scale:
            return super().bindings(x)
        if scales is None:
            raise ValueError("Angle(trainable_scale=True) binds scale * x: pass the layer's input scales")
        feature = torch.arange(scales.shape[-1], device=x.device) % x.shape[-1]  # rotation s reads x[feature[s]]
        angles = scales * x.index_select(-1, feature).unsqueeze(-2)  # (B, U, S), or (U, S) for one sample
        return {f"x{u}_{s}": angles[..., u, s] for u in range(scales.shape[0]) for s in range(scales.shape[1])}


@dataclass(frozen=True)
class Amplitude(Encoder):
    """The normalised feature vector, zero-padded to ``2**n``, is the initial state.

    Wire 0 is the most significant bit of the amplitude index (PennyLane's
    ``AmplitudeEmbedding(pad_with=0, normalize=True)`` gives the same state). An all-zero
    vector has no direction and is refused.
    """

    name = "amplitude"
    can_reupload = False  # a state preparation happens once, at the start

    def max_features(self, n_qubits: int) -> int:
        return 2**n_qubits

    def bindings(self, x, scales=None):
        return {}

    def initial_state(self, x: torch.Tensor, n_qubits: int) -> torch.Tensor:
        norms = torch.linalg.vector_norm(x, dim=-1, keepdim=True)  # (B, 1)
        zero = (norms == 0).reshape(-1)
        if bool(zero.any()):
            rows = zero.nonzero().reshape(-1)[:5].tolist()
            raise ValueError(
                f"amplitude encoding got an all-zero feature vector (sample(s) {rows}); a zero vector "
                "has no direction to normalise -- drop or replace those samples, or add a constant "
                "bias feature (e.g. append 1.0) so no vector is all zeros"
            )
        state = x / norms
        pad = 2**n_qubits - x.shape[-1]
        if pad:
            state = torch.nn.functional.pad(state, (0, pad))
        return state


@dataclass(frozen=True)
class IQP(Encoder):
    """PennyLane's ``IQPEmbedding``: per repeat, H then RZ(x_i) on each wire, then
    ``RZZ(x_i * x_j)`` (``MultiRZ``) on every pair ``i < j``; needs exactly n features."""

    n_repeats: int = 1
    name = "iqp"

    def __post_init__(self):
        positive_int(self.n_repeats, "IQP n_repeats")

    def max_features(self, n_qubits: int) -> int:
        return n_qubits

    def min_features(self, n_qubits: int) -> int:
        return n_qubits

    def encode(self, circuit: Circuit, n_features: int, upload: int = 0) -> Circuit:
        n = circuit.n_qubits
        for _ in range(self.n_repeats):
            for i in range(n):
                circuit.h(i).rz(Parameter(f"x{i}"), i)
            # A product of two features is not affine in one symbol: it gets its own.
            for i, j in itertools.combinations(range(n), 2):
                circuit.rzz(Parameter(f"xx{i}_{j}"), i, j)
        return circuit

    def bindings(self, x, scales=None):
        out = super().bindings(x)
        for i, j in itertools.combinations(range(x.shape[-1]), 2):
            out[f"xx{i}_{j}"] = out[f"x{i}"] * out[f"x{j}"]
        return out


ENCODERS = {"angle": Angle, "amplitude": Amplitude, "iqp": IQP}
REUPLOAD_NAMES = ("reupload", "reuploading", "data_reuploading")
