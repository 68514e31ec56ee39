"""The Markdown report: protocol, one table per dataset, paired tests, and plain findings."""

from __future__ import annotations

import math
from typing import Iterable

from benchmarks.stats import MeanCI

from .summary import Comparison, DatasetSummary, ModelSummary, summarise

__all__ = ["render"]

ALPHA = 0.05
CITATION = (
    "Bowles, Ahmed & Schuld, *Better than classical? The subtle art of benchmarking quantum "
    "machine learning models*, arXiv:2403.07059 (2024)"
)


def _f(x: float | None, digits: int = 3) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def _p(p: float | None) -> str:
    if p is None or math.isnan(p):
        return "n/a"
    return f"{p:.2g}" if p >= 0.001 else f"{p:.1e}"


def _s(seconds: float) -> str:
    if math.isnan(seconds):
        return "-"
    return f"{seconds * 1e3:.1f} ms" if seconds < 1 else f"{seconds:.1f} s"


def _ci(ci: MeanCI | None) -> str:
    if ci is None:
        return "-"
    if math.isnan(ci.half_width):
        return f"{ci.mean:.3f} (n=1)"
    return f"{ci.mean:.3f} ± {ci.half_width:.3f}"


def _trial(m: ModelSummary) -> str:
    t = m.chosen_trial
    if t is None:
        return "-"
    cfg = m.trial_configs.get(t, {})
    knobs = ", ".join(f"{k}={cfg[k]:g}" for k in ("lr", "weight_decay") if isinstance(cfg.get(k), int | float))
    flag = "" if m.consistent else " (finals used another trial!)"
    return f"#{t} ({knobs}){flag}"


def _model_table(d: DatasetSummary) -> list[str]:
    lines = [
        "| model | kind | chosen trial | trial val acc | val acc | test acc (95% CI) | params | train | inference | device | seeds |",
        "|---|---|---|---|---|---|---:|---:|---:|---|---:|",
    ]
    order = sorted(d.models.values(), key=lambda m: (m.kind, -(m.test.mean if m.test else -1), m.model))
    for m in order:
        mark = " **best**" if m.model in (d.best_classical, d.best_hybrid) else ""
        trials = " / ".join(_f(v) for _, v in sorted(m.trials.items())) or "-"
        lines.append(
            f"| {m.model}{mark} | {m.kind} | {_trial(m)} | {trials} | {_f(m.val_mean)} | {_ci(m.test)} | "
            f"{m.n_params if m.n_params is not None else '-'} | {_s(m.mean_of('train_seconds'))} | "
            f"{_s(m.mean_of('inference_seconds'))} | {', '.join(m.devices) or '-'} | {len(m.finals)} |"
        )
    return lines


def _comparison_rows(comps: list[Comparison]) -> list[str]:
    rows = []
    for c in comps:
        t = c.test
        if t is None:
            rows.append(f"| {c.label} | {c.a} | {c.b} | - | n/a | n/a | {len(c.seeds)} |")
            continue
        ci = t.diff_ci
        rows.append(
            f"| {c.label} | {c.a} | {c.b} | {t.mean_diff:+.3f} [{_f(ci.low)}, {_f(ci.high)}] | "
            f"{_p(t.t_p)} | {_p(t.wilcoxon_p)} | {t.n} |"
        )
    return rows


def _dataset_section(d: DatasetSummary) -> list[str]:
    lines = [f"### {d.dataset}", "", *_model_table(d), ""]
    comps = ([d.headline] if d.headline else []) + d.ablations + d.twins
    if comps:
        lines += [
            "| comparison | a | b | mean test diff a − b [95% CI] | paired t p | Wilcoxon p | pairs |",
            "|---|---|---|---|---:|---:|---:|",
            *_comparison_rows(comps),
            "",
        ]
    return lines


def _significant(c: Comparison) -> bool:
    return c.test is not None and c.test.t_p < ALPHA


def _stats(c: Comparison) -> str:
    t = c.test
    sig = "significant" if _significant(c) else "not significant"
    return f"paired t-test p={_p(t.t_p)}, Wilcoxon p={_p(t.wilcoxon_p)}, n={t.n}; {sig} at {ALPHA}"


def _headline_sentence(d: DatasetSummary) -> str | None:
    c = d.headline
    if c is None or c.test is None:
        return None
    hyb, cla, t = d.models[c.a].test, d.models[c.b].test, c.test
    verb, tail = ("beats", "") if _significant(c) else ("is ahead of", ", but not significantly")
    if t.mean_diff < 0:
        lead = f"the best classical model ({c.b}, {cla.mean:.3f}) {verb} the best hybrid ({c.a}, {hyb.mean:.3f}){tail}"
    elif t.mean_diff > 0:
        lead = f"the best hybrid ({c.a}, {hyb.mean:.3f}) {verb} the best classical model ({c.b}, {cla.mean:.3f}){tail}"
    else:
        lead = f"the best hybrid ({c.a}) and the best classical model ({c.b}) tie at {hyb.mean:.3f}"
    ci = t.diff_ci
    return (
        f"On **{d.dataset}**, {lead}: hybrid − classical = {t.mean_diff:+.3f} "
        f"(95% CI [{_f(ci.low)}, {_f(ci.high)}]; {_stats(c)})."
    )


