"""Helpers for the JIT-core tests: run one op on the IR interpreter, build small functions."""
from __future__ import annotations

import functools
from typing import Any

from tauraro.backends.conformance import op_case
from tauraro.backends.ir.interp import IRInterpreter
from tauraro.jit.layout import LinearMemory

EXITED = object()
_MEMORY = LinearMemory(1 << 16)
_FRAME = _MEMORY.alloc_frame(8)


@functools.cache
def _prepared(opcode: str, attrs: tuple) -> tuple[IRInterpreter, int]:
    case = op_case(opcode, dict(attrs))
    return IRInterpreter(case.fn, _MEMORY), len(case.fn.snapshots) - 1


def run_op(opcode: str, *args: Any, **attrs: Any) -> Any:
    """The op's result on the IR interpreter, or EXITED if it left through its guard's snapshot."""
    interp, ok_exit = _prepared(opcode, tuple(sorted(attrs.items())))
    for slot, v in enumerate(args):
        assert _MEMORY.write_value(_FRAME, slot, v)
    n = interp.run(_FRAME)
    if n != ok_exit:
        assert n == 1, f"{opcode}{args}: unexpected exit {n}"
        return EXITED
    result = _MEMORY.read_value(_FRAME, len(args))
    return result


# -- random well-formed functions ---------------------------------------------------------------------

import random  # noqa: E402

from tauraro.backends.conformance import SAMPLES  # noqa: E402
from tauraro.jit.ir import (  # noqa: E402
    BOOL,
    CONST_OPS,
    F64,
    I64,
    LIBM_FUNCTIONS,
    OPS,
    Flag,
    IRBuilder,
    LoopFunction,
    Type,
    Value,
)
from tauraro.jit.reasons import ExitReason  # noqa: E402
from tauraro.jit.semantics import SEMANTICS  # noqa: E402

RANDOM_OPS = sorted(name for name in SEMANTICS if name not in CONST_OPS)
TYPES = (I64, F64, BOOL)
REASONS = list(ExitReason)


class _Gen:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def function(self) -> LoopFunction:
        rng = self.rng
        nslots = rng.randint(1, 5)
        self.types = [rng.choice(TYPES) for _ in range(nslots)]
        fn = LoopFunction(f"r{rng.randrange(10**6)}", "rand.tr:1", nslots, {k: f"x{k}" for k in range(nslots)}, entry_pc=0)
        self.fn, b = fn, IRBuilder(fn)
        self.b = b
        b.set_block(b.new_block("entry"))
        entry_snap = b.snapshot(0, {}, ExitReason.GUARD_TYPE, 1)
        avail: list[Value] = []
        for slot, ty in enumerate(self.types):
            b.guard_tag(slot, ty, entry_snap)
            avail.append(b.load(slot, ty))
        for ty in TYPES:
            avail.append(self.const(ty))
        carried = [rng.choice(TYPES) for _ in range(rng.randint(0, 3))]
        header = b.new_block("loop", [I64, *carried], ["k", *["c"] * len(carried)])
        body, done = b.new_block("body"), b.new_block("done")
        b.jump(header, [b.const(I64, 0), *[self.pick(avail, ty) for ty in carried]])
        b.set_block(header)
        k = header.params[0]
        avail_h = avail + header.params
        self.ops(avail_h, rng.randint(0, 3))
        b.br(b.op("lt.i64", k, b.const(I64, rng.randint(0, 4))), body, [], done, [])
        b.set_block(body)
        avail_b = avail_h + []
        self.ops(avail_b, rng.randint(1, 8))
        if rng.random() < 0.5:
            avail_b = self.diamond(avail_b)
        if rng.random() < 0.5:
            b.poll(self.snapshot(avail_b, ExitReason.INTERRUPT))
        k2 = b.op("wadd.i64", k, b.const(I64, 1))
        b.jump(header, [k2, *[self.pick(avail_b, ty) for ty in carried]])
        b.set_block(done)
        b.exit(self.snapshot(avail_h, ExitReason.LOOP_EXIT))
        return fn

    def diamond(self, avail: list[Value]) -> list[Value]:
        b, rng = self.b, self.rng
        left, right = b.new_block(None), b.new_block(None)
        join_types = [rng.choice(TYPES) for _ in range(rng.randint(0, 2))]
        join = b.new_block(None, join_types)
        b.br(self.pick(avail, BOOL), left, [], right, [])
        for arm in (left, right):
            b.set_block(arm)
            arm_avail = avail + []
            self.ops(arm_avail, rng.randint(0, 3))
            if rng.random() < 0.15:
                b.exit(self.snapshot(arm_avail, ExitReason.BREAK))
            else:
                b.jump(join, [self.pick(arm_avail, ty) for ty in join_types])
        b.set_block(join)
        return avail + join.params

    def ops(self, avail: list[Value], count: int) -> None:
        for _ in range(count):
            name = self.rng.choice(RANDOM_OPS + ["const"] * 3)
            if name == "const":
                avail.append(self.const(self.rng.choice(TYPES)))
                continue
            d = OPS[name]
            args = [self.pick(avail, ty) for ty in d.operands]
            attrs = {"fn": self.rng.choice(LIBM_FUNCTIONS)} if name == "callf.f64" else {}
            snap = self.snapshot(avail, (d.exits or (ExitReason.UNSUPPORTED,))[0]) if Flag.DEOPT in d.flags else None
            result = self.b.op(name, *args, snapshot=snap, **attrs)
            if result is not None:
                avail.append(result)

    def const(self, ty: Type) -> Value:
        return self.b.const(ty, self.rng.choice(SAMPLES[ty]))

    def pick(self, avail: list[Value], ty: Type) -> Value:
        choices = [v for v in avail if v.type is ty]
        return self.rng.choice(choices[-6:]) if choices and self.rng.random() < 0.7 else self.rng.choice(choices)

    def snapshot(self, avail: list[Value], reason: ExitReason) -> int:
        rng = self.rng
        slots = {}
        for slot in rng.sample(range(self.fn.nslots), rng.randint(0, self.fn.nslots)):
            slots[slot] = rng.choice(avail)
        return self.b.snapshot(rng.randint(1, 50), slots, reason, rng.randint(1, 9))


def random_function(seed: int) -> LoopFunction:
    """A random well-formed loop: entry guards and loads, a counted loop with random ops, diamonds, exits."""
    return _Gen(random.Random(seed)).function()


def random_inputs(fn: LoopFunction, seed: int, count: int = 6) -> list[tuple]:
    """Slot values matching the entry guards' types (and occasionally not)."""
    rng = random.Random(seed)
    types = [op.attrs["type"] for op in fn.entry.ops if op.opcode == "guard.tag"]
    out = []
    for _ in range(count):
        row = tuple(rng.choice(SAMPLES[ty]) for ty in types)
        if rng.random() < 0.1 and row:
            row = (*row[:-1], "wrong")
        out.append(row)
    return out
