"""Backend 0: executes a LoopFunction on a LinearMemory frame window with the exact exit contract.

Every other backend must produce the same exit numbers and the same frame-window bytes as this
interpreter (NaN payloads excepted, see docs/jit.md). Values are Python ints (i64), floats
(IEEE doubles, so float ops round exactly like compiled code) and bools; op semantics come from
``tauraro.jit.semantics.SEMANTICS``; libm calls go through ``math`` (the platform libm).

``IRInterpreter(fn, memory)`` prepares the function once (value numbering, back-edge flags,
per-op closures); ``run(frame)`` executes it and returns the exit number.
"""
from __future__ import annotations

from functools import partial
from typing import Any

from ...jit.analysis import Dominators, is_back_edge
from ...jit.ir import F64, TYPE_TAG, Block, LoopFunction, Type, Value
from ...jit.layout import (
    HDR_DEPTH,
    HDR_EXIT,
    HDR_INTERRUPT,
    HDR_ITERATIONS,
    HEADER_SIZE,
    MAX_CALL_DEPTH,
    RETURN_EXIT,
    LinearMemory,
    frame_size,
)
from ...jit.semantics import FAIL, MEMORY_SEMANTICS, SEMANTICS
from ..common import exit_stores, reject_reserved

# Instruction kinds of the prepared form.
_COMPUTE, _LOAD, _TAG, _POLL, _CALL = range(5)
_JUMP, _BR, _EXIT, _RET = range(4)


