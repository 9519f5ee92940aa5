"""Common subexpression elimination over the dominator tree, for pure and guard ops.

Two ops are the same when opcode, operands (sorted for commutative ops) and attributes (floats
by bits) match. A later op dominated by an earlier identical one is deleted and its result
replaced. This is sound for guards as well: a guard is a deterministic function of its
operands, so if the dominating copy did not exit, the later one cannot exit either, whatever
its snapshot. Effect ops (poll, stores, calls) are never merged.
"""
from __future__ import annotations

from ..analysis import Dominators, replace_uses
from ..ir import COMMUTATIVE_OPS, CSE_OPS, Block, LoopFunction, Op, Value
from ..layout import float_to_bits


def run(fn: LoopFunction) -> LoopFunction:
    """Merge duplicate computations in place; returns fn."""
    doms = Dominators(fn)
    tree = doms.children()
    mapping: dict[Value, Value] = {}
    numbering: dict[Value, int] = {}
    if doms.order:
        _walk(fn, doms.order[0], tree, {}, mapping, numbering)
    replace_uses(fn, mapping)
    return fn


def op_key(op: Op, numbering: dict[Value, int]) -> tuple:
    """The identity of a computation: (opcode, operand numbers, attributes)."""
    nums = [numbering.setdefault(a, len(numbering)) for a in op.args]
    if op.opcode in COMMUTATIVE_OPS:
        nums.sort()
    attrs = tuple(sorted((k, ("f64", float_to_bits(v)) if isinstance(v, float) else v) for k, v in op.attrs.items()))
    return op.opcode, tuple(nums), attrs


def _walk(
    fn: LoopFunction,
    root: Block,
    tree: dict[Block, list[Block]],
    seen: dict[tuple, Op],
    mapping: dict[Value, Value],
    numbering: dict[Value, int],
) -> None:
    # Iterative over the dominator tree: each frame holds the keys it added, removed on the way up.
    stack: list[tuple[Block, list[tuple] | None]] = [(root, None)]
    while stack:
        blk, added = stack.pop()
        if added is not None:
            for key in added:
                del seen[key]
            continue
        added = []
        stack.append((blk, added))
        _visit(blk, seen, added, mapping, numbering)
        for child in reversed(tree[blk]):
            stack.append((child, None))


def _visit(blk: Block, seen: dict[tuple, Op], added: list[tuple], mapping: dict[Value, Value], numbering: dict[Value, int]) -> None:
    kept = []
    for op in blk.ops:
        op.args = [_resolve(a, mapping) for a in op.args]
        if op.opcode not in CSE_OPS:
            kept.append(op)
            continue
        key = op_key(op, numbering)
        earlier = seen.get(key)
        if earlier is None:
            seen[key] = op
            added.append(key)
            kept.append(op)
        elif op.result is not None:
            mapping[op.result] = earlier.result  # type: ignore[assignment]
    blk.ops = kept


def _resolve(v: Value, mapping: dict[Value, Value]) -> Value:
    while v in mapping:
        v = mapping[v]
    return v
