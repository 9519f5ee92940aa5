"""CFG analyses shared by the verifier, the passes, the IR interpreter and backends: dominators,
back-edges (what the iteration counter counts), natural loops and use counts."""
from __future__ import annotations

from dataclasses import dataclass, field

from .ir import Block, LoopFunction, Op, Value


def predecessors(fn: LoopFunction) -> dict[Block, list[Block]]:
    """Block -> predecessor blocks (one entry per incoming edge, so br to the same block twice counts twice)."""
    preds: dict[Block, list[Block]] = {blk: [] for blk in fn.blocks}
    for blk in fn.blocks:
        for succ in blk.successors:
            preds.setdefault(succ, []).append(blk)
    return preds


def reverse_postorder(fn: LoopFunction) -> list[Block]:
    """Blocks reachable from the entry, in reverse postorder."""
    if not fn.blocks:
        return []
    seen: set[Block] = set()
    order: list[Block] = []
    stack: list[tuple[Block, int]] = [(fn.entry, 0)]
    seen.add(fn.entry)
    while stack:
        blk, k = stack.pop()
        succs = blk.successors
        if k < len(succs):
            stack.append((blk, k + 1))
            nxt = succs[k]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, 0))
        else:
            order.append(blk)
    order.reverse()
    return order


class Dominators:
    """Immediate dominators of the reachable blocks (Cooper, Harvey and Kennedy's iterative algorithm)."""

    def __init__(self, fn: LoopFunction) -> None:
        self.order = reverse_postorder(fn)
        self.index = {blk: k for k, blk in enumerate(self.order)}
        preds = predecessors(fn)
        self.idom: dict[Block, Block] = {}
        if not self.order:
            return
        entry = self.order[0]
        self.idom[entry] = entry
        changed = True
        while changed:
            changed = False
            for blk in self.order[1:]:
                done = [p for p in preds[blk] if p in self.idom]
                new = done[0]
                for p in done[1:]:
                    new = self._intersect(p, new)
                if self.idom.get(blk) is not new:
                    self.idom[blk] = new
                    changed = True

    def _intersect(self, a: Block, b: Block) -> Block:
        idx = self.index
        while a is not b:
            while idx[a] > idx[b]:
                a = self.idom[a]
            while idx[b] > idx[a]:
                b = self.idom[b]
        return a

    def reachable(self, blk: Block) -> bool:
        return blk in self.idom

    def dominates(self, a: Block, b: Block) -> bool:
        """True if every path from the entry to `b` passes through `a` (a block dominates itself)."""
        if b not in self.idom or a not in self.idom:
            return False
        while True:
            if b is a:
                return True
            parent = self.idom[b]
            if parent is b:
                return False
            b = parent

    def children(self) -> dict[Block, list[Block]]:
        """The dominator tree as parent -> children, children in reverse postorder."""
        tree: dict[Block, list[Block]] = {blk: [] for blk in self.order}
        for blk in self.order[1:]:
            tree[self.idom[blk]].append(blk)
        return tree


def is_back_edge(doms: Dominators, src: Block, dst: Block) -> bool:
    """An edge src -> dst is a back-edge when dst dominates src; each one taken counts one iteration."""
    return doms.dominates(dst, src)


def back_edges(fn: LoopFunction, doms: Dominators | None = None) -> list[tuple[Block, Block]]:
    doms = doms or Dominators(fn)
    return [(blk, s) for blk in doms.order for s in blk.successors if is_back_edge(doms, blk, s)]


@dataclass(eq=False)
class Loop:
    """A natural loop: header, body blocks (header included), latches (back-edge sources)."""

    header: Block
    blocks: set[Block] = field(default_factory=set)
    latches: list[Block] = field(default_factory=list)
    preheader: Block | None = None  # the single outside predecessor ending in `jump header`
    parent: Loop | None = None

    @property
    def depth(self) -> int:
        return 1 + (self.parent.depth if self.parent else 0)


def natural_loops(fn: LoopFunction, doms: Dominators | None = None) -> list[Loop]:
    """Natural loops merged per header, innermost first; preheader and parent filled in."""
    doms = doms or Dominators(fn)
    preds = predecessors(fn)
    loops: dict[Block, Loop] = {}
    for src, hdr in back_edges(fn, doms):
        loop = loops.setdefault(hdr, Loop(hdr, {hdr}))
        loop.latches.append(src)
        work = [src]
        while work:
            blk = work.pop()
            if blk not in loop.blocks:
                loop.blocks.add(blk)
                work.extend(p for p in preds[blk] if doms.reachable(p))
    result = sorted(loops.values(), key=lambda lp: len(lp.blocks))
    for loop in result:
        outside = [p for p in preds[loop.header] if p not in loop.blocks]
        if len(outside) == 1 and outside[0].successors == [loop.header]:
            loop.preheader = outside[0]
        enclosing = [o for o in result if o is not loop and loop.header in o.blocks and len(o.blocks) > len(loop.blocks)]
        loop.parent = min(enclosing, key=lambda o: len(o.blocks)) if enclosing else None
    return result


def use_counts(fn: LoopFunction) -> dict[Value, int]:
    """How often each value is read by ops, target arguments and snapshots."""
    counts: dict[Value, int] = {}
    for op in fn.ops():
        for v in op.uses():
            counts[v] = counts.get(v, 0) + 1
    for snap in fn.snapshots:
        for v in snap.values():
            counts[v] = counts.get(v, 0) + 1
    return counts


def replace_uses(fn: LoopFunction, mapping: dict[Value, Value]) -> None:
    """Rewrite every operand, target argument and snapshot entry through `mapping` (transitively)."""
    if not mapping:
        return

    def resolve(v: Value) -> Value:
        while v in mapping:
            v = mapping[v]
        return v

    for op in fn.ops():
        op.args = [resolve(a) for a in op.args]
        for t in op.targets:
            t.args = [resolve(a) for a in t.args]
    for snap in fn.snapshots:
        for slot, v in snap.slots.items():
            if isinstance(v, Value):
                snap.slots[slot] = resolve(v)


def op_positions(fn: LoopFunction) -> dict[Op, tuple[Block, int]]:
    return {op: (blk, k) for blk in fn.blocks for k, op in enumerate(blk.ops)}
