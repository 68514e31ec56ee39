"""PNG plots of the engine and gradient suites, from their case records.

Matplotlib runs headless (the Agg backend); every function returns the file it wrote, or
None when the records hold nothing to plot.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: no display on CI machines or GPU servers
import matplotlib.pyplot as plt  # noqa: E402

__all__ = ["time_vs_qubits", "gradient_cost", "engine_series", "TIME_VS_QUBITS", "GRADIENT_COST"]

TIME_VS_QUBITS = "time_vs_qubits.png"
GRADIENT_COST = "gradient_cost.png"
_GRAD_TITLES = {
    "gradients": "2-layer SEL: forward + gradient",
    "batched": "Batched layer (batch {batch}): forward + backward",
}


def engine_series(records: list[dict]) -> dict[str, list[tuple[int, float]]]:
    """``{engine: [(n, median seconds), ...]}`` sorted by n; failed and skipped runs left out."""
    series: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for rec in records:
        for engine, slot in rec.get("engines", {}).items():
            if "median_s" in slot:
                series[engine].append((rec["n"], slot["median_s"]))
    return {e: sorted(points) for e, points in sorted(series.items())}


def _style(engine: str) -> dict:
    # Ours solid with round markers, anchors dashed with squares: the comparison reads at a glance.
    return {"marker": "o", "linestyle": "-"} if engine.startswith("ours") else {"marker": "s", "linestyle": "--"}


def _draw(ax, series: dict[str, list[tuple[int, float]]]) -> None:
    for engine, points in series.items():
        ns, ts = zip(*points)
        ax.plot(ns, ts, label=engine, **_style(engine))


def _floor(ax, records: list[dict], dtype: str, style: str) -> None:
    points = sorted((r["n"], r["floor_s"][dtype]) for r in records if r.get("floor_s", {}).get(dtype))
    if points:
        ns, ts = zip(*points)
        ax.plot(ns, ts, color="black", linestyle=style, linewidth=1, label=f"bandwidth floor {dtype}")


def _finish(fig, axes, path: Path) -> Path:
    for ax in axes:
        ax.set_yscale("log")
        ax.set_xlabel("qubits")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    axes[0].set_ylabel("wall time per run (s)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def time_vs_qubits(records: list[dict], out_dir: Path) -> Path | None:
    """Statevector time per engine against qubits, one panel per circuit, with the floors."""
    cases = sorted({r["case"] for r in records if r.get("suite") == "statevector"})
    if not cases:
        return None
    fig, axes = plt.subplots(1, len(cases), figsize=(6 * len(cases), 4.5), squeeze=False)
    for ax, case in zip(axes[0], cases):
        recs = [r for r in records if r.get("suite") == "statevector" and r["case"] == case]
        _draw(ax, engine_series(recs))
        _floor(ax, recs, "complex64", ":")
        _floor(ax, recs, "complex128", "-.")
        ax.set_title(f"final state: {case}")
    return _finish(fig, list(axes[0]), Path(out_dir) / TIME_VS_QUBITS)


def gradient_cost(records: list[dict], out_dir: Path) -> Path | None:
    """Forward + gradient time per engine against qubits, one panel per suite."""
    suites = [s for s in _GRAD_TITLES if any(r.get("suite") == s for r in records)]
    if not suites:
        return None
    fig, axes = plt.subplots(1, len(suites), figsize=(6 * len(suites), 4.5), squeeze=False)
    for ax, suite in zip(axes[0], suites):
        rows = [r for r in records if r.get("suite") == suite]
        _draw(ax, engine_series(rows))
        batches = sorted({r["batch"] for r in rows if r.get("batch")})
        ax.set_title(_GRAD_TITLES[suite].format(batch=", ".join(map(str, batches)) or "?"))
    return _finish(fig, list(axes[0]), Path(out_dir) / GRADIENT_COST)
