"""Results: per-cell summaries, ratios, machine info, and the markdown, JSON and chart outputs."""
from __future__ import annotations

import datetime as _dt
import json
import math
import os
import platform
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from .engines import CFLAGS, Engine, Outcome, git_commit
from .programs import Program

BREAKDOWN_KEYS = ("startup_seconds", "interp_seconds", "compile_seconds", "native_seconds")
JIT_ENGINES = ("llvm", "cranelift", "ir")
REFERENCE_ENGINES = ("cpython", "pypy", "luajit")
INSTALL_HINTS = {
    "c": "apt-get install gcc",
    "luajit": "apt-get install luajit",
    "pypy": "apt-get install pypy3",
    "llvm": "pip install -e .  (installs llvmlite)",
    "cranelift": "pip install -e .  (installs wasmtime)",
}


@dataclass
class Cell:
    """All runs of one program on one engine, and what became of them."""

    program: str
    engine: str
    size: int
    status: str = "pending"  # ok, error, timeout, wrong, missing, skipped
    note: str = ""
    runs: list[Outcome] = field(default_factory=list)
    probe: dict | None = None  # the quick-size run used to predict a full-size time

    @property
    def walls(self) -> list[float]:
        return [r.wall for r in self.runs if r.status == "ok" and r.wall is not None]

    @property
    def median(self) -> float | None:
        return statistics.median(self.walls) if self.status == "ok" and self.walls else None

    @property
    def spread(self) -> float | None:
        """(max - min) / median of the run times."""
        w = self.walls
        med = self.median
        return (max(w) - min(w)) / med if med and len(w) > 1 else None

    def stat_median(self, key: str) -> float | None:
        values = []
        for r in self.runs:
            v = (r.stats or {}).get(key)
            if isinstance(v, int | float) and not isinstance(v, bool):
                values.append(float(v))
        return statistics.median(values) if values else None

    @property
    def compile_share(self) -> float | None:
        """Median over runs of compile_seconds / end-to-end time."""
        shares = []
        for r in self.runs:
            c = (r.stats or {}).get("compile_seconds")
            if r.status == "ok" and r.wall and isinstance(c, int | float):
                shares.append(float(c) / r.wall)
        return statistics.median(shares) if shares else None

    def breakdown(self) -> dict[str, float | None]:
        """Median start-up/interp/compile/native seconds, and 'rest' = end-to-end minus those present."""
        parts: dict[str, float | None] = {k.removesuffix("_seconds"): self.stat_median(k) for k in BREAKDOWN_KEYS}
        parts["total"] = self.stat_median("total_seconds")
        known = [v for k, v in parts.items() if k != "total" and v is not None]
        med = self.median
        parts["rest"] = med - sum(known) if med is not None and known else None
        return parts

    def aborts(self) -> list[tuple[object, str]]:
        """Distinct (line, reason) JIT aborts over all runs, in first-seen order."""
        seen: dict[tuple[object, str], None] = {}
        for r in self.runs:
            for a in (r.stats or {}).get("aborts") or []:
                if isinstance(a, dict):
                    seen.setdefault((a.get("line"), str(a.get("reason", ""))), None)
                else:
                    seen.setdefault((None, str(a)), None)
        return list(seen)

    def summary(self) -> dict:
        return {
            "program": self.program, "engine": self.engine, "size": self.size, "status": self.status,
            "note": self.note, "median_seconds": self.median, "spread": self.spread,
            "min_seconds": min(self.walls) if self.walls else None,
            "max_seconds": max(self.walls) if self.walls else None,
            "breakdown_seconds": self.breakdown(), "compile_share": self.compile_share,
            "probe": self.probe,
            "runs": [{"status": r.status, "wall_seconds": r.wall, "cpu_seconds": r.cpu, "checksum": r.checksum,
                      "message": r.message, "stats": r.stats} for r in self.runs],
        }


Cells = dict[tuple[str, str], Cell]


def ratio(cells: Cells, program: str, num: str, den: str) -> float | None:
    a, b = cells.get((program, num)), cells.get((program, den))
    if a is None or b is None or a.median is None or not b.median:
        return None
    return a.median / b.median


def geomean(values: list[float]) -> float | None:
    values = [v for v in values if v and v > 0]
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else None


