"""The printed tables: one per suite, built from the case records of this run."""

from __future__ import annotations

from typing import Callable, Iterable

from .timing import format_seconds

__all__ = ["render", "markdown_table"]

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
