"""Results as JSON lines: one line per case, appended and synced as soon as it is done.

An interrupted run keeps every finished case; a rerun with the same output folder skips
the cases already in the file (resume). A half-written last line (the process died during
the write) is ignored when reading and sealed off with a newline before the next append.
"""

from __future__ import annotations

import datetime as _dt
import importlib.metadata
import json
import os
import platform
import secrets
import shlex
import subprocess
import sys
from pathlib import Path

import torch

__all__ = ["ResultLog", "case_key", "run_info"]

_THREAD_ENV = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "OMP_WAIT_POLICY",
    "GOMP_SPINCOUNT",
    "CUDA_VISIBLE_DEVICES",
)
_PACKAGES = ("torch", "numpy", "pennylane", "pennylane_lightning", "qiskit", "qiskit-aer", "hybrid")


def case_key(suite: str, case: str, n: int, device: str) -> str:
    """The identity of a case in the log: what resume compares."""
    return f"{suite}/{case}/n={n}/{device}"


def read_lines(path: str | Path) -> tuple[list[dict], int]:
    """``(records, bad lines)`` of a JSON-lines file in line order: records are the lines
    that parse to an object with a string ``key``; half-written lines (a killed writer) and
    anything else are counted and skipped. A missing file has none."""
    records, bad = [], 0
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return records, bad
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            bad += 1
            continue
        if isinstance(rec, dict) and isinstance(rec.get("key"), str):
            records.append(rec)
    return records, bad


class ResultLog:
    """Append-only JSONL file of case records (``DIR/engines.jsonl``)."""

    def __init__(self, out_dir: str | Path, name: str = "engines.jsonl"):
        self.path = Path(out_dir) / name
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.records: dict[str, dict] = {}
        self.bad_lines = 0
        if self.path.exists():
            self._load()

    def _load(self) -> None:
        records, self.bad_lines = read_lines(self.path)
        for rec in records:
            self.records[rec["key"]] = rec

    def get(self, key: str) -> dict | None:
        return self.records.get(key)

    def append(self, record: dict) -> None:
        """Write ``record`` as one line, flushed and fsynced before returning."""
        line = json.dumps(record, default=_jsonable, allow_nan=True) + "\n"
        with open(self.path, "a+b") as fh:
            if fh.tell() > 0:
                fh.seek(-1, os.SEEK_END)
                if fh.read(1) != b"\n":  # seal a line an earlier run left half-written
                    fh.write(b"\n")
            fh.write(line.encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())
        self.records[record["key"]] = record


def _jsonable(x):
    if isinstance(x, torch.dtype | torch.device | Path):
        return str(x)
    if hasattr(x, "item"):
        return x.item()
    if hasattr(x, "tolist"):
        return x.tolist()
    return repr(x)


def _version(pkg: str) -> str | None:
    try:
        return importlib.metadata.version(pkg)
    except importlib.metadata.PackageNotFoundError:
        return None


def cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return f"cpu ({cpu_model() or 'unknown model'})"


def _git_state() -> dict | None:
    """The commit of the checkout and whether the engine has uncommitted edits."""
    root = Path(__file__).resolve().parent.parent

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=10, check=True).stdout

    try:
        commit = git("rev-parse", "HEAD").strip()
        dirty = bool(git("status", "--porcelain", "--", "hybrid").strip())
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "engine_dirty": dirty}


def run_info(device: torch.device, argv: list[str] | None = None, program: list[str] | None = None) -> dict:
    """What a reader needs to interpret one run's numbers.

    ``program`` is how the command was started (default ``python -m benchmarks.engines``);
    the recorded command is ``program`` followed by ``argv``.
    """
    argv = sys.argv[1:] if argv is None else argv
    program = [sys.executable, "-m", "benchmarks.engines"] if program is None else program
    return {
        # The time alone is not unique: the slices of a job array start in the same second.
        "run_id": _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3),
        "command": shlex.join([*program, *argv]),
        "device": _device_name(device),
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": {pkg: _version(pkg) for pkg in _PACKAGES},
        "git": _git_state(),
        "env": {k: os.environ[k] for k in _THREAD_ENV if k in os.environ},
    }
