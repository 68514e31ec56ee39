"""The printed tables: one per suite, built from the case records of this run."""

from __future__ import annotations

from typing import Callable, Iterable

from .timing import format_seconds

__all__ = ["render", "markdown_table", "noise_section"]

Column = tuple[str, Callable[[dict], str]]


def _time(engine: str) -> Callable[[dict], str]:
    def cell(rec: dict) -> str:
        slot = rec.get("engines", {}).get(engine)
        if slot is None:
            return "-"
        if "median_s" in slot:
            failed = "check" in slot and not slot["check"].get("passed", True)
            return format_seconds(slot["median_s"]) + ("!" if failed else "")
        return "skip" if "skipped" in slot else "ERR"

    return cell


def _ratio(engine: str) -> Callable[[dict], str]:
    def cell(rec: dict) -> str:
        r = rec.get("ratio_to_fastest_anchor", {}).get(engine)
        return "-" if r is None else f"{r:.2f}x"

    return cell


def _floor(dtype: str) -> Callable[[dict], str]:
    return lambda rec: format_seconds(rec.get("floor_s", {}).get(dtype))


def _multiple(engine: str) -> Callable[[dict], str]:
    def cell(rec: dict) -> str:
        m = rec.get("floor_multiple", {}).get(engine)
        return "-" if m is None else f"{m:.1f}x"

    return cell