def machine_info(engines: dict[str, Engine]) -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    os_name = f"{platform.system()} {platform.release()}"
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                os_name = f"{line.split('=', 1)[1].strip(chr(34))} ({platform.system()} {platform.release()})"
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count()
    versions = {name: (e.version if not e.missing else f"missing: {e.missing}") for name, e in engines.items()}
    for pkg in ("llvmlite", "wasmtime"):
        try:
            from importlib.metadata import version

            versions[pkg] = version(pkg)
        except Exception:  # noqa: BLE001 - any failure means "not installed"
            versions[pkg] = "not installed"
    return {
        "date_utc": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S"),
        "cpu": cpu, "cores": os.cpu_count(), "usable_cores": usable, "os": os_name,
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "python": platform.python_version(), "tauraro_commit": git_commit(), "cflags": " ".join(CFLAGS),
        "versions": versions,
    }


# ---------------------------------------------------------------- formatting

def fmt_time(t: float | None) -> str:
    if t is None:
        return ""
    if t == 0:
        return "0"
    if t < 0.001:
        return f"{t * 1e6:.0f} µs"
    if t < 10:
        return f"{t:.3f}"
    if t < 100:
        return f"{t:.2f}"
    return f"{t:.1f}"


def fmt_ratio(r: float | None) -> str:
    if r is None:
        return "—"
    if r >= 100:
        return f"{r:.0f}×"
    if r >= 10:
        return f"{r:.1f}×"
    return f"{r:.2f}×"


def fmt_pct(p: float | None) -> str:
    return "—" if p is None else f"{100 * p:.0f}%"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _status_word(cell: Cell | None) -> str:
    if cell is None:
        return "—"
    return {"ok": "—", "wrong": "wrong checksum"}.get(cell.status, cell.status)


def _ratio_cell(cells: Cells, program: str, num: str, den: str) -> str:
    r = ratio(cells, program, num, den)
    if r is not None:
        return fmt_ratio(r)
    a = cells.get((program, num))
    return _status_word(a) if a is not None and a.status != "ok" else "—"


def _table(header: list[str], rows: list[list[str]], align: list[str] | None = None) -> list[str]:
    align = align or ["l"] + ["r"] * (len(header) - 1)
    sep = ["---:" if a == "r" else "---" for a in align]
    out = ["| " + " | ".join(header) + " |", "| " + " | ".join(sep) + " |"]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return out


def _ratio_table(cells: Cells, programs: list[Program], columns: list[tuple[str, str, str]]) -> list[str]:
    """columns: (heading, numerator engine, denominator engine or '' for compile share)."""
    rows = []
    for p in programs:
        row = [f"{p.name}" + (" ★" if p.headline else "")]
        for _, num, den in columns:
            if den:
                row.append(_ratio_cell(cells, p.name, num, den))
            else:
                c = cells.get((p.name, num))
                row.append(fmt_pct(c.compile_share) if c is not None and c.status == "ok" else _status_word(c))
        rows.append(row)
    gm = ["geometric mean"]
    for _, num, den in columns:
        if den:
            vals = [ratio(cells, p.name, num, den) for p in programs]
            got = [v for v in vals if v is not None]
            txt = fmt_ratio(geomean(got)) if got else "—"
            gm.append(txt + (f" ({len(got)}/{len(vals)})" if got and len(got) < len(vals) else ""))
        else:
            gm.append("")
        # compile share has no meaningful geometric mean
    rows.append(gm)
    return _table(["program"] + [c[0] for c in columns], rows)


