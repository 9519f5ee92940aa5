"""Backend conformance corpus: IR snippets for every op and guard kind, with inputs, and the window comparison.

Every backend must give, for every case and input, the same exit number and the same frame
window bytes as the IR interpreter (any NaN payload matches any NaN). Backend authors can run
``python -m tauraro.backends.conformance BACKEND`` while developing; tests/backends runs it in CI.
"""
from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from ..jit.ir import (
    BOOL,
    CONST_OPS,
    F64,
    I64,
    LIBM_BY_OP,
    OPS,
    Const,
    Flag,
    IRBuilder,
    LoopFunction,
    Type,
    Value,
)
from ..jit.irtext import print_function
from ..jit.layout import (
    HEADER_SIZE,
    I64_MAX,
    I64_MIN,
    SLOT_SIZE,
    LinearMemory,
    Tag,
    bits_to_float,
    box,
    frame_size,
)
from ..jit.reasons import ExitReason
from ..jit.semantics import SEMANTICS
from .ir.interp import IRInterpreter

I64_SAMPLES: tuple[int, ...] = (
    0, 1, -1, 2, -2, 3, -7, 63, 64, 65, 100, -100, 3037000499, 3037000500, -3037000500,
    2**31, 2**32 + 1, 2**53, 2**53 + 1, -(2**53), -(2**53) - 1, 2**62, -(2**62),
    I64_MAX, I64_MAX - 1, I64_MIN, I64_MIN + 1,
)
F64_SAMPLES: tuple[float, ...] = (
    0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 1.5, -2.5, 3.0, -3.0, 7.0, 0.1, math.pi, 1e300, -1e300,
    1e-310, 5e-324, 710.0, -745.5, 2.0**53 + 2, 2.0**63, -(2.0**63), 2.0**64, math.inf, -math.inf, math.nan,
)
BOOL_SAMPLES: tuple[bool, ...] = (False, True)
SAMPLES: dict[Type, tuple] = {I64: I64_SAMPLES, F64: F64_SAMPLES, BOOL: BOOL_SAMPLES}
# A value of the wrong type for each type, to trip entry guards.
WRONG: dict[Type, object] = {I64: 1.0, F64: 1, BOOL: 2}
# An input entry that is not a Python value: a raw (tag, payload) pair written as is.
Raw = tuple


@dataclass
class Case:
    """An IR snippet and the slot values to run it on (one tuple per run)."""

    name: str
    fn: LoopFunction
    inputs: list[tuple] = field(default_factory=list)
    interrupt: bool = False  # set the header interrupt flag before running
    lists: dict[int, list] = field(default_factory=dict)  # slot -> Python list mirrored in before each run

    @property
    def text(self) -> str:
        return print_function(self.fn)


def _new(name: str, nslots: int) -> tuple[LoopFunction, IRBuilder]:
    fn = LoopFunction(name, "conformance:1", nslots, {k: f"v{k}" for k in range(nslots)}, entry_pc=0)
    b = IRBuilder(fn)
    b.set_block(b.new_block("entry"))
    return fn, b


def _load_args(b: IRBuilder, types: Sequence[Type]) -> list[Value]:
    snap = b.snapshot(0, {}, ExitReason.GUARD_TYPE, 1)
    for slot, ty in enumerate(types):
        b.guard_tag(slot, ty, snap)
    return [b.load(slot, ty) for slot, ty in enumerate(types)]


def op_case(opcode: str, attrs: dict | None = None) -> Case:
    """`result = opcode(slots...)`; exits through !1 if the op exits, else writes the result."""
    d = OPS[opcode]
    suffix = f"_{'_'.join(map(str, attrs.values()))}" if attrs else ""
    nslots = len(d.operands) + 1
    fn, b = _new(f"op_{opcode.replace('.', '_')}{suffix}", nslots)
    args = _load_args(b, d.operands)
    inputs_snapshot = {k: v for k, v in enumerate(args[:1])}
    fail = b.snapshot(1, inputs_snapshot, (d.exits or (ExitReason.UNSUPPORTED,))[0], 1)
    result = b.op(opcode, *args, snapshot=fail if Flag.DEOPT in d.flags else None, **(attrs or {}))
    out = {len(args): result} if result is not None else {}
    b.exit(b.snapshot(2, out, ExitReason.LOOP_EXIT, 1))
    return Case(fn.name, fn, _inputs(d.operands))


