"""``hybrid bench --suite qec``: memory experiments on our engine against stim.

Every point is :func:`circuits.qec.memory_experiment`: stim's generated memory circuit
(``repetition_code:memory`` or ``surface_code:rotated_memory_z``, every noise knob at ``p``),
sampled, then decoded with PyMatching. Threshold rows run ``d`` rounds for a repetition code
of distance ``d`` and 3 for the d=3 rotated surface code (the other units state their own). Units (each one resumable case):

- ``threshold_<code>_d<d>``: logical error rate against ``p`` under stim's own depolarizing
  noise, sampled on our engine (trajectories) and by stim on the same circuit, each with
  its 95% Wilson interval. Check: the two rates differ by less than the half-width of the
  joint 99% interval of two binomial rates (pooled variance, plus ``1/min(shots)``).
- ``amplitude_damping``, ``thermal``: every Pauli channel of the circuit replaced by that
  channel at the same Pauli-twirled error probability (:mod:`hybrid.noise.replace`),
  sampled on our engine, against its Pauli twirl sampled by stim; both decoded with the
  twirl's detector error model. Check (repetition codes only): no logical error at all
  (the data stay in |0>, a fixed point of damping; the twirl's bit flips do cause errors).
- ``coherent_rounds``: the same with a coherent over-rotation, against its twirl, at several
  round counts: over-rotations add up in amplitude round after round, the twirl in
  probability. No pass/fail check (a physics observation); ``differs`` says whether the
  95% intervals are disjoint.

Wall time per shot is sampling plus decoding (PyMatching on the same detector error model)
for both simulators; it is read from the threshold rows.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from pathlib import Path

__all__ = ["SUITE", "PRESETS", "Sizes", "units", "run_unit", "section", "plot_threshold", "plot_noise"]

SUITE = "qec"
SEED = 2024
Z99 = 2.5758293035489


@dataclass(frozen=True)
class Sizes:
    level: str  # "quick" | "default" | "full": the tables below
    shots: int | None = None  # overrides our engine's shots at every point (stim's stay)


PRESETS = {name: Sizes(name) for name in ("quick", "default", "full")}

# (code, distance, rounds, physical error rates, our shots per point)
THRESHOLD = {
    "quick": [("repetition", 3, 3, (0.05, 0.1), 200)],
    "default": [("repetition", 3, 3, (0.02, 0.05, 0.1), 2000), ("repetition", 5, 5, (0.02, 0.05, 0.1), 1000)],
    "full": [
        ("repetition", 3, 3, (0.01, 0.02, 0.04, 0.07, 0.1, 0.15), 10000),
        ("repetition", 5, 5, (0.01, 0.02, 0.04, 0.07, 0.1, 0.15), 5000),
        ("repetition", 7, 7, (0.01, 0.02, 0.04, 0.07, 0.1, 0.15), 1000),
        ("surface", 3, 3, (0.002, 0.005, 0.01, 0.02), 400),
    ],
}
STIM_SHOTS = {"quick": 20_000, "default": 200_000, "full": 1_000_000}
NON_PAULI = ("amplitude_damping", "thermal")
NON_PAULI_POINTS = {
    "quick": [("repetition", 3, 2, (0.05,), 200)],
    "default": [("repetition", 3, 3, (0.02, 0.05), 1000)],
    "full": [("repetition", 3, 3, (0.01, 0.03, 0.05), 4000), ("repetition", 5, 5, (0.01, 0.03, 0.05), 2000),
             ("surface", 3, 3, (0.01,), 200)],
}  # fmt: skip
# (code, distance, p, round counts, our shots per point)
COHERENT = {
    "quick": [("repetition", 3, 0.02, (1, 3), 200)],
    "default": [("repetition", 3, 0.01, (1, 3, 5, 9), 1000)],
    "full": [("repetition", 3, 0.01, (1, 3, 5, 9), 4000), ("repetition", 5, 0.01, (1, 3, 5, 9), 2000),
             ("surface", 3, 0.005, (1, 3), 200)],
}  # fmt: skip


def units(sizes: Sizes) -> list[str]:
    """The suite's unit names, in run order."""
    names = [f"threshold_{code}_d{d}" for code, d, *_ in THRESHOLD[sizes.level]]
    return names + list(NON_PAULI) + ["coherent_rounds"]


