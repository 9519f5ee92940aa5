"""Region extraction: a hot loop's bytecode between its SetupLoop and PopBlock, its blocks, slots and liveness."""
from __future__ import annotations

import math
import types
from typing import Any, NamedTuple

from ..bytecode import OPCODES, CodeObject, Liveness, LoopInfo, liveness, register_effects, successors
from ..record import field, record
from .layout import Tag, is_i64

RANGE_ITERATOR = type(iter(range(0)))
# Host objects a loop may use as compile-time constants (checked by identity at every entry).
CONSTANT_TYPES = (types.BuiltinFunctionType, types.ModuleType, type, type(None))


class SlotRef(NamedTuple):
    """What a frame-window slot stands for: a register, a global, or half of a range iterator."""

    kind: str  # "reg", "global", "iter.cur", "iter.stop"
    key: int | str
    name: str


@record  # not a dataclass: jit/judge.py extracts regions before the driver (and dataclasses) is imported
class LoopRegion:
    """The loop [header, pop) of one code object, with the slots its compiled form uses."""

    code: CodeObject
    loop: LoopInfo
    liveness: Liveness
    slots: list[SlotRef] = field(default_factory=list)
    reg_slot: dict[int, int] = field(default_factory=dict)
    global_slot: dict[str, int] = field(default_factory=dict)
    iter_slots: dict[int, tuple[int, int]] = field(default_factory=dict)
    _header_live: int | None = None

    @property
    def header(self) -> int:
        return self.loop.header

    @property
    def end(self) -> int:
        return self.loop.pop

    @property
    def indexes_lists(self) -> bool:
        """Whether the loop subscripts anything: only then are list values mirrored at entry."""
        return any(self.code.instrs[pc].op in ("SubscrLoad", "SubscrStore")
                   for pc in range(self.header, self.end))

    def live_at(self, pc: int) -> int:
        """Registers live before pc, as a bit set (bit r = register r)."""
        return self.liveness.bits(pc)

    @property
    def header_live(self) -> int:
        """Registers live at the loop header (asked at every entry: computed once)."""
        if self._header_live is None:
            self._header_live = self.liveness.bits(self.header)
        return self._header_live

    def contains(self, pc: int) -> bool:
        return self.header <= pc < self.end

    def add_slot(self, ref: SlotRef) -> int:
        self.slots.append(ref)
        return len(self.slots) - 1

    def iterator_slots(self, reg: int) -> tuple[int, int]:
        """The two hidden slots (cur, stop) holding a range iterator kept in register `reg`."""
        if reg not in self.iter_slots:
            name = self.code.register_name(reg)
            cur = self.add_slot(SlotRef("iter.cur", reg, f"{name}.cur"))
            stop = self.add_slot(SlotRef("iter.stop", reg, f"{name}.stop"))
            self.iter_slots[reg] = (cur, stop)
        return self.iter_slots[reg]

    def block_leaders(self) -> list[int]:
        leaders = {self.header}
        for pc in range(self.header, self.end):
            ins = self.code.instrs[pc]
            succ = successors(ins, pc)
            if succ != [pc + 1]:
                for s in succ:
                    if self.contains(s):
                        leaders.add(s)
                if pc + 1 < self.end:
                    leaders.add(pc + 1)
        return sorted(leaders)

    def min_iteration(self) -> int:
        """Instructions on the shortest path from the header back to it (an iteration's least work).

        Breadth-first over the region's normal edges; JumpBack to this loop's header closes a path
        (an inner loop is crossed by its exit edge, so it counts once, not per inner iteration)."""
        best = {self.header: 0}
        frontier = [self.header]
        shortest = None
        while frontier:
            nxt = []
            for pc in frontier:
                ins = self.code.instrs[pc]
                if ins.op == "JumpBack" and ins.a == self.header:
                    length = best[pc] + 1
                    shortest = length if shortest is None else min(shortest, length)
                    continue
                for s in successors(ins, pc):
                    if self.contains(s) and s not in best:
                        best[s] = best[pc] + 1
                        nxt.append(s)
            frontier = nxt
        return shortest or 1