def _inputs(types: Sequence[Type], limit: int = 1200) -> list[tuple]:
    if not types:
        return [()]
    grid: list[tuple] = [()]
    for ty in types:
        grid = [(*prefix, x) for prefix in grid for x in SAMPLES[ty]]
    if len(grid) > limit:
        step = len(grid) // limit + 1
        grid = grid[::step]
    for k, ty in enumerate(types):  # each entry guard fails once
        bad = list(grid[0])
        bad[k] = WRONG[ty]
        grid.append(tuple(bad))
    return grid


def op_cases() -> Iterator[Case]:
    """One snippet per computing op of the table (one per libm function for callf)."""
    for name in OPS:
        if name not in SEMANTICS or name in CONST_OPS:
            continue
        if name in LIBM_BY_OP:
            for fn_name in LIBM_BY_OP[name]:
                yield op_case(name, {"fn": fn_name})
        else:
            yield op_case(name)


def const_cases() -> Iterator[Case]:
    """Constants of every type (incl. -0.0, inf, NaN, extremes) stored through an exit and as snapshot Consts."""
    values = [(I64, v) for v in (0, -1, I64_MAX, I64_MIN)] + [(F64, v) for v in (0.0, -0.0, math.inf, -math.nan, 5e-324)]
    values += [(BOOL, False), (BOOL, True)]
    fn, b = _new("consts", len(values) * 2)
    out: dict[int, Value | Const] = {}
    for k, (ty, v) in enumerate(values):
        out[k] = b.const(ty, v)
        out[len(values) + k] = Const(ty, v)
    b.exit(b.snapshot(5, out, ExitReason.LOOP_EXIT, 1))
    yield Case("consts", fn, [tuple([7] * len(values) * 2)])


# Constant operands hit each lowering's special forms (folded literals, skipped guards, one-compare
# overflow tests): zero, +-1, powers of two and their neighbours, the i64 extremes, NaN, -0.0.
CONST_OPERANDS: dict[Type, tuple] = {
    I64: (0, 1, -1, 2, 3, 8, -2, -8, 7, 63, 64, 2**62, I64_MIN, I64_MAX,
          -3, -64, 100, 65535, 2**32, I64_MIN + 1),
    F64: (0.0, -0.0, 1.0, -1.0, 0.5, 3.0, -2.5, math.inf, -math.inf, math.nan),
    BOOL: (False, True),
}
BINARY_OPS = [n for n, d in OPS.items() if n in SEMANTICS and len(d.operands) == 2 and n not in CONST_OPS]
UNARY_OPS = [n for n, d in OPS.items() if n in SEMANTICS and len(d.operands) == 1 and not n.startswith("guard.")]


def _exit_reason(opcode: str) -> ExitReason:
    return (OPS[opcode].exits or (ExitReason.UNSUPPORTED,))[0]


def _attr_sets(opcode: str) -> list[dict[str, str]]:
    """The attributes to try `opcode` with: each libm function it may call (sin, log and exp for
    callf.f64), else none."""
    if opcode == "callf.f64":
        return [{"fn": name} for name in ("sin", "log", "exp")]
    return [{"fn": name} for name in LIBM_BY_OP.get(opcode, ())] or [{}]


