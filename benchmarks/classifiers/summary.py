"""From case records to per-model summaries and paired comparisons (no formatting here).

Everything is derived from the records alone: the tuning decision is re-made from the
tuning records' validation accuracies, and the "best" hybrid and classical model of a
dataset are the ones with the highest mean VALIDATION accuracy over the final seeds, so
choosing them does not look at the test numbers being compared.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Iterable

from benchmarks.stats import MeanCI, PairedTest, mean_ci, paired

from .grid import CLASSICAL, FINAL, HYBRID, TUNE
from .tuning import choose_trial

__all__ = ["ModelSummary", "Comparison", "DatasetSummary", "summarise"]


@dataclass
class ModelSummary:
    """One model on one dataset, over its final seeds."""

    model: str
    kind: str
    ablation_of: str | None
    twin_of: str | None
    trials: dict[int, float] = field(default_factory=dict)  # trial -> validation accuracy
    trial_configs: dict[int, dict] = field(default_factory=dict)
    finals: dict[int, dict] = field(default_factory=dict)  # seed -> final record

    @property
    def chosen_trial(self) -> int | None:
        if not self.trials:
            return None
        return choose_trial({"trial": t, "val_accuracy": v} for t, v in self.trials.items())["trial"]

    @property
    def consistent(self) -> bool:
        """Whether every final seed trained the trial the tuning records choose."""
        return all(r.get("chosen_trial") == self.chosen_trial for r in self.finals.values())

    def _values(self, name: str) -> list[float]:
        return [float(r[name]) for _, r in sorted(self.finals.items()) if _finite(r.get(name))]

    @property
    def test(self) -> MeanCI | None:
        v = self._values("test_accuracy")
        return mean_ci(v) if v else None

    @property
    def val_mean(self) -> float:
        v = self._values("val_accuracy")
        return statistics.fmean(v) if v else math.nan

    def mean_of(self, name: str) -> float:
        v = self._values(name)
        return statistics.fmean(v) if v else math.nan

    @property
    def n_params(self) -> int | None:
        counts = {r.get("n_params") for r in self.finals.values()} - {None}
        return max(counts) if counts else None

    @property
    def devices(self) -> list[str]:
        return sorted({str(r.get("device")) for r in self.finals.values()})


@dataclass
class Comparison:
    """a vs b on one dataset, paired by seed."""

    label: str
    a: str
    b: str
    seeds: list[int]
    test: PairedTest | None  # None when fewer than two common seeds


@dataclass
class DatasetSummary:
    grid: str
    dataset: str
    models: dict[str, ModelSummary]
    best_classical: str | None
    best_hybrid: str | None
    headline: Comparison | None  # best hybrid vs best classical
    ablations: list[Comparison]
    twins: list[Comparison]


def _finite(x) -> bool:
    return isinstance(x, int | float) and math.isfinite(x)


def _collect(records: Iterable[dict]) -> dict[tuple[str, str], dict[str, ModelSummary]]:
    groups: dict[tuple[str, str], dict[str, ModelSummary]] = {}
    for r in records:
        if r.get("suite") != "classifiers" or "error" in r:
            continue
        models = groups.setdefault((r["grid"], r["dataset"]), {})
        s = models.setdefault(r["model"], ModelSummary(r["model"], r["kind"], r.get("ablation_of"), r.get("twin_of")))
        if r["phase"] == TUNE and _finite(r.get("val_accuracy")):
            s.trials[r["trial"]] = float(r["val_accuracy"])
            s.trial_configs[r["trial"]] = r.get("config", {})
        elif r["phase"] == FINAL:
            s.finals[r["seed"]] = r
    return groups


def _compare(label: str, a: ModelSummary, b: ModelSummary) -> Comparison:
    seeds = sorted(s for s in set(a.finals) & set(b.finals) if _finite(a.finals[s].get("test_accuracy")) and _finite(b.finals[s].get("test_accuracy")))
    test = None
    if len(seeds) >= 2:
        test = paired([a.finals[s]["test_accuracy"] for s in seeds], [b.finals[s]["test_accuracy"] for s in seeds])
    return Comparison(label, a.model, b.model, seeds, test)


def _best(models: dict[str, ModelSummary], kind: str) -> str | None:
    """Highest mean validation accuracy among ``kind`` models with final runs; ties by name."""
    ranked = [(-m.val_mean, m.model) for m in models.values() if m.kind == kind and m.finals and not math.isnan(m.val_mean)]
    return min(ranked)[1] if ranked else None


def summarise(records: Iterable[dict]) -> list[DatasetSummary]:
    """Group records by (grid, dataset) in first-seen order and compute the comparisons."""
    out = []
    for (grid, dataset), models in _collect(records).items():
        bc, bh = _best(models, CLASSICAL), _best(models, HYBRID)
        headline = _compare("best hybrid vs best classical", models[bh], models[bc]) if bc and bh else None
        ablations = [
            _compare("entangled vs entanglement-free", models[m.ablation_of], m)
            for m in models.values()
            if m.ablation_of in models and m.finals and models[m.ablation_of].finals
        ]
        twins = [
            _compare("hybrid vs classical twin", models[m.twin_of], m)
            for m in models.values()
            if m.twin_of in models and m.finals and models[m.twin_of].finals
        ]
        out.append(DatasetSummary(grid, dataset, models, bc, bh, headline, ablations, twins))
    return out
