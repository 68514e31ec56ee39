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

from hybrid._checks import positive_int

__all__ = [
    "model_spec",
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


def model_spec(name: str) -> ModelSpec:
    """The benchmark's view of a ``hybrid.models`` model: quantum variants are hybrids,
    twins classical; ``-noent`` ablates and ``-twin`` matches its family's hybrid."""
    from hybrid.models import MODEL_INFO  # the registry of names and what they are

    if name not in MODEL_INFO:
        raise ValueError(f"unknown model {name!r}; valid: {', '.join(MODEL_INFO)}")
    info = MODEL_INFO[name]
    return ModelSpec(
        name,
        HYBRID if info.quantum else CLASSICAL,
        name,
        ablation_of=info.family if info.variant == "noent" else None,
        twin_of=info.family if info.variant == "twin" else None,
    )


def _family(base: str) -> tuple[str, str, str]:
    return base, f"{base}-noent", f"{base}-twin"


def _trials(lrs: tuple[float, ...], decays: tuple[float, ...]) -> tuple[Mapping[str, object], ...]:
    return tuple(MappingProxyType({"lr": lr, "weight_decay": wd}) for lr in lrs for wd in decays)


def _grid(name: str, datasets: tuple[DatasetSpec, ...], trials, base: dict, seeds: int) -> Grid:
    names = dict.fromkeys(m for d in datasets for m in d.models)
    return Grid(name, datasets, MappingProxyType({m: model_spec(m) for m in names}), trials, MappingProxyType(base), seeds)


# Same split, training seed and architecture knobs for every model; only the trials vary.
# patience=0: every run trains all its epochs (the best validation epoch is kept).
_QUICK_MODELS = ("mlp", "transformer", *_family("hybrid-mlp"), *_family("vqc"))


def _quick(seeds: int) -> Grid:
    datasets = (
        DatasetSpec("digits-3v5-pca4", "digits-3v5", _QUICK_MODELS, n_features=4),
        DatasetSpec("moons", "moons", _QUICK_MODELS),
    )
    base = {"epochs": 10, "n_qubits": 4, "n_layers": 2, "batch_size": 32, "patience": 0, "split_seed": 0}
    return _grid("quick", datasets, _trials((0.003, 0.03), (1e-4,)), base, seeds)


def _full(seeds: int) -> Grid:
    images = ("mlp", "cnn", "transformer", *_family("hybrid-cnn"), *_family("quanv"))
    tabular = ("mlp", "transformer", *_family("hybrid-mlp"), *_family("vqc"))
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
        ("bars-and-stripes-pca8", "bars-and-stripes", 8),
    ]
    datasets = (
        DatasetSpec("digits", "digits", images),
        DatasetSpec("digits4x4", "digits4x4", images),
        DatasetSpec("bars-and-stripes", "bars-and-stripes", images),
        *(DatasetSpec(label, name, tabular, n_features=k) for label, name, k in tab),
    )
    base = {"epochs": 30, "batch_size": 64, "patience": 0, "split_seed": 0}  # qubits and depth: each model's defaults
    return _grid("full", datasets, _trials((0.001, 0.003, 0.01, 0.03), (1e-4, 1e-2)), base, seeds)


def get_grid(name: str, seeds: int = 5) -> Grid:
    """The ``"quick"`` or ``"full"`` grid with ``seeds`` final seeds per model."""
    seeds = positive_int(seeds, "seeds (5 or more give useful intervals)")
    builders = {"quick": _quick, "full": _full}
    if name not in builders:
        raise ValueError(f"unknown grid {name!r}; choose 'quick' or 'full'")
    return builders[name](seeds)
