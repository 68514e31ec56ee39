"""What the classifier benchmark runs: datasets, models, the tuning budget, and case keys.

A case is one training run, either a tuning trial or a final seed:

    classifiers/<grid>/<dataset label>/<model>/tune=<i>    trial i of the shared tuning grid
    classifiers/<grid>/<dataset label>/<model>/seed=<s>    final run with the chosen trial

Every model on a dataset gets the same trials (same learning rates and weight decays, same
epochs), so no model gets more tuning than another.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

__all__ = [
    "CLASSICAL",
    "HYBRID",
    "Case",
    "DatasetSpec",
    "Grid",
    "ModelSpec",
    "case_key",
    "get_grid",
    "parse_key",
]

CLASSICAL = "classical"
HYBRID = "hybrid"
SUITE = "classifiers"
TUNE = "tune"
FINAL = "seed"


@dataclass(frozen=True)
class ModelSpec:
    """A model as the benchmark runs it.

    Attributes:
        name: label in keys and the report.
        kind: ``CLASSICAL`` or ``HYBRID``.
        build: the ``hybrid.models`` name passed to training.
        options: extra training-config fields (e.g. ``{"entangling": False}``).
        ablation_of: for an entanglement-free variant, the entangling model it ablates.
        twin_of: for a classical twin, the hybrid whose parameter count it matches.
    """

    name: str
    kind: str
    build: str
    options: Mapping[str, object] = field(default_factory=dict)
    ablation_of: str | None = None
    twin_of: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in (CLASSICAL, HYBRID):
            raise ValueError(f"model {self.name!r}: kind must be {CLASSICAL!r} or {HYBRID!r}, got {self.kind!r}")
        object.__setattr__(self, "options", MappingProxyType(dict(self.options)))


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset as the benchmark loads it, and the models that run on it."""

    label: str
    name: str  # hybrid.data name
    models: tuple[str, ...]
    n_features: int | None = None  # PCA components, None for the raw features


@dataclass(frozen=True)
class Grid:
    """One benchmark configuration; ``trials`` is the tuning budget every model gets."""

    name: str
    datasets: tuple[DatasetSpec, ...]
    models: Mapping[str, ModelSpec]
    trials: tuple[Mapping[str, object], ...]  # training-config overrides, one per trial
    base: Mapping[str, object]  # training-config fields shared by every run
    seeds: int = 5
    tune_seed: int = 1000  # training seed of tuning trials; final seeds are 0..seeds-1

    def dataset(self, label: str) -> DatasetSpec:
        for d in self.datasets:
            if d.label == label:
                return d
        raise KeyError(f"grid {self.name!r} has no dataset {label!r}; it has {[d.label for d in self.datasets]}")

    def model(self, name: str) -> ModelSpec:
        if name not in self.models:
            raise KeyError(f"grid {self.name!r} has no model {name!r}; it has {sorted(self.models)}")
        return self.models[name]


@dataclass(frozen=True)
class Case:
    """A parsed case key."""

    grid: str
    dataset: str
    model: str
    phase: str  # TUNE or FINAL
    index: int  # trial number or seed

    @property
    def key(self) -> str:
        return case_key(self.grid, self.dataset, self.model, self.phase, self.index)


def case_key(grid: str, dataset: str, model: str, phase: str, index: int) -> str:
    return f"{SUITE}/{grid}/{dataset}/{model}/{phase}={index}"


_KEY = re.compile(rf"^{SUITE}/(?P<grid>[^/]+)/(?P<dataset>[^/]+)/(?P<model>[^/]+)/(?P<phase>{TUNE}|{FINAL})=(?P<index>\d+)$")


def parse_key(key: str) -> Case:
    m = _KEY.match(key)
    if m is None:
        raise ValueError(
            f"not a classifier case key: {key!r}; expected '{SUITE}/<grid>/<dataset>/<model>/{TUNE}=<i>' "
            f"or '.../{FINAL}=<s>' (list them with case_keys())"
        )
    return Case(m["grid"], m["dataset"], m["model"], m["phase"], int(m["index"]))


