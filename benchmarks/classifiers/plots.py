"""PNG plots: test accuracy against parameter count and against training wall time.

One panel per dataset, one marker per model (circles classical, squares hybrid), error bars
the 95% t-interval over seeds.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Iterable

from .grid import HYBRID
from .summary import DatasetSummary, summarise

__all__ = ["plot"]


def _panels(n: int):
    import matplotlib

    matplotlib.use("Agg")  # files only; never needs a display
    import matplotlib.pyplot as plt

    cols = min(n, 3)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols + 2, 4 * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return plt, fig, list(axes.flat[:n])


def _figure(ds: list[DatasetSummary], x_of, xlabel: str, log_x: bool, path: Path) -> Path:
    plt, fig, axes = _panels(len(ds))
    from matplotlib.ticker import NullFormatter
    names = sorted({m for d in ds for m in d.models})
    cmap = plt.get_cmap("tab10" if len(names) <= 10 else "tab20")
    colors = {m: cmap(i % cmap.N) for i, m in enumerate(names)}
    handles = {}
    for ax, d in zip(axes, ds):
        for m in d.models.values():
            ci, x = m.test, x_of(m)
            if ci is None or x is None or not math.isfinite(x) or (log_x and x <= 0):
                continue
            err = 0.0 if math.isnan(ci.half_width) else ci.half_width
            handles[m.model] = ax.errorbar(
                x, ci.mean, yerr=err, fmt="s" if m.kind == HYBRID else "o", color=colors[m.model],
                capsize=3, markersize=7, label=m.model,
            )  # fmt: skip
        ax.set_title(f"{d.dataset} ({d.grid})")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("test accuracy (mean, 95% CI)")
        if log_x:
            ax.set_xscale("log")
            ax.xaxis.set_minor_formatter(NullFormatter())  # decade labels only; minor ones collide
        low, high = ax.get_ylim()
        ax.set_ylim(low, min(high, 1.01))  # an interval may reach past 1; accuracy cannot
        ax.grid(alpha=0.3)
    fig.legend(handles.values(), handles.keys(), loc="center right", frameon=False)
    fig.tight_layout(rect=(0, 0, 1 - 1.8 / fig.get_figwidth(), 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot(records: Iterable[dict], out_dir: Path) -> list[Path]:
    """Write ``classifiers_accuracy_vs_params.png`` and ``classifiers_accuracy_vs_time.png``
    into ``out_dir``; returns their paths (none when no model has finished seeds)."""
    ds = [d for d in summarise(records) if any(m.test for m in d.models.values())]
    if not ds:
        return []
    out_dir = Path(out_dir)
    return [
        _figure(ds, lambda m: m.n_params, "trainable parameters", True, out_dir / "classifiers_accuracy_vs_params.png"),
        _figure(
            ds, lambda m: m.mean_of("train_seconds"), "training wall time per run (s, log)", True,
            out_dir / "classifiers_accuracy_vs_time.png",
        ),
    ]  # fmt: skip
