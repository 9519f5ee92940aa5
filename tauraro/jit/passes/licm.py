"""Loop-invariant code motion: hoist invariant pure ops, and (under a strict rule) invariant guards, to the preheader.

An op is invariant when every operand is defined outside the loop or by an op already hoisted.
* PURE ops (constants, loads, arithmetic without guards) are always hoisted: they cannot exit or
  have effects, so running them once before the loop (even if the loop runs zero times) is safe.
* GUARD ops (guard.tag/true/false, overflow-checked arithmetic, ...) are hoisted only if
  (1) fn.entry_pc is known, (2) the loop is outermost, (3) the op's block dominates every latch
  (it runs on every complete iteration), and (4) the function has no effect op besides `poll`.
  The hoisted guard gets the *loop-entry snapshot*: resume at fn.entry_pc with no slots listed
  (reason and line kept from the original). Nothing has been written to the frame before the
  loop's first iteration (compiled code writes slots only when it exits) so exiting there hands
  the interpreter exactly the state it had when it called the loop; it re-runs the loop and hits
  the failing case itself. Rule (3) avoids turning a rarely-taken path's guard into an
  exit-every-time; (2) avoids re-running outer iterations; (4) keeps re-execution invisible.
* EFFECT ops (poll, stores, calls) and terminators never move.
Loops without a preheader get one (a new block `<header>.pre` taking the header's parameters).
"""
from __future__ import annotations

from ..analysis import Dominators, Loop, natural_loops, predecessors
from ..ir import (
    CSE_OPS,
    EFFECT_OPS,
    GUARD_OPS,
    PURE_OPS,
    RESERVED_OPS,
    Block,
    LoopFunction,
    Op,
    Snapshot,
    Target,
    Value,
)

_MOVABLE_PURE = PURE_OPS - RESERVED_OPS
_MOVABLE_GUARDS = (GUARD_OPS & CSE_OPS) - EFFECT_OPS


def run(fn: LoopFunction) -> LoopFunction:
    """Hoist loop-invariant code in place; returns fn."""
    _insert_preheaders(fn)
    doms = Dominators(fn)
    loops = natural_loops(fn, doms)
    guards_ok = fn.entry_pc is not None and not any(op.opcode in EFFECT_OPS - {"poll"} for op in fn.ops())
    for loop in loops:  # innermost first, so outer loops can hoist further what inner ones hoisted
        if loop.preheader is not None:
            _hoist(fn, loop, doms, guards_ok and loop.parent is None)
    return fn


def _hoist(fn: LoopFunction, loop: Loop, doms: Dominators, guards_ok: bool) -> None:
    preheader = loop.preheader
    assert preheader is not None
    defined_inside = {op.result for blk in loop.blocks for op in blk.ops if op.result is not None}
    defined_inside |= {p for blk in loop.blocks for p in blk.params}
    every_iteration = {blk for blk in loop.blocks if all(doms.dominates(blk, latch) for latch in loop.latches)}
    hoisted: list[Op] = []
    for blk in doms.order:
        if blk not in loop.blocks:
            continue
        kept = []
        for op in blk.ops:
            if _invariant(op, defined_inside) and _may_hoist(op, blk, guards_ok, every_iteration):
                if op.opcode in GUARD_OPS:
                    op.snapshot = _entry_snapshot(fn, fn.snapshots[op.snapshot])  # type: ignore[index]
                hoisted.append(op)
                if op.result is not None:
                    defined_inside.discard(op.result)
            else:
                kept.append(op)
        blk.ops = kept
    for op in hoisted:
        preheader.insert(len(preheader.ops) - 1, op)


def _invariant(op: Op, defined_inside: set[Value]) -> bool:
    return all(a not in defined_inside for a in op.args)


def _may_hoist(op: Op, blk: Block, guards_ok: bool, every_iteration: set[Block]) -> bool:
    if op.opcode in _MOVABLE_PURE:
        return True
    return guards_ok and op.opcode in _MOVABLE_GUARDS and blk in every_iteration


def _entry_snapshot(fn: LoopFunction, original: Snapshot) -> int:
    """Index of the loop-entry snapshot with the original's reason and line (created if needed).

    Its `extras` are copied from an existing loop-entry snapshot (the entry guards'), if any.
    """
    entry = [s for s in fn.snapshots if s.resume_pc == fn.entry_pc and not s.slots]
    for k, snap in enumerate(fn.snapshots):
        if snap in entry and (snap.reason, snap.line) == (original.reason, original.line):
            return k
    extras = entry[0].extras if entry else None
    return fn.add_snapshot(Snapshot(fn.entry_pc, {}, original.reason, original.line, extras))  # type: ignore[arg-type]


def _insert_preheaders(fn: LoopFunction) -> None:
    """Give every loop header (except the entry) a single outside predecessor ending in `jump`."""
    for loop in natural_loops(fn):
        if loop.preheader is None and loop.header is not fn.entry:
            _make_preheader(fn, loop)


def _make_preheader(fn: LoopFunction, loop: Loop) -> None:
    header = loop.header
    pre = fn.add_block(_fresh_block_name(fn, f"{header.name}.pre"))
    fn.blocks.remove(pre)
    fn.blocks.insert(fn.blocks.index(header), pre)
    for p in header.params:
        v = fn.new_value(p.type, p.name)
        v.block = pre
        pre.params.append(v)
    pre.append(Op("jump", targets=[Target(header, list(pre.params))]))
    preds = predecessors(fn)
    for src in {id(b): b for b in preds[header] if b not in loop.blocks and b is not pre}.values():
        for t in src.terminator.targets:  # type: ignore[union-attr]
            if t.block is header:
                t.block = pre


def _fresh_block_name(fn: LoopFunction, base: str) -> str:
    names = {blk.name for blk in fn.blocks}
    name, k = base, 0
    while name in names:
        k += 1
        name = f"{base}{k}"
    return name
