"""Sharded statevector on real gloo process groups: 2 and 4 processes on localhost,
launched by ``torchrun`` from here (each launch costs seconds, so one launch runs many
checks: ``distributed_worker.py``). The fast in-process tests are ``test_sharded.py``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _launch(nproc: int, tmp_path: Path, *checks: str) -> dict:
    out = tmp_path / f"report{nproc}.json"
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""), OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
           str(ROOT / "tests" / "distributed_worker.py"), str(out), *checks]  # fmt: skip
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads(out.read_text())


@pytest.mark.slow
@pytest.mark.parametrize("nproc", [2, 4])
def test_sharded_engine_on_gloo(nproc, tmp_path):
    report = _launch(nproc, tmp_path)
    assert report["world"] == nproc
    for rank, checks in enumerate(report["ranks"]):
        for name, result in checks.items():
            assert result["ok"], f"rank {rank} {name}: {result['detail']}"


@pytest.mark.slow
def test_refusals_on_gloo(tmp_path):
    report = _launch(2, tmp_path, "check_refusals")
    for checks in report["ranks"]:
        assert checks["check_refusals"]["ok"], checks["check_refusals"]["detail"]


@pytest.mark.slow
def test_three_processes_are_refused(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    code = "import hybrid; c = hybrid.Circuit(8); c.h(0); hybrid.simulate(c, distributed=True)"
    script = tmp_path / "three.py"
    script.write_text(code)
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=3", str(script)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode != 0
    assert "power-of-two number of processes" in proc.stdout + proc.stderr


@pytest.mark.slow
def test_documented_example_prints_the_same_with_two_processes(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    args = ["-m", "benchmarks.sharded_example", "--qubits", "10"]
    one = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    two = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", *args],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert one.returncode == 0 and two.returncode == 0, two.stderr[-3000:]
    assert one.stdout.splitlines()[1:] == two.stdout.splitlines()[1:]
    assert "processes: 2" in two.stdout
