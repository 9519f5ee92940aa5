"""Control-flow structuring for the wasm lowering: the abstract CFG of a LoopFunction, loop rotation, and
the nesting Ramsey's algorithm ("Beyond Relooper", JFP 2022) needs (dominator tree, merge nodes, loop headers).

lower.py walks the result (`build_cfg(fn)` -> entry Node) and emits `loop`/`block`/`br` around the op recipes.
Irreducible control flow raises BackendCompileError (the translator only emits natural loops).
"""
from __future__ import annotations

from dataclasses import dataclass

from ...jit.analysis import Dominators, is_back_edge, reverse_postorder
from ...jit.ir import Block, LoopFunction, Value
from ..base import BackendCompileError

# A `while` header is copied to its latches only if it is this small (ops, terminator excluded).
ROTATE_LIMIT = 32


class Node:
    """A unit of emitted code: an IR block, or a copy of a rotated loop header placed at its latches."""

    __slots__ = ("block", "label", "edges", "rpo", "idom", "children", "merge", "header", "index")

    def __init__(self, block: Block, label: str, index: int) -> None:
        self.block = block
        self.label = label
        self.index = index
        self.edges: list[Edge] = []
        self.rpo = -1
        self.idom: Node | None = None
        self.children: list[Node] = []
        self.merge = False
        self.header = False


@dataclass(eq=False)
class Edge:
    """A CFG edge: to a node, or straight to an exit snapshot (`exit` set, `dest` None)."""

    args: list[Value]
    params: list[Value]
    dest: Node | None
    exit: int | None
    counts: bool  # an IR back-edge: increments the iteration counter


def _natural_loops(order: list[Block], doms: Dominators) -> dict[Block, set[Block]]:
    """Header -> body blocks of each natural loop (merged per header).

    Like analysis.natural_loops, but an edge is tested for being a back-edge only when it does not
    go forward in reverse postorder, so a long chain of forward branches costs no dominator walks.
    """
    preds: dict[Block, list[Block]] = {blk: [] for blk in order}
    for blk in order:
        for succ in blk.successors:
            preds[succ].append(blk)
    loops: dict[Block, set[Block]] = {}
    for src in order:
        for hdr in src.successors:
            if doms.index[hdr] <= doms.index[src] and is_back_edge(doms, src, hdr):
                body = loops.setdefault(hdr, {hdr})
                work = [src]
                while work:
                    blk = work.pop()
                    if blk not in body:
                        body.add(blk)
                        work.extend(preds[blk])
    return loops



def sanitize(name: str) -> str:
    """`name` with only characters a WAT identifier may hold."""
    out = "".join(c if c.isalnum() or c in "_.-'" else "_" for c in name)
    return out or "_"


def build_cfg(fn: LoopFunction) -> Node:
    """The structured abstract CFG of `fn` (rotated, dominator tree, merge and loop-header marks); its entry node."""
    doms = Dominators(fn)
    reachable = reverse_postorder(fn)
    nodes: dict[Block, Node] = {}
    all_nodes: list[Node] = []

    def new_node(blk: Block, label: str) -> Node:
        node = Node(blk, label, len(all_nodes))
        all_nodes.append(node)
        return node

    # An exit-only block (no parameters, just `exit !N`) is not a node: edges to it leave directly.
    exit_only = {blk: blk.ops[0].snapshot for blk in reachable if not blk.params and len(blk.ops) == 1
                 and blk.ops[0].opcode == "exit"}
    labels: set[str] = set()
    for blk in reachable:
        if blk not in exit_only:
            label = sanitize(blk.name)
            while label in labels:
                label += "_"
            labels.add(label)
            nodes[blk] = new_node(blk, label)
    if fn.entry in exit_only:
        nodes[fn.entry] = new_node(fn.entry, sanitize(fn.entry.name))
        del exit_only[fn.entry]

    # Rotation: one copy of each small `while` header, shared by all of its latches.
    rotated: dict[Block, Node] = {}
    for hdr, body in _natural_loops(reachable, doms).items():
        term = hdr.terminator
        if hdr is fn.entry or term is None or term.opcode != "br" or len(hdr.ops) - 1 > ROTATE_LIMIT:
            continue
        inside = [t.block in body for t in term.targets]
        if inside.count(True) != 1 or any(t.block is hdr for t in term.targets):
            continue
        label = f"{nodes[hdr].label}.rot"
        while label in labels:
            label += "_"
        labels.add(label)
        rotated[hdr] = new_node(hdr, label)

    for node in all_nodes:
        term = node.block.terminator
        assert term is not None, f"block {node.block.name} has no terminator"
        for t in term.targets:
            # Only an edge that does not go forward in RPO can be a back-edge (avoids a walk to the root).
            back = doms.index[t.block] <= doms.index[node.block] and is_back_edge(doms, node.block, t.block)
            if t.block in exit_only:
                dest, ex = None, exit_only[t.block]
            elif back and t.block in rotated:
                dest, ex = rotated[t.block], None
            else:
                dest, ex = nodes[t.block], None
            node.edges.append(Edge(list(t.args), list(t.block.params), dest, ex, back))
    _structure(fn, nodes[fn.entry], all_nodes)
    return nodes[fn.entry]

def _structure(fn: LoopFunction, entry: Node, all_nodes: list[Node]) -> None:
    # Reverse postorder (iterative DFS) and a reducibility check on retreating edges.
    order: list[Node] = []
    state: dict[Node, int] = {entry: 1}  # 1 on the DFS stack, 2 finished
    stack: list[tuple[Node, int]] = [(entry, 0)]
    retreating: list[tuple[Node, Node]] = []
    while stack:
        node, k = stack.pop()
        succs = [e.dest for e in node.edges if e.dest is not None]
        if k < len(succs):
            stack.append((node, k + 1))
            nxt = succs[k]
            st = state.get(nxt)
            if st is None:
                state[nxt] = 1
                stack.append((nxt, 0))
            elif st == 1:
                retreating.append((node, nxt))
        else:
            state[node] = 2
            order.append(node)
    order.reverse()
    for k, node in enumerate(order):
        node.rpo = k
    preds: dict[Node, list[Node]] = {n: [] for n in order}
    for n in order:
        for e in n.edges:
            if e.dest is not None:
                preds[e.dest].append(n)
    # Dominators (Cooper, Harvey, Kennedy) on the abstract graph.
    entry.idom = entry
    changed = True
    while changed:
        changed = False
        for n in order[1:]:
            done = [p for p in preds[n] if p.idom is not None]
            new = done[0]
            for p in done[1:]:
                a, b = p, new
                while a is not b:
                    while a.rpo > b.rpo:
                        a = a.idom  # type: ignore[assignment]
                    while b.rpo > a.rpo:
                        b = b.idom  # type: ignore[assignment]
                new = a
            if n.idom is not new:
                n.idom = new
                changed = True
    for n in order[1:]:
        n.idom.children.append(n)  # type: ignore[union-attr]
    for src, dst in retreating:
        if not _dominates(dst, src):
            raise BackendCompileError(
                f"{fn.name}: irreducible control flow ({src.block.name} -> {dst.block.name}); "
                "the cranelift backend needs natural loops")
        dst.header = True
    for n in order:
        forward = sum(1 for p in preds[n] if not (p.rpo >= n.rpo and _dominates(n, p)))
        n.merge = forward >= 2

def _dominates(a: Node, b: Node) -> bool:
    while True:
        if b is a:
            return True
        if b.idom is b or b.idom is None:
            return False
        b = b.idom