def _table(title: str, columns: list[Column], rows: Iterable[dict], markdown: bool = False) -> str:
    """A fixed-width text table under ``title``, or a Markdown (pipe) table."""
    rows = list(rows)
    if not rows:
        return ""
    columns = [c for c in columns if c[0] or any(c[1](r) for r in rows)]  # drop an empty marker column
    cells = [[h for h, _ in columns]] + [[fn(r) for _, fn in columns] for r in rows]
    if markdown:
        return markdown_table(title, cells)
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    lines = [title]
    for k, row in enumerate(cells):
        lines.append("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))))
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown_table(title: str, cells: list[list[str]]) -> str:
    """``cells[0]`` is the header; the first column is left-aligned, the rest right-aligned."""
    escape = lambda c: c.replace("|", "\\|")  # noqa: E731 - a pipe inside a cell ends it in Markdown
    lines = [f"**{title.replace('<', '&lt;')}**", "", "| " + " | ".join(escape(c) for c in cells[0]) + " |"]
    lines.append("|" + "|".join(":--" if i == 0 else "--:" for i in range(len(cells[0]))) + "|")
    lines += ["| " + " | ".join(escape(c) for c in row) + " |" for row in cells[1:]]
    return "\n".join(lines)


def _resumed(resumed: set[str]) -> Callable[[dict], str]:
    return lambda rec: "*" if rec["key"] in resumed else ""


def statevector_table(rows, resumed, markdown: bool = False) -> str:
    cols: list[Column] = [
        ("case", lambda r: r["case"]),
        ("n", lambda r: str(r["n"])),
        ("gates", lambda r: str(r.get("n_gates", "-"))),
        ("ours c64", _time("ours_c64")),
        ("ours c128", _time("ours_c128")),
        ("default.qubit", _time("default.qubit")),
        ("lightning", _time("lightning.qubit")),
        ("aer", _time("aer")),
        ("best anchor", _fastest_anchor),
        ("c64/best", _ratio("ours_c64")),
        ("c128/best", _ratio("ours_c128")),
        ("floor c64", _floor("complex64")),
        ("floor c128", _floor("complex128")),
        ("c64/floor", _multiple("ours_c64")),
        ("c128/floor", _multiple("ours_c128")),
        ("", _resumed(resumed)),
    ]
    return _table("Statevector (median wall time per run; ratio = ours / fastest anchor)", cols, rows, markdown)


def _grad_columns(anchor_cols: list[Column], resumed) -> list[Column]:
    return [
        ("n", lambda r: str(r["n"])),
        ("ours bp c64", _time("ours_backprop_c64")),
        ("ours bp c128", _time("ours_backprop_c128")),
        ("ours adj c64", _time("ours_adjoint_c64")),
        ("ours adj c128", _time("ours_adjoint_c128")),
        *anchor_cols,
        ("best anchor", _fastest_anchor),
        ("best ours/best", _best_ratio),
        ("checks", _checks),
        ("", _resumed(resumed)),
    ]


def _short(engine: str) -> str:
    """``torchlayer_lightning.qubit_adjoint`` -> ``lightning adj``; ``ours_backprop_c64`` -> ``bp c64``."""
    name = engine.removeprefix("ours_").removeprefix("torchlayer_").replace(".qubit", "")
    return name.replace("backprop", "bp").replace("adjoint", "adj").replace("_", " ")


def _fastest_anchor(rec: dict) -> str:
    return _short(rec["fastest_anchor"]) if "fastest_anchor" in rec else "-"


def _best_ratio(rec: dict) -> str:
    ratios = rec.get("ratio_to_fastest_anchor", {})
    if not ratios:
        return "-"
    engine = min(ratios, key=ratios.get)
    return f"{ratios[engine]:.2f}x ({_short(engine)})"


def _checks(rec: dict) -> str:
    checked = [s["check"] for s in rec.get("engines", {}).values() if "check" in s and "passed" in s["check"]]
    if not checked:
        return "-"
    failed = sum(not c["passed"] for c in checked)
    return f"{len(checked) - failed}/{len(checked)} ok"


def gradients_table(rows, resumed, markdown: bool = False) -> str:
    anchors = [
        ("default.qubit bp", _time("default.qubit_backprop")),
        ("lightning adj", _time("lightning.qubit_adjoint")),
    ]
    title = "Gradients: 2-layer SEL, <sum Z_i>, forward + gradient"
    return _table(title, _grad_columns(anchors, resumed), rows, markdown)


def _skip_notes(rows: list[dict], names: dict[str, str]) -> str:
    """One line per skipped engine and reason, with the sizes it applies to ("" if none)."""
    notes: dict[tuple[str, str], list[str]] = {}
    for rec in rows:
        for engine, slot in rec.get("engines", {}).items():
            if "skipped" in slot:
                notes.setdefault((names.get(engine, engine), slot["skipped"]), []).append(str(rec["n"]))
    return "\n".join(f"skip: {name} (n={', '.join(ns)}): {reason}" for (name, reason), ns in notes.items())


def _with_notes(table: str, rows: list[dict], names: dict[str, str], markdown: bool) -> str:
    notes = _skip_notes(rows, names)
    if not table or not notes:
        return table
    return table + "\n\n" + (notes.replace("\n", "  \n") if markdown else notes)  # Markdown line breaks


def batched_table(rows, resumed, markdown: bool = False) -> str:
    anchors = [
        ("TorchLayer default bp", _time("torchlayer_default.qubit_backprop")),
        ("TorchLayer lightning adj", _time("torchlayer_lightning.qubit_adjoint")),
        ("TorchQuantum bp", _time("torchquantum_backprop")),
    ]
    rows = list(rows)
    batches = sorted({r.get("batch") for r in rows if r.get("batch")})
    batch = ", ".join(map(str, batches)) or "?"
    title = f"Batched layer: RX embedding + 2-layer SEL, batch {batch}, forward + backward"
    table = _table(title, _grad_columns(anchors, resumed), rows, markdown)
    return _with_notes(table, rows, {"torchquantum_backprop": "TorchQuantum bp"}, markdown)


DEVICE_TITLES = {
    "sel2_forward": "PennyLane device, QNode forward: 2-layer SEL, <sum Z_i>, diff_method=None, numpy weights",
    "sel2_adjoint": "PennyLane device, adjoint gradient: 2-layer SEL, <sum Z_i>, torch interface, QNode call + backward",
    "sel2_param_shift": "PennyLane device, parameter-shift gradient: 2-layer SEL, <sum Z_i>, torch interface, "
    "QNode call + backward",
}


def device_table(rows, resumed, markdown: bool = False) -> str:
    """One table per case of the ``device`` suite: hybrid.qubit, each anchor, ours / best anchor, checks."""
    rows = list(rows)
    cols: list[Column] = [
        ("n", lambda r: str(r["n"])),
        ("hybrid.qubit", _time("ours_hybrid.qubit")),
        ("lightning.qubit", _time("lightning.qubit")),
        ("default.qubit", _time("default.qubit")),
        ("best anchor", _fastest_anchor),
        ("ours/best", _ratio("ours_hybrid.qubit")),
        ("checks", _checks),
        ("", _resumed(resumed)),
    ]
    tables = []
    for case in [*DEVICE_TITLES, *sorted({r["case"] for r in rows} - set(DEVICE_TITLES))]:
        case_rows = sorted((r for r in rows if r["case"] == case), key=lambda r: r["n"])
        table = _table(DEVICE_TITLES.get(case, f"PennyLane device: {case}"), cols, case_rows, markdown)
        if table:
            tables.append(_with_notes(table, case_rows, {}, markdown))
    return "\n\n".join(tables)


def memory_table(rows, resumed, markdown: bool = False) -> str:
    flat = []
    for rec in rows:
        for engine, slot in rec.get("engines", {}).items():
            flat.append({"key": rec["key"], "n": rec["n"], "engine": engine, **slot})

    def mib(r):
        if "peak_delta_bytes" in r:
            return f"{r['peak_delta_bytes'] / 2**20:.0f} MiB"
        return "skip" if "skipped" in r else "ERR"

    cols: list[Column] = [
        ("n", lambda r: str(r["n"])),
        ("engine", lambda r: r["engine"]),
        ("dtype", lambda r: r.get("dtype", "-")),
        ("peak - setup", mib),
        ("states", lambda r: f"{r['states']:.1f}" if "states" in r else "-"),
        ("time", lambda r: format_seconds(r.get("time_s"))),
        ("", _resumed(resumed)),
    ]
    title = "Memory: one 2-layer SEL gradient in a fresh process (states = delta / (2^n x itemsize))"
    return _table(title, cols, flat, markdown)


_TABLES = {
    "statevector": statevector_table,
    "gradients": gradients_table,
    "batched": batched_table,
    "device": device_table,
    "memory": memory_table,
}


def render(
    records: list[dict], resumed: set[str], bandwidth_gbps: float | None = None, markdown: bool = False
) -> str:
    """One table per engine suite (text, or Markdown with ``markdown``) and a legend."""
    parts = []
    for suite, table in _TABLES.items():
        text = table([r for r in records if r.get("suite") == suite], resumed, markdown)
        if text:
            parts.append(text)
    footer = "Cells: median time; skip = skipped (see the JSON line), ERR = error, ! = failed its check."
    if bandwidth_gbps:
        footer += (
            f"\nfloor = gates x 2 x 2^n x itemsize / copy bandwidth ({bandwidth_gbps:.1f} GB/s read + write, "
            "this run); x/floor = time / floor."
        )
    if resumed:
        footer += " * = from an earlier run (resumed)."
    return "\n\n".join(parts + [footer])


# --- the noise suite -------------------------------------------------------------------------


def _num(key: str, fmt: str = "{:.4g}") -> Callable[[dict], str]:
    def cell(row: dict) -> str:
        v = row.get(key)
        return "-" if v is None else fmt.format(v)

    return cell


def _row_check(row: dict) -> str:
    check = row.get("check")
    if not isinstance(check, dict) or "passed" not in check:
        return "-"
    return "ok" if check["passed"] else "FAILED"


def _ratio_to(ours: str, anchor: str) -> Callable[[dict], str]:
    def cell(rec: dict) -> str:
        a = rec.get("engines", {}).get(ours, {}).get("median_s")
        b = rec.get("engines", {}).get(anchor, {}).get("median_s")
        return f"{a / b:.2f}x" if a is not None and b else "-"

    return cell


def _engine_check(engine: str, key: str, fmt: str) -> Callable[[dict], str]:
    def cell(rec: dict) -> str:
        check = rec.get("engines", {}).get(engine, {}).get("check", {})
        return fmt.format(check[key]) if key in check else "-"

    return cell


_NOISE_PHYSICS: dict[str, tuple[str, list[Column]]] = {
    "ghz": ("GHZ_n <X...X> under depolarizing noise: density matrix vs closed form, and trajectories (2000)", [
        ("case", lambda r: r.get("case", "-")), ("noise", lambda r: r.get("noise", "-")), ("density matrix", _num("density_matrix", "{:.10f}")),
        ("closed form", _num("closed_form", "{:.10f}")), ("trajectories", lambda r: f"{r['trajectories']:.4f} ± {r['trajectories_stderr']:.4f}" if "trajectories" in r else "-"),
        ("check", _row_check)]),
    "grover": ("Grover success probability vs noise after every gate (exact density matrix) and the global-depolarizing estimate", [
        ("case", lambda r: r["case"]), ("noise", lambda r: r["noise"]), ("eps per 1q location", _num("eps_1q", "{:.2e}")),
        ("locations", _num("locations", "{}")), ("F", _num("F", "{:.4f}")), ("success", _num("success", "{:.4f}")),
        ("estimate", _num("estimate", "{:.4f}")), ("ideal", _num("ideal", "{:.4f}")), ("check", _row_check)]),
    "qaoa": ("QAOA MaxCut expected cut vs depolarizing noise (angles optimised without noise)", [
        ("case", lambda r: r["case"]), ("noise", lambda r: r["noise"]), ("<C>", _num("expected_cut", "{:.4f}")),
        ("estimate", _num("estimate", "{:.4f}")), ("<C>/max cut", _num("ratio", "{:.4f}")), ("F", _num("F", "{:.4f}")),
        ("check", _row_check)]),
    "vqe_h2": ("H2 VQE energy (Ha) vs depolarizing noise: at the noiseless optimum and re-optimised under noise", [
        ("noise", lambda r: r["noise"]), ("E at ideal angles", _num("energy_at_ideal_angles", "{:.6f}")),
        ("E re-optimised", _num("energy_reoptimised", "{:.6f}")), ("estimate", _num("estimate", "{:.6f}")),
        ("error vs exact (mHa)", _num("error_mHa", "{:.2f}")), ("exact", _num("exact", "{:.6f}")), ("F", _num("F", "{:.4f}")),
        ("check", _row_check)]),
    "backend": ("Under a fake IBM backend's noise model (NoiseModel.from_backend, transpiled to its gates), checked against Aer", [
        ("case", lambda r: r["case"]), ("quantity", lambda r: r["detail"]), ("wires", _num("physical_qubits", "{}")),
        ("2q gates", _num("two_qubit_gates", "{}")), ("ideal", _num("ideal", "{:.4f}")), ("noisy", _num("noisy", "{:.4f}")),
        ("+ readout", _num("noisy_with_readout", "{:.4f}")), ("estimate", _num("estimate", "{:.4f}")),
        ("vs Aer", lambda r: f"{r['check']['max_abs_diff']:.1e}" if "check" in r else "-"), ("check", _row_check)]),
}  # fmt: skip


def noise_section(records: list[dict], resumed: set[str]) -> str:
    """The noise suite's Markdown: one table per physics unit, then the two timing tables."""
    parts = []
    for rec in records:
        if rec.get("case") in _NOISE_PHYSICS and "rows" in rec:
            title, cols = _NOISE_PHYSICS[rec["case"]]
            if rec.get("case") == "backend" and rec["rows"]:
                title += f" ({rec['rows'][0].get('backend')})"
            title += " *resumed*" if rec["key"] in resumed else ""
            parts.append(_table(title, cols, rec["rows"], True))
    parts.append(
        "estimate = F x ideal + (1 - F) x (the maximally mixed state's value), F = prod_i (1 - eps_i) over the "
        "circuit's channels, eps_i = the channel's Pauli-twirled error probability (p for depolarizing(p)): "
        "the state modelled as F rho_ideal + (1 - F) I / 2^n."
    )
    dm = sorted((r for r in records if r.get("case") == "dm_layered"), key=lambda r: r["n"])
    if dm:
        cols: list[Column] = [
            ("n", lambda r: str(r["n"])), ("gates + channels", lambda r: f"{r.get('n_gates')} + {r.get('n_channels')}"),
            ("ours dm c128", _time("ours_c128")), ("aer density_matrix", _time("aer_density_matrix")),
            ("default.mixed", _time("default.mixed")), ("ours/aer", _ratio_to("ours_c128", "aer_density_matrix")),
            ("ours/default.mixed", _ratio_to("ours_c128", "default.mixed")),
            ("aer max diff", _engine_check("aer_density_matrix", "max_abs_diff", "{:.1e}")),
            ("default.mixed max diff", _engine_check("default.mixed", "max_abs_diff", "{:.1e}")),
            ("checks", _checks), ("", _resumed(resumed)),
        ]  # fmt: skip
        title = ("Density matrix, noisy layered circuit (2 layers, depolarizing 0.01 after every gate), final "
                 "probabilities, complex128 (median wall time per run)")  # fmt: skip
        parts.append(_with_notes(_table(title, cols, dm, True), dm, {}, True))
    traj = sorted((r for r in records if str(r.get("case", "")).startswith("trajectories_layered")),
                  key=lambda r: (r.get("shots", 0), r["n"]))  # fmt: skip
    if traj:
        cols = [
            ("n", lambda r: str(r["n"])), ("shots", lambda r: str(r.get("shots", "-"))),
            ("ours traj c128", _time("ours_c128")), ("ours traj c64", _time("ours_c64")),
            ("aer statevector", _time("aer_statevector")), ("c128/aer", _ratio_to("ours_c128", "aer_statevector")),
            ("c64/aer", _ratio_to("ours_c64", "aer_statevector")),
            ("aer max z", _engine_check("aer_statevector", "max_z_score", "{:.1f}")),
            ("checks", _checks), ("", _resumed(resumed)),
        ]  # fmt: skip
        title = ("Trajectories, noisy layered circuit (1 layer, depolarizing 0.01 after every gate), one shot "
                 "per trajectory, counts (median wall time per run)")  # fmt: skip
        parts.append(_with_notes(_table(title, cols, traj, True), traj, {}, True))
    parts.append("Cells: median time; skip = skipped (reason below the table), ERR = error, ! = failed its check.")
    return "\n\n".join(p for p in parts if p)
