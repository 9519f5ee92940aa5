"""Compile-time benchmark: Tauraro's front end + bytecode compiler against CPython's compile(), by source size.

`python -m bench.compile [--quick] [--repeat 3] [--shapes list,lines,...] [--no-write]` generates sources of
growing size in several shapes (a big list literal, many lines, many functions, deep nesting, Hausa
keywords throughout, a ~10 MB mixed program), and for each measures, in a fresh child process:
CPython's own `compile(src, filename, 'exec')`, and Tauraro's `compile_source` (alias mapping, parse, scopes with
the precheck, CPython's compile-time check where the precheck asks for it, subset check, bytecode) split by
stage; best time of --repeat, peak RSS.
The table goes to stdout, bench/compile.md and a marked section of bench/results.md.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
SECTION = "compile-time"
# CPU time of the measuring process: compiling is single-threaded, so on an idle machine it equals wall time, and
# on this shared 2-core machine it does not count the time other jobs hold the CPU (wall times varied by ±30%).
_clock = time.process_time


# --- sources ------------------------------------------------------------------------------------------
def big_list(n: int) -> str:
    return "x = [" + ", ".join(str(i) for i in range(n)) + "]\nprint(len(x))\n"


def many_lines(n: int) -> str:
    return "".join(f"v{i} = {i} * 2 + {i % 7}\n" for i in range(n)) + "print(v1)\n"


def many_functions(n: int) -> str:
    return "".join(
        f"def f{i}(a, b={i}):\n    c = a + b * {i}\n    if c > {i}:\n        return c - 1\n    return c\n"
        for i in range(n)) + "print(f1(2))\n"


def nesting(n: int) -> str:
    """n copies of a block nested 90 levels deep, each with an expression nested 190 parentheses deep."""
    block = []
    for d in range(90):
        block.append("    " * d + f"if a > {d}:\n")
    block.append("    " * 90 + "a = " + "(" * 190 + "a" + " + 1)" * 190 + "\n")
    return "a = 1000\n" + "".join(block) * n + "print(a)\n"


def hausa(n: int) -> str:
    """n two-line statements written with Hausa keywords throughout (the alias mapper's worst case)."""
    return "v = babu\n" + "".join(
        f"idan v shine babu ko v > {i} dakuma ba karyane:\n    v = {i} idan gaskiyane akasi babu\n"
        for i in range(n // 2)) + "print(v)\n"


MIXED_BLOCK = '''
# block {i}: a little of everything a real program has
iri Shape{i}:
    aiki __init__(self, w, h):
        self.w = w
        self.h = h
    aiki area(self):
        maido self.w * self.h
    aiki __repr__(self):
        maido f"Shape{i}({{self.w}}, {{self.h}}) area={{self.area():.2f}}"


aiki process{i}(items, limit=100):
    """Sum the areas below a limit; count the rest."""
    total = 0.0
    skipped = 0
    duk s cikin items:
        idan s.area() < limit dakuma ba s.w == 0:
            total += s.area()
        kokuma idan s.area() == limit:
            cigaba
        akasi:
            skipped += 1
    counts = {{k: v duk k, v cikin zip("abc", [1, 2, 3])}}
    gwada:
        ratio = total / (skipped ko 1)
    kama ZeroDivisionError:
        ratio = babu
    maido total, skipped, ratio, counts


table{i} = [Shape{i}(w, w + {i} % 7) duk w cikin range(10)]
names{i} = ["alpha", "beta", 'gamma', """delta"""]
result{i} = process{i}(table{i}, limit={i} % 50 + 10)
'''


def mixed(n_bytes: int) -> str:
    parts, size, i = [], 0, 0
    while size < n_bytes:
        block = MIXED_BLOCK.format(i=i)
        parts.append(block)
        size += len(block)
        i += 1
    return "".join(parts) + "print(result0)\n"


# shape -> (generator, unit, sizes, quick sizes)
SHAPES: dict[str, tuple] = {
    "list": (big_list, "elements", [10_000, 20_000, 40_000], [2_500, 5_000, 10_000]),
    "lines": (many_lines, "lines", [10_000, 20_000, 40_000], [2_500, 5_000, 10_000]),
    "functions": (many_functions, "functions", [2_500, 5_000, 10_000], [500, 1_000, 2_000]),
    "nesting": (nesting, "blocks", [25, 50, 100], [5, 10, 20]),
    "hausa": (hausa, "lines", [10_000, 20_000, 40_000], [2_500, 5_000, 10_000]),
    "mixed": (mixed, "bytes", [2_500_000, 5_000_000, 10_000_000], [250_000, 500_000, 1_000_000]),
}


# --- the child process: one measurement ----------------------------------------------------------------
def measure(shape: str, size: int, engine: str, repeat: int) -> dict:
    """Best-of-repeat seconds (per stage for tauraro) and peak RSS of compiling one generated source."""
    import resource

    source = SHAPES[shape][0](size)
    filename = f"{shape}_{size}.tr"
    if engine == "cpython":
        from tauraro.frontend import to_python

        source = to_python(source)  # what CPython runs for this program
        best = min(_timed(lambda: compile(source, filename, "exec")) for _ in range(repeat))
        stages = {"total": best}
    else:
        stages = {}
        for _ in range(repeat):
            for k, v in _tauraro_stages(source, filename).items():
                stages[k] = min(stages.get(k, float("inf")), v)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"shape": shape, "size": size, "engine": engine, "bytes": len(source.encode("utf-8")),
            "seconds": stages, "peak_rss": rss}


def _timed(fn) -> float:
    start = _clock()
    fn()
    return _clock() - start


def _tauraro_stages(source: str, filename: str) -> dict[str, float]:
    """compile_source's stages timed one by one (with its GC and recursion settings), then as a whole."""
    import gc

    from tauraro import frontend
    from tauraro.compiler import Compiler, compile_source
    from tauraro.precheck import precheck
    from tauraro.scopes import analyse

    t = {}
    gc.collect()
    gc.disable()
    try:
        start = _clock()
        mapped = frontend.map_aliases(source)
        t["aliases"] = _clock() - start
        with frontend.recursion_limit(frontend.CPYTHON_RECURSION_LIMIT + frontend._stack_depth()):
            start = _clock()
            tree = frontend._parse_like_cpython(mapped, filename)
            t["parse"] = _clock() - start
        start = _clock()
        scopes, risk = precheck(tree, mapped.python)  # the scope pass, which also decides on the check
        t["scopes"] = _clock() - start
        with frontend.recursion_limit(frontend.FRONT_END_RECURSION_LIMIT):
            start = _clock()
            if risk is not None:  # as compile_source does
                frontend.check_like_cpython(tree, mapped, filename)
                if scopes is None:
                    scopes = analyse(tree)
            t["check"] = _clock() - start
            start = _clock()
            if frontend.SUBSET_CHECK_NEEDED:  # as compile_source does
                frontend.SubsetChecker(filename, mapped).visit(tree)
            t["subset"] = _clock() - start
            compiler = Compiler(tree, mapped, filename, scopes)
            start = _clock()
            compiler.compile_module()
            t["bytecode"] = _clock() - start
    finally:
        gc.enable()
    del tree, mapped, compiler, scopes
    gc.collect()
    t["total"] = _timed(lambda: compile_source(source, filename))
    return t


# --- the parent: run every case in a child, tabulate ------------------------------------------------------
def run_case(shape: str, size: int, engine: str, repeat: int, timeout: float) -> dict:
    cmd = [sys.executable, "-m", "bench.compile", "--child", json.dumps([shape, size, engine, repeat])]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=REPO_ROOT)
    except subprocess.TimeoutExpired:
        return {"shape": shape, "size": size, "engine": engine, "error": f"timeout ({timeout:g} s)"}
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines()
        return {"shape": shape, "size": size, "engine": engine, "error": lines[-1] if lines else "failed"}
    return json.loads(proc.stdout)


def render(rows: list[dict], meta: dict) -> str:
    stages = ["aliases", "parse", "check", "subset", "scopes", "bytecode"]
    out = [
        f"Generated by `{meta['command']}` on {meta['date']} ({meta['python']}, {meta['machine']}, load "
        f"average {meta['load']} at the start, {meta['load_end']} at the end). Best of {meta['repeat']} runs "
        "per case, each case in a fresh process, CPython and Tauraro run one after the other; times are CPU "
        "time of the process (`time.process_time`: compiling is single-threaded, and on a loaded machine wall "
        "times vary by ±30% or more). *ratio* = Tauraro's `compile_source` / CPython's "
        "`compile(src, f, 'exec')` for the same (alias-mapped) source; stage columns are fractions of "
        "CPython's time; *µs/KB* shows linearity (constant down a shape's rows); RSS = peak resident memory "
        "of the whole process.",
        "",
        "| shape | size | KB | CPython s | Tauraro s | ratio | " + " | ".join(stages) +
        " | µs/KB | CPython RSS MB | Tauraro RSS MB |",
        "| --- | ---: | ---: | ---: | ---: | ---: | " + " | ".join("---:" for _ in stages) + " | ---: | ---: | ---: |",
    ]
    by_key = {(r["shape"], r["size"], r["engine"]): r for r in rows}
    ratios = []
    for shape, (_, unit, _sizes, _quick) in SHAPES.items():
        for size in meta["sizes"].get(shape, []):
            cp, ta = by_key.get((shape, size, "cpython")), by_key.get((shape, size, "tauraro"))
            if cp is None or ta is None:
                continue
            if "error" in cp or "error" in ta:
                out.append(f"| {shape} | {size:,} {unit} | | {cp.get('error', '')} | {ta.get('error', '')} |")
                continue
            c, s = cp["seconds"]["total"], ta["seconds"]
            ratios.append(s["total"] / c)
            kb = ta["bytes"] / 1024
            out.append(
                f"| {shape} | {size:,} {unit} | {kb:,.0f} | {c:.3f} | {s['total']:.3f} | {s['total'] / c:.2f}× | "
                + " | ".join(f"{s[k] / c:.2f}" for k in stages)
                + f" | {s['total'] * 1e6 / kb:.0f} | {cp['peak_rss'] / 2**20:.0f} | {ta['peak_rss'] / 2**20:.0f} |")
    if ratios:
        from statistics import geometric_mean

        out += ["", f"Geometric mean of the ratios: {geometric_mean(ratios):.2f}×; worst {max(ratios):.2f}×."]
    return "\n".join(out) + "\n"


def update_results_md(table: str) -> None:
    """Replace (or append) the marked compile-time section of bench/results.md."""
    from .report import put_section

    put_section(BENCH_DIR / "results.md", SECTION,
                f"## Compile time: front end + bytecode vs CPython's compile()\n\n{table}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.compile", description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (a smoke test, seconds)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--shapes", default=",".join(SHAPES), help=f"comma list of: {', '.join(SHAPES)}")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds per case")
    ap.add_argument("--no-write", action="store_true", help="print only; do not write compile.md/results.md")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(measure(*json.loads(args.child))))
        return 0
    shapes = [s for s in args.shapes.split(",") if s]
    unknown = [s for s in shapes if s not in SHAPES]
    if unknown:
        ap.error(f"unknown shape {unknown[0]!r} (choose from {', '.join(SHAPES)})")
    sizes = {s: SHAPES[s][3 if args.quick else 2] for s in shapes}
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "unknown"
    rows = []
    for shape in shapes:
        for size in sizes[shape]:
            for engine in ("cpython", "tauraro"):
                row = run_case(shape, size, engine, args.repeat, args.timeout)
                rows.append(row)
                took = row.get("error") or f"{row['seconds']['total']:.3f} s"
                print(f"{shape} {size:,} {engine}: {took}", file=sys.stderr)
    meta = {"command": "python -m bench.compile" + (" --quick" if args.quick else "")
            + (f" --repeat {args.repeat}" if args.repeat != 3 else ""),
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "repeat": args.repeat,
            "python": f"CPython {platform.python_version()}", "machine": f"{platform.machine()}",
            "sizes": sizes, "load": load,
            "load_end": ", ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "unknown"}
    table = render(rows, meta)
    print(table)
    if not args.no_write and not args.quick:
        (BENCH_DIR / "compile.md").write_text("# Compile time vs CPython\n\n" + table, encoding="utf-8")
        update_results_md(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
