"""Running one case: a tuning trial, or a final seed with the trial tuning chose.

A final seed needs its model's tuning records. They come from ``records`` (what a caller
has already stored), else from the cases run earlier in this process; a trial found in
neither is run again here (same seed, same result on the CPU) and the final record says so.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import platform
from typing import Callable, Iterable, Mapping

import torch

from .grid import FINAL, SUITE, TUNE, Case, Grid, case_key, get_grid, parse_key
from .tuning import choose_trial

__all__ = ["Trainer", "case_keys", "run_case", "train_with_hybrid"]

#: Trains one configuration (``hybrid.train.TrainConfig`` fields as a dict) and returns
#: ``hybrid.train.fit``'s metrics. Tests inject fakes.
Trainer = Callable[[dict], Mapping]

# What a tuning record keeps from fit's metrics. No test accuracy: tuning never sees it.
_TUNE_FIELDS = ("val_accuracy", "n_params", "train_seconds", "epochs_run", "device")
_FINAL_FIELDS = (*_TUNE_FIELDS, "test_accuracy", "inference_seconds")

_seen: dict[str, dict] = {}  # records made in this process, by key


def case_keys(quick: bool = True, *, seeds: int = 5, grid: Grid | None = None) -> list[str]:
    """Every case of the quick (or full) grid, each model's trials before its seeds."""
    g = grid or get_grid("quick" if quick else "full", seeds)
    keys = []
    for d in g.datasets:
        for m in d.models:
            g.model(m)  # fail early on a model the grid does not define
            keys += [case_key(g.name, d.label, m, TUNE, i) for i in range(len(g.trials))]
            keys += [case_key(g.name, d.label, m, FINAL, s) for s in range(g.seeds)]
    return keys


def train_with_hybrid(config: dict) -> Mapping:
    """``hybrid.train.fit(TrainConfig(**config))``."""
    from hybrid.train import TrainConfig, fit

    known = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(config) - known)
    if unknown:
        raise ValueError(f"TrainConfig has no field(s) {unknown}; update benchmarks/classifiers/grid.py to the training API")
    return fit(TrainConfig(**config))


def run_case(
    key: str,
    device: str = "auto",
    *,
    records: Mapping[str, dict] | Iterable[dict] | None = None,
    train: Trainer | None = None,
    grid: Grid | None = None,
) -> dict:
    """Run the case ``key`` (from ``case_keys``) on ``device`` and return its JSON-able record.

    Args:
        key: a case key.
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
        records: records already stored (by key, or a list); final seeds read their tuning
            trials from here.
        train: the trainer (default: ``hybrid.train.fit``).
        grid: the grid the key belongs to (default: the quick or full grid named in the key).
    """
    case = parse_key(key)
    g = grid or get_grid(case.grid)
    if g.name != case.grid:
        raise ValueError(f"key {key!r} belongs to grid {case.grid!r}, not {g.name!r}")
    train = train or train_with_hybrid
    known = _index(records)
    if case.phase == TUNE:
        record = _tune(case, g, device, train)
    else:
        record = _final(case, g, device, train, known)
    _seen[key] = record
    return record


def _index(records: Mapping[str, dict] | Iterable[dict] | None) -> dict[str, dict]:
    if records is None:
        return {}
    if isinstance(records, Mapping):
        return dict(records)
    return {r["key"]: r for r in records if "key" in r}


def _config(case: Case, g: Grid, device: str, trial: int, seed: int) -> dict:
    if not 0 <= trial < len(g.trials):
        raise ValueError(f"trial {trial} is outside grid {g.name!r}'s {len(g.trials)} trials")
    d, m = g.dataset(case.dataset), g.model(case.model)
    return {
        **g.base,
        **m.options,
        **g.trials[trial],
        "model": m.build,
        "dataset": d.name,
        "n_features": d.n_features,
        "seed": seed,
        "device": device,
        "out": None,
        "progress": False,
    }


def _base_record(case: Case, g: Grid, config: dict) -> dict:
    m = g.model(case.model)
    return {
        "key": case.key,
        "suite": SUITE,
        "grid": g.name,
        "phase": case.phase,
        "dataset": case.dataset,
        "model": case.model,
        "kind": m.kind,
        "ablation_of": m.ablation_of,
        "twin_of": m.twin_of,
        "config": {k: v for k, v in config.items() if k not in ("device", "out", "progress")},
    }


def _host() -> dict:
    return {
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "finished_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }


def _pick(metrics: Mapping, fields: tuple[str, ...], key: str) -> dict:
    missing = [f for f in fields if f not in metrics]
    if missing:
        raise KeyError(f"training metrics for {key} lack {missing}; fit() must return them")
    return {f: metrics[f] for f in fields}


def _tune(case: Case, g: Grid, device: str, train: Trainer) -> dict:
    config = _config(case, g, device, case.index, g.tune_seed)
    metrics = train(config)
    return {
        **_base_record(case, g, config),
        "trial": case.index,
        "seed": g.tune_seed,
        **_pick(metrics, _TUNE_FIELDS, case.key),
        "host": _host(),
    }


def _final(case: Case, g: Grid, device: str, train: Trainer, known: dict[str, dict]) -> dict:
    trials, rerun = [], []
    for i in range(len(g.trials)):
        k = case_key(g.name, case.dataset, case.model, TUNE, i)
        rec = known.get(k) or _seen.get(k)
        if rec is None:
            rec = run_case(k, device, train=train, grid=g)
            rerun.append(k)
        trials.append(rec)
    chosen = choose_trial(trials)
    config = _config(case, g, device, chosen["trial"], case.index)
    metrics = train(config)
    return {
        **_base_record(case, g, config),
        "seed": case.index,
        "chosen_trial": chosen["trial"],
        "trial_val_accuracy": [t.get("val_accuracy") for t in trials],
        "tuning_rerun": rerun,
        **_pick(metrics, _FINAL_FIELDS, case.key),
        "host": _host(),
    }
