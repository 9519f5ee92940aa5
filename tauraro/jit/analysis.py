"""CFG analyses shared by the verifier, the passes, the IR interpreter and backends: dominators (on a
LoopFunction or any graph), back-edges (what the iteration counter counts) and natural loops."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from .ir import Block, LoopFunction, Value

N = TypeVar("N")  # a graph node: a Block, or a lowering's own node type


def predecessors(fn: LoopFunction) -> dict[Block, list[Block]]:
    """Block -> predecessor blocks (one entry per incoming edge, so br to the same block twice counts twice)."""
    preds: dict[Block, list[Block]] = {blk: [] for blk in fn.blocks}
    for blk in fn.blocks:
        for succ in blk.successors:
            preds.setdefault(succ, []).append(blk)
    return preds


def reverse_postorder(fn: LoopFunction) -> list[Block]:
    """Blocks reachable from the entry, in reverse postorder."""
    return graph_reverse_postorder(fn.entry, _block_successors) if fn.blocks else []


def _block_successors(blk: Block) -> Sequence[Block]:
    return blk.successors


def graph_reverse_postorder(entry: N, successors: Callable[[N], Sequence[N]]) -> list[N]:
    """Nodes of any graph reachable from `entry`, in reverse postorder (iterative DFS, successors in order)."""
    seen: set[N] = {entry}
    order: list[N] = []
    stack: list[tuple[N, int]] = [(entry, 0)]
    while stack:
        node, k = stack.pop()
        succs = successors(node)
        if k < len(succs):
            stack.append((node, k + 1))
            nxt = succs[k]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, 0))
        else:
            order.append(node)
    order.reverse()
    return order


class Dominators(Generic[N]):
    """Immediate dominators of the reachable nodes (Cooper, Harvey and Kennedy's iterative algorithm).

    ``Dominators(fn)`` for a LoopFunction's blocks; ``Dominators.of_graph(entry, successors)`` for any
    graph (the wasm lowering's rotated CFG). `order` is the reverse postorder, `index` a node's place in it.
    """

    def __init__(self, fn: LoopFunction | None = None) -> None:
        if fn is not None and fn.blocks:
            self._compute(reverse_postorder(fn), _block_successors)  # type: ignore[arg-type]
        else:
            self._compute([], _block_successors)  # type: ignore[arg-type]

    @classmethod
    def of_graph(cls, entry: N, successors: Callable[[N], Sequence[N]]) -> Dominators[N]:
        doms = cls.__new__(cls)
        doms._compute(graph_reverse_postorder(entry, successors), successors)
        return doms

    def _compute(self, order: list[N], successors: Callable[[N], Sequence[N]]) -> None:
        self.order = order
        self.index = {node: k for k, node in enumerate(order)}
        preds: dict[N, list[N]] = {node: [] for node in order}  # one entry per edge
        for node in order:
            for succ in successors(node):
                preds[succ].append(node)
        self.preds = preds
        self.idom: dict[N, N] = {}
        if not order:
            return
        entry = order[0]
        self.idom[entry] = entry
        changed = True
        while changed:
            changed = False
            for node in order[1:]:
                done = [p for p in preds[node] if p in self.idom]
                new = done[0]
                for p in done[1:]:
                    new = self._intersect(p, new)
                if self.idom.get(node) is not new:
                    self.idom[node] = new
                    changed = True

    def _intersect(self, a: N, b: N) -> N:
        idx = self.index
        while a is not b:
            while idx[a] > idx[b]:
                a = self.idom[a]
            while idx[b] > idx[a]:
                b = self.idom[b]
        return a

    def reachable(self, blk: N) -> bool:
        return blk in self.idom

    def dominates(self, a: N, b: N) -> bool:
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

    def children(self) -> dict[N, list[N]]:
        """The dominator tree as parent -> children, children in reverse postorder."""
        tree: dict[N, list[N]] = {blk: [] for blk in self.order}
        for blk in self.order[1:]:
            tree[self.idom[blk]].append(blk)
        return tree


def is_back_edge(doms: Dominators, src: Block, dst: Block) -> bool:
    """An edge src -> dst is a back-edge when dst dominates src; each one taken counts one iteration."""
    return doms.dominates(dst, src)


def back_edges(fn: LoopFunction, doms: Dominators | None = None) -> list[tuple[Block, Block]]:
    """Every back-edge (src, header), sources in reverse postorder. Only an edge that does not go
    forward in reverse postorder can be one, so a long chain of forward branches costs no dominator walks."""
    doms = doms or Dominators(fn)
    idx = doms.index
    return [(blk, s) for blk in doms.order for s in blk.successors if idx[s] <= idx[blk] and is_back_edge(doms, blk, s)]


def natural_loop_bodies(fn: LoopFunction, doms: Dominators | None = None) -> dict[Block, set[Block]]:
    """Header -> the blocks of its natural loop (merged over its back-edges), headers in back-edge order."""
    doms = doms or Dominators(fn)
    preds = doms.preds
    loops: dict[Block, set[Block]] = {}
    for src, hdr in back_edges(fn, doms):
        body = loops.setdefault(hdr, {hdr})
        work = [src]
        while work:
            blk = work.pop()
            if blk not in body:
                body.add(blk)
                work.extend(preds[blk])
    return loops


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
    loops = {hdr: Loop(hdr, body) for hdr, body in natural_loop_bodies(fn, doms).items()}
    for src, hdr in back_edges(fn, doms):
        loops[hdr].latches.append(src)
    result = sorted(loops.values(), key=lambda lp: len(lp.blocks))
    for loop in result:
        outside = [p for p in preds[loop.header] if p not in loop.blocks]
        if len(outside) == 1 and outside[0].successors == [loop.header]:
            loop.preheader = outside[0]
        enclosing = [o for o in result if o is not loop and loop.header in o.blocks and len(o.blocks) > len(loop.blocks)]
        loop.parent = min(enclosing, key=lambda o: len(o.blocks)) if enclosing else None
    return result


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