def unit_key(name: str, sizes: Sizes, device: str) -> str:
    level = sizes.level + (f"-s{sizes.shots}" if sizes.shots else "")
    return f"{SUITE}/{name}/{level}/{device}"


def _seed(*parts) -> int:
    return SEED + zlib.crc32("/".join(map(str, parts)).encode())


def _summary(result) -> dict:
    return {
        "errors": result.errors, "shots": result.shots, "rate": result.logical_error_rate,
        "interval": list(result.interval), "wall_s": result.wall_time_s, "seconds_per_shot": result.seconds_per_shot,
    }  # fmt: skip


def joint_99(a: dict, b: dict) -> float:
    """Half-width of a 99% interval for the difference of two binomial rates (pooled
    variance), plus ``1/min(shots)`` so that two rates of a few counts are not over-read."""
    pooled = (a["errors"] + b["errors"]) / (a["shots"] + b["shots"])
    return Z99 * math.sqrt(pooled * (1 - pooled) * (1 / a["shots"] + 1 / b["shots"])) + 1 / min(a["shots"], b["shots"])


def _pair(code: str, d: int, rounds: int, p: float, shots: int, stim_shots: int, noise: str, device) -> dict:
    from circuits.qec import memory_experiment

    ours = memory_experiment(code, d, rounds, p, shots, seed=_seed(code, d, rounds, p, noise, "ours"), noise=noise,
                             device=device)  # fmt: skip
    ref = memory_experiment(code, d, rounds, p, stim_shots, seed=_seed(code, d, rounds, p, noise, "stim"), noise=noise,
                            simulator="stim")  # fmt: skip
    o, s = _summary(ours), _summary(ref)
    return {
        "case": f"{code} d={d}, {rounds} rounds, p={p:g}", "code": code, "distance": d, "rounds": rounds, "p": p,
        "n_qubits": ours.n_qubits, "noise": noise,
        "stim_noise": ref.noise, "decoder": ours.decoder, "ours": o, "stim": s, "diff": o["rate"] - s["rate"],
        "ratio": o["rate"] / s["rate"] if s["rate"] > 0 else None,
        "differs": o["interval"][0] > s["interval"][1] or o["interval"][1] < s["interval"][0],
    }  # fmt: skip


def threshold_rows(code: str, d: int, sizes: Sizes, device) -> list[dict]:
    _, _, rounds, ps, shots = next(t for t in THRESHOLD[sizes.level] if t[0] == code and t[1] == d)
    rows = []
    for p in ps:
        row = _pair(code, d, rounds, p, sizes.shots or shots, STIM_SHOTS[sizes.level], "depolarizing", device)
        tol = joint_99(row["ours"], row["stim"])
        row["check"] = {"reference": "stim, same circuit", "abs_diff": abs(row["diff"]), "tol": tol,
                        "passed": abs(row["diff"]) <= tol}  # fmt: skip
        rows.append({"kind": "threshold", **row})
    return rows


def non_pauli_rows(noise: str, sizes: Sizes, device) -> list[dict]:
    rows = []
    for code, d, rounds, ps, shots in NON_PAULI_POINTS[sizes.level]:
        for p in ps:
            row = {"kind": "non_pauli", **_pair(code, d, rounds, p, sizes.shots or shots, STIM_SHOTS[sizes.level], noise,
                                                device)}  # fmt: skip
            if code == "repetition":  # the data never leave |0>: damping cannot flip them
                row["check"] = {"reference": "closed form: no logical error (|0> is a fixed point of damping)",
                                "errors": row["ours"]["errors"], "passed": row["ours"]["errors"] == 0}  # fmt: skip
            rows.append(row)
    return rows