def _ablation_sentence(c: Comparison) -> str:
    if c.test is None:
        return f"The entanglement ablation of {c.a} could not be tested (fewer than two paired seeds)."
    # a = entangled, b = entanglement-free: removing entanglement changes accuracy by b - a.
    return f"Removing entanglement from {c.a} ({c.b}) changed test accuracy by {-c.test.mean_diff:+.3f} ({_stats(c)})."


def _twin_sentence(c: Comparison) -> str:
    if c.test is None:
        return f"{c.a} and its classical twin could not be compared (fewer than two paired seeds)."
    return f"{c.a} − its parameter-matched classical twin ({c.b}) = {c.test.mean_diff:+.3f} ({_stats(c)})."


def _dataset_findings(d: DatasetSummary) -> list[str]:
    head = _headline_sentence(d)
    rest = [_ablation_sentence(c) for c in d.ablations] + [_twin_sentence(c) for c in d.twins]
    if head is None and rest:
        head = f"On **{d.dataset}**:"
    return [head, *rest] if head else []


def _overall(ds: list[DatasetSummary]) -> list[str]:
    heads = [d.headline for d in ds if d.headline and d.headline.test]
    cl = [c for c in heads if c.test.mean_diff < 0]
    hy = [c for c in heads if c.test.mean_diff > 0]
    abl = [c for d in ds for c in d.ablations if c.test]
    hurt = [c for c in abl if c.test.mean_diff > 0 and _significant(c)]
    helped = [c for c in abl if c.test.mean_diff < 0 and _significant(c)]
    out = []
    if heads:
        n_sig = sum(map(_significant, cl + hy))
        out.append(
            f"Across {len(heads)} dataset(s), the best classical model had the higher mean test accuracy on "
            f"{len(cl)} ({sum(map(_significant, cl))} significantly), the best hybrid on {len(hy)} "
            f"({sum(map(_significant, hy))} significantly), and they tied on {len(heads) - len(cl) - len(hy)}."
        )
        direction = "matches" if len(cl) > len(hy) else "goes against" if len(hy) > len(cl) else "is mixed relative to"
        evidence = (
            f"{n_sig} of {len(heads)} differences are significant, so this run alone is weak evidence either way"
            if 2 * n_sig < len(heads)
            else f"{n_sig} of {len(heads)} differences are significant"
        )
        out.append(
            f"This run's direction {direction} {CITATION}, who found that out-of-the-box classical models "
            f"outperform the quantum classifiers overall; {evidence}."
        )
    if abl:
        out.append(
            f"Removing entanglement significantly lowered test accuracy in {len(hurt)} and significantly raised it "
            f"in {len(helped)} of {len(abl)} ablation(s); the same study found that removing entanglement often "
            f"does not hurt, which this {'matches' if 2 * len(hurt) <= len(abl) else 'does not match'}."
        )
    return out


def _protocol(ds: list[DatasetSummary]) -> list[str]:
    first = next((m for d in ds for m in d.models.values() if m.trial_configs), None)
    budget = ""
    if first is not None:
        trials = "; ".join(
            f"#{t}: " + ", ".join(f"{k}={v}" for k, v in sorted(c.items()) if k in ("lr", "weight_decay"))
            for t, c in sorted(first.trial_configs.items())
        )
        epochs = next(iter(first.trial_configs.values())).get("epochs")
        budget = f" The budget, identical for every model: {len(first.trial_configs)} trials ({trials}), {epochs} epochs each."
    return [
        "**Protocol.** Each model is tuned on validation accuracy only: every trial trains with one "
        "fixed seed and is scored on the validation split (its test accuracy is not even stored); the "
        "trial with the highest validation accuracy (ties: the earlier trial) is then trained once per "
        f"seed and scored once on the test split.{budget} Every run of a dataset uses the same "
        "stratified train/validation/test split (`split_seed=0`), so tuning never sees a test sample "
        "and the intervals cover initialisation and data-order variance. Test accuracy is the mean over seeds ± the half-width of the 95% "
        "t-interval (t quantile with n − 1 degrees of freedom). Timing columns are mean wall seconds "
        "per run on a shared machine (noisy: compare within one run only).",
        "",
        "**Comparisons.** The best hybrid and the best classical model of a dataset are the ones "
        "with the highest mean *validation* accuracy over the final seeds (not test, so picking them "
        "does not bias the test comparison). Runs are paired by seed. p-values are two-sided: the "
        "paired t-test, and the exact Wilcoxon signed-rank test (zero differences dropped, mid-ranks "
        "for ties; with 5 nonzero pairs its smallest possible p is 0.0625). No correction for "
        "multiple comparisons.",
        "",
    ]


def render(records: Iterable[dict]) -> str:
    """The Markdown report of the classifier benchmark, from its case records alone."""
    ds = summarise(records)
    if not ds:
        return "# Classifier benchmark\n\nNo finished classifier cases yet.\n"
    lines = ["# Classifier benchmark: hybrid vs classical", "", *_protocol(ds)]
    for grid in dict.fromkeys(d.grid for d in ds):
        lines += [f"## Grid `{grid}`", ""]
        for d in ds:
            if d.grid == grid:
                lines += _dataset_section(d)
    paragraphs = [" ".join(f) for d in ds if (f := _dataset_findings(d))]
    if overall := _overall(ds):
        paragraphs.append(" ".join(overall))
    lines += ["## Findings", "", "\n\n".join(paragraphs) if paragraphs else "Not enough finished seeds to compare yet.", ""]
    return "\n".join(lines)
