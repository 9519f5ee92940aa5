"""Fuzz campaigns: `python -m tests.fuzz --count N --seed S [--backends ...] [--jobs J] [--out DIR]`."""
from __future__ import annotations

import argparse
import json
import os
import selectors
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tauraro.settings import ENV_TIER, TIERS  # noqa: E402
from tests.fuzz.gen import generate  # noqa: E402
from tests.fuzz.reduce import reduce_program  # noqa: E402
from tests.fuzz.runner import (  # noqa: E402
    ALL_BACKENDS,
    Failure,
    check,
    configs_for,
    difference,
    run_cpython,
    run_tauraro,
    still_fails,
)

# Wall seconds a worker may spend on one program before it is killed: generous, because niced
# workers may be starved; hangs that use the CPU are caught inside the worker (CPU-time limits).
TASK_TIMEOUT = 900.0


# --- worker side ----------------------------------------------------------------------------------------
def _failure_json(f: Failure) -> dict[str, Any]:
    return asdict(f)


def _do_task(task: dict[str, Any]) -> dict[str, Any]:
    if "reduce" in task:
        failure = Failure(**task["failure"])
        source = task["source"]
        original = run_cpython(source).error
        reduced = reduce_program(source, lambda s: still_fails(s, failure, original), task["seconds"])
        return {"reduced": reduced}
    seed = task["seed"]
    source = generate(seed)
    configs = [(b, t) for b, t in task["configs"]]
    expected, failures = check(source, configs)
    return {"seed": seed, "cpython_seconds": expected.seconds, "cpython_error": expected.error,
            "skipped": expected.timeout, "failures": [_failure_json(f) for f in failures]}


def worker_main() -> int:
    """Read JSON tasks from stdin, answer one JSON line each on the original stdout."""
    out = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)  # anything else written to fd 1 (stray prints) goes to stderr, not the protocol
    sys.stdout = sys.stderr
    for line in sys.stdin:
        task = json.loads(line)
        out.write(json.dumps(_do_task(task)) + "\n")
    return 0


def replay_main(args: argparse.Namespace) -> int:
    """Run one file on one configuration and print whether it behaves like CPython (JSON on stdout)."""
    source = Path(args.file).read_text(encoding="utf-8")
    expected = run_cpython(source)
    threshold = None if args.threshold in (None, "default") else int(args.threshold)
    diff = difference(expected, run_tauraro(source, args.backend, threshold))
    print(json.dumps({"kind": diff[0] if diff else None, "detail": diff[1] if diff else "",
                      "cpython_timeout": expected.timeout}))
    return 0


# --- campaign side ----------------------------------------------------------------------------------------
@dataclass
class Worker:
    """One `python -m tests.fuzz --worker` subprocess and the task it is running."""

    proc: subprocess.Popen
    task: dict[str, Any] | None = None
    started: float = 0.0

    @classmethod
    def start(cls, nice: int) -> Worker:
        cmd = [sys.executable, "-m", "tests.fuzz", "--worker"]
        proc = subprocess.Popen(cmd, cwd=REPO_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True, bufsize=1,
                                preexec_fn=(lambda: os.nice(nice)) if nice else None)
        return cls(proc)

    def send(self, task: dict[str, Any]) -> None:
        self.task = task
        self.started = time.monotonic()
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(task) + "\n")
        self.proc.stdin.flush()

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()


@dataclass
class Stats:
    """Counts for the summary."""

    programs: int = 0
    skipped: int = 0
    cpython_seconds: list[float] = field(default_factory=list)
    cpython_errors: Counter = field(default_factory=Counter)
    runs: Counter = field(default_factory=Counter)  # backend -> programs run on it
    failures: Counter = field(default_factory=Counter)  # (backend, kind) -> count
    failing: list[tuple[int, Failure]] = field(default_factory=list)


def run_tasks(tasks: list[dict[str, Any]], jobs: int, nice: int, on_result, timeout: float,
              stop_at: float | None = None) -> None:
    """Feed tasks to `jobs` workers; a worker that dies or exceeds `timeout` is replaced.

    After `stop_at` (a time.monotonic() value) no new task is started; running ones finish.
    """
    pending = list(reversed(tasks))
    workers = [Worker.start(nice) for _ in range(max(1, min(jobs, len(tasks))))]
    sel = selectors.DefaultSelector()
    for w in workers:
        sel.register(w.proc.stdout, selectors.EVENT_READ, w)
    try:
        for w in workers:
            if pending:
                w.send(pending.pop())
        while any(w.task is not None for w in workers):
            if stop_at is not None and time.monotonic() > stop_at:
                pending.clear()
            for key, _ in sel.select(timeout=1.0):
                w = key.data
                line = w.proc.stdout.readline()
                task, w.task = w.task, None
                if line:
                    on_result(task, json.loads(line), None)
                else:  # the worker died (segfault, abort): report and replace it
                    on_result(task, None, f"worker died with status {w.proc.wait()}")
                    sel.unregister(w.proc.stdout)
                    new = Worker.start(nice)
                    workers[workers.index(w)] = new
                    sel.register(new.proc.stdout, selectors.EVENT_READ, new)
                    w = new
                if pending:
                    w.send(pending.pop())
            now = time.monotonic()
            for i, w in enumerate(workers):
                if w.task is not None and now - w.started > timeout:
                    task = w.task
                    sel.unregister(w.proc.stdout)
                    w.kill()
                    on_result(task, None, f"worker exceeded {timeout:g} s")
                    new = Worker.start(nice)
                    workers[i] = new
                    sel.register(new.proc.stdout, selectors.EVENT_READ, new)
                    if pending:
                        new.send(pending.pop())
    finally:
        for w in workers:
            if w.proc.poll() is None:
                w.proc.stdin.close()
                try:
                    w.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    w.kill()


