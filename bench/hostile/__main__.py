"""`python -m bench.hostile`: JIT-hostile programs on every backend next to interp; `--calibrate`: policy constants.

The rule (issue 10): with the JIT on, no program runs more than 10% slower than on `--backend
interp`. Each program in bench/hostile/programs/ does in a hot loop what compiled code cannot do
well (objects, None, tuples, strings, dicts, appends, calls, methods, exceptions, unstable types,
short loops, big list copies, ...). Every program runs as `python -m tauraro run --backend B
--no-cache --stats-json F PROG` in a subprocess, backends interleaved round by round (so load on a
shared machine hits them alike), best of --repeat; stdout must equal CPython's (`python3 PROG`).

Ratios per backend, backend time / interp time:
  * end to end: the process's CPU time (user + system, all threads) and its wall time, what a
    user sees (both include importing the JIT and its backend library and creating the engine);
  * run: --stats-json total_seconds - startup_seconds, the program's run (what the JIT's policy
    controls: compiles, entries, exits, copies).

`--calibrate` measures, in one process, the costs tauraro/jit/policy.py charges in interpreted
instructions: an interpreted instruction, an entry that exits at once, a slot, a copied element.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PROGRAMS_DIR = HERE / "programs"
REPO = HERE.parent.parent
BACKENDS = ("interp", "ir", "llvm", "cranelift")
LIMIT = 1.10  # the rule: at most 10% slower than interp


def programs(names: list[str] | None) -> list[Path]:
    found = sorted(PROGRAMS_DIR.glob("*.tr"))
    if names:
        found = [p for p in found if p.stem in names]
    return found


def run_env() -> dict[str, str]:
    """The environment of every run: this checkout first, and .pyc files written and reused as in an
    installed package (outside the source tree), so startup is what a user sees."""
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(Path(tempfile.gettempdir()) / "tauraro-bench-pycache")
    return env


def run_once(prog: Path, backend: str, stats_path: str) -> tuple[float, str, dict]:
    env = run_env()
    cmd = [sys.executable, "-m", "tauraro", "run", "--backend", backend, "--no-cache", "--stats-json", stats_path,
           str(prog)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=str(REPO), check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode != 0:
        raise RuntimeError(f"{prog.name} on {backend} failed ({out.returncode}): {out.stderr.strip()[-300:]}")
    with open(stats_path, encoding="utf-8") as f:
        stats = json.load(f)
    stats["cpu"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, out.stdout, stats


def measure(progs: list[Path], backends: tuple[str, ...], repeat: int) -> dict:
    results: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        stats_path = str(Path(tmp) / "stats.json")
        for b in backends:  # warm the .pyc cache
            run_once(PROGRAMS_DIR.parent / "warmup.tr", b, stats_path)
        for prog in progs:
            expected = subprocess.run([sys.executable, str(prog)], capture_output=True, text=True, check=True).stdout
            row = results[prog.stem] = {b: {"cpu": [], "wall": [], "run": []} for b in backends}
            for _ in range(repeat):
                for b in backends:
                    wall, stdout, stats = run_once(prog, b, stats_path)
                    if stdout != expected:
                        raise SystemExit(f"WRONG OUTPUT: {prog.name} on {b}:\n{stdout[:500]}\nCPython:\n{expected[:500]}")
                    row[b]["wall"].append(wall)
                    row[b]["cpu"].append(stats["cpu"])
                    row[b]["run"].append(stats["total_seconds"] - stats["startup_seconds"])
                    row[b]["stats"] = {k: stats[k] for k in ("loops_compiled", "loop_entries", "native_entries",
                                                            "failed_entries", "native_iterations", "blacklisted",
                                                            "list_elements_copied", "compile_seconds",
                                                            "startup_seconds")}
            print(f"  {prog.stem}: " + ", ".join(f"{b} {min(row[b]['cpu']):.2f}s" for b in backends),
                  file=sys.stderr, flush=True)
    return results


def table(results: dict, backends: tuple[str, ...], kind: str, pick: Any = min) -> str:
    jit = [b for b in backends if b != "interp"]
    lines = [f"| program | interp ({kind}) | " + " | ".join(f"{b} / interp" for b in jit) + " |",
             "| --- | ---: | " + " | ".join("---:" for _ in jit) + " |"]
    worst = {b: 0.0 for b in jit}
    for name, row in results.items():
        base = pick(row["interp"][kind])
        cells = []
        for b in jit:
            ratio = pick(row[b][kind]) / base
            worst[b] = max(worst[b], ratio)
            cells.append(f"{ratio:.2f}" + (" ✗" if ratio > LIMIT else ""))
        lines.append(f"| {name} | {base:.2f} s | " + " | ".join(cells) + " |")
    lines.append("| **worst** | | " + " | ".join(f"**{worst[b]:.2f}**" for b in jit) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.hostile", description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="runs per program and backend (best is kept)")
    ap.add_argument("--backends", default=",".join(BACKENDS))
    ap.add_argument("--programs", default="", help="comma list of program names (default: all)")
    ap.add_argument("--json", help="write every measurement here")
    ap.add_argument("--calibrate", action="store_true", help="measure the entry-policy constants instead")
    args = ap.parse_args(argv)
    if args.calibrate:
        from .calibrate import calibrate

        calibrate()
        return 0
    backends = tuple(b for b in args.backends.split(",") if b)
    if "interp" not in backends:
        backends = ("interp", *backends)
    progs = programs([p for p in args.programs.split(",") if p] or None)
    results = measure(progs, backends, args.repeat)
    print(f"Best of {args.repeat}, backends interleaved; ✗ = more than {LIMIT - 1:.0%} slower than interp.\n")
    print("End to end, CPU time (user + system time of the whole process; steadier than wall time on a\n"
          "shared machine):\n")
    print(table(results, backends, "cpu"))
    print(f"\nThe same, median of {args.repeat} instead of best (one lucky interp run inflates best-of ratios):\n")
    print(table(results, backends, "cpu", statistics.median))
    print("\nEnd to end, wall time:\n")
    print(table(results, backends, "wall"))
    print("\nRun (total_seconds - startup_seconds from --stats-json):\n")
    print(table(results, backends, "run"))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1), encoding="utf-8")
    worst = max(min(row[b]["cpu"]) / min(row["interp"]["cpu"]) for row in results.values() for b in backends)
    return 0 if worst <= LIMIT else 1


if __name__ == "__main__":
    sys.exit(main())