def _twins(hybrid: str, build: str, twin_build: str, **options) -> dict[str, ModelSpec]:
    """A hybrid, its entanglement-free variant and its classical twin."""
    return {
        hybrid: ModelSpec(hybrid, HYBRID, build, options),
        f"{hybrid}-noent": ModelSpec(f"{hybrid}-noent", HYBRID, build, {**options, "entangling": False}, ablation_of=hybrid),
        twin_build: ModelSpec(twin_build, CLASSICAL, twin_build, options, twin_of=hybrid),
    }


def _models(quantum: dict[str, ModelSpec], *classical: str) -> dict[str, ModelSpec]:
    return {**{c: ModelSpec(c, CLASSICAL, c) for c in classical}, **quantum}


def _lr_grid(lrs: tuple[float, ...], decays: tuple[float, ...]) -> tuple[Mapping[str, object], ...]:
    return tuple(MappingProxyType({"lr": lr, "weight_decay": wd}) for lr in lrs for wd in decays)


_TABULAR_QUICK = ("mlp", "transformer", "hybrid-mlp", "hybrid-mlp-noent", "mlp-twin", "vqc")


def _quick(seeds: int) -> Grid:
    models = _models({**_twins("hybrid-mlp", "hybrid-mlp", "mlp-twin"), "vqc": ModelSpec("vqc", HYBRID, "vqc")}, "mlp", "transformer")
    return Grid(
        name="quick",
        datasets=(
            DatasetSpec("digits-3v5-pca4", "digits-3v5", _TABULAR_QUICK, n_features=4),
            DatasetSpec("moons", "moons", _TABULAR_QUICK),
        ),
        models=MappingProxyType(models),
        trials=_lr_grid((0.003, 0.03), (0.0,)),
        base=MappingProxyType({"epochs": 10, "n_qubits": 4, "n_layers": 2, "batch_size": 32}),
        seeds=seeds,
    )


def _full(seeds: int) -> Grid:
    quantum = {
        **_twins("hybrid-mlp", "hybrid-mlp", "mlp-twin"),
        **_twins("hybrid-cnn", "hybrid-cnn", "cnn-twin"),
        "vqc": ModelSpec("vqc", HYBRID, "vqc"),
        "vqc-noent": ModelSpec("vqc-noent", HYBRID, "vqc", {"entangling": False}, ablation_of="vqc"),
        "quanv": ModelSpec("quanv", HYBRID, "quanv"),
    }
    models = _models(quantum, "mlp", "cnn", "transformer")
    images = ("mlp", "cnn", "transformer", "hybrid-cnn", "hybrid-cnn-noent", "cnn-twin", "quanv")
    tabular = ("mlp", "transformer", "hybrid-mlp", "hybrid-mlp-noent", "mlp-twin", "vqc", "vqc-noent")
    tab = [
        ("digits-3v5-pca8", "digits-3v5", 8),
        ("breast_cancer-pca8", "breast_cancer", 8),
        ("wine-pca8", "wine", 8),
        ("iris", "iris", None),
        ("moons", "moons", None),
        ("circles", "circles", None),
        ("linearly-separable-pca8", "linearly-separable", 8),
        ("hidden-manifold-pca8", "hidden-manifold", 8),
        ("two-curves-pca8", "two-curves", 8),
        ("hyperplanes-parity-pca8", "hyperplanes-parity", 8),
    ]
    return Grid(
        name="full",
        datasets=(
            DatasetSpec("digits", "digits", images),
            DatasetSpec("bars-and-stripes", "bars-and-stripes", images),
            *(DatasetSpec(label, name, tabular, n_features=k) for label, name, k in tab),
        ),
        models=MappingProxyType(models),
        trials=_lr_grid((0.001, 0.003, 0.01, 0.03), (0.0, 0.01)),
        base=MappingProxyType({"epochs": 30, "n_qubits": 8, "n_layers": 3, "batch_size": 64}),
        seeds=seeds,
    )


def get_grid(name: str, seeds: int = 5) -> Grid:
    """The ``"quick"`` or ``"full"`` grid with ``seeds`` final seeds per model."""
    if seeds < 1:
        raise ValueError(f"seeds must be at least 1 (5 or more for useful intervals), got {seeds}")
    builders = {"quick": _quick, "full": _full}
    if name not in builders:
        raise ValueError(f"unknown grid {name!r}; choose 'quick' or 'full'")
    return builders[name](seeds)
