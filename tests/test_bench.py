"""``hybrid bench`` in-process on tiny settings: files written, resume, error rows, exit codes.

The engine cases are real (ours against the anchors at 2-3 qubits, every state and
gradient checked against the anchors by the suites themselves); the algorithm and
classifier suites are stand-in modules that count their calls, so resume and the error
paths are checked without the cost of the real suites (those have their own tests).
"""

from __future__ import annotations

import json
import sys
import types

import pytest

from benchmarks import anchors, bench, pennylane_device, statevector
from hybrid.cli import main

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _count_calls(monkeypatch, module, name: str) -> list:
    calls: list = []
    real = getattr(module, name)

    def spy(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, spy)
    return calls


def test_engine_suites_write_log_report_plots_and_resume(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(bench.batched, "BATCH", 8)  # Lightning's TorchLayer loops over samples: keep it short
    monkeypatch.setitem(sys.modules, "torchquantum", None)  # not importable, even where it is installed
    out = tmp_path / "bench"
    argv = ["bench", "--suite", "engines,gradients", "--sizes", "3", "--grad-sizes", "2", "--batch-sizes", "2",
            "--repeats", "1", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    first = _lines(out / "bench.jsonl")
    suites = sorted((r["suite"], r["case"], r["n"]) for r in first)
    assert suites == [("batched", "angle_sel2_layer", 2), ("gradients", "sel2_sum_z", 2),
                      ("statevector", "qft", 3), ("statevector", "random_layered", 3)]  # fmt: skip
    for rec in first:
        assert rec["run"]["command"].startswith("hybrid bench --suite engines,gradients")
        for engine, slot in rec["engines"].items():
            if engine == "torchquantum_backprop":  # the optional anchor: skipped politely, not an error
                assert slot == {"skipped": anchors.TORCHQUANTUM_MISSING}
                continue
            assert "median_s" in slot, (engine, slot)
            # Each suite compares every engine with an anchor (Qiskit/PennyLane) before timing.
            assert slot.get("check", {}).get("passed", True), (engine, slot["check"])
    sv = next(r for r in first if r["case"] == "qft")
    assert set(sv["floor_s"]) == {"complex64", "complex128"}
    report = (out / "report.md").read_text()
    assert "| qft | 3 |" in report and "floor c64" in report and "Batched layer" in report
    assert f"skip: TorchQuantum bp (n=2): {anchors.TORCHQUANTUM_MISSING}" in report
    assert "## Errors and failed checks" not in report
    assert "hybrid bench --suite engines,gradients" in report and sv["run"]["git"]["commit"][:12] in report
    for png in ("time_vs_qubits.png", "gradient_cost.png"):
        assert (out / png).read_bytes()[:8] == PNG_MAGIC
        assert f"]({png})" in report

    # Second run: nothing is measured again and nothing is lost.
    capsys.readouterr()
    calls = [_count_calls(monkeypatch, m, "run_case") for m in (statevector, bench.gradients, bench.batched)]
    assert main(argv) == 0
    assert calls == [[], [], []]
    assert "resumed 4 cases" in capsys.readouterr().out
    assert _lines(out / "bench.jsonl") == first
    assert "| qft | 3 |" in (out / "report.md").read_text()


def test_device_suite_checks_resumes_and_reports(tmp_path, monkeypatch, capsys):
    """hybrid.qubit against lightning.qubit and default.qubit through PennyLane, at 2 qubits."""
    out = tmp_path / "dev"
    argv = ["bench", "--suite", "device", "--forward-sizes", "2", "--adjoint-sizes", "2", "--shift-sizes", "2",
            "--repeats", "1", "--device", "cpu", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    first = _lines(out / "bench.jsonl")
    methods = {r["case"]: r["diff_method"] for r in first}
    assert methods == {"sel2_forward": "none", "sel2_adjoint": "adjoint", "sel2_param_shift": "parameter-shift"}
    for rec in first:
        assert rec["suite"] == "device" and rec["n"] == 2 and rec["key"] == f"device/{rec['case']}/n=2/cpu"
        assert set(rec["engines"]) == {"ours_hybrid.qubit", "lightning.qubit", "default.qubit"}
        for engine, slot in rec["engines"].items():
            assert "median_s" in slot and len(slot["times_s"]) == 1, (engine, slot)
            # hybrid.qubit's value (and gradient) were compared with default.qubit's before timing.
            check = slot["check"]
            assert check["passed"] is True and check["reference"].startswith("default.qubit"), (engine, check)
            assert ("grad_max_abs_diff" in check) == (rec["case"] != "sel2_forward")
        assert set(rec["ratio_to_fastest_anchor"]) == {"ours_hybrid.qubit"}
        assert rec["fastest_anchor"] in ("lightning.qubit", "default.qubit")
    report = (out / "report.md").read_text()
    assert "## PennyLane device: hybrid.qubit vs lightning.qubit and default.qubit" in report
    for title in ("QNode forward", "adjoint gradient", "parameter-shift gradient"):
        assert f"PennyLane device, {title}:" in report
    assert "| n | hybrid.qubit | lightning.qubit | default.qubit | best anchor | ours/best | checks |" in report
    assert report.count("3/3 ok |") == 3 and "## Errors and failed checks" not in report

    # Second run: the three cases are resumed, not measured again, and still reported.
    capsys.readouterr()
    calls = _count_calls(monkeypatch, pennylane_device, "run_case")
    assert main(argv) == 0
    assert calls == []
    assert "resumed 3 cases" in capsys.readouterr().out
    assert _lines(out / "bench.jsonl") == first
    assert (out / "report.md").read_text().count("3/3 ok | * |") == 3


def test_device_suite_sizes_per_preset():
    def labels(preset: str) -> list[str]:
        return [u.label for u in bench.plan(("device",), bench.PRESETS[preset], "cpu")]

    assert "device" in bench.SUITES  # part of the default `hybrid bench`
    assert labels("quick") == ["forward n=4", "forward n=8", "adjoint n=8", "shift n=4"]
    assert labels("default") == ["forward n=4", "forward n=8", "forward n=12", "adjoint n=8", "adjoint n=12",
                                 "shift n=4"]  # fmt: skip
    assert labels("full")[-4:] == ["shift n=4", "shift n=6", "shift n=8", "shift n=10"]
    assert "forward n=20" in labels("full") and "adjoint n=18" in labels("full")
    # The device units run after the gradient units and before anything that loads Aer.
    order = [u.suite for u in bench.plan(bench.SUITES, bench.PRESETS["quick"], "cpu")]
    assert order.index("device") > max(i for i, s in enumerate(order) if s == "gradients")
    assert order.index("device") < order.index("engines")


def _fake_torchquantum() -> types.ModuleType:
    """Just enough of TorchQuantum's API (gate conventions as in its ``functional``) to run
    :func:`benchmarks.anchors.torchquantum_layer_fn` where the real package is absent."""
    import torch

    tq = types.ModuleType("torchquantum")
    tqf = types.ModuleType("torchquantum.functional")

    class QuantumDevice:
        def __init__(self, n_wires, bsz=1, device="cpu"):
            self.n_wires = n_wires
            states = torch.zeros(bsz, 2**n_wires, dtype=torch.complex64, device=device)
            states[:, 0] = 1
            self.states = states.view(bsz, *[2] * n_wires)

    def apply(qdev, mat, wire):  # mat (2, 2) or one per sample (B, 2, 2)
        psi = qdev.states.movedim(wire + 1, -1).unsqueeze(-1)
        if mat.dim() == 3:
            mat = mat.view(mat.shape[0], *[1] * (qdev.n_wires - 1), 2, 2)
        qdev.states = (mat @ psi).squeeze(-1).movedim(-1, wire + 1)

    def rx(qdev, wires, params):
        half = params.reshape(-1).to(torch.complex64) / 2
        c, s = torch.cos(half), -1j * torch.sin(half)
        apply(qdev, torch.stack([torch.stack([c, s], -1), torch.stack([s, c], -1)], -2), wires)

    def rot(qdev, wires, params):
        phi, theta, omega = params.reshape(3).to(torch.complex64)
        co, si = torch.cos(theta / 2), torch.sin(theta / 2)
        mat = torch.stack([
            torch.stack([torch.exp(-0.5j * (phi + omega)) * co, -torch.exp(0.5j * (phi - omega)) * si]),
            torch.stack([torch.exp(-0.5j * (phi - omega)) * si, torch.exp(0.5j * (phi + omega)) * co]),
        ])  # fmt: skip
        apply(qdev, mat, wires)

    def cnot(qdev, wires):
        control, target = wires
        on = torch.tensor([False, True]).view([1] * (control + 1) + [2] + [1] * (qdev.n_wires - control - 1))
        qdev.states = torch.where(on, qdev.states.flip(target + 1), qdev.states)

    class PauliZ:
        pass

    class MeasureAll:
        def __init__(self, obs):
            assert obs is PauliZ

        def __call__(self, qdev):
            probs = qdev.states.abs() ** 2
            dims = range(1, qdev.n_wires + 1)
            marginals = [probs.sum([d for d in dims if d != w + 1]) for w in range(qdev.n_wires)]
            return torch.stack([m[:, 0] - m[:, 1] for m in marginals], -1)

    tqf.rx, tqf.rot, tqf.cnot = rx, rot, cnot
    tq.functional, tq.QuantumDevice, tq.PauliZ, tq.MeasureAll = tqf, QuantumDevice, PauliZ, MeasureAll
    return tq


def test_torchquantum_anchor_is_timed_and_checked_when_it_imports(tmp_path, monkeypatch):
    tq = _fake_torchquantum()
    monkeypatch.setitem(sys.modules, "torchquantum", tq)
    monkeypatch.setitem(sys.modules, "torchquantum.functional", tq.functional)
    monkeypatch.setattr(bench.batched, "BATCH", 8)
    out = tmp_path / "tq"
    argv = ["bench", "--suite", "gradients", "--grad-sizes", "1", "--batch-sizes", "3", "--repeats", "1",
            "--device", "cpu", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    (rec,) = [r for r in _lines(out / "bench.jsonl") if r["suite"] == "batched"]
    slot = rec["engines"]["torchquantum_backprop"]
    assert "median_s" in slot and slot["check"]["passed"] is True, slot
    assert slot["check"]["tol"] == 1e-4  # TorchQuantum runs in complex64
    assert "| 3 |" in (out / "report.md").read_text() and "skip: TorchQuantum" not in (out / "report.md").read_text()


def _fake_algorithm(calls: list) -> types.ModuleType:
    module = types.ModuleType("fake_algorithm")

    def run(quick: bool, device: str) -> list[dict]:
        calls.append((quick, device))
        return [{"algorithm": "fake", "case": "n=2", "qubits": 2, "two_qubit_gates": 1, "resources": "1 query",
                 "quality": "P=1", "quantum_s": 0.002, "classical": "brute force", "classical_quality": "exact",
                 "classical_s": 0.001, "device": device}]  # fmt: skip

    module.run = run
    return module


def test_missing_suite_and_failing_anchor_are_error_rows(tmp_path, monkeypatch, capsys):
    calls: list = []
    monkeypatch.setitem(sys.modules, "benchmarks.algorithms.fakeok", _fake_algorithm(calls))
    monkeypatch.setattr(bench, "ALGORITHMS", ("fakeok", "notlanded"))

    def no_aer(n, gates):
        raise ModuleNotFoundError("No module named 'qiskit_aer'")

    monkeypatch.setattr(anchors, "aer_state_fn", no_aer)
    out = tmp_path / "b"
    argv = ["bench", "--suite", "algorithms,engines", "--sizes", "2", "--repeats", "1", "--out", str(out), "--json"]
    assert main(argv) == 1
    summary = json.loads(capsys.readouterr().out)  # --json: stdout holds only the summary
    assert summary["exit_code"] == 1 and summary["resumed"] == 0 and summary["report"].endswith("report.md")
    assert any("notlanded is not in this checkout" in e for e in summary["errors"])
    assert any("aer: ModuleNotFoundError" in e for e in summary["errors"])
    assert calls == [(True, "cpu")]
    records = {r["key"]: r for r in _lines(out / "bench.jsonl")}
    assert records["algorithms/notlanded/quick/cpu"]["missing"] is True
    qft = records["statevector/qft/n=2/cpu"]
    assert "error" in qft["engines"]["aer"] and "median_s" in qft["engines"]["ours_c64"]
    report = (out / "report.md").read_text()
    assert "## Errors and failed checks" in report and "qiskit_aer" in report
    assert "| n=2 | 2 | 1 | 1 query | P=1 | 2.0 ms | brute force | exact | 1.0 ms | cpu | 2x |" in report

    # Rerun: finished units are kept, the error row is tried again (and fails again).
    assert main(argv) == 1
    summary = json.loads(capsys.readouterr().out)
    assert calls == [(True, "cpu")]
    assert summary["resumed"] == 3  # fakeok and the two statevector cases


def test_classifier_suite_runs_each_case_once(tmp_path, monkeypatch):
    seen: list = []
    fake = types.ModuleType("benchmarks.classifiers")
    fake.case_keys = lambda quick: ["a", "b"] if quick else ["full"]

    def run_case(key, device, records=None):
        seen.append((key, sorted(records)))
        return {"key": key, "accuracy": 0.5 + 0.25 * len(seen)}

    fake.run_case = run_case
    fake.render = lambda recs: "# Fake classifiers\n\n" + ", ".join(f"{r['key']}={r['accuracy']}" for r in recs)

    def plot(recs, out_dir):
        path = out_dir / "classifiers_fake.png"
        path.write_bytes(PNG_MAGIC)
        return [path]

    fake.plot = plot
    monkeypatch.setitem(sys.modules, "benchmarks.classifiers", fake)
    out = tmp_path / "c"
    argv = ["bench", "--suite", "classifiers", "--quick", "--out", str(out)]
    assert main(argv) == 0
    # The second case is given the first one's record (final seeds read their tuning trials).
    assert seen == [("a", []), ("b", ["a"])]
    report = (out / "report.md").read_text()
    assert "## Fake classifiers" in report and "a=0.75, b=1.0" in report and "](classifiers_fake.png)" in report
    assert main(argv) == 0
    assert len(seen) == 2
    assert "Resumed from an earlier run: a, b." in (out / "report.md").read_text()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["bench", "--suite", "engines,nope"], "unknown suite nope"),
        (["bench", "--quick", "--full"], "not allowed with argument"),
        (["bench", "--sizes", "4,x"], "comma-separated qubit counts"),
        (["bench", "--device", "tpu"], "invalid choice"),
    ],
)
def test_bad_arguments_exit_2(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_out_that_is_a_file_exits_2(tmp_path, capsys):
    path = tmp_path / "report.txt"
    path.write_text("not a folder")
    with pytest.raises(SystemExit) as exc:
        main(["bench", "--out", str(path)])
    assert exc.value.code == 2
    assert "is a file; --out needs a folder" in capsys.readouterr().err


def test_half_written_last_line_is_ignored_and_sealed(tmp_path, monkeypatch, capsys):
    """A run killed in the middle of a write leaves a partial line; the rerun skips it."""
    calls: list = []
    monkeypatch.setitem(sys.modules, "benchmarks.algorithms.fakeok", _fake_algorithm(calls))
    monkeypatch.setattr(bench, "ALGORITHMS", ("fakeok",))
    out = tmp_path / "k"
    out.mkdir()
    (out / "bench.jsonl").write_text('{"key": "algorithms/fakeok/quick/cpu", "suite": "algo')
    assert main(["bench", "--suite", "algorithms", "--out", str(out)]) == 0
    assert calls == [(True, "cpu")]
    lines = (out / "bench.jsonl").read_text().splitlines()
    assert len(lines) == 2 and json.loads(lines[1])["rows"][0]["case"] == "n=2"
