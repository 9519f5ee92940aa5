"""Control-flow structuring for the wasm lowering: the abstract CFG of a LoopFunction, loop rotation, and
the nesting Ramsey's algorithm ("Beyond Relooper", JFP 2022) needs (dominator tree, merge nodes, loop headers).

lower.py walks the result (`build_cfg(fn)` -> entry Node) and emits `loop`/`block`/`br` around the op recipes.
Irreducible control flow raises BackendCompileError (the translator only emits natural loops).
"""
from __future__ import annotations

from dataclasses import dataclass

from ...jit.analysis import Dominators, is_back_edge, natural_loop_bodies, reverse_postorder
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
    for hdr, body in natural_loop_bodies(fn, doms).items():
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
    _structure(fn, nodes[fn.entry])
    return nodes[fn.entry]

def _structure(fn: LoopFunction, entry: Node) -> None:
    # Reverse postorder and dominators of the abstract graph (analysis.py, as for the IR's blocks).
    doms = Dominators.of_graph(entry, _successors)
    order = doms.order
    for k, node in enumerate(order):
        node.rpo = k
    for node in order:
        node.idom = doms.idom[node]
    for n in order[1:]:
        n.idom.children.append(n)  # type: ignore[union-attr]
    preds = doms.preds
    # In a depth-first reverse postorder the retreating edges are those that do not go forward.
    retreating = [(n, d) for n in order for d in _successors(n) if d.rpo <= n.rpo]
    for src, dst in retreating:
        if not doms.dominates(dst, src):
            raise BackendCompileError(
                f"{fn.name}: irreducible control flow ({src.block.name} -> {dst.block.name}); "
                "the cranelift backend needs natural loops")
        dst.header = True
    for n in order:
        forward = sum(1 for p in preds[n] if not (p.rpo >= n.rpo and doms.dominates(n, p)))
        n.merge = forward >= 2


def _successors(node: Node) -> list[Node]:
    return [e.dest for e in node.edges if e.dest is not None]
