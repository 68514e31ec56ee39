"""Classifiers by name: classical baselines, hybrids, their twins and entanglement-free variants.

``build_model(name, input_shape=..., n_classes=...)`` is the one entry point; ``MODEL_NAMES``
lists the names and ``MODEL_INFO`` says what each needs (image or tabular input) and how it
relates to the others (a ``-twin`` swaps the quantum part for a classical one with about the
same number of trainable parameters; a ``-noent`` drops every entangling gate).
Classical models accept and ignore ``n_qubits``, ``n_layers`` and ``entangling`` so one
training config can drive every model.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from .._checks import integer
from ..layers import QuantumLayer, Quanvolution
from .cnn import CNN, conv_features
from .hybrid import ClassicalCore, DressedNet, QuanvNet, ReuploadingVQC, trainable_count
from .mlp import MLP, mlp_layers, widths_for_budget
from .transformer import Transformer

__all__ = ["build_model", "count_parameters", "MODEL_NAMES", "MODEL_INFO", "ModelInfo", "check_compatible"]


@dataclass(frozen=True)
class ModelInfo:
    """What a model needs and what it is: ``input`` is "image", "tabular" or "any";
    ``variant`` is "classical", "quantum", "twin" or "noent"; ``family`` groups a hybrid
    with its twin and entanglement-free variant."""

    input: str
    variant: str
    family: str

    @property
    def quantum(self) -> bool:
        return self.variant in ("quantum", "noent")


def _family(base: str, input_kind: str) -> dict[str, ModelInfo]:
    return {
        base: ModelInfo(input_kind, "quantum", base),
        f"{base}-twin": ModelInfo(input_kind, "twin", base),
        f"{base}-noent": ModelInfo(input_kind, "noent", base),
    }


MODEL_INFO: dict[str, ModelInfo] = {
    "mlp": ModelInfo("any", "classical", "mlp"),
    "cnn": ModelInfo("image", "classical", "cnn"),
    "transformer": ModelInfo("any", "classical", "transformer"),
    **_family("hybrid-cnn", "image"),
    **_family("hybrid-mlp", "tabular"),
    **_family("vqc", "tabular"),
    **_family("quanv", "image"),
}
MODEL_NAMES: tuple[str, ...] = tuple(MODEL_INFO)

# Defaults per family: small enough for this CPU, the dressed ones within the 8-qubit floor.
_DEFAULT_QUBITS = {"hybrid-cnn": 8, "hybrid-mlp": 8}
_DEFAULT_LAYERS = {"hybrid-cnn": 2, "hybrid-mlp": 2, "vqc": 3, "quanv": 1}


def count_parameters(model: nn.Module) -> int:
    """Number of trainable scalars."""
    return trainable_count(model)


def check_compatible(name: str, input_shape: tuple[int, ...]) -> None:
    """Raise a ValueError naming the fix when ``name`` cannot take inputs of ``input_shape``."""
    if name not in MODEL_INFO:
        raise ValueError(f"unknown model {name!r}; valid: {', '.join(MODEL_NAMES)}")
    need = MODEL_INFO[name].input
    if need == "image" and len(input_shape) != 3:
        raise ValueError(
            f"model {name!r} needs image data (C, H, W) but the data are tabular {tuple(input_shape)}; "
            "use an image data set (digits, digits4x4, digits-3v5, bars-and-stripes) without n_features, "
            "or a model for tables (mlp, transformer, hybrid-mlp, vqc)"
        )
    if need == "tabular" and len(input_shape) != 1:
        raise ValueError(
            f"model {name!r} needs tabular data (d,) but the data are images {tuple(input_shape)}; "
            "reduce them with n_features (PCA), e.g. --n-features 8"
        )


def _quantum_layer(n_qubits: int, n_layers: int, entangling: bool, options: dict) -> nn.Module:
    # Near-identity start trains faster than uniform random angles (digits, 8 qubits, lr 0.01,
    # 30 epochs: train loss 0.09 vs 0.21); pass init="uniform" for PennyLane's default.
    options.setdefault("init", "small")
    return QuantumLayer(n_qubits, n_layers, entangling=entangling, **options)


def _quanvolution(in_channels: int, out_channels: int, n_layers: int, entangling: bool, options: dict) -> nn.Module:
    if not entangling:
        options.setdefault("entangling", False)
    # Quanvolution's default scale (pi) is for pixels in [0, 1]; our images are standardised
    # (digits: about -0.8 to 2.6), which pi would wrap around the circle (digits, 10 epochs:
    # test 0.61 at pi, 0.85 at 1).
    options.setdefault("input_scale", 1.0)
    return Quanvolution(in_channels, out_channels, kernel_size=2, stride=2, n_layers=n_layers, **options)


def _build_dressed(base, variant, input_shape, n_classes, n_qubits, n_layers, entangling, options):
    if base == "hybrid-cnn":
        features, n_flat = conv_features(input_shape, tuple(options.pop("channels", (16, 32))))
    else:
        hidden = options.pop("hidden", 32)
        features, n_flat = nn.Sequential(nn.Linear(input_shape[0], hidden), nn.ReLU()), hidden
    quantum = _quantum_layer(n_qubits, n_layers, entangling and variant != "noent", options)
    core = ClassicalCore(n_qubits, trainable_count(quantum)) if variant == "twin" else quantum
    return DressedNet(features, n_flat, n_qubits, core, n_classes)


def _build_vqc(variant, input_shape, n_classes, n_qubits, n_layers, entangling, options):
    vqc = ReuploadingVQC(input_shape[0], n_classes, n_qubits, n_layers, entangling and variant != "noent", **options)
    if variant != "twin":
        return vqc
    # The twin: an MLP (one or two hidden layers) with the VQC's parameter count.
    return mlp_layers(input_shape[0], widths_for_budget(input_shape[0], n_classes, trainable_count(vqc)), n_classes)


def _build_quanv(variant, input_shape, n_classes, n_layers, entangling, options):
    c, h, w = input_shape
    out_channels = options.pop("out_channels", 4)
    hidden = options.pop("hidden", 32)
    if variant == "twin":
        conv = nn.Sequential(nn.Conv2d(c, out_channels, kernel_size=2, stride=2), nn.Tanh())
    else:
        conv = _quanvolution(c, out_channels, n_layers, entangling and variant != "noent", options)
    return QuanvNet(conv, out_channels * (h // 2) * (w // 2), n_classes, hidden)


def build_model(
    name: str,
    *,
    input_shape: tuple[int, ...],
    n_classes: int,
    n_qubits: int | None = None,
    n_layers: int | None = None,
    entangling: bool = True,
    **options,
) -> nn.Module:
    """Build the classifier ``name`` for inputs of ``input_shape`` and ``n_classes`` classes.

    Args:
        name: one of ``MODEL_NAMES``.
        input_shape: per-sample shape, ``(C, H, W)`` or ``(d,)`` (``Splits.input_shape``).
        n_classes: number of output logits.
        n_qubits: width of the quantum part (default 8 for dressed models, ``d`` for vqc
            (at most 12), ``C * 4`` for quanv's 2x2 patches, fixed by its layer).
        n_layers: ansatz depth (default 2 dressed, 3 vqc, 1 quanv).
        entangling: False drops the entangling gates (same as the ``-noent`` name).
        **options: passed to the model (e.g. ``channels``, ``hidden``, ``dropout``, ``dim``,
            ``depth``, ``patch``, ``widths``); for the dressed models the rest go to
            ``QuantumLayer`` (``diff_method``, ``init`` (default here ``"small"``), ...), for
            quanv to ``Quanvolution`` (``out_channels`` default 4, ``input_scale`` default 1
            because our images are standardised), for vqc ``diff_method``.
    """
    check_compatible(name, tuple(input_shape))
    n_classes = integer(n_classes, "n_classes", minimum=2)
    info, input_shape, options = MODEL_INFO[name], tuple(input_shape), dict(options)
    layers = n_layers if n_layers is not None else _DEFAULT_LAYERS.get(info.family, 0)
    try:
        if info.variant == "classical":
            cls = {"mlp": MLP, "cnn": CNN, "transformer": Transformer}[name]
            return cls(input_shape, n_classes, **options)
        if info.family in ("hybrid-cnn", "hybrid-mlp"):
            qubits = n_qubits if n_qubits is not None else _DEFAULT_QUBITS[info.family]
            return _build_dressed(info.family, info.variant, input_shape, n_classes, qubits, layers, entangling, options)
        if info.family == "vqc":
            qubits = n_qubits if n_qubits is not None else input_shape[0]
            if qubits > 12:
                raise ValueError(f"vqc would need {qubits} qubits for {input_shape[0]} features; use n_features <= 12 (PCA)")
            return _build_vqc(info.variant, input_shape, n_classes, qubits, layers, entangling, options)
        return _build_quanv(info.variant, input_shape, n_classes, layers, entangling, options)
    except TypeError as exc:
        raise ValueError(f"bad options {sorted(options)} for model {name!r}: {exc}") from exc