def coherent_rows(sizes: Sizes, device) -> list[dict]:
    rows = []
    for code, d, p, round_counts, shots in COHERENT[sizes.level]:
        for rounds in round_counts:
            rows.append({"kind": "coherent", **_pair(code, d, rounds, p, sizes.shots or shots, STIM_SHOTS[sizes.level],
                                                     "coherent_overrotation", device)})  # fmt: skip
    return rows


def run_unit(name: str, sizes: Sizes, device) -> list[dict]:
    """The rows of one unit (a name of :func:`units`)."""
    dev = str(device)
    try:
        import pymatching  # noqa: F401
        import stim  # noqa: F401
    except ModuleNotFoundError as exc:
        raise RuntimeError(f"the qec suite needs the qec extra (pip install 'hybrid[qec]'): {exc}") from None
    if name.startswith("threshold_"):
        code, d = name[len("threshold_") :].rsplit("_d", 1)
        return threshold_rows(code, int(d), sizes, dev)
    if name in NON_PAULI:
        return non_pauli_rows(name, sizes, dev)
    if name == "coherent_rounds":
        return coherent_rows(sizes, dev)
    raise ValueError(f"unknown qec unit {name!r}")


# --- report ----------------------------------------------------------------------------------


def _rate(side: dict) -> str:
    lo, hi = side["interval"]
    low = f"{lo:.1e}" if lo > 1e-12 else "0"
    return f"{side['rate']:.2e} [{low}, {hi:.1e}] ({side['errors']}/{side['shots']})"


def _per_shot(seconds: float) -> str:
    from .timing import format_seconds

    return format_seconds(seconds)


def _check(row: dict) -> str:
    check = row.get("check")
    if not isinstance(check, dict):
        return "-"
    return "ok" if check.get("passed") else "FAILED"


def _rows(records: list[dict], kind: str) -> list[dict]:
    return [row for r in records if r.get("suite") == SUITE for row in r.get("rows", []) if row.get("kind") == kind]


def _code(row: dict) -> str:
    return f"{row['code']} d={row['distance']}"