def extract_function_region(code: CodeObject) -> LoopRegion:
    """A whole function as a region (a function unit, docs/jit.md section 7): header at pc 0, every
    instruction; its parameters are slots 0..k-1, where a call op writes the arguments."""
    info = LoopInfo(loop_id=-1, setup=-1, header=0, pop=len(code.instrs), line=code.firstline, kind="function")
    return extract_region(code, info, nparams=len(code.params))


def extract_region(code: CodeObject, loop: LoopInfo, nparams: int = 0) -> LoopRegion:
    """Collect the registers and globals the loop touches; each gets one slot of the frame window
    (the first `nparams` registers always, in order: a function unit's parameters)."""
    region = LoopRegion(code, loop, liveness(code))
    regs: list[int] = list(range(nparams))
    globals_: list[str] = []
    for pc in range(loop.header, loop.pop):
        ins = code.instrs[pc]
        uses, defs = register_effects(ins, code)
        for r in (*uses, *defs):
            if r not in regs:
                regs.append(r)
        if ins.op in ("LoadGlobal", "StoreGlobal"):
            name = code.names[ins.b]
            if name not in globals_:
                globals_.append(name)
    for r in sorted(regs):
        region.reg_slot[r] = region.add_slot(SlotRef("reg", r, code.register_name(r)))
    for name in globals_:
        region.global_slot[name] = region.add_slot(SlotRef("global", name, name))
    for pc in range(loop.header, loop.pop):  # registers that may hold a range iterator
        ins = code.instrs[pc]
        if ins.op == "GetIter":
            region.iterator_slots(ins.a)
        elif OPCODES[ins.op].quickens == "ForIter" or ins.op == "ForIter":
            region.iterator_slots(ins.b)
    return region


_ELEM_KINDS = {int: "int", float: "float", bool: "bool"}


def is_list_key(key: Any) -> bool:
    return isinstance(key, tuple) and key[0] == "list"


def classify(value: Any) -> Any:
    """The entry key of a value: a Tag for i64/f64/bool, ('iter', step) for a range iterator,
    ('list', first item's kind) for a list (mirrored into linear memory when the loop indexes lists
    and every item has a native form: a list of None gets its own variant, which leaves it alone),
    ('obj', id) for a host constant, or None when compiled code cannot use it."""
    t = type(value)
    if t is int:
        return Tag.INT if is_i64(value) else None
    if t is float:
        return Tag.FLOAT
    if t is bool:
        return Tag.BOOL
    if t is RANGE_ITERATOR:
        return ("iter", range_iterator_state(value)[2])
    if t is list:
        return ("list", _ELEM_KINDS.get(type(value[0]), "other") if value else "empty")
    if isinstance(value, CONSTANT_TYPES) or value is math:
        return ("obj", id(value))
    return None


def range_length(it: Any) -> int:
    """How many values a range iterator's range has: in all up to 3.11 (`__reduce__` gives the
    whole range), those left from 3.12 on (it gives the advanced range)."""
    _fn, (rng,), _index = it.__reduce__()
    return len(rng)


def range_iterator_state(it: Any) -> tuple[int, int, int]:
    """(next value, stop, step) of a CPython range iterator, read through its pickling protocol.

    Up to 3.11 `__reduce__` gives the original range and the index reached; from 3.12 on it gives
    the remaining range (already advanced) and None.
    """
    _fn, (rng,), index = it.__reduce__()
    return rng.start + (index or 0) * rng.step, rng.stop, rng.step


def advance_range_iterator(it: Any, cur: int) -> None:
    """Move range iterator `it` forward in place so that it yields `cur` next (past its end: exhausted).

    Up to 3.11 `__setstate__` takes the index in the original range; from 3.12 on, the count to skip.
    """
    _fn, (rng,), index = it.__reduce__()
    skip = (cur - (rng.start + (index or 0) * rng.step)) // rng.step
    if skip > 0:
        it.__setstate__(skip if index is None else index + skip)