def const_operand_cases(opcode: str) -> Iterator[Case]:
    """`opcode` with one operand an IR constant (each of CONST_OPERANDS, either side) and the other
    loaded from slot 0, over the samples plus values around the constant and a wrong-typed input."""
    d = OPS[opcode]
    for position, attrs in ((p, a) for p in (0, 1) for a in _attr_sets(opcode)):
        other = d.operands[1 - position]
        for value in CONST_OPERANDS[d.operands[position]]:
            fn = LoopFunction(f"{opcode}_c{position}", "consts:1", 2, {0: "x", 1: "r"}, entry_pc=0)
            b = IRBuilder(fn)
            b.set_block(b.new_block("entry"))
            b.guard_tag(0, other, b.snapshot(0, {}, ExitReason.GUARD_TYPE, 1))
            x = b.load(0, other)
            k = b.const(d.operands[position], value)
            fail = b.snapshot(1, {0: x}, _exit_reason(opcode), 1)
            r = b.op(opcode, *((k, x) if position == 0 else (x, k)), snapshot=fail if Flag.DEOPT in d.flags else None,
                     **attrs)
            b.exit(b.snapshot(2, {1: r}, ExitReason.LOOP_EXIT, 1))
            inputs = list(SAMPLES[other])  # not a set: 0.0 and -0.0 are both inputs
            if other is I64 and d.operands[position] is I64:
                near = (value, -value if value != I64_MIN else 0, value + 1 if value < I64_MAX else 0,
                        12345, -12345, I64_MAX - 1, I64_MIN + 2)
                inputs += [v for v in dict.fromkeys(near) if v not in inputs]
            yield Case(fn.name, fn, [(v,) for v in inputs] + [(WRONG[other],)])


def all_const_cases(opcode: str) -> Iterator[Case]:
    """`opcode` on two IR constants (the first 8 of CONST_OPERANDS each): what a lowering folds itself."""
    d = OPS[opcode]
    pairs = [(x, y) for x in CONST_OPERANDS[d.operands[0]][:8] for y in CONST_OPERANDS[d.operands[1]][:8]]
    for (x, y), attrs in ((pair, a) for pair in pairs for a in _attr_sets(opcode)):
        fn, b = _new(f"{opcode}_cc", 1)
        fail = b.snapshot(1, {}, _exit_reason(opcode), 1)
        r = b.op(opcode, b.const(d.operands[0], x), b.const(d.operands[1], y),
                 snapshot=fail if Flag.DEOPT in d.flags else None, **attrs)
        b.exit(b.snapshot(2, {0: r}, ExitReason.LOOP_EXIT, 1))
        yield Case(fn.name, fn, [(0,)])


def unary_const_cases(opcode: str) -> Iterator[Case]:
    """`opcode` on each IR constant of its operand type (callf.f64 with sin, log and exp)."""
    d = OPS[opcode]
    for attrs in _attr_sets(opcode):
        for value in CONST_OPERANDS[d.operands[0]]:
            fn, b = _new(f"{opcode}_c", 1)
            fail = b.snapshot(1, {}, _exit_reason(opcode), 1)
            r = b.op(opcode, b.const(d.operands[0], value), snapshot=fail if Flag.DEOPT in d.flags else None, **attrs)
            b.exit(b.snapshot(2, {0: r}, ExitReason.LOOP_EXIT, 1))
            yield Case(fn.name, fn, [(0,)])


def _counting_loop(name: str, *, poll: bool, nested: bool = False) -> LoopFunction:
    """s0 = i, s1 = n, s2 = acc (float): for i < n: acc += float(i) * 0.5 (inner loop: j < 3)."""
    fn, b = _new(name, 4)
    i0, n0 = _load_args(b, (I64, I64))
    acc0 = b.const(F64, 0.0)
    header = b.new_block("header", [I64, F64], ["i", "acc"])
    body, done = b.new_block("body"), b.new_block("done")
    b.jump(header, [i0, acc0])
    b.set_block(header)
    i, acc = header.params
    b.br(b.op("lt.i64", i, n0), body, [], done, [])
    b.set_block(body)
    half = b.const(F64, 0.5)
    acc2 = b.op("add.f64", acc, b.op("mul.f64", b.op("float.i64", i), half))
    if nested:
        acc2 = _inner_loop(b, acc2)
    i2 = b.op("add.i64", i, b.const(I64, 1), snapshot=b.snapshot(3, {0: i, 2: acc2}, ExitReason.OVERFLOW, 1))
    if poll:
        b.poll(b.snapshot(1, {0: i2, 2: acc2}, ExitReason.INTERRUPT, 1))
    b.jump(header, [i2, acc2])
    b.set_block(done)
    b.exit(b.snapshot(9, {0: i, 2: acc, 3: Const(BOOL, True)}, ExitReason.LOOP_EXIT, 2))
    return fn


