"""Lowering of a LoopFunction to LLVM IR text: `i64 @sym([ptr base,] i64 frame)`, SSA values, exits storing snapshots.

Shape of the emitted function (the exit contract is tauraro.jit.deopt's):

* Arguments: the frame offset, preceded by the memory base unless the base is a known constant
  (an owned LinearMemory never moves, so its address is compiled in and a call passes one
  argument). ``start`` computes the window pointer ``%fp`` and jumps to the IR entry block (LLVM forbids branches to its entry block, and the IR
  entry block may be a loop header).
* Every IR block becomes an LLVM block whose phis are the block parameters plus ``%it.<block>``,
  the back-edges taken so far; a back-edge passes ``it + 1``. Guards split blocks: the failing
  side branches (with cold branch weights) to the exit block of the guard's snapshot.
* One exit block per used snapshot (a phi for the iteration count, one incoming edge per exit
  site), then exactly the snapshot's slot stores, header +0 = N, +16 = iterations, ``ret N``;
  the stores that snapshots share are emitted once (a tree of store blocks, see lower_exits).
* Slots are read with plain loads marked ``!invariant.load`` (nothing writes them while the loop
  runs) and written only in exit blocks, so loop values live in registers. The interrupt flag is
  read with a monotonic atomic load: another thread sets it, so it must not be hoisted.

Integer ops are Python-exact (overflow intrinsics, floor division/modulo, shift checks); float
`//` and `%` follow CPython's float_floor_div/float_rem; `callf.f64` calls the libm function by
name (marked nobuiltin so LLVM never folds or replaces it) and exits where CPython's math_1()
raises.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from ...jit.analysis import Dominators, is_back_edge, predecessors
from ...jit.ir import (
    BOOL,
    F64,
    I64,
    PTR,
    TYPE_TAG,
    Block,
    Const,
    Flag,
    LoopFunction,
    Op,
    Type,
    Value,
    const_of,
)
from ...jit.layout import (
    CELL_SHIFT,
    HDR_DEPTH,
    HDR_EXIT,
    HDR_INTERRUPT,
    HDR_ITERATIONS,
    HEADER_SIZE,
    LIST_DIRTY,
    LIST_ITEMS,
    LIST_LEN,
    MAX_CALL_DEPTH,
    RETURN_EXIT,
    SLOT_PAYLOAD,
    SLOT_SIZE,
    TWO_53,
    float_to_bits,
    frame_size,
)
from ..common import Namer, payload_word, reject_reserved

# PTR values (list objects) are byte offsets into linear memory: i64 like the slot payload.
LLTYPE = {I64: "i64", F64: "double", BOOL: "i1", PTR: "i64"}

# Branch weights for guard failures: exits are rare, so LLVM lays them out of the hot path.
COLD = "!0"
METADATA = '!0 = !{!"branch_weights", i32 1, i32 1048575}\n!1 = !{}\n'

_NAME_OK = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*\Z")

F_TWO_63 = "0x43E0000000000000"  # 2.0**63
F_MINUS_TWO_63 = "0xC3E0000000000000"  # -2.0**63
F_ZERO = "0x0000000000000000"
F_ONE = "0x3FF0000000000000"
F_HALF = "0x3FE0000000000000"
F_INF = "0x7FF0000000000000"


def f64_literal(x: float) -> str:
    """An LLVM double literal with the exact bits of `x` (NaN payloads and -0.0 included)."""
    return f"0x{float_to_bits(x) & 0xFFFFFFFFFFFFFFFF:016X}"


def const_literal(ty: Type, value: int | float | bool) -> str:
    if ty is F64:
        return f64_literal(value)  # type: ignore[arg-type]
    if ty is BOOL:
        return "true" if value else "false"
    return str(int(value))


@dataclass
class Lowered:
    """The LLVM IR text of one loop and what it needs from the outside world."""

    symbol: str
    text: str
    libm: set[str] = field(default_factory=set)  # libm functions called by name


class _Block:
    """An LLVM basic block under construction."""

    __slots__ = ("label", "lines", "phis")

    def __init__(self, label: str) -> None:
        self.label = label
        self.lines: list[str] = []
        self.phis: list[str] = []


class _Lowerer:
    def __init__(self, fn: LoopFunction, symbol: str, base_cell: int | None) -> None:
        self.fn = fn
        self.symbol = symbol
        self.base_cell = base_cell
        self.doms = Dominators(fn)
        # Reverse postorder: every block comes after its dominators, so each operand is named
        # before its uses (phi arguments are named when the edge is emitted, at the predecessor).
        self.reachable = list(self.doms.order)
        self.names: dict[Value, str] = {}
        # Labels and values share LLVM's local namespace: every name goes through _unique.
        self._unique = Namer({"fp", "start", "base", "frame"})
        self.iter_names: dict[str, str] = {}
        self.tmp = 0
        self.libm: set[str] = set()
        self.libm2: set[str] = set()  # two-argument libm functions (callf2.f64)
        self.intrinsics: set[str] = set()
        self.out: list[_Block] = []
        self.cur: _Block = _Block("start")
        self.iters = "0"
        # incoming[(block label)] -> list of (pred label, [arg texts], iters text)
        self.incoming: dict[str, list[tuple[str, list[str], str]]] = {}
        # exit_in[label] = [(pred label, exit number text, iteration count text)] for exit-tree blocks
        self.exit_in: dict[str, list[tuple[str, str, str]]] = {}
        self.pending: tuple[int, str] | None = None  # a deferred guard: (snapshot, fail condition)
        self.single: set[str] = set()  # labels of blocks lowered without phis
        preds = predecessors(fn)
        self.npreds = {blk: sum(1 for p in preds.get(blk, []) if self.doms.reachable(p)) for blk in self.reachable}
        self.npreds[fn.entry] = self.npreds.get(fn.entry, 0) + 1  # the edge from `start`
        self.block_label = {blk: self._unique("b." + blk.name if _NAME_OK.match(blk.name) else f"b{len(self._unique)}")
                            for blk in self.reachable}
        self.plan_exits()

    # -- names -----------------------------------------------------------------------------------
    def new_tmp(self) -> str:
        self.tmp += 1
        return f"%.{self.tmp}"

    def bind(self, v: Value) -> str:
        """The LLVM register name of an SSA value defined by an instruction or phi."""
        base = v.name if _NAME_OK.match(v.name) else f"v.{v.name}"
        name = "%" + self._unique(base if not base[0].isdigit() else f"v.{base}")
        self.names[v] = name
        return name

    def ref(self, v: Value) -> str:
        return self.names[v]

    # -- emission helpers ------------------------------------------------------------------------
    def emit(self, line: str) -> None:
        self.cur.lines.append("  " + line)

    def inst(self, text: str) -> str:
        """Emit `%t = text` and return %t, or return the literal when all operands are literals.

        Folding here matters without an IR pass pipeline: guards split blocks, and the code
        generator folds constants only within a block (a guard on `b == 0` for a constant divisor
        would otherwise stay, and `x % 2` would become a hardware division).
        """
        folded = fold(text)
        if folded is not None:
            return folded
        t = self.new_tmp()
        self.emit(f"{t} = {text}")
        return t

    def start_block(self, label: str) -> None:
        self.cur = _Block(label)
        self.out.append(self.cur)

    def slot_ptr(self, slot: int, word: int) -> str:
        return self.inst(f"getelementptr inbounds i8, ptr %fp, i64 {HEADER_SIZE + SLOT_SIZE * slot + word}")

    def exit_to(self, snapshot: int) -> str:
        """Record an exit edge from the current block through `snapshot`; returns the label to branch to."""
        target = self.exit_target[snapshot]
        self.exit_in.setdefault(target, []).append((self.cur.label, str(snapshot), self.iters))
        return target

    def iter_name(self, label: str) -> str:
        """The register holding the back-edge count on entry to block `label` (its phi)."""
        name = self.iter_names.get(label)
        if name is None:
            name = self.iter_names[label] = "%" + self._unique(f"it.{label}")
        return name

    def guard_exit(self, fail: str, snapshot: int, defer: bool = False) -> None:
        """Branch to the exit of `snapshot` when `fail` (an i1) is true; continue in a new block.

        `defer` (tag guards): keep the condition pending and OR it with the next guards on the
        same snapshot, as long as only pure ops come between (they cannot trap and write nothing,
        so running them before the branch is harmless). The entry's run of tag guards, all on one
        snapshot, becomes one branch: fewer blocks for the code generator, fewer for the CPU.
        """
        if fail == "false":  # folded: this guard can never fail
            return
        if self.pending is not None:
            pending_snapshot, pending_fail = self.pending
            if pending_snapshot == snapshot:
                self.pending = None
                fail = self.inst(f"or i1 {pending_fail}, {fail}")
            else:
                self.flush_guard()
        if defer:
            self.pending = (snapshot, fail)
            return
        self.branch_out(fail, snapshot)

    def flush_guard(self) -> None:
        """Emit the pending deferred guard's branch, if any."""
        if self.pending is not None:
            snapshot, fail = self.pending
            self.pending = None
            self.branch_out(fail, snapshot)

    def branch_out(self, fail: str, snapshot: int) -> None:
        cont = self._unique(f"{self.cur.label}.ok")
        self.emit(f"br i1 {fail}, label %{self.exit_to(snapshot)}, label %{cont}, !prof {COLD}"
                  f"  {self.exit_comment(snapshot)}")
        self.start_block(cont)

    def exit_comment(self, snapshot: int) -> str:
        """`; exit !N reason line L` for dumps (LLVM keeps comments only in the text we print)."""
        snap = self.fn.snapshots[snapshot]
        return f"; exit !{snapshot} {snap.reason} line {snap.line}"

    def intrinsic(self, decl: str) -> None:
        self.intrinsics.add(decl)

    # -- the function ----------------------------------------------------------------------------
    def lower(self) -> Lowered:
        fn = self.fn
        reject_reserved(fn, "llvm")
        self.out.append(self.cur)
        if self.base_cell is not None:
            # The memory can move when it grows (between calls, never during one): load its base.
            self.emit(f"%base = load ptr, ptr inttoptr (i64 {self.base_cell} to ptr), align 8")
        self.emit("%fp = getelementptr inbounds i8, ptr %base, i64 %frame")
        self.emit_edge(fn.entry, [], back=False)
        # Bind block parameters first: a block may use the parameters of a block emitted later
        # only through phis, but phis of a loop header are referenced by its body.
        for blk in self.reachable:
            for p in blk.params:
                self.bind(p)
        for blk in self.reachable:
            self.lower_block(blk)
        self.lower_exits()
        return Lowered(self.symbol, self.render(), self.libm | self.libm2)

    def emit_edge(self, target: Block, args: list[str], back: bool) -> None:
        """Record an edge from the current block into `target` (phi incoming values) and branch."""
        iters = self.iters
        if back:
            iters = self.inst(f"add i64 {self.iters}, 1")
        label = self.block_label[target]
        self.incoming.setdefault(label, []).append((self.cur.label, args, iters))
        self.emit(f"br label %{label}")

    def lower_block(self, blk: Block) -> None:
        label = self.block_label[blk]
        self.start_block(label)
        inc = self.incoming.get(label, [])
        if self.npreds[blk] == 1 and len(inc) == 1:
            # A single predecessor, already emitted: no phis, the arguments are the parameters.
            _, args, self.iters = inc[0]
            for p, a in zip(blk.params, args):
                self.names[p] = a
            self.single.add(label)
        else:
            self.iters = self.iter_name(label)
        for op in blk.ops:
            self.lower_op(blk, op)

    def lower_terminator(self, blk: Block, op: Op) -> None:
        if op.opcode == "exit":
            self.emit(f"br label %{self.exit_to(op.snapshot)}  {self.exit_comment(op.snapshot)}")  # type: ignore[arg-type]
            return
        if op.opcode.startswith("ret."):  # a function unit returns: slot 0 = the value, header +0 = -1
            v = op.args[0]
            self.store_value(self.slot_ptr(0, 0), v.type, self.ref(v))
            self.emit(f"store i64 {RETURN_EXIT}, ptr %fp, align 8")
            p_it = self.inst(f"getelementptr inbounds i8, ptr %fp, i64 {HDR_ITERATIONS}")
            self.emit(f"store i64 {self.iters}, ptr {p_it}, align 8")
            self.emit(f"ret i64 {RETURN_EXIT}")
            return
        if op.opcode == "jump":
            t = op.targets[0]
            self.emit_edge(t.block, [self.ref(a) for a in t.args], is_back_edge(self.doms, blk, t.block))
            return
        # br: one edge block per target, so two edges into the same block (or a back-edge
        # increment) never need two phi entries from one predecessor.
        cond = self.ref(op.args[0])
        labels = []
        here = self.cur.label
        edges = []
        for k, t in enumerate(op.targets):
            if not t.block.params and not is_back_edge(self.doms, blk, t.block) and (
                k == 0 or t.block is not op.targets[0].block
            ):
                labels.append(self.block_label[t.block])
                self.incoming.setdefault(labels[-1], []).append((here, [], self.iters))
            else:
                edge = self._unique(f"{here}.e{k}")
                labels.append(edge)
                edges.append((edge, t))
        self.emit(f"br i1 {cond}, label %{labels[0]}, label %{labels[1]}")
        for edge, t in edges:
            self.start_block(edge)
            self.emit_edge(t.block, [self.ref(a) for a in t.args], is_back_edge(self.doms, blk, t.block))

    def plan_exits(self) -> None:
        """Lay out the exit code: a tree that shares the slot stores snapshots have in common.

        Snapshots of one loop overlap heavily (the nbody kernel: 478 slot entries in 41 snapshots,
        41 distinct slot/value pairs), and exit stores were half of the code generator's time.
        Each snapshot's (slot, value) pairs are sorted most-common-first and inserted into a trie.
        A failing guard branches straight to its snapshot's deepest node; every node stores one
        pair and jumps to its parent; the root jumps to one epilogue that writes header +0 and
        +16 and returns. Phis carry the exit number and the iteration count. A value stored in a
        shared node belongs to every snapshot below it, so it dominates every exit site that
        reaches the node.
        """
        used = sorted({op.snapshot for blk in self.reachable for op in blk.ops if op.snapshot is not None})
        pairs = {n: [_pair_key(slot, v) for slot, v in self.fn.snapshots[n].slots.items()] for n in used}
        freq: dict[tuple, int] = {}
        for ps in pairs.values():
            for pair in ps:
                freq[pair] = freq.get(pair, 0) + 1
        self.exit_nodes: list[tuple[int, Value | Const, int, str]] = []  # (slot, value, parent, label)
        children: dict[tuple[int, tuple], int] = {}
        self.epilogue = self._unique("exit.done")
        self.exit_target: dict[int, str] = {}
        for n in used:
            slots = self.fn.snapshots[n].slots
            at = -1
            for pair in sorted(pairs[n], key=lambda pr: (-freq[pr], pr)):
                child = children.get((at, pair))
                if child is None:
                    child = children[(at, pair)] = len(self.exit_nodes)
                    self.exit_nodes.append((pair[0], slots[pair[0]], at, self._unique(f"exit.s{pair[0]}")))
                at = child
            self.exit_target[n] = self.exit_nodes[at][3] if at >= 0 else self.epilogue

    def lower_exits(self) -> None:
        """Emit the exit tree planned by plan_exits (nodes nothing reaches are left out)."""
        # Children were created after their parents: emitting in reverse creation order sees
        # every predecessor of a node before the node itself.
        for slot, v, parent, label in reversed(self.exit_nodes):
            preds = self.exit_in.get(label)
            if not preds:
                continue
            number, iters = self.merge_point(label, preds)
            self.cur.lines.append(f"  ; slot {slot} ({self.fn.slot_name(slot)!r})")
            self.emit(f"store i64 {int(TYPE_TAG[v.type])}, ptr {self.slot_ptr(slot, 0)}, align 8")
            p_val = self.slot_ptr(slot, SLOT_PAYLOAD)
            if isinstance(v, Const):
                self.emit(f"store i64 {payload_word(v.type, v.value)}, ptr {p_val}, align 8")
            elif v.type is BOOL:
                self.emit(f"store i64 {self.inst(f'zext i1 {self.ref(v)} to i64')}, ptr {p_val}, align 8")
            else:
                self.emit(f"store {LLTYPE[v.type]} {self.ref(v)}, ptr {p_val}, align 8")
            dest = self.exit_nodes[parent][3] if parent >= 0 else self.epilogue
            self.exit_in.setdefault(dest, []).append((self.cur.label, number, iters))
            self.emit(f"br label %{dest}")
        preds = self.exit_in.get(self.epilogue)
        if not preds:
            return  # no exit is reachable (a loop that never leaves)
        number, iters = self.merge_point(self.epilogue, preds)
        p_exit = self.inst(f"getelementptr inbounds i8, ptr %fp, i64 {HDR_EXIT}")
        self.emit(f"store i64 {number}, ptr {p_exit}, align 8")
        p_it = self.inst(f"getelementptr inbounds i8, ptr %fp, i64 {HDR_ITERATIONS}")
        self.emit(f"store i64 {iters}, ptr {p_it}, align 8")
        self.emit(f"ret i64 {number}")

    def merge_point(self, label: str, preds: list[tuple[str, str, str]]) -> tuple[str, str]:
        """Start block `label`; returns the texts of the exit number and iteration count there."""
        self.start_block(label)
        if len(preds) == 1:
            return preds[0][1], preds[0][2]
        texts = []
        for pos, what in ((1, "exit.n"), (2, "exit.it")):
            values = {p[pos] for p in preds}
            if len(values) == 1:
                texts.append(values.pop())
                continue
            name = "%" + self._unique(f"{what}.{label}")
            self.cur.phis.append(f"  {name} = phi i64 " + ", ".join(f"[ {p[pos]}, %{p[0]} ]" for p in preds))
            texts.append(name)
        return texts[0], texts[1]

    def render(self) -> str:
        # Phis for block parameters and iteration counters, from the recorded incoming edges.
        by_label = {b.label: b for b in self.out}
        for blk in self.reachable:
            label = self.block_label[blk]
            if label in self.single:
                continue
            b = by_label[label]
            inc = self.incoming.get(label, [])

            b.phis.append(f"  {self.iter_name(label)} = phi i64 " + ", ".join(f"[ {it}, %{lab} ]" for lab, _, it in inc))
            for k, p in enumerate(blk.params):
                entries = ", ".join(f"[ {args[k]}, %{lab} ]" for lab, args, _ in inc)
                b.phis.append(f"  {self.ref(p)} = phi {LLTYPE[p.type]} {entries}")
        params = "i64 %frame" if self.base_cell is not None else "ptr noalias %base, i64 %frame"
        lines = [f"define i64 @{self.symbol}({params}) #0 {{"]
        for b in self.out:
            lines.append(f"{b.label}:")
            lines.extend(b.phis)
            lines.extend(b.lines)
        lines.append("}")
        decls = sorted(self.intrinsics)
        decls += [f"declare double @{name}(double) #1" for name in sorted(self.libm)]
        decls += [f"declare double @{name}(double, double) #1" for name in sorted(self.libm2)]
        attrs = [
            'attributes #0 = { nounwind }',
            "attributes #1 = { nounwind }",
            "attributes #2 = { nobuiltin nounwind }",
        ]
        head = f"; loop {self.fn.name} ({self.fn.location})\n"
        return head + "\n".join(lines) + "\n\n" + "\n".join(decls) + "\n\n" + "\n".join(attrs) + "\n" + METADATA

    # -- ops -------------------------------------------------------------------------------------
    def lower_op(self, blk: Block, op: Op) -> None:
        name = op.opcode
        if op.opdef.has(Flag.PURE) or name == "guard.tag":
            pass  # may run before a deferred guard's branch
        else:
            self.flush_guard()
        if op.is_terminator:
            self.lower_terminator(blk, op)
            return
        if name.startswith("const."):
            assert op.result is not None
            self.names[op.result] = const_literal(op.result.type, op.attrs["value"])
            return
        handler = _HANDLERS.get(name)
        if handler is None:
            raise NotImplementedError(f"IR op {name} is not implemented by the llvm backend")
        args = [self.ref(a) for a in op.args]
        result = handler(self, op, *args)
        if op.result is not None:
            assert result is not None, name
            # Give the final instruction the IR value's name (readable dumps): rename the temp.
            self.rename_last(result, op.result)

    def rename_last(self, tmp: str, v: Value) -> None:
        """Bind `v` to the instruction that produced `tmp` (renaming it when it is the last line)."""
        lines = self.cur.lines
        if tmp.startswith("%.") and lines and lines[-1].startswith(f"  {tmp} = "):
            name = self.bind(v)
            lines[-1] = f"  {name} = " + lines[-1][len(tmp) + 5 :]
        else:
            self.names[v] = tmp

    # frame access
    def op_load(self, op: Op) -> str:
        ty = op.result.type  # type: ignore[union-attr]
        p = self.slot_ptr(op.attrs["slot"], SLOT_PAYLOAD)
        if ty is BOOL:
            w = self.inst(f"load i64, ptr {p}, align 8, !invariant.load !1")
            return self.inst(f"icmp ne i64 {w}, 0")
        return self.inst(f"load {LLTYPE[ty]}, ptr {p}, align 8, !invariant.load !1")

    def op_guard_tag(self, op: Op) -> None:
        p = self.slot_ptr(op.attrs["slot"], 0)
        tag = self.inst(f"load i64, ptr {p}, align 8, !invariant.load !1")
        fail = self.inst(f"icmp ne i64 {tag}, {int(TYPE_TAG[op.attrs['type']])}")
        self.guard_exit(fail, op.snapshot, defer=True)  # type: ignore[arg-type]

    def op_poll(self, op: Op) -> None:
        p = self.inst(f"getelementptr inbounds i8, ptr %fp, i64 {HDR_INTERRUPT}")
        flag = self.inst(f"load atomic i64, ptr {p} monotonic, align 8")
        fail = self.inst(f"icmp ne i64 {flag}, 0")
        self.guard_exit(fail, op.snapshot)  # type: ignore[arg-type]

    def store_value(self, tag_ptr: str, ty: Type, v: str) -> None:
        """Store a tagged value (tag word, then payload) at `tag_ptr`."""
        self.emit(f"store i64 {int(TYPE_TAG[ty])}, ptr {tag_ptr}, align 8")
        p = self.inst(f"getelementptr inbounds i8, ptr {tag_ptr}, i64 {SLOT_PAYLOAD}")
        if ty is BOOL:
            v = self.inst(f"zext i1 {v} to i64")
        self.emit(f"store {LLTYPE[ty] if ty is not BOOL else 'i64'} {v}, ptr {p}, align 8")

    def op_call(self, op: Op, *args: str) -> str:
        """A call of the unit itself in the next frame window (docs/jit.md section 7)."""
        if op.attrs["fn"] != self.fn.name:
            raise NotImplementedError(f"{op.opcode} of another function ({op.attrs['fn']})")
        snap = op.snapshot
        depth = self.inst(f"load i64, ptr {self.inst(f'getelementptr inbounds i8, ptr %fp, i64 {HDR_DEPTH}')}, align 8")
        self.guard_exit(self.inst(f"icmp sge i64 {depth}, {MAX_CALL_DEPTH}"), snap)  # type: ignore[arg-type]
        size = frame_size(self.fn.nslots)
        callee = self.inst(f"getelementptr inbounds i8, ptr %fp, i64 {size}")
        flag = self.inst(f"load i64, ptr {self.inst(f'getelementptr inbounds i8, ptr %fp, i64 {HDR_INTERRUPT}')}, align 8")
        self.emit(f"store i64 {flag}, ptr {self.inst(f'getelementptr inbounds i8, ptr {callee}, i64 {HDR_INTERRUPT}')}, align 8")
        deeper = self.inst(f"add i64 {depth}, 1")
        self.emit(f"store i64 {deeper}, ptr {self.inst(f'getelementptr inbounds i8, ptr {callee}, i64 {HDR_DEPTH}')}, align 8")
        for k, (v, text) in enumerate(zip(op.args, args)):
            self.store_value(self.inst(f"getelementptr inbounds i8, ptr {callee}, i64 {HEADER_SIZE + SLOT_SIZE * k}"),
                             v.type, text)
        frame = self.inst(f"add i64 %frame, {size}")
        params = f"i64 {frame}" if self.base_cell is not None else f"ptr %base, i64 {frame}"
        r = self.inst(f"call i64 @{self.symbol}({params})")
        self.guard_exit(self.inst(f"icmp ne i64 {r}, {RETURN_EXIT}"), snap)  # type: ignore[arg-type]
        ty = op.result.type  # type: ignore[union-attr]
        tag_ptr = self.inst(f"getelementptr inbounds i8, ptr {callee}, i64 {HEADER_SIZE}")
        tag = self.inst(f"load i64, ptr {tag_ptr}, align 8")
        self.guard_exit(self.inst(f"icmp ne i64 {tag}, {int(TYPE_TAG[ty])}"), snap)  # type: ignore[arg-type]
        p = self.inst(f"getelementptr inbounds i8, ptr {callee}, i64 {HEADER_SIZE + SLOT_PAYLOAD}")
        if ty is BOOL:
            return self.inst(f"icmp ne i64 {self.inst(f'load i64, ptr {p}, align 8')}, 0")
        return self.inst(f"load {LLTYPE[ty]}, ptr {p}, align 8")

    def op_guard_bool(self, op: Op, c: str) -> None:
        fail = c if op.opcode == "guard.false" else self.inst(f"xor i1 {c}, true")
        self.guard_exit(fail, op.snapshot)  # type: ignore[arg-type]

    # i64 arithmetic
    def op_ovf(self, op: Op, a: str, b: str) -> str:
        kind = {"add.i64": "sadd", "sub.i64": "ssub", "mul.i64": "smul"}[op.opcode]
        self.intrinsic(f"declare {{i64, i1}} @llvm.{kind}.with.overflow.i64(i64, i64)")
        pair = self.inst(f"call {{i64, i1}} @llvm.{kind}.with.overflow.i64(i64 {a}, i64 {b})")
        ovf = self.inst(f"extractvalue {{i64, i1}} {pair}, 1")
        self.guard_exit(ovf, op.snapshot)  # type: ignore[arg-type]
        return self.inst(f"extractvalue {{i64, i1}} {pair}, 0")

    def op_wrap(self, op: Op, a: str, b: str) -> str:
        return self.inst(f"{op.opcode[1:4]} i64 {a}, {b}")

    def op_neg(self, op: Op, a: str) -> str:
        self.guard_exit(self.inst(f"icmp eq i64 {a}, -9223372036854775808"), op.snapshot)  # type: ignore[arg-type]
        return self.inst(f"sub nsw i64 0, {a}")

    def op_abs(self, op: Op, a: str) -> str:
        self.guard_exit(self.inst(f"icmp eq i64 {a}, -9223372036854775808"), op.snapshot)  # type: ignore[arg-type]
        neg = self.inst(f"sub nsw i64 0, {a}")
        is_neg = self.inst(f"icmp slt i64 {a}, 0")
        return self.inst(f"select i1 {is_neg}, i64 {neg}, i64 {a}")

    def op_floordiv_i64(self, op: Op, a: str, b: str) -> str:
        c = const_of(op.args[1])
        if c is not None and c > 0:
            # A positive constant divisor: no guard (powers of two are shifts already: constfold).
            q = self.inst(f"sdiv i64 {a}, {c}")
            r = self.inst(f"srem i64 {a}, {c}")
            dec = self.inst(f"sext i1 {self.inst(f'icmp slt i64 {r}, 0')} to i64")
            return self.inst(f"add i64 {q}, {dec}")
        zero = self.inst(f"icmp eq i64 {b}, 0")
        amin = self.inst(f"icmp eq i64 {a}, -9223372036854775808")
        bm1 = self.inst(f"icmp eq i64 {b}, -1")
        ovf = self.inst(f"and i1 {amin}, {bm1}")
        self.guard_exit(self.inst(f"or i1 {zero}, {ovf}"), op.snapshot)  # type: ignore[arg-type]
        if c == 0:
            return "0"  # unreachable: the guard above always exits
        q = self.inst(f"sdiv i64 {a}, {b}")
        r = self.inst(f"srem i64 {a}, {b}")
        # Floor: step down when the remainder is nonzero and its sign differs from the divisor's.
        nz = self.inst(f"icmp ne i64 {r}, 0")
        sx = self.inst(f"xor i64 {r}, {b}")
        neg = self.inst(f"icmp slt i64 {sx}, 0")
        adj = self.inst(f"and i1 {nz}, {neg}")
        dec = self.inst(f"sext i1 {adj} to i64")
        return self.inst(f"add i64 {q}, {dec}")

    def op_mod_i64(self, op: Op, a: str, b: str) -> str:
        c = const_of(op.args[1])
        if c is not None and c > 0:
            # A positive constant modulus: the result is in [0, c) (powers of two are masks already: constfold).
            r = self.inst(f"srem i64 {a}, {c}")
            fix = self.inst(f"select i1 {self.inst(f'icmp slt i64 {r}, 0')}, i64 {c}, i64 0")
            return self.inst(f"add i64 {r}, {fix}")
        self.guard_exit(self.inst(f"icmp eq i64 {b}, 0"), op.snapshot)  # type: ignore[arg-type]
        if c == 0:
            return "0"  # unreachable: the guard above always exits
        # x % -1 == 0 for every x; dividing by 1 instead avoids srem's trap on INT_MIN % -1.
        bm1 = self.inst(f"icmp eq i64 {b}, -1")
        d = self.inst(f"select i1 {bm1}, i64 1, i64 {b}")
        r = self.inst(f"srem i64 {a}, {d}")
        nz = self.inst(f"icmp ne i64 {r}, 0")
        sx = self.inst(f"xor i64 {r}, {b}")
        neg = self.inst(f"icmp slt i64 {sx}, 0")
        adj = self.inst(f"and i1 {nz}, {neg}")
        fix = self.inst(f"select i1 {adj}, i64 {b}, i64 0")
        return self.inst(f"add i64 {r}, {fix}")

    def op_truediv_i64(self, op: Op, a: str, b: str) -> str:
        # |x| <= 2**53  <=>  (x + 2**53) as unsigned <= 2**54: both operands are exact doubles.
        zero = self.inst(f"icmp eq i64 {b}, 0")
        ab = self.inst(f"add i64 {a}, {TWO_53}")
        abig = self.inst(f"icmp ugt i64 {ab}, {2 * TWO_53}")
        bb = self.inst(f"add i64 {b}, {TWO_53}")
        bbig = self.inst(f"icmp ugt i64 {bb}, {2 * TWO_53}")
        big = self.inst(f"or i1 {abig}, {bbig}")
        self.guard_exit(self.inst(f"or i1 {zero}, {big}"), op.snapshot)  # type: ignore[arg-type]
        fa = self.inst(f"sitofp i64 {a} to double")
        fb = self.inst(f"sitofp i64 {b} to double")
        return self.inst(f"fdiv double {fa}, {fb}")

    def op_lshift(self, op: Op, a: str, n: str) -> str:
        # Exit if n < 0, or a != 0 and (n > 63 or bits are lost: (a << n) >> n != a).
        negn = self.inst(f"icmp slt i64 {n}, 0")
        big = self.inst(f"icmp sgt i64 {n}, 63")
        nn = self.inst(f"and i64 {n}, 63")
        r = self.inst(f"shl i64 {a}, {nn}")
        back = self.inst(f"ashr i64 {r}, {nn}")
        lost = self.inst(f"icmp ne i64 {back}, {a}")
        anz = self.inst(f"icmp ne i64 {a}, 0")
        bad = self.inst(f"or i1 {big}, {lost}")
        bad2 = self.inst(f"and i1 {anz}, {bad}")
        self.guard_exit(self.inst(f"or i1 {negn}, {bad2}"), op.snapshot)  # type: ignore[arg-type]
        return r

    def op_rshift(self, op: Op, a: str, n: str) -> str:
        self.guard_exit(self.inst(f"icmp slt i64 {n}, 0"), op.snapshot)  # type: ignore[arg-type]
        big = self.inst(f"icmp ugt i64 {n}, 63")
        nn = self.inst(f"select i1 {big}, i64 63, i64 {n}")
        return self.inst(f"ashr i64 {a}, {nn}")

    def op_bitwise(self, op: Op, a: str, b: str) -> str:
        return self.inst(f"{op.opcode[:-4]} i64 {a}, {b}")

    def op_invert(self, op: Op, a: str) -> str:
        return self.inst(f"xor i64 {a}, -1")

    def op_minmax_i64(self, op: Op, a: str, b: str) -> str:
        # Python: min(a, b) = b if b < a else a; max(a, b) = b if b > a else a.
        pred = "slt" if op.opcode == "min.i64" else "sgt"
        c = self.inst(f"icmp {pred} i64 {b}, {a}")
        return self.inst(f"select i1 {c}, i64 {b}, i64 {a}")

    def op_icmp(self, op: Op, a: str, b: str) -> str:
        pred = {"lt": "slt", "le": "sle", "gt": "sgt", "ge": "sge", "eq": "eq", "ne": "ne"}[op.opcode[:2]]
        return self.inst(f"icmp {pred} i64 {a}, {b}")

    # f64 arithmetic
    def op_farith(self, op: Op, a: str, b: str) -> str:
        return self.inst(f"f{op.opcode[:3]} double {a}, {b}")

    def _fail_if_zero(self, op: Op, b: str) -> None:
        self.guard_exit(self.inst(f"fcmp oeq double {b}, {F_ZERO}"), op.snapshot)  # type: ignore[arg-type]

    def op_fdiv(self, op: Op, a: str, b: str) -> str:
        self._fail_if_zero(op, b)
        return self.inst(f"fdiv double {a}, {b}")

    def _fmod_fixed(self, a: str, b: str) -> tuple[str, str, str]:
        """CPython's remainder step: (mod, adjusted?) with mod carrying the sign of b."""
        self.intrinsic("declare double @llvm.copysign.f64(double, double)")
        mod = self.inst(f"frem double {a}, {b}")
        nz = self.inst(f"fcmp une double {mod}, {F_ZERO}")  # C's `if (mod)`: true for NaN
        bneg = self.inst(f"fcmp olt double {b}, {F_ZERO}")
        mneg = self.inst(f"fcmp olt double {mod}, {F_ZERO}")
        differ = self.inst(f"xor i1 {bneg}, {mneg}")
        adjust = self.inst(f"and i1 {nz}, {differ}")
        plus = self.inst(f"fadd double {mod}, {b}")
        signed_zero = self.inst(f"call double @llvm.copysign.f64(double {F_ZERO}, double {b})")
        kept = self.inst(f"select i1 {adjust}, double {plus}, double {mod}")
        return self.inst(f"select i1 {nz}, double {kept}, double {signed_zero}"), mod, adjust

    def op_fmod(self, op: Op, a: str, b: str) -> str:
        self._fail_if_zero(op, b)
        return self._fmod_fixed(a, b)[0]

    def op_ffloordiv(self, op: Op, a: str, b: str) -> str:
        # CPython _float_div_mod: div = (a - fmod(a, b)) / b, minus 1 when the remainder was
        # adjusted; then snapped to the nearest integer, or a zero with the sign of a / b.
        self._fail_if_zero(op, b)
        self.intrinsic("declare double @llvm.floor.f64(double)")
        _, mod, adjust = self._fmod_fixed(a, b)
        diff = self.inst(f"fsub double {a}, {mod}")
        div0 = self.inst(f"fdiv double {diff}, {b}")
        dec = self.inst(f"fsub double {div0}, {F_ONE}")
        div = self.inst(f"select i1 {adjust}, double {dec}, double {div0}")
        fl = self.inst(f"call double @llvm.floor.f64(double {div})")
        frac = self.inst(f"fsub double {div}, {fl}")
        up = self.inst(f"fcmp ogt double {frac}, {F_HALF}")
        fl1 = self.inst(f"fadd double {fl}, {F_ONE}")
        snapped = self.inst(f"select i1 {up}, double {fl1}, double {fl}")
        q = self.inst(f"fdiv double {a}, {b}")
        zero_q = self.inst(f"call double @llvm.copysign.f64(double {F_ZERO}, double {q})")
        dnz = self.inst(f"fcmp une double {div}, {F_ZERO}")
        return self.inst(f"select i1 {dnz}, double {snapped}, double {zero_q}")

    def op_fneg(self, op: Op, a: str) -> str:
        return self.inst(f"fneg double {a}")

    def op_fabs(self, op: Op, a: str) -> str:
        self.intrinsic("declare double @llvm.fabs.f64(double)")
        return self.inst(f"call double @llvm.fabs.f64(double {a})")

    def op_sqrt(self, op: Op, a: str) -> str:
        self.guard_exit(self.inst(f"fcmp olt double {a}, {F_ZERO}"), op.snapshot)  # type: ignore[arg-type]
        self.intrinsic("declare double @llvm.sqrt.f64(double)")
        return self.inst(f"call double @llvm.sqrt.f64(double {a})")

    def op_minmax_f64(self, op: Op, a: str, b: str) -> str:
        pred = "olt" if op.opcode == "min.f64" else "ogt"
        # The fence hides `a` from codegen: AArch64's instruction selection turns `select (fcmp olt b, a), b, a`
        # into fminnm when it can prove both operands are never NaN (a constant, an int converted), and fminnm
        # orders -0.0 below 0.0, so min(0.0, -0.0) gave -0.0 (found by the emulated AArch64 suite). x86-64's
        # minsd already returns `a` on ties and emits the same code with the fence.
        self.intrinsic("declare double @llvm.arithmetic.fence.f64(double)")
        a = self.inst(f"call double @llvm.arithmetic.fence.f64(double {a})")
        c = self.inst(f"fcmp {pred} double {b}, {a}")
        return self.inst(f"select i1 {c}, double {b}, double {a}")

    def op_fcmp(self, op: Op, a: str, b: str) -> str:
        pred = {"lt": "olt", "le": "ole", "gt": "ogt", "ge": "oge", "eq": "oeq", "ne": "une"}[op.opcode[:2]]
        return self.inst(f"fcmp {pred} double {a}, {b}")

    def op_callf(self, op: Op, a: str) -> str:
        fname = op.attrs["fn"]
        self.libm.add(fname)
        self.intrinsic("declare double @llvm.fabs.f64(double)")
        r = self.inst(f"call double @{fname}(double {a}) #2")
        # math_1(): error iff a NaN from a non-NaN argument, or an infinity from a finite one.
        rnan = self.inst(f"fcmp uno double {r}, {r}")
        anum = self.inst(f"fcmp ord double {a}, {a}")
        e1 = self.inst(f"and i1 {rnan}, {anum}")
        rabs = self.inst(f"call double @llvm.fabs.f64(double {r})")
        rinf = self.inst(f"fcmp oeq double {rabs}, {F_INF}")
        aabs = self.inst(f"call double @llvm.fabs.f64(double {a})")
        afin = self.inst(f"fcmp olt double {aabs}, {F_INF}")
        e2 = self.inst(f"and i1 {rinf}, {afin}")
        self.guard_exit(self.inst(f"or i1 {e1}, {e2}"), op.snapshot)  # type: ignore[arg-type]
        return r

    def op_callf2(self, op: Op, a: str, b: str) -> str:
        fname = op.attrs["fn"]
        self.libm2.add(fname)
        self.intrinsic("declare double @llvm.fabs.f64(double)")
        r = self.inst(f"call double @{fname}(double {a}, double {b}) #2")
        # Finite arguments and a finite result, else exit: CPython's own special cases and errors.
        fin = [self.inst(f"fcmp olt double {self.inst(f'call double @llvm.fabs.f64(double {x})')}, {F_INF}")
               for x in (a, b, r)]
        ok = self.inst(f"and i1 {self.inst(f'and i1 {fin[0]}, {fin[1]}')}, {fin[2]}")
        self.guard_exit(self.inst(f"xor i1 {ok}, true"), op.snapshot)  # type: ignore[arg-type]
        return r

    def op_copysign(self, op: Op, a: str, b: str) -> str:
        self.intrinsic("declare double @llvm.copysign.f64(double, double)")
        return self.inst(f"call double @llvm.copysign.f64(double {a}, double {b})")

    def op_round(self, op: Op, a: str) -> str:
        self.intrinsic("declare double @llvm.roundeven.f64(double)")
        return self._to_i64(op, self.inst(f"call double @llvm.roundeven.f64(double {a})"))

    def _to_i64(self, op: Op, x: str) -> str:
        # -2**63 <= x < 2**63 (false for NaN): fptosi is exact on the truncated value.
        lo = self.inst(f"fcmp oge double {x}, {F_MINUS_TWO_63}")
        hi = self.inst(f"fcmp olt double {x}, {F_TWO_63}")
        ok = self.inst(f"and i1 {lo}, {hi}")
        self.guard_exit(self.inst(f"xor i1 {ok}, true"), op.snapshot)  # type: ignore[arg-type]
        return self.inst(f"fptosi double {x} to i64")

    def op_floor_ceil(self, op: Op, a: str) -> str:
        kind = op.opcode[:-4]
        self.intrinsic(f"declare double @llvm.{kind}.f64(double)")
        r = self.inst(f"call double @llvm.{kind}.f64(double {a})")
        return self._to_i64(op, r)

    def op_int_f64(self, op: Op, a: str) -> str:
        return self._to_i64(op, a)

    def op_float_i64(self, op: Op, a: str) -> str:
        return self.inst(f"sitofp i64 {a} to double")

    def op_int_bool(self, op: Op, a: str) -> str:
        return self.inst(f"zext i1 {a} to i64")

    def op_bool_i64(self, op: Op, a: str) -> str:
        return self.inst(f"icmp ne i64 {a}, 0")

    def op_bool_f64(self, op: Op, a: str) -> str:
        return self.inst(f"fcmp une double {a}, {F_ZERO}")

    def op_not(self, op: Op, a: str) -> str:
        return self.inst(f"xor i1 {a}, true")

    def op_bool2(self, op: Op, a: str, b: str) -> str:
        kind = {"and.bool": "and i1", "or.bool": "or i1", "eq.bool": "icmp eq i1", "ne.bool": "icmp ne i1"}[op.opcode]
        return self.inst(f"{kind} {a}, {b}")

    def op_select(self, op: Op, c: str, a: str, b: str) -> str:
        ty = LLTYPE[op.result.type]  # type: ignore[union-attr]
        return self.inst(f"select i1 {c}, {ty} {a}, {ty} {b}")

    # lists in linear memory
    def mem_ptr(self, offset: str, add: int = 0) -> str:
        """A pointer to byte `offset` (+ `add`) of linear memory."""
        if add:
            offset = self.inst(f"add i64 {offset}, {add}")
        return self.inst(f"getelementptr inbounds i8, ptr %base, i64 {offset}")

    def op_list_len(self, op: Op, p: str) -> str:
        # Compiled code never changes a length, and nothing else runs during the call.
        return self.inst(f"load i64, ptr {self.mem_ptr(p, LIST_LEN)}, align 8, !invariant.load !1")

    def list_cell(self, op: Op, p: str, i: str) -> str:
        """Byte offset of cell i's tag after the negative-index fix-up; exits unless 0 <= i < len."""
        n = self.op_list_len(op, p)
        neg = self.inst(f"icmp slt i64 {i}, 0")
        wrapped = self.inst(f"add i64 {i}, {n}")
        k = self.inst(f"select i1 {neg}, i64 {wrapped}, i64 {i}")
        inside = self.inst(f"icmp ult i64 {k}, {n}")  # 0 <= k < n, as n >= 0
        self.guard_exit(self.inst(f"xor i1 {inside}, true"), op.snapshot)  # type: ignore[arg-type]
        items = self.inst(f"load i64, ptr {self.mem_ptr(p, LIST_ITEMS)}, align 8, !invariant.load !1")
        scaled = self.inst(f"shl i64 {k}, {CELL_SHIFT}")
        return self.inst(f"add i64 {items}, {scaled}")

    def op_list_get(self, op: Op, p: str, i: str) -> str:
        ty = op.result.type  # type: ignore[union-attr]
        cell = self.list_cell(op, p, i)
        tag = self.inst(f"load i64, ptr {self.mem_ptr(cell)}, align 8")
        self.guard_exit(self.inst(f"icmp ne i64 {tag}, {int(TYPE_TAG[ty])}"), op.snapshot)  # type: ignore[arg-type]
        payload = self.mem_ptr(cell, SLOT_PAYLOAD)
        if ty is BOOL:
            w = self.inst(f"load i64, ptr {payload}, align 8")
            return self.inst(f"icmp ne i64 {w}, 0")
        return self.inst(f"load {LLTYPE[ty]}, ptr {payload}, align 8")

    def op_list_set(self, op: Op, p: str, i: str, v: str) -> None:
        ty = op.args[2].type
        cell = self.list_cell(op, p, i)
        self.emit(f"store i64 {int(TYPE_TAG[ty])}, ptr {self.mem_ptr(cell)}, align 8")
        payload = self.mem_ptr(cell, SLOT_PAYLOAD)
        if ty is BOOL:
            self.emit(f"store i64 {self.inst(f'zext i1 {v} to i64')}, ptr {payload}, align 8")
        else:
            self.emit(f"store {LLTYPE[ty]} {v}, ptr {payload}, align 8")
        self.emit(f"store i64 1, ptr {self.mem_ptr(p, LIST_DIRTY)}, align 8")


