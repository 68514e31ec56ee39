"""PennyLane's own device test suite (``pl-device-test``) on hybrid.qubit and hybrid.mixed,
analytic and with shots.

Slow (about 1-2 minutes per mode on 2 cores): excluded from the default run; run with
``python -m pytest tests/test_pennylane_device_suite.py -m slow -s``. The suite is
PennyLane's, so its assertions are independent of this project; every test must pass or
be skipped by the suite itself.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


def _run_suite(tmp_path: Path, device: str, *extra: str) -> tuple[set[str], str]:
    exe = BIN / "pl-device-test"
    if not exe.exists() or shutil.which("pytest", path=str(BIN)) is None:
        pytest.fail(f"pl-device-test and pytest must be installed next to {sys.executable} (pip install -e '.[test]')")
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", OMP_NUM_THREADS="1")
    proc = subprocess.run(
        [str(exe), f"--device={device}", *extra, "-q", "-rf", "-p", "no:cacheprovider"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=1800,
    )  # fmt: skip
    failed = {m.split("tests/")[-1] for m in re.findall(r"^FAILED (\S+)", proc.stdout, re.M)}
    return failed, proc.stdout[-3000:]


@pytest.mark.slow
@pytest.mark.parametrize("device", ["hybrid.qubit", "hybrid.mixed"])
@pytest.mark.parametrize("shots", [None, 10000], ids=["analytic", "shots"])
def test_pennylane_device_suite(tmp_path, device, shots):
    extra = () if shots is None else (f"--shots={shots}",)
    failed, tail = _run_suite(tmp_path, device, *extra)
    assert not failed, f"failures: {sorted(failed)}\n{tail}"
    summary = tail.strip().splitlines()[-1]
    print(f"pl-device-test --device={device} {'analytic' if shots is None else f'--shots={shots}'}: {summary}")
    assert re.search(r"\d+ passed", summary), tail