def _inner_loop(b: IRBuilder, acc: Value) -> Value:
    hdr = b.new_block(None, [I64, F64], ["j", "acc"])
    body, out = b.new_block(None), b.new_block(None, [F64], ["acc"])
    b.jump(hdr, [b.const(I64, 0), acc])
    b.set_block(hdr)
    j, a = hdr.params
    b.br(b.op("lt.i64", j, b.const(I64, 3)), body, [], out, [a])
    b.set_block(body)
    b.jump(hdr, [b.op("wadd.i64", j, b.const(I64, 1)), b.op("add.f64", a, b.const(F64, 1.0))])
    b.set_block(out)
    return out.params[0]


def control_cases() -> Iterator[Case]:
    """Loops, branches, block-parameter swaps, guards, polls and untouched slots."""
    runs = [(0, 0, 0.0, 0), (0, 10, 0.0, 0), (5, 3, 0.0, 0), (0, 100, 0.0, 0), (I64_MAX - 2, I64_MAX, 0.0, 0)]
    yield Case("loop", _counting_loop("loop", poll=False), runs)
    yield Case("loop_poll", _counting_loop("loop_poll", poll=True), runs)
    yield Case("loop_interrupted", _counting_loop("loop_interrupted", poll=True), runs, interrupt=True)
    yield Case("nested_loops", _counting_loop("nested_loops", poll=True, nested=True), runs)
    yield _swap_case()
    yield _guard_case("guard.true")
    yield _guard_case("guard.false")
    yield _select_branch_case()


def _swap_case() -> Case:
    """Block arguments are assigned in parallel: jump h(%b, %a) swaps."""
    fn, b = _new("swap", 3)
    a0, b0, n0 = _load_args(b, (I64, F64, I64))
    hdr = b.new_block("header", [I64, I64, F64], ["k", "a", "x"])
    body, done = b.new_block("body"), b.new_block("done")
    b.jump(hdr, [b.const(I64, 0), a0, b0])
    b.set_block(hdr)
    k, a, x = hdr.params
    b.br(b.op("lt.i64", k, n0), body, [], done, [])
    b.set_block(body)
    xi = b.op("int.f64", x, snapshot=b.snapshot(4, {0: a, 1: x}, ExitReason.RANGE, 1))
    b.jump(hdr, [b.op("wadd.i64", k, b.const(I64, 1)), xi, b.op("float.i64", a)])
    b.set_block(done)
    b.exit(b.snapshot(8, {0: a, 1: x, 2: k}, ExitReason.LOOP_EXIT, 1))
    inputs = [(3, 4.5, n) for n in (0, 1, 2, 5)] + [(3, math.inf, 2), (3, math.nan, 1), (3, 2.0**63, 2)]
    return Case("swap", fn, inputs)


def _guard_case(opcode: str) -> Case:
    fn, b = _new(opcode.replace(".", "_"), 2)
    c, v = _load_args(b, (BOOL, I64))
    b.op(opcode, c, snapshot=b.snapshot(3, {1: b.op("neg.i64", v, snapshot=0)}, ExitReason.GUARD_VALUE, 1))
    b.exit(b.snapshot(4, {0: b.op("not.bool", c), 1: Const(I64, 42)}, ExitReason.LOOP_EXIT, 1))
    return Case(fn.name, fn, [(False, 5), (True, 5), (True, I64_MIN), (1, 5)])


def _select_branch_case() -> Case:
    """br on a comparison with arguments into two different blocks."""
    fn, b = _new("branch_args", 3)
    x, y = _load_args(b, (F64, F64))
    left, right = b.new_block("left", [F64], ["m"]), b.new_block("right", [F64, BOOL], ["m", "q"])
    cond = b.op("lt.f64", x, y)
    b.br(cond, left, [x], right, [y, cond])
    b.set_block(left)
    b.exit(b.snapshot(2, {2: left.params[0]}, ExitReason.BREAK, 1))
    b.set_block(right)
    b.exit(b.snapshot(3, {2: right.params[0], 0: right.params[1]}, ExitReason.RETURN, 1))
    pairs = [(a, c) for a in (0.0, -0.0, 1.0, math.nan, -math.inf) for c in (0.0, -0.0, 2.0, math.nan)]
    return Case(fn.name, fn, pairs)


