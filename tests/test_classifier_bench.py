"""The classifier benchmark's statistics, tuning protocol, resume logic and report.

Statistics are checked against scipy.stats and closed forms; the protocol runs on a tiny
fake grid with an injected trainer (no real training).
"""

from __future__ import annotations

import json
import math
from types import MappingProxyType

import numpy as np
import pytest
from scipy import stats as st

import benchmarks.classifiers.run as run_mod
from benchmarks.classifiers import case_keys, get_grid, parse_key, plot, render, run_case
from benchmarks.classifiers.__main__ import run_cases
from benchmarks.classifiers.grid import CLASSICAL, HYBRID, DatasetSpec, Grid, ModelSpec
from benchmarks.classifiers.summary import summarise
from benchmarks.records import ResultLog
from benchmarks.stats import mean_ci, paired, paired_t, wilcoxon_exact

A = [0.91, 0.95, 0.88, 0.97, 0.93]
B = [0.89, 0.90, 0.87, 0.92, 0.94]

# --- statistics -----------------------------------------------------------------------------


def test_mean_ci_matches_scipy_t_interval():
    ci = mean_ci(A)
    lo, hi = st.t.interval(0.95, len(A) - 1, loc=np.mean(A), scale=st.sem(A))
    assert ci.mean == pytest.approx(np.mean(A), abs=1e-15)
    assert (ci.low, ci.high) == pytest.approx((lo, hi), abs=1e-12)


def test_mean_ci_uses_the_published_t_quantile():
    # Student's t table: t_{0.975, 4} = 2.776 (two-sided 95%, 4 degrees of freedom).
    x = [1.0, 2.0, 3.0, 4.0, 5.0]  # s = sqrt(2.5)
    assert mean_ci(x).half_width == pytest.approx(2.776 * math.sqrt(2.5) / math.sqrt(5), abs=2e-3)
    assert math.isnan(mean_ci([0.5]).half_width)


@pytest.mark.parametrize("a,b", [(A, B), ([0.5, 0.6, 0.7, 0.8], [0.52, 0.55, 0.69, 0.7]), (B, A)])
def test_paired_t_matches_scipy_ttest_rel(a, b):
    t, p = paired_t(a, b)
    ref = st.ttest_rel(a, b)
    assert t == pytest.approx(ref.statistic, rel=1e-12)
    assert p == pytest.approx(ref.pvalue, rel=1e-10)


def test_paired_t_degenerate_differences():
    assert paired_t([0.9, 0.8], [0.9, 0.8]) == (0.0, 1.0)
    t, p = paired_t([0.9, 0.8, 0.7], [0.8, 0.7, 0.6])  # every difference +0.1
    assert (t, p) == (math.inf, 0.0)
    assert all(math.isnan(v) for v in paired_t([0.9], [0.8]))


@pytest.mark.parametrize(
    "d", [[0.3, -0.1, 0.25, 0.4, -0.05, 0.15], [1.0, 2.0, 3.0, 4.0, 5.0], [-0.7, 0.2, -0.35, 0.11, -0.9, 0.6, -0.4]]
)
def test_wilcoxon_matches_scipy_exact_without_ties(d):
    p, n = wilcoxon_exact(d, [0.0] * len(d))
    assert n == len(d)
    assert p == pytest.approx(st.wilcoxon(d, method="exact").pvalue, rel=1e-12)


def test_wilcoxon_with_ties_matches_permutation_test():
    # Tied magnitudes (accuracies share a denominator): compare with scipy's exact
    # sign-flip permutation test of the mid-rank signed-rank statistic.
    d = np.array([1, 1, 2, -2, 3, 3, 4]) / 36

    def w_plus(x):
        ranks = st.rankdata(np.abs(x))
        return np.sum(ranks * (x > 0), axis=-1)

    ref = st.permutation_test((d,), w_plus, permutation_type="samples", n_resamples=np.inf, alternative="two-sided")
    p, n = wilcoxon_exact(d, np.zeros_like(d))
    assert n == 7
    assert p == pytest.approx(ref.pvalue, rel=1e-12)


