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

__all__ = ["time_vs_qubits", "gradient_cost", "engine_series", "noise_success", "noise_time_vs_qubits",
           "TIME_VS_QUBITS", "GRADIENT_COST", "NOISE_SUCCESS", "NOISE_TIMES"]

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


NOISE_SUCCESS = "noise_success.png"
NOISE_TIMES = "noise_time_vs_qubits.png"


def noise_success(records: list[dict], out_dir: Path) -> Path | None:
    """Grover success probability against the per-location error rate (depolarizing and
    thermal relaxation after every gate), with the global-depolarizing estimate."""
    rows = [row for r in records if r.get("suite") == "noise" and r.get("case") == "grover" for row in r.get("rows", [])]
    rows = [row for row in rows if row.get("eps_1q", 0) > 0]
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for k, model in enumerate(sorted({row["model"] for row in rows})):
        pts = sorted((row["eps_1q"], row["success"], row["estimate"]) for row in rows if row["model"] == model)
        eps, success, estimate = zip(*pts)
        color = f"C{k}"
        ax.plot(eps, success, marker="o", color=color, label=f"{model}: density matrix")
        ax.plot(eps, estimate, linestyle="--", color=color, label=f"{model}: F p_ideal + (1-F)/2^n")
    first = rows[0]
    ax.axhline(first["ideal"], color="black", linewidth=1, label="ideal")
    ax.axhline(1 / 2 ** first["n"], color="grey", linestyle=":", linewidth=1, label="random guess 1/2^n")
    ax.set_xscale("log")
    ax.set_xlabel("Pauli-twirled error per one-wire gate location")
    ax.set_ylabel("success probability")
    ax.set_title(first["case"])
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    path = Path(out_dir) / NOISE_SUCCESS
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def noise_time_vs_qubits(records: list[dict], out_dir: Path) -> Path | None:
    """Noisy-simulation time per engine against qubits: density matrix, trajectories."""
    panels = [
        ("density matrix (complex128)", [r for r in records if r.get("case") == "dm_layered"]),
        ("trajectories, one shot each", [r for r in records if str(r.get("case", "")).startswith("trajectories_layered")]),
    ]
    panels = [(t, recs) for t, recs in panels if recs]
    if not panels:
        return None
    fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4.5), squeeze=False)
    for ax, (title, recs) in zip(axes[0], panels):
        _draw(ax, engine_series(recs))
        shots = sorted({r["shots"] for r in recs if r.get("shots")})
        ax.set_title(f"noisy layered circuit: {title}" + (f", {', '.join(map(str, shots))} shots" if shots else ""))
    return _finish(fig, list(axes[0]), Path(out_dir) / NOISE_TIMES)
