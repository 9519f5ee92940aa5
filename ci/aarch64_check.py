"""Emulated AArch64 check: compile loops to AArch64 objects, run them under qemu, compare with x86-64 and the IR interpreter.

Loops: the backend conformance corpus (every op and guard kind, edge values), random loops
(tauraro.backends.llvm.fuzz: random ops, guards, diamonds, names that collide) and loops captured
from real programs (tests/programs and bench/kernels at small sizes: each compiled loop with the
frame windows it was entered with). Every loop is compiled by the LLVM backend for
aarch64-unknown-linux-gnu, linked statically with a small C harness implementing the frame-window
contract (aarch64-linux-gnu-gcc -static ... -lm) and run under qemu-aarch64-static. For each input
window the exit number and the window bytes must equal those of the IR interpreter, and those of
the host (x86-64) LLVM code. Usage: ``python ci/aarch64_check.py [--quick] [--keep DIR]``.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tauraro.jit.conformance import cases, compare_windows, prepare_window  # noqa: E402
from tauraro.jit.ir import LoopFunction  # noqa: E402
from tauraro.jit.irinterp import IRInterpreter  # noqa: E402
from tauraro.jit.layout import LinearMemory, frame_size  # noqa: E402

FRAME = 64  # byte offset of the window inside the harness's memory (above the null guard)
MEMORY = 1 << 16
CROSS_CC = os.environ.get("AARCH64_CC", "aarch64-linux-gnu-gcc")
QEMU = os.environ.get("QEMU_AARCH64", "qemu-aarch64-static")

HARNESS = r"""
/* Frame-window harness: for each record on stdin (u32 loop, u32 size, window bytes), copy the
   window to offset FRAME of a 16-aligned memory, call the loop, write i64 exit + window to stdout. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define FRAME %(frame)d
#define MEMORY %(memory)d
typedef int64_t (*loop_fn)(void *base, int64_t frame);
%(decls)s
static loop_fn loops[] = { %(table)s };
static _Alignas(16) unsigned char memory[MEMORY];
int main(void) {
    uint32_t head[2];
    while (fread(head, 4, 2, stdin) == 2) {
        if (head[0] >= sizeof loops / sizeof loops[0] || head[1] + FRAME > MEMORY) return 2;
        memset(memory, 0, head[1] + FRAME);
        if (fread(memory + FRAME, 1, head[1], stdin) != head[1]) return 3;
        int64_t n = loops[head[0]](memory, FRAME);
        fwrite(&n, 8, 1, stdout);
        fwrite(memory + FRAME, 1, head[1], stdout);
    }
    return 0;
}
"""


@dataclass
class CheckLoop:
    """A loop and the frame windows (bytes) to run it on."""

    name: str
    fn: LoopFunction
    windows: list[bytes] = field(default_factory=list)


def conformance_loops(limit: int | None = None) -> list[CheckLoop]:
    """The conformance corpus with its inputs turned into window bytes (at most `limit` inputs per case)."""
    mem = LinearMemory(MEMORY)
    out = []
    for case in cases():
        frame = mem.alloc_frame(case.fn.nslots)
        size = frame_size(case.fn.nslots)
        inputs = case.inputs if limit is None else _spread(case.inputs, limit)
        windows = []
        for values in inputs:
            prepare_window(mem, frame, case.fn.nslots, values, case.interrupt)
            windows.append(mem.read_bytes(frame, size))
        out.append(CheckLoop(case.name, case.fn, windows))
        mem.free_frame(frame)
    return out


def _spread(items: list, limit: int) -> list:
    if len(items) <= limit:
        return items
    step = len(items) / limit
    picked = [items[int(k * step)] for k in range(limit)]
    return picked + [items[-1]]  # keep the final entry-guard failure input


def random_loops(seed: int, count: int) -> list[CheckLoop]:
    """Random loops from the backend fuzzer, with their inputs as window bytes."""
    from tauraro.backends.llvm.fuzz import random_functions

    mem = LinearMemory(MEMORY)
    out = []
    for case in random_functions(seed, count):
        frame = mem.alloc_frame(case.fn.nslots)
        windows = []
        for values in case.inputs:
            prepare_window(mem, frame, case.fn.nslots, values, case.interrupt)
            windows.append(mem.read_bytes(frame, frame_size(case.fn.nslots)))
        out.append(CheckLoop(f"random{seed}:{case.name}", case.fn, windows))
        mem.free_frame(frame)
    return out


SIZE_LINE = re.compile(r"^N = \d+(  # size)$", re.M)
# Sizes for bench kernels (the IR interpreter runs them): enough to compile and enter every loop.
SIZES = {"fib": 12, "mandelbrot": 12, "matmul": 6, "nbody": 40, "newton": 60, "sieve": 400, "collatz": 150}
PROGRAM_SECONDS = 30  # per program; a program that runs longer is cut off (its loops still count)


def program_loops(paths: Iterable[Path], size: int = 300, per_loop: int = 4) -> list[CheckLoop]:
    """Loops compiled while running real programs (with the "ir" backend), with their entry windows."""
    from tauraro.api import run
    from tauraro.backends.base import get_backend

    backend = get_backend("ir")
    captured: list[CheckLoop] = []
    original = type(backend).compile

    def recording_compile(self, fn, memory):  # type: ignore[no-untyped-def]
        loop = original(self, fn, memory)
        record = CheckLoop(f"{current}:{fn.name}", fn)
        captured.append(record)
        inner = loop.run

        def run_and_record(frame_offset: int) -> int:
            if len(record.windows) < per_loop:
                record.windows.append(memory.read_bytes(frame_offset, frame_size(fn.nslots)))
            return inner(frame_offset)

        loop.run = run_and_record  # type: ignore[method-assign]
        return loop

    def on_alarm(signum, frame):  # type: ignore[no-untyped-def]
        raise TimeoutError(f"{current} ran longer than {PROGRAM_SECONDS} s")

    type(backend).compile = recording_compile  # type: ignore[method-assign]
    previous = signal.signal(signal.SIGALRM, on_alarm)
    try:
        for path in paths:
            current = path.stem
            n = SIZES.get(path.stem, size)
            source = SIZE_LINE.sub(rf"N = {n}\1", path.read_text(encoding="utf-8"))
            with open(os.devnull, "w") as devnull:
                signal.alarm(PROGRAM_SECONDS)
                try:
                    run(source, "ir", filename=str(path), jit_threshold=20, stdout=devnull)
                except Exception:  # noqa: BLE001 - error programs are fine: their loops were still captured
                    pass
                finally:
                    signal.alarm(0)
    finally:
        signal.signal(signal.SIGALRM, previous)
        type(backend).compile = original  # type: ignore[method-assign]
    return [c for c in captured if c.windows]


def reference_results(loop: CheckLoop) -> list[tuple[int, bytes]]:
    """Exit numbers and windows from the IR interpreter."""
    mem = LinearMemory(MEMORY)
    frame = mem.alloc_frame(loop.fn.nslots)
    interp = IRInterpreter(loop.fn, mem)
    out = []
    for w in loop.windows:
        mem.write_bytes(frame, w)
        n = interp.run(frame)
        out.append((n, mem.read_bytes(frame, len(w))))
    return out


def host_results(loop: CheckLoop) -> list[tuple[int, bytes]]:
    """Exit numbers and windows from the host's LLVM code."""
    from tauraro.backends.base import get_backend

    backend = get_backend("llvm")
    mem = backend.make_memory(MEMORY)
    frame = mem.alloc_frame(loop.fn.nslots)
    compiled = backend.compile(loop.fn, mem)
    out = []
    try:
        for w in loop.windows:
            mem.write_bytes(frame, w)
            n = compiled.run(frame)
            out.append((n, mem.read_bytes(frame, len(w))))
    finally:
        compiled.release()
    return out


def build_harness(loops: list[CheckLoop], workdir: Path, ir_opt: int = 0) -> Path:
    """Compile every loop to an AArch64 object and link them with the C harness (static)."""
    from tauraro.backends.llvm.runtime import aarch64_object

    objects = []
    for k, loop in enumerate(loops):
        path = workdir / f"loop_{k}.o"
        path.write_bytes(aarch64_object(loop.fn, f"loop_{k}", ir_opt=ir_opt))
        objects.append(str(path))
    decls = "\n".join(f"int64_t loop_{k}(void *, int64_t);" for k in range(len(loops)))
    table = ", ".join(f"loop_{k}" for k in range(len(loops)))
    src = workdir / "harness.c"
    src.write_text(HARNESS % {"frame": FRAME, "memory": MEMORY, "decls": decls, "table": table}, encoding="utf-8")
    exe = workdir / "harness"
    cmd = [CROSS_CC, "-static", "-O1", "-o", str(exe), str(src), *objects, "-lm"]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    return exe


def run_emulated(exe: Path, loops: list[CheckLoop]) -> list[list[tuple[int, bytes]]]:
    """Run every window of every loop under qemu; results per loop."""
    records = bytearray()
    for k, loop in enumerate(loops):
        for w in loop.windows:
            records += struct.pack("<II", k, len(w)) + w
    proc = subprocess.run([QEMU, str(exe)], input=bytes(records), capture_output=True, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"harness failed under qemu (status {proc.returncode}): {proc.stderr.decode()[:500]}")
    data, pos = proc.stdout, 0
    results = []
    for loop in loops:
        per = []
        for w in loop.windows:
            (n,) = struct.unpack_from("<q", data, pos)
            per.append((n, data[pos + 8 : pos + 8 + len(w)]))
            pos += 8 + len(w)
        results.append(per)
    if pos != len(data):
        raise RuntimeError(f"harness output has {len(data) - pos} unexpected trailing bytes")
    return results


def compare(loop: CheckLoop, want: list[tuple[int, bytes]], got: list[tuple[int, bytes]], label: str) -> list[str]:
    problems = []
    for k, ((n_w, w_w), (n_g, w_g)) in enumerate(zip(want, got)):
        diff = compare_windows(w_w, w_g)
        if n_w != n_g or diff:
            problems.append(f"{label} {loop.name} input {k}: exit {n_g} (expected {n_w}); {diff or 'window ok'}")
    return problems


def tools_missing() -> list[str]:
    """The external tools this check needs that are not on PATH."""
    return [t for t in (CROSS_CC, QEMU) if shutil.which(t) is None]


def check(loops: list[CheckLoop], keep: Path | None = None, ir_opt: int = 0, host: bool = True) -> tuple[int, list[str]]:
    """Run the whole check; returns (windows compared, problems)."""
    workdir = Path(tempfile.mkdtemp(prefix="tauraro-aarch64-")) if keep is None else keep
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        exe = build_harness(loops, workdir, ir_opt)
        emulated = run_emulated(exe, loops)
        problems: list[str] = []
        total = 0
        for loop, got in zip(loops, emulated):
            want = reference_results(loop)
            total += len(want)
            problems += compare(loop, want, got, "aarch64 vs IR interpreter:")
            if host:
                problems += compare(loop, host_results(loop), got, "aarch64 vs x86-64:")
        return total, problems
    finally:
        if keep is None:
            shutil.rmtree(workdir, ignore_errors=True)


def default_programs(quick: bool) -> list[Path]:
    progs = sorted((ROOT / "tests" / "programs").glob("*.tr"))
    kernels = sorted((ROOT / "bench" / "kernels").glob("*.tr"))
    if quick:
        progs = [p for p in progs if p.stem.startswith(("loop_", "hausa_loop", "arith", "bitwise"))]
    return progs + kernels


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer inputs per conformance case and fewer programs")
    ap.add_argument("--keep", type=Path, default=None, help="keep objects, harness and binary in this directory")
    ap.add_argument("--ir-opt", type=int, default=0, help="LLVM IR pipeline level for the AArch64 objects")
    args = ap.parse_args(argv)
    missing = tools_missing()
    if missing:
        print(f"aarch64 check: missing tools: {', '.join(missing)} (run ci/aarch64-emulated.sh)", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    loops = conformance_loops(limit=40 if args.quick else None)
    nconf = len(loops)
    loops += random_loops(2024, 60 if args.quick else 300)
    nrand = len(loops) - nconf
    loops += program_loops(default_programs(args.quick))
    total, problems = check(loops, args.keep, args.ir_opt)
    for p in problems[:50]:
        print(p)
    print(f"aarch64 check: {len(loops)} loops ({nconf} conformance snippets, {nrand} random, "
          f"{len(loops) - nconf - nrand} from programs), {total} input windows, {len(problems)} mismatches, "
          f"{time.perf_counter() - t0:.1f} s")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
