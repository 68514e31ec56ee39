"""``hybrid bench --suite noise`` in-process on tiny sizes: the records it writes, the checks
against the anchors and closed forms, the report, the plots and resume. No timing asserts."""

from __future__ import annotations

import json

import pytest

from benchmarks import bench
from benchmarks import noise as noise_suite
from hybrid.cli import main

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def noise_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("noise") / "bench"
    argv = ["bench", "--suite", "noise", "--quick", "--dm-sizes", "2", "--trajectory-sizes", "3", "--shots", "64",
            "--repeats", "1", "--device", "cpu", "--out", str(out)]  # fmt: skip
    code = main(argv)
    return argv, out, code, _lines(out / "bench.jsonl")


def test_noise_suite_records_physics_and_timings(noise_run):
    _, out, code, records = noise_run
    assert code == 0
    by_case = {r["case"]: r for r in records}
    assert set(by_case) == {*noise_suite.PHYSICS, "dm_layered", "trajectories_layered_s64"}
    for name in noise_suite.PHYSICS:
        rec = by_case[name]
        assert rec["suite"] == "noise" and rec["key"] == f"noise/{name}/quick/cpu" and rec["rows"], name
        for row in rec["rows"]:
            assert row.get("check", {}).get("passed", True), (name, row)
    for row in by_case["ghz"]["rows"]:  # exact density matrix against the closed form
        assert abs(row["density_matrix"] - row["closed_form"]) < 1e-10
    grover = by_case["grover"]["rows"]
    assert {r["model"] for r in grover} == {"depolarizing", "thermal"}
    for row in grover:
        assert 0 < row["F"] <= 1 and row["locations"] > 0 and 1 / 2 ** row["n"] < row["success"] <= row["ideal"] + 1e-12
    noisy = [r for r in grover if r["model"] == "depolarizing"]
    assert [r["success"] for r in noisy] == sorted((r["success"] for r in noisy), reverse=True)  # more noise, less success
    backend = by_case["backend"]["rows"]
    assert all(r["backend"] == noise_suite.BACKEND and r["check"]["max_abs_diff"] < 1e-8 for r in backend)

    dm = by_case["dm_layered"]
    assert dm["n"] == 2 and set(dm["engines"]) == {"ours_c128", "aer_density_matrix", "default.mixed"}
    for engine in ("aer_density_matrix", "default.mixed"):
        check = dm["engines"][engine]["check"]
        assert check["passed"] is True and check["max_abs_diff"] < 1e-9, (engine, check)
    traj = by_case["trajectories_layered_s64"]
    assert traj["shots"] == 64 and set(traj["engines"]) == {"ours_c128", "ours_c64", "aer_statevector"}
    check = traj["engines"]["aer_statevector"]["check"]
    assert check["passed"] is True and check["shots"] == 64 and check["max_z_score"] <= 5
    for rec in (dm, traj):
        for engine, slot in rec["engines"].items():
            assert "median_s" in slot and len(slot["times_s"]) == 1, (engine, slot)


def test_noise_report_plots_and_resume(noise_run, monkeypatch, capsys):
    argv, out, _, first = noise_run
    report = (out / "report.md").read_text()
    assert "## Noise: noisy algorithms and noisy-simulation timings" in report
    for text in ("GHZ_n &lt;X...X>", "Grover success probability", "QAOA MaxCut", "H2 VQE energy",
                 "fake IBM backend", "| ours dm c128 | aer density_matrix | default.mixed |", "| c128/aer |"):  # fmt: skip
        assert text in report, text
    assert "## Errors and failed checks" not in report
    for png in (out / "noise_success.png", out / "noise_time_vs_qubits.png"):
        assert png.read_bytes()[:8] == PNG_MAGIC and f"]({png.name})" in report

    # Second run: nothing is measured again and nothing is lost.
    calls: list = []
    for name in ("run_physics", "run_engine"):  # a physics unit, or one engine timed in a timing case
        real = getattr(noise_suite, name)
        monkeypatch.setattr(noise_suite, name, lambda *a, real=real, **k: calls.append(a) or real(*a, **k))
    capsys.readouterr()
    assert main(argv) == 0
    assert calls == []
    assert f"resumed {len(first)} cases" in capsys.readouterr().out
    assert _lines(out / "bench.jsonl") == first


def test_failed_physics_check_is_an_error(tmp_path, monkeypatch):
    bad = [{"case": "GHZ n=2", "noise": "made up", "check": {"passed": False, "abs_diff": 0.5}}]
    monkeypatch.setattr(noise_suite, "PHYSICS", ("ghz",))
    monkeypatch.setitem(noise_suite._PHYSICS_FNS, "ghz", lambda level, device: bad)
    out = tmp_path / "bad"
    code = main(["bench", "--suite", "noise", "--quick", "--dm-sizes", "1", "--trajectory-sizes", "1", "--shots", "8",
                 "--repeats", "1", "--device", "cpu", "--out", str(out)])  # fmt: skip
    assert code == 1
    assert "failed its check" in (out / "report.md").read_text()


def test_noise_sizes_per_preset_and_order():
    def labels(preset: str) -> list[str]:
        return [u.label for u in bench.plan(("noise",), bench.PRESETS[preset], "cpu")]

    assert "noise" in bench.SUITES
    physics = list(noise_suite.PHYSICS)
    assert labels("quick") == physics + ["density matrix n=4", "density matrix n=6", "trajectories n=8 shots=128",
                                         "trajectories n=10 shots=128"]  # fmt: skip
    assert labels("default")[-4:] == ["density matrix n=6", "density matrix n=8", "trajectories n=10 shots=256",
                                      "trajectories n=12 shots=256"]  # fmt: skip
    assert labels("full")[-6:] == ["density matrix n=8", "density matrix n=10", "density matrix n=12",
                                   "trajectories n=16 shots=512", "trajectories n=18 shots=512",
                                   "trajectories n=20 shots=512"]  # fmt: skip
    # The noise units run Aer: after everything that does not, just before the statevector cases.
    order = [u.suite for u in bench.plan(bench.SUITES, bench.PRESETS["quick"], "cpu")]
    first_noise = order.index("noise")
    assert all(s != "noise" for s in order[:first_noise]) and "algorithms" in order[:first_noise]
    assert order.index("engines") > max(i for i, s in enumerate(order) if s == "noise")