def section(records: list[dict], resumed: set[str]) -> str:
    """The suite's Markdown: threshold, non-Pauli, coherent-vs-rounds and time-per-shot tables."""
    from .report import markdown_table

    parts = []
    rows = _rows(records, "threshold")
    if rows:
        cells = [["code", "rounds", "qubits", "p", "ours: rate [95%] (errors/shots)", "stim: rate [95%] (errors/shots)",
                  "|ours - stim|", "joint 99%", "check"]]  # fmt: skip
        for r in rows:
            cells.append([_code(r), str(r["rounds"]), str(r["n_qubits"]), f"{r['p']:g}", _rate(r["ours"]), _rate(r["stim"]),
                          f"{abs(r['diff']):.1e}", f"{r['check']['tol']:.1e}", _check(r)])  # fmt: skip
        parts.append(markdown_table("Logical error rate vs physical error rate p (stim's depolarizing noise, all four "
                                    "knobs = p), ours vs stim on the same circuit, PyMatching", cells))  # fmt: skip
        parts.append(f"![logical error rate vs p]({THRESHOLD_PNG})")
    rows = _rows(records, "non_pauli")
    if rows:
        cells = [["noise (ours)", "code", "rounds", "p", "ours: rate [95%]", "Pauli twirl (stim): rate [95%]",
                  "ours / twirl", "check"]]  # fmt: skip
        for r in rows:
            ratio = f"{r['ratio']:.2f}" if r.get("ratio") is not None else "-"
            cells.append([r["noise"], _code(r), str(r["rounds"]), f"{r['p']:g}", _rate(r["ours"]), _rate(r["stim"]), ratio,
                          _check(r)])  # fmt: skip
        parts.append(markdown_table("Amplitude damping and thermal relaxation (ours, exact channels by trajectories) "
                                    "vs their Pauli twirls sampled by stim", cells))  # fmt: skip
    rows = _rows(records, "coherent")
    if rows:
        cells = [["code", "p", "rounds", "ours: rate [95%]", "Pauli twirl (stim): rate [95%]", "ours / twirl",
                  "95% intervals disjoint"]]  # fmt: skip
        for r in rows:
            ratio = f"{r['ratio']:.2f}" if r.get("ratio") is not None else "-"
            cells.append([_code(r), f"{r['p']:g}", str(r["rounds"]), _rate(r["ours"]), _rate(r["stim"]), ratio,
                          "yes" if r["differs"] else "no"])  # fmt: skip
        parts.append(markdown_table("Coherent over-rotation (ours) vs its Pauli twirl (stim) against the number of "
                                    "rounds", cells))  # fmt: skip
    if _rows(records, "non_pauli") or rows:
        parts.append(f"![non-Pauli noise vs its twirl]({NOISE_PNG})")
    times = timing_rows(records)
    if times:
        cells = [["code", "rounds", "qubits", "points", "ours per shot", "stim per shot", "ours / stim"]]
        for t in times:
            cells.append([t["code"], str(t["rounds"]), str(t["n_qubits"]), str(t["points"]), _per_shot(t["ours"]),
                          _per_shot(t["stim"]), f"{t['ours'] / t['stim']:.0f}x"])  # fmt: skip
        parts.append(markdown_table("Wall time per shot (sampling + PyMatching decoding, median over the threshold "
                                    "points): stim is far faster on the Pauli noise it can represent", cells))  # fmt: skip
    notes = [
        "Rates: logical errors per shot with the 95% Wilson interval. Threshold rows: repetition codes run d "
        "rounds, the rotated surface code 3 (the other tables give their rounds). Non-Pauli noise replaces each of stim's Pauli channels by a channel of the same "
        "Pauli-twirled error probability (hybrid.noise.replace); both sides are decoded with the twirl's detector "
        "error model. Our engine samples one trajectory per shot (complex64); stim samples the circuit (or the "
        "twirl) itself."
    ]
    if any(r["key"] in resumed for r in records if r.get("suite") == SUITE):
        notes.append("Some of these cases were resumed from an earlier run.")
    return "\n\n".join(parts + notes)