# -- constant folding of the instructions the lowering emits ---------------------------------------

_INT = re.compile(r"-?\d+\Z")
_DBL = re.compile(r"0x[0-9A-F]{16}\Z")
_BIN = re.compile(r"(icmp|fcmp) (\w+) (i64|double|i1) ([^,\s]+), ([^,\s]+)\Z")
_LOGIC = re.compile(r"(and|or|xor|add|sub) (i1|i64) ([^,\s]+), ([^,\s]+)\Z")
_SELECT = re.compile(r"select i1 ([^,\s]+), (\S+) ([^,\s]+), \S+ ([^,\s]+)\Z")
_EXT = re.compile(r"(zext|sext) i1 (true|false) to i64\Z")
_MASK = 0xFFFFFFFFFFFFFFFF


def _lit(x: str, ty: str) -> int | float | bool | None:
    if ty == "i1":
        return {"true": True, "false": False}.get(x)
    if ty == "i64":
        return int(x) if _INT.match(x) else None
    if _DBL.match(x):
        from ...jit.layout import bits_to_float

        return bits_to_float(int(x, 16))
    return None


def _wrap(x: int) -> int:
    x &= _MASK
    return x - (1 << 64) if x >> 63 else x


_ICMP = {
    "eq": lambda a, b: a == b, "ne": lambda a, b: a != b, "slt": lambda a, b: a < b, "sle": lambda a, b: a <= b,
    "sgt": lambda a, b: a > b, "sge": lambda a, b: a >= b,
    "ult": lambda a, b: a & _MASK < b & _MASK, "ugt": lambda a, b: a & _MASK > b & _MASK,
}
_FCMP = {
    "oeq": lambda a, b: a == b, "une": lambda a, b: not a == b, "olt": lambda a, b: a < b,
    "ole": lambda a, b: a <= b, "ogt": lambda a, b: a > b, "oge": lambda a, b: a >= b,
    "ord": lambda a, b: a == a and b == b, "uno": lambda a, b: a != a or b != b,
}


