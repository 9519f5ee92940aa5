"""Measurements of the LLVM backend: compile latency, entry cost, loop speed against gcc -O2, memory over many compiles.

``python -m bench.llvm_backend [compile|entry|speed|memory|all] [--ir-opt N] [--codegen-opt N]``
prints one block per measurement. Each number is a median over repeats; the machine is shared,
so expect some percent of noise.
"""
from __future__ import annotations

import argparse
import ctypes
import gc
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from pathlib import Path
from typing import Any

from tauraro.backends.conformance import cases
from tauraro.jit.ir import LoopFunction
from tauraro.jit.layout import LinearMemory

# Kernels written once in Tauraro (Python syntax) and once in C with the same arithmetic. The C
# kernels time themselves (clock_gettime around the loop only) so process start-up is excluded.
KERNELS: dict[str, tuple[str, str, int]] = {
    "int (intsum)": (
        "def k(n):\n    total = 0\n    for i in range(n):\n        total = total + ((i ^ total) & 65535)\n"
        "    return total\nprint(k(N))\n",
        "int64_t total = 0; for (int64_t i = 0; i < n; i++) total = total + ((i ^ total) & 65535);"
        " printf(\"%lld\\n\", (long long)total);",
        200_000_000,
    ),
    "float (fma chain)": (
        "def k(n):\n    acc = 0.0\n    x = 1.0\n    for i in range(n):\n        acc = acc * 0.9999999 + x\n"
        "        x = x * 1.00000001\n    return acc + x\nprint(k(N))\n",
        "double acc = 0.0, x = 1.0; for (int64_t i = 0; i < n; i++) { acc = acc * 0.9999999 + x;"
        " x = x * 1.00000001; } printf(\"%.17g\\n\", acc + x);",
        100_000_000,
    ),
    "branchy int (collatz)": (
        "def k(n):\n    total = 0\n    for i in range(1, n):\n        m = i\n        while m != 1:\n"
        "            if m % 2 == 0:\n                m = m // 2\n            else:\n                m = 3 * m + 1\n"
        "            total += 1\n    return total\nprint(k(N))\n",
        "int64_t total = 0; for (int64_t i = 1; i < n; i++) { int64_t m = i; while (m != 1) {"
        " if (m % 2 == 0) m = m / 2; else m = 3 * m + 1; total++; } } printf(\"%lld\\n\", (long long)total);",
        1_000_000,
    ),
}

C_MAIN = r"""
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
int main(int argc, char **argv) {
    volatile int64_t size = strtoll(argv[1], NULL, 10);
    int64_t n = size;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    BODY
    clock_gettime(CLOCK_MONOTONIC, &t1);
    fprintf(stderr, "%.6f\n", (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9);
    return 0;
}
"""


def _backend(ir_opt: int | None, codegen_opt: int | None) -> Any:
    from tauraro.backends.base import get_backend

    backend = get_backend("llvm")
    if ir_opt is not None:
        backend.ir_opt = ir_opt
    if codegen_opt is not None:
        backend.codegen_opt = codegen_opt
    return backend


def corpus() -> list[LoopFunction]:
    """Loops to compile: the conformance corpus plus loops the translator builds from real programs
    (the kernels above and, in a source checkout, bench/kernels/*.tr at small sizes)."""
    import re
    from pathlib import Path

    fns = [c.fn for c in cases()]
    from tauraro.api import run
    from tauraro.backends.base import get_backend

    sources = [src.replace("N)", "300)") for src, _c, _n in KERNELS.values()]
    kernels = Path(__file__).resolve().parents[3] / "bench" / "kernels"
    small = {"fib": 10, "mandelbrot": 10, "matmul": 6, "nbody": 30, "newton": 50, "sieve": 300, "collatz": 100}
    for path in sorted(kernels.glob("*.tr")) if kernels.is_dir() else []:
        n = small.get(path.stem, 300)
        sources.append(re.sub(r"^N = \d+", f"N = {n}", path.read_text(encoding="utf-8"), flags=re.M))
    ir = get_backend("ir")
    original = type(ir).compile
    captured: list[LoopFunction] = []

    def recording(self: Any, fn: LoopFunction, memory: Any) -> Any:
        captured.append(fn)
        return original(self, fn, memory)

    type(ir).compile = recording  # type: ignore[method-assign]
    try:
        with open(os.devnull, "w") as devnull:
            for src in sources:
                try:
                    run(src, "ir", jit_threshold=10, stdout=devnull)
                except Exception:  # noqa: BLE001 - a failing program still contributed its loops
                    pass
    finally:
        type(ir).compile = original  # type: ignore[method-assign]
    return fns + captured