def reserved_case() -> Case:
    """Uses a reserved op: every backend must raise NotImplementedError naming it."""
    fn = LoopFunction("reserved", "conformance:1", 1, entry_pc=0)
    b = IRBuilder(fn)
    b.set_block(b.new_block("entry"))
    r = b.op("call.i64", fn="callee", snapshot=b.snapshot(0, {}, ExitReason.UNSUPPORTED, 1))
    b.exit(b.snapshot(1, {0: r}, ExitReason.LOOP_EXIT, 1))
    return Case("reserved", fn, [(0,)])


LIST_SAMPLES: dict[str, list] = {
    "ints": [5, -7, 2**62, I64_MIN, 0],
    "ints2": [1, -2, 3, I64_MAX],
    "floats": [1.5, -0.0, math.inf, math.nan, 2.0**60],
    "floats2": [0.5, -0.0, math.inf, math.nan],
    "bools": [True, False, False],
    "mixed": [1, 2.5, True],
    "mixed2": [1, 2.5, False, 7],
    "one": [5],
    "empty": [],
}
LIST_INDEXES: tuple[int, ...] = (0, 1, 2, 3, 4, 5, -1, -3, -4, -5, -6, I64_MIN, I64_MAX)


def list_cases() -> Iterator[Case]:
    """len, get and set of every element type on lists of every kind, at in- and out-of-range indexes."""
    for kind, sample in LIST_SAMPLES.items():
        fn, b = _new(f"list_len_{kind}", 2)
        snap = b.snapshot(0, {}, ExitReason.GUARD_TYPE, 1)
        b.guard_tag(0, Type.PTR, snap)
        n = b.op("list.len", b.load(0, Type.PTR))
        b.exit(b.snapshot(2, {1: n}, ExitReason.LOOP_EXIT, 1))
        yield Case(fn.name, fn, [(Raw((0, 0)),)], lists={0: sample})
        for ty in (I64, F64, BOOL):
            yield _list_get_case(kind, sample, ty)
            yield _list_set_case(kind, sample, ty)
    for k, sample in enumerate(([], [1, 2, 3, 4], list(range(100)), [1, 2.0, 3], [2**62, 2**62], [5, -5])):
        yield Case(f"list_sum_{k}", _list_sum_loop(), [(Raw((0, 0)), 0, 0)], lists={0: sample})
    for k, sample in enumerate(([3, 1, 4, 1, 5, 9, 2, 6], [2**62, 2**62, 1], [], [1.5, 2])):
        inputs = [(Raw((0, 0)), 0, shift) for shift in (0, 1, 3, 8, 9, -1)]
        yield Case(f"list_shift_{k}", _list_shift_loop(), inputs, lists={0: sample})


def _list_sum_loop() -> LoopFunction:
    """for i in range(len(lst)): total += lst[i]; lst[i] = total (ints), through a loop with phis."""
    fn, b = _new("list_sum", 3)
    snap = b.snapshot(0, {}, ExitReason.GUARD_TYPE, 1)
    b.guard_tag(0, Type.PTR, snap)
    p = b.load(0, Type.PTR)
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


def _list_shift_loop() -> LoopFunction:
    """for k in range(len(a)): t += a[k - shift]; a[k] = a[k] * 2 (negative indexes, stores, the dirty word)."""
    fn, b = _new("list_shift", 3)
    hdr, body, done = b.new_block("hdr", [I64, I64]), b.new_block("body"), b.new_block("done")
    s = b.snapshot(0, {}, ExitReason.GUARD_TYPE, 1)
    b.guard_tag(0, Type.PTR, s)
    b.guard_tag(1, I64, s)
    b.guard_tag(2, I64, s)
    p, t0, shift = b.load(0, Type.PTR), b.load(1, I64), b.load(2, I64)
    n = b.op("list.len", p)
    b.jump(hdr, [b.const(I64, 0), t0])
    b.set_block(hdr)
    k, t = hdr.params
    b.br(b.op("lt.i64", k, n), body, [], done, [])
    b.set_block(body)
    x = b.op("list.get.i64", p, b.op("wsub.i64", k, shift), snapshot=b.snapshot(2, {1: t}, ExitReason.RANGE, 2))
    t2 = b.op("add.i64", t, x, snapshot=b.snapshot(3, {1: t}, ExitReason.OVERFLOW, 2))
    y = b.op("mul.i64", b.op("list.get.i64", p, k, snapshot=b.snapshot(4, {1: t2}, ExitReason.RANGE, 3)),
             b.const(I64, 2), snapshot=b.snapshot(5, {1: t2}, ExitReason.OVERFLOW, 3))
    b.op("list.set.i64", p, k, y, snapshot=b.snapshot(6, {1: t2}, ExitReason.RANGE, 3))
    b.poll(b.snapshot(1, {1: t2}, ExitReason.INTERRUPT, 1))
    b.jump(hdr, [b.op("wadd.i64", k, b.const(I64, 1)), t2])
    b.set_block(done)
    b.exit(b.snapshot(7, {1: t, 0: p}, ExitReason.LOOP_EXIT, 4))
    return fn