def _pair_key(slot: int, v: Value | Const) -> tuple:
    """Identity of a snapshot entry: equal keys store the same thing into the same slot."""
    if isinstance(v, Const):
        return (slot, str(v.type), 1, payload_word(v.type, v.value))
    return (slot, str(v.type), 0, v.name)


def fold(text: str) -> str | None:
    """The literal result of an instruction whose operands are literals (or trivially decided), else None."""
    m = _BIN.match(text)
    if m:
        kind, pred, ty, a, b = m.groups()
        if ty == "i1":
            ty_a, ty_b = _lit(a, ty), _lit(b, ty)
            if ty_a is None or ty_b is None or pred not in ("eq", "ne"):
                return None
            return "true" if (ty_a == ty_b) == (pred == "eq") else "false"
        x, y = _lit(a, ty), _lit(b, ty)
        table = _ICMP if kind == "icmp" else _FCMP
        if x is None or y is None or pred not in table:
            return None
        return "true" if table[pred](x, y) else "false"
    m = _LOGIC.match(text)
    if m:
        op, ty, a, b = m.groups()
        x, y = _lit(a, ty), _lit(b, ty)
        if ty == "i1":
            if op == "and" and (x is False or y is False):
                return "false"
            if op == "or" and (x is True or y is True):
                return "true"
            if op in ("and", "or"):
                if x is not None:
                    return b
                if y is not None:
                    return a
            if op == "xor" and x is not None and y is not None:
                return "true" if x != y else "false"
            if op == "xor" and y is False:
                return a
            return None
        if x is None or y is None:
            return None
        r = {"and": x & y, "or": x | y, "xor": x ^ y, "add": x + y, "sub": x - y}[op]  # type: ignore[operator]
        return str(_wrap(r))
    m = _SELECT.match(text)
    if m:
        c, _ty, a, b = m.groups()
        if c == "true" or a == b:
            return a
        if c == "false":
            return b
        return None
    m = _EXT.match(text)
    if m:
        one = "1" if m.group(1) == "zext" else "-1"
        return one if m.group(2) == "true" else "0"
    return None


