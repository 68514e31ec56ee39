"""``hybrid bench`` as a sweep: ``--shard I/N``, ``--phase``, ``--report-only``, ``--workers``.

The classifier cases are real training runs of the quick grid, cut down with ``--seeds 2``
and ``--cases`` to a few models on ``moons`` (each run takes a fraction of a second), so
tuning -> finals is exercised end to end; the whole quick grid is the ``slow`` test.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks import bench, shards
from benchmarks.classifiers import run as classifier_run
from hybrid.cli import main

ROOT = Path(__file__).resolve().parent.parent
SMALL = ["--suite", "classifiers", "--quick", "--seeds", "2", "--cases", "*/moons/mlp/*,*/moons/vqc/*"]
# What must agree between two runs of one case (timings and host details may differ).
SAME = ("val_accuracy", "test_accuracy", "n_params", "epochs_run", "chosen_trial", "trial_val_accuracy", "config",
        "trial", "seed", "tuning_rerun")  # fmt: skip


def _lines(path: Path) -> list[dict]:
    return shards.read_records(path)


def _cases(path: Path) -> list[dict]:
    return [r for r in _lines(path) if not shards.is_bookkeeping(r["key"])]


def _results(records) -> dict[str, dict]:
    return {r["key"]: {f: r["result"].get(f) for f in SAME} for r in records}


def _cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GOMP_SPINCOUNT": "100000"}
    return subprocess.run([sys.executable, "-m", "hybrid.cli", "bench", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)  # fmt: skip


# --- slices ---------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 2, 3, 7, 64, 128])
def test_slices_are_disjoint_cover_every_case_and_are_balanced(count):
    units = bench.plan(bench.SUITES, bench.PRESETS["full"], "cpu")  # the full classifier grid included
    phases = {u.key: u.phase for u in units}
    assert len(phases) == len(units) > 1500 and shards.FINAL in phases.values()
    owner = shards.split(phases, count)
    assert set(owner) == set(phases) and set(owner.values()) <= set(range(count))
    for phase in (shards.TUNE, shards.FINAL):
        sizes = [sum(1 for k, i in owner.items() if i == s and phases[k] == phase) for s in range(count)]
        assert max(sizes) - min(sizes) <= 1, (phase, sizes)  # dealt out in turn
    # Deterministic: the order the keys come in does not matter, only the keys themselves.
    assert shards.split(dict(reversed(list(phases.items()))), count) == owner


def test_slice_of_a_key_is_fixed_by_its_hash():
    """The same keys give the same slices on every machine (SHA-256, not Python's salted hash)."""
    keys = [f"k{i}" for i in range(5)]
    assert shards.assign(keys, 2) == {"k0": 0, "k1": 0, "k2": 0, "k3": 1, "k4": 1}
    assert shards.assign(keys, 2) == shards.assign(keys[::-1], 2)


@pytest.mark.parametrize(
    "value, message",
    [
        ("0/0", "N must be at least 1"),
        ("3/2", "must be below N=2"),
        ("2/2", "must be below N=2"),
        ("x", "expected I/N"),
        ("1/", "expected I/N"),
        ("-1/2", "expected I/N"),
    ],
)
def test_bad_shard_values_exit_2(value, message, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["bench", f"--shard={value}"])
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--shard", "0/2", "--suite", "classifiers", "--quick"], "run every slice with --phase tune first"),
        (["--report-only", "--shard", "0/2"], "--report-only runs nothing"),
        (["--workers", "2", "--shard", "0/2"], "give --workers or --shard, not both"),
        (["--cases", "nothing/*", "--suite", "classifiers", "--quick"], "matches none of the selected cases"),
    ],
)
def test_bad_sweep_combinations_exit_2(argv, message, tmp_path, capsys):
    assert main(["bench", *argv, "--out", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / shards.SHARD_DIR).exists()  # nothing ran


def test_report_only_on_an_empty_folder_exits_2(tmp_path, capsys):
    assert main(["bench", "--report-only", "--out", str(tmp_path)]) == 2
    assert "holds no results to merge" in capsys.readouterr().err


# --- two shards against the serial run -------------------------------------------------------


@pytest.fixture(scope="module")
def small_runs(tmp_path_factory):
    """The cut-down quick grid run serially, and in 2 slices (tune round, then final round)."""
    base = tmp_path_factory.mktemp("sweep")
    serial, sharded = base / "serial", base / "sharded"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(classifier_run, "_seen", {})
        assert main(["bench", *SMALL, "--out", str(serial)]) == 0
        mp.setattr(classifier_run, "_seen", {})  # the slices must not see the serial run's trials
        for phase in ("tune", "final"):
            for i in range(2):
                assert main(["bench", *SMALL, "--out", str(sharded), "--shard", f"{i}/2", "--phase", phase]) == 0
        assert main(["bench", "--report-only", "--out", str(sharded)]) == 0
    return serial, sharded


def test_two_shards_and_report_only_give_the_serial_cases_and_results(small_runs):
    serial, sharded = small_runs
    serial_recs = _cases(serial / "bench.jsonl")
    assert len(serial_recs) == 8  # 2 models x (2 tuning trials + 2 final seeds)
    files = sorted(p.name for p in (sharded / shards.SHARD_DIR).iterdir())
    assert files == ["bench.0-of-2.jsonl", "bench.1-of-2.jsonl"]
    slice_keys = [{r["key"] for r in _cases(sharded / shards.SHARD_DIR / f)} for f in files]
    assert not slice_keys[0] & slice_keys[1] and all(len(k) == 4 for k in slice_keys)  # disjoint, 2 tune + 2 final
    merged = shards.merge(sharded)
    assert merged.complete and merged.slices == {2: {0, 1}}
    assert _results(merged.records) == _results(serial_recs)  # same cases, same metrics, same chosen trials
    finals = [r["result"] for r in merged.records if r["result"]["phase"] == "seed"]
    assert len(finals) == 4 and all(f["tuning_rerun"] == [] for f in finals)  # read the other slice's trials

    def table(path):  # the classifier report without the timing columns
        text = (path / "report.md").read_text()
        rows = [line.split("|") for line in text[text.index("Classifier") :].splitlines() if line.startswith("| ")]
        return [[c for c in row if " ms" not in c and " s " not in c] for row in rows]

    assert table(serial) == table(sharded)
    report = (sharded / "report.md").read_text()
    assert report.startswith("# hybrid bench report (merged)") and "2 of 2 slices of 2" in report
    assert "--shard 1/2 --phase final" in report and "## Missing" not in report


def test_report_only_names_missing_slices_and_resolves_duplicates(small_runs, tmp_path, capsys):
    _, sharded = small_runs
    out = tmp_path / "partial"
    shutil.copytree(sharded, out)
    (out / "report.md").unlink()
    gone = out / shards.SHARD_DIR / "bench.1-of-2.jsonl"
    lost = [r["key"] for r in _cases(gone)]
    gone.unlink()
    # A serial log with an error line and an older good line for two of slice 0's cases.
    kept = _cases(out / shards.SHARD_DIR / "bench.0-of-2.jsonl")
    broken = {**kept[0], "error": "RuntimeError: boom"}
    older = {**kept[1], "finished_at": "2000-01-01T00:00:00+00:00", "result": {**kept[1]["result"], "val_accuracy": -1}}
    (out / "bench.jsonl").write_text(json.dumps(broken) + "\n" + json.dumps(older) + "\n")
    assert main(["bench", "--report-only", "--out", str(out), "--json"]) == bench.EXIT_INCOMPLETE
    summary = json.loads(capsys.readouterr().out)
    assert summary["missing_slices"] == ["1/2"] and sorted(summary["missing_cases"]) == sorted(lost)
    assert summary["errors"] == []  # the good record beats the error line; the newer beats the older
    report = (out / "report.md").read_text()
    assert "## Missing slices and cases" in report and "slice 1/2: no results file" in report
    assert f"`{lost[0]}` (slice 1/2)" in report
    merged = {r["key"]: r for r in shards.merge(out).records}
    assert "error" not in merged[kept[0]["key"]] and merged[kept[1]["key"]]["result"]["val_accuracy"] >= 0
    # The same files always give the same merge.
    assert shards.merge(out).records == shards.merge(out).records


def test_final_phase_before_tuning_is_an_error_naming_the_slices(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(classifier_run, "_seen", {})
    out = tmp_path / "early"
    assert main(["bench", *SMALL, "--out", str(out), "--shard", "0/2", "--phase", "final", "--json"]) == 1
    summary = json.loads(capsys.readouterr().out)
    assert len(summary["errors"]) == 2
    assert all("run --phase tune on every slice first" in e for e in summary["errors"])
    assert re.search(r"tune=0 \(slice [01]/2\), .*tune=1 \(slice [01]/2\)", summary["errors"][0])
    # Nothing was trained for those seeds: the error lines are retried once tuning has run.
    for i in range(2):
        assert main(["bench", *SMALL, "--out", str(out), "--shard", f"{i}/2", "--phase", "tune"]) == 0
    assert main(["bench", *SMALL, "--out", str(out), "--shard", "0/2", "--phase", "final"]) == 0
    assert main(["bench", *SMALL, "--out", str(out), "--shard", "1/2", "--phase", "final"]) == 0
    assert main(["bench", "--report-only", "--out", str(out)]) == 0


def test_engine_units_leave_markers_and_a_killed_slice_is_reported(tmp_path, monkeypatch):
    """Engine units record their cases under other keys; the merge counts a unit finished by its marker."""
    monkeypatch.setattr(bench.batched, "BATCH", 8)
    monkeypatch.setitem(sys.modules, "torchquantum", None)
    out = tmp_path / "eng"
    argv = ["bench", "--suite", "engines,gradients", "--sizes", "2,3", "--grad-sizes", "2", "--batch-sizes", "2",
            "--repeats", "1", "--out", str(out)]  # fmt: skip
    for i in range(2):
        assert main([*argv, "--shard", f"{i}/2"]) == 0  # no finals: no --phase needed
    merged = shards.merge(out)
    assert merged.complete and len(merged.plan) == 4
    assert sorted((r["suite"], r["n"]) for r in merged.records) == [
        ("batched", 2), ("gradients", 2), ("statevector", 2), ("statevector", 2), ("statevector", 3), ("statevector", 3)
    ]  # fmt: skip
    # Drop one slice's last marker and records after it, as if it was killed there.
    path = out / shards.SHARD_DIR / "bench.1-of-2.jsonl"
    lines = path.read_text().splitlines()
    last_marker = max(i for i, line in enumerate(lines) if '"_unit/' in line)
    path.write_text("\n".join(lines[:last_marker]) + '\n{"key": "half-writ')
    unit = json.loads(lines[last_marker])["key"].removeprefix(shards.MARKER)
    assert shards.merge(out).missing_units == {unit: ["1/2"]}
    assert main(["bench", "--report-only", "--out", str(out)]) == bench.EXIT_INCOMPLETE
    assert main([*argv, "--shard", "1/2"]) == 0  # the rerun finishes it
    assert shards.merge(out).complete


# --- resume after a kill, workers ------------------------------------------------------------


def test_killed_slice_resumes_without_redoing_finished_cases(tmp_path):
    out = tmp_path / "kill"
    args = ["--suite", "classifiers", "--quick", "--seeds", "2", "--cases", "*/moons/*", "--threads", "1",
            "--out", str(out), "--shard", "0/2", "--phase", "tune"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GOMP_SPINCOUNT": "100000"}
    path = out / shards.SHARD_DIR / "bench.0-of-2.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "hybrid.cli", "bench", *args], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 240
    while (not path.exists() or len(_cases(path)) < 2) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    assert proc.poll() is None, "the slice finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with open(path, "a") as fh:
        fh.write('{"key": "classifiers/classifiers/quick/moons/half')  # a line cut by the kill
    before = {r["key"]: r["run"]["run_id"] for r in _cases(path)}
    header = next(r for r in _lines(path) if r["key"] == shards.HEADER)
    slice_keys = header["units"]
    tune_keys = [k for k in slice_keys if k not in header["finals"]]
    assert len(tune_keys) == 8 and 2 <= len(before) < 8  # moons: 8 models x 2 trials, half of them here

    done = _cli(*args)
    assert done.returncode == 0, done.stderr[-2000:]
    after = _cases(path)
    keys = [r["key"] for r in after]
    assert sorted(keys) == sorted(tune_keys) and len(keys) == len(set(keys))  # every case once, none twice
    rerun = {r["run"]["run_id"] for r in after if r["key"] not in before}
    assert len(rerun) == 1 and not rerun & set(before.values())
    assert {r["key"]: r["run"]["run_id"] for r in after if r["key"] in before} == before  # finished ones kept
    assert f"resumed {len(before)} cases" in done.stderr + done.stdout

    # A third run has nothing left to do.
    again = _cli(*args)
    assert again.returncode == 0 and _cases(path) == after


def test_workers_run_both_rounds_with_threads_split_and_merge(tmp_path):
    out = tmp_path / "w"
    done = _cli("--suite", "classifiers", "--quick", "--seeds", "2", "--cases", "*/moons/mlp/*",
                "--workers", "2", "--out", str(out), "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout)
    cores = len(os.sched_getaffinity(0))
    threads = max(1, cores // 2)
    assert summary["workers"] == {"count": 2, "torch_threads": threads, "cores": cores,
                                  "exit_codes": {"tune": [0, 0], "final": [0, 0]}}  # fmt: skip
    assert summary["cases"] == 4 and summary["missing_slices"] == [] and summary["missing_cases"] == []
    for i in range(2):
        path = out / shards.SHARD_DIR / f"bench.{i}-of-2.jsonl"
        recs = _cases(path)
        assert [r["result"]["phase"] for r in recs] == ["tune", "seed"]  # one trial, then one final seed each
        for r in recs:
            assert r["run"]["torch_threads"] == threads and r["run"]["env"]["OMP_NUM_THREADS"] == str(threads)
            assert f"--threads {threads} --shard {i}/2" in r["run"]["command"]
        assert (out / shards.SHARD_DIR / f"bench.{i}-of-2.log").exists()
    assert "2 of 2 slices of 2" in (out / "report.md").read_text()


@pytest.mark.slow  # the whole quick grid (112 training runs) twice: 1-3 minutes on 2 cores
def test_quick_classifier_grid_in_two_shards_equals_serial(tmp_path):
    grid = ["--suite", "classifiers", "--quick", "--threads", "1"]
    serial = _cli(*grid, "--out", str(tmp_path / "serial"), timeout=1800)
    assert serial.returncode == 0, serial.stderr[-2000:]
    for phase in ("tune", "final"):
        procs = [subprocess.Popen([sys.executable, "-m", "hybrid.cli", "bench", *grid, "--out", str(tmp_path / "sh"),
                                   "--shard", f"{i}/2", "--phase", phase], cwd=ROOT,
                                  env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL) for i in range(2)]  # fmt: skip
        assert [p.wait(timeout=1800) for p in procs] == [0, 0]
    merged = _cli("--report-only", "--out", str(tmp_path / "sh"))
    assert merged.returncode == 0, merged.stderr[-2000:]
    serial_recs = _cases(tmp_path / "serial" / "bench.jsonl")
    assert len(serial_recs) == 112
    assert _results(shards.merge(tmp_path / "sh").records) == _results(serial_recs)


# --- the Slurm templates, driven by a stand-in sbatch -----------------------------------------

FAKE_SBATCH = r'''#!{python}
"""Stand-in for sbatch: logs its arguments, runs every array task (or the --wrap command) at once."""
import os, subprocess, sys
args = sys.argv[1:]
with open(os.environ["FAKE_SBATCH_LOG"], "a") as log:
    log.write(" ".join(args) + "\n")
with open(os.environ["FAKE_SBATCH_LOG"]) as log:
    jobid = str(100 + len(log.readlines()))
opts, i = {}, 0
while i < len(args) and args[i].startswith("--"):
    key, eq, value = args[i][2:].partition("=")
    if key == "wrap" and not eq:  # --wrap CMD
        value, i = args[i + 1], i + 1
    opts[key], i = value, i + 1
if "wrap" in opts:
    code = subprocess.run(opts["wrap"], shell=True, stdout=sys.stderr).returncode
    open(os.environ["FAKE_SBATCH_LOG"] + ".codes", "a").write(f"wrap {code}\n")
else:
    lo, hi = map(int, opts["array"].split("%")[0].split("-"))
    for task in range(lo, hi + 1):
        env = {**os.environ, "SLURM_ARRAY_TASK_ID": str(task), "SLURM_ARRAY_TASK_COUNT": str(hi - lo + 1),
               "SLURM_ARRAY_TASK_MIN": str(lo), "SLURM_ARRAY_TASK_MAX": str(hi), "SLURM_CPUS_PER_TASK": "1"}
        code = subprocess.run(["bash", *args[i:]], env=env, stdout=sys.stderr).returncode
        open(os.environ["FAKE_SBATCH_LOG"] + ".codes", "a").write(f"{task} {code}\n")
print(jobid)
'''


def test_slurm_submit_script_runs_tune_array_then_final_array_then_report(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "sbatch").write_text(FAKE_SBATCH.replace("{python}", sys.executable))
    (bin_dir / "hybrid").write_text(f'#!/bin/bash\nexec {sys.executable} -m hybrid.cli "$@"\n')
    for p in bin_dir.iterdir():
        p.chmod(0o755)
    out = tmp_path / "slurm out"
    log = tmp_path / "sbatch.log"
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "PYTHONPATH": str(ROOT),
           "FAKE_SBATCH_LOG": str(log), "GOMP_SPINCOUNT": "100000"}  # fmt: skip
    done = subprocess.run(["bash", "benchmarks/slurm/submit.sh", "2", "--partition=test", "--",
                           "--suite", "classifiers", "--quick", "--seeds", "2", "--cases", "*/moons/mlp/*",
                           "--out", str(out)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.startswith("tune array 101, final array 102, report job 103")
    calls = log.read_text().splitlines()
    assert len(calls) == 3
    assert "--partition=test --array=0-1%32" in calls[0] and "--phase tune" in calls[0]
    assert "--dependency=afterany:101" in calls[1] and "--phase final" in calls[1]
    assert "--dependency=afterany:102" in calls[2] and "--report-only" in calls[2]
    assert (tmp_path / "sbatch.log.codes").read_text().split("\n")[:5] == ["0 0", "1 0", "0 0", "1 0", "wrap 0"]
    for i in range(2):
        recs = _cases(out / shards.SHARD_DIR / f"bench.{i}-of-2.jsonl")
        assert len(recs) == 2 and all(f"--shard {i}/2 --threads 1" in r["run"]["command"] for r in recs)
    assert "2 of 2 slices of 2" in (out / "report.md").read_text()


def test_slurm_array_script_refuses_a_partial_array_without_bench_slices(tmp_path):
    env = {**os.environ, "SLURM_ARRAY_TASK_ID": "17", "SLURM_ARRAY_TASK_COUNT": "1", "SLURM_ARRAY_TASK_MIN": "17",
           "SLURM_ARRAY_TASK_MAX": "17", "HYBRID": "false"}  # fmt: skip
    done = subprocess.run(["bash", "benchmarks/slurm/bench_array.sbatch", "--out", str(tmp_path)], cwd=ROOT, env=env,
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 2 and "set BENCH_SLICES" in done.stderr
    env.pop("SLURM_ARRAY_TASK_ID")
    done = subprocess.run(["bash", "benchmarks/slurm/bench_array.sbatch"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 2 and "not an array task" in done.stderr