def test_wilcoxon_closed_forms():
    # All n differences of one sign: only the all-plus and all-minus patterns are as
    # extreme, p = 2 / 2**n, ties or not; zeros are dropped first.
    assert wilcoxon_exact([0.9, 0.9, 0.95, 0.97, 0.99], [0.8, 0.8, 0.9, 0.9, 0.9]) == (pytest.approx(2 / 32), 5)
    assert wilcoxon_exact([0.5, 0.6, 0.7, 0.8], [0.5, 0.5, 0.5, 0.5]) == (pytest.approx(2 / 8), 3)
    assert wilcoxon_exact([0.5, 0.6], [0.5, 0.6]) == (1.0, 0)
    # 0.3 - 0.2 and 0.2 - 0.1 differ by an ulp in floats; they must count as a tie.
    p, _ = wilcoxon_exact([0.3, 0.2, 0.5], [0.2, 0.1, 0.5])
    assert p == pytest.approx(2 / 4)


def test_paired_rejects_mismatched_or_bad_samples():
    with pytest.raises(ValueError, match="equal lengths"):
        paired([0.1, 0.2], [0.1])
    with pytest.raises(ValueError, match="nan"):
        mean_ci([0.1, float("nan")])


# --- a tiny fake grid and trainer -----------------------------------------------------------

LRS = (0.001, 0.01, 0.1)


def fake_grid(name: str, seeds: int = 4) -> Grid:
    models = {
        "c-good-val": ModelSpec("c-good-val", CLASSICAL, "mlp"),
        "c-good-test": ModelSpec("c-good-test", CLASSICAL, "mlp", {"width": 2}),
        "h": ModelSpec("h", HYBRID, "hyb"),
        "h-noent": ModelSpec("h-noent", HYBRID, "hyb", {"entangling": False}, ablation_of="h"),
        "twin": ModelSpec("twin", CLASSICAL, "twin", twin_of="h"),
    }
    return Grid(
        name=name,
        datasets=(DatasetSpec("toy", "moons", tuple(models)),),
        models=MappingProxyType(models),
        trials=tuple(MappingProxyType({"lr": lr}) for lr in LRS),
        base=MappingProxyType({"epochs": 2}),
        seeds=seeds,
    )


class TestSplitGuard(dict):
    """fit()'s metrics; reading test accuracy of a tuning run fails the test."""

    __test__ = False

    def __init__(self, data, tuning):
        super().__init__(data)
        self.tuning = tuning

    def __getitem__(self, k):
        if self.tuning and k == "test_accuracy":
            raise AssertionError("a tuning trial read the test accuracy")
        return super().__getitem__(k)

    def get(self, k, default=None):
        return self[k] if k in self else default

    def items(self):
        raise AssertionError("metrics must be read field by field")


def fake_train(calls: list | None = None, tune_seed: int = 1000):
    """Validation accuracy peaks at lr=0.01 while test accuracy peaks at lr=0.1, so a
    protocol that peeked at the test split would pick another trial."""

    def train(config: dict):
        if calls is not None:
            calls.append(config)
        lr, seed, model = config["lr"], config["seed"], config["model"]
        val = {0.001: 0.80, 0.01: 0.90, 0.1: 0.70}[lr]
        test = {0.001: 0.60, 0.01: 0.75, 0.1: 0.99}[lr]
        # c-good-val: best validation, worse test than c-good-test.
        if config.get("width") == 2:
            val, test = val - 0.05, test + 0.1
        if model == "hyb":
            val, test = val - 0.02, test - 0.03 - (0.02 if config.get("entangling") is False else 0.0)
        noise = 0.01 * ((seed * 7 + sum(map(ord, model))) % 5)
        metrics = {
            "val_accuracy": val + noise,
            "test_accuracy": test + noise,
            "n_params": {"mlp": 100, "hyb": 30, "twin": 31}[model] + config.get("width", 0),
            "train_seconds": 0.5 + 0.1 * seed,
            "inference_seconds": 0.01,
            "device": config["device"],
            "epochs_run": config["epochs"],
        }
        return TestSplitGuard(metrics, tuning=seed == tune_seed)

    return train