def timing_rows(records: list[dict]) -> list[dict]:
    """Median seconds per shot of ours and stim per code, from the threshold rows."""
    groups: dict[tuple, list[dict]] = {}
    for r in _rows(records, "threshold"):
        groups.setdefault((r["code"], r["distance"], r["rounds"], r["n_qubits"]), []).append(r)
    out = []
    for (code, d, rounds, n), rows in groups.items():
        med = lambda side: sorted(x[side]["seconds_per_shot"] for x in rows)[len(rows) // 2]  # noqa: E731
        out.append({"code": f"{code} d={d}", "rounds": rounds, "n_qubits": n, "points": len(rows),
                    "ours": med("ours"), "stim": med("stim")})  # fmt: skip
    return out


# --- plots -----------------------------------------------------------------------------------

THRESHOLD_PNG = "qec_threshold.png"
NOISE_PNG = "qec_noise.png"


def _errorbars(rows: list[dict], side: str):
    rate = [r[side]["rate"] for r in rows]
    lower = [max(0.0, r[side]["rate"] - r[side]["interval"][0]) for r in rows]
    upper = [max(0.0, r[side]["interval"][1] - r[side]["rate"]) for r in rows]
    return rate, [lower, upper]


def _save(fig, out_dir: Path, name: str) -> Path:
    from .plots import plt

    path = Path(out_dir) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_threshold(records: list[dict], out_dir: Path) -> Path | None:
    """Logical error rate against p, log-log, one colour per code: ours solid, stim dashed,
    95% intervals as error bars (points with no logical error cannot be drawn on a log axis)."""
    rows = _rows(records, "threshold")
    if not rows:
        return None
    from .plots import plt  # headless backend

    fig, ax = plt.subplots(figsize=(7, 5))
    codes = sorted({(r["code"], r["distance"]) for r in rows})
    for k, (code, d) in enumerate(codes):
        series = sorted((r for r in rows if (r["code"], r["distance"]) == (code, d)), key=lambda r: r["p"])
        for side, style, label in (("ours", "-o", "ours"), ("stim", "--s", "stim")):
            pts = [r for r in series if r[side]["errors"] > 0]
            if not pts:
                continue
            rate, err = _errorbars(pts, side)
            ax.errorbar([r["p"] for r in pts], rate, yerr=err, fmt=style, color=f"C{k}", capsize=3, markersize=4,
                        alpha=1.0 if side == "ours" else 0.6, label=f"{code} d={d}, {series[0]['rounds']} rounds: {label}")  # fmt: skip
    lo = min(r["p"] for r in rows)
    hi = max(r["p"] for r in rows)
    ax.plot([lo, hi], [lo, hi], color="grey", linewidth=1, linestyle=":", label="logical = physical")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("physical error rate p (all four stim noise knobs)")
    ax.set_ylabel("logical error rate per shot")
    ax.set_title("Memory experiments, depolarizing noise: ours vs stim (PyMatching)", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    return _save(fig, out_dir, THRESHOLD_PNG)


def plot_noise(records: list[dict], out_dir: Path) -> Path | None:
    """Left: non-Pauli noise (ours) beside its Pauli twirl (stim), bars with 95% intervals.
    Right: coherent over-rotation and its twirl against the number of rounds."""
    damping, coherent = _rows(records, "non_pauli"), _rows(records, "coherent")
    if not damping and not coherent:
        return None
    from .plots import plt  # headless backend

    panels = [p for p in ((damping, "bars"), (coherent, "rounds")) if p[0]]
    fig, axes = plt.subplots(1, len(panels), figsize=(7 * len(panels), 5), squeeze=False)
    for ax, (rows, how) in zip(axes[0], panels):
        if how == "bars":
            x = list(range(len(rows)))
            for shift, side, label in ((-0.2, "ours", "ours (exact channel)"), (0.2, "stim", "Pauli twirl (stim)")):
                rate, err = _errorbars(rows, side)
                ax.bar([i + shift for i in x], rate, width=0.4, yerr=err, capsize=3, label=label)
            ax.set_xticks(x)
            ax.set_xticklabels([f"{r['noise']}\n{r['code'][:3]}. d={r['distance']} r={r['rounds']}\np={r['p']:g}"
                                for r in rows], fontsize=6)  # fmt: skip
            ax.set_ylabel("logical error rate per shot")
            ax.set_title("Amplitude damping / thermal relaxation vs their Pauli twirls")
        else:
            for k, key in enumerate(sorted({(r["code"], r["distance"], r["p"]) for r in rows})):
                series = sorted((r for r in rows if (r["code"], r["distance"], r["p"]) == key), key=lambda r: r["rounds"])
                for side, style, label in (("ours", "-o", "coherent (ours)"), ("stim", "--s", "Pauli twirl (stim)")):
                    rate, err = _errorbars(series, side)
                    ax.errorbar([r["rounds"] for r in series], rate, yerr=err, fmt=style, color=f"C{k}", capsize=3,
                                markersize=4, label=f"{key[0]} d={key[1]} p={key[2]:g}: {label}")  # fmt: skip
            ax.set_xlabel("rounds")
            ax.set_ylabel("logical error rate per shot")
            ax.set_title("Coherent over-rotation vs its Pauli twirl, against rounds")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    return _save(fig, out_dir, NOISE_PNG)
