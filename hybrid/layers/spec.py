"""LayerSpec: encoder + ansatz + readout, the description both layer builders share.

:class:`~hybrid.layers.QuantumLayer` (our engine) and
:func:`~hybrid.layers.pennylane_layer` (any PennyLane device) read the same spec: the
same :class:`~hybrid.sim.Circuit` (PennyLane gets it through
``interop.pennylane.to_pennylane``), the same symbol values, the same initial state, the
same measurements.

Symbols: input feature f is ``x{f}`` (IQP adds ``xx{i}_{j}`` = x_i x_j; an angle encoder
with trainable scales has ``x{u}_{s}`` = ``input_scale[u, s] * x_f`` instead); weight
``weights[l, i, k]`` is ``w{l}_{i}_{k}`` (``w{l}_{i}`` for one weight per wire), so the
names follow ``weights.reshape(-1)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import torch

from hybrid._checks import positive_int
from hybrid.sim import Circuit, PauliSum

from .encoders import ENCODERS, REUPLOAD_NAMES, Angle, Encoder
from .readouts import Readout, make_readout
from .templates import ANSATZES, Ansatz, weight_names, weight_symbols

__all__ = ["LayerSpec", "layer_spec"]


@dataclass(frozen=True)
class LayerSpec:
    """What a quantum layer computes (structure only; weights live in the modules).

    With ``reupload`` the encoder is applied before every trainable layer (data
    re-uploading, Perez-Salinas et al. 2020), otherwise once at the start.
    """

    n_qubits: int
    n_layers: int
    encoder: Encoder
    ansatz: Ansatz
    readout: Readout
    n_features: int
    reupload: bool = False
    weight_names: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        positive_int(self.n_qubits, "n_qubits")
        positive_int(self.n_layers, "n_layers")
        e, n, f = self.encoder, self.n_qubits, self.n_features
        positive_int(f, "n_features")
        if not e.min_features(n) <= f <= e.max_features(n):
            raise ValueError(
                f"encoder {e.name!r} on {n} qubit(s) takes {_feature_range(e, n)} feature(s); "
                f"got n_features={f} -- change n_qubits or map the data to that many features (e.g. nn.Linear)"
            )
        if self.reupload and not e.can_reupload:
            raise ValueError(f"encoder {e.name!r} prepares the initial state and cannot be re-uploaded; use 'angle' or 'iqp'")
        self.ansatz.check(n, self.n_layers)
        self.readout.check(n)
        object.__setattr__(self, "weight_names", weight_names(self.weight_shape))

    @property
    def weight_shape(self) -> tuple[int, ...]:
        return (self.n_layers,) + self.ansatz.weight_shape(self.n_qubits)

    @property
    def n_outputs(self) -> int:
        return self.readout.n_outputs(self.n_qubits)

    @property
    def input_scale_shape(self) -> tuple[int, int] | None:
        """Shape of the encoder's trainable input scales (one row per upload), or ``None``."""
        return self.encoder.scale_shape(self.n_qubits, self.n_features, self.n_layers if self.reupload else 1)

    def circuit(self) -> Circuit:
        """The whole circuit over the input and weight symbols (a new object per call)."""
        circuit = Circuit(self.n_qubits)
        weights = weight_symbols(self.weight_shape)
        for layer in range(self.n_layers):
            if self.reupload or layer == 0:
                self.encoder.encode(circuit, self.n_features, upload=layer)
            self.ansatz.append_layer(circuit, layer, weights[layer])
        return circuit

    def bindings(
        self, x: torch.Tensor, weights: torch.Tensor, input_scale: torch.Tensor | None = None
    ) -> dict[str, torch.Tensor]:
        """Symbol values: per-sample ``(B,)`` inputs (0-d for one sample) and 0-d weights;
        ``input_scale`` (shape :attr:`input_scale_shape`) when the encoder has trainable scales."""
        values = self.encoder.bindings(x, input_scale)
        values.update(zip(self.weight_names, weights.reshape(-1).unbind(0)))
        return values

    def initial_state(self, x: torch.Tensor) -> torch.Tensor | None:
        """``(B, 2**n)`` amplitudes for state-preparing encoders, else ``None`` (|0...0>)."""
        return self.encoder.initial_state(x, self.n_qubits)

    def describe(self) -> str:
        scaled = " with trainable scales" if self.input_scale_shape is not None else ""
        enc = f"{self.encoder.name}{scaled}{' re-uploaded' if self.reupload else ''} ({self.n_features} features)"
        return (
            f"{self.n_qubits} qubits, {self.n_layers} layer(s): encoder {enc}, ansatz {self.ansatz.describe()}, "
            f"readout {self.readout.name} ({self.n_outputs} outputs)"
        )