@pytest.fixture(autouse=True)
def fresh_memory(monkeypatch):
    monkeypatch.setattr(run_mod, "_seen", {})


def run_grid(g: Grid, train) -> list[dict]:
    records = {}
    for key in case_keys(grid=g):
        records[key] = run_case(key, "cpu", records=records, train=train, grid=g)
    return list(records.values())


# --- tuning protocol ------------------------------------------------------------------------


def test_tuning_records_hold_validation_only_and_finals_use_best_validation_trial():
    g = fake_grid("t1")
    recs = run_grid(g, fake_train())
    tune = [r for r in recs if r["phase"] == "tune"]
    final = [r for r in recs if r["phase"] == "seed"]
    assert len(tune) == 5 * len(LRS) and len(final) == 5 * g.seeds
    assert all("test_accuracy" not in r and r["seed"] == g.tune_seed for r in tune)
    # lr=0.01 (trial 1) has the best validation accuracy; lr=0.1 the best test accuracy.
    assert {r["chosen_trial"] for r in final} == {1}
    assert {r["config"]["lr"] for r in final} == {0.01}
    assert sorted({r["seed"] for r in final}) == list(range(g.seeds))


def test_every_model_gets_the_same_tuning_budget():
    for grid in (get_grid("quick"), get_grid("full"), fake_grid("t2")):
        keys = case_keys(grid=grid)
        assert len(keys) == len(set(keys))
        per_model: dict[tuple[str, str], int] = {}
        for k in keys:
            c = parse_key(k)
            assert c.key == k
            per_model[(c.dataset, c.model)] = per_model.get((c.dataset, c.model), 0) + (c.phase == "tune")
        assert set(per_model.values()) == {len(grid.trials)}
    quick = get_grid("quick")
    assert quick.seeds >= 5
    assert {quick.model(m).kind for d in quick.datasets for m in d.models} == {CLASSICAL, HYBRID}


def test_best_models_are_picked_by_validation_not_test():
    (d,) = summarise(run_grid(fake_grid("t3"), fake_train()))
    # c-good-test has the higher mean test accuracy, c-good-val the higher validation.
    assert d.models["c-good-test"].test.mean > d.models["c-good-val"].test.mean
    assert d.best_classical == "c-good-val"
    assert d.best_hybrid == "h"
    assert (d.headline.a, d.headline.b) == ("h", "c-good-val")
    seeds = d.headline.seeds
    ref = st.ttest_rel(
        [d.models["h"].finals[s]["test_accuracy"] for s in seeds],
        [d.models["c-good-val"].finals[s]["test_accuracy"] for s in seeds],
    )
    assert d.headline.test.t_p == pytest.approx(ref.pvalue, rel=1e-10)
    (abl,) = d.ablations
    assert (abl.a, abl.b) == ("h", "h-noent")
    assert abl.test.mean_diff == pytest.approx(0.02)


# --- resume ---------------------------------------------------------------------------------


def test_final_seed_reads_stored_trials_instead_of_retraining():
    g = fake_grid("t4")
    calls: list = []
    train = fake_train(calls)
    stored = [run_case(f"classifiers/t4/toy/h/tune={i}", "cpu", train=train, grid=g) for i in range(len(LRS))]
    run_mod._seen.clear()  # a new process: only the stored records remain
    calls.clear()
    rec = run_case("classifiers/t4/toy/h/seed=2", "cpu", records=stored, train=train, grid=g)
    assert len(calls) == 1 and calls[0]["seed"] == 2
    assert rec["tuning_rerun"] == [] and rec["chosen_trial"] == 1
    # Without the stored trials they are trained again, and the record says so.
    run_mod._seen.clear()
    calls.clear()
    rec = run_case("classifiers/t4/toy/h/seed=3", "cpu", train=train, grid=g)
    assert len(calls) == len(LRS) + 1
    assert rec["tuning_rerun"] == [f"classifiers/t4/toy/h/tune={i}" for i in range(len(LRS))]