_HANDLERS = {
    "load.i64": _Lowerer.op_load,
    "load.f64": _Lowerer.op_load,
    "load.bool": _Lowerer.op_load,
    "load.ptr": _Lowerer.op_load,
    "list.len": _Lowerer.op_list_len,
    "list.get.i64": _Lowerer.op_list_get,
    "list.get.f64": _Lowerer.op_list_get,
    "list.get.bool": _Lowerer.op_list_get,
    "list.set.i64": _Lowerer.op_list_set,
    "list.set.f64": _Lowerer.op_list_set,
    "list.set.bool": _Lowerer.op_list_set,
    "guard.tag": _Lowerer.op_guard_tag,
    "poll": _Lowerer.op_poll,
    "guard.true": _Lowerer.op_guard_bool,
    "guard.false": _Lowerer.op_guard_bool,
    "add.i64": _Lowerer.op_ovf,
    "sub.i64": _Lowerer.op_ovf,
    "mul.i64": _Lowerer.op_ovf,
    "wadd.i64": _Lowerer.op_wrap,
    "wsub.i64": _Lowerer.op_wrap,
    "wmul.i64": _Lowerer.op_wrap,
    "neg.i64": _Lowerer.op_neg,
    "abs.i64": _Lowerer.op_abs,
    "floordiv.i64": _Lowerer.op_floordiv_i64,
    "mod.i64": _Lowerer.op_mod_i64,
    "truediv.i64": _Lowerer.op_truediv_i64,
    "lshift.i64": _Lowerer.op_lshift,
    "rshift.i64": _Lowerer.op_rshift,
    "and.i64": _Lowerer.op_bitwise,
    "or.i64": _Lowerer.op_bitwise,
    "xor.i64": _Lowerer.op_bitwise,
    "invert.i64": _Lowerer.op_invert,
    "min.i64": _Lowerer.op_minmax_i64,
    "max.i64": _Lowerer.op_minmax_i64,
    "add.f64": _Lowerer.op_farith,
    "sub.f64": _Lowerer.op_farith,
    "mul.f64": _Lowerer.op_farith,
    "div.f64": _Lowerer.op_fdiv,
    "floordiv.f64": _Lowerer.op_ffloordiv,
    "mod.f64": _Lowerer.op_fmod,
    "neg.f64": _Lowerer.op_fneg,
    "abs.f64": _Lowerer.op_fabs,
    "sqrt.f64": _Lowerer.op_sqrt,
    "min.f64": _Lowerer.op_minmax_f64,
    "max.f64": _Lowerer.op_minmax_f64,
    "callf.f64": _Lowerer.op_callf,
    "callf2.f64": _Lowerer.op_callf2,
    "call.i64": _Lowerer.op_call,
    "call.f64": _Lowerer.op_call,
    "call.bool": _Lowerer.op_call,
    "copysign.f64": _Lowerer.op_copysign,
    "round.f64": _Lowerer.op_round,
    "floor.f64": _Lowerer.op_floor_ceil,
    "ceil.f64": _Lowerer.op_floor_ceil,
    "float.i64": _Lowerer.op_float_i64,
    "int.f64": _Lowerer.op_int_f64,
    "int.bool": _Lowerer.op_int_bool,
    "bool.i64": _Lowerer.op_bool_i64,
    "bool.f64": _Lowerer.op_bool_f64,
    "not.bool": _Lowerer.op_not,
    "and.bool": _Lowerer.op_bool2,
    "or.bool": _Lowerer.op_bool2,
    "eq.bool": _Lowerer.op_bool2,
    "ne.bool": _Lowerer.op_bool2,
    "select.i64": _Lowerer.op_select,
    "select.f64": _Lowerer.op_select,
    "select.bool": _Lowerer.op_select,
}
for _cmp in ("lt", "le", "gt", "ge", "eq", "ne"):
    _HANDLERS[f"{_cmp}.i64"] = _Lowerer.op_icmp
    _HANDLERS[f"{_cmp}.f64"] = _Lowerer.op_fcmp


def lower(fn: LoopFunction, symbol: str = "tauraro_loop", base_cell: int | None = None) -> Lowered:
    """LLVM IR text for `fn` (no triple/datalayout): `i64 @symbol(i64 frame)` reading the memory base
    from the word at address `base_cell` at entry, or `i64 @symbol(ptr base, i64 frame)` when it is None."""
    return _Lowerer(fn, symbol, base_cell).lower()