def pin_process_failure(seed: int, configs: list[tuple[str, int | None]], why: str) -> list[Failure]:
    """A worker died or hung on `seed`: replay each configuration in its own process to find which."""
    source = generate(seed)
    found = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"seed{seed}.tr"
        path.write_text(source, encoding="utf-8")
        for backend, threshold in configs:
            kind, detail = _replay(path, backend, threshold)
            if kind:
                found.append(Failure(backend, threshold, kind, detail or why))
    return found or [Failure("?", None, "crash", why)]


def _replay(path: Path, backend: str, threshold: int | None, timeout: float = 60.0) -> tuple[str | None, str]:
    cmd = [sys.executable, "-m", "tests.fuzz", "replay", str(path), "--backend", backend,
           "--threshold", "default" if threshold is None else str(threshold)]
    try:
        proc = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "timeout", f"process did not finish within {timeout:g} s"
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or [""])[-1]
        return "crash", f"process exited with status {proc.returncode}: {tail}"
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    return result["kind"], result["detail"]


def write_failure(out_dir: Path, seed: int, failure: Failure, source: str, reduced: str | None) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    threshold = "default" if failure.threshold is None else failure.threshold
    name = f"seed{seed}-{failure.backend}-t{threshold}-{failure.kind}"
    header = [f"# fuzz seed {seed}: {failure.kind} on --backend {failure.backend} --jit-threshold {threshold}"]
    header += ["# " + line for line in failure.detail.splitlines()[:12]]
    path = out_dir / f"{name}.tr"
    path.write_text("\n".join(header) + "\n" + (reduced if reduced is not None else source), encoding="utf-8")
    if reduced is not None:
        (out_dir / f"{name}.orig.tr").write_text(source, encoding="utf-8")
    return path