def measure_compile(ir_opt: int | None, codegen_opt: int | None, repeat: int = 3) -> None:
    """Compile latency per loop (lower, parse, optimise, codegen, load), steady state."""
    backend = _backend(ir_opt, codegen_opt)
    mem = backend.make_memory(1 << 16)
    fns = corpus()
    backend.compile(fns[0], mem).release()  # engine start-up is not a per-loop cost
    totals: list[float] = []
    phases: dict[str, list[float]] = {}
    for _ in range(repeat):
        for fn in fns:
            t0 = time.perf_counter()
            loop = backend.compile(fn, mem)
            totals.append(time.perf_counter() - t0)
            for k, v in loop.compile_seconds.items():
                phases.setdefault(k, []).append(v)
            loop.release()
    print(f"compile latency (ir_opt={backend.ir_opt}, codegen_opt={backend.codegen_opt}), {len(fns)} loops x {repeat}:")
    print(f"  all: median {statistics.median(totals) * 1e3:.2f} ms, p90 {_pct(totals, 0.9) * 1e3:.2f} ms, "
          f"max {max(totals) * 1e3:.2f} ms")
    sizes = [sum(len(b.ops) for b in fn.blocks) for fn in fns] * repeat
    for lo, hi in ((0, 20), (20, 50), (50, 100), (100, 10**9)):
        ts = [t for n, t in zip(sizes, totals) if lo <= n < hi]
        if ts:
            label = f"{lo}-{hi - 1} IR ops" if hi < 10**9 else f">= {lo} IR ops"
            print(f"  {label:>13}: {len(ts) // repeat:3d} loops, median {statistics.median(ts) * 1e3:.2f} ms, "
                  f"max {max(ts) * 1e3:.2f} ms")
    print("  phases (median ms): " + ", ".join(f"{k} {statistics.median(v) * 1e3:.3f}" for k, v in phases.items()))


def _pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))]


def measure_entry() -> None:
    """Cost of entering compiled code: run() of a loop that exits at once (ctypes call included)."""
    from tauraro.jit.ir import IRBuilder
    from tauraro.jit.reasons import ExitReason

    fn = LoopFunction("nop", "bench:1", 1, entry_pc=0)
    b = IRBuilder(fn)
    b.set_block(b.new_block("entry"))
    b.exit(b.snapshot(0, {}, ExitReason.LOOP_EXIT, 1))
    backend = _backend(None, None)
    mem = backend.make_memory(1 << 16)
    frame = mem.alloc_frame(1)
    loop = backend.compile(fn, mem)
    n = 1_000_000
    run_ns = min(timeit.repeat("run(frame)", globals={"run": loop.run, "frame": frame}, number=n, repeat=7)) / n * 1e9
    ext = LinearMemory.external(mem.base, mem.size)
    moving = backend.compile(fn, ext)
    moving_ns = min(timeit.repeat("run(frame)", globals={"run": moving.run, "frame": frame}, number=n, repeat=7)) / n * 1e9
    moving.release()
    empty_ns = min(timeit.repeat("f(frame)", globals={"f": lambda x: 0, "frame": frame}, number=n, repeat=7)) / n * 1e9
    loop.release()
    print("entry cost (a loop that exits at once):")
    print(f"  loop.run(frame), owned memory: {run_ns:.0f} ns per call; "
          f"external memory: {moving_ns:.0f} ns; a Python no-op call: {empty_ns:.0f} ns")


