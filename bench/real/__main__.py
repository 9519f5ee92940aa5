"""`python -m bench.real`: run the real programs on CPython, PyPy and Tauraro side by side, compare outputs."""
from __future__ import annotations

import argparse
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ..engines import WORK_DIR, Engine, Invocation, Outcome, canonical, make_engine, run_once, tauraro_env
from ..report import Cell, Cells, machine_info
from . import report
from .catalog import PROGRAM_DIR, RealProgram, select

ENGINES = ["cpython", "pypy", "interp", "ir", "cranelift", "llvm"]
DEFAULT_ENGINES = ["cpython", "pypy", "interp", "cranelift", "llvm"]
TIER0 = "interp-tier0"  # `--backend interp --tier 0`, run beside `interp` whenever that is
OUT_DIR = WORK_DIR / "real"  # stats files, sized copies and the argument probe (git-ignored)
BENCH_DIR = Path(__file__).resolve().parent.parent


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


@dataclass
class Runner:
    """One engine as this harness runs it: a Tauraro engine may carry extra `tauraro run` options."""

    name: str
    engine: Engine
    extra: list[str] = field(default_factory=list)
    takes_args: bool = True  # False: the program gets a copy with its DEFAULT_SIZE line rewritten

    @property
    def label(self) -> str:
        return self.name if self.name != self.engine.name else self.engine.label

    def invocation(self, program: RealProgram, size: int) -> Invocation:
        e = self.engine
        if e.kind == "python":
            return Invocation([str(e.exe), str(program.path), str(size)], PROGRAM_DIR)
        stats = OUT_DIR / "stats" / f"{program.name}.{self.name}.json"
        argv = [str(e.exe), "-m", "tauraro", "run", "--backend", str(e.backend), "--no-cache",
                "--stats-json", str(stats), *self.extra]
        if self.takes_args:
            argv += [str(program.path), str(size)]
        else:
            copy = OUT_DIR / "src" / f"n{size}" / program.path.name
            copy.parent.mkdir(parents=True, exist_ok=True)
            copy.write_text(program.sized_source(size), encoding="utf-8")
            argv.append(str(copy))
        return Invocation(argv, PROGRAM_DIR, tauraro_env(), stats)


def tauraro_takes_args(engine: Engine, timeout: float) -> bool:
    """Whether `tauraro run FILE ARG` passes ARG to the program (sys.argv) instead of rejecting it."""
    probe = OUT_DIR / "argv_probe.py"
    probe.parent.mkdir(parents=True, exist_ok=True)
    probe.write_text("print(0)\n", encoding="utf-8")
    inv = Invocation([str(engine.exe), "-m", "tauraro", "run", "--backend", "interp", str(probe), "7"],
                     OUT_DIR, tauraro_env())
    return run_once(inv, timeout).status == "ok"


def parse_variant(text: str) -> tuple[str, str, list[str]]:
    """LABEL=BACKEND[:OPTIONS] -> (label, backend, options)."""
    label, sep, rest = text.partition("=")
    backend, _, opts = rest.partition(":")
    backend = canonical(backend)
    if not sep or not label.strip() or backend not in ("interp", "ir", "cranelift", "llvm"):
        raise ValueError(f"--variant wants LABEL=BACKEND[:OPTIONS] with a Tauraro backend, got {text!r}")
    return label.strip(), backend, shlex.split(opts)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m bench.real", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="small sizes and a short timeout (a smoke test)")
    ap.add_argument("--programs", default="", help="comma-separated program names (default: all)")
    ap.add_argument("--engines", default=",".join(DEFAULT_ENGINES),
                    help=f"comma-separated, from {','.join(ENGINES)} (default: %(default)s)")
    ap.add_argument("--variant", action="append", default=[], metavar="LABEL=BACKEND[:OPTIONS]",
                    help="an extra Tauraro engine with `tauraro run` options, e.g. vm=interp:'--jit-threshold 1'")
    ap.add_argument("--tauraro-args", default="", help="options added to every `tauraro run` (quoted string)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per program and engine (default: 3)")
    ap.add_argument("--timeout", type=float, default=None, help="seconds per run (default: 120, --quick: 20)")
    ap.add_argument("--results-md", type=Path, default=BENCH_DIR / "results.md",
                    help="markdown file whose 'Real programs' section is written (default: bench/results.md)")
    ap.add_argument("--results-json", type=Path, default=BENCH_DIR / "real" / "results.json",
                    help="JSON results (default: bench/real/results.json)")
    ap.add_argument("--list", action="store_true", help="list programs and engines, then exit")
    args = ap.parse_args(argv)
    if args.repeat < 1:
        ap.error("--repeat must be at least 1")
    if args.timeout is None:
        args.timeout = 20.0 if args.quick else 120.0
    if args.timeout <= 0:
        ap.error("--timeout must be positive")
    return args


def make_runners(args: argparse.Namespace) -> dict[str, Runner]:
    names = [canonical(n) for n in args.engines.split(",") if n.strip()]
    unknown = [n for n in names if n not in ENGINES]
    if unknown:
        raise ValueError(f"unknown engine(s): {', '.join(unknown)} (known: {', '.join(ENGINES)})")
    if "cpython" not in names:
        names.insert(0, "cpython")  # the reference: every output is compared with CPython's
    extra = shlex.split(args.tauraro_args)
    runners = {}
    for n in (n for n in ENGINES if n in names):
        e = make_engine(n)
        runners[n] = Runner(n, e, extra if e.is_tauraro else [])
        if n == "interp":  # the tiers side by side: interp is VM + baseline, interp-tier0 the VM alone
            runners[TIER0] = Runner(TIER0, make_engine(n), [*extra, "--tier", "0"])
    for text in args.variant:
        label, backend, opts = parse_variant(text)
        if label in runners:
            raise ValueError(f"--variant label {label!r} is already an engine")
        runners[label] = Runner(label, make_engine(backend), extra + opts)
    return runners