def campaign(args: argparse.Namespace, log: TextIO) -> int:
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = set(backends) - set(ALL_BACKENDS)
    if unknown:
        print(f"unknown backend(s): {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    thresholds = tuple(int(t) for t in args.thresholds.split(",") if t.strip())
    if args.tier is not None:  # workers and replays inherit it (tauraro.run reads $TAURARO_TIER)
        os.environ[ENV_TIER] = str(args.tier)
    stats = Stats()
    t0 = time.monotonic()
    tasks = []
    for seed in range(args.seed, args.seed + args.count):
        with_default = args.default_every > 0 and seed % args.default_every == 0
        tasks.append({"seed": seed, "configs": configs_for(backends, with_default, thresholds)})

    def on_result(task: dict[str, Any], result: dict[str, Any] | None, problem: str | None) -> None:
        seed = task["seed"]
        stats.programs += 1
        if result is None:
            failures = pin_process_failure(seed, [tuple(c) for c in task["configs"]], problem or "")
        elif result["skipped"]:
            stats.skipped += 1
            return
        else:
            failures = [Failure(**f) for f in result["failures"]]
            stats.cpython_seconds.append(result["cpython_seconds"])
            stats.cpython_errors[(result["cpython_error"] or "ok").split(":")[0]] += 1
        for b in {c[0] for c in task["configs"]}:
            stats.runs[b] += 1
        for f in failures:
            stats.failures[(f.backend, f.kind)] += 1
            stats.failing.append((seed, f))
            print(f"FAIL seed {seed} {f.config}: {f.kind}: {f.detail.strip().splitlines()[-1][:160]}", file=log)
        if stats.programs % args.progress == 0:
            rate = stats.programs / max(time.monotonic() - t0, 1e-9)
            print(f"... {stats.programs}/{args.count} programs, {len(stats.failing)} failures, "
                  f"{rate:.1f} programs/s", file=log)
        log.flush()

    stop_at = t0 + args.time_limit if args.time_limit else None
    run_tasks(tasks, args.jobs, args.nice, on_result, TASK_TIMEOUT, stop_at)
    elapsed = time.monotonic() - t0
    written = reduce_and_write(stats, args, log)
    print_summary(stats, backends, elapsed, written, args, log)
    return 1 if stats.failing else 0


def reduce_and_write(stats: Stats, args: argparse.Namespace, log: TextIO) -> list[Path]:
    """Write every failing program; reduce the first of each (backend, kind, error kind) first."""
    out_dir = Path(args.out)
    chosen: dict[tuple, tuple[int, Failure]] = {}
    for seed, f in stats.failing:
        key = (f.backend, f.kind, f.detail.strip().splitlines()[-1].split(":")[0][:60])
        chosen.setdefault(key, (seed, f))
    to_reduce = list(chosen.values())[: args.max_reduce]
    reduced: dict[tuple[int, str], str] = {}
    if to_reduce and args.reduce_seconds > 0:
        print(f"reducing {len(to_reduce)} failing programs ...", file=log)
        tasks = [{"reduce": seed, "failure": _failure_json(f), "source": generate(seed),
                  "seconds": args.reduce_seconds} for seed, f in to_reduce if f.backend != "?"]

        def on_result(task: dict[str, Any], result: dict[str, Any] | None, problem: str | None) -> None:
            if result is not None:
                reduced[(task["reduce"], task["failure"]["backend"] + str(task["failure"]["threshold"]))] = \
                    result["reduced"]

        run_tasks(tasks, args.jobs, args.nice, on_result, args.reduce_seconds * 3 + 60)
    written = []
    for seed, f in stats.failing:
        written.append(write_failure(out_dir, seed, f, generate(seed),
                                     reduced.get((seed, f.backend + str(f.threshold)))))
    return written


def print_summary(stats: Stats, backends: list[str], elapsed: float, written: list[Path],
                  args: argparse.Namespace, log: TextIO) -> None:
    ran = stats.programs - stats.skipped
    cps = sorted(stats.cpython_seconds) or [0.0]
    print(f"\nfuzz campaign: seeds {args.seed}..{args.seed + stats.programs - 1}, {elapsed:.0f} s, "
          f"{args.jobs} job(s)", file=log)
    print(f"programs: {stats.programs} generated, {ran} run, {stats.skipped} skipped (CPython timeout); "
          f"CPython CPU time per program: median {cps[len(cps) // 2] * 1000:.1f} ms, max {cps[-1] * 1000:.1f} ms",
          file=log)
    print("CPython outcomes: " + ", ".join(f"{k} {v}" for k, v in stats.cpython_errors.most_common()), file=log)
    kinds = ["mismatch", "crash", "timeout", "jit_error"]
    print(f"{'backend':<10} {'programs':>9} " + " ".join(f"{k:>10}" for k in kinds), file=log)
    for b in backends:
        print(f"{b:<10} {stats.runs[b]:>9} " + " ".join(f"{stats.failures[(b, k)]:>10}" for k in kinds), file=log)
    if written:
        print(f"{len(stats.failing)} failures; programs written to {args.out}/", file=log)
    else:
        print("no failures", file=log)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--worker"]:
        return worker_main()
    if argv[:1] == ["replay"]:
        p = argparse.ArgumentParser(prog="python -m tests.fuzz replay")
        p.add_argument("file")
        p.add_argument("--backend", required=True, choices=ALL_BACKENDS)
        p.add_argument("--threshold", default="1")
        return replay_main(p.parse_args(argv[1:]))
    p = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__)
    p.add_argument("--count", type=int, default=1000, help="programs to generate (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="first seed (programs use seed, seed+1, ...)")
    p.add_argument("--backends", default=",".join(ALL_BACKENDS), help="comma list (default: all four)")
    p.add_argument("--jobs", type=int, default=max(1, (os.cpu_count() or 2)), help="worker processes")
    p.add_argument("--nice", type=int, default=10, help="niceness of the workers (default 10)")
    p.add_argument("--default-every", type=int, default=8,
                   help="also run every Nth program at the default JIT threshold (0: never)")
    p.add_argument("--thresholds", default="1,2", help="comma list of JIT thresholds (default 1,2)")
    p.add_argument("--tier", type=int, choices=TIERS, help="execution tier (default: $TAURARO_TIER or 1)")
    p.add_argument("--out", default="fuzz-failures", help="directory for failing programs (default fuzz-failures)")
    p.add_argument("--reduce-seconds", type=float, default=90.0, help="time budget per reduction (0: no reduction)")
    p.add_argument("--max-reduce", type=int, default=12, help="reduce at most this many distinct failures")
    p.add_argument("--time-limit", type=float, default=0,
                   help="stop starting new programs after this many seconds (0: run all)")
    p.add_argument("--progress", type=int, default=500, help="print a progress line every N programs")
    args = p.parse_args(argv)
    return campaign(args, sys.stdout)


if __name__ == "__main__":
    sys.exit(main())
