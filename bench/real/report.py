"""The real-programs report: ratios to CPython, why Tauraro did not run a program, markdown and JSON."""
from __future__ import annotations

import json
import re
from pathlib import Path

from ..report import Cell, Cells, fmt_ratio, fmt_time, geomean, put_section
from .catalog import RealProgram

SECTION = "real-programs"  # the name of this harness's section of bench/results.md
REFERENCE = "cpython"
# A front-end rejection: "FILE:LINE:COL: error: MESSAGE" (exit status 2).
REJECTION = re.compile(r"^.+?:\d+:\d+: error: (?P<msg>.+)$")
STATUS_WORDS = {"ok": "ok", "different": "**DIFFERENT OUTPUT**", "error": "error", "rejected": "rejected",
                "timeout": "timeout", "missing": "missing", "skipped": "not run", "pending": "not run"}


def ratio_to_reference(cells: Cells, program: str, engine: str) -> float | None:
    """engine time / CPython time, for runs whose output was identical to CPython's."""
    a, b = cells.get((program, engine)), cells.get((program, REFERENCE))
    if a is None or b is None or a.status != "ok" or b.status != "ok" or not a.median or not b.median:
        return None
    return a.median / b.median


def cause(message: str) -> str:
    """A failure message without its file position, so that equal causes group together."""
    m = REJECTION.match(message)
    return m.group("msg") if m else message


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _cell_word(cell: Cell | None, ratio: float | None) -> str:
    if cell is None:
        return "—"
    if ratio is not None:
        return fmt_ratio(ratio)
    return STATUS_WORDS.get(cell.status, cell.status)


def _table(header: list[str], rows: list[list[str]], align: str) -> list[str]:
    sep = ["---:" if a == "r" else "---" for a in align]
    return ["| " + " | ".join(header) + " |", "| " + " | ".join(sep) + " |"] + [
        "| " + " | ".join(r) + " |" for r in rows]


def summary_table(programs: list[RealProgram], labels: dict[str, str], cells: Cells) -> list[str]:
    others = [n for n in labels if n != REFERENCE]
    header = ["program", "lines", "CPython (s)"] + [f"{labels[n]} / CPython" for n in others]
    rows = []
    for p in programs:
        ref = cells.get((p.name, REFERENCE))
        ref_text = fmt_time(ref.median) if ref is not None and ref.status == "ok" else _cell_word(ref, None)
        rows.append([p.name, str(p.lines), ref_text] + [
            _cell_word(cells.get((p.name, n)), ratio_to_reference(cells, p.name, n)) for n in others])
    gm = ["geometric mean", "", ""]
    for n in others:
        got = [r for r in (ratio_to_reference(cells, p.name, n) for p in programs) if r is not None]
        gm.append(f"{fmt_ratio(geomean(got))} ({len(got)}/{len(programs)})" if got else f"— (0/{len(programs)})")
    rows.append(gm)
    return _table(header, rows, "lrr" + "r" * len(others))


def failures(programs: list[RealProgram], labels: dict[str, str], cells: Cells) -> dict[str, dict[str, list[str]]]:
    """cause -> program -> engines that failed with it (every engine but CPython, in order)."""
    found: dict[str, dict[str, list[str]]] = {}
    for p in programs:
        for n in labels:
            c = cells.get((p.name, n))
            if n == REFERENCE or c is None or c.status not in ("error", "rejected", "timeout", "different"):
                continue
            key = f"{STATUS_WORDS[c.status]}: {cause(c.note)}" if c.status != "different" else c.status
            found.setdefault(key, {}).setdefault(p.name, []).append(labels[n])
    return found


def failure_lines(programs: list[RealProgram], labels: dict[str, str], cells: Cells) -> list[str]:
    groups = failures(programs, labels, cells)
    if not groups:
        return []
    tauraro = {labels[n] for n in labels if n not in (REFERENCE, "pypy")}
    lines = ["### Why programs did not run (grouped by the first line of the error)", "",
             "A program is named alone when it failed that way on every Tauraro engine; otherwise the engines "
             "follow it in brackets.", ""]
    for key, progs in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        parts = []
        for name, engines in progs.items():
            parts.append(name if set(engines) == tauraro else f"{name} ({', '.join(engines)})")
        lines.append(f"- {_md(key)} — {len(progs)} program(s): {', '.join(parts)}")
    lines.append("")
    return lines