class IRInterpreter:
    """A prepared LoopFunction bound to one LinearMemory."""

    def __init__(self, fn: LoopFunction, memory: LinearMemory) -> None:
        reject_reserved(fn, "ir")
        self.fn = fn
        self.memory = memory
        self._numbers: dict[Value, int] = {}
        doms = Dominators(fn)
        self._index = {blk: k for k, blk in enumerate(fn.blocks)}
        self._blocks = [self._prepare_block(blk, doms) for blk in fn.blocks]
        self._exits = [self._prepare_exit(snap) for snap in fn.snapshots]
        self.nregs = len(self._numbers)

    def _reg(self, v: Value) -> int:
        return self._numbers.setdefault(v, len(self._numbers))

    def _prepare_block(self, blk: Block, doms: Dominators) -> tuple[list[tuple], tuple]:
        body = []
        for op in blk.ops[:-1]:
            res = self._reg(op.result) if op.result is not None else -1
            if op.opcode.startswith("load."):
                body.append((_LOAD, op.attrs["slot"], op.result.type, res, None))  # type: ignore[union-attr]
            elif op.opcode == "guard.tag":
                body.append((_TAG, op.attrs["slot"], int(TYPE_TAG[op.attrs["type"]]), res, op.snapshot))
            elif op.opcode == "poll":
                body.append((_POLL, None, None, res, op.snapshot))
            elif op.opcode.startswith("call."):
                if op.attrs["fn"] != self.fn.name:
                    raise NotImplementedError(f"call.{op.result.type} of another function ({op.attrs['fn']})")  # type: ignore[union-attr]
                args = tuple((self._reg(v), int(TYPE_TAG[v.type]), v.type is F64) for v in op.args)
                body.append((_CALL, args, op.result.type, res, op.snapshot))  # type: ignore[union-attr]
            else:
                sem = SEMANTICS.get(op.opcode) or partial(MEMORY_SEMANTICS[op.opcode], self.memory)
                body.append((_COMPUTE, sem, (op.attrs, *map(self._reg, op.args)), res, op.snapshot))
        return body, self._prepare_terminator(blk, doms)

    def _prepare_terminator(self, blk: Block, doms: Dominators) -> tuple:
        term = blk.terminator
        if term is None:
            raise ValueError(f"block {blk.name} has no terminator")
        if term.opcode == "exit":
            return (_EXIT, term.snapshot)
        if term.opcode.startswith("ret."):
            v = term.args[0]
            return (_RET, self._reg(v), int(TYPE_TAG[v.type]), v.type is F64)
        edges = tuple(
            (self._index[t.block], tuple(map(self._reg, t.args)), tuple(map(self._reg, t.block.params)),
             is_back_edge(doms, blk, t.block))
            for t in term.targets
        )
        if term.opcode == "jump":
            return (_JUMP, edges[0])
        return (_BR, self._reg(term.args[0]), edges[0], edges[1])

    def _prepare_exit(self, snap: Any) -> list[tuple[int, int, int | None, int | None, bool]]:
        """Per listed slot (deopt.exit_stores): (slot, tag, register or None, constant payload word, is f64)."""
        out = []
        for slot, tag, v, word in exit_stores(snap):
            if word is not None:
                out.append((slot, int(tag), None, word, False))
            else:
                out.append((slot, int(tag), self._reg(v), None, v.type is F64))  # type: ignore[arg-type]
        return out

    def run(self, frame: int) -> int:
        """Execute on the window at byte offset `frame`; returns the exit number."""
        regs: list[Any] = [None] * len(self._numbers)
        mem = self.memory
        q = mem.words
        slot_word = (frame + HEADER_SIZE) >> 3
        interrupt_word = (frame + HDR_INTERRUPT) >> 3
        iterations = 0
        body, term = self._blocks[0]
        while True:
            for kind, a, b, res, snap in body:
                if kind == _COMPUTE:
                    r = a(b[0], *[regs[i] for i in b[1:]])
                    if r is FAIL:
                        return self._exit(snap, regs, frame, iterations)
                    if res >= 0:
                        regs[res] = r
                elif kind == _LOAD:
                    regs[res] = _load(mem, q, slot_word + 2 * a + 1, b)
                elif kind == _TAG:
                    if q[slot_word + 2 * a] != b:
                        return self._exit(snap, regs, frame, iterations)
                elif kind == _CALL:
                    r = self._call(frame, a, regs)
                    if r is FAIL or _TYPE_OF_TAG.get(r[0]) is not b:
                        return self._exit(snap, regs, frame, iterations)
                    regs[res] = r[1]
                elif q[interrupt_word] != 0:  # _POLL
                    return self._exit(snap, regs, frame, iterations)
            if term[0] == _JUMP:
                edge = term[1]
            elif term[0] == _BR:
                edge = term[2] if regs[term[1]] else term[3]
            elif term[0] == _RET:
                _, reg, tag, is_f64 = term
                if is_f64:
                    mem.write_f64(frame, 0, regs[reg])
                else:
                    mem.write_slot(frame, 0, tag, int(regs[reg]))
                q[(frame + HDR_EXIT) >> 3] = RETURN_EXIT
                q[(frame + HDR_ITERATIONS) >> 3] = _wrap_count(iterations)
                return RETURN_EXIT
            else:
                return self._exit(term[1], regs, frame, iterations)
            target, args, params, back = edge
            values = [regs[i] for i in args]
            for p, v in zip(params, values):
                regs[p] = v
            if back:
                iterations += 1
            body, term = self._blocks[target]

    def _call(self, frame: int, args: tuple, regs: list[Any]) -> Any:
        """A call op (the function itself): (tag, value) of the callee's slot 0, or FAIL if the
        depth limit is reached or the callee exits (docs/jit.md section 7)."""
        mem = self.memory
        q = mem.words
        depth = q[(frame + HDR_DEPTH) >> 3]
        if depth >= MAX_CALL_DEPTH:
            return FAIL
        callee = frame + frame_size(self.fn.nslots)
        q[(callee + HDR_INTERRUPT) >> 3] = q[(frame + HDR_INTERRUPT) >> 3]
        q[(callee + HDR_DEPTH) >> 3] = depth + 1
        for k, (reg, tag, is_f64) in enumerate(args):
            if is_f64:
                mem.write_f64(callee, k, regs[reg])
            else:
                mem.write_slot(callee, k, tag, int(regs[reg]))
        if self.run(callee) != RETURN_EXIT:
            return FAIL
        w = (callee + HEADER_SIZE) >> 3
        tag = q[w]
        ty = _TYPE_OF_TAG.get(tag)
        if ty is F64:
            return tag, mem.doubles[w + 1]
        return tag, (q[w + 1] != 0 if ty is Type.BOOL else q[w + 1])

    def _exit(self, n: int, regs: list[Any], frame: int, iterations: int) -> int:
        mem = self.memory
        for slot, tag, reg, word, is_f64 in self._exits[n]:
            if reg is None:
                mem.write_slot(frame, slot, tag, word)  # type: ignore[arg-type]
            elif is_f64:
                mem.write_f64(frame, slot, regs[reg])
            else:
                mem.write_slot(frame, slot, tag, int(regs[reg]))
        mem.words[(frame + HDR_EXIT) >> 3] = n
        mem.words[(frame + HDR_ITERATIONS) >> 3] = _wrap_count(iterations)
        return n


_TYPE_OF_TAG = {int(tag): ty for ty, tag in TYPE_TAG.items()}


def _load(mem: LinearMemory, q: Any, word: int, ty: Type) -> Any:
    if ty is F64:
        return mem.doubles[word]
    if ty is Type.BOOL:
        return q[word] != 0
    return q[word]


def _wrap_count(n: int) -> int:
    return n if n < 2**63 else n - 2**64


def run_function(fn: LoopFunction, memory: LinearMemory, frame: int) -> int:
    """Prepare and run `fn` once (convenience for tests; keep an IRInterpreter to run repeatedly)."""
    return IRInterpreter(fn, memory).run(frame)

