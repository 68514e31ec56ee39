"""QuantumLayer: a parametrised circuit on our engine as a ``torch.nn`` layer."""

from __future__ import annotations

import math
from typing import Callable, Sequence

import torch
from torch import nn

from hybrid._checks import positive_int
from hybrid.sim import DIFF_METHODS, PauliSum
from hybrid.sim.device import complex_dtype_of

from .encoders import Amplitude, Encoder
from .readouts import Readout
from .spec import LayerSpec, layer_spec
from .templates import Ansatz

__all__ = ["QuantumLayer", "INITS"]

INITS = ("uniform", "small")


class QuantumLayer(nn.Module):
    """Encoder -> trainable ansatz layers -> readout, mapping ``(B, n_features)`` to
    ``(B, n_outputs)`` (an unbatched ``(n_features,)`` input gives ``(n_outputs,)``; extra
    leading axes are kept, as in ``nn.Linear``).

    The circuit is built once, with symbolic parameters, when the layer is made; every
    forward call binds the batch's features (one ``(B,)`` tensor per symbol) and the
    weights to it and runs the whole batch in one engine call through the engine's cached
    plan. Expectation values come from :func:`hybrid.expval`.

    Args:
        n_qubits: wires of the circuit.
        n_layers: trainable ansatz layers.
        encoder: ``"angle"`` (RX; PennyLane's AngleEmbedding), ``"amplitude"`` (normalised,
            zero-padded to ``2**n``: the initial state), ``"iqp"`` (PennyLane's
            IQPEmbedding), ``"reupload"`` (angle encoding before every layer) or an
            :class:`~hybrid.layers.Encoder` (``Angle(rotation="Y")``, ``IQP(n_repeats=2)``;
            ``Angle("Y", trainable_scale=True)`` adds the trainable ``input_scale``, one
            factor per rotation and upload, starting at the encoder's ``scale``).
        ansatz: ``"strongly_entangling"`` (PennyLane's StronglyEntanglingLayers),
            ``"basic_entangler"`` (BasicEntanglerLayers), ``"rot_entangler"`` (Rot + the
            BasicEntangler ring), ``"hardware_efficient"`` (RY, RZ + CNOT chain) or an
            :class:`~hybrid.layers.Ansatz`.
        readout: ``"z"`` (<Z_i> per wire), ``"probs"``, a list of Pauli observables
            (``[Z(0) @ Z(1), "0.5 X2"]``) or a :class:`~hybrid.layers.Readout`
            (``ExpZ(wires)``, ``Probs(wires)``).
        diff_method: ``"backprop"``, ``"adjoint"`` or ``"parameter-shift"``; gradients reach
            the weights and the inputs with each (parameter-shift cannot differentiate an
            amplitude-encoded input, which is a state, not a gate angle).
        shots: ``None`` for exact outputs; an integer for finite-shot estimates sampled from
            the exact distribution (each Pauli word from its own ``shots`` +-1 outcomes,
            probabilities from ``shots`` multinomial draws). Gradients are then those of
            the exact outputs (the estimates' expectation), a straight-through estimator.
        seed: seeds the shot sampling: two layers with the same seed and weights give the
            same sequence of estimates. ``None`` draws from torch's global generator.
        n_features: features per sample (default ``n_qubits``; ``2**n_qubits`` for amplitude).
        reupload: apply the encoder before every layer (data re-uploading).
        entangling: ``False`` removes the ansatz's entangling gates (ablation control).
        init: ``"uniform"``: weights uniform in [0, 2 pi), as PennyLane's TorchLayer;
            ``"small"``: normal with standard deviation ``init_scale``, which starts near the
            identity and keeps gradients from vanishing on wide/deep circuits (barren
            plateaus; Zhang et al., NeurIPS 2022); or a callable that fills the tensor.
        init_scale: the standard deviation of ``init="small"``.
        trainable: ``False`` keeps the (random) weights (and input scales) fixed: buffers,
            not parameters.
        device, dtype: of the weights. The simulation follows them: float32 weights run in
            complex64, float64 in complex128, on the weights' device (``.to()`` moves both).

    ``torch.compile(model)`` works on models that contain this layer: the layer itself is
    excluded from compilation (``torch.compiler.disable``), so the compiled model runs it
    eagerly between graph breaks and compiles the classical layers around it; results and
    gradients are those of the eager model. Letting dynamo trace the engine also gave right
    results but took about 4.5 minutes to compile a 4-qubit layer on a busy 2-core machine
    (the engine plans circuits in Python, with data-dependent checks and lru caches that
    dynamo bypasses) against about 8 s with the layer excluded.
    """

    def __init__(
        self,
        n_qubits: int,
        n_layers: int,
        encoder: str | Encoder = "angle",
        ansatz: str | Ansatz = "strongly_entangling",
        readout: str | Readout | PauliSum | Sequence[PauliSum | str] = "z",
        diff_method: str = "backprop",
        shots: int | None = None,
        seed: int | None = None,
        *,
        n_features: int | None = None,
        reupload: bool = False,
        entangling: bool = True,
        init: str | Callable[[torch.Tensor], object] = "uniform",
        init_scale: float = 0.1,
        trainable: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ):
        super().__init__()
        self.spec = layer_spec(
            n_qubits, n_layers, encoder, ansatz, readout, n_features=n_features, reupload=reupload, entangling=entangling
        )
        if diff_method not in DIFF_METHODS:
            raise ValueError(f"unknown diff_method {diff_method!r}; use one of {', '.join(map(repr, DIFF_METHODS))}")
        if shots is not None:
            positive_int(shots, "shots (None for exact values)")
        if not (callable(init) or init in INITS):
            raise ValueError(f"unknown init {init!r}; use one of {', '.join(map(repr, INITS))} or a callable")
        self.diff_method, self.shots, self.seed = diff_method, shots, seed
        self.init, self.init_scale = init, init_scale
        self._generator = torch.Generator().manual_seed(seed) if seed is not None else None
        # Built once: the engine caches its plan per circuit object, keyed by structure.
        self.circuit = self.spec.circuit()
        dtype = dtype or torch.get_default_dtype()
        self._register("weights", torch.empty(self.spec.weight_shape, device=device, dtype=dtype), trainable)
        shape = self.spec.input_scale_shape  # None unless the encoder has trainable input scales
        scales = None if shape is None else torch.empty(shape, device=device, dtype=dtype)
        self._register("input_scale", scales, trainable)
        self.reset_parameters()

    def _register(self, name: str, value: torch.Tensor | None, trainable: bool) -> None:
        """A parameter, or with ``trainable=False`` a buffer (saved and moved, never trained)."""
        if trainable or value is None:
            self.register_parameter(name, None if value is None else nn.Parameter(value))
        else:
            self.register_buffer(name, value)

    @classmethod
    def from_spec(cls, spec: LayerSpec, **kwargs) -> "QuantumLayer":
        """A layer for an existing :class:`LayerSpec` (keyword arguments as ``__init__``)."""
        return cls(
            spec.n_qubits, spec.n_layers, spec.encoder, spec.ansatz, spec.readout,
            n_features=spec.n_features, reupload=spec.reupload, **kwargs,
        )  # fmt: skip

    @property
    def n_features(self) -> int:
        return self.spec.n_features

    @property
    def n_outputs(self) -> int:
        return self.spec.n_outputs

    def reset_parameters(self) -> None:
        with torch.no_grad():
            if callable(self.init):
                self.init(self.weights)
            elif self.init == "uniform":
                self.weights.uniform_(0, 2 * math.pi)
            else:
                self.weights.normal_(0, self.init_scale)
            if self.input_scale is not None:
                self.spec.encoder.reset_scales(self.input_scale)

    def extra_repr(self) -> str:
        shots = "exact" if self.shots is None else f"shots={self.shots}"
        return f"{self.spec.describe()}, diff_method={self.diff_method!r}, {shots}"

    # torch.compile: see the class docstring. Dynamo could trace the engine, but compiling
    # its Python-level planning took minutes and bypasses its lru caches.
    @torch.compiler.disable
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = self._rows(x)  # (B, n_features)
        out = self._run(rows)  # (B, n_outputs)
        return out.reshape(*x.shape[:-1], out.shape[-1])

    def _rows(self, x: torch.Tensor) -> torch.Tensor:
        """Check the input and flatten its leading axes into one batch axis."""
        if not isinstance(x, torch.Tensor):
            raise TypeError(
                f"QuantumLayer takes a torch tensor of shape (batch, {self.n_features}); got {type(x).__name__} "
                "-- convert with torch.as_tensor(x, dtype=torch.float32)"
            )
        if not x.is_floating_point():
            raise TypeError(f"QuantumLayer inputs are real floating-point features; got dtype {x.dtype} -- use x.float()")
        if x.dim() == 0 or x.shape[-1] != self.n_features:
            raise ValueError(
                f"QuantumLayer expects {self.n_features} feature(s) per sample ({self.spec.describe()}); got input of "
                f"shape {tuple(x.shape)} -- put nn.Linear(..., {self.n_features}) in front or build the layer with "
                f"n_features={x.shape[-1] if x.dim() else '...'} (and enough qubits for it)"
            )
        rows = x.reshape(-1, self.n_features)
        if rows.shape[0] == 0:
            raise ValueError("QuantumLayer got an empty batch (0 samples)")
        _check_finite(rows)
        if self.diff_method == "parameter-shift" and rows.requires_grad and isinstance(self.spec.encoder, Amplitude):
            raise ValueError(
                "diff_method='parameter-shift' differentiates gate angles, and an amplitude-encoded input is the "
                "initial state, not an angle: use diff_method='adjoint' or 'backprop', or pass x.detach() if the "
                "input needs no gradient"
            )
        return rows

    def _run(self, rows: torch.Tensor) -> torch.Tensor:
        w = self.weights
        spec = self.spec
        complex_dtype = complex_dtype_of(w.dtype)
        params = spec.bindings(rows, w, self.input_scale)
        raw = spec.readout.exact(
            self.circuit, params, spec.initial_state(rows), complex_dtype, w.device, self.diff_method
        )  # (B, m)
        if self.shots is not None:
            # Estimates forward, exact gradients backward (the estimates are unbiased).
            raw = raw + (spec.readout.sample(raw, self.shots, self._generator) - raw).detach()
        return spec.readout.combine(raw, spec.n_qubits).to(w.dtype)


def _check_finite(rows: torch.Tensor) -> None:
    finite = torch.isfinite(rows)
    if bool(finite.all()):
        return
    bad = ~finite
    samples = bad.any(-1).nonzero().reshape(-1)[:5].tolist()
    features = bad.any(0).nonzero().reshape(-1)[:5].tolist()
    raise ValueError(
        f"QuantumLayer input has NaN or infinite values in sample(s) {samples} (feature(s) {features}); a rotation "
        "angle must be finite -- check the data and the layers before this one (a diverging loss, too high a "
        "learning rate), or clean the inputs (torch.nan_to_num)"
    )