def detail_table(programs: list[RealProgram], labels: dict[str, str], cells: Cells) -> list[str]:
    header = ["program", "size", "engine", "median (s)", "spread", "runs", "× CPython", "output",
              "loops / fns compiled", "note"]
    rows = []
    for p in programs:
        for n, label in labels.items():
            c = cells.get((p.name, n))
            if c is None:
                continue
            loops, fns = c.stat_median("loops_compiled"), c.stat_median("functions_compiled")
            output = {"ok": "identical", "different": "**different**"}.get(c.status, "")
            if n == REFERENCE and c.status == "ok":
                output = "reference"
            rows.append([
                p.name, f"{c.size:,}", label, fmt_time(c.median), "" if c.spread is None else f"{100 * c.spread:.0f}%",
                str(len(c.walls)) if c.status == "ok" else "",
                fmt_ratio(ratio_to_reference(cells, p.name, n)) if n != REFERENCE else "", output,
                f"{loops:.0f} / {fns:.0f}" if loops is not None and fns is not None else "",
                _md(c.note if c.status == "ok" else f"{STATUS_WORDS.get(c.status, c.status)}: {c.note}"),
            ])
    return _table(header, rows, "lrlrrrrlrl")


def program_table(programs: list[RealProgram], quick: bool) -> list[str]:
    rows = []
    for p in programs:
        modules, features = p.features
        rows.append([p.name, str(p.lines), f"{p.size(quick):,} ({_md(p.unit)})", _md(p.title),
                     ", ".join(m for m in modules if m != "__future__"), ", ".join(features)])
    return _table(["program", "lines", "size", "what", "imports", "uses"], rows, "lrrlll")


def render_section(meta: dict, programs: list[RealProgram], labels: dict[str, str], cells: Cells) -> str:
    quick = meta["quick"]
    title = "## Real programs" + (" — QUICK RUN (small sizes: a smoke test, not the benchmark)" if quick else "")
    m = meta["machine"]
    load = ", ".join(f"{x:.2f}" for x in m.get("load_average") or [])
    lines = [title, "",
             f"Generated by `python -m bench.real {' '.join(meta['argv'])}` on {m['date_utc']} UTC, tauraro commit "
             f"`{m['tauraro_commit']}`, {m['cpu']} ({m['usable_cores']} usable cores, load average at start "
             f"{load}). Each program is a whole Python program in `bench/real/programs/` run as a user would "
             f"(`python3 prog.py SIZE`, `pypy3 prog.py SIZE`, `python -m tauraro run --backend B prog.py SIZE`); "
             f"runs are interleaved (one run of every engine, then the next round), times are end to end, median "
             f"of {meta['repeat']}. A time counts only when the program's whole output and exit status are "
             "identical to CPython's. Ratios are engine time / CPython time (lower is faster); the geometric "
             "means are over the programs that engine ran (count in brackets).", ""]
    loads = m.get("load_average") or []
    if loads and m.get("usable_cores") and loads[0] > m["usable_cores"]:
        lines += [f"**A shared machine**: the load average ({loads[0]:.1f}) exceeded the {m['usable_cores']} usable "
                  "cores, so every engine ran slower than alone; the interleaved runs keep the ratios fair, the "
                  "absolute times are inflated and noisy (see the spreads).", ""]
    if meta.get("size_note"):
        lines += [meta["size_note"], ""]
    lines += summary_table(programs, labels, cells) + [""]
    lines += failure_lines(programs, labels, cells)
    lines += ["### Programs", ""] + program_table(programs, quick) + [""]
    lines += ["### Detailed timings", "", "spread = (max − min) / median over the runs.", ""]
    lines += detail_table(programs, labels, cells) + [""]
    versions = "; ".join(f"{labels.get(n, n)}: {_md(v)}" for n, v in m["versions"].items())
    lines += [f"Engines: {versions}.", ""]
    return "\n".join(lines)


def write_outputs(md_path: Path, json_path: Path, meta: dict, programs: list[RealProgram],
                  labels: dict[str, str], cells: Cells) -> str:
    """Put the section into md_path and the data into json_path; return the section."""
    section = render_section(meta, programs, labels, cells)
    md_path.parent.mkdir(parents=True, exist_ok=True)
    put_section(md_path, SECTION, section)
    data = {
        "meta": meta,
        "engines": labels,
        "programs": {p.name: {"title": p.title, "lines": p.lines, "size": p.size(meta["quick"]),
                              "default": p.default, "quick": p.quick, "test": p.test, "unit": p.unit,
                              "imports": p.features[0], "uses": p.features[1]} for p in programs},
        "ratios_to_cpython": {p.name: {n: ratio_to_reference(cells, p.name, n) for n in labels if n != REFERENCE}
                              for p in programs},
        "failures": failures(programs, labels, cells),
        "cells": [c.summary() for c in cells.values()],
    }
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(data, indent=1, default=str) + "\n", encoding="utf-8")
    return section
