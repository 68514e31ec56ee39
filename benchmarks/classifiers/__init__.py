"""Classifier benchmark: hybrid quantum-classical classifiers against classical baselines.

Models x datasets x seeds. Every model gets the same tuning budget (the grid's trials),
judged on validation accuracy only; the chosen trial is then trained once per seed and
scored once on the test split. The report gives test accuracy with 95% t-intervals, paired
tests of the best hybrid against the best classical model (both picked by validation
accuracy) and the entanglement-free ablation, and states the findings.

The unit of work is one training run, so a caller can store each record and resume:

    case_keys(quick) -> list[str]          every case, tuning trials before final seeds
    run_case(key, device) -> dict          one JSON-able record
    render(records) -> str                 the Markdown report, from the records alone
    plot(records, out_dir) -> list[Path]   accuracy vs parameters / vs training time (PNG)

Standalone: ``python -m benchmarks.classifiers [--full] [--out DIR] [--device ...] [--seeds N]``.
"""

from .grid import get_grid, parse_key
from .plots import plot
from .report import render
from .run import case_keys, run_case

__all__ = ["case_keys", "run_case", "render", "plot", "get_grid", "parse_key"]