def compare(out: Outcome, ref: Outcome) -> Outcome:
    """Mark `out` different unless its stdout and exit status equal the reference run's."""
    if out.status not in ("ok", "error") or ref.stdout is None:
        return out
    if out.returncode == ref.returncode and out.stdout == ref.stdout:
        return out
    if out.status == "error" and ref.returncode == 0:
        return out  # a failure to run, reported with its message
    got, want = (out.stdout or "").splitlines(), ref.stdout.splitlines()
    for i, (a, b) in enumerate(zip(got, want)):
        if a != b:
            detail = f"line {i + 1}: {a[:60]!r}, CPython {b[:60]!r}"
            break
    else:
        detail = f"{len(got)} lines, CPython {len(want)}; exit status {out.returncode}, CPython {ref.returncode}"
    out.status, out.message = "different", f"output differs from CPython's: {detail}"
    return out


def classify(out: Outcome) -> Outcome:
    """A Tauraro front-end rejection (FILE:LINE:COL: error: ..., exit 2) is 'rejected', not 'error'."""
    if out.status == "error" and out.returncode == 2 and report.REJECTION.match(out.message):
        out.status = "rejected"
    return out


def run_program(program: RealProgram, size: int, runners: dict[str, Runner], args: argparse.Namespace,
                cells: Cells) -> None:
    active = []
    for name, r in runners.items():
        cell = cells[(program.name, name)] = Cell(program.name, name, size)
        if r.engine.missing:
            cell.status, cell.note = "missing", r.engine.missing
        else:
            active.append(name)
    reference: Outcome | None = None
    for rep in range(args.repeat):
        for name in active:
            cell, r = cells[(program.name, name)], runners[name]
            if cell.status not in ("pending", "ok") or (name != report.REFERENCE and reference is None):
                continue
            out = classify(run_once(r.invocation(program, size), args.timeout))
            if name == report.REFERENCE:
                reference = reference or (out if out.status == "ok" else None)
            elif reference is not None:
                out = compare(out, reference)
            cell.runs.append(out)
            if out.status == "ok":
                cell.status = "ok"
            else:
                cell.status, cell.note = out.status, out.message
            shown = f"{out.wall:.3f} s" if out.wall is not None else ""
            log(f"  {program.name:>14} {r.label:>18} run {rep + 1}/{args.repeat}: {shown} {out.status}"
                f"{': ' + out.message if out.message else ''}")
        if reference is None:
            break
    if reference is None:
        for name in active:
            c = cells[(program.name, name)]
            if name != report.REFERENCE and c.status == "pending":
                c.status, c.note = "skipped", "CPython did not run the program"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        programs = select([p.strip() for p in args.programs.split(",") if p.strip()])
        runners = make_runners(args)
    except ValueError as e:
        log(f"error: {e}")
        return 2
    if args.list:
        for p in programs:
            print(f"{p.name:>14}  {p.lines:4d} lines  size {p.default:>5} ({p.unit}), quick {p.quick}, "
                  f"test {p.test}  {p.title}")
        for n, r in runners.items():
            print(f"{n:>14}  {r.label:<18} {('missing: ' + r.engine.missing) if r.engine.missing else r.engine.version}")
        return 0
    size_note = ""
    tauraro = [r for r in runners.values() if r.engine.is_tauraro and not r.engine.missing]
    if tauraro and not tauraro_takes_args(tauraro[0].engine, args.timeout):
        for r in tauraro:
            r.takes_args = False
        size_note = ("`tauraro run` does not pass program arguments yet (sys.argv), so Tauraro ran a copy of each "
                     "program with its `DEFAULT_SIZE` line set to the size instead of `prog.py SIZE`.")
        log("note: " + size_note)
    for n, r in runners.items():
        log(f"engine {n:>12}: " + (f"MISSING ({r.engine.missing})" if r.engine.missing else r.engine.version))
    cells: Cells = {}
    for p in programs:
        size = p.size(args.quick)
        log(f"{p.name} (size {size}: {p.unit})")
        run_program(p, size, runners, args, cells)
    labels = {n: r.label for n, r in runners.items()}
    machine = machine_info({n: r.engine for n, r in runners.items()})
    meta = {"argv": argv if argv is not None else sys.argv[1:], "quick": args.quick, "repeat": args.repeat,
            "timeout": args.timeout, "machine": machine, "size_note": size_note,
            "tauraro_args": {n: r.extra for n, r in runners.items() if r.engine.is_tauraro}}
    section = report.write_outputs(args.results_md, args.results_json, meta, programs, labels, cells)
    log(f"wrote the '{report.SECTION}' section of {args.results_md} and {args.results_json}")
    print(section)
    wrong = [c for c in cells.values() if c.status == "different"]
    for c in wrong:
        log(f"DIFFERENT OUTPUT: {c.program} on {labels[c.engine]}: {c.note}")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