def test_interrupted_run_resumes_without_repeating_finished_cases(tmp_path):
    g = fake_grid("t5", seeds=2)
    keys = case_keys(grid=g)
    train = fake_train()
    ran: list[str] = []

    def dies_after(n):
        def run(key, device, *, records):
            if len(ran) == n:
                raise KeyboardInterrupt  # the process is stopped mid-benchmark
            ran.append(key)
            return run_case(key, device, records=records, train=train, grid=g)

        return run

    log = ResultLog(tmp_path, "classifiers.jsonl")
    with pytest.raises(KeyboardInterrupt):
        run_cases(keys, log, "cpu", run=dies_after(7))
    with open(log.path, "ab") as fh:
        fh.write(b'{"key": "half-writ')  # a line cut off by the kill
    run_mod._seen.clear()
    first = list(ran)
    log = ResultLog(tmp_path, "classifiers.jsonl")
    assert list(log.records) == first and log.bad_lines == 1
    assert run_cases(keys, log, "cpu", run=dies_after(len(keys) + 1)) == []
    assert ran[len(first) :] == keys[len(first) :]  # nothing finished ran twice
    lines = [json.loads(x) for x in log.path.read_text().splitlines() if x.startswith('{"key": "classifiers')]
    assert [r["key"] for r in lines] == keys
    assert all(r["tuning_rerun"] == [] for r in lines if r["phase"] == "seed")


def test_a_failed_case_is_not_written_and_is_retried(tmp_path):
    g = fake_grid("t6", seeds=1)
    keys = case_keys(grid=g)[:2]
    log = ResultLog(tmp_path, "classifiers.jsonl")

    def flaky(key, device, *, records):
        if key == keys[0]:
            raise RuntimeError("out of memory")
        return run_case(key, device, records=records, train=fake_train(), grid=g)

    assert run_cases(keys, log, "cpu", run=flaky) == [keys[0]]
    assert list(ResultLog(tmp_path, "classifiers.jsonl").records) == [keys[1]]


# --- report and plots -----------------------------------------------------------------------


def test_render_reports_the_numbers_and_states_the_direction(tmp_path):
    recs = run_grid(fake_grid("t7", seeds=5), fake_train())
    (d,) = summarise(recs)
    md = render(recs)
    assert "### toy" in md and "## Findings" in md and "arXiv:2403.07059" in md
    ci = d.models["c-good-val"].test
    assert f"{ci.mean:.3f} ± {ci.half_width:.3f}" in md
    # The hybrid trails the validation-best classical model in the fake numbers.
    assert "the best classical model (c-good-val" in md and "beats the best hybrid (h" in md
    assert "Removing entanglement from h (h-noent) changed test accuracy by -0.020" in md
    seeds = d.headline.seeds
    ref = st.ttest_rel(*([d.models[m].finals[s]["test_accuracy"] for s in seeds] for m in ("h", "c-good-val")))
    assert f"paired t-test p={ref.pvalue:.2g}" in md
    assert render([]).startswith("# Classifier benchmark")


def test_plot_writes_two_pngs(tmp_path):
    paths = plot(run_grid(fake_grid("t8", seeds=2), fake_train()), tmp_path)
    assert sorted(p.name for p in paths) == ["classifiers_accuracy_vs_params.png", "classifiers_accuracy_vs_time.png"]
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in paths)
    assert plot([], tmp_path) == []


def test_bad_keys_say_what_is_expected():
    with pytest.raises(ValueError, match="case_keys"):
        parse_key("classifiers/quick/moons/mlp")
    with pytest.raises(KeyError, match="no model"):
        run_case("classifiers/t9/toy/nope/tune=0", "cpu", train=fake_train(), grid=fake_grid("t9"))
