"""``hybrid bench --suite qec`` in-process on tiny sizes: the records it writes, the checks
against stim and the closed form, the report, the plots and resume. No timing asserts."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("stim")
pytest.importorskip("pymatching")

from benchmarks import bench  # noqa: E402
from benchmarks import qec as qec_suite  # noqa: E402
from hybrid.cli import main  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SHOTS = 150


def _lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def qec_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("qec") / "bench"
    argv = ["bench", "--suite", "qec", "--quick", "--qec-shots", str(SHOTS), "--device", "cpu", "--out", str(out)]
    code = main(argv)
    return argv, out, code, _lines(out / "bench.jsonl")


def test_qec_suite_records_and_checks(qec_run):
    _, out, code, records = qec_run
    assert code == 0
    by_case = {r["case"]: r for r in records}
    assert list(by_case) == qec_suite.units(qec_suite.PRESETS["quick"])
    for name, rec in by_case.items():
        assert rec["suite"] == "qec" and rec["key"] == f"qec/{name}/quick-s{SHOTS}/cpu" and rec["rows"], name
        for row in rec["rows"]:
            assert row["ours"]["shots"] == SHOTS and row["stim"]["shots"] == qec_suite.STIM_SHOTS["quick"]
            for side in ("ours", "stim"):
                lo, hi = row[side]["interval"]
                assert lo - 1e-12 <= row[side]["rate"] <= hi and row[side]["seconds_per_shot"] > 0
            assert row.get("check", {}).get("passed", True), (name, row)

    threshold = by_case["threshold_repetition_d3"]["rows"]
    assert [r["p"] for r in threshold] == list(qec_suite.THRESHOLD["quick"][0][3])
    for row in threshold:  # same circuit on both sides, checked within the joint 99% interval
        assert row["noise"] == row["stim_noise"] == "depolarizing" and row["n_qubits"] == 5
        assert row["check"]["tol"] == pytest.approx(qec_suite.joint_99(row["ours"], row["stim"]))
        assert abs(row["ours"]["rate"] - row["stim"]["rate"]) <= row["check"]["tol"]
    for name in qec_suite.NON_PAULI:  # exact damping never flips a repetition code's |0> data; the twirl does
        for row in by_case[name]["rows"]:
            assert row["noise"] == name and "Pauli twirl" in row["stim_noise"] and "twirl" in row["decoder"]
            assert row["ours"]["errors"] == 0 and row["stim"]["errors"] > 0 and row["check"]["passed"]
    coherent = by_case["coherent_rounds"]["rows"]
    assert [r["rounds"] for r in coherent] == list(qec_suite.COHERENT["quick"][0][3])
    assert all(r["noise"] == "coherent_overrotation" and "check" not in r for r in coherent)


def test_qec_report_plots_and_resume(qec_run, monkeypatch, capsys):
    argv, out, _, first = qec_run
    report = (out / "report.md").read_text()
    assert "## QEC: memory experiments, ours vs stim" in report
    for text in ("Logical error rate vs physical error rate p", "| joint 99% |", "Amplitude damping and thermal",
                 "Coherent over-rotation (ours) vs its Pauli twirl", "Wall time per shot", "| ours / stim |"):  # fmt: skip
        assert text in report, text
    assert "## Errors and failed checks" not in report
    for name in (qec_suite.THRESHOLD_PNG, qec_suite.NOISE_PNG):
        assert (out / name).read_bytes()[:8] == PNG_MAGIC and f"]({name})" in report

    calls: list = []
    real = qec_suite.run_unit
    monkeypatch.setattr(qec_suite, "run_unit", lambda *a, **k: calls.append(a) or real(*a, **k))
    capsys.readouterr()
    assert main(argv) == 0
    assert calls == []
    assert f"resumed {len(first)} cases" in capsys.readouterr().out
    assert _lines(out / "bench.jsonl") == first


def test_failed_qec_check_is_an_error(tmp_path, monkeypatch):
    real = qec_suite.run_unit

    def failing(name, sizes, device):
        rows = real(name, sizes, device)
        rows[0]["check"]["passed"] = False  # as if ours and stim had disagreed
        return rows

    monkeypatch.setattr(qec_suite, "units", lambda sizes: ["threshold_repetition_d3"])
    monkeypatch.setattr(qec_suite, "run_unit", failing)
    out = tmp_path / "bad"
    assert main(["bench", "--suite", "qec", "--quick", "--qec-shots", "20", "--device", "cpu", "--out", str(out)]) == 1
    assert "failed its check" in (out / "report.md").read_text()


def test_qec_units_per_preset_and_order():
    def labels(preset: str) -> list[str]:
        return [u.label for u in bench.plan(("qec",), bench.PRESETS[preset], "cpu")]

    assert "qec" in bench.SUITES
    assert labels("quick") == ["threshold_repetition_d3", "amplitude_damping", "thermal", "coherent_rounds"]
    assert labels("default") == ["threshold_repetition_d3", "threshold_repetition_d5", "amplitude_damping", "thermal",
                                 "coherent_rounds"]  # fmt: skip
    assert labels("full")[:4] == ["threshold_repetition_d3", "threshold_repetition_d5", "threshold_repetition_d7",
                                  "threshold_surface_d3"]  # fmt: skip
    # The default preset stays on repetition codes (the surface code is --full only).
    assert all(code == "repetition" for code, *_ in qec_suite.THRESHOLD["default"] + qec_suite.NON_PAULI_POINTS["default"])
    order = [u.suite for u in bench.plan(bench.SUITES, bench.PRESETS["quick"], "cpu")]
    assert max(i for i, s in enumerate(order) if s == "noise") < order.index("qec")
    assert max(i for i, s in enumerate(order) if s == "qec") < order.index("engines")


def test_joint_interval_and_unknown_unit():
    a = {"errors": 10, "shots": 1000}
    b = {"errors": 1000, "shots": 100000}
    assert 0.008 < qec_suite.joint_99(a, b) < 0.01  # 2.576 * sqrt(0.01 * 0.99 * 1.01e-3) + 1e-3
    with pytest.raises(ValueError, match="unknown qec unit"):
        qec_suite.run_unit("color_code", qec_suite.PRESETS["quick"], "cpu")