def render_markdown(meta: dict, programs: list[Program], engines: dict[str, Engine], cells: Cells) -> str:
    run_names = list(engines)  # missing engines keep their columns: their cells say "missing"
    quick = meta["quick"]
    lines: list[str] = []
    title = "Tauraro benchmark results"
    if quick:
        title += " — QUICK RUN (small --quick sizes: a smoke test, not the benchmark)"
    lines += [f"# {title}", ""]
    lines += [f"Generated by `python -m bench {' '.join(meta['argv'])}` on {meta['machine']['date_utc']} UTC, "
              f"tauraro commit `{meta['machine']['tauraro_commit']}`. Times are end to end (process start to "
              f"exit), median of {meta['repeat']} run(s); every time shown is of a run whose checksum matched. "
              "Ratios are engine time / reference time: for Tauraro, lower is better. ★ = headline workload.", ""]

    jits = [n for n in JIT_ENGINES if n in run_names]
    lines += ["## Summary: Tauraro ratios", ""]
    cols: list[tuple[str, str, str]] = []
    for j in jits:
        cols += [(f"{j} / C", j, "c"), (f"{j} / CPython", j, "cpython"), (f"{j} / PyPy", j, "pypy"),
                 (f"{j} compile share", j, "")]
    if "interp" in run_names:
        cols.append(("interp / CPython", "interp", "cpython"))
    if cols:
        lines += _ratio_table(cells, programs, cols)
        lines += ["", "Compile share = compile_seconds (from --stats-json) / end-to-end time.", ""]
    else:
        lines += ["No Tauraro engine was run.", ""]

    ref_cols = [(f"{engines[n].label} / C", n, "c") for n in REFERENCE_ENGINES if n in run_names]
    if ref_cols and "c" in run_names:  # (a missing C makes every ratio "—"; the details say why)
        lines += ["## Summary: reference engines vs C", ""]
        lines += _ratio_table(cells, programs, ref_cols)
        lines.append("")

    lines += ["## Detailed timings (seconds)", "",
              "spread = (max − min) / median. For Tauraro, start-up / interp / compile / native come from "
              "`--stats-json` (medians); rest = end-to-end − their sum (process start, imports, "
              "anything not accounted for).", ""]
    header = ["program", "size", "engine", "median", "spread", "runs", "× C", "start-up", "interp",
              "compile", "native", "rest", "loops / fns", "exits", "aborts", "note"]
    rows = []
    for p in programs:
        for n in engines:
            c = cells.get((p.name, n))
            if c is None:
                continue
            b = c.breakdown() if engines[n].is_tauraro else {}
            loops = c.stat_median("loops_compiled")
            fns = c.stat_median("functions_compiled")
            note = c.note
            hits = c.stat_median("cache_hits")
            if hits:
                note = (note + "; " if note else "") + f"module cache hits: {hits:.0f}"
            if c.status not in ("ok",):
                note = f"**{_status_word(c)}**" + (f": {c.note}" if c.note else "")
            rows.append([
                p.name, f"{c.size:,}", engines[n].label, fmt_time(c.median), fmt_pct(c.spread),
                str(len(c.walls)) if c.status == "ok" else "", fmt_ratio(ratio(cells, p.name, n, "c"))
                if n != "c" and c.status == "ok" else "",
                fmt_time(b.get("startup")), fmt_time(b.get("interp")), fmt_time(b.get("compile")),
                fmt_time(b.get("native")), fmt_time(b.get("rest")),
                f"{loops:.0f} / {fns:.0f}" if loops is not None and fns is not None else "",
                f"{c.stat_median('exits_taken'):.0f}" if c.stat_median("exits_taken") is not None else "",
                str(len(c.aborts())) if engines[n].is_tauraro and c.runs and c.runs[0].stats else "",
                _md(note),
            ])
    lines += _table(header, rows, ["l", "r", "l"] + ["r"] * 12 + ["l"])
    lines.append("")

    abort_lines = []
    for p in programs:
        for n in engines:
            c = cells.get((p.name, n))
            if c is not None and c.aborts():
                listed = "; ".join(f"line {line}: {_md(reason)}" for line, reason in c.aborts()[:8])
                more = f" (+{len(c.aborts()) - 8} more)" if len(c.aborts()) > 8 else ""
                abort_lines.append(f"- {p.name} / {engines[n].label}: {listed}{more}")
    if abort_lines:
        lines += ["## JIT aborts (distinct line: reason)", ""] + abort_lines + [""]

    lines += ["## Programs", ""]
    rows = [[p.name + (" ★" if p.headline else ""), p.title, f"{p.size(quick):,}",
             f"{p.quick:,}" if not quick else f"{p.full:,} (full)", p.loop] for p in programs]
    lines += _table(["program", "what", "size", "other size", "hot loop in"], rows, ["l", "l", "r", "r", "l"])
    lines.append("")

    m = meta["machine"]
    lines += ["## Machine and engines", ""]
    rows = [["CPU", _md(str(m["cpu"]))], ["cores", f"{m['cores']} ({m['usable_cores']} usable)"],
            ["OS", _md(m["os"])],
            ["load average at start", ", ".join(f"{x:.2f}" for x in m["load_average"] or [])],
            ["tauraro commit", m["tauraro_commit"]], ["C flags", m["cflags"]]]
    shown: set[str] = set()
    for name, v in m["versions"].items():
        label = "tauraro" if name in engines and engines[name].is_tauraro and not engines[name].missing else name
        if label not in shown:
            shown.add(label)
            rows.append([label, _md(v)])
    lines += _table(["", ""], rows, ["l", "l"])
    missing = [n for n in engines if engines[n].missing]
    if missing:
        lines += ["", "Missing engines (reported, not run): " + "; ".join(
            f"{engines[n].label}: {engines[n].missing}"
            + (f" — install: `{INSTALL_HINTS[n]}`" if n in INSTALL_HINTS else "") for n in missing) + "."]
    lines.append("")
    return "\n".join(lines)


