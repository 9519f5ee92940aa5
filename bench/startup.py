"""Start-up time: `tauraro run empty.tr` against `python3 -c pass`, per backend, cold and warm bytecode cache.

`python -m bench.startup [--repeat 20] [--backends interp,cranelift] [--before DIR] [--no-write]` runs, in
fresh processes and interleaved round by round (so that load on a shared machine hits every case alike):
`python -c pass`; `python -m tauraro run empty.tr --backend B` with a cold bytecode cache (a new, empty
TAURARO_CACHE_DIR for every run: the front end and compiler run and the entry is written) and with a warm
one (primed once); with --before DIR, the same runs importing tauraro from another checkout DIR (e.g. an
exported older commit) for a before/after table. Wall time, best of --repeat (start-up is a lower bound:
noise only adds). The table goes to stdout and a marked section of bench/results.md (issue 13's target:
at most 1.5x `python -c pass`).
"""
from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
SECTION = "startup"
TARGET = 1.5  # issue 13: tauraro run empty.tr <= 1.5x python3 -c pass


def timed(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """(wall time, CPU time: user + system) of one run; the run must succeed and print nothing. `cwd` must
    not be a checkout: `python -m` puts the current directory first on sys.path, before PYTHONPATH."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                          cwd=cwd)
    elapsed = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0 or done.stdout or done.stderr:
        raise RuntimeError(f"{' '.join(cmd)}: exit {done.returncode}: {done.stderr.decode(errors='replace')[-300:]}")
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def cases(backends: list[str], trees: dict[str, str], program: str) -> list[tuple[str, list[str], str | None, str]]:
    """(label, command, tree for PYTHONPATH or None, cache mode: 'none', 'cold' or 'warm')."""
    out = [("python -c pass", [sys.executable, "-c", "pass"], None, "none")]
    for tree_label, tree in trees.items():
        for backend in backends:
            cmd = [sys.executable, "-m", "tauraro", "run", program, "--backend", backend]
            for mode in ("cold", "warm"):
                out.append((f"{tree_label} {backend} {mode}", cmd, tree, mode))
    return out


def measure(repeat: int, backends: list[str], trees: dict[str, str]) -> dict[str, tuple[float, float]]:
    """Best (wall, CPU) seconds per case label."""
    work = Path(tempfile.mkdtemp(prefix="tauraro-startup-"))
    try:
        program = work / "empty.tr"
        program.write_text("")
        runs = cases(backends, trees, str(program))
        # Python's own bytecode cache on, as in an installed package (round 0 writes the .pyc files).
        dropped = ("TAURARO_BACKEND", "TAURARO_JIT_THRESHOLD", "PYTHONDONTWRITEBYTECODE")
        base_env = {k: v for k, v in os.environ.items() if k not in dropped}
        warm_dir = work / "warm-cache"
        best: dict[str, tuple[float, float]] = {}
        for round_no in range(repeat + 1):  # round 0 primes the warm cache and the OS file cache: not counted
            for label, cmd, tree, mode in runs:
                env = dict(base_env)
                if tree is not None:
                    env["PYTHONPATH"] = tree
                    cold_dir = work / "cold-cache"
                    shutil.rmtree(cold_dir, ignore_errors=True)
                    env["TAURARO_CACHE_DIR"] = str(cold_dir if mode == "cold" else warm_dir / label.split()[0])
                wall, cpu = timed(cmd, env, work)
                if round_no:
                    old = best.get(label, (wall, cpu))
                    best[label] = (min(old[0], wall), min(old[1], cpu))
        return best
    finally:
        shutil.rmtree(work, ignore_errors=True)


def table(best: dict[str, tuple[float, float]], backends: list[str], trees: dict[str, str], repeat: int,
          load: tuple[float, float]) -> str:
    base = best["python -c pass"]
    head = ["| run | " + " | ".join(f"{t} wall ms | {t} wall / python | {t} CPU ms | {t} CPU / python"
                                     for t in trees) + " |",
            "| --- |" + " ---: | ---: | ---: | ---: |" * len(trees)]
    rows = ["| `python -c pass` |" + f" {base[0] * 1000:.1f} | 1.00× | {base[1] * 1000:.1f} | 1.00× |" * len(trees)]
    for backend in backends:
        for mode in ("cold", "warm"):
            cells = []
            for t in trees:
                wall, cpu = best[f"{t} {backend} {mode}"]
                cells.append(f" {wall * 1000:.1f} | {wall / base[0]:.2f}× | {cpu * 1000:.1f} | {cpu / base[1]:.2f}× |")
            rows.append(f"| `tauraro run empty.tr --backend {backend}`, {mode} cache |" + "".join(cells))
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    return "\n".join([
        "## Start-up: `python -m bench.startup` (issue 13)", "",
        f"Wall and CPU (user + system) time of a whole process, each the best of {repeat} interleaved runs "
        f"({machine}). *cold*: an empty "
        "bytecode cache (front end, compiler and the cache write run); *warm*: the entry of an earlier run is "
        f"used. Target: at most {TARGET}× `python -c pass`. Load average {load[0]:.1f} before the runs, "
        f"{load[1]:.1f} after: on a machine loaded beyond its cores, wall times are noise (a process waits for a "
        "core) and the CPU times are the measure.", "", *head, *rows, ""])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.startup", description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=20, help="runs per case; the best is reported")
    ap.add_argument("--backends", default="interp,cranelift")
    ap.add_argument("--before", metavar="DIR", help="also run tauraro imported from checkout DIR (labelled before)")
    ap.add_argument("--no-write", action="store_true", help="print only; do not write bench/results.md")
    args = ap.parse_args(argv)
    backends = [b for b in args.backends.split(",") if b]
    trees = {"after": str(REPO_ROOT)} if args.before else {"tauraro": str(REPO_ROOT)}
    if args.before:
        trees = {"before": str(Path(args.before).resolve()), **trees}
    load_before = os.getloadavg()[0]
    best = measure(args.repeat, backends, trees)
    text = table(best, backends, trees, args.repeat, (load_before, os.getloadavg()[0]))
    print(text)
    if not args.no_write:
        from .report import put_section

        put_section(BENCH_DIR / "results.md", SECTION, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
