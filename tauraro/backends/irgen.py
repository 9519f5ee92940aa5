"""The one random-IR generator: well-formed loops for the pass, text, verifier and backend tests and the CI checks.

A loop has entry guards and loads, a counted header (bound a constant or a loaded slot), a body of
random ops from the op table (every guard may exit), diamonds joining in blocks with parameters
(sometimes a `br` to one block twice, sometimes an arm that exits), an optional `poll`, and
carried values. With ``nasty_names`` the value and block names collide with the labels and
registers lowerings invent.
"""
from __future__ import annotations

import random

from ..jit.ir import (
    BOOL,
    CONST_OPS,
    F64,
    I64,
    LIBM_BY_OP,
    OPS,
    Flag,
    IRBuilder,
    LoopFunction,
    Type,
    Value,
)
from ..jit.reasons import ExitReason
from ..jit.semantics import SEMANTICS
from .conformance import SAMPLES, WRONG, Case

__all__ = ["random_function", "random_inputs", "random_case", "random_cases", "NASTY_NAMES"]

RANDOM_OPS = sorted(name for name in SEMANTICS if name not in CONST_OPS)
TYPES = (I64, F64, BOOL)
# Value names that collide with the labels and registers the lowerings invent.
NASTY_NAMES = ["fp", "start", "x.1", "exit.2", "it.b.body", "b.body", "body", "v.3", "0", "1.ok", "e0", None]


class IRGen:
    """Builds one random loop from `rng` (see the module docstring)."""

    def __init__(self, rng: random.Random, nasty_names: bool = False) -> None:
        self.rng = rng
        self.nasty = nasty_names

    def hint(self, default: str | None = None) -> str | None:
        return self.rng.choice(NASTY_NAMES) if self.nasty else default

    def function(self, name: str | None = None) -> LoopFunction:
        rng = self.rng
        nslots = rng.randint(1, 5)
        self.types = [rng.choice(TYPES) for _ in range(nslots)]
        fn = LoopFunction(name or f"r{rng.randrange(10**6)}", "rand.tr:1", nslots,
                          {k: f"x{k}" for k in range(nslots)}, entry_pc=0)
        self.fn, b = fn, IRBuilder(fn)
        self.b = b
        b.set_block(b.new_block("entry"))
        entry_snap = b.snapshot(0, {}, ExitReason.GUARD_TYPE, 1)
        avail: list[Value] = []
        for slot, ty in enumerate(self.types):
            b.guard_tag(slot, ty, entry_snap)
            avail.append(b.load(slot, ty, hint=self.hint()))
        for ty in TYPES:
            avail.append(self.const(ty))
        carried = [rng.choice(TYPES) for _ in range(rng.randint(0, 3))]
        header_name = rng.choice(["loop", "fp", "x.1", "exit.0"]) if self.nasty else "loop"
        header = b.new_block(header_name, [I64, *carried], [self.hint("k"), *[self.hint("c") for _ in carried]])
        body, done = b.new_block("body"), b.new_block("done")
        b.jump(header, [b.const(I64, 0), *[self.pick(avail, ty) for ty in carried]])
        b.set_block(header)
        k = header.params[0]
        avail_h = avail + header.params
        self.ops(avail_h, rng.randint(0, 3))
        loaded_ints = [v for v in avail[:nslots] if v.type is I64]
        if loaded_ints and rng.random() < 0.3:  # a loaded bound, capped: the samples reach 2**63 - 1
            bound = b.op("min.i64", rng.choice(loaded_ints), b.const(I64, 40))
        else:
            bound = b.const(I64, rng.randint(0, 4))
        b.br(b.op("lt.i64", k, bound), body, [], done, [])
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
        join_types = [rng.choice(TYPES) for _ in range(rng.randint(0, 2))]
        join = b.new_block(None, join_types, [self.hint() for _ in join_types])
        cond = self.pick(avail, BOOL)
        if rng.random() < 0.2:  # both ways to one block, with different arguments
            b.br(cond, join, [self.pick(avail, ty) for ty in join_types], join,
                 [self.pick(avail, ty) for ty in join_types])
        else:
            left, right = b.new_block(None), b.new_block(None)
            b.br(cond, left, [], right, [])
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
            attrs = {"fn": self.rng.choice(LIBM_BY_OP[name])} if name in LIBM_BY_OP else {}
            snap = self.snapshot(avail, (d.exits or (ExitReason.UNSUPPORTED,))[0]) if Flag.DEOPT in d.flags else None
            result = self.b.op(name, *args, snapshot=snap, hint=self.hint(), **attrs)
            if result is not None:
                avail.append(result)

    def const(self, ty: Type) -> Value:
        return self.b.const(ty, self.rng.choice(SAMPLES[ty]), hint=self.hint())

    def pick(self, avail: list[Value], ty: Type) -> Value:
        choices = [v for v in avail if v.type is ty]
        return self.rng.choice(choices[-6:]) if choices and self.rng.random() < 0.7 else self.rng.choice(choices)

    def snapshot(self, avail: list[Value], reason: ExitReason) -> int:
        rng = self.rng
        slots = {}
        for slot in rng.sample(range(self.fn.nslots), rng.randint(0, self.fn.nslots)):
            slots[slot] = rng.choice(avail)
        return self.b.snapshot(rng.randint(1, 50), slots, reason, rng.randint(1, 9))


def random_function(seed: int, nasty_names: bool = False) -> LoopFunction:
    """A random well-formed loop (module docstring)."""
    return IRGen(random.Random(seed), nasty_names).function()


def random_inputs(fn: LoopFunction, seed: int, count: int = 6) -> list[tuple]:
    """Slot values matching the entry guards' types; occasionally the last is "wrong" (a bad tag)."""
    rng = random.Random(seed)
    types = [op.attrs["type"] for op in fn.entry.ops if op.opcode == "guard.tag"]
    out = []
    for _ in range(count):
        row = tuple(rng.choice(SAMPLES[ty]) for ty in types)
        if rng.random() < 0.1 and row:
            row = (*row[:-1], "wrong")
        out.append(row)
    return out


def random_case(seed: int, nasty_names: bool = True) -> Case:
    """A random loop with its inputs, for running on a backend against the IR interpreter ("wrong"
    becomes a value of another type, which trips the entry guard)."""
    fn = random_function(seed, nasty_names)
    types = [op.attrs["type"] for op in fn.entry.ops if op.opcode == "guard.tag"]
    inputs = [tuple(WRONG[types[k]] if v == "wrong" else v for k, v in enumerate(row))
              for row in random_inputs(fn, seed)]
    return Case(fn.name, fn, inputs)


def random_cases(seed: int, count: int) -> list[Case]:
    """`count` random loops with their inputs from one seed."""
    return [random_case(seed * 100003 + k) for k in range(count)]