def write_json(path: Path, meta: dict, programs: list[Program], engines: dict[str, Engine], cells: Cells) -> None:
    ratios: dict[str, dict[str, float | None]] = {}
    names = [n for n in engines if not engines[n].missing]
    for p in programs:
        r: dict[str, float | None] = {}
        for num in (n for n in names if n != "c"):
            for den in ("c", "cpython", "pypy", "luajit"):
                if num != den and den in names:
                    r[f"{num}/{den}"] = ratio(cells, p.name, num, den)
            c = cells.get((p.name, num))
            if engines[num].is_tauraro and c is not None:
                r[f"{num}:compile_share"] = c.compile_share
        ratios[p.name] = r
    data = {
        "meta": meta,
        "engines": {n: {"label": e.label, "missing": e.missing, "version": e.version} for n, e in engines.items()},
        "programs": {p.name: {"title": p.title, "size": p.size(meta["quick"]), "full": p.full, "quick": p.quick,
                              "loop": p.loop, "headline": p.headline} for p in programs},
        "ratios": ratios,
        "cells": [c.summary() for c in cells.values()],
    }
    path.write_text(json.dumps(data, indent=1, default=str) + "\n", encoding="utf-8")


def write_chart(path: Path, meta: dict, programs: list[Program], engines: dict[str, Engine],
                cells: Cells) -> str:
    """Bar chart of time relative to C (log scale); returns a one-line message."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed: chart skipped (pip install matplotlib)"
    progs = [p for p in programs if (c := cells.get((p.name, "c"))) is not None and c.median]
    others = [n for n in engines if n != "c" and any(ratio(cells, p.name, n, "c") for p in progs)]
    if not progs or not others:
        return "no engine has a time relative to C: chart skipped"
    fig, ax = plt.subplots(figsize=(min(18.0, max(8.0, 4 + 0.3 * len(progs) * len(others))), 5.5))
    width = 0.8 / len(others)
    for i, n in enumerate(others):
        xs, ys = [], []
        for k, p in enumerate(progs):
            r = ratio(cells, p.name, n, "c")
            if r:
                xs.append(k - 0.4 + width * (i + 0.5))
                ys.append(r)
        ax.bar(xs, ys, width=width, label=engines[n].label)
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_yscale("log")
    ax.set_xticks(range(len(progs)))
    ax.set_xticklabels([p.name for p in progs], rotation=30, ha="right")
    ax.set_ylabel("time relative to C (gcc -O2), log scale")
    kind = "quick sizes" if meta["quick"] else "full sizes"
    ax.set_title(f"Tauraro benchmarks, end-to-end time / C ({kind}, median of {meta['repeat']})")
    ax.legend(fontsize="small", ncol=2)
    ax.grid(axis="y", which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return f"chart written to {path}"


def kept_sections(path: Path) -> str:
    """The sections other benchmarks wrote into results.md (`<!-- section:NAME -->` ... `<!-- /section:NAME -->`,
    e.g. bench.compile's), carried over when the main table is regenerated."""
    import re

    text = path.read_text(encoding="utf-8") if path.exists() else ""
    found = re.finditer(r"<!-- section:([\w-]+) -->.*?<!-- /section:\1 -->\n?", text, re.S)
    return "".join("\n" + m.group(0) for m in found)
