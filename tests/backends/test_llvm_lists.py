"""LLVM backend: list ops on list objects in linear memory match the IR interpreter (window and list bytes)."""
from __future__ import annotations

import math

import pytest

pytest.importorskip("llvmlite", reason="the LLVM backend needs llvmlite")

from tauraro.backends.base import get_backend  # noqa: E402
from tauraro.backends.conformance import compare_windows  # noqa: E402
from tauraro.backends.ir.interp import IRInterpreter  # noqa: E402
from tauraro.jit.ir import BOOL, F64, I64, OPS, PTR, TYPE_TAG, IRBuilder, LoopFunction  # noqa: E402
from tauraro.jit.layout import LinearMemory, box, frame_size  # noqa: E402
from tauraro.jit.reasons import ExitReason  # noqa: E402

if PTR not in TYPE_TAG or "list.get.bool" not in OPS:
    pytest.skip("this IR has no list ops yet", allow_module_level=True)

# docs/jit.md section 7: P+0 length, P+8 capacity, P+16 items offset, P+24 dirty word, cells from P+32.
HEADER = 32
LISTS = [[], [5], [1, -2, 3, 2**63 - 1], [0.5, -0.0, math.inf, math.nan], [True, False, True], [1, 2.5, False, 7]]
INDEXES = [0, 1, 2, 3, -1, -3, -4, 4, 2**63 - 1, -(2**63)]


def write_list(mem: LinearMemory, items: list) -> int:
    p = mem.alloc(HEADER + 16 * len(items))
    q = mem.words
    q[p >> 3], q[(p >> 3) + 1], q[(p >> 3) + 2], q[(p >> 3) + 3] = len(items), len(items), p + HEADER, 0
    for k, item in enumerate(items):
        tag, payload = box(item)
        q[(p + HEADER + 16 * k) >> 3] = tag
        q[(p + HEADER + 16 * k + 8) >> 3] = payload
    return p


def list_case(opcode: str) -> LoopFunction:
    """s0 = list, s1 = index, s2 = value to store; the result (get/len) goes to s3."""
    d = OPS[opcode]
    fn = LoopFunction(opcode.replace(".", "_"), "lists:1", 4, entry_pc=0)
    b = IRBuilder(fn)
    b.set_block(b.new_block("entry"))
    snap = b.snapshot(0, {}, ExitReason.GUARD_TYPE, 1)
    b.guard_tag(0, PTR, snap)
    p = b.load(0, PTR)
    args = [p]
    if len(d.operands) > 1:
        b.guard_tag(1, I64, snap)
        args.append(b.load(1, I64))
    if len(d.operands) > 2:
        b.guard_tag(2, d.operands[2], snap)
        args.append(b.load(2, d.operands[2]))
    fail = b.snapshot(1, {3: args[-1]}, (d.exits or (ExitReason.UNSUPPORTED,))[0], 1)
    r = b.op(opcode, *args, snapshot=fail if d.exits else None)
    b.exit(b.snapshot(2, {3: r} if r is not None else {0: p}, ExitReason.LOOP_EXIT, 1))
    return fn


def sum_loop() -> LoopFunction:
    """for i in range(len(lst)): total += lst[i]; lst[i] = total (ints), through a loop with phis."""
    fn = LoopFunction("list_sum", "lists:1", 3, entry_pc=0)
    b = IRBuilder(fn)
    b.set_block(b.new_block("entry"))
    snap = b.snapshot(0, {}, ExitReason.GUARD_TYPE, 1)
    b.guard_tag(0, PTR, snap)
    p = b.load(0, PTR)
    n = b.op("list.len", p)
    hdr = b.new_block("header", [I64, I64], ["i", "total"])
    body, done = b.new_block("body"), b.new_block("done")
    b.jump(hdr, [b.const(I64, 0), b.const(I64, 0)])
    b.set_block(hdr)
    i, total = hdr.params
    b.br(b.op("lt.i64", i, n), body, [], done, [])
    b.set_block(body)
    x = b.op("list.get.i64", p, i, snapshot=b.snapshot(3, {1: i, 2: total}, ExitReason.GUARD_TYPE, 2))
    t2 = b.op("add.i64", total, x, snapshot=b.snapshot(4, {1: i, 2: total}, ExitReason.OVERFLOW, 2))
    b.op("list.set.i64", p, i, t2, snapshot=b.snapshot(5, {1: i, 2: t2}, ExitReason.RANGE, 3))
    i2 = b.op("add.i64", i, b.const(I64, 1), snapshot=b.snapshot(6, {1: i, 2: t2}, ExitReason.OVERFLOW, 1))
    b.poll(b.snapshot(7, {1: i2, 2: t2}, ExitReason.INTERRUPT, 1))
    b.jump(hdr, [i2, t2])
    b.set_block(done)
    b.exit(b.snapshot(8, {1: i, 2: total, 0: p}, ExitReason.LOOP_EXIT, 4))
    return fn


def run_both(fn: LoopFunction, items: list, slots: list) -> list[str]:
    """Run on the IR interpreter and on LLVM with the same list at the same offset; compare everything."""
    backend = get_backend("llvm")
    results = []
    for kind in ("ir", "llvm"):
        mem = backend.make_memory(1 << 16) if kind == "llvm" else LinearMemory(1 << 16)
        frame = mem.alloc_frame(fn.nslots)
        p = write_list(mem, items)
        mem.write_slot(frame, 0, int(TYPE_TAG[PTR]), p)
        for k, v in enumerate(slots, start=1):
            mem.write_value(frame, k, v)
        code = IRInterpreter(fn, mem) if kind == "ir" else backend.compile(fn, mem)
        n = code.run(frame)
        results.append((n, mem.read_bytes(frame, frame_size(fn.nslots)), mem.read_bytes(p, HEADER + 16 * len(items))))
        if kind == "llvm":
            code.release()
    (n1, w1, l1), (n2, w2, l2) = results
    problems = []
    diff = compare_windows(w1, w2)
    list_diff = compare_windows(l1, l2) if l1 != l2 else None  # a list object has the window's shape
    if n1 != n2 or diff or list_diff:
        problems.append(f"{fn.name} {items} {slots}: exit {n2} (expected {n1}); {diff or 'window ok'}; "
                        f"{list_diff or 'list ok'}")
    return problems


@pytest.mark.parametrize("opcode", ["list.len", "list.get.i64", "list.get.f64", "list.get.bool",
                                    "list.set.i64", "list.set.f64", "list.set.bool"])
def test_list_op_matches_interpreter(opcode):
    fn = list_case(opcode)
    value = {I64: [7], F64: [-1.5], BOOL: [True]}
    d = OPS[opcode]
    stored = value[d.operands[2]] if len(d.operands) > 2 else [0]
    problems = []
    for items in LISTS:
        for i in INDEXES if len(d.operands) > 1 else [0]:
            problems += run_both(fn, items, [i, *stored])
    assert not problems, "\n".join(problems[:10])


def test_list_loop_reads_and_writes():
    problems = []
    for items in ([], [1, 2, 3, 4], list(range(100)), [1, 2.0, 3], [2**62, 2**62], [5, -5]):
        problems += run_both(sum_loop(), items, [0, 0])
    assert not problems, "\n".join(problems[:10])
