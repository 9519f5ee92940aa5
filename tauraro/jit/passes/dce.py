"""Dead code elimination: unreachable blocks, unused pure ops, unused block parameters, unused snapshots.

Liveness is mark-and-sweep from the roots, so dead cycles through block parameters go too:
roots are every op that is not PURE (guards, effects, terminators) together with its operands and
the values of its snapshot. A pure op is live iff its result is; a block parameter is live iff
it is, and then the matching argument of every edge into the block is live. Guards are never
removed here, even if their result is unused (ZeroDivisionError must still happen).
Snapshots no op refers to are dropped and the rest renumbered: exit numbers are final only
after optimisation, so the VM must read snapshots from the optimised function.
"""
from __future__ import annotations

from ..analysis import predecessors, reverse_postorder
from ..ir import PURE_OPS, Block, LoopFunction, Op, Value


def run(fn: LoopFunction) -> LoopFunction:
    """Delete dead code in place; returns fn."""
    _remove_unreachable(fn)
    live = _mark(fn)
    _sweep(fn, live)
    _compact_snapshots(fn)
    return fn


def _remove_unreachable(fn: LoopFunction) -> None:
    reachable = set(reverse_postorder(fn))
    dead = [blk for blk in fn.blocks if blk not in reachable]
    if dead:
        fn.remove_blocks(dead)


def _mark(fn: LoopFunction) -> set[Value]:
    live: set[Value] = set()
    work: list[Value] = []

    def mark(v: Value) -> None:
        if v not in live:
            live.add(v)
            work.append(v)

    for op in fn.ops():
        if op.opcode not in PURE_OPS:
            _mark_op_inputs(fn, op, mark)
    edges = _edges_into(fn)
    while work:
        v = work.pop()
        if v.op is not None:
            _mark_op_inputs(fn, v.op, mark)
        elif v.block is not None:
            k = _param_index(v)
            for t_args in edges.get(v.block, ()):
                mark(t_args[k])
    return live


def _mark_op_inputs(fn: LoopFunction, op: Op, mark: object) -> None:
    for a in op.args:
        mark(a)  # type: ignore[operator]
    if op.snapshot is not None:
        for v in fn.snapshots[op.snapshot].values():
            mark(v)  # type: ignore[operator]


def _edges_into(fn: LoopFunction) -> dict[Block, list[list[Value]]]:
    edges: dict[Block, list[list[Value]]] = {}
    for blk in fn.blocks:
        term = blk.terminator
        for t in term.targets if term else ():
            edges.setdefault(t.block, []).append(t.args)
    return edges


def _param_index(v: Value) -> int:
    params = v.block.params  # type: ignore[union-attr]
    return next(k for k, p in enumerate(params) if p is v)


def _sweep(fn: LoopFunction, live: set[Value]) -> None:
    preds = predecessors(fn)
    for blk in fn.blocks:
        blk.ops = [op for op in blk.ops if op.opcode not in PURE_OPS or op.result in live]
        dead = [k for k, p in enumerate(blk.params) if p not in live]
        if not dead or blk is fn.entry:
            continue
        blk.params = [p for p in blk.params if p in live]
        for pred in {id(p): p for p in preds.get(blk, [])}.values():
            for t in pred.terminator.targets:  # type: ignore[union-attr]
                if t.block is blk:
                    t.args = [a for k, a in enumerate(t.args) if k not in dead]


def _compact_snapshots(fn: LoopFunction) -> None:
    used = sorted({op.snapshot for op in fn.ops() if op.snapshot is not None})
    if used == list(range(len(fn.snapshots))):
        return
    renumber = {old: new for new, old in enumerate(used)}
    fn.snapshots = [fn.snapshots[k] for k in used]
    for op in fn.ops():
        if op.snapshot is not None:
            op.snapshot = renumber[op.snapshot]