def _list_get_case(kind: str, sample: list, ty: Type) -> Case:
    fn, b = _new(f"list_get_{ty}_{kind}", 3)
    snap = b.snapshot(0, {}, ExitReason.GUARD_TYPE, 1)
    b.guard_tag(0, Type.PTR, snap)
    b.guard_tag(1, I64, snap)
    p, i = b.load(0, Type.PTR), b.load(1, I64)
    v = b.op(f"list.get.{ty}", p, i, snapshot=b.snapshot(1, {1: i}, ExitReason.RANGE, 1))
    b.exit(b.snapshot(2, {2: v}, ExitReason.LOOP_EXIT, 1))
    return Case(fn.name, fn, [(Raw((0, 0)), i) for i in LIST_INDEXES], lists={0: sample})


def _list_set_case(kind: str, sample: list, ty: Type) -> Case:
    fn, b = _new(f"list_set_{ty}_{kind}", 3)
    snap = b.snapshot(0, {}, ExitReason.GUARD_TYPE, 1)
    b.guard_tag(0, Type.PTR, snap)
    b.guard_tag(1, I64, snap)
    b.guard_tag(2, ty, snap)
    p, i, v = b.load(0, Type.PTR), b.load(1, I64), b.load(2, ty)
    b.op(f"list.set.{ty}", p, i, v, snapshot=b.snapshot(1, {1: i}, ExitReason.RANGE, 1))
    n = b.op("list.len", p)
    b.exit(b.snapshot(2, {1: n}, ExitReason.LOOP_EXIT, 1))
    values = SAMPLES[ty][:6]
    inputs = [(Raw((0, 0)), i, values[k % len(values)]) for k, i in enumerate(LIST_INDEXES)]
    return Case(fn.name, fn, inputs, lists={0: sample})


def cases() -> list[Case]:
    """The whole corpus (fresh LoopFunction objects each call)."""
    return [*op_cases(), *const_cases(), *control_cases(), *list_cases()]


# -- running and comparing -------------------------------------------------------------------------


def prepare_window(memory: LinearMemory, frame: int, nslots: int, values: tuple, interrupt: bool) -> None:
    """Fill a window: a recognisable header and slot pattern, then the given slot values."""
    memory.write_bytes(frame, bytes(frame_size(nslots)))
    for word in range(0, HEADER_SIZE, 8):
        memory.words[(frame + word) >> 3] = -0x5A5A5A5A5A5A5A5B
    memory.set_interrupt(frame, 1 if interrupt else 0)
    for slot in range(nslots):
        memory.write_slot(frame, slot, 0x77, 0x1234567 + slot)  # unlisted slots must stay like this
    for slot, v in enumerate(values):
        if isinstance(v, Raw) and not isinstance(v, str):
            memory.write_slot(frame, slot, *v)
        elif box(v) is None:
            raise ValueError(f"input {v!r} has no slot representation")
        else:
            memory.write_value(frame, slot, v)