def layer_spec(
    n_qubits: int,
    n_layers: int,
    encoder: str | Encoder = "angle",
    ansatz: str | Ansatz = "strongly_entangling",
    readout: str | Readout | PauliSum | Sequence[PauliSum | str] = "z",
    *,
    n_features: int | None = None,
    reupload: bool = False,
    entangling: bool = True,
) -> LayerSpec:
    """Build a :class:`LayerSpec` from names or objects.

    Args:
        n_qubits: wires of the circuit.
        n_layers: trainable ansatz layers.
        encoder: ``"angle"`` (RX), ``"amplitude"``, ``"iqp"``, ``"reupload"`` (angle,
            re-uploaded before every layer) or an :class:`Encoder` such as
            ``Angle(rotation="Y")``.
        ansatz: ``"strongly_entangling"``, ``"basic_entangler"``, ``"hardware_efficient"``
            or an :class:`Ansatz` such as ``StronglyEntangling(ranges=(1, 2))``.
        readout: ``"z"``, ``"probs"``, a :class:`Readout` or a list of Pauli observables.
        n_features: features per sample (default: n_qubits; 2**n_qubits for amplitude).
        reupload: apply the encoder before every trainable layer.
        entangling: ``False`` drops the ansatz's entangling gates (the ablation control).
    """
    positive_int(n_qubits, "n_qubits")
    enc, reupload = _make_encoder(encoder, reupload)
    ans = _make_ansatz(ansatz, entangling)
    if n_features is None:
        n_features = enc.default_features(n_qubits)
    return LayerSpec(n_qubits, n_layers, enc, ans, make_readout(readout), n_features, reupload)


def _make_encoder(encoder: str | Encoder, reupload: bool) -> tuple[Encoder, bool]:
    if isinstance(encoder, Encoder):
        return encoder, reupload
    if encoder in REUPLOAD_NAMES:
        return Angle(), True
    if isinstance(encoder, str) and encoder in ENCODERS:
        return ENCODERS[encoder](), reupload
    names = ", ".join(repr(k) for k in (*ENCODERS, REUPLOAD_NAMES[0]))
    raise ValueError(f"unknown encoder {encoder!r}; use one of {names} or an Encoder object (e.g. Angle(rotation='Y'))")


def _make_ansatz(ansatz: str | Ansatz, entangling: bool) -> Ansatz:
    if isinstance(ansatz, Ansatz):
        if not entangling and ansatz.entangling:
            raise ValueError("entangling=False conflicts with an Ansatz object built with entangling=True; set it on the object")
        return ansatz
    if isinstance(ansatz, str) and ansatz in ANSATZES:
        return ANSATZES[ansatz](entangling=entangling)
    names = ", ".join(map(repr, ANSATZES))
    raise ValueError(
        f"unknown ansatz {ansatz!r}; use one of {names} (entangling=False for the entanglement-free control) "
        "or an Ansatz object"
    )


def _feature_range(e: Encoder, n: int) -> str:
    lo, hi = e.min_features(n), e.max_features(n)
    return str(lo) if lo == hi else f"{lo} to {hi}"
