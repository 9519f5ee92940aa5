"""`python -m bench`: run the benchmark programs on every engine, verify checksums, write the reports."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import report
from .engines import (
    ALL_ENGINES,
    DEFAULT_ENGINES,
    SLOW_ENGINES,
    WORK_DIR,
    Engine,
    Outcome,
    build_c,
    canonical,
    make_engine,
    run_once,
    write_source,
)
from .programs import BENCH_DIR, PROGRAMS, Program, checksums_equal, select
from .report import Cell, Cells

REFERENCE_ORDER = ("c", "cpython", "pypy", "luajit")  # whose checksum counts when none is stored
PREDICTION_MARGIN = 1.25  # a full-size run is skipped when predicted time x this exceeds the timeout


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="small sizes (a smoke test that runs in minutes)")
    ap.add_argument("--engines", default=",".join(DEFAULT_ENGINES),
                    help=f"comma-separated, from {','.join(ALL_ENGINES)} (default: %(default)s)")
    ap.add_argument("--programs", default="", help="comma-separated program names (default: all)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per program and engine (default: 3)")
    ap.add_argument("--out", type=Path, default=BENCH_DIR, help="where results.{md,json,png} go (default: bench/)")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds per run (default: %(default)s)")
    ap.add_argument("--no-skip", action="store_true",
                    help="run interp and CPython at full size even when a quick-size run predicts a timeout")
    ap.add_argument("--size", action="append", default=[], metavar="PROGRAM=N",
                    help="override one program's size (repeatable)")
    ap.add_argument("--jit-threshold", type=int, default=None, help="passed to tauraro as --jit-threshold")
    ap.add_argument("--tauraro-cache", action="store_true",
                    help="let tauraro use its compiled-module cache (default: --no-cache, every run compiles)")
    ap.add_argument("--list", action="store_true", help="list programs and engines, then exit")
    args = ap.parse_args(argv)
    if args.repeat < 1:
        ap.error("--repeat must be at least 1")
    if args.timeout <= 0:
        ap.error("--timeout must be positive")
    return args


def _parse_sizes(items: list[str]) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not value.strip().isdigit():
            raise ValueError(f"--size wants PROGRAM=N, got '{item}'")
        select([name.strip()])
        sizes[name.strip()] = int(value)
    return sizes


def _engine_names(text: str) -> list[str]:
    names = [canonical(n) for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in ALL_ENGINES]
    if unknown:
        raise ValueError(f"unknown engine(s): {', '.join(unknown)} (known: {', '.join(ALL_ENGINES)})")
    # Suite order: the reference engines run first, so their checksums are known early.
    return [n for n in ALL_ENGINES if n in names]


class Runner:
    """Runs the chosen programs on the chosen engines and fills the result cells."""

    def __init__(self, args: argparse.Namespace, engines: dict[str, Engine]) -> None:
        self.args = args
        self.engines = engines
        self.cells: Cells = {}
        self.overheads: dict[str, float | None] = {}

    def run_one(self, engine: Engine, program: Program, size: int) -> Outcome:
        src = write_source(program, size)
        inv = engine.invocation(program, size, src, self.args.jit_threshold, self.args.tauraro_cache)
        return run_once(inv, self.args.timeout)

    def overhead(self, engine: Engine) -> float | None:
        """End-to-end time of a trivial program on this engine (start-up cost), measured once."""
        if engine.name not in self.overheads:
            path = WORK_DIR / "src" / "empty.tr"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("print(0)\n", encoding="utf-8")
            inv = engine.invocation(PROGRAMS[0], 0, path, self.args.jit_threshold, self.args.tauraro_cache)
            o = run_once(inv, self.args.timeout)
            self.overheads[engine.name] = o.wall if o.status == "ok" else None
        return self.overheads[engine.name]

    def probe(self, engine: Engine, program: Program, size: int, cell: Cell) -> bool:
        """Predict the full-size time from a quick-size run; False (cell skipped/failed) if it won't fit."""
        q = program.quick
        o = self.run_one(engine, program, q)
        want = program.expected.get(q)
        if o.status == "ok" and want is not None and not checksums_equal(o.checksum, want):
            o.status, o.message = "wrong", f"checksum {o.checksum!r}, expected {want!r}"
        if o.status != "ok":
            cell.status, cell.note = o.status, f"{o.message} (in the quick-size probe, N={q:,})"
            cell.probe = {"size": q, "status": o.status, "wall_seconds": o.wall, "message": o.message}
            log(f"  {program.name:>10} {engine.label:>18}: quick-size probe {o.status}: {o.message}")
            return False
        base = self.overhead(engine) or 0.0
        base = min(base, o.wall or 0.0)
        scale = program.cost(size) / program.cost(q)
        predicted = base + ((o.wall or 0.0) - base) * scale
        cell.probe = {"size": q, "status": "ok", "wall_seconds": o.wall, "startup_seconds": base,
                      "predicted_seconds": predicted}
        log(f"  {program.name:>10} {engine.label:>18}: quick size N={q:,} took {o.wall:.3f} s; "
            f"predicted {predicted:.1f} s at N={size:,}")
        if predicted * PREDICTION_MARGIN > self.args.timeout:
            cell.status = "skipped"
            cell.note = (f"predicted {predicted:.0f} s > timeout {self.args.timeout:g} s "
                         f"(N={q:,} took {o.wall:.2f} s; --no-skip runs it anyway)")
            return False
        return True

    def run_program(self, program: Program, size: int) -> None:
        args = self.args
        want = program.expected.get(size)
        active: list[Engine] = []
        for name, engine in self.engines.items():
            cell = Cell(program.name, name, size)
            self.cells[(program.name, name)] = cell
            if engine.missing:
                cell.status, cell.note = "missing", engine.missing
                continue
            if engine.kind == "c":
                err = build_c(engine, program)
                if err:
                    cell.status, cell.note = "error", err
                    log(f"  {program.name:>10} {engine.label:>18}: {err}")
                    continue
            if (name in SLOW_ENGINES and not args.quick and not args.no_skip
                    and program.cost(size) > program.cost(program.quick)
                    and not self.probe(engine, program, size, cell)):
                continue
            active.append(engine)
        for rep in range(args.repeat):
            for engine in active:
                cell = self.cells[(program.name, engine.name)]
                if cell.status not in ("pending", "ok"):
                    continue
                o = self.run_one(engine, program, size)
                if o.status == "ok" and want is not None and not checksums_equal(o.checksum, want):
                    o.status, o.message = "wrong", f"checksum {o.checksum!r}, expected {want!r}"
                cell.runs.append(o)
                if o.status == "ok":
                    cell.status = "ok"
                    cell.note = cell.note or o.message
                else:
                    cell.status, cell.note = o.status, o.message
                shown = f"{o.wall:.3f} s" if o.wall is not None else ""
                log(f"  {program.name:>10} {engine.label:>18} run {rep + 1}/{args.repeat}: "
                    f"{shown} {o.status}{': ' + o.message if o.message else ''}")
        if want is None:
            self._verify_against_reference(program)

    def _verify_against_reference(self, program: Program) -> None:
        """No stored checksum for this size: the first reference engine that ran decides."""
        ref = None
        for name in REFERENCE_ORDER:
            c = self.cells.get((program.name, name))
            if c is not None and c.status == "ok" and c.runs:
                ref = c.runs[0].checksum
                break
        for (pname, _), c in self.cells.items():
            if pname != program.name or c.status != "ok":
                continue
            if ref is None:
                c.note = (c.note + "; " if c.note else "") + "checksum unverified (no reference engine ran)"
                continue
            for r in c.runs:
                if r.status == "ok" and not checksums_equal(r.checksum, ref):
                    r.status, r.message = "wrong", f"checksum {r.checksum!r}, reference {ref!r}"
                    c.status, c.note = "wrong", r.message


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        programs = select([p.strip() for p in args.programs.split(",") if p.strip()])
        names = _engine_names(args.engines)
        sizes = _parse_sizes(args.size)
    except ValueError as e:
        log(f"error: {e}")
        return 2
    engines = {n: make_engine(n) for n in names}
    if args.list:
        for p in PROGRAMS:
            print(f"{p.name:>10}  full N={p.full:<12,} quick N={p.quick:<10,} loop in {p.loop:<8} {p.title}")
        for n in ALL_ENGINES:
            e = engines.get(n) or make_engine(n)
            print(f"{n:>10}  {e.label:<18} {('missing: ' + e.missing) if e.missing else e.version}")
        return 0
    for n, e in engines.items():
        log(f"engine {n:>10}: " + (f"MISSING ({e.missing})" if e.missing else e.version))
    runner = Runner(args, engines)
    for p in programs:
        size = sizes.get(p.name, p.size(args.quick))
        log(f"{p.name} (N={size:,})")
        runner.run_program(p, size)

    machine = report.machine_info(engines)
    meta = {"argv": argv if argv is not None else sys.argv[1:], "quick": args.quick, "repeat": args.repeat,
            "timeout": args.timeout, "jit_threshold": args.jit_threshold, "tauraro_cache": args.tauraro_cache,
            "machine": machine,
            "sizes": {p.name: sizes.get(p.name, p.size(args.quick)) for p in programs}}
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    md = report.render_markdown(meta, programs, engines, runner.cells)
    report.write_results_md(out / "results.md", md)  # keeps the marked sections of other bench scripts
    report.write_json(out / "results.json", meta, programs, engines, runner.cells)
    log(f"wrote {out / 'results.md'} and {out / 'results.json'}")
    log(report.write_chart(out / "results.png", meta, programs, engines, runner.cells))
    print(md)
    wrong = [c for c in runner.cells.values() if c.status == "wrong"]
    for c in wrong:
        log(f"WRONG CHECKSUM: {c.program} on {c.engine}: {c.note}")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