def compare_windows(expected: bytes, actual: bytes) -> str | None:
    """None if the windows match (any NaN payload equals any NaN), else a description of the first difference."""
    if len(expected) != len(actual):
        return f"window sizes differ: {len(expected)} vs {len(actual)}"
    for off in range(0, len(expected), 8):
        e, a = expected[off : off + 8], actual[off : off + 8]
        if e == a:
            continue
        if off >= HEADER_SIZE and (off - HEADER_SIZE) % SLOT_SIZE == 8:
            tag_e = int.from_bytes(expected[off - 8 : off], "little", signed=True)
            tag_a = int.from_bytes(actual[off - 8 : off], "little", signed=True)
            fe = bits_to_float(int.from_bytes(e, "little"))
            fa = bits_to_float(int.from_bytes(a, "little"))
            if tag_e == tag_a == Tag.FLOAT and math.isnan(fe) and math.isnan(fa):
                continue
        return f"{_describe(off)}: expected {e.hex()} got {a.hex()}"
    return None


def _describe(off: int) -> str:
    if off < HEADER_SIZE:
        return {0: "header exit number", 8: "header interrupt flag", 16: "header iterations"}.get(off, f"header +{off}")
    slot, part = divmod(off - HEADER_SIZE, SLOT_SIZE)
    return f"slot {slot} {'tag' if part == 0 else 'payload'}"


def check_backend(backend: object, case: Case, grow: Callable[[LinearMemory], None] | None = None) -> list[str]:
    """Run `case` on `backend` and on the IR interpreter; returns the mismatches (empty: conforms).

    `grow(memory)`, if given, runs once, after the first input's window and lists are written and
    before the compiled loop runs: the code, the window and the lists must survive the memory moving.
    """
    ref_mem = LinearMemory(1 << 16)
    ref = IRInterpreter(case.fn, ref_mem)
    mem = backend.make_memory(1 << 16)  # type: ignore[attr-defined]
    loop = backend.compile(case.fn, mem)  # type: ignore[attr-defined]
    problems = []
    try:
        ref_frame, frame = ref_mem.alloc_frame(case.fn.nslots), mem.alloc_frame(case.fn.nslots)
        size = frame_size(case.fn.nslots)
        for values in case.inputs:
            prepare_window(ref_mem, ref_frame, case.fn.nslots, values, case.interrupt)
            prepare_window(mem, frame, case.fn.nslots, values, case.interrupt)
            ref_lists = _mirror_lists(ref_mem, ref_frame, case.lists)
            lists = _mirror_lists(mem, frame, case.lists)
            if grow is not None:
                grow(mem)
                grow = None
            want, got = ref.run(ref_frame), loop.run(frame)
            diff = compare_windows(_window(ref_mem, ref_frame, size, ref_lists),
                                   _window(mem, frame, size, lists))
            if want != got or diff:
                problems.append(f"{case.name} {values!r}: exit {got} (expected {want}); {diff or 'window ok'}")
            for m, objs in ((ref_mem, ref_lists), (mem, lists)):
                for p in objs:
                    m.free(p)
    finally:
        loop.release()
    return problems


def _mirror_lists(memory: LinearMemory, frame: int, lists: dict[int, list]) -> list[int]:
    """Mirror each case list into memory and point its slot at it; returns the object offsets."""
    from ..jit.lists import mirror_in

    out = []
    for slot, lst in sorted(lists.items()):
        p = mirror_in(memory, list(lst))
        memory.write_slot(frame, slot, Tag.LIST, p)
        out.append(p)
    return out


def _window(memory: LinearMemory, frame: int, size: int, objs: list[int]) -> bytes:
    """The frame window with list slots' offsets masked, followed by each list object's bytes."""
    from ..jit.layout import CELL_SIZE, LIST_HEADER, LIST_LEN

    data = bytearray(memory.read_bytes(frame, size))
    for p in objs:
        for off in range(HEADER_SIZE, size, SLOT_SIZE):
            if int.from_bytes(data[off:off + 8], "little") == Tag.LIST:
                data[off + 8:off + 16] = bytes(8)
        n = memory.words[(p + LIST_LEN) >> 3]
        body = bytearray(memory.read_bytes(p, LIST_HEADER + CELL_SIZE * n))
        body[16:24] = bytes(8)  # the items offset differs between memories
        data += body
    return bytes(data)


def _main(argv: list[str]) -> int:
    from .base import get_backend

    backend = get_backend(argv[0] if argv else "ir")
    failures = 0
    for case in cases():
        for problem in check_backend(backend, case)[:3]:
            print(problem)
            failures += 1
    print(f"{failures} mismatches")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
