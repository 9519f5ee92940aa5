"""Emulated AArch64 check: compile loops to AArch64 objects, run them under qemu, compare with x86-64 and the IR interpreter.

Loops: the backend conformance corpus (every op and guard kind, edge values), random loops
(tauraro.backends.irgen: random ops, guards, diamonds, names that collide) and loops captured
from real programs (tests/programs and bench/kernels at small sizes: each compiled loop with the
memory it was entered with). Every loop is compiled by the LLVM backend for
aarch64-unknown-linux-gnu, linked statically with a small C harness implementing the frame-window
contract (aarch64-linux-gnu-gcc -static ... -lm) and run under qemu-aarch64-static. Each input is
a memory image (the frame window, plus for captured loops the list objects it points to); the exit
number and the memory after the call must equal those of the IR interpreter, and those of the
host (x86-64) LLVM code (NaN payloads in slots and list cells excepted).

Usage: ``python ci/aarch64_check.py [--quick] [--keep DIR] [--ir-opt N]``.
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

from tauraro.backends.conformance import cases, compare_windows, prepare_window  # noqa: E402
from tauraro.backends.ir.interp import IRInterpreter  # noqa: E402
from tauraro.jit.ir import PTR, TYPE_TAG, LoopFunction  # noqa: E402
from tauraro.jit.layout import HEADER_SIZE, SLOT_SIZE, LinearMemory, frame_size  # noqa: E402

FRAME = 64  # byte offset of a synthetic window inside the memory image (above the null guard)
MEMORY = 1 << 22  # the harness's memory: the largest image it accepts
CROSS_CC = os.environ.get("AARCH64_CC", "aarch64-linux-gnu-gcc")
QEMU = os.environ.get("QEMU_AARCH64", "qemu-aarch64-static")

HARNESS = r"""
/* Frame-window harness. For each record on stdin (u32 loop, u32 frame offset, u32 size, then a
   memory image of that size: the frame window and any list objects it points to), copy the image
   to the start of a 16-aligned memory, call loop(memory, frame) and write the i64 exit number and
   the image after the call to stdout. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define MEMORY %(memory)d
typedef int64_t (*loop_fn)(void *base, int64_t frame);
%(decls)s
static loop_fn loops[] = { %(table)s };
static _Alignas(16) unsigned char memory[MEMORY];
int main(void) {
    uint32_t head[3];
    while (fread(head, 4, 3, stdin) == 3) {
        if (head[0] >= sizeof loops / sizeof loops[0] || head[2] > MEMORY || head[1] >= head[2]) return 2;
        if (fread(memory, 1, head[2], stdin) != head[2]) return 3;
        int64_t n = loops[head[0]](memory, head[1]);
        fwrite(&n, 8, 1, stdout);
        fwrite(memory, 1, head[2], stdout);
    }
    return 0;
}
"""


@dataclass
class CheckLoop:
    """A loop and the inputs to run it on: (frame offset, memory image from offset 0) pairs."""

    name: str
    fn: LoopFunction
    inputs: list[tuple[int, bytes]] = field(default_factory=list)


def _window_image(window: bytes) -> tuple[int, bytes]:
    return FRAME, bytes(FRAME) + window


def conformance_loops(limit: int | None = None) -> list[CheckLoop]:
    """The conformance corpus with its inputs turned into window bytes (at most `limit` inputs per case)."""
    mem = LinearMemory(MEMORY)
    out = []
    for case in cases():
        frame = mem.alloc_frame(case.fn.nslots)
        size = frame_size(case.fn.nslots)
        inputs = case.inputs if limit is None else _spread(case.inputs, limit)
        images = []
        for values in inputs:
            prepare_window(mem, frame, case.fn.nslots, values, case.interrupt)
            images.append(_window_image(mem.read_bytes(frame, size)))
        out.append(CheckLoop(case.name, case.fn, images))
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
    from tauraro.backends.irgen import random_cases

    mem = LinearMemory(MEMORY)
    out = []
    for case in random_cases(seed, count):
        frame = mem.alloc_frame(case.fn.nslots)
        images = []
        for values in case.inputs:
            prepare_window(mem, frame, case.fn.nslots, values, case.interrupt)
            images.append(_window_image(mem.read_bytes(frame, frame_size(case.fn.nslots))))
        out.append(CheckLoop(f"random{seed}:{case.name}", case.fn, images))
        mem.free_frame(frame)
    return out


SIZE_LINE = re.compile(r"^N = \d+(  # size)$", re.M)
# Sizes for bench kernels (the IR interpreter runs them): enough to compile and enter every loop.
SIZES = {"fib": 12, "mandelbrot": 12, "matmul": 6, "nbody": 40, "newton": 60, "sieve": 400, "collatz": 150}
PROGRAM_SECONDS = 30  # per program; a program that runs longer is cut off (its loops still count)


def program_loops(paths: Iterable[Path], size: int = 300, per_loop: int = 4) -> list[CheckLoop]:
    """Loops compiled while running real programs (with the "ir" backend), with their entry memory.

    Each input is the loop's window when it was entered plus copies of the list objects its slots
    point to (compacted into one small image), so list loops run on their real lists.
    """
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
            if len(record.inputs) < per_loop:
                record.inputs.append(_compact_image(fn, memory, frame_offset))
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
    return [c for c in captured if c.inputs]


def _compact_image(fn: LoopFunction, memory: LinearMemory, frame: int) -> tuple[int, bytes]:
    """The window moved to FRAME and the lists its slots point to packed after it (offsets patched)."""
    window = bytearray(memory.read_bytes(frame, frame_size(fn.nslots)))
    image = bytearray(FRAME) + window
    list_tag = int(TYPE_TAG[PTR]) if PTR in TYPE_TAG else None
    moved: dict[int, int] = {}
    for slot in range(fn.nslots):
        at = HEADER_SIZE + SLOT_SIZE * slot
        tag, p = struct.unpack_from("<qq", window, at)
        if list_tag is None or tag != list_tag:
            continue
        if p not in moved:
            length, _cap, items, _dirty = struct.unpack_from("<qqqq", memory.read_bytes(p, 32))
            new = (len(image) + 15) // 16 * 16
            image += bytes(new - len(image))
            image += struct.pack("<qqqq", length, length, new + 32, _dirty)
            image += memory.read_bytes(items, 16 * length)
            moved[p] = new
        struct.pack_into("<q", image, FRAME + at + 8, moved[p])
    return FRAME, bytes(image)


def reference_results(loop: CheckLoop) -> list[tuple[int, bytes]]:
    """Exit numbers and memory images from the IR interpreter."""
    out = []
    for frame, image in loop.inputs:
        mem = LinearMemory(len(image))
        mem.write_bytes(0, image)
        n = IRInterpreter(loop.fn, mem).run(frame)
        out.append((n, mem.read_bytes(0, len(image))))
    return out


def host_results(loop: CheckLoop) -> list[tuple[int, bytes]]:
    """Exit numbers and memory images from the host's LLVM code."""
    from tauraro.backends.base import get_backend

    backend = get_backend("llvm")
    size = max(len(image) for _, image in loop.inputs)
    mem = backend.make_memory(size)
    compiled = backend.compile(loop.fn, mem)
    out = []
    try:
        for frame, image in loop.inputs:
            mem.write_bytes(0, image + bytes(size - len(image)))
            n = compiled.run(frame)
            out.append((n, mem.read_bytes(0, len(image))))
    finally:
        compiled.release()
    return out


def build_harness(loops: list[CheckLoop], workdir: Path, ir_opt: int = 0) -> Path:
    """Compile every loop to an AArch64 object and link them with the C harness (static)."""
    from tauraro.backends.llvm.engine import aarch64_object

    objects = []
    for k, loop in enumerate(loops):
        path = workdir / f"loop_{k}.o"
        path.write_bytes(aarch64_object(loop.fn, f"loop_{k}", ir_opt=ir_opt))
        objects.append(str(path))
    decls = "\n".join(f"int64_t loop_{k}(void *, int64_t);" for k in range(len(loops)))
    table = ", ".join(f"loop_{k}" for k in range(len(loops)))
    src = workdir / "harness.c"
    src.write_text(HARNESS % {"memory": MEMORY, "decls": decls, "table": table}, encoding="utf-8")
    exe = workdir / "harness"
    cmd = [CROSS_CC, "-static", "-O1", "-o", str(exe), str(src), *objects, "-lm"]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    return exe


def run_emulated(exe: Path, loops: list[CheckLoop]) -> list[list[tuple[int, bytes]]]:
    """Run every input of every loop under qemu; results per loop."""
    records = bytearray()
    for k, loop in enumerate(loops):
        for frame, image in loop.inputs:
            records += struct.pack("<III", k, frame, len(image)) + image
    proc = subprocess.run([QEMU, str(exe)], input=bytes(records), capture_output=True, timeout=900)
    if proc.returncode != 0:
        raise RuntimeError(f"harness failed under qemu (status {proc.returncode}): {proc.stderr.decode()[:500]}")
    data, pos = proc.stdout, 0
    results = []
    for loop in loops:
        per = []
        for _frame, image in loop.inputs:
            (n,) = struct.unpack_from("<q", data, pos)
            per.append((n, data[pos + 8 : pos + 8 + len(image)]))
            pos += 8 + len(image)
        results.append(per)
    if pos != len(data):
        raise RuntimeError(f"harness output has {len(data) - pos} unexpected trailing bytes")
    return results


def _regions(fn: LoopFunction, frame: int, image: bytes) -> list[tuple[int, int]]:
    """(start, end) of the window and of every list object a LIST-tagged slot points to."""
    size = frame_size(fn.nslots)
    regions = [(frame, frame + size)]
    list_tag = int(TYPE_TAG[PTR]) if PTR in TYPE_TAG else None
    for slot in range(fn.nslots):
        tag, payload = struct.unpack_from("<qq", image, frame + HEADER_SIZE + SLOT_SIZE * slot)
        if list_tag is not None and tag == list_tag and 0 <= payload < len(image) - 32:
            (length,) = struct.unpack_from("<q", image, payload)
            regions.append((payload, min(len(image), payload + 32 + 16 * max(0, length))))
    return regions


def compare(loop: CheckLoop, want: list[tuple[int, bytes]], got: list[tuple[int, bytes]], label: str) -> list[str]:
    """Exit numbers equal; window and list cells equal up to NaN payloads; every other byte equal."""
    problems = []
    for k, ((frame, image), (n_w, m_w), (n_g, m_g)) in enumerate(zip(loop.inputs, want, got)):
        diff = None
        rest_w, rest_g = bytearray(m_w), bytearray(m_g)
        for start, end in _regions(loop.fn, frame, image):
            # Lists share the slot format (a 32-byte header, then tag/payload cells).
            diff = diff or compare_windows(m_w[start:end], m_g[start:end])
            rest_w[start:end] = rest_g[start:end] = bytes(end - start)
        if not diff and rest_w != rest_g:
            at = next(i for i, (a, b) in enumerate(zip(rest_w, rest_g)) if a != b)
            diff = f"memory outside the window and lists changed at offset {at}"
        if n_w != n_g or diff:
            problems.append(f"{label} {loop.name} input {k}: exit {n_g} (expected {n_w}); {diff or 'memory ok'}")
    return problems


def tools_missing() -> list[str]:
    """The external tools this check needs that are not on PATH."""
    return [t for t in (CROSS_CC, QEMU) if shutil.which(t) is None]


def check(loops: list[CheckLoop], keep: Path | None = None, ir_opt: int = 0, host: bool = True) -> tuple[int, list[str]]:
    """Run the whole check; returns (inputs compared, problems)."""
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
          f"{len(loops) - nconf - nrand} from programs), {total} inputs, {len(problems)} mismatches, "
          f"{time.perf_counter() - t0:.1f} s")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