def _c_time(body: str, n: int, workdir: Path) -> float | None:
    cc = os.environ.get("CC", "gcc")
    if shutil.which(cc) is None:
        return None
    src = workdir / "k.c"
    exe = workdir / "k"
    src.write_text(C_MAIN.replace("BODY", body), encoding="utf-8")
    subprocess.run([cc, "-O2", "-ffp-contract=off", "-o", str(exe), str(src)], check=True)
    times = []
    for _ in range(5):
        p = subprocess.run([str(exe), str(n)], capture_output=True, text=True, check=True)
        times.append(float(p.stderr.strip()))
    return min(times)


def measure_speed(ir_opt: int | None, codegen_opt: int | None) -> None:
    """Native time of each kernel's hot loop (stats.native_seconds) against the same loop in C (gcc -O2)."""
    from tauraro.api import run

    backend = _backend(ir_opt, codegen_opt)
    print(f"speed vs C (ir_opt={backend.ir_opt}, codegen_opt={backend.codegen_opt}; best of 5; C: gcc -O2 -ffp-contract=off):")
    with tempfile.TemporaryDirectory() as tmp:
        for name, (src, body, n) in KERNELS.items():
            native = []
            for _ in range(5):
                with open(os.devnull, "w") as devnull:
                    result = run(src.replace("N)", f"{n})"), "llvm", stdout=devnull)
                native.append(result.stats.native_seconds)
            c = _c_time(body, n, Path(tmp))
            t = min(native)
            ratio = f"{t / c:.2f}x C" if c else "C compiler missing"
            c_text = f"{c:.3f} s" if c else "-"
            print(f"  {name:24s} n={n:>11,}: tauraro-llvm {t:.3f} s ({t / n * 1e9:.2f} ns/iter), C {c_text}: {ratio}")


def measure_memory(ir_opt: int | None, n: int = 3000) -> None:
    """RSS growth while compiling and releasing `n` loops (the corpus cycled)."""
    backend = _backend(ir_opt, None)
    mem = backend.make_memory(1 << 16)
    fns = [c.fn for c in cases()]
    libc = ctypes.CDLL(None)

    def rss_kib() -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * (os.sysconf("SC_PAGE_SIZE") // 1024)

    for k in range(200):
        backend.compile(fns[k % len(fns)], mem).release()
    gc.collect()
    libc.malloc_trim(0)
    start = rss_kib()
    marks = []
    t0 = time.perf_counter()
    for k in range(n):
        backend.compile(fns[k % len(fns)], mem).release()
        if (k + 1) % 1000 == 0:
            gc.collect()
            libc.malloc_trim(0)
            marks.append(rss_kib() - start)
    dt = time.perf_counter() - t0
    from tauraro.backends.llvm.engine import get_engine

    print(f"memory (loader={get_engine().loader}, ir_opt={backend.ir_opt}): {n} compile+release in {dt:.1f} s; "
          f"RSS growth after each 1000: {', '.join(f'{m} KiB' for m in marks)}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", nargs="*", default=["all"], choices=["compile", "entry", "speed", "memory", "all"])
    ap.add_argument("--ir-opt", type=int, default=None)
    ap.add_argument("--codegen-opt", type=int, default=None)
    ap.add_argument("--compiles", type=int, default=3000, help="compiles for the memory measurement")
    args = ap.parse_args(argv)
    what = set(args.what)
    if "all" in what:
        what = {"compile", "entry", "speed", "memory"}
    if "compile" in what:
        measure_compile(args.ir_opt, args.codegen_opt)
    if "entry" in what:
        measure_entry()
    if "speed" in what:
        measure_speed(args.ir_opt, args.codegen_opt)
    if "memory" in what:
        measure_memory(args.ir_opt, args.compiles)
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
